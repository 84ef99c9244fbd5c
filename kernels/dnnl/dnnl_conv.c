/* Convolution through oneDNN: forward, backward data, backward weights.
 *
 * Activations are NHWC (dnnl_nhwc) and are used in place; weights are the
 * caller's HWIO (dnnl_hwio = cdba over the logical O I H W). By default the
 * primitive chooses its own weights layout (dnnl_format_tag_any, normally a
 * blocked one that the fastest jit kernels want) and a reorder primitive
 * converts HWIO into it before forward / backward data, or the weight
 * gradient back into HWIO after backward weights; with
 * LAPERM_DNNL_CONV_WEIGHTS=hwio the primitives take HWIO directly.
 *
 * TF 'same' padding is asymmetric: padding_l = (pad_top, pad_left) and
 * padding_r is whatever makes oneDNN's output size
 * (in + pad_l + pad_r - k) / stride + 1 equal the geometry's oh / ow
 * (clamped at 0: for 'valid' the unused tail of the input is simply never
 * read, exactly as im2col does). No bias (the runtime adds it).
 *
 * Direct algorithm only (no Winograd), so results differ from the
 * im2col+GEMM reference by summation order alone. */
#include "kernels/dnnl/dnnl_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv_ctx {
    const lp_conv_geom *g;
    int op;
} conv_ctx;

static void conv_key(lp_dnnl_key *k, const lp_conv_geom *g, int op)
{
    memset(k, 0, sizeof *k);
    k->v[0] = LP_DNNL_KEY_CONV | (op << 8) | (lp_dnnl_weights_any << 16);
    const int f[13] = {g->n,  g->h,       g->w,        g->c,  g->kh, g->kw, g->sh,
                       g->sw, g->pad_top, g->pad_left, g->oh, g->ow, g->oc};
    for (int i = 0; i < 13; i++) k->v[1 + i] = f[i];
}

/* padding_r such that oneDNN's output size is `out`; -1 if none is. */
static int conv_pad_r(int in, int k, int s, int pl, int out, int64_t *pr)
{
    int64_t r = (int64_t)(out - 1) * s + k - in - pl;
    if (r < 0) r = 0;
    int64_t span = (int64_t)in + pl + r - k;
    if (span < 0 || span / s + 1 != out) return -1;
    *pr = r;
    return 0;
}

/* oneDNN 2.6's jit_1x1 backward-weights kernels for strided 1x1
 * convolutions (the "reduce to unit stride" path) write past one of their
 * own buffers for small input-channel counts (valgrind: ic <= 5 at stride 2;
 * the avx512 build corrupts the heap): such shapes take the next
 * implementation oneDNN offers instead. */
static int conv_avoid(int op, const lp_conv_geom *g, const_dnnl_primitive_desc_t pd)
{
    if (op != LP_DNNL_CONV_BWD_WEIGHTS || g->kh != 1 || g->kw != 1 || (g->sh == 1 && g->sw == 1))
        return 0;
    const char *name = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success || !name)
        return 0;
    return strstr(name, "1x1") != NULL;
}

