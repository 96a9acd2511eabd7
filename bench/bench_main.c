/*
 * rozgar-bench: the project's benchmark (docs/PERFORMANCE.md).
 *
 *   rozgar-bench [--size tiny|small|medium|national] [--centres C]
 *                [--people N] [--attendance M] [--concurrency K]
 *                [--server-bin PATH] [--workdir DIR] [--keep]
 *                [--rounds R] [--timeout-ms T] [--seed S]
 *                [--steady SECONDS] [--steady-interval S] [--steady-batch N]
 *                [--never-synced] [--queries-only [--reuse]]
 *
 * One run, on loopback with CurveZMQ on:
 *   1. generates the national data set (bench/gen.c) for C centres;
 *   2. every centre's node syncs once with an empty log, as a centre's
 *      app does when it is set up (unless --never-synced), then
 *      (client/node_store) records its share: the recording rate;
 *   3. the real rozgar-server runs as a child process; K centres sync their
 *      whole backlogs at once through client/node_sync: ingest rate, bytes
 *      per entry, the server's peak memory; then one more centre drains a
 *      30-day backlog alone; when the server counts behind its ACKs, the
 *      time until everything acknowledged is counted and the merge rate;
 *      then a steady load of small syncs from every centre and the merge
 *      lag under it (bench/steady.h, bench/mwatch.h);
 *   4. the dashboard's breakdowns are timed through server/query.h (and the
 *      JSON API over HTTP);
 *   5. the same rows go into a plain SQLite file with prepared INSERTs in
 *      transactions of RZ_BATCH_ENTRIES, WAL + synchronous=FULL: the
 *      reference every figure is divided by.
 * --queries-only skips 2, 3 and 5: the server's stores are made in-process
 * from the same data set through the server's merge code (bench/qstate.h),
 * minutes instead of the drain's half hour, and the query figures are
 * measured on them, exact date ranges (the day index against a scan of the
 * state tables) included; --reuse (with --workdir) measures again on the
 * stores an earlier --queries-only --keep run left (their state opened as the
 * merger opens it first, so a day index of an older layout is rebuilt).
 * It prints a table and, as the last line, one JSON object.  Exit status 0
 * when the run completed and the totals match the data (targets are goals,
 * reported, never asserted); 1 on usage errors; 2 when something failed.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "bench/drain.h"
#include "bench/gen.h"
#include "bench/micro.h"
#include "bench/mwatch.h"
#include "bench/qbench.h"
#include "bench/qstate.h"
#include "bench/record.h"
#include "bench/refdb.h"
#include "bench/report.h"
#include "bench/srvproc.h"
#include "bench/steady.h"
#include "common/crypto.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/msg.h"
#include "server/state_store.h"

typedef struct bench_size {
    const char *name;     /* --size value */
    uint32_t centres;     /* C */
    uint64_t people;      /* persons */
    uint64_t attendance;  /* attendance rows */
    uint32_t concurrency; /* K */
    int rounds;           /* query repetitions */
    double steady_s;      /* steady load: seconds */
    double interval_s;    /* each centre syncs once per interval */
    uint32_t per_sync;    /* records per sync */
} bench_size;

/* small/medium give every centre a backlog of about 10,000 entries (the
 * memory target's scenario at 300 centres); national is the full country. */
static const bench_size bench_sizes[] = {
    {"tiny", 4, 1000, 4000, 4, 20, 8, 2, 10},
    {"small", 30, 25500, 265000, 30, 200, 180, 6, 20},
    {"medium", 300, 255000, 2650000, 300, 200, 180, 6, 20},
    {"national", 300, 2400000, 25000000, 300, 200, 180, 6, 20},
};

typedef struct bench_opts {
    const char *size;      /* size name, "custom" when overridden */
    gen_config gen;        /* data set */
    uint32_t concurrency;  /* K */
    int rounds;            /* query repetitions */
    int timeout_ms;        /* node reply timeout during drains */
    steady_opts steady;    /* the steady load (duration_s 0: none) */
    char server_bin[4096]; /* rozgar-server */
    char workdir[2048];    /* where everything is written */
    int keep;              /* keep workdir */
    int queries_only;      /* --queries-only: stores made in-process, queries timed */
    int reuse;             /* --reuse: stores of an earlier --queries-only run */
    int index_alone;       /* --index-alone: ranges without the month counters */
    int never_synced;      /* --never-synced: no sync before recording */
    int own_workdir;       /* workdir was made by us */
} bench_opts;

typedef struct bench_run {
    bench_opts o;          /* options */
    gen_plan plan;         /* the national data set */
    gen_plan b30;          /* one centre's 30-day backlog */
    srvproc srv;           /* the server */
    char **node_dir;       /* one per centre (owned) */
    char b30_dir[4300];    /* the backlog centre's node */
    record_result rec;     /* recording, all centres */
    record_result b30_rec; /* recording of the backlog */
    mwatch *mw;            /* merge lag sampler while the server runs */
    double t0;             /* its time origin: just before the first HELLO */
    gen_plan steady;       /* records of the steady load */
    steady_result st;      /* what it did */
    bench_figures f;       /* results */
} bench_run;

