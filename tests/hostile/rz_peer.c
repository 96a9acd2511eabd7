/*
 * rz_peer: hostile-input driver for a running rozgar-server.
 *
 *   rz_peer keygen DIR
 *       new node key: DIR/node.key, DIR/node.id; prints the enroll token.
 *   rz_peer run good|hostile|fork|epoch --endpoint EP --server-key HEX --node DIR
 *           [--other DIR] [--name S] [--district S]
 *       runs one phase of the case table against the server (see below);
 *       one line per case (PASS/FAIL name), a count, exit 1 on any failure.
 *   rz_peer hello --endpoint EP --server-key HEX --node DIR
 *           --expect welcome|timeout|CODE [--timeout MS] [--plain] [--settle MS]
 *       one HELLO on a new connection (--plain: without CURVE; --settle: sent
 *       MS after connecting); exit 0 when the outcome is expected.
 *   rz_peer hold --endpoint EP --server-key HEX --node DIR -- CMD ARGS...
 *       HELLO on a kept connection, runs CMD (e.g. a revoke), then checks
 *       the same connection is refused (auth) and a new one gets no answer.
 *   rz_peer corpus OUTDIR
 *       writes fuzz seeds (fuzz_msg/, fuzz_entry/, fuzz_ingest/) built by the
 *       same case builders, signed with the fixed key of tests/fuzz/fuzz_key.h.
 *
 * Phases: "good" sends correct batches and batches whose values are hostile
 * but merely invalid or unusual (SQL metacharacters, Urdu, CNIC "123",
 * birth year 1800...), all of which must be ACKed and saves each accepted
 * batch in the node dir; "hostile" sends every malformed, oversized,
 * forged, reordered, replayed or gapped variant and checks the exact ERROR
 * code; "fork" makes a node rewrite its history (quarantines it); "epoch"
 * runs after headquarters' new-epoch for that node: old-epoch batches are
 * refused, the new epoch continues from the stored head.  After
 * every case a well-behaved HELLO must still be answered, with the head the
 * server held before the case (so nothing of a refused batch was applied).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/hlc.h"
#include "common/log.h"
#include "common/util.h"
#include "tests/fuzz/fuzz_key.h"
#include "tests/hostile/peer.h"

#define CASE_DROPPED 1   /* expect: the server drops the connection, no reply */
#define APPLIED_ALL (-1) /* expect: every entry of the batch is new */
#define NO_REPLY_MS 2500 /* how long "no reply" is waited for */
#define MAX_ACCEPTED 64

/* Everything a case builder and the runner share. */
typedef struct ctx {
    peer *p;                        /* node under test */
    peer *other;                    /* another node (its key and id), may be NULL */
    uint8_t server_pk[RZ_PK_BYTES]; /* verifies receipts */
    const char *dir;                /* node dir: accepted batches are saved here */
    const char *name;               /* hostile-but-valid name (good phase) */
    const char *district;           /* hostile-but-valid district (good phase) */
    uint8_t *acc[MAX_ACCEPTED];     /* accepted BATCH frames, oldest first */
    size_t acc_len[MAX_ACCEPTED];   /* their lengths */
    size_t nacc;                    /* how many */
    int expect_quarantined;         /* WELCOME must say quarantined */
    int pass, fail;                 /* counts */
} ctx;

/* What a builder produces: up to two frames, and for batches what an ACK
 * should report. */
typedef struct frame {
    mpk_writer w[2];      /* frame bytes */
    int nparts;           /* frames to send (default 1) */
    int64_t want_applied; /* entries new to the server if accepted */
    int skip_reason;      /* nonzero: the case cannot be built here */
    int fresh;            /* the case runs on a new connection, see FRESH_* */
} frame;

/* Conversation order (PROTOCOL §4.5): what a new connection says before the case. */
#define FRESH_SILENT 1      /* nothing */
#define FRESH_HELLO_OTHER 2 /* a HELLO naming another node, refused with auth */
#define FRESH_HELLO_TWICE 3 /* two HELLOs, each answered with WELCOME */

typedef void (*build_fn)(ctx *c, frame *f);

typedef struct hcase {
    const char *name; /* printed */
    build_fn build;   /* makes the frame(s) */
    int expect;       /* 0: ACK; RZ_E_*: ERROR code; CASE_DROPPED */
    int64_t applied;  /* ACK: applied, or APPLIED_ALL */
    const char *text; /* ERROR text must contain this, or NULL */
    int quarantines;  /* 1: from now on WELCOME says quarantined */
} hcase;

/* ---- building blocks ------------------------------------------------- */

static void
frame_batch(frame *f, const pbatch *b)
{
    pbatch_encode(b, &f->w[0]);
    f->want_applied = (int64_t)b->n;
}

static void
hdr(mpk_writer *w, size_t n, uint64_t version, uint64_t type)
{
    mpk_w_array(w, n);
    mpk_w_uint(w, RZ_WIRE_SIGNATURE);
    mpk_w_uint(w, version);
    mpk_w_uint(w, type);
}

static void
raw(mpk_writer *w, const char *bytes, size_t n)
{
    mpk_w_raw(w, bytes, n);
}

static const pb_person person_plain = {
    .cnic = "35202-1234567-1",
    .name = "Ayesha Khan",
    .phone = "0300-1234567",
    .district = "Lahore",
    .gender = RZ_G_FEMALE,
    .birth_year = 2001,
    .area = RZ_AREA_URBAN,
    .skill = RZ_SK_WHITE,
    .reg_date = 20240301,
};

static const pb_person person_noid = {
    .name = "Bilal Ahmed",
    .district = "Multan",
    .gender = RZ_G_MALE,
    .birth_year = 1998,
    .area = RZ_AREA_RURAL,
    .skill = RZ_SK_BLUE,
    .reg_date = 20240302,
    .cnic = NULL,
    .phone = NULL,
};

/* A correct batch continuing the peer's head: two persons, an event, two
 * attendances and the closing clock entry; signed. */
static void
good_batch(ctx *c, pbatch *b)
{
    uint8_t p1[16], p2[16], ev[16];
    pbatch_init(b, c->p);
    pbatch_add_person(b, c->p, &person_plain, p1);
    pbatch_add_person(b, c->p, &person_noid, p2);
    pbatch_add_event(b, c->p, "Freelancing bootcamp", ev);
    pbatch_add_attendance(b, c->p, ev, p1);
    pbatch_add_attendance(b, c->p, ev, p2);
    pbatch_add_clock(b, c->p);
    pbatch_sign(b, &c->p->id);
}

/* Writes the header of an entry with nfields fields to follow. */
static void
entry_hdr(mpk_writer *w, uint64_t schema, uint64_t hlc, uint64_t table, uint64_t op,
          const uint8_t *key, size_t keylen, size_t nfields)
{
    mpk_w_array(w, 6);
    mpk_w_uint(w, schema);
    mpk_w_uint(w, hlc);
    mpk_w_uint(w, table);
    mpk_w_uint(w, op);
    mpk_w_bin(w, key, keylen);
    mpk_w_map(w, nfields);
}

/* A batch of one good person, the given entry and a clock entry, signed:
 * the given entry is the only fault. */
