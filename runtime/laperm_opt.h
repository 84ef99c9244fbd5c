/* The LaPerm optimizer: Adam as the inner optimizer, then every k steps each
 * synchronised weight vector takes its initial values back in its current
 * rank order (SPEC sections 1 and 3). */
#ifndef LAPERM_RUNTIME_LAPERM_OPT_H
#define LAPERM_RUNTIME_LAPERM_OPT_H

#include "runtime/model.h"

typedef struct lp_optimizer {
    int nvars;
    float **m, **v;         /* Adam moments per trainable variable (NULL otherwise) */
    float **sorted;         /* theta_sorted [nvec][len] per synchronised variable */
    long t;                 /* Adam step counter; also LaPerm's local_step */
    double b1, b2;
    float eps;
    void *sync_ws;
    size_t sync_ws_bytes;
} lp_optimizer;

/* Record theta_sorted from the model's current weights (call after
 * initialisation) and zero the moments. Variables synchronised: trainable
 * ones, except BN's when skip_bn and biases when skip_bias. */
laperm_status lp_opt_init(lp_optimizer *o, const lp_model *m, const lp_kernels *k, int skip_bias,
                          int skip_bn);
void lp_opt_free(lp_optimizer *o);

/* One Adam step on every trainable variable with learning rate lr. */
void lp_opt_adam(lp_optimizer *o, lp_model *m, const lp_kernels *k, double lr);

/* The sync of every synchronised variable; LAPERM_E_DIVERGED naming the
 * variable if a vector holds NaN. */
laperm_status lp_opt_sync(lp_optimizer *o, lp_model *m, const lp_kernels *k);

/* Whether variable i is synchronised. */
static inline int lp_opt_synced(const lp_optimizer *o, int i) { return o->sorted[i] != 0; }

#endif
