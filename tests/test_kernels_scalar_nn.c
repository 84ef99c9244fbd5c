/* Scalar reference kernels, part 2: pooling, batch norm, softmax + cross
 * entropy, dropout, ReLU, bias, sumsq/axpy and Adam, against naive double
 * code and (for every backward) central finite differences. */
#include "lp_test.h"
#include "scalar_ref.h"

#include "kernels/scalar/scalar.h"

static lp_kernels K;

/* ---- pooling ---------------------------------------------------------------- */

/* Naive pooling: mode 0 max fwd, 1 avg fwd, 2 max bwd (first max), 3 avg bwd. */
static void pool_naive(const lp_conv_geom *g, int mode, const float *x, const float *dy,
                       double *out)
{
    size_t ys = sr_ysize(g), xs = sr_xsize(g);
    if (mode >= 2)
        for (size_t i = 0; i < xs; i++) out[i] = 0;
    for (int n = 0; n < g->n; n++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int c = 0; c < g->c; c++) {
                    size_t yi = (((size_t)n * g->oh + oy) * g->ow + ox) * g->c + c;
                    double best = -INFINITY, sum = 0;
                    long arg = -1;
                    for (int ky = 0; ky < g->kh; ky++)
                        for (int kx = 0; kx < g->kw; kx++) {
                            long xi = sr_tap(g, n, oy, ox, ky, kx, c);
                            sum += x ? x[xi] : 0;
                            if (x && (arg < 0 || x[xi] > best)) {
                                best = x[xi];
                                arg = xi;
                            }
                            if (mode == 3) out[xi] += (double)dy[yi] / (g->kh * g->kw);
                        }
                    if (mode == 0) out[yi] = best;
                    if (mode == 1) out[yi] = sum / (g->kh * g->kw);
                    if (mode == 2) out[arg] += dy[yi];
                }
    (void)ys;
}

static void pool_case(sr_rng *r, lp_conv_geom g, int ties)
{
    size_t xs = sr_xsize(&g), ys = sr_ysize(&g);
    float *x = calloc(xs, sizeof(float)), *dy = sr_rand_vec(r, ys, -1, 1);
    float *y = malloc(sizeof(float) * ys), *dx = malloc(sizeof(float) * xs);
    double *ref = malloc(sizeof(double) * (xs > ys ? xs : ys));
    /* ties: a few integer levels, so windows hold equal maxima. Otherwise
     * distinct values on a 1/64 grid so a 1e-3 nudge cannot change an argmax. */
    for (size_t i = 0; i < xs; i++)
        x[i] = ties ? (float)sr_below(r, 3) : (float)((long)(i * 7919 % xs) - (long)xs / 2) / 64.0f;

    K.maxpool_fwd(&g, x, y);
    pool_naive(&g, 0, x, NULL, ref);
    CHECK(sr_max_abs_diff(ys, y, ref) == 0);
    for (size_t i = 0; i < xs; i++) dx[i] = NAN;
    K.maxpool_bwd(&g, x, y, dy, dx);
    pool_naive(&g, 2, x, dy, ref);
    CHECK_MSG(sr_max_abs_diff(xs, dx, ref) <= 1e-6, "maxpool bwd %dx%d s%d ties %d", g.kh, g.kw,
              g.sh, ties);

    K.avgpool_fwd(&g, x, y);
    pool_naive(&g, 1, x, NULL, ref);
    CHECK(sr_max_abs_diff(ys, y, ref) <= 1e-5);
    for (size_t i = 0; i < xs; i++) dx[i] = NAN;
    K.avgpool_bwd(&g, dy, dx);
    pool_naive(&g, 3, NULL, dy, ref);
    CHECK(sr_max_abs_diff(xs, dx, ref) <= 1e-6);

    if (!ties) {
        /* FD of sum(pool(x) * dy): pooling is piecewise linear; with maxima
         * 1/64 apart, eps = 1e-3 stays on one piece, so only float rounding
         * of y (relative 6e-8) remains: 1e-3 absolute is ample. */
        float *dxa = malloc(sizeof(float) * xs);
        const float eps = 1e-3f;
        for (int mode = 0; mode < 2; mode++) {
            if (mode == 0) K.maxpool_bwd(&g, x, y, dy, dxa);
            else K.avgpool_bwd(&g, dy, dxa);
            for (int t = 0; t < 10; t++) {
                size_t i = (size_t)sr_below(r, (int)xs);
                float keep = x[i];
                double l[2];
                for (int sgn = 0; sgn < 2; sgn++) {
                    x[i] = keep + (sgn ? -eps : eps);
                    if (mode == 0) K.maxpool_fwd(&g, x, y);
                    else K.avgpool_fwd(&g, x, y);
                    l[sgn] = 0;
                    for (size_t j = 0; j < ys; j++) l[sgn] += (double)y[j] * dy[j];
                }
                x[i] = keep;
                double fd = (l[0] - l[1]) / (2.0 * eps);
                CHECK_MSG(fabs(fd - dxa[i]) <= 1e-3, "pool fd mode %d: %g vs %g", mode, fd, dxa[i]);
            }
        }
        free(dxa);
    }
    free(x); free(dy); free(y); free(dx); free(ref);
}

