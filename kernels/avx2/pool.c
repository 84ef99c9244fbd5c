/* AVX2 max pooling over NHWC images (valid windows), bit-identical to
 * kernels/scalar/pool.c and independent of the thread count.
 *
 * Forward: per output pixel, 8 channels at a time, the running maximum
 * max(x_i, y) = x_i > y ? x_i : y (MAXPS returns its second operand when
 * either is NaN: the scalar rule).
 *
 * Backward, for windows that tile the image (kh == sh, kw == sw: every
 * input pixel in at most one window, conv2/conv4/conv13's 2x2 pools): per
 * window and 8 channels, the first maximum in (ky, kx) order is found with
 * strict '>' compares as in the scalar kernel, and every pixel of the
 * window is written once: 0 + dy where it is the maximum, 0 elsewhere (the
 * scalar kernel clears dx and adds dy to the maximum: the same bits,
 * -0.0 + 0 included). Pixels no window covers (h or w not a multiple of
 * the stride) are cleared. This replaces the scalar kernel's clear of the
 * whole image plus a scattered add per channel, 5 GB/s on conv13's first
 * pool. Overlapping windows (stride < window: gradients add up) keep the
 * scalar kernel. */
#include "kernels/avx2/avx2.h"

#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#define POOL_PAR_MIN 16384 /* floats of output below which a pool stays on one thread */
#define POOL_MAXK 64       /* window pixels of the vector forward (larger: scalar) */

static inline const float *px(const lp_conv_geom *g, const float *x, int n, int iy, int ix)
{
    return x + (((size_t)n * g->h + iy) * g->w + ix) * g->c;
}

void lp_avx2_maxpool_fwd(const lp_conv_geom *g, const float *x, float *y)
{
    const int c = g->c, nk = g->kh * g->kw;
    if (nk > POOL_MAXK) {
        lp_scalar_maxpool_fwd(g, x, y);
        return;
    }
    const long rows = (long)g->n * g->oh;
#pragma omp parallel for schedule(static) if (rows * g->ow * (long)c > POOL_PAR_MIN)
    for (long r = 0; r < rows; r++) {
        const int n = (int)(r / g->oh), oy = (int)(r % g->oh);
        ptrdiff_t off[POOL_MAXK]; /* the window's pixels from its first, (ky, kx) order */
        for (int k = 0; k < nk; k++) off[k] = ((ptrdiff_t)(k / g->kw) * g->w + k % g->kw) * c;
        for (int ox = 0; ox < g->ow; ox++) {
            float *yo = y + ((size_t)r * g->ow + ox) * c;
            const float *x0 = px(g, x, n, oy * g->sh, ox * g->sw);
            int ci = 0;
            for (; ci + 8 <= c; ci += 8) {
                __m256 m = _mm256_loadu_ps(x0 + ci);
                for (int k = 1; k < nk; k++) m = _mm256_max_ps(_mm256_loadu_ps(x0 + off[k] + ci), m);
                _mm256_storeu_ps(yo + ci, m);
            }
            for (; ci < c; ci++) {
                float m = x0[ci];
                for (int k = 1; k < nk; k++) m = x0[off[k] + ci] > m ? x0[off[k] + ci] : m;
                yo[ci] = m;
            }
        }
    }
}

/* One window (its top-left input pixel at x0 / dx0, pixel rows `row`
 * floats apart), channels [0, c). */
static void window_bwd(const lp_conv_geom *g, const float *x0, const float *d, float *dx0, size_t row)
{
    const int c = g->c, kh = g->kh, kw = g->kw;
    const __m256 z = _mm256_setzero_ps();
    int ci = 0;
    for (; ci + 8 <= c; ci += 8) {
        __m256 best = _mm256_loadu_ps(x0 + ci);
        __m256i arg = _mm256_setzero_si256();
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                if (!ky && !kx) continue;
                const __m256 v = _mm256_loadu_ps(x0 + ky * row + (size_t)kx * c + ci);
                const __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
                best = _mm256_blendv_ps(best, v, gt);
                arg = _mm256_blendv_epi8(arg, _mm256_set1_epi32(ky * kw + kx), _mm256_castps_si256(gt));
            }
        const __m256 dv = _mm256_loadu_ps(d + ci);
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                const __m256 at = _mm256_castsi256_ps(_mm256_cmpeq_epi32(arg, _mm256_set1_epi32(ky * kw + kx)));
                _mm256_storeu_ps(dx0 + ky * row + (size_t)kx * c + ci, _mm256_add_ps(z, _mm256_and_ps(at, dv)));
            }
    }
    for (; ci < c; ci++) {
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

void lp_avx2_maxpool_bwd(const lp_conv_geom *g, const float *x, const float *y, const float *dy, float *dx)
{
    if (g->kh != g->sh || g->kw != g->sw || g->oh <= 0 || g->ow <= 0) {
        /* overlapping (or gapped) windows; no window at all */
        lp_scalar_maxpool_bwd(g, x, y, dy, dx);
        return;
    }
    const int c = g->c;
    const size_t row = (size_t)g->w * c;              /* floats of one image row */
    const size_t tail = (size_t)(g->w - g->ow * g->sw) * c; /* floats right of the last window */
    const long rows = (long)g->n * g->oh;
#pragma omp parallel for schedule(static) if (rows * g->ow * (long)c > POOL_PAR_MIN)
    for (long r = 0; r < rows; r++) {
        const int n = (int)(r / g->oh), oy = (int)(r % g->oh);
        for (int ox = 0; ox < g->ow; ox++)
            window_bwd(g, px(g, x, n, oy * g->sh, ox * g->sw), dy + ((size_t)r * g->ow + ox) * c,
                       dx + (px(g, x, n, oy * g->sh, ox * g->sw) - x), row);
        if (tail)
            for (int ky = 0; ky < g->kh; ky++)
                memset(dx + (px(g, x, n, oy * g->sh + ky, g->ow * g->sw) - x), 0, tail * sizeof(float));
        if (oy == g->oh - 1 && g->h > g->oh * g->sh) /* rows below the last windows */
            memset(dx + (px(g, x, n, g->oh * g->sh, 0) - x), 0,
                   (size_t)(g->h - g->oh * g->sh) * row * sizeof(float));
    }
}
