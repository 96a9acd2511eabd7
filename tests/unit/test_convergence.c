/*
 * test_convergence: the merged state and the totals depend only on the set
 * of entries (DESIGN "Guarantees" 3 and 5), checked as a property.
 *
 * A deterministic simulation (fixed seeds) of several centres' nodes working
 * offline and syncing now and then: registrations with colliding CNICs at
 * different centres, conflicting offline edits of the same person, CNIC
 * changes, deletes and undeletes, events and their corrections, attendance
 * (also before its person or event exists), invalid values, one PC a year
 * ahead and one reset to 1970.  Each node's entries get the clamp window of
 * the syncs around them and an HLC that folds the server time at each sync.
 *
 * The entries are then merged in many orders: each node's own order kept
 * with nodes interleaved arbitrarily, fully shuffled, with random replays
 * (duplicates) and random batch boundaries.  Every order must give tables
 * identical to the first order's (every table of merge_state_tables,
 * compared row by row with EXCEPT both ways), and the totals must equal an
 * ORACLE computed here from the generated changes with plain C structs --
 * its own last-writer-wins, validity rules, clusters and counting, sharing
 * no code with server/merge.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "merge_fixture.h"

#define CV_NODES 5
#define CV_PERSONS 140 /* person id pool */
#define CV_EVENTS 24   /* event id pool */
#define CV_CNICS 25    /* distinct CNIC numbers (collisions wanted) */
#define CV_MAX_ENTRIES 1200
#define CV_H (3600ull * 1000ull)

/* ---- deterministic randomness ------------------------------------------- */

static uint64_t cv_rng;

static uint32_t
rnd(uint32_t n)
{
    /* xorshift64*: fixed seeds, same sequence everywhere */
    cv_rng ^= cv_rng >> 12;
    cv_rng ^= cv_rng << 25;
    cv_rng ^= cv_rng >> 27;
    return (uint32_t)((cv_rng * 0x2545f4914f6cdd1dull) >> 33) % n;
}

static int
chance(int percent)
{
    return (int)rnd(100) < percent;
}

/* ---- simulation ----------------------------------------------------------- */

typedef struct cv_node {
    int centre;          /* centre it is enrolled under */
    int64_t clock_skew;  /* wall clock minus real time (ms) */
    int reset_1970;      /* wall clock counts from 1970 */
    uint64_t hlc;        /* last issued HLC */
    uint64_t lo;         /* server time of its last sync (0: none) */
    size_t pending_from; /* first entry not yet followed by a sync */
} cv_node;

typedef struct cv_sim {
    fx_change e[CV_MAX_ENTRIES]; /* entries in generation order */
    int node_of[CV_MAX_ENTRIES]; /* writer index */
    size_t n;                    /* entries */
    cv_node node[CV_NODES];      /* the simulated PCs */
    uint64_t now;                /* real (server) time */
    uint64_t start;              /* simulation start */
    int persons_made;            /* person ids handed out */
    int events_made;             /* event ids handed out */
} cv_sim;

static cv_sim sim;

static const char *const cv_homes[] = {"Lahore", " lahore ", "LAHORE",  "dera ghazi khan",
                                       "Multan", "   ",      "Peshawar"};
static const uint32_t cv_edges[] = {20251231, 20260101, 20260331, 20260401, 20260630, 20260701};

static uint64_t
node_wall(const cv_node *nd)
{
    if (nd->reset_1970)
        return 1000000ull + (sim.now - sim.start);
    return (uint64_t)((int64_t)sim.now + nd->clock_skew);
}

static void
person_key(uint8_t key[16], int p)
{
    fx_id(key, 1000u + (uint32_t)p);
}

static void
event_key(uint8_t key[16], int ev)
{
    fx_id(key, 0x20000u + (uint32_t)ev);
}

/* A new entry by node k with a fresh HLC; its window is set at sync. */
static fx_change *
sim_entry(int k, uint8_t table, uint8_t op)
{
    cv_node *nd = &sim.node[k];
    fx_change *c;
    assert_true(sim.n < CV_MAX_ENTRIES);
    c = &sim.e[sim.n];
    sim.node_of[sim.n++] = k;
    nd->hlc = hlc_next(nd->hlc, node_wall(nd));
    memset(c, 0, sizeof *c);
    fx_node(c->node, k + 1);
    c->centre = nd->centre;
    c->hlc = nd->hlc;
    c->table = table;
    c->op = op;
    c->key_len = table == RZ_T_ATTENDANCE ? 32 : 16;
    return c;
}

/* A date as the node's staff would type it. */
static uint32_t
sim_date(int k)
{
    uint32_t d = date_of_ms(node_wall(&sim.node[k]) - (uint64_t)rnd(20) * FX_DAY_MS);
    if (chance(20))
        d = cv_edges[rnd(sizeof cv_edges / sizeof *cv_edges)];
    else if (chance(4))
        d = 20260230; /* not a date */
    return d;
}