static void test_pooling(void)
{
    sr_rng r = {77};
    for (int ties = 0; ties < 2; ties++) {
        pool_case(&r, sr_geom(2, 8, 8, 3, 2, 2, 2, 2, 3, 0), ties);  /* MaxPooling2D(2) */
        pool_case(&r, sr_geom(1, 9, 7, 5, 2, 2, 2, 2, 5, 0), ties);  /* odd sizes: edge dropped */
        pool_case(&r, sr_geom(3, 7, 7, 2, 3, 3, 2, 2, 2, 0), ties);  /* overlapping windows */
        pool_case(&r, sr_geom(2, 8, 8, 70, 8, 8, 8, 8, 70, 0), ties); /* AveragePooling2D(8) */
    }
}

static void test_maxpool_first_max(void)
{
    /* One 2x2 window of equal values: all gradient to (0, 0). Then the max
     * repeated at (0, 1) and (1, 0): to (0, 1), the first in row-major. */
    lp_conv_geom g = sr_geom(1, 2, 2, 1, 2, 2, 2, 2, 1, 0);
    float x[4] = {1, 1, 1, 1}, y[1], dy[1] = {5}, dx[4];
    K.maxpool_fwd(&g, x, y);
    K.maxpool_bwd(&g, x, y, dy, dx);
    CHECK(y[0] == 1 && dx[0] == 5 && dx[1] == 0 && dx[2] == 0 && dx[3] == 0);
    float x2[4] = {0, 3, 3, -1};
    K.maxpool_fwd(&g, x2, y);
    K.maxpool_bwd(&g, x2, y, dy, dx);
    CHECK(y[0] == 3 && dx[0] == 0 && dx[1] == 5 && dx[2] == 0 && dx[3] == 0);
}

/* ---- batch norm ----------------------------------------------------------------- */

static void bn_naive_stats(size_t rows, int c, const float *x, double *mean, double *var)
{
    for (int j = 0; j < c; j++) {
        double s = 0, q = 0;
        for (size_t r = 0; r < rows; r++) s += x[r * c + j];
        mean[j] = s / rows;
        for (size_t r = 0; r < rows; r++) q += (x[r * c + j] - mean[j]) * (x[r * c + j] - mean[j]);
        var[j] = q / rows;
    }
}

static double bn_train_loss(size_t rows, int c, const float *x, const float *gm, const float *bt,
                            float eps, const float *rr, float *y, float *mean, float *var)
{
    K.bn_fwd_train(rows, c, x, gm, bt, eps, y, mean, var, 0);
    double s = 0;
    for (size_t i = 0; i < rows * (size_t)c; i++) s += (double)y[i] * rr[i];
    return s;
}

