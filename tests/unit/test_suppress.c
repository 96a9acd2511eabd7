/*
 * test_suppress: server/suppress.  Small tables whose disclosure is known
 * by hand (a subtraction in a two-district province; a "bridge" cell of a
 * two-way table that the pair rule alone leaves derivable), then many
 * random hierarchical catalogues (national / provinces / districts x
 * quarters / years / fiscal years) checked for the guarantees: every
 * cell under the threshold withheld, no relation with exactly one
 * withheld cell, the audit finds nothing derivable, and primary-only
 * suppression of the same data is caught by the audit when it leaks.
 * Bad input is refused.  Prints its counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/suppress.h"

static int64_t tests_cells, tests_withheld, tests_leaky_primary;

static int
cell(suppress_set *s, int64_t v)
{
    int idx = -1;
    rz_error err;
    assert_int_equal(suppress_cell(s, v, &idx, &err), 0);
    return idx;
}

static void
rel(suppress_set *s, int total, const int *parts, int n)
{
    rz_error err;
    assert_int_equal(suppress_relation(s, total, parts, n, &err), 0);
}

static int64_t
audit(const suppress_set *s, unsigned char *which)
{
    int64_t n = -1;
    rz_error err;
    assert_int_equal(suppress_audit(s, &n, which, &err), 0);
    return n;
}

/* Province 13 = Lahore 3 + Multan 10: primary-only leaks Lahore = 13 - 10. */
static void
test_subtraction(void **state)
{
    suppress_set *s;
    unsigned char which[3];
    int p, d[2];
    rz_error err;
    (void)state;
    suppress_new(&s);
    p = cell(s, 13);
    d[0] = cell(s, 3);
    d[1] = cell(s, 10);
    rel(s, p, d, 2);
    suppress_primary(s, SUPPRESS_THRESHOLD);
    assert_int_equal(suppress_state_of(s, d[0]), SUPPRESS_PRIMARY);
    assert_int_equal(audit(s, which), 1);
    assert_true(which[d[0]]);
    assert_int_equal(suppress_protect(s, &err), 0);
    assert_int_equal(audit(s, NULL), 0);
    /* The smaller published cell is the complement, not the total. */
    assert_int_equal(suppress_state_of(s, d[1]), SUPPRESS_COMPLEMENT);
    assert_int_equal(suppress_state_of(s, p), SUPPRESS_PUBLISHED);
    suppress_destroy(&s);
    assert_null(s);
    suppress_destroy(&s); /* accepts NULL */
}

/*
 * A 4 x 4 table with row, column and grand totals.  Withheld: a 2 x 2
 * cycle in rows 1-2 / columns 1-2, another in rows 3-4 / columns 3-4, and
 * the bridge (2,3).  Every row and column has 0 or >= 2 withheld cells, so
 * the pair rule is satisfied, yet rows 1+2 minus columns 1+2 is x23 alone.
 */
static void
test_bridge_needs_the_audit(void **state)
{
    static const int small[4][4] = {{1, 1, 0, 0}, {1, 1, 1, 0}, {0, 0, 1, 1}, {0, 0, 1, 1}};
    suppress_set *s;
    suppress_stats st;
    unsigned char which[32];
    int x[4][4], rt[4], ct[4], g, i, j, parts[4];
    int64_t rv[4] = {0}, cv[4] = {0}, gv = 0;
    rz_error err;
    (void)state;
    suppress_new(&s);
    for (i = 0; i < 4; i++)
        for (j = 0; j < 4; j++) {
            int64_t v = small[i][j] ? 2 : 20 + i + j;
            x[i][j] = cell(s, v);
            rv[i] += v, cv[j] += v, gv += v;
        }
    for (i = 0; i < 4; i++)
        rt[i] = cell(s, rv[i]);
    for (j = 0; j < 4; j++)
        ct[j] = cell(s, cv[j]);
    g = cell(s, gv);
    for (i = 0; i < 4; i++) {
        for (j = 0; j < 4; j++)
            parts[j] = x[i][j];
        rel(s, rt[i], parts, 4);
    }
    for (j = 0; j < 4; j++) {
        for (i = 0; i < 4; i++)
            parts[i] = x[i][j];
        rel(s, ct[j], parts, 4);
    }
    rel(s, g, rt, 4);
    rel(s, g, ct, 4);
    suppress_primary(s, SUPPRESS_THRESHOLD);
    assert_int_equal(audit(s, which), 1);
    assert_true(which[x[1][2]]);
    assert_int_equal(suppress_protect(s, &err), 0);
    assert_int_equal(audit(s, NULL), 0);
    suppress_stats_get(s, &st);
    assert_int_equal(st.primary, 9);
    assert_true(st.audit_added >= 1);
    assert_true(st.rounds >= 2);
    suppress_destroy(&s);
}

