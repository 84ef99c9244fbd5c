/* Adam update (TF2 Keras form, lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t) is
 * computed by the caller). Element-wise, so trivially thread-independent. */
#include "kernels/scalar/scalar.h"

#include <math.h>

void lp_scalar_adam_update(size_t n, float *w, const float *g, float *m, float *v, float lr_t,
                           float b1, float b2, float eps)
{
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) lp_adam_one(i, w, g, m, v, lr_t, b1, b2, c1, c2, eps);
}
