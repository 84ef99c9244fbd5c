/* AVX-512 SGEMM: 12x32 register-blocked micro-kernel (24 zmm accumulators,
 * two B vectors, one broadcast of each A element for both; FMAs that
 * broadcast A from memory themselves, which helped the convolutions' row
 * pointers, measured the same here: 108 GFLOP/s on one thread at 512^3
 * either way, the packed A panel being contiguous) under the shared BLIS-style
 * driver (kernels/common/gemm_driver.h). On Zen 4 a 512-bit FMA issues as
 * two 256-bit halves, so the peak equals AVX2's; the wider tile halves the
 * loads and instructions per flop: measured on Zen 4 it matches AVX2 at
 * 512^3 and is up to ~20% faster on the skinny, memory-bound convolution
 * shapes. */
#include "kernels/avx512/avx512.h"
#include "kernels/avx2/avx2.h"
#include "kernels/scalar/scalar.h"

#include <immintrin.h>
#include <stddef.h>

#define MR 12
#define NR 32

static inline __attribute__((always_inline)) void
uk_12x32(int kc, const float *restrict pa, const float *restrict pb, float *restrict c,
         ptrdiff_t ldc, float alpha, float beta)
{
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        acc0[i] = _mm512_setzero_ps();
        acc1[i] = _mm512_setzero_ps();
    }
    /* the C tile is read (or written) after the k loop: start fetching it */
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + NR - 1), _MM_HINT_T0);
    }
#pragma GCC unroll 2
    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(pb), b1 = _mm512_load_ps(pb + 16);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            __m512 a = _mm512_set1_ps(pa[i]);
            acc0[i] = _mm512_fmadd_ps(a, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(a, b1, acc1[i]);
        }
        pa += MR;
        pb += NR;
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        float *cr = c + i * ldc;
        if (beta == 0.0f) {
            _mm512_storeu_ps(cr, _mm512_mul_ps(va, acc0[i]));
            _mm512_storeu_ps(cr + 16, _mm512_mul_ps(va, acc1[i]));
        } else if (beta == 1.0f) {
            _mm512_storeu_ps(cr, _mm512_fmadd_ps(va, acc0[i], _mm512_loadu_ps(cr)));
            _mm512_storeu_ps(cr + 16, _mm512_fmadd_ps(va, acc1[i], _mm512_loadu_ps(cr + 16)));
        } else {
            _mm512_storeu_ps(cr, _mm512_fmadd_ps(va, acc0[i], _mm512_mul_ps(vb, _mm512_loadu_ps(cr))));
            _mm512_storeu_ps(cr + 16, _mm512_fmadd_ps(va, acc1[i],
                                                      _mm512_mul_ps(vb, _mm512_loadu_ps(cr + 16))));
        }
    }
}

#define LPG_SHARED_BUFFERS
#define LPG_PREFIX lp_avx512_z_
#define LPG_CONV_API
#define LPG_MR MR
#define LPG_NR NR
#define LPG_MC 144
#define LPG_KC 256
#define LPG_NC 1024
#define LPG_SKINNY_N 128
#define LPG_UKERNEL uk_12x32
#include "kernels/common/gemm_driver.h"

/* Shapes whose 12x32 tiles would mostly be padding (few rows or columns,
 * e.g. the 27 rows of a 3x3x3 filter's weight gradient) go to the AVX2
 * 6x16 kernel; the choice depends on the shape only. */
void lp_avx512_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                    int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    double pad512 = (double)((m + 11) / 12 * 12) * ((n + 31) / 32 * 32);
    double pad256 = (double)((m + 5) / 6 * 6) * ((n + 15) / 16 * 16);
    if (pad512 > 1.1 * pad256)
        lp_avx2_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        lp_avx512_z_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Convolutions with im2col fused into the GEMM's packing (bitwise equal to
 * the scalar composition); the 12x32 / 6x16 choice as lp_avx512_gemm's. */
static int use_avx2(int m, int n)
{
    double pad512 = (double)((m + 11) / 12 * 12) * ((n + 31) / 32 * 32);
    double pad256 = (double)((m + 5) / 6 * 6) * ((n + 15) / 16 * 16);
    return pad512 > 1.1 * pad256;
}

size_t lp_avx512_conv_workspace(const lp_conv_geom *g)
{
    size_t a = lp_avx2_conv_workspace(g), b = lp_avx512_conv_bwd_data_igemm_floats(g);
    return a > b ? a : b;
}

void lp_avx512_conv_bwd_data(const lp_kernels *self, const lp_conv_geom *g, const float *dy,
                             const float *w, float *dx, float *ws)
{
    if (!lp_avx512_conv_bwd_data_igemm(g, dy, w, dx, ws))
        lp_avx2_conv_bwd_data(self, g, dy, w, dx, ws);
}

void lp_avx512_conv_fwd(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                        const float *w, float *y, float *ws)
{
    if (lp_avx512_conv_fwd_igemm(g, x, w, y, NULL, 0)) return;
    int m = g->n * g->oh * g->ow;
    int done = use_avx2(m, g->oc) ? lp_avx2_conv_fwd_fused(g, x, w, y)
                                  : lp_avx512_z_conv_fwd_fused(g, x, w, y);
    if (!done) lp_scalar_conv_fwd(self, g, x, w, y, ws);
}

void lp_avx512_conv_fwd_ep(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                           const float *w, const float *bias, int relu, float *y, float *ws)
{
    if (lp_avx512_conv_fwd_igemm(g, x, w, y, bias, relu)) return;
    self->conv_fwd(self, g, x, w, y, ws);
    size_t rows = (size_t)g->n * g->oh * g->ow;
    if (bias) self->bias_add(rows, g->oc, bias, y);
    if (relu) self->relu_fwd(rows * g->oc, y, y);
}

/* ws as lp_avx2_conv_bwd_weights': [im2col buffer][k-split scratch]. */
void lp_avx512_conv_bwd_weights(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                                const float *dy, float *dw, float *ws)
{
    const int kk = g->kh * g->kw * g->c, narrow = use_avx2(kk, g->oc);
    const size_t ncol = lp_scalar_conv_workspace(g);
    float *part = ws + ncol;
    if (lp_avx512_conv_bwd_weights_direct(g, x, dy, dw, part)) return;
    if (narrow ? lp_avx2_conv_bwd_weights_fused(g, x, dy, dw, part)
               : lp_avx512_z_conv_bwd_weights_fused(g, x, dy, dw, part))
        return;
    const float *col = x;
    if (ncol) {
        self->im2col(g, x, ws);
        col = ws;
    }
    if (narrow)
        lp_avx2_conv_bwd_weights_col(g, col, dy, dw, part);
    else
        lp_avx512_z_conv_bwd_weights_col(g, col, dy, dw, part);
}

