/*
 * test_query: server/query.c over a small national picture whose every
 * figure is computed by hand below: breakdowns by place, gender, age band
 * (period year minus birth year, at the band boundaries), period boundaries
 * (31 Mar / 1 Apr across quarters, 31 Dec / 1 Jan across years), distinct
 * trainees per quarter and year against the sum of months, a person edited
 * across a boundary, exact date ranges (answered from the state tables),
 * more than two dimensions, the two answer paths agreeing on every
 * breakdown, "as of", and the text / JSON / CSV writers (JSON checked by a
 * strict parser).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "merge_fixture.h"
#include "server/query.h"

#define H (3600ull * 1000ull)
#define D FX_DAY_MS
#define NOW (FX_T0 + 40 * D) /* 2026-04-19: all dates below are past */

/* ---- the scenario ------------------------------------------------------------ */

typedef struct q_person {
    uint32_t id;
    int node, centre, gender, birth, area, skill;
    const char *home;
    uint32_t reg;
} q_person;

/* Centres: 1 Lahore (Punjab, e-rozgar), 2 Peshawar (KP, innovista),
 * 3 Multan (Punjab, e-rozgar). */
static const q_person q_people[] = {
    {1, 1, 1, RZ_G_FEMALE, 2006, RZ_AREA_RURAL, RZ_SK_WHITE, "Lahore", 20260331},
    {2, 1, 1, RZ_G_MALE, 2007, RZ_AREA_URBAN, RZ_SK_BLUE, "lahore", 20260401},
    {3, 2, 2, RZ_G_FEMALE, 1996, RZ_AREA_RURAL, RZ_SK_PRO, "Peshawar", 20251231},
    {4, 3, 3, RZ_G_FEMALE, 2011, RZ_AREA_RURAL, RZ_SK_WHITE, "Multan", 20260101},
    {5, 3, 3, RZ_G_MALE, 1950, RZ_AREA_URBAN, RZ_SK_BLUE, " multan", 20260215},
};

static const struct {
    uint32_t id;
    int node, centre, kind;
    uint32_t date;
} q_events[] = {
    {1, 1, 1, RZ_EK_TRAINING, 20251231}, {2, 1, 1, RZ_EK_WORKSHOP, 20260101},
    {3, 2, 2, RZ_EK_BOOTCAMP, 20260210}, {4, 3, 3, RZ_EK_TRAINING, 20260331},
    {5, 3, 3, RZ_EK_FINLIT, 20260401},
};

static const struct {
    uint32_t event, person;
    int present;
} q_atts[] = {{1, 3, 1}, {2, 3, 1}, {3, 3, 1}, {2, 1, 1},
              {4, 1, 1}, {4, 4, 1}, {5, 4, 1}, {5, 2, 0}};

static void
q_change(fx_change *c, int node, int centre, uint64_t ms, uint8_t table)
{
    fx_change_init(c, node, centre, ms, ms - D, ms + H, table, RZ_OP_SET);
}

static void
load_scenario(fx *f)
{
    fx_change c;
    size_t i;
    for (i = 0; i < sizeof q_people / sizeof *q_people; i++) {
        const q_person *p = &q_people[i];
        q_change(&c, p->node, p->centre, NOW - D + i * H, RZ_T_PERSON);
        fx_id(c.key, p->id);
        fx_set(&c, RZ_PF_GENDER, rz_uint((uint64_t)p->gender));
        fx_set(&c, RZ_PF_BIRTH_YEAR, rz_uint((uint64_t)p->birth));
        fx_set(&c, RZ_PF_DISTRICT, rz_str(p->home));
        fx_set(&c, RZ_PF_AREA, rz_uint((uint64_t)p->area));
        fx_set(&c, RZ_PF_SKILL, rz_uint((uint64_t)p->skill));
        fx_set(&c, RZ_PF_REG_DATE, rz_uint(p->reg));
        fx_cnic(&c, MERGE_CNIC_VALID, 500 + p->id);
        fx_apply(f, &c);
    }
    for (i = 0; i < sizeof q_events / sizeof *q_events; i++) {
        q_change(&c, q_events[i].node, q_events[i].centre, NOW - D, RZ_T_EVENT);
        fx_id(c.key, 0x10000 + q_events[i].id);
        fx_set(&c, RZ_EF_KIND, rz_uint((uint64_t)q_events[i].kind));
        fx_set(&c, RZ_EF_DATE, rz_uint(q_events[i].date));
        fx_apply(f, &c);
    }
    for (i = 0; i < sizeof q_atts / sizeof *q_atts; i++) {
        q_change(&c, 1, 1, NOW - D, RZ_T_ATTENDANCE);
        fx_id(c.key, 0x10000 + q_atts[i].event);
        fx_id(c.key + 16, q_atts[i].person);
        fx_set(&c, RZ_AF_PRESENT, rz_bool(q_atts[i].present));
        fx_apply(f, &c);
    }
    fx_commit(f);
}

/* ---- collecting answers -------------------------------------------------------- */

typedef struct q_rows {
    char text[4096]; /* "period|l0|l1=count;" per row */
    int n;           /* rows */
} q_rows;

