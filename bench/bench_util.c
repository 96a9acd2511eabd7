/* bench_util: time, files, percentiles and ids for the benchmark. */
#include "bench/bench_util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

double
bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bench_process_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bench_loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

uint64_t
bench_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Walks dir; on files adds their size, on directories recurses or removes
 * them afterwards when `remove` is set. */
static uint64_t
bench_walk(const char *dir, int remove)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    uint64_t total = 0;
    char path[4096];
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            total += bench_walk(path, remove);
            if (remove)
                rmdir(path);
        } else {
            total += (uint64_t)st.st_size;
            if (remove)
                unlink(path);
        }
    }
    closedir(d);
    return total;
}

uint64_t
bench_dir_size(const char *dir)
{
    return bench_walk(dir, 0);
}

int
bench_rmtree(const char *dir)
{
    bench_walk(dir, 1);
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

int
bench_mkdirs(const char *dir)
{
    char tmp[4096];
    size_t i, n = strlen(dir);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, dir, n + 1);
    for (i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            tmp[i] = c;
        }
    }
    return 0;
}

static int
bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double
bench_quantile(double *v, size_t n, double q)
{
    size_t rank;
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, bench_cmp_double);
    rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

void
bench_ref_node_id(uint8_t out[8], uint32_t centre)
{
    /* Any fixed 8 bytes per centre; the reference only needs the size. */
    be64_put(out, 0x52454600000000ull | centre);
}

void
bench_make_id(uint8_t out[16], uint64_t hlc, const uint8_t node_id[8])
{
    be64_put(out, hlc);
    memcpy(out + 8, node_id, 8);
}
