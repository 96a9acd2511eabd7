/*
 * catalogue: builds the public catalogue from the totals and protects it;
 * see catalogue.h for what it contains and suppress.h for how.
 *
 * Every figure is read once, at its finest grain (district x quarter, one
 * query_run per metric); the rest is summed here, so the published
 * relations hold exactly whatever the counters' rounding of places or
 * periods, and the suppression sees the same numbers the reader does.
 */
#include "server/catalogue.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/util.h"
#include "server/merge.h"
#include "server/query.h"

#define CAT_NAME "rozgar-public-1"
#define CAT_PKT_OFFSET_S (5 * 3600) /* Pakistan time, UTC+5 */

enum { CAT_NATIONAL = 0, CAT_PROVINCE = 1, CAT_DISTRICT = 2 };
enum { CAT_QUARTER = 0, CAT_YEAR = 1, CAT_FISCAL = 2 };
enum { CAT_PLACES_MAX = 4096, CAT_QUARTERS_MAX = 4 * 200 };

static const int cat_metrics[] = {MERGE_M_REGISTERED, MERGE_M_ATTENDANCES, MERGE_M_EVENTS};
#define CAT_NMETRICS ((int)(sizeof(cat_metrics) / sizeof(cat_metrics[0])))
static const char *const cat_level_names[] = {"national", "province", "district"};
static const char *const cat_kind_names[] = {"quarter", "year", "fiscal_year"};

typedef struct cat_place {
    int level;                      /* CAT_NATIONAL / PROVINCE / DISTRICT */
    char province[QUERY_VALUE_MAX]; /* "" for national */
    char district[QUERY_VALUE_MAX]; /* "" above district level */
    int parent;                     /* index of the enclosing place, -1 for national */
} cat_place;

typedef struct cat_period {
    int kind;       /* CAT_QUARTER / YEAR / FISCAL */
    char label[24]; /* "2025-Q3", "2025", "FY2025-26" */
    int q[4];       /* quarter periods (indices) of a year or fiscal year */
    uint32_t from;  /* first day, YYYYMMDD */
    uint32_t to;    /* last day */
} cat_period;

/* One leaf figure read from the totals. */
typedef struct cat_leaf {
    int metric; /* index into cat_metrics */
    int place;  /* district place index */
    int qidx;   /* year * 4 + quarter - 1 */
    int64_t n;  /* count */
} cat_leaf;

struct catalogue {
    uint64_t now_ms;               /* as of */
    int64_t threshold;             /* primary suppression below this */
    int nplace;                    /* used entries of place */
    cat_place *place;              /* national, then each province followed by its districts */
    int nperiod;                   /* used entries of period */
    cat_period *period;            /* quarters (ascending), then years, then fiscal years */
    int nq;                        /* quarters: period[0..nq-1] */
    int64_t *value;                /* [metric][place][period] */
    int *cell;                     /* suppression cell of each value */
    suppress_set *sup;             /* the decisions */
    int64_t undated[CAT_NMETRICS]; /* facts with no known date, not published */
};

/* Building state. */
typedef struct cat_build {
    catalogue *c;    /* being built */
    int ndist;       /* districts found */
    cat_place *dist; /* districts (province, district), unsorted */
    int ncap;        /* allocated entries of dist */
    cat_leaf *leaf;  /* figures read */
    int nleaf, lcap; /* used / allocated */
    int metric;      /* metric index being read */
    int qmin, qmax;  /* quarter range with data, qmin > qmax when none */
} cat_build;

static size_t
cat_at(const catalogue *c, int m, int p, int t)
{
    return ((size_t)m * (size_t)c->nplace + (size_t)p) * (size_t)c->nperiod + (size_t)t;
}

/* Index of district (province, district) in b->dist, added when new. */
static int
cat_district(cat_build *b, const char *prov, const char *dist, rz_error *err, int *idx)
{
    int i;
    for (i = 0; i < b->ndist; i++)
        if (strcmp(b->dist[i].province, prov) == 0 && strcmp(b->dist[i].district, dist) == 0) {
            *idx = i;
            return 0;
        }
    if (b->ndist >= CAT_PLACES_MAX)
        return rz_fail(err, RZ_E_TOOBIG, "catalogue: more than %d districts", CAT_PLACES_MAX);
    if (b->ndist == b->ncap) {
        b->ncap = b->ncap ? b->ncap * 2 : 64;
        b->dist = xrealloc(b->dist, (size_t)b->ncap * sizeof(*b->dist));
    }
    memset(&b->dist[b->ndist], 0, sizeof(b->dist[0]));
    b->dist[b->ndist].level = CAT_DISTRICT;
    snprintf(b->dist[b->ndist].province, QUERY_VALUE_MAX, "%s", prov);
    snprintf(b->dist[b->ndist].district, QUERY_VALUE_MAX, "%s", dist);
    *idx = b->ndist++;
    return 0;
}

