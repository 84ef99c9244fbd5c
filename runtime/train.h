/* The LaPerm training loop (SPEC section 2, the seed's LaPermTrainLoop.fit).
 *
 * Every random draw derives from (seed, stream, counter) with counters taken
 * from the step, epoch or validation index, so the run is a pure function of
 * the seed: the state to resume it is the weights, the optimizer and the
 * position (lp_session's fields), nothing hidden in a generator. */
#ifndef LAPERM_RUNTIME_TRAIN_H
#define LAPERM_RUNTIME_TRAIN_H

#include "models/models.h"
#include "runtime/laperm_opt.h"
#include "runtime/pipeline.h"

typedef struct lp_history_row {
    long step;
    int epoch;
    double val_loss, val_acc, train_loss, train_acc;
} lp_history_row;

typedef struct lp_train_config {
    const lp_preset *preset;
    int epochs;          /* total epochs */
    int batch;
    double lr;           /* base learning rate of the preset's schedule */
    int k;               /* sync period */
    uint64_t seed;
    int val_every;       /* 0: no validation */
    int tsize;           /* training images evaluated per validation (0: none) */
    int augment;
    int skip_bias, skip_bn;
    long max_steps;      /* stop after this many steps in total (0: no limit) */
} lp_train_config;

typedef struct lp_progress {
    int epoch, epochs;
    long step, steps_total;
    int batch_in_epoch, batches;
    int batch;           /* images per step */
    double loss, acc;    /* running means over the epoch so far */
    double img_per_s;
    const lp_history_row *val; /* non-NULL right after a validation */
    double best_val_acc;
} lp_progress;

typedef struct lp_session {
    lp_train_config cfg;
    lp_model *m;
    const lp_kernels *k;
    const laperm_dataset *train, *test;
    lp_pipeline pipe;
    lp_optimizer opt;
    /* position */
    long step;           /* steps done (the seed's iterations) */
    int epoch;           /* current epoch */
    /* results */
    lp_history_row *history;
    int nhistory, cap_history;
    double best_val_acc, final_val_acc;
    float *best;         /* all variables' values at the best validation */
    int have_best;
    double train_seconds;
    long images_trained;
    /* buffers */
    float *x, *aug_tmp;
    uint8_t *labels;
    uint32_t *perm, *tidx;
    /* hooks */
    void (*on_progress)(void *ctx, const lp_progress *p);
    void *progress_ctx;
    /* checkpoint hook, called every checkpoint_every steps (0: never) */
    laperm_status (*on_checkpoint)(void *ctx, struct lp_session *s);
    void *checkpoint_ctx;
    long checkpoint_every;
    volatile int *stop; /* set asynchronously (signals) to stop after a step */
} lp_session;

/* Set up: the model must be initialised (weights, masks) already; theta_sorted
 * is taken from its current weights. */
laperm_status lp_session_init(lp_session *s, const lp_train_config *cfg, lp_model *m,
                              const laperm_dataset *train, const laperm_dataset *test);
void lp_session_free(lp_session *s);

/* Train until cfg.epochs (or max_steps, or *stop). Returns LAPERM_E_DIVERGED
 * on NaN/Inf, LAPERM_E_INTERRUPTED when stopped early by *stop. */
laperm_status lp_session_run(lp_session *s);

/* Steps in one epoch. */
long lp_session_batches(const lp_session *s);

/* Copy every variable's values into / out of a flat buffer (best weights). */
size_t lp_model_flat_size(const lp_model *m);
void lp_model_get_flat(const lp_model *m, float *dst);
void lp_model_set_flat(lp_model *m, const float *src);

#endif
