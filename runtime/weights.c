#include "runtime/weights.h"
#include "runtime/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void shape_str(char *buf, size_t n, int rank, const int64_t *shape)
{
    size_t at = 0;
    at += (size_t)snprintf(buf + at, n - at, "[");
    for (int i = 0; i < rank && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (at < n) snprintf(buf + at, n - at, "]");
}

static int same_shape(const lp_var *v, const lp_h5_array *a)
{
    if (v->rank != a->rank) return 0;
    for (int i = 0; i < v->rank; i++)
        if (v->shape[i] != a->shape[i]) return 0;
    return 1;
}

static size_t array_size(const lp_h5_array *a)
{
    size_t n = 1;
    for (int i = 0; i < a->rank; i++) n *= (size_t)a->shape[i];
    return n;
}

laperm_status lp_weights_apply(lp_model *m, const lp_h5_weights *f, const char *path)
{
    int nweighted = 0;
    for (int i = 0; i < m->nnodes; i++) nweighted += m->nodes[i].nvars > 0;
    int fl = 0, file_weighted = 0;
    for (int i = 0; i < f->nlayers; i++) file_weighted += f->layers[i].nweights > 0;
    if (file_weighted != nweighted)
        return lp_fail(LAPERM_E_SHAPE, "%s: %d layers with weights, model %s has %d (is it a %s file?)",
                       path, file_weighted, m->name, nweighted, m->name);
    for (int ni = 0; ni < m->nnodes; ni++) {
        const lp_node *node = &m->nodes[ni];
        if (!node->nvars) continue;
        while (f->layers[fl].nweights == 0) fl++;
        const lp_h5_layer *L = &f->layers[fl++];
        int extra_ok = L->nweights == node->nvars + 1 && node->type != LP_BATCHNORM && !node->use_bias;
        if (L->nweights != node->nvars && !extra_ok)
            return lp_fail(LAPERM_E_SHAPE, "%s: layer %s has %d weights, model layer %s (%s) expects %d",
                           path, L->name, L->nweights, node->name, lp_layer_type_name(node->type),
                           node->nvars);
        for (int j = 0; j < node->nvars; j++) {
            lp_var *v = &m->vars[node->var0 + j];
            const lp_h5_array *a = &L->weights[j];
            if (!same_shape(v, a)) {
                char want[96], got[96];
                int64_t vs[4] = {v->shape[0], v->shape[1], v->shape[2], v->shape[3]};
                shape_str(want, sizeof want, v->rank, vs);
                shape_str(got, sizeof got, a->rank, a->shape);
                return lp_fail(LAPERM_E_SHAPE, "%s: layer %s: %s has shape %s, model %s expects %s",
                               path, L->name, a->name, got, m->name, want);
            }
            for (size_t e = 0; e < v->size; e++)
                if (!isfinite(a->data[e]))
                    return lp_fail(LAPERM_E_FORMAT, "%s: layer %s: %s holds NaN or Inf at element %zu",
                                   path, L->name, a->name, e);
        }
        if (extra_ok) {
            /* F1.h5/F2.h5: Keras wrote a bias the notebook's layer never used. */
            const lp_h5_array *b = &L->weights[node->nvars];
            size_t units = (size_t)m->vars[node->var0].shape[m->vars[node->var0].rank - 1];
            if (b->rank != 1 || (size_t)b->shape[0] != units)
                return lp_fail(LAPERM_E_SHAPE, "%s: layer %s: unexpected extra weight %s", path,
                               L->name, b->name);
            for (size_t e = 0; e < array_size(b); e++)
                if (b->data[e] != 0.0f)
                    return lp_fail(LAPERM_E_SHAPE,
                                   "%s: layer %s: %s is non-zero but model %s has no bias there",
                                   path, L->name, b->name, m->name);
        }
    }
    /* All checked: now copy. */
    fl = 0;
    for (int ni = 0; ni < m->nnodes; ni++) {
        const lp_node *node = &m->nodes[ni];
        if (!node->nvars) continue;
        while (f->layers[fl].nweights == 0) fl++;
        const lp_h5_layer *L = &f->layers[fl++];
        for (int j = 0; j < node->nvars; j++)
            memcpy(m->vars[node->var0 + j].w, L->weights[j].data,
                   m->vars[node->var0 + j].size * sizeof(float));
    }
    return LAPERM_OK;
}

laperm_status lp_weights_load(lp_model *m, const char *path)
{
    lp_h5_weights *f = NULL;
    laperm_status s = lp_h5_read_weights_isolated(path, &f);
    if (s) return s;
    s = lp_weights_apply(m, f, path);
    lp_h5_weights_free(f);
    return s;
}

laperm_status lp_weights_export(const lp_model *m, lp_h5_weights **out)
{
    lp_h5_weights *f = calloc(1, sizeof *f);
    if (!f) return lp_fail(LAPERM_E_NOMEM, "out of memory");
    /* Keras lists every layer but the input of a Sequential model. */
    f->nlayers = m->nnodes - 1;
    f->layers = calloc((size_t)f->nlayers, sizeof *f->layers);
    if (!f->layers) goto nomem;
    for (int ni = 1; ni < m->nnodes; ni++) {
        const lp_node *node = &m->nodes[ni];
        lp_h5_layer *L = &f->layers[ni - 1];
        snprintf(L->name, sizeof L->name, "%s", node->name);
        L->nweights = node->nvars;
        if (!node->nvars) continue;
        L->weights = calloc((size_t)node->nvars, sizeof *L->weights);
        if (!L->weights) goto nomem;
        for (int j = 0; j < node->nvars; j++) {
            const lp_var *v = &m->vars[node->var0 + j];
            lp_h5_array *a = &L->weights[j];
            snprintf(a->name, sizeof a->name, "%s", v->name);
            a->rank = v->rank;
            for (int d = 0; d < v->rank; d++) a->shape[d] = v->shape[d];
            a->data = malloc(v->size * sizeof(float));
            if (!a->data) goto nomem;
            memcpy(a->data, v->w, v->size * sizeof(float));
        }
    }
    *out = f;
    return LAPERM_OK;
nomem:
    lp_h5_weights_free(f);
    return lp_fail(LAPERM_E_NOMEM, "out of memory");
}
