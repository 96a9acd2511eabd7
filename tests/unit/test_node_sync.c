/*
 * test_node_sync: the node's side of RZSYNC/1 (client/node_sync.c).
 *
 * BATCH encoding is checked by decoding what the node builds and verifying
 * it exactly as PROTOCOL.md 4.3 demands (prev hash, chain, signature,
 * commitments opened by the reveals, frame limit).  The sync loop runs
 * against a fake server in a thread: a CURVE ROUTER on 127.0.0.1 that
 * verifies every batch the same way and answers WELCOME/ACK/ERROR, or
 * misbehaves on purpose (fork, busy, forged receipt, silence, other key).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "client/node_store.h"
#include "client/node_sync.h"
#include "common/hlc.h"
#include "common/util.h"
#include "proto/entry.h"
#include "proto/msg.h"
#include "node_fixture.h"

/* ---- verifying a BATCH as the server must ---- */

typedef struct batch_facts {
    uint8_t head[RZ_HASH_BYTES]; /* chain hash of the last entry */
    size_t commits;              /* commitments in the entries */
    size_t reveals;              /* reveals that opened one */
    size_t clocks;               /* clock entries */
    int last_is_clock;           /* the batch ends with a clock entry */
} batch_facts;

/* 0 when m is a BATCH the server accepts continuing after prev; otherwise
 * -1 with the reason in why. */
static int
verify_batch(const rz_msg *m, const uint8_t pk[RZ_PK_BYTES], const uint8_t *node_id, uint32_t epoch,
             uint64_t first_seq, const uint8_t prev[RZ_HASH_BYTES], batch_facts *bf, char *why,
             size_t whylen)
{
    uint8_t h[RZ_HASH_BYTES];
    const uint8_t *p = prev;
    msgpack_zone z;
    rz_entry e;
    size_t i;
    int rc = -1;

    memset(bf, 0, sizeof *bf);
    msgpack_zone_init(&z, 4096);
    if (m->type != RZ_MSG_BATCH || memcmp(m->node_id, node_id, RZ_NODE_ID_BYTES) != 0 ||
        m->epoch != epoch || m->first_seq != first_seq ||
        memcmp(m->prev, prev, RZ_HASH_BYTES) != 0) {
        snprintf(why, whylen, "header: type %d epoch %u first %llu", m->type, m->epoch,
                 (unsigned long long)m->first_seq);
        goto out;
    }
    for (i = 0; i < m->nentries; i++) {
        size_t f;
        chain_hash(h, node_id, epoch, first_seq + i, p, m->entry[i], m->entry_len[i]);
        memcpy(bf->head, h, RZ_HASH_BYTES);
        p = bf->head;
        msgpack_zone_clear(&z);
        if (entry_decode(m->entry[i], m->entry_len[i], &z, &e, NULL) != 0) {
            snprintf(why, whylen, "entry %zu does not decode", i);
            goto out;
        }
        for (f = 0; f < e.nfields; f++)
            if (entry_field_is_pii(e.table, e.fields[f].id) && e.fields[f].v.type == RZ_V_BIN)
                bf->commits++;
        bf->last_is_clock = e.table == RZ_T_CLOCK;
        bf->clocks += e.table == RZ_T_CLOCK;
    }
    if (batch_verify(m->sig, pk, node_id, epoch, first_seq + m->nentries - 1, bf->head) != 0) {
        snprintf(why, whylen, "signature");
        goto out;
    }
    for (i = 0; i < m->nreveals; i++) {
        const rz_reveal *r = &m->reveals[i];
        const rz_value *v;
        uint8_t c[RZ_COMMIT_BYTES];
        if (i > 0 &&
            (r->index < m->reveals[i - 1].index ||
             (r->index == m->reveals[i - 1].index && r->field <= m->reveals[i - 1].field))) {
            snprintf(why, whylen, "reveals not ascending");
            goto out;
        }
        msgpack_zone_clear(&z);
        if (entry_decode(m->entry[r->index], m->entry_len[r->index], &z, &e, NULL) != 0 ||
            !(v = entry_field(&e, r->field)) || v->type != RZ_V_BIN) {
            snprintf(why, whylen, "reveal %zu opens nothing", i);
            goto out;
        }
        pii_commit(c, r->salt, r->value, r->len);
        if (memcmp(c, v->p, RZ_COMMIT_BYTES) != 0) {
            snprintf(why, whylen, "reveal %zu does not match", i);
            goto out;
        }
        bf->reveals++;
    }
    if (bf->reveals != bf->commits) {
        snprintf(why, whylen, "%zu commitments, %zu reveals", bf->commits, bf->reveals);
        goto out;
    }
    rc = 0;
out:
    msgpack_zone_destroy(&z);
    return rc;
}

