/* AVX-512 convolution weight gradient, direct (no im2col, no packing):
 *
 *   dw[t][ci][o] = sum over output pixels p of x[tap t of p][ci] * dy[p][o]
 *
 * A tile is 12 (or 8, 4) consecutive input channels of one tap x 32 (16)
 * output channels in 24 (12) zmm accumulators; it streams the pixels: per
 * pixel one or two loads of dy's row and 24 FMAs broadcasting from the
 * tap's input row (contiguous channels: one pointer). Pixels whose tap lies
 * in the padding are skipped. Channel counts that are not a multiple
 * of 4 (input layers: 1 or 3) gather each pixel's 12 values of a tile (all
 * taps of the window) into a small buffer first.
 *
 * Parallel and deterministic as the GEMM's k-split (kernels/common/
 * gemm_driver.h, lp_avx2_conv_ksplit_rows): the pixels are cut into chunks from
 * the shape only; each chunk's gradient goes to its own slice of `part`
 * (work items: chunk x tap x block of 48 channels, any thread), then
 * dw = part_0 + part_1 + ... in chunk order. One chunk writes dw directly. */
#include "kernels/avx2/avx2.h"
#include "kernels/avx512/avx512.h"
#include "kernels/avx512/conv_util.h"
#include "kernels/common/ksplit_reduce.h"

#include <immintrin.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

/* GCC -O3 would carry the broadcast scalars of a pixel over to the next
 * pixel through the stack (predictive commoning: with a step of c floats
 * the rows overlap), which costs more than it saves: conv13's input-layer
 * weight gradient took 2.0 ms on one thread with it, 1.8 without. */
#pragma GCC optimize("no-predictive-commoning")

#define MAX_TAPS 64
#define MAX_C 4096
#define MAX_ROWS 4096 /* pixels per chunk (pointer array on the stack) */
#define CB 48         /* channels per work item */
#define PASS 256      /* pixels per pass: dy's rows of a pass stay in L1 */


/* acc[r][:] = (more ? out[r*ldo + :] : 0) + sum over the pixels p of the
 * runs of x_p[off + r] * dy[p*ldy + :] (one FMA chain per element, pixels
 * in order), out[r*ldo + :] = acc[r] for the first `rows` rows. Passing
 * the accumulators through `out` between passes leaves every chain as it
 * was. A run is `count` pixels whose rows x_p start at p0 and advance by
 * `step` floats: a tap's input row along an output row (step sw*c) or a
 * buffer of gathered windows (step: the window's size); no pointer per
 * pixel. A run with p0 NULL is pixels whose tap lies in the padding: they
 * add nothing and are skipped (they were FMAs on a row of zeros: 31% of
 * a 4x4 'same' layer's, 56% of a 2x2 one's). */
typedef struct {
    const float *p0;
    int step, count;
} wd_run;

#define WD_KERNEL(NAME, R, NV)                                                                   \
    static void NAME(int nrun, const wd_run *run, int off, const float *dy, ptrdiff_t ldy,      \
                     __mmask16 m0, __mmask16 m1, float *out, ptrdiff_t ldo, int rows, int more)  \
    {                                                                                            \
        __m512 a0[R], a1[R];                                                                     \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                                     \
        {                                                                                        \
            a0[r] = more && r < rows ? _mm512_maskz_loadu_ps(m0, out + r * ldo)                  \
                                     : _mm512_setzero_ps();                                      \
            a1[r] = more && r < rows && NV == 2 ? _mm512_maskz_loadu_ps(m1, out + r * ldo + 16)  \
                                                : _mm512_setzero_ps();                           \
        }                                                                                        \
        for (int u = 0; u < nrun; u++) {                                                         \
            if (!run[u].p0) { /* taps in the padding: nothing to add */                         \
                dy += run[u].count * ldy;                                                        \
                continue;                                                                        \
            }                                                                                    \
            const float *xp = run[u].p0 + off;                                                   \
            const ptrdiff_t st = run[u].step;                                                    \
            for (int q = run[u].count; q > 0; q--) {                                             \
                const __m512 b0 = _mm512_maskz_loadu_ps(m0, dy);                                 \
                const __m512 b1 = NV == 2 ? _mm512_maskz_loadu_ps(m1, dy + 16) : b0;             \
                dy += ldy;                                                                       \
                _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                             \
                {                                                                                \
                    LPC_FMA_BCAST(a0[r], b0, xp[r]);                                             \
                    if (NV == 2) LPC_FMA_BCAST(a1[r], b1, xp[r]);                                \
                }                                                                                \
                xp += st;                                                                        \
            }                                                                                    \
        }                                                                                        \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                                     \
        {                                                                                        \
            if (r < rows) {                                                                      \
                _mm512_mask_storeu_ps(out + r * ldo, m0, a0[r]);                                 \
                if (NV == 2) _mm512_mask_storeu_ps(out + r * ldo + 16, m1, a1[r]);               \
            }                                                                                    \
        }                                                                                        \
    }
