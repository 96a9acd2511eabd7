/*
 * http: the headquarters view over HTTP; see http.h for the routes.
 *
 * Threading: libmicrohttpd runs one thread per connection (at most
 * HTTP_CONN_LIMIT).  A request borrows a read-only SQLite handle from a
 * small pool for its whole duration, so a handle (opened NOMUTEX) is never
 * used by two threads at once, and runs its reads inside one read
 * transaction, so every figure and the "as of" of one answer come from the
 * same snapshot even while ingest commits.
 *
 * Input: only the path and the query string matter; no request body is
 * read.  Every parameter is bounded (count, name and value length, no
 * control bytes) before anything looks at it, then handed by name to
 * query_spec_set(), which parses it; nothing from the request reaches SQL
 * except as a bound value inside server/query.c.  Files are served from a
 * fixed list, never from a path the request names.
 *
 * Sign-in: with a certificate the view is HTTPS only and every route but
 * /login, /healthz and the style sheet needs a session or an API token
 * (server/httpauth.h); an address beyond loopback without a certificate is
 * refused at start.  The only request bodies read are the sign-in forms,
 * at most HTTP_FORM_MAX bytes, wiped when the request ends.
 *
 * Roles: every route answers anyone signed in (analyst, admin, API token)
 * except /api/admin/..., which one check (http_admin) keeps for an
 * administrator's own session.
 *
 * What it does not do: compute or cache totals (server/query.c is the one
 * place that reads the totals tables) or change accounts and tokens (the
 * command line does; administrators see them here).
 */
#include "server/http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/db.h"
#include "common/crypto.h"
#include "server/state_store.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/paths.h"
#include "common/log.h"
#include "common/util.h"
#include "common/webtls.h"
#include "server/catalogue.h"
#include "server/httpauth.h"
#include "server/metrics.h"
#include "server/placelist.h"
#include "server/regview.h"
#include "server/query.h"

enum {
    HTTP_PARAMS_MAX = 16,                 /* query-string parameters per request */
    HTTP_KEY_MAX = 32,                    /* bytes of a parameter name */
    HTTP_VALUE_MAX = QUERY_VALUE_MAX - 1, /* bytes of a parameter value */
    HTTP_ADDR_MAX = 256,                  /* bytes of the listen address */
    HTTP_POOL_MAX = 8,                    /* idle read-only handles kept open */
    HTTP_CONN_LIMIT = 64,                 /* concurrent connections (threads) */
    HTTP_CONN_TIMEOUT_S = 30,             /* idle connection timeout */
    HTTP_ASSET_MAX = 8 << 20,             /* bytes of a served file */
    HTTP_STALE_DAYS = 7,                  /* default "not synced recently" threshold */
    HTTP_STALE_DAYS_MAX = 3650,           /* largest accepted stale_days */
    HTTP_TARGET_TRAINED = 50000,          /* national goal: people trained a year */
    HTTP_ROWS_MAX = 200000,               /* rows of one answer (memory bound) */
    HTTP_PUBLIC_TTL_S = 300,              /* the public catalogue is rebuilt at most this often */
    HTTP_FORM_MAX = 1024,                 /* bytes of a sign-in form body */
};

#define HTTP_CHART_DIR "/usr/share/javascript/chart.js"

/* Status codes counted for /metrics. */
enum {
    HTTP_ST_200,
    HTTP_ST_303,
    HTTP_ST_400,
    HTTP_ST_401,
    HTTP_ST_403,
    HTTP_ST_404,
    HTTP_ST_405,
    HTTP_ST_429,
    HTTP_ST_500,
    HTTP_ST_503,
    HTTP_ST_N
};
static const unsigned http_status_codes[HTTP_ST_N] = {200, 303, 400, 401, 403,
                                                      404, 405, 429, 500, 503};
static atomic_uint_fast64_t http_requests[HTTP_ST_N]; /* answers by status */

struct http_server {
    struct MHD_Daemon *mhd;       /* the listening daemon */
    char *dir;                    /* server directory: stores opened read-only */
    char web_dir[PATH_MAX];       /* dashboard assets */
    char chart_js[PATH_MAX];      /* Chart.js UMD build; "" when missing */
    int port;                     /* bound TCP port */
    pthread_mutex_t pool_mu;      /* guards pool/npool */
    sqlite3 *pool[HTTP_POOL_MAX]; /* idle read-only handles */
    int npool;                    /* used slots of pool */
    int public_only;              /* 1: the public listener (catalogue only) */
    pthread_mutex_t pub_mu;       /* guards pub/pub_ms; held while building */
    catalogue *pub;               /* last public catalogue built, NULL: none yet */
    uint64_t pub_ms;              /* when it was built */
    httpauth *auth;               /* accounts and tokens; NULL: loopback without TLS, open */
    webtls_cert tls;              /* certificate served (HTTPS) when tls.cert_pem */
};

/* A POST body being received (sign-in forms only). */
typedef struct http_post {
    size_t len;                   /* bytes in body */
    int too_big;                  /* more than HTTP_FORM_MAX arrived */
    char body[HTTP_FORM_MAX + 1]; /* NUL-terminated */
} http_post;

typedef struct http_param {
    char key[HTTP_KEY_MAX + 1];     /* NUL-terminated name */
    char value[HTTP_VALUE_MAX + 1]; /* NUL-terminated value ("" when absent) */
} http_param;

typedef struct http_params {
    int n;                         /* used entries of p */
    http_param p[HTTP_PARAMS_MAX]; /* in request order */
    char error[RZ_ERROR_TEXT];     /* first problem found, "" when none */
} http_params;

/* One request being answered. */
typedef struct http_req {
    const http_params *params; /* its bounded query parameters */
    sqlite3 *db;               /* borrowed handle, in a read transaction */
    uint64_t now_ms;           /* the answer's time */
    int64_t register_version;  /* places as at this register version; 0: as it stands */
} http_req;

/* A finished answer body: malloc'd, handed to libmicrohttpd. */
typedef struct http_body {
    FILE *f;    /* memstream being written */
    char *buf;  /* its buffer after close */
    size_t len; /* its length */
} http_body;

/* ---- small helpers -------------------------------------------------- */

static void
http_count(unsigned status)
{
    int i;
    for (i = 0; i < HTTP_ST_N; i++)
        if (http_status_codes[i] == status) {
            atomic_fetch_add(&http_requests[i], 1);
            return;
        }
}

static int
http_body_open(http_body *b)
{
    memset(b, 0, sizeof(*b));
    b->f = open_memstream(&b->buf, &b->len);
    return b->f ? 0 : RZ_E_NOMEM;
}

/* Closes the stream; 0 when the whole body is in buf. */
static int
http_body_close(http_body *b)
{
    int bad;
    if (!b->f)
        return b->buf ? 0 : RZ_E_NOMEM;
    bad = ferror(b->f);
    if (fclose(b->f) != 0)
        bad = 1;
    b->f = NULL;
    return bad || !b->buf ? RZ_E_NOMEM : 0;
}

static void
http_body_free(http_body *b)
{
    if (b->f)
        fclose(b->f);
    free(b->buf);
    memset(b, 0, sizeof(*b));
}

static void
http_common_headers(struct MHD_Response *resp, const char *ctype, const char *cache)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    /* same-origin, not no-referrer: under no-referrer a browser sends
     * "Origin: null" with the sign-in form, which the same-origin check
     * (login CSRF) must refuse; no address leaves for another site either way. */
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
}

static enum MHD_Result
http_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp)
{
    enum MHD_Result ret;
    if (!resp)
        return MHD_NO;
    http_count(status);
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Sends b's buffer (ownership passes to libmicrohttpd). */
static enum MHD_Result
http_send_body(struct MHD_Connection *c, unsigned status, http_body *b, const char *ctype)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(b->len, b->buf, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        http_body_free(b);
        return MHD_NO;
    }
    b->buf = NULL;
    http_common_headers(resp, ctype, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (strncmp(ctype, "text/csv", 8) == 0)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
                                "attachment; filename=\"rozgar-totals.csv\"");
    return http_queue(c, status, resp);
}

/* {"error": msg} with the given status. */
static enum MHD_Result
http_send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    http_body b;
    if (http_body_open(&b))
        return MHD_NO;
    fputs("{\"error\":", b.f);
    query_json_string(b.f, msg);
    fputs("}\n", b.f);
    if (http_body_close(&b)) {
        http_body_free(&b);
        return MHD_NO;
    }
    return http_send_body(c, status, &b, "application/json; charset=utf-8");
}

/* Maps a query-layer failure to an answer: bad input is the client's
 * (400, with the reason), busy is retryable (503), the rest is ours (500,
 * detail only in the log). */
static enum MHD_Result
http_send_failure(struct MHD_Connection *c, const char *url, int rc, const rz_error *err)
{
    if (rc == RZ_E_ARG)
        return http_send_error(c, MHD_HTTP_BAD_REQUEST, err->text);
    if (rc == RZ_E_TOOBIG)
        return http_send_error(c, MHD_HTTP_BAD_REQUEST,
                               "answer too large: narrow the query with the period, from/to "
                               "or filter parameters");
    log_warnx("http: %s: %s", url, err->code ? err->text : rz_err_name(rc));
    if (rc == RZ_E_BUSY)
        return http_send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "database busy, retry");
    return http_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
}

/* ---- parameters ----------------------------------------------------- */

