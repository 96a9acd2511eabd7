/*
 * test_node_form: client/node_form.c, the validation the web app, the CLI
 * and the import share.  Required fields, errors that refuse a record and
 * warnings that keep it (CNIC, phone, birth year), the plain-words message
 * of each field, no personal value in any message, trimming, DD/MM/YYYY
 * dates, a date of birth read as its year, clearing on correction, districts
 * matched against the shipped places list; and the
 * Pakistani phone rules of common/domain.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client/node_form.h"
#include "common/domain.h"

static void
test_person_required_and_errors(void **state)
{
    const char *vals[NODE_FORM_FIELDS] = {0};
    node_form fm;
    node_person p;
    (void)state;
    /* Nothing given: name and gender are asked for, in words. */
    assert_int_equal(node_form_person(&fm, &p, vals, 1), RZ_E_ARG);
    assert_int_equal(fm.errors, 2);
    assert_int_equal(fm.level[RZ_PF_NAME], NODE_FORM_ERROR);
    assert_string_equal(fm.msg[RZ_PF_NAME], "Enter the person's name.");
    assert_non_null(strstr(fm.msg[RZ_PF_GENDER], "female, male or other"));

    vals[RZ_PF_NAME] = "  Ayesha  ";
    vals[RZ_PF_GENDER] = "F";
    vals[RZ_PF_BIRTH_YEAR] = "abc";
    vals[RZ_PF_AREA] = "city";
    vals[RZ_PF_REG_DATE] = "31/02/2026";
    assert_int_equal(node_form_person(&fm, &p, vals, 1), RZ_E_ARG);
    assert_int_equal(fm.errors, 3);
    assert_int_equal(fm.level[RZ_PF_NAME], NODE_FORM_OK);
    assert_int_equal(fm.level[RZ_PF_GENDER], NODE_FORM_OK);
    assert_non_null(strstr(fm.msg[RZ_PF_BIRTH_YEAR], "four digits"));
    assert_string_equal(fm.msg[RZ_PF_AREA], "Choose rural or urban.");
    assert_non_null(strstr(fm.msg[RZ_PF_REG_DATE], "DD/MM/YYYY"));
    assert_string_equal(node_form_first(&fm, NODE_FORM_ERROR), fm.msg[RZ_PF_BIRTH_YEAR]);
    /* Broken text and a NUL-free control character are refused. */
    vals[RZ_PF_BIRTH_YEAR] = NULL, vals[RZ_PF_AREA] = NULL, vals[RZ_PF_REG_DATE] = NULL;
    vals[RZ_PF_SKILLS] = "tab\there";
    vals[RZ_PF_PLATFORMS] = "\xc3\x28";
    assert_int_equal(node_form_person(&fm, &p, vals, 1), RZ_E_ARG);
    assert_int_equal(fm.level[RZ_PF_SKILLS], NODE_FORM_ERROR);
    assert_int_equal(fm.level[RZ_PF_PLATFORMS], NODE_FORM_ERROR);
    assert_non_null(strstr(fm.msg[RZ_PF_PLATFORMS], "cannot be saved"));
}

