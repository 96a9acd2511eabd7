/*
 * query: answers questions about the totals; see query.h for the contract
 * and the cost of each path.
 *
 * Two paths give the same numbers for the same question:
 *
 *   counters  the maintained counters (table `counters`, merge.h "Totals
 *             layout"): for each period of the window, one range of the
 *             integer key (metric, grain, d1, d2, period) with the filters
 *             on the values.  Periods are found by seeking the next key of
 *             the same dimensions, so a query never scans other dimensions'
 *             rows.
 *   state     one aggregate SELECT over st_cluster / st_cluster_att /
 *             st_event, built from fixed fragments (values are bound or
 *             are integers the code computed), for exact date ranges and
 *             for more than two dimensions.
 *
 * SQL text never contains user input.  Only SELECTs: works on a read-only
 * handle.
 */
#include "server/query.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/util.h"
#include "server/dayindex.h"
#include "server/state_store.h"

#define QRY_LABEL 160 /* bytes of one label */
#define QRY_SQL 4096  /* bytes of one generated statement */
#define QRY_MAX_DATE 29991231u
#define QRY_DAY_MS 86400000ll

static const char *const qry_metric_names[] = {NULL, "registered", "trainees", "attendances",
                                               "events"};
static const char *const qry_dim_names[] = {NULL,        "province", "district", "centre",
                                            "programme", "gender",   "age",      "area",
                                            "skill",     "home",     "kind"};

/* A filter resolved against the database: the stored value to match. */
typedef struct qry_filter {
    int dim;                 /* enum merge_dim */
    int text;                /* 1: match text (case-insensitive) */
    int64_t code;            /* INTEGER value */
    char s[QUERY_VALUE_MAX]; /* TEXT value */
} qry_filter;

/* Everything one run needs. */
typedef struct qry_run {
    sqlite3 *db;                   /* borrowed */
    const query_spec *q;           /* borrowed */
    qry_filter f[QUERY_MAX_WHERE]; /* resolved filters */
    int nf;                        /* used */
    int dims[2], ndims;            /* distinct dimensions, ascending */
    int sdims[2], nsdims;          /* the stored ones the counters read */
    int place;                     /* 1: a place dimension, via centre */
    int summed;                    /* 1: a quarter or year summed from months */
    sqlite3_stmt *centre_name;     /* label lookup */
    query_row_fn fn;               /* caller's callback */
    void *arg;                     /* its argument */
    int64_t emitted;               /* rows given to fn */
} qry_run;

/* ---- names ------------------------------------------------------------ */

int
query_metric_parse(const char *name)
{
    int i;
    for (i = 1; name && i <= MERGE_M_MAX; i++)
        if (strcasecmp(name, qry_metric_names[i]) == 0)
            return i;
    return -1;
}

const char *
query_metric_name(int metric)
{
    return metric >= 1 && metric <= MERGE_M_MAX ? qry_metric_names[metric] : "unknown";
}

int
query_dim_parse(const char *name)
{
    int i;
    if (name && strcasecmp(name, "center") == 0)
        return MERGE_D_CENTRE;
    for (i = 1; name && i <= MERGE_D_MAX; i++)
        if (strcasecmp(name, qry_dim_names[i]) == 0)
            return i;
    return -1;
}

const char *
query_dim_name(int dim)
{
    return dim >= 1 && dim <= MERGE_D_MAX ? qry_dim_names[dim] : "none";
}

static int
grain_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcasecmp(s, "month") == 0)
        return RZ_GRAIN_MONTH;
    if (strcasecmp(s, "quarter") == 0)
        return RZ_GRAIN_QUARTER;
    if (strcasecmp(s, "year") == 0)
        return RZ_GRAIN_YEAR;
    if (strcasecmp(s, "all") == 0)
        return MERGE_GRAIN_ALL;
    return -1;
}

static const char *
grain_name(int g)
{
    switch (g) {
    case RZ_GRAIN_MONTH: return "month";
    case RZ_GRAIN_QUARTER: return "quarter";
    case RZ_GRAIN_YEAR: return "year";
    default: return "all";
    }
}

/* ---- spec --------------------------------------------------------------- */

void
query_spec_init(query_spec *q)
{
    memset(q, 0, sizeof *q);
    q->metric = MERGE_M_REGISTERED;
    q->grain = MERGE_GRAIN_ALL;
    q->window = QUERY_WIN_ALL;
}

/* Pakistan's fiscal year "FY2025-26": 1 July 2025 to 30 June 2026, as
 * government reports count.  0 and the year it starts in, or -1. */
static int
fiscal_parse(const char *s, uint32_t *start_year)
{
    unsigned y, y2;
    char tail;
    if (strlen(s) != 9 || (s[0] != 'F' && s[0] != 'f') || (s[1] != 'Y' && s[1] != 'y') ||
        s[6] != '-' || strspn(s + 2, "0123456789") != 4 || strspn(s + 7, "0123456789") != 2 ||
        sscanf(s + 2, "%4u-%2u%c", &y, &y2, &tail) != 2)
        return -1;
    if (y < 1900 || y > 2998 || y2 != (y + 1) % 100)
        return -1;
    *start_year = y;
    return 0;
}

static int
spec_set_period(query_spec *q, const char *value, rz_error *err)
{
    int g;
    uint32_t key, fy;
    if (q->window == QUERY_WIN_RANGE)
        return rz_fail(err, RZ_E_ARG, "use either a period or from/to, not both");
    if (value && fiscal_parse(value, &fy) == 0) {
        /* A fiscal year is the exact range July..June: answered like
         * from/to, ages in the year it ends (PROTOCOL.md section 5). */
        q->window = QUERY_WIN_RANGE;
        q->from = fy * 10000 + 701;
        q->to = (fy + 1) * 10000 + 630;
        if (!q->grain_set)
            q->grain = MERGE_GRAIN_ALL;
        return 0;
    }
    if (period_parse(value, &g, &key) != 0)
        return rz_fail(err, RZ_E_ARG,
                       "period must look like 2026, 2026-Q1, 2026-03 or FY2025-26 (July-June)");
    q->window = QUERY_WIN_PERIOD;
    q->period_grain = g;
    q->period = key;
    if (!q->grain_set)
        q->grain = g;
    return 0;
}

static int
spec_set_date(query_spec *q, const char *name, const char *value, rz_error *err)
{
    uint32_t d = date_parse(value);
    if (q->window == QUERY_WIN_PERIOD)
        return rz_fail(err, RZ_E_ARG, "use either a period or from/to, not both");
    if (d == 0)
        return rz_fail(err, RZ_E_ARG, "%s must be a date YYYY-MM-DD", name);
    if (q->window != QUERY_WIN_RANGE) {
        q->window = QUERY_WIN_RANGE;
        q->from = RZ_MIN_DATE;
        q->to = QRY_MAX_DATE;
    }
    if (name[0] == 'f')
        q->from = d;
    else
        q->to = d;
    if (!q->grain_set)
        q->grain = MERGE_GRAIN_ALL;
    return 0;
}

static int
spec_add_filter(query_spec *q, int dim, const char *value, rz_error *err)
{
    if (q->nwhere == QUERY_MAX_WHERE)
        return rz_fail(err, RZ_E_ARG, "at most %d filters", QUERY_MAX_WHERE);
    if (!value || !*value || strlen(value) >= QUERY_VALUE_MAX)
        return rz_fail(err, RZ_E_ARG, "filter value for %s must be 1..%d bytes",
                       query_dim_name(dim), QUERY_VALUE_MAX - 1);
    q->where[q->nwhere].dim = dim;
    snprintf(q->where[q->nwhere].value, QUERY_VALUE_MAX, "%s", value);
    q->nwhere++;
    return 0;
}

static int
spec_set_where(query_spec *q, const char *value, rz_error *err)
{
    char dim[32];
    const char *eq = value ? strchr(value, '=') : NULL;
    size_t n = eq ? (size_t)(eq - value) : 0;
    int d;
    if (!eq || n == 0 || n >= sizeof dim)
        return rz_fail(err, RZ_E_ARG, "a filter is dim=value, e.g. gender=female");
    memcpy(dim, value, n);
    dim[n] = '\0';
    if (strcasecmp(dim, "period") == 0)
        return spec_set_period(q, eq + 1, err);
    if ((d = query_dim_parse(dim)) < 0)
        return rz_fail(err, RZ_E_ARG,
                       "unknown dimension '%.31s' (province district centre"
                       " programme gender age area skill home kind)",
                       dim);
    return spec_add_filter(q, d, eq + 1, err);
}

