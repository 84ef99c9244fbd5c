/* NEON max pooling: the drivers of kernels/common/maxpool.h with 4
 * channels per vector. Forward: a compare and a select (FMAX would give
 * NaN where the scalar rule x_i > y ? x_i : y keeps y). Backward: the
 * first maximum by strict '>' compares, the position selected per lane,
 * then 0 + (dy where the position matches) stored to every pixel of the
 * window. Tested against the scalar kernels under qemu; no speed is
 * claimed (not timed on an ARM machine). */
#include "kernels/neon/neon.h"

#include <arm_neon.h>
#include <stddef.h>

static int lpp_fwd_vec(const float *x0, const ptrdiff_t *off, int nk, int c, float *yo)
{
    int ci = 0;
    for (; ci + 4 <= c; ci += 4) {
        float32x4_t m = vld1q_f32(x0 + ci);
        for (int k = 1; k < nk; k++) {
            const float32x4_t v = vld1q_f32(x0 + off[k] + ci);
            m = vbslq_f32(vcgtq_f32(v, m), v, m);
        }
        vst1q_f32(yo + ci, m);
    }
    return ci;
}

static int lpp_bwd_vec(const float *x0, const float *d, float *dx0, size_t row, int c, int kh, int kw)
{
    const float32x4_t z = vdupq_n_f32(0.0f);
    int ci = 0;
    for (; ci + 4 <= c; ci += 4) {
        float32x4_t best = vld1q_f32(x0 + ci);
        uint32x4_t arg = vdupq_n_u32(0);
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                if (!ky && !kx) continue;
                const float32x4_t v = vld1q_f32(x0 + ky * row + (size_t)kx * c + ci);
                const uint32x4_t gt = vcgtq_f32(v, best);
                best = vbslq_f32(gt, v, best);
                arg = vbslq_u32(gt, vdupq_n_u32((uint32_t)(ky * kw + kx)), arg);
            }
        const float32x4_t dv = vld1q_f32(d + ci);
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                const uint32x4_t at = vceqq_u32(arg, vdupq_n_u32((uint32_t)(ky * kw + kx)));
                vst1q_f32(dx0 + ky * row + (size_t)kx * c + ci, vaddq_f32(z, vbslq_f32(at, dv, z)));
            }
    }
    return ci;
}

#include "kernels/common/maxpool.h"

void lp_neon_maxpool_fwd(const lp_conv_geom *g, const float *x, float *y) { lpp_maxpool_fwd(g, x, y); }

void lp_neon_maxpool_bwd(const lp_conv_geom *g, const float *x, const float *y, const float *dy, float *dx)
{
    lpp_maxpool_bwd(g, x, y, dy, dx);
}
