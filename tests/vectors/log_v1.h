/*
 * log_v1: the fixed inputs of the published RZSYNC/1 test vectors and the
 * computation of every output from them with the project's own library
 * (PROTOCOL.md §8).  Shared by tests/vectors/gen_vectors.c, which writes
 * log_v1.txt, and tests/unit/test_vectors.c, which recomputes every line and
 * compares it byte for byte with the committed file, so any change to the
 * entry encoding, the message encoding, the chain hash, the signatures or the
 * commitments breaks the test.
 *
 * Output is a sequence of (key, value) lines handed to an emit callback.
 * Binary values are lowercase hex, integers decimal, strings verbatim.
 * Header-only (static functions) because it is compiled into a test that the
 * unit-test glob builds from one source file.
 */
#ifndef RZ_TESTS_LOG_V1_H
#define RZ_TESTS_LOG_V1_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/crypto.h"
#include "common/hlc.h"
#include "common/util.h"
#include "proto/entry.h"
#include "proto/msg.h"

#define V1_ENTRIES 5
#define V1_REVEALS 4

/* Wall clock of the node when it recorded entry 1: 2026-03-15 10:00:00 PKT. */
#define V1_T1_MS 1773550800000ull
#define V1_LOCAL_MS (V1_T1_MS + 7200000ull)  /* node clock at sync, 12:00 */
#define V1_SERVER_MS (V1_LOCAL_MS + 2500ull) /* WELCOME time: server 2.5 s ahead */
#define V1_ACK_MS (V1_SERVER_MS + 1500ull)   /* time in the ACK and receipt */

/* HLC of each entry, as the node's clock issues them (hlc.h). */
static const uint64_t v1_hlc[V1_ENTRIES] = {
    V1_T1_MS << 16,                    /* 1 person created */
    (V1_T1_MS + 60000ull) << 16,       /* 2 event created a minute later */
    ((V1_T1_MS + 60000ull) << 16) + 1, /* 3 attendance in the same millisecond */
    (V1_T1_MS + 3600000ull) << 16,     /* 4 person edited an hour later */
    (V1_SERVER_MS << 16) + 1,          /* 5 clock: folded the server time in */
};

/* A personal value revealed beside its commitment. */
typedef struct v1_reveal {
    uint32_t index;    /* entry index within the batch (0-based) */
    uint8_t field;     /* person field id */
    uint8_t salt0;     /* salt is the 16 bytes salt0, salt0+1, ... */
    const char *value; /* the value (fictitious) */
} v1_reveal;

static const v1_reveal v1_reveals[V1_REVEALS] = {
    {0, RZ_PF_CNIC, 0x40, "3520212345671"},
    {0, RZ_PF_NAME, 0x50, "Ayesha Khan"},
    {0, RZ_PF_PHONE, 0x60, "+923001234567"},
    {3, RZ_PF_PHONE, 0x70, "+923331234567"},
};

typedef void (*v1_emit_fn)(void *ctx, const char *key, const char *value);

/* Emit helpers: a formatted key with a hex, decimal or string value. */
typedef struct v1_out {
    v1_emit_fn emit; /* callback */
    void *ctx;       /* its context */
} v1_out;

static void
v1_hex(v1_out *o, const char *key, const uint8_t *p, size_t n)
{
    char buf[2 * 4096 + 1];
    if (n > 4096) {
        o->emit(o->ctx, key, "(too long)");
        return;
    }
    hex_encode(buf, p, n);
    o->emit(o->ctx, key, buf);
}

static void
v1_u64(v1_out *o, const char *key, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    o->emit(o->ctx, key, buf);
}

static void
v1_seq_bytes(uint8_t *p, size_t n, uint8_t first)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(first + i);
}

static void
v1_identity(rz_identity *id, uint8_t first)
{
    uint8_t seed[32];
    v1_seq_bytes(seed, 32, first);
    memset(id, 0, sizeof *id);
    crypto_sign_seed_keypair(id->pk, id->sk, seed);
    if (identity_derive_curve(id) != 0)
        memset(id->curve_pk, 0, sizeof id->curve_pk);
}

