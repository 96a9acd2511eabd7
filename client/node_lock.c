/*
 * node_lock: flock on DIR/sync.lock plus the trigger and stop flags; see
 * node_lock.h.
 *
 * The file is locked in place and rewritten in place (ftruncate + pwrite):
 * replacing it by rename would give a new inode that nobody holds.
 */
#include "client/node_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/hlc.h"
#include "common/util.h"

#define LOCK_PATH_MAX 4096
#define LOCK_TEXT_MAX 256 /* bytes of the file's text */

struct node_lock {
    int fd; /* the locked file */
};

static volatile sig_atomic_t lock_trigger_flag;
static volatile sig_atomic_t lock_stop_flag;

static int
lock_path(char *out, const char *dir, rz_error *err)
{
    if (snprintf(out, LOCK_PATH_MAX, "%s/%s", dir, NODE_LOCK_FILE) >= LOCK_PATH_MAX)
        return rz_fail(err, RZ_E_ARG, "data directory path too long");
    return 0;
}

/* Parses the holder's text; unknown or missing lines leave fields zero. */
static void
lock_parse(const char *text, node_lock_holder *h)
{
    const char *line = text;
    memset(h, 0, sizeof *h);
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > 4 && strncmp(line, "pid ", 4) == 0)
            h->pid = (pid_t)strtol(line + 4, NULL, 10);
        else if (len > 4 && strncmp(line, "who ", 4) == 0)
            snprintf(h->who, sizeof h->who, "%.*s", (int)(len - 4), line + 4);
        else if (len > 6 && strncmp(line, "since ", 6) == 0)
            h->since_ms = strtoull(line + 6, NULL, 10);
        line = nl ? nl + 1 : NULL;
    }
    if (h->pid < 0)
        h->pid = 0;
}

static void
lock_read_holder(int fd, node_lock_holder *h)
{
    char text[LOCK_TEXT_MAX];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    lock_parse(text, h);
}

static int
lock_busy(const char *dir, const node_lock_holder *h, rz_error *err)
{
    char when[40] = "an unknown time";
    if (h->since_ms)
        format_utc(when, sizeof when, h->since_ms);
    if (h->pid)
        return rz_fail(err, RZ_E_BUSY,
                       "a sync of %.100s is already running: `%s` (pid %ld) since %s; "
                       "`rozgar-node sync --now` asks it to sync at once",
                       dir, h->who[0] ? h->who : "?", (long)h->pid, when);
    return rz_fail(err, RZ_E_BUSY, "a sync of %.100s is just starting in another process", dir);
}

int
node_lock_acquire(const char *dir, const char *who, node_lock **out, node_lock_holder *holder,
                  rz_error *err)
{
    char path[LOCK_PATH_MAX], text[LOCK_TEXT_MAX];
    node_lock_holder h;
    int fd, rc, n;
    *out = NULL;
    if ((rc = lock_path(path, dir, err)) != 0)
        return rc;
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        return rz_fail(err, RZ_E_IO, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e != EWOULDBLOCK) {
            close(fd);
            return rz_fail(err, RZ_E_IO, "%s: lock: %s", path, strerror(e));
        }
        lock_read_holder(fd, &h);
        close(fd);
        if (holder)
            *holder = h;
        return lock_busy(dir, &h, err);
    }
    n = snprintf(text, sizeof text, "pid %ld\nwho %.*s\nsince %" PRIu64 "\n", (long)getpid(),
                 NODE_LOCK_WHO_MAX - 1, who ? who : "rozgar-node", hlc_wall_ms());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
        int e = errno;
        close(fd);
        return rz_fail(err, RZ_E_IO, "%s: %s", path, strerror(e));
    }
    *out = xcalloc(1, sizeof **out);
    (*out)->fd = fd;
    return 0;
}

void
node_lock_release(node_lock **l)
{
    if (!l || !*l)
        return;
    /* Emptied first, so a reader racing the close never sees a dead pid as
     * the holder. */
    if (ftruncate((*l)->fd, 0) != 0) {
        /* The kernel lock goes with close() anyway; the text is only advice. */
    }
    close((*l)->fd);
    free(*l);
    *l = NULL;
}

int
node_lock_query(const char *dir, node_lock_holder *holder, rz_error *err)
{
    char path[LOCK_PATH_MAX];
    int fd, rc;
    memset(holder, 0, sizeof *holder);
    if ((rc = lock_path(path, dir, err)) != 0)
        return rc;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        if (errno == ENOENT)
            return rz_fail(err, RZ_E_NOTFOUND, "no sync is running");
        return rz_fail(err, RZ_E_IO, "%s: %s", path, strerror(errno));
    }
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        close(fd);
        return rz_fail(err, RZ_E_NOTFOUND, "no sync is running");
    }
    lock_read_holder(fd, holder);
    close(fd);
    return 0;
}

int
node_lock_trigger(const char *dir, node_lock_holder *holder, rz_error *err)
{
    node_lock_holder h;
    int rc;
    if ((rc = node_lock_query(dir, &h, err)) != 0)
        return rc;
    if (holder)
        *holder = h;
    if (h.pid <= 0)
        return rz_fail(err, RZ_E_BUSY, "a sync is just starting; try again in a moment");
    if (h.pid == getpid())
        return rz_fail(err, RZ_E_ARG, "this process holds the lock: use node_lock_poke()");
    if (kill(h.pid, SIGUSR1) != 0)
        return rz_fail(err, RZ_E_IO, "cannot signal the running sync (pid %ld): %s", (long)h.pid,
                       strerror(errno));
    return 0;
}

static void
lock_on_usr1(int sig)
{
    (void)sig;
    lock_trigger_flag = 1;
}

static void
lock_on_stop(int sig)
{
    (void)sig;
    lock_stop_flag = 1;
}

void
node_lock_listen(int catch_stop)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking wait returns EINTR and looks at the flags. */
    sa.sa_handler = lock_on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    if (catch_stop) {
        sa.sa_handler = lock_on_stop;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
    }
}

void
node_lock_poke(void)
{
    lock_trigger_flag = 1;
}

int
node_lock_take_trigger(void)
{
    if (!lock_trigger_flag)
        return 0;
    lock_trigger_flag = 0;
    return 1;
}

void
node_lock_request_stop(void)
{
    lock_stop_flag = 1;
}

int
node_lock_stopping(void)
{
    return lock_stop_flag != 0;
}

volatile sig_atomic_t *
node_lock_stop_flag(void)
{
    return &lock_stop_flag;
}
