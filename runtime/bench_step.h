/* End-to-end speed of a model on synthetic inputs (`laperm bench`):
 * training steps timed phase by phase from outside the training loop (the
 * same calls lp_session_run makes, in the same order), inference passes, and
 * one full LaPerm sync of every synchronised variable.
 *
 * A training step here is: data (lp_pipeline_fill of random bytes, then
 * lp_augment_batch with the preset's augmentation), forward
 * (lp_model_forward, training), backward (lp_model_loss_backward),
 * optimizer (lp_opt_adam), and the sync (lp_opt_sync) amortised: the time
 * of one sync divided by the preset's k.
 *
 * With opts.kinds the same step is also split by layer kind: the model's
 * profile (runtime/model.h, lp_prof_kind) times each kernel call of forward
 * and backward; data, optimizer and sync are the phases above, and "other"
 * is what remains of the step (the passes' own bookkeeping, the input copy,
 * the clock reads), so the kinds add up to the step. */
#ifndef LAPERM_RUNTIME_BENCH_STEP_H
#define LAPERM_RUNTIME_BENCH_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "laperm/laperm.h"
#include "runtime/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lp_bench_part {
    LP_BENCH_DATA, LP_BENCH_FORWARD, LP_BENCH_BACKWARD, LP_BENCH_OPTIMIZER, LP_BENCH_SYNC,
    LP_BENCH_PARTS
} lp_bench_part;

/* "data", "forward", "backward", "optimizer", "sync" */
extern const char *const lp_bench_part_names[LP_BENCH_PARTS];

/* The step by kind: the model's lp_prof_kind values first, then these. */
enum {
    LP_BENCH_KIND_DATA = LP_PROF_KINDS, LP_BENCH_KIND_OPTIMIZER, LP_BENCH_KIND_SYNC,
    LP_BENCH_KIND_OTHER, LP_BENCH_KINDS
};

/* lp_prof_kind_names[kind] below LP_PROF_KINDS, then "data", "optimizer",
 * "sync", "other" */
const char *lp_bench_kind_name(int kind);

typedef struct lp_bench_opts {
    const char *model;   /* one of lp_model_names() */
    int batch;           /* images per step; 0: the preset's */
    int steps;           /* timed training steps, and timed inference passes (>= 1) */
    int warmup;          /* untimed steps (and passes) before, e.g. 1 */
    int sync_reps;       /* full syncs timed; the median is reported (>= 1) */
    int kinds;           /* nonzero: time the timed steps by layer kind (kind_s) */
    int layers;          /* nonzero (with kinds): also each convolution layer (layers[]) */
    uint64_t seed;
} lp_bench_opts;

/* One convolution layer's share of the timed steps (opts.layers): mean
 * seconds per step of its forward (with the fused bias and ReLU where the
 * kernels fuse them), backward-data (0 for a layer that needs no dx) and
 * backward-weights, as the kinds conv_fwd / conv_bwd_data /
 * conv_bwd_weights count them. */
typedef struct lp_bench_layer {
    char name[LP_NAME_MAX];
    lp_conv_geom geom; /* n = the batch */
    double fwd_s, bwd_data_s, bwd_weights_s;
} lp_bench_layer;

typedef struct lp_bench_result {
    int batch, steps, k;
    size_t weights;                     /* weights the sync covers */
    double part_s[LP_BENCH_PARTS];      /* mean seconds per training step (sync: sync_s / k) */
    double step_s;                      /* their sum */
    double kind_s[LP_BENCH_KINDS];      /* mean seconds per step by kind, summing to step_s
                                         * (all 0 without opts.kinds) */
    double train_img_per_s;             /* batch / step_s */
    double infer_img_per_s;             /* inference forward passes only */
    double sync_s;                      /* one full sync, median of sync_reps */
    double sync_ns_per_weight;
    int nlayers;                        /* convolution layers in layers[] (0 without opts.layers) */
    lp_bench_layer layers[LP_MAX_NODES];
} lp_bench_result;

/* Build the model (prepared for the batch), initialise it as training does
 * (he_uniform, the preset's weight-agnostic set-up), time it on k and free it.
 * k must be lp_kernels_get() or share its conv_workspace (the model's
 * buffers are sized with the selected table). */
laperm_status lp_bench_model(const lp_bench_opts *o, const lp_kernels *k, lp_bench_result *r);

#ifdef __cplusplus
}
#endif
#endif
