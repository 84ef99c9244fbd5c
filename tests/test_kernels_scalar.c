/* Scalar reference kernels, part 1: GEMM, im2col/col2im, convolution,
 * checked against naive double loops and finite differences. */
#include "lp_test.h"
#include "scalar_ref.h"

#include "kernels/scalar/scalar.h"

static lp_kernels K;

/* ---- GEMM ------------------------------------------------------------------ */

/* op(A)[i, p] and op(B)[p, j] from the stored matrices. */
static float at_a(int ta, const float *a, int lda, int i, int p) { return ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]; }
static float at_b(int tb, const float *b, int ldb, int p, int j) { return tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]; }

static int gemm_case(sr_rng *r, int ta, int tb, int m, int n, int k, float alpha, float beta)
{
    /* Leading dimensions larger than needed, to catch ld mix-ups. */
    int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    int lda = ac + 3, ldb = bc + 2, ldc = n + 5;
    float *a = sr_rand_vec(r, (size_t)ar * lda, -1, 1);
    float *b = sr_rand_vec(r, (size_t)br * ldb, -1, 1);
    float *c = sr_rand_vec(r, (size_t)m * ldc, -1, 1);
    float *c0 = malloc(sizeof(float) * (size_t)m * ldc);
    if (beta == 0.0f) /* beta == 0 must overwrite, even NaN */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = NAN;
    memcpy(c0, c, sizeof(float) * (size_t)m * ldc);
    K.gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    int bad = 0;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < ldc; j++) {
            size_t ci = (size_t)i * ldc + j;
            if (j >= n) { /* padding of C untouched */
                if (sr_bits(c[ci]) != sr_bits(c0[ci]) && bad++ < 3)
                    fprintf(stderr, "gemm wrote C[%d,%d] past n=%d\n", i, j, n);
                continue;
            }
            double s = 0, sa = 0;
            for (int p = 0; p < k; p++) {
                double t = (double)at_a(ta, a, lda, i, p) * at_b(tb, b, ldb, p, j);
                s += t;
                sa += fabs(t);
            }
            double cold = beta == 0.0f ? 0.0 : (double)c0[ci];
            double ref = alpha * s + beta * cold;
            /* float accumulation over k terms: error <= ~k * 2^-24 * sum|ab|. */
            double tol = (k + 4) * 1.2e-7 * (fabs(alpha) * sa + fabs(beta * cold) + 1e-3);
            if (!(fabs(c[ci] - ref) <= tol) && bad++ < 3) {
                fprintf(stderr, "gemm ta=%d tb=%d %dx%dx%d a=%g b=%g: C[%d,%d]=%.9g ref %.9g\n",
                        ta, tb, m, n, k, alpha, beta, i, j, c[ci], ref);
            }
        }
    }
    free(a); free(b); free(c); free(c0);
    return bad;
}

