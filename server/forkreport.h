/*
 * forkreport: headquarters' side of FORK_REPORT (proto/PROTOCOL.md 4.8).
 *
 * A node that restored an old backup catches the fork itself from the
 * WELCOME and sends nothing of its log; instead it reports what it saw,
 * signed with its key.  This module verifies such a report against the
 * node's key and the server's own log, keeps it as fork evidence (shown by
 * `rozgar-server forks`) and quarantines the node, so headquarters sees the
 * fork exactly as if a forked batch had arrived.  It also answers whether a
 * node has recorded fork evidence in its current epoch, which `new-epoch`
 * requires.  It knows nothing about sockets (server/serve.c does).
 */
#ifndef RZ_FORKREPORT_H
#define RZ_FORKREPORT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"
#include "server/log_store.h"

/* Verifies and records the FORK_REPORT m (raw: its frame, kept as
 * evidence) from the node the transport authenticated as auth_node.
 * Returns RZ_E_FORK when the report is recorded and the node quarantined
 * (the reply the node expects), else the refusal, in this order: RZ_E_AUTH
 * (not the connection's node, not enrolled, revoked), RZ_E_QUARANTINE
 * (already quarantined: nothing recorded), RZ_E_EPOCH, RZ_E_SIGNATURE,
 * RZ_E_CHAIN (the report does not describe this server's log), RZ_E_DECODE
 * (what it reports is not a fork), RZ_E_BUSY (storage).  err->text says
 * why in every case.  Commits its own transaction; call it with none open. */
int forkreport_record(log_store *s, const uint8_t auth_node[RZ_NODE_ID_BYTES], const rz_msg *m,
                      const uint8_t *raw, size_t rawlen, rz_error *err);

/* *count gets the number of fork evidence records (forked batches, node
 * reports, forced epochs) of the node in its epoch `epoch`. */
int forkreport_count(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch,
                     int64_t *count, rz_error *err) RZ_WUR;

/* Records that headquarters started a new epoch without fork evidence, with
 * its reason, as evidence of the node's current epoch. */
int forkreport_forced(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], const char *reason,
                      rz_error *err) RZ_WUR;

#endif
