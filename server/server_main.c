/*
 * rozgar-server: the central aggregation server's command line.
 *
 *   rozgar-server -d DIR init | pubkey
 *   rozgar-server -d DIR enroll --token T --centre NAME --programme P --province X --district Y
 *   rozgar-server -d DIR nodes | revoke NODE | rekey NODE --token T | new-epoch NODE | forks
 *   rozgar-server -d DIR run [--bind tcp://127.0.0.1:7700] [--http 127.0.0.1:8080]
 *                            [--public 0.0.0.0:8443 --tls-cert F --tls-key F]
 *   rozgar-server -d DIR totals [--wait [--timeout S]] [query options] | verify | rebuild
 *   rozgar-server -d DIR merge pause | resume | status
 *   rozgar-server -d DIR erase PERSON_ID
 *   rozgar-server --help | --version;  rozgar-server -d DIR COMMAND --help
 *
 * Exit codes: 0 ok, 1 usage or input error, 2 storage/runtime error,
 * 3 verification failed.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/places.h"
#include "common/util.h"
#include "server/bundle_import.h"
#include "server/forkreport.h"
#include "server/placelist.h"
#include "server/query.h"
#include "server/backup.h"
#include "server/journal.h"
#include "server/rebuild.h"
#include "server/recovery.h"
#include "server/regview.h"
#include "server/httpauth.h"
#include "server/serve.h"
#include "server/log_store.h"
#include "server/merger.h"
#include "server/state_store.h"

typedef struct srv_paths {
    char dir[2048];      /* data directory */
    char key[2100];      /* DIR/server.key */
    char db[2100];       /* DIR/server.db: the log store */
    char state_db[2100]; /* DIR/state.db: the state store */
} srv_paths;

#ifndef RZ_VERSION
#define RZ_VERSION "unknown"
#endif

/* Every command: name, synopsis, what it does.  usage() and `COMMAND
 * --help` print from here, so the help cannot drift from the dispatch. */
typedef struct srv_cmd {
    const char *name;     /* command word */
    const char *synopsis; /* its arguments */
    const char *what;     /* one line */
} srv_cmd;

static const srv_cmd srv_cmds[] = {
    {"init", "", "create keys and database; prints the server key"},
    {"pubkey", "",
     "print the server public key: Ed25519 hex (give it to nodes) and CURVE Z85 (ZeroMQ tools)"},
    {"enroll",
     "--token T --centre NAME --programme e-rozgar|innovista|other --province P --district D",
     "enroll a node under a centre; province and district from the places list"},
    {"nodes", "", "enrolled nodes: sync state, last contact, last data, clock offset"},
    {"revoke", "NODE", "refuse a node from now on (its past entries stay)"},
    {"rekey", "NODE --token T", "replace a node's key (key history is kept)"},
    {"recover-grant", "NEW --from OLD | --cancel NEW --from OLD | --list",
     "let a replaced PC (NEW, enrolled under the same centre) fetch the old PC's log once;"
     " revokes OLD"},
    {"new-epoch", "NODE [--force --reason TEXT]",
     "let a forked node continue (PROTOCOL.md 7); needs recorded fork evidence unless forced"},
    {"forks", "", "fork evidence: forked batches, the nodes' own fork reports, forced epochs"},
    {"register", "", "the enrollment register, every version"},
    {"centre", "rename CENTRE NEW-NAME | move CENTRE --province P --district D",
     "rename or move a centre: a new version of the register; past totals by place stay"
     " reproducible (totals --register-version N)"},
    {"places", "[list | show VERSION | import FILE | check NAME [PROVINCE]]",
     "the master list of provinces and districts: its versions, import a new one, check a name"},
    {"linked", "[PERSON_ID]", "records linked into one person by a shared CNIC"},
    {"run",
     "[--bind EP] [--http HOST:PORT] [--public HOST:PORT] [--merge-window N] [--tls-cert F "
     "--tls-key F]",
     "serve nodes (ZeroMQ), the dashboard (HTTP; HTTPS with sign-in when given a certificate,"
     " required beyond loopback) and, if asked, the public view"},
    {"account", "add NAME --role admin|analyst | passwd NAME | disable NAME | enable NAME | list",
     "dashboard accounts (password on standard input)"},
    {"token", "add NAME | revoke NAME | list", "API tokens for machines (shown once when made)"},
    {"totals",
     "[--wait [--timeout S]] [--metric M --by D --by D2 --period P --grain G --from D --to D"
     " --where dim=value --format text|json|csv --register-version N]",
     "national totals and breakdowns, and how far they have counted (--wait: first until"
     " every entry received is counted)"},
    {"merge", "pause | resume | status",
     "stop or restart counting (batches are still acknowledged), or say how far it got"},
    {"verify", "", "audit logs and recompute every total from them"},
    {"rebuild", "", "replace state and totals by a replay of the logs"},
    {"erase", "PERSON_ID [--reason TEXT]",
     "erase a person's name, CNIC and phone (lawful request; recorded in the lawful register)"},
    {"lawful", "list", "the register of lawful requests: CNIC lookups and erasures"},
    {"backup", "DIR", "a consistent copy of every store while the server runs (not the journal)"},
    {"restore", "BACKUP_DIR",
     "with the server stopped: put a backup in place, re-apply the journal's decisions, report"
     " what the backup lacks"},
    {"gaps", "", "acknowledged entries a restored server does not hold, by node and range"},
    {"bundle", "import FILE --receipt OUT",
     "store a centre's USB bundle exactly as a live sync would; write the receipts to OUT"},
};

/* The server directory of this command, for the journal. */
static const char *srv_dir;

/* Appends a decision just committed to the journal (server/journal.h), so
 * a restore from an older backup re-applies it.  The decision stands even
 * if this fails; the administrator is told to take a backup now. */
static void
note_decision(const char *verb, const char *const *fields, int n)
{
    rz_error err = {0, ""};
    if (srv_dir && journal_note(srv_dir, verb, fields, n, &err) != 0)
        fprintf(stderr,
                "rozgar-server: WARNING: %s done but not journaled (%s); take a backup now, a "
                "restore from an older one would not re-apply it\n",
                verb, err.text);
}

static const srv_cmd *
cmd_find(const char *name)
{
    size_t i;
    for (i = 0; i < sizeof srv_cmds / sizeof srv_cmds[0]; i++)
        if (strcmp(srv_cmds[i].name, name) == 0)
            return &srv_cmds[i];
    return NULL;
}

static void
usage_to(FILE *out)
{
    size_t i;
    fprintf(out, "usage: rozgar-server [-v] -d DIR COMMAND [options]\n"
                 "       rozgar-server --help | --version\n"
                 "       rozgar-server -d DIR COMMAND --help\n"
                 "The data directory may also come from $RZ_SERVER_DIR.  Commands:\n");
    for (i = 0; i < sizeof srv_cmds / sizeof srv_cmds[0]; i++)
        fprintf(out, "  %-10s %s\n", srv_cmds[i].name, srv_cmds[i].what);
}

static void
usage(void)
{
    usage_to(stderr);
}

static void
cmd_help(const srv_cmd *c)
{
    printf("usage: rozgar-server -d DIR %s%s%s\n  %s\n", c->name, c->synopsis[0] ? " " : "",
           c->synopsis, c->what);
}

/* 1 when argv (a command's arguments) holds the option opt. */
static int
has_arg(int argc, char **argv, const char *opt)
{
    int i;
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], opt) == 0)
            return 1;
    return 0;
}