static void
bench_usage(FILE *out)
{
    fprintf(out, "usage: rozgar-bench [--size tiny|small|medium|national] [--centres C]\n"
                 "                    [--people N] [--attendance M] [--concurrency K]\n"
                 "                    [--server-bin PATH] [--workdir DIR] [--keep]\n"
                 "                    [--rounds R] [--timeout-ms T] [--seed S]\n"
                 "                    [--steady SECONDS] [--steady-interval S] [--steady-batch N]\n"
                 "                    [--never-synced] [--queries-only [--reuse] [--index-alone]]\n"
                 "--queries-only: the server's stores merged in-process from the same data (no\n"
                 "nodes, network or log), then the dashboard's queries and exact date ranges\n"
                 "(day index against the state-table scan); --reuse: on an earlier run's\n"
                 "--workdir (kept with --keep); --index-alone: whole months of ranges from the\n"
                 "day index too, not from the month counters (the path before them)\n"
                 "steady load (after the drains; 0 s: none): every centre records N entries and\n"
                 "syncs them once per interval; 6 s is the real minute compressed ten times\n"
                 "--never-synced: the nodes record before they ever talked to the server, so\n"
                 "their logs carry no checkpoints and each backlog is counted only once its\n"
                 "last batch has arrived (default: one empty sync first, as a centre's app does)\n"
                 "sizes (centres / people / attendance / K):\n");
    for (size_t i = 0; i < sizeof bench_sizes / sizeof bench_sizes[0]; i++)
        fprintf(out, "  %-9s %u / %llu / %llu / %u\n", bench_sizes[i].name, bench_sizes[i].centres,
                (unsigned long long)bench_sizes[i].people,
                (unsigned long long)bench_sizes[i].attendance, bench_sizes[i].concurrency);
}

static void bench_progress(const char *fmt, ...) RZ_PRINTF(1, 2);

static void
bench_progress(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "[bench] ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int
bench_size_apply(bench_opts *o, const char *name)
{
    for (size_t i = 0; i < sizeof bench_sizes / sizeof bench_sizes[0]; i++)
        if (strcmp(bench_sizes[i].name, name) == 0) {
            o->size = bench_sizes[i].name;
            o->gen.centres = bench_sizes[i].centres;
            o->gen.people = bench_sizes[i].people;
            o->gen.attendance = bench_sizes[i].attendance;
            o->concurrency = bench_sizes[i].concurrency;
            o->rounds = bench_sizes[i].rounds;
            o->steady.duration_s = bench_sizes[i].steady_s;
            o->steady.interval_s = bench_sizes[i].interval_s;
            o->steady.per_sync = bench_sizes[i].per_sync;
            return 0;
        }
    return -1;
}

/* The server binary next to this one unless told otherwise. */
static void
bench_default_server(bench_opts *o)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash;
    if (n <= 0) {
        snprintf(o->server_bin, sizeof o->server_bin, "rozgar-server");
        return;
    }
    self[n] = '\0';
    if ((slash = strrchr(self, '/')))
        *slash = '\0';
    snprintf(o->server_bin, sizeof o->server_bin, "%.2000s/rozgar-server", self);
}

static int
bench_parse_u64(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long x;
    if (!s || !*s || *s == '-')
        return -1;
    x = strtoull(s, &end, 10);
    if (*end)
        return -1;
    *v = x;
    return 0;
}

static int
bench_parse(bench_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {{"size", required_argument, 0, 's'},
                                         {"centres", required_argument, 0, 'c'},
                                         {"people", required_argument, 0, 'p'},
                                         {"attendance", required_argument, 0, 'a'},
                                         {"concurrency", required_argument, 0, 'k'},
                                         {"server-bin", required_argument, 0, 'b'},
                                         {"workdir", required_argument, 0, 'w'},
                                         {"keep", no_argument, 0, 'K'},
                                         {"rounds", required_argument, 0, 'r'},
                                         {"timeout-ms", required_argument, 0, 't'},
                                         {"seed", required_argument, 0, 'S'},
                                         {"steady", required_argument, 0, 'L'},
                                         {"steady-interval", required_argument, 0, 'I'},
                                         {"steady-batch", required_argument, 0, 'B'},
                                         {"queries-only", no_argument, 0, 'Q'},
                                         {"reuse", no_argument, 0, 'R'},
                                         {"index-alone", no_argument, 0, 'X'},
                                         {"never-synced", no_argument, 0, 'N'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    uint64_t v;
    int c, custom = 0;

    memset(o, 0, sizeof *o);
    gen_config_defaults(&o->gen);
    bench_size_apply(o, "small");
    o->timeout_ms = 300000;
    bench_default_server(o);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            bench_usage(stdout);
            exit(0);
        }
        if (c == 's') {
            if (bench_size_apply(o, optarg) != 0)
                return -1;
            continue;
        }
        if (c == 'b' || c == 'w') {
            if (strlen(optarg) >= sizeof o->workdir - 64)
                return -1;
            snprintf(c == 'b' ? o->server_bin : o->workdir, sizeof o->workdir, "%s", optarg);
            continue;
        }
        if (c == 'K' || c == 'Q' || c == 'R' || c == 'X' || c == 'N') {
            *(c == 'K'   ? &o->keep
              : c == 'Q' ? &o->queries_only
              : c == 'R' ? &o->reuse
              : c == 'X' ? &o->index_alone
                         : &o->never_synced) = 1;
            continue;
        }
        if (c == '?' || bench_parse_u64(optarg, &v) != 0 || v > UINT32_MAX * 100ull)
            return -1;
        switch (c) {
        case 'c': o->gen.centres = (uint32_t)v, custom = 1; break;
        case 'p': o->gen.people = v, custom = 1; break;
        case 'a': o->gen.attendance = v, custom = 1; break;
        case 'k': o->concurrency = (uint32_t)v, custom = 1; break;
        case 'r': o->rounds = (int)v; break;
        case 't': o->timeout_ms = (int)v; break;
        case 'S': o->gen.seed = v; break;
        case 'L': o->steady.duration_s = (double)v; break;
        case 'I': o->steady.interval_s = (double)v; break;
        case 'B': o->steady.per_sync = (uint32_t)v; break;
        }
    }
    if ((o->reuse && (!o->queries_only || !o->workdir[0])) || (o->index_alone && !o->queries_only))
        return -1;
    if (optind != argc || o->gen.centres == 0 || o->gen.centres > 5000 || o->rounds < 1 ||
        o->timeout_ms < 100 || o->steady.interval_s < 1 || o->steady.per_sync == 0 ||
        o->steady.per_sync > 100000 || o->steady.duration_s > 86400)
        return -1;
    o->steady.timeout_ms = o->timeout_ms;
    o->steady.seed = o->gen.seed ^ 0x537465616479ull;
    if (custom)
        o->size = "custom";
    if (o->concurrency == 0 || o->concurrency > o->gen.centres)
        o->concurrency = o->gen.centres;
    return 0;
}

