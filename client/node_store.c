/*
 * node_store: records + hash-chained change-log of a centre node, written in
 * one SQLite transaction per change (or per caller-opened batch).  See
 * node_store.h for the contract; this file holds the schema, the statements
 * (prepared once per open) and the recording path.
 *
 * Inside a transaction the store keeps the state a recording needs (clock,
 * head sequence and hash, epoch) in memory, loaded at BEGIN and written back
 * at COMMIT, so a recording costs its inserts and nothing else; that is what
 * makes thousands of entries per second possible with synchronous=FULL.
 */
#include "client/node_store.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/mpk.h"
#include "common/util.h"
#include "proto/entry.h"

#define NODE_SCHEMA_VERSION 2 /* PRAGMA user_version of node.db (store_upgrade) */
#define NODE_PATH_MAX 4096

/* Per-value overhead of a reveal on the wire: [index, field, salt, value]
 * with headers; an upper bound so batches are sized conservatively. */
#define NODE_REVEAL_OVERHEAD 40
#define NODE_STR_(x) #x
#define NODE_STR(x) NODE_STR_(x)

static const char *const node_schema =
    "CREATE TABLE meta("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " node_id BLOB NOT NULL,"
    " sign_pk BLOB NOT NULL,"
    " epoch INTEGER NOT NULL DEFAULT 0,"
    " hlc_last INTEGER NOT NULL DEFAULT 0,"
    " server_endpoint TEXT,"
    " server_pk TEXT,"         /* hex, as configured */
    " last_server_ms INTEGER," /* server time last seen */
    " last_local_ms INTEGER,"  /* our wall clock at that moment */
    " acked_seq INTEGER NOT NULL DEFAULT 0,"
    /* Schema 2: the last sync attempt, for `status` and the web app. */
    " last_attempt_ms INTEGER,"   /* wall clock when it ended */
    " last_attempt_code INTEGER," /* 0 ok, else its rz_err code */
    " last_attempt_text TEXT);"   /* its message (never personal values) */
    "CREATE TABLE person("
    " id BLOB PRIMARY KEY, created_hlc INTEGER NOT NULL, changed_hlc INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL DEFAULT 0,"
    " cnic TEXT, name TEXT, phone TEXT, gender INTEGER, birth_year INTEGER, district TEXT,"
    " area INTEGER, skill INTEGER, skills TEXT, platforms TEXT, reg_date INTEGER)"
    " WITHOUT ROWID;"
    "CREATE TABLE event("
    " id BLOB PRIMARY KEY, created_hlc INTEGER NOT NULL, changed_hlc INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL DEFAULT 0,"
    " kind INTEGER, title TEXT, date INTEGER, duration INTEGER, partner TEXT, mode INTEGER)"
    " WITHOUT ROWID;"
    "CREATE TABLE attendance("
    " event_id BLOB NOT NULL, person_id BLOB NOT NULL, present INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL DEFAULT 0, changed_hlc INTEGER NOT NULL,"
    " PRIMARY KEY (event_id, person_id)) WITHOUT ROWID;"
    "CREATE TABLE log("
    " seq INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, hash BLOB NOT NULL,"
    " entry BLOB NOT NULL);"
    /* Personal values beside the entries that commit to them; value is a
     * BLOB so lengths are bytes, exactly what is revealed. */
    "CREATE TABLE pii("
    " seq INTEGER NOT NULL, field INTEGER NOT NULL, salt BLOB NOT NULL, value BLOB NOT NULL,"
    " PRIMARY KEY (seq, field)) WITHOUT ROWID;"
    "CREATE TABLE receipts("
    " epoch INTEGER NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,"
    " head BLOB NOT NULL, server_ms INTEGER NOT NULL, sig BLOB NOT NULL,"
    " PRIMARY KEY (epoch, last_seq, first_seq)) WITHOUT ROWID;"
    /* Entries a rebase moved to a new epoch, as they were before. */
    "CREATE TABLE log_archive("
    " id INTEGER PRIMARY KEY, to_epoch INTEGER NOT NULL, old_epoch INTEGER NOT NULL,"
    " old_seq INTEGER NOT NULL, new_seq INTEGER NOT NULL, hash BLOB NOT NULL,"
    " entry BLOB NOT NULL, archived_ms INTEGER NOT NULL);"
    /* The server head an epoch chains from after a rebase: this node may not
     * hold that entry (it was the server's copy of a lost timeline). */
    "CREATE TABLE chain_base("
    " seq INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, hash BLOB NOT NULL);";

/* Side tables and indexes beside the log, for the centre's app: none of
 * them is replicated, and a database made before them gets them at its
 * next open (store_side_tables), so the schema version stays 1.
 *   short_code  the number behind each record's short code (node_store.h);
 *   audit       the actor of each log entry, by seq (rebase renumbers it);
 *   import_row  fingerprints of imported rows (client/node_import.c);
 * and indexes for finding people and duplicates (client/node_find.c). */
static const char *const node_side_schema =
    "CREATE TABLE IF NOT EXISTS short_code("
    " n INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, kind INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit("
    " seq INTEGER PRIMARY KEY, actor TEXT NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS import_row("
    " fp BLOB PRIMARY KEY, kind INTEGER NOT NULL, id BLOB, at_ms INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS person_by_cnic ON person(cnic) WHERE cnic IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS person_by_phone ON person(phone) WHERE phone IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS person_by_name_year ON person(birth_year, lower(trim(name)));"
    "CREATE INDEX IF NOT EXISTS event_by_date ON event(date);";

enum node_stmt {
    ST_META_GET,
    ST_META_HLC,
    ST_META_SERVER,
    ST_META_CONFIG,
    ST_META_ATTEMPT,
    ST_META_ACKED,
    ST_META_REBASE,
    ST_LOG_HEAD,
    ST_BASE_HEAD,
    ST_LOG_HASH,
    ST_BASE_HASH,
    ST_LOG_INSERT,
    ST_PII_INSERT,
    ST_LOG_READ,
    ST_PII_SIZES,
    ST_PII_READ,
    ST_PENDING,
    ST_PERSON_INSERT,
    ST_PERSON_UPDATE,
    ST_PERSON_STATE,
    ST_PERSON_DELETED,
    ST_PERSON_EACH,
    ST_PERSON_GET,
    ST_EVENT_INSERT,
    ST_EVENT_UPDATE,
    ST_EVENT_STATE,
    ST_EVENT_DELETED,
    ST_EVENT_EACH,
    ST_EVENT_GET,
    ST_ATT_UPSERT,
    ST_ATT_STATE,
    ST_ATT_DELETED,
    ST_ATT_EACH,
    ST_RECEIPT,
    ST_RB_ARCHIVE,
    ST_RB_PII_ASIDE,
    ST_RB_PII_BACK,
    ST_RB_DELETE,
    ST_RB_READ,
    ST_RB_BASE,
    ST_DATA_VERSION,
    ST_CODE_INSERT,
    ST_CODE_OF,
    ST_CODE_ID,
    ST_AUDIT_INSERT,
    ST_AUDIT_READ,
    ST_RB_AUDIT_ASIDE,
    ST_RB_AUDIT_BACK,
    ST_COUNT
};

#define PERSON_COLS                                                                                \
    "cnic, name, phone, gender, birth_year, district, area, skill, skills, platforms, "            \
    "reg_date"
#define EVENT_COLS "kind, title, date, duration, partner, mode"
/* Field f of a record binds its "given" flag to ?(2f+1) and value to ?(2f+2);
 * INSERT uses only the values, UPDATE both, so one binder serves both. */
#define UPD(col, f, v) col "=CASE WHEN ?" #f " THEN ?" #v " ELSE " col " END"

