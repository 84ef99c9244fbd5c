/* Max and average pooling over NHWC images, valid windows (no padding).
 * Backward passes scatter into dx image by image: the loop is parallel over
 * images, each image's windows run in a fixed order, so overlapping windows
 * (stride < window) sum the same way for any thread count. Max pooling
 * backward routes each gradient to the first maximum of its window in
 * row-major (ky, kx) order, recomputed from x with strict '>' (TF's rule). */
#include "kernels/scalar/scalar.h"

#include <string.h>

#define POOL_CB 64 /* channels per block of the max search */

static inline const float *pool_in(const lp_conv_geom *g, const float *x, int n, int iy, int ix)
{
    return x + (((size_t)n * g->h + iy) * g->w + ix) * g->c;
}

void lp_scalar_maxpool_fwd(const lp_conv_geom *g, const float *x, float *y)
{
    const int c = g->c;
    const long rows = (long)g->n * g->oh;
#pragma omp parallel for schedule(static) if (rows * g->ow * (long)c > 16384)
    for (long r = 0; r < rows; r++) {
        int n = (int)(r / g->oh), oy = (int)(r % g->oh);
        for (int ox = 0; ox < g->ow; ox++) {
            float *restrict yo = y + ((size_t)r * g->ow + ox) * c;
            const float *x0 = pool_in(g, x, n, oy * g->sh, ox * g->sw);
            memcpy(yo, x0, sizeof(float) * (size_t)c);
            for (int ky = 0; ky < g->kh; ky++)
                for (int kx = 0; kx < g->kw; kx++) {
                    if (ky == 0 && kx == 0) continue;
                    const float *restrict xi =
                        pool_in(g, x, n, oy * g->sh + ky, ox * g->sw + kx);
                    for (int ci = 0; ci < c; ci++) yo[ci] = xi[ci] > yo[ci] ? xi[ci] : yo[ci];
                }
        }
    }
}

void lp_scalar_maxpool_bwd(const lp_conv_geom *g, const float *x, const float *y,
                           const float *dy, float *dx)
{
    (void)y; /* the argmax is recomputed from x (first max wins) */
    const int c = g->c;
    const size_t img = (size_t)g->h * g->w * c;
#pragma omp parallel for schedule(static) if ((size_t)g->n * img > 16384)
    for (int n = 0; n < g->n; n++) {
        memset(dx + (size_t)n * img, 0, sizeof(float) * img);
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                const float *d = dy + (((size_t)n * g->oh + oy) * g->ow + ox) * c;
                for (int c0 = 0; c0 < c; c0 += POOL_CB) {
                    int cb = c - c0 < POOL_CB ? c - c0 : POOL_CB;
                    float best[POOL_CB];
                    int arg[POOL_CB];
                    const float *x0 = pool_in(g, x, n, oy * g->sh, ox * g->sw) + c0;
                    for (int ci = 0; ci < cb; ci++) {
                        best[ci] = x0[ci];
                        arg[ci] = 0;
                    }
                    for (int ky = 0; ky < g->kh; ky++)
                        for (int kx = 0; kx < g->kw; kx++) {
                            const float *xi =
                                pool_in(g, x, n, oy * g->sh + ky, ox * g->sw + kx) + c0;
                            int pos = ky * g->kw + kx;
                            for (int ci = 0; ci < cb; ci++)
                                if (xi[ci] > best[ci]) {
                                    best[ci] = xi[ci];
                                    arg[ci] = pos;
                                }
                        }
                    for (int ci = 0; ci < cb; ci++) {
                        int ky = arg[ci] / g->kw, kx = arg[ci] % g->kw;
                        size_t at = (((size_t)n * g->h + oy * g->sh + ky) * g->w + ox * g->sw + kx) * c;
                        dx[at + c0 + ci] += d[c0 + ci];
                    }
                }
            }
    }
}

void lp_scalar_avgpool_fwd(const lp_conv_geom *g, const float *x, float *y)
{
    const int c = g->c;
    const float area = (float)(g->kh * g->kw);
    const long rows = (long)g->n * g->oh;
#pragma omp parallel for schedule(static) if (rows * g->ow * (long)c > 16384)
    for (long r = 0; r < rows; r++) {
        int n = (int)(r / g->oh), oy = (int)(r % g->oh);
        for (int ox = 0; ox < g->ow; ox++) {
            float *restrict yo = y + ((size_t)r * g->ow + ox) * c;
            for (int ci = 0; ci < c; ci++) yo[ci] = 0.0f;
            for (int ky = 0; ky < g->kh; ky++)
                for (int kx = 0; kx < g->kw; kx++) {
                    const float *restrict xi =
                        pool_in(g, x, n, oy * g->sh + ky, ox * g->sw + kx);
                    for (int ci = 0; ci < c; ci++) yo[ci] += xi[ci];
                }
            for (int ci = 0; ci < c; ci++) yo[ci] /= area;
        }
    }
}

void lp_scalar_avgpool_bwd(const lp_conv_geom *g, const float *dy, float *dx)
{
    const int c = g->c;
    const size_t img = (size_t)g->h * g->w * c;
    const float area = (float)(g->kh * g->kw);
#pragma omp parallel for schedule(static) if ((size_t)g->n * img > 16384)
    for (int n = 0; n < g->n; n++) {
        memset(dx + (size_t)n * img, 0, sizeof(float) * img);
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                const float *restrict d = dy + (((size_t)n * g->oh + oy) * g->ow + ox) * c;
                for (int ky = 0; ky < g->kh; ky++)
                    for (int kx = 0; kx < g->kw; kx++) {
                        float *restrict xi = dx + (((size_t)n * g->h + oy * g->sh + ky) * g->w +
                                                   ox * g->sw + kx) * c;
                        for (int ci = 0; ci < c; ci++) xi[ci] += d[ci] / area;
                    }
            }
    }
}