/* Commitment of reveal r. */
static void
v1_commit(uint8_t out[RZ_COMMIT_BYTES], const v1_reveal *r)
{
    uint8_t salt[RZ_SALT_BYTES];
    v1_seq_bytes(salt, RZ_SALT_BYTES, r->salt0);
    pii_commit(out, salt, r->value, strlen(r->value));
}

/* Id of a record created at hlc by node: be64(hlc) || node id. */
static void
v1_record_id(uint8_t out[16], uint64_t hlc, const uint8_t node[8])
{
    be64_put(out, hlc);
    memcpy(out + 8, node, 8);
}

/* Appends entry i of the log to w (bytes are what entry_encode produces). */
static void
v1_entry(mpk_writer *w, int i, const uint8_t node[8])
{
    uint8_t person[16], event[16], att[32], c[V1_REVEALS][RZ_COMMIT_BYTES];
    rz_entry e;
    size_t r;
    for (r = 0; r < V1_REVEALS; r++)
        v1_commit(c[r], &v1_reveals[r]);
    v1_record_id(person, v1_hlc[0], node);
    v1_record_id(event, v1_hlc[1], node);
    memcpy(att, event, 16);
    memcpy(att + 16, person, 16);
    memset(&e, 0, sizeof e);
    e.schema = RZ_SCHEMA_CURRENT;
    e.hlc = v1_hlc[i];
    e.op = RZ_OP_SET;
#define V1_F(fid, val) (e.fields[e.nfields].id = (fid), e.fields[e.nfields++].v = (val))
    switch (i) {
    case 0:
        e.table = RZ_T_PERSON, e.key = person, e.key_len = 16;
        V1_F(RZ_PF_CNIC, rz_bin(c[0], 16));
        V1_F(RZ_PF_NAME, rz_bin(c[1], 16));
        V1_F(RZ_PF_PHONE, rz_bin(c[2], 16));
        V1_F(RZ_PF_GENDER, rz_uint(RZ_G_FEMALE));
        V1_F(RZ_PF_BIRTH_YEAR, rz_uint(2001));
        V1_F(RZ_PF_DISTRICT, rz_str("Lahore"));
        V1_F(RZ_PF_AREA, rz_uint(RZ_AREA_RURAL));
        V1_F(RZ_PF_SKILL, rz_uint(RZ_SK_WHITE));
        V1_F(RZ_PF_SKILLS, rz_str("graphic design"));
        V1_F(RZ_PF_PLATFORMS, rz_str("fiverr"));
        V1_F(RZ_PF_REG_DATE, rz_uint(20260315));
        break;
    case 1:
        e.table = RZ_T_EVENT, e.key = event, e.key_len = 16;
        V1_F(RZ_EF_KIND, rz_uint(RZ_EK_FINLIT));
        V1_F(RZ_EF_TITLE, rz_str("Freelancing and taxes"));
        V1_F(RZ_EF_DATE, rz_uint(20260315));
        V1_F(RZ_EF_DURATION, rz_uint(120));
        V1_F(RZ_EF_PARTNER, rz_str("Freelancers Association"));
        V1_F(RZ_EF_MODE, rz_uint(RZ_MODE_IN_PERSON));
        break;
    case 2:
        e.table = RZ_T_ATTENDANCE, e.key = att, e.key_len = 32;
        V1_F(RZ_AF_PRESENT, rz_bool(1));
        break;
    case 3:
        e.table = RZ_T_PERSON, e.key = person, e.key_len = 16;
        V1_F(RZ_PF_PHONE, rz_bin(c[3], 16));
        V1_F(RZ_PF_AREA, rz_uint(RZ_AREA_URBAN));
        break;
    default:
        e.table = RZ_T_CLOCK, e.key = NULL, e.key_len = 0;
        V1_F(RZ_CF_SERVER_MS, rz_uint(V1_SERVER_MS));
        V1_F(RZ_CF_LOCAL_MS, rz_uint(V1_LOCAL_MS));
        break;
    }
#undef V1_F
    entry_encode(w, &e);
}

/* "RZ-BATCH-1" || node || be32(epoch) || be64(last) || head, per §4.2. */
static size_t
v1_batch_signed(uint8_t *m, const uint8_t node[8], uint32_t epoch, uint64_t last,
                const uint8_t head[32])
{
    memcpy(m, "RZ-BATCH-1", 10);
    memcpy(m + 10, node, 8);
    be32_put(m + 18, epoch);
    be64_put(m + 22, last);
    memcpy(m + 30, head, 32);
    return 62;
}

