/*
 * record: drives client/node_store.h with the generated records; see
 * record.h.  Generation happens outside the timed transactions so the
 * figure is the node's cost alone, like the reference's.
 */
#include "bench/record.h"

#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "client/node_store.h"
#include "common/util.h"
#include "proto/wire.h"

int
record_node_create(const char *dir, const char *endpoint, const uint8_t *server_pk,
                   uint8_t node_id[RZ_NODE_ID_BYTES], uint8_t sign_pk[RZ_PK_BYTES], rz_error *err)
{
    node_store *ns = NULL;
    int rc;
    if ((rc = node_store_create(dir, &ns, err)))
        return rc;
    if (endpoint && (rc = node_store_configure(ns, endpoint, server_pk, err)))
        goto out;
    memcpy(node_id, node_store_node_id(ns), RZ_NODE_ID_BYTES);
    memcpy(sign_pk, node_store_identity(ns)->pk, RZ_PK_BYTES);
out:
    node_store_destroy(&ns);
    return rc;
}

/* Optional text field: given only when the generator produced one. */
static void
record_opt(uint32_t *set, int field, const char **dst, const char *v)
{
    if (*v) {
        *set |= NODE_SET(field);
        *dst = v;
    }
}

static int
record_person(node_store *ns, const gen_person *g, uint8_t id[NODE_REC_ID_BYTES], rz_error *err)
{
    node_person p;
    memset(&p, 0, sizeof p);
    p.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_GENDER) | NODE_SET(RZ_PF_BIRTH_YEAR) |
            NODE_SET(RZ_PF_AREA) | NODE_SET(RZ_PF_SKILL) | NODE_SET(RZ_PF_REG_DATE);
    p.name = g->name;
    p.gender = (uint64_t)g->gender;
    p.birth_year = (uint64_t)g->birth_year;
    p.area = (uint64_t)g->area;
    p.skill = (uint64_t)g->skill;
    p.reg_date = g->reg_date;
    record_opt(&p.set, RZ_PF_CNIC, &p.cnic, g->cnic);
    record_opt(&p.set, RZ_PF_PHONE, &p.phone, g->phone);
    record_opt(&p.set, RZ_PF_DISTRICT, &p.district, g->district);
    record_opt(&p.set, RZ_PF_SKILLS, &p.skills, g->skills);
    record_opt(&p.set, RZ_PF_PLATFORMS, &p.platforms, g->platforms);
    return node_store_person_add(ns, &p, id, err);
}

static int
record_event(node_store *ns, const gen_event *g, uint8_t id[NODE_REC_ID_BYTES], rz_error *err)
{
    node_event e;
    memset(&e, 0, sizeof e);
    e.set = NODE_SET(RZ_EF_KIND) | NODE_SET(RZ_EF_TITLE) | NODE_SET(RZ_EF_DATE) |
            NODE_SET(RZ_EF_DURATION) | NODE_SET(RZ_EF_MODE);
    e.kind = (uint64_t)g->kind;
    e.title = g->title;
    e.date = g->date;
    e.duration = (uint64_t)g->duration;
    e.mode = (uint64_t)g->mode;
    record_opt(&e.set, RZ_EF_PARTNER, &e.partner, g->partner);
    return node_store_event_add(ns, &e, id, err);
}

typedef struct record_ctx {
    node_store *ns;                          /* the centre's node */
    uint8_t (*person_id)[NODE_REC_ID_BYTES]; /* ids the node gave, by index */
    uint8_t (*event_id)[NODE_REC_ID_BYTES];
    gen_record *batch; /* records generated ahead */
} record_ctx;

static int
record_one(record_ctx *c, const gen_record *g, rz_error *err)
{
    switch (g->kind) {
    case GEN_PERSON: return record_person(c->ns, &g->p, c->person_id[g->p.index], err);
    case GEN_EVENT: return record_event(c->ns, &g->e, c->event_id[g->e.index], err);
    default:
        return node_store_attend(c->ns, c->event_id[g->a.event], c->person_id[g->a.person],
                                 g->a.present, err);
    }
}

/* n recordings: in one explicit transaction when per_txn > 1, else each in
 * the store's own. */
