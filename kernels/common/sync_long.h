/* The sort of one long vector (more than LPK_MAXN elements) for the LaPerm
 * sync, spread over the threads: included by kernels/common/sync_block.h.
 *
 *  1. K value buckets (K a power of two near n / 16384: few enough output
 *     streams for the TLB; 16M keys took 295 ms with K near n / 2048, 154
 *     with this), the monotone bucket function of
 *     kernels/common/sync_bucket.h. Each thread counts its slice of the
 *     positions, the counts become offsets in (bucket, thread) order, and
 *     each thread scatters its slice's elements s(v) << 32 | position into
 *     bucket order: stable whatever the thread count, each bucket in
 *     position order.
 *  2. The buckets are sorted independently (dynamic schedule): the bucket
 *     sort of kernels/common/sync_bucket.h on the bucket's values, or, for
 *     a bucket it cannot take (too long, infinite range, short), a radix
 *     or insertion sort of the elements; rank r of the bucket starting at
 *     s0 gets out[position] = vals[s0 + r].
 * The result does not depend on the thread count. A vector whose range is
 * not finite falls back to the radix sort of kernels/common/sync_radix.h on
 * one thread. */
#ifndef LAPERM_KERNELS_COMMON_SYNC_LONG_H
#define LAPERM_KERNELS_COMMON_SYNC_LONG_H

#include "kernels/common/sync_bucket.h"

static inline unsigned lpl_log2_buckets(size_t n)
{
    unsigned lg = 1;
    while (lg < 16 && ((size_t)16384 << lg) < n) lg++;
    return lg;
}

/* Per-thread scratch of the second level: a bucket sort workspace and the
 * bucket's values. */
static inline size_t lpl_thread_bytes(void)
{
    return lpk_ws_bytes(LPK_MAXN) + lps_round(LPK_MAXN * sizeof(float));
}

/* Scratch of lpl_sort for n elements and T threads. */
static inline size_t lpl_ws_bytes(size_t n, int T)
{
    size_t K = (size_t)1 << lpl_log2_buckets(n);
    return 2 * lps_round(n * sizeof(int64_t)) + lps_round((size_t)T * K * sizeof(uint32_t)) +
           lps_round((K + 1) * sizeof(uint32_t)) + (size_t)T * lpl_thread_bytes();
}

/* Bucket [s0, s0 + s) of A (elements in position order): out[position] =
 * vals[s0 + rank]. tmp: the same range of a second array; t: this thread's
 * lpl_thread_bytes. */
static void lpl_sort_bucket(int64_t *A, int64_t *tmp, size_t s0, size_t s, const float *vals,
                            float *out, char *t)
{
    int64_t *a = A + s0;
    if (s >= LPS_SMALL && s <= LPK_MAXN) {
        lpk_ws ws = lpk_ws_carve(s, t);
        float *fl = (float *)(t + lpk_ws_bytes(LPK_MAXN));
        float mn = INFINITY, mx = -INFINITY;
        for (size_t i = 0; i < s; i++) {
            float v = lpk_value(a[i]);
            fl[i] = v;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
        if (lpk_sort(s, fl, mn, mx, vals + s0, fl, &ws) == 0) {
            for (size_t i = 0; i < s; i++) out[(uint32_t)a[i]] = fl[i];
            return;
        }
    }
    /* fully sorted here (no emit pass to finish small buckets) */
    if (s <= LPK_INS)
        lpk_insertion(a, s);
    else
        lpk_radix_bucket(a, s, tmp + s0, (uint32_t *)(t + lpk_ws_bytes(LPK_MAXN)));
    for (size_t r = 0; r < s; r++) out[(uint32_t)a[r]] = vals[s0 + r];
}

/* out[i] = vals[rank of keys[i]] for n > LPK_MAXN floats without NaN
 * (min mn, max mx; out may alias keys), on T threads (called outside a
 * parallel region); ws: lpl_ws_bytes(n, T), 64-byte aligned. Returns 0, or
 * -1 if the range is not finite (the caller falls back). */
static int lpl_sort(size_t n, const float *keys, float mn, float mx, const float *vals,
                    float *out, char *ws, int T)
{
    if (mn == mx) {
        if (out != vals) memcpy(out, vals, n * sizeof(float));
        return 0;
    }
    const unsigned lgk = lpl_log2_buckets(n);
    const uint32_t K = 1u << lgk;
    const float range = mx - mn, scale = (float)K / range;
    if (!isfinite(range) || !isfinite(scale) || !(scale > 0.0f)) return -1;
    int64_t *A = (int64_t *)ws;
    int64_t *B = (int64_t *)(ws + lps_round(n * sizeof(int64_t)));
    uint32_t *hist = (uint32_t *)(ws + 2 * lps_round(n * sizeof(int64_t)));
    uint32_t *starts = hist + lps_round((size_t)T * K * sizeof(uint32_t)) / sizeof(uint32_t);
    char *tws = (char *)(starts + lps_round((K + 1) * sizeof(uint32_t)) / sizeof(uint32_t));
#pragma omp parallel num_threads(T) if (T > 1)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const size_t i0 = n * (size_t)t / (size_t)nt, i1 = n * (size_t)(t + 1) / (size_t)nt;
        uint32_t *h = hist + (size_t)t * K;
        memset(h, 0, K * sizeof(uint32_t));
        for (size_t i = i0; i < i1; i++) {
            float q = (keys[i] - mn) * scale;
            h[q < (float)K ? (uint32_t)q : K - 1]++;
        }
#pragma omp barrier
#pragma omp single
        {
            uint32_t sum = 0;
            for (uint32_t b = 0; b < K; b++) {
                starts[b] = sum;
                for (int u = 0; u < nt; u++) {
                    uint32_t c = hist[(size_t)u * K + b];
                    hist[(size_t)u * K + b] = sum;
                    sum += c;
                }
            }
            starts[K] = sum;
        }
        for (size_t i = i0; i < i1; i++) {
            float x = keys[i];
            float q = (x - mn) * scale;
            uint32_t u;
            memcpy(&u, &x, sizeof u);
            A[h[q < (float)K ? (uint32_t)q : K - 1]++] =
                (int64_t)((uint64_t)(uint32_t)lpk_skey(u) << 32 | (uint64_t)i);
        }
#pragma omp barrier
        /* keys are dead from here on: out may alias them */
        char *mine = tws + (size_t)t * lpl_thread_bytes();
#pragma omp for schedule(dynamic, 1)
        for (long b = 0; b < (long)K; b++) {
            size_t s0 = starts[b], s = starts[b + 1] - s0;
            if (s) lpl_sort_bucket(A, B, s0, s, vals, out, mine);
        }
    }
    return 0;
}

#endif
