/*
 * merge_int: what the files of merge share and nothing outside them may use
 * (server/merge.h is the contract).  merge.c holds the entry points, the
 * schema and the read caches; merge_records.c the records and their
 * last-writer-wins rules; merge_cluster.c the CNIC clusters (one person, one
 * count); merge_person_att.c a person record's buckets; merge_event_att.c an
 * event's attendance records; merge_counters.c the counters and their
 * flush.  Names shared between these files carry the family prefix mg_.
 */
#ifndef RZ_MERGE_INT_H
#define RZ_MERGE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "common/domain.h"
#include "server/dayindex.h"
#include "server/merge.h"

#define MG_STAMP 22                   /* bytes of a stamp */
#define MG_SLOTS 12                   /* slot 0: deleted flag; 1..11: fields */
#define MG_CKEY 17                    /* cluster key: tag byte + 16 */
#define MG_CKEY_CNIC 1                /* tag: linked by CNIC token */
#define MG_CKEY_SOLO 2                /* tag: a record without valid CNIC */
#define MG_CHANGED_CREATED (1u << 31) /* change mask bit: creation stamp */
#define MG_FLUSH_AT (1u << 17)        /* pending cells that trigger a flush (memory bound) */
#define MG_DAY_MS 86400000ull
#define MG_TEXT_RESET 100000 /* interned texts kept across flushes */

/* Bytes of a record's stamp blob (column st), at most. */
#define MG_STAMPS_MAX (1 + MG_SLOTS * (MG_STAMP + 1))

/* Person attribute slots that decide counts. */
#define MG_PERSON_COUNTED                                                                          \
    ((1u << 0) | (1u << RZ_PF_CNIC) | (1u << RZ_PF_GENDER) | (1u << RZ_PF_BIRTH_YEAR) |            \
     (1u << RZ_PF_DISTRICT) | (1u << RZ_PF_AREA) | (1u << RZ_PF_SKILL) | (1u << RZ_PF_REG_DATE) |  \
     MG_CHANGED_CREATED)
#define MG_EVENT_COUNTED ((1u << 0) | (1u << RZ_EF_KIND) | (1u << RZ_EF_DATE) | MG_CHANGED_CREATED)

/* CNIC value kept in slot 1 (column cnic). */
enum { MG_CNIC_CLEARED = 0, MG_CNIC_VALID = 1, MG_CNIC_INVALID = 2 };

/* Prepared statements (merge.c merge_sql). */
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
    MS_A_OF_EVENT,
    MS_C_GET,
    MS_C_PUT,
    MS_C_DEL,
    MS_P_LINKED,
    MS_PA_GET,
    MS_PA_INS,
    MS_PA_UPD,
    MS_PA_DEL,
    MS_EA_GET,
    MS_EA_PUT,
    MS_T_UPSERT,
    MS_T_DELZERO,
    MS_COUNT
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
    uint32_t day;   /* event date, 0 unknown */
    int64_t kind;   /* event kind, 0 unknown */
    int64_t centre; /* centre that ran the event (its creator's) */
    int64_t n;      /* counted attendances */
} mg_catt;

