/*
 * node_fixture: a node store in a fresh temporary directory for the cmocka
 * tests of client/ (test_node_store.c, test_node_sync.c), created in setup and
 * removed with its files in teardown.  RZ_FAKE_NOW_MS is cleared both times,
 * so no test inherits another's fake clock.
 */
#ifndef RZ_TEST_NODE_FIXTURE_H
#define RZ_TEST_NODE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "client/node_store.h"

typedef struct fixture {
    char dir[256];  /* temp dir holding the node dir */
    char node[300]; /* the node's data directory */
    node_store *ns; /* the store under test */
} fixture;

/* cmocka setup: tag names the temporary directory (rz-<tag>.XXXXXX). */
static inline int
node_fixture_setup(void **state, const char *tag)
{
    fixture *f = calloc(1, sizeof *f);
    rz_error err = {0, ""};
    snprintf(f->dir, sizeof f->dir, "%s/rz-%s.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             tag);
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->node, sizeof f->node, "%s/node", f->dir);
    unsetenv("RZ_FAKE_NOW_MS");
    assert_int_equal(node_store_create(f->node, &f->ns, &err), 0);
    *state = f;
    return 0;
}

static inline int
node_fixture_teardown(void **state)
{
    fixture *f = *state;
    static const char *const files[] = {"node.db", "node.db-wal", "node.db-shm", "node.key"};
    char path[400];
    size_t i;
    node_store_destroy(&f->ns);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", f->node, files[i]);
        unlink(path);
    }
    rmdir(f->node);
    rmdir(f->dir);
    unsetenv("RZ_FAKE_NOW_MS");
    free(f);
    return 0;
}

#endif