static int
collect(void *arg, const query_row *r)
{
    q_rows *out = arg;
    size_t len = strlen(out->text);
    snprintf(out->text + len, sizeof out->text - len, "%s|%s|%s=%lld;", r->period,
             r->label[0] ? r->label[0] : "-", r->label[1] ? r->label[1] : "-", (long long)r->count);
    out->n++;
    return 0;
}

/* Runs a query given as CLI-style name/value pairs and returns its rows. */
static void
ask(fx *f, q_rows *out, ...)
{
    query_spec q;
    rz_error err;
    va_list ap;
    const char *name;
    int rc;
    query_spec_init(&q);
    va_start(ap, out);
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        if (strcmp(name, "scan") == 0) {
            q.scan = 1;
            continue;
        }
        rc = query_spec_set(&q, name, value, &err);
        if (rc)
            fprintf(stderr, "%s=%s: %s\n", name, value, err.text);
        assert_int_equal(rc, 0);
    }
    va_end(ap);
    memset(out, 0, sizeof *out);
    rc = query_run(f->db, &q, collect, out, &err);
    if (rc)
        fprintf(stderr, "query: %s\n", err.text);
    assert_int_equal(rc, 0);
}

#define ASK(f, rows, ...) ask(f, rows, __VA_ARGS__, (const char *)NULL)
#define EXPECT(rows, want) assert_string_equal((rows)->text, want)

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    fx_open(f);
    load_scenario(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_close(*state);
    free(*state);
    return 0;
}

/* ---- breakdowns ------------------------------------------------------------------ */

static void
test_registered_breakdowns(void **state)
{
    fx *f = *state;
    q_rows r;
    ASK(f, &r, "metric", "registered");
    EXPECT(&r, "all|-|-=5;");
    ASK(f, &r, "metric", "registered", "by", "province");
    EXPECT(&r, "all|Khyber Pakhtunkhwa|-=1;all|Punjab|-=4;");
    ASK(f, &r, "metric", "registered", "by", "gender");
    EXPECT(&r, "all|female|-=3;all|male|-=2;");
    ASK(f, &r, "metric", "registered", "by", "centre");
    EXPECT(&r, "all|Lahore e-Rozgar|-=2;all|Peshawar Innovista|-=1;all|Multan e-Rozgar|-=2;");
    ASK(f, &r, "metric", "registered", "by", "programme");
    EXPECT(&r, "all|e-rozgar|-=4;all|innovista|-=1;");
    ASK(f, &r, "metric", "registered", "by", "home");
    EXPECT(&r, "all|Lahore|-=2;all|Multan|-=2;all|Peshawar|-=1;");
    /* Age = registration year - birth year: 20, 19, 29 (in 2025), 15, 76. */
    ASK(f, &r, "metric", "registered", "by", "age");
    EXPECT(&r, "all|15-19|-=2;all|20-24|-=1;all|25-29|-=1;all|60+|-=1;");
    ASK(f, &r, "metric", "registered", "by", "province", "by", "gender");
    EXPECT(&r, "all|Khyber Pakhtunkhwa|female=1;all|Punjab|female=2;all|Punjab|male=2;");
    /* The same pair asked the other way round. */
    ASK(f, &r, "metric", "registered", "by", "gender", "by", "province");
    EXPECT(&r, "all|female|Khyber Pakhtunkhwa=1;all|female|Punjab=2;all|male|Punjab=2;");
    ASK(f, &r, "metric", "registered", "by", "gender", "where", "province=punjab");
    EXPECT(&r, "all|female|-=2;all|male|-=2;");
    ASK(f, &r, "metric", "registered", "by", "area", "where", "centre=Multan e-Rozgar");
    EXPECT(&r, "all|rural|-=1;all|urban|-=1;");
    /* Province, district and programme are summed from the centre counters
     * at query time (merge.h): alone, paired with each other, with the
     * centre, with a person dimension, and as filters. */
    ASK(f, &r, "metric", "registered", "by", "district");
    EXPECT(&r, "all|Lahore|-=2;all|Multan|-=2;all|Peshawar|-=1;");
    ASK(f, &r, "metric", "registered", "by", "province", "by", "district");
    EXPECT(&r, "all|Khyber Pakhtunkhwa|Peshawar=1;all|Punjab|Lahore=2;all|Punjab|Multan=2;");
    ASK(f, &r, "metric", "registered", "by", "province", "by", "centre");
    EXPECT(&r, "all|Khyber Pakhtunkhwa|Peshawar Innovista=1;all|Punjab|Lahore e-Rozgar=2;"
               "all|Punjab|Multan e-Rozgar=2;");
    ASK(f, &r, "metric", "registered", "by", "programme", "by", "gender");
    EXPECT(&r, "all|e-rozgar|female=2;all|e-rozgar|male=2;all|innovista|female=1;");
    ASK(f, &r, "metric", "registered", "by", "district", "where", "programme=e-rozgar");
    EXPECT(&r, "all|Lahore|-=2;all|Multan|-=2;");
    ASK(f, &r, "metric", "registered", "where", "province=Sindh");
    EXPECT(&r, "all|-|-=0;");
    ASK(f, &r, "metric", "registered", "where", "district=multan");
    EXPECT(&r, "all|-|-=2;");
}

