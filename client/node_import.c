/* node_import: CSV files of people, events and attendance; see
 * node_import.h.  One reader, one header matcher and one row parser serve
 * the checking pass and the recording pass, so both see the same rows. */
#include "client/node_import.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/node_find.h"
#include "client/node_form.h"
#include "common/db.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/util.h"

#define IMPORT_FP_BYTES 16         /* fingerprint of an imported row */
#define IMPORT_PROGRESS_EVERY 1000 /* rows between progress calls */
#define IMPORT_SNIFF_MAX 65536     /* bytes of the first line read to find the separator */

/* ---- the CSV reader: RFC 4180, streaming ---- */

typedef struct imp_reader {
    FILE *f;                          /* the file */
    char sep;                         /* cell separator */
    unsigned long line;               /* physical line of the next byte, from 1 */
    char *buf;                        /* cells of the record, NUL-separated */
    size_t cap, len;                  /* buffer size and fill */
    size_t cell_start;                /* where the current cell began */
    size_t off[NODE_IMPORT_MAX_COLS]; /* start of each cell */
    size_t n;                         /* cells in the record */
    int too_long, too_many, nul;      /* the record broke a limit / held a NUL */
} imp_reader;

static void
rd_put(imp_reader *r, char c)
{
    if (c != '\0' && r->len - r->cell_start >= NODE_IMPORT_CELL_MAX) {
        r->too_long = 1;
        return;
    }
    if (r->len + 1 >= r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        r->buf = xrealloc(r->buf, r->cap);
    }
    r->buf[r->len++] = c;
}

static void
rd_next_cell(imp_reader *r)
{
    rd_put(r, '\0');
    if (r->n >= NODE_IMPORT_MAX_COLS) {
        r->too_many = 1;
        r->len = r->cell_start; /* drop the surplus cell, keep the limit */
        return;
    }
    r->cell_start = r->len;
    r->off[r->n++] = r->len;
}

/* Reads one record: 1, 0 at end of file, -1 on a quote never closed.  A NUL
 * byte is noted (r->nul) and left out, so the row is refused, not cut. */
static int
rd_record(imp_reader *r, unsigned long *first_line)
{
    int c, quoted = 0, any = 0;
    r->len = r->cell_start = 0;
    r->n = 1;
    r->off[0] = 0;
    r->too_long = r->too_many = r->nul = 0;
    *first_line = r->line;
    for (;;) {
        c = getc(r->f);
        if (c == EOF) {
            if (quoted)
                return -1;
            if (!any)
                return 0;
            break;
        }
        any = 1;
        if (c == '\0') {
            r->nul = 1;
            continue;
        }
        if (quoted) {
            if (c == '"') {
                int d = getc(r->f);
                if (d == '"') {
                    rd_put(r, '"');
                    continue;
                }
                quoted = 0;
                if (d != EOF)
                    ungetc(d, r->f);
                continue;
            }
            if (c == '\n')
                r->line++;
            rd_put(r, (char)c);
        } else if (c == '"') {
            quoted = 1;
        } else if (c == r->sep) {
            rd_next_cell(r);
        } else if (c == '\n') {
            r->line++;
            break;
        } else if (c != '\r') {
            rd_put(r, (char)c);
        }
    }
    rd_put(r, '\0');
    return 1;
}

/* Cell i with outer blanks removed, in place; and the apostrophe a
 * spreadsheet export put before = + - @ to keep it text (node_export). */
static char *
rd_cell(imp_reader *r, size_t i)
{
    size_t n;
    char *s = (char *)text_trim(r->buf + r->off[i], &n);
    s[n] = '\0';
    if (s[0] == '\'' && s[1] && strchr("=+-@\t\r", s[1]))
        s++;
    return s;
}

static int
rd_blank(imp_reader *r)
{
    size_t i;
    for (i = 0; i < r->n; i++)
        if (*rd_cell(r, i))
            return 0;
    return 1;
}

/* 1 when s (n bytes) is UTF-8; control characters are let through here
 * (line breaks inside quoted cells): the form refuses them where they
 * matter. */
static int
utf8_ok(const char *s, size_t n)
{
    size_t i = 0, len;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        len = c < 0x80                 ? 1
              : c >= 0xc2 && c <= 0xdf ? 2
              : c >= 0xe0 && c <= 0xef ? 3
              : c >= 0xf0 && c <= 0xf4 ? 4
                                       : 0;
        if (!len || i + len > n || (len > 1 && !text_is_clean(s + i, len)))
            return 0;
        i += len;
    }
    return 1;
}

static int
rd_utf8_ok(const imp_reader *r)
{
    return utf8_ok(r->buf, r->len);
}

/* The separator: a comma, else what the header line uses (a semicolon in
 * some locales' Excel, a tab when pasted from a sheet). */
static char
rd_sniff(FILE *f)
{
    int c, quoted = 0;
    size_t n = 0, comma = 0, semi = 0, tab = 0;
    while ((c = getc(f)) != EOF && n++ < IMPORT_SNIFF_MAX) {
        if (c == '"')
            quoted = !quoted;
        else if (!quoted && c == '\n')
            break;
        else if (!quoted)
            comma += c == ',', semi += c == ';', tab += c == '\t';
    }
    rewind(f);
    return comma ? ',' : semi ? ';' : tab ? '\t' : ',';
}

/* Starts reading f from its beginning, past a UTF-8 byte-order mark. */
static int
rd_start(imp_reader *r, FILE *f, rz_error *err)
{
    unsigned char bom[3];
    size_t got;
    r->f = f;
    rewind(f);
    r->sep = rd_sniff(f);
    got = fread(bom, 1, 3, f);
    if (!(got == 3 && bom[0] == 0xef && bom[1] == 0xbb && bom[2] == 0xbf))
        rewind(f);
    if (ferror(f))
        return rz_fail(err, RZ_E_IO, "cannot read the file");
    r->line = 1;
    return 0;
}

