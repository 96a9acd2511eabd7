/*
 * bundle: the files of PROTOCOL.md §11 that carry a node's log to
 * headquarters without a network (a USB stick) and the signed receipts back.
 *
 * A bundle file is "RZB1" followed by chunks, each a big-endian u32 length
 * and a crypto_box_seal of one plaintext to the server's X25519 key (its
 * Ed25519 key converted): chunk 0 is the header (bundle_header), chunks
 * 1..nbatches are BATCH messages byte for byte as a live sync sends them.
 * A receipt file is "RZR1" followed by one msgpack array of receipts, in the
 * clear (they are signatures, not personal data).
 *
 * Sealing gives confidentiality only: anybody can seal to the server's key.
 * Authenticity comes from the node's signature on every batch, checked by
 * ingest exactly as for a live sync; the header is only a table of contents
 * that the reader checks the batches against.
 *
 * Decoders are bounded (RZ_BUNDLE_* limits) and refuse trailing bytes; they
 * tell truncation (RZ_E_DECODE "truncated") from tampering (RZ_E_SIGNATURE:
 * a chunk that does not open).  No I/O beyond the FILE given.
 */
#ifndef RZ_BUNDLE_H
#define RZ_BUNDLE_H

#include <stdint.h>
#include <sodium.h>
#include <stdio.h>

#include "common/crypto.h"
#include "common/mpk.h"
#include "common/rz_err.h"
#include "proto/wire.h"

#define RZ_BUNDLE_MAGIC "RZB1"
#define RZ_RECEIPTS_MAGIC "RZR1"
#define RZ_BUNDLE_MAGIC_LEN 4
#define RZ_BUNDLE_SEAL_BYTES 48                                   /* crypto_box_SEALBYTES */
#define RZ_BUNDLE_MAX_CHUNK (RZ_MAX_FRAME + RZ_BUNDLE_SEAL_BYTES) /* sealed chunk */
#define RZ_RECEIPTS_MAX_BYTES (64 + RZ_RECEIPTS_MAX * 160)        /* file bound */

/* Table of contents of a bundle (chunk 0). */
typedef struct bundle_header {
    uint8_t node_id[RZ_NODE_ID_BYTES]; /* the node whose log it carries */
    uint64_t made_ms;                  /* node wall clock at export (advice only) */
    uint32_t epoch;                    /* epoch of every batch */
    uint64_t first_seq, last_seq;      /* entries carried, contiguous */
    uint32_t nbatches;                 /* chunks after the header, 1..RZ_BUNDLE_MAX_BATCHES */
} bundle_header;

/* One signed receipt (an ACK's fields). */
typedef struct bundle_receipt {
    uint32_t epoch;               /* node epoch */
    uint64_t first_seq, last_seq; /* range acknowledged */
    uint8_t head[RZ_HASH_BYTES];  /* hash of last_seq */
    uint64_t server_ms;           /* server time of the import */
    uint8_t sig[RZ_SIG_BYTES];    /* receipt_sign() by the server */
} bundle_receipt;

/* Writing a bundle: chunks sealed to server_pk (Ed25519) and appended to f.
 * Sticky rc like mpk_writer. */
typedef struct bundle_writer {
    FILE *f;                                 /* borrowed */
    uint8_t x_pk[crypto_box_PUBLICKEYBYTES]; /* server's X25519 key */
    uint8_t *sealed;                         /* scratch for one sealed chunk */
    int rc;                                  /* first failure, or 0 */
} bundle_writer;

int bundle_writer_init(bundle_writer *w, FILE *f, const uint8_t server_pk[RZ_PK_BYTES],
                       rz_error *err) RZ_WUR;
/* Seals plain[0..len) (len <= RZ_MAX_FRAME) as the next chunk. */
int bundle_write_chunk(bundle_writer *w, const uint8_t *plain, size_t len, rz_error *err) RZ_WUR;
void bundle_writer_free(bundle_writer *w);

/* Reading: opens chunks with the server's identity. */
typedef struct bundle_reader {
    FILE *f;                                 /* borrowed */
    uint8_t x_pk[crypto_box_PUBLICKEYBYTES]; /* server's X25519 public key */
    uint8_t x_sk[crypto_box_SECRETKEYBYTES]; /* its secret key; wiped by free */
    uint8_t *sealed;                         /* one sealed chunk */
    uint8_t *plain;                          /* its plaintext */
    size_t plain_len;                        /* bytes in plain */
    unsigned long chunk;                     /* chunks read so far */
} bundle_reader;

/* Checks the magic.  RZ_E_DECODE when f is not a bundle. */
int bundle_reader_init(bundle_reader *r, FILE *f, const rz_identity *server, rz_error *err) RZ_WUR;
/* Next chunk's plaintext in r->plain/plain_len: 1, or 0 at a clean end of
 * file; RZ_E_DECODE (truncated or malformed framing), RZ_E_TOOBIG (a
 * length above the limit), RZ_E_SIGNATURE (does not open: tampered, or
 * sealed to another server). */
int bundle_read_chunk(bundle_reader *r, rz_error *err) RZ_WUR;
void bundle_reader_free(bundle_reader *r);

/* Header codec.  decode: RZ_E_DECODE / RZ_E_TOOBIG / RZ_E_VERSION /
 * RZ_E_MSGTYPE, never reading outside buf. */
void bundle_header_encode(mpk_writer *w, const bundle_header *h);
int bundle_header_decode(const uint8_t *buf, size_t len, bundle_header *h, rz_error *err) RZ_WUR;

/* Receipt file codec: "RZR1" + [0x525A, 1, 17, node_id, [[epoch, first, last,
 * head, server_ms, sig] ...]].  decode fills at most max receipts (the
 * caller's array) and refuses more. */
void bundle_receipts_encode(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES],
                            const bundle_receipt *r, size_t n);
int bundle_receipts_decode(const uint8_t *buf, size_t len, uint8_t node_id[RZ_NODE_ID_BYTES],
                           bundle_receipt *r, size_t max, size_t *n, rz_error *err) RZ_WUR;

#endif