/* The period ends yesterday (Pakistan time), so no date lies in the future
 * whenever the benchmark runs. */
static void
bench_period(gen_config *g)
{
    uint32_t today = date_of_ms(hlc_wall_ms());
    g->first_date = gen_date_add(today, -(int64_t)g->days);
}

static void
bench_machine(char *out, size_t n, const char *dir)
{
    char line[512], cpu[160] = "unknown CPU";
    unsigned long long mem_kib = 0;
    struct statvfs vfs;
    FILE *f;
    if ((f = fopen("/proc/cpuinfo", "r"))) {
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
                snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
                cpu[strcspn(cpu, "\n")] = '\0';
                break;
            }
        fclose(f);
    }
    if ((f = fopen("/proc/meminfo", "r"))) {
        if (fgets(line, sizeof line, f))
            sscanf(line, "MemTotal: %llu", &mem_kib);
        fclose(f);
    }
    if (statvfs(dir, &vfs) != 0)
        memset(&vfs, 0, sizeof vfs);
    snprintf(out, n, "%s, %ld CPUs, %.1f GiB RAM; workdir %s (%.0f GiB free)", cpu,
             sysconf(_SC_NPROCESSORS_ONLN), (double)mem_kib / 1048576.0, dir,
             (double)vfs.f_bavail * (double)vfs.f_frsize / 1073741824.0);
}

/* The 30-day backlog: the biggest centre's last 30 days.  Registrations grow
 * linearly over the period, so its last month holds twice the average. */
static int
bench_b30_plan(bench_run *b, rz_error *err)
{
    gen_config g = b->o.gen;
    uint64_t pmax = 0, amax = 0;
    uint32_t i;
    for (i = 0; i < b->plan.cfg.centres; i++)
        if (b->plan.centre[i].people > pmax) {
            pmax = b->plan.centre[i].people;
            amax = b->plan.centre[i].attendance;
        }
    g.centres = 1;
    g.people = (2 * pmax * 30 + g.days - 1) / g.days;
    g.attendance = 2 * amax * 30 / g.days;
    g.seed = b->o.gen.seed ^ 0x4261636b6c6f67ull; /* its own people */
    g.first_date = gen_date_add(b->o.gen.first_date, g.days - 30);
    g.days = 30;
    if (g.people < 2)
        g.people = 2;
    return gen_plan_init(&b->b30, &g, err);
}

static int
bench_workdir(bench_opts *o, rz_error *err)
{
    if (!o->workdir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(o->workdir, sizeof o->workdir, "%s/rozgar-bench.XXXXXX", tmp ? tmp : "/tmp");
        if (!mkdtemp(o->workdir))
            return rz_fail(err, RZ_E_IO, "cannot create a work directory in %s",
                           tmp ? tmp : "/tmp");
        o->own_workdir = 1;
        return 0;
    }
    if (bench_mkdirs(o->workdir) != 0)
        return rz_fail(err, RZ_E_IO, "cannot create %s", o->workdir);
    return 0;
}

/* Creates every node (key, database, server endpoint) and enrolls it. */
static int
bench_nodes(bench_run *b, rz_error *err)
{
    uint8_t id[RZ_NODE_ID_BYTES], pk[RZ_PK_BYTES];
    char nodes[2200], name[128];
    uint32_t i;
    int rc;
    snprintf(nodes, sizeof nodes, "%s/nodes", b->o.workdir);
    if (bench_mkdirs(nodes) != 0)
        return rz_fail(err, RZ_E_IO, "cannot create %s", nodes);
    b->node_dir = xcalloc(b->plan.cfg.centres, sizeof *b->node_dir);
    for (i = 0; i < b->plan.cfg.centres; i++) {
        const gen_centre *c = &b->plan.centre[i];
        b->node_dir[i] = xmalloc(4300);
        snprintf(b->node_dir[i], 4300, "%s/c%04u", nodes, i);
        if ((rc = record_node_create(b->node_dir[i], b->srv.endpoint, b->srv.pk, id, pk, err)) ||
            (rc = srvproc_enroll(&b->srv, id, pk, c->name, c->programme, c->province, c->district,
                                 err)))
            return rc;
    }
    snprintf(b->b30_dir, sizeof b->b30_dir, "%s/backlog30", nodes);
    snprintf(name, sizeof name, "Backlog test %s", b->plan.centre[0].name);
    if ((rc = record_node_create(b->b30_dir, b->srv.endpoint, b->srv.pk, id, pk, err)))
        return rc;
    return srvproc_enroll(&b->srv, id, pk, name, b->plan.centre[0].programme,
                          b->plan.centre[0].province, b->plan.centre[0].district, err);
}

/* Every node talks to the server once before it records, as a centre does
 * when it is set up (its app's unattended sync starts at once): it learns
 * the server's time, and from then on its log carries a checkpoint after
 * every 1,000 entries (PROTOCOL §4.6), so the server can count a backlog
 * batch by batch while it arrives.  A node that never synced has no server
 * time to estimate from: its whole history is counted only once its last
 * batch, with the conversation's clock entry, has arrived (--never-synced
 * measures that case).  The server's log of this start is kept apart, so
 * the drain's start waits for its own "serving" line. */
