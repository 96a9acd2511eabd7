/*
 * progress: the bar and the plain lines; see progress.h.
 */
#include "common/progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_BAR_WIDTH 30 /* cells of the bar */

uint64_t
progress_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
progress_init(rz_progress *p, FILE *out, const char *label, uint64_t total, int tty)
{
    const char *env = getenv("RZ_PROGRESS_MS");
    memset(p, 0, sizeof *p);
    p->out = out;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "progress");
    p->tty = tty < 0 ? isatty(fileno(out)) : tty;
    p->interval_ms = p->tty ? PROGRESS_TTY_MS : PROGRESS_LINE_MS;
    if (!p->tty && env && *env) {
        long v = strtol(env, NULL, 10);
        if (v > 0 && v < 3600000)
            p->interval_ms = (uint64_t)v;
    }
    p->start_ms = progress_mono_ms();
    p->last_ms = p->start_ms;
    p->info.total = total;
    p->unit = "entries";
}

void
progress_set_unit(rz_progress *p, const char *unit)
{
    p->unit = unit ? unit : "entries";
}

void
progress_set_total(rz_progress *p, uint64_t total)
{
    p->info.total = total;
}

void
progress_snapshot(const rz_progress *p, rz_progress_info *info)
{
    *info = p->info;
    info->elapsed_ms = progress_mono_ms() - p->start_ms;
    info->rate = info->elapsed_ms ? (double)info->done * 1000.0 / (double)info->elapsed_ms : 0.0;
}

char *
progress_format(char *buf, size_t len, const rz_progress_info *in, const char *unit)
{
    int n;
    if (in->total)
        n = snprintf(buf, len, "%llu/%llu %s (%u%%), %.0f/s", (unsigned long long)in->done,
                     (unsigned long long)in->total, unit,
                     (unsigned)(in->done >= in->total ? 100 : in->done * 100 / in->total),
                     in->rate);
    else
        n = snprintf(buf, len, "%llu %s, %.0f/s", (unsigned long long)in->done, unit, in->rate);
    if (n > 0 && (size_t)n < len && in->total > in->done && in->rate > 0.5)
        snprintf(buf + n, len - (size_t)n, ", %.0fs left",
                 (double)(in->total - in->done) / in->rate + 0.5);
    return buf;
}

static void
progress_draw(rz_progress *p, int final)
{
    rz_progress_info in;
    char text[160], bar[PROGRESS_BAR_WIDTH + 1];
    progress_snapshot(p, &in);
    progress_format(text, sizeof text, &in, p->unit ? p->unit : "entries");
    if (p->tty) {
        size_t fill = in.total ? (size_t)((in.done >= in.total ? in.total : in.done) *
                                          PROGRESS_BAR_WIDTH / in.total)
                               : 0;
        memset(bar, '#', fill);
        memset(bar + fill, '.', PROGRESS_BAR_WIDTH - fill);
        bar[PROGRESS_BAR_WIDTH] = '\0';
        /* \r and erase-to-end redraw the same line. */
        fprintf(p->out, "\r%s [%s] %s\033[K%s", p->label, bar, text, final ? "\n" : "");
        p->drawn = !final;
    } else {
        fprintf(p->out, "%s: %s%s\n", p->label, text, final ? ", done" : "");
        p->lines++;
    }
    fflush(p->out);
    p->last_ms = progress_mono_ms();
    p->last_done = in.done;
}

void
progress_update(rz_progress *p, uint64_t done)
{
    p->info.done = done;
    if (progress_mono_ms() - p->last_ms >= p->interval_ms)
        progress_draw(p, 0);
}

void
progress_finish(rz_progress *p)
{
    /* Off a terminal a job short enough to print no line stays silent (the
     * caller reports its outcome); on one, a bar that was never drawn too. */
    if (p->tty ? (!p->drawn && p->info.done == 0) : p->lines == 0)
        return;
    progress_draw(p, 1);
}