static dnnl_status_t conv_pd(dnnl_primitive_desc_t *pd, int op, const lp_conv_geom *g,
                             lp_cmd src, lp_cmd wei, lp_cmd dst, const dnnl_dims_t st,
                             const dnnl_dims_t pl, const dnnl_dims_t pr,
                             const_dnnl_primitive_desc_t hint)
{
    *pd = NULL;
#if DNNL_VERSION_MAJOR >= 3
    const dnnl_dims_t dil = {0, 0};
    dnnl_status_t s;
    switch (op) {
    case LP_DNNL_CONV_FWD:
        s = dnnl_convolution_forward_primitive_desc_create(
            pd, lp_dnnl_engine(), dnnl_forward_training, dnnl_convolution_direct, src, wei, NULL,
            dst, st, dil, pl, pr, NULL);
        break;
    case LP_DNNL_CONV_BWD_DATA:
        s = dnnl_convolution_backward_data_primitive_desc_create(
            pd, lp_dnnl_engine(), dnnl_convolution_direct, src, wei, dst, st, dil, pl, pr, hint,
            NULL);
        break;
    default:
        s = dnnl_convolution_backward_weights_primitive_desc_create(
            pd, lp_dnnl_engine(), dnnl_convolution_direct, src, wei, NULL, dst, st, dil, pl, pr,
            hint, NULL);
        break;
    }
    while (s == dnnl_success && conv_avoid(op, g, *pd)) {
        if (dnnl_primitive_desc_next_impl(*pd) != dnnl_success) {
            dnnl_primitive_desc_destroy(*pd);
            *pd = NULL;
            s = dnnl_unimplemented;
        }
    }
    return s;
#else
    dnnl_convolution_desc_t d;
    dnnl_status_t s;
    switch (op) {
    case LP_DNNL_CONV_FWD:
        s = dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_direct,
                                               src, wei, NULL, dst, st, pl, pr);
        break;
    case LP_DNNL_CONV_BWD_DATA:
        s = dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, src, wei, dst,
                                                     st, pl, pr);
        break;
    default:
        s = dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, src, wei,
                                                        NULL, dst, st, pl, pr);
        break;
    }
    if (s != dnnl_success) return s;
    /* The iterator walks oneDNN's implementations best first. */
    dnnl_primitive_desc_iterator_t it;
    s = dnnl_primitive_desc_iterator_create(&it, &d, NULL, lp_dnnl_engine(), hint);
    if (s != dnnl_success) return s;
    for (;;) {
        dnnl_primitive_desc_t p = dnnl_primitive_desc_iterator_fetch(it);
        if (!p) {
            s = dnnl_runtime_error;
            break;
        }
        if (!conv_avoid(op, g, p)) {
            *pd = p;
            s = dnnl_success;
            break;
        }
        dnnl_primitive_desc_destroy(p);
        if (dnnl_primitive_desc_iterator_next(it) != dnnl_success) {
            s = dnnl_unimplemented;
            break;
        }
    }
    dnnl_primitive_desc_iterator_destroy(it);
    return s;
#endif
}

static int arg_src(int op) { return op == LP_DNNL_CONV_BWD_DATA ? DNNL_ARG_DIFF_SRC : DNNL_ARG_SRC; }
static int arg_wei(int op)
{
    return op == LP_DNNL_CONV_BWD_WEIGHTS ? DNNL_ARG_DIFF_WEIGHTS : DNNL_ARG_WEIGHTS;
}
static int arg_dst(int op) { return op == LP_DNNL_CONV_FWD ? DNNL_ARG_DST : DNNL_ARG_DIFF_DST; }

#define TRY(what, call)                                                                      \
    do {                                                                                     \
        dnnl_status_t s_ = (call);                                                           \
        if (s_ != dnnl_success) {                                                            \
            lp_dnnl_set_error(what, s_);                                                     \
            goto done;                                                                       \
        }                                                                                    \
    } while (0)

