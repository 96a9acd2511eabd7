/*
 * node_web_api: the JSON API behind the centre app's pages (see node_web.h
 * for the gate every request has passed before it gets here).  Each
 * handler reads bounded, clean form values, calls the store functions the
 * command line calls (node_form for validation, node_find for searches and
 * duplicates, node_import/node_export for spreadsheets; the sync page is
 * node_web_sync.c) and writes JSON.  Personal values go only to the signed-in staff's
 * own browser, never to the log.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/node_find.h"
#include "client/node_form.h"
#include "client/node_web_int.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/util.h"

#define WEB_PAGE_ROWS 50 /* rows of a list page */

/* Form field names of a person and an event, by field id. */
static const char *const person_names[RZ_PF_MAX + 1] = {
    [RZ_PF_CNIC] = "cnic",
    [RZ_PF_NAME] = "name",
    [RZ_PF_PHONE] = "phone",
    [RZ_PF_GENDER] = "gender",
    [RZ_PF_BIRTH_YEAR] = "birth_year",
    [RZ_PF_DISTRICT] = "district",
    [RZ_PF_AREA] = "area",
    [RZ_PF_SKILL] = "skill",
    [RZ_PF_SKILLS] = "skills",
    [RZ_PF_PLATFORMS] = "platforms",
    [RZ_PF_REG_DATE] = "reg_date",
};
static const char *const event_names[RZ_EF_MAX + 1] = {
    [RZ_EF_KIND] = "kind",         [RZ_EF_TITLE] = "title",     [RZ_EF_DATE] = "date",
    [RZ_EF_DURATION] = "duration", [RZ_EF_PARTNER] = "partner", [RZ_EF_MODE] = "mode",
};

/* ---- JSON pieces ---- */

static void
json_uint(FILE *out, const char *key, uint64_t v)
{
    fprintf(out, ",\"%s\":%llu", key, (unsigned long long)v);
}

static void
json_date(FILE *out, const char *key, uint64_t v)
{
    char d[11] = "";
    if (v && v <= 99991231)
        date_format(d, (uint32_t)v);
    web_json_kv(out, key, d, 0);
}

static const char *
opt(uint32_t set, int field, const char *s)
{
    return (set & NODE_SET(field)) && s ? s : "";
}

/* A CNIC as staff write it (35202-1234567-1) when it is 13 digits. */
static void
json_cnic(FILE *out, const char *cnic)
{
    char d[16];
    if (cnic && strlen(cnic) == 13 && strspn(cnic, "0123456789") == 13) {
        snprintf(d, sizeof d, "%.5s-%.7s-%.1s", cnic, cnic + 5, cnic + 12);
        web_json_kv(out, "cnic", d, 0);
    } else {
        web_json_kv(out, "cnic", cnic ? cnic : "", 0);
    }
}

static void
json_person(FILE *out, const node_person_row *r)
{
    const node_person *p = &r->f;
    char hex[2 * NODE_REC_ID_BYTES + 1];
    node_id_format(hex, r->id);
    fputc('{', out);
    web_json_kv(out, "id", hex, 1);
    web_json_kv(out, "code", r->code, 0);
    web_json_kv(out, "name", opt(p->set, RZ_PF_NAME, p->name), 0);
    web_json_kv(out, "gender", (p->set & NODE_SET(RZ_PF_GENDER)) ? gender_name(p->gender) : "", 0);
    if (p->set & NODE_SET(RZ_PF_BIRTH_YEAR))
        json_uint(out, "birth_year", p->birth_year);
    json_cnic(out, opt(p->set, RZ_PF_CNIC, p->cnic));
    web_json_kv(out, "phone", opt(p->set, RZ_PF_PHONE, p->phone), 0);
    web_json_kv(out, "district", opt(p->set, RZ_PF_DISTRICT, p->district), 0);
    web_json_kv(out, "area", (p->set & NODE_SET(RZ_PF_AREA)) ? area_name(p->area) : "", 0);
    web_json_kv(out, "skill", (p->set & NODE_SET(RZ_PF_SKILL)) ? skill_name(p->skill) : "", 0);
    web_json_kv(out, "skills", opt(p->set, RZ_PF_SKILLS, p->skills), 0);
    web_json_kv(out, "platforms", opt(p->set, RZ_PF_PLATFORMS, p->platforms), 0);
    json_date(out, "reg_date", (p->set & NODE_SET(RZ_PF_REG_DATE)) ? p->reg_date : 0);
    fprintf(out, ",\"deleted\":%s}", r->deleted ? "true" : "false");
}

