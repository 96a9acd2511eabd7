/* Unit tests for common/places.c: the shipped list parses, names and aliases
 * match to the official name whatever the case, blanks or punctuation,
 * districts belong to their province, unknown names get close suggestions,
 * and malformed lists are refused with their line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/places.h"

static places *shipped;

static int
setup(void **state)
{
    char path[4096];
    rz_error err = {0, ""};
    (void)state;
    if (places_default_path(path, sizeof path) != 0 || places_load(&shipped, path, &err) != 0) {
        print_error("cannot load the shipped list: %s\n", err.text);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    places_destroy(&shipped);
    return 0;
}

static const char *
prov(const char *name)
{
    int i = places_find_province(shipped, name);
    return i < 0 ? NULL : places_province_name(shipped, (size_t)i);
}

static void
test_shipped_list(void **state)
{
    size_t i, total = 0;
    (void)state;
    assert_non_null(places_version(shipped));
    assert_int_equal(places_province_count(shipped), 7);
    for (i = 0; i < places_province_count(shipped); i++) {
        assert_true(places_district_count(shipped, i) > 0);
        total += places_district_count(shipped, i);
    }
    /* Punjab 41, Sindh 30, KP 38, Balochistan 36, ICT 1, GB 14, AJK 10. */
    assert_int_equal(total, 170);
    assert_string_equal(places_province_name(shipped, 0), "Punjab");
    assert_null(places_province_name(shipped, 7));
    assert_null(places_district_name(shipped, 0, 1000));
}

static void
test_province_aliases(void **state)
{
    (void)state;
    /* One province however it is written. */
    assert_string_equal(prov("KPK"), "Khyber Pakhtunkhwa");
    assert_string_equal(prov("Khyber Pakhtunkhwa"), "Khyber Pakhtunkhwa");
    assert_string_equal(prov("khyber pakhtunkhwa"), "Khyber Pakhtunkhwa");
    assert_string_equal(prov("  KHYBER-PAKHTUNKHWA "), "Khyber Pakhtunkhwa");
    assert_string_equal(prov("NWFP"), "Khyber Pakhtunkhwa");
    assert_string_equal(prov("k.p.k."), "Khyber Pakhtunkhwa");
    assert_string_equal(prov("Baluchistan"), "Balochistan");
    assert_string_equal(prov("AJK"), "Azad Jammu and Kashmir");
    assert_string_equal(prov("Azad Jammu & Kashmir"), "Azad Jammu and Kashmir");
    assert_string_equal(prov("gilgit baltistan"), "Gilgit-Baltistan");
    assert_string_equal(prov("ICT"), "Islamabad Capital Territory");
    assert_null(prov("Lahore")); /* a district, not a province */
    assert_null(prov("Atlantis"));
    assert_null(prov(""));
    assert_null(prov("..."));
}

static void
test_district_aliases(void **state)
{
    int pv = -1;
    int punjab = places_find_province(shipped, "Punjab");
    int sindh = places_find_province(shipped, "Sindh");
    (void)state;
    /* "D.G. Khan" is Dera Ghazi Khan, never "D.g. Khan". */
    assert_string_equal(places_find_district(shipped, -1, "D.G. Khan", &pv), "Dera Ghazi Khan");
    assert_int_equal(pv, punjab);
    assert_string_equal(places_find_district(shipped, -1, "DG Khan", NULL), "Dera Ghazi Khan");
    assert_string_equal(places_find_district(shipped, -1, "dera ghazi  KHAN", NULL),
                        "Dera Ghazi Khan");
    assert_string_equal(places_find_district(shipped, punjab, "d g khan", NULL), "Dera Ghazi Khan");
    assert_string_equal(places_find_district(shipped, -1, "D.I. Khan", NULL), "Dera Ismail Khan");
    assert_string_equal(places_find_district(shipped, -1, "Nawabshah", NULL),
                        "Shaheed Benazirabad");
    assert_string_equal(places_find_district(shipped, -1, "lahore", NULL), "Lahore");
    /* The district must belong to the province asked. */
    assert_null(places_find_district(shipped, sindh, "Lahore", NULL));
    assert_string_equal(places_find_district(shipped, sindh, "Hyderabad", NULL), "Hyderabad");
    assert_null(places_find_district(shipped, -1, "Lahore Cantt", NULL));
    assert_null(places_find_district(shipped, -1, "", NULL));
    assert_null(places_find_district(NULL, -1, "Lahore", NULL));
}

