/*
 * merge_records: the merged records (st_person, st_event, st_attendance)
 * and the rules of one entry on one record: per-field last-writer-wins by
 * stamp, deletion and explicit undeletion as a field of its own (slot 0),
 * the creation stamp as the lowest of any entry (it gives the record its
 * place), and the validity of each value under the writing entry's clock
 * window (an invalid value is stored and flagged, never refused).
 *
 * A record keeps every field's value as received (invalid ones too), a
 * bitmask `bad` of fields whose value was invalid under the writing entry's
 * clock window, and the stamp of every field (slot 0 is the deletion flag)
 * in `st`, a compact canonical blob:
 *
 *     k:u8 | k distinct 22-byte stamps, ascending | one u8 per slot: 0 = never
 *     set, i = stamps[i-1]
 *
 * A stamp is eff_ms (6 bytes) | hlc (8) | node id (8), all big-endian, so
 * memcmp order is stamp order.  `created` is the lowest stamp of any entry
 * for the key and `centre_id` the centre of that entry's node: the record's
 * place.
 *
 * Not here: what a record counts for (merge_cluster.c, merge_counters.c)
 * and CNIC validation and tokens (ingest, from the revealed values).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/places.h"
#include "common/util.h"
#include "server/merge_int.h"

void
mg_stamp_make(uint8_t out[MG_STAMP], const merge_input *in)
{
    uint64_t phys = hlc_physical_ms(in->e->hlc), lo = in->win_lo_ms, hi = in->win_hi_ms;
    uint64_t eff;
    int i;
    if (lo > hi)
        lo = hi;
    eff = phys < lo ? lo : phys > hi ? hi : phys;
    if (eff > 0xffffffffffffull)
        eff = 0xffffffffffffull;
    for (i = 5; i >= 0; i--, eff >>= 8)
        out[i] = (uint8_t)eff;
    be64_put(out + 6, in->e->hlc);
    memcpy(out + 14, in->node_id, RZ_NODE_ID_BYTES);
}

static int
home_is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* The master list of places decides (common/places.h): the official name of
 * the district written, whatever its spelling ("D.G. Khan", "dg khan"), or
 * unknown.  The list in force is the one headquarters imported last; a new
 * import rebuilds the state under it (server/placelist.h), so merge stays a
 * function of the logs and that list. */
size_t
merge_home_normalize(char out[MERGE_HOME_MAX + 1], const uint8_t *in, size_t len)
{
    char name[4 * MERGE_HOME_MAX + 1];
    const char *official;
    size_t i, n;
    out[0] = '\0';
    if (len == 0 || len >= sizeof name)
        return 0;
    for (i = 0; i < len; i++)
        if ((in[i] < 0x20 && !home_is_blank(in[i])) || in[i] == 0x7f)
            return 0; /* control bytes: not a district name */
    memcpy(name, in, len);
    name[len] = '\0';
    official = places_find_district(places_active(), -1, name, NULL);
    if (!official || (n = strlen(official)) > MERGE_HOME_MAX)
        return 0;
    memcpy(out, official, n + 1);
    return n;
}

static int
valid_code(const rz_value *v, const char *(*name)(uint64_t))
{
    return v->type == RZ_V_NIL || (v->type == RZ_V_UINT && strcmp(name(v->u), "unknown") != 0);
}

static int
valid_date(const rz_value *v, uint64_t win_hi_ms)
{
    uint32_t latest = date_of_ms(win_hi_ms + MG_DAY_MS);
    if (v->type == RZ_V_NIL)
        return 1;
    return v->type == RZ_V_UINT && v->u <= 29991231u && date_is_valid((uint32_t)v->u) &&
           v->u >= RZ_MIN_DATE && v->u <= latest;
}

static int
valid_text(const rz_value *v)
{
    return v->type == RZ_V_NIL || v->type == RZ_V_STR;
}

