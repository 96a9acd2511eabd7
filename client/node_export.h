/*
 * node_export: what the centre holds as CSV that opens correctly in Excel:
 * UTF-8 with a byte-order mark (so Urdu shows), CRLF line ends, RFC 4180
 * quoting, and every cell that starts with = + - @ TAB or CR prefixed with
 * an apostrophe so a spreadsheet never runs it as a formula (a name like
 * "=HYPERLINK(...)" stays text).  CNICs are written with dashes and short
 * codes beside ids, so Excel keeps them as text and staff can read them.
 * Headers are the import's own names: an exported file imports back
 * without adding anything twice.
 *
 * The files hold personal values: the caller decides who may export (the
 * web app: admins only) and creates the file with mode 0600.  Nothing here
 * prints or logs a value.
 */
#ifndef RZ_NODE_EXPORT_H
#define RZ_NODE_EXPORT_H

#include <stdio.h>

#include "client/node_import.h"
#include "client/node_store.h"

/* Writes every live record of kind (enum node_import_kind; include_deleted
 * adds deleted ones with status "deleted") to out; *rows (may be NULL) gets
 * the data rows written.  RZ_E_IO when writing fails. */
int node_export_csv(node_store *ns, int kind, FILE *out, int include_deleted, unsigned long *rows,
                    rz_error *err) RZ_WUR;

/* Writes one cell (guarded and quoted as above; first = 1 for the first
 * cell of a row, which gets no comma) and the CRLF that ends a row.  For
 * other CSV writers (the web app's reports). */
void node_export_cell(FILE *out, const char *s, int first);
void node_export_row_end(FILE *out);

#endif
