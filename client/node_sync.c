/*
 * node_sync: RZSYNC/1 from the node's side; see node_sync.h.
 *
 * A run is a sequence of sessions.  Each session has its own ZeroMQ context
 * and DEALER socket, so no reply from an abandoned session can ever be taken
 * for an answer in the next one; a session starts with HELLO and learns from
 * the WELCOME where to resume.  Sessions are retried after `busy`, a
 * sequence gap (`chain`) or a connection that dropped after the handshake;
 * the retry budget is renewed whenever a session made progress.
 *
 * A socket monitor watches the handshake so staff get a precise reason:
 * refused key (ZAP), failing CURVE handshake (usually a wrong server key),
 * or no answer at all.
 */
#include "client/node_sync.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "common/hlc.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/msg.h"

#define SYNC_MONITOR_ADDR "inproc://rz-node-monitor"
#define SYNC_MAX_SESSIONS 200 /* hard cap even while every session progresses */
/* Bytes of a BATCH besides entries and reveals: header, ids, prev hash,
 * signature, array headers.  Generous on purpose. */
#define SYNC_BATCH_OVERHEAD 256

void
node_sync_opts_default(node_sync_opts *o)
{
    o->timeout_ms = NODE_SYNC_TIMEOUT_MS;
    o->window = NODE_SYNC_WINDOW;
    o->retries = NODE_SYNC_RETRIES;
    o->batch_entries = RZ_BATCH_ENTRIES;
    o->progress = NULL;
    o->progress_ctx = NULL;
    o->stop = NULL;
    o->connect_ms = 0;
}

/* ---- building a BATCH from the log ---- */

void
node_batch_init(node_batch *b)
{
    memset(b, 0, sizeof *b);
    mpk_w_init(&b->msg);
    mpk_w_init(&b->ents);
    mpk_w_init(&b->revs);
}

void
node_batch_free(node_batch *b)
{
    mpk_w_free(&b->msg);
    mpk_w_free(&b->ents);
    mpk_w_free(&b->revs);
}

/* State while streaming rows into a batch. */
typedef struct batch_fill {
    node_batch *b;     /* batch being built */
    uint64_t last_max; /* take nothing above this seq */
    rz_error *err;     /* detail of a refusal */
} batch_fill;

static int
batch_take_entry(void *ctx, uint64_t seq, uint32_t epoch, const uint8_t hash[RZ_HASH_BYTES],
                 const uint8_t *entry, size_t len, size_t reveal_bytes)
{
    batch_fill *f = ctx;
    node_batch *b = f->b;
    size_t cost = len + 5 + reveal_bytes;
    if (seq > f->last_max)
        return NODE_STOP;
    if (seq != b->first_seq + b->nentries)
        return rz_fail(f->err, RZ_E_FORK,
                       "this node's log has no entry %llu (next is %llu): run `rozgar-node "
                       "rebase` after headquarters ran new-epoch",
                       (unsigned long long)(b->first_seq + b->nentries), (unsigned long long)seq);
    if (epoch != b->epoch)
        return rz_fail(f->err, RZ_E_FORK,
                       "entry %llu belongs to epoch %u, the log is at epoch %u: run "
                       "`rozgar-node rebase`",
                       (unsigned long long)seq, epoch, b->epoch);
    if (len > RZ_MAX_ENTRY_BYTES)
        return rz_fail(f->err, RZ_E_INTERNAL, "entry %llu is %zu bytes, above the limit",
                       (unsigned long long)seq, len);
    /* Keep the whole message inside one frame. */
    if (b->nentries > 0 && b->bytes + cost > RZ_MAX_FRAME)
        return NODE_STOP;
    mpk_w_bin(&b->ents, entry, len);
    memcpy(b->head, hash, RZ_HASH_BYTES);
    b->last_seq = seq;
    b->nentries++;
    b->bytes += cost;
    return 0;
}

static int
batch_take_reveal(void *ctx, uint64_t seq, uint8_t field, const uint8_t salt[RZ_SALT_BYTES],
                  const char *value, size_t len)
{
    batch_fill *f = ctx;
    node_batch *b = f->b;
    if (b->nreveals >= RZ_MAX_REVEALS || len > RZ_MAX_STR)
        return rz_fail(f->err, RZ_E_INTERNAL, "personal values of seq %llu exceed the limits",
                       (unsigned long long)seq);
    msg_encode_reveal(&b->revs, (uint32_t)(seq - b->first_seq), field, salt, value, len);
    b->nreveals++;
    return 0;
}

