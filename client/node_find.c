/* node_find: search, duplicates, event lists and attendance lists; see
 * node_find.h.  Each call prepares its statements (searches are rare next
 * to recordings) and binds every value: no text of a search reaches SQL. */
#include "client/node_find.h"

#include <sqlite3.h>
#include <string.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/hlc.h"

/* What a search text may match, prepared once per call. */
typedef struct find_terms {
    int all;                         /* empty text: everything matches */
    char name[NODE_FIND_TEXT_MAX];   /* ASCII-lowered text, for names and titles */
    char digits[NODE_FIND_TEXT_MAX]; /* its digits, when it looks like a number */
    char phone[RZ_PHONE_MAX];        /* national digits of a phone number */
    int has_digits, has_phone;       /* which of the two apply */
    int has_id;                      /* text names a record (code or id) */
    uint8_t id[NODE_REC_ID_BYTES];   /* that record */
} find_terms;

/* The part of a WHERE clause every person search shares:
 * ?1 include deleted, ?2 name, ?3 CNIC digits, ?4 phone digits, ?5 id,
 * ?6 match all. */
#define FIND_PERSON_WHERE                                                                          \
    " (?1 OR p.deleted = 0) AND (?6"                                                               \
    " OR (?2 IS NOT NULL AND instr(lower(p.name), ?2) > 0)"                                        \
    " OR (?3 IS NOT NULL AND instr(replace(p.cnic, '-', ''), ?3) > 0)"                             \
    " OR (?4 IS NOT NULL AND instr(replace(replace(replace(replace(replace(replace(p.phone,"       \
    " '-', ''), ' ', ''), '+', ''), '.', ''), '(', ''), ')', ''), ?4) > 0)"                        \
    " OR p.id = ?5)"

static void
lower_ascii(char *out, size_t cap, const char *s)
{
    size_t i;
    for (i = 0; s[i] && i + 1 < cap; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    out[i] = '\0';
}

/* Trims outer blanks of text into buf; RZ_E_ARG if too long or unclean. */
static int
find_text(char buf[NODE_FIND_TEXT_MAX], const char *text, rz_error *err)
{
    size_t n;
    const char *s = text_trim(text ? text : "", &n);
    if (n >= NODE_FIND_TEXT_MAX)
        return rz_fail(err, RZ_E_ARG, "the search text is %zu bytes; at most %d", n,
                       NODE_FIND_TEXT_MAX - 1);
    if (!text_is_clean(s, n))
        return rz_fail(err, RZ_E_ARG, "the search text is not valid UTF-8 text");
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 0;
}

static int
find_terms_make(node_store *ns, const char *text, uint8_t want, find_terms *t, rz_error *err)
{
    char buf[NODE_FIND_TEXT_MAX];
    size_t i, nd = 0;
    int numeric = 1, rc;
    memset(t, 0, sizeof *t);
    if ((rc = find_text(buf, text, err)) != 0)
        return rc;
    if (!buf[0]) {
        t->all = 1;
        return 0;
    }
    lower_ascii(t->name, sizeof t->name, buf);
    for (i = 0; buf[i]; i++) {
        char c = buf[i];
        if (c >= '0' && c <= '9')
            t->digits[nd++] = c;
        else if (!(c == ' ' || c == '-' || c == '+' || c == '.' || c == '(' || c == ')'))
            numeric = 0;
    }
    t->digits[nd] = '\0';
    /* Three digits at least: fewer would match half the register. */
    t->has_digits = numeric && nd >= 3;
    t->has_phone =
        t->has_digits && phone_digits(t->phone, buf, strlen(buf)) && strlen(t->phone) >= 3;
    /* A short code or id opens that record; anything else is no error. */
    t->has_id = node_store_resolve(ns, buf, want, t->id, NULL, NULL) == 0;
    return 0;
}

static void
bind_terms(sqlite3_stmt *st, const find_terms *t, int include_deleted)
{
    sqlite3_bind_int(st, 1, include_deleted ? 1 : 0);
    if (!t->all)
        sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
    if (t->has_digits)
        sqlite3_bind_text(st, 3, t->digits, -1, SQLITE_STATIC);
    if (t->has_phone)
        sqlite3_bind_text(st, 4, t->phone, -1, SQLITE_STATIC);
    if (t->has_id)
        sqlite3_bind_blob(st, 5, t->id, NODE_REC_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, t->all);
}

static size_t
page_limit(size_t limit)
{
    return limit == 0 || limit > NODE_FIND_LIMIT_MAX ? NODE_FIND_LIMIT_MAX : limit;
}

/* Runs a count(*) statement whose parameters are bound. */
static int
count_rows(sqlite3 *db, sqlite3_stmt *st, size_t *n, rz_error *err)
{
    if (sqlite3_step(st) != SQLITE_ROW)
        return rz_db_fail(db, err, "count");
    *n = (size_t)sqlite3_column_int64(st, 0);
    return 0;
}

int
node_find_persons(node_store *ns, const char *text, int include_deleted, size_t offset,
                  size_t limit, node_person_fn fn, void *ctx, size_t *total, rz_error *err)
{
    static const char sql[] = "SELECT " NODE_PERSON_SELECT " FROM person p WHERE" FIND_PERSON_WHERE
                              " ORDER BY p.id = ?5 DESC, lower(p.name), p.id LIMIT ?7 OFFSET ?8";
    static const char count_sql[] = "SELECT count(*) FROM person p WHERE" FIND_PERSON_WHERE;
    sqlite3 *db = node_store_db(ns);
    sqlite3_stmt *st = NULL;
    int owned = 0;
    node_person_row row;
    find_terms t;
    int rc, src;

    if ((rc = find_terms_make(ns, text, RZ_T_PERSON, &t, err)) != 0)
        return rc;
    if (total) {
        if ((rc = node_store_stmt(ns, count_sql, &st, &owned, err)) != 0)
            return rc;
        bind_terms(st, &t, include_deleted);
        rc = count_rows(db, st, total, err);
        node_store_stmt_done(st, owned);
        if (rc)
            return rc;
    }
    if ((rc = node_store_stmt(ns, sql, &st, &owned, err)) != 0)
        return rc;
    bind_terms(st, &t, include_deleted);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)page_limit(limit));
    sqlite3_bind_int64(st, 8, (sqlite3_int64)(offset > INT32_MAX ? INT32_MAX : offset));
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        if (node_store_person_row(st, 0, &row) == 0 && (rc = fn(ctx, &row)) != 0)
            break;
    if (rc == 0 && src != SQLITE_DONE)
        rc = rz_db_fail(db, err, "find persons");
    node_store_stmt_done(st, owned);
    return rc;
}

