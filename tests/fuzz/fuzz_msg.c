/*
 * fuzz_msg: msg_decode over arbitrary frames, and entry_decode over every
 * entry of a decoded BATCH (what the server does with a frame before it
 * looks at keys or storage).
 *
 * Invariants: refusals carry their code and a NUL-terminated reason; an
 * accepted message respects every limit of PROTOCOL.md section 4; and its
 * re-encoding by the protocol's own encoders decodes to the same message.
 */
#include <string.h>

#include "proto/entry.h"
#include "proto/msg.h"
#include "tests/fuzz/fuzz.h"

static void
check_refusal(int rc, const rz_error *err, int entry)
{
    if (entry)
        FUZZ_CHECK(rc == RZ_E_DECODE || rc == RZ_E_TOOBIG || rc == RZ_E_VERSION);
    else
        FUZZ_CHECK(rc == RZ_E_DECODE || rc == RZ_E_TOOBIG || rc == RZ_E_VERSION ||
                   rc == RZ_E_MSGTYPE);
    FUZZ_CHECK(err->code == rc);
    FUZZ_CHECK(memchr(err->text, '\0', sizeof err->text) != NULL);
}

static void
check_batch_limits(const rz_msg *m)
{
    size_t i;
    FUZZ_CHECK(m->nentries >= 1 && m->nentries <= RZ_MAX_BATCH_ENTRIES);
    FUZZ_CHECK(m->first_seq >= 1 && m->first_seq <= UINT64_MAX - m->nentries);
    FUZZ_CHECK(m->nreveals <= RZ_MAX_REVEALS);
    for (i = 0; i < m->nentries; i++)
        FUZZ_CHECK(m->entry_len[i] <= RZ_MAX_ENTRY_BYTES);
    for (i = 0; i < m->nreveals; i++) {
        FUZZ_CHECK(m->reveals[i].index < m->nentries);
        FUZZ_CHECK(m->reveals[i].len <= RZ_MAX_STR);
    }
}

/* CHUNK (PROTOCOL §12.3): counts, ranges, order as the decoder promises. */
static void
check_chunk_limits(const rz_msg *m)
{
    size_t i;
    uint64_t last = m->first_seq + m->nentries - 1;
    FUZZ_CHECK(m->nkeys >= 1 && m->nkeys <= RZ_FETCH_MAX_KEYS);
    FUZZ_CHECK(m->nentries <= RZ_MAX_BATCH_ENTRIES && m->nreveals <= RZ_MAX_REVEALS);
    FUZZ_CHECK(m->first_seq >= 1 && last <= m->head_seq && m->final == (last == m->head_seq));
    FUZZ_CHECK(m->nsigs <= m->nentries);
    for (i = 0; i < m->nentries; i++)
        FUZZ_CHECK(m->entry_len[i] <= RZ_MAX_ENTRY_BYTES);
    for (i = 0; i < m->nreveals; i++) {
        FUZZ_CHECK(m->reveals[i].index < m->nentries && m->reveals[i].field >= 1);
        FUZZ_CHECK(m->reveals[i].len <= RZ_MAX_STR);
        FUZZ_CHECK((m->reveals[i].salt == NULL) == (m->reveals[i].value == NULL));
    }
    for (i = 0; i < m->nsigs; i++)
        FUZZ_CHECK(m->sigs[i].last_seq >= m->first_seq && m->sigs[i].last_seq <= last &&
                   (i == 0 || m->sigs[i].last_seq > m->sigs[i - 1].last_seq));
}

static void
check_entries(const rz_msg *m)
{
    size_t i;
    for (i = 0; i < m->nentries; i++) {
        msgpack_zone z;
        rz_entry e;
        rz_error err = {0, ""};
        int rc;
        msgpack_zone_init(&z, 1024);
        rc = entry_decode(m->entry[i], m->entry_len[i], &z, &e, &err);
        if (rc)
            check_refusal(rc, &err, 1);
        else
            FUZZ_CHECK(e.nfields <= RZ_MAX_FIELDS);
        msgpack_zone_destroy(&z);
    }
}