static void
test_period_boundaries(void **state)
{
    fx *f = *state;
    q_rows r;
    /* 31 Mar is Q1, 1 Apr is Q2; 31 Dec 2025 and 1 Jan 2026 are different years. */
    ASK(f, &r, "metric", "registered", "grain", "quarter");
    EXPECT(&r, "2025-Q4|-|-=1;2026-Q1|-|-=3;2026-Q2|-|-=1;");
    ASK(f, &r, "metric", "registered", "grain", "year");
    EXPECT(&r, "2025|-|-=1;2026|-|-=4;");
    ASK(f, &r, "metric", "registered", "period", "2026-Q1");
    EXPECT(&r, "2026-Q1|-|-=3;");
    ASK(f, &r, "metric", "registered", "period", "2026-03");
    EXPECT(&r, "2026-03|-|-=1;");
    ASK(f, &r, "metric", "registered", "period", "2026-05");
    EXPECT(&r, "2026-05|-|-=0;");
    /* Months inside a year. */
    ASK(f, &r, "metric", "registered", "period", "2026", "grain", "month");
    EXPECT(&r, "2026-01|-|-=1;2026-02|-|-=1;2026-03|-|-=1;2026-04|-|-=1;");
    ASK(f, &r, "metric", "events", "grain", "quarter", "by", "kind");
    EXPECT(&r, "2025-Q4|training|-=1;2026-Q1|training|-=1;2026-Q1|bootcamp|-=1;"
               "2026-Q1|workshop|-=1;2026-Q2|financial-literacy|-=1;");
    ASK(f, &r, "metric", "attendances", "grain", "month");
    EXPECT(&r, "2025-12|-|-=1;2026-01|-|-=2;2026-02|-|-=1;2026-03|-|-=2;2026-04|-|-=1;");
}

static void
test_distinct_trainees(void **state)
{
    fx *f = *state;
    q_rows r;
    int64_t months = 0, quarter = 0;
    query_spec q;
    rz_error err;
    /* Person 3 trains in Dec, Jan, Feb; person 1 in Jan and Mar; person 4
     * on 31 Mar and 1 Apr. */
    ASK(f, &r, "metric", "trainees", "grain", "month");
    EXPECT(&r, "2025-12|-|-=1;2026-01|-|-=2;2026-02|-|-=1;2026-03|-|-=2;2026-04|-|-=1;");
    ASK(f, &r, "metric", "trainees", "grain", "quarter");
    EXPECT(&r, "2025-Q4|-|-=1;2026-Q1|-|-=3;2026-Q2|-|-=1;");
    ASK(f, &r, "metric", "trainees", "grain", "year");
    EXPECT(&r, "2025|-|-=1;2026|-|-=3;");
    ASK(f, &r, "metric", "trainees");
    EXPECT(&r, "all|-|-=3;");
    /* Q1 counts each person once, not the sum of its months (2+1+2), even
     * when the rows are per month; the rows say they do not add up. */
    query_spec_init(&q);
    assert_int_equal(query_spec_set(&q, "metric", "trainees", &err), 0);
    assert_int_equal(query_spec_set(&q, "period", "2026-Q1", &err), 0);
    assert_int_equal(query_spec_set(&q, "grain", "month", &err), 0);
    assert_int_equal(query_total(f->db, &q, &months, &err), 0);
    assert_int_equal(months, 3);
    assert_false(query_rows_add_up(&q));
    assert_non_null(query_rows_note(&q));
    q.grain = RZ_GRAIN_QUARTER;
    assert_int_equal(query_total(f->db, &q, &quarter, &err), 0);
    assert_int_equal(quarter, 3);
    assert_true(query_rows_add_up(&q));
    /* Age in a period: 2025 - 1996 = 29, 2026 - 1996 = 30. */
    ASK(f, &r, "metric", "trainees", "grain", "year", "by", "age");
    EXPECT(&r, "2025|25-29|-=1;2026|15-19|-=1;2026|20-24|-=1;2026|30-34|-=1;");
    /* All time: the registration year's age. */
    ASK(f, &r, "metric", "trainees", "by", "age");
    EXPECT(&r, "all|15-19|-=1;all|20-24|-=1;all|25-29|-=1;");
    ASK(f, &r, "metric", "attendances", "by", "kind");
    EXPECT(&r, "all|training|-=3;all|bootcamp|-=1;all|workshop|-=2;all|financial-literacy|-=1;");
    /* Attendance is counted at the centre that ran the event: person 3
     * (Peshawar) trained twice at Lahore, person 1 (Lahore) once at Multan. */
    ASK(f, &r, "metric", "attendances", "by", "centre", "period", "2026-Q1");
    EXPECT(&r, "2026-Q1|Lahore e-Rozgar|-=2;2026-Q1|Peshawar Innovista|-=1;"
               "2026-Q1|Multan e-Rozgar|-=2;");
}

/* DESIGN "Where a figure happened": trainees count at each centre, district,
 * province and programme that trained them, once in each, so the places
 * add up to more than the national figure.  Person 3 (registered at
 * Peshawar) trained at Lahore (events 1, 2) and Peshawar (3); person 1
 * (Lahore) at Lahore (2) and Multan (4); person 4 (Multan) at Multan (4, 5). */
