/* util: hex, big-endian, checked allocation and small-file helpers. */
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

void
hex_encode(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int
hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
hex_decode(uint8_t *out, size_t outlen, const char *hex)
{
    size_t i;
    if (!hex || strlen(hex) != 2 * outlen)
        return RZ_E_ARG;
    for (i = 0; i < outlen; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return RZ_E_ARG;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void
be64_put(uint8_t *p, uint64_t v)
{
    int i;
    for (i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

int64_t
u64_diff_sat(uint64_t a, uint64_t b)
{
    if (a >= b)
        return a - b > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(a - b);
    return b - a > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)(b - a);
}

uint64_t
be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    int i;
    for (i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void
be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        fatalx("out of memory (%zu bytes)", n);
    return p;
}

void *
xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        fatalx("out of memory (%zu x %zu bytes)", n, sz);
    return p;
}

void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        fatalx("out of memory (%zu bytes)", n);
    return q;
}

char *
xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

int
file_write_atomic(const char *path, const void *data, size_t len, unsigned mode, rz_error *err)
{
    char tmp[4096];
    int fd;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return rz_fail(err, RZ_E_ARG, "path too long: %s", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return rz_fail(err, RZ_E_IO, "%s: %s", tmp, strerror(errno));
    /* open() honours umask; the mode of a key file must be exact. */
    if (fchmod(fd, (mode_t)mode) != 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return rz_fail(err, RZ_E_IO, "%s: %s", tmp, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return rz_fail(err, RZ_E_IO, "%s: %s", path, strerror(e));
    }
    return 0;
}

int
file_read_small(const char *path, void *buf, size_t maxlen, size_t *outlen, rz_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    if (fd < 0)
        return rz_fail(err, errno == ENOENT ? RZ_E_NOTFOUND : RZ_E_IO, "%s: %s", path,
                       strerror(errno));
    n = read(fd, buf, maxlen);
    close(fd);
    if (n < 0)
        return rz_fail(err, RZ_E_IO, "%s: %s", path, strerror(errno));
    *outlen = (size_t)n;
    return 0;
}

void
format_utc(char *out, size_t len, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, len, "%llu ms", (unsigned long long)ms);
}
