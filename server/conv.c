/* conv: conversation state and connection limits per node; see conv.h. */
#include "server/conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/wire.h"

#define CONV_BUCKETS 1024 /* hash buckets for connections and for nodes */
#define CONV_RID_MAX 256  /* a routing id is at most 255 bytes (ZMTP) */

typedef struct conv_node {
    uint8_t id[RZ_NODE_ID_BYTES];         /* node id */
    size_t bound;                         /* connections that sent a message */
    uint64_t admit_ms[CONV_MAX_PER_NODE]; /* admissions not yet bound, oldest first */
    size_t nadmit;                        /* how many */
    uint64_t said_ms;                     /* last refusal logged */
    struct conv_node *next;               /* bucket chain */
} conv_node;

struct conv_conn {
    uint8_t rid[CONV_RID_MAX]; /* ROUTER routing id */
    size_t rlen;               /* its length */
    int fd;                    /* descriptor (ZMQ_SRCFD), -1 unknown */
    int ready;                 /* WELCOME sent: BATCH allowed */
    conv_node *node;           /* the key that opened it */
    struct conv_conn *next;    /* bucket chain */
};

struct conv {
    void *mon;                      /* PAIR end of the router's monitor */
    conv_conn *conns[CONV_BUCKETS]; /* by routing id */
    conv_node *nodes[CONV_BUCKETS]; /* by node id */
    conv_conn **byfd;               /* by descriptor */
    unsigned *skip;                 /* per descriptor: stale close events to ignore */
    size_t nfd;                     /* size of byfd and skip */
    size_t nconns;                  /* connections tracked */
    char endpoint[64];              /* monitor endpoint */
};

static unsigned
conv_hash(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    size_t i;
    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h % CONV_BUCKETS;
}

int
conv_configure(void *router, rz_error *err)
{
    /* The largest valid message is one frame of RZ_MAX_FRAME bytes; CURVE
     * wraps it in a MESSAGE command 33 bytes longer, and ZMQ_MAXMSGSIZE
     * applies to that command, so this is the smallest limit that still
     * lets every valid frame through (PROTOCOL §4). */
    int64_t maxmsg = RZ_MAX_FRAME + CONV_CURVE_OVERHEAD;
    int hs = CONV_HANDSHAKE_IVL_MS, hb = CONV_HEARTBEAT_IVL_MS, hbt = CONV_HEARTBEAT_TIMEOUT_MS;
    int hwm = CONV_RCVHWM;
    if (zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_setsockopt(router, ZMQ_HANDSHAKE_IVL, &hs, sizeof hs) != 0 ||
        zmq_setsockopt(router, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb) != 0 ||
        zmq_setsockopt(router, ZMQ_HEARTBEAT_TIMEOUT, &hbt, sizeof hbt) != 0 ||
        zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0)
        return rz_fail(err, RZ_E_CONFIG, "cannot set connection limits: %s",
                       zmq_strerror(zmq_errno()));
    return 0;
}

