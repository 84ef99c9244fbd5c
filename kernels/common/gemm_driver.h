/* A BLIS-style SGEMM driver, instantiated once per ISA by including this
 * header after defining:
 *
 *   LPG_PREFIX      name prefix of everything defined here (e.g. lp_avx2_gemm_)
 *   LPG_MR, LPG_NR  micro-tile (NR a multiple of 8 on x86)
 *   LPG_MC, LPG_KC, LPG_NC   cache blocking (MC % MR == 0, NC % NR == 0)
 *   LPG_UKERNEL     a function
 *       void uk(int kc, const float *pa, const float *pb, float *c,
 *               ptrdiff_t ldc, float alpha, float beta)
 *     computing acc[MR][NR] = sum_{p < kc} pa[p*MR + i] * pb[p*NR + j]
 *     (one fused multiply-add per p, p ascending, from 0) and then
 *       c[i*ldc + j] = beta == 0 ? alpha * acc : fma(alpha, acc, beta * c).
 *
 * and it defines `void LPG_PREFIX##gemm(...)` with the lp_kernels::gemm
 * signature.
 *
 * Loop nest (BLIS): jc over NC columns of C, pc over KC of the k dimension,
 * then the threads split C's rows (and, when there are too few rows for the
 * team, its column panels) and each packs its own MC x KC blocks of op(A).
 * The KC x NC block of op(B) is packed once per (jc, pc) by the whole team
 * into the calling thread's buffer. Packing absorbs both transposes.
 *
 * Determinism: each element of C is
 *     C_0 = beta*C (or nothing when beta == 0),
 *     C_{b+1} = fma(alpha, acc_b, C_b)   for the k blocks b in order,
 * with acc_b formed by the micro-kernel in p order; partial tiles go through
 * the same micro-kernel (into a scratch tile) and the same combine. The
 * thread split only decides who computes which tile, so the result is
 * bitwise identical for any thread count.
 *
 * Buffers are thread-local statics (no allocation): the A block of each
 * thread and the B block of the calling thread (shared with its team). */
#ifndef LPG_PREFIX
#error "define LPG_PREFIX, LPG_MR, LPG_NR, LPG_MC, LPG_KC, LPG_NC and LPG_UKERNEL first"
#endif

#include "kernels/common/ksplit_reduce.h"
#include "kernels/common/omp_team.h"
#include "kernels/kernels.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif

#define LPG_CAT2_(a, b) a##b
#define LPG_CAT_(a, b) LPG_CAT2_(a, b)
#define LPG(name) LPG_CAT_(LPG_PREFIX, name)

_Static_assert(LPG_MC % LPG_MR == 0, "MC must be a multiple of MR");
_Static_assert(LPG_NC % LPG_NR == 0, "NC must be a multiple of NR");

/* Slack after each buffer: the AVX2 transposing packer may store up to 8
 * floats past the last panel row it fills. */
#define LPG_SLACK 64

/* Packing buffers. With LPG_SHARED_BUFFERS the instance uses the
 * thread-local buffers of kernels/common/gemm_buffers.h (one pair per
 * thread for every ISA of a build: a thread runs one gemm at a time), else
 * its own. */
#ifdef LPG_SHARED_BUFFERS
#include "kernels/common/avx2_transpose.h"
#include "kernels/common/gemm_buffers.h"
_Static_assert((size_t)LPG_MC * LPG_KC + LPG_SLACK <= LP_GEMM_ABUF_FLOATS, "A buffer too small");
_Static_assert((size_t)LPG_KC * LPG_NC + LPG_SLACK <= LP_GEMM_BBUF_FLOATS, "B buffer too small");
#define LPG_ABUF lp_gemm_abuf
#define LPG_BBUF lp_gemm_bbuf
#else
static _Thread_local _Alignas(64) float LPG(apack)[LPG_MC * LPG_KC + LPG_SLACK];
static _Thread_local _Alignas(64) float LPG(bpack)[LPG_KC * LPG_NC + LPG_SLACK];
#define LPG_ABUF LPG(apack)
#define LPG_BBUF LPG(bpack)
#endif

