/*
 * node_web_api: the JSON API behind the centre app's pages (see node_web.h
 * for the gate every request has passed before it gets here).  Each
 * handler reads bounded, clean form values, calls the store functions the
 * command line calls (node_form for validation, node_find for searches and
 * duplicates, node_import/node_export for spreadsheets, node_sync for
 * sync) and writes JSON.  Personal values go only to the signed-in staff's
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
#include "client/node_lock.h"
#include "client/node_sync.h"
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

/* A wall time as staff read it: Pakistan time (UTC+5, no daylight saving). */
static void
pk_time(char *out, size_t len, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000) + 5 * 3600;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, len, "%Y-%m-%d %H:%M (Pakistan time)", &tm) == 0)
        snprintf(out, len, "unknown");
}

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

/* ---- sync ---- */

/* What staff should read about a sync outcome, and what to do. */
static void
sync_words(int rc, int server_code, const char *text, char *out, size_t len, const char **todo)
{
    *todo = "";
    switch (rc) {
    case 0: snprintf(out, len, "Everything was sent; the server confirmed it."); return;
    case RZ_E_STOPPED: snprintf(out, len, "The sync was stopped; nothing is lost."); return;
    case RZ_E_TIMEOUT:
        snprintf(out, len,
                 "The server could not be reached (no internet, or the server is "
                 "down). Nothing is lost.");
        *todo = "Check the internet connection and press Sync now again later.";
        return;
    case RZ_E_CONFIG:
        snprintf(out, len, "No server is set up for this PC.");
        *todo = "An administrator sets the server with: rozgar-node config --server "
                "tcp://HOST:PORT --server-key KEY";
        return;
    case RZ_E_FORK:
    case RZ_E_QUARANTINE:
    case RZ_E_EPOCH:
        snprintf(out, len,
                 "The server holds a different history for this PC (was an old backup "
                 "restored?). Nothing recorded here is lost.");
        break;
    case RZ_E_AUTH:
        snprintf(out, len,
                 "The server does not accept this PC (not enrolled, or its key was "
                 "revoked).");
        break;
    default: snprintf(out, len, "%s", text); break;
    }
    *todo = node_sync_hint(server_code ? server_code : rc);
    if (!*todo)
        *todo = "Nothing is lost; try again later, and tell headquarters if it keeps failing.";
}

static void
sync_on_progress(void *ctx, const rz_progress_info *in)
{
    web_app *app = ctx;
    pthread_mutex_lock(&app->sync_mu);
    app->sync.done = in->done;
    if (in->total)
        app->sync.total = in->total;
    app->sync.rate = in->rate;
    pthread_mutex_unlock(&app->sync_mu);
}

/* Another process holds the sync lock (`sync --watch`): it was asked to
 * sync now; follow its progress through what still waits, until nothing
 * does or it makes no progress for a reply timeout. */
static int
sync_follow(web_app *app, node_store *ns, int timeout_ms, rz_error *err)
{
    node_store_status st;
    uint64_t last_pending = UINT64_MAX, last_change = hlc_wall_ms(), start = last_change;
    int rc;
    while (!app->sync_stop) {
        uint64_t now = hlc_wall_ms();
        if ((rc = node_store_get_status(ns, &st, err)) != 0)
            return rc;
        pthread_mutex_lock(&app->sync_mu);
        if (app->sync.total >= st.pending)
            app->sync.done = app->sync.total - st.pending;
        if (now > start)
            app->sync.rate = (double)app->sync.done * 1000.0 / (double)(now - start);
        pthread_mutex_unlock(&app->sync_mu);
        if (st.pending == 0)
            return 0;
        if (st.pending != last_pending)
            last_pending = st.pending, last_change = now;
        else if (now - last_change > (uint64_t)timeout_ms + 5000)
            return rz_fail(err, RZ_E_TIMEOUT,
                           "the running sync has sent nothing for %d s; %llu changes still wait",
                           timeout_ms / 1000 + 5, (unsigned long long)st.pending);
        usleep(300 * 1000);
    }
    return rz_fail(err, RZ_E_STOPPED, "the app is stopping");
}

static void *
sync_main(void *arg)
{
    web_app *app = arg;
    node_store *ns = NULL;
    node_lock *lock = NULL;
    node_lock_holder holder;
    node_sync_opts o;
    node_sync_result r;
    rz_error err = {0, ""};
    char who[160] = "";
    int rc;
    memset(&r, 0, sizeof r);
    node_sync_opts_default(&o);
    if (app->sync_timeout_ms > 0)
        o.timeout_ms = app->sync_timeout_ms;
    o.progress = sync_on_progress;
    o.progress_ctx = app;
    o.stop = &app->sync_stop;
    if ((rc = node_store_open(app->dir, &ns, &err)) != 0)
        goto done;
    /* One sync per data directory: when `sync --watch` (or a CLI sync) runs,
     * it is asked to sync now instead of starting a second one. */
    rc = node_lock_acquire(app->dir, "serve", &lock, &holder, &err);
    if (rc == RZ_E_BUSY) {
        rz_error e2 = {0, ""};
        if (node_lock_trigger(app->dir, &holder, &e2) == 0)
            snprintf(who, sizeof who, "%s (pid %ld)", holder.who, (long)holder.pid);
        else
            snprintf(who, sizeof who, "%s", holder.who[0] ? holder.who : "another sync");
        pthread_mutex_lock(&app->sync_mu);
        snprintf(app->sync.delegated, sizeof app->sync.delegated, "%s", who);
        pthread_mutex_unlock(&app->sync_mu);
        rc = sync_follow(app, ns, o.timeout_ms, &err);
    } else if (rc == 0) {
        rc = node_sync_run(ns, &o, &r, &err);
        /* For `status` and the page after a restart; the run's own outcome
         * is what matters if this cannot be noted. */
        if (node_store_note_attempt(ns, hlc_wall_ms(), rc, rc ? err.text : "", NULL) != 0)
            log_warnx("web: the sync's outcome could not be noted");
        node_lock_release(&lock);
    }
done:
    node_store_destroy(&ns);
    pthread_mutex_lock(&app->sync_mu);
    app->sync.running = 0;
    app->sync.ended_ms = hlc_wall_ms();
    app->sync.rc = rc;
    app->sync.server_code = r.server_code;
    snprintf(app->sync.text, sizeof app->sync.text, "%s", rc ? err.text : "");
    if (rc == 0)
        app->sync.done = app->sync.total;
    pthread_mutex_unlock(&app->sync_mu);
    log_info("web: sync ended: %s", rc ? rz_err_name(rc) : "ok");
    return NULL;
}

