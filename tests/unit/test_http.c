/*
 * test_http: server/http.  Builds a small national database through the real
 * code paths (store_enroll for four centres in three provinces, merge_entry
 * for persons, events and attendance, store_node_update for sync times),
 * starts http_start on 127.0.0.1 with an ephemeral port and talks plain
 * HTTP/1.1 to it over a socket.  Checks status codes, that every JSON answer
 * parses and carries "as_of" and completeness, the figures against both the
 * recorded data and the query layer, CSV export, Prometheus text, 400 on
 * every kind of bad parameter, 404, 405, HEAD, the read-only handle pool
 * under concurrent requests, static assets and RZ_WEB_DIR, and start-up
 * failures (bad address, missing database, port in use).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "proto/entry.h"
#include "server/http.h"
#include "server/merge.h"
#include "server/query.h"
#include "server/log_store.h"
#include "server/state_store.h"

#define DAY_MS (24ull * 3600 * 1000)

typedef struct fixture {
    char dir[64];   /* temporary directory */
    char db[96];    /* its server.db */
    http_server *h; /* server under test */
    int port;       /* its port */
} fixture;

/* ---- building the database through store + merge -------------------- */

typedef struct centre_def {
    const char *name, *province, *district;
    int programme;
    int64_t synced_days_ago; /* -1: never synced */
} centre_def;

static const centre_def centres[] = {
    {"e-Rozgar Lahore", "Punjab", "Lahore", 1, 0},
    {"Innovista Multan", "Punjab", "Multan", 2, 1},
    {"e-Rozgar Peshawar", "Khyber Pakhtunkhwa", "Peshawar", 1, 10},
    {"e-Rozgar Quetta", "Balochistan", "Quetta", 1, -1},
};
enum { NCENTRES = 4 };

typedef struct person_def {
    int node;   /* index into centres */
    int gender; /* enum rz_gender */
    int birth_year;
    uint32_t reg_date; /* YYYYMMDD */
} person_def;

/* Six people: four women; youth (15-29 in the registration year) are the
 * ones born 1997 or later. */
static const person_def people[] = {
    {0, RZ_G_FEMALE, 2001, 20260310}, {0, RZ_G_MALE, 1998, 20260310},
    {0, RZ_G_FEMALE, 2004, 20260311}, {1, RZ_G_MALE, 1975, 20260402},
    {1, RZ_G_FEMALE, 2003, 20260402}, {2, RZ_G_FEMALE, 2002, 20251120},
};
enum { NPEOPLE = 6 };

typedef struct event_def {
    int node;
    int kind;
    uint32_t date;
} event_def;

static const event_def events[] = {
    {0, RZ_EK_BOOTCAMP, 20260315}, {1, RZ_EK_FINLIT, 20260405}, {2, RZ_EK_AWARENESS, 20251201}};

/* (event, person, present) */
static const int attendance[][3] = {{0, 0, 1}, {0, 1, 1}, {0, 2, 1},
                                    {1, 3, 1}, {1, 4, 0}, {2, 5, 1}};

static void
node_id_of(int i, uint8_t id[RZ_NODE_ID_BYTES])
{
    memset(id, 0, RZ_NODE_ID_BYTES);
    id[0] = 0x4e;
    id[7] = (uint8_t)(i + 1);
}

static void
record_id(uint8_t kind, int i, uint8_t id[16])
{
    memset(id, 0, 16);
    id[0] = kind;
    id[15] = (uint8_t)(i + 1);
}

static void
merge_one(merge_ctx *m, int node, uint64_t seq, const rz_entry *e, uint64_t now)
{
    uint8_t nid[RZ_NODE_ID_BYTES];
    merge_input in;
    rz_error err = {0, ""};
    node_id_of(node, nid);
    memset(&in, 0, sizeof(in));
    in.node_id = nid;
    in.centre_id = node + 1; /* centres are enrolled in order, ids 1.. */
    in.seq = seq;
    in.e = e;
    in.win_lo_ms = 0;
    in.win_hi_ms = now;
    in.cnic_state = MERGE_CNIC_ABSENT;
    if (merge_entry(m, &in, &err) != 0)
        fail_msg("merge_entry: %s", err.text);
}