static int
bench_first_contact(bench_run *b, rz_error *err)
{
    char *b30 = b->b30_dir, kept[sizeof b->srv.log + 16];
    drain_result d;
    rz_error stop_err;
    int rc, rc2;
    if ((rc = srvproc_start(&b->srv, err)))
        return rc;
    rc = drain_run(b->node_dir, b->plan.cfg.centres, b->o.concurrency, b->o.timeout_ms, &d, err);
    if (rc == 0 && d.failures == 0)
        rc = drain_run(&b30, 1, 1, b->o.timeout_ms, &d, err);
    if (rc == 0 && d.failures)
        rc = rz_fail(err, RZ_E_IO, "first sync: %llu nodes failed: %s",
                     (unsigned long long)d.failures, d.first_error);
    rc2 = srvproc_stop(&b->srv, rc ? &stop_err : err);
    if (rc == 0 && (rc = rc2) == 0) {
        snprintf(kept, sizeof kept, "%s.first-sync", b->srv.log);
        if (rename(b->srv.log, kept) != 0)
            rc = rz_fail(err, RZ_E_IO, "rename %s: %s", b->srv.log, strerror(errno));
    }
    return rc;
}

/* Every centre records its share, one after the other (a centre's rate, not
 * the machine's), RZ_BATCH_ENTRIES per transaction; then a sample with one
 * transaction per recording, as the command line commits. */
static int
bench_record(bench_run *b, rz_error *err)
{
    record_result one;
    uint8_t id[RZ_NODE_ID_BYTES], pk[RZ_PK_BYTES];
    char dir[4200];
    uint32_t i;
    uint64_t sample = gen_centre_records(&b->plan.centre[0]);
    int rc;

    memset(&b->rec, 0, sizeof b->rec);
    for (i = 0; i < b->plan.cfg.centres; i++) {
        if ((rc = record_centre(&b->plan, i, b->node_dir[i], UINT64_MAX, RZ_BATCH_ENTRIES, &b->rec,
                                err)))
            return rc;
        if (i % 25 == 24)
            bench_progress("recorded %u of %u centres (%.0f entries/s)", i + 1, b->plan.cfg.centres,
                           (double)b->rec.entries / b->rec.seconds);
    }
    if ((rc =
             record_centre(&b->b30, 0, b->b30_dir, UINT64_MAX, RZ_BATCH_ENTRIES, &b->b30_rec, err)))
        return rc;
    memset(&one, 0, sizeof one);
    snprintf(dir, sizeof dir, "%s/single", b->o.workdir);
    if ((rc = record_node_create(dir, NULL, NULL, id, pk, err)) ||
        (rc = record_centre(&b->plan, 0, dir, sample < 2000 ? sample : 2000, 1, &one, err)))
        return rc;
    b->f.rec_entries = b->rec.entries;
    b->f.rec_s = b->rec.seconds;
    b->f.rec_rate = b->rec.seconds > 0 ? (double)b->rec.entries / b->rec.seconds : 0;
    b->f.rec1_entries = one.entries;
    b->f.rec1_rate = one.seconds > 0 ? (double)one.entries / one.seconds : 0;
    return 0;
}

/* Bytes received on the loopback interface so far (/proc/net/dev): IP
 * packets with their headers, in both directions of every loopback
 * connection, of every process in this network namespace. */