static void
batch_with_entry(ctx *c, frame *f, const mpk_writer *entry)
{
    pbatch b;
    pbatch_init(&b, c->p);
    pbatch_add_person(&b, c->p, &person_noid, NULL);
    pbatch_add_raw(&b, (const uint8_t *)entry->sb.data, entry->sb.size);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
person_key(ctx *c, uint8_t key[16])
{
    be64_put(key, peer_next_hlc(c->p));
    memcpy(key + 8, c->p->node_id, RZ_NODE_ID_BYTES);
}

/* ---- good phase: everything here must be ACKed ------------------------ */

static void
g_batch(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
g_hostile_strings(ctx *c, frame *f)
{
    pbatch b;
    pb_person ps = person_plain;
    ps.cnic = "35202-7654321-3";
    ps.name = c->name;
    ps.district = c->district;
    pbatch_init(&b, c->p);
    pbatch_add_person(&b, c->p, &ps, NULL);
    ps.cnic = NULL;
    ps.name = "Robert'); DROP TABLE pii; --";
    ps.district = "Lahore\"; DELETE FROM log WHERE 1=1; --";
    pbatch_add_person(&b, c->p, &ps, NULL);
    ps.name = "عائشہ بی بی";
    ps.district = "ڈیرہ غازی خان";
    pbatch_add_person(&b, c->p, &ps, NULL);
    ps.name = "%s%s%n%x \\ ' \" ` $(id) <script>";
    ps.district = "%n%n%n";
    pbatch_add_person(&b, c->p, &ps, NULL);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
g_control_bytes(ctx *c, frame *f)
{
    static const char name[] = "Nul\0Byte\x01\x7f\n\r\t";
    static const char district[] = "Bad\xff\xfe utf-8 \xc3\x28 \0 end";
    pbatch b;
    pb_person ps = person_noid;
    ps.name = name;
    ps.name_len = sizeof name - 1;
    ps.district = district;
    ps.district_len = sizeof district - 1;
    pbatch_init(&b, c->p);
    pbatch_add_person(&b, c->p, &ps, NULL);
    ps.name = "";
    ps.name_len = 0;
    ps.district = "";
    ps.district_len = 0;
    pbatch_add_person(&b, c->p, &ps, NULL); /* empty strings */
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

/* Values that are merely invalid: stored, flagged, counted as unknown. */
static void
g_invalid_values(ctx *c, frame *f)
{
    pbatch b;
    mpk_writer w;
    uint8_t key[16], ev[16], ghost[16];
    pb_person ps = person_plain;
    ps.cnic = "123";
    ps.birth_year = 1800;
    ps.gender = 9;
    ps.area = 0;
    ps.skill = 77;
    ps.reg_date = 20251399;
    pbatch_init(&b, c->p);
    pbatch_add_person(&b, c->p, &ps, NULL);
    ps.cnic = "35202-123456X-1";
    ps.birth_year = 2999;
    ps.gender = 0;
    ps.reg_date = 20991231; /* in the future */
    pbatch_add_person(&b, c->p, &ps, NULL);
    ps.cnic = "";
    ps.birth_year = (int64_t)INT64_MAX;
    ps.reg_date = 19700101;
    pbatch_add_person(&b, c->p, &ps, NULL);
    /* Wrong value types: gender as text, birth year negative, date as bin,
     * district as a number. */
    mpk_w_init(&w);
    person_key(c, key);
    entry_hdr(&w, RZ_SCHEMA_CURRENT, peer_next_hlc(c->p), RZ_T_PERSON, RZ_OP_SET, key, 16, 5);
    mpk_w_uint(&w, RZ_PF_GENDER);
    mpk_w_str(&w, "female", 6);
    mpk_w_uint(&w, RZ_PF_BIRTH_YEAR);
    mpk_w_int(&w, -1990);
    mpk_w_uint(&w, RZ_PF_DISTRICT);
    mpk_w_uint(&w, UINT64_MAX);
    mpk_w_uint(&w, RZ_PF_AREA);
    mpk_w_bool(&w, 1);
    mpk_w_uint(&w, RZ_PF_REG_DATE);
    mpk_w_bin(&w, "20240101", 8);
    pbatch_add_raw(&b, (const uint8_t *)w.sb.data, w.sb.size);
    /* An event with an impossible date and kind, and an attendance whose
     * person never arrives. */
    mpk_w_reset(&w);
    person_key(c, ev);
    entry_hdr(&w, RZ_SCHEMA_CURRENT, peer_next_hlc(c->p), RZ_T_EVENT, RZ_OP_SET, ev, 16, 4);
    mpk_w_uint(&w, RZ_EF_KIND);
    mpk_w_uint(&w, 99);
    mpk_w_uint(&w, RZ_EF_DATE);
    mpk_w_uint(&w, 20240230);
    mpk_w_uint(&w, RZ_EF_DURATION);
    mpk_w_int(&w, -5);
    mpk_w_uint(&w, RZ_EF_MODE);
    mpk_w_uint(&w, 7);
    pbatch_add_raw(&b, (const uint8_t *)w.sb.data, w.sb.size);
    person_key(c, ghost);
    pbatch_add_attendance(&b, c->p, ev, ghost);
    mpk_w_free(&w);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

/* Delete, undelete, clearing personal values (nil commitments). */
static void
g_tombstones(ctx *c, frame *f)
{
    pbatch b;
    mpk_writer w;
    uint8_t id[16];
    pbatch_init(&b, c->p);
    pbatch_add_person(&b, c->p, &person_plain, id);
    mpk_w_init(&w);
    entry_hdr(&w, RZ_SCHEMA_CURRENT, peer_next_hlc(c->p), RZ_T_PERSON, RZ_OP_DELETE, id, 16, 0);
    pbatch_add_raw(&b, (const uint8_t *)w.sb.data, w.sb.size);
    mpk_w_reset(&w);
    entry_hdr(&w, RZ_SCHEMA_CURRENT, peer_next_hlc(c->p), RZ_T_PERSON, RZ_OP_UNDELETE, id, 16, 0);
    pbatch_add_raw(&b, (const uint8_t *)w.sb.data, w.sb.size);
    mpk_w_reset(&w);
    entry_hdr(&w, RZ_SCHEMA_CURRENT, peer_next_hlc(c->p), RZ_T_PERSON, RZ_OP_SET, id, 16, 3);
    mpk_w_uint(&w, RZ_PF_CNIC);
    mpk_w_nil(&w);
    mpk_w_uint(&w, RZ_PF_NAME);
    mpk_w_nil(&w);
    mpk_w_uint(&w, RZ_PF_PHONE);
    mpk_w_nil(&w);
    pbatch_add_raw(&b, (const uint8_t *)w.sb.data, w.sb.size);
    mpk_w_free(&w);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

/* The limits themselves are allowed: 1000 entries with 2997 reveals. */
static void
g_max_batch(ctx *c, frame *f)
{
    pbatch b;
    pb_person ps = person_plain;
    size_t i;
    pbatch_init(&b, c->p);
    for (i = 0; i < RZ_MAX_BATCH_ENTRIES - 1; i++)
        pbatch_add_person(&b, c->p, &ps, NULL);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

/* Clock entries claiming 1970 and a year ahead do not refuse anything. */
static void
g_lying_clocks(ctx *c, frame *f)
{
    pbatch b;
    uint64_t real = c->p->server_ms;
    pbatch_init(&b, c->p);
    pbatch_add_person(&b, c->p, &person_noid, NULL);
    c->p->server_ms = 0;
    pbatch_add_clock(&b, c->p);
    pbatch_add_person(&b, c->p, &person_noid, NULL);
    c->p->server_ms = real + 365ull * 24 * 3600 * 1000;
    pbatch_add_clock(&b, c->p);
    c->p->server_ms = real;
    pbatch_add_person(&b, c->p, &person_noid, NULL);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

/* Clock entries whose offset does not fit a signed 64-bit number (found by
 * fuzz_ingest): stored and acknowledged, the recorded offset saturates. */
static void
g_extreme_clocks(ctx *c, frame *f)
{
    pbatch b;
    pbatch_init(&b, c->p);
    pbatch_add_person(&b, c->p, &person_noid, NULL);
    pbatch_add_clock_at(&b, c->p, 0, UINT64_MAX);
    pbatch_add_clock_at(&b, c->p, (uint64_t)INT64_MAX, 0);
    pbatch_add_clock_at(&b, c->p, c->p->server_ms, UINT64_MAX / 2 + 12345);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

/* The last accepted batch again plus two new entries: only those apply. */
static void
g_overlap(ctx *c, frame *f)
{
    pbatch b, old;
    size_t i;
    rz_error err;
    if (c->nacc == 0 ||
        pbatch_from_frame(&old, c->acc[c->nacc - 1], c->acc_len[c->nacc - 1], &err) != 0) {
        if (c->nacc)
            pbatch_free(&old);
        f->skip_reason = 1;
        return;
    }
    pbatch_init(&b, c->p);
    b.first_seq = old.first_seq;
    memcpy(b.prev, old.prev, RZ_HASH_BYTES);
    for (i = 0; i < old.n; i++)
        pbatch_add_raw(&b, old.ent[i], old.len[i]);
    for (i = 0; i < old.nrev; i++)
        b.rev[b.nrev++] = old.rev[i];
    pbatch_add_person(&b, c->p, &person_plain, NULL);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    f->want_applied = 2;
    pbatch_free(&b);
    pbatch_free(&old);
}

/* ---- hostile phase: transport and msgpack ---------------------------- */

/* A frame of 1 MiB + 1 byte: ZMQ_MAXMSGSIZE drops it before the server
 * allocates or decodes anything. */
static void
h_oversize(ctx *c, frame *f)
{
    static uint8_t big[RZ_MAX_FRAME];
    size_t body;
    (void)c;
    hdr(&f->w[0], 4, RZ_PROTO_VERSION, RZ_MSG_BATCH);
    body = RZ_MAX_FRAME + 1 - f->w[0].sb.size - 5; /* bin32 header is 5 bytes */
    mpk_w_bin(&f->w[0], big, body);
}

static void
h_exactly_1mib(ctx *c, frame *f)
{
    static uint8_t big[RZ_MAX_FRAME];
    size_t body;
    (void)c;
    hdr(&f->w[0], 4, RZ_PROTO_VERSION, RZ_MSG_BATCH);
    body = RZ_MAX_FRAME - f->w[0].sb.size - 5; /* bin32 header is 5 bytes */
    mpk_w_bin(&f->w[0], big, body);
}

static void
h_two_frames(ctx *c, frame *f)
{
    msg_encode_hello(&f->w[0], c->p->node_id);
    msg_encode_hello(&f->w[1], c->p->node_id);
    f->nparts = 2;
}

static void
h_empty_frame(ctx *c, frame *f)
{
    (void)c;
    (void)f;
}

static void
h_truncated_batch(ctx *c, frame *f)
{
    g_batch(c, f);
    f->w[0].sb.size -= 1;
}

static void
h_truncated_hello(ctx *c, frame *f)
{
    msg_encode_hello(&f->w[0], c->p->node_id);
    f->w[0].sb.size -= 3;
}

static void
h_trailing_bytes(ctx *c, frame *f)
{
    msg_encode_hello(&f->w[0], c->p->node_id);
    raw(&f->w[0], "\xc0", 1);
}

static void
h_trailing_batch(ctx *c, frame *f)
{
    g_batch(c, f);
    raw(&f->w[0], "\x90", 1);
}

static void
h_str32_4gib(ctx *c, frame *f)
{
    (void)c;
    raw(&f->w[0], "\xdb\xff\xff\xff\xff", 5);
}

static void
h_array32_max(ctx *c, frame *f)
{
    (void)c;
    raw(&f->w[0], "\xdd\xff\xff\xff\xff", 5);
}

static void
h_map32_max(ctx *c, frame *f)
{
    (void)c;
    raw(&f->w[0], "\xdf\xff\xff\xff\xff", 5);
}

static void
h_bin32_4gib_entry(ctx *c, frame *f)
{
    hdr(&f->w[0], 10, RZ_PROTO_VERSION, RZ_MSG_BATCH);
    mpk_w_bin(&f->w[0], c->p->node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(&f->w[0], 0);
    mpk_w_uint(&f->w[0], c->p->head_seq + 1);
    mpk_w_bin(&f->w[0], c->p->head, RZ_HASH_BYTES);
    mpk_w_array(&f->w[0], 1);
    raw(&f->w[0], "\xc6\xff\xff\xff\xff", 5);
}

static void
h_array_more_than_bytes(ctx *c, frame *f)
{
    hdr(&f->w[0], 10, RZ_PROTO_VERSION, RZ_MSG_BATCH);
    mpk_w_bin(&f->w[0], c->p->node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(&f->w[0], 0);
    mpk_w_uint(&f->w[0], c->p->head_seq + 1);
    mpk_w_bin(&f->w[0], c->p->head, RZ_HASH_BYTES);
    raw(&f->w[0], "\xdc\x0b\xb8", 3); /* array16 of 3000: within limits, not present */
    raw(&f->w[0], "\xc4\x01\x00", 3);
}

static void
h_deep_nesting(ctx *c, frame *f)
{
    int i;
    (void)c;
    for (i = 0; i < 100; i++)
        raw(&f->w[0], "\x91", 1);
    raw(&f->w[0], "\xc0", 1);
}

static void
h_nesting_in_batch(ctx *c, frame *f)
{
    pbatch b;
    int i;
    good_batch(c, &b);
    msg_encode_batch_begin(&f->w[0], b.node_id, b.epoch, b.first_seq, b.prev, 1);
    for (i = 0; i < 100; i++)
        raw(&f->w[0], "\x91", 1);
    raw(&f->w[0], "\xc0", 1);
    msg_encode_batch_reveals(&f->w[0], 0);
    msg_encode_batch_end(&f->w[0], b.sig);
    pbatch_free(&b);
}

static void
h_ext_type(ctx *c, frame *f)
{
    (void)c;
    hdr(&f->w[0], 5, RZ_PROTO_VERSION, RZ_MSG_HELLO);
    raw(&f->w[0], "\xd4\x01\x00", 3); /* fixext1 where node_id goes */
    mpk_w_uint(&f->w[0], 1);
}

static void
h_reserved_byte(ctx *c, frame *f)
{
    (void)c;
    hdr(&f->w[0], 4, RZ_PROTO_VERSION, RZ_MSG_HELLO);
    raw(&f->w[0], "\xc1", 1);
}

static void
h_float(ctx *c, frame *f)
{
    hdr(&f->w[0], 5, RZ_PROTO_VERSION, RZ_MSG_HELLO);
    mpk_w_bin(&f->w[0], c->p->node_id, RZ_NODE_ID_BYTES);
    raw(&f->w[0], "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 9); /* 1.0 as schema_max */
}

static void
h_not_an_array(ctx *c, frame *f)
{
    (void)c;
    mpk_w_map(&f->w[0], 1);
    mpk_w_uint(&f->w[0], RZ_WIRE_SIGNATURE);
    mpk_w_uint(&f->w[0], 1);
}

static void
h_bare_scalar(ctx *c, frame *f)
{
    (void)c;
    mpk_w_uint(&f->w[0], RZ_WIRE_SIGNATURE);
}

static void
h_wrong_magic(ctx *c, frame *f)
{
    mpk_w_array(&f->w[0], 5);
    mpk_w_uint(&f->w[0], 0x1234);
    mpk_w_uint(&f->w[0], RZ_PROTO_VERSION);
    mpk_w_uint(&f->w[0], RZ_MSG_HELLO);
    mpk_w_bin(&f->w[0], c->p->node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(&f->w[0], 1);
}

static void
h_short_header(ctx *c, frame *f)
{
    (void)c;
    mpk_w_array(&f->w[0], 2);
    mpk_w_uint(&f->w[0], RZ_WIRE_SIGNATURE);
    mpk_w_uint(&f->w[0], RZ_PROTO_VERSION);
}

static void
h_hello_id_as_str(ctx *c, frame *f)
{
    hdr(&f->w[0], 5, RZ_PROTO_VERSION, RZ_MSG_HELLO);
    mpk_w_str(&f->w[0], (const char *)c->p->node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(&f->w[0], 1);
}

static void
h_hello_id_7_bytes(ctx *c, frame *f)
{
    hdr(&f->w[0], 5, RZ_PROTO_VERSION, RZ_MSG_HELLO);
    mpk_w_bin(&f->w[0], c->p->node_id, RZ_NODE_ID_BYTES - 1);
    mpk_w_uint(&f->w[0], 1);
}

static void
h_hello_missing_field(ctx *c, frame *f)
{
    hdr(&f->w[0], 4, RZ_PROTO_VERSION, RZ_MSG_HELLO);
    mpk_w_bin(&f->w[0], c->p->node_id, RZ_NODE_ID_BYTES);
}

static void
h_hello_extra_field(ctx *c, frame *f)
{
    hdr(&f->w[0], 6, RZ_PROTO_VERSION, RZ_MSG_HELLO);
    mpk_w_bin(&f->w[0], c->p->node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(&f->w[0], 1);
    mpk_w_nil(&f->w[0]);
}

static void
h_hello_schema_bool(ctx *c, frame *f)
{
    hdr(&f->w[0], 5, RZ_PROTO_VERSION, RZ_MSG_HELLO);
    mpk_w_bin(&f->w[0], c->p->node_id, RZ_NODE_ID_BYTES);
    mpk_w_bool(&f->w[0], 1);
}

static void
h_hello_huge_id(ctx *c, frame *f)
{
    static uint8_t big[3000];
    (void)c;
    hdr(&f->w[0], 5, RZ_PROTO_VERSION, RZ_MSG_HELLO);
    mpk_w_bin(&f->w[0], big, sizeof big);
    mpk_w_uint(&f->w[0], 1);
}

static void
h_huge_string(ctx *c, frame *f)
{
    static char big[5000];
    (void)c;
    memset(big, 'A', sizeof big);
    hdr(&f->w[0], 6, RZ_PROTO_VERSION, RZ_MSG_ERROR);
    mpk_w_uint(&f->w[0], 1);
    mpk_w_uint(&f->w[0], 20);
    mpk_w_str(&f->w[0], big, sizeof big);
}

/* Writes a good batch with field `which` (3..9) replaced by `repl`. */
static void
batch_field_replaced(ctx *c, frame *f, int which, void (*repl)(mpk_writer *w))
{
    pbatch b;
    size_t i;
    good_batch(c, &b);
    hdr(&f->w[0], 10, RZ_PROTO_VERSION, RZ_MSG_BATCH);
    if (which == 3)
        repl(&f->w[0]);
    else
        mpk_w_bin(&f->w[0], b.node_id, RZ_NODE_ID_BYTES);
    if (which == 4)
        repl(&f->w[0]);
    else
        mpk_w_uint(&f->w[0], b.epoch);
    if (which == 5)
        repl(&f->w[0]);
    else
        mpk_w_uint(&f->w[0], b.first_seq);
    if (which == 6)
        repl(&f->w[0]);
    else
        mpk_w_bin(&f->w[0], b.prev, RZ_HASH_BYTES);
    if (which == 7) {
        repl(&f->w[0]);
    } else {
        mpk_w_array(&f->w[0], b.n);
        for (i = 0; i < b.n; i++)
            mpk_w_bin(&f->w[0], b.ent[i], b.len[i]);
    }
    if (which == 8) {
        repl(&f->w[0]);
    } else {
        msg_encode_batch_reveals(&f->w[0], b.nrev);
        for (i = 0; i < b.nrev; i++)
            msg_encode_reveal(&f->w[0], b.rev[i].index, b.rev[i].field, b.rev[i].salt,
                              b.rev[i].value, b.rev[i].len);
    }
    if (which == 9)
        repl(&f->w[0]);
    else
        mpk_w_bin(&f->w[0], b.sig, RZ_SIG_BYTES);
    pbatch_free(&b);
}

static void
put_str(mpk_writer *w)
{
    mpk_w_str(w, "1", 1);
}
static void
put_u32_overflow(mpk_writer *w)
{
    mpk_w_uint(w, (uint64_t)UINT32_MAX + 1);
}
static void
put_neg(mpk_writer *w)
{
    mpk_w_int(w, -1);
}
static void
put_sig63(mpk_writer *w)
{
    static uint8_t s[63];
    mpk_w_bin(w, s, sizeof s);
}
static void
put_map(mpk_writer *w)
{
    mpk_w_map(w, 0);
}
static void
put_nil(mpk_writer *w)
{
    mpk_w_nil(w);
}

static void
h_first_seq_str(ctx *c, frame *f)
{
    batch_field_replaced(c, f, 5, put_str);
}
static void
h_epoch_overflow(ctx *c, frame *f)
{
    batch_field_replaced(c, f, 4, put_u32_overflow);
}
static void
h_first_seq_negative(ctx *c, frame *f)
{
    batch_field_replaced(c, f, 5, put_neg);
}
static void
h_sig_63(ctx *c, frame *f)
{
    batch_field_replaced(c, f, 9, put_sig63);
}
static void
h_entries_map(ctx *c, frame *f)
{
    batch_field_replaced(c, f, 7, put_map);
}
static void
h_reveals_nil(ctx *c, frame *f)
{
    batch_field_replaced(c, f, 8, put_nil);
}
static void
h_prev_str(ctx *c, frame *f)
{
    batch_field_replaced(c, f, 6, put_str);
}

static void
h_batch_missing_sig(ctx *c, frame *f)
{
    pbatch b;
    size_t i;
    good_batch(c, &b);
    hdr(&f->w[0], 9, RZ_PROTO_VERSION, RZ_MSG_BATCH);
    mpk_w_bin(&f->w[0], b.node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(&f->w[0], b.epoch);
    mpk_w_uint(&f->w[0], b.first_seq);
    mpk_w_bin(&f->w[0], b.prev, RZ_HASH_BYTES);
    mpk_w_array(&f->w[0], b.n);
    for (i = 0; i < b.n; i++)
        mpk_w_bin(&f->w[0], b.ent[i], b.len[i]);
    msg_encode_batch_reveals(&f->w[0], 0);
    pbatch_free(&b);
}

static void
h_entry_not_bin(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    msg_encode_batch_begin(&f->w[0], b.node_id, b.epoch, b.first_seq, b.prev, 1);
    raw(&f->w[0], (const char *)b.ent[0], b.len[0]); /* the entry inline, not as bin */
    msg_encode_batch_reveals(&f->w[0], 0);
    msg_encode_batch_end(&f->w[0], b.sig);
    pbatch_free(&b);
}

static void
h_unknown_type(ctx *c, frame *f)
{
    hdr(&f->w[0], 5, RZ_PROTO_VERSION, 99);
    mpk_w_bin(&f->w[0], c->p->node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(&f->w[0], 1);
}

static void
h_type_huge(ctx *c, frame *f)
{
    (void)c;
    hdr(&f->w[0], 3, RZ_PROTO_VERSION, UINT64_MAX);
}

static void
h_client_welcome(ctx *c, frame *f)
{
    msg_encode_welcome(&f->w[0], 1, 0, 0, c->p->head, 0);
}

static void
h_client_ack(ctx *c, frame *f)
{
    uint8_t sig[RZ_SIG_BYTES] = {0};
    msg_encode_ack(&f->w[0], 1, 0, 1, 1, c->p->head, sig, 1);
}

/* FORK_REPORTs that must not be recorded (PROTOCOL 4.8): each claims the
 * node's entry at the server's head differs. */
static void
fork_report_base(ctx *c, rz_fork_report *r)
{
    memset(r, 0, sizeof *r);
    r->epoch = c->p->epoch;
    r->reason = RZ_FORK_DIFFERS;
    r->seen_seq = c->p->head_seq;
    memcpy(r->seen_hash, c->p->head, RZ_HASH_BYTES);
    r->have_own = 1;
    memset(r->own_hash, 0x5a, RZ_HASH_BYTES);
    r->head_seq = c->p->head_seq;
    memset(r->head_hash, 0x5a, RZ_HASH_BYTES);
    r->detected_ms = 1773558004000ull;
}

static void
h_fork_report_other_key(ctx *c, frame *f)
{
    rz_fork_report r;
    uint8_t sig[RZ_SIG_BYTES];
    if (!c->other) {
        f->skip_reason = 1;
        return;
    }
    fork_report_base(c, &r);
    msg_fork_report_sign(sig, &c->other->id, c->p->node_id, &r);
    msg_encode_fork_report(&f->w[0], c->p->node_id, &r, sig);
}

static void
h_fork_report_zero_sig(ctx *c, frame *f)
{
    rz_fork_report r;
    uint8_t sig[RZ_SIG_BYTES] = {0};
    fork_report_base(c, &r);
    msg_encode_fork_report(&f->w[0], c->p->node_id, &r, sig);
}

static void
h_fork_report_names_other(ctx *c, frame *f)
{
    rz_fork_report r;
    uint8_t sig[RZ_SIG_BYTES];
    if (!c->other) {
        f->skip_reason = 1;
        return;
    }
    fork_report_base(c, &r);
    msg_fork_report_sign(sig, &c->other->id, c->other->node_id, &r);
    msg_encode_fork_report(&f->w[0], c->other->node_id, &r, sig);
}

static void
h_fork_report_unknown_head(ctx *c, frame *f)
{
    rz_fork_report r;
    uint8_t sig[RZ_SIG_BYTES];
    fork_report_base(c, &r);
    r.seen_hash[0] ^= 0xff; /* a server head this server never held */
    msg_fork_report_sign(sig, &c->p->id, c->p->node_id, &r);
    msg_encode_fork_report(&f->w[0], c->p->node_id, &r, sig);
}

static void
h_fork_report_no_fork(ctx *c, frame *f)
{
    rz_fork_report r;
    uint8_t sig[RZ_SIG_BYTES];
    fork_report_base(c, &r);
    memcpy(r.own_hash, r.seen_hash, RZ_HASH_BYTES); /* "differs", but it is the same */
    msg_fork_report_sign(sig, &c->p->id, c->p->node_id, &r);
    msg_encode_fork_report(&f->w[0], c->p->node_id, &r, sig);
}

static void
h_fork_report_old_epoch(ctx *c, frame *f)
{
    rz_fork_report r;
    uint8_t sig[RZ_SIG_BYTES];
    fork_report_base(c, &r);
    r.epoch++;
    msg_fork_report_sign(sig, &c->p->id, c->p->node_id, &r);
    msg_encode_fork_report(&f->w[0], c->p->node_id, &r, sig);
}

static void
h_version_2(ctx *c, frame *f)
{
    hdr(&f->w[0], 5, 2, RZ_MSG_HELLO);
    mpk_w_bin(&f->w[0], c->p->node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(&f->w[0], 1);
}

static void
h_version_2_batch(ctx *c, frame *f)
{
    g_batch(c, f);
    /* fixarray, then uint16 0x525a (3 bytes), then the version byte */
    ((uint8_t *)f->w[0].sb.data)[4] = 2;
}

static void
h_version_0(ctx *c, frame *f)
{
    hdr(&f->w[0], 5, 0, RZ_MSG_HELLO);
    mpk_w_bin(&f->w[0], c->p->node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(&f->w[0], 1);
}

/* ---- hostile phase: batch shape and entries -------------------------- */

static void
h_zero_entries(ctx *c, frame *f)
{
    pbatch b;
    pbatch_init(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_1001_entries(ctx *c, frame *f)
{
    pbatch b;
    size_t i;
    pbatch_init(&b, c->p);
    for (i = 0; i < RZ_MAX_BATCH_ENTRIES + 1; i++)
        pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_3001_reveals(ctx *c, frame *f)
{
    pbatch b;
    uint8_t commit[RZ_COMMIT_BYTES];
    size_t i;
    good_batch(c, &b);
    b.nrev = 0;
    for (i = 0; i < RZ_MAX_REVEALS + 1; i++)
        pbatch_reveal(&b, 0, RZ_PF_NAME, "x", 1, commit);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_first_seq_0(ctx *c, frame *f)
{
    pbatch b;
    pbatch_init(&b, c->p);
    b.first_seq = 0;
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_first_seq_wraps(ctx *c, frame *f)
{
    pbatch b;
    pbatch_init(&b, c->p);
    b.first_seq = UINT64_MAX;
    pbatch_add_clock(&b, c->p);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_first_seq_above_int64(ctx *c, frame *f)
{
    pbatch b;
    pbatch_init(&b, c->p);
    b.first_seq = (uint64_t)INT64_MAX + 10; /* SQLite integers are signed */
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_entry_over_2048(ctx *c, frame *f)
{
    static uint8_t big[RZ_MAX_ENTRY_BYTES + 1];
    pbatch b;
    pbatch_init(&b, c->p);
    pbatch_add_raw(&b, big, sizeof big);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_entry_string_600(ctx *c, frame *f)
{
    static char big[600 + 1];
    pbatch b;
    pb_person ps = person_noid;
    memset(big, 'D', sizeof big - 1);
    ps.district = big;
    pbatch_init(&b, c->p);
    pbatch_add_person(&b, c->p, &ps, NULL);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_reveal_value_600(ctx *c, frame *f)
{
    static char big[600 + 1];
    pbatch b;
    pb_person ps = person_noid;
    memset(big, 'N', sizeof big - 1);
    ps.name = big;
    pbatch_init(&b, c->p);
    pbatch_add_person(&b, c->p, &ps, NULL);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_entry_17_fields(ctx *c, frame *f)
{
    mpk_writer w;
    uint8_t key[16];
    int i;
    mpk_w_init(&w);
    person_key(c, key);
    entry_hdr(&w, RZ_SCHEMA_CURRENT, peer_next_hlc(c->p), RZ_T_PERSON, RZ_OP_SET, key, 16, 17);
    for (i = 1; i <= 17; i++) {
        mpk_w_uint(&w, (uint64_t)i);
        mpk_w_uint(&w, 1);
    }
    batch_with_entry(c, f, &w);
    mpk_w_free(&w);
}

static void
entry_case(ctx *c, frame *f, uint64_t schema, uint64_t table, uint64_t op, size_t keylen,
           const char *fields, size_t fields_len, size_t nfields)
{
    mpk_writer w;
    uint8_t key[32];
    mpk_w_init(&w);
    person_key(c, key);
    memcpy(key + 16, key, 16);
    entry_hdr(&w, schema, peer_next_hlc(c->p), table, op, key, keylen, nfields);
    raw(&w, fields, fields_len);
    batch_with_entry(c, f, &w);
    mpk_w_free(&w);
}

/* h_NAME: a batch whose middle entry has this header (schema, table, op,
 * key length) and this raw body of its fields map with nfields pairs. */
#define ENTRY_CASE(name, schema, table, op, keylen, fields, nfields)                               \
    static void name(ctx *c, frame *f)                                                             \
    {                                                                                              \
        entry_case(c, f, schema, table, op, keylen, fields, sizeof(fields) - 1, nfields);          \
    }

ENTRY_CASE(h_schema_99, 99, 1, 1, 16, "\x04\x01", 1)
ENTRY_CASE(h_schema_0, 0, 1, 1, 16, "\x04\x01", 1)
ENTRY_CASE(h_table_9, 1, 9, 1, 16, "\x01\x01", 1)
ENTRY_CASE(h_table_0, 1, 0, 1, 16, "", 0)
ENTRY_CASE(h_field_12, 1, 1, 1, 16, "\x0c\x01", 1)
ENTRY_CASE(h_field_0, 1, 1, 1, 16, "\x00\x01", 1)
ENTRY_CASE(h_field_300, 1, 1, 1, 16, "\xcd\x01\x2c\x01", 1)
ENTRY_CASE(h_field_str_key, 1, 1, 1, 16, "\xa1\x34\x01", 1)
ENTRY_CASE(h_fields_desc, 1, 1, 1, 16, "\x05\x01\x04\x01", 2)
ENTRY_CASE(h_fields_dup, 1, 1, 1, 16, "\x04\x01\x04\x02", 2)
ENTRY_CASE(h_key_15, 1, 1, 1, 15, "\x04\x01", 1)
ENTRY_CASE(h_attendance_key_16, 1, 3, 1, 16, "\x01\xc3", 1)
ENTRY_CASE(h_op_4, 1, 1, 4, 16, "\x04\x01", 1)
ENTRY_CASE(h_delete_fields, 1, 1, 2, 16, "\x04\x01", 1)
ENTRY_CASE(h_clock_delete, 1, 4, 2, 0, "", 0)
ENTRY_CASE(h_clock_no_server_ms, 1, 4, 1, 0, "\x02\x05", 1)
ENTRY_CASE(h_clock_ms_str, 1, 4, 1, 0, "\x01\xa1\x31", 1)
ENTRY_CASE(h_pii_in_clear, 1, 1, 1, 16,
           "\x02\xa6"
           "Ayesha",
           1)
ENTRY_CASE(h_pii_commit_15, 1, 1, 1, 16,
           "\x01\xc4\x0f"
           "123456789012345",
           1)
ENTRY_CASE(h_value_float, 1, 1, 1, 16, "\x05\xcb\x40\x9f\x40\x00\x00\x00\x00\x00", 1)
ENTRY_CASE(h_value_array, 1, 1, 1, 16, "\x05\x91\x01", 1)
ENTRY_CASE(h_value_map, 1, 1, 1, 16, "\x05\x80", 1)
ENTRY_CASE(h_value_ext, 1, 1, 1, 16, "\x05\xd4\x01\x00", 1)
ENTRY_CASE(h_fields_truncated, 1, 1, 1, 16, "\x04", 1)
ENTRY_CASE(h_fields_trailing, 1, 1, 1, 16, "\x04\x01\xc0", 1)

static void
h_entry_scalar(ctx *c, frame *f)
{
    mpk_writer w;
    mpk_w_init(&w);
    mpk_w_uint(&w, 7);
    batch_with_entry(c, f, &w);
    mpk_w_free(&w);
}

static void
h_entry_5_items(ctx *c, frame *f)
{
    mpk_writer w;
    uint8_t key[16];
    mpk_w_init(&w);
    person_key(c, key);
    mpk_w_array(&w, 5);
    mpk_w_uint(&w, 1);
    mpk_w_uint(&w, peer_next_hlc(c->p));
    mpk_w_uint(&w, RZ_T_PERSON);
    mpk_w_uint(&w, RZ_OP_SET);
    mpk_w_bin(&w, key, 16);
    batch_with_entry(c, f, &w);
    mpk_w_free(&w);
}

static void
h_entry_hlc_str(ctx *c, frame *f)
{
    mpk_writer w;
    uint8_t key[16];
    mpk_w_init(&w);
    person_key(c, key);
    mpk_w_array(&w, 6);
    mpk_w_uint(&w, 1);
    mpk_w_str(&w, "now", 3);
    mpk_w_uint(&w, RZ_T_PERSON);
    mpk_w_uint(&w, RZ_OP_SET);
    mpk_w_bin(&w, key, 16);
    mpk_w_map(&w, 0);
    batch_with_entry(c, f, &w);
    mpk_w_free(&w);
}

/* ---- hostile phase: signature, chain, identity ----------------------- */

static void
h_sig_flipped(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    b.sig[17] ^= 0x40;
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_sig_zero(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    memset(b.sig, 0, sizeof b.sig);
    frame_batch(f, &b);
    pbatch_free(&b);
}

/* Re-encodes entry i of b with its HLC changed: still decodes, different
 * bytes. */
static void
alter_entry(pbatch *b, size_t i)
{
    msgpack_zone z;
    rz_entry e;
    mpk_writer w;
    uint8_t copy[PEER_ENTRY_CAP];
    size_t len = b->len[i];
    memcpy(copy, b->ent[i], len);
    msgpack_zone_init(&z, 1024);
    mpk_w_init(&w);
    if (entry_decode(copy, len, &z, &e, NULL) == 0) {
        e.hlc ^= 1;
        entry_encode(&w, &e);
        memcpy(b->ent[i], w.sb.data, w.sb.size);
        b->len[i] = w.sb.size;
    } else {
        b->ent[i][len - 1] ^= 1;
    }
    mpk_w_free(&w);
    msgpack_zone_destroy(&z);
}

static void
h_entry_altered(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    alter_entry(&b, 1);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_other_nodes_key(ctx *c, frame *f)
{
    pbatch b;
    if (!c->other) {
        f->skip_reason = 1;
        return;
    }
    pbatch_init(&b, c->p);
    pbatch_add_person(&b, c->p, &person_plain, NULL);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->other->id); /* right node id, wrong key */
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_claims_other_node(ctx *c, frame *f)
{
    pbatch b;
    if (!c->other) {
        f->skip_reason = 1;
        return;
    }
    pbatch_init(&b, c->p);
    memcpy(b.node_id, c->other->node_id, RZ_NODE_ID_BYTES);
    b.first_seq = 1;
    memset(b.prev, 0, sizeof b.prev);
    pbatch_add_person(&b, c->p, &person_plain, NULL);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->other->id); /* fully valid for the other node */
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_hello_other_node(ctx *c, frame *f)
{
    if (!c->other) {
        f->skip_reason = 1;
        return;
    }
    msg_encode_hello(&f->w[0], c->other->node_id);
}

/* A correct batch on a connection that never said HELLO. */
static void
h_batch_before_hello(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    frame_batch(f, &b);
    f->fresh = FRESH_SILENT;
    pbatch_free(&b);
}

/* Recovery of a replaced PC (PROTOCOL §12): without headquarters' grant the
 * node gets nothing of another node's log; out of order, or server
 * messages sent by a node, are refused like the others. */
static const uint8_t h_some_old[RZ_NODE_ID_BYTES] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};

static void
h_fetch_before_hello(ctx *c, frame *f)
{
    msg_encode_fetch(&f->w[0], c->p->node_id, h_some_old, 1);
    f->fresh = FRESH_SILENT;
}

static void
h_fetch_no_grant(ctx *c, frame *f)
{
    msg_encode_fetch(&f->w[0], c->p->node_id, c->other ? c->other->node_id : h_some_old, 1);
}

static void
h_fetch_done_no_grant(ctx *c, frame *f)
{
    msg_encode_fetch_done(&f->w[0], c->p->node_id, h_some_old, 1, c->p->head);
}

static void
h_fetch_from_zero(ctx *c, frame *f)
{
    msg_encode_fetch(&f->w[0], c->p->node_id, h_some_old, 0);
}

static void
h_client_chunk(ctx *c, frame *f)
{
    msg_encode_chunk_begin(&f->w[0], 1, h_some_old, 0, c->p->head, 1);
    msg_encode_chunk_key(&f->w[0], 1, c->p->head);
    msg_encode_chunk_entries(&f->w[0], 0, 1, 1, 0);
    msg_encode_batch_reveals(&f->w[0], 0);
    msg_encode_chunk_sigs(&f->w[0], 0);
}

static void
h_client_fetch_closed(ctx *c, frame *f)
{
    (void)c;
    msg_encode_fetch_closed(&f->w[0], 1, h_some_old, 0);
}

/* A correct batch after the connection's only HELLO was refused. */
static void
h_batch_after_refused_hello(ctx *c, frame *f)
{
    if (!c->other) {
        f->skip_reason = 1;
        return;
    }
    h_batch_before_hello(c, f);
    f->fresh = FRESH_HELLO_OTHER;
}

/* Good phase: a second HELLO restarts the conversation, batches follow. */
static void
g_batch_after_two_hellos(ctx *c, frame *f)
{
    g_batch(c, f);
    f->fresh = FRESH_HELLO_TWICE;
}

static void
h_hello_unknown_node(ctx *c, frame *f)
{
    (void)c;
    msg_encode_hello(&f->w[0], (const uint8_t *)"\0\0\0\0\0\0\0\0");
}

static int
load_old(ctx *c, pbatch *b, size_t which, frame *f)
{
    rz_error err;
    if (which >= c->nacc) {
        f->skip_reason = 1;
        return -1;
    }
    if (pbatch_from_frame(b, c->acc[which], c->acc_len[which], &err) != 0) {
        pbatch_free(b);
        f->skip_reason = 1;
        return -1;
    }
    return 0;
}

static void
h_replay_altered(ctx *c, frame *f)
{
    pbatch b;
    if (load_old(c, &b, 0, f))
        return;
    alter_entry(&b, 0);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_replay_resigned_elsewhere(ctx *c, frame *f)
{
    pbatch b;
    if (load_old(c, &b, 0, f))
        return;
    /* The old entries presented as new ones at the head: the signature
     * covers the sequence numbers, so it no longer verifies. */
    b.first_seq = c->p->head_seq + 1;
    memcpy(b.prev, c->p->head, RZ_HASH_BYTES);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_reordered(ctx *c, frame *f)
{
    pbatch b;
    uint8_t tmp[PEER_ENTRY_CAP];
    size_t tl;
    good_batch(c, &b);
    memcpy(tmp, b.ent[1], b.len[1]);
    tl = b.len[1];
    memcpy(b.ent[1], b.ent[2], b.len[2]);
    b.len[1] = b.len[2];
    memcpy(b.ent[2], tmp, tl);
    b.len[2] = tl;
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_dropped_entry(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    memcpy(b.ent[2], b.ent[3], b.len[3]);
    b.len[2] = b.len[3];
    memcpy(b.ent[3], b.ent[4], b.len[4]);
    b.len[3] = b.len[4];
    memcpy(b.ent[4], b.ent[5], b.len[5]);
    b.len[4] = b.len[5];
    b.n--;
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_prev_claimed_wrongly(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    b.prev[0] ^= 1; /* unsigned field, but the chain starts from it */
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_gap(ctx *c, frame *f)
{
    pbatch b;
    pbatch_init(&b, c->p);
    b.first_seq = c->p->head_seq + 2;
    randombytes_buf(b.prev, sizeof b.prev);
    pbatch_add_person(&b, c->p, &person_plain, NULL);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_gap_far(ctx *c, frame *f)
{
    pbatch b;
    pbatch_init(&b, c->p);
    b.first_seq = (uint64_t)1 << 40;
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_wrong_epoch(ctx *c, frame *f)
{
    pbatch b;
    pbatch_init(&b, c->p);
    b.epoch = c->p->epoch + 1;
    pbatch_add_person(&b, c->p, &person_plain, NULL);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

/* ---- hostile phase: personal values ---------------------------------- */

static void
h_pii_mismatch(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    b.rev[1].value[0] ^= 0x20; /* the name of person 1 */
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_pii_wrong_salt(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    b.rev[0].salt[0] ^= 1;
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_pii_missing(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    b.nrev--; /* person 2's name */
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_pii_none(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    b.nrev = 0;
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_pii_non_pii_field(ctx *c, frame *f)
{
    pbatch b;
    uint8_t commit[RZ_COMMIT_BYTES];
    good_batch(c, &b);
    pbatch_reveal(&b, 1, RZ_PF_GENDER, "2", 1, commit); /* after (1, name): ascending */
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_pii_on_event(ctx *c, frame *f)
{
    pbatch b;
    uint8_t commit[RZ_COMMIT_BYTES];
    good_batch(c, &b);
    pbatch_reveal(&b, 2, RZ_PF_NAME, "x", 1, commit); /* entry 2 is the event */
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_pii_extra_phone(ctx *c, frame *f)
{
    pbatch b;
    uint8_t commit[RZ_COMMIT_BYTES];
    good_batch(c, &b);
    pbatch_reveal(&b, 1, RZ_PF_PHONE, "0300", 4, commit); /* person 2 has no phone */
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_pii_index_out_of_range(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    b.rev[b.nrev - 1].index = (uint32_t)b.n;
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_pii_duplicate(ctx *c, frame *f)
{
    pbatch b;
    good_batch(c, &b);
    b.rev[b.nrev] = b.rev[b.nrev - 1];
    b.nrev++;
    frame_batch(f, &b);
    pbatch_free(&b);
}

static void
h_pii_field_overflow(ctx *c, frame *f)
{
    pbatch b;
    size_t i;
    good_batch(c, &b);
    msg_encode_batch_begin(&f->w[0], b.node_id, b.epoch, b.first_seq, b.prev, b.n);
    for (i = 0; i < b.n; i++)
        mpk_w_bin(&f->w[0], b.ent[i], b.len[i]);
    msg_encode_batch_reveals(&f->w[0], 1);
    mpk_w_array(&f->w[0], 4);
    mpk_w_uint(&f->w[0], 0);
    mpk_w_uint(&f->w[0], 256 + RZ_PF_NAME); /* would truncate to the name field */
    mpk_w_bin(&f->w[0], b.rev[1].salt, RZ_SALT_BYTES);
    mpk_w_str(&f->w[0], b.rev[1].value, b.rev[1].len);
    msg_encode_batch_end(&f->w[0], b.sig);
    pbatch_free(&b);
}

/* ---- replays that are allowed ----------------------------------------- */

static void
h_exact_resend_last(ctx *c, frame *f)
{
    if (c->nacc == 0) {
        f->skip_reason = 1;
        return;
    }
    raw(&f->w[0], (const char *)c->acc[c->nacc - 1], c->acc_len[c->nacc - 1]);
}

static void
h_exact_resend_first(ctx *c, frame *f)
{
    if (c->nacc == 0) {
        f->skip_reason = 1;
        return;
    }
    raw(&f->w[0], (const char *)c->acc[0], c->acc_len[0]);
}

/* ---- fork phase -------------------------------------------------------- */

static void
f_restart_at_1(ctx *c, frame *f)
{
    pbatch b;
    pb_person ps = person_plain;
    ps.name = "Restored From Backup";
    pbatch_init(&b, c->p);
    b.first_seq = 1;
    memset(b.prev, 0, sizeof b.prev);
    pbatch_add_person(&b, c->p, &ps, NULL);
    pbatch_add_clock(&b, c->p);
    pbatch_sign(&b, &c->p->id);
    frame_batch(f, &b);
    pbatch_free(&b);
}

/* ---- the tables --------------------------------------------------------- */

#define ACK(n, fn, applied)                                                                        \
    {                                                                                              \
        n, fn, 0, applied, NULL, 0                                                                 \
    }
#define ERR(n, fn, code)                                                                           \
    {                                                                                              \
        n, fn, code, 0, NULL, 0                                                                    \
    }
#define ERRT(n, fn, code, text)                                                                    \
    {                                                                                              \
        n, fn, code, 0, text, 0                                                                    \
    }

static const hcase good_cases[] = {
    ACK("batch: persons, event, attendance, clock", g_batch, APPLIED_ALL),
    ACK("batch: SQL metacharacters and Urdu in names and districts", g_hostile_strings,
        APPLIED_ALL),
    ACK("batch: NUL, control bytes, invalid UTF-8, empty strings", g_control_bytes, APPLIED_ALL),
    ACK("batch: invalid values (CNIC 123, birth 1800, gender 9, wrong types)", g_invalid_values,
        APPLIED_ALL),
    ACK("batch: delete, undelete, cleared personal values", g_tombstones, APPLIED_ALL),
    ACK("batch: clock entries at 1970 and a year ahead", g_lying_clocks, APPLIED_ALL),
    ACK("batch: clock entries with offsets beyond 64 bits", g_extreme_clocks, APPLIED_ALL),
    ACK("batch: re-send of the last batch plus 2 new entries", g_overlap, 2),
    ACK("batch: exactly 1000 entries and 2997 reveals", g_max_batch, APPLIED_ALL),
    ACK("batch: second good batch", g_batch, APPLIED_ALL),
    ACK("batch after a second HELLO on a new connection", g_batch_after_two_hellos, APPLIED_ALL),
};

static const hcase hostile_cases[] = {
    /* transport and framing */
    {"frame of 1 MiB + 1 byte: connection dropped", h_oversize, CASE_DROPPED, 0, NULL, 0},
    ERR("frame of exactly 1 MiB holding a 1 MiB bin", h_exactly_1mib, RZ_E_TOOBIG),
    ERRT("two frames in one message", h_two_frames, RZ_E_DECODE, "this one had 2 frames"),
    ERR("empty frame", h_empty_frame, RZ_E_DECODE),
    /* msgpack */
    ERR("truncated BATCH", h_truncated_batch, RZ_E_DECODE),
    ERR("truncated HELLO", h_truncated_hello, RZ_E_DECODE),
    ERR("trailing bytes after HELLO", h_trailing_bytes, RZ_E_DECODE),
    ERR("trailing bytes after BATCH", h_trailing_batch, RZ_E_DECODE),
    ERR("5-byte str32 header declaring 4 GiB", h_str32_4gib, RZ_E_TOOBIG),
    ERR("array32 of 2^32-1 items", h_array32_max, RZ_E_TOOBIG),
    ERR("map32 of 2^32-1 pairs", h_map32_max, RZ_E_TOOBIG),
    ERR("bin32 entry declaring 4 GiB", h_bin32_4gib_entry, RZ_E_TOOBIG),
    ERR("array16 of 3000 items with 3 bytes left", h_array_more_than_bytes, RZ_E_DECODE),
    ERR("nesting depth 100", h_deep_nesting, RZ_E_TOOBIG),
    ERR("nesting depth 100 inside a BATCH", h_nesting_in_batch, RZ_E_TOOBIG),
    ERR("ext type", h_ext_type, RZ_E_DECODE),
    ERR("reserved byte 0xc1", h_reserved_byte, RZ_E_DECODE),
    ERR("float where a uint belongs", h_float, RZ_E_DECODE),
    ERR("map instead of array", h_not_an_array, RZ_E_DECODE),
    ERR("bare scalar", h_bare_scalar, RZ_E_DECODE),
    ERR("wrong signature word", h_wrong_magic, RZ_E_DECODE),
    ERR("header of 2 items", h_short_header, RZ_E_DECODE),
    ERR("HELLO node id as str", h_hello_id_as_str, RZ_E_DECODE),
    ERR("HELLO node id of 7 bytes", h_hello_id_7_bytes, RZ_E_DECODE),
    ERR("HELLO missing a field", h_hello_missing_field, RZ_E_DECODE),
    ERR("HELLO with an extra field", h_hello_extra_field, RZ_E_DECODE),
    ERR("HELLO schema_max as bool", h_hello_schema_bool, RZ_E_DECODE),
    ERR("HELLO node id of 3000 bytes", h_hello_huge_id, RZ_E_TOOBIG),
    ERR("string of 5000 bytes", h_huge_string, RZ_E_TOOBIG),
    ERR("BATCH first_seq as str", h_first_seq_str, RZ_E_DECODE),
    ERR("BATCH first_seq negative", h_first_seq_negative, RZ_E_DECODE),
    ERR("BATCH epoch above 2^32", h_epoch_overflow, RZ_E_DECODE),
    ERR("BATCH prev_hash as str", h_prev_str, RZ_E_DECODE),
    ERR("BATCH signature of 63 bytes", h_sig_63, RZ_E_DECODE),
    ERR("BATCH entries as map", h_entries_map, RZ_E_DECODE),
    ERR("BATCH reveals nil", h_reveals_nil, RZ_E_DECODE),
    ERR("BATCH missing the signature", h_batch_missing_sig, RZ_E_DECODE),
    ERR("BATCH entry inline instead of bin", h_entry_not_bin, RZ_E_DECODE),
    ERR("unknown message type 99", h_unknown_type, RZ_E_MSGTYPE),
    ERR("message type 2^64-1", h_type_huge, RZ_E_MSGTYPE),
    ERR("client sends WELCOME", h_client_welcome, RZ_E_MSGTYPE),
    ERR("client sends ACK", h_client_ack, RZ_E_MSGTYPE),
    /* fork reports that must not quarantine anyone */
    ERR("fork report signed by another node's key", h_fork_report_other_key, RZ_E_SIGNATURE),
    ERR("fork report with a zero signature", h_fork_report_zero_sig, RZ_E_SIGNATURE),
    ERR("fork report naming another node", h_fork_report_names_other, RZ_E_AUTH),
    ERR("fork report of a head the server never held", h_fork_report_unknown_head, RZ_E_CHAIN),
    ERR("fork report of no fork", h_fork_report_no_fork, RZ_E_DECODE),
    ERR("fork report of another epoch", h_fork_report_old_epoch, RZ_E_EPOCH),
    ERRT("protocol version 2 HELLO", h_version_2, RZ_E_VERSION, "upgrade"),
    ERR("protocol version 2 BATCH", h_version_2_batch, RZ_E_VERSION),
    ERR("protocol version 0", h_version_0, RZ_E_VERSION),
    /* batch shape */
    ERR("0 entries", h_zero_entries, RZ_E_DECODE),
    ERR("1001 entries", h_1001_entries, RZ_E_TOOBIG),
    ERR("3001 reveals", h_3001_reveals, RZ_E_TOOBIG),
    ERR("first_seq 0", h_first_seq_0, RZ_E_DECODE),
    ERR("first_seq wraps past 2^64", h_first_seq_wraps, RZ_E_DECODE),
    ERR("first_seq above 2^63 (gap)", h_first_seq_above_int64, RZ_E_CHAIN),
    ERR("entry of 2049 bytes", h_entry_over_2048, RZ_E_TOOBIG),
    ERRT("district string of 600 bytes", h_entry_string_600, RZ_E_TOOBIG, "exceeds limit 512"),
    ERR("revealed name of 600 bytes", h_reveal_value_600, RZ_E_TOOBIG),
    ERRT("entry with 17 fields", h_entry_17_fields, RZ_E_TOOBIG, "17 items exceeds limit 16"),
    /* entries */
    ERRT("entry schema 99", h_schema_99, RZ_E_VERSION, "schema 99 not supported (1..1): upgrade"),
    ERR("entry schema 0", h_schema_0, RZ_E_VERSION),
    ERRT("unknown table 9", h_table_9, RZ_E_DECODE, ": unknown table 9"),
    ERR("table 0", h_table_0, RZ_E_DECODE),
    ERRT("unknown person field 12", h_field_12, RZ_E_DECODE, ": unknown field in table 1"),
    ERR("field id 0", h_field_0, RZ_E_DECODE),
    ERR("field id 300", h_field_300, RZ_E_DECODE),
    ERR("field id as str", h_field_str_key, RZ_E_DECODE),
    ERRT("field ids descending", h_fields_desc, RZ_E_DECODE, "not strictly ascending"),
    ERR("field id twice", h_fields_dup, RZ_E_DECODE),
    ERRT("person key of 15 bytes", h_key_15, RZ_E_DECODE, "key of 15 bytes wrong for table 1"),
    ERR("attendance key of 16 bytes", h_attendance_key_16, RZ_E_DECODE),
    ERR("op 4", h_op_4, RZ_E_DECODE),
    ERRT("delete carrying fields", h_delete_fields, RZ_E_DECODE,
         "delete/undelete carries no fields"),
    ERR("clock entry with op delete", h_clock_delete, RZ_E_DECODE),
    ERRT("clock entry without server_ms", h_clock_no_server_ms, RZ_E_DECODE,
         "clock entry without server time"),
    ERR("clock entry server_ms as str", h_clock_ms_str, RZ_E_DECODE),
    ERR("name in clear in the entry", h_pii_in_clear, RZ_E_DECODE),
    ERR("CNIC commitment of 15 bytes", h_pii_commit_15, RZ_E_DECODE),
    ERR("float value", h_value_float, RZ_E_DECODE),
    ERR("array value (nesting)", h_value_array, RZ_E_TOOBIG),
    ERR("map value (nesting)", h_value_map, RZ_E_TOOBIG),
    ERR("ext value", h_value_ext, RZ_E_DECODE),
    ERR("entry truncated", h_fields_truncated, RZ_E_DECODE),
    ERR("entry with trailing bytes", h_fields_trailing, RZ_E_DECODE),
    ERR("entry is a scalar", h_entry_scalar, RZ_E_DECODE),
    ERR("entry of 5 items", h_entry_5_items, RZ_E_DECODE),
    ERR("entry hlc as str", h_entry_hlc_str, RZ_E_DECODE),
    /* signature, chain, identity */
    ERR("signature with a flipped bit", h_sig_flipped, RZ_E_SIGNATURE),
    ERR("signature all zero", h_sig_zero, RZ_E_SIGNATURE),
    ERR("entry altered after signing", h_entry_altered, RZ_E_SIGNATURE),
    ERR("signed by another node's key", h_other_nodes_key, RZ_E_SIGNATURE),
    ERR("BATCH of another node on this connection", h_claims_other_node, RZ_E_AUTH),
    ERR("HELLO naming another node", h_hello_other_node, RZ_E_AUTH),
    ERR("HELLO naming an unknown node", h_hello_unknown_node, RZ_E_AUTH),
    /* conversation order */
    ERRT("BATCH on a new connection before HELLO", h_batch_before_hello, RZ_E_MSGTYPE,
         "BATCH before HELLO"),
    ERRT("BATCH after the connection's HELLO was refused", h_batch_after_refused_hello,
         RZ_E_MSGTYPE, "BATCH before HELLO"),
    /* recovery of a replaced PC: nothing without a grant */
    ERRT("FETCH on a new connection before HELLO", h_fetch_before_hello, RZ_E_MSGTYPE,
         "FETCH before HELLO"),
    ERRT("FETCH of another node's log without a grant", h_fetch_no_grant, RZ_E_AUTH,
         "no recovery grant"),
    ERRT("FETCH_DONE without a grant", h_fetch_done_no_grant, RZ_E_AUTH, "no recovery grant"),
    ERR("FETCH from entry 0", h_fetch_from_zero, RZ_E_DECODE),
    ERR("client sends CHUNK", h_client_chunk, RZ_E_MSGTYPE),
    ERR("client sends FETCH_CLOSED", h_client_fetch_closed, RZ_E_MSGTYPE),
    ERR("replay of an old batch, content altered", h_replay_altered, RZ_E_SIGNATURE),
    ERR("replay of an old batch at the head", h_replay_resigned_elsewhere, RZ_E_SIGNATURE),
    ERR("entries reordered", h_reordered, RZ_E_SIGNATURE),
    ERR("entry dropped", h_dropped_entry, RZ_E_SIGNATURE),
    ERR("prev_hash altered", h_prev_claimed_wrongly, RZ_E_SIGNATURE),
    ERRT("gap: first_seq = head + 2", h_gap, RZ_E_CHAIN, "gap"),
    ERR("gap: first_seq = 2^40", h_gap_far, RZ_E_CHAIN),
    ERR("wrong epoch", h_wrong_epoch, RZ_E_EPOCH),
    /* personal values */
    ERR("reveal does not match its commitment", h_pii_mismatch, RZ_E_PII),
    ERR("reveal with the wrong salt", h_pii_wrong_salt, RZ_E_PII),
    ERR("missing reveal", h_pii_missing, RZ_E_PII),
    ERR("no reveals at all", h_pii_none, RZ_E_PII),
    ERR("reveal for a non-personal field", h_pii_non_pii_field, RZ_E_PII),
    ERR("reveal for an event entry", h_pii_on_event, RZ_E_PII),
    ERR("reveal without a commitment", h_pii_extra_phone, RZ_E_PII),
    ERR("reveal index out of range", h_pii_index_out_of_range, RZ_E_DECODE),
    ERR("reveal twice", h_pii_duplicate, RZ_E_DECODE),
    ERR("reveal field 256 + name", h_pii_field_overflow, RZ_E_DECODE),
    /* allowed replays: acknowledged, applied once */
    ACK("exact re-send of the last accepted batch", h_exact_resend_last, 0),
    ACK("exact re-send of the first accepted batch", h_exact_resend_first, 0),
};

static const hcase fork_cases[] = {
    ACK("batch: persons, event, attendance, clock", g_batch, APPLIED_ALL),
    ACK("batch: second good batch", g_batch, APPLIED_ALL),
    {"restart at seq 1 with different content: fork", f_restart_at_1, RZ_E_FORK, 0, "differ", 1},
    ERR("continuation after the fork: quarantined", g_batch, RZ_E_QUARANTINE),
    ERR("exact re-send after the fork: quarantined", h_exact_resend_last, RZ_E_QUARANTINE),
};

/* After headquarters ran new-epoch for the forked node (PROTOCOL section 7). */
static const hcase epoch_cases[] = {
    ERR("re-send of an epoch-0 batch after new-epoch", h_exact_resend_last, RZ_E_EPOCH),
    ACK("batch in the new epoch continues the stored head", g_batch, APPLIED_ALL),
    ACK("exact re-send in the new epoch", h_exact_resend_last, 0),
};

#define NCASES(t) (sizeof(t) / sizeof((t)[0]))

/* ---- running ------------------------------------------------------------ */

static void
frame_init(frame *f)
{
    mpk_w_init(&f->w[0]);
    mpk_w_init(&f->w[1]);
    f->nparts = 1;
    f->want_applied = 0;
    f->skip_reason = 0;
    f->fresh = 0;
}

static void
frame_free(frame *f)
{
    mpk_w_free(&f->w[0]);
    mpk_w_free(&f->w[1]);
}

static void
accepted_add(ctx *c, const void *buf, size_t len)
{
    if (c->nacc >= MAX_ACCEPTED)
        return;
    c->acc[c->nacc] = xmalloc(len ? len : 1);
    memcpy(c->acc[c->nacc], buf, len);
    c->acc_len[c->nacc++] = len;
}

static void
accepted_save(ctx *c, const void *buf, size_t len, uint64_t last_seq)
{
    char path[4096];
    rz_error err;
    snprintf(path, sizeof path, "%s/accepted-%012llu.bin", c->dir, (unsigned long long)last_seq);
    if (file_write_atomic(path, buf, len, 0600, &err) != 0)
        fprintf(stderr, "rz_peer: %s\n", err.text);
}

static int
accepted_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Loads the batches a previous "good" run saved, oldest first. */
static void
accepted_load(ctx *c)
{
    DIR *d = opendir(c->dir);
    struct dirent *de;
    char *names[MAX_ACCEPTED];
    size_t n = 0, i;
    if (!d)
        return;
    while ((de = readdir(d)) != NULL && n < MAX_ACCEPTED)
        if (strncmp(de->d_name, "accepted-", 9) == 0)
            names[n++] = xstrdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], accepted_name_cmp);
    for (i = 0; i < n; i++) {
        static uint8_t buf[RZ_MAX_FRAME];
        char path[4096];
        size_t len = 0;
        rz_error err;
        snprintf(path, sizeof path, "%s/%s", c->dir, names[i]);
        if (file_read_small(path, buf, sizeof buf, &len, &err) == 0)
            accepted_add(c, buf, len);
        free(names[i]);
    }
}

static void
accepted_free(ctx *c)
{
    size_t i;
    for (i = 0; i < c->nacc; i++)
        free(c->acc[i]);
    c->nacc = 0;
}

/* Checks the reply to a case against its expectation; fills why on failure. */
static int
check_reply(ctx *c, const hcase *hc, const frame *f, const rz_msg *m, char *why, size_t whysz)
{
    if (m->server_ms == 0) {
        snprintf(why, whysz, "reply carries no server time");
        return -1;
    }
    if (hc->expect == 0) {
        int64_t want = hc->applied == APPLIED_ALL ? f->want_applied : hc->applied;
        if (m->type != RZ_MSG_ACK) {
            snprintf(why, whysz, "want ACK, got %s %s: %s",
                     m->type == RZ_MSG_ERROR ? "ERROR" : "type",
                     m->type == RZ_MSG_ERROR ? rz_err_name(m->code) : "?", m->text);
            return -1;
        }
        if ((int64_t)m->applied != want) {
            snprintf(why, whysz, "ACK applied %llu, want %lld", (unsigned long long)m->applied,
                     (long long)want);
            return -1;
        }
        if (receipt_verify(m->sig, c->server_pk, c->p->node_id, m->epoch, m->first_seq, m->last_seq,
                           m->head, m->server_ms) != 0) {
            snprintf(why, whysz, "ACK receipt does not verify with the server key");
            return -1;
        }
        return 0;
    }
    if (m->type != RZ_MSG_ERROR) {
        snprintf(why, whysz, "want ERROR %s, got message type %d", rz_err_name(hc->expect),
                 m->type);
        return -1;
    }
    if (m->code != hc->expect) {
        snprintf(why, whysz, "want ERROR %s (%d), got %s (%d): %s", rz_err_name(hc->expect),
                 -hc->expect, rz_err_name(m->code), -m->code, m->text);
        return -1;
    }
    if (hc->text && !strstr(m->text, hc->text)) {
        snprintf(why, whysz, "ERROR text '%s' lacks '%s'", m->text, hc->text);
        return -1;
    }
    return 0;
}

/* After every case: a well-behaved HELLO is answered with the head the
 * server should hold now (unchanged by a refusal). */
static int
check_still_serving(ctx *c, uint64_t want_seq, const uint8_t want_head[RZ_HASH_BYTES], char *why,
                    size_t whysz)
{
    rz_error err = {0, ""};
    int rc = peer_hello(c->p, c->p->node_id, &err);
    if (rc) {
        snprintf(why, whysz, "HELLO afterwards: %s", err.text);
        return -1;
    }
    if (c->p->head_seq != want_seq || memcmp(c->p->head, want_head, RZ_HASH_BYTES) != 0) {
        snprintf(why, whysz, "server head moved: seq %llu, want %llu",
                 (unsigned long long)c->p->head_seq, (unsigned long long)want_seq);
        return -1;
    }
    if (c->p->quarantined != c->expect_quarantined) {
        snprintf(why, whysz, "WELCOME quarantined=%d, want %d", c->p->quarantined,
                 c->expect_quarantined);
        return -1;
    }
    return 0;
}

static void
report(ctx *c, const char *name, int ok, const char *why)
{
    if (ok) {
        c->pass++;
        printf("PASS %s\n", name);
    } else {
        c->fail++;
        printf("FAIL %s: %s\n", name, why);
    }
    fflush(stdout);
}

/* Opens a new connection and says what `how` asks before the case. */
static int
fresh_connection(ctx *c, int how, char *why, size_t whysz)
{
    rz_error err = {0, ""};
    int rc = peer_connect(c->p, &err), i;
    if (rc == 0 && how == FRESH_HELLO_OTHER) {
        rc = peer_hello(c->p, c->other->node_id, &err);
        if (rc != RZ_E_AUTH) {
            snprintf(why, whysz, "HELLO naming another node: want auth, got %s (%s)",
                     rc ? rz_err_name(rc) : "WELCOME", err.text);
            return -1;
        }
        rc = 0;
    }
    for (i = 0; rc == 0 && how == FRESH_HELLO_TWICE && i < 2; i++)
        rc = peer_hello(c->p, c->p->node_id, &err);
    if (rc != 0)
        snprintf(why, whysz, "new connection: %s", err.text);
    return rc;
}

static void
run_case(ctx *c, const hcase *hc, int save)
{
    frame f;
    rz_msg m;
    rz_error err = {0, ""};
    char why[512] = "";
    uint64_t want_seq = c->p->head_seq;
    uint8_t want_head[RZ_HASH_BYTES];
    const void *parts[2];
    size_t lens[2];
    int ok = 0, rc;

    memcpy(want_head, c->p->head, RZ_HASH_BYTES);
    frame_init(&f);
    hc->build(c, &f);
    if (f.skip_reason) {
        snprintf(why, sizeof why, "cannot be built (missing --other or accepted batches)");
        goto out;
    }
    if (f.w[0].rc || f.w[1].rc) {
        snprintf(why, sizeof why, "encoder failed");
        goto out;
    }
    if (f.fresh && fresh_connection(c, f.fresh, why, sizeof why) != 0)
        goto out;
    parts[0] = f.w[0].sb.data ? (const void *)f.w[0].sb.data : "";
    parts[1] = f.w[1].sb.data ? (const void *)f.w[1].sb.data : "";
    lens[0] = f.w[0].sb.size;
    lens[1] = f.w[1].sb.size;
    if (peer_send(c->p, parts, lens, f.nparts, &err)) {
        snprintf(why, sizeof why, "%s", err.text);
        goto out;
    }
    if (hc->expect == CASE_DROPPED) {
        int saved = c->p->timeout_ms;
        peer_set_timeout(c->p, NO_REPLY_MS);
        rc = peer_recv(c->p, &m, &err);
        peer_set_timeout(c->p, saved);
        if (rc != RZ_E_TIMEOUT) {
            snprintf(why, sizeof why, "server answered an oversized frame (%s)", rz_err_name(rc));
            goto out;
        }
        if (peer_connect(c->p, &err)) { /* a NEW connection must work */
            snprintf(why, sizeof why, "%s", err.text);
            goto out;
        }
    } else {
        if ((rc = peer_recv(c->p, &m, &err)) != 0) {
            snprintf(why, sizeof why, "no valid reply: %s", err.text);
            goto out;
        }
        if (check_reply(c, hc, &f, &m, why, sizeof why))
            goto out;
        if (hc->expect == 0 && m.last_seq > want_seq) {
            want_seq = m.last_seq;
            memcpy(want_head, m.head, RZ_HASH_BYTES);
            if (save) {
                accepted_save(c, f.w[0].sb.data, f.w[0].sb.size, m.last_seq);
                accepted_add(c, f.w[0].sb.data, f.w[0].sb.size);
            }
        }
    }
    if (hc->quarantines)
        c->expect_quarantined = 1;
    ok = check_still_serving(c, want_seq, want_head, why, sizeof why) == 0;
out:
    frame_free(&f);
    report(c, hc->name, ok, why);
}

static int
run_table(ctx *c, const hcase *t, size_t n, int save)
{
    rz_error err = {0, ""};
    size_t i;
    int rc;
    if ((rc = peer_connect(c->p, &err)) || (rc = peer_hello(c->p, c->p->node_id, &err))) {
        printf("FAIL first HELLO: %s\n", err.text);
        return 1;
    }
    c->expect_quarantined = c->p->quarantined;
    report(c, "HELLO answered with WELCOME", 1, "");
    for (i = 0; i < n; i++)
        run_case(c, &t[i], save);
    printf("%d passed, %d failed\n", c->pass, c->fail);
    return c->fail ? 1 : 0;
}

/* ---- transport-only commands ------------------------------------------- */

typedef struct opts {
    const char *endpoint, *server_key, *node, *other, *expect, *name, *district;
    int timeout_ms;
    int settle_ms; /* hello: wait this long between connecting and sending */
    int plain;     /* hello: no CURVE at all */
    char **cmd;    /* hold: command to run */
} opts;

static int
parse_opts(int argc, char **argv, opts *o)
{
    int i;
    memset(o, 0, sizeof *o);
    o->timeout_ms = 0; /* default: NO_REPLY_MS where silence is expected, else long */
    o->name = "Zainab O'Brien-خان\"; DROP TABLE person; --";
    o->district = "ضلع لاہور' OR '1'='1";
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            o->cmd = &argv[i + 1];
            return 0;
        }
        if (strcmp(a, "--plain") == 0) {
            o->plain = 1;
            continue;
        }
        if (!v)
            return -1;
        if (strcmp(a, "--endpoint") == 0)
            o->endpoint = v;
        else if (strcmp(a, "--server-key") == 0)
            o->server_key = v;
        else if (strcmp(a, "--node") == 0)
            o->node = v;
        else if (strcmp(a, "--other") == 0)
            o->other = v;
        else if (strcmp(a, "--expect") == 0)
            o->expect = v;
        else if (strcmp(a, "--name") == 0)
            o->name = v;
        else if (strcmp(a, "--district") == 0)
            o->district = v;
        else if (strcmp(a, "--timeout") == 0)
            o->timeout_ms = atoi(v);
        else if (strcmp(a, "--settle") == 0)
            o->settle_ms = atoi(v);
        else
            return -1;
        i++;
    }
    return o->endpoint && o->server_key && o->node ? 0 : -1;
}

static int
open_peer(peer *p, const opts *o, const char *dir)
{
    rz_error err = {0, ""};
    if (peer_load(p, dir, &err) || peer_set_server(p, o->endpoint, o->server_key, &err)) {
        fprintf(stderr, "rz_peer: %s\n", err.text);
        return -1;
    }
    return 0;
}

/* One HELLO on a new connection; the outcome must be o->expect. */
static int
cmd_hello(const opts *o)
{
    peer p;
    rz_error err = {0, ""};
    int rc, want;
    if (!o->expect || open_peer(&p, o, o->node))
        return 2;
    p.plain = o->plain;
    if (strcmp(o->expect, "timeout") == 0)
        p.timeout_ms = o->timeout_ms ? o->timeout_ms : NO_REPLY_MS;
    else if (o->timeout_ms)
        p.timeout_ms = o->timeout_ms;
    rc = peer_connect(&p, &err);
    /* --settle: let a refused handshake end the connection before the
     * HELLO is sent, the order a slow client meets by chance. */
    if (rc == 0 && o->settle_ms > 0)
        nanosleep(&(struct timespec){o->settle_ms / 1000, (o->settle_ms % 1000) * 1000000L}, NULL);
    if (rc == 0)
        rc = peer_hello(&p, p.node_id, &err);
    peer_free(&p);
    if (strcmp(o->expect, "welcome") == 0)
        want = 0;
    else if (strcmp(o->expect, "timeout") == 0)
        want = RZ_E_TIMEOUT;
    else
        want = -atoi(o->expect);
    if (rc != want) {
        printf("FAIL hello: want %s, got %s (%s)\n", want ? rz_err_name(want) : "WELCOME",
               rc ? rz_err_name(rc) : "WELCOME", err.text);
        return 1;
    }
    printf("PASS hello: %s\n", want ? rz_err_name(want) : "WELCOME");
    return 0;
}

static int
run_command(char **cmd)
{
    pid_t pid;
    int status;
    fflush(stdout);
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        execvp(cmd[0], cmd);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Revocation on a live connection: HELLO ok, CMD (revoke), then the same
 * connection gets ERROR auth for HELLO and BATCH, and a new one nothing. */
static int
cmd_hold(const opts *o)
{
    ctx c;
    peer p;
    rz_error err = {0, ""};
    frame f;
    rz_msg m;
    const void *part;
    size_t len;
    int rc;

    if (!o->cmd || !o->cmd[0] || open_peer(&p, o, o->node))
        return 2;
    memset(&c, 0, sizeof c);
    c.p = &p;
    rc = peer_connect(&p, &err);
    if (rc == 0)
        rc = peer_hello(&p, p.node_id, &err);
    report(&c, "hold: HELLO before the command", rc == 0, err.text);
    rc = run_command(o->cmd);
    report(&c, "hold: command succeeded", rc == 0, "command failed");
    rc = peer_hello(&p, p.node_id, &err);
    report(&c, "hold: HELLO on the kept connection refused with auth", rc == RZ_E_AUTH,
           rc ? err.text : "got WELCOME");
    frame_init(&f);
    g_batch(&c, &f);
    part = f.w[0].sb.data;
    len = f.w[0].sb.size;
    rc = peer_send(&p, &part, &len, 1, &err);
    if (rc == 0)
        rc = peer_recv(&p, &m, &err);
    frame_free(&f);
    report(&c, "hold: BATCH on the kept connection refused with auth",
           rc == 0 && m.type == RZ_MSG_ERROR && m.code == RZ_E_AUTH, rc ? err.text : m.text);
    p.timeout_ms = o->timeout_ms ? o->timeout_ms : NO_REPLY_MS;
    rc = peer_connect(&p, &err);
    if (rc == 0)
        rc = peer_hello(&p, p.node_id, &err);
    report(&c, "hold: a new connection gets no answer", rc == RZ_E_TIMEOUT,
           rc ? err.text : "got WELCOME");
    peer_free(&p);
    printf("%d passed, %d failed\n", c.pass, c.fail);
    return c.fail ? 1 : 0;
}

static int
cmd_run(const char *phase, const opts *o)
{
    ctx c;
    peer p, other;
    int rc, have_other = 0;

    memset(&c, 0, sizeof c);
    if (open_peer(&p, o, o->node))
        return 2;
    if (o->other) {
        if (open_peer(&other, o, o->other)) {
            peer_free(&p);
            return 2;
        }
        have_other = 1;
    }
    c.p = &p;
    c.other = have_other ? &other : NULL;
    c.dir = o->node;
    c.name = o->name;
    c.district = o->district;
    if (hex_decode(c.server_pk, RZ_PK_BYTES, o->server_key) != 0)
        return 2;
    if (strcmp(phase, "good") == 0) {
        rc = run_table(&c, good_cases, NCASES(good_cases), 1);
    } else if (strcmp(phase, "hostile") == 0) {
        accepted_load(&c);
        rc = run_table(&c, hostile_cases, NCASES(hostile_cases), 0);
    } else if (strcmp(phase, "fork") == 0) {
        rc = run_table(&c, fork_cases, NCASES(fork_cases), 1);
    } else if (strcmp(phase, "epoch") == 0) {
        accepted_load(&c);
        rc = run_table(&c, epoch_cases, NCASES(epoch_cases), 1);
    } else {
        fprintf(stderr, "rz_peer: unknown phase %s\n", phase);
        rc = 2;
    }
    accepted_free(&c);
    peer_free(&p);
    if (have_other)
        peer_free(&other);
    return rc;
}

/* ---- fuzz seeds ---------------------------------------------------------- */

#define SEED_MAX_BYTES 65535 /* a fuzz_ingest record length is 16 bits */

static int
seed_write(const char *dir, const char *sub, int n, const void *buf, size_t len)
{
    char path[4096];
    rz_error err;
    if (len > SEED_MAX_BYTES)
        return 0;
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof path, "%s/%s/seed-%03d", dir, sub, n);
    if (file_write_atomic(path, buf, len, 0644, &err) != 0) {
        fprintf(stderr, "rz_peer: %s\n", err.text);
        return -1;
    }
    return 1;
}

/* One fuzz_ingest record: flags, be16 length, frame. */
static void
record_put(mpk_writer *w, int flags, const void *frame_bytes, size_t len)
{
    uint8_t h[3];
    h[0] = (uint8_t)flags;
    h[1] = (uint8_t)(len >> 8);
    h[2] = (uint8_t)len;
    mpk_w_raw(w, h, 3);
    mpk_w_raw(w, frame_bytes, len);
}

/* Pretends the server accepted batch bytes: moves the peer's head. */
static void
corpus_accept(ctx *c, const void *buf, size_t len)
{
    pbatch b;
    rz_error err;
    if (pbatch_from_frame(&b, buf, len, &err) == 0) {
        pbatch_sign(&b, &c->p->id);
        c->p->head_seq = b.first_seq + b.n - 1;
        memcpy(c->p->head, b.last_hash, RZ_HASH_BYTES);
        accepted_add(c, buf, len);
    }
    pbatch_free(&b);
}

static int
cmd_corpus(const char *out)
{
    ctx c;
    peer p, other;
    frame good, f;
    mpk_writer rec;
    int nmsg = 0, nent = 0, ning = 0, rc = 0;
    size_t i, k;

    if (mkdir(out, 0755) != 0 && errno != EEXIST)
        return 2;
    peer_init_seeded(&p, FUZZ_KEY_SEED, FUZZ_NODE_ID);
    peer_init_seeded(&other, FUZZ_OTHER_SEED, FUZZ_OTHER_ID);
    memset(&c, 0, sizeof c);
    c.p = &p;
    c.other = &other;
    c.name = "Zainab O'Brien-خان\"; DROP TABLE person; --";
    c.district = "ضلع لاہور' OR '1'='1";
    mpk_w_init(&rec);

    /* Entries of a good batch, one file each. */
    frame_init(&good);
    g_batch(&c, &good);
    {
        pbatch b;
        rz_error err;
        if (pbatch_from_frame(&b, (const uint8_t *)good.w[0].sb.data, good.w[0].sb.size, &err) == 0)
            for (i = 0; i < b.n; i++)
                rc |= seed_write(out, "fuzz_entry", nent++, b.ent[i], b.len[i]) < 0;
        pbatch_free(&b);
    }
    /* fuzz_ingest: the good batch alone, then followed by its re-send. */
    record_put(&rec, 0, good.w[0].sb.data, good.w[0].sb.size);
    rc |= seed_write(out, "fuzz_ingest", ning++, rec.sb.data, rec.sb.size) < 0;
    record_put(&rec, 0, good.w[0].sb.data, good.w[0].sb.size);
    rc |= seed_write(out, "fuzz_ingest", ning++, rec.sb.data, rec.sb.size) < 0;
    rc |= seed_write(out, "fuzz_msg", nmsg++, good.w[0].sb.data, good.w[0].sb.size) < 0;
    corpus_accept(&c, good.w[0].sb.data, good.w[0].sb.size);

    /* Every case frame of every table.  A frame msg_decode refuses (or that
     * is no BATCH) seeds fuzz_msg; a decodable BATCH seeds fuzz_ingest after
     * the good batch, its hostile entry seeds fuzz_entry, and the correct
     * batches of the good phase seed fuzz_msg too. */
    {
        const hcase *tables[3] = {good_cases, hostile_cases, fork_cases};
        size_t sizes[3] = {NCASES(good_cases), NCASES(hostile_cases), NCASES(fork_cases)};
        /* epoch_cases need a server that ran new-epoch: nothing new here */
        for (k = 0; k < 3; k++)
            for (i = 0; i < sizes[k]; i++) {
                rz_msg m;
                msgpack_zone z;
                int batch;
                frame_init(&f);
                tables[k][i].build(&c, &f);
                if (f.skip_reason || f.nparts != 1 || f.w[0].sb.size > SEED_MAX_BYTES) {
                    frame_free(&f);
                    continue;
                }
                msgpack_zone_init(&z, 4096);
                batch = msg_decode((const uint8_t *)f.w[0].sb.data, f.w[0].sb.size, &z, &m, NULL) ==
                            0 &&
                        m.type == RZ_MSG_BATCH;
                if (!batch || k == 0)
                    rc |= seed_write(out, "fuzz_msg", nmsg++, f.w[0].sb.data, f.w[0].sb.size) < 0;
                if (batch) {
                    mpk_w_reset(&rec);
                    record_put(&rec, 0, good.w[0].sb.data, good.w[0].sb.size);
                    record_put(&rec, 0, f.w[0].sb.data, f.w[0].sb.size);
                    rc |= seed_write(out, "fuzz_ingest", ning++, rec.sb.data, rec.sb.size) < 0;
                }
                if (batch && k == 1 && m.nentries == 3) /* batch_with_entry: entry 1 */
                    rc |= seed_write(out, "fuzz_entry", nent++, m.entry[1], m.entry_len[1]) < 0;
                msgpack_zone_destroy(&z);
                frame_free(&f);
            }
    }
    /* A fork: the good batch, then seq 1 rewritten, signed. */
    frame_init(&f);
    f_restart_at_1(&c, &f);
    mpk_w_reset(&rec);
    record_put(&rec, 0, good.w[0].sb.data, good.w[0].sb.size);
    record_put(&rec, FUZZ_FLAG_RESIGN, f.w[0].sb.data, f.w[0].sb.size);
    rc |= seed_write(out, "fuzz_ingest", ning++, rec.sb.data, rec.sb.size) < 0;
    frame_free(&f);
    /* Server replies, which the node decodes. */
    {
        uint8_t h[RZ_HASH_BYTES] = {1}, s[RZ_SIG_BYTES] = {2};
        mpk_w_reset(&rec);
        msg_encode_welcome(&rec, 1767225600000ull, 0, 7, h, 1);
        rc |= seed_write(out, "fuzz_msg", nmsg++, rec.sb.data, rec.sb.size) < 0;
        mpk_w_reset(&rec);
        msg_encode_ack(&rec, 1767225600000ull, 0, 1, 7, h, s, 7);
        rc |= seed_write(out, "fuzz_msg", nmsg++, rec.sb.data, rec.sb.size) < 0;
        mpk_w_reset(&rec);
        msg_encode_error(&rec, 1767225600000ull, RZ_E_CHAIN, "gap: batch starts at seq 9");
        rc |= seed_write(out, "fuzz_msg", nmsg++, rec.sb.data, rec.sb.size) < 0;
    }
    frame_free(&good);
    mpk_w_free(&rec);
    accepted_free(&c);
    peer_free(&p);
    peer_free(&other);
    printf("corpus: %d fuzz_msg, %d fuzz_entry, %d fuzz_ingest seeds in %s\n", nmsg, nent, ning,
           out);
    return rc ? 2 : 0;
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: rz_peer keygen DIR\n"
            "       rz_peer run good|hostile|fork|epoch --endpoint EP --server-key HEX --node DIR\n"
            "               [--other DIR] [--name S] [--district S]\n"
            "       rz_peer hello --endpoint EP --server-key HEX --node DIR\n"
            "               --expect welcome|timeout|CODE [--timeout MS] [--plain] [--settle MS]\n"
            "       rz_peer hold --endpoint EP --server-key HEX --node DIR -- CMD ARGS...\n"
            "       rz_peer corpus OUTDIR\n");
}

int
main(int argc, char **argv)
{
    opts o;
    rz_error err = {0, ""};
    log_init("rz_peer", LOG_LVL_WARN);
    if (crypto_init() != 0)
        return 2;
    if (argc >= 3 && strcmp(argv[1], "keygen") == 0) {
        if (peer_keygen(argv[2], &err)) {
            fprintf(stderr, "rz_peer: %s\n", err.text);
            return 2;
        }
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "corpus") == 0)
        return cmd_corpus(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "run") == 0 && parse_opts(argc - 3, argv + 3, &o) == 0)
        return cmd_run(argv[2], &o);
    if (argc >= 2 && strcmp(argv[1], "hello") == 0 && parse_opts(argc - 2, argv + 2, &o) == 0)
        return cmd_hello(&o);
    if (argc >= 2 && strcmp(argv[1], "hold") == 0 && parse_opts(argc - 2, argv + 2, &o) == 0)
        return cmd_hold(&o);
    usage();
    return 2;
}
