/*
 * merge: the merged state and the incremental national totals (merge.h,
 * proto/PROTOCOL.md §5).
 *
 * State tables (every one is a pure function of the set of entries merged,
 * so a rebuild in any order reproduces them byte for byte):
 *
 *   st_person(id, created, centre_id, st, bad, deleted, cnic, token, link,
 *             name, phone, gender, birth_year, home, area, skill, skills,
 *             platforms, reg_date)
 *   st_event(id, created, centre_id, st, bad, deleted, kind, title, date,
 *            duration, partner, mode)
 *   st_attendance(event_id, person_id, st, bad, deleted, present)
 *   st_cluster(ckey, centre_id, reg_date, gender, birth_year, area, skill, home)
 *   st_cluster_att(ckey, day, kind, n)
 *   totals(metric, grain, period, d1, d2, v1, v2, n)        (see merge.h)
 *
 * A record keeps every field's value as received (invalid ones too), a
 * bitmask `bad` of fields whose value was invalid under the writing entry's
 * clock window, and the stamp of every field (slot 0 is the deletion flag)
 * in `st`, a compact canonical blob:
 *
 *     k:u8 | k distinct 22-byte stamps, ascending | one u8 per slot: 0 = never
 *     set, i = stamps[i-1]
 *
 * A stamp is eff_ms (6 bytes) | hlc (8) | node id (8), all big-endian, so
 * memcmp order is stamp order.  `created` is the lowest stamp of any entry
 * for the key and `centre_id` the centre of that entry's node: the record's
 * place.
 *
 * One person, one count: a live person record with a valid CNIC has
 * link = its CNIC token; its cluster key (ckey, 17 bytes) is 0x01 || token.
 * A live record without one is its own cluster, 0x02 || person id.
 * st_cluster holds each live cluster's counted profile (attributes already
 * reduced to valid codes, 0/'' = unknown) and st_cluster_att the cluster's
 * counted attendances per (event day, event kind) -- day 0 and kind 0 are
 * unknown.  Totals are the sum over live clusters and live events of their
 * contributions; when a cluster changes, its old contribution is subtracted
 * and the new one added, computed from these two tables alone.
 *
 * Deltas accumulate in memory (a hash map keyed by counter; one cell can
 * stand for a fact's month, quarter, year and all-time counters) and are
 * written by merge_flush() with one upsert per distinct counter, in key
 * order.  Read caches of event facts, person clusters and cluster profiles
 * spare most statements on the common path; they live until the next flush
 * or discard, and merge updates them with every write, so they always agree
 * with the database.
 *
 * Cost per entry (no full scans): a new attendance is 2 statements on cache
 * hits (insert the row, write its cluster bucket) plus ~70 in-memory counter
 * touches; a registration 4-6 statements; a correction that changes a
 * person's counts re-reads that person's clusters (their members and
 * buckets) once.  Per flush: one upsert per distinct counter touched.
 *
 * Not here: the clamp window (server/ingest.c derives it from clock entries)
 * and CNIC validation and tokens (ingest, from the revealed values).
 */
#include "server/merge.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/util.h"

#define MG_STAMP 22                   /* bytes of a stamp */
#define MG_SLOTS 12                   /* slot 0: deleted flag; 1..11: fields */
#define MG_CKEY 17                    /* cluster key: tag byte + 16 */
#define MG_CKEY_CNIC 1                /* tag: linked by CNIC token */
#define MG_CKEY_SOLO 2                /* tag: a record without valid CNIC */
#define MG_CHANGED_CREATED (1u << 31) /* change mask bit: creation stamp */
#define MG_FLUSH_AT (1u << 16)        /* pending cells that trigger a flush (memory bound) */
#define MG_DAY_MS 86400000ull
#define MG_TEXT_RESET 100000 /* interned texts kept across flushes */

/* Person attribute slots that decide counts. */
#define MG_PERSON_COUNTED                                                                          \
    ((1u << 0) | (1u << RZ_PF_CNIC) | (1u << RZ_PF_GENDER) | (1u << RZ_PF_BIRTH_YEAR) |            \
     (1u << RZ_PF_DISTRICT) | (1u << RZ_PF_AREA) | (1u << RZ_PF_SKILL) | (1u << RZ_PF_REG_DATE) |  \
     MG_CHANGED_CREATED)
#define MG_EVENT_COUNTED ((1u << 0) | (1u << RZ_EF_KIND) | (1u << RZ_EF_DATE) | MG_CHANGED_CREATED)

/* CNIC value kept in slot 1 (column cnic). */
enum { MG_CNIC_CLEARED = 0, MG_CNIC_VALID = 1, MG_CNIC_INVALID = 2 };

const char *const merge_state_tables[] = {
    "st_person", "st_event", "st_attendance", "st_cluster", "st_cluster_att", "totals", NULL};

