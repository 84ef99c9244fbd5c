/* Checkpoints: the model's current weights in Keras' save_weights layout
 * (readable by Keras and h5py) plus a "laperm_state" group with everything a
 * resumed run needs to finish bitwise equal to an uninterrupted one:
 * theta_sorted, Adam moments and step, position, best weights and accuracy,
 * history and the run's configuration. */
#ifndef LAPERM_RUNTIME_CHECKPOINT_H
#define LAPERM_RUNTIME_CHECKPOINT_H

#include "runtime/train.h"

/* Write s atomically to path (see lp_h5_write_weights). */
laperm_status lp_checkpoint_write(const char *path, const lp_session *s);

/* lp_session's on_checkpoint hook; ctx is the path. */
laperm_status lp_checkpoint_hook(void *ctx, lp_session *s);

/* Restore a session from a checkpoint: m must be built and prepared for the
 * same model; cfg gives the requested total epochs and the preset (the run's
 * own batch, k, lr, seed and skip flags come from the file). */
laperm_status lp_checkpoint_resume(const char *path, lp_model *m, lp_train_config *cfg,
                                   const laperm_dataset *train, const laperm_dataset *test,
                                   lp_session *s);

#endif