static void test_gemm_all_transposes(void)
{
    sr_rng r = {11};
    static const int shapes[][3] = {{1, 1, 1}, {2, 3, 5}, {7, 11, 13}, {17, 33, 65}, {1, 70, 129},
                                    {64, 1, 300}, {130, 131, 257}, {5, 200, 3}};
    static const float ab[][2] = {{1, 0}, {0.5f, -1.5f}, {-2, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int q = 0; q < 3; q++)
                    CHECK_EQ_INT(gemm_case(&r, ta, tb, shapes[s][0], shapes[s][1], shapes[s][2],
                                           ab[q][0], ab[q][1]), 0);
}

static void test_gemm_k_zero_and_empty(void)
{
    float c[6] = {1, 2, 3, 4, NAN, 6};
    float a[1] = {5}, b[1] = {7};
    K.gemm(0, 0, 2, 3, 0, 1.0f, a, 1, b, 3, 2.0f, c, 3); /* C = 2 C */
    CHECK(c[0] == 2 && c[1] == 4 && c[3] == 8 && c[5] == 12);
    K.gemm(0, 0, 2, 3, 0, 1.0f, a, 1, b, 3, 0.0f, c, 3); /* C = 0, NaN gone */
    for (int i = 0; i < 6; i++) CHECK(c[i] == 0.0f);
    c[0] = 9;
    K.gemm(0, 0, 0, 3, 4, 1.0f, a, 4, b, 3, 0.0f, c, 3); /* m = 0: nothing */
    CHECK(c[0] == 9);
    /* NaN in A propagates (not masked by packing). */
    float a2[4] = {1, NAN, 2, 3}, b2[4] = {1, 1, 1, 1}, c2[4];
    K.gemm(0, 0, 2, 2, 2, 1.0f, a2, 2, b2, 2, 0.0f, c2, 2);
    CHECK(isnan(c2[0]) && isnan(c2[1]) && c2[2] == 5 && c2[3] == 5);
}

/* ---- im2col / col2im ---------------------------------------------------------- */

static void test_im2col_col2im(void)
{
    sr_rng r = {5};
    lp_conv_geom g = sr_geom(2, 5, 6, 3, 3, 2, 2, 1, 1, 1);
    size_t xs = sr_xsize(&g), rows = (size_t)g.n * g.oh * g.ow, kk = (size_t)g.kh * g.kw * g.c;
    float *x = sr_rand_vec(&r, xs, -1, 1), *col = malloc(sizeof(float) * rows * kk);
    K.im2col(&g, x, col);
    int bad = 0;
    for (int n = 0; n < g.n; n++)
        for (int oy = 0; oy < g.oh; oy++)
            for (int ox = 0; ox < g.ow; ox++)
                for (int ky = 0; ky < g.kh; ky++)
                    for (int kx = 0; kx < g.kw; kx++)
                        for (int ci = 0; ci < g.c; ci++) {
                            long xi = sr_tap(&g, n, oy, ox, ky, kx, ci);
                            float want = xi < 0 ? 0.0f : x[xi];
                            size_t at = (((size_t)n * g.oh + oy) * g.ow + ox) * kk +
                                        ((size_t)ky * g.kw + kx) * g.c + ci;
                            bad += sr_bits(col[at]) != sr_bits(want);
                        }
    CHECK_EQ_INT(bad, 0);
    /* col2im is the adjoint of im2col: <im2col(x), col> == <x, col2im(col)>. */
    float *cr = sr_rand_vec(&r, rows * kk, -1, 1), *dx = malloc(sizeof(float) * xs);
    for (size_t i = 0; i < xs; i++) dx[i] = NAN; /* must be overwritten */
    K.col2im(&g, cr, dx);
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < rows * kk; i++) lhs += (double)col[i] * cr[i];
    for (size_t i = 0; i < xs; i++) rhs += (double)x[i] * dx[i];
    CHECK_NEAR(lhs, rhs, 1e-4);
    free(x); free(col); free(cr); free(dx);
}

/* ---- convolution ------------------------------------------------------------------ */

static double conv_loss(const lp_conv_geom *g, const float *x, const float *w, const float *rr,
                        float *y, float *ws)
{
    K.conv_fwd(&K, g, x, w, y, ws);
    double s = 0;
    for (size_t i = 0; i < sr_ysize(g); i++) s += (double)y[i] * rr[i];
    return s;
}

