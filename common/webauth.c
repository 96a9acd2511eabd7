/* webauth: staff accounts, sessions and request checks; see webauth.h. */
#include "common/webauth.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/db.h"
#include "common/log.h"
#include "common/util.h"

#define WEBAUTH_ROLES_MAX 8   /* roles a caller may define */
#define WEBAUTH_HASH_BYTES 32 /* session hash stored */
#define WEBAUTH_DEFAULT_IDLE_MS (30ull * 60 * 1000)
#define WEBAUTH_DEFAULT_ABS_MS (12ull * 3600 * 1000)
#define WEBAUTH_DEFAULT_WINDOW_MS (15ull * 60 * 1000)
#define WEBAUTH_ADDR_MAX 64 /* bytes of a client address kept */

enum { WEBAUTH_SCOPE_USER = 1, WEBAUTH_SCOPE_ADDR = 2 };

enum {
    ST_ACC_ADD,
    ST_ACC_GET,
    ST_ACC_PASS,
    ST_ACC_DISABLE,
    ST_ACC_EACH,
    ST_ADMINS,
    ST_SES_ADD,
    ST_SES_GET,
    ST_SES_TOUCH,
    ST_SES_DEL,
    ST_SES_DEL_USER,
    ST_SES_EXPIRE,
    ST_ATT_GET,
    ST_ATT_SET,
    ST_ATT_DEL,
    ST_N
};

static const char *const webauth_sql[ST_N] = {
    [ST_ACC_ADD] = "INSERT INTO webauth_account(username, role, pwhash, created_ms, changed_ms, "
                   "disabled) VALUES (?1, ?2, ?3, ?4, ?4, 0)",
    [ST_ACC_GET] = "SELECT role, pwhash, disabled FROM webauth_account WHERE username = ?1",
    [ST_ACC_PASS] = "UPDATE webauth_account SET pwhash = ?2, changed_ms = ?3 WHERE username = ?1",
    [ST_ACC_DISABLE] = "UPDATE webauth_account SET disabled = ?2 WHERE username = ?1",
    [ST_ACC_EACH] = "SELECT username, role, disabled, created_ms, changed_ms FROM "
                    "webauth_account ORDER BY username",
    [ST_ADMINS] = "SELECT count(*) FROM webauth_account WHERE role = ?1 AND disabled = 0",
    [ST_SES_ADD] = "INSERT INTO webauth_session(hash, username, created_ms, last_ms) "
                   "VALUES (?1, ?2, ?3, ?3)",
    [ST_SES_GET] = "SELECT s.username, s.created_ms, s.last_ms, a.role, a.disabled FROM "
                   "webauth_session s JOIN webauth_account a ON a.username = s.username "
                   "WHERE s.hash = ?1",
    [ST_SES_TOUCH] = "UPDATE webauth_session SET last_ms = ?2 WHERE hash = ?1",
    [ST_SES_DEL] = "DELETE FROM webauth_session WHERE hash = ?1",
    [ST_SES_DEL_USER] = "DELETE FROM webauth_session WHERE username = ?1",
    [ST_SES_EXPIRE] = "DELETE FROM webauth_session WHERE last_ms < ?1 OR created_ms < ?2",
    [ST_ATT_GET] = "SELECT window_ms, failures FROM webauth_attempt WHERE scope = ?1 AND key = ?2",
    [ST_ATT_SET] = "INSERT OR REPLACE INTO webauth_attempt(scope, key, window_ms, failures) "
                   "VALUES (?1, ?2, ?3, ?4)",
    [ST_ATT_DEL] = "DELETE FROM webauth_attempt WHERE scope = ?1 AND key = ?2",
};

struct webauth {
    sqlite3 *db;                                         /* the caller's database, own handle */
    sqlite3_stmt *st[ST_N];                              /* prepared statements */
    pthread_mutex_t mu;                                  /* one call at a time */
    char roles[WEBAUTH_ROLES_MAX][WEBAUTH_ROLE_MAX + 1]; /* role names; [0] admin */
    int nroles;                                          /* used entries of roles */
    char *bind;                                          /* binding text (lowercase hex) */
    webauth_config cfg;                                  /* policy with defaults filled */
    char dummy[crypto_pwhash_STRBYTES];                  /* hash checked for unknown names */
};

/* ---- small helpers ---- */

static sqlite3_stmt *
webauth_stmt(webauth *wa, int i)
{
    sqlite3_reset(wa->st[i]);
    sqlite3_clear_bindings(wa->st[i]);
    return wa->st[i];
}

/* Lower-cases name into out (size WEBAUTH_USER_MAX + 1); 0 when it is a
 * valid username. */
