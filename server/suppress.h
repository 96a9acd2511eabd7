/*
 * suppress: disclosure control for a set of published additive counts.
 *
 * The caller describes what it will publish as cells (one count each) and
 * the additive relations between them (total = sum of parts: a province is
 * the sum of its districts, a year the sum of its quarters, ...).  suppress
 * then decides which cells must be withheld so that no count under the
 * threshold can be recovered from the published ones:
 *
 *   1. primary suppression: every cell with 0 < count < threshold;
 *   2. complementary suppression, to a fixed point:
 *      a. pair rule: a relation with exactly one withheld cell would give
 *         it away by a subtraction, so one more of its cells is withheld
 *         (the published one of least cost, count x the caller's weight,
         zeros last);
 *         repeated over all relations until none has exactly one;
 *      b. audit: the relations restricted to the withheld cells form a
 *         linear system whose right-hand sides the public knows.  A
 *         withheld cell is derivable by any combination of differences,
 *         across levels, tables and periods, exactly when its unit vector
 *         lies in the row space of that system; the audit brings each
 *         connected block of it into reduced row echelon form and reports
 *         every cell whose echelon row is a unit vector.  For each such
 *         cell one more published cell next to it is withheld (nearest in
 *         the relation graph, least cost), then back to a.
 *      The set only grows, and with every cell withheld nothing is
 *      derivable (every cell is a positive sum of leaves), so this ends.
 *
 * Limits, stated where a reader of the published figures could go further:
 *   - Protection is against exact linear derivation.  Bounds are not
 *     controlled: counts are non-negative, so a withheld cell is known to
 *     lie between 0 and the smallest published total it is part of, and a
 *     withheld pair summing to a small published difference narrows both.
 *   - Zero counts are published (an empty cell singles no one out) and
 *     so are cells of threshold and above unless chosen as complements.
 *   - The audit's elimination runs modulo the prime 2^61-1 rather than
 *     over the rationals: exact for every system whose relevant minors are
 *     not multiples of that prime, which for +-1 relation matrices of the
 *     sizes published means in practice always; the attack test
 *     (tests/public/) re-checks with exact rational arithmetic.
 *   - The choice of complements is greedy (cheapest, preferring cells
 *     that close a cycle with cells already withheld), not optimal: on a
 *     national-shaped catalogue (8 provinces x 20 districts x 24 quarters,
 *     6 years, 5 fiscal years; 6,084 cells) with 1 % of district quarters
 *     under 5 it withholds about 40 cells per primary one; an optimal
 *     method (an integer program, as tau-ARGUS's) would withhold fewer.
 *   - Only what is described here is protected: facts published elsewhere
 *     (another release, a dashboard screenshot) are not known to it.
 *
 * Pure computation: no I/O, no database.  Not thread-safe per set.
 */
#ifndef RZ_SUPPRESS_H
#define RZ_SUPPRESS_H

#include <stdint.h>

#include "common/rz_err.h"

enum suppress_state {
    SUPPRESS_PUBLISHED = 0, /* shown */
    SUPPRESS_PRIMARY = 1,   /* under the threshold */
    SUPPRESS_COMPLEMENT = 2 /* withheld to protect a primary cell */
};

enum {
    SUPPRESS_THRESHOLD = 5,          /* default: counts 1..4 are withheld */
    SUPPRESS_CELLS_MAX = 4000000,    /* cells of one set */
    SUPPRESS_AUDIT_MAX = 16000000ll, /* entries (rows x columns) of one audited block */
};

typedef struct suppress_set suppress_set;

typedef struct suppress_stats {
    int64_t cells;         /* cells described */
    int64_t relations;     /* relations described */
    int64_t primary;       /* cells under the threshold */
    int64_t complementary; /* cells withheld to protect them */
    int64_t rounds;        /* audit rounds run */
    int64_t audit_added;   /* complements added because the audit found a derivable cell */
} suppress_stats;

/* A new, empty set; *out is the caller's (suppress_destroy). */
void suppress_new(suppress_set **out);
/* Frees *s, sets it to NULL; accepts NULL. */
void suppress_destroy(suppress_set **s);

/* Adds a cell with its count (>= 0); *idx gets its index (0, 1, ...).
 * RZ_E_ARG for a negative count, RZ_E_TOOBIG past SUPPRESS_CELLS_MAX. */
int suppress_cell(suppress_set *s, int64_t count, int *idx, rz_error *err) RZ_WUR;
/* Sets the cost of withholding cell idx as a complement to count x
 * weight (default weight 1): complements are chosen by least cost, so a
 * caller makes the figures readers need most (national, yearly) dearer
 * than the detailed ones.  Ignored for an index out of range or weight < 1. */
void suppress_weight(suppress_set *s, int idx, int64_t weight);
/* Adds the relation cells[total] = sum of cells[parts[0..nparts-1]].
 * RZ_E_ARG for an index out of range, a repeated cell or nparts < 1. */
int suppress_relation(suppress_set *s, int total, const int *parts, int nparts, rz_error *err)
    RZ_WUR;

/* Marks every published cell with 0 < count < threshold as PRIMARY. */
void suppress_primary(suppress_set *s, int64_t threshold);
/* Complementary suppression to the fixed point described above.  0, or
 * RZ_E_TOOBIG when an audited block exceeds SUPPRESS_AUDIT_MAX entries
 * (the set's states are then unusable for publication). */
int suppress_protect(suppress_set *s, rz_error *err) RZ_WUR;
/* suppress_primary(threshold) then suppress_protect. */
int suppress_run(suppress_set *s, int64_t threshold, rz_error *err) RZ_WUR;

/* Audits the current states without changing them: *derivable gets the
 * number of withheld cells that the published cells and the relations
 * determine exactly.  When which is not NULL, which[i] is set to 1 for
 * each such cell i (array of suppress_ncells entries).  0 or RZ_E_TOOBIG. */
int suppress_audit(const suppress_set *s, int64_t *derivable, unsigned char *which, rz_error *err)
    RZ_WUR;

int suppress_ncells(const suppress_set *s);
/* enum suppress_state of cell idx (PUBLISHED for an index out of range). */
int suppress_state_of(const suppress_set *s, int idx);
/* 1 when cell idx is withheld (PRIMARY or COMPLEMENT). */
int suppress_withheld(const suppress_set *s, int idx);
void suppress_stats_get(const suppress_set *s, suppress_stats *out);

#endif
