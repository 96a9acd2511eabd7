/*
 * merge: applies verified log entries to the merged state and keeps the
 * national totals up to date, incrementally, inside the caller's
 * transaction.  Pure function of the set of entries: order and repetition do
 * not change the result (proto/PROTOCOL.md, "Merge rules").
 *
 * The caller (server/ingest.c, server/replay.c) owns the transaction: it
 * calls merge_entry() for each entry in log order of one node, then
 * merge_flush() before COMMIT.  On rollback it calls merge_discard().
 * merge never sees clock entries (RZ_T_CLOCK): the caller turns them into
 * the clamp window of the entries before them.
 */
#ifndef RZ_MERGE_H
#define RZ_MERGE_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/rz_err.h"
#include "proto/entry.h"

/* What the server learned about a CNIC revealed with an entry. */
enum merge_cnic_state {
    MERGE_CNIC_ABSENT = 0,  /* the entry does not touch the CNIC field */
    MERGE_CNIC_CLEARED = 1, /* the entry clears the CNIC (nil) */
    MERGE_CNIC_VALID = 2,   /* valid CNIC; token links equal CNICs */
    MERGE_CNIC_INVALID = 3, /* a value that is not a valid CNIC: flagged */
    MERGE_CNIC_ERASED = 4,  /* value erased on a lawful request; token kept */
};

typedef struct merge_input {
    const uint8_t *node_id; /* RZ_NODE_ID_BYTES: the writing node */
    int64_t centre_id;      /* the node's centre (enrollment register) */
    uint64_t seq;           /* the entry's sequence number */
    const rz_entry *e;      /* decoded entry (not a clock entry) */
    uint64_t win_lo_ms;     /* server time the node saw before this entry (0: none) */
    uint64_t win_hi_ms;     /* server time the node saw after it (> 0) */
    int cnic_state;         /* enum merge_cnic_state */
    uint8_t cnic_token[16]; /* valid when cnic_state is VALID or ERASED */
} merge_input;

typedef struct merge_ctx merge_ctx;

/* Creates the state and totals tables if missing. */
int merge_schema(sqlite3 *db, rz_error *err) RZ_WUR;
/* Prepares statements on db; *out owned by the caller (merge_destroy). */
int merge_new(merge_ctx **out, sqlite3 *db, rz_error *err) RZ_WUR;
void merge_destroy(merge_ctx **m);

/* Applies one entry.  Never refuses an entry for an invalid value: such
 * values are stored, flagged and counted as unknown.  Errors are storage
 * failures only (RZ_E_BUSY / RZ_E_IO): the caller rolls back. */
int merge_entry(merge_ctx *m, const merge_input *in, rz_error *err) RZ_WUR;
/* Writes accumulated total deltas; call before COMMIT. */
int merge_flush(merge_ctx *m, rz_error *err) RZ_WUR;
/* Forgets accumulated deltas after a ROLLBACK. */
void merge_discard(merge_ctx *m);

/* NULL-terminated names of every table whose content a rebuild from the
 * logs must reproduce byte for byte (state and totals). */
extern const char *const merge_state_tables[];

/*
 * Totals layout.  Readers see the view `totals`:
 *
 *     totals(metric, grain, period, d1, d2, v1, v2, n)
 *
 * stored in the table `counters` with one integer key (a counter write is
 * one compare of a 64-bit integer per b-tree level instead of seven
 * columns, about 40% fewer instructions per write):
 *
 *     counters(k, t1, t2, n)  PRIMARY KEY(k, t1, t2)  WITHOUT ROWID
 *     k = metric << 60 | grain << 58 | d1 << 54 | d2 << 50 | period << 30
 *         | f1 << 15 | f2                        (merge_counter_key)
 *
 * so one (metric, grain, d1, d2) is a contiguous range of k ordered by
 * period, and a period's rows of it are a sub-range (server/query.c reads
 * counters by k ranges).  fN/tN hold vN: a text dimension has f = 0 and its
 * text in t; an integer value 0..MERGE_K_VALUE_ESC-1 is f itself with t =
 * ''; any other integer has f = MERGE_K_VALUE_ESC and its decimal text in t.
 *
 * metric  enum merge_metric
 * grain   RZ_GRAIN_MONTH/QUARTER/YEAR (common/domain.h) or MERGE_GRAIN_ALL;
 *         quarters and years only for trainees (merge_metric_keeps_grain)
 * period  period_key() of the date, 0 = unknown date; always 0 for ALL
 * d1, d2  a stored enum merge_dim with d1 < d2; (0, 0) = national total,
 *         (d, 0) = one dimension, (d1, d2) = a pair
 * v1, v2  the dimension values: TEXT for home ('' = unknown), INTEGER codes
 *         otherwise (0 = unknown; centre = centre_id; age = age band of
 *         common/domain.h); 0 when unused
 * n       the count (rows with n = 0 are deleted)
 *
 * Where a figure counts (DESIGN "Where a figure happened"): a registration
 * at the person's place (the centre of the cluster's earliest record); an
 * attendance and a trainee at the centre that ran the event (the centre of
 * the event record).  A person trained at two centres is one trainee at
 * each: trainees by centre add up to more than the national figure.
 *
 * Province, district and programme of registrations, attendances and
 * events are not stored (merge_dim_via_centre): each such fact has exactly
 * one centre, so a breakdown by one of them is the sum of the centre's
 * counters, grouped through the centre table at query time.  An attendance
 * so touches 36 counter cells instead of 66.  Trainees are the exception: a
 * person trained at two centres of one province is one trainee there, not
 * the sum of two, so trainee counters are kept by province, district and
 * programme too, with the place the enrollment register gives the event's
 * centre (merge_set_place_fn).
 */
