/* The kernel table: every compute primitive laperm uses, as function
 * pointers. kernels/scalar/ fills all of them (the portable reference and the
 * oracle of every test); each ISA folder overrides the entries it makes
 * faster; the dispatcher (runtime/dispatch.c) picks once at start-up.
 *
 * Conventions for every kernel:
 *  - float32, row-major, activations NHWC, conv kernels HWIO (Keras), Dense
 *    kernels [in, out].
 *  - No I/O and no allocation: scratch memory comes from the caller, sized by
 *    the matching *_workspace function.
 *  - Kernels may use OpenMP internally. Every reduction is partitioned by the
 *    data shape, never by the thread count, so results are bitwise identical
 *    for any number of threads.
 */
#ifndef LAPERM_KERNELS_H
#define LAPERM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Geometry of a 2-D convolution or pooling over a batch of NHWC images. */
typedef struct lp_conv_geom {
    int n;              /* batch */
    int h, w, c;        /* input height, width, channels */
    int kh, kw;         /* window */
    int sh, sw;         /* strides */
    int pad_top, pad_left; /* zero padding before the image ('same'; 0 for 'valid') */
    int oh, ow, oc;     /* output height, width, channels (oc = c for pooling) */
} lp_conv_geom;

/* Kernel families, for reporting which implementation runs each one. */
enum lp_kernel_family {
    LP_KF_GEMM, LP_KF_IM2COL, LP_KF_CONV, LP_KF_BN, LP_KF_POOL,
    LP_KF_ELTWISE, LP_KF_SOFTMAX, LP_KF_ADAM, LP_KF_SYNC,
    LP_KF_COUNT
};
extern const char *const lp_kernel_family_names[LP_KF_COUNT];

typedef struct lp_kernels lp_kernels;

struct lp_kernels {
    /* Implementation name per family, e.g. "scalar", "avx2", "avx512", "dnnl". */
    const char *impl[LP_KF_COUNT];

    /* C[m,n] = alpha * op(A)[m,k] op(B)[k,n] + beta * C; op(X) = X or X^T.
     * beta == 0 means C is overwritten (its old contents may be NaN). */
    void (*gemm)(int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta,
                 float *c, int ldc);

    /* col[n*oh*ow, kh*kw*c]: one row per output pixel, (kh, kw, c) order, so
     * that col @ W (HWIO viewed as [kh*kw*c, oc]) is the convolution. */
    void (*im2col)(const lp_conv_geom *g, const float *x, float *col);
    /* dx = sum of col's entries at the input positions they were read from;
     * dx is overwritten (zeroed first). */
    void (*col2im)(const lp_conv_geom *g, const float *col, float *dx);

    /* Convolution (no bias, no activation). The scalar versions compose
     * self->im2col and self->gemm; a backend may replace them whole.
     * ws holds conv_workspace(g) floats. */
    size_t (*conv_workspace)(const lp_conv_geom *g);
    void (*conv_fwd)(const lp_kernels *self, const lp_conv_geom *g,
                     const float *x, const float *w, float *y, float *ws);
    /* Optional (NULL: not provided): conv_fwd, then y[r, j] += bias[j]
     * (bias may be NULL), then y = relu(y) when relu != 0, in one pass and
     * bitwise equal to conv_fwd + bias_add + relu_fwd of the same table. */
    void (*conv_fwd_ep)(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                        const float *w, const float *bias, int relu, float *y, float *ws);
    /* dx overwritten. */
    void (*conv_bwd_data)(const lp_kernels *self, const lp_conv_geom *g,
                          const float *dy, const float *w, float *dx, float *ws);
    /* dw overwritten. */
    void (*conv_bwd_weights)(const lp_kernels *self, const lp_conv_geom *g,
                             const float *x, const float *dy, float *dw, float *ws);

    /* y[r, j] += b[j] for rows r; db[j] = sum_r dy[r, j] (overwritten). */
    void (*bias_add)(size_t rows, int cols, const float *b, float *y);
    void (*bias_grad)(size_t rows, int cols, const float *dy, float *db);

    /* Optional (NULL: not provided): relu_bwd in place on dy (mask by
     * y > 0), then bias_grad of the masked dy, in one pass; bitwise equal to
     * the two calls of the same table. */
    void (*relu_bias_grad)(size_t rows, int cols, const float *y, float *dy, float *db);

    /* y = max(x, 0) (in place allowed); dx = dy where y > 0 else 0. */
    void (*relu_fwd)(size_t n, const float *x, float *y);
    void (*relu_bwd)(size_t n, const float *y, const float *dy, float *dx);

    /* Pooling over g (oc == c, no padding). Max pooling backward routes each
     * gradient to the first maximum of its window (TF's choice). dx is
     * overwritten. */
    void (*maxpool_fwd)(const lp_conv_geom *g, const float *x, float *y);
    void (*maxpool_bwd)(const lp_conv_geom *g, const float *x, const float *y,
                        const float *dy, float *dx);
    void (*avgpool_fwd)(const lp_conv_geom *g, const float *x, float *y);
    void (*avgpool_bwd)(const lp_conv_geom *g, const float *dy, float *dx);

