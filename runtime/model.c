/* Model graph: building, buffers, forward and backward on the kernel table. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "runtime/model.h"
#include "runtime/dispatch.h"
#include "runtime/error.h"
#include "runtime/memory.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const type_names[LP_LAYER_TYPE_COUNT] = {
    "InputLayer", "Conv2D", "Dense", "BatchNormalization", "Activation", "MaxPooling2D",
    "AveragePooling2D", "Dropout", "Flatten", "Add"};
/* Keras' default layer name prefixes. */
static const char *const keras_prefix[LP_LAYER_TYPE_COUNT] = {
    "input", "conv2d", "dense", "batch_normalization", "activation", "max_pooling2d",
    "average_pooling2d", "dropout", "flatten", "add"};
const char *const lp_prof_kind_names[LP_PROF_KINDS] = {
    "conv_fwd", "conv_bwd_data", "conv_bwd_weights", "dense_fwd", "dense_bwd", "bn_fwd", "bn_bwd",
    "act", "pool", "dropout", "softmax_loss", "add", "bias", "l2"};
static const char *const var_suffix[] = {"kernel", "bias", "gamma", "beta", "moving_mean",
                                         "moving_variance"};

const char *lp_layer_type_name(lp_layer_type t) { return t < LP_LAYER_TYPE_COUNT ? type_names[t] : "?"; }

laperm_status lp_model_new(const char *name, int h, int w, int c, int classes, lp_model **out)
{
    lp_model *m = calloc(1, sizeof *m);
    if (!m) return lp_fail(LAPERM_E_NOMEM, "out of memory building model %s", name);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->in_h = h;
    m->in_w = w;
    m->in_c = c;
    m->classes = classes;
    lp_node *n = &m->nodes[0];
    n->type = LP_INPUT;
    snprintf(n->name, sizeof n->name, "input_1");
    n->in[0] = n->in[1] = -1;
    n->h = h;
    n->w = w;
    n->c = c;
    n->fused_into = -1;
    m->nnodes = 1;
    *out = m;
    return LAPERM_OK;
}

void lp_model_free(lp_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->nnodes; i++) {
        lp_node *n = &m->nodes[i];
        if (!n->aliased) {
            free(n->out);
            free(n->dout);
        }
        free(n->bn_mean);
        free(n->bn_var);
        free(n->mask);
    }
    for (int i = 0; i < m->nvars; i++) {
        free(m->vars[i].w);
        free(m->vars[i].g);
    }
    free(m->vars);
    free(m->ws);
    free(m->scratch);
    free(m->dlogits);
    free(m->labels);
    free(m);
}

static int new_node(lp_model *m, lp_layer_type t, int in)
{
    if (m->nnodes >= LP_MAX_NODES) {
        lp_fail(LAPERM_E_ARG, "model %s: more than %d layers", m->name, LP_MAX_NODES);
        return -1;
    }
    if (in == -1) in = m->nnodes - 1;
    int id = m->nnodes++;
    lp_node *n = &m->nodes[id];
    memset(n, 0, sizeof *n);
    n->type = t;
    n->in[0] = in;
    n->in[1] = -1;
    n->nin = 1;
    n->fused_into = -1;
    int k = m->type_count[t]++;
    if (k == 0) snprintf(n->name, sizeof n->name, "%s", keras_prefix[t]);
    else snprintf(n->name, sizeof n->name, "%s_%d", keras_prefix[t], k);
    n->var0 = m->nvars;
    const lp_node *src = &m->nodes[in];
    n->h = src->h;
    n->w = src->w;
    n->c = src->c;
    return id;
}

static int add_var(lp_model *m, int node, lp_var_kind kind, int rank, const int *shape,
                   int trainable, float l2)
{
    if (m->nvars == m->cap_vars) {
        int cap = m->cap_vars ? 2 * m->cap_vars : 32;
        lp_var *v = realloc(m->vars, (size_t)cap * sizeof *v);
        if (!v) {
            lp_fail(LAPERM_E_NOMEM, "out of memory");
            return -1;
        }
        m->vars = v;
        m->cap_vars = cap;
    }
    lp_var *v = &m->vars[m->nvars];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s/%s:0", m->nodes[node].name, var_suffix[kind]);
    v->kind = kind;
    v->node = node;
    v->rank = rank;
    v->size = 1;
    for (int i = 0; i < rank; i++) {
        v->shape[i] = shape[i];
        v->size *= (size_t)shape[i];
    }
    v->trainable = trainable;
    v->l2 = l2;
    /* LaPerm vectors (SPEC section 1): the last axis indexes vectors. */
    v->nvec = rank >= 2 ? (size_t)shape[rank - 1] : 1;
    v->len = v->size / v->nvec;
    v->w = lp_buffer_calloc(v->size, sizeof(float));
    v->g = trainable ? lp_buffer_calloc(v->size, sizeof(float)) : NULL;
    if (!v->w || (trainable && !v->g)) {
        lp_fail(LAPERM_E_NOMEM, "out of memory");
        return -1;
    }
    m->nodes[node].nvars++;
    return m->nvars++;
}

