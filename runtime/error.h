/* Error reporting inside the library: lp_fail() records a one-line message
 * (thread-local) and returns the status, so a failure is one statement:
 *     return lp_fail(LAPERM_E_IO, "%s: cannot open: %s", path, strerror(errno));
 */
#ifndef LAPERM_RUNTIME_ERROR_H
#define LAPERM_RUNTIME_ERROR_H

#include "laperm/laperm.h"

#if defined(__GNUC__)
#define LP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LP_PRINTF(a, b)
#endif

laperm_status lp_fail(laperm_status s, const char *fmt, ...) LP_PRINTF(2, 3);
void lp_clear_error(void);

#endif
