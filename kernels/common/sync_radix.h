/* The LSD radix argsort shared by the ISA folders: the table's argsort
 * (lps_argsort) and the sync's fallback for the vectors the bucket sort
 * (kernels/common/sync_bucket.h) does not take: shorter than LPS_SMALL, or
 * with a range that is not finite. Included (through
 * kernels/common/sync_block.h) by one .c file per ISA, which gets the
 * static functions compiled with its own flags.
 *
 * Per vector: keys become order bits (-0.0 folded into +0.0, then the sign
 * flip that makes unsigned order float order) and are sorted by an LSD radix
 * sort carrying the position as payload. LSD radix is stable, so equal keys
 * stay in position order: the result is the unique stable argsort, bit for
 * bit the scalar one, whatever the digit layout.
 *  - n < LPS_SMALL: insertion sort of (key << 32 | position).
 *  - n <= 2^13: 32-bit elements. The lowest digit is as wide as a position
 *    (8, 11 or 13 bits), so after the first pass the position takes its
 *    place; digit layouts 8/8/8/8 (n <= 256), 11/11/10 (n <= 2048),
 *    13/10/9 (n <= 8192); 16-bit counters.
 *  - longer: 64-bit elements (key << 32 | position), 11/11/10 digits.
 * All digit counts come from one pass over the keys; a digit that is the
 * same for every key is skipped. The last pass does not store elements: it
 * writes out[position] = sorted[rank] (the sync) or idx[rank] = position
 * (argsort) directly. The scatter loops are unrolled by two (two
 * independent counter updates per iteration), which Zen 4 runs about 1.5x
 * faster than the rolled loop. */
#ifndef LAPERM_KERNELS_COMMON_SYNC_RADIX_H
#define LAPERM_KERNELS_COMMON_SYNC_RADIX_H

#include <omp.h>

#include "kernels/common/avx2_transpose.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#define LPS_BLOCK 16        /* the sync's blocks: columns per block (8 or 16) */
#define LPS_SMALL 40        /* shorter vectors: insertion sort */
#define LPS_ALIGN 64
#ifndef LPS_PF_ROWS
#define LPS_PF_ROWS 32      /* gather: rows prefetched ahead */
#endif
#define LPS_HIST_WORDS (3 * 2048) /* uint32 words: >= 11-bit x 3, and LPS_HIST16 uint16 */

static inline uint32_t lps_order_bits(uint32_t u)
{
    if (u == 0x80000000u) u = 0;
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline int lps_is_nan_bits(uint32_t u) { return (u & 0x7fffffffu) > 0x7f800000u; }

/* Output of the sort: rank r of the element at position i. */
typedef struct lps_emit {
    const float *vals; /* sync: out[i] = vals[r] */
    float *out;
    uint32_t *idx;     /* argsort: idx[r] = i (vals == NULL) */
} lps_emit;

static void lps_insertion(size_t n, const uint32_t *keys, uint64_t *e, const lps_emit *em)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = (uint64_t)keys[i] << 32 | (uint64_t)i;
        size_t j = i;
        while (j > 0 && e[j - 1] > v) {
            e[j] = e[j - 1];
            j--;
        }
        e[j] = v;
    }
    if (em->vals)
        for (size_t r = 0; r < n; r++) em->out[(uint32_t)e[r]] = em->vals[r];
    else
        for (size_t r = 0; r < n; r++) em->idx[r] = (uint32_t)e[r];
}

