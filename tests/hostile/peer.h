/*
 * peer: a node with full control over the bytes it sends, for the
 * hostile-input tests (tests/hostile/) and the fuzz seed generator.
 *
 * It loads a node key, connects a CURVE DEALER to a server, and builds
 * messages itself from the protocol modules (proto/entry.h, proto/msg.h,
 * common/crypto.h) so a test can send a correct BATCH or any corruption of
 * one.  It is not the node implementation (client/): it keeps no log on
 * disk beyond the accepted batches it was asked to save, and it never
 * retries.  Test code only: errors are reported, never repaired.
 */
#ifndef RZ_PEER_H
#define RZ_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/mpk.h"
#include "proto/entry.h"
#include "proto/msg.h"

#define PEER_MAX_ENTRIES 1100 /* room for the 1001-entry hostile batch */
#define PEER_ENTRY_CAP 4096   /* bytes of one built entry (hostile ones exceed 2048) */
#define PEER_MAX_REVEALS 3100 /* room for the 3001-reveal hostile batch */
#define PEER_VALUE_CAP 1024   /* bytes of one revealed value */

/* One node identity plus its view of the server (from WELCOME/ACK). */
typedef struct peer {
    void *zctx;                        /* ZeroMQ context (owned) */
    void *sock;                        /* current DEALER, or NULL */
    char endpoint[256];                /* server endpoint */
    char server_curve[RZ_Z85_KEY];     /* server CURVE public key, Z85 */
    int timeout_ms;                    /* receive timeout */
    int plain;                         /* 1: connect without CURVE (an outsider) */
    rz_identity id;                    /* node key pair; secret */
    uint8_t node_id[RZ_NODE_ID_BYTES]; /* node id */
    uint32_t epoch;                    /* epoch from the last WELCOME */
    uint64_t head_seq;                 /* server's head for us */
    uint8_t head[RZ_HASH_BYTES];       /* hash of head_seq */
    uint64_t server_ms;                /* server time last seen */
    int quarantined;                   /* from the last WELCOME */
    uint64_t hlc;                      /* last timestamp issued */
    uint64_t fixed_now_ms;             /* wall clock to use; 0: the real one */
    uint8_t *rbuf;                     /* last reply frame (owned) */
    size_t rlen;                       /* its length */
    msgpack_zone zone;                 /* decoded replies */
} peer;

/* Writes dir/node.key (0600) and dir/node.id for a fresh identity and
 * prints "enroll-token: rz1:<id>:<pk>" on stdout. */
int peer_keygen(const char *dir, rz_error *err) RZ_WUR;

/* Initialises p from dir/node.key and dir/node.id; no connection yet. */
int peer_load(peer *p, const char *dir, rz_error *err) RZ_WUR;
/* Initialises p from a fixed 32-byte seed and node id (fuzz corpus). */
void peer_init_seeded(peer *p, const uint8_t seed[32], const uint8_t node_id[8]);
void peer_free(peer *p);

/* Sets the server (endpoint, Ed25519 public key hex) to talk to. */
int peer_set_server(peer *p, const char *endpoint, const char *server_pk_hex, rz_error *err) RZ_WUR;
/* (Re)connects: closes the old socket and opens a new CURVE DEALER. */
int peer_connect(peer *p, rz_error *err) RZ_WUR;

/* Changes the receive timeout of p and of its current socket. */
void peer_set_timeout(peer *p, int ms);
/* Sends nparts frames.  0, RZ_E_TIMEOUT (no connection to queue on within
 * the timeout: a refused handshake ends it) or RZ_E_IO. */
int peer_send(peer *p, const void *const *parts, const size_t *lens, int nparts, rz_error *err)
    RZ_WUR;
/* Receives one reply within the timeout and decodes it into m (borrowing
 * from p).  RZ_E_TIMEOUT when nothing came, RZ_E_DECODE for a reply that
 * is not exactly one well-formed message. */
int peer_recv(peer *p, rz_msg *m, rz_error *err) RZ_WUR;

