/*
 * journal: headquarters' decisions and the server's acknowledged log heads,
 * appended to a small text file kept APART from the backups, so that a
 * server restored from an older backup can re-apply what happened after it
 * (README "Backup and restore"):
 *
 *   - decisions (enroll, rekey, revoke, new-epoch, erase, centre changes,
 *     accounts and API tokens) are re-applied on restore, so a restore never
 *     brings back a revoked key or token, an erased personal value or an old
 *     password;
 *   - the highest sequence acknowledged to each node ("head" records) tells,
 *     after a restore, which ranges the backup lacks: nodes re-send them on
 *     their next sync or bundle; what only a destroyed node held is reported
 *     by node and range, never silently missing.
 *
 * Format: one record per line, fields separated by TAB:
 *
 *     <unix ms> TAB <verb> TAB <field> ...  LF
 *
 *     enroll    NODE PK PROGRAMME CENTRE PROVINCE DISTRICT
 *     rekey     NODE PK
 *     revoke    NODE
 *     new-epoch NODE EPOCH          (the epoch it authorised)
 *     erase     PERSON
 *     rename    CENTRE NEW-NAME
 *     move      CENTRE PROVINCE DISTRICT
 *     account-add     NAME ROLE PWHASH   (the Argon2id string auth.db keeps)
 *     account-passwd  NAME PWHASH
 *     account-disable NAME | account-enable NAME
 *     token-add       NAME TOKENHASH     (BLAKE2b of the token, 64 hex)
 *     token-revoke    NAME
 *     places-import   SHA256         (the list itself: the attachment below)
 *     lawful    AT_MS KIND ACTOR SUBJECT OUTCOME  (the register of lawful requests:
 *                                  a masked CNIC or a person id, never a value)
 *     head      NODE EPOCH SEQ      (acknowledged up to SEQ)
 *     recover-grant NEW OLD OLD_PK GRANTED_MS   (server/recovery.h)
 *     recover-done  NEW OLD GRANTED_MS USED_MS  (the grant was used)
 *     recover-cancel NEW OLD GRANTED_MS AT_MS   (headquarters withdrew it unused)
 *
 * NODE, PK and PERSON in lower-case hex.  Text fields never hold TAB or LF
 * (journal_admin refuses them).  Personal values never enter the journal,
 * nor a password or a token: their hashes do, exactly as auth.db holds
 * them, so the journal is as secret as auth.db: mode 0600, enforced on every
 * open.
 * Decisions are fsynced before the command reports success; head records
 * are written without waiting (journal_heads) and synced at most once a
 * second: they serve the loss report, not the acknowledgement.
 */
#ifndef RZ_JOURNAL_H
#define RZ_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/rz_err.h"

#define JOURNAL_FILE "journal" /* default: in the server directory */
#define JOURNAL_MAX_FIELDS 8
#define JOURNAL_MAX_LINE 2048

typedef struct journal journal;

/* Where the journal of server directory `dir` lives: $RZ_JOURNAL when set
 * (put it on another disk than the backups), else dir/journal. */
void journal_path(char *out, size_t n, const char *dir);

/* Opens (creating, mode 0600) for appending.  *out owned by the caller. */
int journal_open(journal **out, const char *path, rz_error *err) RZ_WUR;
/* Syncs pending head records and closes; accepts NULL. */
void journal_close(journal **j);

/* Appends one decision with nfields text fields and fsyncs it.  RZ_E_ARG
 * when a field holds TAB, CR or LF; RZ_E_IO when it cannot be written. */
int journal_admin(journal *j, const char *verb, const char *const *fields, int nfields,
                  rz_error *err) RZ_WUR;
/* Opens the journal of dir, appends one decision, closes.  For commands. */
int journal_note(const char *dir, const char *verb, const char *const *fields, int nfields,
                 rz_error *err) RZ_WUR;
/* A file a decision needs that is too big for a record (a places list):
 * kept beside the journal as "<journal path>.<name>", mode 0600, written
 * whole (a temporary file renamed) and synced before the decision's
 * record.  name is 1..80 of [a-z0-9.-].  RZ_E_ARG, RZ_E_IO. */
int journal_attach(const char *dir, const char *name, const void *data, size_t len, rz_error *err)
    RZ_WUR;
/* Reads an attachment back into *data (malloc'd, NUL-terminated; *len
 * bytes).  RZ_E_NOTFOUND when it is not there. */
int journal_attachment(const char *dir, const char *name, char **data, size_t *len, rz_error *err)
    RZ_WUR;

/* Notes that the log of node node_hex (16 hex digits) is acknowledged up to (epoch, seq).  Never
 * fails the caller: a write error is logged once. */
void journal_head(journal *j, const char *node_hex, uint32_t epoch, uint64_t seq, uint64_t now_ms);

/* One parsed record; fields borrowed for the duration of the callback. */
typedef struct journal_rec {
    uint64_t ms;                           /* when it was written */
    const char *verb;                      /* "revoke", "head", ... */
    const char *field[JOURNAL_MAX_FIELDS]; /* the fields */
    int nfields;                           /* their number */
    unsigned line;                         /* 1-based line number from the offset */
} journal_rec;
typedef int (*journal_fn)(const journal_rec *r, void *arg);
/* Reads path in order from byte offset `from` (0: the start; a backup's
 * offset: what was written after it) and calls fn per record; a non-zero return of fn
 * stops and is returned.  A missing file is an empty journal.  A torn last
 * line (a crash while appending) is skipped; any other malformed line is
 * RZ_E_CONFIG with path:line. */
int journal_scan(const char *path, long long from, journal_fn fn, void *arg, rz_error *err) RZ_WUR;

#endif
