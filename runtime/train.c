#define _POSIX_C_SOURCE 200809L
#include "runtime/train.h"
#include "runtime/dispatch.h"
#include "runtime/error.h"
#include "runtime/memory.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t lp_model_flat_size(const lp_model *m) { return lp_model_total_params(m); }

void lp_model_get_flat(const lp_model *m, float *dst)
{
    for (int i = 0; i < m->nvars; i++) {
        memcpy(dst, m->vars[i].w, m->vars[i].size * sizeof(float));
        dst += m->vars[i].size;
    }
}

void lp_model_set_flat(lp_model *m, const float *src)
{
    for (int i = 0; i < m->nvars; i++) {
        memcpy(m->vars[i].w, src, m->vars[i].size * sizeof(float));
        src += m->vars[i].size;
    }
}

long lp_session_batches(const lp_session *s)
{
    return (long)((s->train->n + (size_t)s->cfg.batch - 1) / (size_t)s->cfg.batch);
}

void lp_session_free(lp_session *s)
{
    lp_pipeline_free(&s->pipe);
    lp_opt_free(&s->opt);
    free(s->history);
    free(s->best);
    free(s->x);
    free(s->aug_tmp);
    free(s->labels);
    free(s->perm);
    free(s->tidx);
    memset(s, 0, sizeof *s);
}

laperm_status lp_session_init(lp_session *s, const lp_train_config *cfg, lp_model *m,
                              const laperm_dataset *train, const laperm_dataset *test)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->m = m;
    s->k = lp_kernels_get();
    s->train = train;
    s->test = test;
    if (cfg->batch < 1 || cfg->batch > m->max_batch)
        return lp_fail(LAPERM_E_ARG, "--batch: %d is outside 1..%d", cfg->batch, m->max_batch);
    if (cfg->k < 1) return lp_fail(LAPERM_E_ARG, "--k: must be >= 1, got %d", cfg->k);
    if (train->h != m->in_h || train->w != m->in_w || train->c != m->in_c)
        return lp_fail(LAPERM_E_ARG, "model %s takes %dx%dx%d images, the data are %dx%dx%d",
                       m->name, m->in_h, m->in_w, m->in_c, train->h, train->w, train->c);
    laperm_status st = lp_pipeline_init(&s->pipe, cfg->preset->preprocess, train);
    if (st) return st;
    st = lp_opt_init(&s->opt, m, s->k, cfg->skip_bias, cfg->skip_bn);
    if (st) return st;
    size_t px = (size_t)m->in_h * m->in_w * m->in_c;
    s->x = lp_buffer_alloc((size_t)m->max_batch * px * sizeof(float));
    s->aug_tmp = lp_buffer_alloc((size_t)m->max_batch * px * sizeof(float));
    s->labels = malloc((size_t)m->max_batch);
    s->perm = malloc(train->n * sizeof(uint32_t));
    size_t tsize = cfg->tsize > 0 ? (size_t)cfg->tsize : 0;
    if (tsize > train->n) tsize = train->n;
    s->cfg.tsize = (int)tsize;
    s->tidx = malloc((tsize ? tsize : 1) * sizeof(uint32_t));
    s->best = malloc(lp_model_flat_size(m) * sizeof(float));
    if (!s->x || !s->aug_tmp || !s->labels || !s->perm || !s->tidx || !s->best) {
        lp_session_free(s);
        return lp_fail(LAPERM_E_NOMEM, "out of memory for training buffers");
    }
    return LAPERM_OK;
}

/* Fisher-Yates from (seed, SHUFFLE, epoch): the same order on resume. */
static void shuffle(uint32_t *p, size_t n, uint64_t seed, int epoch)
{
    lp_rng r;
    lp_rng_seed(&r, seed, LP_STREAM_SHUFFLE, (uint64_t)epoch);
    for (size_t i = 0; i < n; i++) p[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)lp_rng_below(&r, i);
        uint32_t t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
}

