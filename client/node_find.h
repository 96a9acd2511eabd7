/*
 * node_find: the questions the centre's web app and the command line ask of
 * a node's records: find a person by part of a name, a CNIC or a phone
 * number; which records look like a person about to be saved (duplicates);
 * events upcoming and past; and one event's attendance list with its counts,
 * for ticking names.  Both callers use these functions, so a search gives
 * the same answer on the page and in a terminal.
 *
 * Matching: a name matches by substring of its UTF-8 bytes, case-insensitive
 * for ASCII letters (Urdu has no case); a CNIC by its digits with or without
 * dashes; a phone number by its digits in any common form (0300-1234567,
 * +92 300 1234567, 00923001234567); a short code or full id opens that
 * record.  Results come in pages (offset, limit) in a stable order.
 *
 * What it does not do: change records (client/node_store.h does), validate
 * input (client/node_form.h), or print anything.  Rows handed to callbacks
 * are borrowed and valid during the call only; callbacks return 0 to go on,
 * anything else stops the walk and is returned.  Reads run in the caller's
 * transaction if one is open, else each in SQLite's own snapshot.
 */
#ifndef RZ_NODE_FIND_H
#define RZ_NODE_FIND_H

#include <stddef.h>
#include <stdint.h>

#include "client/node_store.h"

#define NODE_FIND_LIMIT_MAX 1000 /* rows of one page at most */
#define NODE_FIND_TEXT_MAX 256   /* bytes of a search text at most */

/* Persons matching text (a part of a name, CNIC digits, phone digits, a
 * short code or id; NULL or "" matches everyone), by name then id.
 * include_deleted 0 skips deleted records.  fn gets rows
 * offset..offset+limit-1 (limit 0 or above NODE_FIND_LIMIT_MAX means
 * NODE_FIND_LIMIT_MAX); *total (may be NULL) gets the number of matches.
 * RZ_E_ARG when text is too long or not clean UTF-8. */
int node_find_persons(node_store *ns, const char *text, int include_deleted, size_t offset,
                      size_t limit, node_person_fn fn, void *ctx, size_t *total, rz_error *err)
    RZ_WUR;

/* Why a record looks like a duplicate (bits). */
#define NODE_DUP_CNIC 1u      /* same valid CNIC */
#define NODE_DUP_PHONE 2u     /* same valid phone number */
#define NODE_DUP_NAME_YEAR 4u /* same name (ASCII case and outer blanks aside) and birth year */
typedef int (*node_dup_fn)(void *ctx, const node_person_row *row, unsigned why);

/* Records at this node that look like p before it is saved: same CNIC, same
 * phone, or same name and birth year (only values p sets and that are
 * valid count).  Deleted records are included (row->deleted says so: the
 * app can offer to undelete).  exclude_id (may be NULL) is skipped: the
 * record being corrected.  fn gets at most NODE_FIND_LIMIT_MAX rows, with
 * the reasons; *count (may be NULL) gets how many matched. */
int node_find_duplicates(node_store *ns, const node_person *p,
                         const uint8_t exclude_id[NODE_REC_ID_BYTES], node_dup_fn fn, void *ctx,
                         size_t *count, rz_error *err) RZ_WUR;

/* Which events node_find_events lists. */
enum node_when {
    NODE_WHEN_ALL = 0,      /* every event, newest date first */
    NODE_WHEN_UPCOMING = 1, /* date >= today, soonest first */
    NODE_WHEN_PAST = 2      /* date < today, most recent first */
};
/* Events whose title contains text (as for names; NULL or "" for all; a
 * short code or id opens that one), chosen by when relative to today
 * (YYYYMMDD; 0 = today in Pakistan time).  Paging and *total as for
 * node_find_persons. */
int node_find_events(node_store *ns, const char *text, int when, uint32_t today,
                     int include_deleted, size_t offset, size_t limit, node_event_fn fn, void *ctx,
                     size_t *total, rz_error *err) RZ_WUR;

/* A person's state at one event. */
enum node_att_state {
    NODE_ATT_NONE = -1,  /* not marked (or the marking was deleted) */
    NODE_ATT_ABSENT = 0, /* marked absent */
    NODE_ATT_PRESENT = 1 /* marked present */
};
typedef int (*node_roster_fn)(void *ctx, const node_person_row *row, int state);

/* Counts of an event's attendance list. */
typedef struct node_roster_counts {
    size_t present;  /* live persons marked present */
    size_t absent;   /* live persons marked absent */
    size_t people;   /* live persons at this node */
    size_t matching; /* persons matching the search (and marked_only) */
} node_roster_counts;

/* The attendance list of event_id: the live persons of this node matching
 * text (as node_find_persons), each with its state, by name; marked_only 1
 * lists only those marked present or absent.  Paging as for
 * node_find_persons; *counts (may be NULL) gets the event's counts, which
 * do not depend on text or paging.  RZ_E_NOTFOUND when there is no such
 * event. */
int node_find_roster(node_store *ns, const uint8_t event_id[NODE_REC_ID_BYTES], const char *text,
                     int marked_only, size_t offset, size_t limit, node_roster_fn fn, void *ctx,
                     node_roster_counts *counts, rz_error *err) RZ_WUR;

#endif