static void
merge_records(state_store *s, uint64_t now)
{
    merge_ctx *m = NULL;
    rz_error err = {0, ""};
    uint64_t hlc = hlc_make(now - DAY_MS, 0), seq = 1;
    uint8_t pid[16], eid[16], akey[32];
    rz_entry e;
    int i;

    assert_int_equal(state_store_begin(s, &err), 0);
    assert_int_equal(merge_new(&m, state_store_db(s), &err), 0);
    for (i = 0; i < NPEOPLE; i++) {
        record_id(0x50, i, pid);
        entry_init(&e, hlc++, RZ_T_PERSON, RZ_OP_SET, pid, 16);
        entry_put(&e, RZ_PF_GENDER, rz_uint((uint64_t)people[i].gender));
        entry_put(&e, RZ_PF_BIRTH_YEAR, rz_uint((uint64_t)people[i].birth_year));
        entry_put(&e, RZ_PF_DISTRICT, rz_str(centres[people[i].node].district));
        entry_put(&e, RZ_PF_AREA, rz_uint(RZ_AREA_RURAL));
        entry_put(&e, RZ_PF_SKILL, rz_uint(RZ_SK_WHITE));
        entry_put(&e, RZ_PF_REG_DATE, rz_uint(people[i].reg_date));
        merge_one(m, people[i].node, seq++, &e, now);
    }
    for (i = 0; i < 3; i++) {
        record_id(0x45, i, eid);
        entry_init(&e, hlc++, RZ_T_EVENT, RZ_OP_SET, eid, 16);
        entry_put(&e, RZ_EF_KIND, rz_uint((uint64_t)events[i].kind));
        entry_put(&e, RZ_EF_TITLE, rz_str("Session"));
        entry_put(&e, RZ_EF_DATE, rz_uint(events[i].date));
        entry_put(&e, RZ_EF_DURATION, rz_uint(120));
        entry_put(&e, RZ_EF_MODE, rz_uint(RZ_MODE_IN_PERSON));
        merge_one(m, events[i].node, seq++, &e, now);
    }
    for (i = 0; i < 6; i++) {
        record_id(0x45, attendance[i][0], akey);
        record_id(0x50, attendance[i][1], akey + 16);
        entry_init(&e, hlc++, RZ_T_ATTENDANCE, RZ_OP_SET, akey, 32);
        entry_put(&e, RZ_AF_PRESENT, rz_bool(attendance[i][2]));
        merge_one(m, events[attendance[i][0]].node, seq++, &e, now);
    }
    if (merge_flush(m, &err) != 0)
        fail_msg("merge_flush: %s", err.text);
    assert_int_equal(state_store_commit(s, &err), 0);
    merge_destroy(&m);
}

static void
enroll_centres(log_store *s, uint64_t now)
{
    rz_error err = {0, ""};
    int i;
    for (i = 0; i < NCENTRES; i++) {
        rz_identity id;
        uint8_t nid[RZ_NODE_ID_BYTES];
        log_node n;
        identity_generate(&id);
        node_id_of(i, nid);
        if (log_store_enroll(s, nid, id.pk, centres[i].name, centres[i].programme,
                             centres[i].province, centres[i].district, &err) != 0)
            fail_msg("store_enroll: %s", err.text);
        identity_wipe(&id);
        assert_int_equal(log_store_node_get(s, nid, &n, &err), 0);
        n.last_sync_ms = centres[i].synced_days_ago < 0
                             ? 0
                             : now - (uint64_t)centres[i].synced_days_ago * DAY_MS - 60000;
        assert_int_equal(log_store_begin(s, &err), 0);
        assert_int_equal(log_store_node_update(s, &n, &err), 0);
        assert_int_equal(log_store_commit(s, &err), 0);
    }
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    log_store *s = NULL;
    state_store *ss = NULL;
    rz_error err = {0, ""};
    uint64_t now = hlc_wall_ms();

    assert_non_null(f);
    assert_int_equal(crypto_init(), 0);
    snprintf(f->dir, sizeof(f->dir), "/tmp/rz-http.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/server.db", f->dir);
    if (log_store_open(&s, f->dir, &err) != 0 || state_store_open(&ss, f->dir, &err) != 0)
        fail_msg("store open: %s", err.text);
    enroll_centres(s, now);
    merge_records(ss, now);
    state_store_close(&ss);
    log_store_close(&s);
    if (http_start(&f->h, "127.0.0.1:0", f->dir, &err) != 0)
        fail_msg("http_start: %s", err.text);
    f->port = http_port(f->h);
    assert_true(f->port > 0 && f->port < 65536);
    *state = f;
    return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int
teardown(void **state)
{
    fixture *f = *state;
    http_stop(&f->h);
    assert_null(f->h);
    http_stop(&f->h); /* NULL is accepted */
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- a tiny HTTP/1.1 client ----------------------------------------- */

typedef struct reply {
    int status;         /* HTTP status */
    char headers[4096]; /* raw header block, lower-case names not guaranteed */
    char *body;         /* NUL-terminated body (malloc'd) */
    size_t len;         /* its length */
} reply;

static void
reply_free(reply *r)
{
    free(r->body);
    r->body = NULL;
}

/* Sends raw (a whole request) and reads the answer until the server
 * closes.  A receive timeout guards against a hang; it asserts nothing
 * about speed. */
static void
http_raw(int port, const char *raw, reply *r)
{
    struct sockaddr_in sa;
    struct timeval tv = {30, 0};
    char *buf = NULL, *sep;
    size_t len = 0, cap = 0;
    ssize_t got;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(send(fd, raw, strlen(raw), 0), (ssize_t)strlen(raw));
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 16384;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        got = recv(fd, buf + len, cap - len, 0);
        assert_true(got >= 0);
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    buf[len] = '\0';
    memset(r, 0, sizeof(*r));
    assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &r->status), 1);
    sep = strstr(buf, "\r\n\r\n");
    assert_non_null(sep);
    assert_true((size_t)(sep - buf) < sizeof(r->headers));
    memcpy(r->headers, buf, (size_t)(sep - buf));
    r->headers[sep - buf] = '\0';
    r->len = len - (size_t)(sep + 4 - buf);
    r->body = malloc(r->len + 1);
    assert_non_null(r->body);
    memcpy(r->body, sep + 4, r->len);
    r->body[r->len] = '\0';
    free(buf);
}

