/* Training curves (laperm plot-history, laperm train --plot): two panels,
 * accuracy and loss against step, train and validation lines. */
#include "runtime/plot.h"
#include "runtime/error.h"
#include "runtime/plot/plot_axes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void minmax(const double *v, int n, double *lo, double *hi)
{
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        if (v[i] < *lo) *lo = v[i];
        if (v[i] > *hi) *hi = v[i];
    }
}

static int any_finite(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) return 1;
    return 0;
}

static void panel(cairo_t *cr, double bx, double by, double bw, double bh, const char *title,
                  const char *ylabel, const double *x, const double *train, const double *val, int n,
                  int is_acc)
{
    const double font = 13;
    lp_axes a;
    lp_axes_layout(&a, bx, by, bw, bh, font, 1, 1, 1);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    minmax(x, n, &xlo, &xhi);
    minmax(train, n, &ylo, &yhi);
    minmax(val, n, &ylo, &yhi);
    if (is_acc && ylo >= 0 && yhi <= 1) {
        /* Leave a little room so a curve at 1.0 does not sit on the frame. */
        double pad = (yhi - ylo) * 0.04;
        if (pad < 0.005) pad = 0.005;
        ylo -= pad;
        if (ylo < 0) ylo = 0;
        yhi += pad;
        if (yhi > 1) yhi = 1;
    } else if (isfinite(ylo)) {
        double pad = (yhi - ylo) * 0.04;
        int nonneg = ylo >= 0;
        ylo -= pad;
        yhi += pad;
        if (nonneg && ylo < 0) ylo = 0; /* a loss never goes below 0 */
    }
    if (!isfinite(ylo)) {
        ylo = 0;
        yhi = 1;
    }
    if (isfinite(xlo) && xhi > xlo) {
        double pad = (xhi - xlo) * 0.02;
        xlo -= pad;
        xhi += pad;
    }
    lp_axes_range(&a, xlo, xhi, ylo, yhi, 0, 1);
    char full[128];
    snprintf(full, sizeof full, "%s%s", title, any_finite(train, n) ? "" : " (train not measured)");
    lp_axes_draw(cr, &a, full, "step", ylabel);
    double marker = n <= 60 ? 3.2 : 0;
    lp_legend_entry e[2];
    int ne = 0;
    lp_axes_clip(cr, &a);
    if (any_finite(train, n)) {
        lp_axes_line(cr, &a, x, train, n, lp_color_cycle(0), 1, 2, marker);
        e[ne++] = (lp_legend_entry){"train", lp_color_cycle(0), 0};
    }
    if (any_finite(val, n)) {
        lp_axes_line(cr, &a, x, val, n, lp_color_cycle(1), 1, 2, marker);
        e[ne++] = (lp_legend_entry){"validation (test set)", lp_color_cycle(1), 0};
    }
    lp_axes_unclip(cr);
    /* The legend avoids the data of both lines. */
    double *xs = malloc(sizeof(double) * 2 * (size_t)n), *ys = malloc(sizeof(double) * 2 * (size_t)n);
    if (xs && ys) {
        for (int i = 0; i < n; i++) {
            xs[i] = xs[n + i] = x[i];
            ys[i] = train[i];
            ys[n + i] = val[i];
        }
    }
    lp_axes_legend(cr, &a, e, ne, xs && ys ? xs : NULL, ys, 2 * n);
    free(xs);
    free(ys);
}

laperm_status lp_plot_history_rows(const char *out, const lp_history_row *rows, int n, const char *title)
{
    if (!out || !*out) return lp_fail(LAPERM_E_ARG, "plot: empty output file name");
    if (!rows || n <= 0) return lp_fail(LAPERM_E_ARG, "%s: no history rows to plot", out);
    double *buf = malloc(sizeof(double) * 5 * (size_t)n);
    if (!buf) return lp_fail(LAPERM_E_NOMEM, "%s: out of memory", out);
    double *x = buf, *tacc = buf + n, *vacc = buf + 2 * (size_t)n, *tloss = buf + 3 * (size_t)n,
           *vloss = buf + 4 * (size_t)n;
    int best = -1;
    for (int i = 0; i < n; i++) {
        const lp_history_row *r = &rows[i];
        x[i] = (double)r->step;
        /* laperm train writes 0,0 for the train columns when it measures no
         * training images (--tsize 0): not a point on the curve. */
        int no_train = r->train_loss == 0 && r->train_acc == 0;
        tacc[i] = no_train ? NAN : r->train_acc;
        tloss[i] = no_train ? NAN : r->train_loss;
        vacc[i] = r->val_acc;
        vloss[i] = r->val_loss;
        if (isfinite(r->val_acc) && r->step > 0 && (best < 0 || r->val_acc > rows[best].val_acc)) best = i;
    }
    lp_canvas c;
    laperm_status s = lp_canvas_open(&c, out, LP_PLOT_HISTORY_W, LP_PLOT_HISTORY_H);
    if (s) {
        free(buf);
        return s;
    }
    cairo_t *cr = c.cr;
    char head[512];
    snprintf(head, sizeof head, "%s%straining history (%d points)", title && *title ? title : "",
             title && *title ? ": " : "", n);
    cairo_set_source_rgb(cr, 0, 0, 0);
    double size = lp_text_fit(cr, head, 17, 10, LP_PLOT_HISTORY_W * 0.6, 1);
    lp_text(cr, 24, 24, head, size, LP_ALIGN_LEFT, LP_VALIGN_MIDDLE, 0, 1);
    if (best >= 0) {
        char bb[160];
        snprintf(bb, sizeof bb, "best validation accuracy %.4f at step %ld (epoch %d)", rows[best].val_acc,
                 rows[best].step, rows[best].epoch);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        lp_text(cr, LP_PLOT_HISTORY_W - 24, 24, bb, 13, LP_ALIGN_RIGHT, LP_VALIGN_MIDDLE, 0, 0);
    }
    double top = 44, half = LP_PLOT_HISTORY_W / 2.0;
    panel(cr, 0, top, half, LP_PLOT_HISTORY_H - top, "Accuracy", "accuracy", x, tacc, vacc, n, 1);
    panel(cr, half, top, half, LP_PLOT_HISTORY_H - top, "Loss", "loss (cross-entropy)", x, tloss, vloss, n, 0);
    free(buf);
    return lp_canvas_close(&c);
}
