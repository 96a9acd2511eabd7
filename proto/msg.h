/*
 * msg: the five protocol messages and their msgpack encoding.
 *
 * Every message is one ZeroMQ frame holding one msgpack array that starts
 * with [RZ_WIRE_SIGNATURE, RZ_PROTO_VERSION, type, ...]:
 *
 *   HELLO   [sig, ver, 1, node_id:bin8, schema_max:uint]
 *   WELCOME [sig, ver, 2, server_ms:uint, epoch:uint, head_seq:uint,
 *            head_hash:bin32, quarantined:bool]
 *   BATCH   [sig, ver, 3, node_id:bin8, epoch:uint, first_seq:uint,
 *            prev_hash:bin32, entries:[bin...], reveals:[[index, field, salt:bin16, value:str]...],
 *            signature:bin64]
 *   ACK     [sig, ver, 4, server_ms, epoch, first_seq, last_seq, head:bin32,
 *            receipt:bin64, applied:uint]
 *   ERROR   [sig, ver, 5, server_ms, code:uint, message:str]
 *   FORK_REPORT [sig, ver, 6, node_id:bin8, epoch:uint, reason:uint,
 *            seen_seq:uint, seen_hash:bin32, own_hash:bin32|nil, head_seq:uint,
 *            head_hash:bin32, detected_ms:uint, signature:bin64]
 *   FETCH   [sig, ver, 32, node_id:bin8, old_id:bin8, from_seq:uint]
 *   CHUNK   [sig, ver, 33, server_ms, old_id:bin8, head_seq, head_hash:bin32,
 *            keys:[[from_seq, pk:bin32]...], epoch, first_seq, final:bool,
 *            entries:[bin...], values:[[index, field, salt:bin16|nil, value:str|nil]...],
 *            sigs:[[last_seq, sig:bin64]...]]
 *   FETCH_DONE   [sig, ver, 34, node_id:bin8, old_id:bin8, head_seq, head_hash:bin32]
 *   FETCH_CLOSED [sig, ver, 35, server_ms, old_id:bin8, head_seq]
 *
 * Decoded messages borrow from the input buffer and the caller's zone.
 */
#ifndef RZ_MSG_H
#define RZ_MSG_H

#include <stdint.h>

#include "common/crypto.h"
#include "common/mpk.h"
#include "proto/wire.h"

/* A personal value revealed beside its commitment in an entry. */
typedef struct rz_reveal {
    uint32_t index;      /* entry index within the batch */
    uint8_t field;       /* person field id (CNIC, name, phone) */
    const uint8_t *salt; /* RZ_SALT_BYTES */
    const char *value;   /* UTF-8, not NUL-terminated */
    size_t len;          /* bytes of value */
} rz_reveal;

/* What a node saw when it caught a fork of its own log (PROTOCOL 4.8). */
typedef struct rz_fork_report {
    uint32_t epoch;                   /* the node's epoch */
    int reason;                       /* enum rz_fork_reason */
    uint64_t seen_seq;                /* the server's head, from the WELCOME */
    uint8_t seen_hash[RZ_HASH_BYTES]; /* its hash, from the WELCOME */
    int have_own;                     /* 1: the node holds an entry seen_seq */
    uint8_t own_hash[RZ_HASH_BYTES];  /* its hash there (zeros when !have_own) */
    uint64_t head_seq;                /* the node's own head */
    uint8_t head_hash[RZ_HASH_BYTES]; /* its hash (zeros when head_seq is 0) */
    uint64_t detected_ms;             /* the node's wall clock when it caught it */
} rz_fork_report;

/* One key of the old node's key history in a CHUNK (PROTOCOL §12). */
typedef struct rz_fetch_key {
    uint64_t from_seq; /* first sequence number it signed for */
    const uint8_t *pk; /* RZ_PK_BYTES, borrowed */
} rz_fetch_key;

/* One batch signature in a CHUNK: over the chain hash at last_seq. */
typedef struct rz_fetch_sig {
    uint64_t last_seq;  /* the signed head */
    const uint8_t *sig; /* RZ_SIG_BYTES, borrowed */
} rz_fetch_sig;

typedef struct rz_msg {
    int type;                          /* enum rz_msg_type */
    int version;                       /* protocol version of the message */
    uint8_t node_id[RZ_NODE_ID_BYTES]; /* HELLO, BATCH */
    uint64_t schema_max;               /* HELLO */
    uint64_t server_ms;                /* WELCOME, ACK, ERROR */
    uint32_t epoch;                    /* WELCOME, BATCH, ACK */
    uint64_t head_seq;                 /* WELCOME */
    uint8_t head[RZ_HASH_BYTES];       /* WELCOME, ACK */
    int quarantined;                   /* WELCOME */
    uint64_t first_seq;                /* BATCH, ACK */
    uint8_t prev[RZ_HASH_BYTES];       /* BATCH: hash before first_seq */
    uint64_t last_seq;                 /* ACK */
    size_t nentries;                   /* BATCH */
    const uint8_t **entry;             /* BATCH: entry bytes (zone array) */
    size_t *entry_len;                 /* BATCH: their lengths */
    size_t nreveals;                   /* BATCH */
    rz_reveal *reveals;                /* BATCH (zone array) */
    uint8_t sig[RZ_SIG_BYTES];         /* BATCH signature / ACK receipt */
    uint64_t applied;                  /* ACK: entries new to the server */
    int code;                          /* ERROR: positive rz_err code */
    char text[RZ_ERROR_TEXT];          /* ERROR: message, NUL-terminated */
    rz_fork_report fork;               /* FORK_REPORT (signature in sig) */
    uint8_t old_id[RZ_NODE_ID_BYTES];  /* FETCH, CHUNK, FETCH_DONE, FETCH_CLOSED */
    int final;                         /* CHUNK: its last entry is head_seq */
    size_t nkeys;                      /* CHUNK */
    rz_fetch_key *keys;                /* CHUNK (zone array) */
    size_t nsigs;                      /* CHUNK */
    rz_fetch_sig *sigs;                /* CHUNK (zone array) */
} rz_msg;

