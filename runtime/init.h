/* Weight initialisation and the paper's set-ups (SPEC sections 3 and 5). */
#ifndef LAPERM_RUNTIME_INIT_H
#define LAPERM_RUNTIME_INIT_H

#include "runtime/model.h"

/* he_uniform: U(-l, l), l = sqrt(6 / fan_in), for every kernel, and for
 * biases too when bias_he (fan_in of a 1-D tensor = its length); other
 * biases zero, BN gamma 1, beta 0, moving mean 0, variance 1. Draws from
 * (seed, LP_STREAM_INIT, variable index). */
void lp_init_he_uniform(lp_model *m, uint64_t seed, int bias_he);

/* The seed's agnosticize(val, ratios) on every trainable variable: every
 * element val, kept iff randint(1..b) <= a, else 0. n == 1: the same (a, b)
 * for all; else one per trainable variable (n must match). */
laperm_status lp_init_agnostic(lp_model *m, uint64_t seed, float val, int n, const int *a,
                               const int *b);

/* random_prune(rate, input_prune_rate = 0.8, skip_1d = True): each element
 * kept iff U(0,1) < rate; the first variable uses max(rate, 0.8); 1-D
 * variables untouched. rate = 1 - the pruned share. */
void lp_init_random_prune(lp_model *m, uint64_t seed, double rate);

/* The preset's initialisation of a fresh model: he_uniform (biases too when
 * the notebooks do), then the weight-agnostic set-up (agnostic: the shared
 * value; < 0 takes the preset's, 0 turns it off; models without a preset
 * ratio use the seed's default (1, 4)), or random_prune when prune >= 0 (the
 * pruned share). */
struct lp_preset;
laperm_status lp_init_model(lp_model *m, const struct lp_preset *p, uint64_t seed, double agnostic,
                            double prune);

#endif