/* random.sample(range(n), tsize) from (seed, TSIZE, validation index):
 * a partial Fisher-Yates over a scratch permutation. */
static void sample(lp_session *s, long counter)
{
    size_t n = s->train->n, t = (size_t)s->cfg.tsize;
    lp_rng r;
    lp_rng_seed(&r, s->cfg.seed, LP_STREAM_TSIZE, (uint64_t)counter);
    /* s->perm is the epoch order and must survive: sample via a sparse
     * swap-free method (Floyd's algorithm would need a set); n <= 60000 so a
     * bitmap is cheap. */
    uint8_t *taken = calloc((n + 7) / 8, 1);
    if (!taken) {
        for (size_t i = 0; i < t; i++) s->tidx[i] = (uint32_t)lp_rng_below(&r, n);
        return;
    }
    for (size_t i = 0; i < t; i++) {
        size_t j;
        do j = (size_t)lp_rng_below(&r, n); while (taken[j / 8] & (1u << (j % 8)));
        taken[j / 8] |= (uint8_t)(1u << (j % 8));
        s->tidx[i] = (uint32_t)j;
    }
    free(taken);
}

/* NaN or Inf in any variable: a divergence that no loss has shown yet (the
 * last update made it). Checked before anything is written. */
static laperm_status check_finite(const lp_session *s, long step)
{
    int bad = lp_model_find_nonfinite(s->m);
    if (bad >= 0)
        return lp_fail(LAPERM_E_DIVERGED, "training diverged at step %ld: NaN or Inf in %s", step,
                       s->m->vars[bad].name);
    return LAPERM_OK;
}

/* "nan", "inf" or "-inf": printf's %g gives "-nan" for a NaN with its sign
 * bit set, which says nothing more. */