/* 1 when a command's own arguments ask for help. */
static int
wants_help(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

/* "data directory /x is not writable by user y" instead of SQLite's
 * "unable to open database file": the usual cause is running as the wrong
 * user or a read-only mount.  Returns 0 when path can be written. */
static int
check_writable(const char *what, const char *path)
{
    struct passwd *pw;
    char user[64];
    if (access(path, W_OK) == 0)
        return 0;
    if (errno == ENOENT)
        return 0; /* created later; its directory was checked */
    pw = getpwuid(geteuid());
    if (pw)
        snprintf(user, sizeof user, "%s", pw->pw_name);
    else
        snprintf(user, sizeof user, "uid %u", (unsigned)geteuid());
    fprintf(stderr,
            "rozgar-server: %s %s is not writable by user %s (%s): run as its owner, fix its"
            " permissions, or check that the file system is not mounted read-only\n",
            what, path, user, strerror(errno));
    return 1;
}

static int
fail(const rz_error *err)
{
    fprintf(stderr, "rozgar-server: %s\n", err->text);
    return err->code == RZ_E_ARG || err->code == RZ_E_NOTFOUND || err->code == RZ_E_EXISTS ||
                   err->code == RZ_E_CONFIG
               ? 1
               : 2;
}

static int
parse_token(const char *tok, uint8_t node_id[RZ_NODE_ID_BYTES], uint8_t pk[RZ_PK_BYTES])
{
    char idhex[2 * RZ_NODE_ID_BYTES + 1], pkhex[2 * RZ_PK_BYTES + 1];
    if (!tok || strlen(tok) != 4 + 16 + 1 + 64 || strncmp(tok, "rz1:", 4) != 0 || tok[20] != ':')
        return RZ_E_ARG;
    memcpy(idhex, tok + 4, 16), idhex[16] = '\0';
    memcpy(pkhex, tok + 21, 64), pkhex[64] = '\0';
    if (hex_decode(node_id, RZ_NODE_ID_BYTES, idhex) || hex_decode(pk, RZ_PK_BYTES, pkhex))
        return RZ_E_ARG;
    return 0;
}

static int
cmd_init(const srv_paths *p)
{
    rz_identity id;
    rz_error err = {0, ""};
    log_store *s = NULL;
    state_store *ss = NULL;
    char hex[2 * RZ_PK_BYTES + 1];
    struct stat st;
    if (stat(p->key, &st) == 0) {
        fprintf(stderr, "rozgar-server: %s already exists; refusing to overwrite keys\n", p->key);
        return 1;
    }
    if (mkdir(p->dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "rozgar-server: cannot create data directory %s: %s\n", p->dir,
                strerror(errno));
        return 2;
    }
    if (check_writable("data directory", p->dir))
        return 2;
    identity_generate(&id);
    if (identity_save(&id, p->key, &err) || log_store_open(&s, p->dir, &err) ||
        state_store_open(&ss, p->dir, &err)) {
        log_store_close(&s);
        identity_wipe(&id);
        return fail(&err);
    }
    /* The shipped places list becomes version 1. */
    if (placelist_activate(log_store_db(s), NULL, NULL, &err))
        log_warnx("%s", err.text);
    state_store_close(&ss);
    log_store_close(&s);
    hex_encode(hex, id.pk, RZ_PK_BYTES);
    printf("server-key: %s\n", hex);
    identity_wipe(&id);
    return 0;
}

static int
cmd_pubkey(const srv_paths *p)
{
    rz_identity id;
    rz_error err = {0, ""};
    char hex[2 * RZ_PK_BYTES + 1];
    if (identity_load(&id, p->key, &err))
        return fail(&err);
    hex_encode(hex, id.pk, RZ_PK_BYTES);
    /* Both forms of the one key (PROTOCOL §2): nodes are configured with the
     * Ed25519 key; ZeroMQ tools (ZMQ_CURVE_SERVERKEY) want the CURVE key. */
    printf("ed25519: %s\n", hex);
    printf("curve-z85: %s\n", id.curve_pk);
    identity_wipe(&id);
    return 0;
}

/* Writes ": did you mean A, B or C?" for the suggestions, or nothing. */
static void
print_suggestions(FILE *out, const char **s, size_t n)
{
    size_t i;
    if (n == 0)
        return;
    fputs("; did you mean ", out);
    for (i = 0; i < n; i++)
        fprintf(out, "%s'%s'", i == 0 ? "" : i + 1 == n ? " or " : ", ", s[i]);
    fputc('?', out);
}

/* The official names of a province and a district of it, from the places
 * list in force (DESIGN: places are reference data).  An unknown name is
 * refused with the closest names.  Returns 0 or 1 (message printed). */
static int
resolve_place(const char *province, const char *district, const char **prov_out,
              const char **dist_out)
{
    const places *pl = places_active();
    const char *sug[3];
    int pv, other = -1;
    size_t n;
    if (!pl) {
        fprintf(stderr,
                "rozgar-server: no places list in force (rozgar-server places import FILE)\n");
        return 1;
    }
    if ((pv = places_find_province(pl, province)) < 0) {
        n = places_suggest_province(pl, province, sug, 3);
        fprintf(stderr, "rozgar-server: unknown province '%.100s'", province);
        print_suggestions(stderr, sug, n);
        fputs(" (rozgar-server places lists the list in force)\n", stderr);
        return 1;
    }
    *prov_out = places_province_name(pl, (size_t)pv);
    if ((*dist_out = places_find_district(pl, pv, district, NULL)))
        return 0;
    if (places_find_district(pl, -1, district, &other) && other >= 0) {
        fprintf(stderr, "rozgar-server: district '%.100s' is in %s, not in %s\n", district,
                places_province_name(pl, (size_t)other), *prov_out);
        return 1;
    }
    n = places_suggest_district(pl, pv, district, sug, 3);
    fprintf(stderr, "rozgar-server: unknown district '%.100s' in %s", district, *prov_out);
    print_suggestions(stderr, sug, n);
    fputc('\n', stderr);
    return 1;
}

static int
cmd_enroll(log_store *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"token", required_argument, 0, 't'},     {"centre", required_argument, 0, 'c'},
        {"programme", required_argument, 0, 'p'}, {"province", required_argument, 0, 'v'},
        {"district", required_argument, 0, 'i'},  {0, 0, 0, 0}};
    const char *token = NULL, *centre = NULL, *prog = NULL, *province = NULL, *district = NULL;
    uint8_t node_id[RZ_NODE_ID_BYTES], pk[RZ_PK_BYTES];
    rz_error err = {0, ""};
    int c, programme;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': token = optarg; break;
        case 'c': centre = optarg; break;
        case 'p': prog = optarg; break;
        case 'v': province = optarg; break;
        case 'i': district = optarg; break;
        default: usage(); return 1;
        }
    }
    if (!token || !centre || !prog || !province || !district || !*centre || !*province ||
        !*district) {
        fprintf(stderr, "rozgar-server: enroll needs --token --centre --programme --province"
                        " --district\n");
        return 1;
    }
    if (parse_token(token, node_id, pk) != 0) {
        fprintf(stderr, "rozgar-server: malformed enroll token (want rz1:<16 hex>:<64 hex>)\n");
        return 1;
    }
    if ((programme = programme_parse(prog)) == 0) {
        fprintf(stderr, "rozgar-server: unknown programme '%s' (e-rozgar, innovista, other)\n",
                prog);
        return 1;
    }
    if (strlen(centre) > 200 || strlen(province) > 100 || strlen(district) > 100) {
        fprintf(stderr, "rozgar-server: names are limited to 200/100/100 bytes\n");
        return 1;
    }
    if (resolve_place(province, district, &province, &district))
        return 1;
    if (log_store_enroll(s, node_id, pk, centre, programme, province, district, &err))
        return fail(&err);
    {
        char idhex[2 * RZ_NODE_ID_BYTES + 1], pkhex[2 * RZ_PK_BYTES + 1], prog_s[16];
        hex_encode(idhex, node_id, RZ_NODE_ID_BYTES);
        hex_encode(pkhex, pk, RZ_PK_BYTES);
        snprintf(prog_s, sizeof prog_s, "%d", programme);
        note_decision("enroll",
                      (const char *const[]){idhex, pkhex, prog_s, centre, province, district}, 6);
    }
    printf("enrolled node %.16s at centre '%s' (%s, %s, %s)\n", token + 4, centre,
           programme_name((uint64_t)programme), district, province);
    return 0;
}

