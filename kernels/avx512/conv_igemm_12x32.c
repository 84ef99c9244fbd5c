/* AVX-512 convolution forward and backward-data as an indirect GEMM (the
 * idea of XNNPACK's igemm): no im2col buffer and no packing of the image.
 *
 * A tile is MR = 12 output pixels x 32 (or 16) output channels, held in 24
 * (12) zmm accumulators (8 or 4 pixels for a class's last tile). The
 * output pixels are grouped into classes that reach the same taps inside
 * the input (class_pass: the interior, each border, each corner); for every
 * tap of its class a tile has 12 row pointers, one per pixel, to the c
 * input channels the tap reads, and the micro-kernel streams the c
 * channels: 12 broadcasts from the row pointers, one or two loads of the
 * weights' row (read in place: HWIO keeps a row's output channels
 * contiguous), 24 FMAs; a window row's taps, their inputs and weights
 * consecutive, run as one tap of kw*c channels (merge_row_taps). No tap on
 * padding is computed. Each output element is one FMA chain over its taps
 * (in window order) and channels, from zero, computed by exactly one tile,
 * so the result is bitwise the same for any thread count.
 *
 * Backward-data is the same product on dy with the transposed kernel
 * W'[t][o][ci] = W[t][ci][o] (built in the workspace, phase by phase: see
 * bwd_slot): for stride s the input pixels split into s*s phases by
 * (iy + pad) mod s, and each phase is a stride-1 correlation of dy with the
 * taps i = phase + s*u (tap order u, then v descending; channel order o),
 * run as a class pass of its own. No col2im, no
 * scatter-add: every dx element is written once. Input layers (c < 8) and
 * 1x1 windows without padding have their own drivers. */
#include "kernels/avx512/avx512.h"
#include "kernels/avx512/conv_util.h"
#include "kernels/common/avx2_transpose.h"

#include <immintrin.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

#define MR 12
#define MAX_TAPS 64
#define MAX_C 4096

/* acc[r][:] = sum over taps t, channels q < k of in[t][r][q] * wt[t][q*ldw + :],
 * stored to out[r] (r < rows) under the column masks; NV zmm columns, R
 * (12, 8 or 4) rows: the tables in[] keep MR pointers per tap whatever R.
 * EMB: each FMA broadcasts its input from memory (LPC_FMA_BCAST, twice
 * per element for 32 columns) instead of one VBROADCASTSS into a register
 * for both: image-major tiles 2-6% faster on one thread, but tiles whose
 * rows lie in 12 different images (position-major) were 8-20% slower. */
/* QB: channels per unrolled block, 4 for any k (16: conv13's 2x2x512
 * layer 8-13% slower, one thread) */
#define IGEMM_KERNEL(NAME, NV, R, EMB) IGEMM_KERNEL_X(NAME, NV, R, EMB, taps_, k_, m0_, m1_, rows_, 4, )
#define IGEMM_KERNEL_X(NAME, NV, R, EMB, T, K, M0, M1, ROWS, QB, ATTR)                               \
    static ATTR void NAME(int taps_, int k_, const float *const *in, const float *const *wt,          \
                     ptrdiff_t ldw, __mmask16 m0_, __mmask16 m1_, float *const *out, int rows_, \
                     const float *bias, int relu)                                                \
    {                                                                                            \
        const int taps = T, k = K, rows = ROWS;                                                  \
        const __mmask16 m0 = M0, m1 = M1;                                                        \
        (void)taps_, (void)k_, (void)m0_, (void)m1_, (void)rows_;                                \
        __m512 a0[R], a1[R];                                                                     \
        enum { emb_ = EMB };                                                                     \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)                                     \
        {                                                                                        \
            a0[r] = _mm512_setzero_ps();                                                         \
            a1[r] = _mm512_setzero_ps();                                                         \
        }                                                                                        \
        for (int t = 0; t < taps; t++) {                                                         \
            const float *const *p = in + (ptrdiff_t)t * MR;                                      \
            const float *p0 = p[0], *p1 = p[1], *p2 = p[2], *p3 = p[3];                          \
            const float *p4 = R > 4 ? p[4] : p0, *p5 = R > 4 ? p[5] : p0;                        \
            const float *p6 = R > 4 ? p[6] : p0, *p7 = R > 4 ? p[7] : p0;                        \
            const float *p8 = R > 8 ? p[8] : p0, *p9 = R > 8 ? p[9] : p0;                        \
            const float *p10 = R > 8 ? p[10] : p0, *p11 = R > 8 ? p[11] : p0;                    \
            const float *w = wt[t];                                                              \
            int q0 = 0;                                                                          \
            /* blocks of QB channels unrolled: the inputs at constant */                         \
            /* offsets from the row pointers, which step once per block */                       \
            for (; q0 + QB <= k; q0 += QB) {                                                     \
                _Pragma("GCC unroll 64") for (int q = 0; q < QB; q++) IGEMM_STEP(NV, R)          \
                p0 += QB, p1 += QB, p2 += QB, p3 += QB, p4 += QB, p5 += QB;                      \
                p6 += QB, p7 += QB, p8 += QB, p9 += QB, p10 += QB, p11 += QB;                    \
            }                                                                                    \
            for (int q = 0; q < k - q0; q++) IGEMM_STEP(NV, R)                                   \
        }                                                                                        \
        /* epilogue: + bias, then x < 0 ? 0 : x (bias_add and relu_fwd's */                     \
        /* operations); constant indices only (unrolled): a variable index */                   \
        /* would keep the accumulators in memory */                                              \
        const __m512 z = _mm512_setzero_ps();                                                    \
        const __m512 bb0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : z;                           \
        const __m512 bb1 = bias && NV == 2 ? _mm512_maskz_loadu_ps(m1, bias + 16) : z;           \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)                                     \
        {                                                                                        \
            if (r < rows) lpc_store_row(out[r], a0[r], a1[r], NV, bias != NULL, bb0, bb1, relu, m0, m1); \
        }                                                                                        \
    }