/* Encodes m again with the protocol's encoders. */
static void
reencode(const rz_msg *m, mpk_writer *w)
{
    size_t i;
    switch (m->type) {
    case RZ_MSG_HELLO: msg_encode_hello(w, m->node_id); break;
    case RZ_MSG_WELCOME:
        msg_encode_welcome(w, m->server_ms, m->epoch, m->head_seq, m->head, m->quarantined);
        break;
    case RZ_MSG_BATCH:
        msg_encode_batch_begin(w, m->node_id, m->epoch, m->first_seq, m->prev, m->nentries);
        for (i = 0; i < m->nentries; i++)
            mpk_w_bin(w, m->entry[i], m->entry_len[i]);
        msg_encode_batch_reveals(w, m->nreveals);
        for (i = 0; i < m->nreveals; i++)
            msg_encode_reveal(w, m->reveals[i].index, m->reveals[i].field, m->reveals[i].salt,
                              m->reveals[i].value, m->reveals[i].len);
        msg_encode_batch_end(w, m->sig);
        break;
    case RZ_MSG_ACK:
        msg_encode_ack(w, m->server_ms, m->epoch, m->first_seq, m->last_seq, m->head, m->sig,
                       m->applied);
        break;
    case RZ_MSG_ERROR: msg_encode_error(w, m->server_ms, m->code, m->text); break;
    case RZ_MSG_FORK_REPORT: msg_encode_fork_report(w, m->node_id, &m->fork, m->sig); break;
    case RZ_MSG_FETCH: msg_encode_fetch(w, m->node_id, m->old_id, m->first_seq); break;
    case RZ_MSG_CHUNK:
        msg_encode_chunk_begin(w, m->server_ms, m->old_id, m->head_seq, m->head, m->nkeys);
        for (i = 0; i < m->nkeys; i++)
            msg_encode_chunk_key(w, m->keys[i].from_seq, m->keys[i].pk);
        msg_encode_chunk_entries(w, m->epoch, m->first_seq, m->final, m->nentries);
        for (i = 0; i < m->nentries; i++)
            mpk_w_bin(w, m->entry[i], m->entry_len[i]);
        msg_encode_batch_reveals(w, m->nreveals);
        for (i = 0; i < m->nreveals; i++)
            msg_encode_chunk_value(w, m->reveals[i].index, m->reveals[i].field, m->reveals[i].salt,
                                   m->reveals[i].value, m->reveals[i].len);
        msg_encode_chunk_sigs(w, m->nsigs);
        for (i = 0; i < m->nsigs; i++)
            msg_encode_chunk_sig(w, m->sigs[i].last_seq, m->sigs[i].sig);
        break;
    case RZ_MSG_FETCH_DONE:
        msg_encode_fetch_done(w, m->node_id, m->old_id, m->head_seq, m->head);
        break;
    case RZ_MSG_FETCH_CLOSED:
        msg_encode_fetch_closed(w, m->server_ms, m->old_id, m->head_seq);
        break;
    default: FUZZ_CHECK(!"decoded an unknown message type");
    }
}

