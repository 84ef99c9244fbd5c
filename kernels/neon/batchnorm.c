/* NEON batch normalisation: the drivers of kernels/common/batchnorm.h with
 * 4 channels per vector, bit-identical to kernels/scalar/batchnorm.c (the
 * statistics in double, no fused multiply-adds: this file and the scalar
 * one are compiled with -ffp-contract=off, see CMakeLists.txt). Four
 * vectors of sums stay in registers: 16 of the 32. */
#include "kernels/neon/neon.h"

#include <arm_neon.h>

#define LPB_W 4
#define LPB_NVREG 4
typedef float32x4_t lpb_vf;
typedef float64x2_t lpb_vd;

static inline lpb_vf lpb_ldf(const float *p) { return vld1q_f32(p); }
static inline void lpb_stf(float *p, lpb_vf v) { vst1q_f32(p, v); }
static inline lpb_vd lpb_ldd(const double *p) { return vld1q_f64(p); }
static inline void lpb_std(double *p, lpb_vd v) { vst1q_f64(p, v); }
static inline lpb_vd lpb_zd(void) { return vdupq_n_f64(0.0); }
static inline lpb_vf lpb_subf(lpb_vf a, lpb_vf b) { return vsubq_f32(a, b); }
static inline lpb_vf lpb_mulf(lpb_vf a, lpb_vf b) { return vmulq_f32(a, b); }
static inline lpb_vf lpb_addf(lpb_vf a, lpb_vf b) { return vaddq_f32(a, b); }
static inline lpb_vf lpb_relu(lpb_vf v)
{
    return vbslq_f32(vcltq_f32(v, vdupq_n_f32(0.0f)), vdupq_n_f32(0.0f), v);
}
static inline lpb_vf lpb_pos_mask(lpb_vf y, lpb_vf d)
{
    return vbslq_f32(vcgtq_f32(y, vdupq_n_f32(0.0f)), d, vdupq_n_f32(0.0f));
}
static inline lpb_vd lpb_lo(lpb_vf v) { return vcvt_f64_f32(vget_low_f32(v)); }
static inline lpb_vd lpb_hi(lpb_vf v) { return vcvt_high_f64_f32(v); }
static inline lpb_vd lpb_addd(lpb_vd a, lpb_vd b) { return vaddq_f64(a, b); }
static inline lpb_vd lpb_subd(lpb_vd a, lpb_vd b) { return vsubq_f64(a, b); }
static inline lpb_vd lpb_muld(lpb_vd a, lpb_vd b) { return vmulq_f64(a, b); }

#include "kernels/common/batchnorm.h"

LPB_DEFINE_ENTRIES(neon)
