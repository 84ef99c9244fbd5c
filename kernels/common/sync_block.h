/* The LaPerm sync of a whole variable, shared by the ISA folders
 * (kernels/avx2, kernels/avx512, kernels/neon): included by one .c file per
 * ISA, which gets the static functions compiled with its own flags and
 * calls lps_sync_workspace / lps_sync / lps_argsort.
 *
 * The variable w[len, nvec] is processed in blocks of LPS_BLOCK columns
 * (one 64-byte line of a row): the block is gathered and transposed into
 * contiguous columns (8x8 register transposes with AVX2, rows prefetched
 * ahead) while the minimum, maximum and NaN flag of every column are
 * collected; each column is sorted (kernels/common/sync_bucket.h, or the
 * radix sort of kernels/common/sync_radix.h for the columns it does not
 * take) straight into its new values; the block is written back
 * transposed. Blocks go to the threads through a shared counter (in an
 * order that keeps the threads' current blocks apart: lps_next_block), and
 * each thread prefetches its next block's rows while sorting the current
 * one (spread over the counting passes of its columns). Vectors longer
 * than LPK_MAXN are sorted one at a time by all the threads
 * (kernels/common/sync_long.h). Every vector is independent and its
 * result unique, so nothing depends on the thread count or the order.
 * NaN columns are left as they were and the lowest one is returned. */
#ifndef LAPERM_KERNELS_COMMON_SYNC_BLOCK_H
#define LAPERM_KERNELS_COMMON_SYNC_BLOCK_H

#include "kernels/common/omp_team.h"
#include "kernels/common/sync_long.h"

/* keys[b*len + i] = w[i*nvec + j0 + b] for b < bw, with mn[b] / mx[b] the
 * column's minimum / maximum; bit b of the result set if column j0 + b
 * holds a NaN (its mn / mx are then meaningless). Rows are prefetched
 * ahead unless the caller did it (cached != 0). */
