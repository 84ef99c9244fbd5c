/* AVX2 element-wise kernels: ReLU, dropout, bias add/grad, axpy, add,
 * sumsq, Adam, 8 floats per vector (the AVX-512 table keeps them): the
 * drivers of kernels/common/eltwise.h, bit-identical to kernels/scalar and
 * independent of the thread count. */
#include "kernels/avx2/avx2.h"
#include "kernels/common/eltwise.h"

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static size_t lpe_relu_fwd_vec(size_t i, size_t i1, const float *x, float *y)
{
    const __m256 z = _mm256_setzero_ps();
    for (; i + 8 <= i1; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        /* x < 0 ? 0 : x (NaN and -0.0 pass through) */
        _mm256_storeu_ps(y + i, _mm256_andnot_ps(_mm256_cmp_ps(v, z, _CMP_LT_OQ), v));
    }
    return i;
}

static size_t lpe_relu_bwd_vec(size_t i, size_t i1, const float *y, const float *dy, float *dx)
{
    const __m256 z = _mm256_setzero_ps();
    for (; i + 8 <= i1; i += 8) {
        __m256 m = _mm256_cmp_ps(_mm256_loadu_ps(y + i), z, _CMP_GT_OQ);
        _mm256_storeu_ps(dx + i, _mm256_and_ps(m, _mm256_loadu_ps(dy + i)));
    }
    return i;
}

static size_t lpe_dropout_vec(size_t i, size_t i1, const float *x, const uint8_t *mask,
                              float scale, float *y)
{
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256i z = _mm256_setzero_si256(), ones = _mm256_set1_epi32(-1);
    for (; i + 8 <= i1; i += 8) {
        uint64_t mb;
        memcpy(&mb, mask + i, 8);
        __m256i m32 = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)mb));
        __m256 keep = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_cmpeq_epi32(m32, z), ones));
        _mm256_storeu_ps(y + i, _mm256_and_ps(keep, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs)));
    }
    return i;
}

static size_t lpe_axpy_vec(size_t i, size_t i1, float a, const float *x, float *y)
{
    const __m256 va = _mm256_set1_ps(a);
    for (; i + 8 <= i1; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i),
                                              _mm256_mul_ps(va, _mm256_loadu_ps(x + i))));
    return i;
}

static size_t lpe_add_vec(size_t i, size_t i1, const float *a, const float *b, float *y)
{
    for (; i + 8 <= i1; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    return i;
}

static size_t lpe_adam_vec(size_t i, size_t i1, float *w, const float *g, float *m, float *v,
                           float lr_t, float b1, float b2, float eps)
{
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
    const __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2);
    const __m256 vc1 = _mm256_set1_ps(c1), vc2 = _mm256_set1_ps(c2);
    const __m256 vlr = _mm256_set1_ps(lr_t), veps = _mm256_set1_ps(eps);
    for (; i + 8 <= i1; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(vc1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)),
                                  _mm256_mul_ps(_mm256_mul_ps(vc2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 step =
            _mm256_div_ps(_mm256_mul_ps(vlr, mi), _mm256_add_ps(_mm256_sqrt_ps(vi), veps));
        _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i), step));
    }
    return i;
}

static int lpe_bias_add_vec(float *yr, const float *b, int cols)
{
    int j = 0;
    for (; j + 8 <= cols; j += 8)
        _mm256_storeu_ps(yr + j, _mm256_add_ps(_mm256_loadu_ps(yr + j), _mm256_loadu_ps(b + j)));
    return j;
}

static void lpe_colsums(size_t r0, size_t r1, int cols, int j0, int cb, const float *y, float *dy,
                        double *sum)
{
    const int cv = cb & ~3;
    const __m256 z = _mm256_setzero_ps();
    __m256d acc[LPE_BG_CB / 4];
    double tail[4] = {0, 0, 0, 0};
    for (int k = 0; k < LPE_BG_CB / 4; k++) acc[k] = _mm256_setzero_pd();
    for (size_t r = r0; r < r1; r++) {
        float *d = dy + r * (size_t)cols + j0;
        if (y) {
            const float *yr = y + r * (size_t)cols + j0;
            int j = 0;
            for (; j + 8 <= cb; j += 8) {
                __m256 m = _mm256_cmp_ps(_mm256_loadu_ps(yr + j), z, _CMP_GT_OQ);
                _mm256_storeu_ps(d + j, _mm256_and_ps(m, _mm256_loadu_ps(d + j)));
            }
            for (; j < cb; j++) d[j] = yr[j] > 0.0f ? d[j] : 0.0f;
        }
        for (int k = 0; k * 4 < cv; k++)
            acc[k] = _mm256_add_pd(acc[k], _mm256_cvtps_pd(_mm_loadu_ps(d + 4 * k)));
        for (int j = cv; j < cb; j++) tail[j - cv] += d[j];
    }
    for (int k = 0; k * 4 < cv; k++) _mm256_storeu_pd(sum + 4 * k, acc[k]);
    for (int j = cv; j < cb; j++) sum[j] = tail[j - cv];
}

static double lpe_sumsq_chunk(size_t n, const float *x)
{
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        a0 = _mm256_add_pd(a0, _mm256_mul_pd(lo, lo));
        a1 = _mm256_add_pd(a1, _mm256_mul_pd(hi, hi));
    }
    double acc[8];
    _mm256_storeu_pd(acc, a0);
    _mm256_storeu_pd(acc + 4, a1);
    for (int l = 0; i < n; i++, l++) acc[l] += (double)x[i] * (double)x[i];
    double s = 0.0;
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

LPE_DEFINE_ENTRIES(avx2)
