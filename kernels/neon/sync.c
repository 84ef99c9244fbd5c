/* LaPerm sync and argsort for aarch64: the shared implementation
 * (kernels/common/sync_block.h) in its portable form (scalar counting,
 * scan and emit passes), compiled here. */
#include "kernels/neon/neon.h"
#include "kernels/common/sync_block.h"
#include "kernels/scalar/scalar.h"

size_t lp_neon_sync_workspace(size_t len, size_t nvec) { return lps_sync_workspace(len, nvec); }

long lp_neon_sync(size_t len, size_t nvec, float *w, const float *sorted, void *ws)
{
    return lps_sync(len, nvec, w, sorted, ws);
}

/* Up to LPS_ARGSORT_MAX keys the radix argsort's thread-local buffers,
 * beyond them the scalar radix argsort in the caller's workspace. */
size_t lp_neon_argsort_workspace(size_t n)
{
    return n <= LPS_ARGSORT_MAX ? 0 : lp_scalar_argsort_workspace(n);
}

int lp_neon_argsort(size_t n, const float *keys, uint32_t *idx, void *ws)
{
    int r = lps_argsort(n, keys, idx);
    return r == -2 ? lp_scalar_argsort(n, keys, idx, ws) : r;
}