static void
http_get(int port, const char *path, reply *r)
{
    char req[4096];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             path);
    http_raw(port, req, r);
}

/* ---- a strict JSON validator (RFC 8259) ------------------------------ */

static int json_value(const char **p, int depth);

static void
json_ws(const char **p)
{
    while (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t')
        (*p)++;
}

static int
json_string(const char **p)
{
    const char *s = *p;
    if (*s++ != '"')
        return -1;
    while (*s != '"') {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            s++;
            if (*s == 'u') {
                int i;
                for (i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
                        return -1;
                s += 4;
            } else if (!*s || !strchr("\"\\/bfnrt", *s)) {
                return -1;
            }
        }
        s++;
    }
    *p = s + 1;
    return 0;
}

static int
json_number(const char **p)
{
    const char *s = *p;
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return -1;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return -1;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (*s < '0' || *s > '9')
            return -1;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    *p = s;
    return 0;
}

static int
json_members(const char **p, int depth, char close, int object)
{
    (*p)++;
    json_ws(p);
    if (**p == close) {
        (*p)++;
        return 0;
    }
    for (;;) {
        json_ws(p);
        if (object) {
            if (json_string(p))
                return -1;
            json_ws(p);
            if (*(*p)++ != ':')
                return -1;
        }
        if (json_value(p, depth + 1))
            return -1;
        json_ws(p);
        if (**p == ',') {
            (*p)++;
            continue;
        }
        if (**p == close) {
            (*p)++;
            return 0;
        }
        return -1;
    }
}

static int
json_value(const char **p, int depth)
{
    if (depth > 32)
        return -1;
    json_ws(p);
    switch (**p) {
    case '{': return json_members(p, depth, '}', 1);
    case '[': return json_members(p, depth, ']', 0);
    case '"': return json_string(p);
    case 't': return strncmp(*p, "true", 4) == 0 ? (*p += 4, 0) : -1;
    case 'f': return strncmp(*p, "false", 5) == 0 ? (*p += 5, 0) : -1;
    case 'n': return strncmp(*p, "null", 4) == 0 ? (*p += 4, 0) : -1;
    default: return json_number(p);
    }
}

static void
assert_json(const reply *r)
{
    const char *p = r->body;
    if (json_value(&p, 0) != 0)
        fail_msg("invalid JSON: %s", r->body);
    json_ws(&p);
    assert_int_equal(*p, '\0');
    assert_non_null(strstr(r->headers, "Content-Type: application/json"));
}

static void
assert_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected '%s' in:\n%s", needle, hay);
}

static void
assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect '%s' in:\n%s", needle, hay);
}

/* GET path expecting a JSON 200 with the as-of block. */
static void
get_json(fixture *f, const char *path, reply *r)
{
    http_get(f->port, path, r);
    if (r->status != 200)
        fail_msg("%s: status %d: %s", path, r->status, r->body);
    assert_json(r);
    assert_has(r->body, "\"as_of\":\"");
    assert_has(r->body, "\"completeness\":{\"stale_days\":");
    assert_has(r->body, "\"counting\":{\"received\":");
}