static void
test_trainees_where_trained(void **state)
{
    fx *f = *state;
    q_rows r;
    ASK(f, &r, "metric", "trainees", "by", "centre");
    EXPECT(&r, "all|Lahore e-Rozgar|-=2;all|Peshawar Innovista|-=1;all|Multan e-Rozgar|-=2;");
    ASK(f, &r, "metric", "trainees", "by", "province");
    EXPECT(&r, "all|Khyber Pakhtunkhwa|-=1;all|Punjab|-=3;");
    ASK(f, &r, "metric", "trainees", "by", "district");
    EXPECT(&r, "all|Lahore|-=2;all|Multan|-=2;all|Peshawar|-=1;");
    ASK(f, &r, "metric", "trainees", "by", "programme");
    EXPECT(&r, "all|e-rozgar|-=3;all|innovista|-=1;");
    ASK(f, &r, "metric", "trainees", "by", "province", "by", "gender");
    EXPECT(&r, "all|Khyber Pakhtunkhwa|female=1;all|Punjab|female=3;");
    ASK(f, &r, "metric", "trainees", "by", "province", "by", "centre");
    EXPECT(&r, "all|Khyber Pakhtunkhwa|Peshawar Innovista=1;all|Punjab|Lahore e-Rozgar=2;"
               "all|Punjab|Multan e-Rozgar=2;");
    ASK(f, &r, "metric", "trainees", "where", "province=Punjab");
    EXPECT(&r, "all|-|-=3;");
    ASK(f, &r, "metric", "trainees", "by", "gender", "where", "district=Multan");
    EXPECT(&r, "all|female|-=2;");
    ASK(f, &r, "metric", "trainees", "grain", "year", "by", "province");
    EXPECT(&r, "2025|Punjab|-=1;2026|Khyber Pakhtunkhwa|-=1;2026|Punjab|-=3;");
    ASK(f, &r, "metric", "trainees", "period", "2026-Q1", "by", "province");
    EXPECT(&r, "2026-Q1|Khyber Pakhtunkhwa|-=1;2026-Q1|Punjab|-=3;");
    ASK(f, &r, "metric", "trainees", "grain", "month", "by", "centre", "period", "2026-Q1");
    EXPECT(&r, "2026-01|Lahore e-Rozgar|-=2;2026-02|Peshawar Innovista|-=1;"
               "2026-03|Multan e-Rozgar|-=2;");
    ASK(f, &r, "metric", "trainees", "from", "2025-12-31", "to", "2026-01-01", "by", "province");
    EXPECT(&r, "2025-12-31..2026-01-01|Punjab|-=2;");
    ASK(f, &r, "metric", "attendances", "by", "province");
    EXPECT(&r, "all|Khyber Pakhtunkhwa|-=1;all|Punjab|-=6;");
    /* Registrations stay at the person's place. */
    ASK(f, &r, "metric", "registered", "by", "province");
    EXPECT(&r, "all|Khyber Pakhtunkhwa|-=1;all|Punjab|-=4;");
}

static void
test_date_ranges(void **state)
{
    fx *f = *state;
    q_rows r;
    ASK(f, &r, "metric", "registered", "from", "2026-03-15", "to", "2026-04-15");
    EXPECT(&r, "2026-03-15..2026-04-15|-|-=2;");
    ASK(f, &r, "metric", "registered", "from", "2026-03-15", "to", "2026-04-15", "by", "gender");
    EXPECT(&r, "2026-03-15..2026-04-15|female|-=1;2026-03-15..2026-04-15|male|-=1;");
    ASK(f, &r, "metric", "attendances", "from", "2025-12-31", "to", "2026-01-01");
    EXPECT(&r, "2025-12-31..2026-01-01|-|-=3;");
    /* Trainees in a range: distinct, age in the year the range ends (the
     * two were 19 and 29 in 2025, 20 and 30 in 2026; PROTOCOL.md §5). */
    ASK(f, &r, "metric", "trainees", "from", "2025-12-31", "to", "2026-01-01", "by", "age");
    EXPECT(&r, "2025-12-31..2026-01-01|20-24|-=1;2025-12-31..2026-01-01|30-34|-=1;");
    /* A fiscal year is the range July..June, ages in the year it ends. */
    {
        q_rows fy;
        ASK(f, &r, "metric", "registered", "from", "2025-07-01", "to", "2026-06-30", "by", "age");
        ASK(f, &fy, "metric", "registered", "period", "FY2025-26", "by", "age");
        assert_string_equal(fy.text, r.text);
        ASK(f, &r, "metric", "trainees", "from", "2025-07-01", "to", "2026-06-30");
        ASK(f, &fy, "metric", "trainees", "period", "fy2025-26");
        assert_string_equal(fy.text, r.text);
    }
    ASK(f, &r, "metric", "events", "from", "2026-03-31", "to", "2026-04-01", "by", "kind");
    EXPECT(&r,
           "2026-03-31..2026-04-01|training|-=1;2026-03-31..2026-04-01|financial-literacy|-=1;");
    /* A range split per month. */
    ASK(f, &r, "metric", "attendances", "from", "2026-01-01", "to", "2026-03-31", "grain", "month");
    EXPECT(&r, "2026-01|-|-=2;2026-02|-|-=1;2026-03|-|-=2;");
    ASK(f, &r, "metric", "events", "from", "2027-01-01", "to", "2027-02-01");
    EXPECT(&r, "2027-01-01..2027-02-01|-|-=0;");
    /* Three dimensions: answered from the state tables. */
    ASK(f, &r, "metric", "registered", "by", "gender", "by", "age", "where", "province=Punjab");
    EXPECT(&r, "all|female|15-19=1;all|female|20-24=1;all|male|15-19=1;all|male|60+=1;");
}

