/*
 * node_store: a centre node's database (DIR/node.db) and key (DIR/node.key).
 *
 * The store owns the node's records (person, event, attendance: the current
 * local state, deletions included) and its change-log.  Every recording
 * changes the record AND appends its log entry in one SQLite transaction, so
 * the log is exactly the history of the records: an entry is encoded once
 * (proto/entry.h), stamped by the hybrid clock (common/hlc.h), chained to its
 * predecessor (chain_hash) and stored with the personal values it commits to
 * (table pii), which the sync loop reveals beside the entry and never puts in
 * it.  Sequence numbers start at 1 and have no gaps within an epoch.
 *
 * What it does not do: talk to the network (client/node_sync.c), parse
 * command lines (client/node_main.c), or print personal values.  The only
 * thing it prints is the clock warning of DESIGN guarantee 7 (stderr).
 *
 * Transactions: each recording function runs in its own transaction unless
 * the caller opened one with node_store_begin(); then all recordings up to
 * node_store_commit() are one transaction (import, benchmark).  A recording
 * refused before it wrote anything (unknown id, bad argument) leaves an open
 * transaction usable; one that failed while writing rolls the whole
 * transaction back, and every later call until node_store_rollback() fails.
 *
 * Upgrades: node.db carries its schema version (PRAGMA user_version) and is
 * upgraded in place, in one transaction, when a newer program opens it; a
 * database written by a newer program is refused (RZ_E_VERSION).
 *
 * Not thread-safe: one node_store per thread.  Several processes may open the
 * same directory; SQLite serialises their writes (busy timeout 10 s).
 */
#ifndef RZ_NODE_STORE_H
#define RZ_NODE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/rz_err.h"
#include "proto/wire.h"

#define NODE_DB_FILE "node.db"   /* inside the data directory */
#define NODE_KEY_FILE "node.key" /* Ed25519 secret key, mode 0600 */
#define NODE_REC_ID_BYTES 16     /* be64(hlc at creation) || node id */
#define NODE_ENDPOINT_MAX 256    /* bytes of a server endpoint, NUL included */
#define NODE_CODE_MAX 12         /* bytes of a short code, NUL included */
#define NODE_ACTOR_MAX 64        /* bytes of an actor name, NUL included */
/* Clock disagreement (either direction) above which staff are warned. */
#define NODE_CLOCK_WARN_MS (10 * 60 * 1000)

/* Bit of a field id in node_person.set / node_event.set. */
#define NODE_SET(field) (1u << (field))

typedef struct node_store node_store;

/* A person's fields.  For add and edit, `set` says which fields are given
 * (NODE_SET(RZ_PF_x)); the others are left as they are.  A given string that
 * is NULL clears the field (a cleared CNIC, name or phone is nil in the
 * entry: there is nothing to reveal).  Strings are UTF-8 without control
 * characters, at most RZ_MAX_STR bytes.  For rows read back, `set` says
 * which fields have a value and the strings are borrowed. */
typedef struct node_person {
    uint32_t set;          /* NODE_SET bits of the fields present */
    const char *cnic;      /* personal; stored as 13 digits when valid */
    const char *name;      /* personal */
    const char *phone;     /* personal; stored as +92... when valid */
    uint64_t gender;       /* enum rz_gender */
    uint64_t birth_year;   /* e.g. 2001; implausible years are kept */
    const char *district;  /* district of residence */
    uint64_t area;         /* enum rz_area */
    uint64_t skill;        /* enum rz_skill */
    const char *skills;    /* free text */
    const char *platforms; /* international platform profiles */
    uint64_t reg_date;     /* registration date, YYYYMMDD */
} node_person;

/* An event's fields; same conventions as node_person. */
typedef struct node_event {
    uint32_t set;        /* NODE_SET bits of the fields present */
    uint64_t kind;       /* enum rz_event_kind */
    const char *title;   /* title */
    uint64_t date;       /* YYYYMMDD */
    uint64_t duration;   /* minutes */
    const char *partner; /* partner organisation */
    uint64_t mode;       /* enum rz_mode */
} node_event;

