/*
 * httpauth: accounts and API tokens of the headquarters view; see
 * httpauth.h.
 *
 * One read-write handle on auth.db for tokens, guarded by a mutex (token
 * checks are one indexed lookup); webauth keeps its own handle and mutex.
 * The session binding is a random value made with the file, so a cookie
 * made by another server (or a node) is refused by name.
 */
#include "server/httpauth.h"
#include "server/journal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/db.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/util.h"
#include "server/query.h"

static const char *const httpauth_roles[] = {"admin", "analyst", NULL};

static const char httpauth_schema[] =
    "CREATE TABLE IF NOT EXISTS httpauth_meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS httpauth_token("
    " name TEXT PRIMARY KEY, hash BLOB UNIQUE NOT NULL, created_ms INTEGER NOT NULL,"
    " revoked_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS httpauth_lawful("
    " id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL,"
    " subject TEXT NOT NULL, detail TEXT NOT NULL);";

struct httpauth {
    pthread_mutex_t mu; /* guards db */
    sqlite3 *db;        /* auth.db, read-write (tokens, meta) */
    webauth *wa;        /* accounts and sessions */
    char *dir;          /* the server directory (its journal) */
};

/* The binding of this server's sessions: made once, kept in the file. */
static int
httpauth_bind(sqlite3 *db, char bind[33], rz_error *err)
{
    sqlite3_stmt *st = NULL;
    uint8_t r[16];
    int rc;
    if ((rc = rz_db_prepare(db, &st, "SELECT v FROM httpauth_meta WHERE k = 'bind'", err)))
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
        memcpy(bind, sqlite3_column_text(st, 0), 32);
        bind[32] = '\0';
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_finalize(st);
    randombytes_buf(r, sizeof r);
    hex_encode(bind, r, sizeof r);
    if ((rc = rz_db_prepare(db, &st, "INSERT OR REPLACE INTO httpauth_meta VALUES('bind', ?1)",
                            err)))
        return rc;
    sqlite3_bind_text(st, 1, bind, 32, SQLITE_STATIC);
    rc = rz_db_step_done(db, st, err);
    sqlite3_finalize(st);
    return rc;
}

int
httpauth_open(httpauth **out, const char *dir, rz_error *err)
{
    char path[4096], bind[33];
    webauth_config cfg;
    httpauth *a;
    int rc;

    *out = NULL;
    if (sodium_init() < 0)
        return rz_fail(err, RZ_E_INTERNAL, "libsodium failed to initialise");
    if (snprintf(path, sizeof(path), "%s/%s", dir, HTTPAUTH_DB) >= (int)sizeof(path))
        return rz_fail(err, RZ_E_ARG, "httpauth: directory path too long");
    a = xcalloc(1, sizeof(*a));
    a->dir = xstrdup(dir);
    pthread_mutex_init(&a->mu, NULL);
    if ((rc = rz_db_open(&a->db, path, DB_READWRITE, err)))
        goto fail;
    /* Password hashes and token hashes: the server's user only. */
    if (chmod(path, 0600) != 0) {
        rc = rz_fail(err, RZ_E_IO, "cannot make %s private (chmod 0600)", path);
        goto fail;
    }
    if ((rc = rz_db_exec(a->db, httpauth_schema, err)) || (rc = httpauth_bind(a->db, bind, err)))
        goto fail;
    memset(&cfg, 0, sizeof(cfg));
    cfg.roles = httpauth_roles;
    cfg.bind = bind;
    if ((rc = webauth_open(&a->wa, path, &cfg, err)))
        goto fail;
    *out = a;
    return 0;
fail:
    httpauth_destroy(&a);
    return rc;
}

void
httpauth_destroy(httpauth **ap)
{
    httpauth *a = ap ? *ap : NULL;
    if (!a)
        return;
    webauth_destroy(&a->wa);
    rz_db_close(&a->db);
    pthread_mutex_destroy(&a->mu);
    free(a->dir);
    free(a);
    *ap = NULL;
}

