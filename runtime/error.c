#include "runtime/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[1024];

laperm_status lp_fail(laperm_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

void lp_clear_error(void) { last_error[0] = '\0'; }

const char *laperm_last_error(void) { return last_error; }

const char *laperm_version(void) { return LAPERM_VERSION; }

const char *laperm_status_name(laperm_status s)
{
    switch (s) {
    case LAPERM_OK: return "ok";
    case LAPERM_E_IO: return "io error";
    case LAPERM_E_FORMAT: return "format error";
    case LAPERM_E_CHECKSUM: return "checksum mismatch";
    case LAPERM_E_SHAPE: return "shape mismatch";
    case LAPERM_E_NOMEM: return "out of memory";
    case LAPERM_E_DIVERGED: return "training diverged";
    case LAPERM_E_UNSUPPORTED: return "unsupported";
    case LAPERM_E_ARG: return "bad argument";
    case LAPERM_E_INTERRUPTED: return "interrupted";
    }
    return "unknown error";
}
