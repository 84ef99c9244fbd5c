/* runtime/reconnect.c against an independent O(n^2) implementation on small
 * random weight sets with many ties and signed zeros; the permutation
 * property; skip_bias / include_bn; shape and NaN errors. Needs no HDF5. */
#include "lp_test.h"
#include "h5_util.h"
#include "runtime/reconnect.h"

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* rank of element i within v (len elements at stride): values compared as
 * floats (so -0.0 == +0.0), ties by position. */
static int64_t brute_rank(const float *v, int64_t len, int64_t stride, int64_t i)
{
    int64_t r = 0;
    float x = v[i * stride];
    for (int64_t k = 0; k < len; k++) {
        float y = v[k * stride];
        if (y < x || (y == x && k < i)) r++;
    }
    return r;
}

/* C per the definition: C[i] = the element of B whose rank in B equals
 * rank_A(i). */
static void brute_vector(const float *a, const float *b, float *c, int64_t len, int64_t stride)
{
    for (int64_t i = 0; i < len; i++) {
        int64_t ra = brute_rank(a, len, stride, i);
        for (int64_t m = 0; m < len; m++)
            if (brute_rank(b, len, stride, m) == ra) {
                c[i * stride] = b[m * stride];
                break;
            }
    }
}

static int is_reconnected(const char *name, int skip_bias, int include_bn)
{
    lp_weight_kind k = lp_weight_kind_of(name);
    return k == LP_WK_KERNEL || (k == LP_WK_BIAS && !skip_bias) ||
           (k == LP_WK_BN_AFFINE && include_bn);
}

/* The expected output, tensor by tensor, from the brute-force definition. */
static lp_h5_weights *brute(const lp_h5_weights *A, const lp_h5_weights *B, int skip_bias,
                            int include_bn)
{
    lp_h5_weights *C = t_new_weights(A->nlayers);
    int lb = 0;
    for (int i = 0; i < A->nlayers; i++) {
        const lp_h5_layer *LA = &A->layers[i];
        t_layer(C, i, LA->name, LA->nweights);
        if (!LA->nweights) continue;
        while (B->layers[lb].nweights == 0) lb++;
        const lp_h5_layer *LB = &B->layers[lb++];
        for (int j = 0; j < LA->nweights; j++) {
            const lp_h5_array *a = &LA->weights[j], *b = &LB->weights[j];
            lp_h5_array *c = t_weight(C, i, j, a->name, a->rank, a->shape);
            int64_t n = t_count(a);
            memcpy(c->data, a->data, (size_t)n * sizeof(float));
            if (!is_reconnected(a->name, skip_bias, include_bn) || n == 0) continue;
            int64_t nvec = a->rank <= 1 ? 1 : a->shape[a->rank - 1];
            int64_t len = n / nvec;
            for (int64_t v = 0; v < nvec; v++) brute_vector(a->data + v, b->data + v, c->data + v, len, nvec);
        }
    }
    return C;
}

/* Values drawn from a small set so that ties and both zeros are frequent. */
static float tie_value(t_rng *r)
{
    static const float pool[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 0.25f, -0.25f, 3.0f, 1e-30f, -1e30f};
    if (t_below(r, 3) == 0) return t_unif(r) * 2 - 1;
    return pool[t_below(r, (int)(sizeof pool / sizeof *pool))];
}

/* A model-like set: conv (HWIO), BN, a weightless layer, dense, a rank-3
 * kernel, a scalar, a zero-size kernel. Names per layer prefix. */