static const char merge_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS st_person("
    " id BLOB PRIMARY KEY, created BLOB NOT NULL, centre_id INTEGER NOT NULL,"
    " st BLOB NOT NULL, bad INTEGER NOT NULL, deleted INTEGER NOT NULL,"
    " cnic INTEGER, token BLOB, link BLOB, name, phone, gender, birth_year, home, area,"
    " skill, skills, platforms, reg_date) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS st_person_link ON st_person(link) WHERE link IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS st_event("
    " id BLOB PRIMARY KEY, created BLOB NOT NULL, centre_id INTEGER NOT NULL,"
    " st BLOB NOT NULL, bad INTEGER NOT NULL, deleted INTEGER NOT NULL,"
    " kind, title, date, duration, partner, mode) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS st_event_date ON st_event(date);"
    "CREATE TABLE IF NOT EXISTS st_attendance("
    " event_id BLOB NOT NULL, person_id BLOB NOT NULL, st BLOB NOT NULL,"
    " bad INTEGER NOT NULL, deleted INTEGER NOT NULL, present,"
    " PRIMARY KEY(event_id, person_id)) WITHOUT ROWID;"
    /* Only rows that count by themselves are looked up by person. */
    "CREATE INDEX IF NOT EXISTS st_attendance_person ON st_attendance(person_id)"
    " WHERE present = 1 AND bad = 0 AND deleted = 0;"
    "CREATE TABLE IF NOT EXISTS st_cluster("
    " ckey BLOB PRIMARY KEY, centre_id INTEGER NOT NULL, reg_date INTEGER NOT NULL,"
    " gender INTEGER NOT NULL, birth_year INTEGER NOT NULL, area INTEGER NOT NULL,"
    " skill INTEGER NOT NULL, home TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS st_cluster_reg ON st_cluster(reg_date);"
    "CREATE TABLE IF NOT EXISTS st_cluster_att("
    " ckey BLOB NOT NULL, day INTEGER NOT NULL, kind INTEGER NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(ckey, day, kind)) WITHOUT ROWID;"
    /* Covering for date-range questions (the key adds ckey and kind). */
    "CREATE INDEX IF NOT EXISTS st_cluster_att_day ON st_cluster_att(day, n);"
    "CREATE TABLE IF NOT EXISTS totals("
    " metric INTEGER NOT NULL, grain INTEGER NOT NULL, period INTEGER NOT NULL,"
    " d1 INTEGER NOT NULL, d2 INTEGER NOT NULL, v1 NOT NULL, v2 NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(metric, grain, period, d1, d2, v1, v2)) WITHOUT ROWID;";

/* ---- prepared statements ---------------------------------------------- */

enum {
    MS_P_GET,
    MS_P_INS,
    MS_P_UPD,
    MS_P_MEMBERS,
    MS_P_CLUSTER,
    MS_E_GET,
    MS_E_INS,
    MS_E_UPD,
    MS_E_FACTS,
    MS_A_GET,
    MS_A_INS,
    MS_A_UPD,
    MS_A_OF_PERSON,
    MS_A_OF_EVENT,
    MS_C_GET,
    MS_C_PUT,
    MS_C_DEL,
    MS_CA_ALL,
    MS_CA_PUT,
    MS_CA_DEL,
    MS_T_UPSERT,
    MS_T_DELZERO,
    MS_COUNT
};

#define MG_PERSON_COLS                                                                             \
    "created, centre_id, st, bad, deleted, cnic, token, name, phone, gender, birth_year,"          \
    " home, area, skill, skills, platforms, reg_date"
#define MG_EVENT_COLS                                                                              \
    "created, centre_id, st, bad, deleted, kind, title, date, duration, partner, mode"

static const char *const merge_sql[MS_COUNT] = {
    [MS_P_GET] = "SELECT " MG_PERSON_COLS " FROM st_person WHERE id = ?1",
    [MS_P_INS] = "INSERT INTO st_person(" MG_PERSON_COLS ", link, id) VALUES(?1, ?2, ?3, ?4,"
                 " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
                 " ON CONFLICT(id) DO NOTHING",
    [MS_P_UPD] = "UPDATE st_person SET created=?1, centre_id=?2, st=?3, bad=?4, deleted=?5,"
                 " cnic=?6, token=?7, name=?8, phone=?9, gender=?10, birth_year=?11, home=?12,"
                 " area=?13, skill=?14, skills=?15, platforms=?16, reg_date=?17, link=?18"
                 " WHERE id = ?19",
    [MS_P_MEMBERS] = "SELECT " MG_PERSON_COLS ", id FROM st_person WHERE link = ?1",
    [MS_P_CLUSTER] = "SELECT deleted, link FROM st_person WHERE id = ?1",
    [MS_E_GET] = "SELECT " MG_EVENT_COLS " FROM st_event WHERE id = ?1",
    [MS_E_INS] = "INSERT INTO st_event(" MG_EVENT_COLS ", id) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
                 " ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT(id) DO NOTHING",
    [MS_E_UPD] = "UPDATE st_event SET created=?1, centre_id=?2, st=?3, bad=?4, deleted=?5,"
                 " kind=?6, title=?7, date=?8, duration=?9, partner=?10, mode=?11 WHERE id=?12",
    [MS_E_FACTS] = "SELECT deleted, bad, kind, date, centre_id FROM st_event WHERE id = ?1",
    [MS_A_GET] = "SELECT st, bad, deleted, present FROM st_attendance"
                 " WHERE event_id = ?1 AND person_id = ?2",
    [MS_A_INS] = "INSERT INTO st_attendance(st, bad, deleted, present, event_id, person_id)"
                 " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(event_id, person_id) DO NOTHING",
    [MS_A_UPD] = "UPDATE st_attendance SET st=?1, bad=?2, deleted=?3, present=?4"
                 " WHERE event_id = ?5 AND person_id = ?6",
    [MS_A_OF_PERSON] = "SELECT e.bad, e.kind, e.date FROM st_attendance a"
                       " JOIN st_event e ON e.id = a.event_id"
                       " WHERE a.person_id = ?1 AND a.present = 1 AND a.bad = 0"
                       " AND a.deleted = 0 AND e.deleted = 0",
    [MS_A_OF_EVENT] = "SELECT person_id FROM st_attendance WHERE event_id = ?1"
                      " AND present = 1 AND bad = 0 AND deleted = 0",
    [MS_C_GET] = "SELECT centre_id, reg_date, gender, birth_year, area, skill, home"
                 " FROM st_cluster WHERE ckey = ?1",
    [MS_C_PUT] = "INSERT OR REPLACE INTO st_cluster(ckey, centre_id, reg_date, gender,"
                 " birth_year, area, skill, home) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [MS_C_DEL] = "DELETE FROM st_cluster WHERE ckey = ?1",
    [MS_CA_ALL] = "SELECT day, kind, n FROM st_cluster_att WHERE ckey = ?1 ORDER BY day, kind",
    [MS_CA_PUT] = "INSERT OR REPLACE INTO st_cluster_att(ckey, day, kind, n)"
                  " VALUES(?1, ?2, ?3, ?4)",
    [MS_CA_DEL] = "DELETE FROM st_cluster_att WHERE ckey = ?1 AND day = ?2 AND kind = ?3",
    [MS_T_UPSERT] = "INSERT INTO totals(metric, grain, period, d1, d2, v1, v2, n)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    " ON CONFLICT(metric, grain, period, d1, d2, v1, v2)"
                    " DO UPDATE SET n = n + excluded.n",
    [MS_T_DELZERO] = "DELETE FROM totals WHERE metric = ?1 AND grain = ?2 AND period = ?3"
                     " AND d1 = ?4 AND d2 = ?5 AND v1 = ?6 AND v2 = ?7 AND n = 0",
};

/* ---- records ----------------------------------------------------------- */

/* A field value as stored: SQLite storage class plus bytes. */
typedef struct mg_val {
    int type;                   /* SQLITE_NULL/INTEGER/TEXT/BLOB; 0 = never set */
    int64_t i;                  /* INTEGER */
    size_t len;                 /* TEXT/BLOB bytes in b */
    uint8_t b[RZ_MAX_STR + 24]; /* TEXT/BLOB bytes (not NUL-terminated) */
} mg_val;

/* One person, event or attendance record. */
typedef struct mg_rec {
    int exists;                        /* 1: some entry for the key was merged */
    uint8_t created[MG_STAMP];         /* lowest stamp of any entry */
    int64_t centre_id;                 /* centre of that entry's node */
    uint32_t set;                      /* bit s: slot s has a stamp */
    uint8_t stamp[MG_SLOTS][MG_STAMP]; /* per slot; slot 0 = deleted flag */
    uint32_t bad;                      /* bit f: field f's value is invalid */
    int deleted;                       /* value of slot 0 */
    mg_val v[MG_SLOTS];                /* field values, v[0] unused */
} mg_rec;

/* A cluster's counted profile: valid codes, 0 / "" = unknown. */
typedef struct mg_prof {
    int64_t centre_id;             /* place */
    int64_t reg_date;              /* YYYYMMDD of the earliest record */
    int64_t gender;                /* enum rz_gender */
    int64_t birth_year;            /* year */
    int64_t area;                  /* enum rz_area */
    int64_t skill;                 /* enum rz_skill */
    char home[MERGE_HOME_MAX + 1]; /* normalised district of residence */
} mg_prof;

/* One counted-attendance bucket of a cluster. */
typedef struct mg_catt {
    uint32_t day; /* event date, 0 unknown */
    int64_t kind; /* event kind, 0 unknown */
    int64_t n;    /* counted attendances */
} mg_catt;

typedef struct mg_catts {
    mg_catt *v;    /* sorted by (day, kind) */
    size_t n, cap; /* used, allocated */
} mg_catts;

/* A cluster touched by one person entry: before and after. */
typedef struct mg_cl {
    uint8_t key[MG_CKEY]; /* cluster key */
    int existed;          /* had a st_cluster row */
    mg_prof before;       /* its profile then */
    mg_catts rows_before; /* its buckets then */
    int exists;           /* has live members now */
    mg_prof after;        /* its profile now */
    mg_catts rows;        /* its buckets now */
} mg_cl;

/* ---- counters --------------------------------------------------------- */

/*
 * A pending delta.  `grain` is a grain (0..3, one counter) or a tag naming
 * several: most facts count alike in their month, quarter, year and all
 * time, so one cell keyed by the month stands for all four counters and is
 * expanded at flush.  This cuts the random memory touches per fact by
 * three to four, which is what bounds merge speed.
 */
enum {
    MG_TAG_MQYA = 4, /* month key; counts in month, quarter, year and all time */
    MG_TAG_MQY = 5,  /* month key; counts in month, quarter and year */
};

typedef struct mg_key {
    uint8_t metric, grain, d1, d2; /* metric (never 0), grain or tag, dims */
    uint32_t period;               /* period key (month key for tags), 0 unknown/all */
    int64_t v1, v2;                /* values; text dims: interned ids */
} mg_key;

typedef struct mg_cell {
    mg_key k;  /* counter; k.metric == 0: empty */
    int64_t n; /* accumulated delta */
} mg_cell;

typedef struct mg_map {
    mg_cell *cells;    /* open addressing, linear probing */
    size_t cap, count; /* power of two; used cells */
} mg_map;

/* Counters one emit() touches at most: national, 10 dims, 45 pairs. */
#define MG_EMIT_MAX (1 + MERGE_D_MAX + MERGE_D_MAX * (MERGE_D_MAX - 1) / 2)

/* Which dimension combinations of a fact an emit() covers. */
enum { MG_COMBOS_ALL = 0, MG_COMBOS_AGE = 1, MG_COMBOS_NO_AGE = 2 };

/* Interned text values (districts of residence): id 0 is "". */
typedef struct mg_intern {
    char **str;      /* id -> text */
    size_t n, cap;   /* ids in use (incl. 0); allocated */
    uint32_t *slots; /* hash -> id, 0 = empty */
    size_t nslots;   /* power of two */
} mg_intern;

/*
 * Read caches, valid until the next merge_flush() or merge_discard(): merge
 * is the only writer of the state tables and updates every cached entry it
 * writes, so a hit always equals what the database holds.  They spare the
 * common path (attendance of a known person at a known event) five of its
 * seven statements.  Direct-mapped, fixed size: memory does not grow.
 */
#define MG_PC_CACHE 16384 /* person -> cluster */
#define MG_EV_CACHE 4096  /* event -> counting facts */
#define MG_CL_CACHE 8192  /* cluster -> profile and buckets */

typedef struct mg_pc {
    int valid;            /* entry holds a lookup */
    int found;            /* the person counts in a cluster */
    uint8_t id[16];       /* person */
    uint8_t key[MG_CKEY]; /* its cluster */
} mg_pc;

/* Event facts needed for counting. */
typedef struct mg_evfacts {
    int live;          /* exists and not deleted */
    int64_t day, kind; /* valid date / kind, 0 unknown */
    int64_t centre_id; /* place */
} mg_evfacts;

typedef struct mg_ev {
    int valid;      /* entry holds a lookup */
    uint8_t id[16]; /* event */
    mg_evfacts f;   /* its facts (live 0 when absent) */
} mg_ev;

typedef struct mg_clc {
    int valid;            /* entry holds a lookup */
    int found;            /* the cluster exists */
    uint8_t key[MG_CKEY]; /* cluster */
    mg_prof p;            /* its profile */
    mg_catts rows;        /* all its buckets */
} mg_clc;

struct merge_ctx {
    sqlite3 *db;                /* borrowed */
    sqlite3_stmt *st[MS_COUNT]; /* prepared once */
    mg_rec cur, old, member;    /* scratch records */
    mg_cl cl[2];                /* clusters of one person entry */
    mg_catts moves;             /* a person's counted attendances */
    mg_map deltas;              /* counters of the current batch */
    mg_map final;               /* flush: deltas expanded per grain */
    mg_intern text;             /* interned text values */
    mg_pc *pc;                  /* MG_PC_CACHE entries */
    mg_ev *ev;                  /* MG_EV_CACHE entries */
    mg_clc *clc;                /* MG_CL_CACHE entries */
};

/* ---- small helpers ---------------------------------------------------- */

static int
mg_fail(merge_ctx *m, rz_error *err, const char *what)
{
    return rz_db_fail(m->db, err, what);
}

/* Runs a bound write statement to completion and resets it. */
static int
mg_exec(merge_ctx *m, sqlite3_stmt *st, rz_error *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : mg_fail(m, err, what);
}

static void
stamp_make(uint8_t out[MG_STAMP], const merge_input *in)
{
    uint64_t phys = hlc_physical_ms(in->e->hlc), lo = in->win_lo_ms, hi = in->win_hi_ms;
    uint64_t eff;
    int i;
    if (lo > hi)
        lo = hi;
    eff = phys < lo ? lo : phys > hi ? hi : phys;
    if (eff > 0xffffffffffffull)
        eff = 0xffffffffffffull;
    for (i = 5; i >= 0; i--, eff >>= 8)
        out[i] = (uint8_t)eff;
    be64_put(out + 6, in->e->hlc);
    memcpy(out + 14, in->node_id, RZ_NODE_ID_BYTES);
}

static uint32_t
year_of(int64_t yyyymmdd)
{
    return yyyymmdd > 0 ? (uint32_t)(yyyymmdd / 10000) : 0;
}

/* Period of a date in a grain; 0 for an unknown date and for all time. */
static uint32_t
period_of(int64_t day, int grain)
{
    return day > 0 && grain != MERGE_GRAIN_ALL ? period_key((uint32_t)day, grain) : 0;
}

/* ---- domain rules (validity under the writing entry's window) --------- */

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
merge_dim_is_place(int dim)
{
    return dim == MERGE_D_PROVINCE || dim == MERGE_D_DISTRICT || dim == MERGE_D_PROGRAMME;
}

int
merge_dim_is_text(int dim)
{
    return dim == MERGE_D_PROVINCE || dim == MERGE_D_DISTRICT || dim == MERGE_D_HOME;
}

static int
home_is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

size_t
merge_home_normalize(char out[MERGE_HOME_MAX + 1], const uint8_t *in, size_t len)
{
    size_t i, n = 0;
    int word_start = 1, pending_space = 0;
    out[0] = '\0';
    for (i = 0; i < len; i++) {
        uint8_t c = in[i];
        if (home_is_blank(c)) {
            pending_space = n > 0;
            word_start = 1;
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            return out[0] = '\0', 0; /* control bytes: not a district name */
        if (pending_space + n + 1 > MERGE_HOME_MAX)
            return out[0] = '\0', 0;
        if (pending_space)
            out[n++] = ' ', pending_space = 0;
        if (c >= 'a' && c <= 'z' && word_start)
            c = (uint8_t)(c - 'a' + 'A');
        else if (c >= 'A' && c <= 'Z' && !word_start)
            c = (uint8_t)(c - 'A' + 'a');
        out[n++] = (char)c;
        word_start = c == '-' || c == '(' || c == '/';
    }
    out[n] = '\0';
    return n;
}

static int
valid_code(const rz_value *v, const char *(*name)(uint64_t))
{
    return v->type == RZ_V_NIL || (v->type == RZ_V_UINT && strcmp(name(v->u), "unknown") != 0);
}

static int
valid_date(const rz_value *v, uint64_t win_hi_ms)
{
    uint32_t latest = date_of_ms(win_hi_ms + MG_DAY_MS);
    if (v->type == RZ_V_NIL)
        return 1;
    return v->type == RZ_V_UINT && v->u <= 29991231u && date_is_valid((uint32_t)v->u) &&
           v->u >= RZ_MIN_DATE && v->u <= latest;
}

static int
valid_text(const rz_value *v)
{
    return v->type == RZ_V_NIL || v->type == RZ_V_STR;
}

static int
valid_person_field(uint8_t f, const rz_value *v, uint64_t win_hi_ms)
{
    char home[MERGE_HOME_MAX + 1];
    switch (f) {
    case RZ_PF_NAME:
    case RZ_PF_PHONE: return v->type == RZ_V_NIL || (v->type == RZ_V_BIN && v->len == 16);
    case RZ_PF_GENDER: return valid_code(v, gender_name);
    case RZ_PF_BIRTH_YEAR:
        return v->type == RZ_V_NIL || (v->type == RZ_V_UINT && v->u >= RZ_MIN_BIRTH_YEAR &&
                                       v->u <= date_of_ms(win_hi_ms) / 10000);
    case RZ_PF_DISTRICT:
        return v->type == RZ_V_NIL ||
               (v->type == RZ_V_STR && merge_home_normalize(home, v->p, v->len) > 0);
    case RZ_PF_AREA: return valid_code(v, area_name);
    case RZ_PF_SKILL: return valid_code(v, skill_name);
    case RZ_PF_SKILLS:
    case RZ_PF_PLATFORMS: return valid_text(v);
    case RZ_PF_REG_DATE: return valid_date(v, win_hi_ms);
    default: return 0;
    }
}

static int
valid_event_field(uint8_t f, const rz_value *v, uint64_t win_hi_ms)
{
    switch (f) {
    case RZ_EF_KIND: return valid_code(v, event_kind_name);
    case RZ_EF_TITLE:
    case RZ_EF_PARTNER: return valid_text(v);
    case RZ_EF_DATE: return valid_date(v, win_hi_ms);
    case RZ_EF_DURATION: return v->type == RZ_V_NIL || v->type == RZ_V_UINT;
    case RZ_EF_MODE: return valid_code(v, mode_name);
    default: return 0;
    }
}

static int
valid_field(uint8_t table, uint8_t f, const rz_value *v, uint64_t win_hi_ms)
{
    switch (table) {
    case RZ_T_PERSON: return valid_person_field(f, v, win_hi_ms);
    case RZ_T_EVENT: return valid_event_field(f, v, win_hi_ms);
    case RZ_T_ATTENDANCE:
        return f == RZ_AF_PRESENT && (v->type == RZ_V_BOOL || v->type == RZ_V_NIL);
    default: return 0;
    }
}

/* A stored value counts only when valid and an INTEGER. */
static int64_t
rec_code(const mg_rec *r, int f)
{
    return r->v[f].type == SQLITE_INTEGER && !(r->bad >> f & 1) ? r->v[f].i : 0;
}

static void
rec_home(const mg_rec *r, char out[MERGE_HOME_MAX + 1])
{
    out[0] = '\0';
    if (r->v[RZ_PF_DISTRICT].type == SQLITE_TEXT && !(r->bad >> RZ_PF_DISTRICT & 1))
        merge_home_normalize(out, r->v[RZ_PF_DISTRICT].b, r->v[RZ_PF_DISTRICT].len);
}

/* ---- values <-> SQLite ------------------------------------------------- */

static void
val_from_entry(mg_val *d, const rz_value *v)
{
    memset(d, 0, offsetof(mg_val, b));
    switch (v->type) {
    case RZ_V_NIL: d->type = SQLITE_NULL; break;
    case RZ_V_UINT:
    case RZ_V_BOOL:
        if (v->u <= (uint64_t)INT64_MAX) {
            d->type = SQLITE_INTEGER, d->i = (int64_t)v->u;
        } else { /* kept exactly, as decimal text; never valid anywhere */
            d->type = SQLITE_TEXT;
            d->len = (size_t)snprintf((char *)d->b, sizeof d->b, "%llu", (unsigned long long)v->u);
        }
        break;
    case RZ_V_INT: d->type = SQLITE_INTEGER, d->i = v->i; break;
    case RZ_V_STR:
    case RZ_V_BIN:
        d->type = v->type == RZ_V_STR ? SQLITE_TEXT : SQLITE_BLOB;
        d->len = v->len < sizeof d->b ? v->len : sizeof d->b;
        memcpy(d->b, v->p, d->len);
        break;
    }
}

static void
val_bind(sqlite3_stmt *st, int col, const mg_val *v)
{
    switch (v->type) {
    case SQLITE_INTEGER: sqlite3_bind_int64(st, col, v->i); break;
    case SQLITE_TEXT:
        sqlite3_bind_text(st, col, (const char *)v->b, (int)v->len, SQLITE_STATIC);
        break;
    case SQLITE_BLOB: sqlite3_bind_blob(st, col, v->b, (int)v->len, SQLITE_STATIC); break;
    default: sqlite3_bind_null(st, col); break;
    }
}

static void
val_column(mg_val *v, sqlite3_stmt *st, int col)
{
    const void *p;
    memset(v, 0, offsetof(mg_val, b));
    v->type = sqlite3_column_type(st, col);
    switch (v->type) {
    case SQLITE_INTEGER: v->i = sqlite3_column_int64(st, col); break;
    case SQLITE_TEXT:
    case SQLITE_BLOB:
        p = v->type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, col)
                                   : sqlite3_column_blob(st, col);
        v->len = (size_t)sqlite3_column_bytes(st, col);
        if (v->len > sizeof v->b)
            v->len = sizeof v->b;
        if (v->len)
            memcpy(v->b, p, v->len);
        break;
    case SQLITE_FLOAT: v->type = SQLITE_NULL; break; /* never written by merge */
    default: break;
    }
}

/* ---- stamp blob codec ---------------------------------------------------- */

static int
stamp_cmp(const void *a, const void *b)
{
    return memcmp(a, b, MG_STAMP);
}

/* Encodes r's slot stamps into out (capacity 1 + MG_SLOTS * 23); returns
 * the length.  Canonical: distinct stamps ascending, each referenced. */
static size_t
stamps_encode(const mg_rec *r, int nslots, uint8_t *out)
{
    uint8_t uniq[MG_SLOTS][MG_STAMP];
    size_t k = 0, i, j, len;
    int s;
    for (s = 0; s < nslots; s++)
        if (r->set >> s & 1)
            memcpy(uniq[k++], r->stamp[s], MG_STAMP);
    qsort(uniq, k, MG_STAMP, stamp_cmp);
    for (i = 0, j = 0; i < k; i++)
        if (j == 0 || memcmp(uniq[j - 1], uniq[i], MG_STAMP) != 0)
            memmove(uniq[j++], uniq[i], MG_STAMP);
    k = j;
    out[0] = (uint8_t)k;
    memcpy(out + 1, uniq, k * MG_STAMP);
    len = 1 + k * MG_STAMP;
    for (s = 0; s < nslots; s++) {
        uint8_t idx = 0;
        if (r->set >> s & 1)
            for (i = 0; i < k; i++)
                if (memcmp(uniq[i], r->stamp[s], MG_STAMP) == 0)
                    idx = (uint8_t)(i + 1);
        out[len++] = idx;
    }
    return len;
}

static int
stamps_decode(mg_rec *r, int nslots, const uint8_t *p, size_t len)
{
    size_t k;
    int s;
    r->set = 0;
    if (len < 1)
        return RZ_E_INTERNAL;
    k = p[0];
    if (k > MG_SLOTS || len != 1 + k * MG_STAMP + (size_t)nslots)
        return RZ_E_INTERNAL;
    for (s = 0; s < nslots; s++) {
        uint8_t idx = p[1 + k * MG_STAMP + (size_t)s];
        if (idx > k)
            return RZ_E_INTERNAL;
        if (idx) {
            r->set |= 1u << s;
            memcpy(r->stamp[s], p + 1 + (idx - 1) * MG_STAMP, MG_STAMP);
        }
    }
    return 0;
}

/* ---- applying one entry to a record ----------------------------------- */

static int
rec_newer(const mg_rec *r, int slot, const uint8_t stamp[MG_STAMP])
{
    return !(r->set >> slot & 1) || memcmp(stamp, r->stamp[slot], MG_STAMP) > 0;
}

static void
rec_take(mg_rec *r, int slot, const uint8_t stamp[MG_STAMP], int valid)
{
    r->set |= 1u << slot;
    memcpy(r->stamp[slot], stamp, MG_STAMP);
    if (valid)
        r->bad &= ~(1u << slot);
    else
        r->bad |= 1u << slot;
}

static void
rec_fresh(mg_rec *r)
{
    int s;
    r->exists = 0;
    r->set = 0;
    r->bad = 0;
    r->deleted = 0;
    r->centre_id = 0;
    memset(r->created, 0, sizeof r->created);
    for (s = 0; s < MG_SLOTS; s++)
        r->v[s].type = 0, r->v[s].len = 0;
}

static uint32_t
rec_apply_cnic(mg_rec *r, const merge_input *in, const uint8_t stamp[MG_STAMP])
{
    mg_val *v = &r->v[RZ_PF_CNIC];
    int state;
    if (in->cnic_state == MERGE_CNIC_ABSENT || !rec_newer(r, RZ_PF_CNIC, stamp))
        return 0;
    /* An erased value keeps its token: it links exactly as before. */
    state = in->cnic_state == MERGE_CNIC_VALID || in->cnic_state == MERGE_CNIC_ERASED
                ? MG_CNIC_VALID
            : in->cnic_state == MERGE_CNIC_CLEARED ? MG_CNIC_CLEARED
                                                   : MG_CNIC_INVALID;
    memset(v, 0, offsetof(mg_val, b));
    v->type = SQLITE_INTEGER;
    v->i = state;
    if (state == MG_CNIC_VALID) {
        memcpy(v->b, in->cnic_token, 16);
        v->len = 16;
    }
    rec_take(r, RZ_PF_CNIC, stamp, state != MG_CNIC_INVALID);
    return 1u << RZ_PF_CNIC;
}

/* Last-writer-wins per slot; the creation stamp is the minimum.  Returns
 * the mask of changed slots (MG_CHANGED_CREATED for the creation stamp). */
static uint32_t
rec_apply(mg_rec *r, const merge_input *in, const uint8_t stamp[MG_STAMP])
{
    const rz_entry *e = in->e;
    uint32_t changed = 0;
    size_t i;
    if (!r->exists || memcmp(stamp, r->created, MG_STAMP) < 0) {
        memcpy(r->created, stamp, MG_STAMP);
        r->centre_id = in->centre_id;
        r->exists = 1;
        changed |= MG_CHANGED_CREATED;
    }
    if (e->op == RZ_OP_DELETE || e->op == RZ_OP_UNDELETE) {
        if (rec_newer(r, 0, stamp)) {
            rec_take(r, 0, stamp, 1);
            r->deleted = e->op == RZ_OP_DELETE;
            changed |= 1u;
        }
        return changed;
    }
    for (i = 0; i < e->nfields; i++) {
        const rz_field *f = &e->fields[i];
        if (f->id >= MG_SLOTS || (e->table == RZ_T_PERSON && f->id == RZ_PF_CNIC))
            continue; /* the CNIC comes from the reveal facts, below */
        if (!rec_newer(r, f->id, stamp))
            continue;
        val_from_entry(&r->v[f->id], &f->v);
        rec_take(r, f->id, stamp, valid_field(e->table, f->id, &f->v, in->win_hi_ms));
        changed |= 1u << f->id;
    }
    if (e->table == RZ_T_PERSON)
        changed |= rec_apply_cnic(r, in, stamp);
    return changed;
}

/* ---- record load/store ------------------------------------------------- */

/* Reads created, centre, st, bad, deleted from columns 0..4. */
static int
rec_head_column(mg_rec *r, sqlite3_stmt *st, int nslots)
{
    if (sqlite3_column_bytes(st, 0) != MG_STAMP)
        return RZ_E_INTERNAL;
    memcpy(r->created, sqlite3_column_blob(st, 0), MG_STAMP);
    r->centre_id = sqlite3_column_int64(st, 1);
    r->bad = (uint32_t)sqlite3_column_int64(st, 3);
    r->deleted = sqlite3_column_int(st, 4);
    r->exists = 1;
    return stamps_decode(r, nslots, sqlite3_column_blob(st, 2),
                         (size_t)sqlite3_column_bytes(st, 2));
}

static void
rec_head_bind(sqlite3_stmt *st, const mg_rec *r, int nslots, uint8_t *buf)
{
    size_t n = stamps_encode(r, nslots, buf);
    sqlite3_bind_blob(st, 1, r->created, MG_STAMP, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->centre_id);
    sqlite3_bind_blob(st, 3, buf, (int)n, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, r->bad);
    sqlite3_bind_int(st, 5, r->deleted);
}

/* Person row columns from `col`: cnic, token, then fields 2..11. */
static int
person_columns(mg_rec *r, sqlite3_stmt *st)
{
    int f, rc;
    mg_val *c = &r->v[RZ_PF_CNIC];
    if ((rc = rec_head_column(r, st, RZ_PF_MAX + 1)))
        return rc;
    memset(c, 0, offsetof(mg_val, b));
    if (sqlite3_column_type(st, 5) == SQLITE_INTEGER) {
        c->type = SQLITE_INTEGER;
        c->i = sqlite3_column_int64(st, 5);
        if (sqlite3_column_bytes(st, 6) == 16) {
            memcpy(c->b, sqlite3_column_blob(st, 6), 16);
            c->len = 16;
        }
    }
    for (f = RZ_PF_NAME; f <= RZ_PF_MAX; f++)
        val_column(&r->v[f], st, 7 + f - RZ_PF_NAME);
    return 0;
}

static int
person_live(const mg_rec *r)
{
    return r->exists && !r->deleted;
}

static int
person_linked(const mg_rec *r)
{
    return person_live(r) && r->v[RZ_PF_CNIC].type == SQLITE_INTEGER &&
           r->v[RZ_PF_CNIC].i == MG_CNIC_VALID && r->v[RZ_PF_CNIC].len == 16;
}

/* The record's cluster key; 0 when it belongs to none (not live). */
static int
person_ckey(const mg_rec *r, const uint8_t id[16], uint8_t key[MG_CKEY])
{
    if (!person_live(r))
        return 0;
    if (person_linked(r)) {
        key[0] = MG_CKEY_CNIC;
        memcpy(key + 1, r->v[RZ_PF_CNIC].b, 16);
    } else {
        key[0] = MG_CKEY_SOLO;
        memcpy(key + 1, id, 16);
    }
    return 1;
}

static int
person_load(merge_ctx *m, const uint8_t id[16], mg_rec *r, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_P_GET];
    int rc, step;
    rec_fresh(r);
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    rc = step == SQLITE_ROW ? person_columns(r, st) : step == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    if (rc == -1)
        return mg_fail(m, err, "person read");
    return rc ? rz_fail(err, RZ_E_INTERNAL, "corrupt merged person record") : 0;
}