webauth *
httpauth_web(httpauth *a)
{
    return a->wa;
}

static void
httpauth_hash(const char *token, uint8_t h[32])
{
    crypto_generichash(h, 32, (const uint8_t *)token, strlen(token), NULL, 0);
}

int
httpauth_token_add(httpauth *a, const char *name, char *out, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    uint8_t r[32], h[32];
    int rc;
    if (!webauth_user_valid(name) || strlen(name) > HTTPAUTH_NAME_MAX)
        return rz_fail(err, RZ_E_ARG, "a token name is 1..%d of a-z 0-9 . _ - (e.g. reporting-bot)",
                       HTTPAUTH_NAME_MAX);
    randombytes_buf(r, sizeof r);
    memcpy(out, HTTPAUTH_TOKEN_PREFIX, 4);
    hex_encode(out + 4, r, sizeof r);
    sodium_memzero(r, sizeof r);
    httpauth_hash(out, h);
    pthread_mutex_lock(&a->mu);
    if (!(rc = rz_db_prepare(a->db, &st,
                             "INSERT INTO httpauth_token(name, hash, created_ms) VALUES(?1,?2,?3)",
                             err))) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, h, 32, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (int64_t)hlc_wall_ms());
        int step = sqlite3_step(st);
        if ((step & 0xff) == SQLITE_CONSTRAINT)
            rc = rz_fail(err, RZ_E_EXISTS, "a token named %s exists (pick another name)", name);
        else if (step != SQLITE_DONE)
            rc = rz_db_fail(a->db, err, "token add");
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&a->mu);
    if (rc)
        sodium_memzero(out, HTTPAUTH_TOKEN_CHARS + 1);
    return rc;
}

int
httpauth_token_restore(httpauth *a, const char *name, const char *hash_hex, int *added,
                       rz_error *err)
{
    sqlite3_stmt *st = NULL;
    uint8_t h[32];
    int rc;
    *added = 0;
    if (!webauth_user_valid(name) || strlen(name) > HTTPAUTH_NAME_MAX || !hash_hex ||
        strlen(hash_hex) != 64 || hex_decode(h, sizeof h, hash_hex) != 0)
        return rz_fail(err, RZ_E_ARG, "token-add: a token name and a 64-hex-digit hash");
    pthread_mutex_lock(&a->mu);
    /* A token of that name already there (the backup has it) stays. */
    if (!(rc = rz_db_prepare(a->db, &st,
                             "INSERT OR IGNORE INTO httpauth_token(name, hash, created_ms)"
                             " VALUES(?1,?2,?3)",
                             err))) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, h, 32, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (int64_t)hlc_wall_ms());
        if (!(rc = rz_db_step_done(a->db, st, err)))
            *added = sqlite3_changes(a->db) > 0;
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int
httpauth_token_revoke(httpauth *a, const char *name, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    pthread_mutex_lock(&a->mu);
    if (!(rc = rz_db_prepare(a->db, &st,
                             "UPDATE httpauth_token SET revoked_ms = ?2 WHERE name = ?1"
                             " AND revoked_ms = 0",
                             err))) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)hlc_wall_ms());
        if (!(rc = rz_db_step_done(a->db, st, err)) && sqlite3_changes(a->db) == 0)
            rc = rz_fail(err, RZ_E_NOTFOUND, "no live token named %s", name);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int