static int
http_bytes_printable(const char *s, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static enum MHD_Result
http_param_collect(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                   const char *value, size_t value_size)
{
    http_params *ps = cls;
    http_param *p;
    (void)kind;
    if (key_size == 0 && (!value || value_size == 0))
        return MHD_YES; /* "a=1&&b=2" or a trailing "&": nothing there */
    if (key_size == 0 || key_size > HTTP_KEY_MAX || !http_bytes_printable(key, key_size)) {
        snprintf(ps->error, sizeof(ps->error), "bad parameter name (1..%d printable bytes)",
                 HTTP_KEY_MAX);
        return MHD_NO;
    }
    if (ps->n == HTTP_PARAMS_MAX) {
        snprintf(ps->error, sizeof(ps->error), "too many parameters (at most %d)", HTTP_PARAMS_MAX);
        return MHD_NO;
    }
    p = &ps->p[ps->n];
    memcpy(p->key, key, key_size);
    p->key[key_size] = '\0';
    if (!value)
        value_size = 0;
    if (value_size > HTTP_VALUE_MAX || !http_bytes_printable(value, value_size)) {
        snprintf(ps->error, sizeof(ps->error),
                 "parameter %s: value must be at most %d printable bytes", p->key, HTTP_VALUE_MAX);
        return MHD_NO;
    }
    if (value_size)
        memcpy(p->value, value, value_size);
    p->value[value_size] = '\0';
    ps->n++;
    return MHD_YES;
}

/* Fills ps from the connection's query string; 0 or RZ_E_ARG (ps->error). */
static int
http_params_read(struct MHD_Connection *c, http_params *ps)
{
    int i, j;
    memset(ps, 0, sizeof(*ps));
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, http_param_collect, ps);
    if (ps->error[0])
        return RZ_E_ARG;
    /* A repeated name is ambiguous (which one wins?) except for the
     * filters that are meant to repeat. */
    for (i = 0; i < ps->n; i++)
        for (j = i + 1; j < ps->n; j++)
            if (strcmp(ps->p[i].key, ps->p[j].key) == 0 && strcmp(ps->p[i].key, "where") != 0) {
                snprintf(ps->error, sizeof(ps->error), "parameter %s given twice", ps->p[i].key);
                return RZ_E_ARG;
            }
    return 0;
}

static const char *
http_param_value(const http_params *ps, const char *key)
{
    int i;
    for (i = 0; i < ps->n; i++)
        if (strcmp(ps->p[i].key, key) == 0)
            return ps->p[i].value;
    return NULL;
}

/* stale_days: 1..HTTP_STALE_DAYS_MAX, default HTTP_STALE_DAYS. */
static int
http_stale_days(const http_params *ps, int *days, rz_error *err)
{
    const char *v = http_param_value(ps, "stale_days");
    long n = 0;
    size_t i;
    *days = HTTP_STALE_DAYS;
    if (!v)
        return 0;
    for (i = 0; v[i]; i++) {
        if (v[i] < '0' || v[i] > '9' || i >= 5)
            return rz_fail(err, RZ_E_ARG, "stale_days must be a number of days 1..%d",
                           HTTP_STALE_DAYS_MAX);
        n = n * 10 + (v[i] - '0');
    }
    if (n < 1 || n > HTTP_STALE_DAYS_MAX)
        return rz_fail(err, RZ_E_ARG, "stale_days must be a number of days 1..%d",
                       HTTP_STALE_DAYS_MAX);
    *days = (int)n;
    return 0;
}

/* Applies the request's query parameters to q through query_spec_set, "by"
 * before "by2" so the group-by order is the request's.  Names in `skip`
 * (NULL-terminated) are handled by the caller; names in `refuse` are not
 * parameters of this route. */
static int
http_spec_apply(const http_params *ps, query_spec *q, const char *const *skip,
                const char *const *refuse, rz_error *err)
{
    const char *by = http_param_value(ps, "by"), *by2 = http_param_value(ps, "by2");
    const char *const *s;
    int i, rc;
    for (i = 0; i < ps->n; i++)
        for (s = refuse; s && *s; s++)
            if (strcmp(ps->p[i].key, *s) == 0)
                return rz_fail(err, RZ_E_ARG, "parameter %s is not used here", *s);
    if (by2 && !by)
        return rz_fail(err, RZ_E_ARG, "by2 needs by");
    if (by && (rc = query_spec_set(q, "by", by, err)))
        return rc;
    if (by2 && (rc = query_spec_set(q, "by", by2, err)))
        return rc;
    for (i = 0; i < ps->n; i++) {
        const char *k = ps->p[i].key;
        /* register_version is the dispatcher's (http_run_api). */
        int skipped =
            strcmp(k, "by") == 0 || strcmp(k, "by2") == 0 || strcmp(k, "register_version") == 0;
        for (s = skip; s && *s && !skipped; s++)
            skipped = strcmp(k, *s) == 0;
        if (!skipped && (rc = query_spec_set(q, k, ps->p[i].value, err)))
            return rc;
    }
    return 0;
}

/* ---- database handles ----------------------------------------------- */

static int
http_db_take(http_server *h, sqlite3 **db, rz_error *err)
{
    *db = NULL;
    pthread_mutex_lock(&h->pool_mu);
    if (h->npool > 0)
        *db = h->pool[--h->npool];
    pthread_mutex_unlock(&h->pool_mu);
    if (*db)
        return 0;
    return state_store_reader_open(db, h->dir, err);
}

/* Returns a handle to the pool (closing it when the pool is full); ends any
 * read transaction the request left open. */
static void
http_db_give(http_server *h, sqlite3 *db)
{
    if (!db)
        return;
    rz_db_rollback(db);
    pthread_mutex_lock(&h->pool_mu);
    if (h->npool < HTTP_POOL_MAX) {
        h->pool[h->npool++] = db;
        db = NULL;
    }
    pthread_mutex_unlock(&h->pool_mu);
    rz_db_close(&db);
}

/* ---- JSON pieces ---------------------------------------------------- */

static const char *
http_grain_name(int grain)
{
    switch (grain) {
    case RZ_GRAIN_MONTH: return "month";
    case RZ_GRAIN_QUARTER: return "quarter";
    case RZ_GRAIN_YEAR: return "year";
    default: return "all";
    }
}

/* "as_of":"...","as_of_ms":N,"completeness":{...} (no braces around). */
static void
http_write_asof(FILE *out, const query_asof *a)
{
    char when[32], newest[32];
    query_iso_time(when, a->now_ms);
    fprintf(out,
            "\"as_of\":\"%s\",\"as_of_ms\":%llu,\"completeness\":{\"stale_days\":%d,"
            "\"centres\":%lld,\"centres_synced\":%lld,\"centres_stale\":%lld,"
            "\"nodes\":%lld,\"nodes_synced\":%lld,\"complete\":%s,\"newest_sync\":",
            when, (unsigned long long)a->now_ms, a->stale_days, (long long)a->centres,
            (long long)(a->centres - a->centres_stale), (long long)a->centres_stale,
            (long long)a->nodes, (long long)a->nodes_fresh,
            a->centres_stale == 0 && a->nodes_fresh == a->nodes ? "true" : "false");
    if (a->newest_sync_ms) {
        query_iso_time(newest, a->newest_sync_ms);
        fprintf(out, "\"%s\"", newest);
    } else {
        fputs("null", out);
    }
    /* Contact (any sync, even with nothing new) beside data. */
    fputs(",\"newest_contact\":", out);
    if (a->newest_contact_ms) {
        query_iso_time(newest, a->newest_contact_ms);
        fprintf(out, "\"%s\"}", newest);
    } else {
        fputs("null}", out);
    }
}

/* "query":{...}: the spec as understood, so a client sees what it got. */
static void
http_write_spec(FILE *out, sqlite3 *db, const query_spec *q)
{
    static const char *const windows[] = {"all", "period", "range"};
    char buf[11], p[9];
    int i;
    fputs("\"query\":{\"metric\":", out);
    query_json_string(out, query_metric_name(q->metric));
    fprintf(out, ",\"grain\":\"%s\",\"window\":\"%s\",\"period\":", http_grain_name(q->grain),
            q->window >= 0 && q->window <= QUERY_WIN_RANGE ? windows[q->window] : "all");
    if (q->window == QUERY_WIN_PERIOD) {
        period_format(p, q->period_grain, q->period);
        fprintf(out, "\"%s\"", p);
    } else {
        fputs("null", out);
    }
    if (q->window == QUERY_WIN_RANGE) {
        date_format(buf, q->from);
        fprintf(out, ",\"from\":\"%s\"", buf);
        date_format(buf, q->to);
        fprintf(out, ",\"to\":\"%s\"", buf);
    } else {
        fputs(",\"from\":null,\"to\":null", out);
    }
    fputs(",\"by\":[", out);
    for (i = 0; i < q->nby; i++) {
        fputs(i ? "," : "", out);
        query_json_string(out, query_dim_name(q->by[i]));
    }
    fputs("],\"where\":[", out);
    for (i = 0; i < q->nwhere; i++) {
        fputs(i ? ",{\"dim\":" : "{\"dim\":", out);
        query_json_string(out, query_dim_name(q->where[i].dim));
        fputs(",\"value\":", out);
        query_json_string(out, q->where[i].value);
        fputs("}", out);
    }
    /* totals, index (exact date ranges) or state: what answered. */
    fprintf(out, "],\"source\":\"%s\"}", query_source(db, q));
}

/* ---- /api/totals and /api/totals.csv -------------------------------- */

typedef struct http_rows {
    FILE *out;           /* body being written */
    const query_spec *q; /* the query */
    int n;               /* rows written so far */
} http_rows;

static int
http_row_json(void *arg, const query_row *row)
{
    http_rows *r = arg;
    int i;
    if (r->n == HTTP_ROWS_MAX)
        return RZ_E_TOOBIG;
    fputs(r->n++ ? ",\n{\"period\":" : "\n{\"period\":", r->out);
    query_json_string(r->out, row->period ? row->period : "");
    for (i = 0; i < r->q->nby; i++) {
        fputs(",", r->out);
        query_json_string(r->out, query_dim_name(r->q->by[i]));
        fputs(":", r->out);
        query_json_string(r->out, row->label[i] ? row->label[i] : "unknown");
    }
    fprintf(r->out, ",\"count\":%lld}", (long long)row->count);
    return 0;
}