static uint64_t
bench_lo_bytes(void)
{
    char line[512];
    uint64_t v = 0;
    FILE *f = fopen("/proc/net/dev", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " ");
        if (strncmp(p, "lo:", 3) == 0) {
            v = strtoull(p + 3, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* ZMTP/CURVE framing of one message of n payload bytes: frame header,
 * "\x07MESSAGE", 8-byte nonce, flags byte and 16-byte MAC. */
static double
bench_framing(size_t n)
{
    size_t body = 8 + 8 + 1 + n + 16;
    return (double)(body > 255 ? 9 : 2) + 8 + 8 + 1 + 16;
}

/* Size of an ACK as the server encodes it. */
static size_t
bench_ack_bytes(void)
{
    uint8_t head[RZ_HASH_BYTES] = {0}, sig[RZ_SIG_BYTES] = {0};
    mpk_writer w;
    size_t n;
    mpk_w_init(&w);
    msg_encode_ack(&w, hlc_wall_ms(), 0, 1000000, 1000499, head, sig, 500);
    n = w.sb.size;
    mpk_w_free(&w);
    return n;
}

/* A counter of the server's /metrics, 0 when it has none by that name (a
 * server that merges inside its ACKs has no merger counters). */
static uint64_t
bench_metric_or_0(const srvproc *s, const char *name)
{
    uint64_t v = 0;
    rz_error e;
    return srvproc_metric(s, name, &v, &e) == 0 ? v : 0;
}

/* A float gauge or counter of /metrics ("name 12.345"), 0 when absent. */
static double
bench_metric_seconds(const srvproc *s, const char *name)
{
    char *body = NULL, *p;
    size_t len = 0, nlen = strlen(name);
    int status = 0;
    double v = 0;
    rz_error e;
    if (srvproc_http_get(s, "/metrics", &status, &body, &len, &e) != 0)
        return 0;
    for (p = body; status == 200 && p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, nlen) == 0 && p[nlen] == ' ') {
            v = strtod(p + nlen + 1, NULL);
            break;
        }
    free(body);
    return v;
}

/* Waits until the server has counted everything it acknowledged (nothing
 * to wait for when it counts inside its ACKs); *t = when, since b->t0. */
static int
bench_wait_counted(bench_run *b, double *t, rz_error *err)
{
    if (!mwatch_has_lag(b->mw)) {
        *t = bench_now() - b->t0;
        return 0;
    }
    return mwatch_wait_complete(b->mw, 4 * 3600.0, t, err);
}

static int
bench_drain(bench_run *b, rz_error *err)
{
    drain_result d, d30;
    uint64_t ip0, ip1, entries0 = 0, entries1 = 0, bytes0 = 0, bytes1 = 0, batches = 0;
    uint64_t merged0;
    double busy0, busy_s;
    char *b30 = b->b30_dir;
    double cpu0, ccpu0;
    int rc;

    if ((rc = srvproc_start(&b->srv, err)))
        return rc;
    bench_progress("server pid %d on %s; %u centres drain, %u at once", (int)b->srv.pid,
                   b->srv.endpoint, b->plan.cfg.centres, b->o.concurrency);
    if ((rc = srvproc_metric(&b->srv, "rozgar_entries_total", &entries0, err)) ||
        (rc = srvproc_metric(&b->srv, "rozgar_batch_bytes_total", &bytes0, err)))
        return rc;
    merged0 = bench_metric_or_0(&b->srv, "rozgar_merged_entries_total");
    busy0 = bench_metric_seconds(&b->srv, "rozgar_merge_seconds_total");
    ip0 = bench_lo_bytes();
    cpu0 = srvproc_cpu_s(&b->srv);
    ccpu0 = bench_process_cpu();
    b->t0 = bench_now();
    if ((rc = mwatch_start(&b->mw, &b->srv, b->t0, 100, err)) ||
        (rc = drain_run(b->node_dir, b->plan.cfg.centres, b->o.concurrency, b->o.timeout_ms, &d,
                        err)))
        return rc;
    ip1 = bench_lo_bytes();
    b->f.ing_server_cpu_s = srvproc_cpu_s(&b->srv) - cpu0;
    b->f.ing_client_cpu_s = bench_process_cpu() - ccpu0;
    b->f.peak_kib = srvproc_hwm_kib(&b->srv);
    if ((rc = srvproc_metric(&b->srv, "rozgar_entries_total", &entries1, err)) ||
        (rc = srvproc_metric(&b->srv, "rozgar_batch_bytes_total", &bytes1, err)) ||
        (rc = srvproc_metric(&b->srv, "rozgar_batches_total", &batches, err)))
        return rc;
    b->f.ing_entries = d.applied;
    b->f.ing_batches = d.batches;
    b->f.ing_sessions = d.sessions;
    b->f.ing_failures = d.failures;
    b->f.ing_s = d.seconds;
    b->f.ing_slowest_s = d.slowest_node_s;
    b->f.ing_rate = d.seconds > 0 ? (double)d.applied / d.seconds : 0;
    snprintf(b->f.ing_error, sizeof b->f.ing_error, "%s", d.first_error);
    b->f.batch_bytes = bytes1 - bytes0;
    b->f.bytes_per_entry = d.sent ? (double)(bytes1 - bytes0) / (double)d.sent : 0;
    b->f.ip_bytes_per_entry = d.sent && ip1 > ip0 ? (double)(ip1 - ip0) / (double)d.sent : 0;
    b->f.transport_per_entry =
        d.sent
            ? ((double)d.batches * (bench_framing(RZ_MAX_ENTRY_BYTES) +
                                    bench_framing(bench_ack_bytes()) + (double)bench_ack_bytes()) +
               (double)d.sessions * 1100.0) /
                  (double)d.sent
            : 0;
    if (entries1 - entries0 != d.applied)
        bench_progress("note: server counted %llu new entries, nodes %llu",
                       (unsigned long long)(entries1 - entries0), (unsigned long long)d.applied);
    bench_progress("drained %llu entries in %.2f s (%.0f entries/s), %llu failed nodes",
                   (unsigned long long)d.applied, d.seconds, b->f.ing_rate,
                   (unsigned long long)d.failures);
    /* Counting behind the ACKs: complete when nothing acknowledged waits. */
    b->f.merge_behind = mwatch_has_lag(b->mw);
    if ((rc = bench_wait_counted(b, &b->f.complete_s, err)))
        return rc;
    if (!b->f.merge_behind)
        b->f.complete_s = d.seconds;
    b->f.merged_entries = bench_metric_or_0(&b->srv, "rozgar_merged_entries_total") - merged0;
    busy_s = bench_metric_seconds(&b->srv, "rozgar_merge_seconds_total") - busy0;
    b->f.merge_busy_s = busy_s;
    b->f.peak_kib = srvproc_hwm_kib(&b->srv); /* a high-water mark: merging included */
    b->f.merge_rate =
        b->f.merge_behind && busy_s > 0 ? (double)b->f.merged_entries / busy_s : b->f.ing_rate;
    bench_progress("totals complete %.2f s after the first HELLO (%s); merge rate %.0f entries/s",
                   b->f.complete_s,
                   b->f.merge_behind ? "counted behind the ACKs" : "counted in the ACKs",
                   b->f.merge_rate);
    if ((rc = drain_run(&b30, 1, 1, b->o.timeout_ms, &d30, err)))
        return rc;
    b->f.b30_entries = d30.applied;
    b->f.b30_s = d30.seconds;
    if (d30.failures && !b->f.ing_error[0])
        snprintf(b->f.ing_error, sizeof b->f.ing_error, "backlog: %.180s", d30.first_error);
    b->f.ing_failures += d30.failures;
    return bench_wait_counted(b, &busy_s, err);
}

/* The steady load's records: new people at every centre, their events and
 * attendance, enough for the whole load, dated in the last 30 days. */
static int
bench_steady_plan(bench_run *b, rz_error *err)
{
    gen_config g = b->o.gen;
    const steady_opts *o = &b->o.steady;
    uint64_t per_centre = (uint64_t)(o->duration_s / o->interval_s + 1) * o->per_sync;
    g.people = b->plan.cfg.centres * (per_centre / 10 + 2);
    g.attendance = g.people * 9;
    g.seed = b->o.gen.seed ^ 0x5374656164794c6full;
    g.first_date = gen_date_add(b->o.gen.first_date, g.days - 30);
    g.days = 30;
    return gen_plan_init(&b->steady, &g, err);
}

/* Every centre syncs a few new entries once per interval; the merge lag is
 * sampled all along. */
static int
bench_steady(bench_run *b, rz_error *err)
{
    double from, to, done;
    int rc;
    if (b->o.steady.duration_s <= 0)
        return 0;
    if ((rc = bench_steady_plan(b, err)))
        return rc;
    bench_progress("steady load: %u centres, %u entries each every %.0f s, for %.0f s",
                   b->plan.cfg.centres, b->o.steady.per_sync, b->o.steady.interval_s,
                   b->o.steady.duration_s);
    from = bench_now() - b->t0;
    if ((rc = steady_run(b->node_dir, b->plan.cfg.centres, &b->steady, &b->o.steady, &b->st, err)))
        return rc;
    to = bench_now() - b->t0;
    if ((rc = bench_wait_counted(b, &done, err)))
        return rc;
    mwatch_lag(b->mw, from, to, 99.0, &b->f.lag_p99_s, &b->f.lag_max_s, &b->f.lag_samples);
    b->f.peak_kib = srvproc_hwm_kib(&b->srv);
    b->f.steady_s = b->st.seconds;
    b->f.steady_interval_s = b->o.steady.interval_s;
    b->f.steady_per_sync = b->o.steady.per_sync;
    b->f.steady_syncs = b->st.syncs;
    b->f.steady_failures = b->st.failures;
    b->f.steady_entries = b->st.entries;
    if (b->st.failures && !b->f.ing_error[0])
        snprintf(b->f.ing_error, sizeof b->f.ing_error, "steady: %.180s", b->st.first_error);
    b->f.ing_failures += b->st.failures;
    bench_progress("steady load: %llu syncs (%llu failed), %llu entries; merge lag p99 %.2f s,"
                   " max %.2f s",
                   (unsigned long long)b->st.syncs, (unsigned long long)b->st.failures,
                   (unsigned long long)b->st.entries, b->f.lag_p99_s, b->f.lag_max_s);
    return 0;
}

/* Wire cost by entry kind, from the logs of the first few centres. */
static int
bench_wire(bench_run *b, rz_error *err)
{
    drain_wire w;
    uint32_t i, n = b->plan.cfg.centres < 8 ? b->plan.cfg.centres : 8;
    double env;
    int rc;
    memset(&w, 0, sizeof w);
    for (i = 0; i < n; i++)
        if ((rc = drain_wire_stats(b->node_dir[i], &w, err)))
            return rc;
    if (w.entries == 0)
        return 0;
    env = (double)(w.msg_bytes - w.entry_bytes - w.reveal_bytes) / (double)w.entries;
    if (w.by_table_n[RZ_T_ATTENDANCE])
        b->f.att_wire_bytes =
            (double)w.by_table_bytes[RZ_T_ATTENDANCE] / (double)w.by_table_n[RZ_T_ATTENDANCE] + env;
    if (w.by_table_n[RZ_T_PERSON])
        b->f.person_wire_bytes = (double)(w.by_table_bytes[RZ_T_PERSON] + w.reveal_bytes) /
                                     (double)w.by_table_n[RZ_T_PERSON] +
                                 env;
    if (w.by_table_n[RZ_T_EVENT])
        b->f.event_wire_bytes =
            (double)w.by_table_bytes[RZ_T_EVENT] / (double)w.by_table_n[RZ_T_EVENT] + env;
    return 0;
}

static int
bench_reference(bench_run *b, rz_error *err)
{
    refdb_result r;
    char path[4200];
    int rc;
    snprintf(path, sizeof path, "%s/reference.db", b->o.workdir);
    if ((rc = refdb_run(&b->plan, path, &r, err)))
        return rc;
    b->f.ref_rows = r.rows;
    b->f.ref_s = r.seconds;
    b->f.ref_rate = r.rows_per_s;
    b->f.ref_db_bytes = r.db_bytes;
    bench_progress("reference: %llu rows in %.2f s (%.0f rows/s)", (unsigned long long)r.rows,
                   r.seconds, r.rows_per_s);
    return refdb_query_ms(path, 5, &b->f.ref_query_ms, err);
}

/* The totals must be what the data says: every present attendance of a
 * live person at a live event counts, every event counts, and people count
 * once per CNIC (a few percent register twice). */
static void
bench_check(bench_run *b)
{
    bench_figures *f = &b->f;
    uint64_t present = b->rec.present + b->b30_rec.present + b->st.rec.present;
    uint64_t events = b->rec.events + b->b30_rec.events + b->st.rec.events;
    uint64_t people = b->plan.cfg.people + b->b30.cfg.people + b->st.rec.people;
    int ok_att = (uint64_t)f->q.attendances == present;
    int ok_ev = (uint64_t)f->q.events == events;
    int ok_reg =
        (uint64_t)f->q.registered <= people && (double)f->q.registered >= 0.97 * (double)people;
    int ok_sync = f->ing_failures == 0;
    f->checks_ok = ok_att && ok_ev && ok_reg && ok_sync;
    snprintf(f->check_text, sizeof f->check_text,
             "attendances %lld/%llu, events %lld/%llu, registered %lld of %llu people, "
             "%llu failed syncs",
             (long long)f->q.attendances, (unsigned long long)present, (long long)f->q.events,
             (unsigned long long)events, (long long)f->q.registered, (unsigned long long)people,
             (unsigned long long)f->ing_failures);
}

static int
bench_queries(bench_run *b, rz_error *err)
{
    int rc, year = (int)(gen_date_add(b->plan.cfg.first_date, b->plan.cfg.days - 1) / 10000);
    /* The drains and the steady load waited until everything was counted
     * (bench_wait_counted). */
    if ((rc = qbench_http(&b->srv, b->o.rounds < 20 ? b->o.rounds : 20, &b->f.http_p50_ms,
                          &b->f.http_p99_ms, err)))
        return rc;
    mwatch_stop(b->mw);
    if ((rc = srvproc_stop(&b->srv, err)))
        return rc;
    b->f.peak_exit_kib = b->srv.peak_kib;
    return qbench_run(b->srv.dir, b->o.rounds, year, &b->f.q, err);
}

static int
bench_all(bench_run *b, rz_error *err)
{
    char dir[4200];
    double t0 = bench_now();
    int rc;

    b->f.load_start = bench_loadavg();
    bench_period(&b->o.gen);
    if ((rc = gen_plan_init(&b->plan, &b->o.gen, err)) || (rc = bench_b30_plan(b, err)) ||
        (rc = bench_workdir(&b->o, err)))
        return rc;
    b->f.size = b->o.size;
    b->f.centres = b->plan.cfg.centres;
    b->f.concurrency = b->o.concurrency;
    b->f.people = b->plan.cfg.people;
    b->f.attendance = b->plan.cfg.attendance;
    b->f.records = gen_plan_records(&b->plan);
    b->f.events = b->f.records - b->f.people - b->f.attendance;
    bench_machine(b->f.machine, sizeof b->f.machine, b->o.workdir);
    bench_progress("%s: %u centres, %llu records in %s", b->o.size, b->plan.cfg.centres,
                   (unsigned long long)b->f.records, b->o.workdir);
    snprintf(dir, sizeof dir, "%s/server", b->o.workdir);
    if ((rc = srvproc_init(&b->srv, b->o.server_bin, dir, err)) || (rc = bench_nodes(b, err)))
        return rc;
    b->f.never_synced = b->o.never_synced;
    if (!b->o.never_synced) {
        bench_progress("every node syncs once before it records");
        if ((rc = bench_first_contact(b, err)))
            return rc;
    }
    bench_progress("recording at %u nodes", b->plan.cfg.centres);
    if ((rc = bench_record(b, err)))
        return rc;
    bench_progress("recorded %llu entries in %.2f s (%.0f entries/s)",
                   (unsigned long long)b->rec.entries, b->rec.seconds, b->f.rec_rate);
    if ((rc = bench_drain(b, err)) || (rc = bench_steady(b, err)) || (rc = bench_queries(b, err)))
        return rc;
    b->f.server_db_bytes = bench_dir_size(b->srv.dir);
    snprintf(dir, sizeof dir, "%s/nodes", b->o.workdir);
    b->f.node_db_bytes = bench_dir_size(dir);
    if ((rc = bench_wire(b, err)) || (rc = bench_reference(b, err)))
        return rc;
    if ((rc = micro_run(b->o.workdir, &b->f.micro, err)))
        return rc;
    bench_check(b);
    b->f.total_s = bench_now() - t0;
    b->f.load_end = bench_loadavg();
    return 0;
}

static void
bench_free(bench_run *b)
{
    uint32_t i;
    if (b->srv.pid > 0) {
        rz_error e;
        if (srvproc_stop(&b->srv, &e) != 0)
            log_warnx("%s", e.text);
    }
    if (b->node_dir)
        for (i = 0; i < b->plan.cfg.centres; i++)
            free(b->node_dir[i]);
    free(b->node_dir);
    mwatch_free(&b->mw);
    gen_plan_free(&b->plan);
    gen_plan_free(&b->b30);
    gen_plan_free(&b->steady);
}

/* Removes what the run wrote; a work directory the user named is kept,
 * only our files in it go. */
static void
bench_cleanup(const bench_opts *o)
{
    static const char *const ours[] = {
        "server",           "nodes",      "single", "reference.db", "reference.db-wal",
        "reference.db-shm", "server.init"};
    char path[4300];
    size_t i;
    if (o->own_workdir) {
        bench_rmtree(o->workdir);
        return;
    }
    for (i = 0; i < sizeof ours / sizeof ours[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", o->workdir, ours[i]);
        if (unlink(path) != 0)
            bench_rmtree(path);
    }
}

/* --reuse: the stores were made by an earlier build, whose day index may
 * be of an older layout; opening the state as the merger does upgrades it
 * (dayindex_schema rebuilds it from the state).  Done in a child process so
 * the peak memory reported is the queries' alone. */
static int
bench_qo_upgrade(const char *dir, rz_error *err)
{
    double t0 = bench_now();
    int status = 0;
    pid_t pid = fork();
    if (pid < 0)
        return rz_fail(err, RZ_E_IO, "fork: %s", strerror(errno));
    if (pid == 0) {
        state_store *ss = NULL;
        rz_error e;
        int rc = state_store_open(&ss, dir, &e);
        if (rc)
            fprintf(stderr, "[bench] opening the state: %s\n", e.text);
        state_store_close(&ss);
        _exit(rc ? 1 : 0);
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return rz_fail(err, RZ_E_IO, "the state of %s could not be opened for the upgrade", dir);
    bench_progress("state opened as the merger does (day index up to date) in %.0f s",
                   bench_now() - t0);
    return 0;
}

/* --queries-only: the plan's period is kept beside the stores, so --reuse
 * on another day asks about the same days. */
static int
bench_qo_period(bench_opts *o, int reuse, rz_error *err)
{
    char path[2200];
    FILE *f;
    unsigned first = 0, days = 0;
    snprintf(path, sizeof path, "%s/queries-only.period", o->workdir);
    if (reuse) {
        if (!(f = fopen(path, "r")) || fscanf(f, "%u %u", &first, &days) != 2) {
            if (f)
                fclose(f);
            return rz_fail(err, RZ_E_ARG, "%s: no stores of an earlier --queries-only run", path);
        }
        fclose(f);
        o->gen.first_date = first;
        o->gen.days = days;
        return 0;
    }
    bench_period(&o->gen);
    if (!(f = fopen(path, "w")))
        return rz_fail(err, RZ_E_IO, "cannot write %s", path);
    fprintf(f, "%u %u\n", o->gen.first_date, o->gen.days);
    fclose(f);
    return 0;
}

static int
bench_queries_only(bench_run *b, rz_error *err)
{
    static qbench_result qr;
    static qbench_ranges_result rr;
    qstate_result st;
    struct rusage ru;
    struct stat sb;
    char dir[2200];
    uint32_t last;
    int rc, i;

    memset(&st, 0, sizeof st);
    if ((rc = bench_workdir(&b->o, err)) || (rc = bench_qo_period(&b->o, b->o.reuse, err)) ||
        (rc = gen_plan_init(&b->plan, &b->o.gen, err)))
        return rc;
    last = gen_date_add(b->o.gen.first_date, (int64_t)b->o.gen.days - 1);
    snprintf(dir, sizeof dir, "%s/server", b->o.workdir);
    if (!b->o.reuse) {
        if (stat(dir, &sb) == 0)
            return rz_fail(err, RZ_E_ARG, "%s exists: use --reuse or another --workdir", dir);
        if (bench_mkdirs(dir) != 0)
            return rz_fail(err, RZ_E_IO, "cannot create %s", dir);
        bench_progress("%s: merging %llu records of %u centres in-process into %s", b->o.size,
                       (unsigned long long)gen_plan_records(&b->plan), b->plan.cfg.centres, dir);
        if ((rc = qstate_build(&b->plan, dir, &st, err)))
            return rc;
        bench_progress("merged %llu entries in %.0f s (%.0f entries/s; CPU %.1f s)",
                       (unsigned long long)st.entries, st.seconds,
                       st.seconds > 0 ? (double)st.entries / st.seconds : 0, st.cpu_s);
    }
    if (b->o.reuse && (rc = bench_qo_upgrade(dir, err)))
        return rc;
    bench_progress("dashboard figures, %d rounds", b->o.rounds);
    if ((rc = qbench_run(dir, b->o.rounds, (int)(last / 10000), &qr, err)))
        return rc;
    bench_progress("exact date ranges ending %u: day index%s %d rounds, state scan 1 round", last,
                   b->o.index_alone ? " alone (no month counters)" : "", b->o.rounds);
    if ((rc = qbench_ranges(dir, last, b->o.rounds, 1, b->o.index_alone, &rr, err)))
        return rc;
    getrusage(RUSAGE_SELF, &ru);
    printf("Rozgar Sync query benchmark (--queries-only), size %s: %u centres, %llu people,"
           " %llu attendance rows; data to %u\n",
           b->o.size, b->plan.cfg.centres, (unsigned long long)b->plan.cfg.people,
           (unsigned long long)b->plan.cfg.attendance, last);
    if (!b->o.reuse)
        printf("state merged in-process: %llu entries in %.0f s (CPU %.1f s)\n",
               (unsigned long long)st.entries, st.seconds, st.cpu_s);
    printf("totals: registered %lld, trainees %lld, attendances %lld, events %lld\n",
           (long long)qr.registered, (long long)qr.trainees, (long long)qr.attendances,
           (long long)qr.events);
    printf("dashboard breakdowns (counters): p50 %.2f ms, p99 %.2f ms over %d queries x %d\n",
           qr.p50_ms, qr.p99_ms, qr.n, b->o.rounds);
    printf("%-62s %10s %10s %8s %8s %12s %12s\n", "exact date range", "index p50", "index p99",
           "cpu p50", "cpu p99", "scan (ms)", "total");
    for (i = 0; i < rr.n; i++)
        printf("%-62s %10.2f %10.2f %8.2f %8.2f %12.1f %12lld\n", rr.row[i].name, rr.row[i].p50_ms,
               rr.row[i].p99_ms, rr.row[i].cpu_p50_ms, rr.row[i].cpu_p99_ms, rr.row[i].scan_p50_ms,
               (long long)rr.row[i].total);
    printf("ranges: index p50 %.2f ms, p99 %.2f ms (7 d %.2f, 30 d %.2f, 90 d %.2f, 365 d %.2f,"
           " 730 d %.2f); state scan p50 %.0f ms, p99 %.0f ms; answers equal\n",
           rr.p50_ms, rr.p99_ms, rr.days_p99_ms[0], rr.days_p99_ms[1], rr.days_p99_ms[2],
           rr.days_p99_ms[3], rr.days_p99_ms[4], rr.scan_p50_ms, rr.scan_p99_ms);
    printf("ranges ending mid-month: index p99 90 d %.2f, 365 d %.2f, 730 d %.2f ms%s\n",
           rr.mid_p99_ms[2], rr.mid_p99_ms[3], rr.mid_p99_ms[4],
           b->o.index_alone ? " (index alone, no month counters)" : "");
    printf("peak memory of this process: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
    printf("{\"size\":\"%s\",\"queries_only\":true,\"merge_s\":%.1f,\"query_p99_ms\":%.3f,"
           "\"range_p50_ms\":%.3f,\"range_p99_ms\":%.3f,\"range_scan_p50_ms\":%.1f,"
           "\"range_scan_p99_ms\":%.1f,\"peak_mib\":%.1f}\n",
           b->o.size, st.seconds, qr.p99_ms, rr.p50_ms, rr.p99_ms, rr.scan_p50_ms, rr.scan_p99_ms,
           (double)ru.ru_maxrss / 1024.0);
    fflush(stdout);
    return 0;
}

int
main(int argc, char **argv)
{
    static bench_run b;
    rz_error err = {0, ""};
    int rc;

    log_init("rozgar-bench", LOG_LVL_WARN);
    if (bench_parse(&b.o, argc, argv) != 0) {
        bench_usage(stderr);
        return 1;
    }
    if (crypto_init() != 0)
        fatalx("libsodium failed to initialise");
    if (b.o.queries_only) {
        rc = bench_queries_only(&b, &err);
        gen_plan_free(&b.plan);
        if (rc) {
            fprintf(stderr, "rozgar-bench: %s (%s); work directory kept: %s\n", err.text,
                    rz_err_name(rc), b.o.workdir);
            return 2;
        }
        if (!b.o.keep && !b.o.reuse)
            bench_cleanup(&b.o);
        else
            fprintf(stderr, "[bench] work directory kept: %s\n", b.o.workdir);
        return 0;
    }
    rc = bench_all(&b, &err);
    bench_free(&b);
    if (rc == 0) {
        report_table(stdout, &b.f);
        report_json(stdout, &b.f);
        fflush(stdout);
    } else {
        fprintf(stderr, "rozgar-bench: %s (%s); work directory kept: %s\n", err.text,
                rz_err_name(rc), b.o.workdir);
        return 2;
    }
    if (!b.o.keep && b.f.checks_ok)
        bench_cleanup(&b.o);
    else
        fprintf(stderr, "[bench] work directory kept: %s\n", b.o.workdir);
    return b.f.checks_ok ? 0 : 2;
}
