/* Batch normalisation drivers shared by the ISA folders (kernels/avx2,
 * kernels/avx512, kernels/neon): included by one batchnorm.c per ISA after
 * it defines the following, then LPB_DEFINE_ENTRIES(isa) for its table
 * entries:
 *
 *   LPB_W                       floats per vector
 *   LPB_NVREG                   vectors of channels (at most 4) whose sums
 *                               stay in registers for a sweep
 *   lpb_vf, lpb_vd              LPB_W floats / LPB_W / 2 doubles
 *   lpb_ldf lpb_stf lpb_ldd lpb_std lpb_zd
 *   lpb_subf lpb_mulf lpb_addf  float lanes, no fused multiply-add
 *   lpb_relu(v)                 v < 0 ? 0 : v (NaN and -0.0 kept)
 *   lpb_pos_mask(y, d)          y > 0 ? d : +0.0
 *   lpb_lo(v) lpb_hi(v)         the first / second half of v in double
 *   lpb_addd lpb_subd lpb_muld  double lanes, no fused multiply-add
 *
 * The arithmetic is kernels/scalar/batchnorm.c's, operation for operation
 * (see there: per-channel sums in double over LP_BN_GROUPS fixed groups of
 * rows, each group in row order, the groups' sums added in group order;
 * the variance from a second pass over (x - mean); the same float
 * expressions), so every result is bit-identical to the scalar kernel and
 * independent of the thread count (the files are compiled with
 * -ffp-contract=off).
 *
 * The parallel split and the access order are what is fast: every pass
 * walks rows in memory order, all channels of a row together.
 *  - Statistics: the threads share out the groups of rows; a group's sums,
 *    one per channel, go to part[group][channel] (in registers during the
 *    sweep when c is at most LPB_NVREG vectors, else in an L1 array); then
 *    the threads share out the channels to add up the groups.
 *  - The affine output and dx: the threads share out the rows.
 * Splitting the channels instead (the order of the first vector version)
 * read a strided part of every row per thread and left all but one thread
 * idle at 16 channels (resnet50's first stack).
 *
 * c above LPB_MAXC takes the scalar kernel: the group sums live on the
 * caller's stack (2 x 16 x 512 doubles at most, 128 KB). */
#ifndef LAPERM_KERNELS_COMMON_BATCHNORM_H
#define LAPERM_KERNELS_COMMON_BATCHNORM_H

#include "kernels/common/omp_team.h"
#include "kernels/scalar/scalar.h"

#include <math.h>
#include <stddef.h>

#define LPB_MAXC 512      /* larger c: the scalar kernel */
#define LPB_PAR_MIN 32768 /* elements below which one thread does all */

/* This thread's share [lo, hi) of n items. */
static inline void lpb_share(size_t n, size_t *lo, size_t *hi)
{
    const size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
    *lo = n * t / nt;
    *hi = n * (t + 1) / nt;
}

static inline int lpb_team(size_t rows, int c)
{
    return lp_omp_team(rows * (size_t)c > LPB_PAR_MIN ? 2 : 1);
}

/* ---- statistics: acc[j] = sum over rows [r0, r1), in order, from 0.0, of
 * x[r][j] (mu == NULL) or of ((double)x[r][j] - mu[j])^2, for j < c -------------- */

/* nv vectors (a constant after inlining): c == nv * LPB_W. */
static inline __attribute__((always_inline)) void
lpb_sums_reg(size_t r0, size_t r1, int c, const int nv, const float *x, const double *mu,
             double *acc)
{
    lpb_vd a[2 * LPB_NVREG], m[2 * LPB_NVREG];
    for (int q = 0; q < 2 * nv; q++) {
        a[q] = lpb_zd();
        m[q] = mu ? lpb_ldd(mu + q * (LPB_W / 2)) : lpb_zd();
    }
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * (size_t)c;
        for (int v = 0; v < nv; v++) {
            const lpb_vf f = lpb_ldf(xr + v * LPB_W);
            lpb_vd lo = lpb_lo(f), hi = lpb_hi(f);
            if (mu) {
                lo = lpb_subd(lo, m[2 * v]);
                hi = lpb_subd(hi, m[2 * v + 1]);
                lo = lpb_muld(lo, lo);
                hi = lpb_muld(hi, hi);
            }
            a[2 * v] = lpb_addd(a[2 * v], lo);
            a[2 * v + 1] = lpb_addd(a[2 * v + 1], hi);
        }
    }
    for (int q = 0; q < 2 * nv; q++) lpb_std(acc + q * (LPB_W / 2), a[q]);
}

