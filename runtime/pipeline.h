/* From dataset bytes to network inputs: gather a batch, convert and
 * preprocess it (SPEC section 4), and evaluate a model on a dataset. */
#ifndef LAPERM_RUNTIME_PIPELINE_H
#define LAPERM_RUNTIME_PIPELINE_H

#include "models/models.h"
#include "runtime/data.h"
#include "runtime/model.h"

typedef struct lp_pipeline {
    lp_preprocess kind;
    int h, w, c;
    float *mean;   /* per pixel (h*w*c) for MEAN_IMAGE, per channel for STANDARDIZE */
    float *inv_std;/* per channel for STANDARDIZE */
} lp_pipeline;

/* Statistics come from the training set (the ResNet mean image, the channel
 * mean and std); train may be NULL for SCALE and RAW. */
laperm_status lp_pipeline_init(lp_pipeline *p, lp_preprocess kind, const laperm_dataset *train);
void lp_pipeline_free(lp_pipeline *p);

/* x[n, h, w, c] and labels[n] from images idx[0..n) (idx NULL: start..start+n). */
void lp_pipeline_fill(const lp_pipeline *p, const laperm_dataset *d, const uint32_t *idx,
                      size_t start, int n, float *x, uint8_t *labels);

/* Mean loss (cross-entropy plus the L2 term, as the seed's evaluate) and
 * accuracy over count images (idx NULL: the first count), in inference
 * mode, batches of m->max_batch. x/labels: buffers of max_batch images. */
void lp_evaluate(lp_model *m, const lp_kernels *k, const lp_pipeline *p, const laperm_dataset *d,
                 const uint32_t *idx, size_t count, float *x, uint8_t *labels, double *loss,
                 double *acc);

#endif