/* one channel q: the weights' row, then every row's FMAs */
#define IGEMM_STEP(NV, R)                                                                          \
    {                                                                                            \
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, w);                                          \
        const __m512 b1 = NV == 2 ? _mm512_maskz_loadu_ps(m1, w + 16) : b0;                      \
        w += ldw;                                                                                \
        IGEMM_ROW(NV, 0, p0) IGEMM_ROW(NV, 1, p1) IGEMM_ROW(NV, 2, p2) IGEMM_ROW(NV, 3, p3)      \
        if (R > 4) {                                                                             \
            IGEMM_ROW(NV, 4, p4) IGEMM_ROW(NV, 5, p5) IGEMM_ROW(NV, 6, p6) IGEMM_ROW(NV, 7, p7)  \
        }                                                                                        \
        if (R > 8) {                                                                             \
            IGEMM_ROW(NV, 8, p8) IGEMM_ROW(NV, 9, p9) IGEMM_ROW(NV, 10, p10) IGEMM_ROW(NV, 11, p11) \
        }                                                                                        \
    }
#define IGEMM_ROW(NV, r, pr)                                                                       \
    if (emb_) {                                                                                  \
        LPC_FMA_BCAST(a0[r], b0, pr[q]);                                                         \
        if (NV == 2) LPC_FMA_BCAST(a1[r], b1, pr[q]);                                            \
    } else {                                                                                     \
        const __m512 av = _mm512_set1_ps(pr[q]);                                                 \
        a0[r] = _mm512_fmadd_ps(av, b0, a0[r]);                                                  \
        if (NV == 2) a1[r] = _mm512_fmadd_ps(av, b1, a1[r]);                                     \
    }
IGEMM_KERNEL(igemm_12x32, 2, 12, 0)
IGEMM_KERNEL(igemm_12x16, 1, 12, 0)
IGEMM_KERNEL(igemm_8x32, 2, 8, 0)
IGEMM_KERNEL(igemm_8x16, 1, 8, 0)
IGEMM_KERNEL(igemm_4x32, 2, 4, 0)
IGEMM_KERNEL(igemm_4x16, 1, 4, 0)
IGEMM_KERNEL(igemm_12x32e, 2, 12, 1)
IGEMM_KERNEL(igemm_12x16e, 1, 12, 1)
IGEMM_KERNEL(igemm_8x32e, 2, 8, 1)
IGEMM_KERNEL(igemm_8x16e, 1, 8, 1)
IGEMM_KERNEL(igemm_4x32e, 2, 4, 1)
IGEMM_KERNEL(igemm_4x16e, 1, 4, 1)
/* Full tiles of one tap with k fixed, for 1x1 windows (resnet50's
 * stride-2 shortcuts: forward k = 16, backward-data k = 32 and 64), inlined
 * into their drivers: the pointer tables never leave the registers and the
 * channel loop is straight-line code. One thread, 32x32x16-32 stride 2:
 * forward 160 -> 135 us, backward-data 179 -> 161 us (through
 * tile_all_columns, then with these). */
#define IGEMM_FIXED(NAME, NV, K)                                                                   \
    IGEMM_KERNEL_X(NAME, NV, 12, 1, 1, K, 0xffff, NV == 2 ? 0xffff : 0, 12, K,                      \
                   inline __attribute__((always_inline)))
IGEMM_FIXED(igemm_12x32e_k16, 2, 16)
IGEMM_FIXED(igemm_12x16e_k32, 1, 32)
IGEMM_FIXED(igemm_12x32e_k64, 2, 64)
#undef IGEMM_FIXED
#undef IGEMM_ROW
#undef IGEMM_STEP
#undef IGEMM_KERNEL
#undef IGEMM_KERNEL_X

typedef void (*igemm_fn)(int, int, const float *const *, const float *const *, ptrdiff_t, __mmask16,
                         __mmask16, float *const *, int, const float *, int);

/* Output-channel tiles [o_lo, oc) of one pixel tile (row pointers in
 * `in`, taps x MR; weights of tap t at wt[t], rows ldw apart). */
static void tile_all_columns(int taps, int k, const float **in, const float **wt,
                             int ldw, int o_lo, int oc, float *const *out, int rows,
                             const float *bias, int relu, int emb)
{
    const float *wc[MAX_TAPS];
    float *oc_out[MR];
    for (int o0 = o_lo; o0 < oc; o0 += 32) {
        const int nc = oc - o0 < 32 ? oc - o0 : 32;
        const float *bc = bias ? bias + o0 : NULL;
        for (int t = 0; t < taps; t++) wc[t] = wt[t] + o0;
        for (int r = 0; r < rows; r++) oc_out[r] = out[r] + o0;
        /* the kernel of the fewest rows that holds the tile's */
        const igemm_fn f =
            emb ? (nc > 16 ? (rows > 8 ? igemm_12x32e : rows > 4 ? igemm_8x32e : igemm_4x32e)
                           : (rows > 8 ? igemm_12x16e : rows > 4 ? igemm_8x16e : igemm_4x16e))
                : (nc > 16 ? (rows > 8 ? igemm_12x32 : rows > 4 ? igemm_8x32 : igemm_4x32)
                           : (rows > 8 ? igemm_12x16 : rows > 4 ? igemm_8x16 : igemm_4x16));
        if (nc > 16)
            f(taps, k, in, wc, ldw, 0xffff, lpc_mask(nc - 16), oc_out, rows, bc, relu);
        else
            f(taps, k, in, wc, ldw, lpc_mask(nc), 0, oc_out, rows, bc, relu);
    }
}

static int shape_ok(const lp_conv_geom *g)
{
    return g->kh * g->kw <= MAX_TAPS && g->c <= MAX_C && g->oc <= MAX_C && g->n > 0 && g->oh > 0 &&
           g->ow > 0;
}

