/* sumsq (double accumulation), axpy, add and copy.
 * sumsq cuts x into fixed chunks of LP_SS_CHUNK; inside a chunk 8 interleaved
 * double accumulators (lane i takes elements i mod 8) are summed in a fixed
 * order, then the chunk partials in chunk order: the same bits for any thread
 * count. */
#include "kernels/scalar/scalar.h"

#include <string.h>

#define SS_LANES 8

static double sumsq_chunk(size_t n, const float *x)
{
    double acc[SS_LANES] = {0};
    size_t i = 0;
    for (; i + SS_LANES <= n; i += SS_LANES)
        for (int l = 0; l < SS_LANES; l++) acc[l] += (double)x[i + l] * (double)x[i + l];
    for (int l = 0; i < n; i++, l++) acc[l] += (double)x[i] * (double)x[i];
    double s = 0.0;
    for (int l = 0; l < SS_LANES; l++) s += acc[l];
    return s;
}

double lp_scalar_sumsq(size_t n, const float *x)
{
    double total = 0.0;
    size_t nchunks = (n + LP_SS_CHUNK - 1) / LP_SS_CHUNK;
    for (size_t c0 = 0; c0 < nchunks; c0 += LP_SS_SUPER) {
        int nc = nchunks - c0 < LP_SS_SUPER ? (int)(nchunks - c0) : LP_SS_SUPER;
        double part[LP_SS_SUPER];
#pragma omp parallel for schedule(static) if (nc > 4)
        for (int ci = 0; ci < nc; ci++) {
            size_t i0 = (c0 + (size_t)ci) * LP_SS_CHUNK;
            size_t len = n - i0 < LP_SS_CHUNK ? n - i0 : LP_SS_CHUNK;
            part[ci] = sumsq_chunk(len, x + i0);
        }
        for (int ci = 0; ci < nc; ci++) total += part[ci];
    }
    return total;
}

void lp_scalar_axpy(size_t n, float a, const float *x, float *y)
{
#pragma omp parallel for simd schedule(static) if (parallel: n > 65536)
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

void lp_scalar_add(size_t n, const float *a, const float *b, float *y)
{
#pragma omp parallel for simd schedule(static) if (parallel: n > 65536)
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

/* memcpy in 64 KB pieces shared by the threads: one thread's memcpy left
 * the others waiting (resnet50's gradients of 3.3 MB per residual add). */
#define COPY_CHUNK 16384
void lp_scalar_copy(size_t n, const float *x, float *y)
{
    const size_t nc = (n + COPY_CHUNK - 1) / COPY_CHUNK;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t c = 0; c < nc; c++) {
        const size_t i0 = c * COPY_CHUNK, len = n - i0 < COPY_CHUNK ? n - i0 : COPY_CHUNK;
        memcpy(y + i0, x + i0, len * sizeof(float));
    }
}
