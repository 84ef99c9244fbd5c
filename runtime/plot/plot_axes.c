/* Shared drawing helpers of the plots (see plot_axes.h): the atomic output
 * canvas, text, axes with nice ticks, lines and a legend. Everything is drawn
 * with cairo; PNG through cairo_surface_write_to_png, SVG through cairo's SVG
 * surface. */
#define _POSIX_C_SOURCE 200809L /* open, fsync, getpid */

#include "runtime/plot/plot_axes.h"
#include "runtime/error.h"

#include <cairo-svg.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LP_PI 3.14159265358979323846

/* ---- Colours ------------------------------------------------------------- */

static lp_rgb hex(unsigned v)
{
    return (lp_rgb){((v >> 16) & 255) / 255.0, ((v >> 8) & 255) / 255.0, (v & 255) / 255.0};
}

lp_rgb lp_color_cycle(int i)
{
    static const unsigned tab10[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                       0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
    if (i < 0) i = -i;
    return hex(tab10[i % 10]);
}

lp_rgb lp_viridis(double t)
{
    static const unsigned pts[11] = {0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c,
                                     0x22a884, 0x44bf70, 0x7ad151, 0xbddf26, 0xfde725};
    if (!(t > 0)) t = 0; /* NaN too */
    if (t > 1) t = 1;
    double f = t * 10;
    int i = (int)f;
    if (i >= 10) return hex(pts[10]);
    f -= i;
    lp_rgb a = hex(pts[i]), b = hex(pts[i + 1]);
    return (lp_rgb){a.r + f * (b.r - a.r), a.g + f * (b.g - a.g), a.b + f * (b.b - a.b)};
}

/* ---- Canvas -------------------------------------------------------------- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int ends_with_svg(const char *s)
{
    size_t n = strlen(s);
    if (n < 4) return 0;
    const char *e = s + n - 4;
    return e[0] == '.' && (e[1] | 32) == 's' && (e[2] | 32) == 'v' && (e[3] | 32) == 'g';
}

static void canvas_free(lp_canvas *c)
{
    if (c->cr) cairo_destroy(c->cr);
    if (c->surface) cairo_surface_destroy(c->surface);
    free(c->out);
    free(c->tmp);
    memset(c, 0, sizeof *c);
}

laperm_status lp_canvas_open(lp_canvas *c, const char *out, int width, int height)
{
    memset(c, 0, sizeof *c);
    if (!out || !*out) return lp_fail(LAPERM_E_ARG, "plot: empty output file name");
    size_t n = strlen(out);
    if (out[n - 1] == '/') return lp_fail(LAPERM_E_IO, "%s: is a directory name, expected a file name", out);
    if (width <= 0 || height <= 0 || width > 32767 || height > 32767)
        return lp_fail(LAPERM_E_ARG, "%s: picture size %dx%d out of range", out, width, height);
    c->width = width;
    c->height = height;
    c->svg = ends_with_svg(out);
    c->out = dup_str(out);
    c->tmp = malloc(n + 64);
    if (!c->out || !c->tmp) {
        canvas_free(c);
        return lp_fail(LAPERM_E_NOMEM, "%s: out of memory", out);
    }
    /* The temporary sits beside the output (same file system, so rename is
     * atomic) and is created exclusively, which also tells us early and with
     * errno whether the directory is writable at all. */
    const char *slash = strrchr(out, '/');
    int dl = slash ? (int)(slash - out) + 1 : 0;
    static _Thread_local unsigned counter;
    int fd = -1;
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        snprintf(c->tmp, n + 64, "%.*s.%s.tmp.%ld.%u", dl, out, out + dl, (long)getpid(), counter++);
        fd = open(c->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        laperm_status s;
        if (dl)
            s = lp_fail(LAPERM_E_IO, "%s: cannot create the output file in %.*s: %s", out, dl > 1 ? dl - 1 : 1,
                        out, strerror(e));
        else
            s = lp_fail(LAPERM_E_IO, "%s: cannot create the output file: %s", out, strerror(e));
        canvas_free(c);
        return s;
    }
    close(fd);
    if (c->svg)
        c->surface = cairo_svg_surface_create(c->tmp, width, height);
    else
        c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_status_t cs = cairo_surface_status(c->surface);
    if (cs == CAIRO_STATUS_SUCCESS) {
        c->cr = cairo_create(c->surface);
        cs = cairo_status(c->cr);
    }
    if (cs != CAIRO_STATUS_SUCCESS) {
        unlink(c->tmp);
        laperm_status s = lp_fail(cs == CAIRO_STATUS_NO_MEMORY ? LAPERM_E_NOMEM : LAPERM_E_IO,
                                  "%s: cannot start the picture: %s", out, cairo_status_to_string(cs));
        canvas_free(c);
        return s;
    }
    cairo_set_source_rgb(c->cr, 1, 1, 1);
    cairo_paint(c->cr);
    cairo_set_source_rgb(c->cr, 0, 0, 0);
    return LAPERM_OK;
}

