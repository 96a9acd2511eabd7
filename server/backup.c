/*
 * backup: online backup of the server directory, restore, and the report of
 * acknowledged ranges a restored server lacks (see backup.h for the
 * guarantees and the order of the copy).
 */
#include "server/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/db.h"
#include "common/log.h"
#include "common/util.h"
#include "common/webauth.h"
#include "server/httpauth.h"
#include "server/journal.h"
#include "server/recovery.h"
#include "server/log_store.h"
#include "server/merger.h"
#include "server/placelist.h"
#include "server/rebuild.h"
#include "server/state_store.h"

#define BACKUP_MAX_FILES 64

typedef struct backup_file {
    char name[NAME_MAX + 1]; /* file name inside the directory */
    int sqlite;              /* 1: an SQLite database, copied by the backup API */
} backup_file;

/* dir/name+suffix into out (PATH_MAX); -1 when it does not fit. */
static int
backup_join(char *out, const char *dir, const char *name, const char *suffix)
{
    return (size_t)snprintf(out, PATH_MAX, "%s/%s%s", dir, name, suffix) >= PATH_MAX ? -1 : 0;
}

/* The order of the copy: derived state first, then the other databases
 * (the log store and what it attaches), then plain files. */
static int
backup_rank(const backup_file *f)
{
    if (strcmp(f->name, STATE_STORE_FILE) == 0)
        return 0;
    return f->sqlite ? 1 : 2;
}

static int
backup_cmp(const void *a, const void *b)
{
    const backup_file *x = a, *y = b;
    int d = backup_rank(x) - backup_rank(y);
    return d ? d : strcmp(x->name, y->name);
}

static int
backup_has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int
backup_is_sqlite(const char *path)
{
    char head[16];
    int fd = open(path, O_RDONLY | O_CLOEXEC), ok = 0;
    if (fd >= 0) {
        ok = read(fd, head, sizeof head) == (ssize_t)sizeof head &&
             memcmp(head, "SQLite format 3", 16) == 0;
        close(fd);
    }
    return ok;
}

/* The files of a server directory that a backup holds: regular files but
 * the journal and its attachments (kept apart), SQLite's transient files
 * and locks. */
static int
backup_list(const char *dir, backup_file *files, int *n, rz_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[PATH_MAX];
    struct stat st;

    *n = 0;
    if (!d)
        return rz_fail(err, RZ_E_IO, "cannot read %s: %s", dir, strerror(errno));
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (nm[0] == '.' || strcmp(nm, JOURNAL_FILE) == 0 || strcmp(nm, BACKUP_MANIFEST) == 0 ||
            strncmp(nm, JOURNAL_FILE ".", sizeof JOURNAL_FILE) == 0 ||
            backup_has_suffix(nm, "-wal") || backup_has_suffix(nm, "-shm") ||
            backup_has_suffix(nm, "-journal") || backup_has_suffix(nm, ".lock") ||
            strlen(nm) > NAME_MAX)
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, nm) >= sizeof path ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (*n == BACKUP_MAX_FILES) {
            closedir(d);
            return rz_fail(err, RZ_E_ARG, "%s holds more than %d files", dir, BACKUP_MAX_FILES);
        }
        snprintf(files[*n].name, sizeof files[*n].name, "%s", nm);
        files[*n].sqlite = backup_is_sqlite(path);
        (*n)++;
    }
    closedir(d);
    qsort(files, (size_t)*n, sizeof *files, backup_cmp);
    return 0;
}

/* One database, from one read snapshot of src, into a new file dst that
 * needs no -wal beside it (journal_mode DELETE). */