static int
webauth_user_norm(char *out, const char *name)
{
    size_t i, n = name ? strlen(name) : 0;
    if (n == 0 || n > WEBAUTH_USER_MAX)
        return -1;
    for (i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[n] = '\0';
    return webauth_user_valid(out) ? 0 : -1;
}

int
webauth_user_valid(const char *name)
{
    size_t i, n = name ? strlen(name) : 0;
    if (n == 0 || n > WEBAUTH_USER_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 (i > 0 && (c == '.' || c == '_' || c == '-'));
        if (!ok)
            return 0;
    }
    return 1;
}

const char *
webauth_password_problem(const char *password)
{
    size_t n = password ? strlen(password) : 0;
    if (n < WEBAUTH_PASS_MIN)
        return "the password must have at least 8 characters";
    if (n > WEBAUTH_PASS_MAX)
        return "the password must have at most 128 characters";
    return NULL;
}

static int
webauth_role_index(const webauth *wa, const char *role)
{
    int i;
    for (i = 0; role && i < wa->nroles; i++)
        if (strcmp(wa->roles[i], role) == 0)
            return i;
    return -1;
}

/* Argon2id string of password (out: crypto_pwhash_STRBYTES). */
static int
webauth_hash(const webauth *wa, char *out, const char *password, rz_error *err)
{
    if (crypto_pwhash_str(out, password, strlen(password), wa->cfg.opslimit, wa->cfg.memlimit) != 0)
        return rz_fail(err, RZ_E_NOMEM, "not enough memory to hash a password");
    return 0;
}

/* Keyed hash of a session token: the binding is the key, so a token is
 * worth nothing on another node even with a copy of its database. */
static void
webauth_token_hash(const webauth *wa, uint8_t out[WEBAUTH_HASH_BYTES],
                   const uint8_t token[WEBAUTH_TOKEN_BYTES])
{
    size_t klen = strlen(wa->bind);
    if (klen > crypto_generichash_KEYBYTES_MAX)
        klen = crypto_generichash_KEYBYTES_MAX;
    crypto_generichash(out, WEBAUTH_HASH_BYTES, token, WEBAUTH_TOKEN_BYTES,
                       (const unsigned char *)wa->bind, klen);
}

static void
webauth_csrf_of(char out[WEBAUTH_CSRF_CHARS + 1], const uint8_t token[WEBAUTH_TOKEN_BYTES])
{
    static const char label[] = "RZ-CSRF-1";
    uint8_t h[WEBAUTH_CSRF_CHARS / 2];
    crypto_generichash(h, sizeof h, (const unsigned char *)label, sizeof label - 1, token,
                       WEBAUTH_TOKEN_BYTES);
    hex_encode(out, h, sizeof h);
}

/* Parses "<bind8>.<64 hex>" into token; RZ_E_AUTH with the reason. */
static int
webauth_cookie_parse(const webauth *wa, const char *cookie, uint8_t token[WEBAUTH_TOKEN_BYTES],
                     rz_error *err)
{
    size_t n = cookie ? strlen(cookie) : 0;
    if (n == 0)
        return rz_fail(err, RZ_E_AUTH, "not signed in");
    if (n != WEBAUTH_BIND_HEX + 1 + 2 * WEBAUTH_TOKEN_BYTES || cookie[WEBAUTH_BIND_HEX] != '.' ||
        hex_decode(token, WEBAUTH_TOKEN_BYTES, cookie + WEBAUTH_BIND_HEX + 1) != 0)
        return rz_fail(err, RZ_E_AUTH, "the sign-in cookie is malformed; sign in again");
    if (strncasecmp(cookie, wa->bind, WEBAUTH_BIND_HEX) != 0)
        return rz_fail(err, RZ_E_AUTH,
                       "this sign-in was made on another Rozgar node (%.8s), not this one "
                       "(%.8s); sign in here",
                       cookie, wa->bind);
    return 0;
}

/* ---- open / close ---- */

static const char webauth_schema[] =
    "CREATE TABLE IF NOT EXISTS webauth_account("
    " username TEXT PRIMARY KEY, role TEXT NOT NULL, pwhash TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, changed_ms INTEGER NOT NULL,"
    " disabled INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS webauth_session("
    " hash BLOB PRIMARY KEY, username TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS webauth_session_user ON webauth_session(username);"
    "CREATE TABLE IF NOT EXISTS webauth_attempt("
    " scope INTEGER NOT NULL, key TEXT NOT NULL, window_ms INTEGER NOT NULL,"
    " failures INTEGER NOT NULL, PRIMARY KEY(scope, key));";

int
webauth_open(webauth **out, const char *db_path, const webauth_config *cfg, rz_error *err)
{
    webauth *wa;
    size_t i;
    int rc;

    *out = NULL;
    if (!cfg || !cfg->roles || !cfg->roles[0])
        return rz_fail(err, RZ_E_ARG, "webauth: no roles given");
    if (!cfg->bind || strlen(cfg->bind) < WEBAUTH_BIND_HEX ||
        strspn(cfg->bind, "0123456789abcdefABCDEF") < WEBAUTH_BIND_HEX)
        return rz_fail(err, RZ_E_ARG, "webauth: the binding must be at least %d hex digits",
                       WEBAUTH_BIND_HEX);
    if (sodium_init() < 0)
        return rz_fail(err, RZ_E_INTERNAL, "libsodium failed to initialise");
    wa = xcalloc(1, sizeof *wa);
    pthread_mutex_init(&wa->mu, NULL);
    wa->cfg = *cfg;
    wa->cfg.roles = NULL; /* copied below; the caller's array need not outlive us */
    wa->cfg.bind = NULL;
    for (i = 0; cfg->roles[i]; i++) {
        if (i == WEBAUTH_ROLES_MAX || !cfg->roles[i][0] ||
            strlen(cfg->roles[i]) > WEBAUTH_ROLE_MAX) {
            rc = rz_fail(err, RZ_E_ARG, "webauth: at most %d roles of 1..%d bytes",
                         WEBAUTH_ROLES_MAX, WEBAUTH_ROLE_MAX);
            goto fail;
        }
        snprintf(wa->roles[i], sizeof wa->roles[i], "%s", cfg->roles[i]);
    }
    wa->nroles = (int)i;
    wa->bind = xstrdup(cfg->bind);
    for (i = 0; wa->bind[i]; i++)
        wa->bind[i] = (char)tolower((unsigned char)wa->bind[i]);
    if (!wa->cfg.idle_ms)
        wa->cfg.idle_ms = WEBAUTH_DEFAULT_IDLE_MS;
    if (!wa->cfg.absolute_ms)
        wa->cfg.absolute_ms = WEBAUTH_DEFAULT_ABS_MS;
    if (wa->cfg.max_fail_user <= 0)
        wa->cfg.max_fail_user = 5;
    if (wa->cfg.max_fail_addr <= 0)
        wa->cfg.max_fail_addr = 20;
    if (!wa->cfg.window_ms)
        wa->cfg.window_ms = WEBAUTH_DEFAULT_WINDOW_MS;
    if (!wa->cfg.opslimit)
        wa->cfg.opslimit = WEBAUTH_OPSLIMIT;
    if (!wa->cfg.memlimit)
        wa->cfg.memlimit = WEBAUTH_MEMLIMIT;
    if ((rc = rz_db_open(&wa->db, db_path, DB_READWRITE, err)) != 0 ||
        (rc = rz_db_exec(wa->db, webauth_schema, err)) != 0)
        goto fail;
    for (i = 0; i < ST_N; i++)
        if ((rc = rz_db_prepare(wa->db, &wa->st[i], webauth_sql[i], err)) != 0)
            goto fail;
    *out = wa;
    return 0;
fail:
    webauth_destroy(&wa);
    return rc;
}

void
webauth_destroy(webauth **pwa)
{
    webauth *wa = pwa ? *pwa : NULL;
    size_t i;
    if (!wa)
        return;
    for (i = 0; i < ST_N; i++)
        sqlite3_finalize(wa->st[i]);
    rz_db_close(&wa->db);
    pthread_mutex_destroy(&wa->mu);
    free(wa->bind);
    free(wa);
    *pwa = NULL;
}

/* ---- accounts ---- */

static int
webauth_check_new(const webauth *wa, const char *role, const char *password, rz_error *err)
{
    const char *why = webauth_password_problem(password);
    if (role && webauth_role_index(wa, role) < 0)
        return rz_fail(err, RZ_E_ARG, "unknown role '%.16s'", role);
    if (why)
        return rz_fail(err, RZ_E_ARG, "%s", why);
    return 0;
}

int
webauth_account_add(webauth *wa, const char *user, const char *role, const char *password,
                    rz_error *err)
{
    char name[WEBAUTH_USER_MAX + 1], hash[crypto_pwhash_STRBYTES];
    sqlite3_stmt *st;
    int rc;
    if (webauth_user_norm(name, user) != 0)
        return rz_fail(err, RZ_E_ARG,
                       "a username has 1 to %d letters, digits, '.', '_' or '-' (no spaces)",
                       WEBAUTH_USER_MAX);
    if (!role)
        return rz_fail(err, RZ_E_ARG, "no role given");
    if ((rc = webauth_check_new(wa, role, password, err)) != 0 ||
        (rc = webauth_hash(wa, hash, password, err)) != 0)
        return rc;
    pthread_mutex_lock(&wa->mu);
    st = webauth_stmt(wa, ST_ACC_ADD);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL) * 1000);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT)
        rc = rz_fail(err, RZ_E_EXISTS, "there is already an account named %s", name);
    else if (rc != SQLITE_DONE)
        rc = rz_db_fail(wa->db, err, "add account");
    else
        rc = 0;
    pthread_mutex_unlock(&wa->mu);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