static const char *const node_sql[ST_COUNT] = {
    [ST_META_GET] = "SELECT node_id, sign_pk, epoch, hlc_last, server_endpoint, server_pk,"
                    " last_server_ms, last_local_ms, acked_seq, last_attempt_ms,"
                    " last_attempt_code, last_attempt_text FROM meta WHERE id=1",
    [ST_META_ATTEMPT] = "UPDATE meta SET last_attempt_ms=?1, last_attempt_code=?2,"
                        " last_attempt_text=?3 WHERE id=1",
    [ST_META_HLC] = "UPDATE meta SET hlc_last=?1 WHERE id=1",
    [ST_META_SERVER] = "UPDATE meta SET last_server_ms=?1, last_local_ms=?2 WHERE id=1",
    [ST_META_CONFIG] = "UPDATE meta SET server_endpoint=?1, server_pk=?2 WHERE id=1",
    [ST_META_ACKED] = "UPDATE meta SET acked_seq=max(acked_seq, ?1) WHERE id=1",
    [ST_META_REBASE] = "UPDATE meta SET epoch=?1, acked_seq=?2 WHERE id=1",
    [ST_LOG_HEAD] = "SELECT seq, hash, entry FROM log ORDER BY seq DESC LIMIT 1",
    [ST_BASE_HEAD] = "SELECT seq, hash FROM chain_base ORDER BY seq DESC LIMIT 1",
    [ST_LOG_HASH] = "SELECT hash FROM log WHERE seq=?1",
    [ST_BASE_HASH] = "SELECT hash FROM chain_base WHERE seq=?1",
    [ST_LOG_INSERT] = "INSERT INTO log(seq, epoch, hash, entry) VALUES(?1, ?2, ?3, ?4)",
    [ST_PII_INSERT] = "INSERT INTO pii(seq, field, salt, value) VALUES(?1, ?2, ?3, ?4)",
    [ST_LOG_READ] = "SELECT seq, epoch, hash, entry FROM log WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
    /* Walked beside ST_LOG_READ (one step per entry with values, in the
     * key's order) rather than a look-up per log row. */
    [ST_PII_SIZES] = "SELECT seq, count(*) * " NODE_STR(
        NODE_REVEAL_OVERHEAD) " + coalesce(sum(length(value)), 0)"
                              " FROM pii WHERE seq >= ?1 GROUP BY seq ORDER BY seq",
    [ST_PII_READ] = "SELECT seq, field, salt, value FROM pii WHERE seq BETWEEN ?1 AND ?2"
                    " ORDER BY seq, field",
    [ST_PENDING] = "SELECT count(*) FROM log WHERE seq > ?1",
    [ST_PERSON_INSERT] = "INSERT INTO person(id, created_hlc, changed_hlc, deleted, " PERSON_COLS
                         ") VALUES(?1, ?2, ?2, 0, ?4, ?6, ?8, ?10, ?12, ?14, ?16, ?18, ?20,"
                         " ?22, ?24)",
    [ST_PERSON_UPDATE] = "UPDATE person SET changed_hlc=?2, " UPD("cnic", 3, 4) ", " UPD("name", 5, 6) ", " UPD(
        "phone", 7,
        8) ", " UPD("gender", 9,
                    10) ", " UPD("birth_year", 11,
                                 12) ", " UPD("district", 13,
                                              14) ", " UPD("area", 15,
                                                           16) ", " UPD("skill", 17,
                                                                        18) ", " UPD("skills", 19,
                                                                                     20) ", " UPD("platforms",
                                                                                                  21,
                                                                                                  22) ", " UPD("reg_date",
                                                                                                               23,
                                                                                                               24) " WHERE id=?1",
    [ST_PERSON_STATE] = "SELECT deleted FROM person WHERE id=?1",
    [ST_PERSON_DELETED] = "UPDATE person SET deleted=?2, changed_hlc=?3 WHERE id=?1",
    [ST_PERSON_EACH] =
        "SELECT " NODE_PERSON_SELECT " FROM person p WHERE ?1 OR deleted=0 ORDER BY id",
    [ST_PERSON_GET] = "SELECT " NODE_PERSON_SELECT " FROM person p WHERE id=?1",
    [ST_EVENT_INSERT] = "INSERT INTO event(id, created_hlc, changed_hlc, deleted, " EVENT_COLS
                        ") VALUES(?1, ?2, ?2, 0, ?4, ?6, ?8, ?10, ?12, ?14)",
    [ST_EVENT_UPDATE] =
        "UPDATE event SET changed_hlc=?2, " UPD("kind", 3, 4) ", " UPD("title", 5, 6) ", " UPD(
            "date", 7, 8) ", " UPD("duration", 9, 10) ", " UPD("partner", 11,
                                                               12) ", " UPD("mode", 13,
                                                                            14) " WHERE id=?1",
    [ST_EVENT_STATE] = "SELECT deleted FROM event WHERE id=?1",
    [ST_EVENT_DELETED] = "UPDATE event SET deleted=?2, changed_hlc=?3 WHERE id=?1",
    [ST_EVENT_EACH] = "SELECT " NODE_EVENT_SELECT " FROM event e WHERE ?1 OR deleted=0 ORDER BY id",
    [ST_EVENT_GET] = "SELECT " NODE_EVENT_SELECT " FROM event e WHERE id=?1",
    /* A later "attend" does not revive a deleted attendance: the local view
     * follows the merge rule (only undelete revives). */
    [ST_ATT_UPSERT] = "INSERT INTO attendance(event_id, person_id, present, deleted, changed_hlc)"
                      " VALUES(?1, ?2, ?3, 0, ?4) ON CONFLICT(event_id, person_id) DO UPDATE"
                      " SET present=excluded.present, changed_hlc=excluded.changed_hlc",
    [ST_ATT_STATE] = "SELECT deleted FROM attendance WHERE event_id=?1 AND person_id=?2",
    [ST_ATT_DELETED] = "UPDATE attendance SET deleted=?3, changed_hlc=?4"
                       " WHERE event_id=?1 AND person_id=?2",
    [ST_ATT_EACH] = "SELECT event_id, person_id, present, deleted, changed_hlc FROM attendance"
                    " WHERE ?1 OR deleted=0 ORDER BY event_id, person_id",
    [ST_RECEIPT] = "INSERT OR REPLACE INTO receipts(epoch, first_seq, last_seq, head, server_ms,"
                   " sig) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_RB_ARCHIVE] = "INSERT INTO log_archive(to_epoch, old_epoch, old_seq, new_seq, hash, entry,"
                      " archived_ms) SELECT ?1, epoch, seq, ?2 + row_number() OVER (ORDER BY seq),"
                      " hash, entry, ?3 FROM log WHERE seq > ?4 ORDER BY seq",
    /* Personal values step aside (negative seq) so renumbering cannot
     * collide with rows not yet moved. */
    [ST_RB_PII_ASIDE] = "UPDATE pii SET seq = -seq WHERE seq > ?1",
    [ST_RB_PII_BACK] = "UPDATE pii SET seq = (SELECT a.new_seq FROM log_archive a"
                       " WHERE a.to_epoch = ?1 AND a.old_seq = -pii.seq) WHERE seq < 0",
    [ST_RB_DELETE] = "DELETE FROM log WHERE seq > ?1",
    [ST_RB_READ] = "SELECT new_seq, entry FROM log_archive WHERE to_epoch=?1 ORDER BY new_seq",
    [ST_RB_BASE] = "INSERT OR REPLACE INTO chain_base(seq, epoch, hash) VALUES(?1, ?2, ?3)",
    /* Changes when another connection committed (not for our own). */
    [ST_DATA_VERSION] = "PRAGMA data_version",
    [ST_CODE_INSERT] = "INSERT INTO short_code(id, kind) VALUES(?1, ?2)",
    [ST_CODE_OF] = "SELECT n FROM short_code WHERE id=?1",
    [ST_CODE_ID] = "SELECT id, kind FROM short_code WHERE n=?1",
    [ST_AUDIT_INSERT] = "INSERT OR REPLACE INTO audit(seq, actor, at_ms) VALUES(?1, ?2, ?3)",
    [ST_AUDIT_READ] = "SELECT l.seq, l.entry, a.actor, a.at_ms FROM log l"
                      " LEFT JOIN audit a ON a.seq = l.seq WHERE l.seq < ?1"
                      " ORDER BY l.seq DESC LIMIT ?2",
    /* As for the personal values: the actors follow their entries. */
    [ST_RB_AUDIT_ASIDE] = "UPDATE audit SET seq = -seq WHERE seq > ?1",
    [ST_RB_AUDIT_BACK] = "UPDATE audit SET seq = (SELECT a.new_seq FROM log_archive a"
                         " WHERE a.to_epoch = ?1 AND a.old_seq = -audit.seq) WHERE seq < 0",
};

/* A personal value waiting to be stored beside the entry being written. */
typedef struct node_pending_pii {
    uint8_t field;                   /* person field id */
    uint8_t salt[RZ_SALT_BYTES];     /* fresh random salt */
    uint8_t commit[RZ_COMMIT_BYTES]; /* what the entry carries */
    const char *value;               /* borrowed from the caller */
    size_t len;                      /* its bytes */
} node_pending_pii;

/* State of the open transaction, loaded at BEGIN, written at COMMIT. */
typedef struct node_txn {
    int open;                         /* a transaction is open */
    int aborted;                      /* a write failed: rolled back */
    uint32_t epoch;                   /* current epoch */
    uint64_t hlc;                     /* last clock value issued */
    uint64_t head_seq;                /* last seq */
    uint8_t head_hash[RZ_HASH_BYTES]; /* its hash */
} node_txn;

/* Ids of persons (LIVE_PERSON) or events (LIVE_EVENT) this connection
 * knows to exist and be live, so that an attendance need not look them up.
 * Only ever a subset of the truth: an id enters after this connection wrote
 * it or read it live inside a transaction; the whole set is dropped on any
 * rollback, on a delete or undelete of its kind, and when another
 * connection committed since (PRAGMA data_version, checked at BEGIN).  An
 * id not in the set is looked up, so dropping is always safe. */
enum { LIVE_PERSON, LIVE_EVENT, LIVE_KINDS };
#define LIVE_MIN_SLOTS 1024u
#define LIVE_MAX_SLOTS (1u << 18) /* 4 MiB of ids; at half load it starts over */

typedef struct node_live {
    uint8_t (*slot)[NODE_REC_ID_BYTES]; /* open addressing; all-zero = empty */
    uint32_t cap;                       /* slots, a power of two; 0 = none yet */
    uint32_t n;                         /* used slots */
} node_live;

struct node_store {
    sqlite3 *db;                       /* node.db */
    sqlite3_stmt *st[ST_COUNT];        /* prepared once per open */
    rz_identity id;                    /* node key; secret */
    uint8_t node_id[RZ_NODE_ID_BYTES]; /* from meta */
    node_txn t;                        /* open transaction's state */
    uint64_t since_clock;              /* entries appended since the last clock entry */
    int since_known;                   /* since_clock was counted from the log */
    mpk_writer w;                      /* entry encoder, reused */
    node_pending_pii pii[3];           /* personal values of the entry */
    size_t npii;                       /* used slots of pii */
    int clock_checked;                 /* clock warning considered */
    node_live live[LIVE_KINDS];        /* ids known live (see node_live) */
    int64_t data_version;              /* at our last BEGIN; -1 unknown */
    char actor[NODE_ACTOR_MAX];        /* who makes the changes; "" unknown */
    struct {
        const char *sql;      /* the constant it was prepared from */
        sqlite3_stmt *st;     /* the statement */
    } cache[NODE_STMT_CACHE]; /* companions' statements (node_store_stmt) */
};

/* ---- small helpers ---- */

static int
node_path(char *out, const char *dir, const char *file, rz_error *err)
{
    if (snprintf(out, NODE_PATH_MAX, "%s/%s", dir, file) >= NODE_PATH_MAX)
        return rz_fail(err, RZ_E_ARG, "data directory path too long");
    return 0;
}

static void
node_reset(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Steps a statement that must finish (INSERT/UPDATE/DELETE) and resets it. */
static int
node_exec(node_store *ns, int which, rz_error *err)
{
    sqlite3_stmt *st = ns->st[which];
    int rc = sqlite3_step(st);
    node_reset(st);
    if (rc != SQLITE_DONE)
        return rz_db_fail(ns->db, err, "write");
    return 0;
}

/* node_exec for a statement whose every parameter is bound before each
 * step (the log insert, the attendance upsert): a reset is enough, which
 * spares the recording path a pass over its bindings. */
static int
node_exec_rebound(node_store *ns, int which, rz_error *err)
{
    sqlite3_stmt *st = ns->st[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return rz_db_fail(ns->db, err, "write");
    return 0;
}

static void
bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static void
bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC);
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Copies a fixed-size blob column; 0 when it has exactly n bytes. */
static int
column_fixed(sqlite3_stmt *st, int col, void *out, size_t n)
{
    if ((size_t)sqlite3_column_bytes(st, col) != n)
        return RZ_E_IO;
    memcpy(out, sqlite3_column_blob(st, col), n);
    return 0;
}

/* ---- ids known live (see node_live) ---- */

static uint32_t
live_hash(const uint8_t *id)
{
    uint64_t a, b;
    memcpy(&a, id, sizeof a);
    memcpy(&b, id + sizeof a, sizeof b);
    a ^= b * 0x9e3779b97f4a7c15ull;
    a ^= a >> 32;
    a *= 0xbf58476d1ce4e5b9ull;
    a ^= a >> 29;
    return (uint32_t)a;
}

static int
live_is_zero(const uint8_t *id)
{
    static const uint8_t zero[NODE_REC_ID_BYTES];
    return memcmp(id, zero, NODE_REC_ID_BYTES) == 0;
}

static void
live_clear(node_live *l)
{
    free(l->slot);
    memset(l, 0, sizeof *l);
}

static void
live_clear_all(node_store *ns)
{
    int k;
    for (k = 0; k < LIVE_KINDS; k++)
        live_clear(&ns->live[k]);
}

static int
live_has(const node_live *l, const uint8_t *id)
{
    uint32_t mask = l->cap - 1, i;
    if (l->cap == 0 || live_is_zero(id))
        return 0;
    for (i = live_hash(id) & mask;; i = (i + 1) & mask) {
        if (memcmp(l->slot[i], id, NODE_REC_ID_BYTES) == 0)
            return 1;
        if (live_is_zero(l->slot[i]))
            return 0;
    }
}

static void
live_put(node_live *l, const uint8_t *id)
{
    uint32_t mask = l->cap - 1, i;
    for (i = live_hash(id) & mask; !live_is_zero(l->slot[i]); i = (i + 1) & mask)
        if (memcmp(l->slot[i], id, NODE_REC_ID_BYTES) == 0)
            return;
    memcpy(l->slot[i], id, NODE_REC_ID_BYTES);
    l->n++;
}

/* Remembers id as live; without memory it simply is not remembered. */
static void
live_add(node_live *l, const uint8_t *id)
{
    if (live_is_zero(id))
        return;
    if (2 * (l->n + 1) > l->cap) {
        node_live g = {NULL, l->cap ? 2 * l->cap : LIVE_MIN_SLOTS, 0};
        uint32_t i;
        if (g.cap > LIVE_MAX_SLOTS) {
            live_clear(l);
            g.cap = LIVE_MIN_SLOTS;
        }
        if ((g.slot = calloc(g.cap, sizeof *g.slot)) == NULL)
            return;
        for (i = 0; i < l->cap; i++)
            if (!live_is_zero(l->slot[i]))
                live_put(&g, l->slot[i]);
        free(l->slot);
        *l = g;
    }
    live_put(l, id);
}

/* At BEGIN: forgets everything when another connection has committed since
 * our last transaction (it may have deleted a record). */
static void
live_check_version(node_store *ns)
{
    sqlite3_stmt *st = ns->st[ST_DATA_VERSION];
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (v < 0 || v != ns->data_version)
        live_clear_all(ns);
    ns->data_version = v;
}

void
node_id_format(char out[2 * NODE_REC_ID_BYTES + 1], const uint8_t id[NODE_REC_ID_BYTES])
{
    hex_encode(out, id, NODE_REC_ID_BYTES);
}

int
node_id_parse(uint8_t id[NODE_REC_ID_BYTES], const char *hex)
{
    return hex_decode(id, NODE_REC_ID_BYTES, hex) == 0 ? 0 : RZ_E_ARG;
}

const rz_identity *
node_store_identity(const node_store *ns)
{
    return &ns->id;
}

const uint8_t *
node_store_node_id(const node_store *ns)
{
    return ns->node_id;
}

/* ---- field descriptions: one table drives entry building, SQL binding
 * and reading rows back, so the three cannot disagree ---- */

enum { FK_UINT, FK_TEXT };

typedef struct node_field {
    uint8_t id;       /* field id (wire.h) */
    uint8_t kind;     /* FK_UINT / FK_TEXT */
    size_t off;       /* offset in node_person / node_event */
    const char *what; /* name in error messages */
} node_field;

static const node_field person_fields[] = {
    {RZ_PF_CNIC, FK_TEXT, offsetof(node_person, cnic), "CNIC"},
    {RZ_PF_NAME, FK_TEXT, offsetof(node_person, name), "name"},
    {RZ_PF_PHONE, FK_TEXT, offsetof(node_person, phone), "phone"},
    {RZ_PF_GENDER, FK_UINT, offsetof(node_person, gender), "gender"},
    {RZ_PF_BIRTH_YEAR, FK_UINT, offsetof(node_person, birth_year), "birth year"},
    {RZ_PF_DISTRICT, FK_TEXT, offsetof(node_person, district), "district"},
    {RZ_PF_AREA, FK_UINT, offsetof(node_person, area), "area"},
    {RZ_PF_SKILL, FK_UINT, offsetof(node_person, skill), "skill"},
    {RZ_PF_SKILLS, FK_TEXT, offsetof(node_person, skills), "skills"},
    {RZ_PF_PLATFORMS, FK_TEXT, offsetof(node_person, platforms), "platforms"},
    {RZ_PF_REG_DATE, FK_UINT, offsetof(node_person, reg_date), "registration date"},
};
#define PERSON_NFIELDS (sizeof person_fields / sizeof person_fields[0])

static const node_field event_fields[] = {
    {RZ_EF_KIND, FK_UINT, offsetof(node_event, kind), "kind"},
    {RZ_EF_TITLE, FK_TEXT, offsetof(node_event, title), "title"},
    {RZ_EF_DATE, FK_UINT, offsetof(node_event, date), "date"},
    {RZ_EF_DURATION, FK_UINT, offsetof(node_event, duration), "duration"},
    {RZ_EF_PARTNER, FK_TEXT, offsetof(node_event, partner), "partner"},
    {RZ_EF_MODE, FK_UINT, offsetof(node_event, mode), "mode"},
};
#define EVENT_NFIELDS (sizeof event_fields / sizeof event_fields[0])

static const char *
field_text(const void *rec, const node_field *f)
{
    return *(const char *const *)((const char *)rec + f->off);
}

static uint64_t
field_uint(const void *rec, const node_field *f)
{
    return *(const uint64_t *)((const char *)rec + f->off);
}

/* Values the wire cannot carry are refused here, before anything is
 * written: a string over RZ_MAX_STR would make the server refuse the batch
 * and wedge the log.  Merely implausible values are the server's to flag. */
static int
fields_check(const node_field *d, size_t nd, const void *rec, uint32_t set, rz_error *err)
{
    size_t i;
    for (i = 0; i < nd; i++) {
        if (!(set & NODE_SET(d[i].id)))
            continue;
        if (d[i].kind == FK_TEXT) {
            const char *s = field_text(rec, &d[i]);
            size_t n = s ? strlen(s) : 0;
            if (n > RZ_MAX_STR)
                return rz_fail(err, RZ_E_ARG, "%s is %zu bytes; at most %d", d[i].what, n,
                               RZ_MAX_STR);
            if (s && !text_is_clean(s, n))
                return rz_fail(err, RZ_E_ARG,
                               "%s is not valid UTF-8 text or contains control characters",
                               d[i].what);
        } else if (field_uint(rec, &d[i]) > (uint64_t)INT64_MAX) {
            return rz_fail(err, RZ_E_ARG, "%s is out of range", d[i].what);
        }
    }
    return 0;
}

static int
set_has_unknown(uint32_t set, int maxf)
{
    return (set & ~(((1u << (maxf + 1)) - 1) & ~1u)) != 0;
}

/* Binds flag ?(2f+1) and value ?(2f+2) of every field (see UPD above). */
static void
fields_bind(sqlite3_stmt *st, const node_field *d, size_t nd, const void *rec, uint32_t set)
{
    size_t i;
    for (i = 0; i < nd; i++) {
        int given = (set & NODE_SET(d[i].id)) != 0, fi = 2 * d[i].id + 1;
        sqlite3_bind_int(st, fi, given);
        if (!given)
            sqlite3_bind_null(st, fi + 1);
        else if (d[i].kind == FK_TEXT)
            bind_text(st, fi + 1, field_text(rec, &d[i]));
        else
            bind_u64(st, fi + 1, field_uint(rec, &d[i]));
    }
}

/* Fills rec from columns first_col.. (one per field, NULL = absent). */
static void
fields_read(sqlite3_stmt *st, int first_col, const node_field *d, size_t nd, void *rec,
            uint32_t *set)
{
    size_t i;
    *set = 0;
    for (i = 0; i < nd; i++) {
        int col = first_col + (int)i;
        char *slot = (char *)rec + d[i].off;
        if (sqlite3_column_type(st, col) == SQLITE_NULL)
            continue;
        *set |= NODE_SET(d[i].id);
        if (d[i].kind == FK_TEXT)
            *(const char **)slot = (const char *)sqlite3_column_text(st, col);
        else
            *(uint64_t *)slot = (uint64_t)sqlite3_column_int64(st, col);
    }
}

/* ---- transactions ---- */

static int
load_head(node_store *ns, uint64_t *seq, uint8_t hash[RZ_HASH_BYTES], int *is_clock, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_LOG_HEAD], *bt = ns->st[ST_BASE_HEAD];
    int rc = 0, src;
    *seq = 0;
    memset(hash, 0, RZ_HASH_BYTES);
    if (is_clock)
        *is_clock = 0;
    if ((src = sqlite3_step(st)) == SQLITE_ROW) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (column_fixed(st, 1, hash, RZ_HASH_BYTES) != 0)
            rc = rz_fail(err, RZ_E_IO, "log row %llu has a damaged hash", (unsigned long long)*seq);
        if (rc == 0 && is_clock) {
            msgpack_zone z;
            rz_entry e;
            msgpack_zone_init(&z, 1024);
            /* A checkpoint is no server time the node received: a session
             * still appends a clock entry of its own after one. */
            *is_clock = entry_decode(sqlite3_column_blob(st, 2),
                                     (size_t)sqlite3_column_bytes(st, 2), &z, &e, NULL) == 0 &&
                        e.table == RZ_T_CLOCK && !entry_field(&e, RZ_CF_CHECKPOINT);
            msgpack_zone_destroy(&z);
        }
    } else if (src != SQLITE_DONE) {
        rc = rz_db_fail(ns->db, err, "log head");
    }
    node_reset(st);
    if (rc)
        return rc;
    /* After a rebase the epoch may chain from a server head above all we
     * hold; that base is then the head. */
    if ((src = sqlite3_step(bt)) == SQLITE_ROW) {
        uint64_t bseq = (uint64_t)sqlite3_column_int64(bt, 0);
        if (bseq > *seq) {
            *seq = bseq;
            if (is_clock)
                *is_clock = 0;
            if (column_fixed(bt, 1, hash, RZ_HASH_BYTES) != 0)
                rc = rz_fail(err, RZ_E_IO, "chain base %llu is damaged", (unsigned long long)bseq);
        }
    } else if (src != SQLITE_DONE) {
        rc = rz_db_fail(ns->db, err, "chain base");
    }
    node_reset(bt);
    return rc;
}

