/*
 * suppress: primary and complementary cell suppression with a linear
 * audit; see suppress.h for the algorithm and its limits.
 *
 * Storage: cells are parallel arrays (count, state); relations are one
 * compressed row list (rel_start[r] .. rel_start[r+1] into rel_cell and
 * rel_coef, the total with +1, the parts with -1).  The cell -> relations
 * index is built when protecting.
 *
 * The audit works block by block: withheld cells joined by a relation are
 * one block (union-find), and a block's matrix is its relations (rows)
 * restricted to its withheld cells (columns), dense, modulo P = 2^61-1.
 * Only rows with a withheld cell matter: a relation of published cells
 * alone tells nothing new.
 */
#include "server/suppress.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define SUP_P ((uint64_t)0x1FFFFFFFFFFFFFFFull) /* 2^61 - 1, prime */

struct suppress_set {
    int n, cap;            /* cells used / allocated */
    int64_t *count;        /* per cell */
    int64_t *weight;       /* per cell: cost of withholding = count x weight */
    unsigned char *state;  /* per cell, enum suppress_state */
    int nrel, relcap;      /* relations used / allocated (rel_start has nrel+1) */
    int *rel_start;        /* first entry of each relation */
    int nent, entcap;      /* entries used / allocated */
    int *rel_cell;         /* cell of each entry */
    signed char *rel_coef; /* +1 total, -1 part */
    int *inc_start;        /* cell -> relations index (n+1 entries), built by protect */
    int *inc_rel;          /* relations of each cell */
    suppress_stats st;     /* counts for the caller */
};

void
suppress_new(suppress_set **out)
{
    suppress_set *s = xcalloc(1, sizeof(*s));
    s->rel_start = xcalloc(1, sizeof(int));
    s->relcap = 1;
    *out = s;
}

void
suppress_destroy(suppress_set **sp)
{
    suppress_set *s = sp ? *sp : NULL;
    if (!s)
        return;
    free(s->count);
    free(s->weight);
    free(s->state);
    free(s->rel_start);
    free(s->rel_cell);
    free(s->rel_coef);
    free(s->inc_start);
    free(s->inc_rel);
    free(s);
    *sp = NULL;
}

int
suppress_cell(suppress_set *s, int64_t count, int *idx, rz_error *err)
{
    if (count < 0)
        return rz_fail(err, RZ_E_ARG, "suppress: negative count %lld", (long long)count);
    if (s->n >= SUPPRESS_CELLS_MAX)
        return rz_fail(err, RZ_E_TOOBIG, "suppress: more than %d cells", SUPPRESS_CELLS_MAX);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->count = xrealloc(s->count, (size_t)s->cap * sizeof(*s->count));
        s->weight = xrealloc(s->weight, (size_t)s->cap * sizeof(*s->weight));
        s->state = xrealloc(s->state, (size_t)s->cap);
    }
    s->count[s->n] = count;
    s->weight[s->n] = 1;
    s->state[s->n] = SUPPRESS_PUBLISHED;
    *idx = s->n++;
    s->st.cells = s->n;
    return 0;
}

static void
sup_entry_add(suppress_set *s, int cell, int coef)
{
    if (s->nent == s->entcap) {
        s->entcap = s->entcap ? s->entcap * 2 : 1024;
        s->rel_cell = xrealloc(s->rel_cell, (size_t)s->entcap * sizeof(int));
        s->rel_coef = xrealloc(s->rel_coef, (size_t)s->entcap);
    }
    s->rel_cell[s->nent] = cell;
    s->rel_coef[s->nent] = (signed char)coef;
    s->nent++;
}