int
query_spec_set(query_spec *q, const char *name, const char *value, rz_error *err)
{
    int v;
    if (!name || !value)
        return rz_fail(err, RZ_E_ARG, "parameter without a value");
    if (strcmp(name, "metric") == 0) {
        if ((v = query_metric_parse(value)) < 0)
            return rz_fail(err, RZ_E_ARG,
                           "metric is one of registered, trainees, attendances, events");
        q->metric = v;
        return 0;
    }
    if (strcmp(name, "by") == 0) {
        if ((v = query_dim_parse(value)) < 0)
            return rz_fail(err, RZ_E_ARG,
                           "unknown dimension for by (province district"
                           " centre programme gender age area skill home kind)");
        if (q->nby == QUERY_MAX_BY)
            return rz_fail(err, RZ_E_ARG, "at most %d group-by dimensions", QUERY_MAX_BY);
        q->by[q->nby++] = v;
        return 0;
    }
    if (strcmp(name, "grain") == 0) {
        if ((v = grain_parse(value)) < 0)
            return rz_fail(err, RZ_E_ARG, "grain is one of month, quarter, year, all");
        q->grain = v;
        q->grain_set = 1;
        return 0;
    }
    if (strcmp(name, "period") == 0)
        return spec_set_period(q, value, err);
    if (strcmp(name, "from") == 0 || strcmp(name, "to") == 0)
        return spec_set_date(q, name, value, err);
    if (strcmp(name, "where") == 0)
        return spec_set_where(q, value, err);
    if ((v = query_dim_parse(name)) > 0)
        return spec_add_filter(q, v, value, err);
    return rz_fail(err, RZ_E_ARG, "unknown query parameter '%.40s'", name);
}

int
query_spec_check(const query_spec *q, rz_error *err)
{
    int i;
    if (q->metric < 1 || q->metric > MERGE_M_MAX)
        return rz_fail(err, RZ_E_ARG, "unknown metric");
    if (q->grain < RZ_GRAIN_MONTH || q->grain > MERGE_GRAIN_ALL || q->nby < 0 ||
        q->nby > QUERY_MAX_BY || q->nwhere < 0 || q->nwhere > QUERY_MAX_WHERE)
        return rz_fail(err, RZ_E_ARG, "malformed query");
    for (i = 0; i < q->nby; i++) {
        if (!merge_metric_has_dim(q->metric, q->by[i]))
            return rz_fail(err, RZ_E_ARG, "%s are not counted by %s", query_metric_name(q->metric),
                           query_dim_name(q->by[i]));
        if (i == 1 && q->by[0] == q->by[1])
            return rz_fail(err, RZ_E_ARG, "the same dimension twice in by");
    }
    for (i = 0; i < q->nwhere; i++)
        if (!merge_metric_has_dim(q->metric, q->where[i].dim))
            return rz_fail(err, RZ_E_ARG, "%s cannot be filtered by %s",
                           query_metric_name(q->metric), query_dim_name(q->where[i].dim));
    if (q->window == QUERY_WIN_PERIOD &&
        (q->grain == MERGE_GRAIN_ALL || q->grain > q->period_grain ||
         q->period_grain < RZ_GRAIN_MONTH || q->period_grain > RZ_GRAIN_YEAR))
        return rz_fail(err, RZ_E_ARG, "grain must not be coarser than the period");
    if (q->window == QUERY_WIN_RANGE && (q->from == 0 || q->from > q->to))
        return rz_fail(err, RZ_E_ARG, "from must not be after to");
    return 0;
}

/* ---- labels --------------------------------------------------------------- */

static void
period_label(char out[QRY_LABEL], const query_spec *q, uint32_t key)
{
    char a[11], b[11];
    if (q->grain == MERGE_GRAIN_ALL && q->window == QUERY_WIN_RANGE) {
        date_format(a, q->from);
        date_format(b, q->to);
        snprintf(out, QRY_LABEL, "%s..%s", a, b);
    } else if (q->grain == MERGE_GRAIN_ALL) {
        snprintf(out, QRY_LABEL, "all");
    } else if (key == 0) {
        snprintf(out, QRY_LABEL, "unknown");
    } else {
        char p[9];
        period_format(p, q->grain, key);
        snprintf(out, QRY_LABEL, "%s", p);
    }
}

static const char *
code_name(int dim, int64_t code)
{
    uint64_t c = code < 0 ? 0 : (uint64_t)code;
    switch (dim) {
    case MERGE_D_PROGRAMME: return programme_name(c);
    case MERGE_D_GENDER: return gender_name(c);
    case MERGE_D_AGE: return age_band_name((int)(code >= 0 && code < RZ_AGE_BANDS ? code : 0));
    case MERGE_D_AREA: return area_name(c);
    case MERGE_D_SKILL: return skill_name(c);
    case MERGE_D_KIND: return event_kind_name(c);
    default: return "unknown";
    }
}

/* Label of a dimension value: text (NULL or "" unknown), or a code
 * (centre: its id, named from the register). */
static void
label_of(qry_run *r, char out[QRY_LABEL], int dim, const char *text, int64_t code)
{
    if (merge_dim_is_text(dim)) {
        snprintf(out, QRY_LABEL, "%s", text && *text ? text : "unknown");
        return;
    }
    if (dim == MERGE_D_CENTRE) {
        snprintf(out, QRY_LABEL, "unknown");
        sqlite3_bind_int64(r->centre_name, 1, code);
        if (code > 0 && sqlite3_step(r->centre_name) == SQLITE_ROW)
            snprintf(out, QRY_LABEL, "%s", (const char *)sqlite3_column_text(r->centre_name, 0));
        sqlite3_reset(r->centre_name);
        return;
    }
    snprintf(out, QRY_LABEL, "%s", code_name(dim, code));
}

/* Label of a stored dimension value (column col of st). */
static void
value_label(qry_run *r, char out[QRY_LABEL], int dim, sqlite3_stmt *st, int col)
{
    if (merge_dim_is_text(dim))
        label_of(r, out, dim, (const char *)sqlite3_column_text(st, col), 0);
    else
        label_of(r, out, dim, NULL, sqlite3_column_int64(st, col));
}

/* ---- filters --------------------------------------------------------------- */

static int64_t
code_parse(int dim, const char *s)
{
    switch (dim) {
    case MERGE_D_PROGRAMME: return programme_parse(s);
    case MERGE_D_GENDER: return gender_parse(s);
    case MERGE_D_AGE: return age_band_parse(s) > 0 ? age_band_parse(s) : 0;
    case MERGE_D_AREA: return area_parse(s);
    case MERGE_D_SKILL: return skill_parse(s);
    case MERGE_D_KIND: return event_kind_parse(s);
    default: return 0;
    }
}

static int
centre_resolve(qry_run *r, const char *name, int64_t *id, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    char *end;
    long long n = strtoll(name, &end, 10);
    int rc;
    if (*name && *end == '\0' && n > 0) {
        *id = n;
        return 0;
    }
    if ((rc = rz_db_prepare(r->db, &st,
                            "SELECT centre_id FROM centre WHERE name = ?1 COLLATE NOCASE"
                            " ORDER BY centre_id LIMIT 1",
                            err)))
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0), rc = 0;
    else if (rc == SQLITE_DONE)
        rc = rz_fail(err, RZ_E_ARG, "no centre named '%.60s'", name);
    else
        rc = rz_db_fail(r->db, err, "centre lookup");
    sqlite3_finalize(st);
    return rc;
}

/* Turns "female", "20-24", "Punjab", a centre name or "unknown" into the
 * value totals store. */
static int
filter_resolve(qry_run *r, const query_filter *in, qry_filter *out, rz_error *err)
{
    int unknown = strcasecmp(in->value, "unknown") == 0;
    memset(out, 0, sizeof *out);
    out->dim = in->dim;
    out->text = merge_dim_is_text(in->dim);
    if (out->text) {
        if (unknown)
            out->s[0] = '\0';
        else if (in->dim == MERGE_D_HOME)
            merge_home_normalize(out->s, (const uint8_t *)in->value, strlen(in->value));
        else
            snprintf(out->s, sizeof out->s, "%s", in->value);
        return 0;
    }
    if (unknown)
        return 0;
    if (in->dim == MERGE_D_CENTRE)
        return centre_resolve(r, in->value, &out->code, err);
    if ((out->code = code_parse(in->dim, in->value)) <= 0)
        return rz_fail(err, RZ_E_ARG, "unknown %s '%.60s'", query_dim_name(in->dim), in->value);
    return 0;
}

static void
dims_add(qry_run *r, int d)
{
    if (r->ndims > 0 && r->dims[0] == d)
        return;
    if (r->ndims > 1 && r->dims[1] == d)
        return;
    if (r->ndims < 2)
        r->dims[r->ndims] = d;
    r->ndims++;
}

static int
run_prepare(qry_run *r, rz_error *err)
{
    const query_spec *q = r->q;
    int i, rc;
    if ((rc = query_spec_check(q, err)) ||
        (rc = rz_db_prepare(r->db, &r->centre_name, "SELECT name FROM centre WHERE centre_id = ?1",
                            err)))
        return rc;
    for (i = 0; i < q->nwhere; i++)
        if ((rc = filter_resolve(r, &q->where[i], &r->f[i], err)))
            return rc;
    r->nf = q->nwhere;
    for (i = 0; i < q->nby; i++)
        dims_add(r, q->by[i]);
    for (i = 0; i < q->nwhere; i++)
        dims_add(r, q->where[i].dim);
    if (r->ndims == 2 && r->dims[0] > r->dims[1]) {
        int t = r->dims[0];
        r->dims[0] = r->dims[1], r->dims[1] = t;
    }
    return 0;
}

static void
filter_bind(sqlite3_stmt *st, int col, const qry_filter *f)
{
    if (f->text)
        sqlite3_bind_text(st, col, f->s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, col, f->code);
}

/* Appends to a fixed-size SQL buffer; sticky truncation flag. */
typedef struct qry_sql {
    char s[QRY_SQL]; /* text */
    size_t n;        /* used */
    int overflow;    /* 1: did not fit */
} qry_sql;

