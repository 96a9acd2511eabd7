/*
 * test_merge: server/merge.c.  Per-field last-writer-wins with the clamp
 * of PROTOCOL §5 (a PC a year ahead, a PC reset to 1970), delete / undelete /
 * edit-after-delete, attendance that arrives before its person or event,
 * invalid values counted as unknown, CNIC clusters (one person at two
 * centres counts once, the earliest place wins, clearing a CNIC splits),
 * attendance and trainees counted at the event's centre (also when the
 * event arrives late or its centre moves), corrections that move totals
 * exactly, idempotent replay and rollback; counter keys (a value too large
 * for its key field) and the reset of a state.db of an older layout; an
 * event's attendance records in one row (last-writer-wins in and across
 * windows, invalid values kept, an event growing past 256 records into rows
 * of its own, pending records moved with their event, rollback, a corrupt
 * row refused, and the same tables whatever the window sizes).
 * Every scenario checks that breakdowns add up to the national total.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "merge_fixture.h"
#include "server/dayindex.h"
#include "server/state_store.h"

#define H (3600ull * 1000ull)
#define D FX_DAY_MS

enum { N_A = 1, N_B = 2, N_C = 3 }; /* nodes */

#define REG MERGE_M_REGISTERED
#define TRN MERGE_M_TRAINEES
#define ATT MERGE_M_ATTENDANCES
#define EVT MERGE_M_EVENTS
#define GM RZ_GRAIN_MONTH
#define GQ RZ_GRAIN_QUARTER
#define GY RZ_GRAIN_YEAR
#define GA MERGE_GRAIN_ALL

/* A person change at wall time ms by node (centre), window [ms-1d, ms+1h]. */
static void
person_change(fx_change *c, int node, int64_t centre, uint64_t ms, uint32_t pid, uint8_t op)
{
    fx_change_init(c, node, centre, ms, ms - D, ms + H, RZ_T_PERSON, op);
    fx_id(c->key, pid);
}

/* Fields of a registration; negative / NULL / 0 leaves a field out. */
static void
person_fields(fx_change *c, int gender, int birth_year, const char *home, int area, int skill,
              uint32_t reg_date)
{
    if (gender >= 0)
        fx_set(c, RZ_PF_GENDER, rz_uint((uint64_t)gender));
    if (birth_year >= 0)
        fx_set(c, RZ_PF_BIRTH_YEAR, rz_uint((uint64_t)birth_year));
    if (home)
        fx_set(c, RZ_PF_DISTRICT, rz_str(home));
    if (area >= 0)
        fx_set(c, RZ_PF_AREA, rz_uint((uint64_t)area));
    if (skill >= 0)
        fx_set(c, RZ_PF_SKILL, rz_uint((uint64_t)skill));
    if (reg_date)
        fx_set(c, RZ_PF_REG_DATE, rz_uint(reg_date));
}

static void
reg(fx *f, int node, int64_t centre, uint64_t ms, uint32_t pid, int gender, int by,
    uint32_t reg_date, int cnic_state, uint32_t cnic)
{
    fx_change c;
    person_change(&c, node, centre, ms, pid, RZ_OP_SET);
    person_fields(&c, gender, by, "Lahore", RZ_AREA_RURAL, RZ_SK_WHITE, reg_date);
    if (cnic_state != MERGE_CNIC_ABSENT)
        fx_cnic(&c, cnic_state, cnic);
    fx_apply(f, &c);
}

static void
event_change(fx_change *c, int node, int64_t centre, uint64_t ms, uint32_t eid, uint8_t op)
{
    fx_change_init(c, node, centre, ms, ms - D, ms + H, RZ_T_EVENT, op);
    fx_id(c->key, 0x10000 + eid);
}

static void
event(fx *f, int node, int64_t centre, uint64_t ms, uint32_t eid, int kind, uint32_t date)
{
    fx_change c;
    event_change(&c, node, centre, ms, eid, RZ_OP_SET);
    fx_set(&c, RZ_EF_KIND, rz_uint((uint64_t)kind));
    fx_set(&c, RZ_EF_TITLE, rz_str("Upwork profile clinic"));
    fx_set(&c, RZ_EF_DATE, rz_uint(date));
    fx_set(&c, RZ_EF_DURATION, rz_uint(120));
    fx_apply(f, &c);
}

static void
attend_change(fx_change *c, int node, int64_t centre, uint64_t ms, uint32_t eid, uint32_t pid,
              uint8_t op)
{
    fx_change_init(c, node, centre, ms, ms - D, ms + H, RZ_T_ATTENDANCE, op);
    fx_id(c->key, 0x10000 + eid);
    fx_id(c->key + 16, pid);
}

static void
attend(fx *f, int node, int64_t centre, uint64_t ms, uint32_t eid, uint32_t pid, int present)
{
    fx_change c;
    attend_change(&c, node, centre, ms, eid, pid, RZ_OP_SET);
    fx_set(&c, RZ_AF_PRESENT, rz_bool(present));
    fx_apply(f, &c);
}

static int64_t
by_gender(fx *f, int metric, int grain, uint32_t period, int gender)
{
    char v[8];
    snprintf(v, sizeof v, "%d", gender);
    return fx_tot(f, metric, grain, period, MERGE_D_GENDER, v, 0, NULL);
}

static int64_t
by_centre(fx *f, int metric, int grain, uint32_t period, int centre)
{
    char v[8];
    snprintf(v, sizeof v, "%d", centre);
    return fx_tot(f, metric, grain, period, MERGE_D_CENTRE, v, 0, NULL);
}

/* ---- last writer wins ---------------------------------------------------- */

static void
lww_scenario(fx *f, int reverse)
{
    fx_change a, b;
    person_change(&a, N_A, 1, FX_T0, 1, RZ_OP_SET);
    person_fields(&a, RZ_G_FEMALE, 2000, "Lahore", RZ_AREA_RURAL, RZ_SK_WHITE, 20260310);
    person_change(&b, N_B, 2, FX_T0 + H, 1, RZ_OP_SET);
    fx_set(&b, RZ_PF_GENDER, rz_uint(RZ_G_MALE));
    fx_apply(f, reverse ? &b : &a);
    fx_apply(f, reverse ? &a : &b);
    fx_commit(f);
}

static void
test_lww_any_order(void **state)
{
    fx f1, f2;
    uint8_t d1[32], d2[32];
    (void)state;
    fx_open(&f1);
    fx_open(&f2);
    lww_scenario(&f1, 0);
    lww_scenario(&f2, 1);
    /* The later edit wins; the place stays the creator's centre. */
    assert_int_equal(by_gender(&f1, REG, GA, 0, RZ_G_MALE), 1);
    assert_int_equal(by_gender(&f1, REG, GA, 0, RZ_G_FEMALE), 0);
    assert_int_equal(by_centre(&f1, REG, GM, 202603, 1), 1);
    assert_int_equal(by_centre(&f1, REG, GM, 202603, 2), 0);
    assert_int_equal(fx_province(&f1, REG, GY, 2026, "Punjab", MERGE_D_GENDER, 2), 1);
    fx_digest(&f1, d1);
    fx_digest(&f2, d2);
    assert_memory_equal(d1, d2, 32);
    fx_check_sums(&f1);
    fx_close(&f1);
    fx_close(&f2);
}

/* A PC a year ahead cannot win past the moment it synced: its stamp is
 * clamped to the server time that follows it in its log. */
static void
test_clamp_future_clock(void **state)
{
    fx f;
    fx_change ahead, fix;
    (void)state;
    fx_open(&f);
    fx_change_init(&ahead, N_A, 1, FX_T0 + 365 * D, FX_T0 - D, FX_T0 + H, RZ_T_PERSON, RZ_OP_SET);
    fx_id(ahead.key, 7);
    /* The PC's own calendar says 2027: that date is in the future. */
    person_fields(&ahead, RZ_G_FEMALE, 2000, "Lahore", RZ_AREA_URBAN, RZ_SK_PRO, 20270310);
    fx_change_init(&fix, N_B, 2, FX_T0 + 2 * H, FX_T0 + H + H / 2, FX_T0 + 3 * H, RZ_T_PERSON,
                   RZ_OP_SET);
    fx_id(fix.key, 7);
    fx_set(&fix, RZ_PF_GENDER, rz_uint(RZ_G_MALE));
    fx_apply(&f, &fix);
    fx_apply(&f, &ahead);
    fx_commit(&f);
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_MALE), 1);
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_FEMALE), 0);
    /* No future period: the 2027 date counts under "unknown". */
    assert_int_equal(fx_nat(&f, REG, GY, 2027), 0);
    assert_int_equal(fx_nat(&f, REG, GM, 202703), 0);
    assert_int_equal(fx_nat(&f, REG, GM, 0), 1);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 1);
    /* The creation stamp is the clamped one: eff_ms = hi. */
    assert_int_equal(fx_scalar(&f, "SELECT hex(substr(created, 1, 6)) = printf('%012X', "
                                   "1773100800000 + 3600000) FROM st_person"),
                     1);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_person WHERE (bad >> 11) & 1"), 1);
    fx_check_sums(&f);
    fx_close(&f);
}

/* A PC reset to 1970 is lifted to the server time it last saw: it neither
 * loses to everything nor shows a 1970 date. */
static void
test_clamp_1970_clock(void **state)
{
    fx f;
    fx_change old, z, later, z2;
    (void)state;
    fx_open(&f);
    person_change(&old, N_A, 1, FX_T0 - 30 * D, 9, RZ_OP_SET);
    person_fields(&old, RZ_G_FEMALE, 1995, "Multan", RZ_AREA_RURAL, RZ_SK_BLUE, 20260208);
    fx_change_init(&z, N_C, 3, 5000, FX_T0 - D, FX_T0 + H, RZ_T_PERSON, RZ_OP_SET);
    fx_id(z.key, 9);
    fx_set(&z, RZ_PF_GENDER, rz_uint(RZ_G_MALE));
    fx_apply(&f, &z);
    fx_apply(&f, &old);
    fx_commit(&f);
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_MALE), 1);
    /* The place is still the real creator's (its stamp is lower). */
    assert_int_equal(by_centre(&f, REG, GA, 0, 1), 1);
    /* An edit made after the 1970 node's sync still wins over it. */
    person_change(&later, N_A, 1, FX_T0, 9, RZ_OP_SET);
    fx_set(&later, RZ_PF_GENDER, rz_uint(RZ_G_OTHER));
    fx_apply(&f, &later);
    fx_commit(&f);
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_OTHER), 1);
    /* A registration dated by the 1970 calendar counts under "unknown". */
    fx_change_init(&z2, N_C, 3, 6000, FX_T0 - D, FX_T0 + H, RZ_T_PERSON, RZ_OP_SET);
    fx_id(z2.key, 10);
    person_fields(&z2, RZ_G_FEMALE, 1990, "Quetta", RZ_AREA_URBAN, RZ_SK_PRO, 19700101);
    fx_apply(&f, &z2);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GY, 1970), 0);
    assert_int_equal(fx_nat(&f, REG, GY, 0), 1);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 2);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM totals WHERE grain < 3 AND period > 0"
                                   " AND period < 200000 AND grain = 0"),
                     0);
    fx_check_sums(&f);
    fx_close(&f);
}

