/*
 * node_web_sync: the centre app's Sync page (GET/POST /api/sync) and the
 * node's unattended sync inside `rozgar-node serve`.
 *
 * Background sync (the default; `serve --no-sync` turns it off): a thread
 * with a store (SQLite connection) of its own waits until a server is
 * configured, takes DIR/sync.lock as "serve" and runs node_watch's loop
 * (client/node_watch.h) for as long as the app serves.  While it holds the
 * lock a separate `rozgar-node sync` is refused naming this process, and
 * `sync --now` reaches the loop by SIGUSR1.  The Sync button then only asks
 * that loop to sync at once (node_lock_poke) and the page follows the
 * loop's runs: progress, outcome, when the next one is due.  When another
 * process holds the lock (a `sync --watch` started before the app, a manual
 * sync), the thread tries again every WEB_BG_RETRY_MS and meanwhile the
 * button behaves as without background sync.
 *
 * Without background sync, the button starts a one-off sync in a thread of
 * its own (own store) holding the lock for that run, or, when another
 * process holds it, asks that process and follows its progress through
 * what still waits.
 *
 * Shutdown: app->sync_stop ends either sync after the batches in flight
 * (nothing lost) and web_sync_shutdown() joins the threads.  What it does
 * not do: decide when a sync is due (node_watch) or talk to the server
 * itself (node_sync).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/node_lock.h"
#include "client/node_sync.h"
#include "client/node_watch.h"
#include "client/node_web_int.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/util.h"

#define WEB_BG_RETRY_MS 5000   /* retry of a lock another process holds */
#define WEB_BG_CONFIG_MS 2000  /* check for a server configured meanwhile */
#define WEB_BG_CONNECT_MS 5000 /* one connection attempt per session (as sync --watch) */

/* A wall time as staff read it: Pakistan time (UTC+5, no daylight saving). */
static void
pk_time(char *out, size_t len, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000) + 5 * 3600;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, len, "%Y-%m-%d %H:%M (Pakistan time)", &tm) == 0)
        snprintf(out, len, "unknown");
}

/* What staff should read about a sync outcome, and what to do. */
static void
sync_words(int rc, int server_code, const char *text, char *out, size_t len, const char **todo)
{
    *todo = "";
    switch (rc) {
    case 0: snprintf(out, len, "Everything was sent; the server confirmed it."); return;
    case RZ_E_STOPPED: snprintf(out, len, "The sync was stopped; nothing is lost."); return;
    case RZ_E_TIMEOUT:
        snprintf(out, len,
                 "The server could not be reached (no internet, or the server is "
                 "down). Nothing is lost.");
        *todo = "Check the internet connection and press Sync now again later.";
        return;
    case RZ_E_CONFIG:
        snprintf(out, len, "No server is set up for this PC.");
        *todo = "An administrator sets the server with: rozgar-node config --server "
                "tcp://HOST:PORT --server-key KEY";
        return;
    case RZ_E_FORK:
    case RZ_E_QUARANTINE:
    case RZ_E_EPOCH:
        snprintf(out, len,
                 "The server holds a different history for this PC (was an old backup "
                 "restored?). Nothing recorded here is lost.");
        break;
    case RZ_E_AUTH:
        snprintf(out, len,
                 "The server does not accept this PC (not enrolled, or its key was "
                 "revoked).");
        break;
    default: snprintf(out, len, "%s", text); break;
    }
    *todo = node_sync_hint(server_code ? server_code : rc);
    if (!*todo)
        *todo = "Nothing is lost; try again later, and tell headquarters if it keeps failing.";
}

static void
sync_on_progress(void *ctx, const rz_progress_info *in)
{
    web_app *app = ctx;
    pthread_mutex_lock(&app->sync_mu);
    app->sync.done = in->done;
    if (in->total)
        app->sync.total = in->total;
    app->sync.rate = in->rate;
    pthread_mutex_unlock(&app->sync_mu);
}

/* Another process holds the sync lock (`sync --watch`): it was asked to
 * sync now; follow its progress through what still waits, until nothing
 * does or it makes no progress for a reply timeout. */