static void sql_add(qry_sql *b, const char *fmt, ...) RZ_PRINTF(2, 3);

static void
sql_add(qry_sql *b, const char *fmt, ...)
{
    va_list ap;
    int w;
    if (b->overflow)
        return;
    va_start(ap, fmt);
    w = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof b->s - b->n)
        b->overflow = 1;
    else
        b->n += (size_t)w;
}

/* ---- emitting rows ----------------------------------------------------------- */

static int
row_emit(qry_run *r, uint32_t period, const char *l0, const char *l1, int64_t count)
{
    char plabel[QRY_LABEL];
    query_row row;
    period_label(plabel, r->q, period);
    memset(&row, 0, sizeof row);
    row.period = plabel;
    row.period_key = r->q->grain == MERGE_GRAIN_ALL ? 0 : period;
    row.label[0] = r->q->nby > 0 ? l0 : NULL;
    row.label[1] = r->q->nby > 1 ? l1 : NULL;
    row.count = count;
    r->emitted++;
    return r->fn(r->arg, &row);
}

/* 1 when the spec asks for exactly one window (one row without group-by). */
static int
spec_single(const query_spec *q)
{
    return q->grain == MERGE_GRAIN_ALL ||
           (q->window == QUERY_WIN_PERIOD && q->grain == q->period_grain);
}

/* ---- counters path ------------------------------------------------------------- */

/* Period keys of the spec's grain inside its window: [lo, hi], and whether
 * the unknown period (0) belongs to it. */
static void
counter_periods(const query_spec *q, uint32_t *lo, uint32_t *hi, int *unknown)
{
    uint32_t d0, d1;
    *unknown = 0;
    if (q->grain == MERGE_GRAIN_ALL) {
        *lo = *hi = 0;
        *unknown = 1;
    } else if (q->window == QUERY_WIN_PERIOD) {
        period_range(q->period_grain, q->period, &d0, &d1);
        *lo = period_key(d0, q->grain);
        *hi = period_key(d1, q->grain);
    } else {
        *lo = 1;
        *hi = UINT32_MAX;
        *unknown = 1;
    }
}

/* The months a quarter or year key of the spec's grain covers (additive
 * metrics keep months only, merge_metric_keeps_grain); 0 stays 0 (unknown
 * date) and UINT32_MAX stays the open end.  A quarter key past the fourth
 * maps past the year's last month, which is what a seek needs. */
