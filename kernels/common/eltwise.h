/* Element-wise kernel drivers shared by the ISA folders (kernels/avx2,
 * kernels/neon): ReLU, dropout, axpy, add, Adam, bias add / gradient and
 * sumsq. Included by one eltwise.c per ISA, which then defines, for
 * [i, i1) or one row, with vectors and a scalar tail (declared here):
 *
 *   static void lpe_relu_fwd_range(size_t i, size_t i1, const float *x, float *y);
 *   static void lpe_relu_bwd_range(size_t i, size_t i1, const float *y, const float *dy, float *dx);
 *   static void lpe_dropout_range(size_t i, size_t i1, const float *x, const uint8_t *mask,
 *                                 float scale, float *y);
 *   static void lpe_axpy_range(size_t i, size_t i1, float a, const float *x, float *y);
 *   static void lpe_add_range(size_t i, size_t i1, const float *a, const float *b, float *y);
 *   static void lpe_adam_range(size_t i, size_t i1, float *w, const float *g, float *m, float *v,
 *                              float lr_t, float b1, float b2, float eps);
 *   static void lpe_bias_add_row(float *yr, const float *b, int cols);
 *   static void lpe_colsums(size_t r0, size_t r1, int cols, int j0, int cb, const float *y,
 *                           float *dy, double *sum);
 *       sum[j] = column j0 + j of dy over rows [r0, r1) in row order in double,
 *       j < cb <= LPE_BG_CB; with y, dy first masked in place by y > 0
 *   static double lpe_sumsq_chunk(size_t n, const float *x);
 *       8 double lanes, lane l taking the elements i = l mod 8, then
 *       lane 0 + lane 1 + ... in order
 *
 * Each performs exactly the scalar kernel's IEEE operations in the same
 * order (no fused multiply-adds where the scalar code rounds twice, double
 * accumulators where it uses double) and the drivers keep the scalar
 * kernels' fixed partitions of the reductions, so the results are
 * bit-identical to kernels/scalar and independent of the thread count. */
#ifndef LAPERM_KERNELS_COMMON_ELTWISE_H
#define LAPERM_KERNELS_COMMON_ELTWISE_H

#include "kernels/scalar/scalar.h"

#include <stddef.h>
#include <stdint.h>

#define LPE_PAR_MIN 65536 /* element count below which loops stay on one thread */
#define LPE_CHUNK 16384   /* floats per parallel chunk of the streaming kernels */
#define LPE_BG_CB 32      /* columns per block of the bias gradient */

static void lpe_relu_fwd_range(size_t i, size_t i1, const float *x, float *y);
static void lpe_relu_bwd_range(size_t i, size_t i1, const float *y, const float *dy, float *dx);
static void lpe_dropout_range(size_t i, size_t i1, const float *x, const uint8_t *mask,
                              float scale, float *y);
static void lpe_axpy_range(size_t i, size_t i1, float a, const float *x, float *y);
static void lpe_add_range(size_t i, size_t i1, const float *a, const float *b, float *y);
static void lpe_adam_range(size_t i, size_t i1, float *w, const float *g, float *m, float *v,
                           float lr_t, float b1, float b2, float eps);
static void lpe_bias_add_row(float *yr, const float *b, int cols);
static void lpe_colsums(size_t r0, size_t r1, int cols, int j0, int cb, const float *y,
                        float *dy, double *sum);
static double lpe_sumsq_chunk(size_t n, const float *x);

/* The streaming kernels run over [0, n) in LPE_CHUNK pieces spread
 * statically over the threads (each element is computed alone: any split
 * gives the same bits). */
#define LPE_STREAM(n, CALL)                                                    \
    do {                                                                       \
        const size_t lpe_n = (n), lpe_nch = (lpe_n + LPE_CHUNK - 1) / LPE_CHUNK; \
        _Pragma("omp parallel for schedule(static) if (lpe_n > LPE_PAR_MIN)")  \
        for (size_t lpe_c = 0; lpe_c < lpe_nch; lpe_c++) {                     \
            const size_t i0 = lpe_c * LPE_CHUNK;                               \
            const size_t i1 = i0 + LPE_CHUNK < lpe_n ? i0 + LPE_CHUNK : lpe_n; \
            CALL;                                                              \
        }                                                                      \
    } while (0)