static int
setup(void **state)
{
    return node_fixture_setup(state, "node-sync");
}

static void
record_people(fixture *f, int n, int with_pii)
{
    rz_error err = {0, ""};
    uint8_t id[16];
    char name[32], phone[32];
    int i;
    for (i = 0; i < n; i++) {
        node_person p;
        memset(&p, 0, sizeof p);
        snprintf(name, sizeof name, "Person %d", i);
        snprintf(phone, sizeof phone, "0300-%07d", i);
        p.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_GENDER);
        p.name = name;
        p.gender = RZ_G_FEMALE;
        if (with_pii && i % 2 == 0) {
            p.set |= NODE_SET(RZ_PF_CNIC) | NODE_SET(RZ_PF_PHONE);
            p.cnic = "35202-1234567-2";
            p.phone = phone;
        }
        assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    }
}

static void
status_of(fixture *f, node_store_status *st)
{
    rz_error err = {0, ""};
    assert_int_equal(node_store_get_status(f->ns, st, &err), 0);
}

/* ---- BATCH encoding ---- */

static void
check_built(fixture *f, node_batch *b, uint64_t first, batch_facts *bf)
{
    msgpack_zone z;
    rz_msg m;
    rz_error err = {0, ""};
    uint8_t prev[RZ_HASH_BYTES];
    node_store_status st;
    char why[128] = "";
    status_of(f, &st);
    assert_int_equal(node_store_hash_at(f->ns, first - 1, prev, &err), 0);
    assert_true(b->msg.sb.size <= RZ_MAX_FRAME);
    msgpack_zone_init(&z, 4096);
    assert_int_equal(msg_decode((const uint8_t *)b->msg.sb.data, b->msg.sb.size, &z, &m, &err), 0);
    assert_int_equal(m.nentries, b->nentries);
    assert_int_equal(m.nreveals, b->nreveals);
    if (verify_batch(&m, node_store_identity(f->ns)->pk, st.node_id, st.epoch, first, prev, bf, why,
                     sizeof why) != 0)
        fail_msg("batch does not verify: %s", why);
    assert_memory_equal(bf->head, b->head, RZ_HASH_BYTES);
    msgpack_zone_destroy(&z);
}

static void
test_batch_encoding(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_batch b;
    batch_facts bf;

    record_people(f, 7, 1);
    node_batch_init(&b);
    assert_int_equal(node_sync_build_batch(f->ns, 1, 100, 500, &b, &err), 0);
    assert_int_equal(b.first_seq, 1);
    assert_int_equal(b.last_seq, 7);
    check_built(f, &b, 1, &bf);
    assert_int_equal(bf.commits, 7 + 2 * 4); /* every name, CNIC+phone of 4 */
    /* A middle slice: reveal indices are relative to the batch. */
    assert_int_equal(node_sync_build_batch(f->ns, 3, 100, 2, &b, &err), 0);
    assert_int_equal(b.last_seq, 4);
    check_built(f, &b, 3, &bf);
    assert_int_equal(bf.reveals, 1 + 3);
    /* Bounded above by last_seq. */
    assert_int_equal(node_sync_build_batch(f->ns, 2, 5, 500, &b, &err), 0);
    assert_int_equal(b.last_seq, 5);
    assert_int_equal(node_sync_build_batch(f->ns, 8, 100, 500, &b, &err), RZ_E_NOTFOUND);
    node_batch_free(&b);
}