/* ---- tombstones ---------------------------------------------------------- */

static void
test_delete_undelete(void **state)
{
    fx f, g;
    fx_change ch[5];
    uint8_t d1[32], d2[32];
    int i;
    (void)state;
    fx_open(&f);
    fx_open(&g);
    person_change(&ch[0], N_A, 1, FX_T0, 3, RZ_OP_SET);
    person_fields(&ch[0], RZ_G_FEMALE, 2001, "Lahore", RZ_AREA_RURAL, RZ_SK_WHITE, 20260310);
    person_change(&ch[1], N_A, 1, FX_T0 + H, 3, RZ_OP_DELETE);
    person_change(&ch[2], N_B, 2, FX_T0 + 2 * H, 3, RZ_OP_SET);
    fx_set(&ch[2], RZ_PF_GENDER, rz_uint(RZ_G_MALE));
    person_change(&ch[3], N_A, 1, FX_T0 + 3 * H, 3, RZ_OP_UNDELETE);
    person_change(&ch[4], N_B, 2, FX_T0 + 2 * H + H / 2, 3, RZ_OP_DELETE);

    fx_apply(&f, &ch[0]);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 1);
    fx_apply(&f, &ch[1]);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 0);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM totals"), 0);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_cluster"), 0);
    /* An edit does not revive a deleted record. */
    fx_apply(&f, &ch[2]);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 0);
    /* Only undelete does, and the edit made meanwhile shows. */
    fx_apply(&f, &ch[3]);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 1);
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_MALE), 1);
    /* A delete older than the undelete, arriving late, changes nothing. */
    fx_apply(&f, &ch[4]);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 1);
    fx_check_sums(&f);

    for (i = 4; i >= 0; i--)
        fx_apply(&g, &ch[i]);
    fx_commit(&g);
    fx_digest(&f, d1);
    fx_digest(&g, d2);
    assert_memory_equal(d1, d2, 32);
    fx_close(&f);
    fx_close(&g);
}

/* ---- attendance before its person / event ---------------------------------- */

static void
test_attendance_waits_for_person_and_event(void **state)
{
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    uint8_t first[32], d[32];
    int o, k;
    (void)state;
    for (o = 0; o < 6; o++) {
        fx f;
        fx_open(&f);
        for (k = 0; k < 3; k++) {
            switch (orders[o][k]) {
            case 0: attend(&f, N_A, 1, FX_T0 + 2 * H, 1, 5, 1); break;
            case 1: event(&f, N_A, 1, FX_T0 + H, 1, RZ_EK_WORKSHOP, 20260310); break;
            default: reg(&f, N_A, 1, FX_T0, 5, RZ_G_FEMALE, 2004, 20260309, MERGE_CNIC_ABSENT, 0);
            }
            fx_commit(&f);
            if (k < 2 && orders[o][k] != 1)
                assert_int_equal(fx_nat(&f, ATT, GA, 0), 0);
        }
        assert_int_equal(fx_nat(&f, ATT, GA, 0), 1);
        assert_int_equal(fx_nat(&f, ATT, GM, 202603), 1);
        assert_int_equal(fx_nat(&f, TRN, GQ, 20261), 1);
        assert_int_equal(fx_nat(&f, EVT, GY, 2026), 1);
        assert_int_equal(fx_tot(&f, ATT, GM, 202603, MERGE_D_KIND, "3", 0, NULL), 1);
        /* Trainee age in 2026: 22 -> band 20-24 (3). */
        assert_int_equal(fx_tot(&f, TRN, GY, 2026, MERGE_D_AGE, "3", 0, NULL), 1);
        fx_check_sums(&f);
        fx_digest(&f, o == 0 ? first : d);
        if (o > 0)
            assert_memory_equal(first, d, 32);
        fx_close(&f);
    }
}

/* ---- invalid values ----------------------------------------------------------- */

static void
test_invalid_values_count_as_unknown(void **state)
{
    fx f;
    fx_change c, fix, ev;
    (void)state;
    fx_open(&f);
    person_change(&c, N_A, 1, FX_T0, 11, RZ_OP_SET);
    fx_set(&c, RZ_PF_GENDER, rz_uint(9));
    fx_set(&c, RZ_PF_BIRTH_YEAR, rz_uint(1800));
    fx_set(&c, RZ_PF_DISTRICT, rz_str("   "));
    fx_set(&c, RZ_PF_AREA, rz_uint(7));
    fx_set(&c, RZ_PF_SKILL, rz_str("pro"));        /* wrong type */
    fx_set(&c, RZ_PF_REG_DATE, rz_uint(20260230)); /* no such day */
    fx_apply(&f, &c);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 1);
    assert_int_equal(by_gender(&f, REG, GA, 0, 0), 1);
    assert_int_equal(fx_tot(&f, REG, GA, 0, MERGE_D_AGE, "0", 0, NULL), 1);
    assert_int_equal(fx_tot(&f, REG, GA, 0, MERGE_D_AREA, "0", 0, NULL), 1);
    assert_int_equal(fx_tot(&f, REG, GA, 0, MERGE_D_SKILL, "0", 0, NULL), 1);
    assert_int_equal(fx_tot(&f, REG, GA, 0, MERGE_D_HOME, "", 0, NULL), 1);
    assert_int_equal(fx_nat(&f, REG, GM, 0), 1);
    assert_int_equal(fx_nat(&f, REG, GQ, 0), 1);
    /* Stored and flagged: the raw values are kept. */
    assert_int_equal(fx_scalar(&f, "SELECT bad FROM st_person"),
                     (1 << RZ_PF_GENDER) | (1 << RZ_PF_BIRTH_YEAR) | (1 << RZ_PF_DISTRICT) |
                         (1 << RZ_PF_AREA) | (1 << RZ_PF_SKILL) | (1 << RZ_PF_REG_DATE));
    assert_int_equal(fx_scalar(&f, "SELECT gender * 10000 + birth_year FROM st_person"), 91800);
    assert_int_equal(fx_scalar(&f, "SELECT skill = 'pro' FROM st_person"), 1);
    /* A later correction makes them count. */
    person_change(&fix, N_A, 1, FX_T0 + H, 11, RZ_OP_SET);
    person_fields(&fix, RZ_G_FEMALE, 1999, " d.g.  KHAN ", RZ_AREA_URBAN, RZ_SK_PRO, 20260310);
    fx_apply(&f, &fix);
    fx_commit(&f);
    assert_int_equal(by_gender(&f, REG, GA, 0, 0), 0);
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_FEMALE), 1);
    /* The official name of the master list, not "D.g. Khan". */
    assert_int_equal(fx_tot(&f, REG, GA, 0, MERGE_D_HOME, "Dera Ghazi Khan", 0, NULL), 1);
    assert_int_equal(fx_nat(&f, REG, GM, 0), 0);
    assert_int_equal(fx_nat(&f, REG, GM, 202603), 1);
    /* 2026 - 1999 = 27: band 25-29. */
    assert_int_equal(fx_tot(&f, REG, GM, 202603, MERGE_D_AGE, "4", 0, NULL), 1);
    assert_int_equal(fx_scalar(&f, "SELECT bad FROM st_person"), 0);
    /* Events: unknown kind, a date of the wrong type. */
    event_change(&ev, N_A, 1, FX_T0, 1, RZ_OP_SET);
    fx_set(&ev, RZ_EF_KIND, rz_uint(99));
    fx_set(&ev, RZ_EF_DATE, rz_str("2026-03-10"));
    fx_apply(&f, &ev);
    fx_commit(&f);
    assert_int_equal(fx_tot(&f, EVT, GA, 0, MERGE_D_KIND, "0", 0, NULL), 1);
    assert_int_equal(fx_nat(&f, EVT, GM, 0), 1);
    assert_int_equal(fx_nat(&f, EVT, GM, 202603), 0);
    fx_check_sums(&f);
    fx_close(&f);
}

/* ---- CNIC clusters -------------------------------------------------------------- */

static void
cnic_edit(fx *f, int node, int64_t centre, uint64_t ms, uint32_t pid, int state, uint32_t cnic)
{
    fx_change c;
    person_change(&c, node, centre, ms, pid, RZ_OP_SET);
    fx_cnic(&c, state, cnic);
    fx_apply(f, &c);
}

