/*
 * test_node_find: client/node_find.c and the short codes of node_store.
 * Finding a person by part of a name (Urdu substring, ASCII case), by CNIC
 * with or without dashes, by phone in every common form, by short code;
 * paging and totals; short codes (forgiving typing, the check symbol
 * catches a mistyped or swapped symbol, kind checks); the duplicate check
 * (CNIC, phone, name + birth year; the record itself excluded); events
 * upcoming and past; an event's attendance list with counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/node_find.h"
#include "client/node_store.h"
#include "common/domain.h"
#include "node_fixture.h"

static int
setup(void **state)
{
    return node_fixture_setup(state, "node-find");
}

static void
add_person(fixture *f, const char *name, const char *cnic, const char *phone, uint64_t year,
           uint8_t id[NODE_REC_ID_BYTES])
{
    node_person p;
    rz_error err = {0, ""};
    memset(&p, 0, sizeof p);
    p.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_GENDER);
    p.name = name;
    p.gender = RZ_G_FEMALE;
    if (cnic)
        p.set |= NODE_SET(RZ_PF_CNIC), p.cnic = cnic;
    if (phone)
        p.set |= NODE_SET(RZ_PF_PHONE), p.phone = phone;
    if (year)
        p.set |= NODE_SET(RZ_PF_BIRTH_YEAR), p.birth_year = year;
    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
}

static void
add_event(fixture *f, const char *title, uint32_t date, uint8_t id[NODE_REC_ID_BYTES])
{
    node_event e;
    rz_error err = {0, ""};
    memset(&e, 0, sizeof e);
    e.set = NODE_SET(RZ_EF_KIND) | NODE_SET(RZ_EF_TITLE) | NODE_SET(RZ_EF_DATE);
    e.kind = RZ_EK_TRAINING;
    e.title = title;
    e.date = date;
    assert_int_equal(node_store_event_add(f->ns, &e, id, &err), 0);
}

/* Collected names of a search, in order. */
typedef struct names {
    char v[16][64]; /* names seen */
    int n;          /* how many */
    int states[16]; /* roster states */
} names;

static int
collect(void *ctx, const node_person_row *r)
{
    names *c = ctx;
    if (c->n < 16)
        snprintf(c->v[c->n++], 64, "%s", r->f.name);
    return 0;
}

static int
collect_roster(void *ctx, const node_person_row *r, int state)
{
    names *c = ctx;
    if (c->n < 16)
        c->states[c->n] = state;
    return collect(ctx, r);
}

static int
collect_event(void *ctx, const node_event_row *r)
{
    names *c = ctx;
    if (c->n < 16)
        snprintf(c->v[c->n++], 64, "%s", r->f.title);
    return 0;
}

/* Names found for text, comma-joined, and the total. */
static const char *
find(fixture *f, const char *text, size_t *total)
{
    static char out[512];
    names c;
    rz_error err = {0, ""};
    int i;
    memset(&c, 0, sizeof c);
    assert_int_equal(node_find_persons(f->ns, text, 0, 0, 0, collect, &c, total, &err), 0);
    out[0] = '\0';
    for (i = 0; i < c.n; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? "," : "", c.v[i]);
    return out;
}

static void
test_find_by_name_cnic_phone(void **state)
{
    fixture *f = *state;
    uint8_t id[NODE_REC_ID_BYTES];
    size_t total = 99;
    add_person(f, "Ayesha Khan", "35202-1234567-1", "0300-1234567", 2001, id);
    add_person(f, "عائشہ بی بی", "3520276543210", "+92 321 7654321", 1999, id);
    add_person(f, "Bilal Ahmed", NULL, "042-35761234", 1990, id);
    add_person(f, "khalid", "12345", "abc", 0, id); /* invalid CNIC and phone kept */

    /* Part of a name, any ASCII case. */
    assert_string_equal(find(f, "KHAN", &total), "Ayesha Khan");
    assert_int_equal(total, 1);
    assert_string_equal(find(f, "  aye ", &total), "Ayesha Khan");
    assert_string_equal(find(f, "kha", &total), "Ayesha Khan,khalid");
    assert_int_equal(total, 2);
    /* Urdu: a substring of the UTF-8 name. */
    assert_string_equal(find(f, "بی", &total), "عائشہ بی بی");
    assert_string_equal(find(f, "عائشہ", NULL), "عائشہ بی بی");
    /* CNIC with or without dashes, whole or in part. */
    assert_string_equal(find(f, "3520212345671", NULL), "Ayesha Khan");
    assert_string_equal(find(f, "35202-1234567-1", NULL), "Ayesha Khan");
    assert_string_equal(find(f, "35202-76543", NULL), "عائشہ بی بی");
    /* Phone in any common form, stored as +92...; a landline too. */
    assert_string_equal(find(f, "03001234567", NULL), "Ayesha Khan");
    assert_string_equal(find(f, "+92 300 1234567", NULL), "Ayesha Khan");
    assert_string_equal(find(f, "00923001234567", NULL), "Ayesha Khan");
    assert_string_equal(find(f, "0321-7654321", NULL), "عائشہ بی بی");
    assert_string_equal(find(f, "(042) 3576-1234", NULL), "Bilal Ahmed");
    /* Nothing, and everything. */
    assert_string_equal(find(f, "zzz", &total), "");
    assert_int_equal(total, 0);
    find(f, "", &total);
    assert_int_equal(total, 4);
    /* Two digits are too few to search numbers (they would match most). */
    find(f, "35", &total);
    assert_int_equal(total, 0);
}

