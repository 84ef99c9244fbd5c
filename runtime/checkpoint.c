#include "runtime/checkpoint.h"
#include "runtime/error.h"
#include "runtime/h5io.h"
#include "runtime/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK_FORMAT 1

/* Scalars of the run, in one f64 array: index names below. */
enum {
    CK_FORMAT_VERSION, CK_STEP, CK_EPOCH, CK_ADAM_T, CK_BATCH, CK_K, CK_LR, CK_VAL_EVERY,
    CK_TSIZE, CK_AUGMENT, CK_SKIP_BIAS, CK_SKIP_BN, CK_BEST_ACC, CK_FINAL_ACC, CK_HAVE_BEST,
    CK_TRAIN_SECONDS, CK_IMAGES, CK_NHISTORY, CK_PREPROCESS, CK_NSCALARS
};

static void blob(lp_h5_blob *b, const char *name, lp_h5_type t, int64_t count, const void *data)
{
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->type = t;
    b->count = count;
    b->data = (void *)data;
}

laperm_status lp_checkpoint_write(const char *path, const lp_session *s)
{
    const lp_model *m = s->m;
    lp_h5_weights *w = NULL;
    laperm_status st = lp_weights_export(m, &w);
    if (st) return st;
    int cap = 8 + 3 * m->nvars;
    lp_h5_blob *b = calloc((size_t)cap, sizeof *b);
    double sc[CK_NSCALARS] = {0};
    double *hist = malloc(((size_t)s->nhistory * 6 + 1) * sizeof(double));
    char (*names)[LP_H5_NAME_MAX] = malloc((size_t)3 * m->nvars * LP_H5_NAME_MAX);
    if (!b || !hist || !names) {
        free(b);
        free(hist);
        free(names);
        lp_h5_weights_free(w);
        return lp_fail(LAPERM_E_NOMEM, "out of memory writing %s", path);
    }
    const lp_train_config *c = &s->cfg;
    sc[CK_FORMAT_VERSION] = CK_FORMAT;
    sc[CK_STEP] = (double)s->step;
    sc[CK_EPOCH] = s->epoch;
    sc[CK_ADAM_T] = (double)s->opt.t;
    sc[CK_BATCH] = c->batch;
    sc[CK_K] = c->k;
    sc[CK_LR] = c->lr;
    sc[CK_VAL_EVERY] = c->val_every;
    sc[CK_TSIZE] = c->tsize;
    sc[CK_AUGMENT] = c->augment;
    sc[CK_SKIP_BIAS] = c->skip_bias;
    sc[CK_SKIP_BN] = c->skip_bn;
    sc[CK_BEST_ACC] = s->best_val_acc;
    sc[CK_FINAL_ACC] = s->final_val_acc;
    sc[CK_HAVE_BEST] = s->have_best;
    sc[CK_TRAIN_SECONDS] = s->train_seconds;
    sc[CK_IMAGES] = (double)s->images_trained;
    sc[CK_NHISTORY] = s->nhistory;
    sc[CK_PREPROCESS] = c->preset->preprocess;
    for (int i = 0; i < s->nhistory; i++) {
        const lp_history_row *r = &s->history[i];
        double *d = hist + 6 * i;
        d[0] = (double)r->step;
        d[1] = r->epoch;
        d[2] = r->val_loss;
        d[3] = r->val_acc;
        d[4] = r->train_loss;
        d[5] = r->train_acc;
    }
    uint64_t seed = c->seed;
    int n = 0;
    blob(&b[n++], "model", LP_H5_U8, (int64_t)strlen(m->name), m->name);
    blob(&b[n++], "scalars", LP_H5_F64, CK_NSCALARS, sc);
    blob(&b[n++], "seed", LP_H5_U64, 1, &seed);
    blob(&b[n++], "history", LP_H5_F64, (int64_t)s->nhistory * 6, hist);
    if (s->have_best) blob(&b[n++], "best_weights", LP_H5_F32, (int64_t)lp_model_flat_size(m), s->best);
    int nn = 0;
    for (int i = 0; i < m->nvars; i++) {
        const lp_var *v = &m->vars[i];
        if (s->opt.m[i]) {
            snprintf(names[nn], LP_H5_NAME_MAX, "adam_m_%d", i);
            blob(&b[n++], names[nn++], LP_H5_F32, (int64_t)v->size, s->opt.m[i]);
            snprintf(names[nn], LP_H5_NAME_MAX, "adam_v_%d", i);
            blob(&b[n++], names[nn++], LP_H5_F32, (int64_t)v->size, s->opt.v[i]);
        }
        if (s->opt.sorted[i]) {
            snprintf(names[nn], LP_H5_NAME_MAX, "sorted_%d", i);
            blob(&b[n++], names[nn++], LP_H5_F32, (int64_t)v->size, s->opt.sorted[i]);
        }
    }
    st = lp_h5_write_weights(path, w, b, n);
    free(b);
    free(hist);
    free(names);
    lp_h5_weights_free(w);
    return st;
}

laperm_status lp_checkpoint_hook(void *ctx, lp_session *s) { return lp_checkpoint_write((const char *)ctx, s); }

static const lp_h5_blob *find(const lp_h5_blob *b, int n, const char *name, lp_h5_type t, int64_t count)
{
    for (int i = 0; i < n; i++)
        if (strcmp(b[i].name, name) == 0 && b[i].type == t && (count < 0 || b[i].count == count))
            return &b[i];
    return NULL;
}

