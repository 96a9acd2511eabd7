/*
 * dayindex: the day index of exact date ranges; see dayindex.h for what it
 * holds and who writes it.
 *
 * Row layout of dx_post.data (little-endian), cells in (day, kind) order:
 *
 *     cell  = u8 day-in-block | u8 0 | u16 kind | u32 n | ids
 *     ids   = n x u32 cluster id, ascending, an id repeated once per
 *             attendance (families 1 and 2); absent for events (family 3),
 *             whose n is the number of events; in a month row (family 4,
 *             blk = year * 12 + month - 1, day-in-block 0) n distinct ids
 *             ascending, then their n u32 attendance counts
 *
 * Writing: the hooks append what changed to two arrays; the flush resolves
 * cluster keys to ids (a direct-mapped cache, then dx_id), sorts the
 * changes by row, and reads, merges and writes each touched row once, so a
 * window of 20,000 entries of one centre touches a few dozen rows.  An
 * attendance change is applied to its day block and to its month row.
 *
 * dx_attr.data: DAYINDEX_CHUNK values of one column (u8 gender, area,
 * skill; u16 birth year and home text id), indexed by id % DAYINDEX_CHUNK.
 */
#include "server/dayindex.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/log.h"
#include "common/util.h"
#include "server/merge.h"

const char *const dayindex_tables[] = {"dx_id", "dx_post", "dx_attr", "dx_text", "dx_meta", NULL};

enum { DX_REG = 1, DX_ATT = 2, DX_EV = 3, DX_ATTM = 4, DX_FAMS = 4 };
/* dx_meta 'built': the layout version of a complete index; any other value
 * (an index from before the month rows) is rebuilt from the state. */
#define DX_BUILT 2
#define DX_BUILT_SQL "INSERT INTO dx_meta(k, v) VALUES('built', 2);" /* DX_BUILT */
enum { DX_COL_GENDER = 1, DX_COL_AREA = 2, DX_COL_SKILL = 3, DX_COL_BYEAR = 4, DX_COL_HOME = 5 };
#define DX_NCOLS 5
static const int dx_col_width[DX_NCOLS + 1] = {0, 1, 1, 1, 2, 2};

#define DX_ID_CACHE 65536 /* cluster key -> id, direct-mapped */
#define DX_CELL_HEAD 8    /* bytes of a cell header */
#define DX_HOME_MAX 80    /* merge.h MERGE_HOME_MAX */

static const char dx_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS dx_id(ckey BLOB PRIMARY KEY, id INTEGER NOT NULL UNIQUE)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS dx_post(fam INTEGER NOT NULL, centre INTEGER NOT NULL,"
    " blk INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(fam, centre, blk)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS dx_attr(col INTEGER NOT NULL, chunk INTEGER NOT NULL,"
    " data BLOB NOT NULL, PRIMARY KEY(col, chunk)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS dx_text(id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS dx_meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;";

/* ---- small helpers ------------------------------------------------------------ */

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

/* 1 when a YYYYMMDD day is indexed (a real date; unknown dates never fall
 * in a range). */
static int
dx_day_ok(int64_t day)
{
    return day >= 19000101 && day <= 29991231 && date_is_valid((uint32_t)day);
}

/* Slot of a cluster key in the id cache (FNV-1a). */
static size_t
idc_slot(const uint8_t *k)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < DAYINDEX_CKEY; i++)
        h = (h ^ k[i]) * 0x100000001b3ull;
    return (size_t)((h ^ h >> 29) & (DX_ID_CACHE - 1));
}

static int64_t
floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Block of a day and the day's place in it. */
static void
dx_block(int64_t day, int64_t *blk, int *off)
{
    int64_t n = date_day_number((uint32_t)day);
    *blk = floor_div(n, DAYINDEX_BLOCK);
    *off = (int)(n - *blk * DAYINDEX_BLOCK);
}

/* Month number of a YYYYMMDD day (the blk of a month row). */
static int64_t
dx_month(int64_t day)
{
    return day / 10000 * 12 + day / 100 % 100 - 1;
}

/* Day number of the first day of month number m. */
static int64_t
dx_month_first(int64_t m)
{
    return date_day_number((uint32_t)(m / 12 * 10000 + (m % 12 + 1) * 100 + 1));
}

/* The row (blk) and place in it of a family's day: 8-day blocks, or the
 * month for month rows (one cell per kind). */
static void
dx_row_of(int fam, int64_t day, int64_t *blk, int *off)
{
    if (fam == DX_ATTM) {
        *blk = dx_month(day);
        *off = 0;
    } else {
        dx_block(day, blk, off);
    }
}

/* One entry of a row: key = off << 48 | kind << 32 | id, with its count
 * (multiplicity of the id, or number of events). */
typedef struct dx_ent {
    uint64_t key;  /* see above */
    int64_t count; /* > 0 in a row */
} dx_ent;

typedef struct dx_ents {
    dx_ent *v;     /* entries */
    size_t n, cap; /* used, allocated */
} dx_ents;

static void
ents_push(dx_ents *e, uint64_t key, int64_t count)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 256;
        e->v = xrealloc(e->v, e->cap * sizeof *e->v);
    }
    e->v[e->n].key = key;
    e->v[e->n].count = count;
    e->n++;
}

static uint64_t
ent_key(int off, int64_t kind, uint32_t id)
{
    return (uint64_t)off << 48 | (uint64_t)(kind & 0xffff) << 32 | id;
}

/* Decodes a row into entries (appended, in key order).  -1 when corrupt. */
static int
row_decode(int fam, const uint8_t *p, size_t len, dx_ents *out)
{
    size_t i = 0, k;
    while (i < len) {
        uint32_t n, prev = 0;
        int off, kind;
        if (len - i < DX_CELL_HEAD)
            return -1;
        off = p[i];
        kind = p[i + 2] | p[i + 3] << 8;
        n = le32(p + i + 4);
        i += DX_CELL_HEAD;
        if (off >= DAYINDEX_BLOCK || n == 0)
            return -1;
        if (fam == DX_EV) {
            ents_push(out, ent_key(off, kind, 0), n);
            continue;
        }
        if (fam == DX_ATTM) { /* n distinct ids, then their counts */
            if ((len - i) / 8 < n)
                return -1;
            for (k = 0; k < n; k++) {
                uint32_t id = le32(p + i + 4 * k), c = le32(p + i + 4 * ((size_t)n + k));
                if ((k > 0 && id <= prev) || c == 0)
                    return -1;
                ents_push(out, ent_key(off, kind, id), c);
                prev = id;
            }
            i += 8 * (size_t)n;
            continue;
        }
        if ((len - i) / 4 < n)
            return -1;
        for (k = 0; k < n; k++, i += 4) {
            uint32_t id = le32(p + i);
            if (k > 0 && id < prev)
                return -1;
            if (k > 0 && id == prev)
                out->v[out->n - 1].count++;
            else
                ents_push(out, ent_key(off, kind, id), 1);
            prev = id;
        }
    }
    return 0;
}

/* Encodes entries (key order, counts > 0) into buf; returns its length. */
static size_t
row_encode(int fam, const dx_ents *e, uint8_t **buf, size_t *cap)
{
    size_t need = 0, i, j, len = 0;
    for (i = 0; i < e->n; i++)
        need += DX_CELL_HEAD + (fam == DX_EV ? 0 : fam == DX_ATTM ? 8 : 4 * (size_t)e->v[i].count);
    if (need > *cap) {
        *cap = need;
        *buf = xrealloc(*buf, need);
    }
    for (i = 0; i < e->n; i = j) {
        uint64_t cell = e->v[i].key >> 32;
        uint8_t *head = *buf + len;
        uint32_t n = 0;
        head[0] = (uint8_t)(cell >> 16);
        head[1] = 0;
        head[2] = (uint8_t)cell, head[3] = (uint8_t)(cell >> 8);
        len += DX_CELL_HEAD;
        if (fam == DX_ATTM) {
            for (j = i; j < e->n && e->v[j].key >> 32 == cell; j++)
                ;
            n = (uint32_t)(j - i);
            for (size_t k = i; k < j; k++) {
                put32(*buf + len + 4 * (k - i), (uint32_t)e->v[k].key);
                put32(*buf + len + 4 * ((size_t)n + k - i), (uint32_t)e->v[k].count);
            }
            len += 8 * (size_t)n;
            put32(head + 4, n);
            continue;
        }
        for (j = i; j < e->n && e->v[j].key >> 32 == cell; j++) {
            int64_t c;
            if (fam == DX_EV) {
                n += (uint32_t)e->v[j].count;
                continue;
            }
            for (c = 0; c < e->v[j].count; c++, n++, len += 4)
                put32(*buf + len, (uint32_t)e->v[j].key);
        }
        put32(head + 4, n);
    }
    return len;
}

static int
meta_get(sqlite3 *db, const char *k, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT v FROM dx_meta WHERE k = ?1", -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *v = sqlite3_column_int64(st, 0);
        found = 1;
    }
    sqlite3_finalize(st);
    return found;
}

/* Widens the recorded block span of the postings to [lo, hi]: queries
 * clip their ranges to it (a range reaching 2999 reads no empty periods). */