int
node_store_begin(node_store *ns, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_META_GET];
    int rc;
    if (ns->t.open)
        return rz_fail(err, RZ_E_ARG, "a transaction is already open");
    if ((rc = rz_db_begin(ns->db, err)) != 0)
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = rz_db_fail(ns->db, err, "meta");
        node_reset(st);
        rz_db_rollback(ns->db);
        return rc;
    }
    ns->t.epoch = (uint32_t)sqlite3_column_int64(st, 2);
    ns->t.hlc = (uint64_t)sqlite3_column_int64(st, 3);
    node_reset(st);
    if ((rc = load_head(ns, &ns->t.head_seq, ns->t.head_hash, NULL, err)) != 0) {
        rz_db_rollback(ns->db);
        return rc;
    }
    live_check_version(ns);
    ns->t.open = 1;
    ns->t.aborted = 0;
    return 0;
}

void
node_store_rollback(node_store *ns)
{
    rz_db_rollback(ns->db);
    live_clear_all(ns);
    memset(&ns->t, 0, sizeof ns->t);
    ns->since_known = 0; /* entries rolled back: count again */
}

int
node_store_commit(node_store *ns, rz_error *err)
{
    int rc;
    if (!ns->t.open)
        return rz_fail(err, RZ_E_ARG, "no transaction is open");
    if (ns->t.aborted) {
        node_store_rollback(ns);
        return rz_fail(err, RZ_E_IO, "an earlier write failed; nothing was recorded");
    }
    /* The clock is persisted once per transaction, not per entry. */
    bind_u64(ns->st[ST_META_HLC], 1, ns->t.hlc);
    if ((rc = node_exec(ns, ST_META_HLC, err)) != 0 || (rc = rz_db_commit(ns->db, err)) != 0) {
        node_store_rollback(ns);
        return rc;
    }
    memset(&ns->t, 0, sizeof ns->t);
    return 0;
}

/* Joins the caller's transaction or opens one of our own (*own = 1). */
static int
txn_enter(node_store *ns, int *own, rz_error *err)
{
    int rc;
    *own = 0;
    if (ns->t.open) {
        if (ns->t.aborted)
            return rz_fail(err, RZ_E_IO,
                           "an earlier write failed; the transaction was rolled"
                           " back");
        return 0;
    }
    if ((rc = node_store_begin(ns, err)) != 0)
        return rc;
    *own = 1;
    return 0;
}

/* Ends a recording: commits our own transaction, or after a failure rolls
 * back.  A failure before anything was written (wrote == 0) leaves the
 * caller's transaction intact; after a write it cannot, since SQLite has
 * kept part of this recording. */
static int
txn_leave(node_store *ns, int own, int wrote, int rc, rz_error *err)
{
    if (rc == 0)
        return own ? node_store_commit(ns, err) : 0;
    if (own) {
        node_store_rollback(ns);
    } else if (wrote) {
        rz_db_rollback(ns->db);
        live_clear_all(ns);
        ns->t.aborted = 1;
    } else if (sqlite3_get_autocommit(ns->db)) {
        /* SQLite itself rolled back (a read failed badly): what this
         * transaction made known live may be gone. */
        live_clear_all(ns);
    }
    return rc;
}

static uint64_t
next_hlc(node_store *ns)
{
    ns->t.hlc = hlc_next(ns->t.hlc, hlc_wall_ms());
    return ns->t.hlc;
}

/* ---- clock warning (DESIGN guarantee 7) ---- */

static void
format_span(char *out, size_t len, uint64_t ms)
{
    uint64_t min = ms / 60000, h = min / 60, d = h / 24;
    if (d >= 2)
        snprintf(out, len, "%llu days", (unsigned long long)d);
    else if (h >= 1)
        snprintf(out, len, "%llu h %llu min", (unsigned long long)h,
                 (unsigned long long)(min % 60));
    else
        snprintf(out, len, "%llu min", (unsigned long long)min);
}

int
node_store_clock_warning(const node_store_status *st, uint64_t now_ms, char *msg, size_t len)
{
    int64_t off;
    char span[48];
    if (st->last_server_ms == 0)
        return 0;
    if (now_ms + NODE_CLOCK_WARN_MS < st->last_server_ms)
        off = u64_diff_sat(now_ms, st->last_server_ms);
    else
        off = u64_diff_sat(st->last_local_ms, st->last_server_ms);
    if (off <= NODE_CLOCK_WARN_MS && off >= -NODE_CLOCK_WARN_MS)
        return 0;
    format_span(span, sizeof span, off < 0 ? 0 - (uint64_t)off : (uint64_t)off);
    snprintf(msg, len,
             "this PC's clock differs from headquarters' by %s (this PC is %s) — fix the "
             "date/time",
             span, off < 0 ? "behind" : "ahead");
    return 1;
}

/* Considered once per open store: a warning per entry of an import would
 * drown the output. */
static void
clock_warn_once(node_store *ns)
{
    node_store_status st;
    char msg[256];
    if (ns->clock_checked)
        return;
    ns->clock_checked = 1;
    if (node_store_get_status(ns, &st, NULL) == 0 &&
        node_store_clock_warning(&st, hlc_wall_ms(), msg, sizeof msg))
        log_warnx("%s", msg);
}

/* ---- the log ---- */

/* Entry fields of a record: personal values become a fresh salted
 * commitment each time (a reused salt would link equal values across
 * entries), queued in ns->pii to be stored beside the log row. */
static void
fields_to_entry(node_store *ns, rz_entry *e, const node_field *d, size_t nd, const void *rec,
                uint32_t set)
{
    size_t i;
    ns->npii = 0;
    e->nfields = 0;
    for (i = 0; i < nd; i++) {
        rz_field *f;
        if (!(set & NODE_SET(d[i].id)))
            continue;
        f = &e->fields[e->nfields++];
        f->id = d[i].id;
        if (d[i].kind == FK_UINT) {
            f->v = rz_uint(field_uint(rec, &d[i]));
        } else if (!field_text(rec, &d[i])) {
            f->v = rz_nil();
        } else if (entry_field_is_pii(e->table, d[i].id)) {
            node_pending_pii *p = &ns->pii[ns->npii++];
            p->field = d[i].id;
            p->value = field_text(rec, &d[i]);
            p->len = strlen(p->value);
            randombytes_buf(p->salt, RZ_SALT_BYTES);
            pii_commit(p->commit, p->salt, p->value, p->len);
            f->v = rz_bin(p->commit, RZ_COMMIT_BYTES);
        } else {
            f->v = rz_str(field_text(rec, &d[i]));
        }
    }
}

static int log_append(node_store *ns, const rz_entry *e, rz_error *err);

/* Entries after the last clock entry of the log, counted once per process
 * (at most RZ_CLOCK_CHECKPOINT_EVERY decoded). */
static int
count_since_clock(node_store *ns, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    msgpack_zone z;
    int step,
        rc = rz_db_prepare(ns->db, &st, "SELECT entry FROM log ORDER BY seq DESC LIMIT ?1", err);
    if (rc)
        return rc;
    ns->since_clock = 0;
    sqlite3_bind_int(st, 1, RZ_CLOCK_CHECKPOINT_EVERY);
    msgpack_zone_init(&z, 1024);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        rz_entry e;
        msgpack_zone_clear(&z);
        if (entry_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &z, &e,
                         NULL) == 0 &&
            e.table == RZ_T_CLOCK)
            break;
        ns->since_clock++;
    }
    msgpack_zone_destroy(&z);
    /* A row: the loop stopped at a clock entry; else the rows must have ended. */
    rc = step == SQLITE_ROW ? 0 : rz_db_rows_end(ns->db, step, err, "log since the last clock");
    sqlite3_finalize(st);
    if (rc)
        return rc;
    ns->since_known = 1;
    return 0;
}

/* PROTOCOL §5: after RZ_CLOCK_CHECKPOINT_EVERY entries without a clock
 * entry, a checkpoint carrying the node's estimate of the server time (the
 * last server time it saw plus its own clock's progress since), so the
 * server can merge a long offline backlog batch by batch instead of
 * waiting for the clock entry of the next sync.  Never synced: no server
 * time to start from, no checkpoint. */
static int
append_checkpoint(node_store *ns, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    uint64_t server_ms = 0, local_ms = 0, now = hlc_wall_ms();
    rz_entry e;
    int rc = rz_db_prepare(ns->db, &st, "SELECT last_server_ms, last_local_ms FROM meta WHERE id=1",
                           err);
    if (rc)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW) {
        server_ms = (uint64_t)sqlite3_column_int64(st, 0);
        local_ms = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (server_ms == 0)
        return 0;
    entry_init(&e, next_hlc(ns), RZ_T_CLOCK, RZ_OP_SET, NULL, 0);
    entry_put(&e, RZ_CF_SERVER_MS, rz_uint(server_ms + (now > local_ms ? now - local_ms : 0)));
    entry_put(&e, RZ_CF_LOCAL_MS, rz_uint(now));
    entry_put(&e, RZ_CF_CHECKPOINT, rz_uint(1));
    ns->npii = 0;
    return log_append(ns, &e, err);
}

/* Encodes e, chains it after the head and stores it with its pending
 * personal values.  Inside an open transaction. */