enum merge_metric {
    MERGE_M_REGISTERED = 1,  /* unique persons (live CNIC clusters) */
    MERGE_M_TRAINEES = 2,    /* unique persons with >= 1 counted attendance */
    MERGE_M_ATTENDANCES = 3, /* counted attendance rows */
    MERGE_M_EVENTS = 4,      /* live events */
    MERGE_M_MAX = 4
};

#define MERGE_GRAIN_ALL 3 /* all-time grain, next to enum rz_grain */

#define MERGE_K_VALUE_BITS 15                             /* bits of f1, f2 in a counter key */
#define MERGE_K_VALUE_ESC ((1 << MERGE_K_VALUE_BITS) - 1) /* value kept in t as text */
#define MERGE_K_PERIOD_MAX 1048575u                       /* 20 bits: YYYYMM <= 999912 fits */

/* The counter key of (metric, grain, d1, d2, period, f1, f2); a period
 * above MERGE_K_PERIOD_MAX is taken as that (only an open end of a range
 * asks for more), f1 and f2 are masked to their bits. */
int64_t merge_counter_key(int metric, int grain, int d1, int d2, uint32_t period, uint32_t f1,
                          uint32_t f2);
/* The period of a counter key. */
uint32_t merge_counter_key_period(int64_t k);

enum merge_dim {
    MERGE_D_NONE = 0,
    MERGE_D_PROVINCE = 1,  /* text: place of the person/event */
    MERGE_D_DISTRICT = 2,  /* text: district of the centre (place) */
    MERGE_D_CENTRE = 3,    /* centre_id */
    MERGE_D_PROGRAMME = 4, /* programme code of the centre */
    MERGE_D_GENDER = 5,    /* enum rz_gender */
    MERGE_D_AGE = 6,       /* age band */
    MERGE_D_AREA = 7,      /* enum rz_area */
    MERGE_D_SKILL = 8,     /* enum rz_skill */
    MERGE_D_HOME = 9,      /* text: district of residence (normalised) */
    MERGE_D_KIND = 10,     /* enum rz_event_kind */
    MERGE_D_MAX = 10
};

#define MERGE_HOME_MAX 80 /* bytes of a normalised district of residence */

/* 1 when totals of `metric` are kept by dimension `dim`. */
int merge_metric_has_dim(int metric, int dim);
/* 1 when totals of `metric` are kept at `grain`.  Registrations,
 * attendances and events add up over time: they are kept per month and for
 * all time only, and a quarter or a year is the sum of its months, added up
 * when asked (server/query.c).  Trainees are unique persons per period, so
 * every grain is kept. */
int merge_metric_keeps_grain(int metric, int grain);
/* 1 when the values of `dim` are TEXT (labels and filters). */
int merge_dim_is_text(int dim);
/* 1 for province, district and programme: the place of a centre. */
int merge_dim_is_place(int dim);
/* 1 when a breakdown of `metric` by `dim` is the sum of the centre's
 * counters (a place dimension of any metric but trainees). */
int merge_dim_via_centre(int metric, int dim);

#define MERGE_PLACE_MAX 80 /* bytes of a province or district name */

/* A centre's place in the enrollment register ("" / 0: unknown). */
typedef struct merge_place {
    char province[MERGE_PLACE_MAX + 1]; /* province or territory */
    char district[MERGE_PLACE_MAX + 1]; /* district */
    int64_t programme;                  /* programme code (common/domain.h) */
} merge_place;

/* Fills *out with the place of centre_id; an unknown centre is all
 * unknown, not an error.  Errors: storage failures only. */
typedef int (*merge_place_fn)(void *arg, int64_t centre_id, merge_place *out, rz_error *err);

/* Where merge reads a centre's place (trainees by province, district and
 * programme).  Default, fn NULL: the table centre(centre_id, province,
 * district, programme) of the database merge writes, or of one attached to
 * it; without such a table every place is unknown. */
void merge_set_place_fn(merge_ctx *m, merge_place_fn fn, void *arg);
/* The memory bound: once n counter cells, person records or event records
 * are pending (default MG_FLUSH_AT, merge_int.h), everything pending is
 * written mid-window, inside the caller's transaction.  Tests lower it to
 * show that where these writes fall changes nothing merged. */
void merge_set_flush_at(merge_ctx *m, size_t n);
/* Reads centre_id's place from the table centre of db (for a merge_place_fn
 * over another database than merge's); *st is prepared on the first call
 * and kept for the next ones; the caller finalizes it. */
int merge_place_read(sqlite3 *db, sqlite3_stmt **st, int64_t centre_id, merge_place *out,
                     rz_error *err) RZ_WUR;

/* A district of residence the way merge counts it: the official name from
 * the master list of places (common/places.h, places_active) of the
 * district written, whatever its case, blanks, punctuation or alias ("D.G.
 * Khan", "dg khan" -> "Dera Ghazi Khan").  Writes out (NUL terminated) and
 * returns its length; 0 when the name is empty, not in the list, ambiguous
 * between provinces or holds control bytes (counted as unknown). */
size_t merge_home_normalize(char out[MERGE_HOME_MAX + 1], const uint8_t *in, size_t len);

#endif
