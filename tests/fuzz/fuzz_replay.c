/*
 * fuzz_replay: runs a harness's LLVMFuzzerTestOneInput over every file of
 * the corpus directories (or files) given on the command line, so ctest
 * replays the committed seeds under the ordinary ASan/UBSan build, with gcc
 * as well as clang.  An empty corpus is a failure: a replay that runs
 * nothing proves nothing.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

#define REPLAY_MAX_INPUT (2 * 1024 * 1024)

static int
replay_file(const char *path, uint8_t *buf)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    n = fread(buf, 1, REPLAY_MAX_INPUT, f);
    fclose(f);
    /* Exact-size copy, so ASan sees any read past the input's end. */
    {
        uint8_t *exact = malloc(n ? n : 1);
        if (!exact)
            return -1;
        memcpy(exact, buf, n);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    return 0;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays dir's regular files in name order; returns the count or -1. */
static long
replay_dir(const char *dir, uint8_t *buf)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    long count = 0;
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
            if (!nn)
                break;
            names = nn;
        }
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    for (i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && replay_file(path, buf) == 0)
            count++;
        free(names[i]);
    }
    free(names);
    return count;
}

int
main(int argc, char **argv)
{
    uint8_t *buf = malloc(REPLAY_MAX_INPUT);
    long total = 0;
    int i;
    if (!buf || argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
        free(buf);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        struct stat st;
        long n;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: missing\n", argv[i]);
            free(buf);
            return 1;
        }
        n = S_ISDIR(st.st_mode) ? replay_dir(argv[i], buf) : (replay_file(argv[i], buf) ? -1 : 1);
        if (n < 0) {
            free(buf);
            return 1;
        }
        printf("replayed %ld inputs from %s\n", n, argv[i]);
        total += n;
    }
    free(buf);
    if (total == 0) {
        fprintf(stderr, "replay: no inputs\n");
        return 1;
    }
    return 0;
}