static int
log_append(node_store *ns, const rz_entry *e, rz_error *err)
{
    uint8_t hash[RZ_HASH_BYTES];
    uint64_t seq = ns->t.head_seq + 1;
    sqlite3_stmt *st = ns->st[ST_LOG_INSERT];
    size_t i;
    int rc;

    mpk_w_reset(&ns->w);
    entry_encode(&ns->w, e);
    if (ns->w.rc != 0)
        return rz_fail(err, ns->w.rc, "cannot encode the log entry");
    if (ns->w.sb.size > RZ_MAX_ENTRY_BYTES)
        return rz_fail(err, RZ_E_ARG, "the change is %zu bytes encoded; at most %d", ns->w.sb.size,
                       RZ_MAX_ENTRY_BYTES);
    chain_hash(hash, ns->node_id, ns->t.epoch, seq, ns->t.head_hash, (const uint8_t *)ns->w.sb.data,
               ns->w.sb.size);
    bind_u64(st, 1, seq);
    bind_u64(st, 2, ns->t.epoch);
    bind_blob(st, 3, hash, RZ_HASH_BYTES);
    bind_blob(st, 4, ns->w.sb.data, ns->w.sb.size);
    if ((rc = node_exec_rebound(ns, ST_LOG_INSERT, err)) != 0)
        return rc;
    for (i = 0; i < ns->npii; i++) {
        sqlite3_stmt *pt = ns->st[ST_PII_INSERT];
        bind_u64(pt, 1, seq);
        sqlite3_bind_int(pt, 2, ns->pii[i].field);
        bind_blob(pt, 3, ns->pii[i].salt, RZ_SALT_BYTES);
        bind_blob(pt, 4, ns->pii[i].value, ns->pii[i].len);
        if ((rc = node_exec(ns, ST_PII_INSERT, err)) != 0)
            return rc;
    }
    ns->npii = 0;
    if (ns->actor[0]) {
        sqlite3_stmt *at = ns->st[ST_AUDIT_INSERT];
        bind_u64(at, 1, seq);
        bind_text(at, 2, ns->actor);
        bind_u64(at, 3, hlc_wall_ms());
        if ((rc = node_exec(ns, ST_AUDIT_INSERT, err)) != 0)
            return rc;
    }
    ns->t.head_seq = seq;
    memcpy(ns->t.head_hash, hash, RZ_HASH_BYTES);
    if (e->table == RZ_T_CLOCK) {
        ns->since_clock = 0;
        ns->since_known = 1;
        return 0;
    }
    /* The count includes this entry, already in the log. */
    if (!ns->since_known ? (rc = count_since_clock(ns, err)) != 0 : (ns->since_clock++, 0))
        return rc;
    if (ns->since_clock >= RZ_CLOCK_CHECKPOINT_EVERY)
        return append_checkpoint(ns, err);
    return 0;
}

/* ---- records ---- */

/* Deleted flag of a record: 0/1, or RZ_E_NOTFOUND. */
static int
record_state(node_store *ns, int which, const uint8_t *key, size_t key_len, int *deleted,
             rz_error *err)
{
    sqlite3_stmt *st = ns->st[which];
    int rc;
    bind_blob(st, 1, key, NODE_REC_ID_BYTES);
    if (key_len == 2 * NODE_REC_ID_BYTES)
        bind_blob(st, 2, key + NODE_REC_ID_BYTES, NODE_REC_ID_BYTES);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *deleted = sqlite3_column_int(st, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = RZ_E_NOTFOUND;
    } else {
        rc = rz_db_fail(ns->db, err, "lookup");
    }
    node_reset(st);
    return rc;
}

static void
make_id(node_store *ns, uint64_t hlc, uint8_t id[NODE_REC_ID_BYTES])
{
    be64_put(id, hlc);
    memcpy(id + 8, ns->node_id, RZ_NODE_ID_BYTES);
}

/* Shared path of add and edit for persons and events. */
typedef struct record_kind {
    uint8_t table;            /* RZ_T_PERSON / RZ_T_EVENT */
    const char *noun;         /* for messages */
    const node_field *fields; /* field table */
    size_t nfields;           /* its length */
    int maxf;                 /* highest field id */
    int st_insert, st_update, st_state;
    int live; /* LIVE_PERSON / LIVE_EVENT */
} record_kind;

static const record_kind person_kind = {RZ_T_PERSON,      "person",        person_fields,
                                        PERSON_NFIELDS,   RZ_PF_MAX,       ST_PERSON_INSERT,
                                        ST_PERSON_UPDATE, ST_PERSON_STATE, LIVE_PERSON};
static const record_kind event_kind = {RZ_T_EVENT,      "event",        event_fields,
                                       EVENT_NFIELDS,   RZ_EF_MAX,      ST_EVENT_INSERT,
                                       ST_EVENT_UPDATE, ST_EVENT_STATE, LIVE_EVENT};

/* Adds (id_in NULL, new id to id_out) or edits a record: the row change and
 * its log entry in one transaction. */
static int
record_set(node_store *ns, const record_kind *k, const uint8_t *id_in, const void *rec,
           uint32_t set, uint8_t id_out[NODE_REC_ID_BYTES], rz_error *err)
{
    uint8_t id[NODE_REC_ID_BYTES];
    sqlite3_stmt *st;
    rz_entry e;
    uint64_t hlc;
    int own, rc, deleted, wrote = 0;

    if (set == 0)
        return rz_fail(err, RZ_E_ARG, "nothing to change");
    if (set_has_unknown(set, k->maxf))
        return rz_fail(err, RZ_E_ARG, "unknown %s field", k->noun);
    if ((rc = fields_check(k->fields, k->nfields, rec, set, err)) != 0)
        return rc;
    if ((rc = txn_enter(ns, &own, err)) != 0)
        return rc;
    if (id_in &&
        (rc = record_state(ns, k->st_state, id_in, NODE_REC_ID_BYTES, &deleted, err)) != 0) {
        if (rc == RZ_E_NOTFOUND) {
            char hex[2 * NODE_REC_ID_BYTES + 1];
            node_id_format(hex, id_in);
            rz_fail(err, rc, "no %s with id %s", k->noun, hex);
        }
        goto out;
    }
    clock_warn_once(ns);
    hlc = next_hlc(ns);
    if (id_in)
        memcpy(id, id_in, sizeof id);
    else
        make_id(ns, hlc, id);
    wrote = 1;
    st = ns->st[id_in ? k->st_update : k->st_insert];
    bind_blob(st, 1, id, sizeof id);
    bind_u64(st, 2, hlc);
    fields_bind(st, k->fields, k->nfields, rec, set);
    if ((rc = node_exec(ns, id_in ? k->st_update : k->st_insert, err)) != 0)
        goto out;
    entry_init(&e, hlc, k->table, RZ_OP_SET, id, sizeof id);
    fields_to_entry(ns, &e, k->fields, k->nfields, rec, set);
    if ((rc = log_append(ns, &e, err)) != 0)
        goto out;
    if (!id_in) {
        sqlite3_stmt *ct = ns->st[ST_CODE_INSERT];
        bind_blob(ct, 1, id, sizeof id);
        sqlite3_bind_int(ct, 2, k->table);
        if ((rc = node_exec(ns, ST_CODE_INSERT, err)) != 0)
            goto out;
        live_add(&ns->live[k->live], id); /* dropped again if this rolls back */
    }
    if (id_out)
        memcpy(id_out, id, sizeof id);
out:
    return txn_leave(ns, own, wrote, rc, err);
}

/* The stored form of a person: a valid CNIC as its 13 digits, so the same
 * person typed with or without dashes commits to the same value, and a
 * valid phone number as +92....  An invalid value is kept as typed (the
 * server flags it). */
static void
person_canonical(const node_person *p, node_person *q, char cnic[14], char phone[RZ_PHONE_MAX])
{
    *q = *p;
    if ((p->set & NODE_SET(RZ_PF_CNIC)) && p->cnic &&
        cnic_normalize(cnic, p->cnic, strlen(p->cnic)))
        q->cnic = cnic;
    /* A valid phone number in one form (+92...), so that search and the
     * duplicate check find it however it was typed. */
    if ((p->set & NODE_SET(RZ_PF_PHONE)) && p->phone &&
        phone_normalize(phone, p->phone, strlen(p->phone)))
        q->phone = phone;
}

int
node_store_check_person(const node_person *p, int is_new, rz_error *err)
{
    if (is_new && (!(p->set & NODE_SET(RZ_PF_NAME)) || !p->name || !*p->name))
        return rz_fail(err, RZ_E_ARG, "a person needs a name");
    if (is_new && !(p->set & NODE_SET(RZ_PF_GENDER)))
        return rz_fail(err, RZ_E_ARG, "a person needs a gender");
    if (!is_new && (p->set & NODE_SET(RZ_PF_NAME)) && (!p->name || !*p->name))
        return rz_fail(err, RZ_E_ARG, "a person's name cannot be cleared");
    if (set_has_unknown(p->set, RZ_PF_MAX))
        return rz_fail(err, RZ_E_ARG, "unknown person field");
    return fields_check(person_fields, PERSON_NFIELDS, p, p->set, err);
}

int
node_store_person_add(node_store *ns, const node_person *p, uint8_t id[NODE_REC_ID_BYTES],
                      rz_error *err)
{
    node_person q;
    char cnic[14], phone[RZ_PHONE_MAX];
    int rc;
    if ((rc = node_store_check_person(p, 1, err)) != 0)
        return rc;
    person_canonical(p, &q, cnic, phone);
    if (!(q.set & NODE_SET(RZ_PF_REG_DATE))) {
        q.set |= NODE_SET(RZ_PF_REG_DATE);
        q.reg_date = date_of_ms(hlc_wall_ms());
    }
    return record_set(ns, &person_kind, NULL, &q, q.set, id, err);
}

int
node_store_person_edit(node_store *ns, const uint8_t id[NODE_REC_ID_BYTES], const node_person *p,
                       rz_error *err)
{
    node_person q;
    char cnic[14], phone[RZ_PHONE_MAX];
    int rc;
    if ((rc = node_store_check_person(p, 0, err)) != 0)
        return rc;
    person_canonical(p, &q, cnic, phone);
    return record_set(ns, &person_kind, id, &q, q.set, NULL, err);
}

int
node_store_event_add(node_store *ns, const node_event *ev, uint8_t id[NODE_REC_ID_BYTES],
                     rz_error *err)
{
    uint32_t need = NODE_SET(RZ_EF_KIND) | NODE_SET(RZ_EF_TITLE) | NODE_SET(RZ_EF_DATE);
    if ((ev->set & need) != need || !ev->title || !*ev->title)
        return rz_fail(err, RZ_E_ARG, "an event needs a kind, a title and a date");
    return record_set(ns, &event_kind, NULL, ev, ev->set, id, err);
}

int
node_store_event_edit(node_store *ns, const uint8_t id[NODE_REC_ID_BYTES], const node_event *ev,
                      rz_error *err)
{
    if ((ev->set & NODE_SET(RZ_EF_TITLE)) && (!ev->title || !*ev->title))
        return rz_fail(err, RZ_E_ARG, "an event's title cannot be cleared");
    return record_set(ns, &event_kind, id, ev, ev->set, NULL, err);
}

int
node_store_set_deleted(node_store *ns, uint8_t table, const uint8_t *key, size_t key_len,
                       int deleted, rz_error *err)
{
    int st_state, st_set, own, rc, cur = 0, wrote = 0;
    const char *noun;
    sqlite3_stmt *st;
    rz_entry e;
    uint64_t hlc;

    switch (table) {
    case RZ_T_PERSON:
        st_state = ST_PERSON_STATE, st_set = ST_PERSON_DELETED, noun = "person";
        break;
    case RZ_T_EVENT: st_state = ST_EVENT_STATE, st_set = ST_EVENT_DELETED, noun = "event"; break;
    case RZ_T_ATTENDANCE:
        st_state = ST_ATT_STATE, st_set = ST_ATT_DELETED, noun = "attendance";
        break;
    default: return rz_fail(err, RZ_E_ARG, "table %u has no records to delete", table);
    }
    if (key_len != (table == RZ_T_ATTENDANCE ? 2u : 1u) * NODE_REC_ID_BYTES)
        return rz_fail(err, RZ_E_ARG, "%s key of %zu bytes", noun, key_len);
    if (table != RZ_T_ATTENDANCE)
        live_clear(&ns->live[table == RZ_T_PERSON ? LIVE_PERSON : LIVE_EVENT]);
    if ((rc = txn_enter(ns, &own, err)) != 0)
        return rc;
    if ((rc = record_state(ns, st_state, key, key_len, &cur, err)) != 0) {
        if (rc == RZ_E_NOTFOUND)
            rz_fail(err, rc, "no such %s", noun);
        goto out;
    }
    if (cur == (deleted ? 1 : 0)) {
        rc = rz_fail(err, RZ_E_EXISTS, "the %s is already %s", noun, deleted ? "deleted" : "live");
        goto out;
    }
    clock_warn_once(ns);
    hlc = next_hlc(ns);
    wrote = 1;
    st = ns->st[st_set];
    bind_blob(st, 1, key, NODE_REC_ID_BYTES);
    if (table == RZ_T_ATTENDANCE) {
        bind_blob(st, 2, key + NODE_REC_ID_BYTES, NODE_REC_ID_BYTES);
        sqlite3_bind_int(st, 3, deleted ? 1 : 0);
        bind_u64(st, 4, hlc);
    } else {
        sqlite3_bind_int(st, 2, deleted ? 1 : 0);
        bind_u64(st, 3, hlc);
    }
    if ((rc = node_exec(ns, st_set, err)) != 0)
        goto out;
    entry_init(&e, hlc, table, deleted ? RZ_OP_DELETE : RZ_OP_UNDELETE, key, key_len);
    ns->npii = 0;
    rc = log_append(ns, &e, err);
out:
    return txn_leave(ns, own, wrote, rc, err);
}

/* A person or event an attendance refers to must exist here and be live:
 * known live already, or looked up (and then remembered). */
