/* Batch normalization through oneDNN over x[rows, c] (NHWC activations with
 * N*H*W rows, or Dense outputs), described to oneDNN as NHWC [rows, c, 1, 1].
 *
 *  - gamma / beta are oneDNN's separate scale and shift (dnnl_use_scale |
 *    dnnl_use_shift), epsilon the argument (part of the cache key);
 *  - training forward writes the batch mean and variance; oneDNN's variance
 *    is the biased one (sum (x - mean)^2 / rows), as kernels.h wants;
 *  - inference uses the given mean / var (dnnl_use_global_stats);
 *  - relu: forward fuses it with dnnl_fuse_norm_relu (training then needs a
 *    workspace, allocated once per cache entry); backward masks dy by y > 0
 *    itself (the fused output is what kernels.h passes, not oneDNN's
 *    workspace) into dx, then runs oneDNN's backward in place on dx;
 *  - backward (dnnl_backward) gives dx, dgamma (diff scale), dbeta (diff
 *    shift); with the batch statistics as inputs.
 * rows == 0 or c == 0, and anything oneDNN rejects, run the native kernel. */
#include "kernels/dnnl/dnnl_internal.h"

#include <string.h>

typedef struct bn_ctx {
    size_t rows;
    int c;
    float eps;
    int op, relu;
} bn_ctx;

static void bn_key(lp_dnnl_key *k, const bn_ctx *b)
{
    memset(k, 0, sizeof *k);
    uint32_t eb;
    memcpy(&eb, &b->eps, sizeof eb);
    k->v[0] = LP_DNNL_KEY_BN | (b->op << 8) | ((b->relu != 0) << 16);
    k->v[1] = (int64_t)b->rows;
    k->v[2] = b->c;
    k->v[3] = eb;
}

static dnnl_status_t bn_pd(dnnl_primitive_desc_t *pd, dnnl_prop_kind_t prop, lp_cmd data,
                           float eps, unsigned flags, const_dnnl_primitive_desc_t hint)
{
#if DNNL_VERSION_MAJOR >= 3
    if (prop == dnnl_backward)
        return dnnl_batch_normalization_backward_primitive_desc_create(
            pd, lp_dnnl_engine(), prop, data, data, data, eps, flags, hint, NULL);
    return dnnl_batch_normalization_forward_primitive_desc_create(pd, lp_dnnl_engine(), prop,
                                                                  data, data, eps, flags, NULL);
#else
    dnnl_batch_normalization_desc_t d;
    dnnl_status_t s = prop == dnnl_backward
                          ? dnnl_batch_normalization_backward_desc_init(&d, prop, data, data, eps,
                                                                        flags)
                          : dnnl_batch_normalization_forward_desc_init(&d, prop, data, eps, flags);
    if (s != dnnl_success) return s;
    return dnnl_primitive_desc_create(pd, &d, NULL, lp_dnnl_engine(), hint);
#endif
}

