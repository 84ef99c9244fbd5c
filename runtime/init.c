#include "runtime/init.h"
#include "models/models.h"
#include "runtime/error.h"

#include <math.h>

void lp_init_he_uniform(lp_model *m, uint64_t seed, int bias_he)
{
    for (int i = 0; i < m->nvars; i++) {
        lp_var *v = &m->vars[i];
        lp_rng r;
        lp_rng_seed(&r, seed, LP_STREAM_INIT, (uint64_t)i);
        float fill = 0.0f;
        int he = v->kind == LP_VAR_KERNEL || (v->kind == LP_VAR_BIAS && bias_he);
        if (v->kind == LP_VAR_GAMMA || v->kind == LP_VAR_MOVING_VAR) fill = 1.0f;
        if (!he) {
            for (size_t j = 0; j < v->size; j++) v->w[j] = fill;
            continue;
        }
        /* fan_in: conv kh*kw*cin, dense in, 1-D its length = v->len */
        double limit = sqrt(6.0 / (double)v->len);
        for (size_t j = 0; j < v->size; j++)
            v->w[j] = (float)((2.0 * lp_rng_uniform_double(&r) - 1.0) * limit);
    }
}

laperm_status lp_init_agnostic(lp_model *m, uint64_t seed, float val, int n, const int *a,
                               const int *b)
{
    int ntrain = 0;
    for (int i = 0; i < m->nvars; i++) ntrain += m->vars[i].trainable;
    if (n != 1 && n != ntrain)
        return lp_fail(LAPERM_E_ARG,
                       "agnostic set-up: %d (a, b) ratios for %d trainable variables of %s", n,
                       ntrain, m->name);
    int t = 0;
    for (int i = 0; i < m->nvars; i++) {
        lp_var *v = &m->vars[i];
        if (!v->trainable) continue;
        int ra = a[n == 1 ? 0 : t], rb = b[n == 1 ? 0 : t];
        t++;
        if (ra < 0 || rb < 1)
            return lp_fail(LAPERM_E_ARG, "agnostic set-up: bad (a, b) = (%d, %d)", ra, rb);
        lp_rng r;
        lp_rng_seed(&r, seed, LP_STREAM_MASK, (uint64_t)i);
        for (size_t j = 0; j < v->size; j++)
            v->w[j] = (int)lp_rng_below(&r, (uint64_t)rb) + 1 <= ra ? val : 0.0f;
    }
    return LAPERM_OK;
}

void lp_init_random_prune(lp_model *m, uint64_t seed, double rate)
{
    int first = 1;
    for (int i = 0; i < m->nvars; i++) {
        lp_var *v = &m->vars[i];
        if (!v->trainable) continue;
        if (v->rank == 1) {
            first = 0; /* skip_1d: untouched (still counts as the first variable) */
            continue;
        }
        double keep = first && rate < 0.8 ? 0.8 : rate;
        first = 0;
        lp_rng r;
        lp_rng_seed(&r, seed, LP_STREAM_MASK + 0x100, (uint64_t)i);
        for (size_t j = 0; j < v->size; j++)
            if (!(lp_rng_uniform_double(&r) < keep)) v->w[j] = 0.0f;
    }
}

laperm_status lp_init_model(lp_model *m, const lp_preset *p, uint64_t seed, double agnostic, double prune)
{
    lp_init_he_uniform(m, seed, p->bias_he_uniform);
    double agn = agnostic >= 0 ? agnostic : p->agnostic;
    if (agn != 0 && prune < 0) {
        static const int default_a[1] = {1}, default_b[1] = {4}; /* the seed's default ratio */
        int n = p->n_agnostic ? p->n_agnostic : 1;
        laperm_status s = lp_init_agnostic(m, seed, (float)agn, n, p->n_agnostic ? p->agn_a : default_a,
                                           p->n_agnostic ? p->agn_b : default_b);
        if (s) return s;
    }
    if (prune >= 0) lp_init_random_prune(m, seed, 1.0 - prune);
    return LAPERM_OK;
}