static void
test_batch_stays_within_one_frame(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    char big[RZ_MAX_STR + 1];
    node_batch b;
    batch_facts bf;
    uint8_t id[16];
    uint64_t next = 1, total = 0;
    int i, batches = 0;

    /* Entries near the size limits: 500 of them would not fit a frame. */
    memset(big, 'w', RZ_MAX_STR);
    big[RZ_MAX_STR] = '\0';
    assert_int_equal(node_store_begin(f->ns, &err), 0);
    for (i = 0; i < 600; i++) {
        node_person p;
        memset(&p, 0, sizeof p);
        p.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_GENDER) | NODE_SET(RZ_PF_CNIC) |
                NODE_SET(RZ_PF_PHONE) | NODE_SET(RZ_PF_DISTRICT) | NODE_SET(RZ_PF_SKILLS) |
                NODE_SET(RZ_PF_PLATFORMS);
        p.name = p.cnic = p.phone = big; /* three reveals of 512 bytes */
        p.gender = RZ_G_MALE;
        p.district = p.skills = p.platforms = big;
        assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    }
    assert_int_equal(node_store_commit(f->ns, &err), 0);
    node_batch_init(&b);
    while (next <= 600) {
        assert_int_equal(node_sync_build_batch(f->ns, next, 600, RZ_BATCH_ENTRIES, &b, &err), 0);
        assert_true(b.nentries < RZ_BATCH_ENTRIES);
        check_built(f, &b, next, &bf);
        total += b.nentries;
        next = b.last_seq + 1;
        batches++;
    }
    assert_int_equal(total, 600);
    assert_true(batches >= 2);
    node_batch_free(&b);
}

/* ---- a fake server ---- */

enum fs_mode { FS_OK, FS_BUSY, FS_BAD_RECEIPT, FS_SILENT };

typedef struct fake_server {
    pthread_t th;                      /* its thread */
    void *ctx, *router;                /* its socket */
    char endpoint[128];                /* where it listens */
    rz_identity id;                    /* server key */
    uint8_t node_pk[RZ_PK_BYTES];      /* the enrolled node key */
    uint8_t node_id[RZ_NODE_ID_BYTES]; /* the node */
    volatile int stop;                 /* ask the thread to end */
    int mode;                          /* enum fs_mode */
    uint32_t epoch;                    /* node's epoch here */
    uint64_t head_seq;                 /* stored head */
    uint8_t head[RZ_HASH_BYTES];       /* its hash */
    int quarantined;                   /* WELCOME flag */
    uint64_t hellos, batches, stored;  /* what happened */
    size_t clocks;                     /* clock entries stored */
    int last_is_clock;                 /* the stored log ends with one */
    int violations;                    /* batches the real server would refuse */
    char why[128];                     /* the first violation */
} fake_server;

static void
fs_reply(fake_server *s, zmq_msg_t *routing, mpk_writer *w)
{
    zmq_send(s->router, zmq_msg_data(routing), zmq_msg_size(routing), ZMQ_SNDMORE);
    zmq_send(s->router, w->sb.data, w->sb.size, 0);
}

static void
fs_batch(fake_server *s, const rz_msg *m, zmq_msg_t *routing, mpk_writer *w)
{
    batch_facts bf;
    uint8_t receipt[RZ_SIG_BYTES];
    uint64_t now = hlc_wall_ms(), last;
    s->batches++;
    if (verify_batch(m, s->node_pk, s->node_id, s->epoch, s->head_seq + 1, s->head, &bf, s->why,
                     sizeof s->why) != 0) {
        s->violations++;
        msg_encode_error(w, now, RZ_E_SIGNATURE, "fake server refuses");
        fs_reply(s, routing, w);
        return;
    }
    if (s->mode == FS_BUSY) {
        msg_encode_error(w, now, RZ_E_BUSY, "disk full");
        fs_reply(s, routing, w);
        return;
    }
    last = m->first_seq + m->nentries - 1;
    s->stored += m->nentries;
    s->clocks += bf.clocks;
    s->last_is_clock = bf.last_is_clock;
    s->head_seq = last;
    memcpy(s->head, bf.head, RZ_HASH_BYTES);
    receipt_sign(receipt, &s->id, s->node_id, s->epoch, m->first_seq, last, bf.head, now);
    if (s->mode == FS_BAD_RECEIPT)
        receipt[5] ^= 1;
    msg_encode_ack(w, now, s->epoch, m->first_seq, last, bf.head, receipt, m->nentries);
    fs_reply(s, routing, w);
}