static void
test_person_edited_across_boundary(void **state)
{
    fx f;
    fx_change c;
    q_rows r;
    (void)state;
    fx_open(&f);
    load_scenario(&f);
    /* Person 1's registration moves from 31 Mar to 1 Apr; event 4 moves
     * from 31 Mar to 1 Apr too. */
    q_change(&c, 1, 1, NOW, RZ_T_PERSON);
    fx_id(c.key, 1);
    fx_set(&c, RZ_PF_REG_DATE, rz_uint(20260401));
    fx_apply(&f, &c);
    q_change(&c, 3, 3, NOW, RZ_T_EVENT);
    fx_id(c.key, 0x10000 + 4);
    fx_set(&c, RZ_EF_DATE, rz_uint(20260401));
    fx_apply(&f, &c);
    fx_commit(&f);
    ASK(&f, &r, "metric", "registered", "grain", "quarter");
    EXPECT(&r, "2025-Q4|-|-=1;2026-Q1|-|-=2;2026-Q2|-|-=2;");
    ASK(&f, &r, "metric", "trainees", "grain", "quarter");
    EXPECT(&r, "2025-Q4|-|-=1;2026-Q1|-|-=2;2026-Q2|-|-=2;");
    ASK(&f, &r, "metric", "trainees", "grain", "month");
    EXPECT(&r, "2025-12|-|-=1;2026-01|-|-=2;2026-02|-|-=1;2026-04|-|-=2;");
    fx_check_sums(&f);
    fx_close(&f);
}

/* ---- both answer paths agree ------------------------------------------------------ */

static void
both_paths(fx *f, const char *metric, const char *grain, const char *period, const char *d1,
           const char *d2)
{
    q_rows a, b;
    query_spec q;
    rz_error err;
    int pass;
    for (pass = 0; pass < 2; pass++) {
        query_spec_init(&q);
        assert_int_equal(query_spec_set(&q, "metric", metric, &err), 0);
        if (grain)
            assert_int_equal(query_spec_set(&q, "grain", grain, &err), 0);
        if (period)
            assert_int_equal(query_spec_set(&q, "period", period, &err), 0);
        if (d1)
            assert_int_equal(query_spec_set(&q, "by", d1, &err), 0);
        if (d2)
            assert_int_equal(query_spec_set(&q, "by", d2, &err), 0);
        q.scan = pass;
        memset(pass ? &b : &a, 0, sizeof a);
        assert_int_equal(query_run(f->db, &q, collect, pass ? &b : &a, &err), 0);
    }
    if (strcmp(a.text, b.text) != 0)
        fprintf(stderr, "%s %s %s %s %s\ncounters: %s\nstate:    %s\n", metric, grain ? grain : "-",
                period ? period : "-", d1 ? d1 : "-", d2 ? d2 : "-", a.text, b.text);
    assert_string_equal(a.text, b.text);
}

static void
test_counters_equal_state_scan(void **state)
{
    static const char *const metrics[] = {"registered", "trainees", "attendances", "events"};
    static const char *const grains[] = {NULL, "month", "quarter", "year"};
    fx *f = *state;
    int m, g, d1, d2, checked = 0;
    for (m = 0; m < 4; m++)
        for (g = 0; g < 4; g++)
            for (d1 = 0; d1 <= MERGE_D_MAX; d1++)
                for (d2 = d1 + 1; d2 <= MERGE_D_MAX + 1; d2++) {
                    int dd2 = d2 > MERGE_D_MAX ? 0 : d2;
                    if ((d1 && !merge_metric_has_dim(m + 1, d1)) ||
                        (dd2 && !merge_metric_has_dim(m + 1, dd2)))
                        continue;
                    both_paths(f, metrics[m], grains[g], NULL, d1 ? query_dim_name(d1) : NULL,
                               dd2 ? query_dim_name(dd2) : NULL);
                    checked++;
                }
    both_paths(f, "trainees", "month", "2026-Q1", "age", NULL);
    both_paths(f, "registered", NULL, "2026", "age", "gender");
    assert_true(checked > 400);
}

/* A centre id too large for its field of the counter key (kept as text,
 * merge.h "Totals layout") answers like any other, on both paths and
 * through the centre's place. */
