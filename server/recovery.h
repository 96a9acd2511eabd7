/*
 * recovery: a replaced centre PC recovers its centre's records from the
 * server (PROTOCOL.md §12; README "A replaced PC").
 *
 * Headquarters enrolls the new PC (NEW) under the same centre as the dead
 * one (OLD) and grants the recovery once: `rozgar-server recover-grant NEW
 * --from OLD`, which revokes OLD (if not already) and records the grant in
 * server.db (table recover_grant, beside the register; the truth) and in the
 * journal.  NEW then fetches OLD's closed log in bounded CHUNKs (FETCH), and
 * confirms with FETCH_DONE once it verified and applied all of it: only that
 * uses the grant up.  Until then NEW may fetch again as often as it needs (a
 * dropped connection, a PC switched off mid-way), and nobody else may: a
 * grant names exactly one (NEW, OLD) pair, and at most one unused grant per
 * OLD exists at a time.
 *
 * Reads OLD's log only through the log store's reading interface
 * (log_store_scan, log_store_sigs, log_store_pii_scan, log_store_keys); the
 * grant table is this module's own (SQLite backend: in server.db, created on
 * first use).  Does not verify what it sends: the node does (client/
 * node_recover.c); the server sends what it holds, erased values as erased.
 */
#ifndef RZ_RECOVERY_H
#define RZ_RECOVERY_H

#include <stdint.h>
#include <stdio.h>

#include "common/mpk.h"
#include "proto/msg.h"
#include "server/log_store.h"

/* Bytes of a CHUNK the server fills with entries and the room their personal
 * values may need; the rest of the frame is left for keys and signatures. */
#define RECOVERY_CHUNK_BUDGET (RZ_MAX_FRAME - 64 * 1024)

/* What a grant says. */
typedef struct recovery_grant {
    uint8_t new_id[RZ_NODE_ID_BYTES]; /* the replacement node */
    uint8_t old_id[RZ_NODE_ID_BYTES]; /* the node whose log it may fetch */
    uint8_t old_pk[RZ_PK_BYTES];      /* OLD's signing key when granted */
    uint64_t granted_ms;              /* when headquarters granted it */
    uint64_t used_ms;                 /* when NEW confirmed it, or it was cancelled (0: unused) */
    int cancelled;                    /* 1: headquarters cancelled it unused */
} recovery_grant;

/* recover-grant: NEW and OLD enrolled, different, under the same centre,
 * NEW not revoked, no unused grant for OLD yet.  Revokes OLD when it is not
 * (*revoked = 1), then records the grant (*g).  RZ_E_NOTFOUND (not
 * enrolled), RZ_E_ARG (a precondition, err says which), RZ_E_EXISTS (an
 * unused grant for OLD exists), RZ_E_BUSY/RZ_E_IO (storage). */
int recovery_grant_add(log_store *s, const uint8_t new_id[RZ_NODE_ID_BYTES],
                       const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t now_ms, recovery_grant *g,
                       int *revoked, rz_error *err) RZ_WUR;

/* recover-grant --cancel: headquarters withdraws an unused grant (the new
 * PC was lost too, or the grant went to the wrong node), so OLD can be
 * granted again.  RZ_E_NOTFOUND when the pair holds no unused grant. */
int recovery_grant_cancel(log_store *s, const uint8_t new_id[RZ_NODE_ID_BYTES],
                          const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t now_ms,
                          recovery_grant *g, rz_error *err) RZ_WUR;

/* Prints every grant, newest first (recover-grant --list). */
int recovery_grant_list(log_store *s, FILE *out, rz_error *err) RZ_WUR;

/* Restore (server/backup.c): re-applies a journaled grant or its use when
 * the restored store lacks it; *applied = 1 when it changed something. */
int recovery_replay_grant(log_store *s, const recovery_grant *g, int *applied, rz_error *err)
    RZ_WUR;
int recovery_replay_used(log_store *s, const uint8_t new_id[RZ_NODE_ID_BYTES],
                         const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t granted_ms,
                         uint64_t used_ms, int cancelled, int *applied, rz_error *err) RZ_WUR;

/* Answers a FETCH of node_id (the authenticated connection's node) with one
 * CHUNK written into w (reset first).  Refusals: RZ_E_AUTH (no unused grant
 * for exactly this pair, or OLD's key changed since the grant), RZ_E_CHAIN
 * (from_seq beyond OLD's head + 1), RZ_E_BUSY/RZ_E_IO/RZ_E_INTERNAL. */
int recovery_fetch(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], const rz_msg *m,
                   uint64_t server_ms, mpk_writer *w, rz_error *err) RZ_WUR;

/* Answers a FETCH_DONE: the node's head must be OLD's stored head
 * (RZ_E_CHAIN otherwise); the grant becomes used (*g filled, *newly = 1;
 * journal it) or already was for this pair (*newly = 0: a confirmation
 * whose answer was lost).  Writes FETCH_CLOSED into w. */
int recovery_done(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], const rz_msg *m,
                  uint64_t now_ms, mpk_writer *w, recovery_grant *g, int *newly, rz_error *err)
    RZ_WUR;

#endif