static rz_value
sim_code(int max, int invalid_percent)
{
    if (chance(invalid_percent))
        return chance(50) ? rz_uint(9) : rz_str("x");
    if (chance(3))
        return rz_nil();
    return rz_uint(1 + rnd((uint32_t)max));
}

static void
sim_cnic(fx_change *c)
{
    int r = (int)rnd(10);
    if (r < 6)
        fx_cnic(c, chance(10) ? MERGE_CNIC_ERASED : MERGE_CNIC_VALID, 100 + rnd(CV_CNICS));
    else if (r < 8)
        fx_cnic(c, MERGE_CNIC_INVALID, 0);
    else
        fx_cnic(c, MERGE_CNIC_CLEARED, 0);
}

static void
sim_person_fields(int k, fx_change *c, int all)
{
    if (all || chance(40))
        fx_set(c, RZ_PF_GENDER, sim_code(3, 5));
    if (all || chance(25))
        fx_set(c, RZ_PF_BIRTH_YEAR, chance(5) ? rz_uint(1800) : rz_uint(1960 + rnd(56)));
    if (all || chance(20))
        fx_set(c, RZ_PF_DISTRICT,
               chance(5) ? rz_uint(3) : rz_str(cv_homes[rnd(sizeof cv_homes / sizeof *cv_homes)]));
    if (all || chance(20))
        fx_set(c, RZ_PF_AREA, sim_code(2, 5));
    if (all || chance(20))
        fx_set(c, RZ_PF_SKILL, sim_code(3, 5));
    if (all || chance(15))
        fx_set(c, RZ_PF_REG_DATE, rz_uint(sim_date(k)));
    if (chance(20))
        fx_set(c, RZ_PF_NAME, rz_bin(fx_commit_bytes, 16));
    if (chance(10))
        fx_set(c, RZ_PF_SKILLS, rz_str("video editing"));
}

static int
sim_pick_person(void)
{
    if (sim.persons_made == 0 || chance(8))
        return (int)rnd(CV_PERSONS);
    return (int)rnd((uint32_t)sim.persons_made);
}

static int
sim_pick_event(void)
{
    if (sim.events_made == 0 || chance(8))
        return (int)rnd(CV_EVENTS);
    return (int)rnd((uint32_t)sim.events_made);
}

static void
sim_op(int k)
{
    fx_change *c;
    int r = (int)rnd(100), p;
    if (r < 22 && sim.persons_made < CV_PERSONS) { /* registration */
        c = sim_entry(k, RZ_T_PERSON, RZ_OP_SET);
        person_key(c->key, sim.persons_made++);
        sim_person_fields(k, c, 1);
        if (chance(70))
            sim_cnic(c);
    } else if (r < 40) { /* edit, often of someone else's record */
        c = sim_entry(k, RZ_T_PERSON, RZ_OP_SET);
        person_key(c->key, sim_pick_person());
        sim_person_fields(k, c, 0);
        if (chance(30))
            sim_cnic(c);
    } else if (r < 45) {
        c = sim_entry(k, RZ_T_PERSON, chance(55) ? RZ_OP_DELETE : RZ_OP_UNDELETE);
        person_key(c->key, sim_pick_person());
    } else if (r < 53 && sim.events_made < CV_EVENTS) {
        c = sim_entry(k, RZ_T_EVENT, RZ_OP_SET);
        event_key(c->key, sim.events_made++);
        fx_set(c, RZ_EF_KIND, sim_code(RZ_EK_MAX, 6));
        fx_set(c, RZ_EF_TITLE, rz_str("Freelancing 101"));
        fx_set(c, RZ_EF_DATE, rz_uint(sim_date(k)));
    } else if (r < 58) {
        c = sim_entry(k, RZ_T_EVENT, RZ_OP_SET);
        event_key(c->key, sim_pick_event());
        if (chance(60))
            fx_set(c, RZ_EF_DATE, rz_uint(sim_date(k)));
        else
            fx_set(c, RZ_EF_KIND, sim_code(RZ_EK_MAX, 6));
    } else if (r < 61) {
        c = sim_entry(k, RZ_T_EVENT, chance(60) ? RZ_OP_DELETE : RZ_OP_UNDELETE);
        event_key(c->key, sim_pick_event());
    } else {
        p = sim_pick_person();
        c = sim_entry(k, RZ_T_ATTENDANCE, chance(5) ? RZ_OP_DELETE : RZ_OP_SET);
        event_key(c->key, sim_pick_event());
        person_key(c->key + 16, p);
        if (c->op == RZ_OP_SET)
            fx_set(c, RZ_AF_PRESENT, chance(5) ? rz_uint(1) : rz_bool(chance(85)));
    }
}

