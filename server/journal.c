/*
 * journal: an append-only text file of headquarters' decisions and the
 * acknowledged log heads (format in journal.h).  It does not interpret the
 * records: restore (server/backup.c) does.
 */
#include "server/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

struct journal {
    int fd;                /* O_APPEND descriptor */
    uint64_t last_sync_ms; /* last fsync of head records */
    int pending;           /* head records written since that fsync */
    int warned;            /* a write error was already logged */
};

static uint64_t
journal_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
journal_path(char *out, size_t n, const char *dir)
{
    const char *env = getenv("RZ_JOURNAL");
    if (env && env[0])
        snprintf(out, n, "%s", env);
    else
        snprintf(out, n, "%s/%s", dir, JOURNAL_FILE);
}

int
journal_open(journal **out, const char *path, rz_error *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    journal *j;

    *out = NULL;
    if (fd < 0)
        return rz_fail(err, RZ_E_IO, "journal %s: %s", path, strerror(errno));
    /* It holds password and token hashes (journal.h): the server's user only,
     * also when an older file or a copy was made with a wider mode. */
    if (fstat(fd, &st) != 0 || ((st.st_mode & 077) != 0 && fchmod(fd, 0600) != 0)) {
        int e = errno;
        close(fd);
        return rz_fail(err, RZ_E_IO, "journal %s: cannot make it private: %s", path, strerror(e));
    }
    j = xcalloc(1, sizeof(*j));
    j->fd = fd;
    *out = j;
    return 0;
}

void
journal_close(journal **jp)
{
    journal *j = jp ? *jp : NULL;
    if (!j)
        return;
    if (j->pending)
        (void)fsync(j->fd);
    close(j->fd);
    free(j);
    *jp = NULL;
}

/* Writes the whole line or fails (a short write on a regular file means
 * the disk is full). */
static int
journal_write(journal *j, const char *line, size_t len)
{
    while (len > 0) {
        ssize_t w = write(j->fd, line, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        line += w;
        len -= (size_t)w;
    }
    return 0;
}

int
journal_admin(journal *j, const char *verb, const char *const *fields, int nfields, rz_error *err)
{
    char line[JOURNAL_MAX_LINE];
    size_t len;
    int i;

    if (nfields < 0 || nfields > JOURNAL_MAX_FIELDS)
        return rz_fail(err, RZ_E_ARG, "journal: %d fields", nfields);
    len =
        (size_t)snprintf(line, sizeof line, "%llu\t%s", (unsigned long long)journal_now_ms(), verb);
    for (i = 0; i < nfields; i++) {
        if (strpbrk(fields[i], "\t\r\n"))
            return rz_fail(err, RZ_E_ARG, "journal: a %s field holds a tab or line break", verb);
        if (len + 1 + strlen(fields[i]) + 2 > sizeof line)
            return rz_fail(err, RZ_E_ARG, "journal: %s record too long", verb);
        len += (size_t)snprintf(line + len, sizeof line - len, "\t%s", fields[i]);
    }
    line[len++] = '\n';
    if (journal_write(j, line, len) != 0 || fsync(j->fd) != 0)
        return rz_fail(err, RZ_E_IO, "journal: cannot record %s: %s", verb, strerror(errno));
    j->pending = 0;
    return 0;
}

int
journal_note(const char *dir, const char *verb, const char *const *fields, int nfields,
             rz_error *err)
{
    char path[4096];
    journal *j = NULL;
    int rc;

    journal_path(path, sizeof path, dir);
    if ((rc = journal_open(&j, path, err)))
        return rc;
    rc = journal_admin(j, verb, fields, nfields, err);
    journal_close(&j);
    return rc;
}

/* dir's journal path + "." + name into out; -1 when name is not an
 * attachment name or the path does not fit. */
static int
journal_attachment_path(char *out, size_t n, const char *dir, const char *name)
{
    char jpath[4096];
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 80 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789.-") != len ||
        name[0] == '.')
        return -1;
    journal_path(jpath, sizeof jpath, dir);
    /* Beside the journal's real file: a journal linked to another disk
     * keeps its attachments there too. */
    {
        char *real = realpath(jpath, NULL);
        int k = snprintf(out, n, "%s.%s", real ? real : jpath, name);
        free(real);
        return k < 0 || (size_t)k >= n ? -1 : 0;
    }
}