httpauth_token_list(httpauth *a, void *out_file, rz_error *err)
{
    FILE *out = out_file;
    sqlite3_stmt *st = NULL;
    int rc;
    pthread_mutex_lock(&a->mu);
    if (!(rc = rz_db_prepare(
              a->db, &st, "SELECT name, created_ms, revoked_ms FROM httpauth_token ORDER BY name",
              err))) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            char c[32], r[32];
            query_iso_time(c, (uint64_t)sqlite3_column_int64(st, 1));
            if (sqlite3_column_int64(st, 2))
                query_iso_time(r, (uint64_t)sqlite3_column_int64(st, 2));
            else
                snprintf(r, sizeof(r), "-");
            fprintf(out, "%-32s created %s revoked %s\n", sqlite3_column_text(st, 0), c, r);
        }
        rc = rc == SQLITE_DONE ? 0 : rz_db_fail(a->db, err, "token list");
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int
httpauth_token_check(httpauth *a, const char *token, httpauth_principal *p, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    uint8_t h[32];
    int rc;
    memset(p, 0, sizeof(*p));
    if (!token || strlen(token) != HTTPAUTH_TOKEN_CHARS ||
        strncmp(token, HTTPAUTH_TOKEN_PREFIX, 4) != 0)
        return rz_fail(err, RZ_E_AUTH, "not a token of this server (rzt_ + 64 hex digits)");
    httpauth_hash(token, h);
    pthread_mutex_lock(&a->mu);
    if (!(rc = rz_db_prepare(a->db, &st,
                             "SELECT name, revoked_ms FROM httpauth_token WHERE hash = ?1", err))) {
        sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW)
            rc = rz_fail(err, RZ_E_AUTH, "unknown token");
        else if (sqlite3_column_int64(st, 1) != 0)
            rc = rz_fail(err, RZ_E_AUTH, "token %s was revoked", sqlite3_column_text(st, 0));
        else {
            snprintf(p->name, sizeof(p->name), "%s", (const char *)sqlite3_column_text(st, 0));
            p->is_token = 1;
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* ---- the administrators' lists, as JSON (GET /api/admin/...) -------------- */

/* "key":"2026-11-30T..." or "key":null for 0. */
static void
httpauth_json_time(FILE *out, const char *key, int64_t ms)
{
    char t[32];
    if (ms <= 0) {
        fprintf(out, ",\"%s\":null", key);
        return;
    }
    query_iso_time(t, (uint64_t)ms);
    fprintf(out, ",\"%s\":\"%s\"", key, t);
}

typedef struct httpauth_json_list {
    FILE *out; /* the answer */
    int n;     /* items written */
} httpauth_json_list;

static int
httpauth_account_json(void *ctx, const webauth_account *acc)
{
    httpauth_json_list *l = ctx;
    fputs(l->n++ ? ",\n{\"name\":" : "\n{\"name\":", l->out);
    query_json_string(l->out, acc->user);
    fputs(",\"role\":", l->out);
    query_json_string(l->out, acc->role);
    fprintf(l->out, ",\"disabled\":%s", acc->disabled ? "true" : "false");
    httpauth_json_time(l->out, "created", (int64_t)acc->created_ms);
    httpauth_json_time(l->out, "password_changed", (int64_t)acc->changed_ms);
    fputs("}", l->out);
    return 0;
}

int
httpauth_accounts_json(httpauth *a, FILE *out, rz_error *err)
{
    httpauth_json_list l = {out, 0};
    int rc;
    fputs("{\"accounts\":[", out);
    if ((rc = webauth_account_each(a->wa, httpauth_account_json, &l, err)))
        return rc;
    fputs("\n],\"manage\":\"rozgar-server -d DIR account add|passwd|disable|enable NAME\"}\n", out);
    return 0;
}

int
httpauth_tokens_json(httpauth *a, FILE *out, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, n = 0;
    pthread_mutex_lock(&a->mu);
    if (!(rc = rz_db_prepare(
              a->db, &st, "SELECT name, created_ms, revoked_ms FROM httpauth_token ORDER BY name",
              err))) {
        fputs("{\"tokens\":[", out);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            fputs(n++ ? ",\n{\"name\":" : "\n{\"name\":", out);
            query_json_string(out, (const char *)sqlite3_column_text(st, 0));
            httpauth_json_time(out, "created", sqlite3_column_int64(st, 1));
            httpauth_json_time(out, "revoked", sqlite3_column_int64(st, 2));
            fputs("}", out);
        }
        rc = rc == SQLITE_DONE ? 0 : rz_db_fail(a->db, err, "token list");
        sqlite3_finalize(st);
        fputs("\n],\"manage\":\"rozgar-server -d DIR token add|revoke NAME\"}\n", out);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int
httpauth_register_json(httpauth *a, FILE *out, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, n = 0;
    pthread_mutex_lock(&a->mu);
    if (!(rc = rz_db_prepare(a->db, &st,
                             "SELECT at_ms, kind, actor, subject, detail FROM httpauth_lawful"
                             " ORDER BY id",
                             err))) {
        fputs("{\"lawful\":[", out);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            fputs(n++ ? ",\n{\"kind\":" : "\n{\"kind\":", out);
            query_json_string(out, (const char *)sqlite3_column_text(st, 1));
            httpauth_json_time(out, "at", sqlite3_column_int64(st, 0));
            fputs(",\"by\":", out);
            query_json_string(out, (const char *)sqlite3_column_text(st, 2));
            fputs(",\"subject\":", out);
            query_json_string(out, (const char *)sqlite3_column_text(st, 3));
            fputs(",\"outcome\":", out);
            query_json_string(out, (const char *)sqlite3_column_text(st, 4));
            fputs("}", out);
        }
        rc = rc == SQLITE_DONE ? 0 : rz_db_fail(a->db, err, "lawful register");
        sqlite3_finalize(st);
        fputs("\n]}\n", out);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* ---- register of lawful requests ----------------------------------------- */

void
httpauth_cnic_mask(char out[16], const char *cnic13)
{
    if (!cnic13 || strlen(cnic13) != 13) {
        snprintf(out, 16, "?");
        return;
    }
    snprintf(out, 16, "%.5s-*******-%c", cnic13, cnic13[12]);
}

/* Inserts one register entry made at at_ms. */
static int
httpauth_register_insert(httpauth *a, int64_t at_ms, const char *kind, const char *actor,
                         const char *subject, const char *detail, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (!(rc = rz_db_prepare(a->db, &st,
                             "INSERT INTO httpauth_lawful(at_ms, kind, actor, subject, detail)"
                             " VALUES(?1,?2,?3,?4,?5)",
                             err))) {
        sqlite3_bind_int64(st, 1, at_ms);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, subject, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
        rc = rz_db_step_done(a->db, st, err);
        sqlite3_finalize(st);
    }
    return rc;
}

int
httpauth_register_add(httpauth *a, const char *kind, const char *actor, const char *subject,
                      const char *detail, rz_error *err)
{
    int64_t at = (int64_t)hlc_wall_ms();
    char at_s[24], clean[300];
    rz_error jerr = {0, ""};
    size_t i;
    int rc;
    pthread_mutex_lock(&a->mu);
    rc = httpauth_register_insert(a, at, kind, actor, subject, detail, err);
    pthread_mutex_unlock(&a->mu);
    if (rc)
        return rc;
    /* The register must survive a restore from an older backup: the
     * journal keeps the entry (a masked CNIC or a person id, never a
     * personal value); a reason's tabs and line breaks become blanks. */
    snprintf(at_s, sizeof at_s, "%lld", (long long)at);
    snprintf(clean, sizeof clean, "%s", detail);
    for (i = 0; clean[i]; i++)
        if (clean[i] == '\t' || clean[i] == '\r' || clean[i] == '\n')
            clean[i] = ' ';
    if (journal_note(a->dir, "lawful", (const char *const[]){at_s, kind, actor, subject, clean}, 5,
                     &jerr) != 0)
        log_warnx("lawful register entry not journaled (%s): take a backup now", jerr.text);
    return 0;
}

int
httpauth_register_restore(httpauth *a, int64_t at_ms, const char *kind, const char *actor,
                          const char *subject, const char *detail, int *added, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, have = 0;
    *added = 0;
    pthread_mutex_lock(&a->mu);
    if (!(rc = rz_db_prepare(a->db, &st,
                             "SELECT 1 FROM httpauth_lawful WHERE at_ms = ?1 AND kind = ?2"
                             " AND actor = ?3 AND subject = ?4",
                             err))) {
        sqlite3_bind_int64(st, 1, at_ms);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, subject, -1, SQLITE_STATIC);
        have = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (!have && !(rc = httpauth_register_insert(a, at_ms, kind, actor, subject, detail, err)))
            *added = 1;
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int
httpauth_register_list(httpauth *a, void *out_file, rz_error *err)
{
    FILE *out = out_file;
    sqlite3_stmt *st = NULL;
    int rc;
    pthread_mutex_lock(&a->mu);
    if (!(rc = rz_db_prepare(a->db, &st,
                             "SELECT at_ms, kind, actor, subject, detail FROM httpauth_lawful"
                             " ORDER BY id",
                             err))) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            char when[32];
            query_iso_time(when, (uint64_t)sqlite3_column_int64(st, 0));
            fprintf(out, "%s  %-6s  %-16s  %-34s  %s\n", when, sqlite3_column_text(st, 1),
                    sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
                    sqlite3_column_text(st, 4));
        }
        rc = rc == SQLITE_DONE ? 0 : rz_db_fail(a->db, err, "lawful register");
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* ---- command line ------------------------------------------------------ */

static int
httpauth_cli_fail(const rz_error *err)
{
    fprintf(stderr, "rozgar-server: %s\n", err->text);
    return err->code == RZ_E_ARG || err->code == RZ_E_EXISTS || err->code == RZ_E_NOTFOUND ? 2 : 1;
}

/* One line of standard input, without its newline, into buf. */
static int
httpauth_read_password(char *buf, size_t len)
{
    size_t n;
    if (!fgets(buf, (int)len, stdin))
        return -1;
    n = strlen(buf);
    if (n && buf[n - 1] != '\n' && !feof(stdin))
        return -1; /* longer than the buffer */
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

static int
httpauth_print_account(void *ctx, const webauth_account *acc)
{
    char c[32];
    (void)ctx;
    query_iso_time(c, acc->created_ms);
    printf("%-32s %-8s %s created %s\n", acc->user, acc->role,
           acc->disabled ? "disabled" : "enabled", c);
    return 0;
}

static void
httpauth_usage(void)
{
    fprintf(stderr,
            "usage: rozgar-server -d DIR account add NAME --role admin|analyst\n"
            "       rozgar-server -d DIR account passwd|disable|enable NAME\n"
            "       rozgar-server -d DIR account list\n"
            "       rozgar-server -d DIR token add NAME | token revoke NAME | token list\n"
            "       rozgar-server -d DIR lawful list   (CNIC lookups and erasures)\n"
            "Passwords are read from standard input (one line), at least %d bytes.\n",
            WEBAUTH_PASS_MIN);
}

/* A change of accounts or tokens must survive a restore from an older
 * backup: the journal (server/journal.h) keeps it apart from the backups.
 * Password and token hashes go in as auth.db holds them (never the
 * password or the token), so the journal is as private as auth.db. */
static void
httpauth_journal(const char *dir, const char *verb, const char *const *fields, int n)
{
    rz_error err = {0, ""};
    if (journal_note(dir, verb, fields, n, &err) != 0)
        fprintf(stderr,
                "rozgar-server: WARNING: %s done but not journaled (%s); take a backup now\n", verb,
                err.text);
}

/* Journals an account's new password hash (account add or passwd). */
static void
httpauth_journal_account(httpauth *a, const char *dir, const char *name, int added)
{
    char role[WEBAUTH_ROLE_MAX + 1], hash[WEBAUTH_PWHASH_MAX];
    rz_error err = {0, ""};
    if (webauth_account_pwhash(a->wa, name, role, hash, &err) != 0) {
        fprintf(stderr,
                "rozgar-server: WARNING: account %s changed but not journaled (%s); take a "
                "backup now\n",
                name, err.text);
        return;
    }
    if (added)
        httpauth_journal(dir, "account-add", (const char *const[]){name, role, hash}, 3);
    else
        httpauth_journal(dir, "account-passwd", (const char *const[]){name, hash}, 2);
    sodium_memzero(hash, sizeof hash);
}

int
httpauth_cli(const char *dir, int argc, char **argv)
{
    httpauth *a = NULL;
    rz_error err = {0, ""};
    char pass[WEBAUTH_PASS_MAX + 2], token[HTTPAUTH_TOKEN_CHARS + 1];
    const char *what = argc > 1 ? argv[1] : "", *name = argc > 2 ? argv[2] : NULL;
    int tokens = strcmp(argv[0], "token") == 0, rc = 0, status = 0;
    int lawful = strcmp(argv[0], "lawful") == 0;

    if (argc < 2 || strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0) {
        httpauth_usage();
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(what, "list") != 0 &&
        (!name || argc > (strcmp(what, "add") == 0 && !tokens ? 5 : 3))) {
        httpauth_usage();
        return 2;
    }
    if ((rc = httpauth_open(&a, dir, &err)))
        return httpauth_cli_fail(&err);
    if (lawful) {
        if (strcmp(what, "list") != 0) {
            httpauth_usage();
            status = 2;
            goto out;
        }
        rc = httpauth_register_list(a, stdout, &err);
    } else if (tokens && strcmp(what, "add") == 0) {
        if (!(rc = httpauth_token_add(a, name, token, &err))) {
            uint8_t h[32];
            char hex[65];
            httpauth_hash(token, h);
            hex_encode(hex, h, sizeof h);
            httpauth_journal(dir, "token-add", (const char *const[]){name, hex}, 2);
            printf("%s\n", token);
            fprintf(stderr, "token %s: shown once; give it as \"Authorization: Bearer TOKEN\"\n",
                    name);
            sodium_memzero(token, sizeof(token));
        }
    } else if (tokens && strcmp(what, "revoke") == 0) {
        if (!(rc = httpauth_token_revoke(a, name, &err))) {
            printf("token %s revoked\n", name);
            httpauth_journal(dir, "token-revoke", (const char *const[]){name}, 1);
        }
    } else if (tokens && strcmp(what, "list") == 0) {
        rc = httpauth_token_list(a, stdout, &err);
    } else if (!tokens && strcmp(what, "list") == 0) {
        rc = webauth_account_each(a->wa, httpauth_print_account, NULL, &err);
    } else if (!tokens && (strcmp(what, "add") == 0 || strcmp(what, "passwd") == 0)) {
        const char *role = NULL;
        if (strcmp(what, "add") == 0) {
            if (argc != 5 || strcmp(argv[3], "--role") != 0) {
                httpauth_usage();
                status = 2;
                goto out;
            }
            role = argv[4];
        }
        if (httpauth_read_password(pass, sizeof(pass)) != 0) {
            fprintf(stderr,
                    "rozgar-server: give the password on standard input (one line, at "
                    "most %d bytes)\n",
                    WEBAUTH_PASS_MAX);
            status = 2;
            goto out;
        }
        rc = role ? webauth_account_add(a->wa, name, role, pass, &err)
                  : webauth_account_passwd(a->wa, name, pass, &err);
        sodium_memzero(pass, sizeof(pass));
        if (!rc) {
            httpauth_journal_account(a, dir, name, role != NULL);
            printf("account %s %s\n", name, role ? "added" : "has a new password");
        }
    } else if (!tokens && (strcmp(what, "disable") == 0 || strcmp(what, "enable") == 0)) {
        int off = strcmp(what, "disable") == 0;
        if (!(rc = webauth_account_disable(a->wa, name, off, &err))) {
            printf("account %s %s\n", name, off ? "disabled" : "enabled");
            httpauth_journal(dir, off ? "account-disable" : "account-enable",
                             (const char *const[]){name}, 1);
        }
    } else {
        httpauth_usage();
        status = 2;
        goto out;
    }
    if (rc)
        status = httpauth_cli_fail(&err);
out:
    httpauth_destroy(&a);
    return status;
}
