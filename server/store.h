/*
 * store: the central store behind one narrow interface.  Everything the
 * server persists goes through here: the enrollment register (versioned),
 * nodes and their key history, per-node logs with batch signatures,
 * erasable personal values, fork evidence, and the handle merge writes the
 * state and totals through.  A deployment that outgrows one machine
 * re-implements this interface over a distributed database; the protocol
 * and the nodes do not change.
 */
#ifndef RZ_STORE_H
#define RZ_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/rz_err.h"

typedef struct store_node {
    uint8_t node_id[RZ_NODE_ID_BYTES]; /* the node */
    int64_t centre_id;                 /* its centre */
    uint8_t sign_pk[RZ_PK_BYTES];      /* current signing key */
    char curve_pk[RZ_Z85_KEY];         /* derived transport key */
    int revoked;                       /* 1: refused */
    int quarantined;                   /* 1: fork detected, waiting for HQ */
    uint32_t epoch;                    /* current log epoch */
    uint64_t head_seq;                 /* last stored sequence (0: none) */
    uint8_t head_hash[RZ_HASH_BYTES];  /* hash of that entry (zeros: none) */
    uint64_t merged_seq;               /* last sequence merged */
    uint64_t last_clock_ms;            /* server time of last merged clock entry */
    uint64_t last_sync_ms;             /* operational: last batch with new entries (last data) */
    int64_t clock_offset_ms;           /* operational: node clock - server clock */
} store_node;

typedef struct store store;

/* Opens (creating) dir/server.db and its schema, merge's included. */
int store_open(store **out, const char *path, rz_error *err) RZ_WUR;
void store_close(store **s);
sqlite3 *store_db(store *s);

int store_begin(store *s, rz_error *err) RZ_WUR;
int store_commit(store *s, rz_error *err) RZ_WUR;
void store_rollback(store *s);

/* The server's pepper for CNIC tokens (created once). */
const uint8_t *store_pepper(store *s);

/* Nodes. */
int store_node_get(store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], store_node *n, rz_error *err)
    RZ_WUR;
int store_node_by_curve(store *s, const char *curve_pk, store_node *n, rz_error *err) RZ_WUR;
int store_node_update(store *s, const store_node *n, rz_error *err) RZ_WUR;

/* Register (each call appends a version to the enrollment register). */
int store_enroll(store *s, const uint8_t node_id[RZ_NODE_ID_BYTES],
                 const uint8_t sign_pk[RZ_PK_BYTES], const char *centre, int programme,
                 const char *province, const char *district, rz_error *err) RZ_WUR;
int store_revoke(store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], rz_error *err) RZ_WUR;
int store_rekey(store *s, const uint8_t node_id[RZ_NODE_ID_BYTES],
                const uint8_t sign_pk[RZ_PK_BYTES], rz_error *err) RZ_WUR;
/* HQ authorises a new epoch after a fork: clears quarantine, epoch+1,
 * continuing from the stored head. */
int store_new_epoch(store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], rz_error *err) RZ_WUR;

/* Operational: an enrolled node was heard from (a HELLO), whether or not
 * it had anything new.  Staleness is judged by contact; last_sync_ms is
 * the last data. */
int store_node_contact(store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t now_ms,
                       rz_error *err) RZ_WUR;

/* Headquarters renames (new_name) or moves (province, district; official
 * names) a centre: the centre row changes and the change is appended to the
 * register as a new version (*version), with the centre's id, so the place
 * of every centre at any version can be replayed (totals by place under an
 * older version: rozgar-server totals --register-version N).  Facts keep
 * their centre; nothing else changes.  RZ_E_NOTFOUND for an unknown centre,
 * RZ_E_EXISTS when new_name is taken. */
int store_centre_change(store *s, const char *centre, const char *new_name, const char *province,
                        const char *district, int64_t *version, rz_error *err) RZ_WUR;

/* Log.  clock_ms is the server time of a clock entry, -1 for other entries. */
int store_log_get(store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t seq,
                  uint8_t hash[RZ_HASH_BYTES], rz_error *err) RZ_WUR;
int store_log_append(store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch,
                     uint64_t seq, const uint8_t hash[RZ_HASH_BYTES], int64_t clock_ms,
                     const uint8_t *entry, size_t len, rz_error *err) RZ_WUR;
int store_batch_sig(store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch,
                    uint64_t first_seq, uint64_t last_seq, const uint8_t sig[RZ_SIG_BYTES],
                    const uint8_t sign_pk[RZ_PK_BYTES], rz_error *err) RZ_WUR;
int store_pii_put(store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t seq, uint8_t field,
                  const uint8_t salt[RZ_SALT_BYTES], const char *value, size_t len, int cnic_state,
                  const uint8_t token[16], rz_error *err) RZ_WUR;
int store_fork_evidence(store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch,
                        uint64_t seq, const uint8_t *msg, size_t len, const char *reason,
                        rz_error *err) RZ_WUR;

#endif
