/* Small helpers shared by the AVX-512 convolution files
 * (conv_igemm_12x32.c, conv_wgrad_12x32.c). */
#ifndef LAPERM_KERNELS_AVX512_CONV_UTIL_H
#define LAPERM_KERNELS_AVX512_CONV_UTIL_H

#include <immintrin.h>
#include <omp.h>

/* The first n of 16 lanes (all for n >= 16). */
static inline __mmask16 lpc_mask(int n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

/* Threads for `work` flops: one per 4 MFLOP, at most the OpenMP limit (1
 * inside a parallel region). The result never changes the bits: every
 * output is computed by one work item whatever the team. */
static inline int lpc_team(double work)
{
    if (omp_in_parallel()) return 1;
    int nt = omp_get_max_threads();
    double lim = work / 4e6;
    if (lim < 1) lim = 1;
    return nt < lim ? nt : (int)lim;
}

#endif
