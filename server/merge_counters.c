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
#include <pthread.h>
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
merge_dim_via_centre(int metric, int dim)
{
    return merge_dim_is_place(dim) && metric != MERGE_M_TRAINEES;
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
    uint64_t h = k->h ^ (uint64_t)k->v1 * 0x9e3779b97f4a7c15ull;
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
        if (old[i].k.h)
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

/* Adds n to the cell of k, probing from the slot of hash h; the caller
 * made room (map_reserve). */
static void
map_add_hashed(mg_map *mp, const mg_key *k, uint64_t h, int64_t n)
{
    size_t i;
    for (i = h & (mp->cap - 1);; i = (i + 1) & (mp->cap - 1)) {
        mg_cell *c = &mp->cells[i];
        if (!c->k.h) {
            c->k = *k, c->n = n;
            mp->count++;
            return;
        }
        if (c->k.h == k->h && c->k.v1 == k->v1 && c->k.v2 == k->v2) {
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
    return combos == MG_COMBOS_ALL || age == (combos == MG_COMBOS_AGE);
}

/* The counters of one fact, listed once per (metric, combos): the
 * dimension bits of each key and which values it takes. */
typedef struct mg_combo {
    uint64_t h;     /* MG_H(0, 0, d1, d2, 0) */
    uint8_t d1, d2; /* dimensions (0: none, whose value is 0) */
} mg_combo;

typedef struct mg_combo_list {
    mg_combo v[MG_EMIT_MAX];
    size_t n;
} mg_combo_list;

static mg_combo_list combo_tab[MERGE_M_MAX + 1][MG_COMBOS_NO_AGE + 1];
static pthread_once_t combo_once = PTHREAD_ONCE_INIT;

static void
combo_push(mg_combo_list *l, int d1, int d2)
{
    l->v[l->n].h = MG_H(0, 0, d1, d2, 0);
    l->v[l->n].d1 = (uint8_t)d1, l->v[l->n].d2 = (uint8_t)d2;
    l->n++;
}

/* The national counter, every single dimension and every pair, in the
 * order of the dimension lists. */
static void
combo_init(void)
{
    int metric, combos;
    size_t i, j;
    for (metric = 1; metric <= MERGE_M_MAX; metric++)
        for (combos = 0; combos <= MG_COMBOS_NO_AGE; combos++) {
            const uint8_t *dims = metric_dims(metric);
            mg_combo_list *l = &combo_tab[metric][combos];
            if (combo_wanted(combos, 0, 0))
                combo_push(l, 0, 0);
            for (i = 0; dims[i]; i++) {
                if (combo_wanted(combos, dims[i], 0))
                    combo_push(l, dims[i], 0);
                for (j = i + 1; dims[j]; j++)
                    if (combo_wanted(combos, dims[i], dims[j]))
                        combo_push(l, dims[i], dims[j]);
            }
        }
}

/* Adds delta to the national, every single-dimension and every pair
 * counter of one fact (or only the combinations `combos` selects); v[d]
 * holds the fact's value of dimension d; grain is a grain or a tag. */
void
mg_emit(merge_ctx *m, int metric, int grain, uint32_t period, const int64_t *v, int64_t delta,
        int combos)
{
    const mg_combo_list *l;
    int64_t val[MERGE_D_MAX + 1];
    mg_key k[MG_EMIT_MAX];
    uint64_t h[MG_EMIT_MAX], base;
    size_t i, n;
    if (delta == 0)
        return;
    pthread_once(&combo_once, combo_init);
    l = &combo_tab[metric][combos];
    n = l->n;
    memcpy(val, v, sizeof val);
    val[MERGE_D_NONE] = 0;
    base = MG_H(metric, grain, 0, 0, period > MERGE_K_PERIOD_MAX ? MERGE_K_PERIOD_MAX : period);
    /* The counters are scattered over a map larger than the CPU caches:
     * fetch all their slots first so the misses overlap, then add. */
    map_reserve(&m->deltas, n);
    for (i = 0; i < n; i++) {
        k[i].h = base | l->v[i].h;
        k[i].v1 = val[l->v[i].d1];
        k[i].v2 = val[l->v[i].d2];
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
static void
emit_attendance_fact(merge_ctx *m, const mg_fact *f)
{
    int64_t v[MERGE_D_MAX + 1];
    memset(v, 0, sizeof v);
    v[MERGE_D_CENTRE] = f->v[1];
    v[MERGE_D_GENDER] = f->v[2];
    v[MERGE_D_AREA] = f->v[3];
    v[MERGE_D_SKILL] = f->v[4];
    v[MERGE_D_HOME] = f->v[5];
    v[MERGE_D_KIND] = f->v[6];
    mg_emit(m, MERGE_M_ATTENDANCES, MG_TAG_MA, (uint32_t)f->v[0], v, f->n, MG_COMBOS_NO_AGE);
    v[MERGE_D_AGE] = f->v[7];
    mg_emit(m, MERGE_M_ATTENDANCES, RZ_GRAIN_MONTH, (uint32_t)f->v[0], v, f->n, MG_COMBOS_AGE);
    v[MERGE_D_AGE] = f->v[8];
    mg_emit(m, MERGE_M_ATTENDANCES, MERGE_GRAIN_ALL, 0, v, f->n, MG_COMBOS_AGE);
}

/* Turns the gathered attendance facts into counter deltas. */
static void
facts_spill(merge_ctx *m)
{
    size_t i;
    if (m->facts.count == 0)
        return;
    for (i = 0; i < m->facts.cap; i++)
        if (m->facts.cells[i].used && m->facts.cells[i].n != 0)
            emit_attendance_fact(m, &m->facts.cells[i]);
    memset(m->facts.cells, 0, m->facts.cap * sizeof *m->facts.cells);
    m->facts.count = 0;
}

static uint64_t
fact_hash(const int64_t *v)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    size_t i;
    for (i = 0; i < MG_FACT_VALS; i++)
        h = (h ^ (uint64_t)v[i]) * 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 31);
}

static void fact_add(mg_facts *fs, const int64_t *v, int64_t n);

static void
facts_grow(mg_facts *fs)
{
    mg_fact *old = fs->cells;
    size_t i, oldcap = fs->cap;
    fs->cap = oldcap ? oldcap * 2 : 4096;
    fs->cells = xcalloc(fs->cap, sizeof *fs->cells);
    fs->count = 0;
    for (i = 0; i < oldcap; i++)
        if (old[i].used)
            fact_add(fs, old[i].v, old[i].n);
    free(old);
}

static void
fact_add(mg_facts *fs, const int64_t *v, int64_t n)
{
    size_t i;
    if ((fs->count + 1) * 10 > fs->cap * 7)
        facts_grow(fs);
    for (i = fact_hash(v) & (fs->cap - 1);; i = (i + 1) & (fs->cap - 1)) {
        mg_fact *c = &fs->cells[i];
        if (!c->used) {
            memcpy(c->v, v, sizeof c->v);
            c->n = n, c->used = 1;
            fs->count++;
            return;
        }
        if (memcmp(c->v, v, sizeof c->v) == 0) {
            c->n += n;
            return;
        }
    }
}

/* Counted attendances on one day (v[KIND] set): the age is the event
 * year's in its month (and so in the quarter and year they add up to), the
 * registration year's all time.  Gathered by fact (mg_facts) and turned
 * into counters at the latest when the counters are written. */
void
mg_emit_attendances(merge_ctx *m, int64_t day, const mg_prof *p, int64_t *v, int64_t delta)
{
    int64_t f[MG_FACT_VALS];
    if (delta == 0)
        return;
    f[0] = mg_period_of(day, RZ_GRAIN_MONTH);
    f[1] = v[MERGE_D_CENTRE];
    f[2] = v[MERGE_D_GENDER];
    f[3] = v[MERGE_D_AREA];
    f[4] = v[MERGE_D_SKILL];
    f[5] = v[MERGE_D_HOME];
    f[6] = v[MERGE_D_KIND];
    f[7] = mg_age_in(mg_year_of(day), p);
    f[8] = v[MERGE_D_AGE] = mg_age_in(mg_year_of(p->reg_date), p);
    fact_add(&m->facts, f, delta);
    /* Bounded memory: past MG_FACTS_SPILL facts become deltas, which
     * merge_entry's MG_FLUSH_AT bound covers. */
    if (m->facts.count >= MG_FACTS_SPILL)
        facts_spill(m);
}

/* ---- trainees: unique persons per counter ------------------------------------- */

/* Trainees are kept by every dimension, the place ones included, and a
 * person counts once in each counter cell: a cell's count is the number of
 * clusters with at least one bucket that maps to it.  Two buckets of a
 * cluster map to the same cell of a combination of dimensions (d1, d2) in a
 * grain when they share the period and the values of the place dimensions
 * among d1, d2 (the person's own dimensions are the same for every bucket;
 * the age follows the period's year). */
static const uint8_t mg_trainee_dims[] = {
    MERGE_D_PROVINCE, MERGE_D_DISTRICT, MERGE_D_CENTRE, MERGE_D_PROGRAMME, MERGE_D_GENDER,
    MERGE_D_AGE,      MERGE_D_AREA,     MERGE_D_SKILL,  MERGE_D_HOME,      0};

/* Index of a place dimension in an mg_pl-like row of four values, -1 for
 * the others. */
static int
place_slot(int dim)
{
    switch (dim) {
    case MERGE_D_PROVINCE: return 0;
    case MERGE_D_DISTRICT: return 1;
    case MERGE_D_CENTRE: return 2;
    case MERGE_D_PROGRAMME: return 3;
    default: return -1;
    }
}

#define MG_PLACE_SQL "SELECT province, district, programme FROM centre WHERE centre_id = ?1"

int
merge_place_read(sqlite3 *db, sqlite3_stmt **st, int64_t centre_id, merge_place *out, rz_error *err)
{
    int step, rc;
    memset(out, 0, sizeof *out);
    if (!*st && (rc = rz_db_prepare(db, st, MG_PLACE_SQL, err)))
        return rc;
    sqlite3_bind_int64(*st, 1, centre_id);
    step = sqlite3_step(*st);
    if (step == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_text(*st, 0);
        const unsigned char *d = sqlite3_column_text(*st, 1);
        snprintf(out->province, sizeof out->province, "%s", p ? (const char *)p : "");
        snprintf(out->district, sizeof out->district, "%s", d ? (const char *)d : "");
        out->programme = sqlite3_column_int64(*st, 2);
    }
    sqlite3_reset(*st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : rz_db_fail(db, err, "centre place");
}

static int
place_default(merge_ctx *m, int64_t centre_id, merge_place *out, rz_error *err)
{
    memset(out, 0, sizeof *out);
    if (m->place_none)
        return 0;
    if (!m->place_st &&
        sqlite3_prepare_v2(m->db, MG_PLACE_SQL, -1, &m->place_st, NULL) != SQLITE_OK) {
        m->place_none = 1; /* no register here: places unknown */
        return 0;
    }
    return merge_place_read(m->db, &m->place_st, centre_id, out, err);
}

/* The place values of a centre: province, district, centre, programme. */
static int
place_of(merge_ctx *m, int64_t centre_id, int64_t out[4], rz_error *err)
{
    mg_pl *c = &m->pl[(uint64_t)centre_id * 0x9e3779b97f4a7c15ull >> 54 & (MG_PL_CACHE - 1)];
    int rc;
    if (!c->valid || c->centre_id != centre_id) {
        merge_place p;
        rc = m->place_fn ? m->place_fn(m->place_arg, centre_id, &p, err)
                         : place_default(m, centre_id, &p, err);
        if (rc)
            return rc;
        p.province[MERGE_PLACE_MAX] = p.district[MERGE_PLACE_MAX] = '\0';
        c->valid = 1;
        c->centre_id = centre_id;
        c->province = intern(&m->text, p.province);
        c->district = intern(&m->text, p.district);
        c->programme = p.programme;
    }
    out[0] = c->province, out[1] = c->district, out[2] = centre_id, out[3] = c->programme;
    return 0;
}

void
mg_places_clear(merge_ctx *m)
{
    size_t i;
    for (i = 0; i < MG_PL_CACHE; i++)
        m->pl[i].valid = 0;
}

/* Place values of every bucket of rows into m->rowpl. */
static int
rows_places(merge_ctx *m, const mg_catts *rows, rz_error *err)
{
    size_t i;
    int rc;
    if (rows->n > m->rowpl_cap) {
        m->rowpl_cap = rows->n * 2;
        m->rowpl = xrealloc(m->rowpl, m->rowpl_cap * sizeof *m->rowpl);
    }
    for (i = 0; i < rows->n; i++)
        if ((rc = place_of(m, rows->v[i].centre, m->rowpl[i], err)))
            return rc;
    return 0;
}

/* Adds delta to one trainee counter (grain a grain or MG_TAG_MQY). */
static void
emit_one(merge_ctx *m, int grain, uint32_t period, int d1, int d2, const int64_t *v, int64_t delta)
{
    mg_key k;
    if (period > MERGE_K_PERIOD_MAX)
        period = MERGE_K_PERIOD_MAX;
    k.h = MG_H(MERGE_M_TRAINEES, grain, d1, d2, period);
    k.v1 = d1 ? v[d1] : 0, k.v2 = d2 ? v[d2] : 0;
    map_add(&m->deltas, &k, delta);
}

/* The trainee cell values of bucket place pl: the person's dimensions, the
 * place and the age in `year`. */
static void
trainee_values(merge_ctx *m, const mg_prof *p, const int64_t *pl, uint32_t year, int64_t *v)
{
    mg_prof_dims(m, p, v);
    v[MERGE_D_PROVINCE] = pl[0];
    v[MERGE_D_DISTRICT] = pl[1];
    v[MERGE_D_CENTRE] = pl[2];
    v[MERGE_D_PROGRAMME] = pl[3];
    v[MERGE_D_AGE] = mg_age_in(year, p);
}

/* Bit of a place dimension's slot (place_slot), 0 for the others. */
static unsigned
place_bit(int dim)
{
    int s = place_slot(dim);
    return s < 0 ? 0u : 1u << s;
}

/* The trainee cells that a bucket at (centre, day) adding `delta`
 * attendances to a cluster whose buckets are `rows` makes cross zero;
 * each such cell gets `sign` times its change.
 *
 * Whether a cell of dimensions (d1, d2) in a grain was reached before
 * depends only on the grain and on which place values (province, district,
 * centre, programme) among d1, d2 a bucket must share with b: at most 11
 * such sets for the 46 cells.  So each bucket is compared with b once, and
 * its count added to every set of place values it shares with b. */
static int
trainee_cells(merge_ctx *m, const mg_prof *p, const mg_catts *rows, const mg_catt *b, int64_t delta,
              int64_t sign, rz_error *err)
{
    int64_t bpl[4], v[MERGE_D_MAX + 1], va[MERGE_D_MAX + 1], finest = 0;
    int64_t before[16][MERGE_GRAIN_ALL + 1], flip[16][MERGE_GRAIN_ALL + 1];
    uint32_t bper[MERGE_GRAIN_ALL + 1], byear = mg_year_of(b->day);
    size_t i, j, r;
    unsigned s;
    int g, rc;
    if (delta == 0)
        return 0;
    /* The finest cell is (month, centre): every other cell holds it.  If it
     * stays reached (before and after), no cell crosses zero -- the common
     * case of a person's second attendance in a month at one centre. */
    for (r = 0; r < rows->n; r++)
        if (rows->v[r].centre == b->centre && rows->v[r].day / 100 == b->day / 100 &&
            mg_year_of(rows->v[r].day) == byear)
            finest += rows->v[r].n;
    if (finest > 0 && finest + delta > 0)
        return 0;
    if ((rc = rows_places(m, rows, err)) || (rc = place_of(m, b->centre, bpl, err)))
        return rc;
    for (g = RZ_GRAIN_MONTH; g <= MERGE_GRAIN_ALL; g++)
        bper[g] = mg_period_of(b->day, g);
    memset(before, 0, sizeof before);
    for (r = 0; r < rows->n; r++) {
        const mg_catt *row = &rows->v[r];
        int64_t add[MERGE_GRAIN_ALL + 1] = {0};
        unsigned eq = 0;
        for (i = 0; i < 4; i++)
            eq |= (unsigned)(m->rowpl[r][i] == bpl[i]) << i;
        add[MERGE_GRAIN_ALL] = row->n;
        if (mg_year_of(row->day) == byear) /* day 0 is its own "year" */
            for (g = RZ_GRAIN_MONTH; g <= RZ_GRAIN_YEAR; g++)
                if (mg_period_of(row->day, g) == bper[g])
                    add[g] = row->n;
        /* Every subset of the shared place values, eq itself down to none. */
        for (s = eq;; s = (s - 1) & eq) {
            for (g = RZ_GRAIN_MONTH; g <= MERGE_GRAIN_ALL; g++)
                before[s][g] += add[g];
            if (s == 0)
                break;
        }
    }
    for (s = 0; s < 16; s++)
        for (g = RZ_GRAIN_MONTH; g <= MERGE_GRAIN_ALL; g++)
            flip[s][g] = sign * ((before[s][g] + delta > 0) - (before[s][g] > 0));
    trainee_values(m, p, bpl, byear, v);
    memcpy(va, v, sizeof va);
    va[MERGE_D_AGE] = mg_age_in(mg_year_of(p->reg_date), p);
    /* (d1, d2) over the national cell, each dimension, each pair. */
    for (i = 0; i == 0 || mg_trainee_dims[i - 1]; i++)
        for (j = i; j == i || (i > 0 && mg_trainee_dims[j - 1]); j++) {
            int d1 = i ? mg_trainee_dims[i - 1] : 0, d2 = j > i ? mg_trainee_dims[j - 1] : 0;
            const int64_t *f = flip[place_bit(d1) | place_bit(d2)];
            int gm = RZ_GRAIN_MONTH;
            if (f[RZ_GRAIN_MONTH] && f[RZ_GRAIN_MONTH] == f[RZ_GRAIN_QUARTER] &&
                f[RZ_GRAIN_MONTH] == f[RZ_GRAIN_YEAR]) {
                /* First (or last) in the year: one cell for the three grains,
                 * which share the period's year and so the age. */
                emit_one(m, MG_TAG_MQY, bper[RZ_GRAIN_MONTH], d1, d2, v, f[RZ_GRAIN_MONTH]);
                gm = MERGE_GRAIN_ALL;
            }
            for (g = gm; g <= RZ_GRAIN_YEAR; g++)
                if (f[g])
                    emit_one(m, g, bper[g], d1, d2, v, f[g]);
            if (f[MERGE_GRAIN_ALL])
                emit_one(m, MERGE_GRAIN_ALL, 0, d1, d2, va, f[MERGE_GRAIN_ALL]);
        }
    return 0;
}

int
mg_emit_trainees(merge_ctx *m, const mg_prof *p, const mg_catts *rows, const mg_catt *b,
                 rz_error *err)
{
    return trainee_cells(m, p, rows, b, b->n, 1, err);
}

/* Adds sign times the whole contribution of a cluster: its registration
 * (at its place), its counted attendances (each at its event's centre) and
 * its presence as a trainee, built bucket by bucket: each bucket counts in
 * the cells no earlier bucket reached. */
int
mg_emit_cluster(merge_ctx *m, const mg_prof *p, const mg_catts *rows, int64_t sign, rz_error *err)
{
    int64_t v[MERGE_D_MAX + 1];
    mg_catts seen;
    size_t i;
    int rc = 0;
    mg_prof_dims(m, p, v);
    emit_registration(m, p, v, sign);
    for (i = 0; i < rows->n; i++) {
        v[MERGE_D_CENTRE] = rows->v[i].centre;
        v[MERGE_D_KIND] = rows->v[i].kind;
        mg_emit_attendances(m, rows->v[i].day, p, v, sign * rows->v[i].n);
    }
    seen.v = rows->v, seen.cap = rows->n;
    for (i = 0; rc == 0 && i < rows->n; i++) {
        seen.n = i;
        rc = trainee_cells(m, p, &seen, &rows->v[i], rows->v[i].n, sign, err);
    }
    return rc;
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

int64_t
merge_counter_key(int metric, int grain, int d1, int d2, uint32_t period, uint32_t f1, uint32_t f2)
{
    if (period > MERGE_K_PERIOD_MAX)
        period = MERGE_K_PERIOD_MAX;
    return (int64_t)((uint64_t)(metric & 7) << 60 | (uint64_t)(grain & 3) << 58 |
                     (uint64_t)(d1 & 15) << 54 | (uint64_t)(d2 & 15) << 50 |
                     (uint64_t)period << 30 | (uint64_t)(f1 & MERGE_K_VALUE_ESC) << 15 |
                     (uint64_t)(f2 & MERGE_K_VALUE_ESC));
}

uint32_t
merge_counter_key_period(int64_t k)
{
    return (uint32_t)((uint64_t)k >> 30 & MERGE_K_PERIOD_MAX);
}

/* The key field of value v of dimension dim; its text (a text value, or
 * the decimal form of an integer that does not fit the field) into t. */
static uint32_t
key_field(merge_ctx *m, int dim, int64_t v, const char **t, char num[24])
{
    *t = "";
    if (merge_dim_is_text(dim)) {
        *t = intern_text(&m->text, v);
        return 0;
    }
    if (v >= 0 && v < MERGE_K_VALUE_ESC)
        return (uint32_t)v;
    snprintf(num, 24, "%lld", (long long)v);
    *t = num;
    return MERGE_K_VALUE_ESC;
}

/* Binds the key of counter c to parameters at+1 (k), at+2 (t1) and at+3
 * (t2); c->k.h holds metric, grain, d1, d2 and period (MG_H). */
static void
bind_counter(merge_ctx *m, sqlite3_stmt *st, int at, const mg_cell *c)
{
    char n1[24], n2[24];
    const char *t1, *t2;
    uint64_t h = c->k.h;
    int d1 = MG_H_D1(h), d2 = MG_H_D2(h);
    uint32_t f1 = key_field(m, d1, c->k.v1, &t1, n1), f2 = key_field(m, d2, c->k.v2, &t2, n2);
    sqlite3_bind_int64(
        st, at + 1,
        merge_counter_key(MG_H_METRIC(h), MG_H_GRAIN(h), d1, d2, MG_H_PERIOD(h), f1, f2));
    /* Interned texts live until the flush ends; a number's text is ours. */
    sqlite3_bind_text(st, at + 2, t1, -1, t1 == n1 ? SQLITE_TRANSIENT : SQLITE_STATIC);
    sqlite3_bind_text(st, at + 3, t2, -1, t2 == n2 ? SQLITE_TRANSIENT : SQLITE_STATIC);
}

/* A counter back at zero is as if it never existed (rebuild equality);
 * only a negative delta can bring it there. */
static int
drop_if_zero(merge_ctx *m, const mg_cell *c, rz_error *err)
{
    if (c->n > 0)
        return 0;
    bind_counter(m, m->st[MS_T_DELZERO], 0, c);
    return mg_exec(m, m->st[MS_T_DELZERO], err, "totals write");
}

static int
flush_one(merge_ctx *m, const mg_cell *c, rz_error *err)
{
    sqlite3_stmt *up = m->st[MS_T_UPSERT];
    int rc;
    bind_counter(m, up, 0, c);
    sqlite3_bind_int64(up, 4, c->n);
    if ((rc = mg_exec(m, up, err, "totals write")))
        return rc;
    return drop_if_zero(m, c, err);
}

/* The upsert of MG_UPSERT_ROWS counters in one statement: a statement's
 * fixed cost (opening its cursor and transaction state, halting, reset) is
 * about a third of a one-row upsert, so a window's counters, written in key
 * order, go MG_UPSERT_ROWS at a time. */
static int
upsert_rows_prepare(merge_ctx *m, rz_error *err)
{
    char sql[96 + MG_UPSERT_ROWS * 12];
    size_t len, i;
    if (m->upsert_rows)
        return 0;
    len = (size_t)snprintf(sql, sizeof sql, "INSERT INTO counters(k, t1, t2, n) VALUES");
    for (i = 0; i < MG_UPSERT_ROWS; i++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, "%s(?,?,?,?)", i ? "," : "");
    snprintf(sql + len, sizeof sql - len,
             " ON CONFLICT(k, t1, t2) DO UPDATE SET n = n + excluded.n");
    return rz_db_prepare(m->db, &m->upsert_rows, sql, err);
}

/* Writes the n counters of c (distinct keys, each with its delta). */
static int
write_counters(merge_ctx *m, const mg_cell *c, size_t n, rz_error *err)
{
    size_t i = 0, r;
    int rc = 0;
    if (n >= MG_UPSERT_ROWS && (rc = upsert_rows_prepare(m, err)))
        return rc;
    for (; rc == 0 && i + MG_UPSERT_ROWS <= n; i += MG_UPSERT_ROWS) {
        for (r = 0; r < MG_UPSERT_ROWS; r++) {
            bind_counter(m, m->upsert_rows, (int)(4 * r), &c[i + r]);
            sqlite3_bind_int64(m->upsert_rows, (int)(4 * r + 4), c[i + r].n);
        }
        rc = mg_exec(m, m->upsert_rows, err, "totals write");
        for (r = 0; rc == 0 && r < MG_UPSERT_ROWS; r++)
            rc = drop_if_zero(m, &c[i + r], err);
    }
    for (; rc == 0 && i < n; i++)
        rc = flush_one(m, &c[i], err);
    return rc;
}

/* The sort field of a value: itself when it fits 15 bits (an interned id
 * for a text dimension), else the escape; equal fields are told apart by
 * the values themselves after the radix sort. */
static uint64_t
sort_field(int64_t v)
{
    return v >= 0 && v < MERGE_K_VALUE_ESC ? (uint64_t)v : MERGE_K_VALUE_ESC;
}

/* Appends counter (h, v1, v2) += n; h is MG_H of one grain (0..3); its
 * low 30 bits get the values' sort fields. */
static void
out_push(merge_ctx *m, uint64_t h, const mg_key *k, int64_t n)
{
    mg_cell *o;
    if (m->nout == m->capout) {
        m->capout = m->capout ? 2 * m->capout : 65536;
        m->out = xrealloc(m->out, m->capout * sizeof *m->out);
    }
    o = &m->out[m->nout++];
    o->k.h = h | sort_field(k->v1) << 15 | sort_field(k->v2);
    o->k.v1 = k->v1, o->k.v2 = k->v2;
    o->n = n;
}

/* Turns one pending cell into the counters it stands for. */
static void
flush_expand(merge_ctx *m, const mg_cell *c)
{
    uint64_t h = c->k.h, top = h & ~(MG_H(0, 7, 0, 0, MERGE_K_PERIOD_MAX));
    uint32_t month = MG_H_PERIOD(h);
    int grain = MG_H_GRAIN(h);
    if (grain <= MERGE_GRAIN_ALL) {
        out_push(m, h, &c->k, c->n);
        return;
    }
    out_push(m, top | MG_H(0, RZ_GRAIN_MONTH, 0, 0, month), &c->k, c->n);
    if (grain == MG_TAG_MA) {
        out_push(m, top | MG_H(0, MERGE_GRAIN_ALL, 0, 0, 0), &c->k, c->n);
        return;
    }
    out_push(m,
             top | MG_H(0, RZ_GRAIN_QUARTER, 0, 0,
                        month ? month / 100 * 10 + (month % 100 - 1) / 3 + 1 : 0),
             &c->k, c->n);
    out_push(m, top | MG_H(0, RZ_GRAIN_YEAR, 0, 0, month / 100), &c->k, c->n);
}

/* Sorts a[0..n) by k.h, a stable radix sort of eight byte-wide passes
 * (passes whose byte is the same in every key are skipped); tmp has room
 * for n.  Returns the buffer that holds the result (a or tmp). */
static mg_cell *
radix_sort(mg_cell *a, mg_cell *tmp, size_t n)
{
    size_t count[8][256], i, pos[256];
    int pass, d;
    memset(count, 0, sizeof count);
    for (i = 0; i < n; i++)
        for (pass = 0; pass < 8; pass++)
            count[pass][a[i].k.h >> (8 * pass) & 255]++;
    for (pass = 0; pass < 8; pass++) {
        size_t sum = 0;
        mg_cell *t;
        if (count[pass][a[0].k.h >> (8 * pass) & 255] == n)
            continue;
        for (d = 0; d < 256; d++)
            pos[d] = sum, sum += count[pass][d];
        for (i = 0; i < n; i++)
            tmp[pos[a[i].k.h >> (8 * pass) & 255]++] = a[i];
        t = a, a = tmp, tmp = t;
    }
    return a;
}

static int
value_cmp(const void *x, const void *y)
{
    const mg_key *a = &((const mg_cell *)x)->k, *b = &((const mg_cell *)y)->k;
    if (a->v1 != b->v1)
        return a->v1 < b->v1 ? -1 : 1;
    return a->v2 < b->v2 ? -1 : a->v2 > b->v2;
}

int
mg_counters_write(merge_ctx *m, rz_error *err)
{
    mg_cell *o;
    size_t i, j, n = 0;
    int rc = 0;
    facts_spill(m);
    if (m->deltas.count == 0)
        return 0;
    /* Expand each cell into its counters, sort them in key order (which
     * keeps B-tree pages local) and add up equal ones: a counter can be
     * reached by a tagged cell and a plain one. */
    m->nout = 0;
    for (i = 0; i < m->deltas.cap; i++)
        if (m->deltas.cells[i].k.h && m->deltas.cells[i].n != 0)
            flush_expand(m, &m->deltas.cells[i]);
    map_clear(&m->deltas);
    if (m->nout == 0)
        goto out;
    m->tmp = xrealloc(m->tmp, m->capout * sizeof *m->tmp);
    o = radix_sort(m->out, m->tmp, m->nout);
    if (o != m->out)
        m->tmp = m->out, m->out = o;
    for (i = 0; i < m->nout; i = j) {
        size_t r, e;
        int mixed = 0;
        /* A run of equal key fields: one counter reached by several cells
         * (a month of many tagged cells all time, a tagged and a plain
         * cell), or escaped values that only the values tell apart. */
        for (j = i + 1; j < m->nout && m->out[j].k.h == m->out[i].k.h; j++)
            mixed |= m->out[j].k.v1 != m->out[i].k.v1 || m->out[j].k.v2 != m->out[i].k.v2;
        if (mixed)
            qsort(&m->out[i], j - i, sizeof *m->out, value_cmp);
        for (r = i; r < j; r = e) {
            mg_cell c = m->out[r];
            for (e = r + 1; e < j && m->out[e].k.v1 == c.k.v1 && m->out[e].k.v2 == c.k.v2; e++)
                c.n += m->out[e].n;
            if (c.n != 0)
                m->out[n++] = c;
        }
    }
    rc = write_counters(m, m->out, n, err);
out:
    m->nout = 0;
    if (m->text.n > MG_TEXT_RESET) {
        /* Free-text districts of residence are unbounded: start afresh
         * now that no pending counter refers to an interned id (the place
         * cache holds such ids). */
        intern_reset(&m->text);
        mg_places_clear(m);
    }
    return rc;
}

void
mg_counters_discard(merge_ctx *m)
{
    map_clear(&m->deltas);
    if (m->facts.cells)
        memset(m->facts.cells, 0, m->facts.cap * sizeof *m->facts.cells);
    m->facts.count = 0;
    m->nout = 0;
    intern_reset(&m->text);
    mg_places_clear(m);
}

void
mg_counters_free(merge_ctx *m)
{
    free(m->deltas.cells);
    free(m->facts.cells);
    free(m->out);
    free(m->tmp);
    sqlite3_finalize(m->upsert_rows);
    m->upsert_rows = NULL;
    intern_reset(&m->text);
}
