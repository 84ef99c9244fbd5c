/* AVX-512 convolution forward of input layers: 1 or 3 channels, 3x3
 * windows, stride 1 (conv7's 28x28x1, conv2/4/13's and resnet50's
 * 32x32x3).
 *
 * With 1 or 3 channels a window row is only kw*c = 3 or 9 floats, so the
 * indirect GEMM's per-tap row pointers (or a per-tile gather of the
 * windows) cost as much as the FMAs. Instead each image is copied once
 * into a zero-padded frame (hp x wp x c, plus slack): output (oy, ox) has
 * its window corner at frame position f = oy*wp + ox, and P consecutive f
 * read P windows whose rows start c floats apart. A tile is P such
 * positions x a group of output channels; every broadcast is at a
 * constant offset from one of three row pointers (no pointer tables, no
 * copies of windows). Tiles, by oc:
 *   - a multiple of 64: 4 positions x 64 columns (16 accumulators; per
 *     window element 4 weight loads and 4 broadcasts feed 16 FMAs, and
 *     each output row's 4 lines are written by one call): conv13 from
 *     0.82x to 1.0x of oneDNN;
 *   - up to 16: 16 positions x 16 (resnet50);
 *   - else 12 or 13 positions x 32 (or 16, the last group) (conv7).
 * Tiles run along an output row (the last one of a row may hang over its
 * end) or, where that wastes more, over the frame's flat order across
 * rows (the wp - ow positions that wrap around the frame's edge are
 * computed and not stored).
 *
 * Each output element is one FMA chain over the window in im2col order
 * (row i, column j, channel), from zero, then + bias and ReLU as the
 * indirect GEMM's epilogue; every pixel is computed by one work item, so
 * the result is the same for any thread count and tiling. */
#include "kernels/avx512/avx512.h"
#include "kernels/avx512/conv_util.h"

#include <immintrin.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

/* GCC -O3 would carry the broadcast scalars of one window element over to
 * the next through the stack (predictive commoning: xr[p*C + s + C] is
 * xr[(p+1)*C + s]), which costs more loads and stores than it saves. */
#pragma GCC optimize("no-predictive-commoning")

#define PMAX 16 /* the most positions of a tile */
#define LPC_DO_PRAGMA(x) _Pragma(#x)
#define LPC_UNROLL(n) LPC_DO_PRAGMA(GCC unroll n)
#define KH 3

/* acc[p][:] = sum over window rows i < 3, s < SPAN of
 * fr[i*rs + p*C + s] * w[(i*SPAN + s)*ldw + :], p < P, NV zmm columns
 * under masks m0, m1; then + bias, ReLU, stored to out[p] for the p whose
 * out is not NULL. The s loop is unrolled only where that keeps the
 * broadcasts it shares between positions in registers (C = 1 and 24
 * accumulators); with 26 accumulators or C = 3 its unrolled form spills
 * (conv7's input layer 0.30 -> 0.29 ms with the loop kept). */
