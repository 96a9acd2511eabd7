/*
 * bench_util: small helpers of the benchmark program: monotonic time,
 * file sizes, percentiles, and the 16-byte time-ordered ids the reference
 * makes the same way a node does (proto/PROTOCOL.md 4.1).
 */
#ifndef RZ_BENCH_UTIL_H
#define RZ_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Seconds on the monotonic clock. */
double bench_now(void);
/* CPU time of the calling thread, in seconds. */
double bench_cpu_now(void);
/* CPU time (user + system) of this whole process, in seconds. */
double bench_process_cpu(void);
/* The 1-minute load average (/proc/loadavg), -1 when unknown. */
double bench_loadavg(void);
/* Size of a file in bytes, 0 when missing. */
uint64_t bench_file_size(const char *path);
/* Sum of the sizes of every regular file under dir (recursive). */
uint64_t bench_dir_size(const char *dir);
/* q-quantile (0..1) of v[0..n) by nearest rank; sorts v in place. */
double bench_quantile(double *v, size_t n, double q);
/* Removes dir and everything under it (best effort); 0 or -1. */
int bench_rmtree(const char *dir);
/* Creates dir (and parents) with mode 0700; 0 or -1. */
int bench_mkdirs(const char *dir);
/* The 8-byte node id the benchmark gives centre i in reference rows. */
void bench_ref_node_id(uint8_t out[8], uint32_t centre);
/* A 16-byte id: big-endian HLC then node id. */
void bench_make_id(uint8_t out[16], uint64_t hlc, const uint8_t node_id[8]);

#endif
