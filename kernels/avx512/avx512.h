/* Kernels of kernels/avx512 (compiled with -mavx512f/bw/dq/vl), layered
 * over kernels/avx2 by the dispatcher. */
#ifndef LAPERM_KERNELS_AVX512_H
#define LAPERM_KERNELS_AVX512_H

#include "kernels/kernels.h"

void lp_avx512_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                    int lda, const float *b, int ldb, float beta, float *c, int ldc);

int lp_avx512_z_conv_fwd_fused(const lp_conv_geom *g, const float *x, const float *w, float *y);
int lp_avx512_z_conv_bwd_weights_fused(const lp_conv_geom *g, const float *x, const float *dy,
                                       float *dw, float *part);
void lp_avx512_z_conv_bwd_weights_col(const lp_conv_geom *g, const float *col, const float *dy,
                                      float *dw, float *part);
/* Indirect-GEMM convolutions (conv_igemm_12x32.c); 0 = shape not taken.
 * bwd_data needs lp_avx512_conv_bwd_data_igemm_floats(g) floats at wtr. */
int lp_avx512_conv_fwd_igemm(const lp_conv_geom *g, const float *x, const float *w, float *y,
                             const float *bias, int relu);
/* Input layers (1 or 3 channels, 3x3, stride 1; conv_input_3x3.c), called
 * by lp_avx512_conv_fwd_igemm; 0 = shape not taken. */
int lp_avx512_conv_fwd_input(const lp_conv_geom *g, const float *x, const float *w, float *y,
                             const float *bias, int relu);
void lp_avx512_conv_fwd_ep(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                           const float *w, const float *bias, int relu, float *y, float *ws);
size_t lp_avx512_conv_bwd_data_igemm_floats(const lp_conv_geom *g);
int lp_avx512_conv_bwd_data_igemm(const lp_conv_geom *g, const float *dy, const float *w, float *dx,
                                  float *wtr);
/* Direct weight gradient (conv_wgrad_12x32.c); part as the
 * k-split's (lp_avx2_ksplit_floats). 0 = shape not taken. */
int lp_avx512_conv_bwd_weights_direct(const lp_conv_geom *g, const float *x, const float *dy,
                                      float *dw, float *part);
size_t lp_avx512_conv_workspace(const lp_conv_geom *g);
void lp_avx512_conv_bwd_data(const lp_kernels *self, const lp_conv_geom *g, const float *dy,
                             const float *w, float *dx, float *ws);
void lp_avx512_conv_fwd(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                        const float *w, float *y, float *ws);
void lp_avx512_conv_bwd_weights(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                                const float *dy, float *dw, float *ws);

size_t lp_avx512_sync_workspace(size_t len, size_t nvec);
long lp_avx512_sync(size_t len, size_t nvec, float *w, const float *sorted, void *ws);

void lp_avx512_relu_fwd(size_t n, const float *x, float *y);
void lp_avx512_relu_bwd(size_t n, const float *y, const float *dy, float *dx);
void lp_avx512_dropout_apply(size_t n, const float *x, const uint8_t *mask, float scale, float *y);
void lp_avx512_axpy(size_t n, float a, const float *x, float *y);
void lp_avx512_add(size_t n, const float *a, const float *b, float *y);
void lp_avx512_adam_update(size_t n, float *w, const float *g, float *m, float *v, float lr_t,
                           float b1, float b2, float eps);
void lp_avx512_bias_add(size_t rows, int cols, const float *b, float *y);
void lp_avx512_bias_grad(size_t rows, int cols, const float *dy, float *db);
void lp_avx512_relu_bias_grad(size_t rows, int cols, const float *y, float *dy, float *db);
double lp_avx512_sumsq(size_t n, const float *x);

void lp_avx512_bn_fwd_train(size_t rows, int c, const float *x, const float *gamma,
                            const float *beta, float eps, float *y, float *mean, float *var,
                            int relu);
void lp_avx512_bn_fwd_infer(size_t rows, int c, const float *x, const float *gamma,
                            const float *beta, const float *mean, const float *var, float eps,
                            float *y, int relu);
void lp_avx512_bn_bwd(size_t rows, int c, const float *x, const float *y, const float *dy,
                      const float *gamma, const float *mean, const float *var, float eps,
                      float *dx, float *dgamma, float *dbeta, int relu);

#endif
