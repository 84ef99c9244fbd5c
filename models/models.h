/* The seven networks of the paper and their training presets (SPEC sections
 * 5 and 6). */
#ifndef LAPERM_MODELS_MODELS_H
#define LAPERM_MODELS_MODELS_H

#include "runtime/data.h"
#include "runtime/model.h"

typedef enum { LP_DATA_MNIST, LP_DATA_CIFAR10 } lp_dataset_kind;

/* How images become network inputs (SPEC section 4). */
typedef enum {
    LP_PRE_SCALE,      /* x / 255 (MNIST) */
    LP_PRE_RAW,        /* raw 0..255 floats (the seed's CIFAR normalize() bug) */
    LP_PRE_MEAN_IMAGE, /* x / 255 minus the per-pixel training mean (ResNet) */
    LP_PRE_STANDARDIZE /* (x - channel mean) / channel std (opt-in fix for the bug) */
} lp_preprocess;

typedef enum { LP_LR_EXP095, LP_LR_STEP06, LP_LR_RESNET } lp_lr_schedule;

typedef struct lp_preset {
    const char *model;
    lp_dataset_kind dataset;
    lp_preprocess preprocess;
    int batch, epochs;
    double lr;                 /* base learning rate */
    lp_lr_schedule schedule;
    int k;                     /* sync period */
    lp_augment augment;
    int skip_bias, skip_bn;
    int val_every;
    int tsize;
    /* weight-agnostic set-up (SPEC 5): value and (a, b) per kernel, 0 = off */
    float agnostic;
    int n_agnostic;
    int agn_a[4], agn_b[4];
    int bias_he_uniform;       /* notebooks initialise biases with he_uniform */
} lp_preset;

/* NULL if name is not one of the seven. */
const lp_preset *lp_preset_find(const char *name);
/* "conv7, conv2, conv4, conv13, resnet50, f1, f2" */
const char *lp_model_names(void);

/* Build the named model (variables allocated, zero-initialised except BN). */
laperm_status lp_model_build(const char *name, lp_model **out);

/* Learning rate of epoch (from 0) under the preset's schedule and base lr. */
double lp_preset_lr(const lp_preset *p, double base_lr, int epoch);

#endif