static unsigned lps_gather(size_t len, size_t nvec, const float *w, size_t j0, int bw,
                           float *keys, float *mn, float *mx, int cached)
{
    unsigned nan = 0;
    size_t i = 0;
    for (int b = 0; b < bw; b++) {
        mn[b] = INFINITY;
        mx[b] = -INFINITY;
    }
    (void)cached;
#if defined(__AVX2__)
    if (bw == LPS_BLOCK && len >= 8) {
        enum { NH = LPS_BLOCK / 8 }; /* 8x8 tiles per row group */
        __m256 nm[NH], lo[NH], hi[NH];
        for (int h = 0; h < NH; h++) {
            nm[h] = _mm256_setzero_ps();
            lo[h] = _mm256_set1_ps(INFINITY);
            hi[h] = _mm256_set1_ps(-INFINITY);
        }
        for (; i + 8 <= len; i += 8) {
            if (!cached && i + LPS_PF_ROWS + 8 <= len)
                for (int q = 0; q < 8; q++) {
                    const char *pr = (const char *)(w + (i + LPS_PF_ROWS + q) * nvec + j0);
                    __builtin_prefetch(pr, 0, 3);
                    __builtin_prefetch(pr + 4 * LPS_BLOCK - 1, 0, 3);
                }
            for (int h = 0; h < NH; h++) {
                __m256 r[8];
                for (int q = 0; q < 8; q++) {
                    __m256 x = _mm256_loadu_ps(w + (i + q) * nvec + j0 + 8 * h);
                    nm[h] = _mm256_or_ps(nm[h], _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
                    lo[h] = _mm256_min_ps(lo[h], x);
                    hi[h] = _mm256_max_ps(hi[h], x);
                    r[q] = x;
                }
                lp_tr8x8_ps(r);
                for (int b = 0; b < 8; b++)
                    _mm256_storeu_ps(keys + (size_t)(8 * h + b) * len + i, r[b]);
            }
        }
        for (int h = 0; h < NH; h++) {
            nan |= (unsigned)_mm256_movemask_ps(nm[h]) << 8 * h;
            _mm256_storeu_ps(mn + 8 * h, lo[h]);
            _mm256_storeu_ps(mx + 8 * h, hi[h]);
        }
    }
#endif
    for (; i < len; i++) {
        const float *row = w + i * nvec + j0;
        for (int b = 0; b < bw; b++) {
            float x = row[b];
            nan |= (unsigned)(x != x) << b;
            if (x < mn[b]) mn[b] = x;
            if (x > mx[b]) mx[b] = x;
            keys[(size_t)b * len + i] = x;
        }
    }
    return nan;
}

/* w[i*nvec + j0 + b] = out[b*len + i] for the columns b < bw not in skip. */
static void lps_scatter(size_t len, size_t nvec, float *w, size_t j0, int bw, const float *out,
                        unsigned skip)
{
    size_t i = 0;
#if defined(__AVX2__)
    if (bw == LPS_BLOCK && !skip) {
        for (; i + 8 <= len; i += 8) {
            for (int h = 0; h < LPS_BLOCK / 8; h++) {
                __m256 r[8];
                for (int b = 0; b < 8; b++) r[b] = _mm256_loadu_ps(out + (size_t)(8 * h + b) * len + i);
                lp_tr8x8_ps(r);
                for (int q = 0; q < 8; q++) _mm256_storeu_ps(w + (i + q) * nvec + j0 + 8 * h, r[q]);
            }
        }
    }
#endif
    for (; i < len; i++) {
        float *row = w + i * nvec + j0;
        for (int b = 0; b < bw; b++)
            if (!(skip >> b & 1)) row[b] = out[(size_t)b * len + i];
    }
}

/* ---- workspace --------------------------------------------------------------- */

/* Sort scratch per vector of up to LPK_MAXN: the bucket sort's, or the
 * radix sort's (2 * len uint32 up to LPS_MAX32 keys, also the len uint64
 * of the insertion sort, and the counters). */
static inline size_t lps_scratch_bytes(size_t len)
{
    size_t radix = lps_round(2 * len * (len <= LPS_MAX32 ? sizeof(uint32_t) : sizeof(uint64_t))) +
                   lps_round(LPS_HIST_WORDS * sizeof(uint32_t));
    size_t bucket = len <= LPK_MAXN ? lpk_ws_bytes(len) : 0;
    return radix > bucket ? radix : bucket;
}

static inline size_t lps_block_bytes(size_t len, size_t nvec)
{
    return lps_round((nvec < LPS_BLOCK ? nvec : LPS_BLOCK) * len * sizeof(float));
}

static size_t lps_slot_bytes(size_t len, size_t nvec)
{
    return lps_block_bytes(len, nvec) + lps_scratch_bytes(len);
}

/* Threads: the current OpenMP limit (1 inside a parallel region), at most
 * one per block of columns for vectors up to LPK_MAXN (long vectors use
 * them all within each vector), 1 for small variables. */
static int lps_threads(size_t len, size_t nvec)
{
    size_t nblk = (nvec + LPS_BLOCK - 1) / LPS_BLOCK;
    int t = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (t < 1) t = 1;
    if (len <= LPK_MAXN && (size_t)t > nblk) t = nblk ? (int)nblk : 1;
    if (len * nvec < 16384) t = 1;
    return t;
}

/* Like the scalar sync: sized for the current OpenMP thread limit, so ask
 * after setting the thread count (asking with more threads is fine). */
static size_t lps_sync_workspace(size_t len, size_t nvec)
{
    const int t = lps_threads(len, nvec);
    if (len > LPK_MAXN) {
        size_t radix = lps_round(2 * len * sizeof(uint64_t)) +
                       lps_round(LPS_HIST_WORDS * sizeof(uint32_t));
        size_t lng = lpl_ws_bytes(len, t);
        size_t block = nvec > 1 ? lps_block_bytes(len, nvec) : 0;
        return block + (radix > lng ? radix : lng) + LPS_ALIGN;
    }
    return (size_t)t * lps_slot_bytes(len, nvec) + LPS_ALIGN;
}

/* out[i] = vals[rank of keys[i]] for one column without NaN (out may
 * alias keys); t: lps_scratch_bytes(len); the bucket sort prefetches the
 * rows pf[k * pf_stride], k < pf_rows, on the way. */
static void lps_sort_column(size_t len, float *keys, float mn, float mx, const float *vals,
                            float *out, char *t, const char *pf, size_t pf_stride, size_t pf_rows)
{
    if (len >= LPS_SMALL && len <= LPK_MAXN) {
        lpk_ws ws = lpk_ws_carve(len, t);
        ws.pf = pf;
        ws.pf_stride = pf_stride;
        ws.pf_rows = pf_rows;
        if (lpk_sort(len, keys, mn, mx, vals, out, &ws) == 0) return;
    }
    uint32_t *k = (uint32_t *)keys;
    for (size_t i = 0; i < len; i++) k[i] = lps_order_bits(k[i]);
    lps_emit em = {vals, out, NULL};
    size_t tb = lps_round(2 * len * (len <= LPS_MAX32 ? sizeof(uint32_t) : sizeof(uint64_t)));
    lps_sort(len, k, t, t + tb, &em);
}

/* One block of columns, starting at column j0 (its rows already prefetched
 * if cached); while sorting, the rows of the block at column next (if
 * below nvec) are prefetched, spread over the columns. Returns the lowest
 * NaN column or -1. */
static long lps_sync_block(size_t len, size_t nvec, float *w, const float *sorted, size_t j0,
                           size_t next, int cached, char *slot)
{
    int bw = nvec - j0 < LPS_BLOCK ? (int)(nvec - j0) : LPS_BLOCK;
    float *keys = (float *)slot;
    char *t = slot + lps_block_bytes(len, nvec);
    float mn[LPS_BLOCK], mx[LPS_BLOCK];
    unsigned nan = lps_gather(len, nvec, w, j0, bw, keys, mn, mx, cached);
    const size_t per = (len + (size_t)bw - 1) / (size_t)bw; /* next block's rows per column */
    for (int b = 0; b < bw; b++) {
        if (nan >> b & 1) continue;
        float *kb = keys + (size_t)b * len;
        size_t r0 = (size_t)b * per, nr = 0;
        if (next < nvec && r0 < len) nr = len - r0 < per ? len - r0 : per;
        lps_sort_column(len, kb, mn[b], mx[b], sorted + (j0 + (size_t)b) * len, kb, t,
                        nr ? (const char *)(w + r0 * nvec + next) : NULL, nvec * sizeof(float), nr);
    }
    lps_scatter(len, nvec, w, j0, bw, keys, nan);
    if (!nan) return -1;
    int b = 0;
    while (!(nan >> b & 1)) b++;
    return (long)(j0 + (size_t)b);
}

/* Vectors longer than LPK_MAXN: one block of columns after the other, each
 * column sorted by all the threads (kernels/common/sync_long.h). */
static long lps_sync_long(size_t len, size_t nvec, float *w, const float *sorted, void *ws,
                          int threads)
{
    char *base = (char *)(((uintptr_t)ws + LPS_ALIGN - 1) & ~(uintptr_t)(LPS_ALIGN - 1));
    float *keys = (float *)base;
    char *t = base + (nvec > 1 ? lps_block_bytes(len, nvec) : 0);
    long first_bad = -1;
    for (size_t j0 = 0; j0 < nvec; j0 += LPS_BLOCK) {
        int bw = nvec - j0 < LPS_BLOCK ? (int)(nvec - j0) : LPS_BLOCK;
        float mn[LPS_BLOCK], mx[LPS_BLOCK];
        unsigned nan;
        if (nvec == 1) { /* the vector is contiguous: sort it in place */
            keys = w;
            float lo = INFINITY, hi = -INFINITY;
            int isnan = 0;
            for (size_t i = 0; i < len; i++) {
                float x = w[i];
                isnan |= x != x;
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
            }
            nan = (unsigned)isnan;
            mn[0] = lo;
            mx[0] = hi;
        } else {
            nan = lps_gather(len, nvec, w, j0, bw, keys, mn, mx, 0);
        }
        for (int b = 0; b < bw; b++) {
            if (nan >> b & 1) continue;
            float *kb = keys + (size_t)b * len;
            const float *vals = sorted + (j0 + (size_t)b) * len;
            if (lpl_sort(len, kb, mn[b], mx[b], vals, kb, t, threads) == 0) continue;
            uint32_t *k = (uint32_t *)kb;
            for (size_t i = 0; i < len; i++) k[i] = lps_order_bits(k[i]);
            lps_emit em = {vals, kb, NULL};
            lps_sort(len, k, t, t + lps_round(2 * len * sizeof(uint64_t)), &em);
        }
        if (nvec > 1) lps_scatter(len, nvec, w, j0, bw, keys, nan);
        if (nan && first_bad < 0) first_bad = (long)(j0 + (size_t)__builtin_ctz(nan));
    }
    return first_bad;
}

/* The block of the next ticket of the shared counter, nblk once all are
 * taken. Tickets go to the blocks column by column of a [threads, span]
 * grid of the blocks (row r: blocks r * span to r * span + span - 1), so
 * that the blocks the threads hold at one time lie span blocks apart, not
 * side by side (each thread still walks neighbouring blocks in turn).
 * Neighbouring blocks share a 128-byte line pair in every row of w, and
 * with two cores on them at once the rows' lines probably travel between
 * the cores (adjacent-line prefetch on one, the transposed writes on the
 * other). Two threads on Zen 4: [4608, 512] variables 1.65-1.69 -> 1.53-
 * 1.57 ns/weight (1T ~2.85), conv13 ~1.67 -> ~1.52 in quiet runs; one
 * thread walks the blocks in order as before. */
static inline long lps_next_block(long *counter, long nblk, long span, int threads)
{
    for (;;) {
        long t;
#pragma omp atomic capture
        t = (*counter)++;
        if (t >= span * threads) return nblk;
        long b = (t % threads) * span + t / threads;
        if (b < nblk) return b;
    }
}

/* Blocks go to the threads through a shared counter (lps_next_block),
 * each thread taking its next block before it starts the current one (so
 * that it can prefetch it); every block is independent, so the result does
 * not depend on the order. */
static long lps_sync(size_t len, size_t nvec, float *w, const float *sorted, void *ws)
{
    if (len == 0 || nvec == 0) return -1;
    const int threads = lps_threads(len, nvec);
    if (len > LPK_MAXN) return lps_sync_long(len, nvec, w, sorted, ws, threads);
    const size_t slot = lps_slot_bytes(len, nvec);
    const long nblk = (long)((nvec + LPS_BLOCK - 1) / LPS_BLOCK);
    char *base = (char *)(((uintptr_t)ws + LPS_ALIGN - 1) & ~(uintptr_t)(LPS_ALIGN - 1));
    long first_bad = -1, counter = 0;
    const long span = (nblk + threads - 1) / threads;
    /* every thread of the pool in the region, `threads` of them working
     * (kernels/common/omp_team.h); the workspace holds `threads` slots */
#pragma omp parallel num_threads(lp_omp_team(threads)) if (threads > 1)
    if (omp_get_thread_num() < threads) {
        char *mine = base + (size_t)omp_get_thread_num() * slot;
        long bad = -1, cur, next;
        int cached = 0;
        cur = lps_next_block(&counter, nblk, span, threads);
        while (cur < nblk) {
            next = lps_next_block(&counter, nblk, span, threads);
            size_t nj = next < nblk ? (size_t)next * LPS_BLOCK : nvec;
            long r =
                lps_sync_block(len, nvec, w, sorted, (size_t)cur * LPS_BLOCK, nj, cached, mine);
            if (r >= 0 && (bad < 0 || r < bad)) bad = r;
            cur = next;
            cached = len >= LPS_SMALL; /* the bucket sort prefetched it */
        }
        if (bad >= 0) {
#pragma omp critical(lps_sync_bad)
            if (first_bad < 0 || bad < first_bad) first_bad = bad;
        }
    }
    return first_bad;
}

#endif