static int
meta_widen(sqlite3 *db, int64_t lo, int64_t hi, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = rz_db_prepare(db, &st,
                           "INSERT INTO dx_meta(k, v) VALUES('bmin', ?1), ('bmax', ?2)"
                           " ON CONFLICT(k) DO UPDATE SET v = CASE k WHEN 'bmin'"
                           " THEN min(v, excluded.v) ELSE max(v, excluded.v) END",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    rc = rz_db_step_done(db, st, err);
    sqlite3_finalize(st);
    return rc;
}

/* ---- deriving the index from the state ------------------------------------------ */

/*
 * The state tables, read in the index's order: per family, rows of (centre,
 * day, kind, id, count) ordered by centre, day, kind, id.  Both the first
 * build (backfill) and dayindex_check consume them through a row builder
 * that collects one (centre, block) at a time.
 */
static const char *const dx_derive_sql[DX_FAMS + 1] = {
    NULL,
    "SELECT c.centre_id, c.reg_date, 0, x.id, 1 FROM st_cluster c JOIN dx_id x ON x.ckey = c.ckey"
    " WHERE c.reg_date > 0 ORDER BY 1, 2, 3, 4",
    "SELECT a.centre, a.day, a.kind, x.id, a.n FROM st_cluster_att a"
    " JOIN dx_id x ON x.ckey = a.ckey WHERE a.day > 0 AND a.n > 0 ORDER BY 1, 2, 3, 4",
    "SELECT centre_id, date, CASE WHEN typeof(kind) = 'integer' AND (bad & 2) = 0 THEN kind"
    " ELSE 0 END AS k, 0, count(*) FROM st_event WHERE deleted = 0 AND typeof(date) = 'integer'"
    " AND (bad & 8) = 0 AND date > 0 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    /* month rows: the same attendances ordered by centre, month, kind, id */
    "SELECT a.centre, a.day, a.kind, x.id, a.n FROM st_cluster_att a"
    " JOIN dx_id x ON x.ckey = a.ckey WHERE a.day > 0 AND a.n > 0"
    " ORDER BY 1, a.day / 100, 3, 4",
};

/* Called with each derived row: (fam, centre, blk) and its entries. */
typedef int (*dx_row_fn)(void *arg, int fam, int64_t centre, int64_t blk, const dx_ents *e,
                         rz_error *err);

static int
derive_family(sqlite3 *db, int fam, dx_row_fn fn, void *arg, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    dx_ents e = {NULL, 0, 0};
    int64_t centre = 0, blk = 0;
    int rc, step = SQLITE_DONE, have = 0;
    if ((rc = rz_db_prepare(db, &st, dx_derive_sql[fam], err)))
        return rc;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t c = sqlite3_column_int64(st, 0), day = sqlite3_column_int64(st, 1), b;
        int64_t kind = sqlite3_column_int64(st, 2), n = sqlite3_column_int64(st, 4);
        uint32_t id = (uint32_t)sqlite3_column_int64(st, 3);
        int off;
        if (!dx_day_ok(day) || n <= 0)
            continue;
        dx_row_of(fam, day, &b, &off);
        if (have && (c != centre || b != blk)) {
            rc = fn(arg, fam, centre, blk, &e, err);
            e.n = 0;
        }
        centre = c, blk = b, have = 1;
        if (e.n > 0 && e.v[e.n - 1].key == ent_key(off, kind, id))
            e.v[e.n - 1].count += n;
        else
            ents_push(&e, ent_key(off, kind, id), n);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(db, err, "day index derivation");
    if (rc == 0 && have)
        rc = fn(arg, fam, centre, blk, &e, err);
    sqlite3_finalize(st);
    free(e.v);
    return rc;
}

/* The attribute values of a state cluster row (columns from 1: gender,
 * area, skill, birth_year, home). */
typedef struct dx_attrs {
    int64_t v[DX_NCOLS + 1]; /* by column; home is a text id */
} dx_attrs;

static int64_t
col_clamp(int col, int64_t v)
{
    int64_t max = dx_col_width[col] == 1 ? 0xff : 0xffff;
    return v < 0 || v > max ? 0 : v;
}

/* ---- texts (home districts) -------------------------------------------------------- */

typedef struct dx_texts {
    char **s;      /* id -> text; s[0] = "" */
    size_t n, cap; /* ids (incl. 0), allocated */
    int loaded;    /* read from dx_text */
} dx_texts;

static void
texts_free(dx_texts *t)
{
    size_t i;
    for (i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
    memset(t, 0, sizeof *t);
}

static void
texts_set(dx_texts *t, int64_t id, const char *s)
{
    size_t i = (size_t)id;
    if (i >= t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap <= i)
            cap *= 2;
        t->s = xrealloc(t->s, cap * sizeof *t->s);
        memset(t->s + t->cap, 0, (cap - t->cap) * sizeof *t->s);
        t->cap = cap;
    }
    free(t->s[i]);
    t->s[i] = xstrdup(s);
    if (i >= t->n)
        t->n = i + 1;
}

static int
texts_load(sqlite3 *db, dx_texts *t, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, step;
    texts_free(t);
    texts_set(t, 0, "");
    if ((rc = rz_db_prepare(db, &st, "SELECT id, s FROM dx_text WHERE id > 0", err)))
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const unsigned char *s = sqlite3_column_text(st, 1);
        if (id > 0 && id <= 0xffff)
            texts_set(t, id, s ? (const char *)s : "");
    }
    if (step != SQLITE_DONE)
        rc = rz_db_fail(db, err, "day index texts");
    sqlite3_finalize(st);
    for (size_t i = 0; i < t->n; i++)
        if (!t->s[i])
            t->s[i] = xstrdup("");
    t->loaded = rc == 0;
    return rc;
}

/* The id of text s, interned (inserted) when new.  The texts are few (the
 * districts of the master list), so a linear search is enough. */
static int
texts_id(sqlite3 *db, dx_texts *t, const char *s, int create, int64_t *id, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc;
    if (db && !t->loaded && (rc = texts_load(db, t, err)))
        return rc;
    for (i = 0; i < t->n; i++)
        if (strcmp(t->s[i], s) == 0) {
            *id = (int64_t)i;
            return 0;
        }
    if (!create) {
        *id = 0xffff; /* never assigned: matches no stored value */
        return 0;
    }
    if (t->n >= 0xffff)
        return rz_fail(err, RZ_E_INTERNAL, "too many distinct texts for the day index");
    if (db) { /* NULL: interned in memory only (a query's place names) */
        if ((rc = rz_db_prepare(db, &st, "INSERT INTO dx_text(id, s) VALUES(?1, ?2)", err)))
            return rc;
        sqlite3_bind_int64(st, 1, (int64_t)t->n);
        sqlite3_bind_text(st, 2, s, -1, SQLITE_STATIC);
        rc = rz_db_step_done(db, st, err);
        sqlite3_finalize(st);
        if (rc)
            return rc;
    }
    *id = (int64_t)t->n;
    texts_set(t, *id, s);
    return 0;
}

/* ---- the writer ---------------------------------------------------------------- */

/* A pending posting change; families 1 and 2 name a cluster. */
typedef struct dx_pop {
    uint8_t ckey[DAYINDEX_CKEY]; /* cluster (families 1, 2) */
    uint8_t fam;                 /* DX_REG, DX_ATT, DX_EV */
    uint32_t id;                 /* resolved at flush */
    int64_t kind, centre, day;   /* the cell */
    int64_t delta;               /* change of its count */
} dx_pop;

/* A pending attribute change (the last one of a cluster wins). */
typedef struct dx_aop {
    uint8_t ckey[DAYINDEX_CKEY]; /* cluster */
    uint32_t id;                 /* resolved at flush */
    size_t seq;                  /* order of the hook calls */
    int live;                    /* 0: the cluster went away */
    int64_t gender, area, skill; /* codes */
    int64_t birth_year;          /* year */
    char home[DX_HOME_MAX + 1];  /* normalised district */
} dx_aop;

typedef struct dx_idc {
    int valid;                   /* holds a mapping */
    uint8_t ckey[DAYINDEX_CKEY]; /* cluster */
    uint32_t id;                 /* its id */
} dx_idc;

/* A posting delta keyed by row. */
typedef struct dx_delta {
    int64_t centre, blk; /* row (with fam) */
    uint64_t key;        /* entry */
    int64_t delta;       /* change */
    int fam;             /* family */
} dx_delta;

struct dayindex {
    sqlite3 *db;                                  /* borrowed */
    sqlite3_stmt *id_get, *id_put, *id_max;       /* dx_id */
    sqlite3_stmt *post_get, *post_put, *post_del; /* dx_post */
    sqlite3_stmt *attr_get, *attr_put;            /* dx_attr */
    dx_pop *pop;                                  /* pending postings */
    size_t npop, cappop;                          /* used, allocated */
    dx_aop *aop;                                  /* pending attributes */
    size_t naop, capaop;                          /* used, allocated */
    dx_idc *idc;                                  /* DX_ID_CACHE entries, one flush long */
    int64_t next_id;                              /* next id to assign; 0: read it */
    dx_texts texts;                               /* interned homes */
    dx_delta *d;                                  /* flush scratch */
    size_t capd;                                  /* allocated */
    dx_ents row, merged;                          /* flush scratch */
    uint8_t *buf;                                 /* encode scratch */
    size_t capbuf;                                /* allocated */
    int warned;                                   /* an inconsistency was logged */
};

int
dayindex_new(dayindex **out, sqlite3 *db, rz_error *err)
{
    dayindex *dx = xcalloc(1, sizeof *dx);
    int rc;
    dx->db = db;
    dx->idc = xcalloc(DX_ID_CACHE, sizeof *dx->idc);
    *out = NULL;
    if ((rc = rz_db_prepare(db, &dx->id_get, "SELECT id FROM dx_id WHERE ckey = ?1", err)) ||
        (rc = rz_db_prepare(db, &dx->id_put, "INSERT INTO dx_id(ckey, id) VALUES(?1, ?2)", err)) ||
        (rc = rz_db_prepare(db, &dx->id_max, "SELECT coalesce(max(id), 0) FROM dx_id", err)) ||
        (rc = rz_db_prepare(db, &dx->post_get,
                            "SELECT data FROM dx_post WHERE fam = ?1 AND centre = ?2 AND blk = ?3",
                            err)) ||
        (rc = rz_db_prepare(db, &dx->post_put,
                            "INSERT OR REPLACE INTO dx_post(fam, centre, blk, data)"
                            " VALUES(?1, ?2, ?3, ?4)",
                            err)) ||
        (rc = rz_db_prepare(db, &dx->post_del,
                            "DELETE FROM dx_post WHERE fam = ?1 AND centre = ?2 AND blk = ?3",
                            err)) ||
        (rc = rz_db_prepare(db, &dx->attr_get,
                            "SELECT data FROM dx_attr WHERE col = ?1 AND chunk = ?2", err)) ||
        (rc = rz_db_prepare(db, &dx->attr_put,
                            "INSERT OR REPLACE INTO dx_attr(col, chunk, data) VALUES(?1, ?2, ?3)",
                            err))) {
        dayindex_destroy(&dx);
        return rc;
    }
    *out = dx;
    return 0;
}

void
dayindex_destroy(dayindex **p)
{
    dayindex *dx = p ? *p : NULL;
    if (!dx)
        return;
    sqlite3_finalize(dx->id_get);
    sqlite3_finalize(dx->id_put);
    sqlite3_finalize(dx->id_max);
    sqlite3_finalize(dx->post_get);
    sqlite3_finalize(dx->post_put);
    sqlite3_finalize(dx->post_del);
    sqlite3_finalize(dx->attr_get);
    sqlite3_finalize(dx->attr_put);
    free(dx->pop);
    free(dx->aop);
    free(dx->idc);
    free(dx->d);
    free(dx->row.v);
    free(dx->merged.v);
    free(dx->buf);
    texts_free(&dx->texts);
    free(dx);
    *p = NULL;
}

static dx_pop *
pop_new(dayindex *dx)
{
    if (dx->npop == dx->cappop) {
        dx->cappop = dx->cappop ? 2 * dx->cappop : 1024;
        dx->pop = xrealloc(dx->pop, dx->cappop * sizeof *dx->pop);
    }
    memset(&dx->pop[dx->npop], 0, sizeof *dx->pop);
    return &dx->pop[dx->npop++];
}

