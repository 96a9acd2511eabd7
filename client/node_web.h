/*
 * node_web: the centre's web app, `rozgar-node serve`.  Staff open it in a
 * browser on any PC of the centre; it serves the pages in web/node/ and a
 * small JSON API that calls the same store functions as the command line
 * (client/node_store.h, node_find.h, node_form.h, node_import.h,
 * node_export.h), with the signed-in staff account as the actor of every
 * change.
 *
 * Where it listens: 127.0.0.1 (this PC only) by default, plain HTTP.  Any
 * other address (the centre's LAN, 0.0.0.0, even 127.0.0.2) is served over
 * HTTPS only, with a configured certificate or a self-signed one made at
 * first start (common/webtls.h) whose fingerprint is printed; a plain HTTP
 * request there gets a short plain answer saying to use https:// and is
 * closed.
 *
 * Every request passes one gate before any page code runs: Host header
 * among the names the app answers to (DNS rebinding), body bounded
 * (WEB_FORM_MAX for forms, WEB_UPLOAD_MAX for a spreadsheet), form values
 * clean UTF-8 without NUL or control bytes, every POST same-origin
 * (Origin/Referer) and carrying the session's CSRF token, and a session
 * (common/webauth.h) bound to this node.  A refusal is a clear page (or
 * JSON for the app's own calls) and changes nothing.
 *
 * Unattended sync in the same process (the default, see node_web_sync.c):
 * a thread runs the loop of `sync --watch` (client/node_watch.h) and holds
 * the data directory's sync lock while a server is configured; the page's
 * Sync button asks that loop to sync at once.
 *
 * Threads: libmicrohttpd runs every request in one thread, which owns the
 * node_store given to node_web_serve; the background sync, or a sync
 * started from the page, runs in a thread of its own with its own store.  What it does not do: keep
 * accounts or sessions (webauth), decide validation (node_form), or print
 * personal values.
 */
#ifndef RZ_NODE_WEB_H
#define RZ_NODE_WEB_H

#include "client/node_store.h"
#include "common/rz_err.h"

#define NODE_WEB_LISTEN_DEFAULT "127.0.0.1:8080"

typedef struct node_web_opts {
    const char *listen;        /* HOST:PORT ([v6]:PORT); NULL = NODE_WEB_LISTEN_DEFAULT */
    const char *name;          /* extra host name staff type (e.g. centre-pc.local), or NULL */
    const char *cert;          /* PEM certificate to serve, or NULL (self-signed) */
    const char *key;           /* its PEM key, or NULL */
    int tls;                   /* 1: HTTPS even on 127.0.0.1 */
    const char *ready_file;    /* written with the URL once serving (tests), or NULL */
    int sync_timeout_ms;       /* wait for one server reply in "Sync now"; 0 = default */
    int background_sync;       /* 1: this process also keeps the node in step (sync --watch) */
    uint64_t sync_interval_ms; /* its longest idle gap (node.conf sync-interval); 0 = default */
} node_web_opts;

/* Serves the app of the node in dir (ns is its open store, used only by the
 * server's thread from now on) until SIGINT or SIGTERM, which also stop the
 * background sync after its batches in flight.  SIGUSR1 (`rozgar-node sync
 * --now`) asks the background sync to sync at once.  Prints where to
 * open it (and the certificate fingerprint) on stdout.  RZ_E_ARG for a bad
 * address or an attempt to serve plain HTTP beyond 127.0.0.1, RZ_E_CONFIG
 * for a bad certificate, RZ_E_IO when it cannot listen. */
int node_web_serve(const char *dir, node_store *ns, const node_web_opts *o, rz_error *err) RZ_WUR;

/* Staff accounts from the command line (`rozgar-node staff ...`): opens
 * the accounts of the node in dir.  The roles are "admin" and "staff". */
struct webauth;
int node_web_accounts(const char *dir, node_store *ns, struct webauth **out, rz_error *err) RZ_WUR;

#endif