/* The query layer's figure for a spec given as name=value pairs. */
static int64_t
query_figure(fixture *f, const char *const *kv)
{
    sqlite3 *db = NULL;
    query_spec q;
    rz_error err = {0, ""};
    int64_t n = -1;
    assert_int_equal(state_store_reader_open(&db, f->dir, &err), 0);
    query_spec_init(&q);
    for (; kv[0]; kv += 2)
        assert_int_equal(query_spec_set(&q, kv[0], kv[1], &err), 0);
    assert_int_equal(query_spec_check(&q, &err), 0);
    assert_int_equal(query_total(db, &q, &n, &err), 0);
    rz_db_close(&db);
    return n;
}

/* ---- tests ---------------------------------------------------------- */

static void
test_summary_national(void **state)
{
    fixture *f = *state;
    reply r;
    char want[128];
    const char *reg[] = {"metric", "registered", NULL};
    const char *trn[] = {"metric", "trainees", NULL};
    char year[8];
    const char *target[] = {"metric", "trainees", "period", year, NULL};

    get_json(f, "/api/summary", &r);
    /* Exactly what was recorded: 6 people, 5 of them at a counted
     * attendance (one absent), 3 events; and what the query layer says. */
    assert_has(r.body, "\"registered\":6,");
    assert_has(r.body, "\"trainees\":5,");
    assert_has(r.body, "\"attendances\":5,");
    assert_has(r.body, "\"events\":3,");
    assert_int_equal(query_figure(f, reg), 6);
    assert_int_equal(query_figure(f, trn), 5);
    /* 4 of 6 registered are women. */
    assert_has(r.body, "\"women_share\":0.6667,");
    assert_has(r.body, "\"shares\":{\"registered\":{\"total\":6,\"women\":4,");
    /* 4 centres, 2 synced within 7 days, Peshawar 10 days ago, Quetta never. */
    assert_has(r.body, "\"centres\":4,\"centres_synced\":2,\"centres_stale\":2,"
                       "\"nodes\":4,\"nodes_synced\":2,\"complete\":false");
    /* Target: national trainees of this year against 50,000. */
    snprintf(year, sizeof(year), "%u", date_of_ms(hlc_wall_ms()) / 10000);
    snprintf(want, sizeof(want),
             "\"target\":{\"metric\":\"trainees\",\"scope\":\"national\",\"year\":%s,"
             "\"goal\":50000,\"value\":%lld,",
             year, (long long)query_figure(f, target));
    assert_has(r.body, want);
    assert_has(r.headers, "Cache-Control: no-store");
    reply_free(&r);
}

static void
test_summary_filtered(void **state)
{
    fixture *f = *state;
    reply r;

    get_json(f, "/api/summary?province=Punjab&stale_days=30", &r);
    assert_has(r.body, "\"registered\":5,");
    assert_has(r.body, "\"events\":2,");
    assert_has(r.body, "\"where\":[{\"dim\":\"province\",\"value\":\"Punjab\"}]");
    assert_has(r.body, "\"stale_days\":30,\"centres\":4,\"centres_synced\":3,");
    reply_free(&r);

    /* A year: 2026 holds 5 registrations and 4 trainees; the target
     * follows the chosen year. */
    get_json(f, "/api/summary?period=2026", &r);
    assert_has(r.body, "\"registered\":5,");
    assert_has(r.body, "\"trainees\":4,");
    assert_has(r.body, "\"target\":{\"metric\":\"trainees\",\"scope\":\"national\","
                       "\"year\":2026,\"goal\":50000,\"value\":4,\"progress\":0.0001}");
    reply_free(&r);

    /* Events have no gender: the figure is null, not an unfiltered count. */
    get_json(f, "/api/summary?gender=female", &r);
    assert_has(r.body, "\"registered\":4,");
    assert_has(r.body, "\"events\":null");
    reply_free(&r);
}