WD_KERNEL(wd_12x32, 12, 2)
WD_KERNEL(wd_8x32, 8, 2)
WD_KERNEL(wd_4x32, 4, 2)
WD_KERNEL(wd_16x16, 16, 1)
WD_KERNEL(wd_12x16, 12, 1)
WD_KERNEL(wd_8x16, 8, 1)
WD_KERNEL(wd_4x16, 4, 1)
#undef WD_KERNEL

typedef void (*wd_fn)(int, const wd_run *, int, const float *, ptrdiff_t, __mmask16, __mmask16,
                      float *, ptrdiff_t, int, int);

/* Rows [0, nr) (nr <= 16; 16 only with oc <= 16) of the tap's channels
 * from `off`, all output-channel tiles, over the runs; `more`: add to dst.
 * The kernel's R rounds nr up to 4, 8, 12 or 16: the rows must be readable
 * that far (channel counts multiple of 4, buffers padded). */
static void wd_tile_row(int nrun, const wd_run *run, int off, const float *dy, int oc, float *dst,
                        int nr, int more)
{
    for (int o0 = 0; o0 < oc; o0 += 32) {
        const int nc = oc - o0 < 32 ? oc - o0 : 32;
        wd_fn f = nc > 16 ? (nr > 8 ? wd_12x32 : nr > 4 ? wd_8x32 : wd_4x32)
                          : (nr > 12 ? wd_16x16 : nr > 8 ? wd_12x16 : nr > 4 ? wd_8x16 : wd_4x16);
        f(nrun, run, off, dy + o0, oc, nc > 16 ? 0xffff : lpc_mask(nc), nc > 16 ? lpc_mask(nc - 16) : 0,
          dst + o0, oc, nr, more);
    }
}

/* (n, oy, ox) of output pixel p. */
static inline void pixel_of(const lp_conv_geom *g, int p, int *n, int *oy, int *ox)
{
    const int ohw = g->oh * g->ow;
    *n = p / ohw;
    *oy = (p - *n * ohw) / g->ow;
    *ox = p - *n * ohw - *oy * g->ow;
}

/* (n, oy, ox) advanced by len pixels (len <= ow - ox: at most to the end
 * of the output row). */
static inline void end_of_row(const lp_conv_geom *g, int len, int *n, int *oy, int *ox)
{
    *ox += len;
    if (*ox == g->ow) {
        *ox = 0;
        if (++*oy == g->oh) {
            *oy = 0;
            ++*n;
        }
    }
}

static inline void next_pixel(const lp_conv_geom *g, int *n, int *oy, int *ox)
{
    end_of_row(g, 1, n, oy, ox);
}

/* Runs of the pixels [p, p + np) (starting at (n, oy, ox)) for tap (i, j):
 * per output row, the pixels whose tap lies inside the image form one run
 * (step sw*c), those in the padding one run each side (p0 NULL: skipped). */
