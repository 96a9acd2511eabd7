/*
 * rozgar-node: the centre's command line.  Parses and validates what staff
 * type (or import from a spreadsheet), calls client/node_store.c to record
 * it and client/node_sync.c to replicate it, and turns outcomes into
 * messages and exit codes:
 *
 *   0 ok, 1 usage or input error, 2 server unreachable / timeout,
 *   3 fork or quarantine (see PROTOCOL.md 7), 4 refused by the server,
 *   5 another sync of this data directory is running (client/node_lock.h).
 *
 * Settings come from DIR/node.conf (client/node_config.h), read before every
 * command; options on the command line override them for that run.
 *
 * Obviously wrong input (unknown names of coded values, a non-numeric year,
 * a malformed date) is refused here with a clear message.  Values that are
 * merely implausible (a CNIC that fails validation, birth year 1800) are
 * recorded with a warning: the server stores and flags them, and one bad
 * value never blocks a centre.  Personal values are printed only by `list`
 * and `show`, which show the centre its own data; never in messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <pwd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "client/node_bundle.h"
#include "client/node_config.h"
#include "client/node_export.h"
#include "client/node_find.h"
#include "client/node_form.h"
#include "client/node_import.h"
#include "client/node_lock.h"
#include "client/node_recover.h"
#include "client/node_store.h"
#include "client/node_sync.h"
#include "client/node_web.h"
#include "client/node_watch.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/util.h"
#include "common/webauth.h"

#ifndef RZ_VERSION
#define RZ_VERSION "dev"
#endif

#define PROG "rozgar-node"

enum { EXIT_USAGE = 1, EXIT_UNREACHABLE = 2, EXIT_FORK = 3, EXIT_REFUSED = 4, EXIT_BUSY = 5 };

static int
usage(void)
{
    fprintf(stderr,
            "usage: " PROG " [-d DIR] COMMAND ...   (DIR defaults to $RZ_NODE_DIR)\n"
            "  init\n"
            "  config [KEY=VALUE ...]      show or change DIR/node.conf (server, server-key,\n"
            "                              sync-interval, sync-timeout, listen)\n"
            "  config --server tcp://HOST:PORT --server-key HEX\n"
            "  person add --name N --gender female|male|other [--birth-year Y] [--cnic C]\n"
            "             [--phone P] [--district D] [--area rural|urban]\n"
            "             [--skill blue-collar|white-collar|professional] [--skills S]\n"
            "             [--platforms S] [--date YYYY-MM-DD]\n"
            "  person edit ID [same options] [--clear-cnic] [--clear-phone]\n"
            "  person delete ID | person undelete ID\n"
            "  person find TEXT [--all] [--page N]   by part of a name, CNIC, phone or code\n"
            "  event add --kind KIND --title T --date YYYY-MM-DD [--duration MIN]\n"
            "            [--partner P] [--mode in-person|online]\n"
            "      KIND: training bootcamp workshop seminar awareness financial-literacy "
            "mentorship\n"
            "  event edit ID [same options] | event delete ID | event undelete ID\n"
            "  event list [TEXT] [--upcoming | --past] [--all] [--page N]\n"
            "  event roster EVENT [TEXT] [--marked] [--page N]   its people, present/absent\n"
            "  attend EVENT PERSON [--absent | --delete | --undelete]\n"
            "      (ID, EVENT, PERSON: a record's short code, as `person find` shows, or its\n"
            "       32-digit id)\n"
            "  list persons|events|attendance [--all]\n"
            "  show ID\n"
            "  import people|events|attendance FILE.csv [--dry-run]\n"
            "  export people|events|attendance FILE.csv [--all]   (file mode 0600)\n"
            "  audit [--limit N] [--before SEQ]   who made each change, newest first\n"
            "  status\n"
            "  sync [--timeout SEC] [--now]   --now: ask a running sync to sync at once\n"
            "  sync --watch [--interval SEC]  keep syncing until SIGTERM (unattended)\n"
            "  rebase [--timeout SEC]\n"
            "  recover --from OLD [--timeout SEC]   a replaced PC takes over the old PC's records\n"
            "  rekey                       new key pair; prints the token for rozgar-server rekey\n"
            "  bundle export FILE | bundle receipts FILE   sync by USB stick (no network)\n"
            "  serve [--listen HOST:PORT] [--name HOSTNAME] [--cert FILE --key FILE] [--tls]\n"
            "        [--no-sync]           the centre app for staff's browsers (127.0.0.1:8080;\n"
            "                              any other address is HTTPS only), syncing as\n"
            "                              sync --watch does unless --no-sync\n"
            "  staff add NAME [--role admin|staff] | staff passwd NAME [--disable|--enable] |\n"
            "  staff list                  staff accounts of the app\n"
            "`" PROG " COMMAND --help` explains one command; `" PROG " --version` prints the "
            "version.\n");
    return EXIT_USAGE;
}

static int fail_msg(int code, const char *fmt, ...) RZ_PRINTF(2, 3);

/* Prints "rozgar-node: message" and returns the exit code. */
static int
fail_msg(int code, const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

/* Exit code of a failed operation; server_code is set when the server
 * refused with an ERROR. */
static int
exit_for(int rc, int server_code)
{
    switch (rc) {
    case 0: return 0;
    case RZ_E_TIMEOUT: return EXIT_UNREACHABLE;
    case RZ_E_BUSY: return server_code ? EXIT_REFUSED : EXIT_BUSY;
    case RZ_E_FORK:
    case RZ_E_EPOCH:
    case RZ_E_QUARANTINE: return EXIT_FORK;
    case RZ_E_AUTH:
    case RZ_E_SIGNATURE:
    case RZ_E_DECODE:
    case RZ_E_MSGTYPE:
    case RZ_E_VERSION:
    case RZ_E_TOOBIG: return EXIT_REFUSED;
    default: return server_code ? EXIT_REFUSED : EXIT_USAGE;
    }
}

static int
fail_err(const rz_error *err, int rc, int server_code)
{
    return fail_msg(exit_for(rc, server_code), "%s", err->text[0] ? err->text : rz_err_name(rc));
}

/* ---- option parsing ---- */

typedef struct cli_opt {
    const char *name;   /* "--name" */
    int has_arg;        /* 1: takes a value */
    const char **value; /* receives the value, or "1" for a flag */
} cli_opt;

/* Splits argv into options of the table and positional arguments. */
static int
cli_parse(int argc, char **argv, const cli_opt *opts, const char **pos, int maxpos, int *npos,
          const char *cmd)
{
    int i;
    *npos = 0;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        const cli_opt *o;
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (*npos >= maxpos)
                return fail_msg(EXIT_USAGE, "%s: unexpected argument '%s'", cmd, a);
            pos[(*npos)++] = a;
            continue;
        }
        for (o = opts; o && o->name; o++)
            if (strcmp(o->name, a) == 0)
                break;
        if (!o || !o->name)
            return fail_msg(EXIT_USAGE, "%s: unknown option %s (see `" PROG " --help`)", cmd, a);
        if (!o->has_arg) {
            *o->value = "1";
        } else if (i + 1 >= argc) {
            return fail_msg(EXIT_USAGE, "%s: option %s needs a value", cmd, a);
        } else {
            *o->value = argv[++i];
        }
    }
    return 0;
}

/* A record named on the command line by its short code or full id. */
static int
parse_id(node_store *ns, uint8_t id[NODE_REC_ID_BYTES], const char *s, uint8_t want,
         const char *what)
{
    rz_error err = {0, ""};
    int rc = node_store_resolve(ns, s, want, id, NULL, &err);
    if (rc != 0)
        return fail_msg(EXIT_USAGE, "%s: %s", what, err.text);
    return 0;
}

/* Digits only, at most maxdigits; 0 when s is a number. */
static int
parse_number(const char *s, int maxdigits, uint64_t *v)
{
    int n = 0;
    *v = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++, n++) {
        if (*s < '0' || *s > '9' || n >= maxdigits)
            return -1;
        *v = *v * 10 + (uint64_t)(*s - '0');
    }
    return 0;
}

/* ---- field values from text: client/node_form.c, shared with the web app ---- */

/* Prints a form's warnings (values recorded but counted invalid) with
 * where (a file line, or ""); messages never hold a personal value. */
static void
print_form_warnings(const node_form *fm, int is_event, const char *where)
{
    int f;
    for (f = 1; f < NODE_FORM_FIELDS; f++)
        if (fm->level[f] == NODE_FORM_WARN)
            log_warnx("%s%s: %s", where,
                      is_event ? node_form_event_label(f) : node_form_person_label(f), fm->msg[f]);
}

/* Prints every error of a form; returns EXIT_USAGE. */
static int
print_form_errors(const node_form *fm, int is_event, const char *cmd)
{
    int f;
    for (f = 0; f < NODE_FORM_FIELDS; f++)
        if (fm->level[f] == NODE_FORM_ERROR)
            fprintf(stderr, PROG ": %s: %s: %s\n", cmd,
                    is_event ? node_form_event_label(f) : node_form_person_label(f), fm->msg[f]);
    return EXIT_USAGE;
}

/* ---- store helpers ---- */

static int
open_store(const char *dir, node_store **ns)
{
    rz_error err = {0, ""};
    int rc = node_store_open(dir, ns, &err);
    return rc ? fail_err(&err, rc, 0) : 0;
}

/* ---- init / config ---- */

static int
cmd_init(const char *dir, int argc, char **argv)
{
    rz_error err = {0, ""};
    node_store *ns = NULL;
    char idhex[2 * RZ_NODE_ID_BYTES + 1], pkhex[2 * RZ_PK_BYTES + 1];
    int rc, npos;
    if ((rc = cli_parse(argc, argv, NULL, NULL, 0, &npos, "init")) != 0)
        return rc;
    if ((rc = node_store_create(dir, &ns, &err)) != 0)
        return fail_err(&err, rc, 0);
    hex_encode(idhex, node_store_node_id(ns), RZ_NODE_ID_BYTES);
    hex_encode(pkhex, node_store_identity(ns)->pk, RZ_PK_BYTES);
    printf("node-id: %s\n", idhex);
    printf("enroll-token: rz1:%s:%s\n", idhex, pkhex);
    node_store_destroy(&ns);
    return 0;
}