int
conv_new(conv **out, void *zctx, void *router, rz_error *err)
{
    conv *c = xcalloc(1, sizeof *c);
    int zero = 0;
    snprintf(c->endpoint, sizeof c->endpoint, "inproc://rz-conv-%p", (void *)c);
    if (zmq_socket_monitor(router, c->endpoint, ZMQ_EVENT_DISCONNECTED) != 0 ||
        !(c->mon = zmq_socket(zctx, ZMQ_PAIR)) ||
        zmq_setsockopt(c->mon, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(c->mon, c->endpoint) != 0) {
        rz_fail(err, RZ_E_CONFIG, "cannot monitor connections: %s", zmq_strerror(zmq_errno()));
        if (c->mon)
            zmq_close(c->mon);
        free(c);
        return RZ_E_CONFIG;
    }
    *out = c;
    return 0;
}

void
conv_destroy(conv **cp)
{
    conv *c = cp ? *cp : NULL;
    size_t i;
    if (!c)
        return;
    for (i = 0; i < CONV_BUCKETS; i++) {
        while (c->conns[i]) {
            conv_conn *k = c->conns[i];
            c->conns[i] = k->next;
            free(k);
        }
        while (c->nodes[i]) {
            conv_node *n = c->nodes[i];
            c->nodes[i] = n->next;
            free(n);
        }
    }
    if (c->mon)
        zmq_close(c->mon);
    free(c->byfd);
    free(c->skip);
    free(c);
    *cp = NULL;
}

void *
conv_monitor_socket(conv *c)
{
    return c->mon;
}

static conv_node *
node_find(conv *c, const uint8_t id[RZ_NODE_ID_BYTES], int create)
{
    unsigned h = conv_hash(id, RZ_NODE_ID_BYTES);
    conv_node *n;
    for (n = c->nodes[h]; n; n = n->next)
        if (memcmp(n->id, id, RZ_NODE_ID_BYTES) == 0)
            return n;
    if (!create)
        return NULL;
    n = xcalloc(1, sizeof *n);
    memcpy(n->id, id, RZ_NODE_ID_BYTES);
    n->next = c->nodes[h];
    c->nodes[h] = n;
    return n;
}

/* Frees a node that holds nothing any more. */
static void
node_release(conv *c, conv_node *n)
{
    unsigned h;
    conv_node **pp;
    if (n->bound || n->nadmit)
        return;
    h = conv_hash(n->id, RZ_NODE_ID_BYTES);
    for (pp = &c->nodes[h]; *pp; pp = &(*pp)->next)
        if (*pp == n) {
            *pp = n->next;
            free(n);
            return;
        }
}

/* Forgets admissions older than the window: by then such a connection was
 * either closed by the heartbeat or holds no frame in progress. */
static void
node_expire(conv_node *n, uint64_t now_ms)
{
    size_t i = 0, j;
    while (i < n->nadmit && n->admit_ms[i] + CONV_ADMIT_WINDOW_MS <= now_ms)
        i++;
    for (j = i; j < n->nadmit; j++)
        n->admit_ms[j - i] = n->admit_ms[j];
    n->nadmit -= i;
}

int
conv_admit(conv *c, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t now_ms, int *say)
{
    conv_node *n = node_find(c, node_id, 1);
    *say = 0;
    node_expire(n, now_ms);
    if (n->bound + n->nadmit >= CONV_MAX_PER_NODE) {
        if (n->said_ms == 0 || now_ms >= n->said_ms + CONV_REFUSAL_LOG_MS) {
            n->said_ms = now_ms;
            *say = 1;
        }
        return -1;
    }
    n->admit_ms[n->nadmit++] = now_ms;
    return 0;
}

static void
fd_grow(conv *c, int fd)
{
    size_t want = (size_t)fd + 1, n = c->nfd ? c->nfd : 64;
    if (want <= c->nfd)
        return;
    while (n < want)
        n *= 2;
    c->byfd = xrealloc(c->byfd, n * sizeof *c->byfd);
    c->skip = xrealloc(c->skip, n * sizeof *c->skip);
    memset(c->byfd + c->nfd, 0, (n - c->nfd) * sizeof *c->byfd);
    memset(c->skip + c->nfd, 0, (n - c->nfd) * sizeof *c->skip);
    c->nfd = n;
}

static void
conn_remove(conv *c, conv_conn *k)
{
    unsigned h = conv_hash(k->rid, k->rlen);
    conv_conn **pp;
    for (pp = &c->conns[h]; *pp; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    if (k->fd >= 0 && (size_t)k->fd < c->nfd && c->byfd[k->fd] == k)
        c->byfd[k->fd] = NULL;
    if (k->node->bound > 0)
        k->node->bound--;
    node_release(c, k->node);
    c->nconns--;
    free(k);
}

conv_conn *
conv_bind(conv *c, const void *routing, size_t rlen, int fd,
          const uint8_t node_id[RZ_NODE_ID_BYTES])
{
    unsigned h;
    conv_conn *k;
    if (rlen > CONV_RID_MAX)
        rlen = CONV_RID_MAX; /* ZMTP caps routing ids at 255 bytes */
    h = conv_hash(routing, rlen);
    for (k = c->conns[h]; k; k = k->next)
        if (k->rlen == rlen && memcmp(k->rid, routing, rlen) == 0)
            return k;
    if (fd >= 0) {
        fd_grow(c, fd);
        if (c->byfd[fd]) {
            /* The descriptor was closed and reused before its close event
             * was read: that event must not end this new connection. */
            log_debug("conv: descriptor %d reused before its close was seen", fd);
            conn_remove(c, c->byfd[fd]);
            c->skip[fd]++;
        }
    }
    k = xcalloc(1, sizeof *k);
    memcpy(k->rid, routing, rlen);
    k->rlen = rlen;
    k->fd = fd;
    k->node = node_find(c, node_id, 1);
    if (k->node->nadmit > 0) { /* this connection is the oldest admission */
        memmove(k->node->admit_ms, k->node->admit_ms + 1,
                (k->node->nadmit - 1) * sizeof k->node->admit_ms[0]);
        k->node->nadmit--;
    }
    k->node->bound++;
    k->next = c->conns[h];
    c->conns[h] = k;
    if (fd >= 0)
        c->byfd[fd] = k;
    c->nconns++;
    return k;
}

int
conv_monitor_event(conv *c)
{
    zmq_msg_t ev, addr;
    uint16_t event = 0;
    uint32_t value = 0;
    int more;
    zmq_msg_init(&ev);
    if (zmq_msg_recv(&ev, c->mon, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&ev);
        return 0;
    }
    if (zmq_msg_size(&ev) >= 6) {
        memcpy(&event, zmq_msg_data(&ev), 2);
        memcpy(&value, (const uint8_t *)zmq_msg_data(&ev) + 2, 4);
    }
    more = zmq_msg_more(&ev);
    zmq_msg_close(&ev);
    while (more) { /* the endpoint frame */
        zmq_msg_init(&addr);
        more = zmq_msg_recv(&addr, c->mon, 0) >= 0 && zmq_msg_more(&addr);
        zmq_msg_close(&addr);
    }
    if (event != ZMQ_EVENT_DISCONNECTED || value >= c->nfd)
        return 1;
    if (c->skip[value] > 0) {
        c->skip[value]--;
        return 1;
    }
    if (c->byfd[value]) {
        log_debug("conv: connection on descriptor %u closed", (unsigned)value);
        conn_remove(c, c->byfd[value]);
    }
    return 1;
}

void
conv_monitor_drain(conv *c)
{
    while (conv_monitor_event(c))
        ;
}

int
conv_order(const conv_conn *k, int type, rz_error *err)
{
    if (type == RZ_MSG_BATCH && (!k || !k->ready))
        return rz_fail(err, RZ_E_MSGTYPE,
                       "BATCH before HELLO on this connection: send HELLO and wait for WELCOME");
    /* A fork report answers a WELCOME (PROTOCOL 4.8). */
    if (type == RZ_MSG_FORK_REPORT && (!k || !k->ready))
        return rz_fail(err, RZ_E_MSGTYPE,
                       "FORK_REPORT before HELLO on this connection: send HELLO and wait for "
                       "WELCOME");
    /* Recovery (PROTOCOL §12) also starts with HELLO: the WELCOME carries
     * the server time the node folds in before it takes foreign entries. */
    if ((type == RZ_MSG_FETCH || type == RZ_MSG_FETCH_DONE) && (!k || !k->ready))
        return rz_fail(err, RZ_E_MSGTYPE,
                       "%s before HELLO on this connection: send HELLO and wait for WELCOME",
                       type == RZ_MSG_FETCH ? "FETCH" : "FETCH_DONE");
    return 0;
}

void
conv_ready(conv_conn *k)
{
    if (k)
        k->ready = 1;
}

void
conv_counts(const conv *c, size_t *conns, size_t *pending)
{
    size_t i, p = 0;
    const conv_node *n;
    for (i = 0; i < CONV_BUCKETS; i++)
        for (n = c->nodes[i]; n; n = n->next)
            p += n->nadmit;
    *conns = c->nconns;
    *pending = p;
}
