/*
 * merge_event_att: the attendance records (per-(event, person)
 * last-writer-wins records) of each event, held per event in the window and
 * written as ONE row per event once per window: st_event_att(event_id, n,
 * b).  An event's attendances arrive together in a node's log (the event,
 * then its cohort's attendances), so one row write per event touched
 * replaces one WITHOUT ROWID insertion per attendance.
 *
 * Row format.  A packed event (at most MG_EVATT_PACK_MAX records) has n =
 * its records and b = their encodings, sorted by person id, each:
 *
 *     len:u16 (bytes that follow) | person id (16) | k:u8 | k bytes: the
 *     stamp blob of st_attendance's column st | bad:u32 | deleted:u8 |
 *     type:u8 (SQLITE_INTEGER, _TEXT, _BLOB or _NULL) | INTEGER: 8 bytes
 *     two's complement; TEXT, BLOB: length:u16 and the bytes; NULL: nothing
 *
 * all big-endian: `present` exactly as st_attendance stores it, invalid
 * values included (stored and flagged in bad).  The encoding is canonical,
 * so a rebuild in any order and with any window sizes writes the same bytes.
 * An event of more than MG_EVATT_PACK_MAX records keeps them as
 * st_attendance rows, one per record, and its st_event_att row is the
 * marker b = NULL, n = its records.  Records are never removed (deletion is
 * a flag), so an event's count only grows: the first time it exceeds the
 * bound its packed records move to st_attendance once, and it stays there.
 * The layout is therefore a function of the merged entries alone.
 *
 * In the window: a hash of event id -> event (loaded with one SELECT on
 * first touch; no row = a new, empty packed event) and of (event, person)
 * -> record, whose encoding lives in an arena (a record updated again is
 * appended; the old bytes stay until the write).  mg_evatt_flush writes
 * every changed event's row in event-id order and forgets them all; the
 * mid-window write (merge_entry) keeps memory bounded by the encodings held
 * (MG_FLUSH_AT) and the arena's bytes (MG_EVATT_ARENA).
 *
 * Not here: what an attendance counts for (merge.c, merge_cluster.c) and
 * the rules of one entry on a record (merge_records.c, mg_rec_apply).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "server/merge_int.h"

/* Bytes of one record's encoding, at most. */
#define EVATT_REC_MAX (2 + 16 + 1 + MG_STAMPS_MAX + 4 + 1 + 1 + 2 + sizeof(((mg_val *)0)->b))

/* An event touched in the window. */
struct mg_evatt_ev {
    uint8_t id[16];     /* event */
    uint32_t head;      /* its records (packed), chained, recs index + 1 */
    uint32_t n;         /* its attendance records */
    uint8_t individual; /* 1: more than MG_EVATT_PACK_MAX, in st_attendance */
    uint8_t dirty;      /* its row must be written */
};

/* One record of a packed event. */
struct mg_evatt_rec {
    uint8_t pid[16]; /* person */
    uint32_t ev;     /* its event, evs index */
    uint32_t off;    /* its encoding in the arena */
    uint32_t len;    /* bytes */
    uint32_t next;   /* next record of the same event, + 1 */
};

/* A record's encoding, parsed (pointers into the encoding). */
typedef struct evatt_view {
    const uint8_t *pid; /* person id */
    const uint8_t *st;  /* stamp blob */
    size_t nst;         /* its bytes */
    uint32_t bad;       /* invalid fields */
    int deleted;        /* slot 0's value */
    int type;           /* present's storage class */
    int64_t i;          /* INTEGER */
    const uint8_t *val; /* TEXT, BLOB bytes */
    size_t nval;        /* their length */
    size_t size;        /* the whole encoding */
} evatt_view;

static uint32_t
get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- the record codec ------------------------------------------------------ */

/* Encodes record r of person pid into out (EVATT_REC_MAX bytes); returns
 * the length. */
