/* The seven networks: parameter counts (SPEC section 6), shapes, weight
 * order, and the vectorisation LaPerm uses. */
#include "lp_test.h"
#include "models/models.h"
#include "runtime/memory.h"

#include <stdint.h>
#include <string.h>

static void check_count(const char *name, size_t want)
{
    lp_model *m = NULL;
    CHECK(lp_model_build(name, &m) == LAPERM_OK);
    if (!m) return;
    CHECK_MSG(lp_model_total_params(m) == want, "%s: %zu params, SPEC says %zu", name,
              lp_model_total_params(m), want);
    lp_model_free(m);
}

static void test_parameter_counts(void)
{
    check_count("conv7", 325578);
    check_count("conv2", 4304202);
    check_count("conv4", 2429514);
    check_count("conv13", 15001418);
    check_count("resnet50", 763882);
    check_count("f1", 7840);
    check_count("f2", 109184);
}

static void test_trainable_excludes_moving_stats(void)
{
    lp_model *m;
    CHECK(lp_model_build("conv2", &m) == LAPERM_OK);
    /* BN moving mean/var: 2 * (64 + 64 + 256 + 256) = 1280 */
    CHECK_EQ_INT(lp_model_total_params(m) - lp_model_trainable_params(m), 1280);
    lp_model_free(m);
}

static void test_conv7_shapes(void)
{
    lp_model *m;
    CHECK(lp_model_build("conv7", &m) == LAPERM_OK);
    /* 28 -> 26 -> 24 -> 12 (5x5 stride 2 same) -> 10 -> 8 -> 4 -> 1 (4x4 valid) */
    int want_h[] = {26, 24, 12, 10, 8, 4, 1};
    int conv = 0;
    for (int i = 0; i < m->nnodes; i++) {
        if (m->nodes[i].type != LP_CONV2D) continue;
        CHECK_EQ_INT(m->nodes[i].h, want_h[conv]);
        conv++;
    }
    CHECK_EQ_INT(conv, 7);
    /* stride-2 'same' 5x5 on 24: out 12, total pad (12-1)*2+5-24 = 3: top 1, bottom 2 */
    const lp_node *n = &m->nodes[3];
    CHECK_EQ_INT(n->type, LP_CONV2D);
    CHECK_EQ_INT(n->geom.pad_top, 1);
    CHECK_EQ_INT(n->geom.oh, 12);
    const lp_var *last = &m->vars[m->nvars - 2];
    CHECK(strcmp(last->name, "dense/kernel:0") == 0);
    CHECK_EQ_INT(last->shape[0], 128);
    CHECK_EQ_INT(last->shape[1], 10);
    lp_model_free(m);
}

static void test_resnet_weight_order(void)
{
    lp_model *m;
    CHECK(lp_model_build("resnet50", &m) == LAPERM_OK);
    /* Stack 2, block 1, as resnet50.h5 orders it: conv 3x3 16->32 stride 2,
     * BN, conv 3x3 32->32, the 1x1 stride-2 shortcut conv, then the second BN. */
    int seen = 0, order[5], k = 0;
    for (int i = 0; i < m->nnodes && k < 5; i++) {
        const lp_node *n = &m->nodes[i];
        if (n->type == LP_CONV2D && n->filters == 32 && !seen) seen = 1;
        if (seen && (n->type == LP_CONV2D || n->type == LP_BATCHNORM)) order[k++] = i;
    }
    CHECK_EQ_INT(k, 5);
    CHECK_EQ_INT(m->nodes[order[0]].geom.sh, 2);
    CHECK_EQ_INT(m->nodes[order[0]].geom.kh, 3);
    CHECK_EQ_INT(m->nodes[order[1]].type, LP_BATCHNORM);
    CHECK_EQ_INT(m->nodes[order[2]].geom.kh, 3);
    CHECK_EQ_INT(m->nodes[order[3]].geom.kh, 1);
    CHECK_EQ_INT(m->nodes[order[3]].geom.sh, 2);
    CHECK_EQ_INT(m->nodes[order[4]].type, LP_BATCHNORM);
    CHECK_EQ_INT(m->nodes[order[4]].in[0], order[2]); /* BN of the second 3x3 conv */
    CHECK_EQ_INT(m->nodes[m->nnodes - 1].type, LP_DENSE);
    lp_model_free(m);
}

static void test_vectorisation(void)
{
    lp_model *m;
    CHECK(lp_model_build("conv7", &m) == LAPERM_OK);
    /* conv kernel [5,5,32,32]: 32 vectors of 800; dense [128,10]: 10 of 128;
     * bias: one vector */
    const lp_var *k3 = &m->vars[4];
    CHECK_EQ_INT(k3->shape[0], 5);
    CHECK_EQ_INT(k3->nvec, 32);
    CHECK_EQ_INT(k3->len, 800);
    const lp_var *dk = &m->vars[m->nvars - 2], *db = &m->vars[m->nvars - 1];
    CHECK_EQ_INT(dk->nvec, 10);
    CHECK_EQ_INT(dk->len, 128);
    CHECK_EQ_INT(db->nvec, 1);
    CHECK_EQ_INT(db->len, 10);
    lp_model_free(m);
}

