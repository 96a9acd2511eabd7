/*
 * merger: follows the logs and merges them into the state store; see
 * merger.h.
 *
 * Position model.  Per node, state_pos {merged_seq, last_clock_ms}: every
 * entry <= merged_seq is merged.  The entries after merged_seq are mergeable
 * up to the first clock entry after it that the log holds (PROTOCOL §5): its
 * server time, made monotone with last_clock_ms, is the `hi` of their clamp
 * window and last_clock_ms its `lo`.  A window may stop anywhere inside such
 * a segment (the budget), because the resumed merge finds the same clock
 * entry again; passing the clock entry itself moves last_clock_ms.  Hence the
 * result is a function of the log content and the positions only, and a
 * rebuild from zero reproduces it whatever the window sizes were.
 *
 * One window = one state-store transaction: merge_entry for each entry,
 * merge_flush, the new positions, the time of the merge, COMMIT.  The log is
 * only read (its own connection), so ingest never waits for a merge.
 */
#include "server/merger.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/db.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/entry.h"
#include "server/merge.h"
#include "server/metrics.h"
#include "server/placelist.h"

typedef struct merger_node {
    uint8_t id[RZ_NODE_ID_BYTES]; /* the node */
    int64_t centre_id;            /* its centre (register) */
    uint64_t head_seq;            /* last stored sequence */
} merger_node;

struct merger {
    log_store *ls;           /* borrowed: read only */
    state_store *ss;         /* borrowed: written in windows */
    merge_ctx *mg;           /* merge rules on the state store */
    msgpack_zone zone;       /* one decoded entry at a time */
    merger_node *nodes;      /* snapshot of the register, per window */
    size_t nnodes, capnodes; /* its length and capacity */
    size_t next;             /* round-robin start of the next window */
    merger_limit_fn limit;   /* rebuild/verify: stop per node */
    void *limit_arg;         /* its argument */
    /* The segment being merged (scan callback state). */
    const merger_node *cur; /* node */
    uint64_t lo, hi;        /* clamp window */
    int checkpoint;         /* the segment's clock entry is a checkpoint */
    rz_error *err;          /* where the callback reports */
    sqlite3_stmt *place;    /* a centre's place in the log store's register */
};

/* Trainees count by the province, district and programme of the event's
 * centre (merge.h merge_set_place_fn): the centre table lives in the log
 * store, not in the state store merge writes. */
static int
merger_place(void *arg, int64_t centre_id, merge_place *out, rz_error *err)
{
    merger *m = arg;
    return merge_place_read(log_store_db(m->ls), &m->place, centre_id, out, err);
}

int
merger_new(merger **out, log_store *ls, state_store *ss, rz_error *err)
{
    merger *m = xcalloc(1, sizeof *m);
    int rc;
    m->ls = ls;
    m->ss = ss;
    msgpack_zone_init(&m->zone, 4096);
    if ((rc = merge_new(&m->mg, state_store_db(ss), err))) {
        merger_destroy(&m);
        return rc;
    }
    merge_set_place_fn(m->mg, merger_place, m);
    *out = m;
    return 0;
}

void
merger_destroy(merger **mp)
{
    merger *m = mp ? *mp : NULL;
    if (!m)
        return;
    merge_destroy(&m->mg);
    sqlite3_finalize(m->place);
    msgpack_zone_destroy(&m->zone);
    free(m->nodes);
    free(m);
    *mp = NULL;
}

void
merger_set_limit(merger *m, merger_limit_fn fn, void *arg)
{
    m->limit = fn;
    m->limit_arg = arg;
}

static int
merger_collect(const log_node *n, void *arg)
{
    merger *m = arg;
    merger_node *x;
    if (m->nnodes == m->capnodes) {
        m->capnodes = m->capnodes ? 2 * m->capnodes : 64;
        m->nodes = xrealloc(m->nodes, m->capnodes * sizeof *m->nodes);
    }
    x = &m->nodes[m->nnodes++];
    memcpy(x->id, n->node_id, RZ_NODE_ID_BYTES);
    x->centre_id = n->centre_id;
    x->head_seq = n->head_seq;
    return 0;
}

