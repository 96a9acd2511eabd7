/*
 * regview: the places of every centre as the enrollment register stood at
 * an earlier version, for queries that reproduce past breakdowns by place
 * (DESIGN.md "Places are reference data": past totals stay reproducible).
 *
 * Totals are kept per centre; a province, district or centre name comes
 * from the centre table at query time.  regview_begin replays the register
 * up to version N into a temporary table `centre` on a reader connection
 * (server/state_store.h state_store_reader_open: the log store attached as
 * "log"); it shadows the main one on that connection only, so the same
 * queries answer as at version N.  Centres enrolled after N are in no place
 * then.  regview_end removes it.
 *
 * Used by `totals --register-version N` and the API's register_version
 * parameter.  It does not change any store: only the connection's temporary
 * table is written (the connection is query-only until regview_begin and
 * again after regview_end).
 */
#ifndef RZ_REGVIEW_H
#define RZ_REGVIEW_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/rz_err.h"

/* Parses text as a register version ("12"): RZ_E_ARG with what to give
 * when it is not a number of at most 18 digits above 0. */
int regview_parse(const char *text, int64_t *version, rz_error *err) RZ_WUR;

/* Shadows `centre` with the register as of version (1..the newest; RZ_E_ARG
 * naming the newest when outside).  On failure nothing is left behind. */
int regview_begin(sqlite3 *db, int64_t version, rz_error *err) RZ_WUR;
/* Drops the shadow and makes the connection query-only again.  0, or -1
 * when that failed: the caller must then close the connection. */
int regview_end(sqlite3 *db);

#endif