/* ---- headers ---- */

typedef struct imp_synonym {
    const char *key; /* normalised header */
    int field;       /* column id */
} imp_synonym;

static const imp_synonym people_cols[] = {{"name", RZ_PF_NAME},
                                          {"fullname", RZ_PF_NAME},
                                          {"personname", RZ_PF_NAME},
                                          {"traineename", RZ_PF_NAME},
                                          {"participantname", RZ_PF_NAME},
                                          {"studentname", RZ_PF_NAME},
                                          {"candidatename", RZ_PF_NAME},
                                          {"نام", RZ_PF_NAME},
                                          {"cnic", RZ_PF_CNIC},
                                          {"cnicno", RZ_PF_CNIC},
                                          {"cnicnumber", RZ_PF_CNIC},
                                          {"nic", RZ_PF_CNIC},
                                          {"nicno", RZ_PF_CNIC},
                                          {"idcard", RZ_PF_CNIC},
                                          {"idcardno", RZ_PF_CNIC},
                                          {"idcardnumber", RZ_PF_CNIC},
                                          {"nationalid", RZ_PF_CNIC},
                                          {"شناختیکارڈ", RZ_PF_CNIC},
                                          {"phone", RZ_PF_PHONE},
                                          {"phoneno", RZ_PF_PHONE},
                                          {"phonenumber", RZ_PF_PHONE},
                                          {"mobile", RZ_PF_PHONE},
                                          {"mobileno", RZ_PF_PHONE},
                                          {"mobilenumber", RZ_PF_PHONE},
                                          {"cell", RZ_PF_PHONE},
                                          {"cellno", RZ_PF_PHONE},
                                          {"cellnumber", RZ_PF_PHONE},
                                          {"contact", RZ_PF_PHONE},
                                          {"contactno", RZ_PF_PHONE},
                                          {"contactnumber", RZ_PF_PHONE},
                                          {"whatsapp", RZ_PF_PHONE},
                                          {"whatsappno", RZ_PF_PHONE},
                                          {"فون", RZ_PF_PHONE},
                                          {"gender", RZ_PF_GENDER},
                                          {"sex", RZ_PF_GENDER},
                                          {"mf", RZ_PF_GENDER},
                                          {"gendermf", RZ_PF_GENDER},
                                          {"جنس", RZ_PF_GENDER},
                                          {"birthyear", RZ_PF_BIRTH_YEAR},
                                          {"yearofbirth", RZ_PF_BIRTH_YEAR},
                                          {"yob", RZ_PF_BIRTH_YEAR},
                                          {"dob", RZ_PF_BIRTH_YEAR},
                                          {"dateofbirth", RZ_PF_BIRTH_YEAR},
                                          {"birthdate", RZ_PF_BIRTH_YEAR},
                                          {"dobyearofbirth", RZ_PF_BIRTH_YEAR},
                                          {"born", RZ_PF_BIRTH_YEAR},
                                          {"district", RZ_PF_DISTRICT},
                                          {"homedistrict", RZ_PF_DISTRICT},
                                          {"districtofresidence", RZ_PF_DISTRICT},
                                          {"ضلع", RZ_PF_DISTRICT},
                                          {"area", RZ_PF_AREA},
                                          {"ruralurban", RZ_PF_AREA},
                                          {"urbanrural", RZ_PF_AREA},
                                          {"areatype", RZ_PF_AREA},
                                          {"skill", RZ_PF_SKILL},
                                          {"skillcategory", RZ_PF_SKILL},
                                          {"skilltype", RZ_PF_SKILL},
                                          {"skills", RZ_PF_SKILLS},
                                          {"skillset", RZ_PF_SKILLS},
                                          {"trade", RZ_PF_SKILLS},
                                          {"skilldetails", RZ_PF_SKILLS},
                                          {"platforms", RZ_PF_PLATFORMS},
                                          {"platform", RZ_PF_PLATFORMS},
                                          {"profiles", RZ_PF_PLATFORMS},
                                          {"freelanceprofiles", RZ_PF_PLATFORMS},
                                          {"regdate", RZ_PF_REG_DATE},
                                          {"registrationdate", RZ_PF_REG_DATE},
                                          {"registeredon", RZ_PF_REG_DATE},
                                          {"dateofregistration", RZ_PF_REG_DATE},
                                          {"registered", RZ_PF_REG_DATE},
                                          {"id", NODE_IMPORT_COL_ID},
                                          {"personid", NODE_IMPORT_COL_ID},
                                          {"recordid", NODE_IMPORT_COL_ID},
                                          {NULL, 0}};

static const imp_synonym event_cols[] = {{"kind", RZ_EF_KIND},
                                         {"type", RZ_EF_KIND},
                                         {"eventtype", RZ_EF_KIND},
                                         {"eventkind", RZ_EF_KIND},
                                         {"title", RZ_EF_TITLE},
                                         {"eventtitle", RZ_EF_TITLE},
                                         {"name", RZ_EF_TITLE},
                                         {"eventname", RZ_EF_TITLE},
                                         {"event", RZ_EF_TITLE},
                                         {"course", RZ_EF_TITLE},
                                         {"coursename", RZ_EF_TITLE},
                                         {"training", RZ_EF_TITLE},
                                         {"trainingname", RZ_EF_TITLE},
                                         {"topic", RZ_EF_TITLE},
                                         {"date", RZ_EF_DATE},
                                         {"eventdate", RZ_EF_DATE},
                                         {"startdate", RZ_EF_DATE},
                                         {"heldon", RZ_EF_DATE},
                                         {"duration", RZ_EF_DURATION},
                                         {"durationmin", RZ_EF_DURATION},
                                         {"durationminutes", RZ_EF_DURATION},
                                         {"minutes", RZ_EF_DURATION},
                                         {"mins", RZ_EF_DURATION},
                                         {"partner", RZ_EF_PARTNER},
                                         {"partnerorganisation", RZ_EF_PARTNER},
                                         {"partnerorganization", RZ_EF_PARTNER},
                                         {"organisation", RZ_EF_PARTNER},
                                         {"organization", RZ_EF_PARTNER},
                                         {"mode", RZ_EF_MODE},
                                         {"deliverymode", RZ_EF_MODE},
                                         {"id", NODE_IMPORT_COL_ID},
                                         {"eventid", NODE_IMPORT_COL_ID},
                                         {NULL, 0}};

