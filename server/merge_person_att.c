/*
 * merge_person_att: the counted attendances of each person record, per
 * (event day, event kind, centre that ran the event): st_person_att, one
 * row per person record holding all its buckets.  A record brings them
 * along when its cluster changes (a CNIC set, changed or cleared, a delete,
 * the record arriving after its attendances), and a cluster's buckets are
 * the sum over its live members (merge_cluster.c).  They count attendances
 * that are present, undeleted and valid at a live event, whatever the
 * person record's own state, so the table is a function of the merged
 * entries alone.
 *
 * Changes of a window are kept in memory (bounded: at most one per merged
 * entry) and written by mg_patt_flush in person-id order, one row write per
 * person record touched instead of one per attendance; person ids are
 * time-ordered, so the writes walk the table's pages in order.  Reads see
 * the row plus the pending changes.
 *
 * Row format (column b, TEXT, canonical so that a rebuild in any order
 * writes the same bytes, and readable by SQL's json_each for the view
 * st_cluster_att): a JSON array of [day, kind, centre, n] arrays, sorted by
 * (day, kind, centre), every n non-zero; no row when there is no bucket.
 *
 * Not here: what counts (merge.c, merge_cluster.c) and the counters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "server/merge_int.h"

/* One pending change of one person record's bucket. */
struct mg_patt_rec {
    mg_catt b;     /* bucket and delta */
    uint32_t next; /* next change of the same person, +1 (0: none) */
};

/* A person record with pending changes. */
struct mg_patt_person {
    uint8_t id[16]; /* person record */
    uint32_t head;  /* its latest change, +1 */
};

static size_t
patt_slot(const uint8_t id[16], size_t n)
{
    return mg_cache_slot(id, 16, n);
}

/* The pending person entry of id, or NULL. */
static mg_patt_person *
patt_find(const mg_patt *p, const uint8_t id[16])
{
    size_t i;
    if (!p->nslots)
        return NULL;
    for (i = patt_slot(id, p->nslots);; i = (i + 1) & (p->nslots - 1)) {
        uint32_t s = p->slots[i];
        if (s == 0)
            return NULL;
        if (memcmp(p->persons[s - 1].id, id, 16) == 0)
            return &p->persons[s - 1];
    }
}

/* Puts persons[i] into the first free slot of its probe sequence. */
static void
patt_slot_put(mg_patt *p, size_t i)
{
    size_t j;
    for (j = patt_slot(p->persons[i].id, p->nslots); p->slots[j]; j = (j + 1) & (p->nslots - 1))
        ;
    p->slots[j] = (uint32_t)(i + 1);
}

static void
patt_rehash(mg_patt *p, size_t nslots)
{
    size_t i;
    free(p->slots);
    p->slots = xcalloc(nslots, sizeof *p->slots);
    p->nslots = nslots;
    for (i = 0; i < p->npersons; i++)
        patt_slot_put(p, i);
}

void
mg_patt_add(merge_ctx *m, const uint8_t id[16], const mg_catt *b)
{
    mg_patt *p = &m->patt;
    mg_patt_person *pp = patt_find(p, id);
    if (!pp) {
        if (p->npersons == p->cappersons) {
            p->cappersons = p->cappersons ? p->cappersons * 2 : 1024;
            p->persons = xrealloc(p->persons, p->cappersons * sizeof *p->persons);
        }
        if ((p->npersons + 1) * 2 > p->nslots)
            patt_rehash(p, p->nslots ? p->nslots * 2 : 2048);
        pp = &p->persons[p->npersons];
        memcpy(pp->id, id, 16);
        pp->head = 0;
        patt_slot_put(p, p->npersons++);
    }
    if (p->nrecs == p->caprecs) {
        p->caprecs = p->caprecs ? p->caprecs * 2 : 4096;
        p->recs = xrealloc(p->recs, p->caprecs * sizeof *p->recs);
    }
    p->recs[p->nrecs].b = *b;
    p->recs[p->nrecs].next = pp->head;
    pp->head = (uint32_t)++p->nrecs;
}

/* ---- the row's text ------------------------------------------------------ */

