/* The seven networks of SPEC section 6. Sequential ones are tables of layer
 * rows; resnet50 (Keras' CIFAR resnet_v1, n = 8) is built by a loop. Layer
 * creation order is Keras' order, which is also the weight order of the
 * paper's .h5 files. */
#include "models/models.h"
#include "runtime/error.h"

#include <string.h>

/* One row of a sequential network. */
typedef enum { C, D, B, R, MP, DO, FL } op;
typedef struct row {
    op op;
    int a;      /* filters / units / pool */
    int k;      /* kernel size */
    int s;      /* stride */
    int same;
    float f;    /* dropout rate; for C/D: 1 = relu activation, 2 = softmax */
    int reg;    /* kernel l2 regularised */
} row;

#define CONV(f, k, s, same, act, reg) {C, f, k, s, same, act, reg}
#define DENSE(u, act, reg) {D, u, 0, 0, 0, act, reg}
#define BN {B, 0, 0, 0, 0, 0, 0}
#define RELU {R, 0, 0, 0, 0, 0, 0}
#define POOL {MP, 2, 0, 0, 0, 0, 0}
#define DROP(r) {DO, 0, 0, 0, 0, r, 0}
#define FLAT {FL, 0, 0, 0, 0, 0, 0}
#define END {FL, -1, 0, 0, 0, 0, 0}

static const row conv7[] = {
    CONV(32, 3, 1, 0, 1, 0), CONV(32, 3, 1, 0, 1, 0), CONV(32, 5, 2, 1, 1, 0), DROP(0.4f),
    CONV(64, 3, 1, 0, 1, 0), CONV(64, 3, 1, 0, 1, 0), CONV(64, 5, 2, 1, 1, 0), DROP(0.4f),
    CONV(128, 4, 1, 0, 1, 0), FLAT, DROP(0.4f), DENSE(10, 2, 0), END};

/* conv2/4/13: Conv, ReLU, BN (in that order, as the notebooks), l2 on every
 * kernel but the last Dense. */
#define CRB(f) CONV(f, 3, 1, 1, 0, 1), RELU, BN
#define HEAD256 FLAT, DENSE(256, 0, 1), RELU, DROP(0.5f), BN, DENSE(256, 0, 1), RELU, BN, DROP(0.5f), DENSE(10, 2, 0), END

static const row conv2[] = {CRB(64), DROP(0.3f), CRB(64), POOL, HEAD256};
static const row conv4[] = {CRB(64), DROP(0.3f), CRB(64), POOL,
                            CRB(128), DROP(0.4f), CRB(128), POOL, HEAD256};
static const row conv13[] = {
    CRB(64), DROP(0.3f), CRB(64), POOL,
    CRB(128), DROP(0.4f), CRB(128), POOL,
    CRB(256), DROP(0.4f), CRB(256), DROP(0.4f), CRB(256), POOL,
    CRB(512), DROP(0.4f), CRB(512), DROP(0.4f), CRB(512), POOL,
    CRB(512), DROP(0.4f), CRB(512), DROP(0.4f), CRB(512), POOL, DROP(0.5f),
    FLAT, DENSE(512, 0, 1), RELU, BN, DROP(0.5f), DENSE(10, 2, 0), END};

/* f1/f2: no biases. */
static const row f1[] = {FLAT, DENSE(10, 2, 0), END};
static const row f2[] = {FLAT, DENSE(128, 1, 1), DENSE(64, 1, 1), DENSE(10, 2, 0), END};

static laperm_status build_rows(lp_model *m, const row *r, float l2, int bias)
{
    for (; !(r->op == FL && r->a == -1); r++) {
        lp_act act = r->f == 1 ? LP_ACT_RELU : r->f == 2 ? LP_ACT_SOFTMAX : LP_ACT_NONE;
        int id;
        switch (r->op) {
        case C: id = lp_add_conv(m, -1, r->a, r->k, r->s, r->same, bias, act, r->reg ? l2 : 0); break;
        case D: id = lp_add_dense(m, -1, r->a, bias, act, r->reg ? l2 : 0); break;
        case B: id = lp_add_bn(m, -1); break;
        case R: id = lp_add_relu(m, -1); break;
        case MP: id = lp_add_maxpool(m, -1, r->a); break;
        case DO: id = lp_add_dropout(m, -1, r->f); break;
        default: id = lp_add_flatten(m, -1); break;
        }
        if (id < 0) return LAPERM_E_ARG;
    }
    return LAPERM_OK;
}