/* Any c: the sums in acc (L1), the channels past the last vector scalar. */
static void lpb_sums_mem(size_t r0, size_t r1, int c, const float *x, const double *mu, double *acc)
{
    const int nvec = c / LPB_W * LPB_W;
    for (int j = 0; j < c; j++) acc[j] = 0.0;
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * (size_t)c;
        for (int j = 0; j < nvec; j += LPB_W) {
            const lpb_vf f = lpb_ldf(xr + j);
            lpb_vd lo = lpb_lo(f), hi = lpb_hi(f);
            if (mu) {
                lo = lpb_subd(lo, lpb_ldd(mu + j));
                hi = lpb_subd(hi, lpb_ldd(mu + j + LPB_W / 2));
                lo = lpb_muld(lo, lo);
                hi = lpb_muld(hi, hi);
            }
            lpb_std(acc + j, lpb_addd(lpb_ldd(acc + j), lo));
            lpb_std(acc + j + LPB_W / 2, lpb_addd(lpb_ldd(acc + j + LPB_W / 2), hi));
        }
        for (int j = nvec; j < c; j++) {
            if (mu) {
                const double d = (double)xr[j] - mu[j];
                acc[j] += d * d;
            } else {
                acc[j] += xr[j];
            }
        }
    }
}

/* Constant vector counts for the register sweeps: k <= LPB_NVREG only. */
#define LPB_NV_SWITCH(c, CALL)                                                  \
    switch ((c) % LPB_W ? 0 : (c) / LPB_W) {                                    \
    case 1: if (1 <= LPB_NVREG) { CALL(1); return; } break;                     \
    case 2: if (2 <= LPB_NVREG) { CALL(2); return; } break;                     \
    case 3: if (3 <= LPB_NVREG) { CALL(3); return; } break;                     \
    case 4: if (4 <= LPB_NVREG) { CALL(4); return; } break;                     \
    default: break;                                                             \
    }

static void lpb_sums(size_t r0, size_t r1, int c, const float *x, const double *mu, double *acc)
{
#define LPB_SUMS(k)                                                             \
    if (mu) lpb_sums_reg(r0, r1, c, k, x, mu, acc);                             \
    else lpb_sums_reg(r0, r1, c, k, x, NULL, acc)
    LPB_NV_SWITCH(c, LPB_SUMS)
#undef LPB_SUMS
    lpb_sums_mem(r0, r1, c, x, mu, acc);
}

/* Group g's rows. */
static inline void lpb_group(size_t rows, size_t g, size_t *r0, size_t *r1)
{
    *r0 = lp_bn_group_begin(rows, g);
    *r1 = lp_bn_group_begin(rows, g + 1);
}

/* This thread's groups' sums into part[g * c + j]. */
static void lpb_my_group_sums(size_t rows, int c, const float *x, const double *mu, double *part)
{
    size_t g0, g1;
    lpb_share(LP_BN_GROUPS, &g0, &g1);
    for (size_t g = g0; g < g1; g++) {
        size_t r0, r1;
        lpb_group(rows, g, &r0, &r1);
        lpb_sums(r0, r1, c, x, mu, part + g * (size_t)c);
    }
}

/* sum[j] = ((0.0 + part[0][j]) + part[1][j]) + ..., this thread's channels
 * [*j0, *j1). */
static void lpb_my_group_totals(int c, const double *part, double *sum, size_t *j0, size_t *j1)
{
    lpb_share((size_t)c, j0, j1);
    for (size_t j = *j0; j < *j1; j++) {
        double t = 0.0;
        for (int g = 0; g < LP_BN_GROUPS; g++) t += part[(size_t)g * c + j];
        sum[j] = t;
    }
}

/* ---- the affine output: this thread's rows --------------------------------------- */

