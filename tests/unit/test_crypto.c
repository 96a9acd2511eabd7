/*
 * test_crypto: common/crypto.  Known answers for the chain hash, the PII
 * commitment, the CNIC token and both signatures (expected values computed
 * independently with Python's hashlib and the `cryptography` package from the
 * byte layouts of PROTOCOL.md §4.2), round trips, and every refusal a verifier
 * must make: flipped bytes, wrong context fields, another key, a non-canonical
 * signature and a small-order key.  Key files: exact mode, refusal of open
 * modes, truncation and damage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "common/crypto.h"
#include "common/util.h"

/* RFC 8032 §7.1 test 1 secret seed; its public key is d75a98...511a. */
static const char *rfc8032_seed =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char *rfc8032_pk = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

static void
unhex(uint8_t *out, size_t n, const char *hex)
{
    assert_int_equal(hex_decode(out, n, hex), 0);
}

static void
assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char buf[2 * 128 + 1];
    assert_true(n <= 128);
    hex_encode(buf, got, n);
    assert_string_equal(buf, want);
}

static void
fill_seq(uint8_t *p, size_t n, uint8_t first)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(first + i);
}

static void
identity_from_seed(rz_identity *id, const uint8_t seed[32])
{
    memset(id, 0, sizeof *id);
    crypto_sign_seed_keypair(id->pk, id->sk, seed);
    assert_int_equal(identity_derive_curve(id), 0);
}

static void
rfc_identity(rz_identity *id)
{
    uint8_t seed[32];
    unhex(seed, 32, rfc8032_seed);
    identity_from_seed(id, seed);
    assert_hex(id->pk, 32, rfc8032_pk);
}

static int
group_setup(void **state)
{
    (void)state;
    return crypto_init() == 0 ? 0 : -1;
}

/* ---- chain hash ---- */

static void
test_chain_hash_known_answers(void **state)
{
    uint8_t node[8], prev[32] = {0}, out[32], entry[100], ff[8];
    (void)state;
    fill_seq(node, 8, 1);
    chain_hash(out, node, 0, 1, prev, NULL, 0);
    assert_hex(out, 32, "8d3f338930916c51028b37d91a0ec624c53883cd27d96c577a68eceed6e2f417");

    memset(ff, 0xff, 8);
    fill_seq(prev, 32, 0);
    fill_seq(entry, 100, 0);
    chain_hash(out, ff, 7, 0x0102030405060708ull, prev, entry, sizeof entry);
    assert_hex(out, 32, "a8b36ffbb2b4186fed2bef92baa4cf88e5d1f0f5e9bbaffbe84627866afc310d");
}

/* Every input of the chain hash changes the result. */
static void
test_chain_hash_covers_every_input(void **state)
{
    uint8_t node[8], prev[32], entry[20], base[32], out[32];
    (void)state;
    fill_seq(node, 8, 1);
    fill_seq(prev, 32, 0x10);
    fill_seq(entry, 20, 0x30);
    chain_hash(base, node, 2, 9, prev, entry, sizeof entry);

    node[7] ^= 1;
    chain_hash(out, node, 2, 9, prev, entry, sizeof entry);
    assert_memory_not_equal(out, base, 32);
    node[7] ^= 1;
    chain_hash(out, node, 3, 9, prev, entry, sizeof entry);
    assert_memory_not_equal(out, base, 32);
    chain_hash(out, node, 2, 10, prev, entry, sizeof entry);
    assert_memory_not_equal(out, base, 32);
    prev[31] ^= 0x80;
    chain_hash(out, node, 2, 9, prev, entry, sizeof entry);
    assert_memory_not_equal(out, base, 32);
    prev[31] ^= 0x80;
    chain_hash(out, node, 2, 9, prev, entry, sizeof entry - 1);
    assert_memory_not_equal(out, base, 32);
    entry[0] ^= 1;
    chain_hash(out, node, 2, 9, prev, entry, sizeof entry);
    assert_memory_not_equal(out, base, 32);
    entry[0] ^= 1;
    chain_hash(out, node, 2, 9, prev, entry, sizeof entry);
    assert_memory_equal(out, base, 32);
}

/* ---- batch signature ---- */

typedef struct sig_ctx {
    rz_identity id;   /* signer */
    uint8_t node[8];  /* node id */
    uint32_t epoch;   /* epoch signed */
    uint64_t last;    /* last_seq signed */
    uint8_t head[32]; /* head signed */
    uint8_t sig[64];  /* the signature */
} sig_ctx;