/* One stored entry of the current segment into merge. */
static int
merger_entry(uint64_t seq, const uint8_t *p, size_t len, void *arg)
{
    merger *m = arg;
    rz_entry e;
    merge_input in;
    int rc;
    msgpack_zone_clear(&m->zone);
    if ((rc = entry_decode(p, len, &m->zone, &e, m->err)))
        return rc; /* stored entries were verified: this is corruption */
    if (e.table == RZ_T_CLOCK)
        return 0;
    memset(&in, 0, sizeof in);
    in.node_id = m->cur->id;
    in.centre_id = m->cur->centre_id;
    in.seq = seq;
    in.e = &e;
    in.win_lo_ms = m->lo;
    in.win_hi_ms = m->hi;
    in.cnic_state = MERGE_CNIC_ABSENT;
    if (e.table == RZ_T_PERSON) {
        const rz_value *v = entry_field(&e, RZ_PF_CNIC);
        if (v && v->type == RZ_V_NIL)
            in.cnic_state = MERGE_CNIC_CLEARED;
        else if (v && (rc = log_store_cnic(m->ls, m->cur->id, seq, &in.cnic_state, in.cnic_token,
                                           m->err)))
            return rc;
    }
    return merge_entry(m->mg, &in, m->err);
}

static int
merger_is_checkpoint(uint64_t seq, const uint8_t *p, size_t len, void *arg)
{
    merger *m = arg;
    rz_entry e;
    (void)seq;
    msgpack_zone_clear(&m->zone);
    m->checkpoint = entry_decode(p, len, &m->zone, &e, NULL) == 0 && e.table == RZ_T_CLOCK &&
                    entry_field(&e, RZ_CF_CHECKPOINT) != NULL;
    return 0;
}

/* Merges up to *budget entries of node n from *p, no further than upto;
 * updates *p, *budget and *merged.  The clock entry closing a segment is
 * looked up to the node's head even when upto stops short of it, so a
 * replay limited to a position inside a segment merges what the live
 * merger merged there. */
static int
merger_node_run(merger *m, const merger_node *n, state_pos *p, uint64_t upto, uint64_t *budget,
                uint64_t *merged, rz_error *err)
{
    int rc;
    while (*budget > 0 && p->merged_seq < upto) {
        uint64_t cseq, cms, to;
        if ((rc = log_store_next_clock(m->ls, n->id, p->merged_seq, n->head_seq, &cseq, &cms, err)))
            return rc;
        if (cseq == 0)
            return 0; /* the rest waits for its clock entry */
        /* Server times the node reports only move forward for merging. */
        if (cms < p->last_clock_ms)
            cms = p->last_clock_ms;
        to = cseq;
        if (to > upto)
            to = upto;
        if (to - p->merged_seq > *budget)
            to = p->merged_seq + *budget;
        m->cur = n;
        m->lo = p->last_clock_ms;
        m->hi = cms;
        m->err = err;
        if ((rc = log_store_scan(m->ls, n->id, p->merged_seq + 1, to, merger_entry, m, err)))
            return rc;
        *budget -= to - p->merged_seq;
        *merged += to - p->merged_seq;
        p->merged_seq = to;
        /* Passing a clock entry raises the floor of the entries after it,
         * unless it is a node's checkpoint (an estimate, PROTOCOL §5). */
        if (to == cseq) {
            if ((rc = log_store_scan(m->ls, n->id, cseq, cseq, merger_is_checkpoint, m, err)))
                return rc;
            if (!m->checkpoint)
                p->last_clock_ms = cms;
        }
    }
    return 0;
}

/* The position of node n and how far it may be merged (upto: its head or
 * the rebuild's limit). */
static int
merger_node_pos(merger *m, const merger_node *n, state_pos *p, uint64_t *upto, rz_error *err)
{
    *upto = n->head_seq;
    if (m->limit) {
        uint64_t lim;
        if (m->limit(n->id, &lim, m->limit_arg) == 0 && lim < *upto)
            *upto = lim;
    }
    return state_store_pos_get(m->ss, n->id, p, err);
}

/* *work = 1 when some node has entries that a clock entry already bounds
 * (what merger_node_run would merge).  Read-only: an idle merger checks
 * this and never opens a write transaction. */
static int
merger_has_work(merger *m, int *work, rz_error *err)
{
    size_t k;
    int rc;
    *work = 0;
    for (k = 0; k < m->nnodes && !*work; k++) {
        const merger_node *n = &m->nodes[k];
        uint64_t upto, cseq, cms;
        state_pos p;
        if ((rc = merger_node_pos(m, n, &p, &upto, err)))
            return rc;
        if (p.merged_seq >= upto)
            continue;
        if ((rc = log_store_next_clock(m->ls, n->id, p.merged_seq, n->head_seq, &cseq, &cms, err)))
            return rc;
        *work = cseq != 0;
    }
    return 0;
}