static int
node_arg(const char *hex, uint8_t node_id[RZ_NODE_ID_BYTES])
{
    if (!hex || hex_decode(node_id, RZ_NODE_ID_BYTES, hex) != 0) {
        fprintf(stderr, "rozgar-server: NODE must be 16 hex digits\n");
        return 1;
    }
    return 0;
}

static int
cmd_node_change(log_store *s, const char *cmd, int argc, char **argv)
{
    uint8_t node_id[RZ_NODE_ID_BYTES], pk[RZ_PK_BYTES], tok_node[RZ_NODE_ID_BYTES];
    rz_error err = {0, ""};
    int rc;
    if (argc < 2 || node_arg(argv[1], node_id))
        return 1;
    if (strcmp(cmd, "revoke") == 0) {
        rc = log_store_revoke(s, node_id, &err);
    } else {
        if (argc < 4 || strcmp(argv[2], "--token") != 0 ||
            parse_token(argv[3], tok_node, pk) != 0 ||
            memcmp(tok_node, node_id, RZ_NODE_ID_BYTES) != 0) {
            fprintf(stderr, "rozgar-server: rekey NODE --token rz1:<same node>:<new key>\n");
            return 1;
        }
        rc = log_store_rekey(s, node_id, pk, &err);
    }
    if (rc)
        return fail(&err);
    if (strcmp(cmd, "revoke") == 0) {
        note_decision("revoke", (const char *const[]){argv[1]}, 1);
    } else {
        char pkhex[2 * RZ_PK_BYTES + 1];
        hex_encode(pkhex, pk, RZ_PK_BYTES);
        note_decision("rekey", (const char *const[]){argv[1], pkhex}, 2);
    }
    printf("%s: node %s done\n", cmd, argv[1]);
    return 0;
}

/* new-epoch NODE [--force --reason TEXT]: PROTOCOL 7.  A new epoch is for a
 * node whose fork headquarters has evidence of (a forked batch or the
 * node's own FORK_REPORT in its current epoch); without it, only with
 * --force and a reason, which is kept as fork evidence and logged. */
static int
cmd_new_epoch(log_store *s, int argc, char **argv)
{
    uint8_t node_id[RZ_NODE_ID_BYTES];
    const char *reason = NULL;
    rz_error err = {0, ""};
    log_node n;
    int64_t evidence = 0;
    int force = 0, i;
    if (argc < 2 || node_arg(argv[1], node_id))
        return 1;
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0)
            force = 1;
        else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
            reason = argv[++i];
        else {
            fprintf(stderr, "rozgar-server: new-epoch NODE [--force --reason TEXT]\n");
            return 1;
        }
    }
    if (force && (!reason || !*reason || strlen(reason) > 300)) {
        fprintf(stderr, "rozgar-server: --force needs --reason TEXT (1..300 bytes): it is kept "
                        "with the fork evidence\n");
        return 1;
    }
    if (log_store_node_get(s, node_id, &n, &err) ||
        forkreport_count(s, node_id, n.epoch, &evidence, &err))
        return fail(&err);
    if (evidence == 0 && !force) {
        fprintf(stderr,
                "rozgar-server: no fork is recorded for node %s in epoch %u (no forked batch, no "
                "fork report; see rozgar-server forks): a new epoch is for a fork headquarters has "
                "examined. If the evidence cannot reach the server, use --force --reason TEXT\n",
                argv[1], n.epoch);
        return 1;
    }
    if (evidence == 0) {
        if (forkreport_forced(s, node_id, reason, &err))
            return fail(&err);
        log_warnx("new-epoch forced for node %s without fork evidence: %s", argv[1], reason);
    }
    if (log_store_new_epoch(s, node_id, &err))
        return fail(&err);
    {
        char ep[16];
        snprintf(ep, sizeof ep, "%u", n.epoch + 1);
        note_decision("new-epoch", (const char *const[]){argv[1], ep}, 2);
    }
    printf("new-epoch: node %s now at epoch %u\n", argv[1], n.epoch + 1);
    return 0;
}

/* A node named by its 16 hex digits or by a unique prefix of them (at
 * least 4), as `nodes` lists them.  Returns 0 or 1 (message printed). */
typedef struct node_prefix {
    const char *text; /* what was typed, lower-cased */
    size_t len;       /* its length */
    int matches;      /* nodes it names */
    uint8_t id[RZ_NODE_ID_BYTES];
} node_prefix;

static int
node_prefix_fn(const log_node *n, void *arg)
{
    node_prefix *p = arg;
    char hex[2 * RZ_NODE_ID_BYTES + 1];
    hex_encode(hex, n->node_id, RZ_NODE_ID_BYTES);
    if (strncmp(hex, p->text, p->len) == 0) {
        memcpy(p->id, n->node_id, RZ_NODE_ID_BYTES);
        p->matches++;
    }
    return 0;
}

static int
node_resolve(log_store *s, const char *text, uint8_t node_id[RZ_NODE_ID_BYTES])
{
    char low[2 * RZ_NODE_ID_BYTES + 1];
    node_prefix p = {low, 0, 0, {0}};
    rz_error err = {0, ""};
    size_t i, n = text ? strlen(text) : 0;
    if (n == 2 * RZ_NODE_ID_BYTES)
        return node_arg(text, node_id);
    for (i = 0; i < n && i < 2 * RZ_NODE_ID_BYTES; i++) {
        char ch = text[i];
        if (ch >= 'A' && ch <= 'F')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            break;
        low[i] = ch;
    }
    if (n < 4 || i != n) {
        fprintf(stderr, "rozgar-server: NODE must be 16 hex digits or at least 4 of them"
                        " (rozgar-server nodes lists them)\n");
        return 1;
    }
    low[n] = '\0';
    p.len = n;
    if (log_store_nodes(s, node_prefix_fn, &p, &err))
        return fail(&err);
    if (p.matches != 1) {
        fprintf(stderr,
                "rozgar-server: '%s' names %s enrolled node (rozgar-server nodes lists "
                "them)\n",
                text, p.matches ? "more than one" : "no");
        return 1;
    }
    memcpy(node_id, p.id, RZ_NODE_ID_BYTES);
    return 0;
}