int
suppress_relation(suppress_set *s, int total, const int *parts, int nparts, rz_error *err)
{
    int i, j;
    if (nparts < 1 || nparts > SUPPRESS_CELLS_MAX)
        return rz_fail(err, RZ_E_ARG, "suppress: a relation needs at least one part");
    if (total < 0 || total >= s->n)
        return rz_fail(err, RZ_E_ARG, "suppress: total cell %d out of range", total);
    for (i = 0; i < nparts; i++) {
        if (parts[i] < 0 || parts[i] >= s->n)
            return rz_fail(err, RZ_E_ARG, "suppress: part cell %d out of range", parts[i]);
        if (parts[i] == total)
            return rz_fail(err, RZ_E_ARG, "suppress: cell %d is its own part", total);
        for (j = 0; j < i; j++)
            if (parts[j] == parts[i])
                return rz_fail(err, RZ_E_ARG, "suppress: cell %d repeated in a relation", parts[i]);
    }
    if (s->nrel + 2 > s->relcap) {
        s->relcap = s->relcap * 2 + 2;
        s->rel_start = xrealloc(s->rel_start, (size_t)s->relcap * sizeof(int));
    }
    sup_entry_add(s, total, 1);
    for (i = 0; i < nparts; i++)
        sup_entry_add(s, parts[i], -1);
    s->nrel++;
    s->rel_start[s->nrel] = s->nent;
    s->st.relations = s->nrel;
    /* A published cell of a new relation may now be part of a structure
     * already indexed: drop the index, protect rebuilds it. */
    free(s->inc_start);
    free(s->inc_rel);
    s->inc_start = s->inc_rel = NULL;
    return 0;
}

void
suppress_weight(suppress_set *s, int idx, int64_t weight)
{
    if (idx >= 0 && idx < s->n && weight >= 1)
        s->weight[idx] = weight;
}

void
suppress_primary(suppress_set *s, int64_t threshold)
{
    int i;
    for (i = 0; i < s->n; i++)
        if (s->state[i] == SUPPRESS_PUBLISHED && s->count[i] > 0 && s->count[i] < threshold) {
            s->state[i] = SUPPRESS_PRIMARY;
            s->st.primary++;
        }
}

int
suppress_ncells(const suppress_set *s)
{
    return s->n;
}

int
suppress_state_of(const suppress_set *s, int idx)
{
    return idx >= 0 && idx < s->n ? s->state[idx] : SUPPRESS_PUBLISHED;
}

int
suppress_withheld(const suppress_set *s, int idx)
{
    return suppress_state_of(s, idx) != SUPPRESS_PUBLISHED;
}

void
suppress_stats_get(const suppress_set *s, suppress_stats *out)
{
    *out = s->st;
}

/* ---- modular arithmetic ------------------------------------------------ */

static uint64_t
sup_mul(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    uint64_t lo = (uint64_t)(r & SUP_P), hi = (uint64_t)(r >> 61);
    uint64_t x = lo + hi; /* 2^61 = 1 (mod P) */
    return x >= SUP_P ? x - SUP_P : x;
}

static uint64_t
sup_sub(uint64_t a, uint64_t b)
{
    return a >= b ? a - b : a + SUP_P - b;
}

static uint64_t
sup_inv(uint64_t a)
{
    uint64_t r = 1, e = SUP_P - 2;
    while (e) {
        if (e & 1)
            r = sup_mul(r, a);
        a = sup_mul(a, a);
        e >>= 1;
    }
    return r;
}

/* ---- audit ---------------------------------------------------------------- */