/* Data directory and settings of this invocation (set by main). */
static const char *cli_dir;
static node_config cli_conf;

/* `config` alone prints the settings; `config KEY=VALUE ...` and the older
 * `config --server X --server-key Y` change DIR/node.conf and node.db. */
static int
cmd_config(node_store *ns, int argc, char **argv)
{
    const char *server = NULL, *key = NULL, *pos[16];
    const cli_opt opts[] = {{"--server", 1, &server}, {"--server-key", 1, &key}, {0, 0, 0}};
    node_config c = cli_conf;
    node_store_status st;
    rz_error err = {0, ""};
    int rc, npos, i;
    if ((rc = cli_parse(argc, argv, opts, pos, 16, &npos, "config")) != 0)
        return rc;
    if ((server != NULL) != (key != NULL))
        return fail_msg(EXIT_USAGE, "config needs --server tcp://HOST:PORT and --server-key HEX "
                                    "together");
    if (server && node_config_set(&c, "server", server, &err) != 0)
        return fail_msg(EXIT_USAGE, "config: %s", err.text);
    if (key && node_config_set(&c, "server-key", key, &err) != 0)
        return fail_msg(EXIT_USAGE, "config: --%s", err.text);
    for (i = 0; i < npos; i++) {
        char k[32];
        const char *eq = strchr(pos[i], '=');
        if (!eq || eq == pos[i] || (size_t)(eq - pos[i]) >= sizeof k)
            return fail_msg(EXIT_USAGE, "config: expected KEY=VALUE, got '%s'", pos[i]);
        snprintf(k, sizeof k, "%.*s", (int)(eq - pos[i]), pos[i]);
        if (node_config_set(&c, k, eq + 1, &err) != 0)
            return fail_msg(EXIT_USAGE, "config: %s", err.text);
    }
    if (server || npos) {
        /* A server given without its key (or the reverse) only in node.db:
         * take the other half from there so the file is complete. */
        if ((rc = node_store_get_status(ns, &st, &err)) != 0)
            return fail_err(&err, rc, 0);
        if ((c.set & NODE_CONF_SERVER) && !(c.set & NODE_CONF_SERVER_KEY) && st.has_server_pk) {
            hex_encode(c.server_key, st.server_pk, RZ_PK_BYTES);
            c.set |= NODE_CONF_SERVER_KEY;
        }
        if ((c.set & NODE_CONF_SERVER_KEY) && !(c.set & NODE_CONF_SERVER) && st.endpoint[0]) {
            snprintf(c.server, sizeof c.server, "%s", st.endpoint);
            c.set |= NODE_CONF_SERVER;
        }
        if ((rc = node_config_apply(&c, ns, &err)) != 0 ||
            (rc = node_config_save(cli_dir, &c, &err)) != 0)
            return fail_err(&err, rc, 0);
        cli_conf = c;
    }
    if ((rc = node_store_get_status(ns, &st, &err)) != 0)
        return fail_err(&err, rc, 0);
    node_config_print(&c, &st, stdout);
    return 0;
}

/* ---- printing fields ---- */

static const char *
opt_text(uint32_t set, int field, const char *s)
{
    return (set & NODE_SET(field)) && s ? s : "";
}

static void
print_date(uint32_t set, int field, uint64_t v)
{
    char d[11] = "";
    if (set & NODE_SET(field))
        date_format(d, (uint32_t)(v > 99999999 ? 0 : v));
    fputs(d, stdout);
}

static void
print_uint(uint32_t set, int field, uint64_t v)
{
    if (set & NODE_SET(field))
        printf("%llu", (unsigned long long)v);
}

static const char *
coded(uint32_t set, int field, const char *name)
{
    return (set & NODE_SET(field)) ? name : "";
}

/* ---- person / event ---- */

/* Option name -> field, for persons and events. */
typedef struct field_opt {
    const char *name; /* "--name" */
    int field;        /* RZ_PF_* / RZ_EF_* */
} field_opt;

static const field_opt person_opts[] = {{"--name", RZ_PF_NAME},
                                        {"--gender", RZ_PF_GENDER},
                                        {"--birth-year", RZ_PF_BIRTH_YEAR},
                                        {"--cnic", RZ_PF_CNIC},
                                        {"--phone", RZ_PF_PHONE},
                                        {"--district", RZ_PF_DISTRICT},
                                        {"--area", RZ_PF_AREA},
                                        {"--skill", RZ_PF_SKILL},
                                        {"--skills", RZ_PF_SKILLS},
                                        {"--platforms", RZ_PF_PLATFORMS},
                                        {"--date", RZ_PF_REG_DATE},
                                        {NULL, 0}};

static const field_opt event_opts[] = {{"--kind", RZ_EF_KIND},
                                       {"--title", RZ_EF_TITLE},
                                       {"--date", RZ_EF_DATE},
                                       {"--duration", RZ_EF_DURATION},
                                       {"--partner", RZ_EF_PARTNER},
                                       {"--mode", RZ_EF_MODE},
                                       {NULL, 0}};

#define MAX_FIELD_OPTS 16

/* Parses record options into vals[field] (+ extra flags), positional args
 * into pos. */
static int
parse_record_opts(int argc, char **argv, const field_opt *fo, const char **vals,
                  const cli_opt *extra, const char **pos, int maxpos, int *npos, const char *cmd)
{
    cli_opt opts[MAX_FIELD_OPTS + 4];
    int n = 0, i;
    for (i = 0; fo[i].name; i++, n++) {
        opts[n].name = fo[i].name;
        opts[n].has_arg = 1;
        opts[n].value = &vals[fo[i].field];
    }
    for (i = 0; extra && extra[i].name; i++)
        opts[n++] = extra[i];
    opts[n].name = NULL;
    return cli_parse(argc, argv, opts, pos, maxpos, npos, cmd);
}

static int
build_person(node_form *fm, const char **vals, node_person *p, int is_new, const char *cmd)
{
    if (node_form_person(fm, p, vals, is_new) != 0)
        return print_form_errors(fm, 0, cmd);
    print_form_warnings(fm, 0, "");
    return 0;
}

/* Names a likely duplicate by its short code only (no personal value). */
static int
warn_duplicate(void *ctx, const node_person_row *r, unsigned why)
{
    (void)ctx;
    log_warnx("this person may already be registered as %s%s (same%s%s%s)", r->code,
              r->deleted ? ", deleted" : "", why & NODE_DUP_CNIC ? " CNIC" : "",
              why & NODE_DUP_PHONE ? " phone" : "",
              why & NODE_DUP_NAME_YEAR ? " name and birth year" : "");
    return 0;
}

static int
person_add(node_store *ns, int argc, char **argv)
{
    const char *vals[NODE_FORM_FIELDS] = {0}, *pos[1];
    uint8_t id[NODE_REC_ID_BYTES];
    char hex[2 * NODE_REC_ID_BYTES + 1], code[NODE_CODE_MAX];
    rz_error err = {0, ""};
    node_form fm;
    node_person p;
    size_t ndup = 0;
    int rc, npos;
    if ((rc = parse_record_opts(argc, argv, person_opts, vals, NULL, pos, 0, &npos,
                                "person add")) != 0)
        return rc;
    if (!vals[RZ_PF_NAME] || !vals[RZ_PF_GENDER])
        return fail_msg(EXIT_USAGE, "person add needs --name and --gender");
    if ((rc = build_person(&fm, vals, &p, 1, "person add")) != 0)
        return rc;
    /* Scripts add on purpose: a likely duplicate is a warning here, where
     * the web app asks before saving. */
    if ((rc = node_find_duplicates(ns, &p, NULL, warn_duplicate, NULL, &ndup, &err)) != 0)
        return fail_err(&err, rc, 0);
    if ((rc = node_store_person_add(ns, &p, id, &err)) != 0)
        return fail_err(&err, rc, 0);
    node_id_format(hex, id);
    if (node_store_code(ns, id, code, NULL) != 0)
        code[0] = '\0';
    printf("%s\n", hex);
    if (code[0])
        fprintf(stderr, PROG ": short code %s\n", code);
    return 0;
}

static int
person_edit(node_store *ns, int argc, char **argv)
{
    const char *vals[NODE_FORM_FIELDS] = {0}, *pos[1], *clear_cnic = NULL, *clear_phone = NULL;
    const cli_opt extra[] = {
        {"--clear-cnic", 0, &clear_cnic}, {"--clear-phone", 0, &clear_phone}, {NULL, 0, NULL}};
    uint8_t id[NODE_REC_ID_BYTES];
    rz_error err = {0, ""};
    node_form fm;
    node_person p;
    int rc, npos;
    if ((rc = parse_record_opts(argc, argv, person_opts, vals, extra, pos, 1, &npos,
                                "person edit")) != 0)
        return rc;
    if (npos != 1)
        return fail_msg(EXIT_USAGE, "person edit needs the person's ID");
    if ((rc = parse_id(ns, id, pos[0], RZ_T_PERSON, "person edit")) != 0)
        return rc;
    if ((clear_cnic && vals[RZ_PF_CNIC]) || (clear_phone && vals[RZ_PF_PHONE]))
        return fail_msg(EXIT_USAGE, "person edit: a value cannot be given and cleared at once");
    if ((rc = build_person(&fm, vals, &p, 0, "person edit")) != 0)
        return rc;
    if (clear_cnic)
        p.set |= NODE_SET(RZ_PF_CNIC), p.cnic = NULL;
    if (clear_phone)
        p.set |= NODE_SET(RZ_PF_PHONE), p.phone = NULL;
    if (p.set == 0)
        return fail_msg(EXIT_USAGE, "person edit: nothing to change (give options to set)");
    if ((rc = node_store_person_edit(ns, id, &p, &err)) != 0)
        return fail_err(&err, rc, 0);
    return 0;
}

static int
build_event(node_form *fm, const char **vals, node_event *e, int is_new, const char *cmd)
{
    if (node_form_event(fm, e, vals, is_new) != 0)
        return print_form_errors(fm, 1, cmd);
    return 0;
}

