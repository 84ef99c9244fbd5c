/* Augmentation (runtime/augment.c) against Keras' ImageDataGenerator
 * semantics: the matrix and its centre offset, scipy's affine_transform
 * (order=1, mode='nearest'), the flip, and per-image seeding. */
#include "lp_test.h"
#include "runtime/data.h"

#include <omp.h>
#include <time.h>

#define PI 3.14159265358979323846

static void fill_random(float *x, size_t n, uint64_t seed)
{
    lp_rng r;
    lp_rng_seed(&r, seed, LP_STREAM_TEST, 0);
    for (size_t i = 0; i < n; i++) x[i] = (float)(lp_rng_below(&r, 256));
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Largest |a[k] - b[k]|. (Not a vectorisable fmax reduction: gcc 12 for
 * aarch64 has an internal compiler error on that loop at -O3.) */
static double max_abs_diff(const float *a, const float *b, int n)
{
    double worst = 0;
    for (int k = 0; k < n; k++) {
        double d = fabs((double)a[k] - (double)b[k]);
        if (d > worst) worst = d;
    }
    return worst;
}

static void test_identity_when_inactive(void)
{
    lp_augment a = {0, 0, 0, 0, 0};
    CHECK(!lp_augment_active(&a));
    CHECK(!lp_augment_active(NULL));
    enum { N = 4, H = 8, W = 6, C = 3 };
    float x[N * H * W * C], orig[N * H * W * C], tmp[N * H * W * C];
    fill_random(x, sizeof x / sizeof *x, 1);
    memcpy(orig, x, sizeof x);
    lp_augment_batch(&a, N, H, W, C, x, tmp, 7, 0);
    CHECK(memcmp(x, orig, sizeof x) == 0);
    float y[H * W * C];
    lp_rng r;
    lp_rng_seed(&r, 1, LP_STREAM_AUGMENT, 0);
    lp_augment_image(&a, H, W, C, x, y, &r);
    CHECK(memcmp(y, orig, sizeof y) == 0);
    /* Neutral parameters: Keras applies no transform, and the matrix is I. */
    double m[2][3];
    CHECK_EQ_INT(lp_augment_matrix(H, W, 0, 0, 0, 1, 1, m), 0);
    CHECK(m[0][0] == 1 && m[0][1] == 0 && m[0][2] == 0 && m[1][0] == 0 && m[1][1] == 1 && m[1][2] == 0);
    /* Applying the identity matrix is exact too. */
    lp_affine_apply(H, W, C, x, y, (const double(*)[3])m);
    CHECK(memcmp(y, orig, sizeof y) == 0);
    a.hflip = 1;
    CHECK(lp_augment_active(&a));
}

/* Integer shift: out(i, j) = in(clamp(i + tx), clamp(j + ty)) exactly (Keras'
 * tx moves along the rows: the content moves up by tx). */
static void test_integer_shift_replicates_edges(void)
{
    enum { H = 9, W = 7, C = 2 };
    float x[H * W * C], y[H * W * C];
    fill_random(x, sizeof x / sizeof *x, 2);
    const int shifts[][2] = {{3, -2}, {-4, 5}, {0, 1}, {-1, 0}, {20, -20}};
    for (int k = 0; k < 5; k++) {
        double m[2][3];
        CHECK_EQ_INT(lp_augment_matrix(H, W, 0, shifts[k][0], shifts[k][1], 1, 1, m), 1);
        CHECK_NEAR(m[0][2], shifts[k][0], 0);
        CHECK_NEAR(m[1][2], shifts[k][1], 0);
        lp_affine_apply(H, W, C, x, y, (const double(*)[3])m);
        int bad = 0;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                for (int c = 0; c < C; c++) {
                    int si = clampi(i + shifts[k][0], 0, H - 1), sj = clampi(j + shifts[k][1], 0, W - 1);
                    bad += y[(i * W + j) * C + c] != x[(si * W + sj) * C + c];
                }
        CHECK_EQ_INT(bad, 0);
    }
}

/* theta = 90 on a 28x28 image: Keras' centre is (h/2 + 0.5, w/2 + 0.5) =
 * (14.5, 14.5), so out(i, j) = in(min(29 - j, 27), i). */
static void test_rotation_90_analytic(void)
{
    enum { H = 28, W = 28, C = 1 };
    static float x[H * W], y[H * W];
    fill_random(x, H * W, 3);
    double m[2][3];
    CHECK_EQ_INT(lp_augment_matrix(H, W, 90, 0, 0, 1, 1, m), 1);
    CHECK_NEAR(m[0][0], 0, 1e-15);
    CHECK_NEAR(m[0][1], -1, 1e-15);
    CHECK_NEAR(m[0][2], 29, 1e-12);
    CHECK_NEAR(m[1][0], 1, 1e-15);
    CHECK_NEAR(m[1][1], 0, 1e-15);
    CHECK_NEAR(m[1][2], 0, 1e-12);
    lp_affine_apply(H, W, C, x, y, (const double(*)[3])m);
    double worst = 0;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            float want = x[clampi(29 - j, 0, H - 1) * W + i];
            double d = fabs((double)y[i * W + j] - want);
            if (d > worst) worst = d;
        }
    CHECK_NEAR(worst, 0, 1e-3);
}