static lp_h5_weights *random_set(t_rng *r, const char *pfx)
{
    lp_h5_weights *w = t_new_weights(7);
    char n[7][64], k[128];
    for (int i = 0; i < 7; i++) snprintf(n[i], sizeof n[i], "%s_%d", pfx, i);
    int kh = 1 + t_below(r, 3);
    int64_t d4[4] = {kh, kh, 1 + t_below(r, 3), 2 + t_below(r, 4)};
    t_layer(w, 0, n[0], 2);
    snprintf(k, sizeof k, "%s/kernel:0", n[0]);
    t_weight(w, 0, 0, k, 4, d4);
    snprintf(k, sizeof k, "%s/bias:0", n[0]);
    t_weight(w, 0, 1, k, 1, (int64_t[]){d4[3]});
    t_layer(w, 1, n[1], 4);
    static const char *bn[4] = {"gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"};
    for (int j = 0; j < 4; j++) {
        snprintf(k, sizeof k, "%s/%s", n[1], bn[j]);
        t_weight(w, 1, j, k, 1, (int64_t[]){d4[3]});
    }
    t_layer(w, 2, n[2], 0); /* flatten */
    int64_t d2[2] = {1 + t_below(r, 12), 1 + t_below(r, 5)};
    t_layer(w, 3, n[3], 2);
    snprintf(k, sizeof k, "%s/kernel:0", n[3]);
    t_weight(w, 3, 0, k, 2, d2);
    snprintf(k, sizeof k, "%s/bias:0", n[3]);
    t_weight(w, 3, 1, k, 1, (int64_t[]){d2[1]});
    t_layer(w, 4, n[4], 3);
    snprintf(k, sizeof k, "%s/kernel:0", n[4]);
    t_weight(w, 4, 0, k, 3, (int64_t[]){2, 3, 4});
    snprintf(k, sizeof k, "%s/scale:0", n[4]); /* other: copied */
    t_weight(w, 4, 1, k, 0, NULL);
    snprintf(k, sizeof k, "%s/kernel:1", n[4]);
    t_weight(w, 4, 2, k, 2, (int64_t[]){0, 3});
    t_layer(w, 5, n[5], 0);
    t_layer(w, 6, n[6], 1);
    snprintf(k, sizeof k, "%s/bias:0", n[6]);
    t_weight(w, 6, 0, k, 1, (int64_t[]){1 + t_below(r, 20)});
    for (int i = 0; i < w->nlayers; i++)
        for (int j = 0; j < w->layers[i].nweights; j++) {
            lp_h5_array *a = &w->layers[i].weights[j];
            for (int64_t e = 0; e < t_count(a); e++) a->data[e] = tie_value(r);
        }
    return w;
}

/* B with A's shapes (but its own names, and an extra weightless layer). */
static lp_h5_weights *values_like(t_rng *r, const lp_h5_weights *A)
{
    lp_h5_weights *B = t_new_weights(A->nlayers + 1);
    t_layer(B, 0, "input_1", 0);
    for (int i = 0; i < A->nlayers; i++) {
        const lp_h5_layer *L = &A->layers[i];
        char ln[64];
        snprintf(ln, sizeof ln, "other_%d", i);
        t_layer(B, i + 1, ln, L->nweights);
        for (int j = 0; j < L->nweights; j++) {
            const char *base = strrchr(L->weights[j].name, '/');
            char wn[128];
            snprintf(wn, sizeof wn, "%s%s", ln, base ? base : "/x");
            lp_h5_array *b = t_weight(B, i + 1, j, wn, L->weights[j].rank, L->weights[j].shape);
            for (int64_t e = 0; e < t_count(b); e++) b->data[e] = tie_value(r);
        }
    }
    return B;
}

static int sorted_equal_bits(const float *x, const float *y, int64_t len, int64_t stride)
{
    /* multiset equality of bit patterns: O(n^2) matching */
    char *used = calloc((size_t)(len ? len : 1), 1);
    int ok = 1;
    for (int64_t i = 0; i < len && ok; i++) {
        int found = 0;
        for (int64_t k = 0; k < len; k++)
            if (!used[k] && same_bits(x[i * stride], y[k * stride])) {
                used[k] = 1;
                found = 1;
                break;
            }
        ok = found;
    }
    free(used);
    return ok;
}

