/* The oneDNN backend (kernels/dnnl/) against the scalar table: convolution
 * forward / backward data / backward weights and batch norm forward
 * (training, inference) / backward, with and without the fused ReLU.
 *
 * Tolerances: oneDNN sums in other orders (and in float where the scalar
 * batch norm uses double), so results are compared by the largest absolute
 * difference relative to the largest reference magnitude:
 *     max |dnnl - scalar| <= tol * max(max |scalar|, 1e-3)
 * with tol = 1e-4 for convolution and the batch norm outputs and gradients,
 * 2e-5 for the batch mean (x has mean 2 and spread 3, so this is a relative
 * error of the statistics) and 1e-4 for the variance. Outputs are filled with
 * NaN first, so "overwritten" is checked too. The fallback path (the
 * backend's test hook rejecting every shape) must match scalar bit for bit. */
#include "lp_test.h"
#include "scalar_ref.h"

#include "kernels/dnnl/lp_dnnl.h"
#include "kernels/scalar/scalar.h"
#include "runtime/dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lp_kernels S, D;
static sr_rng R = {20240611u};

static float *nan_vec(size_t n)
{
    float *v = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) v[i] = NAN;
    return v;
}

/* max |a - r| / max(max |r|, 1e-3); +inf on any NaN or inf in a. */
static double rel_err(size_t n, const float *a, const float *r)
{
    double m = 0, scale = 1e-3;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        double d = fabs((double)a[i] - (double)r[i]);
        if (d > m) m = d;
        if (fabs((double)r[i]) > scale) scale = fabs((double)r[i]);
    }
    return m / scale;
}

#define CHECK_CLOSE(what, n, a, r, tol)                                                       \
    do {                                                                                     \
        double e_ = rel_err((n), (a), (r));                                                  \
        CHECK_MSG(e_ <= (tol), "%s: relative error %.3g > %.3g", (what), e_, (double)(tol)); \
    } while (0)

static int same_bits(size_t n, const float *a, const float *b)
{
    for (size_t i = 0; i < n; i++)
        if (sr_bits(a[i]) != sr_bits(b[i])) return 0;
    return 1;
}

/* ---- convolution ----------------------------------------------------------- */

typedef struct conv_case {
    int n, h, w, c, kh, kw, sh, sw, oc, same;
} conv_case;

static const conv_case conv_cases[] = {
    /* conv7's layers */
    {7, 28, 28, 1, 3, 3, 1, 1, 32, 0},
    {1, 26, 26, 32, 3, 3, 1, 1, 32, 0},
    {7, 24, 24, 32, 5, 5, 2, 2, 32, 1},  /* stride 2 same: pad 1 before, 2 after */
    {1, 12, 12, 32, 3, 3, 1, 1, 64, 0},
    {7, 8, 8, 64, 5, 5, 2, 2, 64, 1},
    {7, 4, 4, 64, 4, 4, 1, 1, 128, 0},   /* 4x4 -> 1x1 */
    /* channels 1 and 3, kernels 1/3/4/5, 28x28 and 4x4, batch 1 and 7 */
    {1, 28, 28, 1, 3, 3, 1, 1, 4, 1},
    {7, 28, 28, 3, 3, 3, 1, 1, 8, 1},
    {7, 28, 28, 3, 5, 5, 2, 2, 4, 1},   /* 28 -> 14, pad 1 / 2 */
    {1, 28, 28, 3, 4, 4, 2, 2, 5, 1},   /* 28 -> 14, pad 1 / 1 */
    {7, 28, 28, 1, 4, 4, 1, 1, 3, 1},   /* even kernel, stride 1: pad 1 / 2 */
    {1, 28, 28, 3, 1, 1, 2, 2, 4, 1},   /* 1x1 stride 2: no padding, tail unread */
    {7, 28, 28, 3, 1, 1, 1, 1, 6, 0},   /* pointwise */
    {1, 4, 4, 1, 4, 4, 1, 1, 5, 1},     /* 4x4 same: pad 1 / 2 */
    {7, 4, 4, 3, 5, 5, 2, 2, 8, 1},     /* 4 -> 2, pad 1 / 2 */
    {7, 4, 4, 1, 3, 3, 2, 2, 2, 1},     /* 4 -> 2, pad 0 / 1 */
    {1, 4, 4, 3, 1, 1, 1, 1, 1, 0},
    {1, 27, 27, 2, 4, 4, 2, 2, 3, 1},   /* odd input: pad 1 / 2 */
    {2, 9, 6, 3, 3, 5, 2, 1, 4, 1},     /* rectangular kernel, mixed strides */
    {3, 11, 7, 5, 5, 3, 3, 2, 6, 0},    /* valid, stride 3, unread tail */
};

