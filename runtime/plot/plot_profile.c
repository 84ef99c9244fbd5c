/* Weight profiles (laperm profile), the seed's Profiler: one panel per
 * weight matrix (a kernel of rank >= 2) in a grid of ceil(sqrt(n)) columns;
 * in each, every weight vector's values sorted ascending as one curve
 * against the position in the sorted vector. Vectors as in SPEC section 1:
 * the last axis indexes them (Dense [in, out]: column j; Conv2D HWIO: filter
 * j flattened in (kh, kw, cin) order). Under LaPerm these curves never
 * change: training only moves values within a vector. */
#include "runtime/plot.h"
#include "runtime/error.h"
#include "runtime/plot/plot_axes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most curves per panel (evenly chosen vectors beyond that) and points per
 * curve (evenly chosen ranks; the curves are monotone, so this is exact up
 * to a pixel). */
#define PROFILE_MAX_CURVES 256

typedef struct {
    const lp_h5_layer *layer;
    const lp_h5_array *a;
    int own_title; /* the layer has several matrices: title by array name */
} kernel_ref;

static int cmp_float(const void *pa, const void *pb)
{
    float a = *(const float *)pa, b = *(const float *)pb;
    int na = isnan(a), nb = isnan(b);
    if (na || nb) return na - nb;
    return (a > b) - (a < b);
}