/* Ends every session of account name (its password changed or it was
 * disabled).  Called with the mutex held, inside a transaction. */
static int
webauth_sessions_end(webauth *wa, const char *name, rz_error *err)
{
    sqlite3_stmt *st = webauth_stmt(wa, ST_SES_DEL_USER);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    return rz_db_step_done(wa->db, st, err);
}

int
webauth_account_passwd(webauth *wa, const char *user, const char *password, rz_error *err)
{
    char name[WEBAUTH_USER_MAX + 1], hash[crypto_pwhash_STRBYTES];
    sqlite3_stmt *st;
    int rc;
    if (webauth_user_norm(name, user) != 0)
        return rz_fail(err, RZ_E_NOTFOUND, "no such account");
    if ((rc = webauth_check_new(wa, NULL, password, err)) != 0 ||
        (rc = webauth_hash(wa, hash, password, err)) != 0)
        return rc;
    pthread_mutex_lock(&wa->mu);
    if ((rc = rz_db_begin(wa->db, err)) != 0)
        goto out;
    st = webauth_stmt(wa, ST_ACC_PASS);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL) * 1000);
    if ((rc = rz_db_step_done(wa->db, st, err)) != 0)
        goto rollback;
    if (sqlite3_changes(wa->db) == 0) {
        rc = rz_fail(err, RZ_E_NOTFOUND, "no account named %s", name);
        goto rollback;
    }
    if ((rc = webauth_sessions_end(wa, name, err)) != 0)
        goto rollback;
    st = webauth_stmt(wa, ST_ATT_DEL);
    sqlite3_bind_int(st, 1, WEBAUTH_SCOPE_USER);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if ((rc = rz_db_step_done(wa->db, st, err)) != 0)
        goto rollback;
    rc = rz_db_commit(wa->db, err);
    if (rc == 0)
        goto out;
