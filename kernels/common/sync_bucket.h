/* Sorting one weight vector for the LaPerm sync by value buckets, the
 * sync's main path (vectors of LPS_SMALL to LPK_MAXN elements); included by
 * kernels/common/sync_block.h, compiled by one .c file per ISA.
 *
 * The vector's floats f[0..n) (no NaN), min mn, max mx:
 *  1. Bucket b(v) = min(trunc((v - mn) * scale), nb - 1), scale = nb /
 *     (mx - mn), nb about 2n. Every step is monotone non-decreasing in v
 *     under IEEE rounding (v - mn >= 0, scale > 0, truncation of a
 *     non-negative float), so v < v' whenever b(v) < b(v'): the buckets are
 *     value ranges in ascending order; -0.0 and +0.0 share a bucket.
 *  2. A counting pass: bucket counts, and for each element the int64
 *     e = s(v) << 32 | bucket << 16 | position, s(v) the signed order bits
 *     of v (-0.0 folded into +0.0). The bucket being a function of the
 *     value, e ascends in (value, position) order, the stable order.
 *  3. The counts' exclusive scan, then one scatter pass into bucket order
 *     (stable: each bucket holds its elements in position order).
 *  4. Buckets of more than LPK_W + 1 elements (rare on smooth data: about
 *     half an element per bucket; they are found while scanning the
 *     counts) are sorted in place: rank counting up to 8 (AVX-512),
 *     insertion sort up to LPK_INS, an LSD radix sort of the key beyond
 *     (many equal or clustered values: linear, not quadratic).
 *  5. The emit pass: the only unsorted stretches left are buckets of at
 *     most LPK_W + 1 elements, so the rank of e[q] is q plus the number of
 *     smaller elements among the next LPK_W minus the number of larger
 *     ones among the previous LPK_W (vector compares, no branches), and
 *     out[position] = vals[rank].
 * On Zen 4 the passes cost about 1.8 (1.0 computing the elements, 0.8
 * counting), 0.2, 1.9, 0.2 and 1.7 cycles (at the 2.6 GHz TSC) per element
 * for n = 4608 (one thread, a [4608, 512] variable, rdtsc around each
 * pass; the block's gather and write-back add 0.9 and 0.75); an LSD radix
 * sort needs three scatter passes and a counting pass (about twice the
 * time). Folding the counting into the computing loop (the counters of the
 * previous 16 elements each iteration: 1.8 -> 1.9) and prefetching the
 * scatter pass's destination lines 8 to 32 elements ahead (1.9 -> 2.3)
 * were slower. Constant
 * vectors (mn == mx) are the identity; a range or scale that is not finite
 * (infinities, spans beyond FLT_MAX, denormal spans), or one bucket taking
 * most of the values with different values (far outliers: lpk_histogram),
 * makes lpk_sort return -1 and the caller falls back to the radix sort of
 * kernels/common/sync_radix.h. */
#ifndef LAPERM_KERNELS_COMMON_SYNC_BUCKET_H
#define LAPERM_KERNELS_COMMON_SYNC_BUCKET_H

#include "kernels/common/sync_radix.h"

#include <math.h>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#define LPK_AVX512 1
#endif

#define LPK_INS 24          /* buckets up to this size: insertion sort */
#define LPK_W 2             /* the emit pass sorts buckets of up to LPK_W + 1 (1 to 4) */
#define LPK_MAXN 65535      /* longest vector of the bucket path (16-bit positions, counters) */

static inline int32_t lpk_skey(uint32_t u)
{
    if (u == 0x80000000u) u = 0;
    return (int32_t)(u ^ ((uint32_t)((int32_t)u >> 31) & 0x7fffffffu));
}

/* Buckets: nb = 32 * R (R a power of two), the power of two nearest 2n:
 * 0.35 to 0.7 elements per bucket (measured best against n and 4n). The
 * counter of bucket b sits at row b % R, column b / R of an [R, 32] table,
 * so that the exclusive scan in bucket order is a running sum down the
 * rows, all 32 columns at once, plus each column's offset: vertical vector
 * adds, no shuffles. */
static inline unsigned lpk_log2_buckets(size_t n)
{
    size_t t = (n * 2896) >> 10; /* 2n * sqrt(2) */
    unsigned lg = 0;
    while (((size_t)2 << lg) <= t) lg++;
    return lg < 5 ? 5 : lg > 16 ? 16 : lg; /* bucket numbers fit 16 bits */
}

