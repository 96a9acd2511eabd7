/*
 * log: one place for diagnostics, OpenSMTPD style.  Messages go to stderr
 * as one line each: UTC timestamp with milliseconds, program, level
 * ("2026-11-30T15:12:04.123Z rozgar-server: warning: ...").  log_warn appends strerror(errno).
 * Never pass personal values (names, CNICs, phones) or secrets to these functions; use
 * log_sanitize() on any peer-supplied bytes.
 */
#ifndef RZ_LOG_H
#define RZ_LOG_H

#include <stddef.h>

#include "common/rz_err.h"

enum { LOG_LVL_QUIET = 0, LOG_LVL_WARN = 1, LOG_LVL_INFO = 2, LOG_LVL_DEBUG = 3 };

void log_init(const char *progname, int level);
void log_warn(const char *fmt, ...) RZ_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) RZ_PRINTF(1, 2);
void log_info(const char *fmt, ...) RZ_PRINTF(1, 2);
void log_debug(const char *fmt, ...) RZ_PRINTF(1, 2);
/* fatal/fatalx: startup failures only (bad config, unreadable key, bind). */
void fatal(const char *fmt, ...) RZ_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) RZ_PRINTF(1, 2) __attribute__((noreturn));

/* Copies at most len bytes of untrusted src into dst (size dstsz) replacing
 * non-printable bytes with '?' and truncating; returns dst. */
char *log_sanitize(char *dst, size_t dstsz, const void *src, size_t len);

#endif
