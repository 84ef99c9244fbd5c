/* AVX2 batch normalisation over the last axis of x[rows, c], with optional
 * fused ReLU. The arithmetic is kernels/scalar/batchnorm.c's, operation for
 * operation (per-channel sums in double in row order, the variance from a
 * second pass over (x - mean), the same float expressions without fused
 * multiply-adds), eight channels per vector: the results are bit-identical
 * to the scalar kernels and independent of the thread count.
 *
 * The access order differs: the scalar kernel walks all rows once per block
 * of 16 channels (64 bytes out of every row per sweep); here each thread
 * owns a contiguous range of channel blocks and walks the rows in tiles of
 * BN_RT, doing all its blocks on a tile while it is in L1, so the rows are
 * read as one stream. Each channel's sums still run over the rows in order,
 * so the bits do not change. */
#include "kernels/avx2/avx2.h"

#include <immintrin.h>
#include <math.h>
#include <omp.h>

#define BN_CB 16 /* channels per block */
#define BN_GB 16 /* blocks per sweep of a thread (256 channels) */
#define BN_RT 32 /* rows per tile */
#define BN_RB 64 /* rows per block of inference */

static inline float bn_scale(float gamma, float var, float eps)
{
    return gamma * (1.0f / sqrtf(var + eps));
}

static inline __m256d lo_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
static inline __m256d hi_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

/* The row loops take the number of 8-channel vectors of a block (ng: 2, 1
 * or 0, the rest scalar) as a constant, so that gcc keeps the per-channel
 * vectors and the accumulators in registers. */
#define LP_BN_NG(cb, call)                                  \
    do {                                                    \
        if ((cb) >= 16) { const int ng = 2; call; }         \
        else if ((cb) >= 8) { const int ng = 1; call; }     \
        else { const int ng = 0; call; }                    \
    } while (0)

/* Threads over channel blocks: the blocks [*b0, *b1) of this thread. */
static inline void bn_my_blocks(int nb, int *b0, int *b1)
{
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    *b0 = (int)((long)nb * t / nt);
    *b1 = (int)((long)nb * (t + 1) / nt);
}

/* ---- forward ------------------------------------------------------------------ */

/* y[r0:r1, j0:j0+cb] = (x - mu) * s + b, then ReLU if asked. */
static inline __attribute__((always_inline)) void
bn_apply_rows(size_t r0, size_t r1, int c, int j0, int cb, const int ng, const float *x,
              const float *s, const float *mu, const float *b, float *y, int relu)
{
    __m256 vs[2], vm[2], vb[2];
    for (int g = 0; g < ng; g++) {
        vs[g] = _mm256_loadu_ps(s + 8 * g);
        vm[g] = _mm256_loadu_ps(mu + 8 * g);
        vb[g] = _mm256_loadu_ps(b + 8 * g);
    }
    const __m256 z = _mm256_setzero_ps();
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * (size_t)c + j0; /* y may alias x */
        float *yr = y + r * (size_t)c + j0;
        for (int g = 0; g < ng; g++) {
            __m256 v = _mm256_add_ps(
                _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + 8 * g), vm[g]), vs[g]), vb[g]);
            if (relu) v = _mm256_andnot_ps(_mm256_cmp_ps(v, z, _CMP_LT_OQ), v);
            _mm256_storeu_ps(yr + 8 * g, v);
        }
        for (int j = 8 * ng; j < cb; j++) {
            float v = (xr[j] - mu[j]) * s[j] + b[j];
            yr[j] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}

/* Per-block constants of the affine output. */
typedef struct bn_affine {
    float s[BN_CB], mu[BN_CB], b[BN_CB];
} bn_affine;

static void bn_affine_init(bn_affine *a, int j0, int cb, const float *gamma, const float *beta,
                           const float *mean, const float *var, float eps)
{
    for (int j = 0; j < BN_CB; j++) a->s[j] = a->mu[j] = a->b[j] = 0.0f;
    for (int j = 0; j < cb; j++) {
        a->s[j] = bn_scale(gamma[j0 + j], var[j0 + j], eps);
        a->mu[j] = mean[j0 + j];
        a->b[j] = beta[j0 + j];
    }
}

/* acc[0..cb) += sum over rows [r0, r1) of x (mu == NULL) or of (x - mu)^2,
 * in row order, in double. */
