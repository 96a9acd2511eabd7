/*
 * hlc: hybrid logical clock.
 *
 * A timestamp is 64 bits: the upper 48 are wall-clock milliseconds since the
 * Unix epoch, the lower 16 a logical counter.  Timestamps a node issues are
 * strictly increasing even when its wall clock stands still or jumps back, and
 * never fall below a peer's (the server's) time once that was observed.  When
 * the counter would overflow, the physical part moves one millisecond ahead, so
 * the clock never gets stuck.  Pure functions: callers persist the state.
 */
#ifndef RZ_HLC_H
#define RZ_HLC_H

#include <stdint.h>

#define HLC_LOGICAL_BITS 16
#define HLC_LOGICAL_MASK ((uint64_t)0xffff)

static inline uint64_t
hlc_physical_ms(uint64_t t)
{
    return t >> HLC_LOGICAL_BITS;
}
static inline uint64_t
hlc_make(uint64_t ms, uint64_t logical)
{
    return (ms << HLC_LOGICAL_BITS) | (logical & HLC_LOGICAL_MASK);
}

/* Next timestamp after last given the local wall clock now_ms. */
uint64_t hlc_next(uint64_t last, uint64_t now_ms);

/* Folds a remote timestamp (e.g. the server's time, as hlc_make(ms, 0)) into
 * the clock: the result is greater than both last and remote. */
uint64_t hlc_observe(uint64_t last, uint64_t remote, uint64_t now_ms);

/* Wall clock in milliseconds (CLOCK_REALTIME).  Tests may override it with
 * the RZ_FAKE_NOW_MS environment variable to simulate a wrong PC clock. */
uint64_t hlc_wall_ms(void);

#endif