/* Scratch of one vector of n <= LPK_MAXN: e (n + 2 * LPK_W int64 with
 * sentinels), e2 (n int64: the counting pass's elements, then the radix
 * ping-pong), bk (n u16), h (nb u16), list (R u64), rh (2048 u32). */
typedef struct lpk_ws {
    int64_t *e; /* e[-LPK_W..-1] and e[n..n+LPK_W-1] are sentinels */
    int64_t *e2;
    uint16_t *bk;
    uint16_t *h;
    uint64_t *list; /* row << 32 | columns holding a count > LPK_W + 1 */
    uint32_t *rh;
    /* Rows the caller wants in the cache soon (the next block's): the
     * counting pass prefetches the 64 bytes at pf + k * pf_stride for
     * k < pf_rows, one row per 8 elements. */
    const char *pf;
    size_t pf_stride, pf_rows;
} lpk_ws;

static inline size_t lpk_ws_bytes(size_t n)
{
    size_t nb = (size_t)1 << lpk_log2_buckets(n);
    return lps_round((n + 2 * LPK_W) * 8) + lps_round(n * 8) + lps_round(n * 2) +
           lps_round(nb * 2) + lps_round((nb / 32) * 8) + lps_round(2048 * 4);
}

static inline lpk_ws lpk_ws_carve(size_t n, char *p)
{
    size_t nb = (size_t)1 << lpk_log2_buckets(n);
    lpk_ws w;
    w.e = (int64_t *)p + LPK_W;
    p += lps_round((n + 2 * LPK_W) * 8);
    w.e2 = (int64_t *)p;
    p += lps_round(n * 8);
    w.bk = (uint16_t *)p;
    p += lps_round(n * 2);
    w.h = (uint16_t *)p;
    p += lps_round(nb * 2);
    w.list = (uint64_t *)p;
    p += lps_round((nb / 32) * 8);
    w.rh = (uint32_t *)p;
    w.pf = NULL;
    w.pf_stride = w.pf_rows = 0;
    return w;
}

