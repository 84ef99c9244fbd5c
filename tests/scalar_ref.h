/* Helpers for the scalar kernel tests: a tiny deterministic RNG and naive
 * double-precision references (written for clarity, not speed). */
#ifndef LAPERM_TESTS_SCALAR_REF_H
#define LAPERM_TESTS_SCALAR_REF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

typedef struct { uint64_t s; } sr_rng;

static inline uint64_t sr_next(sr_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* uniform in [lo, hi) */
static inline float sr_unif(sr_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((sr_next(r) >> 40) * (1.0 / 16777216.0));
}
static inline int sr_below(sr_rng *r, int n) { return (int)(sr_next(r) % (uint64_t)n); }

static inline float *sr_rand_vec(sr_rng *r, size_t n, float lo, float hi)
{
    float *v = (float *)malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) v[i] = sr_unif(r, lo, hi);
    return v;
}

static inline uint32_t sr_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Largest |a - b| over n floats; NaN anywhere gives +inf. */
static inline double sr_max_abs_diff(size_t n, const float *a, const double *b)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d != d) return INFINITY;
        if (d > m) m = d;
    }
    return m;
}

/* A conv/pool geometry; same != 0 uses TF 'same' padding (asymmetric). */
static inline lp_conv_geom sr_geom(int n, int h, int w, int c, int kh, int kw, int sh, int sw,
                                   int oc, int same)
{
    lp_conv_geom g;
    g.n = n; g.h = h; g.w = w; g.c = c; g.kh = kh; g.kw = kw; g.sh = sh; g.sw = sw; g.oc = oc;
    if (same) {
        g.oh = lp_same_out(h, sh);
        g.ow = lp_same_out(w, sw);
        g.pad_top = lp_same_pad_before(h, kh, sh);
        g.pad_left = lp_same_pad_before(w, kw, sw);
    } else {
        g.oh = (h - kh) / sh + 1;
        g.ow = (w - kw) / sw + 1;
        g.pad_top = g.pad_left = 0;
    }
    return g;
}

static inline size_t sr_xsize(const lp_conv_geom *g) { return (size_t)g->n * g->h * g->w * g->c; }
static inline size_t sr_ysize(const lp_conv_geom *g) { return (size_t)g->n * g->oh * g->ow * g->oc; }
static inline size_t sr_wsize(const lp_conv_geom *g) { return (size_t)g->kh * g->kw * g->c * g->oc; }

/* Input index of output (oy, ox) tap (ky, kx), or -1 when in the padding. */
static inline long sr_tap(const lp_conv_geom *g, int n, int oy, int ox, int ky, int kx, int ci)
{
    int iy = oy * g->sh - g->pad_top + ky, ix = ox * g->sw - g->pad_left + kx;
    if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) return -1;
    return (((long)n * g->h + iy) * g->w + ix) * g->c + ci;
}

/* Direct convolution, 7 nested loops, double. mode 0: y = conv(x, w);
 * mode 1: dx from dy and w; mode 2: dw from x and dy. */
static inline void sr_conv_naive(const lp_conv_geom *g, int mode, const float *x, const float *w,
                                 const float *dy, double *out)
{
    size_t on = mode == 0 ? sr_ysize(g) : mode == 1 ? sr_xsize(g) : sr_wsize(g);
    for (size_t i = 0; i < on; i++) out[i] = 0;
    for (int n = 0; n < g->n; n++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int ky = 0; ky < g->kh; ky++)
                    for (int kx = 0; kx < g->kw; kx++)
                        for (int ci = 0; ci < g->c; ci++) {
                            long xi = sr_tap(g, n, oy, ox, ky, kx, ci);
                            if (xi < 0) continue;
                            for (int o = 0; o < g->oc; o++) {
                                size_t wi = (((size_t)ky * g->kw + kx) * g->c + ci) * g->oc + o;
                                size_t yi = (((size_t)n * g->oh + oy) * g->ow + ox) * g->oc + o;
                                if (mode == 0) out[yi] += (double)x[xi] * w[wi];
                                else if (mode == 1) out[xi] += (double)dy[yi] * w[wi];
                                else out[wi] += (double)x[xi] * dy[yi];
                            }
                        }
}

#endif