int
node_find_duplicates(node_store *ns, const node_person *p,
                     const uint8_t exclude_id[NODE_REC_ID_BYTES], node_dup_fn fn, void *ctx,
                     size_t *count, rz_error *err)
{
    /* ?1 CNIC, ?2 phone, ?3 lowered trimmed name, ?4 birth year, ?5 the
     * record to leave out.  Each alternative has its index. */
    static const char sql[] =
        "SELECT " NODE_PERSON_SELECT ","
        " (coalesce(p.cnic = ?1, 0)) | (coalesce(p.phone = ?2, 0) << 1)"
        " | (coalesce(p.birth_year = ?4 AND lower(trim(p.name)) = ?3, 0) << 2)"
        " FROM person p WHERE (p.cnic = ?1 OR p.phone = ?2"
        " OR (p.birth_year = ?4 AND lower(trim(p.name)) = ?3))"
        " AND (?5 IS NULL OR p.id <> ?5) ORDER BY p.deleted, p.id LIMIT ?6";
    sqlite3 *db = node_store_db(ns);
    sqlite3_stmt *st = NULL;
    int owned = 0;
    node_person_row row;
    char cnic[14], phone[RZ_PHONE_MAX], name[RZ_MAX_STR + 1];
    size_t n = 0;
    int rc, src;

    if (count)
        *count = 0;
    if ((rc = node_store_stmt(ns, sql, &st, &owned, err)) != 0)
        return rc;
    if ((p->set & NODE_SET(RZ_PF_CNIC)) && p->cnic &&
        cnic_normalize(cnic, p->cnic, strlen(p->cnic)))
        sqlite3_bind_text(st, 1, cnic, -1, SQLITE_STATIC);
    if ((p->set & NODE_SET(RZ_PF_PHONE)) && p->phone &&
        phone_normalize(phone, p->phone, strlen(p->phone)))
        sqlite3_bind_text(st, 2, phone, -1, SQLITE_STATIC);
    if ((p->set & NODE_SET(RZ_PF_NAME)) && p->name && (p->set & NODE_SET(RZ_PF_BIRTH_YEAR)) &&
        p->birth_year <= (uint64_t)INT64_MAX) {
        /* As SQLite's trim() and lower(): spaces only, ASCII only. */
        const char *s = p->name, *e;
        while (*s == ' ')
            s++;
        e = s + strlen(s);
        while (e > s && e[-1] == ' ')
            e--;
        if ((size_t)(e - s) < sizeof name) {
            char tmp[RZ_MAX_STR + 1];
            memcpy(tmp, s, (size_t)(e - s));
            tmp[e - s] = '\0';
            lower_ascii(name, sizeof name, tmp);
            sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, (sqlite3_int64)p->birth_year);
        }
    }
    if (exclude_id)
        sqlite3_bind_blob(st, 5, exclude_id, NODE_REC_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, NODE_FIND_LIMIT_MAX);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        unsigned why = (unsigned)sqlite3_column_int(st, 15);
        if (node_store_person_row(st, 0, &row) != 0 || why == 0)
            continue;
        n++;
        if (fn && (rc = fn(ctx, &row, why)) != 0)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = rz_db_fail(db, err, "duplicate check");
    node_store_stmt_done(st, owned);
    if (count)
        *count = n;
    return rc;
}