static int
backup_sqlite(const char *src, const char *dst, rz_error *err)
{
    sqlite3 *from = NULL, *to = NULL;
    sqlite3_backup *b;
    int rc = 0;

    if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = rz_fail(err, RZ_E_IO, "cannot open %s: %s", src, sqlite3_errmsg(from));
        goto out;
    }
    sqlite3_busy_timeout(from, 10000);
    if (sqlite3_open_v2(dst, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        rc = rz_fail(err, RZ_E_IO, "cannot create %s: %s", dst, sqlite3_errmsg(to));
        goto out;
    }
    if (!(b = sqlite3_backup_init(to, "main", from, "main"))) {
        rc = rz_fail(err, RZ_E_IO, "backup of %s: %s", src, sqlite3_errmsg(to));
        goto out;
    }
    /* -1: every page in one step, so the copy is one snapshot of src even
     * while the server keeps committing (WAL readers do not block it). */
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
        sqlite3_sleep(50);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        rc = rz_fail(err, RZ_E_IO, "backup of %s: %s", src, sqlite3_errstr(rc));
        goto out;
    }
    rc = rz_db_exec(to, "PRAGMA journal_mode=DELETE", err);
out:
    sqlite3_close(from);
    sqlite3_close(to);
    return rc;
}

static int
backup_copy_file(const char *src, const char *dst, rz_error *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
    char buf[65536];
    ssize_t r;

    if (in < 0)
        return rz_fail(err, RZ_E_IO, "cannot read %s: %s", src, strerror(errno));
    if ((out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        rc = rz_fail(err, RZ_E_IO, "cannot create %s: %s", dst, strerror(errno));
        goto out;
    }
    while ((r = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)r) != r) {
            rc = rz_fail(err, RZ_E_IO, "cannot write %s: %s", dst, strerror(errno));
            goto out;
        }
    }
    if (r < 0 || fsync(out) != 0)
        rc = rz_fail(err, RZ_E_IO, "cannot copy %s: %s", src, strerror(errno));
out:
    close(in);
    if (out >= 0)
        close(out);
    return rc;
}

static void
backup_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static off_t
backup_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

typedef struct backup_heads_arg {
    FILE *f; /* the manifest */
    int n;   /* nodes written */
} backup_heads_arg;

static int
backup_head_line(const log_node *n, void *arg)
{
    backup_heads_arg *a = arg;
    char hex[2 * RZ_NODE_ID_BYTES + 1];
    hex_encode(hex, n->node_id, RZ_NODE_ID_BYTES);
    fprintf(a->f, "head %s %u %llu\n", hex, n->epoch, (unsigned long long)n->head_seq);
    a->n++;
    return 0;
}

/* MANIFEST: the files with their sizes, the journal's length when the copy
 * began (restore re-applies the decisions after it) and every node's log
 * head as copied. */
static int
backup_manifest(const char *outdir, const backup_file *files, int n, off_t journal_len, int *nodes,
                rz_error *err)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    backup_heads_arg a = {NULL, 0};
    log_store *ls = NULL;
    int rc = 0, i;

    snprintf(path, sizeof path, "%s/%s", outdir, BACKUP_MANIFEST);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", outdir, BACKUP_MANIFEST);
    if (!(a.f = fopen(tmp, "we")))
        return rz_fail(err, RZ_E_IO, "cannot write %s: %s", tmp, strerror(errno));
    (void)fchmod(fileno(a.f), 0600);
    fprintf(a.f, "rozgar-server backup 1\ncreated %lld\njournal %lld\n", (long long)time(NULL),
            (long long)journal_len);
    for (i = 0; i < n; i++) {
        if (backup_join(path, outdir, files[i].name, "") != 0)
            continue;
        fprintf(a.f, "file %s %lld\n", files[i].name, (long long)backup_file_size(path));
    }
    snprintf(path, sizeof path, "%s/%s", outdir, LOG_STORE_FILE);
    if ((rc = log_store_open_path(&ls, path, err)) == 0) {
        rc = log_store_nodes(ls, backup_head_line, &a, err);
        log_store_close(&ls);
    }
    if (fflush(a.f) != 0 || fsync(fileno(a.f)) != 0)
        rc = rc ? rc : rz_fail(err, RZ_E_IO, "cannot write %s", tmp);
    fclose(a.f);
    snprintf(path, sizeof path, "%s/%s", outdir, BACKUP_MANIFEST);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = rz_fail(err, RZ_E_IO, "cannot write %s: %s", path, strerror(errno));
    *nodes = a.n;
    return rc;
}