static void
test_large_centre_id(void **state)
{
    static const char *const metrics[] = {"registered", "trainees", "attendances", "events"};
    fx f;
    fx_change c;
    q_rows r;
    int m, d;
    (void)state;
    fx_open(&f);
    fx_exec(&f, "INSERT INTO centre VALUES(70000, 'Gilgit Hub', 2, 'Gilgit-Baltistan', 'Gilgit');");
    load_scenario(&f);
    q_change(&c, 7, 70000, NOW - D, RZ_T_PERSON);
    fx_id(c.key, 77);
    fx_set(&c, RZ_PF_GENDER, rz_uint(RZ_G_FEMALE));
    fx_set(&c, RZ_PF_BIRTH_YEAR, rz_uint(2004));
    fx_set(&c, RZ_PF_REG_DATE, rz_uint(20260301));
    fx_apply(&f, &c);
    q_change(&c, 7, 70000, NOW - D, RZ_T_EVENT);
    fx_id(c.key, 0x10000 + 77);
    fx_set(&c, RZ_EF_KIND, rz_uint(RZ_EK_TRAINING));
    fx_set(&c, RZ_EF_DATE, rz_uint(20260302));
    fx_apply(&f, &c);
    q_change(&c, 7, 70000, NOW - D, RZ_T_ATTENDANCE);
    fx_id(c.key, 0x10000 + 77);
    fx_id(c.key + 16, 77);
    fx_set(&c, RZ_AF_PRESENT, rz_bool(1));
    fx_apply(&f, &c);
    fx_commit(&f);
    ASK(&f, &r, "metric", "registered", "where", "centre=Gilgit Hub");
    EXPECT(&r, "all|-|-=1;");
    ASK(&f, &r, "metric", "trainees", "by", "province", "where", "gender=female");
    assert_non_null(strstr(r.text, "all|Gilgit-Baltistan|-=1;"));
    ASK(&f, &r, "metric", "attendances", "grain", "month", "period", "2026-03", "by", "centre");
    assert_non_null(strstr(r.text, "2026-03|Gilgit Hub|-=1;"));
    for (m = 0; m < 4; m++)
        for (d = 1; d <= MERGE_D_MAX; d++)
            if (merge_metric_has_dim(m + 1, d)) {
                both_paths(&f, metrics[m], NULL, NULL, query_dim_name(d),
                           d == MERGE_D_CENTRE ? NULL : "centre");
                both_paths(&f, metrics[m], "month", NULL, query_dim_name(d), NULL);
            }
    fx_check_sums(&f);
    fx_close(&f);
}

/* ---- invalid specs ------------------------------------------------------------------ */

static void
test_bad_specs_are_refused(void **state)
{
    fx *f = *state;
    query_spec q;
    rz_error err;
    q_rows r;
    query_spec_init(&q);
    assert_int_equal(query_spec_set(&q, "metric", "profit", &err), RZ_E_ARG);
    assert_int_equal(query_spec_set(&q, "by", "shoe-size", &err), RZ_E_ARG);
    assert_int_equal(query_spec_set(&q, "period", "2026-Q5", &err), RZ_E_ARG);
    assert_int_equal(query_spec_set(&q, "period", "-001", &err), RZ_E_ARG);
    assert_int_equal(query_spec_set(&q, "period", "FY2025-27", &err), RZ_E_ARG);
    assert_int_equal(query_spec_set(&q, "period", "FY2025-2", &err), RZ_E_ARG);
    assert_int_equal(query_spec_set(&q, "period", "FY+025-26", &err), RZ_E_ARG);
    assert_int_equal(query_spec_set(&q, "from", "2026-02-30", &err), RZ_E_ARG);
    assert_int_equal(query_spec_set(&q, "where", "gender", &err), RZ_E_ARG);
    assert_int_equal(query_spec_set(&q, "grain", "week", &err), RZ_E_ARG);
    assert_int_equal(query_spec_set(&q, "period", "2026", &err), 0);
    assert_int_equal(query_spec_set(&q, "from", "2026-01-01", &err), RZ_E_ARG);
    query_spec_init(&q);
    assert_int_equal(query_spec_set(&q, "metric", "trainees", &err), 0);
    assert_int_equal(query_spec_set(&q, "by", "kind", &err), 0);
    assert_int_equal(query_run(f->db, &q, collect, &r, &err), RZ_E_ARG);
    query_spec_init(&q);
    assert_int_equal(query_spec_set(&q, "where", "gender=robot", &err), 0);
    assert_int_equal(query_run(f->db, &q, collect, &r, &err), RZ_E_ARG);
    query_spec_init(&q);
    assert_int_equal(query_spec_set(&q, "where", "centre=Nowhere", &err), 0);
    assert_int_equal(query_run(f->db, &q, collect, &r, &err), RZ_E_ARG);
    query_spec_init(&q);
    assert_int_equal(query_spec_set(&q, "period", "2026-03", &err), 0);
    assert_int_equal(query_spec_set(&q, "grain", "year", &err), 0);
    assert_int_equal(query_run(f->db, &q, collect, &r, &err), RZ_E_ARG);
    query_spec_init(&q);
    assert_int_equal(query_spec_set(&q, "to", "2026-01-01", &err), 0);
    assert_int_equal(query_spec_set(&q, "from", "2026-02-01", &err), 0);
    assert_int_equal(query_run(f->db, &q, collect, &r, &err), RZ_E_ARG);
}

/* ---- shares, as of ------------------------------------------------------------------ */

static void
test_shares(void **state)
{
    fx *f = *state;
    query_spec q;
    query_shares s;
    rz_error err;
    query_spec_init(&q);
    assert_int_equal(query_shares_get(f->db, &q, &s, &err), 0);
    /* 3 of 5 are women; youth 15-29: ages 20, 19, 29, 15 -> 4 of 5. */
    assert_int_equal(s.total, 5);
    assert_int_equal(s.women, 3);
    assert_int_equal(s.youth, 4);
    assert_true(s.women_share > 0.599 && s.women_share < 0.601);
    assert_int_equal(query_spec_set(&q, "where", "province=Punjab", &err), 0);
    assert_int_equal(query_spec_set(&q, "where", "area=rural", &err), 0);
    assert_int_equal(query_shares_get(f->db, &q, &s, &err), 0);
    assert_int_equal(s.total, 2); /* persons 1 and 4 */
    assert_int_equal(s.women, 2);
    assert_int_equal(s.youth, 2);
    q.metric = MERGE_M_EVENTS;
    assert_int_equal(query_shares_get(f->db, &q, &s, &err), RZ_E_ARG);
}