static int
event_add(node_store *ns, int argc, char **argv)
{
    const char *vals[NODE_FORM_FIELDS] = {0}, *pos[1];
    uint8_t id[NODE_REC_ID_BYTES];
    char hex[2 * NODE_REC_ID_BYTES + 1], code[NODE_CODE_MAX];
    rz_error err = {0, ""};
    node_form fm;
    node_event e;
    int rc, npos;
    if ((rc = parse_record_opts(argc, argv, event_opts, vals, NULL, pos, 0, &npos, "event add")) !=
        0)
        return rc;
    if (!vals[RZ_EF_KIND] || !vals[RZ_EF_TITLE] || !vals[RZ_EF_DATE])
        return fail_msg(EXIT_USAGE, "event add needs --kind, --title and --date");
    if ((rc = build_event(&fm, vals, &e, 1, "event add")) != 0)
        return rc;
    if ((rc = node_store_event_add(ns, &e, id, &err)) != 0)
        return fail_err(&err, rc, 0);
    node_id_format(hex, id);
    printf("%s\n", hex);
    if (node_store_code(ns, id, code, NULL) == 0)
        fprintf(stderr, PROG ": short code %s\n", code);
    return 0;
}

static int
event_edit(node_store *ns, int argc, char **argv)
{
    const char *vals[NODE_FORM_FIELDS] = {0}, *pos[1];
    uint8_t id[NODE_REC_ID_BYTES];
    rz_error err = {0, ""};
    node_form fm;
    node_event e;
    int rc, npos;
    if ((rc = parse_record_opts(argc, argv, event_opts, vals, NULL, pos, 1, &npos, "event edit")) !=
        0)
        return rc;
    if (npos != 1)
        return fail_msg(EXIT_USAGE, "event edit needs the event's ID");
    if ((rc = parse_id(ns, id, pos[0], RZ_T_EVENT, "event edit")) != 0 ||
        (rc = build_event(&fm, vals, &e, 0, "event edit")) != 0)
        return rc;
    if (e.set == 0)
        return fail_msg(EXIT_USAGE, "event edit: nothing to change (give options to set)");
    if ((rc = node_store_event_edit(ns, id, &e, &err)) != 0)
        return fail_err(&err, rc, 0);
    return 0;
}

/* delete / undelete of a person or event. */
static int
record_delete(node_store *ns, uint8_t table, int deleted, int argc, char **argv, const char *cmd)
{
    const char *pos[1];
    uint8_t id[NODE_REC_ID_BYTES];
    rz_error err = {0, ""};
    int rc, npos;
    if ((rc = cli_parse(argc, argv, NULL, pos, 1, &npos, cmd)) != 0)
        return rc;
    if (npos != 1)
        return fail_msg(EXIT_USAGE, "%s needs an ID", cmd);
    if ((rc = parse_id(ns, id, pos[0], table, cmd)) != 0)
        return rc;
    if ((rc = node_store_set_deleted(ns, table, id, sizeof id, deleted, &err)) != 0)
        return fail_err(&err, rc, 0);
    return 0;
}

/* Page size and page number of a listing: --page N (from 1). */
#define CLI_PAGE 50

static int
parse_page(const char *page, uint64_t *pg)
{
    *pg = 1;
    if (page && (parse_number(page, 6, pg) != 0 || *pg == 0))
        return fail_msg(EXIT_USAGE, "--page wants a number from 1");
    return 0;
}

static void
print_total(size_t total, uint64_t pg)
{
    if (total > (size_t)pg * CLI_PAGE)
        fprintf(stderr, PROG ": %zu found; page %llu of %zu (--page N for more)\n", total,
                (unsigned long long)pg, (total + CLI_PAGE - 1) / CLI_PAGE);
    else
        fprintf(stderr, PROG ": %zu found\n", total);
}

/* person find: code, name, birth year, CNIC, phone, district, status. */
static int
print_found(void *ctx, const node_person_row *r)
{
    const node_person *p = &r->f;
    (void)ctx;
    printf("%s\t%s\t", r->code, opt_text(p->set, RZ_PF_NAME, p->name));
    print_uint(p->set, RZ_PF_BIRTH_YEAR, p->birth_year);
    printf("\t%s\t%s\t%s\t%s\n", opt_text(p->set, RZ_PF_CNIC, p->cnic),
           opt_text(p->set, RZ_PF_PHONE, p->phone), opt_text(p->set, RZ_PF_DISTRICT, p->district),
           r->deleted ? "deleted" : "live");
    return 0;
}

static int
person_find(node_store *ns, int argc, char **argv)
{
    const char *pos[1], *all = NULL, *page = NULL;
    const cli_opt opts[] = {{"--all", 0, &all}, {"--page", 1, &page}, {NULL, 0, NULL}};
    rz_error err = {0, ""};
    uint64_t pg = 1;
    size_t total = 0, per = CLI_PAGE;
    int rc, npos;
    if ((rc = cli_parse(argc, argv, opts, pos, 1, &npos, "person find")) != 0 ||
        (rc = parse_page(page, &pg)) != 0)
        return rc;
    if (npos != 1)
        return fail_msg(EXIT_USAGE, "person find needs TEXT: part of a name, a CNIC, a phone "
                                    "number or a short code");
    if ((rc = node_find_persons(ns, pos[0], all != NULL, (size_t)(pg - 1) * per, per, print_found,
                                NULL, &total, &err)) != 0)
        return fail_err(&err, rc, 0);
    print_total(total, pg);
    return 0;
}

static int
cmd_person(node_store *ns, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    if (strcmp(sub, "find") == 0)
        return person_find(ns, argc - 1, argv + 1);
    if (strcmp(sub, "add") == 0)
        return person_add(ns, argc - 1, argv + 1);
    if (strcmp(sub, "edit") == 0)
        return person_edit(ns, argc - 1, argv + 1);
    if (strcmp(sub, "delete") == 0)
        return record_delete(ns, RZ_T_PERSON, 1, argc - 1, argv + 1, "person delete");
    if (strcmp(sub, "undelete") == 0)
        return record_delete(ns, RZ_T_PERSON, 0, argc - 1, argv + 1, "person undelete");
    return fail_msg(EXIT_USAGE, "person: expected add, edit, find, delete or undelete");
}

/* event list: code, date, kind, title, status. */
static int
print_event_found(void *ctx, const node_event_row *r)
{
    const node_event *e = &r->f;
    (void)ctx;
    printf("%s\t", r->code);
    print_date(e->set, RZ_EF_DATE, e->date);
    printf("\t%s\t%s\t%s\n", coded(e->set, RZ_EF_KIND, event_kind_name(e->kind)),
           opt_text(e->set, RZ_EF_TITLE, e->title), r->deleted ? "deleted" : "live");
    return 0;
}

static int
event_list(node_store *ns, int argc, char **argv)
{
    const char *pos[1] = {NULL}, *up = NULL, *past = NULL, *all = NULL, *page = NULL;
    const cli_opt opts[] = {{"--upcoming", 0, &up},
                            {"--past", 0, &past},
                            {"--all", 0, &all},
                            {"--page", 1, &page},
                            {NULL, 0, NULL}};
    rz_error err = {0, ""};
    size_t total = 0;
    uint64_t pg;
    int rc, npos;
    if ((rc = cli_parse(argc, argv, opts, pos, 1, &npos, "event list")) != 0 ||
        (rc = parse_page(page, &pg)) != 0)
        return rc;
    if (up && past)
        return fail_msg(EXIT_USAGE, "event list: --upcoming or --past, not both");
    if ((rc = node_find_events(ns, pos[0],
                               up     ? NODE_WHEN_UPCOMING
                               : past ? NODE_WHEN_PAST
                                      : 0,
                               0, all != NULL, (size_t)(pg - 1) * CLI_PAGE, CLI_PAGE,
                               print_event_found, NULL, &total, &err)) != 0)
        return fail_err(&err, rc, 0);
    print_total(total, pg);
    return 0;
}

/* event roster: code, name, present|absent|-. */
static int
print_roster(void *ctx, const node_person_row *r, int state)
{
    (void)ctx;
    printf("%s\t%s\t%s\n", r->code, opt_text(r->f.set, RZ_PF_NAME, r->f.name),
           state == NODE_ATT_PRESENT  ? "present"
           : state == NODE_ATT_ABSENT ? "absent"
                                      : "-");
    return 0;
}

static int
event_roster(node_store *ns, int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL}, *marked = NULL, *page = NULL;
    const cli_opt opts[] = {{"--marked", 0, &marked}, {"--page", 1, &page}, {NULL, 0, NULL}};
    uint8_t id[NODE_REC_ID_BYTES];
    node_roster_counts k;
    rz_error err = {0, ""};
    uint64_t pg;
    int rc, npos;
    if ((rc = cli_parse(argc, argv, opts, pos, 2, &npos, "event roster")) != 0 ||
        (rc = parse_page(page, &pg)) != 0)
        return rc;
    if (npos < 1)
        return fail_msg(EXIT_USAGE, "event roster needs the EVENT (code or id)");
    if ((rc = parse_id(ns, id, pos[0], RZ_T_EVENT, "event roster")) != 0)
        return rc;
    if ((rc = node_find_roster(ns, id, pos[1], marked != NULL, (size_t)(pg - 1) * CLI_PAGE,
                               CLI_PAGE, print_roster, NULL, &k, &err)) != 0)
        return fail_err(&err, rc, 0);
    fprintf(stderr, PROG ": %zu present, %zu absent, %zu people here; %zu listed\n", k.present,
            k.absent, k.people, k.matching);
    return 0;
}

static int
cmd_event(node_store *ns, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    if (strcmp(sub, "list") == 0)
        return event_list(ns, argc - 1, argv + 1);
    if (strcmp(sub, "roster") == 0)
        return event_roster(ns, argc - 1, argv + 1);
    if (strcmp(sub, "add") == 0)
        return event_add(ns, argc - 1, argv + 1);
    if (strcmp(sub, "edit") == 0)
        return event_edit(ns, argc - 1, argv + 1);
    if (strcmp(sub, "delete") == 0)
        return record_delete(ns, RZ_T_EVENT, 1, argc - 1, argv + 1, "event delete");
    if (strcmp(sub, "undelete") == 0)
        return record_delete(ns, RZ_T_EVENT, 0, argc - 1, argv + 1, "event undelete");
    return fail_msg(EXIT_USAGE, "event: expected add, edit, list, roster, delete or undelete");
}

