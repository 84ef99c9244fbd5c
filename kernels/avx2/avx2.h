/* Kernels of kernels/avx2 (compiled with -mavx2 -mfma), for the table and
 * for kernels/avx512, which layers over them. */
#ifndef LAPERM_KERNELS_AVX2_H
#define LAPERM_KERNELS_AVX2_H

#include "kernels/kernels.h"
#include "kernels/scalar/scalar.h" /* lp_bias_grad_chunk */

void lp_avx2_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                  int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* im2col fused into the GEMM packing (kernels/common/gemm_driver.h): return
 * 0, doing nothing, when the geometry does not qualify (c % 8 != 0). */
int lp_avx2_conv_fwd_fused(const lp_conv_geom *g, const float *x, const float *w, float *y);
int lp_avx2_conv_bwd_weights_fused(const lp_conv_geom *g, const float *x, const float *dy,
                                   float *dw, float *part);
/* dw = col^T @ dy from a materialised col; part as below. */
void lp_avx2_conv_bwd_weights_col(const lp_conv_geom *g, const float *col, const float *dy,
                                  float *dw, float *part);
/* Floats of k-split scratch a weight gradient of kk x oc over `pixels`
 * needs (the same for avx2 and avx512: it depends on the shape only). */
size_t lp_avx2_ksplit_floats(int kk, int oc, int pixels);
/* Pixels per k-split chunk (0: the shape does not split). */
int lp_avx2_conv_ksplit_rows(int kk, int oc, int pixels);
/* The scalar im2col workspace followed by the k-split scratch. */
size_t lp_avx2_conv_workspace(const lp_conv_geom *g);
/* conv_bwd_data by groups of images (bitwise the scalar composition). */
void lp_avx2_conv_bwd_data_per_image(const lp_kernels *self, const lp_conv_geom *g,
                                     const float *dy, const float *w, float *dx, float *ws);
void lp_avx2_conv_bwd_data(const lp_kernels *self, const lp_conv_geom *g, const float *dy,
                           const float *w, float *dx, float *ws);
void lp_avx2_conv_fwd(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                      const float *w, float *y, float *ws);
void lp_avx2_conv_bwd_weights(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                              const float *dy, float *dw, float *ws);

size_t lp_avx2_sync_workspace(size_t len, size_t nvec);
long lp_avx2_sync(size_t len, size_t nvec, float *w, const float *sorted, void *ws);
size_t lp_avx2_argsort_workspace(size_t n);
int lp_avx2_argsort(size_t n, const float *keys, uint32_t *idx, void *ws);

void lp_avx2_maxpool_fwd(const lp_conv_geom *g, const float *x, float *y);
void lp_avx2_maxpool_bwd(const lp_conv_geom *g, const float *x, const float *y, const float *dy,
                         float *dx);
void lp_avx2_relu_fwd(size_t n, const float *x, float *y);
void lp_avx2_relu_bwd(size_t n, const float *y, const float *dy, float *dx);
void lp_avx2_dropout_apply(size_t n, const float *x, const uint8_t *mask, float scale, float *y);
void lp_avx2_axpy(size_t n, float a, const float *x, float *y);
void lp_avx2_add(size_t n, const float *a, const float *b, float *y);
double lp_avx2_sumsq(size_t n, const float *x);
void lp_avx2_adam_update(size_t n, float *w, const float *g, float *m, float *v, float lr_t,
                         float b1, float b2, float eps);
void lp_avx2_bias_add(size_t rows, int cols, const float *b, float *y);
void lp_avx2_bias_grad(size_t rows, int cols, const float *dy, float *db);
void lp_avx2_relu_bias_grad(size_t rows, int cols, const float *y, float *dy, float *db);

void lp_avx2_bn_fwd_train(size_t rows, int c, const float *x, const float *gamma,
                          const float *beta, float eps, float *y, float *mean, float *var,
                          int relu);
void lp_avx2_bn_fwd_infer(size_t rows, int c, const float *x, const float *gamma,
                          const float *beta, const float *mean, const float *var, float eps,
                          float *y, int relu);
void lp_avx2_bn_bwd(size_t rows, int c, const float *x, const float *y, const float *dy,
                    const float *gamma, const float *mean, const float *var, float eps,
                    float *dx, float *dgamma, float *dbeta, int relu);

#endif