laperm_status lp_canvas_close(lp_canvas *c)
{
    cairo_status_t cs = cairo_status(c->cr);
    cairo_destroy(c->cr);
    c->cr = NULL;
    if (cs == CAIRO_STATUS_SUCCESS) {
        if (c->svg) {
            cairo_surface_finish(c->surface);
            cs = cairo_surface_status(c->surface);
        } else {
            cairo_surface_flush(c->surface);
            cs = cairo_surface_write_to_png(c->surface, c->tmp);
        }
    }
    cairo_surface_destroy(c->surface);
    c->surface = NULL;
    laperm_status s = LAPERM_OK;
    if (cs != CAIRO_STATUS_SUCCESS) {
        s = lp_fail(LAPERM_E_IO, "%s: cannot write the picture: %s", c->out, cairo_status_to_string(cs));
    } else {
        int fd = open(c->tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0)
            s = lp_fail(LAPERM_E_IO, "%s: cannot write the picture: %s", c->out, strerror(errno));
        if (fd >= 0) close(fd);
        if (!s && rename(c->tmp, c->out) != 0)
            s = lp_fail(LAPERM_E_IO, "%s: cannot rename %s to it: %s", c->out, c->tmp, strerror(errno));
    }
    if (s) unlink(c->tmp);
    canvas_free(c);
    return s;
}

void lp_canvas_abort(lp_canvas *c)
{
    if (c->cr) cairo_destroy(c->cr);
    c->cr = NULL;
    if (c->surface) {
        if (c->svg) cairo_surface_finish(c->surface);
        cairo_surface_destroy(c->surface);
        c->surface = NULL;
    }
    if (c->tmp) unlink(c->tmp);
    canvas_free(c);
}

/* ---- Text ---------------------------------------------------------------- */

static void set_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double lp_text_width(cairo_t *cr, const char *s, double size, int bold)
{
    set_font(cr, size, bold);
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    return te.x_advance;
}

double lp_text_fit(cairo_t *cr, const char *s, double size, double min_size, double max_w, int bold)
{
    while (size > min_size && lp_text_width(cr, s, size, bold) > max_w) size *= 0.92;
    return size < min_size ? min_size : size;
}

double lp_text(cairo_t *cr, double x, double y, const char *s, double size, int halign, int valign,
               double angle, int bold)
{
    set_font(cr, size, bold);
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, s, &te);
    cairo_font_extents(cr, &fe);
    double dx = halign == LP_ALIGN_CENTER ? -te.x_advance / 2 : halign == LP_ALIGN_RIGHT ? -te.x_advance : 0;
    double dy = valign == LP_VALIGN_TOP      ? fe.ascent
                : valign == LP_VALIGN_MIDDLE ? (fe.ascent - fe.descent) / 2
                : valign == LP_VALIGN_BOTTOM ? -fe.descent
                                             : 0;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    if (angle != 0) cairo_rotate(cr, angle);
    cairo_move_to(cr, dx, dy);
    cairo_show_text(cr, s);
    cairo_new_path(cr);
    cairo_restore(cr);
    return te.x_advance;
}

