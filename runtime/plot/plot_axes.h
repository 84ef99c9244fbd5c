/* Shared drawing helpers of runtime/plot/ (private to the plots and their
 * test): an output canvas written atomically (PNG, or SVG for *.svg), axes
 * with "nice" ticks, labels, polylines and a legend, text, colours.
 *
 * Canvas geometry of each plot (pixels of the PNG, points of the SVG) is
 * fixed here so that callers and tests know what to expect. */
#ifndef LAPERM_RUNTIME_PLOT_AXES_H
#define LAPERM_RUNTIME_PLOT_AXES_H

#include "laperm/laperm.h"

#include <cairo.h>

/* plot_history.c: one figure, two panels side by side. */
#define LP_PLOT_HISTORY_W 1200
#define LP_PLOT_HISTORY_H 520
/* plot_profile.c: a grid of ncols x nrows panels (ncols = ceil(sqrt(n)),
 * nrows = ceil(n / ncols)) under a title bar. */
#define LP_PLOT_PROFILE_PANEL_W 480
#define LP_PLOT_PROFILE_PANEL_H 340
#define LP_PLOT_PROFILE_TITLE_H 44
/* plot_trace.c: one figure. */
#define LP_PLOT_TRACE_W 1500
#define LP_PLOT_TRACE_H 1180
/* Most arrows drawn by lp_plot_trace; the rest are counted in the caption. */
#define LP_PLOT_TRACE_MAX_ARROWS 3000

typedef struct lp_rgb {
    double r, g, b;
} lp_rgb;

/* matplotlib's tab10 cycle. */
lp_rgb lp_color_cycle(int i);
/* viridis at t in [0, 1] (clamped). */
lp_rgb lp_viridis(double t);

/* ---- Canvas ------------------------------------------------------------ */

typedef struct lp_canvas {
    cairo_surface_t *surface;
    cairo_t *cr;
    int width, height;
    int svg;
    char *out; /* the requested name */
    char *tmp; /* the temporary beside it that cairo writes */
} lp_canvas;

/* Create a temporary file beside out (failing here names out and the reason:
 * a missing or unwritable directory) and a white canvas of width x height. */
laperm_status lp_canvas_open(lp_canvas *c, const char *out, int width, int height);
/* Write the picture and rename it to the requested name; on any failure the
 * temporary is removed and nothing appears under that name. Frees c. */
laperm_status lp_canvas_close(lp_canvas *c);
/* Give up: remove the temporary, free c. */
void lp_canvas_abort(lp_canvas *c);

/* ---- Text -------------------------------------------------------------- */

enum { LP_ALIGN_LEFT = 0, LP_ALIGN_CENTER = 1, LP_ALIGN_RIGHT = 2 };
enum { LP_VALIGN_TOP = 0, LP_VALIGN_MIDDLE = 1, LP_VALIGN_BASELINE = 2, LP_VALIGN_BOTTOM = 3 };

/* Draw s at (x, y) with the given alignment; angle in radians (counter-
 * clockwise, e.g. -pi/2 for a y-axis label reading bottom to top). Returns
 * the width of the text. */
double lp_text(cairo_t *cr, double x, double y, const char *s, double size, int halign, int valign,
               double angle, int bold);
/* Width of s at size. */
double lp_text_width(cairo_t *cr, const char *s, double size, int bold);
/* The largest size <= size (and >= min_size) at which s fits in max_w. */
double lp_text_fit(cairo_t *cr, const char *s, double size, double min_size, double max_w, int bold);

/* ---- Axes -------------------------------------------------------------- */

typedef struct lp_axes {
    double x, y, w, h;          /* plot area on the canvas */
    double x0, x1, y0, y1;      /* data range: x0 at the left, y0 at the bottom */
    double font;                /* tick label size */
} lp_axes;

/* Fit the axes' plot area into the box (bx, by, bw, bh) leaving room for the
 * title (top), tick labels and axis labels (left, bottom). */
void lp_axes_layout(lp_axes *a, double bx, double by, double bw, double bh, double font, int has_title,
                    int has_xlabel, int has_ylabel);
/* Data range, widened to nice tick values when nice is set; a degenerate
 * range (lo == hi, or NaN) is widened around its value. */
void lp_axes_range(lp_axes *a, double x0, double x1, double y0, double y1, int nice_x, int nice_y);
double lp_axes_px(const lp_axes *a, double x);
double lp_axes_py(const lp_axes *a, double y);
/* Frame, grid, ticks with labels, title and axis labels. */
void lp_axes_draw(cairo_t *cr, const lp_axes *a, const char *title, const char *xlabel,
                  const char *ylabel);
/* Clip to / release the plot area. */
void lp_axes_clip(cairo_t *cr, const lp_axes *a);
void lp_axes_unclip(cairo_t *cr);
/* Stroke y[i] against x[i] (x NULL: against i); NaN values break the line.
 * marker > 0 draws a dot of that radius at each point. */
void lp_axes_line(cairo_t *cr, const lp_axes *a, const double *x, const double *y, int n, lp_rgb c,
                  double alpha, double width, double marker);

/* Nice tick positions covering [lo, hi] with about want ticks: the first
 * tick, the step and the count. */
void lp_nice_ticks(double lo, double hi, int want, double *first, double *step, int *count);
/* A tick label: the value printed with as many decimals as step needs. */
void lp_tick_label(char *buf, size_t size, double v, double step);

/* A legend box inside the plot area at the corner where it covers the fewest
 * of the given points (xs/ys: npts points in data units; may be NULL). */
typedef struct lp_legend_entry {
    const char *label;
    lp_rgb color;
    int dashed;
} lp_legend_entry;
void lp_axes_legend(cairo_t *cr, const lp_axes *a, const lp_legend_entry *e, int n, const double *xs,
                    const double *ys, int npts);

/* ---- Trace internals (tested by tests/test_plot.c) ---------------------- */

/* For one weight vector of len values (element i at before[i * stride],
 * likewise after): dest[i] = the position in after of before's element i,
 * values matched by stable rank (equal values keep their order; -0.0 equals
 * +0.0; NaN ranks last). Returns 1 when after is a permutation of before
 * (bitwise, up to the sign of zero), 0 when it is not (the matching is then
 * by rank only), -1 when out of memory. */
int lp_trace_match(const float *before, const float *after, int len, int stride, int *dest);

#endif
