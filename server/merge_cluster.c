/*
 * merge_cluster: one person, one count.  A live person record with a valid
 * CNIC has link = its CNIC token; its cluster key (ckey, 17 bytes) is
 * 0x01 || token.  A live record without one is its own cluster,
 * 0x02 || person id.  st_cluster holds each live cluster's counted profile
 * (attributes already reduced to valid codes, 0/'' = unknown; place and
 * registration date of the member with the earliest creation stamp) and
 * st_cluster_att the cluster's counted attendances per (event day, event
 * kind, centre that ran the event) -- day 0 and kind 0 are unknown.  The
 * cluster's registration counts at its place, its attendances and its
 * presence as a trainee at each bucket's centre.  Totals are the sum over live
 * clusters and live events of their contributions; when a cluster changes,
 * its old contribution is subtracted and the new one added, computed from
 * these two tables alone.
 *
 * Not here: the record rules (merge_records.c) and the counters
 * (merge_counters.c).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/util.h"
#include "server/merge_int.h"

/* ---- clusters ------------------------------------------------------------ */

/* One bucket (day, kind, centre) with count n. */
static mg_catt
catt(uint32_t day, int64_t kind, int64_t centre, int64_t n)
{
    mg_catt b;
    b.day = day, b.kind = kind, b.centre = centre, b.n = n;
    return b;
}

static void
catts_push(mg_catts *c, mg_catt b)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = b;
}

/* Bucket order: day, kind, centre (the key of st_cluster_att). */
static int
catt_cmp(const mg_catt *a, const mg_catt *b)
{
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return a->centre < b->centre ? -1 : a->centre > b->centre;
}

void
mg_catts_add(mg_catts *c, mg_catt b)
{
    size_t i = 0;
    while (i < c->n && catt_cmp(&c->v[i], &b) < 0)
        i++;
    if (i < c->n && catt_cmp(&c->v[i], &b) == 0) {
        c->v[i].n += b.n;
        if (c->v[i].n == 0) {
            memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof *c->v);
            c->n--;
        }
        return;
    }
    catts_push(c, b);
    memmove(&c->v[i + 1], &c->v[i], (c->n - 1 - i) * sizeof *c->v);
    c->v[i] = b;
}

static void
catts_copy(mg_catts *dst, const mg_catts *src)
{
    dst->n = 0;
    for (size_t i = 0; i < src->n; i++)
        catts_push(dst, src->v[i]);
}

static int
catts_equal(const mg_catts *a, const mg_catts *b)
{
    size_t i;
    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++)
        if (catt_cmp(&a->v[i], &b->v[i]) != 0 || a->v[i].n != b->v[i].n)
            return 0;
    return 1;
}

static int
prof_equal(const mg_prof *a, const mg_prof *b)
{
    return a->centre_id == b->centre_id && a->reg_date == b->reg_date && a->gender == b->gender &&
           a->birth_year == b->birth_year && a->area == b->area && a->skill == b->skill &&
           strcmp(a->home, b->home) == 0;
}

/*
 * A cluster's buckets are the sum of its live members' buckets.  Inside a
 * person entry the person's row is already written while its clusters are
 * still read as they were: `self` (may be NULL) is left out of the members
 * found and added back when self_in says it belonged to the cluster before.
 */
static int
cluster_rows_load(merge_ctx *m, const uint8_t key[MG_CKEY], const uint8_t *self, int self_in,
                  mg_catts *out, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_P_LINKED];
    int step = SQLITE_DONE, rc = 0;
    out->n = 0;
    if (self && self_in && (rc = mg_patt_read(m, self, out, err)))
        return rc;
    if (key[0] == MG_CKEY_SOLO)
        return self && memcmp(self, key + 1, 16) == 0 ? 0 : mg_patt_read(m, key + 1, out, err);
    /* A member's buckets are read while the members' statement is open
     * (another statement: SQLite allows that). */
    sqlite3_bind_blob(st, 1, key + 1, 16, SQLITE_STATIC);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t id[16];
        if (sqlite3_column_bytes(st, 0) != 16) {
            rc = rz_fail(err, RZ_E_INTERNAL, "corrupt merged person record");
            break;
        }
        memcpy(id, sqlite3_column_blob(st, 0), 16);
        if (!self || memcmp(id, self, 16) != 0)
            rc = mg_patt_read(m, id, out, err);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = mg_fail(m, err, "cluster members");
    sqlite3_reset(st);
    return rc;
}

