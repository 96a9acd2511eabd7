/*
 * log_store: the append-only truth of the server, behind one narrow
 * interface.  It holds what headquarters decided (the enrollment register,
 * centres, nodes and their key history) and what the nodes signed (each
 * node's verified log, the batch signatures over it, the personal values
 * revealed with it, which stay erasable) and fork evidence.  Nothing derived
 * lives here: merged records, totals and the merger's positions are in the
 * state store (server/state_store.h), which can always be rebuilt from this.
 *
 * Who writes: ingest (one BATCH at a time, inside a group transaction that
 * serve.c commits before any ACK goes out) and the headquarters commands
 * (enroll, revoke, rekey, new-epoch, erase).  Who reads: ingest (the node's
 * head, the hash at a sequence for the gap and fork rules), the merger (a
 * node's entries in order, its clock entries, the CNIC facts of an entry),
 * rebuild (the audit), the HTTP and CLI figures (received counts).
 *
 * Contract any backend keeps (SQLite here; a PostgreSQL backend implements
 * the same functions without touching the protocol, the nodes or the merge
 * rules):
 *   - log_store_append_batch() is all-or-nothing together with the rest of
 *     the caller's transaction, and log_store_commit() returns only once the
 *     transaction is durable (SQLite: WAL with synchronous=FULL; PostgreSQL:
 *     synchronous_commit=on).  An ACK is sent only after that.
 *   - A node's log is never rewritten: entries below the head are immutable
 *     except that erasure may clear personal values (log_store_cnic() then
 *     reports MERGE_CNIC_ERASED with the same token).
 *   - Readers never block the writer and see a committed prefix.
 * The storage unit is the backend's choice (here the verified batch: one
 * row per stored BATCH, its entries as signed, the chain hash before and at
 * its end; clock entries and personal values apart): the interface exposes
 * per-entry lookup only where the protocol needs it (log_store_hash_at, the
 * clock look-ups, log_store_cnic) and otherwise streams (log_store_scan).
 *
 * Files of the SQLite backend, all in the server directory (back them up
 * together, see README "Backup"): server.db (with -wal/-shm while open) and
 * server.db.evidence (fork evidence, attached).  The state store's file is
 * listed in state_store.h.
 *
 * Not thread-safe: one log_store per thread (the merger opens its own).
 */
#ifndef RZ_LOG_STORE_H
#define RZ_LOG_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/rz_err.h"

#define LOG_STORE_FILE "server.db"                   /* in the server directory */
#define LOG_STORE_EVIDENCE_FILE "server.db.evidence" /* fork evidence */

typedef struct log_node {
    uint8_t node_id[RZ_NODE_ID_BYTES]; /* the node */
    int64_t centre_id;                 /* its centre */
    uint8_t sign_pk[RZ_PK_BYTES];      /* current signing key */
    char curve_pk[RZ_Z85_KEY];         /* derived transport key */
    int revoked;                       /* 1: refused */
    int quarantined;                   /* 1: fork detected, waiting for HQ */
    uint32_t epoch;                    /* current log epoch */
    uint64_t head_seq;                 /* last stored sequence (0: none) */
    uint8_t head_hash[RZ_HASH_BYTES];  /* hash of that entry (zeros: none) */
    uint64_t last_sync_ms;             /* operational: last batch with new entries (last data) */
    int64_t clock_offset_ms;           /* operational: node clock - server clock */
} log_node;

/* A personal value revealed with a new entry (PROTOCOL §4.3), with what the
 * server derived from it: for the CNIC field its state (enum
 * merge_cnic_state: VALID or INVALID) and, when valid, the link token. */
typedef struct log_pii {
    uint64_t seq;         /* the entry */
    uint8_t field;        /* personal field id (RZ_PF_*) */
    const uint8_t *salt;  /* RZ_SALT_BYTES */
    const char *value;    /* the value, len bytes, not NUL-terminated */
    size_t len;           /* its length */
    int cnic_state;       /* 0 for fields other than the CNIC */
    const uint8_t *token; /* 16 bytes when cnic_state is VALID, else NULL */
} log_pii;

/* The new part of one verified batch: entries first_seq .. first_seq + n - 1
 * (those the server did not hold yet), and the signature over the batch's
 * head.  Borrowed pointers; the store copies what it keeps. */
typedef struct log_batch {
    const uint8_t *node_id;               /* RZ_NODE_ID_BYTES */
    uint32_t epoch;                       /* the batch's epoch */
    uint64_t first_seq;                   /* first new entry */
    size_t n;                             /* new entries (may be 0: signature only) */
    const uint8_t *const *entry;          /* n encoded entries, as signed */
    const size_t *entry_len;              /* their lengths */
    const uint8_t (*hash)[RZ_HASH_BYTES]; /* n chain hashes */
    const uint8_t *prev;                  /* RZ_HASH_BYTES: hash of entry first_seq - 1 (zeros
                                             before seq 1); NULL: the store looks it up */
    const int64_t *clock_ms;              /* n: server_ms of a clock entry, -1 otherwise */
    uint64_t sig_first_seq;               /* first sequence of the batch as sent */
    uint64_t sig_last_seq;                /* last sequence: the signed head */
    const uint8_t *sig;                   /* RZ_SIG_BYTES over that head */
    const uint8_t *sign_pk;               /* RZ_PK_BYTES: the key that signed it */
    const log_pii *pii;                   /* reveals of the new entries */
    size_t npii;                          /* their number */
} log_batch;

