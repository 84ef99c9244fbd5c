/* Portable cache-blocked SGEMM: C = alpha * op(A) op(B) + beta * C.
 *
 * C is cut into tiles of at most GEMM_MC x GEMM_NC; each tile is computed by
 * one thread over k blocks of GEMM_KC in ascending order. Per k block, the
 * A and B slices are packed (this is where the transposes are absorbed) into
 * panels of GEMM_MR rows and GEMM_NR columns, and a fixed-size micro-kernel
 * accumulates an MR x NR block in registers (plain C that gcc -O3 unrolls
 * and vectorises). Each element of C is therefore
 *     sum over k blocks (in order) of [sum over p in the block (in order)]
 * whatever the tile sizes and whichever thread computes it: the result is
 * bitwise identical for any thread count, and the tile size may adapt to the
 * thread count without changing a bit.
 *
 * Packing buffers and the tile accumulator are thread-local static arrays
 * (no allocation). */
#include "kernels/scalar/scalar.h"

#include <omp.h>
#include <string.h>

#define GEMM_MR 4
#define GEMM_NR 8
#define GEMM_MC 64
#define GEMM_NC 128
#define GEMM_KC 256

_Static_assert(GEMM_MC % GEMM_MR == 0, "MC multiple of MR");
_Static_assert(GEMM_NC % GEMM_NR == 0, "NC multiple of NR");

static _Thread_local _Alignas(64) float gemm_apack[GEMM_MC * GEMM_KC];
static _Thread_local _Alignas(64) float gemm_bpack[GEMM_KC * GEMM_NC];
static _Thread_local _Alignas(64) float gemm_tile[GEMM_MC * GEMM_NC];

/* Pack op(A)[i0 : i0+mc, p0 : p0+kc] as panels of MR rows: panel r holds
 * [kc][MR], rows past mc zero-filled. */
static void pack_a(int trans_a, const float *a, int lda, int i0, int mc, int p0, int kc,
                   float *restrict ap)
{
    for (int ir = 0; ir < mc; ir += GEMM_MR) {
        int mr = mc - ir < GEMM_MR ? mc - ir : GEMM_MR;
        float *dst = ap + (size_t)ir * kc;
        if (!trans_a) {
            for (int r = 0; r < GEMM_MR; r++) {
                if (r < mr) {
                    const float *src = a + (size_t)(i0 + ir + r) * lda + p0;
                    for (int p = 0; p < kc; p++) dst[p * GEMM_MR + r] = src[p];
                } else {
                    for (int p = 0; p < kc; p++) dst[p * GEMM_MR + r] = 0.0f;
                }
            }
        } else {
            for (int p = 0; p < kc; p++) {
                const float *src = a + (size_t)(p0 + p) * lda + i0 + ir;
                for (int r = 0; r < GEMM_MR; r++) dst[p * GEMM_MR + r] = r < mr ? src[r] : 0.0f;
            }
        }
    }
}

/* Pack op(B)[p0 : p0+kc, j0 : j0+nc] as panels of NR columns: panel c holds
 * [kc][NR], columns past nc zero-filled. */
static void pack_b(int trans_b, const float *b, int ldb, int p0, int kc, int j0, int nc,
                   float *restrict bp)
{
    for (int jr = 0; jr < nc; jr += GEMM_NR) {
        int nr = nc - jr < GEMM_NR ? nc - jr : GEMM_NR;
        float *dst = bp + (size_t)jr * kc;
        if (!trans_b) {
            for (int p = 0; p < kc; p++) {
                const float *src = b + (size_t)(p0 + p) * ldb + j0 + jr;
                if (nr == GEMM_NR) {
                    for (int c = 0; c < GEMM_NR; c++) dst[p * GEMM_NR + c] = src[c];
                } else {
                    for (int c = 0; c < GEMM_NR; c++) dst[p * GEMM_NR + c] = c < nr ? src[c] : 0.0f;
                }
            }
        } else {
            for (int c = 0; c < GEMM_NR; c++) {
                if (c < nr) {
                    const float *src = b + (size_t)(j0 + jr + c) * ldb + p0;
                    for (int p = 0; p < kc; p++) dst[p * GEMM_NR + c] = src[p];
                } else {
                    for (int p = 0; p < kc; p++) dst[p * GEMM_NR + c] = 0.0f;
                }
            }
        }
    }
}

