/*
 * places: the master list of Pakistan's provinces/territories and their
 * districts, as reference data (DESIGN.md, "Places are reference data").
 *
 * A list is read from the tab-separated file format of data/places.tsv
 * (described at the top of that file): one version label, provinces with
 * their aliases, districts under a province with theirs.  Names match
 * ignoring case, blanks and ASCII punctuation ("D.G. Khan", "DG Khan" and
 * "dg khan" are one key; "&" reads as "and"); bytes outside ASCII (Urdu)
 * must match exactly.  Every match answers with the official name.  An
 * unknown name gets the closest names as suggestions (edit distance over the
 * folded names and aliases, or a name the input begins).
 *
 * Used by the server (enrollment refuses an unknown place; a person's home
 * district is counted under its official name or as unknown) and by the node
 * (the district picker).  A list is immutable once parsed and safe to read
 * from several threads.  What it does not do: store versions (the server
 * keeps those, server/placelist.h) or decide what a caller does with an
 * unknown name.
 */
#ifndef RZ_PLACES_H
#define RZ_PLACES_H

#include <stddef.h>

#include "common/rz_err.h"

#define PLACES_NAME_MAX 80      /* bytes of one name or alias */
#define PLACES_FILE_MAX 1048576 /* bytes of a places file */
#define PLACES_MAX_PROVINCES 64 /* provinces/territories in a list */
#define PLACES_MAX_DISTRICTS 4000
#define PLACES_MAX_ALIASES 32 /* aliases of one place */
#define PLACES_SUGGEST_MAX 8  /* most suggestions asked at once */

typedef struct places places;

/* Parses a list from text (len bytes, need not be NUL-terminated).  origin
 * names the text in errors ("places.tsv:12: ..."); may be NULL.  *out is the
 * caller's (places_destroy).  RZ_E_ARG with the first problem for a
 * malformed list (unknown record, missing version, a province of a district
 * not declared before it, a name or alias matching another place of its
 * kind in the same province, limits). */
int places_parse(places **out, const char *text, size_t len, const char *origin, rz_error *err)
    RZ_WUR;
/* Reads and parses a file (at most PLACES_FILE_MAX bytes).  RZ_E_NOTFOUND
 * or RZ_E_IO when it cannot be read.  places_load_text also hands the
 * file's bytes to the caller (*text, *len; the caller frees *text). */
int places_load(places **out, const char *path, rz_error *err) RZ_WUR;
int places_load_text(places **out, char **text, size_t *len, const char *path, rz_error *err)
    RZ_WUR;
void places_destroy(places **p);

/* The version label of the list ("2026-11-30.1").  Borrowed. */
const char *places_version(const places *p);

/* Iteration, in file order.  Names are borrowed for the list's life. */
size_t places_province_count(const places *p);
const char *places_province_name(const places *p, size_t province);
size_t places_district_count(const places *p, size_t province);
const char *places_district_name(const places *p, size_t province, size_t district);

/* The index of the province that name (official or alias) denotes, -1 when
 * none does. */
int places_find_province(const places *p, const char *name);
/* The official name of the district that name denotes in province (an
 * index), or in any province when province is -1; NULL when none does, or
 * when (province -1) the name denotes different districts in two provinces.
 * *province_out (may be NULL) gets the district's province. */
const char *places_find_district(const places *p, int province, const char *name,
                                 int *province_out);

/* Up to max (at most PLACES_SUGGEST_MAX) official names closest to name,
 * best first, into out; returns how many.  Districts of one province, or of
 * all when province is -1. */
size_t places_suggest_province(const places *p, const char *name, const char **out, size_t max);
size_t places_suggest_district(const places *p, int province, const char *name, const char **out,
                               size_t max);

/* Writes the folded matching key of name (len bytes) into out (size n);
 * returns its length, 0 when it is empty or does not fit. */
size_t places_fold(char *out, size_t n, const char *name, size_t len);

/*
 * The list this process counts with.  A server sets it at start from the
 * version headquarters imported (server/placelist.h) before any merge or
 * query runs; until then places_active() loads the list shipped with the
 * program (data/places.tsv in the share directory, common/paths.h, or the
 * file named by $RZ_PLACES_FILE) once.  NULL when there is none.
 */
const places *places_active(void);
/* Makes p the active list (taking it; the previous one is kept alive until
 * exit, since readers may still hold names from it). */
void places_set_active(places *p);
/* The path of the shipped list into out (size n): $RZ_PLACES_FILE or the
 * share directory's data/places.tsv.  0, or -1 when it does not fit. */
int places_default_path(char *out, size_t n);

#endif
