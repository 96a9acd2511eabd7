/*
 * httpauth: who may read the headquarters view when it is served beyond
 * loopback or over HTTPS: staff accounts (roles admin and analyst, through
 * common/webauth.h: crypto_pwhash passwords, sessions, rate-limited
 * sign-in) and API tokens for machines.
 *
 * Everything lives in DIR/auth.db (mode 0600), apart from server.db, so
 * the dashboard's read-only handle on the figures never meets a password
 * hash and a backup of the figures carries no credentials.
 *
 * Tokens: "rzt_" + 64 hex digits (32 random bytes), shown once when made;
 * only their BLAKE2b hash is stored, with a name, so a token is revoked by
 * name and a log line names the machine, never the token.
 *
 * Roles: admin manages accounts, tokens and lawful requests (CNIC lookup,
 * erasure register) and reads everything; analyst reads figures and
 * exports only; a token reads what an analyst reads, never more.
 *
 * What it does not do: speak HTTP (server/http.c does; every /api/admin/
 * route checks httpauth_principal.is_admin there, in one place).
 */
#ifndef RZ_HTTPAUTH_H
#define RZ_HTTPAUTH_H

#include <stdint.h>
#include <stdio.h>

#include "common/rz_err.h"
#include "common/webauth.h"

#define HTTPAUTH_DB "auth.db"
#define HTTPAUTH_TOKEN_PREFIX "rzt_"
#define HTTPAUTH_TOKEN_CHARS 68 /* "rzt_" + 64 hex */
#define HTTPAUTH_NAME_MAX 32    /* bytes of a token name */

typedef struct httpauth httpauth;

/* Who is asking. */
typedef struct httpauth_principal {
    char name[WEBAUTH_USER_MAX + 1]; /* account or token name */
    int is_token;                    /* 1: an API token */
    int is_admin;                    /* 1: account of role admin */
} httpauth_principal;

/* Opens (creating) dir/auth.db.  opslimit/memlimit 0 take webauth's
 * defaults.  *out is the caller's (httpauth_destroy).  RZ_E_IO. */
int httpauth_open(httpauth **out, const char *dir, rz_error *err) RZ_WUR;
void httpauth_destroy(httpauth **a);
/* The accounts and sessions (borrowed). */
webauth *httpauth_web(httpauth *a);

/* A new token named name (1..HTTPAUTH_NAME_MAX of a-z 0-9 . _ -); writes
 * it into out (HTTPAUTH_TOKEN_CHARS + 1 bytes), to be shown once.
 * RZ_E_ARG bad name, RZ_E_EXISTS name taken. */
int httpauth_token_add(httpauth *a, const char *name, char *out, rz_error *err) RZ_WUR;
/* Puts back a token a journal recorded (name, hash as 64 hex digits) when
 * no token of that name exists: *added 1 then.  RZ_E_ARG malformed. */
int httpauth_token_restore(httpauth *a, const char *name, const char *hash_hex, int *added,
                           rz_error *err) RZ_WUR;
/* Revokes the token named name.  RZ_E_NOTFOUND. */
int httpauth_token_revoke(httpauth *a, const char *name, rz_error *err) RZ_WUR;
/* Prints "name created revoked" lines to out. */
int httpauth_token_list(httpauth *a, void *out_file, rz_error *err) RZ_WUR;
/* Checks a presented token; fills p.  RZ_E_AUTH unknown or revoked. */
int httpauth_token_check(httpauth *a, const char *token, httpauth_principal *p, rz_error *err)
    RZ_WUR;

/* The register of lawful requests: every CNIC lookup and every erasure,
 * who did it, when, about whom (a masked CNIC or a person id; never a
 * full CNIC or a name) and what came of it.  kind is "lookup" or "erase".
 * Each entry is also journaled (server/journal.h "lawful"), so a restore
 * from an older backup keeps the register whole. */
int httpauth_register_add(httpauth *a, const char *kind, const char *actor, const char *subject,
                          const char *detail, rz_error *err) RZ_WUR;
/* Puts back an entry a journal recorded (restore) unless the register has
 * it (same time, kind, actor and subject): *added 1 then. */
int httpauth_register_restore(httpauth *a, int64_t at_ms, const char *kind, const char *actor,
                              const char *subject, const char *detail, int *added, rz_error *err)
    RZ_WUR;
/* Prints the register, oldest first, to out. */
int httpauth_register_list(httpauth *a, void *out_file, rz_error *err) RZ_WUR;
/* "35202-*******-2": what the register keeps of a CNIC (13 digits). */
void httpauth_cnic_mask(char out[16], const char *cnic13);

/* The administrators' lists as JSON objects for GET /api/admin/accounts,
 * /tokens and /lawful: {"accounts":[{name, role, disabled, created,
 * password_changed}]}, {"tokens":[{name, created, revoked}]},
 * {"lawful":[{at, kind, by, subject, outcome}]}.  No hash, no password, no
 * token, no full CNIC is in any of them.  out is a FILE *. */
int httpauth_accounts_json(httpauth *a, FILE *out, rz_error *err) RZ_WUR;
int httpauth_tokens_json(httpauth *a, FILE *out, rz_error *err) RZ_WUR;
int httpauth_register_json(httpauth *a, FILE *out, rz_error *err) RZ_WUR;

/* `rozgar-server account add NAME --role admin|analyst | passwd NAME |
 * disable NAME | enable NAME | list`, `token add NAME | revoke NAME |
 * list` and `lawful list`: argv[0] is "account", "token" or "lawful".  Passwords are read from
 * standard input (one line), never from the command line.  Returns an
 * exit status and prints the outcome. */
int httpauth_cli(const char *dir, int argc, char **argv);

#endif
