/*
 * node_web_int: what the web app's core (client/node_web.c: listening, TLS,
 * the gate, sessions, static files) shares with its page handlers
 * (client/node_web_api.c).  Internal to the web app.
 */
#ifndef RZ_NODE_WEB_INT_H
#define RZ_NODE_WEB_INT_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/node_store.h"
#include "common/places.h"
#include "common/webauth.h"

enum {
    WEB_FORM_MAX = 64 * 1024,          /* bytes of a form body */
    WEB_UPLOAD_MAX = 16 * 1024 * 1024, /* bytes of an uploaded spreadsheet */
    WEB_FIELDS_MAX = 40,               /* fields of a form or query string */
    WEB_KEY_MAX = 32,                  /* bytes of a field name */
    WEB_VALUE_MAX = 4096,              /* bytes of a field value */
};

/* A parsed form or query string: names and values are NUL-terminated,
 * clean UTF-8 without control bytes (checked by the gate). */
typedef struct web_form {
    int n;                     /* fields */
    char *key[WEB_FIELDS_MAX]; /* names (into buf) */
    char *val[WEB_FIELDS_MAX]; /* values (into buf) */
    char *buf;                 /* owned storage */
} web_form;

/* The state of the page's sync. */
typedef struct web_sync {
    int running;                         /* a sync thread is working */
    uint64_t started_ms;                 /* when it started */
    uint64_t ended_ms;                   /* when the last one ended, 0 = none yet */
    uint64_t total;                      /* entries waiting when it started */
    uint64_t done;                       /* entries acknowledged so far */
    double rate;                         /* entries per second */
    int rc;                              /* outcome of the last one */
    int server_code;                     /* the server's refusal code, 0 if none */
    char text[RZ_ERROR_TEXT];            /* its message */
    char by[WEBAUTH_USER_MAX + 1];       /* who pressed the button */
    char delegated[160];                 /* the other process asked to sync, "" if this one syncs */
    int asked;                           /* the button asked the background loop; not started yet */
    char asked_by[WEBAUTH_USER_MAX + 1]; /* who pressed it */
} web_sync;

typedef struct web_app {
    char dir[PATH_MAX];                      /* data directory */
    node_store *ns;                          /* the server thread's store */
    webauth *wa;                             /* accounts and sessions */
    char node_hex[2 * RZ_NODE_ID_BYTES + 1]; /* this node */
    char web_dir[PATH_MAX];                  /* static files */
    int tls;                                 /* serving HTTPS */
    char fingerprint[96];                    /* certificate's SHA-256, "" without TLS */
    char url[300];                           /* where staff open it */
    pthread_mutex_t sync_mu;                 /* guards sync and sync_thread */
    web_sync sync;                           /* the page's sync */
    pthread_t sync_thread;                   /* its thread, when started */
    int sync_joinable;                       /* sync_thread must be joined */
    int sync_timeout_ms;                     /* wait for one server reply (node.conf) */
    places *places;                          /* the places list shipped with the node, or NULL */
    volatile sig_atomic_t sync_stop;         /* set at shutdown: the sync ends early */
    uint64_t bg_interval_ms;                 /* background sync: longest idle gap, 0 = default */
    pthread_t bg_thread;                     /* the background sync's thread */
    int bg_joinable;                         /* bg_thread must be joined */
    int bg_active;                           /* its loop holds the lock and runs (sync_mu) */
    uint64_t bg_next_ms;                     /* wall time its next sync is due (sync_mu) */
    unsigned bg_failures;                    /* its failures in a row (sync_mu) */
    char bg_wait[RZ_ERROR_TEXT];             /* why it does not run yet, "" (sync_mu) */
} web_app;

/* One request as the handlers see it. */
typedef struct web_call {
    web_app *app;             /* the app */
    const char *method;       /* GET or POST */
    const char *url;          /* path */
    const webauth_session *s; /* signed-in session */
    const web_form *query;    /* query string */
    const web_form *form;     /* urlencoded body (POST) */
    const char *body;         /* raw body (upload), NUL-terminated */
    size_t body_len;          /* its bytes */
    FILE *out;                /* answer being written (memstream into buf) */
    char *buf;                /* its buffer */
    size_t len;               /* its length */
    unsigned status;          /* HTTP status of the answer (200) */
    const char *ctype;        /* content type (JSON unless set) */
    const char *disposition;  /* Content-Disposition, or NULL */
} web_call;

/* A value of f by name, NULL when absent. */
const char *web_form_get(const web_form *f, const char *key);

/* JSON string (quoted, escaped; "<" and ">" as \u003c/\u003e). */
void web_json_str(FILE *out, const char *s);
/* "key": string, with a leading comma unless first. */
void web_json_kv(FILE *out, const char *key, const char *s, int first);

/* A page handler: writes the JSON answer into c->out (status 200) or sets
 * c->status and writes {"error": ...}.  Returns 0, or a negative code for a
 * failure of ours (500 with the error text logged, not shown). */
typedef int (*web_handler)(web_call *c, rz_error *err);

typedef struct web_route {
    const char *method; /* "GET" or "POST" */
    const char *path;   /* exact path */
    web_handler fn;     /* handler */
    int admin;          /* 1: administrators only */
    int upload;         /* 1: the body is a raw upload, not a form */
} web_route;

/* Spreadsheet handlers (node_web_io.c). */
int web_api_import(web_call *c, rz_error *err);
int web_api_export(web_call *c, rz_error *err);

/* The API routes (node_web_api.c), NULL-terminated. */
extern const web_route web_routes[];

/* Discards what was written so far and writes {"error": msg} with status;
 * returns 0 (or RZ_E_NOMEM). */
int web_fail(web_call *c, unsigned status, const char *msg);

/* The Sync page (node_web_sync.c). */
int api_sync_status(web_call *c, rz_error *err);
int api_sync_start(web_call *c, rz_error *err);

/* Starts the background sync thread (node_web_sync.c), once, after
 * app->dir, sync_timeout_ms and bg_interval_ms are set.  RZ_E_INTERNAL when
 * the thread cannot start. */
int web_sync_start_background(web_app *app, rz_error *err) RZ_WUR;

/* Joins the sync threads at shutdown; set app->sync_stop first (their runs
 * end after the batches in flight). */
void web_sync_shutdown(web_app *app);

#endif