/* Output channels per work item. A pixel tile streams all the weights of
 * its output channels; when they outgrow L2 (conv13's 3x3x512x512: 9.4 MB)
 * every tile would fetch them from L3 again, so the work goes
 * channel-group-major: items (32 channels, pixel tile) with the group
 * outermost, each group's weights (<= 590 KB) reused from L2 by all tiles. */
static int out_group(size_t weight_floats, int outc)
{
    return weight_floats * sizeof(float) > (size_t)512 * 1024 ? 32 : outc;
}

/* Fetch a tile's output lines for writing while its FMAs run: layers whose
 * output outgrows L2 (resnet50's 32x32x16 at batch 50: 3.3 MB) otherwise
 * stall in the epilogue, each store waiting for its line. */
static void prefetch_out(float *const *out, int rows, int o_lo, int o_hi)
{
    for (int r = 0; r < rows; r++)
        for (int o = o_lo; o < o_hi; o += 16) lpc_prefetchw(out[r] + o);
}

/* Output rows no tap reaches (every tap in the padding): 0, + bias, then
 * ReLU, as the kernels' epilogue would give. */
static void fill_no_taps(float *const *out, int rows, int o_lo, int o_hi, const float *bias, int relu)
{
    for (int r = 0; r < rows; r++)
        for (int o = o_lo; o < o_hi; o++) {
            float v = bias ? 0.0f + bias[o] : 0.0f;
            out[r][o] = relu && v < 0.0f ? 0.0f : v;
        }
}

/* in[t*MR + r] = base[r] + off[t] for every tap t and row r (a class's
 * taps all reach the input for all its pixels): 12 pointers per tap in two
 * vector stores instead of 12 scalar ones. */
static void fill_fixed(const float **in, int taps, const float *const *base, const ptrdiff_t *off)
{
    const __m512i b0 = _mm512_loadu_si512((const void *)base);
    const __m256i b1 = _mm256_loadu_si256((const __m256i *)(base + 8));
    for (int t = 0; t < taps; t++) {
        const __m512i d = _mm512_set1_epi64((long long)(off[t] * (ptrdiff_t)sizeof(float)));
        _mm512_storeu_si512((void *)(in + (ptrdiff_t)t * MR), _mm512_add_epi64(b0, d));
        _mm256_storeu_si256((__m256i *)(in + (ptrdiff_t)t * MR + 8),
                            _mm256_add_epi64(b1, _mm512_castsi512_si256(d)));
    }
}

/* ---- Class passes: the forward and backward-data drivers ----------------
 *
 * Along one axis, output position x reaches its input through the tap
 * range [max(0, a0 + da*x), min(nk - 1, b0 + db*x)] (the forward: a0 = pad,
 * b0 = size - 1 + pad, slopes -stride; a backward-data phase: slopes 1).
 * Both ends move one way with x, so equal ranges are runs of consecutive
 * positions. A class is one run of rows times one run of columns (a 3x3
 * 'same' layer: 3 x 3, the interior taking all 9 taps; a 'valid' one's
 * dx: 5 x 5); its pixels run (n, row, column), so a tile's 12 rows share
 * their taps: it computes exactly its class's taps (none on padding), its
 * pointers by lane (fill_fixed), and an interior tile's rows lie in one
 * image. Work items are (channel group, unit, class, tile), a unit being
 * the forward's output grid or one backward-data phase; each thread takes
 * the tiles whose work (taps, at least 1 per tile) starts in its equal
 * share, the same every call (dynamic scheduling moved the output's lines
 * between the cores).
 *
 * The class passes replaced five drivers; against each, one thread (the
 * forward: three A/B runs, the fastest of 7 or of 3 repetitions):
 *  - forward by output rows (window rows in the padding dropped per row,
 *    border columns computed on a row of zeros), position-major tiles of
 *    small images, image-major tiles across rows: conv13's 16x16x128 to
 *    2x2x512 layers 1-15% faster (the 4x4x512 one 12% faster to 3% slower,
 *    the 16x16x128 one 3% either way), resnet50's 16x16 and 8x8 layers
 *    1-14%, its 32x32x16 one 9-11% (the stride-2 one 1% faster to 4%
 *    slower), conv7's stride-2 layers up to 19%
 *    (one run 1.5% slower); conv13's 32x32x64 and 16x16x64 layers 1-7%
 *    slower, conv7's 'valid' ones within 3.5% either way (the border
 *    classes come back to images whose lines the interior tiles have left;
 *    taking 6 or 12 images at a time did not help);
 *  - backward-data by column classes or position-major tiles (the union of
 *    the rows' taps, pointers row by row): conv7's 26x26x32, 12x12x32 and
 *    10x10x64 'valid' layers 7-16%, 6% and 11% faster, its 8x8x64
 *    stride-2 one 10%;
 *  - backward-data by phase rows (strided layers): conv7's 24x24x32
 *    stride-2 layer 5-10%, resnet50's 32x32x16 one 4-8%;
 *  - backward-data of stride-1 'same' layers as a forward with the flipped
 *    kernel: conv13's 8x8x256, 4x4x512 and 2x2x512 layers 7-12%, 5-8% and
 *    5-9% (2 threads: 4x4x512 10-15%), resnet50's 32x32x16 and 8x8x64 ones
 *    7-10%, conv13's 32x32x64 and 16x16x128 ones the same within 1%;
 *  - the GEMM + col2im for 'valid' windows nearly as large as the image
 *    (conv7's 4x4 layer: the same). */
#define AXIS_MAX (2 * MAX_TAPS + 2)

/* Phase (ry, rx) of backward-data's input grid: positions iy = cy + s*a
 * (a < ha) with (iy + pad) % s == ry. */
typedef struct {
    int ry, rx, cy, cx, ha, wa, nu, nv;
    int tap0; /* the phase's first tap slot in the transposed kernel */
} phase;

/* Runs of equal tap ranges along an axis of len positions: run k is
 * [x0[k], x0[k + 1]) with taps [lo[k], hi[k]] (none when lo > hi, written
 * [0, -1] so that positions reaching nothing form one run however far out
 * they lie); returns the number of runs, at most 2 * nk + 1 <= AXIS_MAX. */
