/*
 * fuzz: the libFuzzer entry points every harness in tests/fuzz/ defines.
 * The same harness is linked either with libFuzzer (clang, RZ_FUZZ=ON) or
 * with fuzz_replay.c, which runs it over the committed corpus under the
 * normal sanitizer build (gcc or clang) as a ctest.
 *
 * A harness aborts on any broken invariant, so a finding is a crash in
 * both builds.
 */
#ifndef RZ_FUZZ_H
#define RZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken invariant and aborts (the fuzzer records the input). */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

__attribute__((noreturn)) static inline void
fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}

#endif