typedef struct mg_catts {
    mg_catt *v;    /* sorted by (day, kind, centre) */
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
 * several: most facts count alike in their month and all time (and, for
 * trainees, quarter and year), so one cell keyed by the month stands for
 * all of those counters and is expanded at flush.  This cuts the random
 * memory touches per fact, which is what bounds merge speed.
 */
enum {
    MG_TAG_MQY = 5, /* month key; counts in month, quarter and year (trainees) */
    MG_TAG_MA = 6,  /* month key; counts in month and all time (additive metrics) */
};

/* A pending counter packed in three words: h holds metric, grain (or tag),
 * d1, d2 and period in the order counters are written (MG_H_*), so keys
 * compare, hash and sort as integers; v1, v2 the values (text dimensions:
 * interned ids). */
typedef struct mg_key {
    uint64_t h;     /* MG_H(...); 0: empty cell (metric is never 0) */
    int64_t v1, v2; /* values; text dims: interned ids */
} mg_key;

#define MG_H_PERIOD_SHIFT 30
#define MG_H(metric, grain, d1, d2, period)                                                        \
    ((uint64_t)(metric) << 61 | (uint64_t)(grain) << 58 | (uint64_t)(d1) << 54 |                   \
     (uint64_t)(d2) << 50 | (uint64_t)(period) << MG_H_PERIOD_SHIFT)
#define MG_H_METRIC(h) ((int)((h) >> 61))
#define MG_H_GRAIN(h) ((int)((h) >> 58 & 7))
#define MG_H_D1(h) ((int)((h) >> 54 & 15))
#define MG_H_D2(h) ((int)((h) >> 50 & 15))
#define MG_H_PERIOD(h) ((uint32_t)((h) >> MG_H_PERIOD_SHIFT & MERGE_K_PERIOD_MAX))

typedef struct mg_cell {
    mg_key k;  /* counter; k.h == 0: empty */
    int64_t n; /* accumulated delta */
} mg_cell;

typedef struct mg_map {
    mg_cell *cells;    /* open addressing, linear probing */
    size_t cap, count; /* power of two; used cells */
} mg_map;

#define MG_UPSERT_ROWS 64 /* counters one flush statement writes */

/* Counted attendances gathered by fact before they become counters: every
 * attendance with the same month, event centre and kind and the same person
 * dimensions (ages in the event's and the registration's year included)
 * touches the same 36 counters, and attendances that follow each other in a
 * log share facts (the benchmark's 148,557 attendances are 56,087 facts), so
 * a fact's 36 counters are added once instead of once per attendance.  v:
 * month, centre, gender, area, skill, home (interned), kind, age in the
 * event's year, age in the registration's year.  Every MG_FACTS_SPILL
 * facts become deltas, so the deltas stay within MG_FLUSH_AT plus one
 * spill's counters. */
#define MG_FACT_VALS 9
#define MG_FACTS_SPILL (1u << 12) /* facts that are turned into counters at once */

typedef struct mg_fact {
    int64_t v[MG_FACT_VALS]; /* the fact's values */
    int64_t n;               /* accumulated attendances */
    int used;                /* 0: empty slot */
} mg_fact;

typedef struct mg_facts {
    mg_fact *cells;    /* open addressing, linear probing */
    size_t cap, count; /* power of two; used cells */
} mg_facts;

/* Counters one mg_emit() touches at most: national, 10 dims, 45 pairs. */
#define MG_EMIT_MAX (1 + MERGE_D_MAX + MERGE_D_MAX * (MERGE_D_MAX - 1) / 2)

/* Which dimension combinations of a fact an mg_emit() covers. */
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
#define MG_PL_CACHE 1024  /* centre -> place */

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

/* A centre's place as counter values: interned texts, programme code. */
typedef struct mg_pl {
    int valid;                  /* entry holds a lookup */
    int64_t centre_id;          /* centre */
    int64_t province, district; /* interned ids (0: unknown) */
    int64_t programme;          /* code, 0 unknown */
} mg_pl;

typedef struct mg_clc {
    int valid;            /* entry holds a lookup */
    int found;            /* the cluster exists */
    uint8_t key[MG_CKEY]; /* cluster */
    mg_prof p;            /* its profile */
    mg_catts rows;        /* all its buckets */
} mg_clc;

/* The pending changes of person records' buckets (merge_person_att.c). */
typedef struct mg_patt_rec mg_patt_rec;
typedef struct mg_patt_person mg_patt_person;
typedef struct mg_patt {
    mg_patt_person *persons;     /* person records with changes */
    size_t npersons, cappersons; /* used, allocated */
    uint32_t *slots;             /* hash -> persons index + 1, 0 = empty */
    size_t nslots;               /* power of two */
    mg_patt_rec *recs;           /* changes, chained per person */
    size_t nrecs, caprecs;       /* used, allocated */
    char *text;                  /* a row's text being written */
    size_t ntext, captext;       /* used, allocated */
    mg_catts scratch;            /* a person's buckets being written */
} mg_patt;

/*
 * The attendance records of the events touched in the window
 * (merge_event_att.c): per event its records' canonical encodings in an
 * arena, found by (event, person) through a hash; written once per window.
 */
#define MG_EVATT_PACK_MAX 256      /* records of an event kept in one row, at most */
#define MG_EVATT_ARENA (16u << 20) /* arena bytes that trigger a write (memory bound) */
typedef struct mg_evatt_ev mg_evatt_ev;
typedef struct mg_evatt_rec mg_evatt_rec;
typedef struct mg_evatt {
    mg_evatt_ev *evs;           /* events touched */
    size_t nevs, capevs;        /* used, allocated */
    uint32_t *evslots;          /* hash of event id -> evs index + 1, 0 = empty */
    size_t nevslots;            /* power of two */
    mg_evatt_rec *recs;         /* records of packed events */
    size_t nrecs, caprecs;      /* used, allocated */
    uint32_t *recslots;         /* hash of (event, person) -> recs index + 1 */
    size_t nrecslots;           /* power of two */
    uint8_t *arena;             /* record encodings, loaded and written */
    size_t narena, caparena;    /* used, allocated */
    size_t held;                /* encodings in the arena (the memory bound counts them) */
    uint8_t *row;               /* a row being written */
    size_t caprow;              /* allocated */
    const mg_evatt_rec **order; /* one event's records being sorted */
    size_t caporder;            /* allocated */
} mg_evatt;

struct merge_ctx {
    sqlite3 *db;                /* borrowed */
    sqlite3_stmt *st[MS_COUNT]; /* prepared once */
    mg_rec cur, old, member;    /* scratch records */
    mg_cl cl[2];                /* clusters of one person entry */
    mg_catts moves;             /* a person's counted attendances */
    mg_map deltas;              /* counters of the current batch */
    mg_facts facts;             /* attendances not yet turned into deltas */
    mg_cell *out;               /* flush: deltas expanded per grain, sorted */
    mg_cell *tmp;               /* flush: the radix sort's second buffer (capout) */
    sqlite3_stmt *upsert_rows;  /* flush: MG_UPSERT_ROWS counters at once (merge_counters.c) */
    size_t nout, capout;        /* used, allocated */
    mg_intern text;             /* interned text values */
    mg_pc *pc;                  /* MG_PC_CACHE entries */
    mg_ev *ev;                  /* MG_EV_CACHE entries */
    mg_clc *clc;                /* MG_CL_CACHE entries */
    mg_pl *pl;                  /* MG_PL_CACHE entries */
    merge_place_fn place_fn;    /* where places come from (NULL: table centre) */
    void *place_arg;            /* its argument */
    sqlite3_stmt *place_st;     /* the default's statement, prepared on first use */
    int place_none;             /* 1: no centre table, every place unknown */
    int64_t (*rowpl)[4];        /* scratch: place values of a cluster's buckets */
    dayindex *dx;               /* the day index of exact ranges (server/dayindex.h) */
    mg_patt patt;               /* person records' bucket changes of the window */
    mg_evatt evatt;             /* events' attendance records of the window */
    size_t rowpl_cap;           /* entries allocated */
    size_t flush_at;            /* pending records or cells written at once (merge_set_flush_at) */
};

static inline uint32_t
mg_year_of(int64_t yyyymmdd)
{
    return yyyymmdd > 0 ? (uint32_t)(yyyymmdd / 10000) : 0;
}

/* Period of a date in a grain; 0 for an unknown date and for all time. */
static inline uint32_t
mg_period_of(int64_t day, int grain)
{
    return day > 0 && grain != MERGE_GRAIN_ALL ? period_key((uint32_t)day, grain) : 0;
}

/* ---- merge.c: statements and read caches --------------------------------- */

/* Records the SQLite error of m->db into err; returns its code. */
int mg_fail(merge_ctx *m, rz_error *err, const char *what);
/* Runs a bound write statement to completion and resets it. */
int mg_exec(merge_ctx *m, sqlite3_stmt *st, rz_error *err, const char *what);
/* Slot of key p in a direct-mapped cache of n (a power of two) entries. */
size_t mg_cache_slot(const uint8_t *p, size_t len, size_t n);
/* Remembers the cluster of a person record (found 0: it counts in none). */
void mg_pc_store(merge_ctx *m, const uint8_t id[16], int found, const uint8_t key[MG_CKEY]);

/* ---- merge_records.c: records, last-writer-wins, validity ------------------ */

/* The entry's stamp: its clamped time, its clock and its node. */
void mg_stamp_make(uint8_t out[MG_STAMP], const merge_input *in);
/* A stored value counts only when valid and an INTEGER (else 0). */
int64_t mg_rec_code(const mg_rec *r, int f);
/* The record's valid, normalised district of residence ("" unknown). */
void mg_rec_home(const mg_rec *r, char out[MERGE_HOME_MAX + 1]);
/* A record's slot stamps as the column st holds them: encode into out
 * (MG_STAMPS_MAX bytes) returning the length, and decode (RZ_E_INTERNAL when
 * malformed). */
size_t mg_stamps_encode(const mg_rec *r, int nslots, uint8_t *out);
int mg_stamps_decode(mg_rec *r, int nslots, const uint8_t *p, size_t len);
/* Empties r (no entry merged). */
void mg_rec_fresh(mg_rec *r);
/* Applies one entry: last writer wins per slot, creation stamp the lowest;
 * returns the mask of changed slots (MG_CHANGED_CREATED for creation). */
uint32_t mg_rec_apply(mg_rec *r, const merge_input *in, const uint8_t stamp[MG_STAMP]);
/* Reads a st_person row (MG_PERSON_COLS order) of statement st. */
int mg_person_columns(mg_rec *r, sqlite3_stmt *st);
/* The record's cluster key; 0 when it belongs to none (not live). */
int mg_person_ckey(const mg_rec *r, const uint8_t id[16], uint8_t key[MG_CKEY]);
/* Load (fresh record when absent) and store (insert-if-absent or update)
 * of the three record tables.  After an insert, sqlite3_changes() says
 * whether the row was new. */
int mg_person_load(merge_ctx *m, const uint8_t id[16], mg_rec *r, rz_error *err);
int mg_person_store(merge_ctx *m, const uint8_t id[16], const mg_rec *r, int update, rz_error *err);
int mg_event_load(merge_ctx *m, const uint8_t id[16], mg_rec *r, rz_error *err);
int mg_event_store(merge_ctx *m, const uint8_t id[16], const mg_rec *r, int update, rz_error *err);
int mg_attendance_load(merge_ctx *m, const uint8_t key[32], mg_rec *r, rz_error *err);
int mg_attendance_store(merge_ctx *m, const uint8_t key[32], const mg_rec *r, int update,
                        rz_error *err);
/* 1 when the attendance counts by itself (present, not deleted). */
int mg_attendance_on(const mg_rec *r);
/* The counting facts of an event record. */
void mg_event_facts_of(const mg_rec *r, mg_evfacts *f);

/* ---- merge_cluster.c: CNIC clusters ---------------------------------------- */

/* Adds b.n to bucket b of c, keeping (day, kind, centre) order and dropping
 * zeros. */
void mg_catts_add(mg_catts *c, mg_catt b);

/* A person record changed in a way that may change counts: re-forms the
 * clusters it left and joined. */
int mg_person_recluster(merge_ctx *m, const uint8_t id[16], const mg_rec *old, const mg_rec *cur,
                        rz_error *err);
/* The cluster a person record counts in (*found 0: none). */
int mg_person_cluster_of(merge_ctx *m, const uint8_t id[16], uint8_t key[MG_CKEY], int *found,
                         rz_error *err);
/* One attendance of person record `pid` at a live event (day, kind,
 * centre) starts (+1) or stops (-1) counting: the person's bucket, and its
 * cluster's when the person counts in one. */
int mg_att_count(merge_ctx *m, const uint8_t pid[16], const mg_evfacts *ev, int64_t delta,
                 rz_error *err);
/* Re-attributes the counted attendances of an event whose facts changed. */
int mg_event_attendees(merge_ctx *m, const uint8_t *event_id, const mg_evfacts *was,
                       const mg_evfacts *is, rz_error *err);

/* ---- merge_person_att.c: person records' buckets ----------------------------- */

/* Changes bucket b (by b->n) of person record id, pending until the flush. */
void mg_patt_add(merge_ctx *m, const uint8_t id[16], const mg_catt *b);
/* The buckets of person record id, stored and pending, added into out. */
int mg_patt_read(merge_ctx *m, const uint8_t id[16], mg_catts *out, rz_error *err);
/* Writes the pending changes, one row per person record in id order. */
int mg_patt_flush(merge_ctx *m, rz_error *err);
/* Forgets the pending changes. */
void mg_patt_discard(merge_ctx *m);
/* Frees their memory. */
void mg_patt_free(merge_ctx *m);

/* ---- merge_event_att.c: events' attendance records ------------------------------ */

/* Applies one attendance entry to its record (per-field last-writer-wins):
 * in the window's records of a packed event, or its st_attendance row for
 * an event of more than MG_EVATT_PACK_MAX.  Leaves the record before the
 * entry in m->old and after it in m->cur; *changed 0 when nothing changed. */
int mg_evatt_apply(merge_ctx *m, const merge_input *in, const uint8_t stamp[MG_STAMP], int *changed,
                   rz_error *err);
/* Calls fn for each person whose attendance at the event counts by itself
 * (present, valid, not deleted), pending records included, in person-id
 * order. */
int mg_evatt_each_counting(merge_ctx *m, const uint8_t event_id[16],
                           int (*fn)(merge_ctx *m, const uint8_t pid[16], void *arg, rz_error *err),
                           void *arg, rz_error *err);
/* 1 when the records held exceed the memory bound (write them mid-window). */
int mg_evatt_full(const merge_ctx *m);
/* Writes every changed event's row, in event-id order, and forgets them. */
int mg_evatt_flush(merge_ctx *m, rz_error *err);
/* Forgets the window's records without writing. */
void mg_evatt_discard(merge_ctx *m);
/* Frees their memory. */
void mg_evatt_free(merge_ctx *m);

/* ---- merge_counters.c: counter deltas and their flush ----------------------- */

/* Adds delta to the counters of one fact (see merge_counters.c). */
void mg_emit(merge_ctx *m, int metric, int grain, uint32_t period, const int64_t *v, int64_t delta,
             int combos);
/* Dimension values of a cluster profile (age and kind set per fact). */
void mg_prof_dims(merge_ctx *m, const mg_prof *p, int64_t v[MERGE_D_MAX + 1]);
/* Age band of a cluster in a year (0: unknown). */
int64_t mg_age_in(uint32_t year, const mg_prof *p);
void mg_emit_attendances(merge_ctx *m, int64_t day, const mg_prof *p, int64_t *v, int64_t delta);
/* Adds sign times the whole contribution of a cluster. */
int mg_emit_cluster(merge_ctx *m, const mg_prof *p, const mg_catts *rows, int64_t sign,
                    rz_error *err);
/* The trainee counters that change when bucket b (b->n = delta) is added to
 * a cluster whose buckets are `rows`. */
int mg_emit_trainees(merge_ctx *m, const mg_prof *p, const mg_catts *rows, const mg_catt *b,
                     rz_error *err);
/* Forgets the cached places (their interned ids end with the flush). */
void mg_places_clear(merge_ctx *m);
/* Adds sign times an event's own count. */
void mg_emit_event(merge_ctx *m, const mg_evfacts *f, int64_t sign);
/* Writes the pending deltas, one upsert per counter in key order. */
int mg_counters_write(merge_ctx *m, rz_error *err);
/* Forgets the pending deltas. */
void mg_counters_discard(merge_ctx *m);
/* Frees the counters' memory. */
void mg_counters_free(merge_ctx *m);

#endif