/* ---- Ticks --------------------------------------------------------------- */

static double nice_step(double range, int want)
{
    if (!(range > 0) || !isfinite(range)) return 1;
    double raw = range / (want > 1 ? want : 1);
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return nice * mag;
}

void lp_nice_ticks(double lo, double hi, int want, double *first, double *step, int *count)
{
    if (hi < lo) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    double st = nice_step(hi - lo, want);
    double f = ceil(lo / st - 1e-9) * st;
    int n = (int)floor((hi - f) / st + 1e-9) + 1;
    if (n < 0) n = 0;
    if (n > 100) n = 100;
    *first = f;
    *step = st;
    *count = n;
}

void lp_tick_label(char *buf, size_t size, double v, double step)
{
    int d = 0;
    double s = fabs(step);
    while (d < 8 && s > 0 && fabs(s * pow(10, d) - round(s * pow(10, d))) > 1e-6 * s * pow(10, d)) d++;
    if (fabs(v) < s * 1e-9) v = 0;
    if (fabs(v) >= 1e7 || (fabs(v) > 0 && fabs(v) < 1e-5 && d >= 8))
        snprintf(buf, size, "%.3g", v);
    else
        snprintf(buf, size, "%.*f", d, v);
}

/* ---- Axes ---------------------------------------------------------------- */

void lp_axes_layout(lp_axes *a, double bx, double by, double bw, double bh, double font, int has_title,
                    int has_xlabel, int has_ylabel)
{
    double left = 5.2 * font + (has_ylabel ? 1.9 * font : 0);
    double bottom = 2.0 * font + (has_xlabel ? 1.7 * font : 0);
    double top = has_title ? 2.6 * font : 0.9 * font;
    double right = 1.6 * font;
    a->x = bx + left;
    a->y = by + top;
    a->w = bw - left - right;
    a->h = bh - top - bottom;
    if (a->w < 10) a->w = 10;
    if (a->h < 10) a->h = 10;
    a->font = font;
    a->x0 = 0;
    a->x1 = 1;
    a->y0 = 0;
    a->y1 = 1;
}

static void widen(double *lo, double *hi)
{
    if (!isfinite(*lo) || !isfinite(*hi)) {
        *lo = 0;
        *hi = 1;
        return;
    }
    if (*hi < *lo) {
        double t = *lo;
        *lo = *hi;
        *hi = t;
    }
    if (*hi - *lo <= 1e-12 * (fabs(*lo) + fabs(*hi))) {
        double d = fabs(*lo) * 0.1;
        if (d < 0.5 && fabs(*lo) >= 1) d = 0.5;
        if (d == 0) d = 0.5;
        *lo -= d;
        *hi += d;
    }
}

static void nicen(double *lo, double *hi)
{
    double st = nice_step(*hi - *lo, 6);
    *lo = floor(*lo / st + 1e-9) * st;
    *hi = ceil(*hi / st - 1e-9) * st;
}

void lp_axes_range(lp_axes *a, double x0, double x1, double y0, double y1, int nice_x, int nice_y)
{
    widen(&x0, &x1);
    widen(&y0, &y1);
    if (nice_x) nicen(&x0, &x1);
    if (nice_y) nicen(&y0, &y1);
    a->x0 = x0;
    a->x1 = x1;
    a->y0 = y0;
    a->y1 = y1;
}

double lp_axes_px(const lp_axes *a, double x) { return a->x + (x - a->x0) / (a->x1 - a->x0) * a->w; }
double lp_axes_py(const lp_axes *a, double y) { return a->y + a->h - (y - a->y0) / (a->y1 - a->y0) * a->h; }

