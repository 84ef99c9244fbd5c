/* Loading a preset's dataset from the data directory for the CLI. */
#ifndef LAPERM_TOOLS_DATASETS_H
#define LAPERM_TOOLS_DATASETS_H

#include "models/models.h"

/* Loads train (if train_out) and test set of the preset's dataset from
 * data_dir/mnist or data_dir/cifar-10-batches-bin; on failure the message
 * suggests `laperm fetch`. */
laperm_status cli_load_data(const lp_preset *p, const char *data_dir, laperm_dataset **train_out,
                            laperm_dataset **test_out);

#endif
