/* Permutation trace (laperm trace), the seed's PermutationTracer: one
 * layer's kernel before and after training as two heat maps (before on top,
 * after below), and an arrow from each moved weight's old place to its new
 * one.
 *
 * LaPerm only permutes values within each weight vector (SPEC section 1), so
 * a weight's identity is its value: element i of vector j in before is the
 * element of vector j in after with the same stable rank (equal values keep
 * their order). The kernel is shown as a matrix [len, nvec] (vector j =
 * column j: Dense [in, out] as stored, Conv2D HWIO flattened to
 * [kh*kw*cin, cout]), transposed (vectors as rows) when vectors are longer
 * than they are many, so the picture is wide rather than tall. */
#include "runtime/plot.h"
#include "runtime/error.h"
#include "runtime/plot/plot_axes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Matching values ------------------------------------------------------ */

typedef struct {
    float v;
    int i;
} keyed;

static int cmp_keyed(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    int na = isnan(a->v), nb = isnan(b->v);
    if (na != nb) return na - nb;
    if (!na) {
        if (a->v < b->v) return -1;
        if (a->v > b->v) return 1;
    }
    return (a->i > b->i) - (a->i < b->i);
}

int lp_trace_match(const float *before, const float *after, int len, int stride, int *dest)
{
    if (len <= 0) return 1;
    keyed *kb = malloc(sizeof(keyed) * (size_t)len), *ka = malloc(sizeof(keyed) * (size_t)len);
    if (!kb || !ka) {
        free(kb);
        free(ka);
        return -1;
    }
    for (int i = 0; i < len; i++) {
        float b = before[(size_t)i * (size_t)stride], a = after[(size_t)i * (size_t)stride];
        kb[i] = (keyed){b == 0 ? 0.0f : b, i}; /* -0.0 ranks as +0.0 */
        ka[i] = (keyed){a == 0 ? 0.0f : a, i};
    }
    qsort(kb, (size_t)len, sizeof *kb, cmp_keyed);
    qsort(ka, (size_t)len, sizeof *ka, cmp_keyed);
    int perm = 1;
    for (int r = 0; r < len; r++) {
        dest[kb[r].i] = ka[r].i;
        if (!(kb[r].v == ka[r].v || (isnan(kb[r].v) && isnan(ka[r].v)))) perm = 0;
    }
    free(kb);
    free(ka);
    return perm;
}

/* ---- Finding the kernel ------------------------------------------------------ */

static const lp_h5_array *layer_kernel(const lp_h5_layer *L)
{
    const lp_h5_array *first = NULL;
    for (int k = 0; k < L->nweights; k++) {
        const lp_h5_array *a = &L->weights[k];
        if (a->rank < 2) continue;
        if (strstr(a->name, "kernel")) return a;
        if (!first) first = a;
    }
    return first;
}

static laperm_status find_kernel(const lp_h5_weights *w, const char *which, const char *layer,
                                 const lp_h5_array **out)
{
    for (int l = 0; l < w->nlayers; l++) {
        if (strcmp(w->layers[l].name, layer) != 0) continue;
        *out = layer_kernel(&w->layers[l]);
        if (*out) return LAPERM_OK;
        break;
    }
    char list[700];
    size_t k = 0;
    list[0] = '\0';
    int n = 0;
    for (int l = 0; l < w->nlayers; l++) {
        if (!layer_kernel(&w->layers[l])) continue;
        const char *nm = w->layers[l].name;
        if (k + strlen(nm) + 8 >= sizeof list) {
            snprintf(list + k, sizeof list - k, ", ...");
            break;
        }
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", n++ ? ", " : "", nm);
    }
    int exists = 0;
    for (int l = 0; l < w->nlayers; l++) exists |= strcmp(w->layers[l].name, layer) == 0;
    return lp_fail(LAPERM_E_ARG, "layer '%s' %s in the %s weights (layers with a kernel: %s)", layer,
                   exists ? "has no kernel" : "not found", which, n ? list : "none");
}

/* ---- Drawing ----------------------------------------------------------------- */