static void
json_event(FILE *out, const node_event_row *r)
{
    const node_event *e = &r->f;
    char hex[2 * NODE_REC_ID_BYTES + 1];
    node_id_format(hex, r->id);
    fputc('{', out);
    web_json_kv(out, "id", hex, 1);
    web_json_kv(out, "code", r->code, 0);
    web_json_kv(out, "kind", (e->set & NODE_SET(RZ_EF_KIND)) ? event_kind_name(e->kind) : "", 0);
    web_json_kv(out, "title", opt(e->set, RZ_EF_TITLE, e->title), 0);
    json_date(out, "date", (e->set & NODE_SET(RZ_EF_DATE)) ? e->date : 0);
    if (e->set & NODE_SET(RZ_EF_DURATION))
        json_uint(out, "duration", e->duration);
    web_json_kv(out, "partner", opt(e->set, RZ_EF_PARTNER, e->partner), 0);
    web_json_kv(out, "mode", (e->set & NODE_SET(RZ_EF_MODE)) ? mode_name(e->mode) : "", 0);
    fprintf(out, ",\"deleted\":%s}", r->deleted ? "true" : "false");
}

/* "errors":{...},"warnings":{...} of a form verdict (no braces around). */
static void
json_verdict(FILE *out, const node_form *fm, const char *const *names, int max)
{
    int level, f, first;
    for (level = NODE_FORM_ERROR; level >= NODE_FORM_WARN; level--) {
        fputs(level == NODE_FORM_ERROR ? "\"errors\":{" : ",\"warnings\":{", out);
        first = 1;
        for (f = 1; f <= max; f++)
            if (names[f] && fm->level[f] == level) {
                web_json_kv(out, names[f], fm->msg[f], first);
                first = 0;
            }
        fputc('}', out);
    }
}

/* ---- reading parameters ---- */

static size_t
param_size(const web_form *q, const char *key, size_t dflt, size_t max)
{
    const char *v = web_form_get(q, key);
    unsigned long long n;
    char *end;
    if (!v || !*v)
        return dflt;
    n = strtoull(v, &end, 10);
    if (*end || n > max)
        return dflt;
    return (size_t)n;
}

/* Resolves the record named by field key (short code or id). */
static int
param_record(web_call *c, const web_form *f, const char *key, uint8_t want,
             uint8_t id[NODE_REC_ID_BYTES], rz_error *err)
{
    const char *v = web_form_get(f, key);
    if (!v || !*v) {
        snprintf(err->text, sizeof err->text, "no %s given", key);
        return RZ_E_ARG;
    }
    return node_store_resolve(c->app->ns, v, want, id, NULL, err);
}

/* Failures of the store that are the request's fault become a 4xx answer
 * (returns 0); others are returned for the 500 path. */
static int
answer_store_rc(web_call *c, int rc, const rz_error *err)
{
    switch (rc) {
    case RZ_E_ARG: return web_fail(c, 400, err->text);
    case RZ_E_NOTFOUND: return web_fail(c, 404, err->text);
    case RZ_E_EXISTS: return web_fail(c, 409, err->text);
    default: return rc;
    }
}

/* ---- who am I ---- */

static int
api_me(web_call *c, rz_error *err)
{
    node_store_status st;
    char warn[256] = "";
    int rc;
    if ((rc = node_store_get_status(c->app->ns, &st, err)) != 0)
        return rc;
    node_store_clock_warning(&st, hlc_wall_ms(), warn, sizeof warn);
    fputc('{', c->out);
    web_json_kv(c->out, "user", c->s->user, 1);
    web_json_kv(c->out, "role", c->s->role, 0);
    fprintf(c->out, ",\"admin\":%s", c->s->is_admin ? "true" : "false");
    web_json_kv(c->out, "csrf", c->s->csrf, 0);
    web_json_kv(c->out, "node", c->app->node_hex, 0);
    web_json_kv(c->out, "fingerprint", c->app->fingerprint, 0);
    web_json_kv(c->out, "clock_warning", warn, 0);
    json_uint(c->out, "pending", st.pending);
    json_uint(c->out, "expires_ms", c->s->expires_ms);
    fputs("}\n", c->out);
    return 0;
}