static int
record_batch(record_ctx *c, size_t n, unsigned per_txn, record_result *res, rz_error *err)
{
    double t0 = bench_now();
    size_t i;
    int rc;
    if (per_txn > 1 && (rc = node_store_begin(c->ns, err)))
        return rc;
    for (i = 0; i < n; i++)
        if ((rc = record_one(c, &c->batch[i], err))) {
            if (per_txn > 1)
                node_store_rollback(c->ns);
            return rc;
        }
    if (per_txn > 1 && (rc = node_store_commit(c->ns, err)))
        return rc;
    res->seconds += bench_now() - t0;
    for (i = 0; i < n; i++) {
        res->people += c->batch[i].kind == GEN_PERSON;
        res->events += c->batch[i].kind == GEN_EVENT;
        res->present += c->batch[i].kind == GEN_ATTEND && c->batch[i].a.present;
    }
    res->entries += n;
    res->transactions += per_txn > 1 ? 1 : n;
    return 0;
}

struct record_live {
    record_ctx c;  /* node, ids, batch buffer */
    gen_stream gs; /* the centre's stream */
    size_t cap;    /* batch buffer entries */
};

int
record_live_open(record_live **out, const gen_plan *p, uint32_t centre, const char *dir,
                 rz_error *err)
{
    const gen_centre *gc = &p->centre[centre];
    record_live *l = xcalloc(1, sizeof *l);
    int rc;
    *out = NULL;
    if ((rc = node_store_open(dir, &l->c.ns, err))) {
        free(l);
        return rc;
    }
    l->c.person_id = xcalloc(gc->people ? gc->people : 1, sizeof *l->c.person_id);
    l->c.event_id = xcalloc(gc->events ? gc->events : 1, sizeof *l->c.event_id);
    l->cap = 64;
    l->c.batch = xcalloc(l->cap, sizeof *l->c.batch);
    gen_stream_init(&l->gs, p, centre);
    *out = l;
    return 0;
}

int
record_live_next(record_live *l, size_t n, size_t *done, record_result *res, rz_error *err)
{
    size_t k = 0;
    if (n > l->cap) {
        l->cap = n;
        l->c.batch = xrealloc(l->c.batch, l->cap * sizeof *l->c.batch);
    }
    while (k < n && gen_next(&l->gs, &l->c.batch[k]))
        k++;
    *done = k;
    return k ? record_batch(&l->c, k, k > 1 ? (unsigned)k : 2, res, err) : 0;
}

struct node_store *
record_live_store(record_live *l)
{
    return l->c.ns;
}

void
record_live_close(record_live **lp)
{
    record_live *l = lp ? *lp : NULL;
    if (!l)
        return;
    gen_stream_free(&l->gs);
    free(l->c.person_id);
    free(l->c.event_id);
    free(l->c.batch);
    node_store_destroy(&l->c.ns);
    free(l);
    *lp = NULL;
}

int
record_centre(const gen_plan *p, uint32_t centre, const char *dir, uint64_t limit, unsigned per_txn,
              record_result *res, rz_error *err)
{
    const gen_centre *gc = &p->centre[centre];
    size_t cap = per_txn > 1 ? per_txn : 64, n = 0;
    record_ctx c;
    gen_stream gs;
    uint64_t done = 0;
    int rc = 0, more = 1;

    memset(&c, 0, sizeof c);
    if ((rc = node_store_open(dir, &c.ns, err)))
        return rc;
    c.person_id = xcalloc(gc->people, sizeof *c.person_id);
    c.event_id = xcalloc(gc->events, sizeof *c.event_id);
    c.batch = xcalloc(cap, sizeof *c.batch);
    gen_stream_init(&gs, p, centre);
    while (more && rc == 0) {
        more = done < limit && gen_next(&gs, &c.batch[n]);
        if (more)
            n++, done++;
        if (n == cap || (!more && n > 0)) {
            rc = record_batch(&c, n, per_txn, res, err);
            n = 0;
        }
    }
    gen_stream_free(&gs);
    free(c.person_id);
    free(c.event_id);
    free(c.batch);
    node_store_destroy(&c.ns);
    return rc;
}
