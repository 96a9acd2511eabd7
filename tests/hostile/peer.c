/*
 * peer: scriptable node for hostile-input tests; see peer.h.
 *
 * Messages are built here from the protocol's own encoders, so the bytes
 * are exactly what a correct node would send until a test corrupts them.
 */
#include "tests/hostile/peer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "common/hlc.h"
#include "common/util.h"

int
peer_keygen(const char *dir, rz_error *err)
{
    rz_identity id;
    uint8_t node_id[RZ_NODE_ID_BYTES];
    char path[4096], idhex[2 * RZ_NODE_ID_BYTES + 2], pkhex[2 * RZ_PK_BYTES + 1];
    int rc;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return rz_fail(err, RZ_E_IO, "%s: %s", dir, strerror(errno));
    identity_generate(&id);
    randombytes_buf(node_id, sizeof node_id);
    hex_encode(idhex, node_id, RZ_NODE_ID_BYTES);
    hex_encode(pkhex, id.pk, RZ_PK_BYTES);
    snprintf(path, sizeof path, "%s/node.key", dir);
    rc = identity_save(&id, path, err);
    identity_wipe(&id);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/node.id", dir);
    idhex[2 * RZ_NODE_ID_BYTES] = '\n';
    if ((rc = file_write_atomic(path, idhex, 2 * RZ_NODE_ID_BYTES + 1, 0600, err)))
        return rc;
    idhex[2 * RZ_NODE_ID_BYTES] = '\0';
    printf("enroll-token: rz1:%s:%s\n", idhex, pkhex);
    return 0;
}

static void
peer_base(peer *p)
{
    memset(p, 0, sizeof *p);
    p->timeout_ms = 20000; /* a bound, not a timing assertion: ASan builds are slow */
    msgpack_zone_init(&p->zone, 4096);
}

int
peer_load(peer *p, const char *dir, rz_error *err)
{
    char path[4096], text[64];
    size_t n = 0;
    int rc;

    peer_base(p);
    snprintf(path, sizeof path, "%s/node.key", dir);
    if ((rc = identity_load(&p->id, path, err)))
        return rc;
    snprintf(path, sizeof path, "%s/node.id", dir);
    if ((rc = file_read_small(path, text, sizeof text - 1, &n, err)))
        return rc;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    text[n] = '\0';
    if (hex_decode(p->node_id, RZ_NODE_ID_BYTES, text) != 0)
        return rz_fail(err, RZ_E_CONFIG, "%s: not 16 hex digits", path);
    return 0;
}

void
peer_init_seeded(peer *p, const uint8_t seed[32], const uint8_t node_id[8])
{
    peer_base(p);
    crypto_sign_seed_keypair(p->id.pk, p->id.sk, seed);
    if (identity_derive_curve(&p->id) != 0)
        memset(p->id.curve_pk, 0, sizeof p->id.curve_pk);
    memcpy(p->node_id, node_id, RZ_NODE_ID_BYTES);
    p->server_ms = 1767225600000ull; /* 2026-01-01: fixed, so seeds do not vary */
    p->fixed_now_ms = p->server_ms;
}

void
peer_free(peer *p)
{
    if (p->sock)
        zmq_close(p->sock);
    if (p->zctx)
        zmq_ctx_term(p->zctx);
    free(p->rbuf);
    msgpack_zone_destroy(&p->zone);
    identity_wipe(&p->id);
    p->sock = p->zctx = NULL;
    p->rbuf = NULL;
}

int
peer_set_server(peer *p, const char *endpoint, const char *server_pk_hex, rz_error *err)
{
    uint8_t pk[RZ_PK_BYTES];
    if (snprintf(p->endpoint, sizeof p->endpoint, "%s", endpoint) >= (int)sizeof p->endpoint)
        return rz_fail(err, RZ_E_ARG, "endpoint too long");
    if (hex_decode(pk, RZ_PK_BYTES, server_pk_hex) != 0 ||
        curve_pk_from_sign_pk(p->server_curve, pk) != 0)
        return rz_fail(err, RZ_E_ARG, "server key must be 64 hex digits of an Ed25519 key");
    return 0;
}