static int
valid_person_field(uint8_t f, const rz_value *v, uint64_t win_hi_ms)
{
    char home[MERGE_HOME_MAX + 1];
    switch (f) {
    case RZ_PF_NAME:
    case RZ_PF_PHONE: return v->type == RZ_V_NIL || (v->type == RZ_V_BIN && v->len == 16);
    case RZ_PF_GENDER: return valid_code(v, gender_name);
    case RZ_PF_BIRTH_YEAR:
        return v->type == RZ_V_NIL || (v->type == RZ_V_UINT && v->u >= RZ_MIN_BIRTH_YEAR &&
                                       v->u <= date_of_ms(win_hi_ms) / 10000);
    case RZ_PF_DISTRICT:
        return v->type == RZ_V_NIL ||
               (v->type == RZ_V_STR && merge_home_normalize(home, v->p, v->len) > 0);
    case RZ_PF_AREA: return valid_code(v, area_name);
    case RZ_PF_SKILL: return valid_code(v, skill_name);
    case RZ_PF_SKILLS:
    case RZ_PF_PLATFORMS: return valid_text(v);
    case RZ_PF_REG_DATE: return valid_date(v, win_hi_ms);
    default: return 0;
    }
}

static int
valid_event_field(uint8_t f, const rz_value *v, uint64_t win_hi_ms)
{
    switch (f) {
    case RZ_EF_KIND: return valid_code(v, event_kind_name);
    case RZ_EF_TITLE:
    case RZ_EF_PARTNER: return valid_text(v);
    case RZ_EF_DATE: return valid_date(v, win_hi_ms);
    case RZ_EF_DURATION: return v->type == RZ_V_NIL || v->type == RZ_V_UINT;
    case RZ_EF_MODE: return valid_code(v, mode_name);
    default: return 0;
    }
}

static int
valid_field(uint8_t table, uint8_t f, const rz_value *v, uint64_t win_hi_ms)
{
    switch (table) {
    case RZ_T_PERSON: return valid_person_field(f, v, win_hi_ms);
    case RZ_T_EVENT: return valid_event_field(f, v, win_hi_ms);
    case RZ_T_ATTENDANCE:
        return f == RZ_AF_PRESENT && (v->type == RZ_V_BOOL || v->type == RZ_V_NIL);
    default: return 0;
    }
}

/* A stored value counts only when valid and an INTEGER. */
int64_t
mg_rec_code(const mg_rec *r, int f)
{
    return r->v[f].type == SQLITE_INTEGER && !(r->bad >> f & 1) ? r->v[f].i : 0;
}

void
mg_rec_home(const mg_rec *r, char out[MERGE_HOME_MAX + 1])
{
    out[0] = '\0';
    if (r->v[RZ_PF_DISTRICT].type == SQLITE_TEXT && !(r->bad >> RZ_PF_DISTRICT & 1))
        merge_home_normalize(out, r->v[RZ_PF_DISTRICT].b, r->v[RZ_PF_DISTRICT].len);
}

/* ---- values <-> SQLite ------------------------------------------------- */

static void
val_from_entry(mg_val *d, const rz_value *v)
{
    memset(d, 0, offsetof(mg_val, b));
    switch (v->type) {
    case RZ_V_NIL: d->type = SQLITE_NULL; break;
    case RZ_V_UINT:
    case RZ_V_BOOL:
        if (v->u <= (uint64_t)INT64_MAX) {
            d->type = SQLITE_INTEGER, d->i = (int64_t)v->u;
        } else { /* kept exactly, as decimal text; never valid anywhere */
            d->type = SQLITE_TEXT;
            d->len = (size_t)snprintf((char *)d->b, sizeof d->b, "%llu", (unsigned long long)v->u);
        }
        break;
    case RZ_V_INT: d->type = SQLITE_INTEGER, d->i = v->i; break;
    case RZ_V_STR:
    case RZ_V_BIN:
        d->type = v->type == RZ_V_STR ? SQLITE_TEXT : SQLITE_BLOB;
        d->len = v->len < sizeof d->b ? v->len : sizeof d->b;
        memcpy(d->b, v->p, d->len);
        break;
    }
}