int lp_add_conv(lp_model *m, int in, int filters, int k, int stride, int same, int use_bias,
                lp_act act, float l2)
{
    int id = new_node(m, LP_CONV2D, in);
    if (id < 0) return -1;
    lp_node *n = &m->nodes[id];
    const lp_node *s = &m->nodes[n->in[0]];
    lp_conv_geom *g = &n->geom;
    g->h = s->h;
    g->w = s->w;
    g->c = s->c;
    g->kh = g->kw = k;
    g->sh = g->sw = stride;
    if (same) {
        g->oh = lp_same_out(s->h, stride);
        g->ow = lp_same_out(s->w, stride);
        g->pad_top = lp_same_pad_before(s->h, k, stride);
        g->pad_left = lp_same_pad_before(s->w, k, stride);
    } else {
        if (s->h < k || s->w < k) {
            lp_fail(LAPERM_E_ARG, "model %s: %s: %dx%d kernel on a %dx%d input", m->name, n->name,
                    k, k, s->h, s->w);
            return -1;
        }
        g->oh = (s->h - k) / stride + 1;
        g->ow = (s->w - k) / stride + 1;
    }
    g->oc = filters;
    n->filters = filters;
    n->same = same;
    n->use_bias = use_bias;
    n->act = act;
    n->h = g->oh;
    n->w = g->ow;
    n->c = filters;
    int kshape[4] = {k, k, s->c, filters};
    if (add_var(m, id, LP_VAR_KERNEL, 4, kshape, 1, l2) < 0) return -1;
    if (use_bias && add_var(m, id, LP_VAR_BIAS, 1, &filters, 1, 0) < 0) return -1;
    return id;
}

int lp_add_dense(lp_model *m, int in, int units, int use_bias, lp_act act, float l2)
{
    int id = new_node(m, LP_DENSE, in);
    if (id < 0) return -1;
    lp_node *n = &m->nodes[id];
    const lp_node *s = &m->nodes[n->in[0]];
    int fan_in = s->h * s->w * s->c;
    n->units = units;
    n->use_bias = use_bias;
    n->act = act;
    n->h = n->w = 1;
    n->c = units;
    int kshape[2] = {fan_in, units};
    if (add_var(m, id, LP_VAR_KERNEL, 2, kshape, 1, l2) < 0) return -1;
    if (use_bias && add_var(m, id, LP_VAR_BIAS, 1, &units, 1, 0) < 0) return -1;
    return id;
}

int lp_add_bn(lp_model *m, int in)
{
    int id = new_node(m, LP_BATCHNORM, in);
    if (id < 0) return -1;
    int c = m->nodes[id].c;
    if (add_var(m, id, LP_VAR_GAMMA, 1, &c, 1, 0) < 0 || add_var(m, id, LP_VAR_BETA, 1, &c, 1, 0) < 0 ||
        add_var(m, id, LP_VAR_MOVING_MEAN, 1, &c, 0, 0) < 0 ||
        add_var(m, id, LP_VAR_MOVING_VAR, 1, &c, 0, 0) < 0)
        return -1;
    lp_var *v = &m->vars[m->nodes[id].var0];
    for (int i = 0; i < c; i++) {
        v[0].w[i] = 1.0f; /* gamma */
        v[3].w[i] = 1.0f; /* moving variance */
    }
    return id;
}

int lp_add_relu(lp_model *m, int in) { return new_node(m, LP_RELU, in); }