/* ---- persons ---- */

typedef struct rows_ctx {
    FILE *out; /* answer */
    int n;     /* rows written */
} rows_ctx;

static int
row_person(void *ctx, const node_person_row *r)
{
    rows_ctx *w = ctx;
    if (w->n++)
        fputc(',', w->out);
    json_person(w->out, r);
    return 0;
}

static int
row_event(void *ctx, const node_event_row *r)
{
    rows_ctx *w = ctx;
    if (w->n++)
        fputc(',', w->out);
    json_event(w->out, r);
    return 0;
}

static int
api_persons(web_call *c, rz_error *err)
{
    const char *q = web_form_get(c->query, "q");
    const char *del = web_form_get(c->query, "deleted");
    size_t offset = param_size(c->query, "offset", 0, 100000000);
    size_t limit = param_size(c->query, "limit", WEB_PAGE_ROWS, NODE_FIND_LIMIT_MAX);
    size_t total = 0;
    rows_ctx w = {c->out, 0};
    int rc;
    fputs("{\"rows\":[", c->out);
    rc = node_find_persons(c->app->ns, q, del && strcmp(del, "1") == 0, offset, limit, row_person,
                           &w, &total, err);
    if (rc == RZ_E_ARG)
        return web_fail(c, 400, err->text);
    if (rc)
        return rc;
    fprintf(c->out, "],\"total\":%zu,\"offset\":%zu,\"limit\":%zu}\n", total, offset, limit);
    return 0;
}

static int
api_person(web_call *c, rz_error *err)
{
    uint8_t id[NODE_REC_ID_BYTES];
    rows_ctx w = {c->out, 0};
    int rc;
    if ((rc = param_record(c, c->query, "id", RZ_T_PERSON, id, err)) != 0)
        return answer_store_rc(c, rc, err);
    fputs("{\"person\":", c->out);
    if ((rc = node_store_person_get(c->app->ns, id, row_person, &w, err)) != 0)
        return rc;
    fputs("}\n", c->out);
    return 0;
}

typedef struct dup_ctx {
    FILE *out; /* answer */
    int n;     /* duplicates written */
} dup_ctx;

static int
row_dup(void *ctx, const node_person_row *r, unsigned why)
{
    dup_ctx *d = ctx;
    if (d->n++)
        fputc(',', d->out);
    fputs("{\"person\":", d->out);
    json_person(d->out, r);
    fputs(",\"why\":[", d->out);
    fprintf(d->out, "%s%s%s", (why & NODE_DUP_CNIC) ? "\"same CNIC\"" : "",
            (why & NODE_DUP_PHONE) ? ((why & NODE_DUP_CNIC) ? ",\"same phone\"" : "\"same phone\"")
                                   : "",
            (why & NODE_DUP_NAME_YEAR)
                ? ((why & (NODE_DUP_CNIC | NODE_DUP_PHONE)) ? ",\"same name and birth year\""
                                                            : "\"same name and birth year\"")
                : "");
    fputs("]}", d->out);
    return 0;
}

/* Reads the person form into fm/p; vals point into the request. */
static int
read_person_form(web_call *c, node_form *fm, node_person *p, int is_new)
{
    const char *vals[NODE_FORM_FIELDS] = {0};
    int f;
    for (f = 1; f <= RZ_PF_MAX; f++)
        vals[f] = web_form_get(c->form, person_names[f]);
    return node_form_person(fm, p, vals, is_new);
}

/* POST /api/person/save: fields; id to correct; confirm=1 to save despite
 * the duplicate warning; check=1 to validate and look for duplicates only. */