static const char *nonfinite_name(double v)
{
    return isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

/* A non-finite loss at step: name the first layer (forward order) whose
 * output of this step's forward pass (n images) is non-finite, or the loss
 * itself when every layer output is finite. Searched only now, so the normal
 * path pays nothing. */
static laperm_status loss_diverged(const lp_model *m, int n, long step, double loss)
{
    int node = lp_model_first_nonfinite_output(m, n);
    if (node < 0)
        return lp_fail(LAPERM_E_DIVERGED,
                       "training diverged at step %ld: loss is %s; first non-finite value: the loss "
                       "(every layer output is finite)",
                       step, nonfinite_name(loss));
    return lp_fail(LAPERM_E_DIVERGED,
                   "training diverged at step %ld: loss is %s; first non-finite output: %s (%s)", step,
                   nonfinite_name(loss), m->nodes[node].name, lp_layer_type_name(m->nodes[node].type));
}

static laperm_status validate(lp_session *s)
{
    lp_history_row row = {.step = s->step, .epoch = s->epoch};
    laperm_status st = check_finite(s, s->step);
    if (st) return st;
    lp_evaluate(s->m, s->k, &s->pipe, s->test, NULL, s->test->n, s->x, s->labels, &row.val_loss,
                &row.val_acc);
    if (s->cfg.tsize > 0) {
        sample(s, s->nhistory);
        lp_evaluate(s->m, s->k, &s->pipe, s->train, s->tidx, (size_t)s->cfg.tsize, s->x, s->labels,
                    &row.train_loss, &row.train_acc);
    }
    if (s->nhistory == s->cap_history) {
        int cap = s->cap_history ? 2 * s->cap_history : 64;
        lp_history_row *h = realloc(s->history, (size_t)cap * sizeof *h);
        if (!h) return lp_fail(LAPERM_E_NOMEM, "out of memory for history");
        s->history = h;
        s->cap_history = cap;
    }
    s->history[s->nhistory++] = row;
    s->final_val_acc = row.val_acc;
    /* The initial evaluation (step 0) is history only, as in the seed. */
    if (s->step > 0 && row.val_acc > s->best_val_acc) {
        s->best_val_acc = row.val_acc;
        lp_model_get_flat(s->m, s->best);
        s->have_best = 1;
    }
    return LAPERM_OK;
}

laperm_status lp_session_run(lp_session *s)
{
    const lp_train_config *c = &s->cfg;
    const lp_preset *p = c->preset;
    lp_model *m = s->m;
    const lp_kernels *k = s->k;
    long batches = lp_session_batches(s);
    long total = batches * c->epochs;
    if (c->max_steps > 0 && c->max_steps < total) total = c->max_steps;
    lp_augment aug = p->augment;
    int augment = c->augment && lp_augment_active(&aug);
    laperm_status st;

    if (c->val_every > 0 && s->step == 0 && s->nhistory == 0 && (st = validate(s))) return st;

    while (s->step < total) {
        s->epoch = (int)(s->step / batches);
        int b = (int)(s->step % batches);
        /* Each epoch's order is a function of (seed, epoch), so a resumed run
         * mid-epoch regenerates the same one. */
        shuffle(s->perm, s->train->n, c->seed, s->epoch);
        double lr = lp_preset_lr(p, c->lr, s->epoch);
        double t0 = now_s();
        double ep_loss = 0, ep_correct = 0;
        long ep_images = 0;
        for (; b < batches && s->step < total; b++) {
            size_t at = (size_t)b * (size_t)c->batch;
            int n = (int)(s->train->n - at < (size_t)c->batch ? s->train->n - at : (size_t)c->batch);
            lp_pipeline_fill(&s->pipe, s->train, s->perm + at, 0, n, s->x, s->labels);
            if (augment)
                lp_augment_batch(&aug, n, m->in_h, m->in_w, m->in_c, s->x, s->aug_tmp, c->seed,
                                 (uint64_t)s->step * (uint64_t)c->batch);
            long step = s->step + 1; /* the seed's local_step */
            lp_model_forward(m, k, s->x, n, 1, c->seed, (uint64_t)step);
            size_t ok = 0;
            double loss = lp_model_loss_backward(m, k, s->labels, n, 1, &ok);
            if (!isfinite(loss)) return loss_diverged(m, n, step, loss);
            lp_opt_adam(&s->opt, m, k, lr);
            if (step % c->k == 0 && (st = lp_opt_sync(&s->opt, m, k))) return st;
            s->step = step;
            s->images_trained += n;
            ep_loss += loss * n;
            ep_correct += (double)ok;
            ep_images += n;
            double t1 = now_s();
            s->train_seconds += t1 - t0;
            t0 = t1;
            lp_progress pr = {.epoch = s->epoch, .epochs = c->epochs, .step = step,
                              .steps_total = total, .batch_in_epoch = b + 1, .batches = (int)batches, .batch = c->batch,
                              .loss = ep_loss / ep_images, .acc = ep_correct / ep_images,
                              .img_per_s = s->train_seconds > 0 ? s->images_trained / s->train_seconds : 0,
                              .best_val_acc = s->best_val_acc};
            if (c->val_every > 0 && step % c->val_every == 0) {
                if ((st = validate(s))) return st;
                pr.val = &s->history[s->nhistory - 1];
                pr.best_val_acc = s->best_val_acc;
                t0 = now_s(); /* validation time is not training time */
            }
            if (s->on_progress) s->on_progress(s->progress_ctx, &pr);
            if (s->on_checkpoint && s->checkpoint_every > 0 && step % s->checkpoint_every == 0) {
                if ((st = check_finite(s, step)) || (st = s->on_checkpoint(s->checkpoint_ctx, s))) return st;
                t0 = now_s();
            }
            if (s->stop && *s->stop) {
                if ((st = check_finite(s, step))) return st;
                return lp_fail(LAPERM_E_INTERRUPTED, "interrupted at step %ld", step);
            }
        }
    }
    s->epoch = (int)(s->step / batches);
    return check_finite(s, s->step);
}