static void
test_suggestions(void **state)
{
    const char *s[PLACES_SUGGEST_MAX];
    size_t n, i;
    int found;
    int punjab = places_find_province(shipped, "Punjab");
    (void)state;
    n = places_suggest_province(shipped, "Punjb", s, 3);
    assert_true(n >= 1);
    assert_string_equal(s[0], "Punjab");
    n = places_suggest_province(shipped, "Khyber Pakhtunkhaw", s, 3);
    assert_true(n >= 1);
    assert_string_equal(s[0], "Khyber Pakhtunkhwa");
    n = places_suggest_district(shipped, punjab, "Lahor", s, 3);
    assert_true(n >= 1);
    assert_string_equal(s[0], "Lahore");
    n = places_suggest_district(shipped, punjab, "Faislabad", s, 3);
    assert_true(n >= 1);
    assert_string_equal(s[0], "Faisalabad");
    /* A beginning offers every district it begins. */
    n = places_suggest_district(shipped, -1, "Dera", s, PLACES_SUGGEST_MAX);
    for (found = 0, i = 0; i < n; i++)
        found += strcmp(s[i], "Dera Ghazi Khan") == 0 || strcmp(s[i], "Dera Ismail Khan") == 0 ||
                 strcmp(s[i], "Dera Bugti") == 0;
    assert_int_equal(found, 3);
    /* Each official name once, even when several aliases are close. */
    n = places_suggest_district(shipped, -1, "DG Kha", s, PLACES_SUGGEST_MAX);
    for (found = 0, i = 0; i < n; i++)
        found += strcmp(s[i], "Dera Ghazi Khan") == 0;
    assert_int_equal(found, 1);
    /* Nothing close: nothing offered. */
    assert_int_equal(places_suggest_district(shipped, -1, "Zzzzzzzzzz", s, 3), 0);
    assert_int_equal(places_suggest_district(shipped, -1, "", s, 3), 0);
    assert_int_equal(places_suggest_district(shipped, -1, "Lahore", s, 0), 0);
}

static void
test_fold(void **state)
{
    char out[16];
    (void)state;
    assert_int_equal(places_fold(out, sizeof out, "D.G. Khan", 9), 6);
    assert_string_equal(out, "dgkhan");
    assert_int_equal(places_fold(out, sizeof out, "AJ&K", 4), 6);
    assert_string_equal(out, "ajandk");
    assert_int_equal(places_fold(out, sizeof out, " -. ", 4), 0);
    assert_int_equal(places_fold(out, 4, "Lahore", 6), 0); /* does not fit */
}

static int
parse(const char *text, rz_error *err)
{
    places *p = NULL;
    int rc = places_parse(&p, text, strlen(text), "t.tsv", err);
    places_destroy(&p);
    return rc;
}

static void
test_malformed_lists(void **state)
{
    rz_error err = {0, ""};
    places *p = NULL;
    const char *ok = "version\tv1\nprovince\tPunjab\tPB\ndistrict\tPunjab\tLahore\tLHR\n";
    (void)state;
    assert_int_equal(places_parse(&p, ok, strlen(ok), "t.tsv", &err), 0);
    assert_string_equal(places_version(p), "v1");
    assert_string_equal(places_find_district(p, -1, "lhr", NULL), "Lahore");
    places_destroy(&p);
    assert_null(p);

    assert_int_equal(parse("province\tPunjab\t\n", &err), RZ_E_ARG);
    assert_non_null(strstr(err.text, "t.tsv:1: the version line must come first"));
    assert_int_equal(parse("version\tv1\ndistrict\tSindh\tKarachi\t\n", &err), RZ_E_ARG);
    assert_non_null(strstr(err.text, "t.tsv:2:"));
    assert_non_null(strstr(err.text, "not declared above"));
    assert_int_equal(parse("version\tv1\nregion\tX\n", &err), RZ_E_ARG);
    assert_non_null(strstr(err.text, "unknown record"));
    /* An alias that is another district's name in the same province. */
    assert_int_equal(parse("version\tv1\nprovince\tP\t\ndistrict\tP\tAbc\t\n"
                           "district\tP\tXyz\tA.B.C.\n",
                           &err),
                     RZ_E_ARG);
    assert_non_null(strstr(err.text, "would match both"));
    /* ...but the same name in two provinces is fine. */
    assert_int_equal(parse("version\tv1\nprovince\tP\t\nprovince\tQ\t\ndistrict\tP\tAbc\t\n"
                           "district\tQ\tAbc\t\n",
                           &err),
                     0);
    assert_int_equal(parse("version\tv1\nprovince\tP\t\n", &err), RZ_E_ARG); /* no district */
    assert_int_equal(parse("version\tv1\nversion\tv2\n", &err), RZ_E_ARG);
    assert_int_equal(parse("version\tv1\nprovince\t P\t\n", &err), RZ_E_ARG);
    assert_int_equal(parse("version\tv1\nprovince\t...\t\n", &err), RZ_E_ARG);
    assert_int_equal(parse("version\tv1\nprovince\tP\ta\tb\tc\td\n", &err), RZ_E_ARG);
    assert_int_equal(places_load(&p, "/nonexistent/places.tsv", &err), RZ_E_NOTFOUND);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_list),
        cmocka_unit_test(test_province_aliases),
        cmocka_unit_test(test_district_aliases),
        cmocka_unit_test(test_suggestions),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_malformed_lists),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