static int
attend_target(node_store *ns, int live, int which, const char *noun, const uint8_t *id,
              rz_error *err)
{
    char hex[2 * NODE_REC_ID_BYTES + 1];
    int deleted = 0, rc;
    if (live_has(&ns->live[live], id))
        return 0;
    rc = record_state(ns, which, id, NODE_REC_ID_BYTES, &deleted, err);
    if (rc == 0 && !deleted) {
        live_add(&ns->live[live], id);
        return 0;
    }
    node_id_format(hex, id);
    if (rc == RZ_E_NOTFOUND)
        return rz_fail(err, rc, "no %s with id %s", noun, hex);
    if (rc == 0 && deleted)
        return rz_fail(err, RZ_E_ARG, "%s %s is deleted; undelete it first", noun, hex);
    return rc;
}

int
node_store_attend(node_store *ns, const uint8_t event_id[NODE_REC_ID_BYTES],
                  const uint8_t person_id[NODE_REC_ID_BYTES], int present, rz_error *err)
{
    uint8_t key[2 * NODE_REC_ID_BYTES];
    sqlite3_stmt *st = ns->st[ST_ATT_UPSERT];
    rz_entry e;
    uint64_t hlc;
    int own, rc, wrote = 0;

    if ((rc = txn_enter(ns, &own, err)) != 0)
        return rc;
    if ((rc = attend_target(ns, LIVE_EVENT, ST_EVENT_STATE, "event", event_id, err)) != 0 ||
        (rc = attend_target(ns, LIVE_PERSON, ST_PERSON_STATE, "person", person_id, err)) != 0)
        goto out;
    clock_warn_once(ns);
    hlc = next_hlc(ns);
    memcpy(key, event_id, NODE_REC_ID_BYTES);
    memcpy(key + NODE_REC_ID_BYTES, person_id, NODE_REC_ID_BYTES);
    wrote = 1;
    bind_blob(st, 1, event_id, NODE_REC_ID_BYTES);
    bind_blob(st, 2, person_id, NODE_REC_ID_BYTES);
    sqlite3_bind_int(st, 3, present ? 1 : 0);
    bind_u64(st, 4, hlc);
    if ((rc = node_exec_rebound(ns, ST_ATT_UPSERT, err)) != 0)
        goto out;
    entry_init(&e, hlc, RZ_T_ATTENDANCE, RZ_OP_SET, key, sizeof key);
    entry_put(&e, RZ_AF_PRESENT, rz_bool(present));
    ns->npii = 0;
    rc = log_append(ns, &e, err);
out:
    return txn_leave(ns, own, wrote, rc, err);
}

/* ---- foreign entries (recovery of a replaced PC) ---- */

/* Fills the record rec (fields of d) from entry e: uints, texts copied
 * NUL-terminated into zone z, personal values from vals.  Returns the set
 * bits, or 0 with err filled. */
static int
foreign_fields(const rz_entry *e, const node_field *d, size_t nd, void *rec, uint32_t *set,
               const node_foreign_value *vals, size_t nvals, msgpack_zone *z, rz_error *err)
{
    size_t i, j;
    *set = 0;
    for (i = 0; i < e->nfields; i++) {
        const rz_field *f = &e->fields[i];
        const node_field *nf = NULL;
        char *slot, *txt;
        for (j = 0; j < nd; j++)
            if (d[j].id == f->id)
                nf = &d[j];
        if (!nf)
            continue; /* a field this version does not keep locally */
        slot = (char *)rec + nf->off;
        if (nf->kind == FK_UINT) {
            /* An invalid type is the server's to flag; locally it is absent. */
            if (f->v.type != RZ_V_UINT || f->v.u > (uint64_t)INT64_MAX)
                continue;
            *(uint64_t *)slot = f->v.u;
        } else if (f->v.type == RZ_V_NIL) {
            *(const char **)slot = NULL;
        } else if (entry_field_is_pii(e->table, f->id) && f->v.type == RZ_V_BIN) {
            const node_foreign_value *v = NULL;
            for (j = 0; j < nvals; j++)
                if (vals[j].field == f->id)
                    v = &vals[j];
            if (!v)
                return rz_fail(err, RZ_E_ARG, "no value for personal field %u", f->id);
            if (!v->value) {
                *(const char **)slot = NULL; /* erased at the server */
            } else {
                if (!(txt = msgpack_zone_malloc(z, v->len + 1)))
                    return rz_fail(err, RZ_E_NOMEM, "out of memory");
                memcpy(txt, v->value, v->len);
                txt[v->len] = '\0';
                *(const char **)slot = txt;
            }
        } else if (f->v.type == RZ_V_STR && !entry_field_is_pii(e->table, f->id)) {
            if (!(txt = msgpack_zone_malloc(z, f->v.len + 1)))
                return rz_fail(err, RZ_E_NOMEM, "out of memory");
            memcpy(txt, f->v.p, f->v.len);
            txt[f->v.len] = '\0';
            *(const char **)slot = txt;
        } else {
            continue;
        }
        *set |= NODE_SET(f->id);
    }
    return 0;
}

/* A set of a person or event: the row's UPDATE or, for a record new here,
 * its INSERT and short code, exactly as record_set writes them. */
static int
foreign_record(node_store *ns, const record_kind *k, const rz_entry *e,
               const node_foreign_value *vals, size_t nvals, msgpack_zone *z, rz_error *err)
{
    node_person p;
    node_event ev;
    void *rec = k->table == RZ_T_PERSON ? (void *)&p : (void *)&ev;
    uint32_t set;
    sqlite3_stmt *st;
    int rc, deleted, exists;
    memset(&p, 0, sizeof p);
    memset(&ev, 0, sizeof ev);
    if ((rc = foreign_fields(e, k->fields, k->nfields, rec, &set, vals, nvals, z, err)) != 0)
        return rc;
    rc = record_state(ns, k->st_state, e->key, NODE_REC_ID_BYTES, &deleted, err);
    if (rc != 0 && rc != RZ_E_NOTFOUND)
        return rc;
    exists = rc == 0;
    st = ns->st[exists ? k->st_update : k->st_insert];
    bind_blob(st, 1, e->key, NODE_REC_ID_BYTES);
    bind_u64(st, 2, e->hlc);
    fields_bind(st, k->fields, k->nfields, rec, set);
    if ((rc = node_exec(ns, exists ? k->st_update : k->st_insert, err)) != 0 || exists)
        return rc;
    st = ns->st[ST_CODE_INSERT];
    bind_blob(st, 1, e->key, NODE_REC_ID_BYTES);
    sqlite3_bind_int(st, 2, k->table);
    return node_exec(ns, ST_CODE_INSERT, err);
}

int
node_store_apply_foreign(node_store *ns, const uint8_t *entry, size_t len,
                         const node_foreign_value *vals, size_t nvals, rz_error *err)
{
    msgpack_zone z;
    rz_entry e;
    int rc = 0, cur;
    if (!ns->t.open || ns->t.aborted)
        return rz_fail(err, RZ_E_ARG, "a foreign entry is applied inside an open transaction");
    msgpack_zone_init(&z, 2048);
    if ((rc = entry_decode(entry, len, &z, &e, err)) != 0)
        goto out;
    /* Same rule as a WELCOME's time: our later stamps come after it. */
    if (e.hlc > ns->t.hlc)
        ns->t.hlc = e.hlc;
    if (e.table == RZ_T_CLOCK)
        goto out;
    if (e.key_len != (e.table == RZ_T_ATTENDANCE ? 2u : 1u) * NODE_REC_ID_BYTES) {
        rc = rz_fail(err, RZ_E_DECODE, "entry key of %zu bytes", e.key_len);
        goto out;
    }
    /* Deletions and new rows change what is live: start the cache over. */
    live_clear_all(ns);
    if (e.op == RZ_OP_SET && e.table != RZ_T_ATTENDANCE) {
        rc = foreign_record(ns, e.table == RZ_T_PERSON ? &person_kind : &event_kind, &e, vals,
                            nvals, &z, err);
    } else if (e.op == RZ_OP_SET) {
        const rz_value *pr = entry_field(&e, RZ_AF_PRESENT);
        sqlite3_stmt *st = ns->st[ST_ATT_UPSERT];
        bind_blob(st, 1, e.key, NODE_REC_ID_BYTES);
        bind_blob(st, 2, e.key + NODE_REC_ID_BYTES, NODE_REC_ID_BYTES);
        sqlite3_bind_int(st, 3, pr && pr->type == RZ_V_BOOL && pr->u ? 1 : 0);
        bind_u64(st, 4, e.hlc);
        rc = node_exec_rebound(ns, ST_ATT_UPSERT, err);
    } else {
        int which = e.table == RZ_T_PERSON  ? ST_PERSON_DELETED
                    : e.table == RZ_T_EVENT ? ST_EVENT_DELETED
                                            : ST_ATT_DELETED;
        int state = e.table == RZ_T_PERSON  ? ST_PERSON_STATE
                    : e.table == RZ_T_EVENT ? ST_EVENT_STATE
                                            : ST_ATT_STATE;
        sqlite3_stmt *st = ns->st[which];
        /* A tombstone of a record never set has nothing to mark here. */
        if ((rc = record_state(ns, state, e.key, e.key_len, &cur, err)) == RZ_E_NOTFOUND) {
            rc = 0;
            goto out;
        }
        if (rc)
            goto out;
        bind_blob(st, 1, e.key, NODE_REC_ID_BYTES);
        if (e.table == RZ_T_ATTENDANCE) {
            bind_blob(st, 2, e.key + NODE_REC_ID_BYTES, NODE_REC_ID_BYTES);
            sqlite3_bind_int(st, 3, e.op == RZ_OP_DELETE);
            bind_u64(st, 4, e.hlc);
        } else {
            sqlite3_bind_int(st, 2, e.op == RZ_OP_DELETE);
            bind_u64(st, 3, e.hlc);
        }
        rc = node_exec(ns, which, err);
    }
    if (rc && rc != RZ_E_DECODE && rc != RZ_E_ARG) {
        /* A failed write: the whole transaction is gone (as txn_leave). */
        rz_db_rollback(ns->db);
        live_clear_all(ns);
        ns->t.aborted = 1;
    }
out:
    msgpack_zone_destroy(&z);
    return rc;
}

/* ---- reading records ---- */

/* The short code column after the fields: NULL for a record without one. */
static void
code_read(sqlite3_stmt *st, int col, char out[NODE_CODE_MAX])
{
    out[0] = '\0';
    if (sqlite3_column_type(st, col) != SQLITE_NULL)
        node_code_format(out, (uint64_t)sqlite3_column_int64(st, col));
}

int
node_store_person_row(sqlite3_stmt *st, int c, node_person_row *row)
{
    uint32_t set;
    memset(row, 0, sizeof *row);
    if (column_fixed(st, c, row->id, NODE_REC_ID_BYTES) != 0)
        return RZ_E_IO;
    row->deleted = sqlite3_column_int(st, c + 1);
    row->changed_hlc = (uint64_t)sqlite3_column_int64(st, c + 2);
    fields_read(st, c + 3, person_fields, PERSON_NFIELDS, &row->f, &set);
    row->f.set = set;
    code_read(st, c + 3 + (int)PERSON_NFIELDS, row->code);
    return 0;
}

int
node_store_event_row(sqlite3_stmt *st, int c, node_event_row *row)
{
    uint32_t set;
    memset(row, 0, sizeof *row);
    if (column_fixed(st, c, row->id, NODE_REC_ID_BYTES) != 0)
        return RZ_E_IO;
    row->deleted = sqlite3_column_int(st, c + 1);
    row->changed_hlc = (uint64_t)sqlite3_column_int64(st, c + 2);
    fields_read(st, c + 3, event_fields, EVENT_NFIELDS, &row->f, &set);
    row->f.set = set;
    code_read(st, c + 3 + (int)EVENT_NFIELDS, row->code);
    return 0;
}

static int
walk_persons(node_store *ns, sqlite3_stmt *st, node_person_fn fn, void *ctx, rz_error *err)
{
    node_person_row row;
    int rc, src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (node_store_person_row(st, 0, &row) != 0)
            continue;
        if ((rc = fn(ctx, &row)) != 0) {
            node_reset(st);
            return rc;
        }
    }
    rc = src == SQLITE_DONE ? 0 : rz_db_fail(ns->db, err, "read persons");
    node_reset(st);
    return rc;
}

static int
walk_events(node_store *ns, sqlite3_stmt *st, node_event_fn fn, void *ctx, rz_error *err)
{
    node_event_row row;
    int rc, src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (node_store_event_row(st, 0, &row) != 0)
            continue;
        if ((rc = fn(ctx, &row)) != 0) {
            node_reset(st);
            return rc;
        }
    }
    rc = src == SQLITE_DONE ? 0 : rz_db_fail(ns->db, err, "read events");
    node_reset(st);
    return rc;
}

/* Counts calls so _get can tell "not found" from "found". */
typedef struct get_ctx {
    node_person_fn pfn; /* the caller's callback for a person */
    node_event_fn efn;  /* ... or for an event */
    void *ctx;          /* its context */
    int found;          /* rows seen */
} get_ctx;

static int
get_person_cb(void *c, const node_person_row *row)
{
    get_ctx *g = c;
    g->found++;
    return g->pfn(g->ctx, row);
}

static int
get_event_cb(void *c, const node_event_row *row)
{
    get_ctx *g = c;
    g->found++;
    return g->efn(g->ctx, row);
}

int
node_store_person_each(node_store *ns, int all, node_person_fn fn, void *ctx, rz_error *err)
{
    sqlite3_bind_int(ns->st[ST_PERSON_EACH], 1, all ? 1 : 0);
    return walk_persons(ns, ns->st[ST_PERSON_EACH], fn, ctx, err);
}