static void test_against_brute_force(void)
{
    t_rng r = {2024};
    for (int iter = 0; iter < 300; iter++) {
        lp_h5_weights *A = random_set(&r, "a"), *B = values_like(&r, A);
        int skip_bias = iter % 2, include_bn = (iter / 2) % 2;
        lp_h5_weights *C = NULL, *E = brute(A, B, skip_bias, include_bn);
        lp_reconnect_stats st;
        laperm_status s = lp_reconnect_ex(A, B, skip_bias, include_bn, &C, &st);
        CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
        if (C) {
            char why[512];
            CHECK_MSG(t_weights_equal(C, E, why, sizeof why), "iter %d: %s", iter, why);
            /* Permutation property, vector by vector (bitwise). */
            int lb = 0;
            for (int i = 0; i < A->nlayers; i++) {
                if (!A->layers[i].nweights) continue;
                while (B->layers[lb].nweights == 0) lb++;
                const lp_h5_layer *LB = &B->layers[lb++];
                for (int j = 0; j < A->layers[i].nweights; j++) {
                    const lp_h5_array *a = &A->layers[i].weights[j];
                    if (!is_reconnected(a->name, skip_bias, include_bn)) continue;
                    int64_t n = t_count(a);
                    if (!n) continue;
                    int64_t nvec = a->rank <= 1 ? 1 : a->shape[a->rank - 1];
                    for (int64_t v = 0; v < nvec; v++)
                        CHECK(sorted_equal_bits(C->layers[i].weights[j].data + v,
                                                LB->weights[j].data + v, n / nvec, nvec));
                }
            }
            /* Stats: count what brute force reconnects. */
            int64_t tensors = 0, vectors = 0, weights = 0;
            for (int i = 0; i < A->nlayers; i++)
                for (int j = 0; j < A->layers[i].nweights; j++) {
                    const lp_h5_array *a = &A->layers[i].weights[j];
                    int64_t n = t_count(a);
                    if (!is_reconnected(a->name, skip_bias, include_bn) || !n) continue;
                    tensors++;
                    vectors += a->rank <= 1 ? 1 : a->shape[a->rank - 1];
                    weights += n;
                }
            CHECK_EQ_INT(st.tensors, tensors);
            CHECK_EQ_INT(st.vectors, vectors);
            CHECK_EQ_INT(st.weights, weights);
            /* Output in A's layout and names. */
            CHECK_EQ_INT(C->nlayers, A->nlayers);
            CHECK(strcmp(C->layers[0].name, "a_0") == 0);
            CHECK(strcmp(C->layers[0].weights[0].name, "a_0/kernel:0") == 0);
        }
        lp_h5_weights_free(A);
        lp_h5_weights_free(B);
        lp_h5_weights_free(C);
        lp_h5_weights_free(E);
    }
}

/* Hand-checked cases. */
static void test_small_cases(void)
{
    lp_h5_weights *A = t_new_weights(1), *B = t_new_weights(1), *C = NULL;
    t_layer(A, 0, "d", 2);
    t_layer(B, 0, "e", 2);
    /* Dense [3,2]: column 0 = {3,1,2}, column 1 = {0,-0,0} (ties). */
    float ka[6] = {3, 0.0f, 1, -0.0f, 2, 0.0f};
    float kb[6] = {10, 5, 30, -0.0f, 20, 0.0f};
    lp_h5_array *a = t_weight(A, 0, 0, "d/kernel:0", 2, (int64_t[]){3, 2});
    lp_h5_array *b = t_weight(B, 0, 0, "e/kernel:0", 2, (int64_t[]){3, 2});
    memcpy(a->data, ka, sizeof ka);
    memcpy(b->data, kb, sizeof kb);
    float ba[3] = {-1, 7, -0.0f}, bb[3] = {4, 6, 5};
    a = t_weight(A, 0, 1, "d/bias:0", 1, (int64_t[]){3});
    b = t_weight(B, 0, 1, "e/bias:0", 1, (int64_t[]){3});
    memcpy(a->data, ba, sizeof ba);
    memcpy(b->data, bb, sizeof bb);
    CHECK(lp_reconnect(A, B, 0, 0, &C) == LAPERM_OK);
    if (C) {
        const float *k = C->layers[0].weights[0].data, *bias = C->layers[0].weights[1].data;
        /* column 0: A ranks {2,0,1} -> B sorted {10,20,30} -> {30,10,20} */
        CHECK(k[0] == 30 && k[2] == 10 && k[4] == 20);
        /* column 1: A all equal -> ranks by position {0,1,2}; B {5,-0,+0}
         * sorted with ties by position: -0 (idx 1), +0 (idx 2), 5. */
        CHECK(same_bits(k[1], -0.0f) && same_bits(k[3], 0.0f) && k[5] == 5);
        /* bias: A {-1,7,-0} ranks {0,2,1} -> {4,6,5} sorted {4,5,6} -> {4,6,5} */
        CHECK(bias[0] == 4 && bias[1] == 6 && bias[2] == 5);
        CHECK(strcmp(C->layers[0].name, "d") == 0);
    }
    lp_h5_weights_free(C);
    /* skip_bias: the bias is A's, bitwise. */
    CHECK(lp_reconnect(A, B, 1, 0, &C) == LAPERM_OK);
    if (C) {
        CHECK(memcmp(C->layers[0].weights[1].data, ba, sizeof ba) == 0);
        CHECK(C->layers[0].weights[0].data[0] == 30);
    }
    lp_h5_weights_free(C);
    lp_h5_weights_free(A);
    lp_h5_weights_free(B);
}

/* Conv HWIO: one vector per output filter, flattened (kh,kw,cin), stride
 * cout. With B = A shifted per filter, C = B exactly. */