static void *
fs_main(void *arg)
{
    fake_server *s = arg;
    msgpack_zone z;
    mpk_writer w;
    msgpack_zone_init(&z, 4096);
    mpk_w_init(&w);
    while (!s->stop) {
        zmq_pollitem_t it = {s->router, 0, ZMQ_POLLIN, 0};
        zmq_msg_t routing, body;
        rz_msg m;
        if (zmq_poll(&it, 1, 20) <= 0)
            continue;
        zmq_msg_init(&routing);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&routing, s->router, 0) < 0 || zmq_msg_recv(&body, s->router, 0) < 0) {
            zmq_msg_close(&routing);
            zmq_msg_close(&body);
            continue;
        }
        msgpack_zone_clear(&z);
        mpk_w_reset(&w);
        if (s->mode != FS_SILENT &&
            msg_decode(zmq_msg_data(&body), zmq_msg_size(&body), &z, &m, NULL) == 0) {
            if (m.type == RZ_MSG_HELLO) {
                s->hellos++;
                msg_encode_welcome(&w, hlc_wall_ms(), s->epoch, s->head_seq, s->head,
                                   s->quarantined);
                fs_reply(s, &routing, &w);
            } else if (m.type == RZ_MSG_BATCH) {
                fs_batch(s, &m, &routing, &w);
            }
        }
        zmq_msg_close(&routing);
        zmq_msg_close(&body);
    }
    mpk_w_free(&w);
    msgpack_zone_destroy(&z);
    return NULL;
}

/* Binds a fresh server and configures the node to use it (with the
 * server's key, or another one when wrong_key). */
static fake_server *
fs_start(fixture *f, int mode, int wrong_key)
{
    fake_server *s = calloc(1, sizeof *s);
    rz_error err = {0, ""};
    size_t n = sizeof s->endpoint;
    int one = 1, linger = 0;
    node_store_status st;
    rz_identity other;
    status_of(f, &st);
    identity_generate(&s->id);
    memcpy(s->node_pk, node_store_identity(f->ns)->pk, RZ_PK_BYTES);
    memcpy(s->node_id, st.node_id, RZ_NODE_ID_BYTES);
    s->mode = mode;
    s->ctx = zmq_ctx_new();
    s->router = zmq_socket(s->ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_setsockopt(s->router, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
    assert_int_equal(zmq_setsockopt(s->router, ZMQ_CURVE_SECRETKEY, s->id.curve_sk, RZ_Z85_KEY), 0);
    zmq_setsockopt(s->router, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_bind(s->router, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_getsockopt(s->router, ZMQ_LAST_ENDPOINT, s->endpoint, &n), 0);
    identity_generate(&other);
    assert_int_equal(
        node_store_configure(f->ns, s->endpoint, wrong_key ? other.pk : s->id.pk, &err), 0);
    identity_wipe(&other);
    assert_int_equal(pthread_create(&s->th, NULL, fs_main, s), 0);
    return s;
}

/* Ends the thread; every batch it saw must have verified. */
static void
fs_join(fake_server *s)
{
    s->stop = 1;
    pthread_join(s->th, NULL);
    if (s->violations)
        fail_msg("the fake server refused %d batches: %s", s->violations, s->why);
}

static void
fs_free(fake_server *s)
{
    zmq_close(s->router);
    zmq_ctx_term(s->ctx);
    identity_wipe(&s->id);
    free(s);
}

static void
fs_stop(fake_server *s)
{
    fs_join(s);
    fs_free(s);
}

static node_sync_opts
quick_opts(void)
{
    node_sync_opts o;
    node_sync_opts_default(&o);
    o.timeout_ms = 5000;
    o.batch_entries = 5;
    o.window = 3;
    o.retries = 1;
    return o;
}

static void
test_sync_delivers_everything_once(void **state)
{
    fixture *f = *state;
    fake_server *s;
    node_sync_opts o = quick_opts();
    node_sync_result r;
    node_store_status st;
    rz_error err = {0, ""};

    record_people(f, 23, 1);
    s = fs_start(f, FS_OK, 0);
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), 0);
    assert_int_equal(r.sent, 24); /* 23 people + the clock entry */
    assert_int_equal(r.batches, 5);
    assert_int_equal(r.server_head, 24);
    assert_int_equal(r.pending, 0);
    status_of(f, &st);
    assert_int_equal(st.acked_seq, 24);
    assert_true(st.head_is_clock);
    assert_true(st.last_server_ms > 0);

    /* Nothing new: nothing sent, no clock entry appended. */
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), 0);
    assert_int_equal(r.sent, 0);
    status_of(f, &st);
    assert_int_equal(st.head_seq, 24);

    /* Two more: exactly those plus one clock entry. */
    record_people(f, 2, 0);
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), 0);
    assert_int_equal(r.sent, 3);
    assert_int_equal(r.first_seq, 25);
    fs_stop(s);
}