static int
parse_int(const char **s, int64_t *out)
{
    const char *q = *s;
    int neg = *q == '-';
    uint64_t v = 0;
    if (neg)
        q++;
    if (*q < '0' || *q > '9')
        return -1;
    for (; *q >= '0' && *q <= '9'; q++) {
        if (v > (uint64_t)INT64_MAX / 10)
            return -1;
        v = v * 10 + (uint64_t)(*q - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    *s = q;
    return 0;
}

/* Adds the buckets of a row's text into out; -1 when it is not the format
 * written by patt_encode. */
static int
patt_decode(const char *s, mg_catts *out)
{
    if (*s++ != '[')
        return -1;
    if (*s == ']')
        return s[1] ? -1 : 0;
    for (;;) {
        int64_t v[4];
        int i;
        if (*s++ != '[')
            return -1;
        for (i = 0; i < 4; i++)
            if (parse_int(&s, &v[i]) || *s++ != (i < 3 ? ',' : ']'))
                return -1;
        if (v[0] < 0 || v[0] > UINT32_MAX)
            return -1;
        mg_catts_add(out, (mg_catt){(uint32_t)v[0], v[1], v[2], v[3]});
        if (*s == ']')
            return s[1] ? -1 : 0;
        if (*s++ != ',')
            return -1;
    }
}

/* Writes v in decimal at p; returns the characters written (snprintf cost
 * most of a flush). */
static size_t
put_int(char *p, int64_t v)
{
    char tmp[24];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, k = 0;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        p[k++] = '-';
    while (n)
        p[k++] = tmp[--n];
    return k;
}

/* The row's text of buckets c (sorted, non-zero) into p->text. */
static void
patt_encode(mg_patt *p, const mg_catts *c)
{
    size_t i, need = 3 + c->n * 84; /* "[" 3 x 20 + 1 x 10 digits, 4 separators "]," */
    char *t;
    if (need > p->captext) {
        p->captext = need * 2;
        p->text = xrealloc(p->text, p->captext);
    }
    t = p->text;
    *t++ = '[';
    for (i = 0; i < c->n; i++) {
        if (i)
            *t++ = ',';
        *t++ = '[';
        t += put_int(t, (int64_t)c->v[i].day);
        *t++ = ',';
        t += put_int(t, c->v[i].kind);
        *t++ = ',';
        t += put_int(t, c->v[i].centre);
        *t++ = ',';
        t += put_int(t, c->v[i].n);
        *t++ = ']';
    }
    *t++ = ']';
    p->ntext = (size_t)(t - p->text);
}

/* ---- reading and writing -------------------------------------------------- */

/* The stored buckets of id, added into out; *found says whether a row is
 * there. */
static int
patt_read_row(merge_ctx *m, const uint8_t id[16], mg_catts *out, int *found, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_PA_GET];
    int step, bad = 0;
    *found = 0;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        *found = 1;
        bad = !t || patt_decode((const char *)t, out) != 0;
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mg_fail(m, err, "person attendance read");
    return bad ? rz_fail(err, RZ_E_INTERNAL, "corrupt merged person attendances") : 0;
}

int
mg_patt_read(merge_ctx *m, const uint8_t id[16], mg_catts *out, rz_error *err)
{
    mg_patt_person *pp = patt_find(&m->patt, id);
    uint32_t r;
    int found, rc;
    if ((rc = patt_read_row(m, id, out, &found, err)))
        return rc;
    for (r = pp ? pp->head : 0; r; r = m->patt.recs[r - 1].next)
        mg_catts_add(out, m->patt.recs[r - 1].b);
    return 0;
}

static int
person_id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

int
mg_patt_flush(merge_ctx *m, rz_error *err)
{
    mg_patt *p = &m->patt;
    size_t i;
    int rc = 0;
    if (p->npersons == 0)
        return 0;
    /* Key order: each page of the table is visited once, in order.  The
     * hash slots no longer match; they are cleared below. */
    qsort(p->persons, p->npersons, sizeof *p->persons, person_id_cmp);
    for (i = 0; rc == 0 && i < p->npersons; i++) {
        mg_patt_person *pp = &p->persons[i];
        uint32_t r;
        int found, changed = 0;
        sqlite3_stmt *st;
        p->scratch.n = 0;
        if ((rc = patt_read_row(m, pp->id, &p->scratch, &found, err)))
            break;
        for (r = pp->head; r; r = p->recs[r - 1].next)
            if (p->recs[r - 1].b.n) {
                mg_catts_add(&p->scratch, p->recs[r - 1].b);
                changed = 1;
            }
        if (!changed)
            continue;
        if (p->scratch.n == 0) {
            if (!found)
                continue;
            st = m->st[MS_PA_DEL];
        } else {
            patt_encode(p, &p->scratch);
            st = m->st[found ? MS_PA_UPD : MS_PA_INS];
            sqlite3_bind_text(st, 2, p->text, (int)p->ntext, SQLITE_STATIC);
        }
        sqlite3_bind_blob(st, 1, pp->id, 16, SQLITE_STATIC);
        rc = mg_exec(m, st, err, "person attendance write");
    }
    mg_patt_discard(m);
    return rc;
}

void
mg_patt_discard(merge_ctx *m)
{
    mg_patt *p = &m->patt;
    if (p->nslots)
        memset(p->slots, 0, p->nslots * sizeof *p->slots);
    p->npersons = 0;
    p->nrecs = 0;
}

void
mg_patt_free(merge_ctx *m)
{
    mg_patt *p = &m->patt;
    free(p->slots);
    free(p->persons);
    free(p->recs);
    free(p->text);
    free(p->scratch.v);
    memset(p, 0, sizeof *p);
}