/* dst[p*LD + r] = src[r*ld + p] for r < rows (rows <= LD), p < kc: the
 * transposing copy behind op(A) = A (rows of A along k) and op(B) = B^T.
 * With AVX2, 8x8 register transposes; a partial row group (only possible for
 * the last group of a panel) is stored with a mask (AVX-512VL) or by an
 * 8-wide store whose extra lanes the next store in address order overwrites
 * (the panel's tail and the buffer slack absorb the last one). With NEON,
 * 4x4 transposes of whole panels (MR and NR multiples of 4). */
static inline void LPG(pack_transpose)(const float *src, ptrdiff_t ld, int rows, int kc,
                                       float *restrict dst, int LD)
{
    int p = 0;
#if defined(__AVX2__)
    if (rows == LD) {
        const int ng = (rows + 7) / 8;
        for (; p + 8 <= kc; p += 8) {
            __m256 t[(LPG_MR > LPG_NR ? LPG_MR : LPG_NR) / 8 + 1][8];
            for (int g = 0; g < ng; g++) {
                for (int q = 0; q < 8; q++) {
                    int r = g * 8 + q;
                    if (r >= rows) r = rows - 1; /* valid memory; lane not kept */
                    t[g][q] = _mm256_loadu_ps(src + (ptrdiff_t)r * ld + p);
                }
                lp_tr8x8_ps(t[g]);
            }
            for (int q = 0; q < 8; q++) {
                float *d = dst + (ptrdiff_t)(p + q) * LD;
                for (int g = 0; g < ng; g++) {
                    int nl = rows - g * 8;
                    if (nl >= 8) {
                        _mm256_storeu_ps(d + g * 8, t[g][q]);
                    } else {
#if defined(__AVX512VL__)
                        _mm256_mask_storeu_ps(d + g * 8, (__mmask8)((1u << nl) - 1), t[g][q]);
#else
                        _mm256_storeu_ps(d + g * 8, t[g][q]);
#endif
                    }
                }
            }
        }
    }
#elif defined(__ARM_NEON)
    if (rows == LD && LD % 4 == 0) {
        for (; p + 4 <= kc; p += 4) {
            for (int g = 0; g < LD / 4; g++) {
                const float *s0 = src + (ptrdiff_t)(4 * g) * ld + p;
                float32x4x2_t t01 = vtrnq_f32(vld1q_f32(s0), vld1q_f32(s0 + ld));
                float32x4x2_t t23 = vtrnq_f32(vld1q_f32(s0 + 2 * ld), vld1q_f32(s0 + 3 * ld));
                float *d = dst + (ptrdiff_t)p * LD + 4 * g;
                vst1q_f32(d, vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0])));
                vst1q_f32(d + LD, vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1])));
                vst1q_f32(d + 2 * LD,
                          vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0])));
                vst1q_f32(d + 3 * LD,
                          vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1])));
            }
        }
    }
#endif
    for (int r = 0; r < rows; r++) {
        const float *s = src + (ptrdiff_t)r * ld;
        for (int pp = p; pp < kc; pp++) dst[(ptrdiff_t)pp * LD + r] = s[pp];
    }
    for (int r = rows; r < LD; r++)
        for (int pp = 0; pp < kc; pp++) dst[(ptrdiff_t)pp * LD + r] = 0.0f;
}

/* Row-by-row copy into panels: for every p < kc, the row segment
 * src[p*ld + 0 .. cols) goes to panels of LD floats (panel q gets columns
 * [q*LD, q*LD + LD), zero-padded past cols) at dst + q*kc*LD + p*LD. Reading
 * whole row segments in order keeps the source access sequential. Used for
 * op(A) = A^T (rows of A^T along m) and op(B) = B. */