static int
sync_follow(web_app *app, node_store *ns, int timeout_ms, rz_error *err)
{
    node_store_status st;
    uint64_t last_pending = UINT64_MAX, last_change = hlc_wall_ms(), start = last_change;
    int rc;
    while (!app->sync_stop) {
        uint64_t now = hlc_wall_ms();
        if ((rc = node_store_get_status(ns, &st, err)) != 0)
            return rc;
        pthread_mutex_lock(&app->sync_mu);
        if (app->sync.total >= st.pending)
            app->sync.done = app->sync.total - st.pending;
        if (now > start)
            app->sync.rate = (double)app->sync.done * 1000.0 / (double)(now - start);
        pthread_mutex_unlock(&app->sync_mu);
        if (st.pending == 0)
            return 0;
        if (st.pending != last_pending)
            last_pending = st.pending, last_change = now;
        else if (now - last_change > (uint64_t)timeout_ms + 5000)
            return rz_fail(err, RZ_E_TIMEOUT,
                           "the running sync has sent nothing for %d s; %llu changes still wait",
                           timeout_ms / 1000 + 5, (unsigned long long)st.pending);
        usleep(300 * 1000);
    }
    return rz_fail(err, RZ_E_STOPPED, "the app is stopping");
}

static void *
sync_main(void *arg)
{
    web_app *app = arg;
    node_store *ns = NULL;
    node_lock *lock = NULL;
    node_lock_holder holder;
    node_sync_opts o;
    node_sync_result r;
    rz_error err = {0, ""};
    char who[160] = "";
    int rc;
    memset(&r, 0, sizeof r);
    node_sync_opts_default(&o);
    if (app->sync_timeout_ms > 0)
        o.timeout_ms = app->sync_timeout_ms;
    o.progress = sync_on_progress;
    o.progress_ctx = app;
    o.stop = &app->sync_stop;
    if ((rc = node_store_open(app->dir, &ns, &err)) != 0)
        goto done;
    /* One sync per data directory: when `sync --watch` (or a CLI sync) runs,
     * it is asked to sync now instead of starting a second one. */
    rc = node_lock_acquire(app->dir, "serve", &lock, &holder, &err);
    if (rc == RZ_E_BUSY) {
        rz_error e2 = {0, ""};
        if (node_lock_trigger(app->dir, &holder, &e2) == 0)
            snprintf(who, sizeof who, "%s (pid %ld)", holder.who, (long)holder.pid);
        else
            snprintf(who, sizeof who, "%s", holder.who[0] ? holder.who : "another sync");
        pthread_mutex_lock(&app->sync_mu);
        snprintf(app->sync.delegated, sizeof app->sync.delegated, "%s", who);
        pthread_mutex_unlock(&app->sync_mu);
        rc = sync_follow(app, ns, o.timeout_ms, &err);
    } else if (rc == 0) {
        rc = node_sync_run(ns, &o, &r, &err);
        /* For `status` and the page after a restart; the run's own outcome
         * is what matters if this cannot be noted. */
        if (node_store_note_attempt(ns, hlc_wall_ms(), rc, rc ? err.text : "", NULL) != 0)
            log_warnx("web: the sync's outcome could not be noted");
        node_lock_release(&lock);
    }
done:
    node_store_destroy(&ns);
    pthread_mutex_lock(&app->sync_mu);
    app->sync.running = 0;
    app->sync.ended_ms = hlc_wall_ms();
    app->sync.rc = rc;
    app->sync.server_code = r.server_code;
    snprintf(app->sync.text, sizeof app->sync.text, "%s", rc ? err.text : "");
    if (rc == 0)
        app->sync.done = app->sync.total;
    pthread_mutex_unlock(&app->sync_mu);
    log_info("web: sync ended: %s", rc ? rz_err_name(rc) : "ok");
    return NULL;
}

/* Joins the one-off sync thread once it has ended (or at shutdown). */
static void
sync_join_oneoff(web_app *app)
{
    if (app->sync_joinable) {
        pthread_join(app->sync_thread, NULL);
        app->sync_joinable = 0;
    }
}

/* ---- background sync ---- */

/* node_watch's report, in the loop's thread: the page's state and one log
 * line per outcome (the journal's record of unattended syncs). */