static int
api_person_save(web_call *c, rz_error *err)
{
    node_form *fm = xcalloc(1, sizeof *fm);
    node_person p;
    uint8_t id[NODE_REC_ID_BYTES], *edit = NULL;
    char hex[2 * NODE_REC_ID_BYTES + 1], code[NODE_CODE_MAX] = "";
    const char *idtext = web_form_get(c->form, "id");
    int check = web_form_get(c->form, "check") != NULL;
    int confirm = web_form_get(c->form, "confirm") != NULL;
    dup_ctx d = {c->out, 0};
    int rc, bad;

    if (idtext && *idtext) {
        if ((rc = param_record(c, c->form, "id", RZ_T_PERSON, id, err)) != 0) {
            free(fm);
            return answer_store_rc(c, rc, err);
        }
        edit = id;
    }
    bad = read_person_form(c, fm, &p, edit == NULL) != 0;
    fputs("{", c->out);
    json_verdict(c->out, fm, person_names, RZ_PF_MAX);
    if (bad) {
        fputs(",\"ok\":false}\n", c->out);
        c->status = 422;
        goto done;
    }
    fputs(",\"duplicates\":[", c->out);
    if (!confirm || check) {
        if ((rc = node_find_duplicates(c->app->ns, &p, edit, row_dup, &d, NULL, err)) != 0)
            goto fail;
    }
    fputc(']', c->out);
    if (check || (d.n && !confirm)) {
        fprintf(c->out, ",\"ok\":false,\"saved\":false}\n");
        goto done;
    }
    if (edit) {
        if (p.set == 0) {
            fputs(",\"ok\":true,\"saved\":false}\n", c->out);
            goto done;
        }
        rc = node_store_person_edit(c->app->ns, edit, &p, err);
    } else {
        rc = node_store_person_add(c->app->ns, &p, id, err);
    }
    if (rc) {
        free(fm);
        return answer_store_rc(c, rc, err);
    }
    node_id_format(hex, id);
    if (node_store_code(c->app->ns, id, code, NULL) != 0)
        code[0] = '\0';
    fputs(",\"ok\":true,\"saved\":true", c->out);
    web_json_kv(c->out, "id", hex, 0);
    web_json_kv(c->out, "code", code, 0);
    fputs("}\n", c->out);
done:
    free(fm);
    return 0;
fail:
    free(fm);
    return rc;
}

static int
api_set_deleted(web_call *c, uint8_t table, int deleted, rz_error *err)
{
    uint8_t id[NODE_REC_ID_BYTES];
    int rc;
    if ((rc = param_record(c, c->form, "id", table, id, err)) != 0)
        return answer_store_rc(c, rc, err);
    rc = node_store_set_deleted(c->app->ns, table, id, sizeof id, deleted, err);
    if (rc == RZ_E_EXISTS) /* already so: say so, change nothing */
        return web_fail(c, 409, deleted ? "it is already deleted" : "it is not deleted");
    if (rc)
        return answer_store_rc(c, rc, err);
    fputs("{\"ok\":true}\n", c->out);
    return 0;
}

static int
api_person_delete(web_call *c, rz_error *err)
{
    return api_set_deleted(c, RZ_T_PERSON, 1, err);
}

static int
api_person_undelete(web_call *c, rz_error *err)
{
    return api_set_deleted(c, RZ_T_PERSON, 0, err);
}

/* ---- events ---- */

static int
api_events(web_call *c, rz_error *err)
{
    const char *when = web_form_get(c->query, "when"), *q = web_form_get(c->query, "q");
    const char *del = web_form_get(c->query, "deleted");
    size_t offset = param_size(c->query, "offset", 0, 100000000);
    size_t limit = param_size(c->query, "limit", WEB_PAGE_ROWS, NODE_FIND_LIMIT_MAX);
    size_t total = 0;
    rows_ctx w = {c->out, 0};
    int wh = NODE_WHEN_ALL, rc;
    if (when && strcmp(when, "upcoming") == 0)
        wh = NODE_WHEN_UPCOMING;
    else if (when && strcmp(when, "past") == 0)
        wh = NODE_WHEN_PAST;
    fputs("{\"rows\":[", c->out);
    rc = node_find_events(c->app->ns, q, wh, 0, del && strcmp(del, "1") == 0, offset, limit,
                          row_event, &w, &total, err);
    if (rc == RZ_E_ARG)
        return web_fail(c, 400, err->text);
    if (rc)
        return rc;
    fprintf(c->out, "],\"total\":%zu,\"offset\":%zu,\"limit\":%zu}\n", total, offset, limit);
    return 0;
}