int
peer_connect(peer *p, rz_error *err)
{
    int zero = 0;
    int64_t maxmsg = RZ_MAX_FRAME;
    if (!p->zctx && !(p->zctx = zmq_ctx_new()))
        return rz_fail(err, RZ_E_INTERNAL, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
    if (p->sock)
        zmq_close(p->sock);
    p->sock = zmq_socket(p->zctx, ZMQ_DEALER);
    if (!p->sock ||
        (!p->plain && (zmq_setsockopt(p->sock, ZMQ_CURVE_SERVERKEY, p->server_curve, 40) != 0 ||
                       zmq_setsockopt(p->sock, ZMQ_CURVE_PUBLICKEY, p->id.curve_pk, 40) != 0 ||
                       zmq_setsockopt(p->sock, ZMQ_CURVE_SECRETKEY, p->id.curve_sk, 40) != 0)) ||
        zmq_setsockopt(p->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(p->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_setsockopt(p->sock, ZMQ_RCVTIMEO, &p->timeout_ms, sizeof p->timeout_ms) != 0 ||
        zmq_setsockopt(p->sock, ZMQ_SNDTIMEO, &p->timeout_ms, sizeof p->timeout_ms) != 0 ||
        zmq_connect(p->sock, p->endpoint) != 0)
        return rz_fail(err, RZ_E_IO, "cannot connect to %s: %s", p->endpoint,
                       zmq_strerror(zmq_errno()));
    return 0;
}

void
peer_set_timeout(peer *p, int ms)
{
    p->timeout_ms = ms;
    if (p->sock)
        zmq_setsockopt(p->sock, ZMQ_RCVTIMEO, &ms, sizeof ms);
}

int
peer_send(peer *p, const void *const *parts, const size_t *lens, int nparts, rz_error *err)
{
    int i;
    for (i = 0; i < nparts; i++)
        if (zmq_send(p->sock, parts[i], lens[i], i + 1 < nparts ? ZMQ_SNDMORE : 0) < 0)
            /* EAGAIN: no connection to queue on within the timeout.  A
             * refused handshake (unenrolled key, wrong server key, no CURVE)
             * ends the connection for good, and whether that happens before
             * or after the send is a race: either way the server did not
             * answer, which is what a timeout says. */
            return zmq_errno() == EAGAIN
                       ? rz_fail(err, RZ_E_TIMEOUT, "no connection within %d ms (send)",
                                 p->timeout_ms)
                       : rz_fail(err, RZ_E_IO, "send: %s", zmq_strerror(zmq_errno()));
    return 0;
}

int
peer_recv(peer *p, rz_msg *m, rz_error *err)
{
    zmq_msg_t msg;
    int more;

    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, p->sock, 0) < 0) {
        zmq_msg_close(&msg);
        return errno == EAGAIN ? rz_fail(err, RZ_E_TIMEOUT, "no reply within %d ms", p->timeout_ms)
                               : rz_fail(err, RZ_E_IO, "recv: %s", zmq_strerror(zmq_errno()));
    }
    more = zmq_msg_more(&msg);
    free(p->rbuf);
    p->rlen = zmq_msg_size(&msg);
    p->rbuf = xmalloc(p->rlen ? p->rlen : 1);
    memcpy(p->rbuf, zmq_msg_data(&msg), p->rlen);
    zmq_msg_close(&msg);
    if (more) { /* a reply is exactly one frame: drain and refuse the rest */
        while (more) {
            zmq_msg_init(&msg);
            more = zmq_msg_recv(&msg, p->sock, 0) >= 0 && zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
        return rz_fail(err, RZ_E_DECODE, "reply has more than one frame");
    }
    msgpack_zone_clear(&p->zone);
    return msg_decode(p->rbuf, p->rlen, &p->zone, m, err);
}

int
peer_hello(peer *p, const uint8_t claimed[RZ_NODE_ID_BYTES], rz_error *err)
{
    mpk_writer w;
    rz_msg m;
    const void *part;
    size_t len;
    int rc;

    mpk_w_init(&w);
    msg_encode_hello(&w, claimed);
    part = w.sb.data;
    len = w.sb.size;
    rc = peer_send(p, &part, &len, 1, err);
    mpk_w_free(&w);
    if (rc || (rc = peer_recv(p, &m, err)))
        return rc;
    if (m.type == RZ_MSG_ERROR)
        return rz_fail(err, m.code, "ERROR %s: %s", rz_err_name(m.code), m.text);
    if (m.type != RZ_MSG_WELCOME)
        return rz_fail(err, RZ_E_MSGTYPE, "HELLO answered with message type %d", m.type);
    p->epoch = m.epoch;
    p->head_seq = m.head_seq;
    memcpy(p->head, m.head, RZ_HASH_BYTES);
    p->server_ms = m.server_ms;
    p->quarantined = m.quarantined;
    p->hlc = hlc_observe(p->hlc, hlc_make(m.server_ms, 0), hlc_wall_ms());
    return 0;
}

uint64_t
peer_next_hlc(peer *p)
{
    p->hlc = hlc_next(p->hlc, p->fixed_now_ms ? p->fixed_now_ms : hlc_wall_ms());
    return p->hlc;
}

void
pbatch_init(pbatch *b, const peer *p)
{
    memset(b, 0, sizeof *b);
    memcpy(b->node_id, p->node_id, RZ_NODE_ID_BYTES);
    b->epoch = p->epoch;
    b->first_seq = p->head_seq + 1;
    memcpy(b->prev, p->head, RZ_HASH_BYTES);
    b->ent = xcalloc(PEER_MAX_ENTRIES, sizeof *b->ent);
    b->len = xcalloc(PEER_MAX_ENTRIES, sizeof *b->len);
    b->rev = xcalloc(PEER_MAX_REVEALS, sizeof *b->rev);
}

void
pbatch_free(pbatch *b)
{
    free(b->ent);
    free(b->len);
    free(b->rev);
    b->ent = NULL;
    b->len = NULL;
    b->rev = NULL;
}

int
pbatch_from_frame(pbatch *b, const uint8_t *buf, size_t len, rz_error *err)
{
    msgpack_zone z;
    rz_msg m;
    peer none;
    size_t i;
    int rc;

    memset(&none, 0, sizeof none);
    pbatch_init(b, &none);
    msgpack_zone_init(&z, 4096);
    if ((rc = msg_decode(buf, len, &z, &m, err)) == 0 && m.type != RZ_MSG_BATCH)
        rc = rz_fail(err, RZ_E_MSGTYPE, "not a BATCH");
    if (rc == 0 && (m.nentries > PEER_MAX_ENTRIES || m.nreveals > PEER_MAX_REVEALS))
        rc = rz_fail(err, RZ_E_TOOBIG, "batch does not fit the builder");
    for (i = 0; rc == 0 && i < m.nentries; i++)
        if (m.entry_len[i] > PEER_ENTRY_CAP)
            rc = rz_fail(err, RZ_E_TOOBIG, "entry does not fit the builder");
    if (rc == 0) {
        memcpy(b->node_id, m.node_id, RZ_NODE_ID_BYTES);
        b->epoch = m.epoch;
        b->first_seq = m.first_seq;
        memcpy(b->prev, m.prev, RZ_HASH_BYTES);
        memcpy(b->sig, m.sig, RZ_SIG_BYTES);
        for (i = 0; i < m.nentries; i++)
            pbatch_add_raw(b, m.entry[i], m.entry_len[i]);
        for (i = 0; i < m.nreveals; i++) {
            pb_reveal *r = &b->rev[b->nrev++];
            r->index = m.reveals[i].index;
            r->field = m.reveals[i].field;
            memcpy(r->salt, m.reveals[i].salt, RZ_SALT_BYTES);
            r->len = m.reveals[i].len < PEER_VALUE_CAP ? m.reveals[i].len : PEER_VALUE_CAP;
            memcpy(r->value, m.reveals[i].value, r->len);
        }
    }
    msgpack_zone_destroy(&z);
    return rc;
}

size_t
pbatch_add_raw(pbatch *b, const uint8_t *bytes, size_t len)
{
    if (b->n >= PEER_MAX_ENTRIES || len > PEER_ENTRY_CAP) {
        fprintf(stderr, "pbatch: entry does not fit the builder\n");
        abort(); /* a bug in the test itself */
    }
    memcpy(b->ent[b->n], bytes, len);
    b->len[b->n] = len;
    return b->n++;
}

size_t
pbatch_add_entry(pbatch *b, const rz_entry *e)
{
    mpk_writer w;
    size_t i;
    mpk_w_init(&w);
    entry_encode(&w, e);
    i = pbatch_add_raw(b, (const uint8_t *)w.sb.data, w.sb.size);
    mpk_w_free(&w);
    return i;
}

void
pbatch_reveal(pbatch *b, uint32_t index, uint8_t field, const char *value, size_t len,
              uint8_t commit[RZ_COMMIT_BYTES])
{
    pb_reveal *r;
    if (b->nrev >= PEER_MAX_REVEALS || len > PEER_VALUE_CAP) {
        fprintf(stderr, "pbatch: reveal does not fit the builder\n");
        abort();
    }
    r = &b->rev[b->nrev++];
    r->index = index;
    r->field = field;
    randombytes_buf(r->salt, RZ_SALT_BYTES);
    memcpy(r->value, value, len);
    r->len = len;
    pii_commit(commit, r->salt, value, len);
}

static void
peer_new_id(peer *p, uint8_t id[16])
{
    be64_put(id, peer_next_hlc(p));
    memcpy(id + 8, p->node_id, RZ_NODE_ID_BYTES);
}

/* Adds field id with value v to e (fields must come in ascending order). */
size_t
pbatch_add_person(pbatch *b, peer *p, const pb_person *ps, uint8_t id_out[16])
{
    static uint8_t commits[3][RZ_COMMIT_BYTES]; /* live until entry_encode below */
    uint8_t id[16];
    rz_entry e;
    uint32_t index = (uint32_t)b->n;
    const char *pii[3] = {ps->cnic, ps->name, ps->phone};
    size_t i;

    peer_new_id(p, id);
    entry_init(&e, peer_next_hlc(p), RZ_T_PERSON, RZ_OP_SET, id, 16);
    for (i = 0; i < 3; i++) {
        size_t len;
        if (!pii[i])
            continue;
        len = i == 1 && ps->name_len ? ps->name_len : strlen(pii[i]);
        pbatch_reveal(b, index, (uint8_t)(RZ_PF_CNIC + i), pii[i], len, commits[i]);
        entry_put(&e, (uint8_t)(RZ_PF_CNIC + i), rz_bin(commits[i], RZ_COMMIT_BYTES));
    }
    if (ps->gender >= 0)
        entry_put(&e, RZ_PF_GENDER, rz_uint((uint64_t)ps->gender));
    if (ps->birth_year >= 0)
        entry_put(&e, RZ_PF_BIRTH_YEAR, rz_uint((uint64_t)ps->birth_year));
    if (ps->district) {
        rz_value v = rz_str(ps->district);
        if (ps->district_len)
            v.len = ps->district_len;
        entry_put(&e, RZ_PF_DISTRICT, v);
    }
    if (ps->area >= 0)
        entry_put(&e, RZ_PF_AREA, rz_uint((uint64_t)ps->area));
    if (ps->skill >= 0)
        entry_put(&e, RZ_PF_SKILL, rz_uint((uint64_t)ps->skill));
    if (ps->reg_date >= 0)
        entry_put(&e, RZ_PF_REG_DATE, rz_uint((uint64_t)ps->reg_date));
    if (id_out)
        memcpy(id_out, id, 16);
    return pbatch_add_entry(b, &e);
}

size_t
pbatch_add_event(pbatch *b, peer *p, const char *title, uint8_t id_out[16])
{
    uint8_t id[16];
    rz_entry e;
    peer_new_id(p, id);
    entry_init(&e, peer_next_hlc(p), RZ_T_EVENT, RZ_OP_SET, id, 16);
    entry_put(&e, RZ_EF_KIND, rz_uint(RZ_EK_BOOTCAMP));
    entry_put(&e, RZ_EF_TITLE, rz_str(title));
    entry_put(&e, RZ_EF_DATE, rz_uint(20240305));
    entry_put(&e, RZ_EF_DURATION, rz_uint(180));
    entry_put(&e, RZ_EF_MODE, rz_uint(RZ_MODE_IN_PERSON));
    if (id_out)
        memcpy(id_out, id, 16);
    return pbatch_add_entry(b, &e);
}

size_t
pbatch_add_attendance(pbatch *b, peer *p, const uint8_t event[16], const uint8_t person[16])
{
    uint8_t key[32];
    rz_entry e;
    memcpy(key, event, 16);
    memcpy(key + 16, person, 16);
    entry_init(&e, peer_next_hlc(p), RZ_T_ATTENDANCE, RZ_OP_SET, key, 32);
    entry_put(&e, RZ_AF_PRESENT, rz_bool(1));
    return pbatch_add_entry(b, &e);
}

size_t
pbatch_add_clock_at(pbatch *b, peer *p, uint64_t server_ms, uint64_t local_ms)
{
    rz_entry e;
    entry_init(&e, peer_next_hlc(p), RZ_T_CLOCK, RZ_OP_SET, (const uint8_t *)"", 0);
    entry_put(&e, RZ_CF_SERVER_MS, rz_uint(server_ms));
    entry_put(&e, RZ_CF_LOCAL_MS, rz_uint(local_ms));
    return pbatch_add_entry(b, &e);
}

size_t
pbatch_add_clock(pbatch *b, peer *p)
{
    return pbatch_add_clock_at(b, p, p->server_ms, hlc_physical_ms(p->hlc));
}

void
pbatch_sign(pbatch *b, const rz_identity *key)
{
    uint8_t prev[RZ_HASH_BYTES];
    size_t i;
    memcpy(prev, b->prev, RZ_HASH_BYTES);
    for (i = 0; i < b->n; i++) {
        chain_hash(b->last_hash, b->node_id, b->epoch, b->first_seq + i, prev, b->ent[i],
                   b->len[i]);
        memcpy(prev, b->last_hash, RZ_HASH_BYTES);
    }
    batch_sign(b->sig, key, b->node_id, b->epoch, b->first_seq + (b->n ? b->n - 1 : 0),
               b->last_hash);
}

void
pbatch_encode(const pbatch *b, mpk_writer *w)
{
    size_t i;
    mpk_w_reset(w);
    msg_encode_batch_begin(w, b->node_id, b->epoch, b->first_seq, b->prev, b->n);
    for (i = 0; i < b->n; i++)
        mpk_w_bin(w, b->ent[i], b->len[i]);
    msg_encode_batch_reveals(w, b->nrev);
    for (i = 0; i < b->nrev; i++)
        msg_encode_reveal(w, b->rev[i].index, b->rev[i].field, b->rev[i].salt, b->rev[i].value,
                          b->rev[i].len);
    msg_encode_batch_end(w, b->sig);
}