static void
bg_report(void *ctx, const node_watch_event *ev)
{
    web_app *app = ctx;
    const node_sync_result *r = ev->r;
    uint64_t now = hlc_wall_ms();
    pthread_mutex_lock(&app->sync_mu);
    if (!ev->done) {
        web_sync *s = &app->sync;
        /* The button's request is what this run answers: keep who asked and
         * what waited then; any other run is the loop's own. */
        int answers = ev->why == NODE_WATCH_ASKED && s->asked;
        s->running = 1;
        s->started_ms = now;
        s->done = 0;
        s->rate = 0;
        s->delegated[0] = '\0';
        if (answers) {
            s->asked = 0;
            snprintf(s->by, sizeof s->by, "%s", s->asked_by);
        } else {
            s->total = 0;
            snprintf(s->by, sizeof s->by, "automatic sync (%s)", node_watch_why_name(ev->why));
        }
        pthread_mutex_unlock(&app->sync_mu);
        return;
    }
    app->sync.running = 0;
    app->sync.ended_ms = now;
    app->sync.rc = ev->rc;
    app->sync.server_code = r ? r->server_code : 0;
    snprintf(app->sync.text, sizeof app->sync.text, "%s", ev->rc && ev->err ? ev->err->text : "");
    if (ev->rc == 0)
        app->sync.done = app->sync.total;
    app->bg_next_ms = now + ev->next_ms;
    app->bg_failures = ev->failures;
    pthread_mutex_unlock(&app->sync_mu);
    if (ev->rc == 0 && r->sent > 0)
        log_info("sync (%s): %llu entries delivered (seq %llu..%llu, %llu new to the server); "
                 "next sync within %llu s",
                 node_watch_why_name(ev->why), (unsigned long long)r->sent,
                 (unsigned long long)r->first_seq, (unsigned long long)r->last_seq,
                 (unsigned long long)r->applied, (unsigned long long)(ev->next_ms + 999) / 1000);
    else if (ev->rc == 0)
        log_info("sync (%s): up to date, the server holds %llu entries; next sync within %llu s",
                 node_watch_why_name(ev->why), (unsigned long long)r->server_head,
                 (unsigned long long)(ev->next_ms + 999) / 1000);
    else
        log_warnx("sync (%s): %s; retry in %.1f s (failure %u in a row)",
                  node_watch_why_name(ev->why),
                  ev->err && ev->err->text[0] ? ev->err->text : rz_err_name(ev->rc),
                  (double)ev->next_ms / 1000.0, ev->failures);
}

/* Sleeps ms in short naps, ending early at shutdown. */
static void
bg_nap(web_app *app, uint64_t ms)
{
    while (ms > 0 && !app->sync_stop) {
        uint64_t n = ms < 200 ? ms : 200;
        usleep((useconds_t)(n * 1000));
        ms -= n;
    }
}

/* Why the loop does not run yet, for the Sync page ("" once it runs). */
static void
bg_set_wait(web_app *app, const char *why)
{
    pthread_mutex_lock(&app->sync_mu);
    snprintf(app->bg_wait, sizeof app->bg_wait, "%s", why);
    pthread_mutex_unlock(&app->sync_mu);
}

static void
bg_set_active(web_app *app, int active)
{
    pthread_mutex_lock(&app->sync_mu);
    app->bg_active = active;
    app->bg_wait[0] = '\0';
    if (!active && app->sync.asked) {
        /* The request can no longer be answered by the loop. */
        app->sync.asked = 0;
    }
    pthread_mutex_unlock(&app->sync_mu);
}

