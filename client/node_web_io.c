/*
 * node_web_io: the centre app's spreadsheet pages: import a CSV (a dry run
 * first: preview with matched columns, bad rows with line numbers; then
 * all or nothing) and export CSV for Excel (administrators only; the route
 * table says so).  Both are client/node_import.h and node_export.h, as the
 * command line uses them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/node_export.h"
#include "client/node_import.h"
#include "client/node_web_int.h"
#include "common/log.h"

/* ---- import / export ---- */

static void
json_report(FILE *out, const node_import_report *r)
{
    size_t i, j;
    fprintf(out,
            "\"kind\":\"%s\",\"rows\":%lu,\"bad\":%lu,\"warned\":%lu,\"added\":%lu,"
            "\"known\":%lu,\"committed\":%s,\"problems_all\":%lu,\"duplicates_all\":%lu,"
            "\"columns\":[",
            node_import_kind_name(r->kind), r->rows, r->bad, r->warned, r->added, r->known,
            r->committed ? "true" : "false", r->problems_all, r->ndups_all);
    for (i = 0; i < r->ncols; i++) {
        fputs(i ? ",{" : "{", out);
        web_json_kv(out, "header", r->cols[i].header, 1);
        web_json_kv(out, "field", r->cols[i].field_name ? r->cols[i].field_name : "", 0);
        fputc('}', out);
    }
    fputs("],\"preview\":[", out);
    for (i = 0; i < r->npreview; i++) {
        fprintf(out, "%s{\"line\":%lu,\"cells\":[", i ? "," : "", r->preview_line[i]);
        for (j = 0; j < r->ncols && j < NODE_IMPORT_MAX_COLS; j++) {
            if (j)
                fputc(',', out);
            web_json_str(out, r->preview[i][j] ? r->preview[i][j] : "");
        }
        fputs("]}", out);
    }
    fputs("],\"problems\":[", out);
    for (i = 0; i < r->nproblems; i++) {
        fprintf(out, "%s{\"line\":%lu,\"warning\":%s", i ? "," : "", r->problems[i].line,
                r->problems[i].warning ? "true" : "false");
        web_json_kv(out, "reason", r->problems[i].reason, 0);
        fputc('}', out);
    }
    fputs("],\"duplicates\":[", out);
    for (i = 0; i < r->ndups; i++) {
        char hex[2 * NODE_REC_ID_BYTES + 1];
        node_id_format(hex, r->dups[i].id);
        fprintf(out, "%s{\"line\":%lu", i ? "," : "", r->dups[i].line);
        web_json_kv(out, "id", hex, 0);
        web_json_kv(out, "code", r->dups[i].code, 0);
        fputc('}', out);
    }
    fputc(']', out);
}

/* POST /api/import?kind=people&dry_run=1, the CSV as the body. */
int
web_api_import(web_call *c, rz_error *err)
{
    const char *k = web_form_get(c->query, "kind"), *dry = web_form_get(c->query, "dry_run");
    node_import_report r;
    FILE *f;
    int kind = k ? node_import_kind_parse(k) : 0, rc;
    if (!kind)
        return web_fail(c, 400, "choose what the file holds: people, events or attendance");
    if (c->body_len == 0)
        return web_fail(c, 400, "the file is empty");
    if (!(f = fmemopen((void *)c->body, c->body_len, "r")))
        return rz_fail(err, RZ_E_NOMEM, "fmemopen failed");
    memset(&r, 0, sizeof r);
    rc = node_import_csv(c->app->ns, kind, f, dry && strcmp(dry, "1") == 0, NULL, NULL, &r, err);
    fclose(f);
    if (rc && rc != RZ_E_ARG) {
        node_import_report_free(&r);
        return rc;
    }
    if (rc)
        c->status = 422;
    fprintf(c->out, "{\"ok\":%s,", rc ? "false" : "true");
    web_json_kv(c->out, "message", rc ? err->text : "", 1);
    fputc(',', c->out);
    json_report(c->out, &r);
    fputs("}\n", c->out);
    node_import_report_free(&r);
    return 0;
}

int
web_api_export(web_call *c, rz_error *err)
{
    const char *k = web_form_get(c->query, "kind");
    int kind = k ? node_import_kind_parse(k) : 0, rc;
    unsigned long rows = 0;
    static char disp[96];
    if (!kind)
        return web_fail(c, 400, "choose what to export: people, events or attendance");
    if ((rc = node_export_csv(c->app->ns, kind, c->out, 0, &rows, err)) != 0)
        return rc;
    snprintf(disp, sizeof disp, "attachment; filename=\"rozgar-%s.csv\"",
             node_import_kind_name(kind));
    c->ctype = "text/csv; charset=utf-8";
    c->disposition = disp;
    log_info("web: %s exported %lu %s rows", c->s->user, rows, node_import_kind_name(kind));
    return 0;
}