static int add_pool(lp_model *m, lp_layer_type t, int in, int pool)
{
    int id = new_node(m, t, in);
    if (id < 0) return -1;
    lp_node *n = &m->nodes[id];
    const lp_node *s = &m->nodes[n->in[0]];
    lp_conv_geom *g = &n->geom;
    g->h = s->h;
    g->w = s->w;
    g->c = g->oc = s->c;
    g->kh = g->kw = g->sh = g->sw = pool;
    g->oh = s->h / pool;
    g->ow = s->w / pool;
    if (g->oh < 1 || g->ow < 1) {
        lp_fail(LAPERM_E_ARG, "model %s: %s: pool %d on a %dx%d input", m->name, n->name, pool,
                s->h, s->w);
        return -1;
    }
    n->h = g->oh;
    n->w = g->ow;
    return id;
}

int lp_add_maxpool(lp_model *m, int in, int pool) { return add_pool(m, LP_MAXPOOL, in, pool); }
int lp_add_avgpool(lp_model *m, int in, int pool) { return add_pool(m, LP_AVGPOOL, in, pool); }

int lp_add_dropout(lp_model *m, int in, float rate)
{
    int id = new_node(m, LP_DROPOUT, in);
    if (id >= 0) m->nodes[id].rate = rate;
    return id;
}

int lp_add_flatten(lp_model *m, int in)
{
    int id = new_node(m, LP_FLATTEN, in);
    if (id < 0) return -1;
    lp_node *n = &m->nodes[id];
    n->c = n->h * n->w * n->c;
    n->h = n->w = 1;
    return id;
}

int lp_add_add(lp_model *m, int a, int b)
{
    int id = new_node(m, LP_ADD, a);
    if (id < 0) return -1;
    lp_node *n = &m->nodes[id];
    const lp_node *sa = &m->nodes[n->in[0]], *sb = &m->nodes[b];
    if (sa->h != sb->h || sa->w != sb->w || sa->c != sb->c) {
        lp_fail(LAPERM_E_ARG, "model %s: %s: adding %dx%dx%d and %dx%dx%d", m->name, n->name, sa->h,
                sa->w, sa->c, sb->h, sb->w, sb->c);
        return -1;
    }
    n->in[1] = b;
    n->nin = 2;
    return id;
}

size_t lp_node_params(const lp_model *m, int node)
{
    size_t p = 0;
    const lp_node *n = &m->nodes[node];
    for (int i = 0; i < n->nvars; i++) p += m->vars[n->var0 + i].size;
    return p;
}

size_t lp_model_total_params(const lp_model *m)
{
    size_t p = 0;
    for (int i = 0; i < m->nvars; i++) p += m->vars[i].size;
    return p;
}

size_t lp_model_trainable_params(const lp_model *m)
{
    size_t p = 0;
    for (int i = 0; i < m->nvars; i++)
        if (m->vars[i].trainable) p += m->vars[i].size;
    return p;
}

static size_t node_size(const lp_node *n) { return (size_t)n->h * n->w * n->c; }

static int consumers(const lp_model *m, int node)
{
    int c = 0;
    for (int i = 1; i < m->nnodes; i++)
        for (int j = 0; j < m->nodes[i].nin; j++) c += m->nodes[i].in[j] == node;
    return c;
}

