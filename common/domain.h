/*
 * domain: the vocabulary of the training network shared by node, server and
 * queries: names of coded values, validation of values (CNIC, birth year,
 * dates), calendar periods and age bands.  Validation never refuses a log
 * entry; it decides whether a value counts or is "invalid/unknown".  It
 * depends on nothing in proto/ (proto/wire.h takes the coded values from
 * here).
 */
#ifndef RZ_DOMAIN_H
#define RZ_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

/* Coded values of person and event fields.  Their numbers travel in log
 * entries (proto/PROTOCOL.md, proto/wire.h): never renumber or reuse one. */
enum rz_gender { RZ_G_FEMALE = 1, RZ_G_MALE = 2, RZ_G_OTHER = 3 };
enum rz_area { RZ_AREA_RURAL = 1, RZ_AREA_URBAN = 2 };
enum rz_skill { RZ_SK_BLUE = 1, RZ_SK_WHITE = 2, RZ_SK_PRO = 3 };
enum rz_event_kind {
    RZ_EK_TRAINING = 1,
    RZ_EK_BOOTCAMP = 2,
    RZ_EK_WORKSHOP = 3,
    RZ_EK_SEMINAR = 4,
    RZ_EK_AWARENESS = 5,
    RZ_EK_FINLIT = 6,
    RZ_EK_MENTORSHIP = 7,
    RZ_EK_MAX = 7
};
enum rz_mode { RZ_MODE_IN_PERSON = 1, RZ_MODE_ONLINE = 2 };

/* Coded values <-> names.  *_parse returns 0 when the name is unknown.
 * *_name returns "unknown" for codes outside the range. */
int gender_parse(const char *s);
const char *gender_name(uint64_t code);
int area_parse(const char *s);
const char *area_name(uint64_t code);
int skill_parse(const char *s);
const char *skill_name(uint64_t code);
int event_kind_parse(const char *s);
const char *event_kind_name(uint64_t code);
int mode_parse(const char *s);
/* Attendance state from a spreadsheet cell: 1 for present/yes/y/p/1/true,
 * 0 for absent/no/n/a/0/false (any case), -1 otherwise. */
int present_parse(const char *s);
/* Programme a centre belongs to: 1 e-rozgar, 2 innovista, 3 other. */
int programme_parse(const char *s);
const char *programme_name(uint64_t code);
const char *mode_name(uint64_t code);

/* Normalises a CNIC ("35202-1234567-1" or 13 digits) into 13 digits + NUL
 * in out[14].  Returns 1 when valid, 0 otherwise (out then holds a copy
 * truncated to 13 bytes, for display only). */
int cnic_normalize(char out[14], const char *in, size_t len);

/* Pakistani phone numbers.  A mobile number is 03XX-XXXXXXX (10 digits
 * after the trunk 0, the first a 3); a landline is an area code and
 * subscriber number, 9 or 10 digits after the 0 (021-12345678,
 * 0992-123456).  Written with or without +92 / 0092 / 0, blanks, dashes,
 * dots or parentheses.  phone_normalize puts the E.164 form
 * ("+923001234567") in out and returns 1 when valid; otherwise 0 and out
 * holds "" (the caller keeps the value as typed, like an invalid CNIC). */
#define RZ_PHONE_MAX 16 /* bytes of a normalised number, NUL included */
int phone_normalize(char out[RZ_PHONE_MAX], const char *in, size_t len);
/* The digits of a phone number as typed, without +92/0092/0 (for search):
 * "0300-1234567" -> "3001234567".  Returns 0 when in holds anything but
 * digits, blanks, + - . ( ), or more than 15 digits. */
int phone_digits(char out[RZ_PHONE_MAX], const char *in, size_t len);

/* The part of s without leading and trailing blanks (space, tab): returns
 * where it starts and puts its length in *len. */
const char *text_trim(const char *s, size_t *len);

/* 1 when s (len bytes) is well-formed UTF-8 (no overlong forms, no
 * surrogates) without control characters: what a text field may hold. */
int text_is_clean(const char *s, size_t len);

/* Earliest valid birth year and date; the latest bound is per entry. */
#define RZ_MIN_BIRTH_YEAR 1920
#define RZ_MIN_DATE 20000101u

/* 1 when YYYYMMDD is a real calendar date (no range check). */
int date_is_valid(uint32_t yyyymmdd);
/* Parses "YYYY-MM-DD"; returns 0 on failure. */
uint32_t date_parse(const char *s);
/* Parses "YYYY-MM-DD" or, as Pakistani spreadsheets write dates,
 * "DD/MM/YYYY" (also D/M/YYYY, DD-MM-YYYY, DD.MM.YYYY); 0 on failure. */
uint32_t date_parse_any(const char *s);
/* Formats into out[11] as "YYYY-MM-DD". */
void date_format(char out[11], uint32_t yyyymmdd);
/* Civil date of a Unix time in milliseconds (UTC+5, Pakistan time). */
uint32_t date_of_ms(uint64_t ms);
/* Days since 1970-01-01 of a YYYYMMDD date (negative before), and back. */
int64_t date_day_number(uint32_t yyyymmdd);
uint32_t date_of_day_number(int64_t days);

/* Period keys: month 202603, quarter 20261 (year*10+q), year 2026. */
enum rz_grain { RZ_GRAIN_MONTH = 0, RZ_GRAIN_QUARTER = 1, RZ_GRAIN_YEAR = 2 };
uint32_t period_key(uint32_t yyyymmdd, int grain);
/* Parses "2026", "2026-Q1" or "2026-03" into grain + key; -1 on error. */
int period_parse(const char *s, int *grain, uint32_t *key);
/* Formats a period key into out[9] ("2026", "2026-Q1", "2026-03"). */
void period_format(char out[9], int grain, uint32_t key);
/* First and last date (YYYYMMDD) of a period. */
void period_range(int grain, uint32_t key, uint32_t *from, uint32_t *to);

/* Age bands: 0 unknown, 1 under 15, 2 15-19, 3 20-24, 4 25-29, 5 30-34,
 * 6 35-44, 7 45-59, 8 60+.  Youth (15-29) is bands 2..4. */
enum { RZ_AGE_UNKNOWN = 0, RZ_AGE_BANDS = 9 };
int age_band(int year, int64_t birth_year);
const char *age_band_name(int band);
int age_band_parse(const char *s);
int age_band_is_youth(int band);

#endif
