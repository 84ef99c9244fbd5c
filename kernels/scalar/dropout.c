/* Dropout: y = x * scale where mask is 1, 0 where mask is 0 (a dropped Inf
 * or NaN gives 0, not NaN). Used for forward and backward alike. */
#include "kernels/scalar/scalar.h"

void lp_scalar_dropout_apply(size_t n, const float *x, const uint8_t *mask, float scale, float *y)
{
#pragma omp parallel for simd schedule(static) if (parallel: n > 65536)
    for (size_t i = 0; i < n; i++) y[i] = mask[i] ? x[i] * scale : 0.0f;
}
