/*
 * webauth: staff sign-in for a web app served by this project (the centre's
 * app of rozgar-node serve; later headquarters' dashboard).  Shared by node
 * and server: nothing in it knows which one it runs in.
 *
 * It keeps, in three tables of the caller's SQLite database:
 *   webauth_account  username, role (a name from the caller's role list),
 *                    password hashed with libsodium crypto_pwhash_str
 *                    (Argon2id; limits below), disabled flag;
 *   webauth_session  a keyed hash of each session token (never the token),
 *                    its account, creation and last-use time;
 *   webauth_attempt  failed sign-ins per account and per client address in
 *                    the current window (rate limit).
 *
 * Sessions: a random 32-byte token given to the browser once, in a cookie
 * value "<bind>.<token hex>", where <bind> is the first 8 hex digits of the
 * caller's binding (the node id): a session made by another node (or
 * server) is recognised and refused by name, and its hash (BLAKE2b keyed
 * with the binding) never matches here.  A session ends after WEBAUTH
 * idle_s without use or absolute_s after sign-in, when its account's
 * password changes or the account is disabled.  The CSRF token of a session
 * is derived from its token (BLAKE2b keyed with it), so it needs no storage
 * and cannot be guessed without the cookie.
 *
 * Request checks for the HTTP layer, pure functions so they are tested
 * without a server: Host header against the names the app answers to,
 * same-origin Origin/Referer of every POST, the CSRF form token, and the
 * Set-Cookie text (HttpOnly, SameSite=Strict, Secure over HTTPS).
 *
 * What it does not do: speak HTTP or TLS (the caller's server does;
 * common/webtls.h makes certificates), decide which role may do what (the
 * caller does, by role name), or log personal values: usernames only.
 *
 * Thread-safe: every call takes the object's mutex; hashing a password
 * (about half a second and WEBAUTH_MEMLIMIT bytes) is thus one at a time, which
 * bounds the memory a burst of sign-ins can take.
 */
#ifndef RZ_WEBAUTH_H
#define RZ_WEBAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/rz_err.h"

#define WEBAUTH_USER_MAX 32         /* bytes of a username */
#define WEBAUTH_ROLE_MAX 16         /* bytes of a role name */
#define WEBAUTH_PASS_MIN 8          /* shortest password accepted */
#define WEBAUTH_PASS_MAX 128        /* longest password accepted (bytes) */
#define WEBAUTH_TOKEN_BYTES 32      /* random bytes of a session token */
#define WEBAUTH_BIND_HEX 8          /* hex digits of the binding in a cookie */
#define WEBAUTH_COOKIE_VALUE_MAX 80 /* "<bind8>.<64 hex>" + NUL, rounded up */
#define WEBAUTH_CSRF_CHARS 32       /* hex digits of a CSRF token */
#define WEBAUTH_COOKIE_NAME "rz_session"
#define WEBAUTH_COOKIE_MAX 160 /* bytes of a Set-Cookie value we write */
#define WEBAUTH_PWHASH_MAX 128 /* bytes of a stored password hash with its NUL */

/* Argon2id limits for a centre PC: 3 passes over 64 MiB (0.58 s a hash
 * measured on the project's 2-core machine under load); the caller may lower
 * them (tests) through webauth_config. */
#define WEBAUTH_OPSLIMIT 3ull
#define WEBAUTH_MEMLIMIT ((size_t)64 << 20)

typedef struct webauth webauth;

/* Policy.  Zero fields take the defaults in brackets. */
typedef struct webauth_config {
    const char *const *roles;    /* NULL-terminated role names; roles[0] is the
                                    administrator role (required) */
    const char *bind;            /* hex text sessions are bound to (node id), at
                                    least WEBAUTH_BIND_HEX digits (required) */
    uint64_t idle_ms;            /* session ends after this long unused [30 min] */
    uint64_t absolute_ms;        /* and this long after sign-in [12 h] */
    int max_fail_user;           /* failures per account per window [5] */
    int max_fail_addr;           /* failures per client address per window [20] */
    uint64_t window_ms;          /* failure window and lock-out time [15 min] */
    unsigned long long opslimit; /* crypto_pwhash ops [WEBAUTH_OPSLIMIT] */
    size_t memlimit;             /* crypto_pwhash memory [WEBAUTH_MEMLIMIT] */
} webauth_config;

/* A signed-in session, as webauth_login/webauth_check give it. */
typedef struct webauth_session {
    char user[WEBAUTH_USER_MAX + 1];       /* account name */
    char role[WEBAUTH_ROLE_MAX + 1];       /* its role now */
    int is_admin;                          /* role == roles[0] */
    char csrf[WEBAUTH_CSRF_CHARS + 1];     /* token every form must carry */
    uint64_t created_ms;                   /* sign-in time */
    uint64_t expires_ms;                   /* when it ends if unused */
    char cookie[WEBAUTH_COOKIE_VALUE_MAX]; /* cookie value (login only; "" after check) */
} webauth_session;

/* One account, for webauth_account_each (borrowed during the callback). */
typedef struct webauth_account {
    const char *user;    /* name */
    const char *role;    /* role */
    int disabled;        /* 1 when it cannot sign in */
    uint64_t created_ms; /* creation */
    uint64_t changed_ms; /* last password change */
} webauth_account;
typedef int (*webauth_account_fn)(void *ctx, const webauth_account *a);