static inline void LPG(pack_rows)(const float *src, ptrdiff_t ld, int cols, int kc,
                                  float *restrict dst, const int LD)
{
    const int full = cols / LD, rem = cols - full * LD;
    const ptrdiff_t pstride = (ptrdiff_t)kc * LD;
    for (int p = 0; p < kc; p++) {
        const float *s = src + (ptrdiff_t)p * ld;
        float *d = dst + (ptrdiff_t)p * LD;
        for (int q = 0; q < full; q++) {
            const float *sq = s + q * LD;
            float *dq = d + q * pstride;
            for (int r = 0; r < LD; r++) dq[r] = sq[r];
        }
        if (rem) {
            const float *sq = s + full * LD;
            float *dq = d + full * pstride;
            for (int r = 0; r < rem; r++) dq[r] = sq[r];
            for (int r = rem; r < LD; r++) dq[r] = 0.0f;
        }
    }
}

/* Fused im2col. With a convolution geometry cg, op(A) is read straight from
 * the NHWC image x: A is the virtual matrix col[n*oh*ow, kh*kw*c] of
 * kernels/scalar/im2col.c (A itself for the forward convolution, A^T for the
 * weight gradient), so no col buffer is written or read. The packed panels
 * hold exactly the values packing col would give, so the result is bitwise
 * that of im2col + gemm. Callers guarantee cg->c % 8 == 0 and
 * cg->c <= LPG_CONV_MAXC (see LPG(conv_ok)). */
#ifndef LPG_CONV_ZEROS_DEFINED
#define LPG_CONV_ZEROS_DEFINED
#define LPG_CONV_MAXC 2048
static const _Alignas(64) float lpg_conv_zeros[LPG_CONV_MAXC];
#endif

static inline int LPG(conv_ok)(const lp_conv_geom *g)
{
    return g->c % 8 == 0 && g->c <= LPG_CONV_MAXC;
}

/* Pointer to the c floats of col row `row` (an output pixel) and window
 * segment s = ky*kw + kx, or to zeros when that tap is in the padding. */
static inline const float *LPG(conv_seg)(const lp_conv_geom *g, const float *x, int row, int s)
{
    const int ohw = g->oh * g->ow;
    const int n = row / ohw, rr = row - n * ohw, oy = rr / g->ow, ox = rr - oy * g->ow;
    const int ky = s / g->kw, kx = s - ky * g->kw;
    const int iy = oy * g->sh - g->pad_top + ky, ix = ox * g->sw - g->pad_left + kx;
    if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) return lpg_conv_zeros;
    return x + (((ptrdiff_t)n * g->h + iy) * g->w + ix) * g->c;
}

/* pack_transpose of col[r0 : r0+rows, p0 : p0+kc] (p0 % 8 == 0). */
static void LPG(pack_conv_transpose)(const lp_conv_geom *g, const float *x, int r0, int rows,
                                     int p0, int kc, float *restrict dst, int LD)
{
    const int c = g->c;
    const int pend = p0 + kc;
#if defined(__AVX2__)
    if (rows == LD) {
        enum { LDMAX = LPG_MR > LPG_NR ? LPG_MR : LPG_NR, NGMAX = LDMAX / 8 + 1 };
        const float *rp[NGMAX * 8];
        const int ng = (rows + 7) / 8;
        for (int p = p0; p < pend;) {
            const int s = p / c, sb = s * c;
            const int se = sb + c < pend ? sb + c : pend;
            for (int r = 0; r < ng * 8; r++)
                rp[r] = r < rows ? LPG(conv_seg)(g, x, r0 + r, s) : rp[rows - 1];
            for (; p < se; p += 8) {
                __m256 t[NGMAX][8];
                if (ng == 2 && rows == 12) {
                    /* MR = 12: rows 0-7 by an 8x8 transpose, rows 8-11 by
                     * a 4x8 one stored as 128-bit halves */
                    for (int q = 0; q < 8; q++) t[0][q] = _mm256_loadu_ps(rp[q] + (p - sb));
                    lp_tr8x8_ps(t[0]);
                    __m256 r0 = _mm256_loadu_ps(rp[8] + (p - sb)), r1 = _mm256_loadu_ps(rp[9] + (p - sb));
                    __m256 r2 = _mm256_loadu_ps(rp[10] + (p - sb)), r3 = _mm256_loadu_ps(rp[11] + (p - sb));
                    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
                    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
                    __m256 u[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xee),
                                   _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xee)};
                    for (int q = 0; q < 8; q++) {
                        float *d = dst + (ptrdiff_t)(p - p0 + q) * LD;
                        _mm256_storeu_ps(d, t[0][q]);
                        _mm_storeu_ps(d + 8, q < 4 ? _mm256_castps256_ps128(u[q])
                                                   : _mm256_extractf128_ps(u[q - 4], 1));
                    }
                    continue;
                }
                for (int gi = 0; gi < ng; gi++) {
                    for (int q = 0; q < 8; q++) t[gi][q] = _mm256_loadu_ps(rp[gi * 8 + q] + (p - sb));
                    lp_tr8x8_ps(t[gi]);
                }
                for (int q = 0; q < 8; q++) {
                    float *d = dst + (ptrdiff_t)(p - p0 + q) * LD;
                    for (int gi = 0; gi < ng; gi++) {
                        int nl = rows - gi * 8;
                        if (nl >= 8) {
                            _mm256_storeu_ps(d + gi * 8, t[gi][q]);
                        } else {
#if defined(__AVX512VL__)
                            _mm256_mask_storeu_ps(d + gi * 8, (__mmask8)((1u << nl) - 1), t[gi][q]);
#else
                            _mm256_storeu_ps(d + gi * 8, t[gi][q]);
#endif
                        }
                    }
                }
            }
        }
        return;
    }