typedef struct {
    double x, y, s; /* top left, cell size */
    int rows, cols;
} image_rect;

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Display cell (row, col) of element i of vector j. */
static void cell_of(int vec_rows, int64_t j, int64_t i, int64_t *r, int64_t *c)
{
    if (vec_rows) {
        *r = j;
        *c = i;
    } else {
        *r = i;
        *c = j;
    }
}

static laperm_status draw_heatmap(cairo_t *cr, const image_rect *ir, const float *data, int64_t len, int64_t nvec,
                                  int vec_rows, float lo, float hi)
{
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, ir->cols, ir->rows);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return LAPERM_E_NOMEM;
    }
    cairo_surface_flush(img);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    double span = hi > lo ? (double)hi - (double)lo : 1;
    for (int64_t i = 0; i < len; i++)
        for (int64_t j = 0; j < nvec; j++) {
            float v = data[i * nvec + j];
            int64_t r, c;
            cell_of(vec_rows, j, i, &r, &c);
            lp_rgb col = isnan(v) ? (lp_rgb){1, 0, 1} : lp_viridis(((double)v - lo) / span);
            uint32_t p = (uint32_t)lround(col.r * 255) << 16 | (uint32_t)lround(col.g * 255) << 8 |
                         (uint32_t)lround(col.b * 255);
            memcpy(px + (size_t)r * (size_t)stride + (size_t)c * 4, &p, 4);
        }
    cairo_surface_mark_dirty(img);
    cairo_save(cr);
    cairo_translate(cr, ir->x, ir->y);
    cairo_scale(cr, ir->s, ir->s);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), ir->s >= 1 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_rectangle(cr, 0, 0, ir->cols, ir->rows);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, ir->x - 0.5, ir->y - 0.5, ir->cols * ir->s + 1, ir->rows * ir->s + 1);
    cairo_stroke(cr);
    return LAPERM_OK;
}

/* One vector as a horizontal strip of len cells (element i at v[i * stride]). */
static laperm_status draw_strip(cairo_t *cr, double x, double y, double w, double h, const float *v, int64_t len,
                                int64_t stride, float lo, float hi)
{
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)len, 1);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return LAPERM_E_NOMEM;
    }
    cairo_surface_flush(img);
    unsigned char *px = cairo_image_surface_get_data(img);
    double span = hi > lo ? (double)hi - (double)lo : 1;
    for (int64_t i = 0; i < len; i++) {
        float f = v[i * stride];
        lp_rgb col = isnan(f) ? (lp_rgb){1, 0, 1} : lp_viridis(((double)f - lo) / span);
        uint32_t p = (uint32_t)lround(col.r * 255) << 16 | (uint32_t)lround(col.g * 255) << 8 |
                     (uint32_t)lround(col.b * 255);
        memcpy(px + (size_t)i * 4, &p, 4);
    }
    cairo_surface_mark_dirty(img);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, w / (double)len, h);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), w >= (double)len ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
    cairo_rectangle(cr, 0, 0, (double)len, 1);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    cairo_set_source_rgb(cr, 0.86, 0.08, 0.24);
    cairo_set_line_width(cr, 1.5);
    cairo_rectangle(cr, x - 0.75, y - 0.75, w + 1.5, h + 1.5);
    cairo_stroke(cr);
    return LAPERM_OK;
}

/* Integer tick steps (1, 2, 5 x 10^k) for n indices and about want ticks. */
static void index_ticks(int n, int want, double *step, int *count)
{
    double raw = want > 0 ? (double)(n - 1) / want : (double)n;
    double m = 1, st = 1;
    while (m * 10 <= raw) m *= 10;
    if (raw <= m) st = m;
    else if (raw <= 2 * m) st = 2 * m;
    else if (raw <= 5 * m) st = 5 * m;
    else st = 10 * m;
    *step = st;
    *count = n > 0 ? (int)((n - 1) / st) + 1 : 0;
}

/* Index ticks at cell centres: columns above (top) or below the image, rows
 * at its left. */