/* A random rotation through lp_augment_image: redraw theta from the same
 * generator and compare with coordinates computed independently. */
static void test_random_rotation_matches_formula(void)
{
    enum { H = 12, W = 10, C = 3 };
    float x[H * W * C], y[H * W * C];
    fill_random(x, sizeof x / sizeof *x, 4);
    lp_augment a = {30, 0, 0, 0, 0};
    for (uint64_t k = 0; k < 20; k++) {
        lp_rng r, r2;
        lp_rng_seed(&r, 99, LP_STREAM_AUGMENT, k);
        r2 = r;
        lp_augment_image(&a, H, W, C, x, y, &r);
        double theta = -30 + 60 * lp_rng_uniform_double(&r2);
        double t = theta * PI / 180, ox = H / 2.0 + 0.5, oy = W / 2.0 + 0.5;
        double worst = 0;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double ri = cos(t) * (i - ox) - sin(t) * (j - oy) + ox;
                double rj = sin(t) * (i - ox) + cos(t) * (j - oy) + oy;
                ri = ri < 0 ? 0 : ri > H - 1 ? H - 1 : ri;
                rj = rj < 0 ? 0 : rj > W - 1 ? W - 1 : rj;
                int i0 = (int)floor(ri), j0 = (int)floor(rj);
                int i1 = i0 + 1 < H ? i0 + 1 : H - 1, j1 = j0 + 1 < W ? j0 + 1 : W - 1;
                double fi = ri - i0, fj = rj - j0;
                for (int c = 0; c < C; c++) {
                    double v = (1 - fi) * ((1 - fj) * x[(i0 * W + j0) * C + c] + fj * x[(i0 * W + j1) * C + c]) +
                               fi * ((1 - fj) * x[(i1 * W + j0) * C + c] + fj * x[(i1 * W + j1) * C + c]);
                    double d = fabs(v - y[(i * W + j) * C + c]);
                    if (d > worst) worst = d;
                }
            }
        CHECK_NEAR(worst, 0, 1e-3);
    }
}

/* Reference outputs of Keras' apply_affine_transform as computed by
 * numpy 1.24 + scipy 1.10 (scipy.ndimage.affine_transform, order=1,
 * mode='nearest', keras_preprocessing 1.1 matrix and centre) on a 6x5x2
 * image x[i][j][c] = ((7i + 3j + 11c) % 17) * 15. */