static int
api_event(web_call *c, rz_error *err)
{
    uint8_t id[NODE_REC_ID_BYTES];
    rows_ctx w = {c->out, 0};
    int rc;
    if ((rc = param_record(c, c->query, "id", RZ_T_EVENT, id, err)) != 0)
        return answer_store_rc(c, rc, err);
    fputs("{\"event\":", c->out);
    if ((rc = node_store_event_get(c->app->ns, id, row_event, &w, err)) != 0)
        return rc;
    fputs("}\n", c->out);
    return 0;
}

static int
api_event_save(web_call *c, rz_error *err)
{
    node_form *fm = xcalloc(1, sizeof *fm);
    const char *vals[NODE_FORM_FIELDS] = {0};
    const char *idtext = web_form_get(c->form, "id");
    uint8_t id[NODE_REC_ID_BYTES], *edit = NULL;
    char hex[2 * NODE_REC_ID_BYTES + 1], code[NODE_CODE_MAX] = "";
    node_event e;
    int f, rc = 0, bad;
    if (idtext && *idtext) {
        if ((rc = param_record(c, c->form, "id", RZ_T_EVENT, id, err)) != 0) {
            free(fm);
            return answer_store_rc(c, rc, err);
        }
        edit = id;
    }
    for (f = 1; f <= RZ_EF_MAX; f++)
        vals[f] = web_form_get(c->form, event_names[f]);
    bad = node_form_event(fm, &e, vals, edit == NULL) != 0;
    fputs("{", c->out);
    json_verdict(c->out, fm, event_names, RZ_EF_MAX);
    if (bad) {
        fputs(",\"ok\":false}\n", c->out);
        c->status = 422;
        goto done;
    }
    if (edit && e.set == 0) {
        fputs(",\"ok\":true,\"saved\":false}\n", c->out);
        goto done;
    }
    /* e borrows fm's texts: fm lives until here. */
    rc = edit ? node_store_event_edit(c->app->ns, edit, &e, err)
              : node_store_event_add(c->app->ns, &e, id, err);
    if (rc) {
        free(fm);
        return answer_store_rc(c, rc, err);
    }
    node_id_format(hex, id);
    if (node_store_code(c->app->ns, id, code, NULL) != 0)
        code[0] = '\0';
    fputs(",\"ok\":true,\"saved\":true", c->out);
    web_json_kv(c->out, "id", hex, 0);
    web_json_kv(c->out, "code", code, 0);
    fputs("}\n", c->out);
done:
    free(fm);
    return 0;
}

static int
api_event_delete(web_call *c, rz_error *err)
{
    return api_set_deleted(c, RZ_T_EVENT, 1, err);
}

static int
api_event_undelete(web_call *c, rz_error *err)
{
    return api_set_deleted(c, RZ_T_EVENT, 0, err);
}

/* ---- attendance ---- */

typedef struct roster_ctx {
    FILE *out; /* answer */
    int n;     /* rows written */
} roster_ctx;

static int
row_roster(void *ctx, const node_person_row *r, int state)
{
    roster_ctx *w = ctx;
    char hex[2 * NODE_REC_ID_BYTES + 1];
    const node_person *p = &r->f;
    if (w->n++)
        fputc(',', w->out);
    node_id_format(hex, r->id);
    fputc('{', w->out);
    web_json_kv(w->out, "id", hex, 1);
    web_json_kv(w->out, "code", r->code, 0);
    web_json_kv(w->out, "name", opt(p->set, RZ_PF_NAME, p->name), 0);
    json_cnic(w->out, opt(p->set, RZ_PF_CNIC, p->cnic));
    web_json_kv(w->out, "phone", opt(p->set, RZ_PF_PHONE, p->phone), 0);
    web_json_kv(w->out, "state",
                state == NODE_ATT_PRESENT  ? "present"
                : state == NODE_ATT_ABSENT ? "absent"
                                           : "none",
                0);
    fputc('}', w->out);
    return 0;
}

