/*
 * placelist: the versions of the master list of places headquarters keeps
 * (DESIGN.md, "Places are reference data").  Each import is a new version
 * holding the whole list as imported, never edited, so the list any past
 * total was counted under can be shown and reproduced; the newest version
 * is the one in force.
 *
 * It stores and reads versions in the server database (table
 * place_version) and makes the newest the process's active list
 * (common/places.h places_set_active), also in a running server when a
 * version is imported after it started (placelist_refresh).  It does not recompute totals: after
 * an import the caller rebuilds the state (server/rebuild.h), because a
 * person's home district is counted under the list in force.
 */
#ifndef RZ_PLACELIST_H
#define RZ_PLACELIST_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "common/places.h"
#include "common/rz_err.h"

/* Creates the table if missing. */
int placelist_schema(sqlite3 *db, rz_error *err) RZ_WUR;

/* Stores text (a places file, already parsed as p) as a new version.
 * source says where it came from (a path, "shipped").  *version gets its
 * number.  RZ_E_EXISTS when the newest version holds the same text. */
int placelist_import(sqlite3 *db, const places *p, const char *text, size_t len, const char *source,
                     int64_t *version, rz_error *err) RZ_WUR;

/* Makes the newest version the active list.  When there is none yet, the
 * list shipped with the program (places_default_path) is imported as
 * version 1 first and *imported (may be NULL) is set to 1: a database with
 * merged state from before must then be rebuilt under it.  *version (may be
 * NULL) gets the version in force.  RZ_E_NOTFOUND when there is no version
 * and no shipped list. */
int placelist_activate(sqlite3 *db, int64_t *version, int *imported, rz_error *err) RZ_WUR;

/* Makes the newest version the active list when it is not the one this
 * process counts with already (placelist_activate or an earlier refresh):
 * how a running server follows `places import` without a restart.  Cheap
 * when nothing changed (one indexed read of the newest version number), so
 * the merger calls it per window and the HTTP view per request.  db is the
 * log store (attached 0) or a state-store reader with the log store
 * attached as "log" (attached 1).  A database without a list changes
 * nothing.  *version (may be NULL) gets the version in force, 0 if none. */
int placelist_refresh(sqlite3 *db, int attached, int64_t *version, rz_error *err) RZ_WUR;

/* Writes version's list, byte for byte as imported, to out (to see what a
 * past total was counted under, or to import it again).  RZ_E_NOTFOUND
 * when there is no such version. */
int placelist_show(sqlite3 *db, int64_t version, FILE *out, rz_error *err) RZ_WUR;

/* Every version, oldest first: number, when, label, counts, source. */
int placelist_write(sqlite3 *db, FILE *out, rz_error *err) RZ_WUR;

#endif