static size_t
evatt_encode(const mg_rec *r, const uint8_t pid[16], uint8_t *out)
{
    const mg_val *v = &r->v[RZ_AF_PRESENT];
    size_t k = 2, body;
    memcpy(out + k, pid, 16);
    k += 16;
    out[k] = (uint8_t)mg_stamps_encode(r, RZ_AF_MAX + 1, out + k + 1);
    k += 1 + out[k];
    be32_put(out + k, r->bad);
    k += 4;
    out[k++] = r->deleted ? 1 : 0;
    switch (v->type) {
    case SQLITE_INTEGER:
        out[k++] = SQLITE_INTEGER;
        be64_put(out + k, (uint64_t)v->i);
        k += 8;
        break;
    case SQLITE_TEXT:
    case SQLITE_BLOB:
        out[k++] = (uint8_t)v->type;
        out[k++] = (uint8_t)(v->len >> 8);
        out[k++] = (uint8_t)v->len;
        memcpy(out + k, v->b, v->len);
        k += v->len;
        break;
    default: out[k++] = SQLITE_NULL; break; /* never set: stored as NULL, as before */
    }
    body = k - 2;
    out[0] = (uint8_t)(body >> 8);
    out[1] = (uint8_t)body;
    return k;
}

/* Parses the encoding at p (avail bytes there); -1 when any length runs
 * past its bound or a field is out of range. */
static int
evatt_parse(const uint8_t *p, size_t avail, evatt_view *v)
{
    size_t k = 2, end;
    if (avail < 2 || (end = 2 + get16(p)) > avail || end < 2 + 16 + 1)
        return -1;
    v->pid = p + k;
    k += 16;
    v->nst = p[k++];
    if (v->nst > MG_STAMPS_MAX || k + v->nst + 6 > end)
        return -1;
    v->st = p + k;
    k += v->nst;
    v->bad = get32(p + k);
    k += 4;
    v->deleted = p[k++];
    v->type = p[k++];
    v->i = 0;
    v->val = NULL;
    v->nval = 0;
    if (v->deleted > 1)
        return -1;
    switch (v->type) {
    case SQLITE_INTEGER:
        if (k + 8 > end)
            return -1;
        v->i = (int64_t)be64_get(p + k);
        k += 8;
        break;
    case SQLITE_TEXT:
    case SQLITE_BLOB:
        if (k + 2 > end)
            return -1;
        v->nval = get16(p + k);
        k += 2;
        if (v->nval > sizeof(((mg_val *)0)->b) || k + v->nval > end)
            return -1;
        v->val = p + k;
        k += v->nval;
        break;
    case SQLITE_NULL: break;
    default: return -1;
    }
    v->size = end;
    return k == end ? 0 : -1;
}

/* The record of a parsed encoding (as mg_attendance_load reads a row). */
static int
evatt_view_rec(const evatt_view *v, mg_rec *r)
{
    mg_val *pv = &r->v[RZ_AF_PRESENT];
    mg_rec_fresh(r);
    r->exists = 1;
    r->bad = v->bad;
    r->deleted = v->deleted;
    pv->type = v->type;
    pv->i = v->i;
    pv->len = v->nval;
    if (v->nval)
        memcpy(pv->b, v->val, v->nval);
    return mg_stamps_decode(r, RZ_AF_MAX + 1, v->st, v->nst);
}

/* Counts by itself: the rule of st_attendance's readers (present = 1 AND
 * bad = 0 AND deleted = 0). */
static int
evatt_view_counts(const evatt_view *v)
{
    return v->type == SQLITE_INTEGER && v->i == 1 && v->bad == 0 && !v->deleted;
}

static int
evatt_corrupt(rz_error *err)
{
    return rz_fail(err, RZ_E_INTERNAL, "corrupt merged attendance record");
}

/* ---- the window's events and records -------------------------------------- */

static size_t
rec_slot(const mg_evatt *a, uint32_t ev, const uint8_t pid[16])
{
    uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)ev * 0x9e3779b97f4a7c15ull);
    size_t i;
    for (i = 0; i < 16; i++)
        h = (h ^ pid[i]) * 0x100000001b3ull;
    h ^= h >> 29;
    return (size_t)(h & (a->nrecslots - 1));
}

/* The record of person pid at event ev (recs index + 1), or 0. */
static uint32_t
rec_find(const mg_evatt *a, uint32_t ev, const uint8_t pid[16])
{
    size_t i;
    if (!a->nrecslots)
        return 0;
    for (i = rec_slot(a, ev, pid);; i = (i + 1) & (a->nrecslots - 1)) {
        uint32_t s = a->recslots[i];
        if (s == 0 || (a->recs[s - 1].ev == ev && memcmp(a->recs[s - 1].pid, pid, 16) == 0))
            return s;
    }
}