static int
cluster_get(merge_ctx *m, const uint8_t key[MG_CKEY], mg_prof *p, int *found, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_C_GET];
    int step;
    memset(p, 0, sizeof *p);
    *found = 0;
    sqlite3_bind_blob(st, 1, key, MG_CKEY, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const unsigned char *home = sqlite3_column_text(st, 6);
        *found = 1;
        p->centre_id = sqlite3_column_int64(st, 0);
        p->reg_date = sqlite3_column_int64(st, 1);
        p->gender = sqlite3_column_int64(st, 2);
        p->birth_year = sqlite3_column_int64(st, 3);
        p->area = sqlite3_column_int64(st, 4);
        p->skill = sqlite3_column_int64(st, 5);
        if (home)
            snprintf(p->home, sizeof p->home, "%s", (const char *)home);
    }
    sqlite3_reset(st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : mg_fail(m, err, "cluster read");
}

static int
cluster_put(merge_ctx *m, const uint8_t key[MG_CKEY], const mg_prof *p, int exists, rz_error *err)
{
    sqlite3_stmt *st = m->st[exists ? MS_C_PUT : MS_C_DEL];
    sqlite3_bind_blob(st, 1, key, MG_CKEY, SQLITE_STATIC);
    if (exists) {
        sqlite3_bind_int64(st, 2, p->centre_id);
        sqlite3_bind_int64(st, 3, p->reg_date);
        sqlite3_bind_int64(st, 4, p->gender);
        sqlite3_bind_int64(st, 5, p->birth_year);
        sqlite3_bind_int64(st, 6, p->area);
        sqlite3_bind_int64(st, 7, p->skill);
        sqlite3_bind_text(st, 8, p->home, -1, SQLITE_STATIC);
    }
    return mg_exec(m, st, err, "cluster write");
}

/* Reduces the live records of a cluster to its profile: each attribute is
 * the stamp-winner across the records; the place and registration date
 * are those of the record with the lowest creation stamp. */
typedef struct mg_fold {
    int members;                     /* records folded */
    uint8_t first_created[MG_STAMP]; /* lowest creation stamp so far */
    uint8_t first_id[16];            /* its record (ties: lowest id) */
    uint8_t won[MG_SLOTS][MG_STAMP]; /* winning stamp per attribute slot */
    uint8_t won_id[MG_SLOTS][16];    /* its record (ties: highest id) */
    uint32_t have;                   /* bit s: some member set slot s */
    mg_prof p;                       /* the profile so far */
} mg_fold;

static const uint8_t mg_attr_slots[] = {RZ_PF_GENDER, RZ_PF_BIRTH_YEAR, RZ_PF_DISTRICT,
                                        RZ_PF_AREA,   RZ_PF_SKILL,      0};

static void
fold_attr(mg_fold *f, const mg_rec *r, int slot)
{
    switch (slot) {
    case RZ_PF_GENDER: f->p.gender = mg_rec_code(r, slot); break;
    case RZ_PF_BIRTH_YEAR: f->p.birth_year = mg_rec_code(r, slot); break;
    case RZ_PF_DISTRICT: mg_rec_home(r, f->p.home); break;
    case RZ_PF_AREA: f->p.area = mg_rec_code(r, slot); break;
    case RZ_PF_SKILL: f->p.skill = mg_rec_code(r, slot); break;
    default: break;
    }
}