/* HELLO for `claimed` (normally p->node_id); on WELCOME updates p's view.
 * Returns 0 on WELCOME, the ERROR's code, or RZ_E_TIMEOUT. */
int peer_hello(peer *p, const uint8_t claimed[RZ_NODE_ID_BYTES], rz_error *err) RZ_WUR;

/* A revealed personal value. */
typedef struct pb_reveal {
    uint32_t index;              /* entry index */
    uint8_t field;               /* person field */
    uint8_t salt[RZ_SALT_BYTES]; /* commitment salt */
    char value[PEER_VALUE_CAP];  /* value bytes */
    size_t len;                  /* their length */
} pb_reveal;

/* A batch under construction: entries, reveals, header and signature,
 * each of which a test may corrupt before encoding. */
typedef struct pbatch {
    uint8_t node_id[RZ_NODE_ID_BYTES]; /* claimed node */
    uint32_t epoch;                    /* claimed epoch */
    uint64_t first_seq;                /* seq of entry 0 */
    uint8_t prev[RZ_HASH_BYTES];       /* hash before first_seq */
    size_t n;                          /* entries */
    uint8_t (*ent)[PEER_ENTRY_CAP];    /* entry bytes (owned) */
    size_t *len;                       /* entry lengths (owned) */
    size_t nrev;                       /* reveals */
    pb_reveal *rev;                    /* reveals (owned) */
    uint8_t sig[RZ_SIG_BYTES];         /* batch signature */
    uint8_t last_hash[RZ_HASH_BYTES];  /* head after signing */
} pbatch;

/* Empty batch continuing p's head (first_seq = head+1, prev = head). */
void pbatch_init(pbatch *b, const peer *p);
void pbatch_free(pbatch *b);
/* Loads a batch from an encoded BATCH frame (allocates like pbatch_init).
 * Returns 0 or the decoder's refusal. */
int pbatch_from_frame(pbatch *b, const uint8_t *buf, size_t len, rz_error *err) RZ_WUR;
/* Appends encoded entry bytes verbatim; returns its index. */
size_t pbatch_add_raw(pbatch *b, const uint8_t *bytes, size_t len);
/* Appends e (encoded by entry_encode). */
size_t pbatch_add_entry(pbatch *b, const rz_entry *e);
/* Appends a reveal of value for (index, field) and returns the commitment
 * to place in the entry (out: RZ_COMMIT_BYTES). */
void pbatch_reveal(pbatch *b, uint32_t index, uint8_t field, const char *value, size_t len,
                   uint8_t commit[RZ_COMMIT_BYTES]);

/* Person spec; NULL strings are left out, gender etc. < 0 left out. */
typedef struct pb_person {
    const char *cnic, *name, *phone;                   /* personal values (revealed) */
    size_t name_len;                                   /* 0: strlen(name) */
    const char *district;                              /* district of residence */
    size_t district_len;                               /* 0: strlen(district) */
    int64_t gender, birth_year, area, skill, reg_date; /* -1: absent */
} pb_person;

/* Appends a person entry (fresh id written to id_out if not NULL) with
 * commitments and reveals. */
size_t pbatch_add_person(pbatch *b, peer *p, const pb_person *ps, uint8_t id_out[16]);
size_t pbatch_add_event(pbatch *b, peer *p, const char *title, uint8_t id_out[16]);
size_t pbatch_add_attendance(pbatch *b, peer *p, const uint8_t event[16], const uint8_t person[16]);
/* Clock entry carrying p->server_ms. */
size_t pbatch_add_clock(pbatch *b, peer *p);
/* A clock entry with these raw times (hostile cases: no plausibility). */
size_t pbatch_add_clock_at(pbatch *b, peer *p, uint64_t server_ms, uint64_t local_ms);

/* Computes the chain from prev over the entries and signs the head with
 * key (as node_id, epoch).  Sets b->sig and b->last_hash. */
void pbatch_sign(pbatch *b, const rz_identity *key);
/* Encodes the BATCH message into w (reset first). */
void pbatch_encode(const pbatch *b, mpk_writer *w);

/* Next HLC timestamp of p. */
uint64_t peer_next_hlc(peer *p);

#endif