static void draw_ticks(cairo_t *cr, const image_rect *ir, int x_on_top, const char *xlabel, const char *ylabel,
                       const char *name)
{
    const double f = 11;
    char buf[32];
    double first, step;
    int count;
    double w = ir->cols * ir->s, h = ir->rows * ir->s;
    int want = (int)(w / 70);
    if (want < 2) want = 2;
    index_ticks(ir->cols, want, &step, &count);
    first = 0;
    cairo_set_line_width(cr, 1);
    for (int k = 0; k < count; k++) {
        double v = first + k * step;
        if (v > ir->cols - 1) break;
        double px = ir->x + (v + 0.5) * ir->s;
        double y0 = x_on_top ? ir->y : ir->y + h;
        double d = x_on_top ? -4 : 4;
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
        cairo_move_to(cr, px, y0);
        cairo_line_to(cr, px, y0 + d);
        cairo_stroke(cr);
        lp_tick_label(buf, sizeof buf, v, step);
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        lp_text(cr, px, y0 + (x_on_top ? -6 : 6), buf, f, LP_ALIGN_CENTER,
                x_on_top ? LP_VALIGN_BOTTOM : LP_VALIGN_TOP, 0, 0);
    }
    int wanty = (int)(h / 28);
    if (wanty < 1) wanty = 1;
    index_ticks(ir->rows, wanty, &step, &count);
    first = 0;
    double maxw = 0;
    for (int k = 0; k < count; k++) {
        double v = first + k * step;
        if (v > ir->rows - 1) break;
        double py = ir->y + (v + 0.5) * ir->s;
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
        cairo_move_to(cr, ir->x, py);
        cairo_line_to(cr, ir->x - 4, py);
        cairo_stroke(cr);
        lp_tick_label(buf, sizeof buf, v, step);
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        double tw = lp_text(cr, ir->x - 6, py, buf, f, LP_ALIGN_RIGHT, LP_VALIGN_MIDDLE, 0, 0);
        if (tw > maxw) maxw = tw;
    }
    cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
    double yl = x_on_top ? ir->y - 22 : ir->y + h + 22;
    lp_text(cr, ir->x + w / 2, yl, xlabel, 12, LP_ALIGN_CENTER, x_on_top ? LP_VALIGN_BOTTOM : LP_VALIGN_TOP, 0, 0);
    double size = lp_text_fit(cr, ylabel, 12, 8, h > 40 ? h : 40, 0);
    lp_text(cr, ir->x - maxw - 12, ir->y + h / 2, ylabel, size, LP_ALIGN_CENTER, LP_VALIGN_BOTTOM,
            -3.14159265358979323846 / 2, 0);
    /* The panel's name, in the left margin. */
    double nx = ir->x - maxw - 50;
    if (nx < 20) nx = 20;
    lp_text(cr, nx, ir->y + h / 2, name, 15, LP_ALIGN_CENTER, LP_VALIGN_MIDDLE, -3.14159265358979323846 / 2, 1);
}

static void draw_colorbar(cairo_t *cr, double x, double y, double w, double h, float lo, float hi)
{
    int steps = (int)h;
    for (int k = 0; k < steps; k++) {
        lp_rgb c = lp_viridis(1.0 - (double)k / (steps - 1 > 0 ? steps - 1 : 1));
        cairo_set_source_rgb(cr, c.r, c.g, c.b);
        cairo_rectangle(cr, x, y + k, w, 1.5);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x - 0.5, y - 0.5, w + 1, h + 1);
    cairo_stroke(cr);
    double first, step;
    int count;
    lp_nice_ticks(lo, hi, 6, &first, &step, &count);
    char buf[32];
    double span = hi > lo ? (double)hi - (double)lo : 1;
    for (int k = 0; k < count; k++) {
        double v = first + k * step;
        double py = y + h - (v - lo) / span * h;
        cairo_move_to(cr, x + w, py);
        cairo_line_to(cr, x + w + 4, py);
        cairo_stroke(cr);
        lp_tick_label(buf, sizeof buf, v, step);
        lp_text(cr, x + w + 6, py, buf, 11, LP_ALIGN_LEFT, LP_VALIGN_MIDDLE, 0, 0);
    }
    lp_text(cr, x + w / 2, y - 8, "value", 12, LP_ALIGN_CENTER, LP_VALIGN_BOTTOM, 0, 0);
}

