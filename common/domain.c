/* domain: coded values, validation, periods and age bands; see domain.h. */
#include "common/domain.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct domain_name {
    int code;          /* the coded value */
    const char *name;  /* canonical name */
    const char *alias; /* accepted short form, may be NULL */
} domain_name;

static const domain_name genders[] = {
    {RZ_G_FEMALE, "female", "f"}, {RZ_G_MALE, "male", "m"}, {RZ_G_OTHER, "other", "x"}, {0, 0, 0}};
static const domain_name areas[] = {
    {RZ_AREA_RURAL, "rural", "r"}, {RZ_AREA_URBAN, "urban", "u"}, {0, 0, 0}};
static const domain_name skills[] = {{RZ_SK_BLUE, "blue-collar", "blue"},
                                     {RZ_SK_WHITE, "white-collar", "white"},
                                     {RZ_SK_PRO, "professional", "pro"},
                                     {0, 0, 0}};
static const domain_name kinds[] = {
    {RZ_EK_TRAINING, "training", NULL},     {RZ_EK_BOOTCAMP, "bootcamp", NULL},
    {RZ_EK_WORKSHOP, "workshop", NULL},     {RZ_EK_SEMINAR, "seminar", NULL},
    {RZ_EK_AWARENESS, "awareness", NULL},   {RZ_EK_FINLIT, "financial-literacy", "finlit"},
    {RZ_EK_MENTORSHIP, "mentorship", NULL}, {0, 0, 0}};
static const domain_name modes[] = {
    {RZ_MODE_IN_PERSON, "in-person", "inperson"}, {RZ_MODE_ONLINE, "online", NULL}, {0, 0, 0}};

static const domain_name programmes[] = {
    {1, "e-rozgar", "erozgar"}, {2, "innovista", NULL}, {3, "other", NULL}, {0, 0, 0}};

static int
domain_parse(const domain_name *t, const char *s)
{
    for (; s && t->name; t++)
        if (strcasecmp(s, t->name) == 0 || (t->alias && strcasecmp(s, t->alias) == 0))
            return t->code;
    return 0;
}

static const char *
domain_label(const domain_name *t, uint64_t code)
{
    for (; t->name; t++)
        if ((uint64_t)t->code == code)
            return t->name;
    return "unknown";
}

int
gender_parse(const char *s)
{
    return domain_parse(genders, s);
}
const char *
gender_name(uint64_t c)
{
    return domain_label(genders, c);
}
int
area_parse(const char *s)
{
    return domain_parse(areas, s);
}
const char *
area_name(uint64_t c)
{
    return domain_label(areas, c);
}
int
skill_parse(const char *s)
{
    return domain_parse(skills, s);
}
const char *
skill_name(uint64_t c)
{
    return domain_label(skills, c);
}
int
event_kind_parse(const char *s)
{
    return domain_parse(kinds, s);
}
const char *
event_kind_name(uint64_t c)
{
    return domain_label(kinds, c);
}
int
mode_parse(const char *s)
{
    return domain_parse(modes, s);
}
const char *
mode_name(uint64_t c)
{
    return domain_label(modes, c);
}
int
programme_parse(const char *s)
{
    return domain_parse(programmes, s);
}
const char *
programme_name(uint64_t c)
{
    return domain_label(programmes, c);
}

int
cnic_normalize(char out[14], const char *in, size_t len)
{
    size_t i, n = 0, dashes = 0;
    int ok = 1;
    for (i = 0; i < len; i++) {
        if (in[i] == '-' && (n == 5 || n == 12)) {
            dashes++;
            continue;
        }
        if (!isdigit((unsigned char)in[i]) || n == 13) {
            ok = 0;
            break;
        }
        out[n++] = in[i];
    }
    out[n] = '\0';
    /* 13 digits; the first digit is the region: 1..7 the provinces and
     * territories, 8 Azad Jammu and Kashmir. */
    return ok && n == 13 && out[0] >= '1' && out[0] <= '8' && (dashes == 0 || dashes == 2);
}

static int
is_leap(uint32_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
date_is_valid(uint32_t d)
{
    static const uint8_t mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint32_t y = d / 10000, m = d / 100 % 100, day = d % 100;
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || day < 1)
        return 0;
    return day <= mdays[m - 1] + (m == 2 && is_leap(y) ? 1u : 0u);
}

