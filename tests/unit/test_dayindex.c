/*
 * test_dayindex: server/dayindex.c against a brute-force scan.  Random
 * people (some sharing a CNIC, so one person, one count), events and
 * attendances are merged; then rounds of random corrections: edited
 * attributes and registration dates, deleted and undeleted people, CNICs
 * changed or cleared (clusters merging and splitting), events moved,
 * re-kinded and deleted, attendances flipped and deleted, and windows
 * rolled back half-way.  After every round the index must equal a
 * derivation from the state tables (dayindex_check) and every one of a
 * few hundred random date-range questions -- every metric, filters and
 * group-bys, grains inside the range, fiscal years -- must get exactly the
 * answer of the state-table scan (query.h, scan = 1); a third of the ranges
 * are long (1 to 16 months, ends on or inside month edges), answered from
 * month rows and edge days.  Registrations, attendances and events whose
 * dimensions the month counters hold take their whole months from the
 * counters: every question is asked three ways (index with counters, index
 * alone, scan), and a quarter of them are whole-month ranges with one
 * group-by and one filter of the counters' dimensions or not (age across
 * years, three dimensions, place and person); the last ones with the
 * places of another register version.  A first build from
 * an existing state (an upgraded database) is checked the same way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "merge_fixture.h"
#include "server/dayindex.h"
#include "server/query.h"

#define D FX_DAY_MS
#define NPEOPLE 220
#define NEVENTS 70
#define NCNIC 40

static uint64_t rng_state;

static uint32_t
rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (uint32_t)(rng_state % n) : 0;
}

static uint64_t clock_ms; /* every change is later than the one before */

/* A random day between 2024-11-20 and 2026-04-10 (crossing two years and
 * two fiscal years). */
static uint32_t
rnd_date(void)
{
    int64_t first = date_day_number(20241120);
    return date_of_day_number(first + rnd(507));
}

/* The first day of the month after day d's. */
static uint32_t
next_month(uint32_t d)
{
    uint32_t y = d / 10000, m = d / 100 % 100;
    return m == 12 ? (y + 1) * 10000 + 101 : y * 10000 + (m + 1) * 100 + 1;
}

/* A long range (1 to 16 months) that crosses month and year edges, its
 * ends on a month's first or last day or inside a month: the index answers
 * its whole months from month rows and its ends from day rows. */
static void
rnd_long_range(uint32_t *from, uint32_t *to)
{
    int64_t first = date_day_number(20241101), last = date_day_number(20260430);
    int64_t a = first + rnd(200), b = a + 27 + rnd(480);
    uint32_t d0, d1;
    if (b > last)
        b = last;
    d0 = date_of_day_number(a);
    d1 = date_of_day_number(b);
    if (rnd(2))
        d0 = d0 / 100 * 100 + 1; /* a month's first day */
    if (rnd(2))
        d1 = date_of_day_number(date_day_number(next_month(d1)) - 1); /* a month's last */
    *from = d0;
    *to = d1;
}

static const char *const homes[] = {"Lahore", "lahore",  "Peshawar", "D.G. Khan",
                                    "Multan", "Nowhere", ""};

static void
change(fx_change *c, int centre, uint8_t table, uint8_t op)
{
    clock_ms += 1000 + rnd(5000);
    fx_change_init(c, centre, centre, clock_ms, clock_ms - D, clock_ms + 1000, table, op);
}