static void test_conv_vectors(void)
{
    t_rng r = {99};
    int64_t d[4] = {2, 3, 4, 5};
    lp_h5_weights *A = t_new_weights(1), *B = t_new_weights(1), *C = NULL;
    t_layer(A, 0, "c", 1);
    t_layer(B, 0, "c", 1);
    lp_h5_array *a = t_weight(A, 0, 0, "c/kernel:0", 4, d);
    lp_h5_array *b = t_weight(B, 0, 0, "c/kernel:0", 4, d);
    for (int i = 0; i < 120; i++) {
        a->data[i] = t_unif(&r);
        b->data[i] = a->data[i] + 100.0f * (float)(i % 5); /* monotone per filter */
    }
    /* Same order within each filter: C = B exactly. */
    CHECK(lp_reconnect(A, B, 0, 0, &C) == LAPERM_OK);
    if (C) CHECK(memcmp(C->layers[0].weights[0].data, b->data, 120 * sizeof(float)) == 0);
    lp_h5_weights_free(C);
    /* Mixing filters would be caught: give filter 0 of B huge values and
     * check they stay in filter 0. */
    for (int i = 0; i < 120; i += 5) b->data[i] = 1e6f + (float)i;
    CHECK(lp_reconnect(A, B, 0, 0, &C) == LAPERM_OK);
    if (C)
        for (int i = 0; i < 120; i++) CHECK((C->layers[0].weights[0].data[i] >= 1e6f) == (i % 5 == 0));
    lp_h5_weights_free(C);
    lp_h5_weights_free(A);
    lp_h5_weights_free(B);
}

static void test_bn_semantics(void)
{
    t_rng r = {5};
    lp_h5_weights *A = random_set(&r, "a"), *B = values_like(&r, A), *C = NULL;
    /* Default: all four BN variables are A's; with include_bn gamma/beta
     * are a permutation of B's, the moving statistics still A's. */
    CHECK(lp_reconnect(A, B, 0, 0, &C) == LAPERM_OK);
    int64_t n = A->layers[1].weights[0].shape[0];
    if (C)
        for (int j = 0; j < 4; j++)
            CHECK(memcmp(C->layers[1].weights[j].data, A->layers[1].weights[j].data, (size_t)n * 4) == 0);
    lp_h5_weights_free(C);
    CHECK(lp_reconnect(A, B, 0, 1, &C) == LAPERM_OK);
    if (C) {
        for (int j = 0; j < 2; j++)
            CHECK(sorted_equal_bits(C->layers[1].weights[j].data, B->layers[2].weights[j].data, n, 1));
        for (int j = 2; j < 4; j++)
            CHECK(memcmp(C->layers[1].weights[j].data, A->layers[1].weights[j].data, (size_t)n * 4) == 0);
        /* "other" weights (scale:0) are A's. */
        CHECK(same_bits(C->layers[4].weights[1].data[0], A->layers[4].weights[1].data[0]));
    }
    lp_h5_weights_free(C);
    lp_h5_weights_free(A);
    lp_h5_weights_free(B);
}