int
node_sync_build_batch(node_store *ns, uint64_t first_seq, uint64_t last_seq, size_t max_entries,
                      node_batch *b, rz_error *err)
{
    batch_fill f = {b, last_seq, err};
    const uint8_t *node_id = node_store_node_id(ns);
    uint8_t prev[RZ_HASH_BYTES], sig[RZ_SIG_BYTES];
    int rc;

    mpk_w_reset(&b->msg);
    mpk_w_reset(&b->ents);
    mpk_w_reset(&b->revs);
    b->first_seq = first_seq;
    b->last_seq = 0;
    b->nentries = b->nreveals = 0;
    b->bytes = SYNC_BATCH_OVERHEAD;
    if (max_entries == 0 || max_entries > RZ_MAX_BATCH_ENTRIES)
        max_entries = RZ_BATCH_ENTRIES;
    if (first_seq == 0)
        return rz_fail(err, RZ_E_ARG, "sequence numbers start at 1");
    if ((rc = node_store_epoch(ns, &b->epoch, err)) != 0)
        return rc;
    if ((rc = node_store_hash_at(ns, first_seq - 1, prev, err)) != 0)
        return rc == RZ_E_NOTFOUND
                   ? rz_fail(err, RZ_E_FORK,
                             "this node's log does not hold entry %llu that the server's head "
                             "continues from",
                             (unsigned long long)(first_seq - 1))
                   : rc;
    if ((rc = node_store_read_entries(ns, first_seq, max_entries, batch_take_entry, &f, err)) != 0)
        return rc;
    if (b->nentries == 0)
        return rz_fail(err, RZ_E_NOTFOUND, "no log entry %llu to send",
                       (unsigned long long)first_seq);
    if ((rc = node_store_read_reveals(ns, first_seq, b->last_seq, batch_take_reveal, &f, err)) != 0)
        return rc;
    batch_sign(sig, node_store_identity(ns), node_id, b->epoch, b->last_seq, b->head);
    msg_encode_batch_begin(&b->msg, node_id, b->epoch, first_seq, prev, b->nentries);
    mpk_w_raw(&b->msg, b->ents.sb.data, b->ents.sb.size);
    msg_encode_batch_reveals(&b->msg, b->nreveals);
    mpk_w_raw(&b->msg, b->revs.sb.data, b->revs.sb.size);
    msg_encode_batch_end(&b->msg, sig);
    rc = b->msg.rc ? b->msg.rc : b->ents.rc ? b->ents.rc : b->revs.rc;
    if (rc != 0)
        return rz_fail(err, rc, "cannot encode the batch");
    if (b->msg.sb.size > RZ_MAX_FRAME)
        return rz_fail(err, RZ_E_INTERNAL, "batch of %zu bytes exceeds the frame limit",
                       b->msg.sb.size);
    return 0;
}

/* ---- one connection ---- */

typedef struct sync_conn {
    void *ctx;                   /* this session's ZeroMQ context */
    void *sock;                  /* DEALER to the server */
    void *mon;                   /* PAIR receiving the socket's events */
    const char *endpoint;        /* borrowed from the status */
    int timeout_ms;              /* per reply */
    int tcp_up;                  /* a TCP connection was made */
    int secured;                 /* a CURVE handshake completed */
    int handshake_failed;        /* a handshake failed (wrong key?) */
    int lost;                    /* dropped after the handshake */
    volatile sig_atomic_t *stop; /* stop request (may be NULL) */
    int stop_now;                /* a stop abandons this wait (nothing in flight) */
    int connect_ms;              /* >0: give up when not connected by then */
    int refused;                 /* a connection attempt failed before any connected */
    int64_t opened_ms;           /* monotonic time of conn_open */
    msgpack_zone zone;           /* decoded replies live here */
    int zone_live;               /* zone was initialised */
    zmq_msg_t frame;             /* the reply being decoded */
    int frame_live;              /* frame holds a message */
} sync_conn;

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
conn_setopts(sync_conn *c, const rz_identity *id, const char *server_z85, rz_error *err)
{
    int64_t maxsz = RZ_MAX_FRAME;
    int linger = 0;
    if (zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, server_z85, RZ_Z85_KEY) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, id->curve_pk, RZ_Z85_KEY) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, id->curve_sk, RZ_Z85_KEY) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_SNDTIMEO, &c->timeout_ms, sizeof c->timeout_ms) != 0)
        return rz_fail(err, RZ_E_INTERNAL, "cannot set up the socket: %s",
                       zmq_strerror(zmq_errno()));
    return 0;
}

static void
conn_close(sync_conn *c)
{
    if (c->frame_live)
        zmq_msg_close(&c->frame);
    c->frame_live = 0;
    if (c->mon)
        zmq_close(c->mon);
    if (c->sock)
        zmq_close(c->sock);
    if (c->ctx)
        /* A signal (SIGTERM, SIGUSR1 for the watch loop) interrupts the
         * termination with EINTR; it must be restarted or the context leaks. */
        while (zmq_ctx_term(c->ctx) != 0 && zmq_errno() == EINTR)
            ;
    if (c->zone_live)
        msgpack_zone_destroy(&c->zone);
    c->zone_live = 0;
    c->ctx = c->sock = c->mon = NULL;
}