/* A record read back for list/show.  Borrowed: valid during the callback. */
typedef struct node_person_row {
    uint8_t id[NODE_REC_ID_BYTES]; /* person id */
    node_person f;                 /* fields with a value */
    int deleted;                   /* 1 while tombstoned */
    uint64_t changed_hlc;          /* clock of the last change */
    char code[NODE_CODE_MAX];      /* short code (node_store_code), "" if none */
} node_person_row;

typedef struct node_event_row {
    uint8_t id[NODE_REC_ID_BYTES]; /* event id */
    node_event f;                  /* fields with a value */
    int deleted;                   /* 1 while tombstoned */
    uint64_t changed_hlc;          /* clock of the last change */
    char code[NODE_CODE_MAX];      /* short code (node_store_code), "" if none */
} node_event_row;

typedef struct node_attendance_row {
    uint8_t event_id[NODE_REC_ID_BYTES];  /* event */
    uint8_t person_id[NODE_REC_ID_BYTES]; /* person */
    int present;                          /* 1 present, 0 absent */
    int deleted;                          /* 1 while tombstoned */
    uint64_t changed_hlc;                 /* clock of the last change */
} node_attendance_row;

/* Callbacks for the *_each/_get readers: return 0 to go on; anything else
 * stops the walk and is returned by the reader. */
typedef int (*node_person_fn)(void *ctx, const node_person_row *row);
typedef int (*node_event_fn)(void *ctx, const node_event_row *row);
typedef int (*node_attendance_fn)(void *ctx, const node_attendance_row *row);

/* The node's replication state. */
typedef struct node_store_status {
    uint8_t node_id[RZ_NODE_ID_BYTES];     /* this node */
    uint8_t sign_pk[RZ_PK_BYTES];          /* its Ed25519 public key */
    uint32_t epoch;                        /* current log epoch */
    uint64_t head_seq;                     /* last sequence number, 0 if none */
    uint8_t head_hash[RZ_HASH_BYTES];      /* its chain hash (zeros if none) */
    int head_is_clock;                     /* the log ends with a clock entry */
    uint64_t acked_seq;                    /* highest seq with a verified receipt */
    uint64_t pending;                      /* entries above acked_seq */
    uint64_t hlc_last;                     /* last clock value issued/observed */
    uint64_t last_server_ms;               /* server time last seen, 0 = never */
    uint64_t last_local_ms;                /* local wall clock at that moment */
    char endpoint[NODE_ENDPOINT_MAX];      /* configured server, "" if none */
    int has_server_pk;                     /* 1 when server_pk is configured */
    uint8_t server_pk[RZ_PK_BYTES];        /* server's Ed25519 public key */
    uint64_t last_attempt_ms;              /* when the last sync attempt ended, 0 = never */
    int last_attempt_code;                 /* its outcome: 0 ok, else an rz_err code */
    char last_attempt_text[RZ_ERROR_TEXT]; /* its message ("" when ok) */
} node_store_status;

/* A server receipt over first_seq..last_seq (PROTOCOL 4.2). */
typedef struct node_receipt {
    uint32_t epoch;               /* log epoch */
    uint64_t first_seq, last_seq; /* range acknowledged */
    uint8_t head[RZ_HASH_BYTES];  /* hash of last_seq */
    uint64_t server_ms;           /* server time in the ACK */
    uint8_t sig[RZ_SIG_BYTES];    /* server signature */
} node_receipt;

/* What a rebase did. */
typedef struct node_rebase_result {
    uint32_t epoch;               /* the new epoch */
    uint64_t base_seq;            /* server head it chains from */
    uint64_t moved;               /* entries archived and re-appended */
    uint64_t first_seq, last_seq; /* their new sequence numbers */
} node_rebase_result;

/* ---- lifetime ---- */

/* Creates dir (0700) with a fresh key (0600) and database, and a random
 * node id.  RZ_E_EXISTS when dir already holds a node.  On success *out is
 * an open store the caller destroys. */
int node_store_create(const char *dir, node_store **out, rz_error *err) RZ_WUR;
/* Opens an initialised dir: loads the key (refused unless 0600), opens the
 * database and prepares every statement.  RZ_E_NOTFOUND when dir holds no
 * node, RZ_E_CONFIG when key and database do not belong together. */
