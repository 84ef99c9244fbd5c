/* The portable scalar kernels (the reference implementation). Declared here
 * so that other ISAs can reuse individual pieces (e.g. a tail loop) and tests
 * can call them directly. */
#ifndef LAPERM_KERNELS_SCALAR_H
#define LAPERM_KERNELS_SCALAR_H

#include "kernels/kernels.h"

#include <math.h>

void lp_scalar_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta,
                    float *c, int ldc);
void lp_scalar_im2col(const lp_conv_geom *g, const float *x, float *col);
void lp_scalar_col2im(const lp_conv_geom *g, const float *col, float *dx);
size_t lp_scalar_conv_workspace(const lp_conv_geom *g);
void lp_scalar_conv_fwd(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                        const float *w, float *y, float *ws);
void lp_scalar_conv_bwd_data(const lp_kernels *self, const lp_conv_geom *g, const float *dy,
                             const float *w, float *dx, float *ws);
void lp_scalar_conv_bwd_weights(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                                const float *dy, float *dw, float *ws);
void lp_scalar_bias_add(size_t rows, int cols, const float *b, float *y);
void lp_scalar_bias_grad(size_t rows, int cols, const float *dy, float *db);
/* bias_grad's partition, shared by every ISA's version: chunks of this
 * many rows (at least LP_BG_ROWS, at most LP_BG_MAXCH chunks). */
#define LP_BG_ROWS 2048
#define LP_BG_MAXCH 64
size_t lp_bias_grad_chunk(size_t rows);
void lp_scalar_relu_fwd(size_t n, const float *x, float *y);
void lp_scalar_relu_bwd(size_t n, const float *y, const float *dy, float *dx);
void lp_scalar_maxpool_fwd(const lp_conv_geom *g, const float *x, float *y);
void lp_scalar_maxpool_bwd(const lp_conv_geom *g, const float *x, const float *y,
                           const float *dy, float *dx);
void lp_scalar_avgpool_fwd(const lp_conv_geom *g, const float *x, float *y);
void lp_scalar_avgpool_bwd(const lp_conv_geom *g, const float *dy, float *dx);
/* Batch norm's sums run over LP_BN_GROUPS fixed groups of rows (group g:
 * rows [lp_bn_group_begin(rows, g), lp_bn_group_begin(rows, g + 1))), each
 * in row order from 0.0, and add the groups' sums in group order: the ISA
 * kernels split the groups over their threads and get the same bits. The
 * affine output's scale is lp_bn_scale in every version. */
#define LP_BN_GROUPS 16
static inline size_t lp_bn_group_begin(size_t rows, size_t g)
{
    return rows * g / LP_BN_GROUPS;
}
static inline float lp_bn_scale(float gamma, float var, float eps)
{
    return gamma * (1.0f / sqrtf(var + eps));
}
void lp_scalar_bn_fwd_train(size_t rows, int c, const float *x, const float *gamma,
                            const float *beta, float eps, float *y, float *mean, float *var,
                            int relu);
void lp_scalar_bn_fwd_infer(size_t rows, int c, const float *x, const float *gamma,
                            const float *beta, const float *mean, const float *var, float eps,
                            float *y, int relu);
void lp_scalar_bn_bwd(size_t rows, int c, const float *x, const float *y, const float *dy,
                      const float *gamma, const float *mean, const float *var, float eps,
                      float *dx, float *dgamma, float *dbeta, int relu);
void lp_scalar_dropout_apply(size_t n, const float *x, const uint8_t *mask, float scale,
                             float *y);
double lp_scalar_softmax_xent(size_t rows, int classes, const float *logits,
                              const int32_t *labels, float grad_scale, float *dlogits,
                              float *probs, size_t *correct);
/* sumsq's partition, shared by every ISA's version: chunks of LP_SS_CHUNK
 * floats, LP_SS_SUPER chunks per parallel round, chunk sums in order. */
#define LP_SS_CHUNK 8192
#define LP_SS_SUPER 256
double lp_scalar_sumsq(size_t n, const float *x);
void lp_scalar_axpy(size_t n, float a, const float *x, float *y);
void lp_scalar_add(size_t n, const float *a, const float *b, float *y);
void lp_scalar_copy(size_t n, const float *x, float *y);
void lp_scalar_adam_update(size_t n, float *w, const float *g, float *m, float *v,
                           float lr_t, float b1, float b2, float eps);
/* Adam's rule for element i (c1 = 1 - b1, c2 = 1 - b2): the scalar kernel's
 * loop body and the ISA kernels' tails. */
static inline void lp_adam_one(size_t i, float *w, const float *g, float *m, float *v,
                               float lr_t, float b1, float b2, float c1, float c2, float eps)
{
    const float gi = g[i];
    const float mi = b1 * m[i] + c1 * gi;
    const float vi = b2 * v[i] + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= lr_t * mi / (sqrtf(vi) + eps);
}
size_t lp_scalar_argsort_workspace(size_t n);
int lp_scalar_argsort(size_t n, const float *keys, uint32_t *idx, void *ws);
size_t lp_scalar_sync_workspace(size_t len, size_t nvec);
long lp_scalar_sync(size_t len, size_t nvec, float *w, const float *sorted, void *ws);

#endif