static void conv_one(const conv_case *cc)
{
    lp_conv_geom g = sr_geom(cc->n, cc->h, cc->w, cc->c, cc->kh, cc->kw, cc->sh, cc->sw, cc->oc,
                             cc->same);
    size_t nx = sr_xsize(&g), ny = sr_ysize(&g), nw = sr_wsize(&g);
    float *x = sr_rand_vec(&R, nx, -1, 1), *w = sr_rand_vec(&R, nw, -1, 1);
    float *dy = sr_rand_vec(&R, ny, -1, 1);
    size_t wss = S.conv_workspace(&g), wsd = D.conv_workspace(&g);
    CHECK_EQ_INT(wsd, 0);
    float *ws_s = malloc(sizeof(float) * (wss ? wss : 1));
    float *ws_d = wsd ? malloc(sizeof(float) * wsd) : NULL;
    float *ys = nan_vec(ny), *yd = nan_vec(ny), *dxs = nan_vec(nx), *dxd = nan_vec(nx);
    float *dws = nan_vec(nw), *dwd = nan_vec(nw);

    lp_dnnl_stats before, after;
    lp_dnnl_get_stats(&before);
    S.conv_fwd(&S, &g, x, w, ys, ws_s);
    D.conv_fwd(&D, &g, x, w, yd, ws_d);
    S.conv_bwd_data(&S, &g, dy, w, dxs, ws_s);
    D.conv_bwd_data(&D, &g, dy, w, dxd, ws_d);
    S.conv_bwd_weights(&S, &g, x, dy, dws, ws_s);
    D.conv_bwd_weights(&D, &g, x, dy, dwd, ws_d);
    lp_dnnl_get_stats(&after);

    char what[160];
    snprintf(what, sizeof what, "n%d %dx%dx%d k%dx%d s%dx%d %s oc%d", cc->n, cc->h, cc->w,
             cc->c, cc->kh, cc->kw, cc->sh, cc->sw, cc->same ? "same" : "valid", cc->oc);
    char m[200];
    snprintf(m, sizeof m, "conv fwd %s", what);
    CHECK_CLOSE(m, ny, yd, ys, 1e-4);
    snprintf(m, sizeof m, "conv bwd data %s", what);
    CHECK_CLOSE(m, nx, dxd, dxs, 1e-4);
    snprintf(m, sizeof m, "conv bwd weights %s", what);
    CHECK_CLOSE(m, nw, dwd, dws, 1e-4);
    /* All three ran in oneDNN, none fell back. */
    CHECK_MSG(after.conv_dnnl - before.conv_dnnl == 3 && after.conv_native == before.conv_native,
              "%s: %lu dnnl, %lu native calls (%s)", what, after.conv_dnnl - before.conv_dnnl,
              after.conv_native - before.conv_native, lp_dnnl_last_error());
    printf("     %-40s fwd %s | bwd data %s | bwd w %s\n", what,
           lp_dnnl_conv_impl(&g, LP_DNNL_CONV_FWD), lp_dnnl_conv_impl(&g, LP_DNNL_CONV_BWD_DATA),
           lp_dnnl_conv_impl(&g, LP_DNNL_CONV_BWD_WEIGHTS));

    /* A second call reuses the cached primitives with other pointers. */
    float *x2 = sr_rand_vec(&R, nx, -2, 2), *w2 = sr_rand_vec(&R, nw, -1, 1);
    S.conv_fwd(&S, &g, x2, w2, ys, ws_s);
    D.conv_fwd(&D, &g, x2, w2, yd, ws_d);
    snprintf(m, sizeof m, "conv fwd (cached) %s", what);
    CHECK_CLOSE(m, ny, yd, ys, 1e-4);

    free(x); free(w); free(dy); free(x2); free(w2); free(ws_s); free(ws_d);
    free(ys); free(yd); free(dxs); free(dxd); free(dws); free(dwd);
}

