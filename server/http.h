/*
 * http: the headquarters view over HTTP (libmicrohttpd): dashboard page,
 * JSON API, CSV export and Prometheus metrics.  Runs in its own threads,
 * each request on a read-only SQLite handle of its own; it never sees keys
 * and never writes.  Every figure comes from server/query.h.
 *
 * Routes (GET and HEAD only; anything else is 405):
 *
 *   /                  the dashboard (web/index.html)
 *   /static/...        dashboard.js, style.css, chart.js (Debian libjs-chart.js)
 *   /api/summary       national headline (or filtered), target progress
 *   /api/totals        one query's rows as JSON
 *   /api/totals.csv    the same rows as CSV with a header line
 *   /api/centres       per-centre last sync, lag and stale flag
 *   /metrics           Prometheus text
 *   /healthz           {"status":"ok"} when the database answers, else 503
 *
 * Bad query parameters answer 400 with {"error": "..."}; unknown paths 404.
 */
#ifndef RZ_HTTP_H
#define RZ_HTTP_H

#include "common/rz_err.h"

typedef struct http_server http_server;

/* Listens on addr ("127.0.0.1:8080", "[::1]:8080", "localhost:0"; port 0
 * picks a free port, see http_port) and serves until http_stop.  dir is
 * the server directory: its state and log stores must exist and are opened
 * read-only (state_store_reader_open, checked before listening).  The web
 * assets come from $RZ_WEB_DIR when set, else the share directory's web/
 * (common/paths.h: installed or source tree).
 * Returns 0, RZ_E_ARG for a malformed addr, RZ_E_IO when the database
 * cannot be opened or the address cannot be bound.  *out is the caller's
 * (http_stop). */
int http_start(http_server **out, const char *addr, const char *dir, rz_error *err) RZ_WUR;
/* Where and how to serve. */
typedef struct http_opts {
    const char *addr;      /* host:port, as for http_start */
    const char *store_dir; /* server directory: its stores, opened read-only */
    const char *dir;       /* data directory (auth.db); NULL: no sign-in possible */
    const char *tls_cert;  /* PEM certificate (chain) file, or NULL */
    const char *tls_key;   /* PEM private key file, or NULL */
    int public_only;       /* 1: the public catalogue listener */
} http_opts;

/* Starts with options.  With a certificate (tls_cert and tls_key) it
 * serves HTTPS only and, except for the public listener, every route but
 * /login, /healthz and the style sheet needs a session (POST /login with
 * user and password, a cookie back; POST /logout) or "Authorization:
 * Bearer rzt_..." (server/httpauth.h).  An address beyond loopback without
 * a certificate is refused (RZ_E_CONFIG): nothing goes out in clear text.
 * On loopback without a certificate it is open, as before. */
int http_start_opts(http_server **out, const http_opts *o, rz_error *err) RZ_WUR;

/* The same for the public listener: it serves only the public catalogue
 * (server/catalogue.h), with disclosure control, to anyone who can reach
 * it:
 *
 *   /public/catalogue.json   every cell, withheld ones as null + suppressed
 *   /public/catalogue.csv    the same as CSV (UTF-8 BOM, an "as of" line)
 *
 * and 404 for everything else (no dashboard, no API, no metrics).  The
 * catalogue is rebuilt at most every five minutes. */
int http_start_public(http_server **out, const char *addr, const char *dir, rz_error *err) RZ_WUR;
/* Stops serving (waits for running requests), frees *h, sets it to NULL.
 * Accepts NULL. */
void http_stop(http_server **h);
/* The TCP port actually listened on (the chosen one when addr had port 0). */
int http_port(const http_server *h);

#endif
