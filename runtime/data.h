/* Datasets in memory and their preprocessing into float batches. */
#ifndef LAPERM_RUNTIME_DATA_H
#define LAPERM_RUNTIME_DATA_H

#include "laperm/laperm.h"
#include "runtime/rng.h"

struct laperm_dataset {
    size_t n;          /* images */
    int h, w, c;       /* geometry, HWC */
    int classes;       /* 10 for both */
    uint8_t *pixels;   /* n * h * w * c bytes, HWC per image (CIFAR planes interleaved) */
    uint8_t *labels;   /* n labels, each < classes */
};

/* Augmentation (Keras ImageDataGenerator.random_transform), SPEC section 4. */
typedef struct lp_augment {
    float rotation;      /* degrees, theta ~ U(-rotation, rotation) */
    float height_shift;  /* tx ~ U(-hs, hs) * rows */
    float width_shift;   /* ty ~ U(-ws, ws) * cols */
    float zoom;          /* zx, zy ~ U(1 - zoom, 1 + zoom) independently */
    int hflip;           /* horizontal flip with p = 0.5 */
} lp_augment;

/* 1 if a does anything at all. */
int lp_augment_active(const lp_augment *a);

/* Transform one HWC float image src into dst (no aliasing) with draws from rng:
 * one affine map about the centre, bilinear, fill 'nearest', then the flip. */
void lp_augment_image(const lp_augment *a, int h, int w, int c, const float *src,
                      float *dst, lp_rng *rng);

/* Augment n images in place in parallel over images; image i uses the
 * generator lp_rng_seed(seed, LP_STREAM_AUGMENT, counter + i). tmp holds
 * n * h * w * c floats. */
void lp_augment_batch(const lp_augment *a, int n, int h, int w, int c, float *imgs,
                      float *tmp, uint64_t seed, uint64_t counter);

/* The two halves of lp_augment_image, exposed for tests and other callers.
 *
 * lp_augment_matrix: Keras' apply_affine_transform matrix for rotation theta
 * (degrees), shift (tx along rows, ty along columns, in pixels) and zoom
 * (zx rows, zy columns), composed rotation @ shift @ zoom and moved to the
 * centre by transform_matrix_offset_center (o = h/2 + 0.5, w/2 + 0.5, as in
 * keras_preprocessing 1.1). m maps an output pixel (i, j) to its input
 * coordinate (m[0][0] i + m[0][1] j + m[0][2], m[1][0] i + m[1][1] j + m[1][2]).
 * Returns 0 when Keras would skip the transform (all parameters neutral;
 * m is then the identity).
 *
 * lp_affine_apply: scipy.ndimage.affine_transform(order=1, mode='nearest')
 * on each channel of an HWC image: bilinear, coordinates clamped to the
 * image (edge pixels replicated). src and dst must not alias. */
int lp_augment_matrix(int h, int w, double theta_deg, double tx, double ty, double zx, double zy,
                      double m[2][3]);
void lp_affine_apply(int h, int w, int c, const float *src, float *dst, const double m[2][3]);

#endif