/* The node syncs: its pending entries get the window [lo, now]. */
static void
sim_sync(int k)
{
    cv_node *nd = &sim.node[k];
    size_t i;
    for (i = nd->pending_from; i < sim.n; i++)
        if (sim.node_of[i] == k) {
            sim.e[i].lo = nd->lo;
            sim.e[i].hi = sim.now;
        }
    nd->pending_from = sim.n;
    nd->lo = sim.now;
    /* The 1970 PC keeps losing its clock state (think of a restored
     * image): its HLC stays in 1970 and only the clamp lifts it. */
    if (!nd->reset_1970)
        nd->hlc = hlc_observe(nd->hlc, hlc_make(sim.now, 0), node_wall(nd));
}

static void
sim_run(uint64_t seed, int steps)
{
    int s, k, i;
    memset(&sim, 0, sizeof sim);
    cv_rng = seed;
    sim.start = sim.now = FX_T0 - 80 * FX_DAY_MS; /* 2025-12-20 */
    for (k = 0; k < CV_NODES; k++) {
        sim.node[k].centre = k < 2 ? 1 : k; /* two PCs at centre 1 */
    }
    sim.node[3].clock_skew = 365 * (int64_t)FX_DAY_MS; /* a year ahead */
    sim.node[4].reset_1970 = 1;                        /* reset to 1970 */
    for (s = 0; s < steps; s++) {
        sim.now += CV_H + rnd(60) * CV_H;
        k = (int)rnd(CV_NODES);
        for (i = 0; i < 1 + (int)rnd(6); i++)
            sim_op(k);
        if (chance(35))
            sim_sync((int)rnd(CV_NODES));
    }
    sim.now += CV_H;
    for (k = 0; k < CV_NODES; k++)
        sim_sync(k); /* every entry is followed by a clock entry */
}

/* ---- the oracle -------------------------------------------------------------- */

typedef struct or_stamp {
    uint64_t eff, hlc; /* clamped ms, HLC */
    uint8_t node[8];   /* writer */
} or_stamp;

typedef struct or_field {
    int set;           /* a value arrived */
    or_stamp at;       /* stamp of the winning value */
    int64_t code;      /* counted value: valid code/date/year/flag, 0 unknown */
    const char *home;  /* counted home text, "" unknown */
    uint8_t token[16]; /* CNIC token when code == 1 (linked) */
} or_field;

typedef struct or_rec {
    int exists;       /* some entry for it */
    or_stamp created; /* lowest stamp */
    int centre;       /* that entry's centre */
    or_field f[12];   /* slot 0: deleted; fields 1..11 */
} or_rec;

static or_rec or_person[CV_PERSONS], or_event[CV_EVENTS], or_att[CV_EVENTS][CV_PERSONS];

