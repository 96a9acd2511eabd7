/*
 * test_webauth: common/webauth on a real SQLite file in a temporary
 * directory.  Accounts (Argon2id hashes, no clear text stored, bad names,
 * roles and passwords refused in plain words), sign-in with right and wrong
 * passwords (one message for a wrong name and a wrong password), idle and
 * absolute expiry, the per-account and per-address rate limits (even the
 * right password is refused while locked; a password reset lifts it),
 * logout, disabling (never the last administrator), a cookie made by
 * another node, CSRF tokens, Host and Origin/Referer checks, cookie flags.
 * Times are passed in, so nothing sleeps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/webauth.h"

#define MIN_MS (60ull * 1000)
#define T0 1780000000000ull /* some time in 2026 */

static const char *const roles[] = {"admin", "staff", NULL};
static const char BIND[] = "0123456789abcdef0123456789abcdef";

typedef struct fx {
    char dir[64]; /* temporary directory */
    char db[96];  /* database file */
    webauth *wa;  /* under test */
} fx;

static webauth_config
cfg_of(const char *bind)
{
    webauth_config c;
    memset(&c, 0, sizeof c);
    c.roles = roles;
    c.bind = bind;
    c.idle_ms = 30 * MIN_MS;
    c.absolute_ms = 12 * 60 * MIN_MS;
    c.opslimit = crypto_pwhash_OPSLIMIT_MIN; /* fast hashing for tests */
    c.memlimit = crypto_pwhash_MEMLIMIT_MIN;
    return c;
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    webauth_config c = cfg_of(BIND);
    rz_error err = {0, ""};
    snprintf(f->dir, sizeof f->dir, "/tmp/rz-webauth.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/node.db", f->dir);
    assert_int_equal(webauth_open(&f->wa, f->db, &c, &err), 0);
    assert_int_equal(webauth_account_add(f->wa, "Admin", "admin", "correct horse", &err), 0);
    assert_int_equal(webauth_account_add(f->wa, "sana", "staff", "battery staple", &err), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    char cmd[128];
    webauth_destroy(&f->wa);
    assert_null(f->wa);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* The stored hash column of user, "" when none. */
static void
stored_hash(const fx *f, const char *user, char *out, size_t len)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    out[0] = '\0';
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT pwhash FROM webauth_account WHERE username=?", -1, &st, 0),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int
count_rows(const fx *f, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int n = -1;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, 0), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void
test_hashing(void **state)
{
    fx *f = *state;
    char h[256];
    rz_error err = {0, ""};
    int n = -1;
    /* Names are kept lower-case; the hash is Argon2id, never the text. */
    stored_hash(f, "admin", h, sizeof h);
    assert_true(strncmp(h, "$argon2id$", 10) == 0);
    assert_null(strstr(h, "correct horse"));
    assert_int_equal(crypto_pwhash_str_verify(h, "correct horse", 13), 0);
    /* Two accounts with the same password get different hashes (salt). */
    assert_int_equal(webauth_account_add(f->wa, "twin", "staff", "correct horse", &err), 0);
    {
        char h2[256];
        stored_hash(f, "twin", h2, sizeof h2);
        assert_string_not_equal(h, h2);
    }
    assert_int_equal(webauth_account_add(f->wa, "ADMIN", "staff", "whatever123", &err),
                     RZ_E_EXISTS);
    assert_int_equal(webauth_account_add(f->wa, "bad name", "staff", "whatever123", &err),
                     RZ_E_ARG);
    assert_non_null(strstr(err.text, "no spaces"));
    assert_int_equal(webauth_account_add(f->wa, "bob", "analyst", "whatever123", &err), RZ_E_ARG);
    assert_non_null(strstr(err.text, "unknown role"));
    assert_int_equal(webauth_account_add(f->wa, "bob", "staff", "short", &err), RZ_E_ARG);
    assert_non_null(strstr(err.text, "at least 8"));
    assert_int_equal(webauth_admin_count(f->wa, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_true(webauth_user_valid("sana.k_2-x"));
    assert_false(webauth_user_valid("-sana"));
    assert_false(webauth_user_valid("سعدیہ"));
    assert_false(webauth_user_valid("a\nb"));
}

static void
test_login_and_wrong_password(void **state)
{
    fx *f = *state;
    webauth_session s, c;
    rz_error err = {0, ""}, err2 = {0, ""};
    assert_int_equal(webauth_login(f->wa, "ADMIN", "correct horse", "10.0.0.5", T0, &s, &err), 0);
    assert_string_equal(s.user, "admin");
    assert_string_equal(s.role, "admin");
    assert_true(s.is_admin);
    assert_int_equal(strlen(s.cookie), WEBAUTH_BIND_HEX + 1 + 2 * WEBAUTH_TOKEN_BYTES);
    assert_true(strncmp(s.cookie, BIND, WEBAUTH_BIND_HEX) == 0);
    /* The token is not stored; its hash is. */
    assert_int_equal(count_rows(f, "SELECT count(*) FROM webauth_session"), 1);
    assert_int_equal(webauth_check(f->wa, s.cookie, T0 + MIN_MS, &c, &err), 0);
    assert_string_equal(c.user, "admin");
    assert_true(c.is_admin);
    assert_string_equal(c.csrf, s.csrf);
    assert_string_equal(c.cookie, "");

    assert_int_equal(webauth_login(f->wa, "admin", "Correct horse", "10.0.0.5", T0, &s, &err),
                     RZ_E_AUTH);
    assert_int_equal(webauth_login(f->wa, "nobody", "correct horse", "10.0.0.5", T0, &s, &err2),
                     RZ_E_AUTH);
    assert_string_equal(err.text, err2.text); /* names cannot be probed */
    assert_string_equal(s.cookie, "");
    /* Staff is not admin. */
    assert_int_equal(webauth_login(f->wa, "sana", "battery staple", "10.0.0.6", T0, &s, &err), 0);
    assert_false(s.is_admin);
    assert_string_equal(s.role, "staff");
    /* Over-long input refused before any hashing. */
    {
        char big[WEBAUTH_PASS_MAX + 10];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        assert_int_equal(webauth_login(f->wa, "sana", big, "10.0.0.6", T0, &s, &err), RZ_E_ARG);
    }
    /* Logout ends it. */
    assert_int_equal(webauth_login(f->wa, "sana", "battery staple", "10.0.0.6", T0, &s, &err), 0);
    assert_int_equal(webauth_logout(f->wa, s.cookie, &err), 0);
    assert_int_equal(webauth_check(f->wa, s.cookie, T0, &c, &err), RZ_E_AUTH);
    assert_non_null(strstr(err.text, "ended"));
    assert_int_equal(webauth_check(f->wa, "", T0, &c, &err), RZ_E_AUTH);
    assert_int_equal(webauth_check(f->wa, "garbage", T0, &c, &err), RZ_E_AUTH);
    assert_non_null(strstr(err.text, "malformed"));
}

static void
test_expiry(void **state)
{
    fx *f = *state;
    webauth_session s, c;
    rz_error err = {0, ""};
    uint64_t t;
    /* Idle: used at 29 min keeps it; 30 min after the last use ends it. */
    assert_int_equal(webauth_login(f->wa, "sana", "battery staple", "a", T0, &s, &err), 0);
    assert_int_equal(webauth_check(f->wa, s.cookie, T0 + 29 * MIN_MS, &c, &err), 0);
    assert_int_equal(webauth_check(f->wa, s.cookie, T0 + 58 * MIN_MS, &c, &err), 0);
    assert_int_equal(webauth_check(f->wa, s.cookie, T0 + 88 * MIN_MS, &c, &err), RZ_E_AUTH);
    assert_non_null(strstr(err.text, "unused too long"));
    /* and it stays ended (deleted), even "back in time". */
    assert_int_equal(webauth_check(f->wa, s.cookie, T0 + 60 * MIN_MS, &c, &err), RZ_E_AUTH);
    /* Absolute: kept busy every 20 minutes, it still ends after 12 h. */
    assert_int_equal(webauth_login(f->wa, "sana", "battery staple", "a", T0, &s, &err), 0);
    for (t = T0 + 20 * MIN_MS; t < T0 + 12 * 60 * MIN_MS; t += 20 * MIN_MS) {
        assert_int_equal(webauth_check(f->wa, s.cookie, t, &c, &err), 0);
        assert_true(c.expires_ms <= T0 + 12 * 60 * MIN_MS);
    }
    assert_int_equal(webauth_check(f->wa, s.cookie, T0 + 12 * 60 * MIN_MS, &c, &err), RZ_E_AUTH);
    assert_non_null(strstr(err.text, "too long ago"));
    /* Housekeeping removes ended sessions. */
    assert_int_equal(webauth_login(f->wa, "sana", "battery staple", "a", T0, &s, &err), 0);
    assert_int_equal(webauth_expire(f->wa, T0 + 31 * MIN_MS, &err), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM webauth_session"), 0);
}

static void
test_rate_limit(void **state)
{
    fx *f = *state;
    webauth_session s;
    rz_error err = {0, ""};
    char addr[32];
    int i;
    /* Per account: 5 failures, then even the right password waits. */
    for (i = 0; i < 5; i++)
        assert_int_equal(
            webauth_login(f->wa, "sana", "guess", "10.0.0.7", T0 + (uint64_t)i, &s, &err),
            RZ_E_AUTH);
    assert_int_equal(webauth_login(f->wa, "sana", "battery staple", "10.0.0.8", T0 + 10, &s, &err),
                     RZ_E_BUSY);
    assert_non_null(strstr(err.text, "wait 15 minutes"));
    /* Another account from the same address is not locked by it. */
    assert_int_equal(webauth_login(f->wa, "admin", "correct horse", "10.0.0.7", T0 + 11, &s, &err),
                     0);
    /* After the window it may try again. */
    assert_int_equal(
        webauth_login(f->wa, "sana", "battery staple", "10.0.0.8", T0 + 15 * MIN_MS, &s, &err), 0);
    /* A password reset lifts a lock at once. */
    for (i = 0; i < 5; i++)
        assert_int_equal(
            webauth_login(f->wa, "sana", "guess", "10.0.0.9", T0 + 20 * MIN_MS, &s, &err),
            RZ_E_AUTH);
    assert_int_equal(
        webauth_login(f->wa, "sana", "battery staple", "10.0.0.9", T0 + 21 * MIN_MS, &s, &err),
        RZ_E_BUSY);
    assert_int_equal(webauth_account_passwd(f->wa, "sana", "new password 1", &err), 0);
    assert_int_equal(
        webauth_login(f->wa, "sana", "new password 1", "10.0.0.10", T0 + 21 * MIN_MS, &s, &err), 0);
    /* Per address: 20 failures over many (unknown) names lock the address,
     * even for a right password, but not other addresses. */
    for (i = 0; i < 20; i++) {
        snprintf(addr, sizeof addr, "user%d", i);
        assert_int_equal(
            webauth_login(f->wa, addr, "guess", "10.9.9.9", T0 + 30 * MIN_MS, &s, &err), RZ_E_AUTH);
    }
    assert_int_equal(
        webauth_login(f->wa, "admin", "correct horse", "10.9.9.9", T0 + 31 * MIN_MS, &s, &err),
        RZ_E_BUSY);
    assert_int_equal(
        webauth_login(f->wa, "admin", "correct horse", "10.9.9.8", T0 + 31 * MIN_MS, &s, &err), 0);
}

static void
test_password_change_and_disable(void **state)
{
    fx *f = *state;
    webauth_session s, c;
    rz_error err = {0, ""};
    assert_int_equal(webauth_login(f->wa, "sana", "battery staple", "a", T0, &s, &err), 0);
    assert_int_equal(webauth_account_passwd(f->wa, "sana", "short", &err), RZ_E_ARG);
    assert_int_equal(webauth_account_passwd(f->wa, "nobody", "long enough", &err), RZ_E_NOTFOUND);
    assert_int_equal(webauth_check(f->wa, s.cookie, T0, &c, &err), 0); /* unchanged so far */
    assert_int_equal(webauth_account_passwd(f->wa, "sana", "another one!", &err), 0);
    assert_int_equal(webauth_check(f->wa, s.cookie, T0, &c, &err), RZ_E_AUTH);
    assert_int_equal(webauth_login(f->wa, "sana", "battery staple", "a", T0, &s, &err), RZ_E_AUTH);
    assert_int_equal(webauth_login(f->wa, "sana", "another one!", "a", T0, &s, &err), 0);
    /* Disable ends the session and refuses sign-in; enable restores it. */
    assert_int_equal(webauth_account_disable(f->wa, "sana", 1, &err), 0);
    assert_int_equal(webauth_check(f->wa, s.cookie, T0, &c, &err), RZ_E_AUTH);
    assert_int_equal(webauth_login(f->wa, "sana", "another one!", "b", T0, &s, &err), RZ_E_AUTH);
    assert_int_equal(webauth_account_disable(f->wa, "sana", 0, &err), 0);
    assert_int_equal(webauth_login(f->wa, "sana", "another one!", "b", T0, &s, &err), 0);
    /* The last administrator cannot be disabled. */
    assert_int_equal(webauth_account_disable(f->wa, "admin", 1, &err), RZ_E_ARG);
    assert_non_null(strstr(err.text, "last administrator"));
}

/* The hash of a password change, journaled and put back after a restore
 * (server/journal.h): the password it was made from signs in again, the
 * sessions of the replaced one end, a malformed hash is refused. */
static void
test_pwhash_restore(void **state)
{
    fx *f = *state;
    webauth_session s, c;
    rz_error err = {0, ""};
    char role[WEBAUTH_ROLE_MAX + 1], old[WEBAUTH_PWHASH_MAX], changed_hash[WEBAUTH_PWHASH_MAX];
    int changed = -1;
    assert_int_equal(webauth_account_pwhash(f->wa, "sana", role, old, &err), 0);
    assert_string_equal(role, "staff");
    assert_int_equal(webauth_account_passwd(f->wa, "sana", "changed later", &err), 0);
    assert_int_equal(webauth_account_pwhash(f->wa, "SANA", role, changed_hash, &err), 0);
    assert_string_not_equal(old, changed_hash);
    /* Back to the old hash (a restored backup), then the journaled one. */
    assert_int_equal(webauth_account_restore(f->wa, "sana", NULL, old, &changed, &err), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(webauth_login(f->wa, "sana", "battery staple", "a", T0, &s, &err), 0);
    assert_int_equal(webauth_account_restore(f->wa, "sana", NULL, changed_hash, &changed, &err), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(webauth_check(f->wa, s.cookie, T0, &c, &err), RZ_E_AUTH);
    assert_int_equal(webauth_login(f->wa, "sana", "battery staple", "a", T0, &s, &err), RZ_E_AUTH);
    assert_int_equal(webauth_login(f->wa, "sana", "changed later", "a", T0, &s, &err), 0);
    /* Again: nothing changes. */
    assert_int_equal(webauth_account_restore(f->wa, "sana", NULL, changed_hash, &changed, &err), 0);
    assert_int_equal(changed, 0);
    /* A missing account is made with its role, or refused without one. */
    assert_int_equal(webauth_account_restore(f->wa, "newbie", NULL, old, &changed, &err),
                     RZ_E_NOTFOUND);
    assert_int_equal(webauth_account_restore(f->wa, "newbie", "staff", old, &changed, &err), 0);
    assert_int_equal(webauth_login(f->wa, "newbie", "battery staple", "b", T0, &s, &err), 0);
    assert_int_equal(webauth_account_restore(f->wa, "newbie", "boss", old, &changed, &err),
                     RZ_E_ARG);
    assert_int_equal(webauth_account_restore(f->wa, "sana", NULL, "battery staple", &changed, &err),
                     RZ_E_ARG);
    assert_int_equal(
        webauth_account_restore(f->wa, "sana", NULL, "$argon2id$v=19$garbage", &changed, &err),
        RZ_E_ARG);
    assert_int_equal(webauth_account_pwhash(f->wa, "nobody", role, old, &err), RZ_E_NOTFOUND);
}

static int
count_accounts(void *ctx, const webauth_account *a)
{
    int *n = ctx;
    assert_true(webauth_user_valid(a->user));
    assert_true(strcmp(a->role, "admin") == 0 || strcmp(a->role, "staff") == 0);
    (*n)++;
    return 0;
}

static void
test_account_list(void **state)
{
    fx *f = *state;
    rz_error err = {0, ""};
    int n = 0;
    assert_int_equal(webauth_account_each(f->wa, count_accounts, &n, &err), 0);
    assert_int_equal(n, 2);
}

static void
test_other_node_cookie(void **state)
{
    fx *f = *state;
    webauth *other = NULL;
    webauth_config c = cfg_of("fedcba9876543210fedcba9876543210");
    webauth_session s, chk;
    rz_error err = {0, ""};
    char forged[WEBAUTH_COOKIE_VALUE_MAX];
    /* Another node with the same accounts (even the same file). */
    assert_int_equal(webauth_open(&other, f->db, &c, &err), 0);
    assert_int_equal(webauth_login(other, "sana", "battery staple", "a", T0, &s, &err), 0);
    assert_int_equal(webauth_check(f->wa, s.cookie, T0, &chk, &err), RZ_E_AUTH);
    assert_non_null(strstr(err.text, "another Rozgar node"));
    /* Relabelled with this node's prefix, its hash still does not match. */
    snprintf(forged, sizeof forged, "%.8s%s", BIND, s.cookie + WEBAUTH_BIND_HEX);
    assert_int_equal(webauth_check(f->wa, forged, T0, &chk, &err), RZ_E_AUTH);
    assert_int_equal(webauth_check(other, s.cookie, T0, &chk, &err), 0);
    webauth_destroy(&other);
    /* Bad configurations. */
    c.bind = "xyz";
    assert_int_equal(webauth_open(&other, f->db, &c, &err), RZ_E_ARG);
    c = cfg_of(BIND);
    c.roles = NULL;
    assert_int_equal(webauth_open(&other, f->db, &c, &err), RZ_E_ARG);
}

static void
test_csrf(void **state)
{
    fx *f = *state;
    webauth_session a, b;
    rz_error err = {0, ""};
    char wrong[WEBAUTH_CSRF_CHARS + 1];
    assert_int_equal(webauth_login(f->wa, "sana", "battery staple", "a", T0, &a, &err), 0);
    assert_int_equal(webauth_login(f->wa, "admin", "correct horse", "a", T0, &b, &err), 0);
    assert_int_equal(strlen(a.csrf), WEBAUTH_CSRF_CHARS);
    assert_string_not_equal(a.csrf, b.csrf);
    assert_true(webauth_csrf_ok(&a, a.csrf));
    assert_false(webauth_csrf_ok(&a, b.csrf)); /* another session's token */
    assert_false(webauth_csrf_ok(&a, ""));
    assert_false(webauth_csrf_ok(&a, NULL));
    memcpy(wrong, a.csrf, sizeof wrong);
    wrong[5] = wrong[5] == '0' ? '1' : '0';
    assert_false(webauth_csrf_ok(&a, wrong));
    wrong[WEBAUTH_CSRF_CHARS - 1] = '\0';
    assert_false(webauth_csrf_ok(&a, wrong)); /* a prefix */
    {
        webauth_session none;
        memset(&none, 0, sizeof none);
        assert_false(webauth_csrf_ok(&none, "")); /* no session, no token */
    }
}

static void
test_host_origin_cookie(void **state)
{
    static const char *const allowed[] = {"127.0.0.1:8090", "localhost:8090", NULL};
    char c[WEBAUTH_COOKIE_MAX];
    (void)state;
    assert_true(webauth_host_ok("127.0.0.1:8090", allowed));
    assert_true(webauth_host_ok("LOCALHOST:8090", allowed));
    assert_false(webauth_host_ok("evil.example:8090", allowed)); /* DNS rebinding */
    assert_false(webauth_host_ok("127.0.0.1", allowed));
    assert_false(webauth_host_ok("", allowed));
    assert_false(webauth_host_ok(NULL, allowed));

    assert_true(webauth_origin_ok("http://127.0.0.1:8090", NULL, "http", "127.0.0.1:8090"));
    assert_false(webauth_origin_ok("https://127.0.0.1:8090", NULL, "http", "127.0.0.1:8090"));
    assert_false(webauth_origin_ok("http://evil.example", NULL, "http", "127.0.0.1:8090"));
    assert_false(webauth_origin_ok("http://127.0.0.1:8090.evil", NULL, "http", "127.0.0.1:8090"));
    assert_false(webauth_origin_ok("null", NULL, "http", "127.0.0.1:8090"));
    /* Origin wins over Referer when both are present. */
    assert_false(webauth_origin_ok("http://evil.example", "http://127.0.0.1:8090/x", "http",
                                   "127.0.0.1:8090"));
    assert_true(webauth_origin_ok(NULL, "http://127.0.0.1:8090/people", "http", "127.0.0.1:8090"));
    assert_false(
        webauth_origin_ok(NULL, "http://127.0.0.1:80901/people", "http", "127.0.0.1:8090"));
    assert_false(webauth_origin_ok(NULL, "http://127.0.0.1:8090", "http", "127.0.0.1:8090"));
    assert_false(webauth_origin_ok(NULL, NULL, "http", "127.0.0.1:8090"));
    assert_false(webauth_origin_ok("", "", "http", "127.0.0.1:8090"));

    webauth_set_cookie(c, sizeof c, "01234567.abcd", 0);
    assert_string_equal(c, "rz_session=01234567.abcd; Path=/; HttpOnly; SameSite=Strict");
    webauth_set_cookie(c, sizeof c, "01234567.abcd", 1);
    assert_non_null(strstr(c, "; Secure"));
    webauth_set_cookie(c, sizeof c, "", 1);
    assert_non_null(strstr(c, "Max-Age=0"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hashing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_and_wrong_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_change_and_disable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pwhash_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_node_cookie, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csrf, setup, teardown),
        cmocka_unit_test(test_host_origin_cookie),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