static void
test_totals_json(void **state)
{
    fixture *f = *state;
    reply r;

    get_json(f, "/api/totals?metric=registered&by=province", &r);
    assert_has(r.body, "\"query\":{\"metric\":\"registered\",");
    assert_has(r.body, "\"by\":[\"province\"]");
    assert_has(r.body, "\"total\":6,");
    assert_has(r.body, "\"province\":\"Punjab\",\"count\":5}");
    assert_has(r.body, "\"province\":\"Khyber Pakhtunkhwa\",\"count\":1}");
    assert_lacks(r.body, "Balochistan"); /* nothing counted there: no row */
    reply_free(&r);

    get_json(f, "/api/totals?metric=registered&by=province&by2=gender", &r);
    assert_has(r.body, "\"by\":[\"province\",\"gender\"]");
    assert_has(r.body, "\"province\":\"Punjab\",\"gender\":\"female\",\"count\":3}");
    assert_has(r.body, "\"province\":\"Punjab\",\"gender\":\"male\",\"count\":2}");
    reply_free(&r);

    get_json(f, "/api/totals?metric=events&by=kind&period=2026", &r);
    assert_has(r.body, "\"kind\":\"bootcamp\",\"count\":1}");
    assert_has(r.body, "\"kind\":\"financial-literacy\",\"count\":1}");
    assert_lacks(r.body, "awareness"); /* 2025 */
    reply_free(&r);

    get_json(f, "/api/totals?metric=registered&grain=year", &r);
    assert_has(r.body, "{\"period\":\"2025\",\"count\":1}");
    assert_has(r.body, "{\"period\":\"2026\",\"count\":5}");
    reply_free(&r);

    get_json(f, "/api/totals?metric=trainees&period=2026&grain=month", &r);
    assert_has(r.body, "{\"period\":\"2026-03\",\"count\":3}");
    assert_has(r.body, "{\"period\":\"2026-04\",\"count\":1}");
    reply_free(&r);

    get_json(f, "/api/totals?metric=registered&from=2026-03-11&to=2026-06-30&district=Multan", &r);
    assert_has(r.body, "\"window\":\"range\"");
    assert_has(r.body, "\"from\":\"2026-03-11\",\"to\":\"2026-06-30\"");
    assert_has(r.body, "\"total\":2,");
    reply_free(&r);

    get_json(f, "/api/totals?metric=registered&by=centre&where=gender%3Dfemale", &r);
    assert_has(r.body, "\"centre\":\"e-Rozgar Lahore\",\"count\":2}");
    assert_has(r.body, "\"centre\":\"Innovista Multan\",\"count\":1}");
    reply_free(&r);
}

static void
test_totals_csv(void **state)
{
    fixture *f = *state;
    reply r;

    http_get(f->port, "/api/totals.csv?metric=registered&by=province&by2=gender", &r);
    assert_int_equal(r.status, 200);
    assert_has(r.headers, "Content-Type: text/csv");
    assert_has(r.headers, "Content-Disposition: attachment; filename=\"rozgar-totals.csv\"");
    /* UTF-8 byte-order mark, then what and as of when, then the table. */
    {
        static const char head[] =
            "\xEF\xBB\xBF# Rozgar Sync registered by province and gender; as of 20";
        assert_int_equal(strncmp(r.body, head, sizeof(head) - 1), 0);
    }
    assert_has(r.body, " centres synced in the last 7 days\r\nperiod,province,gender,count\r\n");
    assert_has(r.body, "\r\nall,Punjab,female,3\r\n");
    assert_has(r.body, "\r\nall,Khyber Pakhtunkhwa,female,1\r\n");
    reply_free(&r);

    http_get(f->port, "/api/totals.csv?metric=attendances&", &r); /* a stray '&' is fine */
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\r\n"));
    assert_string_equal(strstr(r.body, "\r\n") + 2, "period,count\r\nall,5\r\n");
    reply_free(&r);

    http_get(f->port, "/api/centres.csv", &r);
    assert_int_equal(r.status, 200);
    assert_has(r.body, "\r\ncentre,province,district,programme,pcs,last_contact,days_since_contact,"
                       "last_data,not_yet_counted,state\r\n");
    assert_has(r.body, ",never\r\n");
    assert_has(r.body, ",ok\r\n");
    reply_free(&r);
    http_get(f->port, "/api/centres.csv?stale_days=x", &r);
    assert_int_equal(r.status, 400);
    reply_free(&r);

    http_get(f->port, "/api/totals.csv?metric=nope", &r);
    assert_int_equal(r.status, 400);
    assert_json(&r);
    reply_free(&r);
}

