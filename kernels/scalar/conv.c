/* Convolution as im2col + GEMM through the kernel table (self->im2col,
 * self->gemm, self->col2im), so an ISA's faster GEMM speeds these up too.
 *
 *   forward:       y[n*oh*ow, oc]   = col[n*oh*ow, K] @ W[K, oc],  K = kh*kw*c
 *   backward data: dcol[n*oh*ow, K] = dy @ W^T, then dx = col2im(dcol)
 *   backward W:    dW[K, oc]        = col^T @ dy (one GEMM, k = n*oh*ow)
 *
 * A 1x1, stride-1, unpadded convolution needs no im2col: x itself is
 * [n*h*w, c], and the workspace is 0 floats. */
#include "kernels/scalar/scalar.h"

static int conv_is_pointwise(const lp_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pad_top == 0 &&
           g->pad_left == 0 && g->oh == g->h && g->ow == g->w;
}

/* The im2col buffer, rounded up to 16 floats: the vector tables put their
 * k-split scratch right after it (ws + this), and a 64-byte aligned ws then
 * keeps that scratch on whole cache lines too (conv7's input layer: 304,200
 * floats, 32 bytes short of a line). */
size_t lp_scalar_conv_workspace(const lp_conv_geom *g)
{
    if (conv_is_pointwise(g)) return 0;
    size_t col = (size_t)g->n * g->oh * g->ow * g->kh * g->kw * g->c;
    return (col + 15) & ~(size_t)15;
}

void lp_scalar_conv_fwd(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                        const float *w, float *y, float *ws)
{
    int m = g->n * g->oh * g->ow, kk = g->kh * g->kw * g->c;
    const float *col = x;
    if (!conv_is_pointwise(g)) {
        self->im2col(g, x, ws);
        col = ws;
    }
    self->gemm(0, 0, m, g->oc, kk, 1.0f, col, kk, w, g->oc, 0.0f, y, g->oc);
}

void lp_scalar_conv_bwd_data(const lp_kernels *self, const lp_conv_geom *g, const float *dy,
                             const float *w, float *dx, float *ws)
{
    int m = g->n * g->oh * g->ow, kk = g->kh * g->kw * g->c;
    if (conv_is_pointwise(g)) {
        self->gemm(0, 1, m, kk, g->oc, 1.0f, dy, g->oc, w, g->oc, 0.0f, dx, kk);
        return;
    }
    self->gemm(0, 1, m, kk, g->oc, 1.0f, dy, g->oc, w, g->oc, 0.0f, ws, kk);
    self->col2im(g, ws, dx);
}

void lp_scalar_conv_bwd_weights(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                                const float *dy, float *dw, float *ws)
{
    int m = g->n * g->oh * g->ow, kk = g->kh * g->kw * g->c;
    const float *col = x;
    if (!conv_is_pointwise(g)) {
        self->im2col(g, x, ws);
        col = ws;
    }
    self->gemm(1, 0, kk, g->oc, m, 1.0f, col, kk, dy, g->oc, 0.0f, dw, g->oc);
}
