/*
 * paths: where the files the programs ship with (web assets, the places
 * list) are found, so one binary works from its build directory and from an
 * installed package.  It only resolves directories; it opens nothing.
 *
 * Order: $RZ_SHARE_DIR when set; else <directory of the running
 * executable>/../share/<its name> when that exists (an installed program:
 * /usr/bin/rozgar-server -> /usr/share/rozgar-server); else the source tree
 * the program was built from (a development build in build/).  Below it the
 * layout is the source tree's: web/, data/.
 */
#ifndef RZ_PATHS_H
#define RZ_PATHS_H

#include <stddef.h>

/* The share directory (web/, data/ below it).  Borrowed, process-lifetime. */
const char *rz_share_dir(void);
/* Writes rz_share_dir()/rel into out (size n).  Returns 0, or -1 when the
 * result does not fit. */
int rz_share_path(char *out, size_t n, const char *rel);

#endif
