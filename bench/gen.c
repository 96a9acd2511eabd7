/*
 * gen: deterministic synthetic national data set; see gen.h.
 *
 * Every value is a pure function of (seed, centre, index), drawn from a
 * splitmix64 hash, so a record can be regenerated anywhere without state.
 * The distributions are rough public figures, not census data: enough to
 * give the merge realistic spread over provinces, districts, genders, age
 * bands and skills (which is what the totals' cost depends on).
 */
#include "bench/gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "proto/wire.h"

typedef struct gen_district {
    const char *name; /* district */
    int province;     /* index into gen_provinces */
    double weight;    /* population share (millions, rounded) */
    double urban;     /* share of residents in urban areas */
} gen_district;

typedef struct gen_province {
    const char *name; /* as headquarters writes it */
    char cnic_digit;  /* first CNIC digit of residents */
} gen_province;

static const gen_province gen_provinces[] = {
    {"Punjab", '3'},       {"Sindh", '4'},     {"Khyber Pakhtunkhwa", '1'},
    {"Balochistan", '5'},  {"Islamabad", '6'}, {"Gilgit-Baltistan", '7'},
    {"Azad Kashmir", '8'},
};

static const gen_district gen_districts[] = {
    {"Lahore", 0, 13.0, 0.85},
    {"Faisalabad", 0, 7.9, 0.5},
    {"Rawalpindi", 0, 6.1, 0.55},
    {"Gujranwala", 0, 5.9, 0.5},
    {"Multan", 0, 5.4, 0.45},
    {"Rahim Yar Khan", 0, 5.6, 0.2},
    {"Muzaffargarh", 0, 5.0, 0.15},
    {"Sialkot", 0, 4.5, 0.4},
    {"Bahawalpur", 0, 4.3, 0.3},
    {"Sargodha", 0, 4.3, 0.3},
    {"Sheikhupura", 0, 4.0, 0.35},
    {"Kasur", 0, 4.1, 0.3},
    {"Okara", 0, 3.5, 0.25},
    {"Dera Ghazi Khan", 0, 3.0, 0.2},
    {"Gujrat", 0, 3.2, 0.3},
    {"Khanewal", 0, 3.4, 0.2},
    {"Vehari", 0, 3.4, 0.18},
    {"Sahiwal", 0, 2.9, 0.25},
    {"Jhang", 0, 3.0, 0.25},
    {"Mianwali", 0, 1.8, 0.2},
    {"Karachi Central", 1, 3.8, 0.99},
    {"Karachi East", 1, 3.9, 0.99},
    {"Karachi South", 1, 2.3, 0.99},
    {"Karachi West", 1, 2.7, 0.95},
    {"Korangi", 1, 3.1, 0.99},
    {"Malir", 1, 2.4, 0.7},
    {"Hyderabad", 1, 2.4, 0.7},
    {"Sukkur", 1, 1.6, 0.5},
    {"Larkana", 1, 1.8, 0.4},
    {"Mirpur Khas", 1, 1.7, 0.3},
    {"Shaheed Benazirabad", 1, 1.8, 0.3},
    {"Khairpur", 1, 2.6, 0.25},
    {"Badin", 1, 1.9, 0.15},
    {"Dadu", 1, 1.7, 0.25},
    {"Tharparkar", 1, 1.8, 0.07},
    {"Thatta", 1, 1.1, 0.15},
    {"Peshawar", 2, 4.8, 0.45},
    {"Mardan", 2, 2.7, 0.2},
    {"Swat", 2, 2.7, 0.15},
    {"Dera Ismail Khan", 2, 1.9, 0.15},
    {"Swabi", 2, 1.9, 0.17},
    {"Charsadda", 2, 1.8, 0.18},
    {"Mansehra", 2, 1.8, 0.05},
    {"Nowshera", 2, 1.7, 0.25},
    {"Abbottabad", 2, 1.4, 0.2},
    {"Bannu", 2, 1.4, 0.1},
    {"Kohat", 2, 1.2, 0.25},
    {"Khyber", 2, 1.1, 0.05},
    {"Quetta", 3, 2.6, 0.7},
    {"Kech", 3, 1.0, 0.2},
    {"Khuzdar", 3, 1.0, 0.2},
    {"Zhob", 3, 0.4, 0.2},
    {"Gwadar", 3, 0.3, 0.5},
    {"Sibi", 3, 0.2, 0.3},
    {"Islamabad", 4, 2.4, 0.5},
    {"Gilgit", 5, 0.3, 0.3},
    {"Skardu", 5, 0.3, 0.2},
    {"Muzaffarabad", 6, 0.7, 0.3},
    {"Mirpur", 6, 0.5, 0.4},
};
#define GEN_NDISTRICTS (sizeof gen_districts / sizeof gen_districts[0])