static void *
bg_main(void *arg)
{
    web_app *app = arg;
    node_store *ns = NULL;
    node_lock *lock = NULL;
    node_store_status st;
    node_watch_opts o;
    rz_error err = {0, ""};
    int rc, said_busy = 0, said_config = 0;
    if ((rc = node_store_open(app->dir, &ns, &err)) != 0) {
        log_warnx("background sync off: %s", err.text);
        return NULL;
    }
    node_watch_opts_default(&o);
    o.interval_ms = app->bg_interval_ms ? app->bg_interval_ms : o.interval_ms;
    if (app->sync_timeout_ms > 0)
        o.sync.timeout_ms = app->sync_timeout_ms;
    o.sync.connect_ms = WEB_BG_CONNECT_MS;
    o.sync.progress = sync_on_progress;
    o.sync.progress_ctx = app;
    o.sync.stop = &app->sync_stop;
    o.report = bg_report;
    o.report_ctx = app;
    while (!app->sync_stop) {
        /* No server yet: nothing to hold the lock for; `rozgar-node config`
         * may name one while the app runs. */
        if ((rc = node_store_get_status(ns, &st, &err)) != 0)
            break;
        if (!st.endpoint[0] || !st.has_server_pk) {
            if (!said_config++) {
                bg_set_wait(app, "no server is set up yet");
                log_info("background sync waits for a server: rozgar-node -d %s config "
                         "server=tcp://HOST:PORT server-key=HEX",
                         app->dir);
            }
            bg_nap(app, WEB_BG_CONFIG_MS);
            continue;
        }
        rc = node_lock_acquire(app->dir, "serve", &lock, NULL, &err);
        if (rc == RZ_E_BUSY) {
            if (!said_busy++) {
                bg_set_wait(app, err.text);
                log_warnx("background sync waits: %s", err.text);
            }
            bg_nap(app, WEB_BG_RETRY_MS);
            continue;
        }
        if (rc != 0)
            break;
        said_busy = 0;
        log_info("background sync: to %s, soon after new records and at least every %llu s",
                 st.endpoint, (unsigned long long)(o.interval_ms / 1000));
        bg_set_active(app, 1);
        rc = node_watch_run(ns, &o, &err);
        bg_set_active(app, 0);
        node_lock_release(&lock);
        if (rc != 0)
            break;
    }
    if (rc != 0)
        log_warnx("background sync stopped: %s", err.text);
    else if (node_store_get_status(ns, &st, NULL) == 0)
        log_info("background sync stopped; %llu entries wait for the next sync",
                 (unsigned long long)st.pending);
    node_lock_release(&lock);
    node_store_destroy(&ns);
    return NULL;
}

int
web_sync_start_background(web_app *app, rz_error *err)
{
    if (pthread_create(&app->bg_thread, NULL, bg_main, app) != 0)
        return rz_fail(err, RZ_E_INTERNAL, "cannot start the background sync thread");
    app->bg_joinable = 1;
    return 0;
}

void
web_sync_shutdown(web_app *app)
{
    sync_join_oneoff(app);
    if (app->bg_joinable) {
        pthread_join(app->bg_thread, NULL);
        app->bg_joinable = 0;
    }
}

int
api_sync_status(web_call *c, rz_error *err)
{
    node_store_status st;
    web_sync s;
    char warn[256] = "", words[RZ_ERROR_TEXT + 100], when[40], bg_wait[RZ_ERROR_TEXT];
    const char *todo = "";
    uint64_t now = hlc_wall_ms(), bg_next_ms;
    unsigned bg_failures;
    int rc, bg_active;
    if ((rc = node_store_get_status(c->app->ns, &st, err)) != 0)
        return rc;
    pthread_mutex_lock(&c->app->sync_mu);
    s = c->app->sync;
    bg_active = c->app->bg_active;
    bg_next_ms = c->app->bg_next_ms;
    bg_failures = c->app->bg_failures;
    snprintf(bg_wait, sizeof bg_wait, "%s", c->app->bg_wait);
    pthread_mutex_unlock(&c->app->sync_mu);
    node_store_clock_warning(&st, now, warn, sizeof warn);
    fprintf(c->out, "{\"pending\":%llu,\"head\":%llu,\"acked\":%llu",
            (unsigned long long)st.pending, (unsigned long long)st.head_seq,
            (unsigned long long)st.acked_seq);
    web_json_kv(c->out, "server", st.endpoint, 0);
    if (st.last_server_ms) {
        pk_time(when, sizeof when, st.last_local_ms);
        web_json_kv(c->out, "last_contact", when, 0);
    } else {
        web_json_kv(c->out, "last_contact", "", 0);
    }
    /* Last successful sync: the last attempt when it ended well (nothing
     * to send is success too), else the server time of the newest receipt. */
    {
        uint64_t ok_ms = 0;
        if (st.last_attempt_ms && st.last_attempt_code == 0)
            ok_ms = st.last_attempt_ms;
        else if ((rc = node_store_last_receipt_ms(c->app->ns, &ok_ms, err)) != 0)
            return rc;
        if (ok_ms)
            pk_time(when, sizeof when, ok_ms);
        web_json_kv(c->out, "last_ok", ok_ms ? when : "", 0);
    }
    web_json_kv(c->out, "clock_warning", warn, 0);
    /* Asked of the background loop and not started yet counts as running:
     * the page keeps following until that run ends. */
    s.running = s.running || s.asked;
    fprintf(c->out,
            ",\"running\":%s,\"total\":%llu,\"done\":%llu,\"rate\":%.1f,\"elapsed_ms\":%llu",
            s.running ? "true" : "false", (unsigned long long)s.total, (unsigned long long)s.done,
            s.rate, (unsigned long long)(s.running ? now - s.started_ms : 0));
    web_json_kv(c->out, "delegated", s.delegated, 0);
    fprintf(c->out, ",\"auto\":%s", bg_active ? "true" : "false");
    web_json_kv(c->out, "auto_wait", bg_wait, 0);
    if (bg_active && !s.running)
        fprintf(c->out, ",\"next_s\":%llu,\"failures\":%u",
                (unsigned long long)(bg_next_ms > now ? (bg_next_ms - now + 999) / 1000 : 0),
                bg_failures);
    /* A sync by another process (the watch loop, the command line) ended
     * after this app's own: show that one. */
    if (!s.running && st.last_attempt_ms > s.ended_ms) {
        s.ended_ms = st.last_attempt_ms;
        s.rc = st.last_attempt_code;
        s.server_code = 0;
        snprintf(s.text, sizeof s.text, "%s", st.last_attempt_text);
        snprintf(s.by, sizeof s.by, "%s", "another sync process");
    }
    if (s.ended_ms && !s.running) {
        sync_words(s.rc, s.server_code, s.text, words, sizeof words, &todo);
        pk_time(when, sizeof when, s.ended_ms);
        fprintf(c->out, ",\"last\":{\"ok\":%s", s.rc ? "false" : "true");
        web_json_kv(c->out, "when", when, 0);
        web_json_kv(c->out, "by", s.by, 0);
        web_json_kv(c->out, "words", words, 0);
        web_json_kv(c->out, "todo", todo ? todo : "", 0);
        web_json_kv(c->out, "detail", s.text, 0);
        fputc('}', c->out);
    }
    fputs("}\n", c->out);
    return 0;
}

