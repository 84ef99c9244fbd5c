/* Every layer's backward against central finite differences of the loss,
 * through small graphs that chain all layer types (so each gradient also
 * passes through the backward of every later layer).
 *
 * Tolerance: the forward runs in float32, so the loss (about 2.3) carries a
 * rounding error near 2.3 * 6e-8; with h = 1e-3 the central difference has
 * noise ~1e-4 and O(h^2) truncation, and a ReLU or max-pool switch inside
 * [w - h, w + h] is rare at these sizes. We accept |fd - g| <= 1.5e-3 + 3e-2 |g|. */
#include "lp_test.h"
#include "runtime/dispatch.h"
#include "runtime/init.h"
#include "runtime/model.h"

#include <stdlib.h>

enum { BATCH = 3 };

static double loss_of(lp_model *m, const lp_kernels *k, const float *x, const uint8_t *y)
{
    lp_model_forward(m, k, x, BATCH, 1, 7, 1);
    return lp_model_loss_backward(m, k, y, BATCH, 0, NULL) + lp_model_l2_loss(m, k);
}

static void check_grads(lp_model *m, const char *what)
{
    const lp_kernels *k = lp_kernels_get();
    CHECK(lp_model_prepare(m, BATCH) == LAPERM_OK);
    lp_init_he_uniform(m, 3, 1);
    lp_rng r;
    lp_rng_seed(&r, 11, LP_STREAM_TEST, 0);
    /* Give BN's gamma/beta non-trivial values so their gradients matter. */
    for (int i = 0; i < m->nvars; i++)
        if (m->vars[i].kind == LP_VAR_GAMMA || m->vars[i].kind == LP_VAR_BETA)
            for (size_t j = 0; j < m->vars[i].size; j++) m->vars[i].w[j] += 0.5f * (lp_rng_uniform(&r) - 0.5f);
    size_t px = (size_t)m->in_h * m->in_w * m->in_c;
    float *x = malloc(BATCH * px * sizeof(float));
    uint8_t y[BATCH];
    for (size_t i = 0; i < BATCH * px; i++) x[i] = 2.0f * lp_rng_uniform(&r) - 1.0f;
    for (int i = 0; i < BATCH; i++) y[i] = (uint8_t)lp_rng_below(&r, 10);

    lp_model_forward(m, k, x, BATCH, 1, 7, 1);
    lp_model_loss_backward(m, k, y, BATCH, 1, NULL);
    int bad = 0, checked = 0;
    for (int i = 0; i < m->nvars; i++) {
        lp_var *v = &m->vars[i];
        if (!v->trainable) continue;
        float *g = malloc(v->size * sizeof(float));
        memcpy(g, v->g, v->size * sizeof(float));
        size_t step = v->size > 24 ? v->size / 24 : 1;
        for (size_t j = 0; j < v->size; j += step) {
            const float h = 1e-3f;
            float w0 = v->w[j];
            v->w[j] = w0 + h;
            double lp = loss_of(m, k, x, y);
            v->w[j] = w0 - h;
            double lm = loss_of(m, k, x, y);
            v->w[j] = w0;
            double fd = (lp - lm) / (2.0 * (double)h);
            checked++;
            if (fabs(fd - g[j]) > 1.5e-3 + 3e-2 * fabs(g[j])) {
                if (bad < 5)
                    fprintf(stderr, "%s: %s[%zu]: backward %.6g, finite difference %.6g\n", what, v->name, j,
                            (double)g[j], fd);
                bad++;
            }
        }
        free(g);
    }
    CHECK_MSG(bad == 0, "%s: %d of %d gradients off", what, bad, checked);
    CHECK(checked > 50);
    free(x);
    lp_model_free(m);
}

/* conv (stride-2 'same', relu), BN + fused ReLU, max pool, dropout, conv
 * 'valid', avg pool, flatten, dense with L2, dense. */