static int tap_runs(const lp_conv_geom *g, const float *x, int i, int j, int np, int n, int oy,
                    int ox, wd_run *run)
{
    const int c = g->c;
    /* output columns whose tap column ix = ox*sw - pad + j lies in [0, w) */
    const int jj = j - g->pad_left;
    const int lo = jj >= 0 ? 0 : (-jj + g->sw - 1) / g->sw;
    const int hi = g->w - 1 - jj >= 0 ? (g->w - 1 - jj) / g->sw : -1;
    int nrun = 0;
    while (np > 0) {
        const int len = g->ow - ox < np ? g->ow - ox : np;
        const int iy = oy * g->sh - g->pad_top + i;
        int a = ox, e = ox + len; /* [a, e): this row's pixels */
        int ilo = lo > a ? lo : a, ihi = hi + 1 < e ? hi + 1 : e;
        if (iy < 0 || iy >= g->h || ihi <= ilo) ilo = ihi = e;
        if (ilo > a) run[nrun++] = (wd_run){NULL, 0, ilo - a};
        if (ihi > ilo)
            run[nrun++] = (wd_run){x + (((size_t)n * g->h + iy) * g->w + (ilo * g->sw + jj)) * c,
                                   g->sw * c, ihi - ilo};
        if (e > ihi) run[nrun++] = (wd_run){NULL, 0, e - ihi};
        np -= len;
        end_of_row(g, len, &n, &oy, &ox);
    }
    return nrun;
}

/* Channels multiple of 4: item = (chunk, tap, block of CB channels), PASS
 * pixels at a time, each pass's pixels as runs (tap_runs). */
static void item_direct(const lp_conv_geom *g, const float *x, const float *dy, float *dst, int p0,
                        int np, int t, int cb)
{
    const int c = g->c, oc = g->oc, i = t / g->kw, j = t - i * g->kw;
    wd_run run[3 * PASS + 3];
    const int c0 = cb * CB, c1 = (cb + 1) * CB < c ? (cb + 1) * CB : c;
    for (int q0 = 0; q0 < np; q0 += PASS) {
        const int nq = np - q0 < PASS ? np - q0 : PASS;
        int n, oy, ox;
        pixel_of(g, p0 + q0, &n, &oy, &ox);
        const int nrun = tap_runs(g, x, i, j, nq, n, oy, ox, run);
        const float *d = dy + (size_t)(p0 + q0) * oc;
        if (c1 - c0 == 16 && oc <= 16) { /* one 16x16 tile instead of 12 + 4 rows */
            wd_tile_row(nrun, run, c0, d, oc, dst + ((size_t)t * c + c0) * oc, 16, q0 > 0);
            continue;
        }
        for (int ci0 = c0; ci0 < c1; ci0 += 12)
            wd_tile_row(nrun, run, ci0, d, oc, dst + ((size_t)t * c + ci0) * oc,
                        c1 - ci0 < 12 ? c1 - ci0 : 12, q0 > 0);
    }
}

/* Other channel counts: item = (chunk, 12 rows e0.. of the kk index), each
 * pixel's 12 values gathered first (zeros past kk and in the padding). */
static void item_gather(const lp_conv_geom *g, const float *x, const float *dy, float *dst, int p0,
                        int np, int e0)
{
    const int c = g->c, oc = g->oc, kk = g->kh * g->kw * c;
    const int nr = kk - e0 < 12 ? kk - e0 : 12;
    _Alignas(64) float buf[MAX_ROWS / 4 * 12 + 16];
    int ri[12], rj[12], rci[12];
    for (int r = 0; r < nr; r++) {
        const int e = e0 + r, t = e / c;
        rci[r] = e - t * c;
        ri[r] = t / g->kw;
        rj[r] = t - ri[r] * g->kw;
    }
    /* offsets of the 12 values from the window's corner (lanes past nr
     * read the corner again and are zeroed by the mask) */
    int offs[16] = {0};
    for (int r = 0; r < nr; r++) offs[r] = (ri[r] * g->w + rj[r]) * c + rci[r];
    const __m512i voff = _mm512_loadu_si512(offs);
    const __mmask16 vm = lpc_mask(nr);
    int n, oy, ox;
    pixel_of(g, p0, &n, &oy, &ox);
    for (int p = 0; p < np; p++) {
        float *b = buf + (size_t)p * 12;
        const int iy0 = oy * g->sh - g->pad_top, ix0 = ox * g->sw - g->pad_left;
        const float *img = x + (size_t)n * g->h * g->w * c;
        if (iy0 >= 0 && iy0 + g->kh <= g->h && ix0 >= 0 && ix0 + g->kw <= g->w) {
            /* the whole window inside the image: one gather (the store's
             * lanes 12-15 land in the next pixel's slot or the slack) */
            const float *corner = img + ((size_t)iy0 * g->w + ix0) * c;
            _mm512_storeu_ps(b, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), vm, voff, corner, 4));
            next_pixel(g, &n, &oy, &ox);
            continue;
        }
        for (int r = 0; r < 12; r++) {
            float v = 0.0f;
            if (r < nr) {
                const int iy = iy0 + ri[r], ix = ix0 + rj[r];
                if (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w)
                    v = img[((size_t)iy * g->w + ix) * c + rci[r]];
            }
            b[r] = v;
        }
        next_pixel(g, &n, &oy, &ox);
    }
    for (int q0 = 0; q0 < np; q0 += PASS) {
        const int nq = np - q0 < PASS ? np - q0 : PASS;
        const wd_run run = {buf + (size_t)q0 * 12, 12, nq};
        wd_tile_row(1, &run, 0, dy + (size_t)(p0 + q0) * oc, oc, dst + (size_t)e0 * oc, nr, q0 > 0);
    }
}