int node_store_open(const char *dir, node_store **out, rz_error *err) RZ_WUR;
/* Closes (rolling back an open transaction), wipes the key; sets *ns NULL. */
void node_store_destroy(node_store **ns);

/* Borrowed, valid while the store is open. */
const rz_identity *node_store_identity(const node_store *ns);

/* Replaces the node's key pair (DIR/node.key; the retired key is kept as
 * node.key.old-<ms>, mode 0600).  Headquarters must enroll the new key with
 * `rozgar-server rekey` before the next sync; the server keeps the key
 * history, so the whole log stays verifiable.  Crash-safe: an interrupted
 * rotation is completed by the next node_store_open. */
int node_store_rekey(node_store *ns, const char *dir, rz_error *err) RZ_WUR;
const uint8_t *node_store_node_id(const node_store *ns);

/* Records the server to sync with.  endpoint like tcp://host:port; server_pk
 * the server's Ed25519 public key.  RZ_E_ARG when either is unusable. */
int node_store_configure(node_store *ns, const char *endpoint, const uint8_t server_pk[RZ_PK_BYTES],
                         rz_error *err) RZ_WUR;

/* Records the outcome of a sync attempt (ended at at_ms, wall clock): 0 or
 * the failure's code and message, shown by `status` and the web app.  Its
 * own transaction; the text is sanitized and must hold no personal value. */
int node_store_note_attempt(node_store *ns, uint64_t at_ms, int code, const char *text,
                            rz_error *err) RZ_WUR;

/* The server time of the newest receipt (the last batch the server
 * acknowledged: the last sync that delivered something); 0 when none. */
int node_store_last_receipt_ms(node_store *ns, uint64_t *server_ms, rz_error *err) RZ_WUR;

/* ---- many recordings in one transaction ---- */

/* BEGIN IMMEDIATE; RZ_E_ARG if one is already open. */
int node_store_begin(node_store *ns, rz_error *err) RZ_WUR;
/* Commits (fails, rolled back, when a recording inside failed while
 * writing). */
int node_store_commit(node_store *ns, rz_error *err) RZ_WUR;
void node_store_rollback(node_store *ns);

/* ---- recording: 0, RZ_E_ARG (bad value), RZ_E_NOTFOUND (unknown id),
 * RZ_E_EXISTS (nothing to change), RZ_E_BUSY/RZ_E_IO (storage) ---- */

/* What person_add (is_new = 1) or person_edit would refuse as RZ_E_ARG,
 * without touching the database: lets an import validate every row first. */
int node_store_check_person(const node_person *p, int is_new, rz_error *err) RZ_WUR;

/* New person; name and gender are required.  id receives the new id. */
int node_store_person_add(node_store *ns, const node_person *p, uint8_t id[NODE_REC_ID_BYTES],
                          rz_error *err) RZ_WUR;
/* Changes the given fields of a person (deleted or not). */
int node_store_person_edit(node_store *ns, const uint8_t id[NODE_REC_ID_BYTES],
                           const node_person *p, rz_error *err) RZ_WUR;
/* New event; kind, title and date are required. */
int node_store_event_add(node_store *ns, const node_event *e, uint8_t id[NODE_REC_ID_BYTES],
                         rz_error *err) RZ_WUR;
int node_store_event_edit(node_store *ns, const uint8_t id[NODE_REC_ID_BYTES], const node_event *e,
                          rz_error *err) RZ_WUR;
/* Delete (deleted=1) or undelete (deleted=0) a record of table RZ_T_PERSON,
 * RZ_T_EVENT or RZ_T_ATTENDANCE (key: event id || person id).  RZ_E_EXISTS
 * when it already is in that state. */
int node_store_set_deleted(node_store *ns, uint8_t table, const uint8_t *key, size_t key_len,
                           int deleted, rz_error *err) RZ_WUR;
/* Marks a person present (1) or absent (0) at an event; both must exist
 * here and be live. */
int node_store_attend(node_store *ns, const uint8_t event_id[NODE_REC_ID_BYTES],
                      const uint8_t person_id[NODE_REC_ID_BYTES], int present, rz_error *err)
    RZ_WUR;