static void
fold_member(mg_fold *f, const mg_rec *r, const uint8_t id[16])
{
    size_t i;
    int c;
    c = f->members ? memcmp(r->created, f->first_created, MG_STAMP) : -1;
    if (c < 0 || (c == 0 && memcmp(id, f->first_id, 16) < 0)) {
        memcpy(f->first_created, r->created, MG_STAMP);
        memcpy(f->first_id, id, 16);
        f->p.centre_id = r->centre_id;
        f->p.reg_date = mg_rec_code(r, RZ_PF_REG_DATE);
    }
    f->members++;
    for (i = 0; mg_attr_slots[i]; i++) {
        int s = mg_attr_slots[i];
        if (!(r->set >> s & 1))
            continue;
        c = f->have >> s & 1 ? memcmp(r->stamp[s], f->won[s], MG_STAMP) : 1;
        if (c > 0 || (c == 0 && memcmp(id, f->won_id[s], 16) > 0)) {
            memcpy(f->won[s], r->stamp[s], MG_STAMP);
            memcpy(f->won_id[s], id, 16);
            f->have |= 1u << s;
            fold_attr(f, r, s);
        }
    }
}

/* Folds the live members of cluster key; `self` (record id) is the record
 * just written, in memory as cur. */
static int
cluster_profile(merge_ctx *m, const uint8_t key[MG_CKEY], const uint8_t self[16], const mg_rec *cur,
                mg_prof *p, int *exists, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_P_MEMBERS];
    uint8_t ck[MG_CKEY];
    mg_fold f;
    int step = SQLITE_DONE, rc = 0;
    memset(&f, 0, sizeof f);
    if (key[0] == MG_CKEY_SOLO) {
        if (mg_person_ckey(cur, self, ck) && memcmp(ck, key, MG_CKEY) == 0)
            fold_member(&f, cur, self);
    } else {
        sqlite3_bind_blob(st, 1, key + 1, 16, SQLITE_STATIC);
        while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
            uint8_t id[16];
            mg_rec_fresh(&m->member);
            if (sqlite3_column_bytes(st, 17) != 16 || mg_person_columns(&m->member, st) != 0) {
                rc = rz_fail(err, RZ_E_INTERNAL, "corrupt merged person record");
                break;
            }
            memcpy(id, sqlite3_column_blob(st, 17), 16);
            fold_member(&f, &m->member, id);
        }
        if (rc == 0 && step != SQLITE_DONE)
            rc = mg_fail(m, err, "cluster members");
        sqlite3_reset(st);
    }
    *p = f.p;
    *exists = f.members > 0;
    return rc;
}

/* The profile and buckets of a cluster, read on a miss (self, self_in: see
 * cluster_rows_load).  The pointer is valid until the next cache call. */
static int
cluster_cached(merge_ctx *m, const uint8_t key[MG_CKEY], const uint8_t *self, int self_in,
               mg_clc **out, rz_error *err)
{
    mg_clc *c = &m->clc[mg_cache_slot(key, MG_CKEY, MG_CL_CACHE)];
    int rc;
    if (!c->valid || memcmp(c->key, key, MG_CKEY) != 0) {
        c->valid = 0;
        memcpy(c->key, key, MG_CKEY);
        c->rows.n = 0;
        if ((rc = cluster_get(m, key, &c->p, &c->found, err)) ||
            (c->found && (rc = cluster_rows_load(m, key, self, self_in, &c->rows, err))))
            return rc;
        c->valid = 1;
    }
    *out = c;
    return 0;
}

static void
cluster_cache_store(merge_ctx *m, const mg_cl *cl)
{
    mg_clc *c = &m->clc[mg_cache_slot(cl->key, MG_CKEY, MG_CL_CACHE)];
    c->valid = 1;
    c->found = cl->exists;
    memcpy(c->key, cl->key, MG_CKEY);
    c->p = cl->after;
    if (cl->exists)
        catts_copy(&c->rows, &cl->rows);
    else
        c->rows.n = 0;
}

/* Starts a cluster of person record self as it was before the entry
 * (self_in: the record counted in it). */
static int
cluster_begin(merge_ctx *m, mg_cl *c, const uint8_t key[MG_CKEY], const uint8_t self[16],
              int self_in, rz_error *err)
{
    mg_clc *cc;
    int rc;
    memcpy(c->key, key, MG_CKEY);
    if ((rc = cluster_cached(m, key, self, self_in, &cc, err)))
        return rc;
    c->existed = cc->found;
    c->before = cc->p;
    catts_copy(&c->rows_before, &cc->rows);
    catts_copy(&c->rows, &cc->rows);
    return 0;
}