/* xorshift64*: reproducible figures. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t
rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

/* A catalogue-shaped set: np provinces of 1..4 districts, 8 quarters
 * (two calendar years, one fiscal year in between), mostly small counts. */
static void
catalogue_shaped(int trial)
{
    enum { NQ = 8, NT = NQ + 3, MAXP = 40 };
    int np = 1 + (int)(rnd() % 4), nd[4], place = 0, parent[MAXP], level[MAXP];
    int c[MAXP][NT], parts[MAXP], p, q, t, k, n, ncell;
    int64_t v[MAXP][NT];
    suppress_set *s, *naive;
    unsigned char *which;
    int64_t derivable;
    rz_error err;
    static const int quarters[3][4] = {{0, 1, 2, 3}, {4, 5, 6, 7}, {2, 3, 4, 5}};

    memset(v, 0, sizeof(v));
    parent[0] = -1, level[0] = 0, place = 1;
    for (p = 0; p < np; p++) {
        int pr = place++;
        parent[pr] = 0, level[pr] = 1;
        nd[p] = 1 + (int)(rnd() % 4);
        for (k = 0; k < nd[p]; k++) {
            parent[place] = pr, level[place] = 2;
            for (q = 0; q < NQ; q++) {
                uint64_t r = rnd() % 10;
                v[place][q] = r < 3 ? 0 : r < 7 ? (int64_t)(1 + rnd() % 4) : (int64_t)(rnd() % 40);
            }
            place++;
        }
    }
    for (p = place - 1; p > 0; p--)
        for (q = 0; q < NQ; q++)
            v[parent[p]][q] += v[p][q];
    for (p = 0; p < place; p++)
        for (t = 0; t < 3; t++)
            for (k = 0; k < 4; k++)
                v[p][NQ + t] += v[p][quarters[t][k]];

    suppress_new(&s);
    suppress_new(&naive);
    for (p = 0; p < place; p++)
        for (t = 0; t < NT; t++) {
            c[p][t] = cell(s, v[p][t]);
            assert_int_equal(cell(naive, v[p][t]), c[p][t]);
        }
    for (t = 0; t < NT; t++)
        for (p = 0; p < place; p++) {
            if (level[p] == 2)
                continue;
            for (n = 0, k = p + 1; k < place; k++)
                if (parent[k] == p)
                    parts[n++] = c[k][t];
            rel(s, c[p][t], parts, n);
            rel(naive, c[p][t], parts, n);
        }
    for (p = 0; p < place; p++)
        for (t = 0; t < 3; t++) {
            for (k = 0; k < 4; k++)
                parts[k] = c[p][quarters[t][k]];
            rel(s, c[p][NQ + t], parts, 4);
            rel(naive, c[p][NQ + t], parts, 4);
        }
    assert_int_equal(suppress_run(s, SUPPRESS_THRESHOLD, &err), 0);
    suppress_primary(naive, SUPPRESS_THRESHOLD);
    ncell = suppress_ncells(s);
    which = malloc((size_t)ncell);
    assert_non_null(which);
    assert_int_equal(audit(s, which), 0);
    for (k = 0; k < ncell; k++) {
        int64_t val = v[k / NT][k % NT];
        if (val > 0 && val < SUPPRESS_THRESHOLD)
            assert_int_equal(suppress_state_of(s, k), SUPPRESS_PRIMARY);
        tests_withheld += suppress_withheld(s, k);
    }
    tests_cells += ncell;
    /* The same data with primary suppression only: the audit must see
     * what it gives away whenever a withheld cell sits alone in a
     * relation (a subtraction anyone can do). */
    derivable = audit(naive, NULL);
    {
        int alone = 0, r;
        for (t = 0; t < NT && !alone; t++)
            for (p = 0; p < place && !alone; p++) {
                if (level[p] == 2)
                    continue;
                r = suppress_withheld(naive, c[p][t]);
                for (k = p + 1; k < place; k++)
                    if (parent[k] == p)
                        r += suppress_withheld(naive, c[k][t]);
                alone = r == 1;
            }
        if (alone)
            assert_true(derivable > 0);
    }
    if (derivable > 0)
        tests_leaky_primary++;
    (void)trial;
    free(which);
    suppress_destroy(&s);
    suppress_destroy(&naive);
}

