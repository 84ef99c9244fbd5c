/* Training presets, one row per model, from the seed's notebooks (SPEC 5). */
#include "models/models.h"

#include <math.h>
#include <string.h>

static const lp_preset presets[] = {
    {.model = "conv7", .dataset = LP_DATA_MNIST, .preprocess = LP_PRE_SCALE, .batch = 50,
     .epochs = 45, .lr = 1e-3, .schedule = LP_LR_EXP095, .k = 20,
     .augment = {.rotation = 10, .height_shift = 0.1f, .width_shift = 0.1f, .zoom = 0.1f},
     .skip_bias = 0, .skip_bn = 1, .val_every = 100, .tsize = 30000, .bias_he_uniform = 1},
    {.model = "conv2", .dataset = LP_DATA_CIFAR10, .preprocess = LP_PRE_RAW, .batch = 50,
     .epochs = 125, .lr = 1e-3, .schedule = LP_LR_STEP06, .k = 1000,
     .augment = {.rotation = 15, .height_shift = 0.1f, .width_shift = 0.1f, .hflip = 1},
     .skip_bias = 1, .skip_bn = 1, .val_every = 250, .tsize = 30000, .bias_he_uniform = 1},
    {.model = "conv4", .dataset = LP_DATA_CIFAR10, .preprocess = LP_PRE_RAW, .batch = 50,
     .epochs = 125, .lr = 1e-3, .schedule = LP_LR_STEP06, .k = 1000,
     .augment = {.rotation = 15, .height_shift = 0.1f, .width_shift = 0.1f, .hflip = 1},
     .skip_bias = 1, .skip_bn = 1, .val_every = 250, .tsize = 30000, .bias_he_uniform = 1},
    {.model = "conv13", .dataset = LP_DATA_CIFAR10, .preprocess = LP_PRE_RAW, .batch = 50,
     .epochs = 125, .lr = 1e-3, .schedule = LP_LR_STEP06, .k = 1000,
     .augment = {.rotation = 15, .height_shift = 0.1f, .width_shift = 0.1f, .hflip = 1},
     .skip_bias = 1, .skip_bn = 1, .val_every = 250, .tsize = 30000, .bias_he_uniform = 1},
    {.model = "resnet50", .dataset = LP_DATA_CIFAR10, .preprocess = LP_PRE_MEAN_IMAGE,
     .batch = 50, .epochs = 200, .lr = 1e-3, .schedule = LP_LR_RESNET, .k = 800,
     .augment = {.height_shift = 0.1f, .width_shift = 0.1f, .hflip = 1}, .skip_bias = 1,
     .skip_bn = 1, .val_every = 800, .tsize = 30000, .bias_he_uniform = 0},
    {.model = "f1", .dataset = LP_DATA_MNIST, .preprocess = LP_PRE_SCALE, .batch = 128,
     .epochs = 10, .lr = 1e-3, .schedule = LP_LR_EXP095, .k = 250, .skip_bias = 0, .skip_bn = 1,
     .val_every = 250, .tsize = 30000, .agnostic = 0.08f, .n_agnostic = 1, .agn_a = {4},
     .agn_b = {7}},
    {.model = "f2", .dataset = LP_DATA_MNIST, .preprocess = LP_PRE_SCALE, .batch = 128,
     .epochs = 25, .lr = 1e-3, .schedule = LP_LR_EXP095, .k = 250, .skip_bias = 0, .skip_bn = 1,
     .val_every = 250, .tsize = 30000, .agnostic = 0.03f, .n_agnostic = 3, .agn_a = {1, 1, 1},
     .agn_b = {15, 7, 3}},
};

const lp_preset *lp_preset_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof presets / sizeof *presets; i++)
        if (strcmp(presets[i].model, name) == 0) return &presets[i];
    return NULL;
}

const char *lp_model_names(void) { return "conv7, conv2, conv4, conv13, resnet50, f1, f2"; }

double lp_preset_lr(const lp_preset *p, double base, int epoch)
{
    switch (p->schedule) {
    case LP_LR_EXP095: return base * pow(0.95, epoch);
    case LP_LR_STEP06: return base * pow(0.6, epoch / 10);
    case LP_LR_RESNET:
        /* Keras' cifar10_resnet lr_schedule */
        if (epoch > 180) return base * 0.5e-3;
        if (epoch > 160) return base * 1e-3;
        if (epoch > 120) return base * 1e-2;
        if (epoch > 80) return base * 1e-1;
        return base;
    }
    return base;
}