int
merger_step(merger *m, uint64_t budget, uint64_t *merged, rz_error *err)
{
    uint64_t left = budget ? budget : MERGER_WINDOW_ENTRIES;
    size_t k, touched = 0;
    int rc, work;

    *merged = 0;
    m->nnodes = 0;
    if ((rc = log_store_nodes(m->ls, merger_collect, m, err)))
        return rc;
    if (m->nnodes == 0)
        return 0;
    if ((rc = merger_has_work(m, &work, err)) || !work)
        return rc;
    if ((rc = state_store_begin(m->ss, err)))
        return rc;
    /* Homes count under the places list in force: one imported while this
     * server runs counts from this window on.  Read inside the window's
     * transaction, after the import committed its version and before or
     * after (never during) its recount's state transaction. */
    if ((rc = placelist_refresh(log_store_db(m->ls), 0, NULL, err)))
        goto fail;
    /* Round robin: a window that runs out of budget resumes with the next
     * node, so one long backlog does not starve the others. */
    for (k = 0; k < m->nnodes && left > 0; k++) {
        const merger_node *n = &m->nodes[(m->next + k) % m->nnodes];
        uint64_t upto, before = *merged;
        state_pos p;
        if ((rc = merger_node_pos(m, n, &p, &upto, err)))
            goto fail;
        if (p.merged_seq >= upto)
            continue;
        if ((rc = merger_node_run(m, n, &p, upto, &left, merged, err)))
            goto fail;
        if (*merged > before) {
            if ((rc = state_store_pos_put(m->ss, n->id, &p, err)))
                goto fail;
            touched++;
        }
    }
    /* The node the budget ran out on may have more: it starts the next
     * window. */
    m->next = (m->next + (left == 0 ? k - 1 : k)) % m->nnodes;
    if (touched == 0) {
        state_store_rollback(m->ss);
        return 0;
    }
    if ((rc = merge_flush(m->mg, err)) ||
        (rc = state_store_note_merge(m->ss, hlc_wall_ms(), err)) ||
        (rc = state_store_commit(m->ss, err)))
        goto fail;
    return 0;
fail:
    state_store_rollback(m->ss);
    merge_discard(m->mg);
    *merged = 0;
    return rc;
}

int
merger_catch_up(merger *m, uint64_t *merged, rz_error *err)
{
    uint64_t total = 0, n;
    int rc;
    do {
        if ((rc = merger_step(m, 0, &n, err)))
            break;
        total += n;
    } while (n > 0);
    if (merged)
        *merged = total;
    return rc;
}

int
merger_lock(const char *dir, int *fd, rz_error *err)
{
    char path[4096];
    *fd = -1;
    if (snprintf(path, sizeof path, "%s/%s.lock", dir, STATE_STORE_FILE) >= (int)sizeof path)
        return rz_fail(err, RZ_E_ARG, "server directory path too long");
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return rz_fail(err, RZ_E_IO, "%s: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(*fd);
        *fd = -1;
        return busy ? rz_fail(err, RZ_E_BUSY, "another process is merging (%s)", path)
                    : rz_fail(err, RZ_E_IO, "%s: %s", path, strerror(errno));
    }
    return 0;
}

void
merger_unlock(int *fd)
{
    if (fd && *fd >= 0) {
        close(*fd); /* releases the flock */
        *fd = -1;
    }
}

/* ---- the follower thread of `run` ------------------------------------ */

/* Idle, the merger sleeps until ingest wakes it (merger_wake, after each
 * commit of the log).  The poll is a safety net for entries written by
 * another process (bundle import, rebuild) and costs a few read-only
 * look-ups, no write transaction (merger_has_work). */
#define MERGER_IDLE_MS 1000  /* poll when nothing woke us */
#define MERGER_PAUSE_MS 200  /* re-read the pause flag while paused */
#define MERGER_RETRY_MS 1000 /* after a storage failure */
/* The merger's page cache of state.db, in KiB (SQLite's default for the
 * server's connections is 64 MiB, common/db.c).  A national window dirties
 * tens of thousands of pages, more than any cache the budget allows: what
 * does not fit is written to the WAL early and read back.  80 MiB keeps the
 * server's peak within its 256 MiB budget at national size now that the
 * merger works during the drain (96 MiB peaked at 252.7 MiB there;
 * docs/PERFORMANCE.md). */
#define MERGER_CACHE_KIB "81920"

struct merger_thread {
    char *dir;          /* server directory */
    uint64_t window;    /* entries per window */
    pthread_t th;       /* the thread */
    pthread_mutex_t mu; /* guards wake and stop */
    pthread_cond_t cv;  /* signalled by merger_wake and merger_stop */
    int wake, stop;     /* requests */
    int started;        /* th is joinable */
};

