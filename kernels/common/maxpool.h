/* Max pooling drivers shared by the ISA folders (kernels/avx2/pool.c,
 * kernels/neon/pool.c): included by one .c file per ISA after it defines
 *
 *   static int lpp_fwd_vec(const float *x0, const ptrdiff_t *off, int nk, int c, float *yo);
 *   static int lpp_bwd_vec(const float *x0, const float *d, float *dx0, size_t row, int c,
 *                          int kh, int kw);
 *
 * which do channels [0, k) of one window with vectors and return k (a
 * multiple of the vector width); the drivers do the rest per channel with
 * the scalar rule. Bit-identical to kernels/scalar/pool.c and independent
 * of the thread count.
 *
 * Forward: per output pixel, the running maximum x_i > y ? x_i : y over the
 * window's pixels in (ky, kx) order (nk <= LPP_MAXK; larger windows take
 * the scalar kernel).
 *
 * Backward, for windows that tile the image (kh == sh, kw == sw: every
 * input pixel in at most one window, conv2/conv4/conv13's 2x2 pools): per
 * window the first maximum in (ky, kx) order by strict '>' gets 0 + dy and
 * every other pixel of the window 0, so each dx element is written once
 * (the scalar kernel clears dx and adds dy to the maximum: the same bits,
 * -0.0 + 0 included); pixels no window covers (h or w not a multiple of
 * the stride) are cleared. That replaces the scalar kernel's clear of the
 * whole image plus a scattered add per channel (5 GB/s on conv13's first
 * pool with AVX2). Overlapping windows (stride < window: gradients add up)
 * and outputs without a window keep the scalar kernel. */
#ifndef LAPERM_KERNELS_COMMON_MAXPOOL_H
#define LAPERM_KERNELS_COMMON_MAXPOOL_H

#include "kernels/scalar/scalar.h"

#include <stddef.h>
#include <string.h>

#define LPP_PAR_MIN 16384 /* floats of output below which a pool stays on one thread */
#define LPP_MAXK 64       /* window pixels of the vector forward */

static inline const float *lpp_px(const lp_conv_geom *g, const float *x, int n, int iy, int ix)
{
    return x + (((size_t)n * g->h + iy) * g->w + ix) * g->c;
}

static void lpp_maxpool_fwd(const lp_conv_geom *g, const float *x, float *y)
{
    const int c = g->c, nk = g->kh * g->kw;
    if (nk > LPP_MAXK) {
        lp_scalar_maxpool_fwd(g, x, y);
        return;
    }
    const long rows = (long)g->n * g->oh;
#pragma omp parallel for schedule(static) if (rows * g->ow * (long)c > LPP_PAR_MIN)
    for (long r = 0; r < rows; r++) {
        const int n = (int)(r / g->oh), oy = (int)(r % g->oh);
        ptrdiff_t off[LPP_MAXK]; /* the window's pixels from its first, (ky, kx) order */
        for (int k = 0; k < nk; k++) off[k] = ((ptrdiff_t)(k / g->kw) * g->w + k % g->kw) * c;
        for (int ox = 0; ox < g->ow; ox++) {
            float *yo = y + ((size_t)r * g->ow + ox) * c;
            const float *x0 = lpp_px(g, x, n, oy * g->sh, ox * g->sw);
            for (int ci = lpp_fwd_vec(x0, off, nk, c, yo); ci < c; ci++) {
                float m = x0[ci];
                for (int k = 1; k < nk; k++) m = x0[off[k] + ci] > m ? x0[off[k] + ci] : m;
                yo[ci] = m;
            }
        }
    }
}

/* One window: top-left pixel at x0 / dx0, image rows `row` floats apart. */
static void lpp_window_bwd(const lp_conv_geom *g, const float *x0, const float *d, float *dx0,
                           size_t row)
{
    const int c = g->c, kh = g->kh, kw = g->kw;
    for (int ci = lpp_bwd_vec(x0, d, dx0, row, c, kh, kw); ci < c; ci++) {
        float best = x0[ci];
        int arg = 0;
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                const float v = x0[ky * row + (size_t)kx * c + ci];
                if (v > best) {
                    best = v;
                    arg = ky * kw + kx;
                }
            }
        for (int p = 0; p < kh * kw; p++) dx0[(p / kw) * row + (size_t)(p % kw) * c + ci] = 0.0f;
        dx0[(arg / kw) * row + (size_t)(arg % kw) * c + ci] = 0.0f + d[ci];
    }
}

static void lpp_maxpool_bwd(const lp_conv_geom *g, const float *x, const float *y, const float *dy,
                            float *dx)
{
    if (g->kh != g->sh || g->kw != g->sw || g->oh <= 0 || g->ow <= 0) {
        lp_scalar_maxpool_bwd(g, x, y, dy, dx);
        return;
    }
    const int c = g->c;
    const size_t row = (size_t)g->w * c;                    /* floats of one image row */
    const size_t tail = (size_t)(g->w - g->ow * g->sw) * c; /* floats right of the last window */
    const long rows = (long)g->n * g->oh;
#pragma omp parallel for schedule(static) if (rows * g->ow * (long)c > LPP_PAR_MIN)
    for (long r = 0; r < rows; r++) {
        const int n = (int)(r / g->oh), oy = (int)(r % g->oh);
        for (int ox = 0; ox < g->ow; ox++) {
            const size_t at = (size_t)(lpp_px(g, x, n, oy * g->sh, ox * g->sw) - x);
            lpp_window_bwd(g, x + at, dy + ((size_t)r * g->ow + ox) * c, dx + at, row);
        }
        if (tail)
            for (int ky = 0; ky < g->kh; ky++)
                memset(dx + (lpp_px(g, x, n, oy * g->sh + ky, g->ow * g->sw) - x), 0, tail * sizeof(float));
        if (oy == g->oh - 1 && g->h > g->oh * g->sh) /* rows below the last windows */
            memset(dx + (lpp_px(g, x, n, g->oh * g->sh, 0) - x), 0,
                   (size_t)(g->h - g->oh * g->sh) * row * sizeof(float));
    }
}

#endif
