/* Bias add (row broadcast) and its gradient (column sums).
 * bias_grad sums each column in row order in double; the parallel loop is
 * over blocks of columns, so the result does not depend on thread count. */
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

void lp_scalar_bias_grad(size_t rows, int cols, const float *dy, float *db)
{
    int nb = (cols + BIAS_CB - 1) / BIAS_CB;
#pragma omp parallel for schedule(static) if (nb > 1 && rows * (size_t)cols > 65536)
    for (int bi = 0; bi < nb; bi++) {
        int j0 = bi * BIAS_CB;
        int cb = cols - j0 < BIAS_CB ? cols - j0 : BIAS_CB;
        double acc[BIAS_CB];
        for (int j = 0; j < cb; j++) acc[j] = 0.0;
        for (size_t r = 0; r < rows; r++) {
            const float *restrict d = dy + r * (size_t)cols + j0;
            for (int j = 0; j < cb; j++) acc[j] += d[j];
        }
        for (int j = 0; j < cb; j++) db[j0 + j] = (float)acc[j];
    }
}
