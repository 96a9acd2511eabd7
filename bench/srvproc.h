/*
 * srvproc: the real `rozgar-server` as a child process for the benchmark:
 * init, enrollment of the benchmark's nodes, run on 127.0.0.1 with a free
 * port, its peak memory (VmHWM while alive, ru_maxrss after exit), a
 * Prometheus scrape and plain HTTP GETs against its dashboard API.
 */
#ifndef RZ_BENCH_SRVPROC_H
#define RZ_BENCH_SRVPROC_H

#include <stdint.h>
#include <sys/types.h>

#include "common/crypto.h"
#include "common/rz_err.h"

typedef struct srvproc {
    char bin[4096];          /* path of rozgar-server */
    char dir[4096];          /* its data directory */
    char db[4200];           /* dir/server.db */
    char log[4200];          /* dir/server.log (stderr of run) */
    uint8_t pk[RZ_PK_BYTES]; /* server public key (from init) */
    char endpoint[64];       /* tcp://127.0.0.1:PORT */
    int http_port;           /* dashboard port, 0 when not serving HTTP */
    pid_t pid;               /* running server, 0 when stopped */
    uint64_t peak_kib;       /* ru_maxrss of the last run (after stop) */
} srvproc;

/* Runs `rozgar-server -d dir init`, reads the server key and picks free
 * ports for the endpoint and the dashboard (so nodes can be configured
 * before the server runs). */
int srvproc_init(srvproc *s, const char *bin, const char *dir, rz_error *err) RZ_WUR;
/* Enrolls a node under a centre through the server's own store interface
 * (server/log_store.h), as `rozgar-server enroll` does.  Server not running. */
int srvproc_enroll(srvproc *s, const uint8_t node_id[RZ_NODE_ID_BYTES],
                   const uint8_t sign_pk[RZ_PK_BYTES], const char *centre, int programme,
                   const char *province, const char *district, rz_error *err) RZ_WUR;
/* Starts `rozgar-server -d dir run --bind tcp://127.0.0.1:P --http
 * 127.0.0.1:Q` on the chosen ports and waits until it serves. */
int srvproc_start(srvproc *s, rz_error *err) RZ_WUR;
/* VmHWM / VmRSS of the running server in KiB (0 when unknown). */
uint64_t srvproc_hwm_kib(const srvproc *s);
uint64_t srvproc_rss_kib(const srvproc *s);
/* CPU seconds (user + system) the running server has used so far. */
double srvproc_cpu_s(const srvproc *s);
/* SIGTERM, wait; fills peak_kib from the child's rusage.  0 when it exited
 * cleanly. */
int srvproc_stop(srvproc *s, rz_error *err) RZ_WUR;

/* GET path from the running server's HTTP port; body (malloc'd, NUL
 * terminated, caller frees) and status.  Connection: close. */
int srvproc_http_get(const srvproc *s, const char *path, int *status, char **body, size_t *len,
                     rz_error *err) RZ_WUR;
/* Value of a Prometheus counter line "name value" in the /metrics page. */
int srvproc_metric(const srvproc *s, const char *name, uint64_t *value, rz_error *err) RZ_WUR;

/* A free TCP port on 127.0.0.1 (bind to port 0, read it back, close). */
int srvproc_free_port(void);

#endif
