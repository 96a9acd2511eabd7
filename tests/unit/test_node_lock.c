/*
 * test_node_lock: client/node_lock and client/node_config.  One sync per
 * data directory: a second acquire is refused naming the holder, the lock
 * goes with its holder (release or death), a trigger from another process
 * reaches the holder as a flag, a stop request sets the stop flag.  The
 * settings file: defaults, round trip, every bad value refused, bad lines
 * reported and counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/node_config.h"
#include "client/node_lock.h"
#include "common/progress.h"

typedef struct tdir {
    char path[256]; /* temporary data directory */
} tdir;

static int
setup(void **state)
{
    tdir *t = calloc(1, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s/rz-lock.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(t->path));
    *state = t;
    return 0;
}

static int
teardown(void **state)
{
    tdir *t = *state;
    static const char *const files[] = {NODE_LOCK_FILE, NODE_CONF_FILE};
    char p[400];
    size_t i;
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", t->path, files[i]);
        unlink(p);
    }
    rmdir(t->path);
    free(t);
    return 0;
}

static void
test_second_acquire_names_holder(void **state)
{
    tdir *t = *state;
    node_lock *a = NULL, *b = NULL;
    node_lock_holder h;
    rz_error err = {0, ""};
    assert_int_equal(node_lock_query(t->path, &h, &err), RZ_E_NOTFOUND);
    assert_int_equal(node_lock_acquire(t->path, "sync --watch", &a, NULL, &err), 0);
    assert_int_equal(node_lock_acquire(t->path, "sync", &b, &h, &err), RZ_E_BUSY);
    assert_null(b);
    assert_int_equal(h.pid, getpid());
    assert_string_equal(h.who, "sync --watch");
    assert_true(h.since_ms > 0);
    assert_non_null(strstr(err.text, "sync --watch"));
    assert_int_equal(node_lock_query(t->path, &h, &err), 0);
    assert_int_equal(h.pid, getpid());
    node_lock_release(&a);
    assert_null(a);
    node_lock_release(&a); /* NULL is fine */
    assert_int_equal(node_lock_query(t->path, &h, &err), RZ_E_NOTFOUND);
    assert_int_equal(node_lock_acquire(t->path, "sync", &b, NULL, &err), 0);
    node_lock_release(&b);
}

static void
test_lock_dies_with_holder(void **state)
{
    tdir *t = *state;
    node_lock *l = NULL;
    node_lock_holder h;
    rz_error err = {0, ""};
    int pipefd[2], status;
    char c;
    pid_t pid;
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        node_lock *cl = NULL;
        if (node_lock_acquire(t->path, "child", &cl, NULL, NULL) != 0)
            _exit(2);
        (void)!write(pipefd[1], "x", 1);
        pause(); /* killed by the parent, lock never released by hand */
        _exit(0);
    }
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    assert_int_equal(node_lock_acquire(t->path, "parent", &l, &h, &err), RZ_E_BUSY);
    assert_int_equal(h.pid, pid);
    assert_string_equal(h.who, "child");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    assert_int_equal(node_lock_acquire(t->path, "parent", &l, NULL, &err), 0);
    node_lock_release(&l);
    close(pipefd[0]);
    close(pipefd[1]);
}