laperm_status lp_model_prepare(lp_model *m, int max_batch)
{
    m->max_batch = max_batch;
    size_t maxact = 0;
    /* Fuse a ReLU into its producer when the producer feeds nothing else:
     * the producer applies it in place and masks its gradient. */
    for (int i = 1; i < m->nnodes; i++) {
        lp_node *n = &m->nodes[i];
        if (n->type != LP_RELU) continue;
        lp_node *p = &m->nodes[n->in[0]];
        int fusable = (p->type == LP_CONV2D || p->type == LP_DENSE) ? p->act == LP_ACT_NONE
                      : p->type == LP_BATCHNORM;
        if (fusable && consumers(m, n->in[0]) == 1 && !p->fuse_relu) {
            p->fuse_relu = 1;
            n->fused_into = n->in[0];
        }
    }
    for (int i = 0; i < m->nnodes; i++) {
        lp_node *n = &m->nodes[i];
        size_t sz = node_size(n) * (size_t)max_batch;
        if (sz > maxact) maxact = sz;
        if (n->type == LP_FLATTEN || n->fused_into >= 0) {
            /* A view of the producer's buffers. */
            n->aliased = 1;
            continue;
        }
        n->out = lp_buffer_alloc(sz * sizeof(float));
        n->dout = i == 0 ? NULL : lp_buffer_alloc(sz * sizeof(float));
        if (!n->out || (i && !n->dout)) return lp_fail(LAPERM_E_NOMEM, "out of memory for activations");
        if (n->type == LP_BATCHNORM) {
            n->bn_mean = malloc((size_t)n->c * sizeof(float));
            n->bn_var = malloc((size_t)n->c * sizeof(float));
            if (!n->bn_mean || !n->bn_var) return lp_fail(LAPERM_E_NOMEM, "out of memory");
        }
        if (n->type == LP_DROPOUT) {
            n->mask = malloc(sz);
            if (!n->mask) return lp_fail(LAPERM_E_NOMEM, "out of memory");
        }
    }
    /* Aliases resolve in creation order, so a chain (flatten of a fused
     * ReLU) ends at the owner. */
    for (int i = 0; i < m->nnodes; i++) {
        lp_node *n = &m->nodes[i];
        if (!n->aliased) continue;
        n->out = m->nodes[n->in[0]].out;
        n->dout = m->nodes[n->in[0]].dout;
    }
    size_t ws = 0;
    for (int i = 0; i < m->nnodes; i++) {
        lp_node *n = &m->nodes[i];
        if (n->type != LP_CONV2D) continue;
        n->geom.n = max_batch;
        size_t need = lp_kernels_get()->conv_workspace(&n->geom);
        if (need > ws) ws = need;
    }
    m->ws_floats = ws;
    m->ws = ws ? lp_buffer_alloc(ws * sizeof(float)) : NULL;
    m->scratch = lp_buffer_alloc(maxact * sizeof(float));
    m->dlogits = malloc((size_t)max_batch * m->classes * sizeof(float));
    m->labels = malloc((size_t)max_batch * sizeof(int32_t));
    if ((ws && !m->ws) || !m->scratch || !m->dlogits || !m->labels)
        return lp_fail(LAPERM_E_NOMEM, "out of memory for workspaces");
    return LAPERM_OK;
}

/* ---- Profiling (m->profile) ---------------------------------------------- */

static double prof_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A lap timer: adds the time since *t to prof[kind] and restarts it. Each
 * node starts its clock (if profiling), so the loop's own bookkeeping falls
 * outside every kind. Without a profile: one test, no clock read. */
static inline double lap(double *prof, lp_prof_kind kind, double *t)
{
    if (!prof) return 0;
    double t1 = prof_now(), dt = t1 - *t;
    prof[kind] += dt;
    *t = t1;
    return dt;
}

/* The lap just taken (dt) also to node i's convolution slot (0: forward,
 * 1: backward-data, 2: backward-weights) when per-layer timing is on. */
static inline void lap_conv(lp_model *m, int i, int slot, double dt)
{
    if (m->profile_conv) m->profile_conv[(size_t)i * 3 + (size_t)slot] += dt;
}

/* ---- Forward -------------------------------------------------------------- */

static void dropout_mask(lp_node *n, int id, size_t count, uint64_t seed, uint64_t step)
{
    /* Chunks of fixed size, each with its own generator: the mask does not
     * depend on the thread count. */
    const size_t chunk = 4096;
    size_t nchunks = (count + chunk - 1) / chunk;
    float rate = n->rate;
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < nchunks; c++) {
        lp_rng r;
        lp_rng_seed(&r, seed, LP_STREAM_DROPOUT + ((uint64_t)id << 16), (step << 24) + c);
        size_t end = (c + 1) * chunk < count ? (c + 1) * chunk : count;
        for (size_t i = c * chunk; i < end; i++) n->mask[i] = lp_rng_uniform_inline(&r) >= rate;
    }
}

