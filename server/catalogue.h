/*
 * catalogue: the public catalogue, a fixed set of additive counts that may
 * be published to anyone, with disclosure control (server/suppress.h).
 *
 * Cells: metric x place x period, where
 *   metric  registered (persons, counted once at their registration),
 *           attendances, events: additive counts only.  Unique trainees are
 *           not published: a person trained in two quarters or districts
 *           is one trainee of the year, so such counts do not add up and
 *           the relations below would not hold.
 *   place   national, every province, every district (as the centre
 *           register places centres; a district is named with its
 *           province).  Places with centres but no data are cells of 0.
 *   period  calendar quarters, calendar years and Pakistan's fiscal years
 *           (July-June, "FY2025-26" = 2025-Q3..2026-Q2), over whole years
 *           and fiscal years from the one holding the first dated fact to
 *           the one holding today (future quarters are 0).
 * Relations (all exact by construction: every cell is summed from the
 * district x quarter leaves):
 *   national = sum of provinces, province = sum of its districts (each
 *   metric and period); year = sum of its four quarters and fiscal year =
 *   sum of its four quarters (each metric and place).
 * Facts with an unknown date belong to no period and are not published
 * (their number is given).  Counts 1..4 are withheld, with complements
 * chosen over the whole catalogue; withheld cells are published as null
 * with a "suppressed" mark, never as 0 and without saying which were
 * primary.
 *
 * Reads only (query_run on a read-only handle).
 */
#ifndef RZ_CATALOGUE_H
#define RZ_CATALOGUE_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "common/rz_err.h"
#include "server/suppress.h"

typedef struct catalogue catalogue;

/* Builds the catalogue from db as of now_ms and runs the suppression with
 * threshold (SUPPRESS_THRESHOLD normally; 0 or 1 disables primary
 * suppression, for tests of the attack only).  *out is the caller's
 * (catalogue_destroy).  RZ_E_IO/RZ_E_BUSY on database errors, RZ_E_TOOBIG
 * when the suppression cannot audit it (nothing may then be published). */
int catalogue_build(sqlite3 *db, uint64_t now_ms, int64_t threshold, catalogue **out, rz_error *err)
    RZ_WUR;
void catalogue_destroy(catalogue **c);

enum catalogue_format { CATALOGUE_JSON = 0, CATALOGUE_CSV = 1 };
/* Writes the whole catalogue.  JSON: {"catalogue":..., "as_of":...,
 * "threshold":5, "periods":[...], "places":[...], "cells":[{"metric",
 * "level", "province", "district", "period", "value" (null when withheld),
 * "suppressed" (true when withheld)}], "suppression":{counts}}.  CSV:
 * UTF-8 byte-order mark, an "as of" line, a header and one row per cell;
 * a withheld cell has an empty value and the flag "suppressed". */
int catalogue_write(const catalogue *c, int format, FILE *out, rz_error *err) RZ_WUR;
/* The suppression's counts. */
void catalogue_stats(const catalogue *c, suppress_stats *out);

#endif