typedef struct q_sync {
    char text[512]; /* "centre:lag_days:stale;" */
} q_sync;

static int
sync_row(void *arg, const query_centre_sync *c)
{
    q_sync *s = arg;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof s->text - n, "%s:%lld:%d;", c->name,
             c->lag_ms < 0 ? -1LL : (long long)(c->lag_ms / (int64_t)D), c->stale);
    return 0;
}

static void
test_asof(void **state)
{
    fx *f = *state;
    query_asof a;
    q_sync s;
    rz_error err;
    sqlite3_stmt *st;
    static const struct {
        int node, centre, revoked;
        int64_t days_ago; /* -1: never */
    } nodes[] = {{1, 1, 0, 1}, {2, 1, 0, 10}, {3, 2, 0, 30}, {4, 3, 1, 0}, {5, 4, 0, -1}};
    size_t i;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "INSERT INTO node(node_id, centre_id, revoked,"
                                        " last_sync_ms) VALUES(?1, ?2, ?3, ?4)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (i = 0; i < sizeof nodes / sizeof *nodes; i++) {
        uint8_t id[8];
        fx_node(id, nodes[i].node);
        sqlite3_bind_blob(st, 1, id, 8, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, nodes[i].centre);
        sqlite3_bind_int(st, 3, nodes[i].revoked);
        sqlite3_bind_int64(
            st, 4, nodes[i].days_ago < 0 ? 0 : (int64_t)(NOW - (uint64_t)nodes[i].days_ago * D));
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    assert_int_equal(query_asof_get(f->db, NOW, 7, &a, &err), 0);
    assert_int_equal(a.nodes, 4);
    assert_int_equal(a.nodes_fresh, 1);
    assert_int_equal(a.newest_sync_ms, NOW - D);
    assert_int_equal(a.centres, 3);
    assert_int_equal(a.centres_stale, 2);
    assert_int_equal(query_asof_get(f->db, NOW, 14, &a, &err), 0);
    assert_int_equal(a.nodes_fresh, 2);
    assert_int_equal(a.centres_stale, 2);
    memset(&s, 0, sizeof s);
    assert_int_equal(query_centres_sync(f->db, NOW, 7, sync_row, &s, &err), 0);
    /* Multan's only node is revoked: listed first, with no unrevoked node. */
    assert_string_equal(
        s.text,
        "Multan e-Rozgar:-1:1;Quetta Hub:-1:1;Peshawar Innovista:30:1;Lahore e-Rozgar:1:0;");
    fx_exec(f, "DELETE FROM node");
}

/* ---- output formats ------------------------------------------------------------------- */

/* A strict JSON syntax check (RFC 8259 grammar, UTF-8 not re-validated). */
static const char *json_value(const char *p, int depth);

static const char *
json_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}

static const char *
json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                int i;
                for (i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 5;
                continue;
            }
            if (!*p || !strchr("\"\\/bfnrt", *p))
                return NULL;
        }
        p++;
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *
json_number(const char *p)
{
    const char *s = p;
    if (*p == '-')
        p++;
    if (!(*p >= '0' && *p <= '9'))
        return NULL;
    while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
           *p == '-')
        p++;
    return p > s ? p : NULL;
}

