/* A model: a DAG of Keras-style layers in topological (creation) order,
 * with its variables in Keras weight order, buffers for one batch size, and
 * forward / backward passes on the kernel table.
 *
 * Activations are NHWC per image; a layer's output for a batch is
 * [batch, h, w, c] contiguous. Kernels keep the Keras layout (HWIO; Dense
 * [in, out]) so .h5 files map on without transposes. */
#ifndef LAPERM_RUNTIME_MODEL_H
#define LAPERM_RUNTIME_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "laperm/laperm.h"
#include "runtime/rng.h"

typedef enum lp_layer_type {
    LP_INPUT, LP_CONV2D, LP_DENSE, LP_BATCHNORM, LP_RELU, LP_MAXPOOL, LP_AVGPOOL,
    LP_DROPOUT, LP_FLATTEN, LP_ADD, LP_LAYER_TYPE_COUNT
} lp_layer_type;

typedef enum lp_act { LP_ACT_NONE, LP_ACT_RELU, LP_ACT_SOFTMAX } lp_act;

typedef enum lp_var_kind {
    LP_VAR_KERNEL, LP_VAR_BIAS, LP_VAR_GAMMA, LP_VAR_BETA, LP_VAR_MOVING_MEAN,
    LP_VAR_MOVING_VAR
} lp_var_kind;

/* Time by layer kind (laperm bench): while lp_model.profile is non-NULL the
 * forward and backward passes add each kernel call's seconds to
 * profile[kind]. Activation covers ReLU layers and ReLUs applied by a Conv2D
 * or Dense (a ReLU fused into BatchNormalization counts as BN); add covers Add
 * layers and the summing of gradients where an output feeds several layers;
 * l2 is the kernel regulariser's gradient. */
typedef enum lp_prof_kind {
    LP_PROF_CONV_FWD, LP_PROF_CONV_BWD_DATA, LP_PROF_CONV_BWD_WEIGHTS, LP_PROF_DENSE_FWD,
    LP_PROF_DENSE_BWD, LP_PROF_BN_FWD, LP_PROF_BN_BWD, LP_PROF_ACT, LP_PROF_POOL, LP_PROF_DROPOUT,
    LP_PROF_SOFTMAX_LOSS, LP_PROF_ADD, LP_PROF_BIAS, LP_PROF_L2, LP_PROF_KINDS
} lp_prof_kind;

/* "conv_fwd", "conv_bwd_data", "conv_bwd_weights", "dense_fwd", "dense_bwd",
 * "bn_fwd", "bn_bwd", "act", "pool", "dropout", "softmax_loss", "add",
 * "bias", "l2" */
extern const char *const lp_prof_kind_names[LP_PROF_KINDS];

#define LP_NAME_MAX 64
#define LP_MAX_NODES 256

typedef struct lp_var {
    char name[2 * LP_NAME_MAX];  /* Keras weight name, e.g. "conv2d_1/kernel:0" */
    lp_var_kind kind;
    int node;                    /* owning layer */
    int rank;
    int shape[4];
    size_t size;
    int trainable;               /* moving statistics are not */
    float l2;                    /* kernel_regularizer l2(lam), 0 if none */
    size_t len, nvec;            /* LaPerm weight vectors: nvec of length len */
    float *w;                    /* values */
    float *g;                    /* gradient of the last backward pass */
} lp_var;

typedef struct lp_node {
    lp_layer_type type;
    char name[LP_NAME_MAX];      /* Keras layer name, e.g. "conv2d_1" */
    int in[2], nin;              /* input nodes (-1 for none) */
    int h, w, c;                 /* output shape per image */
    /* Conv2D / pooling geometry (n filled per call) */
    lp_conv_geom geom;
    int filters, units, use_bias, same;
    lp_act act;
    float rate;                  /* dropout */
    int var0, nvars;             /* variables, in Keras order */
    int fuse_relu;               /* BN followed by a ReLU that this BN computes */
    int fused_into;              /* ReLU whose work its BN does (-1 otherwise) */
    /* Buffers (owned by the model unless aliased) */
    float *out, *dout;
    float *bn_mean, *bn_var;     /* batch statistics of the last training forward */
    uint8_t *mask;               /* dropout mask */
    int aliased;                 /* out/dout are views of the input's buffers */
} lp_node;