static const imp_synonym att_cols[] = {{"event", NODE_IA_EVENT},
                                       {"eventid", NODE_IA_EVENT},
                                       {"eventcode", NODE_IA_EVENT},
                                       {"eventtitle", NODE_IA_EVENT_TITLE},
                                       {"eventname", NODE_IA_EVENT_TITLE},
                                       {"training", NODE_IA_EVENT_TITLE},
                                       {"course", NODE_IA_EVENT_TITLE},
                                       {"title", NODE_IA_EVENT_TITLE},
                                       {"eventdate", NODE_IA_EVENT_DATE},
                                       {"date", NODE_IA_EVENT_DATE},
                                       {"person", NODE_IA_PERSON},
                                       {"personid", NODE_IA_PERSON},
                                       {"personcode", NODE_IA_PERSON},
                                       {"code", NODE_IA_PERSON},
                                       {"cnic", NODE_IA_CNIC},
                                       {"cnicno", NODE_IA_CNIC},
                                       {"cnicnumber", NODE_IA_CNIC},
                                       {"nic", NODE_IA_CNIC},
                                       {"idcardno", NODE_IA_CNIC},
                                       {"present", NODE_IA_PRESENT},
                                       {"attendance", NODE_IA_PRESENT},
                                       {"attended", NODE_IA_PRESENT},
                                       {"presentabsent", NODE_IA_PRESENT},
                                       {"pa", NODE_IA_PRESENT},
                                       {"name", NODE_IA_NAME},
                                       {"fullname", NODE_IA_NAME},
                                       {"personname", NODE_IA_NAME},
                                       {NULL, 0}};

static const char *
col_name(int kind, int field)
{
    static const char *const att[] = {"",       "event", "event title", "event date",
                                      "person", "CNIC",  "present",     "name (not imported)"};
    if (field == NODE_IMPORT_COL_ID)
        return "id";
    if (kind == NODE_IMPORT_PEOPLE)
        return node_form_person_label(field);
    if (kind == NODE_IMPORT_EVENTS)
        return node_form_event_label(field);
    return field >= 1 && field <= NODE_IA_NAME ? att[field] : "";
}

/* Header text as matched: ASCII letters and digits lower-cased, other
 * ASCII (blanks, _ - . / # ( ) ...) dropped, other bytes (Urdu) kept. */
static void
header_key(char *out, size_t cap, const char *h)
{
    size_t n = 0;
    for (; *h && n + 1 < cap; h++) {
        unsigned char c = (unsigned char)*h;
        if (c >= 'A' && c <= 'Z')
            out[n++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80)
            out[n++] = (char)c;
    }
    out[n] = '\0';
}

/* ---- the import ---- */

typedef struct imp {
    node_store *ns;                   /* the store */
    sqlite3 *db;                      /* its handle */
    int kind;                         /* enum node_import_kind */
    node_import_report *r;            /* the report */
    imp_reader rd;                    /* the reader */
    int col[NODE_IMPORT_MAX_COLS];    /* column id of each column, 0 ignored */
    int have[NODE_IMPORT_COL_ID + 1]; /* which column ids the header has */
    sqlite3_stmt *st_fp_get;          /* import_row lookup */
    sqlite3_stmt *st_fp_put;          /* import_row insert */
    sqlite3_stmt *st_cnic;            /* person by CNIC */
    sqlite3_stmt *st_event;           /* event by title and date */
    sqlite3_stmt *st_att;             /* attendance state */
    sqlite3_stmt *st_live;            /* event and person deleted flags */
} imp;

/* A row turned into a record. */
typedef struct imp_row {
    node_form fm;                         /* values and messages */
    node_person p;                        /* people */
    node_event e;                         /* events */
    uint8_t id[NODE_REC_ID_BYTES];        /* people/events: id column naming a record here */
    int has_id;                           /* ... when it does */
    uint8_t event_id[NODE_REC_ID_BYTES];  /* attendance: the event */
    uint8_t person_id[NODE_REC_ID_BYTES]; /* attendance: the person */
    int present;                          /* attendance: 1 present, 0 absent */
    uint8_t fp[IMPORT_FP_BYTES];          /* fingerprint of the values */
} imp_row;

/* Makes text cut to fit a buffer (or quoting a cell) fit for a page and a
 * terminal line: control characters become blanks, and a UTF-8 sequence
 * cut at the end is dropped. */
static void
clean_text(char *t)
{
    size_t n = strlen(t), i;
    for (i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
            t[i] = ' ';
    while (n > 0 && !utf8_ok(t, n))
        n--;
    t[n] = '\0';
}

static void report_problem(node_import_report *r, unsigned long line, int warning, const char *fmt,
                           ...) RZ_PRINTF(4, 5);

static void
report_problem(node_import_report *r, unsigned long line, int warning, const char *fmt, ...)
{
    node_import_problem *p;
    va_list ap;
    r->problems_all++;
    if (r->nproblems >= NODE_IMPORT_MAX_PROBLEMS)
        return;
    if (!r->problems)
        r->problems = xcalloc(NODE_IMPORT_MAX_PROBLEMS, sizeof *r->problems);
    p = &r->problems[r->nproblems++];
    p->line = line;
    p->warning = warning;
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof p->reason, fmt, ap);
    va_end(ap);
    clean_text(p->reason);
}