static int
no_roster_row(void *ctx, const node_person_row *r, int state)
{
    (void)ctx, (void)r, (void)state;
    return 0;
}

static void
json_counts(FILE *out, const node_roster_counts *k)
{
    fprintf(out, "\"counts\":{\"present\":%zu,\"absent\":%zu,\"people\":%zu,\"matching\":%zu}",
            k->present, k->absent, k->people, k->matching);
}

static int
api_roster(web_call *c, rz_error *err)
{
    uint8_t ev[NODE_REC_ID_BYTES];
    const char *q = web_form_get(c->query, "q"), *marked = web_form_get(c->query, "marked");
    size_t offset = param_size(c->query, "offset", 0, 100000000);
    size_t limit = param_size(c->query, "limit", WEB_PAGE_ROWS, NODE_FIND_LIMIT_MAX);
    node_roster_counts k;
    roster_ctx w = {c->out, 0};
    rows_ctx we = {c->out, 0};
    int rc;
    if ((rc = param_record(c, c->query, "event", RZ_T_EVENT, ev, err)) != 0)
        return answer_store_rc(c, rc, err);
    fputs("{\"event\":", c->out);
    if ((rc = node_store_event_get(c->app->ns, ev, row_event, &we, err)) != 0)
        return rc;
    fputs(",\"rows\":[", c->out);
    memset(&k, 0, sizeof k);
    rc = node_find_roster(c->app->ns, ev, q, marked && strcmp(marked, "1") == 0, offset, limit,
                          row_roster, &w, &k, err);
    if (rc == RZ_E_ARG)
        return web_fail(c, 400, err->text);
    if (rc)
        return rc;
    fputs("],", c->out);
    json_counts(c->out, &k);
    fprintf(c->out, ",\"offset\":%zu,\"limit\":%zu}\n", offset, limit);
    return 0;
}

/* POST /api/attend: event, person, state present|absent|none. */
static int
api_attend(web_call *c, rz_error *err)
{
    uint8_t key[2 * NODE_REC_ID_BYTES];
    const char *state = web_form_get(c->form, "state");
    node_roster_counts k;
    int rc;
    if ((rc = param_record(c, c->form, "event", RZ_T_EVENT, key, err)) != 0 ||
        (rc = param_record(c, c->form, "person", RZ_T_PERSON, key + NODE_REC_ID_BYTES, err)) != 0)
        return answer_store_rc(c, rc, err);
    if (!state || (strcmp(state, "present") && strcmp(state, "absent") && strcmp(state, "none")))
        return web_fail(c, 400, "state must be present, absent or none");
    if (strcmp(state, "none") == 0) {
        rc = node_store_set_deleted(c->app->ns, RZ_T_ATTENDANCE, key, sizeof key, 1, err);
        if (rc == RZ_E_NOTFOUND || rc == RZ_E_EXISTS)
            rc = 0; /* not marked: nothing to clear */
    } else {
        rc = node_store_attend(c->app->ns, key, key + NODE_REC_ID_BYTES,
                               strcmp(state, "present") == 0, err);
    }
    if (rc)
        return answer_store_rc(c, rc, err);
    memset(&k, 0, sizeof k);
    if ((rc = node_find_roster(c->app->ns, key, NULL, 1, 0, 1, no_roster_row, NULL, &k, err)) != 0)
        return rc;
    fputs("{\"ok\":true,", c->out);
    json_counts(c->out, &k);
    fputs("}\n", c->out);
    return 0;
}

/* ---- places ---- */

/* The districts of the places list, for the district picker. */
static int
api_places(web_call *c, rz_error *err)
{
    const places *pl = c->app->places;
    size_t i, j, n = 0;
    (void)err;
    fputs("{\"version\":", c->out);
    web_json_str(c->out, pl ? places_version(pl) : "");
    fputs(",\"districts\":[", c->out);
    for (i = 0; pl && i < places_province_count(pl); i++)
        for (j = 0; j < places_district_count(pl, i); j++) {
            if (n++)
                fputc(',', c->out);
            web_json_str(c->out, places_district_name(pl, i, j));
        }
    fputs("]}\n", c->out);
    return 0;
}