static int axis_runs(int len, int a0, int da, int b0, int db, int nk, int *x0, int *lo, int *hi)
{
    int nr = 0;
    for (int x = 0; x < len; x++) {
        int l = a0 + da * x, h = b0 + db * x;
        if (l < 0) l = 0;
        if (h > nk - 1) h = nk - 1;
        if (l > h) {
            l = 0;
            h = -1;
        }
        if (nr == 0 || l != lo[nr - 1] || h != hi[nr - 1]) {
            x0[nr] = x;
            lo[nr] = l;
            hi[nr] = h;
            nr++;
        }
    }
    x0[nr] = len;
    return nr;
}

/* One unit of a class pass: its pixels (n, a, b), a < rows, b < cols, the
 * runs of both axes, and where pixels and taps lie. */
typedef struct {
    const lp_conv_geom *g;
    const phase *P; /* backward-data; NULL: the forward */
    int nr, nc;
    int ry0[AXIS_MAX + 1], rlo[AXIS_MAX], rhi[AXIS_MAX];
    int cx0[AXIS_MAX + 1], clo[AXIS_MAX], chi[AXIS_MAX];
    ptrdiff_t in_n, in_a, in_b;    /* input offsets of pixel (n, a, b) */
    float *out0;                   /* output of pixel (0, 0, 0) */
    ptrdiff_t out_n, out_a, out_b;
} pass_unit;

static void unit_fwd(const lp_conv_geom *g, float *y, pass_unit *u)
{
    u->g = g;
    u->P = NULL;
    u->nr = axis_runs(g->oh, g->pad_top, -g->sh, g->h - 1 + g->pad_top, -g->sh, g->kh, u->ry0, u->rlo, u->rhi);
    u->nc = axis_runs(g->ow, g->pad_left, -g->sw, g->w - 1 + g->pad_left, -g->sw, g->kw, u->cx0, u->clo, u->chi);
    u->in_n = (ptrdiff_t)g->h * g->w * g->c;
    u->in_a = (ptrdiff_t)g->sh * g->w * g->c;
    u->in_b = (ptrdiff_t)g->sw * g->c;
    u->out0 = y;
    u->out_n = (ptrdiff_t)g->oh * g->ow * g->oc;
    u->out_a = (ptrdiff_t)g->ow * g->oc;
    u->out_b = g->oc;
}

static void unit_bwd(const lp_conv_geom *g, const phase *P, float *dx, pass_unit *u)
{
    const int qy0 = (P->cy + g->pad_top - P->ry) / g->sh, qx0 = (P->cx + g->pad_left - P->rx) / g->sw;
    u->g = g;
    u->P = P;
    /* dx row a reads dy rows qy0 + a - t for taps t */
    u->nr = axis_runs(P->ha, qy0 - g->oh + 1, 1, qy0, 1, P->nu, u->ry0, u->rlo, u->rhi);
    u->nc = axis_runs(P->wa, qx0 - g->ow + 1, 1, qx0, 1, P->nv, u->cx0, u->clo, u->chi);
    u->in_n = (ptrdiff_t)g->oh * g->ow * g->oc;
    u->in_a = (ptrdiff_t)g->ow * g->oc;
    u->in_b = g->oc;
    u->out0 = dx + ((size_t)P->cy * g->w + P->cx) * g->c;
    u->out_n = (ptrdiff_t)g->h * g->w * g->c;
    u->out_a = (ptrdiff_t)g->sh * g->w * g->c;
    u->out_b = (ptrdiff_t)g->sw * g->c;
}

/* Slot of phase P's tap (tu, tv) in the transposed kernel: phase by
 * phase, tap rows in order, tap columns reversed, so that a row's taps in
 * class_tap_table's order (dy's columns ascending) have their weights
 * consecutive too and merge_row_taps can join them. */
static inline int bwd_slot(const phase *P, int tu, int tv)
{
    return P->tap0 + tu * P->nv + P->nv - 1 - tv;
}

static inline int class_taps(const pass_unit *u, int i, int j)
{
    return u->rhi[i] >= u->rlo[i] && u->chi[j] >= u->clo[j]
               ? (u->rhi[i] - u->rlo[i] + 1) * (u->chi[j] - u->clo[j] + 1)
               : 0;
}

/* Class (i, j)'s taps in the FMA order (tap rows, then tap columns in
 * the order their inputs lie: the forward's ascending, backward-data's
 * descending): their offsets from the pixel's first input (the lowest
 * address, which *first gets relative to the pixel's input origin) and
 * their weights. */
static void class_tap_table(const pass_unit *u, int i, int j, const float *w, ptrdiff_t *toff,
                            const float **wt, ptrdiff_t *first)
{
    const lp_conv_geom *g = u->g;
    const int rlo = u->rlo[i], rhi = u->rhi[i], clo = u->clo[j], chi = u->chi[j];
    int t = 0;
    if (!u->P) { /* x row oy*sh - pad + ky: the first tap is (rlo, clo) */
        *first = ((ptrdiff_t)(rlo - g->pad_top) * g->w + clo - g->pad_left) * g->c;
        for (int ky = rlo; ky <= rhi; ky++)
            for (int kx = clo; kx <= chi; kx++, t++) {
                toff[t] = ((ptrdiff_t)(ky - rlo) * g->w + kx - clo) * g->c;
                wt[t] = w + (size_t)(ky * g->kw + kx) * g->c * g->oc;
            }
    } else { /* dy row qy0 + a - tu: the first tap is (rhi, chi) */
        const phase *P = u->P;
        const int qy0 = (P->cy + g->pad_top - P->ry) / g->sh, qx0 = (P->cx + g->pad_left - P->rx) / g->sw;
        *first = ((ptrdiff_t)(qy0 - rhi) * g->ow + qx0 - chi) * g->oc;
        for (int tu = rlo; tu <= rhi; tu++)
            for (int tv = chi; tv >= clo; tv--, t++) { /* dy's columns ascending */
                toff[t] = ((ptrdiff_t)(rhi - tu) * g->ow + chi - tv) * g->oc;
                wt[t] = w + (size_t)bwd_slot(P, tu, tv) * g->oc * g->c;
            }
    }
}