uint32_t
date_parse(const char *s)
{
    unsigned y, m, d;
    char tail;
    uint32_t v;
    if (!s || sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3)
        return 0;
    v = y * 10000 + m * 100 + d;
    return date_is_valid(v) ? v : 0;
}

void
date_format(char out[11], uint32_t d)
{
    snprintf(out, 11, "%04u-%02u-%02u", (d / 10000) % 10000, d / 100 % 100, d % 100);
}

uint32_t
date_of_day_number(int64_t days)
{
    /* Howard Hinnant's days-to-civil. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    return (uint32_t)(y * 10000 + m * 100 + d);
}

int64_t
date_day_number(uint32_t yyyymmdd)
{
    /* Howard Hinnant's days-from-civil. */
    int64_t y = yyyymmdd / 10000, m = yyyymmdd / 100 % 100, d = yyyymmdd % 100;
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

uint32_t
date_of_ms(uint64_t ms)
{
    /* Pakistan Standard Time is UTC+5. */
    return date_of_day_number((int64_t)((ms / 1000 + 5 * 3600) / 86400));
}

uint32_t
period_key(uint32_t d, int grain)
{
    uint32_t y = d / 10000, m = d / 100 % 100;
    switch (grain) {
    case RZ_GRAIN_MONTH: return y * 100 + m;
    case RZ_GRAIN_QUARTER: return y * 10 + (m - 1) / 3 + 1;
    default: return y;
    }
}

/* 1 when s is "YYYY", "YYYY-MM" or "YYYY-QN" in shape: %u alone would also
 * take signs and blanks ("-001" would become year 4294967295). */
static int
period_shape_ok(const char *s)
{
    size_t i, n = strlen(s);
    for (i = 0; i < 4 && i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    if (n == 4)
        return 1;
    return n == 7 && s[4] == '-' && (isdigit((unsigned char)s[5]) || s[5] == 'Q') &&
           isdigit((unsigned char)s[6]);
}

int
period_parse(const char *s, int *grain, uint32_t *key)
{
    unsigned y, x;
    char tail;
    if (!s || !period_shape_ok(s))
        return -1;
    if (sscanf(s, "%4u-Q%1u%c", &y, &x, &tail) == 2 && x >= 1 && x <= 4) {
        *grain = RZ_GRAIN_QUARTER, *key = y * 10 + x;
        return 0;
    }
    if (sscanf(s, "%4u-%2u%c", &y, &x, &tail) == 2 && x >= 1 && x <= 12) {
        *grain = RZ_GRAIN_MONTH, *key = y * 100 + x;
        return 0;
    }
    if (sscanf(s, "%4u%c", &y, &tail) == 1 && strlen(s) == 4) {
        *grain = RZ_GRAIN_YEAR, *key = y;
        return 0;
    }
    return -1;
}

void
period_format(char out[9], int grain, uint32_t key)
{
    switch (grain) {
    case RZ_GRAIN_MONTH: snprintf(out, 9, "%04u-%02u", (key / 100) % 10000, key % 100); break;
    case RZ_GRAIN_QUARTER: snprintf(out, 9, "%04u-Q%u", (key / 10) % 10000, key % 10); break;
    default: snprintf(out, 9, "%04u", key % 10000); break;
    }
}

void
period_range(int grain, uint32_t key, uint32_t *from, uint32_t *to)
{
    uint32_t y, m0, m1;
    static const uint8_t last[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    switch (grain) {
    case RZ_GRAIN_MONTH: y = key / 100, m0 = m1 = key % 100; break;
    case RZ_GRAIN_QUARTER: y = key / 10, m0 = (key % 10 - 1) * 3 + 1, m1 = m0 + 2; break;
    default: y = key, m0 = 1, m1 = 12; break;
    }
    *from = y * 10000 + m0 * 100 + 1;
    *to = y * 10000 + m1 * 100 + last[m1 - 1] + (m1 == 2 && is_leap(y) ? 1u : 0u);
}

static const char *const band_names[RZ_AGE_BANDS] = {
    "unknown", "under-15", "15-19", "20-24", "25-29", "30-34", "35-44", "45-59", "60+"};

int
age_band(int year, int64_t birth_year)
{
    int64_t age;
    if (birth_year < RZ_MIN_BIRTH_YEAR || birth_year > year)
        return RZ_AGE_UNKNOWN;
    age = year - birth_year;
    if (age < 15)
        return 1;
    if (age < 20)
        return 2;
    if (age < 25)
        return 3;
    if (age < 30)
        return 4;
    if (age < 35)
        return 5;
    if (age < 45)
        return 6;
    if (age < 60)
        return 7;
    return 8;
}

const char *
age_band_name(int band)
{
    return band >= 0 && band < RZ_AGE_BANDS ? band_names[band] : "unknown";
}

int
age_band_parse(const char *s)
{
    int i;
    for (i = 0; i < RZ_AGE_BANDS; i++)
        if (s && strcmp(s, band_names[i]) == 0)
            return i;
    return -1;
}

int
age_band_is_youth(int band)
{
    return band >= 2 && band <= 4;
}

int
present_parse(const char *s)
{
    static const char *const yes[] = {"present", "yes", "y", "p", "1", "true", "حاضر", NULL};
    static const char *const no[] = {"absent", "no", "n", "a", "0", "false", "غیر حاضر", NULL};
    int i;
    for (i = 0; s && yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
    for (i = 0; s && no[i]; i++)
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    return -1;
}

int
phone_digits(char out[RZ_PHONE_MAX], const char *in, size_t len)
{
    char d[24];
    size_t i, n = 0, skip = 0;
    out[0] = '\0';
    for (i = 0; i < len; i++) {
        char c = in[i];
        if (c >= '0' && c <= '9') {
            if (n >= 20)
                return 0;
            d[n++] = c;
        } else if (!(c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' ||
                     (c == '+' && n == 0))) {
            return 0;
        }
    }
    /* International prefix, country code, or the trunk 0. */
    if (n >= 4 && memcmp(d, "0092", 4) == 0)
        skip = 4;
    else if (n >= 11 && memcmp(d, "92", 2) == 0)
        skip = 2;
    else if (n >= 1 && d[0] == '0')
        skip = 1;
    if (n - skip >= RZ_PHONE_MAX)
        return 0;
    memcpy(out, d + skip, n - skip);
    out[n - skip] = '\0';
    return 1;
}

int
phone_normalize(char out[RZ_PHONE_MAX], const char *in, size_t len)
{
    char nat[RZ_PHONE_MAX];
    size_t n;
    out[0] = '\0';
    if (!phone_digits(nat, in, len))
        return 0;
    n = strlen(nat);
    /* Mobile: 3 then the operator (30x-35x) and seven digits.  Landline:
     * an area code (first digit 2 and 4-9; 1 is for UAN/special numbers,
     * 3 for mobiles, 8 also toll-free 0800) with the subscriber number. */
    if (nat[0] == '3') {
        if (n != 10 || nat[1] > '5')
            return 0;
    } else if (nat[0] >= '2' && nat[0] <= '9') {
        if (n != 9 && n != 10)
            return 0;
        if (strncmp(nat, "800", 3) == 0 || strncmp(nat, "900", 3) == 0)
            return 0;
    } else {
        return 0;
    }
    memcpy(out, "+92", 3);
    memcpy(out + 3, nat, n + 1); /* n is 9 or 10 here */
    return 1;
}

const char *
text_trim(const char *s, size_t *len)
{
    const char *e;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *len = (size_t)(e - s);
    return s;
}

int
text_is_clean(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p, need, cp, i;
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07;
        else
            return 0;
        if ((size_t)(end - p) <= need)
            return 0;
        for (i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values above U+10FFFF. */
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += need + 1;
    }
    return 1;
}

uint32_t
date_parse_any(const char *s)
{
    unsigned y, m, d;
    char sep1, sep2, tail;
    uint32_t v;
    size_t i, n;
    if (!s)
        return 0;
    if ((v = date_parse(s)) != 0)
        return v;
    /* Digits and separators only: sscanf's %u would take signs and blanks. */
    n = strlen(s);
    if (n < 8 || n > 10)
        return 0;
    for (i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && s[i] != '/' && s[i] != '-' && s[i] != '.')
            return 0;
    if (sscanf(s, "%2u%c%2u%c%4u%c", &d, &sep1, &m, &sep2, &y, &tail) != 5 || sep1 != sep2 ||
        (sep1 != '/' && sep1 != '-' && sep1 != '.') || y < 1000)
        return 0;
    v = y * 10000 + m * 100 + d;
    return date_is_valid(v) ? v : 0;
}