static void
test_person_warnings_keep_the_value(void **state)
{
    const char *vals[NODE_FORM_FIELDS] = {0};
    node_form fm;
    node_person p;
    int f;
    (void)state;
    vals[RZ_PF_NAME] = " عائشہ بی بی ";
    vals[RZ_PF_GENDER] = "خاتون";
    vals[RZ_PF_CNIC] = "4210-77";
    vals[RZ_PF_PHONE] = "abc";
    vals[RZ_PF_BIRTH_YEAR] = "1890";
    vals[RZ_PF_DISTRICT] = "Lahore";
    vals[RZ_PF_REG_DATE] = "14/03/2026";
    assert_int_equal(node_form_person(&fm, &p, vals, 1), 0);
    assert_int_equal(fm.errors, 0);
    assert_int_equal(fm.warnings, 3);
    assert_string_equal(p.name, "عائشہ بی بی"); /* trimmed */
    assert_int_equal(p.gender, RZ_G_FEMALE);
    assert_string_equal(p.cnic, "4210-77");
    assert_string_equal(p.phone, "abc"); /* kept as typed, counted invalid */
    assert_int_equal(p.birth_year, 1890);
    assert_int_equal(p.reg_date, 20260314);
    assert_non_null(strstr(fm.msg[RZ_PF_CNIC], "13 digits"));
    assert_non_null(strstr(fm.msg[RZ_PF_PHONE], "not a Pakistani phone number"));
    assert_non_null(strstr(fm.msg[RZ_PF_BIRTH_YEAR], "unknown"));
    assert_true(p.set & NODE_SET(RZ_PF_DISTRICT));
    /* No message repeats what was typed. */
    for (f = 0; f < NODE_FORM_FIELDS; f++) {
        assert_null(strstr(fm.msg[f], "4210-77"));
        assert_null(strstr(fm.msg[f], "abc"));
        assert_null(strstr(fm.msg[f], "1890"));
    }
    /* Good values: no warning; a date of birth gives its year. */
    vals[RZ_PF_CNIC] = "35202-1234567-1";
    vals[RZ_PF_PHONE] = "0300 1234567";
    vals[RZ_PF_BIRTH_YEAR] = "05/11/2001";
    assert_int_equal(node_form_person(&fm, &p, vals, 1), 0);
    assert_int_equal(fm.warnings, 0);
    assert_int_equal(p.birth_year, 2001);
}

static void
test_person_correction_clears(void **state)
{
    const char *vals[NODE_FORM_FIELDS] = {0};
    node_form fm;
    node_person p;
    (void)state;
    vals[RZ_PF_CNIC] = "";
    vals[RZ_PF_PHONE] = "  ";
    vals[RZ_PF_BIRTH_YEAR] = ""; /* not clearable: left as it is */
    assert_int_equal(node_form_person(&fm, &p, vals, 0), 0);
    assert_true(p.set & NODE_SET(RZ_PF_CNIC));
    assert_null(p.cnic);
    assert_true(p.set & NODE_SET(RZ_PF_PHONE));
    assert_false(p.set & NODE_SET(RZ_PF_BIRTH_YEAR));
    vals[RZ_PF_NAME] = "";
    assert_int_equal(node_form_person(&fm, &p, vals, 0), RZ_E_ARG);
    assert_non_null(strstr(fm.msg[RZ_PF_NAME], "cannot be removed"));
}

static void
test_district_from_the_places_list(void **state)
{
    const char *vals[NODE_FORM_FIELDS] = {0};
    node_form fm;
    node_person p;
    (void)state;
    vals[RZ_PF_NAME] = "A";
    vals[RZ_PF_GENDER] = "m";
    /* An alias is stored as the official name: one district, not spellings. */
    vals[RZ_PF_DISTRICT] = " dg khan ";
    assert_int_equal(node_form_person(&fm, &p, vals, 1), 0);
    assert_int_equal(fm.warnings, 0);
    assert_string_equal(p.district, "Dera Ghazi Khan");
    /* A misspelling is kept, with a warning naming the closest names. */
    vals[RZ_PF_DISTRICT] = "Lahor";
    assert_int_equal(node_form_person(&fm, &p, vals, 1), 0);
    assert_int_equal(fm.level[RZ_PF_DISTRICT], NODE_FORM_WARN);
    assert_string_equal(p.district, "Lahor");
    assert_non_null(strstr(fm.msg[RZ_PF_DISTRICT], "did you mean Lahore"));
}

static void
test_event_form(void **state)
{
    const char *vals[NODE_FORM_FIELDS] = {0};
    node_form fm;
    node_event e;
    (void)state;
    assert_int_equal(node_form_event(&fm, &e, vals, 1), RZ_E_ARG);
    assert_int_equal(fm.errors, 3);
    vals[RZ_EF_KIND] = "Training";
    vals[RZ_EF_TITLE] = "Freelancing basics";
    vals[RZ_EF_DATE] = "05/03/2026";
    vals[RZ_EF_DURATION] = "ninety";
    assert_int_equal(node_form_event(&fm, &e, vals, 1), RZ_E_ARG);
    assert_int_equal(fm.errors, 1);
    assert_non_null(strstr(fm.msg[RZ_EF_DURATION], "minutes"));
    vals[RZ_EF_DURATION] = "90";
    assert_int_equal(node_form_event(&fm, &e, vals, 1), 0);
    assert_int_equal(e.date, 20260305);
    assert_int_equal(e.duration, 90);
    assert_int_equal(e.kind, RZ_EK_TRAINING);
}

