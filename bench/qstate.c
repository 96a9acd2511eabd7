/*
 * qstate: the server's stores for the query figures; see qstate.h.
 */
#include "bench/qstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "common/crypto.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/util.h"
#include "proto/entry.h"
#include "proto/wire.h"
#include "server/log_store.h"
#include "server/merge.h"
#include "server/merger.h"
#include "server/state_store.h"

typedef struct qs_centre {
    uint8_t node[RZ_NODE_ID_BYTES]; /* its node */
    int64_t centre_id;              /* from the register */
    uint64_t clock_ms;              /* the node's clock, increasing */
} qs_centre;

typedef struct qs_run {
    log_store *ls;       /* register (places) */
    state_store *ss;     /* the state merged into */
    merge_ctx *m;        /* the server's merge rules */
    sqlite3_stmt *place; /* places from the register */
    uint8_t pepper[32];  /* CNIC link tokens of this run */
    uint64_t in_window;  /* entries of the open transaction */
    qstate_result *res;  /* figures */
} qs_run;

static int
qs_place(void *arg, int64_t centre_id, merge_place *out, rz_error *err)
{
    qs_run *r = arg;
    return merge_place_read(log_store_db(r->ls), &r->place, centre_id, out, err);
}

/* Record id: centre, kind and index, big-endian (sequential per centre, as
 * the node's time-ordered ids are). */
static void
qs_id(uint8_t id[16], uint32_t centre, int kind, uint64_t index)
{
    memset(id, 0, 16);
    be32_put(id, 0x01900000u + centre);
    id[4] = (uint8_t)kind;
    be64_put(id + 8, index);
}

/* A commitment to a personal value (what the entry carries in its place). */
static void
qs_commit(uint8_t out[16], const char *value, uint64_t salt)
{
    crypto_generichash(out, 16, (const uint8_t *)value, strlen(value), (const uint8_t *)&salt,
                       sizeof salt);
}

static uint64_t
qs_day_ms(uint32_t yyyymmdd)
{
    /* 10:00 Pakistan time of the day. */
    return (uint64_t)date_day_number(yyyymmdd) * 86400000ull + 5ull * 3600000ull;
}

static void
qs_field(rz_entry *e, uint8_t id, rz_value v)
{
    e->fields[e->nfields].id = id;
    e->fields[e->nfields].v = v;
    e->nfields++;
}

/* Merges one entry; commits the window when it is full. */
static int
qs_merge(qs_run *r, qs_centre *c, rz_entry *e, uint64_t day_ms, int cnic_state,
         const uint8_t token[16], rz_error *err)
{
    merge_input in;
    int rc;
    if (c->clock_ms < day_ms)
        c->clock_ms = day_ms;
    c->clock_ms += 1000;
    e->schema = RZ_SCHEMA_CURRENT;
    e->hlc = hlc_make(c->clock_ms, 0);
    memset(&in, 0, sizeof in);
    in.node_id = c->node;
    in.centre_id = c->centre_id;
    in.seq = r->res->entries + 1;
    in.e = e;
    in.win_lo_ms = 0;
    in.win_hi_ms = c->clock_ms + 1000; /* the node's next clock entry */
    in.cnic_state = cnic_state;
    if (token)
        memcpy(in.cnic_token, token, 16);
    if (r->in_window == 0 && (rc = state_store_begin(r->ss, err)))
        return rc;
    if ((rc = merge_entry(r->m, &in, err)))
        return rc;
    r->res->entries++;
    if (++r->in_window == MERGER_WINDOW_ENTRIES) {
        r->in_window = 0;
        if ((rc = merge_flush(r->m, err)) || (rc = state_store_commit(r->ss, err)))
            return rc;
    }
    return 0;
}

static int
qs_person(qs_run *r, qs_centre *c, uint32_t ci, const gen_person *g, rz_error *err)
{
    uint8_t id[16], cnic_c[16], name_c[16], phone_c[16], token[16];
    char cnic[14];
    rz_entry e;
    int state = MERGE_CNIC_ABSENT;
    memset(&e, 0, sizeof e);
    qs_id(id, ci, 1, g->index);
    e.table = RZ_T_PERSON;
    e.op = RZ_OP_SET;
    e.key = id;
    e.key_len = 16;
    if (g->cnic[0]) {
        state =
            cnic_normalize(cnic, g->cnic, strlen(g->cnic)) ? MERGE_CNIC_VALID : MERGE_CNIC_INVALID;
        if (state == MERGE_CNIC_VALID)
            cnic_token(token, r->pepper, cnic);
        qs_commit(cnic_c, g->cnic, g->index);
        qs_field(&e, RZ_PF_CNIC, rz_bin(cnic_c, 16));
    }
    qs_commit(name_c, g->name, g->index);
    qs_field(&e, RZ_PF_NAME, rz_bin(name_c, 16));
    if (g->phone[0]) {
        qs_commit(phone_c, g->phone, g->index);
        qs_field(&e, RZ_PF_PHONE, rz_bin(phone_c, 16));
    }
    qs_field(&e, RZ_PF_GENDER, rz_uint((uint64_t)g->gender));
    qs_field(&e, RZ_PF_BIRTH_YEAR, rz_uint((uint64_t)g->birth_year));
    qs_field(&e, RZ_PF_DISTRICT, rz_str(g->district));
    qs_field(&e, RZ_PF_AREA, rz_uint((uint64_t)g->area));
    qs_field(&e, RZ_PF_SKILL, rz_uint((uint64_t)g->skill));
    qs_field(&e, RZ_PF_SKILLS, rz_str(g->skills));
    if (g->platforms[0])
        qs_field(&e, RZ_PF_PLATFORMS, rz_str(g->platforms));
    qs_field(&e, RZ_PF_REG_DATE, rz_uint(g->reg_date));
    return qs_merge(r, c, &e, qs_day_ms(g->reg_date), state,
                    state == MERGE_CNIC_VALID ? token : NULL, err);
}