static void
batch_ctx(sig_ctx *c)
{
    rfc_identity(&c->id);
    fill_seq(c->node, 8, 1);
    c->epoch = 3;
    c->last = 42;
    fill_seq(c->head, 32, 0xa0);
    batch_sign(c->sig, &c->id, c->node, c->epoch, c->last, c->head);
}

static void
test_batch_sign_known_answer(void **state)
{
    sig_ctx c;
    (void)state;
    batch_ctx(&c);
    assert_hex(c.sig, 64,
               "7bcdfc0256a06f7123e26735053666ff523d927b90cf4b72f1b7b3fdc5007583"
               "cce089b131bfbc530ea024a6cb56ea9c07a5502a87dc014c44d9a118556de009");
    assert_int_equal(batch_verify(c.sig, c.id.pk, c.node, c.epoch, c.last, c.head), 0);
}

static void
test_batch_sign_round_trip_fresh_key(void **state)
{
    rz_identity id;
    uint8_t node[8] = {9, 9, 9, 9, 9, 9, 9, 9}, head[32] = {1}, sig[64];
    (void)state;
    identity_generate(&id);
    batch_sign(sig, &id, node, 0, 1, head);
    assert_int_equal(batch_verify(sig, id.pk, node, 0, 1, head), 0);
    identity_wipe(&id);
}

static void
test_batch_verify_refuses_flipped_sig_bytes(void **state)
{
    sig_ctx c;
    size_t i;
    (void)state;
    batch_ctx(&c);
    for (i = 0; i < 64; i++) {
        c.sig[i] ^= 0x01;
        assert_int_equal(batch_verify(c.sig, c.id.pk, c.node, c.epoch, c.last, c.head),
                         RZ_E_SIGNATURE);
        c.sig[i] ^= 0x01;
    }
    assert_int_equal(batch_verify(c.sig, c.id.pk, c.node, c.epoch, c.last, c.head), 0);
}

static void
test_batch_verify_refuses_changed_context(void **state)
{
    sig_ctx c;
    rz_identity other;
    uint8_t seed[32];
    size_t i;
    (void)state;
    batch_ctx(&c);
    for (i = 0; i < 32; i++) {
        c.head[i] ^= 0x40;
        assert_int_equal(batch_verify(c.sig, c.id.pk, c.node, c.epoch, c.last, c.head),
                         RZ_E_SIGNATURE);
        c.head[i] ^= 0x40;
    }
    c.node[0] ^= 1;
    assert_int_equal(batch_verify(c.sig, c.id.pk, c.node, c.epoch, c.last, c.head), RZ_E_SIGNATURE);
    c.node[0] ^= 1;
    assert_int_equal(batch_verify(c.sig, c.id.pk, c.node, c.epoch + 1, c.last, c.head),
                     RZ_E_SIGNATURE);
    assert_int_equal(batch_verify(c.sig, c.id.pk, c.node, c.epoch, c.last + 1, c.head),
                     RZ_E_SIGNATURE);
    assert_int_equal(batch_verify(c.sig, c.id.pk, c.node, c.epoch, c.last - 1, c.head),
                     RZ_E_SIGNATURE);

    fill_seq(seed, 32, 0x55);
    identity_from_seed(&other, seed);
    assert_int_equal(batch_verify(c.sig, other.pk, c.node, c.epoch, c.last, c.head),
                     RZ_E_SIGNATURE);
    /* and the untouched context still verifies */
    assert_int_equal(batch_verify(c.sig, c.id.pk, c.node, c.epoch, c.last, c.head), 0);
}

/* S + L satisfies the verification equation ([S]B = R + [k]A holds for any S
 * congruent mod L), so only the canonical-S check refuses it. */
static void
make_noncanonical(uint8_t sig[64])
{
    static const uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                  0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                  0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
    unsigned carry = 0;
    size_t i;
    for (i = 0; i < 32; i++) {
        unsigned s = (unsigned)sig[32 + i] + L[i] + carry;
        sig[32 + i] = (uint8_t)s;
        carry = s >> 8;
    }
    assert_int_equal(carry, 0);
}

static void
test_batch_verify_refuses_noncanonical_s(void **state)
{
    sig_ctx c;
    (void)state;
    batch_ctx(&c);
    make_noncanonical(c.sig);
    assert_int_equal(batch_verify(c.sig, c.id.pk, c.node, c.epoch, c.last, c.head), RZ_E_SIGNATURE);
}

static void
test_verify_refuses_small_order_key(void **state)
{
    sig_ctx c;
    uint8_t identity_point[32] = {1}; /* y = 1: the neutral element */
    (void)state;
    batch_ctx(&c);
    assert_int_equal(batch_verify(c.sig, identity_point, c.node, c.epoch, c.last, c.head),
                     RZ_E_SIGNATURE);
}