/* A person record: every field set (some to unknown). */
static void
person_full(fx *f, uint32_t id)
{
    fx_change c;
    change(&c, 1 + (int)rnd(4), RZ_T_PERSON, RZ_OP_SET);
    fx_id(c.key, id);
    if (rnd(5))
        fx_set(&c, RZ_PF_GENDER, rz_uint(1 + rnd(3)));
    if (rnd(6))
        fx_set(&c, RZ_PF_BIRTH_YEAR, rz_uint(1945 + rnd(70)));
    fx_set(&c, RZ_PF_DISTRICT, rz_str(homes[rnd(7)]));
    if (rnd(5))
        fx_set(&c, RZ_PF_AREA, rz_uint(1 + rnd(2)));
    if (rnd(5))
        fx_set(&c, RZ_PF_SKILL, rz_uint(1 + rnd(3)));
    if (rnd(8))
        fx_set(&c, RZ_PF_REG_DATE, rz_uint(rnd_date()));
    if (rnd(4))
        fx_cnic(&c, MERGE_CNIC_VALID, 7000 + rnd(NCNIC));
    fx_apply(f, &c);
}

static void
event_full(fx *f, uint32_t id)
{
    fx_change c;
    change(&c, 1 + (int)rnd(4), RZ_T_EVENT, RZ_OP_SET);
    fx_id(c.key, 0x10000 + id);
    fx_set(&c, RZ_EF_KIND, rz_uint(1 + rnd(7)));
    if (rnd(10))
        fx_set(&c, RZ_EF_DATE, rz_uint(rnd_date()));
    fx_apply(f, &c);
}

static void
attend(fx *f, uint32_t event, uint32_t person, int present)
{
    fx_change c;
    change(&c, 1 + (int)rnd(4), RZ_T_ATTENDANCE, RZ_OP_SET);
    fx_id(c.key, 0x10000 + event);
    fx_id(c.key + 16, person);
    fx_set(&c, RZ_AF_PRESENT, rz_bool(present));
    fx_apply(f, &c);
}

/* One random correction. */
static void
correct(fx *f)
{
    fx_change c;
    uint32_t p = 1 + rnd(NPEOPLE), e = 1 + rnd(NEVENTS);
    switch (rnd(12)) {
    case 0: /* edit one attribute */
        change(&c, 1 + (int)rnd(4), RZ_T_PERSON, RZ_OP_SET);
        fx_id(c.key, p);
        switch (rnd(6)) {
        case 0: fx_set(&c, RZ_PF_GENDER, rz_uint(1 + rnd(3))); break;
        case 1: fx_set(&c, RZ_PF_BIRTH_YEAR, rz_uint(1945 + rnd(70))); break;
        case 2: fx_set(&c, RZ_PF_DISTRICT, rz_str(homes[rnd(7)])); break;
        case 3: fx_set(&c, RZ_PF_AREA, rz_uint(1 + rnd(2))); break;
        case 4: fx_set(&c, RZ_PF_SKILL, rz_uint(1 + rnd(3))); break;
        default: fx_set(&c, RZ_PF_REG_DATE, rz_uint(rnd_date())); break;
        }
        fx_apply(f, &c);
        break;
    case 1: /* CNIC changed: the record moves to another person (a merge) */
        change(&c, 1 + (int)rnd(4), RZ_T_PERSON, RZ_OP_SET);
        fx_id(c.key, p);
        fx_cnic(&c, MERGE_CNIC_VALID, 7000 + rnd(NCNIC));
        fx_apply(f, &c);
        break;
    case 2: /* CNIC cleared: the record splits off */
        change(&c, 1 + (int)rnd(4), RZ_T_PERSON, RZ_OP_SET);
        fx_id(c.key, p);
        fx_cnic(&c, MERGE_CNIC_CLEARED, 0);
        fx_apply(f, &c);
        break;
    case 3: /* person deleted */
        change(&c, 1 + (int)rnd(4), RZ_T_PERSON, RZ_OP_DELETE);
        fx_id(c.key, p);
        fx_apply(f, &c);
        break;
    case 4: /* person undeleted: a new full record */ person_full(f, p); break;
    case 5: /* event moved */
        change(&c, 1 + (int)rnd(4), RZ_T_EVENT, RZ_OP_SET);
        fx_id(c.key, 0x10000 + e);
        fx_set(&c, RZ_EF_DATE, rz_uint(rnd_date()));
        fx_apply(f, &c);
        break;
    case 6: /* event re-kinded */
        change(&c, 1 + (int)rnd(4), RZ_T_EVENT, RZ_OP_SET);
        fx_id(c.key, 0x10000 + e);
        fx_set(&c, RZ_EF_KIND, rz_uint(1 + rnd(7)));
        fx_apply(f, &c);
        break;
    case 7: /* event deleted */
        change(&c, 1 + (int)rnd(4), RZ_T_EVENT, RZ_OP_DELETE);
        fx_id(c.key, 0x10000 + e);
        fx_apply(f, &c);
        break;
    case 8: /* event restored */ event_full(f, e); break;
    case 9: /* attendance deleted */
        change(&c, 1 + (int)rnd(4), RZ_T_ATTENDANCE, RZ_OP_DELETE);
        fx_id(c.key, 0x10000 + e);
        fx_id(c.key + 16, p);
        fx_apply(f, &c);
        break;
    default: /* attendance marked (present or absent) */ attend(f, e, p, rnd(5) != 0); break;
    }
}