static void draw_arrow(cairo_t *cr, double x0, double y0, double x1, double y1, double rad, double head)
{
    double dx = x1 - x0, dy = y1 - y0;
    double d = sqrt(dx * dx + dy * dy);
    if (fabs(rad) * d > 70) rad *= 70 / (fabs(rad) * d); /* long arrows bend no further out */
    double mx = (x0 + x1) / 2 + rad * dy, my = (y0 + y1) / 2 - rad * dx; /* quadratic control point */
    cairo_move_to(cr, x0, y0);
    if (d < 1e-9) return;
    /* Stop the shaft at the head's base. */
    double tx = x1 - mx, ty = y1 - my, tl = sqrt(tx * tx + ty * ty);
    if (tl < 1e-9) tx = dx, ty = dy, tl = d;
    tx /= tl;
    ty /= tl;
    double ex = x1 - tx * head * 0.8, ey = y1 - ty * head * 0.8;
    cairo_curve_to(cr, x0 + 2.0 / 3 * (mx - x0), y0 + 2.0 / 3 * (my - y0), ex + 2.0 / 3 * (mx - ex),
                   ey + 2.0 / 3 * (my - ey), ex, ey);
    cairo_stroke(cr);
    double nx = -ty, ny = tx;
    cairo_move_to(cr, x1, y1);
    cairo_line_to(cr, x1 - tx * head + nx * head * 0.45, y1 - ty * head + ny * head * 0.45);
    cairo_line_to(cr, x1 - tx * head - nx * head * 0.45, y1 - ty * head - ny * head * 0.45);
    cairo_close_path(cr);
    cairo_fill(cr);
}

static void fmt_count(char *buf, size_t size, int64_t v)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    size_t k = 0;
    for (int i = 0; i < n && k + 1 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0 && t[0] != '-' && k + 2 < size) buf[k++] = ',';
        buf[k++] = t[i];
    }
    buf[k] = '\0';
}