typedef struct lp_model {
    char name[32];
    int nnodes;
    lp_node nodes[LP_MAX_NODES];
    int nvars;
    lp_var *vars;
    int cap_vars;
    int in_h, in_w, in_c, classes;
    /* Buffers for up to max_batch images */
    int max_batch;
    float *ws;                   /* conv workspace */
    size_t ws_floats;
    float *scratch;              /* gradient scratch for accumulating fan-in */
    float *dlogits;
    int32_t *labels;
    int type_count[LP_LAYER_TYPE_COUNT]; /* for Keras-style names */
    double *profile;             /* [LP_PROF_KINDS] seconds, or NULL (the default): no timing */
    double *profile_conv;        /* [LP_MAX_NODES][3]: seconds of node i's convolution forward,
                                  * backward-data and backward-weights (with profile), or NULL */
} lp_model;

/* ---- Building ----------------------------------------------------------- */

laperm_status lp_model_new(const char *name, int h, int w, int c, int classes, lp_model **out);
void lp_model_free(lp_model *m);

/* Each returns the new node's index (>= 0) or -1 after recording an error.
 * in = -1 means "the previous node". */
int lp_add_conv(lp_model *m, int in, int filters, int k, int stride, int same, int use_bias,
                lp_act act, float l2);
int lp_add_dense(lp_model *m, int in, int units, int use_bias, lp_act act, float l2);
int lp_add_bn(lp_model *m, int in);
int lp_add_relu(lp_model *m, int in);
int lp_add_maxpool(lp_model *m, int in, int pool);
int lp_add_avgpool(lp_model *m, int in, int pool);
int lp_add_dropout(lp_model *m, int in, float rate);
int lp_add_flatten(lp_model *m, int in);
int lp_add_add(lp_model *m, int a, int b);

/* Allocate buffers for batches of up to max_batch images (and fuse BN+ReLU
 * pairs where the graph allows). Call once after building. */
laperm_status lp_model_prepare(lp_model *m, int max_batch);

size_t lp_model_total_params(const lp_model *m);
size_t lp_model_trainable_params(const lp_model *m);
const char *lp_layer_type_name(lp_layer_type t);
size_t lp_node_params(const lp_model *m, int node);

/* ---- Running ------------------------------------------------------------ */

/* Forward n <= max_batch images x [n, in_h, in_w, in_c]. training != 0 uses
 * batch statistics (and updates BN moving statistics) and dropout masks drawn
 * from (seed, LP_STREAM_DROPOUT, step). Returns the logits [n, classes]. */
const float *lp_model_forward(lp_model *m, const lp_kernels *k, const float *x, int n,
                              int training, uint64_t seed, uint64_t step);

/* Loss of the last forward against labels: mean cross-entropy. If backward,
 * runs the backward pass filling every variable's g (including the L2 terms).
 * *correct gets the number of right predictions. Returns the mean
 * cross-entropy (without L2). */
double lp_model_loss_backward(lp_model *m, const lp_kernels *k, const uint8_t *labels, int n,
                              int backward, size_t *correct);

/* sum over regularised kernels of lam * sum(w^2) */
double lp_model_l2_loss(const lp_model *m, const lp_kernels *k);

/* First variable holding NaN or Inf, or -1. */
int lp_model_find_nonfinite(const lp_model *m);

/* The first node (forward order) whose output of the last forward pass of
 * nb images holds NaN or Inf, or -1 when all are finite. */
int lp_model_first_nonfinite_output(const lp_model *m, int nb);

#endif