static void test_bn_forward(void)
{
    sr_rng r = {3};
    static const int shapes[][2] = {{1, 3}, {7, 1}, {50, 17}, {64, 40}};
    for (size_t s = 0; s < 4; s++) {
        size_t rows = (size_t)shapes[s][0];
        int c = shapes[s][1];
        size_t n = rows * c;
        float *x = sr_rand_vec(&r, n, -2, 3), *gm = sr_rand_vec(&r, c, 0.5f, 1.5f);
        float *bt = sr_rand_vec(&r, c, -1, 1), *y = malloc(sizeof(float) * n);
        float *y2 = malloc(sizeof(float) * n), *mean = malloc(sizeof(float) * c);
        float *var = malloc(sizeof(float) * c);
        double *mr = malloc(sizeof(double) * c), *vr = malloc(sizeof(double) * c);
        double *yr = malloc(sizeof(double) * n);
        const float eps = 1e-3f;
        for (int relu = 0; relu < 2; relu++) {
            K.bn_fwd_train(rows, c, x, gm, bt, eps, y, mean, var, relu);
            bn_naive_stats(rows, c, x, mr, vr);
            for (int j = 0; j < c; j++) {
                CHECK_NEAR(mean[j], mr[j], 1e-6);
                CHECK_NEAR(var[j], vr[j], 1e-6 * (1 + vr[j]));
            }
            for (size_t i = 0; i < n; i++) {
                int j = (int)(i % c);
                double v = gm[j] * (x[i] - mr[j]) / sqrt(vr[j] + eps) + bt[j];
                yr[i] = relu && v < 0 ? 0 : v;
            }
            CHECK(sr_max_abs_diff(n, y, yr) <= 2e-5);
            /* inference with the batch statistics gives the training output */
            K.bn_fwd_infer(rows, c, x, gm, bt, mean, var, eps, y2, relu);
            CHECK(memcmp(y, y2, sizeof(float) * n) == 0);
        }
        /* inference with other (moving) statistics */
        for (int j = 0; j < c; j++) {
            mean[j] = sr_unif(&r, -1, 1);
            var[j] = sr_unif(&r, 0.1f, 2);
        }
        K.bn_fwd_infer(rows, c, x, gm, bt, mean, var, eps, y2, 0);
        for (size_t i = 0; i < n; i++) {
            int j = (int)(i % c);
            yr[i] = gm[j] * (x[i] - (double)mean[j]) / sqrt((double)var[j] + eps) + bt[j];
        }
        CHECK(sr_max_abs_diff(n, y2, yr) <= 2e-5);
        free(x); free(gm); free(bt); free(y); free(y2); free(mean); free(var);
        free(mr); free(vr); free(yr);
    }
}

