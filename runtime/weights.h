/* Mapping Keras weight files onto models: by the order of weighted layers
 * (the files' layer names vary with how many models Keras had built), with
 * every shape checked. */
#ifndef LAPERM_RUNTIME_WEIGHTS_H
#define LAPERM_RUNTIME_WEIGHTS_H

#include "runtime/h5io.h"
#include "runtime/model.h"

/* Copy f's weights into m. Errors name the file, the layer, the expected and
 * the found shape. A file may carry an all-zero bias for a layer built
 * without one (the paper's F1.h5/F2.h5); any other extra weight is an error.
 * Non-finite values are rejected. */
laperm_status lp_weights_apply(lp_model *m, const lp_h5_weights *f, const char *path);

/* Read path and apply it. */
laperm_status lp_weights_load(lp_model *m, const char *path);

/* m's layers (all of them, weightless ones too, as Keras writes) and
 * variables as a Keras save_weights structure. */
laperm_status lp_weights_export(const lp_model *m, lp_h5_weights **out);

#endif