/* One CSV field (RFC 4180).  Text that a spreadsheet would run as a
 * formula gets a leading apostrophe: a centre or district name is typed by
 * people, and an export must not execute. */
static void
http_csv_field(FILE *out, const char *s)
{
    const char *p;
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t';
    if (!quote && !formula) {
        fputs(s, out);
        return;
    }
    fputs(quote ? "\"" : "", out);
    fputs(formula ? "'" : "", out);
    for (p = s; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputs(quote ? "\"" : "", out);
}

static int
http_row_csv(void *arg, const query_row *row)
{
    http_rows *r = arg;
    int i;
    if (r->n == HTTP_ROWS_MAX)
        return RZ_E_TOOBIG;
    http_csv_field(r->out, row->period ? row->period : "");
    for (i = 0; i < r->q->nby; i++) {
        fputc(',', r->out);
        http_csv_field(r->out, row->label[i] ? row->label[i] : "unknown");
    }
    fprintf(r->out, ",%lld\r\n", (long long)row->count);
    r->n++;
    return 0;
}

/* ,"register_version":N or null: which register the places are as of. */
static void
http_write_register_version(FILE *out, const http_req *r)
{
    if (r->register_version)
        fprintf(out, ",\"register_version\":%lld", (long long)r->register_version);
    else
        fputs(",\"register_version\":null", out);
}

static int
http_totals_spec(const http_req *r, query_spec *q, int *stale_days, rz_error *err)
{
    static const char *const skip[] = {"stale_days", NULL};
    int rc;
    query_spec_init(q);
    if ((rc = http_stale_days(r->params, stale_days, err)))
        return rc;
    if ((rc = http_spec_apply(r->params, q, skip, NULL, err)))
        return rc;
    return query_spec_check(q, err);
}

static int
http_totals_json(http_req *r, FILE *out, rz_error *err)
{
    query_spec q;
    query_asof a;
    http_rows rows = {out, &q, 0};
    int64_t total = 0;
    int stale_days, rc;
    if ((rc = http_totals_spec(r, &q, &stale_days, err)))
        return rc;
    if ((rc = query_asof_get(r->db, r->now_ms, stale_days, &a, err)) ||
        (rc = query_total(r->db, &q, &total, err)))
        return rc;
    fputs("{", out);
    http_write_asof(out, &a);
    if ((rc = query_write_counting(out, r->db, 0, err)))
        return rc;
    fputs(",", out);
    http_write_spec(out, r->db, &q);
    http_write_register_version(out, r);
    /* total: the whole window once; for trainees the rows may not add up. */
    fprintf(out, ",\"total\":%lld,\"rows_add_up\":%s", (long long)total,
            query_rows_add_up(&q) ? "true" : "false");
    if (query_rows_note(&q)) {
        fputs(",\"note\":", out);
        query_json_string(out, query_rows_note(&q));
    }
    fputs(",\"rows\":[", out);
    if ((rc = query_run(r->db, &q, http_row_json, &rows, err)))
        return rc;
    fputs("\n]}\n", out);
    return 0;
}

/* The first line of every CSV export, after a UTF-8 byte-order mark (so
 * Excel reads Urdu names as UTF-8): what it is and how complete. */
static void
http_csv_preamble(FILE *out, const char *what, const query_asof *a)
{
    char when[32];
    query_iso_time(when, a->now_ms);
    fprintf(out,
            "\xEF\xBB\xBF# Rozgar Sync %s; as of %s; %lld of %lld centres synced in the last %d "
            "days\r\n",
            what, when, (long long)(a->centres - a->centres_stale), (long long)a->centres,
            a->stale_days);
}

static int
http_totals_csv(http_req *r, FILE *out, rz_error *err)
{
    query_spec q;
    query_asof a;
    http_rows rows = {out, &q, 0};
    char what[160], asof[64] = "";
    int stale_days, rc, i;
    if ((rc = http_totals_spec(r, &q, &stale_days, err)) ||
        (rc = query_asof_get(r->db, r->now_ms, stale_days, &a, err)))
        return rc;
    if (r->register_version)
        snprintf(asof, sizeof(asof), " (places as at register version %lld)",
                 (long long)r->register_version);
    snprintf(what, sizeof(what), "%s%s%s%s%s%s", query_metric_name(q.metric), q.nby ? " by " : "",
             q.nby ? query_dim_name(q.by[0]) : "", q.nby > 1 ? " and " : "",
             q.nby > 1 ? query_dim_name(q.by[1]) : "", asof);
    http_csv_preamble(out, what, &a);
    /* Unique trainees per row do not add up: say so, with the real total. */
    if (!query_rows_add_up(&q)) {
        int64_t total = 0;
        if ((rc = query_total(r->db, &q, &total, err)))
            return rc;
        fprintf(out, "# %lld people in all; %s\r\n", (long long)total, query_rows_note(&q));
    }
    fputs("period", out);
    for (i = 0; i < q.nby; i++)
        fprintf(out, ",%s", query_dim_name(q.by[i]));
    fputs(",count\r\n", out);
    return query_run(r->db, &q, http_row_csv, &rows, err);
}

/* ---- /api/summary --------------------------------------------------- */

static int
http_current_year(uint64_t now_ms)
{
    return (int)(date_of_ms(now_ms) / 10000);
}

/* The year of the chosen period (2026 for 2026, 2026-Q1 or 2026-03), this
 * year when none is chosen. */
static int
http_target_year(const query_spec *q, uint64_t now_ms)
{
    if (q->window != QUERY_WIN_PERIOD)
        return http_current_year(now_ms);
    switch (q->period_grain) {
    case RZ_GRAIN_MONTH: return (int)(q->period / 100);
    case RZ_GRAIN_QUARTER: return (int)(q->period / 10);
    default: return (int)q->period;
    }
}

/* "name":count or "name":null when the filters do not apply to metric. */
static int
http_summary_metric(http_req *r, FILE *out, const query_spec *base, int metric, rz_error *err)
{
    query_spec q = *base;
    rz_error why;
    int64_t n = 0;
    int rc;
    q.metric = metric;
    fprintf(out, ",\"%s\":", query_metric_name(metric));
    if (query_spec_check(&q, &why)) {
        fputs("null", out);
        return 0;
    }
    if ((rc = query_total(r->db, &q, &n, err)))
        return rc;
    fprintf(out, "%lld", (long long)n);
    return 0;
}

static int
http_summary_shares(http_req *r, FILE *out, const query_spec *base, int metric, rz_error *err)
{
    query_spec q = *base;
    query_shares s;
    rz_error why;
    int rc;
    q.metric = metric;
    fprintf(out, "\"%s\":", query_metric_name(metric));
    if (query_spec_check(&q, &why)) {
        fputs("null", out);
        return 0;
    }
    if ((rc = query_shares_get(r->db, &q, &s, err)))
        return rc;
    fprintf(out,
            "{\"total\":%lld,\"women\":%lld,\"youth\":%lld,\"women_share\":%.4f,"
            "\"youth_share\":%.4f}",
            (long long)s.total, (long long)s.women, (long long)s.youth, s.women_share,
            s.youth_share);
    return 0;
}

/* The national target: people trained in `year`, all of Pakistan, whatever
 * the filters (a province's figure against the national goal would read
 * as failure). */
static int
http_summary_target(http_req *r, FILE *out, int year, rz_error *err)
{
    query_spec q;
    char y[8];
    int64_t n = 0;
    int rc;
    query_spec_init(&q);
    snprintf(y, sizeof(y), "%04d", year);
    if ((rc = query_spec_set(&q, "metric", query_metric_name(MERGE_M_TRAINEES), err)) ||
        (rc = query_spec_set(&q, "period", y, err)) || (rc = query_total(r->db, &q, &n, err)))
        return rc;
    fprintf(out,
            ",\"target\":{\"metric\":\"%s\",\"scope\":\"national\",\"year\":%d,"
            "\"goal\":%d,\"value\":%lld,\"progress\":%.4f}",
            query_metric_name(MERGE_M_TRAINEES), year, HTTP_TARGET_TRAINED, (long long)n,
            (double)n / HTTP_TARGET_TRAINED);
    return 0;
}

/* Registrations in rural areas as a share of all registrations under the
 * same filters; null when an area filter already decides it. */
static int
http_summary_rural(http_req *r, FILE *out, const query_spec *base, int64_t total, rz_error *err)
{
    query_spec q = *base;
    int64_t n = 0;
    int rc, i;
    for (i = 0; i < q.nwhere; i++)
        if (q.where[i].dim == MERGE_D_AREA) {
            fputs("null", out);
            return 0;
        }
    if ((rc = query_spec_set(&q, "metric", query_metric_name(MERGE_M_REGISTERED), err)) ||
        (rc = query_spec_set(&q, "area", "rural", err)) || (rc = query_total(r->db, &q, &n, err)))
        return rc;
    fprintf(out, "%.4f", total > 0 ? (double)n / (double)total : 0.0);
    return 0;
}

static int
http_summary(http_req *r, FILE *out, rz_error *err)
{
    static const char *const skip[] = {"stale_days", NULL};
    static const char *const refuse[] = {"metric", "by", "by2", "grain", NULL};
    static const int metrics[] = {MERGE_M_REGISTERED, MERGE_M_TRAINEES, MERGE_M_ATTENDANCES,
                                  MERGE_M_EVENTS};
    query_spec base;
    query_shares reg;
    query_asof a;
    int stale_days, rc, year;
    size_t i;

    query_spec_init(&base);
    if ((rc = http_stale_days(r->params, &stale_days, err)) ||
        (rc = http_spec_apply(r->params, &base, skip, refuse, err)) ||
        (rc = query_spec_check(&base, err)))
        return rc;
    year = http_target_year(&base, r->now_ms);
    if ((rc = query_asof_get(r->db, r->now_ms, stale_days, &a, err)) ||
        (rc = query_shares_get(r->db, &base, &reg, err)))
        return rc;

    fputs("{", out);
    http_write_asof(out, &a);
    if ((rc = query_write_counting(out, r->db, 0, err)))
        return rc;
    fputs(",", out);
    http_write_spec(out, r->db, &base);
    http_write_register_version(out, r);
    for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
        if ((rc = http_summary_metric(r, out, &base, metrics[i], err)))
            return rc;
    fprintf(out, ",\"women_share\":%.4f,\"youth_share\":%.4f,\"rural_share\":", reg.women_share,
            reg.youth_share);
    if ((rc = http_summary_rural(r, out, &base, reg.total, err)))
        return rc;
    fputs(",\"shares\":{", out);
    if ((rc = http_summary_shares(r, out, &base, MERGE_M_REGISTERED, err)))
        return rc;
    fputs(",", out);
    if ((rc = http_summary_shares(r, out, &base, MERGE_M_TRAINEES, err)))
        return rc;
    fputs("}", out);
    if ((rc = http_summary_target(r, out, year, err)))
        return rc;
    fputs("}\n", out);
    return 0;
}

/* ---- /api/centres --------------------------------------------------- */

typedef struct http_centres {
    FILE *out;     /* body being written */
    int n;         /* centres written */
    sqlite3 *db;   /* for each centre's counting */
    rz_error *err; /* where a failure of it goes */
} http_centres;

/* A centre's reporting state, the first that holds: "revoked" (every
 * node revoked), "forked" (a node quarantined after a fork, waiting for
 * headquarters), "never" (enrolled, never in contact), "silent" (no
 * contact within stale_days), "counting" (received entries not yet
 * counted), "ok".  waiting: its received-not-counted entries. */
static const char *
http_centre_state(const query_centre_sync *c, uint64_t waiting)
{
    if (c->nodes == 0)
        return "revoked";
    if (c->forked_nodes > 0)
        return "forked";
    if (!c->last_contact_ms && !c->last_sync_ms)
        return "never";
    if (c->stale)
        return "silent";
    return waiting ? "counting" : "ok";
}

static int
http_centre_waiting(sqlite3 *db, int64_t centre_id, uint64_t *waiting, rz_error *err)
{
    state_progress pr;
    int rc = state_store_progress(db, centre_id, &pr, err);
    *waiting = rc == 0 && pr.received > pr.counted ? pr.received - pr.counted : 0;
    return rc;
}

/* ,"NAME":"ISO time","NAME_ms":ms,"LAG":seconds, or nulls when ms is 0. */
static void
http_time_fields(FILE *out, const char *name, const char *lag, uint64_t ms, int64_t lag_ms)
{
    char when[32];
    if (!ms) {
        fprintf(out, ",\"%s\":null,\"%s_ms\":null,\"%s\":null", name, name, lag);
        return;
    }
    query_iso_time(when, ms);
    fprintf(out, ",\"%s\":\"%s\",\"%s_ms\":%llu,\"%s\":%lld", name, when, name,
            (unsigned long long)ms, lag, (long long)(lag_ms / 1000));
}

static int
http_centre_json(void *arg, const query_centre_sync *c)
{
    http_centres *w = arg;
    FILE *out = w->out;
    uint64_t waiting = 0;
    int rc;
    fprintf(out, "%s{\"centre_id\":%lld,\"centre\":", w->n++ ? ",\n" : "\n",
            (long long)c->centre_id);
    query_json_string(out, c->name ? c->name : "");
    fputs(",\"province\":", out);
    query_json_string(out, c->province ? c->province : "");
    fputs(",\"district\":", out);
    query_json_string(out, c->district ? c->district : "");
    fputs(",\"programme\":", out);
    query_json_string(out, c->programme ? c->programme : "");
    fprintf(out, ",\"nodes\":%lld", (long long)c->nodes);
    /* last_sync is the last data; staleness goes by last contact. */
    http_time_fields(out, "last_sync", "lag_seconds", c->last_sync_ms, c->lag_ms);
    http_time_fields(out, "last_contact", "contact_lag_seconds", c->last_contact_ms,
                     c->contact_lag_ms);
    if ((rc = http_centre_waiting(w->db, c->centre_id, &waiting, w->err)))
        return rc;
    fprintf(out, ",\"stale\":%s,\"state\":\"%s\",\"revoked_nodes\":%lld,\"forked_nodes\":%lld",
            c->stale ? "true" : "false", http_centre_state(c, waiting), (long long)c->revoked_nodes,
            (long long)c->forked_nodes);
    rc = query_write_counting(out, w->db, c->centre_id, w->err);
    if (rc)
        return rc;
    fputs("}", out);
    return 0;
}

static int
http_centre_csv(void *arg, const query_centre_sync *c)
{
    http_centres *w = arg;
    FILE *out = w->out;
    char contact[32] = "", data[32] = "";
    uint64_t waiting = 0;
    int rc;
    if ((rc = http_centre_waiting(w->db, c->centre_id, &waiting, w->err)))
        return rc;
    query_csv_field(out, c->name ? c->name : "");
    fputc(',', out);
    query_csv_field(out, c->province ? c->province : "");
    fputc(',', out);
    query_csv_field(out, c->district ? c->district : "");
    fputc(',', out);
    query_csv_field(out, c->programme ? c->programme : "");
    if (c->last_contact_ms)
        query_iso_time(contact, c->last_contact_ms);
    if (c->last_sync_ms)
        query_iso_time(data, c->last_sync_ms);
    fprintf(out, ",%lld,%s,", (long long)c->nodes, contact);
    if (c->contact_lag_ms >= 0)
        fprintf(out, "%lld", (long long)(c->contact_lag_ms / 86400000));
    fprintf(out, ",%s,%llu,%s\r\n", data, (unsigned long long)waiting,
            http_centre_state(c, waiting));
    return 0;
}

static int
http_centres_csv(http_req *r, FILE *out, rz_error *err)
{
    query_asof a;
    int stale_days, rc, i;
    for (i = 0; i < r->params->n; i++)
        if (strcmp(r->params->p[i].key, "stale_days") != 0)
            return rz_fail(err, RZ_E_ARG, "unknown parameter %s (only stale_days)",
                           r->params->p[i].key);
    if ((rc = http_stale_days(r->params, &stale_days, err)) ||
        (rc = query_asof_get(r->db, r->now_ms, stale_days, &a, err)))
        return rc;
    http_csv_preamble(out, "centres and their reporting state", &a);
    fputs("centre,province,district,programme,pcs,last_contact,days_since_contact,last_data,"
          "not_yet_counted,state\r\n",
          out);
    {
        http_centres w = {out, 0, r->db, err};
        return query_centres_sync(r->db, r->now_ms, stale_days, http_centre_csv, &w, err);
    }
}

static int
http_centres_list(http_req *r, FILE *out, rz_error *err)
{
    static const char *const known[] = {"stale_days", NULL};
    http_centres w = {out, 0, r->db, err};
    query_asof a;
    int stale_days, rc, i;
    for (i = 0; i < r->params->n; i++)
        if (strcmp(r->params->p[i].key, known[0]) != 0)
            return rz_fail(err, RZ_E_ARG, "unknown parameter %s (only stale_days)",
                           r->params->p[i].key);
    if ((rc = http_stale_days(r->params, &stale_days, err)) ||
        (rc = query_asof_get(r->db, r->now_ms, stale_days, &a, err)))
        return rc;
    fputs("{", out);
    http_write_asof(out, &a);
    if ((rc = query_write_counting(out, r->db, 0, err)))
        return rc;
    fprintf(out, ",\"stale_days\":%d,\"centres\":[", stale_days);
    if ((rc = query_centres_sync(r->db, r->now_ms, stale_days, http_centre_json, &w, err)))
        return rc;
    fputs("\n]}\n", out);
    return 0;
}

/* ---- /api/register ------------------------------------------------- */

/* The versions of the enrollment register that place a centre (enroll,
 * rename, move), newest first: what register_version may name, for the
 * dashboard's "places as at" choice.  Centre names and places only. */
static int
http_register_list(http_req *r, FILE *out, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, n = 0;
    if (r->params->n > 0)
        return rz_fail(err, RZ_E_ARG, "/api/register takes no parameters");
    if ((rc = rz_db_prepare(r->db, &st, "SELECT coalesce(max(version), 0) FROM log.register", err)))
        return rc;
    fprintf(out, "{\"newest\":%lld,\"versions\":[",
            sqlite3_step(st) == SQLITE_ROW ? (long long)sqlite3_column_int64(st, 0) : 0LL);
    sqlite3_finalize(st);
    if ((rc = rz_db_prepare(r->db, &st,
                            "SELECT version, at_ms, action, coalesce(centre, ''),"
                            " coalesce(province, ''), coalesce(district, '') FROM log.register"
                            " WHERE action IN ('enroll', 'rename', 'move')"
                            " ORDER BY version DESC LIMIT 1000",
                            err)))
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char when[32];
        query_iso_time(when, (uint64_t)sqlite3_column_int64(st, 1));
        fprintf(out, "%s{\"version\":%lld,\"at\":\"%s\",\"action\":", n++ ? ",\n" : "\n",
                (long long)sqlite3_column_int64(st, 0), when);
        query_json_string(out, (const char *)sqlite3_column_text(st, 2));
        fputs(",\"centre\":", out);
        query_json_string(out, (const char *)sqlite3_column_text(st, 3));
        fputs(",\"province\":", out);
        query_json_string(out, (const char *)sqlite3_column_text(st, 4));
        fputs(",\"district\":", out);
        query_json_string(out, (const char *)sqlite3_column_text(st, 5));
        fputs("}", out);
    }
    rc = rc == SQLITE_DONE ? 0 : rz_db_fail(r->db, err, "register");
    sqlite3_finalize(st);
    if (rc)
        return rc;
    fputs("\n]}\n", out);
    return 0;
}