/* Small windows (kk <= WIN_MAXKK: 1 or 3 channels, up to 5x5): item =
 * a chunk; PASS pixels at a time, each pixel's whole window is gathered
 * once (a window row of kw*c <= 16 floats is one masked load) into a
 * [PASS][kkp] block that every 12-row tile of the kk index then reads. */
#define WIN_MAXKK 32
static void item_window(const lp_conv_geom *g, const float *x, const float *dy, float *dst, int p0,
                        int np)
{
    const int c = g->c, oc = g->oc, kk = g->kh * g->kw * c, span = g->kw * c;
    const int kkp = (kk + 3) & ~3; /* the 4-row tail tile reads up to here */
    const __mmask16 sm = lpc_mask(span);
    _Alignas(64) float buf[PASS * WIN_MAXKK + 16];
    for (int q0 = 0; q0 < np; q0 += PASS) {
        const int nq = np - q0 < PASS ? np - q0 : PASS;
        int n, oy, ox;
        pixel_of(g, p0 + q0, &n, &oy, &ox);
        for (int q = 0; q < nq; q++) {
            float *b = buf + (size_t)q * kkp;
            for (int e = kk; e < kkp; e++) b[e] = 0.0f;
            const int iy0 = oy * g->sh - g->pad_top, ix0 = ox * g->sw - g->pad_left;
            const float *img = x + (size_t)n * g->h * g->w * c;
            if (iy0 >= 0 && iy0 + g->kh <= g->h && ix0 >= 0 && ix0 + g->kw <= g->w) {
                const float *corner = img + ((size_t)iy0 * g->w + ix0) * c;
                for (int i = 0; i < g->kh; i++)
                    _mm512_mask_storeu_ps(b + i * span, sm,
                                          _mm512_maskz_loadu_ps(sm, corner + (size_t)i * g->w * c));
            } else {
                for (int i = 0, e = 0; i < g->kh; i++)
                    for (int j = 0; j < g->kw; j++) {
                        const int iy = iy0 + i, ix = ix0 + j;
                        const int in = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w;
                        for (int ci = 0; ci < c; ci++, e++)
                            b[e] = in ? img[((size_t)iy * g->w + ix) * c + ci] : 0.0f;
                    }
            }
            next_pixel(g, &n, &oy, &ox);
        }
        const wd_run run = {buf, kkp, nq};
        for (int e0 = 0; e0 < kk; e0 += 12)
            wd_tile_row(1, &run, e0, dy + (size_t)(p0 + q0) * oc, oc, dst + (size_t)e0 * oc,
                        kk - e0 < 12 ? kk - e0 : 12, q0 > 0);
    }
}

/* Input layers with 3x3 windows of short rows (kw*c = 3 or 9 floats: 1 or
 * 3 channels): the kk index runs window row by window row (e = i*span +
 * jc), and a window row is `span` contiguous floats of x. The pixels of a
 * pass are cut into runs: a stretch of one output row whose windows lie
 * inside the image is one run of three row pointers that advance by
 * sw*c floats per pixel (nothing copied); pixels whose window touches the
 * padding are gathered into a buffer (zeros there), consecutive ones
 * forming one run that advances by kk. A tile holds all KR*SPAN rows of
 * the kk index it covers in zmm accumulators (27 or 18) across all the
 * runs of a pass: per pixel one or two loads of dy's row (prefetched 32
 * pixels ahead: 16 left conv13's 32x32x3 layer 7% slower) and KR*SPAN
 * FMAs per dy vector, each broadcasting its window value from memory.
 * Each element is still one FMA chain over the pixels in order. */