/* Keras resnet_layer: conv (3x3 unless k) -> [BN] -> [ReLU]. */
static int resnet_layer(lp_model *m, int in, int filters, int k, int stride, int relu, int bn)
{
    int x = lp_add_conv(m, in, filters, k, stride, 1, 1, LP_ACT_NONE, 1e-4f);
    if (x >= 0 && bn) x = lp_add_bn(m, x);
    if (x >= 0 && relu) x = lp_add_relu(m, x);
    return x;
}

/* Keras builds each block as y = resnet_layer(x); y = resnet_layer(y, no
 * activation); [x = shortcut(x)]; add. Its model.layers order (the order of
 * the .h5 files) puts the shortcut conv right after the second 3x3 conv, before
 * that conv's BatchNormalization: conv, BN, ReLU, conv, shortcut, BN, add. */
static laperm_status build_resnet(lp_model *m, int n_blocks)
{
    int filters = 16;
    int x = resnet_layer(m, 0, filters, 3, 1, 1, 1);
    for (int stack = 0; stack < 3; stack++) {
        for (int b = 0; b < n_blocks; b++) {
            int stride = (stack > 0 && b == 0) ? 2 : 1;
            int y = resnet_layer(m, x, filters, 3, stride, 1, 1);
            if (y < 0) return LAPERM_E_ARG;
            y = lp_add_conv(m, y, filters, 3, 1, 1, 1, LP_ACT_NONE, 1e-4f);
            if (y < 0) return LAPERM_E_ARG;
            if (stack > 0 && b == 0) x = resnet_layer(m, x, filters, 1, stride, 0, 0);
            if (x < 0 || (y = lp_add_bn(m, y)) < 0) return LAPERM_E_ARG;
            x = lp_add_add(m, x, y);
            if (x < 0 || (x = lp_add_relu(m, x)) < 0) return LAPERM_E_ARG;
        }
        filters *= 2;
    }
    if (lp_add_avgpool(m, x, 8) < 0 || lp_add_flatten(m, -1) < 0 ||
        lp_add_dense(m, -1, 10, 1, LP_ACT_SOFTMAX, 0) < 0)
        return LAPERM_E_ARG;
    return LAPERM_OK;
}

laperm_status lp_model_build(const char *name, lp_model **out)
{
    const lp_preset *p = lp_preset_find(name);
    if (!p)
        return lp_fail(LAPERM_E_ARG, "--model: unknown model '%s' (expected one of %s)",
                       name ? name : "", lp_model_names());
    int mnist = p->dataset == LP_DATA_MNIST;
    lp_model *m;
    laperm_status s = lp_model_new(name, mnist ? 28 : 32, mnist ? 28 : 32, mnist ? 1 : 3, 10, &m);
    if (s) return s;
    if (strcmp(name, "conv7") == 0) s = build_rows(m, conv7, 0, 1);
    else if (strcmp(name, "conv2") == 0) s = build_rows(m, conv2, 1e-4f, 1);
    else if (strcmp(name, "conv4") == 0) s = build_rows(m, conv4, 1e-4f, 1);
    else if (strcmp(name, "conv13") == 0) s = build_rows(m, conv13, 1e-4f, 1);
    else if (strcmp(name, "f1") == 0) s = build_rows(m, f1, 0, 0);
    else if (strcmp(name, "f2") == 0) s = build_rows(m, f2, 1e-4f, 0);
    else s = build_resnet(m, 8);
    if (s) {
        lp_model_free(m);
        return s;
    }
    *out = m;
    return LAPERM_OK;
}