static void
test_cnic_clusters(void **state)
{
    fx f;
    fx_change del;
    (void)state;
    fx_open(&f);
    /* Same CNIC at Lahore (first) and Peshawar (a day later). */
    reg(&f, N_A, 1, FX_T0, 21, RZ_G_FEMALE, 1990, 20260310, MERGE_CNIC_VALID, 777);
    reg(&f, N_B, 2, FX_T0 + D, 22, RZ_G_MALE, 1990, 20260311, MERGE_CNIC_VALID, 777);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 1);
    assert_int_equal(by_centre(&f, REG, GA, 0, 1), 1);
    assert_int_equal(by_centre(&f, REG, GA, 0, 2), 0);
    assert_int_equal(fx_province(&f, REG, GA, 0, "Punjab", 0, 0), 1);
    /* Attributes: the stamp-winner across the records (Peshawar's, later). */
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_MALE), 1);
    /* Registration date: the earliest record's. */
    assert_int_equal(fx_scalar(&f, "SELECT reg_date FROM st_cluster"), 20260310);

    /* Both records attend: two attendances and one trainee nationally, each
     * attendance at the centre that ran its event. */
    event(&f, N_B, 2, FX_T0 + D, 1, RZ_EK_BOOTCAMP, 20260311);
    event(&f, N_A, 1, FX_T0 + D, 2, RZ_EK_TRAINING, 20260312);
    attend(&f, N_B, 2, FX_T0 + D + H, 1, 22, 1);
    attend(&f, N_A, 1, FX_T0 + D + H, 2, 21, 1);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GM, 202603), 2);
    assert_int_equal(fx_nat(&f, TRN, GM, 202603), 1);
    assert_int_equal(by_centre(&f, ATT, GM, 202603, 1), 1);
    assert_int_equal(by_centre(&f, ATT, GM, 202603, 2), 1);
    assert_int_equal(by_centre(&f, TRN, GM, 202603, 1), 1);
    assert_int_equal(by_centre(&f, TRN, GM, 202603, 2), 1);
    assert_int_equal(by_centre(&f, EVT, GM, 202603, 2), 1);

    /* Clearing the CNIC at Peshawar splits them. */
    cnic_edit(&f, N_B, 2, FX_T0 + 2 * D, 22, MERGE_CNIC_CLEARED, 0);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 2);
    assert_int_equal(by_centre(&f, REG, GA, 0, 2), 1);
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_FEMALE), 1);
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_MALE), 1);
    assert_int_equal(fx_nat(&f, TRN, GM, 202603), 2);
    assert_int_equal(by_centre(&f, ATT, GM, 202603, 2), 1);
    assert_int_equal(by_centre(&f, ATT, GM, 202603, 1), 1);
    fx_check_sums(&f);

    /* Setting it again links them again; an erased value links as before. */
    cnic_edit(&f, N_B, 2, FX_T0 + 3 * D, 22, MERGE_CNIC_ERASED, 777);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 1);
    assert_int_equal(fx_nat(&f, TRN, GA, 0), 1);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 2);

    /* Deleting the earliest record moves the person to the other place. */
    person_change(&del, N_A, 1, FX_T0 + 4 * D, 21, RZ_OP_DELETE);
    fx_apply(&f, &del);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 1);
    assert_int_equal(by_centre(&f, REG, GA, 0, 2), 1);
    assert_int_equal(fx_province(&f, REG, GA, 0, "Khyber Pakhtunkhwa", 0, 0), 1);
    assert_int_equal(fx_scalar(&f, "SELECT reg_date FROM st_cluster"), 20260311);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 1);

    /* An invalid CNIC never links. */
    reg(&f, N_C, 3, FX_T0 + 4 * D, 23, RZ_G_FEMALE, 2000, 20260314, MERGE_CNIC_INVALID, 777);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 2);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_person WHERE link IS NOT NULL"), 1);
    fx_check_sums(&f);
    fx_close(&f);
}

/* ---- where a figure happened ------------------------------------------------------ */

/* The changes of the event-centre scenario, in the order a day of syncs
 * would bring them.  Person 51 registers at Lahore (centre 1, Punjab),
 * person 52 at Quetta (centre 4).  Events (each logged on or after its
 * date, so the date is valid): 1 by Peshawar (centre 2, KP) on
 * 12 Mar, 2 by Multan (centre 3, Punjab) on 14 Mar, 3 by Lahore on 2 Apr,
 * 4 by Peshawar on 20 Mar.  Person 51 attends 1 (the attendance written at
 * Lahore: the writer's centre does not matter), 2 and 3; person 52 attends
 * 4, whose event arrives after the attendance. */
static size_t
event_centre_changes(fx_change *c)
{
    size_t n = 0;
    person_change(&c[n], N_A, 1, FX_T0, 51, RZ_OP_SET);
    person_fields(&c[n++], RZ_G_FEMALE, 2000, "Lahore", RZ_AREA_URBAN, RZ_SK_PRO, 20260310);
    person_change(&c[n], 4, 4, FX_T0, 52, RZ_OP_SET);
    person_fields(&c[n++], RZ_G_MALE, 1999, "Quetta", RZ_AREA_RURAL, RZ_SK_BLUE, 20260310);
    event_change(&c[n], N_B, 2, FX_T0 + D, 1, RZ_OP_SET);
    fx_set(&c[n], RZ_EF_KIND, rz_uint(RZ_EK_BOOTCAMP));
    fx_set(&c[n++], RZ_EF_DATE, rz_uint(20260312));
    event_change(&c[n], N_C, 3, FX_T0 + 4 * D, 2, RZ_OP_SET);
    fx_set(&c[n], RZ_EF_KIND, rz_uint(RZ_EK_TRAINING));
    fx_set(&c[n++], RZ_EF_DATE, rz_uint(20260314));
    event_change(&c[n], N_A, 1, FX_T0 + 23 * D, 3, RZ_OP_SET);
    fx_set(&c[n], RZ_EF_KIND, rz_uint(RZ_EK_WORKSHOP));
    fx_set(&c[n++], RZ_EF_DATE, rz_uint(20260402));
    attend_change(&c[n], N_A, 1, FX_T0 + 2 * D, 1, 51, RZ_OP_SET);
    fx_set(&c[n++], RZ_AF_PRESENT, rz_bool(1));
    attend_change(&c[n], N_C, 3, FX_T0 + 2 * D, 2, 51, RZ_OP_SET);
    fx_set(&c[n++], RZ_AF_PRESENT, rz_bool(1));
    attend_change(&c[n], N_A, 1, FX_T0 + 3 * D, 3, 51, RZ_OP_SET);
    fx_set(&c[n++], RZ_AF_PRESENT, rz_bool(1));
    attend_change(&c[n], 4, 4, FX_T0 + 2 * D, 4, 52, RZ_OP_SET);
    fx_set(&c[n++], RZ_AF_PRESENT, rz_bool(1));
    event_change(&c[n], N_B, 2, FX_T0 + 10 * D, 4, RZ_OP_SET);
    fx_set(&c[n], RZ_EF_KIND, rz_uint(RZ_EK_SEMINAR));
    fx_set(&c[n++], RZ_EF_DATE, rz_uint(20260320));
    return n;
}

/* DESIGN "Where a figure happened": registrations count at the person's
 * place, attendance and trainee figures at the centre that ran the event
 * (the centre of the node that created it); a person trained at three
 * centres is a unique trainee at each, and once nationally. */
