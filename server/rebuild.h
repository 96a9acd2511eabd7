/*
 * rebuild: the proof behind the totals.
 *
 * rebuild_verify() audits every stored log (chain hashes recomputed from the
 * entry bytes, every batch signature checked with the key history), then
 * runs the merger (server/merger.h, the same code that maintains the
 * totals) from position zero into a fresh state store, as far as the
 * maintained positions, and compares every state and totals table with the
 * maintained ones, row by row.  rebuild_apply() replaces the maintained
 * state and positions with a replay of everything mergeable, in one
 * transaction (a running merger continues from the replaced positions).  Operational facts (sync
 * times, lag) are outside the comparison.
 */
#ifndef RZ_REBUILD_H
#define RZ_REBUILD_H

#include <stdio.h>

#include "common/crypto.h"
#include "server/log_store.h"
#include "server/state_store.h"

/* Returns 0 when logs verify and totals match; RZ_E_CHAIN / RZ_E_SIGNATURE
 * when a stored log does not verify, RZ_E_INTERNAL when totals differ.
 * Progress and differences are written to out. */
int rebuild_verify(log_store *ls, state_store *ss, const char *dir, FILE *out, rz_error *err)
    RZ_WUR;
int rebuild_apply(log_store *ls, state_store *ss, const char *dir, FILE *out, rz_error *err) RZ_WUR;

/* Erases the personal values (name, CNIC, phone) of one person record from
 * the server on a lawful request.  Logs, hashes and signatures still verify;
 * totals do not change (the CNIC link token is kept).  *erased gets the
 * number of values removed. */
int rebuild_erase_person(log_store *s, const uint8_t person_id[16], int *erased, rz_error *err)
    RZ_WUR;

#endif
