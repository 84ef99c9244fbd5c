/* Reconnect (see runtime/reconnect.h). Not a hot path: a qsort per vector
 * with the index as tie-break is a stable sort and plenty fast. Needs no
 * HDF5 (it works on lp_h5_weights in memory). */
#include "runtime/reconnect.h"
#include "runtime/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lp_weight_kind lp_weight_kind_of(const char *name)
{
    const char *b = strrchr(name, '/');
    b = b ? b + 1 : name;
    /* Strip Keras' ":<digits>" suffix. */
    size_t len = strlen(b);
    const char *colon = strrchr(b, ':');
    if (colon && colon[1]) {
        const char *p = colon + 1;
        while (*p >= '0' && *p <= '9') p++;
        if (*p == '\0') len = (size_t)(colon - b);
    }
#define IS(s) (len == sizeof(s) - 1 && memcmp(b, s, len) == 0)
    if (IS("kernel")) return LP_WK_KERNEL;
    if (IS("bias")) return LP_WK_BIAS;
    if (IS("gamma") || IS("beta")) return LP_WK_BN_AFFINE;
    if (IS("moving_mean") || IS("moving_variance")) return LP_WK_BN_STAT;
#undef IS
    return LP_WK_OTHER;
}

typedef struct rc_key {
    float v;    /* -0.0 normalised to +0.0 */
    uint32_t i; /* position in the vector */
} rc_key;

static int rc_cmp(const void *x, const void *y)
{
    const rc_key *a = x, *b = y;
    if (a->v < b->v) return -1;
    if (a->v > b->v) return 1;
    return (a->i > b->i) - (a->i < b->i);
}

static void fmt_shape(char *buf, size_t size, const lp_h5_array *a)
{
    size_t k = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < a->rank && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%" PRId64, i ? "," : "", a->shape[i]);
    if (k < size) snprintf(buf + k, size - k, "]");
}

static int64_t count_of(const lp_h5_array *a)
{
    int64_t n = 1;
    for (int i = 0; i < a->rank; i++) n *= a->shape[i];
    return n;
}

static int valid_array(const lp_h5_array *a)
{
    if (a->rank < 0 || a->rank > LP_H5_MAX_RANK) return 0;
    int64_t n = 1;
    for (int i = 0; i < a->rank; i++) {
        if (a->shape[i] < 0) return 0;
        if (a->shape[i] > 0 && n > INT64_MAX / a->shape[i]) return 0;
        n *= a->shape[i];
    }
    return n == 0 || a->data != NULL;
}

static int valid_weights(const lp_h5_weights *w)
{
    if (!w || w->nlayers < 0 || (w->nlayers > 0 && !w->layers)) return 0;
    for (int i = 0; i < w->nlayers; i++) {
        const lp_h5_layer *L = &w->layers[i];
        if (L->nweights < 0 || (L->nweights > 0 && !L->weights)) return 0;
        for (int j = 0; j < L->nweights; j++)
            if (!valid_array(&L->weights[j])) return 0;
    }
    return 1;
}

static void free_weights(lp_h5_weights *w)
{
    if (!w) return;
    for (int i = 0; i < w->nlayers && w->layers; i++) {
        for (int j = 0; j < w->layers[i].nweights && w->layers[i].weights; j++)
            free(w->layers[i].weights[j].data);
        free(w->layers[i].weights);
    }
    free(w->layers);
    free(w);
}

/* Deep copy of a validated set (lp_h5_weights_clone needs HDF5 compiled in;
 * this does not). Allocates with malloc/calloc/free like h5io, so the result
 * goes to lp_h5_weights_free. */
