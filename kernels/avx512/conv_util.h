/* Small helpers shared by the AVX-512 convolution files
 * (conv_igemm_12x32.c, conv_wgrad_12x32.c). */
#ifndef LAPERM_KERNELS_AVX512_CONV_UTIL_H
#define LAPERM_KERNELS_AVX512_CONV_UTIL_H

#include "kernels/common/omp_team.h"
#include "kernels/kernels.h"

#include <immintrin.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

/* The first n of 16 lanes (all for n >= 16). */
static inline __mmask16 lpc_mask(int n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

/* The kh x (kw*c) window whose corner is (iy0, ix0) in one h x w x c image
 * into b, rows kw*c (<= 16) floats apart, zeros where it leaves the image
 * (input layers: 1 or 3 channels): one masked load per window row, the
 * lanes outside the image masked off (masked-off lanes are not read, so
 * the row's address may lie outside x). Each row is stored whole, 16
 * floats, so b needs 16 - kw*c floats of slack past the window, which are
 * clobbered: with masked stores conv7's input layer took 0.59 ms, not 0.48. */
static inline void lpc_window(const float *img, int h, int w, int c, int kh, int kw, int iy0,
                              int ix0, float *b)
{
    const int span = kw * c;
    const int jlo = ix0 < 0 ? -ix0 : 0, jhi = w - ix0 < kw ? w - ix0 : kw;
    const __mmask16 lm = jhi > jlo ? (__mmask16)(lpc_mask(jhi * c) & ~lpc_mask(jlo * c)) : 0;
    const int ilo = iy0 < 0 ? -iy0 : 0, ihi = h - iy0 < kh ? h - iy0 : kh;
    for (int i = 0; i < kh; i++) {
        const __mmask16 m = i >= ilo && i < ihi ? lm : 0;
        const ptrdiff_t at = ((ptrdiff_t)(iy0 + i) * w + ix0) * c;
        _mm512_storeu_ps(b + i * span, _mm512_maskz_loadu_ps(m, img + at));
    }
}

/* A zero-padded copy of one h x w x c image (the input layers' frame):
 * hp rows of wp positions of c floats, the image at (pad_top, pad_left),
 * zeros around it, then `slack` positions of zeros. Output (oy, ox)'s
 * window has its corner at position (oy*sh)*wp + ox*sw and lies inside. */
#define LPC_FRAME_MAX (16 * 1024) /* floats of a frame on the stack (64 KB) */

typedef struct {
    int wp, hp;
    size_t floats;
} lpc_frame;

static inline lpc_frame lpc_frame_of(const lp_conv_geom *g, int slack)
{
    lpc_frame f;
    const int wn = (g->ow - 1) * g->sw + g->kw, hn = (g->oh - 1) * g->sh + g->kh;
    f.wp = wn > g->w + g->pad_left ? wn : g->w + g->pad_left;
    f.hp = hn > g->h + g->pad_top ? hn : g->h + g->pad_top;
    f.floats = ((size_t)f.hp * f.wp + slack) * g->c;
    return f;
}

/* The frame of image n of x into fr. */
static inline void lpc_fill_frame(const lp_conv_geom *g, const lpc_frame *f, const float *x, int n,
                                  float *fr)
{
    const int c = g->c;
    memset(fr, 0, f->floats * sizeof(float));
    const float *img = x + (size_t)n * g->h * g->w * c;
    for (int iy = 0; iy < g->h; iy++)
        memcpy(fr + ((size_t)(iy + g->pad_top) * f->wp + g->pad_left) * c, img + (size_t)iy * g->w * c,
               sizeof(float) * (size_t)g->w * c);
}

/* The epilogue of an output row held in v0 (and v1 for 32 columns):
 * + bias (bb0/bb1, when has_bias), then x < 0 ? 0 : x (bias_add's and
 * relu_fwd's operations, so the fused result has their bits), stored
 * under the column masks. Always inlined: the callers pass accumulators
 * by constant index from unrolled loops, which keeps them in registers. */
static inline __attribute__((always_inline)) void lpc_store_row(float *out, __m512 v0, __m512 v1,
                                                                int nv, int has_bias, __m512 bb0,
                                                                __m512 bb1, int relu,
                                                                __mmask16 m0, __mmask16 m1)
{
    const __m512 z = _mm512_setzero_ps();
    if (has_bias) {
        v0 = _mm512_add_ps(v0, bb0);
        v1 = _mm512_add_ps(v1, bb1);
    }
    if (relu) {
        v0 = _mm512_mask_mov_ps(v0, _mm512_cmp_ps_mask(v0, z, _CMP_LT_OQ), z);
        v1 = _mm512_mask_mov_ps(v1, _mm512_cmp_ps_mask(v1, z, _CMP_LT_OQ), z);
    }
    _mm512_mask_storeu_ps(out, m0, v0);
    if (nv == 2) _mm512_mask_storeu_ps(out + 16, m1, v1);
}

/* acc += b * broadcast(x) in one FMA that reads x from memory ({1to16}).
 * Written as intrinsics, a scalar feeding two FMAs (32 columns) is loaded
 * once by VBROADCASTSS, which on Zen 4 takes an FP pipe from the FMAs:
 * with this the image-major igemm tiles and the weight gradient ran 2-6%
 * faster on one thread. */
#define LPC_FMA_BCAST(acc, b, x) \
    __asm__("vfmadd231ps %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(b), "m"(x))

/* Fetch the line at p for writing (PREFETCHW: every AVX-512 CPU has it;
 * GCC emits it for __builtin_prefetch(p, 1) only with -mprfchw). */
static inline void lpc_prefetchw(const void *p)
{
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
}

/* Threads for `work` flops: one below 8 MFLOP (two threads' worth at 4
 * MFLOP each), else every thread (kernels/common/omp_team.h: a team in
 * between makes libgomp recreate threads). The result never changes the
 * bits: every output is computed by one work item whatever the team. */
static inline int lpc_team(double work)
{
    return lp_omp_team(work >= 8e6 ? 2 : 1);
}

#endif