static inline __attribute__((always_inline)) void
bn_sums(size_t r0, size_t r1, int c, int j0, int cb, const int ng, const float *x,
        const double *mu, double *acc)
{
    __m256d a[4], vmu[4];
    for (int q = 0; q < 2 * ng; q++) {
        a[q] = _mm256_loadu_pd(acc + 4 * q);
        vmu[q] = mu ? _mm256_loadu_pd(mu + 4 * q) : _mm256_setzero_pd();
    }
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * (size_t)c + j0;
        for (int g = 0; g < ng; g++) {
            __m256 v = _mm256_loadu_ps(xr + 8 * g);
            if (mu) {
                __m256d d0 = _mm256_sub_pd(lo_pd(v), vmu[2 * g]);
                __m256d d1 = _mm256_sub_pd(hi_pd(v), vmu[2 * g + 1]);
                a[2 * g] = _mm256_add_pd(a[2 * g], _mm256_mul_pd(d0, d0));
                a[2 * g + 1] = _mm256_add_pd(a[2 * g + 1], _mm256_mul_pd(d1, d1));
            } else {
                a[2 * g] = _mm256_add_pd(a[2 * g], lo_pd(v));
                a[2 * g + 1] = _mm256_add_pd(a[2 * g + 1], hi_pd(v));
            }
        }
        for (int j = 8 * ng; j < cb; j++) {
            if (mu) {
                double d = (double)xr[j] - mu[j];
                acc[j] += d * d;
            } else {
                acc[j] += xr[j];
            }
        }
    }
    for (int q = 0; q < 2 * ng; q++) _mm256_storeu_pd(acc + 4 * q, a[q]);
}

/* Blocks [g0, g1) (at most BN_GB): statistics, then the output. */
static void bn_train_blocks(size_t rows, int c, int g0, int g1, const float *x,
                            const float *gamma, const float *beta, float eps, float *y,
                            float *mean, float *var, int relu)
{
    double acc[BN_GB][BN_CB], mu[BN_GB][BN_CB];
    for (int i = 0; i < g1 - g0; i++)
        for (int j = 0; j < BN_CB; j++) acc[i][j] = mu[i][j] = 0.0;
    for (size_t r0 = 0; r0 < rows; r0 += BN_RT) {
        size_t r1 = r0 + BN_RT < rows ? r0 + BN_RT : rows;
        for (int bi = g0; bi < g1; bi++) {
            int j0 = bi * BN_CB, cb = c - j0 < BN_CB ? c - j0 : BN_CB;
            LP_BN_NG(cb, bn_sums(r0, r1, c, j0, cb, ng, x, NULL, acc[bi - g0]));
        }
    }
    for (int bi = g0; bi < g1; bi++) {
        int cb = c - bi * BN_CB < BN_CB ? c - bi * BN_CB : BN_CB;
        for (int j = 0; j < cb; j++) {
            mu[bi - g0][j] = rows ? acc[bi - g0][j] / (double)rows : 0.0;
            acc[bi - g0][j] = 0.0;
        }
    }
    for (size_t r0 = 0; r0 < rows; r0 += BN_RT) {
        size_t r1 = r0 + BN_RT < rows ? r0 + BN_RT : rows;
        for (int bi = g0; bi < g1; bi++) {
            int j0 = bi * BN_CB, cb = c - j0 < BN_CB ? c - j0 : BN_CB;
            LP_BN_NG(cb, bn_sums(r0, r1, c, j0, cb, ng, x, mu[bi - g0], acc[bi - g0]));
        }
    }
    for (int bi = g0; bi < g1; bi++) {
        int j0 = bi * BN_CB, cb = c - j0 < BN_CB ? c - j0 : BN_CB;
        for (int j = 0; j < cb; j++) {
            mean[j0 + j] = (float)mu[bi - g0][j];
            var[j0 + j] = rows ? (float)(acc[bi - g0][j] / (double)rows) : 0.0f;
        }
    }
    bn_affine af[BN_GB];
    for (int bi = g0; bi < g1; bi++) {
        int j0 = bi * BN_CB, cb = c - j0 < BN_CB ? c - j0 : BN_CB;
        bn_affine_init(&af[bi - g0], j0, cb, gamma, beta, mean, var, eps);
    }
    for (size_t r0 = 0; r0 < rows; r0 += BN_RT) {
        size_t r1 = r0 + BN_RT < rows ? r0 + BN_RT : rows;
        for (int bi = g0; bi < g1; bi++) {
            int j0 = bi * BN_CB, cb = c - j0 < BN_CB ? c - j0 : BN_CB;
            const bn_affine *a = &af[bi - g0];
            LP_BN_NG(cb, bn_apply_rows(r0, r1, c, j0, cb, ng, x, a->s, a->mu, a->b, y, relu));
        }
    }
}

void lp_avx2_bn_fwd_train(size_t rows, int c, const float *x, const float *gamma,
                          const float *beta, float eps, float *y, float *mean, float *var,
                          int relu)
{
    int nb = (c + BN_CB - 1) / BN_CB;
#pragma omp parallel if (nb > 1 && rows * (size_t)c > 32768)
    {
        int b0, b1;
        bn_my_blocks(nb, &b0, &b1);
        for (int g0 = b0; g0 < b1; g0 += BN_GB)
            bn_train_blocks(rows, c, g0, g0 + BN_GB < b1 ? g0 + BN_GB : b1, x, gamma, beta, eps, y,
                            mean, var, relu);
    }
}