static void
rec_slot_put(mg_evatt *a, size_t r)
{
    size_t j;
    for (j = rec_slot(a, a->recs[r].ev, a->recs[r].pid); a->recslots[j];
         j = (j + 1) & (a->nrecslots - 1))
        ;
    a->recslots[j] = (uint32_t)(r + 1);
}

/* Copies n bytes into the arena; returns their offset. */
static uint32_t
arena_put(mg_evatt *a, const uint8_t *p, size_t n)
{
    size_t off = a->narena;
    if (a->narena + n > a->caparena) {
        a->caparena = a->caparena ? a->caparena * 2 : 1u << 16;
        while (a->narena + n > a->caparena)
            a->caparena *= 2;
        a->arena = xrealloc(a->arena, a->caparena);
    }
    memcpy(a->arena + off, p, n);
    a->narena += n;
    return (uint32_t)off;
}

/* Adds a record of event ev (its encoding at arena offset off). */
static void
rec_add(mg_evatt *a, uint32_t ev, const uint8_t pid[16], uint32_t off, uint32_t len)
{
    mg_evatt_rec *r;
    size_t i;
    if (a->nrecs == a->caprecs) {
        a->caprecs = a->caprecs ? a->caprecs * 2 : 4096;
        a->recs = xrealloc(a->recs, a->caprecs * sizeof *a->recs);
    }
    if ((a->nrecs + 1) * 2 > a->nrecslots) {
        free(a->recslots);
        a->nrecslots = a->nrecslots ? a->nrecslots * 2 : 8192;
        a->recslots = xcalloc(a->nrecslots, sizeof *a->recslots);
        for (i = 0; i < a->nrecs; i++)
            rec_slot_put(a, i);
    }
    r = &a->recs[a->nrecs];
    memcpy(r->pid, pid, 16);
    r->ev = ev;
    r->off = off;
    r->len = len;
    r->next = a->evs[ev].head;
    a->evs[ev].head = (uint32_t)(a->nrecs + 1);
    rec_slot_put(a, a->nrecs++);
}

static size_t
ev_slot(const mg_evatt *a, const uint8_t id[16])
{
    return mg_cache_slot(id, 16, a->nevslots);
}

static void
ev_slot_put(mg_evatt *a, size_t e)
{
    size_t j;
    for (j = ev_slot(a, a->evs[e].id); a->evslots[j]; j = (j + 1) & (a->nevslots - 1))
        ;
    a->evslots[j] = (uint32_t)(e + 1);
}

/* The window's event id (evs index + 1), or 0. */
static uint32_t
ev_find(const mg_evatt *a, const uint8_t id[16])
{
    size_t i;
    if (!a->nevslots)
        return 0;
    for (i = ev_slot(a, id);; i = (i + 1) & (a->nevslots - 1)) {
        uint32_t s = a->evslots[i];
        if (s == 0 || memcmp(a->evs[s - 1].id, id, 16) == 0)
            return s;
    }
}

static uint32_t
ev_add(mg_evatt *a, const uint8_t id[16])
{
    mg_evatt_ev *e;
    size_t i;
    if (a->nevs == a->capevs) {
        a->capevs = a->capevs ? a->capevs * 2 : 1024;
        a->evs = xrealloc(a->evs, a->capevs * sizeof *a->evs);
    }
    if ((a->nevs + 1) * 2 > a->nevslots) {
        free(a->evslots);
        a->nevslots = a->nevslots ? a->nevslots * 2 : 2048;
        a->evslots = xcalloc(a->nevslots, sizeof *a->evslots);
        for (i = 0; i < a->nevs; i++)
            ev_slot_put(a, i);
    }
    e = &a->evs[a->nevs];
    memset(e, 0, sizeof *e);
    memcpy(e->id, id, 16);
    ev_slot_put(a, a->nevs);
    return (uint32_t)a->nevs++;
}

/* Takes the stored row's records into the window: each checked (lengths,
 * ranges, stamps, strictly ascending person ids, count n). */