int
node_store_person_get(node_store *ns, const uint8_t id[NODE_REC_ID_BYTES], node_person_fn fn,
                      void *ctx, rz_error *err)
{
    get_ctx g = {fn, NULL, ctx, 0};
    int rc;
    bind_blob(ns->st[ST_PERSON_GET], 1, id, NODE_REC_ID_BYTES);
    if ((rc = walk_persons(ns, ns->st[ST_PERSON_GET], get_person_cb, &g, err)) != 0)
        return rc;
    return g.found ? 0 : rz_fail(err, RZ_E_NOTFOUND, "no person with that id");
}

int
node_store_event_each(node_store *ns, int all, node_event_fn fn, void *ctx, rz_error *err)
{
    sqlite3_bind_int(ns->st[ST_EVENT_EACH], 1, all ? 1 : 0);
    return walk_events(ns, ns->st[ST_EVENT_EACH], fn, ctx, err);
}

int
node_store_event_get(node_store *ns, const uint8_t id[NODE_REC_ID_BYTES], node_event_fn fn,
                     void *ctx, rz_error *err)
{
    get_ctx g = {NULL, fn, ctx, 0};
    int rc;
    bind_blob(ns->st[ST_EVENT_GET], 1, id, NODE_REC_ID_BYTES);
    if ((rc = walk_events(ns, ns->st[ST_EVENT_GET], get_event_cb, &g, err)) != 0)
        return rc;
    return g.found ? 0 : rz_fail(err, RZ_E_NOTFOUND, "no event with that id");
}

int
node_store_attendance_each(node_store *ns, int all, node_attendance_fn fn, void *ctx, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_ATT_EACH];
    node_attendance_row row;
    int rc, src;
    sqlite3_bind_int(st, 1, all ? 1 : 0);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (column_fixed(st, 0, row.event_id, NODE_REC_ID_BYTES) != 0 ||
            column_fixed(st, 1, row.person_id, NODE_REC_ID_BYTES) != 0)
            continue;
        row.present = sqlite3_column_int(st, 2);
        row.deleted = sqlite3_column_int(st, 3);
        row.changed_hlc = (uint64_t)sqlite3_column_int64(st, 4);
        if ((rc = fn(ctx, &row)) != 0) {
            node_reset(st);
            return rc;
        }
    }
    rc = src == SQLITE_DONE ? 0 : rz_db_fail(ns->db, err, "read attendance");
    node_reset(st);
    return rc;
}

/* ---- replication state ---- */

static int
count_pending(node_store *ns, uint64_t acked, uint64_t *n, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_PENDING];
    int rc;
    bind_u64(st, 1, acked);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *n = (uint64_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = rz_db_fail(ns->db, err, "pending");
    }
    node_reset(st);
    return rc;
}

int
node_store_get_status(node_store *ns, node_store_status *s, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_META_GET];
    const char *txt;
    int rc = 0;

    memset(s, 0, sizeof *s);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = rz_db_fail(ns->db, err, "meta");
        node_reset(st);
        return rc;
    }
    if (column_fixed(st, 0, s->node_id, RZ_NODE_ID_BYTES) != 0 ||
        column_fixed(st, 1, s->sign_pk, RZ_PK_BYTES) != 0)
        rc = rz_fail(err, RZ_E_IO, "node.db meta row is damaged");
    s->epoch = (uint32_t)sqlite3_column_int64(st, 2);
    s->hlc_last = (uint64_t)sqlite3_column_int64(st, 3);
    if ((txt = (const char *)sqlite3_column_text(st, 4)) != NULL)
        snprintf(s->endpoint, sizeof s->endpoint, "%s", txt);
    if ((txt = (const char *)sqlite3_column_text(st, 5)) != NULL &&
        hex_decode(s->server_pk, RZ_PK_BYTES, txt) == 0)
        s->has_server_pk = 1;
    s->last_server_ms = (uint64_t)sqlite3_column_int64(st, 6);
    s->last_local_ms = (uint64_t)sqlite3_column_int64(st, 7);
    s->acked_seq = (uint64_t)sqlite3_column_int64(st, 8);
    s->last_attempt_ms = (uint64_t)sqlite3_column_int64(st, 9);
    s->last_attempt_code = sqlite3_column_int(st, 10);
    if ((txt = (const char *)sqlite3_column_text(st, 11)) != NULL)
        snprintf(s->last_attempt_text, sizeof s->last_attempt_text, "%s", txt);
    node_reset(st);
    if (rc)
        return rc;
    /* Inside a transaction the in-memory clock is ahead of meta. */
    if (ns->t.open && ns->t.hlc > s->hlc_last)
        s->hlc_last = ns->t.hlc;
    if ((rc = load_head(ns, &s->head_seq, s->head_hash, &s->head_is_clock, err)) != 0)
        return rc;
    return count_pending(ns, s->acked_seq, &s->pending, err);
}

int
node_store_epoch(node_store *ns, uint32_t *epoch, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_META_GET];
    int rc = 0;
    if (ns->t.open) {
        *epoch = ns->t.epoch;
        return 0;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        *epoch = (uint32_t)sqlite3_column_int64(st, 2);
    else
        rc = rz_db_fail(ns->db, err, "meta");
    node_reset(st);
    return rc;
}

int
node_store_hash_at(node_store *ns, uint64_t seq, uint8_t out[RZ_HASH_BYTES], rz_error *err)
{
    static const int which[2] = {ST_LOG_HASH, ST_BASE_HASH};
    int i, rc;
    if (seq == 0) {
        memset(out, 0, RZ_HASH_BYTES);
        return 0;
    }
    for (i = 0; i < 2; i++) {
        sqlite3_stmt *st = ns->st[which[i]];
        bind_u64(st, 1, seq);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            rc =
                column_fixed(st, 0, out, RZ_HASH_BYTES) == 0
                    ? 0
                    : rz_fail(err, RZ_E_IO, "hash of seq %llu is damaged", (unsigned long long)seq);
        else if (rc == SQLITE_DONE)
            rc = RZ_E_NOTFOUND;
        else
            rc = rz_db_fail(ns->db, err, "hash");
        node_reset(st);
        if (rc != RZ_E_NOTFOUND)
            return rc;
    }
    return rz_fail(err, RZ_E_NOTFOUND, "this node holds no entry %llu", (unsigned long long)seq);
}

/* Clock fold + remembered server time; inside a transaction. */
static int
observe_in_txn(node_store *ns, uint64_t server_ms, uint64_t local_ms, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_META_SERVER];
    ns->t.hlc = hlc_observe(ns->t.hlc, hlc_make(server_ms, 0), local_ms);
    bind_u64(st, 1, server_ms);
    bind_u64(st, 2, local_ms);
    return node_exec(ns, ST_META_SERVER, err);
}

int
node_store_observe_server(node_store *ns, uint64_t server_ms, uint64_t local_ms, rz_error *err)
{
    int own, rc;
    if ((rc = txn_enter(ns, &own, err)) != 0)
        return rc;
    rc = observe_in_txn(ns, server_ms, local_ms, err);
    return txn_leave(ns, own, 1, rc, err);
}

int
node_store_append_clock(node_store *ns, uint64_t server_ms, uint64_t local_ms, uint64_t *seq,
                        rz_error *err)
{
    rz_entry e;
    int own, rc;
    if ((rc = txn_enter(ns, &own, err)) != 0)
        return rc;
    entry_init(&e, next_hlc(ns), RZ_T_CLOCK, RZ_OP_SET, NULL, 0);
    entry_put(&e, RZ_CF_SERVER_MS, rz_uint(server_ms));
    entry_put(&e, RZ_CF_LOCAL_MS, rz_uint(local_ms));
    ns->npii = 0;
    rc = log_append(ns, &e, err);
    if (rc == 0 && seq)
        *seq = ns->t.head_seq;
    return txn_leave(ns, own, 1, rc, err);
}

int
node_store_read_entries(node_store *ns, uint64_t first_seq, size_t max, node_entry_fn fn, void *ctx,
                        rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_LOG_READ], *pv = ns->st[ST_PII_SIZES];
    uint64_t pseq = 0; /* seq of the values pv stands on; 0: step it */
    int rc = 0, src, psrc = SQLITE_ROW;
    bind_u64(st, 1, first_seq);
    bind_u64(st, 2, max);
    bind_u64(pv, 1, first_seq);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *hash = sqlite3_column_blob(st, 2);
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        size_t reveal_bytes = 0;
        if (sqlite3_column_bytes(st, 2) != RZ_HASH_BYTES) {
            rc = rz_fail(err, RZ_E_IO, "log row %lld has a damaged hash", (long long)seq);
            break;
        }
        /* The values of this entry, if any: both walks ascend by seq. */
        while (psrc == SQLITE_ROW && pseq < seq) {
            if ((psrc = sqlite3_step(pv)) == SQLITE_ROW)
                pseq = (uint64_t)sqlite3_column_int64(pv, 0);
        }
        if (psrc != SQLITE_ROW && psrc != SQLITE_DONE) {
            rc = rz_db_fail(ns->db, err, "read personal values");
            break;
        }
        if (psrc == SQLITE_ROW && pseq == seq)
            reveal_bytes = (size_t)sqlite3_column_int64(pv, 1);
        rc = fn(ctx, seq, (uint32_t)sqlite3_column_int64(st, 1), hash, sqlite3_column_blob(st, 3),
                (size_t)sqlite3_column_bytes(st, 3), reveal_bytes);
        if (rc != 0)
            break;
    }
    if (rc == NODE_STOP)
        rc = 0;
    else if (rc == 0 && src != SQLITE_DONE && src != SQLITE_ROW)
        rc = rz_db_fail(ns->db, err, "read log");
    node_reset(st);
    node_reset(pv);
    return rc;
}

int
node_store_read_reveals(node_store *ns, uint64_t first_seq, uint64_t last_seq, node_reveal_fn fn,
                        void *ctx, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_PII_READ];
    int rc = 0, src;
    bind_u64(st, 1, first_seq);
    bind_u64(st, 2, last_seq);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int field = sqlite3_column_int(st, 1);
        if (sqlite3_column_bytes(st, 2) != RZ_SALT_BYTES || field < 1 || field > 255) {
            rc = rz_fail(err, RZ_E_IO, "personal value of seq %lld is damaged",
                         (long long)sqlite3_column_int64(st, 0));
            break;
        }
        if ((rc = fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), (uint8_t)field,
                     sqlite3_column_blob(st, 2), sqlite3_column_blob(st, 3),
                     (size_t)sqlite3_column_bytes(st, 3))) != 0)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = rz_db_fail(ns->db, err, "read personal values");
    node_reset(st);
    return rc;
}

int
node_store_record_receipt(node_store *ns, const node_receipt *r, uint64_t local_ms, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_RECEIPT];
    int own, rc;
    if ((rc = txn_enter(ns, &own, err)) != 0)
        return rc;
    bind_u64(st, 1, r->epoch);
    bind_u64(st, 2, r->first_seq);
    bind_u64(st, 3, r->last_seq);
    bind_blob(st, 4, r->head, RZ_HASH_BYTES);
    bind_u64(st, 5, r->server_ms);
    bind_blob(st, 6, r->sig, RZ_SIG_BYTES);
    if ((rc = node_exec(ns, ST_RECEIPT, err)) == 0) {
        bind_u64(ns->st[ST_META_ACKED], 1, r->last_seq);
        if ((rc = node_exec(ns, ST_META_ACKED, err)) == 0)
            rc = observe_in_txn(ns, r->server_ms, local_ms, err);
    }
    return txn_leave(ns, own, 1, rc, err);
}

int
node_store_configure(node_store *ns, const char *endpoint, const uint8_t server_pk[RZ_PK_BYTES],
                     rz_error *err)
{
    char hex[2 * RZ_PK_BYTES + 1], z85[RZ_Z85_KEY];
    sqlite3_stmt *st = ns->st[ST_META_CONFIG];
    if (!endpoint || strlen(endpoint) >= NODE_ENDPOINT_MAX ||
        (strncmp(endpoint, "tcp://", 6) != 0 && strncmp(endpoint, "ipc://", 6) != 0) ||
        !text_is_clean(endpoint, strlen(endpoint)))
        return rz_fail(err, RZ_E_ARG, "server endpoint must look like tcp://host:port");
    /* A key that is not a curve point could never complete a handshake. */
    if (curve_pk_from_sign_pk(z85, server_pk) != 0)
        return rz_fail(err, RZ_E_ARG, "the server key is not a valid Ed25519 public key");
    hex_encode(hex, server_pk, RZ_PK_BYTES);
    bind_text(st, 1, endpoint);
    bind_text(st, 2, hex);
    return node_exec(ns, ST_META_CONFIG, err);
}

int
node_store_note_attempt(node_store *ns, uint64_t at_ms, int code, const char *text, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_META_ATTEMPT];
    char clean[RZ_ERROR_TEXT];
    const char *t = text ? text : "";
    log_sanitize(clean, sizeof clean, t, strlen(t));
    bind_u64(st, 1, at_ms);
    sqlite3_bind_int(st, 2, code);
    bind_text(st, 3, clean);
    return node_exec(ns, ST_META_ATTEMPT, err);
}

int
node_store_last_receipt_ms(node_store *ns, uint64_t *server_ms, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    *server_ms = 0;
    if ((rc = rz_db_prepare(ns->db, &st, "SELECT max(server_ms) FROM receipts", err)))
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *server_ms = (uint64_t)sqlite3_column_int64(st, 0);
    else
        rc = rz_db_fail(ns->db, err, "receipts");
    sqlite3_finalize(st);
    return rc;
}

/* ---- rebase (PROTOCOL 7) ---- */