/* ---- /metrics ------------------------------------------------------- */

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
http_prom_label(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', out), fputc(*s, out);
        else if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
}

static int
http_centre_prom(void *arg, const query_centre_sync *c)
{
    FILE *out = arg;
    if (c->nodes == 0)
        return 0; /* revoked: no longer expected to sync */
    fputs("rozgar_centre_last_sync_timestamp_seconds{centre=\"", out);
    http_prom_label(out, c->name);
    fputs("\",province=\"", out);
    http_prom_label(out, c->province);
    fprintf(out, "\"} %llu\n", (unsigned long long)(c->last_sync_ms / 1000));
    return 0;
}

static int
http_centre_prom_lag(void *arg, const query_centre_sync *c)
{
    FILE *out = arg;
    if (c->lag_ms < 0 || c->nodes == 0)
        return 0;
    fputs("rozgar_centre_sync_lag_seconds{centre=\"", out);
    http_prom_label(out, c->name);
    fputs("\",province=\"", out);
    http_prom_label(out, c->province);
    fprintf(out, "\"} %lld\n", (long long)(c->lag_ms / 1000));
    return 0;
}

static void
http_write_request_counts(FILE *out)
{
    int i;
    fputs("# HELP rozgar_http_requests_total HTTP answers by status.\n"
          "# TYPE rozgar_http_requests_total counter\n",
          out);
    for (i = 0; i < HTTP_ST_N; i++)
        fprintf(out, "rozgar_http_requests_total{code=\"%u\"} %llu\n", http_status_codes[i],
                (unsigned long long)atomic_load(&http_requests[i]));
}