/* ---- comparing answers ---------------------------------------------------------- */

typedef struct dq_rows {
    char text[1 << 16]; /* "period|l0|l1=count;" per row */
    size_t len;         /* used */
} dq_rows;

static int
collect(void *arg, const query_row *r)
{
    dq_rows *o = arg;
    int n = snprintf(o->text + o->len, sizeof o->text - o->len, "%s|%s|%s=%lld;", r->period,
                     r->label[0] ? r->label[0] : "-", r->label[1] ? r->label[1] : "-",
                     (long long)r->count);
    assert_true(n > 0 && (size_t)n < sizeof o->text - o->len);
    o->len += (size_t)n;
    return 0;
}

static const char *const dims_of[] = {NULL,        "province", "district", "centre",
                                      "programme", "gender",   "age",      "area",
                                      "skill",     "home",     "kind"};

static const char *const values_of[][6] = {
    {NULL},
    {"Punjab", "punjab", "Khyber Pakhtunkhwa", "Balochistan", "unknown", "Sindh"},
    {"Lahore", "Multan", "Peshawar", "Quetta", "unknown", "LAHORE"},
    {"1", "2", "3", "4", "Quetta Hub", "Lahore e-Rozgar"},
    {"e-rozgar", "innovista", "other", "unknown", "e-rozgar", "innovista"},
    {"female", "male", "other", "unknown", "female", "male"},
    {"20-24", "15-19", "unknown", "60+", "under-15", "45-59"},
    {"rural", "urban", "unknown", "rural", "urban", "unknown"},
    {"blue-collar", "white-collar", "unknown", "blue-collar", "white-collar", "unknown"},
    {"Lahore", "Peshawar", "Dera Ghazi Khan", "unknown", "lahore", "Multan"},
    {"training", "workshop", "bootcamp", "unknown", "mentorship", "seminar"},
};

/* A random dimension the metric knows. */
static int
rnd_dim(int metric)
{
    for (;;) {
        int d = 1 + (int)rnd(MERGE_D_MAX);
        if (merge_metric_has_dim(metric, d))
            return d;
    }
}

static void
set(query_spec *q, const char *name, const char *value)
{
    rz_error err;
    int rc = query_spec_set(q, name, value, &err);
    if (rc)
        fprintf(stderr, "%s=%s: %s\n", name, value, err.text);
    assert_int_equal(rc, 0);
}

static int months_asked; /* questions with whole months from the counters */

/* A dimension the month counters hold for the metric as it is (not a
 * place, which they hold as the centre). */
static int
rnd_counter_dim(int metric)
{
    static const int att[] = {MERGE_D_CENTRE, MERGE_D_GENDER, MERGE_D_AGE, MERGE_D_AREA,
                              MERGE_D_SKILL,  MERGE_D_HOME,   MERGE_D_KIND};
    if (metric == MERGE_M_EVENTS)
        return rnd(2) ? MERGE_D_CENTRE : MERGE_D_KIND;
    return att[rnd(metric == MERGE_M_REGISTERED ? 6 : 7)];
}