static int
ev_load_packed(merge_ctx *m, uint32_t ev, const uint8_t *b, size_t len, int64_t n, rz_error *err)
{
    mg_evatt *a = &m->evatt;
    const uint8_t *prev = NULL;
    uint32_t base;
    size_t k = 0;
    int64_t count = 0;
    if (n < 1 || n > MG_EVATT_PACK_MAX || len == 0 || len > (size_t)n * EVATT_REC_MAX)
        return evatt_corrupt(err);
    base = arena_put(a, b, len);
    while (k < len) {
        const uint8_t *p = a->arena + base + k;
        evatt_view v;
        if (evatt_parse(p, len - k, &v) || evatt_view_rec(&v, &m->member) ||
            (prev && memcmp(prev, v.pid, 16) >= 0) || ++count > n)
            return evatt_corrupt(err);
        prev = v.pid;
        rec_add(a, ev, v.pid, base + (uint32_t)k, (uint32_t)v.size);
        k += v.size;
    }
    if (count != n)
        return evatt_corrupt(err);
    a->evs[ev].n = (uint32_t)n;
    a->held += (size_t)n;
    return 0;
}

/* Clears the hash slot holding index + 1 found from slot i on. */
static void
slot_clear(uint32_t *slots, size_t nslots, size_t i, uint32_t idx)
{
    for (; slots[i] != idx + 1; i = (i + 1) & (nslots - 1))
        ;
    slots[i] = 0;
}

/* Forgets the event added last and its records from index nrecs on (a row
 * that failed to load).  Safe with linear probing: nothing added before
 * them ever probed past their slots. */
static void
ev_forget_last(mg_evatt *a, size_t nrecs)
{
    while (a->nrecs > nrecs) {
        a->nrecs--;
        slot_clear(a->recslots, a->nrecslots,
                   rec_slot(a, a->recs[a->nrecs].ev, a->recs[a->nrecs].pid), (uint32_t)a->nrecs);
    }
    a->nevs--;
    slot_clear(a->evslots, a->nevslots, ev_slot(a, a->evs[a->nevs].id), (uint32_t)a->nevs);
}

/* The window's entry of event id, read from st_event_att on first touch. */
static int
ev_get(merge_ctx *m, const uint8_t id[16], uint32_t *out, rz_error *err)
{
    mg_evatt *a = &m->evatt;
    sqlite3_stmt *st = m->st[MS_EA_GET];
    uint32_t s = ev_find(a, id), ev;
    size_t nrecs = a->nrecs;
    int step, rc = 0;
    if (s) {
        *out = s - 1;
        return 0;
    }
    ev = ev_add(a, id);
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(st, 0);
        if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
            if (n <= MG_EVATT_PACK_MAX || n > UINT32_MAX)
                rc = evatt_corrupt(err);
            a->evs[ev].individual = 1;
            a->evs[ev].n = (uint32_t)n;
        } else if (sqlite3_column_type(st, 1) != SQLITE_BLOB) {
            rc = evatt_corrupt(err);
        } else {
            const uint8_t *b = sqlite3_column_blob(st, 1);
            rc = ev_load_packed(m, ev, b, (size_t)sqlite3_column_bytes(st, 1), n, err);
        }
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = mg_fail(m, err, "event attendance read");
    if (rc) {
        ev_forget_last(a, nrecs);
        return rc;
    }
    *out = ev;
    return 0;
}

static int
rec_pid_cmp(const void *x, const void *y)
{
    const mg_evatt_rec *a = *(const mg_evatt_rec *const *)x, *b = *(const mg_evatt_rec *const *)y;
    return memcmp(a->pid, b->pid, 16);
}

/* The records of packed event ev into a->order, sorted by person id;
 * returns how many. */
static size_t
ev_sorted(mg_evatt *a, const mg_evatt_ev *e)
{
    size_t n = 0;
    uint32_t r;
    if (e->n > a->caporder) {
        a->caporder = e->n > 2 * a->caporder ? e->n : 2 * a->caporder;
        a->order = xrealloc(a->order, a->caporder * sizeof *a->order);
    }
    for (r = e->head; r && n < e->n; r = a->recs[r - 1].next)
        a->order[n++] = &a->recs[r - 1];
    if (n > 1)
        qsort(a->order, n, sizeof *a->order, rec_pid_cmp);
    return n;
}

