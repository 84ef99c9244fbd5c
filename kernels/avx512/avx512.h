/* Kernels of kernels/avx512 (compiled with -mavx512f/bw/dq/vl), layered
 * over kernels/avx2 by the dispatcher. */
#ifndef LAPERM_KERNELS_AVX512_H
#define LAPERM_KERNELS_AVX512_H

#include "kernels/kernels.h"

void lp_avx512_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                    int lda, const float *b, int ldb, float beta, float *c, int ldc);

#endif
