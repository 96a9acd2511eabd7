/* node_export: records as Excel-safe CSV; see node_export.h. */
#include "client/node_export.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common/db.h"
#include "common/domain.h"
#include "proto/wire.h"

void
node_export_cell(FILE *out, const char *s, int first)
{
    const char *p;
    int quote;
    if (!first)
        putc(',', out);
    if (!s)
        s = "";
    /* A cell a spreadsheet would evaluate (=, +, -, @) or that starts with
     * a tab or carriage return (also read as formula starts) is kept text
     * by a leading apostrophe (OWASP, "CSV injection"). */
    quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        putc('"', out);
    if (*s && strchr("=+-@\t\r", *s))
        putc('\'', out);
    for (p = s; *p; p++) {
        if (*p == '"')
            putc('"', out);
        putc(*p, out);
    }
    if (quote)
        putc('"', out);
}

void
node_export_row_end(FILE *out)
{
    fputs("\r\n", out);
}

static void
cells(FILE *out, const char *const *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        node_export_cell(out, v[i], i == 0);
    node_export_row_end(out);
}

static const char *
date_text(uint32_t set, int field, uint64_t v, char out[11])
{
    out[0] = '\0';
    if ((set & NODE_SET(field)) && v <= 99999999)
        date_format(out, (uint32_t)v);
    return out;
}

typedef struct exp_ctx {
    FILE *out;          /* destination */
    unsigned long rows; /* data rows written */
} exp_ctx;

static const char *
text_or(uint32_t set, int field, const char *s)
{
    return (set & NODE_SET(field)) && s ? s : "";
}

static int
export_person(void *c, const node_person_row *r)
{
    exp_ctx *x = c;
    const node_person *p = &r->f;
    char id[2 * NODE_REC_ID_BYTES + 1], year[24] = "", cnic[16], date[11];
    char digits[14];
    const char *v[14];
    node_id_format(id, r->id);
    if (p->set & NODE_SET(RZ_PF_BIRTH_YEAR))
        snprintf(year, sizeof year, "%llu", (unsigned long long)p->birth_year);
    /* A valid CNIC with its dashes: Excel would turn 13 digits into 3.5E+12. */
    snprintf(cnic, sizeof cnic, "%s", text_or(p->set, RZ_PF_CNIC, p->cnic));
    if (p->cnic && (p->set & NODE_SET(RZ_PF_CNIC)) &&
        cnic_normalize(digits, p->cnic, strlen(p->cnic)))
        snprintf(cnic, sizeof cnic, "%.5s-%.7s-%.1s", digits, digits + 5, digits + 12);
    v[0] = r->code;
    v[1] = id;
    v[2] = text_or(p->set, RZ_PF_NAME, p->name);
    v[3] = (p->set & NODE_SET(RZ_PF_GENDER)) ? gender_name(p->gender) : "";
    v[4] = year;
    v[5] = (p->set & NODE_SET(RZ_PF_CNIC)) && p->cnic
               ? (cnic[0] && strlen(p->cnic) < sizeof cnic ? cnic : p->cnic)
               : "";
    v[6] = text_or(p->set, RZ_PF_PHONE, p->phone);
    v[7] = text_or(p->set, RZ_PF_DISTRICT, p->district);
    v[8] = (p->set & NODE_SET(RZ_PF_AREA)) ? area_name(p->area) : "";
    v[9] = (p->set & NODE_SET(RZ_PF_SKILL)) ? skill_name(p->skill) : "";
    v[10] = text_or(p->set, RZ_PF_SKILLS, p->skills);
    v[11] = text_or(p->set, RZ_PF_PLATFORMS, p->platforms);
    v[12] = date_text(p->set, RZ_PF_REG_DATE, p->reg_date, date);
    v[13] = r->deleted ? "deleted" : "live";
    cells(x->out, v, 14);
    sodium_memzero(cnic, sizeof cnic);
    sodium_memzero(digits, sizeof digits);
    x->rows++;
    return ferror(x->out) ? RZ_E_IO : 0;
}

static int
export_event(void *c, const node_event_row *r)
{
    exp_ctx *x = c;
    const node_event *e = &r->f;
    char id[2 * NODE_REC_ID_BYTES + 1], date[11], dur[24] = "";
    const char *v[9];
    node_id_format(id, r->id);
    if (e->set & NODE_SET(RZ_EF_DURATION))
        snprintf(dur, sizeof dur, "%llu", (unsigned long long)e->duration);
    v[0] = r->code;
    v[1] = id;
    v[2] = (e->set & NODE_SET(RZ_EF_KIND)) ? event_kind_name(e->kind) : "";
    v[3] = text_or(e->set, RZ_EF_TITLE, e->title);
    v[4] = date_text(e->set, RZ_EF_DATE, e->date, date);
    v[5] = dur;
    v[6] = text_or(e->set, RZ_EF_PARTNER, e->partner);
    v[7] = (e->set & NODE_SET(RZ_EF_MODE)) ? mode_name(e->mode) : "";
    v[8] = r->deleted ? "deleted" : "live";
    cells(x->out, v, 9);
    x->rows++;
    return ferror(x->out) ? RZ_E_IO : 0;
}

