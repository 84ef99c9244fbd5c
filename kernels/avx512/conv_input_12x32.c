/* AVX-512 convolution forward of input layers: 1 or 3 channels, 3x3
 * windows, stride 1 (conv7's 28x28x1, conv2/4/13's and resnet50's
 * 32x32x3).
 *
 * With 1 or 3 channels a window row is only kw*c = 3 or 9 floats, so the
 * indirect GEMM's per-tap row pointers (or a per-tile gather of the
 * windows) cost as much as the FMAs. Instead each image is copied once
 * into a zero-padded frame (hp x wp x c, plus slack) and its output
 * pixels are walked in the frame's flat order: output (oy, ox) has its
 * window corner at frame position f = oy*wp + ox, and 12 consecutive f
 * read 12 windows whose rows start c floats apart. A tile is 12 such
 * positions x 32 (or 16) output channels in 24 (12) zmm accumulators;
 * every broadcast is at a constant offset from one of three row pointers
 * (no pointer tables, no copies of windows). The wp - ow positions per
 * row that wrap around the frame's edge are computed and not stored
 * (2 of 28 or 34 for these shapes).
 *
 * Each output element is one FMA chain over the window in im2col order
 * (row i, column j, channel), from zero, then + bias and ReLU as the
 * indirect GEMM's epilogue; every pixel is computed by one work item, so
 * the result is the same for any thread count. */
#include "kernels/avx512/avx512.h"
#include "kernels/avx512/conv_util.h"

#include <immintrin.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

#define MR 12
#define KH 3
#define FRAME_MAX (16 * 1024) /* floats of one padded image with slack (64 KB of stack) */

/* acc[p][:] = sum over window rows i < 3, s < SPAN of
 * fr[i*rs + p*C + s] * w[(i*SPAN + s)*ldw + :], p < 12, NV zmm columns;
 * then + bias, ReLU, stored to out[p] for the p whose out is not NULL. */