static int
http_metrics(http_req *r, FILE *out, rz_error *err)
{
    query_asof a;
    int rc;
    state_progress pr;
    metrics_write_prometheus(out);
    http_write_request_counts(out);
    if ((rc = query_asof_get(r->db, r->now_ms, HTTP_STALE_DAYS, &a, err)) ||
        (rc = state_store_progress(r->db, 0, &pr, err)))
        return rc;
    metrics_write_merge_lag(out, pr.received - pr.counted, r->now_ms);
    fprintf(out,
            "# HELP rozgar_nodes Enrolled, unrevoked nodes.\n# TYPE rozgar_nodes gauge\n"
            "rozgar_nodes %lld\n"
            "# HELP rozgar_nodes_fresh Nodes synced within %d days.\n"
            "# TYPE rozgar_nodes_fresh gauge\nrozgar_nodes_fresh %lld\n"
            "# HELP rozgar_centres Centres with an unrevoked node.\n"
            "# TYPE rozgar_centres gauge\nrozgar_centres %lld\n"
            "# HELP rozgar_centres_stale Centres with no sync within %d days.\n"
            "# TYPE rozgar_centres_stale gauge\nrozgar_centres_stale %lld\n",
            (long long)a.nodes, HTTP_STALE_DAYS, (long long)a.nodes_fresh, (long long)a.centres,
            HTTP_STALE_DAYS, (long long)a.centres_stale);
    fputs("# HELP rozgar_centre_last_sync_timestamp_seconds Newest sync of a centre's nodes "
          "(0: never).\n# TYPE rozgar_centre_last_sync_timestamp_seconds gauge\n",
          out);
    if ((rc = query_centres_sync(r->db, r->now_ms, HTTP_STALE_DAYS, http_centre_prom, out, err)))
        return rc;
    fputs("# HELP rozgar_centre_sync_lag_seconds Time since a centre's newest sync.\n"
          "# TYPE rozgar_centre_sync_lag_seconds gauge\n",
          out);
    return query_centres_sync(r->db, r->now_ms, HTTP_STALE_DAYS, http_centre_prom_lag, out, err);
}

/* ---- static files --------------------------------------------------- */

/* A response streaming the regular file at path (libmicrohttpd owns and
 * closes the descriptor), or NULL when it is missing or not servable. */
static struct MHD_Response *
http_file_response(const char *path)
{
    struct MHD_Response *resp;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > HTTP_ASSET_MAX ||
        !(resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd))) {
        close(fd);
        return NULL;
    }
    return resp;
}

static enum MHD_Result
http_send_file(struct MHD_Connection *c, const char *path, const char *ctype, const char *cache)
{
    struct MHD_Response *resp = http_file_response(path);
    if (!resp) {
        log_warnx("http: cannot serve %s", path);
        return http_send_error(c, MHD_HTTP_NOT_FOUND, "not found");
    }
    http_common_headers(resp, ctype, cache);
    return http_queue(c, MHD_HTTP_OK, resp);
}

static enum MHD_Result
http_send_asset(http_server *h, struct MHD_Connection *c, const char *name, const char *ctype)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", h->web_dir, name) >= (int)sizeof(path))
        return http_send_error(c, MHD_HTTP_NOT_FOUND, "not found");
    return http_send_file(c, path, ctype, "no-cache");
}

static enum MHD_Result
http_send_page(http_server *h, struct MHD_Connection *c)
{
    char path[PATH_MAX];
    struct MHD_Response *resp = NULL;
    if (snprintf(path, sizeof(path), "%s/index.html", h->web_dir) < (int)sizeof(path))
        resp = http_file_response(path);
    if (!resp)
        return http_send_error(c, MHD_HTTP_NOT_FOUND, "dashboard page not installed");
    http_common_headers(resp, "text/html; charset=utf-8", "no-cache");
    /* Everything is served from here: no CDN, no inline script. */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; "
                            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    return http_queue(c, MHD_HTTP_OK, resp);
}

/* ---- /healthz ------------------------------------------------------ */

/* 200 {"status":"ok"} when a read-only handle answers a read of the
 * totals schema, 503 otherwise: what a load balancer or systemd watchdog
 * probes.  No figures, nothing personal: served on both listeners. */
static enum MHD_Result
http_healthz(http_server *h, struct MHD_Connection *c)
{
    sqlite3 *db = NULL;
    rz_error err = {0, ""};
    int rc;
    if (!(rc = http_db_take(h, &db, &err)))
        rc = rz_db_exec(db, "SELECT count(*) FROM sqlite_schema", &err);
    http_db_give(h, db);
    if (rc) {
        log_warnx("http: /healthz: %s", err.text);
        return http_send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "database not readable");
    }
    {
        http_body b;
        if (http_body_open(&b))
            return MHD_NO;
        fputs("{\"status\":\"ok\"}\n", b.f);
        if (http_body_close(&b)) {
            http_body_free(&b);
            return MHD_NO;
        }
        return http_send_body(c, MHD_HTTP_OK, &b, "application/json; charset=utf-8");
    }
}

/* ---- /public/catalogue.{json,csv} ---------------------------------- */

/* Writes the public catalogue, rebuilt when older than HTTP_PUBLIC_TTL_S:
 * building runs the whole suppression, and a public address may be asked
 * often.  One build at a time (pub_mu); readers of the cached one wait. */
static int
http_public_write(http_server *h, http_req *r, int format, FILE *out, rz_error *err)
{
    int rc = 0;
    if (r->params->n > 0)
        return rz_fail(err, RZ_E_ARG, "the public catalogue takes no parameters");
    pthread_mutex_lock(&h->pub_mu);
    if (!h->pub || r->now_ms - h->pub_ms > (uint64_t)HTTP_PUBLIC_TTL_S * 1000 ||
        r->now_ms < h->pub_ms) {
        catalogue *c = NULL;
        if ((rc = catalogue_build(r->db, r->now_ms, SUPPRESS_THRESHOLD, &c, err)) == 0) {
            catalogue_destroy(&h->pub);
            h->pub = c;
            h->pub_ms = r->now_ms;
        }
    }
    if (rc == 0)
        rc = catalogue_write(h->pub, format, out, err);
    pthread_mutex_unlock(&h->pub_mu);
    return rc;
}

/* ---- sign-in (HTTPS or beyond loopback) ------------------------------ */

/* The value of key in an application/x-www-form-urlencoded body, decoded
 * into out (at most len - 1 bytes).  0, or -1 when absent, malformed or too
 * long. */
static int
http_form_value(const char *body, const char *key, char *out, size_t len)
{
    size_t klen = strlen(key), n;
    const char *p = body;
    while (p && *p) {
        const char *end = strchr(p, '&');
        if (!end)
            end = p + strlen(p);
        if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            for (p += klen + 1, n = 0; p < end; p++) {
                int ch = (unsigned char)*p, hi, lo;
                if (ch == '+')
                    ch = ' ';
                else if (ch == '%') {
                    if (end - p < 3 || (hi = hex_nibble(p[1])) < 0 || (lo = hex_nibble(p[2])) < 0)
                        return -1;
                    ch = hi * 16 + lo;
                    p += 2;
                }
                if (ch == 0 || n + 1 >= len)
                    return -1;
                out[n++] = (char)ch;
            }
            out[n] = '\0';
            return 0;
        }
        p = *end ? end + 1 : NULL;
    }
    return -1;
}

static void
http_html_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