/* ?1 include deleted, ?2 title, ?3 when, ?4 today, ?5 id, ?6 all. */
#define FIND_EVENT_WHERE                                                                           \
    " (?1 OR e.deleted = 0) AND (?6 OR (?2 IS NOT NULL AND instr(lower(e.title), ?2) > 0)"         \
    " OR e.id = ?5) AND (?3 = 0 OR (?3 = 1 AND e.date >= ?4) OR (?3 = 2 AND e.date < ?4))"

static void
bind_event_terms(sqlite3_stmt *st, const find_terms *t, int include_deleted, int when,
                 uint32_t today)
{
    sqlite3_bind_int(st, 1, include_deleted ? 1 : 0);
    if (!t->all)
        sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, when);
    sqlite3_bind_int64(st, 4, today);
    if (t->has_id)
        sqlite3_bind_blob(st, 5, t->id, NODE_REC_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, t->all);
}

int
node_find_events(node_store *ns, const char *text, int when, uint32_t today, int include_deleted,
                 size_t offset, size_t limit, node_event_fn fn, void *ctx, size_t *total,
                 rz_error *err)
{
    static const char sql[] =
        "SELECT " NODE_EVENT_SELECT " FROM event e WHERE" FIND_EVENT_WHERE
        " ORDER BY e.id = ?5 DESC, CASE WHEN ?3 = 1 THEN e.date ELSE -e.date END, e.id"
        " LIMIT ?7 OFFSET ?8";
    static const char count_sql[] = "SELECT count(*) FROM event e WHERE" FIND_EVENT_WHERE;
    sqlite3 *db = node_store_db(ns);
    sqlite3_stmt *st = NULL;
    int owned = 0;
    node_event_row row;
    find_terms t;
    int rc, src;

    if (when != NODE_WHEN_ALL && when != NODE_WHEN_UPCOMING && when != NODE_WHEN_PAST)
        return rz_fail(err, RZ_E_ARG, "unknown choice of events %d", when);
    if (today == 0)
        today = date_of_ms(hlc_wall_ms());
    if ((rc = find_terms_make(ns, text, RZ_T_EVENT, &t, err)) != 0)
        return rc;
    if (total) {
        if ((rc = node_store_stmt(ns, count_sql, &st, &owned, err)) != 0)
            return rc;
        bind_event_terms(st, &t, include_deleted, when, today);
        rc = count_rows(db, st, total, err);
        node_store_stmt_done(st, owned);
        if (rc)
            return rc;
    }
    if ((rc = node_store_stmt(ns, sql, &st, &owned, err)) != 0)
        return rc;
    bind_event_terms(st, &t, include_deleted, when, today);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)page_limit(limit));
    sqlite3_bind_int64(st, 8, (sqlite3_int64)(offset > INT32_MAX ? INT32_MAX : offset));
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        if (node_store_event_row(st, 0, &row) == 0 && (rc = fn(ctx, &row)) != 0)
            break;
    if (rc == 0 && src != SQLITE_DONE)
        rc = rz_db_fail(db, err, "find events");
    node_store_stmt_done(st, owned);
    return rc;
}