static void
test_centres(void **state)
{
    fixture *f = *state;
    reply r;
    char *quetta, *peshawar, *lahore;

    get_json(f, "/api/centres", &r);
    assert_has(r.body, "\"stale_days\":7,\"centres\":[");
    /* Stalest first: never synced, then 10 days ago, then the fresh ones. */
    quetta = strstr(r.body, "\"centre\":\"e-Rozgar Quetta\"");
    peshawar = strstr(r.body, "\"centre\":\"e-Rozgar Peshawar\"");
    lahore = strstr(r.body, "\"centre\":\"e-Rozgar Lahore\"");
    assert_true(quetta && peshawar && lahore && quetta < peshawar && peshawar < lahore);
    assert_has(quetta, "\"last_sync\":null,\"last_sync_ms\":null,\"lag_seconds\":null,"
                       "\"last_contact\":null,\"last_contact_ms\":null,"
                       "\"contact_lag_seconds\":null,\"stale\":true,\"state\":\"never\","
                       "\"revoked_nodes\":0,\"forked_nodes\":0,"
                       "\"counting\":{\"received\":0,\"counted\":0,");
    assert_has(peshawar, "\"stale\":true,\"state\":\"silent\",\"revoked_nodes\":0");
    assert_has(lahore, "\"province\":\"Punjab\",\"district\":\"Lahore\","
                       "\"programme\":\"e-rozgar\",\"nodes\":1,\"last_sync\":\"");
    assert_has(lahore, "\"stale\":false,\"state\":\"ok\",\"revoked_nodes\":0");
    reply_free(&r);

    get_json(f, "/api/centres?stale_days=30", &r);
    peshawar = strstr(r.body, "\"centre\":\"e-Rozgar Peshawar\"");
    assert_non_null(peshawar);
    assert_has(peshawar, "\"stale\":false,\"state\":\"ok\",\"revoked_nodes\":0");
    reply_free(&r);

    /* A node quarantined after a fork makes its centre "forked"; a centre
     * whose every node is revoked stays listed, as "revoked". */
    {
        sqlite3 *db = NULL;
        char *multan;
        assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
        assert_int_equal(
            sqlite3_exec(db,
                         "UPDATE node SET quarantined = 1 WHERE centre_id ="
                         " (SELECT centre_id FROM centre WHERE name = 'e-Rozgar Lahore');"
                         "UPDATE node SET revoked = 1 WHERE centre_id ="
                         " (SELECT centre_id FROM centre WHERE name = 'Innovista Multan')",
                         NULL, NULL, NULL),
            SQLITE_OK);
        get_json(f, "/api/centres", &r);
        lahore = strstr(r.body, "\"centre\":\"e-Rozgar Lahore\"");
        multan = strstr(r.body, "\"centre\":\"Innovista Multan\"");
        assert_true(lahore && multan);
        assert_has(lahore, "\"state\":\"forked\",\"revoked_nodes\":0,\"forked_nodes\":1");
        assert_has(multan, "\"nodes\":0,");
        assert_has(multan, "\"state\":\"revoked\",\"revoked_nodes\":1,\"forked_nodes\":0");
        reply_free(&r);
        assert_int_equal(
            sqlite3_exec(db, "UPDATE node SET quarantined = 0, revoked = 0", NULL, NULL, NULL),
            SQLITE_OK);
        sqlite3_close(db);
    }
}

static void
test_metrics(void **state)
{
    fixture *f = *state;
    reply r;

    http_get(f->port, "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_has(r.headers, "Content-Type: text/plain; version=0.0.4");
    assert_has(r.body, "# TYPE rozgar_batches_total counter\nrozgar_batches_total ");
    assert_has(r.body, "rozgar_rejects_total{reason=\"signature\"} ");
    assert_has(r.body, "\nrozgar_centres 4\n");
    assert_has(r.body, "\nrozgar_centres_stale 2\n");
    assert_has(r.body, "\nrozgar_nodes_fresh 2\n");
    assert_has(r.body, "rozgar_centre_last_sync_timestamp_seconds{centre=\"e-Rozgar Quetta\","
                       "province=\"Balochistan\"} 0\n");
    assert_has(r.body, "rozgar_centre_sync_lag_seconds{centre=\"e-Rozgar Lahore\"");
    assert_lacks(r.body, "rozgar_centre_sync_lag_seconds{centre=\"e-Rozgar Quetta\"");
    assert_has(r.body, "rozgar_http_requests_total{code=\"200\"} ");
    reply_free(&r);

    http_get(f->port, "/api/whoami", &r); /* loopback without TLS: open, nobody signed in */
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"signin\":false,\"user\":null}\n");
    reply_free(&r);

    http_get(f->port, "/healthz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}\n");
    reply_free(&r);
}

static void
expect_400(fixture *f, const char *path, const char *reason)
{
    reply r;
    http_get(f->port, path, &r);
    if (r.status != 400)
        fail_msg("%s: status %d, want 400: %s", path, r.status, r.body);
    assert_json(&r);
    assert_has(r.body, "{\"error\":\"");
    if (reason)
        assert_has(r.body, reason);
    reply_free(&r);
}