static void test_sequential_all_layers(void)
{
    lp_model *m;
    CHECK(lp_model_new("seq", 10, 10, 3, 10, &m) == LAPERM_OK);
    CHECK(lp_add_conv(m, -1, 4, 3, 2, 1, 1, LP_ACT_RELU, 0) > 0);  /* 5x5x4 */
    CHECK(lp_add_bn(m, -1) > 0);
    CHECK(lp_add_relu(m, -1) > 0);
    CHECK(lp_add_dropout(m, -1, 0.3f) > 0);
    CHECK(lp_add_conv(m, -1, 6, 2, 1, 0, 1, LP_ACT_NONE, 0) > 0);  /* 4x4x6 */
    CHECK(lp_add_maxpool(m, -1, 2) > 0);                           /* 2x2x6 */
    CHECK(lp_add_avgpool(m, -1, 2) > 0);                           /* 1x1x6 */
    CHECK(lp_add_flatten(m, -1) > 0);
    CHECK(lp_add_dense(m, -1, 7, 1, LP_ACT_RELU, 1e-2f) > 0);
    CHECK(lp_add_dense(m, -1, 10, 1, LP_ACT_SOFTMAX, 0) > 0);
    check_grads(m, "sequential");
}

/* A residual block as resnet50's: conv, BN, ReLU, conv, BN, 1x1 stride-2
 * shortcut conv, add, ReLU (not fusable: its producer is an Add). */
static void test_residual_block(void)
{
    lp_model *m;
    CHECK(lp_model_new("res", 6, 6, 2, 10, &m) == LAPERM_OK);
    int x = lp_add_conv(m, 0, 3, 3, 1, 1, 1, LP_ACT_NONE, 1e-3f);
    x = lp_add_bn(m, x);
    x = lp_add_relu(m, x);
    int y = lp_add_conv(m, x, 4, 3, 2, 1, 1, LP_ACT_NONE, 1e-3f);
    y = lp_add_bn(m, y);
    y = lp_add_relu(m, y);
    y = lp_add_conv(m, y, 4, 3, 1, 1, 1, LP_ACT_NONE, 1e-3f);
    y = lp_add_bn(m, y);
    int s = lp_add_conv(m, x, 4, 1, 2, 1, 1, LP_ACT_NONE, 1e-3f);
    int a = lp_add_add(m, s, y);
    CHECK(a > 0);
    CHECK(lp_add_relu(m, a) > 0);
    CHECK(lp_add_avgpool(m, -1, 3) > 0);
    CHECK(lp_add_flatten(m, -1) > 0);
    CHECK(lp_add_dense(m, -1, 10, 1, LP_ACT_SOFTMAX, 0) > 0);
    check_grads(m, "residual");
}

/* conv2's pattern: conv, separate ReLU (fused into the conv), BN, and an
 * odd-sized 'same' conv with asymmetric padding on a 1-channel input. */
static void test_conv_relu_bn(void)
{
    lp_model *m;
    CHECK(lp_model_new("crb", 7, 7, 1, 10, &m) == LAPERM_OK);
    CHECK(lp_add_conv(m, -1, 3, 4, 2, 1, 1, LP_ACT_NONE, 1e-3f) > 0); /* 4x4, pads 1/2 */
    CHECK(lp_add_relu(m, -1) > 0);
    CHECK(lp_add_bn(m, -1) > 0);
    CHECK(lp_add_flatten(m, -1) > 0);
    CHECK(lp_add_dense(m, -1, 8, 0, LP_ACT_NONE, 0) > 0);
    CHECK(lp_add_relu(m, -1) > 0);
    CHECK(lp_add_bn(m, -1) > 0);
    CHECK(lp_add_dense(m, -1, 10, 1, LP_ACT_SOFTMAX, 0) > 0);
    check_grads(m, "conv-relu-bn");
}

int main(void)
{
    LP_RUN(test_sequential_all_layers);
    LP_RUN(test_residual_block);
    LP_RUN(test_conv_relu_bn);
    return lp_test_done();
}
