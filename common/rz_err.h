/*
 * rz_err: the project's error codes and the optional detail record.
 *
 * Fallible functions return int: 0 on success, a negative RZ_E_* code on
 * failure.  Detail goes into an optional caller-provided rz_error (fixed-size,
 * no malloc).  The numeric codes are part of the wire protocol (ERROR replies
 * carry -code), so they are never renumbered; see proto/PROTOCOL.md.
 */
#ifndef RZ_ERR_H
#define RZ_ERR_H

#include <stddef.h>

#define RZ_WUR __attribute__((warn_unused_result))
#define RZ_PRINTF(f, a) __attribute__((format(printf, f, a)))

enum rz_err_code {
    RZ_OK = 0,
    RZ_E_INTERNAL = -1, /* bug or resource failure on our side; retry later */
    RZ_E_NOMEM = -2,    /* allocation failed */
    RZ_E_IO = -3,       /* file or database I/O failed; retry later */
    RZ_E_ARG = -4,      /* bad command-line or API argument */
    RZ_E_NOTFOUND = -5, /* no such record / node / file */
    RZ_E_EXISTS = -6,   /* already exists */
    RZ_E_TIMEOUT = -7,  /* peer did not answer in time */
    RZ_E_CONFIG = -8,   /* configuration missing or invalid */
    RZ_E_STOPPED = -9,  /* stopped on request (SIGTERM); nothing lost (never on the wire) */
    /* 20..39: refusals of a message; the wire carries these. */
    RZ_E_DECODE = -20,     /* malformed msgpack / wrong shape */
    RZ_E_TOOBIG = -21,     /* a declared size exceeds a protocol limit */
    RZ_E_VERSION = -22,    /* protocol or schema version not supported: upgrade */
    RZ_E_MSGTYPE = -23,    /* unknown message type */
    RZ_E_AUTH = -24,       /* sender not enrolled, revoked, or identity mismatch */
    RZ_E_SIGNATURE = -25,  /* batch signature does not verify */
    RZ_E_CHAIN = -26,      /* sequence gap, reorder or chain mismatch */
    RZ_E_FORK = -27,       /* same sequence, different content: node quarantined */
    RZ_E_EPOCH = -28,      /* wrong log epoch */
    RZ_E_QUARANTINE = -29, /* node is quarantined after a fork */
    RZ_E_BUSY = -30,       /* server cannot commit now (I/O, disk full); retry */
    RZ_E_PII = -31,        /* a personal value does not match its commitment */
};

#define RZ_ERROR_TEXT 200

/* Detail of a failure: the code plus a human-readable reason. */
typedef struct rz_error {
    int code;                 /* one of rz_err_code */
    char text[RZ_ERROR_TEXT]; /* NUL-terminated reason, safe to log and send */
} rz_error;

/* Records code and a formatted reason in err (which may be NULL); returns
 * code so callers can write `return rz_fail(err, RZ_E_ARG, "...")`. */
int rz_fail(rz_error *err, int code, const char *fmt, ...) RZ_PRINTF(3, 4);

/* Short stable name of a code ("chain", "signature", ...). */
const char *rz_err_name(int code);

#endif