static void test_matches_scipy_reference(void)
{
    enum { H = 6, W = 5, C = 2 };
    float x[H * W * C], y[H * W * C];
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++)
            for (int c = 0; c < C; c++) x[(i * W + j) * C + c] = (float)((7 * i + 3 * j + 11 * c) % 17 * 15);
    /* theta 17, tx 1.3, ty -0.7, zx 1.1, zy 0.9 */
    static const float ref1[H * W * C] = {
        201.677002f, 125.826103f, 188.196976f, 98.1969757f, 95.4109039f, 103.164253f, 136.414291f,
        114.265472f, 214.614807f, 125.031563f, 71.2792969f, 208.886719f, 84.337738f, 177.094971f,
        63.0898514f, 79.8958817f, 74.1910706f, 158.096405f, 85.2922821f, 51.3687668f, 141.096436f,
        91.7324982f, 176.91423f, 99.9630432f, 128.673904f, 98.0154495f, 104.778519f, 109.116669f,
        182.979034f, 117.795509f, 15.0f, 180.0f, 60.0595856f, 211.839828f, 82.9049225f, 102.55249f,
        69.0422668f, 126.460632f, 80.1434784f, 116.593124f, 28.0253162f, 193.025314f, 66.755661f,
        193.473587f, 105.486f, 15.486002f, 144.216339f, 54.2163429f, 182.946686f, 92.9466858f,
        42.497715f, 207.497711f, 81.2280579f, 125.935722f, 119.958405f, 29.9584007f, 158.688751f,
        68.6887436f, 195.0f, 105.0f};
    /* theta -90 (non-square: the centre is off the pixel grid) */
    static const float ref2[H * W * C] = {
        105, 142.5, 82.5, 120, 187.5, 97.5, 165, 75, 142.5, 52.5, 105, 142.5, 82.5, 120, 187.5,
        97.5, 165, 75, 142.5, 52.5, 105, 142.5, 82.5, 120, 187.5, 97.5, 165, 75, 142.5, 52.5,
        146.25, 120, 123.75, 97.5, 165, 75, 142.5, 116.25, 120, 93.75, 165, 75, 142.5, 116.25,
        120, 93.75, 97.5, 135, 75, 112.5, 120, 93.75, 97.5, 135, 75, 112.5, 116.25, 90, 93.75,
        131.25};
    double m[2][3];
    lp_augment_matrix(H, W, 17, 1.3, -0.7, 1.1, 0.9, m);
    /* numpy's matrix for these parameters */
    CHECK_NEAR(m[0][0], 1.05193523, 1e-8);
    CHECK_NEAR(m[0][1], -0.26313453, 1e-8);
    CHECK_NEAR(m[0][2], 2.05548667, 1e-8);
    CHECK_NEAR(m[1][0], 0.32160888, 1e-8);
    CHECK_NEAR(m[1][1], 0.86067428, 1e-8);
    CHECK_NEAR(m[1][2], -0.99698402, 1e-8);
    lp_affine_apply(H, W, C, x, y, (const double(*)[3])m);
    CHECK_NEAR(max_abs_diff(y, ref1, H * W * C), 0, 2e-5);
    lp_augment_matrix(H, W, -90, 0, 0, 1, 1, m);
    lp_affine_apply(H, W, C, x, y, (const double(*)[3])m);
    CHECK_NEAR(max_abs_diff(y, ref2, H * W * C), 0, 2e-5);
}

/* Shift axes as Keras: height_shift moves along rows only (an image whose
 * rows are constant is unchanged by a width shift, and vice versa); zoom of
 * a constant image is constant. */
static void test_shift_axes_and_zoom(void)
{
    enum { H = 10, W = 8, C = 1 };
    float rows[H * W], cols[H * W], y[H * W];
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            rows[i * W + j] = (float)(i * 10);
            cols[i * W + j] = (float)(j * 10);
        }
    lp_augment ws = {0, 0, 0.3f, 0, 0}, hs = {0, 0.3f, 0, 0, 0}, z = {0, 0, 0, 0.2f, 0};
    int changed_rows = 0, changed_cols = 0;
    for (uint64_t k = 0; k < 10; k++) {
        lp_rng r;
        lp_rng_seed(&r, 5, LP_STREAM_AUGMENT, k);
        lp_augment_image(&ws, H, W, C, rows, y, &r);
        CHECK(memcmp(y, rows, sizeof y) == 0);
        lp_augment_image(&ws, H, W, C, cols, y, &r);
        changed_cols += memcmp(y, cols, sizeof y) != 0;
        lp_augment_image(&hs, H, W, C, cols, y, &r);
        CHECK(memcmp(y, cols, sizeof y) == 0);
        lp_augment_image(&hs, H, W, C, rows, y, &r);
        changed_rows += memcmp(y, rows, sizeof y) != 0;
        float flat[H * W];
        for (int i = 0; i < H * W; i++) flat[i] = 42.5f;
        lp_augment_image(&z, H, W, C, flat, y, &r);
        for (int i = 0; i < H * W; i++) CHECK(y[i] == 42.5f);
    }
    CHECK_EQ_INT(changed_cols, 10);
    CHECK_EQ_INT(changed_rows, 10);
    /* Shift ranges >= 1 are pixels, as in Keras: a 2-pixel range on a
     * column ramp changes values by at most 2 * 10 (away from the edges). */
    lp_augment px = {0, 0, 2.0f, 0, 0};
    for (uint64_t k = 0; k < 10; k++) {
        lp_rng r;
        lp_rng_seed(&r, 6, LP_STREAM_AUGMENT, k);
        lp_augment_image(&px, H, W, C, cols, y, &r);
        for (int i = 0; i < H; i++) CHECK(fabsf(y[i * W + 4] - cols[i * W + 4]) <= 20.0f + 1e-4f);
    }
}