rollback:
    rz_db_rollback(wa->db);
out:
    pthread_mutex_unlock(&wa->mu);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

static int
webauth_admins_locked(webauth *wa, int *n, rz_error *err)
{
    sqlite3_stmt *st = webauth_stmt(wa, ST_ADMINS);
    int rc;
    sqlite3_bind_text(st, 1, wa->roles[0], -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rz_db_fail(wa->db, err, "count administrators");
}

int
webauth_admin_count(webauth *wa, int *n, rz_error *err)
{
    int rc;
    pthread_mutex_lock(&wa->mu);
    rc = webauth_admins_locked(wa, n, err);
    pthread_mutex_unlock(&wa->mu);
    return rc;
}

int
webauth_account_disable(webauth *wa, const char *user, int disabled, rz_error *err)
{
    char name[WEBAUTH_USER_MAX + 1];
    sqlite3_stmt *st;
    int rc, admins = 0, is_admin = 0, was_disabled = 0;
    if (webauth_user_norm(name, user) != 0)
        return rz_fail(err, RZ_E_NOTFOUND, "no such account");
    pthread_mutex_lock(&wa->mu);
    if ((rc = rz_db_begin(wa->db, err)) != 0)
        goto out;
    st = webauth_stmt(wa, ST_ACC_GET);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
        sqlite3_reset(st);
        rc = rc == SQLITE_DONE ? rz_fail(err, RZ_E_NOTFOUND, "no account named %s", name)
                               : rz_db_fail(wa->db, err, "read account");
        goto rollback;
    }
    is_admin = strcmp((const char *)sqlite3_column_text(st, 0), wa->roles[0]) == 0;
    was_disabled = sqlite3_column_int(st, 2);
    sqlite3_reset(st);
    if (disabled && is_admin && !was_disabled) {
        if ((rc = webauth_admins_locked(wa, &admins, err)) != 0)
            goto rollback;
        if (admins <= 1) {
            rc = rz_fail(err, RZ_E_ARG, "%s is the last administrator; add another first", name);
            goto rollback;
        }
    }
    st = webauth_stmt(wa, ST_ACC_DISABLE);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, disabled ? 1 : 0);
    if ((rc = rz_db_step_done(wa->db, st, err)) != 0)
        goto rollback;
    if (disabled) {
        if ((rc = webauth_sessions_end(wa, name, err)) != 0)
            goto rollback;
    }
    if ((rc = rz_db_commit(wa->db, err)) == 0)
        goto out;
