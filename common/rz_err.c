/* rz_err: formatting of error details and stable names of error codes. */
#include "common/rz_err.h"

#include <stdarg.h>
#include <stdio.h>

int
rz_fail(rz_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *
rz_err_name(int code)
{
    switch (code) {
    case RZ_OK: return "ok";
    case RZ_E_INTERNAL: return "internal";
    case RZ_E_NOMEM: return "nomem";
    case RZ_E_IO: return "io";
    case RZ_E_ARG: return "arg";
    case RZ_E_NOTFOUND: return "notfound";
    case RZ_E_EXISTS: return "exists";
    case RZ_E_TIMEOUT: return "timeout";
    case RZ_E_CONFIG: return "config";
    case RZ_E_STOPPED: return "stopped";
    case RZ_E_DECODE: return "decode";
    case RZ_E_TOOBIG: return "toobig";
    case RZ_E_VERSION: return "version";
    case RZ_E_MSGTYPE: return "msgtype";
    case RZ_E_AUTH: return "auth";
    case RZ_E_SIGNATURE: return "signature";
    case RZ_E_CHAIN: return "chain";
    case RZ_E_FORK: return "fork";
    case RZ_E_EPOCH: return "epoch";
    case RZ_E_QUARANTINE: return "quarantine";
    case RZ_E_BUSY: return "busy";
    case RZ_E_PII: return "pii";
    default: return "unknown";
    }
}