/* h[d] = h[0] + ... + h[d-1] for d < nb (nb a power of two). */
static inline void lps_excl_scan(uint32_t *h, uint32_t nb)
{
    uint32_t d = 0, s = 0;
#if defined(__AVX2__)
    __m256i carry = _mm256_setzero_si256();
    const __m256i last = _mm256_set1_epi32(7);
    for (; d + 8 <= nb; d += 8) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(h + d));
        __m256i y = _mm256_add_epi32(x, _mm256_slli_si256(x, 4));
        y = _mm256_add_epi32(y, _mm256_slli_si256(y, 8)); /* inclusive within 128-bit lanes */
        __m256i lo = _mm256_shuffle_epi32(y, 0xff);         /* lane totals */
        y = _mm256_add_epi32(y, _mm256_permute2x128_si256(lo, lo, 0x08)); /* low total into high lane */
        y = _mm256_add_epi32(y, carry);                     /* inclusive */
        _mm256_storeu_si256((__m256i *)(h + d), _mm256_sub_epi32(y, x));
        carry = _mm256_permutevar8x32_epi32(y, last);
    }
    s = (uint32_t)_mm256_extract_epi32(carry, 0);
#endif
    for (; d < nb; d++) {
        uint32_t c = h[d];
        h[d] = s;
        s += c;
    }
}

/* Counts of every digit of every key; returns the active (non-constant)
 * digits in act[] and turns their counts into starting offsets. Digit p
 * is (key >> sh[p]) & ((1 << w[p]) - 1); hist holds the tables back to back. */
static inline int lps_count(size_t n, const uint32_t *keys, int np, const int *sh, const int *w,
                            uint32_t *hist, const char *pf, int *act)
{
    size_t tot = 0;
    for (int p = 0; p < np; p++) tot += (size_t)1 << w[p];
    memset(hist, 0, sizeof(uint32_t) * tot);
    uint32_t *h[4];
    uint32_t mk[4];
    h[0] = hist;
    for (int p = 0; p < np; p++) {
        mk[p] = (1u << w[p]) - 1;
        if (p + 1 < np) h[p + 1] = h[p] + ((size_t)1 << w[p]);
    }
    /* While counting, pull the values the last pass reads in rank order
     * (random order within the vector) into the cache. */
    if (np == 3) {
        for (size_t i = 0; i < n; i++) {
            uint32_t k = keys[i];
            if (pf && (i & 15) == 0) __builtin_prefetch(pf + 4 * i, 0, 3);
            h[0][k & mk[0]]++;
            h[1][(k >> sh[1]) & mk[1]]++;
            h[2][k >> sh[2]]++;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            uint32_t k = keys[i];
            if (pf && (i & 15) == 0) __builtin_prefetch(pf + 4 * i, 0, 3);
            h[0][k & mk[0]]++;
            h[1][(k >> sh[1]) & mk[1]]++;
            h[2][(k >> sh[2]) & mk[2]]++;
            h[3][k >> sh[3]]++;
        }
    }
    int na = 0;
    for (int p = 0; p < np; p++) {
        uint32_t *hp = h[p];
        if (hp[(keys[0] >> sh[p]) & mk[p]] == (uint32_t)n) continue; /* constant digit */
        act[na++] = p;
        lps_excl_scan(hp, mk[p] + 1);
    }
    return na;
}

/* 16-bit version of lps_excl_scan (totals below 2^16). */
static inline void lps_excl_scan16(uint16_t *h, uint32_t nb)
{
    uint32_t d = 0;
    uint16_t s = 0;
#if defined(__AVX2__)
    __m128i carry = _mm_setzero_si128();
    for (; d + 8 <= nb; d += 8) {
        __m128i x = _mm_loadu_si128((const __m128i *)(h + d));
        __m128i y = _mm_add_epi16(x, _mm_slli_si128(x, 2));
        y = _mm_add_epi16(y, _mm_slli_si128(y, 4));
        y = _mm_add_epi16(y, _mm_slli_si128(y, 8));
        y = _mm_add_epi16(y, carry);
        _mm_storeu_si128((__m128i *)(h + d), _mm_sub_epi16(y, x));
        __m128i t = _mm_shufflehi_epi16(y, 0xff);
        carry = _mm_unpackhi_epi64(t, t);
    }
    s = (uint16_t)_mm_extract_epi16(carry, 0);
#endif
    for (; d < nb; d++) {
        uint16_t c = h[d];
        h[d] = s;
        s = (uint16_t)(s + c);
    }
}

