/* Reconnect: C = B's values in A's order, per weight vector (CLI.md
 * `laperm reconnect`, SPEC section 1). For every vector, C[i] =
 * sorted(B)[rank_A(i)], ties in A (and in B) broken by position, -0.0 equal
 * to +0.0; every output vector is bitwise a permutation of B's vector.
 *
 * Weight vectors: rank 1 the whole tensor; rank >= 2 one vector per index j
 * of the last (output) axis, its elements in C order of the other axes
 * (Dense [in,out]: column j; Conv2D HWIO: filter j flattened in (kh,kw,cin)
 * order, stride cout); rank 0 is one element (unchanged). */
#ifndef LAPERM_RUNTIME_RECONNECT_H
#define LAPERM_RUNTIME_RECONNECT_H

#include "runtime/h5io.h"

/* What a weight is, from its Keras name ("conv2d_1/kernel:0" -> kernel). */
typedef enum lp_weight_kind {
    LP_WK_KERNEL,   /* kernel */
    LP_WK_BIAS,     /* bias */
    LP_WK_BN_AFFINE,/* gamma, beta */
    LP_WK_BN_STAT,  /* moving_mean, moving_variance */
    LP_WK_OTHER     /* anything else: never reconnected */
} lp_weight_kind;

lp_weight_kind lp_weight_kind_of(const char *name);

typedef struct lp_reconnect_stats {
    int64_t tensors;  /* weight tensors reconnected */
    int64_t vectors;  /* weight vectors reconnected */
    int64_t weights;  /* scalar weights in them */
} lp_reconnect_stats;

/* Pair the weighted layers (nweights > 0) of ranks (A) and values (B) by
 * order (names may differ), weights within a layer by position; counts and
 * shapes must match (LAPERM_E_SHAPE otherwise, naming both layers and
 * shapes). Kernels and biases are reconnected (biases not when skip_bias),
 * BN gamma/beta only when include_bn; everything else, BN moving statistics
 * included, is copied from A. *out is in A's layout and names; free it with
 * lp_h5_weights_free. A NaN in a vector to reconnect is an error
 * (LAPERM_E_DIVERGED). */
laperm_status lp_reconnect(const lp_h5_weights *ranks, const lp_h5_weights *values, int skip_bias,
                           int include_bn, lp_h5_weights **out);
/* The same, also counting what was reconnected (stats may be NULL). */
laperm_status lp_reconnect_ex(const lp_h5_weights *ranks, const lp_h5_weights *values,
                              int skip_bias, int include_bn, lp_h5_weights **out,
                              lp_reconnect_stats *stats);

#endif