static int
cmd_attend(node_store *ns, int argc, char **argv)
{
    const char *pos[2], *absent = NULL, *del = NULL, *undel = NULL;
    const cli_opt opts[] = {{"--absent", 0, &absent},
                            {"--delete", 0, &del},
                            {"--undelete", 0, &undel},
                            {NULL, 0, NULL}};
    uint8_t key[2 * NODE_REC_ID_BYTES];
    rz_error err = {0, ""};
    int rc, npos;
    if ((rc = cli_parse(argc, argv, opts, pos, 2, &npos, "attend")) != 0)
        return rc;
    if (npos != 2)
        return fail_msg(EXIT_USAGE, "attend needs EVENT_ID PERSON_ID");
    if (!!absent + !!del + !!undel > 1)
        return fail_msg(EXIT_USAGE, "attend: give at most one of --absent, --delete, --undelete");
    if ((rc = parse_id(ns, key, pos[0], RZ_T_EVENT, "attend: EVENT")) != 0 ||
        (rc = parse_id(ns, key + NODE_REC_ID_BYTES, pos[1], RZ_T_PERSON, "attend: PERSON")) != 0)
        return rc;
    if (del || undel)
        rc = node_store_set_deleted(ns, RZ_T_ATTENDANCE, key, sizeof key, del ? 1 : 0, &err);
    else
        rc = node_store_attend(ns, key, key + NODE_REC_ID_BYTES, absent ? 0 : 1, &err);
    return rc ? fail_err(&err, rc, 0) : 0;
}

/* ---- list / show ---- */

/* persons: id name gender birth_year cnic phone district area skill
 * reg_date skills platforms status */
static int
list_person(void *ctx, const node_person_row *r)
{
    const node_person *p = &r->f;
    char hex[2 * NODE_REC_ID_BYTES + 1];
    (void)ctx;
    node_id_format(hex, r->id);
    printf("%s\t%s\t%s\t", hex, opt_text(p->set, RZ_PF_NAME, p->name),
           coded(p->set, RZ_PF_GENDER, gender_name(p->gender)));
    print_uint(p->set, RZ_PF_BIRTH_YEAR, p->birth_year);
    printf("\t%s\t%s\t%s\t%s\t%s\t", opt_text(p->set, RZ_PF_CNIC, p->cnic),
           opt_text(p->set, RZ_PF_PHONE, p->phone), opt_text(p->set, RZ_PF_DISTRICT, p->district),
           coded(p->set, RZ_PF_AREA, area_name(p->area)),
           coded(p->set, RZ_PF_SKILL, skill_name(p->skill)));
    print_date(p->set, RZ_PF_REG_DATE, p->reg_date);
    printf("\t%s\t%s\t%s\n", opt_text(p->set, RZ_PF_SKILLS, p->skills),
           opt_text(p->set, RZ_PF_PLATFORMS, p->platforms), r->deleted ? "deleted" : "live");
    return 0;
}

/* events: id kind title date duration partner mode status */
static int
list_event(void *ctx, const node_event_row *r)
{
    const node_event *e = &r->f;
    char hex[2 * NODE_REC_ID_BYTES + 1];
    (void)ctx;
    node_id_format(hex, r->id);
    printf("%s\t%s\t%s\t", hex, coded(e->set, RZ_EF_KIND, event_kind_name(e->kind)),
           opt_text(e->set, RZ_EF_TITLE, e->title));
    print_date(e->set, RZ_EF_DATE, e->date);
    putchar('\t');
    print_uint(e->set, RZ_EF_DURATION, e->duration);
    printf("\t%s\t%s\t%s\n", opt_text(e->set, RZ_EF_PARTNER, e->partner),
           coded(e->set, RZ_EF_MODE, mode_name(e->mode)), r->deleted ? "deleted" : "live");
    return 0;
}

/* attendance: event_id person_id present|absent status */
static int
list_attendance(void *ctx, const node_attendance_row *r)
{
    char ev[2 * NODE_REC_ID_BYTES + 1], pe[2 * NODE_REC_ID_BYTES + 1];
    (void)ctx;
    node_id_format(ev, r->event_id);
    node_id_format(pe, r->person_id);
    printf("%s\t%s\t%s\t%s\n", ev, pe, r->present ? "present" : "absent",
           r->deleted ? "deleted" : "live");
    return 0;
}

static int
cmd_list(node_store *ns, int argc, char **argv)
{
    const char *pos[1], *all = NULL;
    const cli_opt opts[] = {{"--all", 0, &all}, {NULL, 0, NULL}};
    rz_error err = {0, ""};
    int rc, npos;
    if ((rc = cli_parse(argc, argv, opts, pos, 1, &npos, "list")) != 0)
        return rc;
    if (npos != 1)
        return fail_msg(EXIT_USAGE, "list: expected persons, events or attendance");
    if (strcmp(pos[0], "persons") == 0)
        rc = node_store_person_each(ns, all != NULL, list_person, NULL, &err);
    else if (strcmp(pos[0], "events") == 0)
        rc = node_store_event_each(ns, all != NULL, list_event, NULL, &err);
    else if (strcmp(pos[0], "attendance") == 0)
        rc = node_store_attendance_each(ns, all != NULL, list_attendance, NULL, &err);
    else
        return fail_msg(EXIT_USAGE, "list: expected persons, events or attendance");
    return rc ? fail_err(&err, rc, 0) : 0;
}

static void
show_line(const char *key, const char *val)
{
    if (val && *val)
        printf("%s: %s\n", key, val);
}

static void
show_common(const uint8_t *id, uint64_t changed_hlc, int deleted)
{
    char when[40];
    format_utc(when, sizeof when, hlc_physical_ms(be64_get(id)));
    printf("created: %s\n", when);
    format_utc(when, sizeof when, hlc_physical_ms(changed_hlc));
    printf("changed: %s\n", when);
    printf("status: %s\n", deleted ? "deleted" : "live");
}

static int
show_person(void *ctx, const node_person_row *r)
{
    const node_person *p = &r->f;
    char hex[2 * NODE_REC_ID_BYTES + 1], d[11];
    (void)ctx;
    node_id_format(hex, r->id);
    printf("person: %s\n", hex);
    show_line("code", r->code);
    show_line("name", opt_text(p->set, RZ_PF_NAME, p->name));
    show_line("gender", coded(p->set, RZ_PF_GENDER, gender_name(p->gender)));
    if (p->set & NODE_SET(RZ_PF_BIRTH_YEAR))
        printf("birth year: %llu\n", (unsigned long long)p->birth_year);
    show_line("cnic", opt_text(p->set, RZ_PF_CNIC, p->cnic));
    show_line("phone", opt_text(p->set, RZ_PF_PHONE, p->phone));
    show_line("district", opt_text(p->set, RZ_PF_DISTRICT, p->district));
    show_line("area", coded(p->set, RZ_PF_AREA, area_name(p->area)));
    show_line("skill", coded(p->set, RZ_PF_SKILL, skill_name(p->skill)));
    show_line("skills", opt_text(p->set, RZ_PF_SKILLS, p->skills));
    show_line("platforms", opt_text(p->set, RZ_PF_PLATFORMS, p->platforms));
    if (p->set & NODE_SET(RZ_PF_REG_DATE)) {
        date_format(d, (uint32_t)p->reg_date);
        printf("registered: %s\n", d);
    }
    show_common(r->id, r->changed_hlc, r->deleted);
    return 0;
}

static int
show_event(void *ctx, const node_event_row *r)
{
    const node_event *e = &r->f;
    char hex[2 * NODE_REC_ID_BYTES + 1], d[11];
    (void)ctx;
    node_id_format(hex, r->id);
    printf("event: %s\n", hex);
    show_line("code", r->code);
    show_line("kind", coded(e->set, RZ_EF_KIND, event_kind_name(e->kind)));
    show_line("title", opt_text(e->set, RZ_EF_TITLE, e->title));
    if (e->set & NODE_SET(RZ_EF_DATE)) {
        date_format(d, (uint32_t)e->date);
        printf("date: %s\n", d);
    }
    if (e->set & NODE_SET(RZ_EF_DURATION))
        printf("duration: %llu min\n", (unsigned long long)e->duration);
    show_line("partner", opt_text(e->set, RZ_EF_PARTNER, e->partner));
    show_line("mode", coded(e->set, RZ_EF_MODE, mode_name(e->mode)));
    show_common(r->id, r->changed_hlc, r->deleted);
    return 0;
}

/* Attendance of one person or event, for show. */
typedef struct att_count {
    const uint8_t *id; /* the person or event */
    int of_person;     /* 1: id is a person */
    unsigned present;  /* live, present */
    unsigned absent;   /* live, absent */
} att_count;

static int
count_attendance(void *ctx, const node_attendance_row *r)
{
    att_count *c = ctx;
    const uint8_t *who = c->of_person ? r->person_id : r->event_id;
    if (!r->deleted && memcmp(who, c->id, NODE_REC_ID_BYTES) == 0) {
        if (r->present)
            c->present++;
        else
            c->absent++;
    }
    return 0;
}

static int
cmd_show(node_store *ns, int argc, char **argv)
{
    const char *pos[1];
    uint8_t id[NODE_REC_ID_BYTES];
    rz_error err = {0, ""};
    att_count c = {id, 1, 0, 0};
    int rc, npos;
    if ((rc = cli_parse(argc, argv, NULL, pos, 1, &npos, "show")) != 0)
        return rc;
    if (npos != 1)
        return fail_msg(EXIT_USAGE, "show needs an ID");
    if ((rc = parse_id(ns, id, pos[0], 0, "show")) != 0)
        return rc;
    rc = node_store_person_get(ns, id, show_person, NULL, &err);
    if (rc == RZ_E_NOTFOUND) {
        c.of_person = 0;
        rc = node_store_event_get(ns, id, show_event, NULL, &err);
    }
    if (rc == RZ_E_NOTFOUND)
        return fail_msg(EXIT_USAGE, "no person or event with id %s", pos[0]);
    if (rc == 0)
        rc = node_store_attendance_each(ns, 0, count_attendance, &c, &err);
    if (rc)
        return fail_err(&err, rc, 0);
    printf("attendance: %u present, %u absent\n", c.present, c.absent);
    return 0;
}

