/*
 * node_import: spreadsheets (CSV) of people, events or attendance into the
 * node, as the centre's web app and `rozgar-node import` both do it.
 *
 * Reading: RFC 4180 (quoted cells may hold commas, quotes and line breaks),
 * UTF-8 with or without a byte-order mark, CRLF or LF, comma separated (a
 * semicolon or tab when the header has no comma).  A row with a NUL byte or
 * bad UTF-8 is refused with its line number (save the sheet as "CSV UTF-8").
 * Headers match in any case and spacing, with common synonyms ("Full Name",
 * "CNIC No", "Mobile", "DOB", "Year of birth", "M/F", ...); unknown columns
 * are listed and ignored.  Dates as YYYY-MM-DD or DD/MM/YYYY.  Values are
 * validated by client/node_form.h, as on the page.
 *
 * All or nothing: a first pass reads and checks every row; any bad row
 * means nothing is recorded and every bad row is reported with its line and
 * reason.  Otherwise a second pass records the rows in one transaction.  A
 * dry run does the second pass too and rolls it back, so its report says
 * exactly what the import would do.
 *
 * Nothing twice: a person row is recognised (and skipped) by its valid CNIC
 * already held here, by an id or short code column naming a record held
 * here (a re-imported export), or else by having been imported before with
 * the same content: a fingerprint of every imported row's values is kept in
 * the table import_row beside the log (the log format does not change).
 * Events and attendance rows are recognised by their fingerprints, and an
 * attendance also when it already has the same state.  A person row that
 * only resembles a person held here (same name and birth year, or same
 * phone) is recorded and listed as a possible duplicate, never merged.
 *
 * Attendance rows name the event by an "event" column (short code or id)
 * or by "event title" and "event date", and the person by a "person"
 * column (short code or id) or a CNIC; "present" (present/absent, yes/no,
 * P/A, 1/0) defaults to present.
 *
 * What it does not do: print (progress goes to a callback), or parse other
 * formats (.xlsx must be saved as CSV first).
 */
#ifndef RZ_NODE_IMPORT_H
#define RZ_NODE_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/node_store.h"

enum node_import_kind {
    NODE_IMPORT_PEOPLE = 1,    /* persons */
    NODE_IMPORT_EVENTS = 2,    /* events */
    NODE_IMPORT_ATTENDANCE = 3 /* attendance of persons at events */
};

#define NODE_IMPORT_MAX_COLS 64      /* columns of a file at most */
#define NODE_IMPORT_CELL_MAX 4096    /* bytes of one cell at most */
#define NODE_IMPORT_PREVIEW_ROWS 5   /* first rows kept for the preview */
#define NODE_IMPORT_MAX_PROBLEMS 200 /* problems kept (the rest are counted) */
#define NODE_IMPORT_MAX_DUPS 200     /* possible duplicates kept */
#define NODE_IMPORT_HEADER_MAX 64    /* bytes kept of a header */
#define NODE_IMPORT_REASON_MAX 200   /* bytes of a problem's reason */

/* Column ids of attendance files (people and events use RZ_PF_* / RZ_EF_*). */
enum node_import_att_col {
    NODE_IA_EVENT = 1,       /* event short code or id */
    NODE_IA_EVENT_TITLE = 2, /* event title (with the date) */
    NODE_IA_EVENT_DATE = 3,  /* event date */
    NODE_IA_PERSON = 4,      /* person short code or id */
    NODE_IA_CNIC = 5,        /* person's CNIC */
    NODE_IA_PRESENT = 6,     /* present / absent */
    NODE_IA_NAME = 7         /* person's name: read for people, not imported */
};
/* Column id of an id / short code column in people and events files. */
#define NODE_IMPORT_COL_ID 15

/* One column of the file. */
typedef struct node_import_column {
    char header[NODE_IMPORT_HEADER_MAX]; /* as written in the file (cut to fit) */
    int field;                           /* RZ_PF_*, RZ_EF_*, NODE_IA_* or
                                            NODE_IMPORT_COL_ID; 0 = ignored */
    const char *field_name;              /* what it was matched to, "" if ignored */
} node_import_column;

/* A bad row (or a warning about a row that is recorded anyway). */
typedef struct node_import_problem {
    unsigned long line;                  /* line in the file where the row starts */
    int warning;                         /* 1: recorded anyway; 0: refused */
    char reason[NODE_IMPORT_REASON_MAX]; /* plain words; no personal value */
} node_import_problem;

/* A recorded row that resembles a person already held (never merged). */
typedef struct node_import_dup {
    unsigned long line;            /* the row */
    uint8_t id[NODE_REC_ID_BYTES]; /* the person it resembles */
    char code[NODE_CODE_MAX];      /* that person's short code */
    unsigned why;                  /* NODE_DUP_* bits (client/node_find.h) */
} node_import_dup;

/* What an import found and did.  Zero it before the first use; free with
 * node_import_report_free. */
typedef struct node_import_report {
    int kind;                                                      /* enum node_import_kind */
    size_t ncols;                                                  /* columns in the header */
    node_import_column cols[NODE_IMPORT_MAX_COLS];                 /* how each was matched */
    size_t npreview;                                               /* preview rows kept */
    unsigned long preview_line[NODE_IMPORT_PREVIEW_ROWS];          /* their lines */
    char *preview[NODE_IMPORT_PREVIEW_ROWS][NODE_IMPORT_MAX_COLS]; /* cells (owned) */
    unsigned long rows;            /* data rows (blank lines not counted) */
    unsigned long bad;             /* rows refused */
    unsigned long warned;          /* rows recorded with a warning */
    unsigned long added;           /* rows recorded (dry run: that would be) */
    unsigned long known;           /* rows recognised as already here, skipped */
    unsigned long ndups_all;       /* possible duplicates, all of them */
    size_t nproblems;              /* problems kept */
    node_import_problem *problems; /* first NODE_IMPORT_MAX_PROBLEMS (owned) */
    unsigned long problems_all;    /* problems, all of them */
    size_t ndups;                  /* possible duplicates kept */
    node_import_dup *dups;         /* first NODE_IMPORT_MAX_DUPS (owned) */
    int committed;                 /* 1 when the rows were recorded */
} node_import_report;

/* Called every so many rows of the recording pass with rows done and the
 * total (known from the first pass). */
typedef void (*node_import_progress_fn)(void *ctx, unsigned long done, unsigned long total);

/* Imports a CSV of `kind` read from f, which must be seekable (it is read
 * twice; a web upload can use fmemopen).  dry_run 1 records nothing but
 * reports what would happen.  progress (may be NULL) as above.  Fills *r.
 * Returns 0 when the file was imported (or, dry run, would be); RZ_E_ARG
 * when the header or any row is bad (r lists the problems; err says how
 * many); RZ_E_IO/RZ_E_BUSY when the database failed (nothing recorded).
 * Must not be called inside a transaction of the caller. */
int node_import_csv(node_store *ns, int kind, FILE *f, int dry_run,
                    node_import_progress_fn progress, void *ctx, node_import_report *r,
                    rz_error *err) RZ_WUR;

/* Frees what a report owns and zeroes it. */
void node_import_report_free(node_import_report *r);

/* "people", "events", "attendance" and back ("persons" too); 0 unknown. */
const char *node_import_kind_name(int kind);
int node_import_kind_parse(const char *s);

#endif