/* A row of g taps whose inputs are consecutive (each the previous one's k
 * channels further) and whose weights are too (k rows of ldw further) is
 * one tap of g*k channels: the FMAs and their order stay the same, the
 * per-tap work of the micro-kernel (12 pointer loads, the loop's start)
 * is paid once per row. Rows of a class's window are merged when every
 * row joins up (by construction they do: the window is dense in the input
 * and the kernel's taps of a row are adjacent); returns the new tap count
 * and sets *k. */
static int merge_row_taps(int ntap, int g, int *k, ptrdiff_t ldw, ptrdiff_t *toff, const float **wt)
{
    if (g < 2 || ntap % g) return ntap;
    for (int t = 0; t < ntap; t++)
        if (t % g && (toff[t] != toff[t - 1] + *k || wt[t] != wt[t - 1] + (ptrdiff_t)*k * ldw))
            return ntap;
    for (int r = 0; r < ntap / g; r++) {
        toff[r] = toff[r * g];
        wt[r] = wt[r * g];
    }
    *k *= g;
    return ntap / g;
}

typedef void (*unit_fn)(const lp_conv_geom *g, int k, const void *ctx, float *out, pass_unit *u);

static void unit_of_fwd(const lp_conv_geom *g, int k, const void *ctx, float *out, pass_unit *u)
{
    (void)k;
    (void)ctx;
    unit_fwd(g, out, u);
}

static void unit_of_phase(const lp_conv_geom *g, int k, const void *ctx, float *out, pass_unit *u)
{
    unit_bwd(g, (const phase *)ctx + k, out, u);
}

/* A tile's share of a class pass's work, for the split between threads:
 * its taps' channels plus a fixed cost per tile (LPC_TILE_OV channels:
 * the tile's pointers, prefetches and call). Counting taps alone gave a
 * thread of resnet50's stride-2 backward-data the 4-tap phase and the
 * other the 2-, 2- and 1-tap ones, where the fixed cost weighs most:
 * 32x32x16-32 637 -> 613 us on 2 threads (three rounds, medians of 5),
 * 16x16x32-64 531 -> 525; with 32 or 64 it was slower again. */
#define LPC_TILE_OV 16
static inline long long tile_work(int ntap, int k)
{
    return (long long)(ntap > 0 ? ntap * k : k) + LPC_TILE_OV;
}

/* The class pass over nunit units (make builds unit k): input in (x or
 * dy), weights w (ldw floats per channel row, k channels per tap),
 * kout output channels, the forward's bias and ReLU in the epilogue. */
static void class_pass(const lp_conv_geom *g, int nunit, unit_fn make, const void *ctx, const float *in,
                       const float *w, int k, int ldw, int kout, float *out, const float *bias, int relu)
{
    const int taps = g->kh * g->kw;
    const double flops = 2.0 * g->n * (double)g->oh * g->ow * taps * g->c * g->oc;
    const int og = out_group((size_t)taps * g->c * g->oc, kout), ngrp = (kout + og - 1) / og;
    long long work = 0; /* of one channel group */
    for (int q = 0; q < nunit; q++) {
        pass_unit u;
        make(g, q, ctx, out, &u);
        for (int i = 0; i < u.nr; i++)
            for (int j = 0; j < u.nc; j++) {
                const int npix = g->n * (u.ry0[i + 1] - u.ry0[i]) * (u.cx0[j + 1] - u.cx0[j]);
                work += (long long)((npix + MR - 1) / MR) * tile_work(class_taps(&u, i, j), k);
            }
    }
    const long long total = work * ngrp;
#pragma omp parallel num_threads(lpc_team(flops))
    {
        const int nth = omp_get_num_threads(), th = omp_get_thread_num();
        const long long w_lo = total * th / nth, w_hi = total * (th + 1) / nth;
        long long at = 0; /* work before the current class */
        pass_unit u;
        for (int grp = 0; grp < ngrp && at < w_hi; grp++) {
            const int o_lo = grp * og, o_hi = o_lo + og < kout ? o_lo + og : kout;
            for (int q = 0; q < nunit && at < w_hi; q++) {
                make(g, q, ctx, out, &u);
                for (int i = 0; i < u.nr; i++)
                    for (int j = 0; j < u.nc; j++) {
                        const int a0 = u.ry0[i], nr = u.ry0[i + 1] - a0;
                        const int b0 = u.cx0[j], nc = u.cx0[j + 1] - b0;
                        const int npix = g->n * nr * nc, ntile = (npix + MR - 1) / MR;
                        const int ntap = class_taps(&u, i, j);
                        const long long per = tile_work(ntap, k);
                        const long long c0 = at, c1 = at + (long long)ntile * per;
                        at = c1;
                        if (c1 <= w_lo || c0 >= w_hi) continue;
                        /* the tiles t whose work c0 + t * per starts in [w_lo, w_hi) */
                        const int t0 = c0 >= w_lo ? 0 : (int)((w_lo - c0 + per - 1) / per);
                        const int t1 = c1 <= w_hi ? ntile : (int)((w_hi - c0 + per - 1) / per);
                        const float *wt[MAX_TAPS];
                        ptrdiff_t toff[MAX_TAPS], first = 0;
                        int mtap = 0, mk = k; /* taps after merge_row_taps, channels per tap */
                        if (ntap) {
                            class_tap_table(&u, i, j, w, toff, wt, &first);
                            mtap = merge_row_taps(ntap, u.chi[j] - u.clo[j] + 1, &mk, ldw, toff, wt);
                        }
                        /* a class of fewer than 12 pixels per image makes
                         * tiles across images: register broadcasts (8-20%
                         * faster than memory ones on such rows) */
                        const int emb = nr * nc >= MR;
                        for (int tile = t0; tile < t1; tile++) {
                            const int p0 = tile * MR, rows = npix - p0 < MR ? npix - p0 : MR;
                            const float *ptr[MAX_TAPS * MR], *base[MR];
                            float *dst[MR];
                            int n = p0 / (nr * nc), rem = p0 - n * nr * nc, ai = rem / nc, bj = rem - ai * nc;
                            /* pointers stepped along the class's pixels,
                             * recomputed at a row's start only (the
                             * multiplies for every pixel were a third of
                             * the driver's time; resnet50's 32x32x16
                             * stride-2 backward-data 5% faster, 1 thread) */
                            const float *pin = in + n * u.in_n + (a0 + ai) * u.in_a + (b0 + bj) * u.in_b + first;
                            float *pout = u.out0 + n * u.out_n + (a0 + ai) * u.out_a + (b0 + bj) * u.out_b;
                            for (int r = 0; r < MR; r++) { /* rows past `rows` repeat the last */
                                if (r > 0 && r < rows) {
                                    if (++bj < nc) {
                                        pin += u.in_b;
                                        pout += u.out_b;
                                    } else {
                                        bj = 0;
                                        if (++ai == nr) {
                                            ai = 0;
                                            n++;
                                        }
                                        pin = in + n * u.in_n + (a0 + ai) * u.in_a + b0 * u.in_b + first;
                                        pout = u.out0 + n * u.out_n + (a0 + ai) * u.out_a + b0 * u.out_b;
                                    }
                                }
                                base[r] = pin;
                                dst[r] = pout;
                            }
                            prefetch_out(dst, rows, o_lo, o_hi);
                            if (ntap == 0) { /* no tap reaches the class */
                                fill_no_taps(dst, rows, o_lo, o_hi, bias, relu);
                                continue;
                            }
                            fill_fixed(ptr, mtap, base, toff);
                            tile_all_columns(mtap, mk, ptr, wt, ldw, o_lo, o_hi, dst, rows, bias, relu, emb);
                        }
                    }
            }
        }
    }
}