/* recover-grant NEW --from OLD | --list: README "A replaced PC". */
static int
cmd_recover_grant(log_store *s, int argc, char **argv)
{
    uint8_t new_id[RZ_NODE_ID_BYTES], old_id[RZ_NODE_ID_BYTES];
    char nh[2 * RZ_NODE_ID_BYTES + 1], oh[2 * RZ_NODE_ID_BYTES + 1];
    char pkh[2 * RZ_PK_BYTES + 1], gms[24];
    rz_error err = {0, ""};
    recovery_grant g;
    int revoked = 0;
    int cancel = argc == 5 && strcmp(argv[1], "--cancel") == 0;
    if (argc == 2 && strcmp(argv[1], "--list") == 0)
        return recovery_grant_list(s, stdout, &err) ? fail(&err) : 0;
    if (cancel)
        argc--, argv++;
    if (argc != 4 || strcmp(argv[2], "--from") != 0) {
        fprintf(stderr, "rozgar-server: recover-grant NEW --from OLD | recover-grant --cancel NEW"
                        " --from OLD | recover-grant --list\n");
        return 1;
    }
    if (node_resolve(s, argv[1], new_id) || node_resolve(s, argv[3], old_id))
        return 1;
    if (cancel) {
        char ums[24];
        if (recovery_grant_cancel(s, new_id, old_id, (uint64_t)hlc_wall_ms(), &g, &err))
            return fail(&err);
        hex_encode(nh, new_id, RZ_NODE_ID_BYTES);
        hex_encode(oh, old_id, RZ_NODE_ID_BYTES);
        snprintf(gms, sizeof gms, "%llu", (unsigned long long)g.granted_ms);
        snprintf(ums, sizeof ums, "%llu", (unsigned long long)g.used_ms);
        note_decision("recover-cancel", (const char *const[]){nh, oh, gms, ums}, 4);
        log_info("recovery grant cancelled: node %s may no longer fetch the log of node %s", nh,
                 oh);
        printf("recover-grant: cancelled; node %s may no longer fetch the log of node %s\n", nh,
               oh);
        return 0;
    }
    if (recovery_grant_add(s, new_id, old_id, (uint64_t)hlc_wall_ms(), &g, &revoked, &err))
        return fail(&err);
    hex_encode(nh, new_id, RZ_NODE_ID_BYTES);
    hex_encode(oh, old_id, RZ_NODE_ID_BYTES);
    hex_encode(pkh, g.old_pk, RZ_PK_BYTES);
    snprintf(gms, sizeof gms, "%llu", (unsigned long long)g.granted_ms);
    if (revoked) {
        note_decision("revoke", (const char *const[]){oh}, 1);
        printf("recover-grant: node %s revoked (its key is refused from now on)\n", oh);
    }
    note_decision("recover-grant", (const char *const[]){nh, oh, pkh, gms}, 4);
    log_info("recovery granted: node %s may fetch the log of node %s once", nh, oh);
    printf("recover-grant: node %s may fetch the log of node %s once\n"
           "on the new PC: rozgar-node recover --from %s\n",
           nh, oh, oh);
    return 0;
}

/* "2026-11-30 15:12:04" (UTC) or "never". */
static void
utc_text(char out[32], int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0) {
        snprintf(out, 32, "never");
        return;
    }
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

#define SRV_STALE_DAYS 7 /* as the dashboard's default */

/* Last contact (a sync, even with nothing new) decides "silent"; last data
 * (a batch with new entries) is shown beside it. */
static int
cmd_nodes(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    rz_error err = {0, ""};
    int step, rc;
    int64_t now = (int64_t)time(NULL) * 1000;
    if (rz_db_prepare(db, &st,
                      "SELECT hex(n.node_id), c.name, c.province, c.district, n.epoch, n.head_seq,"
                      " coalesce(p.merged_seq, 0), n.revoked, n.quarantined, n.last_sync_ms,"
                      " n.clock_offset_ms, max(n.last_contact_ms, n.last_sync_ms)"
                      " FROM node n JOIN centre c USING(centre_id)"
                      " LEFT JOIN merge_pos p ON p.node_id = n.node_id ORDER BY c.name, n.node_id",
                      &err))
        return fail(&err);
    printf("%-16s  %-28s %-12s %-12s %5s %8s %8s %-11s %-19s  %-19s  %s\n", "node", "centre",
           "province", "district", "epoch", "head", "merged", "state", "last contact (UTC)",
           "last data (UTC)", "clock offset");
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        char data[32], contact[32], state[32];
        int64_t seen = sqlite3_column_int64(st, 11);
        utc_text(data, sqlite3_column_int64(st, 9));
        utc_text(contact, seen);
        if (sqlite3_column_int(st, 7))
            snprintf(state, sizeof state, "revoked");
        else if (sqlite3_column_int(st, 8))
            snprintf(state, sizeof state, "QUARANTINED");
        else if (seen <= 0)
            snprintf(state, sizeof state, "never");
        else if (now - seen > (int64_t)SRV_STALE_DAYS * 86400000)
            snprintf(state, sizeof state, "silent %lldd", (long long)((now - seen) / 86400000));
        else
            snprintf(state, sizeof state, "active");
        printf("%-16s  %-28.28s %-12.12s %-12.12s %5lld %8lld %8lld %-11s %-19s  %-19s  %+lld s\n",
               sqlite3_column_text(st, 0), sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
               sqlite3_column_text(st, 3), sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
               sqlite3_column_int64(st, 6), state, contact, data,
               (long long)(sqlite3_column_int64(st, 10) / 1000));
    }
    rc = rz_db_rows_end(db, step, &err, "node list");
    sqlite3_finalize(st);
    if (rc)
        return fail(&err);
    return 0;
}

static int
cmd_forks(log_store *s)
{
    sqlite3_stmt *st = NULL;
    rz_error err = {0, ""};
    int step, rc;
    int n = 0;
    if (rz_db_prepare(log_store_db(s), &st,
                      "SELECT id, hex(node_id), at_ms, epoch, seq, reason, length(batch)"
                      " FROM evidence.fork_evidence ORDER BY id",
                      &err))
        return fail(&err);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        printf("fork #%lld node %s epoch %lld seq %lld: %s (%lld bytes kept)\n",
               sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1), sqlite3_column_int64(st, 3),
               sqlite3_column_int64(st, 4), sqlite3_column_text(st, 5),
               sqlite3_column_int64(st, 6));
        n++;
    }
    rc = rz_db_rows_end(log_store_db(s), step, &err, "fork reports");
    sqlite3_finalize(st);
    if (rc)
        return fail(&err);
    printf("%d fork report%s\n", n, n == 1 ? "" : "s");
    return 0;
}

/* Person records linked into one person by a shared valid CNIC (the CNIC
 * itself is never shown: the link is a keyed token).  With a person id,
 * only that person's cluster.  The first record of a group gives the place. */
static int
cmd_linked(sqlite3 *db, const char *person_hex)
{
    sqlite3_stmt *st = NULL;
    rz_error err = {0, ""};
    int step, rc;
    uint8_t pid[16];
    int groups = 0;
    uint8_t last[16]; /* link of the previous row */
    int have_last = 0;
    if (person_hex && hex_decode(pid, 16, person_hex) != 0) {
        fprintf(stderr, "rozgar-server: PERSON_ID must be 32 hex digits\n");
        return 1;
    }
    if (rz_db_prepare(db, &st,
                      "SELECT p.link, hex(p.id), c.name, c.province, p.reg_date FROM st_person p"
                      " JOIN centre c USING(centre_id) WHERE p.link IN (SELECT link FROM st_person"
                      " WHERE link IS NOT NULL AND (?1 IS NULL OR link = (SELECT link FROM"
                      " st_person WHERE id = ?1)) GROUP BY link HAVING count(*) > 1)"
                      " ORDER BY p.link, p.created",
                      &err))
        return fail(&err);
    if (person_hex)
        sqlite3_bind_blob(st, 1, pid, 16, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *link = sqlite3_column_blob(st, 0);
        int first;
        if (sqlite3_column_bytes(st, 0) != 16)
            continue; /* links are 16-byte CNIC tokens */
        /* Rows come ordered by link: a new link starts a new person. */
        first = !have_last || memcmp(last, link, 16) != 0;
        memcpy(last, link, 16);
        have_last = 1;
        if (first)
            printf("person %d (counted once, place of the first record):\n", ++groups);
        printf("  %s  %-28s %-20s registered %lld%s\n", sqlite3_column_text(st, 1),
               sqlite3_column_text(st, 2), sqlite3_column_text(st, 3), sqlite3_column_int64(st, 4),
               first ? "  <- place" : "");
    }
    rc = rz_db_rows_end(db, step, &err, "linked persons");
    sqlite3_finalize(st);
    if (rc)
        return fail(&err);
    printf("%d person%s registered more than once (same CNIC)\n", groups, groups == 1 ? "" : "s");
    return 0;
}