void
dayindex_att(dayindex *dx, const uint8_t ckey[DAYINDEX_CKEY], int64_t day, int64_t kind,
             int64_t centre, int64_t delta)
{
    dx_pop *p;
    if (!dx || delta == 0 || !dx_day_ok(day))
        return;
    p = pop_new(dx);
    memcpy(p->ckey, ckey, DAYINDEX_CKEY);
    p->fam = DX_ATT;
    p->kind = kind;
    p->centre = centre;
    p->day = day;
    p->delta = delta;
}

static void
reg_change(dayindex *dx, const uint8_t ckey[DAYINDEX_CKEY], const dayindex_prof *p, int64_t delta)
{
    dx_pop *o;
    if (!p || !dx_day_ok(p->reg_date))
        return;
    o = pop_new(dx);
    memcpy(o->ckey, ckey, DAYINDEX_CKEY);
    o->fam = DX_REG;
    o->centre = p->centre_id;
    o->day = p->reg_date;
    o->delta = delta;
}

void
dayindex_cluster(dayindex *dx, const uint8_t ckey[DAYINDEX_CKEY], const dayindex_prof *before,
                 const dayindex_prof *after)
{
    dx_aop *a;
    if (!dx)
        return;
    reg_change(dx, ckey, before, -1);
    reg_change(dx, ckey, after, +1);
    if (dx->naop == dx->capaop) {
        dx->capaop = dx->capaop ? 2 * dx->capaop : 256;
        dx->aop = xrealloc(dx->aop, dx->capaop * sizeof *dx->aop);
    }
    a = &dx->aop[dx->naop];
    memset(a, 0, sizeof *a);
    memcpy(a->ckey, ckey, DAYINDEX_CKEY);
    a->seq = dx->naop++;
    if (after) {
        a->live = 1;
        a->gender = after->gender;
        a->area = after->area;
        a->skill = after->skill;
        a->birth_year = after->birth_year;
        snprintf(a->home, sizeof a->home, "%s", after->home ? after->home : "");
    }
}

void
dayindex_event(dayindex *dx, int64_t day, int64_t kind, int64_t centre, int64_t delta)
{
    dx_pop *p;
    if (!dx || delta == 0 || !dx_day_ok(day))
        return;
    p = pop_new(dx);
    p->fam = DX_EV;
    p->kind = kind;
    p->centre = centre;
    p->day = day;
    p->delta = delta;
}

/* The id of a cluster, assigned when new. */
static int
id_of(dayindex *dx, const uint8_t ckey[DAYINDEX_CKEY], uint32_t *id, rz_error *err)
{
    dx_idc *c = &dx->idc[idc_slot(ckey)];
    int step, rc;
    if (c->valid && memcmp(c->ckey, ckey, DAYINDEX_CKEY) == 0) {
        *id = c->id;
        return 0;
    }
    sqlite3_bind_blob(dx->id_get, 1, ckey, DAYINDEX_CKEY, SQLITE_STATIC);
    step = sqlite3_step(dx->id_get);
    if (step == SQLITE_ROW)
        *id = (uint32_t)sqlite3_column_int64(dx->id_get, 0);
    sqlite3_reset(dx->id_get);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return rz_db_fail(dx->db, err, "day index id");
    if (step == SQLITE_DONE) {
        if (dx->next_id == 0) {
            step = sqlite3_step(dx->id_max);
            dx->next_id = step == SQLITE_ROW ? sqlite3_column_int64(dx->id_max, 0) + 1 : 0;
            sqlite3_reset(dx->id_max);
            if (step != SQLITE_ROW)
                return rz_db_fail(dx->db, err, "day index ids");
        }
        if (dx->next_id > (int64_t)UINT32_MAX)
            return rz_fail(err, RZ_E_INTERNAL, "day index: out of person ids");
        *id = (uint32_t)dx->next_id;
        sqlite3_bind_blob(dx->id_put, 1, ckey, DAYINDEX_CKEY, SQLITE_STATIC);
        sqlite3_bind_int64(dx->id_put, 2, dx->next_id);
        if ((rc = rz_db_step_done(dx->db, dx->id_put, err)))
            return rc;
        dx->next_id++;
    }
    c->valid = 1;
    memcpy(c->ckey, ckey, DAYINDEX_CKEY);
    c->id = *id;
    return 0;
}