static void
val_bind(sqlite3_stmt *st, int col, const mg_val *v)
{
    switch (v->type) {
    case SQLITE_INTEGER: sqlite3_bind_int64(st, col, v->i); break;
    case SQLITE_TEXT:
        sqlite3_bind_text(st, col, (const char *)v->b, (int)v->len, SQLITE_STATIC);
        break;
    case SQLITE_BLOB: sqlite3_bind_blob(st, col, v->b, (int)v->len, SQLITE_STATIC); break;
    default: sqlite3_bind_null(st, col); break;
    }
}

static void
val_column(mg_val *v, sqlite3_stmt *st, int col)
{
    const void *p;
    memset(v, 0, offsetof(mg_val, b));
    v->type = sqlite3_column_type(st, col);
    switch (v->type) {
    case SQLITE_INTEGER: v->i = sqlite3_column_int64(st, col); break;
    case SQLITE_TEXT:
    case SQLITE_BLOB:
        p = v->type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, col)
                                   : sqlite3_column_blob(st, col);
        v->len = (size_t)sqlite3_column_bytes(st, col);
        if (v->len > sizeof v->b)
            v->len = sizeof v->b;
        if (v->len)
            memcpy(v->b, p, v->len);
        break;
    case SQLITE_FLOAT: v->type = SQLITE_NULL; break; /* never written by merge */
    default: break;
    }
}

/* ---- stamp blob codec ---------------------------------------------------- */

static int
stamp_cmp(const void *a, const void *b)
{
    return memcmp(a, b, MG_STAMP);
}

/* Encodes r's slot stamps into out (capacity MG_STAMPS_MAX); returns the
 * length.  Canonical: distinct stamps ascending, each referenced. */
size_t
mg_stamps_encode(const mg_rec *r, int nslots, uint8_t *out)
{
    uint8_t uniq[MG_SLOTS][MG_STAMP];
    size_t k = 0, i, j, len;
    int s;
    for (s = 0; s < nslots; s++)
        if (r->set >> s & 1)
            memcpy(uniq[k++], r->stamp[s], MG_STAMP);
    qsort(uniq, k, MG_STAMP, stamp_cmp);
    for (i = 0, j = 0; i < k; i++)
        if (j == 0 || memcmp(uniq[j - 1], uniq[i], MG_STAMP) != 0)
            memmove(uniq[j++], uniq[i], MG_STAMP);
    k = j;
    out[0] = (uint8_t)k;
    memcpy(out + 1, uniq, k * MG_STAMP);
    len = 1 + k * MG_STAMP;
    for (s = 0; s < nslots; s++) {
        uint8_t idx = 0;
        if (r->set >> s & 1)
            for (i = 0; i < k; i++)
                if (memcmp(uniq[i], r->stamp[s], MG_STAMP) == 0)
                    idx = (uint8_t)(i + 1);
        out[len++] = idx;
    }
    return len;
}

int
mg_stamps_decode(mg_rec *r, int nslots, const uint8_t *p, size_t len)
{
    size_t k;
    int s;
    r->set = 0;
    if (len < 1)
        return RZ_E_INTERNAL;
    k = p[0];
    if (k > MG_SLOTS || len != 1 + k * MG_STAMP + (size_t)nslots)
        return RZ_E_INTERNAL;
    for (s = 0; s < nslots; s++) {
        uint8_t idx = p[1 + k * MG_STAMP + (size_t)s];
        if (idx > k)
            return RZ_E_INTERNAL;
        if (idx) {
            r->set |= 1u << s;
            memcpy(r->stamp[s], p + 1 + (idx - 1) * MG_STAMP, MG_STAMP);
        }
    }
    return 0;
}

/* ---- applying one entry to a record ----------------------------------- */

static int
rec_newer(const mg_rec *r, int slot, const uint8_t stamp[MG_STAMP])
{
    return !(r->set >> slot & 1) || memcmp(stamp, r->stamp[slot], MG_STAMP) > 0;
}