/* Person search plus the event's marking: ?9 event, ?10 marked only. */
#define ROSTER_FROM                                                                                \
    " FROM person p LEFT JOIN attendance a ON a.event_id = ?9 AND a.person_id = p.id "             \
    "WHERE" FIND_PERSON_WHERE " AND (?10 = 0 OR (a.person_id IS NOT NULL AND a.deleted = 0))"

static int
roster_counts(node_store *ns, const uint8_t *event_id, const find_terms *t, int marked_only,
              node_roster_counts *c, rz_error *err)
{
    static const char att_sql[] =
        "SELECT coalesce(sum(a.present = 1), 0), coalesce(sum(a.present = 0), 0)"
        " FROM attendance a JOIN person p ON p.id = a.person_id"
        " WHERE a.event_id = ?1 AND a.deleted = 0 AND p.deleted = 0";
    static const char people_sql[] = "SELECT count(*) FROM person WHERE deleted = 0";
    static const char match_sql[] = "SELECT count(*)" ROSTER_FROM;
    sqlite3 *db = node_store_db(ns);
    sqlite3_stmt *st = NULL;
    int owned = 0;
    int rc;
    memset(c, 0, sizeof *c);
    if ((rc = node_store_stmt(ns, att_sql, &st, &owned, err)) != 0)
        return rc;
    sqlite3_bind_blob(st, 1, event_id, NODE_REC_ID_BYTES, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        c->present = (size_t)sqlite3_column_int64(st, 0);
        c->absent = (size_t)sqlite3_column_int64(st, 1);
    } else {
        rc = rz_db_fail(db, err, "attendance counts");
    }
    node_store_stmt_done(st, owned);
    if (rc || (rc = node_store_stmt(ns, people_sql, &st, &owned, err)) != 0)
        return rc;
    rc = count_rows(db, st, &c->people, err);
    node_store_stmt_done(st, owned);
    if (rc || (rc = node_store_stmt(ns, match_sql, &st, &owned, err)) != 0)
        return rc;
    bind_terms(st, t, 0);
    sqlite3_bind_blob(st, 9, event_id, NODE_REC_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, marked_only ? 1 : 0);
    rc = count_rows(db, st, &c->matching, err);
    node_store_stmt_done(st, owned);
    return rc;
}

static int
roster_event_seen(void *ctx, const node_event_row *row)
{
    *(int *)ctx = row->deleted ? 2 : 1;
    return 0;
}

int
node_find_roster(node_store *ns, const uint8_t event_id[NODE_REC_ID_BYTES], const char *text,
                 int marked_only, size_t offset, size_t limit, node_roster_fn fn, void *ctx,
                 node_roster_counts *counts, rz_error *err)
{
    static const char sql[] = "SELECT " NODE_PERSON_SELECT ", a.present, a.deleted" ROSTER_FROM
                              " ORDER BY p.id = ?5 DESC, lower(p.name), p.id LIMIT ?7 OFFSET ?8";
    sqlite3 *db = node_store_db(ns);
    sqlite3_stmt *st = NULL;
    int owned = 0;
    node_person_row row;
    find_terms t;
    int rc, src, seen = 0;

    /* A deleted event still shows its list (staff may undelete it). */
    if ((rc = node_store_event_get(ns, event_id, roster_event_seen, &seen, err)) != 0)
        return rc;
    if ((rc = find_terms_make(ns, text, RZ_T_PERSON, &t, err)) != 0)
        return rc;
    if (counts && (rc = roster_counts(ns, event_id, &t, marked_only, counts, err)) != 0)
        return rc;
    if ((rc = node_store_stmt(ns, sql, &st, &owned, err)) != 0)
        return rc;
    bind_terms(st, &t, 0);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)page_limit(limit));
    sqlite3_bind_int64(st, 8, (sqlite3_int64)(offset > INT32_MAX ? INT32_MAX : offset));
    sqlite3_bind_blob(st, 9, event_id, NODE_REC_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, marked_only ? 1 : 0);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int state = NODE_ATT_NONE;
        if (sqlite3_column_type(st, 15) != SQLITE_NULL && sqlite3_column_int(st, 16) == 0)
            state = sqlite3_column_int(st, 15) ? NODE_ATT_PRESENT : NODE_ATT_ABSENT;
        if (node_store_person_row(st, 0, &row) == 0 && (rc = fn(ctx, &row, state)) != 0)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = rz_db_fail(db, err, "attendance list");
    node_store_stmt_done(st, owned);
    return rc;
}
