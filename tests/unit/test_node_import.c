/*
 * test_node_import: client/node_import.c, spreadsheets into the node.
 * Headers in any case and spacing with synonyms, unknown columns listed;
 * the preview; every bad row with its line (quoted line breaks counted);
 * DD/MM/YYYY dates; a NUL byte or bad UTF-8 refuses the row instead of
 * cutting a name; all or nothing; a dry run records nothing; importing the
 * same file again, or a longer version, adds nothing twice; a row that only
 * resembles a person held here is recorded and listed, never merged;
 * events and attendance (by title and date, by CNIC, by code); a semicolon
 * file; and a 100,000-row import whose time is printed (RZ_IMPORT_BIG_ROWS
 * changes the size; no assertion on time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "client/node_find.h"
#include "client/node_import.h"
#include "client/node_store.h"
#include "node_fixture.h"

static int
setup(void **state)
{
    return node_fixture_setup(state, "node-import");
}

/* Imports text (len bytes; 0 = strlen) as kind; returns the code. */
static int
import_text(fixture *f, int kind, const char *text, size_t len, int dry_run, node_import_report *r)
{
    rz_error err = {0, ""};
    FILE *in;
    int rc;
    if (!len)
        len = strlen(text);
    in = fmemopen((void *)text, len, "rb");
    assert_non_null(in);
    rc = node_import_csv(f->ns, kind, in, dry_run, NULL, NULL, r, &err);
    fclose(in);
    return rc;
}