static void conv_case(sr_rng *r, lp_conv_geom g)
{
    size_t xs = sr_xsize(&g), ys = sr_ysize(&g), wsz = sr_wsize(&g);
    float *x = sr_rand_vec(r, xs, -1, 1), *w = sr_rand_vec(r, wsz, -1, 1);
    float *dy = sr_rand_vec(r, ys, -1, 1);
    float *y = malloc(sizeof(float) * ys), *dx = malloc(sizeof(float) * xs);
    float *dw = malloc(sizeof(float) * wsz);
    size_t wsn = K.conv_workspace(&g);
    float *ws = malloc(sizeof(float) * (wsn ? wsn : 1));
    double *ref = malloc(sizeof(double) * (xs > ys ? (xs > wsz ? xs : wsz) : (ys > wsz ? ys : wsz)));
    int kk = g.kh * g.kw * g.c;
    /* Per-element float error bound: about kk (or n*oh*ow) terms of |.| <= 1. */
    double tol_f = 2e-6 * kk, tol_w = 2e-6 * g.n * g.oh * g.ow + 1e-5;

    for (size_t i = 0; i < ys; i++) y[i] = NAN;
    K.conv_fwd(&K, &g, x, w, y, ws);
    sr_conv_naive(&g, 0, x, w, NULL, ref);
    double e = sr_max_abs_diff(ys, y, ref);
    CHECK_MSG(e <= tol_f, "fwd n%d %dx%dx%d k%dx%d s%d,%d pad%d,%d oc%d: err %g", g.n, g.h, g.w,
              g.c, g.kh, g.kw, g.sh, g.sw, g.pad_top, g.pad_left, g.oc, e);

    for (size_t i = 0; i < xs; i++) dx[i] = NAN;
    K.conv_bwd_data(&K, &g, dy, w, dx, ws);
    sr_conv_naive(&g, 1, NULL, w, dy, ref);
    e = sr_max_abs_diff(xs, dx, ref);
    CHECK_MSG(e <= 2e-6 * g.kh * g.kw * g.oc, "bwd data n%d %dx%dx%d k%dx%d s%d,%d oc%d: err %g",
              g.n, g.h, g.w, g.c, g.kh, g.kw, g.sh, g.sw, g.oc, e);

    for (size_t i = 0; i < wsz; i++) dw[i] = NAN;
    K.conv_bwd_weights(&K, &g, x, dy, dw, ws);
    sr_conv_naive(&g, 2, x, NULL, dy, ref);
    e = sr_max_abs_diff(wsz, dw, ref);
    CHECK_MSG(e <= tol_w, "bwd weights n%d %dx%dx%d k%dx%d s%d,%d oc%d: err %g", g.n, g.h, g.w,
              g.c, g.kh, g.kw, g.sh, g.sw, g.oc, e);

    /* Finite differences of L = sum(y * dy): dL/dx = bwd_data(dy), dL/dw =
     * bwd_weights(x, dy). L is linear in x and in w, so the central
     * difference has no truncation error; what remains is float32 rounding of
     * y (~6e-8 * sum|y dy|) divided by 2*eps. With eps = 1e-2 that is well
     * under 1e-2 of a gradient of order 1: we allow 1e-2 relative (+1e-2
     * absolute). A wrong index or a missed tap changes the gradient by O(1). */
    const float eps = 1e-2f;
    for (int t = 0; t < 12; t++) {
        size_t i = (size_t)sr_below(r, (int)xs);
        float keep = x[i];
        x[i] = keep + eps;
        double lp = conv_loss(&g, x, w, dy, y, ws);
        x[i] = keep - eps;
        double lm = conv_loss(&g, x, w, dy, y, ws);
        x[i] = keep;
        double fd = (lp - lm) / (2.0 * eps);
        CHECK_MSG(fabs(fd - dx[i]) <= 1e-2 * (1 + fabs(fd)), "fd dx[%zu] %g vs %g", i, fd, dx[i]);
        size_t j = (size_t)sr_below(r, (int)wsz);
        keep = w[j];
        w[j] = keep + eps;
        lp = conv_loss(&g, x, w, dy, y, ws);
        w[j] = keep - eps;
        lm = conv_loss(&g, x, w, dy, y, ws);
        w[j] = keep;
        fd = (lp - lm) / (2.0 * eps);
        CHECK_MSG(fabs(fd - dw[j]) <= 1e-2 * (1 + fabs(fd)), "fd dw[%zu] %g vs %g", j, fd, dw[j]);
    }
    free(x); free(w); free(dy); free(y); free(dx); free(dw); free(ws); free(ref);
}

static void test_conv_against_direct(void)
{
    sr_rng r = {2024};
    /* n, h, w, c, kh, kw, sh, sw, oc, same */
    static const int cases[][10] = {
        {1, 5, 5, 1, 3, 3, 1, 1, 2, 0},   /* valid, 1 channel */
        {3, 7, 6, 3, 3, 3, 1, 1, 4, 1},   /* same, symmetric pad */
        {3, 8, 7, 3, 3, 3, 2, 2, 5, 1},   /* same stride 2: pad 0 top, 1 bottom */
        {1, 10, 9, 2, 5, 5, 2, 2, 3, 1},  /* same k5 s2: asymmetric 1/2 */
        {3, 6, 6, 4, 1, 1, 1, 1, 6, 0},   /* 1x1 pointwise (no im2col) */
        {1, 6, 5, 3, 1, 1, 2, 2, 2, 1},   /* 1x1 stride 2 */
        {3, 11, 9, 1, 5, 5, 1, 1, 3, 1},  /* k5 same, channel 1 */
        {1, 7, 7, 3, 5, 5, 2, 2, 4, 0},   /* k5 valid stride 2 */
        {3, 9, 10, 3, 3, 5, 1, 2, 4, 1},  /* non-square kernel and strides */
        {1, 4, 4, 5, 1, 1, 1, 1, 3, 1},   /* 1x1 same: pointwise path */
        {3, 12, 12, 8, 3, 3, 1, 1, 16, 1} /* bigger: multiple GEMM tiles */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *c = cases[i];
        conv_case(&r, sr_geom(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]));
    }
}

static void test_conv_workspace(void)
{
    lp_conv_geom g = sr_geom(2, 6, 6, 4, 1, 1, 1, 1, 3, 0);
    CHECK_EQ_INT(K.conv_workspace(&g), 0);
    g = sr_geom(2, 6, 6, 4, 3, 3, 1, 1, 3, 1);
    CHECK(K.conv_workspace(&g) >= (size_t)2 * 6 * 6 * 9 * 4);
}

int main(void)
{
    lp_kernels_init_scalar(&K);
    LP_RUN(test_gemm_all_transposes);
    LP_RUN(test_gemm_k_zero_and_empty);
    LP_RUN(test_im2col_col2im);
    LP_RUN(test_conv_against_direct);
    LP_RUN(test_conv_workspace);
    return lp_test_done();
}