static int
delta_cmp(const void *a, const void *b)
{
    const dx_delta *x = a, *y = b;
    if (x->fam != y->fam)
        return x->fam < y->fam ? -1 : 1;
    if (x->centre != y->centre)
        return x->centre < y->centre ? -1 : 1;
    if (x->blk != y->blk)
        return x->blk < y->blk ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* Reads, changes and writes the row of deltas d[0..n) (one row). */
static int
row_apply(dayindex *dx, const dx_delta *d, size_t n, rz_error *err)
{
    sqlite3_stmt *st = dx->post_get;
    size_t i = 0, j = 0, len;
    int step, rc, bad = 0;
    dx->row.n = dx->merged.n = 0;
    sqlite3_bind_int(st, 1, d->fam);
    sqlite3_bind_int64(st, 2, d->centre);
    sqlite3_bind_int64(st, 3, d->blk);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        bad = row_decode(d->fam, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                         &dx->row);
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return rz_db_fail(dx->db, err, "day index read");
    if (bad)
        return rz_fail(err, RZ_E_INTERNAL, "day index row corrupt; rebuild the state");
    while (i < dx->row.n || j < n) {
        uint64_t k;
        int64_t c = 0;
        if (j == n || (i < dx->row.n && dx->row.v[i].key < d[j].key))
            k = dx->row.v[i].key;
        else
            k = d[j].key;
        if (i < dx->row.n && dx->row.v[i].key == k)
            c += dx->row.v[i++].count;
        while (j < n && d[j].key == k)
            c += d[j++].delta;
        if (c < 0 && !dx->warned++)
            log_warnx("day index: a count below zero (family %d, centre %lld); verify will"
                      " report it, rebuild repairs it",
                      d->fam, (long long)d->centre);
        if (c > 0)
            ents_push(&dx->merged, k, c);
    }
    if (dx->merged.n == 0) {
        st = dx->post_del;
        sqlite3_bind_int(st, 1, d->fam);
        sqlite3_bind_int64(st, 2, d->centre);
        sqlite3_bind_int64(st, 3, d->blk);
        return rz_db_step_done(dx->db, st, err);
    }
    len = row_encode(d->fam, &dx->merged, &dx->buf, &dx->capbuf);
    st = dx->post_put;
    sqlite3_bind_int(st, 1, d->fam);
    sqlite3_bind_int64(st, 2, d->centre);
    sqlite3_bind_int64(st, 3, d->blk);
    sqlite3_bind_blob(st, 4, dx->buf, (int)len, SQLITE_STATIC);
    rc = rz_db_step_done(dx->db, st, err);
    return rc;
}

static int
postings_flush(dayindex *dx, rz_error *err)
{
    size_t i, j, n = 0;
    int rc = 0;
    if (2 * dx->npop > dx->capd) { /* an attendance changes its day and its month */
        dx->capd = 2 * dx->npop;
        dx->d = xrealloc(dx->d, dx->capd * sizeof *dx->d);
    }
    for (i = 0; i < dx->npop; i++) {
        const dx_pop *p = &dx->pop[i];
        dx_delta *d = &dx->d[n++];
        int off;
        uint32_t id = 0;
        if (p->fam != DX_EV && (rc = id_of(dx, p->ckey, &id, err)))
            return rc;
        d->fam = p->fam;
        d->centre = p->centre;
        dx_block(p->day, &d->blk, &off);
        d->key = ent_key(off, p->kind, id);
        d->delta = p->delta;
        if (p->fam == DX_ATT) {
            dx_delta *m = &dx->d[n++];
            *m = *d;
            m->fam = DX_ATTM;
            dx_row_of(DX_ATTM, p->day, &m->blk, &off);
            m->key = ent_key(off, p->kind, id);
        }
    }
    if (n == 0)
        return 0;
    qsort(dx->d, n, sizeof *dx->d, delta_cmp);
    {
        /* The span of the day blocks (month rows are numbered apart). */
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (i = 0; i < n; i++) {
            if (dx->d[i].fam == DX_ATTM)
                continue;
            lo = dx->d[i].blk < lo ? dx->d[i].blk : lo;
            hi = dx->d[i].blk > hi ? dx->d[i].blk : hi;
        }
        if (lo <= hi && (rc = meta_widen(dx->db, lo, hi, err)))
            return rc;
    }
    for (i = 0; rc == 0 && i < n; i = j) {
        for (j = i + 1; j < n && dx->d[j].fam == dx->d[i].fam &&
                        dx->d[j].centre == dx->d[i].centre && dx->d[j].blk == dx->d[i].blk;
             j++)
            ;
        rc = row_apply(dx, &dx->d[i], j - i, err);
    }
    return rc;
}

static int
aop_cmp(const void *a, const void *b)
{
    const dx_aop *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Loads (zeros when absent) one column chunk into buf. */
static int
chunk_load(sqlite3 *db, sqlite3_stmt *st, int col, int64_t chunk, uint8_t *buf, rz_error *err)
{
    size_t size = (size_t)DAYINDEX_CHUNK * (size_t)dx_col_width[col];
    int step;
    memset(buf, 0, size);
    sqlite3_bind_int(st, 1, col);
    sqlite3_bind_int64(st, 2, chunk);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW && (size_t)sqlite3_column_bytes(st, 0) == size)
        memcpy(buf, sqlite3_column_blob(st, 0), size);
    else if (step == SQLITE_ROW)
        step = -1;
    sqlite3_reset(st);
    if (step == -1)
        return rz_fail(err, RZ_E_INTERNAL, "day index attribute chunk corrupt; rebuild the state");
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : rz_db_fail(db, err, "day index attrs");
}

static void
col_set(uint8_t *buf, int col, uint32_t id, int64_t v)
{
    size_t at = (size_t)(id % DAYINDEX_CHUNK) * (size_t)dx_col_width[col];
    v = col_clamp(col, v);
    buf[at] = (uint8_t)v;
    if (dx_col_width[col] == 2)
        buf[at + 1] = (uint8_t)(v >> 8);
}

static int64_t
col_get(const uint8_t *buf, int col, uint32_t id)
{
    size_t at = (size_t)(id % DAYINDEX_CHUNK) * (size_t)dx_col_width[col];
    return dx_col_width[col] == 2 ? (int64_t)(buf[at] | buf[at + 1] << 8) : buf[at];
}

static int
chunk_store(dayindex *dx, int col, int64_t chunk, const uint8_t *buf, rz_error *err)
{
    sqlite3_bind_int(dx->attr_put, 1, col);
    sqlite3_bind_int64(dx->attr_put, 2, chunk);
    sqlite3_bind_blob(dx->attr_put, 3, buf, DAYINDEX_CHUNK * dx_col_width[col], SQLITE_STATIC);
    return rz_db_step_done(dx->db, dx->attr_put, err);
}

/* The attribute values of an attribute change (home interned). */
static int
aop_values(dayindex *dx, const dx_aop *a, dx_attrs *v, rz_error *err)
{
    memset(v, 0, sizeof *v);
    if (!a->live)
        return 0;
    v->v[DX_COL_GENDER] = a->gender;
    v->v[DX_COL_AREA] = a->area;
    v->v[DX_COL_SKILL] = a->skill;
    v->v[DX_COL_BYEAR] = a->birth_year;
    return texts_id(dx->db, &dx->texts, a->home, 1, &v->v[DX_COL_HOME], err);
}

static int
attrs_flush(dayindex *dx, rz_error *err)
{
    uint8_t buf[DAYINDEX_CHUNK * 2];
    size_t i, j, k;
    int rc = 0, col;
    for (i = 0; i < dx->naop; i++)
        if ((rc = id_of(dx, dx->aop[i].ckey, &dx->aop[i].id, err)))
            return rc;
    if (dx->naop == 0)
        return 0;
    qsort(dx->aop, dx->naop, sizeof *dx->aop, aop_cmp);
    for (i = 0; rc == 0 && i < dx->naop; i = j) {
        int64_t chunk = dx->aop[i].id / DAYINDEX_CHUNK;
        for (j = i; j < dx->naop && dx->aop[j].id / DAYINDEX_CHUNK == chunk; j++)
            ;
        for (col = 1; rc == 0 && col <= DX_NCOLS; col++) {
            if ((rc = chunk_load(dx->db, dx->attr_get, col, chunk, buf, err)))
                break;
            for (k = i; rc == 0 && k < j; k++) {
                dx_attrs v;
                if (k + 1 < j && dx->aop[k + 1].id == dx->aop[k].id)
                    continue; /* a later change of the same cluster wins */
                if ((rc = aop_values(dx, &dx->aop[k], &v, err)) == 0)
                    col_set(buf, col, dx->aop[k].id, v.v[col]);
            }
            if (rc == 0)
                rc = chunk_store(dx, col, chunk, buf, err);
        }
    }
    return rc;
}

/* Forgets cached ids and texts: a rebuild may replace the tables between
 * two windows of a running merger (rebuild_apply), so nothing read from
 * them outlives the flush that read it. */
static void
caches_forget(dayindex *dx)
{
    memset(dx->idc, 0, DX_ID_CACHE * sizeof *dx->idc);
    dx->next_id = 0;
    texts_free(&dx->texts);
}

int
dayindex_flush(dayindex *dx, rz_error *err)
{
    int rc;
    if (!dx)
        return 0;
    caches_forget(dx);
    rc = postings_flush(dx, err);
    if (rc == 0)
        rc = attrs_flush(dx, err);
    dx->npop = dx->naop = 0;
    return rc;
}

void
dayindex_discard(dayindex *dx)
{
    if (!dx)
        return;
    dx->npop = dx->naop = 0;
    caches_forget(dx); /* ids and texts of the rolled-back transaction are gone */
}

/* ---- building from the state and checking against it -------------------------- */

typedef struct dx_build {
    sqlite3 *db;        /* the state database */
    sqlite3_stmt *put;  /* build: dx_post insert; check: dx_post read */
    uint8_t *buf;       /* encode scratch */
    size_t capbuf;      /* allocated */
    dx_ents stored;     /* check: a stored row decoded */
    int64_t rows;       /* rows derived */
    int64_t bmin, bmax; /* build: block span written */
    int64_t diff;       /* check: differing entries */
    FILE *out;          /* check: report */
} dx_build;

static int
build_row(void *arg, int fam, int64_t centre, int64_t blk, const dx_ents *e, rz_error *err)
{
    dx_build *b = arg;
    size_t len = row_encode(fam, e, &b->buf, &b->capbuf);
    sqlite3_bind_int(b->put, 1, fam);
    sqlite3_bind_int64(b->put, 2, centre);
    sqlite3_bind_int64(b->put, 3, blk);
    sqlite3_bind_blob(b->put, 4, b->buf, (int)len, SQLITE_STATIC);
    if (fam != DX_ATTM) { /* the span of the day blocks */
        if (b->rows == 0 || blk < b->bmin)
            b->bmin = blk;
        if (b->rows == 0 || blk > b->bmax)
            b->bmax = blk;
        b->rows++;
    }
    return rz_db_step_done(b->db, b->put, err);
}

/* Entries of one side only, both ways. */
static int64_t
ents_diff(const dx_ents *a, const dx_ents *b)
{
    size_t i = 0, j = 0;
    int64_t d = 0;
    while (i < a->n || j < b->n) {
        if (j == b->n || (i < a->n && a->v[i].key < b->v[j].key))
            d += a->v[i++].count;
        else if (i == a->n || b->v[j].key < a->v[i].key)
            d += b->v[j++].count;
        else {
            int64_t x = a->v[i++].count - b->v[j++].count;
            d += x < 0 ? -x : x;
        }
    }
    return d;
}

static int
check_row(void *arg, int fam, int64_t centre, int64_t blk, const dx_ents *e, rz_error *err)
{
    dx_build *b = arg;
    int step, bad = 0;
    int64_t d;
    b->stored.n = 0;
    sqlite3_bind_int(b->put, 1, fam);
    sqlite3_bind_int64(b->put, 2, centre);
    sqlite3_bind_int64(b->put, 3, blk);
    step = sqlite3_step(b->put);
    if (step == SQLITE_ROW)
        bad = row_decode(fam, sqlite3_column_blob(b->put, 0),
                         (size_t)sqlite3_column_bytes(b->put, 0), &b->stored);
    sqlite3_reset(b->put);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return rz_db_fail(b->db, err, "day index read");
    d = bad ? 1 : ents_diff(e, &b->stored);
    if (step == SQLITE_ROW)
        b->rows++;
    if (d && b->out)
        fprintf(b->out, "day index: family %d centre %lld block %lld differs (%lld entries)\n", fam,
                (long long)centre, (long long)blk, (long long)d);
    b->diff += d;
    return 0;
}

/* Ids for the live clusters without one, by place and registration date
 * (then key): people who register and train together get near ids, as in
 * merge order, so a query's per-person arrays (attributes, slots, the
 * bitset) are read with locality; in key (hash) order every id of a year's
 * range was a cache miss, and a rebuilt index answered twice as slowly. */
static const char dx_backfill_ids[] =
    "INSERT INTO dx_id(ckey, id) SELECT ckey, (SELECT coalesce(max(id), 0) FROM dx_id)"
    " + row_number() OVER (ORDER BY centre_id, reg_date, ckey) FROM st_cluster"
    " WHERE ckey NOT IN (SELECT ckey FROM dx_id);";

static const char dx_attr_sql[] =
    "SELECT x.id, c.gender, c.area, c.skill, c.birth_year, c.home FROM st_cluster c"
    " JOIN dx_id x ON x.ckey = c.ckey ORDER BY x.id";

/* Streams the live clusters' attributes by id; fn gets each chunk's
 * expected columns (zeros for ids of no live cluster). */
typedef int (*dx_chunk_fn)(void *arg, int64_t chunk, uint8_t *cols[DX_NCOLS + 1], rz_error *err);

static int
derive_attrs(sqlite3 *db, int create, dx_chunk_fn fn, void *arg, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    dx_texts t = {NULL, 0, 0, 0};
    uint8_t *cols[DX_NCOLS + 1] = {NULL};
    int64_t chunk = -1;
    int rc, step = SQLITE_DONE, col;
    for (col = 1; col <= DX_NCOLS; col++)
        cols[col] = xcalloc(DAYINDEX_CHUNK, (size_t)dx_col_width[col]);
    if ((rc = texts_load(db, &t, err)) || (rc = rz_db_prepare(db, &st, dx_attr_sql, err)))
        goto out;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t id = (uint32_t)sqlite3_column_int64(st, 0);
        const unsigned char *home = sqlite3_column_text(st, 5);
        int64_t hid = 0;
        if ((int64_t)(id / DAYINDEX_CHUNK) != chunk) {
            if (chunk >= 0 && (rc = fn(arg, chunk, cols, err)))
                break;
            chunk = id / DAYINDEX_CHUNK;
            for (col = 1; col <= DX_NCOLS; col++)
                memset(cols[col], 0, (size_t)DAYINDEX_CHUNK * (size_t)dx_col_width[col]);
        }
        if ((rc = texts_id(db, &t, home ? (const char *)home : "", create, &hid, err)))
            break;
        for (col = 1; col <= DX_NCOLS; col++)
            col_set(cols[col], col, id, col == DX_COL_HOME ? hid : sqlite3_column_int64(st, col));
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(db, err, "day index attributes");
    if (rc == 0 && chunk >= 0)
        rc = fn(arg, chunk, cols, err);
out:
    sqlite3_finalize(st);
    texts_free(&t);
    for (col = 1; col <= DX_NCOLS; col++)
        free(cols[col]);
    return rc;
}

static int
build_chunk(void *arg, int64_t chunk, uint8_t *cols[DX_NCOLS + 1], rz_error *err)
{
    dx_build *b = arg;
    int col, rc = 0;
    for (col = 1; rc == 0 && col <= DX_NCOLS; col++) {
        sqlite3_bind_int(b->put, 1, col);
        sqlite3_bind_int64(b->put, 2, chunk);
        sqlite3_bind_blob(b->put, 3, cols[col], DAYINDEX_CHUNK * dx_col_width[col], SQLITE_STATIC);
        rc = rz_db_step_done(b->db, b->put, err);
    }
    return rc;
}

typedef struct dx_chk {
    sqlite3 *db;       /* state */
    sqlite3_stmt *get; /* dx_attr read */
    int64_t diff;      /* differing values */
    FILE *out;         /* report */
} dx_chk;

/* Compares the stored chunk with the expected one: ids of live clusters
 * hold their attributes, every other id zeros. */
static int
check_chunk(void *arg, int64_t chunk, uint8_t *cols[DX_NCOLS + 1], rz_error *err)
{
    dx_chk *c = arg;
    uint8_t buf[DAYINDEX_CHUNK * 2];
    int col, rc;
    uint32_t i;
    for (col = 1; col <= DX_NCOLS; col++) {
        int64_t d = 0;
        if ((rc = chunk_load(c->db, c->get, col, chunk, buf, err)))
            return rc;
        for (i = 0; i < DAYINDEX_CHUNK; i++)
            if (col_get(cols[col], col, i) != col_get(buf, col, i))
                d++;
        if (d && c->out)
            fprintf(c->out, "day index: attribute %d chunk %lld differs (%lld ids)\n", col,
                    (long long)chunk, (long long)d);
        c->diff += d;
    }
    return 0;
}

static int
count_of(sqlite3 *db, const char *sql, int64_t *n, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = rz_db_prepare(db, &st, sql, err);
    if (rc)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = rz_db_fail(db, err, "day index count");
    sqlite3_finalize(st);
    return rc;
}

int
dayindex_check(sqlite3 *db, FILE *out, int64_t *diff, rz_error *err)
{
    dx_build b;
    dx_chk c;
    int64_t stored = 0, noid = 0;
    int rc, fam;
    char sql[128];
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    b.db = c.db = db;
    b.out = c.out = out;
    *diff = 0;
    if ((rc = count_of(db,
                       "SELECT count(*) FROM st_cluster WHERE ckey NOT IN (SELECT ckey FROM dx_id)",
                       &noid, err)))
        return rc;
    if (noid && out)
        fprintf(out, "day index: %lld clusters without an id\n", (long long)noid);
    if ((rc = rz_db_prepare(db, &b.put,
                            "SELECT data FROM dx_post WHERE fam = ?1 AND centre = ?2 AND blk = ?3",
                            err)))
        return rc;
    for (fam = 1; rc == 0 && fam <= DX_FAMS; fam++) {
        b.rows = 0;
        if ((rc = derive_family(db, fam, check_row, &b, err)))
            break;
        /* Stored rows the derivation did not produce are wrong whole. */
        snprintf(sql, sizeof sql, "SELECT count(*) FROM dx_post WHERE fam = %d", fam);
        if ((rc = count_of(db, sql, &stored, err)))
            break;
        if (stored != b.rows && out)
            fprintf(out, "day index: family %d has %lld rows with nothing in the state\n", fam,
                    (long long)(stored - b.rows));
        b.diff += stored - b.rows;
    }
    sqlite3_finalize(b.put);
    free(b.buf);
    free(b.stored.v);
    if (rc == 0 &&
        (rc = rz_db_prepare(db, &c.get, "SELECT data FROM dx_attr WHERE col = ?1 AND chunk = ?2",
                            err)) == 0)
        rc = derive_attrs(db, 0, check_chunk, &c, err);
    sqlite3_finalize(c.get);
    *diff = noid + b.diff + c.diff;
    return rc;
}

static int
dayindex_build(sqlite3 *db, rz_error *err)
{
    dx_build b;
    int rc, fam;
    memset(&b, 0, sizeof b);
    b.db = db;
    if ((rc = rz_db_exec(db,
                         "DELETE FROM dx_post; DELETE FROM dx_attr; DELETE FROM dx_id;"
                         " DELETE FROM dx_text; DELETE FROM dx_meta;",
                         err)) ||
        (rc = rz_db_exec(db, dx_backfill_ids, err)) ||
        (rc = rz_db_prepare(db, &b.put,
                            "INSERT INTO dx_post(fam, centre, blk, data) VALUES(?1, ?2, ?3, ?4)",
                            err)))
        goto out;
    for (fam = 1; rc == 0 && fam <= DX_FAMS; fam++)
        rc = derive_family(db, fam, build_row, &b, err);
    sqlite3_finalize(b.put);
    b.put = NULL;
    if (rc == 0 &&
        (rc = rz_db_prepare(db, &b.put, "INSERT INTO dx_attr(col, chunk, data) VALUES(?1, ?2, ?3)",
                            err)) == 0)
        rc = derive_attrs(db, 1, build_chunk, &b, err);
    if (rc == 0 && b.rows > 0)
        rc = meta_widen(db, b.bmin, b.bmax, err);
    if (rc == 0)
        rc = rz_db_exec(db, DX_BUILT_SQL, err);
out:
    sqlite3_finalize(b.put);
    free(b.buf);
    return rc;
}

int
dayindex_schema(sqlite3 *db, rz_error *err)
{
    int64_t built = 0;
    int rc, own;
    if ((rc = rz_db_exec(db, dx_schema_sql, err)))
        return rc;
    if (meta_get(db, "built", &built) && built == DX_BUILT)
        return 0;
    /* First open of a state from before the index (or after a reset):
     * derive it once, in one transaction. */
    own = sqlite3_get_autocommit(db);
    if (own && (rc = rz_db_exec(db, "BEGIN IMMEDIATE", err)))
        return rc;
    rc = dayindex_build(db, err);
    if (own) {
        if (rc == 0)
            rc = rz_db_exec(db, "COMMIT", err);
        if (rc)
            rz_db_rollback(db);
    }
    return rc;
}

int
dayindex_ready(sqlite3 *db)
{
    int64_t built = 0;
    return meta_get(db, "built", &built) && built == DX_BUILT;
}

/* ---- queries ------------------------------------------------------------------- */

/* A centre with postings in the family, its place and group values. */
typedef struct dxq_centre {
    int64_t id;   /* centre */
    int prov;     /* index into the query's texts */
    int dist;     /* index into the query's texts */
    int64_t prog; /* programme code, 0 unknown */
    int64_t g[2]; /* value of by[i] when it is a place dimension */
} dxq_centre;

/* A period of the answer inside the range. */
typedef struct dxq_period {
    uint32_t key;     /* period key, 0 for grain ALL */
    int64_t dlo, dhi; /* day numbers, inclusive */
    int year;         /* ages in this year */
} dxq_period;

/* One counted group: period and values of by[0], by[1]. */
typedef struct dxq_cell {
    uint32_t p;   /* period key */
    int used;     /* slot holds a group */
    int64_t x[2]; /* values (text dims: text index) */
    int64_t n;    /* count */
} dxq_cell;

typedef struct dxq {
    sqlite3 *db;                      /* borrowed */
    const dayindex_query *q;          /* borrowed */
    int fam;                          /* family read */
    dx_texts strs;                    /* province and district names of this run */
    dxq_centre *c;                    /* centres allowed by the filters */
    size_t nc, capc;                  /* used, allocated */
    dxq_period *per;                  /* periods */
    size_t nper;                      /* used */
    int person[2];                    /* by[i] is a person dimension */
    int64_t range[2];                 /* values a person dimension takes (0 .. range-1) */
    int need_ids;                     /* person filters or dimensions: look at each id */
    int ids_ready;                    /* attribute columns (and pslot) prepared */
    int want_pslot;                   /* a person's slot is the same all run long */
    int age;                          /* ages asked (filter or group-by) */
    uint32_t cur_key;                 /* period key of the counter rows being added */
    int64_t *local;                   /* per-cell counts by person values */
    size_t *touched;                  /* their used slots */
    size_t ntouched, nlocal;          /* used, size */
    size_t nids;                      /* ids: max id + 1 */
    uint8_t *a8[DX_NCOLS + 1];        /* 1-byte attribute columns loaded */
    uint16_t *a16[DX_NCOLS + 1];      /* 2-byte attribute columns loaded */
    dx_texts homes;                   /* home texts */
    uint8_t *home_ok[DAYINDEX_MAX_F]; /* per home filter: text id matches */
    uint16_t *pslot;                  /* per id: slot of local, PSLOT_OUT or PSLOT_UNK (or NULL) */
    uint64_t *bits;                   /* trainees: ids seen in the group */
    uint32_t *seen;                   /* their list */
    size_t nseen, capseen;            /* used, allocated */
    dxq_cell *map;                    /* counted groups, open addressing */
    size_t mapcap, mapn;              /* slots (power of two), used */
    sqlite3_stmt *rows;               /* a centre's blocks */
    rz_error *err;                    /* where errors go */
} dxq;

static int
dim_is_person(int d)
{
    return d == MERGE_D_GENDER || d == MERGE_D_AGE || d == MERGE_D_AREA || d == MERGE_D_SKILL ||
           d == MERGE_D_HOME;
}

static int
dim_col(int d)
{
    switch (d) {
    case MERGE_D_GENDER: return DX_COL_GENDER;
    case MERGE_D_AREA: return DX_COL_AREA;
    case MERGE_D_SKILL: return DX_COL_SKILL;
    case MERGE_D_AGE: return DX_COL_BYEAR;
    case MERGE_D_HOME: return DX_COL_HOME;
    default: return 0;
    }
}

static int
dim_is_text(int d)
{
    return d == MERGE_D_PROVINCE || d == MERGE_D_DISTRICT || d == MERGE_D_HOME;
}

/* A person's value of dimension d in year (age bands depend on it). */
static int64_t
person_val(const dxq *x, int d, uint32_t id, int year)
{
    int col = dim_col(d);
    if (col == DX_COL_BYEAR)
        return age_band(year, x->a16[col][id]);
    return dx_col_width[col] == 2 ? x->a16[col][id] : x->a8[col][id];
}

static int
person_ok(const dxq *x, uint32_t id, int year)
{
    int i;
    if (id >= x->nids)
        return 0;
    for (i = 0; i < x->q->nf; i++) {
        const dayindex_filter *f = &x->q->f[i];
        if (!dim_is_person(f->dim))
            continue;
        if (f->dim == MERGE_D_HOME) {
            uint16_t h = x->a16[DX_COL_HOME][id];
            if (h >= x->homes.n || !x->home_ok[i][h])
                return 0;
        } else if (person_val(x, f->dim, id, year) != f->code) {
            return 0;
        }
    }
    return 1;
}

static size_t
cell_hash(uint32_t p, int64_t a, int64_t b)
{
    uint64_t h = (uint64_t)p * 0x9e3779b97f4a7c15ull ^ (uint64_t)a * 0xc2b2ae3d27d4eb4full ^
                 (uint64_t)b * 0x165667b19e3779f9ull;
    return (size_t)(h ^ h >> 31);
}

static void
map_add(dxq *x, uint32_t p, int64_t a, int64_t b, int64_t n)
{
    size_t i;
    if (2 * (x->mapn + 1) > x->mapcap) {
        dxq_cell *old = x->map;
        size_t oldcap = x->mapcap;
        x->mapcap = x->mapcap ? 2 * x->mapcap : 1024;
        x->map = xcalloc(x->mapcap, sizeof *x->map);
        x->mapn = 0;
        for (i = 0; i < oldcap; i++)
            if (old[i].used)
                map_add(x, old[i].p, old[i].x[0], old[i].x[1], old[i].n);
        free(old);
    }
    for (i = cell_hash(p, a, b) & (x->mapcap - 1);; i = (i + 1) & (x->mapcap - 1)) {
        dxq_cell *c = &x->map[i];
        if (!c->used) {
            c->used = 1, c->p = p, c->x[0] = a, c->x[1] = b, c->n = n;
            x->mapn++;
            return;
        }
        if (c->p == p && c->x[0] == a && c->x[1] == b) {
            c->n += n;
            return;
        }
    }
}

#define PSLOT_OUT 0xfffe /* pslot: the person fails a filter */
#define PSLOT_UNK 0xffff /* pslot: not worked out yet */

/* The person's slot in the per-cell counts (its values of the person
 * dimensions asked), or PSLOT_OUT when a person filter excludes it. */
static uint16_t
person_slot(const dxq *x, uint32_t id, int year)
{
    size_t slot = 0;
    int i;
    if (!person_ok(x, id, year))
        return PSLOT_OUT;
    for (i = 0; i < x->q->nby; i++)
        if (x->person[i]) {
            int64_t v = person_val(x, x->q->by[i], id, year);
            if (v < 0 || v >= x->range[i])
                v = 0;
            slot = slot * (size_t)x->range[i] + (size_t)v;
        }
    return (uint16_t)slot;
}

/* Counts one id (w times) into the per-cell person counts.  With x->pslot
 * (ages, if asked, are all in one year) each person's slot is worked out
 * once per run: an attendance costs one look-up, not the filters again. */
static void
local_add(dxq *x, uint32_t id, int year, int64_t w)
{
    uint16_t s;
    if (id >= x->nids)
        return;
    if (x->pslot) {
        s = x->pslot[id];
        if (s == PSLOT_UNK)
            s = x->pslot[id] = person_slot(x, id, year);
    } else {
        s = person_slot(x, id, year);
    }
    if (s == PSLOT_OUT)
        return;
    if (x->local[s] == 0)
        x->touched[x->ntouched++] = s;
    x->local[s] += w;
}

/* Moves the per-cell person counts into the groups of period p with the
 * place values fact[]. */
static void
local_flush(dxq *x, uint32_t p, const int64_t fact[2])
{
    size_t t;
    int i;
    for (t = 0; t < x->ntouched; t++) {
        size_t slot = x->touched[t];
        int64_t v[2] = {fact[0], fact[1]};
        size_t rest = slot;
        for (i = x->q->nby - 1; i >= 0; i--)
            if (x->person[i]) {
                v[i] = (int64_t)(rest % (size_t)x->range[i]);
                rest /= (size_t)x->range[i];
            }
        map_add(x, p, v[0], v[1], x->local[slot]);
        x->local[slot] = 0;
    }
    x->ntouched = 0;
}

/* Reads the attribute columns the query needs. */
static int
attrs_load(dxq *x)
{
    sqlite3_stmt *st = NULL;
    int need[DX_NCOLS + 1] = {0}, i, col, rc = 0, step = SQLITE_DONE;
    for (i = 0; i < x->q->nby; i++)
        need[dim_col(x->q->by[i])] = dim_is_person(x->q->by[i]);
    for (i = 0; i < x->q->nf; i++)
        if (dim_is_person(x->q->f[i].dim))
            need[dim_col(x->q->f[i].dim)] = 1;
    for (col = 1; col <= DX_NCOLS && rc == 0; col++) {
        if (!need[col])
            continue;
        if (dx_col_width[col] == 2)
            x->a16[col] = xcalloc(x->nids + DAYINDEX_CHUNK, sizeof(uint16_t));
        else
            x->a8[col] = xcalloc(x->nids + DAYINDEX_CHUNK, 1);
        if ((rc = rz_db_prepare(x->db, &st, "SELECT chunk, data FROM dx_attr WHERE col = ?1",
                                x->err)))
            break;
        sqlite3_bind_int(st, 1, col);
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t chunk = sqlite3_column_int64(st, 0);
            const uint8_t *p = sqlite3_column_blob(st, 1);
            size_t k, width = (size_t)dx_col_width[col];
            if (chunk < 0 || (size_t)chunk * DAYINDEX_CHUNK >= x->nids ||
                (size_t)sqlite3_column_bytes(st, 1) != DAYINDEX_CHUNK * width)
                continue;     /* ids no posting names */
            if (width == 1) { /* bytes as stored */
                memcpy(x->a8[col] + (size_t)chunk * DAYINDEX_CHUNK, p, DAYINDEX_CHUNK);
                continue;
            }
            for (k = 0; k < DAYINDEX_CHUNK; k++)
                x->a16[col][(size_t)chunk * DAYINDEX_CHUNK + k] =
                    (uint16_t)(p[2 * k] | p[2 * k + 1] << 8);
        }
        if (step != SQLITE_DONE)
            rc = rz_db_fail(x->db, x->err, "day index attributes");
        sqlite3_finalize(st);
        st = NULL;
    }
    return rc;
}