rollback:
    rz_db_rollback(wa->db);
out:
    pthread_mutex_unlock(&wa->mu);
    return rc;
}

_Static_assert(crypto_pwhash_STRBYTES <= WEBAUTH_PWHASH_MAX, "password hash buffer");

int
webauth_account_pwhash(webauth *wa, const char *user, char role[WEBAUTH_ROLE_MAX + 1],
                       char hash[WEBAUTH_PWHASH_MAX], rz_error *err)
{
    char name[WEBAUTH_USER_MAX + 1];
    sqlite3_stmt *st;
    int rc;
    if (webauth_user_norm(name, user) != 0)
        return rz_fail(err, RZ_E_NOTFOUND, "no such account");
    pthread_mutex_lock(&wa->mu);
    st = webauth_stmt(wa, ST_ACC_GET);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_bytes(st, 1) < WEBAUTH_PWHASH_MAX &&
        sqlite3_column_bytes(st, 0) <= WEBAUTH_ROLE_MAX) {
        snprintf(role, WEBAUTH_ROLE_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(hash, WEBAUTH_PWHASH_MAX, "%s", (const char *)sqlite3_column_text(st, 1));
        rc = 0;
    } else if (rc == SQLITE_ROW) {
        rc = rz_fail(err, RZ_E_INTERNAL, "account %s: stored hash or role too long", name);
    } else {
        rc = rc == SQLITE_DONE ? rz_fail(err, RZ_E_NOTFOUND, "no account named %s", name)
                               : rz_db_fail(wa->db, err, "read account");
    }
    sqlite3_reset(st);
    pthread_mutex_unlock(&wa->mu);
    return rc;
}

/* 1 when h is an Argon2id string libsodium can verify against. */
static int
webauth_pwhash_valid(const char *h)
{
    size_t i, n = h ? strlen(h) : 0;
    if (n == 0 || n >= WEBAUTH_PWHASH_MAX || strncmp(h, "$argon2id$", 10) != 0)
        return 0;
    for (i = 0; i < n; i++)
        if (h[i] <= ' ' || h[i] > '~')
            return 0;
    return crypto_pwhash_str_needs_rehash(h, WEBAUTH_OPSLIMIT, WEBAUTH_MEMLIMIT) != -1;
}

int
webauth_account_restore(webauth *wa, const char *user, const char *role, const char *pwhash,
                        int *changed, rz_error *err)
{
    char name[WEBAUTH_USER_MAX + 1];
    sqlite3_stmt *st;
    int rc, found, same;
    if (changed)
        *changed = 0;
    if (webauth_user_norm(name, user) != 0)
        return rz_fail(err, RZ_E_ARG, "not a username");
    if (role && webauth_role_index(wa, role) < 0)
        return rz_fail(err, RZ_E_ARG, "unknown role '%.16s'", role);
    if (!webauth_pwhash_valid(pwhash))
        return rz_fail(err, RZ_E_ARG, "account %s: not an Argon2id password hash", name);
    pthread_mutex_lock(&wa->mu);
    if ((rc = rz_db_begin(wa->db, err)) != 0)
        goto out;
    st = webauth_stmt(wa, ST_ACC_GET);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    found = rc == SQLITE_ROW;
    same = found && strcmp((const char *)sqlite3_column_text(st, 1), pwhash) == 0 &&
           (!role || strcmp((const char *)sqlite3_column_text(st, 0), role) == 0);
    sqlite3_reset(st);
    if (!found && rc != SQLITE_DONE) {
        rc = rz_db_fail(wa->db, err, "read account");
        goto rollback;
    }
    if (same) {
        rc = 0;
        goto rollback; /* nothing to do */
    }
    if (!found && !role) {
        rc = rz_fail(err, RZ_E_NOTFOUND, "no account named %s", name);
        goto rollback;
    }
    if (!found) {
        st = webauth_stmt(wa, ST_ACC_ADD);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, pwhash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL) * 1000);
        if ((rc = rz_db_step_done(wa->db, st, err)) != 0)
            goto rollback;
    } else {
        st = webauth_stmt(wa, ST_ACC_PASS);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, pwhash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL) * 1000);
        if ((rc = rz_db_step_done(wa->db, st, err)) != 0)
            goto rollback;
        if (role) {
            sqlite3_stmt *rs = NULL;
            if ((rc = rz_db_prepare(wa->db, &rs,
                                    "UPDATE webauth_account SET role = ?2 WHERE username = ?1",
                                    err)) != 0)
                goto rollback;
            sqlite3_bind_text(rs, 1, name, -1, SQLITE_STATIC);
            sqlite3_bind_text(rs, 2, role, -1, SQLITE_STATIC);
            rc = rz_db_step_done(wa->db, rs, err);
            sqlite3_finalize(rs);
            if (rc != 0)
                goto rollback;
        }
        if ((rc = webauth_sessions_end(wa, name, err)) != 0)
            goto rollback;
    }
    if ((rc = rz_db_commit(wa->db, err)) == 0) {
        if (changed)
            *changed = 1;
        goto out;
    }
