/* Error reporting inside the library: lp_fail() records a one-line message
 * (thread-local) and returns the status, so a failure is one statement:
 *     return lp_fail(LAPERM_E_IO, "%s: cannot open: %s", path, strerror(errno));
 */
#ifndef LAPERM_RUNTIME_ERROR_H
#define LAPERM_RUNTIME_ERROR_H

#include "laperm/laperm.h"

#include <stddef.h>

#if defined(__GNUC__)
#define LP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LP_PRINTF(a, b)
#endif

laperm_status lp_fail(laperm_status s, const char *fmt, ...) LP_PRINTF(2, 3);
void lp_clear_error(void);

/* dst = src on one line: \n, \r and the other control bytes written as the
 * escapes "\n", "\r", "\xHH" (names read from files are bytes); cut to
 * fit n bytes with its terminator, never inside an escape. */
void lp_one_line(char *dst, size_t n, const char *src);

#endif