/* The enrollment register: every version, oldest first. */
static int
cmd_register(log_store *s)
{
    sqlite3_stmt *st = NULL;
    rz_error err = {0, ""};
    int step, rc;
    if (rz_db_prepare(log_store_db(s), &st,
                      "SELECT version, at_ms, action, CASE WHEN node_id = zeroblob(8) THEN '-'"
                      " ELSE hex(node_id) END, coalesce(centre, ''),"
                      " coalesce(province, ''), coalesce(district, ''), hex(sign_pk), from_seq,"
                      " epoch FROM register ORDER BY version",
                      &err))
        return fail(&err);
    printf("%-7s %-19s %-9s %-16s %-9s %s\n", "version", "at (UTC)", "action", "node", "from seq",
           "details");
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        char when[32];
        time_t t = (time_t)(sqlite3_column_int64(st, 1) / 1000);
        struct tm tm;
        const char *pk = (const char *)sqlite3_column_text(st, 7);
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        printf("%-7lld %-19s %-9s %-16s %-9lld epoch %lld %s%s%s%s%s%s%.16s\n",
               sqlite3_column_int64(st, 0), when, sqlite3_column_text(st, 2),
               sqlite3_column_text(st, 3), sqlite3_column_int64(st, 8), sqlite3_column_int64(st, 9),
               sqlite3_column_text(st, 4), *sqlite3_column_text(st, 4) ? " (" : "",
               sqlite3_column_text(st, 6), *sqlite3_column_text(st, 4) ? ", " : "",
               sqlite3_column_text(st, 5), *sqlite3_column_text(st, 4) ? ") " : "",
               pk && *pk ? pk : "");
    }
    rc = rz_db_rows_end(log_store_db(s), step, &err, "register");
    sqlite3_finalize(st);
    if (rc)
        return fail(&err);
    return 0;
}

/* centre rename CENTRE NEW-NAME | centre move CENTRE --province P
 * --district D: a new version of the register (log_store_centre_change).
 * Trainee counters by province, district and programme hold the place a
 * centre had when merged (server/merge.h): a move recounts them. */
static int
cmd_centre(log_store *s, state_store *ss, const srv_paths *paths, int argc, char **argv)
{
    const char *prov = NULL, *dist = NULL;
    rz_error err = {0, ""};
    int64_t version = 0;
    if (argc == 4 && strcmp(argv[1], "rename") == 0) {
        if (!*argv[3] || strlen(argv[3]) > 200) {
            fprintf(stderr, "rozgar-server: a centre name is 1..200 bytes\n");
            return 1;
        }
        if (log_store_centre_change(s, argv[2], argv[3], NULL, NULL, &version, &err))
            return fail(&err);
        note_decision("rename", (const char *const[]){argv[2], argv[3]}, 2);
        printf("register version %lld: centre '%s' renamed '%s'\n", (long long)version, argv[2],
               argv[3]);
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "move") == 0 &&
        ((strcmp(argv[3], "--province") == 0 && strcmp(argv[5], "--district") == 0) ||
         (strcmp(argv[3], "--district") == 0 && strcmp(argv[5], "--province") == 0))) {
        const char *p = strcmp(argv[3], "--province") == 0 ? argv[4] : argv[6];
        const char *d = strcmp(argv[3], "--province") == 0 ? argv[6] : argv[4];
        if (resolve_place(p, d, &prov, &dist))
            return 1;
        if (log_store_centre_change(s, argv[2], NULL, prov, dist, &version, &err))
            return fail(&err);
        note_decision("move", (const char *const[]){argv[2], prov, dist}, 3);
        printf("register version %lld: centre '%s' moved to %s, %s\n", (long long)version, argv[2],
               dist, prov);
        if (rebuild_apply(s, ss, paths->dir, NULL, &err))
            return fail(&err);
        printf("trainees by place recounted under version %lld\n", (long long)version);
        return 0;
    }
    fprintf(stderr, "usage: rozgar-server -d DIR centre rename CENTRE NEW-NAME\n"
                    "       rozgar-server -d DIR centre move CENTRE --province P --district D\n");
    return 1;
}

/* totals ... --register-version N: every place as the enrollment register
 * stood at version N (server/regview.h). */
static int
totals_as_of(sqlite3 *db, int argc, char **argv, rz_error *err)
{
    char *args[64];
    int64_t version = -1;
    int n = 0, i, rc;
    for (i = 0; i < argc && n < 63; i++) {
        if (strcmp(argv[i], "--register-version") == 0 && i + 1 < argc) {
            if ((rc = regview_parse(argv[++i], &version, err)))
                return rc;
        } else {
            args[n++] = argv[i];
        }
    }
    args[n] = NULL;
    if ((rc = regview_begin(db, version, err)))
        return rc;
    rc = n == 1 ? query_summary(db, stdout, 0, err) : query_cli(db, n, args, stdout, err);
    (void)regview_end(db);
    return rc;
}

/* Raises the soft descriptor limit to the hard one.  At the soft limit
 * libzmq's accept loop spins at full CPU and connected nodes wait behind it
 * (PROTOCOL §10); the hard limit is what the administrator granted. */
static void
raise_nofile(void)
{
    struct rlimit rl;
    rlim_t was;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            log_warnx("cannot raise the descriptor limit from %llu to %llu: %s",
                      (unsigned long long)was, (unsigned long long)rl.rlim_max, strerror(errno));
            return;
        }
    }
    log_info("descriptor limit %llu (was %llu)", (unsigned long long)rl.rlim_cur,
             (unsigned long long)was);
}

static int
cmd_run(log_store *s, const srv_paths *p, int argc, char **argv)
{
    static const struct option opts[] = {{"bind", required_argument, 0, 'b'},
                                         {"http", required_argument, 0, 'h'},
                                         {"public", required_argument, 0, 'P'},
                                         {"tls-cert", required_argument, 0, 'C'},
                                         {"tls-key", required_argument, 0, 'K'},
                                         {"merge-window", required_argument, 0, 'W'},
                                         {0, 0, 0, 0}};
    uint64_t window = 0;
    serve_opts o = {"tcp://127.0.0.1:7700", NULL, NULL, p->dir, NULL, NULL, NULL};
    rz_identity id;
    rz_error err = {0, ""};
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o.endpoint = optarg; break;
        case 'h': o.http_addr = optarg; break;
        case 'P': o.public_addr = optarg; break;
        case 'C': o.tls_cert = optarg; break;
        case 'K': o.tls_key = optarg; break;
        case 'W': {
            char *end = NULL;
            unsigned long long w = strtoull(optarg, &end, 10);
            if (!*optarg || *end || w < 10 || w > 1000000) {
                fprintf(stderr, "rozgar-server: --merge-window is 10..1000000 entries\n");
                return 1;
            }
            window = w;
            break;
        }
        default: usage(); return 1;
        }
    }
    if (identity_load(&id, p->key, &err))
        return fail(&err);
    raise_nofile();
    /* Frames of up to 1 MiB arrive in buffers of their size; served from
     * mmap they go back to the system when a connection closes, instead of
     * staying in the heap after a burst (PROTOCOL §10). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    /* The merger follows the logs in its own thread; a failure to start
     * it is fatal here, its later storage errors are retried inside. */
    if (merger_start(&o.merger, p->dir, window, &err)) {
        identity_wipe(&id);
        return fail(&err);
    }
    rc = serve_run(s, &id, &o, &err);
    merger_stop(&o.merger);
    identity_wipe(&id);
    return rc ? fail(&err) : 0;
}