rollback:
    rz_db_rollback(wa->db);
out:
    pthread_mutex_unlock(&wa->mu);
    return rc;
}

int
webauth_account_each(webauth *wa, webauth_account_fn fn, void *ctx, rz_error *err)
{
    sqlite3_stmt *st;
    int rc, cb = 0;
    pthread_mutex_lock(&wa->mu);
    st = webauth_stmt(wa, ST_ACC_EACH);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        webauth_account a;
        a.user = (const char *)sqlite3_column_text(st, 0);
        a.role = (const char *)sqlite3_column_text(st, 1);
        a.disabled = sqlite3_column_int(st, 2);
        a.created_ms = (uint64_t)sqlite3_column_int64(st, 3);
        a.changed_ms = (uint64_t)sqlite3_column_int64(st, 4);
        if ((cb = fn(ctx, &a)) != 0)
            break;
    }
    if (cb)
        rc = cb;
    else if (rc == SQLITE_DONE)
        rc = 0;
    else
        rc = rz_db_fail(wa->db, err, "list accounts");
    sqlite3_reset(st);
    pthread_mutex_unlock(&wa->mu);
    return rc;
}

/* ---- rate limit ---- */

/* Milliseconds until scope/key may try again (0: now). */
static uint64_t
webauth_locked_for(webauth *wa, int scope, const char *key, int max, uint64_t now_ms)
{
    sqlite3_stmt *st = webauth_stmt(wa, ST_ATT_GET);
    uint64_t wait = 0;
    sqlite3_bind_int(st, 1, scope);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        uint64_t start = (uint64_t)sqlite3_column_int64(st, 0);
        int failures = sqlite3_column_int(st, 1);
        if (failures >= max && now_ms < start + wa->cfg.window_ms)
            wait = start + wa->cfg.window_ms - now_ms;
    }
    sqlite3_reset(st);
    return wait;
}

static int
webauth_count_failure(webauth *wa, int scope, const char *key, uint64_t now_ms, rz_error *err)
{
    sqlite3_stmt *st = webauth_stmt(wa, ST_ATT_GET);
    uint64_t start = now_ms;
    int failures = 0;
    sqlite3_bind_int(st, 1, scope);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        uint64_t s = (uint64_t)sqlite3_column_int64(st, 0);
        if (now_ms >= s && now_ms < s + wa->cfg.window_ms) {
            start = s;
            failures = sqlite3_column_int(st, 1);
        }
    }
    sqlite3_reset(st);
    st = webauth_stmt(wa, ST_ATT_SET);
    sqlite3_bind_int(st, 1, scope);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)start);
    sqlite3_bind_int(st, 4, failures + 1);
    return rz_db_step_done(wa->db, st, err);
}

/* ---- sessions ---- */