void
web_sync_shutdown(web_app *app)
{
    if (app->sync_joinable) {
        pthread_join(app->sync_thread, NULL);
        app->sync_joinable = 0;
    }
}

static int
api_sync_status(web_call *c, rz_error *err)
{
    node_store_status st;
    web_sync s;
    char warn[256] = "", words[RZ_ERROR_TEXT + 100], when[40];
    const char *todo = "";
    uint64_t now = hlc_wall_ms();
    int rc;
    if ((rc = node_store_get_status(c->app->ns, &st, err)) != 0)
        return rc;
    pthread_mutex_lock(&c->app->sync_mu);
    s = c->app->sync;
    pthread_mutex_unlock(&c->app->sync_mu);
    node_store_clock_warning(&st, now, warn, sizeof warn);
    fprintf(c->out, "{\"pending\":%llu,\"head\":%llu,\"acked\":%llu",
            (unsigned long long)st.pending, (unsigned long long)st.head_seq,
            (unsigned long long)st.acked_seq);
    web_json_kv(c->out, "server", st.endpoint, 0);
    if (st.last_server_ms) {
        pk_time(when, sizeof when, st.last_local_ms);
        web_json_kv(c->out, "last_contact", when, 0);
    } else {
        web_json_kv(c->out, "last_contact", "", 0);
    }
    /* Last successful sync: the last attempt when it ended well (nothing
     * to send is success too), else the server time of the newest receipt. */
    {
        uint64_t ok_ms = 0;
        if (st.last_attempt_ms && st.last_attempt_code == 0)
            ok_ms = st.last_attempt_ms;
        else if ((rc = node_store_last_receipt_ms(c->app->ns, &ok_ms, err)) != 0)
            return rc;
        if (ok_ms)
            pk_time(when, sizeof when, ok_ms);
        web_json_kv(c->out, "last_ok", ok_ms ? when : "", 0);
    }
    web_json_kv(c->out, "clock_warning", warn, 0);
    fprintf(c->out,
            ",\"running\":%s,\"total\":%llu,\"done\":%llu,\"rate\":%.1f,\"elapsed_ms\":%llu",
            s.running ? "true" : "false", (unsigned long long)s.total, (unsigned long long)s.done,
            s.rate, (unsigned long long)(s.running ? now - s.started_ms : 0));
    web_json_kv(c->out, "delegated", s.delegated, 0);
    /* A sync by another process (the watch loop, the command line) ended
     * after this app's own: show that one. */
    if (!s.running && st.last_attempt_ms > s.ended_ms) {
        s.ended_ms = st.last_attempt_ms;
        s.rc = st.last_attempt_code;
        s.server_code = 0;
        snprintf(s.text, sizeof s.text, "%s", st.last_attempt_text);
        snprintf(s.by, sizeof s.by, "%s", "another sync process");
    }
    if (s.ended_ms && !s.running) {
        sync_words(s.rc, s.server_code, s.text, words, sizeof words, &todo);
        pk_time(when, sizeof when, s.ended_ms);
        fprintf(c->out, ",\"last\":{\"ok\":%s", s.rc ? "false" : "true");
        web_json_kv(c->out, "when", when, 0);
        web_json_kv(c->out, "by", s.by, 0);
        web_json_kv(c->out, "words", words, 0);
        web_json_kv(c->out, "todo", todo ? todo : "", 0);
        web_json_kv(c->out, "detail", s.text, 0);
        fputc('}', c->out);
    }
    fputs("}\n", c->out);
    return 0;
}

static int
api_sync_start(web_call *c, rz_error *err)
{
    node_store_status st;
    int rc;
    if ((rc = node_store_get_status(c->app->ns, &st, err)) != 0)
        return rc;
    pthread_mutex_lock(&c->app->sync_mu);
    if (c->app->sync.running) {
        pthread_mutex_unlock(&c->app->sync_mu);
        return web_fail(c, 409, "a sync is already running");
    }
    web_sync_shutdown(c->app); /* the previous thread has ended: join it */
    memset(&c->app->sync, 0, sizeof c->app->sync);
    c->app->sync.running = 1;
    c->app->sync.started_ms = hlc_wall_ms();
    c->app->sync.total = st.pending;
    snprintf(c->app->sync.by, sizeof c->app->sync.by, "%s", c->s->user);
    if (pthread_create(&c->app->sync_thread, NULL, sync_main, c->app) != 0) {
        c->app->sync.running = 0;
        pthread_mutex_unlock(&c->app->sync_mu);
        return rz_fail(err, RZ_E_INTERNAL, "cannot start the sync thread");
    }
    c->app->sync_joinable = 1;
    pthread_mutex_unlock(&c->app->sync_mu);
    log_info("web: %s started a sync of %llu entries", c->s->user, (unsigned long long)st.pending);
    fprintf(c->out, "{\"ok\":true,\"total\":%llu}\n", (unsigned long long)st.pending);
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