laperm_status lp_checkpoint_resume(const char *path, lp_model *m, lp_train_config *cfg,
                                   const laperm_dataset *train, const laperm_dataset *test,
                                   lp_session *s)
{
    lp_h5_blob *b = NULL;
    int n = 0;
    laperm_status st = lp_h5_read_state_isolated(path, &b, &n);
    if (st) return st;
    if (n == 0) return lp_fail(LAPERM_E_FORMAT, "%s: no laperm_state group: not a laperm checkpoint", path);
    const lp_h5_blob *model = find(b, n, "model", LP_H5_U8, -1);
    const lp_h5_blob *scal = find(b, n, "scalars", LP_H5_F64, CK_NSCALARS);
    const lp_h5_blob *seed = find(b, n, "seed", LP_H5_U64, 1);
    if (!model || !scal || !seed) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: laperm_state lacks model, scalars or seed", path);
        goto out;
    }
    if ((size_t)model->count != strlen(m->name) || memcmp(model->data, m->name, (size_t)model->count) != 0) {
        st = lp_fail(LAPERM_E_SHAPE, "%s: checkpoint of model '%.*s', not %s", path, (int)model->count,
                     (const char *)model->data, m->name);
        goto out;
    }
    const double *sc = scal->data;
    if (sc[CK_FORMAT_VERSION] != CK_FORMAT) {
        st = lp_fail(LAPERM_E_FORMAT, "%s: checkpoint format %g, expected %d", path, sc[CK_FORMAT_VERSION], CK_FORMAT);
        goto out;
    }
    if ((st = lp_weights_load(m, path))) goto out;
    /* The run's own settings win; only the total epochs may change. */
    cfg->batch = (int)sc[CK_BATCH];
    cfg->k = (int)sc[CK_K];
    cfg->lr = sc[CK_LR];
    cfg->val_every = (int)sc[CK_VAL_EVERY];
    cfg->tsize = (int)sc[CK_TSIZE];
    cfg->augment = (int)sc[CK_AUGMENT];
    cfg->skip_bias = (int)sc[CK_SKIP_BIAS];
    cfg->skip_bn = (int)sc[CK_SKIP_BN];
    cfg->seed = *(const uint64_t *)seed->data;
    if (cfg->batch > m->max_batch) {
        st = lp_fail(LAPERM_E_ARG, "%s: batch %d exceeds the prepared %d", path, cfg->batch, m->max_batch);
        goto out;
    }
    if ((st = lp_session_init(s, cfg, m, train, test))) goto out;
    s->step = (long)sc[CK_STEP];
    s->epoch = (int)sc[CK_EPOCH];
    s->opt.t = (long)sc[CK_ADAM_T];
    s->best_val_acc = sc[CK_BEST_ACC];
    s->final_val_acc = sc[CK_FINAL_ACC];
    s->train_seconds = sc[CK_TRAIN_SECONDS];
    s->images_trained = (long)sc[CK_IMAGES];
    for (int i = 0; i < m->nvars; i++) {
        char name[LP_H5_NAME_MAX];
        const lp_var *v = &m->vars[i];
        const lp_h5_blob *x;
        if (s->opt.m[i]) {
            snprintf(name, sizeof name, "adam_m_%d", i);
            if (!(x = find(b, n, name, LP_H5_F32, (int64_t)v->size))) goto missing;
            memcpy(s->opt.m[i], x->data, v->size * sizeof(float));
            snprintf(name, sizeof name, "adam_v_%d", i);
            if (!(x = find(b, n, name, LP_H5_F32, (int64_t)v->size))) goto missing;
            memcpy(s->opt.v[i], x->data, v->size * sizeof(float));
        }
        if (s->opt.sorted[i]) {
            snprintf(name, sizeof name, "sorted_%d", i);
            if (!(x = find(b, n, name, LP_H5_F32, (int64_t)v->size))) goto missing;
            memcpy(s->opt.sorted[i], x->data, v->size * sizeof(float));
        }
        continue;
    missing:
        lp_session_free(s);
        st = lp_fail(LAPERM_E_FORMAT, "%s: laperm_state lacks %s (or its size is not %zu)", path, name, v->size);
        goto out;
    }
    if (sc[CK_HAVE_BEST] != 0) {
        const lp_h5_blob *x = find(b, n, "best_weights", LP_H5_F32, (int64_t)lp_model_flat_size(m));
        if (!x) {
            lp_session_free(s);
            st = lp_fail(LAPERM_E_FORMAT, "%s: laperm_state lacks best_weights", path);
            goto out;
        }
        memcpy(s->best, x->data, lp_model_flat_size(m) * sizeof(float));
        s->have_best = 1;
    }
    int nh = (int)sc[CK_NHISTORY];
    const lp_h5_blob *h = find(b, n, "history", LP_H5_F64, (int64_t)nh * 6);
    if (nh > 0) {
        s->history = h ? malloc((size_t)nh * sizeof *s->history) : NULL;
        if (!s->history) {
            lp_session_free(s);
            st = lp_fail(LAPERM_E_FORMAT, "%s: laperm_state history missing or unreadable", path);
            goto out;
        }
        const double *d = h->data;
        for (int i = 0; i < nh; i++) {
            s->history[i] = (lp_history_row){.step = (long)d[6 * i], .epoch = (int)d[6 * i + 1],
                                             .val_loss = d[6 * i + 2], .val_acc = d[6 * i + 3],
                                             .train_loss = d[6 * i + 4], .train_acc = d[6 * i + 5]};
        }
        s->nhistory = s->cap_history = nh;
    }
out:
    lp_h5_blobs_free(b, n);
    return st;
}