int
backup_run(const char *dir, const char *outdir, FILE *out, rz_error *err)
{
    backup_file files[BACKUP_MAX_FILES];
    char src[PATH_MAX], dst[PATH_MAX], jpath[PATH_MAX];
    int n, i, rc, nodes = 0;
    off_t jlen;
    DIR *d;

    if ((rc = backup_list(dir, files, &n, err)))
        return rc;
    if (n == 0 || strcmp(files[0].name, STATE_STORE_FILE) != 0)
        return rz_fail(err, RZ_E_NOTFOUND, "%s is not a server directory (no %s)", dir,
                       STATE_STORE_FILE);
    if (mkdir(outdir, 0700) != 0 && errno != EEXIST)
        return rz_fail(err, RZ_E_IO, "cannot create %s: %s", outdir, strerror(errno));
    if ((d = opendir(outdir))) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                closedir(d);
                return rz_fail(err, RZ_E_EXISTS, "%s is not empty; give a new directory", outdir);
            }
        closedir(d);
    }
    journal_path(jpath, sizeof jpath, dir);
    jlen = backup_file_size(jpath);
    for (i = 0; i < n; i++) {
        if (backup_join(src, dir, files[i].name, "") != 0 ||
            backup_join(dst, outdir, files[i].name, "") != 0)
            return rz_fail(err, RZ_E_ARG, "path too long");
        rc = files[i].sqlite ? backup_sqlite(src, dst, err) : backup_copy_file(src, dst, err);
        if (rc)
            return rc;
        chmod(dst, 0600);
        fprintf(out, "backup: %-22s %lld bytes\n", files[i].name, (long long)backup_file_size(dst));
    }
    if ((rc = backup_manifest(outdir, files, n, jlen, &nodes, err)))
        return rc;
    /* Reading the heads opened the copy in WAL mode: leave single files. */
    for (i = 0; i < n; i++) {
        sqlite3 *db = NULL;
        if (!files[i].sqlite || backup_join(dst, outdir, files[i].name, "") != 0)
            continue;
        if (sqlite3_open_v2(dst, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
            rc = rz_db_exec(db, "PRAGMA journal_mode=DELETE", err);
        sqlite3_close(db);
        if (rc)
            return rc;
    }
    backup_sync_dir(outdir);
    fprintf(out, "backup: %d files and the log heads of %d nodes in %s (state first, then logs)\n",
            n, nodes, outdir);
    return 0;
}

/* ---- restore ---------------------------------------------------------- */

typedef struct replay_arg {
    const char *dir; /* the server directory */
    log_store *ls;   /* the restored log store */
    httpauth *auth;  /* its accounts and tokens, opened when needed */
    off_t from;      /* journal offset of the backup: decisions after it */
    FILE *out;       /* report */
    int applied;     /* decisions re-applied */
    int unknown;     /* records this version cannot re-apply */
    int recount;     /* 1: a re-applied decision changes counted places (a move) */
    rz_error *err;   /* detail of a failure */
} replay_arg;

static int
replay_node(const journal_rec *r, int i, uint8_t id[RZ_NODE_ID_BYTES])
{
    return i < r->nfields && strlen(r->field[i]) == 2 * RZ_NODE_ID_BYTES &&
                   hex_decode(id, RZ_NODE_ID_BYTES, r->field[i]) == 0
               ? 0
               : -1;
}

static int
replay_pk(const journal_rec *r, int i, uint8_t pk[RZ_PK_BYTES])
{
    return i < r->nfields && strlen(r->field[i]) == 2 * RZ_PK_BYTES &&
                   hex_decode(pk, RZ_PK_BYTES, r->field[i]) == 0
               ? 0
               : -1;
}

/* recover-grant NEW OLD OLD_PK GRANTED_MS, recover-done and recover-cancel
 * NEW OLD GRANTED_MS AT_MS (server/recovery.h): a restore keeps a grant and,
 * above all, never makes a used or cancelled one usable again. */
static int
replay_recovery(const journal_rec *r, replay_arg *a)
{
    recovery_grant g;
    int done = r->verb[8] != 'g', rc, applied = 0;
    memset(&g, 0, sizeof g);
    if (r->nfields != 4 || replay_node(r, 0, g.new_id) || replay_node(r, 1, g.old_id) ||
        (!done && replay_pk(r, 2, g.old_pk)))
        return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed %s", r->line, r->verb);
    g.granted_ms = strtoull(r->field[done ? 2 : 3], NULL, 10);
    if (done)
        g.used_ms = strtoull(r->field[3], NULL, 10);
    if (g.granted_ms == 0 || (done && g.used_ms == 0))
        return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed %s", r->line, r->verb);
    rc = done ? recovery_replay_used(a->ls, g.new_id, g.old_id, g.granted_ms, g.used_ms,
                                     r->verb[8] == 'c', &applied, a->err)
              : recovery_replay_grant(a->ls, &g, &applied, a->err);
    if (rc == 0 && applied) {
        fprintf(a->out, "restore: re-applied %s of node %s from node %s\n", r->verb, r->field[0],
                r->field[1]);
        a->applied++;
    }
    return rc;
}

/* places-import SHA256: the list kept beside the journal is imported again
 * unless it is the newest version already; the state is then recounted. */
static int
replay_places(const journal_rec *r, replay_arg *a)
{
    uint8_t h[crypto_hash_sha256_BYTES], want[crypto_hash_sha256_BYTES];
    char name[96], *text = NULL;
    places *p = NULL;
    size_t len = 0;
    int64_t version = 0;
    int rc;
    if (r->nfields != 1 || strlen(r->field[0]) != 64 || hex_decode(want, sizeof want, r->field[0]))
        return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed places-import", r->line);
    snprintf(name, sizeof name, "places-%s.tsv", r->field[0]);
    if ((rc = journal_attachment(a->dir, name, &text, &len, a->err)) == 0) {
        crypto_hash_sha256(h, (const unsigned char *)text, len);
        if (memcmp(h, want, sizeof h) != 0)
            rc = rz_fail(a->err, RZ_E_CONFIG, "journal attachment %s is not the list imported",
                         name);
    }
    if (rc == RZ_E_NOTFOUND || rc == RZ_E_CONFIG) {
        /* Said, never skipped silently: headquarters imports it again. */
        fprintf(a->out,
                "restore: WARNING journal line %u: a places list imported after the backup"
                " cannot be re-applied (%s): import it again (rozgar-server places import"
                " FILE)\n",
                r->line, a->err->text);
        a->unknown++;
        free(text);
        return 0;
    }
    if (rc == 0 && (rc = places_parse(&p, text, len, name, a->err)) == 0) {
        rc = placelist_import(log_store_db(a->ls), p, text, len, "re-applied from the journal",
                              &version, a->err);
        if (rc == RZ_E_EXISTS) {
            rc = 0; /* the newest version already */
        } else if (rc == 0) {
            fprintf(a->out, "restore: re-applied places-import as places version %lld\n",
                    (long long)version);
            a->applied++;
            a->recount = 1;
        }
    }
    places_destroy(&p);
    free(text);
    return rc;
}

/* Re-applies one decision when the restored store does not reflect it yet,
 * so replaying a decision the backup already holds changes nothing. */
static int
replay_one(const journal_rec *r, void *argp)
{
    replay_arg *a = argp;
    uint8_t id[RZ_NODE_ID_BYTES], pk[RZ_PK_BYTES], person[16];
    log_node n;
    int rc = 0, erased = 0, found;

    if (strcmp(r->verb, "head") == 0)
        return 0;
    if (strcmp(r->verb, "erase") == 0) {
        if (r->nfields != 1 || strlen(r->field[0]) != 32 || hex_decode(person, 16, r->field[0]))
            return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed erase", r->line);
        if ((rc = rebuild_erase_person(a->ls, person, &erased, a->err)) == 0 && erased > 0) {
            fprintf(a->out, "restore: erased again person %s (%d values)\n", r->field[0], erased);
            a->applied++;
        }
        return rc;
    }
    if (strcmp(r->verb, "token-revoke") == 0 || strcmp(r->verb, "account-disable") == 0 ||
        strcmp(r->verb, "account-enable") == 0) {
        if (r->nfields != 1)
            return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed %s", r->line, r->verb);
        if (!a->auth && (rc = httpauth_open(&a->auth, a->dir, a->err)))
            return rc;
        if (r->verb[0] == 't')
            rc = httpauth_token_revoke(a->auth, r->field[0], a->err);
        else
            rc = webauth_account_disable(httpauth_web(a->auth), r->field[0],
                                         strcmp(r->verb, "account-disable") == 0, a->err);
        /* Already revoked, or a token the backup never had. */
        if (rc == RZ_E_NOTFOUND)
            return 0;
        if (rc == 0) {
            fprintf(a->out, "restore: re-applied %s of '%s'\n", r->verb, r->field[0]);
            a->applied++;
        }
        return rc;
    }
    if (strcmp(r->verb, "account-add") == 0 || strcmp(r->verb, "account-passwd") == 0 ||
        strcmp(r->verb, "token-add") == 0) {
        int add = strcmp(r->verb, "account-add") == 0, changed = 0;
        if (r->nfields != (add ? 3 : 2))
            return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed %s", r->line, r->verb);
        if (!a->auth && (rc = httpauth_open(&a->auth, a->dir, a->err)))
            return rc;
        if (r->verb[0] == 't')
            rc = httpauth_token_restore(a->auth, r->field[0], r->field[1], &changed, a->err);
        else
            rc = webauth_account_restore(httpauth_web(a->auth), r->field[0],
                                         add ? r->field[1] : NULL, r->field[add ? 2 : 1], &changed,
                                         a->err);
        if (rc == RZ_E_ARG) {
            char why[RZ_ERROR_TEXT];
            snprintf(why, sizeof why, "%s", a->err->text);
            return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: %s", r->line, why);
        }
        if (rc == RZ_E_NOTFOUND) {
            /* A password change of an account neither the backup nor the
             * journal has: said, not fatal. */
            fprintf(a->out, "restore: WARNING journal line %u: no account '%s' to re-apply %s to\n",
                    r->line, r->field[0], r->verb);
            return 0;
        }
        if (rc == 0 && changed) {
            /* The hash itself is never printed. */
            fprintf(a->out, "restore: re-applied %s of '%s'\n", r->verb, r->field[0]);
            a->applied++;
        }
        return rc;
    }
    if (strcmp(r->verb, "rename") == 0 || strcmp(r->verb, "move") == 0) {
        int64_t version = 0;
        int ren = r->verb[0] == 'r';
        if (r->nfields != (ren ? 2 : 3))
            return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed %s", r->line, r->verb);
        rc = log_store_centre_change(a->ls, r->field[0], ren ? r->field[1] : NULL,
                                     ren ? NULL : r->field[1], ren ? NULL : r->field[2], &version,
                                     a->err);
        /* A rename the backup already holds finds no centre of the old name. */
        if (rc == RZ_E_NOTFOUND && ren)
            return 0;
        if (rc == 0) {
            fprintf(a->out, "restore: re-applied %s of centre '%s'\n", r->verb, r->field[0]);
            a->applied++;
            /* Trainees by place hold the place a centre had when merged
             * (as `centre move` does, the state is recounted below). */
            a->recount |= !ren;
        }
        return rc;
    }
    if (strcmp(r->verb, "lawful") == 0) {
        char *end = NULL;
        long long at = r->nfields == 5 ? strtoll(r->field[0], &end, 10) : 0;
        int added = 0;
        if (at <= 0 || !end || *end)
            return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed lawful", r->line);
        if (!a->auth && (rc = httpauth_open(&a->auth, a->dir, a->err)))
            return rc;
        rc = httpauth_register_restore(a->auth, at, r->field[1], r->field[2], r->field[3],
                                       r->field[4], &added, a->err);
        if (rc == 0 && added) {
            fprintf(a->out, "restore: re-applied lawful register entry (%s by %s)\n", r->field[1],
                    r->field[2]);
            a->applied++;
        }
        return rc;
    }
    if (strcmp(r->verb, "places-import") == 0)
        return replay_places(r, a);
    if (strcmp(r->verb, "recover-grant") == 0 || strcmp(r->verb, "recover-done") == 0 ||
        strcmp(r->verb, "recover-cancel") == 0)
        return replay_recovery(r, a);
    if (replay_node(r, 0, id) != 0)
        return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed %s", r->line, r->verb);
    rc = log_store_node_get(a->ls, id, &n, a->err);
    if (rc && rc != RZ_E_NOTFOUND)
        return rc;
    found = rc == 0;
    rc = 0;
    if (strcmp(r->verb, "enroll") == 0) {
        if (r->nfields != 6 || replay_pk(r, 1, pk) != 0)
            return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed enroll", r->line);
        if (found)
            return 0;
        rc = log_store_enroll(a->ls, id, pk, r->field[3], atoi(r->field[2]), r->field[4],
                              r->field[5], a->err);
    } else if (!found) {
        return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: %s of node %s, never enrolled",
                       r->line, r->verb, r->field[0]);
    } else if (strcmp(r->verb, "revoke") == 0) {
        if (n.revoked)
            return 0;
        rc = log_store_revoke(a->ls, id, a->err);
    } else if (strcmp(r->verb, "rekey") == 0) {
        if (replay_pk(r, 1, pk) != 0)
            return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed rekey", r->line);
        if (memcmp(n.sign_pk, pk, RZ_PK_BYTES) == 0)
            return 0;
        rc = log_store_rekey(a->ls, id, pk, a->err);
    } else if (strcmp(r->verb, "new-epoch") == 0) {
        unsigned long want = r->nfields == 2 ? strtoul(r->field[1], NULL, 10) : 0;
        if (want == 0 || want > UINT32_MAX)
            return rz_fail(a->err, RZ_E_CONFIG, "journal line %u: malformed new-epoch", r->line);
        if (n.epoch >= want)
            return 0;
        while (rc == 0 && n.epoch < want) {
            if ((rc = log_store_new_epoch(a->ls, id, a->err)) == 0)
                rc = log_store_node_get(a->ls, id, &n, a->err);
        }
    } else {
        /* A decision this version cannot re-apply is said, never skipped
         * silently. */
        fprintf(a->out, "restore: WARNING journal line %u: '%s' not re-applied by this version\n",
                r->line, r->verb);
        a->unknown++;
        return 0;
    }
    if (rc == 0) {
        fprintf(a->out, "restore: re-applied %s of node %s\n", r->verb, r->field[0]);
        a->applied++;
    }
    return rc;
}