static void test_conv(void)
{
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
        conv_one(&conv_cases[i]);
}

/* Random shapes within the same families. */
static void test_conv_random(void)
{
    static const int ks[] = {1, 3, 4, 5};
    for (int t = 0; t < 12; t++) {
        conv_case cc;
        cc.n = sr_below(&R, 2) ? 7 : 1 + sr_below(&R, 3);
        cc.h = 4 + sr_below(&R, 25);
        cc.w = 4 + sr_below(&R, 25);
        cc.c = 1 + sr_below(&R, 6);
        cc.kh = ks[sr_below(&R, 4)];
        cc.kw = sr_below(&R, 3) ? cc.kh : ks[sr_below(&R, 4)];
        cc.sh = 1 + sr_below(&R, 2);
        cc.sw = sr_below(&R, 3) ? cc.sh : 1 + sr_below(&R, 2);
        cc.oc = 1 + sr_below(&R, 9);
        cc.same = sr_below(&R, 3) != 0;
        if (!cc.same && (cc.kh > cc.h || cc.kw > cc.w)) cc.same = 1;
        conv_one(&cc);
    }
}

/* ---- batch norm ------------------------------------------------------------ */

typedef struct bn_case {
    size_t rows;
    int c;
    float eps;
} bn_case;

static const bn_case bn_cases[] = {
    {7 * 28 * 28, 1, 1e-3f}, {7 * 4 * 4, 3, 1e-3f}, {28 * 28, 32, 1e-3f}, {50, 10, 1e-3f},
    {7 * 14 * 14, 17, 1e-3f}, {50 * 12 * 12, 64, 1e-5f}, {2, 3, 1e-3f}, {1, 5, 1e-3f},
};