/* Event ev grew past MG_EVATT_PACK_MAX: its records become st_attendance
 * rows, once; from now on it is an individual event. */
static int
ev_unpack(merge_ctx *m, uint32_t ev, rz_error *err)
{
    mg_evatt *a = &m->evatt;
    mg_evatt_ev *e = &a->evs[ev];
    uint8_t key[32];
    size_t i, n = ev_sorted(a, e);
    int rc = 0;
    memcpy(key, e->id, 16);
    for (i = 0; rc == 0 && i < n; i++) {
        evatt_view v;
        if (evatt_parse(a->arena + a->order[i]->off, a->order[i]->len, &v) ||
            evatt_view_rec(&v, &m->member))
            return evatt_corrupt(err);
        memcpy(key + 16, v.pid, 16);
        /* m->cur and m->old hold the entry being merged: use m->member. */
        rc = mg_attendance_store(m, key, &m->member, 0, err);
    }
    e->individual = 1;
    e->head = 0;
    return rc;
}

/* ---- merging one entry ------------------------------------------------------ */

/* An individual event's record: its st_attendance row, as before. */
static int
apply_row(merge_ctx *m, const merge_input *in, const uint8_t stamp[MG_STAMP], uint32_t ev,
          int *changed, rz_error *err)
{
    const uint8_t *key = in->e->key;
    int rc;
    mg_rec_fresh(&m->old);
    mg_rec_fresh(&m->cur);
    mg_rec_apply(&m->cur, in, stamp);
    if ((rc = mg_attendance_store(m, key, &m->cur, 0, err)))
        return rc;
    if (sqlite3_changes(m->db) == 0) {
        if ((rc = mg_attendance_load(m, key, &m->cur, err)))
            return rc;
        memcpy(&m->old, &m->cur, sizeof m->cur);
        if (!mg_rec_apply(&m->cur, in, stamp))
            return 0;
        if ((rc = mg_attendance_store(m, key, &m->cur, 1, err)))
            return rc;
    } else {
        m->evatt.evs[ev].n++;
        m->evatt.evs[ev].dirty = 1;
    }
    *changed = 1;
    return 0;
}

int
mg_evatt_apply(merge_ctx *m, const merge_input *in, const uint8_t stamp[MG_STAMP], int *changed,
               rz_error *err)
{
    mg_evatt *a = &m->evatt;
    const uint8_t *key = in->e->key, *pid = key + 16;
    uint8_t enc[EVATT_REC_MAX];
    uint32_t ev, r, off;
    size_t len;
    int rc;
    *changed = 0;
    if ((rc = ev_get(m, key, &ev, err)))
        return rc;
    if (a->evs[ev].individual)
        return apply_row(m, in, stamp, ev, changed, err);
    mg_rec_fresh(&m->old);
    if ((r = rec_find(a, ev, pid)) != 0) {
        evatt_view v;
        const mg_evatt_rec *rec = &a->recs[r - 1];
        /* Decoded twice rather than copied: a record is kilobytes. */
        if (evatt_parse(a->arena + rec->off, rec->len, &v) || evatt_view_rec(&v, &m->old) ||
            evatt_view_rec(&v, &m->cur))
            return evatt_corrupt(err);
    } else {
        mg_rec_fresh(&m->cur);
    }
    if (!mg_rec_apply(&m->cur, in, stamp))
        return 0; /* already merged, or overruled by newer stamps */
    *changed = 1;
    len = evatt_encode(&m->cur, pid, enc);
    off = arena_put(a, enc, len);
    a->held++;
    a->evs[ev].dirty = 1;
    if (r) {
        a->recs[r - 1].off = off;
        a->recs[r - 1].len = (uint32_t)len;
        return 0;
    }
    rec_add(a, ev, pid, off, (uint32_t)len);
    if (++a->evs[ev].n > MG_EVATT_PACK_MAX)
        return ev_unpack(m, ev, err);
    return 0;
}