/* The sign-in page, with msg ("" for none) above the form. */
static enum MHD_Result
http_send_login(struct MHD_Connection *c, unsigned status, const char *msg)
{
    http_body b;
    if (http_body_open(&b))
        return MHD_NO;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
          "<title>Rozgar Sync — sign in</title><link rel=\"stylesheet\" href=\"/static/style.css\">"
          "</head><body data-state=\"signin\"><header class=\"top\"><h1>Rozgar Sync "
          "<span class=\"sub\">headquarters</span></h1></header>\n<main class=\"signin\">",
          b.f);
    if (msg[0]) {
        fputs("<p class=\"error\" role=\"alert\" id=\"signin-error\">", b.f);
        http_html_text(b.f, msg);
        fputs("</p>", b.f);
    }
    fputs("<form method=\"post\" action=\"/login\" class=\"panel\">"
          "<label>Username <input name=\"user\" autocomplete=\"username\" required "
          "maxlength=\"32\"></label>"
          "<label>Password <input name=\"password\" type=\"password\" "
          "autocomplete=\"current-password\" required maxlength=\"128\"></label>"
          "<button type=\"submit\">Sign in</button></form></main></body></html>\n",
          b.f);
    if (http_body_close(&b)) {
        http_body_free(&b);
        return MHD_NO;
    }
    return http_send_body(c, status, &b, "text/html; charset=utf-8");
}

/* 303 to location, setting cookie (a Set-Cookie value) when not NULL. */
static enum MHD_Result
http_redirect(struct MHD_Connection *c, const char *location, const char *cookie)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    http_common_headers(resp, "text/plain; charset=utf-8", "no-store");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    if (cookie)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    return http_queue(c, MHD_HTTP_SEE_OTHER, resp);
}

static const char *
http_client_addr(struct MHD_Connection *c, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, len, "unknown");
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        socklen_t sl =
            sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        if (getnameinfo(sa, sl, out, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
            snprintf(out, len, "unknown");
    }
    return out;
}

/* A POST must come from a page of this server (login CSRF). */
static int
http_same_origin(struct MHD_Connection *c)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    return host && webauth_origin_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"),
                                     MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Referer"),
                                     "https", host);
}

static enum MHD_Result
http_signin(http_server *h, struct MHD_Connection *c, const http_post *post)
{
    char user[WEBAUTH_USER_MAX + 2], pass[WEBAUTH_PASS_MAX + 2], addr[64];
    char cookie[WEBAUTH_COOKIE_MAX];
    webauth_session s;
    rz_error err = {0, ""};
    int rc;
    if (!http_same_origin(c))
        return http_send_login(c, MHD_HTTP_FORBIDDEN,
                               "Sign in from this server's own page (cross-site request refused).");
    if (post->too_big || http_form_value(post->body, "user", user, sizeof(user)) ||
        http_form_value(post->body, "password", pass, sizeof(pass)) || !user[0] || !pass[0]) {
        sodium_memzero(pass, sizeof(pass));
        return http_send_login(c, MHD_HTTP_BAD_REQUEST, "Type your username and password.");
    }
    rc = webauth_login(httpauth_web(h->auth), user, pass, http_client_addr(c, addr, sizeof(addr)),
                       hlc_wall_ms(), &s, &err);
    sodium_memzero(pass, sizeof(pass));
    if (rc == RZ_E_AUTH || rc == RZ_E_ARG) {
        log_info("http: sign-in refused for %s from %s", webauth_user_valid(user) ? user : "?",
                 addr);
        return http_send_login(c, MHD_HTTP_FORBIDDEN, err.text);
    }
    if (rc == RZ_E_BUSY) {
        log_warnx("http: sign-in locked for %s from %s: %s", webauth_user_valid(user) ? user : "?",
                  addr, err.text);
        return http_send_login(c, MHD_HTTP_TOO_MANY_REQUESTS, err.text);
    }
    if (rc) {
        log_warnx("http: sign-in failed: %s", err.text);
        return http_send_login(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Sign-in failed; try again.");
    }
    log_info("http: %s (%s) signed in from %s", s.user, s.role, addr);
    webauth_set_cookie(cookie, sizeof(cookie), s.cookie, 1);
    sodium_memzero(s.cookie, sizeof(s.cookie));
    rc = http_redirect(c, "/", cookie);
    sodium_memzero(cookie, sizeof(cookie));
    return (enum MHD_Result)rc;
}

static enum MHD_Result
http_signout(http_server *h, struct MHD_Connection *c)
{
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, WEBAUTH_COOKIE_NAME);
    char clear[WEBAUTH_COOKIE_MAX];
    rz_error err = {0, ""};
    if (!http_same_origin(c))
        return http_send_error(c, MHD_HTTP_FORBIDDEN, "cross-site request refused");
    if (cookie && webauth_logout(httpauth_web(h->auth), cookie, &err))
        log_warnx("http: sign-out: %s", err.text);
    webauth_set_cookie(clear, sizeof(clear), "", 1);
    return http_redirect(c, "/login", clear);
}

/* GET /api/admin/person?cnic=...: the person records carrying a CNIC (id,
 * centre, registration date; no personal value), for a lawful request:
 * the ids are what `rozgar-server erase` takes.  Administrators signed in over HTTPS only;
 * every lookup goes into the lawful register (masked CNIC, who, how many)
 * and the log (who, how many; never the CNIC).  Found by the CNIC's link
 * token under the server's pepper: one pass over the person table, a rare
 * action, not a dashboard figure. */
static enum MHD_Result
http_person_lookup(http_server *h, struct MHD_Connection *c, const http_params *ps,
                   const httpauth_principal *who)
{
    char cnic[14], masked[16], detail[64];
    uint8_t pepper[32], tok[16];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    http_body b;
    rz_error err = {0, ""};
    const char *v = http_param_value(ps, "cnic");
    int rc, n = 0;

    if (!v || ps->n != 1 || !cnic_normalize(cnic, v, strlen(v)))
        return http_send_error(c, MHD_HTTP_BAD_REQUEST,
                               "give one parameter cnic=XXXXX-XXXXXXX-X (13 digits)");
    httpauth_cnic_mask(masked, cnic);
    if (http_body_open(&b))
        return MHD_NO;
    if ((rc = http_db_take(h, &db, &err)) ||
        (rc = rz_db_prepare(db, &st, "SELECT v FROM server_meta WHERE k = 'pepper'", &err)))
        goto out;
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != 32) {
        rc = rz_fail(&err, RZ_E_INTERNAL, "no CNIC pepper in the database");
        goto out;
    }
    memcpy(pepper, sqlite3_column_blob(st, 0), 32);
    sqlite3_finalize(st);
    st = NULL;
    cnic_token(tok, pepper, cnic);
    sodium_memzero(pepper, sizeof(pepper));
    sodium_memzero(cnic, sizeof(cnic));
    if ((rc = rz_db_prepare(db, &st,
                            "SELECT lower(hex(p.id)), coalesce(ce.name, ''), p.reg_date, p.deleted"
                            " FROM st_person p LEFT JOIN centre ce"
                            " ON ce.centre_id = p.centre_id WHERE p.token = ?1 LIMIT 1000",
                            &err)))
        goto out;
    sqlite3_bind_blob(st, 1, tok, 16, SQLITE_STATIC);
    fprintf(b.f, "{\"cnic\":\"%s\",\"persons\":[", masked);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fputs(n++ ? ",\n{\"person_id\":" : "\n{\"person_id\":", b.f);
        query_json_string(b.f, (const char *)sqlite3_column_text(st, 0));
        fputs(",\"centre\":", b.f);
        query_json_string(b.f, (const char *)sqlite3_column_text(st, 1));
        fprintf(b.f, ",\"reg_date\":%lld,\"deleted\":%s}", (long long)sqlite3_column_int64(st, 2),
                sqlite3_column_int(st, 3) ? "true" : "false");
    }
    rc = rc == SQLITE_DONE ? 0 : rz_db_fail(db, &err, "person lookup");
    fputs("\n],\"erase\":\"rozgar-server -d DIR erase PERSON_ID --reason TEXT\"}\n", b.f);
out:
    sqlite3_finalize(st);
    http_db_give(h, db);
    snprintf(detail, sizeof(detail), rc ? "failed" : "%d record%s", n, n == 1 ? "" : "s");
    if (httpauth_register_add(h->auth, "lookup", who->name, masked, detail, &err) != 0 && !rc)
        rc = err.code ? err.code : RZ_E_IO; /* no lookup goes unrecorded */
    log_info("http: admin %s looked up a CNIC for a lawful request: %s", who->name, detail);
    if (rc || http_body_close(&b)) {
        http_body_free(&b);
        return http_send_failure(c, "/api/admin/person", rc ? rc : RZ_E_NOMEM, &err);
    }
    return http_send_body(c, MHD_HTTP_OK, &b, "application/json; charset=utf-8");
}

typedef int (*http_admin_fn)(httpauth *a, FILE *out, rz_error *err);

/* GET /api/admin/accounts | tokens | lawful: what an administrator manages
 * (accounts and tokens are changed with the command line), as JSON. */
static enum MHD_Result
http_admin_list(http_server *h, struct MHD_Connection *c, const char *url, const http_params *ps,
                http_admin_fn fn)
{
    http_body b;
    rz_error err = {0, ""};
    int rc;
    if (ps->n != 0)
        return http_send_error(c, MHD_HTTP_BAD_REQUEST, "this list takes no parameters");
    if (http_body_open(&b))
        return MHD_NO;
    if ((rc = fn(h->auth, b.f, &err)) || http_body_close(&b)) {
        http_body_free(&b);
        return http_send_failure(c, url, rc ? rc : RZ_E_NOMEM, &err);
    }
    return http_send_body(c, MHD_HTTP_OK, &b, "application/json; charset=utf-8");
}