void lp_avx2_bn_fwd_infer(size_t rows, int c, const float *x, const float *gamma,
                          const float *beta, const float *mean, const float *var, float eps,
                          float *y, int relu)
{
    size_t nrb = (rows + BN_RB - 1) / BN_RB;
#pragma omp parallel for schedule(static) if (nrb > 1 && rows * (size_t)c > 32768)
    for (size_t rb = 0; rb < nrb; rb++) {
        size_t r0 = rb * BN_RB, r1 = r0 + BN_RB < rows ? r0 + BN_RB : rows;
        for (int j0 = 0; j0 < c; j0 += BN_CB) {
            int cb = c - j0 < BN_CB ? c - j0 : BN_CB;
            bn_affine a;
            bn_affine_init(&a, j0, cb, gamma, beta, mean, var, eps);
            LP_BN_NG(cb, bn_apply_rows(r0, r1, c, j0, cb, ng, x, a.s, a.mu, a.b, y, relu));
        }
    }
}

/* ---- backward ----------------------------------------------------------------- */

typedef struct bn_back {
    float mu[BN_CB], inv[BN_CB], k[BN_CB], mg[BN_CB], mgx[BN_CB];
    double sg[BN_CB], sgx[BN_CB];
} bn_back;

/* sg += masked gradient, sgx += gradient * x-hat, rows [r0, r1) in order. */
static inline __attribute__((always_inline)) void
bn_bwd_sums(size_t r0, size_t r1, int c, int j0, int cb, const int ng, const float *x,
            const float *y, const float *dy, int relu, bn_back *bk)
{
    __m256 vmu[2], vinv[2];
    __m256d ag[4], agx[4];
    for (int g = 0; g < ng; g++) {
        vmu[g] = _mm256_loadu_ps(bk->mu + 8 * g);
        vinv[g] = _mm256_loadu_ps(bk->inv + 8 * g);
    }
    for (int q = 0; q < 2 * ng; q++) {
        ag[q] = _mm256_loadu_pd(bk->sg + 4 * q);
        agx[q] = _mm256_loadu_pd(bk->sgx + 4 * q);
    }
    const __m256 z = _mm256_setzero_ps();
    for (size_t r = r0; r < r1; r++) {
        size_t o = r * (size_t)c + j0;
        for (int g = 0; g < ng; g++) {
            __m256 gr = _mm256_loadu_ps(dy + o + 8 * g);
            if (relu)
                gr = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(y + o + 8 * g), z, _CMP_GT_OQ), gr);
            __m256 xh =
                _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + o + 8 * g), vmu[g]), vinv[g]);
            __m256d g0 = lo_pd(gr), g1 = hi_pd(gr);
            ag[2 * g] = _mm256_add_pd(ag[2 * g], g0);
            ag[2 * g + 1] = _mm256_add_pd(ag[2 * g + 1], g1);
            agx[2 * g] = _mm256_add_pd(agx[2 * g], _mm256_mul_pd(g0, lo_pd(xh)));
            agx[2 * g + 1] = _mm256_add_pd(agx[2 * g + 1], _mm256_mul_pd(g1, hi_pd(xh)));
        }
        for (int j = 8 * ng; j < cb; j++) {
            float gr = (!relu || y[o + j] > 0.0f) ? dy[o + j] : 0.0f;
            float xh = (x[o + j] - bk->mu[j]) * bk->inv[j];
            bk->sg[j] += gr;
            bk->sgx[j] += (double)gr * xh;
        }
    }
    for (int q = 0; q < 2 * ng; q++) {
        _mm256_storeu_pd(bk->sg + 4 * q, ag[q]);
        _mm256_storeu_pd(bk->sgx + 4 * q, agx[q]);
    }
}