static void bn_one(const bn_case *bc, int relu)
{
    size_t rows = bc->rows, n = rows * (size_t)bc->c;
    int c = bc->c;
    float eps = bc->eps;
    float *x = sr_rand_vec(&R, n, -1, 5); /* mean 2, spread 3 */
    float *gamma = sr_rand_vec(&R, (size_t)c, -1.5f, 1.5f);
    float *beta = sr_rand_vec(&R, (size_t)c, -0.5f, 0.5f);
    float *ys = nan_vec(n), *yd = nan_vec(n);
    float *ms = nan_vec((size_t)c), *md = nan_vec((size_t)c);
    float *vs = nan_vec((size_t)c), *vd = nan_vec((size_t)c);
    char what[160], m[200];
    snprintf(what, sizeof what, "rows %zu c %d eps %g relu %d", rows, c, (double)eps, relu);

    lp_dnnl_stats before, after;
    lp_dnnl_get_stats(&before);
    /* training forward */
    S.bn_fwd_train(rows, c, x, gamma, beta, eps, ys, ms, vs, relu);
    D.bn_fwd_train(rows, c, x, gamma, beta, eps, yd, md, vd, relu);
    snprintf(m, sizeof m, "bn train y %s", what);
    CHECK_CLOSE(m, n, yd, ys, 1e-4);
    snprintf(m, sizeof m, "bn train mean %s", what);
    CHECK_CLOSE(m, (size_t)c, md, ms, 2e-5);
    snprintf(m, sizeof m, "bn train var (biased) %s", what);
    CHECK_CLOSE(m, (size_t)c, vd, vs, 1e-4);
    /* y may be x (the scalar kernel allows it; oneDNN runs in place). */
    float *xy = malloc(sizeof(float) * n);
    memcpy(xy, x, sizeof(float) * n);
    D.bn_fwd_train(rows, c, xy, gamma, beta, eps, xy, md, vd, relu);
    snprintf(m, sizeof m, "bn train in place y %s", what);
    CHECK_CLOSE(m, n, xy, ys, 1e-4);

    /* inference with other statistics */
    float *mi = sr_rand_vec(&R, (size_t)c, 1, 3), *vi = sr_rand_vec(&R, (size_t)c, 0.5f, 4);
    float *yi_s = nan_vec(n), *yi_d = nan_vec(n);
    S.bn_fwd_infer(rows, c, x, gamma, beta, mi, vi, eps, yi_s, relu);
    D.bn_fwd_infer(rows, c, x, gamma, beta, mi, vi, eps, yi_d, relu);
    snprintf(m, sizeof m, "bn infer y %s", what);
    CHECK_CLOSE(m, n, yi_d, yi_s, 1e-4);
    memcpy(xy, x, sizeof(float) * n);
    D.bn_fwd_infer(rows, c, xy, gamma, beta, mi, vi, eps, xy, relu);
    snprintf(m, sizeof m, "bn infer in place y %s", what);
    CHECK_CLOSE(m, n, xy, yi_s, 1e-4);

    /* backward from the scalar forward's y / mean / var */
    float *dy = sr_rand_vec(&R, n, -1, 1);
    float *dxs = nan_vec(n), *dxd = nan_vec(n);
    float *dgs = nan_vec((size_t)c), *dgd = nan_vec((size_t)c);
    float *dbs = nan_vec((size_t)c), *dbd = nan_vec((size_t)c);
    S.bn_bwd(rows, c, x, ys, dy, gamma, ms, vs, eps, dxs, dgs, dbs, relu);
    D.bn_bwd(rows, c, x, ys, dy, gamma, ms, vs, eps, dxd, dgd, dbd, relu);
    snprintf(m, sizeof m, "bn bwd dx %s", what);
    CHECK_CLOSE(m, n, dxd, dxs, 1e-4);
    snprintf(m, sizeof m, "bn bwd dgamma %s", what);
    CHECK_CLOSE(m, (size_t)c, dgd, dgs, 1e-4);
    snprintf(m, sizeof m, "bn bwd dbeta %s", what);
    CHECK_CLOSE(m, (size_t)c, dbd, dbs, 1e-4);
    lp_dnnl_get_stats(&after);
    CHECK_MSG(after.bn_dnnl - before.bn_dnnl == 5 && after.bn_native == before.bn_native,
              "%s: %lu dnnl, %lu native calls (%s)", what, after.bn_dnnl - before.bn_dnnl,
              after.bn_native - before.bn_native, lp_dnnl_last_error());

    /* dy may be dx (in place), the masked gradient then computed over it. */
    float *dyd = malloc(sizeof(float) * n);
    memcpy(dyd, dy, sizeof(float) * n);
    D.bn_bwd(rows, c, x, ys, dyd, gamma, ms, vs, eps, dyd, dgd, dbd, relu);
    snprintf(m, sizeof m, "bn bwd in place dx %s", what);
    CHECK_CLOSE(m, n, dyd, dxs, 1e-4);

    free(x); free(gamma); free(beta); free(ys); free(yd); free(ms); free(md); free(vs); free(vd);
    free(mi); free(vi); free(yi_s); free(yi_d); free(dy); free(dxs); free(dxd); free(dgs);
    free(dgd); free(dbs); free(dbd); free(dyd); free(xy);
}

static void test_bn(void)
{
    for (size_t i = 0; i < sizeof bn_cases / sizeof bn_cases[0]; i++) {
        bn_one(&bn_cases[i], 0);
        bn_one(&bn_cases[i], 1);
    }
    const bn_case *b = &bn_cases[2];
    printf("     bn rows %zu c %d: train %s | infer %s | bwd %s\n", b->rows, b->c,
           lp_dnnl_bn_impl(b->rows, b->c, b->eps, LP_DNNL_BN_TRAIN, 1),
           lp_dnnl_bn_impl(b->rows, b->c, b->eps, LP_DNNL_BN_INFER, 1),
           lp_dnnl_bn_impl(b->rows, b->c, b->eps, LP_DNNL_BN_BWD, 0));
}

static void test_bn_random(void)
{
    for (int t = 0; t < 10; t++) {
        bn_case b = {(size_t)(1 + sr_below(&R, 3000)), 1 + sr_below(&R, 40), 1e-3f};
        bn_one(&b, sr_below(&R, 2));
    }
}