/* Every /api/admin/ route, behind one check: an administrator's own
 * sign-in over HTTPS.  Analysts read figures and exports only; an API token
 * is a machine reading figures, never an administrator (README "Roles"). */
static enum MHD_Result
http_admin(http_server *h, struct MHD_Connection *c, const char *url, const http_params *ps,
           const httpauth_principal *who)
{
    char addr[64];
    if (!h->auth)
        return http_send_error(c, MHD_HTTP_FORBIDDEN,
                               "administration needs the HTTPS view and an administrator's "
                               "sign-in (run --tls-cert/--tls-key)");
    if (who->is_token || !who->is_admin) {
        log_info("http: %s %s from %s refused %s: administrators only",
                 who->is_token ? "token" : "analyst", who->name,
                 http_client_addr(c, addr, sizeof(addr)), url);
        return http_send_error(c, MHD_HTTP_FORBIDDEN, "administrators only");
    }
    if (strcmp(url, "/api/admin/person") == 0)
        return http_person_lookup(h, c, ps, who);
    if (strcmp(url, "/api/admin/accounts") == 0)
        return http_admin_list(h, c, url, ps, httpauth_accounts_json);
    if (strcmp(url, "/api/admin/tokens") == 0)
        return http_admin_list(h, c, url, ps, httpauth_tokens_json);
    if (strcmp(url, "/api/admin/lawful") == 0)
        return http_admin_list(h, c, url, ps, httpauth_register_json);
    return http_send_error(c, MHD_HTTP_NOT_FOUND,
                           "not found (administration: /api/admin/person, /api/admin/accounts, "
                           "/api/admin/tokens, /api/admin/lawful)");
}

/* {"signin":false} on an open loopback view, else who is signed in: the
 * dashboard shows a sign-out button from it, and the administration panel
 * to administrators only. */
static enum MHD_Result
http_whoami(struct MHD_Connection *c, const httpauth_principal *p)
{
    http_body b;
    if (http_body_open(&b))
        return MHD_NO;
    if (!p) {
        fputs("{\"signin\":false,\"user\":null}\n", b.f);
    } else {
        fputs("{\"signin\":true,\"user\":", b.f);
        query_json_string(b.f, p->name);
        /* role: what the caller may do, in the words of the README's roles. */
        fprintf(b.f, ",\"role\":\"%s\",\"token\":%s,\"admin\":%s}\n",
                p->is_token   ? "token"
                : p->is_admin ? "admin"
                              : "analyst",
                p->is_token ? "true" : "false", p->is_admin ? "true" : "false");
    }
    if (http_body_close(&b)) {
        http_body_free(&b);
        return MHD_NO;
    }
    return http_send_body(c, MHD_HTTP_OK, &b, "application/json; charset=utf-8");
}

/* 0 when the request carries a live token or session (p filled); else the
 * refusal was queued into *ret. */
static int
http_authorize(http_server *h, struct MHD_Connection *c, const char *url, httpauth_principal *p,
               enum MHD_Result *ret)
{
    const char *authz =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, WEBAUTH_COOKIE_NAME);
    webauth_session s;
    rz_error err = {0, ""};
    char addr[64];
    if (authz && strncmp(authz, "Bearer ", 7) == 0) {
        if (httpauth_token_check(h->auth, authz + 7, p, &err) == 0)
            return 0;
        log_info("http: token refused from %s: %s", http_client_addr(c, addr, sizeof(addr)),
                 err.text);
        *ret = http_send_error(c, MHD_HTTP_UNAUTHORIZED, err.text);
        return -1;
    }
    if (cookie && webauth_check(httpauth_web(h->auth), cookie, hlc_wall_ms(), &s, &err) == 0) {
        memset(p, 0, sizeof(*p));
        snprintf(p->name, sizeof(p->name), "%s", s.user);
        p->is_admin = s.is_admin;
        return 0;
    }
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
        *ret = http_redirect(c, "/login", NULL);
    else
        *ret = http_send_error(c, MHD_HTTP_UNAUTHORIZED,
                               cookie ? err.text
                                      : "sign in at /login, or send Authorization: Bearer TOKEN "
                                        "(rozgar-server token add NAME)");
    return -1;
}

/* ---- dispatch ------------------------------------------------------- */

typedef int (*http_api_fn)(http_req *r, FILE *out, rz_error *err);

typedef struct http_api_route {
    const char *path;  /* exact path */
    http_api_fn fn;    /* writes the body */
    const char *ctype; /* its content type */
    int asof;          /* 1: takes register_version (places as at that version) */
} http_api_route;

static const http_api_route http_api_routes[] = {
    {"/api/summary", http_summary, "application/json; charset=utf-8", 1},
    {"/api/totals", http_totals_json, "application/json; charset=utf-8", 1},
    {"/api/totals.csv", http_totals_csv, "text/csv; charset=utf-8", 1},
    {"/api/centres", http_centres_list, "application/json; charset=utf-8", 0},
    {"/api/centres.csv", http_centres_csv, "text/csv; charset=utf-8", 0},
    {"/api/register", http_register_list, "application/json; charset=utf-8", 0},
    {"/metrics", http_metrics, "text/plain; version=0.0.4; charset=utf-8", 0},
};

/* Runs fn on a pooled read-only handle inside one read transaction and
 * sends its body, or the failure. */
static enum MHD_Result
http_run_api(http_server *h, struct MHD_Connection *c, const char *url, const http_api_route *route,
             const http_params *ps)
{
    http_req r = {ps, NULL, hlc_wall_ms(), 0};
    http_body b;
    rz_error err = {0, ""};
    const char *rv = http_param_value(ps, "register_version");
    int rc, shadow = 0;

    /* Breakdowns by place as the enrollment register stood at an earlier
     * version (server/regview.h), like totals --register-version. */
    if (rv && !route->asof)
        return http_send_error(c, MHD_HTTP_BAD_REQUEST,
                               "register_version is a parameter of /api/summary, /api/totals and "
                               "/api/totals.csv only");
    if (rv && regview_parse(rv, &r.register_version, &err))
        return http_send_error(c, MHD_HTTP_BAD_REQUEST, err.text);
    if (http_body_open(&b))
        return http_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    /* A places list imported while the server runs (a home filter is
     * matched against it) is taken on the request's snapshot. */
    if (!(rc = http_db_take(h, &r.db, &err)) && !(rc = rz_db_exec(r.db, "BEGIN", &err)) &&
        !(rc = placelist_refresh(r.db, 1, NULL, &err)) &&
        !(rc = r.register_version ? regview_begin(r.db, r.register_version, &err) : 0)) {
        shadow = r.register_version != 0;
        rc = route->fn(&r, b.f, &err);
    }
    /* A handle whose shadow cannot be removed never serves another request. */
    if (shadow && regview_end(r.db) != 0)
        rz_db_close(&r.db);
    http_db_give(h, r.db); /* ends the read transaction */
    if (!rc && (rc = http_body_close(&b)))
        rz_fail(&err, rc, "out of memory");
    if (rc) {
        http_body_free(&b);
        return http_send_failure(c, url, rc, &err);
    }
    return http_send_body(c, MHD_HTTP_OK, &b, route->ctype);
}

/* The public listener's routes: the catalogue and nothing else. */
static enum MHD_Result
http_on_public(http_server *h, struct MHD_Connection *c, const char *url, const http_params *ps)
{
    http_req r = {ps, NULL, hlc_wall_ms(), 0};
    http_body b;
    rz_error err = {0, ""};
    int format, rc;

    if (strcmp(url, "/public/catalogue.json") == 0)
        format = CATALOGUE_JSON;
    else if (strcmp(url, "/public/catalogue.csv") == 0)
        format = CATALOGUE_CSV;
    else
        return http_send_error(c, MHD_HTTP_NOT_FOUND,
                               "not found (public: /public/catalogue.json, "
                               "/public/catalogue.csv)");
    if (http_body_open(&b))
        return http_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    if (!(rc = http_db_take(h, &r.db, &err)) && !(rc = rz_db_exec(r.db, "BEGIN", &err)))
        rc = http_public_write(h, &r, format, b.f, &err);
    http_db_give(h, r.db);
    if (!rc && (rc = http_body_close(&b)))
        rz_fail(&err, rc, "out of memory");
    if (rc) {
        http_body_free(&b);
        return http_send_failure(c, url, rc, &err);
    }
    if (format == CATALOGUE_JSON)
        return http_send_body(c, MHD_HTTP_OK, &b, "application/json; charset=utf-8");
    return http_send_body(c, MHD_HTTP_OK, &b, "text/csv; charset=utf-8");
}