/* 1 when any node's entries have been merged into the state. */
static int
has_merged_state(state_store *ss)
{
    sqlite3_stmt *st = NULL;
    int any = 0;
    if (rz_db_prepare(state_store_db(ss), &st,
                      "SELECT EXISTS (SELECT 1 FROM merge_pos WHERE merged_seq > 0)", NULL))
        return 1; /* cannot tell: recount, which is always correct */
    if (sqlite3_step(st) == SQLITE_ROW)
        any = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return any;
}

/* An imported places list must survive a restore from an older backup: the
 * list goes beside the journal (too big for a record), then the decision
 * names it by its SHA-256 (server/journal.h). */
static void
journal_places(const char *text, size_t len)
{
    uint8_t h[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1], name[96];
    rz_error err = {0, ""};
    crypto_hash_sha256(h, (const unsigned char *)text, len);
    hex_encode(hex, h, sizeof h);
    snprintf(name, sizeof name, "places-%s.tsv", hex);
    if (srv_dir && journal_attach(srv_dir, name, text, len, &err) != 0) {
        fprintf(stderr,
                "rozgar-server: WARNING: places import done but its list not kept beside the"
                " journal (%s); take a backup now\n",
                err.text);
        return;
    }
    note_decision("places-import", (const char *const[]){hex}, 1);
}

/* The master list of places: its versions, an import, a name checked. */
static int
cmd_places(log_store *s, state_store *ss, const srv_paths *p, int argc, char **argv)
{
    rz_error err = {0, ""};
    const char *sub = argc > 1 ? argv[1] : "list";
    if (strcmp(sub, "list") == 0 && argc <= 2)
        return placelist_write(log_store_db(s), stdout, &err) ? fail(&err) : 0;
    if (strcmp(sub, "show") == 0 && argc == 3) {
        char *end = NULL;
        long long v = strtoll(argv[2], &end, 10);
        if (!*argv[2] || *end || v < 1) {
            fprintf(stderr, "rozgar-server: places show VERSION (a number, see rozgar-server "
                            "places)\n");
            return 1;
        }
        return placelist_show(log_store_db(s), v, stdout, &err) ? fail(&err) : 0;
    }
    if (strcmp(sub, "check") == 0 && (argc == 3 || argc == 4)) {
        const places *pl = places_active();
        const char *prov = NULL, *dist = NULL, *sug[PLACES_SUGGEST_MAX];
        int pv;
        size_t n, i;
        if (!pl) {
            fprintf(stderr, "rozgar-server: no places list in force\n");
            return 1;
        }
        if (argc == 4)
            return resolve_place(argv[3], argv[2], &prov, &dist)
                       ? 1
                       : (printf("district %s, province %s\n", dist, prov), 0);
        if ((pv = places_find_province(pl, argv[2])) >= 0) {
            printf("province %s\n", places_province_name(pl, (size_t)pv));
            return 0;
        }
        if ((dist = places_find_district(pl, -1, argv[2], &pv))) {
            printf("district %s, province %s\n", dist, places_province_name(pl, (size_t)pv));
            return 0;
        }
        n = places_suggest_district(pl, -1, argv[2], sug, PLACES_SUGGEST_MAX);
        printf("unknown: '%.100s'%s", argv[2], n ? "; closest:" : "\n");
        for (i = 0; i < n; i++)
            printf(" %s%s", sug[i], i + 1 == n ? "\n" : ",");
        return 1;
    }
    if (strcmp(sub, "import") == 0 && argc == 3) {
        places *pl = NULL;
        char *text = NULL;
        size_t len = 0;
        int64_t version = 0;
        int rc;
        if ((rc = places_load_text(&pl, &text, &len, argv[2], &err)))
            return fail(&err);
        rc = placelist_import(log_store_db(s), pl, text, len, argv[2], &version, &err);
        if (rc == 0)
            journal_places(text, len);
        free(text);
        if (rc) {
            places_destroy(&pl);
            return fail(&err);
        }
        printf("places version %lld: '%s' imported from %s\n", (long long)version,
               places_version(pl), argv[2]);
        places_destroy(&pl);
        /* Homes are counted under the list in force: recount them all.  A
         * running server takes the new version by itself (placelist_refresh). */
        if (placelist_activate(log_store_db(s), NULL, NULL, &err) ||
            rebuild_apply(s, ss, p->dir, stdout, &err))
            return fail(&err);
        return 0;
    }
    fprintf(stderr, "usage: rozgar-server -d DIR places [list | show VERSION | import FILE | "
                    "check NAME [PROVINCE]]\n");
    return 1;
}

/* bundle import FILE --receipt OUT (PROTOCOL.md §11). */
static int
cmd_bundle(log_store *s, const srv_paths *p, int argc, char **argv)
{
    const char *file = NULL, *out = NULL;
    char hex[2 * RZ_NODE_ID_BYTES + 1];
    bundle_import_result res;
    rz_identity id;
    rz_error err = {0, ""};
    int i, rc;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--receipt") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (i == 1 && strcmp(argv[i], "import") == 0)
            continue;
        else if (!file && argv[i][0] != '-')
            file = argv[i];
        else
            break;
    }
    if (argc < 2 || strcmp(argv[1], "import") != 0 || !file || !out || i < argc) {
        fprintf(stderr, "usage: rozgar-server -d DIR bundle import FILE --receipt OUT\n");
        return 1;
    }
    if (identity_load(&id, p->key, &err))
        return fail(&err);
    rc = bundle_import(s, &id, file, out, &res, &err);
    identity_wipe(&id);
    if (rc) {
        if (rc == RZ_E_IO && res.batches)
            fprintf(stderr, "rozgar-server: %s\n", err.text);
        else
            fprintf(stderr, "rozgar-server: bundle %s refused, nothing stored: %s\n", file,
                    err.text);
        return rc == RZ_E_IO ? 2 : 1;
    }
    hex_encode(hex, res.h.node_id, RZ_NODE_ID_BYTES);
    if (res.applied > 0) {
        /* Acknowledged by receipt: the journal's loss report after a
         * restore must know it, as for a live sync (server/journal.h). */
        char ep[16], seq[24];
        snprintf(ep, sizeof ep, "%u", res.h.epoch);
        snprintf(seq, sizeof seq, "%llu", (unsigned long long)res.h.last_seq);
        note_decision("head", (const char *const[]){hex, ep, seq}, 3);
    }
    printf("bundle: node %s, seq %llu..%llu in %llu batch%s, %llu entries new to the server%s; "
           "receipts in %s (give them to the centre: rozgar-node bundle receipts FILE)\n",
           hex, (unsigned long long)res.h.first_seq, (unsigned long long)res.h.last_seq,
           (unsigned long long)res.batches, res.batches == 1 ? "" : "es",
           (unsigned long long)res.applied,
           res.closed ? ", closed for merging at the import time" : "", out);
    return 0;
}

