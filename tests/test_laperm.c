/* LaPerm through the real training loop: theta_sorted per weight vector
 * (SPEC section 1 vectorisation), syncs exactly at local_step % k == 0, every
 * synchronised vector bitwise a permutation of its initial values after a
 * sync, skip_bias / skip_bn respected, Adam untouched by syncs. */
#include "lp_test.h"
#include "runtime/dispatch.h"
#include "runtime/init.h"
#include "runtime/train.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Is column j of v (as bit patterns) a permutation of init's column j? */
static int column_is_permutation(const lp_var *v, const float *now, const float *init, size_t j)
{
    uint32_t *a = malloc(v->len * sizeof *a), *b = malloc(v->len * sizeof *b);
    for (size_t r = 0; r < v->len; r++) {
        memcpy(&a[r], &now[r * v->nvec + j], 4);
        memcpy(&b[r], &init[r * v->nvec + j], 4);
    }
    qsort(a, v->len, 4, cmp_u32);
    qsort(b, v->len, 4, cmp_u32);
    int same = memcmp(a, b, v->len * 4) == 0;
    free(a);
    free(b);
    return same;
}

static lp_model *small_model(void)
{
    lp_model *m;
    lp_model_new("small", 6, 6, 1, 10, &m);
    lp_add_conv(m, -1, 3, 3, 1, 0, 1, LP_ACT_RELU, 0); /* kernel [3,3,1,3]: 3 vectors of 9 */
    lp_add_bn(m, -1);
    lp_add_flatten(m, -1);
    lp_add_dense(m, -1, 10, 1, LP_ACT_SOFTMAX, 0);     /* kernel [48,10]: 10 vectors of 48 */
    lp_model_prepare(m, 8);
    return m;
}

static laperm_dataset *synthetic(size_t n)
{
    laperm_dataset *d = calloc(1, sizeof *d);
    d->n = n;
    d->h = d->w = 6;
    d->c = 1;
    d->classes = 10;
    d->pixels = malloc(n * 36);
    d->labels = malloc(n);
    lp_rng r;
    lp_rng_seed(&r, 5, LP_STREAM_TEST, 0);
    for (size_t i = 0; i < n * 36; i++) d->pixels[i] = (uint8_t)lp_rng_below(&r, 256);
    for (size_t i = 0; i < n; i++) d->labels[i] = (uint8_t)lp_rng_below(&r, 10);
    return d;
}

static void test_sorted_vectors_follow_keras_layout(void)
{
    lp_model *m = small_model();
    lp_init_he_uniform(m, 1, 1);
    lp_optimizer o;
    CHECK(lp_opt_init(&o, m, lp_kernels_get(), 0, 1) == LAPERM_OK);
    for (int i = 0; i < m->nvars; i++) {
        const lp_var *v = &m->vars[i];
        int bn = v->kind == LP_VAR_GAMMA || v->kind == LP_VAR_BETA;
        CHECK_EQ_INT(lp_opt_synced(&o, i), v->trainable && !bn);
        if (!lp_opt_synced(&o, i)) continue;
        for (size_t j = 0; j < v->nvec; j++) {
            /* row j of sorted = column j of the Keras-layout tensor, sorted */
            float *col = malloc(v->len * sizeof(float));
            for (size_t r = 0; r < v->len; r++) col[r] = v->w[r * v->nvec + j];
            for (size_t r = 0; r < v->len; r++) {
                size_t rank = 0; /* brute force */
                for (size_t q = 0; q < v->len; q++) rank += col[q] < col[r] || (col[q] == col[r] && q < r);
                CHECK(o.sorted[i][j * v->len + rank] == col[r]);
            }
            free(col);
        }
    }
    /* the conv kernel [3,3,1,3] has 3 vectors of 9; dense [48,10] 10 of 48 */
    CHECK_EQ_INT(m->vars[0].nvec, 3);
    CHECK_EQ_INT(m->vars[0].len, 9);
    CHECK_EQ_INT(m->vars[6].nvec, 10);
    CHECK_EQ_INT(m->vars[6].len, 48);
    lp_opt_free(&o);
    lp_model_free(m);
}

typedef struct watch {
    lp_model *m;
    float *init[16];
    int k, skip_bias;
    int sync_steps_ok, nonsync_steps_ok, bias_ok, bn_ok, steps_seen;
} watch;