static void
test_counts_at_the_event_centre(void **state)
{
    fx f, g;
    fx_change c[16], fix, del;
    uint8_t d1[32], d2[32];
    size_t n, i;
    char fem[8];
    (void)state;
    fx_open(&f);
    n = event_centre_changes(c);
    /* Everything but event 4: person 52's attendance waits for it. */
    for (i = 0; i + 1 < n; i++)
        fx_apply(&f, &c[i]);
    fx_commit(&f);
    assert_int_equal(by_centre(&f, REG, GA, 0, 1), 1);
    assert_int_equal(by_centre(&f, REG, GA, 0, 2), 0);
    assert_int_equal(by_centre(&f, REG, GA, 0, 4), 1);
    assert_int_equal(by_centre(&f, ATT, GM, 202603, 1), 0);
    assert_int_equal(by_centre(&f, ATT, GM, 202603, 2), 1);
    assert_int_equal(by_centre(&f, ATT, GM, 202603, 3), 1);
    assert_int_equal(by_centre(&f, ATT, GM, 202604, 1), 1);
    assert_int_equal(by_centre(&f, ATT, GA, 0, 4), 0);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 3);
    assert_int_equal(fx_province(&f, ATT, GA, 0, "Punjab", 0, 0), 2);
    assert_int_equal(fx_province(&f, ATT, GA, 0, "Khyber Pakhtunkhwa", 0, 0), 1);
    /* One trainee nationally; one at each centre that trained her. */
    assert_int_equal(fx_nat(&f, TRN, GM, 202603), 1);
    assert_int_equal(by_centre(&f, TRN, GM, 202603, 1), 0);
    assert_int_equal(by_centre(&f, TRN, GM, 202603, 2), 1);
    assert_int_equal(by_centre(&f, TRN, GM, 202603, 3), 1);
    assert_int_equal(by_centre(&f, TRN, GQ, 20261, 1), 0);
    assert_int_equal(by_centre(&f, TRN, GQ, 20262, 1), 1);
    assert_int_equal(fx_nat(&f, TRN, GY, 2026), 1);
    assert_int_equal(by_centre(&f, TRN, GY, 2026, 1), 1);
    assert_int_equal(by_centre(&f, TRN, GY, 2026, 2), 1);
    assert_int_equal(by_centre(&f, TRN, GY, 2026, 3), 1);
    assert_int_equal(fx_nat(&f, TRN, GA, 0), 1);
    assert_int_equal(by_centre(&f, TRN, GA, 0, 1), 1);
    assert_int_equal(by_centre(&f, TRN, GA, 0, 4), 0);
    /* Lahore and Multan are both Punjab: one Punjab trainee, not two;
     * Peshawar makes her a Khyber Pakhtunkhwa trainee as well. */
    assert_int_equal(fx_tot(&f, TRN, GA, 0, MERGE_D_PROVINCE, "Punjab", 0, NULL), 1);
    assert_int_equal(fx_tot(&f, TRN, GA, 0, MERGE_D_PROVINCE, "Khyber Pakhtunkhwa", 0, NULL), 1);
    assert_int_equal(fx_tot(&f, TRN, GM, 202603, MERGE_D_PROVINCE, "Punjab", 0, NULL), 1);
    assert_int_equal(fx_tot(&f, TRN, GM, 202604, MERGE_D_PROVINCE, "Punjab", 0, NULL), 1);
    assert_int_equal(fx_tot(&f, TRN, GQ, 20262, MERGE_D_PROVINCE, "Khyber Pakhtunkhwa", 0, NULL),
                     0);
    assert_int_equal(fx_tot(&f, TRN, GA, 0, MERGE_D_DISTRICT, "Lahore", 0, NULL), 1);
    assert_int_equal(fx_tot(&f, TRN, GA, 0, MERGE_D_DISTRICT, "Quetta", 0, NULL), 0);
    /* Programmes: Lahore and Multan e-Rozgar (1), Peshawar Innovista (2). */
    assert_int_equal(fx_tot(&f, TRN, GY, 2026, MERGE_D_PROGRAMME, "1", 0, NULL), 1);
    assert_int_equal(fx_tot(&f, TRN, GY, 2026, MERGE_D_PROGRAMME, "2", 0, NULL), 1);
    assert_int_equal(fx_tot(&f, TRN, GA, 0, MERGE_D_PROVINCE, "Punjab", MERGE_D_CENTRE, "3"), 1);
    snprintf(fem, sizeof fem, "%d", RZ_G_FEMALE);
    assert_int_equal(fx_tot(&f, TRN, GA, 0, MERGE_D_CENTRE, "2", MERGE_D_GENDER, fem), 1);
    assert_int_equal(fx_tot(&f, ATT, GA, 0, MERGE_D_CENTRE, "3", MERGE_D_GENDER, fem), 1);
    /* Age, gender and home stay the person's. */
    assert_int_equal(fx_tot(&f, ATT, GA, 0, MERGE_D_CENTRE, "2", MERGE_D_HOME, "Lahore"), 1);
    fx_check_sums(&f);

    /* Event 4 arrives: the attendance kept for it counts at Peshawar. */
    fx_apply(&f, &c[n - 1]);
    fx_commit(&f);
    assert_int_equal(by_centre(&f, ATT, GA, 0, 2), 2);
    assert_int_equal(by_centre(&f, ATT, GA, 0, 4), 0);
    assert_int_equal(by_centre(&f, TRN, GM, 202603, 2), 2);
    assert_int_equal(fx_nat(&f, TRN, GA, 0), 2);
    assert_int_equal(fx_tot(&f, TRN, GM, 202603, MERGE_D_PROVINCE, "Khyber Pakhtunkhwa", 0, NULL),
                     2);

    /* Any order, any batching: the same tables. */
    fx_open(&g);
    for (i = n; i-- > 0;) {
        fx_apply(&g, &c[i]);
        if (i % 3 == 0)
            fx_commit(&g);
    }
    fx_commit(&g);
    fx_digest(&f, d1);
    fx_digest(&g, d2);
    assert_memory_equal(d1, d2, 32);
    fx_close(&g);

    /* Multan wrote to event 1 before Peshawar created it (an earlier stamp):
     * the event is Multan's, and its attendance moves there. */
    event_change(&fix, N_C, 3, FX_T0, 1, RZ_OP_SET);
    fx_set(&fix, RZ_EF_TITLE, rz_str("Bootcamp"));
    fx_apply(&f, &fix);
    fx_commit(&f);
    assert_int_equal(by_centre(&f, EVT, GA, 0, 2), 1);
    assert_int_equal(by_centre(&f, EVT, GA, 0, 3), 2);
    assert_int_equal(by_centre(&f, ATT, GM, 202603, 2), 1);
    assert_int_equal(by_centre(&f, ATT, GM, 202603, 3), 2);
    assert_int_equal(by_centre(&f, TRN, GM, 202603, 3), 1);
    assert_int_equal(by_centre(&f, TRN, GM, 202603, 2), 1);
    assert_int_equal(fx_nat(&f, TRN, GM, 202603), 2);
    assert_int_equal(fx_tot(&f, TRN, GM, 202603, MERGE_D_PROVINCE, "Khyber Pakhtunkhwa", 0, NULL),
                     1);
    assert_int_equal(fx_tot(&f, TRN, GM, 202603, MERGE_D_PROVINCE, "Punjab", 0, NULL), 1);
    fx_check_sums(&f);

    /* Multan deletes event 2: person 51 still trained there (event 1). */
    event_change(&del, N_C, 3, FX_T0 + 30 * D, 2, RZ_OP_DELETE);
    fx_apply(&f, &del);
    fx_commit(&f);
    assert_int_equal(by_centre(&f, ATT, GA, 0, 3), 1);
    assert_int_equal(by_centre(&f, TRN, GA, 0, 3), 1);
    /* ... and then event 1: no trainee at Multan any more. */
    event_change(&del, N_C, 3, FX_T0 + 30 * D, 1, RZ_OP_DELETE);
    fx_apply(&f, &del);
    fx_commit(&f);
    assert_int_equal(by_centre(&f, TRN, GA, 0, 3), 0);
    assert_int_equal(by_centre(&f, ATT, GA, 0, 3), 0);
    assert_int_equal(by_centre(&f, TRN, GA, 0, 1), 1);
    assert_int_equal(fx_tot(&f, TRN, GA, 0, MERGE_D_DISTRICT, "Multan", 0, NULL), 0);
    assert_int_equal(fx_tot(&f, TRN, GA, 0, MERGE_D_PROVINCE, "Punjab", 0, NULL), 1);
    assert_int_equal(fx_nat(&f, TRN, GA, 0), 2);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 2);
    fx_check_sums(&f);
    fx_close(&f);
}

/* ---- corrections ------------------------------------------------------------------ */

static void
test_corrections_move_totals_exactly(void **state)
{
    fx f;
    fx_change c, late;
    const uint64_t T = FX_T0 + 40 * D; /* 2026-04-19: every date below is past */
    (void)state;
    fx_open(&f);
    reg(&f, N_A, 1, T, 31, RZ_G_FEMALE, 2000, 20260331, MERGE_CNIC_VALID, 31);
    reg(&f, N_A, 1, T, 32, RZ_G_MALE, 2000, 20260401, MERGE_CNIC_VALID, 32);
    event(&f, N_A, 1, T, 1, RZ_EK_TRAINING, 20260331);
    attend(&f, N_A, 1, T, 1, 31, 1);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GQ, 20261), 1);
    assert_int_equal(fx_nat(&f, REG, GQ, 20262), 1);
    assert_int_equal(fx_nat(&f, ATT, GQ, 20261), 1);
    assert_int_equal(fx_nat(&f, TRN, GM, 202603), 1);

    /* Registration date corrected across the quarter boundary. */
    person_change(&c, N_A, 1, T + H, 31, RZ_OP_SET);
    fx_set(&c, RZ_PF_REG_DATE, rz_uint(20260401));
    fx_apply(&f, &c);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GQ, 20261), 0);
    assert_int_equal(fx_nat(&f, REG, GQ, 20262), 2);
    assert_int_equal(fx_nat(&f, REG, GM, 202603), 0);
    assert_int_equal(fx_nat(&f, REG, GM, 202604), 2);
    assert_int_equal(by_gender(&f, REG, GM, 202604, RZ_G_FEMALE), 1);

    /* Event date corrected: attendance and trainee move with it. */
    event(&f, N_A, 1, T + 2 * H, 1, RZ_EK_TRAINING, 20260402);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GM, 202603), 0);
    assert_int_equal(fx_nat(&f, ATT, GM, 202604), 1);
    assert_int_equal(fx_nat(&f, TRN, GQ, 20261), 0);
    assert_int_equal(fx_nat(&f, TRN, GQ, 20262), 1);
    assert_int_equal(fx_nat(&f, TRN, GY, 2026), 1);
    assert_int_equal(fx_nat(&f, EVT, GM, 202604), 1);

    /* Gender corrected: every breakdown follows. */
    person_change(&c, N_B, 2, T + 3 * H, 31, RZ_OP_SET);
    fx_set(&c, RZ_PF_GENDER, rz_uint(RZ_G_MALE));
    fx_apply(&f, &c);
    fx_commit(&f);
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_FEMALE), 0);
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_MALE), 2);
    assert_int_equal(by_gender(&f, TRN, GQ, 20262, RZ_G_MALE), 1);
    assert_int_equal(by_gender(&f, ATT, GM, 202604, RZ_G_MALE), 1);

    /* A late-arriving older edit loses. */
    person_change(&late, N_C, 3, T + 2 * H, 31, RZ_OP_SET);
    fx_set(&late, RZ_PF_GENDER, rz_uint(RZ_G_FEMALE));
    fx_apply(&f, &late);
    fx_commit(&f);
    assert_int_equal(by_gender(&f, REG, GA, 0, RZ_G_MALE), 2);

    /* Attendance marked absent, then the event deleted: totals drain. */
    attend(&f, N_A, 1, T + 4 * H, 1, 31, 0);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 0);
    assert_int_equal(fx_nat(&f, TRN, GA, 0), 0);
    attend(&f, N_A, 1, T + 5 * H, 1, 31, 1);
    event_change(&c, N_A, 1, T + 6 * H, 1, RZ_OP_DELETE);
    fx_apply(&f, &c);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 0);
    assert_int_equal(fx_nat(&f, EVT, GA, 0), 0);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_cluster_att"), 0);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM totals WHERE metric IN (2, 3, 4)"), 0);
    fx_check_sums(&f);
    fx_close(&f);
}

/* ---- replay, rollback ---------------------------------------------------------------- */

static void
replay_scenario(fx *f)
{
    reg(f, N_A, 1, FX_T0, 41, RZ_G_FEMALE, 2003, 20260310, MERGE_CNIC_VALID, 41);
    reg(f, N_B, 2, FX_T0 + H, 42, RZ_G_MALE, 1980, 20260310, MERGE_CNIC_VALID, 41);
    event(f, N_A, 1, FX_T0, 1, RZ_EK_FINLIT, 20260310);
    attend(f, N_A, 1, FX_T0, 1, 41, 1);
    attend(f, N_B, 2, FX_T0, 1, 42, 1);
    fx_commit(f);
}

static void
test_replay_is_idempotent(void **state)
{
    fx f, g;
    uint8_t d1[32], d2[32];
    (void)state;
    fx_open(&f);
    fx_open(&g);
    replay_scenario(&f);
    replay_scenario(&g);
    replay_scenario(&g);
    fx_digest(&f, d1);
    fx_digest(&g, d2);
    assert_memory_equal(d1, d2, 32);
    assert_int_equal(fx_nat(&g, ATT, GA, 0), 2);
    assert_int_equal(fx_nat(&g, TRN, GA, 0), 1);
    fx_close(&f);
    fx_close(&g);
}

