#define _POSIX_C_SOURCE 200809L
#include "runtime/bench_step.h"
#include "models/models.h"
#include "runtime/data.h"
#include "runtime/error.h"
#include "runtime/init.h"
#include "runtime/laperm_opt.h"
#include "runtime/memory.h"
#include "runtime/pipeline.h"
#include "runtime/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const lp_bench_part_names[LP_BENCH_PARTS] = {"data", "forward", "backward", "optimizer",
                                                          "sync"};

const char *lp_bench_kind_name(int kind)
{
    static const char *const extra[LP_BENCH_KINDS - LP_PROF_KINDS] = {"data", "optimizer", "sync",
                                                                      "other"};
    if (kind < 0 || kind >= LP_BENCH_KINDS) return "?";
    return kind < LP_PROF_KINDS ? lp_prof_kind_names[kind] : extra[kind - LP_PROF_KINDS];
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* n random images (bytes) and labels of the model's input geometry. */
static laperm_status synthetic_data(laperm_dataset *d, const lp_model *m, size_t n, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->h = m->in_h;
    d->w = m->in_w;
    d->c = m->in_c;
    d->classes = m->classes;
    size_t px = n * (size_t)d->h * d->w * d->c;
    d->pixels = malloc(px);
    d->labels = malloc(n);
    if (!d->pixels || !d->labels) return lp_fail(LAPERM_E_NOMEM, "out of memory for synthetic inputs");
    lp_rng r;
    lp_rng_seed(&r, seed, LP_STREAM_TEST, 0);
    for (size_t i = 0; i < px; i++) d->pixels[i] = (uint8_t)(lp_rng_next(&r) >> 56);
    for (size_t i = 0; i < n; i++) d->labels[i] = (uint8_t)lp_rng_below(&r, (uint64_t)d->classes);
    return LAPERM_OK;
}

laperm_status lp_bench_model(const lp_bench_opts *o, const lp_kernels *k, lp_bench_result *r)
{
    memset(r, 0, sizeof *r);
    const lp_preset *p = o->model ? lp_preset_find(o->model) : NULL;
    if (!p)
        return lp_fail(LAPERM_E_ARG, "unknown model '%s' (expected one of %s)",
                       o->model ? o->model : "(null)", lp_model_names());
    if (o->steps < 1 || o->warmup < 0 || o->sync_reps < 1 || o->batch < 0)
        return lp_fail(LAPERM_E_ARG, "bench: steps and sync_reps must be >= 1, warmup and batch >= 0");
    int batch = o->batch > 0 ? o->batch : p->batch;

    lp_model *m = NULL;
    laperm_dataset ds = {0};
    lp_pipeline pipe = {0};
    lp_optimizer opt = {0};
    float *x = NULL, *tmp = NULL;
    uint8_t *labels = NULL;
    double *sync_t = NULL;
    laperm_status s = lp_model_build(o->model, &m);
    if (!s) s = lp_model_prepare(m, batch);
    if (s) goto out;
    for (int i = 0; i < m->nnodes; i++) {
        if (m->nodes[i].type != LP_CONV2D) continue;
        lp_conv_geom g = m->nodes[i].geom;
        g.n = batch;
        if (k->conv_workspace(&g) > m->ws_floats) {
            s = lp_fail(LAPERM_E_ARG, "bench: the kernel table needs more conv workspace than the "
                                      "selected one the model was prepared with");
            goto out;
        }
    }

    /* Initial weights as lp_session training starts them (cmd_train). */
    lp_init_he_uniform(m, o->seed, p->bias_he_uniform);
    if (p->agnostic != 0) {
        static const int default_a[1] = {1}, default_b[1] = {4};
        int n = p->n_agnostic ? p->n_agnostic : 1;
        s = lp_init_agnostic(m, o->seed, p->agnostic, n, p->n_agnostic ? p->agn_a : default_a,
                             p->n_agnostic ? p->agn_b : default_b);
        if (s) goto out;
    }
    if ((s = lp_opt_init(&opt, m, k, p->skip_bias, p->skip_bn))) goto out;

    /* Two batches of random images, so consecutive steps differ. */
    if ((s = synthetic_data(&ds, m, 2 * (size_t)batch, o->seed))) goto out;
    if ((s = lp_pipeline_init(&pipe, p->preprocess, &ds))) goto out;
    size_t px = (size_t)m->in_h * m->in_w * m->in_c;
    x = lp_buffer_alloc((size_t)batch * px * sizeof(float));
    tmp = lp_buffer_alloc((size_t)batch * px * sizeof(float));
    labels = malloc((size_t)batch);
    sync_t = malloc((size_t)o->sync_reps * sizeof(double));
    if (!x || !tmp || !labels || !sync_t) {
        s = lp_fail(LAPERM_E_NOMEM, "out of memory for the benchmark's buffers");
        goto out;
    }
    lp_augment aug = p->augment;
    int augment = lp_augment_active(&aug);
    double lr = lp_preset_lr(p, p->lr, 0);

    /* Training steps, phase by phase (and kernel by kernel in the timed
     * steps if asked). */
    double acc[LP_BENCH_PARTS] = {0}, prof[LP_PROF_KINDS] = {0};
    double prof_conv[LP_MAX_NODES * 3] = {0};
    int total = o->warmup + o->steps;
    for (int i = 0; i < total; i++) {
        m->profile = o->kinds && i >= o->warmup ? prof : NULL;
        m->profile_conv = m->profile && o->layers ? prof_conv : NULL;
        double t0 = now_s();
        lp_pipeline_fill(&pipe, &ds, NULL, (size_t)(i % 2) * (size_t)batch, batch, x, labels);
        if (augment)
            lp_augment_batch(&aug, batch, m->in_h, m->in_w, m->in_c, x, tmp, o->seed,
                             (uint64_t)i * (uint64_t)batch);
        double t1 = now_s();
        lp_model_forward(m, k, x, batch, 1, o->seed, (uint64_t)i + 1);
        double t2 = now_s();
        size_t correct = 0;
        lp_model_loss_backward(m, k, labels, batch, 1, &correct);
        double t3 = now_s();
        lp_opt_adam(&opt, m, k, lr);
        double t4 = now_s();
        if (i < o->warmup) continue;
        acc[LP_BENCH_DATA] += t1 - t0;
        acc[LP_BENCH_FORWARD] += t2 - t1;
        acc[LP_BENCH_BACKWARD] += t3 - t2;
        acc[LP_BENCH_OPTIMIZER] += t4 - t3;
    }
    m->profile = NULL;
    m->profile_conv = NULL;

    /* Inference passes on the last batch. */
    double infer = 0;
    for (int i = 0; i < total; i++) {
        double t0 = now_s();
        lp_model_forward(m, k, x, batch, 0, o->seed, 0);
        if (i >= o->warmup) infer += now_s() - t0;
    }

    /* Full syncs of the trained weights (the first one moves them; the
     * later ones find the same ranks and do the same work). */
    for (int i = 0; i < o->sync_reps; i++) {
        double t0 = now_s();
        if ((s = lp_opt_sync(&opt, m, k))) goto out;
        sync_t[i] = now_s() - t0;
    }
    qsort(sync_t, (size_t)o->sync_reps, sizeof *sync_t, cmp_double);
    r->sync_s = o->sync_reps % 2 ? sync_t[o->sync_reps / 2]
                                 : 0.5 * (sync_t[o->sync_reps / 2 - 1] + sync_t[o->sync_reps / 2]);
    for (int i = 0; i < m->nvars; i++)
        if (lp_opt_synced(&opt, i)) r->weights += m->vars[i].size;

    r->batch = batch;
    r->steps = o->steps;
    r->k = p->k;
    for (int i = 0; i < LP_BENCH_SYNC; i++) r->part_s[i] = acc[i] / o->steps;
    r->part_s[LP_BENCH_SYNC] = p->k > 0 ? r->sync_s / p->k : 0;
    for (int i = 0; i < LP_BENCH_PARTS; i++) r->step_s += r->part_s[i];
    if (o->kinds) {
        /* The profile's laps lie inside the forward and backward phases, so
         * "other" (their remainder) is >= 0 up to rounding. */
        double kinds = 0;
        for (int i = 0; i < LP_PROF_KINDS; i++) {
            r->kind_s[i] = prof[i] / o->steps;
            kinds += r->kind_s[i];
        }
        r->kind_s[LP_BENCH_KIND_DATA] = r->part_s[LP_BENCH_DATA];
        r->kind_s[LP_BENCH_KIND_OPTIMIZER] = r->part_s[LP_BENCH_OPTIMIZER];
        r->kind_s[LP_BENCH_KIND_SYNC] = r->part_s[LP_BENCH_SYNC];
        double other = r->part_s[LP_BENCH_FORWARD] + r->part_s[LP_BENCH_BACKWARD] - kinds;
        r->kind_s[LP_BENCH_KIND_OTHER] = other > 0 ? other : 0;
        for (int i = 0; o->layers && i < m->nnodes; i++) {
            const lp_node *n = &m->nodes[i];
            if (n->type != LP_CONV2D || n->aliased) continue;
            lp_bench_layer *l = &r->layers[r->nlayers++];
            snprintf(l->name, sizeof l->name, "%s", n->name);
            l->geom = n->geom;
            l->geom.n = batch;
            l->fwd_s = prof_conv[(size_t)i * 3] / o->steps;
            l->bwd_data_s = prof_conv[(size_t)i * 3 + 1] / o->steps;
            l->bwd_weights_s = prof_conv[(size_t)i * 3 + 2] / o->steps;
        }
    }
    r->train_img_per_s = r->step_s > 0 ? batch / r->step_s : 0;
    r->infer_img_per_s = infer > 0 ? (double)batch * o->steps / infer : 0;
    r->sync_ns_per_weight = r->weights ? r->sync_s * 1e9 / (double)r->weights : 0;

out:
    free(sync_t);
    free(labels);
    free(tmp);
    free(x);
    lp_pipeline_free(&pipe);
    free(ds.pixels);
    free(ds.labels);
    lp_opt_free(&opt);
    lp_model_free(m);
    return s;
}