static void
rec_take(mg_rec *r, int slot, const uint8_t stamp[MG_STAMP], int valid)
{
    r->set |= 1u << slot;
    memcpy(r->stamp[slot], stamp, MG_STAMP);
    if (valid)
        r->bad &= ~(1u << slot);
    else
        r->bad |= 1u << slot;
}

void
mg_rec_fresh(mg_rec *r)
{
    int s;
    r->exists = 0;
    r->set = 0;
    r->bad = 0;
    r->deleted = 0;
    r->centre_id = 0;
    memset(r->created, 0, sizeof r->created);
    for (s = 0; s < MG_SLOTS; s++)
        r->v[s].type = 0, r->v[s].len = 0;
}

static uint32_t
rec_apply_cnic(mg_rec *r, const merge_input *in, const uint8_t stamp[MG_STAMP])
{
    mg_val *v = &r->v[RZ_PF_CNIC];
    int state;
    if (in->cnic_state == MERGE_CNIC_ABSENT || !rec_newer(r, RZ_PF_CNIC, stamp))
        return 0;
    /* An erased value keeps its token: it links exactly as before. */
    state = in->cnic_state == MERGE_CNIC_VALID || in->cnic_state == MERGE_CNIC_ERASED
                ? MG_CNIC_VALID
            : in->cnic_state == MERGE_CNIC_CLEARED ? MG_CNIC_CLEARED
                                                   : MG_CNIC_INVALID;
    memset(v, 0, offsetof(mg_val, b));
    v->type = SQLITE_INTEGER;
    v->i = state;
    if (state == MG_CNIC_VALID) {
        memcpy(v->b, in->cnic_token, 16);
        v->len = 16;
    }
    rec_take(r, RZ_PF_CNIC, stamp, state != MG_CNIC_INVALID);
    return 1u << RZ_PF_CNIC;
}

/* Last-writer-wins per slot; the creation stamp is the minimum.  Returns
 * the mask of changed slots (MG_CHANGED_CREATED for the creation stamp). */
uint32_t
mg_rec_apply(mg_rec *r, const merge_input *in, const uint8_t stamp[MG_STAMP])
{
    const rz_entry *e = in->e;
    uint32_t changed = 0;
    size_t i;
    if (!r->exists || memcmp(stamp, r->created, MG_STAMP) < 0) {
        memcpy(r->created, stamp, MG_STAMP);
        r->centre_id = in->centre_id;
        r->exists = 1;
        changed |= MG_CHANGED_CREATED;
    }
    if (e->op == RZ_OP_DELETE || e->op == RZ_OP_UNDELETE) {
        if (rec_newer(r, 0, stamp)) {
            rec_take(r, 0, stamp, 1);
            r->deleted = e->op == RZ_OP_DELETE;
            changed |= 1u;
        }
        return changed;
    }
    for (i = 0; i < e->nfields; i++) {
        const rz_field *f = &e->fields[i];
        if (f->id >= MG_SLOTS || (e->table == RZ_T_PERSON && f->id == RZ_PF_CNIC))
            continue; /* the CNIC comes from the reveal facts, below */
        if (!rec_newer(r, f->id, stamp))
            continue;
        val_from_entry(&r->v[f->id], &f->v);
        rec_take(r, f->id, stamp, valid_field(e->table, f->id, &f->v, in->win_hi_ms));
        changed |= 1u << f->id;
    }
    if (e->table == RZ_T_PERSON)
        changed |= rec_apply_cnic(r, in, stamp);
    return changed;
}

/* ---- record load/store ------------------------------------------------- */