static enum MHD_Result
http_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                const char *version, const char *upload_data, size_t *upload_data_size,
                void **req_cls)
{
    http_server *h = cls;
    http_params ps;
    httpauth_principal who;
    enum MHD_Result ret;
    size_t i;
    (void)version;

    if (h->auth && strcmp(method, MHD_HTTP_METHOD_POST) == 0 &&
        (strcmp(url, "/login") == 0 || strcmp(url, "/logout") == 0)) {
        /* The only bodies read: sign-in forms, bounded. */
        http_post *post = *req_cls;
        if (!post) {
            *req_cls = xcalloc(1, sizeof(http_post));
            return MHD_YES;
        }
        if (*upload_data_size) {
            if (post->len + *upload_data_size > HTTP_FORM_MAX)
                post->too_big = 1;
            else {
                memcpy(post->body + post->len, upload_data, *upload_data_size);
                post->len += *upload_data_size;
                post->body[post->len] = '\0';
            }
            *upload_data_size = 0;
            return MHD_YES;
        }
        return strcmp(url, "/login") == 0 ? http_signin(h, c, post) : http_signout(h, c);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return http_send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
    if (http_params_read(c, &ps))
        return http_send_error(c, MHD_HTTP_BAD_REQUEST, ps.error);
    if (strcmp(url, "/healthz") == 0)
        return http_healthz(h, c);
    if (h->public_only)
        return http_on_public(h, c, url, &ps);
    if (h->auth) {
        /* Beyond loopback or over HTTPS: the sign-in page and its style
         * are open, everything else needs a session or a token. */
        if (strcmp(url, "/login") == 0)
            return http_send_login(c, MHD_HTTP_OK, "");
        if (strcmp(url, "/static/style.css") != 0 && http_authorize(h, c, url, &who, &ret) != 0)
            return ret;
    }
    if (strcmp(url, "/api/whoami") == 0)
        return http_whoami(c, h->auth ? &who : NULL);
    if (strncmp(url, "/api/admin/", 11) == 0)
        return http_admin(h, c, url, &ps, &who);

    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
        return http_send_page(h, c);
    if (strcmp(url, "/static/dashboard.js") == 0)
        return http_send_asset(h, c, "dashboard.js", "text/javascript; charset=utf-8");
    if (strcmp(url, "/static/style.css") == 0)
        return http_send_asset(h, c, "style.css", "text/css; charset=utf-8");
    if (strcmp(url, "/static/chart.js") == 0) {
        if (!h->chart_js[0])
            return http_send_error(c, MHD_HTTP_NOT_FOUND,
                                   "Chart.js not installed (Debian package libjs-chart.js)");
        return http_send_file(c, h->chart_js, "text/javascript; charset=utf-8", "max-age=86400");
    }
    for (i = 0; i < sizeof(http_api_routes) / sizeof(http_api_routes[0]); i++)
        if (strcmp(url, http_api_routes[i].path) == 0)
            return http_run_api(h, c, url, &http_api_routes[i], &ps);
    return http_send_error(c, MHD_HTTP_NOT_FOUND, "not found");
}

/* ---- start / stop --------------------------------------------------- */

RZ_PRINTF(2, 0)
static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[256];
    size_t n;
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_debug("http: %s", line);
}

/* Splits "host:port" / "[v6]:port" and resolves it; 0 or RZ_E_ARG. */
static int
http_resolve(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen, rz_error *err)
{
    char host[HTTP_ADDR_MAX], *port;
    struct addrinfo hints, *ai = NULL;
    size_t len = addr ? strlen(addr) : 0;
    int gai;

    if (len == 0 || len >= sizeof(host))
        return rz_fail(err, RZ_E_ARG, "http address must be host:port");
    memcpy(host, addr, len + 1);
    if (host[0] == '[') {
        char *end = strchr(host, ']');
        if (!end || end[1] != ':')
            return rz_fail(err, RZ_E_ARG, "http address: expected [ipv6]:port");
        *end = '\0';
        port = end + 2;
        memmove(host, host + 1, strlen(host + 1) + 1);
    } else {
        port = strrchr(host, ':');
        if (!port || strchr(host, ':') != port)
            return rz_fail(err, RZ_E_ARG, "http address must be host:port ([v6]:port)");
        *port++ = '\0';
    }
    if (!host[0] || !port[0] || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
        atol(port) > 65535)
        return rz_fail(err, RZ_E_ARG, "http address: bad host or port in '%s'", addr);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if ((gai = getaddrinfo(host, port, &hints, &ai)) != 0 || !ai)
        return rz_fail(err, RZ_E_ARG, "http address %s: %s", addr, gai_strerror(gai));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *sslen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* Chart.js UMD build of Debian's libjs-chart.js: chart.umd.js (v4) or
 * chart.min.js (v3, bookworm). */
static void
http_find_chart(http_server *h)
{
    static const char *const names[] = {"chart.umd.js", "chart.min.js", "chart.js"};
    size_t i;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(h->chart_js, sizeof(h->chart_js), "%s/%s", HTTP_CHART_DIR, names[i]);
        if (access(h->chart_js, R_OK) == 0)
            return;
    }
    h->chart_js[0] = '\0';
    log_warnx("http: Chart.js not found in %s; the dashboard shows tables only", HTTP_CHART_DIR);
}

/* 1 for 127.0.0.0/8 and ::1: nobody but this machine can connect. */
static int
http_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

static void
http_request_done(void *cls, struct MHD_Connection *c, void **req_cls,
                  enum MHD_RequestTerminationCode toe)
{
    http_post *post = *req_cls;
    (void)cls, (void)c, (void)toe;
    if (post) {
        sodium_memzero(post, sizeof(*post)); /* it held a password */
        free(post);
        *req_cls = NULL;
    }
}

/* HTTPS and accounts as o asks and the address requires (see http.h). */
static int
http_secure(http_server *h, const http_opts *o, const struct sockaddr_storage *ss, rz_error *err)
{
    int loopback = http_is_loopback(ss), tls = o->tls_cert || o->tls_key, rc, admins = 0;
    if (!!o->tls_cert != !!o->tls_key)
        return rz_fail(err, RZ_E_CONFIG, "HTTPS needs both --tls-cert and --tls-key");
    if (!loopback && !tls)
        return rz_fail(err, RZ_E_CONFIG,
                       "%s is beyond loopback: it is served over HTTPS only; give --tls-cert "
                       "FILE and --tls-key FILE (PEM)",
                       o->addr);
    if (!tls)
        return 0;
    if ((rc = webtls_load_or_make(o->dir ? o->dir : ".", o->tls_cert, o->tls_key, "rozgar-server",
                                  NULL, &h->tls, err)))
        return rc;
    log_info("http: HTTPS on %s, certificate SHA-256 %s", o->addr, h->tls.fingerprint);
    if (o->public_only)
        return 0; /* the public catalogue is for anyone */
    if (!o->dir)
        return rz_fail(err, RZ_E_CONFIG, "http: sign-in needs the data directory");
    if ((rc = httpauth_open(&h->auth, o->dir, err)))
        return rc;
    if (webauth_admin_count(httpauth_web(h->auth), &admins, err) == 0 && admins == 0)
        log_warnx(
            "http: no administrator account yet: rozgar-server account add NAME --role admin");
    return 0;
}

int
http_start_opts(http_server **out, const http_opts *o, rz_error *err)
{
    const char *addr = o->addr, *dir = o->store_dir;
    int public_only = o->public_only;
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    const char *web = getenv("RZ_WEB_DIR");
    const union MHD_DaemonInfo *info;
    http_server *h;
    sqlite3 *probe = NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    int rc;

    *out = NULL;
    if (!dir)
        return rz_fail(err, RZ_E_ARG, "http: no server directory");
    if ((rc = http_resolve(addr, &ss, &sslen, err)))
        return rc;
    /* Fail at startup, not on the first request, when the database is
     * not there or not readable. */
    if ((rc = state_store_reader_open(&probe, dir, err)))
        return rc;

    h = xcalloc(1, sizeof(*h));
    h->dir = xstrdup(dir);
    h->public_only = public_only;
    pthread_mutex_init(&h->pool_mu, NULL);
    pthread_mutex_init(&h->pub_mu, NULL);
    h->pool[h->npool++] = probe;
    if (web && web[0])
        snprintf(h->web_dir, sizeof(h->web_dir), "%s", web);
    else if (rz_share_path(h->web_dir, sizeof(h->web_dir), "web") != 0)
        h->web_dir[0] = '\0';
    http_find_chart(h);
    if ((rc = http_secure(h, o, &ss, err))) {
        http_stop(&h);
        return rc;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (h->tls.cert_pem)
        h->mhd = MHD_start_daemon(
            flags | MHD_USE_TLS, 0, NULL, NULL, http_on_request, h, MHD_OPTION_SOCK_ADDR,
            (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT_S,
            MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED,
            http_request_done, NULL, MHD_OPTION_HTTPS_MEM_KEY, h->tls.key_pem,
            MHD_OPTION_HTTPS_MEM_CERT, h->tls.cert_pem, MHD_OPTION_END);
    else
        h->mhd = MHD_start_daemon(
            flags, 0, NULL, NULL, http_on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)HTTP_CONN_TIMEOUT_S, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
            MHD_OPTION_NOTIFY_COMPLETED, http_request_done, NULL, MHD_OPTION_END);
    if (!h->mhd) {
        rc = rz_fail(err, RZ_E_IO, "http: cannot listen on %s", addr);
        http_stop(&h);
        return rc;
    }
    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    if (public_only)
        log_info("http: public catalogue on port %d", h->port);
    else
        log_info("http: dashboard on port %d (assets from %s)", h->port, h->web_dir);
    *out = h;
    return 0;
}

int
http_start(http_server **out, const char *addr, const char *dir, rz_error *err)
{
    http_opts o = {addr, dir, NULL, NULL, NULL, 0};
    return http_start_opts(out, &o, err);
}

int
http_start_public(http_server **out, const char *addr, const char *dir, rz_error *err)
{
    http_opts o = {addr, dir, NULL, NULL, NULL, 1};
    return http_start_opts(out, &o, err);
}

void
http_stop(http_server **hp)
{
    http_server *h = hp ? *hp : NULL;
    if (!h)
        return;
    if (h->mhd)
        MHD_stop_daemon(h->mhd); /* joins the connection threads */
    while (h->npool > 0)
        rz_db_close(&h->pool[--h->npool]);
    pthread_mutex_destroy(&h->pool_mu);
    catalogue_destroy(&h->pub);
    pthread_mutex_destroy(&h->pub_mu);
    httpauth_destroy(&h->auth);
    webtls_free(&h->tls);
    free(h->dir);
    free(h);
    *hp = NULL;
}

int
http_port(const http_server *h)
{
    return h ? h->port : 0;
}