static int64_t
count(fixture *f, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    assert_int_equal(sqlite3_prepare_v2(node_store_db(f->ns), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The problem reported for line, or NULL. */
static const char *
problem_at(const node_import_report *r, unsigned long line)
{
    size_t i;
    for (i = 0; i < r->nproblems; i++)
        if (r->problems[i].line == line)
            return r->problems[i].reason;
    return NULL;
}

static const char people[] =
    "\xef\xbb\xbf Full Name ,CNIC No,MOBILE,DOB/Year of birth,district,M/F,Remarks\r\n"
    "Ayesha Khan,35202-1234567-1,0300-1234567,12/05/2001,Lahore,F,first\r\n"
    "\"Khan, Bilal\",,+92 321 7654321,1990,Multan,M,\"two\r\nlines\"\r\n"
    "عائشہ بی بی,3520276543210,abc,1999,Lahore,female,\r\n"
    "\r\n"
    "Sara,,,2004,Islamabad,f,\r\n";

static void
test_headers_preview_and_import(void **state)
{
    fixture *f = *state;
    node_import_report r;
    memset(&r, 0, sizeof r);
    assert_int_equal(import_text(f, NODE_IMPORT_PEOPLE, people, 0, 0, &r), 0);
    assert_int_equal(r.ncols, 7);
    assert_string_equal(r.cols[0].header, "Full Name");
    assert_int_equal(r.cols[0].field, RZ_PF_NAME);
    assert_int_equal(r.cols[1].field, RZ_PF_CNIC);
    assert_int_equal(r.cols[2].field, RZ_PF_PHONE);
    assert_int_equal(r.cols[3].field, RZ_PF_BIRTH_YEAR);
    assert_int_equal(r.cols[5].field, RZ_PF_GENDER);
    assert_int_equal(r.cols[6].field, 0); /* Remarks: listed, not imported */
    assert_string_equal(r.cols[6].field_name, "");
    /* The preview: first rows as read, with their lines. */
    assert_int_equal(r.npreview, 4);
    assert_string_equal(r.preview[0][0], "Ayesha Khan");
    assert_string_equal(r.preview[1][0], "Khan, Bilal");
    assert_string_equal(r.preview[1][6], "two\r\nlines");
    assert_int_equal(r.preview_line[2], 5); /* the quoted line break counts */
    assert_int_equal(r.preview_line[3], 7); /* the blank line is skipped */
    assert_int_equal(r.rows, 4);
    assert_int_equal(r.added, 4);
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.warned, 1); /* the phone "abc" */
    assert_non_null(strstr(problem_at(&r, 5), "phone"));
    assert_int_equal(r.committed, 1);
    assert_int_equal(count(f, "SELECT count(*) FROM person"), 4);
    /* DD/MM/YYYY as a date of birth gives the year; values stored canonically. */
    assert_int_equal(count(f, "SELECT birth_year FROM person WHERE name='Ayesha Khan'"), 2001);
    assert_int_equal(count(f, "SELECT count(*) FROM person WHERE phone='+923001234567'"
                              " AND cnic='3520212345671'"),
                     1);
    assert_int_equal(count(f, "SELECT count(*) FROM person WHERE name='عائشہ بی بی'"), 1);
    node_import_report_free(&r);
}

static void
test_bad_rows_all_or_nothing(void **state)
{
    fixture *f = *state;
    node_import_report r;
    /* Line 3 holds a NUL inside a name; today's importer cut the name. */
    static const char text[] = "name,gender,birth year,reg date\n"
                               "Good One,f,2001,14/03/2026\n"
                               "Bad\0Name,f,2000,2026-03-14\n"
                               "\"Multi\nline\",q,2000,\n"
                               "Bad Date,m,1999,31/02/2026\n"
                               "Bad \xc3\x28 UTF8,m,1999,\n"
                               "Year,m,19x9,\n"
                               ",m,1999,\n"
                               "Too,m,1999,,extra\n";
    memset(&r, 0, sizeof r);
    assert_int_equal(import_text(f, NODE_IMPORT_PEOPLE, text, sizeof text - 1, 0, &r), RZ_E_ARG);
    assert_int_equal(r.rows, 8);
    assert_int_equal(r.bad, 7);
    assert_null(problem_at(&r, 2));
    assert_non_null(strstr(problem_at(&r, 3), "NUL"));
    /* starts on line 4, spans 5; a line break has no place in a name */
    assert_non_null(strstr(problem_at(&r, 4), "name: The name holds characters"));
    assert_non_null(strstr(problem_at(&r, 6), "registration date"));
    assert_non_null(strstr(problem_at(&r, 6), "DD/MM/YYYY"));
    assert_non_null(strstr(problem_at(&r, 7), "UTF-8"));
    assert_non_null(strstr(problem_at(&r, 8), "birth year"));
    assert_non_null(strstr(problem_at(&r, 9), "name is missing"));
    assert_non_null(strstr(problem_at(&r, 10), "more cells"));
    assert_int_equal(r.added, 0);
    assert_int_equal(r.committed, 0);
    /* Nothing at all was recorded: not even the good row. */
    assert_int_equal(count(f, "SELECT count(*) FROM person"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM log"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM import_row"), 0);
    node_import_report_free(&r);

    /* A header without the needed columns; an empty file. */
    memset(&r, 0, sizeof r);
    assert_int_equal(import_text(f, NODE_IMPORT_PEOPLE, "nom,genre\nA,f\n", 0, 0, &r), RZ_E_ARG);
    assert_non_null(strstr(problem_at(&r, 1), "name"));
    node_import_report_free(&r);
    assert_int_equal(import_text(f, NODE_IMPORT_PEOPLE, "", 0, 0, &r), RZ_E_ARG);
    assert_non_null(strstr(problem_at(&r, 1), "empty"));
    /* A quote never closed. */
    assert_int_equal(import_text(f, NODE_IMPORT_PEOPLE, "name,gender\n\"A,f\n", 0, 0, &r),
                     RZ_E_ARG);
    assert_non_null(strstr(problem_at(&r, 2), "never closed"));
    node_import_report_free(&r);
}

static void
test_reimport_adds_nothing_twice(void **state)
{
    fixture *f = *state;
    node_import_report r;
    static const char v1[] = "name,gender,cnic,birth_year\n"
                             "A One,f,35202-1111111-1,2000\n"
                             "B Two,m,,1990\n" /* no CNIC: recognised by its content */
                             "C Three,f,,1985\n";
    static const char v2[] = "name,gender,cnic,birth_year\n"
                             "A One,f,35202-1111111-1,2000\n"
                             "B Two,m,,1990\n"
                             "C Three,f,,1985\n"
                             "D Four,m,,1970\n"
                             "A One Renamed,f,3520211111111,2000\n"; /* same CNIC */
    memset(&r, 0, sizeof r);
    /* A dry run reports what would happen and records nothing. */
    assert_int_equal(import_text(f, NODE_IMPORT_PEOPLE, v1, 0, 1, &r), 0);
    assert_int_equal(r.added, 3);
    assert_int_equal(r.committed, 0);
    assert_int_equal(count(f, "SELECT count(*) FROM person"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM log"), 0);
    assert_int_equal(import_text(f, NODE_IMPORT_PEOPLE, v1, 0, 0, &r), 0);
    assert_int_equal(r.added, 3);
    assert_int_equal(count(f, "SELECT count(*) FROM person"), 3);
    /* The same file again. */
    assert_int_equal(import_text(f, NODE_IMPORT_PEOPLE, v1, 0, 0, &r), 0);
    assert_int_equal(r.added, 0);
    assert_int_equal(r.known, 3);
    assert_int_equal(count(f, "SELECT count(*) FROM person"), 3);
    assert_int_equal(count(f, "SELECT count(*) FROM log"), 3);
    /* A longer version: only the new row. */
    assert_int_equal(import_text(f, NODE_IMPORT_PEOPLE, v2, 0, 0, &r), 0);
    assert_int_equal(r.added, 1);
    assert_int_equal(r.known, 4);
    assert_int_equal(count(f, "SELECT count(*) FROM person"), 4);
    assert_int_equal(count(f, "SELECT count(*) FROM person WHERE name='A One Renamed'"), 0);
    node_import_report_free(&r);
}

static void
test_possible_duplicates_listed_not_merged(void **state)
{
    fixture *f = *state;
    node_import_report r;
    uint8_t id[NODE_REC_ID_BYTES];
    char code[NODE_CODE_MAX];
    node_person p;
    rz_error err = {0, ""};
    memset(&p, 0, sizeof p);
    p.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_GENDER) | NODE_SET(RZ_PF_BIRTH_YEAR) |
            NODE_SET(RZ_PF_PHONE);
    p.name = "Fatima Noor";
    p.gender = RZ_G_FEMALE;
    p.birth_year = 1998;
    p.phone = "0333-1234567";
    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    assert_int_equal(node_store_code(f->ns, id, code, &err), 0);
    memset(&r, 0, sizeof r);
    assert_int_equal(import_text(f, NODE_IMPORT_PEOPLE,
                                 "name,gender,birth year,phone\n"
                                 "FATIMA NOOR,f,1998,\n"
                                 "Someone,m,1990,+923331234567\n"
                                 "Fatima Noor,f,1999,\n",
                                 0, 0, &r),
                     0);
    assert_int_equal(r.added, 3);
    assert_int_equal(r.ndups_all, 2);
    assert_int_equal(r.dups[0].line, 2);
    assert_int_equal(r.dups[0].why, NODE_DUP_NAME_YEAR);
    assert_memory_equal(r.dups[0].id, id, 16);
    assert_string_equal(r.dups[0].code, code);
    assert_int_equal(r.dups[1].line, 3);
    assert_int_equal(r.dups[1].why, NODE_DUP_PHONE);
    assert_int_equal(count(f, "SELECT count(*) FROM person"), 4); /* never merged */
    node_import_report_free(&r);
}

static void
test_events_and_attendance(void **state)
{
    fixture *f = *state;
    node_import_report r;
    uint8_t id[NODE_REC_ID_BYTES];
    char code[NODE_CODE_MAX], att[512];
    memset(&r, 0, sizeof r);
    assert_int_equal(import_text(f, NODE_IMPORT_PEOPLE,
                                 "name,gender,cnic\nAmina,f,35202-2222222-2\nBilal,m,\n", 0, 0, &r),
                     0);
    /* Semicolon-separated, as some Excel locales write. */
    assert_int_equal(import_text(f, NODE_IMPORT_EVENTS,
                                 "Event Type;Event Name;Date;Duration (min);Mode\n"
                                 "Training;Freelancing 101;14/03/2026;90;in-person\n"
                                 "workshop;Excel;2026-03-20;;online\n",
                                 0, 0, &r),
                     0);
    assert_int_equal(r.added, 2);
    assert_int_equal(count(f, "SELECT date FROM event WHERE title='Freelancing 101'"), 20260314);
    assert_int_equal(import_text(f, NODE_IMPORT_EVENTS,
                                 "Event Type;Event Name;Date;Duration (min);Mode\n"
                                 "Training;Freelancing 101;2026-03-14;90;in-person\n",
                                 0, 0, &r),
                     0);
    assert_int_equal(r.added, 0); /* the same content in the other date form */
    /* Bilal by his code, Amina by her CNIC; the event by title and date. */
    {
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(node_store_db(f->ns),
                                            "SELECT id FROM person WHERE name='Bilal'", -1, &st,
                                            NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        memcpy(id, sqlite3_column_blob(st, 0), 16);
        sqlite3_finalize(st);
    }
    assert_int_equal(node_store_code(f->ns, id, code, NULL), 0);
    snprintf(att, sizeof att,
             "Event Title,Event Date,CNIC No,Person,Present\n"
             "Freelancing 101,14/03/2026,35202-2222222-2,,P\n"
             "Freelancing 101,14/03/2026,,%s,absent\n",
             code);
    assert_int_equal(import_text(f, NODE_IMPORT_ATTENDANCE, att, 0, 0, &r), 0);
    assert_int_equal(r.added, 2);
    assert_int_equal(count(f, "SELECT count(*) FROM attendance WHERE present=1"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM attendance WHERE present=0"), 1);
    assert_int_equal(import_text(f, NODE_IMPORT_ATTENDANCE, att, 0, 0, &r), 0);
    assert_int_equal(r.added, 0);
    assert_int_equal(r.known, 2);
    /* Unknown event, unknown CNIC, bad presence: each with its line. */
    assert_int_equal(import_text(f, NODE_IMPORT_ATTENDANCE,
                                 "event title,event date,cnic,present\n"
                                 "Nope,14/03/2026,35202-2222222-2,P\n"
                                 "Excel,20/03/2026,35202-9999999-9,P\n"
                                 "Excel,20/03/2026,35202-2222222-2,maybe\n",
                                 0, 0, &r),
                     RZ_E_ARG);
    assert_non_null(strstr(problem_at(&r, 2), "no event"));
    assert_non_null(strstr(problem_at(&r, 3), "no person"));
    assert_non_null(strstr(problem_at(&r, 4), "present"));
    assert_int_equal(count(f, "SELECT count(*) FROM attendance"), 2);
    node_import_report_free(&r);
}

static void
big_progress(void *ctx, unsigned long done, unsigned long total)
{
    unsigned long *calls = ctx;
    (void)done;
    (void)total;
    (*calls)++;
}

static void
test_big_import_timed(void **state)
{
    fixture *f = *state;
    const char *env = getenv("RZ_IMPORT_BIG_ROWS");
    unsigned long n = env ? strtoul(env, NULL, 10) : 100000, i, calls = 0;
    node_import_report r;
    rz_error err = {0, ""};
    struct timespec t0, t1;
    char *buf;
    size_t len = 0, cap;
    FILE *in;
    double s;
    if (n == 0)
        skip();
    cap = 64 + n * 96;
    buf = malloc(cap);
    assert_non_null(buf);
    len += (size_t)snprintf(buf, cap, "Full Name,CNIC No,Mobile,Year of birth,District,Gender\r\n");
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len,
                                "Person %lu Khan,3%04lu-%07lu-%lu,03%02lu-%07lu,%lu,Lahore,%s\r\n",
                                i, i % 10000, i, i % 10, i % 50, i, 1960 + i % 45,
                                i % 2 ? "female" : "male");
    memset(&r, 0, sizeof r);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    in = fmemopen(buf, len, "rb");
    assert_non_null(in);
    assert_int_equal(
        node_import_csv(f->ns, NODE_IMPORT_PEOPLE, in, 0, big_progress, &calls, &r, &err), 0);
    fclose(in);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("import: %lu rows in %.2f s (%.0f rows/s)\n", n, s, s > 0 ? (double)n / s : 0.0);
    assert_int_equal(r.added, n);
    assert_true(calls >= n / 1000);
    assert_int_equal(count(f, "SELECT count(*) FROM person"), (int64_t)n);
    node_import_report_free(&r);
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_headers_preview_and_import, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_rows_all_or_nothing, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_reimport_adds_nothing_twice, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_possible_duplicates_listed_not_merged, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_events_and_attendance, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_big_import_timed, setup, node_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
