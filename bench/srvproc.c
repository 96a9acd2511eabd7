/*
 * srvproc: rozgar-server as a child process; see srvproc.h.
 *
 * The benchmark measures the server the way it is deployed: its own binary,
 * its own process, CurveZMQ on a TCP socket.  Peak memory is read from
 * /proc/PID/status while it runs (VmHWM) and from wait4()'s rusage when it
 * exits; both count the whole process (SQLite page cache, ZeroMQ buffers,
 * HTTP threads).
 */
#include "bench/srvproc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "common/util.h"
#include "server/log_store.h"

int
srvproc_free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* fork + execv with stdout and stderr appended to log (or /dev/null). */
static pid_t
srvproc_spawn(const char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        /* execv does not modify its arguments; its prototype predates const. */
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Ports are chosen before the nodes are configured with the endpoint. */
static int
srvproc_pick_ports(srvproc *s, rz_error *err)
{
    int port = srvproc_free_port(), hport = srvproc_free_port();
    if (port <= 0 || hport <= 0 || port == hport)
        return rz_fail(err, RZ_E_IO, "no free port on 127.0.0.1");
    snprintf(s->endpoint, sizeof s->endpoint, "tcp://127.0.0.1:%d", port);
    s->http_port = hport;
    return 0;
}

int
srvproc_init(srvproc *s, const char *bin, const char *dir, rz_error *err)
{
    char initlog[4200], buf[4096], *p;
    const char *argv[] = {s->bin, "-d", s->dir, "init", NULL};
    size_t n = 0;
    int status = 0;
    pid_t pid;

    memset(s, 0, sizeof *s);
    snprintf(s->bin, sizeof s->bin, "%s", bin);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->db, sizeof s->db, "%s/server.db", dir);
    snprintf(s->log, sizeof s->log, "%s/server.log", dir);
    snprintf(initlog, sizeof initlog, "%s.init", dir);
    unlink(initlog);
    if ((pid = srvproc_spawn(argv, initlog)) < 0 || waitpid(pid, &status, 0) != pid ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return rz_fail(err, RZ_E_IO, "%s -d %s init failed (see %s)", bin, dir, initlog);
    if (file_read_small(initlog, buf, sizeof buf - 1, &n, err))
        return RZ_E_IO;
    buf[n] = '\0';
    if (!(p = strstr(buf, "server-key: ")) || strlen(p) < 12 + 2 * RZ_PK_BYTES)
        return rz_fail(err, RZ_E_IO, "server init printed no key");
    p[12 + 2 * RZ_PK_BYTES] = '\0';
    if (hex_decode(s->pk, RZ_PK_BYTES, p + 12))
        return rz_fail(err, RZ_E_IO, "server init printed a malformed key");
    unlink(initlog);
    return srvproc_pick_ports(s, err);
}

int
srvproc_enroll(srvproc *s, const uint8_t node_id[RZ_NODE_ID_BYTES],
               const uint8_t sign_pk[RZ_PK_BYTES], const char *centre, int programme,
               const char *province, const char *district, rz_error *err)
{
    log_store *st = NULL;
    int rc;
    if ((rc = log_store_open(&st, s->dir, err)))
        return rc;
    rc = log_store_enroll(st, node_id, sign_pk, centre, programme, province, district, err);
    log_store_close(&st);
    return rc;
}

/* 1 once the server's log says it serves our endpoint. */
static int
srvproc_serving(const srvproc *s)
{
    char buf[65536], want[128];
    size_t n = 0;
    if (file_read_small(s->log, buf, sizeof buf - 1, &n, NULL))
        return 0;
    buf[n] = '\0';
    snprintf(want, sizeof want, "serving %s", s->endpoint);
    return strstr(buf, want) != NULL;
}

int
srvproc_start(srvproc *s, rz_error *err)
{
    char http[64];
    const char *argv[] = {s->bin, "-d", s->dir, "run", "--bind", s->endpoint, "--http", http, NULL};
    double t0;
    int status;

    snprintf(http, sizeof http, "127.0.0.1:%d", s->http_port);
    if ((s->pid = srvproc_spawn(argv, s->log)) < 0)
        return rz_fail(err, RZ_E_IO, "fork: %s", strerror(errno));
    /* Sanitizer builds start slowly; a minute is plenty either way. */
    for (t0 = bench_now(); bench_now() - t0 < 60; usleep(20000)) {
        if (srvproc_serving(s))
            return 0;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return rz_fail(err, RZ_E_IO, "server exited at start (see %s)", s->log);
        }
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    return rz_fail(err, RZ_E_TIMEOUT, "server did not start within 60 s (see %s)", s->log);
}

static uint64_t
srvproc_status_kib(const srvproc *s, const char *field)
{
    char path[64], line[256];
    size_t flen = strlen(field);
    uint64_t v = 0;
    FILE *f;
    if (s->pid <= 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)s->pid);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            v = strtoull(line + flen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

double
srvproc_cpu_s(const srvproc *s)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    size_t n = 0;
    if (s->pid <= 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)s->pid);
    if (file_read_small(path, buf, sizeof buf - 1, &n, NULL) != 0)
        return 0;
    buf[n] = '\0';
    /* Fields after the parenthesised command: state is field 3, utime 14,
     * stime 15. */
    if (!(p = strrchr(buf, ')')) ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

uint64_t
srvproc_hwm_kib(const srvproc *s)
{
    return srvproc_status_kib(s, "VmHWM");
}
uint64_t
srvproc_rss_kib(const srvproc *s)
{
    return srvproc_status_kib(s, "VmRSS");
}

int
srvproc_stop(srvproc *s, rz_error *err)
{
    struct rusage ru;
    int status = 0;
    double t0 = bench_now();
    pid_t r;
    if (s->pid <= 0)
        return 0;
    kill(s->pid, SIGTERM);
    /* The server finishes the batch in hand, then leaves its poll loop. */
    while ((r = wait4(s->pid, &status, WNOHANG, &ru)) == 0 && bench_now() - t0 < 60)
        usleep(10000);
    if (r == 0) {
        kill(s->pid, SIGKILL);
        r = wait4(s->pid, &status, 0, &ru);
    }
    s->pid = 0;
    if (r <= 0)
        return rz_fail(err, RZ_E_IO, "wait for server: %s", strerror(errno));
    s->peak_kib = (uint64_t)ru.ru_maxrss;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return rz_fail(err, RZ_E_IO, "server did not exit cleanly (status %d, see %s)", status,
                       s->log);
    return 0;
}

/* Reads the whole response of a Connection: close request. */
static int
srvproc_read_all(int fd, char **out, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = xmalloc(cap);
    ssize_t r;
    for (;;) {
        if (n + 1 >= cap)
            buf = xrealloc(buf, cap *= 2);
        r = recv(fd, buf + n, cap - n - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int
srvproc_http_get(const srvproc *s, const char *path, int *status, char **body, size_t *len,
                 rz_error *err)
{
    struct sockaddr_in a;
    struct timeval tv = {60, 0};
    char req[2048], *resp = NULL, *b;
    size_t n = 0;
    int fd, rc = 0;

    *body = NULL;
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return rz_fail(err, RZ_E_IO, "socket: %s", strerror(errno));
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->http_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             path);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) ||
        srvproc_read_all(fd, &resp, &n) != 0) {
        rc = rz_fail(err, RZ_E_IO, "GET %s: %s", path, strerror(errno));
        goto out;
    }
    if (sscanf(resp, "HTTP/1.%*d %d", status) != 1 || !(b = strstr(resp, "\r\n\r\n"))) {
        rc = rz_fail(err, RZ_E_IO, "GET %s: malformed response", path);
        goto out;
    }
    b += 4;
    *len = n - (size_t)(b - resp);
    memmove(resp, b, *len + 1);
    *body = resp;
    resp = NULL;
out:
    free(resp);
    close(fd);
    return rc;
}

int
srvproc_metric(const srvproc *s, const char *name, uint64_t *value, rz_error *err)
{
    char *body = NULL, *p;
    size_t len = 0, nlen = strlen(name);
    int status = 0, rc;
    if ((rc = srvproc_http_get(s, "/metrics", &status, &body, &len, err)))
        return rc;
    rc = rz_fail(err, RZ_E_NOTFOUND, "metric %s not found", name);
    for (p = body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, nlen) == 0 && p[nlen] == ' ') {
            *value = strtoull(p + nlen + 1, NULL, 10);
            rc = 0;
            break;
        }
    free(body);
    return status == 200 ? rc : rz_fail(err, RZ_E_IO, "/metrics answered %d", status);
}