typedef struct {
    const float *p[3]; /* window rows 0..2 of the run's first pixel */
    int step;          /* floats from one pixel's rows to the next's */
    int count;         /* pixels */
} wg_run;

#define WGR_KERNEL(NAME, KR, SPAN, NV)                                                           \
    static void NAME(int nrun, const wg_run *run, int i0, const float *dy, ptrdiff_t ldy,      \
                     __mmask16 m0, __mmask16 m1, float *out, ptrdiff_t ldo, int more)           \
    {                                                                                            \
        __m512 a0[KR * SPAN], a1[KR * SPAN];                                                     \
        _Pragma("GCC unroll 27") for (int r = 0; r < KR * SPAN; r++)                             \
        {                                                                                        \
            a0[r] = more ? _mm512_maskz_loadu_ps(m0, out + r * ldo) : _mm512_setzero_ps();       \
            a1[r] = more && NV == 2 ? _mm512_maskz_loadu_ps(m1, out + r * ldo + 16)              \
                                    : _mm512_setzero_ps();                                       \
        }                                                                                        \
        for (int u = 0; u < nrun; u++) {                                                         \
            const float *x0 = run[u].p[i0], *x1 = run[u].p[KR > 1 ? i0 + 1 : i0];                 \
            const float *x2 = run[u].p[KR > 2 ? i0 + 2 : i0];                                    \
            const ptrdiff_t st = run[u].step;                                                    \
            for (int q = run[u].count; q > 0; q--) {                                             \
                const __m512 b0 = _mm512_maskz_loadu_ps(m0, dy);                                 \
                const __m512 b1 = NV == 2 ? _mm512_maskz_loadu_ps(m1, dy + 16) : b0;             \
                _mm_prefetch((const char *)(dy + 32 * ldy), _MM_HINT_T0);                         \
                if (NV == 2) _mm_prefetch((const char *)(dy + 32 * ldy + 16), _MM_HINT_T0);       \
                dy += ldy;                                                                       \
                _Pragma("GCC unroll 3") for (int k = 0; k < KR; k++)                             \
                {                                                                                \
                    const float *xp = k == 0 ? x0 : k == 1 ? x1 : x2;                            \
                    _Pragma("GCC unroll 9") for (int s = 0; s < SPAN; s++)                       \
                    {                                                                            \
                        LPC_FMA_BCAST(a0[k * SPAN + s], b0, xp[s]);                              \
                        if (NV == 2) LPC_FMA_BCAST(a1[k * SPAN + s], b1, xp[s]);                 \
                    }                                                                            \
                }                                                                                \
                x0 += st;                                                                        \
                x1 += st;                                                                        \
                x2 += st;                                                                        \
            }                                                                                    \
        }                                                                                        \
        _Pragma("GCC unroll 27") for (int r = 0; r < KR * SPAN; r++)                             \
        {                                                                                        \
            _mm512_mask_storeu_ps(out + r * ldo, m0, a0[r]);                                     \
            if (NV == 2) _mm512_mask_storeu_ps(out + r * ldo + 16, m1, a1[r]);                   \
        }                                                                                        \
    }
WGR_KERNEL(wgr_3x3x32, 3, 3, 2)
WGR_KERNEL(wgr_3x3x16, 3, 3, 1)
WGR_KERNEL(wgr_1x9x32, 1, 9, 2)
WGR_KERNEL(wgr_3x9x16, 3, 9, 1)
#undef WGR_KERNEL

static int rows_shape(const lp_conv_geom *g)
{
    return g->kh == 3 && g->kw == 3 && (g->c == 1 || g->c == 3);
}

/* Cuts pixels [p, p + np) (starting at (n, oy, ox)) into runs; border
 * pixels' windows go to buf (kk floats each). Returns the number of runs
 * (at most 3 per output row touched, plus one). */