static void
test_rollback_discards_deltas(void **state)
{
    fx f;
    uint8_t d1[32], d2[32];
    (void)state;
    fx_open(&f);
    replay_scenario(&f);
    fx_digest(&f, d1);
    /* A batch that fails half-way: nothing of it may stay, not even the
     * in-memory deltas, nor the person records' pending buckets (of one
     * merged and one not yet merged person). */
    reg(&f, N_C, 3, FX_T0 + D, 43, RZ_G_FEMALE, 2001, 20260311, MERGE_CNIC_ABSENT, 0);
    attend(&f, N_C, 3, FX_T0 + D, 1, 43, 1);
    attend(&f, N_C, 3, FX_T0 + D, 1, 44, 1);
    rz_db_rollback(f.db);
    merge_discard(f.m);
    f.in_tx = 0;
    fx_begin(&f);
    fx_commit(&f);
    fx_digest(&f, d2);
    assert_memory_equal(d1, d2, 32);
    reg(&f, N_C, 3, FX_T0 + D, 43, RZ_G_FEMALE, 2001, 20260311, MERGE_CNIC_ABSENT, 0);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, REG, GA, 0), 2);
    assert_int_equal(by_centre(&f, REG, GA, 0, 3), 1);
    fx_check_sums(&f);
    fx_close(&f);
}

static void
test_home_normalize(void **state)
{
    char out[MERGE_HOME_MAX + 1];
    char long_name[200];
    (void)state;
    assert_int_equal(merge_home_normalize(out, (const uint8_t *)"  dera ghazi  KHAN ", 19), 15);
    assert_string_equal(out, "Dera Ghazi Khan");
    /* Spellings and abbreviations are one district, under its official name. */
    assert_int_equal(merge_home_normalize(out, (const uint8_t *)"D.G. Khan", 9), 15);
    assert_string_equal(out, "Dera Ghazi Khan");
    assert_int_equal(merge_home_normalize(out, (const uint8_t *)"DG Khan", 7), 15);
    assert_string_equal(out, "Dera Ghazi Khan");
    assert_int_equal(merge_home_normalize(out, (const uint8_t *)"nawabshah", 9), 19);
    assert_string_equal(out, "Shaheed Benazirabad");
    /* Not a district of the list: unknown, never an invented name. */
    assert_int_equal(merge_home_normalize(out, (const uint8_t *)"Lahore Cantt", 12), 0);
    assert_string_equal(out, "");
    assert_int_equal(merge_home_normalize(out, (const uint8_t *)"   ", 3), 0);
    assert_int_equal(merge_home_normalize(out,
                                          (const uint8_t *)"a\x01"
                                                           "b",
                                          3),
                     0);
    memset(long_name, 'x', sizeof long_name);
    assert_int_equal(merge_home_normalize(out, (const uint8_t *)long_name, sizeof long_name), 0);
    assert_true(merge_metric_has_dim(MERGE_M_ATTENDANCES, MERGE_D_KIND));
    assert_false(merge_metric_has_dim(MERGE_M_TRAINEES, MERGE_D_KIND));
    assert_false(merge_metric_has_dim(MERGE_M_EVENTS, MERGE_D_GENDER));
}

/* ---- counter keys and the state store's layout -------------------------------- */

/* One integer key per counter (merge.h "Totals layout"): fields in key
 * order, a centre id too large for its field kept as text, and the view
 * `totals` giving back the values with their types. */
static void
test_counter_keys(void **state)
{
    fx f;
    int64_t a, b;
    (void)state;
    a = merge_counter_key(MERGE_M_TRAINEES, GQ, MERGE_D_CENTRE, MERGE_D_GENDER, 20261, 4, 2);
    b = merge_counter_key(MERGE_M_TRAINEES, GQ, MERGE_D_CENTRE, MERGE_D_GENDER, 20262, 0, 0);
    assert_true(a > 0 && a < b); /* a period's counters precede the next period's */
    assert_int_equal(merge_counter_key_period(a), 20261);
    assert_int_equal(merge_counter_key_period(merge_counter_key(4, GM, 0, 0, 999912, 0, 0)),
                     999912);
    /* An open end of a range is the last period a key holds. */
    assert_int_equal(merge_counter_key_period(merge_counter_key(1, GM, 0, 0, UINT32_MAX, 0, 0)),
                     MERGE_K_PERIOD_MAX);
    assert_true(merge_counter_key(MERGE_M_EVENTS, GA, MERGE_D_KIND, 0, 0, MERGE_K_VALUE_ESC, 0) <
                merge_counter_key(MERGE_M_EVENTS, GA, MERGE_D_KIND + 1, 0, 0, 0, 0));

    fx_open(&f);
    reg(&f, N_A, 40000, FX_T0, 1, RZ_G_FEMALE, 2001, 20260310, MERGE_CNIC_VALID, 11);
    reg(&f, N_B, 2, FX_T0, 2, RZ_G_MALE, 1990, 20260310, MERGE_CNIC_VALID, 12);
    /* Two more escaped centres in the same flush: their pending counters
     * share every key field and only the values tell them apart. */
    reg(&f, N_C, 50000, FX_T0 + 1000, 3, RZ_G_FEMALE, 2001, 20260310, MERGE_CNIC_VALID, 13);
    reg(&f, N_C, 40000, FX_T0 + 2000, 4, RZ_G_MALE, 1990, 20260310, MERGE_CNIC_VALID, 14);
    reg(&f, N_A, 40000, FX_T0 + 3000, 5, RZ_G_FEMALE, 2001, 20260310, MERGE_CNIC_VALID, 15);
    fx_commit(&f);
    assert_int_equal(by_centre(&f, REG, GA, 0, 40000), 3);
    assert_int_equal(by_centre(&f, REG, GM, 202603, 40000), 3);
    assert_int_equal(by_centre(&f, REG, GM, 202603, 50000), 1);
    assert_int_equal(fx_scalar(&f, "SELECT n FROM totals WHERE metric = 1 AND grain = 0"
                                   " AND period = 202603 AND d1 = 3 AND v1 = 40000 AND d2 = 5"
                                   " AND v2 = 1"),
                     2);
    assert_int_equal(by_centre(&f, REG, GA, 0, 2), 1);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM totals WHERE d1 = 3 AND v1 = 40000"
                                   " AND typeof(v1) = 'integer'"),
                     fx_scalar(&f, "SELECT count(*) FROM counters WHERE t1 = '40000'"));
    assert_true(fx_scalar(&f, "SELECT count(*) FROM counters WHERE t1 = '40000'") > 0);
    /* Home is text in the view, as it was stored before. */
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM totals WHERE d1 = 9"
                                   " AND typeof(v1) <> 'text'"),
                     0);
    assert_int_equal(fx_scalar(&f, "SELECT n FROM totals WHERE metric = 1 AND grain = 3"
                                   " AND d1 = 5 AND v1 = 1 AND d2 = 9 AND v2 = 'Lahore'"),
                     3);
    fx_check_sums(&f);
    fx_close(&f);
}

/* A flush writes its counters many to a statement (MG_UPSERT_ROWS): a
 * window that takes counters back to zero deletes them, whether they are
 * written in a full statement or one by one, and the rest stay exact. */
static void
test_counters_back_to_zero(void **state)
{
    fx f;
    fx_change del;
    uint32_t i;
    (void)state;
    fx_open(&f);
    /* 30 persons over 30 centres and two birth years: a few hundred
     * counters in one flush. */
    for (i = 0; i < 30; i++)
        reg(&f, N_A, 100 + i, FX_T0 + i * 1000, 100 + i, i % 2 ? RZ_G_FEMALE : RZ_G_MALE,
            1990 + (int)(i % 2), 20260310, MERGE_CNIC_VALID, 500 + i);
    fx_commit(&f);
    assert_true(fx_scalar(&f, "SELECT count(*) FROM counters") > 2 * 64);
    assert_int_equal(fx_scalar(&f, "SELECT n FROM totals WHERE metric = 1 AND grain = 3"
                                   " AND d1 = 0"),
                     30);
    /* Delete all but the last: every counter of the others goes to zero,
     * the shared ones (national, gender, home) go down. */
    for (i = 0; i < 29; i++) {
        person_change(&del, N_A, 100 + i, FX_T0 + D + i * 1000, 100 + i, RZ_OP_DELETE);
        fx_apply(&f, &del);
    }
    fx_commit(&f);
    assert_int_equal(fx_scalar(&f, "SELECT n FROM totals WHERE metric = 1 AND grain = 3"
                                   " AND d1 = 0"),
                     1);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM totals WHERE d1 = 3 AND v1 <> 129"), 0);
    assert_true(by_centre(&f, REG, GA, 0, 129) == 1);
    fx_check_sums(&f);
    fx_close(&f);
}

/* A state.db of the layout before counter keys (totals as a table, no
 * version) is reset on open: its state dropped and its positions back at
 * zero, so the merger counts the logs again; a newer layout is refused. */
