/*
 * progress: how far a long job (a sync, an import, a bundle export) has got,
 * shown to a person.  On a terminal it redraws one line in place, a bar with
 * counts, percentage, rate and time left; when the output is not a terminal
 * (a log file, the systemd journal) it prints a plain line at most every
 * few seconds, so logs stay readable.  The rate is taken over the monotonic
 * clock, so a wall-clock jump (sleep, NTP) does not distort it.
 *
 * It does not decide what the work is, and it never prints personal values:
 * callers give a label and counts only.  Not thread-safe: one rz_progress
 * per job.
 */
#ifndef RZ_PROGRESS_H
#define RZ_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#define PROGRESS_TTY_MS 100   /* least time between redraws on a terminal */
#define PROGRESS_LINE_MS 5000 /* default between plain lines ($RZ_PROGRESS_MS overrides) */
#define PROGRESS_LABEL_MAX 32 /* bytes of a label, NUL included */

/* A snapshot, also what node_sync hands its progress callback. */
typedef struct rz_progress_info {
    uint64_t done;       /* units finished (entries acknowledged, rows imported) */
    uint64_t total;      /* units in the job; 0 when unknown */
    uint64_t elapsed_ms; /* monotonic time since the job started */
    double rate;         /* units per second over elapsed_ms; 0 before any */
} rz_progress_info;

typedef struct rz_progress {
    FILE *out;                      /* where it draws (borrowed) */
    char label[PROGRESS_LABEL_MAX]; /* "sync", "import", ... */
    const char *unit;               /* what is counted, "entries" unless set (static text) */
    int tty;                        /* out is a terminal: redraw in place */
    int drawn;                      /* a bar is on screen (needs a newline) */
    unsigned long lines;            /* plain lines printed */
    uint64_t interval_ms;           /* least time between two outputs */
    uint64_t start_ms;              /* monotonic start */
    uint64_t last_ms;               /* monotonic time of the last output */
    uint64_t last_done;             /* done at the last output */
    rz_progress_info info;          /* latest counts */
} rz_progress;

/* Monotonic milliseconds (CLOCK_MONOTONIC): for intervals and rates only. */
uint64_t progress_mono_ms(void);

/* Starts a job of `total` units (0: unknown) drawn on out.  tty < 0 asks
 * isatty(out); 0 or 1 forces the plain or the bar form (tests). */
void progress_init(rz_progress *p, FILE *out, const char *label, uint64_t total, int tty);

/* Names what is counted ("rows"); unit must outlive p.  Default "entries". */
void progress_set_unit(rz_progress *p, const char *unit);

/* Sets the total later (e.g. once the server said where to start). */
void progress_set_total(rz_progress *p, uint64_t total);

/* Records that `done` units are finished and draws if it is time to. */
void progress_update(rz_progress *p, uint64_t done);

/* Fills *info from the counts and the clock (no output). */
void progress_snapshot(const rz_progress *p, rz_progress_info *info);

/* Draws the final state and ends the line; the job is over. */
void progress_finish(rz_progress *p);

/* Formats "1234/5000 entries (24%), 812/s, 5s left" into buf; for callers
 * that log progress their own way (the web app).  Returns buf. */
char *progress_format(char *buf, size_t len, const rz_progress_info *info, const char *unit);

#endif
