/* crypto: the protocol's hashes, signatures, commitments and key files. */
#include "common/crypto.h"

#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "common/util.h"

int
crypto_init(void)
{
    return sodium_init() < 0 ? RZ_E_INTERNAL : 0;
}

void
identity_generate(rz_identity *id)
{
    crypto_sign_keypair(id->pk, id->sk);
    if (identity_derive_curve(id) != 0)
        memset(id->curve_pk, 0, sizeof id->curve_pk);
}

int
identity_derive_curve(rz_identity *id)
{
    uint8_t cpk[32], csk[32];
    int rc = 0;
    if (crypto_sign_ed25519_pk_to_curve25519(cpk, id->pk) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(csk, id->sk) != 0 ||
        !zmq_z85_encode(id->curve_pk, cpk, 32) || !zmq_z85_encode(id->curve_sk, csk, 32))
        rc = RZ_E_INTERNAL;
    sodium_memzero(csk, sizeof csk);
    return rc;
}

int
curve_pk_from_sign_pk(char *out, const uint8_t pk[RZ_PK_BYTES])
{
    uint8_t cpk[32];
    if (crypto_sign_ed25519_pk_to_curve25519(cpk, pk) != 0)
        return RZ_E_AUTH;
    return zmq_z85_encode(out, cpk, 32) ? 0 : RZ_E_INTERNAL;
}

void
identity_wipe(rz_identity *id)
{
    sodium_memzero(id, sizeof *id);
}

int
identity_save(const rz_identity *id, const char *path, rz_error *err)
{
    char text[2 * RZ_SK_BYTES + 2];
    int rc;
    hex_encode(text, id->sk, RZ_SK_BYTES);
    text[2 * RZ_SK_BYTES] = '\n';
    rc = file_write_atomic(path, text, 2 * RZ_SK_BYTES + 1, 0600, err);
    sodium_memzero(text, sizeof text);
    return rc;
}

/* 0 when the public half of sk (seed || pk) is the key the seed derives. */
static int
identity_pk_matches_seed(const uint8_t sk[RZ_SK_BYTES])
{
    uint8_t pk[RZ_PK_BYTES], full[RZ_SK_BYTES];
    int rc;
    crypto_sign_seed_keypair(pk, full, sk);
    rc = sodium_memcmp(pk, sk + 32, RZ_PK_BYTES) == 0 ? 0 : RZ_E_CONFIG;
    sodium_memzero(full, sizeof full);
    return rc;
}

int
identity_load(rz_identity *id, const char *path, rz_error *err)
{
    char text[2 * RZ_SK_BYTES + 8];
    size_t n = 0;
    struct stat st;
    int rc;
    if (stat(path, &st) != 0)
        return rz_fail(err, RZ_E_NOTFOUND, "%s: key file missing", path);
    if (st.st_mode & 077)
        return rz_fail(err, RZ_E_CONFIG, "%s: key file mode %o is too open (want 0600)", path,
                       (unsigned)(st.st_mode & 0777));
    if ((rc = file_read_small(path, text, sizeof text - 1, &n, err)) != 0)
        return rc;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    text[n] = '\0';
    rc = hex_decode(id->sk, RZ_SK_BYTES, text);
    sodium_memzero(text, sizeof text);
    if (rc != 0) {
        sodium_memzero(id->sk, sizeof id->sk);
        return rz_fail(err, RZ_E_CONFIG, "%s: not a key file", path);
    }
    /* The file holds seed || pk; a damaged pk half would make every signature
     * fail verification later, so refuse it here with a clear reason. */
    if (identity_pk_matches_seed(id->sk) != 0) {
        sodium_memzero(id->sk, sizeof id->sk);
        return rz_fail(err, RZ_E_CONFIG, "%s: key file is damaged (public half mismatch)", path);
    }
    crypto_sign_ed25519_sk_to_pk(id->pk, id->sk);
    if (identity_derive_curve(id) != 0)
        return rz_fail(err, RZ_E_CONFIG, "%s: key cannot be converted", path);
    return 0;
}

void
chain_hash(uint8_t *out, const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch, uint64_t seq,
           const uint8_t prev[RZ_HASH_BYTES], const uint8_t *entry, size_t entry_len)
{
    /* The fixed-size head in one buffer, one update: this runs once per
     * entry on both sides (the bytes of PROTOCOL.md §4.2). */
    uint8_t head[10 + RZ_NODE_ID_BYTES + 4 + 8 + RZ_HASH_BYTES];
    size_t n = 0;
    crypto_generichash_state st;
    memcpy(head, "RZ-ENTRY-1", 10), n += 10;
    memcpy(head + n, node_id, RZ_NODE_ID_BYTES), n += RZ_NODE_ID_BYTES;
    be32_put(head + n, epoch), n += 4;
    be64_put(head + n, seq), n += 8;
    memcpy(head + n, prev, RZ_HASH_BYTES), n += RZ_HASH_BYTES;
    crypto_generichash_init(&st, NULL, 0, RZ_HASH_BYTES);
    crypto_generichash_update(&st, head, n);
    crypto_generichash_update(&st, entry, entry_len);
    crypto_generichash_final(&st, out, RZ_HASH_BYTES);
}