/* Reads created, centre, st, bad, deleted from columns 0..4. */
static int
rec_head_column(mg_rec *r, sqlite3_stmt *st, int nslots)
{
    if (sqlite3_column_bytes(st, 0) != MG_STAMP)
        return RZ_E_INTERNAL;
    memcpy(r->created, sqlite3_column_blob(st, 0), MG_STAMP);
    r->centre_id = sqlite3_column_int64(st, 1);
    r->bad = (uint32_t)sqlite3_column_int64(st, 3);
    r->deleted = sqlite3_column_int(st, 4);
    r->exists = 1;
    return mg_stamps_decode(r, nslots, sqlite3_column_blob(st, 2),
                            (size_t)sqlite3_column_bytes(st, 2));
}

static void
rec_head_bind(sqlite3_stmt *st, const mg_rec *r, int nslots, uint8_t *buf)
{
    size_t n = mg_stamps_encode(r, nslots, buf);
    sqlite3_bind_blob(st, 1, r->created, MG_STAMP, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->centre_id);
    sqlite3_bind_blob(st, 3, buf, (int)n, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, r->bad);
    sqlite3_bind_int(st, 5, r->deleted);
}

/* Person row columns from `col`: cnic, token, then fields 2..11. */
int
mg_person_columns(mg_rec *r, sqlite3_stmt *st)
{
    int f, rc;
    mg_val *c = &r->v[RZ_PF_CNIC];
    if ((rc = rec_head_column(r, st, RZ_PF_MAX + 1)))
        return rc;
    memset(c, 0, offsetof(mg_val, b));
    if (sqlite3_column_type(st, 5) == SQLITE_INTEGER) {
        c->type = SQLITE_INTEGER;
        c->i = sqlite3_column_int64(st, 5);
        if (sqlite3_column_bytes(st, 6) == 16) {
            memcpy(c->b, sqlite3_column_blob(st, 6), 16);
            c->len = 16;
        }
    }
    for (f = RZ_PF_NAME; f <= RZ_PF_MAX; f++)
        val_column(&r->v[f], st, 7 + f - RZ_PF_NAME);
    return 0;
}

static int
person_live(const mg_rec *r)
{
    return r->exists && !r->deleted;
}

static int
person_linked(const mg_rec *r)
{
    return person_live(r) && r->v[RZ_PF_CNIC].type == SQLITE_INTEGER &&
           r->v[RZ_PF_CNIC].i == MG_CNIC_VALID && r->v[RZ_PF_CNIC].len == 16;
}

/* The record's cluster key; 0 when it belongs to none (not live). */
int
mg_person_ckey(const mg_rec *r, const uint8_t id[16], uint8_t key[MG_CKEY])
{
    if (!person_live(r))
        return 0;
    if (person_linked(r)) {
        key[0] = MG_CKEY_CNIC;
        memcpy(key + 1, r->v[RZ_PF_CNIC].b, 16);
    } else {
        key[0] = MG_CKEY_SOLO;
        memcpy(key + 1, id, 16);
    }
    return 1;
}

int
mg_person_load(merge_ctx *m, const uint8_t id[16], mg_rec *r, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_P_GET];
    int rc, step;
    mg_rec_fresh(r);
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    rc = step == SQLITE_ROW ? mg_person_columns(r, st) : step == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    if (rc == -1)
        return mg_fail(m, err, "person read");
    return rc ? rz_fail(err, RZ_E_INTERNAL, "corrupt merged person record") : 0;
}

int
mg_person_store(merge_ctx *m, const uint8_t id[16], const mg_rec *r, int update, rz_error *err)
{
    sqlite3_stmt *st = m->st[update ? MS_P_UPD : MS_P_INS];
    uint8_t buf[MG_STAMPS_MAX];
    const mg_val *c = &r->v[RZ_PF_CNIC];
    int f;
    rec_head_bind(st, r, RZ_PF_MAX + 1, buf);
    if (c->type == SQLITE_INTEGER)
        sqlite3_bind_int64(st, 6, c->i);
    else
        sqlite3_bind_null(st, 6);
    if (c->type == SQLITE_INTEGER && c->len == 16)
        sqlite3_bind_blob(st, 7, c->b, 16, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 7);
    for (f = RZ_PF_NAME; f <= RZ_PF_MAX; f++)
        val_bind(st, 8 + f - RZ_PF_NAME, &r->v[f]);
    if (person_linked(r))
        sqlite3_bind_blob(st, 18, c->b, 16, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 18);
    sqlite3_bind_blob(st, 19, id, 16, SQLITE_STATIC);
    return mg_exec(m, st, err, "person write");
}