/* A range of whole months (1 to 16, crossing year edges), sometimes one
 * day short or long at an end, with one group-by and one or two filters,
 * mostly of dimensions the counters hold. */
static void
months_question(query_spec *q)
{
    static const char *const metrics[] = {"registered", "attendances", "events"};
    int64_t first = date_day_number(20241101), last = date_day_number(20260430);
    uint32_t d0 = date_of_day_number(first + rnd(300)), d1;
    char from[11], to[11];
    int n, i, d;
    d0 = d0 / 100 * 100 + 1;
    d1 = d0;
    for (n = (int)rnd(16); n > 0 && date_day_number(next_month(d1)) <= last; n--)
        d1 = next_month(d1);
    d1 = date_of_day_number(date_day_number(next_month(d1)) - 1);
    if (rnd(5) == 0)
        d0 = date_of_day_number(date_day_number(d0) + (rnd(2) ? 1 : -1));
    if (rnd(5) == 0)
        d1 = date_of_day_number(date_day_number(d1) + (rnd(2) ? 1 : -1));
    set(q, "metric", metrics[rnd(3)]);
    date_format(from, d0);
    date_format(to, d1);
    set(q, "from", from);
    set(q, "to", to);
    if (rnd(4) == 0)
        set(q, "grain", rnd(2) ? "month" : "quarter");
    d = rnd(3) ? rnd_counter_dim(q->metric) : rnd_dim(q->metric);
    set(q, "by", dims_of[d]);
    n = 1 + (int)rnd(2);
    for (i = 0; i < n; i++) {
        d = rnd(3) ? rnd_counter_dim(q->metric) : rnd_dim(q->metric);
        set(q, dims_of[d], values_of[d][rnd(6)]);
    }
}

/* One random question, answered by the index (with the month counters and
 * without) and by the scan. */
static void
compare_one(fx *f, int *asked)
{
    static const char *const metrics[] = {"registered", "trainees", "attendances", "events"};
    static const char *const grains[] = {"month", "quarter", "year"};
    static const char *const fiscal[] = {"FY2024-25", "FY2025-26"};
    static dq_rows a, b, c;
    uint64_t months0 = dayindex_months_from_counters();
    query_spec q;
    rz_error err;
    char from[11], to[11];
    uint32_t d0 = rnd_date(), d1 = rnd_date();
    int i, n, rc;

    query_spec_init(&q);
    if (rnd(4) == 0) {
        months_question(&q);
        goto ask;
    }
    set(&q, "metric", metrics[rnd(4)]);
    if (rnd(6) == 0) {
        set(&q, "period", fiscal[rnd(2)]);
    } else if (rnd(8) == 0) {
        set(&q, "period", rnd(2) ? "2025-Q3" : "2026");
    } else {
        if (rnd(3) == 0)
            rnd_long_range(&d0, &d1);
        if (d0 > d1) {
            uint32_t t = d0;
            d0 = d1, d1 = t;
        }
        date_format(from, d0);
        date_format(to, d1);
        if (rnd(10))
            set(&q, "from", from);
        if (rnd(10))
            set(&q, "to", to);
        if (q.window != QUERY_WIN_RANGE)
            set(&q, "from", from);
    }
    if (q.window == QUERY_WIN_RANGE && rnd(4) == 0)
        set(&q, "grain", grains[rnd(3)]);
    n = (int)rnd(3);
    for (i = 0; i < n; i++) {
        int d = rnd_dim(q.metric);
        if (q.nby == 1 && q.by[0] == d)
            continue;
        set(&q, "by", dims_of[d]);
    }
    n = (int)rnd(3);
    for (i = 0; i < n; i++) {
        int d = rnd_dim(q.metric);
        set(&q, dims_of[d], values_of[d][rnd(6)]);
    }
ask:
    assert_int_equal(query_spec_check(&q, &err), 0);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    rc = query_run(f->db, &q, collect, &a, &err);
    if (rc)
        fprintf(stderr, "index: %s\n", err.text);
    assert_int_equal(rc, 0);
    if (dayindex_months_from_counters() != months0)
        months_asked++;
    months0 = dayindex_months_from_counters();
    q.no_counters = 1; /* the index alone: no month from the counters */
    assert_int_equal(query_run(f->db, &q, collect, &c, &err), 0);
    assert_true(dayindex_months_from_counters() == months0);
    q.no_counters = 0;
    q.scan = 1;
    assert_int_equal(query_run(f->db, &q, collect, &b, &err), 0);
    if (strcmp(a.text, b.text) != 0 || strcmp(c.text, b.text) != 0) {
        fprintf(stderr, "metric %d window %d %u..%u grain %d by %d,%d (n %d) filters %d\n",
                q.metric, q.window, q.from, q.to, q.grain, q.by[0], q.by[1], q.nby, q.nwhere);
        for (i = 0; i < q.nwhere; i++)
            fprintf(stderr, "  %s=%s\n", dims_of[q.where[i].dim], q.where[i].value);
        fprintf(stderr, "index: %s\nno counters: %s\nscan:  %s\n", a.text, c.text, b.text);
    }
    assert_string_equal(a.text, b.text);
    assert_string_equal(c.text, b.text);
    (*asked)++;
}

