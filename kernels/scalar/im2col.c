/* im2col / col2im for NHWC images, TF padding (zeros outside the image).
 *
 * col[(n, oy, ox), (ky, kx, ci)] = x[n, oy*sh - pad_top + ky, ox*sw - pad_left + kx, ci]
 *
 * col2im is written as a gather: every input pixel sums, in (ky, kx) order,
 * the col entries that read it. Each dx element is owned by one iteration, so
 * the loop is parallel over input rows and bitwise independent of threads. */
#include "kernels/scalar/scalar.h"

#include <string.h>

void lp_scalar_im2col(const lp_conv_geom *g, const float *x, float *col)
{
    const int c = g->c, kh = g->kh, kw = g->kw;
    const size_t krow = (size_t)kh * kw * c;
    const long rows = (long)g->n * g->oh;
#pragma omp parallel for schedule(static) if (rows * g->ow * (long)krow > 32768)
    for (long r = 0; r < rows; r++) {
        int n = (int)(r / g->oh), oy = (int)(r % g->oh);
        const float *xn = x + (size_t)n * g->h * g->w * c;
        float *dst = col + (size_t)r * g->ow * krow;
        for (int ox = 0; ox < g->ow; ox++, dst += krow) {
            int ix0 = ox * g->sw - g->pad_left;
            for (int ky = 0; ky < kh; ky++) {
                int iy = oy * g->sh - g->pad_top + ky;
                float *d = dst + (size_t)ky * kw * c;
                if (iy < 0 || iy >= g->h) {
                    memset(d, 0, sizeof(float) * (size_t)kw * c);
                    continue;
                }
                const float *xrow = xn + (size_t)iy * g->w * c;
                if (ix0 >= 0 && ix0 + kw <= g->w) {
                    memcpy(d, xrow + (size_t)ix0 * c, sizeof(float) * (size_t)kw * c);
                    continue;
                }
                for (int kx = 0; kx < kw; kx++) {
                    int ix = ix0 + kx;
                    if (ix < 0 || ix >= g->w)
                        memset(d + (size_t)kx * c, 0, sizeof(float) * (size_t)c);
                    else
                        memcpy(d + (size_t)kx * c, xrow + (size_t)ix * c, sizeof(float) * (size_t)c);
                }
            }
        }
    }
}

void lp_scalar_col2im(const lp_conv_geom *g, const float *col, float *dx)
{
    const int c = g->c, kh = g->kh, kw = g->kw;
    const size_t krow = (size_t)kh * kw * c;
    const long rows = (long)g->n * g->h;
#pragma omp parallel for schedule(static) if (rows * g->w * (long)krow > 32768)
    for (long r = 0; r < rows; r++) {
        int n = (int)(r / g->h), iy = (int)(r % g->h);
        float *drow = dx + (size_t)r * g->w * c;
        memset(drow, 0, sizeof(float) * (size_t)g->w * c);
        const float *coln = col + (size_t)n * g->oh * g->ow * krow;
        for (int ky = 0; ky < kh; ky++) {
            int ty = iy + g->pad_top - ky;
            if (ty < 0 || ty % g->sh) continue;
            int oy = ty / g->sh;
            if (oy >= g->oh) continue;
            for (int ix = 0; ix < g->w; ix++) {
                float *restrict d = drow + (size_t)ix * c;
                for (int kx = 0; kx < kw; kx++) {
                    int tx = ix + g->pad_left - kx;
                    if (tx < 0 || tx % g->sw) continue;
                    int ox = tx / g->sw;
                    if (ox >= g->ow) continue;
                    const float *restrict s =
                        coln + ((size_t)oy * g->ow + ox) * krow + ((size_t)ky * kw + kx) * c;
                    for (int ci = 0; ci < c; ci++) d[ci] += s[ci];
                }
            }
        }
    }
}