static void test_bn_backward(void)
{
    sr_rng r = {4};
    const size_t rows = 24;
    const int c = 19;
    const size_t n = rows * c;
    const float eps = 1e-3f;
    float *x = sr_rand_vec(&r, n, -2, 2), *gm = sr_rand_vec(&r, c, 0.5f, 1.5f);
    float *bt = sr_rand_vec(&r, c, -0.5f, 0.5f), *rr = sr_rand_vec(&r, n, -1, 1);
    float *y = malloc(sizeof(float) * n), *dx = malloc(sizeof(float) * n);
    float *mean = malloc(sizeof(float) * c), *var = malloc(sizeof(float) * c);
    float *dg = malloc(sizeof(float) * c), *db = malloc(sizeof(float) * c);
    double *mr = malloc(sizeof(double) * c), *vr = malloc(sizeof(double) * c);
    double *dxr = malloc(sizeof(double) * n), *dgr = malloc(sizeof(double) * c);
    double *dbr = malloc(sizeof(double) * c);

    K.bn_fwd_train(rows, c, x, gm, bt, eps, y, mean, var, 0);
    K.bn_bwd(rows, c, x, y, rr, gm, mean, var, eps, dx, dg, db, 0);
    /* naive formula in double */
    bn_naive_stats(rows, c, x, mr, vr);
    for (int j = 0; j < c; j++) {
        double inv = 1 / sqrt(vr[j] + eps), sg = 0, sgx = 0;
        for (size_t q = 0; q < rows; q++) {
            double xh = (x[q * c + j] - mr[j]) * inv;
            sg += rr[q * c + j];
            sgx += rr[q * c + j] * xh;
        }
        dbr[j] = sg;
        dgr[j] = sgx;
        for (size_t q = 0; q < rows; q++) {
            double xh = (x[q * c + j] - mr[j]) * inv;
            dxr[q * c + j] = gm[j] * inv * (rr[q * c + j] - sg / rows - xh * sgx / rows);
        }
    }
    CHECK(sr_max_abs_diff(n, dx, dxr) <= 1e-4);
    CHECK(sr_max_abs_diff(c, dg, dgr) <= 1e-4);
    CHECK(sr_max_abs_diff(c, db, dbr) <= 1e-4);

    /* Central FD of L = sum(bn_train(x) * r) w.r.t. x, gamma, beta. Float32
     * forward: L carries rounding ~1e-7 * sum|y r| ~ 5e-5 here, / (2 eps)
     * with eps = 1e-2 gives ~3e-3; the O(eps^2) curvature term of the
     * normalisation is below that. Tolerance 1e-2 relative + 1e-2 absolute
     * (the gradients are O(1); a wrong term is off by O(0.1..1)). */
    const float h = 1e-2f;
    float *yt = malloc(sizeof(float) * n), *mt = malloc(sizeof(float) * c);
    float *vt = malloc(sizeof(float) * c);
    for (int t = 0; t < 15; t++) {
        size_t i = (size_t)sr_below(&r, (int)n);
        float keep = x[i];
        x[i] = keep + h;
        double lp = bn_train_loss(rows, c, x, gm, bt, eps, rr, yt, mt, vt);
        x[i] = keep - h;
        double lm = bn_train_loss(rows, c, x, gm, bt, eps, rr, yt, mt, vt);
        x[i] = keep;
        double fd = (lp - lm) / (2 * h);
        CHECK_MSG(fabs(fd - dx[i]) <= 1e-2 * (1 + fabs(fd)), "bn fd dx %g vs %g", fd, dx[i]);
    }
    for (int j = 0; j < c; j += 3) {
        float keep = gm[j];
        gm[j] = keep + h;
        double lp = bn_train_loss(rows, c, x, gm, bt, eps, rr, yt, mt, vt);
        gm[j] = keep - h;
        double lm = bn_train_loss(rows, c, x, gm, bt, eps, rr, yt, mt, vt);
        gm[j] = keep;
        CHECK_NEAR((lp - lm) / (2 * h), dg[j], 1e-2 * (1 + fabs(dg[j])));
        keep = bt[j];
        bt[j] = keep + h;
        lp = bn_train_loss(rows, c, x, gm, bt, eps, rr, yt, mt, vt);
        bt[j] = keep - h;
        lm = bn_train_loss(rows, c, x, gm, bt, eps, rr, yt, mt, vt);
        bt[j] = keep;
        CHECK_NEAR((lp - lm) / (2 * h), db[j], 1e-2 * (1 + fabs(db[j])));
    }

    /* ReLU fusion: forward = max(0, plain forward); backward = plain backward
     * of dy masked by (fused y > 0). Some outputs must be clipped. */
    float *yf = malloc(sizeof(float) * n), *dxf = malloc(sizeof(float) * n);
    float *rm = malloc(sizeof(float) * n), *dgf = malloc(sizeof(float) * c);
    float *dbf = malloc(sizeof(float) * c);
    K.bn_fwd_train(rows, c, x, gm, bt, eps, yf, mt, vt, 1);
    int clipped = 0, fwd_ok = 1;
    for (size_t i = 0; i < n; i++) {
        float want = y[i] < 0 ? 0.0f : y[i];
        fwd_ok &= sr_bits(yf[i]) == sr_bits(want) || (yf[i] == 0 && want == 0);
        clipped += y[i] < 0;
        rm[i] = yf[i] > 0 ? rr[i] : 0.0f;
    }
    CHECK(fwd_ok);
    CHECK(clipped > (int)n / 5);
    K.bn_bwd(rows, c, x, yf, rr, gm, mean, var, eps, dxf, dgf, dbf, 1);
    K.bn_bwd(rows, c, x, y, rm, gm, mean, var, eps, dx, dg, db, 0);
    CHECK(memcmp(dxf, dx, sizeof(float) * n) == 0);
    CHECK(memcmp(dgf, dg, sizeof(float) * c) == 0);
    CHECK(memcmp(dbf, db, sizeof(float) * c) == 0);

    free(x); free(gm); free(bt); free(rr); free(y); free(dx); free(mean); free(var);
    free(dg); free(db); free(mr); free(vr); free(dxr); free(dgr); free(dbr);
    free(yt); free(mt); free(vt); free(yf); free(dxf); free(rm); free(dgf); free(dbf);
}