static void
test_random_catalogues(void **state)
{
    int trial;
    (void)state;
    for (trial = 0; trial < 300; trial++)
        catalogue_shaped(trial);
    /* Most random catalogues leak under primary-only suppression. */
    assert_true(tests_leaky_primary > 100);
}

static void
test_nothing_small_nothing_withheld(void **state)
{
    suppress_set *s;
    int t, p[2];
    rz_error err;
    (void)state;
    suppress_new(&s);
    t = cell(s, 12);
    p[0] = cell(s, 0); /* zeros are published */
    p[1] = cell(s, 12);
    rel(s, t, p, 2);
    assert_int_equal(suppress_run(s, SUPPRESS_THRESHOLD, &err), 0);
    assert_false(suppress_withheld(s, t) || suppress_withheld(s, p[0]) ||
                 suppress_withheld(s, p[1]));
    assert_int_equal(audit(s, NULL), 0);
    suppress_destroy(&s);
}

static void
test_bad_input(void **state)
{
    suppress_set *s;
    int a, b, parts[2];
    rz_error err;
    (void)state;
    suppress_new(&s);
    assert_int_equal(suppress_cell(s, -1, &a, &err), RZ_E_ARG);
    a = cell(s, 7);
    b = cell(s, 7);
    parts[0] = b, parts[1] = b;
    assert_int_equal(suppress_relation(s, a, parts, 2, &err), RZ_E_ARG); /* repeated */
    parts[0] = a;
    assert_int_equal(suppress_relation(s, a, parts, 1, &err), RZ_E_ARG); /* its own part */
    parts[0] = 5;
    assert_int_equal(suppress_relation(s, a, parts, 1, &err), RZ_E_ARG); /* out of range */
    assert_int_equal(suppress_relation(s, 9, parts, 1, &err), RZ_E_ARG);
    assert_int_equal(suppress_relation(s, a, parts, 0, &err), RZ_E_ARG);
    assert_int_equal(suppress_state_of(s, 99), SUPPRESS_PUBLISHED);
    suppress_destroy(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subtraction),
        cmocka_unit_test(test_bridge_needs_the_audit),
        cmocka_unit_test(test_random_catalogues),
        cmocka_unit_test(test_nothing_small_nothing_withheld),
        cmocka_unit_test(test_bad_input),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    printf("suppress: %lld cells in 300 random catalogues, %lld withheld, audit clean; "
           "primary-only leaked in %lld of them\n",
           (long long)tests_cells, (long long)tests_withheld, (long long)tests_leaky_primary);
    return rc;
}