typedef struct log_store log_store;

/* Opens (creating) dir/server.db and dir/server.db.evidence with their
 * schema and the server's CNIC pepper.  *out owned by the caller
 * (log_store_close).  RZ_E_IO when the files cannot be opened. */
int log_store_open(log_store **out, const char *dir, rz_error *err) RZ_WUR;
/* Same, on an explicit file path (tests, tools). */
int log_store_open_path(log_store **out, const char *path, rz_error *err) RZ_WUR;
void log_store_close(log_store **s);

/* SQLite backend only: the connection, for read-only reports (CLI listings,
 * the audit, erasure).  Code that must work on any backend uses the
 * functions below. */
sqlite3 *log_store_db(log_store *s);

/* One write transaction (BEGIN IMMEDIATE).  commit returns only when the
 * transaction is durable; RZ_E_BUSY when it could not be (disk full, I/O,
 * lock): nothing of it is kept and the caller answers BUSY. */
int log_store_begin(log_store *s, rz_error *err) RZ_WUR;
int log_store_commit(log_store *s, rz_error *err) RZ_WUR;
void log_store_rollback(log_store *s);

/* The server's key for CNIC link tokens (created once, kept in the store,
 * never logged).  Borrowed, RZ_HASH_BYTES long. */
const uint8_t *log_store_pepper(log_store *s);

/* Nodes.  RZ_E_NOTFOUND when not enrolled. */
int log_store_node_get(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], log_node *n,
                       rz_error *err) RZ_WUR;
int log_store_node_by_curve(log_store *s, const char *curve_pk, log_node *n, rz_error *err) RZ_WUR;
/* Writes the operational fields (quarantined, head, last sync, clock
 * offset) of an enrolled node; identity and keys change only through the
 * register functions below. */
int log_store_node_update(log_store *s, const log_node *n, rz_error *err) RZ_WUR;
/* Operational: an enrolled node was heard from (a HELLO), whether or not
 * it had anything new.  Staleness is judged by contact; last_sync_ms is
 * the last data. */
int log_store_node_contact(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t now_ms,
                           rz_error *err) RZ_WUR;
/* Calls fn for every enrolled node (revoked ones included) in node id
 * order; a non-zero return from fn stops and is returned. */
typedef int (*log_store_node_fn)(const log_node *n, void *arg);
int log_store_nodes(log_store *s, log_store_node_fn fn, void *arg, rz_error *err) RZ_WUR;

/* Register: each call appends a version to the enrollment register, in its
 * own transaction (not inside log_store_begin). */
int log_store_enroll(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES],
                     const uint8_t sign_pk[RZ_PK_BYTES], const char *centre, int programme,
                     const char *province, const char *district, rz_error *err) RZ_WUR;
int log_store_revoke(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], rz_error *err) RZ_WUR;
int log_store_rekey(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES],
                    const uint8_t sign_pk[RZ_PK_BYTES], rz_error *err) RZ_WUR;
/* Headquarters renames (new_name) or moves (province, district; official
 * names) a centre: the centre row changes and the change is appended to the
 * register as a new version (*version), with the centre's id, so the place
 * of every centre at any version can be replayed (totals by place under an
 * older version: rozgar-server totals --register-version N).  Facts keep
 * their centre; nothing else changes.  RZ_E_NOTFOUND for an unknown centre,
 * RZ_E_EXISTS when new_name is taken. */
int log_store_centre_change(log_store *s, const char *centre, const char *new_name,
                            const char *province, const char *district, int64_t *version,
                            rz_error *err) RZ_WUR;
/* HQ authorises a new epoch after a fork: clears quarantine, epoch+1,
 * continuing from the stored head. */
int log_store_new_epoch(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], rz_error *err)
    RZ_WUR;

/* Log, write side (inside log_store_begin).  Appends the new entries, their
 * personal values and the batch signature; the caller then updates the
 * node's head with log_store_node_update in the same transaction.  The new
 * entries must continue the stored log (first_seq = last stored + 1), else
 * RZ_E_CHAIN and nothing is written. */
int log_store_append_batch(log_store *s, const log_batch *b, rz_error *err) RZ_WUR;
/* Keeps an authentic batch that rewrites history, with the reason. */
int log_store_fork_evidence(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch,
                            uint64_t seq, const uint8_t *msg, size_t len, const char *reason,
                            rz_error *err) RZ_WUR;