/* Opens the tables in the SQLite database at db_path (creating them; the
 * file is created when missing) with policy cfg (copied).  RZ_E_ARG for a
 * bad cfg, RZ_E_IO when the database cannot be opened.  *out is the
 * caller's (webauth_destroy). */
int webauth_open(webauth **out, const char *db_path, const webauth_config *cfg, rz_error *err)
    RZ_WUR;
/* Closes; sets *wa NULL; accepts NULL. */
void webauth_destroy(webauth **wa);

/* ---- accounts ---- */

/* 1 when name is a valid username: 1..WEBAUTH_USER_MAX of a-z 0-9 . _ -,
 * starting with a letter or digit. */
int webauth_user_valid(const char *name);
/* Why password would be refused (static text), or NULL when acceptable. */
const char *webauth_password_problem(const char *password);

/* New account.  RZ_E_ARG (bad name, role or password: err says which in
 * plain words), RZ_E_EXISTS (name taken). */
int webauth_account_add(webauth *wa, const char *user, const char *role, const char *password,
                        rz_error *err) RZ_WUR;
/* New password for an account; ends its sessions and lifts its lock-out.
 * RZ_E_NOTFOUND, RZ_E_ARG. */
int webauth_account_passwd(webauth *wa, const char *user, const char *password, rz_error *err)
    RZ_WUR;
/* Disables (1) or enables (0) an account; disabling ends its sessions.
 * Refuses (RZ_E_ARG) to disable the last enabled administrator. */
int webauth_account_disable(webauth *wa, const char *user, int disabled, rz_error *err) RZ_WUR;
/* The stored password hash (Argon2id string, WEBAUTH_PWHASH_MAX bytes) and
 * role of an account, so a change can be journaled apart from backups and
 * re-applied after a restore (the server's journal).  As secret as the
 * database: never shown or logged.  RZ_E_NOTFOUND. */
int webauth_account_pwhash(webauth *wa, const char *user, char role[WEBAUTH_ROLE_MAX + 1],
                           char hash[WEBAUTH_PWHASH_MAX], rz_error *err) RZ_WUR;
/* Puts an account's password hash (and its role when role is not NULL)
 * back as webauth_account_pwhash gave it: creates the account when it is
 * missing (role then required), ends its sessions when the hash changes.
 * *changed (may be NULL) is 1 when anything changed.  RZ_E_ARG for a hash
 * that is not an Argon2id string or an unknown role, RZ_E_NOTFOUND when the
 * account is missing and role is NULL. */
int webauth_account_restore(webauth *wa, const char *user, const char *role, const char *pwhash,
                            int *changed, rz_error *err) RZ_WUR;
/* Walks accounts by name. */
int webauth_account_each(webauth *wa, webauth_account_fn fn, void *ctx, rz_error *err) RZ_WUR;
/* Number of enabled administrator accounts (0 means: create one with the
 * command line first). */
int webauth_admin_count(webauth *wa, int *n, rz_error *err) RZ_WUR;

/* ---- sessions ---- */

/* Signs in.  addr is the client's address text (rate limit key).  On
 * success fills *s (s->cookie holds the cookie value, to be sent once).
 * RZ_E_AUTH: wrong name or password, or a disabled account (one message for
 * all, so names cannot be probed); RZ_E_BUSY: too many failures for this
 * account or address, err says how long to wait (the password is not even
 * checked then); RZ_E_ARG: over-long input. */
int webauth_login(webauth *wa, const char *user, const char *password, const char *addr,
                  uint64_t now_ms, webauth_session *s, rz_error *err) RZ_WUR;
/* Checks a cookie value and refreshes the session's last use.  RZ_E_AUTH
 * with a reason staff can act on: no session, expired, made by another
 * node, account disabled. */
int webauth_check(webauth *wa, const char *cookie, uint64_t now_ms, webauth_session *s,
                  rz_error *err) RZ_WUR;
/* Ends the session of cookie (no error when there is none). */
int webauth_logout(webauth *wa, const char *cookie, rz_error *err) RZ_WUR;
/* Deletes sessions that have ended by now_ms (housekeeping). */
int webauth_expire(webauth *wa, uint64_t now_ms, rz_error *err) RZ_WUR;

/* ---- request checks (no state) ---- */

/* 1 when the form's token equals the session's (constant time). */
int webauth_csrf_ok(const webauth_session *s, const char *form_token);
/* 1 when the Host header is one of allowed (NULL-terminated "name:port"
 * entries, compared without case). */
int webauth_host_ok(const char *host, const char *const *allowed);
/* 1 when a POST is same-origin: Origin equals scheme://host, or, without
 * Origin, Referer starts with scheme://host/.  Neither, or "null": 0. */
int webauth_origin_ok(const char *origin, const char *referer, const char *scheme,
                      const char *host);
/* Writes the Set-Cookie value for cookie value v ("" clears the cookie)
 * into out (size WEBAUTH_COOKIE_MAX). */
void webauth_set_cookie(char *out, size_t len, const char *v, int secure);

#endif