static int
imp_header(imp *im, rz_error *err)
{
    const imp_synonym *syn = im->kind == NODE_IMPORT_PEOPLE   ? people_cols
                             : im->kind == NODE_IMPORT_EVENTS ? event_cols
                                                              : att_cols;
    node_import_report *r = im->r;
    unsigned long line, before = r->problems_all;
    char key[NODE_IMPORT_HEADER_MAX * 2];
    size_t i;
    int rc;

    if ((rc = rd_record(&im->rd, &line)) != 1 || rd_blank(&im->rd)) {
        report_problem(r, 1, 0, "the file is empty: the first line must name the columns");
        return rz_fail(err, RZ_E_ARG, "the file is empty");
    }
    if (im->rd.nul || !rd_utf8_ok(&im->rd) || im->rd.too_many || im->rd.too_long) {
        report_problem(r, line, 0,
                       im->rd.nul        ? "the header holds a NUL byte: this is no CSV text file"
                       : im->rd.too_many ? "more than 64 columns"
                       : im->rd.too_long ? "a header is too long"
                                         : "the header is not UTF-8 text: save the sheet as "
                                           "\"CSV UTF-8\"");
        return rz_fail(err, RZ_E_ARG, "line %lu: unusable header", line);
    }
    r->ncols = im->rd.n;
    for (i = 0; i < im->rd.n; i++) {
        const char *h = rd_cell(&im->rd, i);
        const imp_synonym *s;
        node_import_column *c = &r->cols[i];
        snprintf(c->header, sizeof c->header, "%s", h);
        clean_text(c->header);
        c->field_name = "";
        header_key(key, sizeof key, h);
        for (s = syn; s->key; s++)
            if (strcmp(s->key, key) == 0)
                break;
        if (!s->key || im->have[s->field])
            continue; /* unknown, or a second column for the same thing: ignored */
        im->col[i] = c->field = s->field;
        c->field_name = col_name(im->kind, s->field);
        im->have[s->field] = 1;
    }
    switch (im->kind) {
    case NODE_IMPORT_PEOPLE:
        if (!im->have[RZ_PF_NAME] || !im->have[RZ_PF_GENDER])
            report_problem(r, line, 0,
                           "the file needs a column for the name and one for the gender (for "
                           "example \"Full Name\" and \"Gender\")");
        break;
    case NODE_IMPORT_EVENTS:
        if (!im->have[RZ_EF_KIND] || !im->have[RZ_EF_TITLE] || !im->have[RZ_EF_DATE])
            report_problem(r, line, 0,
                           "the file needs columns for the kind, the title and the date of "
                           "each event");
        break;
    default:
        if (!im->have[NODE_IA_EVENT] &&
            !(im->have[NODE_IA_EVENT_TITLE] && im->have[NODE_IA_EVENT_DATE]))
            report_problem(r, line, 0,
                           "the file needs an \"event\" column (the event's code) or columns "
                           "\"event title\" and \"event date\"");
        if (!im->have[NODE_IA_PERSON] && !im->have[NODE_IA_CNIC])
            report_problem(r, line, 0,
                           "the file needs a \"person\" column (the person's code) or a "
                           "\"CNIC\" column");
        break;
    }
    if (r->problems_all != before)
        return rz_fail(err, RZ_E_ARG, "line %lu: the columns do not fit %s", line,
                       node_import_kind_name(im->kind));
    return 0;
}

/* Fingerprint of a row's values: the kind, then each field's id and value
 * in the stored form (a CNIC as 13 digits, a phone as +92..., dates as
 * numbers), so the same content written differently is the same row. */
static void
fp_text(crypto_generichash_state *h, uint8_t field, const char *s)
{
    uint8_t len[4];
    size_t n = s ? strlen(s) : 0;
    be32_put(len, (uint32_t)n);
    crypto_generichash_update(h, &field, 1);
    crypto_generichash_update(h, len, sizeof len);
    if (n)
        crypto_generichash_update(h, (const uint8_t *)s, n);
}

static void
fp_uint(crypto_generichash_state *h, uint8_t field, uint64_t v)
{
    uint8_t b[8];
    be64_put(b, v);
    crypto_generichash_update(h, &field, 1);
    crypto_generichash_update(h, b, sizeof b);
}