static uint32_t
be32_get_local(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
or_cmp(const or_stamp *a, const or_stamp *b)
{
    if (a->eff != b->eff)
        return a->eff < b->eff ? -1 : 1;
    if (a->hlc != b->hlc)
        return a->hlc < b->hlc ? -1 : 1;
    return memcmp(a->node, b->node, 8);
}

static or_stamp
or_stamp_of(const fx_change *c)
{
    or_stamp s;
    uint64_t phys = c->hlc >> 16;
    s.eff = phys < c->lo ? c->lo : phys > c->hi ? c->hi : phys;
    s.hlc = c->hlc;
    memcpy(s.node, c->node, 8);
    return s;
}

static const char *
or_home(const rz_value *v)
{
    static const char *const norm[] = {"Lahore", "Lahore", "Lahore",  "Dera Ghazi Khan",
                                       "Multan", "",       "Peshawar"};
    size_t i;
    if (v->type != RZ_V_STR)
        return "";
    for (i = 0; i < sizeof cv_homes / sizeof *cv_homes; i++)
        if (v->len == strlen(cv_homes[i]) && memcmp(v->p, cv_homes[i], v->len) == 0)
            return norm[i];
    return "";
}

/* The counted value of a field under the entry's window (0 = unknown). */
static int64_t
or_counted(uint8_t table, uint8_t id, const rz_value *v, uint64_t hi)
{
    uint32_t latest = date_of_ms(hi + FX_DAY_MS), year = date_of_ms(hi) / 10000;
    int is_uint = v->type == RZ_V_UINT;
    if (table == RZ_T_ATTENDANCE)
        return v->type == RZ_V_BOOL && v->u == 1;
    if ((table == RZ_T_PERSON && id == RZ_PF_REG_DATE) || (table == RZ_T_EVENT && id == RZ_EF_DATE))
        return is_uint && v->u >= 20000101 && v->u <= latest && date_is_valid((uint32_t)v->u)
                   ? (int64_t)v->u
                   : 0;
    if (table == RZ_T_EVENT)
        return id == RZ_EF_KIND && is_uint && v->u >= 1 && v->u <= 7 ? (int64_t)v->u : 0;
    switch (id) {
    case RZ_PF_GENDER:
    case RZ_PF_SKILL: return is_uint && v->u >= 1 && v->u <= 3 ? (int64_t)v->u : 0;
    case RZ_PF_AREA: return is_uint && v->u >= 1 && v->u <= 2 ? (int64_t)v->u : 0;
    case RZ_PF_BIRTH_YEAR: return is_uint && v->u >= 1920 && v->u <= year ? (int64_t)v->u : 0;
    default: return 0;
    }
}

static void
or_take(or_field *fl, const or_stamp *s)
{
    fl->set = 1;
    fl->at = *s;
}

static void
or_apply(const fx_change *c)
{
    or_stamp s = or_stamp_of(c);
    or_rec *r;
    size_t i;
    uint32_t a = be32_get_local(c->key + 12);
    if (c->table == RZ_T_PERSON)
        r = &or_person[a - 1000];
    else if (c->table == RZ_T_EVENT)
        r = &or_event[a - 0x20000];
    else
        r = &or_att[a - 0x20000][be32_get_local(c->key + 28) - 1000];
    if (!r->exists || or_cmp(&s, &r->created) < 0) {
        r->exists = 1;
        r->created = s;
        r->centre = (int)c->centre;
    }
    if (c->op != RZ_OP_SET) {
        if (!r->f[0].set || or_cmp(&s, &r->f[0].at) > 0) {
            or_take(&r->f[0], &s);
            r->f[0].code = c->op == RZ_OP_DELETE;
        }
        return;
    }
    for (i = 0; i < c->nfields; i++) {
        const rz_field *fd = &c->fields[i];
        or_field *fl = &r->f[fd->id];
        if (fl->set && or_cmp(&s, &fl->at) <= 0)
            continue;
        if (c->table == RZ_T_PERSON && fd->id == RZ_PF_CNIC) {
            if (c->cnic_state == MERGE_CNIC_ABSENT)
                continue;
            or_take(fl, &s);
            fl->code = c->cnic_state == MERGE_CNIC_VALID || c->cnic_state == MERGE_CNIC_ERASED;
            memcpy(fl->token, c->token, 16);
            continue;
        }
        or_take(fl, &s);
        fl->code = or_counted(c->table, fd->id, &fd->v, c->hi);
        fl->home = c->table == RZ_T_PERSON && fd->id == RZ_PF_DISTRICT ? or_home(&fd->v) : "";
    }
}

/* A person as counted: cluster attributes. */
typedef struct or_prof {
    int live;                                /* has live members */
    int centre;                              /* place */
    int64_t reg, gender, birth, area, skill; /* 0 unknown */
    const char *home;                        /* "" unknown */
} or_prof;

static int
or_person_live(int p)
{
    return or_person[p].exists && !or_person[p].f[0].code;
}

static int or_cluster[CV_PERSONS]; /* cluster of each person, filled by or_clusters */

/* Cluster id: the first person index with the same linked token, else self. */
static int
or_cluster_find(int p)
{
    int q;
    if (!or_person_live(p) || !or_person[p].f[RZ_PF_CNIC].code)
        return p;
    for (q = 0; q < CV_PERSONS; q++)
        if (or_person_live(q) && or_person[q].f[RZ_PF_CNIC].code &&
            memcmp(or_person[q].f[RZ_PF_CNIC].token, or_person[p].f[RZ_PF_CNIC].token, 16) == 0)
            return q;
    return p;
}

static void
or_clusters(void)
{
    int p;
    for (p = 0; p < CV_PERSONS; p++)
        or_cluster[p] = or_cluster_find(p);
}

static int
or_cluster_of(int p)
{
    return or_cluster[p];
}

static void
or_profile(int cl, or_prof *pr)
{
    static const int attrs[] = {RZ_PF_GENDER, RZ_PF_BIRTH_YEAR, RZ_PF_DISTRICT, RZ_PF_AREA,
                                RZ_PF_SKILL};
    const or_field *best[12] = {0};
    int first = -1, p, i;
    memset(pr, 0, sizeof *pr);
    pr->home = "";
    for (p = 0; p < CV_PERSONS; p++) {
        if (!or_person_live(p) || or_cluster_of(p) != cl)
            continue;
        pr->live = 1;
        /* ids grow with p, so index order is id order for ties */
        if (first < 0 || or_cmp(&or_person[p].created, &or_person[first].created) < 0)
            first = p;
        for (i = 0; i < 5; i++) {
            const or_field *fl = &or_person[p].f[attrs[i]];
            if (fl->set && (!best[attrs[i]] || or_cmp(&fl->at, &best[attrs[i]]->at) >= 0))
                best[attrs[i]] = fl;
        }
    }
    if (!pr->live)
        return;
    pr->centre = or_person[first].centre;
    pr->reg = or_person[first].f[RZ_PF_REG_DATE].code;
    if (best[RZ_PF_GENDER])
        pr->gender = best[RZ_PF_GENDER]->code;
    if (best[RZ_PF_BIRTH_YEAR])
        pr->birth = best[RZ_PF_BIRTH_YEAR]->code;
    if (best[RZ_PF_AREA])
        pr->area = best[RZ_PF_AREA]->code;
    if (best[RZ_PF_SKILL])
        pr->skill = best[RZ_PF_SKILL]->code;
    if (best[RZ_PF_DISTRICT])
        pr->home = best[RZ_PF_DISTRICT]->home;
}

/* Counters as text keys "metric|grain|period|d1|v1|d2|v2". */
typedef struct or_count {
    char key[200]; /* counter */
    int64_t n;     /* value */
} or_count;

static or_count *or_counts;
static size_t or_n, or_cap;

static void
or_add(const char *key, int64_t n)
{
    if (or_n == or_cap) {
        or_cap = or_cap ? or_cap * 2 : 4096;
        or_counts = realloc(or_counts, or_cap * sizeof *or_counts);
        assert_non_null(or_counts);
    }
    snprintf(or_counts[or_n].key, sizeof or_counts[or_n].key, "%s", key);
    or_counts[or_n++].n = n;
}

static const struct {
    int programme;
    const char *province, *district;
} or_centres[5] = {{0, "", ""},
                   {1, "Punjab", "Lahore"},
                   {2, "Khyber Pakhtunkhwa", "Peshawar"},
                   {1, "Punjab", "Multan"},
                   {3, "Balochistan", "Quetta"}};

static int
or_age(int64_t year, int64_t birth)
{
    int64_t a = year - birth;
    if (year == 0 || birth == 0 || birth > year)
        return 0;
    return a < 15   ? 1
           : a < 20 ? 2
           : a < 25 ? 3
           : a < 30 ? 4
           : a < 35 ? 5
           : a < 45 ? 6
           : a < 60 ? 7
                    : 8;
}

static uint32_t
or_period(int64_t day, int grain)
{
    int64_t y = day / 10000, m = day / 100 % 100;
    if (day == 0 || grain == 3)
        return 0;
    if (grain == 0)
        return (uint32_t)(y * 100 + m);
    if (grain == 1)
        return (uint32_t)(y * 10 + (m + 2) / 3);
    return (uint32_t)y;
}

/* A trainee counts once in every counter any of their attendances reaches
 * (DESIGN "Where a figure happened": at the event's place, once per place):
 * or_fact with OR_COLLECT gathers one person's keys here, and
 * or_collected_add counts each distinct key once. */
enum { OR_ALL = 0, OR_COLLECT = 1 };

static or_count *or_coll;
static size_t or_coll_n, or_coll_cap;

static void
or_collect(const char *key, int64_t n)
{
    (void)n;
    if (or_coll_n == or_coll_cap) {
        or_coll_cap = or_coll_cap ? or_coll_cap * 2 : 4096;
        or_coll = realloc(or_coll, or_coll_cap * sizeof *or_coll);
        assert_non_null(or_coll);
    }
    snprintf(or_coll[or_coll_n].key, sizeof or_coll[or_coll_n].key, "%s", key);
    or_coll[or_coll_n++].n = 1;
}

static int or_key_cmp(const void *a, const void *b);

/* One count for each distinct collected key; empties the collection. */
static void
or_collected_add(void)
{
    size_t i;
    qsort(or_coll, or_coll_n, sizeof *or_coll, or_key_cmp);
    for (i = 0; i < or_coll_n; i++)
        if (i == 0 || strcmp(or_coll[i - 1].key, or_coll[i].key) != 0)
            or_add(or_coll[i].key, 1);
    or_coll_n = 0;
}

/* Adds n for one fact: the national counter, each dimension, each pair
 * (or collects them, OR_COLLECT). */
static void
or_fact(int metric, int grain, uint32_t period, char v[11][64], const int *dims, int64_t n,
        int mode)
{
    char key[96];
    int i, j;
    void (*put)(const char *, int64_t) = mode == OR_COLLECT ? or_collect : or_add;
    snprintf(key, sizeof key, "%d|%d|%u|0|0|0|0", metric, grain, period);
    put(key, n);
    for (i = 0; dims[i]; i++) {
        snprintf(key, sizeof key, "%d|%d|%u|%d|%s|0|0", metric, grain, period, dims[i], v[dims[i]]);
        put(key, n);
        for (j = i + 1; dims[j]; j++) {
            snprintf(key, sizeof key, "%d|%d|%u|%d|%s|%d|%s", metric, grain, period, dims[i],
                     v[dims[i]], dims[j], v[dims[j]]);
            put(key, n);
        }
    }
}

static const int or_pdims[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0};
static const int or_adims[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0};
static const int or_edims[] = {1, 2, 3, 4, 10, 0};

static void
or_place(char v[11][64], int centre)
{
    snprintf(v[1], 64, "%s", or_centres[centre].province);
    snprintf(v[2], 64, "%s", or_centres[centre].district);
    snprintf(v[3], 64, "%d", centre);
    snprintf(v[4], 64, "%d", or_centres[centre].programme);
}

/* A person's values, counted at centre `at` (the person's place for a
 * registration, the event's centre for attendance and training). */
static void
or_person_values(char v[11][64], const or_prof *pr, int at)
{
    or_place(v, at);
    snprintf(v[5], 64, "%lld", (long long)pr->gender);
    snprintf(v[7], 64, "%lld", (long long)pr->area);
    snprintf(v[8], 64, "%lld", (long long)pr->skill);
    snprintf(v[9], 64, "%s", pr->home);
}

static void
or_person_fact(int metric, int grain, int64_t day, const or_prof *pr, int at, int64_t kind,
               int64_t n, int mode)
{
    char v[11][64];
    int64_t year = grain == 3 ? pr->reg / 10000 : day / 10000;
    memset(v, 0, sizeof v);
    or_person_values(v, pr, at);
    snprintf(v[6], 64, "%d", or_age(year, pr->birth));
    snprintf(v[10], 64, "%lld", (long long)kind);
    or_fact(metric, grain, or_period(day, grain), v,
            metric == MERGE_M_ATTENDANCES ? or_adims : or_pdims, n, mode);
}

static int
or_key_cmp(const void *a, const void *b)
{
    return strcmp(((const or_count *)a)->key, ((const or_count *)b)->key);
}

/* Computes every counter from the generated changes; sorted, summed,
 * zeros dropped.  *clusters gets the number of live persons (clusters). */
static void
oracle_compute(int *clusters)
{
    int p, e, g, i;
    size_t k, w;
    memset(or_person, 0, sizeof or_person);
    memset(or_event, 0, sizeof or_event);
    memset(or_att, 0, sizeof or_att);
    or_n = 0;
    for (k = 0; k < sim.n; k++)
        or_apply(&sim.e[k]);
    or_clusters();
    *clusters = 0;
    for (p = 0; p < CV_PERSONS; p++) {
        static int64_t days[CV_EVENTS * CV_PERSONS];
        static int at[CV_EVENTS * CV_PERSONS];
        or_prof pr;
        int nd = 0;
        if (!or_person_live(p) || or_cluster_of(p) != p)
            continue;
        or_profile(p, &pr);
        (*clusters)++;
        /* additive metrics: months and all time only (quarters and years
         * are their months' sums, merge_metric_keeps_grain) */
        for (g = 0; g < 4; g += 3)
            or_person_fact(MERGE_M_REGISTERED, g, pr.reg, &pr, pr.centre, 0, 1, OR_ALL);
        /* attendance of every live record of this person */
        for (e = 0; e < CV_EVENTS; e++) {
            int q;
            const or_rec *ev = &or_event[e];
            if (!ev->exists || ev->f[0].code)
                continue;
            for (q = 0; q < CV_PERSONS; q++) {
                const or_rec *a = &or_att[e][q];
                if (!or_person_live(q) || or_cluster_of(q) != p || !a->exists || a->f[0].code ||
                    !a->f[RZ_AF_PRESENT].code)
                    continue;
                /* at the centre that ran the event */
                for (g = 0; g < 4; g += 3)
                    or_person_fact(MERGE_M_ATTENDANCES, g, ev->f[RZ_EF_DATE].code, &pr, ev->centre,
                                   ev->f[RZ_EF_KIND].code, 1, OR_ALL);
                at[nd] = ev->centre;
                days[nd++] = ev->f[RZ_EF_DATE].code;
            }
        }
        /* one trainee in each counter any attendance reaches, in every
         * grain, at the event's place */
        for (g = 0; g < 4; g++)
            for (i = 0; i < nd; i++)
                or_person_fact(MERGE_M_TRAINEES, g, days[i], &pr, at[i], 0, 1, OR_COLLECT);
        or_collected_add();
    }
    for (e = 0; e < CV_EVENTS; e++) {
        const or_rec *ev = &or_event[e];
        char v[11][64];
        if (!ev->exists || ev->f[0].code)
            continue;
        memset(v, 0, sizeof v);
        or_place(v, ev->centre);
        snprintf(v[10], 64, "%lld", (long long)ev->f[RZ_EF_KIND].code);
        for (g = 0; g < 4; g += 3)
            or_fact(MERGE_M_EVENTS, g, or_period(ev->f[RZ_EF_DATE].code, g), v, or_edims, 1,
                    OR_ALL);
    }
    qsort(or_counts, or_n, sizeof *or_counts, or_key_cmp);
    for (k = 0, w = 0; k < or_n; k++) {
        if (w > 0 && strcmp(or_counts[w - 1].key, or_counts[k].key) == 0)
            or_counts[w - 1].n += or_counts[k].n;
        else
            or_counts[w++] = or_counts[k];
    }
    for (k = 0, or_n = w, w = 0; k < or_n; k++)
        if (or_counts[k].n != 0)
            or_counts[w++] = or_counts[k];
    or_n = w;
}

static void
db_push(or_count **db, size_t *n, size_t *cap, const char *key, int64_t v)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4096;
        *db = realloc(*db, *cap * sizeof **db);
        assert_non_null(*db);
    }
    snprintf((*db)[*n].key, sizeof(*db)[*n].key, "%s", key);
    (*db)[(*n)++].n = v;
}