/* Vectors of up to 2^13 keys: 32-bit elements and 16-bit counters. The
 * lowest digit is at least as wide as a position, so after the first pass
 * the position replaces it (key bits above digit 0, position below). Digit
 * layouts (lowest first): n <= 256: 8/8/8/8; n <= 2048: 11/11/10; else
 * 13/10/9. The top digit (sign and exponent, few distinct values) is
 * counted in two interleaved tables so that repeated increments of one
 * counter do not serialise. */
#define LPS_MAX32 8192
#define LPS_HIST16 (8192 + 1024 + 2 * 512) /* uint16 counters, >= every layout */
_Static_assert(LPS_HIST16 * sizeof(uint16_t) <= LPS_HIST_WORDS * sizeof(uint32_t), "hist size");

static inline __attribute__((always_inline)) void
lps_radix32_impl(size_t n, const uint32_t *keys, uint32_t *restrict t0, uint32_t *restrict t1,
                 uint16_t *restrict hist, const lps_emit *em, const int np, const int w0,
                 const int w1, const int w2, const int w3)
{
    const int wv[4] = {w0, w1, w2, w3};
    const int sh[4] = {0, w0, w0 + w1, w0 + w1 + w2};
    const int wtop = wv[np - 1], shtop = sh[np - 1];
    uint16_t *tab[4];
    tab[0] = hist;
    tab[1] = tab[0] + (1u << w0);
    tab[2] = tab[1] + (1u << w1);
    tab[3] = np == 4 ? tab[2] + (1u << w2) : NULL;
    uint16_t *top2 = tab[np - 1] + (1u << wtop); /* second table of the top digit */
    const size_t tot = (size_t)(top2 + (1u << wtop) - hist);
    memset(hist, 0, sizeof(uint16_t) * tot);
    const uint32_t m0 = (1u << w0) - 1, m1 = (1u << w1) - 1, m2 = (1u << w2) - 1;
    const char *pf = (const char *)em->vals;
    uint16_t *ht = tab[np - 1];
    size_t i = 0;
    /* While counting, pull the values the last pass reads in rank order
     * (random order within the vector) into the cache. */
    for (; i + 2 <= n; i += 2) {
        uint32_t k = keys[i], l = keys[i + 1];
        if (pf && (i & 15) == 0) __builtin_prefetch(pf + 4 * i, 0, 3);
        tab[0][k & m0]++;
        tab[1][(k >> sh[1]) & m1]++;
        if (np == 4) tab[2][(k >> sh[2]) & m2]++;
        ht[k >> shtop]++;
        tab[0][l & m0]++;
        tab[1][(l >> sh[1]) & m1]++;
        if (np == 4) tab[2][(l >> sh[2]) & m2]++;
        top2[l >> shtop]++;
    }
    for (; i < n; i++) {
        uint32_t k = keys[i];
        tab[0][k & m0]++;
        tab[1][(k >> sh[1]) & m1]++;
        if (np == 4) tab[2][(k >> sh[2]) & m2]++;
        ht[k >> shtop]++;
    }
    for (uint32_t d = 0; d < (1u << wtop); d++) ht[d] = (uint16_t)(ht[d] + top2[d]);
    int act[4], na = 0;
    for (int p = 0; p < np; p++) {
        uint32_t m = (1u << wv[p]) - 1;
        if (tab[p][(keys[0] >> sh[p]) & m] == n) continue; /* constant digit */
        act[na++] = p;
        lps_excl_scan16(tab[p], m + 1);
    }
    if (na == 0) { /* all keys equal: identity */
        if (em->vals)
            memcpy(em->out, em->vals, sizeof(float) * n);
        else
            for (size_t r = 0; r < n; r++) em->idx[r] = (uint32_t)r;
        return;
    }
    const uint32_t imask = m0;
    int a = 0;
    /* The scatter loops are unrolled by hand: two independent chains per
     * iteration run markedly faster than the rolled loop on Zen 4. */
    if (act[0] == 0) { /* first pass on digit 0, attaching positions */
        uint16_t *h = tab[0];
        size_t r = 0;
        for (; r + 2 <= n; r += 2) {
            uint32_t k = keys[r], l = keys[r + 1];
            uint32_t pk = h[k & imask]++;
            t0[pk] = (k & ~imask) | (uint32_t)r;
            uint32_t pl = h[l & imask]++;
            t0[pl] = (l & ~imask) | (uint32_t)(r + 1);
        }
        for (; r < n; r++) {
            uint32_t k = keys[r];
            t0[h[k & imask]++] = (k & ~imask) | (uint32_t)r;
        }
        a = 1;
    } else {
        for (size_t r = 0; r < n; r++) t0[r] = (keys[r] & ~imask) | (uint32_t)r;
    }
    uint32_t *src = t0, *dst = t1;
    for (; a < na - 1; a++) {
        const int s = sh[act[a]];
        const uint32_t m = (1u << wv[act[a]]) - 1;
        uint16_t *h = tab[act[a]];
        size_t r = 0;
        for (; r + 2 <= n; r += 2) {
            uint32_t e = src[r], f = src[r + 1];
            uint32_t pe = h[(e >> s) & m]++;
            dst[pe] = e;
            uint32_t pf = h[(f >> s) & m]++;
            dst[pf] = f;
        }
        for (; r < n; r++) {
            uint32_t e = src[r];
            dst[h[(e >> s) & m]++] = e;
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (a == na) { /* src is in order already */
        if (em->vals)
            for (size_t r = 0; r < n; r++) em->out[src[r] & imask] = em->vals[r];
        else
            for (size_t r = 0; r < n; r++) em->idx[r] = src[r] & imask;
        return;
    }
    /* last pass: emit directly */
    const int s = sh[act[a]];
    const uint32_t m = (1u << wv[act[a]]) - 1;
    uint16_t *h = tab[act[a]];
    size_t r = 0;
    if (em->vals) {
        const float *restrict v = em->vals;
        float *restrict o = em->out;
        for (; r + 2 <= n; r += 2) {
            uint32_t e = src[r], f = src[r + 1];
            uint32_t pe = h[(e >> s) & m]++;
            o[e & imask] = v[pe];
            uint32_t pf = h[(f >> s) & m]++;
            o[f & imask] = v[pf];
        }
        for (; r < n; r++) {
            uint32_t e = src[r];
            o[e & imask] = v[h[(e >> s) & m]++];
        }
    } else {
        uint32_t *restrict ix = em->idx;
        for (; r < n; r++) {
            uint32_t e = src[r];
            ix[h[(e >> s) & m]++] = e & imask;
        }
    }
}

/* Sort n <= LPS_MAX32 keys (order bits). t0, t1: n uint32 each; hist:
 * LPS_HIST16 uint16. em->out may alias keys (keys are read before out is
 * written). */
static void lps_radix32(size_t n, const uint32_t *keys, uint32_t *t0, uint32_t *t1,
                        uint16_t *hist, const lps_emit *em)
{
    if (n <= 256)
        lps_radix32_impl(n, keys, t0, t1, hist, em, 4, 8, 8, 8, 8);
    else if (n <= 2048)
        lps_radix32_impl(n, keys, t0, t1, hist, em, 3, 11, 11, 10, 0);
    else
        lps_radix32_impl(n, keys, t0, t1, hist, em, 3, 13, 10, 9, 0);
}

/* Longer vectors (> LPS_MAX32 keys, n < 2^32): 64-bit elements
 * (key << 32 | position), 11-bit digits. t0, t1: n uint64 each. */
static void lps_radix64(size_t n, const uint32_t *keys, uint64_t *restrict t0,
                        uint64_t *restrict t1, uint32_t *restrict hist, const lps_emit *em)
{
    const int sh[3] = {0, 11, 22}, w[3] = {11, 11, 10};
    int act[4];
    const int na = lps_count(n, keys, 3, sh, w, hist, (const char *)em->vals, act);
    if (na == 0) {
        if (em->vals)
            memcpy(em->out, em->vals, sizeof(float) * n);
        else
            for (size_t i = 0; i < n; i++) em->idx[i] = (uint32_t)i;
        return;
    }
    uint32_t *tab[3] = {hist, hist + 2048, hist + 4096};
    {
        const int s = sh[act[0]];
        const uint32_t m = (1u << w[act[0]]) - 1;
        uint32_t *h = tab[act[0]];
        for (size_t i = 0; i < n; i++) {
            uint32_t k = keys[i];
            t0[h[(k >> s) & m]++] = (uint64_t)k << 32 | (uint64_t)i;
        }
    }
    uint64_t *src = t0, *dst = t1;
    int a = 1;
    for (; a < na - 1; a++) {
        const int s = 32 + sh[act[a]];
        const uint64_t m = (1u << w[act[a]]) - 1;
        uint32_t *h = tab[act[a]];
        for (size_t i = 0; i < n; i++) {
            uint64_t e = src[i];
            dst[h[(e >> s) & m]++] = e;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (a >= na) {
        if (em->vals)
            for (size_t r = 0; r < n; r++) em->out[(uint32_t)src[r]] = em->vals[r];
        else
            for (size_t r = 0; r < n; r++) em->idx[r] = (uint32_t)src[r];
        return;
    }
    const int s = 32 + sh[act[a]];
    const uint64_t m = (1u << w[act[a]]) - 1;
    uint32_t *h = tab[act[a]];
    if (em->vals) {
        const float *restrict v = em->vals;
        float *restrict o = em->out;
        for (size_t i = 0; i < n; i++) {
            uint64_t e = src[i];
            o[(uint32_t)e] = v[h[(e >> s) & m]++];
        }
    } else {
        uint32_t *restrict ix = em->idx;
        for (size_t i = 0; i < n; i++) {
            uint64_t e = src[i];
            ix[h[(e >> s) & m]++] = (uint32_t)e;
        }
    }
}

/* Stable sort of n order-bit keys with the output em. t: scratch of 2 * n
 * uint64 (2 * n uint32 suffice up to LPS_MAX32 keys, 40 uint64 below
 * LPS_SMALL); hist: LPS_HIST_WORDS uint32 (LPS_HIST16 uint16 up to
 * LPS_MAX32 keys). */
static void lps_sort(size_t n, const uint32_t *keys, void *t, void *hist, const lps_emit *em)
{
    if (n < LPS_SMALL)
        lps_insertion(n, keys, (uint64_t *)t, em);
    else if (n <= LPS_MAX32)
        lps_radix32(n, keys, (uint32_t *)t, (uint32_t *)t + n, (uint16_t *)hist, em);
    else
        lps_radix64(n, keys, (uint64_t *)t, (uint64_t *)t + n, (uint32_t *)hist, em);
}

static inline size_t lps_round(size_t b) { return (b + LPS_ALIGN - 1) / LPS_ALIGN * LPS_ALIGN; }

/* Argsort on thread-local scratch (116 KiB per thread) up to
 * LPS_ARGSORT_MAX keys, which covers every weight vector of the models
 * (3x3x512 = 4608); longer inputs return -2 and the caller falls back to
 * the scalar version. */
#define LPS_ARGSORT_MAX LPS_MAX32
static _Thread_local _Alignas(64) uint32_t lps_as_t[2 * LPS_ARGSORT_MAX];
static _Thread_local _Alignas(64) uint32_t lps_as_k[LPS_ARGSORT_MAX];
static _Thread_local _Alignas(64) uint16_t lps_as_h[LPS_HIST16];

static inline int lps_argsort(size_t n, const float *keys, uint32_t *idx)
{
    if (n > LPS_ARGSORT_MAX) return -2;
    unsigned nan = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, keys + i, sizeof u);
        nan |= (unsigned)lps_is_nan_bits(u);
        lps_as_k[i] = lps_order_bits(u);
    }
    if (nan) return -1;
    lps_emit em = {NULL, NULL, idx};
    lps_sort(n, lps_as_k, lps_as_t, lps_as_h, &em);
    return 0;
}

#endif