static uint32_t
counter_month(const qry_run *r, uint32_t key, int last)
{
    uint64_t m;
    if (key == 0 || key == UINT32_MAX)
        return key;
    if (r->q->grain == RZ_GRAIN_QUARTER)
        m = (uint64_t)key / 10 * 100 + (key % 10 - 1) * 3 + 1 + (last ? 2 : 0);
    else
        m = (uint64_t)key * 100 + (last ? 12 : 1);
    return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

/* The counter key range of the question's stored dimensions over periods
 * plo..phi (merge.h, "Totals layout"): every value of both. */
static void
counter_range(const qry_run *r, uint32_t plo, uint32_t phi, int64_t *klo, int64_t *khi)
{
    int g = r->summed ? RZ_GRAIN_MONTH : r->q->grain;
    int d1 = r->nsdims > 0 ? r->sdims[0] : 0, d2 = r->nsdims > 1 ? r->sdims[1] : 0;
    *klo = merge_counter_key(r->q->metric, g, d1, d2, plo, 0, 0);
    *khi = merge_counter_key(r->q->metric, g, d1, d2, phi, MERGE_K_VALUE_ESC, MERGE_K_VALUE_ESC);
}

static int
counter_next_period(qry_run *r, sqlite3_stmt *seek, uint32_t after_or_at, uint32_t hi,
                    uint32_t *next, int *found, rz_error *err)
{
    int64_t klo, khi;
    int step;
    *found = 0;
    if (r->summed)
        after_or_at = counter_month(r, after_or_at, 0), hi = counter_month(r, hi, 1);
    if (after_or_at > MERGE_K_PERIOD_MAX)
        return 0; /* past every period a key can hold */
    counter_range(r, after_or_at, hi, &klo, &khi);
    sqlite3_bind_int64(seek, 1, klo);
    sqlite3_bind_int64(seek, 2, khi);
    step = sqlite3_step(seek);
    if (step == SQLITE_ROW) {
        *next = merge_counter_key_period(sqlite3_column_int64(seek, 0));
        if (r->summed && *next) /* the month's quarter or year */
            *next = period_key(*next * 100 + 1, r->q->grain);
        *found = 1;
    }
    sqlite3_reset(seek);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : rz_db_fail(r->db, err, "totals");
}

/* Which totals column (1 or 2) holds dimension d. */
static int
counter_slot(const qry_run *r, int d)
{
    return r->ndims > 0 && r->dims[0] == d ? 1 : 2;
}

static int
counter_one_period(qry_run *r, sqlite3_stmt *st, uint32_t period, rz_error *err)
{
    const query_spec *q = r->q;
    char l[2][QRY_LABEL];
    int i, step, rc = 0;
    int64_t rows = 0;
    int64_t klo, khi;
    /* The period, or the months it sums (the unknown period is month 0
     * alone): one key range either way. */
    if (r->summed)
        counter_range(r, counter_month(r, period, 0), counter_month(r, period, 1), &klo, &khi);
    else
        counter_range(r, period, period, &klo, &khi);
    sqlite3_bind_int64(st, 3, klo);
    sqlite3_bind_int64(st, 4, khi);
    for (i = 0; i < r->nf; i++)
        filter_bind(st, 6 + i, &r->f[i]);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        for (i = 0; i < q->nby; i++)
            value_label(r, l[i], q->by[i], st, counter_slot(r, q->by[i]) - 1);
        rows++;
        rc = row_emit(r, period, l[0], l[1], sqlite3_column_int64(st, 2));
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(r->db, err, "totals");
    sqlite3_reset(st);
    if (rc == 0 && rows == 0 && q->nby == 0 && spec_single(q))
        rc = row_emit(r, period, NULL, NULL, 0);
    return rc;
}

/* The stored dimensions behind the question's: a place dimension is read
 * from the centre counters (merge.h), so (province, gender) reads (centre,
 * gender) and (province, district) reads (centre). */
static void
counter_stored_dims(qry_run *r)
{
    int i, d;
    r->nsdims = 0;
    r->place = 0;
    for (i = 0; i < r->ndims && i < 2; i++) {
        d = r->dims[i];
        if (merge_dim_via_centre(r->q->metric, d)) {
            r->place = 1;
            d = MERGE_D_CENTRE;
        }
        if (r->nsdims == 0 || r->sdims[0] != d)
            r->sdims[r->nsdims++] = d;
    }
    if (r->nsdims == 2 && r->sdims[0] > r->sdims[1]) {
        d = r->sdims[0];
        r->sdims[0] = r->sdims[1], r->sdims[1] = d;
    }
}

/* The counter key's value slot (1 or 2) holding stored dimension d. */
static int
stored_slot(const qry_run *r, int d)
{
    return r->nsdims > 0 && r->sdims[0] == d ? 1 : 2;
}

/* SQL of the value of stored dimension d in counters t (merge.h, "Totals
 * layout"): its text, or its key field unless that field says the number
 * is kept as text. */
static void
counter_value_expr(const qry_run *r, int d, char *out, size_t n)
{
    int slot = stored_slot(r, d), shift = slot == 1 ? MERGE_K_VALUE_BITS : 0;
    if (merge_dim_is_text(d))
        snprintf(out, n, "t.t%d", slot);
    else
        snprintf(out, n,
                 "(CASE WHEN ((t.k >> %d) & %d) = %d THEN CAST(t.t%d AS INTEGER)"
                 " ELSE (t.k >> %d) & %d END)",
                 shift, MERGE_K_VALUE_ESC, MERGE_K_VALUE_ESC, slot, shift, MERGE_K_VALUE_ESC);
}

/* SQL expression of the question's dimension d over counters t and centre
 * ce. */
static void
counter_dim_expr(const qry_run *r, int d, char *out, size_t n)
{
    switch (merge_dim_via_centre(r->q->metric, d) ? d : MERGE_D_NONE) {
    case MERGE_D_PROVINCE: snprintf(out, n, "coalesce(ce.province, '')"); break;
    case MERGE_D_DISTRICT: snprintf(out, n, "coalesce(ce.district, '')"); break;
    case MERGE_D_PROGRAMME: snprintf(out, n, "coalesce(ce.programme, 0)"); break;
    default: counter_value_expr(r, d, out, n); break;
    }
}

/* One statement per question: columns q1, q2 are the question's dimensions
 * in r->dims order (counter_slot), then the count.  Without a place
 * dimension it reads rows as stored; with one it sums the centre counters
 * grouped by the asked dimensions. */
static int
counter_prepare(qry_run *r, sqlite3_stmt **st, rz_error *err)
{
    qry_sql b = {.n = 0, .overflow = 0};
    char e[2][160];
    int i;
    counter_stored_dims(r);
    /* A quarter or year of an additive metric is the sum of its months:
     * in the counter key they are one range of this dimension pair's
     * counters (?3..?4, counter_one_period). */
    r->summed = !merge_metric_keeps_grain(r->q->metric, r->q->grain);
    for (i = 0; i < 2; i++) {
        if (i < r->ndims)
            counter_dim_expr(r, r->dims[i], e[i], sizeof e[i]);
        else
            snprintf(e[i], sizeof e[i], "0");
    }
    sql_add(&b, "SELECT %s AS q1, %s AS q2, %s FROM counters t", e[0], e[1],
            r->place || r->summed ? "sum(t.n)" : "t.n");
    if (r->place) {
        char c[160];
        counter_value_expr(r, MERGE_D_CENTRE, c, sizeof c);
        sql_add(&b, " LEFT JOIN centre ce ON ce.centre_id = %s", c);
    }
    sql_add(&b, " WHERE t.k BETWEEN ?3 AND ?4");
    for (i = 0; i < r->nf; i++) {
        char f[160];
        counter_dim_expr(r, r->f[i].dim, f, sizeof f);
        sql_add(&b, " AND %s = ?%d%s", f, 6 + i, r->f[i].text ? " COLLATE NOCASE" : "");
    }
    if (r->place || r->summed) {
        /* Groups of the group-by dimensions; without any, one row, and
         * none when no counter matched (grouping by a constant). */
        sql_add(&b, " GROUP BY ");
        for (i = 0; i < r->q->nby; i++)
            sql_add(&b, "q%d, ", counter_slot(r, r->q->by[i]));
        sql_add(&b, "t.k >> 60");
    }
    /* Rows in the order of the group-by dimensions, unknown last. */
    sql_add(&b, " ORDER BY ");
    for (i = 0; i < r->q->nby; i++) {
        int slot = counter_slot(r, r->q->by[i]);
        sql_add(&b, "q%d IN (0, ''), q%d, ", slot, slot);
    }
    sql_add(&b, "q1, q2");
    if (b.overflow)
        return rz_fail(err, RZ_E_INTERNAL, "query too long");
    return rz_db_prepare(r->db, st, b.s, err);
}

static int
counter_run(qry_run *r, rz_error *err)
{
    sqlite3_stmt *st = NULL, *seek = NULL;
    uint32_t lo, hi, p, next;
    int unknown, found, rc;

    counter_periods(r->q, &lo, &hi, &unknown);
    if ((rc = counter_prepare(r, &st, err)) ||
        (rc = rz_db_prepare(r->db, &seek,
                            "SELECT k FROM counters WHERE k BETWEEN ?1 AND ?2"
                            " ORDER BY k LIMIT 1",
                            err)))
        goto out;
    if (r->q->grain == MERGE_GRAIN_ALL) {
        rc = counter_one_period(r, st, 0, err);
        goto out;
    }
    if (spec_single(r->q)) { /* one known period: answer even when empty */
        rc = counter_one_period(r, st, lo, err);
        goto out;
    }
    for (p = lo; rc == 0 && p <= hi; p = next + 1) {
        if ((rc = counter_next_period(r, seek, p, hi, &next, &found, err)) || !found)
            break;
        rc = counter_one_period(r, st, next, err);
        if (next == UINT32_MAX)
            break;
    }
    if (rc == 0 && unknown) {
        if ((rc = counter_next_period(r, seek, 0, 0, &next, &found, err)) == 0 && found)
            rc = counter_one_period(r, st, 0, err);
    }
out:
    sqlite3_finalize(st);
    sqlite3_finalize(seek);
    return rc;
}

/* ---- state path -------------------------------------------------------------- */

/* SQL fragments of one metric's source. */
typedef struct qry_source {
    const char *from;        /* FROM ... joins */
    const char *day;         /* the date deciding the period */
    const char *range_col;   /* indexed column for a date window */
    const char *range_extra; /* extra condition with a date window */
    const char *where;       /* always */
    const char *count;       /* aggregate */
} qry_source;

#define QRY_EVENT_DAY                                                                              \
    "(CASE WHEN typeof(e.date) = 'integer' AND (e.bad & 8) = 0 THEN e.date ELSE 0 END)"
#define QRY_EVENT_KIND                                                                             \
    "(CASE WHEN typeof(e.kind) = 'integer' AND (e.bad & 2) = 0 THEN e.kind ELSE 0 END)"

static void
source_of(int metric, qry_source *s)
{
    static const char people[] = "st_cluster c LEFT JOIN centre ce ON ce.centre_id = c.centre_id";
    /* Attendance counts at the event's centre (a.centre), not the person's. */
    static const char atts[] = "st_cluster_att a JOIN st_cluster c ON c.ckey = a.ckey"
                               " LEFT JOIN centre ce ON ce.centre_id = a.centre";
    memset(s, 0, sizeof *s);
    switch (metric) {
    case MERGE_M_REGISTERED:
        *s = (qry_source){people, "c.reg_date", "c.reg_date", "1", "1", "count(*)"};
        break;
    case MERGE_M_TRAINEES:
        *s = (qry_source){atts, "a.day", "a.day", "1", "1", "count(DISTINCT a.ckey)"};
        break;
    case MERGE_M_ATTENDANCES:
        *s = (qry_source){atts, "a.day", "a.day", "1", "1", "sum(a.n)"};
        break;
    default:
        *s = (qry_source){"st_event e LEFT JOIN centre ce ON ce.centre_id = e.centre_id",
                          QRY_EVENT_DAY,
                          "e.date",
                          "(e.bad & 8) = 0",
                          "e.deleted = 0",
                          "count(*)"};
        break;
    }
}

/* A range or fiscal year counts ages in the year in which it ends; an open
 * end (from alone) ends this year. */
static uint32_t
range_age_year(const query_spec *q)
{
    uint32_t end = q->to;
    if (end == QRY_MAX_DATE)
        end = date_of_ms((uint64_t)time(NULL) * 1000);
    return end / 10000;
}

/* The year ages are computed in (see query.h). */
static void
age_year_expr(const query_spec *q, char *out, size_t n)
{
    if (q->window == QUERY_WIN_RANGE && q->grain == MERGE_GRAIN_ALL) {
        snprintf(out, n, "%u", range_age_year(q));
    } else if (q->metric == MERGE_M_REGISTERED ||
               (q->grain == MERGE_GRAIN_ALL && q->window == QUERY_WIN_ALL))
        snprintf(out, n, "(c.reg_date / 10000)");
    else if (q->metric == MERGE_M_TRAINEES && q->grain == MERGE_GRAIN_ALL)
        snprintf(out, n, "%u", q->from / 10000);
    else if (q->metric == MERGE_M_TRAINEES)
        snprintf(out, n, "d.y");
    else
        snprintf(out, n, "(a.day / 10000)");
}

static void
dim_expr(const query_spec *q, int dim, char *out, size_t n)
{
    int ev = q->metric == MERGE_M_EVENTS;
    char y[64];
    switch (dim) {
    case MERGE_D_PROVINCE: snprintf(out, n, "coalesce(ce.province, '')"); break;
    case MERGE_D_DISTRICT: snprintf(out, n, "coalesce(ce.district, '')"); break;
    case MERGE_D_CENTRE:
        snprintf(out, n, "%s",
                 ev                                 ? "e.centre_id"
                 : q->metric == MERGE_M_ATTENDANCES ? "a.centre"
                 : q->metric == MERGE_M_TRAINEES    ? "d.centre"
                                                    : "c.centre_id");
        break;
    case MERGE_D_PROGRAMME: snprintf(out, n, "coalesce(ce.programme, 0)"); break;
    case MERGE_D_GENDER: snprintf(out, n, "c.gender"); break;
    case MERGE_D_AREA: snprintf(out, n, "c.area"); break;
    case MERGE_D_SKILL: snprintf(out, n, "c.skill"); break;
    case MERGE_D_HOME: snprintf(out, n, "c.home"); break;
    case MERGE_D_KIND: snprintf(out, n, "%s", ev ? QRY_EVENT_KIND : "a.kind"); break;
    case MERGE_D_AGE:
        /* common/domain.c age_band(), in SQL */
        age_year_expr(q, y, sizeof y);
        snprintf(out, n,
                 "(CASE WHEN c.birth_year < %d OR c.birth_year > %s THEN 0"
                 " WHEN %s - c.birth_year < 15 THEN 1 WHEN %s - c.birth_year < 20 THEN 2"
                 " WHEN %s - c.birth_year < 25 THEN 3 WHEN %s - c.birth_year < 30 THEN 4"
                 " WHEN %s - c.birth_year < 35 THEN 5 WHEN %s - c.birth_year < 45 THEN 6"
                 " WHEN %s - c.birth_year < 60 THEN 7 ELSE 8 END)",
                 RZ_MIN_BIRTH_YEAR, y, y, y, y, y, y, y, y);
        break;
    default: snprintf(out, n, "0"); break;
    }
}

static void
period_expr(int grain, const char *day, char *out, size_t n)
{
    switch (grain) {
    case RZ_GRAIN_MONTH:
        snprintf(out, n, "(CASE WHEN %s > 0 THEN %s / 100 ELSE 0 END)", day, day);
        break;
    case RZ_GRAIN_QUARTER:
        snprintf(out, n,
                 "(CASE WHEN %s > 0 THEN (%s / 10000) * 10 + ((%s / 100) %% 100 - 1) / 3 + 1"
                 " ELSE 0 END)",
                 day, day, day);
        break;
    case RZ_GRAIN_YEAR: snprintf(out, n, "(%s / 10000)", day); break;
    default: snprintf(out, n, "0"); break;
    }
}

/* Shared tail: filters, grouping, order; prepares and binds. */
static int
state_finish(qry_run *r, qry_sql *b, sqlite3_stmt **st, rz_error *err)
{
    char e[1024];
    int i;
    for (i = 0; i < r->nf; i++) {
        dim_expr(r->q, r->f[i].dim, e, sizeof e);
        sql_add(b, " AND %s = ?%d%s", e, i + 1, r->f[i].text ? " COLLATE NOCASE" : "");
    }
    sql_add(b, " GROUP BY p, x0, x1 ORDER BY p = 0, p, x0 IN (0, ''), x0, x1 IN (0, ''), x1");
    if (b->overflow)
        return rz_fail(err, RZ_E_INTERNAL, "query too long");
    if ((i = rz_db_prepare(r->db, st, b->s, err)))
        return i;
    for (i = 0; i < r->nf; i++)
        filter_bind(*st, i + 1, &r->f[i]);
    return 0;
}

/* 1 when the question has a place dimension (centre, province, district,
 * programme) among its breakdowns or filters. */
static int
run_has_place(const qry_run *r)
{
    int i, d;
    for (i = 0; i < r->q->nby + r->q->nwhere; i++) {
        d = i < r->q->nby ? r->q->by[i] : r->q->where[i - r->q->nby].dim;
        if (d == MERGE_D_CENTRE || merge_dim_is_place(d))
            return 1;
    }
    return 0;
}

/* Trainees: first the distinct (period, cluster) pairs from the covering
 * day index -- with the centre of the event when a place is asked, since a
 * person counts at every place that trained them (DESIGN "Where a figure
 * happened") -- then one st_cluster lookup per pair, not per attendance,
 * and each person once per place. */
static int
trainees_prepare(qry_run *r, sqlite3_stmt **st, uint32_t d0, uint32_t d1, rz_error *err)
{
    const query_spec *q = r->q;
    qry_sql b = {.n = 0, .overflow = 0};
    char e[1024];
    int i, place = run_has_place(r);
    period_expr(q->grain, "a.day", e, sizeof e);
    sql_add(&b, "SELECT d.p AS p");
    for (i = 0; i < q->nby; i++) {
        char x[1024];
        dim_expr(q, q->by[i], x, sizeof x);
        sql_add(&b, ", %s AS x%d", x, i);
    }
    for (; i < QUERY_MAX_BY; i++)
        sql_add(&b, ", 0 AS x%d", i);
    /* y (the period's year, for ages) is constant within a period; for all
     * time it must not split a person. */
    sql_add(&b,
            ", %s AS n FROM (SELECT DISTINCT %s AS p, %s AS y,"
            " a.ckey AS ckey, %s AS centre FROM st_cluster_att a",
            place ? "count(DISTINCT d.ckey)" : "count(*)", e,
            q->grain == MERGE_GRAIN_ALL ? "0" : "a.day / 10000", place ? "a.centre" : "0");
    if (q->window != QUERY_WIN_ALL)
        sql_add(&b, " WHERE a.day BETWEEN %u AND %u", d0, d1);
    sql_add(&b, ") d JOIN st_cluster c ON c.ckey = d.ckey"
                " LEFT JOIN centre ce ON ce.centre_id = d.centre WHERE 1");
    return state_finish(r, &b, st, err);
}

static int
state_prepare(qry_run *r, sqlite3_stmt **st, rz_error *err)
{
    const query_spec *q = r->q;
    qry_sql b = {.n = 0, .overflow = 0};
    qry_source s;
    char e[1024];
    uint32_t d0 = q->from, d1 = q->to;
    int i;

    source_of(q->metric, &s);
    if (q->window == QUERY_WIN_PERIOD)
        period_range(q->period_grain, q->period, &d0, &d1);
    if (q->metric == MERGE_M_TRAINEES)
        return trainees_prepare(r, st, d0, d1, err);
    period_expr(q->grain, s.day, e, sizeof e);
    sql_add(&b, "SELECT %s AS p", e);
    for (i = 0; i < q->nby; i++) {
        dim_expr(q, q->by[i], e, sizeof e);
        sql_add(&b, ", %s AS x%d", e, i);
    }
    for (; i < QUERY_MAX_BY; i++)
        sql_add(&b, ", 0 AS x%d", i);
    sql_add(&b, ", %s AS n FROM %s WHERE %s", s.count, s.from, s.where);
    if (q->window != QUERY_WIN_ALL)
        sql_add(&b, " AND %s BETWEEN %u AND %u AND %s", s.range_col, d0, d1, s.range_extra);
    return state_finish(r, &b, st, err);
}

static int
state_run(qry_run *r, rz_error *err)
{
    const query_spec *q = r->q;
    sqlite3_stmt *st = NULL;
    char l[2][QRY_LABEL];
    int i, step = SQLITE_DONE, rc;

    if ((rc = state_prepare(r, &st, err)))
        return rc;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        for (i = 0; i < q->nby; i++)
            value_label(r, l[i], q->by[i], st, 1 + i);
        rc = row_emit(r, (uint32_t)sqlite3_column_int64(st, 0), l[0], l[1],
                      sqlite3_column_int64(st, 3));
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(r->db, err, "state query");
    sqlite3_finalize(st);
    if (rc == 0 && r->emitted == 0 && q->nby == 0 && spec_single(q))
        rc = row_emit(r, q->window == QUERY_WIN_PERIOD ? q->period : 0, NULL, NULL, 0);
    return rc;
}

/* ---- day index path ------------------------------------------------------------ */

/* 1 when the day index answers the spec: a date window (a range, or a
 * period the counters cannot answer), on a database whose index is built.
 * --scan still reads the state tables (verification). */
static int
uses_index(const qry_run *r)
{
    return !r->q->scan && r->q->window != QUERY_WIN_ALL && dayindex_ready(r->db);
}

static int
index_row(void *arg, uint32_t period, const dayindex_val v[2], int64_t count)
{
    qry_run *r = arg;
    char l[2][QRY_LABEL];
    int i;
    for (i = 0; i < r->q->nby; i++)
        label_of(r, l[i], r->q->by[i], v[i].text ? v[i].s : NULL, v[i].code);
    return row_emit(r, period, l[0], l[1], count);
}

/* Whole months of an index question read from the month counters
 * (dayindex_months_fn): `k` is the run with the stored dimensions the
 * counters are read by, so the key range and the value decoding are the
 * counter path's (counter_range, counter_value_expr). */
typedef struct qry_months {
    qry_run k;        /* copy of the run: sdims = the stored dimensions read */
    sqlite3_stmt *st; /* prepared on the first call */
} qry_months;

/* The stored dimensions (at most two, ascending) that hold every filter
 * and group-by of an additive question, as the month counters keep them
 * (merge.h: a place of a registration, attendance or event is its
 * centre's); 0 when the counters cannot answer it (trainees: unique
 * counts do not add up over months; a dimension the metric does not keep;
 * more than two). */
static int
months_dims(const qry_run *r, int sd[2], int *nsd)
{
    const query_spec *q = r->q;
    int i, n = q->nby + r->nf;
    *nsd = 0;
    if (q->metric == MERGE_M_TRAINEES)
        return 0;
    for (i = 0; i < n; i++) {
        int d = i < q->nby ? q->by[i] : r->f[i - q->nby].dim;
        if (!merge_metric_has_dim(q->metric, d))
            return 0;
        if (merge_dim_via_centre(q->metric, d))
            d = MERGE_D_CENTRE;
        if ((*nsd > 0 && sd[0] == d) || (*nsd > 1 && sd[1] == d))
            continue;
        if (*nsd == 2)
            return 0;
        sd[(*nsd)++] = d;
    }
    if (*nsd == 2 && sd[0] > sd[1]) {
        int t = sd[0];
        sd[0] = sd[1], sd[1] = t;
    }
    return 1;
}

static int
index_months(void *arg, uint32_t mlo, uint32_t mhi, dayindex_month_row_fn row, void *row_arg,
             rz_error *err)
{
    qry_months *m = arg;
    qry_run *r = &m->k;
    int64_t klo, khi;
    int i, step = SQLITE_DONE, rc = 0;
    if (!m->st) {
        qry_sql b = {.n = 0, .overflow = 0};
        char e[2][160];
        for (i = 0; i < 2; i++) {
            if (i < r->nsdims)
                counter_value_expr(r, r->sdims[i], e[i], sizeof e[i]);
            else
                snprintf(e[i], sizeof e[i], "0");
        }
        sql_add(&b, "SELECT t.k, %s, %s, t.n FROM counters t WHERE t.k BETWEEN ?1 AND ?2", e[0],
                e[1]);
        if (b.overflow)
            return rz_fail(err, RZ_E_INTERNAL, "query too long");
        if ((rc = rz_db_prepare(r->db, &m->st, b.s, err)))
            return rc;
    }
    counter_range(r, mlo, mhi, &klo, &khi);
    sqlite3_bind_int64(m->st, 1, klo);
    sqlite3_bind_int64(m->st, 2, khi);
    while (rc == 0 && (step = sqlite3_step(m->st)) == SQLITE_ROW) {
        dayindex_val v[2];
        memset(v, 0, sizeof v);
        for (i = 0; i < r->nsdims; i++) {
            v[i].text = merge_dim_is_text(r->sdims[i]);
            if (v[i].text)
                v[i].s = (const char *)sqlite3_column_text(m->st, 1 + i);
            else
                v[i].code = sqlite3_column_int64(m->st, 1 + i);
        }
        rc = row(row_arg, merge_counter_key_period(sqlite3_column_int64(m->st, 0)), v,
                 sqlite3_column_int64(m->st, 3));
    }
    if (rc == 0)
        rc = rz_db_rows_end(r->db, step, err, "month totals");
    sqlite3_reset(m->st);
    return rc;
}

static int
index_run(qry_run *r, rz_error *err)
{
    const query_spec *q = r->q;
    dayindex_query d;
    qry_months m;
    int i, rc, own_txn;
    memset(&d, 0, sizeof d);
    memset(&m, 0, sizeof m);
    d.metric = q->metric;
    d.grain = q->grain;
    d.from = q->from;
    d.to = q->to;
    if (q->window == QUERY_WIN_PERIOD)
        period_range(q->period_grain, q->period, &d.from, &d.to);
    /* Ages as the state path computes them (age_year_expr): the range's
     * last year, else the year of each fact's day (= its period's). */
    d.age_year =
        q->window == QUERY_WIN_RANGE && q->grain == MERGE_GRAIN_ALL ? (int)range_age_year(q) : 0;
    d.nby = q->nby;
    for (i = 0; i < q->nby; i++)
        d.by[i] = q->by[i];
    d.nf = r->nf;
    for (i = 0; i < r->nf; i++) {
        d.f[i].dim = r->f[i].dim;
        d.f[i].text = r->f[i].text;
        d.f[i].code = r->f[i].code;
        d.f[i].s = r->f[i].s;
    }
    /* Registrations, attendances and events add up over months: the whole
     * months of the range come from the month counters when they hold
     * every dimension asked, the days around them from the index. */
    if (!q->no_counters && months_dims(r, d.md, &d.nmd)) {
        m.k = *r;
        m.k.summed = 1; /* counter_range: month keys */
        m.k.nsdims = d.nmd;
        for (i = 0; i < d.nmd; i++)
            m.k.sdims[i] = d.md[i];
        d.months = index_months;
        d.months_arg = &m;
    }
    /* One snapshot for the month counters and the index rows (the HTTP
     * server already reads in a transaction; the CLI does not). */
    own_txn = sqlite3_get_autocommit(r->db);
    if (own_txn && (rc = rz_db_exec(r->db, "BEGIN", err)))
        return rc;
    rc = dayindex_run(r->db, &d, index_row, r, err);
    sqlite3_finalize(m.st);
    if (own_txn && (rc || (rc = rz_db_exec(r->db, "COMMIT", err))))
        rz_db_rollback(r->db);
    if (rc == 0 && r->emitted == 0 && q->nby == 0 && spec_single(q))
        rc = row_emit(r, q->window == QUERY_WIN_PERIOD ? q->period : 0, NULL, NULL, 0);
    return rc;
}

/* 1 when a temporary table `centre` shadows the register's on this
 * connection (totals --register-version: places as of an older version). */
static int
centre_shadowed(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int yes = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM temp.sqlite_master WHERE type = 'table'"
                           " AND name = 'centre'",
                           -1, &st, NULL) == SQLITE_OK)
        yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

