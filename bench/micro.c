/* micro: unit costs of hashing, signing and fsync; see micro.h. */
#include "bench/micro.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "common/crypto.h"

enum { MICRO_HASHES = 200000, MICRO_SIGS = 2000, MICRO_FSYNCS = 300 };

static void
micro_crypto(micro_result *r)
{
    uint8_t node[RZ_NODE_ID_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8}, entry[60], h[RZ_HASH_BYTES] = {0};
    uint8_t sig[RZ_SIG_BYTES], salt[RZ_SALT_BYTES] = {0}, c[RZ_COMMIT_BYTES];
    rz_identity id;
    int i, bad = 0;
    double t0;

    memset(entry, 0x5a, sizeof entry);
    identity_generate(&id);
    t0 = bench_now();
    for (i = 0; i < MICRO_HASHES; i++)
        chain_hash(h, node, 0, (uint64_t)i + 1, h, entry, sizeof entry);
    r->chain_hash_us = (bench_now() - t0) * 1e6 / MICRO_HASHES;
    batch_sign(sig, &id, node, 0, 500, h);
    t0 = bench_now();
    for (i = 0; i < MICRO_SIGS; i++)
        bad += batch_verify(sig, id.pk, node, 0, 500, h) != 0;
    r->verify_us = bad ? 0 : (bench_now() - t0) * 1e6 / MICRO_SIGS;
    t0 = bench_now();
    for (i = 0; i < MICRO_SIGS; i++)
        receipt_sign(sig, &id, node, 0, 1, 500, h, (uint64_t)i);
    r->sign_us = (bench_now() - t0) * 1e6 / MICRO_SIGS;
    t0 = bench_now();
    for (i = 0; i < MICRO_HASHES; i++)
        pii_commit(c, salt, "Ayesha Khan Yousafzai", 21);
    r->commit_us = (bench_now() - t0) * 1e6 / MICRO_HASHES;
    identity_wipe(&id);
}

int
micro_run(const char *dir, micro_result *r, rz_error *err)
{
    uint8_t page[4096];
    char path[4200];
    double t0;
    int fd, i, rc = 0;

    memset(r, 0, sizeof *r);
    micro_crypto(r);
    memset(page, 0xa5, sizeof page);
    snprintf(path, sizeof path, "%s/fsync.probe", dir);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return rz_fail(err, RZ_E_IO, "%s: %s", path, strerror(errno));
    t0 = bench_now();
    for (i = 0; i < MICRO_FSYNCS && rc == 0; i++)
        if (pwrite(fd, page, sizeof page, (off_t)(i % 64) * 4096) < 0 || fdatasync(fd) != 0)
            rc = rz_fail(err, RZ_E_IO, "%s: %s", path, strerror(errno));
    r->fsync_us = (bench_now() - t0) * 1e6 / MICRO_FSYNCS;
    close(fd);
    unlink(path);
    return rc;
}