/* ---- softmax + cross entropy --------------------------------------------------------- */

static void test_softmax_xent(void)
{
    sr_rng r = {9};
    const size_t rows = 70; /* > one 32-row chunk, ragged end */
    const int classes = 10;
    const size_t n = rows * classes;
    float *z = sr_rand_vec(&r, n, -4, 4), *dz = malloc(sizeof(float) * n);
    float *pr = malloc(sizeof(float) * n);
    int32_t *lab = malloc(sizeof(int32_t) * rows);
    for (size_t q = 0; q < rows; q++) lab[q] = sr_below(&r, classes);
    /* ties in a few rows: first max wins for "correct" */
    for (int j = 0; j < classes; j++) z[0 * classes + j] = j == 3 || j == 6 ? 5.0f : 0.0f;
    lab[0] = 3; /* correct */
    for (int j = 0; j < classes; j++) z[1 * classes + j] = j == 3 || j == 6 ? 5.0f : 0.0f;
    lab[1] = 6; /* not correct */
    const float gs = 1.0f / rows;
    size_t correct = 12345;
    double loss = K.softmax_xent(rows, classes, z, lab, gs, dz, pr, &correct);

    double lref = 0, pmax = 0;
    size_t cref = 0;
    for (size_t q = 0; q < rows; q++) {
        const float *zr = z + q * classes;
        double mx = zr[0], s = 0;
        int arg = 0;
        for (int j = 1; j < classes; j++)
            if (zr[j] > mx) { mx = zr[j]; arg = j; }
        for (int j = 0; j < classes; j++) s += exp(zr[j] - mx);
        lref += -(zr[lab[q]] - mx - log(s));
        cref += arg == lab[q];
        for (int j = 0; j < classes; j++) {
            double p = exp(zr[j] - mx) / s;
            pmax = fmax(pmax, fabs(pr[q * classes + j] - p));
            double g = (p - (j == lab[q])) * gs;
            CHECK_MSG(fabs(dz[q * classes + j] - g) <= 1e-7, "dlogits[%zu,%d]", q, j);
        }
    }
    CHECK_NEAR(loss, lref, 1e-9 * rows);
    CHECK(pmax <= 1e-7);
    CHECK_EQ_INT(correct, cref);
    CHECK(cref >= 1);

    /* FD: d(gs * sum loss)/dz = dlogits; loss is returned in double, so
     * eps = 1e-2 leaves only the O(eps^2) curvature (~1e-5 here). */
    const float h = 1e-2f;
    for (int t = 0; t < 12; t++) {
        size_t i = (size_t)sr_below(&r, (int)n);
        float keep = z[i];
        z[i] = keep + h;
        double lp = K.softmax_xent(rows, classes, z, lab, gs, NULL, NULL, NULL);
        z[i] = keep - h;
        double lm = K.softmax_xent(rows, classes, z, lab, gs, NULL, NULL, NULL);
        z[i] = keep;
        CHECK_NEAR(gs * (lp - lm) / (2 * h), dz[i], 1e-5);
    }

    /* First max wins: both rows tie classes 3 and 6 and are labelled 3. */
    float tz[20];
    int32_t tl[2] = {3, 3};
    for (int j = 0; j < 20; j++) tz[j] = (j % 10 == 3 || j % 10 == 6) ? 2.0f : -1.0f;
    size_t tc = 0;
    K.softmax_xent(2, 10, tz, tl, 1.0f, NULL, NULL, &tc);
    CHECK_EQ_INT(tc, 2);

    /* Stability: huge logits give finite loss. */
    float big[3] = {1000.0f, 1001.0f, 990.0f};
    int32_t l1 = 0;
    float dbig[3];
    double lb = K.softmax_xent(1, 3, big, &l1, 1.0f, dbig, NULL, NULL);
    CHECK(isfinite(lb));
    CHECK_NEAR(lb, 1.0 + log(1 + exp(-1.0) + exp(-11.0)), 1e-9);
    CHECK(isfinite(dbig[0]) && dbig[0] < 0 && dbig[1] > 0);
    free(z); free(dz); free(pr); free(lab);
}