static int
person_store(merge_ctx *m, const uint8_t id[16], const mg_rec *r, int update, rz_error *err)
{
    sqlite3_stmt *st = m->st[update ? MS_P_UPD : MS_P_INS];
    uint8_t buf[1 + MG_SLOTS * (MG_STAMP + 1)];
    const mg_val *c = &r->v[RZ_PF_CNIC];
    int f;
    rec_head_bind(st, r, RZ_PF_MAX + 1, buf);
    if (c->type == SQLITE_INTEGER)
        sqlite3_bind_int64(st, 6, c->i);
    else
        sqlite3_bind_null(st, 6);
    if (c->type == SQLITE_INTEGER && c->len == 16)
        sqlite3_bind_blob(st, 7, c->b, 16, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 7);
    for (f = RZ_PF_NAME; f <= RZ_PF_MAX; f++)
        val_bind(st, 8 + f - RZ_PF_NAME, &r->v[f]);
    if (person_linked(r))
        sqlite3_bind_blob(st, 18, c->b, 16, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 18);
    sqlite3_bind_blob(st, 19, id, 16, SQLITE_STATIC);
    return mg_exec(m, st, err, "person write");
}

static int
event_load(merge_ctx *m, const uint8_t id[16], mg_rec *r, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_E_GET];
    int rc = 0, step, f;
    rec_fresh(r);
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        rc = rec_head_column(r, st, RZ_EF_MAX + 1);
        for (f = 1; f <= RZ_EF_MAX; f++)
            val_column(&r->v[f], st, 4 + f);
    } else if (step != SQLITE_DONE) {
        rc = -1;
    }
    sqlite3_reset(st);
    if (rc == -1)
        return mg_fail(m, err, "event read");
    return rc ? rz_fail(err, RZ_E_INTERNAL, "corrupt merged event record") : 0;
}

