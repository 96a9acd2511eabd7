/*
 * test_domain: common/domain.  CNIC normalisation and validation, calendar
 * dates (leap years), Pakistan-time dates of instants at the UTC+5 day
 * boundary (checked against libc's gmtime_r as well), period keys, parsing,
 * formatting and ranges, age bands at every boundary, and the names of coded
 * values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "common/domain.h"

static int
cnic(const char *in, char out[14])
{
    memset(out, 'X', 14);
    return cnic_normalize(out, in, strlen(in));
}

static void
test_cnic_valid_forms(void **state)
{
    char out[14];
    (void)state;
    assert_int_equal(cnic("3520212345671", out), 1);
    assert_string_equal(out, "3520212345671");
    assert_int_equal(cnic("35202-1234567-1", out), 1);
    assert_string_equal(out, "3520212345671");
    assert_int_equal(cnic("1000000000000", out), 1);
    assert_int_equal(cnic("7999999999999", out), 1);
    /* only the given length is read */
    memset(out, 0, sizeof out);
    assert_int_equal(cnic_normalize(out, "3520212345671999", 13), 1);
    assert_string_equal(out, "3520212345671");
}

static void
test_cnic_refusals(void **state)
{
    char out[14];
    static const char *bad[] = {
        "",                 /* empty */
        "352021234567",     /* 12 digits */
        "35202123456712",   /* 14 digits */
        "35202-1234567",    /* one dash, 12 digits */
        "35202-12345671",   /* one dash, 13 digits */
        "352021234567-1",   /* dash at the wrong place */
        "3520-21234567-1",  /* dash at the wrong place */
        "35202--1234567-1", /* doubled dash */
        "35202-1234567-1-", /* trailing dash */
        "-3520212345671",   /* leading dash */
        "35202-1234567-12", /* 14 digits with dashes */
        "3520212345a71",    /* a letter */
        "352021234567O",    /* letter O for zero */
        "35202 1234567 1",  /* spaces */
        "0520212345671",    /* first digit 0 */
        "9520212345671",    /* first digit 9 */
        "+3520212345671",   /* sign */
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cnic(bad[i], out) != 0)
            fail_msg("cnic_normalize accepted \"%s\"", bad[i]);
        assert_true(memchr(out, '\0', 14) != NULL); /* always terminated */
    }
    /* Azad Jammu and Kashmir numbers start with 8 */
    assert_int_equal(cnic_normalize(out, "81202-1234567-1", 15), 1);
    /* an embedded NUL is not a digit */
    assert_int_equal(cnic_normalize(out,
                                    "35202\0"
                                    "1234567",
                                    13),
                     0);
}

static void
test_date_is_valid(void **state)
{
    (void)state;
    assert_int_equal(date_is_valid(20260315), 1);
    assert_int_equal(date_is_valid(20240229), 1); /* divisible by 4 */
    assert_int_equal(date_is_valid(20230229), 0);
    assert_int_equal(date_is_valid(20000229), 1); /* divisible by 400 */
    assert_int_equal(date_is_valid(19000229), 0); /* divisible by 100 only */
    assert_int_equal(date_is_valid(21000229), 0);
    assert_int_equal(date_is_valid(20260228), 1);
    assert_int_equal(date_is_valid(20260431), 0);
    assert_int_equal(date_is_valid(20260430), 1);
    assert_int_equal(date_is_valid(20261231), 1);
    assert_int_equal(date_is_valid(20261232), 0);
    assert_int_equal(date_is_valid(20261301), 0);
    assert_int_equal(date_is_valid(20260001), 0);
    assert_int_equal(date_is_valid(20260100), 0);
    assert_int_equal(date_is_valid(0), 0);
    assert_int_equal(date_is_valid(18991231), 0);
    assert_int_equal(date_is_valid(30000101), 0);
    assert_int_equal(date_is_valid(UINT32_MAX), 0);
}