static const char *
json_value(const char *p, int depth)
{
    p = json_ws(p);
    if (depth > 20)
        return NULL;
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int obj = *p == '{';
        p = json_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                if (!(p = json_string(json_ws(p))))
                    return NULL;
                p = json_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if (!(p = json_value(p, depth + 1)))
                return NULL;
            p = json_ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '"')
        return json_string(p);
    if (strncmp(p, "true", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    if (strncmp(p, "null", 4) == 0)
        return p + 4;
    return json_number(p);
}

static void
assert_json(const char *doc)
{
    const char *end = json_value(doc, 0);
    if (!end || *json_ws(end) != '\0')
        fprintf(stderr, "invalid JSON:\n%s\n", doc);
    assert_non_null(end);
    assert_int_equal(*json_ws(end), '\0');
}

/* Runs query_cli with a NULL-terminated option list, output into buf. */
static int
cli(fx *f, char *buf, size_t n, ...)
{
    char *argv[32];
    int argc = 0, rc;
    rz_error err;
    va_list ap;
    FILE *out = fmemopen(buf, n, "w");
    assert_non_null(out);
    argv[argc++] = (char *)"totals";
    va_start(ap, n);
    while ((argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    rc = query_cli(f->db, argc, argv, out, &err);
    fclose(out);
    return rc;
}

static void
test_cli_formats(void **state)
{
    fx *f = *state;
    static char buf[1 << 16];
    const char *nl;
    assert_int_equal(cli(f, buf, sizeof buf, "--metric", "registered", "--by", "province",
                         "--format", "json", NULL),
                     0);
    assert_json(buf);
    assert_non_null(strstr(buf, "{\"period\":\"all\",\"province\":\"Punjab\",\"count\":4}"));
    assert_non_null(strstr(buf, "\"source\":\"totals\""));
    assert_int_equal(cli(f, buf, sizeof buf, "--metric", "trainees", "--grain", "quarter", "--by",
                         "gender", "--where", "province=Punjab", "--format", "csv", NULL),
                     0);
    /* Trained in Punjab (at the event's centre): person 3 on 31 Dec at Lahore,
     * persons 3, 1, 4 in Q1, person 4 in Q2. */
    assert_string_equal(
        buf, "period,gender,count\n2025-Q4,female,1\n2026-Q1,female,3\n2026-Q2,female,1\n");
    /* A district of residence typed as a spreadsheet formula stays text. */
    {
        fx_change c;
        q_change(&c, 1, 1, NOW - D, RZ_T_PERSON);
        fx_id(c.key, 99);
        fx_set(&c, RZ_PF_DISTRICT, rz_str("=cmd|' /C calc'!A0"));
        fx_set(&c, RZ_PF_REG_DATE, rz_uint(20260301));
        fx_apply(f, &c);
        fx_commit(f);
        assert_int_equal(cli(f, buf, sizeof buf, "--by", "home", "--where", "gender=unknown",
                             "--format", "csv", NULL),
                         0);
        /* Not a district of the master list: counted as unknown. */
        assert_string_equal(buf, "period,home,count\nall,unknown,1\n");
        /* A centre named like a formula stays text in the CSV. */
        fx_exec(f, "UPDATE centre SET name = '=cmd|'' /C calc''!A0' WHERE centre_id = 1");
        assert_int_equal(cli(f, buf, sizeof buf, "--by", "centre", "--format", "csv", NULL), 0);
        fx_exec(f, "UPDATE centre SET name = 'Lahore e-Rozgar' WHERE centre_id = 1");
        assert_non_null(strstr(buf, "\"'=cmd|' /C calc'!A0\","));
        q_change(&c, 1, 1, NOW, RZ_T_PERSON);
        c.op = RZ_OP_DELETE;
        fx_id(c.key, 99);
        fx_apply(f, &c);
        fx_commit(f);
    }
    assert_int_equal(cli(f, buf, sizeof buf, "--metric", "events", "--by", "kind", NULL), 0);
    /* Text: the "as of" line comes first. */
    assert_true(strncmp(buf, "as of ", 6) == 0);
    nl = strchr(buf, '\n');
    assert_non_null(nl);
    assert_non_null(strstr(buf, "financial-literacy"));
    assert_int_equal(cli(f, buf, sizeof buf, "--from", "2026-01-01", "--to", "2026-12-31",
                         "--format", "json", "--metric", "attendances", "--by", "kind", "--by",
                         "gender", NULL),
                     0);
    assert_json(buf);
    assert_non_null(strstr(buf, "\"source\":\"index\""));
    assert_int_equal(cli(f, buf, sizeof buf, "--metric", NULL), RZ_E_ARG);
    assert_int_equal(cli(f, buf, sizeof buf, "--colour", "red", NULL), RZ_E_ARG);
    assert_int_equal(cli(f, buf, sizeof buf, "--format", "xml", NULL), RZ_E_ARG);
    assert_int_equal(cli(f, buf, sizeof buf, "stray", NULL), RZ_E_ARG);
}

static void
test_summary_and_json_escaping(void **state)
{
    fx *f = *state;
    static char buf[1 << 16];
    rz_error err;
    FILE *out;
    out = fmemopen(buf, sizeof buf, "w");
    assert_int_equal(query_summary(f->db, out, 1, &err), 0);
    fclose(out);
    assert_json(buf);
    assert_non_null(strstr(buf, "\"registered\":5,\"trainees\":3,\"attendances\":7,\"events\":5"));
    assert_non_null(strstr(buf, "\"women\":3,\"youth\":4"));
    out = fmemopen(buf, sizeof buf, "w");
    assert_int_equal(query_summary(f->db, out, 0, &err), 0);
    fclose(out);
    assert_non_null(strstr(buf, "registered by province:"));
    assert_non_null(strstr(buf, "Khyber Pakhtunkhwa"));
    /* Quotes, backslashes, control bytes and broken UTF-8 stay valid JSON. */
    out = fmemopen(buf, sizeof buf, "w");
    query_json_string(out, "a\"b\\c\n\x01 \xc3\xa9 \xff\xfe \xe2\x82");
    fclose(out);
    assert_string_equal(buf,
                        "\"a\\\"b\\\\c\\u000a\\u0001 \xc3\xa9 \\ufffd\\ufffd \\ufffd\\ufffd\"");
    assert_json(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered_breakdowns),
        cmocka_unit_test(test_period_boundaries),
        cmocka_unit_test(test_distinct_trainees),
        cmocka_unit_test(test_trainees_where_trained),
        cmocka_unit_test(test_date_ranges),
        cmocka_unit_test(test_person_edited_across_boundary),
        cmocka_unit_test(test_counters_equal_state_scan),
        cmocka_unit_test(test_large_centre_id),
        cmocka_unit_test(test_bad_specs_are_refused),
        cmocka_unit_test(test_shares),
        cmocka_unit_test(test_asof),
        cmocka_unit_test(test_cli_formats),
        cmocka_unit_test(test_summary_and_json_escaping),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