/* Insertion sort of a[0..s) (int64, ascending). */
static inline void lpk_insertion(int64_t *a, size_t s)
{
    for (size_t i = 1; i < s; i++) {
        int64_t x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > x) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

#if defined(LPK_AVX512)
/* Sort of a[0..s), s <= 8, distinct int64: each element's rank is the
 * number of smaller ones (branch-free, unlike an insertion sort). */
static inline void lpk_sort8(int64_t *a, size_t s)
{
    const __mmask8 valid = (__mmask8)((1u << s) - 1);
    __m512i v = _mm512_maskz_loadu_epi64(valid, a);
    _Alignas(64) int64_t t[8];
    _mm512_store_si512((void *)t, v);
    int64_t out[8];
    for (size_t i = 0; i < s; i++) {
        __mmask8 lt = _mm512_mask_cmplt_epi64_mask(valid, v, _mm512_set1_epi64(t[i]));
        out[__builtin_popcount((unsigned)lt)] = t[i];
    }
    memcpy(a, out, s * sizeof(int64_t));
}
#endif

/* The key of an element as unsigned order bits. */
static inline uint32_t lpk_ukey(int64_t x) { return (uint32_t)((uint64_t)x >> 32) ^ 0x80000000u; }

/* LSD radix sort of a[0..s) by the key (upper 32 bits), stable; the
 * elements of one bucket arrive in position order, so the result is in
 * (key, position) order. tmp: s int64; rh: 2048 u32. Only the digits that
 * differ between keys are sorted. */
static void lpk_radix_bucket(int64_t *a, size_t s, int64_t *tmp, uint32_t *rh)
{
    uint32_t k0 = lpk_ukey(a[0]), diff = 0;
    for (size_t i = 1; i < s; i++) diff |= lpk_ukey(a[i]) ^ k0;
    if (!diff) return; /* all keys equal: already in position order */
    const int wd = s > 4096 ? 11 : 8;
    const uint32_t m = (1u << wd) - 1;
    int64_t *src = a, *dst = tmp;
    for (int sh = 0; sh < 32; sh += wd) {
        if (!((diff >> sh) & m)) continue;
        memset(rh, 0, sizeof(uint32_t) << wd);
        for (size_t i = 0; i < s; i++) rh[(lpk_ukey(src[i]) >> sh) & m]++;
        uint32_t sum = 0;
        for (uint32_t d = 0; d <= m; d++) {
            uint32_t c = rh[d];
            rh[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < s; i++) {
            int64_t x = src[i];
            dst[rh[(lpk_ukey(x) >> sh) & m]++] = x;
        }
        int64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, s * sizeof(int64_t));
}

static inline float lpk_value(int64_t e)
{
    uint32_t k = (uint32_t)((uint64_t)e >> 32);
    uint32_t u = k ^ ((uint32_t)((int32_t)k >> 31) & 0x7fffffffu);
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Sort of one bucket a[0..s) (s > LPK_W + 1) in (key, position) order;
 * the elements arrive in position order. tmp: s int64, rh: 2048 u32.
 * (Splitting a large bucket again by value over its own range was tried:
 * no faster than the radix sort on outliers, slower on clusters.) */
static inline void lpk_sort_bucket(int64_t *a, size_t s, int64_t *tmp, uint32_t *rh)
{
#if defined(LPK_AVX512)
    if (s <= 8) {
        lpk_sort8(a, s);
        return;
    }
#endif
    if (s <= LPK_INS)
        lpk_insertion(a, s);
    else
        lpk_radix_bucket(a, s, tmp, rh);
}

/* Exclusive scan, in bucket order, of the [R, 32] u16 counter table h;
 * appends to list every row holding a count > LPK_W + 1 (a bucket the emit
 * pass cannot sort on its own), with the mask of those columns; returns
 * the list length. */
static inline size_t lpk_scan(uint16_t *h, uint32_t R, uint64_t *list)
{
    size_t nl = 0;
#if defined(LPK_AVX512)
    const __m512i lim = _mm512_set1_epi16(LPK_W + 1), zero = _mm512_setzero_si512();
    __m512i acc = zero;
    for (uint32_t r = 0; r < R; r++) {
        __m512i x = _mm512_loadu_si512((const void *)(h + 32 * r));
        __mmask32 big = _mm512_cmpgt_epu16_mask(x, lim);
        list[nl] = (uint64_t)r << 32 | big;
        nl += big != 0;
        _mm512_storeu_si512((void *)(h + 32 * r), acc);
        acc = _mm512_add_epi16(acc, x);
    }
    /* column offsets: exclusive scan of the column totals across lanes */
    __m512i y = _mm512_add_epi16(acc, _mm512_bslli_epi128(acc, 2));
    y = _mm512_add_epi16(y, _mm512_bslli_epi128(y, 4));
    y = _mm512_add_epi16(y, _mm512_bslli_epi128(y, 8)); /* inclusive per 128-bit lane */
    __m512i t = _mm512_shuffle_epi8(y, _mm512_set1_epi16(0x0f0e)); /* lane totals */
    __m512i a = _mm512_alignr_epi64(t, zero, 6);
    a = _mm512_add_epi16(a, _mm512_alignr_epi64(a, zero, 6));
    a = _mm512_add_epi16(a, _mm512_alignr_epi64(a, zero, 4));
    __m512i off = _mm512_sub_epi16(_mm512_add_epi16(y, a), acc);
    for (uint32_t r = 0; r < R; r++) {
        __m512i *p = (__m512i *)(h + 32 * r);
        _mm512_storeu_si512((void *)p, _mm512_add_epi16(_mm512_loadu_si512((const void *)p), off));
    }
#elif defined(__AVX2__)
    const __m256i lim = _mm256_set1_epi16(LPK_W + 2); /* unsigned x >= lim: max(x, lim) == x */
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    for (uint32_t r = 0; r < R; r++) {
        __m256i *p = (__m256i *)(h + 32 * r);
        __m256i x0 = _mm256_loadu_si256(p), x1 = _mm256_loadu_si256(p + 1);
        /* one bit per column: the high bytes of the 16-bit compares */
        __m256i big = _mm256_packs_epi16(_mm256_cmpeq_epi16(_mm256_max_epu16(x0, lim), x0),
                                         _mm256_cmpeq_epi16(_mm256_max_epu16(x1, lim), x1));
        uint32_t m = (uint32_t)_mm256_movemask_epi8(_mm256_permute4x64_epi64(big, 0xd8));
        list[nl] = (uint64_t)r << 32 | m;
        nl += m != 0;
        _mm256_storeu_si256(p, acc0);
        _mm256_storeu_si256(p + 1, acc1);
        acc0 = _mm256_add_epi16(acc0, x0);
        acc1 = _mm256_add_epi16(acc1, x1);
    }
    _Alignas(32) uint16_t tot[32];
    _mm256_store_si256((__m256i *)tot, acc0);
    _mm256_store_si256((__m256i *)tot + 1, acc1);
    uint16_t sum = 0;
    for (int c = 0; c < 32; c++) {
        uint16_t v = tot[c];
        tot[c] = sum;
        sum = (uint16_t)(sum + v);
    }
    const __m256i off0 = _mm256_load_si256((const __m256i *)tot);
    const __m256i off1 = _mm256_load_si256((const __m256i *)tot + 1);
    for (uint32_t r = 0; r < R; r++) {
        __m256i *p = (__m256i *)(h + 32 * r);
        _mm256_storeu_si256(p, _mm256_add_epi16(_mm256_loadu_si256(p), off0));
        _mm256_storeu_si256(p + 1, _mm256_add_epi16(_mm256_loadu_si256(p + 1), off1));
    }
#else
    uint16_t acc[32] = {0};
    for (uint32_t r = 0; r < R; r++) {
        uint16_t *p = h + 32 * r;
        uint32_t big = 0;
        for (int c = 0; c < 32; c++) {
            uint16_t x = p[c];
            big |= (uint32_t)(x > LPK_W + 1) << c;
            p[c] = acc[c];
            acc[c] = (uint16_t)(acc[c] + x);
        }
        list[nl] = (uint64_t)r << 32 | big;
        nl += big != 0;
    }
    uint16_t sum = 0;
    for (int c = 0; c < 32; c++) {
        uint16_t v = acc[c];
        acc[c] = sum;
        sum = (uint16_t)(sum + v);
    }
    for (uint32_t r = 0; r < R; r++)
        for (int c = 0; c < 32; c++) h[32 * r + c] = (uint16_t)(h[32 * r + c] + acc[c]);
#endif
    return nl;
}

/* out[pos(e[q])] = vals[rank of e[q]] for q in [q0, q1): the rank is q
 * plus the number of the next LPK_W elements that are smaller, minus the
 * number of the previous LPK_W that are larger (exact once no bucket holds
 * more than LPK_W + 1 unsorted elements). */
static inline void lpk_emit_scalar(const int64_t *e, size_t q0, size_t q1, const float *vals,
                                   float *out)
{
    for (size_t q = q0; q < q1; q++) {
        int64_t x = e[q];
        ptrdiff_t r = (ptrdiff_t)q;
        for (int d = 1; d <= LPK_W; d++) r += (e[q + d] < x) - (e[(ptrdiff_t)q - d] > x);
        out[(uint16_t)x] = vals[r];
    }
}

static inline void lpk_emit(const int64_t *e, size_t n, const float *vals, float *out)
{
    size_t q = 0;
#if defined(LPK_AVX512)
    /* ranks as offsets from q; values picked from a 16-float window of vals
     * by a permute, stored by a scatter (as fast as scalar stores on Zen 4,
     * with no extraction). The neighbours come from the previous, current
     * and next 8 elements by VALIGNQ (one load per 8 elements instead of
     * five, four of them split across lines), the rank offsets are counted
     * in 32-bit lanes under the compare masks: the pass 1.9 -> 1.7 TSC
     * cycles per element on Zen 4. */
    _Static_assert(LPK_W == 2, "window");
    q = n < 8 ? n : 8;
    lpk_emit_scalar(e, 0, q, vals, out);
    const __m256i one = _mm256_set1_epi32(1), pm = _mm256_set1_epi32(0xffff);
    const __m256i base = _mm256_setr_epi32(4, 5, 6, 7, 8, 9, 10, 11);
    if (q + 14 <= n) {
        __m512i prv = _mm512_loadu_si512((const void *)(e + q - 8));
        __m512i cur = _mm512_loadu_si512((const void *)(e + q));
        /* nxt reaches e[q + 15] <= e[n + 1], the last sentinel */
        for (; q + 14 <= n; q += 8) {
            __m512i nxt = _mm512_loadu_si512((const void *)(e + q + 8));
            __m512i a1 = _mm512_alignr_epi64(nxt, cur, 1), a2 = _mm512_alignr_epi64(nxt, cur, 2);
            __m512i b1 = _mm512_alignr_epi64(cur, prv, 7), b2 = _mm512_alignr_epi64(cur, prv, 6);
            __m256i r = base;
            r = _mm256_mask_add_epi32(r, _mm512_cmpgt_epi64_mask(cur, a1), r, one);
            r = _mm256_mask_add_epi32(r, _mm512_cmpgt_epi64_mask(cur, a2), r, one);
            r = _mm256_mask_sub_epi32(r, _mm512_cmpgt_epi64_mask(b1, cur), r, one);
            r = _mm256_mask_sub_epi32(r, _mm512_cmpgt_epi64_mask(b2, cur), r, one);
            __m512 win = _mm512_loadu_ps(vals + q - 4);
            __m512 v = _mm512_permutexvar_ps(_mm512_castsi256_si512(r), win);
            __m256i pos = _mm256_and_si256(_mm512_cvtepi64_epi32(cur), pm);
            _mm256_i32scatter_ps(out, pos, _mm512_castps512_ps256(v), 4);
            prv = cur;
            cur = nxt;
        }
    }
#elif defined(__AVX2__)
    const __m256i pmask = _mm256_set1_epi64x(0xffff);
    for (; q + 4 <= n; q += 4) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(e + q));
        __m256i r = _mm256_setzero_si256();
        _Pragma("GCC unroll 8")
        for (int d = 1; d <= LPK_W; d++) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(e + q + d));
            __m256i b = _mm256_loadu_si256((const __m256i *)(e + q - d));
            r = _mm256_sub_epi64(r, _mm256_cmpgt_epi64(x, a));
            r = _mm256_add_epi64(r, _mm256_cmpgt_epi64(b, x));
        }
        /* (rank offset << 32) | position */
        __m256i c = _mm256_or_si256(_mm256_slli_epi64(r, 32), _mm256_and_si256(x, pmask));
        const float *v = vals + q;
        __m128i c0 = _mm256_castsi256_si128(c), c1 = _mm256_extracti128_si256(c, 1);
        int64_t t0 = _mm_cvtsi128_si64(c0), t1 = _mm_extract_epi64(c0, 1);
        int64_t t2 = _mm_cvtsi128_si64(c1), t3 = _mm_extract_epi64(c1, 1);
        out[(uint32_t)t0] = v[0 + (t0 >> 32)];
        out[(uint32_t)t1] = v[1 + (t1 >> 32)];
        out[(uint32_t)t2] = v[2 + (t2 >> 32)];
        out[(uint32_t)t3] = v[3 + (t3 >> 32)];
    }