const float *lp_model_forward(lp_model *m, const lp_kernels *k, const float *x, int nb,
                              int training, uint64_t seed, uint64_t step)
{
    double *prof = m->profile, t = 0;
    k->copy((size_t)nb * node_size(&m->nodes[0]), x, m->nodes[0].out);
    for (int i = 1; i < m->nnodes; i++) {
        lp_node *n = &m->nodes[i];
        if (n->aliased) continue;
        const lp_node *s = &m->nodes[n->in[0]];
        const lp_var *v = n->nvars ? &m->vars[n->var0] : NULL;
        size_t count = (size_t)nb * node_size(n);
        size_t rows = (size_t)nb * n->h * n->w;
        if (prof) t = prof_now();
        switch (n->type) {
        case LP_CONV2D:
            n->geom.n = nb;
            if (k->conv_fwd_ep) { /* bias and ReLU in the convolution's epilogue */
                k->conv_fwd_ep(k, &n->geom, s->out, v[0].w, n->use_bias ? v[1].w : NULL,
                               n->act == LP_ACT_RELU || n->fuse_relu, n->out, m->ws);
                lap_conv(m, i, 0, lap(prof, LP_PROF_CONV_FWD, &t));
                break;
            }
            k->conv_fwd(k, &n->geom, s->out, v[0].w, n->out, m->ws);
            lap_conv(m, i, 0, lap(prof, LP_PROF_CONV_FWD, &t));
            if (n->use_bias) {
                k->bias_add(rows, n->c, v[1].w, n->out);
                lap(prof, LP_PROF_BIAS, &t);
            }
            if (n->act == LP_ACT_RELU || n->fuse_relu) {
                k->relu_fwd(count, n->out, n->out);
                lap(prof, LP_PROF_ACT, &t);
            }
            break;
        case LP_DENSE: {
            int fan_in = (int)v[0].len;
            k->gemm(0, 0, nb, n->units, fan_in, 1.0f, s->out, fan_in, v[0].w, n->units, 0.0f, n->out,
                    n->units);
            lap(prof, LP_PROF_DENSE_FWD, &t);
            if (n->use_bias) {
                k->bias_add((size_t)nb, n->units, v[1].w, n->out);
                lap(prof, LP_PROF_BIAS, &t);
            }
            if (n->act == LP_ACT_RELU || n->fuse_relu) {
                k->relu_fwd(count, n->out, n->out);
                lap(prof, LP_PROF_ACT, &t);
            }
            break;
        }
        case LP_BATCHNORM: {
            const float eps = 1e-3f;
            if (training) {
                k->bn_fwd_train(rows, n->c, s->out, v[0].w, v[1].w, eps, n->out, n->bn_mean,
                                n->bn_var, n->fuse_relu);
                /* Keras: moving -= (moving - batch) * (1 - momentum); TF's fused
                 * kernel feeds the Bessel-corrected variance. */
                float bessel = rows > 1 ? (float)rows / (float)(rows - 1) : 1.0f;
                for (int c = 0; c < n->c; c++) {
                    v[2].w[c] -= (v[2].w[c] - n->bn_mean[c]) * 0.01f;
                    v[3].w[c] -= (v[3].w[c] - n->bn_var[c] * bessel) * 0.01f;
                }
            } else {
                k->bn_fwd_infer(rows, n->c, s->out, v[0].w, v[1].w, v[2].w, v[3].w, eps, n->out,
                                n->fuse_relu);
            }
            lap(prof, LP_PROF_BN_FWD, &t);
            break;
        }
        case LP_RELU:
            k->relu_fwd(count, s->out, n->out);
            lap(prof, LP_PROF_ACT, &t);
            break;
        case LP_MAXPOOL:
            n->geom.n = nb;
            k->maxpool_fwd(&n->geom, s->out, n->out);
            lap(prof, LP_PROF_POOL, &t);
            break;
        case LP_AVGPOOL:
            n->geom.n = nb;
            k->avgpool_fwd(&n->geom, s->out, n->out);
            lap(prof, LP_PROF_POOL, &t);
            break;
        case LP_DROPOUT:
            if (training && n->rate > 0) {
                dropout_mask(n, i, count, seed, step);
                k->dropout_apply(count, s->out, n->mask, 1.0f / (1.0f - n->rate), n->out);
            } else {
                k->copy(count, s->out, n->out);
            }
            lap(prof, LP_PROF_DROPOUT, &t);
            break;
        case LP_ADD: /* the bits of copy-then-axpy(1.0): a + 1 * b == a + b */
            k->add(count, s->out, m->nodes[n->in[1]].out, n->out);
            lap(prof, LP_PROF_ADD, &t);
            break;
        default: break;
        }
    }
    return m->nodes[m->nnodes - 1].out;
}

/* ---- Backward ------------------------------------------------------------ */

/* The node owning the buffers that node's dout aliases. */
static int owner(const lp_model *m, int node)
{
    while (m->nodes[node].aliased) node = m->nodes[node].in[0];
    return node;
}

typedef struct grad_ctx {
    lp_model *m;
    const lp_kernels *k;
    int nb;
    unsigned char written[LP_MAX_NODES];
    double *prof, t; /* m->profile and its lap clock */
} grad_ctx;