/* A profile as the day index takes it (home borrowed from p). */
static dayindex_prof
prof_of(const mg_prof *p)
{
    dayindex_prof d = {p->centre_id, p->reg_date, p->gender, p->birth_year,
                       p->area,      p->skill,    p->home};
    return d;
}

/* Tells the day index every bucket that differs between before and after
 * (a cluster's buckets are not stored: its members' are). */
static void
cluster_rows_note(merge_ctx *m, const uint8_t key[MG_CKEY], const mg_catts *before,
                  const mg_catts *after)
{
    size_t i = 0, j = 0;
    while (i < before->n || j < after->n) {
        int c = i == before->n ? 1 : j == after->n ? -1 : catt_cmp(&before->v[i], &after->v[j]);
        const mg_catt *b = c < 0 ? &before->v[i] : &after->v[j];
        int64_t d = c < 0   ? -before->v[i].n
                    : c > 0 ? after->v[j].n
                            : after->v[j].n - before->v[i].n;
        if (d)
            dayindex_att(m->dx, key, b->day, b->kind, b->centre, d);
        i += c <= 0, j += c >= 0;
    }
}

/* Recomputes a touched cluster, stores it and re-attributes its counts. */
static int
cluster_finish(merge_ctx *m, mg_cl *c, const uint8_t self[16], const mg_rec *cur, rz_error *err)
{
    int rc;
    if ((rc = cluster_profile(m, c->key, self, cur, &c->after, &c->exists, err)))
        return rc;
    if (!c->exists)
        c->rows.n = 0; /* no live member left: nothing of it counts */
    if (c->existed == c->exists && catts_equal(&c->rows_before, &c->rows) &&
        (!c->exists || prof_equal(&c->before, &c->after)))
        return 0;
    if ((c->existed && (rc = mg_emit_cluster(m, &c->before, &c->rows_before, -1, err))) ||
        (c->exists && (rc = mg_emit_cluster(m, &c->after, &c->rows, +1, err))))
        return rc;
    if (c->existed != c->exists || !prof_equal(&c->before, &c->after)) {
        dayindex_prof was = prof_of(&c->before), is = prof_of(&c->after);
        dayindex_cluster(m->dx, c->key, c->existed ? &was : NULL, c->exists ? &is : NULL);
        if ((rc = cluster_put(m, c->key, &c->after, c->exists, err)))
            return rc;
    }
    cluster_rows_note(m, c->key, &c->rows_before, &c->rows);
    cluster_cache_store(m, c);
    return 0;
}

/* A person record changed in a way that may change counts: the clusters it
 * left and joined are recomputed, and its counted attendances move from the
 * old cluster to the new one. */
int
mg_person_recluster(merge_ctx *m, const uint8_t id[16], const mg_rec *old, const mg_rec *cur,
                    rz_error *err)
{
    uint8_t kold[MG_CKEY], knew[MG_CKEY];
    int has_old = mg_person_ckey(old, id, kold), has_new = mg_person_ckey(cur, id, knew);
    int moved = has_old != has_new || (has_old && memcmp(kold, knew, MG_CKEY) != 0);
    mg_cl *a = has_old ? &m->cl[0] : NULL;
    mg_cl *b = has_new && moved ? &m->cl[1] : has_new ? a : NULL;
    size_t i;
    int rc;

    if ((a && (rc = cluster_begin(m, a, kold, id, 1, err))) ||
        (b && b != a && (rc = cluster_begin(m, b, knew, id, 0, err))))
        return rc;
    if (moved) {
        m->moves.n = 0;
        if ((rc = mg_patt_read(m, id, &m->moves, err)))
            return rc;
        for (i = 0; i < m->moves.n; i++) {
            mg_catt mv = m->moves.v[i];
            if (b)
                mg_catts_add(&b->rows, mv);
            mv.n = -mv.n;
            if (a)
                mg_catts_add(&a->rows, mv);
        }
    }
    if ((a && (rc = cluster_finish(m, a, id, cur, err))) ||
        (b && b != a && (rc = cluster_finish(m, b, id, cur, err))))
        return rc;
    return 0;
}