#endif
    lpk_emit_scalar(e, q, n, vals, out);
}

/* h[bk[k]]++ for k < m (f: the values). Returns 1, having stopped early,
 * if one bucket takes more than 3/4 of the first 256 elements with values
 * that are not all equal (far outliers squeezing the others together): the
 * counting and scatter passes would run as one chain of increments of the
 * same counter, and the bucket would need a radix sort of its own anyway;
 * the radix sort of the whole vector is faster then. A bucket of equal
 * values (the zeros of weight-agnostic runs) stays: it needs no sort. */
static inline int lpk_histogram(uint16_t *restrict h, const uint16_t *restrict bk,
                                const float *f, size_t m)
{
    const size_t k0 = m < 256 ? m : 256;
    unsigned top = 0, topb = 0;
    size_t k = 0;
    for (; k < k0; k++) {
        unsigned b = bk[k], c = ++h[b];
        int more = c > top;
        top = more ? c : top;
        topb = more ? b : topb;
    }
    if (k0 >= 64 && top > 3 * k0 / 4) {
        float v0 = 0.0f;
        int seen = 0, mixed = 0;
        for (size_t j = 0; j < k0; j++)
            if (bk[j] == topb) {
                if (!seen) v0 = f[j];
                mixed |= seen && !(f[j] == v0);
                seen = 1;
            }
        if (mixed) return 1;
    }
    /* unrolled by four: about 5% faster on Zen 4 than the rolled loop */
    for (; k + 4 <= m; k += 4) {
        h[bk[k]]++;
        h[bk[k + 1]]++;
        h[bk[k + 2]]++;
        h[bk[k + 3]]++;
    }
    for (; k < m; k++) h[bk[k]]++;
    return 0;
}