static void on_step(void *ctx, const lp_progress *p)
{
    watch *w = ctx;
    w->steps_seen++;
    int sync = p->step % w->k == 0;
    int all_perm = 1, any_perm_kernel = 0;
    for (int i = 0; i < w->m->nvars; i++) {
        const lp_var *v = &w->m->vars[i];
        if (v->kind == LP_VAR_KERNEL) {
            int perm = 1;
            for (size_t j = 0; j < v->nvec; j++) perm &= column_is_permutation(v, v->w, w->init[i], j);
            all_perm &= perm;
            any_perm_kernel |= perm;
        }
        if (v->kind == LP_VAR_BIAS && sync) {
            int perm = column_is_permutation(v, v->w, w->init[i], 0);
            if (perm == w->skip_bias) w->bias_ok = 0; /* synced iff !skip_bias */
        }
        if (v->kind == LP_VAR_GAMMA && sync && column_is_permutation(v, v->w, w->init[i], 0)) w->bn_ok = 0;
    }
    if (sync && !all_perm) w->sync_steps_ok = 0;
    if (!sync && any_perm_kernel) w->nonsync_steps_ok = 0;
}

static void run_watch(int skip_bias)
{
    lp_model *m = small_model();
    lp_init_he_uniform(m, 2, 1);
    laperm_dataset *d = synthetic(40);
    lp_preset preset = *lp_preset_find("f1");
    preset.augment = (lp_augment){0};
    lp_train_config cfg = {.preset = &preset, .epochs = 3, .batch = 8, .lr = 1e-2, .k = 3, .seed = 9,
                           .val_every = 0, .tsize = 0, .augment = 0, .skip_bias = skip_bias, .skip_bn = 1};
    watch w = {.m = m, .k = 3, .skip_bias = skip_bias, .sync_steps_ok = 1, .nonsync_steps_ok = 1,
               .bias_ok = 1, .bn_ok = 1};
    for (int i = 0; i < m->nvars; i++) {
        w.init[i] = malloc(m->vars[i].size * sizeof(float));
        memcpy(w.init[i], m->vars[i].w, m->vars[i].size * sizeof(float));
    }
    lp_session s;
    CHECK(lp_session_init(&s, &cfg, m, d, d) == LAPERM_OK);
    s.on_progress = on_step;
    s.progress_ctx = &w;
    CHECK(lp_session_run(&s) == LAPERM_OK);
    CHECK_EQ_INT(w.steps_seen, 15); /* 3 epochs x ceil(40 / 8) */
    CHECK_EQ_INT(s.opt.t, 15);      /* Adam's counter goes on through syncs */
    CHECK(w.sync_steps_ok);
    CHECK(w.nonsync_steps_ok);
    CHECK(w.bias_ok);
    CHECK(w.bn_ok);
    lp_session_free(&s);
    for (int i = 0; i < m->nvars; i++) free(w.init[i]);
    laperm_dataset_free(d);
    lp_model_free(m);
}

static void test_sync_schedule_skip_bias(void) { run_watch(1); }
static void test_sync_schedule_sync_bias(void) { run_watch(0); }

/* After lp_opt_sync, within every column a weight that ranked below another
 * (ties by position, -0.0 == +0.0) holds a value <= the other's. */
static void test_sync_keeps_rank_order(void)
{
    lp_model *m = small_model();
    lp_init_he_uniform(m, 6, 1);
    lp_optimizer o;
    CHECK(lp_opt_init(&o, m, lp_kernels_get(), 0, 1) == LAPERM_OK);
    lp_rng r;
    lp_rng_seed(&r, 8, LP_STREAM_TEST, 0);
    int violations = 0, checked = 0;
    for (int i = 0; i < m->nvars; i++) {
        lp_var *v = &m->vars[i];
        if (!lp_opt_synced(&o, i)) continue;
        /* quantised values: many ties, and both signed zeros */
        for (size_t e = 0; e < v->size; e++) {
            int q = (int)lp_rng_below(&r, 7) - 3;
            v->w[e] = q == 0 ? (lp_rng_below(&r, 2) ? -0.0f : 0.0f) : 0.1f * (float)q;
        }
    }
    float *before = malloc(lp_model_flat_size(m) * sizeof(float));
    lp_model_get_flat(m, before);
    CHECK(lp_opt_sync(&o, m, lp_kernels_get()) == LAPERM_OK);
    const float *b = before;
    for (int i = 0; i < m->nvars; b += m->vars[i].size, i++) {
        const lp_var *v = &m->vars[i];
        if (!lp_opt_synced(&o, i)) continue;
        for (size_t j = 0; j < v->nvec; j++)
            for (size_t p = 0; p < v->len; p++)
                for (size_t q = p + 1; q < v->len; q++) {
                    float bp = b[p * v->nvec + j], bq = b[q * v->nvec + j];
                    float ap = v->w[p * v->nvec + j], aq = v->w[q * v->nvec + j];
                    checked++;
                    if (bp < bq && !(ap <= aq)) violations++;
                    if (bp > bq && !(ap >= aq)) violations++;
                    if (bp == bq && !(ap <= aq)) violations++; /* tie: position order */
                }
    }
    CHECK_EQ_INT(violations, 0);
    CHECK(checked > 10000);
    free(before);
    lp_opt_free(&o);
    lp_model_free(m);
}