static void
row_fingerprint(imp *im, imp_row *w)
{
    crypto_generichash_state h;
    uint8_t kind = (uint8_t)im->kind;
    char cnic[14], phone[RZ_PHONE_MAX];
    crypto_generichash_init(&h, NULL, 0, IMPORT_FP_BYTES);
    crypto_generichash_update(&h, &kind, 1);
    if (im->kind == NODE_IMPORT_PEOPLE) {
        const node_person *p = &w->p;
        uint32_t s = p->set;
        if (s & NODE_SET(RZ_PF_CNIC))
            fp_text(&h, RZ_PF_CNIC,
                    cnic_normalize(cnic, p->cnic, strlen(p->cnic)) ? cnic : p->cnic);
        if (s & NODE_SET(RZ_PF_NAME))
            fp_text(&h, RZ_PF_NAME, p->name);
        if (s & NODE_SET(RZ_PF_PHONE))
            fp_text(&h, RZ_PF_PHONE,
                    phone_normalize(phone, p->phone, strlen(p->phone)) ? phone : p->phone);
        if (s & NODE_SET(RZ_PF_GENDER))
            fp_uint(&h, RZ_PF_GENDER, p->gender);
        if (s & NODE_SET(RZ_PF_BIRTH_YEAR))
            fp_uint(&h, RZ_PF_BIRTH_YEAR, p->birth_year);
        if (s & NODE_SET(RZ_PF_DISTRICT))
            fp_text(&h, RZ_PF_DISTRICT, p->district);
        if (s & NODE_SET(RZ_PF_AREA))
            fp_uint(&h, RZ_PF_AREA, p->area);
        if (s & NODE_SET(RZ_PF_SKILL))
            fp_uint(&h, RZ_PF_SKILL, p->skill);
        if (s & NODE_SET(RZ_PF_SKILLS))
            fp_text(&h, RZ_PF_SKILLS, p->skills);
        if (s & NODE_SET(RZ_PF_PLATFORMS))
            fp_text(&h, RZ_PF_PLATFORMS, p->platforms);
        if (s & NODE_SET(RZ_PF_REG_DATE))
            fp_uint(&h, RZ_PF_REG_DATE, p->reg_date);
        sodium_memzero(cnic, sizeof cnic);
        sodium_memzero(phone, sizeof phone);
    } else if (im->kind == NODE_IMPORT_EVENTS) {
        const node_event *e = &w->e;
        uint32_t s = e->set;
        if (s & NODE_SET(RZ_EF_KIND))
            fp_uint(&h, RZ_EF_KIND, e->kind);
        if (s & NODE_SET(RZ_EF_TITLE))
            fp_text(&h, RZ_EF_TITLE, e->title);
        if (s & NODE_SET(RZ_EF_DATE))
            fp_uint(&h, RZ_EF_DATE, e->date);
        if (s & NODE_SET(RZ_EF_DURATION))
            fp_uint(&h, RZ_EF_DURATION, e->duration);
        if (s & NODE_SET(RZ_EF_PARTNER))
            fp_text(&h, RZ_EF_PARTNER, e->partner);
        if (s & NODE_SET(RZ_EF_MODE))
            fp_uint(&h, RZ_EF_MODE, e->mode);
    } else {
        crypto_generichash_update(&h, w->event_id, NODE_REC_ID_BYTES);
        crypto_generichash_update(&h, w->person_id, NODE_REC_ID_BYTES);
        fp_uint(&h, NODE_IA_PRESENT, (uint64_t)w->present);
    }
    crypto_generichash_final(&h, w->fp, IMPORT_FP_BYTES);
}

/* Looks up one id with a prepared statement bound by the caller: 0 and
 * *found = number of rows (id of the first), or a database error. */
static int
lookup_id(imp *im, sqlite3_stmt *st, uint8_t id[NODE_REC_ID_BYTES], int *found, rz_error *err)
{
    int src, rc = 0;
    *found = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if ((*found)++ == 0 && sqlite3_column_bytes(st, 0) == NODE_REC_ID_BYTES)
            memcpy(id, sqlite3_column_blob(st, 0), NODE_REC_ID_BYTES);
        if (*found > 1)
            break;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = rz_db_fail(im->db, err, "import lookup");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* The attendance row's event and person.  0; RZ_E_ARG with a reason (in
 * err) for a row that names none or several; else a database error. */