static int
homes_prepare(dxq *x)
{
    int i, rc;
    size_t h;
    if ((rc = texts_load(x->db, &x->homes, x->err)))
        return rc;
    for (i = 0; i < x->q->nf; i++) {
        if (x->q->f[i].dim != MERGE_D_HOME)
            continue;
        x->home_ok[i] = xcalloc(x->homes.n, 1);
        for (h = 0; h < x->homes.n; h++)
            x->home_ok[i][h] = sqlite3_stricmp(x->homes.s[h], x->q->f[i].s) == 0;
    }
    return 0;
}

/* 1 when the centre's place passes the place filters. */
static int
centre_ok(const dxq *x, const dxq_centre *c)
{
    int i;
    for (i = 0; i < x->q->nf; i++) {
        const dayindex_filter *f = &x->q->f[i];
        switch (f->dim) {
        case MERGE_D_PROVINCE:
            if (sqlite3_stricmp(x->strs.s[c->prov], f->s) != 0)
                return 0;
            break;
        case MERGE_D_DISTRICT:
            if (sqlite3_stricmp(x->strs.s[c->dist], f->s) != 0)
                return 0;
            break;
        case MERGE_D_PROGRAMME:
            if (c->prog != f->code)
                return 0;
            break;
        case MERGE_D_CENTRE:
            if (c->id != f->code)
                return 0;
            break;
        default: break;
        }
    }
    return 1;
}