/* Attendance with the names staff recognise beside the ids. */
static int
export_attendance(node_store *ns, exp_ctx *x, int include_deleted, rz_error *err)
{
    static const char sql[] =
        "SELECT a.event_id, (SELECT n FROM short_code s WHERE s.id = a.event_id), e.title, e.date,"
        " a.person_id, (SELECT n FROM short_code s WHERE s.id = a.person_id), p.name, p.cnic,"
        " a.present, a.deleted OR e.deleted OR p.deleted"
        " FROM attendance a JOIN event e ON e.id = a.event_id JOIN person p ON p.id = a.person_id"
        " WHERE ?1 OR (a.deleted = 0 AND e.deleted = 0 AND p.deleted = 0)"
        " ORDER BY e.date, a.event_id, p.name, a.person_id";
    sqlite3 *db = node_store_db(ns);
    sqlite3_stmt *st = NULL;
    int rc, src;
    if ((rc = rz_db_prepare(db, &st, sql, err)) != 0)
        return rc;
    sqlite3_bind_int(st, 1, include_deleted ? 1 : 0);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        char eid[33], pid[33], ecode[NODE_CODE_MAX] = "", pcode[NODE_CODE_MAX] = "", date[11] = "";
        char digits[14], cnic[16] = "";
        const char *v[10], *c = (const char *)sqlite3_column_text(st, 7);
        if (sqlite3_column_bytes(st, 0) != 16 || sqlite3_column_bytes(st, 4) != 16)
            continue;
        node_id_format(eid, sqlite3_column_blob(st, 0));
        node_id_format(pid, sqlite3_column_blob(st, 4));
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            node_code_format(ecode, (uint64_t)sqlite3_column_int64(st, 1));
        if (sqlite3_column_type(st, 5) != SQLITE_NULL)
            node_code_format(pcode, (uint64_t)sqlite3_column_int64(st, 5));
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            date_format(date, (uint32_t)sqlite3_column_int64(st, 3));
        if (c && cnic_normalize(digits, c, strlen(c)))
            snprintf(cnic, sizeof cnic, "%.5s-%.7s-%.1s", digits, digits + 5, digits + 12);
        v[0] = eid;
        v[1] = ecode;
        v[2] = (const char *)sqlite3_column_text(st, 2);
        v[3] = date;
        v[4] = pid;
        v[5] = pcode;
        v[6] = (const char *)sqlite3_column_text(st, 6);
        v[7] = cnic[0] ? cnic : c;
        v[8] = sqlite3_column_int(st, 8) ? "present" : "absent";
        v[9] = sqlite3_column_int(st, 9) ? "deleted" : "live";
        cells(x->out, v, 10);
        sodium_memzero(cnic, sizeof cnic);
        sodium_memzero(digits, sizeof digits);
        x->rows++;
        if (ferror(x->out))
            break;
    }
    if (src != SQLITE_DONE && src != SQLITE_ROW)
        rc = rz_db_fail(db, err, "export attendance");
    sqlite3_finalize(st);
    return rc;
}

int
node_export_csv(node_store *ns, int kind, FILE *out, int include_deleted, unsigned long *rows,
                rz_error *err)
{
    static const char *const person_head[] = {
        "code",     "id",   "name",  "gender", "birth_year", "cnic",     "phone",
        "district", "area", "skill", "skills", "platforms",  "reg_date", "status"};
    static const char *const event_head[] = {"code",     "id",      "kind", "title", "date",
                                             "duration", "partner", "mode", "status"};
    static const char *const att_head[] = {"event_id",  "event_code",  "event_title", "event_date",
                                           "person_id", "person_code", "name",        "cnic",
                                           "present",   "status"};
    exp_ctx x = {out, 0};
    int rc;
    if (rows)
        *rows = 0;
    /* UTF-8 byte-order mark: Excel then reads Urdu as UTF-8. */
    fputs("\xef\xbb\xbf", out);
    switch (kind) {
    case NODE_IMPORT_PEOPLE:
        cells(out, person_head, 14);
        rc = node_store_person_each(ns, include_deleted, export_person, &x, err);
        break;
    case NODE_IMPORT_EVENTS:
        cells(out, event_head, 9);
        rc = node_store_event_each(ns, include_deleted, export_event, &x, err);
        break;
    case NODE_IMPORT_ATTENDANCE:
        cells(out, att_head, 10);
        rc = export_attendance(ns, &x, include_deleted, err);
        break;
    default: return rz_fail(err, RZ_E_ARG, "unknown kind of export %d", kind);
    }
    if (rc == RZ_E_IO && (!err || !err->text[0]))
        rc = rz_fail(err, RZ_E_IO, "cannot write the file");
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = rz_fail(err, RZ_E_IO, "cannot write the file");
    if (rows)
        *rows = x.rows;
    return rc;
}
