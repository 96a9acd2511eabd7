/*
 * fuzz_import: the CSV import (client/node_import.c) over arbitrary files,
 * as a browser upload or a spreadsheet hands them to the node.
 *
 * Input: the first byte picks the kind (people, events, attendance); the
 * rest is the file.  Each input runs as a dry run against one node store
 * made once (three people, two events), so every input starts from the
 * same state and the recording pass is reached whenever the file is good.
 *
 * Invariants: the import never crashes or leaks; it succeeds or refuses
 * the file (RZ_E_ARG), never a storage or internal error on this healthy
 * store; a refusal lists at least one problem and records nothing; a
 * success has no bad row and accounts for every row (added + known = rows);
 * a dry run leaves every table as it was (records, log, fingerprints); the
 * reasons and headers it reports are clean UTF-8 text (a page shows them).
 */
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/node_import.h"
#include "client/node_store.h"
#include "common/domain.h"
#include "common/log.h"
#include "tests/fuzz/fuzz.h"

static struct {
    int ready;         /* set up once */
    char dir[256];     /* temporary directory */
    char node[300];    /* the node's data directory */
    node_store *ns;    /* the store under test */
    long long base[5]; /* row counts of the baseline */
} F;

static const char *const counted[5] = {
    "SELECT count(*) FROM person", "SELECT count(*) FROM event", "SELECT count(*) FROM attendance",
    "SELECT count(*) FROM log", "SELECT count(*) FROM import_row"};

static long long
count(const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long n = -1;
    FUZZ_CHECK(sqlite3_prepare_v2(node_store_db(F.ns), sql, -1, &st, NULL) == SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void
fuzz_teardown(void)
{
    static const char *const files[] = {"node.db", "node.db-wal", "node.db-shm", "node.key"};
    char path[400];
    size_t i;
    node_store_destroy(&F.ns);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", F.node, files[i]);
        unlink(path);
    }
    rmdir(F.node);
    rmdir(F.dir);
}

/* Seeds the store through the import itself (a fixed, good file). */
static void
seed(int kind, const char *text)
{
    node_import_report r;
    rz_error err = {0, ""};
    FILE *f = fmemopen((void *)text, strlen(text), "rb");
    FUZZ_CHECK(f != NULL);
    memset(&r, 0, sizeof r);
    FUZZ_CHECK(node_import_csv(F.ns, kind, f, 0, NULL, NULL, &r, &err) == 0);
    fclose(f);
    node_import_report_free(&r);
}

static void
fuzz_setup(void)
{
    rz_error err = {0, ""};
    int i;
    log_init("fuzz_import", LOG_LVL_WARN);
    snprintf(F.dir, sizeof F.dir, "%s/rz-fuzz-import.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    FUZZ_CHECK(mkdtemp(F.dir) != NULL);
    snprintf(F.node, sizeof F.node, "%s/node", F.dir);
    FUZZ_CHECK(node_store_create(F.node, &F.ns, &err) == 0);
    seed(NODE_IMPORT_PEOPLE, "name,gender,cnic,phone,birth year\n"
                             "Ayesha Khan,f,35202-1234567-1,0300-1234567,2001\n"
                             "Bilal,m,,,1990\n"
                             "عائشہ,f,3520276543210,,1999\n");
    seed(NODE_IMPORT_EVENTS, "kind,title,date\n"
                             "training,Freelancing 101,14/03/2026\n"
                             "workshop,Excel,2026-03-20\n");
    for (i = 0; i < 5; i++)
        F.base[i] = count(counted[i]);
    F.ready = 1;
    atexit(fuzz_teardown);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    node_import_report r;
    rz_error err = {0, ""};
    FILE *f;
    int kind, rc, i;

    if (!F.ready)
        fuzz_setup();
    if (size < 1 || size > 65536)
        return 0;
    kind = data[0] % 3 + 1;
    /* fmemopen wants a buffer of at least one byte. */
    f = fmemopen(size > 1 ? (void *)(data + 1) : (void *)"", size > 1 ? size - 1 : 0, "rb");
    if (!f)
        return 0;
    memset(&r, 0, sizeof r);
    rc = node_import_csv(F.ns, kind, f, 1, NULL, NULL, &r, &err);
    fclose(f);
    FUZZ_CHECK(rc == 0 || rc == RZ_E_ARG);
    FUZZ_CHECK(!r.committed);
    if (rc == 0) {
        FUZZ_CHECK(r.bad == 0);
        FUZZ_CHECK(r.added + r.known == r.rows);
    } else {
        FUZZ_CHECK(r.nproblems > 0 || err.text[0]);
    }
    FUZZ_CHECK(r.nproblems <= NODE_IMPORT_MAX_PROBLEMS && r.ndups <= NODE_IMPORT_MAX_DUPS);
    FUZZ_CHECK(r.ncols <= NODE_IMPORT_MAX_COLS && r.npreview <= NODE_IMPORT_PREVIEW_ROWS);
    /* What a page or a terminal shows is clean text. */
    for (i = 0; i < (int)r.nproblems; i++)
        FUZZ_CHECK(text_is_clean(r.problems[i].reason, strlen(r.problems[i].reason)));
    for (i = 0; i < (int)r.ncols; i++)
        FUZZ_CHECK(text_is_clean(r.cols[i].header, strlen(r.cols[i].header)));
    node_import_report_free(&r);
    for (i = 0; i < 5; i++)
        FUZZ_CHECK(count(counted[i]) == F.base[i]);
    return 0;
}