static int
rebase_reappend(node_store *ns, uint32_t epoch, node_rebase_result *r, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_RB_READ];
    int rc = 0, src;
    bind_u64(st, 1, epoch);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        const uint8_t *entry = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        sqlite3_stmt *ins = ns->st[ST_LOG_INSERT];
        uint8_t hash[RZ_HASH_BYTES];
        if (seq != ns->t.head_seq + 1) {
            rc = rz_fail(err, RZ_E_INTERNAL, "rebase renumbering out of order at %llu",
                         (unsigned long long)seq);
            break;
        }
        chain_hash(hash, ns->node_id, epoch, seq, ns->t.head_hash, entry, len);
        bind_u64(ins, 1, seq);
        bind_u64(ins, 2, epoch);
        bind_blob(ins, 3, hash, RZ_HASH_BYTES);
        bind_blob(ins, 4, entry, len);
        if ((rc = node_exec(ns, ST_LOG_INSERT, err)) != 0)
            break;
        if (r->moved++ == 0)
            r->first_seq = seq;
        r->last_seq = seq;
        ns->t.head_seq = seq;
        memcpy(ns->t.head_hash, hash, RZ_HASH_BYTES);
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = rz_db_fail(ns->db, err, "rebase read");
    node_reset(st);
    return rc;
}

int
node_store_rebase(node_store *ns, uint32_t new_epoch, uint64_t base_seq,
                  const uint8_t base_hash[RZ_HASH_BYTES], node_rebase_result *r, rz_error *err)
{
    node_store_status s;
    uint64_t cut;
    int own, rc;

    memset(r, 0, sizeof *r);
    if ((rc = txn_enter(ns, &own, err)) != 0)
        return rc;
    if ((rc = node_store_get_status(ns, &s, err)) != 0)
        goto out;
    if (new_epoch <= s.epoch) {
        rc = rz_fail(err, RZ_E_EPOCH,
                     "headquarters has not started a new epoch for this node (server epoch %u,"
                     " this node %u)",
                     new_epoch, s.epoch);
        goto out;
    }
    /* Everything the server may not hold moves: entries above the last
     * receipt, and above the server head should the server have lost some. */
    cut = s.acked_seq < base_seq ? s.acked_seq : base_seq;
    bind_u64(ns->st[ST_RB_ARCHIVE], 1, new_epoch);
    bind_u64(ns->st[ST_RB_ARCHIVE], 2, base_seq);
    bind_u64(ns->st[ST_RB_ARCHIVE], 3, hlc_wall_ms());
    bind_u64(ns->st[ST_RB_ARCHIVE], 4, cut);
    bind_u64(ns->st[ST_RB_PII_ASIDE], 1, cut);
    bind_u64(ns->st[ST_RB_PII_BACK], 1, new_epoch);
    bind_u64(ns->st[ST_RB_DELETE], 1, cut);
    bind_u64(ns->st[ST_RB_AUDIT_ASIDE], 1, cut);
    bind_u64(ns->st[ST_RB_AUDIT_BACK], 1, new_epoch);
    bind_u64(ns->st[ST_RB_BASE], 1, base_seq);
    bind_u64(ns->st[ST_RB_BASE], 2, new_epoch);
    bind_blob(ns->st[ST_RB_BASE], 3, base_hash, RZ_HASH_BYTES);
    if ((rc = node_exec(ns, ST_RB_ARCHIVE, err)) != 0 ||
        (rc = node_exec(ns, ST_RB_PII_ASIDE, err)) != 0 ||
        (rc = node_exec(ns, ST_RB_PII_BACK, err)) != 0 ||
        (rc = node_exec(ns, ST_RB_AUDIT_ASIDE, err)) != 0 ||
        (rc = node_exec(ns, ST_RB_AUDIT_BACK, err)) != 0 ||
        (rc = node_exec(ns, ST_RB_DELETE, err)) != 0 || (rc = node_exec(ns, ST_RB_BASE, err)) != 0)
        goto out;
    ns->t.epoch = new_epoch;
    ns->t.head_seq = base_seq;
    memcpy(ns->t.head_hash, base_hash, RZ_HASH_BYTES);
    if ((rc = rebase_reappend(ns, new_epoch, r, err)) != 0)
        goto out;
    bind_u64(ns->st[ST_META_REBASE], 1, new_epoch);
    bind_u64(ns->st[ST_META_REBASE], 2, cut);
    if ((rc = node_exec(ns, ST_META_REBASE, err)) != 0)
        goto out;
    r->epoch = new_epoch;
    r->base_seq = base_seq;
out:
    return txn_leave(ns, own, 1, rc, err);
}

/* ---- lifetime ---- */

static int
store_prepare(node_store *ns, rz_error *err)
{
    int i, rc;
    for (i = 0; i < ST_COUNT; i++)
        if ((rc = rz_db_prepare(ns->db, &ns->st[i], node_sql[i], err)) != 0)
            return rc;
    return 0;
}

/* Completes a key rotation a crash interrupted: the database already names
 * the new key (node.key.new) while node.key still holds the old one. */
static int
store_finish_rekey(node_store *ns, const char *dir, rz_error *err)
{
    node_store_status s;
    char cur[NODE_PATH_MAX], nxt[NODE_PATH_MAX], old[NODE_PATH_MAX + 32];
    rz_identity fresh;
    int rc;
    if ((rc = node_store_get_status(ns, &s, err)) != 0)
        return rc;
    if (sodium_memcmp(s.sign_pk, ns->id.pk, RZ_PK_BYTES) == 0)
        return 0;
    if ((rc = node_path(cur, dir, NODE_KEY_FILE, err)) != 0 ||
        (rc = node_path(nxt, dir, NODE_KEY_FILE ".new", err)) != 0)
        return rc;
    if (identity_load(&fresh, nxt, NULL) != 0)
        return 0; /* no rotation pending: store_load_meta reports the mismatch */
    if (sodium_memcmp(s.sign_pk, fresh.pk, RZ_PK_BYTES) != 0) {
        identity_wipe(&fresh);
        return 0;
    }
    snprintf(old, sizeof old, "%s.old-%llu", cur, (unsigned long long)hlc_wall_ms());
    /* Keep the retired key: it signed part of the log and may be needed to
     * prove it; link first so a crash never leaves no node.key at all. */
    if (link(cur, old) != 0 || rename(nxt, cur) != 0) {
        identity_wipe(&fresh);
        return rz_fail(err, RZ_E_IO, "%s: cannot install the new key: %s", cur, strerror(errno));
    }
    identity_wipe(&ns->id);
    ns->id = fresh;
    return 0;
}

int
node_store_rekey(node_store *ns, const char *dir, rz_error *err)
{
    char nxt[NODE_PATH_MAX];
    rz_identity fresh;
    sqlite3_stmt *st = NULL;
    int rc;
    if (ns->t.open)
        return rz_fail(err, RZ_E_ARG, "rekey inside a transaction");
    if ((rc = node_path(nxt, dir, NODE_KEY_FILE ".new", err)) != 0)
        return rc;
    identity_generate(&fresh);
    if ((rc = identity_save(&fresh, nxt, err)) != 0)
        goto out;
    if ((rc = rz_db_prepare(ns->db, &st, "UPDATE meta SET sign_pk = ?1", err)) != 0)
        goto out;
    sqlite3_bind_blob(st, 1, fresh.pk, RZ_PK_BYTES, SQLITE_STATIC);
    rc = rz_db_step_done(ns->db, st, err);
    sqlite3_finalize(st);
    if (rc == 0)
        rc = store_finish_rekey(ns, dir, err);
out:
    identity_wipe(&fresh);
    return rc;
}

static int
store_load_meta(node_store *ns, rz_error *err)
{
    node_store_status s;
    int rc;
    if ((rc = node_store_get_status(ns, &s, err)) != 0)
        return rc;
    if (sodium_memcmp(s.sign_pk, ns->id.pk, RZ_PK_BYTES) != 0)
        return rz_fail(err, RZ_E_CONFIG,
                       "node.key does not belong to this node.db (was one of them replaced?)");
    memcpy(ns->node_id, s.node_id, RZ_NODE_ID_BYTES);
    return 0;
}

/* Upgrades of node.db, one per schema version: upgrades[v - 1] takes a
 * database from version v to v + 1.  Each runs in one transaction with the
 * version bump, so a crash leaves the old or the new schema, never a mix.
 * node_schema (fresh databases) must always equal version 1 plus all of
 * these; test_upgrade_node compares the two. */
static const char *const node_upgrades[NODE_SCHEMA_VERSION - 1] = {
    /* 1 -> 2: the last sync attempt (watch loop, web app, `status`). */
    "ALTER TABLE meta ADD COLUMN last_attempt_ms INTEGER;"
    "ALTER TABLE meta ADD COLUMN last_attempt_code INTEGER;"
    "ALTER TABLE meta ADD COLUMN last_attempt_text TEXT;",
};

static int
store_schema_version(node_store *ns, int *version, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    *version = -1;
    if ((rc = rz_db_prepare(ns->db, &st, "PRAGMA user_version", err)) != 0)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* Brings node.db to NODE_SCHEMA_VERSION.  A database from a newer program
 * is refused (this one would not know its tables); several processes
 * opening an old database at once upgrade it once (the version is re-read
 * inside the write transaction). */
static int
store_upgrade(node_store *ns, rz_error *err)
{
    char sql[64];
    int rc, version, from;
    if ((rc = store_schema_version(ns, &version, err)) != 0)
        return rc;
    if (version > NODE_SCHEMA_VERSION)
        return rz_fail(err, RZ_E_VERSION,
                       "node.db has schema version %d, written by a newer rozgar-node (this one "
                       "knows up to %d): install that version again",
                       version, NODE_SCHEMA_VERSION);
    if (version < 1)
        return rz_fail(err, RZ_E_CONFIG, "node.db has schema version %d: not a node database",
                       version);
    if (version == NODE_SCHEMA_VERSION)
        return 0;
    if ((rc = rz_db_begin(ns->db, err)) != 0)
        return rc;
    if ((rc = store_schema_version(ns, &version, err)) != 0)
        goto out;
    for (from = version; from < NODE_SCHEMA_VERSION; from++) {
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", from + 1);
        if ((rc = rz_db_exec(ns->db, node_upgrades[from - 1], err)) != 0 ||
            (rc = rz_db_exec(ns->db, sql, err)) != 0)
            goto out;
    }
    rc = rz_db_commit(ns->db, err);
    if (rc == 0 && version < NODE_SCHEMA_VERSION)
        log_info("node.db upgraded from schema version %d to %d", version, NODE_SCHEMA_VERSION);
out:
    if (rc)
        rz_db_rollback(ns->db);
    return rc;
}

/* Creates the side tables a database lacks (made by an older version, or
 * just now), numbering the records it already holds in order of creation,
 * in one transaction. */
static int
store_side_tables(node_store *ns, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, have = 0;
    if ((rc = rz_db_prepare(ns->db, &st,
                            "SELECT count(*) FROM sqlite_master WHERE name IN ('short_code',"
                            " 'audit', 'import_row', 'person_by_cnic', 'person_by_phone',"
                            " 'person_by_name_year', 'event_by_date')",
                            err)) != 0)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (have == 7)
        return 0;
    if ((rc = rz_db_begin(ns->db, err)) != 0)
        return rc;
    if ((rc = rz_db_exec(ns->db, node_side_schema, err)) != 0 ||
        (rc = rz_db_exec(ns->db,
                         "INSERT INTO short_code(id, kind) SELECT id, k FROM ("
                         " SELECT id, created_hlc AS c, 1 AS k FROM person UNION ALL"
                         " SELECT id, created_hlc, 2 FROM event)"
                         " WHERE id NOT IN (SELECT id FROM short_code) ORDER BY c, id",
                         err)) != 0 ||
        (rc = rz_db_commit(ns->db, err)) != 0)
        rz_db_rollback(ns->db);
    return rc;
}

static node_store *
store_alloc(void)
{
    node_store *ns = xcalloc(1, sizeof *ns);
    mpk_w_init(&ns->w);
    ns->data_version = -1;
    return ns;
}

int
node_store_open(const char *dir, node_store **out, rz_error *err)
{
    char path[NODE_PATH_MAX];
    node_store *ns;
    int rc;

    *out = NULL;
    if ((rc = crypto_init()) != 0)
        return rz_fail(err, rc, "libsodium failed to initialise");
    if ((rc = node_path(path, dir, NODE_DB_FILE, err)) != 0)
        return rc;
    if (access(path, F_OK) != 0)
        return rz_fail(err, RZ_E_NOTFOUND, "%s holds no node (run `rozgar-node -d %s init`)", dir,
                       dir);
    ns = store_alloc();
    if ((rc = node_path(path, dir, NODE_KEY_FILE, err)) != 0 ||
        (rc = identity_load(&ns->id, path, err)) != 0 ||
        (rc = node_path(path, dir, NODE_DB_FILE, err)) != 0 ||
        (rc = rz_db_open(&ns->db, path, DB_READWRITE, err)) != 0 ||
        (rc = store_upgrade(ns, err)) != 0 || (rc = store_side_tables(ns, err)) != 0 ||
        (rc = store_prepare(ns, err)) != 0 || (rc = store_finish_rekey(ns, dir, err)) != 0 ||
        (rc = store_load_meta(ns, err)) != 0)
        goto fail;
    *out = ns;
    return 0;
fail:
    node_store_destroy(&ns);
    return rc;
}

/* Schema and meta row of a fresh database, in one transaction so a crash
 * leaves either nothing or a complete database. */
static int
store_init_db(node_store *ns, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    char sql[64];
    int rc;
    randombytes_buf(ns->node_id, RZ_NODE_ID_BYTES);
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", NODE_SCHEMA_VERSION);
    if ((rc = rz_db_begin(ns->db, err)) != 0)
        return rc;
    if ((rc = rz_db_exec(ns->db, node_schema, err)) != 0 ||
        (rc = rz_db_exec(ns->db, sql, err)) != 0 ||
        (rc = rz_db_prepare(ns->db, &st, "INSERT INTO meta(id, node_id, sign_pk) VALUES(1, ?1, ?2)",
                            err)) != 0)
        goto out;
    bind_blob(st, 1, ns->node_id, RZ_NODE_ID_BYTES);
    bind_blob(st, 2, ns->id.pk, RZ_PK_BYTES);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = rz_db_fail(ns->db, err, "meta");
        goto out;
    }
    rc = rz_db_commit(ns->db, err);
out:
    sqlite3_finalize(st);
    if (rc)
        rz_db_rollback(ns->db);
    return rc;
}

