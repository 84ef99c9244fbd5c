/* AVX2 + FMA SGEMM: 6x16 register-blocked micro-kernel (12 ymm accumulators,
 * two B vectors, one broadcast) under the shared BLIS-style driver
 * (kernels/common/gemm_driver.h: packing, blocking, threads, edge tiles). */
#include "kernels/avx2/avx2.h"
#include "kernels/scalar/scalar.h"

#include <immintrin.h>
#include <stddef.h>

#define MR 6
#define NR 16

static inline __attribute__((always_inline)) void
uk_6x16(int kc, const float *restrict pa, const float *restrict pb, float *restrict c,
        ptrdiff_t ldc, float alpha, float beta)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    /* The k loop is inline assembly: with intrinsics gcc 12 keeps one value
     * too many live (16 ymm registers: 12 accumulators, 2 B, 1 A) and
     * spills an accumulator inside the loop, which costs up to a third of
     * the speed. ymm12-14 are the B and A scratch registers. */
#define LP_K(u)                                                                   \
    "vmovaps " #u "*64(%[pb]), %%ymm12\n\t"                                       \
    "vmovaps " #u "*64+32(%[pb]), %%ymm13\n\t"                                    \
    "vbroadcastss " #u "*24(%[pa]), %%ymm14\n\t"                                  \
    "vfmadd231ps %%ymm12, %%ymm14, %[c00]\n\t"                                    \
    "vfmadd231ps %%ymm13, %%ymm14, %[c01]\n\t"                                    \
    "vbroadcastss " #u "*24+4(%[pa]), %%ymm14\n\t"                                \
    "vfmadd231ps %%ymm12, %%ymm14, %[c10]\n\t"                                    \
    "vfmadd231ps %%ymm13, %%ymm14, %[c11]\n\t"                                    \
    "vbroadcastss " #u "*24+8(%[pa]), %%ymm14\n\t"                                \
    "vfmadd231ps %%ymm12, %%ymm14, %[c20]\n\t"                                    \
    "vfmadd231ps %%ymm13, %%ymm14, %[c21]\n\t"                                    \
    "vbroadcastss " #u "*24+12(%[pa]), %%ymm14\n\t"                               \
    "vfmadd231ps %%ymm12, %%ymm14, %[c30]\n\t"                                    \
    "vfmadd231ps %%ymm13, %%ymm14, %[c31]\n\t"                                    \
    "vbroadcastss " #u "*24+16(%[pa]), %%ymm14\n\t"                               \
    "vfmadd231ps %%ymm12, %%ymm14, %[c40]\n\t"                                    \
    "vfmadd231ps %%ymm13, %%ymm14, %[c41]\n\t"                                    \
    "vbroadcastss " #u "*24+20(%[pa]), %%ymm14\n\t"                               \
    "vfmadd231ps %%ymm12, %%ymm14, %[c50]\n\t"                                    \
    "vfmadd231ps %%ymm13, %%ymm14, %[c51]\n\t"
    long k = kc;
    __asm__ volatile(
        "cmp $4, %[k]\n\t"
        "jl 2f\n\t"
        ".p2align 5\n"
        "1:\n\t"
        "prefetcht0 1024(%[pb])\n\t"
        LP_K(0) LP_K(1) LP_K(2) LP_K(3)
        "add $96, %[pa]\n\t"
        "add $256, %[pb]\n\t"
        "sub $4, %[k]\n\t"
        "cmp $4, %[k]\n\t"
        "jge 1b\n"
        "2:\n\t"
        "test %[k], %[k]\n\t"
        "jz 4f\n"
        "3:\n\t"
        LP_K(0)
        "add $24, %[pa]\n\t"
        "add $64, %[pb]\n\t"
        "dec %[k]\n\t"
        "jnz 3b\n"
        "4:\n\t"
        : [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11),
          [c20] "+x"(c20), [c21] "+x"(c21), [c30] "+x"(c30), [c31] "+x"(c31),
          [c40] "+x"(c40), [c41] "+x"(c41), [c50] "+x"(c50), [c51] "+x"(c51),
          [pa] "+r"(pa), [pb] "+r"(pb), [k] "+r"(k)
        :
        : "xmm12", "xmm13", "xmm14", "cc", "memory");
#undef LP_K
    const __m256 va = _mm256_set1_ps(alpha);
#define LP_ROW(i, x0, x1)                                                              \
    do {                                                                               \
        float *cr = c + (i) * ldc;                                                     \
        if (beta == 0.0f) {                                                            \
            _mm256_storeu_ps(cr, _mm256_mul_ps(va, x0));                               \
            _mm256_storeu_ps(cr + 8, _mm256_mul_ps(va, x1));                           \
        } else if (beta == 1.0f) {                                                     \
            _mm256_storeu_ps(cr, _mm256_fmadd_ps(va, x0, _mm256_loadu_ps(cr)));        \
            _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(va, x1, _mm256_loadu_ps(cr + 8))); \
        } else {                                                                       \
            const __m256 vb = _mm256_set1_ps(beta);                                    \
            _mm256_storeu_ps(cr, _mm256_fmadd_ps(va, x0, _mm256_mul_ps(vb, _mm256_loadu_ps(cr)))); \
            _mm256_storeu_ps(cr + 8,                                                   \
                             _mm256_fmadd_ps(va, x1, _mm256_mul_ps(vb, _mm256_loadu_ps(cr + 8)))); \
        }                                                                              \
    } while (0)
    LP_ROW(0, c00, c01);
    LP_ROW(1, c10, c11);
    LP_ROW(2, c20, c21);
    LP_ROW(3, c30, c31);
    LP_ROW(4, c40, c41);
    LP_ROW(5, c50, c51);