/* ---- receipt ---- */

static void
receipt_ctx(sig_ctx *c, uint64_t *first, uint64_t *ms)
{
    rfc_identity(&c->id);
    fill_seq(c->node, 8, 1);
    c->epoch = 3;
    c->last = 42;
    *first = 40;
    *ms = 1773550800000ull;
    fill_seq(c->head, 32, 0xa0);
    receipt_sign(c->sig, &c->id, c->node, c->epoch, *first, c->last, c->head, *ms);
}

static void
test_receipt_known_answer_and_round_trip(void **state)
{
    sig_ctx c;
    uint64_t first, ms;
    (void)state;
    receipt_ctx(&c, &first, &ms);
    assert_hex(c.sig, 64,
               "59bb3e363a5c4581361f64c3a55fda56c2445d0bd1a9ee150fbb16162c08c06f"
               "17ac555260161f2d4159bb6a1ed7199d31d952e6b2c9607bcfc492bb429f8508");
    assert_int_equal(receipt_verify(c.sig, c.id.pk, c.node, c.epoch, first, c.last, c.head, ms), 0);
}

static void
test_receipt_verify_refusals(void **state)
{
    sig_ctx c;
    rz_identity other;
    uint8_t seed[32];
    uint64_t first, ms;
    size_t i;
    (void)state;
    receipt_ctx(&c, &first, &ms);
#define RV(sig, pk, node, ep, f, l, h, t) receipt_verify(sig, pk, node, ep, f, l, h, t)
    for (i = 0; i < 64; i++) {
        c.sig[i] ^= 0x80;
        assert_int_equal(RV(c.sig, c.id.pk, c.node, c.epoch, first, c.last, c.head, ms),
                         RZ_E_SIGNATURE);
        c.sig[i] ^= 0x80;
    }
    c.head[5] ^= 2;
    assert_int_equal(RV(c.sig, c.id.pk, c.node, c.epoch, first, c.last, c.head, ms),
                     RZ_E_SIGNATURE);
    c.head[5] ^= 2;
    c.node[3] ^= 2;
    assert_int_equal(RV(c.sig, c.id.pk, c.node, c.epoch, first, c.last, c.head, ms),
                     RZ_E_SIGNATURE);
    c.node[3] ^= 2;
    assert_int_equal(RV(c.sig, c.id.pk, c.node, c.epoch + 1, first, c.last, c.head, ms),
                     RZ_E_SIGNATURE);
    assert_int_equal(RV(c.sig, c.id.pk, c.node, c.epoch, first + 1, c.last, c.head, ms),
                     RZ_E_SIGNATURE);
    assert_int_equal(RV(c.sig, c.id.pk, c.node, c.epoch, first, c.last + 1, c.head, ms),
                     RZ_E_SIGNATURE);
    assert_int_equal(RV(c.sig, c.id.pk, c.node, c.epoch, first, c.last, c.head, ms + 1),
                     RZ_E_SIGNATURE);
    fill_seq(seed, 32, 0x20);
    identity_from_seed(&other, seed);
    assert_int_equal(RV(c.sig, other.pk, c.node, c.epoch, first, c.last, c.head, ms),
                     RZ_E_SIGNATURE);
    /* A batch signature over the same fields is no receipt (domain separation). */
    {
        uint8_t bsig[64];
        batch_sign(bsig, &c.id, c.node, c.epoch, c.last, c.head);
        assert_int_equal(RV(bsig, c.id.pk, c.node, c.epoch, first, c.last, c.head, ms),
                         RZ_E_SIGNATURE);
    }
    make_noncanonical(c.sig);
    assert_int_equal(RV(c.sig, c.id.pk, c.node, c.epoch, first, c.last, c.head, ms),
                     RZ_E_SIGNATURE);
#undef RV
}

/* ---- commitments and tokens ---- */

static void
test_pii_commit_known_answers(void **state)
{
    uint8_t salt[16], out[16], other[16];
    const char *cnic = "3520212345671";
    (void)state;
    fill_seq(salt, 16, 0x40);
    pii_commit(out, salt, cnic, strlen(cnic));
    assert_hex(out, 16, "ac8f68818092b6baea535cb3b8ac85c3");

    memset(salt, 0, 16);
    pii_commit(out, salt, "", 0);
    assert_hex(out, 16, "f73d1e937fad7724fdb41acfb1f3e6a5");

    /* another salt or value gives another commitment */
    fill_seq(salt, 16, 0x40);
    pii_commit(out, salt, cnic, strlen(cnic));
    salt[15] ^= 1;
    pii_commit(other, salt, cnic, strlen(cnic));
    assert_memory_not_equal(out, other, 16);
    salt[15] ^= 1;
    pii_commit(other, salt, "3520212345672", 13);
    assert_memory_not_equal(out, other, 16);
}