static int
att_resolve(imp *im, const char *cell[], imp_row *w, rz_error *err)
{
    rz_error e2 = {0, ""};
    int found, rc;
    if (cell[NODE_IA_EVENT] && *cell[NODE_IA_EVENT]) {
        if (node_store_resolve(im->ns, cell[NODE_IA_EVENT], RZ_T_EVENT, w->event_id, NULL, &e2) !=
            0)
            return rz_fail(err, RZ_E_ARG, "event: %s", e2.text);
    } else {
        uint32_t d = cell[NODE_IA_EVENT_DATE] ? date_parse_any(cell[NODE_IA_EVENT_DATE]) : 0;
        const char *t = cell[NODE_IA_EVENT_TITLE];
        if (!t || !*t || !d)
            return rz_fail(err, RZ_E_ARG,
                           "the event is missing: give its code, or its title and date "
                           "(YYYY-MM-DD or DD/MM/YYYY)");
        sqlite3_bind_text(im->st_event, 1, t, -1, SQLITE_STATIC);
        sqlite3_bind_int64(im->st_event, 2, d);
        if ((rc = lookup_id(im, im->st_event, w->event_id, &found, err)) != 0)
            return rc;
        if (found != 1)
            return rz_fail(err, RZ_E_ARG,
                           found ? "several events have this title and date: use the event's "
                                   "code"
                                 : "no event with this title and date here: import or add it "
                                   "first");
    }
    if (cell[NODE_IA_PERSON] && *cell[NODE_IA_PERSON]) {
        if (node_store_resolve(im->ns, cell[NODE_IA_PERSON], RZ_T_PERSON, w->person_id, NULL,
                               &e2) != 0)
            return rz_fail(err, RZ_E_ARG, "person: %s", e2.text);
    } else {
        char cnic[14];
        const char *c = cell[NODE_IA_CNIC];
        if (!c || !*c)
            return rz_fail(err, RZ_E_ARG, "the person is missing: give a code or a CNIC");
        if (!cnic_normalize(cnic, c, strlen(c)))
            return rz_fail(err, RZ_E_ARG, "the CNIC is not 13 digits (like 35202-1234567-1)");
        sqlite3_bind_text(im->st_cnic, 1, cnic, -1, SQLITE_TRANSIENT);
        sodium_memzero(cnic, sizeof cnic);
        if ((rc = lookup_id(im, im->st_cnic, w->person_id, &found, err)) != 0)
            return rc;
        if (found != 1)
            return rz_fail(err, RZ_E_ARG,
                           found ? "several people here have this CNIC: use the person's code"
                                 : "no person with this CNIC here: import or register them "
                                   "first");
    }
    /* Pass 2 must not meet a refusal the first pass could have seen. */
    sqlite3_bind_blob(im->st_live, 1, w->event_id, NODE_REC_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(im->st_live, 2, w->person_id, NODE_REC_ID_BYTES, SQLITE_STATIC);
    if (sqlite3_step(im->st_live) != SQLITE_ROW) {
        rc = rz_db_fail(im->db, err, "import lookup");
        sqlite3_reset(im->st_live);
        return rc;
    }
    found = sqlite3_column_int(im->st_live, 0) * 2 + sqlite3_column_int(im->st_live, 1);
    sqlite3_reset(im->st_live);
    if (found)
        return rz_fail(err, RZ_E_ARG, "the %s is deleted here: undelete it first",
                       found & 2 ? "event" : "person");
    w->present = 1;
    if (cell[NODE_IA_PRESENT] && *cell[NODE_IA_PRESENT] &&
        (w->present = present_parse(cell[NODE_IA_PRESENT])) < 0)
        return rz_fail(err, RZ_E_ARG, "present: write present or absent (or P/A, yes/no, 1/0)");
    return 0;
}

/* Parses the current record into w.  0, RZ_E_ARG with the reason in err
 * (the row is bad), or a database error. */
static int
imp_row_parse(imp *im, imp_row *w, rz_error *err)
{
    const char *cell[NODE_IMPORT_COL_ID + 1] = {0};
    imp_reader *rd = &im->rd;
    size_t i;
    int f, rc;

    memset(&w->p, 0, sizeof w->p);
    memset(&w->e, 0, sizeof w->e);
    w->has_id = 0;
    node_form_init(&w->fm);
    if (rd->nul)
        return rz_fail(err, RZ_E_ARG,
                       "the row holds a NUL byte (the file is damaged or not CSV text); nothing "
                       "of it was read");
    if (!rd_utf8_ok(rd))
        return rz_fail(err, RZ_E_ARG,
                       "the row is not UTF-8 text: save the sheet as \"CSV UTF-8\" and import "
                       "again");
    if (rd->too_long)
        return rz_fail(err, RZ_E_ARG, "a cell is longer than %d bytes", NODE_IMPORT_CELL_MAX);
    if (rd->too_many || rd->n > im->r->ncols)
        return rz_fail(err, RZ_E_ARG, "the row has more cells than the header has columns");
    for (i = 0; i < rd->n; i++)
        if (im->col[i])
            cell[im->col[i]] = rd_cell(rd, i);
    if (im->kind == NODE_IMPORT_ATTENDANCE)
        return att_resolve(im, cell, w, err);
    for (f = 1; f < NODE_IMPORT_COL_ID; f++) {
        const char *v = cell[f];
        if (!v || !*v)
            continue;
        rc = im->kind == NODE_IMPORT_PEOPLE ? node_form_person_field(&w->fm, &w->p, f, v)
                                            : node_form_event_field(&w->fm, &w->e, f, v);
        if (rc != 0)
            return rz_fail(err, RZ_E_ARG, "%s: %s", col_name(im->kind, f),
                           node_form_first(&w->fm, NODE_FORM_ERROR));
    }
    if (im->kind == NODE_IMPORT_PEOPLE) {
        if (!(w->p.set & NODE_SET(RZ_PF_NAME)))
            return rz_fail(err, RZ_E_ARG, "the name is missing");
        if (!(w->p.set & NODE_SET(RZ_PF_GENDER)))
            return rz_fail(err, RZ_E_ARG, "the gender is missing (female, male or other)");
        if ((rc = node_store_check_person(&w->p, 1, err)) != 0)
            return rc;
    } else {
        uint32_t need = NODE_SET(RZ_EF_KIND) | NODE_SET(RZ_EF_TITLE) | NODE_SET(RZ_EF_DATE);
        if ((w->e.set & need) != need)
            return rz_fail(err, RZ_E_ARG, "the event needs a kind, a title and a date");
    }
    /* An id column names a record held here only by a full id: a short code
     * from another node's export would name someone else. */
    if (cell[NODE_IMPORT_COL_ID] && strlen(cell[NODE_IMPORT_COL_ID]) == 2 * NODE_REC_ID_BYTES)
        w->has_id = node_store_resolve(im->ns, cell[NODE_IMPORT_COL_ID],
                                       im->kind == NODE_IMPORT_PEOPLE ? RZ_T_PERSON : RZ_T_EVENT,
                                       w->id, NULL, NULL) == 0;
    return 0;
}

static int
fp_known(imp *im, const imp_row *w, int *known, rz_error *err)
{
    int src;
    sqlite3_bind_blob(im->st_fp_get, 1, w->fp, IMPORT_FP_BYTES, SQLITE_STATIC);
    src = sqlite3_step(im->st_fp_get);
    sqlite3_reset(im->st_fp_get);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return rz_db_fail(im->db, err, "import fingerprints");
    *known = src == SQLITE_ROW;
    return 0;
}

static int
fp_remember(imp *im, const imp_row *w, const uint8_t *id, rz_error *err)
{
    sqlite3_stmt *st = im->st_fp_put;
    sqlite3_bind_blob(st, 1, w->fp, IMPORT_FP_BYTES, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, im->kind);
    sqlite3_bind_blob(st, 3, id, id ? NODE_REC_ID_BYTES : 0, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)hlc_wall_ms());
    return rz_db_step_done(im->db, st, err);
}

/* First resemblance of a person row (never a merge). */
typedef struct dup_seen {
    node_import_dup d; /* the first match */
    int n;             /* matches */
} dup_seen;

static int
dup_first(void *ctx, const node_person_row *row, unsigned why)
{
    dup_seen *s = ctx;
    if (s->n++ == 0) {
        memcpy(s->d.id, row->id, NODE_REC_ID_BYTES);
        snprintf(s->d.code, sizeof s->d.code, "%s", row->code);
        s->d.why = why;
    }
    return 1; /* one is enough to list the row */
}

