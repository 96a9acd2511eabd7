/* log: leveled, timestamped diagnostics to stderr; see log.h. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *log_prog = "rozgar";
static int log_level = LOG_LVL_INFO;

void
log_init(const char *progname, int level)
{
    log_prog = progname;
    log_level = level;
}

static void log_vemit(const char *tag, int with_errno, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* "2026-11-30T15:12:04.123Z": UTC with milliseconds, so lines from the
 * server, the nodes and the system journal sort into one timeline. */
static void
log_stamp(char out[32])
{
    struct timeval tv;
    struct tm tm;
    char day[24];
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", day, (int)(tv.tv_usec / 1000) % 1000);
}

static void
log_vemit(const char *tag, int with_errno, const char *fmt, va_list ap)
{
    int saved = errno;
    char buf[1024], when[32];
    vsnprintf(buf, sizeof buf, fmt, ap);
    log_stamp(when);
    if (with_errno)
        fprintf(stderr, "%s %s: %s%s: %s\n", when, log_prog, tag, buf, strerror(saved));
    else
        fprintf(stderr, "%s %s: %s%s\n", when, log_prog, tag, buf);
}

#define LOG_FN(name, lvl, tag, with_errno)                                                         \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        va_list ap;                                                                                \
        if (log_level < (lvl))                                                                     \
            return;                                                                                \
        va_start(ap, fmt);                                                                         \
        log_vemit(tag, with_errno, fmt, ap);                                                       \
        va_end(ap);                                                                                \
    }

LOG_FN(log_warn, LOG_LVL_WARN, "warning: ", 1)
LOG_FN(log_warnx, LOG_LVL_WARN, "warning: ", 0)
LOG_FN(log_info, LOG_LVL_INFO, "info: ", 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, "debug: ", 0)

void
fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vemit("fatal: ", 1, fmt, ap);
    va_end(ap);
    exit(1);
}

void
fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vemit("fatal: ", 0, fmt, ap);
    va_end(ap);
    exit(1);
}

char *
log_sanitize(char *dst, size_t dstsz, const void *src, size_t len)
{
    const unsigned char *s = src;
    size_t i, n = 0;
    if (dstsz == 0)
        return dst;
    for (i = 0; i < len && n + 1 < dstsz; i++)
        dst[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
    dst[n] = '\0';
    return dst;
}