/* acc = sum_p ap[p][:] (outer) bp[p][:]; then t = acc (first) or t += acc. */
static inline void micro_kernel(int kc, const float *restrict ap, const float *restrict bp,
                                float *restrict t, int ldt, int first)
{
    float acc[GEMM_MR][GEMM_NR];
    for (int i = 0; i < GEMM_MR; i++)
        for (int j = 0; j < GEMM_NR; j++) acc[i][j] = 0.0f;
    for (int p = 0; p < kc; p++) {
        const float *restrict av = ap + p * GEMM_MR;
        const float *restrict bv = bp + p * GEMM_NR;
        for (int i = 0; i < GEMM_MR; i++) {
            float ai = av[i];
            for (int j = 0; j < GEMM_NR; j++) acc[i][j] += ai * bv[j];
        }
    }
    if (first) {
        for (int i = 0; i < GEMM_MR; i++)
            for (int j = 0; j < GEMM_NR; j++) t[i * ldt + j] = acc[i][j];
    } else {
        for (int i = 0; i < GEMM_MR; i++)
            for (int j = 0; j < GEMM_NR; j++) t[i * ldt + j] += acc[i][j];
    }
}

static void gemm_tile_compute(int trans_a, int trans_b, int i0, int mc, int j0, int nc, int k,
                              float alpha, const float *a, int lda, const float *b, int ldb,
                              float beta, float *c, int ldc)
{
    float *ap = gemm_apack, *bp = gemm_bpack, *t = gemm_tile;
    const int ldt = GEMM_NC;
    for (int p0 = 0; p0 < k; p0 += GEMM_KC) {
        int kc = k - p0 < GEMM_KC ? k - p0 : GEMM_KC;
        pack_b(trans_b, b, ldb, p0, kc, j0, nc, bp);
        pack_a(trans_a, a, lda, i0, mc, p0, kc, ap);
        for (int jr = 0; jr < nc; jr += GEMM_NR)
            for (int ir = 0; ir < mc; ir += GEMM_MR)
                micro_kernel(kc, ap + (size_t)ir * kc, bp + (size_t)jr * kc, t + ir * ldt + jr,
                             ldt, p0 == 0);
    }
    for (int i = 0; i < mc; i++) {
        float *restrict crow = c + (size_t)(i0 + i) * ldc + j0;
        const float *restrict trow = t + i * ldt;
        if (k == 0) {
            if (beta == 0.0f)
                for (int j = 0; j < nc; j++) crow[j] = 0.0f;
            else
                for (int j = 0; j < nc; j++) crow[j] = beta * crow[j];
        } else if (beta == 0.0f) {
            for (int j = 0; j < nc; j++) crow[j] = alpha * trow[j];
        } else {
            for (int j = 0; j < nc; j++) crow[j] = alpha * trow[j] + beta * crow[j];
        }
    }
}

void lp_scalar_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                    int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0) return;
    if (k < 0) k = 0;
    /* Tile height: GEMM_MC, shrunk (in steps of MR) when C has too few tiles
     * to keep the threads busy. Any height gives the same bits (see top). */
    int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    int nt_n = (n + GEMM_NC - 1) / GEMM_NC;
    int mc = GEMM_MC;
    while (mc > GEMM_MR && (long)((m + mc - 1) / mc) * nt_n < 2L * threads) mc -= GEMM_MR;
    int nt_m = (m + mc - 1) / mc;
    long tiles = (long)nt_m * nt_n;
    double flops = 2.0 * m * n * (double)k;
#pragma omp parallel for schedule(static) if (tiles > 1 && flops > 2e5)
    for (long tix = 0; tix < tiles; tix++) {
        int ti = (int)(tix / nt_n), tj = (int)(tix % nt_n);
        int i0 = ti * mc, j0 = tj * GEMM_NC;
        int mcc = m - i0 < mc ? m - i0 : mc;
        int ncc = n - j0 < GEMM_NC ? n - j0 : GEMM_NC;
        gemm_tile_compute(trans_a, trans_b, i0, mcc, j0, ncc, k, alpha, a, lda, b, ldb, beta, c,
                          ldc);
    }
}