/* out[i] = vals[rank of f[i]] for n (LPS_SMALL <= n <= LPK_MAXN) floats
 * without NaN, min mn, max mx. out may alias f (written only by the emit
 * pass). Returns 0, or -1, out untouched, if the buckets do not suit the
 * values (the caller falls back). */
static int lpk_sort(size_t n, const float *f, float mn, float mx, const float *vals, float *out,
                    const lpk_ws *ws)
{
    if (mn == mx) { /* every value equal: identity */
        if (out != vals) memcpy(out, vals, n * sizeof(float));
        return 0;
    }
    const unsigned lgnb = lpk_log2_buckets(n), lgr = lgnb - 5;
    const uint32_t nb = 1u << lgnb, R = nb >> 5;
    const float range = mx - mn, scale = (float)nb / range;
    if (!isfinite(range) || !isfinite(scale) || !(scale > 0.0f)) return -1;
    uint16_t *restrict h = ws->h;
    int64_t *restrict e = ws->e, *restrict pre = ws->e2;
    memset(h, 0, nb * sizeof(uint16_t));
    /* bucket b = min(trunc((v - mn) * scale), nb - 1), its counter at
     * c(b) = (b % R) * 32 + b / R; pre[i] = skey << 32 | c(b) << 16 | i:
     * as int64 in (value, position) order (c(b) is a function of the
     * value). */
    size_t i = 0;
#if defined(__AVX2__)
    /* a prefetched row spans two lines unless rows are 64-byte aligned */
    const int pf2 = (((uintptr_t)ws->pf | ws->pf_stride) & 63) != 0;
#endif
#if defined(LPK_AVX512)
    {
        uint16_t *restrict bk = ws->bk;
        const __m512 vmn = _mm512_set1_ps(mn), vsc = _mm512_set1_ps(scale);
        const __m512i vtop = _mm512_set1_epi32((int)nb - 1), rmask = _mm512_set1_epi32((int)R - 1);
        const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
        const __m512i mag = _mm512_set1_epi32(0x7fffffff);
        const __m512i sel0 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
        const __m512i sel1 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
        __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        const __m512i sixteen = _mm512_set1_epi32(16);
        for (; i + 16 <= n; i += 16) {
            __builtin_prefetch(vals + i, 0, 3); /* for the emit pass */
            if ((i >> 3) < ws->pf_rows) {
                const char *pr = ws->pf + (i >> 3) * ws->pf_stride;
                __builtin_prefetch(pr, 0, 3);
                if (pf2) __builtin_prefetch(pr + 63, 0, 3);
                if ((i >> 3) + 1 < ws->pf_rows) {
                    __builtin_prefetch(pr + ws->pf_stride, 0, 3);
                    if (pf2) __builtin_prefetch(pr + ws->pf_stride + 63, 0, 3);
                }
            }
            __m512 x = _mm512_loadu_ps(f + i);
            __m512i b = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_sub_ps(x, vmn), vsc));
            b = _mm512_min_epi32(b, vtop);
            b = _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(b, rmask), 5),
                                _mm512_srli_epi32(b, lgr));
            _mm256_storeu_si256((__m256i *)(bk + i), _mm512_cvtepi32_epi16(b));
            __m512i u = _mm512_castps_si512(x);
            u = _mm512_maskz_mov_epi32(_mm512_cmpneq_epi32_mask(u, sign), u);
            u = _mm512_xor_si512(u, _mm512_and_si512(_mm512_srai_epi32(u, 31), mag));
            __m512i lowd = _mm512_or_si512(_mm512_slli_epi32(b, 16), lane);
            lane = _mm512_add_epi32(lane, sixteen);
            __m512i e0 = _mm512_unpacklo_epi32(lowd, u), e1 = _mm512_unpackhi_epi32(lowd, u);
            _mm512_storeu_si512((void *)(pre + i), _mm512_permutex2var_epi64(e0, sel0, e1));
            _mm512_storeu_si512((void *)(pre + i + 8), _mm512_permutex2var_epi64(e0, sel1, e1));
        }
        if (lpk_histogram(h, bk, f, i)) return -1;
    }