#undef LP_ROW
}

#define LP_GEMM_DEFINE_BUFFERS
#define LPG_SHARED_BUFFERS
#define LPG_PREFIX lp_avx2_
#define LPG_CONV_API
#define LPG_MR MR
#define LPG_NR NR
#ifndef LPG_MC
#define LPG_MC 144
#endif
#ifndef LPG_KC
#define LPG_KC 256
#endif
#ifndef LPG_NC
#define LPG_NC 1024
#endif
#define LPG_UKERNEL uk_6x16
#include "kernels/common/gemm_driver.h"

void lp_avx2_conv_fwd(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                      const float *w, float *y, float *ws)
{
    if (!lp_avx2_conv_fwd_fused(g, x, w, y)) lp_scalar_conv_fwd(self, g, x, w, y, ws);
}

int lp_avx2_conv_ksplit_rows(int kk, int oc, int pixels)
{
    return lp_avx2_ksplit_rows(kk, oc, pixels);
}

size_t lp_avx2_ksplit_floats(int kk, int oc, int pixels)
{
    return lp_avx2_ksplit_floats_(kk, oc, pixels);
}

size_t lp_avx2_conv_workspace(const lp_conv_geom *g)
{
    return lp_scalar_conv_workspace(g) +
           lp_avx2_ksplit_floats(g->kh * g->kw * g->c, g->oc, g->n * g->oh * g->ow);
}

/* ws: [im2col buffer (scalar size)][k-split scratch]. Channel counts the
 * fused packing does not take (c % 8 != 0: input layers) go through
 * self->im2col and the k-split GEMM. */
void lp_avx2_conv_bwd_weights(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                              const float *dy, float *dw, float *ws)
{
    const size_t ncol = lp_scalar_conv_workspace(g);
    float *part = ws + ncol;
    if (lp_avx2_conv_bwd_weights_fused(g, x, dy, dw, part)) return;
    const float *col = x;
    if (ncol) {
        self->im2col(g, x, ws);
        col = ws;
    }
    lp_avx2_conv_bwd_weights_col(g, col, dy, dw, part);
}

/* lp_scalar_conv_bwd_data by groups of G images: dcol = dy_grp @ W^T into
 * the group's slice of ws, then col2im of those images, the groups spread
 * over the threads (the GEMM and col2im inside run on one thread). Each
 * group's dcol stays in cache instead of a whole-batch dcol going through
 * memory. G (from the shape only) makes the group's GEMM at least
 * LP_BWD_GROUP_ROWS rows. Every dcol element is the same k-ordered sum
 * whatever the GEMM's row count, and col2im is per input pixel, so the
 * result is bitwise the scalar composition's, for any thread count. */
#define LP_BWD_GROUP_ROWS 256
void lp_avx2_conv_bwd_data_per_image(const lp_kernels *self, const lp_conv_geom *g,
                                     const float *dy, const float *w, float *dx, float *ws)
{
    const int ohw = g->oh * g->ow, kk = g->kh * g->kw * g->c;
    const int grp = (LP_BWD_GROUP_ROWS + ohw - 1) / ohw;
    const int ngrp = (g->n + grp - 1) / grp;
    if (ngrp < 4 || lp_scalar_conv_workspace(g) == 0) {
        lp_scalar_conv_bwd_data(self, g, dy, w, dx, ws);
        return;
    }
    const size_t dys = (size_t)ohw * g->oc, dxs = (size_t)g->h * g->w * g->c, cs = (size_t)ohw * kk;
#pragma omp parallel for schedule(dynamic, 1) if ((double)ohw * kk * g->oc * g->n > 1e6)
    for (int q = 0; q < ngrp; q++) {
        const int i0 = q * grp, ni = g->n - i0 < grp ? g->n - i0 : grp;
        lp_conv_geom gg = *g;
        gg.n = ni;
        float *col = ws + (size_t)i0 * cs;
        self->gemm(0, 1, ni * ohw, kk, g->oc, 1.0f, dy + (size_t)i0 * dys, g->oc, w, g->oc, 0.0f,
                   col, kk);
        self->col2im(&gg, col, dx + (size_t)i0 * dxs);
    }
}

void lp_avx2_conv_bwd_data(const lp_kernels *self, const lp_conv_geom *g, const float *dy,
                           const float *w, float *dx, float *ws)
{
    lp_avx2_conv_bwd_data_per_image(self, g, dy, w, dx, ws);
}