/* The cluster a person record currently counts in; 0 when none. */
int
mg_person_cluster_of(merge_ctx *m, const uint8_t id[16], uint8_t key[MG_CKEY], int *found,
                     rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_P_CLUSTER];
    mg_pc *c = &m->pc[mg_cache_slot(id, 16, MG_PC_CACHE)];
    int step;
    if (c->valid && memcmp(c->id, id, 16) == 0) {
        *found = c->found;
        if (c->found)
            memcpy(key, c->key, MG_CKEY);
        return 0;
    }
    *found = 0;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_int(st, 0) == 0) {
        *found = 1;
        if (sqlite3_column_bytes(st, 1) == 16) {
            key[0] = MG_CKEY_CNIC;
            memcpy(key + 1, sqlite3_column_blob(st, 1), 16);
        } else {
            key[0] = MG_CKEY_SOLO;
            memcpy(key + 1, id, 16);
        }
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mg_fail(m, err, "person cluster");
    mg_pc_store(m, id, *found, key);
    return 0;
}

/* One attendance at event ev starts (+1) or stops (-1) counting for a
 * cluster whose profile does not change: its bucket, the attendances (at
 * the event's centre) and the trainee cells it brings the person into or
 * out of (mg_emit_trainees).  The cluster is read before its member's
 * bucket changes. */
static int
cluster_att_add(merge_ctx *m, const uint8_t key[MG_CKEY], const mg_evfacts *ev, int64_t delta,
                rz_error *err)
{
    int64_t v[MERGE_D_MAX + 1];
    mg_catt b = catt((uint32_t)ev->day, ev->kind, ev->centre_id, delta);
    mg_clc *c;
    mg_prof p;
    int rc;

    if ((rc = cluster_cached(m, key, NULL, 0, &c, err)))
        return rc;
    if (!c->found)
        return rz_fail(err, RZ_E_INTERNAL, "live person without a merged cluster");
    p = c->p;
    dayindex_att(m->dx, key, b.day, b.kind, b.centre, delta);
    /* Trainee cells against the buckets as they were, then the bucket. */
    if ((rc = mg_emit_trainees(m, &p, &c->rows, &b, err)))
        return rc;
    mg_catts_add(&c->rows, b);
    mg_prof_dims(m, &p, v);
    v[MERGE_D_CENTRE] = ev->centre_id;
    v[MERGE_D_KIND] = ev->kind;
    mg_emit_attendances(m, ev->day, &p, v, delta);
    return 0;
}

int
mg_att_count(merge_ctx *m, const uint8_t pid[16], const mg_evfacts *ev, int64_t delta,
             rz_error *err)
{
    mg_catt b = catt((uint32_t)ev->day, ev->kind, ev->centre_id, delta);
    uint8_t key[MG_CKEY];
    int found, rc;
    if ((rc = mg_person_cluster_of(m, pid, key, &found, err)) ||
        (found && (rc = cluster_att_add(m, key, ev, delta, err))))
        return rc;
    /* A person not merged yet keeps its buckets: they count once it
     * arrives (mg_person_recluster moves them into its cluster). */
    mg_patt_add(m, pid, &b);
    return 0;
}

/* An event's facts before and after a change. */
typedef struct mg_evmove {
    const mg_evfacts *was, *is;
} mg_evmove;

static int
attendee_move(merge_ctx *m, const uint8_t pid[16], void *arg, rz_error *err)
{
    const mg_evmove *mv = arg;
    int rc;
    if (mv->was->live && (rc = mg_att_count(m, pid, mv->was, -1, err)))
        return rc;
    return mv->is->live ? mg_att_count(m, pid, mv->is, +1, err) : 0;
}

/* Re-attributes the counted attendances of an event whose liveness, date,
 * kind or centre changed, the window's pending records included. */
int
mg_event_attendees(merge_ctx *m, const uint8_t *event_id, const mg_evfacts *was,
                   const mg_evfacts *is, rz_error *err)
{
    mg_evmove mv = {was, is};
    return mg_evatt_each_counting(m, event_id, attendee_move, &mv, err);
}