static int
backup_manifest_value(const char *backupdir, const char *key, long long *v, rz_error *err)
{
    char path[PATH_MAX], line[256], k[64];
    long long x;
    FILE *f;
    int found = 0;

    snprintf(path, sizeof path, "%s/%s", backupdir, BACKUP_MANIFEST);
    if (!(f = fopen(path, "re")))
        return rz_fail(err, RZ_E_NOTFOUND, "%s is not a backup (no %s)", backupdir,
                       BACKUP_MANIFEST);
    if (!fgets(line, sizeof line, f) || strncmp(line, "rozgar-server backup 1", 22) != 0) {
        fclose(f);
        return rz_fail(err, RZ_E_CONFIG, "%s: not a backup of this version", path);
    }
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%63s %lld", k, &x) == 2 && strcmp(k, key) == 0) {
            *v = x;
            found = 1;
        }
    fclose(f);
    return found ? 0 : rz_fail(err, RZ_E_CONFIG, "%s: no %s line", path, key);
}

static int
backup_server_running(const char *dir, rz_error *err)
{
    int fd = -1, rc = merger_lock(dir, &fd, err);
    if (rc == RZ_E_BUSY)
        return rz_fail(err, RZ_E_BUSY, "a server is running on %s: stop it before restoring", dir);
    merger_unlock(&fd);
    return rc;
}