static void
test_bad_parameters(void **state)
{
    fixture *f = *state;
    char path[1024];
    size_t n;
    int i;

    expect_400(f, "/api/totals?metric=bogus", NULL);
    expect_400(f, "/api/totals?by=shoe_size", NULL);
    expect_400(f, "/api/totals?by=province&by2=province", NULL);
    expect_400(f, "/api/totals?by2=gender", "by2 needs by");
    expect_400(f, "/api/totals?period=2026-13", NULL);
    expect_400(f, "/api/totals?grain=fortnight", NULL);
    expect_400(f, "/api/totals?from=2026-02-30", NULL);
    expect_400(f, "/api/totals?colour=red", NULL);
    expect_400(f, "/api/totals?=red", "parameter name");
    expect_400(f, "/api/totals?province=", NULL);
    expect_400(f, "/api/totals?metric=registered&metric=events", "given twice");
    expect_400(f, "/api/totals?province=Pun%01jab", "printable");
    expect_400(f, "/api/totals?province=Pun%00jab", "printable");
    expect_400(f, "/api/summary?metric=events", "not used here");
    expect_400(f, "/api/summary?stale_days=0", "stale_days");
    expect_400(f, "/api/summary?stale_days=7d", "stale_days");
    expect_400(f, "/api/summary?stale_days=99999999999999999999", "stale_days");
    expect_400(f, "/api/centres?province=Punjab", "only stale_days");

    /* A value one byte over the bound. */
    n = (size_t)snprintf(path, sizeof(path), "/api/totals?province=");
    memset(path + n, 'x', QUERY_VALUE_MAX);
    path[n + QUERY_VALUE_MAX] = '\0';
    expect_400(f, path, "at most");
    /* A parameter name over its bound. */
    snprintf(path, sizeof(path), "/api/totals?%s=1",
             "a_parameter_name_that_is_far_too_long_to_be_real");
    expect_400(f, path, "parameter name");
    /* Too many parameters. */
    n = (size_t)snprintf(path, sizeof(path), "/api/totals?");
    for (i = 0; i < 17; i++)
        n += (size_t)snprintf(path + n, sizeof(path) - n, "%swhere=gender%%3Dfemale", i ? "&" : "");
    expect_400(f, path, "too many");
}

static void
test_more_than_two_dims_answered_or_refused(void **state)
{
    fixture *f = *state;
    reply r;
    /* Three dimensions go to the state tables: an answer, never a crash. */
    http_get(f->port, "/api/totals?by=province&by2=gender&age=20-24", &r);
    assert_true(r.status == 200 || r.status == 400);
    assert_json(&r);
    reply_free(&r);
}