/* 1 when the counters answer the spec (at most two dimensions, no exact
 * date range).  Trainee counters by province, district and programme hold
 * the place the register gave the event's centre when merged (merge.h);
 * places as of another register version come from the state tables. */
static int
uses_counters(const qry_run *r)
{
    int i;
    for (i = 0; r->q->metric == MERGE_M_TRAINEES && i < r->ndims && i < 2; i++)
        if (merge_dim_is_place(r->dims[i]) && centre_shadowed(r->db))
            return 0;
    return !r->q->scan && r->q->window != QUERY_WIN_RANGE && r->ndims <= 2;
}

int
query_run(sqlite3 *db, const query_spec *q, query_row_fn fn, void *arg, rz_error *err)
{
    qry_run r;
    int rc;
    memset(&r, 0, sizeof r);
    r.db = db;
    r.q = q;
    r.fn = fn;
    r.arg = arg;
    if ((rc = run_prepare(&r, err)) == 0)
        rc = uses_counters(&r) ? counter_run(&r, err)
             : uses_index(&r)  ? index_run(&r, err)
                               : state_run(&r, err);
    sqlite3_finalize(r.centre_name);
    return rc;
}

static int
sum_row(void *arg, const query_row *row)
{
    *(int64_t *)arg += row->count;
    return 0;
}

