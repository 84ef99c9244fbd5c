/* Without cairo (LAPERM_WITH_PLOT=OFF) plotting reports that it is missing. */
#include "runtime/plot.h"

#ifndef LP_WITH_PLOT
#include "runtime/error.h"

static laperm_status missing(const char *out)
{
    return lp_fail(LAPERM_E_UNSUPPORTED, "%s: plotting not compiled in (LAPERM_WITH_PLOT=OFF; install libcairo2-dev)",
                   out ? out : "plot");
}

laperm_status lp_plot_history_rows(const char *out, const lp_history_row *rows, int n, const char *title)
{
    (void)rows, (void)n, (void)title;
    return missing(out);
}

laperm_status lp_plot_profile(const char *out, const lp_h5_weights *w, const char *title)
{
    (void)w, (void)title;
    return missing(out);
}

laperm_status lp_plot_trace(const char *out, const lp_h5_weights *before, const lp_h5_weights *after,
                            const char *layer, int vector)
{
    (void)before, (void)after, (void)layer, (void)vector;
    return missing(out);
}
#else
typedef int lp_plot_available; /* the implementation lives in runtime/plot/ */
#endif
