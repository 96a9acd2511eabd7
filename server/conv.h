/*
 * conv: the conversation state of every node connection and the limits on
 * what one connection, and one node key, may hold (PROTOCOL.md §4.5, §10).
 *
 * Order: a connection starts NEW; a HELLO answered with WELCOME makes it
 * READY; a BATCH is taken only on a READY connection.  An ERROR reply never
 * changes the state.  Connections are told apart by their ROUTER routing id,
 * which libzmq never reuses within a socket's life.
 *
 * Limits: at most CONV_MAX_PER_NODE connections per node key at once.  The
 * ZAP handler sees each new connection's key (conv_admit); the first message
 * on a connection binds its descriptor to the node (conv_bind); the socket
 * monitor sees it close (conv_monitor_event).  A connection that is admitted
 * but never completes a message cannot be tied to a descriptor, so its
 * admission counts for CONV_ADMIT_WINDOW_MS, longer than the heartbeat lets
 * such a connection live.  conv_configure sets the socket options that bound
 * the rest: the handshake interval, the heartbeat that closes a connection
 * stuck in the middle of a frame, the receive queue and the frame size.
 *
 * Does not decode messages or look at the register (serve.c and ingest.c do).
 */
#ifndef RZ_CONV_H
#define RZ_CONV_H

#include <stdint.h>
#include <zmq.h>

#include "common/crypto.h"

#define CONV_MAX_PER_NODE 4             /* concurrent connections of one node key */
#define CONV_HANDSHAKE_IVL_MS 10000     /* an unauthenticated connection's lifetime */
#define CONV_HEARTBEAT_IVL_MS 5000      /* PING interval */
#define CONV_HEARTBEAT_TIMEOUT_MS 30000 /* no complete frame this long after a PING: closed */
#define CONV_ADMIT_WINDOW_MS 45000      /* an unbound admission counts this long */
#define CONV_RCVHWM 16                  /* messages queued per connection */
#define CONV_CURVE_OVERHEAD 33          /* bytes CurveZMQ adds to each frame */
#define CONV_REFUSAL_LOG_MS 10000       /* one log line per node this often */

typedef struct conv conv;
typedef struct conv_conn conv_conn;

/* Sets the ROUTER's limits (before bind): maximum message size, handshake
 * interval, heartbeat, receive queue. */
int conv_configure(void *router, rz_error *err) RZ_WUR;

/* Starts monitoring router's disconnections on a PAIR socket of zctx. */
int conv_new(conv **out, void *zctx, void *router, rz_error *err) RZ_WUR;
void conv_destroy(conv **c);

/* The monitor's socket, for the caller's poll; conv_monitor_event reads one
 * event if one is waiting (1, else 0), conv_monitor_drain every waiting one. */
void *conv_monitor_socket(conv *c);
int conv_monitor_event(conv *c);
void conv_monitor_drain(conv *c);

/* ZAP: may node open one more connection now (now_ms: wall clock)?  0 and
 * counted, or -1 when the node already holds CONV_MAX_PER_NODE; then
 * *say is 1 at most once per CONV_REFUSAL_LOG_MS for that node, so a key
 * retrying many times a second does not flood the log. */
int conv_admit(conv *c, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t now_ms, int *say);

/* The connection a message came on (routing id, descriptor from ZMQ_SRCFD,
 * authenticated node); created NEW on its first message.  The pointer is
 * valid until the next conv_monitor_event. */
conv_conn *conv_bind(conv *c, const void *routing, size_t rlen, int fd,
                     const uint8_t node_id[RZ_NODE_ID_BYTES]);

/* 0 when a message of this type may come now, else RZ_E_MSGTYPE with the
 * reason (a BATCH before HELLO). */
int conv_order(const conv_conn *k, int type, rz_error *err) RZ_WUR;
/* The HELLO was answered with WELCOME: BATCHes may follow. */
void conv_ready(conv_conn *k);

/* Connections tracked and admissions pending (for tests and logs). */
void conv_counts(const conv *c, size_t *conns, size_t *pending);

#endif