static int conv_build(lp_dnnl_entry *e, const void *vctx)
{
    const conv_ctx *c = vctx;
    const lp_conv_geom *g = c->g;
    const int op = c->op;
    if (g->n <= 0 || g->h <= 0 || g->w <= 0 || g->c <= 0 || g->kh <= 0 || g->kw <= 0 ||
        g->sh <= 0 || g->sw <= 0 || g->oh <= 0 || g->ow <= 0 || g->oc <= 0 || g->pad_top < 0 ||
        g->pad_left < 0)
        return -1;
    int64_t prh, prw;
    if (conv_pad_r(g->h, g->kh, g->sh, g->pad_top, g->oh, &prh) ||
        conv_pad_r(g->w, g->kw, g->sw, g->pad_left, g->ow, &prw))
        return -1;
    const dnnl_dims_t xd = {g->n, g->c, g->h, g->w}, wd = {g->oc, g->c, g->kh, g->kw},
                      yd = {g->n, g->oc, g->oh, g->ow};
    const dnnl_dims_t st = {g->sh, g->sw}, pl = {g->pad_top, g->pad_left}, pr = {prh, prw};

    int rc = -1, nmd = 0;
    lp_md md[4]; /* x, y, w (HWIO), w for the primitive (any or HWIO) */
    dnnl_primitive_desc_t hint = NULL, pd = NULL, rpd = NULL;
    TRY("conv: memory desc", lp_md_init(&md[0], 4, xd, dnnl_nhwc));
    nmd = 1;
    TRY("conv: memory desc", lp_md_init(&md[1], 4, yd, dnnl_nhwc));
    nmd = 2;
    TRY("conv: memory desc", lp_md_init(&md[2], 4, wd, dnnl_hwio));
    nmd = 3;
    TRY("conv: memory desc",
        lp_md_init(&md[3], 4, wd, lp_dnnl_weights_any ? dnnl_format_tag_any : dnnl_hwio));
    nmd = 4;
    lp_cmd mx = LP_MD(&md[0]), my = LP_MD(&md[1]), mwu = LP_MD(&md[2]), mw = LP_MD(&md[3]);
    if (op != LP_DNNL_CONV_FWD)
        TRY("conv: forward hint", conv_pd(&hint, LP_DNNL_CONV_FWD, g, mx, mw, my, st, pl, pr, NULL));
    TRY("conv: primitive desc", conv_pd(&pd, op, g, mx, mw, my, st, pl, pr, hint));

    lp_dnnl_exec *x = &e->ex[0];
    e->nex = 1;
    TRY("conv: primitive", lp_dnnl_exec_create(x, pd));
    /* Activations must be the caller's NHWC as they are. */
    if (!dnnl_memory_desc_equal(lp_dnnl_exec_query(x, arg_src(op)), mx) ||
        !dnnl_memory_desc_equal(lp_dnnl_exec_query(x, arg_dst(op)), my)) {
        lp_dnnl_set_error("conv: activation layout", dnnl_unimplemented);
        goto done;
    }
    TRY("conv: memory", lp_dnnl_exec_add(x, arg_src(op), mx, 0));
    TRY("conv: memory", lp_dnnl_exec_add(x, arg_dst(op), my, 0));
    lp_cmd mwp = lp_dnnl_exec_query(x, arg_wei(op));
    if (dnnl_memory_desc_equal(mwp, mwu)) {
        TRY("conv: memory", lp_dnnl_exec_add(x, arg_wei(op), mwu, 0));
        e->reorder = 0;
    } else {
        TRY("conv: weights buffer", lp_dnnl_exec_add(x, arg_wei(op), mwp, 1));
        dnnl_memory_t wbuf = lp_dnnl_exec_mem(x, arg_wei(op));
        int fwd = op != LP_DNNL_CONV_BWD_WEIGHTS;
        TRY("conv: weights reorder",
            dnnl_reorder_primitive_desc_create(&rpd, fwd ? mwu : mwp, lp_dnnl_engine(),
                                               fwd ? mwp : mwu, lp_dnnl_engine(), NULL));
        lp_dnnl_exec *r = &e->ex[1];
        e->nex = 2;
        TRY("conv: weights reorder", lp_dnnl_exec_create(r, rpd));
        if (fwd) {
            TRY("conv: memory", lp_dnnl_exec_add(r, DNNL_ARG_FROM, mwu, 0));
            TRY("conv: memory", lp_dnnl_exec_share(r, DNNL_ARG_TO, wbuf));
            e->reorder = 1;
        } else {
            TRY("conv: memory", lp_dnnl_exec_share(r, DNNL_ARG_FROM, wbuf));
            TRY("conv: memory", lp_dnnl_exec_add(r, DNNL_ARG_TO, mwu, 0));
            e->reorder = 2;
        }
    }
    rc = 0;
done:
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (hint) dnnl_primitive_desc_destroy(hint);
    for (int i = 0; i < nmd; i++) lp_md_fini(&md[i]);
    return rc;
}

/* Runs op on the caller's buffers: src is x or dx, wei is w or dw, dst is y
 * or dy. Returns 0, or -1 when the native kernel must do it. Under the lock. */