static int
event_store(merge_ctx *m, const uint8_t id[16], const mg_rec *r, int update, rz_error *err)
{
    sqlite3_stmt *st = m->st[update ? MS_E_UPD : MS_E_INS];
    uint8_t buf[1 + MG_SLOTS * (MG_STAMP + 1)];
    int f;
    rec_head_bind(st, r, RZ_EF_MAX + 1, buf);
    for (f = 1; f <= RZ_EF_MAX; f++)
        val_bind(st, 5 + f, &r->v[f]);
    sqlite3_bind_blob(st, 12, id, 16, SQLITE_STATIC);
    return mg_exec(m, st, err, "event write");
}

static int
attendance_load(merge_ctx *m, const uint8_t key[32], mg_rec *r, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_A_GET];
    int rc = 0, step;
    rec_fresh(r);
    sqlite3_bind_blob(st, 1, key, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, key + 16, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        r->exists = 1;
        r->bad = (uint32_t)sqlite3_column_int64(st, 1);
        r->deleted = sqlite3_column_int(st, 2);
        val_column(&r->v[RZ_AF_PRESENT], st, 3);
        rc = stamps_decode(r, RZ_AF_MAX + 1, sqlite3_column_blob(st, 0),
                           (size_t)sqlite3_column_bytes(st, 0));
    } else if (step != SQLITE_DONE) {
        rc = -1;
    }
    sqlite3_reset(st);
    if (rc == -1)
        return mg_fail(m, err, "attendance read");
    return rc ? rz_fail(err, RZ_E_INTERNAL, "corrupt merged attendance record") : 0;
}

static int
attendance_store(merge_ctx *m, const uint8_t key[32], const mg_rec *r, int update, rz_error *err)
{
    sqlite3_stmt *st = m->st[update ? MS_A_UPD : MS_A_INS];
    uint8_t buf[1 + MG_SLOTS * (MG_STAMP + 1)];
    size_t n = stamps_encode(r, RZ_AF_MAX + 1, buf);
    sqlite3_bind_blob(st, 1, buf, (int)n, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->bad);
    sqlite3_bind_int(st, 3, r->deleted);
    val_bind(st, 4, &r->v[RZ_AF_PRESENT]);
    sqlite3_bind_blob(st, 5, key, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, key + 16, 16, SQLITE_STATIC);
    return mg_exec(m, st, err, "attendance write");
}

/* An attendance counts by itself when present (a valid true) and not
 * deleted; its person and event must also be live. */
static int
attendance_on(const mg_rec *r)
{
    return r->exists && !r->deleted && rec_code(r, RZ_AF_PRESENT) == 1;
}

/* ---- counters: hash map, interned text, centres ------------------------- */

