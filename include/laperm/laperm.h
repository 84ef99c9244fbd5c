/* laperm: LaPerm (lookahead permutation) training, "Train by Reconnect"
 * (Qiu and Suda, NeurIPS 2020), in C.
 *
 * The public C API. Handles are opaque; every fallible call returns a
 * laperm_status and leaves a one-line message in laperm_last_error(). */
#ifndef LAPERM_LAPERM_H
#define LAPERM_LAPERM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LAPERM_VERSION "0.1.0"

typedef enum laperm_status {
    LAPERM_OK = 0,
    LAPERM_E_IO,          /* a file could not be read, written or created */
    LAPERM_E_FORMAT,      /* a file is malformed (bad magic, truncated, ...) */
    LAPERM_E_CHECKSUM,    /* a download or file failed its checksum */
    LAPERM_E_SHAPE,       /* weights do not fit the model */
    LAPERM_E_NOMEM,       /* out of memory */
    LAPERM_E_DIVERGED,    /* NaN or Inf in training */
    LAPERM_E_UNSUPPORTED, /* feature not compiled in or not supported by this CPU */
    LAPERM_E_ARG,         /* a bad argument (a usage error) */
    LAPERM_E_INTERRUPTED  /* stopped by a signal after saving state */
} laperm_status;

/* Message of the last failure on this thread ("" if none). */
const char *laperm_last_error(void);
/* Short name of a status, e.g. "io error". */
const char *laperm_status_name(laperm_status s);
const char *laperm_version(void);

/* ---- Datasets ---------------------------------------------------------- */

typedef struct laperm_dataset laperm_dataset;

/* MNIST from the four IDX files in dir (train-images-idx3-ubyte, ...). */
laperm_status laperm_mnist_load(const char *dir, int train, laperm_dataset **out);
/* CIFAR-10 from the binary batches in dir (data_batch_1..5.bin, test_batch.bin). */
laperm_status laperm_cifar10_load(const char *dir, int train, laperm_dataset **out);
size_t laperm_dataset_size(const laperm_dataset *d);
/* Image geometry (HWC) and the label of image i. */
void laperm_dataset_shape(const laperm_dataset *d, int *h, int *w, int *c);
int laperm_dataset_label(const laperm_dataset *d, size_t i);
/* Raw pixels of image i, HWC uint8. */
const uint8_t *laperm_dataset_pixels(const laperm_dataset *d, size_t i);
void laperm_dataset_free(laperm_dataset *d);

#ifdef __cplusplus
}
#endif
#endif
