/* Element-wise kernel drivers shared by the ISA folders (kernels/avx2,
 * kernels/neon): ReLU, dropout, axpy, add, Adam, bias add / gradient and
 * sumsq. Included by one eltwise.c per ISA, which then defines (declared
 * below):
 *
 *   lpe_<op>_vec(i, i1, ...)   the op on elements [i, k) with vectors, k the
 *                              last multiple of the vector width from i
 *                              that fits; returns k (the driver does the
 *                              rest with the scalar expression)
 *   lpe_bias_add_vec(yr, b, cols)   the same for the columns of one row
 *   lpe_colsums(r0, r1, cols, j0, cb, y, dy, sum)
 *       sum[j] = column j0 + j of dy over rows [r0, r1) in row order in
 *       double, j < cb <= LPE_BG_CB; with y, dy first masked in place by
 *       y > 0
 *   lpe_sumsq_chunk(n, x)
 *       8 double lanes, lane l taking the elements i = l mod 8, then
 *       lane 0 + lane 1 + ... in order
 *
 * and then LPE_DEFINE_ENTRIES(isa) for its table entries. Each performs
 * exactly the scalar kernel's IEEE operations in the same order (no fused
 * multiply-adds where the scalar code rounds twice, double accumulators
 * where it uses double) and the drivers keep the scalar kernels' fixed
 * partitions of the reductions, so the results are bit-identical to
 * kernels/scalar and independent of the thread count. */
#ifndef LAPERM_KERNELS_COMMON_ELTWISE_H
#define LAPERM_KERNELS_COMMON_ELTWISE_H

#include "kernels/scalar/scalar.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define LPE_PAR_MIN 65536 /* element count below which loops stay on one thread */
#define LPE_CHUNK 16384   /* floats per parallel chunk of the streaming kernels */
#ifndef LPE_BG_CB
#define LPE_BG_CB 32      /* columns per block of the bias gradient (an ISA may set more) */
#endif

static size_t lpe_relu_fwd_vec(size_t i, size_t i1, const float *x, float *y);
static size_t lpe_relu_bwd_vec(size_t i, size_t i1, const float *y, const float *dy, float *dx);
static size_t lpe_dropout_vec(size_t i, size_t i1, const float *x, const uint8_t *mask,
                              float scale, float *y);
static size_t lpe_axpy_vec(size_t i, size_t i1, float a, const float *x, float *y);
static size_t lpe_add_vec(size_t i, size_t i1, const float *a, const float *b, float *y);
static size_t lpe_adam_vec(size_t i, size_t i1, float *w, const float *g, float *m, float *v,
                           float lr_t, float b1, float b2, float eps);
static int lpe_bias_add_vec(float *yr, const float *b, int cols);
static void lpe_colsums(size_t r0, size_t r1, int cols, int j0, int cb, const float *y,
                        float *dy, double *sum);
static double lpe_sumsq_chunk(size_t n, const float *x);

/* The streaming kernels run over [0, n) in LPE_CHUNK pieces [i0, i1)
 * spread statically over the threads (each element is computed alone: any
 * split gives the same bits). */
#define LPE_STREAM(n, BODY)                                                      \
    do {                                                                         \
        const size_t lpe_n = (n), lpe_nch = (lpe_n + LPE_CHUNK - 1) / LPE_CHUNK; \
        _Pragma("omp parallel for schedule(static) if (lpe_n > LPE_PAR_MIN)")    \
        for (size_t lpe_c = 0; lpe_c < lpe_nch; lpe_c++) {                       \
            const size_t i0 = lpe_c * LPE_CHUNK;                                 \
            const size_t i1 = i0 + LPE_CHUNK < lpe_n ? i0 + LPE_CHUNK : lpe_n;   \
            BODY;                                                                \
        }                                                                        \
    } while (0)

static void lpe_relu_fwd(size_t n, const float *x, float *y)
{
    LPE_STREAM(n, for (size_t i = lpe_relu_fwd_vec(i0, i1, x, y); i < i1; i++)
                      y[i] = x[i] < 0.0f ? 0.0f : x[i]);
}

static void lpe_relu_bwd(size_t n, const float *y, const float *dy, float *dx)
{
    LPE_STREAM(n, for (size_t i = lpe_relu_bwd_vec(i0, i1, y, dy, dx); i < i1; i++)
                      dx[i] = y[i] > 0.0f ? dy[i] : 0.0f);
}

static void lpe_dropout_apply(size_t n, const float *x, const uint8_t *mask, float scale, float *y)
{
    LPE_STREAM(n, for (size_t i = lpe_dropout_vec(i0, i1, x, mask, scale, y); i < i1; i++)
                      y[i] = mask[i] ? x[i] * scale : 0.0f);
}

