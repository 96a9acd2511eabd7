/*
 * micro: the unit costs that bound the benchmark's figures, measured on the
 * same machine in the same run: one chain hash over an entry of typical
 * size, one Ed25519 batch verification, one receipt signature, one
 * personal-value commitment, and one fsync of a small write on the work
 * directory's disk (what every commit with synchronous=FULL waits for).
 */
#ifndef RZ_BENCH_MICRO_H
#define RZ_BENCH_MICRO_H

#include "common/rz_err.h"

typedef struct micro_result {
    double chain_hash_us; /* BLAKE2b-256 over a 60-byte attendance entry */
    double verify_us;     /* batch_verify (Ed25519) */
    double sign_us;       /* receipt_sign (Ed25519) */
    double commit_us;     /* pii_commit (BLAKE2b-128) of a 20-byte name */
    double fsync_us;      /* 4 KiB pwrite + fdatasync in dir */
} micro_result;

int micro_run(const char *dir, micro_result *r, rz_error *err) RZ_WUR;

#endif