static int make_runs(const lp_conv_geom *g, const float *x, int np, int n, int oy, int ox,
                     wg_run *run, float *buf)
{
    const int c = g->c, kh = g->kh, kw = g->kw, span = kw * c, kk = kh * span;
    const ptrdiff_t rs = (ptrdiff_t)g->w * c;
    /* output columns whose windows lie inside the image horizontally */
    const int oxl = (g->pad_left + g->sw - 1) / g->sw;
    const int oxh = g->w - kw + g->pad_left >= 0 ? (g->w - kw + g->pad_left) / g->sw : -1;
    int nrun = 0, gathered = 0;
    wg_run *open = NULL; /* the gathered run being extended */
    while (np > 0) {
        const int len = g->ow - ox < np ? g->ow - ox : np; /* pixels left in this output row */
        const int iy0 = oy * g->sh - g->pad_top;
        const float *img = x + (size_t)n * g->h * g->w * c;
        const int vin = iy0 >= 0 && iy0 + kh <= g->h;
        int lo = vin ? (oxl > ox ? oxl : ox) : ox + len, hi = vin ? (oxh < ox + len - 1 ? oxh : ox + len - 1) : ox - 1;
        if (hi < lo) lo = hi = -1;
        for (int k = 0; k < len; k++) {
            const int cx = ox + k;
            if (lo >= 0 && cx == lo) { /* the interior stretch: one run */
                const float *corner = img + ((ptrdiff_t)iy0 * g->w + (cx * g->sw - g->pad_left)) * c;
                wg_run *r = &run[nrun++];
                for (int i = 0; i < 3; i++) r->p[i] = corner + (i < kh ? i : 0) * rs;
                r->step = g->sw * c;
                r->count = hi - lo + 1;
                k += hi - lo;
                open = NULL;
                continue;
            }
            float *b = buf + (size_t)gathered++ * kk;
            lpc_window(img, g->h, g->w, c, kh, kw, iy0, cx * g->sw - g->pad_left, b);
            if (open) {
                open->count++;
            } else {
                open = &run[nrun++];
                for (int i = 0; i < 3; i++) open->p[i] = b + (i < kh ? i : 0) * span;
                open->step = kk;
                open->count = 1;
            }
        }
        np -= len;
        end_of_row(g, len, &n, &oy, &ox);
    }
    return nrun;
}

/* Pixels [p, p + np) of image n (starting at (oy, ox)) as runs over the
 * image's frame fr (conv_util.h): one run per output row, every window
 * inside the frame. Returns the number of runs. */
static int frame_runs(const lp_conv_geom *g, const lpc_frame *f, const float *fr, int np, int oy,
                      int ox, wg_run *run)
{
    const int c = g->c;
    int nrun = 0, n = 0;
    while (np > 0) {
        const int len = g->ow - ox < np ? g->ow - ox : np;
        wg_run *r = &run[nrun++];
        const float *corner = fr + ((size_t)oy * g->sh * f->wp + (size_t)ox * g->sw) * c;
        for (int i = 0; i < 3; i++) r->p[i] = corner + (size_t)(i < g->kh ? i : 0) * f->wp * c;
        r->step = g->sw * c;
        r->count = len;
        np -= len;
        end_of_row(g, len, &n, &oy, &ox);
    }
    return nrun;
}

/* item = a chunk of pixels (rows_shape only), PASS pixels at a time. When
 * some windows reach into the padding and an image's frame fits on the
 * stack, the pixels run over the frame (one run per output row; a pass
 * stops at the end of an image); otherwise over x, the border pixels'
 * windows gathered (make_runs). With the frame resnet50's
 * input layer (32x32x3, 'same': 12% border pixels) took 0.41 ms, not
 * 0.45, on one thread. */