/* rows == 0 is not given to oneDNN: the native kernel handles it. */
static void test_bn_empty(void)
{
    float gamma[2] = {1, 1}, beta[2] = {0, 0}, mean[2] = {NAN, NAN}, var[2] = {NAN, NAN};
    float y[1] = {0}, x[1] = {0};
    lp_dnnl_stats before, after;
    lp_dnnl_get_stats(&before);
    D.bn_fwd_train(0, 2, x, gamma, beta, 1e-3f, y, mean, var, 0);
    lp_dnnl_get_stats(&after);
    CHECK(mean[0] == 0.0f && var[1] == 0.0f);
    CHECK_EQ_INT(after.bn_native - before.bn_native, 1);
}

/* ---- table, fallback, cache ------------------------------------------------ */

static void test_table(void)
{
    CHECK_STR_CONTAINS(D.impl[LP_KF_CONV], "dnnl");
    CHECK_STR_CONTAINS(D.impl[LP_KF_BN], "dnnl");
    CHECK_STR_CONTAINS(D.impl[LP_KF_GEMM], "scalar");
    CHECK(D.gemm == S.gemm && D.im2col == S.im2col && D.relu_fwd == S.relu_fwd);
    CHECK(D.conv_fwd != S.conv_fwd && D.bn_bwd != S.bn_bwd);
    /* Initialising a table that already has the dnnl kernels must keep the
     * native fallbacks (test_fallback would recurse otherwise). */
    lp_kernels again = D;
    CHECK_EQ_INT(lp_kernels_init_dnnl(&again), 0);
    CHECK(again.conv_fwd == D.conv_fwd);
}

static void test_fallback(void)
{
    lp_conv_geom g = sr_geom(7, 12, 12, 3, 5, 5, 2, 2, 4, 1);
    size_t nx = sr_xsize(&g), ny = sr_ysize(&g), nw = sr_wsize(&g);
    float *x = sr_rand_vec(&R, nx, -1, 1), *w = sr_rand_vec(&R, nw, -1, 1);
    float *dy = sr_rand_vec(&R, ny, -1, 1);
    float *ws = malloc(sizeof(float) * S.conv_workspace(&g));
    float *a = nan_vec(nx), *b = nan_vec(nx);
    lp_dnnl_stats before, after;

    lp_dnnl_test_reject(1);
    lp_dnnl_get_stats(&before);
    S.conv_fwd(&S, &g, x, w, a, ws);
    D.conv_fwd(&D, &g, x, w, b, NULL); /* conv_workspace said 0 */
    CHECK(same_bits(ny, a, b));
    S.conv_bwd_data(&S, &g, dy, w, a, ws);
    D.conv_bwd_data(&D, &g, dy, w, b, NULL);
    CHECK(same_bits(nx, a, b));
    S.conv_bwd_weights(&S, &g, x, dy, a, ws);
    D.conv_bwd_weights(&D, &g, x, dy, b, NULL);
    CHECK(same_bits(nw, a, b));

    size_t rows = 300;
    int c = 3;
    float gm[3] = {1.2f, -0.7f, 0.3f}, bt[3] = {0.1f, 0.2f, -0.3f};
    float ms[3], vs[3], md[3], vd[3], g1[3], g2[3], b1[3], b2[3];
    float *ya = nan_vec(rows * c), *yb = nan_vec(rows * c);
    S.bn_fwd_train(rows, c, x, gm, bt, 1e-3f, ya, ms, vs, 1);
    D.bn_fwd_train(rows, c, x, gm, bt, 1e-3f, yb, md, vd, 1);
    CHECK(same_bits(rows * c, ya, yb) && same_bits(3, ms, md) && same_bits(3, vs, vd));
    S.bn_fwd_infer(rows, c, x, gm, bt, ms, vs, 1e-3f, ya, 0);
    D.bn_fwd_infer(rows, c, x, gm, bt, ms, vs, 1e-3f, yb, 0);
    CHECK(same_bits(rows * c, ya, yb));
    S.bn_bwd(rows, c, x, ya, dy, gm, ms, vs, 1e-3f, a, g1, b1, 1);
    D.bn_bwd(rows, c, x, ya, dy, gm, ms, vs, 1e-3f, b, g2, b2, 1);
    CHECK(same_bits(rows * c, a, b) && same_bits(3, g1, g2) && same_bits(3, b1, b2));
    lp_dnnl_get_stats(&after);
    lp_dnnl_test_reject(0);
    CHECK_EQ_INT(after.conv_native - before.conv_native, 3);
    CHECK_EQ_INT(after.bn_native - before.bn_native, 3);
    CHECK_EQ_INT(after.conv_dnnl - before.conv_dnnl, 0);
    CHECK_EQ_INT(after.bn_dnnl - before.bn_dnnl, 0);
    free(x); free(w); free(dy); free(ws); free(a); free(b); free(ya); free(yb);
}