/* Where to write the gradient for node's output: its dout if nothing was
 * written there yet in this pass, else the scratch buffer (then folded in by
 * grad_done). */
static float *grad_dst(grad_ctx *c, int node)
{
    int o = owner(c->m, node);
    return c->written[o] ? c->m->scratch : c->m->nodes[o].dout;
}

static void grad_done(grad_ctx *c, int node, float *dst)
{
    int o = owner(c->m, node);
    lp_node *n = &c->m->nodes[o];
    if (dst == c->m->scratch) {
        c->k->axpy((size_t)c->nb * node_size(n), 1.0f, dst, n->dout);
        lap(c->prof, LP_PROF_ADD, &c->t);
    }
    c->written[o] = 1;
}

double lp_model_loss_backward(lp_model *m, const lp_kernels *k, const uint8_t *labels, int nb,
                              int backward, size_t *correct)
{
    grad_ctx c = {.m = m, .k = k, .nb = nb, .prof = m->profile};
    if (c.prof) c.t = prof_now();
    lp_node *last = &m->nodes[m->nnodes - 1];
    for (int i = 0; i < nb; i++) m->labels[i] = labels[i];
    size_t ok = 0;
    double loss = k->softmax_xent((size_t)nb, m->classes, last->out, m->labels, 1.0f / (float)nb,
                                  backward ? m->dlogits : NULL, NULL, &ok);
    if (correct) *correct = ok;
    if (!backward) {
        lap(c.prof, LP_PROF_SOFTMAX_LOSS, &c.t);
        return loss / nb;
    }

    memset(c.written, 0, sizeof c.written);
    int lo = owner(m, m->nnodes - 1);
    memcpy(m->nodes[lo].dout, m->dlogits, (size_t)nb * m->classes * sizeof(float));
    c.written[lo] = 1;
    lap(c.prof, LP_PROF_SOFTMAX_LOSS, &c.t);

    for (int i = m->nnodes - 1; i >= 1; i--) {
        lp_node *n = &m->nodes[i];
        if (n->aliased) continue;
        if (!c.written[i]) continue; /* no gradient reaches this node */
        int in0 = n->in[0];
        /* The input image needs no gradient (nor does a view of it). */
        int need_dx = owner(m, in0) != 0;
        const lp_node *s = &m->nodes[in0];
        lp_var *v = n->nvars ? &m->vars[n->var0] : NULL;
        size_t count = (size_t)nb * node_size(n);
        size_t rows = (size_t)nb * n->h * n->w;
        float *dy = n->dout;
        if (c.prof) c.t = prof_now();
        switch (n->type) {
        case LP_CONV2D:
        case LP_DENSE:
            if ((n->act == LP_ACT_RELU || n->fuse_relu) && n->use_bias && k->relu_bias_grad) {
                k->relu_bias_grad(rows, n->c, n->out, dy, v[1].g); /* one pass */
                lap(c.prof, LP_PROF_BIAS, &c.t);
            } else {
                if (n->act == LP_ACT_RELU || n->fuse_relu) {
                    k->relu_bwd(count, n->out, dy, dy);
                    lap(c.prof, LP_PROF_ACT, &c.t);
                }
                if (n->use_bias) {
                    k->bias_grad(rows, n->c, dy, v[1].g);
                    lap(c.prof, LP_PROF_BIAS, &c.t);
                }
            }
            if (n->type == LP_CONV2D) {
                n->geom.n = nb;
                k->conv_bwd_weights(k, &n->geom, s->out, dy, v[0].g, m->ws);
                lap_conv(m, i, 2, lap(c.prof, LP_PROF_CONV_BWD_WEIGHTS, &c.t));
                if (need_dx) {
                    float *dx = grad_dst(&c, in0);
                    k->conv_bwd_data(k, &n->geom, dy, v[0].w, dx, m->ws);
                    lap_conv(m, i, 1, lap(c.prof, LP_PROF_CONV_BWD_DATA, &c.t));
                    grad_done(&c, in0, dx);
                }
            } else {
                int fan_in = (int)v[0].len;
                k->gemm(1, 0, fan_in, n->units, nb, 1.0f, s->out, fan_in, dy, n->units, 0.0f, v[0].g,
                        n->units);
                lap(c.prof, LP_PROF_DENSE_BWD, &c.t);
                if (need_dx) {
                    float *dx = grad_dst(&c, in0);
                    k->gemm(0, 1, nb, fan_in, n->units, 1.0f, dy, n->units, v[0].w, n->units, 0.0f,
                            dx, fan_in);
                    lap(c.prof, LP_PROF_DENSE_BWD, &c.t);
                    grad_done(&c, in0, dx);
                }
            }
            break;
        case LP_BATCHNORM: {
            if (!need_dx) break;
            float *dx = grad_dst(&c, in0);
            k->bn_bwd(rows, n->c, s->out, n->out, dy, v[0].w, n->bn_mean, n->bn_var, 1e-3f, dx,
                      v[0].g, v[1].g, n->fuse_relu);
            lap(c.prof, LP_PROF_BN_BWD, &c.t);
            grad_done(&c, in0, dx);
            break;
        }
        case LP_RELU: {
            if (!need_dx) break;
            float *dx = grad_dst(&c, in0);
            k->relu_bwd(count, n->out, dy, dx);
            lap(c.prof, LP_PROF_ACT, &c.t);
            grad_done(&c, in0, dx);
            break;
        }
        case LP_MAXPOOL: {
            if (!need_dx) break;
            float *dx = grad_dst(&c, in0);
            n->geom.n = nb;
            k->maxpool_bwd(&n->geom, s->out, n->out, dy, dx);
            lap(c.prof, LP_PROF_POOL, &c.t);
            grad_done(&c, in0, dx);
            break;
        }
        case LP_AVGPOOL: {
            if (!need_dx) break;
            float *dx = grad_dst(&c, in0);
            n->geom.n = nb;
            k->avgpool_bwd(&n->geom, dy, dx);
            lap(c.prof, LP_PROF_POOL, &c.t);
            grad_done(&c, in0, dx);
            break;
        }
        case LP_DROPOUT: {
            if (!need_dx) break;
            float *dx = grad_dst(&c, in0);
            k->dropout_apply(count, dy, n->mask, 1.0f / (1.0f - n->rate), dx);
            lap(c.prof, LP_PROF_DROPOUT, &c.t);
            grad_done(&c, in0, dx);
            break;
        }
        case LP_ADD:
            for (int j = 0; j < 2; j++) {
                int src = n->in[j];
                if (owner(m, src) == 0) continue;
                float *dx = grad_dst(&c, src);
                if (dx == m->scratch) {
                    /* accumulate directly */
                    k->axpy(count, 1.0f, dy, m->nodes[owner(m, src)].dout);
                    c.written[owner(m, src)] = 1;
                } else {
                    k->copy(count, dy, dx);
                    grad_done(&c, src, dx);
                }
            }
            lap(c.prof, LP_PROF_ADD, &c.t);
            break;
        default: break;
        }
    }
    /* L2: loss += lam * sum(w^2), gradient 2 * lam * w. */
    if (c.prof) c.t = prof_now();
    for (int i = 0; i < m->nvars; i++) {
        lp_var *v = &m->vars[i];
        if (v->l2 > 0) k->axpy(v->size, 2.0f * v->l2, v->w, v->g);
    }
    lap(c.prof, LP_PROF_L2, &c.t);
    return loss / nb;
}