int
backup_restore(const char *dir, const char *backupdir, FILE *out, rz_error *err)
{
    backup_file files[BACKUP_MAX_FILES], cur[BACKUP_MAX_FILES];
    char src[PATH_MAX], dst[PATH_MAX], aside[PATH_MAX], jpath[PATH_MAX];
    long long jfrom = 0;
    replay_arg a = {0};
    int n, ncur, i, rc, ngaps = 0;
    struct tm tm;
    time_t now = time(NULL);

    if ((rc = backup_manifest_value(backupdir, "journal", &jfrom, err)))
        return rc;
    if ((rc = backup_list(backupdir, files, &n, err)))
        return rc;
    if (n == 0 || strcmp(files[0].name, STATE_STORE_FILE) != 0)
        return rz_fail(err, RZ_E_CONFIG, "%s holds no %s", backupdir, STATE_STORE_FILE);
    for (i = 0; i < n; i++) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        int ok = 0;
        if (!files[i].sqlite)
            continue;
        if (backup_join(src, backupdir, files[i].name, "") != 0)
            return rz_fail(err, RZ_E_ARG, "path too long");
        if (rz_db_open(&db, src, DB_READONLY, NULL) == 0 &&
            rz_db_prepare(db, &st, "PRAGMA quick_check", NULL) == 0 &&
            sqlite3_step(st) == SQLITE_ROW)
            ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
        sqlite3_finalize(st);
        rz_db_close(&db);
        if (!ok)
            return rz_fail(err, RZ_E_CONFIG, "%s is damaged (quick_check failed)", src);
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return rz_fail(err, RZ_E_IO, "cannot create %s: %s", dir, strerror(errno));
    if ((rc = backup_server_running(dir, err)))
        return rc;

    /* What the backup replaces is kept aside, never deleted. */
    localtime_r(&now, &tm);
    snprintf(aside, sizeof aside, "%s/replaced-%04d%02d%02dT%02d%02d%02d", dir, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if ((rc = backup_list(dir, cur, &ncur, err)))
        return rc;
    if (ncur > 0 && mkdir(aside, 0700) != 0)
        return rz_fail(err, RZ_E_IO, "cannot create %s: %s", aside, strerror(errno));
    for (i = 0; i < ncur; i++) {
        static const char *const sfx[] = {"", "-wal", "-shm"};
        for (size_t k = 0; k < sizeof sfx / sizeof sfx[0]; k++) {
            if (backup_join(src, dir, cur[i].name, sfx[k]) != 0 ||
                backup_join(dst, aside, cur[i].name, sfx[k]) != 0)
                return rz_fail(err, RZ_E_ARG, "path too long");
            if (rename(src, dst) != 0 && errno != ENOENT)
                return rz_fail(err, RZ_E_IO, "cannot move %s aside: %s", src, strerror(errno));
        }
    }
    if (ncur > 0)
        fprintf(out, "restore: the replaced files are kept in %s\n", aside);
    for (i = 0; i < n; i++) {
        if (backup_join(src, backupdir, files[i].name, "") != 0 ||
            backup_join(dst, dir, files[i].name, "") != 0)
            return rz_fail(err, RZ_E_ARG, "path too long");
        if ((rc = backup_copy_file(src, dst, err)))
            return rc;
    }
    backup_sync_dir(dir);
    fprintf(out, "restore: %d files from %s\n", n, backupdir);

    /* Decisions taken after the backup: none may be undone by it. */
    journal_path(jpath, sizeof jpath, dir);
    if ((rc = log_store_open(&a.ls, dir, err)))
        return rc;
    a.dir = dir;
    a.out = out;
    a.err = err;
    /* Only what was written after the backup began (an earlier decision is
     * in the backup); replay_one is idempotent for those written while the
     * copy ran. */
    rc = journal_scan(jpath, jfrom, replay_one, &a, err);
    if (rc == 0 && a.recount) {
        state_store *ss = NULL;
        if (!(rc = placelist_activate(log_store_db(a.ls), NULL, NULL, err)) &&
            !(rc = state_store_open(&ss, dir, err)))
            rc = rebuild_apply(a.ls, ss, dir, NULL, err);
        state_store_close(&ss);
        if (rc == 0)
            fprintf(out,
                    "restore: the state recounted from the logs under the places re-applied\n");
    }
    log_store_close(&a.ls);
    httpauth_destroy(&a.auth);
    if (rc)
        return rc;
    fprintf(out, "restore: %d decision%s re-applied from the journal %s%s\n", a.applied,
            a.applied == 1 ? "" : "s", jpath, a.unknown ? " (see WARNING lines)" : "");
    return backup_gaps(dir, out, &ngaps, err);
}

/* ---- gaps ------------------------------------------------------------- */

#define GAPS_MAX_NODES 4096

typedef struct gap_node {
    uint8_t id[RZ_NODE_ID_BYTES]; /* node */
    uint64_t acked;               /* highest sequence acknowledged per the journal */
} gap_node;

typedef struct gaps_arg {
    gap_node *v; /* nodes seen in head records */
    int n;       /* their number */
} gaps_arg;

static int
gaps_head(const journal_rec *r, void *argp)
{
    gaps_arg *a = argp;
    uint8_t id[RZ_NODE_ID_BYTES];
    unsigned long long seq;
    int i;

    if (strcmp(r->verb, "head") != 0)
        return 0;
    if (r->nfields != 3 || replay_node(r, 0, id) != 0)
        return 0; /* a head record only informs the report */
    seq = strtoull(r->field[2], NULL, 10);
    for (i = 0; i < a->n; i++)
        if (memcmp(a->v[i].id, id, RZ_NODE_ID_BYTES) == 0)
            break;
    if (i == a->n) {
        if (a->n == GAPS_MAX_NODES)
            return 0;
        memcpy(a->v[a->n].id, id, RZ_NODE_ID_BYTES);
        a->v[a->n++].acked = 0;
    }
    if (seq > a->v[i].acked)
        a->v[i].acked = seq;
    return 0;
}

int
backup_gaps(const char *dir, FILE *out, int *ngaps, rz_error *err)
{
    char jpath[PATH_MAX], hex[2 * RZ_NODE_ID_BYTES + 1];
    gaps_arg a = {NULL, 0};
    log_store *ls = NULL;
    log_node n;
    int rc, i;

    *ngaps = 0;
    journal_path(jpath, sizeof jpath, dir);
    a.v = xcalloc(GAPS_MAX_NODES, sizeof *a.v);
    if ((rc = journal_scan(jpath, 0, gaps_head, &a, err)) || (rc = log_store_open(&ls, dir, err)))
        goto out;
    for (i = 0; i < a.n; i++) {
        if ((rc = log_store_node_get(ls, a.v[i].id, &n, err)))
            goto out;
        if (a.v[i].acked <= n.head_seq)
            continue;
        hex_encode(hex, a.v[i].id, RZ_NODE_ID_BYTES);
        fprintf(out,
                "gap: node %s: entries %llu..%llu were acknowledged but are not in this server's "
                "log; the node re-sends them on its next sync or bundle (if the node was "
                "destroyed, they are lost)\n",
                hex, (unsigned long long)n.head_seq + 1, (unsigned long long)a.v[i].acked);
        (*ngaps)++;
    }
    fprintf(out, "gaps: %d node%s with acknowledged entries missing\n", *ngaps,
            *ngaps == 1 ? "" : "s");
out:
    log_store_close(&ls);
    free(a.v);
    return rc;
}