/* ---- import / export / audit: client/node_import.c, node_export.c ---- */

static void
import_progress(void *ctx, unsigned long done, unsigned long total)
{
    rz_progress *p = ctx;
    progress_set_total(p, total);
    progress_update(p, done);
}

/* What an import found, for staff: the columns, every problem with its
 * line, possible duplicates by code (never a personal value). */
static void
import_print(const char *path, const node_import_report *r, int dry_run)
{
    size_t i;
    for (i = 0; i < r->ncols; i++)
        if (r->cols[i].field)
            fprintf(stderr, PROG ": %s: column \"%s\" -> %s\n", path, r->cols[i].header,
                    r->cols[i].field_name);
        else
            fprintf(stderr, PROG ": %s: column \"%s\" is not imported\n", path, r->cols[i].header);
    for (i = 0; i < r->nproblems; i++)
        fprintf(stderr, "%s:%lu: %s%s\n", path, r->problems[i].line,
                r->problems[i].warning ? "warning: " : "", r->problems[i].reason);
    if (r->problems_all > r->nproblems)
        fprintf(stderr, "%s: ... and %lu more\n", path, r->problems_all - r->nproblems);
    for (i = 0; i < r->ndups; i++)
        fprintf(stderr, "%s:%lu: possible duplicate of %s (same%s%s); %s as a new person\n", path,
                r->dups[i].line, r->dups[i].code, r->dups[i].why & NODE_DUP_PHONE ? " phone" : "",
                r->dups[i].why & NODE_DUP_NAME_YEAR ? " name and birth year" : "",
                dry_run ? "would be recorded" : "recorded");
    if (r->ndups_all > r->ndups)
        fprintf(stderr, "%s: ... and %lu more possible duplicates\n", path,
                r->ndups_all - r->ndups);
}

static int
cmd_import(node_store *ns, int argc, char **argv)
{
    const char *pos[2], *dry = NULL;
    const cli_opt opts[] = {{"--dry-run", 0, &dry}, {NULL, 0, NULL}};
    node_import_report r;
    rz_progress prog;
    rz_error err = {0, ""};
    FILE *f;
    int rc, npos, kind;
    if ((rc = cli_parse(argc, argv, opts, pos, 2, &npos, "import")) != 0)
        return rc;
    if (npos != 2 || !(kind = node_import_kind_parse(pos[0])))
        return fail_msg(EXIT_USAGE, "usage: import people|events|attendance FILE.csv [--dry-run]");
    if (!(f = fopen(pos[1], "rb")))
        return fail_msg(EXIT_USAGE, "%s: %s", pos[1], strerror(errno));
    memset(&r, 0, sizeof r);
    progress_init(&prog, stderr, "import", 0, -1);
    progress_set_unit(&prog, "rows");
    rc = node_import_csv(ns, kind, f, dry != NULL, import_progress, &prog, &r, &err);
    fclose(f);
    if (r.rows && rc == 0)
        progress_finish(&prog);
    import_print(pos[1], &r, dry != NULL);
    if (rc != 0) {
        rc = fail_msg(exit_for(rc, 0), "%s: %s", pos[1], err.text);
    } else {
        printf("%s %s: %lu rows, %lu %s, %lu already here%s%s\n", dry ? "dry run of" : "imported",
               node_import_kind_name(kind), r.rows, r.added, dry ? "would be added" : "added",
               r.known, r.ndups_all ? ", possible duplicates listed above" : "",
               dry ? "; nothing was recorded" : "");
    }
    node_import_report_free(&r);
    return rc;
}