#define INPUT_KERNEL(NAME, SPAN, C, NV, P, UNROLL_S)                                                         \
    static void NAME(const float *fr, ptrdiff_t rs, const float *w, ptrdiff_t ldw, __mmask16 m0, \
                     __mmask16 m1, float *const *out, const float *bias, int relu)              \
    {                                                                                            \
        __m512 a0[P], a1[P];                                                                   \
        _Pragma("GCC unroll 16") for (int p = 0; p < P; p++)                                    \
        {                                                                                        \
            a0[p] = _mm512_setzero_ps();                                                         \
            a1[p] = _mm512_setzero_ps();                                                         \
        }                                                                                        \
        for (int i = 0; i < KH; i++) {                                                           \
            const float *xr = fr + i * rs;                                                       \
            const float *wr = w + (ptrdiff_t)i * SPAN * ldw;                                     \
            LPC_UNROLL(UNROLL_S) for (int s = 0; s < SPAN; s++)                               \
            {                                                                                    \
                const __m512 b0 = _mm512_maskz_loadu_ps(m0, wr + s * ldw);                       \
                const __m512 b1 = NV == 2 ? _mm512_maskz_loadu_ps(m1, wr + s * ldw + 16) : b0;   \
                _Pragma("GCC unroll 16") for (int p = 0; p < P; p++)                            \
                {                                                                                \
                    const __m512 av = _mm512_set1_ps(xr[p * C + s]);                             \
                    a0[p] = _mm512_fmadd_ps(av, b0, a0[p]);                                      \
                    if (NV == 2) a1[p] = _mm512_fmadd_ps(av, b1, a1[p]);                         \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
        const __m512 z = _mm512_setzero_ps();                                                    \
        const __m512 bb0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : z;                           \
        const __m512 bb1 = bias && NV == 2 ? _mm512_maskz_loadu_ps(m1, bias + 16) : z;           \
        _Pragma("GCC unroll 16") for (int p = 0; p < P; p++)                                    \
        {                                                                                        \
            if (out[p]) lpc_store_row(out[p], a0[p], a1[p], NV, bias != NULL, bb0, bb1, relu, m0, m1); \
        }                                                                                        \
    }
INPUT_KERNEL(input_c1_12x32, 3, 1, 2, 12, 3)
INPUT_KERNEL(input_c1_12x16, 3, 1, 1, 12, 3)
INPUT_KERNEL(input_c3_12x32, 9, 3, 2, 12, 1)
INPUT_KERNEL(input_c3_12x16, 9, 3, 1, 12, 1)
INPUT_KERNEL(input_c1_13x32, 3, 1, 2, 13, 1)
INPUT_KERNEL(input_c1_13x16, 3, 1, 1, 13, 1)
INPUT_KERNEL(input_c3_13x32, 9, 3, 2, 13, 1)
INPUT_KERNEL(input_c3_13x16, 9, 3, 1, 13, 1)
INPUT_KERNEL(input_c1_16x16, 3, 1, 1, 16, 1)
INPUT_KERNEL(input_c3_16x16, 9, 3, 1, 16, 1)
#undef INPUT_KERNEL

/* The same over P positions x 64 columns, no masks (oc a multiple of 64). */
#define INPUT_KERNEL_WIDE(NAME, SPAN, C, P)                                                         \
    static void NAME(const float *fr, ptrdiff_t rs, const float *w, ptrdiff_t ldw,               \
                     float *const *out, const float *bias, int relu)                             \
    {                                                                                            \
        __m512 a[P][4];                                                                        \
        _Pragma("GCC unroll 4") for (int p = 0; p < P; p++)                                    \
        {                                                                                        \
            a[p][0] = a[p][1] = a[p][2] = a[p][3] = _mm512_setzero_ps();                         \
        }                                                                                        \
        for (int i = 0; i < KH; i++) {                                                           \
            const float *xr = fr + i * rs;                                                       \
            const float *wr = w + (ptrdiff_t)i * SPAN * ldw;                                     \
            _Pragma("GCC unroll 1") for (int s = 0; s < SPAN; s++)                               \
            {                                                                                    \
                const __m512 b0 = _mm512_loadu_ps(wr + s * ldw);                                 \
                const __m512 b1 = _mm512_loadu_ps(wr + s * ldw + 16);                            \
                const __m512 b2 = _mm512_loadu_ps(wr + s * ldw + 32);                            \
                const __m512 b3 = _mm512_loadu_ps(wr + s * ldw + 48);                            \
                _Pragma("GCC unroll 4") for (int p = 0; p < P; p++)                            \
                {                                                                                \
                    const __m512 av = _mm512_set1_ps(xr[p * C + s]);                             \
                    a[p][0] = _mm512_fmadd_ps(av, b0, a[p][0]);                                  \
                    a[p][1] = _mm512_fmadd_ps(av, b1, a[p][1]);                                  \
                    a[p][2] = _mm512_fmadd_ps(av, b2, a[p][2]);                                  \
                    a[p][3] = _mm512_fmadd_ps(av, b3, a[p][3]);                                  \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
        const __m512 z = _mm512_setzero_ps();                                                    \
        const __m512 bb0 = bias ? _mm512_loadu_ps(bias) : z;                                     \
        const __m512 bb1 = bias ? _mm512_loadu_ps(bias + 16) : z;                                \
        const __m512 bb2 = bias ? _mm512_loadu_ps(bias + 32) : z;                                \
        const __m512 bb3 = bias ? _mm512_loadu_ps(bias + 48) : z;                                \
        _Pragma("GCC unroll 4") for (int p = 0; p < P; p++)                                    \
        {                                                                                        \
            if (out[p]) {                                                                        \
                lpc_store_row(out[p], a[p][0], a[p][1], 2, bias != NULL, bb0, bb1, relu, 0xffff, \
                              0xffff);                                                           \
                lpc_store_row(out[p] + 32, a[p][2], a[p][3], 2, bias != NULL, bb2, bb3, relu,    \
                              0xffff, 0xffff);                                                   \
            }                                                                                    \
        }                                                                                        \
    }
INPUT_KERNEL_WIDE(input_c1_4x64, 3, 1, 4)
INPUT_KERNEL_WIDE(input_c3_4x64, 9, 3, 4)
#undef INPUT_KERNEL_WIDE

typedef void (*input_fn)(const float *, ptrdiff_t, const float *, ptrdiff_t, __mmask16, __mmask16,
                         float *const *, const float *, int);
typedef void (*input_wide_fn)(const float *, ptrdiff_t, const float *, ptrdiff_t, float *const *,
                              const float *, int);

/* The frame (conv_util.h) with the slack the last tile reads past its
 * end (flat: starting below nf; per row: at most PMAX - 1 past a row's
 * end; PMAX positions of 3 rows), and nf, the flat positions of one
 * image's outputs. */
typedef struct {
    lpc_frame fr;
    int wp, nf;
} frame;

static frame frame_of(const lp_conv_geom *g)
{
    frame f;
    f.fr = lpc_frame_of(g, PMAX + 16);
    f.wp = f.fr.wp;
    f.nf = (g->oh - 1) * f.wp + g->ow;
    return f;
}

static int input_shape(const lp_conv_geom *g)
{
    if (!(g->kh == KH && g->kw == 3 && (g->c == 1 || g->c == 3) && g->sh == 1 && g->sw == 1))
        return 0;
    if (g->pad_top < 0 || g->pad_left < 0 || g->n <= 0 || g->oh <= 0 || g->ow <= 0) return 0;
    return frame_of(g).fr.floats <= LPC_FRAME_MAX;
}

/* How the output positions of one image are cut into tiles of p: flat
 * (tile t covers frame positions t*p .. t*p + p - 1, across output rows)
 * or per row (tpr tiles within each output row). */
typedef struct {
    int p, per_row, tpr, ntile;
} tiling;

/* The tiling of p-position tiles that computes fewer unused positions:
 * flat wastes the wp - ow wrap positions of each row (2 of 28 or 34
 * here), per row the tail of each row's last tile (none for conv7's 26 in
 * tiles of 13, conv13's 32 in tiles of 4 or resnet50's in tiles of 16). */
static tiling tiling_of(const lp_conv_geom *g, const frame *f, int p)
{
    tiling tl = {p, 0, (g->ow + p - 1) / p, (f->nf + p - 1) / p};
    const long flat = (long)tl.ntile * p, rows = (long)g->oh * tl.tpr * p;
    if (rows <= flat) {
        tl.per_row = 1;
        tl.ntile = g->oh * tl.tpr;
    }
    return tl;
}

/* Tile t's first frame position; rows[q] = its output q < p (NULL for the
 * unused positions). */
static int tile_at(const lp_conv_geom *g, const frame *f, const tiling *tl, int t, float *yimg,
                   float **rows)
{
    const int oc = g->oc;
    if (tl->per_row) {
        const int oy = t / tl->tpr, ox0 = (t - oy * tl->tpr) * tl->p;
        for (int q = 0; q < tl->p; q++)
            rows[q] = ox0 + q < g->ow ? yimg + ((size_t)oy * g->ow + ox0 + q) * oc : NULL;
        return oy * f->wp + ox0;
    }
    for (int q = 0; q < tl->p; q++) {
        const int fp = t * tl->p + q, oy = fp / f->wp, ox = fp - oy * f->wp;
        rows[q] = fp < f->nf && ox < g->ow ? yimg + ((size_t)oy * g->ow + ox) * oc : NULL;
    }
    return t * tl->p;
}

/* The kernels of a shape: 4x64 tiles (wide), 16x16, or 32-column groups
 * of 12 or 13 positions, whichever wastes fewer (x16 for the last group
 * when it has at most 16 columns). */
typedef struct {
    tiling tl;
    input_wide_fn wide;
    input_fn k32, k16;
} plan;

static plan plan_of(const lp_conv_geom *g, const frame *f)
{
    const int c1 = g->c == 1;
    plan pl = {{0, 0, 0, 0}, NULL, NULL, NULL};
    if (g->oc % 64 == 0) {
        pl.tl = tiling_of(g, f, 4);
        pl.wide = c1 ? input_c1_4x64 : input_c3_4x64;
    } else if (g->oc <= 16) {
        pl.tl = tiling_of(g, f, 16);
        pl.k16 = c1 ? input_c1_16x16 : input_c3_16x16;
    } else {
        const tiling t12 = tiling_of(g, f, 12), t13 = tiling_of(g, f, 13);
        const int p13 = t13.ntile * 13 < t12.ntile * 12;
        pl.tl = p13 ? t13 : t12;
        pl.k32 = p13 ? (c1 ? input_c1_13x32 : input_c3_13x32) : (c1 ? input_c1_12x32 : input_c3_12x32);
        pl.k16 = p13 ? (c1 ? input_c1_13x16 : input_c3_13x16) : (c1 ? input_c1_12x16 : input_c3_12x16);
    }
    return pl;
}

int lp_avx512_conv_fwd_input(const lp_conv_geom *g, const float *x, const float *w, float *y,
                             const float *bias, int relu)
{
    if (!input_shape(g)) return 0;
    const int c = g->c, oc = g->oc;
    const frame f = frame_of(g);
    const ptrdiff_t rs = (ptrdiff_t)f.wp * c;
    const plan pl = plan_of(g, &f);
    const tiling tl = pl.tl;
    /* work items: (image, band of tiles); a band is about 96 positions, so
     * that a batch of 1 still spreads over the threads */
    const int ntile = tl.ntile, band = 96 / tl.p, nband = (ntile + band - 1) / band;
    const double flops = 2.0 * g->n * g->oh * g->ow * 9.0 * c * oc;
    /* an image's tiles split cheaply: both threads from 250 kFLOP
     * (conv13's and resnet50's input layers at batch 1 then run at
     * oneDNN's speed, 1.6x faster than on one thread) */
    const int team = lpc_team(16 * flops);
    const int per_image = g->n >= team; /* items = images: one frame per image */
#pragma omp parallel num_threads(team)
    {
        _Alignas(64) float fr[LPC_FRAME_MAX];
        int have = -1; /* the image in fr */
        const int nitem = per_image ? g->n : g->n * nband;
#pragma omp for schedule(static)
        for (int item = 0; item < nitem; item++) {
            const int n = per_image ? item : item / nband;
            const int t0 = per_image ? 0 : item % nband * band;
            const int t1 = per_image ? ntile : (t0 + band < ntile ? t0 + band : ntile);
            if (have != n) {
                lpc_fill_frame(g, &f.fr, x, n, fr);
                have = n;
            }
            float *yimg = y + (size_t)n * g->oh * g->ow * oc;
            /* the output rows of tile t + 1 are found (and their lines
             * fetched for writing) while tile t runs: with outputs beyond
             * L2 (conv13: 13 MB) the epilogue's stores otherwise wait for
             * each line in turn (1.6x slower) */
            float *rows[2][PMAX];
            int at[2];
            for (int t = t0; t <= t1; t++) {
                if (t < t1) {
                    float **nx = rows[t & 1];
                    at[t & 1] = tile_at(g, &f, &tl, t, yimg, nx);
                    for (int q = 0; q < tl.p; q++)
                        if (nx[q])
                            for (int o = 0; o < oc; o += 16) lpc_prefetchw(nx[q] + o);
                }
                if (t == t0) continue;
                float *const *out = rows[(t - 1) & 1];
                const float *ft = fr + (size_t)at[(t - 1) & 1] * c;
                const int step = pl.wide ? 64 : 32;
                for (int o0 = 0; o0 < oc; o0 += step) {
                    float *oo[PMAX];
                    for (int q = 0; q < tl.p; q++) oo[q] = out[q] ? out[q] + o0 : NULL;
                    const float *bo = bias ? bias + o0 : NULL;
                    if (pl.wide) {
                        pl.wide(ft, rs, w + o0, oc, oo, bo, relu);
                        continue;
                    }
                    const int nc = oc - o0 < 32 ? oc - o0 : 32;
                    const __mmask16 m0 = lpc_mask(nc), m1 = nc > 16 ? lpc_mask(nc - 16) : 0;
                    (nc > 16 ? pl.k32 : pl.k16)(ft, rs, w + o0, oc, m0, m1, oo, bo, relu);
                }
            }
        }
    }
    return 1;
}