static uint64_t
key_hash(const mg_key *k)
{
    uint64_t h = (uint64_t)k->metric | (uint64_t)k->grain << 8 | (uint64_t)k->d1 << 16 |
                 (uint64_t)k->d2 << 24 | (uint64_t)k->period << 32;
    h ^= (uint64_t)k->v1 * 0x9e3779b97f4a7c15ull;
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
        if (old[i].k.metric)
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

static int
key_equal(const mg_key *a, const mg_key *b)
{
    return a->metric == b->metric && a->grain == b->grain && a->d1 == b->d1 && a->d2 == b->d2 &&
           a->period == b->period && a->v1 == b->v1 && a->v2 == b->v2;
}

/* Adds n to the cell of k, probing from the slot of hash h; the caller
 * made room (map_reserve). */
static void
map_add_hashed(mg_map *mp, const mg_key *k, uint64_t h, int64_t n)
{
    size_t i;
    for (i = h & (mp->cap - 1);; i = (i + 1) & (mp->cap - 1)) {
        mg_cell *c = &mp->cells[i];
        if (!c->k.metric) {
            c->k = *k, c->n = n;
            mp->count++;
            return;
        }
        if (key_equal(&c->k, k)) {
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

/* Adds delta to the national, every single-dimension and every pair
 * counter of one fact (or only those with / without the age dimension);
 * v[d] holds the fact's value of dimension d; grain is a grain or a tag. */
static void
emit(merge_ctx *m, int metric, int grain, uint32_t period, const int64_t *v, int64_t delta,
     int combos)
{
    const uint8_t *dims = metric_dims(metric);
    mg_key base, k[MG_EMIT_MAX];
    uint64_t h[MG_EMIT_MAX];
    size_t i, j, n = 0;
    if (delta == 0)
        return;
    memset(&base, 0, sizeof base);
    base.metric = (uint8_t)metric;
    base.grain = (uint8_t)grain;
    base.period = period;
    if (combos != MG_COMBOS_AGE)
        k[n++] = base;
    for (i = 0; dims[i]; i++) {
        int age1 = dims[i] == MERGE_D_AGE;
        mg_key one = base;
        one.d1 = dims[i], one.v1 = v[dims[i]];
        if (combos == MG_COMBOS_ALL || age1 == (combos == MG_COMBOS_AGE))
            k[n++] = one;
        for (j = i + 1; dims[j]; j++) {
            int age = age1 || dims[j] == MERGE_D_AGE;
            if (combos != MG_COMBOS_ALL && age != (combos == MG_COMBOS_AGE))
                continue;
            k[n] = one;
            k[n].d2 = dims[j], k[n].v2 = v[dims[j]];
            n++;
        }
    }
    /* The counters are scattered over a map larger than the CPU caches:
     * fetch all their slots first so the misses overlap, then add. */
    map_reserve(&m->deltas, n);
    for (i = 0; i < n; i++) {
        h[i] = key_hash(&k[i]);
        __builtin_prefetch(&m->deltas.cells[h[i] & (m->deltas.cap - 1)], 1);
    }
    for (i = 0; i < n; i++)
        map_add_hashed(&m->deltas, &k[i], h[i], delta);
}

/* Dimension values of a cluster (age and kind are set per fact). */
static void
prof_dims(merge_ctx *m, const mg_prof *p, int64_t v[MERGE_D_MAX + 1])
{
    memset(v, 0, (MERGE_D_MAX + 1) * sizeof *v);
    v[MERGE_D_CENTRE] = p->centre_id;
    v[MERGE_D_GENDER] = p->gender;
    v[MERGE_D_AREA] = p->area;
    v[MERGE_D_SKILL] = p->skill;
    v[MERGE_D_HOME] = intern(&m->text, p->home);
}

static int64_t
age_in(uint32_t year, const mg_prof *p)
{
    return year ? age_band((int)year, p->birth_year) : RZ_AGE_UNKNOWN;
}

/* One person fact in one grain: age is the period's year minus the birth
 * year, and for all time the registration year's. */
static void
emit_person_fact(merge_ctx *m, int metric, int grain, int64_t day, const mg_prof *p, int64_t *v,
                 int64_t delta)
{
    uint32_t year = grain == MERGE_GRAIN_ALL ? year_of(p->reg_date) : year_of(day);
    v[MERGE_D_AGE] = age_in(year, p);
    emit(m, metric, grain, period_of(day, grain), v, delta, MG_COMBOS_ALL);
}

/* A registration: its age is the registration year's in every grain. */
static void
emit_registration(merge_ctx *m, const mg_prof *p, int64_t *v, int64_t delta)
{
    v[MERGE_D_AGE] = age_in(year_of(p->reg_date), p);
    emit(m, MERGE_M_REGISTERED, MG_TAG_MQYA, period_of(p->reg_date, RZ_GRAIN_MONTH), v, delta,
         MG_COMBOS_ALL);
}

/* Counted attendances on one day (v[KIND] set): the age is the event
 * year's in month, quarter and year, the registration year's all time. */
static void
emit_attendances(merge_ctx *m, int64_t day, const mg_prof *p, int64_t *v, int64_t delta)
{
    uint32_t month = period_of(day, RZ_GRAIN_MONTH);
    emit(m, MERGE_M_ATTENDANCES, MG_TAG_MQYA, month, v, delta, MG_COMBOS_NO_AGE);
    v[MERGE_D_AGE] = age_in(year_of(day), p);
    emit(m, MERGE_M_ATTENDANCES, MG_TAG_MQY, month, v, delta, MG_COMBOS_AGE);
    v[MERGE_D_AGE] = age_in(year_of(p->reg_date), p);
    emit(m, MERGE_M_ATTENDANCES, MERGE_GRAIN_ALL, 0, v, delta, MG_COMBOS_AGE);
}

/* Adds sign times the whole contribution of a cluster: its registration,
 * its counted attendances and its trainee presence per period. */
static void
emit_cluster(merge_ctx *m, const mg_prof *p, const mg_catts *rows, int64_t sign)
{
    int64_t v[MERGE_D_MAX + 1];
    size_t i;
    int g;
    prof_dims(m, p, v);
    emit_registration(m, p, v, sign);
    for (i = 0; i < rows->n; i++) {
        v[MERGE_D_KIND] = rows->v[i].kind;
        emit_attendances(m, rows->v[i].day, p, v, sign * rows->v[i].n);
    }
    v[MERGE_D_KIND] = 0;
    /* Rows are sorted by day, so each grain's periods come in runs. */
    for (g = RZ_GRAIN_MONTH; g <= RZ_GRAIN_YEAR; g++)
        for (i = 0; i < rows->n; i++)
            if (i == 0 || period_of(rows->v[i].day, g) != period_of(rows->v[i - 1].day, g))
                emit_person_fact(m, MERGE_M_TRAINEES, g, rows->v[i].day, p, v, sign);
    if (rows->n > 0)
        emit_person_fact(m, MERGE_M_TRAINEES, MERGE_GRAIN_ALL, 0, p, v, sign);
}

static void
event_facts_of(const mg_rec *r, mg_evfacts *f)
{
    f->live = r->exists && !r->deleted;
    f->day = rec_code(r, RZ_EF_DATE);
    f->kind = rec_code(r, RZ_EF_KIND);
    f->centre_id = r->centre_id;
}

static void
emit_event(merge_ctx *m, const mg_evfacts *f, int64_t sign)
{
    int64_t v[MERGE_D_MAX + 1];
    if (!f->live)
        return;
    memset(v, 0, sizeof v);
    v[MERGE_D_CENTRE] = f->centre_id;
    v[MERGE_D_KIND] = f->kind;
    emit(m, MERGE_M_EVENTS, MG_TAG_MQYA, period_of(f->day, RZ_GRAIN_MONTH), v, sign, MG_COMBOS_ALL);
}

/* ---- clusters ------------------------------------------------------------ */

static void
catts_push(mg_catts *c, uint32_t day, int64_t kind, int64_t n)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n].day = day;
    c->v[c->n].kind = kind;
    c->v[c->n].n = n;
    c->n++;
}

static int
catt_cmp(const mg_catt *a, uint32_t day, int64_t kind)
{
    if (a->day != day)
        return a->day < day ? -1 : 1;
    return a->kind < kind ? -1 : a->kind > kind;
}

/* Adds delta to bucket (day, kind), keeping order and dropping zeros. */
static void
catts_add(mg_catts *c, uint32_t day, int64_t kind, int64_t delta)
{
    size_t i = 0;
    while (i < c->n && catt_cmp(&c->v[i], day, kind) < 0)
        i++;
    if (i < c->n && catt_cmp(&c->v[i], day, kind) == 0) {
        c->v[i].n += delta;
        if (c->v[i].n == 0) {
            memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof *c->v);
            c->n--;
        }
        return;
    }
    catts_push(c, 0, 0, 0);
    memmove(&c->v[i + 1], &c->v[i], (c->n - 1 - i) * sizeof *c->v);
    c->v[i].day = day, c->v[i].kind = kind, c->v[i].n = delta;
}

static void
catts_copy(mg_catts *dst, const mg_catts *src)
{
    dst->n = 0;
    for (size_t i = 0; i < src->n; i++)
        catts_push(dst, src->v[i].day, src->v[i].kind, src->v[i].n);
}

static int
catts_equal(const mg_catts *a, const mg_catts *b)
{
    size_t i;
    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++)
        if (a->v[i].day != b->v[i].day || a->v[i].kind != b->v[i].kind || a->v[i].n != b->v[i].n)
            return 0;
    return 1;
}

static int
prof_equal(const mg_prof *a, const mg_prof *b)
{
    return a->centre_id == b->centre_id && a->reg_date == b->reg_date && a->gender == b->gender &&
           a->birth_year == b->birth_year && a->area == b->area && a->skill == b->skill &&
           strcmp(a->home, b->home) == 0;
}

