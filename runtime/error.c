#include "runtime/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

void lp_one_line(char *dst, size_t n, const char *src)
{
    if (!n) return;
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        char esc[8];
        if (*p == '\n') snprintf(esc, sizeof esc, "\\n");
        else if (*p == '\r') snprintf(esc, sizeof esc, "\\r");
        else if (*p < 0x20 || *p == 0x7f) snprintf(esc, sizeof esc, "\\x%02x", *p);
        else esc[0] = (char)*p, esc[1] = '\0';
        size_t m = strlen(esc);
        if (k + m >= n) break;
        memcpy(dst + k, esc, m);
        k += m;
    }
    dst[k] = '\0';
}

/* The promise of laperm.h: a one-line message, whatever bytes the
 * arguments (names read from files) hold. */
laperm_status lp_fail(laperm_status s, const char *fmt, ...)
{
    char raw[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    lp_one_line(last_error, sizeof last_error, raw);
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