/* Records one checked row (second pass, inside the transaction). */
static int
imp_record(imp *im, imp_row *w, unsigned long line, rz_error *err)
{
    node_import_report *r = im->r;
    uint8_t id[NODE_REC_ID_BYTES];
    int known = 0, found, rc;

    row_fingerprint(im, w);
    if (im->kind == NODE_IMPORT_PEOPLE) {
        char cnic[14];
        if (w->has_id) {
            r->known++;
            return 0;
        }
        if ((w->p.set & NODE_SET(RZ_PF_CNIC)) && w->p.cnic &&
            cnic_normalize(cnic, w->p.cnic, strlen(w->p.cnic))) {
            sqlite3_bind_text(im->st_cnic, 1, cnic, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(im->st_cnic, 2, 1); /* deleted ones too: never revive by import */
            sodium_memzero(cnic, sizeof cnic);
            if ((rc = lookup_id(im, im->st_cnic, id, &found, err)) != 0)
                return rc;
            if (found) {
                r->known++;
                return 0;
            }
        }
    } else if (w->has_id) {
        r->known++;
        return 0;
    }
    if ((rc = fp_known(im, w, &known, err)) != 0)
        return rc;
    if (known) {
        r->known++;
        return 0;
    }
    switch (im->kind) {
    case NODE_IMPORT_PEOPLE: {
        dup_seen s;
        memset(&s, 0, sizeof s);
        rc = node_find_duplicates(im->ns, &w->p, NULL, dup_first, &s, NULL, err);
        if (rc != 0 && rc != 1)
            return rc;
        if ((rc = node_store_person_add(im->ns, &w->p, id, err)) != 0)
            return rc;
        if (s.n) {
            r->ndups_all++;
            if (r->ndups < NODE_IMPORT_MAX_DUPS) {
                if (!r->dups)
                    r->dups = xcalloc(NODE_IMPORT_MAX_DUPS, sizeof *r->dups);
                s.d.line = line;
                r->dups[r->ndups++] = s.d;
            }
        }
        break;
    }
    case NODE_IMPORT_EVENTS:
        if ((rc = node_store_event_add(im->ns, &w->e, id, err)) != 0)
            return rc;
        break;
    default: {
        int src, same = 0;
        sqlite3_bind_blob(im->st_att, 1, w->event_id, NODE_REC_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(im->st_att, 2, w->person_id, NODE_REC_ID_BYTES, SQLITE_STATIC);
        if ((src = sqlite3_step(im->st_att)) == SQLITE_ROW)
            same = sqlite3_column_int(im->st_att, 1) == 0 &&
                   sqlite3_column_int(im->st_att, 0) == w->present;
        sqlite3_reset(im->st_att);
        if (src != SQLITE_ROW && src != SQLITE_DONE)
            return rz_db_fail(im->db, err, "attendance lookup");
        if (same) {
            r->known++;
            return 0;
        }
        if ((rc = node_store_attend(im->ns, w->event_id, w->person_id, w->present, err)) != 0)
            return rc;
        memcpy(id, w->person_id, NODE_REC_ID_BYTES);
        break;
    }
    }
    r->added++;
    return fp_remember(im, w, id, err);
}

static void
keep_preview(imp *im, unsigned long line)
{
    node_import_report *r = im->r;
    size_t i, k = r->npreview;
    if (k >= NODE_IMPORT_PREVIEW_ROWS)
        return;
    r->preview_line[k] = line;
    for (i = 0; i < r->ncols && i < NODE_IMPORT_MAX_COLS; i++) {
        /* A cell that is no UTF-8 shows as U+FFFD: the preview goes to a page. */
        const char *c = i < im->rd.n ? rd_cell(&im->rd, i) : "";
        r->preview[k][i] = xstrdup(utf8_ok(c, strlen(c)) ? c : "\xef\xbf\xbd");
    }
    r->npreview++;
}

/* One pass over the rows: record 0 checks (and keeps the preview and the
 * problems), record 1 records. */
static int
imp_pass(imp *im, int record, node_import_progress_fn progress, void *ctx, rz_error *err)
{
    node_import_report *r = im->r;
    imp_row *w = xmalloc(sizeof *w);
    rz_error why = {0, ""};
    unsigned long line, done = 0;
    int rc = 0, got;

    while ((got = rd_record(&im->rd, &line)) == 1) {
        if (!im->rd.nul && rd_blank(&im->rd))
            continue;
        if (!record)
            keep_preview(im, line);
        rc = imp_row_parse(im, w, &why);
        if (rc == RZ_E_ARG) {
            rc = 0;
            if (!record) {
                r->rows++;
                r->bad++;
                report_problem(r, line, 0, "%s", why.text);
            } else {
                /* The file changed between the passes. */
                rc = rz_fail(err, RZ_E_ARG, "line %lu changed while importing: %s", line, why.text);
                break;
            }
            continue;
        }
        if (rc != 0) {
            *err = why;
            break;
        }
        if (!record) {
            int f;
            r->rows++;
            if (w->fm.warnings) {
                r->warned++;
                for (f = 1; f < NODE_FORM_FIELDS; f++)
                    if (w->fm.level[f] == NODE_FORM_WARN)
                        report_problem(r, line, 1, "%s: %s", col_name(im->kind, f), w->fm.msg[f]);
            }
            continue;
        }
        if ((rc = imp_record(im, w, line, err)) != 0) {
            char text[RZ_ERROR_TEXT];
            snprintf(text, sizeof text, "%s", err->text);
            rz_fail(err, rc, "line %lu: %s; nothing imported", line, text);
            break;
        }
        if (progress && ++done % IMPORT_PROGRESS_EVERY == 0)
            progress(ctx, done, r->rows);
    }
    if (rc == 0 && got < 0) {
        report_problem(r, line, 0, "a quoted cell starting here is never closed");
        r->bad++;
        rc = record ? rz_fail(err, RZ_E_ARG, "line %lu: a quoted cell is never closed", line) : 0;
    }
    if (rc == 0 && ferror(im->rd.f))
        rc = rz_fail(err, RZ_E_IO, "cannot read the file");
    if (rc == 0 && record && progress)
        progress(ctx, done, r->rows);
    sodium_memzero(w, sizeof *w);
    free(w);
    return rc;
}

static int
imp_prepare(imp *im, rz_error *err)
{
    int rc;
    if ((rc = rz_db_prepare(im->db, &im->st_fp_get, "SELECT 1 FROM import_row WHERE fp = ?1",
                            err)) != 0 ||
        (rc = rz_db_prepare(im->db, &im->st_fp_put,
                            "INSERT OR IGNORE INTO import_row(fp, kind, id, at_ms)"
                            " VALUES(?1, ?2, ?3, ?4)",
                            err)) != 0 ||
        (rc = rz_db_prepare(im->db, &im->st_cnic,
                            "SELECT id FROM person WHERE cnic = ?1 AND (?2 OR deleted = 0)"
                            " ORDER BY id LIMIT 2",
                            err)) != 0 ||
        (rc = rz_db_prepare(im->db, &im->st_event,
                            "SELECT id FROM event WHERE date = ?2 AND deleted = 0"
                            " AND lower(trim(title)) = lower(trim(?1)) ORDER BY id LIMIT 2",
                            err)) != 0 ||
        (rc = rz_db_prepare(im->db, &im->st_live,
                            "SELECT coalesce((SELECT deleted FROM event WHERE id = ?1), 1),"
                            " coalesce((SELECT deleted FROM person WHERE id = ?2), 1)",
                            err)) != 0 ||
        (rc = rz_db_prepare(im->db, &im->st_att,
                            "SELECT present, deleted FROM attendance"
                            " WHERE event_id = ?1 AND person_id = ?2",
                            err)) != 0)
        return rc;
    return 0;
}

static void
imp_finish(imp *im)
{
    sqlite3_finalize(im->st_fp_get);
    sqlite3_finalize(im->st_fp_put);
    sqlite3_finalize(im->st_cnic);
    sqlite3_finalize(im->st_event);
    sqlite3_finalize(im->st_att);
    sqlite3_finalize(im->st_live);
    if (im->rd.buf)
        sodium_memzero(im->rd.buf, im->rd.cap);
    free(im->rd.buf);
}

int
node_import_csv(node_store *ns, int kind, FILE *f, int dry_run, node_import_progress_fn progress,
                void *ctx, node_import_report *r, rz_error *err)
{
    imp im;
    int rc;

    node_import_report_free(r);
    r->kind = kind;
    if (!node_import_kind_name(kind)[0])
        return rz_fail(err, RZ_E_ARG, "unknown kind of import %d", kind);
    if (node_store_in_txn(ns))
        return rz_fail(err, RZ_E_ARG, "an import runs in its own transaction");
    memset(&im, 0, sizeof im);
    im.ns = ns;
    im.db = node_store_db(ns);
    im.kind = kind;
    im.r = r;
    if ((rc = imp_prepare(&im, err)) != 0)
        goto out;
    /* Pass 1: every row checked, nothing written. */
    if ((rc = rd_start(&im.rd, f, err)) != 0 || (rc = imp_header(&im, err)) != 0 ||
        (rc = imp_pass(&im, 0, NULL, NULL, err)) != 0)
        goto out;
    if (r->bad) {
        rc = rz_fail(err, RZ_E_ARG, "%lu of %lu rows cannot be imported; nothing was imported",
                     r->bad, r->rows);
        goto out;
    }
    /* Pass 2: all rows in one transaction. */
    memset(im.have, 0, sizeof im.have);
    memset(im.col, 0, sizeof im.col);
    /* The header is matched again (it found no problem the first time);
     * the preview and the warnings stay. */
    if ((rc = rd_start(&im.rd, f, err)) != 0 || (rc = imp_header(&im, err)) != 0)
        goto out;
    if ((rc = node_store_begin(ns, err)) != 0)
        goto out;
    if ((rc = imp_pass(&im, 1, progress, ctx, err)) != 0) {
        node_store_rollback(ns);
        r->added = r->known = 0;
        r->ndups = 0;
        r->ndups_all = 0;
        goto out;
    }
    if (dry_run) {
        node_store_rollback(ns);
    } else if ((rc = node_store_commit(ns, err)) != 0) {
        r->added = r->known = 0;
        goto out;
    } else {
        r->committed = 1;
    }
out:
    imp_finish(&im);
    return rc;
}

void
node_import_report_free(node_import_report *r)
{
    size_t i, j;
    for (i = 0; i < NODE_IMPORT_PREVIEW_ROWS; i++)
        for (j = 0; j < NODE_IMPORT_MAX_COLS; j++)
            if (r->preview[i][j]) {
                sodium_memzero(r->preview[i][j], strlen(r->preview[i][j]));
                free(r->preview[i][j]);
            }
    free(r->problems);
    free(r->dups);
    memset(r, 0, sizeof *r);
}

const char *
node_import_kind_name(int kind)
{
    switch (kind) {
    case NODE_IMPORT_PEOPLE: return "people";
    case NODE_IMPORT_EVENTS: return "events";
    case NODE_IMPORT_ATTENDANCE: return "attendance";
    default: return "";
    }
}

int
node_import_kind_parse(const char *s)
{
    if (!s)
        return 0;
    if (strcmp(s, "people") == 0 || strcmp(s, "persons") == 0)
        return NODE_IMPORT_PEOPLE;
    if (strcmp(s, "events") == 0)
        return NODE_IMPORT_EVENTS;
    if (strcmp(s, "attendance") == 0)
        return NODE_IMPORT_ATTENDANCE;
    return 0;
}