/* ---- reading records (the centre's own data, personal values included) */

/* Walks persons / events / attendance in creation order; all = include
 * deleted ones. */
int node_store_person_each(node_store *ns, int all, node_person_fn fn, void *ctx, rz_error *err)
    RZ_WUR;
int node_store_event_each(node_store *ns, int all, node_event_fn fn, void *ctx, rz_error *err)
    RZ_WUR;
int node_store_attendance_each(node_store *ns, int all, node_attendance_fn fn, void *ctx,
                               rz_error *err) RZ_WUR;
/* Calls fn once for the record with this id, or returns RZ_E_NOTFOUND. */
int node_store_person_get(node_store *ns, const uint8_t id[NODE_REC_ID_BYTES], node_person_fn fn,
                          void *ctx, rz_error *err) RZ_WUR;
int node_store_event_get(node_store *ns, const uint8_t id[NODE_REC_ID_BYTES], node_event_fn fn,
                         void *ctx, rz_error *err) RZ_WUR;

/* ---- replication state, for node_sync and status ---- */

/* Full status; counting pending entries costs a scan of them, so loops use
 * node_store_epoch instead. */
int node_store_get_status(node_store *ns, node_store_status *st, rz_error *err) RZ_WUR;
/* The log's current epoch (cheap). */
int node_store_epoch(node_store *ns, uint32_t *epoch, rz_error *err) RZ_WUR;

/* Writes a warning text into msg (size len) and returns 1 when the clock
 * rule of DESIGN guarantee 7 fires for wall time now_ms: now is more than
 * NODE_CLOCK_WARN_MS before the last server time seen, or the offset measured
 * at the last sync exceeded it either way.  0 otherwise. */
int node_store_clock_warning(const node_store_status *st, uint64_t now_ms, char *msg, size_t len);

/* Chain hash after seq (zeros for 0): from the log, or from the base a
 * rebase chained from.  RZ_E_NOTFOUND when this node holds neither. */
int node_store_hash_at(node_store *ns, uint64_t seq, uint8_t out[RZ_HASH_BYTES], rz_error *err)
    RZ_WUR;

/* Folds the server's time into the clock and remembers it with the local
 * wall clock at that moment (own transaction). */
int node_store_observe_server(node_store *ns, uint64_t server_ms, uint64_t local_ms, rz_error *err)
    RZ_WUR;
/* Appends a clock entry {1: server_ms, 2: local_ms}; *seq gets its seq. */
int node_store_append_clock(node_store *ns, uint64_t server_ms, uint64_t local_ms, uint64_t *seq,
                            rz_error *err) RZ_WUR;

/* Streams log rows with seq >= first_seq in order, at most max rows.  For
 * each, fn gets the row (borrowed) and reveal_bytes, the size of its
 * personal values plus per-value overhead, so a batch can stay under the
 * frame limit.  fn returns 0 to take the row and go on, NODE_STOP to stop
 * before it, or a negative code which is returned. */
#define NODE_STOP 1
typedef int (*node_entry_fn)(void *ctx, uint64_t seq, uint32_t epoch,
                             const uint8_t hash[RZ_HASH_BYTES], const uint8_t *entry, size_t len,
                             size_t reveal_bytes);
int node_store_read_entries(node_store *ns, uint64_t first_seq, size_t max, node_entry_fn fn,
                            void *ctx, rz_error *err) RZ_WUR;
/* Streams the personal values of entries first_seq..last_seq ordered by
 * (seq, field).  fn's return as for node_store_read_entries (no NODE_STOP). */
typedef int (*node_reveal_fn)(void *ctx, uint64_t seq, uint8_t field,
                              const uint8_t salt[RZ_SALT_BYTES], const char *value, size_t len);
int node_store_read_reveals(node_store *ns, uint64_t first_seq, uint64_t last_seq,
                            node_reveal_fn fn, void *ctx, rz_error *err) RZ_WUR;

/* Keeps a verified receipt, advances acked_seq to r->last_seq and folds the
 * server time into the clock, in one transaction.  The caller has verified
 * the receipt's signature. */
