/*
 * crypto: every hash and signature the protocol defines, in one place, over
 * the exact byte layouts given in proto/PROTOCOL.md ("What is hashed and
 * signed").  Also key files: an identity is one Ed25519 key pair; its CurveZMQ
 * (X25519) transport keys are derived from it, so headquarters enrolls one
 * key per node and per server.
 *
 * Secret keys live only in rz_identity, are wiped by identity_wipe(), and are
 * stored in files of mode 0600.
 */
#ifndef RZ_CRYPTO_H
#define RZ_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "common/rz_err.h"

#define RZ_HASH_BYTES 32   /* BLAKE2b-256 chain hashes */
#define RZ_SIG_BYTES 64    /* Ed25519 signatures */
#define RZ_PK_BYTES 32     /* Ed25519 public key */
#define RZ_SK_BYTES 64     /* Ed25519 secret key (seed || pk) */
#define RZ_NODE_ID_BYTES 8 /* node ids are 8 random bytes */
#define RZ_SALT_BYTES 16   /* salt of a personal-value commitment */
#define RZ_COMMIT_BYTES 16 /* BLAKE2b-128 commitment of a personal value */
#define RZ_Z85_KEY 41      /* 40 Z85 chars + NUL (CurveZMQ key text) */

/* One Ed25519 key pair plus the derived CurveZMQ keys. */
typedef struct rz_identity {
    uint8_t pk[RZ_PK_BYTES];   /* Ed25519 public key (signing) */
    uint8_t sk[RZ_SK_BYTES];   /* Ed25519 secret key; secret */
    char curve_pk[RZ_Z85_KEY]; /* X25519 public key, Z85 */
    char curve_sk[RZ_Z85_KEY]; /* X25519 secret key, Z85; secret */
} rz_identity;

/* Must be called once before anything else here; 0 or RZ_E_INTERNAL. */
int crypto_init(void) RZ_WUR;

/* Fresh key pair. */
void identity_generate(rz_identity *id);
/* Fills curve_pk/curve_sk from pk/sk. */
int identity_derive_curve(rz_identity *id) RZ_WUR;
/* Z85 CurveZMQ public key of an Ed25519 public key (out: RZ_Z85_KEY). */
int curve_pk_from_sign_pk(char *out, const uint8_t pk[RZ_PK_BYTES]) RZ_WUR;
void identity_wipe(rz_identity *id);

/* Key file: the 64-byte secret key as 128 hex digits + newline, mode 0600.
 * identity_load refuses a file readable by group or others. */
int identity_save(const rz_identity *id, const char *path, rz_error *err) RZ_WUR;
int identity_load(rz_identity *id, const char *path, rz_error *err) RZ_WUR;

/* Chain hash of entry seq: BLAKE2b-256("RZ-ENTRY-1" || node_id || epoch(be32)
 * || seq(be64) || prev || entry bytes).  out: RZ_HASH_BYTES. */
void chain_hash(uint8_t *out, const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch, uint64_t seq,
                const uint8_t prev[RZ_HASH_BYTES], const uint8_t *entry, size_t entry_len);

/* Batch signature over "RZ-BATCH-1" || node_id || epoch(be32) || last_seq(be64)
 * || head hash. */
void batch_sign(uint8_t sig[RZ_SIG_BYTES], const rz_identity *id,
                const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch, uint64_t last_seq,
                const uint8_t head[RZ_HASH_BYTES]);
int batch_verify(const uint8_t sig[RZ_SIG_BYTES], const uint8_t pk[RZ_PK_BYTES],
                 const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch, uint64_t last_seq,
                 const uint8_t head[RZ_HASH_BYTES]) RZ_WUR;

/* Receipt signed by the server over "RZ-RECEIPT-1" || node_id || epoch(be32)
 * || first_seq(be64) || last_seq(be64) || head || server_ms(be64). */
void receipt_sign(uint8_t sig[RZ_SIG_BYTES], const rz_identity *server,
                  const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch, uint64_t first_seq,
                  uint64_t last_seq, const uint8_t head[RZ_HASH_BYTES], uint64_t server_ms);
int receipt_verify(const uint8_t sig[RZ_SIG_BYTES], const uint8_t server_pk[RZ_PK_BYTES],
                   const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch, uint64_t first_seq,
                   uint64_t last_seq, const uint8_t head[RZ_HASH_BYTES], uint64_t server_ms) RZ_WUR;

/* Commitment to a personal value: BLAKE2b-128("RZ-PII-1" || salt || value).
 * The log carries only this; the value travels beside it and can be erased. */
void pii_commit(uint8_t out[RZ_COMMIT_BYTES], const uint8_t salt[RZ_SALT_BYTES], const char *value,
                size_t len);

/* Server-side linking token of a CNIC: keyed BLAKE2b-128 under the server's
 * pepper, so identical CNICs link while the token reveals nothing offline. */
void cnic_token(uint8_t out[16], const uint8_t pepper[32], const char *cnic13);

#endif