static int
str_index(dxq *x, const unsigned char *s, int *out)
{
    int64_t id = 0; /* set by texts_id on success; -O2 cannot see it */
    int rc = texts_id(NULL, &x->strs, s ? (const char *)s : "", 1, &id, x->err);
    *out = (int)id;
    return rc;
}

/* The centres with postings of the family, with their places, that the
 * place filters allow. */
static int
centres_load(dxq *x)
{
    sqlite3_stmt *next = NULL, *place = NULL;
    int64_t after = INT64_MIN;
    int rc, step, i;
    x->strs.loaded = 1;
    texts_set(&x->strs, 0, "");
    if ((rc = rz_db_prepare(x->db, &next,
                            "SELECT centre FROM dx_post WHERE fam = ?1 AND centre > ?2"
                            " ORDER BY centre LIMIT 1",
                            x->err)))
        return rc;
    /* Places as the state path joins them (no table: all unknown). */
    if (sqlite3_prepare_v2(x->db,
                           "SELECT province, district, programme FROM centre WHERE centre_id = ?1",
                           -1, &place, NULL) != SQLITE_OK) {
        sqlite3_finalize(place);
        place = NULL;
    }
    for (;;) {
        dxq_centre c;
        memset(&c, 0, sizeof c);
        sqlite3_bind_int(next, 1, x->fam);
        sqlite3_bind_int64(next, 2, after);
        step = sqlite3_step(next);
        if (step == SQLITE_ROW)
            c.id = sqlite3_column_int64(next, 0);
        sqlite3_reset(next);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = rz_db_fail(x->db, x->err, "day index centres");
            break;
        }
        after = c.id;
        if (place) {
            sqlite3_bind_int64(place, 1, c.id);
            step = sqlite3_step(place);
            if (step == SQLITE_ROW) {
                if ((rc = str_index(x, sqlite3_column_text(place, 0), &c.prov)) ||
                    (rc = str_index(x, sqlite3_column_text(place, 1), &c.dist)))
                    break;
                c.prog = sqlite3_column_int64(place, 2);
            }
            sqlite3_reset(place);
            if (step != SQLITE_ROW && step != SQLITE_DONE) {
                rc = rz_db_fail(x->db, x->err, "centre place");
                break;
            }
        }
        if (!centre_ok(x, &c))
            continue;
        for (i = 0; i < x->q->nby; i++) {
            switch (x->q->by[i]) {
            case MERGE_D_PROVINCE: c.g[i] = c.prov; break;
            case MERGE_D_DISTRICT: c.g[i] = c.dist; break;
            case MERGE_D_PROGRAMME: c.g[i] = c.prog; break;
            case MERGE_D_CENTRE: c.g[i] = c.id; break;
            default: c.g[i] = 0; break;
            }
        }
        if (x->nc == x->capc) {
            x->capc = x->capc ? 2 * x->capc : 64;
            x->c = xrealloc(x->c, x->capc * sizeof *x->c);
        }
        x->c[x->nc++] = c;
    }
    sqlite3_finalize(next);
    sqlite3_finalize(place);
    return rc;
}

static void
periods_make(dxq *x)
{
    const dayindex_query *q = x->q;
    uint32_t d = q->from;
    size_t cap = 0;
    while (d <= q->to) {
        uint32_t key = 0, a = q->from, b = q->to;
        dxq_period *p;
        if (q->grain != MERGE_GRAIN_ALL) {
            key = period_key(d, q->grain);
            period_range(q->grain, key, &a, &b);
            if (b > q->to)
                b = q->to;
        }
        if (x->nper == cap) {
            cap = cap ? 2 * cap : 16;
            x->per = xrealloc(x->per, cap * sizeof *x->per);
        }
        p = &x->per[x->nper++];
        p->key = key;
        p->dlo = date_day_number(d);
        p->dhi = date_day_number(b);
        p->year = q->age_year ? q->age_year : (int)(d / 10000);
        if (q->grain == MERGE_GRAIN_ALL)
            break;
        d = date_of_day_number(date_day_number(b) + 1);
    }
}

/* Calls cell() for each cell of centre c with a day in [dlo, dhi] and a
 * kind the filters allow: n ids (counts NULL: each id once) or, of a
 * month row (dn its first day), n distinct ids and their counts. */
typedef void (*dxq_cell_fn)(dxq *x, const dxq_centre *c, int64_t dn, int kind, uint32_t n,
                            const uint8_t *ids, const uint8_t *counts);

/* Reads rows blo..bhi of family fam of centre c; day rows keep the cells
 * of days dlo..dhi, month rows all theirs. */
static int
centre_scan(dxq *x, int fam, const dxq_centre *c, int64_t blo, int64_t bhi, int64_t dlo,
            int64_t dhi, dxq_cell_fn cell)
{
    sqlite3_stmt *st = x->rows;
    int step, i;
    sqlite3_bind_int(st, 1, fam);
    sqlite3_bind_int64(st, 2, c->id);
    sqlite3_bind_int64(st, 3, blo);
    sqlite3_bind_int64(st, 4, bhi);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t blk = sqlite3_column_int64(st, 0);
        const uint8_t *p = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1), at = 0;
        int64_t mfirst = fam == DX_ATTM ? dx_month_first(blk) : 0;
        while (at < len) {
            uint32_t n;
            int64_t dn;
            int kind, ok = 1;
            size_t idbytes;
            if (len - at < DX_CELL_HEAD)
                goto corrupt;
            dn = fam == DX_ATTM ? mfirst : blk * DAYINDEX_BLOCK + p[at];
            kind = p[at + 2] | p[at + 3] << 8;
            n = le32(p + at + 4);
            at += DX_CELL_HEAD;
            idbytes = fam == DX_EV ? 0 : (fam == DX_ATTM ? 8 : 4) * (size_t)n;
            if (len - at < idbytes)
                goto corrupt;
            for (i = 0; i < x->q->nf; i++)
                if (x->q->f[i].dim == MERGE_D_KIND && x->q->f[i].code != kind)
                    ok = 0;
            if (ok && (fam == DX_ATTM || (dn >= dlo && dn <= dhi)))
                cell(x, c, dn, kind, n, p + at, fam == DX_ATTM ? p + at + 4 * (size_t)n : NULL);
            at += idbytes;
        }
    }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : rz_db_fail(x->db, x->err, "day index read");