/* The arguments each op binds (the workspace is the entry's own). */
static const int bn_train_args[] = {DNNL_ARG_SRC,   DNNL_ARG_DST,  DNNL_ARG_SCALE,
                                    DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
static const int bn_bwd_args[] = {DNNL_ARG_SRC,      DNNL_ARG_MEAN,       DNNL_ARG_VARIANCE,
                                  DNNL_ARG_DIFF_DST, DNNL_ARG_SCALE,      DNNL_ARG_DIFF_SRC,
                                  DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT};

static int is_data_arg(int a)
{
    return a == DNNL_ARG_SRC || a == DNNL_ARG_DST || a == DNNL_ARG_DIFF_SRC ||
           a == DNNL_ARG_DIFF_DST;
}

#define TRY(what, call)                                                                      \
    do {                                                                                     \
        dnnl_status_t s_ = (call);                                                           \
        if (s_ != dnnl_success) {                                                            \
            lp_dnnl_set_error(what, s_);                                                     \
            goto done;                                                                       \
        }                                                                                    \
    } while (0)

static int bn_build(lp_dnnl_entry *e, const void *vctx)
{
    const bn_ctx *b = vctx;
    if (b->rows == 0 || b->c <= 0 || b->rows > (size_t)INT64_MAX / 2) return -1;
    /* [rows, c] as NHWC with N = rows, H = W = 1: oneDNN's jit batch norm
     * takes this (a 2-D `nc` tensor gets its slow reference code). */
    const dnnl_dims_t dd = {(dnnl_dim_t)b->rows, b->c, 1, 1};
    const unsigned ss = dnnl_use_scale | dnnl_use_shift;
    const unsigned relu = b->relu ? dnnl_fuse_norm_relu : 0u;
    int rc = -1, nmd = 0;
    lp_md md;
    dnnl_primitive_desc_t hint = NULL, pd = NULL;
    TRY("bn: memory desc", lp_md_init(&md, 4, dd, dnnl_nhwc));
    nmd = 1;
    lp_cmd data = LP_MD(&md);
    const int *want;
    int nwant;
    switch (b->op) {
    case LP_DNNL_BN_TRAIN:
        TRY("bn: primitive desc", bn_pd(&pd, dnnl_forward_training, data, b->eps, ss | relu, NULL));
        want = bn_train_args;
        nwant = 6;
        break;
    case LP_DNNL_BN_INFER:
        TRY("bn: primitive desc", bn_pd(&pd, dnnl_forward_inference, data, b->eps,
                                        dnnl_use_global_stats | ss | relu, NULL));
        want = bn_train_args;
        nwant = 6;
        break;
    default:
        TRY("bn: forward hint", bn_pd(&hint, dnnl_forward_training, data, b->eps, ss, NULL));
        TRY("bn: primitive desc", bn_pd(&pd, dnnl_backward, data, b->eps, ss, hint));
        want = bn_bwd_args;
        nwant = 8;
        break;
    }
    lp_dnnl_exec *x = &e->ex[0];
    e->nex = 1;
    TRY("bn: primitive", lp_dnnl_exec_create(x, pd));
    /* The primitive must want every argument this op binds, data as given
     * and vectors of c plain floats. */
    for (int j = 0; j < nwant; j++) {
        int a = want[j];
        lp_cmd q = lp_dnnl_exec_query(x, a);
        int fits = is_data_arg(a) ? dnnl_memory_desc_equal(q, data)
                                  : lp_md_ndims(q) == 1 &&
                                        dnnl_memory_desc_get_size(q) == (size_t)b->c * sizeof(float);
        if (!fits) {
            lp_dnnl_set_error("bn: argument layout", dnnl_unimplemented);
            goto done;
        }
        TRY("bn: memory", lp_dnnl_exec_add(x, a, q, 0));
    }
    /* Its own: the fused-ReLU workspace of training; and backward's shift,
     * which 2.6 lists as an input although no gradient depends on beta
     * (bn_bwd gets no beta): zeros. */
    int present;
    TRY("bn: workspace", lp_dnnl_exec_add_queried(x, DNNL_ARG_WORKSPACE, 1, &present));
    if (b->op == LP_DNNL_BN_BWD) {
        TRY("bn: shift", lp_dnnl_exec_add_queried(x, DNNL_ARG_SHIFT, 1, &present));
        void *h = NULL;
        if (present &&
            dnnl_memory_get_data_handle(lp_dnnl_exec_mem(x, DNNL_ARG_SHIFT), &h) == dnnl_success &&
            h)
            memset(h, 0, (size_t)b->c * sizeof(float));
    }
    rc = 0;
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (hint) dnnl_primitive_desc_destroy(hint);
    if (nmd) lp_md_fini(&md);
    return rc;
}

static lp_dnnl_entry *bn_entry(size_t rows, int c, float eps, int op, int relu)
{
    bn_ctx b = {rows, c, eps, op, relu != 0};
    lp_dnnl_key key;
    bn_key(&key, &b);
    lp_dnnl_entry *e = lp_dnnl_cache_get(&key, bn_build, &b);
    return e && e->ok ? e : NULL;
}

static int bn_run(lp_dnnl_entry *e, const int *args, const void *const *ptrs, int n)
{
    lp_dnnl_exec *x = &e->ex[0];
    dnnl_status_t s = dnnl_success;
    for (int i = 0; i < n && s == dnnl_success; i++) s = lp_dnnl_exec_bind(x, args[i], ptrs[i]);
    if (s == dnnl_success) s = lp_dnnl_exec_run(x);
    if (s != dnnl_success) {
        lp_dnnl_set_error("bn: execute", s);
        return -1;
    }
    return 0;
}

void lp_dnnl_bn_fwd_train(size_t rows, int c, const float *x, const float *gamma,
                          const float *beta, float eps, float *y, float *mean, float *var,
                          int relu)
{
    lp_dnnl_lock();
    lp_dnnl_entry *e = bn_entry(rows, c, eps, LP_DNNL_BN_TRAIN, relu);
    const void *p[6] = {x, y, gamma, beta, mean, var};
    if (e && bn_run(e, bn_train_args, p, 6) == 0) {
        lp_dnnl_counters.bn_dnnl++;
    } else {
        lp_dnnl_counters.bn_native++;
        lp_dnnl_prev.bn_fwd_train(rows, c, x, gamma, beta, eps, y, mean, var, relu);
    }
    lp_dnnl_unlock();
}

void lp_dnnl_bn_fwd_infer(size_t rows, int c, const float *x, const float *gamma,
                          const float *beta, const float *mean, const float *var, float eps,
                          float *y, int relu)
{
    lp_dnnl_lock();
    lp_dnnl_entry *e = bn_entry(rows, c, eps, LP_DNNL_BN_INFER, relu);
    const void *p[6] = {x, y, gamma, beta, mean, var};
    if (e && bn_run(e, bn_train_args, p, 6) == 0) {
        lp_dnnl_counters.bn_dnnl++;
    } else {
        lp_dnnl_counters.bn_native++;
        lp_dnnl_prev.bn_fwd_infer(rows, c, x, gamma, beta, mean, var, eps, y, relu);
    }
    lp_dnnl_unlock();
}

static int overlaps(const float *a, const float *b, size_t n)
{
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b, len = n * sizeof(float);
    return pa < pb + len && pb < pa + len;
}

void lp_dnnl_bn_bwd(size_t rows, int c, const float *x, const float *y, const float *dy,
                    const float *gamma, const float *mean, const float *var, float eps,
                    float *dx, float *dgamma, float *dbeta, int relu)
{
    lp_dnnl_lock();
    lp_dnnl_entry *e = bn_entry(rows, c, eps, LP_DNNL_BN_BWD, 0);
    const float *g = dy;
    if (e && relu) {
        /* The masked gradient goes into dx (oneDNN's backward runs in
         * place), unless dx is x, which the backward still reads. */
        size_t n = rows * (size_t)c;
        float *t = overlaps(dx, x, n) ? lp_dnnl_buffer(1, n) : dx;
        if (t) {
            long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > 65536)
            for (long long i = 0; i < nn; i++) t[i] = y[i] > 0.0f ? dy[i] : 0.0f;
            g = t;
        } else {
            e = NULL;
        }
    }
    const void *p[8] = {x, mean, var, g, gamma, dx, dgamma, dbeta};
    if (e && bn_run(e, bn_bwd_args, p, 8) == 0) {
        lp_dnnl_counters.bn_dnnl++;
    } else {
        lp_dnnl_counters.bn_native++;
        /* If the masking wrote into dx, dy and y are still intact (dx does
         * not alias them in a valid call unless dx == dy, where the masked
         * gradient is what the native kernel would compute with anyway). */
        lp_dnnl_prev.bn_bwd(rows, c, x, y, dy, gamma, mean, var, eps, dx, dgamma, dbeta, relu);
    }
    lp_dnnl_unlock();
}

const char *lp_dnnl_bn_impl(size_t rows, int c, float eps, int op, int relu)
{
    lp_dnnl_lock();
    lp_dnnl_entry *e = bn_entry(rows, c, eps, op, op == LP_DNNL_BN_BWD ? 0 : relu);
    const char *s = e ? lp_dnnl_exec_impl(&e->ex[0]) : "native";
    lp_dnnl_unlock();
    return s;
}