static void
test_state_layout_upgrade(void **state)
{
    char dir[64], path[128], side[160];
    state_store *ss = NULL;
    sqlite3 *db = NULL;
    rz_error err;
    fx probe;
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/rz-state-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE merge_pos(node_id BLOB PRIMARY KEY, merged_seq INTEGER NOT NULL,"
                     " last_clock_ms INTEGER NOT NULL) WITHOUT ROWID;"
                     "INSERT INTO merge_pos VALUES(x'0102030405060708', 42, 1000);"
                     "CREATE TABLE st_person(id BLOB PRIMARY KEY) WITHOUT ROWID;"
                     "INSERT INTO st_person VALUES(x'01');"
                     "CREATE TABLE totals(metric, grain, period, d1, d2, v1, v2, n,"
                     " PRIMARY KEY(metric, grain, period, d1, d2, v1, v2)) WITHOUT ROWID;"
                     "INSERT INTO totals VALUES(1, 3, 0, 0, 0, 0, 0, 7);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(state_store_open_path(&ss, path, &err), 0);
    db = state_store_db(ss);
    memset(&probe, 0, sizeof probe);
    probe.db = db;
    assert_int_equal(fx_scalar(&probe, "SELECT count(*) FROM merge_pos"), 0);
    assert_int_equal(fx_scalar(&probe, "SELECT count(*) FROM st_person"), 0);
    assert_int_equal(fx_scalar(&probe, "SELECT count(*) FROM totals"), 0);
    assert_int_equal(fx_scalar(&probe, "SELECT count(*) FROM sqlite_master WHERE name = 'totals'"
                                       " AND type = 'view'"),
                     1);
    assert_int_equal(fx_scalar(&probe, "PRAGMA user_version"), 4);
    state_store_close(&ss);
    /* Layout 1 (buckets per cluster in a table, an index of attendances by
     * person) is reset the same way: buckets are per person record now,
     * and st_cluster_att is a view of them. */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP VIEW st_cluster_att;"
                                  "CREATE TABLE st_cluster_att(ckey BLOB NOT NULL, day INTEGER"
                                  " NOT NULL, kind INTEGER NOT NULL, centre INTEGER NOT NULL,"
                                  " n INTEGER NOT NULL, PRIMARY KEY(ckey, day, kind, centre))"
                                  " WITHOUT ROWID;"
                                  "INSERT INTO st_cluster_att VALUES(x'01', 20260101, 1, 1, 3);"
                                  "DROP TABLE st_person_att;"
                                  "INSERT INTO merge_pos VALUES(x'0102030405060708', 42, 1000);"
                                  "PRAGMA user_version = 1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(state_store_open_path(&ss, path, &err), 0);
    probe.db = state_store_db(ss);
    assert_int_equal(fx_scalar(&probe, "SELECT count(*) FROM merge_pos"), 0);
    assert_int_equal(fx_scalar(&probe, "SELECT count(*) FROM st_cluster_att"), 0);
    assert_int_equal(fx_scalar(&probe, "SELECT count(*) FROM sqlite_master WHERE type = 'view'"
                                       " AND name = 'st_cluster_att'"),
                     1);
    assert_int_equal(fx_scalar(&probe, "SELECT count(*) FROM sqlite_master"
                                       " WHERE name = 'st_attendance_person'"),
                     0);
    assert_int_equal(fx_scalar(&probe, "PRAGMA user_version"), 4);
    state_store_close(&ss);
    /* Layout 3 (a row per attendance, no st_event_att) is reset too: its
     * attendances are counted again into rows per event. */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE st_event_att;"
                                  "INSERT INTO st_attendance VALUES(x'01', x'02', x'00', 0, 0, 1);"
                                  "INSERT INTO merge_pos VALUES(x'0102030405060708', 42, 1000);"
                                  "PRAGMA user_version = 3;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(state_store_open_path(&ss, path, &err), 0);
    probe.db = state_store_db(ss);
    assert_int_equal(fx_scalar(&probe, "SELECT count(*) FROM merge_pos"), 0);
    assert_int_equal(fx_scalar(&probe, "SELECT count(*) FROM st_attendance"), 0);
    assert_int_equal(fx_scalar(&probe, "SELECT count(*) FROM st_event_att"), 0);
    assert_int_equal(fx_scalar(&probe, "PRAGMA user_version"), 4);
    state_store_close(&ss);
    /* Opening again keeps what is there. */
    assert_int_equal(state_store_open_path(&ss, path, &err), 0);
    assert_int_equal(
        rz_db_exec(state_store_db(ss),
                   "INSERT INTO merge_pos VALUES(x'01', 5, 0); PRAGMA user_version = 9;", &err),
        0);
    state_store_close(&ss);
    assert_int_equal(state_store_open_path(&ss, path, &err), RZ_E_VERSION);
    assert_non_null(strstr(err.text, "newer"));
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path), unlink(side);
    snprintf(side, sizeof side, "%s-shm", path), unlink(side);
    rmdir(dir);
}

/* ---- an event's attendance records in one row (merge_event_att.c) ------------- */

/* One record of an event's packed row, read by the format documented in
 * server/merge_event_att.c (parsed here independently of the server's
 * decoder). */
typedef struct ea_rec {
    uint32_t bad;   /* invalid fields */
    int deleted;    /* deleted flag */
    int type;       /* present's storage class */
    int64_t i;      /* INTEGER */
    char text[600]; /* TEXT / BLOB bytes, NUL-terminated here */
} ea_rec;

static uint32_t
ea_get(const uint8_t *p, int n)
{
    uint32_t v = 0;
    while (n--)
        v = v << 8 | *p++;
    return v;
}

/* Finds person pid in event eid's packed row: 1 found, 0 absent; checks
 * that the records are sorted by person id and that there are n of them. */
static int
ea_find(fx *f, uint32_t eid, uint32_t pid, ea_rec *out)
{
    sqlite3_stmt *st;
    uint8_t id[16], want[16], prev[16];
    int found = 0, count = 0;
    fx_id(id, 0x10000 + eid);
    fx_id(want, pid);
    assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT n, b FROM st_event_att WHERE event_id = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const uint8_t *b = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1), k = 0;
        assert_non_null(b);
        while (k < len) {
            size_t end = k + 2 + ea_get(b + k, 2), q = k + 2 + 16;
            assert_true(end <= len);
            if (count)
                assert_true(memcmp(prev, b + k + 2, 16) < 0);
            memcpy(prev, b + k + 2, 16);
            count++;
            q += 1 + b[q]; /* stamps */
            if (memcmp(b + k + 2, want, 16) == 0) {
                found = 1;
                memset(out, 0, sizeof *out);
                out->bad = ea_get(b + q, 4);
                out->deleted = b[q + 4];
                out->type = b[q + 5];
                q += 6;
                if (out->type == SQLITE_INTEGER) {
                    out->i = (int64_t)(((uint64_t)ea_get(b + q, 4) << 32) | ea_get(b + q + 4, 4));
                } else if (out->type == SQLITE_TEXT || out->type == SQLITE_BLOB) {
                    size_t n = ea_get(b + q, 2);
                    assert_true(n < sizeof out->text);
                    memcpy(out->text, b + q + 2, n);
                }
            }
            k = end;
        }
        assert_int_equal(sqlite3_column_int64(st, 0), count);
    }
    sqlite3_finalize(st);
    return found;
}

static int64_t
ea_n(fx *f, uint32_t eid)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT n FROM st_event_att WHERE hex(event_id) = '01900000000000000000000000%06X'",
             0x10000 + eid);
    return fx_scalar(f, sql);
}

static int64_t
ea_packed(fx *f, uint32_t eid)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT b IS NOT NULL FROM st_event_att"
             " WHERE hex(event_id) = '01900000000000000000000000%06X'",
             0x10000 + eid);
    return fx_scalar(f, sql);
}

/* The same (event, person) corrected within one window and across windows:
 * the later stamp wins whatever the order, an older correction loses. */
static void
evatt_lww_scenario(fx *f, int windows)
{
    reg(f, N_A, 1, FX_T0, 51, RZ_G_FEMALE, 2000, 20260301, MERGE_CNIC_ABSENT, 0);
    event(f, N_A, 1, FX_T0, 1, RZ_EK_WORKSHOP, 20260302);
    attend(f, N_A, 1, FX_T0 + 2 * H, 1, 51, 1);
    if (windows)
        fx_commit(f);
    /* An older correction (absent, an hour earlier) arrives later: loses. */
    attend(f, N_B, 2, FX_T0 + H, 1, 51, 0);
    if (windows) {
        fx_commit(f);
        assert_int_equal(fx_nat(f, ATT, GA, 0), 1);
    }
    /* A newer one wins, and the newest after it wins again. */
    attend(f, N_B, 2, FX_T0 + 3 * H, 1, 51, 0);
    if (windows) {
        fx_commit(f);
        assert_int_equal(fx_nat(f, ATT, GA, 0), 0);
    }
    attend(f, N_A, 1, FX_T0 + 4 * H, 1, 51, 1);
    attend(f, N_B, 2, FX_T0 + 3 * H + H / 2, 1, 51, 0); /* older again */
    fx_commit(f);
}

static void
test_evatt_lww(void **state)
{
    fx f, g;
    ea_rec r;
    uint8_t d1[32], d2[32];
    (void)state;
    fx_open(&f);
    fx_open(&g);
    evatt_lww_scenario(&f, 0); /* one window */
    evatt_lww_scenario(&g, 1); /* a window per change */
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 1);
    assert_int_equal(fx_nat(&g, ATT, GA, 0), 1);
    assert_int_equal(fx_nat(&f, TRN, GM, 202603), 1);
    assert_int_equal(ea_find(&f, 1, 51, &r), 1);
    assert_int_equal(r.type, SQLITE_INTEGER);
    assert_int_equal(r.i, 1);
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.deleted, 0);
    assert_int_equal(ea_n(&f, 1), 1);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_attendance"), 0);
    fx_digest(&f, d1);
    fx_digest(&g, d2);
    assert_memory_equal(d1, d2, 32);
    fx_check_sums(&f);
    fx_close(&f);
    fx_close(&g);
}

/* A present value that is not a boolean is stored as received and flagged,
 * and does not count; deleting and undeleting an attendance is a flag. */
static void
test_evatt_invalid_present(void **state)
{
    fx f;
    fx_change c;
    ea_rec r;
    (void)state;
    fx_open(&f);
    reg(&f, N_A, 1, FX_T0, 61, RZ_G_MALE, 1999, 20260301, MERGE_CNIC_ABSENT, 0);
    reg(&f, N_A, 1, FX_T0, 62, RZ_G_MALE, 1999, 20260301, MERGE_CNIC_ABSENT, 0);
    event(&f, N_A, 1, FX_T0, 2, RZ_EK_WORKSHOP, 20260302);
    attend_change(&c, N_A, 1, FX_T0 + H, 2, 61, RZ_OP_SET);
    fx_set(&c, RZ_AF_PRESENT, rz_str("yes"));
    fx_apply(&f, &c);
    attend_change(&c, N_A, 1, FX_T0 + H, 2, 62, RZ_OP_SET);
    fx_set(&c, RZ_AF_PRESENT, rz_uint(1)); /* an integer, not a boolean */
    fx_apply(&f, &c);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 0);
    assert_int_equal(ea_find(&f, 2, 61, &r), 1);
    assert_int_equal(r.type, SQLITE_TEXT);
    assert_string_equal(r.text, "yes");
    assert_int_equal(r.bad, 1u << RZ_AF_PRESENT);
    assert_int_equal(ea_find(&f, 2, 62, &r), 1);
    assert_int_equal(r.type, SQLITE_INTEGER);
    assert_int_equal(r.i, 1);
    assert_int_equal(r.bad, 1u << RZ_AF_PRESENT);
    /* A valid correction counts; a delete stops it, an undelete restores. */
    attend(&f, N_A, 1, FX_T0 + 2 * H, 2, 61, 1);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 1);
    attend_change(&c, N_A, 1, FX_T0 + 3 * H, 2, 61, RZ_OP_DELETE);
    fx_apply(&f, &c);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 0);
    assert_int_equal(ea_find(&f, 2, 61, &r), 1);
    assert_int_equal(r.deleted, 1);
    assert_int_equal(r.bad, 0);
    attend_change(&c, N_A, 1, FX_T0 + 4 * H, 2, 61, RZ_OP_UNDELETE);
    fx_apply(&f, &c);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 1);
    /* A delete of an attendance never merged creates its record, present
     * never set: NULL, as st_attendance stored it. */
    attend_change(&c, N_A, 1, FX_T0 + 4 * H, 2, 63, RZ_OP_DELETE);
    fx_apply(&f, &c);
    fx_commit(&f);
    assert_int_equal(ea_find(&f, 2, 63, &r), 1);
    assert_int_equal(r.type, SQLITE_NULL);
    assert_int_equal(ea_n(&f, 2), 3);
    /* The event moves: only the counting attendance moves with it, not the
     * flagged integer 1 nor the deleted-only record. */
    event(&f, N_A, 1, FX_T0 + 5 * H, 2, RZ_EK_WORKSHOP, 20260220);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GM, 202603), 0);
    assert_int_equal(fx_nat(&f, ATT, GM, 202602), 1);
    fx_check_sums(&f);
    fx_close(&f);
}