/* The grain whose one row is the whole window. */
static int
window_grain(const query_spec *q)
{
    return q->window == QUERY_WIN_PERIOD ? q->period_grain : MERGE_GRAIN_ALL;
}

int
query_total(sqlite3 *db, const query_spec *q, int64_t *count, rz_error *err)
{
    query_spec t = *q;
    /* One row for the whole window, never a sum of months or places: a
     * person trained in March and in May is one trainee of the year. */
    t.nby = 0;
    t.grain = window_grain(q);
    t.grain_set = 1;
    *count = 0;
    return query_run(db, &t, sum_row, count, err);
}

int
query_rows_add_up(const query_spec *q)
{
    return q->metric != MERGE_M_TRAINEES || (q->nby == 0 && q->grain == window_grain(q));
}

const char *
query_rows_note(const query_spec *q)
{
    if (query_rows_add_up(q))
        return NULL;
    return "trainees are unique persons: someone trained in several periods or places is"
           " counted in each row, so the rows can add up to more than the total, which counts"
           " each person once for the whole window";
}

static int
youth_row(void *arg, const query_row *row)
{
    if (age_band_is_youth(age_band_parse(row->label[0])))
        *(int64_t *)arg += row->count;
    return 0;
}

int
query_shares_get(sqlite3 *db, const query_spec *q, query_shares *out, rz_error *err)
{
    query_spec t = *q;
    int rc;
    memset(out, 0, sizeof *out);
    if (q->metric == MERGE_M_EVENTS)
        return rz_fail(err, RZ_E_ARG, "events have no gender or age");
    if ((rc = query_total(db, q, &out->total, err)))
        return rc;
    t.nby = 0;
    if ((rc = spec_add_filter(&t, MERGE_D_GENDER, "female", err)) ||
        (rc = query_total(db, &t, &out->women, err)))
        return rc;
    t = *q;
    t.nby = 1;
    t.by[0] = MERGE_D_AGE;
    if ((rc = query_run(db, &t, youth_row, &out->youth, err)))
        return rc;
    if (out->total > 0) {
        out->women_share = (double)out->women / (double)out->total;
        out->youth_share = (double)out->youth / (double)out->total;
    }
    return 0;
}

/* ---- as of ----------------------------------------------------------------- */

static uint64_t
stale_cutoff(uint64_t now_ms, int stale_days)
{
    uint64_t span = (uint64_t)(stale_days > 0 ? stale_days : 0) * (uint64_t)QRY_DAY_MS;
    return now_ms > span ? now_ms - span : 0;
}

int
query_asof_get(sqlite3 *db, uint64_t now_ms, int stale_days, query_asof *out, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    uint64_t cut = stale_cutoff(now_ms, stale_days);
    int rc;
    memset(out, 0, sizeof *out);
    out->now_ms = now_ms;
    out->stale_days = stale_days;
    /* Fresh and stale go by contact (a HELLO or a batch): a node that synced
     * and had nothing new is not behind. */
    if ((rc = rz_db_prepare(
             db, &st,
             "SELECT count(*), coalesce(sum(c >= ?1 AND c > 0), 0), coalesce(max(last_sync_ms), 0),"
             " coalesce(max(c), 0),"
             " (SELECT count(*) FROM (SELECT 1 FROM node WHERE revoked = 0 GROUP BY centre_id)),"
             " (SELECT count(*) FROM (SELECT max(max(last_contact_ms, last_sync_ms)) AS l"
             "  FROM node WHERE revoked = 0 GROUP BY centre_id) WHERE l < ?1 OR l = 0)"
             " FROM (SELECT last_sync_ms, max(last_contact_ms, last_sync_ms) AS c FROM node"
             "  WHERE revoked = 0)",
             err)))
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)cut);
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->nodes = sqlite3_column_int64(st, 0);
        out->nodes_fresh = sqlite3_column_int64(st, 1);
        out->newest_sync_ms = (uint64_t)sqlite3_column_int64(st, 2);
        out->newest_contact_ms = (uint64_t)sqlite3_column_int64(st, 3);
        out->centres = sqlite3_column_int64(st, 4);
        out->centres_stale = sqlite3_column_int64(st, 5);
    } else {
        rc = rz_db_fail(db, err, "as of");
    }
    sqlite3_finalize(st);
    return rc;
}

