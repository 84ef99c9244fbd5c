/* AVX-512 element-wise kernels: ReLU, dropout, bias add/grad, axpy, add,
 * sumsq, Adam, 16 floats per vector: the drivers of
 * kernels/common/eltwise.h, bit-identical to kernels/scalar and independent
 * of the thread count. Where it pays: the bias gradient's column sums keep
 * 64 columns in 8 registers of doubles (blocks of 32 with AVX2, whose 16
 * registers spilled them), with masked loads instead of scalar tails. */
#include "kernels/avx512/avx512.h"

#define LPE_BG_CB 64
#include "kernels/common/eltwise.h"

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static size_t lpe_relu_fwd_vec(size_t i, size_t i1, const float *x, float *y)
{
    const __m512 z = _mm512_setzero_ps();
    for (; i + 16 <= i1; i += 16) {
        /* x < 0 ? 0 : x: MAXPS returns its second operand when either is
         * NaN or both are zeros, so NaN and -0.0 pass through */
        _mm512_storeu_ps(y + i, _mm512_max_ps(z, _mm512_loadu_ps(x + i)));
    }
    return i;
}

static size_t lpe_relu_bwd_vec(size_t i, size_t i1, const float *y, const float *dy, float *dx)
{
    const __m512 z = _mm512_setzero_ps();
    for (; i + 16 <= i1; i += 16) {
        const __mmask16 m = _mm512_cmp_ps_mask(_mm512_loadu_ps(y + i), z, _CMP_GT_OQ);
        _mm512_storeu_ps(dx + i, _mm512_maskz_mov_ps(m, _mm512_loadu_ps(dy + i)));
    }
    return i;
}

static size_t lpe_dropout_vec(size_t i, size_t i1, const float *x, const uint8_t *mask,
                              float scale, float *y)
{
    const __m512 vs = _mm512_set1_ps(scale);
    for (; i + 16 <= i1; i += 16) {
        const __m512i m32 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(mask + i)));
        const __mmask16 keep = _mm512_test_epi32_mask(m32, m32);
        _mm512_storeu_ps(y + i, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(x + i), vs));
    }
    return i;
}

static size_t lpe_axpy_vec(size_t i, size_t i1, float a, const float *x, float *y)
{
    const __m512 va = _mm512_set1_ps(a);
    for (; i + 16 <= i1; i += 16)
        _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i),
                                              _mm512_mul_ps(va, _mm512_loadu_ps(x + i))));
    return i;
}

static size_t lpe_add_vec(size_t i, size_t i1, const float *a, const float *b, float *y)
{
    for (; i + 16 <= i1; i += 16)
        _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
    return i;
}

static size_t lpe_adam_vec(size_t i, size_t i1, float *w, const float *g, float *m, float *v,
                           float lr_t, float b1, float b2, float eps)
{
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
    const __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2);
    const __m512 vc1 = _mm512_set1_ps(c1), vc2 = _mm512_set1_ps(c2);
    const __m512 vlr = _mm512_set1_ps(lr_t), veps = _mm512_set1_ps(eps);
    for (; i + 16 <= i1; i += 16) {
        const __m512 gi = _mm512_loadu_ps(g + i);
        const __m512 mi =
            _mm512_add_ps(_mm512_mul_ps(vb1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(vc1, gi));
        const __m512 vi = _mm512_add_ps(_mm512_mul_ps(vb2, _mm512_loadu_ps(v + i)),
                                        _mm512_mul_ps(_mm512_mul_ps(vc2, gi), gi));
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        const __m512 step =
            _mm512_div_ps(_mm512_mul_ps(vlr, mi), _mm512_add_ps(_mm512_sqrt_ps(vi), veps));
        _mm512_storeu_ps(w + i, _mm512_sub_ps(_mm512_loadu_ps(w + i), step));
    }
    return i;
}

static int lpe_bias_add_vec(float *yr, const float *b, int cols)
{
    int j = 0;
    for (; j + 16 <= cols; j += 16)
        _mm512_storeu_ps(yr + j, _mm512_add_ps(_mm512_loadu_ps(yr + j), _mm512_loadu_ps(b + j)));
    return j;
}

/* nv (a constant after inlining) vectors of 16 columns, the last one
 * masked to the block's cb columns; the lanes masked off add zeros to sums
 * nobody reads. */
static inline __attribute__((always_inline)) void
colsums_nv(size_t r0, size_t r1, int cols, int j0, int cb, const int nv, const float *y,
           float *dy, double *sum)
{
    const __m512 z = _mm512_setzero_ps();
    __mmask16 lm[4];
    __m512d acc[8];
    for (int v = 0; v < nv; v++) {
        const int left = cb - 16 * v;
        lm[v] = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        acc[2 * v] = acc[2 * v + 1] = _mm512_setzero_pd();
    }
    for (size_t r = r0; r < r1; r++) {
        float *d = dy + r * (size_t)cols + j0;
        const float *yr = y ? y + r * (size_t)cols + j0 : NULL;
        for (int v = 0; v < nv; v++) {
            __m512 dv = _mm512_maskz_loadu_ps(lm[v], d + 16 * v);
            if (yr) {
                const __mmask16 pos =
                    _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(lm[v], yr + 16 * v), z, _CMP_GT_OQ);
                dv = _mm512_maskz_mov_ps(pos, dv);
                _mm512_mask_storeu_ps(d + 16 * v, lm[v], dv);
            }
            acc[2 * v] = _mm512_add_pd(acc[2 * v], _mm512_cvtps_pd(_mm512_castps512_ps256(dv)));
            acc[2 * v + 1] =
                _mm512_add_pd(acc[2 * v + 1], _mm512_cvtps_pd(_mm512_extractf32x8_ps(dv, 1)));
        }
    }
    double all[LPE_BG_CB];
    for (int q = 0; q < 2 * nv; q++) _mm512_storeu_pd(all + 8 * q, acc[q]);
    for (int j = 0; j < cb; j++) sum[j] = all[j];
}

static void lpe_colsums(size_t r0, size_t r1, int cols, int j0, int cb, const float *y, float *dy,
                        double *sum)
{
    switch ((cb + 15) / 16) {
    case 1: colsums_nv(r0, r1, cols, j0, cb, 1, y, dy, sum); break;
    case 2: colsums_nv(r0, r1, cols, j0, cb, 2, y, dy, sum); break;
    case 3: colsums_nv(r0, r1, cols, j0, cb, 3, y, dy, sum); break;
    default: colsums_nv(r0, r1, cols, j0, cb, 4, y, dy, sum); break;
    }
}

/* 8 double lanes: each 16-float step adds its first 8 elements, then its
 * last 8, to the same 8 lanes, so lane l still takes i = l mod 8 in order. */
static double lpe_sumsq_chunk(size_t n, const float *x)
{
    __m512d a = _mm512_setzero_pd();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        const __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
        a = _mm512_add_pd(a, _mm512_mul_pd(lo, lo));
        a = _mm512_add_pd(a, _mm512_mul_pd(hi, hi));
    }
    if (i + 8 <= n) {
        const __m512d lo = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
        a = _mm512_add_pd(a, _mm512_mul_pd(lo, lo));
        i += 8;
    }
    double acc[8];
    _mm512_storeu_pd(acc, a);
    for (int l = 0; i < n; i++, l++) acc[l] += (double)x[i] * (double)x[i];
    double s = 0.0;
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

LPE_DEFINE_ENTRIES(avx512)