#endif
    for (int r = 0; r < rows; r++) {
        for (int p = p0; p < pend;) {
            const int s = p / c, sb = s * c;
            const int se = sb + c < pend ? sb + c : pend;
            const float *src = LPG(conv_seg)(g, x, r0 + r, s);
            for (; p < se; p++) dst[(ptrdiff_t)(p - p0) * LD + r] = src[p - sb];
        }
    }
    for (int r = rows; r < LD; r++)
        for (int pp = 0; pp < kc; pp++) dst[(ptrdiff_t)pp * LD + r] = 0.0f;
}

/* pack_rows of col^T: for the pixels (col rows) p0 .. p0+kc, the col
 * columns [i0, i0+cols) go to panels of LD floats, zero-padded. Each pixel's
 * column range is first gathered whole segments at a time (c % 8 == 0) into
 * a row buffer, then dealt into the panels with fixed-size copies. */
static void LPG(pack_conv_rows)(const lp_conv_geom *g, const float *x, int i0, int cols,
                                int p0, int kc, float *restrict dst, const int LD)
{
    const int c = g->c;
    const int np = (cols + LD - 1) / LD;
    const ptrdiff_t pstride = (ptrdiff_t)kc * LD;
    const int s0 = i0 / c, s1 = (i0 + cols - 1) / c;
    /* row[j] = col[pixel, s0*c + j] for the segments s0..s1, then zeros */
    _Alignas(64) float row[LPG_MC + 2 * LPG_CONV_MAXC + 64];
    const int off = i0 - s0 * c, span = (s1 - s0 + 1) * c;
    for (int j = span; j < off + np * LD; j++) row[j] = 0.0f;
    for (int p = 0; p < kc; p++) {
        for (int s = s0; s <= s1; s++) {
            const float *src = LPG(conv_seg)(g, x, p0 + p, s);
            float *rd = row + (s - s0) * c;
#if defined(__AVX2__)
            for (int j = 0; j < c; j += 8) _mm256_store_ps(rd + j, _mm256_loadu_ps(src + j));
#else
            for (int j = 0; j < c; j++) rd[j] = src[j];
#endif
        }
        if (off + cols < span)
            for (int j = off + cols; j < span; j++) row[j] = 0.0f;
        const float *rs = row + off;
        float *d = dst + (ptrdiff_t)p * LD;
        for (int q = 0; q < np; q++) {
            float *dq = d + q * pstride;
            const float *sq = rs + q * LD;
            for (int r = 0; r < LD; r++) dq[r] = sq[r];
        }
    }
}