int node_store_record_receipt(node_store *ns, const node_receipt *r, uint64_t local_ms,
                              rz_error *err) RZ_WUR;

/* PROTOCOL 7: after headquarters started epoch new_epoch (> current) whose
 * log continues after base_seq with hash base_hash, moves every entry above
 * min(acked_seq, base_seq) to log_archive and re-appends it unchanged
 * (same entry bytes, personal values kept) as base_seq+1.. of new_epoch, in
 * one transaction.  RZ_E_EPOCH when new_epoch is not above the current. */
int node_store_rebase(node_store *ns, uint32_t new_epoch, uint64_t base_seq,
                      const uint8_t base_hash[RZ_HASH_BYTES], node_rebase_result *r, rz_error *err)
    RZ_WUR;

/* ---- recovery of a replaced PC (PROTOCOL §12, client/node_recover.c) ---- */

/* A personal value of a foreign entry: the value that opens the entry's
 * commitment of that field (checked by the caller), or erased at the
 * server on a lawful request (then stored as no value). */
typedef struct node_foreign_value {
    uint8_t field;     /* person field id (RZ_PF_CNIC, _NAME, _PHONE) */
    const char *value; /* len bytes, not NUL-terminated; NULL when erased */
    size_t len;        /* its length */
} node_foreign_value;

/* Applies one verified entry of another node's log (the PC this one
 * replaces, of the same centre) to the records, by the rules of this node's
 * own changes: the same field table, statements and short codes, a set
 * creating the record when it is new; WITHOUT appending anything to this
 * node's log (the entry is the other node's, and the server holds it).
 * Every entry's clock is folded into this node's clock, so a correction
 * made here afterwards is stamped after what it corrects.  vals holds the
 * values of the entry's commitments (a commitment without one is RZ_E_ARG).
 * Inside node_store_begin ... commit (RZ_E_ARG otherwise).  RZ_E_DECODE when
 * the entry does not decode. */
int node_store_apply_foreign(node_store *ns, const uint8_t *entry, size_t len,
                             const node_foreign_value *vals, size_t nvals, rz_error *err) RZ_WUR;

/* ---- short codes ----
 *
 * Every person and event created here gets a short code, unique at this
 * node, that staff can read out and type instead of the 32-digit id: the
 * record's number at this node in Crockford base32 (at least three
 * symbols; no I, L, O, U) and a check symbol (the number modulo 29), e.g.
 * "0A45".  Typing is forgiving: any case, I and L read as 1, O as 0, blanks
 * and dashes ignored; the check symbol catches a mistyped or swapped
 * symbol.  Codes are local: they never enter the log or reach the server. */

/* The code of record id into out.  RZ_E_NOTFOUND when id is no person or
 * event of this node. */
int node_store_code(node_store *ns, const uint8_t id[NODE_REC_ID_BYTES], char out[NODE_CODE_MAX],
                    rz_error *err) RZ_WUR;
/* Resolves what staff typed, a short code or a full 32-hex-digit id, into a
 * record id.  want is RZ_T_PERSON, RZ_T_EVENT or 0 for either; *table (may
 * be NULL) gets the record's table.  RZ_E_ARG when text is neither form or
 * its check symbol is wrong, RZ_E_NOTFOUND when no such record is here (or
 * it is of the other table), with a plain message in err. */
int node_store_resolve(node_store *ns, const char *text, uint8_t want,
                       uint8_t id[NODE_REC_ID_BYTES], uint8_t *table, rz_error *err) RZ_WUR;

/* ---- audit trail: who made each change ----
 *
 * Beside the log (table audit, keyed by log seq; the log format does not
 * change and nothing of it is sent) the store notes the actor of every
 * entry it appends: the staff account the web app set for the request, or
 * the operating-system user of the command line.  Entries appended while
 * no actor is set (older versions, tests) show actor "". */

/* Sets the actor of the following changes (copied; at most
 * NODE_ACTOR_MAX - 1 bytes of clean UTF-8).  NULL or "" clears it.
 * RZ_E_ARG when it is too long or not clean text. */