int
query_centres_sync(sqlite3 *db, uint64_t now_ms, int stale_days, query_centre_fn fn, void *arg,
                   rz_error *err)
{
    sqlite3_stmt *st = NULL;
    uint64_t cut = stale_cutoff(now_ms, stale_days);
    int rc, step = SQLITE_DONE;
    if ((rc = rz_db_prepare(db, &st,
                            "SELECT c.centre_id, c.name, c.province, c.district, c.programme,"
                            " sum(n.revoked = 0),"
                            " coalesce(max(CASE WHEN n.revoked = 0 THEN n.last_sync_ms END), 0),"
                            " coalesce(max(CASE WHEN n.revoked = 0 THEN"
                            " max(n.last_contact_ms, n.last_sync_ms) END), 0) AS l,"
                            " sum(n.revoked <> 0), sum(n.revoked = 0 AND n.quarantined <> 0)"
                            " FROM node n JOIN centre c ON c.centre_id = n.centre_id"
                            " GROUP BY c.centre_id ORDER BY sum(n.revoked = 0) > 0, l, c.name",
                            err)))
        return rc;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        query_centre_sync c;
        c.centre_id = sqlite3_column_int64(st, 0);
        c.name = (const char *)sqlite3_column_text(st, 1);
        c.province = (const char *)sqlite3_column_text(st, 2);
        c.district = (const char *)sqlite3_column_text(st, 3);
        c.programme = programme_name((uint64_t)sqlite3_column_int64(st, 4));
        c.nodes = sqlite3_column_int64(st, 5);
        c.last_sync_ms = (uint64_t)sqlite3_column_int64(st, 6);
        c.last_contact_ms = (uint64_t)sqlite3_column_int64(st, 7);
        c.lag_ms = c.last_sync_ms ? u64_diff_sat(now_ms, c.last_sync_ms) : -1;
        c.contact_lag_ms = c.last_contact_ms ? u64_diff_sat(now_ms, c.last_contact_ms) : -1;
        c.stale = c.last_contact_ms == 0 || c.last_contact_ms < cut;
        c.revoked_nodes = sqlite3_column_int64(st, 8);
        c.forked_nodes = sqlite3_column_int64(st, 9);
        rc = fn(arg, &c);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(db, err, "centres");
    sqlite3_finalize(st);
    return rc;
}

/* ---- output ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s, 0 when invalid. */
static size_t
utf8_seq(const unsigned char *s)
{
    size_t n, i;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

void
query_json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    fputc('"', out);
    while (*p) {
        size_t n = utf8_seq(p);
        if (n == 0) {
            fputs("\\ufffd", out);
            p++;
        } else if (*p == '"' || *p == '\\') {
            fputc('\\', out), fputc(*p, out), p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(out, "\\u%04x", *p);
            p++;
        } else {
            fwrite(p, 1, n, out);
            p += n;
        }
    }
    fputc('"', out);
}

void
query_iso_time(char out[32], uint64_t ms)
{
    time_t t = (time_t)(ms / 1000) + 5 * 3600;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%S+05:00", &tm) == 0)
        snprintf(out, 32, "1970-01-01T05:00:00+05:00");
}

/* ,"counting":{...}: how far the totals have counted (entries received in
 * the logs against entries merged), overall or for one centre. */
int
query_write_counting(FILE *out, sqlite3 *db, int64_t centre_id, rz_error *err)
{
    state_progress pr;
    char when[32];
    int rc = state_store_progress(db, centre_id, &pr, err);
    if (rc)
        return rc;
    fprintf(out,
            ",\"counting\":{\"received\":%llu,\"counted\":%llu,\"waiting_merge\":%llu,"
            "\"waiting_clock\":%llu,\"complete\":%s,\"paused\":%s,\"last_merge\":",
            (unsigned long long)pr.received, (unsigned long long)pr.counted,
            (unsigned long long)(pr.mergeable - pr.counted),
            (unsigned long long)(pr.received - pr.mergeable),
            pr.counted == pr.received ? "true" : "false", pr.paused ? "true" : "false");
    if (pr.last_merge_ms) {
        query_iso_time(when, pr.last_merge_ms);
        fprintf(out, "\"%s\"}", when);
    } else {
        fputs("null}", out);
    }
    return 0;
}