static const char *const gen_first_f_en[] = {
    "Ayesha", "Fatima", "Sana",  "Mehwish", "Hira",   "Zainab", "Maryam", "Iqra",  "Amna", "Saba",
    "Rabia",  "Nimra",  "Kiran", "Sadia",   "Bushra", "Farah",  "Noor",   "Aliya", "Hina", "Sidra"};
static const char *const gen_first_m_en[] = {
    "Muhammad", "Ahmed",  "Ali",  "Bilal", "Hamza",  "Usman", "Imran", "Hassan", "Hussain", "Zain",
    "Faisal",   "Kamran", "Asad", "Waqas", "Shahid", "Tariq", "Gul",   "Junaid", "Saad",    "Umer"};
static const char *const gen_last_en[] = {"Khan",   "Ahmed",    "Malik",  "Butt",      "Qureshi",
                                          "Sheikh", "Chaudhry", "Awan",   "Baloch",    "Shah",
                                          "Memon",  "Abbasi",   "Afridi", "Yousafzai", "Jatoi",
                                          "Rajput", "Siddiqui", "Hashmi", "Mirza",     "Bhatti"};
static const char *const gen_first_f_ur[] = {"عائشہ", "فاطمہ", "ثنا",  "مہوش", "حرا",
                                             "زینب",  "مریم",  "اقرا", "آمنہ", "صبا"};
static const char *const gen_first_m_ur[] = {"محمد",  "احمد",  "علی", "بلال", "حمزہ",
                                             "عثمان", "عمران", "حسن", "حسین", "فیصل"};
static const char *const gen_last_ur[] = {"خان",    "احمد",  "ملک",  "بٹ",  "قریشی", "شیخ",
                                          "چوہدری", "اعوان", "بلوچ", "شاہ", "بی بی"};

static const char *const gen_skill_text[] = {"graphic design",
                                             "web development",
                                             "content writing",
                                             "digital marketing",
                                             "video editing",
                                             "data entry",
                                             "bookkeeping",
                                             "mobile apps",
                                             "translation",
                                             "virtual assistance",
                                             "tailoring, online store",
                                             "AutoCAD drafting",
                                             "SEO",
                                             "WordPress",
                                             "mobile repair",
                                             "Python, data analysis"};
static const char *const gen_platform_text[] = {"",
                                                "Upwork",
                                                "Fiverr",
                                                "Fiverr, Upwork",
                                                "Freelancer.com",
                                                "PeoplePerHour",
                                                "LinkedIn",
                                                "Daraz seller",
                                                "Upwork, LinkedIn",
                                                ""};

/* Kinds with their share of events, title stem and typical minutes. */
typedef struct gen_kind_info {
    int kind;          /* enum rz_event_kind */
    double share;      /* of all events */
    const char *title; /* title stem */
    int minutes;       /* typical duration */
} gen_kind_info;

static const gen_kind_info gen_kinds[] = {
    {RZ_EK_TRAINING, 0.30, "Freelancing skills training", 180},
    {RZ_EK_BOOTCAMP, 0.10, "Upwork and Fiverr bootcamp", 480},
    {RZ_EK_WORKSHOP, 0.18, "Profile building workshop", 150},
    {RZ_EK_SEMINAR, 0.10, "Freelancers' rights seminar", 120},
    {RZ_EK_AWARENESS, 0.12, "Taxation awareness session", 90},
    {RZ_EK_FINLIT, 0.12, "Payments and banking (financial literacy)", 120},
    {RZ_EK_MENTORSHIP, 0.08, "Mentorship circle", 60},
};
static const char *const gen_partners[] = {"",         "PSEB", "PAFLA", "Innovista", "NAVTTC",
                                           "Payoneer", "PTA",  "",      "FBR",       ""};

/* splitmix64: a good 64-bit mix, so hash(seed, a, b, field) is independent
 * per field without any generator state. */