static void shape_str(char *buf, size_t size, const lp_h5_array *a)
{
    size_t k = 0;
    buf[0] = '\0';
    k += (size_t)snprintf(buf + k, size - k, "[");
    for (int d = 0; d < a->rank && k < size; d++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", d ? ", " : "", (long long)a->shape[d]);
    if (k < size) snprintf(buf + k, size - k, "]");
}

static laperm_status draw_panel(cairo_t *cr, const kernel_ref *kr, double bx, double by, double bw, double bh,
                                const char *out)
{
    const lp_h5_array *A = kr->a;
    int64_t total = 1;
    for (int d = 0; d < A->rank; d++) total *= A->shape[d];
    int64_t nvec = A->shape[A->rank - 1];
    int64_t len = nvec > 0 ? total / nvec : 0;

    char shape[96], title[LP_H5_NAME_MAX + 128], xlabel[160];
    shape_str(shape, sizeof shape, A);
    snprintf(title, sizeof title, "%s %s", kr->own_title ? A->name : kr->layer->name, shape);
    int64_t nshow = nvec < PROFILE_MAX_CURVES ? nvec : PROFILE_MAX_CURVES;
    if (nshow < nvec)
        snprintf(xlabel, sizeof xlabel, "position in sorted vector (%lld of %lld vectors of %lld)",
                 (long long)nshow, (long long)nvec, (long long)len);
    else
        snprintf(xlabel, sizeof xlabel, "position in sorted vector (%lld vector%s of %lld)", (long long)nvec,
                 nvec == 1 ? "" : "s", (long long)len);

    lp_axes a;
    lp_axes_layout(&a, bx + 4, by + 4, bw - 8, bh - 8, 11, 1, 1, 1);
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < total; i++) {
        float v = A->data[i];
        if (!isfinite(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    if (total == 0 || len == 0) {
        lp_axes_range(&a, 0, 1, 0, 1, 0, 0);
        lp_axes_draw(cr, &a, title, "(empty)", "value");
        return LAPERM_OK;
    }
    double pad = (hi - lo) * 0.03;
    lp_axes_range(&a, 0, (double)(len - 1), lo - pad, hi + pad, 0, 1);
    lp_axes_draw(cr, &a, title, xlabel, "value");

    int64_t npts = (int64_t)(a.w * 2);
    if (npts > len) npts = len;
    if (npts < 2) npts = len;
    float *v = malloc(sizeof(float) * (size_t)len);
    double *px = malloc(sizeof(double) * (size_t)npts), *py = malloc(sizeof(double) * (size_t)npts);
    if (!v || !px || !py) {
        free(v);
        free(px);
        free(py);
        return lp_fail(LAPERM_E_NOMEM, "%s: out of memory", out);
    }
    lp_axes_clip(cr, &a);
    double width = nshow > 64 ? 0.8 : 1.2;
    for (int64_t k = 0; k < nshow; k++) {
        int64_t j = nshow > 1 ? (int64_t)llround((double)k * (double)(nvec - 1) / (double)(nshow - 1)) : 0;
        for (int64_t i = 0; i < len; i++) v[i] = A->data[i * nvec + j];
        qsort(v, (size_t)len, sizeof *v, cmp_float);
        for (int64_t p = 0; p < npts; p++) {
            int64_t i = npts > 1 ? (int64_t)llround((double)p * (double)(len - 1) / (double)(npts - 1)) : 0;
            px[p] = (double)i;
            py[p] = (double)v[i];
        }
        lp_axes_line(cr, &a, px, py, (int)npts, lp_color_cycle((int)(j % 10)), 0.85, width, len == 1 ? 2 : 0);
    }
    lp_axes_unclip(cr);
    free(v);
    free(px);
    free(py);
    return LAPERM_OK;
}

laperm_status lp_plot_profile(const char *out, const lp_h5_weights *w, const char *title)
{
    if (!out || !*out) return lp_fail(LAPERM_E_ARG, "plot: empty output file name");
    if (!w) return lp_fail(LAPERM_E_ARG, "%s: no weights to profile", out);
    int n = 0;
    for (int l = 0; l < w->nlayers; l++)
        for (int k = 0; k < w->layers[l].nweights; k++)
            if (w->layers[l].weights[k].rank >= 2) n++;
    if (n == 0)
        return lp_fail(LAPERM_E_FORMAT, "%s: no weight matrices (kernels of rank >= 2) to profile", out);
    kernel_ref *refs = calloc((size_t)n, sizeof *refs);
    if (!refs) return lp_fail(LAPERM_E_NOMEM, "%s: out of memory", out);
    n = 0;
    for (int l = 0; l < w->nlayers; l++) {
        int first = n;
        for (int k = 0; k < w->layers[l].nweights; k++)
            if (w->layers[l].weights[k].rank >= 2) refs[n++] = (kernel_ref){&w->layers[l], &w->layers[l].weights[k], 0};
        for (int i = first; n - first > 1 && i < n; i++) refs[i].own_title = 1;
    }
    int ncols = (int)ceil(sqrt((double)n));
    int nrows = (n + ncols - 1) / ncols;
    int width = ncols * LP_PLOT_PROFILE_PANEL_W, height = LP_PLOT_PROFILE_TITLE_H + nrows * LP_PLOT_PROFILE_PANEL_H;
    lp_canvas c;
    laperm_status s = lp_canvas_open(&c, out, width, height);
    if (s) {
        free(refs);
        return s;
    }
    char head[512];
    snprintf(head, sizeof head, "weight profiles%s%s: %d matri%s, each vector's values sorted ascending",
             title && *title ? " of " : "", title && *title ? title : "", n, n == 1 ? "x" : "ces");
    cairo_set_source_rgb(c.cr, 0, 0, 0);
    double size = lp_text_fit(c.cr, head, 17, 9, width - 40, 1);
    lp_text(c.cr, width / 2.0, LP_PLOT_PROFILE_TITLE_H / 2.0, head, size, LP_ALIGN_CENTER, LP_VALIGN_MIDDLE, 0, 1);
    for (int i = 0; i < n && !s; i++) {
        int r = i / ncols, col = i % ncols;
        s = draw_panel(c.cr, &refs[i], col * (double)LP_PLOT_PROFILE_PANEL_W,
                       LP_PLOT_PROFILE_TITLE_H + r * (double)LP_PLOT_PROFILE_PANEL_H, LP_PLOT_PROFILE_PANEL_W,
                       LP_PLOT_PROFILE_PANEL_H, out);
    }
    free(refs);
    if (s) {
        lp_canvas_abort(&c);
        return s;
    }
    return lp_canvas_close(&c);
}
