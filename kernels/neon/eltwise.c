/* NEON element-wise kernels: ReLU, dropout, bias add/grad, axpy, add, sumsq,
 * Adam, 4 floats per vector: the drivers of kernels/common/eltwise.h,
 * bit-identical to kernels/scalar and independent of the thread count
 * (tested under qemu-aarch64, not timed). gcc 12 left the scalar ReLU,
 * dropout and Adam loops unvectorised on aarch64. vdivq_f32 and
 * vsqrtq_f32 are IEEE-correctly rounded, as the scalar division and sqrtf. */
#include "kernels/neon/neon.h"
#include "kernels/common/eltwise.h"

#include <arm_neon.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static size_t lpe_relu_fwd_vec(size_t i, size_t i1, const float *x, float *y)
{
    const float32x4_t z = vdupq_n_f32(0.0f);
    for (; i + 4 <= i1; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        /* x < 0 ? 0 : x (NaN and -0.0 pass through) */
        vst1q_f32(y + i, vbslq_f32(vcltq_f32(v, z), z, v));
    }
    return i;
}

static size_t lpe_relu_bwd_vec(size_t i, size_t i1, const float *y, const float *dy, float *dx)
{
    const float32x4_t z = vdupq_n_f32(0.0f);
    for (; i + 4 <= i1; i += 4)
        vst1q_f32(dx + i, vbslq_f32(vcgtq_f32(vld1q_f32(y + i), z), vld1q_f32(dy + i), z));
    return i;
}

static size_t lpe_dropout_vec(size_t i, size_t i1, const float *x, const uint8_t *mask,
                              float scale, float *y)
{
    const float32x4_t vs = vdupq_n_f32(scale), z = vdupq_n_f32(0.0f);
    for (; i + 4 <= i1; i += 4) {
        uint32_t mb;
        memcpy(&mb, mask + i, 4);
        /* the 4 mask bytes widened to 32-bit lanes; keep where nonzero */
        const uint32x4_t m32 = vmovl_u16(vget_low_u16(vmovl_u8(vcreate_u8(mb))));
        const uint32x4_t keep = vtstq_u32(m32, m32);
        vst1q_f32(y + i, vbslq_f32(keep, vmulq_f32(vld1q_f32(x + i), vs), z));
    }
    return i;
}

static size_t lpe_axpy_vec(size_t i, size_t i1, float a, const float *x, float *y)
{
    const float32x4_t va = vdupq_n_f32(a);
    for (; i + 4 <= i1; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vmulq_f32(va, vld1q_f32(x + i))));
    return i;
}

static size_t lpe_add_vec(size_t i, size_t i1, const float *a, const float *b, float *y)
{
    for (; i + 4 <= i1; i += 4) vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    return i;
}

static size_t lpe_adam_vec(size_t i, size_t i1, float *w, const float *g, float *m, float *v,
                           float lr_t, float b1, float b2, float eps)
{
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
    const float32x4_t vb1 = vdupq_n_f32(b1), vb2 = vdupq_n_f32(b2);
    const float32x4_t vc1 = vdupq_n_f32(c1), vc2 = vdupq_n_f32(c2);
    const float32x4_t vlr = vdupq_n_f32(lr_t), veps = vdupq_n_f32(eps);
    for (; i + 4 <= i1; i += 4) {
        const float32x4_t gi = vld1q_f32(g + i);
        const float32x4_t mi = vaddq_f32(vmulq_f32(vb1, vld1q_f32(m + i)), vmulq_f32(vc1, gi));
        const float32x4_t vi =
            vaddq_f32(vmulq_f32(vb2, vld1q_f32(v + i)), vmulq_f32(vmulq_f32(vc2, gi), gi));
        vst1q_f32(m + i, mi);
        vst1q_f32(v + i, vi);
        const float32x4_t step = vdivq_f32(vmulq_f32(vlr, mi), vaddq_f32(vsqrtq_f32(vi), veps));
        vst1q_f32(w + i, vsubq_f32(vld1q_f32(w + i), step));
    }
    return i;
}

static int lpe_bias_add_vec(float *yr, const float *b, int cols)
{
    int j = 0;
    for (; j + 4 <= cols; j += 4) vst1q_f32(yr + j, vaddq_f32(vld1q_f32(yr + j), vld1q_f32(b + j)));
    return j;
}

static void lpe_colsums(size_t r0, size_t r1, int cols, int j0, int cb, const float *y, float *dy,
                        double *sum)
{
    const int cv = cb & ~3;
    const float32x4_t z = vdupq_n_f32(0.0f);
    float64x2_t acc[LPE_BG_CB / 2];
    double tail[4] = {0, 0, 0, 0};
    for (int k = 0; k < LPE_BG_CB / 2; k++) acc[k] = vdupq_n_f64(0.0);
    for (size_t r = r0; r < r1; r++) {
        float *d = dy + r * (size_t)cols + j0;
        if (y) {
            const float *yr = y + r * (size_t)cols + j0;
            int j = 0;
            for (; j + 4 <= cb; j += 4)
                vst1q_f32(d + j, vbslq_f32(vcgtq_f32(vld1q_f32(yr + j), z), vld1q_f32(d + j), z));
            for (; j < cb; j++) d[j] = yr[j] > 0.0f ? d[j] : 0.0f;
        }
        for (int k = 0; k * 4 < cv; k++) {
            const float32x4_t v = vld1q_f32(d + 4 * k);
            acc[2 * k] = vaddq_f64(acc[2 * k], vcvt_f64_f32(vget_low_f32(v)));
            acc[2 * k + 1] = vaddq_f64(acc[2 * k + 1], vcvt_high_f64_f32(v));
        }
        for (int j = cv; j < cb; j++) tail[j - cv] += d[j];
    }
    for (int k = 0; k * 2 < cv; k++) vst1q_f64(sum + 2 * k, acc[k]);
    for (int j = cv; j < cb; j++) sum[j] = tail[j - cv];
}

static double lpe_sumsq_chunk(size_t n, const float *x)
{
    float64x2_t a[4];
    for (int k = 0; k < 4; k++) a[k] = vdupq_n_f64(0.0);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float32x4_t v0 = vld1q_f32(x + i), v1 = vld1q_f32(x + i + 4);
        const float64x2_t d0 = vcvt_f64_f32(vget_low_f32(v0)), d1 = vcvt_high_f64_f32(v0);
        const float64x2_t d2 = vcvt_f64_f32(vget_low_f32(v1)), d3 = vcvt_high_f64_f32(v1);
        a[0] = vaddq_f64(a[0], vmulq_f64(d0, d0));
        a[1] = vaddq_f64(a[1], vmulq_f64(d1, d1));
        a[2] = vaddq_f64(a[2], vmulq_f64(d2, d2));
        a[3] = vaddq_f64(a[3], vmulq_f64(d3, d3));
    }
    double acc[8];
    for (int k = 0; k < 4; k++) vst1q_f64(acc + 2 * k, a[k]);
    for (int l = 0; i < n; i++, l++) acc[l] += (double)x[i] * (double)x[i];
    double s = 0.0;
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

LPE_DEFINE_ENTRIES(neon)
