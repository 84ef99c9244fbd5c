/* Data augmentation as Keras' ImageDataGenerator does it (SPEC section 4),
 * following keras_preprocessing 1.1 (the version behind Keras 2.3 / TF 2.x of
 * the paper's notebooks):
 *
 *   image_data_generator.py, get_random_transform():
 *     theta = np.random.uniform(-rotation_range, rotation_range)
 *     tx = np.random.uniform(-hs, hs); if hs < 1: tx *= img_shape[row_axis]
 *     ty = np.random.uniform(-ws, ws); if ws < 1: ty *= img_shape[col_axis]
 *     zx, zy = np.random.uniform(1 - z, 1 + z, 2)  (skipped when z == 0)
 *     flip_horizontal = (np.random.random() < 0.5) * horizontal_flip
 *   image_data_generator.py, apply_transform():
 *     apply_affine_transform(x, theta, tx, ty, shear=0, zx, zy, ...)
 *     then flip_axis(x, img_col_axis) when flip_horizontal
 *   affine_transformations.py, apply_affine_transform():
 *     rotation [[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]] (theta = deg2rad),
 *     @ shift [[1, 0, tx], [0, 1, ty], [0, 0, 1]], @ zoom diag(zx, zy, 1),
 *     each factor present only when not neutral, no transform at all when
 *     none is; transform_matrix_offset_center(m, h, w):
 *     o_x = h / 2 + 0.5, o_y = w / 2 + 0.5 (the 1.1 scipy-based version; the
 *     later TF-addons one uses - 0.5), m = offset(o) @ m @ reset(-o);
 *     then per channel scipy.ndimage.affine_transform(x_channel, m[:2, :2],
 *     m[:2, 2], order=1, mode='nearest'): input coordinate = m @ (i, j) +
 *     offset, linear interpolation, coordinates clamped to the image.
 *
 * Randomness: one lp_rng per image, seeded (seed, LP_STREAM_AUGMENT,
 * counter + i), so a batch's result does not depend on the thread count. The
 * draws keep Keras' order (theta, tx, ty, zx, zy, flip); numpy's own stream is
 * of course not reproduced. */
#include "runtime/data.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#define LP_PI 3.14159265358979323846

int lp_augment_active(const lp_augment *a)
{
    return a && (a->rotation != 0 || a->height_shift != 0 || a->width_shift != 0 ||
                 a->zoom != 0 || a->hflip);
}

/* np.random.uniform(lo, hi) = lo + (hi - lo) * random(). */
static double uniform(lp_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * lp_rng_uniform_double(r);
}