    /* Batch norm over the last axis: x is [rows, c].
     * Training: mean and biased var of the batch into mean/var, y normalised
     * with them. Inference: y from the given (moving) mean and var.
     * Backward: dx, and dgamma/dbeta overwritten; mean/var from training fwd.
     * relu != 0 fuses a ReLU after the affine output (fwd) and masks dy by
     * y > 0 (bwd; y is then the fused output). */
    void (*bn_fwd_train)(size_t rows, int c, const float *x, const float *gamma,
                         const float *beta, float eps, float *y, float *mean,
                         float *var, int relu);
    void (*bn_fwd_infer)(size_t rows, int c, const float *x, const float *gamma,
                         const float *beta, const float *mean, const float *var,
                         float eps, float *y, int relu);
    void (*bn_bwd)(size_t rows, int c, const float *x, const float *y,
                   const float *dy, const float *gamma, const float *mean,
                   const float *var, float eps, float *dx, float *dgamma,
                   float *dbeta, int relu);

    /* y = x * mask * scale (mask of 0/1 bytes); used for backward as well. */
    void (*dropout_apply)(size_t n, const float *x, const uint8_t *mask,
                          float scale, float *y);

    /* Fused softmax + sparse cross-entropy over [rows, classes] logits.
     * Returns the summed (not mean) loss over rows as double. If dlogits is
     * not NULL it receives (softmax - onehot) * grad_scale. If correct is not
     * NULL it receives how many rows have argmax == label (first max wins).
     * probs may be NULL. */
    double (*softmax_xent)(size_t rows, int classes, const float *logits,
                           const int32_t *labels, float grad_scale,
                           float *dlogits, float *probs, size_t *correct);

    /* sum of x^2 (double accumulation); y += a * x; y = a + b (y may be a
     * or b: a residual connection's forward); y = x (threads share the
     * copy: a residual connection's gradient to its first input). */
    double (*sumsq)(size_t n, const float *x);
    void (*axpy)(size_t n, float a, const float *x, float *y);
    void (*add)(size_t n, const float *a, const float *b, float *y);
    void (*copy)(size_t n, const float *x, float *y);

    /* Adam (TF2 Keras): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
     * w -= lr_t * m / (sqrt(v) + eps), lr_t precomputed by the caller. */
    void (*adam_update)(size_t n, float *w, const float *g, float *m, float *v,
                        float lr_t, float b1, float b2, float eps);

    /* Stable ascending argsort of n keys: idx[r] = position of the r-th
     * smallest, equal keys (and -0.0 == +0.0) in position order.
     * ws holds argsort_workspace(n) bytes (NULL when that is 0).
     * Returns 0, or -1 if a key is NaN (idx then undefined). */
    size_t (*argsort_workspace)(size_t n);
    int (*argsort)(size_t n, const float *keys, uint32_t *idx, void *ws);

    /* The LaPerm sync of one variable viewed as nvec vectors of length len.
     * w is [len, nvec] row-major (vector j is the column w[:, j], the Keras
     * layout of Dense and Conv2D kernels; a 1-D variable is nvec = 1);
     * sorted is [nvec, len], each row the ascending initial values.
     * Afterwards w[:, j] holds sorted[j, :] arranged in the rank order the
     * column had. ws holds sync_workspace(len, nvec) bytes.
     * Returns -1 on success, or the index of the first vector with a NaN
     * (w is then partly updated; the run has diverged anyway). */
    size_t (*sync_workspace)(size_t len, size_t nvec);
    long (*sync)(size_t len, size_t nvec, float *w, const float *sorted,
                 void *ws);
};

/* Fill every entry with the portable scalar implementation. */
void lp_kernels_init_scalar(lp_kernels *k);

/* Per-ISA overrides: each replaces the entries it implements. Only the
 * dispatcher calls these, and only on a CPU that supports the ISA. */
void lp_kernels_init_avx2(lp_kernels *k);
void lp_kernels_init_avx512(lp_kernels *k);
void lp_kernels_init_neon(lp_kernels *k);
/* oneDNN backend: replaces conv and batch norm entries. Returns 0 on success. */
int lp_kernels_init_dnnl(lp_kernels *k);

/* TF 'same' padding helpers shared by layers and tests. */
static inline int lp_same_out(int in, int stride) { return (in + stride - 1) / stride; }
static inline int lp_same_pad_before(int in, int k, int stride)
{
    int out = lp_same_out(in, stride);
    int total = (out - 1) * stride + k - in;
    if (total < 0) total = 0;
    return total / 2;
}

#ifdef __cplusplus
}
#endif
#endif
