/*
 * merge_counters: the national totals as counters (table `totals`, layout
 * in merge.h), their in-memory deltas and the flush that writes them.
 *
 * Deltas accumulate in memory (a hash map keyed by counter; one cell can
 * stand for a fact's month, quarter, year and all-time counters) and are
 * written by mg_counters_write() with one upsert per distinct counter, in key
 * order.  A fact (a registration, an attendance, a trainee's presence in a
 * period, an event) adds to the national counter, to one counter per stored
 * dimension and to one per pair of them.
 *
 * Not here: which facts a cluster or an event contributes
 * (merge_cluster.c decides when, mg_emit_cluster() what).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/util.h"
#include "server/merge_int.h"

/* ---- which dimensions each metric keeps ---------------------------------- */

int
merge_metric_has_dim(int metric, int dim)
{
    switch (metric) {
    case MERGE_M_REGISTERED:
    case MERGE_M_TRAINEES: return dim >= MERGE_D_PROVINCE && dim <= MERGE_D_HOME;
    case MERGE_M_ATTENDANCES: return dim >= MERGE_D_PROVINCE && dim <= MERGE_D_KIND;
    case MERGE_M_EVENTS:
        return (dim >= MERGE_D_PROVINCE && dim <= MERGE_D_PROGRAMME) || dim == MERGE_D_KIND;
    default: return 0;
    }
}

int
merge_metric_keeps_grain(int metric, int grain)
{
    return grain == RZ_GRAIN_MONTH || grain == MERGE_GRAIN_ALL || metric == MERGE_M_TRAINEES;
}

int
merge_dim_is_place(int dim)
{
    return dim == MERGE_D_PROVINCE || dim == MERGE_D_DISTRICT || dim == MERGE_D_PROGRAMME;
}

int
merge_dim_is_text(int dim)
{
    return dim == MERGE_D_PROVINCE || dim == MERGE_D_DISTRICT || dim == MERGE_D_HOME;
}

/* ---- pending deltas: hash map, interned text ------------------------------ */