/* Districts of the centre register: listed even without any figure. */
static int
cat_read_register(sqlite3 *db, cat_build *b, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, idx;
    if (sqlite3_prepare_v2(db,
                           "SELECT DISTINCT province, district FROM centre"
                           " ORDER BY province, district",
                           -1, &st, NULL) != SQLITE_OK)
        return rz_db_fail(db, err, "catalogue: centre register");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        const char *d = (const char *)sqlite3_column_text(st, 1);
        if ((rc = cat_district(b, p && *p ? p : "unknown", d && *d ? d : "unknown", err, &idx))) {
            sqlite3_finalize(st);
            return rc;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return rz_db_fail(db, err, "catalogue: centre register");
    return 0;
}

static int
cat_on_row(void *arg, const query_row *row)
{
    cat_build *b = arg;
    rz_error err;
    int idx, q;
    if (row->count == 0)
        return 0;
    if (row->period_key == 0) {
        b->c->undated[b->metric] += row->count;
        return 0;
    }
    if (cat_district(b, row->label[0] ? row->label[0] : "unknown",
                     row->label[1] ? row->label[1] : "unknown", &err, &idx))
        return RZ_E_TOOBIG;
    q = (int)(row->period_key / 10) * 4 + (int)(row->period_key % 10) - 1;
    if (b->nleaf == b->lcap) {
        b->lcap = b->lcap ? b->lcap * 2 : 1024;
        b->leaf = xrealloc(b->leaf, (size_t)b->lcap * sizeof(*b->leaf));
    }
    b->leaf[b->nleaf++] = (cat_leaf){b->metric, idx, q, row->count};
    if (q < b->qmin)
        b->qmin = q;
    if (q > b->qmax)
        b->qmax = q;
    return 0;
}

static int
cat_read_metric(sqlite3 *db, cat_build *b, int m, rz_error *err)
{
    query_spec q;
    int rc;
    query_spec_init(&q);
    b->metric = m;
    if ((rc = query_spec_set(&q, "metric", query_metric_name(cat_metrics[m]), err)) ||
        (rc = query_spec_set(&q, "by", "province", err)) ||
        (rc = query_spec_set(&q, "by", "district", err)) ||
        (rc = query_spec_set(&q, "grain", "quarter", err)) || (rc = query_spec_check(&q, err)))
        return rc;
    rc = query_run(db, &q, cat_on_row, b, err);
    if (rc == RZ_E_TOOBIG)
        return rz_fail(err, rc, "catalogue: more than %d districts", CAT_PLACES_MAX);
    return rc;
}

static int
cat_place_cmp(const void *a, const void *b)
{
    const cat_place *x = a, *y = b;
    int r = strcmp(x->province, y->province);
    return r ? r : strcmp(x->district, y->district);
}

/* Places in publication order; dist_place[i] = place index of b->dist[i]. */
static void
cat_places(cat_build *b, int *dist_place)
{
    catalogue *c = b->c;
    cat_place *sorted = xmalloc((size_t)(b->ndist ? b->ndist : 1) * sizeof(*sorted));
    int i, j, prov = -1;
    memcpy(sorted, b->dist, (size_t)b->ndist * sizeof(*sorted));
    qsort(sorted, (size_t)b->ndist, sizeof(*sorted), cat_place_cmp);
    c->place = xcalloc((size_t)(2 * b->ndist + 1), sizeof(*c->place));
    c->place[0].level = CAT_NATIONAL;
    c->place[0].parent = -1;
    c->nplace = 1;
    for (i = 0; i < b->ndist; i++) {
        if (prov < 0 || strcmp(c->place[prov].province, sorted[i].province) != 0) {
            prov = c->nplace++;
            c->place[prov].level = CAT_PROVINCE;
            snprintf(c->place[prov].province, QUERY_VALUE_MAX, "%s", sorted[i].province);
            c->place[prov].parent = 0;
        }
        c->place[c->nplace] = sorted[i];
        c->place[c->nplace].parent = prov;
        for (j = 0; j < b->ndist; j++)
            if (cat_place_cmp(&b->dist[j], &sorted[i]) == 0)
                dist_place[j] = c->nplace;
        c->nplace++;
    }
    free(sorted);
}

static void
cat_quarter_dates(int qidx, uint32_t *from, uint32_t *to)
{
    period_range(RZ_GRAIN_QUARTER, (uint32_t)(qidx / 4) * 10 + (uint32_t)(qidx % 4) + 1, from, to);
}

/* Quarters over whole calendar and fiscal years around [lo, hi], then the
 * years and fiscal years they cover whole. */
static int
cat_periods(catalogue *c, int lo, int hi, rz_error *err)
{
    int first, last, i, y;
    first = lo % 4 <= 1 ? (lo / 4 - 1) * 4 + 2 : (lo / 4) * 4;
    last = hi % 4 <= 1 ? (hi / 4) * 4 + 3 : (hi / 4 + 1) * 4 + 1;
    if (last - first + 1 > CAT_QUARTERS_MAX)
        return rz_fail(err, RZ_E_TOOBIG, "catalogue: dates span more than %d quarters",
                       CAT_QUARTERS_MAX);
    c->nq = last - first + 1;
    c->period = xcalloc((size_t)c->nq * 2, sizeof(*c->period));
    for (i = 0; i < c->nq; i++) {
        cat_period *p = &c->period[i];
        int q = first + i;
        p->kind = CAT_QUARTER;
        snprintf(p->label, sizeof(p->label), "%04d-Q%d", q / 4, q % 4 + 1);
        cat_quarter_dates(q, &p->from, &p->to);
    }
    c->nperiod = c->nq;
    for (y = first / 4; y <= last / 4; y++) {
        if (y * 4 >= first && y * 4 + 3 <= last) {
            cat_period *p = &c->period[c->nperiod++];
            p->kind = CAT_YEAR;
            snprintf(p->label, sizeof(p->label), "%04d", y);
            for (i = 0; i < 4; i++)
                p->q[i] = y * 4 + i - first;
        }
    }
    for (y = first / 4; y <= last / 4; y++) {
        if (y * 4 + 2 >= first && y * 4 + 5 <= last) {
            cat_period *p = &c->period[c->nperiod++];
            p->kind = CAT_FISCAL;
            snprintf(p->label, sizeof(p->label), "FY%04d-%02d", y, (y + 1) % 100);
            for (i = 0; i < 4; i++)
                p->q[i] = y * 4 + 2 + i - first;
        }
    }
    for (i = c->nq; i < c->nperiod; i++) {
        uint32_t f, t;
        cat_quarter_dates(c->period[i].q[0] + first, &c->period[i].from, &t);
        cat_quarter_dates(c->period[i].q[3] + first, &f, &c->period[i].to);
    }
    return 0;
}

/* Sums leaves up the places and periods, then describes cells and
 * relations to the suppression. */
static int
cat_cells(catalogue *c, rz_error *err)
{
    int m, p, t, k, rc, parts[CAT_PLACES_MAX];
    for (m = 0; m < CAT_NMETRICS; m++) {
        /* Places: districts hold leaves; a parent is the sum of its
         * children, children come after their parent, so go backwards. */
        for (p = c->nplace - 1; p > 0; p--)
            for (t = 0; t < c->nq; t++)
                c->value[cat_at(c, m, c->place[p].parent, t)] += c->value[cat_at(c, m, p, t)];
        for (p = 0; p < c->nplace; p++)
            for (t = c->nq; t < c->nperiod; t++)
                for (k = 0; k < 4; k++)
                    c->value[cat_at(c, m, p, t)] += c->value[cat_at(c, m, p, c->period[t].q[k])];
    }
    suppress_new(&c->sup);
    /* Complements are taken from detail first: a district's quarter costs
     * its count, a province 3x, the nation 9x, a year or fiscal year 3x
     * more, so the headline figures stay published where they can. */
    for (m = 0; m < CAT_NMETRICS; m++)
        for (p = 0; p < c->nplace; p++)
            for (t = 0; t < c->nperiod; t++) {
                static const int64_t level_w[] = {9, 3, 1};
                int *idx = &c->cell[cat_at(c, m, p, t)];
                if ((rc = suppress_cell(c->sup, c->value[cat_at(c, m, p, t)], idx, err)))
                    return rc;
                suppress_weight(c->sup, *idx,
                                level_w[c->place[p].level] *
                                    (c->period[t].kind == CAT_QUARTER ? 1 : 3));
            }
    for (m = 0; m < CAT_NMETRICS; m++) {
        for (t = 0; t < c->nperiod; t++)
            for (p = 0; p < c->nplace; p++) {
                int n = 0, ch;
                if (c->place[p].level == CAT_DISTRICT)
                    continue;
                for (ch = p + 1; ch < c->nplace; ch++)
                    if (c->place[ch].parent == p)
                        parts[n++] = c->cell[cat_at(c, m, ch, t)];
                if (n &&
                    (rc = suppress_relation(c->sup, c->cell[cat_at(c, m, p, t)], parts, n, err)))
                    return rc;
            }
        for (p = 0; p < c->nplace; p++)
            for (t = c->nq; t < c->nperiod; t++) {
                for (k = 0; k < 4; k++)
                    parts[k] = c->cell[cat_at(c, m, p, c->period[t].q[k])];
                if ((rc = suppress_relation(c->sup, c->cell[cat_at(c, m, p, t)], parts, 4, err)))
                    return rc;
            }
    }
    return 0;
}

int
catalogue_build(sqlite3 *db, uint64_t now_ms, int64_t threshold, catalogue **out, rz_error *err)
{
    cat_build b;
    catalogue *c = xcalloc(1, sizeof(*c));
    int *dist_place = NULL, rc, m, i, now_q, first;
    uint32_t today = date_of_ms(now_ms + (uint64_t)CAT_PKT_OFFSET_S * 1000);

    *out = NULL;
    memset(&b, 0, sizeof(b));
    b.c = c;
    b.qmin = 1 << 30;
    b.qmax = -1;
    c->now_ms = now_ms;
    c->threshold = threshold;
    if ((rc = cat_read_register(db, &b, err)))
        goto out;
    for (m = 0; m < CAT_NMETRICS; m++)
        if ((rc = cat_read_metric(db, &b, m, err)))
            goto out;
    now_q = (int)(today / 10000) * 4 + (int)((today / 100 % 100 - 1) / 3);
    if (b.qmax < 0)
        b.qmin = b.qmax = now_q;
    if ((rc =
             cat_periods(c, b.qmin < now_q ? b.qmin : now_q, b.qmax > now_q ? b.qmax : now_q, err)))
        goto out;
    first = (int)(c->period[0].from / 10000) * 4 + (int)((c->period[0].from / 100 % 100 - 1) / 3);
    dist_place = xmalloc((size_t)(b.ndist ? b.ndist : 1) * sizeof(int));
    cat_places(&b, dist_place);
    c->value = xcalloc((size_t)CAT_NMETRICS * c->nplace * c->nperiod, sizeof(int64_t));
    c->cell = xcalloc((size_t)CAT_NMETRICS * c->nplace * c->nperiod, sizeof(int));
    for (i = 0; i < b.nleaf; i++)
        c->value[cat_at(c, b.leaf[i].metric, dist_place[b.leaf[i].place],
                        b.leaf[i].qidx - first)] += b.leaf[i].n;
    if ((rc = cat_cells(c, err)) || (rc = suppress_run(c->sup, threshold, err)))
        goto out;
    *out = c;
    c = NULL;
out:
    free(dist_place);
    free(b.dist);
    free(b.leaf);
    catalogue_destroy(&c);
    return rc;
}

void
catalogue_destroy(catalogue **cp)
{
    catalogue *c = cp ? *cp : NULL;
    if (!c)
        return;
    free(c->place);
    free(c->period);
    free(c->value);
    free(c->cell);
    suppress_destroy(&c->sup);
    free(c);
    *cp = NULL;
}

void
catalogue_stats(const catalogue *c, suppress_stats *out)
{
    suppress_stats_get(c->sup, out);
}

/* ---- output ------------------------------------------------------------ */

static void
cat_write_json(const catalogue *c, FILE *out)
{
    suppress_stats st;
    char when[32], d1[11], d2[11];
    int m, p, t, k, n = 0;
    query_iso_time(when, c->now_ms);
    suppress_stats_get(c->sup, &st);
    fprintf(out,
            "{\"catalogue\":\"%s\",\"as_of\":\"%s\",\"as_of_ms\":%llu,\"threshold\":%lld,"
            "\"note\":\"Counts 1 to %lld and the cells that would let them be recomputed are "
            "withheld: value null, suppressed true.  Facts with an unknown date are in no "
            "period.\",\n\"metrics\":[",
            CAT_NAME, when, (unsigned long long)c->now_ms, (long long)c->threshold,
            (long long)c->threshold - 1);
    for (m = 0; m < CAT_NMETRICS; m++)
        fprintf(out, "%s\"%s\"", m ? "," : "", query_metric_name(cat_metrics[m]));
    fputs("],\n\"undated\":{", out);
    for (m = 0; m < CAT_NMETRICS; m++)
        fprintf(out, "%s\"%s\":%lld", m ? "," : "", query_metric_name(cat_metrics[m]),
                (long long)c->undated[m]);
    fputs("},\n\"periods\":[", out);
    for (t = 0; t < c->nperiod; t++) {
        const cat_period *pe = &c->period[t];
        date_format(d1, pe->from);
        date_format(d2, pe->to);
        fprintf(out, "%s\n{\"period\":\"%s\",\"kind\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"",
                t ? "," : "", pe->label, cat_kind_names[pe->kind], d1, d2);
        if (pe->kind != CAT_QUARTER) {
            fputs(",\"quarters\":[", out);
            for (k = 0; k < 4; k++)
                fprintf(out, "%s\"%s\"", k ? "," : "", c->period[pe->q[k]].label);
            fputs("]", out);
        }
        fputs("}", out);
    }
    fputs("],\n\"places\":[", out);
    for (p = 0; p < c->nplace; p++) {
        fprintf(out, "%s\n{\"level\":\"%s\",\"province\":", p ? "," : "",
                cat_level_names[c->place[p].level]);
        query_json_string(out, c->place[p].level ? c->place[p].province : "");
        fputs(",\"district\":", out);
        query_json_string(out, c->place[p].district);
        fputs("}", out);
    }
    fputs("],\n\"cells\":[", out);
    for (m = 0; m < CAT_NMETRICS; m++)
        for (p = 0; p < c->nplace; p++)
            for (t = 0; t < c->nperiod; t++) {
                size_t at = cat_at(c, m, p, t);
                fprintf(out,
                        "%s\n{\"metric\":\"%s\",\"level\":\"%s\",\"province\":", n++ ? "," : "",
                        query_metric_name(cat_metrics[m]), cat_level_names[c->place[p].level]);
                query_json_string(out, c->place[p].province);
                fputs(",\"district\":", out);
                query_json_string(out, c->place[p].district);
                fprintf(out, ",\"period\":\"%s\",", c->period[t].label);
                if (suppress_withheld(c->sup, c->cell[at]))
                    fputs("\"value\":null,\"suppressed\":true}", out);
                else
                    fprintf(out, "\"value\":%lld,\"suppressed\":false}", (long long)c->value[at]);
            }
    fprintf(out,
            "\n],\n\"suppression\":{\"cells\":%lld,\"relations\":%lld,\"withheld\":%lld,"
            "\"rounds\":%lld}}\n",
            (long long)st.cells, (long long)st.relations,
            (long long)(st.primary + st.complementary), (long long)st.rounds);
}

static void
cat_write_csv(const catalogue *c, FILE *out)
{
    char when[32];
    int m, p, t;
    query_iso_time(when, c->now_ms);
    /* The byte-order mark makes Excel read UTF-8 (Urdu names) correctly. */
    fprintf(
        out,
        "\xEF\xBB\xBF# Rozgar Sync public catalogue %s as of %s; counts 1 to %lld and the cells "
        "that would reveal them are withheld (flag suppressed)\r\n"
        "metric,level,province,district,period,value,flag\r\n",
        CAT_NAME, when, (long long)c->threshold - 1);
    for (m = 0; m < CAT_NMETRICS; m++)
        for (p = 0; p < c->nplace; p++)
            for (t = 0; t < c->nperiod; t++) {
                size_t at = cat_at(c, m, p, t);
                fprintf(out, "%s,%s,", query_metric_name(cat_metrics[m]),
                        cat_level_names[c->place[p].level]);
                query_csv_field(out, c->place[p].province);
                fputc(',', out);
                query_csv_field(out, c->place[p].district);
                fprintf(out, ",%s,", c->period[t].label);
                if (suppress_withheld(c->sup, c->cell[at]))
                    fputs(",suppressed\r\n", out);
                else
                    fprintf(out, "%lld,\r\n", (long long)c->value[at]);
            }
}

int
catalogue_write(const catalogue *c, int format, FILE *out, rz_error *err)
{
    if (format == CATALOGUE_JSON)
        cat_write_json(c, out);
    else if (format == CATALOGUE_CSV)
        cat_write_csv(c, out);
    else
        return rz_fail(err, RZ_E_ARG, "catalogue: unknown format");
    return ferror(out) ? rz_fail(err, RZ_E_IO, "catalogue: write failed") : 0;
}
