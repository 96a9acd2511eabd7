/*
 * serve: the server's ZeroMQ side.  One ROUTER socket with CURVE, and the
 * ZAP handler that admits only enrolled, unrevoked node keys, polled in one
 * thread so ZAP answers come from the same store the batches go to.  The
 * ZAP socket is bound before the ROUTER: Debian's libzmq admits any CURVE
 * key when no ZAP handler is running.
 */
#ifndef RZ_SERVE_H
#define RZ_SERVE_H

#include "common/crypto.h"
#include "server/log_store.h"
#include "server/merger.h"

typedef struct serve_opts {
    const char *endpoint;    /* e.g. tcp://127.0.0.1:7700 */
    const char *http_addr;   /* host:port for the dashboard, or NULL */
    const char *public_addr; /* host:port for the public catalogue, or NULL */
    const char *dir;         /* data directory (both stores, auth.db, certificates) */
    const char *tls_cert;    /* PEM certificate for HTTPS, or NULL */
    const char *tls_key;     /* its PEM key, or NULL */
    merger_thread *merger;   /* woken after each commit, or NULL */
} serve_opts;

/* Runs until SIGINT/SIGTERM.  Returns 0 on clean shutdown; startup
 * failures (bind, ZAP) are returned with err filled. */
int serve_run(log_store *s, const rz_identity *server, const serve_opts *o, rz_error *err) RZ_WUR;

#endif