int
mg_evatt_each_counting(merge_ctx *m, const uint8_t event_id[16],
                       int (*fn)(merge_ctx *m, const uint8_t pid[16], void *arg, rz_error *err),
                       void *arg, rz_error *err)
{
    mg_evatt *a = &m->evatt;
    sqlite3_stmt *st = m->st[MS_A_OF_EVENT];
    uint8_t pids[MG_EVATT_PACK_MAX][16];
    size_t i, n, k = 0;
    uint32_t ev;
    int step = SQLITE_DONE, rc;
    if ((rc = ev_get(m, event_id, &ev, err)))
        return rc;
    if (!a->evs[ev].individual) {
        /* Copied out first: fn merges counts, never records, but the
         * window's arrays may grow under it. */
        n = ev_sorted(a, &a->evs[ev]);
        for (i = 0; i < n; i++) {
            evatt_view v;
            if (evatt_parse(a->arena + a->order[i]->off, a->order[i]->len, &v))
                return evatt_corrupt(err);
            if (evatt_view_counts(&v))
                memcpy(pids[k++], v.pid, 16);
        }
        for (i = 0; rc == 0 && i < k; i++)
            rc = fn(m, pids[i], arg, err);
        return rc;
    }
    sqlite3_bind_blob(st, 1, event_id, 16, SQLITE_STATIC);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t pid[16];
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        memcpy(pid, sqlite3_column_blob(st, 0), 16);
        rc = fn(m, pid, arg, err);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = mg_fail(m, err, "event attendees");
    sqlite3_reset(st);
    return rc;
}

/* ---- writing ------------------------------------------------------------------ */

int
mg_evatt_full(const merge_ctx *m)
{
    return m->evatt.held >= m->flush_at || m->evatt.narena >= MG_EVATT_ARENA;
}

static int
ev_id_cmp(const void *x, const void *y)
{
    return memcmp(((const mg_evatt_ev *)x)->id, ((const mg_evatt_ev *)y)->id, 16);
}

/* The row of packed event e into a->row; returns its length. */
static size_t
ev_row(mg_evatt *a, const mg_evatt_ev *e)
{
    size_t i, n = ev_sorted(a, e), len = 0;
    for (i = 0; i < n; i++)
        len += a->order[i]->len;
    if (len > a->caprow) {
        a->caprow = len > 2 * a->caprow ? len : 2 * a->caprow;
        a->row = xrealloc(a->row, a->caprow);
    }
    for (i = 0, len = 0; i < n; i++) {
        memcpy(a->row + len, a->arena + a->order[i]->off, a->order[i]->len);
        len += a->order[i]->len;
    }
    return len;
}

int
mg_evatt_flush(merge_ctx *m, rz_error *err)
{
    mg_evatt *a = &m->evatt;
    sqlite3_stmt *st = m->st[MS_EA_PUT];
    size_t i;
    int rc = 0;
    /* Key order: each page of the table is visited once, in order.  The
     * records' event indices no longer match; the window is forgotten
     * below, and each event's chain moves with it. */
    if (a->nevs == 0)
        return 0;
    qsort(a->evs, a->nevs, sizeof *a->evs, ev_id_cmp);
    for (i = 0; rc == 0 && i < a->nevs; i++) {
        const mg_evatt_ev *e = &a->evs[i];
        if (!e->dirty)
            continue;
        sqlite3_bind_blob(st, 1, e->id, 16, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, e->n);
        if (e->individual) {
            sqlite3_bind_null(st, 3);
        } else {
            size_t len = ev_row(a, e); /* before a->row is read: it may move */
            sqlite3_bind_blob(st, 3, a->row, (int)len, SQLITE_STATIC);
        }
        rc = mg_exec(m, st, err, "event attendance write");
    }
    mg_evatt_discard(m);
    return rc;
}

void
mg_evatt_discard(merge_ctx *m)
{
    mg_evatt *a = &m->evatt;
    if (a->nevslots)
        memset(a->evslots, 0, a->nevslots * sizeof *a->evslots);
    if (a->nrecslots)
        memset(a->recslots, 0, a->nrecslots * sizeof *a->recslots);
    a->nevs = 0;
    a->nrecs = 0;
    a->narena = 0;
    a->held = 0;
}

void
mg_evatt_free(merge_ctx *m)
{
    mg_evatt *a = &m->evatt;
    free(a->evs);
    free(a->evslots);
    free(a->recs);
    free(a->recslots);
    free(a->arena);
    free(a->row);
    free(a->order);
    memset(a, 0, sizeof *a);
}