static void
test_phone_rules(void **state)
{
    static const struct {
        const char *in;  /* as typed */
        const char *out; /* E.164, NULL when invalid */
    } cases[] = {
        {"0300-1234567", "+923001234567"},
        {"03001234567", "+923001234567"},
        {"+92 300 1234567", "+923001234567"},
        {"+92-300-1234567", "+923001234567"},
        {"00923001234567", "+923001234567"},
        {"923001234567", "+923001234567"},
        {"3001234567", "+923001234567"},
        {"0345.1234567", "+923451234567"},
        {"042-35761234", "+924235761234"},
        {"(021) 3456-7890", "+922134567890"},
        {"0992-123456", "+92992123456"},
        {"051 1234567", "+92511234567"},
        {"abc", NULL},
        {"", NULL},
        {"0300-123456", NULL},   /* a digit short */
        {"0300-12345678", NULL}, /* a digit too many */
        {"0390-1234567", NULL},  /* no such mobile operator */
        {"1234567", NULL},       /* local number without area code */
        {"0800-12345", NULL},    /* toll-free */
        {"111-123-456", NULL},   /* UAN */
        {"+1 202 555 0100", NULL},
        {"0300+1234567", NULL}, /* + inside */
        {"0300/1234567", NULL},
    };
    char out[RZ_PHONE_MAX];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int ok = phone_normalize(out, cases[i].in, strlen(cases[i].in));
        if (ok != (cases[i].out != NULL))
            fail_msg("phone_normalize(\"%s\") = %d", cases[i].in, ok);
        if (ok)
            assert_string_equal(out, cases[i].out);
        else
            assert_string_equal(out, "");
    }
    /* Digits for search: the national part. */
    assert_int_equal(phone_digits(out, "0300-1234567", 12), 1);
    assert_string_equal(out, "3001234567");
    assert_int_equal(phone_digits(out, "12x", 3), 0);
}

static void
test_dates_and_presence(void **state)
{
    (void)state;
    assert_int_equal(date_parse_any("2026-03-14"), 20260314);
    assert_int_equal(date_parse_any("14/03/2026"), 20260314);
    assert_int_equal(date_parse_any("4/3/2026"), 20260304);
    assert_int_equal(date_parse_any("14-03-2026"), 20260314);
    assert_int_equal(date_parse_any("14.03.2026"), 20260314);
    assert_int_equal(date_parse_any("29/02/2024"), 20240229);
    assert_int_equal(date_parse_any("29/02/2026"), 0);
    assert_int_equal(date_parse_any("03/14/2026"), 0); /* month 14: not US order */
    assert_int_equal(date_parse_any("14/03-2026"), 0);
    assert_int_equal(date_parse_any("14/03/26"), 0);
    assert_int_equal(date_parse_any(" 1/ 3/2026"), 0);
    assert_int_equal(date_parse_any(""), 0);
    assert_int_equal(present_parse("Present"), 1);
    assert_int_equal(present_parse("P"), 1);
    assert_int_equal(present_parse("yes"), 1);
    assert_int_equal(present_parse("A"), 0);
    assert_int_equal(present_parse("absent"), 0);
    assert_int_equal(present_parse("0"), 0);
    assert_int_equal(present_parse("maybe"), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_person_required_and_errors),
        cmocka_unit_test(test_person_warnings_keep_the_value),
        cmocka_unit_test(test_person_correction_clears),
        cmocka_unit_test(test_district_from_the_places_list),
        cmocka_unit_test(test_event_form),
        cmocka_unit_test(test_phone_rules),
        cmocka_unit_test(test_dates_and_presence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
