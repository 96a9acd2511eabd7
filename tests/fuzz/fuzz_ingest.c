/*
 * fuzz_ingest: the server's batch verification and application
 * (server/ingest.c) over arbitrary frames from one enrolled node.
 *
 * Input: up to FUZZ_MAX_RECORDS records (tests/fuzz/fuzz_key.h), each a
 * frame that is decoded like serve.c does and, when it is a HELLO or a
 * BATCH, handed to ingest as coming from the enrolled node (the ZAP
 * User-Id).  A record flagged FUZZ_FLAG_RESIGN is re-signed with the
 * enrolled key first, so the fuzzer also reaches everything behind the
 * signature check (gap, fork, personal values, merge, totals).
 *
 * Invariants: ingest never crashes or leaks; it answers with a refusal of
 * PROTOCOL.md section 6 or an ACK; a refused batch changes no row at all
 * (a fork only records evidence and quarantines the node); an ACK moves the
 * head to last_seq, stores exactly `applied` new entries and carries a
 * receipt that verifies with the server key.  A storage error ("busy") on
 * this healthy temporary store is a bug too.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/db.h"
#include "common/log.h"
#include "proto/msg.h"
#include "server/forkreport.h"
#include "server/ingest.h"
#include "server/merge.h"
#include "server/log_store.h"
#include "server/merger.h"
#include "server/state_store.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_key.h"

static struct {
    int ready;                 /* set up once */
    char dir[256];             /* temporary directory */
    log_store *s;              /* the log store under test */
    state_store *ss;           /* the state store the merger writes */
    merger *mr;                /* merges what ingest accepted */
    ingest *ig;                /* ingest under test */
    rz_identity server;        /* signs receipts */
    rz_identity node;          /* the enrolled node's key */
    log_node base;             /* the node as enrolled */
    int dirty;                 /* state differs from the baseline */
    unsigned long outcome[40]; /* batches by -code (0: ACK) */
} F;