corrupt:
    sqlite3_reset(st);
    return rz_fail(x->err, RZ_E_INTERNAL, "day index row corrupt; rebuild the state");
}

static int
days_scan(dxq *x, const dxq_centre *c, int64_t dlo, int64_t dhi, dxq_cell_fn cell)
{
    if (dlo > dhi)
        return 0;
    return centre_scan(x, x->fam, c, floor_div(dlo, DAYINDEX_BLOCK), floor_div(dhi, DAYINDEX_BLOCK),
                       dlo, dhi, cell);
}

/* The cells of centre c on days dlo..dhi.  Attendances of whole months
 * come from the month rows (a person once per month and kind, with a
 * count, however often attended), the days before the first and after
 * the last whole month from the day rows: a year reads twelve month rows
 * and at most two partial months of days. */
static int
range_scan(dxq *x, const dxq_centre *c, int64_t dlo, int64_t dhi, dxq_cell_fn cell)
{
    uint32_t lo = date_of_day_number(dlo), hi = date_of_day_number(dhi);
    int64_t m1 = dx_month(lo) + (lo % 100 != 1), m2 = dx_month(hi);
    int rc;
    if (dx_month_first(m2 + 1) - 1 != dhi)
        m2--; /* hi is not the last day of its month */
    if (x->fam != DX_ATT || m1 > m2)
        return days_scan(x, c, dlo, dhi, cell);
    if ((rc = days_scan(x, c, dlo, dx_month_first(m1) - 1, cell)) ||
        (rc = centre_scan(x, DX_ATTM, c, m1, m2, 0, 0, cell)))
        return rc;
    return days_scan(x, c, dx_month_first(m2 + 1), dhi, cell);
}

/* Registrations, attendances, events: every cell adds up. */
static void
additive_cell(dxq *x, const dxq_centre *c, int64_t dn, int kind, uint32_t n, const uint8_t *ids,
              const uint8_t *counts)
{
    const dayindex_query *q = x->q;
    uint32_t day = date_of_day_number(dn), k;
    uint32_t p = q->grain == MERGE_GRAIN_ALL ? 0 : period_key(day, q->grain);
    int year = q->age_year ? q->age_year : (int)(day / 10000), i;
    int64_t fact[2] = {0, 0};
    for (i = 0; i < q->nby; i++)
        fact[i] = q->by[i] == MERGE_D_KIND ? kind : c->g[i];
    if (!x->need_ids) {
        int64_t total = n;
        if (counts)
            for (k = 0, total = 0; k < n; k++)
                total += le32(counts + 4 * k);
        map_add(x, p, fact[0], fact[1], total);
        return;
    }
    if (counts && x->pslot) {
        /* Month rows: each distinct id with its count; the same one
         * look-up per id as the loop below. */
        uint16_t *ps = x->pslot;
        int64_t *local = x->local;
        size_t *touched = x->touched, nt = x->ntouched, nids = x->nids;
        for (k = 0; k < n; k++) {
            uint32_t id = le32(ids + 4 * k);
            uint16_t sl;
            if (id >= nids)
                continue;
            sl = ps[id];
            if (sl == PSLOT_UNK)
                sl = ps[id] = person_slot(x, id, year);
            if (sl == PSLOT_OUT)
                continue;
            if (local[sl] == 0)
                touched[nt++] = sl;
            local[sl] += le32(counts + 4 * k);
        }
        x->ntouched = nt;
    } else if (counts) { /* month rows without per-person slots */
        for (k = 0; k < n; k++)
            local_add(x, le32(ids + 4 * k), year, le32(counts + 4 * k));
    } else if (x->pslot) {
        /* The hot loop of an attendance count with person filters or
         * breakdowns: one look-up per attendance (locals: no aliasing). */
        uint16_t *ps = x->pslot;
        int64_t *local = x->local;
        size_t *touched = x->touched, nt = x->ntouched, nids = x->nids;
        for (k = 0; k < n; k++) {
            uint32_t id = le32(ids + 4 * k);
            uint16_t sl;
            if (id >= nids)
                continue;
            sl = ps[id];
            if (sl == PSLOT_UNK)
                sl = ps[id] = person_slot(x, id, year);
            if (sl != PSLOT_OUT && local[sl]++ == 0)
                touched[nt++] = sl;
        }
        x->ntouched = nt;
    } else {
        for (k = 0; k < n; k++)
            local_add(x, le32(ids + 4 * k), year, 1);
    }
    local_flush(x, p, fact);
}

/* Trainees: the ids of the cell join the group's set (x->seen holds room
 * for every id, so the loop never grows it). */
static void
union_cell(dxq *x, const dxq_centre *c, int64_t dn, int kind, uint32_t n, const uint8_t *ids,
           const uint8_t *counts)
{
    uint64_t *bits = x->bits;
    uint32_t *seen = x->seen, k;
    size_t ns = x->nseen, nids = x->nids;
    (void)c, (void)dn, (void)kind, (void)counts;
    for (k = 0; k < n; k++) {
        uint32_t id = le32(ids + 4 * k);
        uint64_t m = 1ull << (id & 63);
        if (id >= nids || (bits[id >> 6] & m))
            continue;
        bits[id >> 6] |= m;
        seen[ns++] = id;
    }
    x->nseen = ns;
}

/* Prepares what looking at ids needs (once per run, and only when some
 * days are read from the index): the attribute columns asked for and the
 * per-person slots. */
static int
ids_prepare(dxq *x)
{
    if (!x->need_ids || x->ids_ready)
        return 0;
    x->ids_ready = 1;
    if (x->want_pslot) {
        x->pslot = xmalloc(x->nids * sizeof *x->pslot);
        memset(x->pslot, 0xff, x->nids * sizeof *x->pslot);
    }
    return attrs_load(x);
}

/* ---- whole months from the merged counters ---------------------------------------- */

static atomic_uint_fast64_t dx_counter_months;

uint64_t
dayindex_months_from_counters(void)
{
    return (uint64_t)atomic_load(&dx_counter_months);
}

/* The allowed centre of id, or NULL (a place filter excludes it, or it has
 * no rows of the family).  x->c is in ascending id order (centres_load). */