static void
test_cnic_token_known_answer(void **state)
{
    uint8_t pepper[32], out[16], again[16];
    (void)state;
    fill_seq(pepper, 32, 0);
    cnic_token(out, pepper, "3520212345671");
    assert_hex(out, 16, "bc0b98995181d9271f1abacc657c7371");
    cnic_token(again, pepper, "3520212345671");
    assert_memory_equal(out, again, 16);
    pepper[0] ^= 1;
    cnic_token(again, pepper, "3520212345671");
    assert_memory_not_equal(out, again, 16);
}

/* ---- key files ---- */

static char tmpdir[256];

static int
tmp_setup(void **state)
{
    const char *base = getenv("TMPDIR");
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/rz_test_crypto.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int
tmp_teardown(void **state)
{
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    char path[512];
    (void)state;
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, de->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(tmpdir);
}

static void
tmp_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static mode_t
file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void
test_identity_save_mode_and_round_trip(void **state)
{
    rz_identity id, back;
    rz_error err;
    char path[512];
    mode_t old;
    (void)state;
    tmp_path(path, sizeof path, "node.key");
    identity_generate(&id);
    /* umask 0 would leave 0666 if the mode were not forced */
    old = umask(0);
    assert_int_equal(identity_save(&id, path, &err), 0);
    umask(old);
    assert_int_equal(file_mode(path), 0600);

    memset(&back, 0xaa, sizeof back);
    assert_int_equal(identity_load(&back, path, &err), 0);
    assert_memory_equal(back.sk, id.sk, RZ_SK_BYTES);
    assert_memory_equal(back.pk, id.pk, RZ_PK_BYTES);
    assert_string_equal(back.curve_pk, id.curve_pk);
    assert_string_equal(back.curve_sk, id.curve_sk);

    /* overwriting an existing key file keeps the exact mode */
    old = umask(0);
    assert_int_equal(identity_save(&id, path, &err), 0);
    umask(old);
    assert_int_equal(file_mode(path), 0600);

    /* a umask that would drop the owner's write bit does not apply either */
    old = umask(0277);
    assert_int_equal(identity_save(&id, path, &err), 0);
    umask(old);
    assert_int_equal(file_mode(path), 0600);

    /* nor does the mode of a temporary file left over by a crash */
    {
        char stale[600];
        FILE *f;
        snprintf(stale, sizeof stale, "%s.tmp", path);
        assert_non_null(f = fopen(stale, "w"));
        fclose(f);
        assert_int_equal(chmod(stale, 0644), 0);
        assert_int_equal(identity_save(&id, path, &err), 0);
        assert_int_equal(file_mode(path), 0600);
    }
    identity_wipe(&id);
    identity_wipe(&back);
}

static void
test_identity_load_refuses_open_mode(void **state)
{
    rz_identity id, back;
    rz_error err;
    char path[512];
    static const mode_t modes[] = {0644, 0640, 0604, 0610, 0601};
    size_t i;
    (void)state;
    tmp_path(path, sizeof path, "open.key");
    identity_generate(&id);
    assert_int_equal(identity_save(&id, path, &err), 0);
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(chmod(path, modes[i]), 0);
        memset(&err, 0, sizeof err);
        assert_int_equal(identity_load(&back, path, &err), RZ_E_CONFIG);
        assert_int_equal(err.code, RZ_E_CONFIG);
        assert_non_null(strstr(err.text, "mode"));
    }
    /* the same file loads once its mode is tight again */
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(identity_load(&back, path, &err), 0);
    assert_memory_equal(back.pk, id.pk, RZ_PK_BYTES);
    identity_wipe(&id);
    identity_wipe(&back);
}

