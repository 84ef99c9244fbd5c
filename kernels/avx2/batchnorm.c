/* AVX2 batch normalisation: the drivers of kernels/common/batchnorm.h with
 * 8 channels per vector, bit-identical to kernels/scalar/batchnorm.c (the
 * statistics in double, no fused multiply-adds: this file is compiled with
 * -ffp-contract=off). Two vectors (16 channels) of sums stay in registers:
 * the 16 ymm registers hold their 8 accumulators and the operands. */
#include "kernels/avx2/avx2.h"

#include <immintrin.h>

#define LPB_W 8
#define LPB_NVREG 2
typedef __m256 lpb_vf;
typedef __m256d lpb_vd;

static inline lpb_vf lpb_ldf(const float *p) { return _mm256_loadu_ps(p); }
static inline void lpb_stf(float *p, lpb_vf v) { _mm256_storeu_ps(p, v); }
static inline lpb_vd lpb_ldd(const double *p) { return _mm256_loadu_pd(p); }
static inline void lpb_std(double *p, lpb_vd v) { _mm256_storeu_pd(p, v); }
static inline lpb_vd lpb_zd(void) { return _mm256_setzero_pd(); }
static inline lpb_vf lpb_subf(lpb_vf a, lpb_vf b) { return _mm256_sub_ps(a, b); }
static inline lpb_vf lpb_mulf(lpb_vf a, lpb_vf b) { return _mm256_mul_ps(a, b); }
static inline lpb_vf lpb_addf(lpb_vf a, lpb_vf b) { return _mm256_add_ps(a, b); }
static inline lpb_vf lpb_relu(lpb_vf v)
{
    return _mm256_andnot_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ), v);
}
static inline lpb_vf lpb_pos_mask(lpb_vf y, lpb_vf d)
{
    return _mm256_and_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ), d);
}
static inline lpb_vd lpb_lo(lpb_vf v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
static inline lpb_vd lpb_hi(lpb_vf v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }
static inline lpb_vd lpb_addd(lpb_vd a, lpb_vd b) { return _mm256_add_pd(a, b); }
static inline lpb_vd lpb_subd(lpb_vd a, lpb_vd b) { return _mm256_sub_pd(a, b); }
static inline lpb_vd lpb_muld(lpb_vd a, lpb_vd b) { return _mm256_mul_pd(a, b); }

#include "kernels/common/batchnorm.h"

LPB_DEFINE_ENTRIES(avx2)