static void lpe_axpy(size_t n, float a, const float *x, float *y)
{
    LPE_STREAM(n, for (size_t i = lpe_axpy_vec(i0, i1, a, x, y); i < i1; i++) y[i] += a * x[i]);
}

static void lpe_add(size_t n, const float *a, const float *b, float *y)
{
    LPE_STREAM(n, for (size_t i = lpe_add_vec(i0, i1, a, b, y); i < i1; i++) y[i] = a[i] + b[i]);
}

static void lpe_adam_update(size_t n, float *w, const float *g, float *m, float *v, float lr_t,
                            float b1, float b2, float eps)
{
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
    LPE_STREAM(n, for (size_t i = lpe_adam_vec(i0, i1, w, g, m, v, lr_t, b1, b2, eps); i < i1; i++)
                      lp_adam_one(i, w, g, m, v, lr_t, b1, b2, c1, c2, eps));
}

static void lpe_bias_add(size_t rows, int cols, const float *b, float *y)
{
#pragma omp parallel for schedule(static) if (rows * (size_t)cols > LPE_PAR_MIN)
    for (size_t r = 0; r < rows; r++) {
        float *yr = y + r * (size_t)cols;
        for (int j = lpe_bias_add_vec(yr, b, cols); j < cols; j++) yr[j] += b[j];
    }
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

/* sum of x^2 in double in the scalar kernel's partition (scalar.h:
 * LP_SS_CHUNK, LP_SS_SUPER). The product of two floats is exact in double,
 * so the vector lanes reproduce the scalar lanes bit for bit. */
static double lpe_sumsq(size_t n, const float *x)
{
    double total = 0.0;
    const size_t nchunks = (n + LP_SS_CHUNK - 1) / LP_SS_CHUNK;
    for (size_t c0 = 0; c0 < nchunks; c0 += LP_SS_SUPER) {
        const int nc = nchunks - c0 < LP_SS_SUPER ? (int)(nchunks - c0) : LP_SS_SUPER;
        double part[LP_SS_SUPER];
#pragma omp parallel for schedule(static) if (nc > 4)
        for (int ci = 0; ci < nc; ci++) {
            const size_t i0 = (c0 + (size_t)ci) * LP_SS_CHUNK;
            part[ci] = lpe_sumsq_chunk(n - i0 < LP_SS_CHUNK ? n - i0 : LP_SS_CHUNK, x + i0);
        }
        for (int ci = 0; ci < nc; ci++) total += part[ci];
    }
    return total;
}

/* The ISA's table entries lp_<isa>_relu_fwd ... lp_<isa>_sumsq (declared in
 * its header), on these drivers. */
#define LPE_DEFINE_ENTRIES(isa)                                                                 \
    void lp_##isa##_relu_fwd(size_t n, const float *x, float *y) { lpe_relu_fwd(n, x, y); }      \
    void lp_##isa##_relu_bwd(size_t n, const float *y, const float *dy, float *dx)              \
    {                                                                                           \
        lpe_relu_bwd(n, y, dy, dx);                                                             \
    }                                                                                           \
    void lp_##isa##_dropout_apply(size_t n, const float *x, const uint8_t *mask, float scale,   \
                                  float *y)                                                     \
    {                                                                                           \
        lpe_dropout_apply(n, x, mask, scale, y);                                                \
    }                                                                                           \
    void lp_##isa##_axpy(size_t n, float a, const float *x, float *y) { lpe_axpy(n, a, x, y); }  \
    void lp_##isa##_add(size_t n, const float *a, const float *b, float *y)                     \
    {                                                                                           \
        lpe_add(n, a, b, y);                                                                    \
    }                                                                                           \
    void lp_##isa##_adam_update(size_t n, float *w, const float *g, float *m, float *v,         \
                                float lr_t, float b1, float b2, float eps)                      \
    {                                                                                           \
        lpe_adam_update(n, w, g, m, v, lr_t, b1, b2, eps);                                      \
    }                                                                                           \
    void lp_##isa##_bias_add(size_t rows, int cols, const float *b, float *y)                   \
    {                                                                                           \
        lpe_bias_add(rows, cols, b, y);                                                         \
    }                                                                                           \
    /* dy is only read when y is NULL */                                                        \
    void lp_##isa##_bias_grad(size_t rows, int cols, const float *dy, float *db)                \
    {                                                                                           \
        lpe_bias_grad_masked(rows, cols, NULL, (float *)(uintptr_t)dy, db);                     \
    }                                                                                           \
    void lp_##isa##_relu_bias_grad(size_t rows, int cols, const float *y, float *dy, float *db) \
    {                                                                                           \
        lpe_bias_grad_masked(rows, cols, y, dy, db);                                            \
    }                                                                                           \
    double lp_##isa##_sumsq(size_t n, const float *x) { return lpe_sumsq(n, x); }

#endif