static int
cluster_rows_load(merge_ctx *m, const uint8_t key[MG_CKEY], mg_catts *out, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_CA_ALL];
    int step;
    out->n = 0;
    sqlite3_bind_blob(st, 1, key, MG_CKEY, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        catts_push(out, (uint32_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                   sqlite3_column_int64(st, 2));
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mg_fail(m, err, "cluster attendance read");
}

static int
cluster_row_put(merge_ctx *m, const uint8_t key[MG_CKEY], uint32_t day, int64_t kind, int64_t n,
                rz_error *err)
{
    sqlite3_stmt *st = m->st[n ? MS_CA_PUT : MS_CA_DEL];
    sqlite3_bind_blob(st, 1, key, MG_CKEY, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, day);
    sqlite3_bind_int64(st, 3, kind);
    if (n)
        sqlite3_bind_int64(st, 4, n);
    return mg_exec(m, st, err, "cluster attendance write");
}

/* Writes the buckets that differ between before and after. */
static int
cluster_rows_store(merge_ctx *m, const uint8_t key[MG_CKEY], const mg_catts *before,
                   const mg_catts *after, rz_error *err)
{
    size_t i = 0, j = 0;
    int rc = 0;
    while (rc == 0 && (i < before->n || j < after->n)) {
        int c = i == before->n  ? 1
                : j == after->n ? -1
                                : catt_cmp(&before->v[i], after->v[j].day, after->v[j].kind);
        if (c < 0) {
            rc = cluster_row_put(m, key, before->v[i].day, before->v[i].kind, 0, err);
            i++;
        } else if (c > 0) {
            rc = cluster_row_put(m, key, after->v[j].day, after->v[j].kind, after->v[j].n, err);
            j++;
        } else {
            if (before->v[i].n != after->v[j].n)
                rc = cluster_row_put(m, key, after->v[j].day, after->v[j].kind, after->v[j].n, err);
            i++, j++;
        }
    }
    return rc;
}

static int
cluster_get(merge_ctx *m, const uint8_t key[MG_CKEY], mg_prof *p, int *found, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_C_GET];
    int step;
    memset(p, 0, sizeof *p);
    *found = 0;
    sqlite3_bind_blob(st, 1, key, MG_CKEY, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const unsigned char *home = sqlite3_column_text(st, 6);
        *found = 1;
        p->centre_id = sqlite3_column_int64(st, 0);
        p->reg_date = sqlite3_column_int64(st, 1);
        p->gender = sqlite3_column_int64(st, 2);
        p->birth_year = sqlite3_column_int64(st, 3);
        p->area = sqlite3_column_int64(st, 4);
        p->skill = sqlite3_column_int64(st, 5);
        if (home)
            snprintf(p->home, sizeof p->home, "%s", (const char *)home);
    }
    sqlite3_reset(st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : mg_fail(m, err, "cluster read");
}

static int
cluster_put(merge_ctx *m, const uint8_t key[MG_CKEY], const mg_prof *p, int exists, rz_error *err)
{
    sqlite3_stmt *st = m->st[exists ? MS_C_PUT : MS_C_DEL];
    sqlite3_bind_blob(st, 1, key, MG_CKEY, SQLITE_STATIC);
    if (exists) {
        sqlite3_bind_int64(st, 2, p->centre_id);
        sqlite3_bind_int64(st, 3, p->reg_date);
        sqlite3_bind_int64(st, 4, p->gender);
        sqlite3_bind_int64(st, 5, p->birth_year);
        sqlite3_bind_int64(st, 6, p->area);
        sqlite3_bind_int64(st, 7, p->skill);
        sqlite3_bind_text(st, 8, p->home, -1, SQLITE_STATIC);
    }
    return mg_exec(m, st, err, "cluster write");
}

/* Reduces the live records of a cluster to its profile: each attribute is
 * the stamp-winner across the records; the place and registration date
 * are those of the record with the lowest creation stamp. */
typedef struct mg_fold {
    int members;                     /* records folded */
    uint8_t first_created[MG_STAMP]; /* lowest creation stamp so far */
    uint8_t first_id[16];            /* its record (ties: lowest id) */
    uint8_t won[MG_SLOTS][MG_STAMP]; /* winning stamp per attribute slot */
    uint8_t won_id[MG_SLOTS][16];    /* its record (ties: highest id) */
    uint32_t have;                   /* bit s: some member set slot s */
    mg_prof p;                       /* the profile so far */
} mg_fold;

static const uint8_t mg_attr_slots[] = {RZ_PF_GENDER, RZ_PF_BIRTH_YEAR, RZ_PF_DISTRICT,
                                        RZ_PF_AREA,   RZ_PF_SKILL,      0};

static void
fold_attr(mg_fold *f, const mg_rec *r, int slot)
{
    switch (slot) {
    case RZ_PF_GENDER: f->p.gender = rec_code(r, slot); break;
    case RZ_PF_BIRTH_YEAR: f->p.birth_year = rec_code(r, slot); break;
    case RZ_PF_DISTRICT: rec_home(r, f->p.home); break;
    case RZ_PF_AREA: f->p.area = rec_code(r, slot); break;
    case RZ_PF_SKILL: f->p.skill = rec_code(r, slot); break;
    default: break;
    }
}

static void
fold_member(mg_fold *f, const mg_rec *r, const uint8_t id[16])
{
    size_t i;
    int c;
    c = f->members ? memcmp(r->created, f->first_created, MG_STAMP) : -1;
    if (c < 0 || (c == 0 && memcmp(id, f->first_id, 16) < 0)) {
        memcpy(f->first_created, r->created, MG_STAMP);
        memcpy(f->first_id, id, 16);
        f->p.centre_id = r->centre_id;
        f->p.reg_date = rec_code(r, RZ_PF_REG_DATE);
    }
    f->members++;
    for (i = 0; mg_attr_slots[i]; i++) {
        int s = mg_attr_slots[i];
        if (!(r->set >> s & 1))
            continue;
        c = f->have >> s & 1 ? memcmp(r->stamp[s], f->won[s], MG_STAMP) : 1;
        if (c > 0 || (c == 0 && memcmp(id, f->won_id[s], 16) > 0)) {
            memcpy(f->won[s], r->stamp[s], MG_STAMP);
            memcpy(f->won_id[s], id, 16);
            f->have |= 1u << s;
            fold_attr(f, r, s);
        }
    }
}

/* Folds the live members of cluster key; `self` (record id) is the record
 * just written, in memory as cur. */
static int
cluster_profile(merge_ctx *m, const uint8_t key[MG_CKEY], const uint8_t self[16], const mg_rec *cur,
                mg_prof *p, int *exists, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_P_MEMBERS];
    uint8_t ck[MG_CKEY];
    mg_fold f;
    int step = SQLITE_DONE, rc = 0;
    memset(&f, 0, sizeof f);
    if (key[0] == MG_CKEY_SOLO) {
        if (person_ckey(cur, self, ck) && memcmp(ck, key, MG_CKEY) == 0)
            fold_member(&f, cur, self);
    } else {
        sqlite3_bind_blob(st, 1, key + 1, 16, SQLITE_STATIC);
        while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
            uint8_t id[16];
            rec_fresh(&m->member);
            if (sqlite3_column_bytes(st, 17) != 16 || person_columns(&m->member, st) != 0) {
                rc = rz_fail(err, RZ_E_INTERNAL, "corrupt merged person record");
                break;
            }
            memcpy(id, sqlite3_column_blob(st, 17), 16);
            fold_member(&f, &m->member, id);
        }
        if (rc == 0 && step != SQLITE_DONE)
            rc = mg_fail(m, err, "cluster members");
        sqlite3_reset(st);
    }
    *p = f.p;
    *exists = f.members > 0;
    return rc;
}

/* The counted attendances of one person record: (event day, kind) of each
 * present, undeleted attendance at a live event, into m->moves. */
static int
person_attendances(merge_ctx *m, const uint8_t id[16], rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_A_OF_PERSON];
    int step;
    m->moves.n = 0;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t bad = (uint32_t)sqlite3_column_int64(st, 0);
        int64_t kind = sqlite3_column_type(st, 1) == SQLITE_INTEGER && !(bad >> RZ_EF_KIND & 1)
                           ? sqlite3_column_int64(st, 1)
                           : 0;
        int64_t day = sqlite3_column_type(st, 2) == SQLITE_INTEGER && !(bad >> RZ_EF_DATE & 1)
                          ? sqlite3_column_int64(st, 2)
                          : 0;
        catts_add(&m->moves, (uint32_t)day, kind, 1);
    }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mg_fail(m, err, "person attendances");
}

/* ---- read caches ------------------------------------------------------------ */

static size_t
cache_slot(const uint8_t *p, size_t len, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 31;
    return (size_t)(h & (n - 1));
}

static void
caches_clear(merge_ctx *m)
{
    size_t i;
    for (i = 0; i < MG_PC_CACHE; i++)
        m->pc[i].valid = 0;
    for (i = 0; i < MG_EV_CACHE; i++)
        m->ev[i].valid = 0;
    for (i = 0; i < MG_CL_CACHE; i++)
        m->clc[i].valid = 0;
}

static void
pc_store(merge_ctx *m, const uint8_t id[16], int found, const uint8_t key[MG_CKEY])
{
    mg_pc *c = &m->pc[cache_slot(id, 16, MG_PC_CACHE)];
    c->valid = 1;
    c->found = found;
    memcpy(c->id, id, 16);
    if (found)
        memcpy(c->key, key, MG_CKEY);
}

static void
ev_store(merge_ctx *m, const uint8_t id[16], const mg_evfacts *f)
{
    mg_ev *c = &m->ev[cache_slot(id, 16, MG_EV_CACHE)];
    c->valid = 1;
    memcpy(c->id, id, 16);
    c->f = *f;
}

/* The profile and buckets of a cluster, read on a miss.  The pointer is
 * valid until the next cache call. */
static int
cluster_cached(merge_ctx *m, const uint8_t key[MG_CKEY], mg_clc **out, rz_error *err)
{
    mg_clc *c = &m->clc[cache_slot(key, MG_CKEY, MG_CL_CACHE)];
    int rc;
    if (!c->valid || memcmp(c->key, key, MG_CKEY) != 0) {
        c->valid = 0;
        memcpy(c->key, key, MG_CKEY);
        c->rows.n = 0;
        if ((rc = cluster_get(m, key, &c->p, &c->found, err)) ||
            (c->found && (rc = cluster_rows_load(m, key, &c->rows, err))))
            return rc;
        c->valid = 1;
    }
    *out = c;
    return 0;
}

static void
cluster_cache_store(merge_ctx *m, const mg_cl *cl)
{
    mg_clc *c = &m->clc[cache_slot(cl->key, MG_CKEY, MG_CL_CACHE)];
    c->valid = 1;
    c->found = cl->exists;
    memcpy(c->key, cl->key, MG_CKEY);
    c->p = cl->after;
    if (cl->exists)
        catts_copy(&c->rows, &cl->rows);
    else
        c->rows.n = 0;
}