/* The sync workspace depends on the OpenMP thread limit: an optimizer made
 * with 1 thread and synced with 2 grows it (it used to be overrun) and
 * syncs exactly as one made with 2 threads. */
static void test_sync_after_more_threads(void)
{
    const lp_kernels *k = lp_kernels_get();
    lp_model *m[2] = {NULL, NULL};
    lp_optimizer o[2];
    for (int i = 0; i < 2; i++) {
        CHECK(lp_model_build("conv7", &m[i]) == LAPERM_OK);
        lp_init_he_uniform(m[i], 9, 1);
        omp_set_num_threads(i == 0 ? 1 : 2);
        CHECK(lp_opt_init(&o[i], m[i], k, 0, 1) == LAPERM_OK);
    }
    const size_t bytes1 = o[0].sync_ws_bytes;
    /* the same moved weights in both models */
    lp_rng r;
    lp_rng_seed(&r, 10, LP_STREAM_TEST, 0);
    for (int v = 0; v < m[0]->nvars; v++)
        for (size_t e = 0; e < m[0]->vars[v].size; e++)
            m[0]->vars[v].w[e] = m[1]->vars[v].w[e] += 0.01f * (lp_rng_uniform(&r) - 0.5f);
    omp_set_num_threads(2);
    CHECK(lp_opt_sync(&o[0], m[0], k) == LAPERM_OK);
    CHECK(lp_opt_sync(&o[1], m[1], k) == LAPERM_OK);
    CHECK_MSG(o[0].sync_ws_bytes > bytes1, "workspace %zu bytes after the sync, %zu before",
              o[0].sync_ws_bytes, bytes1);
    int same = 1;
    for (int v = 0; v < m[0]->nvars; v++)
        same &= memcmp(m[0]->vars[v].w, m[1]->vars[v].w, m[0]->vars[v].size * sizeof(float)) == 0;
    CHECK(same);
    for (int i = 0; i < 2; i++) {
        lp_opt_free(&o[i]);
        lp_model_free(m[i]);
    }
}

static void test_nan_is_divergence(void)
{
    lp_model *m = small_model();
    lp_init_he_uniform(m, 2, 1);
    lp_optimizer o;
    CHECK(lp_opt_init(&o, m, lp_kernels_get(), 1, 1) == LAPERM_OK);
    m->vars[6].w[5 * 10 + 7] = NAN; /* dense kernel, vector 7 */
    CHECK(lp_opt_sync(&o, m, lp_kernels_get()) == LAPERM_E_DIVERGED);
    CHECK_STR_CONTAINS(laperm_last_error(), "dense/kernel:0");
    CHECK_STR_CONTAINS(laperm_last_error(), "vector 7");
    lp_opt_free(&o);
    lp_model_free(m);
}

static void test_run_is_deterministic(void)
{
    float *res[2];
    for (int rep = 0; rep < 2; rep++) {
        lp_model *m = small_model();
        lp_init_he_uniform(m, 4, 1);
        laperm_dataset *d = synthetic(40);
        lp_preset preset = *lp_preset_find("conv7"); /* with augmentation and dropout-free model */
        lp_train_config cfg = {.preset = &preset, .epochs = 2, .batch = 8, .lr = 1e-2, .k = 4, .seed = 3,
                               .val_every = 5, .tsize = 16, .augment = 1, .skip_bias = 0, .skip_bn = 1};
        lp_session s;
        CHECK(lp_session_init(&s, &cfg, m, d, d) == LAPERM_OK);
        CHECK(lp_session_run(&s) == LAPERM_OK);
        CHECK_EQ_INT(s.nhistory, 3); /* before training, steps 5 and 10 */
        res[rep] = malloc(lp_model_flat_size(m) * sizeof(float));
        lp_model_get_flat(m, res[rep]);
        size_t n = lp_model_flat_size(m);
        if (rep == 1) CHECK(memcmp(res[0], res[1], n * sizeof(float)) == 0);
        lp_session_free(&s);
        laperm_dataset_free(d);
        lp_model_free(m);
    }
    free(res[0]);
    free(res[1]);
}

int main(void)
{
    LP_RUN(test_sorted_vectors_follow_keras_layout);
    LP_RUN(test_sync_schedule_skip_bias);
    LP_RUN(test_sync_schedule_sync_bias);
    LP_RUN(test_sync_keeps_rank_order);
    LP_RUN(test_sync_after_more_threads);
    LP_RUN(test_nan_is_divergence);
    LP_RUN(test_run_is_deterministic);
    return lp_test_done();
}