/* More geometries than the cache holds: evictions, and results still right. */
static void test_cache_eviction(void)
{
    lp_dnnl_reset();
    int c = 2, bad = 0;
    float gm[2] = {1, 2}, bt[2] = {0, 1}, mu[2] = {0.5f, -0.5f}, var[2] = {1, 2};
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < LP_DNNL_CACHE_SIZE + 20; i++) {
            size_t rows = (size_t)(1 + i);
            float *x = sr_rand_vec(&R, rows * c, -1, 1);
            float *ya = nan_vec(rows * c), *yb = nan_vec(rows * c);
            S.bn_fwd_infer(rows, c, x, gm, bt, mu, var, 1e-3f, ya, 0);
            D.bn_fwd_infer(rows, c, x, gm, bt, mu, var, 1e-3f, yb, 0);
            if (rel_err(rows * c, yb, ya) > 1e-5) bad++;
            free(x); free(ya); free(yb);
        }
    }
    lp_dnnl_stats st;
    lp_dnnl_get_stats(&st);
    CHECK_EQ_INT(bad, 0);
    CHECK(st.evicted > 0);
    CHECK_EQ_INT(st.bn_dnnl, 2 * (LP_DNNL_CACHE_SIZE + 20));
    CHECK_EQ_INT(st.bn_native, 0);
}

/* LAPERM_BACKEND=dnnl through the dispatcher (last: it re-initialises the
 * backend over the best native table, whose kernels become the fallback). */
static void test_dispatch(void)
{
    CHECK_EQ_INT(lp_dispatch_init(NULL, "dnnl"), LAPERM_OK);
    const lp_kernels *k = lp_kernels_get();
    CHECK_STR_CONTAINS(k->impl[LP_KF_CONV], "dnnl");
    CHECK_STR_CONTAINS(k->impl[LP_KF_BN], "dnnl");
    CHECK_STR_CONTAINS(lp_backend_selected(), "dnnl");
    lp_conv_geom g = sr_geom(1, 6, 6, 2, 3, 3, 1, 1, 3, 1);
    float *x = sr_rand_vec(&R, sr_xsize(&g), -1, 1), *w = sr_rand_vec(&R, sr_wsize(&g), -1, 1);
    float *ya = nan_vec(sr_ysize(&g)), *yb = nan_vec(sr_ysize(&g));
    float *ws = malloc(sizeof(float) * S.conv_workspace(&g));
    S.conv_fwd(&S, &g, x, w, ya, ws);
    k->conv_fwd(k, &g, x, w, yb, NULL);
    CHECK_CLOSE("dispatched conv fwd", sr_ysize(&g), yb, ya, 1e-4);
    CHECK_EQ_INT(lp_dispatch_init(NULL, "native"), LAPERM_OK);
    free(x); free(w); free(ya); free(yb); free(ws);
}

int main(void)
{
    lp_kernels_init_scalar(&S);
    D = S;
    if (lp_kernels_init_dnnl(&D) != 0) {
        fprintf(stderr, "oneDNN failed to initialise: %s\n", lp_dnnl_last_error());
        printf("0 passed, 1 failed\n");
        return 1;
    }
    LP_RUN(test_table);
    LP_RUN(test_conv);
    LP_RUN(test_conv_random);
    LP_RUN(test_bn);
    LP_RUN(test_bn_random);
    LP_RUN(test_bn_empty);
    LP_RUN(test_fallback);
    LP_RUN(test_cache_eviction);
    LP_RUN(test_dispatch);
    return lp_test_done();
}