int node_store_set_actor(node_store *ns, const char *actor, rz_error *err) RZ_WUR;
/* The actor set, "" when none (borrowed). */
const char *node_store_actor(const node_store *ns);

/* One change of the log with its actor.  Borrowed: valid during the
 * callback. */
typedef struct node_audit_row {
    uint64_t seq;                       /* log sequence number */
    uint64_t hlc;                       /* clock of the change */
    uint64_t at_ms;                     /* wall time noted with the actor, 0 if none */
    const char *actor;                  /* who; "" when not noted */
    uint8_t table;                      /* RZ_T_PERSON, _EVENT, _ATTENDANCE, _CLOCK */
    uint8_t op;                         /* RZ_OP_SET, _DELETE, _UNDELETE */
    uint8_t key[2 * NODE_REC_ID_BYTES]; /* record key (attendance: event || person) */
    size_t key_len;                     /* its bytes: 0, 16 or 32 */
    char code[2][NODE_CODE_MAX];        /* short codes of the key's records, "" if none */
    uint32_t fields;                    /* NODE_SET bits of the fields an edit set */
} node_audit_row;
typedef int (*node_audit_fn)(void *ctx, const node_audit_row *row);
/* Streams the log newest first, starting below before_seq (0: from the
 * head), at most max rows.  fn as for the other readers. */
int node_store_audit_each(node_store *ns, uint64_t before_seq, size_t max, node_audit_fn fn,
                          void *ctx, rz_error *err) RZ_WUR;

/* For the store's companion modules (client/node_find.c, ...): the
 * columns a person row is read from, of table person aliased p, and the
 * reader that fills *row from them starting at column first_col (strings
 * borrowed from the statement; RZ_E_IO on a damaged id).  The same for
 * events, aliased e. */
#define NODE_PERSON_SELECT                                                                         \
    "p.id, p.deleted, p.changed_hlc, p.cnic, p.name, p.phone, p.gender, p.birth_year,"             \
    " p.district, p.area, p.skill, p.skills, p.platforms, p.reg_date,"                             \
    " (SELECT n FROM short_code s WHERE s.id = p.id)"
#define NODE_EVENT_SELECT                                                                          \
    "e.id, e.deleted, e.changed_hlc, e.kind, e.title, e.date, e.duration, e.partner, e.mode,"      \
    " (SELECT n FROM short_code s WHERE s.id = e.id)"
struct sqlite3_stmt;
int node_store_person_row(struct sqlite3_stmt *st, int first_col, node_person_row *row) RZ_WUR;
int node_store_event_row(struct sqlite3_stmt *st, int first_col, node_event_row *row) RZ_WUR;
/* Formats record number n (short_code.n) as its short code. */
void node_code_format(char out[NODE_CODE_MAX], uint64_t n);

/* The store's database handle, for the store's companion modules
 * (client/node_find.c, node_import.c, node_export.c) to read records and
 * keep their own side tables; never for writing records or the log. */
struct sqlite3;
struct sqlite3 *node_store_db(node_store *ns);
/* A statement of fixed SQL text prepared once per open store, for the
 * companion modules' frequent queries (an import asks for duplicates per
 * row).  sql must be a string constant: it is the cache key.  *owned is
 * set to 1 when the cached statement is in use (a callback re-entered) and
 * a fresh one was prepared instead; node_store_stmt_done resets the
 * statement (or finalizes it when owned).  RZ_E_INTERNAL when the cache is
 * full (more distinct statements than NODE_STMT_CACHE). */
#define NODE_STMT_CACHE 32
int node_store_stmt(node_store *ns, const char *sql, struct sqlite3_stmt **st, int *owned,
                    rz_error *err) RZ_WUR;
void node_store_stmt_done(struct sqlite3_stmt *st, int owned);

/* 1 while a transaction opened by node_store_begin is open. */
int node_store_in_txn(const node_store *ns);

/* Record id as 32 hex digits (out: 33 bytes) and back (RZ_E_ARG). */
void node_id_format(char out[2 * NODE_REC_ID_BYTES + 1], const uint8_t id[NODE_REC_ID_BYTES]);
int node_id_parse(uint8_t id[NODE_REC_ID_BYTES], const char *hex) RZ_WUR;

#endif
