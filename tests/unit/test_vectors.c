/*
 * test_vectors: the published test vectors ($RZ_VECTORS/log_v1.txt,
 * PROTOCOL.md §8).  First every line is recomputed with the library from the
 * fixed inputs (tests/vectors/log_v1.h) and compared byte for byte with the
 * committed file, so any change to an encoding, a hash, a signature or a
 * commitment fails here.  Then the file's own values are checked the way a
 * receiver would use them: keys derive from the seeds, every entry decodes,
 * the chain links and hashes, commitments open, the BATCH frame verifies as
 * the server verifies it, and the ACK's receipt verifies as the node does.
 * Last, PROTOCOL.md §8 must quote the file's values (no stale spec).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/vectors/log_v1.h"

#define VEC_MAX_LINES 256

static char *vec_text;                      /* the whole file, lines NUL-split */
static const char *vec_line[VEC_MAX_LINES]; /* non-comment lines in order */
static size_t vec_nlines;                   /* how many */

static int
vec_load(void **state)
{
    const char *dir = getenv("RZ_VECTORS");
    char path[1024];
    FILE *f;
    long size;
    char *p;
    (void)state;
    if (!dir || !*dir) {
        fprintf(stderr, "test_vectors: RZ_VECTORS is not set (ctest sets it)\n");
        return -1;
    }
    snprintf(path, sizeof path, "%s/log_v1.txt", dir);
    if ((f = fopen(path, "rb")) == NULL) {
        perror(path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (vec_text = malloc((size_t)size + 1)) == NULL ||
        fread(vec_text, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        return -1;
    }
    fclose(f);
    vec_text[size] = '\0';
    for (p = vec_text; *p;) {
        char *nl = strchr(p, '\n');
        if (!nl) {
            fprintf(stderr, "test_vectors: last line of %s has no newline\n", path);
            return -1;
        }
        *nl = '\0';
        if (*p != '#' && *p != '\0') {
            if (vec_nlines == VEC_MAX_LINES)
                return -1;
            vec_line[vec_nlines++] = p;
        }
        p = nl + 1;
    }
    return 0;
}

static int
vec_free(void **state)
{
    (void)state;
    free(vec_text);
    return 0;
}

/* Value of key in the file; fails the test when absent. */
static const char *
vget(const char *key)
{
    size_t i, n = strlen(key);
    for (i = 0; i < vec_nlines; i++)
        if (strncmp(vec_line[i], key, n) == 0 && strncmp(vec_line[i] + n, " = ", 3) == 0)
            return vec_line[i] + n + 3;
    fail_msg("log_v1.txt has no line for %s", key);
    return NULL;
}

/* Hex value of key into out (exactly n bytes). */
static void
vhex(const char *key, uint8_t *out, size_t n)
{
    const char *v = vget(key);
    if (strlen(v) != 2 * n || hex_decode(out, n, v) != 0)
        fail_msg("%s is not %zu bytes of hex", key, n);
}

/* Hex value of any length into a fresh buffer (caller frees); *n its size. */
static uint8_t *
vhex_any(const char *key, size_t *n)
{
    const char *v = vget(key);
    uint8_t *out;
    *n = strlen(v) / 2;
    out = malloc(*n ? *n : 1);
    assert_non_null(out);
    if (hex_decode(out, *n, v) != 0)
        fail_msg("%s is not hex", key);
    return out;
}

static uint64_t
vu64(const char *key)
{
    const char *v = vget(key);
    char *end;
    unsigned long long u = strtoull(v, &end, 10);
    if (*v == '\0' || *end != '\0')
        fail_msg("%s is not a decimal number", key);
    return u;
}

/* ---- 1. byte-for-byte recomputation ---- */

typedef struct vec_cmp {
    size_t next;  /* index of the file line the next emitted line must equal */
    int mismatch; /* lines that differed */
} vec_cmp;

static void
vec_compare_line(void *ctx, const char *key, const char *value)
{
    vec_cmp *c = ctx;
    char want[8192];
    snprintf(want, sizeof want, "%s = %s", key, value);
    if (c->next >= vec_nlines) {
        fprintf(stderr, "log_v1.txt ends before: %s\n", want);
        c->mismatch++;
    } else if (strcmp(vec_line[c->next], want) != 0) {
        fprintf(stderr, "log_v1.txt line for %s differs\n  file:    %s\n  library: %s\n", key,
                vec_line[c->next], want);
        c->mismatch++;
    }
    c->next++;
}

static void
test_library_reproduces_every_line(void **state)
{
    vec_cmp c = {0, 0};
    (void)state;
    assert_int_equal(v1_generate(vec_compare_line, &c), 0);
    assert_int_equal(c.mismatch, 0);
    assert_int_equal(c.next, vec_nlines); /* and the file has no extra lines */
}

/* ---- 2. the file's values used as a receiver uses them ---- */

static void
test_keys_derive_from_seeds(void **state)
{
    static const char *who[] = {"node", "server"};
    uint8_t seed[32], pk[32], want_pk[32], sk[64];
    char key[64], z[RZ_Z85_KEY];
    size_t i, j;
    (void)state;
    for (i = 0; i < 2; i++) {
        snprintf(key, sizeof key, "%s.seed", who[i]);
        vhex(key, seed, 32);
        for (j = 0; j < 32; j++)
            assert_int_equal(seed[j], (i == 0 ? 0x00 : 0x20) + j);
        snprintf(key, sizeof key, "%s.pk", who[i]);
        vhex(key, pk, 32);
        crypto_sign_seed_keypair(want_pk, sk, seed);
        assert_memory_equal(pk, want_pk, 32);
        assert_int_equal(curve_pk_from_sign_pk(z, pk), 0);
        snprintf(key, sizeof key, "%s.curve_pk", who[i]);
        assert_string_equal(vget(key), z);
    }
}

static void
test_chain_links_and_hashes(void **state)
{
    uint8_t node[8], prev[32] = {0}, fprev[32], hash[32], h2[32];
    uint32_t epoch;
    char key[64];
    int i;
    (void)state;
    vhex("node.id", node, 8);
    epoch = (uint32_t)vu64("node.epoch");
    for (i = 1; i <= V1_ENTRIES; i++) {
        size_t n, in_n;
        uint8_t *eb, *input;
        msgpack_zone z;
        rz_entry e;
        rz_error err;
        snprintf(key, sizeof key, "entry.%d.seq", i);
        assert_int_equal(vu64(key), i);
        snprintf(key, sizeof key, "entry.%d.prev", i);
        vhex(key, fprev, 32);
        assert_memory_equal(fprev, prev, 32); /* h(0) is zero, then each links */
        snprintf(key, sizeof key, "entry.%d.bytes", i);
        eb = vhex_any(key, &n);
        msgpack_zone_init(&z, 1024);
        assert_int_equal(entry_decode(eb, n, &z, &e, &err), 0);
        snprintf(key, sizeof key, "entry.%d.hlc", i);
        assert_int_equal(e.hlc, vu64(key));
        assert_int_equal(e.schema, 1);
        /* the hash is BLAKE2b-256 of the documented chain input ... */
        snprintf(key, sizeof key, "entry.%d.chain_input", i);
        input = vhex_any(key, &in_n);
        assert_int_equal(in_n, 62 + n);
        assert_memory_equal(input, "RZ-ENTRY-1", 10);
        assert_memory_equal(input + 62, eb, n);
        crypto_generichash(h2, 32, input, in_n, NULL, 0);
        snprintf(key, sizeof key, "entry.%d.hash", i);
        vhex(key, hash, 32);
        assert_memory_equal(h2, hash, 32);
        /* ... and what chain_hash computes */
        chain_hash(h2, node, epoch, (uint64_t)i, prev, eb, n);
        assert_memory_equal(h2, hash, 32);
        memcpy(prev, hash, 32);
        free(input);
        free(eb);
        msgpack_zone_destroy(&z);
    }
    vhex("batch.head", hash, 32);
    assert_memory_equal(hash, prev, 32);
}

/* The entries say what §8 says: tables, ids, the clock entry's times. */
static void
test_entries_content(void **state)
{
    static const uint8_t tables[V1_ENTRIES] = {RZ_T_PERSON, RZ_T_EVENT, RZ_T_ATTENDANCE,
                                               RZ_T_PERSON, RZ_T_CLOCK};
    uint8_t node[8], person[16], event[16];
    rz_entry e[V1_ENTRIES];
    uint8_t *bytes[V1_ENTRIES];
    msgpack_zone z;
    char key[64];
    size_t n;
    int i;
    (void)state;
    vhex("node.id", node, 8);
    msgpack_zone_init(&z, 1024);
    for (i = 0; i < V1_ENTRIES; i++) {
        snprintf(key, sizeof key, "entry.%d.bytes", i + 1);
        bytes[i] = vhex_any(key, &n);
        assert_int_equal(entry_decode(bytes[i], n, &z, &e[i], NULL), 0);
        assert_int_equal(e[i].table, tables[i]);
        assert_int_equal(e[i].op, RZ_OP_SET);
        if (i > 0)
            assert_true(e[i].hlc > e[i - 1].hlc);
    }
    /* ids are be64(creation hlc) || node id */
    be64_put(person, e[0].hlc), memcpy(person + 8, node, 8);
    be64_put(event, e[1].hlc), memcpy(event + 8, node, 8);
    assert_memory_equal(e[0].key, person, 16);
    assert_memory_equal(e[1].key, event, 16);
    assert_memory_equal(e[2].key, event, 16);
    assert_memory_equal(e[2].key + 16, person, 16);
    assert_memory_equal(e[3].key, person, 16);
    assert_int_equal(e[4].key_len, 0);
    /* the clock entry: server time folded into the HLC (§4.4) */
    assert_int_equal(e[4].nfields, 2);
    assert_int_equal(e[4].fields[0].id, RZ_CF_SERVER_MS);
    assert_int_equal(e[4].fields[1].id, RZ_CF_LOCAL_MS);
    assert_int_equal(e[4].hlc,
                     hlc_observe(e[3].hlc, hlc_make(e[4].fields[0].v.u, 0), e[4].fields[1].v.u));
    assert_int_equal(e[4].fields[0].v.u, vu64("receipt.server_ms") - 1500);
    for (i = 0; i < V1_ENTRIES; i++)
        free(bytes[i]);
    msgpack_zone_destroy(&z);
}

static void
test_commitments_open(void **state)
{
    uint8_t salt[16], commit[16], got[16];
    char key[64];
    size_t r, n;
    (void)state;
    for (r = 0; r < V1_REVEALS; r++) {
        uint64_t index, field;
        const char *value;
        uint8_t *eb;
        msgpack_zone z;
        rz_entry e;
        size_t f;
        int found = 0;
        snprintf(key, sizeof key, "reveal.%zu.index", r);
        index = vu64(key);
        snprintf(key, sizeof key, "reveal.%zu.field", r);
        field = vu64(key);
        snprintf(key, sizeof key, "reveal.%zu.salt", r);
        vhex(key, salt, 16);
        snprintf(key, sizeof key, "reveal.%zu.value", r);
        value = vget(key);
        snprintf(key, sizeof key, "reveal.%zu.commit", r);
        vhex(key, commit, 16);
        pii_commit(got, salt, value, strlen(value));
        assert_memory_equal(got, commit, 16);
        /* the entry it belongs to carries exactly this commitment */
        snprintf(key, sizeof key, "entry.%llu.bytes", (unsigned long long)index + 1);
        eb = vhex_any(key, &n);
        msgpack_zone_init(&z, 1024);
        assert_int_equal(entry_decode(eb, n, &z, &e, NULL), 0);
        for (f = 0; f < e.nfields; f++)
            if (e.fields[f].id == field) {
                assert_int_equal(e.fields[f].v.type, RZ_V_BIN);
                assert_int_equal(e.fields[f].v.len, 16);
                assert_memory_equal(e.fields[f].v.p, commit, 16);
                found = 1;
            }
        assert_true(found);
        /* no personal value appears in the entry bytes */
        assert_null(memmem(eb, n, value, strlen(value)));
        free(eb);
        msgpack_zone_destroy(&z);
    }
}

static void
test_batch_signature(void **state)
{
    uint8_t node[8], pk[32], head[32], sig[64], *signed_msg;
    uint32_t epoch;
    uint64_t last;
    size_t n;
    (void)state;
    vhex("node.id", node, 8);
    vhex("node.pk", pk, 32);
    vhex("batch.head", head, 32);
    vhex("batch.signature", sig, 64);
    epoch = (uint32_t)vu64("node.epoch");
    last = vu64("batch.last_seq");
    assert_int_equal(vu64("batch.first_seq"), 1);
    assert_int_equal(batch_verify(sig, pk, node, epoch, last, head), 0);
    signed_msg = vhex_any("batch.signed", &n);
    assert_int_equal(n, 62);
    assert_int_equal(crypto_sign_verify_detached(sig, signed_msg, n, pk), 0);
    head[0] ^= 1;
    assert_int_equal(batch_verify(sig, pk, node, epoch, last, head), RZ_E_SIGNATURE);
    free(signed_msg);
}

static void
test_receipt_signature(void **state)
{
    uint8_t node[8], spk[32], npk[32], head[32], sig[64], *signed_msg;
    uint64_t ms, last;
    size_t n;
    (void)state;
    vhex("node.id", node, 8);
    vhex("server.pk", spk, 32);
    vhex("node.pk", npk, 32);
    vhex("batch.head", head, 32);
    vhex("receipt.signature", sig, 64);
    ms = vu64("receipt.server_ms");
    last = vu64("batch.last_seq");
    assert_int_equal(receipt_verify(sig, spk, node, 0, 1, last, head, ms), 0);
    assert_int_equal(receipt_verify(sig, npk, node, 0, 1, last, head, ms), RZ_E_SIGNATURE);
    assert_int_equal(receipt_verify(sig, spk, node, 0, 1, last, head, ms + 1), RZ_E_SIGNATURE);
    signed_msg = vhex_any("receipt.signed", &n);
    assert_int_equal(n, 80);
    assert_int_equal(crypto_sign_verify_detached(sig, signed_msg, n, spk), 0);
    free(signed_msg);
}

/* The BATCH frame passes the server's checks of §4.3 steps 1, 4, 5 and 8. */
static void
test_batch_frame_verifies(void **state)
{
    uint8_t node[8], pk[32], prev[32], h[32], *frame;
    msgpack_zone z;
    rz_msg m;
    rz_error err;
    size_t n, i, r;
    (void)state;
    vhex("node.id", node, 8);
    vhex("node.pk", pk, 32);
    frame = vhex_any("batch.frame", &n);
    msgpack_zone_init(&z, 4096);
    assert_int_equal(msg_decode(frame, n, &z, &m, &err), 0);
    assert_int_equal(m.type, RZ_MSG_BATCH);
    assert_memory_equal(m.node_id, node, 8);
    assert_int_equal(m.nentries, V1_ENTRIES);
    assert_int_equal(m.nreveals, V1_REVEALS);
    memcpy(prev, m.prev, 32);
    for (i = 0; i < m.nentries; i++) {
        rz_entry e;
        assert_int_equal(entry_decode(m.entry[i], m.entry_len[i], &z, &e, &err), 0);
        chain_hash(h, m.node_id, m.epoch, m.first_seq + i, prev, m.entry[i], m.entry_len[i]);
        memcpy(prev, h, 32);
    }
    assert_int_equal(
        batch_verify(m.sig, pk, m.node_id, m.epoch, m.first_seq + m.nentries - 1, prev), 0);
    for (r = 0; r < m.nreveals; r++) {
        const rz_reveal *rv = &m.reveals[r];
        uint8_t c[16];
        rz_entry e;
        size_t f;
        int found = 0;
        assert_int_equal(entry_decode(m.entry[rv->index], m.entry_len[rv->index], &z, &e, &err), 0);
        pii_commit(c, rv->salt, rv->value, rv->len);
        for (f = 0; f < e.nfields; f++)
            if (e.fields[f].id == rv->field && e.fields[f].v.type == RZ_V_BIN &&
                e.fields[f].v.len == 16 && memcmp(e.fields[f].v.p, c, 16) == 0)
                found = 1;
        assert_true(found);
    }
    msgpack_zone_destroy(&z);
    free(frame);
}

/* The ACK's receipt verifies with the server key, as the node checks (§4.4). */
static void
test_ack_and_other_frames(void **state)
{
    static const struct {
        const char *key; /* frame line */
        int type;        /* its message type */
    } frames[] = {{"hello.frame", RZ_MSG_HELLO},
                  {"welcome.frame", RZ_MSG_WELCOME},
                  {"ack.frame", RZ_MSG_ACK},
                  {"error.frame", RZ_MSG_ERROR}};
    uint8_t node[8], spk[32], *frame;
    msgpack_zone z;
    rz_msg m;
    rz_error err;
    size_t n, i;
    (void)state;
    vhex("node.id", node, 8);
    vhex("server.pk", spk, 32);
    msgpack_zone_init(&z, 1024);
    for (i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        frame = vhex_any(frames[i].key, &n);
        assert_int_equal(msg_decode(frame, n, &z, &m, &err), 0);
        assert_int_equal(m.type, frames[i].type);
        switch (m.type) {
        case RZ_MSG_HELLO: assert_memory_equal(m.node_id, node, 8); break;
        case RZ_MSG_WELCOME:
            assert_int_equal(m.server_ms, vu64("receipt.server_ms") - 1500);
            assert_int_equal(m.head_seq, 0);
            break;
        case RZ_MSG_ACK:
            assert_int_equal(m.applied, V1_ENTRIES);
            assert_int_equal(receipt_verify(m.sig, spk, node, m.epoch, m.first_seq, m.last_seq,
                                            m.head, m.server_ms),
                             0);
            break;
        default:
            assert_int_equal(m.code, RZ_E_CHAIN);
            assert_string_equal(m.text, "sequence gap");
            break;
        }
        free(frame);
    }
    msgpack_zone_destroy(&z);
}

/* PROTOCOL.md §8 quotes the file; a regenerated file must update the spec. */
static void
test_protocol_md_quotes_the_file(void **state)
{
    static const char *quoted[] = {
        "node.seed",         "node.pk",     "node.curve_pk", "server.seed",  "server.pk",
        "server.curve_pk",   "node.id",     "batch.head",    "batch.signed", "batch.signature",
        "receipt.signature", "hello.frame", "error.frame"};
    const char *dir = getenv("RZ_VECTORS");
    char path[1024], key[64];
    char *doc;
    FILE *f;
    long size;
    size_t i;
    int r;
    (void)state;
    snprintf(path, sizeof path, "%s/../../proto/PROTOCOL.md", dir);
    assert_non_null(f = fopen(path, "rb"));
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    assert_true((size = ftell(f)) > 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    assert_non_null(doc = malloc((size_t)size + 1));
    assert_int_equal(fread(doc, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    doc[size] = '\0';
    assert_non_null(strstr(doc, "## 8. Test vectors"));
    for (i = 0; i < sizeof quoted / sizeof quoted[0]; i++)
        if (!strstr(doc, vget(quoted[i])))
            fail_msg("PROTOCOL.md section 8 does not quote %s", quoted[i]);
    for (r = 1; r <= V1_ENTRIES; r++) {
        snprintf(key, sizeof key, "entry.%d.bytes", r);
        if (!strstr(doc, vget(key)))
            fail_msg("PROTOCOL.md section 8 does not quote %s", key);
        snprintf(key, sizeof key, "entry.%d.hash", r);
        if (!strstr(doc, vget(key)))
            fail_msg("PROTOCOL.md section 8 does not quote %s", key);
    }
    for (r = 0; r < V1_REVEALS; r++) {
        snprintf(key, sizeof key, "reveal.%d.commit", r);
        if (!strstr(doc, vget(key)))
            fail_msg("PROTOCOL.md section 8 does not quote %s", key);
    }
    free(doc);
}

static int
group_setup(void **state)
{
    if (crypto_init() != 0)
        return -1;
    return vec_load(state);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library_reproduces_every_line),
        cmocka_unit_test(test_keys_derive_from_seeds),
        cmocka_unit_test(test_chain_links_and_hashes),
        cmocka_unit_test(test_entries_content),
        cmocka_unit_test(test_commitments_open),
        cmocka_unit_test(test_batch_signature),
        cmocka_unit_test(test_receipt_signature),
        cmocka_unit_test(test_batch_frame_verifies),
        cmocka_unit_test(test_ack_and_other_frames),
        cmocka_unit_test(test_protocol_md_quotes_the_file),
    };
    return cmocka_run_group_tests(tests, group_setup, vec_free);
}
