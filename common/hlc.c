/* hlc: hybrid logical clock arithmetic; see hlc.h. */
#include "common/hlc.h"

#include <stdlib.h>
#include <time.h>

static uint64_t
hlc_bump(uint64_t t)
{
    /* Adding one carries from the logical counter into the physical part:
     * 65536 events in one millisecond move the clock 1 ms ahead. */
    return t + 1;
}

uint64_t
hlc_next(uint64_t last, uint64_t now_ms)
{
    uint64_t wall = hlc_make(now_ms, 0);
    return wall > last ? wall : hlc_bump(last);
}

uint64_t
hlc_observe(uint64_t last, uint64_t remote, uint64_t now_ms)
{
    uint64_t m = last > remote ? last : remote;
    return hlc_next(m, now_ms);
}

uint64_t
hlc_wall_ms(void)
{
    const char *fake = getenv("RZ_FAKE_NOW_MS");
    struct timespec ts;
    if (fake && *fake) {
        /* Offset form "+N" / "-N" shifts the real clock; plain N fixes it. */
        if (*fake == '+' || *fake == '-') {
            long long off = strtoll(fake, NULL, 10);
            clock_gettime(CLOCK_REALTIME, &ts);
            return (uint64_t)((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + off);
        }
        return strtoull(fake, NULL, 10);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