#define INPUT_KERNEL(NAME, SPAN, C, NV)                                                         \
    static void NAME(const float *fr, ptrdiff_t rs, const float *w, ptrdiff_t ldw, __mmask16 m0, \
                     __mmask16 m1, float *const *out, const float *bias, int relu)              \
    {                                                                                            \
        __m512 a0[MR], a1[MR];                                                                   \
        _Pragma("GCC unroll 12") for (int p = 0; p < MR; p++)                                    \
        {                                                                                        \
            a0[p] = _mm512_setzero_ps();                                                         \
            a1[p] = _mm512_setzero_ps();                                                         \
        }                                                                                        \
        for (int i = 0; i < KH; i++) {                                                           \
            const float *xr = fr + i * rs;                                                       \
            const float *wr = w + (ptrdiff_t)i * SPAN * ldw;                                     \
            _Pragma("GCC unroll 9") for (int s = 0; s < SPAN; s++)                               \
            {                                                                                    \
                const __m512 b0 = _mm512_maskz_loadu_ps(m0, wr + s * ldw);                       \
                const __m512 b1 = NV == 2 ? _mm512_maskz_loadu_ps(m1, wr + s * ldw + 16) : b0;   \
                _Pragma("GCC unroll 12") for (int p = 0; p < MR; p++)                            \
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
        _Pragma("GCC unroll 12") for (int p = 0; p < MR; p++)                                    \
        {                                                                                        \
            if (out[p]) lpc_store_row(out[p], a0[p], a1[p], NV, bias != NULL, bb0, bb1, relu, m0, m1); \
        }                                                                                        \
    }
INPUT_KERNEL(input_c1_12x32, 3, 1, 2)
INPUT_KERNEL(input_c1_12x16, 3, 1, 1)
INPUT_KERNEL(input_c3_12x32, 9, 3, 2)
INPUT_KERNEL(input_c3_12x16, 9, 3, 1)
#undef INPUT_KERNEL

typedef void (*input_fn)(const float *, ptrdiff_t, const float *, ptrdiff_t, __mmask16, __mmask16,
                         float *const *, const float *, int);

/* Frame geometry: wp columns, hp rows (the padding of 'same', none for
 * 'valid'), and the slack the last tile reads past the frame's end. */
typedef struct {
    int wp, hp, nf; /* nf: flat positions of one image's outputs */
    size_t floats;
} frame;

static frame frame_of(const lp_conv_geom *g)
{
    frame f;
    f.wp = g->ow + g->kw - 1 > g->w + g->pad_left ? g->ow + g->kw - 1 : g->w + g->pad_left;
    f.hp = g->oh + g->kh - 1 > g->h + g->pad_top ? g->oh + g->kh - 1 : g->h + g->pad_top;
    f.nf = (g->oh - 1) * f.wp + g->ow;
    /* the last tile starts below nf and reads 12 positions of 3 rows */
    f.floats = ((size_t)f.hp * f.wp + MR + 16) * g->c;
    return f;
}

static int input_shape(const lp_conv_geom *g)
{
    if (!(g->kh == KH && g->kw == 3 && (g->c == 1 || g->c == 3) && g->sh == 1 && g->sw == 1))
        return 0;
    if (g->pad_top < 0 || g->pad_left < 0 || g->n <= 0 || g->oh <= 0 || g->ow <= 0) return 0;
    return frame_of(g).floats <= FRAME_MAX;
}

/* The padded copy of image n into fr (zeros around it and in the slack). */
static void fill_frame(const lp_conv_geom *g, const frame *f, const float *x, int n, float *fr)
{
    const int c = g->c;
    memset(fr, 0, f->floats * sizeof(float));
    const float *img = x + (size_t)n * g->h * g->w * c;
    for (int iy = 0; iy < g->h; iy++)
        memcpy(fr + ((size_t)(iy + g->pad_top) * f->wp + g->pad_left) * c, img + (size_t)iy * g->w * c,
               sizeof(float) * (size_t)g->w * c);
}

int lp_avx512_conv_fwd_input(const lp_conv_geom *g, const float *x, const float *w, float *y,
                             const float *bias, int relu)
{
    if (!input_shape(g)) return 0;
    const int c = g->c, oc = g->oc;
    const frame f = frame_of(g);
    const ptrdiff_t rs = (ptrdiff_t)f.wp * c;
    /* work items: (image, band of tiles); a band is about 8 tiles, so that
     * a batch of 1 still spreads over the threads */
    const int ntile = (f.nf + MR - 1) / MR, band = 8, nband = (ntile + band - 1) / band;
    const double flops = 2.0 * g->n * g->oh * g->ow * 9.0 * c * oc;
    const int team = lpc_team(flops);
    const int per_image = g->n >= team; /* items = images: one frame per image */
#pragma omp parallel num_threads(team)
    {
        _Alignas(64) float fr[FRAME_MAX];
        int have = -1; /* the image in fr */
        const int nitem = per_image ? g->n : g->n * nband;
#pragma omp for schedule(static)
        for (int item = 0; item < nitem; item++) {
            const int n = per_image ? item : item / nband;
            const int t0 = per_image ? 0 : item % nband * band;
            const int t1 = per_image ? ntile : (t0 + band < ntile ? t0 + band : ntile);
            if (have != n) {
                fill_frame(g, &f, x, n, fr);
                have = n;
            }
            float *yimg = y + (size_t)n * g->oh * g->ow * oc;
            /* (oy, ox) of the next tile's first position, stepped along;
             * the output rows of tile t + 1 are computed (and their lines
             * fetched for writing) while tile t runs: with outputs beyond
             * L2 (conv13: 13 MB) the epilogue's stores otherwise wait for
             * each line in turn (1.6x slower) */
            int oy = t0 * MR / f.wp, ox = t0 * MR - oy * f.wp;
            float *rows[2][MR];
            for (int t = t0; t <= t1; t++) {
                float **nx = rows[t & 1];
                if (t < t1) {
                    for (int p = 0; p < MR; p++) {
                        nx[p] = t * MR + p < f.nf && ox < g->ow ? yimg + ((size_t)oy * g->ow + ox) * oc : NULL;
                        if (nx[p])
                            for (int o = 0; o < oc; o += 16) lpc_prefetchw(nx[p] + o);
                        if (++ox == f.wp) {
                            ox = 0;
                            oy++;
                        }
                    }
                }
                if (t == t0) continue;
                float *const *out = rows[(t - 1) & 1];
                const int tt = t - 1;
                const float *at = fr + (size_t)tt * MR * c;
                for (int o0 = 0; o0 < oc; o0 += 32) {
                    const int nc = oc - o0 < 32 ? oc - o0 : 32;
                    float *oo[MR];
                    for (int p = 0; p < MR; p++) oo[p] = out[p] ? out[p] + o0 : NULL;
                    const __mmask16 m0 = lpc_mask(nc), m1 = nc > 16 ? lpc_mask(nc - 16) : 0;
                    input_fn fn = c == 1 ? (nc > 16 ? input_c1_12x32 : input_c1_12x16)
                                         : (nc > 16 ? input_c3_12x32 : input_c3_12x16);
                    fn(at, rs, w + o0, oc, m0, m1, oo, bias ? bias + o0 : NULL, relu);
                }
            }
        }
    }
    return 1;
}