static void
check_exact(fx *f, int questions, int *asked)
{
    rz_error err;
    int64_t diff = -1;
    int i;
    assert_int_equal(dayindex_check(f->db, stderr, &diff, &err), 0);
    assert_int_equal(diff, 0);
    assert_true(dayindex_ready(f->db));
    for (i = 0; i < questions; i++)
        compare_one(f, asked);
}

static void
load(fx *f)
{
    uint32_t i;
    for (i = 1; i <= NPEOPLE; i++)
        person_full(f, i);
    for (i = 1; i <= NEVENTS; i++)
        event_full(f, i);
    for (i = 0; i < 900; i++)
        attend(f, 1 + rnd(NEVENTS), 1 + rnd(NPEOPLE), rnd(10) != 0);
    fx_commit(f);
}

/* ---- tests ------------------------------------------------------------------------ */

static void
test_random_corrections(void **state)
{
    fx f;
    int round, i, asked = 0;
    (void)state;
    rng_state = 0x9e3779b97f4a7c15ull;
    clock_ms = FX_T0 - 400 * D;
    fx_open(&f);
    load(&f);
    check_exact(&f, 150, &asked);
    for (round = 0; round < 12; round++) {
        for (i = 0; i < 60; i++)
            correct(&f);
        if (round % 4 == 3) {
            /* A window that fails half-way: nothing of it stays. */
            merge_discard(f.m);
            rz_db_rollback(f.db);
            f.in_tx = 0;
            for (i = 0; i < 20; i++)
                correct(&f);
        }
        fx_commit(&f);
        check_exact(&f, 60, &asked);
    }
    /* Places as of another register version (a temporary `centre` shadowing the
     * register, as `totals --register-version` makes it): the month counters
     * hold centres, so their places must come from the shadow too. */
    fx_exec(&f, "CREATE TEMP TABLE centre AS SELECT * FROM main.centre;"
                "UPDATE temp.centre SET province = 'Sindh', district = 'Sukkur'"
                " WHERE centre_id = 3;"
                "UPDATE temp.centre SET province = 'Punjab', district = 'Lahore', programme = 3"
                " WHERE centre_id = 2;");
    for (i = 0; i < 120; i++)
        compare_one(&f, &asked);
    fx_exec(&f, "DROP TABLE temp.centre");
    /* The figures exist: the questions were not all empty. */
    assert_true(fx_scalar(&f, "SELECT count(*) FROM dx_post WHERE fam = 2") > 0);
    assert_true(fx_scalar(&f, "SELECT count(*) FROM dx_post WHERE fam = 4") > 0); /* months */
    assert_true(fx_scalar(&f, "SELECT count(*) FROM st_cluster_att") > 100);
    fprintf(stderr,
            "test_dayindex: %d questions answered alike by index and scan"
            " (%d with whole months from the counters, %llu months)\n",
            asked, months_asked, (unsigned long long)dayindex_months_from_counters());
    /* The counters' path was taken, and not for every question. */
    assert_true(months_asked > asked / 8 && months_asked < asked);
    fx_close(&f);
}

