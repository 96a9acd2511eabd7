/*
 * node_form: turns what staff typed (a web form, command-line options, a
 * spreadsheet cell) into a person's or an event's fields, with a message in
 * plain words for each field that is wrong or doubtful, so the page can show
 * it next to that field and the command line can print it.  The web app, the
 * CLI and the import all call these functions: nothing is checked in one
 * place only.
 *
 * Two levels.  An ERROR refuses the record (a name missing, "abc" as a birth
 * year, an unknown gender, a date that is no date, text that is not clean
 * UTF-8 or too long).  A WARNING records the value as typed and says that
 * headquarters will count it as invalid until corrected (a CNIC that is not
 * 13 digits, a phone number that is not Pakistani, a birth year before 1920
 * or in the future): one bad value never blocks a centre.  Messages never
 * repeat a personal value, so they are safe to log.
 *
 * What it does not do: store anything (client/node_store.h) or look for
 * duplicates (client/node_find.h).  The fields it fills borrow the
 * node_form's copies of the texts (trimmed of outer blanks): keep the
 * node_form alive while the record is used.
 */
#ifndef RZ_NODE_FORM_H
#define RZ_NODE_FORM_H

#include <stddef.h>
#include <stdint.h>

#include "client/node_store.h"
#include "proto/wire.h"

#define NODE_FORM_FIELDS 16   /* above the highest person or event field id */
#define NODE_FORM_MSG_MAX 200 /* bytes of one message, NUL included */

enum node_form_level { NODE_FORM_OK = 0, NODE_FORM_WARN = 1, NODE_FORM_ERROR = 2 };

/* The verdict on one form: per field id (RZ_PF_* or RZ_EF_*). */
typedef struct node_form {
    uint8_t level[NODE_FORM_FIELDS];               /* node_form_level per field */
    char msg[NODE_FORM_FIELDS][NODE_FORM_MSG_MAX]; /* its message, "" when OK */
    int errors;                                    /* fields at NODE_FORM_ERROR */
    int warnings;                                  /* fields at NODE_FORM_WARN */
    char text[NODE_FORM_FIELDS][RZ_MAX_STR + 1];   /* trimmed copies the record borrows */
} node_form;

/* Reads a person form.  vals[RZ_PF_x] is the text of field x, NULL when the
 * form does not carry it (vals[0] is unused).  Outer blanks do not count.
 * For a new person (is_new 1) name and gender are required and an empty
 * text means "not given"; for a correction (is_new 0) an empty text clears
 * a clearable field (CNIC, phone, district, skills, platforms) and leaves
 * the others as they are.  Fills *fm and *p (borrowing fm); returns 0, or
 * RZ_E_ARG when any field has an error. */
int node_form_person(node_form *fm, node_person *p, const char *const vals[NODE_FORM_FIELDS],
                     int is_new) RZ_WUR;

/* The same for an event: kind, title and date are required when new;
 * dates as YYYY-MM-DD or DD/MM/YYYY; duration in minutes. */
int node_form_event(node_form *fm, node_event *e, const char *const vals[NODE_FORM_FIELDS],
                    int is_new) RZ_WUR;

/* Starts an empty verdict (node_form_person/_event do this themselves). */
void node_form_init(node_form *fm);
/* One field's value of a person or event from non-empty text (the CSV
 * import's path): sets the field in *p / *e, and its level and message in
 * *fm.  Returns 0, or RZ_E_ARG on an error. */
int node_form_person_field(node_form *fm, node_person *p, int field, const char *text) RZ_WUR;
int node_form_event_field(node_form *fm, node_event *e, int field, const char *text) RZ_WUR;

/* The first message at level or above, "" when none: for a one-line
 * report (CLI, import row). */
const char *node_form_first(const node_form *fm, int level);

/* Label of a field for messages and pages ("CNIC", "birth year"). */
const char *node_form_person_label(int field);
const char *node_form_event_label(int field);

#endif
