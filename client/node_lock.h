/*
 * node_lock: one sync per data directory, and a way to ask the sync that
 * holds it to run now.
 *
 * Every process that talks to the server for this node (`rozgar-node sync`,
 * `sync --watch`, the web app's sync, `rebase`, bundle export/receipts)
 * holds an exclusive flock(2) on DIR/sync.lock for as long as it syncs.  The
 * kernel drops the lock when the process dies, even by kill -9, so a stale
 * file never blocks anybody.  The holder writes into the file its pid, what
 * it is ("sync --watch", "serve") and since when, so a second sync can say
 * who holds it.
 *
 * Trigger: a loop that holds the lock and wants to be nudged (watch mode,
 * the web app) calls node_lock_listen(); node_lock_trigger() from another
 * process reads the holder's pid from the file, checks the lock is really
 * held, and sends it SIGUSR1.  In the holder's process the signal only sets
 * a flag that node_lock_take_trigger() reads and clears; an in-process
 * caller (the web app's "sync now" button) calls node_lock_poke() instead.
 * Stop requests (SIGTERM, SIGINT) are caught the same way when asked, and
 * read with node_lock_stopping(); the sync loop checks it between batches.
 *
 * What it does not do: sync anything, or lock SQLite (SQLite serialises
 * writes itself; recording never needs this lock).
 */
#ifndef RZ_NODE_LOCK_H
#define RZ_NODE_LOCK_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/rz_err.h"

#define NODE_LOCK_FILE "sync.lock" /* inside the data directory */
#define NODE_LOCK_WHO_MAX 48       /* bytes of a holder's description */

typedef struct node_lock node_lock;

/* Who holds the lock, as its file says. */
typedef struct node_lock_holder {
    pid_t pid;                   /* holder's process id; 0 if unknown */
    char who[NODE_LOCK_WHO_MAX]; /* "sync --watch", "serve", ... */
    uint64_t since_ms;           /* wall clock when it took the lock */
} node_lock_holder;

/* Takes the lock of data directory dir without waiting, and records this
 * process as `who` in the file.  RZ_E_BUSY when another process holds it;
 * then *holder (may be NULL) says who and err->text is a message for staff
 * naming the holder.  RZ_E_IO when the file cannot be created.  The caller
 * owns *out and releases it with node_lock_release(). */
int node_lock_acquire(const char *dir, const char *who, node_lock **out, node_lock_holder *holder,
                      rz_error *err) RZ_WUR;

/* Releases the lock (the file stays, empty of meaning); accepts NULL. */
void node_lock_release(node_lock **l);

/* Reads who holds the lock of dir.  0 with *holder filled when a live
 * process holds it; RZ_E_NOTFOUND when nobody does. */
int node_lock_query(const char *dir, node_lock_holder *holder, rz_error *err) RZ_WUR;

/* Asks the process holding dir's lock to sync now (SIGUSR1).  0 when it was
 * signalled; RZ_E_NOTFOUND when no sync is running; RZ_E_IO if the signal
 * could not be sent.  Must not be called by the holder itself (use
 * node_lock_poke). */
int node_lock_trigger(const char *dir, node_lock_holder *holder, rz_error *err) RZ_WUR;

/* Installs the handlers in this process: SIGUSR1 sets the trigger flag;
 * with catch_stop, SIGTERM and SIGINT set the stop flag (instead of killing
 * the process).  Call once, before the loop starts. */
void node_lock_listen(int catch_stop);

/* Sets the trigger flag from inside the process (async-signal-safe). */
void node_lock_poke(void);

/* Returns 1 and clears the flag when a sync was asked for since the last
 * call, else 0. */
int node_lock_take_trigger(void);

/* Asks the loop to stop (async-signal-safe); node_lock_stopping() then
 * returns 1 for the rest of the process's life. */
void node_lock_request_stop(void);

/* 1 once a stop was requested (by signal or node_lock_request_stop). */
int node_lock_stopping(void);

/* The stop flag itself, for node_sync_opts.stop (read-only use). */
volatile sig_atomic_t *node_lock_stop_flag(void);

#endif