/* "RZ-RECEIPT-1" || node || be32(epoch) || be64(first) || be64(last) || head
 * || be64(server_ms), per §4.2. */
static size_t
v1_receipt_signed(uint8_t *m, const uint8_t node[8], uint32_t epoch, uint64_t first, uint64_t last,
                  const uint8_t head[32], uint64_t ms)
{
    memcpy(m, "RZ-RECEIPT-1", 12);
    memcpy(m + 12, node, 8);
    be32_put(m + 20, epoch);
    be64_put(m + 24, first);
    be64_put(m + 32, last);
    memcpy(m + 40, head, 32);
    be64_put(m + 72, ms);
    return 80;
}

/* "RZ-ENTRY-1" || node || be32(epoch) || be64(seq) || prev || entry. */
static size_t
v1_chain_input(uint8_t *m, const uint8_t node[8], uint32_t epoch, uint64_t seq,
               const uint8_t prev[32], const uint8_t *entry, size_t len)
{
    memcpy(m, "RZ-ENTRY-1", 10);
    memcpy(m + 10, node, 8);
    be32_put(m + 18, epoch);
    be64_put(m + 22, seq);
    memcpy(m + 30, prev, 32);
    memcpy(m + 62, entry, len);
    return 62 + len;
}

static void
v1_keys(v1_out *o, const char *who, const rz_identity *id)
{
    char key[64];
    snprintf(key, sizeof key, "%s.seed", who);
    v1_hex(o, key, id->sk, 32);
    snprintf(key, sizeof key, "%s.pk", who);
    v1_hex(o, key, id->pk, 32);
    snprintf(key, sizeof key, "%s.curve_pk", who);
    o->emit(o->ctx, key, id->curve_pk);
}

/* Emits every line of log_v1.txt in order.  Returns 0, or -1 when an
 * encoder failed (then the output is incomplete). */