/* Panels of op(A)[i0 : i0+mc, p0 : p0+kc], each [kc][MR]. */
static void LPG(pack_a)(int ta, const float *a, ptrdiff_t lda, int i0, int mc, int p0, int kc,
                        float *restrict ap, const lp_conv_geom *cg)
{
    if (cg) {
        if (ta) {
            LPG(pack_conv_rows)(cg, a, i0, mc, p0, kc, ap, LPG_MR);
            return;
        }
        for (int ir = 0; ir < mc; ir += LPG_MR) {
            int mr = mc - ir < LPG_MR ? mc - ir : LPG_MR;
            LPG(pack_conv_transpose)(cg, a, i0 + ir, mr, p0, kc, ap + (ptrdiff_t)ir * kc, LPG_MR);
        }
        return;
    }
    if (ta) {
        LPG(pack_rows)(a + (ptrdiff_t)p0 * lda + i0, lda, mc, kc, ap, LPG_MR);
        return;
    }
    for (int ir = 0; ir < mc; ir += LPG_MR) {
        int mr = mc - ir < LPG_MR ? mc - ir : LPG_MR;
        LPG(pack_transpose)(a + (ptrdiff_t)(i0 + ir) * lda + p0, lda, mr, kc,
                            ap + (ptrdiff_t)ir * kc, LPG_MR);
    }
}

/* Panels [q0, q1) of op(B)[p0 : p0+kc, j0 : j0+nc], each [kc][NR]. */
static void LPG(pack_b)(int tb, const float *b, ptrdiff_t ldb, int p0, int kc, int j0, int nc,
                        int q0, int q1, float *restrict bp)
{
    if (q0 >= q1) return;
    int c0 = q0 * LPG_NR, c1 = q1 * LPG_NR < nc ? q1 * LPG_NR : nc;
    float *d = bp + (ptrdiff_t)q0 * kc * LPG_NR;
    if (!tb) {
        LPG(pack_rows)(b + (ptrdiff_t)p0 * ldb + j0 + c0, ldb, c1 - c0, kc, d, LPG_NR);
        return;
    }
    for (int q = q0; q < q1; q++) {
        int nr = nc - q * LPG_NR < LPG_NR ? nc - q * LPG_NR : LPG_NR;
        LPG(pack_transpose)(b + (ptrdiff_t)(j0 + q * LPG_NR) * ldb + p0, ldb, nr, kc,
                            bp + (ptrdiff_t)q * kc * LPG_NR, LPG_NR);
    }
}

/* C = beta * C (beta == 0: zeros, whatever C held). */
static void LPG(scale_c)(int m, int n, float beta, float *c, ptrdiff_t ldc)
{
#pragma omp parallel for schedule(static) if ((double)m * n > 262144.0)
    for (int i = 0; i < m; i++) {
        float *r = c + (ptrdiff_t)i * ldc;
        if (beta == 0.0f)
            memset(r, 0, sizeof(float) * (size_t)n);
        else
            for (int j = 0; j < n; j++) r[j] = beta * r[j];
    }
}

/* The thread grid tm x tn (tm * tn == nt) balancing MR x NR tiles. */
static void LPG(grid)(int nt, int pm, int pn, int *tm, int *tn)
{
    long best = -1;
    *tm = nt;
    *tn = 1;
    for (int d = nt; d >= 1; d--) {
        if (nt % d) continue;
        int e = nt / d;
        long cost = (long)((pm + d - 1) / d) * ((pn + e - 1) / e);
        if (best < 0 || cost < best) {
            best = cost;
            *tm = d;
            *tn = e;
        }
    }
}

/* Shape-only choices (never the thread count: they fix the k blocking and
 * so the bits of the result). Skinny C (n <= LPG_SKINNY_N) runs in "fused"
 * order: each MR-row panel of op(A) is packed right before the NR panels
 * that use it, so that reading A from memory overlaps the arithmetic and
 * long k blocks (LPG_KC_SKINNY) stream whole rows. */
#ifndef LPG_KC_SKINNY
#define LPG_KC_SKINNY 576
#endif
#ifndef LPG_SKINNY_N
#define LPG_SKINNY_N (8 * LPG_NR)
#endif
_Static_assert((size_t)LPG_KC_SKINNY * LPG_SKINNY_N <= (size_t)LPG_KC * LPG_NC,
               "skinny B block must fit the B buffer");
