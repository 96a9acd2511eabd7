/*
 * serve: ROUTER + ZAP event loop; see serve.h.
 *
 * Each request is one frame; the reply goes back on the same routing id.
 * The identity of the sender is taken from the ZAP User-Id metadata of
 * every message (not only at connect), and checked against the register on
 * every message, so a revoked key is refused on a live connection.  Errors
 * are answered with an ERROR reply and counted; a bad peer never stops the
 * loop.
 */
#include "server/serve.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/hlc.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/msg.h"
#include "server/conv.h"
#include "server/forkreport.h"
#include "server/http.h"
#include "server/ingest.h"
#include "server/journal.h"
#include "server/metrics.h"
#include "server/recovery.h"

static volatile sig_atomic_t serve_stop;

static void
serve_on_signal(int sig)
{
    (void)sig;
    serve_stop = 1;
}

/* Batches that arrive together are committed together (group commit, see
 * ingest.h); their replies wait here until the commit. */
#define SERVE_GROUP_MAX 64        /* batches per group */
#define SERVE_GROUP_ENTRIES 32000 /* new entries per group: bounds ack latency */

typedef struct serve_pending {
    zmq_msg_t routing;                  /* the peer's routing id */
    int ok;                             /* 1: accepted, ACK after commit */
    ingest_ack ack;                     /* when ok */
    rz_error err;                       /* when refused */
    char who[2 * RZ_NODE_ID_BYTES + 1]; /* node id, for the log */
} serve_pending;

typedef struct serve_ctx {
    log_store *s;                         /* the log store */
    merger_thread *merger;                /* told when entries were committed */
    journal *jr;                          /* acknowledged heads, for a restore's report */
    const rz_identity *server;            /* server identity */
    ingest *ig;                           /* batch verification and application */
    void *router;                         /* node-facing socket */
    void *zap;                            /* ZAP handler socket */
    conv *cv;                             /* conversation states, connection limits */
    msgpack_zone zone;                    /* decoded message trees */
    mpk_writer w;                         /* reply encoder */
    int group_open;                       /* a group transaction is open */
    size_t ngroup;                        /* batches waiting for the group commit */
    uint64_t group_entries;               /* their new entries */
    serve_pending group[SERVE_GROUP_MAX]; /* their replies */
} serve_ctx;

/* Receives all frames of one ZMQ message into parts (at most max); returns
 * the number of parts or -1.  Extra frames are drained and counted. */
static int
recv_parts(void *sock, zmq_msg_t *parts, int max)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t tmp;
        zmq_msg_t *m = n < max ? &parts[n] : &tmp;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, 0) < 0) {
            zmq_msg_close(m);
            while (n > 0)
                zmq_msg_close(&parts[--n]);
            return -1;
        }
        more = zmq_msg_more(m);
        if (m == &tmp)
            zmq_msg_close(m);
        n++;
    }
    return n;
}

static void
close_parts(zmq_msg_t *parts, int n, int max)
{
    int i;
    for (i = 0; i < n && i < max; i++)
        zmq_msg_close(&parts[i]);
}

/* ZAP (RFC 27): frames version, request id, domain, address, identity,
 * mechanism, then one credential (the client's CURVE public key). */