#elif defined(__AVX2__)
    {
        uint16_t *restrict bk = ws->bk;
        const __m256 vmn = _mm256_set1_ps(mn), vsc = _mm256_set1_ps(scale);
        const __m256i vtop = _mm256_set1_epi32((int)nb - 1), rmask = _mm256_set1_epi32((int)R - 1);
        const __m128i vlgr = _mm_cvtsi32_si128((int)lgr);
        const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
        const __m256i mag = _mm256_set1_epi32(0x7fffffff);
        __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i eight = _mm256_set1_epi32(8);
        for (; i + 8 <= n; i += 8) {
            __builtin_prefetch(vals + i, 0, 3); /* for the emit pass */
            if ((i >> 3) < ws->pf_rows) {
                const char *pr = ws->pf + (i >> 3) * ws->pf_stride;
                __builtin_prefetch(pr, 0, 3);
                if (pf2) __builtin_prefetch(pr + 63, 0, 3);
            }
            __m256 x = _mm256_loadu_ps(f + i);
            __m256i b = _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_sub_ps(x, vmn), vsc));
            b = _mm256_min_epi32(b, vtop);
            b = _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(b, rmask), 5),
                                _mm256_srl_epi32(b, vlgr));
            __m128i p = _mm_packus_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
            _mm_storeu_si128((__m128i *)(bk + i), p);
            __m256i u = _mm256_castps_si256(x);
            u = _mm256_andnot_si256(_mm256_cmpeq_epi32(u, sign), u);
            u = _mm256_xor_si256(u, _mm256_and_si256(_mm256_srai_epi32(u, 31), mag));
            __m256i lowd = _mm256_or_si256(_mm256_slli_epi32(b, 16), lane);
            lane = _mm256_add_epi32(lane, eight);
            /* interleave (low dword, key) pairs into int64 */
            __m256i e0 = _mm256_unpacklo_epi32(lowd, u), e1 = _mm256_unpackhi_epi32(lowd, u);
            _mm256_storeu_si256((__m256i *)(pre + i), _mm256_permute2x128_si256(e0, e1, 0x20));
            _mm256_storeu_si256((__m256i *)(pre + i + 4), _mm256_permute2x128_si256(e0, e1, 0x31));
        }
        if (lpk_histogram(h, bk, f, i)) return -1;
    }