static int conv_exec(const lp_conv_geom *g, int op, const void *src, const void *wei,
                     const void *dst)
{
    lp_dnnl_key key;
    conv_key(&key, g, op);
    conv_ctx ctx = {g, op};
    lp_dnnl_entry *e = lp_dnnl_cache_get(&key, conv_build, &ctx);
    if (!e || !e->ok) return -1;
    lp_dnnl_exec *x = &e->ex[0], *r = &e->ex[1];
    dnnl_status_t s = lp_dnnl_exec_bind(x, arg_src(op), src);
    if (s == dnnl_success) s = lp_dnnl_exec_bind(x, arg_dst(op), dst);
    if (s == dnnl_success) {
        switch (e->reorder) {
        case 0: s = lp_dnnl_exec_bind(x, arg_wei(op), wei); break;
        case 1:
            s = lp_dnnl_exec_bind(r, DNNL_ARG_FROM, wei);
            if (s == dnnl_success) s = lp_dnnl_exec_run(r);
            break;
        default: s = lp_dnnl_exec_bind(r, DNNL_ARG_TO, wei); break;
        }
    }
    if (s == dnnl_success) s = lp_dnnl_exec_run(x);
    if (s == dnnl_success && e->reorder == 2) s = lp_dnnl_exec_run(r);
    if (s != dnnl_success) {
        lp_dnnl_set_error("conv: execute", s);
        return -1;
    }
    return 0;
}

/* The native kernels need their im2col workspace, which the caller did not
 * allocate (conv_workspace is 0 here): the backend keeps one. */
static float *native_ws(const lp_conv_geom *g)
{
    size_t n = lp_dnnl_prev.conv_workspace(g);
    float *ws = lp_dnnl_buffer(0, n);
    if (!ws) {
        fprintf(stderr, "laperm: dnnl backend: out of memory for a %zu-float conv workspace\n", n);
        abort();
    }
    return ws;
}

size_t lp_dnnl_conv_workspace(const lp_conv_geom *g)
{
    (void)g;
    return 0;
}

void lp_dnnl_conv_fwd(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                      const float *w, float *y, float *ws)
{
    (void)ws;
    lp_dnnl_lock();
    if (conv_exec(g, LP_DNNL_CONV_FWD, x, w, y) == 0) {
        lp_dnnl_counters.conv_dnnl++;
    } else {
        lp_dnnl_counters.conv_native++;
        lp_dnnl_prev.conv_fwd(self, g, x, w, y, native_ws(g));
    }
    lp_dnnl_unlock();
}

void lp_dnnl_conv_bwd_data(const lp_kernels *self, const lp_conv_geom *g, const float *dy,
                           const float *w, float *dx, float *ws)
{
    (void)ws;
    lp_dnnl_lock();
    if (conv_exec(g, LP_DNNL_CONV_BWD_DATA, dx, w, dy) == 0) {
        lp_dnnl_counters.conv_dnnl++;
    } else {
        lp_dnnl_counters.conv_native++;
        lp_dnnl_prev.conv_bwd_data(self, g, dy, w, dx, native_ws(g));
    }
    lp_dnnl_unlock();
}

void lp_dnnl_conv_bwd_weights(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                              const float *dy, float *dw, float *ws)
{
    (void)ws;
    lp_dnnl_lock();
    if (conv_exec(g, LP_DNNL_CONV_BWD_WEIGHTS, x, dw, dy) == 0) {
        lp_dnnl_counters.conv_dnnl++;
    } else {
        lp_dnnl_counters.conv_native++;
        lp_dnnl_prev.conv_bwd_weights(self, g, x, dy, dw, native_ws(g));
    }
    lp_dnnl_unlock();
}

const char *lp_dnnl_conv_impl(const lp_conv_geom *g, int op)
{
    lp_dnnl_lock();
    lp_dnnl_key key;
    conv_key(&key, g, op);
    conv_ctx ctx = {g, op};
    lp_dnnl_entry *e = lp_dnnl_cache_get(&key, conv_build, &ctx);
    const char *s = e && e->ok ? lp_dnnl_exec_impl(&e->ex[0]) : "native";
    lp_dnnl_unlock();
    return s;
}
