/* LaPerm sync, AVX-512 build of the shared implementation
 * (kernels/common/sync_block.h): the bucket sort's counting pass, count
 * scan and emit pass use 512-bit vectors, its small buckets a rank-counting
 * sort (kernels/common/sync_bucket.h); the block transposes stay 8x8 AVX2
 * (cheaper than 16x16 ones on Zen 4, whose 512-bit shuffles take two
 * cycles). The argsort stays avx2's. On Zen 4 this is about 10% faster
 * than the AVX2 build. */
#include "kernels/avx512/avx512.h"
#include "kernels/common/sync_block.h"

size_t lp_avx512_sync_workspace(size_t len, size_t nvec) { return lps_sync_workspace(len, nvec); }

long lp_avx512_sync(size_t len, size_t nvec, float *w, const float *sorted, void *ws)
{
    return lps_sync(len, nvec, w, sorted, ws);
}