static void lpb_apply_my_rows(size_t rows, int c, const float *x, const float *gamma,
                              const float *beta, const float *mean, const float *var, float eps,
                              float *y, int relu)
{
    size_t r0, r1;
    lpb_share(rows, &r0, &r1);
    float s[LPB_MAXC];
    for (int j = 0; j < c; j++) s[j] = lp_bn_scale(gamma[j], var[j], eps);
    const int nvec = c / LPB_W * LPB_W;
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * (size_t)c; /* y may alias x */
        float *yr = y + r * (size_t)c;
        for (int j = 0; j < nvec; j += LPB_W) {
            lpb_vf v = lpb_addf(
                lpb_mulf(lpb_subf(lpb_ldf(xr + j), lpb_ldf(mean + j)), lpb_ldf(s + j)),
                lpb_ldf(beta + j));
            if (relu) v = lpb_relu(v);
            lpb_stf(yr + j, v);
        }
        for (int j = nvec; j < c; j++) {
            const float v = (xr[j] - mean[j]) * s[j] + beta[j];
            yr[j] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}

static void lpb_bn_fwd_infer(size_t rows, int c, const float *x, const float *gamma,
                             const float *beta, const float *mean, const float *var, float eps,
                             float *y, int relu)
{
    if (c > LPB_MAXC) {
        lp_scalar_bn_fwd_infer(rows, c, x, gamma, beta, mean, var, eps, y, relu);
        return;
    }
#pragma omp parallel num_threads(lpb_team(rows, c))
    lpb_apply_my_rows(rows, c, x, gamma, beta, mean, var, eps, y, relu);
}

static void lpb_bn_fwd_train(size_t rows, int c, const float *x, const float *gamma,
                             const float *beta, float eps, float *y, float *mean, float *var,
                             int relu)
{
    if (c > LPB_MAXC || c <= 0) {
        lp_scalar_bn_fwd_train(rows, c, x, gamma, beta, eps, y, mean, var, relu);
        return;
    }
    double part[LP_BN_GROUPS * c], mu[c]; /* shared by the team */
#pragma omp parallel num_threads(lpb_team(rows, c))
    {
        size_t j0, j1;
        lpb_my_group_sums(rows, c, x, NULL, part);
#pragma omp barrier
        lpb_my_group_totals(c, part, mu, &j0, &j1);
        for (size_t j = j0; j < j1; j++) mu[j] = rows ? mu[j] / (double)rows : 0.0;
#pragma omp barrier
        lpb_my_group_sums(rows, c, x, mu, part);
#pragma omp barrier
        double sq[LPB_MAXC];
        lpb_my_group_totals(c, part, sq, &j0, &j1);
        for (size_t j = j0; j < j1; j++) {
            mean[j] = (float)mu[j];
            var[j] = rows ? (float)(sq[j] / (double)rows) : 0.0f;
        }
#pragma omp barrier
        lpb_apply_my_rows(rows, c, x, gamma, beta, mean, var, eps, y, relu);
    }
}

/* ---- backward ----------------------------------------------------------------------
 * gr = relu ? (y > 0 ? dy : 0) : dy; xh = (x - mean) * inv, inv = 1 / sqrt(var + eps);
 * dbeta = sum gr, dgamma = sum gr * xh (in double, grouped as the forward's sums);
 * dx = k * (gr - mg - xh * mgx), k = gamma * inv, mg = dbeta / rows, mgx = dgamma / rows
 * (mg and mgx from the double sums). */

static inline __attribute__((always_inline)) lpb_vf lpb_grad(const float *y, const float *dy,
                                                             int relu)
{
    const lpb_vf d = lpb_ldf(dy);
    return relu ? lpb_pos_mask(lpb_ldf(y), d) : d;
}

static inline __attribute__((always_inline)) lpb_vf lpb_xhat(const float *x, const float *mu,
                                                             const float *inv)
{
    return lpb_mulf(lpb_subf(lpb_ldf(x), lpb_ldf(mu)), lpb_ldf(inv));
}

/* The same for one channel (the tails). */
static inline float lpb_grad1(const float *y, const float *dy, int relu)
{
    return (!relu || *y > 0.0f) ? *dy : 0.0f;
}

static inline float lpb_xhat1(const float *x, const float *mu, const float *inv)
{
    return (*x - *mu) * *inv;
}

static inline __attribute__((always_inline)) void
lpb_bwd_sums_reg(size_t r0, size_t r1, int c, const int nv, const float *x, const float *y,
                 const float *dy, int relu, const float *mu, const float *inv, double *sg,
                 double *sgx)
{
    lpb_vd ag[2 * LPB_NVREG], agx[2 * LPB_NVREG];
    for (int q = 0; q < 2 * nv; q++) ag[q] = agx[q] = lpb_zd();
    for (size_t r = r0; r < r1; r++) {
        const size_t o = r * (size_t)c;
        for (int v = 0; v < nv; v++) {
            const lpb_vf gr = lpb_grad(y + o + v * LPB_W, dy + o + v * LPB_W, relu);
            const lpb_vf xh = lpb_xhat(x + o + v * LPB_W, mu + v * LPB_W, inv + v * LPB_W);
            const lpb_vd g0 = lpb_lo(gr), g1 = lpb_hi(gr);
            ag[2 * v] = lpb_addd(ag[2 * v], g0);
            ag[2 * v + 1] = lpb_addd(ag[2 * v + 1], g1);
            agx[2 * v] = lpb_addd(agx[2 * v], lpb_muld(g0, lpb_lo(xh)));
            agx[2 * v + 1] = lpb_addd(agx[2 * v + 1], lpb_muld(g1, lpb_hi(xh)));
        }
    }
    for (int q = 0; q < 2 * nv; q++) {
        lpb_std(sg + q * (LPB_W / 2), ag[q]);
        lpb_std(sgx + q * (LPB_W / 2), agx[q]);
    }
}

static void lpb_bwd_sums_mem(size_t r0, size_t r1, int c, const float *x, const float *y,
                             const float *dy, int relu, const float *mu, const float *inv,
                             double *sg, double *sgx)
{
    const int nvec = c / LPB_W * LPB_W;
    for (int j = 0; j < c; j++) sg[j] = sgx[j] = 0.0;
    for (size_t r = r0; r < r1; r++) {
        const size_t o = r * (size_t)c;
        for (int j = 0; j < nvec; j += LPB_W) {
            const lpb_vf gr = lpb_grad(y + o + j, dy + o + j, relu);
            const lpb_vf xh = lpb_xhat(x + o + j, mu + j, inv + j);
            const lpb_vd g0 = lpb_lo(gr), g1 = lpb_hi(gr);
            double *s0 = sg + j, *s1 = sg + j + LPB_W / 2;
            double *t0 = sgx + j, *t1 = sgx + j + LPB_W / 2;
            lpb_std(s0, lpb_addd(lpb_ldd(s0), g0));
            lpb_std(s1, lpb_addd(lpb_ldd(s1), g1));
            lpb_std(t0, lpb_addd(lpb_ldd(t0), lpb_muld(g0, lpb_lo(xh))));
            lpb_std(t1, lpb_addd(lpb_ldd(t1), lpb_muld(g1, lpb_hi(xh))));
        }
        for (int j = nvec; j < c; j++) {
            const float gr = lpb_grad1(y + o + j, dy + o + j, relu);
            const float xh = lpb_xhat1(x + o + j, mu + j, inv + j);
            sg[j] += gr;
            sgx[j] += (double)gr * xh;
        }
    }
}

static void lpb_bwd_sums(size_t r0, size_t r1, int c, const float *x, const float *y,
                         const float *dy, int relu, const float *mu, const float *inv, double *sg,
                         double *sgx)
{
#define LPB_BWD_SUMS(k)                                                         \
    if (relu) lpb_bwd_sums_reg(r0, r1, c, k, x, y, dy, 1, mu, inv, sg, sgx);    \
    else lpb_bwd_sums_reg(r0, r1, c, k, x, y, dy, 0, mu, inv, sg, sgx)
    LPB_NV_SWITCH(c, LPB_BWD_SUMS)
#undef LPB_BWD_SUMS
    lpb_bwd_sums_mem(r0, r1, c, x, y, dy, relu, mu, inv, sg, sgx);
}

/* dx for rows [r0, r1). */
static void lpb_bwd_dx(size_t r0, size_t r1, int c, const float *x, const float *y,
                       const float *dy, int relu, const float *mu, const float *inv,
                       const float *k, const float *mg, const float *mgx, float *dx)
{
    const int nvec = c / LPB_W * LPB_W;
    for (size_t r = r0; r < r1; r++) {
        const size_t o = r * (size_t)c;
        for (int j = 0; j < nvec; j += LPB_W) {
            const lpb_vf gr = lpb_grad(y + o + j, dy + o + j, relu);
            const lpb_vf xh = lpb_xhat(x + o + j, mu + j, inv + j);
            const lpb_vf t =
                lpb_subf(lpb_subf(gr, lpb_ldf(mg + j)), lpb_mulf(xh, lpb_ldf(mgx + j)));
            lpb_stf(dx + o + j, lpb_mulf(lpb_ldf(k + j), t));
        }
        for (int j = nvec; j < c; j++) {
            const float gr = lpb_grad1(y + o + j, dy + o + j, relu);
            const float xh = lpb_xhat1(x + o + j, mu + j, inv + j);
            dx[o + j] = k[j] * (gr - mg[j] - xh * mgx[j]);
        }
    }
}

static void lpb_bn_bwd(size_t rows, int c, const float *x, const float *y, const float *dy,
                       const float *gamma, const float *mean, const float *var, float eps,
                       float *dx, float *dgamma, float *dbeta, int relu)
{
    if (c > LPB_MAXC || c <= 0) {
        lp_scalar_bn_bwd(rows, c, x, y, dy, gamma, mean, var, eps, dx, dgamma, dbeta, relu);
        return;
    }
    /* shared by the team: the group sums, then the means of the sums */
    double psg[LP_BN_GROUPS * c], psgx[LP_BN_GROUPS * c];
    float mg[c], mgx[c];
#pragma omp parallel num_threads(lpb_team(rows, c))
    {
        float mu[LPB_MAXC], inv[LPB_MAXC], kk[LPB_MAXC];
        for (int j = 0; j < c; j++) {
            mu[j] = mean[j];
            inv[j] = 1.0f / sqrtf(var[j] + eps);
            kk[j] = gamma[j] * inv[j];
        }
        size_t g0, g1;
        lpb_share(LP_BN_GROUPS, &g0, &g1);
        for (size_t g = g0; g < g1; g++) {
            size_t r0, r1;
            lpb_group(rows, g, &r0, &r1);
            lpb_bwd_sums(r0, r1, c, x, y, dy, relu, mu, inv, psg + g * (size_t)c,
                         psgx + g * (size_t)c);
        }
#pragma omp barrier
        double sg[LPB_MAXC], sgx[LPB_MAXC];
        size_t j0, j1;
        lpb_my_group_totals(c, psg, sg, &j0, &j1);
        lpb_my_group_totals(c, psgx, sgx, &j0, &j1);
        for (size_t j = j0; j < j1; j++) {
            dbeta[j] = (float)sg[j];
            dgamma[j] = (float)sgx[j];
            mg[j] = rows ? (float)(sg[j] / (double)rows) : 0.0f;
            mgx[j] = rows ? (float)(sgx[j] / (double)rows) : 0.0f;
        }
#pragma omp barrier
        size_t r0, r1;
        lpb_share(rows, &r0, &r1);
        lpb_bwd_dx(r0, r1, c, x, y, dy, relu, mu, inv, kk, mg, mgx, dx);
    }
}

/* The ISA's table entries lp_<isa>_bn_fwd_train, _bn_fwd_infer and _bn_bwd
 * (declared in its header), on these drivers. */
#define LPB_DEFINE_ENTRIES(isa)                                                                 \
    void lp_##isa##_bn_fwd_train(size_t rows, int c, const float *x, const float *gamma,        \
                                 const float *beta, float eps, float *y, float *mean, float *var, \
                                 int relu)                                                      \
    {                                                                                           \
        lpb_bn_fwd_train(rows, c, x, gamma, beta, eps, y, mean, var, relu);                     \
    }                                                                                           \
    void lp_##isa##_bn_fwd_infer(size_t rows, int c, const float *x, const float *gamma,        \
                                 const float *beta, const float *mean, const float *var,        \
                                 float eps, float *y, int relu)                                 \
    {                                                                                           \
        lpb_bn_fwd_infer(rows, c, x, gamma, beta, mean, var, eps, y, relu);                     \
    }                                                                                           \
    void lp_##isa##_bn_bwd(size_t rows, int c, const float *x, const float *y, const float *dy, \
                           const float *gamma, const float *mean, const float *var, float eps,  \
                           float *dx, float *dgamma, float *dbeta, int relu)                    \
    {                                                                                           \
        lpb_bn_bwd(rows, c, x, y, dy, gamma, mean, var, eps, dx, dgamma, dbeta, relu);          \
    }

#endif
