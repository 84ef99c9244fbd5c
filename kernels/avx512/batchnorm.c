/* AVX-512 batch normalisation: the drivers of kernels/common/batchnorm.h
 * with 16 channels (one cache line) per vector, bit-identical to
 * kernels/scalar/batchnorm.c (the statistics in double, no fused
 * multiply-adds: this file is compiled with -ffp-contract=off). Four
 * vectors (64 channels) of sums stay in registers: 16 of the 32 zmm. */
#include "kernels/avx512/avx512.h"

#include <immintrin.h>

#define LPB_W 16
#define LPB_NVREG 4
typedef __m512 lpb_vf;
typedef __m512d lpb_vd;

static inline lpb_vf lpb_ldf(const float *p) { return _mm512_loadu_ps(p); }
static inline void lpb_stf(float *p, lpb_vf v) { _mm512_storeu_ps(p, v); }
static inline lpb_vd lpb_ldd(const double *p) { return _mm512_loadu_pd(p); }
static inline void lpb_std(double *p, lpb_vd v) { _mm512_storeu_pd(p, v); }
static inline lpb_vd lpb_zd(void) { return _mm512_setzero_pd(); }
static inline lpb_vf lpb_subf(lpb_vf a, lpb_vf b) { return _mm512_sub_ps(a, b); }
static inline lpb_vf lpb_mulf(lpb_vf a, lpb_vf b) { return _mm512_mul_ps(a, b); }
static inline lpb_vf lpb_addf(lpb_vf a, lpb_vf b) { return _mm512_add_ps(a, b); }
/* lanes where v < 0 (ordered) become +0; NaN and -0.0 stay, as in the scalar rule */
static inline lpb_vf lpb_relu(lpb_vf v)
{
    return _mm512_maskz_mov_ps(~_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), v);
}
static inline lpb_vf lpb_pos_mask(lpb_vf y, lpb_vf d)
{
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ), d);
}
static inline lpb_vd lpb_lo(lpb_vf v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
static inline lpb_vd lpb_hi(lpb_vf v) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)); }
static inline lpb_vd lpb_addd(lpb_vd a, lpb_vd b) { return _mm512_add_pd(a, b); }
static inline lpb_vd lpb_subd(lpb_vd a, lpb_vd b) { return _mm512_sub_pd(a, b); }
static inline lpb_vd lpb_muld(lpb_vd a, lpb_vd b) { return _mm512_mul_pd(a, b); }

#include "kernels/common/batchnorm.h"

LPB_DEFINE_ENTRIES(avx512)
