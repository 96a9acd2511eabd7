/*
 * backup: a consistent copy of every store of a running server, and the
 * restore that brings a server back from one (README "Backup and restore").
 *
 * Backup copies, while the server runs, every SQLite file of the server
 * directory with SQLite's online backup (each file from one read snapshot),
 * derived state FIRST and the log store after it: the state's positions then
 * never point past the copied logs, so a restored server resumes merging
 * from them.  Keys and other small files are copied as they are.  The
 * journal (server/journal.h) is NOT copied: it is what restore re-applies.
 * A MANIFEST lists the files, their sizes and each node's log head.
 *
 * Restore (the server stopped) keeps the replaced files aside, puts the
 * backup in place, re-applies the journal's decisions (enrollments, rekeys,
 * revocations, new epochs, erasures) so none is undone, and reports, per
 * node, the range acknowledged before the disaster that the backup lacks.
 * Nodes re-send those ranges on their next sync or bundle (the WELCOME
 * tells them the restored head); what only a destroyed node held stays
 * listed by `rozgar-server gaps`.
 */
#ifndef RZ_BACKUP_H
#define RZ_BACKUP_H

#include <stdio.h>

#include "common/rz_err.h"

#define BACKUP_MANIFEST "MANIFEST"

/* Copies server directory dir into outdir (created, mode 0700; must not
 * exist or be empty).  Progress and the manifest's summary go to out. */
int backup_run(const char *dir, const char *outdir, FILE *out, rz_error *err) RZ_WUR;

/* Restores dir from backupdir (the server must be stopped), re-applies the
 * journal and prints the gaps to out. */
int backup_restore(const char *dir, const char *backupdir, FILE *out, rz_error *err) RZ_WUR;

/* Prints, per node, the acknowledged ranges (journal "head" records) the
 * log store does not hold; *ngaps = their number. */
int backup_gaps(const char *dir, FILE *out, int *ngaps, rz_error *err) RZ_WUR;

#endif