static uint64_t
gen_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t
gen_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t field)
{
    return gen_mix(gen_mix(gen_mix(seed ^ a) ^ b) + field);
}

/* Uniform double in [0, 1). */
static double
gen_unit(uint64_t h)
{
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

#define GEN_PICK(arr, h) (arr[(h) % (sizeof arr / sizeof arr[0])])

/* --- calendar (Howard Hinnant's algorithms) --- */

static int64_t
gen_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static uint32_t
gen_civil_from_days(int64_t z)
{
    int64_t era, y;
    unsigned doe, yoe, doy, mp, d, m;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    return (uint32_t)(y * 10000 + m * 100 + d);
}

uint32_t
gen_date_add(uint32_t ymd, int64_t days)
{
    return gen_civil_from_days(gen_days_from_civil(ymd / 10000, ymd / 100 % 100, ymd % 100) + days);
}

/* --- plan --- */

void
gen_config_defaults(gen_config *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 0x526f7a676172ull; /* "Rozgar" */
    c->first_date = 20240101;
    c->days = 1035;
}

static double
gen_total_weight(void)
{
    double t = 0;
    size_t i;
    for (i = 0; i < GEN_NDISTRICTS; i++)
        t += gen_districts[i].weight;
    return t;
}

/* District at position u in [0,1) of the population-weighted list. */
static const gen_district *
gen_district_at(double u)
{
    double t = gen_total_weight() * u, acc = 0;
    size_t i;
    for (i = 0; i < GEN_NDISTRICTS; i++) {
        acc += gen_districts[i].weight;
        if (t < acc)
            return &gen_districts[i];
    }
    return &gen_districts[GEN_NDISTRICTS - 1];
}

/* Splits total into n parts proportional to w (exact sum). */
static void
gen_split(uint64_t total, const double *w, size_t n, uint64_t *out)
{
    double sum = 0, acc = 0;
    uint64_t prev = 0;
    size_t i;
    for (i = 0; i < n; i++)
        sum += w[i];
    for (i = 0; i < n; i++) {
        uint64_t upto;
        acc += w[i];
        upto = i + 1 == n ? total : (uint64_t)((double)total * (acc / sum));
        if (upto < prev)
            upto = prev;
        out[i] = upto - prev;
        prev = upto;
    }
}

/* Average attendees an event aims for; smaller when a centre is small so
 * every cohort fits in its people. */
static uint64_t
gen_event_target(uint64_t people)
{
    uint64_t m = 30;
    if (people / 2 < m)
        m = people / 2 ? people / 2 : 1;
    return m;
}

static void
gen_centre_fill(gen_centre *c, const gen_config *cfg, uint32_t i)
{
    const gen_district *d = gen_district_at(((double)i + 0.5) / cfg->centres);
    uint32_t k = i % 20;
    static const char *const label[] = {"", "e-Rozgar", "Innovista", "Centre"};
    c->index = i;
    c->programme = k < 16 ? 1 : k < 19 ? 2 : 3;
    c->province = gen_provinces[d->province].name;
    c->district = d->name;
    snprintf(c->name, sizeof c->name, "%s %s %u", label[c->programme], d->name, i + 1);
}

int
gen_plan_init(gen_plan *p, const gen_config *cfg, rz_error *err)
{
    double *w;
    uint64_t *people, *att;
    uint32_t i;
    int rc = 0;

    memset(p, 0, sizeof *p);
    if (cfg->centres == 0 || cfg->people < cfg->centres)
        return rz_fail(err, RZ_E_ARG, "need at least one centre and one person per centre");
    if (cfg->attendance > cfg->people * 40)
        return rz_fail(err, RZ_E_ARG, "at most 40 attendance rows per person");
    if (cfg->days == 0 || gen_date_add(cfg->first_date, 0) != cfg->first_date)
        return rz_fail(err, RZ_E_ARG, "bad period");
    p->cfg = *cfg;
    p->centre = xcalloc(cfg->centres, sizeof *p->centre);
    w = xcalloc(cfg->centres, sizeof *w);
    people = xcalloc(cfg->centres, sizeof *people);
    att = xcalloc(cfg->centres, sizeof *att);
    /* Centre sizes vary by a factor of three around the mean. */
    for (i = 0; i < cfg->centres; i++)
        w[i] = 0.5 + gen_unit(gen_hash(cfg->seed, i, 0, 1));
    gen_split(cfg->people, w, cfg->centres, people);
    for (i = 0; i < cfg->centres; i++)
        w[i] = (double)people[i];
    gen_split(cfg->attendance, w, cfg->centres, att);
    for (i = 0; i < cfg->centres; i++) {
        gen_centre *c = &p->centre[i];
        uint64_t m;
        gen_centre_fill(c, cfg, i);
        if (people[i] == 0) {
            rc = rz_fail(err, RZ_E_ARG, "centre %u gets no people; use fewer centres", i);
            break;
        }
        c->people = people[i];
        c->attendance = att[i];
        m = gen_event_target(c->people);
        c->events = (att[i] + m - 1) / m;
        if (c->events == 0)
            c->events = 1 + c->people / 100; /* events without attendance yet */
    }
    free(w);
    free(people);
    free(att);
    if (rc)
        gen_plan_free(p);
    return rc;
}

void
gen_plan_free(gen_plan *p)
{
    free(p->centre);
    p->centre = NULL;
}

uint64_t
gen_centre_records(const gen_centre *c)
{
    return c->people + c->events + c->attendance;
}

uint64_t
gen_plan_records(const gen_plan *p)
{
    uint64_t n = 0;
    uint32_t i;
    for (i = 0; i < p->cfg.centres; i++)
        n += gen_centre_records(&p->centre[i]);
    return n;
}

/* --- stream --- */

void
gen_stream_init(gen_stream *s, const gen_plan *p, uint32_t index)
{
    const gen_centre *c = &p->centre[index];
    double *w = xcalloc(c->events, sizeof *w);
    uint64_t *sizes = xcalloc(c->events, sizeof *sizes), j;

    memset(s, 0, sizeof *s);
    s->plan = p;
    s->c = c;
    s->ev_start = xcalloc(c->events, sizeof *s->ev_start);
    s->ev_size = xcalloc(c->events, sizeof *s->ev_size);
    /* Event sizes vary from half to one and a half times the mean. */
    for (j = 0; j < c->events; j++)
        w[j] = 0.5 + gen_unit(gen_hash(p->cfg.seed, index, j, 2));
    gen_split(c->attendance, w, c->events, sizes);
    for (j = 0; j < c->events; j++) {
        uint64_t size = sizes[j] > c->people ? c->people : sizes[j];
        uint64_t room = c->people - size;
        /* Cohorts move through the register in order: event j draws the
         * people registered around position j/events. */
        s->ev_size[j] = (uint32_t)size;
        s->ev_start[j] = c->events > 1 ? room * j / (c->events - 1) : 0;
    }
    free(w);
    free(sizes);
}

void
gen_stream_free(gen_stream *s)
{
    free(s->ev_start);
    free(s->ev_size);
    s->ev_start = NULL;
    s->ev_size = NULL;
}

/* Registration day of person i: density grows linearly over the period
 * (the programme scales up), so day = days * sqrt(i / n). */
static uint32_t
gen_reg_day(const gen_stream *s, uint64_t i)
{
    double f = sqrt(((double)i + 0.5) / (double)s->c->people);
    uint32_t day = (uint32_t)(f * s->plan->cfg.days);
    return day >= s->plan->cfg.days ? s->plan->cfg.days - 1 : day;
}

static const gen_district *
gen_district_of(const gen_centre *c)
{
    size_t i;
    for (i = 0; i < GEN_NDISTRICTS; i++)
        if (gen_districts[i].name == c->district)
            return &gen_districts[i];
    return &gen_districts[0];
}

/* Another district of the same province, weighted by population. */
static const gen_district *
gen_neighbour(const gen_district *home, uint64_t h)
{
    double t = 0, pick, acc = 0;
    size_t i;
    for (i = 0; i < GEN_NDISTRICTS; i++)
        if (gen_districts[i].province == home->province)
            t += gen_districts[i].weight;
    pick = gen_unit(h) * t;
    for (i = 0; i < GEN_NDISTRICTS; i++) {
        if (gen_districts[i].province != home->province)
            continue;
        acc += gen_districts[i].weight;
        if (pick < acc)
            return &gen_districts[i];
    }
    return home;
}

/* Age at registration: the programme reaches mostly the young. */
static int
gen_age(double u)
{
    static const struct {
        double upto;
        int lo, span;
    } bands[] = {{0.16, 16, 4},  {0.53, 20, 5},  {0.76, 25, 5}, {0.87, 30, 5},
                 {0.95, 35, 10}, {0.99, 45, 15}, {1.01, 60, 10}};
    size_t i;
    for (i = 0; i < sizeof bands / sizeof bands[0]; i++)
        if (u < bands[i].upto) {
            double lo = i ? bands[i - 1].upto : 0;
            return bands[i].lo + (int)((u - lo) / (bands[i].upto - lo) * bands[i].span);
        }
    return 30;
}

static void
gen_name(gen_person *p, uint64_t h1, uint64_t h2, uint64_t h3)
{
    int female = p->gender == RZ_G_FEMALE;
    if (h1 % 100 < 30) { /* entered in Urdu script */
        snprintf(p->name, sizeof p->name, "%s %s",
                 female ? GEN_PICK(gen_first_f_ur, h2) : GEN_PICK(gen_first_m_ur, h2),
                 GEN_PICK(gen_last_ur, h3));
    } else {
        snprintf(p->name, sizeof p->name, "%s %s",
                 female ? GEN_PICK(gen_first_f_en, h2) : GEN_PICK(gen_first_m_en, h2),
                 GEN_PICK(gen_last_en, h3));
    }
}

/* The national identity number a person holds.  About 1.5% of people
 * registered at one centre register again at another (the same CNIC, so they
 * count once); half a percent typed a malformed one; 12% gave none. */
static void
gen_cnic(gen_person *p, const gen_stream *s, const gen_district *home, uint64_t i)
{
    const gen_config *cfg = &s->plan->cfg;
    uint64_t u = gen_hash(cfg->seed, s->c->index, i, 10) % 1000;
    uint64_t who = ((uint64_t)s->c->index << 32) | i, digits;
    char first = gen_provinces[home->province].cnic_digit;
    if (u < 120) {
        p->cnic[0] = '\0';
        return;
    }
    if (u < 135 && cfg->centres > 1) {
        /* Someone first registered at the previous centre. */
        uint32_t other = (s->c->index + cfg->centres - 1) % cfg->centres;
        uint64_t j = gen_hash(cfg->seed, s->c->index, i, 11) % s->plan->centre[other].people;
        who = ((uint64_t)other << 32) | j;
        first = gen_provinces[gen_district_of(&s->plan->centre[other])->province].cnic_digit;
    }
    digits = gen_hash(cfg->seed, who, 0, 12) % 1000000000000ull;
    /* The digits depend on the holder only, so a second registration of the
     * same holder carries the same CNIC. */
    snprintf(p->cnic, sizeof p->cnic, "%c%04llu-%07llu-%llu", first,
             (unsigned long long)(digits / 100000000ull % 10000),
             (unsigned long long)(digits / 10 % 10000000ull), (unsigned long long)(digits % 10));
    if (u >= 995)
        p->cnic[6] = '\0'; /* malformed: counted as invalid */
}

static void
gen_person_make(gen_stream *s, uint64_t i, gen_person *p)
{
    const gen_config *cfg = &s->plan->cfg;
    const gen_district *home = gen_district_of(s->c), *res = home;
    uint64_t seed = cfg->seed, c = s->c->index;
    double ug = gen_unit(gen_hash(seed, c, i, 3));
    uint64_t hd = gen_hash(seed, c, i, 5);

    memset(p, 0, sizeof *p);
    p->index = i;
    p->reg_date = gen_date_add(cfg->first_date, gen_reg_day(s, i));
    /* Innovista hubs focus on women; other centres reach fewer. */
    p->gender = ug < (s->c->programme == 2 ? 0.45 : 0.27) ? RZ_G_FEMALE
                : ug < 0.997                              ? RZ_G_MALE
                                                          : RZ_G_OTHER;
    p->birth_year = (int)(p->reg_date / 10000) - gen_age(gen_unit(gen_hash(seed, c, i, 4)));
    if (hd % 100 >= 85)
        res = gen_neighbour(home, gen_hash(seed, c, i, 6));
    if (hd % 100 == 84) /* typed differently: merge normalises it */
        snprintf(p->district, sizeof p->district, "  %s ", res->name);
    else
        snprintf(p->district, sizeof p->district, "%s", res->name);
    p->area = gen_unit(gen_hash(seed, c, i, 7)) < res->urban ? RZ_AREA_URBAN : RZ_AREA_RURAL;
    {
        uint64_t sk = gen_hash(seed, c, i, 8) % 100;
        p->skill = sk < 35 ? RZ_SK_BLUE : sk < 80 ? RZ_SK_WHITE : RZ_SK_PRO;
    }
    snprintf(p->skills, sizeof p->skills, "%s", GEN_PICK(gen_skill_text, gen_hash(seed, c, i, 9)));
    snprintf(p->platforms, sizeof p->platforms, "%s",
             GEN_PICK(gen_platform_text, gen_hash(seed, c, i, 13)));
    gen_name(p, gen_hash(seed, c, i, 14), gen_hash(seed, c, i, 15), gen_hash(seed, c, i, 16));
    gen_cnic(p, s, home, i);
    if (gen_hash(seed, c, i, 17) % 10 != 0)
        snprintf(p->phone, sizeof p->phone, "03%09llu",
                 (unsigned long long)(gen_hash(seed, c, i, 18) % 1000000000ull));
}

static void
gen_event_make(gen_stream *s, uint64_t j, gen_event *e)
{
    const gen_config *cfg = &s->plan->cfg;
    uint64_t seed = cfg->seed, c = s->c->index;
    double u = gen_unit(gen_hash(seed, c, j, 20)), acc = 0;
    const gen_kind_info *k = &gen_kinds[0];
    uint64_t last = s->ev_start[j] + (s->ev_size[j] ? s->ev_size[j] - 1 : 0);
    uint32_t day;
    size_t i;

    memset(e, 0, sizeof *e);
    for (i = 0; i < sizeof gen_kinds / sizeof gen_kinds[0]; i++) {
        acc += gen_kinds[i].share;
        if (u < acc) {
            k = &gen_kinds[i];
            break;
        }
    }
    e->index = j;
    e->kind = k->kind;
    snprintf(e->title, sizeof e->title, "%s, %s batch %llu", k->title, s->c->district,
             (unsigned long long)(j + 1));
    /* Held within two weeks of the cohort's last registration. */
    day = gen_reg_day(s, last < s->c->people ? last : s->c->people - 1) +
          (uint32_t)(gen_hash(seed, c, j, 21) % 15);
    if (day >= cfg->days)
        day = cfg->days - 1;
    e->date = gen_date_add(cfg->first_date, day);
    e->duration = k->minutes / 2 + (int)(gen_hash(seed, c, j, 22) % (uint64_t)k->minutes);
    snprintf(e->partner, sizeof e->partner, "%s", GEN_PICK(gen_partners, gen_hash(seed, c, j, 23)));
    e->mode = gen_hash(seed, c, j, 24) % 5 == 0 ? RZ_MODE_ONLINE : RZ_MODE_IN_PERSON;
}

int
gen_next(gen_stream *s, gen_record *r)
{
    const gen_centre *c = s->c;
    /* Events whose cohort is complete are emitted with their attendance;
     * an empty event just moves on. */
    while (s->ev < c->events) {
        uint64_t need = s->ev_start[s->ev] + s->ev_size[s->ev];
        if (s->next_person < need) {
            r->kind = GEN_PERSON;
            gen_person_make(s, s->next_person++, &r->p);
            goto out;
        }
        if (!s->ev_emitted) {
            r->kind = GEN_EVENT;
            gen_event_make(s, s->ev, &r->e);
            s->ev_emitted = 1;
            goto out;
        }
        if (s->att < s->ev_size[s->ev]) {
            r->kind = GEN_ATTEND;
            r->a.event = s->ev;
            r->a.person = s->ev_start[s->ev] + s->att;
            r->a.present =
                gen_hash(s->plan->cfg.seed, c->index, s->ev * 1000003ull + s->att, 25) % 100 >= 8;
            s->att++;
            goto out;
        }
        s->ev++;
        s->ev_emitted = 0;
        s->att = 0;
    }
    if (s->next_person < c->people) {
        r->kind = GEN_PERSON;
        gen_person_make(s, s->next_person++, &r->p);
        goto out;
    }
    return 0;
out:
    s->emitted++;
    return 1;
}
