/*
 * test_node_export: client/node_export.c, CSV for Excel.  The byte-order
 * mark, CRLF ends, RFC 4180 quoting, the apostrophe before cells that start
 * with = + - @ TAB or CR (formula injection), CNICs with dashes, Urdu
 * unchanged; an exported file imports back adding nothing; attendance with
 * codes and names; deleted records only with include_deleted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/node_export.h"
#include "client/node_import.h"
#include "client/node_store.h"
#include "node_fixture.h"

static int
setup(void **state)
{
    return node_fixture_setup(state, "node-export");
}

/* Exports kind into a malloc'd string (caller frees). */
static char *
export_text(fixture *f, int kind, int all, unsigned long *rows)
{
    char *buf = NULL;
    size_t len = 0;
    rz_error err = {0, ""};
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    assert_int_equal(node_export_csv(f->ns, kind, out, all, rows, &err), 0);
    fclose(out);
    return buf;
}

static void
add(fixture *f, const char *name, const char *cnic, const char *phone, uint8_t id[16])
{
    node_person p;
    rz_error err = {0, ""};
    memset(&p, 0, sizeof p);
    p.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_GENDER);
    p.name = name;
    p.gender = RZ_G_MALE;
    if (cnic)
        p.set |= NODE_SET(RZ_PF_CNIC), p.cnic = cnic;
    if (phone)
        p.set |= NODE_SET(RZ_PF_PHONE), p.phone = phone;
    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
}

static void
test_cells_guarded_and_quoted(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out;
    (void)state;
    out = open_memstream(&buf, &len);
    node_export_cell(out, "=HYPERLINK(\"http://x\")", 1);
    node_export_cell(out, "+92300", 0);
    node_export_cell(out, "-1", 0);
    node_export_cell(out, "@SUM(A1)", 0);
    node_export_cell(out, "\tx", 0);
    node_export_cell(out, "\rx", 0);
    node_export_cell(out, "a,b", 0);
    node_export_cell(out, "plain", 0);
    node_export_cell(out, NULL, 0);
    node_export_row_end(out);
    fclose(out);
    assert_string_equal(buf,
                        "\"'=HYPERLINK(\"\"http://x\"\")\",'+92300,'-1,'@SUM(A1),'\tx,\"'\rx\","
                        "\"a,b\",plain,\r\n");
    free(buf);
}

static void
test_people_export_reimports(void **state)
{
    fixture *f = *state;
    uint8_t id[16];
    unsigned long rows = 0;
    node_import_report r;
    rz_error err = {0, ""};
    char *csv;
    FILE *in;

    add(f, "=cmd|' /C calc'!A0", "3520212345671", "0300-1234567", id);
    add(f, "عائشہ, بی بی", NULL, NULL, id);
    add(f, "Gone", NULL, NULL, id);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, id, 16, 1, &err), 0);

    csv = export_text(f, NODE_IMPORT_PEOPLE, 0, &rows);
    assert_int_equal(rows, 2);
    assert_memory_equal(csv,
                        "\xef\xbb\xbf"
                        "code,id,name,",
                        16);
    assert_non_null(strstr(csv, ",status\r\n"));
    assert_non_null(strstr(csv, ",'=cmd|' /C calc'!A0,"));            /* guarded */
    assert_non_null(strstr(csv, ",35202-1234567-1,'+923001234567,")); /* dashes; + guarded */
    assert_non_null(strstr(csv, ",\"عائشہ, بی بی\",")); /* Urdu as is, quoted for the comma */
    assert_null(strstr(csv, "Gone"));
    assert_null(strstr(csv, "\n\n"));
    /* Every line ends in CRLF. */
    {
        size_t i;
        /* By index: gcc -O3 takes a pointer into an open_memstream buffer
         * for a dangling one (-Wdangling-pointer). */
        for (i = 1; csv[i]; i++)
            if (csv[i] == '\n')
                assert_int_equal(csv[i - 1], '\r');
    }
    /* Imported back: recognised by id, nothing added, names unchanged. */
    memset(&r, 0, sizeof r);
    in = fmemopen(csv, strlen(csv), "rb");
    assert_int_equal(node_import_csv(f->ns, NODE_IMPORT_PEOPLE, in, 0, NULL, NULL, &r, &err), 0);
    fclose(in);
    assert_int_equal(r.rows, 2);
    assert_int_equal(r.added, 0);
    assert_int_equal(r.known, 2);
    assert_string_equal(r.preview[0][2], "=cmd|' /C calc'!A0"); /* apostrophe dropped */
    node_import_report_free(&r);
    free(csv);
    csv = export_text(f, NODE_IMPORT_PEOPLE, 1, &rows);
    assert_int_equal(rows, 3);
    assert_non_null(strstr(csv, ",Gone,"));
    assert_non_null(strstr(csv, ",deleted\r\n"));
    free(csv);
}

static void
test_events_and_attendance_export(void **state)
{
    fixture *f = *state;
    uint8_t p[16], e[16];
    char code[NODE_CODE_MAX], line[256];
    node_event ev;
    unsigned long rows = 0;
    rz_error err = {0, ""};
    char *csv;

    add(f, "Amina", "35202-2222222-2", NULL, p);
    memset(&ev, 0, sizeof ev);
    ev.set = NODE_SET(RZ_EF_KIND) | NODE_SET(RZ_EF_TITLE) | NODE_SET(RZ_EF_DATE) |
             NODE_SET(RZ_EF_DURATION);
    ev.kind = RZ_EK_WORKSHOP;
    ev.title = "-Excel, basics";
    ev.date = 20260320;
    ev.duration = 90;
    assert_int_equal(node_store_event_add(f->ns, &ev, e, &err), 0);
    assert_int_equal(node_store_attend(f->ns, e, p, 1, &err), 0);
    csv = export_text(f, NODE_IMPORT_EVENTS, 0, &rows);
    assert_int_equal(rows, 1);
    assert_non_null(strstr(csv, ",workshop,\"'-Excel, basics\",2026-03-20,90,,,live\r\n"));
    free(csv);
    csv = export_text(f, NODE_IMPORT_ATTENDANCE, 0, &rows);
    assert_int_equal(rows, 1);
    assert_int_equal(node_store_code(f->ns, p, code, &err), 0);
    snprintf(line, sizeof line, ",%s,Amina,35202-2222222-2,present,live\r\n", code);
    assert_non_null(strstr(csv, line));
    assert_non_null(strstr(csv, "\"'-Excel, basics\",2026-03-20,"));
    free(csv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cells_guarded_and_quoted),
        cmocka_unit_test_setup_teardown(test_people_export_reimports, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_events_and_attendance_export, setup,
                                        node_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