/* The database's totals must be exactly the oracle's.  The oracle counts
 * province, district and programme directly; the database keeps only the
 * centre's counters for them (merge.h), so the check derives them from the
 * stored centre rows here, with the test's own centre table -- except for
 * trainees, which are not sums of centres and are stored by place. */
static void
oracle_check(fx *f)
{
    static const int place[] = {1, 2, 4};
    sqlite3_stmt *st;
    or_count *db = NULL;
    size_t n = 0, cap = 0, i, w;
    int clusters, a, b;
    oracle_compute(&clusters);
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "SELECT metric, grain, period, d1, v1, d2, v2, n"
                                        " FROM totals",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char key[200], pv[5][40], pre[32];
        const char *v1 = (const char *)sqlite3_column_text(st, 4);
        const char *v2 = (const char *)sqlite3_column_text(st, 6);
        int d1 = sqlite3_column_int(st, 3), d2 = sqlite3_column_int(st, 5);
        int64_t c = sqlite3_column_int64(st, 4), v = sqlite3_column_int64(st, 7);
        /* place dimensions are stored for trainees only */
        assert_true(sqlite3_column_int(st, 0) == MERGE_M_TRAINEES ||
                    !(d1 == 1 || d1 == 2 || d1 == 4 || d2 == 1 || d2 == 2 || d2 == 4));
        snprintf(pre, sizeof pre, "%d|%d|%lld", sqlite3_column_int(st, 0),
                 sqlite3_column_int(st, 1), (long long)sqlite3_column_int64(st, 2));
        snprintf(key, sizeof key, "%s|%d|%s|%d|%s", pre, d1, v1, d2, v2);
        db_push(&db, &n, &cap, key, v);
        if (d1 != 3 || sqlite3_column_int(st, 0) == MERGE_M_TRAINEES)
            continue;
        assert_true(c >= 0 && c < 5);
        snprintf(pv[1], 40, "%s", or_centres[c].province);
        snprintf(pv[2], 40, "%s", or_centres[c].district);
        snprintf(pv[4], 40, "%d", or_centres[c].programme);
        for (a = 0; a < 3; a++) {
            int p = place[a];
            if (d2 != 0) { /* (place, d2) */
                snprintf(key, sizeof key, "%s|%d|%s|%d|%s", pre, p, pv[p], d2, v2);
                db_push(&db, &n, &cap, key, v);
                continue;
            }
            snprintf(key, sizeof key, "%s|%d|%s|0|0", pre, p, pv[p]);
            db_push(&db, &n, &cap, key, v);
            if (p < 3)
                snprintf(key, sizeof key, "%s|%d|%s|3|%lld", pre, p, pv[p], (long long)c);
            else /* pairs are ordered by dimension: (centre, programme) */
                snprintf(key, sizeof key, "%s|3|%lld|%d|%s", pre, (long long)c, p, pv[p]);
            db_push(&db, &n, &cap, key, v);
            for (b = a + 1; b < 3; b++) {
                snprintf(key, sizeof key, "%s|%d|%s|%d|%s", pre, p, pv[p], place[b], pv[place[b]]);
                db_push(&db, &n, &cap, key, v);
            }
        }
    }
    sqlite3_finalize(st);
    qsort(db, n, sizeof *db, or_key_cmp);
    for (i = 0, w = 0; i < n; i++) { /* several centres share a place: add up */
        if (w > 0 && strcmp(db[w - 1].key, db[i].key) == 0)
            db[w - 1].n += db[i].n;
        else
            db[w++] = db[i];
    }
    n = w;
    for (i = 0; i < n && i < or_n; i++) {
        if (strcmp(db[i].key, or_counts[i].key) != 0 || db[i].n != or_counts[i].n) {
            fprintf(stderr, "first difference at %zu: db %s=%lld, oracle %s=%lld\n", i, db[i].key,
                    (long long)db[i].n, or_counts[i].key, (long long)or_counts[i].n);
            break;
        }
    }
    if (n != or_n)
        fprintf(stderr, "db has %zu counters, oracle %zu\n", n, or_n);
    assert_int_equal(n, or_n);
    assert_int_equal(i, n);
    assert_int_equal(fx_scalar(f, "SELECT count(*) FROM st_cluster"), clusters);
    free(db);
}

