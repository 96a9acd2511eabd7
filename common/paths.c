/*
 * paths: the share directory of an installed or a development build; see
 * paths.h for the order in which it is looked for.
 */
#include "common/paths.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef RZ_SOURCE_SHARE_DIR
#define RZ_SOURCE_SHARE_DIR "."
#endif

static char paths_share[PATH_MAX];
static pthread_once_t paths_once = PTHREAD_ONCE_INIT;

static int
paths_is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* <dir of /proc/self/exe>/../share/<program name>, when it is a directory:
 * each package ships its own (rozgar-server, rozgar-node), so the two never
 * own the same file. */
static int
paths_installed(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;
    const char *name;

    if (len <= 0)
        return -1;
    exe[len] = '\0';
    if (!(slash = strrchr(exe, '/')))
        return -1;
    *slash = '\0';
    name = slash + 1;
    if ((size_t)snprintf(out, n, "%s/../share/%s", exe, name) >= n)
        return -1;
    return paths_is_dir(out) ? 0 : -1;
}

static void
paths_resolve(void)
{
    const char *env = getenv("RZ_SHARE_DIR");

    if (env && env[0] && strlen(env) < sizeof(paths_share)) {
        snprintf(paths_share, sizeof(paths_share), "%s", env);
        return;
    }
    if (paths_installed(paths_share, sizeof(paths_share)) == 0)
        return;
    snprintf(paths_share, sizeof(paths_share), "%s", RZ_SOURCE_SHARE_DIR);
}

const char *
rz_share_dir(void)
{
    pthread_once(&paths_once, paths_resolve);
    return paths_share;
}

int
rz_share_path(char *out, size_t n, const char *rel)
{
    return (size_t)snprintf(out, n, "%s/%s", rz_share_dir(), rel) >= n ? -1 : 0;
}