static int
cluster_begin(merge_ctx *m, mg_cl *c, const uint8_t key[MG_CKEY], rz_error *err)
{
    mg_clc *cc;
    int rc;
    memcpy(c->key, key, MG_CKEY);
    if ((rc = cluster_cached(m, key, &cc, err)))
        return rc;
    c->existed = cc->found;
    c->before = cc->p;
    catts_copy(&c->rows_before, &cc->rows);
    catts_copy(&c->rows, &cc->rows);
    return 0;
}

/* Recomputes a touched cluster, stores it and re-attributes its counts. */
static int
cluster_finish(merge_ctx *m, mg_cl *c, const uint8_t self[16], const mg_rec *cur, rz_error *err)
{
    int rc;
    if ((rc = cluster_profile(m, c->key, self, cur, &c->after, &c->exists, err)))
        return rc;
    if (!c->exists)
        c->rows.n = 0; /* no live member left: nothing of it counts */
    if (c->existed == c->exists && catts_equal(&c->rows_before, &c->rows) &&
        (!c->exists || prof_equal(&c->before, &c->after)))
        return 0;
    if (c->existed)
        emit_cluster(m, &c->before, &c->rows_before, -1);
    if (c->exists)
        emit_cluster(m, &c->after, &c->rows, +1);
    if (c->existed != c->exists || !prof_equal(&c->before, &c->after))
        if ((rc = cluster_put(m, c->key, &c->after, c->exists, err)))
            return rc;
    if ((rc = cluster_rows_store(m, c->key, &c->rows_before, &c->rows, err)))
        return rc;
    cluster_cache_store(m, c);
    return 0;
}

/* A person record changed in a way that may change counts: the clusters it
 * left and joined are recomputed, and its counted attendances move from the
 * old cluster to the new one. */
static int
person_recluster(merge_ctx *m, const uint8_t id[16], const mg_rec *old, const mg_rec *cur,
                 rz_error *err)
{
    uint8_t kold[MG_CKEY], knew[MG_CKEY];
    int has_old = person_ckey(old, id, kold), has_new = person_ckey(cur, id, knew);
    int moved = has_old != has_new || (has_old && memcmp(kold, knew, MG_CKEY) != 0);
    mg_cl *a = has_old ? &m->cl[0] : NULL;
    mg_cl *b = has_new && moved ? &m->cl[1] : has_new ? a : NULL;
    size_t i;
    int rc;

    if ((a && (rc = cluster_begin(m, a, kold, err))) ||
        (b && b != a && (rc = cluster_begin(m, b, knew, err))))
        return rc;
    if (moved) {
        if ((rc = person_attendances(m, id, err)))
            return rc;
        for (i = 0; i < m->moves.n; i++) {
            if (a)
                catts_add(&a->rows, m->moves.v[i].day, m->moves.v[i].kind, -m->moves.v[i].n);
            if (b)
                catts_add(&b->rows, m->moves.v[i].day, m->moves.v[i].kind, m->moves.v[i].n);
        }
    }
    if ((a && (rc = cluster_finish(m, a, id, cur, err))) ||
        (b && b != a && (rc = cluster_finish(m, b, id, cur, err))))
        return rc;
    return 0;
}

/* The cluster a person record currently counts in; 0 when none. */
static int
person_cluster_of(merge_ctx *m, const uint8_t id[16], uint8_t key[MG_CKEY], int *found,
                  rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_P_CLUSTER];
    mg_pc *c = &m->pc[cache_slot(id, 16, MG_PC_CACHE)];
    int step;
    if (c->valid && memcmp(c->id, id, 16) == 0) {
        *found = c->found;
        if (c->found)
            memcpy(key, c->key, MG_CKEY);
        return 0;
    }
    *found = 0;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_int(st, 0) == 0) {
        *found = 1;
        if (sqlite3_column_bytes(st, 1) == 16) {
            key[0] = MG_CKEY_CNIC;
            memcpy(key + 1, sqlite3_column_blob(st, 1), 16);
        } else {
            key[0] = MG_CKEY_SOLO;
            memcpy(key + 1, id, 16);
        }
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mg_fail(m, err, "person cluster");
    pc_store(m, id, *found, key);
    return 0;
}

/* Counts of a cluster's buckets around `day`. */
typedef struct mg_near {
    int64_t row, month, quarter, year; /* counted attendances: bucket, its periods */
    int elsewhere;                     /* some bucket outside that year */
} mg_near;

static void
cluster_near(const mg_catts *rows, uint32_t day, int64_t kind, mg_near *nr)
{
    size_t i;
    memset(nr, 0, sizeof *nr);
    for (i = 0; i < rows->n; i++) {
        const mg_catt *r = &rows->v[i];
        if (year_of(r->day) != year_of(day)) {
            nr->elsewhere = 1; /* day 0 is its own "year" */
            continue;
        }
        if (r->day == day && r->kind == kind)
            nr->row = r->n;
        if (period_of(r->day, RZ_GRAIN_MONTH) == period_of(day, RZ_GRAIN_MONTH))
            nr->month += r->n;
        if (period_of(r->day, RZ_GRAIN_QUARTER) == period_of(day, RZ_GRAIN_QUARTER))
            nr->quarter += r->n;
        nr->year += r->n;
    }
}

/* One attendance starts (+1) or stops (-1) counting for a cluster whose
 * profile does not change: its bucket, the attendances and the trainee
 * presence in each period that crosses zero. */
static int
cluster_att_add(merge_ctx *m, const uint8_t key[MG_CKEY], int64_t day, int64_t kind, int64_t delta,
                rz_error *err)
{
    int64_t v[MERGE_D_MAX + 1];
    int64_t before[MERGE_GRAIN_ALL + 1], flip[MERGE_GRAIN_ALL + 1];
    mg_clc *c;
    mg_prof p;
    mg_near nr;
    int g, rc;

    if ((rc = cluster_cached(m, key, &c, err)))
        return rc;
    if (!c->found)
        return rz_fail(err, RZ_E_INTERNAL, "live person without a merged cluster");
    p = c->p;
    cluster_near(&c->rows, (uint32_t)day, kind, &nr);
    if ((rc = cluster_row_put(m, key, (uint32_t)day, kind, nr.row + delta, err)))
        return rc;
    catts_add(&c->rows, (uint32_t)day, kind, delta);
    prof_dims(m, &p, v);
    v[MERGE_D_KIND] = kind;
    emit_attendances(m, day, &p, v, delta);
    v[MERGE_D_KIND] = 0;
    before[RZ_GRAIN_MONTH] = nr.month;
    before[RZ_GRAIN_QUARTER] = nr.quarter;
    before[RZ_GRAIN_YEAR] = nr.year;
    before[MERGE_GRAIN_ALL] = nr.year + nr.elsewhere;
    for (g = RZ_GRAIN_MONTH; g <= MERGE_GRAIN_ALL; g++)
        flip[g] = (before[g] + delta > 0) - (before[g] > 0);
    if (flip[RZ_GRAIN_MONTH] && flip[RZ_GRAIN_MONTH] == flip[RZ_GRAIN_QUARTER] &&
        flip[RZ_GRAIN_MONTH] == flip[RZ_GRAIN_YEAR]) {
        /* First (or last) attendance of the year: one cell for the three
         * grains, which share the period's year and so the age. */
        v[MERGE_D_AGE] = age_in(year_of(day), &p);
        emit(m, MERGE_M_TRAINEES, MG_TAG_MQY, period_of(day, RZ_GRAIN_MONTH), v,
             flip[RZ_GRAIN_MONTH], MG_COMBOS_ALL);
        flip[RZ_GRAIN_MONTH] = flip[RZ_GRAIN_QUARTER] = flip[RZ_GRAIN_YEAR] = 0;
    }
    for (g = RZ_GRAIN_MONTH; g <= MERGE_GRAIN_ALL; g++)
        if (flip[g])
            emit_person_fact(m, MERGE_M_TRAINEES, g, day, &p, v, flip[g]);
    return 0;
}

/* ---- entries --------------------------------------------------------------- */

static int
merge_person(merge_ctx *m, const merge_input *in, const uint8_t stamp[MG_STAMP], rz_error *err)
{
    const uint8_t *id = in->e->key;
    uint8_t key[MG_CKEY];
    uint32_t changed;
    int rc;
    /* Most entries create their record: try that first (one statement). */
    rec_fresh(&m->old);
    rec_fresh(&m->cur);
    changed = rec_apply(&m->cur, in, stamp);
    if ((rc = person_store(m, id, &m->cur, 0, err)))
        return rc;
    if (sqlite3_changes(m->db) == 0) {
        if ((rc = person_load(m, id, &m->cur, err)))
            return rc;
        memcpy(&m->old, &m->cur, sizeof m->cur);
        changed = rec_apply(&m->cur, in, stamp);
        if (!changed)
            return 0; /* already merged, or overruled by newer stamps */
        if ((rc = person_store(m, id, &m->cur, 1, err)))
            return rc;
    }
    pc_store(m, id, person_ckey(&m->cur, id, key), key);
    if (!(changed & MG_PERSON_COUNTED))
        return 0;
    return person_recluster(m, id, &m->old, &m->cur, err);
}

/* Re-attributes the counted attendances of an event whose liveness, date
 * or kind changed. */
static int
event_attendees(merge_ctx *m, const uint8_t *event_id, const mg_evfacts *was, const mg_evfacts *is,
                rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_A_OF_EVENT];
    int step = SQLITE_DONE, rc = 0;
    sqlite3_bind_blob(st, 1, event_id, 16, SQLITE_STATIC);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t pid[16], key[MG_CKEY];
        int found;
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        memcpy(pid, sqlite3_column_blob(st, 0), 16);
        if ((rc = person_cluster_of(m, pid, key, &found, err)) || !found)
            continue;
        if (was->live && (rc = cluster_att_add(m, key, was->day, was->kind, -1, err)))
            break;
        if (is->live)
            rc = cluster_att_add(m, key, is->day, is->kind, +1, err);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = mg_fail(m, err, "event attendees");
    sqlite3_reset(st);
    return rc;
}

