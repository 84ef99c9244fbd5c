/* Stable ascending argsort of float keys.
 *
 * Keys become "order bits" (sign-flipped IEEE bits, -0.0 folded into +0.0)
 * and are sorted by an LSD radix sort with 8-bit digits carrying the index as
 * payload; LSD radix is stable, so equal keys keep their position order.
 * Passes whose digit is the same for every key are skipped (common: small
 * weights share their high bytes). Fewer than LP_ARGSORT_SMALL keys use a
 * stable insertion sort.
 *
 * lp_scalar_argsort (the table entry): up to ARGSORT_STACK_N keys the
 * scratch is a stack buffer, beyond it the caller's workspace
 * (lp_scalar_argsort_workspace); without one (ws NULL), an in-place heapsort
 * on the pair (order bits, position), which is a total order and so gives
 * the same unique stable result without any extra memory. */
#include "kernels/scalar/scalar.h"
#include "kernels/scalar/sort.h"

#define ARGSORT_STACK_N 2048
#define RADIX_BITS 8
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_PASSES (32 / RADIX_BITS)

static void insertion_argsort(size_t n, const float *keys, uint32_t *idx)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)i, kv = lp_float_order_bits(keys[i]);
        size_t j = i;
        while (j > 0 && lp_float_order_bits(keys[idx[j - 1]]) > kv) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

static int has_nan(size_t n, const float *keys)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= lp_float_is_nan(keys[i]);
    return bad;
}

int lp_scalar_argsort_ws(size_t n, const float *keys, uint32_t *idx, uint32_t *scratch)
{
    if (n < LP_ARGSORT_SMALL) {
        if (has_nan(n, keys)) return -1;
        insertion_argsort(n, keys, idx);
        return 0;
    }
    uint32_t *ka = scratch, *kb = scratch + n, *ib = scratch + 2 * n;
    uint32_t hist[RADIX_PASSES][RADIX_SIZE];
    memset(hist, 0, sizeof hist);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad |= lp_float_is_nan(keys[i]);
        uint32_t k = lp_float_order_bits(keys[i]);
        ka[i] = k;
        for (int p = 0; p < RADIX_PASSES; p++) hist[p][(k >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
    }
    if (bad) return -1;

    int active[RADIX_PASSES], npass = 0;
    for (int p = 0; p < RADIX_PASSES; p++) {
        uint32_t d0 = (ka[0] >> (p * RADIX_BITS)) & (RADIX_SIZE - 1);
        if (hist[p][d0] != (uint32_t)n) active[npass++] = p;
    }
    if (npass == 0) {
        for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
        return 0;
    }

    const uint32_t *ksrc = ka, *isrc = NULL; /* NULL: identity payload */
    for (int t = 0; t < npass; t++) {
        int p = active[t], shift = p * RADIX_BITS;
        int last = t == npass - 1;
        uint32_t *kdst = ksrc == ka ? kb : ka;
        /* The last pass must land in idx: alternate backwards from it. */
        uint32_t *idst = ((npass - 1 - t) % 2 == 0) ? idx : ib;
        uint32_t off[RADIX_SIZE], sum = 0;
        for (unsigned d = 0; d < RADIX_SIZE; d++) {
            off[d] = sum;
            sum += hist[p][d];
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t k = ksrc[i];
            uint32_t pos = off[(k >> shift) & (RADIX_SIZE - 1)]++;
            if (!last) kdst[pos] = k;
            idst[pos] = isrc ? isrc[i] : (uint32_t)i;
        }
        ksrc = kdst;
        isrc = idst;
    }
    return 0;
}

/* (order bits, position) compared lexicographically: a strict total order. */
static inline int pair_less(const float *keys, uint32_t a, uint32_t b)
{
    uint32_t ka = lp_float_order_bits(keys[a]), kb = lp_float_order_bits(keys[b]);
    return ka < kb || (ka == kb && a < b);
}

static void sift_down(const float *keys, uint32_t *h, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && pair_less(keys, h[child], h[child + 1])) child++;
        if (!pair_less(keys, h[root], h[child])) return;
        uint32_t t = h[root];
        h[root] = h[child];
        h[child] = t;
        root = child;
    }
}

static void heap_argsort(size_t n, const float *keys, uint32_t *idx)
{
    for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
    for (size_t i = n / 2; i-- > 0;) sift_down(keys, idx, i, n);
    for (size_t end = n; end-- > 1;) {
        uint32_t t = idx[0];
        idx[0] = idx[end];
        idx[end] = t;
        sift_down(keys, idx, 0, end);
    }
}

size_t lp_scalar_argsort_workspace(size_t n)
{
    return n <= ARGSORT_STACK_N ? 0 : lp_argsort_scratch_words(n) * sizeof(uint32_t);
}

int lp_scalar_argsort(size_t n, const float *keys, uint32_t *idx, void *ws)
{
    if (n <= ARGSORT_STACK_N) {
        uint32_t scratch[3 * ARGSORT_STACK_N];
        return lp_scalar_argsort_ws(n, keys, idx, scratch);
    }
    if (ws) return lp_scalar_argsort_ws(n, keys, idx, (uint32_t *)ws);
    if (has_nan(n, keys)) return -1;
    heap_argsort(n, keys, idx);
    return 0;
}