static int
conn_open(sync_conn *c, node_store *ns, const node_store_status *st, int timeout_ms, int connect_ms,
          rz_error *err)
{
    char server_z85[RZ_Z85_KEY];
    int linger = 0, rc;
    memset(c, 0, sizeof *c);
    msgpack_zone_init(&c->zone, 4096);
    c->zone_live = 1;
    c->endpoint = st->endpoint;
    c->timeout_ms = timeout_ms;
    c->stop_now = 1;
    c->connect_ms = connect_ms;
    c->opened_ms = mono_ms();
    if (curve_pk_from_sign_pk(server_z85, st->server_pk) != 0)
        return rz_fail(err, RZ_E_CONFIG, "the configured server key is not usable");
    if (!(c->ctx = zmq_ctx_new()) || !(c->sock = zmq_socket(c->ctx, ZMQ_DEALER)) ||
        !(c->mon = zmq_socket(c->ctx, ZMQ_PAIR)))
        return rz_fail(err, RZ_E_INTERNAL, "cannot create a socket: %s", zmq_strerror(zmq_errno()));
    if ((rc = conn_setopts(c, node_store_identity(ns), server_z85, err)) != 0)
        return rc;
    zmq_setsockopt(c->mon, ZMQ_LINGER, &linger, sizeof linger);
    /* The monitor is connected before the DEALER so no event is missed. */
    if (zmq_socket_monitor(c->sock, SYNC_MONITOR_ADDR,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED |
                               ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0 ||
        zmq_connect(c->mon, SYNC_MONITOR_ADDR) != 0)
        return rz_fail(err, RZ_E_INTERNAL, "cannot monitor the socket: %s",
                       zmq_strerror(zmq_errno()));
    if (connect_ms > 0) {
        /* One connection attempt per session: a node waiting out its backoff
         * must not be connected the moment the server returns. */
        int ivl = -1;
        zmq_setsockopt(c->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    }
    if (zmq_connect(c->sock, st->endpoint) != 0)
        return rz_fail(err, RZ_E_CONFIG, "cannot use server endpoint %s: %s", st->endpoint,
                       zmq_strerror(zmq_errno()));
    return 0;
}

/* Reads one monitor event; returns RZ_E_AUTH when the server's ZAP handler
 * refused this node's key, 0 otherwise. */
static int
conn_event(sync_conn *c, rz_error *err)
{
    uint8_t buf[6];
    uint16_t event;
    uint32_t value;
    char addr[256];
    int n = zmq_recv(c->mon, buf, sizeof buf, ZMQ_DONTWAIT);
    if (n < 0)
        return 0;
    if (zmq_recv(c->mon, addr, sizeof addr, ZMQ_DONTWAIT) < 0 || n != 6)
        return 0;
    memcpy(&event, buf, 2);
    memcpy(&value, buf + 2, 4);
    switch (event) {
    case ZMQ_EVENT_CONNECTED: c->tcp_up = 1; break;
    case ZMQ_EVENT_CLOSED:
    case ZMQ_EVENT_CONNECT_RETRIED:
        /* A refused or failed connection attempt. */
        if (!c->tcp_up)
            c->refused = 1;
        break;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: c->secured = 1; break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        return rz_fail(err, RZ_E_AUTH,
                       "the server at %s refused this node's key (status %u): the node is not "
                       "enrolled or was revoked; give headquarters the enroll token",
                       c->endpoint, value);
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: c->handshake_failed = 1; break;
    case ZMQ_EVENT_DISCONNECTED:
        if (c->secured)
            c->lost = 1;
        else if (c->tcp_up)
            c->handshake_failed = 1;
        c->secured = 0;
        break;
    default: break;
    }
    return 0;
}

/* Sends one message; a send that cannot even be queued in time is a
 * timeout like a missing reply. */
static int
conn_send(sync_conn *c, const void *data, size_t len, rz_error *err)
{
    if (zmq_send(c->sock, data, len, 0) == (int)len)
        return 0;
    return rz_fail(err, RZ_E_TIMEOUT, "cannot send to %s: %s", c->endpoint,
                   zmq_strerror(zmq_errno()));
}

/* Waits for one reply and decodes it into m (borrowing from c).  Returns
 * RZ_E_TIMEOUT when none came in time or the connection dropped (c->lost),
 * RZ_E_AUTH when the key was refused, or a decode error. */
static int
conn_recv(sync_conn *c, rz_msg *m, rz_error *err)
{
    int64_t deadline = mono_ms() + c->timeout_ms;
    int rc;
    for (;;) {
        zmq_pollitem_t items[2] = {{c->sock, 0, ZMQ_POLLIN, 0}, {c->mon, 0, ZMQ_POLLIN, 0}};
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return RZ_E_TIMEOUT;
        if (c->connect_ms > 0 && !c->tcp_up &&
            (c->refused || mono_ms() - c->opened_ms > c->connect_ms))
            return RZ_E_TIMEOUT;
        if (c->stop_now && c->stop && *c->stop)
            return rz_fail(err, RZ_E_STOPPED, "stopped on request; nothing was lost");
        /* Short slices: a stop request is seen even if its signal went to
         * another thread. */
        if (left > 200)
            left = 200;
        if (zmq_poll(items, 2, (long)left) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            return rz_fail(err, RZ_E_INTERNAL, "poll: %s", zmq_strerror(zmq_errno()));
        }
        if (items[1].revents & ZMQ_POLLIN) {
            if ((rc = conn_event(c, err)) != 0)
                return rc;
            /* A reply may already be queued even though the link is gone. */
            if (c->lost && !(items[0].revents & ZMQ_POLLIN))
                return RZ_E_TIMEOUT;
        }
        if (items[0].revents & ZMQ_POLLIN)
            break;
    }
    if (c->frame_live)
        zmq_msg_close(&c->frame);
    zmq_msg_init(&c->frame);
    c->frame_live = 1;
    if (zmq_msg_recv(&c->frame, c->sock, ZMQ_DONTWAIT) < 0)
        return rz_fail(err, RZ_E_INTERNAL, "receive: %s", zmq_strerror(zmq_errno()));
    if (zmq_msg_more(&c->frame)) {
        /* A reply is exactly one frame; drain the rest and refuse it. */
        zmq_msg_t extra;
        do {
            zmq_msg_init(&extra);
            zmq_msg_recv(&extra, c->sock, ZMQ_DONTWAIT);
            rc = zmq_msg_more(&extra);
            zmq_msg_close(&extra);
        } while (rc);
        return rz_fail(err, RZ_E_DECODE, "the server's reply has more than one frame");
    }
    msgpack_zone_clear(&c->zone);
    return msg_decode(zmq_msg_data(&c->frame), zmq_msg_size(&c->frame), &c->zone, m, err);
}

/* ---- the session ---- */

/* One batch waiting for its ACK. */
typedef struct sync_inflight {
    uint32_t epoch;               /* epoch it was signed under */
    uint64_t first_seq, last_seq; /* its entries */
    uint8_t head[RZ_HASH_BYTES];  /* hash of last_seq */
} sync_inflight;

typedef struct sync_session {
    node_store *ns;                        /* the node */
    const node_sync_opts *o;               /* options */
    node_sync_result *r;                   /* accumulated result */
    node_store_status st;                  /* status at HELLO time */
    sync_conn c;                           /* the connection */
    node_batch b;                          /* batch being built */
    sync_inflight q[NODE_SYNC_WINDOW_MAX]; /* ring of batches awaiting ACK */
    size_t qhead, qlen;                    /* ring position and fill */
    uint64_t welcome_local_ms;             /* our wall clock when WELCOME came */
    int retry;                             /* failure may pass on a new session */
    int progressed;                        /* some ACK was stored */
    uint64_t start_ms;                     /* monotonic start of the run */
} sync_session;

/* The server answered ERROR: ends the session with its code.  The text is
 * the server's, so the caller adds what to do (node_sync_hint). */
static void
report_progress(sync_session *s)
{
    rz_progress_info in;
    if (!s->o->progress)
        return;
    in.done = s->r->sent;
    in.total = s->r->total;
    in.elapsed_ms = (uint64_t)(mono_ms() - (int64_t)s->start_ms);
    in.rate = in.elapsed_ms ? (double)in.done * 1000.0 / (double)in.elapsed_ms : 0.0;
    s->o->progress(s->o->progress_ctx, &in);
}

static int
server_refused(sync_session *s, const rz_msg *m, rz_error *err)
{
    char text[RZ_ERROR_TEXT];
    log_sanitize(text, sizeof text, m->text, strlen(m->text));
    s->r->server_code = m->code;
    s->r->server_ms = m->server_ms;
    s->retry = m->code == RZ_E_BUSY || m->code == RZ_E_CHAIN;
    return rz_fail(err, m->code, "sync refused: %s: %s", rz_err_name(m->code), text);
}

const char *
node_sync_hint(int code)
{
    switch (code) {
    case RZ_E_FORK:
    case RZ_E_QUARANTINE:
        return "ask headquarters to examine the fork and run `rozgar-server new-epoch NODE`, "
               "then run `rozgar-node rebase` here and sync again";
    case RZ_E_EPOCH: return "run `rozgar-node rebase`, then sync again";
    case RZ_E_BUSY: return "nothing was lost; sync again later";
    case RZ_E_CHAIN: return "nothing was lost; sync again";
    case RZ_E_VERSION: return "upgrade this program";
    case RZ_E_AUTH: return "this node is not enrolled or was revoked: contact headquarters";
    default: return NULL;
    }
}

static int
unreachable(sync_session *s, rz_error *err)
{
    node_store_status now;
    uint64_t pending = s->st.pending;
    if (node_store_get_status(s->ns, &now, NULL) == 0)
        pending = now.pending;
    s->retry = s->c.lost;
    if (s->c.lost)
        return rz_fail(err, RZ_E_TIMEOUT,
                       "connection to %s dropped before the server answered; nothing was lost, "
                       "%llu entries wait for the next sync",
                       s->st.endpoint, (unsigned long long)pending);
    if (s->c.connect_ms > 0 && !s->c.tcp_up)
        return rz_fail(err, RZ_E_TIMEOUT,
                       "server unreachable at %s (no connection); nothing was lost, %llu entries "
                       "wait for the next sync",
                       s->st.endpoint, (unsigned long long)pending);
    return rz_fail(err, RZ_E_TIMEOUT,
                   "server unreachable at %s (no reply in %d s); nothing was lost, %llu entries "
                   "wait for the next sync%s",
                   s->st.endpoint, (s->o->timeout_ms + 999) / 1000, (unsigned long long)pending,
                   s->c.handshake_failed ? " (secure handshake failed: wrong server key?)" : "");
}

/* Receives the next reply; ERROR and silence become the session's end. */
static int
session_recv(sync_session *s, rz_msg *m, int want, rz_error *err)
{
    int rc = conn_recv(&s->c, m, err);
    if (rc == RZ_E_TIMEOUT)
        return unreachable(s, err);
    if (rc != 0)
        return rc;
    if (m->type == RZ_MSG_ERROR)
        return server_refused(s, m, err);
    if (m->type != want)
        return rz_fail(err, RZ_E_MSGTYPE, "the server answered message type %d, expected %d",
                       m->type, want);
    return 0;
}

/* PROTOCOL 4.8: tells headquarters what this node caught, signed with its
 * key, so the fork is seen and the node quarantined although nothing of the
 * forked log is sent.  1 when the server answered that it recorded it. */
static int
report_fork(sync_session *s, const rz_msg *w, int reason, const uint8_t *own)
{
    rz_fork_report r;
    uint8_t sig[RZ_SIG_BYTES];
    mpk_writer fw;
    rz_msg a;
    rz_error e2;
    int rc;
    memset(&r, 0, sizeof r);
    r.epoch = s->st.epoch;
    r.reason = reason;
    r.seen_seq = w->head_seq;
    memcpy(r.seen_hash, w->head, RZ_HASH_BYTES);
    if ((r.have_own = own != NULL))
        memcpy(r.own_hash, own, RZ_HASH_BYTES);
    r.head_seq = s->st.head_seq;
    memcpy(r.head_hash, s->st.head_hash, RZ_HASH_BYTES);
    r.detected_ms = hlc_wall_ms();
    msg_fork_report_sign(sig, node_store_identity(s->ns), s->st.node_id, &r);
    mpk_w_init(&fw);
    msg_encode_fork_report(&fw, s->st.node_id, &r, sig);
    rc = fw.rc ? fw.rc : conn_send(&s->c, fw.sb.data, fw.sb.size, &e2);
    mpk_w_free(&fw);
    if (rc != 0 || conn_recv(&s->c, &a, &e2) != 0)
        return 0;
    return a.type == RZ_MSG_ERROR && a.code == RZ_E_FORK;
}

static int
fork_detected(sync_session *s, const rz_msg *w, int reason, const uint8_t *own, const char *why,
              rz_error *err)
{
    char hex[2 * RZ_NODE_ID_BYTES + 1];
    int reported = report_fork(s, w, reason, own);
    hex_encode(hex, s->st.node_id, RZ_NODE_ID_BYTES);
    /* Kept under RZ_ERROR_TEXT: the recovery path must survive. */
    return rz_fail(err, RZ_E_FORK,
                   "fork: %s (old backup?); nothing sent, %s. Headquarters: "
                   "`rozgar-server new-epoch %s`; then `rozgar-node rebase`",
                   why, reported ? "reported to headquarters" : "NOT reported: tell headquarters",
                   hex);
}

/* PROTOCOL 4.4: epoch, quarantine and fork checks on the WELCOME. */
static int
check_welcome(sync_session *s, const rz_msg *w, rz_error *err)
{
    uint8_t ours[RZ_HASH_BYTES];
    char why[96], hex[2 * RZ_NODE_ID_BYTES + 1];
    int rc;
    hex_encode(hex, s->st.node_id, RZ_NODE_ID_BYTES);
    if (w->quarantined)
        return rz_fail(err, RZ_E_QUARANTINE,
                       "quarantined by headquarters after a fork; they must run `rozgar-server "
                       "new-epoch %s`, then run `rozgar-node rebase`",
                       hex);
    if (w->epoch > s->st.epoch)
        return rz_fail(err, RZ_E_EPOCH,
                       "headquarters started epoch %u for this node (here %u) after a fork; run "
                       "`rozgar-node rebase`, then sync again",
                       w->epoch, s->st.epoch);
    if (w->epoch < s->st.epoch)
        return rz_fail(err, RZ_E_EPOCH,
                       "the server has this node at epoch %u, below its own %u (server restored "
                       "from a backup?); contact headquarters",
                       w->epoch, s->st.epoch);
    if (w->head_seq > s->st.head_seq) {
        snprintf(why, sizeof why, "server holds %llu entries, this node %llu",
                 (unsigned long long)w->head_seq, (unsigned long long)s->st.head_seq);
        return fork_detected(s, w, RZ_FORK_SERVER_AHEAD, NULL, why, err);
    }
    rc = node_store_hash_at(s->ns, w->head_seq, ours, err);
    if (rc == RZ_E_NOTFOUND || (rc == 0 && sodium_memcmp(ours, w->head, RZ_HASH_BYTES) != 0)) {
        snprintf(why, sizeof why, "entry %llu differs from the server's",
                 (unsigned long long)w->head_seq);
        return fork_detected(s, w, rc == 0 ? RZ_FORK_DIFFERS : RZ_FORK_SERVER_AHEAD,
                             rc == 0 ? ours : NULL, why, err);
    }
    return rc;
}

static void
warn_clock(node_store *ns)
{
    node_store_status st;
    char msg[256];
    if (node_store_get_status(ns, &st, NULL) == 0 &&
        node_store_clock_warning(&st, hlc_wall_ms(), msg, sizeof msg))
        log_warnx("%s", msg);
}

/* HELLO -> WELCOME, clock folded in and remembered. */
static int
session_hello(sync_session *s, rz_msg *w, rz_error *err)
{
    mpk_writer hw;
    int rc;
    mpk_w_init(&hw);
    msg_encode_hello(&hw, s->st.node_id);
    rc = hw.rc ? hw.rc : conn_send(&s->c, hw.sb.data, hw.sb.size, err);
    mpk_w_free(&hw);
    s->r->sessions++;
    if (rc != 0)
        return rc == RZ_E_TIMEOUT ? unreachable(s, err) : rc;
    if ((rc = session_recv(s, w, RZ_MSG_WELCOME, err)) != 0)
        return rc;
    s->r->server_ms = w->server_ms;
    s->r->server_head = w->head_seq;
    s->welcome_local_ms = hlc_wall_ms();
    if ((rc = node_store_observe_server(s->ns, w->server_ms, s->welcome_local_ms, err)) != 0)
        return rc;
    warn_clock(s->ns);
    return 0;
}

static int
send_next_batch(sync_session *s, uint64_t *next, uint64_t target, rz_error *err)
{
    sync_inflight *f;
    int rc;
    if ((rc = node_sync_build_batch(s->ns, *next, target, s->o->batch_entries, &s->b, err)) != 0)
        return rc;
    if ((rc = conn_send(&s->c, s->b.msg.sb.data, s->b.msg.sb.size, err)) != 0)
        return rc == RZ_E_TIMEOUT ? unreachable(s, err) : rc;
    f = &s->q[(s->qhead + s->qlen) % NODE_SYNC_WINDOW_MAX];
    f->epoch = s->b.epoch;
    f->first_seq = s->b.first_seq;
    f->last_seq = s->b.last_seq;
    memcpy(f->head, s->b.head, RZ_HASH_BYTES);
    s->qlen++;
    *next = s->b.last_seq + 1;
    return 0;
}

/* PROTOCOL 4.4: an ACK counts only when it answers the oldest batch in
 * flight exactly and its receipt verifies with the configured server key. */
static int
accept_ack(sync_session *s, const rz_msg *a, rz_error *err)
{
    sync_inflight *f = &s->q[s->qhead];
    node_receipt rcpt;
    int rc;
    if (a->epoch != f->epoch || a->first_seq != f->first_seq || a->last_seq != f->last_seq ||
        sodium_memcmp(a->head, f->head, RZ_HASH_BYTES) != 0)
        return rz_fail(err, RZ_E_SIGNATURE,
                       "the server acknowledged seq %llu..%llu (epoch %u) but %llu..%llu (epoch "
                       "%u) was sent; receipt not accepted",
                       (unsigned long long)a->first_seq, (unsigned long long)a->last_seq, a->epoch,
                       (unsigned long long)f->first_seq, (unsigned long long)f->last_seq, f->epoch);
    if (receipt_verify(a->sig, s->st.server_pk, s->st.node_id, a->epoch, a->first_seq, a->last_seq,
                       a->head, a->server_ms) != 0)
        return rz_fail(err, RZ_E_SIGNATURE,
                       "the receipt for seq %llu..%llu does not verify with the configured "
                       "server key; entries not counted as delivered",
                       (unsigned long long)a->first_seq, (unsigned long long)a->last_seq);
    rcpt.epoch = a->epoch;
    rcpt.first_seq = a->first_seq;
    rcpt.last_seq = a->last_seq;
    memcpy(rcpt.head, a->head, RZ_HASH_BYTES);
    rcpt.server_ms = a->server_ms;
    memcpy(rcpt.sig, a->sig, RZ_SIG_BYTES);
    if ((rc = node_store_record_receipt(s->ns, &rcpt, hlc_wall_ms(), err)) != 0)
        return rc;
    s->qhead = (s->qhead + 1) % NODE_SYNC_WINDOW_MAX;
    s->qlen--;
    s->progressed = 1;
    s->r->batches++;
    s->r->sent += a->last_seq - a->first_seq + 1;
    s->r->applied += a->applied;
    if (s->r->first_seq == 0)
        s->r->first_seq = a->first_seq;
    s->r->last_seq = a->last_seq;
    s->r->server_head = a->last_seq;
    s->r->server_ms = a->server_ms;
    report_progress(s);
    return 0;
}

/* Sends entries from the server's head up to target, keeping up to
 * `window` batches in flight. */
static int
session_stream(sync_session *s, uint64_t from, uint64_t target, rz_error *err)
{
    uint64_t next = from;
    size_t window = (size_t)s->o->window;
    rz_msg a;
    int rc;
    if (window < 1 || window > NODE_SYNC_WINDOW_MAX)
        window = NODE_SYNC_WINDOW;
    /* Entries acknowledged so far in this run plus what is left. */
    s->r->total = s->r->sent + (target - from + 1);
    report_progress(s);
    s->c.stop_now = 0;
    while (next <= target || s->qlen > 0) {
        /* On a stop request the batches in flight are finished, none sent. */
        while (s->qlen < window && next <= target && !(s->o->stop && *s->o->stop))
            if ((rc = send_next_batch(s, &next, target, err)) != 0)
                return rc;
        if (s->qlen == 0)
            break;
        if ((rc = session_recv(s, &a, RZ_MSG_ACK, err)) != 0 || (rc = accept_ack(s, &a, err)) != 0)
            return rc;
    }
    if (next <= target)
        return rz_fail(err, RZ_E_STOPPED,
                       "stopped on request after %llu entries; nothing was lost, the rest "
                       "waits for the next sync",
                       (unsigned long long)s->r->sent);
    return 0;
}

static int
session_run(sync_session *s, rz_error *err)
{
    rz_msg w;
    uint64_t target;
    int rc;
    if ((rc = node_store_get_status(s->ns, &s->st, err)) != 0)
        return rc;
    if (!s->st.endpoint[0] || !s->st.has_server_pk)
        return rz_fail(err, RZ_E_CONFIG,
                       "no server configured: run `rozgar-node config --server tcp://HOST:PORT "
                       "--server-key KEY`");
    if ((rc = conn_open(&s->c, s->ns, &s->st, s->o->timeout_ms, s->o->connect_ms, err)) != 0)
        return rc;
    s->c.stop = s->o->stop;
    if ((rc = session_hello(s, &w, err)) != 0 || (rc = check_welcome(s, &w, err)) != 0)
        return rc;
    target = s->st.head_seq;
    /* A clock entry closes what is sent (PROTOCOL §4.4).  One is also sent
     * when the server already holds entries this node has no receipt for
     * (their ACK was lost with the connection): its receipt covers them. */
    if (((w.head_seq < target && !s->st.head_is_clock) ||
         (w.head_seq >= target && s->st.acked_seq < w.head_seq)) &&
        (rc = node_store_append_clock(s->ns, w.server_ms, s->welcome_local_ms, &target, err)) != 0)
        return rc;
    if (w.head_seq >= target)
        return 0;
    /* The server acknowledges once a batch is in its log and merges behind
     * it (PROTOCOL §5): a reply's wait depends on the link and on
     * verification only, never on the size of the backlog. */
    return session_stream(s, w.head_seq + 1, target, err);
}

static void
backoff_sleep(int code, int attempt, volatile sig_atomic_t *stop)
{
    struct timespec ts;
    long ms = code == RZ_E_BUSY ? 500L << (attempt < 4 ? attempt : 4) : 200;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !(stop && *stop))
        ;
}

static void
result_finish(node_store *ns, node_sync_result *r)
{
    node_store_status st;
    if (node_store_get_status(ns, &st, NULL) == 0)
        r->pending = st.pending;
}

int
node_sync_run(node_store *ns, const node_sync_opts *opts, node_sync_result *r, rz_error *err)
{
    node_sync_opts o;
    int rc, attempt = 0, sessions;
    uint64_t run_start = (uint64_t)mono_ms();
    if (opts)
        o = *opts;
    else
        node_sync_opts_default(&o);
    if (o.timeout_ms <= 0)
        o.timeout_ms = NODE_SYNC_TIMEOUT_MS;
    memset(r, 0, sizeof *r);
    for (sessions = 0;; sessions++) {
        sync_session s;
        memset(&s, 0, sizeof s);
        s.ns = ns, s.o = &o, s.r = r;
        s.start_ms = run_start;
        node_batch_init(&s.b);
        r->server_code = 0;
        if (o.stop && *o.stop) {
            rc = rz_fail(err, RZ_E_STOPPED, "stopped on request; nothing was lost");
            break;
        }
        rc = session_run(&s, err);
        conn_close(&s.c);
        node_batch_free(&s.b);
        if (rc == 0 || !s.retry)
            break;
        /* Progress renews the budget: a bad link that delivers something
         * each time is worth continuing over. */
        attempt = s.progressed ? 0 : attempt + 1;
        if (attempt > o.retries || sessions + 1 >= SYNC_MAX_SESSIONS)
            break;
        backoff_sleep(r->server_code, attempt, o.stop);
    }
    result_finish(ns, r);
    return rc;
}

/* One session for a single exchange (rebase, recovery): options, status,
 * connection, HELLO -> WELCOME in *w.  The caller closes s->c and frees
 * s->b whatever this returns. */
static int
session_start(sync_session *s, node_sync_opts *o, node_store *ns, const node_sync_opts *opts,
              node_sync_result *r, rz_msg *w, rz_error *err)
{
    int rc;
    if (opts)
        *o = *opts;
    else
        node_sync_opts_default(o);
    if (o->timeout_ms <= 0)
        o->timeout_ms = NODE_SYNC_TIMEOUT_MS;
    memset(r, 0, sizeof *r);
    memset(s, 0, sizeof *s);
    s->ns = ns, s->o = o, s->r = r;
    s->start_ms = (uint64_t)mono_ms();
    node_batch_init(&s->b);
    if ((rc = node_store_get_status(ns, &s->st, err)) != 0)
        return rc;
    if (!s->st.endpoint[0] || !s->st.has_server_pk)
        return rz_fail(err, RZ_E_CONFIG, "no server configured: run `rozgar-node config` first");
    if ((rc = conn_open(&s->c, ns, &s->st, o->timeout_ms, o->connect_ms, err)) != 0)
        return rc;
    return session_hello(s, w, err);
}

int
node_sync_rebase(node_store *ns, const node_sync_opts *opts, node_rebase_result *rr,
                 node_sync_result *r, rz_error *err)
{
    node_sync_opts o;
    sync_session s;
    rz_msg w;
    int rc;
    memset(rr, 0, sizeof *rr);
    if ((rc = session_start(&s, &o, ns, opts, r, &w, err)) != 0)
        goto out;
    if (w.quarantined) {
        rc = rz_fail(err, RZ_E_QUARANTINE,
                     "this node is still quarantined: headquarters must run `rozgar-server "
                     "new-epoch` for it before a rebase");
        goto out;
    }
    if (w.epoch <= s.st.epoch) {
        rc = rz_fail(err, RZ_E_EPOCH,
                     "nothing to rebase: the server keeps this node at epoch %u, as this node; "
                     "a rebase follows `rozgar-server new-epoch` at headquarters",
                     w.epoch);
        goto out;
    }
    rc = node_store_rebase(ns, w.epoch, w.head_seq, w.head, rr, err);
out:
    conn_close(&s.c);
    node_batch_free(&s.b);
    result_finish(ns, r);
    return rc;
}

/* ---- recovery of a replaced PC (PROTOCOL §12) ---- */

int
node_sync_fetch(node_store *ns, const node_sync_opts *opts, const uint8_t old_id[RZ_NODE_ID_BYTES],
                const node_fetch_ops *ops, node_sync_result *r, rz_error *err)
{
    node_sync_opts o;
    sync_session s;
    mpk_writer w;
    uint64_t from = 1, head_seq = 0;
    uint8_t head[RZ_HASH_BYTES];
    rz_msg m;
    int rc;
    mpk_w_init(&w);
    if ((rc = session_start(&s, &o, ns, opts, r, &m, err)) != 0)
        goto out;
    while (ops->chunk) {
        mpk_w_reset(&w);
        msg_encode_fetch(&w, s.st.node_id, old_id, from);
        if ((rc = w.rc) != 0 || (rc = conn_send(&s.c, w.sb.data, w.sb.size, err)) != 0) {
            rc = rc == RZ_E_TIMEOUT ? unreachable(&s, err) : rz_fail(err, rc, "cannot send FETCH");
            goto out;
        }
        if ((rc = session_recv(&s, &m, RZ_MSG_CHUNK, err)) != 0)
            goto out;
        if (m.first_seq != from) {
            rc = rz_fail(err, RZ_E_CHAIN, "the server answered from %llu, asked from %llu",
                         (unsigned long long)m.first_seq, (unsigned long long)from);
            goto out;
        }
        if ((rc = ops->chunk(ops->ctx, &m, err)) != 0)
            goto out;
        from += m.nentries;
        r->sent += m.nentries;
        r->total = m.head_seq;
        r->server_head = m.head_seq;
        report_progress(&s);
        if (m.final)
            break;
    }
    if ((rc = ops->finish(ops->ctx, &head_seq, head, err)) != 0)
        goto out;
    mpk_w_reset(&w);
    msg_encode_fetch_done(&w, s.st.node_id, old_id, head_seq, head);
    if ((rc = w.rc) != 0 || (rc = conn_send(&s.c, w.sb.data, w.sb.size, err)) != 0) {
        rc = rc == RZ_E_TIMEOUT ? unreachable(&s, err) : rz_fail(err, rc, "cannot send FETCH_DONE");
        goto out;
    }
    if ((rc = session_recv(&s, &m, RZ_MSG_FETCH_CLOSED, err)) != 0)
        goto out;
    if (memcmp(m.old_id, old_id, RZ_NODE_ID_BYTES) != 0 || m.head_seq != head_seq)
        rc = rz_fail(err, RZ_E_DECODE, "the server confirmed another recovery than this one");
out:
    conn_close(&s.c);
    node_batch_free(&s.b);
    mpk_w_free(&w);
    return rc;
}