static void test_flip(void)
{
    enum { H = 5, W = 7, C = 3 };
    float x[H * W * C], y[H * W * C], fl[H * W * C];
    fill_random(x, sizeof x / sizeof *x, 8);
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++)
            for (int c = 0; c < C; c++) fl[(i * W + j) * C + c] = x[(i * W + (W - 1 - j)) * C + c];
    lp_augment a = {0, 0, 0, 0, 1};
    int flipped = 0, same = 0;
    for (uint64_t k = 0; k < 400; k++) {
        lp_rng r;
        lp_rng_seed(&r, 11, LP_STREAM_AUGMENT, k);
        lp_augment_image(&a, H, W, C, x, y, &r);
        if (!memcmp(y, fl, sizeof y)) flipped++;
        else if (!memcmp(y, x, sizeof y)) same++;
    }
    CHECK_EQ_INT(flipped + same, 400);
    CHECK_MSG(flipped > 150 && flipped < 250, "%d of 400 flipped", flipped);
}

/* Image i of a batch uses (seed, LP_STREAM_AUGMENT, counter + i): the result
 * is the same for 1 and 2 threads, and shifting the counter shifts images. */
static void test_batch_determinism(void)
{
    enum { N = 64, H = 32, W = 32, C = 3, PER = H * W * C };
    static float src[N * PER], a1[N * PER], a2[N * PER], tmp[N * PER], part[N * PER];
    fill_random(src, N * PER, 9);
    lp_augment a = {15, 0.1f, 0.1f, 0.1f, 1};
    int saved = omp_get_max_threads();
    memcpy(a1, src, sizeof src);
    omp_set_num_threads(1);
    lp_augment_batch(&a, N, H, W, C, a1, tmp, 1234, 1000);
    memcpy(a2, src, sizeof src);
    omp_set_num_threads(2);
    lp_augment_batch(&a, N, H, W, C, a2, tmp, 1234, 1000);
    omp_set_num_threads(saved);
    CHECK(memcmp(a1, a2, sizeof a1) == 0);
    CHECK(memcmp(a1, src, sizeof a1) != 0);
    /* images 10..63 with counter 1010 equal images 10..63 above */
    memcpy(part, src + 10 * PER, (size_t)(N - 10) * PER * sizeof(float));
    lp_augment_batch(&a, N - 10, H, W, C, part, tmp, 1234, 1010);
    CHECK(memcmp(part, a1 + 10 * PER, (size_t)(N - 10) * PER * sizeof(float)) == 0);
    /* another seed gives other images */
    memcpy(part, src, sizeof src);
    lp_augment_batch(&a, N, H, W, C, part, tmp, 1235, 1000);
    CHECK(memcmp(part, a1, sizeof a1) != 0);
}

/* Throughput (printed, not asserted): CIFAR-sized images with the conv2/4/13
 * preset (rot 15, shift 0.1, h-flip). */
static void test_throughput(void)
{
    enum { N = 2000, PER = 32 * 32 * 3 };
    float *x = malloc(sizeof(float) * N * PER), *tmp = malloc(sizeof(float) * N * PER);
    CHECK(x && tmp);
    if (!x || !tmp) { free(x); free(tmp); return; }
    fill_random(x, (size_t)N * PER, 10);
    lp_augment a = {15, 0.1f, 0.1f, 0, 1};
    double t0 = omp_get_wtime();
    lp_augment_batch(&a, N, 32, 32, 3, x, tmp, 1, 0);
    double dt = omp_get_wtime() - t0;
    printf("   augment 32x32x3: %.0f images/s on %d threads\n", N / dt, omp_get_max_threads());
    free(x);
    free(tmp);
}

int main(void)
{
    LP_RUN(test_identity_when_inactive);
    LP_RUN(test_integer_shift_replicates_edges);
    LP_RUN(test_rotation_90_analytic);
    LP_RUN(test_random_rotation_matches_formula);
    LP_RUN(test_matches_scipy_reference);
    LP_RUN(test_shift_axes_and_zoom);
    LP_RUN(test_flip);
    LP_RUN(test_batch_determinism);
    LP_RUN(test_throughput);
    return lp_test_done();
}