static const dxq_centre *
centre_find(const dxq *x, int64_t id)
{
    size_t lo = 0, hi = x->nc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->c[mid].id == id)
            return &x->c[mid];
        if (x->c[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* One month counter (dayindex_month_row_fn): the filters the index applies
 * to a cell and a person, applied to the counter's values, and its count
 * added to the group the index would have put those facts in. */
static int
month_row(void *arg, uint32_t month, const dayindex_val v[2], int64_t count)
{
    dxq *x = arg;
    const dayindex_query *q = x->q;
    const dxq_centre *c = NULL;
    int64_t code[MERGE_D_MAX + 1], fact[2] = {0, 0};
    const char *home = "";
    int i;
    (void)month; /* ages: the counter's band is of the month's year, = the question's
                    (counter_months) */
    memset(code, 0, sizeof code);
    for (i = 0; i < q->nmd; i++) {
        int d = q->md[i];
        if (d < 1 || d > MERGE_D_MAX)
            return 0;
        if (d == MERGE_D_HOME)
            home = v[i].s ? v[i].s : "";
        else
            code[d] = v[i].code;
        if (d == MERGE_D_CENTRE && !(c = centre_find(x, v[i].code)))
            return 0;
    }
    for (i = 0; i < q->nf; i++) {
        const dayindex_filter *f = &q->f[i];
        switch (f->dim) {
        case MERGE_D_PROVINCE:
        case MERGE_D_DISTRICT:
        case MERGE_D_PROGRAMME:
        case MERGE_D_CENTRE:
            if (!c) /* never: a place filter makes the centre one of md[] */
                return 0;
            break;
        case MERGE_D_HOME:
            if (sqlite3_stricmp(home, f->s) != 0)
                return 0;
            break;
        default:
            if (f->dim < 1 || f->dim > MERGE_D_MAX || code[f->dim] != f->code)
                return 0;
            break;
        }
    }
    for (i = 0; i < q->nby; i++) {
        int d = q->by[i];
        if (merge_dim_is_place(d) || d == MERGE_D_CENTRE) {
            if (!c)
                return 0;
            fact[i] = c->g[i];
        } else if (d == MERGE_D_HOME) {
            int rc = texts_id(NULL, &x->homes, home, 1, &fact[i], x->err);
            if (rc)
                return rc;
        } else if (d >= 1 && d <= MERGE_D_MAX) {
            fact[i] = code[d];
            if (x->person[i] && (fact[i] < 0 || fact[i] >= x->range[i]))
                fact[i] = 0; /* as person_slot */
        }
    }
    map_add(x, x->cur_key, fact[0], fact[1], count);
    return 0;
}

/* Month number m as a counter period (YYYYMM). */
static uint32_t
month_key(int64_t m)
{
    return (uint32_t)(m / 12 * 100 + m % 12 + 1);
}

/* The whole months m1..m2 of period p the counters answer; 0 when none.
 * Ages: a month counter holds the band of its month's year; the question
 * counts ages in the year of each fact (age_year 0) or in age_year, so
 * only that year's months can come from the counters then. */
static int
counter_months(const dxq *x, const dxq_period *p, int64_t *m1, int64_t *m2)
{
    uint32_t lo = date_of_day_number(p->dlo), hi = date_of_day_number(p->dhi);
    if (!x->q->months || x->q->metric == MERGE_M_TRAINEES)
        return 0;
    *m1 = dx_month(lo) + (lo % 100 != 1);
    *m2 = dx_month(hi);
    if (dx_month_first(*m2 + 1) - 1 != p->dhi)
        (*m2)--; /* hi is not the last day of its month */
    if (x->age && x->q->age_year) {
        int64_t y0 = (int64_t)x->q->age_year * 12;
        if (*m1 < y0)
            *m1 = y0;
        if (*m2 > y0 + 11)
            *m2 = y0 + 11;
    }
    return *m1 <= *m2;
}

/* Registrations, attendances, events, period by period: the whole months
 * the counters can answer from them (one read for all centres), the rest
 * of the period from the index, centre by centre (whole months of
 * attendances there from the month rows, range_scan). */
static int
additive_count(dxq *x)
{
    const dayindex_query *q = x->q;
    size_t i, per;
    int rc = 0;
    for (per = 0; rc == 0 && per < x->nper; per++) {
        const dxq_period *p = &x->per[per];
        int64_t m1, m2, span[2][2] = {{p->dlo, p->dhi}, {1, 0}};
        int s;
        if (counter_months(x, p, &m1, &m2)) {
            x->cur_key = p->key;
            if ((rc = q->months(q->months_arg, month_key(m1), month_key(m2), month_row, x, x->err)))
                break;
            atomic_fetch_add(&dx_counter_months, (uint_fast64_t)(m2 - m1 + 1));
            span[0][1] = dx_month_first(m1) - 1;
            span[1][0] = dx_month_first(m2 + 1);
            span[1][1] = p->dhi;
        }
        if ((span[0][0] <= span[0][1] || span[1][0] <= span[1][1]) && (rc = ids_prepare(x)))
            break;
        for (i = 0; rc == 0 && i < x->nc; i++)
            for (s = 0; rc == 0 && s < 2; s++)
                if (span[s][0] <= span[s][1])
                    rc = range_scan(x, &x->c[i], span[s][0], span[s][1], additive_cell);
    }
    return rc;
}

static int
centre_group_cmp(const void *a, const void *b)
{
    const dxq_centre *x = a, *y = b;
    if (x->g[0] != y->g[0])
        return x->g[0] < y->g[0] ? -1 : 1;
    return x->g[1] < y->g[1] ? -1 : x->g[1] > y->g[1];
}

/* Trainees: per group of centres with the same place values and per
 * period, the distinct persons, then their person values. */
static int
trainees_count(dxq *x)
{
    size_t i, j, k, s;
    size_t per;
    int rc = 0;
    if (x->nc == 0)
        return 0;
    x->bits = xcalloc((x->nids + 63) / 64, sizeof *x->bits);
    x->seen = xmalloc(x->nids * sizeof *x->seen); /* pages are touched only as used */
    qsort(x->c, x->nc, sizeof *x->c, centre_group_cmp);
    for (i = 0; rc == 0 && i < x->nc; i = j) {
        for (j = i + 1; j < x->nc && centre_group_cmp(&x->c[i], &x->c[j]) == 0; j++)
            ;
        for (per = 0; rc == 0 && per < x->nper; per++) {
            const dxq_period *p = &x->per[per];
            x->nseen = 0;
            for (k = i; rc == 0 && k < j; k++)
                rc = range_scan(x, &x->c[k], p->dlo, p->dhi, union_cell);
            for (s = 0; s < x->nseen; s++) {
                uint32_t id = x->seen[s];
                x->bits[id >> 6] &= ~(1ull << (id & 63));
                if (x->need_ids)
                    local_add(x, id, p->year, 1);
            }
            if (!x->need_ids && x->nseen > 0 && x->local[0]++ == 0) {
                x->local[0] = (int64_t)x->nseen; /* no person values: the group's size */
                x->touched[x->ntouched++] = 0;
            }
            local_flush(x, p->key, x->c[i].g);
        }
    }
    return rc;
}

typedef struct dxq_row {
    uint32_t p;   /* period key */
    int64_t x[2]; /* values */
    int64_t n;    /* count */
} dxq_row;

static const char *
val_text(const dxq *x, int d, int64_t v)
{
    const dx_texts *t = d == MERGE_D_HOME ? &x->homes : &x->strs;
    return v >= 0 && (size_t)v < t->n ? t->s[v] : "";
}

static int
rows_cmp(const void *a, const void *b, void *arg)
{
    const dxq_row *r = a, *s = b;
    const dxq *x = arg;
    int i;
    if (r->p != s->p) {
        if (r->p == 0 || s->p == 0)
            return r->p == 0 ? 1 : -1;
        return r->p < s->p ? -1 : 1;
    }
    for (i = 0; i < x->q->nby; i++) {
        int d = x->q->by[i], c;
        if (dim_is_text(d)) {
            const char *u = val_text(x, d, r->x[i]), *v = val_text(x, d, s->x[i]);
            if ((*u == '\0') != (*v == '\0'))
                return *u == '\0' ? 1 : -1;
            if ((c = strcmp(u, v)) != 0)
                return c < 0 ? -1 : 1;
        } else if (r->x[i] != s->x[i]) {
            if (r->x[i] == 0 || s->x[i] == 0)
                return r->x[i] == 0 ? 1 : -1;
            return r->x[i] < s->x[i] ? -1 : 1;
        }
    }
    return 0;
}

static int
rows_emit(dxq *x, dayindex_row_fn fn, void *arg)
{
    dxq_row *rows = xcalloc(x->mapn + 1, sizeof *rows);
    size_t i, n = 0;
    int rc = 0, k;
    for (i = 0; i < x->mapcap; i++)
        if (x->map[i].used && x->map[i].n != 0) {
            rows[n].p = x->map[i].p;
            rows[n].x[0] = x->map[i].x[0];
            rows[n].x[1] = x->map[i].x[1];
            rows[n].n = x->map[i].n;
            n++;
        }
    qsort_r(rows, n, sizeof *rows, rows_cmp, x);
    for (i = 0; rc == 0 && i < n; i++) {
        dayindex_val v[2];
        memset(v, 0, sizeof v);
        for (k = 0; k < x->q->nby; k++) {
            int d = x->q->by[k];
            v[k].text = dim_is_text(d);
            if (v[k].text)
                v[k].s = val_text(x, d, rows[i].x[k]);
            else
                v[k].code = rows[i].x[k];
        }
        rc = fn(arg, rows[i].p, v, rows[i].n);
    }
    free(rows);
    return rc;
}

/* Runs at a time, process-wide.  A run holds up to a bit per person, the
 * attribute columns it reads (at most 7 bytes per person) and the persons
 * of one group: about 27 MiB at 2.4 million people in the worst case.
 * The HTTP server has up to 64 request threads; the rest wait their turn,
 * so the server's memory stays within its budget whatever is asked. */
#define DX_RUN_MAX 2
static pthread_mutex_t dx_run_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dx_run_cv = PTHREAD_COND_INITIALIZER;
static int dx_running;

static int dx_run(sqlite3 *db, const dayindex_query *q, dayindex_row_fn fn, void *arg,
                  rz_error *err);

int
dayindex_run(sqlite3 *db, const dayindex_query *q, dayindex_row_fn fn, void *arg, rz_error *err)
{
    int rc;
    pthread_mutex_lock(&dx_run_mu);
    while (dx_running >= DX_RUN_MAX)
        pthread_cond_wait(&dx_run_cv, &dx_run_mu);
    dx_running++;
    pthread_mutex_unlock(&dx_run_mu);
    rc = dx_run(db, q, fn, arg, err);
    pthread_mutex_lock(&dx_run_mu);
    dx_running--;
    pthread_cond_signal(&dx_run_cv);
    pthread_mutex_unlock(&dx_run_mu);
    return rc;
}

static int
dx_run(sqlite3 *db, const dayindex_query *q, dayindex_row_fn fn, void *arg, rz_error *err)
{
    dxq x;
    dayindex_query clip;
    int64_t maxid = 0, bmin = 0, bmax = 0;
    int rc, k;
    memset(&x, 0, sizeof x);
    x.db = db;
    x.q = q;
    x.err = err;
    if (q->nby < 0 || q->nby > 2 || q->nf < 0 || q->nf > DAYINDEX_MAX_F || q->from > q->to)
        return rz_fail(err, RZ_E_ARG, "malformed day index query");
    x.fam = q->metric == MERGE_M_REGISTERED ? DX_REG : q->metric == MERGE_M_EVENTS ? DX_EV : DX_ATT;
    for (k = 0; k < q->nby; k++)
        if ((x.person[k] = dim_is_person(q->by[k])))
            x.need_ids = 1;
    for (k = 0; k < q->nf; k++)
        if (dim_is_person(q->f[k].dim))
            x.need_ids = 1;
    if ((rc = count_of(db, "SELECT coalesce(max(id), 0) FROM dx_id", &maxid, err)))
        return rc;
    x.nids = (size_t)maxid + 1;
    if ((rc = homes_prepare(&x)))
        goto out;
    x.nlocal = 1;
    for (k = 0; k < q->nby; k++)
        if (x.person[k]) {
            /* Codes of gender, area and skill are small (common/domain.h). */
            x.range[k] = q->by[k] == MERGE_D_HOME  ? (int64_t)x.homes.n
                         : q->by[k] == MERGE_D_AGE ? RZ_AGE_BANDS
                                                   : 16;
            x.nlocal *= (size_t)x.range[k];
        }
    for (k = 0; k < q->nby; k++)
        x.age |= q->by[k] == MERGE_D_AGE;
    for (k = 0; k < q->nf; k++)
        x.age |= q->f[k].dim == MERGE_D_AGE;
    if (x.need_ids && x.nlocal < PSLOT_OUT) {
        /* One year for every age asked (or none asked): a person's slot
         * is the same all run long, worked out once. */
        int age = x.age;
        x.want_pslot = !age || q->age_year;
    }
    x.local = xcalloc(x.nlocal, sizeof *x.local);
    x.touched = xcalloc(x.nlocal, sizeof *x.touched);
    /* Only the days the postings span: an open end reads no empty periods. */
    if (!meta_get(db, "bmin", &bmin) || !meta_get(db, "bmax", &bmax))
        goto out; /* nothing indexed */
    clip = *q;
    if (date_day_number(clip.from) < bmin * DAYINDEX_BLOCK)
        clip.from = date_of_day_number(bmin * DAYINDEX_BLOCK);
    if (date_day_number(clip.to) > bmax * DAYINDEX_BLOCK + DAYINDEX_BLOCK - 1)
        clip.to = date_of_day_number(bmax * DAYINDEX_BLOCK + DAYINDEX_BLOCK - 1);
    if (clip.from > clip.to)
        goto out;
    x.q = &clip;
    periods_make(&x);
    if ((rc = centres_load(&x)) ||
        (rc = rz_db_prepare(db, &x.rows,
                            "SELECT blk, data FROM dx_post WHERE fam = ?1 AND centre = ?2"
                            " AND blk BETWEEN ?3 AND ?4 ORDER BY blk",
                            err)))
        goto out;
    if (q->metric == MERGE_M_TRAINEES) {
        if ((rc = ids_prepare(&x)) == 0)
            rc = trainees_count(&x);
    } else {
        rc = additive_count(&x);
    }
    if (rc == 0)
        rc = rows_emit(&x, fn, arg);
out:
    sqlite3_finalize(x.rows);
    texts_free(&x.strs);
    texts_free(&x.homes);
    for (k = 0; k < DAYINDEX_MAX_F; k++)
        free(x.home_ok[k]);
    for (k = 0; k <= DX_NCOLS; k++) {
        free(x.a8[k]);
        free(x.a16[k]);
    }
    free(x.c);
    free(x.per);
    free(x.local);
    free(x.touched);
    free(x.bits);
    free(x.pslot);
    free(x.seen);
    free(x.map);
    return rc;
}