static uint64_t
key_hash(const mg_key *k)
{
    uint64_t h = (uint64_t)k->metric | (uint64_t)k->grain << 8 | (uint64_t)k->d1 << 16 |
                 (uint64_t)k->d2 << 24 | (uint64_t)k->period << 32;
    h ^= (uint64_t)k->v1 * 0x9e3779b97f4a7c15ull;
    h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ull;
    h ^= (uint64_t)k->v2 * 0xc2b2ae3d27d4eb4full;
    h = (h ^ (h >> 32)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

static void map_add(mg_map *mp, const mg_key *k, int64_t n);

static void
map_grow(mg_map *mp)
{
    mg_cell *old = mp->cells;
    size_t i, oldcap = mp->cap;
    mp->cap = oldcap ? oldcap * 2 : 4096;
    mp->cells = xcalloc(mp->cap, sizeof *mp->cells);
    mp->count = 0;
    for (i = 0; i < oldcap; i++)
        if (old[i].k.metric)
            map_add(mp, &old[i].k, old[i].n);
    free(old);
}

/* Room for `more` new cells without growing (keeps slots stable). */
static void
map_reserve(mg_map *mp, size_t more)
{
    while ((mp->count + more) * 10 > mp->cap * 7)
        map_grow(mp);
}

static int
key_equal(const mg_key *a, const mg_key *b)
{
    return a->metric == b->metric && a->grain == b->grain && a->d1 == b->d1 && a->d2 == b->d2 &&
           a->period == b->period && a->v1 == b->v1 && a->v2 == b->v2;
}

/* Adds n to the cell of k, probing from the slot of hash h; the caller
 * made room (map_reserve). */
static void
map_add_hashed(mg_map *mp, const mg_key *k, uint64_t h, int64_t n)
{
    size_t i;
    for (i = h & (mp->cap - 1);; i = (i + 1) & (mp->cap - 1)) {
        mg_cell *c = &mp->cells[i];
        if (!c->k.metric) {
            c->k = *k, c->n = n;
            mp->count++;
            return;
        }
        if (key_equal(&c->k, k)) {
            c->n += n;
            return;
        }
    }
}

static void
map_add(mg_map *mp, const mg_key *k, int64_t n)
{
    map_reserve(mp, 1);
    map_add_hashed(mp, k, key_hash(k), n);
}

static void
map_clear(mg_map *mp)
{
    if (mp->cells)
        memset(mp->cells, 0, mp->cap * sizeof *mp->cells);
    mp->count = 0;
}

static uint64_t
text_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static void
intern_reset(mg_intern *t)
{
    size_t i;
    for (i = 1; i < t->n; i++)
        free(t->str[i]);
    free(t->str);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static void intern_insert_slot(mg_intern *t, uint32_t id);

static void
intern_grow(mg_intern *t)
{
    size_t i;
    free(t->slots);
    t->nslots = t->nslots ? t->nslots * 2 : 256;
    t->slots = xcalloc(t->nslots, sizeof *t->slots);
    for (i = 1; i < t->n; i++)
        intern_insert_slot(t, (uint32_t)i);
}

static void
intern_insert_slot(mg_intern *t, uint32_t id)
{
    size_t i = text_hash(t->str[id]) & (t->nslots - 1);
    while (t->slots[i])
        i = (i + 1) & (t->nslots - 1);
    t->slots[i] = id;
}

/* Id of text s ("" is 0); ids live until intern_reset. */
static int64_t
intern(mg_intern *t, const char *s)
{
    size_t i;
    if (!*s)
        return 0;
    if (t->n == 0) {
        t->cap = 64;
        t->str = xcalloc(t->cap, sizeof *t->str);
        t->str[0] = NULL;
        t->n = 1;
    }
    if ((t->n + 1) * 2 > t->nslots)
        intern_grow(t);
    for (i = text_hash(s) & (t->nslots - 1); t->slots[i]; i = (i + 1) & (t->nslots - 1))
        if (strcmp(t->str[t->slots[i]], s) == 0)
            return t->slots[i];
    if (t->n == t->cap) {
        t->cap *= 2;
        t->str = xrealloc(t->str, t->cap * sizeof *t->str);
    }
    t->str[t->n] = xstrdup(s);
    t->slots[i] = (uint32_t)t->n;
    return (int64_t)t->n++;
}

static const char *
intern_text(const mg_intern *t, int64_t id)
{
    return id > 0 && (size_t)id < t->n ? t->str[id] : "";
}

/* ---- emitting contributions --------------------------------------------- */

/* Stored dimensions of each metric.  Province, district and programme are
 * not among them: they are functions of the centre, so the query layer sums
 * centre counters through the centre table (merge.h).  That halves the
 * counters an attendance touches. */
static const uint8_t mg_person_dims[] = {
    MERGE_D_CENTRE, MERGE_D_GENDER, MERGE_D_AGE, MERGE_D_AREA, MERGE_D_SKILL, MERGE_D_HOME, 0};
static const uint8_t mg_att_dims[] = {MERGE_D_CENTRE, MERGE_D_GENDER, MERGE_D_AGE,  MERGE_D_AREA,
                                      MERGE_D_SKILL,  MERGE_D_HOME,   MERGE_D_KIND, 0};
static const uint8_t mg_event_dims[] = {MERGE_D_CENTRE, MERGE_D_KIND, 0};

static const uint8_t *
metric_dims(int metric)
{
    return metric == MERGE_M_EVENTS        ? mg_event_dims
           : metric == MERGE_M_ATTENDANCES ? mg_att_dims
                                           : mg_person_dims;
}

/* 1 when the combination of dimensions d1, d2 (0: none) is among `combos`
 * (enum MG_COMBOS_*). */
static int
combo_wanted(int combos, int d1, int d2)
{
    int age = d1 == MERGE_D_AGE || d2 == MERGE_D_AGE;
    int centre = d1 == MERGE_D_CENTRE || d2 == MERGE_D_CENTRE;
    return !((combos & MG_COMBOS_AGE && !age) || (combos & MG_COMBOS_NO_AGE && age) ||
             (combos & MG_COMBOS_CENTRE && !centre) || (combos & MG_COMBOS_NO_CENTRE && centre));
}

/* Adds delta to the national, every single-dimension and every pair
 * counter of one fact (or only the combinations `combos` selects); v[d]
 * holds the fact's value of dimension d; grain is a grain or a tag. */
void
mg_emit(merge_ctx *m, int metric, int grain, uint32_t period, const int64_t *v, int64_t delta,
        int combos)
{
    const uint8_t *dims = metric_dims(metric);
    mg_key base, k[MG_EMIT_MAX];
    uint64_t h[MG_EMIT_MAX];
    size_t i, j, n = 0;
    if (delta == 0)
        return;
    memset(&base, 0, sizeof base);
    base.metric = (uint8_t)metric;
    base.grain = (uint8_t)grain;
    base.period = period;
    if (combo_wanted(combos, 0, 0))
        k[n++] = base;
    for (i = 0; dims[i]; i++) {
        mg_key one = base;
        one.d1 = dims[i], one.v1 = v[dims[i]];
        if (combo_wanted(combos, dims[i], 0))
            k[n++] = one;
        for (j = i + 1; dims[j]; j++) {
            if (!combo_wanted(combos, dims[i], dims[j]))
                continue;
            k[n] = one;
            k[n].d2 = dims[j], k[n].v2 = v[dims[j]];
            n++;
        }
    }
    /* The counters are scattered over a map larger than the CPU caches:
     * fetch all their slots first so the misses overlap, then add. */
    map_reserve(&m->deltas, n);
    for (i = 0; i < n; i++) {
        h[i] = key_hash(&k[i]);
        __builtin_prefetch(&m->deltas.cells[h[i] & (m->deltas.cap - 1)], 1);
    }
    for (i = 0; i < n; i++)
        map_add_hashed(&m->deltas, &k[i], h[i], delta);
}

/* Dimension values of a cluster (age and kind are set per fact). */
void
mg_prof_dims(merge_ctx *m, const mg_prof *p, int64_t v[MERGE_D_MAX + 1])
{
    memset(v, 0, (MERGE_D_MAX + 1) * sizeof *v);
    v[MERGE_D_CENTRE] = p->centre_id;
    v[MERGE_D_GENDER] = p->gender;
    v[MERGE_D_AREA] = p->area;
    v[MERGE_D_SKILL] = p->skill;
    v[MERGE_D_HOME] = intern(&m->text, p->home);
}

int64_t
mg_age_in(uint32_t year, const mg_prof *p)
{
    return year ? age_band((int)year, p->birth_year) : RZ_AGE_UNKNOWN;
}

/* One person fact in one grain: age is the period's year minus the birth
 * year, and for all time the registration year's. */
void
mg_emit_person_fact(merge_ctx *m, int metric, int grain, int64_t day, const mg_prof *p, int64_t *v,
                    int64_t delta, int combos)
{
    uint32_t year = grain == MERGE_GRAIN_ALL ? mg_year_of(p->reg_date) : mg_year_of(day);
    v[MERGE_D_AGE] = mg_age_in(year, p);
    mg_emit(m, metric, grain, mg_period_of(day, grain), v, delta, combos);
}

/* A registration: its age is the registration year's in every grain. */
static void
emit_registration(merge_ctx *m, const mg_prof *p, int64_t *v, int64_t delta)
{
    v[MERGE_D_AGE] = mg_age_in(mg_year_of(p->reg_date), p);
    mg_emit(m, MERGE_M_REGISTERED, MG_TAG_MA, mg_period_of(p->reg_date, RZ_GRAIN_MONTH), v, delta,
            MG_COMBOS_ALL);
}

/* Counted attendances on one day (v[KIND] set): the age is the event
 * year's in its month (and so in the quarter and year they add up to), the
 * registration year's all time. */
void
mg_emit_attendances(merge_ctx *m, int64_t day, const mg_prof *p, int64_t *v, int64_t delta)
{
    uint32_t month = mg_period_of(day, RZ_GRAIN_MONTH);
    mg_emit(m, MERGE_M_ATTENDANCES, MG_TAG_MA, month, v, delta, MG_COMBOS_NO_AGE);
    v[MERGE_D_AGE] = mg_age_in(mg_year_of(day), p);
    mg_emit(m, MERGE_M_ATTENDANCES, RZ_GRAIN_MONTH, month, v, delta, MG_COMBOS_AGE);
    v[MERGE_D_AGE] = mg_age_in(mg_year_of(p->reg_date), p);
    mg_emit(m, MERGE_M_ATTENDANCES, MERGE_GRAIN_ALL, 0, v, delta, MG_COMBOS_AGE);
}

/* 1 when bucket i is the first of its period in grain g (all time: the
 * first of all) -- and, with `centre`, the first at its centre. */
static int
first_of_period(const mg_catts *rows, size_t i, int g, int centre)
{
    size_t j = i;
    /* Rows are sorted by day, so each grain's periods come in runs. */
    while (j > 0 && mg_period_of(rows->v[j - 1].day, g) == mg_period_of(rows->v[i].day, g)) {
        j--;
        if (!centre || rows->v[j].centre == rows->v[i].centre)
            return 0;
    }
    return 1;
}

/* Adds sign times the whole contribution of a cluster: its registration
 * (at its place), its counted attendances (each at its event's centre) and
 * its trainee presence per period, nationally and at each centre that
 * trained it. */
void
mg_emit_cluster(merge_ctx *m, const mg_prof *p, const mg_catts *rows, int64_t sign)
{
    int64_t v[MERGE_D_MAX + 1];
    size_t i;
    int g, at;
    mg_prof_dims(m, p, v);
    emit_registration(m, p, v, sign);
    for (i = 0; i < rows->n; i++) {
        v[MERGE_D_CENTRE] = rows->v[i].centre;
        v[MERGE_D_KIND] = rows->v[i].kind;
        mg_emit_attendances(m, rows->v[i].day, p, v, sign * rows->v[i].n);
    }
    v[MERGE_D_KIND] = 0;
    for (at = 0; at < 2; at++)
        for (g = RZ_GRAIN_MONTH; g <= MERGE_GRAIN_ALL; g++)
            for (i = 0; i < rows->n; i++) {
                if (!first_of_period(rows, i, g, at))
                    continue;
                v[MERGE_D_CENTRE] = rows->v[i].centre;
                mg_emit_person_fact(m, MERGE_M_TRAINEES, g, rows->v[i].day, p, v, sign,
                                    at ? MG_COMBOS_CENTRE : MG_COMBOS_NO_CENTRE);
            }
}

void
mg_emit_event(merge_ctx *m, const mg_evfacts *f, int64_t sign)
{
    int64_t v[MERGE_D_MAX + 1];
    if (!f->live)
        return;
    memset(v, 0, sizeof v);
    v[MERGE_D_CENTRE] = f->centre_id;
    v[MERGE_D_KIND] = f->kind;
    mg_emit(m, MERGE_M_EVENTS, MG_TAG_MA, mg_period_of(f->day, RZ_GRAIN_MONTH), v, sign,
            MG_COMBOS_ALL);
}

/* ---- flush ------------------------------------------------------------------- */

static int
key_cmp(const void *a, const void *b)
{
    const mg_key *x = &((const mg_cell *)a)->k, *y = &((const mg_cell *)b)->k;
    if (x->metric != y->metric)
        return x->metric < y->metric ? -1 : 1;
    if (x->grain != y->grain)
        return x->grain < y->grain ? -1 : 1;
    if (x->period != y->period)
        return x->period < y->period ? -1 : 1;
    if (x->d1 != y->d1)
        return x->d1 < y->d1 ? -1 : 1;
    if (x->d2 != y->d2)
        return x->d2 < y->d2 ? -1 : 1;
    if (x->v1 != y->v1)
        return x->v1 < y->v1 ? -1 : 1;
    return x->v2 < y->v2 ? -1 : x->v2 > y->v2;
}

static void
bind_dim_value(merge_ctx *m, sqlite3_stmt *st, int col, int dim, int64_t v)
{
    if (merge_dim_is_text(dim))
        sqlite3_bind_text(st, col, intern_text(&m->text, v), -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, col, v);
}

static void
bind_counter(merge_ctx *m, sqlite3_stmt *st, const mg_key *k)
{
    sqlite3_bind_int(st, 1, k->metric);
    sqlite3_bind_int(st, 2, k->grain);
    sqlite3_bind_int64(st, 3, k->period);
    sqlite3_bind_int(st, 4, k->d1);
    sqlite3_bind_int(st, 5, k->d2);
    bind_dim_value(m, st, 6, k->d1, k->v1);
    bind_dim_value(m, st, 7, k->d2, k->v2);
}

static int
flush_one(merge_ctx *m, const mg_cell *c, rz_error *err)
{
    sqlite3_stmt *up = m->st[MS_T_UPSERT], *del = m->st[MS_T_DELZERO];
    int rc;
    bind_counter(m, up, &c->k);
    sqlite3_bind_int64(up, 8, c->n);
    if ((rc = mg_exec(m, up, err, "totals write")) || c->n > 0)
        return rc;
    /* A counter back at zero is as if it never existed (rebuild equality);
     * only a negative delta can bring it there. */
    bind_counter(m, del, &c->k);
    return mg_exec(m, del, err, "totals write");
}

/* Turns one pending cell into the counters it stands for. */
static void
flush_expand(merge_ctx *m, const mg_cell *c)
{
    mg_key k = c->k;
    uint32_t month = k.period;
    if (k.grain <= MERGE_GRAIN_ALL) {
        map_add(&m->final, &k, c->n);
        return;
    }
    k.grain = RZ_GRAIN_MONTH;
    map_add(&m->final, &k, c->n);
    if (c->k.grain == MG_TAG_MA) {
        k.grain = MERGE_GRAIN_ALL;
        k.period = 0;
        map_add(&m->final, &k, c->n);
        return;
    }
    k.grain = RZ_GRAIN_QUARTER;
    k.period = month ? month / 100 * 10 + (month % 100 - 1) / 3 + 1 : 0;
    map_add(&m->final, &k, c->n);
    k.grain = RZ_GRAIN_YEAR;
    k.period = month / 100;
    map_add(&m->final, &k, c->n);
}

int
mg_counters_write(merge_ctx *m, rz_error *err)
{
    mg_map *mp = &m->final;
    size_t i, n = 0;
    int rc = 0;
    if (m->deltas.count == 0)
        return 0;
    for (i = 0; i < m->deltas.cap; i++)
        if (m->deltas.cells[i].k.metric && m->deltas.cells[i].n != 0)
            flush_expand(m, &m->deltas.cells[i]);
    map_clear(&m->deltas);
    /* Compact the non-zero counters to the front and write them in key
     * order, which keeps B-tree pages local. */
    for (i = 0; i < mp->cap; i++)
        if (mp->cells[i].k.metric && mp->cells[i].n != 0)
            mp->cells[n++] = mp->cells[i];
    qsort(mp->cells, n, sizeof *mp->cells, key_cmp);
    for (i = 0; rc == 0 && i < n; i++)
        rc = flush_one(m, &mp->cells[i], err);
    map_clear(mp);
    if (m->text.n > MG_TEXT_RESET) {
        /* Free-text districts of residence are unbounded: start afresh
         * now that no pending counter refers to an interned id. */
        intern_reset(&m->text);
    }
    return rc;
}

void
mg_counters_discard(merge_ctx *m)
{
    map_clear(&m->deltas);
    map_clear(&m->final);
    intern_reset(&m->text);
}

void
mg_counters_free(merge_ctx *m)
{
    free(m->deltas.cells);
    free(m->final.cells);
    intern_reset(&m->text);
}
