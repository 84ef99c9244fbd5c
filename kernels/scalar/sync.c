/* The LaPerm sync: every column j of w[len, nvec] takes the values of
 * sorted[j, :] in the rank order it had: idx = argsort(column);
 * w[idx[r], j] = sorted[j, r]. Columns are independent and run in parallel
 * (static schedule over columns), each thread with its own slice of ws for
 * the gathered column, the argsort indices and the radix scratch. */
#include "kernels/scalar/scalar.h"
#include "kernels/scalar/sort.h"
#include "kernels/common/omp_team.h"

#include <omp.h>
#include <stdint.h>

#define SYNC_ALIGN 64

static size_t sync_slice_bytes(size_t len)
{
    size_t b = len * sizeof(float) + len * sizeof(uint32_t) +
               lp_argsort_scratch_words(len) * sizeof(uint32_t);
    return (b + SYNC_ALIGN - 1) / SYNC_ALIGN * SYNC_ALIGN;
}

/* Threads sync uses: the current OpenMP limit, at most one per vector. The
 * workspace is sized with the same rule, so sync_workspace must be asked
 * after the thread count is set (asking with more threads is fine). */
static int sync_threads(size_t nvec)
{
    int t = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (t < 1) t = 1;
    if ((size_t)t > nvec) t = nvec ? (int)nvec : 1;
    return t;
}

size_t lp_scalar_sync_workspace(size_t len, size_t nvec)
{
    return (size_t)sync_threads(nvec) * sync_slice_bytes(len) + SYNC_ALIGN;
}

long lp_scalar_sync(size_t len, size_t nvec, float *w, const float *sorted, void *ws)
{
    if (len == 0 || nvec == 0) return -1;
    int threads = sync_threads(nvec);
    size_t slice = sync_slice_bytes(len);
    char *base = (char *)(((uintptr_t)ws + SYNC_ALIGN - 1) & ~(uintptr_t)(SYNC_ALIGN - 1));
    long first_bad = -1;
    /* every thread of the pool in the region, the first `threads` working,
     * each on its own slice of ws and an equal share of the columns
     * (kernels/common/omp_team.h) */
#pragma omp parallel num_threads(lp_omp_team(threads)) if (threads > 1 && len * nvec > 4096)
    {
        const int tid = omp_get_thread_num(), nw = omp_get_num_threads() < threads ? 1 : threads;
        char *mine = base + (size_t)tid * slice;
        float *col = (float *)mine;
        uint32_t *idx = (uint32_t *)(mine + len * sizeof(float));
        uint32_t *scratch = idx + len;
        long bad = -1;
        const long j0 = tid < nw ? (long)(nvec * (size_t)tid / (size_t)nw) : 0;
        const long j1 = tid < nw ? (long)(nvec * (size_t)(tid + 1) / (size_t)nw) : 0;
        for (long j = j0; j < j1; j++) {
            for (size_t r = 0; r < len; r++) col[r] = w[r * nvec + (size_t)j];
            if (lp_scalar_argsort_ws(len, col, idx, scratch) != 0) {
                if (bad < 0) bad = j; /* the share ascends: first is lowest */
                continue;
            }
            const float *s = sorted + (size_t)j * len;
            for (size_t r = 0; r < len; r++) w[(size_t)idx[r] * nvec + (size_t)j] = s[r];
        }
#pragma omp critical(lp_scalar_sync_bad)
        if (bad >= 0 && (first_bad < 0 || bad < first_bad)) first_bad = bad;
    }
    return first_bad;
}