/* PROTOCOL §5 and §11: the import of a USB bundle closes its entries.  When
 * no clock entry follows entry seq of the node's log (none in seq..head),
 * records server_ms (the import time) as the clock time of entry seq, which
 * then ends a merge segment like a clock entry (the merger skips clock
 * entries only, so entry seq itself is merged); *closed = 1.  When one
 * follows already (a live sync or an earlier import closed it), nothing
 * changes and *closed = 0.  Inside log_store_begin; kept in the log, so a
 * rebuild reproduces it. */
int log_store_close_import(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t seq,
                           uint64_t head, uint64_t server_ms, int *closed, rz_error *err) RZ_WUR;

/* Log, read side. */
/* Chain hash of the stored entry seq; RZ_E_NOTFOUND when not stored. */
int log_store_hash_at(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t seq,
                      uint8_t hash[RZ_HASH_BYTES], rz_error *err) RZ_WUR;
/* The first clock entry after seq `after` (and at most `upto`): its
 * sequence in *seq and server time in *server_ms; *seq = 0 when none. */
int log_store_next_clock(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t after,
                         uint64_t upto, uint64_t *seq, uint64_t *server_ms, rz_error *err) RZ_WUR;
/* The last clock entry at or below upto: *seq = 0 when none. */
int log_store_last_clock(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t upto,
                         uint64_t *seq, rz_error *err) RZ_WUR;
/* Streams entries from..to (inclusive) in sequence order to fn; the entry
 * bytes are valid during the call only.  A non-zero return from fn stops
 * the scan and is returned.  Memory does not grow with the range. */
typedef int (*log_store_entry_fn)(uint64_t seq, const uint8_t *entry, size_t len, void *arg);
int log_store_scan(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t from,
                   uint64_t to, log_store_entry_fn fn, void *arg, rz_error *err) RZ_WUR;
/* Audit: recomputes a node's chain from its stored entries, seq 1 to the
 * last, calling fn(seq, epoch, hash) for each (a non-zero return stops and
 * is returned), and checks the chain hashes the store keeps for its own
 * look-ups (log_store_hash_at, the head) against it.  RZ_E_CHAIN for a gap
 * or a stored hash that is not the chain's, RZ_E_IO for damaged rows. */
typedef int (*log_store_chain_fn)(uint64_t seq, uint32_t epoch, const uint8_t hash[RZ_HASH_BYTES],
                                  void *arg);
int log_store_chain(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], log_store_chain_fn fn,
                    void *arg, rz_error *err) RZ_WUR;
/* Erasure's search: calls fn for every stored entry, of any node, whose
 * bytes contain pattern (plen bytes; the caller decodes to confirm).  The
 * entry bytes are valid during the call only; a non-zero return from fn
 * stops and is returned.  Reads the whole log (erasure is rare). */
typedef int (*log_store_match_fn)(const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t seq,
                                  const uint8_t *entry, size_t len, void *arg);
int log_store_grep(log_store *s, const uint8_t *pattern, size_t plen, log_store_match_fn fn,
                   void *arg, rz_error *err) RZ_WUR;
/* What the server learned about the CNIC revealed with entry seq: *state
 * (enum merge_cnic_state: VALID, INVALID or ERASED; INVALID when the entry
 * committed to a CNIC that was never revealed) and the 16-byte token when
 * VALID or ERASED. */
int log_store_cnic(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t seq, int *state,
                   uint8_t token[16], rz_error *err) RZ_WUR;

/* Reading a log back whole, with what proves it (the recovery of a replaced
 * PC, PROTOCOL §12; server/recovery.c).  Each streams in order; a non-zero
 * return from fn stops and is returned; pointers are valid during the call. */
/* The node's key history: every key headquarters enrolled for it, with the
 * first sequence number it signs for, ascending. */
typedef int (*log_store_key_fn)(uint64_t from_seq, const uint8_t pk[RZ_PK_BYTES], void *arg);
int log_store_keys(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], log_store_key_fn fn,
                   void *arg, rz_error *err) RZ_WUR;
/* The stored batch signatures whose signed head (last_seq) is in from..to,
 * ascending: the epoch and key they were made under. */
typedef int (*log_store_sig_fn)(uint64_t last_seq, uint32_t epoch, const uint8_t sig[RZ_SIG_BYTES],
                                const uint8_t pk[RZ_PK_BYTES], void *arg);
int log_store_sigs(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t from,
                   uint64_t to, log_store_sig_fn fn, void *arg, rz_error *err) RZ_WUR;
/* The personal values revealed with entries from..to, by (seq, field); salt
 * and value are NULL for a value erased on a lawful request. */
typedef int (*log_store_pii_fn)(uint64_t seq, uint8_t field, const uint8_t *salt, const char *value,
                                size_t len, void *arg);
int log_store_pii_scan(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t from,
                       uint64_t to, log_store_pii_fn fn, void *arg, rz_error *err) RZ_WUR;

#endif