/* The erasure goes into the register of lawful requests (auth.db) with
 * who ran it and why; an erasure that cannot be registered still stands,
 * with a warning to register it by hand. */
static void
erase_register(const char *dir, const char *hex, int n, const char *reason)
{
    httpauth *a = NULL;
    rz_error err = {0, ""};
    char detail[300];
    const char *who = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");
    snprintf(detail, sizeof(detail), "%d value%s erased; reason: %.200s", n, n == 1 ? "" : "s",
             reason ? reason : "(none given)");
    if (httpauth_open(&a, dir, &err) ||
        httpauth_register_add(a, "erase", who && *who ? who : "console", hex, detail, &err))
        log_warnx("erasure of %s not in the lawful register: %s", hex, err.text);
    httpauth_destroy(&a);
}

static int
cmd_erase(log_store *s, const srv_paths *p, int argc, char **argv)
{
    const char *hex = argc > 1 ? argv[1] : NULL, *reason = NULL;
    uint8_t id[16];
    rz_error err = {0, ""};
    int n = 0;
    if (argc == 4 && strcmp(argv[2], "--reason") == 0)
        reason = argv[3];
    else if (argc != 2) {
        fprintf(stderr, "rozgar-server: erase PERSON_ID [--reason TEXT]\n");
        return 1;
    }
    if (!hex || hex_decode(id, 16, hex) != 0) {
        fprintf(stderr, "rozgar-server: PERSON_ID must be 32 hex digits\n");
        return 1;
    }
    if (rebuild_erase_person(s, id, &n, &err))
        return fail(&err);
    erase_register(p->dir, hex, n, reason);
    note_decision("erase", (const char *const[]){hex}, 1);
    printf("erased %d personal value%s of person %s; logs still verify\n", n, n == 1 ? "" : "s",
           hex);
    return 0;
}

static void
print_ms_utc(char *buf, size_t n, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms == 0) {
        snprintf(buf, n, "never");
        return;
    }
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* Waits until every entry a clock entry bounds is counted.  With no
 * server merging (the lock is free) this process catches up itself. */
static int
totals_wait(log_store *ls, state_store *ss, const char *dir, double timeout_s, rz_error *err)
{
    uint64_t start = hlc_wall_ms();
    int rc;
    for (;;) {
        sqlite3 *db = NULL;
        state_progress pr;
        int lockfd = -1;
        struct timespec ts = {0, 100 * 1000000L};
        if ((rc = state_store_reader_open(&db, dir, err)) ||
            (rc = state_store_progress(db, 0, &pr, err))) {
            rz_db_close(&db);
            return rc;
        }
        rz_db_close(&db);
        if (pr.counted >= pr.mergeable)
            return 0;
        if (pr.paused)
            return rz_fail(err, RZ_E_BUSY,
                           "merging is paused with %llu entries not counted"
                           " (rozgar-server merge resume)",
                           (unsigned long long)(pr.mergeable - pr.counted));
        if (merger_lock(dir, &lockfd, NULL) == 0) {
            merger *m = NULL;
            if ((rc = merger_new(&m, ls, ss, err)) == 0)
                rc = merger_catch_up(m, NULL, err);
            merger_destroy(&m);
            merger_unlock(&lockfd);
            if (rc)
                return rc;
            continue;
        }
        if (timeout_s > 0 && (double)(hlc_wall_ms() - start) / 1000.0 >= timeout_s)
            return rz_fail(err, RZ_E_TIMEOUT, "--wait: %llu of %llu entries counted after %.0f s",
                           (unsigned long long)pr.counted, (unsigned long long)pr.mergeable,
                           timeout_s);
        nanosleep(&ts, NULL);
    }
}

/* How far the totals have counted, under the summary. */
static int
totals_progress(sqlite3 *db, FILE *out, rz_error *err)
{
    state_progress pr;
    char when[40];
    int rc = state_store_progress(db, 0, &pr, err);
    if (rc)
        return rc;
    print_ms_utc(when, sizeof when, pr.last_merge_ms);
    fprintf(out,
            "counted: %llu of %llu log entries received (%llu waiting to be merged, %llu waiting"
            " for their node's next clock entry); last merge %s%s\n",
            (unsigned long long)pr.counted, (unsigned long long)pr.received,
            (unsigned long long)(pr.mergeable - pr.counted),
            (unsigned long long)(pr.received - pr.mergeable), when,
            pr.paused ? "; merging is PAUSED" : "");
    return 0;
}

static int
cmd_totals(log_store *ls, state_store *ss, const srv_paths *p, int argc, char **argv)
{
    char **args = xcalloc((size_t)argc + 1, sizeof *args);
    int nargs = 0, i, rc = 0, wait = 0;
    double timeout_s = 0;
    rz_error err = {0, ""};
    sqlite3 *db = NULL;

    /* --wait and --timeout are this command's; the rest is the query's. */
    for (i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--wait") == 0) {
            wait = 1;
        } else if (i > 0 && strcmp(argv[i], "--timeout") == 0) {
            char *end = NULL;
            if (i + 1 >= argc || (timeout_s = strtod(argv[i + 1], &end)) <= 0 || *end) {
                fprintf(stderr, "rozgar-server: --timeout needs a number of seconds > 0\n");
                free(args);
                return 1;
            }
            i++;
        } else {
            args[nargs++] = argv[i];
        }
    }
    if (wait && (rc = totals_wait(ls, ss, p->dir, timeout_s, &err)))
        goto out;
    if ((rc = state_store_reader_open(&db, p->dir, &err)))
        goto out;
    if (nargs == 1) {
        rc = query_summary(db, stdout, 0, &err) || totals_progress(db, stdout, &err);
    } else {
        int text = 1;
        for (i = 1; i + 1 < nargs; i++)
            if (strcmp(args[i], "--format") == 0)
                text = strcmp(args[i + 1], "text") == 0;
        /* JSON carries "counting" (query_write); CSV stays rows only. */
        rc =
            query_cli(db, nargs, args, stdout, &err) || (text && totals_progress(db, stdout, &err));
    }
out:
    rz_db_close(&db);
    free(args);
    return rc ? fail(&err) : 0;
}

static int
cmd_merge(state_store *ss, const srv_paths *p, const char *what)
{
    rz_error err = {0, ""};
    sqlite3 *db = NULL;
    int rc = 0;
    if (what && (strcmp(what, "pause") == 0 || strcmp(what, "resume") == 0)) {
        if (state_store_set_paused(ss, strcmp(what, "pause") == 0, &err))
            return fail(&err);
        printf("merging %s; batches are acknowledged either way\n",
               strcmp(what, "pause") == 0 ? "paused" : "resumed");
        return 0;
    }
    if (!what || strcmp(what, "status") != 0) {
        fprintf(stderr, "rozgar-server: merge pause | resume | status\n");
        return 1;
    }
    if ((rc = state_store_reader_open(&db, p->dir, &err)) == 0)
        rc = totals_progress(db, stdout, &err);
    rz_db_close(&db);
    return rc ? fail(&err) : 0;
}

/* backup DIR: while the server runs (server/backup.h). */
static int
cmd_backup(const srv_paths *p, int argc, char **argv)
{
    rz_error err = {0, ""};
    if (argc != 2) {
        fprintf(stderr, "usage: rozgar-server -d DIR backup BACKUP_DIR\n");
        return 1;
    }
    return backup_run(p->dir, argv[1], stdout, &err) ? fail(&err) : 0;
}

/* restore BACKUP_DIR: the server stopped; exit 0 even with gaps (they are
 * listed; `gaps` tells when the nodes have re-sent them). */
