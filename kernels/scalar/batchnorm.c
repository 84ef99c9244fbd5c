/* Batch normalisation over the last axis of x[rows, c].
 *
 * Statistics are accumulated in double, per channel: over LP_BN_GROUPS
 * fixed groups of rows, each group in row order from 0.0, then the groups'
 * sums in group order (scalar.h). The parallel loop runs over blocks of
 * BN_CB channels (one cache line of floats), so every sum is independent
 * of the thread count; the ISA kernels split the groups over their threads
 * instead and reproduce the same sums. The variance is the biased one, from
 * a second pass over (x - mean). The affine output is
 *     y = (x - mean) * (gamma / sqrt(var + eps)) + beta
 * computed from the float mean/var by one helper for training and inference,
 * so inference with the batch statistics reproduces training bit for bit.
 * relu fuses max(0, .) after the affine; its backward masks dy by y > 0.
 * Compiled with -ffp-contract=off, as the ISA versions are. */
#include "kernels/scalar/scalar.h"

#include <math.h>

#define BN_CB 16   /* channels per block */
#define BN_RB 64   /* rows per block of inference */

/* y[:, j0:j0+cb] for rows [r0, r1). */
static void bn_apply(size_t r0, size_t r1, int c, int j0, int cb, const float *x,
                     const float *gamma, const float *beta, const float *mean,
                     const float *var, float eps, float *y, int relu)
{
    float s[BN_CB], mu[BN_CB], b[BN_CB];
    for (int j = 0; j < cb; j++) {
        s[j] = lp_bn_scale(gamma[j0 + j], var[j0 + j], eps);
        mu[j] = mean[j0 + j];
        b[j] = beta[j0 + j];
    }
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * (size_t)c + j0; /* y may alias x */
        float *yr = y + r * (size_t)c + j0;
        if (relu) {
            for (int j = 0; j < cb; j++) {
                float v = (xr[j] - mu[j]) * s[j] + b[j];
                yr[j] = v < 0.0f ? 0.0f : v;
            }
        } else {
            for (int j = 0; j < cb; j++) yr[j] = (xr[j] - mu[j]) * s[j] + b[j];
        }
    }
}

void lp_scalar_bn_fwd_train(size_t rows, int c, const float *x, const float *gamma,
                            const float *beta, float eps, float *y, float *mean, float *var,
                            int relu)
{
    int nb = (c + BN_CB - 1) / BN_CB;
#pragma omp parallel for schedule(static) if (nb > 1 && rows * (size_t)c > 32768)
    for (int bi = 0; bi < nb; bi++) {
        int j0 = bi * BN_CB, cb = c - j0 < BN_CB ? c - j0 : BN_CB;
        double acc[BN_CB], grp[BN_CB], mu[BN_CB];
        for (int j = 0; j < cb; j++) acc[j] = 0.0;
        for (size_t g = 0; g < LP_BN_GROUPS; g++) {
            for (int j = 0; j < cb; j++) grp[j] = 0.0;
            const size_t r1 = lp_bn_group_begin(rows, g + 1);
            for (size_t r = lp_bn_group_begin(rows, g); r < r1; r++) {
                const float *restrict xr = x + r * (size_t)c + j0;
                for (int j = 0; j < cb; j++) grp[j] += xr[j];
            }
            for (int j = 0; j < cb; j++) acc[j] += grp[j];
        }
        for (int j = 0; j < cb; j++) {
            mu[j] = rows ? acc[j] / (double)rows : 0.0;
            acc[j] = 0.0;
        }
        for (size_t g = 0; g < LP_BN_GROUPS; g++) {
            for (int j = 0; j < cb; j++) grp[j] = 0.0;
            const size_t r1 = lp_bn_group_begin(rows, g + 1);
            for (size_t r = lp_bn_group_begin(rows, g); r < r1; r++) {
                const float *restrict xr = x + r * (size_t)c + j0;
                for (int j = 0; j < cb; j++) {
                    double d = (double)xr[j] - mu[j];
                    grp[j] += d * d;
                }
            }
            for (int j = 0; j < cb; j++) acc[j] += grp[j];
        }
        for (int j = 0; j < cb; j++) {
            mean[j0 + j] = (float)mu[j];
            var[j0 + j] = rows ? (float)(acc[j] / (double)rows) : 0.0f;
        }
        bn_apply(0, rows, c, j0, cb, x, gamma, beta, mean, var, eps, y, relu);
    }
}

