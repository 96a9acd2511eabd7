/*
 * drain: concurrent node syncs and wire accounting; see drain.h.
 *
 * Each worker thread takes the next node directory, opens the node's store
 * (one store per thread: node_store is not thread-safe) and runs one
 * node_sync_run, exactly what `rozgar-node sync` does.  Node i's thread
 * does nothing else, so K workers are K centres syncing at once.
 */
#include "bench/drain.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "client/node_sync.h"
#include "common/util.h"
#include "proto/entry.h"

typedef struct drain_shared {
    char *const *dirs;  /* node directories */
    uint32_t n;         /* how many */
    int timeout_ms;     /* per reply */
    atomic_uint next;   /* next directory to take */
    pthread_mutex_t mu; /* guards res */
    drain_result *res;  /* totals */
} drain_shared;

static void
drain_note(drain_shared *sh, const node_sync_result *r, double secs, int rc, const rz_error *e)
{
    pthread_mutex_lock(&sh->mu);
    sh->res->nodes++;
    sh->res->sent += r->sent;
    sh->res->applied += r->applied;
    sh->res->batches += r->batches;
    sh->res->sessions += (uint64_t)r->sessions;
    if (secs > sh->res->slowest_node_s)
        sh->res->slowest_node_s = secs;
    if (rc != 0) {
        sh->res->failures++;
        if (!sh->res->first_error[0])
            snprintf(sh->res->first_error, sizeof sh->res->first_error, "%.180s (%s)", e->text,
                     rz_err_name(rc));
    }
    pthread_mutex_unlock(&sh->mu);
}

static void *
drain_worker(void *arg)
{
    drain_shared *sh = arg;
    unsigned i;
    while ((i = atomic_fetch_add(&sh->next, 1)) < sh->n) {
        node_store *ns = NULL;
        node_sync_opts o;
        node_sync_result r;
        rz_error e = {0, ""};
        double t0 = bench_now();
        int rc;
        memset(&r, 0, sizeof r);
        node_sync_opts_default(&o);
        o.timeout_ms = sh->timeout_ms;
        if ((rc = node_store_open(sh->dirs[i], &ns, &e)) == 0)
            rc = node_sync_run(ns, &o, &r, &e);
        node_store_destroy(&ns);
        drain_note(sh, &r, bench_now() - t0, rc, &e);
    }
    return NULL;
}

int
drain_run(char *const *dirs, uint32_t n, uint32_t k, int timeout_ms, drain_result *res,
          rz_error *err)
{
    drain_shared sh;
    pthread_t *th;
    pthread_attr_t attr;
    uint32_t i, started = 0;
    double t0;
    int rc = 0;

    memset(res, 0, sizeof *res);
    if (k == 0 || k > n)
        k = n;
    sh.dirs = dirs;
    sh.n = n;
    sh.timeout_ms = timeout_ms;
    atomic_init(&sh.next, 0);
    pthread_mutex_init(&sh.mu, NULL);
    sh.res = res;
    th = xcalloc(k, sizeof *th);
    /* Hundreds of workers: keep their stacks small. */
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    t0 = bench_now();
    for (i = 0; i < k; i++) {
        if (pthread_create(&th[i], &attr, drain_worker, &sh) != 0) {
            rc = rz_fail(err, RZ_E_INTERNAL, "cannot start drain thread %u", i);
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    res->seconds = bench_now() - t0;
    pthread_attr_destroy(&attr);
    pthread_mutex_destroy(&sh.mu);
    free(th);
    return rc;
}

/* Per-entry sizes by table, from the node's log. */
typedef struct drain_wire_ctx {
    drain_wire *w;     /* accumulating */
    msgpack_zone zone; /* entry decoding scratch */
} drain_wire_ctx;

static size_t
drain_bin_size(size_t len)
{
    return len + (len < 256 ? 2 : len < 65536 ? 3 : 5);
}

static int
drain_take_entry(void *arg, uint64_t seq, uint32_t epoch, const uint8_t hash[RZ_HASH_BYTES],
                 const uint8_t *entry, size_t len, size_t reveal_bytes)
{
    drain_wire_ctx *c = arg;
    rz_entry e;
    (void)seq, (void)epoch, (void)hash, (void)reveal_bytes;
    msgpack_zone_clear(&c->zone);
    if (entry_decode(entry, len, &c->zone, &e, NULL) != 0 || e.table > 4)
        return RZ_E_DECODE;
    c->w->by_table_n[e.table]++;
    c->w->by_table_bytes[e.table] += drain_bin_size(len);
    return 0;
}

int
drain_wire_stats(const char *dir, drain_wire *w, rz_error *err)
{
    node_store *ns = NULL;
    node_store_status st;
    node_batch b;
    drain_wire_ctx c;
    uint64_t seq;
    int rc;

    if ((rc = node_store_open(dir, &ns, err)))
        return rc;
    node_batch_init(&b);
    c.w = w;
    msgpack_zone_init(&c.zone, 4096);
    if ((rc = node_store_get_status(ns, &st, err)) ||
        (rc = node_store_read_entries(ns, 1, (size_t)st.head_seq, drain_take_entry, &c, err)))
        goto out;
    for (seq = 1; seq <= st.head_seq; seq = b.last_seq + 1) {
        if ((rc = node_sync_build_batch(ns, seq, st.head_seq, RZ_BATCH_ENTRIES, &b, err)))
            goto out;
        w->batches++;
        w->entries += b.nentries;
        w->msg_bytes += b.msg.sb.size;
        w->entry_bytes += b.ents.sb.size;
        w->reveal_bytes += b.revs.sb.size;
    }
out:
    msgpack_zone_destroy(&c.zone);
    node_batch_free(&b);
    node_store_destroy(&ns);
    return rc;
}