_Static_assert((size_t)LPG_KC_SKINNY * LPG_MR <= (size_t)LPG_KC * LPG_MC,
               "skinny A panel must fit the A buffer");

/* k blocks of (nearly) equal size, a multiple of 8 except the last. */
static inline int LPG(kc_block)(int k, int kcmax)
{
    int nb = (k + kcmax - 1) / kcmax;
    int kc = (k + nb - 1) / nb;
    return (kc + 7) & ~7;
}

static inline void LPG(tile)(int kc, const float *pa, const float *pb, float *cp, ptrdiff_t ldc,
                             int mr, int nr, float alpha, float beff)
{
    if (mr == LPG_MR && nr == LPG_NR) {
        LPG_UKERNEL(kc, pa, pb, cp, ldc, alpha, beff);
        return;
    }
    _Alignas(64) float t[LPG_MR * LPG_NR];
    LPG_UKERNEL(kc, pa, pb, t, LPG_NR, 1.0f, 0.0f);
    for (int i = 0; i < mr; i++) {
        float *cr = cp + (ptrdiff_t)i * ldc;
        const float *tr = t + i * LPG_NR;
        if (beff == 0.0f)
            for (int jj = 0; jj < nr; jj++) cr[jj] = alpha * tr[jj];
        else
            for (int jj = 0; jj < nr; jj++) cr[jj] = fmaf(alpha, tr[jj], beff * cr[jj]);
    }
}

/* C = alpha * op(A)[:, k0:k] op(B)[k0:k, :] + beta * C on a team of nt
 * threads (this one is tid). */
static void LPG(run)(int ta, int tb, int m, int n, int k0, int k, float alpha, const float *a,
                     ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c,
                     ptrdiff_t ldc, float *bbuf, int nt, int tid, const lp_conv_geom *cg)
{
    float *abuf = LPG_ABUF;
    const int skinny = n <= LPG_SKINNY_N && !ta; /* fused order: op(A) = A only */
    const int kcb = LPG(kc_block)(k - k0, skinny ? LPG_KC_SKINNY : LPG_KC);
    const int pm = (m + LPG_MR - 1) / LPG_MR;
    const int pn_max = ((n < LPG_NC ? n : LPG_NC) + LPG_NR - 1) / LPG_NR;
    int tm, tn;
    LPG(grid)(nt, pm, pn_max, &tm, &tn);
    const int tim = tid / tn, tjn = tid % tn;
    const int m0 = (int)((long)pm * tim / tm) * LPG_MR;
    int m1 = (int)((long)pm * (tim + 1) / tm) * LPG_MR;
    if (m1 > m) m1 = m;

    for (int jc = 0; jc < n; jc += LPG_NC) {
        const int nc = n - jc < LPG_NC ? n - jc : LPG_NC;
        const int pn = (nc + LPG_NR - 1) / LPG_NR;
        const int q0 = (int)((long)pn * tjn / tn), q1 = (int)((long)pn * (tjn + 1) / tn);
        for (int pc = k0; pc < k; pc += kcb) {
            const int kc = k - pc < kcb ? k - pc : kcb;
            /* the team packs the B block: panels split evenly */
            LPG(pack_b)(tb, b, ldb, pc, kc, jc, nc, (int)((long)pn * tid / nt),
                        (int)((long)pn * (tid + 1) / nt), bbuf);
            if (nt > 1) {
#pragma omp barrier
            }
            const float beff = pc == k0 ? beta : 1.0f;
            if (skinny) {
                for (int i = m0; i < m1; i += LPG_MR) {
                    const int mr = m1 - i < LPG_MR ? m1 - i : LPG_MR;
                    LPG(pack_a)(ta, a, lda, i, mr, pc, kc, abuf, cg);
                    for (int q = q0; q < q1; q++) {
                        const int j = jc + q * LPG_NR;
                        const int nr = n - j < LPG_NR ? n - j : LPG_NR;
                        LPG(tile)(kc, abuf, bbuf + (ptrdiff_t)q * kc * LPG_NR,
                                  c + (ptrdiff_t)i * ldc + j, ldc, mr, nr, alpha, beff);
                    }
                }
            } else {
                for (int ic = m0; ic < m1; ic += LPG_MC) {
                    const int mc = m1 - ic < LPG_MC ? m1 - ic : LPG_MC;
                    LPG(pack_a)(ta, a, lda, ic, mc, pc, kc, abuf, cg);
                    for (int q = q0; q < q1; q++) {
                        const int j = jc + q * LPG_NR;
                        const int nr = n - j < LPG_NR ? n - j : LPG_NR;
                        const float *pb = bbuf + (ptrdiff_t)q * kc * LPG_NR;
                        for (int ir = 0; ir < mc; ir += LPG_MR) {
                            const int mr = mc - ir < LPG_MR ? mc - ir : LPG_MR;
                            LPG(tile)(kc, abuf + (ptrdiff_t)ir * kc, pb,
                                      c + (ptrdiff_t)(ic + ir) * ldc + j, ldc, mr, nr, alpha,
                                      beff);
                        }
                    }
                }
            }
            if (nt > 1) {
#pragma omp barrier
            }
        }
    }
}