/* dx = k * (gr - mg - xh * mgx), rows [r0, r1). */
static inline __attribute__((always_inline)) void
bn_bwd_dx(size_t r0, size_t r1, int c, int j0, int cb, const int ng, const float *x,
          const float *y, const float *dy, int relu, const bn_back *bk, float *dx)
{
    __m256 vmu[2], vinv[2], vk[2], vmg[2], vmgx[2];
    for (int g = 0; g < ng; g++) {
        vmu[g] = _mm256_loadu_ps(bk->mu + 8 * g);
        vinv[g] = _mm256_loadu_ps(bk->inv + 8 * g);
        vk[g] = _mm256_loadu_ps(bk->k + 8 * g);
        vmg[g] = _mm256_loadu_ps(bk->mg + 8 * g);
        vmgx[g] = _mm256_loadu_ps(bk->mgx + 8 * g);
    }
    const __m256 z = _mm256_setzero_ps();
    for (size_t r = r0; r < r1; r++) {
        size_t o = r * (size_t)c + j0;
        for (int g = 0; g < ng; g++) {
            __m256 gr = _mm256_loadu_ps(dy + o + 8 * g);
            if (relu)
                gr = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(y + o + 8 * g), z, _CMP_GT_OQ), gr);
            __m256 xh =
                _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + o + 8 * g), vmu[g]), vinv[g]);
            __m256 t = _mm256_sub_ps(_mm256_sub_ps(gr, vmg[g]), _mm256_mul_ps(xh, vmgx[g]));
            _mm256_storeu_ps(dx + o + 8 * g, _mm256_mul_ps(vk[g], t));
        }
        for (int j = 8 * ng; j < cb; j++) {
            float gr = (!relu || y[o + j] > 0.0f) ? dy[o + j] : 0.0f;
            float xh = (x[o + j] - bk->mu[j]) * bk->inv[j];
            dx[o + j] = bk->k[j] * (gr - bk->mg[j] - xh * bk->mgx[j]);
        }
    }
}

static void bn_bwd_blocks(size_t rows, int c, int g0, int g1, const float *x, const float *y,
                          const float *dy, const float *gamma, const float *mean,
                          const float *var, float eps, float *dx, float *dgamma, float *dbeta,
                          int relu)
{
    bn_back bk[BN_GB];
    for (int bi = g0; bi < g1; bi++) {
        int j0 = bi * BN_CB, cb = c - j0 < BN_CB ? c - j0 : BN_CB;
        bn_back *b = &bk[bi - g0];
        for (int j = 0; j < BN_CB; j++) {
            b->mu[j] = b->inv[j] = b->k[j] = b->mg[j] = b->mgx[j] = 0.0f;
            b->sg[j] = b->sgx[j] = 0.0;
        }
        for (int j = 0; j < cb; j++) {
            b->mu[j] = mean[j0 + j];
            b->inv[j] = 1.0f / sqrtf(var[j0 + j] + eps);
        }
    }
    for (size_t r0 = 0; r0 < rows; r0 += BN_RT) {
        size_t r1 = r0 + BN_RT < rows ? r0 + BN_RT : rows;
        for (int bi = g0; bi < g1; bi++) {
            int j0 = bi * BN_CB, cb = c - j0 < BN_CB ? c - j0 : BN_CB;
            LP_BN_NG(cb, bn_bwd_sums(r0, r1, c, j0, cb, ng, x, y, dy, relu, &bk[bi - g0]));
        }
    }
    for (int bi = g0; bi < g1; bi++) {
        int j0 = bi * BN_CB, cb = c - j0 < BN_CB ? c - j0 : BN_CB;
        bn_back *b = &bk[bi - g0];
        for (int j = 0; j < cb; j++) {
            dbeta[j0 + j] = (float)b->sg[j];
            dgamma[j0 + j] = (float)b->sgx[j];
            b->k[j] = gamma[j0 + j] * b->inv[j];
            b->mg[j] = rows ? (float)(b->sg[j] / (double)rows) : 0.0f;
            b->mgx[j] = rows ? (float)(b->sgx[j] / (double)rows) : 0.0f;
        }
    }
    for (size_t r0 = 0; r0 < rows; r0 += BN_RT) {
        size_t r1 = r0 + BN_RT < rows ? r0 + BN_RT : rows;
        for (int bi = g0; bi < g1; bi++) {
            int j0 = bi * BN_CB, cb = c - j0 < BN_CB ? c - j0 : BN_CB;
            LP_BN_NG(cb, bn_bwd_dx(r0, r1, c, j0, cb, ng, x, y, dy, relu, &bk[bi - g0], dx));
        }
    }
}

void lp_avx2_bn_bwd(size_t rows, int c, const float *x, const float *y, const float *dy,
                    const float *gamma, const float *mean, const float *var, float eps,
                    float *dx, float *dgamma, float *dbeta, int relu)
{
    int nb = (c + BN_CB - 1) / BN_CB;
#pragma omp parallel if (nb > 1 && rows * (size_t)c > 32768)
    {
        int b0, b1;
        bn_my_blocks(nb, &b0, &b1);
        for (int g0 = b0; g0 < b1; g0 += BN_GB)
            bn_bwd_blocks(rows, c, g0, g0 + BN_GB < b1 ? g0 + BN_GB : b1, x, y, dy, gamma, mean,
                          var, eps, dx, dgamma, dbeta, relu);
    }
}