static lp_h5_weights *copy_weights(const lp_h5_weights *src)
{
    lp_h5_weights *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->model_save_layout = src->model_save_layout;
    if (src->nlayers > 0 && !(w->layers = calloc((size_t)src->nlayers, sizeof *w->layers))) goto fail;
    for (int i = 0; i < src->nlayers; i++) {
        const lp_h5_layer *S = &src->layers[i];
        lp_h5_layer *D = &w->layers[i];
        w->nlayers = i + 1;
        memcpy(D->name, S->name, sizeof D->name);
        if (S->nweights > 0 && !(D->weights = calloc((size_t)S->nweights, sizeof *D->weights)))
            goto fail;
        for (int j = 0; j < S->nweights; j++) {
            D->nweights = j + 1;
            D->weights[j] = S->weights[j];
            D->weights[j].data = NULL;
            int64_t n = count_of(&S->weights[j]);
            if (!(D->weights[j].data = malloc(n > 0 ? (size_t)n * sizeof(float) : sizeof(float))))
                goto fail;
            if (n > 0) memcpy(D->weights[j].data, S->weights[j].data, (size_t)n * sizeof(float));
        }
    }
    return w;
fail:
    free_weights(w);
    return NULL;
}

/* The weighted layers of w, in order. */
static int weighted_layers(const lp_h5_weights *w, int *idx)
{
    int n = 0;
    for (int i = 0; i < w->nlayers; i++)
        if (w->layers[i].nweights > 0) {
            if (idx) idx[n] = i;
            n++;
        }
    return n;
}

/* Reconnect one tensor: c (a copy of a's layout) gets b's values. */
static laperm_status reconnect_tensor(const char *lname, const lp_h5_array *A, const lp_h5_array *B,
                                      float *c, rc_key *ka, rc_key *kb, lp_reconnect_stats *st)
{
    int64_t n = count_of(A);
    if (n == 0) return LAPERM_OK;
    int64_t nvec, len;
    if (A->rank <= 1) {
        nvec = 1;
        len = n;
    } else {
        nvec = A->shape[A->rank - 1];
        len = n / nvec;
    }
    const float *a = A->data, *b = B->data;
    for (int64_t j = 0; j < nvec; j++) {
        for (int64_t i = 0; i < len; i++) {
            int64_t off = i * nvec + j;
            float va = a[off], vb = b[off];
            if (isnan(va) || isnan(vb))
                return lp_fail(LAPERM_E_DIVERGED,
                               "reconnect: layer %s: weight %s: vector %" PRId64 ": NaN at element %" PRId64
                               " in the %s weights",
                               lname, A->name, j, i, isnan(va) ? "ranks" : "values");
            ka[i].v = va == 0.0f ? 0.0f : va;
            ka[i].i = (uint32_t)i;
            kb[i].v = vb == 0.0f ? 0.0f : vb;
            kb[i].i = (uint32_t)i;
        }
        qsort(ka, (size_t)len, sizeof *ka, rc_cmp);
        qsort(kb, (size_t)len, sizeof *kb, rc_cmp);
        /* The element of rank r in A gets the value of rank r in B. */
        for (int64_t r = 0; r < len; r++) c[(int64_t)ka[r].i * nvec + j] = b[(int64_t)kb[r].i * nvec + j];
    }
    st->tensors++;
    st->vectors += nvec;
    st->weights += n;
    return LAPERM_OK;
}