/* Input layers (c < 8: 1 or 3 channels): a tap is too short a k loop, so
 * each tile gathers its 12 pixels' whole windows into a [12][kk] block (an
 * im2col of 12 rows, zeros in the padding) and runs as one tap of kk. */
#define GATHER_MAXKK 256
static void fwd_gathered(const lp_conv_geom *g, const float *x, const float *w, float *y,
                         const float *bias, int relu)
{
    const int c = g->c, kk = g->kh * g->kw * c, ohw = g->oh * g->ow, npix = g->n * ohw;
    const int ntile = (npix + MR - 1) / MR;
    int off[GATHER_MAXKK], ei[GATHER_MAXKK], ej[GATHER_MAXKK];
    for (int e = 0; e < kk; e++) {
        const int t = e / c, ci = e - t * c;
        ei[e] = t / g->kw;
        ej[e] = t - ei[e] * g->kw;
        off[e] = (ei[e] * g->w + ej[e]) * c + ci;
    }
    const int span = g->kw * c; /* floats of one window row, contiguous in x */
    const double flops = 2.0 * npix * (double)kk * g->oc;
#pragma omp parallel for schedule(static) num_threads(lpc_team(flops))
    for (int tile = 0; tile < ntile; tile++) {
        _Alignas(64) float buf[MR * GATHER_MAXKK + 16]; /* + lpc_window's slack */
        const float *in[MR], *wt[1] = {w};
        float *out[MR];
        const int p0 = tile * MR, rows = npix - p0 < MR ? npix - p0 : MR;
        int n = p0 / ohw, oy = (p0 - n * ohw) / g->ow, ox = p0 - n * ohw - oy * g->ow;
        for (int r = 0; r < MR; r++) {
            float *b = buf + (size_t)r * kk;
            in[r] = b;
            out[r] = y + (size_t)(p0 + r) * g->oc;
            const int iy0 = oy * g->sh - g->pad_top, ix0 = ox * g->sw - g->pad_left;
            const float *img = x + (size_t)n * g->h * g->w * c;
            if (r >= rows) {
                memset(b, 0, sizeof(float) * (size_t)kk);
            } else if (span <= 16) { /* one masked load per window row */
                lpc_window(img, g->h, g->w, c, g->kh, g->kw, iy0, ix0, b);
            } else if (iy0 >= 0 && iy0 + g->kh <= g->h && ix0 >= 0 && ix0 + g->kw <= g->w) {
                const float *corner = img + ((size_t)iy0 * g->w + ix0) * c;
                for (int e = 0; e < kk; e++) b[e] = corner[off[e]];
            } else {
                for (int e = 0; e < kk; e++) {
                    const int iy = iy0 + ei[e], ix = ix0 + ej[e];
                    b[e] = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w
                               ? img[((size_t)iy * g->w + ix) * c + off[e] % c]
                               : 0.0f;
                }
            }
            if (++ox == g->ow) {
                ox = 0;
                if (++oy == g->oh) {
                    oy = 0;
                    if (n + 1 < g->n) n++;
                }
            }
        }
        tile_all_columns(1, kk, in, wt, g->oc, 0, g->oc, out, rows, bias, relu, 1);
    }
}

/* The pixels (n, a*sh, b*sw) of a 1x1 unpadded window's input (or dx) in
 * output order, as float offsets: one add per pixel, two more at a row's
 * end and three at an image's. */
typedef struct {
    ptrdiff_t step, row_step, img_step; /* to the next pixel, row, image */
    int oh, ow;
} walk1x1;

static inline walk1x1 walk1x1_of(const lp_conv_geom *g)
{
    walk1x1 k;
    k.step = (ptrdiff_t)g->sw * g->c;
    k.row_step = ((ptrdiff_t)g->sh * g->w - (ptrdiff_t)g->ow * g->sw) * g->c;
    k.img_step = ((ptrdiff_t)g->h - (ptrdiff_t)g->oh * g->sh) * g->w * g->c;
    k.oh = g->oh;
    k.ow = g->ow;
    return k;
}