static void
test_trigger_reaches_holder(void **state)
{
    tdir *t = *state;
    node_lock *l = NULL;
    node_lock_holder h;
    rz_error err = {0, ""};
    int status, i;
    pid_t pid;
    assert_int_equal(node_lock_trigger(t->path, &h, &err), RZ_E_NOTFOUND);
    node_lock_listen(0);
    assert_int_equal(node_lock_take_trigger(), 0);
    assert_int_equal(node_lock_acquire(t->path, "sync --watch", &l, NULL, &err), 0);
    /* The holder itself may not signal; it pokes. */
    assert_int_equal(node_lock_trigger(t->path, NULL, &err), RZ_E_ARG);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(node_lock_trigger(t->path, NULL, NULL) == 0 ? 0 : 1);
    /* The SIGUSR1 the child sends may interrupt the wait (no SA_RESTART). */
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    assert_int_equal(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
    for (i = 0; i < 200 && !node_lock_take_trigger(); i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    assert_true(i < 200);
    assert_int_equal(node_lock_take_trigger(), 0); /* read once */
    node_lock_poke();
    assert_int_equal(node_lock_take_trigger(), 1);
    node_lock_release(&l);
    assert_int_equal(node_lock_stopping(), 0);
    node_lock_request_stop();
    assert_int_equal(node_lock_stopping(), 1);
    assert_int_equal(*node_lock_stop_flag(), 1);
}

static void
test_config_round_trip(void **state)
{
    tdir *t = *state;
    node_config c, d;
    rz_error err = {0, ""};
    const char *key = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
    assert_int_equal(node_config_load(t->path, &c, &err), 0);
    assert_int_equal(c.set, 0);
    assert_int_equal(c.sync_interval_s, NODE_SYNC_INTERVAL_S);
    assert_string_equal(c.listen, NODE_LISTEN_DEFAULT);
    assert_int_equal(node_config_set(&c, "server", "tcp://hq.example:7700", &err), 0);
    assert_int_equal(node_config_set(&c, "server-key", key, &err), 0);
    assert_int_equal(node_config_set(&c, "sync-interval", "60", &err), 0);
    assert_int_equal(node_config_set(&c, "sync-timeout", "30", &err), 0);
    assert_int_equal(node_config_set(&c, "listen", "0.0.0.0:9000", &err), 0);
    assert_int_equal(node_config_save(t->path, &c, &err), 0);
    assert_int_equal(node_config_load(t->path, &d, &err), 0);
    assert_int_equal(d.set, c.set);
    assert_string_equal(d.server, "tcp://hq.example:7700");
    assert_string_equal(d.server_key, key);
    assert_int_equal(d.sync_interval_s, 60);
    assert_int_equal(d.sync_timeout_s, 30);
    assert_string_equal(d.listen, "0.0.0.0:9000");
}

static void
test_config_refuses_bad_values(void **state)
{
    node_config c;
    rz_error err = {0, ""};
    static const char *const bad[][2] = {
        {"server", "http://x"},   {"server", "tcp://"},        {"server-key", "abcd"},
        {"server-key", "zz"},     {"sync-interval", "9"},      {"sync-interval", "86401"},
        {"sync-interval", "1e3"}, {"sync-timeout", "0"},       {"listen", "8080"},
        {"listen", "host:70000"}, {"listen", "a b:80"},        {"colour", "blue"},
        {"sync-interval", ""},    {"sync-timeout", "9999999"},
    };
    size_t i;
    (void)state;
    node_config_default(&c);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.text[0] = '\0';
        assert_int_equal(node_config_set(&c, bad[i][0], bad[i][1], &err), RZ_E_ARG);
        assert_true(err.text[0] != '\0');
    }
    assert_int_equal(c.set, 0);
    assert_int_equal(c.sync_interval_s, NODE_SYNC_INTERVAL_S);
}

static void
test_config_bad_lines_counted(void **state)
{
    tdir *t = *state;
    node_config c;
    rz_error err = {0, ""};
    char p[400];
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", t->path, NODE_CONF_FILE);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs("# comment\n\n  sync-interval = 120  \nnonsense\ncolour = red\nsync-timeout=5\n", f);
    fclose(f);
    assert_int_equal(node_config_load(t->path, &c, &err), RZ_E_CONFIG);
    assert_non_null(strstr(err.text, "2 bad lines"));
    /* The good lines still count (so `config` can rewrite the file). */
    assert_int_equal(c.sync_interval_s, 120);
    assert_int_equal(c.sync_timeout_s, 5);
}

static void
test_progress_format(void **state)
{
    rz_progress_info in = {250, 1000, 2000, 125.0};
    char buf[160];
    (void)state;
    progress_format(buf, sizeof buf, &in, "entries");
    assert_string_equal(buf, "250/1000 entries (25%), 125/s, 6s left");
    in.total = 0;
    progress_format(buf, sizeof buf, &in, "rows");
    assert_string_equal(buf, "250 rows, 125/s");
    in.total = 250;
    progress_format(buf, sizeof buf, &in, "entries");
    assert_string_equal(buf, "250/250 entries (100%), 125/s");
}

static void
test_progress_plain_lines(void **state)
{
    rz_progress p;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    (void)state;
    assert_non_null(out);
    setenv("RZ_PROGRESS_MS", "1", 1);
    progress_init(&p, out, "import", 10, 0);
    progress_finish(&p); /* nothing done: silent */
    assert_int_equal(ftell(out), 0);
    progress_init(&p, out, "import", 10, 0);
    progress_set_unit(&p, "rows");
    {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    progress_update(&p, 4);
    progress_finish(&p);
    fclose(out);
    unsetenv("RZ_PROGRESS_MS");
    assert_non_null(strstr(text, "import: 4/10 rows (40%)"));
    assert_non_null(strstr(text, ", done\n"));
    assert_null(strchr(text, '\r')); /* no terminal redraws in the plain form */
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_acquire_names_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_dies_with_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trigger_reaches_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_round_trip, setup, teardown),
        cmocka_unit_test(test_config_refuses_bad_values),
        cmocka_unit_test_setup_teardown(test_config_bad_lines_counted, setup, teardown),
        cmocka_unit_test(test_progress_format),
        cmocka_unit_test(test_progress_plain_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