double lp_model_l2_loss(const lp_model *m, const lp_kernels *k)
{
    double s = 0;
    for (int i = 0; i < m->nvars; i++)
        if (m->vars[i].l2 > 0) s += m->vars[i].l2 * k->sumsq(m->vars[i].size, m->vars[i].w);
    return s;
}

int lp_model_find_nonfinite(const lp_model *m)
{
    for (int i = 0; i < m->nvars; i++) {
        const float *w = m->vars[i].w;
        for (size_t j = 0; j < m->vars[i].size; j++)
            if (!isfinite(w[j])) return i;
    }
    return -1;
}

/* The first node, in forward order, whose output of the last forward pass
 * (nb images) holds NaN or Inf, or -1. Views (Flatten, a ReLU fused into its
 * producer) share their producer's buffer and are skipped: the producer
 * comes first. Called only once a loss is non-finite (no cost otherwise). */
int lp_model_first_nonfinite_output(const lp_model *m, int nb)
{
    if (nb > m->max_batch) nb = m->max_batch;
    for (int i = 0; i < m->nnodes; i++) {
        const lp_node *n = &m->nodes[i];
        if (n->aliased || !n->out) continue;
        size_t count = (size_t)nb * node_size(n);
        for (size_t j = 0; j < count; j++)
            if (!isfinite(n->out[j])) return i;
    }
    return -1;
}