static void
test_sync_fake_server_saw_valid_batches(void **state)
{
    fixture *f = *state;
    fake_server *s;
    node_sync_opts o = quick_opts();
    node_sync_result r;
    rz_error err = {0, ""};

    record_people(f, 12, 1);
    s = fs_start(f, FS_OK, 0);
    o.window = 1;
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), 0);
    fs_join(s);
    assert_int_equal(s->stored, 13);
    assert_int_equal(s->batches, 3);
    assert_int_equal(s->clocks, 1);
    assert_true(s->last_is_clock);
    assert_int_equal(s->hellos, 1);
    fs_free(s);
}

static void
test_sync_detects_fork(void **state)
{
    fixture *f = *state;
    fake_server *s;
    node_sync_opts o = quick_opts();
    node_sync_result r;
    node_store_status st;
    rz_error err = {0, ""};

    record_people(f, 4, 0);
    s = fs_start(f, FS_OK, 0);
    /* The server holds 3 entries, but its entry 3 is not ours. */
    s->head_seq = 3;
    randombytes_buf(s->head, RZ_HASH_BYTES);
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), RZ_E_FORK);
    assert_non_null(strstr(err.text, "fork"));
    assert_non_null(strstr(err.text, "new-epoch"));
    assert_non_null(strstr(err.text, "rebase"));
    /* The server holds more than we have. */
    s->head_seq = 9;
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), RZ_E_FORK);
    status_of(f, &st);
    assert_int_equal(st.head_seq, 4); /* no clock entry, nothing sent */
    assert_int_equal(st.acked_seq, 0);
    assert_int_equal(s->batches, 0);
    /* Quarantine and a new epoch are refused before anything is sent. */
    s->quarantined = 1;
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), RZ_E_QUARANTINE);
    s->quarantined = 0;
    s->epoch = 1;
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), RZ_E_EPOCH);
    assert_non_null(strstr(err.text, "rebase"));
    assert_int_equal(s->batches, 0);
    fs_stop(s);
}

static void
test_rebase_then_sync(void **state)
{
    fixture *f = *state;
    fake_server *s;
    node_sync_opts o = quick_opts();
    node_sync_result r;
    node_rebase_result rr;
    node_store_status st;
    rz_error err = {0, ""};

    record_people(f, 5, 1);
    s = fs_start(f, FS_OK, 0);
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), 0);
    assert_int_equal(r.sent, 6);
    /* A restored backup: the server holds 2 entries more than our receipts
     * show, from a timeline we lost; we recorded 4 others meanwhile. */
    record_people(f, 4, 1);
    assert_int_equal(node_sync_rebase(f->ns, &o, &rr, &r, &err), RZ_E_EPOCH);
    s->epoch = 1;
    s->head_seq = 8;
    randombytes_buf(s->head, RZ_HASH_BYTES);
    s->quarantined = 1;
    assert_int_equal(node_sync_rebase(f->ns, &o, &rr, &r, &err), RZ_E_QUARANTINE);
    s->quarantined = 0;
    assert_int_equal(node_sync_rebase(f->ns, &o, &rr, &r, &err), 0);
    assert_int_equal(rr.epoch, 1);
    assert_int_equal(rr.moved, 4);
    assert_int_equal(rr.first_seq, 9);
    assert_int_equal(rr.last_seq, 12);
    s->batches = s->stored = 0;
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), 0);
    assert_int_equal(r.sent, 5); /* 4 re-appended + clock */
    status_of(f, &st);
    assert_int_equal(st.acked_seq, 13);
    assert_int_equal(st.epoch, 1);
    fs_join(s);
    assert_int_equal(s->stored, 5);
    fs_free(s);
}