int
webauth_login(webauth *wa, const char *user, const char *password, const char *addr,
              uint64_t now_ms, webauth_session *s, rz_error *err)
{
    char name[WEBAUTH_USER_MAX + 1], stored[crypto_pwhash_STRBYTES], role[WEBAUTH_ROLE_MAX + 1];
    char a[WEBAUTH_ADDR_MAX + 1];
    uint8_t token[WEBAUTH_TOKEN_BYTES], h[WEBAUTH_HASH_BYTES];
    char tokhex[2 * WEBAUTH_TOKEN_BYTES + 1];
    sqlite3_stmt *st;
    uint64_t wait;
    int rc, known = 0, disabled = 0, good;

    memset(s, 0, sizeof *s);
    if (!password || strlen(password) > WEBAUTH_PASS_MAX)
        return rz_fail(err, RZ_E_ARG, "the password is too long");
    snprintf(a, sizeof a, "%s", addr && addr[0] ? addr : "unknown");
    if (webauth_user_norm(name, user) != 0)
        snprintf(name, sizeof name, "-"); /* still counted against the address */

    pthread_mutex_lock(&wa->mu);
    wait = webauth_locked_for(wa, WEBAUTH_SCOPE_ADDR, a, wa->cfg.max_fail_addr, now_ms);
    if (!wait)
        wait = webauth_locked_for(wa, WEBAUTH_SCOPE_USER, name, wa->cfg.max_fail_user, now_ms);
    if (wait) {
        rc = rz_fail(err, RZ_E_BUSY,
                     "too many wrong passwords; wait %llu minute%s and try again, or ask an "
                     "administrator to reset the password",
                     (unsigned long long)(wait + 59999) / 60000,
                     (wait + 59999) / 60000 == 1 ? "" : "s");
        goto out;
    }
    st = webauth_stmt(wa, ST_ACC_GET);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        known = 1;
        snprintf(role, sizeof role, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(stored, sizeof stored, "%s", (const char *)sqlite3_column_text(st, 1));
        disabled = sqlite3_column_int(st, 2);
    } else if (rc != SQLITE_DONE) {
        sqlite3_reset(st);
        rc = rz_db_fail(wa->db, err, "read account");
        goto out;
    }
    sqlite3_reset(st);
    if (!known) {
        /* Spend the same time on an unknown name as on a wrong password. */
        if (!wa->dummy[0] && webauth_hash(wa, wa->dummy, "not-a-password", err) != 0) {
            rc = RZ_E_NOMEM;
            goto out;
        }
        snprintf(stored, sizeof stored, "%s", wa->dummy);
    }
    good = crypto_pwhash_str_verify(stored, password, strlen(password)) == 0;
    if (!good || !known || disabled) {
        if ((rc = webauth_count_failure(wa, WEBAUTH_SCOPE_ADDR, a, now_ms, err)) != 0 ||
            (known && (rc = webauth_count_failure(wa, WEBAUTH_SCOPE_USER, name, now_ms, err))))
            goto out;
        rc = rz_fail(err, RZ_E_AUTH, "wrong username or password");
        if (known && good && disabled)
            log_info("webauth: sign-in refused for disabled account %s", name);
        goto out;
    }
    /* Signed in: the account's failures are forgiven, the address's stay. */
    st = webauth_stmt(wa, ST_ATT_DEL);
    sqlite3_bind_int(st, 1, WEBAUTH_SCOPE_USER);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if ((rc = rz_db_step_done(wa->db, st, err)) != 0)
        goto out;
    if (crypto_pwhash_str_needs_rehash(stored, wa->cfg.opslimit, wa->cfg.memlimit) == 1) {
        char fresh[crypto_pwhash_STRBYTES];
        if (webauth_hash(wa, fresh, password, NULL) == 0) {
            st = webauth_stmt(wa, ST_ACC_PASS);
            sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, fresh, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ms);
            if (rz_db_step_done(wa->db, st, NULL) != 0)
                log_debug("webauth: rehash of %s not stored", name); /* old hash still works */
        }
        sodium_memzero(fresh, sizeof fresh);
    }
    randombytes_buf(token, sizeof token);
    webauth_token_hash(wa, h, token);
    st = webauth_stmt(wa, ST_SES_ADD);
    sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ms);
    if ((rc = rz_db_step_done(wa->db, st, err)) != 0)
        goto out;
    snprintf(s->user, sizeof s->user, "%s", name);
    snprintf(s->role, sizeof s->role, "%s", role);
    s->is_admin = strcmp(role, wa->roles[0]) == 0;
    webauth_csrf_of(s->csrf, token);
    s->created_ms = now_ms;
    s->expires_ms =
        now_ms + (wa->cfg.idle_ms < wa->cfg.absolute_ms ? wa->cfg.idle_ms : wa->cfg.absolute_ms);
    hex_encode(tokhex, token, sizeof token);
    snprintf(s->cookie, sizeof s->cookie, "%.8s.%s", wa->bind, tokhex);
    log_info("webauth: %s signed in", name);
    rc = 0;
out:
    pthread_mutex_unlock(&wa->mu);
    sodium_memzero(stored, sizeof stored);
    sodium_memzero(token, sizeof token);
    sodium_memzero(tokhex, sizeof tokhex);
    return rc;
}