laperm_status lp_plot_trace(const char *out, const lp_h5_weights *before, const lp_h5_weights *after,
                            const char *layer, int vector)
{
    if (!out || !*out) return lp_fail(LAPERM_E_ARG, "plot: empty output file name");
    if (!before || !after) return lp_fail(LAPERM_E_ARG, "%s: trace needs weights before and after", out);
    if (!layer || !*layer) return lp_fail(LAPERM_E_ARG, "%s: no layer named", out);
    const lp_h5_array *B, *A;
    laperm_status s = find_kernel(before, "before", layer, &B);
    if (!s) s = find_kernel(after, "after", layer, &A);
    if (s) return s;
    int same = B->rank == A->rank;
    for (int d = 0; same && d < B->rank; d++) same = B->shape[d] == A->shape[d];
    if (!same)
        return lp_fail(LAPERM_E_SHAPE, "layer '%s': kernel shapes differ before and after (%s vs %s)", layer,
                       B->name, A->name);
    int64_t total = 1;
    for (int d = 0; d < B->rank; d++) total *= B->shape[d];
    int64_t nvec = B->shape[B->rank - 1];
    int64_t len = nvec > 0 ? total / nvec : 0;
    if (total <= 0) return lp_fail(LAPERM_E_SHAPE, "layer '%s': empty kernel", layer);
    if (vector >= nvec)
        return lp_fail(LAPERM_E_ARG, "vector %d out of range: layer '%s' has %lld vectors (0..%lld)", vector, layer,
                       (long long)nvec, (long long)(nvec - 1));
    if (len > 32767 || nvec > 32767)
        return lp_fail(LAPERM_E_UNSUPPORTED, "layer '%s': kernel too large to draw (%lld x %lld)", layer,
                       (long long)len, (long long)nvec);

    /* Where every weight went. */
    int *dest = malloc(sizeof(int) * (size_t)total);
    if (!dest) return lp_fail(LAPERM_E_NOMEM, "%s: out of memory", out);
    int64_t not_perm = 0, moved_all = 0, moved_sel = 0;
    for (int64_t j = 0; j < nvec; j++) {
        int *d = dest + j * len;
        int r = lp_trace_match(B->data + j, A->data + j, (int)len, (int)nvec, d);
        if (r < 0) {
            free(dest);
            return lp_fail(LAPERM_E_NOMEM, "%s: out of memory", out);
        }
        not_perm += r == 0;
        for (int64_t i = 0; i < len; i++)
            if (d[i] != i) {
                moved_all++;
                if (vector < 0 || j == vector) moved_sel++;
            }
    }
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < total; i++) {
        float v[2] = {B->data[i], A->data[i]};
        for (int k = 0; k < 2; k++) {
            if (!isfinite(v[k])) continue;
            if (v[k] < lo) lo = v[k];
            if (v[k] > hi) hi = v[k];
        }
    }
    if (!(lo <= hi)) lo = 0, hi = 1;

    lp_canvas c;
    s = lp_canvas_open(&c, out, LP_PLOT_TRACE_W, LP_PLOT_TRACE_H);
    if (s) {
        free(dest);
        return s;
    }
    cairo_t *cr = c.cr;
    int vec_rows = len > nvec;
    int rows = (int)(vec_rows ? nvec : len), cols = (int)(vec_rows ? len : nvec);

    /* Title. */
    char shape[96] = "[", title[LP_H5_NAME_MAX + 256];
    for (int d = 0; d < B->rank; d++) {
        size_t k = strlen(shape);
        snprintf(shape + k, sizeof shape - k, "%s%lld", d ? ", " : "", (long long)B->shape[d]);
    }
    strncat(shape, "]", sizeof shape - strlen(shape) - 1);
    snprintf(title, sizeof title, "%s %s: before (top) and after (bottom), %lld vectors of %lld as %s", layer, shape,
             (long long)nvec, (long long)len, vec_rows ? "rows" : "columns");
    cairo_set_source_rgb(cr, 0, 0, 0);
    double tsize = lp_text_fit(cr, title, 17, 9, LP_PLOT_TRACE_W - 40, 1);
    lp_text(cr, LP_PLOT_TRACE_W / 2.0, 26, title, tsize, LP_ALIGN_CENTER, LP_VALIGN_MIDDLE, 0, 1);

    /* Layout, top to bottom: before's heat map, [vector J before as a
     * strip, the arrows' gap, vector J after as a strip] or [the arrows'
     * gap], after's heat map; the group is centred vertically. */
    const double bx = 130, bw = LP_PLOT_TRACE_W - bx - 150;
    const double area_top = 112, area_h = LP_PLOT_TRACE_H - 150 - area_top;
    const double strip_h = 24, link = 46;
    double max_ih = vector >= 0 ? 250 : 360;
    double sc = bw / cols;
    if (max_ih / rows < sc) sc = max_ih / rows;
    double iw = cols * sc, ih = rows * sc;
    double gap, group_h;
    if (vector >= 0) {
        gap = area_h - 2 * ih - 2 * link - 2 * strip_h;
        if (gap > 360) gap = 360;
        if (gap < 150) gap = 150;
        group_h = 2 * ih + 2 * link + 2 * strip_h + gap;
    } else {
        gap = area_h - 2 * ih;
        if (gap > 400) gap = 400;
        if (gap < 190) gap = 190;
        group_h = 2 * ih + gap;
    }
    double y0 = area_top + (area_h - group_h) / 2;
    image_rect top = {bx + (bw - iw) / 2, y0, sc, rows, cols};
    image_rect bot = {bx + (bw - iw) / 2, y0 + group_h - ih, sc, rows, cols};
    /* The strips: len cells; under vectors-as-rows they line up with the
     * heat maps' columns. */
    double sx = vec_rows ? top.x : bx, sw = vec_rows ? iw : bw;
    double strip_top = y0 + ih + link, strip_bot = strip_top + strip_h + gap;

    s = draw_heatmap(cr, &top, B->data, len, nvec, vec_rows, lo, hi);
    if (!s) s = draw_heatmap(cr, &bot, A->data, len, nvec, vec_rows, lo, hi);
    if (!s && vector >= 0) {
        s = draw_strip(cr, sx, strip_top, sw, strip_h, B->data + vector, len, nvec, lo, hi);
        if (!s) s = draw_strip(cr, sx, strip_bot, sw, strip_h, A->data + vector, len, nvec, lo, hi);
    }
    if (s) {
        free(dest);
        lp_canvas_abort(&c);
        return lp_fail(LAPERM_E_NOMEM, "%s: out of memory", out);
    }
    const char *xl = vec_rows ? "position in vector" : "vector";
    const char *yl = vec_rows ? "vector" : "position in vector";
    draw_ticks(cr, &top, 1, xl, yl, "before");
    draw_ticks(cr, &bot, 0, xl, yl, "after");
    draw_colorbar(cr, LP_PLOT_TRACE_W - 105, y0 + 30, 22, group_h - 60, lo, hi);

    /* The chosen vector, outlined in both images, and zoom lines from the
     * outlines to the strips. */
    if (vector >= 0) {
        char lab[64];
        snprintf(lab, sizeof lab, "vector %d", vector);
        for (int k = 0; k < 2; k++) {
            const image_rect *ir = k ? &bot : &top;
            double ox, oy, ow, oh;
            if (vec_rows)
                ox = ir->x - 2, oy = ir->y + vector * ir->s - 2, ow = cols * ir->s + 4, oh = ir->s + 4;
            else
                ox = ir->x + vector * ir->s - 2, oy = ir->y - 2, ow = ir->s + 4, oh = rows * ir->s + 4;
            double sy = k ? strip_bot : strip_top;
            cairo_set_source_rgba(cr, 0.4, 0.4, 0.4, 0.8);
            cairo_set_line_width(cr, 1);
            double dash[2] = {4, 3};
            cairo_set_dash(cr, dash, 2, 0);
            double ey = k ? oy : oy + oh, fy = k ? sy + strip_h : sy;
            cairo_move_to(cr, ox, ey);
            cairo_line_to(cr, sx, fy);
            cairo_move_to(cr, ox + ow, ey);
            cairo_line_to(cr, sx + sw, fy);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            cairo_set_source_rgb(cr, 0.86, 0.08, 0.24);
            cairo_set_line_width(cr, 2);
            cairo_rectangle(cr, ox, oy, ow, oh);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
            lp_text(cr, sx - 8, sy + strip_h / 2 - 7, lab, 12, LP_ALIGN_RIGHT, LP_VALIGN_MIDDLE, 0, 1);
            lp_text(cr, sx - 8, sy + strip_h / 2 + 8, k ? "after" : "before", 11, LP_ALIGN_RIGHT, LP_VALIGN_MIDDLE,
                    0, 0);
        }
    }

    /* Arrows: every moved weight of the chosen vectors, evenly thinned to
     * LP_PLOT_TRACE_MAX_ARROWS; between the strips for one vector, between
     * the heat maps' cells for all. */
    int64_t ndraw = moved_sel < LP_PLOT_TRACE_MAX_ARROWS ? moved_sel : LP_PLOT_TRACE_MAX_ARROWS;
    double width = ndraw <= 100 ? 1.6 : ndraw <= 1000 ? 1.0 : 0.7;
    double alpha = ndraw <= 100 ? 0.9 : ndraw <= 1000 ? 0.6 : 0.35;
    double head = ndraw <= 100 ? 9 : ndraw <= 1000 ? 6 : 4.5;
    double cell = vector >= 0 ? sw / (double)len : sc;
    if (head > cell * 1.5 + 3) head = cell * 1.5 + 3;
    cairo_set_line_width(cr, width);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    int64_t m = 0, drawn = 0;
    for (int64_t j = (vector >= 0 ? vector : 0); j < (vector >= 0 ? vector + 1 : nvec); j++) {
        const int *d = dest + j * len;
        for (int64_t i = 0; i < len; i++) {
            if (d[i] == i) continue;
            /* take moved weight m when it starts a new share of ndraw */
            int take = moved_sel <= ndraw || (m * ndraw) / moved_sel != ((m + 1) * ndraw) / moved_sel;
            m++;
            if (!take || drawn >= ndraw) continue;
            drawn++;
            uint64_t h = mix((uint64_t)(j * len + i));
            lp_rgb col = (h & 1) ? (lp_rgb){64 / 255.0, 224 / 255.0, 208 / 255.0} /* turquoise */
                                 : (lp_rgb){1.0, 140 / 255.0, 0};                /* darkorange */
            double rad = ((double)((h >> 8) & 0xffff) / 65535.0 * 2 - 1) * 0.2;
            cairo_set_source_rgba(cr, col.r, col.g, col.b, alpha);
            if (vector >= 0) {
                draw_arrow(cr, sx + (i + 0.5) * cell, strip_top + strip_h, sx + (d[i] + 0.5) * cell, strip_bot,
                           rad, head);
            } else {
                int64_t r0, c0, r1, c1;
                cell_of(vec_rows, j, i, &r0, &c0);
                cell_of(vec_rows, j, d[i], &r1, &c1);
                draw_arrow(cr, top.x + (c0 + 0.5) * sc, top.y + (r0 + 0.5) * sc, bot.x + (c1 + 0.5) * sc,
                           bot.y + (r1 + 0.5) * sc, rad, head);
            }
        }
    }

    /* Caption. */
    char a1[32], a2[32], a3[32], line[512];
    double cy = LP_PLOT_TRACE_H - 78;
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    if (vector >= 0) {
        fmt_count(a1, sizeof a1, moved_sel);
        fmt_count(a2, sizeof a2, len);
        fmt_count(a3, sizeof a3, moved_all);
        char a4[32];
        fmt_count(a4, sizeof a4, total);
        snprintf(line, sizeof line,
                 "vector %d (%s %d, outlined): %s of %s weights moved, arrows from old place to new place "
                 "(all vectors: %s of %s moved)",
                 vector, vec_rows ? "row" : "column", vector, a1, a2, a3, a4);
    } else {
        fmt_count(a1, sizeof a1, moved_all);
        fmt_count(a2, sizeof a2, total);
        snprintf(line, sizeof line, "all %lld vectors: %s of %s weights moved, arrows from old place to new place",
                 (long long)nvec, a1, a2);
    }
    double lsize = lp_text_fit(cr, line, 14, 9, LP_PLOT_TRACE_W - 40, 0);
    lp_text(cr, LP_PLOT_TRACE_W / 2.0, cy, line, lsize, LP_ALIGN_CENTER, LP_VALIGN_MIDDLE, 0, 0);
    cy += 24;
    if (drawn < moved_sel) {
        fmt_count(a1, sizeof a1, drawn);
        fmt_count(a2, sizeof a2, moved_sel);
        fmt_count(a3, sizeof a3, moved_sel - drawn);
        snprintf(line, sizeof line, "%s of %s arrows drawn (evenly spaced); %s more moved weights not drawn", a1, a2,
                 a3);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        lp_text(cr, LP_PLOT_TRACE_W / 2.0, cy, line, 13, LP_ALIGN_CENTER, LP_VALIGN_MIDDLE, 0, 0);
        cy += 22;
    }
    if (not_perm) {
        snprintf(line, sizeof line,
                 "warning: %lld of %lld vectors after are not permutations of before (matched by rank only)",
                 (long long)not_perm, (long long)nvec);
        cairo_set_source_rgb(cr, 0.8, 0.1, 0.1);
        lp_text(cr, LP_PLOT_TRACE_W / 2.0, cy, line, 13, LP_ALIGN_CENTER, LP_VALIGN_MIDDLE, 0, 1);
    }
    free(dest);
    return lp_canvas_close(&c);
}