/* Decodes one frame.  Returns 0, RZ_E_DECODE, RZ_E_TOOBIG, RZ_E_VERSION
 * (wrong protocol version: reply and close) or RZ_E_MSGTYPE. */
int msg_decode(const uint8_t *buf, size_t len, msgpack_zone *z, rz_msg *m, rz_error *err) RZ_WUR;

/* Encoders append to w (check w->rc). */
void msg_encode_hello(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES]);
void msg_encode_welcome(mpk_writer *w, uint64_t server_ms, uint32_t epoch, uint64_t head_seq,
                        const uint8_t head[RZ_HASH_BYTES], int quarantined);
/* BATCH is written in three steps so entries stream straight from storage:
 * begin (then nentries entry_bin calls), reveals (then nrev reveal calls),
 * end with the signature. */
void msg_encode_batch_begin(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch,
                            uint64_t first_seq, const uint8_t prev[RZ_HASH_BYTES], size_t nentries);
void msg_encode_batch_reveals(mpk_writer *w, size_t nrev);
void msg_encode_reveal(mpk_writer *w, uint32_t index, uint8_t field,
                       const uint8_t salt[RZ_SALT_BYTES], const char *value, size_t len);
void msg_encode_batch_end(mpk_writer *w, const uint8_t sig[RZ_SIG_BYTES]);
void msg_encode_ack(mpk_writer *w, uint64_t server_ms, uint32_t epoch, uint64_t first_seq,
                    uint64_t last_seq, const uint8_t head[RZ_HASH_BYTES],
                    const uint8_t receipt[RZ_SIG_BYTES], uint64_t applied);
void msg_encode_error(mpk_writer *w, uint64_t server_ms, int code, const char *text);
void msg_encode_fork_report(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES],
                            const rz_fork_report *r, const uint8_t sig[RZ_SIG_BYTES]);

/* PROTOCOL §12, recovery of a replaced PC.  FETCH: node_id asks for the log
 * of old_id from from_seq.  CHUNK is written in steps like BATCH: begin
 * (then nkeys chunk_key calls), entries (then nentries raw entry bins),
 * batch_reveals (then chunk_value calls; salt and value NULL for an erased
 * value), sigs (then nsigs chunk_sig calls).  The caller bounds the counts
 * and the frame size (the decoder refuses what exceeds them). */
void msg_encode_fetch(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES],
                      const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t from_seq);
void msg_encode_chunk_begin(mpk_writer *w, uint64_t server_ms,
                            const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t head_seq,
                            const uint8_t head[RZ_HASH_BYTES], size_t nkeys);
void msg_encode_chunk_key(mpk_writer *w, uint64_t from_seq, const uint8_t pk[RZ_PK_BYTES]);
void msg_encode_chunk_entries(mpk_writer *w, uint32_t epoch, uint64_t first_seq, int final,
                              size_t nentries);
void msg_encode_chunk_value(mpk_writer *w, uint32_t index, uint8_t field, const uint8_t *salt,
                            const char *value, size_t len);
void msg_encode_chunk_sigs(mpk_writer *w, size_t nsigs);
void msg_encode_chunk_sig(mpk_writer *w, uint64_t last_seq, const uint8_t sig[RZ_SIG_BYTES]);
void msg_encode_fetch_done(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES],
                           const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t head_seq,
                           const uint8_t head[RZ_HASH_BYTES]);
void msg_encode_fetch_closed(mpk_writer *w, uint64_t server_ms,
                             const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t head_seq);

/* The node's Ed25519 signature over a fork report:
 *   "RZ-FORK-1" || node_id || be32(epoch) || u8(reason) || be64(seen_seq) ||
 *   seen_hash || u8(have_own) || own_hash || be64(head_seq) || head_hash ||
 *   be64(detected_ms)
 * msg_fork_report_verify returns 0 or RZ_E_SIGNATURE. */
void msg_fork_report_sign(uint8_t sig[RZ_SIG_BYTES], const rz_identity *id,
                          const uint8_t node_id[RZ_NODE_ID_BYTES], const rz_fork_report *r);
int msg_fork_report_verify(const uint8_t sig[RZ_SIG_BYTES], const uint8_t pk[RZ_PK_BYTES],
                           const uint8_t node_id[RZ_NODE_ID_BYTES], const rz_fork_report *r) RZ_WUR;

#endif