static void
fuzz_teardown(void)
{
    DIR *d;
    struct dirent *de;
    int i;
    if (getenv("RZ_FUZZ_STATS"))
        for (i = 0; i < 40; i++)
            if (F.outcome[i])
                fprintf(stderr, "fuzz_ingest: %-10s %lu\n", i ? rz_err_name(-i) : "ack",
                        F.outcome[i]);
    ingest_destroy(&F.ig);
    merger_destroy(&F.mr);
    state_store_close(&F.ss);
    log_store_close(&F.s);
    identity_wipe(&F.server);
    identity_wipe(&F.node);
    if ((d = opendir(F.dir)) != NULL) {
        while ((de = readdir(d)) != NULL) {
            char path[512];
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", F.dir, de->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(F.dir);
}

static void
fuzz_setup(void)
{
    static const uint8_t server_seed[32] = "rozgar-sync-fuzz-server-key-seed";
    char path[300];
    rz_error err = {0, ""};
    rz_identity other;
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

    FUZZ_CHECK(crypto_init() == 0);
    log_init("fuzz_ingest", LOG_LVL_QUIET);
    snprintf(F.dir, sizeof F.dir, "%s/rz-fuzz-ingest.XXXXXX", tmp);
    FUZZ_CHECK(mkdtemp(F.dir) != NULL);
    snprintf(path, sizeof path, "%s/server.db", F.dir);
    crypto_sign_seed_keypair(F.server.pk, F.server.sk, server_seed);
    crypto_sign_seed_keypair(F.node.pk, F.node.sk, FUZZ_KEY_SEED);
    crypto_sign_seed_keypair(other.pk, other.sk, FUZZ_OTHER_SEED);
    FUZZ_CHECK(identity_derive_curve(&F.server) == 0);
    FUZZ_CHECK(log_store_open_path(&F.s, path, &err) == 0);
    snprintf(path, sizeof path, "%s/state.db", F.dir);
    FUZZ_CHECK(state_store_open_path(&F.ss, path, &err) == 0);
    FUZZ_CHECK(merger_new(&F.mr, F.s, F.ss, &err) == 0);
    /* Durability is not under test here; speed is. */
    FUZZ_CHECK(rz_db_exec(log_store_db(F.s), "PRAGMA synchronous=OFF;", &err) == 0);
    FUZZ_CHECK(rz_db_exec(state_store_db(F.ss), "PRAGMA synchronous=OFF;", &err) == 0);
    FUZZ_CHECK(log_store_enroll(F.s, FUZZ_NODE_ID, F.node.pk, "Fuzz Centre", 1, "Punjab", "Lahore",
                                &err) == 0);
    FUZZ_CHECK(log_store_enroll(F.s, FUZZ_OTHER_ID, other.pk, "Other Centre", 2, "Sindh", "Karachi",
                                &err) == 0);
    identity_wipe(&other);
    FUZZ_CHECK(ingest_new(&F.ig, F.s, &F.server, &err) == 0);
    FUZZ_CHECK(log_store_node_get(F.s, FUZZ_NODE_ID, &F.base, &err) == 0);
    F.ready = 1;
    atexit(fuzz_teardown);
}

/* Back to the freshly enrolled state: no log, no state, no totals. */
static void
fuzz_reset(void)
{
    static const char *const own[] = {
        "log_batch", "log_clock", "pii", "batch_sig", "evidence.fork_evidence", NULL};
    sqlite3 *db = log_store_db(F.s), *sdb = state_store_db(F.ss);
    rz_error err = {0, ""};
    char sql[128];
    size_t i;
    FUZZ_CHECK(log_store_begin(F.s, &err) == 0);
    for (i = 0; own[i]; i++) {
        snprintf(sql, sizeof sql, "DELETE FROM %s;", own[i]);
        FUZZ_CHECK(rz_db_exec(db, sql, &err) == 0);
    }
    FUZZ_CHECK(log_store_node_update(F.s, &F.base, &err) == 0);
    FUZZ_CHECK(log_store_commit(F.s, &err) == 0);
    FUZZ_CHECK(state_store_begin(F.ss, &err) == 0);
    for (i = 0; merge_state_tables[i]; i++) {
        snprintf(sql, sizeof sql, "DELETE FROM %s;", merge_state_tables[i]);
        FUZZ_CHECK(rz_db_exec(sdb, sql, &err) == 0);
    }
    FUZZ_CHECK(rz_db_exec(sdb, "DELETE FROM merge_pos;", &err) == 0);
    FUZZ_CHECK(state_store_commit(F.ss, &err) == 0);
    F.dirty = 0;
}

/* Entries stored: the log is kept as batch rows. */
static int64_t
count_entries(void)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    FUZZ_CHECK(rz_db_prepare(log_store_db(F.s), &st,
                             "SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM log_batch",
                             NULL) == 0);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The chain over the batch as sent, signed with the enrolled key. */
static void
resign(rz_msg *m)
{
    uint8_t prev[RZ_HASH_BYTES], h[RZ_HASH_BYTES];
    size_t i;
    memcpy(prev, m->prev, RZ_HASH_BYTES);
    for (i = 0; i < m->nentries; i++) {
        chain_hash(h, m->node_id, m->epoch, m->first_seq + i, prev, m->entry[i], m->entry_len[i]);
        memcpy(prev, h, RZ_HASH_BYTES);
    }
    batch_sign(m->sig, &F.node, m->node_id, m->epoch, m->first_seq + m->nentries - 1, prev);
}

static void
fuzz_batch(rz_msg *m, const uint8_t *frame, size_t len, int flags)
{
    sqlite3 *db = log_store_db(F.s);
    log_node before, after;
    ingest_ack ack;
    rz_error err = {0, ""};
    int64_t logs = count_entries(), changes = sqlite3_total_changes64(db);
    int rc;

    if (flags & FUZZ_FLAG_RESIGN)
        resign(m);
    FUZZ_CHECK(log_store_node_get(F.s, FUZZ_NODE_ID, &before, NULL) == 0);
    rc = ingest_batch(F.ig, FUZZ_NODE_ID, m, frame, len, &ack, &err);
    if (rc <= 0 && rc > -40)
        F.outcome[-rc]++;
    FUZZ_CHECK(log_store_node_get(F.s, FUZZ_NODE_ID, &after, NULL) == 0);
    if (rc != 0) {
        if (rc == RZ_E_BUSY)
            fprintf(stderr, "fuzz_ingest: storage failure: %s\n", err.text);
        FUZZ_CHECK(rc == RZ_E_DECODE || rc == RZ_E_TOOBIG || rc == RZ_E_VERSION ||
                   rc == RZ_E_AUTH || rc == RZ_E_SIGNATURE || rc == RZ_E_CHAIN || rc == RZ_E_FORK ||
                   rc == RZ_E_EPOCH || rc == RZ_E_QUARANTINE || rc == RZ_E_PII);
        FUZZ_CHECK(err.code == rc && memchr(err.text, '\0', sizeof err.text) != NULL);
        FUZZ_CHECK(count_entries() == logs);
        FUZZ_CHECK(after.head_seq == before.head_seq &&
                   !memcmp(after.head_hash, before.head_hash, RZ_HASH_BYTES));
        if (rc == RZ_E_FORK) {
            FUZZ_CHECK(after.quarantined);
            F.dirty = 1;
        } else {
            /* nothing at all was written for a refused batch */
            FUZZ_CHECK(sqlite3_total_changes64(db) == changes);
            FUZZ_CHECK(after.quarantined == before.quarantined);
        }
        return;
    }
    FUZZ_CHECK(ack.first_seq == m->first_seq);
    FUZZ_CHECK(ack.last_seq == m->first_seq + m->nentries - 1);
    FUZZ_CHECK(ack.applied <= m->nentries);
    FUZZ_CHECK(count_entries() == logs + (int64_t)ack.applied);
    FUZZ_CHECK(after.head_seq == (ack.applied ? ack.last_seq : before.head_seq));
    FUZZ_CHECK(receipt_verify(ack.receipt, F.server.pk, FUZZ_NODE_ID, ack.epoch, ack.first_seq,
                              ack.last_seq, ack.head, ack.server_ms) == 0);
    if (ack.applied) {
        uint64_t merged = 0;
        F.dirty = 1;
        /* The merger takes whatever ingest accepted: never an error. */
        rc = merger_catch_up(F.mr, &merged, &err);
        if (rc)
            fprintf(stderr, "fuzz_ingest: merger: %s\n", err.text);
        FUZZ_CHECK(rc == 0);
    } else {
        FUZZ_CHECK(sqlite3_total_changes64(db) == changes);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_zone z;
    size_t off = 0;
    int nrec = 0;

    if (!F.ready)
        fuzz_setup();
    if (F.dirty)
        fuzz_reset();
    msgpack_zone_init(&z, 4096);
    while (nrec++ < FUZZ_MAX_RECORDS && size - off >= 3) {
        int flags = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        const uint8_t *frame = data + off + 3;
        rz_msg m;
        log_node n;
        off += 3;
        if (len > size - off)
            len = size - off;
        off += len;
        msgpack_zone_clear(&z);
        if (msg_decode(frame, len, &z, &m, NULL) != 0)
            continue;
        if (m.type == RZ_MSG_HELLO) {
            int rc = ingest_hello(F.ig, FUZZ_NODE_ID, &m, &n, NULL);
            FUZZ_CHECK(rc == 0 || rc == RZ_E_AUTH);
            FUZZ_CHECK(rc != 0 || !memcmp(n.node_id, FUZZ_NODE_ID, RZ_NODE_ID_BYTES));
        } else if (m.type == RZ_MSG_BATCH) {
            fuzz_batch(&m, frame, len, flags);
        } else if (m.type == RZ_MSG_FORK_REPORT) {
            /* PROTOCOL 4.8: recorded (fork) or refused with one of its codes. */
            rz_error e = {0, ""};
            int rc = forkreport_record(F.s, FUZZ_NODE_ID, &m, frame, len, &e);
            FUZZ_CHECK(rc == RZ_E_FORK || rc == RZ_E_AUTH || rc == RZ_E_QUARANTINE ||
                       rc == RZ_E_EPOCH || rc == RZ_E_SIGNATURE || rc == RZ_E_CHAIN ||
                       rc == RZ_E_DECODE || rc == RZ_E_BUSY);
            FUZZ_CHECK(e.code == rc && e.text[0] != '\0');
            if (rc == RZ_E_FORK)
                F.dirty = 1;
        }
    }
    msgpack_zone_destroy(&z);
    return 0;
}
