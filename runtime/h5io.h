/* Keras weight files (.h5) through libhdf5, independent of any model: the
 * file is read into a list of layers, each a list of named float32 arrays,
 * and written back in Keras' save_weights layout. Mapping onto a model's
 * variables is runtime/weights.c's job.
 *
 * Without libhdf5 (LAPERM_WITH_HDF5=OFF) every function returns
 * LAPERM_E_UNSUPPORTED with a message saying so. */
#ifndef LAPERM_RUNTIME_H5IO_H
#define LAPERM_RUNTIME_H5IO_H

#include "laperm/laperm.h"

#define LP_H5_NAME_MAX 256
#define LP_H5_MAX_RANK 4

typedef struct lp_h5_array {
    char name[LP_H5_NAME_MAX]; /* as in weight_names, e.g. "conv2d_1/kernel:0" */
    int rank;
    int64_t shape[LP_H5_MAX_RANK];
    float *data;               /* owned; product(shape) floats, C order */
} lp_h5_array;

typedef struct lp_h5_layer {
    char name[LP_H5_NAME_MAX]; /* as in the root attribute layer_names */
    int nweights;              /* 0 for layers without weights (Flatten, ...) */
    lp_h5_array *weights;      /* in the order of the layer's weight_names */
} lp_h5_layer;

typedef struct lp_h5_weights {
    int nlayers;
    lp_h5_layer *layers;       /* in layer_names order */
    int model_save_layout;     /* 1 when read from model.save's /model_weights */
} lp_h5_weights;

/* A named array of run state stored beside the weights (checkpoints). */
typedef enum { LP_H5_F32, LP_H5_F64, LP_H5_I64, LP_H5_U64, LP_H5_U8 } lp_h5_type;
typedef struct lp_h5_blob {
    char name[LP_H5_NAME_MAX];
    lp_h5_type type;
    int64_t count;             /* elements (1-D) */
    void *data;                /* owned when returned by lp_h5_read_state */
} lp_h5_blob;

/* Read either layout (save_weights: groups at the root; model.save: under
 * /model_weights). Every dataset must be float32 with rank <= 4; any other
 * dtype, a missing group or dataset, or an HDF5 failure is an error naming
 * the file and the object. */
laperm_status lp_h5_read_weights(const char *path, lp_h5_weights **out);
void lp_h5_weights_free(lp_h5_weights *w);

/* Write w in the save_weights layout (root attributes layer_names, backend,
 * keras_version; per layer group attribute weight_names; datasets at
 * <layer>/<weight name>), readable by h5py and Keras' load_weights. If
 * nstate > 0 the blobs go into a group "laperm_state" (not in layer_names, so
 * Keras ignores it). Atomic: written to a temporary file in the same
 * directory, fsync'ed, renamed; on failure the old file is untouched and no
 * temporary is left. */
laperm_status lp_h5_write_weights(const char *path, const lp_h5_weights *w,
                                  const lp_h5_blob *state, int nstate);

/* The "laperm_state" group of a checkpoint; *n = 0 if the file has none. */
laperm_status lp_h5_read_state(const char *path, lp_h5_blob **out, int *n);
void lp_h5_blobs_free(lp_h5_blob *b, int n);

/* The same reads in a child process (runtime/h5io_isolate.c), for files from
 * strangers: libhdf5 itself can crash or corrupt its heap on a corrupt file.
 * A child that dies is LAPERM_E_FORMAT "FILE: the HDF5 library crashed
 * reading it (corrupt file; ...)"; anything else is exactly what the direct
 * call returns. LAPERM_H5_NO_ISOLATE=1 reads in-process (debugging). */
laperm_status lp_h5_read_weights_isolated(const char *path, lp_h5_weights **out);
laperm_status lp_h5_read_state_isolated(const char *path, lp_h5_blob **out, int *n);

/* Deep copy (for building an output from an input). */
laperm_status lp_h5_weights_clone(const lp_h5_weights *src, lp_h5_weights **out);

#endif