void lp_axes_draw(cairo_t *cr, const lp_axes *a, const char *title, const char *xlabel, const char *ylabel)
{
    double f = a->font;
    char buf[64];
    int want_x = (int)(a->w / (f * 7.5));
    int want_y = (int)(a->h / (f * 3.2));
    if (want_x < 2) want_x = 2;
    if (want_x > 10) want_x = 10;
    if (want_y < 2) want_y = 2;
    if (want_y > 10) want_y = 10;

    cairo_save(cr);
    cairo_set_line_width(cr, 1);
    double first, step;
    int count;
    /* x grid and ticks */
    lp_nice_ticks(a->x0, a->x1, want_x, &first, &step, &count);
    double maxw = 0;
    for (int i = 0; i < count; i++) {
        lp_tick_label(buf, sizeof buf, first + i * step, step);
        double w = lp_text_width(cr, buf, f, 0);
        if (w > maxw) maxw = w;
    }
    /* Too many labels for the width: keep every k-th. */
    int every = 1;
    while (count / every > 1 && (maxw + f) * ((double)count / every) > a->w) every++;
    for (int i = 0; i < count; i++) {
        double v = first + i * step;
        double px = round(lp_axes_px(a, v)) + 0.5;
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, px, a->y);
        cairo_line_to(cr, px, a->y + a->h);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
        cairo_move_to(cr, px, a->y + a->h);
        cairo_line_to(cr, px, a->y + a->h + f * 0.4);
        cairo_stroke(cr);
        if (i % every) continue;
        lp_tick_label(buf, sizeof buf, v, step);
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        lp_text(cr, px, a->y + a->h + f * 0.55, buf, f, LP_ALIGN_CENTER, LP_VALIGN_TOP, 0, 0);
    }
    /* y grid and ticks */
    lp_nice_ticks(a->y0, a->y1, want_y, &first, &step, &count);
    double ytick_w = 0;
    for (int i = 0; i < count; i++) {
        double v = first + i * step;
        double py = round(lp_axes_py(a, v)) + 0.5;
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, a->x, py);
        cairo_line_to(cr, a->x + a->w, py);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
        cairo_move_to(cr, a->x - f * 0.4, py);
        cairo_line_to(cr, a->x, py);
        cairo_stroke(cr);
        lp_tick_label(buf, sizeof buf, v, step);
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        double size = lp_text_fit(cr, buf, f, f * 0.6, 4.4 * f, 0);
        double tw = lp_text(cr, a->x - f * 0.55, py, buf, size, LP_ALIGN_RIGHT, LP_VALIGN_MIDDLE, 0, 0);
        if (tw > ytick_w) ytick_w = tw;
    }
    /* frame */
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_rectangle(cr, round(a->x) + 0.5, round(a->y) + 0.5, round(a->w), round(a->h));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
    if (title && *title) {
        double size = lp_text_fit(cr, title, f * 1.2, f * 0.7, a->w + 4 * f, 1);
        lp_text(cr, a->x + a->w / 2, a->y - f * 0.7, title, size, LP_ALIGN_CENTER, LP_VALIGN_BOTTOM, 0, 1);
    }
    if (xlabel && *xlabel) {
        double size = lp_text_fit(cr, xlabel, f * 1.05, f * 0.7, a->w, 0);
        lp_text(cr, a->x + a->w / 2, a->y + a->h + 2.0 * f, xlabel, size, LP_ALIGN_CENTER, LP_VALIGN_TOP, 0, 0);
    }
    if (ylabel && *ylabel) {
        double size = lp_text_fit(cr, ylabel, f * 1.05, f * 0.7, a->h, 0);
        lp_text(cr, a->x - f * 1.1 - ytick_w, a->y + a->h / 2, ylabel, size, LP_ALIGN_CENTER, LP_VALIGN_BOTTOM,
                -LP_PI / 2, 0);
    }
    cairo_restore(cr);
}

