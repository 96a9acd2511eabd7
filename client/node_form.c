/* node_form: form texts -> record fields with a message per field; see
 * node_form.h. */
#include "client/node_form.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/domain.h"
#include "common/hlc.h"
#include "common/places.h"

static const char *const person_labels[RZ_PF_MAX + 1] = {
    [RZ_PF_CNIC] = "CNIC",
    [RZ_PF_NAME] = "name",
    [RZ_PF_PHONE] = "phone",
    [RZ_PF_GENDER] = "gender",
    [RZ_PF_BIRTH_YEAR] = "birth year",
    [RZ_PF_DISTRICT] = "district",
    [RZ_PF_AREA] = "area",
    [RZ_PF_SKILL] = "skill category",
    [RZ_PF_SKILLS] = "skills",
    [RZ_PF_PLATFORMS] = "platforms",
    [RZ_PF_REG_DATE] = "registration date",
};

static const char *const event_labels[RZ_EF_MAX + 1] = {
    [RZ_EF_KIND] = "kind",         [RZ_EF_TITLE] = "title",     [RZ_EF_DATE] = "date",
    [RZ_EF_DURATION] = "duration", [RZ_EF_PARTNER] = "partner", [RZ_EF_MODE] = "mode",
};

const char *
node_form_person_label(int field)
{
    return field >= 1 && field <= RZ_PF_MAX ? person_labels[field] : "field";
}

const char *
node_form_event_label(int field)
{
    return field >= 1 && field <= RZ_EF_MAX ? event_labels[field] : "field";
}

void
node_form_init(node_form *fm)
{
    memset(fm->level, 0, sizeof fm->level);
    memset(fm->msg, 0, sizeof fm->msg);
    fm->errors = fm->warnings = 0;
}

static int say(node_form *fm, int field, int level, const char *fmt, ...) RZ_PRINTF(4, 5);

/* Records a message for field; returns RZ_E_ARG for an error, else 0. */
static int
say(node_form *fm, int field, int level, const char *fmt, ...)
{
    va_list ap;
    if (field < 0 || field >= NODE_FORM_FIELDS)
        field = 0;
    if (fm->level[field] == NODE_FORM_ERROR)
        return RZ_E_ARG; /* the first error of a field stands */
    if (fm->level[field] == NODE_FORM_WARN)
        fm->warnings--;
    fm->level[field] = (uint8_t)level;
    va_start(ap, fmt);
    vsnprintf(fm->msg[field], NODE_FORM_MSG_MAX, fmt, ap);
    va_end(ap);
    if (level == NODE_FORM_ERROR) {
        fm->errors++;
        return RZ_E_ARG;
    }
    fm->warnings++;
    return 0;
}

/* Copies text trimmed of outer blanks into fm->text[field]; RZ_E_ARG (with
 * the message) when it is too long or not clean text. */
static int
take_text(node_form *fm, int field, const char *label, const char *text, const char **out)
{
    size_t n;
    const char *s = text_trim(text, &n);
    if (n > RZ_MAX_STR)
        return say(fm, field, NODE_FORM_ERROR, "The %s is too long: at most %d bytes.", label,
                   RZ_MAX_STR);
    if (!text_is_clean(s, n))
        return say(fm, field, NODE_FORM_ERROR,
                   "The %s holds characters that cannot be saved (a control character or "
                   "broken text); type it again.",
                   label);
    memcpy(fm->text[field], s, n);
    fm->text[field][n] = '\0';
    *out = fm->text[field];
    return 0;
}

/* Digits only, at most maxdigits; 0 when s is a number. */
static int
parse_number(const char *s, int maxdigits, uint64_t *v)
{
    int n = 0;
    *v = 0;
    if (!*s)
        return -1;
    for (; *s; s++, n++) {
        if (*s < '0' || *s > '9' || n >= maxdigits)
            return -1;
        *v = *v * 10 + (uint64_t)(*s - '0');
    }
    return 0;
}

/* Words for a gender beyond domain.c's names (spreadsheets, Urdu). */
static int
gender_from_text(const char *s)
{
    static const struct {
        const char *word; /* as written */
        int code;         /* enum rz_gender */
    } more[] = {{"woman", RZ_G_FEMALE},      {"w", RZ_G_FEMALE},    {"man", RZ_G_MALE},
                {"خاتون", RZ_G_FEMALE},      {"عورت", RZ_G_FEMALE}, {"مرد", RZ_G_MALE},
                {"transgender", RZ_G_OTHER}, {"t", RZ_G_OTHER},     {NULL, 0}};
    int g = gender_parse(s), i;
    for (i = 0; !g && more[i].word; i++)
        if (strcasecmp(s, more[i].word) == 0)
            g = more[i].code;
    return g;
}