/* Work below this many flops per extra thread stays on one thread. */
#ifndef LPG_FLOPS_PER_THREAD
#define LPG_FLOPS_PER_THREAD 2.0e6
#endif

static void LPG(gemm_src)(int trans_a, int trans_b, int m, int n, int k, float alpha,
                          const float *a, int lda, const float *b, int ldb, float beta, float *c,
                          int ldc, const lp_conv_geom *cg)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {
        LPG(scale_c)(m, n, beta, c, ldc);
        return;
    }
    double flops = 2.0 * m * n * (double)k;
    /* all threads from two threads' worth of flops (one or all:
     * kernels/common/omp_team.h) */
    const int nt = lp_omp_team(flops >= 2.0 * LPG_FLOPS_PER_THREAD ? 2 : 1);
    float *bbuf = LPG_BBUF; /* the calling thread's: shared with its team */
    if (nt == 1) {
        LPG(run)(trans_a, trans_b, m, n, 0, k, alpha, a, lda, b, ldb, beta, c, ldc, bbuf, 1, 0, cg);
        return;
    }
#pragma omp parallel num_threads(nt)
    LPG(run)(trans_a, trans_b, m, n, 0, k, alpha, a, lda, b, ldb, beta, c, ldc, bbuf,
             omp_get_num_threads(), omp_get_thread_num(), cg);
}

void LPG(gemm)(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    LPG(gemm_src)(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL);
}

/* k-split for small C and long k (a convolution's weight gradient: m x n =
 * kh*kw*c x oc, k = the batch's output pixels). Splitting C's few tiles
 * between threads would put two barriers on every k block (a k block of a
 * 288 x 32 product is ~5 MFLOP, a sleeping-thread barrier ~10 us); instead
 * k is cut into chunks of LPG(ksplit_rows) (from the shape only), each
 * chunk's product goes single-threaded and barrier-free into its own slice
 * of `part`, the threads taking chunks in turn, and then
 *     C = alpha * (part_0 + part_1 + ... in chunk order) + beta * C.
 * The result is bitwise the same for any thread count (not the same bits
 * as the unsplit product: the k sum is grouped by chunks). */
static inline int LPG(ksplit_rows)(int m, int n, int k)
{
    if (k < 2048 || (double)m * n > 262144.0) return 0;
    int rows = (k + 63) / 64;
    if (rows < 1024) rows = 1024;
    /* A small C (m <= 64: a 1x1 layer's few channels) is one work item per
     * chunk, so few chunks leave threads idle: 1024-row chunks cut an 8x8
     * layer's 3200 pixels (batch 50) into 4, and two threads took 2048 and
     * 1152 rows (resnet50's 16x16x32-64 1x1 stride-2 weight gradient:
     * 1.55x from 1 to 2 threads, oneDNN 1.92x). Those get 8 chunks of at
     * least 256 rows. Larger C splits each chunk into many items already,
     * and smaller chunks only cost there (13-16 chunks instead of 4-13:
     * 2-6% slower on 2 threads). */
    if (m <= 64 && k / rows < 8) {
        const int r8 = (k + 7) / 8;
        rows = r8 < 256 ? 256 : r8;
    }
    return (rows + 7) & ~7;
}