/* ---- element-wise kernels -------------------------------------------------------------- */

static void test_eltwise(void)
{
    sr_rng r = {21};
    const size_t n = 100000; /* above the parallel threshold */
    float *x = sr_rand_vec(&r, n, -1, 1), *y = malloc(sizeof(float) * n);
    float *dy = sr_rand_vec(&r, n, -1, 1), *dx = malloc(sizeof(float) * n);
    uint8_t *mask = malloc(n);
    for (size_t i = 0; i < n; i++) mask[i] = (uint8_t)(sr_below(&r, 10) < 7);
    x[5] = INFINITY;
    mask[5] = 0;
    K.dropout_apply(n, x, mask, 1.0f / 0.7f, y);
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok &= y[i] == (mask[i] ? x[i] * (1.0f / 0.7f) : 0.0f);
    CHECK(ok);
    CHECK(y[5] == 0.0f); /* a dropped Inf is 0, not NaN */

    K.relu_fwd(n, x, y);
    ok = 1;
    for (size_t i = 0; i < n; i++) ok &= y[i] == (x[i] > 0 ? x[i] : 0.0f);
    CHECK(ok);
    K.relu_bwd(n, y, dy, dx);
    ok = 1;
    for (size_t i = 0; i < n; i++) ok &= dx[i] == (x[i] > 0 ? dy[i] : 0.0f);
    CHECK(ok);
    memcpy(y, x, sizeof(float) * n);
    K.relu_fwd(n, y, y); /* in place */
    CHECK(y[0] == (x[0] > 0 ? x[0] : 0.0f) && y[n - 1] == (x[n - 1] > 0 ? x[n - 1] : 0.0f));

    /* bias add / grad over [rows, cols] with cols spanning two blocks */
    const size_t rows = 1000;
    const int cols = 70;
    float *b = sr_rand_vec(&r, cols, -1, 1), *db = malloc(sizeof(float) * cols);
    memcpy(y, x, sizeof(float) * rows * cols);
    K.bias_add(rows, cols, b, y);
    ok = 1;
    for (size_t i = 0; i < rows * cols; i++) ok &= y[i] == x[i] + b[i % cols];
    CHECK(ok);
    K.bias_grad(rows, cols, dy, db);
    int bg_ok = 1;
    for (int j = 0; j < cols; j++) {
        double s = 0;
        for (size_t q = 0; q < rows; q++) s += dy[q * cols + j];
        if (fabs(s - db[j]) > 1e-5) bg_ok = 0;
    }
    CHECK(bg_ok);

    /* sumsq (double) and axpy */
    x[5] = 0.5f;
    const size_t big = 300001; /* many 8192 chunks, ragged tail */
    float *v = sr_rand_vec(&r, big, -2, 2);
    double s = 0;
    for (size_t i = 0; i < big; i++) s += (double)v[i] * v[i];
    CHECK_NEAR(K.sumsq(big, v), s, 1e-9 * s);
    CHECK(K.sumsq(0, v) == 0.0);
    CHECK(K.sumsq(3, v) == (double)v[0] * v[0] + (double)v[1] * v[1] + (double)v[2] * v[2]);
    memcpy(y, dy, sizeof(float) * n);
    K.axpy(n, -0.25f, x, y);
    ok = 1;
    for (size_t i = 0; i < n; i++) ok &= y[i] == dy[i] + -0.25f * x[i];
    CHECK(ok);
    /* add and copy, over the parallel threshold (65536) */
    float *v2 = sr_rand_vec(&r, big, -2, 2), *sum = malloc(sizeof(float) * big);
    K.add(big, v, v2, sum);
    ok = 1;
    for (size_t i = 0; i < big; i++) ok &= sum[i] == v[i] + v2[i];
    CHECK(ok);
    K.copy(big, v2, sum);
    CHECK(memcmp(sum, v2, sizeof(float) * big) == 0);
    K.copy(5, v, sum);
    CHECK(memcmp(sum, v, sizeof(float) * 5) == 0 && sum[5] == v2[5]);
    free(v2); free(sum);
    free(x); free(y); free(dy); free(dx); free(mask); free(b); free(db); free(v);
}