/* Every buffer the kernels stream through starts on a 64-byte line: with
 * malloc's 16-byte alignment every zmm load of a weight or activation row
 * split across two lines, and conv13's 4x4 and 2x2 layers ran 1.3-2.2x
 * slower on a Xeon (bench/results/2026-11-27-device-intel-xeon-alignment.md). */
static void test_buffers_aligned(void)
{
    const char *names[] = {"conv7", "conv13", "resnet50", "f2"};
    for (size_t t = 0; t < sizeof names / sizeof names[0]; t++) {
        lp_model *m = NULL;
        CHECK(lp_model_build(names[t], &m) == LAPERM_OK);
        if (!m) continue;
        CHECK(lp_model_prepare(m, 3) == LAPERM_OK);
        for (int i = 0; i < m->nvars; i++) {
            CHECK_MSG(((uintptr_t)m->vars[i].w & 63) == 0, "%s: %s", names[t], m->vars[i].name);
            CHECK_MSG(!m->vars[i].g || ((uintptr_t)m->vars[i].g & 63) == 0, "%s: %s gradient", names[t],
                      m->vars[i].name);
        }
        for (int i = 0; i < m->nnodes; i++) {
            const lp_node *n = &m->nodes[i];
            if (n->aliased) continue;
            CHECK_MSG(((uintptr_t)n->out & 63) == 0, "%s: node %d output", names[t], i);
            CHECK_MSG(!n->dout || ((uintptr_t)n->dout & 63) == 0, "%s: node %d gradient", names[t], i);
        }
        CHECK(m->ws == NULL || ((uintptr_t)m->ws & 63) == 0);
        CHECK(((uintptr_t)m->scratch & 63) == 0);
        lp_model_free(m);
    }
    /* the helpers themselves: sizes that are no multiple of 64, zeroing, overflow */
    float *p = lp_buffer_calloc(7, sizeof(float));
    CHECK(p && ((uintptr_t)p & 63) == 0);
    if (p) CHECK(p[0] == 0.0f && p[6] == 0.0f);
    free(p);
    CHECK(lp_buffer_calloc(SIZE_MAX / 2, 4) == NULL);
    CHECK(lp_buffer_alloc(0) == NULL);
#if defined(__linux__)
    /* 2 MB and more: on a 2 MB boundary, for transparent huge pages */
    const char *hp = getenv("LAPERM_HUGEPAGES");
    if (!(hp && strcmp(hp, "0") == 0)) {
        char *big = lp_buffer_alloc((size_t)3 << 20);
        CHECK(big && ((uintptr_t)big & (((size_t)2 << 20) - 1)) == 0);
        if (big) big[((size_t)3 << 20) - 1] = 1; /* the whole size is usable */
        free(big);
    }
#endif
}

static void test_unknown_model(void)
{
    lp_model *m = NULL;
    CHECK(lp_model_build("vgg99", &m) == LAPERM_E_ARG);
    CHECK_STR_CONTAINS(laperm_last_error(), "vgg99");
    CHECK_STR_CONTAINS(laperm_last_error(), "conv7");
}

static void test_presets(void)
{
    const lp_preset *p = lp_preset_find("conv13");
    CHECK(p && p->k == 1000 && p->batch == 50 && p->skip_bias == 1 && p->preprocess == LP_PRE_RAW);
    CHECK_NEAR(lp_preset_lr(p, 1e-3, 19), 1e-3 * 0.6, 1e-12);
    CHECK_NEAR(lp_preset_lr(p, 1e-3, 20), 1e-3 * 0.36, 1e-12);
    p = lp_preset_find("resnet50");
    CHECK_NEAR(lp_preset_lr(p, 1e-3, 80), 1e-3, 1e-15);
    CHECK_NEAR(lp_preset_lr(p, 1e-3, 81), 1e-4, 1e-15);
    CHECK_NEAR(lp_preset_lr(p, 1e-3, 181), 5e-7, 1e-15);
    p = lp_preset_find("conv7");
    CHECK(p->k == 20 && p->skip_bias == 0 && p->val_every == 100);
    CHECK_NEAR(lp_preset_lr(p, 1e-3, 2), 1e-3 * 0.9025, 1e-12);
    p = lp_preset_find("f2");
    CHECK(p->n_agnostic == 3 && p->agn_b[0] == 15 && p->agn_b[2] == 3 && p->batch == 128);
}

int main(void)
{
    LP_RUN(test_parameter_counts);
    LP_RUN(test_trainable_excludes_moving_stats);
    LP_RUN(test_conv7_shapes);
    LP_RUN(test_resnet_weight_order);
    LP_RUN(test_vectorisation);
    LP_RUN(test_buffers_aligned);
    LP_RUN(test_unknown_model);
    LP_RUN(test_presets);
    return lp_test_done();
}