static int
v1_generate(v1_emit_fn emit, void *ctx)
{
    static const uint8_t node[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const uint32_t epoch = 0;
    v1_out o = {emit, ctx};
    rz_identity nid, sid;
    mpk_writer w, frame;
    uint8_t prev[32] = {0}, hash[32], sig[64], receipt[64], buf[4096];
    size_t ent_off[V1_ENTRIES + 1], n, r;
    char key[64];
    int i, rc = 0;

    v1_identity(&nid, 0x00);
    v1_identity(&sid, 0x20);
    mpk_w_init(&w);
    mpk_w_init(&frame);

    v1_keys(&o, "node", &nid);
    v1_hex(&o, "node.id", node, 8);
    v1_u64(&o, "node.epoch", epoch);
    v1_keys(&o, "server", &sid);

    for (r = 0; r < V1_REVEALS; r++) {
        uint8_t salt[16], c[16];
        v1_seq_bytes(salt, 16, v1_reveals[r].salt0);
        v1_commit(c, &v1_reveals[r]);
        snprintf(key, sizeof key, "reveal.%zu.index", r);
        v1_u64(&o, key, v1_reveals[r].index);
        snprintf(key, sizeof key, "reveal.%zu.field", r);
        v1_u64(&o, key, v1_reveals[r].field);
        snprintf(key, sizeof key, "reveal.%zu.salt", r);
        v1_hex(&o, key, salt, 16);
        snprintf(key, sizeof key, "reveal.%zu.value", r);
        emit(ctx, key, v1_reveals[r].value);
        snprintf(key, sizeof key, "reveal.%zu.commit", r);
        v1_hex(&o, key, c, 16);
    }

    /* entries, chained */
    for (i = 0; i < V1_ENTRIES; i++) {
        uint64_t seq = (uint64_t)i + 1;
        const uint8_t *eb;
        ent_off[i] = w.sb.size;
        v1_entry(&w, i, node);
        eb = (const uint8_t *)w.sb.data + ent_off[i];
        n = w.sb.size - ent_off[i];
        chain_hash(hash, node, epoch, seq, prev, eb, n);
        snprintf(key, sizeof key, "entry.%d.seq", i + 1);
        v1_u64(&o, key, seq);
        snprintf(key, sizeof key, "entry.%d.hlc", i + 1);
        v1_u64(&o, key, v1_hlc[i]);
        snprintf(key, sizeof key, "entry.%d.bytes", i + 1);
        v1_hex(&o, key, eb, n);
        snprintf(key, sizeof key, "entry.%d.prev", i + 1);
        v1_hex(&o, key, prev, 32);
        snprintf(key, sizeof key, "entry.%d.chain_input", i + 1);
        v1_hex(&o, key, buf, v1_chain_input(buf, node, epoch, seq, prev, eb, n));
        snprintf(key, sizeof key, "entry.%d.hash", i + 1);
        v1_hex(&o, key, hash, 32);
        memcpy(prev, hash, 32);
    }
    ent_off[V1_ENTRIES] = w.sb.size;

    /* batch signature over the head, and the BATCH frame */
    batch_sign(sig, &nid, node, epoch, V1_ENTRIES, hash);
    v1_u64(&o, "batch.first_seq", 1);
    v1_u64(&o, "batch.last_seq", V1_ENTRIES);
    v1_hex(&o, "batch.head", hash, 32);
    v1_hex(&o, "batch.signed", buf, v1_batch_signed(buf, node, epoch, V1_ENTRIES, hash));
    v1_hex(&o, "batch.signature", sig, 64);
    memset(prev, 0, 32);
    msg_encode_batch_begin(&frame, node, epoch, 1, prev, V1_ENTRIES);
    for (i = 0; i < V1_ENTRIES; i++)
        mpk_w_bin(&frame, w.sb.data + ent_off[i], ent_off[i + 1] - ent_off[i]);
    msg_encode_batch_reveals(&frame, V1_REVEALS);
    for (r = 0; r < V1_REVEALS; r++) {
        uint8_t salt[16];
        v1_seq_bytes(salt, 16, v1_reveals[r].salt0);
        msg_encode_reveal(&frame, v1_reveals[r].index, v1_reveals[r].field, salt,
                          v1_reveals[r].value, strlen(v1_reveals[r].value));
    }
    msg_encode_batch_end(&frame, sig);
    v1_hex(&o, "batch.frame", (const uint8_t *)frame.sb.data, frame.sb.size);
    rc |= frame.rc;

    /* the server's receipt and ACK */
    receipt_sign(receipt, &sid, node, epoch, 1, V1_ENTRIES, hash, V1_ACK_MS);
    v1_u64(&o, "receipt.server_ms", V1_ACK_MS);
    v1_hex(&o, "receipt.signed", buf,
           v1_receipt_signed(buf, node, epoch, 1, V1_ENTRIES, hash, V1_ACK_MS));
    v1_hex(&o, "receipt.signature", receipt, 64);
    mpk_w_reset(&frame);
    msg_encode_ack(&frame, V1_ACK_MS, epoch, 1, V1_ENTRIES, hash, receipt, V1_ENTRIES);
    v1_hex(&o, "ack.frame", (const uint8_t *)frame.sb.data, frame.sb.size);
    rc |= frame.rc;

    /* the other messages of the conversation */
    mpk_w_reset(&frame);
    msg_encode_hello(&frame, node);
    v1_hex(&o, "hello.frame", (const uint8_t *)frame.sb.data, frame.sb.size);
    rc |= frame.rc;
    mpk_w_reset(&frame);
    memset(prev, 0, 32);
    msg_encode_welcome(&frame, V1_SERVER_MS, epoch, 0, prev, 0);
    v1_hex(&o, "welcome.frame", (const uint8_t *)frame.sb.data, frame.sb.size);
    rc |= frame.rc;
    mpk_w_reset(&frame);
    msg_encode_error(&frame, V1_ACK_MS, RZ_E_CHAIN, "sequence gap");
    v1_hex(&o, "error.frame", (const uint8_t *)frame.sb.data, frame.sb.size);
    rc |= frame.rc | w.rc;

    mpk_w_free(&frame);
    mpk_w_free(&w);
    identity_wipe(&nid);
    identity_wipe(&sid);
    return rc ? -1 : 0;
}

#endif