static void matmul3(const double a[3][3], const double b[3][3], double out[3][3])
{
    double t[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) t[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
    memcpy(out, t, sizeof t);
}

int lp_augment_matrix(int h, int w, double theta_deg, double tx, double ty, double zx, double zy,
                      double m[2][3])
{
    double M[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    int any = 0;
    /* apply_affine_transform: `if theta != 0:` rotation_matrix */
    if (theta_deg != 0) {
        double th = theta_deg * (LP_PI / 180.0); /* np.deg2rad */
        double R[3][3] = {{cos(th), -sin(th), 0}, {sin(th), cos(th), 0}, {0, 0, 1}};
        memcpy(M, R, sizeof R);
        any = 1;
    }
    /* `if tx != 0 or ty != 0:` transform_matrix = transform_matrix @ shift_matrix */
    if (tx != 0 || ty != 0) {
        double S[3][3] = {{1, 0, tx}, {0, 1, ty}, {0, 0, 1}};
        if (any) matmul3(M, S, M);
        else memcpy(M, S, sizeof S);
        any = 1;
    }
    /* `if zx != 1 or zy != 1:` transform_matrix = transform_matrix @ zoom_matrix */
    if (zx != 1 || zy != 1) {
        double Z[3][3] = {{zx, 0, 0}, {0, zy, 0}, {0, 0, 1}};
        if (any) matmul3(M, Z, M);
        else memcpy(M, Z, sizeof Z);
        any = 1;
    }
    if (any) {
        /* transform_matrix_offset_center(transform_matrix, h, w) */
        double ox = (double)h / 2 + 0.5, oy = (double)w / 2 + 0.5;
        double O[3][3] = {{1, 0, ox}, {0, 1, oy}, {0, 0, 1}};
        double Rs[3][3] = {{1, 0, -ox}, {0, 1, -oy}, {0, 0, 1}};
        matmul3(O, M, M);
        matmul3(M, Rs, M);
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) m[i][j] = M[i][j];
    return any;
}

/* scipy.ndimage.affine_transform(order=1, mode='nearest') per channel. The
 * coordinate is computed as scipy does (matrix row dot (i, j), then + offset),
 * clamped into [0, n - 1] ('nearest' repeats the edge), and the 2x2
 * neighbourhood is weighted (1 - t, t) per axis, summed in double. */
void lp_affine_apply(int h, int w, int c, const float *src, float *dst, const double m[2][3])
{
    const double hmax = h - 1, wmax = w - 1;
    for (int i = 0; i < h; i++) {
        for (int j = 0; j < w; j++) {
            double r = m[0][0] * i + m[0][1] * j + m[0][2];
            double s = m[1][0] * i + m[1][1] * j + m[1][2];
            if (!(r >= 0)) r = 0; /* also maps NaN to the edge */
            if (r > hmax) r = hmax;
            if (!(s >= 0)) s = 0;
            if (s > wmax) s = wmax;
            int r0 = (int)floor(r), s0 = (int)floor(s);
            double tr = r - r0, ts = s - s0;
            int r1 = r0 + 1 < h ? r0 + 1 : h - 1;
            int s1 = s0 + 1 < w ? s0 + 1 : w - 1;
            double wr0 = 1.0 - tr, wr1 = tr, ws0 = 1.0 - ts, ws1 = ts;
            const float *p00 = src + ((size_t)r0 * w + s0) * c;
            const float *p01 = src + ((size_t)r0 * w + s1) * c;
            const float *p10 = src + ((size_t)r1 * w + s0) * c;
            const float *p11 = src + ((size_t)r1 * w + s1) * c;
            float *o = dst + ((size_t)i * w + j) * c;
            for (int ch = 0; ch < c; ch++) {
                double t = 0.0;
                t += (double)p00[ch] * wr0 * ws0;
                t += (double)p01[ch] * wr0 * ws1;
                t += (double)p10[ch] * wr1 * ws0;
                t += (double)p11[ch] * wr1 * ws1;
                o[ch] = (float)t;
            }
        }
    }
}

/* flip_axis(x, img_col_axis): reverse the columns of an HWC image in place. */
static void flip_columns(int h, int w, int c, float *img)
{
    for (int i = 0; i < h; i++) {
        float *row = img + (size_t)i * w * c;
        for (int j = 0; j < w / 2; j++) {
            float *a = row + (size_t)j * c, *b = row + (size_t)(w - 1 - j) * c;
            for (int ch = 0; ch < c; ch++) {
                float t = a[ch];
                a[ch] = b[ch];
                b[ch] = t;
            }
        }
    }
}

void lp_augment_image(const lp_augment *a, int h, int w, int c, const float *src, float *dst,
                      lp_rng *rng)
{
    /* get_random_transform(): the draws, in Keras' order. */
    double theta = 0, tx = 0, ty = 0, zx = 1, zy = 1;
    if (a->rotation != 0) theta = uniform(rng, -(double)a->rotation, (double)a->rotation);
    if (a->height_shift != 0) {
        tx = uniform(rng, -(double)a->height_shift, (double)a->height_shift);
        if (a->height_shift < 1) tx *= h; /* fraction of the rows, else pixels */
    }
    if (a->width_shift != 0) {
        ty = uniform(rng, -(double)a->width_shift, (double)a->width_shift);
        if (a->width_shift < 1) ty *= w;
    }
    if (a->zoom != 0) {
        double lo = 1 - (double)a->zoom, hi = 1 + (double)a->zoom;
        zx = uniform(rng, lo, hi);
        zy = uniform(rng, lo, hi);
    }
    int flip = a->hflip ? lp_rng_uniform_double(rng) < 0.5 : 0;

    /* apply_transform(): the affine map, then the flip. */
    double m[2][3];
    if (lp_augment_matrix(h, w, theta, tx, ty, zx, zy, m))
        lp_affine_apply(h, w, c, src, dst, m);
    else
        memcpy(dst, src, sizeof(float) * (size_t)h * w * c);
    if (flip) flip_columns(h, w, c, dst);
}

void lp_augment_batch(const lp_augment *a, int n, int h, int w, int c, float *imgs, float *tmp,
                      uint64_t seed, uint64_t counter)
{
    if (!lp_augment_active(a) || n <= 0) return;
    const size_t per = (size_t)h * w * c;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        lp_rng r;
        lp_rng_seed(&r, seed, LP_STREAM_AUGMENT, counter + (uint64_t)i);
        lp_augment_image(a, h, w, c, imgs + (size_t)i * per, tmp + (size_t)i * per, &r);
        memcpy(imgs + (size_t)i * per, tmp + (size_t)i * per, sizeof(float) * per);
    }
}