static void test_errors(void)
{
    t_rng r = {77};
    lp_h5_weights *A = random_set(&r, "a"), *B = values_like(&r, A), *C = (lp_h5_weights *)1;
    /* Shape mismatch: names both layers and shapes. */
    B->layers[4].weights[0].shape[1] += 1; /* other_3 kernel [x,y] -> [x,y+1] */
    free(B->layers[4].weights[0].data);
    B->layers[4].weights[0].data = calloc((size_t)t_count(&B->layers[4].weights[0]), 4);
    CHECK_EQ_INT(lp_reconnect(A, B, 0, 0, &C), LAPERM_E_SHAPE);
    CHECK(C == NULL);
    const char *e = laperm_last_error();
    CHECK_STR_CONTAINS(e, "a_3");
    CHECK_STR_CONTAINS(e, "other_3");
    CHECK_STR_CONTAINS(e, "a_3/kernel:0");
    char sa[64], sb[64];
    snprintf(sa, sizeof sa, "[%lld,%lld] (ranks)", (long long)A->layers[3].weights[0].shape[0],
             (long long)A->layers[3].weights[0].shape[1]);
    snprintf(sb, sizeof sb, "[%lld,%lld] (values", (long long)A->layers[3].weights[0].shape[0],
             (long long)A->layers[3].weights[0].shape[1] + 1);
    CHECK_STR_CONTAINS(e, sa);
    CHECK_STR_CONTAINS(e, sb);
    printf("     %s\n", e);
    lp_h5_weights_free(B);

    /* Layer count mismatch. */
    B = values_like(&r, A);
    B->layers[7].nweights = 0; /* other_6: drop its weights */
    CHECK_EQ_INT(lp_reconnect(A, B, 0, 0, &C), LAPERM_E_SHAPE);
    CHECK_STR_CONTAINS(laperm_last_error(), "have 5 layers with weights, the values weights 4");
    B->layers[7].nweights = 1;
    lp_h5_weights_free(B);

    /* NaN in A or B: an error, also in a bias unless skipped. */
    B = values_like(&r, A);
    A->layers[0].weights[0].data[1] = NAN;
    CHECK_EQ_INT(lp_reconnect(A, B, 0, 0, &C), LAPERM_E_DIVERGED);
    CHECK_STR_CONTAINS(laperm_last_error(), "NaN");
    CHECK_STR_CONTAINS(laperm_last_error(), "a_0/kernel:0");
    A->layers[0].weights[0].data[1] = 0;
    B->layers[0 + 1].weights[1].data[0] = NAN; /* bias */
    CHECK_EQ_INT(lp_reconnect(A, B, 0, 0, &C), LAPERM_E_DIVERGED);
    CHECK_STR_CONTAINS(laperm_last_error(), "values");
    CHECK_EQ_INT(lp_reconnect(A, B, 1, 0, &C), LAPERM_OK); /* skipped bias: copied from A */
    lp_h5_weights_free(C);
    /* NaN in a BN moving statistic is copied, not an error. */
    B->layers[1].weights[1].data[0] = 0;
    A->layers[1].weights[3].data[0] = NAN;
    CHECK_EQ_INT(lp_reconnect(A, B, 0, 1, &C), LAPERM_OK);
    lp_h5_weights_free(C);
    C = NULL;
    CHECK_EQ_INT(lp_reconnect(A, NULL, 0, 0, &C), LAPERM_E_ARG);
    lp_h5_weights_free(A);
    lp_h5_weights_free(B);
}

static void test_kind(void)
{
    CHECK(lp_weight_kind_of("conv2d_1/kernel:0") == LP_WK_KERNEL);
    CHECK(lp_weight_kind_of("kernel") == LP_WK_KERNEL);
    CHECK(lp_weight_kind_of("dense/bias:12") == LP_WK_BIAS);
    CHECK(lp_weight_kind_of("bn/gamma:0") == LP_WK_BN_AFFINE);
    CHECK(lp_weight_kind_of("bn/beta:0") == LP_WK_BN_AFFINE);
    CHECK(lp_weight_kind_of("bn/moving_mean:0") == LP_WK_BN_STAT);
    CHECK(lp_weight_kind_of("bn/moving_variance:0") == LP_WK_BN_STAT);
    CHECK(lp_weight_kind_of("x/depthwise_kernel:0") == LP_WK_OTHER);
    CHECK(lp_weight_kind_of("x/kernel_x:0") == LP_WK_OTHER);
    CHECK(lp_weight_kind_of("kernel/x:0") == LP_WK_OTHER);
}

/* Without HDF5 every h5io call says so (with HDF5: test_h5io). */
static void test_h5_unavailable(void)
{
#ifndef LP_WITH_HDF5
    lp_h5_weights *w = (lp_h5_weights *)1;
    CHECK_EQ_INT(lp_h5_read_weights("x.h5", &w), LAPERM_E_UNSUPPORTED);
    CHECK(w == NULL);
    CHECK_STR_CONTAINS(laperm_last_error(), "HDF5 support not compiled in (LAPERM_WITH_HDF5=OFF)");
    lp_h5_weights *x = t_new_weights(0);
    CHECK_EQ_INT(lp_h5_write_weights("x.h5", x, NULL, 0), LAPERM_E_UNSUPPORTED);
    CHECK_EQ_INT(lp_h5_weights_clone(x, &w), LAPERM_E_UNSUPPORTED);
    lp_h5_blob *b = NULL;
    int n = 1;
    CHECK_EQ_INT(lp_h5_read_state("x.h5", &b, &n), LAPERM_E_UNSUPPORTED);
    CHECK(n == 0 && b == NULL);
    lp_h5_weights_free(x);
    CHECK(access("x.h5", F_OK) != 0);
#else
    printf("     (HDF5 compiled in: see test_h5io)\n");
#endif
}

int main(void)
{
    LP_RUN(test_h5_unavailable);
    LP_RUN(test_kind);
    LP_RUN(test_small_cases);
    LP_RUN(test_conv_vectors);
    LP_RUN(test_bn_semantics);
    LP_RUN(test_errors);
    LP_RUN(test_against_brute_force);
    return lp_test_done();
}
