/* ReLU forward/backward. Forward keeps NaN (x < 0 is false for NaN) so a
 * diverged run stays visible. */
#include "kernels/scalar/scalar.h"

void lp_scalar_relu_fwd(size_t n, const float *x, float *y)
{
#pragma omp parallel for simd schedule(static) if (parallel: n > 65536)
    for (size_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void lp_scalar_relu_bwd(size_t n, const float *y, const float *dy, float *dx)
{
#pragma omp parallel for simd schedule(static) if (parallel: n > 65536)
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