static void
merger_wait(merger_thread *t, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->mu);
    while (!t->wake && !t->stop)
        if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) != 0)
            break;
    t->wake = 0;
    pthread_mutex_unlock(&t->mu);
}

static int
merger_stopping(merger_thread *t)
{
    int s;
    pthread_mutex_lock(&t->mu);
    s = t->stop;
    pthread_mutex_unlock(&t->mu);
    return s;
}

/* The merger runs at a lower scheduling priority than ingest: an ACK is what
 * a centre on a poor link waits for (DESIGN guarantee 2), while merging only
 * has to follow it.  When ingest is idle the merger still gets every free
 * cycle; when both compete for the cores ingest goes first and the merger
 * catches up behind it (the log is the buffer).  On Linux a nice value set
 * with the thread id applies to this thread only. */
#define MERGER_NICE 5 /* added to the process's own nice value */

static void *
merger_main(void *arg)
{
    merger_thread *t = arg;
    /* Named for `top -H` and `ps -L` (the checkpointer it starts too). */
    pthread_setname_np(pthread_self(), "rz-merger");
#ifdef SYS_gettid
    {
        id_t tid = (id_t)syscall(SYS_gettid);
        int nice_now;
        errno = 0;
        nice_now = getpriority(PRIO_PROCESS, tid);
        if (errno == 0 && nice_now < 19 &&
            setpriority(PRIO_PROCESS, tid,
                        nice_now + MERGER_NICE > 19 ? 19 : nice_now + MERGER_NICE) != 0)
            log_warnx("merger: cannot lower its priority: %s", strerror(errno));
    }
#endif
    log_store *ls = NULL;
    state_store *ss = NULL;
    merger *m = NULL;
    rz_error err = {0, ""};
    int lockfd = -1, warned = 0;

    while (!merger_stopping(t)) {
        uint64_t n = 0, t0;
        int paused = 0, rc;
        if (!m) {
            /* (Re)open: a failed open (disk, lock) is retried, never fatal
             * to ingest. */
            if ((rc = merger_lock(t->dir, &lockfd, &err)) == 0 &&
                (rc = log_store_open(&ls, t->dir, &err)) == 0 &&
                (rc = state_store_open(&ss, t->dir, &err)) == 0 &&
                (rc = state_store_checkpoint_behind(ss, 0, &err)) == 0 &&
                (rc = rz_db_exec(state_store_db(ss), "PRAGMA cache_size=-" MERGER_CACHE_KIB ";",
                                 &err)) == 0)
                rc = merger_new(&m, ls, ss, &err);
            if (rc) {
                if (!warned++)
                    log_warnx("merger: %s; retrying", err.text);
                merger_destroy(&m);
                state_store_close(&ss);
                log_store_close(&ls);
                merger_unlock(&lockfd);
                merger_wait(t, MERGER_RETRY_MS);
                continue;
            }
            warned = 0;
        }
        if ((rc = state_store_paused(ss, &paused, &err)) == 0 && paused) {
            merger_wait(t, MERGER_PAUSE_MS);
            continue;
        }
        t0 = hlc_wall_ms();
        if (rc == 0)
            rc = merger_step(m, t->window, &n, &err);
        if (rc) {
            /* Nothing of the window was applied; the log keeps it. */
            metrics_merge_failed();
            if (!warned++)
                log_warnx("merger: %s; retrying", err.text);
            merger_wait(t, MERGER_RETRY_MS);
            continue;
        }
        warned = 0;
        if (n > 0) {
            metrics_merge_window(n, hlc_wall_ms() - t0);
            continue; /* more may be waiting: no sleep */
        }
        metrics_merge_idle(hlc_wall_ms());
        merger_wait(t, MERGER_IDLE_MS);
    }
    merger_destroy(&m);
    state_store_close(&ss);
    log_store_close(&ls);
    merger_unlock(&lockfd);
    return NULL;
}

int
merger_start(merger_thread **out, const char *dir, uint64_t window, rz_error *err)
{
    merger_thread *t = xcalloc(1, sizeof *t);
    t->dir = xstrdup(dir);
    t->window = window ? window : MERGER_WINDOW_ENTRIES;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (pthread_create(&t->th, NULL, merger_main, t) != 0) {
        merger_stop(&t);
        return rz_fail(err, RZ_E_INTERNAL, "cannot start the merger thread");
    }
    t->started = 1;
    *out = t;
    return 0;
}

void
merger_wake(merger_thread *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->wake = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void
merger_stop(merger_thread **tp)
{
    merger_thread *t = tp ? *tp : NULL;
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (t->started)
        pthread_join(t->th, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t->dir);
    free(t);
    *tp = NULL;
}