static int
cmd_export(node_store *ns, int argc, char **argv)
{
    const char *pos[2], *all = NULL;
    const cli_opt opts[] = {{"--all", 0, &all}, {NULL, 0, NULL}};
    rz_error err = {0, ""};
    unsigned long rows = 0;
    FILE *f;
    int rc, npos, kind, fd;
    if ((rc = cli_parse(argc, argv, opts, pos, 2, &npos, "export")) != 0)
        return rc;
    if (npos != 2 || !(kind = node_import_kind_parse(pos[0])))
        return fail_msg(EXIT_USAGE, "usage: export people|events|attendance FILE.csv [--all]");
    /* Personal values: readable by this user only, even if the file existed. */
    if ((fd = open(pos[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return fail_msg(EXIT_USAGE, "%s: %s", pos[1], strerror(errno));
    if (fchmod(fd, 0600) != 0 || !(f = fdopen(fd, "wb"))) {
        close(fd);
        return fail_msg(EXIT_USAGE, "%s: %s", pos[1], strerror(errno));
    }
    rc = node_export_csv(ns, kind, f, all != NULL, &rows, &err);
    if (fclose(f) != 0 && rc == 0)
        rc = rz_fail(&err, RZ_E_IO, "cannot write the file");
    if (rc != 0) {
        unlink(pos[1]);
        return fail_msg(exit_for(rc, 0), "%s: %s", pos[1], err.text);
    }
    printf("exported %lu %s rows to %s (UTF-8 CSV for Excel; personal data, mode 0600)\n", rows,
           node_import_kind_name(kind), pos[1]);
    return 0;
}

static const char *
audit_table(uint8_t t)
{
    switch (t) {
    case RZ_T_PERSON: return "person";
    case RZ_T_EVENT: return "event";
    case RZ_T_ATTENDANCE: return "attendance";
    case RZ_T_CLOCK: return "clock";
    default: return "?";
    }
}

static int
print_audit(void *ctx, const node_audit_row *r)
{
    char when[40];
    const char *op = r->op == RZ_OP_DELETE     ? "delete"
                     : r->op == RZ_OP_UNDELETE ? "undelete"
                     : r->table == RZ_T_CLOCK  ? "sync"
                     : r->fields == 0          ? "set"
                                               : "set";
    (void)ctx;
    format_utc(when, sizeof when, hlc_physical_ms(r->hlc));
    printf("%llu\t%s\t%s\t%s\t%s", (unsigned long long)r->seq, when,
           r->actor[0] ? r->actor : "(not noted)", audit_table(r->table), op);
    if (r->table == RZ_T_ATTENDANCE)
        printf("\t%s %s", r->code[0][0] ? r->code[0] : "?", r->code[1][0] ? r->code[1] : "?");
    else if (r->key_len)
        printf("\t%s", r->code[0][0] ? r->code[0] : "?");
    putchar('\n');
    return 0;
}

static int
cmd_audit(node_store *ns, int argc, char **argv)
{
    const char *limit = NULL, *before = NULL;
    const cli_opt opts[] = {{"--limit", 1, &limit}, {"--before", 1, &before}, {NULL, 0, NULL}};
    rz_error err = {0, ""};
    uint64_t n = 50, b = 0;
    int rc, npos;
    if ((rc = cli_parse(argc, argv, opts, NULL, 0, &npos, "audit")) != 0)
        return rc;
    if ((limit && (parse_number(limit, 7, &n) != 0 || n == 0)) ||
        (before && parse_number(before, 19, &b) != 0))
        return fail_msg(EXIT_USAGE, "audit: --limit N and --before SEQ want numbers");
    if ((rc = node_store_audit_each(ns, b, (size_t)n, print_audit, NULL, &err)) != 0)
        return fail_err(&err, rc, 0);
    return 0;
}

/* ---- status / sync / rebase ---- */

static int
cmd_status(node_store *ns, int argc, char **argv)
{
    node_store_status st;
    rz_error err = {0, ""};
    char hex[2 * RZ_NODE_ID_BYTES + 1], when[40], msg[256];
    int rc, npos;
    if ((rc = cli_parse(argc, argv, NULL, NULL, 0, &npos, "status")) != 0)
        return rc;
    if ((rc = node_store_get_status(ns, &st, &err)) != 0)
        return fail_err(&err, rc, 0);
    hex_encode(hex, st.node_id, RZ_NODE_ID_BYTES);
    printf("node id: %s\n", hex);
    printf("epoch: %u\n", st.epoch);
    printf("log head: %llu\n", (unsigned long long)st.head_seq);
    printf("acked seq: %llu\n", (unsigned long long)st.acked_seq);
    printf("pending entries: %llu\n", (unsigned long long)st.pending);
    printf("server: %s\n", st.endpoint[0] ? st.endpoint : "not configured");
    if (st.last_server_ms) {
        int64_t off = u64_diff_sat(st.last_local_ms, st.last_server_ms);
        format_utc(when, sizeof when, st.last_server_ms);
        printf("last server time: %s\n", when);
        printf("clock offset: %+lld ms (this PC minus headquarters, at the last sync)\n",
               (long long)off);
    } else {
        printf("last server time: never\n");
        printf("clock offset: unknown (never synced)\n");
    }
    if (st.last_attempt_ms) {
        format_utc(when, sizeof when, st.last_attempt_ms);
        if (st.last_attempt_code == 0)
            printf("last sync attempt: %s, ok\n", when);
        else
            printf("last sync attempt: %s, failed: %s\n", when, st.last_attempt_text);
    } else {
        printf("last sync attempt: never\n");
    }
    (void)!node_recover_report(ns, stdout, NULL);
    if (node_store_clock_warning(&st, hlc_wall_ms(), msg, sizeof msg))
        log_warnx("%s", msg);
    return 0;
}

static int
parse_timeout(const char *s, node_sync_opts *o)
{
    uint64_t v;
    if (!s)
        return 0;
    if (parse_number(s, 5, &v) != 0 || v == 0 || v > 3600)
        return fail_msg(EXIT_USAGE, "--timeout wants seconds between 1 and 3600, got '%s'", s);
    o->timeout_ms = (int)v * 1000;
    return 0;
}

/* After a server refusal: what to do, on its own line (the refusal text is
 * the server's). */
static void
print_hint(node_store *ns, int server_code)
{
    const char *h = server_code ? node_sync_hint(server_code) : NULL, *at;
    char hex[2 * RZ_NODE_ID_BYTES + 1];
    if (!h)
        return;
    hex_encode(hex, node_store_node_id(ns), RZ_NODE_ID_BYTES);
    if ((at = strstr(h, "NODE")) != NULL)
        fprintf(stderr, PROG ": %.*s%s%s\n", (int)(at - h), h, hex, at + 4);
    else
        fprintf(stderr, PROG ": %s\n", h);
}

/* Takes the data directory's sync lock for `who`; on contention prints who
 * holds it and returns EXIT_BUSY. */
static int
take_lock(const char *who, node_lock **l)
{
    rz_error err = {0, ""};
    int rc = node_lock_acquire(cli_dir, who, l, NULL, &err);
    return rc ? fail_msg(rc == RZ_E_BUSY ? EXIT_BUSY : EXIT_USAGE, "%s", err.text) : 0;
}

static void
sync_progress(void *ctx, const rz_progress_info *in)
{
    rz_progress *p = ctx;
    if (in->total != p->info.total)
        progress_set_total(p, in->total);
    progress_update(p, in->done);
}

/* Settings for a sync from node.conf, then the command line. */
static int
sync_opts_from(node_sync_opts *o, const char *timeout, const char *window)
{
    uint64_t w;
    int rc;
    node_sync_opts_default(o);
    o->timeout_ms = (int)cli_conf.sync_timeout_s * 1000;
    if ((rc = parse_timeout(timeout, o)) != 0)
        return rc;
    if (window) {
        if (parse_number(window, 1, &w) != 0 || w < 1 || w > NODE_SYNC_WINDOW_MAX)
            return fail_msg(EXIT_USAGE, "--window wants 1..%d", NODE_SYNC_WINDOW_MAX);
        o->window = (int)w;
    }
    return 0;
}

static void
print_sync_result(const node_sync_result *r)
{
    if (r->sent == 0)
        printf("sync: up to date; the server holds %llu entries of this node\n",
               (unsigned long long)r->server_head);
    else
        printf("sync: %llu entries delivered in %llu batch%s (seq %llu..%llu, %llu new to the "
               "server); the server holds %llu; %llu pending\n",
               (unsigned long long)r->sent, (unsigned long long)r->batches,
               r->batches == 1 ? "" : "es", (unsigned long long)r->first_seq,
               (unsigned long long)r->last_seq, (unsigned long long)r->applied,
               (unsigned long long)r->server_head, (unsigned long long)r->pending);
    fflush(stdout);
}

/* `sync --now`: a running sync (watch loop, web app) is asked to sync at
 * once; with none running, this process syncs. */
static int
sync_nudge(int *done)
{
    node_lock_holder h;
    rz_error err = {0, ""};
    int rc = node_lock_trigger(cli_dir, &h, &err);
    *done = 0;
    if (rc == RZ_E_NOTFOUND)
        return 0;
    *done = 1;
    if (rc != 0)
        return fail_msg(exit_for(rc, 0), "%s", err.text);
    printf("sync: asked the running `%s` (pid %ld) to sync now\n", h.who, (long)h.pid);
    return 0;
}

/* State of `sync --watch`'s report callback. */
typedef struct watch_out {
    rz_progress bar; /* this run's progress (stderr) */
} watch_out;

static void
watch_report(void *ctx, const node_watch_event *ev)
{
    static const char *const whys[] = {"",      "start",           "new records", "interval",
                                       "asked", "woke from sleep", "retry"};
    watch_out *w = ctx;
    const node_sync_result *r = ev->r;
    const char *why = ev->why > 0 && ev->why <= NODE_WATCH_RETRY ? whys[ev->why] : "?";
    if (!ev->done) {
        progress_init(&w->bar, stderr, "sync", 0, -1);
        return;
    }
    progress_finish(&w->bar);
    if (ev->rc == 0 && r->sent > 0)
        printf("watch: %llu entries delivered (seq %llu..%llu, %llu new to the server; %s); "
               "next sync within %llu s\n",
               (unsigned long long)r->sent, (unsigned long long)r->first_seq,
               (unsigned long long)r->last_seq, (unsigned long long)r->applied, why,
               (unsigned long long)(ev->next_ms + 999) / 1000);
    else if (ev->rc == 0)
        printf("watch: up to date, the server holds %llu entries (%s); next sync within %llu s\n",
               (unsigned long long)r->server_head, why,
               (unsigned long long)(ev->next_ms + 999) / 1000);
    else
        printf("watch: %s; retry in %.1f s (failure %u in a row)\n",
               ev->err->text[0] ? ev->err->text : rz_err_name(ev->rc), (double)ev->next_ms / 1000.0,
               ev->failures);
    fflush(stdout);
}

/* `sync --watch`: the unattended loop until SIGTERM / Ctrl-C (exit 0). */
static int
sync_watch(node_store *ns, node_sync_opts *so, const char *interval, const char *backoff_max)
{
    node_watch_opts o;
    node_store_status st;
    node_lock *lock = NULL;
    watch_out w;
    rz_error err = {0, ""};
    uint64_t v;
    int rc;
    node_watch_opts_default(&o);
    o.sync = *so;
    o.sync.stop = node_lock_stop_flag();
    o.sync.connect_ms = 5000;
    o.sync.progress = sync_progress;
    o.sync.progress_ctx = &w.bar;
    o.interval_ms = (uint64_t)cli_conf.sync_interval_s * 1000;
    if (interval) {
        if (parse_number(interval, 6, &v) != 0 || v < 1 || v > 86400)
            return fail_msg(EXIT_USAGE, "--interval wants seconds, 1..86400");
        o.interval_ms = v * 1000;
    }
    if (backoff_max) {
        if (parse_number(backoff_max, 6, &v) != 0 || v < 1 || v > 86400)
            return fail_msg(EXIT_USAGE, "--backoff-max wants seconds, 1..86400");
        o.backoff_max_ms = v * 1000;
        if (o.backoff_base_ms > o.backoff_max_ms)
            o.backoff_base_ms = o.backoff_max_ms;
    }
    o.report = watch_report;
    o.report_ctx = &w;
    memset(&w, 0, sizeof w);
    progress_init(&w.bar, stderr, "sync", 0, -1);
    if ((rc = take_lock("sync --watch", &lock)) != 0)
        return rc;
    node_lock_listen(1);
    if ((rc = node_store_get_status(ns, &st, &err)) != 0)
        goto out;
    printf("watch: syncing to %s at least every %llu s and soon after new records; stop with "
           "SIGTERM or Ctrl-C\n",
           st.endpoint[0] ? st.endpoint : "(no server configured)",
           (unsigned long long)(o.interval_ms / 1000));
    fflush(stdout);
    if ((rc = node_watch_run(ns, &o, &err)) != 0)
        goto out;
    if (node_store_get_status(ns, &st, &err) == 0)
        printf("watch: stopped; %llu entries wait for the next sync\n",
               (unsigned long long)st.pending);
out:
    node_lock_release(&lock);
    return rc ? fail_err(&err, rc, 0) : 0;
}

static int
cmd_sync(node_store *ns, int argc, char **argv)
{
    const char *timeout = NULL, *window = NULL, *now = NULL, *watch = NULL, *interval = NULL,
               *backoff = NULL;
    const cli_opt opts[] = {{"--timeout", 1, &timeout},
                            {"--window", 1, &window},
                            {"--now", 0, &now},
                            {"--watch", 0, &watch},
                            {"--interval", 1, &interval},
                            {"--backoff-max", 1, &backoff},
                            {0, 0, 0}};
    node_sync_opts o;
    node_sync_result r;
    node_lock *lock = NULL;
    rz_progress bar;
    rz_error err = {0, ""};
    int rc, npos, done;
    if ((rc = cli_parse(argc, argv, opts, NULL, 0, &npos, "sync")) != 0 ||
        (rc = sync_opts_from(&o, timeout, window)) != 0)
        return rc;
    if (now && ((rc = sync_nudge(&done)) != 0 || done))
        return rc;
    if (watch)
        return sync_watch(ns, &o, interval, backoff);
    if (interval || backoff)
        return fail_msg(EXIT_USAGE, "--interval and --backoff-max go with --watch");
    if ((rc = take_lock("sync", &lock)) != 0)
        return rc;
    progress_init(&bar, stderr, "sync", 0, -1);
    o.progress = sync_progress;
    o.progress_ctx = &bar;
    node_lock_listen(1);
    o.stop = node_lock_stop_flag();
    rc = node_sync_run(ns, &o, &r, &err);
    progress_finish(&bar);
    if (rc != RZ_E_STOPPED)
        (void)!node_store_note_attempt(ns, hlc_wall_ms(), rc, rc ? err.text : "", NULL);
    node_lock_release(&lock);
    if (rc != 0) {
        if (r.sent)
            fprintf(stderr, PROG ": %llu entries were delivered before the failure\n",
                    (unsigned long long)r.sent);
        rc = fail_err(&err, rc, r.server_code);
        print_hint(ns, r.server_code);
        return rc;
    }
    print_sync_result(&r);
    return 0;
}

static int
cmd_rebase(node_store *ns, int argc, char **argv)
{
    const char *timeout = NULL;
    const cli_opt opts[] = {{"--timeout", 1, &timeout}, {0, 0, 0}};
    node_sync_opts o;
    node_sync_result r;
    node_rebase_result rr;
    node_lock *lock = NULL;
    rz_error err = {0, ""};
    int rc, npos;
    if ((rc = cli_parse(argc, argv, opts, NULL, 0, &npos, "rebase")) != 0 ||
        (rc = sync_opts_from(&o, timeout, NULL)) != 0 || (rc = take_lock("rebase", &lock)) != 0)
        return rc;
    rc = node_sync_rebase(ns, &o, &rr, &r, &err);
    node_lock_release(&lock);
    if (rc != 0) {
        rc = fail_err(&err, rc, r.server_code);
        print_hint(ns, r.server_code);
        return rc;
    }
    if (rr.moved)
        printf("rebase: epoch %u continues after server seq %llu; %llu entries re-appended as "
               "seq %llu..%llu (originals kept in log_archive); now run `" PROG " sync`\n",
               rr.epoch, (unsigned long long)rr.base_seq, (unsigned long long)rr.moved,
               (unsigned long long)rr.first_seq, (unsigned long long)rr.last_seq);
    else
        printf("rebase: epoch %u continues after server seq %llu; no entries to re-append; now "
               "run `" PROG " sync`\n",
               rr.epoch, (unsigned long long)rr.base_seq);
    return 0;
}

/* ---- recover: a replaced PC (PROTOCOL §12, client/node_recover.h) ---- */

static int
cmd_recover(node_store *ns, int argc, char **argv)
{
    const char *timeout = NULL, *from = NULL;
    const cli_opt opts[] = {{"--from", 1, &from}, {"--timeout", 1, &timeout}, {0, 0, 0}};
    uint8_t old_id[RZ_NODE_ID_BYTES];
    node_sync_opts o;
    node_sync_result r;
    node_recover_result res;
    node_lock *lock = NULL;
    rz_progress bar;
    rz_error err = {0, ""};
    int rc, npos;
    if ((rc = cli_parse(argc, argv, opts, NULL, 0, &npos, "recover")) != 0 ||
        (rc = sync_opts_from(&o, timeout, NULL)) != 0)
        return rc;
    if (!from || strlen(from) != 2 * RZ_NODE_ID_BYTES ||
        hex_decode(old_id, RZ_NODE_ID_BYTES, from) != 0)
        return fail_msg(EXIT_USAGE, "recover needs --from OLD: the old PC's node id (16 hex "
                                    "digits), as `rozgar-server recover-grant` printed it");
    if ((rc = take_lock("recover", &lock)) != 0)
        return rc;
    progress_init(&bar, stderr, "recover", 0, -1);
    o.progress = sync_progress;
    o.progress_ctx = &bar;
    rc = node_recover_run(ns, &o, old_id, &res, &r, &err);
    progress_finish(&bar);
    node_lock_release(&lock);
    if (rc != 0) {
        /* What the server sent does not verify: nothing was applied. */
        int bad = r.server_code == 0 &&
                  (rc == RZ_E_PII || rc == RZ_E_CHAIN || rc == RZ_E_SIGNATURE || rc == RZ_E_DECODE);
        if (bad)
            fprintf(stderr, PROG ": recover: REFUSED, nothing applied: the old log as the server "
                                 "sent it does not verify\n");
        rc = bad ? fail_msg(EXIT_REFUSED, "%s", err.text) : fail_err(&err, rc, r.server_code);
        if (r.server_code == RZ_E_MSGTYPE)
            fprintf(stderr, PROG ": the server does not know recovery (PROTOCOL.md §12): "
                                 "headquarters must upgrade rozgar-server\n");
        else if (!bad)
            print_hint(ns, r.server_code);
        return rc;
    }
    if (res.already && !r.sessions)
        printf("recover: the log of node %s was recovered here before (%llu entries); nothing "
               "to do\n",
               from, (unsigned long long)res.entries);
    else if (res.already)
        printf("recover: the log of node %s was recovered here before (%llu entries); the "
               "server has now confirmed it\n",
               from, (unsigned long long)res.entries);
    else
        printf("recover: %llu entries of node %s in %llu chunks verified (chain, %llu batch "
               "signatures, %llu personal values; %llu erased at headquarters, kept as none) and "
               "applied: %llu person, %llu event, %llu attendance changes\n",
               (unsigned long long)res.entries, from, (unsigned long long)res.chunks,
               (unsigned long long)res.signatures, (unsigned long long)res.values,
               (unsigned long long)res.erased, (unsigned long long)res.persons,
               (unsigned long long)res.events, (unsigned long long)res.attendance);
    return 0;
}

/* ---- rekey ---- */

static int
cmd_rekey(node_store *ns, int argc, char **argv)
{
    rz_error err = {0, ""};
    char idhex[2 * RZ_NODE_ID_BYTES + 1], pkhex[2 * RZ_PK_BYTES + 1];
    int rc, npos;
    if ((rc = cli_parse(argc, argv, NULL, NULL, 0, &npos, "rekey")) != 0)
        return rc;
    if ((rc = node_store_rekey(ns, cli_dir, &err)) != 0)
        return fail_err(&err, rc, 0);
    hex_encode(idhex, node_store_node_id(ns), RZ_NODE_ID_BYTES);
    hex_encode(pkhex, node_store_identity(ns)->pk, RZ_PK_BYTES);
    printf(
        "rekey: new key in place (the old one is kept as node.key.old-*); headquarters must run\n"
        "  rozgar-server rekey %s --token rz1:%s:%s\n"
        "before the next sync\n",
        idhex, idhex, pkhex);
    return 0;
}

/* ---- USB bundles (PROTOCOL.md 11) ---- */

static int
cmd_bundle(node_store *ns, int argc, char **argv)
{
    const char *pos[2];
    node_bundle_result r;
    node_lock *lock = NULL;
    rz_error err = {0, ""};
    int rc, npos, exporting;
    if ((rc = cli_parse(argc, argv, NULL, pos, 2, &npos, "bundle")) != 0)
        return rc;
    if (npos != 2 || (strcmp(pos[0], "export") != 0 && strcmp(pos[0], "receipts") != 0))
        return fail_msg(EXIT_USAGE, "usage: bundle export FILE | bundle receipts FILE");
    exporting = strcmp(pos[0], "export") == 0;
    if ((rc = take_lock(exporting ? "bundle export" : "bundle receipts", &lock)) != 0)
        return rc;
    rc = exporting ? node_bundle_export(ns, pos[1], &r, &err)
                   : node_bundle_receipts(ns, pos[1], &r, &err);
    node_lock_release(&lock);
    if (rc != 0)
        return fail_msg(rc == RZ_E_IO || rc == RZ_E_CONFIG || rc == RZ_E_NOTFOUND || rc == RZ_E_ARG
                            ? EXIT_USAGE
                            : exit_for(rc, 0),
                        "%s: %s", pos[1], err.text);
    if (exporting)
        printf("bundle: seq %llu..%llu (%llu entries) in %llu batch%s written to %s, sealed to "
               "the server's key; take it to headquarters (rozgar-server bundle import), then "
               "bring back the receipt file (rozgar-node bundle receipts FILE)\n",
               (unsigned long long)r.first_seq, (unsigned long long)r.last_seq,
               (unsigned long long)(r.last_seq - r.first_seq + 1), (unsigned long long)r.batches,
               r.batches == 1 ? "" : "es", pos[1]);
    else
        printf("receipts: %llu receipts verified (seq %llu..%llu); %llu entries newly "
               "acknowledged, %llu pending\n",
               (unsigned long long)r.batches, (unsigned long long)r.first_seq,
               (unsigned long long)r.last_seq, (unsigned long long)r.newly_acked,
               (unsigned long long)r.pending);
    return 0;
}

/* ---- the centre app ---- */

static int
cmd_serve(node_store *ns, int argc, char **argv)
{
    const char *listen = NULL, *name = NULL, *cert = NULL, *key = NULL, *tls = NULL, *ready = NULL,
               *nosync = NULL;
    const cli_opt opts[] = {{"--listen", 1, &listen},  {"--name", 1, &name},
                            {"--cert", 1, &cert},      {"--key", 1, &key},
                            {"--tls", 0, &tls},        {"--ready-file", 1, &ready},
                            {"--no-sync", 0, &nosync}, {NULL, 0, NULL}};
    node_web_opts o;
    rz_error err = {0, ""};
    int rc, npos;
    if ((rc = cli_parse(argc, argv, opts, NULL, 0, &npos, "serve")) != 0)
        return rc;
    memset(&o, 0, sizeof o);
    o.listen = listen ? listen : (cli_conf.set & NODE_CONF_LISTEN) ? cli_conf.listen : NULL;
    o.sync_timeout_ms = (int)cli_conf.sync_timeout_s * 1000;
    o.name = name;
    o.cert = cert;
    o.key = key;
    o.tls = tls != NULL;
    o.ready_file = ready;
    o.background_sync = nosync == NULL;
    o.sync_interval_ms = (uint64_t)cli_conf.sync_interval_s * 1000;
    if ((rc = node_web_serve(cli_dir, ns, &o, &err)) != 0)
        return fail_err(&err, rc, 0);
    return 0;
}

/* Reads a password: twice without echo from a terminal, else one line of
 * standard input (scripts).  0, or EXIT_USAGE with a message. */
static int
read_password(char *out, size_t len, const char *prompt)
{
    struct termios old, quiet;
    char again[WEBAUTH_PASS_MAX + 2];
    int tty = isatty(STDIN_FILENO), rc = 0;
    size_t n;
    if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    } else {
        tty = 0;
    }
    if (tty)
        fprintf(stderr, "%s: ", prompt);
    if (!fgets(out, (int)len, stdin))
        rc = fail_msg(EXIT_USAGE, "no password given");
    if (!rc && tty) {
        fprintf(stderr, "\nagain: ");
        if (!fgets(again, sizeof again, stdin) || strcmp(again, out) != 0)
            rc = fail_msg(EXIT_USAGE, "the two passwords differ");
        sodium_memzero(again, sizeof again);
    }
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    n = strlen(out);
    if (!rc && n && out[n - 1] != '\n' && !feof(stdin))
        rc = fail_msg(EXIT_USAGE, "the password is too long (at most %d bytes)", WEBAUTH_PASS_MAX);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return rc;
}

static int
staff_row(void *ctx, const webauth_account *a)
{
    char when[40];
    (void)ctx;
    format_utc(when, sizeof when, a->changed_ms);
    printf("%s\t%s\t%s\tpassword set %s\n", a->user, a->role, a->disabled ? "disabled" : "active",
           when);
    return 0;
}

static int
cmd_staff(node_store *ns, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "", *pos[1], *role = NULL, *enable = NULL,
               *disable = NULL;
    const cli_opt opts[] = {
        {"--role", 1, &role}, {"--disable", 0, &disable}, {"--enable", 0, &enable}, {0, 0, 0}};
    char pw[WEBAUTH_PASS_MAX + 2];
    webauth *wa = NULL;
    rz_error err = {0, ""};
    int rc, npos;
    if ((rc = cli_parse(argc - 1, argv + 1, opts, pos, 1, &npos, "staff")) != 0)
        return rc;
    if ((rc = node_web_accounts(cli_dir, ns, &wa, &err)) != 0)
        return fail_err(&err, rc, 0);
    if (strcmp(sub, "list") == 0 && npos == 0) {
        rc = webauth_account_each(wa, staff_row, NULL, &err);
        rc = rc ? fail_err(&err, rc, 0) : 0;
    } else if (strcmp(sub, "add") == 0 && npos == 1) {
        if (!(rc = read_password(pw, sizeof pw, "password for the new account"))) {
            rc = webauth_account_add(wa, pos[0], role ? role : "staff", pw, &err);
            rc = rc ? fail_err(&err, rc, 0) : 0;
            if (!rc)
                printf("staff: added %s (%s)\n", pos[0], role ? role : "staff");
        }
    } else if (strcmp(sub, "passwd") == 0 && npos == 1 && (enable || disable)) {
        rc = webauth_account_disable(wa, pos[0], disable != NULL, &err);
        rc = rc ? fail_err(&err, rc, 0) : 0;
    } else if (strcmp(sub, "passwd") == 0 && npos == 1) {
        if (!(rc = read_password(pw, sizeof pw, "new password"))) {
            rc = webauth_account_passwd(wa, pos[0], pw, &err);
            rc = rc ? fail_err(&err, rc, 0) : 0;
            if (!rc)
                printf("staff: new password for %s; their sessions ended\n", pos[0]);
        }
    } else {
        rc = fail_msg(EXIT_USAGE, "usage: staff add NAME [--role admin|staff] | staff passwd NAME "
                                  "[--disable|--enable] | staff list");
    }
    sodium_memzero(pw, sizeof pw);
    webauth_destroy(&wa);
    return rc;
}

/* ---- main ---- */

/* Changes made from the command line are noted in the audit trail as the
 * operating-system user's ("os:NAME"); the web app notes staff accounts. */
static void
set_os_actor(node_store *ns)
{
    struct passwd *pw = getpwuid(geteuid());
    char actor[NODE_ACTOR_MAX];
    if (pw && pw->pw_name)
        snprintf(actor, sizeof actor, "os:%s", pw->pw_name);
    else
        snprintf(actor, sizeof actor, "os:uid %lu", (unsigned long)geteuid());
    if (node_store_set_actor(ns, actor, NULL) != 0 && node_store_set_actor(ns, "os:?", NULL) != 0)
        log_warnx("cannot note the user in the audit trail");
}

typedef struct cli_cmd {
    const char *name;                      /* command word */
    int (*fn)(node_store *, int, char **); /* runs it on an open store */
    const char *help;                      /* `COMMAND --help` text */
} cli_cmd;

static const cli_cmd commands[] = {
    {"config", cmd_config,
     "config [KEY=VALUE ...] | config --server tcp://HOST:PORT --server-key HEX\n"
     "  Shows the settings (DIR/" NODE_CONF_FILE "), or changes them.  Keys: server,\n"
     "  server-key, sync-interval (s), sync-timeout (s), listen (HOST:PORT of the web app)."},
    {"person", cmd_person,
     "person add --name N --gender G [...] | person edit ID [...] | person delete ID |\n"
     "person undelete ID | person find TEXT [--all] [--page N]\n"
     "  Records, corrects or finds a person (see `" PROG " --help` for the fields).  find\n"
     "  takes part of a name, a CNIC, a phone number or a short code.  ID is a short code\n"
     "  (as find shows it) or the 32-digit id."},
    {"event", cmd_event,
     "event add --kind KIND --title T --date YYYY-MM-DD [...] | event edit ID [...] |\n"
     "event delete ID | event undelete ID | event list [TEXT] [--upcoming | --past] [--all] |\n"
     "event roster EVENT [TEXT] [--marked]\n"
     "  Records, corrects or lists events; roster lists the people with their attendance\n"
     "  at one event, and the counts."},
    {"attend", cmd_attend,
     "attend EVENT PERSON [--absent | --delete | --undelete]\n"
     "  Records that a person attended (or missed) an event; each by short code or id."},
    {"list", cmd_list, "list persons|events|attendance [--all]\n  Lists this centre's records."},
    {"show", cmd_show, "show ID\n  Shows one person or event."},
    {"import", cmd_import,
     "import people|events|attendance FILE.csv [--dry-run]\n"
     "  Records every row of a spreadsheet (CSV), all or nothing; rows already here are\n"
     "  skipped, so importing a file again (or a longer version) adds nothing twice.\n"
     "  --dry-run shows what would happen.  (\"persons\" is accepted for people.)"},
    {"export", cmd_export,
     "export people|events|attendance FILE.csv [--all]\n"
     "  Writes CSV that opens in Excel (UTF-8 with BOM), mode 0600: it holds personal\n"
     "  data.  --all includes deleted records."},
    {"audit", cmd_audit,
     "audit [--limit N] [--before SEQ]\n"
     "  Lists changes newest first with who made them (staff account or os:USER)."},
    {"status", cmd_status, "status\n  The node's id, log head, what waits for the server."},
    {"sync", cmd_sync,
     "sync [--timeout SEC] [--window N] [--now]\n"
     "       sync --watch [--interval SEC] [--backoff-max SEC]\n"
     "  Sends what the server lacks.  One sync per data directory: while another runs\n"
     "  (exit 5 names it), --now asks that one to sync at once instead.\n"
     "  --watch keeps syncing until SIGTERM: soon after new records, at least every\n"
     "  sync-interval (node.conf; --interval overrides), with random exponential backoff\n"
     "  up to --backoff-max (default 300 s) while the server is unreachable."},
    {"rebase", cmd_rebase,
     "rebase [--timeout SEC]\n  After headquarters ran new-epoch: re-appends the entries "
     "the server lacks."},
    {"recover", cmd_recover,
     "recover --from OLD [--timeout SEC]\n"
     "  On a PC that replaces a dead or stolen one of this centre, after headquarters ran\n"
     "  `rozgar-server recover-grant`: fetches the old PC's log, checks it (chain,\n"
     "  signatures, personal values) and takes its records over; nothing is applied\n"
     "  unless all of it checks.  Running it again does nothing twice."},
    {"rekey", cmd_rekey, "rekey\n  New key pair; prints the token for `rozgar-server rekey`."},
    {"bundle", cmd_bundle,
     "bundle export FILE | bundle receipts FILE\n"
     "  export: everything the server has not acknowledged, sealed to its key, into FILE\n"
     "  (mode 0600) for a USB stick; receipts: the receipt file headquarters wrote with\n"
     "  `rozgar-server bundle import`, so those entries count as delivered."},
    {"serve", cmd_serve,
     "serve [--listen HOST:PORT] [--name HOSTNAME] [--cert FILE --key FILE] [--tls]\n"
     "      [--no-sync]\n"
     "  Serves the centre app to staff's browsers: 127.0.0.1:8080 by default (this PC\n"
     "  only, plain HTTP), or the `listen` of " NODE_CONF_FILE ".  Any other address (the\n"
     "  centre's network) is served over HTTPS only, with the given certificate or one made\n"
     "  at first start, whose fingerprint is printed.  --name: a host name staff type.\n"
     "  Once a server is configured it also syncs unattended, as `sync --watch` does\n"
     "  (holding the sync lock; the app's Sync button and `sync --now` make it sync at\n"
     "  once); --no-sync leaves syncing to the button or a separate `sync --watch`."},
    {"staff", cmd_staff,
     "staff add NAME [--role admin|staff] | staff passwd NAME [--disable|--enable] |\n"
     "staff list\n"
     "  Staff accounts of the centre app.  The password is read from the terminal (twice,\n"
     "  not shown) or as one line of standard input.  passwd ends that account's sessions."},
    {NULL, NULL, NULL}};

/* 1 when argv holds flag before any "--" (a value can never be --help). */
static int
has_flag(int argc, char **argv, const char *flag)
{
    int i;
    for (i = 0; i < argc; i++)
        if (strcmp(argv[i], flag) == 0)
            return 1;
    return 0;
}

static int
print_version(void)
{
    printf(PROG " %s (protocol RZSYNC/%d)\n", RZ_VERSION, RZ_PROTO_VERSION);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *dir = getenv("RZ_NODE_DIR");
    const cli_cmd *c;
    node_store *ns = NULL;
    rz_error err = {0, ""};
    int i = 1, rc, sub_argc;
    char **sub_argv;

    log_init(PROG, LOG_LVL_INFO);
    while (i < argc && argv[i][0] == '-') {
        if ((strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--dir") == 0) && i + 1 < argc) {
            dir = argv[i + 1];
            i += 2;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage();
            return 0;
        } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            return print_version();
        } else {
            fail_msg(EXIT_USAGE, "unknown option %s", argv[i]);
            return usage();
        }
    }
    if (i >= argc)
        return usage();
    sub_argc = argc - i - 1;
    sub_argv = argv + i + 1;
    for (c = commands; c->name; c++)
        if (strcmp(c->name, argv[i]) == 0)
            break;
    if (!c->name && strcmp(argv[i], "init") != 0) {
        fail_msg(EXIT_USAGE, "unknown command '%s' (see `" PROG " --help`)", argv[i]);
        return EXIT_USAGE;
    }
    if (has_flag(sub_argc, sub_argv, "--version"))
        return print_version();
    if (has_flag(sub_argc, sub_argv, "--help") || has_flag(sub_argc, sub_argv, "-h")) {
        printf("usage: " PROG " [-d DIR] %s\n",
               c->name ? c->help
                       : "init\n  Creates DIR with a new key and database; prints the "
                         "enrollment token for headquarters.");
        return 0;
    }
    if (!dir || !*dir)
        return fail_msg(EXIT_USAGE, "no data directory: give -d DIR or set RZ_NODE_DIR");
    if (!c->name)
        return cmd_init(dir, sub_argc, sub_argv);
    cli_dir = dir;
    /* `config` still runs with a broken file, so it can rewrite it. */
    if ((rc = node_config_load(dir, &cli_conf, &err)) != 0 && c->fn != cmd_config)
        return fail_err(&err, rc, 0);
    if ((rc = open_store(dir, &ns)) != 0)
        return rc;
    if ((rc = node_config_apply(&cli_conf, ns, &err)) != 0) {
        node_store_destroy(&ns);
        return fail_err(&err, rc, 0);
    }
    set_os_actor(ns);
    rc = c->fn(ns, sub_argc, sub_argv);
    node_store_destroy(&ns);
    return rc;
}