static void
test_find_pages_and_deleted(void **state)
{
    fixture *f = *state;
    uint8_t id[NODE_REC_ID_BYTES], first[NODE_REC_ID_BYTES];
    char name[32];
    names c;
    size_t total = 0;
    rz_error err = {0, ""};
    int i;
    for (i = 0; i < 12; i++) {
        snprintf(name, sizeof name, "Person %02d", i);
        add_person(f, name, NULL, NULL, 0, i == 0 ? first : id);
    }
    memset(&c, 0, sizeof c);
    assert_int_equal(node_find_persons(f->ns, "person", 0, 5, 5, collect, &c, &total, &err), 0);
    assert_int_equal(total, 12);
    assert_int_equal(c.n, 5);
    assert_string_equal(c.v[0], "Person 05");
    assert_string_equal(c.v[4], "Person 09");
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, first, 16, 1, &err), 0);
    find(f, "person", &total);
    assert_int_equal(total, 11);
    memset(&c, 0, sizeof c);
    assert_int_equal(node_find_persons(f->ns, "person 00", 1, 0, 0, collect, &c, &total, &err), 0);
    assert_int_equal(total, 1);
    /* A search text that is not clean UTF-8 is refused, not run. */
    assert_int_equal(node_find_persons(f->ns, "\xff\xfe", 0, 0, 0, collect, &c, NULL, &err),
                     RZ_E_ARG);
}