int
api_sync_start(web_call *c, rz_error *err)
{
    node_store_status st;
    int rc;
    if ((rc = node_store_get_status(c->app->ns, &st, err)) != 0)
        return rc;
    pthread_mutex_lock(&c->app->sync_mu);
    if (c->app->bg_active) {
        /* The loop syncs at once (after the run in progress, if any, so
         * what was recorded just now goes too); the page follows it. */
        web_sync *s = &c->app->sync;
        if (!s->asked) {
            s->asked = 1;
            snprintf(s->asked_by, sizeof s->asked_by, "%s", c->s->user);
            if (!s->running) {
                s->started_ms = hlc_wall_ms();
                s->total = st.pending;
                s->done = 0;
                s->rate = 0;
            }
        }
        node_lock_poke();
        pthread_mutex_unlock(&c->app->sync_mu);
        log_info("web: %s asked for a sync now (%llu entries wait)", c->s->user,
                 (unsigned long long)st.pending);
        fprintf(c->out, "{\"ok\":true,\"total\":%llu}\n", (unsigned long long)st.pending);
        return 0;
    }
    if (c->app->sync.running) {
        pthread_mutex_unlock(&c->app->sync_mu);
        return web_fail(c, 409, "a sync is already running");
    }
    sync_join_oneoff(c->app); /* the previous thread has ended: join it */
    memset(&c->app->sync, 0, sizeof c->app->sync);
    c->app->sync.running = 1;
    c->app->sync.started_ms = hlc_wall_ms();
    c->app->sync.total = st.pending;
    snprintf(c->app->sync.by, sizeof c->app->sync.by, "%s", c->s->user);
    if (pthread_create(&c->app->sync_thread, NULL, sync_main, c->app) != 0) {
        c->app->sync.running = 0;
        pthread_mutex_unlock(&c->app->sync_mu);
        return rz_fail(err, RZ_E_INTERNAL, "cannot start the sync thread");
    }
    c->app->sync_joinable = 1;
    pthread_mutex_unlock(&c->app->sync_mu);
    log_info("web: %s started a sync of %llu entries", c->s->user, (unsigned long long)st.pending);
    fprintf(c->out, "{\"ok\":true,\"total\":%llu}\n", (unsigned long long)st.pending);
    return 0;
}