/* ---- staff accounts ---- */

typedef struct staff_ctx {
    FILE *out; /* answer */
    int n;     /* rows */
} staff_ctx;

static int
row_staff(void *ctx, const webauth_account *a)
{
    staff_ctx *w = ctx;
    fputs(w->n++ ? ",{" : "{", w->out);
    web_json_kv(w->out, "user", a->user, 1);
    web_json_kv(w->out, "role", a->role, 0);
    fprintf(w->out, ",\"disabled\":%s}", a->disabled ? "true" : "false");
    return 0;
}

static int
api_staff(web_call *c, rz_error *err)
{
    staff_ctx w = {c->out, 0};
    int rc;
    fputs("{\"rows\":[", c->out);
    if ((rc = webauth_account_each(c->app->wa, row_staff, &w, err)) != 0)
        return rc;
    fputs("]}\n", c->out);
    return 0;
}

static int
api_staff_add(web_call *c, rz_error *err)
{
    const char *user = web_form_get(c->form, "user"), *role = web_form_get(c->form, "role");
    const char *pass = web_form_get(c->form, "password");
    int rc = webauth_account_add(c->app->wa, user, role ? role : "staff", pass ? pass : "", err);
    if (rc == RZ_E_ARG || rc == RZ_E_EXISTS)
        return web_fail(c, rc == RZ_E_ARG ? 400 : 409, err->text);
    if (rc)
        return rc;
    log_info("web: %s added staff account %s", c->s->user, user);
    fputs("{\"ok\":true}\n", c->out);
    return 0;
}

/* An administrator resets anyone's password; staff change their own. */
static int
api_staff_passwd(web_call *c, rz_error *err)
{
    const char *user = web_form_get(c->form, "user"), *pass = web_form_get(c->form, "password");
    int rc;
    if (!user || !*user)
        user = c->s->user;
    if (!c->s->is_admin && strcmp(user, c->s->user) != 0)
        return web_fail(c, 403, "only an administrator may reset another person's password");
    rc = webauth_account_passwd(c->app->wa, user, pass ? pass : "", err);
    if (rc == RZ_E_ARG || rc == RZ_E_NOTFOUND)
        return web_fail(c, rc == RZ_E_ARG ? 400 : 404, err->text);
    if (rc)
        return rc;
    log_info("web: %s set the password of %s", c->s->user, user);
    fputs("{\"ok\":true}\n", c->out);
    return 0;
}

const web_route web_routes[] = {
    {"GET", "/api/me", api_me, 0, 0},
    {"GET", "/api/places", api_places, 0, 0},
    {"GET", "/api/persons", api_persons, 0, 0},
    {"GET", "/api/person", api_person, 0, 0},
    {"POST", "/api/person/save", api_person_save, 0, 0},
    {"POST", "/api/person/delete", api_person_delete, 0, 0},
    {"POST", "/api/person/undelete", api_person_undelete, 0, 0},
    {"GET", "/api/events", api_events, 0, 0},
    {"GET", "/api/event", api_event, 0, 0},
    {"POST", "/api/event/save", api_event_save, 0, 0},
    {"POST", "/api/event/delete", api_event_delete, 0, 0},
    {"POST", "/api/event/undelete", api_event_undelete, 0, 0},
    {"GET", "/api/roster", api_roster, 0, 0},
    {"POST", "/api/attend", api_attend, 0, 0},
    {"POST", "/api/import", web_api_import, 0, 1},
    {"GET", "/api/export", web_api_export, 1, 0},
    {"GET", "/api/sync", api_sync_status, 0, 0},
    {"POST", "/api/sync", api_sync_start, 0, 0},
    {"GET", "/api/staff", api_staff, 1, 0},
    {"POST", "/api/staff/add", api_staff_add, 1, 0},
    {"POST", "/api/staff/passwd", api_staff_passwd, 0, 0},
    {NULL, NULL, NULL, 0, 0},
};