static void
test_short_codes(void **state)
{
    fixture *f = *state;
    uint8_t p1[NODE_REC_ID_BYTES], p2[NODE_REC_ID_BYTES], ev[NODE_REC_ID_BYTES];
    uint8_t got[NODE_REC_ID_BYTES], table = 0;
    char c1[NODE_CODE_MAX], c2[NODE_CODE_MAX], ce[NODE_CODE_MAX], typed[NODE_CODE_MAX + 4];
    char hex[2 * NODE_REC_ID_BYTES + 1];
    rz_error err = {0, ""};
    size_t total;
    int i, j, caught = 0, tries = 0;

    add_person(f, "Sana", NULL, NULL, 0, p1);
    add_person(f, "Omar", NULL, NULL, 0, p2);
    add_event(f, "Freelancing 101", 20260310, ev);
    assert_int_equal(node_store_code(f->ns, p1, c1, &err), 0);
    assert_int_equal(node_store_code(f->ns, p2, c2, &err), 0);
    assert_int_equal(node_store_code(f->ns, ev, ce, &err), 0);
    assert_int_equal(strlen(c1), 4);
    assert_string_not_equal(c1, c2);
    assert_string_not_equal(c2, ce);

    /* Typed back in any case, with a dash, or the full id. */
    assert_int_equal(node_store_resolve(f->ns, c2, RZ_T_PERSON, got, &table, &err), 0);
    assert_memory_equal(got, p2, 16);
    assert_int_equal(table, RZ_T_PERSON);
    snprintf(typed, sizeof typed, "%c%c-%c%c", c2[0] + (c2[0] >= 'A' ? 32 : 0), c2[1], c2[2],
             c2[3]);
    assert_int_equal(node_store_resolve(f->ns, typed, 0, got, &table, &err), 0);
    assert_memory_equal(got, p2, 16);
    node_id_format(hex, ev);
    assert_int_equal(node_store_resolve(f->ns, hex, 0, got, &table, &err), 0);
    assert_int_equal(table, RZ_T_EVENT);
    /* An event's code is not a person. */
    assert_int_equal(node_store_resolve(f->ns, ce, RZ_T_PERSON, got, NULL, &err), RZ_E_NOTFOUND);
    assert_non_null(strstr(err.text, "event"));
    /* The rows read back carry the code; find opens a record by code. */
    assert_string_equal(find(f, c1, &total), "Sana");
    assert_int_equal(total, 1);

    /* Every single-symbol change and every swap of neighbours of a code
     * is caught by the check symbol (or names no record). */
    for (i = 0; i < 4; i++) {
        static const char sym[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        for (j = 0; sym[j]; j++) {
            if (sym[j] == c1[i])
                continue;
            snprintf(typed, sizeof typed, "%s", c1);
            typed[i] = sym[j];
            tries++;
            if (node_store_resolve(f->ns, typed, 0, got, NULL, &err) != 0 ||
                memcmp(got, p1, 16) != 0)
                caught++;
            assert_false(node_store_resolve(f->ns, typed, 0, got, NULL, &err) == 0 &&
                         memcmp(got, p1, 16) == 0);
        }
    }
    assert_int_equal(caught, tries);
    for (i = 0; i < 3; i++) {
        snprintf(typed, sizeof typed, "%s", c1);
        if (typed[i] == typed[i + 1])
            continue;
        typed[i] = c1[i + 1];
        typed[i + 1] = c1[i];
        assert_int_not_equal(node_store_resolve(f->ns, typed, 0, got, NULL, &err), 0);
    }
    /* Neither form. */
    assert_int_equal(node_store_resolve(f->ns, "hello!", 0, got, NULL, &err), RZ_E_ARG);
    assert_int_equal(node_store_resolve(f->ns, "", 0, got, NULL, &err), RZ_E_ARG);
    /* Formatting is stable: number 1 is "0011" (digits 001, check 1). */
    node_code_format(typed, 1);
    assert_string_equal(typed, "0011");
    node_code_format(typed, 32768);
    assert_string_equal(typed, "1000V"); /* 32768 mod 29 = 27 -> V */
}

static int
collect_dup(void *ctx, const node_person_row *r, unsigned why)
{
    unsigned *w = ctx;
    (void)r;
    *w |= why;
    return 0;
}

static void
test_duplicates(void **state)
{
    fixture *f = *state;
    uint8_t a[NODE_REC_ID_BYTES], b[NODE_REC_ID_BYTES];
    node_person q;
    rz_error err = {0, ""};
    unsigned why;
    size_t n;

    add_person(f, "Ayesha Khan", "35202-1234567-1", "0300-1234567", 2001, a);
    add_person(f, "Zara", NULL, NULL, 1995, b);

    memset(&q, 0, sizeof q);
    q.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_CNIC);
    q.name = "Someone Else";
    q.cnic = "3520212345671"; /* same CNIC, typed without dashes */
    why = 0;
    assert_int_equal(node_find_duplicates(f->ns, &q, NULL, collect_dup, &why, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(why, NODE_DUP_CNIC);

    q.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_PHONE);
    q.phone = "+92 300 1234567";
    why = 0;
    assert_int_equal(node_find_duplicates(f->ns, &q, NULL, collect_dup, &why, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(why, NODE_DUP_PHONE);

    /* Same name (case and outer blanks aside) and birth year. */
    q.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_BIRTH_YEAR);
    q.name = "  ayesha KHAN ";
    q.birth_year = 2001;
    why = 0;
    assert_int_equal(node_find_duplicates(f->ns, &q, NULL, collect_dup, &why, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(why, NODE_DUP_NAME_YEAR);
    /* Another year is another person; the record itself is no duplicate. */
    q.birth_year = 2002;
    assert_int_equal(node_find_duplicates(f->ns, &q, NULL, NULL, NULL, &n, &err), 0);
    assert_int_equal(n, 0);
    q.birth_year = 2001;
    assert_int_equal(node_find_duplicates(f->ns, &q, a, NULL, NULL, &n, &err), 0);
    assert_int_equal(n, 0);
    /* All three at once, one record, every reason. */
    q.set |= NODE_SET(RZ_PF_CNIC) | NODE_SET(RZ_PF_PHONE);
    q.cnic = "35202-1234567-1";
    q.phone = "03001234567";
    why = 0;
    assert_int_equal(node_find_duplicates(f->ns, &q, NULL, collect_dup, &why, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(why, NODE_DUP_CNIC | NODE_DUP_PHONE | NODE_DUP_NAME_YEAR);
    /* Invalid values never match: "abc" is no phone, "12" no CNIC. */
    add_person(f, "X", "12", "abc", 0, b);
    q.set = NODE_SET(RZ_PF_CNIC) | NODE_SET(RZ_PF_PHONE);
    q.cnic = "12";
    q.phone = "abc";
    assert_int_equal(node_find_duplicates(f->ns, &q, NULL, NULL, NULL, &n, &err), 0);
    assert_int_equal(n, 0);
    /* A deleted record is still reported (the app offers to undelete). */
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, a, 16, 1, &err), 0);
    q.set = NODE_SET(RZ_PF_CNIC);
    q.cnic = "35202-1234567-1";
    assert_int_equal(node_find_duplicates(f->ns, &q, NULL, NULL, NULL, &n, &err), 0);
    assert_int_equal(n, 1);
}

static void
test_events_upcoming_and_past(void **state)
{
    fixture *f = *state;
    uint8_t id[NODE_REC_ID_BYTES];
    names c;
    size_t total;
    rz_error err = {0, ""};
    add_event(f, "Old A", 20250101, id);
    add_event(f, "Old B", 20260201, id);
    add_event(f, "Today", 20260315, id);
    add_event(f, "Soon", 20260320, id);
    add_event(f, "Later", 20261201, id);
    memset(&c, 0, sizeof c);
    assert_int_equal(node_find_events(f->ns, NULL, NODE_WHEN_UPCOMING, 20260315, 0, 0, 0,
                                      collect_event, &c, &total, &err),
                     0);
    assert_int_equal(total, 3);
    assert_string_equal(c.v[0], "Today");
    assert_string_equal(c.v[1], "Soon");
    assert_string_equal(c.v[2], "Later");
    memset(&c, 0, sizeof c);
    assert_int_equal(node_find_events(f->ns, "", NODE_WHEN_PAST, 20260315, 0, 0, 0, collect_event,
                                      &c, &total, &err),
                     0);
    assert_int_equal(total, 2);
    assert_string_equal(c.v[0], "Old B");
    assert_string_equal(c.v[1], "Old A");
    memset(&c, 0, sizeof c);
    assert_int_equal(node_find_events(f->ns, "old", NODE_WHEN_ALL, 20260315, 0, 0, 1, collect_event,
                                      &c, &total, &err),
                     0);
    assert_int_equal(total, 2);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0], "Old B");
    assert_int_equal(node_find_events(f->ns, NULL, 7, 0, 0, 0, 0, collect_event, &c, NULL, &err),
                     RZ_E_ARG);
}

static void
test_roster(void **state)
{
    fixture *f = *state;
    uint8_t ev[NODE_REC_ID_BYTES], a[NODE_REC_ID_BYTES], b[NODE_REC_ID_BYTES], d[NODE_REC_ID_BYTES],
        x[NODE_REC_ID_BYTES];
    node_roster_counts k;
    names c;
    rz_error err = {0, ""};
    uint8_t key[32];

    add_event(f, "Bootcamp", 20260310, ev);
    add_person(f, "Amina", NULL, NULL, 0, a);
    add_person(f, "Bushra", NULL, NULL, 0, b);
    add_person(f, "Dania", NULL, NULL, 0, d);
    add_person(f, "Xeno", NULL, NULL, 0, x);
    assert_int_equal(node_store_attend(f->ns, ev, a, 1, &err), 0);
    assert_int_equal(node_store_attend(f->ns, ev, b, 0, &err), 0);
    assert_int_equal(node_store_attend(f->ns, ev, d, 1, &err), 0);
    /* A deleted marking is "not marked"; a deleted person is not listed. */
    memcpy(key, ev, 16);
    memcpy(key + 16, d, 16);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_ATTENDANCE, key, 32, 1, &err), 0);
    assert_int_equal(node_store_attend(f->ns, ev, x, 1, &err), 0);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, x, 16, 1, &err), 0);

    memset(&c, 0, sizeof c);
    assert_int_equal(node_find_roster(f->ns, ev, NULL, 0, 0, 0, collect_roster, &c, &k, &err), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0], "Amina");
    assert_int_equal(c.states[0], NODE_ATT_PRESENT);
    assert_int_equal(c.states[1], NODE_ATT_ABSENT);
    assert_int_equal(c.states[2], NODE_ATT_NONE);
    assert_int_equal(k.present, 1);
    assert_int_equal(k.absent, 1);
    assert_int_equal(k.people, 3);
    assert_int_equal(k.matching, 3);
    /* Searchable; the counts stay those of the event. */
    memset(&c, 0, sizeof c);
    assert_int_equal(node_find_roster(f->ns, ev, "bush", 0, 0, 0, collect_roster, &c, &k, &err), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(k.matching, 1);
    assert_int_equal(k.present, 1);
    /* Ticking updates the counts. */
    assert_int_equal(node_store_attend(f->ns, ev, b, 1, &err), 0);
    memset(&c, 0, sizeof c);
    assert_int_equal(node_find_roster(f->ns, ev, NULL, 1, 0, 0, collect_roster, &c, &k, &err), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(k.present, 2);
    assert_int_equal(k.absent, 0);
    assert_int_equal(k.matching, 2);
    /* No such event. */
    assert_int_equal(node_find_roster(f->ns, a, NULL, 0, 0, 0, collect_roster, &c, &k, &err),
                     RZ_E_NOTFOUND);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find_by_name_cnic_phone, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_find_pages_and_deleted, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_short_codes, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_events_upcoming_and_past, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_roster, setup, node_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