/* Floats of `part` the k-split of this shape needs (0: it does not split). */
static inline size_t LPG(ksplit_floats_)(int m, int n, int k)
{
    int rows = LPG(ksplit_rows)(m, n, k);
    if (!rows) return 0;
    return (size_t)((k + rows - 1) / rows) * (size_t)m * (size_t)n;
}

/* C = alpha * op(A) op(B) + beta * C through the k-split; 0 (nothing done)
 * when the shape does not split. */
static inline int LPG(gemm_ksplit)(int ta, int tb, int m, int n, int k, float alpha, const float *a,
                            int lda, const float *b, int ldb, float beta, float *c, int ldc,
                            const lp_conv_geom *cg, float *part)
{
    const int rows = LPG(ksplit_rows)(m, n, k);
    if (!rows || m <= 0 || n <= 0 || alpha == 0.0f) return 0;
    const int nch = (k + rows - 1) / rows;
    const size_t mn = (size_t)m * n;
    const int nt = lp_omp_team(nch); /* threads beyond nch take no chunk */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int ch = 0; ch < nch; ch++) {
        const int k0 = ch * rows, k1 = k - k0 < rows ? k : k0 + rows;
        /* LPG_BBUF is thread-local: each thread packs into its own */
        LPG(run)(ta, tb, m, n, k0, k1, 1.0f, a, lda, b, ldb, 0.0f, part + (size_t)ch * mn, n,
                 LPG_BBUF, 1, 0, cg);
    }
    lpk_ksplit_reduce(m, n, nch, part, alpha, beta, c, ldc, nt);
    return 1;
}

/* The convolution of kernels/scalar/conv.c with im2col fused into packing
 * (bitwise the same results). fwd: y = col @ w; bwd_weights: dw = col^T @ dy.
 * Return 0 when the geometry does not qualify (nothing done). */
#ifdef LPG_CONV_API
int LPG(conv_fwd_fused)(const lp_conv_geom *g, const float *x, const float *w, float *y)
{
    if (!LPG(conv_ok)(g)) return 0;
    int m = g->n * g->oh * g->ow, kk = g->kh * g->kw * g->c;
    LPG(gemm_src)(0, 0, m, g->oc, kk, 1.0f, x, kk, w, g->oc, 0.0f, y, g->oc, g);
    return 1;
}

/* dw = col^T @ dy; part (LPG(ksplit_floats)(kk, oc, pixels) floats) is
 * the k-split's scratch. */
int LPG(conv_bwd_weights_fused)(const lp_conv_geom *g, const float *x, const float *dy, float *dw,
                                float *part)
{
    if (!LPG(conv_ok)(g)) return 0;
    int m = g->n * g->oh * g->ow, kk = g->kh * g->kw * g->c;
    if (!LPG(gemm_ksplit)(1, 0, kk, g->oc, m, 1.0f, x, kk, dy, g->oc, 0.0f, dw, g->oc, g, part))
        LPG(gemm_src)(1, 0, kk, g->oc, m, 1.0f, x, kk, dy, g->oc, 0.0f, dw, g->oc, g);
    return 1;
}

/* dw = col^T @ dy with col already in memory ([pixels, kk], e.g. an
 * im2col buffer or a pointwise conv's input), through the k-split when the
 * shape splits. */
void LPG(conv_bwd_weights_col)(const lp_conv_geom *g, const float *col, const float *dy, float *dw,
                               float *part)
{
    int m = g->n * g->oh * g->ow, kk = g->kh * g->kw * g->c;
    if (!LPG(gemm_ksplit)(1, 0, kk, g->oc, m, 1.0f, col, kk, dy, g->oc, 0.0f, dw, g->oc, NULL, part))
        LPG(gemm_src)(1, 0, kk, g->oc, m, 1.0f, col, kk, dy, g->oc, 0.0f, dw, g->oc, NULL);
}
#endif

#undef LPG_ABUF
#undef LPG_BBUF
#undef LPG
#undef LPG_CAT_
#undef LPG_CAT2_