static void test_adam(void)
{
    sr_rng r = {31};
    const size_t n = 70000;
    float *w = sr_rand_vec(&r, n, -1, 1), *g = sr_rand_vec(&r, n, -1, 1);
    float *m = sr_rand_vec(&r, n, -0.1f, 0.1f), *v = sr_rand_vec(&r, n, 0, 0.01f);
    float *w0 = malloc(sizeof(float) * n), *m0 = malloc(sizeof(float) * n);
    float *v0 = malloc(sizeof(float) * n);
    memcpy(w0, w, sizeof(float) * n);
    memcpy(m0, m, sizeof(float) * n);
    memcpy(v0, v, sizeof(float) * n);
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-7f;
    const int t = 3;
    const float lr_t = (float)(lr * sqrt(1 - pow(b2, t)) / (1 - pow(b1, t)));
    K.adam_update(n, w, g, m, v, lr_t, b1, b2, eps);
    double em = 0, ev = 0, ew = 0;
    for (size_t i = 0; i < n; i++) {
        double mm = b1 * (double)m0[i] + (1 - (double)b1) * g[i];
        double vv = b2 * (double)v0[i] + (1 - (double)b2) * g[i] * (double)g[i];
        double ww = w0[i] - lr_t * mm / (sqrt(vv) + eps);
        em = fmax(em, fabs(m[i] - mm));
        ev = fmax(ev, fabs(v[i] - vv) / (vv + 1e-30));
        ew = fmax(ew, fabs(w[i] - ww));
    }
    CHECK(em <= 1e-7);
    CHECK(ev <= 1e-6);
    CHECK(ew <= 1e-6);
    /* first step from zero moments moves each weight by about lr */
    float w1[1] = {0.5f}, g1[1] = {-3.0f}, m1[1] = {0}, v1[1] = {0};
    K.adam_update(1, w1, g1, m1, v1, (float)(lr * sqrt(1 - b2) / (1 - b1)), b1, b2, eps);
    CHECK_NEAR(w1[0], 0.5 + lr, 1e-7);
    free(w); free(g); free(m); free(v); free(w0); free(m0); free(v0);
}

int main(void)
{
    lp_kernels_init_scalar(&K);
    LP_RUN(test_pooling);
    LP_RUN(test_maxpool_first_max);
    LP_RUN(test_bn_forward);
    LP_RUN(test_bn_backward);
    LP_RUN(test_softmax_xent);
    LP_RUN(test_eltwise);
    LP_RUN(test_adam);
    return lp_test_done();
}