laperm_status lp_reconnect_ex(const lp_h5_weights *ranks, const lp_h5_weights *values,
                              int skip_bias, int include_bn, lp_h5_weights **out,
                              lp_reconnect_stats *stats)
{
    if (!out) return lp_fail(LAPERM_E_ARG, "reconnect: out is NULL");
    *out = NULL;
    if (!valid_weights(ranks) || !valid_weights(values))
        return lp_fail(LAPERM_E_ARG, "reconnect: invalid weights structure");
    lp_reconnect_stats st = {0, 0, 0};
    laperm_status s = LAPERM_OK;
    int na = weighted_layers(ranks, NULL), nb = weighted_layers(values, NULL);
    if (na != nb)
        return lp_fail(LAPERM_E_SHAPE,
                       "reconnect: the ranks weights have %d layers with weights, the values weights %d",
                       na, nb);
    int *ia = malloc(((size_t)na + 1) * sizeof *ia), *ib = malloc(((size_t)nb + 1) * sizeof *ib);
    rc_key *ka = NULL, *kb = NULL;
    lp_h5_weights *w = NULL;
    if (!ia || !ib) {
        s = lp_fail(LAPERM_E_NOMEM, "reconnect: out of memory");
        goto done;
    }
    weighted_layers(ranks, ia);
    weighted_layers(values, ib);

    /* Check everything before touching anything; find the longest vector. */
    int64_t maxlen = 0;
    for (int l = 0; l < na; l++) {
        const lp_h5_layer *LA = &ranks->layers[ia[l]], *LB = &values->layers[ib[l]];
        if (LA->nweights != LB->nweights) {
            s = lp_fail(LAPERM_E_SHAPE,
                        "reconnect: layer %s (ranks) has %d weights, its counterpart %s (values) %d",
                        LA->name, LA->nweights, LB->name, LB->nweights);
            goto done;
        }
        for (int k = 0; k < LA->nweights; k++) {
            const lp_h5_array *A = &LA->weights[k], *B = &LB->weights[k];
            int same = A->rank == B->rank;
            for (int d = 0; same && d < A->rank; d++) same = A->shape[d] == B->shape[d];
            if (!same) {
                char sa[128], sb[128];
                fmt_shape(sa, sizeof sa, A);
                fmt_shape(sb, sizeof sb, B);
                s = lp_fail(LAPERM_E_SHAPE,
                            "reconnect: layer %s, weight %s: shape %s (ranks) vs %s (values, layer %s, weight %s)",
                            LA->name, A->name, sa, sb, LB->name, B->name);
                goto done;
            }
            int64_t n = count_of(A);
            int64_t len = A->rank <= 1 ? n : (A->shape[A->rank - 1] ? n / A->shape[A->rank - 1] : 0);
            if (len > (int64_t)UINT32_MAX) {
                s = lp_fail(LAPERM_E_ARG, "reconnect: layer %s, weight %s: vectors of %" PRId64
                            " elements are too long", LA->name, A->name, len);
                goto done;
            }
            if (len > maxlen) maxlen = len;
        }
    }
    if (!(w = copy_weights(ranks)) || !(ka = malloc(((size_t)maxlen + 1) * sizeof *ka)) ||
        !(kb = malloc(((size_t)maxlen + 1) * sizeof *kb))) {
        s = lp_fail(LAPERM_E_NOMEM, "reconnect: out of memory");
        goto done;
    }
    for (int l = 0; l < na; l++) {
        const lp_h5_layer *LA = &ranks->layers[ia[l]], *LB = &values->layers[ib[l]];
        for (int k = 0; k < LA->nweights; k++) {
            const lp_h5_array *A = &LA->weights[k];
            lp_weight_kind kind = lp_weight_kind_of(A->name);
            int doit = kind == LP_WK_KERNEL || (kind == LP_WK_BIAS && !skip_bias) ||
                       (kind == LP_WK_BN_AFFINE && include_bn);
            if (!doit) continue;
            s = reconnect_tensor(LA->name, A, &LB->weights[k], w->layers[ia[l]].weights[k].data, ka,
                                 kb, &st);
            if (s) goto done;
        }
    }
done:
    free(ia);
    free(ib);
    free(ka);
    free(kb);
    if (s) {
        free_weights(w);
        return s;
    }
    if (stats) *stats = st;
    *out = w;
    return LAPERM_OK;
}

laperm_status lp_reconnect(const lp_h5_weights *ranks, const lp_h5_weights *values, int skip_bias,
                           int include_bn, lp_h5_weights **out)
{
    return lp_reconnect_ex(ranks, values, skip_bias, include_bn, out, NULL);
}
