/* Bias add (row broadcast) and its gradient (column sums).
 * bias_grad sums each column in double: rows in chunks of
 * lp_bias_grad_chunk(rows) (from the shape only), each chunk's sums in row
 * order (the chunks in parallel), then the chunks' sums in chunk order, so
 * the result does not depend on the thread count. */
#include "kernels/scalar/scalar.h"

#define BIAS_CB 64 /* columns per block of bias_grad */

void lp_scalar_bias_add(size_t rows, int cols, const float *b, float *y)
{
#pragma omp parallel for schedule(static) if (rows * (size_t)cols > 65536)
    for (size_t r = 0; r < rows; r++) {
        float *restrict yr = y + r * (size_t)cols;
        for (int j = 0; j < cols; j++) yr[j] += b[j];
    }
}

/* Rows per partial sum of bias_grad (from the row count only). */
size_t lp_bias_grad_chunk(size_t rows)
{
    size_t c = (rows + LP_BG_MAXCH - 1) / LP_BG_MAXCH;
    return c < LP_BG_ROWS ? LP_BG_ROWS : c;
}

void lp_scalar_bias_grad(size_t rows, int cols, const float *dy, float *db)
{
    const size_t chunk = lp_bias_grad_chunk(rows);
    const int nch = rows ? (int)((rows + chunk - 1) / chunk) : 1;
    for (int j0 = 0; j0 < cols; j0 += BIAS_CB) {
        const int cb = cols - j0 < BIAS_CB ? cols - j0 : BIAS_CB;
        double part[LP_BG_MAXCH][BIAS_CB];
#pragma omp parallel for schedule(static) if (nch > 1 && rows * (size_t)cols > 65536)
        for (int q = 0; q < nch; q++) {
            const size_t r0 = (size_t)q * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
            double *acc = part[q];
            for (int j = 0; j < cb; j++) acc[j] = 0.0;
            for (size_t r = r0; r < r1; r++) {
                const float *restrict d = dy + r * (size_t)cols + j0;
                for (int j = 0; j < cb; j++) acc[j] += d[j];
            }
        }
        for (int j = 0; j < cb; j++) {
            double t = part[0][j];
            for (int q = 1; q < nch; q++) t += part[q][j];
            db[j0 + j] = (float)t;
        }
    }
}