void
query_csv_field(FILE *out, const char *s)
{
    /* A district typed at a node could read "=HYPERLINK(...)": spreadsheets
     * must see text, not a formula (OWASP CSV injection). */
    int formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    if (!formula && !strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    if (formula)
        fputc('\'', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void
time_text(char *out, size_t n, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000 + 5 * 3600); /* Pakistan Standard Time */
    struct tm tm;
    if (ms == 0) {
        snprintf(out, n, "never");
        return;
    }
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M PKT", &tm);
}

static void
asof_text(FILE *out, const query_asof *a)
{
    char now[40], newest[40];
    time_text(now, sizeof now, a->now_ms);
    time_text(newest, sizeof newest, a->newest_sync_ms);
    fprintf(out,
            "as of %s: %lld of %lld nodes synced within %d days (newest sync %s);"
            " %lld of %lld centres behind\n",
            now, (long long)a->nodes_fresh, (long long)a->nodes, a->stale_days, newest,
            (long long)a->centres_stale, (long long)a->centres);
}

static void
asof_json(FILE *out, const query_asof *a)
{
    char now[40], newest[40];
    time_text(now, sizeof now, a->now_ms);
    time_text(newest, sizeof newest, a->newest_sync_ms);
    fprintf(out, "{\"now_ms\":%llu,\"now\":", (unsigned long long)a->now_ms);
    query_json_string(out, now);
    fprintf(out,
            ",\"stale_days\":%d,\"nodes\":%lld,\"nodes_fresh\":%lld,\"newest_sync_ms\":%llu,"
            "\"newest_sync\":",
            a->stale_days, (long long)a->nodes, (long long)a->nodes_fresh,
            (unsigned long long)a->newest_sync_ms);
    query_json_string(out, newest);
    fprintf(out, ",\"centres\":%lld,\"centres_stale\":%lld}", (long long)a->centres,
            (long long)a->centres_stale);
}

static void
window_text(const query_spec *q, char *out, size_t n)
{
    char a[11], b[11], p[9];
    switch (q->window) {
    case QUERY_WIN_PERIOD:
        period_format(p, q->period_grain, q->period);
        snprintf(out, n, "%s", p);
        break;
    case QUERY_WIN_RANGE:
        date_format(a, q->from);
        date_format(b, q->to);
        snprintf(out, n, "%s..%s", a, b);
        break;
    default: snprintf(out, n, "all time"); break;
    }
}

typedef struct qry_writer {
    FILE *out;           /* destination */
    const query_spec *q; /* the query */
    int format;          /* enum query_format */
    int64_t rows;        /* rows written */
} qry_writer;

static int
write_row(void *arg, const query_row *row)
{
    qry_writer *w = arg;
    int i;
    switch (w->format) {
    case QUERY_FMT_JSON:
        fputs(w->rows ? ",\n  {\"period\":" : "\n  {\"period\":", w->out);
        query_json_string(w->out, row->period);
        for (i = 0; i < w->q->nby; i++) {
            fprintf(w->out, ",\"%s\":", query_dim_name(w->q->by[i]));
            query_json_string(w->out, row->label[i]);
        }
        fprintf(w->out, ",\"count\":%lld}", (long long)row->count);
        break;
    case QUERY_FMT_CSV:
        query_csv_field(w->out, row->period);
        for (i = 0; i < w->q->nby; i++) {
            fputc(',', w->out);
            query_csv_field(w->out, row->label[i]);
        }
        fprintf(w->out, ",%lld\n", (long long)row->count);
        break;
    default:
        fprintf(w->out, "%-22s", row->period);
        for (i = 0; i < w->q->nby; i++)
            fprintf(w->out, " %-28s", row->label[i]);
        fprintf(w->out, " %12lld\n", (long long)row->count);
        break;
    }
    w->rows++;
    return 0;
}

/* Where the answer comes from: "totals", "index" or "state". */
static void
write_head(qry_writer *w, const query_asof *a, const char *source)
{
    const query_spec *q = w->q;
    char win[40];
    int i;
    window_text(q, win, sizeof win);
    if (w->format == QUERY_FMT_CSV) {
        fputs("period", w->out);
        for (i = 0; i < q->nby; i++)
            fprintf(w->out, ",%s", query_dim_name(q->by[i]));
        fputs(",count\n", w->out);
        return;
    }
    if (w->format == QUERY_FMT_JSON) {
        fputs("{\"as_of\":", w->out);
        asof_json(w->out, a);
        fprintf(w->out, ",\n \"query\":{\"metric\":\"%s\",\"grain\":\"%s\",\"window\":",
                query_metric_name(q->metric), grain_name(q->grain));
        query_json_string(w->out, win);
        fputs(",\"by\":[", w->out);
        for (i = 0; i < q->nby; i++)
            fprintf(w->out, "%s\"%s\"", i ? "," : "", query_dim_name(q->by[i]));
        fputs("],\"where\":[", w->out);
        for (i = 0; i < q->nwhere; i++) {
            fprintf(w->out, "%s{\"dim\":\"%s\",\"value\":", i ? "," : "",
                    query_dim_name(q->where[i].dim));
            query_json_string(w->out, q->where[i].value);
            fputc('}', w->out);
        }
        fprintf(w->out, "],\"source\":\"%s\"},\n \"rows\":[", source);
        return;
    }
    asof_text(w->out, a);
    fprintf(w->out, "%s, %s, rows per %s%s", query_metric_name(q->metric), win,
            q->grain == MERGE_GRAIN_ALL ? "window" : grain_name(q->grain),
            q->nwhere ? ", where" : "");
    for (i = 0; i < q->nwhere; i++)
        fprintf(w->out, "%s %s=%s", i ? "," : "", query_dim_name(q->where[i].dim),
                q->where[i].value);
    fprintf(w->out, " (%s)\n",
            strcmp(source, "totals") == 0  ? "maintained totals"
            : strcmp(source, "index") == 0 ? "day index"
                                           : "computed from state tables");
    fprintf(w->out, "%-22s", "period");
    for (i = 0; i < q->nby; i++)
        fprintf(w->out, " %-28s", query_dim_name(q->by[i]));
    fprintf(w->out, " %12s\n", "count");
}

/* 1 when query_run would answer from the counters. */
static int
spec_uses_counters(const query_spec *q)
{
    int d[QUERY_MAX_BY + QUERY_MAX_WHERE], n = 0, i, j;
    for (i = 0; i < q->nby + q->nwhere; i++) {
        int x = i < q->nby ? q->by[i] : q->where[i - q->nby].dim;
        for (j = 0; j < n && d[j] != x; j++)
            ;
        if (j == n)
            d[n++] = x;
    }
    return !q->scan && q->window != QUERY_WIN_RANGE && n <= 2;
}

const char *
query_source(sqlite3 *db, const query_spec *q)
{
    if (spec_uses_counters(q))
        return "totals";
    return !q->scan && q->window != QUERY_WIN_ALL && dayindex_ready(db) ? "index" : "state";
}

int
query_write(sqlite3 *db, const query_spec *q, int format, int stale_days, FILE *out, rz_error *err)
{
    qry_writer w = {out, q, format, 0};
    query_asof a;
    int64_t total = 0;
    const char *note;
    int rc;
    if ((rc = query_spec_check(q, err)) ||
        (rc = query_asof_get(db, hlc_wall_ms(), stale_days, &a, err)))
        return rc;
    write_head(&w, &a, query_source(db, q));
    rc = query_run(db, q, write_row, &w, err);
    if (rc == 0 && format != QUERY_FMT_CSV && (rc = query_total(db, q, &total, err)) != 0)
        return rc;
    note = query_rows_note(q);
    if (format == QUERY_FMT_JSON) {
        fprintf(out, "%s,\n \"total\":%lld,\"rows_add_up\":%s", w.rows ? "\n ]" : "]",
                (long long)total, note ? "false" : "true");
        if (note) {
            fputs(",\"note\":", out);
            query_json_string(out, note);
        }
        /* On a reader of both stores (the CLI, HTTP); a bare state database
         * (tests, tools) has no logs to count against. */
        if (sqlite3_db_filename(db, "log") && (rc = query_write_counting(out, db, 0, err)))
            return rc;
        fputs("}\n", out);
    } else if (format == QUERY_FMT_TEXT) {
        if (w.rows == 0)
            fputs("(no rows)\n", out);
        fprintf(out, "%-22s %12lld%s\n", "total", (long long)total,
                note ? "  (unique persons; the rows need not add up to it)" : "");
        if (note)
            fprintf(out, "note: %s\n", note);
    }
    return rc;
}

int
query_cli(sqlite3 *db, int argc, char **argv, FILE *out, rz_error *err)
{
    static const struct option opts[] = {{"metric", required_argument, 0, 'm'},
                                         {"by", required_argument, 0, 'b'},
                                         {"period", required_argument, 0, 'p'},
                                         {"grain", required_argument, 0, 'g'},
                                         {"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"where", required_argument, 0, 'w'},
                                         {"format", required_argument, 0, 'o'},
                                         {"stale-days", required_argument, 0, 's'},
                                         {"scan", no_argument, 0, 'S'},
                                         {0, 0, 0, 0}};
    query_spec q;
    int c, rc = 0, format = QUERY_FMT_TEXT, stale = 7, idx;
    char *end;
    query_spec_init(&q);
    optind = 1;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
        switch (c) {
        case 'o':
            if (strcmp(optarg, "text") == 0)
                format = QUERY_FMT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                format = QUERY_FMT_JSON;
            else if (strcmp(optarg, "csv") == 0)
                format = QUERY_FMT_CSV;
            else
                rc = rz_fail(err, RZ_E_ARG, "--format is text, json or csv");
            break;
        case 's':
            stale = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || stale < 0 || stale > 3650)
                rc = rz_fail(err, RZ_E_ARG, "--stale-days is a number of days (0..3650)");
            break;
        case 'S': q.scan = 1; break;
        case '?':
        case ':': rc = rz_fail(err, RZ_E_ARG, "unknown or incomplete option in totals"); break;
        default: rc = query_spec_set(&q, opts[idx].name, optarg, err); break;
        }
    }
    if (rc == 0 && optind < argc)
        rc = rz_fail(err, RZ_E_ARG, "unexpected argument '%.40s'", argv[optind]);
    if (rc)
        return rc;
    return query_write(db, &q, format, stale, out, err);
}

/* ---- summary -------------------------------------------------------------- */

typedef struct qry_list {
    FILE *out; /* destination */
    int json;  /* 1: JSON array items */
    int64_t n; /* items written */
} qry_list;

static int
list_row(void *arg, const query_row *row)
{
    qry_list *l = arg;
    if (l->json) {
        fputs(l->n ? ",{\"label\":" : "{\"label\":", l->out);
        query_json_string(l->out, row->label[0]);
        fprintf(l->out, ",\"count\":%lld}", (long long)row->count);
    } else {
        fprintf(l->out, "    %-32s %12lld\n", row->label[0], (long long)row->count);
    }
    l->n++;
    return 0;
}

static int
summary_list(sqlite3 *db, FILE *out, int json, const char *title, const char *key, int metric,
             int dim, rz_error *err)
{
    qry_list l = {out, json, 0};
    query_spec q;
    int rc;
    query_spec_init(&q);
    q.metric = metric;
    q.nby = 1;
    q.by[0] = dim;
    if (json)
        fprintf(out, ",\n \"%s\":[", key);
    else
        fprintf(out, "  %s:\n", title);
    rc = query_run(db, &q, list_row, &l, err);
    if (json)
        fputc(']', out);
    else if (l.n == 0)
        fputs("    (none)\n", out);
    return rc;
}

static int
summary_count(sqlite3 *db, int metric, int64_t *n, rz_error *err)
{
    query_spec q;
    query_spec_init(&q);
    q.metric = metric;
    return query_total(db, &q, n, err);
}

static void
share_text(FILE *out, const char *what, const query_shares *s)
{
    fprintf(out, "  %-34s women %5.1f%%   youth (15-29) %5.1f%%\n", what, 100.0 * s->women_share,
            100.0 * s->youth_share);
}

static void
share_json(FILE *out, const char *key, const query_shares *s)
{
    fprintf(out,
            ",\n \"%s\":{\"total\":%lld,\"women\":%lld,\"youth\":%lld,\"women_share\":%.4f,"
            "\"youth_share\":%.4f}",
            key, (long long)s->total, (long long)s->women, (long long)s->youth, s->women_share,
            s->youth_share);
}

int
query_summary(sqlite3 *db, FILE *out, int json, rz_error *err)
{
    int64_t reg = 0, trn = 0, att = 0, evs = 0;
    query_shares sr, st;
    query_asof a;
    query_spec q;
    int rc;

    query_spec_init(&q);
    if ((rc = query_asof_get(db, hlc_wall_ms(), 7, &a, err)) ||
        (rc = summary_count(db, MERGE_M_REGISTERED, &reg, err)) ||
        (rc = summary_count(db, MERGE_M_TRAINEES, &trn, err)) ||
        (rc = summary_count(db, MERGE_M_ATTENDANCES, &att, err)) ||
        (rc = summary_count(db, MERGE_M_EVENTS, &evs, err)) ||
        (rc = query_shares_get(db, &q, &sr, err)))
        return rc;
    q.metric = MERGE_M_TRAINEES;
    if ((rc = query_shares_get(db, &q, &st, err)))
        return rc;
    if (json) {
        fputs("{\"as_of\":", out);
        asof_json(out, &a);
        fprintf(out,
                ",\n \"registered\":%lld,\"trainees\":%lld,\"attendances\":%lld,\"events\":%lld",
                (long long)reg, (long long)trn, (long long)att, (long long)evs);
        share_json(out, "registered_shares", &sr);
        share_json(out, "trainee_shares", &st);
    } else {
        asof_text(out, &a);
        fprintf(out, "National totals, all time\n");
        fprintf(out, "  %-34s %12lld\n", "registered (unique persons)", (long long)reg);
        share_text(out, "  of whom", &sr);
        fprintf(out, "  %-34s %12lld\n", "unique trainees", (long long)trn);
        share_text(out, "  of whom", &st);
        fprintf(out, "  %-34s %12lld\n", "attendances", (long long)att);
        fprintf(out, "  %-34s %12lld\n", "events", (long long)evs);
    }
    if ((rc = summary_list(db, out, json, "registered by province", "registered_by_province",
                           MERGE_M_REGISTERED, MERGE_D_PROVINCE, err)) ||
        (rc = summary_list(db, out, json, "registered by gender", "registered_by_gender",
                           MERGE_M_REGISTERED, MERGE_D_GENDER, err)) ||
        (rc = summary_list(db, out, json, "registered by centre", "registered_by_centre",
                           MERGE_M_REGISTERED, MERGE_D_CENTRE, err)) ||
        (rc = summary_list(db, out, json, "events by kind", "events_by_kind", MERGE_M_EVENTS,
                           MERGE_D_KIND, err)))
        return rc;
    if (json)
        fputs("}\n", out);
    return 0;
}