/* From output pixel (a, b) at offset *o to the next; returns 1 when that
 * starts a new image. */
static inline int walk1x1_next(const walk1x1 *k, ptrdiff_t *o, int *a, int *b)
{
    *o += k->step;
    if (++*b < k->ow) return 0;
    *b = 0;
    *o += k->row_step;
    if (++*a < k->oh) return 0;
    *a = 0;
    *o += k->img_step;
    return 1;
}

/* 1x1 windows without padding (resnet50's stride-2 shortcuts): y's row p
 * is x's pixel (n, a*sh, b*sw) times W; tiles of 12 consecutive output
 * pixels. Each thread takes a contiguous run of tiles (per channel group)
 * and steps the input pointer along it: the pixel's position is divided
 * out once per run, not per tile, and no row is multiplied out (the
 * per-tile divisions and products took a fifth of the time at c = 16).
 * No output prefetch here: the class passes' prefetch_out made this
 * driver about 3% slower. */
static void fwd_1x1(const lp_conv_geom *g, const float *x, const float *w, float *y,
                    const float *bias, int relu)
{
    const int c = g->c, oc = g->oc, ohw = g->oh * g->ow, npix = g->n * ohw;
    const int ntile = (npix + MR - 1) / MR;
    const double flops = 2.0 * npix * (double)c * oc;
    const int og = out_group((size_t)c * oc, oc), ngrp = (oc + og - 1) / og;
    const walk1x1 wk = walk1x1_of(g);
    const int team = lpc_team(flops), items = ntile * ngrp;
#pragma omp parallel num_threads(team)
    {
        const int nt = omp_get_num_threads(), id = omp_get_thread_num();
        const int lo = (int)((long long)items * id / nt), hi = (int)((long long)items * (id + 1) / nt);
        for (int item = lo; item < hi;) {
            const int grp = item / ntile, o_lo = grp * og, o_hi = o_lo + og < oc ? o_lo + og : oc;
            const int t_end = (grp + 1) * ntile < hi ? (grp + 1) * ntile : hi;
            int p = (item - grp * ntile) * MR;
            int n = p / ohw, a = (p - n * ohw) / g->ow, b = p - n * ohw - a * g->ow;
            ptrdiff_t xo = (((ptrdiff_t)n * g->h + (ptrdiff_t)a * g->sh) * g->w + (ptrdiff_t)b * g->sw) * c;
            for (; item < t_end; item++, p += MR) {
                const int rows = npix - p < MR ? npix - p : MR;
                const float *in[MR];
                float *out[MR];
                for (int r = 0; r < rows; r++) {
                    out[r] = y + (size_t)(p + r) * oc;
                    in[r] = x + xo;
                    walk1x1_next(&wk, &xo, &a, &b);
                }
                for (int r = rows; r < MR; r++) { /* past the last pixel: repeat it (never stored) */
                    in[r] = in[r - 1];
                    out[r] = out[r - 1];
                }
                if (rows == MR && c == 16 && o_lo == 0 && o_hi == 32)
                    igemm_12x32e_k16(1, 16, in, &w, oc, 0xffff, 0xffff, out, MR, bias, relu);
                else {
                    const float *wt[1] = {w};
                    tile_all_columns(1, c, in, wt, oc, o_lo, o_hi, out, rows, bias, relu, 1);
                }
            }
        }
    }
}

int lp_avx512_conv_fwd_igemm(const lp_conv_geom *g, const float *x, const float *w, float *y,
                             const float *bias, int relu)
{
    if (!shape_ok(g)) return 0;
    if (lp_avx512_conv_fwd_input(g, x, w, y, bias, relu)) return 1;
    if (g->kh == 1 && g->kw == 1 && g->pad_top == 0 && g->pad_left == 0) {
        fwd_1x1(g, x, w, y, bias, relu);
        return 1;
    }
    if (g->c < 8 && g->kh * g->kw * g->c <= GATHER_MAXKK) {
        fwd_gathered(g, x, w, y, bias, relu);
        return 1;
    }
    class_pass(g, 1, unit_of_fwd, NULL, x, w, g->c, g->oc, g->oc, y, bias, relu);
    return 1;
}

size_t lp_avx512_conv_bwd_data_igemm_floats(const lp_conv_geom *g)
{
    return (size_t)g->kh * g->kw * g->c * g->oc;
}

/* 1x1 windows without padding (resnet50's stride-2 shortcuts): dx at
 * (a*sh, b*sw) is dy's row (n, a, b) times W' and 0 elsewhere. The live
 * pixels are one GEMM over dy's rows, which are contiguous: 12-row tiles
 * of consecutive dy pixels, output rows stepped along (no phases, no
 * per-row window logic: that was 2/3 of the general path's time here).
 * Each thread takes a contiguous run of whole images, its tiles running on
 * across their boundaries (no short tile per image: 8x8 and 16x16 images
 * are 64 and 256 pixels), and clears and writes only its images' dx
 * (clearing all of dx first, then the tiles in any order, moved lines
 * between the cores: at times 2.5x slower on 2 threads). Each dy row's dx
 * rows are cleared just before the tile that enters it, so that the tiles
 * write lines still in L1 (a memset of the whole image first: 8% slower
 * at 32x32x16, one thread). */