static void
serve_zap(serve_ctx *c)
{
    zmq_msg_t p[7];
    int n = recv_parts(c->zap, p, 7);
    const char *status = "400", *text = "not enrolled";
    char user[2 * RZ_NODE_ID_BYTES + 1] = "";
    int say = 0;
    if (n < 0)
        return;
    if (n == 7 && zmq_msg_size(&p[5]) == 5 && memcmp(zmq_msg_data(&p[5]), "CURVE", 5) == 0 &&
        zmq_msg_size(&p[6]) == 32) {
        char z85[RZ_Z85_KEY];
        log_node node;
        if (zmq_z85_encode(z85, zmq_msg_data(&p[6]), 32) &&
            log_store_node_by_curve(c->s, z85, &node, NULL) == 0) {
            hex_encode(user, node.node_id, RZ_NODE_ID_BYTES);
            if (node.revoked) {
                text = "revoked";
            } else if (conv_admit(c->cv, node.node_id, hlc_wall_ms(), &say) != 0) {
                text = "too many connections for this node";
                if (say)
                    log_warnx("zap: refused connections of node %s: it holds %d already (a "
                              "leaked key?)",
                              user, CONV_MAX_PER_NODE);
            } else {
                status = "200", text = "OK";
            }
        }
    }
    if (strcmp(status, "200") != 0) {
        log_debug("zap: refused a connection (%s)", text);
        user[0] = '\0';
    }
    if (n >= 2) {
        zmq_send(c->zap, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(c->zap, zmq_msg_data(&p[1]), zmq_msg_size(&p[1]), ZMQ_SNDMORE);
        zmq_send(c->zap, status, 3, ZMQ_SNDMORE);
        zmq_send(c->zap, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(c->zap, user, strlen(user), ZMQ_SNDMORE);
        zmq_send(c->zap, "", 0, 0);
    }
    close_parts(p, n, 7);
}

static void
reply(serve_ctx *c, zmq_msg_t *routing)
{
    if (c->w.rc != 0)
        return;
    zmq_send(c->router, zmq_msg_data(routing), zmq_msg_size(routing), ZMQ_SNDMORE);
    zmq_send(c->router, c->w.sb.data, c->w.sb.size, ZMQ_DONTWAIT);
}

static void
reply_error(serve_ctx *c, zmq_msg_t *routing, const rz_error *err, const char *who)
{
    metrics_reject(err->code);
    log_warnx("refused %s: %s: %s", who, rz_err_name(err->code), err->text);
    mpk_w_reset(&c->w);
    msg_encode_error(&c->w, hlc_wall_ms(), err->code, err->text);
    reply(c, routing);
}

/* Commits the open group and sends every reply it held, in arrival order:
 * ACKs only if the commit succeeded, else each becomes the commit's error. */
static void
serve_flush_group(serve_ctx *c)
{
    rz_error cerr = {0, ""};
    int crc = 0;
    size_t i;
    /* Replies wait here even when no transaction could be opened. */
    if (c->group_open)
        crc = ingest_group_commit(c->ig, &cerr);
    if (c->group_open && crc == 0 && c->group_entries > 0)
        merger_wake(c->merger);
    c->group_open = 0;
    for (i = 0; i < c->ngroup; i++) {
        serve_pending *p = &c->group[i];
        if (p->ok && crc == 0) {
            if (p->ack.applied > 0)
                journal_head(c->jr, p->who, p->ack.epoch, p->ack.last_seq, p->ack.server_ms);
            log_debug("node %s: acked %llu..%llu (%llu new)", p->who,
                      (unsigned long long)p->ack.first_seq, (unsigned long long)p->ack.last_seq,
                      (unsigned long long)p->ack.applied);
            mpk_w_reset(&c->w);
            msg_encode_ack(&c->w, p->ack.server_ms, p->ack.epoch, p->ack.first_seq, p->ack.last_seq,
                           p->ack.head, p->ack.receipt, p->ack.applied);
            reply(c, &p->routing);
        } else {
            reply_error(c, &p->routing, p->ok ? &cerr : &p->err, p->who);
        }
        zmq_msg_close(&p->routing);
    }
    c->ngroup = 0;
    c->group_entries = 0;
}

/* Verifies and applies one BATCH inside the open group (opening it). */
static void
serve_batch(serve_ctx *c, zmq_msg_t *routing, const uint8_t *node_id, const char *who,
            const rz_msg *m, zmq_msg_t *frame)
{
    serve_pending *p = &c->group[c->ngroup++];
    memset(p, 0, sizeof *p);
    zmq_msg_init(&p->routing);
    zmq_msg_move(&p->routing, routing);
    snprintf(p->who, sizeof p->who, "%s", who);
    if (!c->group_open) {
        if (ingest_group_begin(c->ig, &p->err) != 0) {
            p->err.code = RZ_E_BUSY;
            return;
        }
        c->group_open = 1;
    }
    p->ok = ingest_batch(c->ig, node_id, m, zmq_msg_data(frame), zmq_msg_size(frame), &p->ack,
                         &p->err) == 0;
    if (p->ok)
        c->group_entries += p->ack.applied;
}

/* PROTOCOL §12: a replaced PC fetches its centre's old log under a grant
 * (server/recovery.h); answered from committed state, outside any group. */
static void
serve_fetch(serve_ctx *c, zmq_msg_t *routing, const uint8_t *node_id, const char *who,
            const rz_msg *m)
{
    rz_error err = {0, ""};
    char old[2 * RZ_NODE_ID_BYTES + 1];
    recovery_grant g;
    int newly = 0, rc;
    hex_encode(old, m->old_id, RZ_NODE_ID_BYTES);
    if (m->type == RZ_MSG_FETCH)
        rc = recovery_fetch(c->s, node_id, m, hlc_wall_ms(), &c->w, &err);
    else
        rc = recovery_done(c->s, node_id, m, hlc_wall_ms(), &c->w, &g, &newly, &err);
    if (rc) {
        reply_error(c, routing, &err, who);
        return;
    }
    if (m->type == RZ_MSG_FETCH && m->first_seq == 1)
        log_info("node %s: fetching the log of node %s (recovery grant)", who, old);
    else if (m->type == RZ_MSG_FETCH)
        log_debug("node %s: fetching the log of node %s from %llu", who, old,
                  (unsigned long long)m->first_seq);
    if (newly) {
        char gms[24], ums[24];
        snprintf(gms, sizeof gms, "%llu", (unsigned long long)g.granted_ms);
        snprintf(ums, sizeof ums, "%llu", (unsigned long long)g.used_ms);
        log_info("node %s: recovered the log of node %s up to %llu; the recovery grant is used",
                 who, old, (unsigned long long)m->head_seq);
        /* A restore from an older backup must not bring the grant back. */
        if (c->jr && journal_admin(c->jr, "recover-done", (const char *const[]){who, old, gms, ums},
                                   4, &err) != 0)
            log_warnx("recovery of node %s by %s not journaled: %s", old, who, err.text);
    }
    reply(c, routing);
}

static int
serve_group_full(const serve_ctx *c)
{
    return c->ngroup >= SERVE_GROUP_MAX || c->group_entries >= SERVE_GROUP_ENTRIES;
}

static void
serve_request(serve_ctx *c)
{
    zmq_msg_t p[2];
    int n = recv_parts(c->router, p, 2);
    rz_error err = {0, ""};
    uint8_t node_id[RZ_NODE_ID_BYTES];
    char who[32] = "an unauthenticated peer";
    const char *user;
    conv_conn *k;
    rz_msg m;

    if (n < 2) {
        if (n == 1)
            zmq_msg_close(&p[0]);
        return;
    }
    /* The transport identity, set by our ZAP handler for this connection. */
    user = zmq_msg_gets(&p[1], "User-Id");
    if (user && hex_decode(node_id, RZ_NODE_ID_BYTES, user) == 0)
        snprintf(who, sizeof who, "%s", user);
    if (n != 2) {
        rz_fail(&err, RZ_E_DECODE, "a message is exactly one frame; this one had %d frames", n - 1);
        serve_flush_group(c); /* replies to one peer keep their order */
        reply_error(c, &p[0], &err, who);
        goto out;
    }
    if (!user || hex_decode(node_id, RZ_NODE_ID_BYTES, user) != 0) {
        rz_fail(&err, RZ_E_AUTH, "connection is not authenticated");
        serve_flush_group(c); /* replies to one peer keep their order */
        reply_error(c, &p[0], &err, who);
        goto out;
    }
    k = conv_bind(c->cv, zmq_msg_data(&p[0]), zmq_msg_size(&p[0]), zmq_msg_get(&p[1], ZMQ_SRCFD),
                  node_id);
    msgpack_zone_clear(&c->zone);
    if (msg_decode(zmq_msg_data(&p[1]), zmq_msg_size(&p[1]), &c->zone, &m, &err) != 0 ||
        conv_order(k, m.type, &err) != 0) {
        serve_flush_group(c); /* replies to one peer keep their order */
        reply_error(c, &p[0], &err, who);
        goto out;
    }
    if (m.type == RZ_MSG_BATCH) {
        serve_batch(c, &p[0], node_id, who, &m, &p[1]);
        goto out;
    }
    /* Anything else answers from committed state only. */
    serve_flush_group(c);
    mpk_w_reset(&c->w);
    if (m.type == RZ_MSG_HELLO) {
        log_node node;
        if (ingest_hello(c->ig, node_id, &m, &node, &err) != 0) {
            serve_flush_group(c); /* replies to one peer keep their order */
            reply_error(c, &p[0], &err, who);
            goto out;
        }
        metrics_hello();
        /* Contact, even when the node has nothing new to send. */
        if (log_store_node_contact(c->s, node_id, hlc_wall_ms(), &err) != 0)
            log_warnx("node %s: contact not recorded: %s", who, err.text);
        msg_encode_welcome(&c->w, hlc_wall_ms(), node.epoch, node.head_seq, node.head_hash,
                           node.quarantined);
        reply(c, &p[0]);
        conv_ready(k);
    } else if (m.type == RZ_MSG_FORK_REPORT) {
        /* Recorded: ERROR fork; refused: ERROR with the reason (forkreport.h). */
        (void)forkreport_record(c->s, node_id, &m, zmq_msg_data(&p[1]), zmq_msg_size(&p[1]), &err);
        reply_error(c, &p[0], &err, who);
    } else if (m.type == RZ_MSG_FETCH || m.type == RZ_MSG_FETCH_DONE) {
        serve_fetch(c, &p[0], node_id, who, &m);
    } else {
        rz_fail(&err, RZ_E_MSGTYPE, "message type %d is not a request", m.type);
        serve_flush_group(c); /* replies to one peer keep their order */
        reply_error(c, &p[0], &err, who);
    }
out:
    close_parts(p, n, 2);
}

static int
serve_readable(void *sock)
{
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    return zmq_poll(&it, 1, 0) > 0 && (it.revents & ZMQ_POLLIN);
}

static int
serve_sockets(serve_ctx *c, void *ctx, const serve_opts *o, rz_error *err)
{
    int rc;
    int one = 1, zero = 0;
    c->zap = zmq_socket(ctx, ZMQ_REP);
    if (!c->zap || zmq_bind(c->zap, "inproc://zeromq.zap.01") != 0)
        return rz_fail(err, RZ_E_CONFIG, "cannot start the ZAP handler: %s",
                       zmq_strerror(zmq_errno()));
    c->router = zmq_socket(ctx, ZMQ_ROUTER);
    if (!c->router || zmq_setsockopt(c->router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(c->router, ZMQ_CURVE_SECRETKEY, c->server->curve_sk, 40) != 0 ||
        zmq_setsockopt(c->router, ZMQ_ZAP_DOMAIN, "rozgar", 6) != 0 ||
        zmq_setsockopt(c->router, ZMQ_LINGER, &zero, sizeof zero) != 0)
        return rz_fail(err, RZ_E_CONFIG, "cannot configure CURVE: %s", zmq_strerror(zmq_errno()));
    if ((rc = conv_configure(c->router, err)) || (rc = conv_new(&c->cv, ctx, c->router, err)))
        return rc;
    if (zmq_bind(c->router, o->endpoint) != 0)
        return rz_fail(err, RZ_E_CONFIG, "cannot bind %s: %s", o->endpoint,
                       zmq_strerror(zmq_errno()));
    return 0;
}

int
serve_run(log_store *s, const rz_identity *server, const serve_opts *o, rz_error *err)
{
    serve_ctx c;
    void *ctx = zmq_ctx_new();
    http_server *http = NULL, *pub = NULL;
    struct sigaction sa;
    int rc;

    memset(&c, 0, sizeof c);
    c.s = s;
    c.server = server;
    c.merger = o->merger;
    msgpack_zone_init(&c.zone, 65536);
    mpk_w_init(&c.w);
    if (o->dir) {
        char jpath[4096];
        journal_path(jpath, sizeof jpath, o->dir);
        if ((rc = journal_open(&c.jr, jpath, err)))
            goto out;
    }
    if ((rc = ingest_new(&c.ig, s, server, err)) || (rc = serve_sockets(&c, ctx, o, err)))
        goto out;
    if (o->http_addr) {
        http_opts ho = {o->http_addr, o->dir, o->dir, o->tls_cert, o->tls_key, 0};
        if ((rc = http_start_opts(&http, &ho, err)))
            goto out;
    }
    if (o->public_addr) {
        http_opts po = {o->public_addr, o->dir, o->dir, o->tls_cert, o->tls_key, 1};
        if ((rc = http_start_opts(&pub, &po, err)))
            goto out;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = serve_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (http)
        log_info("serving %s, dashboard on http://127.0.0.1:%d/", o->endpoint, http_port(http));
    else
        log_info("serving %s", o->endpoint);
    if (pub)
        log_info("public catalogue on port %d", http_port(pub));
    while (!serve_stop) {
        zmq_pollitem_t items[3] = {{c.zap, 0, ZMQ_POLLIN, 0},
                                   {conv_monitor_socket(c.cv), 0, ZMQ_POLLIN, 0},
                                   {c.router, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 3, 1000) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            rc = rz_fail(err, RZ_E_INTERNAL, "poll: %s", zmq_strerror(zmq_errno()));
            break;
        }
        /* The order keeps each node's connection count right (conv.h).
         * Messages first: a connection's last message binds it before its
         * close is read, else the close finds nothing and the count leaks. */
        if (items[2].revents & ZMQ_POLLIN) {
            /* Take what has already arrived into one group, then commit. */
            do {
                serve_request(&c);
            } while (!serve_group_full(&c) && serve_readable(c.router));
            serve_flush_group(&c);
        }
        /* Then every close that has arrived, before any admission: a node
         * that reconnects at once (a sync restarted, a peer that opens a
         * new connection per request) is not refused for connections it
         * has already closed. */
        if ((items[1].revents | items[0].revents) & ZMQ_POLLIN)
            conv_monitor_drain(c.cv);
        if (items[0].revents & ZMQ_POLLIN)
            serve_zap(&c);
    }
    log_info("shutting down");
out:
    serve_flush_group(&c);
    http_stop(&http);
    http_stop(&pub);
    if (c.router)
        zmq_close(c.router);
    if (c.zap)
        zmq_close(c.zap);
    conv_destroy(&c.cv);
    zmq_ctx_term(ctx);
    ingest_destroy(&c.ig);
    journal_close(&c.jr);
    mpk_w_free(&c.w);
    msgpack_zone_destroy(&c.zone);
    return rc;
}