void lp_axes_clip(cairo_t *cr, const lp_axes *a)
{
    cairo_save(cr);
    cairo_rectangle(cr, a->x, a->y, a->w, a->h);
    cairo_clip(cr);
}

void lp_axes_unclip(cairo_t *cr) { cairo_restore(cr); }

void lp_axes_line(cairo_t *cr, const lp_axes *a, const double *x, const double *y, int n, lp_rgb c,
                  double alpha, double width, double marker)
{
    cairo_save(cr);
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
    cairo_set_line_width(cr, width);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    int pen = 0;
    for (int i = 0; i < n; i++) {
        double xv = x ? x[i] : (double)i, yv = y[i];
        if (!isfinite(xv) || !isfinite(yv)) {
            pen = 0;
            continue;
        }
        double px = lp_axes_px(a, xv), py = lp_axes_py(a, yv);
        if (pen) cairo_line_to(cr, px, py);
        else cairo_move_to(cr, px, py);
        pen = 1;
    }
    cairo_stroke(cr);
    if (marker > 0) {
        for (int i = 0; i < n; i++) {
            double xv = x ? x[i] : (double)i, yv = y[i];
            if (!isfinite(xv) || !isfinite(yv)) continue;
            cairo_new_sub_path(cr);
            cairo_arc(cr, lp_axes_px(a, xv), lp_axes_py(a, yv), marker, 0, 2 * LP_PI);
        }
        cairo_fill(cr);
    }
    cairo_restore(cr);
}

void lp_axes_legend(cairo_t *cr, const lp_axes *a, const lp_legend_entry *e, int n, const double *xs,
                    const double *ys, int npts)
{
    if (n <= 0) return;
    double f = a->font;
    double sample = 2.4 * f, pad = 0.6 * f, row = 1.45 * f;
    double tw = 0;
    for (int i = 0; i < n; i++) {
        double w = lp_text_width(cr, e[i].label, f, 0);
        if (w > tw) tw = w;
    }
    double bw = pad * 3 + sample + tw, bh = pad * 2 + row * n - (row - f);
    double margin = 0.6 * f;
    /* corners: top right, bottom right, top left, bottom left */
    double cx[4] = {a->x + a->w - margin - bw, a->x + a->w - margin - bw, a->x + margin, a->x + margin};
    double cy[4] = {a->y + margin, a->y + a->h - margin - bh, a->y + margin, a->y + a->h - margin - bh};
    int best = 0;
    long best_cover = -1;
    for (int k = 0; k < 4; k++) {
        long cover = 0;
        for (int i = 0; i < npts && xs && ys; i++) {
            if (!isfinite(xs[i]) || !isfinite(ys[i])) continue;
            double px = lp_axes_px(a, xs[i]), py = lp_axes_py(a, ys[i]);
            if (px >= cx[k] - pad && px <= cx[k] + bw + pad && py >= cy[k] - pad && py <= cy[k] + bh + pad)
                cover++;
        }
        if (best_cover < 0 || cover < best_cover) {
            best_cover = cover;
            best = k;
        }
    }
    double x = cx[best], y = cy[best];
    cairo_save(cr);
    cairo_rectangle(cr, round(x) + 0.5, round(y) + 0.5, round(bw), round(bh));
    cairo_set_source_rgba(cr, 1, 1, 1, 0.88);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
        double ly = y + pad + i * row + f / 2;
        cairo_set_source_rgb(cr, e[i].color.r, e[i].color.g, e[i].color.b);
        cairo_set_line_width(cr, 2.2);
        if (e[i].dashed) {
            double d[2] = {5, 3};
            cairo_set_dash(cr, d, 2, 0);
        }
        cairo_move_to(cr, x + pad, ly);
        cairo_line_to(cr, x + pad + sample, ly);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        lp_text(cr, x + pad * 2 + sample, ly, e[i].label, f, LP_ALIGN_LEFT, LP_VALIGN_MIDDLE, 0, 0);
    }
    cairo_restore(cr);
}
