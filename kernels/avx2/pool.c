/* AVX2 max pooling (the AVX-512 table keeps it): the drivers of
 * kernels/common/maxpool.h with 8 channels per vector. Forward: MAXPS
 * returns its second operand when either is NaN, so max(x_i, y) is the
 * scalar x_i > y ? x_i : y. Backward: the first maximum by strict '>'
 * compares, a blend of the position per lane, then 0 + (dy where the
 * position matches) stored to every pixel of the window. */
#include "kernels/avx2/avx2.h"

#include <immintrin.h>
#include <stddef.h>

static int lpp_fwd_vec(const float *x0, const ptrdiff_t *off, int nk, int c, float *yo)
{
    int ci = 0;
    for (; ci + 8 <= c; ci += 8) {
        __m256 m = _mm256_loadu_ps(x0 + ci);
        for (int k = 1; k < nk; k++) m = _mm256_max_ps(_mm256_loadu_ps(x0 + off[k] + ci), m);
        _mm256_storeu_ps(yo + ci, m);
    }
    return ci;
}

static int lpp_bwd_vec(const float *x0, const float *d, float *dx0, size_t row, int c, int kh, int kw)
{
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
    return ci;
}

#include "kernels/common/maxpool.h"

void lp_avx2_maxpool_fwd(const lp_conv_geom *g, const float *x, float *y) { lpp_maxpool_fwd(g, x, y); }

void lp_avx2_maxpool_bwd(const lp_conv_geom *g, const float *x, const float *y, const float *dy, float *dx)
{
    lpp_maxpool_bwd(g, x, y, dy, dx);
}
