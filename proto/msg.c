/* msg: encoding and strict decoding of the protocol's messages. */
#include "proto/msg.h"

#include <string.h>

#include "common/util.h"

static const mpk_limits msg_limits = {
    .max_depth = RZ_MAX_DEPTH,
    .max_items = RZ_MAX_REVEALS,
    .max_objects = 16 + RZ_MAX_BATCH_ENTRIES + 5 * RZ_MAX_REVEALS,
    .max_str = RZ_MAX_STR,
    /* The longest bin in a message is an entry; the others have fixed sizes
     * that the accessors check. */
    .max_bin = RZ_MAX_ENTRY_BYTES,
    .bin = "entry (bin)",
};

static void
msg_header(mpk_writer *w, size_t n, int type)
{
    mpk_w_array(w, n);
    mpk_w_uint(w, RZ_WIRE_SIGNATURE);
    mpk_w_uint(w, RZ_PROTO_VERSION);
    mpk_w_uint(w, (uint64_t)type);
}

void
msg_encode_hello(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES])
{
    msg_header(w, 5, RZ_MSG_HELLO);
    mpk_w_bin(w, node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(w, RZ_SCHEMA_MAX);
}

void
msg_encode_welcome(mpk_writer *w, uint64_t server_ms, uint32_t epoch, uint64_t head_seq,
                   const uint8_t head[RZ_HASH_BYTES], int quarantined)
{
    msg_header(w, 8, RZ_MSG_WELCOME);
    mpk_w_uint(w, server_ms);
    mpk_w_uint(w, epoch);
    mpk_w_uint(w, head_seq);
    mpk_w_bin(w, head, RZ_HASH_BYTES);
    mpk_w_bool(w, quarantined);
}

void
msg_encode_batch_begin(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch,
                       uint64_t first_seq, const uint8_t prev[RZ_HASH_BYTES], size_t nentries)
{
    msg_header(w, 10, RZ_MSG_BATCH);
    mpk_w_bin(w, node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(w, epoch);
    mpk_w_uint(w, first_seq);
    mpk_w_bin(w, prev, RZ_HASH_BYTES);
    mpk_w_array(w, nentries);
}

void
msg_encode_batch_reveals(mpk_writer *w, size_t nrev)
{
    mpk_w_array(w, nrev);
}

void
msg_encode_reveal(mpk_writer *w, uint32_t index, uint8_t field, const uint8_t salt[RZ_SALT_BYTES],
                  const char *value, size_t len)
{
    mpk_w_array(w, 4);
    mpk_w_uint(w, index);
    mpk_w_uint(w, field);
    mpk_w_bin(w, salt, RZ_SALT_BYTES);
    mpk_w_str(w, value, len);
}

void
msg_encode_batch_end(mpk_writer *w, const uint8_t sig[RZ_SIG_BYTES])
{
    mpk_w_bin(w, sig, RZ_SIG_BYTES);
}

void
msg_encode_ack(mpk_writer *w, uint64_t server_ms, uint32_t epoch, uint64_t first_seq,
               uint64_t last_seq, const uint8_t head[RZ_HASH_BYTES],
               const uint8_t receipt[RZ_SIG_BYTES], uint64_t applied)
{
    msg_header(w, 10, RZ_MSG_ACK);
    mpk_w_uint(w, server_ms);
    mpk_w_uint(w, epoch);
    mpk_w_uint(w, first_seq);
    mpk_w_uint(w, last_seq);
    mpk_w_bin(w, head, RZ_HASH_BYTES);
    mpk_w_bin(w, receipt, RZ_SIG_BYTES);
    mpk_w_uint(w, applied);
}

void
msg_encode_error(mpk_writer *w, uint64_t server_ms, int code, const char *text)
{
    size_t n = strlen(text);
    msg_header(w, 6, RZ_MSG_ERROR);
    mpk_w_uint(w, server_ms);
    mpk_w_uint(w, (uint64_t)(code < 0 ? -code : code));
    mpk_w_str(w, text, n > RZ_ERROR_TEXT - 1 ? RZ_ERROR_TEXT - 1 : n);
}

void
msg_encode_fork_report(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES],
                       const rz_fork_report *r, const uint8_t sig[RZ_SIG_BYTES])
{
    msg_header(w, 13, RZ_MSG_FORK_REPORT);
    mpk_w_bin(w, node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(w, r->epoch);
    mpk_w_uint(w, (uint64_t)r->reason);
    mpk_w_uint(w, r->seen_seq);
    mpk_w_bin(w, r->seen_hash, RZ_HASH_BYTES);
    if (r->have_own)
        mpk_w_bin(w, r->own_hash, RZ_HASH_BYTES);
    else
        mpk_w_nil(w);
    mpk_w_uint(w, r->head_seq);
    mpk_w_bin(w, r->head_hash, RZ_HASH_BYTES);
    mpk_w_uint(w, r->detected_ms);
    mpk_w_bin(w, sig, RZ_SIG_BYTES);
}

void
msg_encode_fetch(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES],
                 const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t from_seq)
{
    msg_header(w, 6, RZ_MSG_FETCH);
    mpk_w_bin(w, node_id, RZ_NODE_ID_BYTES);
    mpk_w_bin(w, old_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(w, from_seq);
}

void
msg_encode_chunk_begin(mpk_writer *w, uint64_t server_ms, const uint8_t old_id[RZ_NODE_ID_BYTES],
                       uint64_t head_seq, const uint8_t head[RZ_HASH_BYTES], size_t nkeys)
{
    msg_header(w, 14, RZ_MSG_CHUNK);
    mpk_w_uint(w, server_ms);
    mpk_w_bin(w, old_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(w, head_seq);
    mpk_w_bin(w, head, RZ_HASH_BYTES);
    mpk_w_array(w, nkeys);
}

void
msg_encode_chunk_key(mpk_writer *w, uint64_t from_seq, const uint8_t pk[RZ_PK_BYTES])
{
    mpk_w_array(w, 2);
    mpk_w_uint(w, from_seq);
    mpk_w_bin(w, pk, RZ_PK_BYTES);
}

void
msg_encode_chunk_entries(mpk_writer *w, uint32_t epoch, uint64_t first_seq, int final,
                         size_t nentries)
{
    mpk_w_uint(w, epoch);
    mpk_w_uint(w, first_seq);
    mpk_w_bool(w, final);
    mpk_w_array(w, nentries);
}

void
msg_encode_chunk_value(mpk_writer *w, uint32_t index, uint8_t field, const uint8_t *salt,
                       const char *value, size_t len)
{
    mpk_w_array(w, 4);
    mpk_w_uint(w, index);
    mpk_w_uint(w, field);
    if (salt && value) {
        mpk_w_bin(w, salt, RZ_SALT_BYTES);
        mpk_w_str(w, value, len);
    } else {
        mpk_w_nil(w); /* erased on a lawful request: absent, and said so */
        mpk_w_nil(w);
    }
}

void
msg_encode_chunk_sigs(mpk_writer *w, size_t nsigs)
{
    mpk_w_array(w, nsigs);
}

void
msg_encode_chunk_sig(mpk_writer *w, uint64_t last_seq, const uint8_t sig[RZ_SIG_BYTES])
{
    mpk_w_array(w, 2);
    mpk_w_uint(w, last_seq);
    mpk_w_bin(w, sig, RZ_SIG_BYTES);
}

void
msg_encode_fetch_done(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES],
                      const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t head_seq,
                      const uint8_t head[RZ_HASH_BYTES])
{
    msg_header(w, 7, RZ_MSG_FETCH_DONE);
    mpk_w_bin(w, node_id, RZ_NODE_ID_BYTES);
    mpk_w_bin(w, old_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(w, head_seq);
    mpk_w_bin(w, head, RZ_HASH_BYTES);
}

void
msg_encode_fetch_closed(mpk_writer *w, uint64_t server_ms, const uint8_t old_id[RZ_NODE_ID_BYTES],
                        uint64_t head_seq)
{
    msg_header(w, 6, RZ_MSG_FETCH_CLOSED);
    mpk_w_uint(w, server_ms);
    mpk_w_bin(w, old_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(w, head_seq);
}

/* The signed bytes of a fork report (layout in msg.h). */
static size_t
fork_report_bytes(uint8_t *m, const uint8_t *node_id, const rz_fork_report *r)
{
    static const uint8_t zeros[RZ_HASH_BYTES];
    size_t n = 0;
    memcpy(m, "RZ-FORK-1", 9), n += 9;
    memcpy(m + n, node_id, RZ_NODE_ID_BYTES), n += RZ_NODE_ID_BYTES;
    be32_put(m + n, r->epoch), n += 4;
    m[n++] = (uint8_t)r->reason;
    be64_put(m + n, r->seen_seq), n += 8;
    memcpy(m + n, r->seen_hash, RZ_HASH_BYTES), n += RZ_HASH_BYTES;
    m[n++] = (uint8_t)(r->have_own != 0);
    memcpy(m + n, r->have_own ? r->own_hash : zeros, RZ_HASH_BYTES), n += RZ_HASH_BYTES;
    be64_put(m + n, r->head_seq), n += 8;
    memcpy(m + n, r->head_hash, RZ_HASH_BYTES), n += RZ_HASH_BYTES;
    be64_put(m + n, r->detected_ms), n += 8;
    return n;
}

#define FORK_REPORT_BYTES (9 + RZ_NODE_ID_BYTES + 4 + 1 + 8 + 3 * RZ_HASH_BYTES + 1 + 8 + 8)

void
msg_fork_report_sign(uint8_t sig[RZ_SIG_BYTES], const rz_identity *id,
                     const uint8_t node_id[RZ_NODE_ID_BYTES], const rz_fork_report *r)
{
    uint8_t m[FORK_REPORT_BYTES];
    size_t n = fork_report_bytes(m, node_id, r);
    crypto_sign_detached(sig, NULL, m, n, id->sk);
}

int
msg_fork_report_verify(const uint8_t sig[RZ_SIG_BYTES], const uint8_t pk[RZ_PK_BYTES],
                       const uint8_t node_id[RZ_NODE_ID_BYTES], const rz_fork_report *r)
{
    uint8_t m[FORK_REPORT_BYTES];
    size_t n = fork_report_bytes(m, node_id, r);
    return crypto_sign_verify_detached(sig, m, n, pk) == 0 ? 0 : RZ_E_SIGNATURE;
}

static int
get_u32(const msgpack_object *o, uint32_t *v)
{
    uint64_t u;
    if (mpk_uint(o, &u) || u > UINT32_MAX)
        return RZ_E_DECODE;
    *v = (uint32_t)u;
    return 0;
}

static int
get_fixed(const msgpack_object *o, uint8_t *out, size_t n)
{
    const uint8_t *p;
    if (mpk_bin(o, n, &p, NULL))
        return RZ_E_DECODE;
    memcpy(out, p, n);
    return 0;
}

static int
decode_batch(const msgpack_object *a, msgpack_zone *z, rz_msg *m, rz_error *err)
{
    const msgpack_object *ents, *revs;
    size_t i, n, nr;
    if (get_fixed(&a[3], m->node_id, RZ_NODE_ID_BYTES) || get_u32(&a[4], &m->epoch) ||
        mpk_uint(&a[5], &m->first_seq) || get_fixed(&a[6], m->prev, RZ_HASH_BYTES) ||
        mpk_array(&a[7], 0, &ents, &n) || mpk_array(&a[8], 0, &revs, &nr) ||
        get_fixed(&a[9], m->sig, RZ_SIG_BYTES))
        return rz_fail(err, RZ_E_DECODE, "BATCH fields have wrong types");
    if (n == 0)
        return rz_fail(err, RZ_E_DECODE, "BATCH carries no entries");
    if (n > RZ_MAX_BATCH_ENTRIES)
        return rz_fail(err, RZ_E_TOOBIG, "BATCH of %zu entries exceeds %d", n,
                       RZ_MAX_BATCH_ENTRIES);
    if (m->first_seq == 0 || m->first_seq > UINT64_MAX - n)
        return rz_fail(err, RZ_E_DECODE, "BATCH first sequence out of range");
    m->nentries = n;
    m->entry = msgpack_zone_malloc(z, n * sizeof *m->entry);
    m->entry_len = msgpack_zone_malloc(z, n * sizeof *m->entry_len);
    m->reveals = msgpack_zone_malloc(z, (nr ? nr : 1) * sizeof *m->reveals);
    if (!m->entry || !m->entry_len || !m->reveals)
        return rz_fail(err, RZ_E_NOMEM, "out of memory decoding BATCH");
    for (i = 0; i < n; i++)
        if (mpk_bin(&ents[i], 0, &m->entry[i], &m->entry_len[i]))
            return rz_fail(err, RZ_E_DECODE, "BATCH entry %zu is not bin", i);
    m->nreveals = nr;
    for (i = 0; i < nr; i++) {
        const msgpack_object *r;
        uint32_t idx, field;
        rz_reveal *rv = &m->reveals[i];
        if (mpk_array(&revs[i], 4, &r, NULL) || get_u32(&r[0], &idx) || get_u32(&r[1], &field) ||
            mpk_bin(&r[2], RZ_SALT_BYTES, &rv->salt, NULL) || mpk_str(&r[3], &rv->value, &rv->len))
            return rz_fail(err, RZ_E_DECODE, "BATCH reveal %zu malformed", i);
        if (rv->len > RZ_MAX_STR)
            return rz_fail(err, RZ_E_TOOBIG, "BATCH reveal %zu value exceeds %d bytes", i,
                           RZ_MAX_STR);
        if (idx >= n || field > 255)
            return rz_fail(err, RZ_E_DECODE, "BATCH reveal %zu out of range", i);
        rv->index = idx;
        rv->field = (uint8_t)field;
    }
    return 0;
}

/* FORK_REPORT: every field typed and in range; own_hash nil or bin32. */
static int
decode_fork_report(const msgpack_object *a, rz_msg *m, rz_error *err)
{
    rz_fork_report *r = &m->fork;
    uint64_t reason;
    if (get_fixed(&a[3], m->node_id, RZ_NODE_ID_BYTES) || get_u32(&a[4], &r->epoch) ||
        mpk_uint(&a[5], &reason) || mpk_uint(&a[6], &r->seen_seq) ||
        get_fixed(&a[7], r->seen_hash, RZ_HASH_BYTES) || mpk_uint(&a[9], &r->head_seq) ||
        get_fixed(&a[10], r->head_hash, RZ_HASH_BYTES) || mpk_uint(&a[11], &r->detected_ms) ||
        get_fixed(&a[12], m->sig, RZ_SIG_BYTES))
        return rz_fail(err, RZ_E_DECODE, "malformed FORK_REPORT");
    if (a[8].type == MSGPACK_OBJECT_NIL)
        r->have_own = 0;
    else if (get_fixed(&a[8], r->own_hash, RZ_HASH_BYTES) == 0)
        r->have_own = 1;
    else
        return rz_fail(err, RZ_E_DECODE, "FORK_REPORT own_hash is neither bin32 nor nil");
    if (reason != RZ_FORK_SERVER_AHEAD && reason != RZ_FORK_DIFFERS)
        return rz_fail(err, RZ_E_DECODE, "FORK_REPORT reason %llu unknown",
                       (unsigned long long)reason);
    r->reason = (int)reason;
    return 0;
}

/* CHUNK (PROTOCOL §12.3): shapes, counts and ranges.  Whether the entries,
 * values and signatures are true is the node's to check. */
static int
decode_chunk(const msgpack_object *a, msgpack_zone *z, rz_msg *m, rz_error *err)
{
    const msgpack_object *keys, *ents, *vals, *sigs;
    size_t i, nk, n, nv, ns;
    uint64_t last;
    if (mpk_uint(&a[3], &m->server_ms) || get_fixed(&a[4], m->old_id, RZ_NODE_ID_BYTES) ||
        mpk_uint(&a[5], &m->head_seq) || get_fixed(&a[6], m->head, RZ_HASH_BYTES) ||
        mpk_array(&a[7], 0, &keys, &nk) || get_u32(&a[8], &m->epoch) ||
        mpk_uint(&a[9], &m->first_seq) || mpk_bool(&a[10], &m->final) ||
        mpk_array(&a[11], 0, &ents, &n) || mpk_array(&a[12], 0, &vals, &nv) ||
        mpk_array(&a[13], 0, &sigs, &ns))
        return rz_fail(err, RZ_E_DECODE, "CHUNK fields have wrong types");
    if (nk > RZ_FETCH_MAX_KEYS)
        return rz_fail(err, RZ_E_TOOBIG, "CHUNK of %zu keys exceeds %d", nk, RZ_FETCH_MAX_KEYS);
    if (n > RZ_MAX_BATCH_ENTRIES)
        return rz_fail(err, RZ_E_TOOBIG, "CHUNK of %zu entries exceeds %d", n,
                       RZ_MAX_BATCH_ENTRIES);
    if (nk == 0)
        return rz_fail(err, RZ_E_DECODE, "CHUNK names no key of the old node");
    if (m->head_seq == UINT64_MAX || m->first_seq == 0 || m->first_seq > m->head_seq + 1 ||
        (n > 0 && (n > m->head_seq || m->first_seq - 1 > m->head_seq - n)))
        return rz_fail(err, RZ_E_DECODE, "CHUNK range out of the old node's log");
    /* An empty chunk only says the log ends before first_seq: else a node
     * would ask for the same range forever. */
    if (n == 0 && m->first_seq != m->head_seq + 1)
        return rz_fail(err, RZ_E_DECODE, "CHUNK carries no entries before the old node's head");
    last = m->first_seq + n - 1; /* first_seq - 1 when empty */
    if (m->final != (last == m->head_seq))
        return rz_fail(err, RZ_E_DECODE, "CHUNK final flag contradicts its range");
    if (ns > n)
        return rz_fail(err, RZ_E_DECODE, "CHUNK carries more signatures than entries");
    m->nkeys = nk, m->nentries = n, m->nreveals = nv, m->nsigs = ns;
    m->keys = msgpack_zone_malloc(z, (nk ? nk : 1) * sizeof *m->keys);
    m->entry = msgpack_zone_malloc(z, (n ? n : 1) * sizeof *m->entry);
    m->entry_len = msgpack_zone_malloc(z, (n ? n : 1) * sizeof *m->entry_len);
    m->reveals = msgpack_zone_malloc(z, (nv ? nv : 1) * sizeof *m->reveals);
    m->sigs = msgpack_zone_malloc(z, (ns ? ns : 1) * sizeof *m->sigs);
    if (!m->keys || !m->entry || !m->entry_len || !m->reveals || !m->sigs)
        return rz_fail(err, RZ_E_NOMEM, "out of memory decoding CHUNK");
    for (i = 0; i < nk; i++) {
        const msgpack_object *k;
        if (mpk_array(&keys[i], 2, &k, NULL) || mpk_uint(&k[0], &m->keys[i].from_seq) ||
            mpk_bin(&k[1], RZ_PK_BYTES, &m->keys[i].pk, NULL))
            return rz_fail(err, RZ_E_DECODE, "CHUNK key %zu malformed", i);
        if (i > 0 && m->keys[i].from_seq <= m->keys[i - 1].from_seq)
            return rz_fail(err, RZ_E_DECODE, "CHUNK keys not ascending");
    }
    for (i = 0; i < n; i++)
        if (mpk_bin(&ents[i], 0, &m->entry[i], &m->entry_len[i]))
            return rz_fail(err, RZ_E_DECODE, "CHUNK entry %zu is not bin", i);
    for (i = 0; i < nv; i++) {
        const msgpack_object *r;
        uint32_t idx, field;
        rz_reveal *rv = &m->reveals[i];
        int erased;
        if (mpk_array(&vals[i], 4, &r, NULL) || get_u32(&r[0], &idx) || get_u32(&r[1], &field))
            return rz_fail(err, RZ_E_DECODE, "CHUNK value %zu malformed", i);
        erased = r[2].type == MSGPACK_OBJECT_NIL;
        if (erased != (r[3].type == MSGPACK_OBJECT_NIL))
            return rz_fail(err, RZ_E_DECODE, "CHUNK value %zu: salt and value must both be nil", i);
        if (erased) {
            rv->salt = NULL, rv->value = NULL, rv->len = 0;
        } else if (mpk_bin(&r[2], RZ_SALT_BYTES, &rv->salt, NULL) ||
                   mpk_str(&r[3], &rv->value, &rv->len)) {
            return rz_fail(err, RZ_E_DECODE, "CHUNK value %zu malformed", i);
        }
        if (rv->len > RZ_MAX_STR)
            return rz_fail(err, RZ_E_TOOBIG, "CHUNK value %zu exceeds %d bytes", i, RZ_MAX_STR);
        if (idx >= n || field == 0 || field > 255)
            return rz_fail(err, RZ_E_DECODE, "CHUNK value %zu out of range", i);
        if (i > 0 && (idx < m->reveals[i - 1].index ||
                      (idx == m->reveals[i - 1].index && field <= m->reveals[i - 1].field)))
            return rz_fail(err, RZ_E_DECODE, "CHUNK values not ascending by (index, field)");
        rv->index = idx;
        rv->field = (uint8_t)field;
    }
    for (i = 0; i < ns; i++) {
        const msgpack_object *g;
        if (mpk_array(&sigs[i], 2, &g, NULL) || mpk_uint(&g[0], &m->sigs[i].last_seq) ||
            mpk_bin(&g[1], RZ_SIG_BYTES, &m->sigs[i].sig, NULL))
            return rz_fail(err, RZ_E_DECODE, "CHUNK signature %zu malformed", i);
        if (m->sigs[i].last_seq < m->first_seq || m->sigs[i].last_seq > last ||
            (i > 0 && m->sigs[i].last_seq <= m->sigs[i - 1].last_seq))
            return rz_fail(err, RZ_E_DECODE,
                           "CHUNK signature %zu outside its entries or not "
                           "ascending",
                           i);
    }
    return 0;
}

int
msg_decode(const uint8_t *buf, size_t len, msgpack_zone *z, rz_msg *m, rz_error *err)
{
    msgpack_object root;
    const msgpack_object *a;
    size_t n;
    uint64_t sig, ver, type, code;
    const char *s;
    size_t slen;
    int rc;

    memset(m, 0, sizeof *m);
    if (len > RZ_MAX_FRAME)
        return rz_fail(err, RZ_E_TOOBIG, "frame of %zu bytes exceeds %d", len, RZ_MAX_FRAME);
    if ((rc = mpk_unpack(buf, len, &msg_limits, z, &root, err)) != 0)
        return rc;
    if (mpk_array(&root, 0, &a, &n) || n < 3 || mpk_uint(&a[0], &sig) || sig != RZ_WIRE_SIGNATURE)
        return rz_fail(err, RZ_E_DECODE, "not a Rozgar Sync message");
    if (mpk_uint(&a[1], &ver) || mpk_uint(&a[2], &type))
        return rz_fail(err, RZ_E_DECODE, "bad message header");
    if (ver != RZ_PROTO_VERSION)
        return rz_fail(err, RZ_E_VERSION, "protocol version %llu not supported (want %d): upgrade",
                       (unsigned long long)ver, RZ_PROTO_VERSION);
    m->version = (int)ver;
    m->type = (int)(type > 255 ? 0 : type);
    switch (type) {
    case RZ_MSG_HELLO:
        if (n != 5 || get_fixed(&a[3], m->node_id, RZ_NODE_ID_BYTES) ||
            mpk_uint(&a[4], &m->schema_max))
            return rz_fail(err, RZ_E_DECODE, "malformed HELLO");
        return 0;
    case RZ_MSG_WELCOME:
        if (n != 8 || mpk_uint(&a[3], &m->server_ms) || get_u32(&a[4], &m->epoch) ||
            mpk_uint(&a[5], &m->head_seq) || get_fixed(&a[6], m->head, RZ_HASH_BYTES) ||
            mpk_bool(&a[7], &m->quarantined))
            return rz_fail(err, RZ_E_DECODE, "malformed WELCOME");
        return 0;
    case RZ_MSG_BATCH:
        if (n != 10)
            return rz_fail(err, RZ_E_DECODE, "BATCH has %zu fields, want 10", n);
        return decode_batch(a, z, m, err);
    case RZ_MSG_ACK:
        if (n != 10 || mpk_uint(&a[3], &m->server_ms) || get_u32(&a[4], &m->epoch) ||
            mpk_uint(&a[5], &m->first_seq) || mpk_uint(&a[6], &m->last_seq) ||
            get_fixed(&a[7], m->head, RZ_HASH_BYTES) || get_fixed(&a[8], m->sig, RZ_SIG_BYTES) ||
            mpk_uint(&a[9], &m->applied))
            return rz_fail(err, RZ_E_DECODE, "malformed ACK");
        return 0;
    case RZ_MSG_ERROR:
        if (n != 6 || mpk_uint(&a[3], &m->server_ms) || mpk_uint(&a[4], &code) || code > 1000 ||
            mpk_str(&a[5], &s, &slen))
            return rz_fail(err, RZ_E_DECODE, "malformed ERROR");
        if (slen > RZ_MAX_STR)
            return rz_fail(err, RZ_E_TOOBIG, "ERROR message exceeds %d bytes", RZ_MAX_STR);
        m->code = -(int)code;
        if (slen >= sizeof m->text)
            slen = sizeof m->text - 1;
        memcpy(m->text, s, slen);
        m->text[slen] = '\0';
        return 0;
    case RZ_MSG_FORK_REPORT:
        if (n != 13)
            return rz_fail(err, RZ_E_DECODE, "FORK_REPORT has %zu fields, want 13", n);
        return decode_fork_report(a, m, err);
    case RZ_MSG_FETCH:
        if (n != 6 || get_fixed(&a[3], m->node_id, RZ_NODE_ID_BYTES) ||
            get_fixed(&a[4], m->old_id, RZ_NODE_ID_BYTES) || mpk_uint(&a[5], &m->first_seq) ||
            m->first_seq == 0)
            return rz_fail(err, RZ_E_DECODE, "malformed FETCH");
        return 0;
    case RZ_MSG_CHUNK:
        if (n != 14)
            return rz_fail(err, RZ_E_DECODE, "CHUNK has %zu fields, want 14", n);
        return decode_chunk(a, z, m, err);
    case RZ_MSG_FETCH_DONE:
        if (n != 7 || get_fixed(&a[3], m->node_id, RZ_NODE_ID_BYTES) ||
            get_fixed(&a[4], m->old_id, RZ_NODE_ID_BYTES) || mpk_uint(&a[5], &m->head_seq) ||
            get_fixed(&a[6], m->head, RZ_HASH_BYTES))
            return rz_fail(err, RZ_E_DECODE, "malformed FETCH_DONE");
        return 0;
    case RZ_MSG_FETCH_CLOSED:
        if (n != 6 || mpk_uint(&a[3], &m->server_ms) ||
            get_fixed(&a[4], m->old_id, RZ_NODE_ID_BYTES) || mpk_uint(&a[5], &m->head_seq))
            return rz_fail(err, RZ_E_DECODE, "malformed FETCH_CLOSED");
        return 0;
    default:
        return rz_fail(err, RZ_E_MSGTYPE, "unknown message type %llu", (unsigned long long)type);
    }
}