static void
check_same(const rz_msg *a, const rz_msg *b)
{
    size_t i;
    FUZZ_CHECK(a->type == b->type && a->version == b->version);
    switch (a->type) {
    case RZ_MSG_HELLO: FUZZ_CHECK(!memcmp(a->node_id, b->node_id, RZ_NODE_ID_BYTES)); break;
    case RZ_MSG_WELCOME:
        FUZZ_CHECK(a->server_ms == b->server_ms && a->epoch == b->epoch &&
                   a->head_seq == b->head_seq && a->quarantined == b->quarantined &&
                   !memcmp(a->head, b->head, RZ_HASH_BYTES));
        break;
    case RZ_MSG_BATCH:
        FUZZ_CHECK(!memcmp(a->node_id, b->node_id, RZ_NODE_ID_BYTES) && a->epoch == b->epoch &&
                   a->first_seq == b->first_seq && !memcmp(a->prev, b->prev, RZ_HASH_BYTES) &&
                   a->nentries == b->nentries && a->nreveals == b->nreveals &&
                   !memcmp(a->sig, b->sig, RZ_SIG_BYTES));
        for (i = 0; i < a->nentries; i++)
            FUZZ_CHECK(
                a->entry_len[i] == b->entry_len[i] &&
                (a->entry_len[i] == 0 || !memcmp(a->entry[i], b->entry[i], a->entry_len[i])));
        for (i = 0; i < a->nreveals; i++) {
            const rz_reveal *x = &a->reveals[i], *y = &b->reveals[i];
            FUZZ_CHECK(x->index == y->index && x->field == y->field && x->len == y->len &&
                       !memcmp(x->salt, y->salt, RZ_SALT_BYTES) &&
                       (x->len == 0 || !memcmp(x->value, y->value, x->len)));
        }
        break;
    case RZ_MSG_ACK:
        FUZZ_CHECK(a->server_ms == b->server_ms && a->epoch == b->epoch &&
                   a->first_seq == b->first_seq && a->last_seq == b->last_seq &&
                   a->applied == b->applied && !memcmp(a->head, b->head, RZ_HASH_BYTES) &&
                   !memcmp(a->sig, b->sig, RZ_SIG_BYTES));
        break;
    case RZ_MSG_ERROR:
        FUZZ_CHECK(a->server_ms == b->server_ms && a->code == b->code &&
                   strcmp(a->text, b->text) == 0);
        break;
    case RZ_MSG_FORK_REPORT:
        FUZZ_CHECK(!memcmp(a->node_id, b->node_id, RZ_NODE_ID_BYTES) &&
                   !memcmp(&a->fork, &b->fork, sizeof a->fork) &&
                   !memcmp(a->sig, b->sig, RZ_SIG_BYTES));
        FUZZ_CHECK(a->fork.reason == RZ_FORK_SERVER_AHEAD || a->fork.reason == RZ_FORK_DIFFERS);
        break;
    case RZ_MSG_FETCH:
    case RZ_MSG_FETCH_DONE:
    case RZ_MSG_FETCH_CLOSED:
        FUZZ_CHECK(!memcmp(a->node_id, b->node_id, RZ_NODE_ID_BYTES) &&
                   !memcmp(a->old_id, b->old_id, RZ_NODE_ID_BYTES) &&
                   a->first_seq == b->first_seq && a->head_seq == b->head_seq &&
                   a->server_ms == b->server_ms && !memcmp(a->head, b->head, RZ_HASH_BYTES));
        break;
    case RZ_MSG_CHUNK:
        FUZZ_CHECK(a->server_ms == b->server_ms &&
                   !memcmp(a->old_id, b->old_id, RZ_NODE_ID_BYTES) && a->head_seq == b->head_seq &&
                   !memcmp(a->head, b->head, RZ_HASH_BYTES) && a->nkeys == b->nkeys &&
                   a->epoch == b->epoch && a->first_seq == b->first_seq && a->final == b->final &&
                   a->nentries == b->nentries && a->nreveals == b->nreveals &&
                   a->nsigs == b->nsigs);
        for (i = 0; i < a->nkeys; i++)
            FUZZ_CHECK(a->keys[i].from_seq == b->keys[i].from_seq &&
                       !memcmp(a->keys[i].pk, b->keys[i].pk, RZ_PK_BYTES));
        for (i = 0; i < a->nentries; i++)
            FUZZ_CHECK(
                a->entry_len[i] == b->entry_len[i] &&
                (a->entry_len[i] == 0 || !memcmp(a->entry[i], b->entry[i], a->entry_len[i])));
        for (i = 0; i < a->nreveals; i++) {
            const rz_reveal *x = &a->reveals[i], *y = &b->reveals[i];
            FUZZ_CHECK(x->index == y->index && x->field == y->field && x->len == y->len &&
                       (x->salt == NULL) == (y->salt == NULL) &&
                       (!x->salt || !memcmp(x->salt, y->salt, RZ_SALT_BYTES)) &&
                       (x->len == 0 || !memcmp(x->value, y->value, x->len)));
        }
        for (i = 0; i < a->nsigs; i++)
            FUZZ_CHECK(a->sigs[i].last_seq == b->sigs[i].last_seq &&
                       !memcmp(a->sigs[i].sig, b->sigs[i].sig, RZ_SIG_BYTES));
        break;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_zone z, z2;
    rz_msg m, m2;
    rz_error err = {0, ""};
    mpk_writer w;
    int rc;

    msgpack_zone_init(&z, 4096);
    rc = msg_decode(data, size, &z, &m, &err);
    if (rc) {
        check_refusal(rc, &err, 0);
        msgpack_zone_destroy(&z);
        return 0;
    }
    FUZZ_CHECK((m.type >= RZ_MSG_HELLO && m.type <= RZ_MSG_FORK_REPORT) ||
               (m.type >= RZ_MSG_FETCH && m.type <= RZ_MSG_FETCH_CLOSED));
    FUZZ_CHECK(m.version == RZ_PROTO_VERSION);
    if (m.type == RZ_MSG_BATCH) {
        check_batch_limits(&m);
        check_entries(&m);
    }
    if (m.type == RZ_MSG_CHUNK) {
        check_chunk_limits(&m);
        check_entries(&m);
    }
    mpk_w_init(&w);
    msgpack_zone_init(&z2, 4096);
    reencode(&m, &w);
    FUZZ_CHECK(w.rc == 0);
    FUZZ_CHECK(msg_decode((const uint8_t *)w.sb.data, w.sb.size, &z2, &m2, NULL) == 0);
    check_same(&m, &m2);
    msgpack_zone_destroy(&z2);
    mpk_w_free(&w);
    msgpack_zone_destroy(&z);
    return 0;
}