int
journal_attach(const char *dir, const char *name, const void *data, size_t len, rz_error *err)
{
    char path[4200], tmp[4300];
    journal j = {-1, 0, 0, 0};
    int rc = 0;
    if (journal_attachment_path(path, sizeof path, dir, name) != 0 ||
        (size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return rz_fail(err, RZ_E_ARG, "journal: bad attachment name");
    j.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (j.fd < 0)
        return rz_fail(err, RZ_E_IO, "journal attachment %s: %s", tmp, strerror(errno));
    if (journal_write(&j, (const char *)data, len) != 0 || fsync(j.fd) != 0)
        rc = rz_fail(err, RZ_E_IO, "journal attachment %s: %s", tmp, strerror(errno));
    close(j.fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = rz_fail(err, RZ_E_IO, "journal attachment %s: %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}

int
journal_attachment(const char *dir, const char *name, char **data, size_t *len, rz_error *err)
{
    char path[4200];
    FILE *f;
    long n;
    *data = NULL;
    *len = 0;
    if (journal_attachment_path(path, sizeof path, dir, name) != 0)
        return rz_fail(err, RZ_E_ARG, "journal: bad attachment name");
    if (!(f = fopen(path, "rbe")))
        return rz_fail(err, errno == ENOENT ? RZ_E_NOTFOUND : RZ_E_IO, "journal attachment %s: %s",
                       path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (16L << 20) ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return rz_fail(err, RZ_E_IO, "journal attachment %s: unreadable or over 16 MiB", path);
    }
    *data = xmalloc((size_t)n + 1);
    if (fread(*data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(*data);
        *data = NULL;
        return rz_fail(err, RZ_E_IO, "journal attachment %s: short read", path);
    }
    fclose(f);
    (*data)[n] = '\0';
    *len = (size_t)n;
    return 0;
}

void
journal_head(journal *j, const char *node_hex, uint32_t epoch, uint64_t seq, uint64_t now_ms)
{
    char line[128];
    int len;

    if (!j)
        return;
    len = snprintf(line, sizeof line, "%llu\thead\t%.16s\t%u\t%llu\n", (unsigned long long)now_ms,
                   node_hex, epoch, (unsigned long long)seq);
    if (journal_write(j, line, (size_t)len) != 0) {
        if (!j->warned)
            log_warn("journal: cannot note acknowledged heads");
        j->warned = 1;
        return;
    }
    j->pending = 1;
    /* At most one fsync a second: the heads serve the loss report after a
     * restore, not the acknowledgement (the log store's commit is that). */
    if (now_ms >= j->last_sync_ms + 1000) {
        (void)fsync(j->fd);
        j->last_sync_ms = now_ms;
        j->pending = 0;
    }
}

/* Splits one line (NUL-terminated, no LF) into r; 0 or -1 when malformed. */
static int
journal_parse(char *line, journal_rec *r)
{
    char *tab, *end;
    r->nfields = 0;
    if (!(tab = strchr(line, '\t')))
        return -1;
    *tab = '\0';
    errno = 0;
    r->ms = strtoull(line, &end, 10);
    if (errno || end == line || *end)
        return -1;
    r->verb = tab + 1;
    for (char *p = strchr(tab + 1, '\t'); p; p = strchr(p + 1, '\t')) {
        if (r->nfields == JOURNAL_MAX_FIELDS)
            return -1;
        *p = '\0';
        r->field[r->nfields++] = p + 1;
    }
    return r->verb[0] ? 0 : -1;
}

int
journal_scan(const char *path, long long from, journal_fn fn, void *arg, rz_error *err)
{
    FILE *f = fopen(path, "re");
    char line[JOURNAL_MAX_LINE + 2];
    journal_rec r;
    unsigned no = 0;
    int rc = 0;

    if (!f)
        return errno == ENOENT ? 0 : rz_fail(err, RZ_E_IO, "journal %s: %s", path, strerror(errno));
    if (from > 0 && fseeko(f, (off_t)from, SEEK_SET) != 0) {
        fclose(f);
        return rz_fail(err, RZ_E_IO, "journal %s: cannot seek: %s", path, strerror(errno));
    }
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        no++;
        if (len == 0 || line[len - 1] != '\n') {
            /* A torn last line (crash while appending) is not a record. */
            if (fgetc(f) == EOF)
                break;
            rc = rz_fail(err, RZ_E_CONFIG, "%s:%u: line too long", path, no);
            break;
        }
        line[len - 1] = '\0';
        if (journal_parse(line, &r) != 0) {
            rc = rz_fail(err, RZ_E_CONFIG, "%s:%u: malformed journal record", path, no);
            break;
        }
        r.line = no;
        if ((rc = fn(&r, arg)) != 0)
            break;
    }
    fclose(f);
    return rc;
}