static void
test_sync_busy_is_retried_then_refused(void **state)
{
    fixture *f = *state;
    fake_server *s;
    node_sync_opts o = quick_opts();
    node_sync_result r;
    node_store_status st;
    rz_error err = {0, ""};

    record_people(f, 3, 0);
    s = fs_start(f, FS_BUSY, 0);
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), RZ_E_BUSY);
    assert_int_equal(r.server_code, RZ_E_BUSY);
    assert_int_equal(r.sessions, 2); /* one retry */
    assert_true(strncmp(err.text, "sync refused: busy: disk full", 29) == 0);
    status_of(f, &st);
    assert_int_equal(st.acked_seq, 0);
    assert_int_equal(st.pending, 4);
    fs_stop(s);
}

static void
test_sync_refuses_forged_receipt(void **state)
{
    fixture *f = *state;
    fake_server *s;
    node_sync_opts o = quick_opts();
    node_sync_result r;
    node_store_status st;
    rz_error err = {0, ""};

    record_people(f, 3, 0);
    s = fs_start(f, FS_BAD_RECEIPT, 0);
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), RZ_E_SIGNATURE);
    status_of(f, &st);
    assert_int_equal(st.acked_seq, 0);
    assert_int_equal(r.sent, 0);
    fs_stop(s);
}

static void
test_sync_silent_server_times_out(void **state)
{
    fixture *f = *state;
    fake_server *s;
    node_sync_opts o = quick_opts();
    node_sync_result r;
    node_store_status st;
    rz_error err = {0, ""};

    record_people(f, 3, 0);
    s = fs_start(f, FS_SILENT, 0);
    o.timeout_ms = 300;
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), RZ_E_TIMEOUT);
    assert_non_null(strstr(err.text, "server unreachable at tcp://127.0.0.1:"));
    assert_non_null(strstr(err.text, "nothing was lost, 3 entries wait"));
    status_of(f, &st);
    assert_int_equal(st.head_seq, 3);
    fs_stop(s);
}

static void
test_sync_wrong_server_key(void **state)
{
    fixture *f = *state;
    fake_server *s;
    node_sync_opts o = quick_opts();
    node_sync_result r;
    rz_error err = {0, ""};

    record_people(f, 2, 0);
    s = fs_start(f, FS_OK, 1);
    o.timeout_ms = 1000;
    assert_int_equal(node_sync_run(f->ns, &o, &r, &err), RZ_E_TIMEOUT);
    assert_non_null(strstr(err.text, "server key"));
    assert_int_equal(s->hellos, 0);
    fs_stop(s);
}

static void
test_sync_needs_configuration(void **state)
{
    fixture *f = *state;
    node_sync_result r;
    rz_error err = {0, ""};
    assert_int_equal(node_sync_run(f->ns, NULL, &r, &err), RZ_E_CONFIG);
    assert_non_null(strstr(err.text, "config"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_encoding, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_batch_stays_within_one_frame, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sync_delivers_everything_once, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sync_fake_server_saw_valid_batches, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sync_detects_fork, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rebase_then_sync, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sync_busy_is_retried_then_refused, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sync_refuses_forged_receipt, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sync_silent_server_times_out, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sync_wrong_server_key, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sync_needs_configuration, setup,
                                        node_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