static void
test_date_parse_format(void **state)
{
    char out[11];
    (void)state;
    assert_int_equal(date_parse("2026-03-15"), 20260315);
    assert_int_equal(date_parse("2024-02-29"), 20240229);
    assert_int_equal(date_parse("2023-02-29"), 0);
    assert_int_equal(date_parse("2026-03-15x"), 0);
    assert_int_equal(date_parse("2026-3"), 0);
    assert_int_equal(date_parse("hello"), 0);
    assert_int_equal(date_parse(""), 0);
    assert_int_equal(date_parse(NULL), 0);
    date_format(out, 20260315);
    assert_string_equal(out, "2026-03-15");
    date_format(out, 20000101);
    assert_string_equal(out, "2000-01-01");
}

/* Pakistan time is UTC+5 all year (no daylight saving). */
static void
test_date_of_ms_boundaries(void **state)
{
    (void)state;
    assert_int_equal(date_of_ms(1773601199999ull), 20260315); /* 23:59:59.999 PKT */
    assert_int_equal(date_of_ms(1773601200000ull), 20260316); /* 00:00 PKT */
    assert_int_equal(date_of_ms(1709146799999ull), 20240228);
    assert_int_equal(date_of_ms(1709146800000ull), 20240229); /* leap day */
    assert_int_equal(date_of_ms(1704049199999ull), 20231231);
    assert_int_equal(date_of_ms(1704049200000ull), 20240101); /* new year */
    assert_int_equal(date_of_ms(0), 19700101);
    assert_int_equal(date_of_ms(68399999ull), 19700101);
    assert_int_equal(date_of_ms(68400000ull), 19700102);
}