static void bwd_data_1x1(const lp_conv_geom *g, const float *dy, const float *wtr, float *dx)
{
    const int c = g->c, oc = g->oc, ohw = g->oh * g->ow;
    const int sparse = g->sh > 1 || g->sw > 1 || g->oh * g->sh != g->h || g->ow * g->sw != g->w;
    const size_t img = (size_t)g->h * g->w * c;
    const double flops = 2.0 * g->n * ohw * (double)c * oc;
    const walk1x1 wk = walk1x1_of(g);
#pragma omp parallel num_threads(lpc_team(flops))
    {
        const int nt = omp_get_num_threads(), id = omp_get_thread_num();
        const int n_lo = (int)((long long)g->n * id / nt), n_hi = (int)((long long)g->n * (id + 1) / nt);
        const size_t p_end = (size_t)n_hi * ohw;
        float *dxn = dx + (size_t)n_lo * img;    /* the image being written */
        ptrdiff_t xo = (ptrdiff_t)n_lo * img; /* dx's offset of the next pixel */
        int a = 0, b = 0;
        for (size_t p0 = (size_t)n_lo * ohw; p0 < p_end; p0 += MR) {
            const int rows = p_end - p0 < MR ? (int)(p_end - p0) : MR;
            const float *in[MR];
            float *out[MR];
            for (int r = 0; r < rows; r++) {
                if (sparse && b == 0) /* entering dy row a: clear its dx rows */
                    memset(dxn + (size_t)a * g->sh * g->w * c, 0,
                           sizeof(float) * (size_t)((a + 1 == g->oh ? g->h : (a + 1) * g->sh) - a * g->sh) *
                               g->w * c);
                in[r] = dy + (p0 + (size_t)r) * oc;
                out[r] = dx + xo;
                if (walk1x1_next(&wk, &xo, &a, &b)) dxn += img;
            }
            for (int r = rows; r < MR; r++) { /* past the last pixel: repeat it (never stored) */
                in[r] = in[r - 1];
                out[r] = out[r - 1];
            }
            if (rows == MR && oc == 32 && c == 16)
                igemm_12x16e_k32(1, 32, in, &wtr, c, 0xffff, 0, out, MR, NULL, 0);
            else if (rows == MR && oc == 64 && c == 32)
                igemm_12x32e_k64(1, 64, in, &wtr, c, 0xffff, 0xffff, out, MR, NULL, 0);
            else {
                const float *wt[1] = {wtr};
                tile_all_columns(1, oc, in, wt, c, 0, c, out, rows, NULL, 0, 1);
            }
        }
    }
}

/* wtr[t][o][ci] = w[t][ci][o] for every tap t, in 16x8 blocks: two 8x8 register transposes per block, each
 * output row getting a whole 64-byte line, the items (tap, 16 input
 * channels) spread over the team. The plain 16x16-block loop this replaces
 * took 1.9 ms of conv13's 4x4x512 backward-data (18.5 ms, 2 threads). */
static void transpose_taps(const float *w, float *wtr, const int *slot, int taps, int c, int oc)
{
    const int cb = (c + 15) / 16, items = taps * cb;
#pragma omp parallel for schedule(static) num_threads(lpc_team(64.0 * taps * c * oc))
    for (int it = 0; it < items; it++) {
        const int t = it / cb, c0 = it % cb * 16, c1 = c0 + 16 < c ? c0 + 16 : c;
        const float *src = w + (size_t)t * c * oc;
        float *dst = wtr + (size_t)slot[t] * oc * c;
        int o0 = 0;
        if (c1 - c0 == 16)
            for (; o0 + 8 <= oc; o0 += 8) {
                __m256 a[8], b[8];
                for (int q = 0; q < 8; q++) {
                    a[q] = _mm256_loadu_ps(src + (size_t)(c0 + q) * oc + o0);
                    b[q] = _mm256_loadu_ps(src + (size_t)(c0 + 8 + q) * oc + o0);
                }
                lp_tr8x8_ps(a);
                lp_tr8x8_ps(b);
                for (int q = 0; q < 8; q++) {
                    _mm256_storeu_ps(dst + (size_t)(o0 + q) * c + c0, a[q]);
                    _mm256_storeu_ps(dst + (size_t)(o0 + q) * c + c0 + 8, b[q]);
                }
            }
        for (int o = o0; o < oc; o++)
            for (int ci = c0; ci < c1; ci++) dst[(size_t)o * c + ci] = src[(size_t)ci * oc + o];
    }
}

int lp_avx512_conv_bwd_data_igemm(const lp_conv_geom *g, const float *dy, const float *w, float *dx,
                                  float *wtr)
{
    if (!shape_ok(g) || g->sh > 8 || g->sw > 8) return 0;
    const int c = g->c, oc = g->oc, taps = g->kh * g->kw;

    /* a phase no tap reaches (a window smaller than the stride) is one
     * class with no taps: its dx is written as zeros */
    phase ph[64];
    int nph = 0, tap0 = 0, slot[MAX_TAPS];
    for (int ry = 0; ry < g->sh; ry++)
        for (int rx = 0; rx < g->sw; rx++) {
            phase *f = &ph[nph++];
            f->ry = ry;
            f->rx = rx;
            f->cy = ((ry - g->pad_top) % g->sh + g->sh) % g->sh;
            f->cx = ((rx - g->pad_left) % g->sw + g->sw) % g->sw;
            f->ha = g->h > f->cy ? (g->h - f->cy + g->sh - 1) / g->sh : 0;
            f->wa = g->w > f->cx ? (g->w - f->cx + g->sw - 1) / g->sw : 0;
            f->nu = g->kh > ry ? (g->kh - ry + g->sh - 1) / g->sh : 0;
            f->nv = g->kw > rx ? (g->kw - rx + g->sw - 1) / g->sw : 0;
            f->tap0 = tap0;
            for (int tu = 0; tu < f->nu; tu++)
                for (int tv = 0; tv < f->nv; tv++)
                    slot[(ry + g->sh * tu) * g->kw + rx + g->sw * tv] = bwd_slot(f, tu, tv);
            tap0 += f->nu * f->nv;
        }
    transpose_taps(w, wtr, slot, taps, c, oc);
    if (g->kh == 1 && g->kw == 1 && g->pad_top == 0 && g->pad_left == 0) {
        bwd_data_1x1(g, dy, wtr, dx);
        return 1;
    }
    class_pass(g, nph, unit_of_phase, ph, dy, wtr, oc, c, c, dx, NULL, 0);
    return 1;
}