static int
merge_event(merge_ctx *m, const merge_input *in, const uint8_t stamp[MG_STAMP], rz_error *err)
{
    const uint8_t *id = in->e->key;
    mg_evfacts was, is;
    uint32_t changed;
    int rc;
    rec_fresh(&m->old);
    rec_fresh(&m->cur);
    changed = rec_apply(&m->cur, in, stamp);
    if ((rc = event_store(m, id, &m->cur, 0, err)))
        return rc;
    if (sqlite3_changes(m->db) == 0) {
        if ((rc = event_load(m, id, &m->cur, err)))
            return rc;
        memcpy(&m->old, &m->cur, sizeof m->cur);
        changed = rec_apply(&m->cur, in, stamp);
        if (!changed)
            return 0;
        if ((rc = event_store(m, id, &m->cur, 1, err)))
            return rc;
    }
    event_facts_of(&m->old, &was);
    event_facts_of(&m->cur, &is);
    ev_store(m, id, &is);
    if (!(changed & MG_EVENT_COUNTED))
        return 0;
    if (was.live == is.live && was.day == is.day && was.kind == is.kind &&
        was.centre_id == is.centre_id)
        return 0;
    emit_event(m, &was, -1);
    emit_event(m, &is, +1);
    if (was.live == is.live && (!is.live || (was.day == is.day && was.kind == is.kind)))
        return 0; /* only the event's own place moved */
    return event_attendees(m, id, &was, &is, err);
}

static int
event_facts_load(merge_ctx *m, const uint8_t *id, mg_evfacts *f, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_E_FACTS];
    mg_ev *c = &m->ev[cache_slot(id, 16, MG_EV_CACHE)];
    int step;
    if (c->valid && memcmp(c->id, id, 16) == 0) {
        *f = c->f;
        return 0;
    }
    memset(f, 0, sizeof *f);
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        uint32_t bad = (uint32_t)sqlite3_column_int64(st, 1);
        f->live = sqlite3_column_int(st, 0) == 0;
        if (sqlite3_column_type(st, 2) == SQLITE_INTEGER && !(bad >> RZ_EF_KIND & 1))
            f->kind = sqlite3_column_int64(st, 2);
        if (sqlite3_column_type(st, 3) == SQLITE_INTEGER && !(bad >> RZ_EF_DATE & 1))
            f->day = sqlite3_column_int64(st, 3);
        f->centre_id = sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mg_fail(m, err, "event read");
    ev_store(m, id, f);
    return 0;
}

static int
merge_attendance(merge_ctx *m, const merge_input *in, const uint8_t stamp[MG_STAMP], rz_error *err)
{
    const uint8_t *key = in->e->key;
    uint8_t ck[MG_CKEY];
    mg_evfacts ev;
    int was, is, found, rc;
    rec_fresh(&m->old);
    rec_fresh(&m->cur);
    rec_apply(&m->cur, in, stamp);
    if ((rc = attendance_store(m, key, &m->cur, 0, err)))
        return rc;
    if (sqlite3_changes(m->db) == 0) {
        if ((rc = attendance_load(m, key, &m->cur, err)))
            return rc;
        memcpy(&m->old, &m->cur, sizeof m->cur);
        if (!rec_apply(&m->cur, in, stamp))
            return 0;
        if ((rc = attendance_store(m, key, &m->cur, 1, err)))
            return rc;
    }
    was = attendance_on(&m->old);
    is = attendance_on(&m->cur);
    if (was == is)
        return 0;
    if ((rc = event_facts_load(m, key, &ev, err)) || !ev.live)
        return rc; /* counts once its event arrives (merge_event) */
    if ((rc = person_cluster_of(m, key + 16, ck, &found, err)) || !found)
        return rc; /* counts once its person arrives (person_recluster) */
    return cluster_att_add(m, ck, ev.day, ev.kind, is ? 1 : -1, err);
}

int
merge_entry(merge_ctx *m, const merge_input *in, rz_error *err)
{
    uint8_t stamp[MG_STAMP];
    const rz_entry *e = in->e;
    int rc;
    if (e->key_len != (e->table == RZ_T_ATTENDANCE ? 32u : 16u))
        return 0; /* clock entries and malformed keys carry no state */
    stamp_make(stamp, in);
    switch (e->table) {
    case RZ_T_PERSON: rc = merge_person(m, in, stamp, err); break;
    case RZ_T_EVENT: rc = merge_event(m, in, stamp, err); break;
    case RZ_T_ATTENDANCE: rc = merge_attendance(m, in, stamp, err); break;
    default: return 0;
    }
    if (rc == 0 && m->deltas.count >= MG_FLUSH_AT)
        rc = merge_flush(m, err); /* same transaction: bounded memory */
    return rc;
}

/* ---- flush ------------------------------------------------------------------- */

static int
key_cmp(const void *a, const void *b)
{
    const mg_key *x = &((const mg_cell *)a)->k, *y = &((const mg_cell *)b)->k;
    if (x->metric != y->metric)
        return x->metric < y->metric ? -1 : 1;
    if (x->grain != y->grain)
        return x->grain < y->grain ? -1 : 1;
    if (x->period != y->period)
        return x->period < y->period ? -1 : 1;
    if (x->d1 != y->d1)
        return x->d1 < y->d1 ? -1 : 1;
    if (x->d2 != y->d2)
        return x->d2 < y->d2 ? -1 : 1;
    if (x->v1 != y->v1)
        return x->v1 < y->v1 ? -1 : 1;
    return x->v2 < y->v2 ? -1 : x->v2 > y->v2;
}

static void
bind_dim_value(merge_ctx *m, sqlite3_stmt *st, int col, int dim, int64_t v)
{
    if (merge_dim_is_text(dim))
        sqlite3_bind_text(st, col, intern_text(&m->text, v), -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, col, v);
}

static void
bind_counter(merge_ctx *m, sqlite3_stmt *st, const mg_key *k)
{
    sqlite3_bind_int(st, 1, k->metric);
    sqlite3_bind_int(st, 2, k->grain);
    sqlite3_bind_int64(st, 3, k->period);
    sqlite3_bind_int(st, 4, k->d1);
    sqlite3_bind_int(st, 5, k->d2);
    bind_dim_value(m, st, 6, k->d1, k->v1);
    bind_dim_value(m, st, 7, k->d2, k->v2);
}

static int
flush_one(merge_ctx *m, const mg_cell *c, rz_error *err)
{
    sqlite3_stmt *up = m->st[MS_T_UPSERT], *del = m->st[MS_T_DELZERO];
    int rc;
    bind_counter(m, up, &c->k);
    sqlite3_bind_int64(up, 8, c->n);
    if ((rc = mg_exec(m, up, err, "totals write")) || c->n > 0)
        return rc;
    /* A counter back at zero is as if it never existed (rebuild equality);
     * only a negative delta can bring it there. */
    bind_counter(m, del, &c->k);
    return mg_exec(m, del, err, "totals write");
}

/* Turns one pending cell into the counters it stands for. */
static void
flush_expand(merge_ctx *m, const mg_cell *c)
{
    mg_key k = c->k;
    uint32_t month = k.period;
    if (k.grain <= MERGE_GRAIN_ALL) {
        map_add(&m->final, &k, c->n);
        return;
    }
    k.grain = RZ_GRAIN_MONTH;
    map_add(&m->final, &k, c->n);
    k.grain = RZ_GRAIN_QUARTER;
    k.period = month ? month / 100 * 10 + (month % 100 - 1) / 3 + 1 : 0;
    map_add(&m->final, &k, c->n);
    k.grain = RZ_GRAIN_YEAR;
    k.period = month / 100;
    map_add(&m->final, &k, c->n);
    if (c->k.grain == MG_TAG_MQYA) {
        k.grain = MERGE_GRAIN_ALL;
        k.period = 0;
        map_add(&m->final, &k, c->n);
    }
}

int
merge_flush(merge_ctx *m, rz_error *err)
{
    mg_map *mp = &m->final;
    size_t i, n = 0;
    int rc = 0;
    if (m->deltas.count == 0) {
        caches_clear(m); /* the transaction ends: start the next one cold */
        return 0;
    }
    for (i = 0; i < m->deltas.cap; i++)
        if (m->deltas.cells[i].k.metric && m->deltas.cells[i].n != 0)
            flush_expand(m, &m->deltas.cells[i]);
    map_clear(&m->deltas);
    /* Compact the non-zero counters to the front and write them in key
     * order, which keeps B-tree pages local. */
    for (i = 0; i < mp->cap; i++)
        if (mp->cells[i].k.metric && mp->cells[i].n != 0)
            mp->cells[n++] = mp->cells[i];
    qsort(mp->cells, n, sizeof *mp->cells, key_cmp);
    for (i = 0; rc == 0 && i < n; i++)
        rc = flush_one(m, &mp->cells[i], err);
    map_clear(mp);
    caches_clear(m);
    if (m->text.n > MG_TEXT_RESET) {
        /* Free-text districts of residence are unbounded: start afresh
         * now that no pending counter refers to an interned id. */
        intern_reset(&m->text);
    }
    return rc;
}

void
merge_discard(merge_ctx *m)
{
    map_clear(&m->deltas);
    map_clear(&m->final);
    caches_clear(m);
    intern_reset(&m->text);
}

/* ---- lifecycle --------------------------------------------------------------- */

int
merge_schema(sqlite3 *db, rz_error *err)
{
    return rz_db_exec(db, merge_schema_sql, err);
}

int
merge_new(merge_ctx **out, sqlite3 *db, rz_error *err)
{
    merge_ctx *m = xcalloc(1, sizeof *m);
    int i, rc;
    m->db = db;
    m->pc = xcalloc(MG_PC_CACHE, sizeof *m->pc);
    m->ev = xcalloc(MG_EV_CACHE, sizeof *m->ev);
    m->clc = xcalloc(MG_CL_CACHE, sizeof *m->clc);
    *out = NULL;
    for (i = 0; i < MS_COUNT; i++)
        if ((rc = rz_db_prepare(db, &m->st[i], merge_sql[i], err))) {
            merge_destroy(&m);
            return rc;
        }
    *out = m;
    return 0;
}

void
merge_destroy(merge_ctx **mp)
{
    merge_ctx *m = mp ? *mp : NULL;
    int i;
    if (!m)
        return;
    for (i = 0; i < MS_COUNT; i++)
        sqlite3_finalize(m->st[i]);
    for (i = 0; i < 2; i++) {
        free(m->cl[i].rows_before.v);
        free(m->cl[i].rows.v);
    }
    free(m->moves.v);
    for (i = 0; i < MG_CL_CACHE; i++)
        free(m->clc[i].rows.v);
    free(m->pc);
    free(m->ev);
    free(m->clc);
    free(m->deltas.cells);
    free(m->final.cells);
    intern_reset(&m->text);
    free(m);
    *mp = NULL;
}