/* A district is matched against the shipped places list: a known name or
 * alias ("DG Khan") is stored as its official name ("Dera Ghazi Khan"), so
 * headquarters counts one district, not its spellings; an unknown one is
 * kept as typed with a warning naming the closest official names.  Without
 * a list (none installed) any text is kept. */
static const char *
district_check(node_form *fm, const char *s)
{
    const places *pl = places_active();
    const char *official, *near[4];
    char list[NODE_FORM_MSG_MAX / 2] = "";
    size_t n, i;
    if (!pl || !*s)
        return s;
    if ((official = places_find_district(pl, -1, s, NULL)) != NULL) {
        snprintf(fm->text[RZ_PF_DISTRICT], sizeof fm->text[RZ_PF_DISTRICT], "%s", official);
        return fm->text[RZ_PF_DISTRICT];
    }
    n = places_suggest_district(pl, -1, s, near, 4);
    for (i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", near[i]);
    say(fm, RZ_PF_DISTRICT, NODE_FORM_WARN,
        "This district is not in the list of Pakistan's districts%s%s. It is saved, but counted "
        "as unknown until it is corrected.",
        n ? "; did you mean " : "", list);
    return s;
}

static const char date_words[] = "Write the date as YYYY-MM-DD or DD/MM/YYYY, like 2026-03-14.";

int
node_form_person_field(node_form *fm, node_person *p, int field, const char *text)
{
    const char *s = NULL, *label = node_form_person_label(field);
    uint32_t this_year = date_of_ms(hlc_wall_ms()) / 10000;
    char norm[RZ_PHONE_MAX > 14 ? RZ_PHONE_MAX : 14];
    uint64_t v;
    int rc, code;

    if (field < 1 || field > RZ_PF_MAX)
        return say(fm, 0, NODE_FORM_ERROR, "Unknown field %d.", field);
    if ((rc = take_text(fm, field, label, text, &s)) != 0)
        return rc;
    switch (field) {
    case RZ_PF_NAME:
        if (!*s)
            return say(fm, field, NODE_FORM_ERROR, "Enter the person's name.");
        p->name = s;
        break;
    case RZ_PF_CNIC:
        p->cnic = s;
        if (!cnic_normalize(norm, s, strlen(s)))
            say(fm, field, NODE_FORM_WARN,
                "A CNIC has 13 digits, like 35202-1234567-1. This one is saved, but counted as "
                "invalid until it is corrected.");
        break;
    case RZ_PF_PHONE:
        p->phone = s;
        if (!phone_normalize(norm, s, strlen(s)))
            say(fm, field, NODE_FORM_WARN,
                "This is not a Pakistani phone number (a mobile like 0300-1234567, or a "
                "landline with its area code like 042-35761234). It is saved, but counted as "
                "invalid until it is corrected.");
        break;
    case RZ_PF_GENDER:
        if (!(code = gender_from_text(s)))
            return say(fm, field, NODE_FORM_ERROR, "Choose female, male or other.");
        p->gender = (uint64_t)code;
        break;
    case RZ_PF_BIRTH_YEAR:
        if (parse_number(s, 4, &v) != 0) {
            /* A date of birth gives its year. */
            uint32_t d = date_parse_any(s);
            if (!d)
                return say(fm, field, NODE_FORM_ERROR,
                           "Write the birth year as four digits, like 2001 (or the date of "
                           "birth as DD/MM/YYYY).");
            v = d / 10000;
        }
        p->birth_year = v;
        if (v < RZ_MIN_BIRTH_YEAR || v > this_year)
            say(fm, field, NODE_FORM_WARN,
                "A birth year before %d or in the future is saved, but counted as unknown "
                "until it is corrected.",
                RZ_MIN_BIRTH_YEAR);
        break;
    case RZ_PF_DISTRICT: p->district = district_check(fm, s); break;
    case RZ_PF_AREA:
        if (!(code = area_parse(s)))
            return say(fm, field, NODE_FORM_ERROR, "Choose rural or urban.");
        p->area = (uint64_t)code;
        break;
    case RZ_PF_SKILL:
        if (!(code = skill_parse(s)))
            return say(fm, field, NODE_FORM_ERROR,
                       "Choose blue-collar, white-collar or professional.");
        p->skill = (uint64_t)code;
        break;
    case RZ_PF_SKILLS: p->skills = s; break;
    case RZ_PF_PLATFORMS: p->platforms = s; break;
    case RZ_PF_REG_DATE:
        if (!(p->reg_date = date_parse_any(s)))
            return say(fm, field, NODE_FORM_ERROR, "%s", date_words);
        break;
    default: break;
    }
    p->set |= NODE_SET(field);
    return 0;
}

int
node_form_event_field(node_form *fm, node_event *e, int field, const char *text)
{
    const char *s = NULL, *label = node_form_event_label(field);
    uint64_t v;
    int rc, code;

    if (field < 1 || field > RZ_EF_MAX)
        return say(fm, 0, NODE_FORM_ERROR, "Unknown field %d.", field);
    if ((rc = take_text(fm, field, label, text, &s)) != 0)
        return rc;
    switch (field) {
    case RZ_EF_KIND:
        if (!(code = event_kind_parse(s)))
            return say(fm, field, NODE_FORM_ERROR,
                       "Choose the kind: training, bootcamp, workshop, seminar, awareness, "
                       "financial-literacy or mentorship.");
        e->kind = (uint64_t)code;
        break;
    case RZ_EF_TITLE:
        if (!*s)
            return say(fm, field, NODE_FORM_ERROR, "Enter the event's title.");
        e->title = s;
        break;
    case RZ_EF_DATE:
        if (!(e->date = date_parse_any(s)))
            return say(fm, field, NODE_FORM_ERROR, "%s", date_words);
        break;
    case RZ_EF_DURATION:
        if (parse_number(s, 6, &v) != 0)
            return say(fm, field, NODE_FORM_ERROR,
                       "Write the duration in minutes as a number, like 90.");
        e->duration = v;
        break;
    case RZ_EF_PARTNER: e->partner = s; break;
    case RZ_EF_MODE:
        if (!(code = mode_parse(s)))
            return say(fm, field, NODE_FORM_ERROR, "Choose in-person or online.");
        e->mode = (uint64_t)code;
        break;
    default: break;
    }
    e->set |= NODE_SET(field);
    return 0;
}

/* 1 when text is NULL or only blanks. */
static int
blank(const char *text)
{
    size_t n = 0;
    return !text || (text_trim(text, &n), n == 0);
}

int
node_form_person(node_form *fm, node_person *p, const char *const vals[NODE_FORM_FIELDS],
                 int is_new)
{
    int f;
    node_form_init(fm);
    memset(p, 0, sizeof *p);
    for (f = 1; f <= RZ_PF_MAX; f++) {
        if (!vals[f])
            continue;
        if (!blank(vals[f])) {
            if (node_form_person_field(fm, p, f, vals[f]) != 0)
                continue;
            continue;
        }
        if (is_new)
            continue;
        if (f == RZ_PF_NAME) {
            say(fm, f, NODE_FORM_ERROR, "A person's name cannot be removed.");
        } else if (f == RZ_PF_CNIC || f == RZ_PF_PHONE || f == RZ_PF_DISTRICT ||
                   f == RZ_PF_SKILLS || f == RZ_PF_PLATFORMS) {
            /* Clearing: the field is given, its value NULL. */
            p->set |= NODE_SET(f);
        }
    }
    if (is_new && !(p->set & NODE_SET(RZ_PF_NAME)) && fm->level[RZ_PF_NAME] != NODE_FORM_ERROR)
        say(fm, RZ_PF_NAME, NODE_FORM_ERROR, "Enter the person's name.");
    if (is_new && !(p->set & NODE_SET(RZ_PF_GENDER)) && fm->level[RZ_PF_GENDER] != NODE_FORM_ERROR)
        say(fm, RZ_PF_GENDER, NODE_FORM_ERROR, "Choose female, male or other.");
    return fm->errors ? RZ_E_ARG : 0;
}

int
node_form_event(node_form *fm, node_event *e, const char *const vals[NODE_FORM_FIELDS], int is_new)
{
    static const char *const need[] = {[RZ_EF_KIND] = "Choose the kind of event.",
                                       [RZ_EF_TITLE] = "Enter the event's title.",
                                       [RZ_EF_DATE] = "Enter the event's date."};
    int f;
    node_form_init(fm);
    memset(e, 0, sizeof *e);
    for (f = 1; f <= RZ_EF_MAX; f++) {
        if (!vals[f])
            continue;
        if (!blank(vals[f])) {
            if (node_form_event_field(fm, e, f, vals[f]) != 0)
                continue;
            continue;
        }
        if (is_new)
            continue;
        if (f == RZ_EF_TITLE)
            say(fm, f, NODE_FORM_ERROR, "An event's title cannot be removed.");
        else if (f == RZ_EF_PARTNER)
            e->set |= NODE_SET(f);
    }
    for (f = RZ_EF_KIND; is_new && f <= RZ_EF_DATE; f++)
        if (!(e->set & NODE_SET(f)) && fm->level[f] != NODE_FORM_ERROR)
            say(fm, f, NODE_FORM_ERROR, "%s", need[f]);
    return fm->errors ? RZ_E_ARG : 0;
}

const char *
node_form_first(const node_form *fm, int level)
{
    int f;
    for (f = 0; f < NODE_FORM_FIELDS; f++)
        if (fm->level[f] >= level && fm->level[f] != NODE_FORM_OK)
            return fm->msg[f];
    return "";
}