/* A state merged before the index existed: the first open builds it. */
static void
test_first_build(void **state)
{
    fx f;
    rz_error err;
    int asked = 0, i;
    (void)state;
    rng_state = 0x1234567887654321ull;
    clock_ms = FX_T0 - 400 * D;
    fx_open(&f);
    load(&f);
    for (i = 0; i < 150; i++)
        correct(&f);
    fx_commit(&f);
    fx_exec(&f,
            "DELETE FROM dx_meta; DELETE FROM dx_post; DELETE FROM dx_id; DELETE FROM dx_attr;");
    assert_false(dayindex_ready(f.db));
    assert_int_equal(merge_schema(f.db, &err), 0);
    /* The merger's cached ids are of the old index. */
    merge_destroy(&f.m);
    assert_int_equal(merge_new(&f.m, f.db, &err), 0);
    check_exact(&f, 100, &asked);
    for (i = 0; i < 100; i++)
        correct(&f);
    fx_commit(&f);
    check_exact(&f, 100, &asked);
    /* An index of the layout before the month rows is rebuilt on open. */
    fx_exec(&f, "DELETE FROM dx_post WHERE fam = 4; UPDATE dx_meta SET v = 1 WHERE k = 'built'");
    assert_false(dayindex_ready(f.db));
    assert_int_equal(merge_schema(f.db, &err), 0);
    merge_destroy(&f.m);
    assert_int_equal(merge_new(&f.m, f.db, &err), 0);
    assert_true(fx_scalar(&f, "SELECT count(*) FROM dx_post WHERE fam = 4") > 0);
    check_exact(&f, 100, &asked);
    fx_close(&f);
}

/* A damaged index is reported, not trusted silently. */
static void
test_check_finds_damage(void **state)
{
    fx f;
    rz_error err;
    int64_t diff = 0;
    (void)state;
    rng_state = 42;
    clock_ms = FX_T0 - 400 * D;
    fx_open(&f);
    load(&f);
    assert_int_equal(dayindex_check(f.db, NULL, &diff, &err), 0);
    assert_int_equal(diff, 0);
    fx_exec(&f, "SAVEPOINT s; DELETE FROM dx_post WHERE (fam, centre, blk) IN"
                " (SELECT fam, centre, blk FROM dx_post WHERE fam = 2 LIMIT 1)");
    assert_int_equal(dayindex_check(f.db, NULL, &diff, &err), 0);
    assert_true(diff > 0);
    /* A damaged month row (attendances of whole months) is found too. */
    fx_exec(&f, "ROLLBACK TO s; RELEASE s;");
    assert_int_equal(dayindex_check(f.db, NULL, &diff, &err), 0);
    assert_int_equal(diff, 0);
    fx_exec(&f, "DELETE FROM dx_post WHERE (fam, centre, blk) IN"
                " (SELECT fam, centre, blk FROM dx_post WHERE fam = 4 LIMIT 1)");
    assert_int_equal(dayindex_check(f.db, NULL, &diff, &err), 0);
    assert_true(diff > 0);
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_corrections),
        cmocka_unit_test(test_first_build),
        cmocka_unit_test(test_check_finds_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
