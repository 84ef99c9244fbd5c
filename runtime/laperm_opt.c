#include "runtime/laperm_opt.h"
#include "runtime/error.h"
#include "runtime/memory.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void lp_opt_free(lp_optimizer *o)
{
    for (int i = 0; i < o->nvars; i++) {
        if (o->m) free(o->m[i]);
        if (o->v) free(o->v[i]);
        if (o->sorted) free(o->sorted[i]);
    }
    free(o->m);
    free(o->v);
    free(o->sorted);
    free(o->sync_ws);
    memset(o, 0, sizeof *o);
}

laperm_status lp_opt_init(lp_optimizer *o, const lp_model *m, const lp_kernels *k, int skip_bias,
                          int skip_bn)
{
    memset(o, 0, sizeof *o);
    o->nvars = m->nvars;
    o->b1 = 0.9;
    o->b2 = 0.999;
    o->eps = 1e-7f;
    o->m = calloc((size_t)m->nvars, sizeof *o->m);
    o->v = calloc((size_t)m->nvars, sizeof *o->v);
    o->sorted = calloc((size_t)m->nvars, sizeof *o->sorted);
    if (!o->m || !o->v || !o->sorted) goto nomem;
    uint32_t *idx = NULL;
    size_t idx_cap = 0;
    for (int i = 0; i < m->nvars; i++) {
        const lp_var *v = &m->vars[i];
        if (!v->trainable) continue;
        o->m[i] = lp_buffer_calloc(v->size, sizeof(float));
        o->v[i] = lp_buffer_calloc(v->size, sizeof(float));
        if (!o->m[i] || !o->v[i]) goto nomem;
        int bn = v->kind == LP_VAR_GAMMA || v->kind == LP_VAR_BETA;
        if ((bn && skip_bn) || (v->kind == LP_VAR_BIAS && skip_bias)) continue;
        o->sorted[i] = lp_buffer_alloc(v->size * sizeof(float));
        if (!o->sorted[i]) goto nomem;
        if (v->len > idx_cap) {
            free(idx);
            idx_cap = v->len;
            /* idx, then the column, then the argsort's workspace */
            idx = malloc(idx_cap * (sizeof *idx + sizeof(float)) + k->argsort_workspace(idx_cap));
            if (!idx) goto nomem;
        }
        float *col = (float *)(idx + idx_cap);
        void *as_ws = col + idx_cap;
        for (size_t j = 0; j < v->nvec; j++) {
            for (size_t r = 0; r < v->len; r++) col[r] = v->w[r * v->nvec + j];
            if (k->argsort(v->len, col, idx, as_ws) != 0) {
                free(idx);
                lp_opt_free(o);
                return lp_fail(LAPERM_E_DIVERGED, "%s: NaN in the initial weights", v->name);
            }
            for (size_t r = 0; r < v->len; r++) o->sorted[i][j * v->len + r] = col[idx[r]];
        }
        size_t ws = k->sync_workspace(v->len, v->nvec);
        if (ws > o->sync_ws_bytes) o->sync_ws_bytes = ws;
    }
    free(idx);
    o->sync_ws = o->sync_ws_bytes ? lp_buffer_alloc(o->sync_ws_bytes) : NULL;
    if (o->sync_ws_bytes && !o->sync_ws) goto nomem;
    return LAPERM_OK;
nomem:
    lp_opt_free(o);
    return lp_fail(LAPERM_E_NOMEM, "out of memory for optimizer state");
}

void lp_opt_adam(lp_optimizer *o, lp_model *m, const lp_kernels *k, double lr)
{
    o->t++;
    /* TF2 Keras Adam: lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t) */
    double lr_t = lr * sqrt(1.0 - pow(o->b2, (double)o->t)) / (1.0 - pow(o->b1, (double)o->t));
    for (int i = 0; i < m->nvars; i++) {
        lp_var *v = &m->vars[i];
        if (!v->trainable) continue;
        k->adam_update(v->size, v->w, v->g, o->m[i], o->v[i], (float)lr_t, (float)o->b1,
                       (float)o->b2, o->eps);
    }
}

laperm_status lp_opt_sync(lp_optimizer *o, lp_model *m, const lp_kernels *k)
{
    for (int i = 0; i < m->nvars; i++) {
        if (!o->sorted[i]) continue;
        lp_var *v = &m->vars[i];
        /* The workspace depends on the OpenMP thread limit, which may have
         * grown since lp_opt_init (or k may be another table): grow it. */
        size_t need = k->sync_workspace(v->len, v->nvec);
        if (need > o->sync_ws_bytes) {
            void *ws = malloc(need);
            if (!ws) return lp_fail(LAPERM_E_NOMEM, "out of memory for the sync workspace (%zu bytes)", need);
            free(o->sync_ws);
            o->sync_ws = ws;
            o->sync_ws_bytes = need;
        }
        long bad = k->sync(v->len, v->nvec, v->w, o->sorted[i], o->sync_ws);
        if (bad >= 0)
            return lp_fail(LAPERM_E_DIVERGED, "training diverged at step %ld: NaN in %s (vector %ld)",
                           o->t, v->name, bad);
    }
    return LAPERM_OK;
}