/* An event that grows past MG_EVATT_PACK_MAX (256) records moves them to
 * st_attendance once; its marker row counts them; totals stay exact, and
 * its records keep their last-writer-wins. */
static void
test_evatt_grows_to_rows(void **state)
{
    fx f;
    fx_change c;
    uint32_t i;
    int64_t present = 0;
    (void)state;
    fx_open(&f);
    event(&f, N_A, 1, FX_T0, 3, RZ_EK_BOOTCAMP, 20260303);
    for (i = 0; i < 300; i++) {
        if (i < 280)
            reg(&f, N_A, 1, FX_T0, 1000 + i, i % 2 ? RZ_G_MALE : RZ_G_FEMALE, 2000, 20260301,
                MERGE_CNIC_ABSENT, 0);
        /* Every 7th absent; the one with an invalid value does not count. */
        if (i == 100) {
            attend_change(&c, N_A, 1, FX_T0 + H, 3, 1000 + i, RZ_OP_SET);
            fx_set(&c, RZ_AF_PRESENT, rz_str("maybe"));
            fx_apply(&f, &c);
        } else {
            attend(&f, N_A, 1, FX_T0 + H, 3, 1000 + i, i % 7 != 0);
            present += i % 7 != 0 && i < 280;
        }
        if (i % 50 == 49)
            fx_commit(&f);
        if (i == 255) {
            fx_commit(&f);
            assert_int_equal(ea_packed(&f, 3), 1);
            assert_int_equal(ea_n(&f, 3), 256);
            assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_attendance"), 0);
        }
    }
    fx_commit(&f);
    assert_int_equal(ea_packed(&f, 3), 0);
    assert_int_equal(ea_n(&f, 3), 300);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_attendance"), 300);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_attendance WHERE present = 'maybe'"
                                   " AND bad = 2"),
                     1);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), present);
    assert_int_equal(fx_nat(&f, TRN, GA, 0), present);
    /* Persons 280..299 arrive now: their attendances start counting. */
    for (i = 280; i < 300; i++)
        reg(&f, N_B, 2, FX_T0 + 2 * H, 1000 + i, RZ_G_MALE, 2001, 20260301, MERGE_CNIC_ABSENT, 0);
    fx_commit(&f);
    for (i = 280; i < 300; i++)
        present += i % 7 != 0;
    assert_int_equal(fx_nat(&f, ATT, GA, 0), present);
    /* A correction of a moved record, and an older one that loses. */
    attend(&f, N_B, 2, FX_T0 + 3 * H, 3, 1001, 0);
    attend(&f, N_B, 2, FX_T0 + H / 2, 3, 1002, 0);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), present - 1);
    assert_int_equal(ea_n(&f, 3), 300);
    /* The event's date moves: every counting attendance moves with it. */
    event(&f, N_A, 1, FX_T0 + 4 * H, 3, RZ_EK_BOOTCAMP, 20260220);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GM, 202603), 0);
    assert_int_equal(fx_nat(&f, ATT, GM, 202602), present - 1);
    fx_check_sums(&f);
    fx_close(&f);
}

/* An event whose date, kind or liveness changes re-attributes its counting
 * attendances: stored ones and those still pending in the window. */
static void
test_evatt_event_change_moves_pending(void **state)
{
    fx f;
    fx_change c;
    uint32_t i;
    (void)state;
    fx_open(&f);
    for (i = 0; i < 6; i++)
        reg(&f, N_A, 1, FX_T0, 70 + i, RZ_G_FEMALE, 2002, 20260301, MERGE_CNIC_ABSENT, 0);
    event(&f, N_A, 1, FX_T0, 4, RZ_EK_WORKSHOP, 20260304);
    attend(&f, N_A, 1, FX_T0 + H, 4, 70, 1);
    attend(&f, N_A, 1, FX_T0 + H, 4, 71, 1);
    attend(&f, N_A, 1, FX_T0 + H, 4, 72, 0);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GM, 202603), 2);
    /* Same window: more attendances (pending), then the date changes. */
    attend(&f, N_A, 1, FX_T0 + 2 * H, 4, 73, 1);
    attend(&f, N_A, 1, FX_T0 + 2 * H, 4, 74, 1);
    attend(&f, N_A, 1, FX_T0 + 2 * H, 4, 70, 0); /* a stored one corrected, pending */
    event(&f, N_A, 1, FX_T0 + 3 * H, 4, RZ_EK_WORKSHOP, 20260220);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GM, 202603), 0);
    assert_int_equal(fx_nat(&f, ATT, GM, 202602), 3);
    assert_int_equal(fx_tot(&f, ATT, GM, 202602, MERGE_D_KIND, "3", 0, NULL), 3);
    /* Kind changes in the window of a new attendance. */
    attend(&f, N_A, 1, FX_T0 + 4 * H, 4, 75, 1);
    event_change(&c, N_A, 1, FX_T0 + 5 * H, 4, RZ_OP_SET);
    fx_set(&c, RZ_EF_KIND, rz_uint(RZ_EK_TRAINING));
    fx_apply(&f, &c);
    fx_commit(&f);
    assert_int_equal(fx_tot(&f, ATT, GM, 202602, MERGE_D_KIND, "3", 0, NULL), 0);
    assert_int_equal(fx_tot(&f, ATT, GA, 0, MERGE_D_KIND, "1", 0, NULL), 4);
    /* Deleted with a pending attendance: nothing counts; undeleted: all. */
    attend(&f, N_A, 1, FX_T0 + 6 * H, 4, 72, 1);
    event_change(&c, N_A, 1, FX_T0 + 7 * H, 4, RZ_OP_DELETE);
    fx_apply(&f, &c);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 0);
    assert_int_equal(fx_nat(&f, TRN, GA, 0), 0);
    event_change(&c, N_A, 1, FX_T0 + 8 * H, 4, RZ_OP_UNDELETE);
    fx_apply(&f, &c);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 5);
    assert_int_equal(fx_nat(&f, TRN, GM, 202602), 5);
    fx_check_sums(&f);
    fx_close(&f);
}

/* merge_discard forgets the window's records: nothing of them is written,
 * and the next window starts from what is stored. */
static void
test_evatt_discard(void **state)
{
    fx f;
    uint8_t d1[32], d2[32];
    (void)state;
    fx_open(&f);
    reg(&f, N_A, 1, FX_T0, 81, RZ_G_MALE, 1998, 20260301, MERGE_CNIC_ABSENT, 0);
    event(&f, N_A, 1, FX_T0, 5, RZ_EK_WORKSHOP, 20260305);
    attend(&f, N_A, 1, FX_T0 + H, 5, 81, 1);
    fx_commit(&f);
    fx_digest(&f, d1);
    attend(&f, N_A, 1, FX_T0 + 2 * H, 5, 81, 0); /* stored event, changed */
    attend(&f, N_A, 1, FX_T0 + 2 * H, 5, 82, 1); /* a new record */
    attend(&f, N_A, 1, FX_T0 + 2 * H, 6, 81, 1); /* a new event */
    rz_db_rollback(f.db);
    merge_discard(f.m);
    f.in_tx = 0;
    fx_begin(&f);
    fx_commit(&f);
    fx_digest(&f, d2);
    assert_memory_equal(d1, d2, 32);
    assert_int_equal(ea_n(&f, 5), 1);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_event_att"), 1);
    /* The next window reads the stored record, not the forgotten one. */
    attend(&f, N_A, 1, FX_T0 + 2 * H, 5, 82, 1);
    fx_commit(&f);
    assert_int_equal(fx_nat(&f, ATT, GA, 0), 1);
    assert_int_equal(ea_n(&f, 5), 2);
    fx_check_sums(&f);
    fx_close(&f);
}

/* A stored row that is not the format is refused, never half-read. */
static void
test_evatt_corrupt_row(void **state)
{
    fx f;
    fx_change c;
    (void)state;
    fx_open(&f);
    fx_exec(&f, "INSERT INTO st_event_att VALUES(x'01900000000000000000000000010007', 1,"
                " x'00ff0102');"
                "INSERT INTO st_event_att VALUES(x'01900000000000000000000000010008', 3, NULL);");
    attend_change(&c, N_A, 1, FX_T0, 7, 91, RZ_OP_SET);
    fx_set(&c, RZ_AF_PRESENT, rz_bool(1));
    assert_int_equal(fx_apply_rc(&f, &c, 1), RZ_E_INTERNAL);
    attend_change(&c, N_A, 1, FX_T0, 8, 91, RZ_OP_SET); /* a marker below the bound */
    fx_set(&c, RZ_AF_PRESENT, rz_bool(1));
    assert_int_equal(fx_apply_rc(&f, &c, 1), RZ_E_INTERNAL);
    rz_db_rollback(f.db);
    merge_discard(f.m);
    f.in_tx = 0;
    fx_close(&f);
}

/* The window's records stay within their memory bound: past MG_EVATT_ARENA
 * bytes of encodings the rows are written mid-window (inside the same
 * transaction), and an event touched again after that is read back from its
 * row. */