int
webauth_check(webauth *wa, const char *cookie, uint64_t now_ms, webauth_session *s, rz_error *err)
{
    uint8_t token[WEBAUTH_TOKEN_BYTES], h[WEBAUTH_HASH_BYTES];
    sqlite3_stmt *st;
    uint64_t created, last, end_idle, end_abs;
    int rc, disabled;

    memset(s, 0, sizeof *s);
    if ((rc = webauth_cookie_parse(wa, cookie, token, err)) != 0)
        return rc;
    webauth_token_hash(wa, h, token);
    pthread_mutex_lock(&wa->mu);
    st = webauth_stmt(wa, ST_SES_GET);
    sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
        sqlite3_reset(st);
        rc = rc == SQLITE_DONE ? rz_fail(err, RZ_E_AUTH,
                                         "your session has ended (signed out, or the password "
                                         "changed); sign in again")
                               : rz_db_fail(wa->db, err, "read session");
        goto out;
    }
    snprintf(s->user, sizeof s->user, "%s", (const char *)sqlite3_column_text(st, 0));
    created = (uint64_t)sqlite3_column_int64(st, 1);
    last = (uint64_t)sqlite3_column_int64(st, 2);
    snprintf(s->role, sizeof s->role, "%s", (const char *)sqlite3_column_text(st, 3));
    disabled = sqlite3_column_int(st, 4);
    sqlite3_reset(st);
    end_idle = last + wa->cfg.idle_ms;
    end_abs = created + wa->cfg.absolute_ms;
    if (disabled || now_ms >= end_idle || now_ms >= end_abs) {
        st = webauth_stmt(wa, ST_SES_DEL);
        sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_STATIC);
        if (rz_db_step_done(wa->db, st, NULL) != 0)
            log_debug("webauth: ended session of %s not deleted", s->user);
        rc = rz_fail(err, RZ_E_AUTH, "%s",
                     disabled ? "this account is disabled; ask an administrator"
                     : now_ms >= end_abs
                         ? "your session has ended (signed in too long ago); sign in again"
                         : "your session has ended (unused too long); sign in again");
        memset(s, 0, sizeof *s);
        goto out;
    }
    if (now_ms > last) {
        st = webauth_stmt(wa, ST_SES_TOUCH);
        sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)now_ms);
        if ((rc = rz_db_step_done(wa->db, st, err)) != 0) {
            memset(s, 0, sizeof *s);
            goto out;
        }
        last = now_ms;
    }
    s->is_admin = strcmp(s->role, wa->roles[0]) == 0;
    webauth_csrf_of(s->csrf, token);
    s->created_ms = created;
    end_idle = last + wa->cfg.idle_ms;
    s->expires_ms = end_idle < end_abs ? end_idle : end_abs;
    rc = 0;
out:
    pthread_mutex_unlock(&wa->mu);
    sodium_memzero(token, sizeof token);
    return rc;
}

int
webauth_logout(webauth *wa, const char *cookie, rz_error *err)
{
    uint8_t token[WEBAUTH_TOKEN_BYTES], h[WEBAUTH_HASH_BYTES];
    sqlite3_stmt *st;
    int rc;
    if (webauth_cookie_parse(wa, cookie, token, NULL) != 0)
        return 0;
    webauth_token_hash(wa, h, token);
    sodium_memzero(token, sizeof token);
    pthread_mutex_lock(&wa->mu);
    st = webauth_stmt(wa, ST_SES_DEL);
    sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_STATIC);
    rc = rz_db_step_done(wa->db, st, err);
    pthread_mutex_unlock(&wa->mu);
    return rc;
}

int
webauth_expire(webauth *wa, uint64_t now_ms, rz_error *err)
{
    sqlite3_stmt *st;
    int rc;
    pthread_mutex_lock(&wa->mu);
    st = webauth_stmt(wa, ST_SES_EXPIRE);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(now_ms - wa->cfg.idle_ms));
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(now_ms - wa->cfg.absolute_ms));
    rc = rz_db_step_done(wa->db, st, err);
    pthread_mutex_unlock(&wa->mu);
    return rc;
}

/* ---- request checks ---- */

int
webauth_csrf_ok(const webauth_session *s, const char *form_token)
{
    if (!s || !form_token || !s->csrf[0] || strlen(form_token) != WEBAUTH_CSRF_CHARS)
        return 0;
    return sodium_memcmp(s->csrf, form_token, WEBAUTH_CSRF_CHARS) == 0;
}

int
webauth_host_ok(const char *host, const char *const *allowed)
{
    if (!host || !host[0] || !allowed)
        return 0;
    for (; *allowed; allowed++)
        if (strcasecmp(host, *allowed) == 0)
            return 1;
    return 0;
}

int
webauth_origin_ok(const char *origin, const char *referer, const char *scheme, const char *host)
{
    size_t ls, lh;
    if (!scheme || !host || !host[0])
        return 0;
    ls = strlen(scheme);
    lh = strlen(host);
    if (origin && origin[0]) {
        return strncasecmp(origin, scheme, ls) == 0 && strncmp(origin + ls, "://", 3) == 0 &&
               strcasecmp(origin + ls + 3, host) == 0;
    }
    if (referer && referer[0])
        return strncasecmp(referer, scheme, ls) == 0 && strncmp(referer + ls, "://", 3) == 0 &&
               strncasecmp(referer + ls + 3, host, lh) == 0 && referer[ls + 3 + lh] == '/';
    return 0;
}

void
webauth_set_cookie(char *out, size_t len, const char *v, int secure)
{
    snprintf(out, len, WEBAUTH_COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict%s%s", v ? v : "",
             v && v[0] ? "" : "; Max-Age=0", secure ? "; Secure" : "");
}
