/*
 * http: the headquarters view over HTTP (libmicrohttpd): dashboard page,
 * JSON API, CSV export and Prometheus metrics.  Runs in its own thread with
 * its own read-only SQLite handle; it never sees keys.
 */
#ifndef RZ_HTTP_H
#define RZ_HTTP_H

#include "common/rz_err.h"

typedef struct http_server http_server;

/* Listens on addr ("127.0.0.1:8080"); db_path is opened read-only. */
int http_start(http_server **out, const char *addr, const char *db_path, rz_error *err) RZ_WUR;
void http_stop(http_server **h);

#endif
