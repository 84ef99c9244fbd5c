/* LaPerm sync and argsort, AVX2 build of the shared implementation
 * (kernels/common/sync_block.h: block gather/scatter with 8x8 register
 * transposes, the bucket sort's counting, scan and emit passes in 256-bit
 * vectors; the radix argsort's passes are scalar code). */
#include "kernels/avx2/avx2.h"
#include "kernels/common/sync_block.h"
#include "kernels/scalar/scalar.h"

size_t lp_avx2_sync_workspace(size_t len, size_t nvec) { return lps_sync_workspace(len, nvec); }

long lp_avx2_sync(size_t len, size_t nvec, float *w, const float *sorted, void *ws)
{
    return lps_sync(len, nvec, w, sorted, ws);
}

/* Up to LPS_ARGSORT_MAX keys the radix argsort's thread-local buffers,
 * beyond them the scalar radix argsort in the caller's workspace. */
size_t lp_avx2_argsort_workspace(size_t n)
{
    return n <= LPS_ARGSORT_MAX ? 0 : lp_scalar_argsort_workspace(n);
}

int lp_avx2_argsort(size_t n, const float *keys, uint32_t *idx, void *ws)
{
    int r = lps_argsort(n, keys, idx);
    return r == -2 ? lp_scalar_argsort(n, keys, idx, ws) : r;
}