static void lpe_relu_fwd(size_t n, const float *x, float *y)
{
    LPE_STREAM(n, lpe_relu_fwd_range(i0, i1, x, y));
}

static void lpe_relu_bwd(size_t n, const float *y, const float *dy, float *dx)
{
    LPE_STREAM(n, lpe_relu_bwd_range(i0, i1, y, dy, dx));
}

static void lpe_dropout_apply(size_t n, const float *x, const uint8_t *mask, float scale, float *y)
{
    LPE_STREAM(n, lpe_dropout_range(i0, i1, x, mask, scale, y));
}

static void lpe_axpy(size_t n, float a, const float *x, float *y)
{
    LPE_STREAM(n, lpe_axpy_range(i0, i1, a, x, y));
}

static void lpe_add(size_t n, const float *a, const float *b, float *y)
{
    LPE_STREAM(n, lpe_add_range(i0, i1, a, b, y));
}

static void lpe_adam_update(size_t n, float *w, const float *g, float *m, float *v, float lr_t,
                            float b1, float b2, float eps)
{
    LPE_STREAM(n, lpe_adam_range(i0, i1, w, g, m, v, lr_t, b1, b2, eps));
}

static void lpe_bias_add(size_t rows, int cols, const float *b, float *y)
{
#pragma omp parallel for schedule(static) if (rows * (size_t)cols > LPE_PAR_MIN)
    for (size_t r = 0; r < rows; r++) lpe_bias_add_row(y + r * (size_t)cols, b, cols);
}

/* Column sums in double in the scalar kernel's partition (row chunks of
 * lp_bias_grad_chunk, chunk sums in order; blocks of LPE_BG_CB columns).
 * With y, dy is first masked in place by y > 0 (relu_bwd), in the same
 * pass. */
static void lpe_bias_grad_masked(size_t rows, int cols, const float *y, float *dy, float *db)
{
    const size_t chunk = lp_bias_grad_chunk(rows);
    const int nch = rows ? (int)((rows + chunk - 1) / chunk) : 1;
    for (int j0 = 0; j0 < cols; j0 += LPE_BG_CB) {
        const int cb = cols - j0 < LPE_BG_CB ? cols - j0 : LPE_BG_CB;
        double part[LP_BG_MAXCH][LPE_BG_CB];
#pragma omp parallel for schedule(static) if (nch > 1 && rows * (size_t)cols > LPE_PAR_MIN)
        for (int q = 0; q < nch; q++) {
            const size_t r0 = (size_t)q * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
            lpe_colsums(r0, r1, cols, j0, cb, y, dy, part[q]);
        }
        for (int j = 0; j < cb; j++) {
            double t = part[0][j];
            for (int q = 1; q < nch; q++) t += part[q][j];
            db[j0 + j] = (float)t;
        }
    }
}

/* sum of x^2 in double: the scalar kernel's partition (chunks of
 * LPE_SS_CHUNK, 8 interleaved lanes per chunk, lanes then chunks summed in
 * order). The product of two floats is exact in double, so the vector
 * lanes reproduce the scalar lanes bit for bit. */
#define LPE_SS_CHUNK 8192
#define LPE_SS_SUPER 256
static double lpe_sumsq(size_t n, const float *x)
{
    double total = 0.0;
    size_t nchunks = (n + LPE_SS_CHUNK - 1) / LPE_SS_CHUNK;
    for (size_t c0 = 0; c0 < nchunks; c0 += LPE_SS_SUPER) {
        int nc = nchunks - c0 < LPE_SS_SUPER ? (int)(nchunks - c0) : LPE_SS_SUPER;
        double part[LPE_SS_SUPER];
#pragma omp parallel for schedule(static) if (nc > 4)
        for (int ci = 0; ci < nc; ci++) {
            size_t i0 = (c0 + (size_t)ci) * LPE_SS_CHUNK;
            size_t len = n - i0 < LPE_SS_CHUNK ? n - i0 : LPE_SS_CHUNK;
            part[ci] = lpe_sumsq_chunk(len, x + i0);
        }
        for (int ci = 0; ci < nc; ci++) total += part[ci];
    }
    return total;
}

#endif