static int
cmd_restore(const srv_paths *p, int argc, char **argv)
{
    rz_error err = {0, ""};
    if (argc != 2) {
        fprintf(stderr, "usage: rozgar-server -d DIR restore BACKUP_DIR\n");
        return 1;
    }
    return backup_restore(p->dir, argv[1], stdout, &err) ? fail(&err) : 0;
}

/* gaps: exit 0 when none, 4 when acknowledged ranges are missing. */
static int
cmd_gaps(const srv_paths *p)
{
    rz_error err = {0, ""};
    int n = 0;
    if (backup_gaps(p->dir, stdout, &n, &err))
        return fail(&err);
    return n ? 4 : 0;
}

int
main(int argc, char **argv)
{
    static const struct option gopts[] = {{"help", no_argument, 0, 'h'},
                                          {"version", no_argument, 0, 'V'},
                                          {"dir", required_argument, 0, 'd'},
                                          {0, 0, 0, 0}};
    srv_paths p;
    const char *dir = getenv("RZ_SERVER_DIR"), *cmd;
    const srv_cmd *known;
    rz_error err = {0, ""};
    log_store *s = NULL;
    state_store *ss = NULL;
    sqlite3 *rd = NULL;
    int rc, verbose = 0, c, imported = 0;

    while ((c = getopt_long(argc, argv, "+d:vh", gopts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'v': verbose++; break;
        case 'h': usage_to(stdout); return 0;
        case 'V': printf("rozgar-server %s\n", RZ_VERSION); return 0;
        default: usage(); return 1;
        }
    }
    log_init("rozgar-server", LOG_LVL_INFO + verbose);
    if (optind >= argc) {
        usage();
        return 1;
    }
    cmd = argv[optind];
    argc -= optind;
    argv += optind;
    if (!(known = cmd_find(cmd))) {
        fprintf(stderr,
                "rozgar-server: unknown command '%.60s' (rozgar-server --help lists them)\n", cmd);
        return 1;
    }
    if (wants_help(argc, argv)) {
        cmd_help(known);
        return 0;
    }
    if (!dir) {
        fprintf(stderr, "rozgar-server: %s needs the data directory: -d DIR or $RZ_SERVER_DIR\n",
                cmd);
        return 1;
    }
    if (crypto_init() != 0)
        fatalx("libsodium failed to initialise");
    if (strlen(dir) > 2000) {
        fprintf(stderr, "rozgar-server: data directory path too long\n");
        return 1;
    }
    snprintf(p.dir, sizeof p.dir, "%s", dir);
    snprintf(p.key, sizeof p.key, "%s/server.key", dir);
    snprintf(p.db, sizeof p.db, "%s/server.db", dir);
    if (strcmp(cmd, "init") == 0)
        return cmd_init(&p);
    if (strcmp(cmd, "pubkey") == 0)
        return cmd_pubkey(&p);
    srv_dir = p.dir;
    if (strcmp(cmd, "restore") == 0)
        return cmd_restore(&p, argc, argv);
    if (access(p.db, F_OK) != 0) {
        fprintf(stderr, "rozgar-server: %s is not a server directory (run init)\n", dir);
        return 1;
    }
    if (strcmp(cmd, "backup") == 0)
        return cmd_backup(&p, argc, argv);
    if (strcmp(cmd, "gaps") == 0)
        return cmd_gaps(&p);
    if (strcmp(cmd, "account") == 0 || strcmp(cmd, "token") == 0 || strcmp(cmd, "lawful") == 0)
        return httpauth_cli(p.dir, argc, argv);
    /* Every command opens the database for writing (WAL needs it). */
    snprintf(p.state_db, sizeof p.state_db, "%s/%s", dir, STATE_STORE_FILE);
    if (check_writable("data directory", p.dir) || check_writable("database", p.db) ||
        check_writable("database", p.state_db))
        return 2;
    if (log_store_open(&s, p.dir, &err) || state_store_open(&ss, p.dir, &err)) {
        log_store_close(&s);
        return fail(&err);
    }
    /* The places list in force, before anything merges or matches a name. */
    if (placelist_activate(log_store_db(s), NULL, &imported, &err)) {
        if (err.code != RZ_E_NOTFOUND) {
            rc = fail(&err);
            goto out;
        }
        log_warnx("%s: every home district counts as unknown", err.text);
    } else if (imported && has_merged_state(ss)) {
        /* A database from before places were reference data: its homes
         * were counted as free text; recount them under the list. */
        log_info("places list imported as version 1; recounting home districts under it");
        if (rebuild_apply(s, ss, p.dir, NULL, &err))
            log_warnx("recount failed (%s): run `rozgar-server rebuild`", err.text);
    }
    if ((strcmp(cmd, "nodes") == 0 || strcmp(cmd, "linked") == 0 ||
         (strcmp(cmd, "totals") == 0 && has_arg(argc, argv, "--register-version"))) &&
        state_store_reader_open(&rd, p.dir, &err)) {
        rc = fail(&err);
        goto out;
    }
    if (strcmp(cmd, "enroll") == 0)
        rc = cmd_enroll(s, argc, argv);
    else if (strcmp(cmd, "nodes") == 0)
        rc = cmd_nodes(rd);
    else if (strcmp(cmd, "revoke") == 0 || strcmp(cmd, "rekey") == 0)
        rc = cmd_node_change(s, cmd, argc, argv);
    else if (strcmp(cmd, "new-epoch") == 0)
        rc = cmd_new_epoch(s, argc, argv);
    else if (strcmp(cmd, "recover-grant") == 0)
        rc = cmd_recover_grant(s, argc, argv);
    else if (strcmp(cmd, "forks") == 0)
        rc = cmd_forks(s);
    else if (strcmp(cmd, "register") == 0)
        rc = cmd_register(s);
    else if (strcmp(cmd, "linked") == 0)
        rc = cmd_linked(rd, argc > 1 ? argv[1] : NULL);
    else if (strcmp(cmd, "run") == 0)
        rc = cmd_run(s, &p, argc, argv);
    else if (strcmp(cmd, "centre") == 0)
        rc = cmd_centre(s, ss, &p, argc, argv);
    else if (strcmp(cmd, "totals") == 0 && has_arg(argc, argv, "--register-version"))
        rc = totals_as_of(rd, argc, argv, &err) ? fail(&err) : 0;
    else if (strcmp(cmd, "totals") == 0)
        rc = cmd_totals(s, ss, &p, argc, argv);
    else if (strcmp(cmd, "merge") == 0)
        rc = cmd_merge(ss, &p, argc > 1 ? argv[1] : NULL);
    else if (strcmp(cmd, "verify") == 0)
        rc = rebuild_verify(s, ss, p.dir, stdout, &err) ? (fail(&err), 3) : 0;
    else if (strcmp(cmd, "rebuild") == 0)
        rc = rebuild_apply(s, ss, p.dir, stdout, &err) ? fail(&err) : 0;
    else if (strcmp(cmd, "places") == 0)
        rc = cmd_places(s, ss, &p, argc, argv);
    else if (strcmp(cmd, "erase") == 0)
        rc = cmd_erase(s, &p, argc, argv);
    else if (strcmp(cmd, "bundle") == 0)
        rc = cmd_bundle(s, &p, argc, argv);
    else {
        fprintf(stderr, "rozgar-server: command '%s' is not available in this build\n", cmd);
        rc = 1;
    }
out:
    rz_db_close(&rd);
    state_store_close(&ss);
    log_store_close(&s);
    return rc;
}