#endif
    for (; i < n; i++) {
        float x = f[i];
        float q = (x - mn) * scale;
        uint32_t b = q < (float)nb ? (uint32_t)q : nb - 1;
        b = (b & (R - 1)) << 5 | b >> lgr;
        h[b]++;
        uint32_t u;
        memcpy(&u, &x, sizeof u);
        pre[i] = (int64_t)((uint64_t)(uint32_t)lpk_skey(u) << 32 | (uint64_t)b << 16 | (uint64_t)i);
    }
    const size_t nl = lpk_scan(h, R, ws->list);
    /* unrolled by four (a few % over two on Zen 4); the pass is bound by
     * its two random stores per element (counter, element), about 1.4
     * core cycles each with the arrays spilling out of L1 */
    for (i = 0; i + 4 <= n; i += 4) {
        int64_t x = pre[i], y = pre[i + 1], z = pre[i + 2], u = pre[i + 3];
        e[h[(uint32_t)x >> 16]++] = x;
        e[h[(uint32_t)y >> 16]++] = y;
        e[h[(uint32_t)z >> 16]++] = z;
        e[h[(uint32_t)u >> 16]++] = u;
    }
    for (; i < n; i++) e[h[(uint32_t)pre[i] >> 16]++] = pre[i];
    /* h[c(b)] is now the end of bucket b, h[c(b - 1)] its start */
    for (size_t l = 0; l < nl; l++) {
        const uint32_t r = (uint32_t)(ws->list[l] >> 32);
        for (uint32_t m = (uint32_t)ws->list[l]; m; m &= m - 1) {
            const uint32_t c = (uint32_t)__builtin_ctz(m), at = r * 32 + c;
            const uint32_t start = r ? h[at - 32] : c ? h[(R - 1) * 32 + c - 1] : 0;
            lpk_sort_bucket(e + start, h[at] - start, pre, ws->rh);
        }
    }
    for (int d = 1; d <= LPK_W; d++) { /* sentinels for the emit pass's windows */
        e[-d] = INT64_MIN;
        e[n - 1 + (size_t)d] = INT64_MAX;
    }
    lpk_emit(e, n, vals, out);
    return 0;
}

#endif
