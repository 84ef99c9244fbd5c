/* The thread-local SGEMM packing buffers shared by the ISA instances of
 * kernels/common/gemm_driver.h in one build (avx2 and avx512 on x86): one A
 * block per thread and one B block per calling thread, 64-byte aligned.
 * Defined once per architecture: kernels/avx2/gemm_6x16.c (x86),
 * kernels/neon/gemm_8x12.c (aarch64), with LP_GEMM_DEFINE_BUFFERS. */
#ifndef LAPERM_KERNELS_COMMON_GEMM_BUFFERS_H
#define LAPERM_KERNELS_COMMON_GEMM_BUFFERS_H

#define LP_GEMM_ABUF_FLOATS (144 * 256 + 64)   /* MC x KC + slack */
#define LP_GEMM_BBUF_FLOATS (256 * 1024 + 64)  /* KC x NC + slack */

extern _Thread_local float lp_gemm_abuf[LP_GEMM_ABUF_FLOATS];
extern _Thread_local float lp_gemm_bbuf[LP_GEMM_BBUF_FLOATS];

#ifdef LP_GEMM_DEFINE_BUFFERS
_Thread_local _Alignas(64) float lp_gemm_abuf[LP_GEMM_ABUF_FLOATS];
_Thread_local _Alignas(64) float lp_gemm_bbuf[LP_GEMM_BBUF_FLOATS];
#endif

#endif