/* ---- delivery orders ---------------------------------------------------------- */

static void
shuffle(size_t *v, size_t n)
{
    size_t i;
    for (i = n; i > 1; i--) {
        size_t j = rnd((uint32_t)i), t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* Kind 0: generation order.  1: each node's order kept, nodes interleaved
 * at random.  2: any order.  Replays some entries (duplicates) when asked. */
static size_t
make_order(size_t *ord, int kind, int replays)
{
    size_t n = 0, i, next[CV_NODES] = {0}, left = sim.n;
    if (kind == 0) {
        for (i = 0; i < sim.n; i++)
            ord[n++] = i;
    } else if (kind == 1) {
        while (left > 0) {
            int k = (int)rnd(CV_NODES);
            while (next[k] < sim.n && sim.node_of[next[k]] != k)
                next[k]++;
            if (next[k] == sim.n)
                continue;
            ord[n++] = next[k]++;
            left--;
        }
    } else {
        for (i = 0; i < sim.n; i++)
            ord[n++] = i;
        shuffle(ord, n);
    }
    for (i = 0; replays && i < sim.n / 5; i++) {
        /* a re-sent stretch: entries applied again later */
        size_t at = rnd((uint32_t)n + 1), from = rnd((uint32_t)sim.n);
        memmove(&ord[at + 1], &ord[at], (n - at) * sizeof *ord);
        ord[at] = ord[from < n ? from : 0];
        n++;
    }
    return n;
}

static void
apply_order(fx *f, const size_t *ord, size_t n)
{
    size_t i, batch = 1 + rnd(60);
    for (i = 0; i < n; i++) {
        fx_apply(f, &sim.e[ord[i]]);
        if (--batch == 0) {
            fx_commit(f);
            batch = 1 + rnd(60);
        }
    }
    fx_commit(f);
}

/* Rows of every state table that differ between f and the reference. */
static int64_t
diff_rows(fx *f, const char *ref_path)
{
    sqlite3_stmt *st;
    char sql[600];
    int64_t diff = 0;
    int i;
    assert_int_equal(sqlite3_prepare_v2(f->db, "ATTACH DATABASE ?1 AS ref", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, ref_path, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    for (i = 0; merge_state_tables[i]; i++) {
        const char *t = merge_state_tables[i];
        int64_t d;
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT count(*) FROM (SELECT * FROM main.%s EXCEPT SELECT * FROM ref.%s))"
                 " + (SELECT count(*) FROM (SELECT * FROM ref.%s EXCEPT SELECT * FROM main.%s))",
                 t, t, t, t);
        d = fx_scalar(f, sql);
        if (d)
            fprintf(stderr, "table %s: %lld rows differ\n", t, (long long)d);
        diff += d;
    }
    fx_exec(f, "DETACH DATABASE ref");
    return diff;
}

static void
check_seed(uint64_t seed, int steps, int orders, size_t *checked_entries, int *checked_orders)
{
    static size_t ord[CV_MAX_ENTRIES * 2];
    fx ref;
    int o;
    sim_run(seed, steps);
    fx_open(&ref);
    apply_order(&ref, ord, make_order(ord, 0, 0));
    fx_check_sums(&ref);
    oracle_check(&ref);
    *checked_entries += sim.n;
    (*checked_orders)++;
    for (o = 1; o < orders; o++) {
        fx f;
        size_t n = make_order(ord, 1 + o % 2, o % 3 == 0);
        fx_open(&f);
        apply_order(&f, ord, n);
        assert_int_equal(diff_rows(&f, ref.path), 0);
        *checked_entries += n;
        (*checked_orders)++;
        fx_close(&f);
    }
    fx_close(&ref);
}

static void
test_convergence_many_orders(void **state)
{
    static const uint64_t seeds[] = {0x9e3779b97f4a7c15ull, 0x1234567887654321ull,
                                     0x0badc0ffee0ddf00ull, 42};
    size_t entries = 0;
    int orders = 0;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof seeds / sizeof *seeds; i++)
        check_seed(seeds[i], 90, 10, &entries, &orders);
    printf("convergence: %d delivery orders of %zu seeds, %zu entries merged; all equal to the"
           " oracle\n",
           orders, sizeof seeds / sizeof *seeds, entries);
    free(or_counts);
    or_counts = NULL;
    or_n = or_cap = 0;
    free(or_coll);
    or_coll = NULL;
    or_coll_n = or_coll_cap = 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convergence_many_orders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