int
node_store_create(const char *dir, node_store **out, rz_error *err)
{
    char dbpath[NODE_PATH_MAX], keypath[NODE_PATH_MAX];
    node_store *ns;
    int rc;

    *out = NULL;
    if ((rc = crypto_init()) != 0)
        return rz_fail(err, rc, "libsodium failed to initialise");
    if ((rc = node_path(dbpath, dir, NODE_DB_FILE, err)) != 0 ||
        (rc = node_path(keypath, dir, NODE_KEY_FILE, err)) != 0)
        return rc;
    if (access(dbpath, F_OK) == 0 || access(keypath, F_OK) == 0)
        return rz_fail(err, RZ_E_EXISTS, "%s already holds a node; refusing to replace it", dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return rz_fail(err, RZ_E_IO, "%s: %s", dir, strerror(errno));
    ns = store_alloc();
    identity_generate(&ns->id);
    if (ns->id.curve_pk[0] == '\0') {
        rc = rz_fail(err, RZ_E_INTERNAL, "cannot derive the CurveZMQ key");
        goto fail;
    }
    /* The key is written first: a database without its key would be
     * useless, while a lone key file only blocks a repeat init, visibly. */
    if ((rc = identity_save(&ns->id, keypath, err)) != 0 ||
        (rc = rz_db_open(&ns->db, dbpath, DB_READWRITE, err)) != 0 ||
        (rc = store_init_db(ns, err)) != 0 || (rc = store_side_tables(ns, err)) != 0 ||
        (rc = store_prepare(ns, err)) != 0 || (rc = store_load_meta(ns, err)) != 0)
        goto fail;
    *out = ns;
    return 0;
fail:
    /* Both files were absent before: remove what this attempt left, so a
     * failed init (disk full) can simply be repeated. */
    node_store_destroy(&ns);
    unlink(keypath);
    unlink(dbpath);
    if (snprintf(keypath, sizeof keypath, "%s-wal", dbpath) < (int)sizeof keypath)
        unlink(keypath);
    if (snprintf(keypath, sizeof keypath, "%s-shm", dbpath) < (int)sizeof keypath)
        unlink(keypath);
    return rc;
}

void
node_store_destroy(node_store **pns)
{
    node_store *ns;
    int i;
    if (!pns || !*pns)
        return;
    ns = *pns;
    if (ns->db && ns->t.open)
        rz_db_rollback(ns->db);
    for (i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(ns->st[i]);
    for (i = 0; i < NODE_STMT_CACHE; i++)
        sqlite3_finalize(ns->cache[i].st);
    rz_db_close(&ns->db);
    live_clear_all(ns);
    mpk_w_free(&ns->w);
    identity_wipe(&ns->id);
    sodium_memzero(ns->pii, sizeof ns->pii);
    free(ns);
    *pns = NULL;
}

/* ---- companion access, actor, audit trail ---- */

sqlite3 *
node_store_db(node_store *ns)
{
    return ns->db;
}

int
node_store_stmt(node_store *ns, const char *sql, sqlite3_stmt **st, int *owned, rz_error *err)
{
    int i, rc;
    *owned = 0;
    for (i = 0; i < NODE_STMT_CACHE && ns->cache[i].sql; i++)
        if (ns->cache[i].sql == sql)
            break;
    if (i < NODE_STMT_CACHE && ns->cache[i].sql == sql) {
        if (!sqlite3_stmt_busy(ns->cache[i].st)) {
            *st = ns->cache[i].st;
            return 0;
        }
        *owned = 1;
        return rz_db_prepare(ns->db, st, sql, err);
    }
    if (i == NODE_STMT_CACHE)
        return rz_fail(err, RZ_E_INTERNAL, "statement cache full");
    if ((rc = rz_db_prepare(ns->db, &ns->cache[i].st, sql, err)) != 0)
        return rc;
    ns->cache[i].sql = sql;
    *st = ns->cache[i].st;
    return 0;
}

void
node_store_stmt_done(sqlite3_stmt *st, int owned)
{
    if (owned) {
        sqlite3_finalize(st);
        return;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int
node_store_in_txn(const node_store *ns)
{
    return ns->t.open;
}

int
node_store_set_actor(node_store *ns, const char *actor, rz_error *err)
{
    size_t n = actor ? strlen(actor) : 0;
    if (n >= NODE_ACTOR_MAX)
        return rz_fail(err, RZ_E_ARG, "the actor name is %zu bytes; at most %d", n,
                       NODE_ACTOR_MAX - 1);
    if (n && !text_is_clean(actor, n))
        return rz_fail(err, RZ_E_ARG, "the actor name is not clean UTF-8 text");
    memcpy(ns->actor, n ? actor : "", n + 1);
    return 0;
}

const char *
node_store_actor(const node_store *ns)
{
    return ns->actor;
}

/* The code of one id into out ("" when it has none); 0 or a database error. */
static int
code_of(node_store *ns, const uint8_t *id, char out[NODE_CODE_MAX], rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_CODE_OF];
    int rc = 0, src;
    out[0] = '\0';
    bind_blob(st, 1, id, NODE_REC_ID_BYTES);
    if ((src = sqlite3_step(st)) == SQLITE_ROW)
        node_code_format(out, (uint64_t)sqlite3_column_int64(st, 0));
    else if (src != SQLITE_DONE)
        rc = rz_db_fail(ns->db, err, "short code");
    node_reset(st);
    return rc;
}

int
node_store_audit_each(node_store *ns, uint64_t before_seq, size_t max, node_audit_fn fn, void *ctx,
                      rz_error *err)
{
    sqlite3_stmt *st;
    node_audit_row row;
    msgpack_zone z;
    int rc = 0, src;

    /* A statement of its own: the codes are looked up while it steps. */
    if ((rc = rz_db_prepare(ns->db, &st, node_sql[ST_AUDIT_READ], err)) != 0)
        return rc;
    bind_u64(st, 1, before_seq ? before_seq : (uint64_t)INT64_MAX);
    bind_u64(st, 2, max > (size_t)INT64_MAX ? (uint64_t)INT64_MAX : (uint64_t)max);
    msgpack_zone_init(&z, 2048);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        rz_entry e;
        size_t i, k;
        memset(&row, 0, sizeof row);
        row.seq = (uint64_t)sqlite3_column_int64(st, 0);
        row.actor = sqlite3_column_type(st, 2) == SQLITE_NULL
                        ? ""
                        : (const char *)sqlite3_column_text(st, 2);
        row.at_ms = (uint64_t)sqlite3_column_int64(st, 3);
        msgpack_zone_clear(&z);
        if (entry_decode(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &z, &e,
                         NULL) != 0 ||
            e.key_len > sizeof row.key) {
            rc = rz_fail(err, RZ_E_IO, "log entry %llu does not decode",
                         (unsigned long long)row.seq);
            break;
        }
        row.hlc = e.hlc;
        row.table = e.table;
        row.op = e.op;
        row.key_len = e.key_len;
        if (e.key_len)
            memcpy(row.key, e.key, e.key_len);
        for (i = 0; i < e.nfields; i++)
            if (e.fields[i].id < 32)
                row.fields |= NODE_SET(e.fields[i].id);
        for (k = 0; k < 2 && (k + 1) * NODE_REC_ID_BYTES <= e.key_len; k++)
            if ((rc = code_of(ns, row.key + k * NODE_REC_ID_BYTES, row.code[k], err)) != 0)
                break;
        if (rc != 0 || (rc = fn(ctx, &row)) != 0)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = rz_db_fail(ns->db, err, "read the audit trail");
    msgpack_zone_destroy(&z);
    sqlite3_finalize(st);
    return rc;
}

/* ---- short codes ---- */

/* Crockford's base32: no I, L, O, U, which read like 1, 1, 0 and V. */
static const char code_digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
#define CODE_MIN_DIGITS 3
/* The check symbol is n mod 29, a prime: since 32 = 3 (mod 29), a changed
 * symbol or two swapped neighbours change the remainder unless the symbols
 * differ by exactly 29. */
#define CODE_CHECK_MOD 29

void
node_code_format(char out[NODE_CODE_MAX], uint64_t n)
{
    char tmp[16];
    size_t k = 0, i;
    uint64_t v = n;
    do {
        tmp[k++] = code_digits[v % 32];
        v /= 32;
    } while (v && k < NODE_CODE_MAX - 2);
    while (k < CODE_MIN_DIGITS)
        tmp[k++] = '0';
    for (i = 0; i < k; i++)
        out[i] = tmp[k - 1 - i];
    out[k] = code_digits[n % CODE_CHECK_MOD];
    out[k + 1] = '\0';
}

/* Value of a typed symbol, forgiving case and look-alikes; -1 if none. */
static int
code_symbol(char c)
{
    const char *p;
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    if (c == 'I' || c == 'L')
        c = '1';
    else if (c == 'O')
        c = '0';
    p = c ? strchr(code_digits, c) : NULL;
    return p ? (int)(p - code_digits) : -1;
}

/* Parses a typed short code into its number: 0, or RZ_E_ARG. */
static int
code_parse(const char *s, uint64_t *n)
{
    int sym[NODE_CODE_MAX];
    size_t k = 0, i;
    uint64_t v = 0;
    for (; *s; s++) {
        int d;
        if (*s == ' ' || *s == '-')
            continue;
        if ((d = code_symbol(*s)) < 0 || k >= NODE_CODE_MAX - 1)
            return RZ_E_ARG;
        sym[k++] = d;
    }
    if (k < CODE_MIN_DIGITS + 1)
        return RZ_E_ARG;
    for (i = 0; i + 1 < k; i++)
        v = v * 32 + (uint64_t)sym[i];
    if ((uint64_t)sym[k - 1] != v % CODE_CHECK_MOD)
        return RZ_E_ARG;
    *n = v;
    return 0;
}

int
node_store_code(node_store *ns, const uint8_t id[NODE_REC_ID_BYTES], char out[NODE_CODE_MAX],
                rz_error *err)
{
    int rc;
    if ((rc = code_of(ns, id, out, err)) != 0)
        return rc;
    return out[0] ? 0 : rz_fail(err, RZ_E_NOTFOUND, "no person or event with that id here");
}

static const char *
table_noun(uint8_t table)
{
    return table == RZ_T_PERSON ? "person" : table == RZ_T_EVENT ? "event" : "record";
}

int
node_store_resolve(node_store *ns, const char *text, uint8_t want, uint8_t id[NODE_REC_ID_BYTES],
                   uint8_t *table, rz_error *err)
{
    sqlite3_stmt *st = ns->st[ST_CODE_ID];
    uint64_t n;
    uint8_t kind = 0;
    int rc = 0, src, deleted;
    const char *what = want ? table_noun(want) : "person or event";

    if (!text)
        text = "";
    if (strlen(text) == 2 * NODE_REC_ID_BYTES && node_id_parse(id, text) == 0) {
        /* A full id: any record of the wanted table, created here or not. */
        if ((want == 0 || want == RZ_T_PERSON) &&
            (rc = record_state(ns, ST_PERSON_STATE, id, NODE_REC_ID_BYTES, &deleted, err)) == 0)
            kind = RZ_T_PERSON;
        else if (rc != 0 && rc != RZ_E_NOTFOUND)
            return rc;
        if (!kind && (want == 0 || want == RZ_T_EVENT) &&
            (rc = record_state(ns, ST_EVENT_STATE, id, NODE_REC_ID_BYTES, &deleted, err)) == 0)
            kind = RZ_T_EVENT;
        else if (rc != 0 && rc != RZ_E_NOTFOUND)
            return rc;
        if (!kind)
            return rz_fail(err, RZ_E_NOTFOUND, "no %s with id %s here", what, text);
    } else {
        if (code_parse(text, &n) != 0 || n > (uint64_t)INT64_MAX)
            return rz_fail(err, RZ_E_ARG,
                           "'%.40s' is neither a short code (like 0A45) nor an id of 32 hex digits"
                           " (a mistyped code fails its check letter)",
                           text);
        bind_u64(st, 1, n);
        if ((src = sqlite3_step(st)) == SQLITE_ROW) {
            kind = (uint8_t)sqlite3_column_int(st, 1);
            if (column_fixed(st, 0, id, NODE_REC_ID_BYTES) != 0)
                rc = rz_fail(err, RZ_E_IO, "short code table is damaged");
        } else if (src == SQLITE_DONE) {
            rc = rz_fail(err, RZ_E_NOTFOUND, "no %s with code %.20s here", what, text);
        } else {
            rc = rz_db_fail(ns->db, err, "short code");
        }
        node_reset(st);
        if (rc)
            return rc;
        if (want && kind != want)
            return rz_fail(err, RZ_E_NOTFOUND, "code %.20s is %s %s, not %s", text,
                           kind == RZ_T_EVENT ? "an" : "a", table_noun(kind), what);
    }
    if (table)
        *table = kind;
    return 0;
}