static void
test_paths_and_methods(void **state)
{
    fixture *f = *state;
    reply r;

    http_get(f->port, "/nope", &r);
    assert_int_equal(r.status, 404);
    assert_json(&r);
    reply_free(&r);
    http_get(f->port, "/api/summary/extra", &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    http_get(f->port, "/static/../server/http.c", &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);

    http_raw(f->port,
             "POST /api/summary HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Length: 2\r\n\r\n{}",
             &r);
    assert_int_equal(r.status, 405);
    assert_has(r.headers, "Allow: GET, HEAD");
    reply_free(&r);
    http_raw(f->port, "DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    reply_free(&r);

    http_raw(f->port, "HEAD /api/summary HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    assert_has(r.headers, "Content-Type: application/json");
    reply_free(&r);
}

static void
test_page_and_assets(void **state)
{
    fixture *f = *state;
    reply r;

    http_get(f->port, "/", &r);
    assert_int_equal(r.status, 200);
    assert_has(r.headers, "Content-Type: text/html");
    assert_has(r.headers, "Content-Security-Policy: default-src 'self'");
    assert_has(r.body, "<canvas id=\"chart-place\"");
    assert_has(r.body, "src=\"/static/chart.js\"");
    assert_lacks(r.body, "http://"); /* no CDN */
    assert_lacks(r.body, "https://");
    reply_free(&r);

    http_get(f->port, "/static/dashboard.js", &r);
    assert_int_equal(r.status, 200);
    assert_has(r.headers, "Content-Type: text/javascript");
    assert_has(r.body, "/api/summary");
    reply_free(&r);

    http_get(f->port, "/static/style.css", &r);
    assert_int_equal(r.status, 200);
    assert_has(r.headers, "Content-Type: text/css");
    reply_free(&r);

    http_get(f->port, "/static/chart.js", &r);
    if (access("/usr/share/javascript/chart.js/chart.umd.js", R_OK) == 0 ||
        access("/usr/share/javascript/chart.js/chart.min.js", R_OK) == 0) {
        assert_int_equal(r.status, 200);
        assert_has(r.body, "Chart.js");
    } else {
        assert_int_equal(r.status, 404);
    }
    reply_free(&r);
}

static void
test_web_dir_override(void **state)
{
    fixture *f = *state;
    http_server *h = NULL;
    rz_error err = {0, ""};
    char web[128], page[160];
    FILE *fp;
    reply r;

    snprintf(web, sizeof(web), "%s/web", f->dir);
    assert_int_equal(mkdir(web, 0700), 0);
    snprintf(page, sizeof(page), "%s/index.html", web);
    fp = fopen(page, "w");
    assert_non_null(fp);
    fputs("<!DOCTYPE html><title>override</title>\n", fp);
    fclose(fp);
    setenv("RZ_WEB_DIR", web, 1);
    assert_int_equal(http_start(&h, "localhost:0", f->dir, &err), 0);
    unsetenv("RZ_WEB_DIR");
    http_get(http_port(h), "/", &r);
    assert_int_equal(r.status, 200);
    assert_has(r.body, "<title>override</title>");
    reply_free(&r);
    http_get(http_port(h), "/static/style.css", &r); /* not in the override dir */
    assert_int_equal(r.status, 404);
    reply_free(&r);
    http_stop(&h);
}

static void
test_start_failures(void **state)
{
    fixture *f = *state;
    http_server *h = NULL;
    rz_error err = {0, ""};
    char addr[64], missing[128];

    assert_int_equal(http_start(&h, "nonsense", f->dir, &err), RZ_E_ARG);
    assert_null(h);
    assert_int_equal(http_start(&h, "127.0.0.1:99999", f->dir, &err), RZ_E_ARG);
    assert_int_equal(http_start(&h, "127.0.0.1:80x", f->dir, &err), RZ_E_ARG);
    assert_int_equal(http_start(&h, ":8080", f->dir, &err), RZ_E_ARG);
    assert_int_equal(http_start(&h, "::1:8080", f->dir, &err), RZ_E_ARG);
    assert_int_equal(http_start(&h, "", f->dir, &err), RZ_E_ARG);
    snprintf(missing, sizeof(missing), "%s/absent", f->dir);
    assert_int_equal(http_start(&h, "127.0.0.1:0", missing, &err), RZ_E_IO);
    assert_null(h);
    assert_int_not_equal(access(missing, F_OK), 0); /* read-only: not created */
    /* The port the fixture holds is taken. */
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", f->port);
    assert_int_equal(http_start(&h, addr, f->dir, &err), RZ_E_IO);
    assert_null(h);
    assert_int_equal(http_port(NULL), 0);
}

typedef struct worker {
    int port; /* server */
    int ok;   /* answers that were 200 and valid JSON */
} worker;

static void *
worker_run(void *arg)
{
    worker *w = arg;
    static const char *const paths[] = {"/api/summary", "/api/totals?by=province&by2=gender",
                                        "/api/centres", "/api/totals?metric=trainees&grain=month"};
    int i;
    for (i = 0; i < 12; i++) {
        reply r;
        const char *p;
        http_get(w->port, paths[i % 4], &r);
        p = r.body;
        if (r.status == 200 && json_value(&p, 0) == 0)
            w->ok++;
        reply_free(&r);
    }
    return NULL;
}

/* More requests at once than the handle pool holds: each gets its own
 * read-only handle and a correct answer. */
static void
test_concurrent_requests(void **state)
{
    fixture *f = *state;
    pthread_t t[12];
    worker w[12];
    int i;
    for (i = 0; i < 12; i++) {
        w[i].port = f->port;
        w[i].ok = 0;
        assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    }
    for (i = 0; i < 12; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 12);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_national),
        cmocka_unit_test(test_summary_filtered),
        cmocka_unit_test(test_totals_json),
        cmocka_unit_test(test_totals_csv),
        cmocka_unit_test(test_centres),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_more_than_two_dims_answered_or_refused),
        cmocka_unit_test(test_paths_and_methods),
        cmocka_unit_test(test_page_and_assets),
        cmocka_unit_test(test_web_dir_override),
        cmocka_unit_test(test_start_failures),
        cmocka_unit_test(test_concurrent_requests),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