int
mg_event_load(merge_ctx *m, const uint8_t id[16], mg_rec *r, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_E_GET];
    int rc = 0, step, f;
    mg_rec_fresh(r);
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        rc = rec_head_column(r, st, RZ_EF_MAX + 1);
        for (f = 1; f <= RZ_EF_MAX; f++)
            val_column(&r->v[f], st, 4 + f);
    } else if (step != SQLITE_DONE) {
        rc = -1;
    }
    sqlite3_reset(st);
    if (rc == -1)
        return mg_fail(m, err, "event read");
    return rc ? rz_fail(err, RZ_E_INTERNAL, "corrupt merged event record") : 0;
}

int
mg_event_store(merge_ctx *m, const uint8_t id[16], const mg_rec *r, int update, rz_error *err)
{
    sqlite3_stmt *st = m->st[update ? MS_E_UPD : MS_E_INS];
    uint8_t buf[MG_STAMPS_MAX];
    int f;
    rec_head_bind(st, r, RZ_EF_MAX + 1, buf);
    for (f = 1; f <= RZ_EF_MAX; f++)
        val_bind(st, 5 + f, &r->v[f]);
    sqlite3_bind_blob(st, 12, id, 16, SQLITE_STATIC);
    return mg_exec(m, st, err, "event write");
}

int
mg_attendance_load(merge_ctx *m, const uint8_t key[32], mg_rec *r, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_A_GET];
    int rc = 0, step;
    mg_rec_fresh(r);
    sqlite3_bind_blob(st, 1, key, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, key + 16, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        r->exists = 1;
        r->bad = (uint32_t)sqlite3_column_int64(st, 1);
        r->deleted = sqlite3_column_int(st, 2);
        val_column(&r->v[RZ_AF_PRESENT], st, 3);
        rc = mg_stamps_decode(r, RZ_AF_MAX + 1, sqlite3_column_blob(st, 0),
                              (size_t)sqlite3_column_bytes(st, 0));
    } else if (step != SQLITE_DONE) {
        rc = -1;
    }
    sqlite3_reset(st);
    if (rc == -1)
        return mg_fail(m, err, "attendance read");
    return rc ? rz_fail(err, RZ_E_INTERNAL, "corrupt merged attendance record") : 0;
}

int
mg_attendance_store(merge_ctx *m, const uint8_t key[32], const mg_rec *r, int update, rz_error *err)
{
    sqlite3_stmt *st = m->st[update ? MS_A_UPD : MS_A_INS];
    uint8_t buf[MG_STAMPS_MAX];
    size_t n = mg_stamps_encode(r, RZ_AF_MAX + 1, buf);
    sqlite3_bind_blob(st, 1, buf, (int)n, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->bad);
    sqlite3_bind_int(st, 3, r->deleted);
    val_bind(st, 4, &r->v[RZ_AF_PRESENT]);
    sqlite3_bind_blob(st, 5, key, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, key + 16, 16, SQLITE_STATIC);
    return mg_exec(m, st, err, "attendance write");
}

/* An attendance counts by itself when present (a valid true) and not
 * deleted; its person and event must also be live. */
int
mg_attendance_on(const mg_rec *r)
{
    return r->exists && !r->deleted && mg_rec_code(r, RZ_AF_PRESENT) == 1;
}

void
mg_event_facts_of(const mg_rec *r, mg_evfacts *f)
{
    f->live = r->exists && !r->deleted;
    f->day = mg_rec_code(r, RZ_EF_DATE);
    f->kind = mg_rec_code(r, RZ_EF_KIND);
    f->centre_id = r->centre_id;
}
