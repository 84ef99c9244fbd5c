/* NEON SGEMM: 8x12 register-blocked micro-kernel (24 q-register
 * accumulators, three B vectors, two A vectors used lane by lane through
 * FMLA by element) under the shared BLIS-style driver
 * (kernels/common/gemm_driver.h). */
#include "kernels/neon/neon.h"
#include "kernels/scalar/scalar.h"

#include <arm_neon.h>
#include <stddef.h>

#define MR 8
#define NR 12

#define LP_ROWQ(i, av, l)                                                  \
    do {                                                                   \
        c##i##0 = vfmaq_laneq_f32(c##i##0, b0, av, l);                     \
        c##i##1 = vfmaq_laneq_f32(c##i##1, b1, av, l);                     \
        c##i##2 = vfmaq_laneq_f32(c##i##2, b2, av, l);                     \
    } while (0)

static inline __attribute__((always_inline)) void
uk_8x12(int kc, const float *restrict pa, const float *restrict pb, float *restrict c,
        ptrdiff_t ldc, float alpha, float beta)
{
    float32x4_t c00 = vdupq_n_f32(0), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
    float32x4_t c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    float32x4_t c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
    float32x4_t c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
    for (int p = 0; p < kc; p++) {
        float32x4_t b0 = vld1q_f32(pb), b1 = vld1q_f32(pb + 4), b2 = vld1q_f32(pb + 8);
        float32x4_t a0 = vld1q_f32(pa), a1 = vld1q_f32(pa + 4);
        LP_ROWQ(0, a0, 0);
        LP_ROWQ(1, a0, 1);
        LP_ROWQ(2, a0, 2);
        LP_ROWQ(3, a0, 3);
        LP_ROWQ(4, a1, 0);
        LP_ROWQ(5, a1, 1);
        LP_ROWQ(6, a1, 2);
        LP_ROWQ(7, a1, 3);
        pa += MR;
        pb += NR;
    }
    const float32x4_t va = vdupq_n_f32(alpha);
#define LP_STORE(i)                                                                      \
    do {                                                                                 \
        float *cr = c + (i) * ldc;                                                       \
        if (beta == 0.0f) {                                                              \
            vst1q_f32(cr, vmulq_f32(va, c##i##0));                                       \
            vst1q_f32(cr + 4, vmulq_f32(va, c##i##1));                                   \
            vst1q_f32(cr + 8, vmulq_f32(va, c##i##2));                                   \
        } else {                                                                         \
            vst1q_f32(cr, vfmaq_f32(vmulq_n_f32(vld1q_f32(cr), beta), va, c##i##0));     \
            vst1q_f32(cr + 4, vfmaq_f32(vmulq_n_f32(vld1q_f32(cr + 4), beta), va, c##i##1)); \
            vst1q_f32(cr + 8, vfmaq_f32(vmulq_n_f32(vld1q_f32(cr + 8), beta), va, c##i##2)); \
        }                                                                                \
    } while (0)
    LP_STORE(0);
    LP_STORE(1);
    LP_STORE(2);
    LP_STORE(3);
    LP_STORE(4);
    LP_STORE(5);
    LP_STORE(6);
    LP_STORE(7);
#undef LP_STORE
}
#undef LP_ROWQ

#define LP_GEMM_DEFINE_BUFFERS
#define LPG_SHARED_BUFFERS
#define LPG_PREFIX lp_neon_
#define LPG_MR MR
#define LPG_NR NR
#define LPG_MC 128
#define LPG_KC 256
#define LPG_NC 1020
#define LPG_SKINNY_N 120
#define LPG_KC_SKINNY 512
#define LPG_UKERNEL uk_8x12
#include "kernels/common/gemm_driver.h"

/* Conv weight gradient through the driver's k-split (the scalar
 * composition's im2col, then dw = col^T @ dy in barrier-free pixel chunks
 * whose partials are summed in order: one team-wide barrier per 256-pixel
 * k block made a 3x3x32 -> 32 layer's gradient barrier-bound). ws: the
 * scalar im2col workspace, then the partials. */
size_t lp_neon_conv_workspace(const lp_conv_geom *g)
{
    return lp_scalar_conv_workspace(g) +
           lp_neon_ksplit_floats_(g->kh * g->kw * g->c, g->oc, g->n * g->oh * g->ow);
}

void lp_neon_conv_bwd_weights(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                              const float *dy, float *dw, float *ws)
{
    const int m = g->n * g->oh * g->ow, kk = g->kh * g->kw * g->c;
    const size_t ncol = lp_scalar_conv_workspace(g);
    const float *col = x;
    if (ncol) {
        self->im2col(g, x, ws);
        col = ws;
    }
    if (!lp_neon_gemm_ksplit(1, 0, kk, g->oc, m, 1.0f, col, kk, dy, g->oc, 0.0f, dw, g->oc, NULL,
                             ws + ncol))
        self->gemm(1, 0, kk, g->oc, m, 1.0f, col, kk, dy, g->oc, 0.0f, dw, g->oc);
}