static void
test_evatt_memory_bound(void **state)
{
    static char big[501];
    fx f;
    fx_change c;
    ea_rec r;
    uint32_t e, p;
    int64_t mid = 0;
    (void)state;
    memset(big, 'v', 500);
    fx_open(&f);
    /* 130 events x 240 records of a 500-byte (invalid) value: about 17 MB
     * of encodings in one window. */
    for (e = 0; e < 130; e++)
        for (p = 0; p < 240; p++) {
            attend_change(&c, N_A, 1, FX_T0 + e * 1000, 100 + e, 5000 + p, RZ_OP_SET);
            fx_set(&c, RZ_AF_PRESENT, rz_str(big));
            fx_apply(&f, &c);
            if (mid == 0)
                mid = fx_scalar(&f, "SELECT count(*) FROM st_event_att");
        }
    assert_true(mid > 0); /* written before the window ended */
    assert_true(fx_scalar(&f, "SELECT count(*) FROM st_event_att") < 130);
    /* The first event again, after its row was written: read back, and the
     * newer value wins over the stored one. */
    attend(&f, N_A, 1, FX_T0 + H, 100, 5000, 1);
    fx_commit(&f);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_event_att WHERE n = 240"), 130);
    assert_int_equal(ea_find(&f, 100, 5000, &r), 1);
    assert_int_equal(r.type, SQLITE_INTEGER);
    assert_int_equal(r.bad, 0);
    assert_int_equal(ea_find(&f, 100, 5001, &r), 1);
    assert_int_equal(r.type, SQLITE_TEXT);
    assert_int_equal(ea_find(&f, 229, 5239, &r), 1);
    assert_int_equal(r.bad, 1u << RZ_AF_PRESENT);
    assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_attendance"), 0);
    fx_close(&f);
}

/* ---- the layout is a function of the merged entries alone ---------------------- */

#define DT_MAX 800
static fx_change dt_ch[DT_MAX];
static size_t dt_n;

static fx_change *
dt_next(void)
{
    assert_true(dt_n < DT_MAX);
    return &dt_ch[dt_n++];
}

/* Registrations, a small event, one of 290 attendances split over nodes,
 * corrections (newer and older), invalid values, deletes, an event that
 * arrives after its attendances and one whose date and kind change. */
static void
dt_build(void)
{
    fx_change *c;
    uint32_t i;
    dt_n = 0;
    for (i = 0; i < 300; i++) {
        c = dt_next();
        person_change(c, i % 3 + 1, i % 3 + 1, FX_T0 + i * 1000, 2000 + i, RZ_OP_SET);
        person_fields(c, i % 2 ? RZ_G_MALE : RZ_G_FEMALE, 1990 + (int)(i % 15), "Lahore",
                      RZ_AREA_URBAN, RZ_SK_PRO, 20260301);
        if (i % 10 == 0)
            fx_cnic(c, MERGE_CNIC_VALID, 9000 + i % 30); /* a few shared CNICs */
    }
    for (i = 0; i < 3; i++) {
        c = dt_next();
        event_change(c, N_A, 1, FX_T0 + H, 10 + i, RZ_OP_SET);
        fx_set(c, RZ_EF_KIND, rz_uint(RZ_EK_WORKSHOP));
        fx_set(c, RZ_EF_DATE, rz_uint(20260305 + i));
    }
    for (i = 0; i < 290; i++) { /* event 11: past the bound */
        c = dt_next();
        attend_change(c, i % 2 ? N_A : N_B, i % 2 ? 1 : 2, FX_T0 + 2 * H + i * 1000, 11, 2000 + i,
                      RZ_OP_SET);
        if (i % 37 == 5)
            fx_set(c, RZ_AF_PRESENT, rz_str("x"));
        else
            fx_set(c, RZ_AF_PRESENT, rz_bool(i % 9 != 0));
    }
    for (i = 0; i < 40; i++) { /* event 10, small */
        c = dt_next();
        attend_change(c, N_C, 3, FX_T0 + 2 * H + i * 1000, 10, 2100 + i, RZ_OP_SET);
        fx_set(c, RZ_AF_PRESENT, rz_bool(i % 4 != 0));
    }
    for (i = 0; i < 30; i++) { /* event 13 before its event entry */
        c = dt_next();
        attend_change(c, N_A, 1, FX_T0 + 3 * H + i * 1000, 13, 2200 + i, RZ_OP_SET);
        fx_set(c, RZ_AF_PRESENT, rz_bool(1));
    }
    c = dt_next();
    event_change(c, N_B, 2, FX_T0 + 3 * H, 13, RZ_OP_SET);
    fx_set(c, RZ_EF_KIND, rz_uint(RZ_EK_TRAINING));
    fx_set(c, RZ_EF_DATE, rz_uint(20260308));
    for (i = 0; i < 60; i++) { /* corrections: newer, older, deletes */
        c = dt_next();
        attend_change(c, i % 2 ? N_A : N_C, i % 2 ? 1 : 3,
                      i % 3 ? FX_T0 + 5 * H + i * 1000 : FX_T0 + i * 1000, i % 2 ? 11 : 10,
                      2000 + (i % 2 ? i * 4 : 100 + i % 40), i % 5 == 4 ? RZ_OP_DELETE : RZ_OP_SET);
        if (i % 5 != 4)
            fx_set(c, RZ_AF_PRESENT, rz_bool(i % 3 == 1));
    }
    c = dt_next(); /* event 10 moves to February and to another kind */
    event_change(c, N_A, 1, FX_T0 + 6 * H, 10, RZ_OP_SET);
    fx_set(c, RZ_EF_DATE, rz_uint(20260215));
    fx_set(c, RZ_EF_KIND, rz_uint(RZ_EK_FINLIT));
    c = dt_next(); /* event 12 deleted, then attended */
    event_change(c, N_A, 1, FX_T0 + 6 * H, 12, RZ_OP_DELETE);
    for (i = 0; i < 10; i++) {
        c = dt_next();
        attend_change(c, N_A, 1, FX_T0 + 7 * H + i, 12, 2250 + i, RZ_OP_SET);
        fx_set(c, RZ_AF_PRESENT, rz_bool(1));
    }
}

/* Merges the entries in the given order, committing every `window`. */
static void
dt_merge(fx *f, const size_t *order, size_t window)
{
    size_t i;
    for (i = 0; i < dt_n; i++) {
        assert_int_equal(fx_apply_rc(f, &dt_ch[order ? order[i] : i], i + 1), 0);
        if ((i + 1) % window == 0)
            fx_commit(f);
    }
    fx_commit(f);
}

/* The same entries in windows of 1, 7 and all at once, in another order,
 * and with what is pending written mid-window every few entries (tiny
 * memory bounds, merge_set_flush_at): byte-identical state tables
 * (st_event_att, st_attendance, the records, clusters and counters), the
 * same totals, and a day index that agrees with the state. */
static void
test_evatt_layout_any_windows(void **state)
{
    /* Entries per commit; 0: in a fixed shuffled order, 13 per commit. */
    static const size_t windows[] = {100000, 1, 7, 0, 100000, 7};
    static const size_t flush_at[] = {0, 0, 0, 0, 3, 11};
    static size_t order[DT_MAX];
    uint8_t first[32], d[32];
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int64_t att = 0, diff = -1;
    size_t w, i;
    rz_error err;
    (void)state;
    dt_build();
    for (w = 0; w < 6; w++) {
        fx f;
        fx_open(&f);
        merge_set_flush_at(f.m, flush_at[w]);
        if (windows[w]) {
            dt_merge(&f, NULL, windows[w]);
        } else {
            for (i = 0; i < dt_n; i++)
                order[i] = i;
            for (i = dt_n - 1; i > 0; i--) { /* a fixed shuffle */
                size_t j, t;
                rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
                j = (size_t)((rng * 0x2545f4914f6cdd1dull) >> 33) % (i + 1);
                t = order[i], order[i] = order[j], order[j] = t;
            }
            dt_merge(&f, order, 13);
        }
        assert_int_equal(ea_packed(&f, 11), 0);
        assert_int_equal(ea_n(&f, 11), 290);
        assert_int_equal(ea_packed(&f, 10), 1);
        assert_int_equal(ea_n(&f, 10), 40);
        assert_int_equal(ea_n(&f, 13), 30);
        assert_int_equal(fx_scalar(&f, "SELECT count(*) FROM st_attendance"), 290);
        assert_true(fx_nat(&f, ATT, GM, 202602) > 0);
        fx_check_sums(&f);
        fx_digest(&f, w == 0 ? first : d);
        if (w == 0)
            att = fx_nat(&f, ATT, GA, 0);
        else
            assert_memory_equal(first, d, 32);
        assert_int_equal(fx_nat(&f, ATT, GA, 0), att);
        assert_int_equal(dayindex_check(f.db, NULL, &diff, &err), 0);
        assert_int_equal(diff, 0);
        fx_close(&f);
    }
    assert_true(att > 250);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lww_any_order),
        cmocka_unit_test(test_clamp_future_clock),
        cmocka_unit_test(test_clamp_1970_clock),
        cmocka_unit_test(test_delete_undelete),
        cmocka_unit_test(test_attendance_waits_for_person_and_event),
        cmocka_unit_test(test_invalid_values_count_as_unknown),
        cmocka_unit_test(test_cnic_clusters),
        cmocka_unit_test(test_counts_at_the_event_centre),
        cmocka_unit_test(test_corrections_move_totals_exactly),
        cmocka_unit_test(test_replay_is_idempotent),
        cmocka_unit_test(test_rollback_discards_deltas),
        cmocka_unit_test(test_home_normalize),
        cmocka_unit_test(test_counter_keys),
        cmocka_unit_test(test_counters_back_to_zero),
        cmocka_unit_test(test_state_layout_upgrade),
        cmocka_unit_test(test_evatt_lww),
        cmocka_unit_test(test_evatt_invalid_present),
        cmocka_unit_test(test_evatt_grows_to_rows),
        cmocka_unit_test(test_evatt_event_change_moves_pending),
        cmocka_unit_test(test_evatt_discard),
        cmocka_unit_test(test_evatt_corrupt_row),
        cmocka_unit_test(test_evatt_memory_bound),
        cmocka_unit_test(test_evatt_layout_any_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