void lp_scalar_bn_fwd_infer(size_t rows, int c, const float *x, const float *gamma,
                            const float *beta, const float *mean, const float *var, float eps,
                            float *y, int relu)
{
    size_t nrb = (rows + BN_RB - 1) / BN_RB;
#pragma omp parallel for schedule(static) if (nrb > 1 && rows * (size_t)c > 32768)
    for (size_t rb = 0; rb < nrb; rb++) {
        size_t r0 = rb * BN_RB, r1 = r0 + BN_RB < rows ? r0 + BN_RB : rows;
        for (int j0 = 0; j0 < c; j0 += BN_CB) {
            int cb = c - j0 < BN_CB ? c - j0 : BN_CB;
            bn_apply(r0, r1, c, j0, cb, x, gamma, beta, mean, var, eps, y, relu);
        }
    }
}

void lp_scalar_bn_bwd(size_t rows, int c, const float *x, const float *y, const float *dy,
                      const float *gamma, const float *mean, const float *var, float eps,
                      float *dx, float *dgamma, float *dbeta, int relu)
{
    int nb = (c + BN_CB - 1) / BN_CB;
#pragma omp parallel for schedule(static) if (nb > 1 && rows * (size_t)c > 32768)
    for (int bi = 0; bi < nb; bi++) {
        int j0 = bi * BN_CB, cb = c - j0 < BN_CB ? c - j0 : BN_CB;
        float mu[BN_CB], inv[BN_CB];
        double sg[BN_CB], sgx[BN_CB];
        for (int j = 0; j < cb; j++) {
            mu[j] = mean[j0 + j];
            inv[j] = 1.0f / sqrtf(var[j0 + j] + eps);
            sg[j] = 0.0;
            sgx[j] = 0.0;
        }
        for (size_t g = 0; g < LP_BN_GROUPS; g++) {
            double gg[BN_CB], ggx[BN_CB];
            for (int j = 0; j < cb; j++) gg[j] = ggx[j] = 0.0;
            const size_t r1 = lp_bn_group_begin(rows, g + 1);
            for (size_t r = lp_bn_group_begin(rows, g); r < r1; r++) {
                size_t o = r * (size_t)c + j0;
                for (int j = 0; j < cb; j++) {
                    float gr = (!relu || y[o + j] > 0.0f) ? dy[o + j] : 0.0f;
                    float xh = (x[o + j] - mu[j]) * inv[j];
                    gg[j] += gr;
                    ggx[j] += (double)gr * xh;
                }
            }
            for (int j = 0; j < cb; j++) {
                sg[j] += gg[j];
                sgx[j] += ggx[j];
            }
        }
        float k[BN_CB], mg[BN_CB], mgx[BN_CB];
        for (int j = 0; j < cb; j++) {
            dbeta[j0 + j] = (float)sg[j];
            dgamma[j0 + j] = (float)sgx[j];
            k[j] = gamma[j0 + j] * inv[j];
            mg[j] = rows ? (float)(sg[j] / (double)rows) : 0.0f;
            mgx[j] = rows ? (float)(sgx[j] / (double)rows) : 0.0f;
        }
        for (size_t r = 0; r < rows; r++) {
            size_t o = r * (size_t)c + j0;
            for (int j = 0; j < cb; j++) {
                float gr = (!relu || y[o + j] > 0.0f) ? dy[o + j] : 0.0f;
                float xh = (x[o + j] - mu[j]) * inv[j];
                dx[o + j] = k[j] * (gr - mg[j] - xh * mgx[j]);
            }
        }
    }
}
