/* The last step of a k-split product (kernels/common/gemm_driver.h, the
 * AVX-512 direct weight gradient): the chunks' partial products summed in
 * chunk order, so the result does not depend on which thread made which
 * chunk. Header-only, compiled with each ISA's flags. */
#ifndef LAPERM_KERNELS_COMMON_KSPLIT_REDUCE_H
#define LAPERM_KERNELS_COMMON_KSPLIT_REDUCE_H

#include <math.h>
#include <stddef.h>

/* c[i*ldc + j] = alpha * (part_0 + part_1 + ... + part_{nch-1})[i*n + j]
 * (+ beta * c; beta == 0 overwrites), part_ch at part + ch*m*n, for i < m,
 * j < n, rows spread over nt threads. The chunks are added one after the
 * other into a row block of sums, which the compiler vectorises along j;
 * each element still adds its chunks in chunk order. (Adding all chunks
 * of one element before the next, as this did, was one dependent chain of
 * strided loads per element: 4-5% of resnet50's 32x32x16 weight gradient,
 * 50 chunks of 144 x 16.) */
#define LPK_RB 256 /* columns per block of sums */
static inline void lpk_ksplit_reduce(int m, int n, int nch, const float *part, float alpha,
                                     float beta, float *c, ptrdiff_t ldc, int nt)
{
    const size_t mn = (size_t)m * n;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int i = 0; i < m; i++) {
        float *cr = c + (ptrdiff_t)i * ldc;
        const float *p0 = part + (size_t)i * n;
        for (int j0 = 0; j0 < n; j0 += LPK_RB) {
            const int jn = n - j0 < LPK_RB ? n - j0 : LPK_RB;
            float s[LPK_RB];
            for (int j = 0; j < jn; j++) s[j] = p0[j0 + j];
            for (int ch = 1; ch < nch; ch++) {
                const float *pc = p0 + (size_t)ch * mn + j0;
                for (int j = 0; j < jn; j++) s[j] += pc[j];
            }
            for (int j = 0; j < jn; j++)
                cr[j0 + j] = beta == 0.0f ? alpha * s[j] : fmaf(alpha, s[j], beta * cr[j0 + j]);
        }
    }
}

#endif