static void
test_identity_load_refuses_bad_content(void **state)
{
    rz_identity id, back;
    rz_error err;
    char path[512], text[2 * RZ_SK_BYTES + 2];
    static const size_t lens[] = {0, 1, 2, 64, 126, 127};
    size_t i;
    (void)state;
    tmp_path(path, sizeof path, "bad.key");
    identity_generate(&id);
    hex_encode(text, id.sk, RZ_SK_BYTES);

    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        assert_int_equal(file_write_atomic(path, text, lens[i], 0600, &err), 0);
        assert_int_equal(identity_load(&back, path, &err), RZ_E_CONFIG);
    }
    /* the full 128 digits load, with or without the newline */
    assert_int_equal(file_write_atomic(path, text, 128, 0600, &err), 0);
    assert_int_equal(identity_load(&back, path, &err), 0);
    assert_memory_equal(back.sk, id.sk, RZ_SK_BYTES);

    /* a non-hex digit */
    text[10] = 'g';
    assert_int_equal(file_write_atomic(path, text, 128, 0600, &err), 0);
    assert_int_equal(identity_load(&back, path, &err), RZ_E_CONFIG);
    hex_encode(text, id.sk, RZ_SK_BYTES);

    /* trailing garbage after the key */
    text[128] = 'x';
    assert_int_equal(file_write_atomic(path, text, 129, 0600, &err), 0);
    assert_int_equal(identity_load(&back, path, &err), RZ_E_CONFIG);

    /* a damaged public half (bytes 32..63) no longer matches the seed */
    hex_encode(text, id.sk, RZ_SK_BYTES);
    text[2 * 40] = text[2 * 40] == '0' ? '1' : '0';
    assert_int_equal(file_write_atomic(path, text, 128, 0600, &err), 0);
    assert_int_equal(identity_load(&back, path, &err), RZ_E_CONFIG);
    assert_non_null(strstr(err.text, "damaged"));

    tmp_path(path, sizeof path, "missing.key");
    assert_int_equal(identity_load(&back, path, &err), RZ_E_NOTFOUND);
    identity_wipe(&id);
}

/* ---- CurveZMQ keys ---- */

static int
is_z85_char(char c)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";
    return c != '\0' && strchr(alphabet, c) != NULL;
}

static void
assert_z85_key(const char *z, uint8_t out[32])
{
    size_t i;
    assert_int_equal(strlen(z), 40);
    for (i = 0; i < 40; i++)
        assert_true(is_z85_char(z[i]));
    assert_non_null(zmq_z85_decode(out, z));
}

static void
test_identity_derive_curve(void **state)
{
    rz_identity id;
    uint8_t cpk[32], csk[32], want[32], base[32];
    char z[RZ_Z85_KEY], zpub[RZ_Z85_KEY];
    (void)state;
    rfc_identity(&id);
    assert_z85_key(id.curve_pk, cpk);
    assert_z85_key(id.curve_sk, csk);
    /* the public key is the Ed25519 key mapped to X25519 ... */
    assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(want, id.pk), 0);
    assert_memory_equal(cpk, want, 32);
    /* ... and belongs to the secret key (what CurveZMQ will compute) */
    assert_int_equal(crypto_scalarmult_base(base, csk), 0);
    assert_memory_equal(base, cpk, 32);
    assert_int_equal(zmq_curve_public(zpub, id.curve_sk), 0);
    assert_string_equal(zpub, id.curve_pk);

    assert_int_equal(curve_pk_from_sign_pk(z, id.pk), 0);
    assert_string_equal(z, id.curve_pk);

    /* a small-order point has no usable transport key */
    memset(want, 0, 32);
    want[0] = 1;
    assert_int_equal(curve_pk_from_sign_pk(z, want), RZ_E_AUTH);
}

static void
test_identity_generate_distinct(void **state)
{
    rz_identity a, b;
    uint8_t k[32];
    (void)state;
    identity_generate(&a);
    identity_generate(&b);
    assert_memory_not_equal(a.pk, b.pk, 32);
    assert_string_not_equal(a.curve_pk, b.curve_pk);
    assert_z85_key(a.curve_pk, k);
    identity_wipe(&a);
    assert_int_equal(a.sk[0] | a.sk[63] | (uint8_t)a.curve_sk[0], 0);
    identity_wipe(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_hash_known_answers),
        cmocka_unit_test(test_chain_hash_covers_every_input),
        cmocka_unit_test(test_batch_sign_known_answer),
        cmocka_unit_test(test_batch_sign_round_trip_fresh_key),
        cmocka_unit_test(test_batch_verify_refuses_flipped_sig_bytes),
        cmocka_unit_test(test_batch_verify_refuses_changed_context),
        cmocka_unit_test(test_batch_verify_refuses_noncanonical_s),
        cmocka_unit_test(test_verify_refuses_small_order_key),
        cmocka_unit_test(test_receipt_known_answer_and_round_trip),
        cmocka_unit_test(test_receipt_verify_refusals),
        cmocka_unit_test(test_pii_commit_known_answers),
        cmocka_unit_test(test_cnic_token_known_answer),
        cmocka_unit_test_setup_teardown(test_identity_save_mode_and_round_trip, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_identity_load_refuses_open_mode, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_identity_load_refuses_bad_content, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test(test_identity_derive_curve),
        cmocka_unit_test(test_identity_generate_distinct),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