static int
qs_event(qs_run *r, qs_centre *c, uint32_t ci, const gen_event *g, rz_error *err)
{
    uint8_t id[16];
    rz_entry e;
    memset(&e, 0, sizeof e);
    qs_id(id, ci, 2, g->index);
    e.table = RZ_T_EVENT;
    e.op = RZ_OP_SET;
    e.key = id;
    e.key_len = 16;
    qs_field(&e, RZ_EF_KIND, rz_uint((uint64_t)g->kind));
    qs_field(&e, RZ_EF_TITLE, rz_str(g->title));
    qs_field(&e, RZ_EF_DATE, rz_uint(g->date));
    qs_field(&e, RZ_EF_DURATION, rz_uint((uint64_t)g->duration));
    if (g->partner[0])
        qs_field(&e, RZ_EF_PARTNER, rz_str(g->partner));
    qs_field(&e, RZ_EF_MODE, rz_uint((uint64_t)g->mode));
    return qs_merge(r, c, &e, qs_day_ms(g->date), MERGE_CNIC_ABSENT, NULL, err);
}

static int
qs_attend(qs_run *r, qs_centre *c, uint32_t ci, const gen_attend *g, rz_error *err)
{
    uint8_t key[32];
    rz_entry e;
    memset(&e, 0, sizeof e);
    qs_id(key, ci, 2, g->event);
    qs_id(key + 16, ci, 1, g->person);
    e.table = RZ_T_ATTENDANCE;
    e.op = RZ_OP_SET;
    e.key = key;
    e.key_len = 32;
    qs_field(&e, RZ_AF_PRESENT, rz_bool(g->present));
    r->res->present += g->present != 0;
    return qs_merge(r, c, &e, 0, MERGE_CNIC_ABSENT, NULL, err);
}

int
qstate_build(const gen_plan *p, const char *dir, qstate_result *res, rz_error *err)
{
    qs_run r;
    qs_centre *cs = xcalloc(p->cfg.centres, sizeof *cs);
    uint8_t pk[RZ_PK_BYTES], sk[crypto_sign_SECRETKEYBYTES];
    uint32_t i;
    double t0, c0;
    int rc = 0;

    memset(&r, 0, sizeof r);
    memset(res, 0, sizeof *res);
    r.res = res;
    randombytes_buf(r.pepper, sizeof r.pepper);
    if ((rc = log_store_open(&r.ls, dir, err)))
        goto out;
    for (i = 0; i < p->cfg.centres && rc == 0; i++) {
        const gen_centre *c = &p->centre[i];
        log_node n;
        cs[i].node[0] = 0x9b;
        be32_put(cs[i].node + 4, i);
        crypto_sign_keypair(pk, sk); /* enrollment needs a key; nothing is signed */
        if ((rc = log_store_enroll(r.ls, cs[i].node, pk, c->name, c->programme, c->province,
                                   c->district, err)) ||
            (rc = log_store_node_get(r.ls, cs[i].node, &n, err)))
            break;
        cs[i].centre_id = n.centre_id;
        res->people += c->people;
    }
    if (rc || (rc = state_store_open(&r.ss, dir, err)) ||
        (rc = merge_new(&r.m, state_store_db(r.ss), err)))
        goto out;
    merge_set_place_fn(r.m, qs_place, &r);
    t0 = bench_now();
    c0 = bench_cpu_now();
    for (i = 0; i < p->cfg.centres && rc == 0; i++) {
        gen_stream s;
        gen_record g;
        gen_stream_init(&s, p, i);
        while (rc == 0 && gen_next(&s, &g)) {
            switch (g.kind) {
            case GEN_PERSON: rc = qs_person(&r, &cs[i], i, &g.p, err); break;
            case GEN_EVENT: rc = qs_event(&r, &cs[i], i, &g.e, err); break;
            default: rc = qs_attend(&r, &cs[i], i, &g.a, err); break;
            }
        }
        gen_stream_free(&s);
        if (i % 25 == 24)
            fprintf(stderr, "[bench] merged %u of %u centres (%llu entries, %.0f entries/s)\n",
                    i + 1, p->cfg.centres, (unsigned long long)res->entries,
                    (double)res->entries / (bench_now() - t0));
    }
    if (rc == 0 && r.in_window > 0 &&
        ((rc = merge_flush(r.m, err)) == 0 && (rc = state_store_commit(r.ss, err)) == 0))
        r.in_window = 0;
    res->seconds = bench_now() - t0;
    res->cpu_s = bench_cpu_now() - c0;
out:
    if (rc && r.in_window > 0) {
        state_store_rollback(r.ss);
        merge_discard(r.m);
    }
    merge_destroy(&r.m);
    sqlite3_finalize(r.place);
    state_store_close(&r.ss);
    log_store_close(&r.ls);
    sodium_memzero(sk, sizeof sk);
    free(cs);
    return rc;
}