static int
sup_find(int *parent, int x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* Reduces the rows x cols matrix m to reduced row echelon form and marks
 * in which[] (indexed by column) every column whose echelon row is a unit
 * vector: that cell is a fixed combination of known values. */
static int64_t
sup_rref_units(uint64_t *m, int rows, int cols, unsigned char *unit)
{
    int rank = 0, c, r, i, k;
    int64_t found = 0;
    int *pivot_col = xmalloc((size_t)(rows ? rows : 1) * sizeof(int));
    for (c = 0; c < cols && rank < rows; c++) {
        uint64_t inv, *pr;
        for (r = rank; r < rows && m[(size_t)r * cols + c] == 0; r++)
            ;
        if (r == rows)
            continue;
        if (r != rank)
            for (k = 0; k < cols; k++) {
                uint64_t t = m[(size_t)r * cols + k];
                m[(size_t)r * cols + k] = m[(size_t)rank * cols + k];
                m[(size_t)rank * cols + k] = t;
            }
        pr = &m[(size_t)rank * cols];
        inv = sup_inv(pr[c]);
        for (k = c; k < cols; k++)
            pr[k] = sup_mul(pr[k], inv);
        for (i = 0; i < rows; i++) {
            uint64_t f, *pi;
            if (i == rank || (f = m[(size_t)i * cols + c]) == 0)
                continue;
            pi = &m[(size_t)i * cols];
            for (k = c; k < cols; k++)
                if (pr[k])
                    pi[k] = sup_sub(pi[k], sup_mul(f, pr[k]));
        }
        pivot_col[rank++] = c;
    }
    for (i = 0; i < rank; i++) {
        int nz = 0;
        for (k = pivot_col[i]; k < cols && nz < 2; k++)
            nz += m[(size_t)i * cols + k] != 0;
        if (nz == 1) {
            unit[pivot_col[i]] = 1;
            found++;
        }
    }
    free(pivot_col);
    return found;
}

int
suppress_audit(const suppress_set *s, int64_t *derivable, unsigned char *which, rz_error *err)
{
    int *col = NULL, *parent = NULL, *rel_block = NULL, *blk_cols = NULL, *blk_rows = NULL;
    int *cells_of = NULL, *rows_of = NULL, *cstart = NULL, *rstart = NULL, *pos = NULL;
    unsigned char *unit = NULL;
    uint64_t *m = NULL;
    int64_t total = 0;
    int i, r, e, b, nw = 0, rc = 0;

    *derivable = 0;
    if (which)
        memset(which, 0, (size_t)s->n);
    col = xmalloc((size_t)(s->n ? s->n : 1) * sizeof(int));
    for (i = 0; i < s->n; i++)
        col[i] = s->state[i] != SUPPRESS_PUBLISHED ? nw++ : -1;
    if (nw == 0)
        goto out;
    /* Blocks: withheld cells sharing a relation. */
    parent = xmalloc((size_t)nw * sizeof(int));
    for (i = 0; i < nw; i++)
        parent[i] = i;
    rel_block = xmalloc((size_t)(s->nrel ? s->nrel : 1) * sizeof(int));
    for (r = 0; r < s->nrel; r++) {
        int first = -1;
        for (e = s->rel_start[r]; e < s->rel_start[r + 1]; e++) {
            int c = col[s->rel_cell[e]];
            if (c < 0)
                continue;
            if (first < 0)
                first = c;
            else
                parent[sup_find(parent, c)] = sup_find(parent, first);
        }
        rel_block[r] = first; /* a member, resolved to its root below */
    }
    /* Group columns and rows by root (counting sort). */
    blk_cols = xcalloc((size_t)nw + 1, sizeof(int));
    blk_rows = xcalloc((size_t)nw + 1, sizeof(int));
    for (i = 0; i < nw; i++)
        blk_cols[sup_find(parent, i)]++;
    for (r = 0; r < s->nrel; r++)
        if (rel_block[r] >= 0)
            blk_rows[rel_block[r] = sup_find(parent, rel_block[r])]++;
    cstart = xcalloc((size_t)nw + 1, sizeof(int));
    rstart = xcalloc((size_t)nw + 1, sizeof(int));
    for (b = 0; b < nw; b++) {
        cstart[b + 1] = cstart[b] + blk_cols[b];
        rstart[b + 1] = rstart[b] + blk_rows[b];
    }
    cells_of = xmalloc((size_t)nw * sizeof(int));
    rows_of = xmalloc((size_t)(rstart[nw] ? rstart[nw] : 1) * sizeof(int));
    pos = xmalloc((size_t)nw * sizeof(int));
    memset(blk_cols, 0, (size_t)nw * sizeof(int));
    memset(blk_rows, 0, (size_t)nw * sizeof(int));
    for (i = 0; i < s->n; i++)
        if (col[i] >= 0) {
            b = sup_find(parent, col[i]);
            pos[col[i]] = blk_cols[b];
            cells_of[cstart[b] + blk_cols[b]++] = i;
        }
    for (r = 0; r < s->nrel; r++)
        if (rel_block[r] >= 0) {
            b = rel_block[r];
            rows_of[rstart[b] + blk_rows[b]++] = r;
        }
    for (b = 0; b < nw; b++) {
        int nc = cstart[b + 1] - cstart[b], nr = rstart[b + 1] - rstart[b], k;
        if (nc == 0)
            continue;
        if (nr == 0)
            continue; /* withheld cells in no relation: nothing derives them */
        if ((int64_t)nc * nr > SUPPRESS_AUDIT_MAX) {
            rc = rz_fail(err, RZ_E_TOOBIG,
                         "suppress: a block of %d withheld cells and %d relations is too large "
                         "to audit (at most %lld entries)",
                         nc, nr, (long long)SUPPRESS_AUDIT_MAX);
            goto out;
        }
        m = xcalloc((size_t)nc * nr, sizeof(uint64_t));
        unit = xcalloc((size_t)nc, 1);
        for (k = 0; k < nr; k++) {
            r = rows_of[rstart[b] + k];
            for (e = s->rel_start[r]; e < s->rel_start[r + 1]; e++) {
                int c = col[s->rel_cell[e]];
                if (c >= 0)
                    m[(size_t)k * nc + pos[c]] = s->rel_coef[e] > 0 ? 1 : SUP_P - 1;
            }
        }
        total += sup_rref_units(m, nr, nc, unit);
        if (which)
            for (k = 0; k < nc; k++)
                if (unit[k])
                    which[cells_of[cstart[b] + k]] = 1;
        free(m);
        free(unit);
        m = NULL;
        unit = NULL;
    }
    *derivable = total;
out:
    free(m);
    free(unit);
    free(col);
    free(parent);
    free(rel_block);
    free(blk_cols);
    free(blk_rows);
    free(cstart);
    free(rstart);
    free(cells_of);
    free(rows_of);
    free(pos);
    return rc;
}

/* ---- complementary suppression ------------------------------------------ */

static void
sup_index(suppress_set *s)
{
    int i, r, e, *fill;
    if (s->inc_start)
        return;
    s->inc_start = xcalloc((size_t)s->n + 1, sizeof(int));
    s->inc_rel = xmalloc((size_t)(s->nent ? s->nent : 1) * sizeof(int));
    for (e = 0; e < s->nent; e++)
        s->inc_start[s->rel_cell[e] + 1]++;
    for (i = 0; i < s->n; i++)
        s->inc_start[i + 1] += s->inc_start[i];
    fill = xmalloc((size_t)(s->n ? s->n : 1) * sizeof(int));
    memcpy(fill, s->inc_start, (size_t)s->n * sizeof(int));
    for (r = 0; r < s->nrel; r++)
        for (e = s->rel_start[r]; e < s->rel_start[r + 1]; e++)
            s->inc_rel[fill[s->rel_cell[e]]++] = r;
    free(fill);
}

/* The cost of withholding cell c now: count x weight, divided by
 * SUP_LINKED when c already shares another relation (not `rel`) with a
 * withheld cell.  Preferring such cells closes the withheld cells into
 * cycles (the rectangle of two places x two periods), which protect each
 * other, instead of long chains that the audit then has to cut again. */
#define SUP_LINKED 8
static int64_t
sup_cost(const suppress_set *s, int c, int rel)
{
    int64_t cost = s->count[c] * s->weight[c];
    int k, e;
    for (k = s->inc_start[c]; k < s->inc_start[c + 1]; k++) {
        int r = s->inc_rel[k];
        if (r == rel)
            continue;
        for (e = s->rel_start[r]; e < s->rel_start[r + 1]; e++)
            if (s->rel_cell[e] != c && s->state[s->rel_cell[e]] != SUPPRESS_PUBLISHED)
                return cost / SUP_LINKED + 1;
    }
    return cost + 1;
}

/* Better complement: non-zero before zero (a withheld zero hides
 * nothing), then lower cost, then lower index (deterministic).  Counts are
 * bounded by the data (far below 2^40) and weights by the caller. */
static int
sup_better(const suppress_set *s, int a, int64_t ca, int best, int64_t cb)
{
    int za = s->count[a] == 0, zb;
    if (best < 0)
        return 1;
    zb = s->count[best] == 0;
    if (za != zb)
        return zb;
    if (ca != cb)
        return ca < cb;
    return a < best;
}

static void
sup_withhold(suppress_set *s, int cell)
{
    s->state[cell] = SUPPRESS_COMPLEMENT;
    s->st.complementary++;
}

/* Pair rule to a fixed point; returns the number of cells withheld. */
static int64_t
sup_pairs(suppress_set *s)
{
    int64_t added = 0;
    int changed = 1, r, e;
    while (changed) {
        changed = 0;
        for (r = 0; r < s->nrel; r++) {
            int nw = 0, best = -1;
            int64_t best_cost = 0;
            for (e = s->rel_start[r]; e < s->rel_start[r + 1]; e++)
                nw += s->state[s->rel_cell[e]] != SUPPRESS_PUBLISHED;
            if (nw != 1)
                continue;
            for (e = s->rel_start[r]; e < s->rel_start[r + 1]; e++) {
                int c = s->rel_cell[e];
                int64_t cost;
                if (s->state[c] != SUPPRESS_PUBLISHED)
                    continue;
                cost = sup_cost(s, c, r);
                if (sup_better(s, c, cost, best, best_cost))
                    best = c, best_cost = cost;
            }
            if (nw == 1 && best >= 0) {
                sup_withhold(s, best);
                added++;
                changed = 1;
            }
        }
    }
    return added;
}

/* Withholds the published cell nearest to `cell` in the relation graph
 * (breadth first through withheld cells), the best of the nearest layer.
 * 0 when one was withheld, -1 when every reachable cell is withheld. */
static int
sup_protect_one(suppress_set *s, int cell, int *queue, unsigned char *seen)
{
    int head = 0, tail = 0, layer_end, best = -1, k, e, rc = -1;
    int64_t best_cost = 0;
    queue[tail++] = cell;
    seen[cell] = 1;
    while (head < tail && best < 0) {
        layer_end = tail;
        for (; head < layer_end; head++) {
            int c = queue[head];
            for (k = s->inc_start[c]; k < s->inc_start[c + 1]; k++) {
                int r = s->inc_rel[k];
                for (e = s->rel_start[r]; e < s->rel_start[r + 1]; e++) {
                    int d = s->rel_cell[e];
                    if (s->state[d] == SUPPRESS_PUBLISHED) {
                        int64_t cost = sup_cost(s, d, r);
                        if (sup_better(s, d, cost, best, best_cost))
                            best = d, best_cost = cost;
                    } else if (!seen[d]) {
                        seen[d] = 1;
                        queue[tail++] = d;
                    }
                }
            }
        }
    }
    if (best >= 0) {
        sup_withhold(s, best);
        rc = 0;
    }
    for (k = 0; k < tail; k++)
        seen[queue[k]] = 0;
    return rc;
}

int
suppress_protect(suppress_set *s, rz_error *err)
{
    unsigned char *which = NULL, *seen = NULL;
    int *queue = NULL;
    int64_t derivable = 0;
    int rc = 0, i;

    sup_index(s);
    which = xmalloc((size_t)(s->n ? s->n : 1));
    seen = xcalloc((size_t)(s->n ? s->n : 1), 1);
    queue = xmalloc((size_t)(s->n ? s->n : 1) * sizeof(int));
    for (;;) {
        int added = 0;
        sup_pairs(s);
        s->st.rounds++;
        if ((rc = suppress_audit(s, &derivable, which, err)))
            break;
        if (derivable == 0)
            break;
        for (i = 0; i < s->n; i++)
            if (which[i] && sup_protect_one(s, i, queue, seen) == 0)
                added++;
        s->st.audit_added += added;
        if (added == 0) {
            /* Cannot happen (see suppress.h: with all reachable cells
             * withheld nothing is derivable); refuse rather than publish. */
            rc = rz_fail(err, RZ_E_INTERNAL, "suppress: %lld cells stay derivable",
                         (long long)derivable);
            break;
        }
    }
    free(which);
    free(seen);
    free(queue);
    return rc;
}

int
suppress_run(suppress_set *s, int64_t threshold, rz_error *err)
{
    suppress_primary(s, threshold);
    return suppress_protect(s, err);
}