/* Signed messages are short fixed layouts; built into a stack buffer. */
enum { SIGMSG_MAX = 16 + RZ_NODE_ID_BYTES + 4 + 8 + 8 + RZ_HASH_BYTES + 8 };

static size_t
batch_msg(uint8_t *m, const uint8_t *node_id, uint32_t epoch, uint64_t last_seq,
          const uint8_t *head)
{
    size_t n = 0;
    memcpy(m, "RZ-BATCH-1", 10), n += 10;
    memcpy(m + n, node_id, RZ_NODE_ID_BYTES), n += RZ_NODE_ID_BYTES;
    be32_put(m + n, epoch), n += 4;
    be64_put(m + n, last_seq), n += 8;
    memcpy(m + n, head, RZ_HASH_BYTES), n += RZ_HASH_BYTES;
    return n;
}

void
batch_sign(uint8_t sig[RZ_SIG_BYTES], const rz_identity *id,
           const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch, uint64_t last_seq,
           const uint8_t head[RZ_HASH_BYTES])
{
    uint8_t m[SIGMSG_MAX];
    size_t n = batch_msg(m, node_id, epoch, last_seq, head);
    crypto_sign_detached(sig, NULL, m, n, id->sk);
}

int
batch_verify(const uint8_t sig[RZ_SIG_BYTES], const uint8_t pk[RZ_PK_BYTES],
             const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch, uint64_t last_seq,
             const uint8_t head[RZ_HASH_BYTES])
{
    uint8_t m[SIGMSG_MAX];
    size_t n = batch_msg(m, node_id, epoch, last_seq, head);
    return crypto_sign_verify_detached(sig, m, n, pk) == 0 ? 0 : RZ_E_SIGNATURE;
}

static size_t
receipt_msg(uint8_t *m, const uint8_t *node_id, uint32_t epoch, uint64_t first_seq,
            uint64_t last_seq, const uint8_t *head, uint64_t server_ms)
{
    size_t n = 0;
    memcpy(m, "RZ-RECEIPT-1", 12), n += 12;
    memcpy(m + n, node_id, RZ_NODE_ID_BYTES), n += RZ_NODE_ID_BYTES;
    be32_put(m + n, epoch), n += 4;
    be64_put(m + n, first_seq), n += 8;
    be64_put(m + n, last_seq), n += 8;
    memcpy(m + n, head, RZ_HASH_BYTES), n += RZ_HASH_BYTES;
    be64_put(m + n, server_ms), n += 8;
    return n;
}

void
receipt_sign(uint8_t sig[RZ_SIG_BYTES], const rz_identity *server,
             const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch, uint64_t first_seq,
             uint64_t last_seq, const uint8_t head[RZ_HASH_BYTES], uint64_t server_ms)
{
    uint8_t m[SIGMSG_MAX + 8];
    size_t n = receipt_msg(m, node_id, epoch, first_seq, last_seq, head, server_ms);
    crypto_sign_detached(sig, NULL, m, n, server->sk);
}

int
receipt_verify(const uint8_t sig[RZ_SIG_BYTES], const uint8_t server_pk[RZ_PK_BYTES],
               const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch, uint64_t first_seq,
               uint64_t last_seq, const uint8_t head[RZ_HASH_BYTES], uint64_t server_ms)
{
    uint8_t m[SIGMSG_MAX + 8];
    size_t n = receipt_msg(m, node_id, epoch, first_seq, last_seq, head, server_ms);
    return crypto_sign_verify_detached(sig, m, n, server_pk) == 0 ? 0 : RZ_E_SIGNATURE;
}

void
pii_commit(uint8_t out[RZ_COMMIT_BYTES], const uint8_t salt[RZ_SALT_BYTES], const char *value,
           size_t len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, RZ_COMMIT_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)"RZ-PII-1", 8);
    crypto_generichash_update(&st, salt, RZ_SALT_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)value, len);
    crypto_generichash_final(&st, out, RZ_COMMIT_BYTES);
}

void
cnic_token(uint8_t out[16], const uint8_t pepper[32], const char *cnic13)
{
    crypto_generichash(out, 16, (const uint8_t *)cnic13, strlen(cnic13), pepper, 32);
}