static void
test_date_of_ms_matches_libc(void **state)
{
    uint64_t ms;
    (void)state;
    /* every 7 hours 13 minutes from 1970 to 2100 */
    for (ms = 0; ms < 4102444800000ull; ms += 26003000ull) {
        time_t t = (time_t)(ms / 1000 + 5 * 3600);
        struct tm tm;
        uint32_t want;
        assert_non_null(gmtime_r(&t, &tm));
        want = (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
        if (date_of_ms(ms) != want)
            fail_msg("date_of_ms(%llu) = %u, want %u", (unsigned long long)ms, date_of_ms(ms),
                     want);
    }
}

static void
test_period_key(void **state)
{
    (void)state;
    assert_int_equal(period_key(20260315, RZ_GRAIN_MONTH), 202603);
    assert_int_equal(period_key(20260315, RZ_GRAIN_QUARTER), 20261);
    assert_int_equal(period_key(20260315, RZ_GRAIN_YEAR), 2026);
    assert_int_equal(period_key(20260101, RZ_GRAIN_QUARTER), 20261);
    assert_int_equal(period_key(20260331, RZ_GRAIN_QUARTER), 20261);
    assert_int_equal(period_key(20260401, RZ_GRAIN_QUARTER), 20262);
    assert_int_equal(period_key(20260930, RZ_GRAIN_QUARTER), 20263);
    assert_int_equal(period_key(20261001, RZ_GRAIN_QUARTER), 20264);
    assert_int_equal(period_key(20261231, RZ_GRAIN_QUARTER), 20264);
    assert_int_equal(period_key(20261231, RZ_GRAIN_MONTH), 202612);
}

static void
test_period_parse_and_format(void **state)
{
    int grain;
    uint32_t key;
    char out[9];
    static const char *bad[] = {
        "",        "202",     "20261",   "2026-",    "2026-Q",     "2026-Q0", "2026-Q5", "2026-q1",
        "2026-00", "2026-13", "2026-1",  "2026-03x", "2026-03-01", "-001",    "+202",    " 2026",
        "2026 ",   "2026-+3", "2026- 3", "abcd",     "2026-Q1x",   "20260"};
    size_t i;
    (void)state;
    assert_int_equal(period_parse("2026", &grain, &key), 0);
    assert_int_equal(grain, RZ_GRAIN_YEAR);
    assert_int_equal(key, 2026);
    assert_int_equal(period_parse("2026-Q3", &grain, &key), 0);
    assert_int_equal(grain, RZ_GRAIN_QUARTER);
    assert_int_equal(key, 20263);
    assert_int_equal(period_parse("2026-03", &grain, &key), 0);
    assert_int_equal(grain, RZ_GRAIN_MONTH);
    assert_int_equal(key, 202603);
    assert_int_equal(period_parse("2026-12", &grain, &key), 0);
    assert_int_equal(key, 202612);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (period_parse(bad[i], &grain, &key) != -1)
            fail_msg("period_parse accepted \"%s\" (key %u)", bad[i], key);
    assert_int_equal(period_parse(NULL, &grain, &key), -1);

    period_format(out, RZ_GRAIN_YEAR, 2026);
    assert_string_equal(out, "2026");
    period_format(out, RZ_GRAIN_QUARTER, 20261);
    assert_string_equal(out, "2026-Q1");
    period_format(out, RZ_GRAIN_MONTH, 202603);
    assert_string_equal(out, "2026-03");
    /* format and parse are inverse */
    assert_int_equal(period_parse(out, &grain, &key), 0);
    assert_int_equal(key, 202603);
}

static void
range(int grain, uint32_t key, uint32_t want_from, uint32_t want_to)
{
    uint32_t from = 0, to = 0;
    period_range(grain, key, &from, &to);
    assert_int_equal(from, want_from);
    assert_int_equal(to, want_to);
}

static void
test_period_range(void **state)
{
    (void)state;
    range(RZ_GRAIN_MONTH, 202602, 20260201, 20260228);
    range(RZ_GRAIN_MONTH, 202402, 20240201, 20240229);
    range(RZ_GRAIN_MONTH, 210002, 21000201, 21000228);
    range(RZ_GRAIN_MONTH, 200002, 20000201, 20000229);
    range(RZ_GRAIN_MONTH, 202604, 20260401, 20260430);
    range(RZ_GRAIN_MONTH, 202612, 20261201, 20261231);
    range(RZ_GRAIN_QUARTER, 20261, 20260101, 20260331);
    range(RZ_GRAIN_QUARTER, 20262, 20260401, 20260630);
    range(RZ_GRAIN_QUARTER, 20263, 20260701, 20260930);
    range(RZ_GRAIN_QUARTER, 20264, 20261001, 20261231);
    range(RZ_GRAIN_YEAR, 2026, 20260101, 20261231);
}

/* Every date of a period maps back to the period's key. */
static void
test_period_range_consistent_with_key(void **state)
{
    int grain;
    uint32_t key;
    (void)state;
    for (grain = RZ_GRAIN_MONTH; grain <= RZ_GRAIN_YEAR; grain++)
        for (key = 0; key < 48; key++) {
            uint32_t y = 2023 + key / 12, m = key % 12 + 1, from, to, d;
            uint32_t k = period_key(y * 10000 + m * 100 + 1, grain);
            period_range(grain, k, &from, &to);
            assert_true(date_is_valid(from) && date_is_valid(to));
            assert_int_equal(period_key(from, grain), k);
            assert_int_equal(period_key(to, grain), k);
            /* the day after `to` is in the next period */
            d = to + 1;
            if (!date_is_valid(d))
                d = (to / 100 % 100 == 12) ? (to / 10000 + 1) * 10000 + 101
                                           : (to / 100 + 1) * 100 + 1;
            assert_true(period_key(d, grain) != k);
        }
}

static void
test_age_band_boundaries(void **state)
{
    static const struct {
        int age;  /* period year minus birth year */
        int band; /* expected band */
    } cases[] = {{0, 1},  {14, 1}, {15, 2}, {19, 2}, {20, 3}, {24, 3}, {25, 4}, {29, 4},
                 {30, 5}, {34, 5}, {35, 6}, {44, 6}, {45, 7}, {59, 7}, {60, 8}, {106, 8}};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(age_band(2026, 2026 - cases[i].age), cases[i].band);
    assert_int_equal(age_band(2026, 2027), RZ_AGE_UNKNOWN); /* born after the period */
    assert_int_equal(age_band(2026, 1919), RZ_AGE_UNKNOWN); /* before 1920 */
    assert_int_equal(age_band(2026, RZ_MIN_BIRTH_YEAR), 8);
    assert_int_equal(age_band(2026, -5), RZ_AGE_UNKNOWN);
    assert_int_equal(age_band(2026, INT64_MAX), RZ_AGE_UNKNOWN);
    assert_int_equal(age_band(2026, INT64_MIN), RZ_AGE_UNKNOWN);
    /* youth is 15-29 */
    assert_int_equal(age_band_is_youth(1), 0);
    assert_int_equal(age_band_is_youth(2), 1);
    assert_int_equal(age_band_is_youth(4), 1);
    assert_int_equal(age_band_is_youth(5), 0);
    assert_int_equal(age_band_is_youth(RZ_AGE_UNKNOWN), 0);
}

static void
test_age_band_names(void **state)
{
    int b;
    (void)state;
    for (b = 0; b < RZ_AGE_BANDS; b++)
        assert_int_equal(age_band_parse(age_band_name(b)), b);
    assert_string_equal(age_band_name(2), "15-19");
    assert_string_equal(age_band_name(8), "60+");
    assert_string_equal(age_band_name(-1), "unknown");
    assert_string_equal(age_band_name(RZ_AGE_BANDS), "unknown");
    assert_int_equal(age_band_parse("15-20"), -1);
    assert_int_equal(age_band_parse(NULL), -1);
}

typedef int (*parse_fn)(const char *);
typedef const char *(*name_fn)(uint64_t);

/* Every code in 1..n round-trips through its name; 0 and n+1 are unknown. */
static void
names_round_trip(parse_fn parse, name_fn name, int n)
{
    int c;
    for (c = 1; c <= n; c++) {
        assert_string_not_equal(name((uint64_t)c), "unknown");
        assert_int_equal(parse(name((uint64_t)c)), c);
    }
    assert_string_equal(name(0), "unknown");
    assert_string_equal(name((uint64_t)n + 1), "unknown");
    assert_string_equal(name(UINT64_MAX), "unknown");
    assert_int_equal(parse("no-such-name"), 0);
    assert_int_equal(parse(""), 0);
    assert_int_equal(parse(NULL), 0);
}

static void
test_coded_names(void **state)
{
    (void)state;
    names_round_trip(gender_parse, gender_name, 3);
    names_round_trip(area_parse, area_name, 2);
    names_round_trip(skill_parse, skill_name, 3);
    names_round_trip(event_kind_parse, event_kind_name, RZ_EK_MAX);
    names_round_trip(mode_parse, mode_name, 2);
    names_round_trip(programme_parse, programme_name, 3);

    assert_int_equal(gender_parse("F"), RZ_G_FEMALE);
    assert_int_equal(gender_parse("Female"), RZ_G_FEMALE);
    assert_int_equal(gender_parse("m"), RZ_G_MALE);
    assert_int_equal(gender_parse("x"), RZ_G_OTHER);
    assert_string_equal(gender_name(RZ_G_FEMALE), "female");
    assert_int_equal(area_parse("r"), RZ_AREA_RURAL);
    assert_string_equal(area_name(RZ_AREA_URBAN), "urban");
    assert_int_equal(skill_parse("pro"), RZ_SK_PRO);
    assert_int_equal(skill_parse("blue"), RZ_SK_BLUE);
    assert_string_equal(skill_name(RZ_SK_WHITE), "white-collar");
    assert_int_equal(event_kind_parse("finlit"), RZ_EK_FINLIT);
    assert_string_equal(event_kind_name(RZ_EK_FINLIT), "financial-literacy");
    assert_int_equal(mode_parse("inperson"), RZ_MODE_IN_PERSON);
    assert_string_equal(mode_name(RZ_MODE_ONLINE), "online");
    assert_int_equal(programme_parse("erozgar"), 1);
    assert_int_equal(programme_parse("e-Rozgar"), 1);
    assert_string_equal(programme_name(2), "innovista");
    /* a prefix is not a name */
    assert_int_equal(gender_parse("fem"), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnic_valid_forms),
        cmocka_unit_test(test_cnic_refusals),
        cmocka_unit_test(test_date_is_valid),
        cmocka_unit_test(test_date_parse_format),
        cmocka_unit_test(test_date_of_ms_boundaries),
        cmocka_unit_test(test_date_of_ms_matches_libc),
        cmocka_unit_test(test_period_key),
        cmocka_unit_test(test_period_parse_and_format),
        cmocka_unit_test(test_period_range),
        cmocka_unit_test(test_period_range_consistent_with_key),
        cmocka_unit_test(test_age_band_boundaries),
        cmocka_unit_test(test_age_band_names),
        cmocka_unit_test(test_coded_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