static void item_rows(const lp_conv_geom *g, const float *x, const float *dy, float *dst, int p0,
                      int np)
{
    const int c = g->c, oc = g->oc, kh = g->kh, span = g->kw * c;
    const lpc_frame f = lpc_frame_of(g, 0);
    /* windows that all lie inside the image ('valid') run over x itself */
    const int inside = g->pad_top == 0 && g->pad_left == 0 && (g->oh - 1) * g->sh + g->kh <= g->h &&
                       (g->ow - 1) * g->sw + g->kw <= g->w;
    const int framed = !inside && f.floats <= LPC_FRAME_MAX, ohw = g->oh * g->ow;
    /* the frame, or the gathered windows (PASS * 27 floats + lpc_window's slack) */
    _Alignas(64) float buf[LPC_FRAME_MAX > PASS * 3 * 9 + 16 ? LPC_FRAME_MAX : PASS * 3 * 9 + 16];
    wg_run run[PASS + 1];
    int have = -1; /* the image in buf (framed) */
    /* dy's rows of a pass stay in L1 (16 KB) across its tiles */
    const int pass = oc <= 16 ? PASS : oc <= 32 ? PASS / 2 : PASS / 4;
    for (int q0 = 0, nq; q0 < np; q0 += nq) {
        nq = np - q0 < pass ? np - q0 : pass;
        int n, oy, ox, nrun;
        pixel_of(g, p0 + q0, &n, &oy, &ox);
        if (framed) {
            const int left = ohw - oy * g->ow - ox; /* pixels left in image n */
            if (nq > left) nq = left;
            if (have != n) {
                lpc_fill_frame(g, &f, x, n, buf);
                have = n;
            }
            nrun = frame_runs(g, &f, buf, nq, oy, ox, run);
        } else {
            nrun = make_runs(g, x, nq, n, oy, ox, run, buf);
        }
        const float *d = dy + (size_t)(p0 + q0) * oc;
        const int more = q0 > 0;
        for (int o0 = 0; o0 < oc; o0 += 32) {
            const int nc = oc - o0 < 32 ? oc - o0 : 32;
            const __mmask16 m0 = nc >= 16 ? 0xffff : lpc_mask(nc), m1 = nc > 16 ? lpc_mask(nc - 16) : 0;
            float *o = dst + o0;
            if (span == 3) {
                if (nc > 16)
                    wgr_3x3x32(nrun, run, 0, d + o0, oc, m0, m1, o, oc, more);
                else
                    wgr_3x3x16(nrun, run, 0, d + o0, oc, m0, m1, o, oc, more);
            } else if (nc > 16) {
                for (int i = 0; i < kh; i++)
                    wgr_1x9x32(nrun, run, i, d + o0, oc, m0, m1, o + (size_t)i * span * oc, oc, more);
            } else {
                wgr_3x9x16(nrun, run, 0, d + o0, oc, m0, m1, o, oc, more);
            }
        }
    }
}

int lp_avx512_conv_bwd_weights_direct(const lp_conv_geom *g, const float *x, const float *dy,
                                      float *dw, float *part)
{
    const int c = g->c, oc = g->oc, taps = g->kh * g->kw, kk = taps * c;
    const int npix = g->n * g->oh * g->ow;
    const int direct = c % 4 == 0;
    if (c > MAX_C || taps > MAX_TAPS || npix <= 0) return 0;
    int rows = lp_avx2_conv_ksplit_rows(kk, oc, npix);
    if (!rows) rows = npix;
    if (rows > (direct ? MAX_ROWS : MAX_ROWS / 4)) return 0;
    const int nch = (npix + rows - 1) / rows;
    const int rowwise = !direct && rows_shape(g);
    const int window = !direct && !rowwise && kk <= WIN_MAXKK && g->kw * c <= 16;
    /* items per chunk */
    const int per = direct ? taps * ((c + CB - 1) / CB) : rowwise || window ? 1 : (kk + 11) / 12;
    const size_t kko = (size_t)kk * oc;
    const double flops = 2.0 * npix * (double)kko;
#pragma omp parallel for schedule(dynamic, 1) num_threads(lpc_team(flops))
    for (int it = 0; it < nch * per; it++) {
        const int ch = it / per, w = it - ch * per;
        const int p0 = ch * rows, np = npix - p0 < rows ? npix - p0 : rows;
        float *dst = nch == 1 ? dw : part + (size_t)ch * kko;
        if (direct) {
            const int ncb = (c + CB - 1) / CB;
            item_direct(g, x, dy, dst, p0, np, w / ncb, w % ncb);
        } else if (rowwise) {
            item_rows(g, x, dy, dst, p0, np);
        } else if (window) {
            item_window(g, x, dy, dst, p0, np);
        } else {
            item_gather(g, x, dy, dst, p0, np, w * 12);
        }
    }
    if (nch > 1) lpk_ksplit_reduce(kk, oc, nch, part, 1.0f, 0.0f, dw, oc, lpc_team(flops));
    return 1;
}
