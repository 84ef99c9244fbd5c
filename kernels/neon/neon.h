/* Kernels of kernels/neon (aarch64 Advanced SIMD). */
#ifndef LAPERM_KERNELS_NEON_H
#define LAPERM_KERNELS_NEON_H

#include "kernels/kernels.h"

void lp_neon_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                  int lda, const float *b, int ldb, float beta, float *c, int ldc);
/* im2col workspace plus the k-split's partials; the weight gradient
 * through the k-split (gemm_8x12.c). */
size_t lp_neon_conv_workspace(const lp_conv_geom *g);
void lp_neon_conv_bwd_weights(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                              const float *dy, float *dw, float *ws);
void lp_neon_maxpool_fwd(const lp_conv_geom *g, const float *x, float *y);
void lp_neon_maxpool_bwd(const lp_conv_geom *g, const float *x, const float *y, const float *dy,
                         float *dx);
void lp_neon_relu_fwd(size_t n, const float *x, float *y);
void lp_neon_relu_bwd(size_t n, const float *y, const float *dy, float *dx);
void lp_neon_dropout_apply(size_t n, const float *x, const uint8_t *mask, float scale, float *y);
void lp_neon_axpy(size_t n, float a, const float *x, float *y);
void lp_neon_add(size_t n, const float *a, const float *b, float *y);
void lp_neon_adam_update(size_t n, float *w, const float *g, float *m, float *v, float lr_t,
                         float b1, float b2, float eps);
void lp_neon_bias_add(size_t rows, int cols, const float *b, float *y);
void lp_neon_bias_grad(size_t rows, int cols, const float *dy, float *db);
void lp_neon_relu_bias_grad(size_t rows, int cols, const float *y, float *dy, float *db);
double lp_neon_sumsq(size_t n, const float *x);
size_t lp_neon_sync_workspace(size_t len, size_t nvec);
long lp_neon_sync(size_t len, size_t nvec, float *w, const float *sorted, void *ws);
size_t lp_neon_argsort_workspace(size_t n);
int lp_neon_argsort(size_t n, const float *keys, uint32_t *idx, void *ws);

void lp_neon_bn_fwd_train(size_t rows, int c, const float *x, const float *gamma,
                          const float *beta, float eps, float *y, float *mean, float *var,
                          int relu);
void lp_neon_bn_fwd_infer(size_t rows, int c, const float *x, const float *gamma,
                          const float *beta, const float *mean, const float *var, float eps,
                          float *y, int relu);
void lp_neon_bn_bwd(size_t rows, int c, const float *x, const float *y, const float *dy,
                    const float *gamma, const float *mean, const float *var, float eps,
                    float *dx, float *dgamma, float *dbeta, int relu);

#endif
