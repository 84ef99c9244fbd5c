/* runtime/hdf5/h5io.c: the four pretrained files (layers, shapes, values
 * against h5dump), write/read round trips, atomic writes, and hostile or
 * broken files crafted with the HDF5 API. */
#define _XOPEN_SOURCE 700 /* popen, setenv */

#include "lp_test.h"
#include "h5_util.h"
#include "runtime/h5io.h"
#include "runtime/reconnect.h"

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <time.h>

static const char *tmpd;

static const char *tpath(const char *name)
{
    static char p[8][1200];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpd, name);
    return p[k];
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Orders floats by bit pattern as signed-magnitude: -0.0 before +0.0. */
static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    if (a < b) return -1;
    if (a > b) return 1;
    return (int)signbit(b) - (int)signbit(a);
}

static int have_tool(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* Output of a shell command (at most cap-1 bytes); -1 on failure. */
static int run_capture(const char *cmd, char *buf, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(buf, 1, cap - 1, p);
    buf[n] = '\0';
    int rc = pclose(p);
    return rc;
}

static const lp_h5_layer *find_layer(const lp_h5_weights *w, const char *name)
{
    for (int i = 0; i < w->nlayers; i++)
        if (strcmp(w->layers[i].name, name) == 0) return &w->layers[i];
    return NULL;
}

static int shape_is(const lp_h5_array *a, int rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    int64_t d[4] = {d0, d1, d2, d3};
    if (a->rank != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (a->shape[i] != d[i]) return 0;
    return 1;
}

static int weighted(const lp_h5_weights *w)
{
    int n = 0;
    for (int i = 0; i < w->nlayers; i++) n += w->layers[i].nweights > 0;
    return n;
}

static lp_h5_weights *read_timed(const char *file)
{
    lp_h5_weights *w = NULL;
    double t0 = now_ms();
    laperm_status s = lp_h5_read_weights(t_pretrained(file), &w);
    double t1 = now_ms();
    CHECK_MSG(s == LAPERM_OK, "%s: %s", file, laperm_last_error());
    if (s == LAPERM_OK) printf("     read %-12s %8.2f ms\n", file, t1 - t0);
    return w;
}

/* Every value of dataset `dset` in `file` against h5dump -m %.9g (exact for
 * float32). Returns the number of mismatches, -1 if h5dump failed. */
static long compare_h5dump(const char *file, const char *dset, const lp_h5_array *a)
{
    const char *out = tpath("h5dump.txt");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "h5dump -d '%s' -y -w 0 -m %%.9g -o '%s' '%s' >/dev/null 2>&1", dset,
             out, file);
    if (system(cmd) != 0) return -1;
    FILE *f = fopen(out, "r");
    if (!f) return -1;
    int64_t n = t_count(a), i = 0;
    long bad = 0;
    char tok[64];
    int c, k = 0;
    while (1) {
        c = fgetc(f);
        if (c == EOF || c == ',' || c == ' ' || c == '\n' || c == '\t') {
            if (k) {
                tok[k] = '\0';
                float v = strtof(tok, NULL);
                if (i >= n || memcmp(&v, &a->data[i], 4) != 0) bad++;
                i++;
                k = 0;
            }
            if (c == EOF) break;
        } else if (k < 63) {
            tok[k++] = (char)c;
        }
    }
    fclose(f);
    if (i != n) bad += 1000000;
    return bad;
}

/* Compare every dataset of w (read from file) with h5dump; every `step`th. */
static void check_all_h5dump(const char *file, const lp_h5_weights *w, const char *prefix, int step)
{
    if (!have_tool("h5dump")) {
        printf("     (h5dump not available: value check skipped)\n");
        return;
    }
    int k = 0, done = 0;
    for (int i = 0; i < w->nlayers; i++)
        for (int j = 0; j < w->layers[i].nweights; j++, k++) {
            if (k % step) continue;
            char dset[1024];
            snprintf(dset, sizeof dset, "%s/%s/%s", prefix, w->layers[i].name,
                     w->layers[i].weights[j].name);
            long bad = compare_h5dump(file, dset, &w->layers[i].weights[j]);
            CHECK_MSG(bad == 0, "%s %s: %ld mismatches against h5dump", file, dset, bad);
            done++;
        }
    printf("     %s: %d datasets equal to h5dump's values\n", file, done);
}

/* ---- the pretrained files --------------------------------------------------- */

static void test_conv7(void)
{
    lp_h5_weights *w = read_timed("Conv7.h5");
    if (!w) return;
    CHECK_EQ_INT(w->model_save_layout, 0);
    CHECK_EQ_INT(w->nlayers, 12);
    CHECK_EQ_INT(weighted(w), 8);
    static const char *conv[7] = {"conv2d_14", "conv2d_15", "conv2d_16", "conv2d_17",
                                  "conv2d_18", "conv2d_19", "conv2d_20"};
    static const int64_t ks[7][4] = {{3, 3, 1, 32},  {3, 3, 32, 32}, {5, 5, 32, 32}, {3, 3, 32, 64},
                                     {3, 3, 64, 64}, {5, 5, 64, 64}, {4, 4, 64, 128}};
    int wi = 0;
    for (int i = 0; i < w->nlayers; i++) {
        const lp_h5_layer *L = &w->layers[i];
        if (!L->nweights) continue;
        if (wi < 7) {
            CHECK_MSG(strcmp(L->name, conv[wi]) == 0, "weighted layer %d is %s", wi, L->name);
            CHECK_EQ_INT(L->nweights, 2);
            if (L->nweights == 2) {
                char kn[64], bn[64];
                snprintf(kn, sizeof kn, "%s/kernel:0", conv[wi]);
                snprintf(bn, sizeof bn, "%s/bias:0", conv[wi]);
                CHECK(strcmp(L->weights[0].name, kn) == 0);
                CHECK(strcmp(L->weights[1].name, bn) == 0);
                CHECK(shape_is(&L->weights[0], 4, ks[wi][0], ks[wi][1], ks[wi][2], ks[wi][3]));
                CHECK(shape_is(&L->weights[1], 1, ks[wi][3], 0, 0, 0));
            }
        } else {
            CHECK(strcmp(L->name, "dense_2") == 0);
            CHECK(L->nweights == 2 && shape_is(&L->weights[0], 2, 128, 10, 0, 0) &&
                  shape_is(&L->weights[1], 1, 10, 0, 0, 0));
        }
        wi++;
    }
    /* Order of all 12 layer_names. */
    static const char *names[12] = {"conv2d_14", "conv2d_15", "conv2d_16", "dropout_6",
                                    "conv2d_17", "conv2d_18", "conv2d_19", "dropout_7",
                                    "conv2d_20", "flatten_2", "dropout_8", "dense_2"};
    for (int i = 0; i < 12 && i < w->nlayers; i++) CHECK(strcmp(w->layers[i].name, names[i]) == 0);
    /* Spot values (h5dump -m %.9g). */
    const lp_h5_layer *c1 = find_layer(w, "conv2d_14"), *c7 = find_layer(w, "conv2d_20"),
                      *d = find_layer(w, "dense_2");
    if (c1 && c7 && d) {
        CHECK(c1->weights[0].data[0] == -0.149816871f);
        CHECK(c1->weights[0].data[1] == -0.157259762f);
        CHECK(c1->weights[0].data[2] == 0.736274362f);
        int64_t n7 = t_count(&c7->weights[0]);
        CHECK(c7->weights[0].data[n7 - 3] == -0.0105697215f);
        CHECK(c7->weights[0].data[n7 - 1] == -0.069495514f);
        CHECK(d->weights[1].data[0] == 0.576773405f);
        CHECK(d->weights[1].data[9] == 0.3380059f);
        CHECK(d->weights[0].data[0] == 0.0427361578f);
        CHECK(d->weights[0].data[14] == -0.116049469f);
    }
    check_all_h5dump(t_pretrained("Conv7.h5"), w, "", 1);
    lp_h5_weights_free(w);
}

static void test_f1(void)
{
    lp_h5_weights *w = read_timed("F1.h5");
    if (!w) return;
    CHECK_EQ_INT(w->model_save_layout, 0);
    CHECK_EQ_INT(w->nlayers, 2);
    CHECK_EQ_INT(weighted(w), 1);
    if (w->nlayers == 2) {
        CHECK(strcmp(w->layers[0].name, "flatten_8") == 0 && w->layers[0].nweights == 0);
        const lp_h5_layer *L = &w->layers[1];
        CHECK(strcmp(L->name, "dense_10") == 0);
        CHECK_EQ_INT(L->nweights, 2);
        if (L->nweights == 2) {
            CHECK(shape_is(&L->weights[0], 2, 784, 10, 0, 0));
            CHECK(shape_is(&L->weights[1], 1, 10, 0, 0, 0));
            int zero = 1;
            for (int i = 0; i < 10; i++) zero &= L->weights[1].data[i] == 0.0f;
            CHECK_MSG(zero, "F1 bias is not all zero");
            const float *k = L->weights[0].data;
            /* Row 0: .08 .08 0 .08 .08 0 .08 .08 0 .08; row 783 and 400 too. */
            static const int r0[10] = {1, 1, 0, 1, 1, 0, 1, 1, 0, 1};
            static const int r783[10] = {1, 1, 0, 1, 1, 1, 1, 0, 0, 1};
            static const int r400[10] = {1, 0, 0, 0, 1, 1, 1, 0, 0, 1};
            for (int j = 0; j < 10; j++) {
                CHECK(k[j] == (r0[j] ? 0.0799999982f : 0.0f));
                CHECK(k[783 * 10 + j] == (r783[j] ? 0.0799999982f : 0.0f));
                CHECK(k[400 * 10 + j] == (r400[j] ? 0.0799999982f : 0.0f));
            }
        }
    }
    check_all_h5dump(t_pretrained("F1.h5"), w, "", 1);
    lp_h5_weights_free(w);
}

static void test_f2(void)
{
    lp_h5_weights *w = read_timed("F2.h5");
    if (!w) return;
    CHECK_EQ_INT(w->nlayers, 4);
    CHECK_EQ_INT(weighted(w), 3);
    static const char *names[4] = {"flatten_28", "dense_84", "dense_85", "dense_86"};
    static const int64_t dims[3][2] = {{784, 128}, {128, 64}, {64, 10}};
    for (int i = 0; i < 4 && i < w->nlayers; i++) CHECK(strcmp(w->layers[i].name, names[i]) == 0);
    for (int i = 1; i < 4 && i < w->nlayers; i++) {
        const lp_h5_layer *L = &w->layers[i];
        CHECK_EQ_INT(L->nweights, 2);
        if (L->nweights != 2) continue;
        CHECK(shape_is(&L->weights[0], 2, dims[i - 1][0], dims[i - 1][1], 0, 0));
        CHECK(shape_is(&L->weights[1], 1, dims[i - 1][1], 0, 0, 0));
        int zero = 1;
        for (int64_t j = 0; j < dims[i - 1][1]; j++) zero &= L->weights[1].data[j] == 0.0f;
        CHECK_MSG(zero, "F2 %s bias is not all zero", L->name);
    }
    if (w->nlayers == 4) {
        const float *k1 = w->layers[1].weights[0].data, *k3 = w->layers[3].weights[0].data;
        CHECK(k1[0] == 0.0f && k1[1] == 0.0f);
        CHECK(k1[400 * 128 + 67] == 0.0299999993f);
        CHECK(k3[63 * 10 + 8] == 0.0299999993f && k3[63 * 10 + 9] == 0.0f);
    }
    check_all_h5dump(t_pretrained("F2.h5"), w, "", 1);
    lp_h5_weights_free(w);
}

static void test_resnet50(void)
{
    lp_h5_weights *w = read_timed("resnet50.h5");
    if (!w) return;
    CHECK_EQ_INT(w->model_save_layout, 1);
    CHECK_EQ_INT(w->nlayers, 177);
    int nconv = 0, nbn = 0, ndense = 0, nds = 0;
    for (int i = 0; i < w->nlayers; i++) {
        const lp_h5_layer *L = &w->layers[i];
        nds += L->nweights;
        if (strncmp(L->name, "conv2d_", 7) == 0) {
            nconv++;
            CHECK_EQ_INT(L->nweights, 2);
            if (L->nweights == 2) {
                CHECK(L->weights[0].rank == 4 && L->weights[1].rank == 1 &&
                      L->weights[1].shape[0] == L->weights[0].shape[3]);
            }
        } else if (strncmp(L->name, "batch_normalization_", 20) == 0) {
            nbn++;
            CHECK_EQ_INT(L->nweights, 4);
            if (L->nweights == 4) {
                static const char *sfx[4] = {"/gamma:0", "/beta:0", "/moving_mean:0",
                                             "/moving_variance:0"};
                for (int j = 0; j < 4; j++) {
                    char e[300];
                    snprintf(e, sizeof e, "%s%s", L->name, sfx[j]);
                    CHECK_MSG(strcmp(L->weights[j].name, e) == 0, "%s", L->weights[j].name);
                    CHECK(L->weights[j].rank == 1);
                }
            }
        } else if (strncmp(L->name, "dense_", 6) == 0) {
            ndense++;
        } else {
            CHECK_MSG(L->nweights == 0, "%s has weights", L->name);
        }
    }
    CHECK_EQ_INT(nconv, 51); /* 1 + 3 stacks x 8 blocks x 2 + 2 shortcuts */
    CHECK_EQ_INT(nbn, 49);   /* 1 + 48 */
    CHECK_EQ_INT(ndense, 1);
    CHECK_EQ_INT(nds, 300);  /* 51*2 + 49*4 + 2 */
    CHECK_EQ_INT(weighted(w), 101);
    CHECK(strcmp(w->layers[0].name, "input_5") == 0 && w->layers[0].nweights == 0);
    CHECK(strcmp(w->layers[176].name, "dense_4") == 0);

    /* Stack boundaries: both 3x3 convs of the block precede the 1x1
     * shortcut, which comes right after the second 3x3 conv and before its
     * BatchNormalization. */
    struct { int idx; const char *name; int64_t kh, cin, cout; } at[] = {
        {1, "conv2d_84", 3, 3, 16},    {4, "conv2d_85", 3, 16, 16},
        {60, "conv2d_101", 3, 16, 32}, {63, "conv2d_102", 3, 32, 32},
        {64, "conv2d_103", 1, 16, 32}, {65, "batch_normalization_94", 0, 0, 32},
        {117, "conv2d_118", 3, 32, 64}, {120, "conv2d_119", 3, 64, 64},
        {121, "conv2d_120", 1, 32, 64}, {122, "batch_normalization_110", 0, 0, 64},
        {170, "conv2d_134", 3, 64, 64},
    };
    for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
        const lp_h5_layer *L = &w->layers[at[k].idx];
        CHECK_MSG(strcmp(L->name, at[k].name) == 0, "layer %d is %s, expected %s", at[k].idx, L->name,
                  at[k].name);
        if (at[k].kh && L->nweights == 2)
            CHECK_MSG(shape_is(&L->weights[0], 4, at[k].kh, at[k].kh, at[k].cin, at[k].cout),
                      "%s kernel shape", L->name);
        if (!at[k].kh && L->nweights == 4) CHECK(L->weights[0].shape[0] == at[k].cout);
    }
    /* The first conv of stack 2 is 3x3x16x32 with stride 2 and the shortcut
     * conv reads the block's input (16 channels). */
    const lp_h5_layer *d = find_layer(w, "dense_4");
    CHECK(d && d->nweights == 2 && shape_is(&d->weights[0], 2, 64, 10, 0, 0));
    const lp_h5_layer *c84 = find_layer(w, "conv2d_84"), *bn76 = find_layer(w, "batch_normalization_76"),
                      *c103 = find_layer(w, "conv2d_103"), *bn124 = find_layer(w, "batch_normalization_124");
    if (c84 && bn76 && c103 && bn124 && d && d->nweights == 2) {
        CHECK(c84->weights[0].data[0] == -0.453184932f && c84->weights[0].data[1] == 0.305528551f);
        CHECK(c84->weights[1].data[0] == 0.273642987f && c84->weights[1].data[1] == -0.35224244f);
        CHECK(bn76->weights[3].data[0] == 0.0233693793f && bn76->weights[3].data[1] == 0.09326417f);
        CHECK(bn76->weights[0].data[15] == 0.718182802f);
        CHECK(c103->weights[0].data[15 * 32 + 30] == 0.491276801f);
        CHECK(c103->weights[0].data[15 * 32 + 31] == -0.57932353f);
        CHECK(bn124->weights[2].data[63] == -0.760036707f);
        CHECK(d->weights[1].data[0] == 0.00358474394f && d->weights[1].data[1] == -1.20985246f &&
              d->weights[1].data[9] == -0.0747531131f);
    }
    /* Every 4th of the 300 datasets (h5dump costs ~40 ms a call). */
    check_all_h5dump(t_pretrained("resnet50.h5"), w, "/model_weights", 4);
    lp_h5_weights_free(w);
}

/* Reconnecting a file with itself gives it back bitwise (ties and signed
 * zeros included: F1/F2 are mostly exact zeros); with a reversed copy as the
 * values every vector is still a permutation of the values' vector. */
static void test_reconnect_pretrained(void)
{
    const char *files[4] = {"Conv7.h5", "F1.h5", "F2.h5", "resnet50.h5"};
    for (int i = 0; i < 4; i++) {
        lp_h5_weights *a = NULL, *c = NULL, *rev = NULL;
        CHECK(lp_h5_read_weights(t_pretrained(files[i]), &a) == LAPERM_OK);
        if (!a) continue;
        lp_reconnect_stats st;
        double t0 = now_ms();
        CHECK_MSG(lp_reconnect_ex(a, a, 0, 1, &c, &st) == LAPERM_OK, "%s", laperm_last_error());
        double t1 = now_ms();
        printf("     reconnect %-11s %8.2f ms (%lld vectors, %lld weights)\n", files[i], t1 - t0,
               (long long)st.vectors, (long long)st.weights);
        if (c) {
            char why[512];
            CHECK_MSG(t_weights_equal(a, c, why, sizeof why), "%s: %s", files[i], why);
        }
        lp_h5_weights_free(c);
        c = NULL;
        /* Values: every tensor reversed (so vectors are mixed up). */
        CHECK(lp_h5_weights_clone(a, &rev) == LAPERM_OK);
        for (int l = 0; rev && l < rev->nlayers; l++)
            for (int j = 0; j < rev->layers[l].nweights; j++) {
                lp_h5_array *x = &rev->layers[l].weights[j];
                int64_t n = t_count(x);
                for (int64_t k = 0; k < n / 2; k++) {
                    float tmp = x->data[k];
                    x->data[k] = x->data[n - 1 - k];
                    x->data[n - 1 - k] = tmp;
                }
            }
        if (rev) CHECK(lp_reconnect(a, rev, 1, 0, &c) == LAPERM_OK);
        if (c) {
            long bad = 0;
            for (int l = 0; l < a->nlayers; l++)
                for (int j = 0; j < a->layers[l].nweights; j++) {
                    const lp_h5_array *x = &a->layers[l].weights[j];
                    const float *cv = c->layers[l].weights[j].data, *rv = rev->layers[l].weights[j].data;
                    lp_weight_kind k = lp_weight_kind_of(x->name);
                    int64_t n = t_count(x);
                    if (k != LP_WK_KERNEL) {
                        bad += memcmp(cv, x->data, (size_t)n * 4) != 0;
                        continue;
                    }
                    /* C's vector sorted equals the values' vector sorted. */
                    int64_t nvec = x->shape[x->rank - 1], len = n / nvec;
                    float *p = malloc((size_t)len * 4), *q = malloc((size_t)len * 4);
                    for (int64_t v = 0; v < nvec; v++) {
                        for (int64_t e = 0; e < len; e++) {
                            p[e] = cv[e * nvec + v];
                            q[e] = rv[e * nvec + v];
                        }
                        qsort(p, (size_t)len, 4, cmp_float);
                        qsort(q, (size_t)len, 4, cmp_float);
                        bad += memcmp(p, q, (size_t)len * 4) != 0;
                    }
                    free(p);
                    free(q);
                }
            CHECK_MSG(bad == 0, "%s: %ld vectors are not permutations", files[i], bad);
        }
        lp_h5_weights_free(c);
        lp_h5_weights_free(rev);
        lp_h5_weights_free(a);
    }
}

/* ---- round trips -------------------------------------------------------------- */

static lp_h5_weights *random_weights(t_rng *r)
{
    lp_h5_weights *w = t_new_weights(6);
    int64_t d4[4] = {3, 2, 4, 5}, d2[2] = {7, 3}, d1[1] = {5}, d0[1] = {0}, dz[2] = {4, 0},
            d3[3] = {2, 3, 2};
    t_layer(w, 0, "conv2d_1", 2);
    t_weight(w, 0, 0, "conv2d_1/kernel:0", 4, d4);
    t_weight(w, 0, 1, "conv2d_1/bias:0", 1, d1);
    t_layer(w, 1, "flatten_1", 0);
    t_layer(w, 2, "batch_normalization_1", 4);
    int64_t c[1] = {5};
    t_weight(w, 2, 0, "batch_normalization_1/gamma:0", 1, c);
    t_weight(w, 2, 1, "batch_normalization_1/beta:0", 1, c);
    t_weight(w, 2, 2, "batch_normalization_1/moving_mean:0", 1, c);
    t_weight(w, 2, 3, "batch_normalization_1/moving_variance:0", 1, c);
    t_layer(w, 3, "dense_1", 2);
    t_weight(w, 3, 0, "dense_1/kernel:0", 2, d2);
    t_weight(w, 3, 1, "dense_1/bias:0", 1, (int64_t[]){3});
    t_layer(w, 4, "odd_layer", 4);
    t_weight(w, 4, 0, "odd_layer/scalar:0", 0, d0);
    t_weight(w, 4, 1, "odd_layer/empty:0", 2, dz);
    t_weight(w, 4, 2, "odd_layer/deep/er/rank3:0", 3, d3);
    t_weight(w, 4, 3, "plain_name", 1, (int64_t[]){1});
    t_layer(w, 5, "dense_2", 1);
    t_weight(w, 5, 0, "dense_2/kernel:0", 2, (int64_t[]){3, 1});
    for (int i = 0; i < w->nlayers; i++)
        for (int j = 0; j < w->layers[i].nweights; j++) {
            lp_h5_array *a = &w->layers[i].weights[j];
            int64_t n = t_count(a);
            for (int64_t k = 0; k < n; k++) {
                uint32_t bits = (uint32_t)t_next(r);
                float v;
                memcpy(&v, &bits, 4);
                if (v != v) v = -0.0f; /* no NaN payloads: compare bitwise anyway */
                a->data[k] = t_below(r, 4) ? t_unif(r) * 2 - 1 : v;
            }
        }
    return w;
}

static void test_roundtrip(void)
{
    t_rng r = {12345};
    lp_h5_weights *w = random_weights(&r);
    float f32[5] = {1.5f, -0.0f, 3e38f, 1e-45f, 0};
    double f64[3] = {1e300, -2.5, 0.1};
    int64_t i64[4] = {INT64_MIN, -1, 0, INT64_MAX};
    uint64_t u64[2] = {UINT64_MAX, 42};
    uint8_t u8[3] = {0, 255, 7};
    lp_h5_blob blobs[6] = {
        {"adam_m", LP_H5_F32, 5, f32}, {"zz_first_by_name", LP_H5_F64, 3, f64},
        {"step", LP_H5_I64, 4, i64},   {"rng", LP_H5_U64, 2, u64},
        {"flags", LP_H5_U8, 3, u8},    {"empty", LP_H5_F32, 0, NULL},
    };
    char p[1300];
    snprintf(p, sizeof p, "%s", tpath("rt.h5"));
    laperm_status s = lp_h5_write_weights(p, w, blobs, 6);
    CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());

    lp_h5_weights *b = NULL;
    s = lp_h5_read_weights(p, &b);
    CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
    if (b) {
        char why[512];
        CHECK_MSG(t_weights_equal(w, b, why, sizeof why), "%s", why);
        CHECK_EQ_INT(b->model_save_layout, 0);
    }
    lp_h5_blob *st = NULL;
    int n = -1;
    s = lp_h5_read_state(p, &st, &n);
    CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
    CHECK_EQ_INT(n, 6);
    for (int i = 0; i < n && i < 6; i++) {
        CHECK_MSG(strcmp(st[i].name, blobs[i].name) == 0, "blob %d: %s", i, st[i].name);
        CHECK(st[i].type == blobs[i].type);
        CHECK(st[i].count == blobs[i].count);
        size_t es = blobs[i].type == LP_H5_F32 ? 4 : blobs[i].type == LP_H5_U8 ? 1 : 8;
        if (st[i].count == blobs[i].count && blobs[i].count)
            CHECK(memcmp(st[i].data, blobs[i].data, (size_t)blobs[i].count * es) == 0);
    }
    lp_h5_blobs_free(st, n);

    /* Clone: equal and independent. */
    lp_h5_weights *c = NULL;
    CHECK(lp_h5_weights_clone(w, &c) == LAPERM_OK);
    if (c) {
        char why[512];
        CHECK_MSG(t_weights_equal(w, c, why, sizeof why), "%s", why);
        CHECK(c->layers[0].weights[0].data != w->layers[0].weights[0].data);
        c->layers[0].weights[0].data[0] += 1;
        CHECK(!t_weights_equal(w, c, why, sizeof why));
    }
    lp_h5_weights_free(c);

    /* A file without state: n = 0. */
    s = lp_h5_write_weights(tpath("nostate.h5"), w, NULL, 0);
    CHECK(s == LAPERM_OK);
    st = (lp_h5_blob *)1;
    n = -1;
    CHECK(lp_h5_read_state(tpath("nostate.h5"), &st, &n) == LAPERM_OK && n == 0 && st == NULL);
    CHECK(lp_h5_read_state(t_pretrained("F1.h5"), &st, &n) == LAPERM_OK && n == 0);

    /* The HDF5 tools read the layout; Keras' attributes are as h5py writes. */
    if (have_tool("h5ls") && have_tool("h5dump")) {
        char cmd[2048], out[65536];
        snprintf(cmd, sizeof cmd, "h5ls -r '%s' 2>&1", p);
        int rc = run_capture(cmd, out, sizeof out);
        CHECK_EQ_INT(rc, 0);
        CHECK_STR_CONTAINS(out, "/conv2d_1/conv2d_1/kernel:0 Dataset {3, 2, 4, 5}");
        CHECK_STR_CONTAINS(out, "/odd_layer/odd_layer/deep/er/rank3:0 Dataset {2, 3, 2}");
        CHECK_STR_CONTAINS(out, "/odd_layer/plain_name");
        CHECK_STR_CONTAINS(out, "/odd_layer/odd_layer/scalar:0 Dataset {SCALAR}");
        CHECK_STR_CONTAINS(out, "/laperm_state/step");
        snprintf(cmd, sizeof cmd, "h5dump -A '%s' 2>&1", p);
        rc = run_capture(cmd, out, sizeof out);
        CHECK_EQ_INT(rc, 0);
        CHECK_STR_CONTAINS(out, "\"tensorflow\"");
        CHECK_STR_CONTAINS(out, "\"2.3.1\"");
        CHECK_STR_CONTAINS(out, "STRSIZE 21;"); /* layer_names: fixed, longest name */
        CHECK_STR_CONTAINS(out, "\"conv2d_1\\000\\000\\000");
        CHECK_STR_CONTAINS(out, "STRPAD H5T_STR_NULLPAD;");
        /* flatten_1: weight_names an empty float64 array, like Keras. */
        char *fl = strstr(out, "GROUP \"flatten_1\"");
        CHECK(fl && strstr(fl, "H5T_IEEE_F64LE") && strstr(fl, "SIMPLE { ( 0 ) / ( 0 ) }"));
        snprintf(cmd, sizeof cmd, "h5dump -d /dense_1/dense_1/kernel:0 -y -w 0 -m %%.9g '%s' 2>&1", p);
        rc = run_capture(cmd, out, sizeof out);
        CHECK_EQ_INT(rc, 0);
        CHECK_STR_CONTAINS(out, "H5T_IEEE_F32LE");
        if (b) check_all_h5dump(p, b, "", 1);
    } else {
        printf("     (h5ls/h5dump not available: layout check skipped)\n");
    }
    if (system("python3 -c 'import h5py' >/dev/null 2>&1") == 0) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "python3 -c \"import h5py,sys; f=h5py.File(sys.argv[1],'r'); "
                 "ln=[n.decode() for n in f.attrs['layer_names']]; "
                 "assert ln[0]=='conv2d_1' and len(ln)==6, ln; "
                 "wn=[n.decode() for n in f['dense_1'].attrs['weight_names']]; "
                 "assert f['dense_1'][wn[0]].shape==(7,3)\" '%s'",
                 p);
        CHECK_MSG(system(cmd) == 0, "h5py could not read %s", p);
    } else {
        printf("     (h5py not importable: h5py check skipped)\n");
    }
    lp_h5_weights_free(b);
    lp_h5_weights_free(w);
}

/* Re-writing the pretrained files gives the same weights (save_weights
 * layout, also for resnet50's model.save file). */
static void test_rewrite_pretrained(void)
{
    const char *files[4] = {"Conv7.h5", "F1.h5", "F2.h5", "resnet50.h5"};
    for (int i = 0; i < 4; i++) {
        lp_h5_weights *a = NULL, *b = NULL;
        CHECK(lp_h5_read_weights(t_pretrained(files[i]), &a) == LAPERM_OK);
        if (!a) continue;
        const char *p = tpath("rewrite.h5");
        double t0 = now_ms();
        laperm_status s = lp_h5_write_weights(p, a, NULL, 0);
        double t1 = now_ms();
        CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
        printf("     write %-11s %8.2f ms\n", files[i], t1 - t0);
        CHECK(lp_h5_read_weights(p, &b) == LAPERM_OK);
        if (b) {
            char why[512];
            CHECK_MSG(t_weights_equal(a, b, why, sizeof why), "%s: %s", files[i], why);
            CHECK_EQ_INT(b->model_save_layout, 0);
        }
        lp_h5_weights_free(a);
        lp_h5_weights_free(b);
    }
}

/* More than 64512 bytes of layer names: split into layer_names0, 1, ...
 * like Keras, and read back in order. */
static void test_split_attributes(void)
{
    int n = 3000;
    lp_h5_weights *w = t_new_weights(n);
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "a_rather_long_layer_name_number_%05d", i);
        t_layer(w, i, name, i % 100 == 0 ? 1 : 0);
        if (i % 100 == 0) {
            char wn[128];
            snprintf(wn, sizeof wn, "%s/bias:0", name);
            t_weight(w, i, 0, wn, 1, (int64_t[]){2})->data[1] = (float)i;
        }
    }
    const char *p = tpath("split.h5");
    CHECK_MSG(lp_h5_write_weights(p, w, NULL, 0) == LAPERM_OK, "%s", laperm_last_error());
    lp_h5_weights *b = NULL;
    CHECK_MSG(lp_h5_read_weights(p, &b) == LAPERM_OK, "%s", laperm_last_error());
    if (b) {
        char why[512];
        CHECK_MSG(t_weights_equal(w, b, why, sizeof why), "%s", why);
    }
    if (have_tool("h5dump")) {
        char cmd[2048], out[4096];
        snprintf(cmd, sizeof cmd, "h5dump -A -H '%s' 2>&1 | grep -c 'ATTRIBUTE \"layer_names[0-9]'", p);
        run_capture(cmd, out, sizeof out);
        CHECK_MSG(atoi(out) == 2, "layer_names chunks: %s", out);
    }
    lp_h5_weights_free(w);
    lp_h5_weights_free(b);
}

/* ---- atomic writes ------------------------------------------------------------ */

static int count_entries(const char *dir, const char *skip1, const char *skip2)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if ((skip1 && !strcmp(e->d_name, skip1)) || (skip2 && !strcmp(e->d_name, skip2))) continue;
        n++;
    }
    closedir(d);
    return n;
}

static void test_atomic(void)
{
    t_rng r = {7};
    lp_h5_weights *w = random_weights(&r);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/atomic", tmpd);
    mkdir(dir, 0777);
    char p[1300], bak[1300];
    snprintf(p, sizeof p, "%s/w.h5", dir);
    snprintf(bak, sizeof bak, "%s/../atomic-orig.h5", dir);

    /* Missing directory. */
    char q[1400];
    snprintf(q, sizeof q, "%s/no/such/dir/w.h5", dir);
    laperm_status s = lp_h5_write_weights(q, w, NULL, 0);
    CHECK_EQ_INT(s, LAPERM_E_IO);
    CHECK_STR_CONTAINS(laperm_last_error(), q);
    CHECK_EQ_INT(count_entries(dir, NULL, NULL), 0);

    /* A first file, then replace it: no temporary stays behind. */
    CHECK(lp_h5_write_weights(p, w, NULL, 0) == LAPERM_OK);
    CHECK(lp_h5_write_weights(p, w, NULL, 0) == LAPERM_OK);
    CHECK_EQ_INT(count_entries(dir, "w.h5", NULL), 0);
    /* The file gets the mode creat() would give, not mkstemp's 0600. */
    struct stat sb;
    mode_t um = umask(022);
    umask(um);
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == (0666 & ~um));
    /* Replacing a file keeps its mode. */
    chmod(p, 0640);
    CHECK(lp_h5_write_weights(p, w, NULL, 0) == LAPERM_OK);
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0640);
    t_copy_prefix(p, bak, -1);

    /* A parent that is a regular file. */
    snprintf(q, sizeof q, "%s/w.h5/x.h5", dir);
    s = lp_h5_write_weights(q, w, NULL, 0);
    CHECK_EQ_INT(s, LAPERM_E_IO);
    CHECK(t_file_equal(p, bak));

    /* Failure after the temporary was created (duplicate layer names make
     * HDF5 fail mid-write): the old file is untouched, nothing remains. */
    lp_h5_weights *dup = NULL;
    CHECK(lp_h5_weights_clone(w, &dup) == LAPERM_OK);
    if (dup) {
        snprintf(dup->layers[3].name, LP_H5_NAME_MAX, "%s", dup->layers[0].name);
        s = lp_h5_write_weights(p, dup, NULL, 0);
        CHECK_EQ_INT(s, LAPERM_E_IO);
        CHECK_STR_CONTAINS(laperm_last_error(), "conv2d_1");
        CHECK(t_file_equal(p, bak));
        CHECK_EQ_INT(count_entries(dir, "w.h5", NULL), 0);
    }
    lp_h5_weights_free(dup);

    /* The destination is a directory: rename fails, the temporary goes. */
    char sub[1400];
    snprintf(sub, sizeof sub, "%s/adir", dir);
    mkdir(sub, 0777);
    char inner[1500];
    snprintf(inner, sizeof inner, "%s/keep", sub);
    FILE *f = fopen(inner, "w");
    if (f) fclose(f);
    s = lp_h5_write_weights(sub, w, NULL, 0);
    CHECK_EQ_INT(s, LAPERM_E_IO);
    CHECK(stat(inner, &sb) == 0);
    CHECK_EQ_INT(count_entries(dir, "w.h5", "adir"), 0);

    /* A non-writable directory (root can write anyway: skipped as root). */
    if (geteuid() != 0) {
        chmod(dir, 0555);
        s = lp_h5_write_weights(p, w, NULL, 0);
        CHECK_EQ_INT(s, LAPERM_E_IO);
        CHECK_STR_CONTAINS(laperm_last_error(), "cannot create a temporary file");
        CHECK(t_file_equal(p, bak));
        CHECK_EQ_INT(count_entries(dir, "w.h5", "adir"), 0);
        chmod(dir, 0777);
    } else {
        printf("     (running as root: the non-writable directory case is skipped)\n");
    }

    /* Invalid input is refused before anything is created. */
    lp_h5_weights *bad = NULL;
    CHECK(lp_h5_weights_clone(w, &bad) == LAPERM_OK);
    if (bad) {
        bad->layers[0].weights[0].rank = 5;
        CHECK_EQ_INT(lp_h5_write_weights(p, bad, NULL, 0), LAPERM_E_ARG);
        bad->layers[0].weights[0].rank = 4;
        bad->layers[0].name[0] = '\0';
        CHECK_EQ_INT(lp_h5_write_weights(p, bad, NULL, 0), LAPERM_E_ARG);
        CHECK(t_file_equal(p, bak));
    }
    lp_h5_weights_free(bad);
    lp_h5_weights_free(w);
}

/* ---- broken and hostile files --------------------------------------------------- */

static hid_t mk_file(const char *path)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
}

static void put_strs(hid_t obj, const char *name, const char *const *v, int n, int vlen)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    size_t size = 1;
    for (int i = 0; i < n; i++)
        if (strlen(v[i]) > size) size = strlen(v[i]);
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    if (vlen) {
        H5Tset_size(t, H5T_VARIABLE);
        hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, v);
        H5Aclose(a);
    } else {
        H5Tset_size(t, size);
        H5Tset_strpad(t, H5T_STR_NULLPAD);
        char *buf = calloc((size_t)(n > 0 ? n : 1), size);
        for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * size, v[i], strlen(v[i]));
        hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, buf);
        H5Aclose(a);
        free(buf);
    }
    H5Sclose(sp);
    H5Tclose(t);
}

/* A dataset at loc/path of file type ft, rank dims; data written if given. */
static void put_ds(hid_t loc, const char *path, hid_t ft, int rank, const hsize_t *dims,
                   const void *data, hid_t mt, hid_t dcpl)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(loc, path, ft, sp, lcpl, dcpl, H5P_DEFAULT);
    if (data) H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(d);
    H5Sclose(sp);
    H5Pclose(lcpl);
}

/* A one-layer file "dense_1" with weight_names {kernel, bias}; the kernel as
 * asked, the bias a float32 [3] unless skip_bias. */
static void make_one_layer(const char *path, hid_t ft, int rank, const hsize_t *dims, int write,
                           int skip_bias, int vlen)
{
    hid_t f = mk_file(path);
    const char *ln[1] = {"dense_1"};
    put_strs(f, "layer_names", ln, 1, vlen);
    hid_t g = H5Gcreate2(f, "dense_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char *wn[2] = {"dense_1/kernel:0", "dense_1/bias:0"};
    put_strs(g, "weight_names", wn, 2, vlen);
    hsize_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    void *data = NULL;
    if (write) data = calloc((size_t)n, 8);
    if (write && ft == H5T_IEEE_F32BE)
        for (hsize_t i = 0; i < n; i++) ((float *)data)[i] = (float)i - 0.5f;
    put_ds(g, "dense_1/kernel:0", ft, rank, dims, data,
           H5Tget_size(ft) == 8 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, H5P_DEFAULT);
    free(data);
    if (!skip_bias) {
        float b[3] = {1, 2, 3};
        hsize_t bd[1] = {3};
        put_ds(g, "dense_1/bias:0", H5T_IEEE_F32LE, 1, bd, b, H5T_NATIVE_FLOAT, H5P_DEFAULT);
    }
    H5Gclose(g);
    H5Fclose(f);
}

static void expect_fail(const char *path, laperm_status want, const char *msg1, const char *msg2)
{
    lp_h5_weights *w = (lp_h5_weights *)1;
    laperm_status s = lp_h5_read_weights(path, &w);
    CHECK_MSG(s == want, "%s: status %d, expected %d (%s)", path, (int)s, (int)want,
              laperm_last_error());
    CHECK(w == NULL);
    const char *e = laperm_last_error();
    CHECK_STR_CONTAINS(e, path);
    if (msg1) CHECK_STR_CONTAINS(e, msg1);
    if (msg2) CHECK_STR_CONTAINS(e, msg2);
    CHECK_MSG(!strchr(e, '\n'), "multi-line message: %s", e);
    printf("     %s\n", e);
}

static void test_not_hdf5(void)
{
    const char *p = tpath("text.h5");
    FILE *f = fopen(p, "w");
    fputs("this is not an HDF5 file\n", f);
    fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "not an HDF5 file", NULL);
    p = tpath("empty.h5");
    f = fopen(p, "w");
    fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "not an HDF5 file", NULL);
    expect_fail(tpath("does-not-exist.h5"), LAPERM_E_IO, "cannot open", "No such file");
    expect_fail(tmpd, LAPERM_E_IO, "directory", NULL);
    lp_h5_blob *b = NULL;
    int n = 0;
    CHECK_EQ_INT(lp_h5_read_state(tpath("text.h5"), &b, &n), LAPERM_E_FORMAT);
}

static void test_truncated(void)
{
    const char *src = t_pretrained("F1.h5");
    long size = t_file_size(src);
    CHECK(size > 0);
    const char *p = tpath("F1-half.h5");
    CHECK(t_copy_prefix(src, p, size / 2) == 0);
    expect_fail(p, LAPERM_E_FORMAT, "truncated", NULL);
    /* Cut at many places: never a crash, always a clean error. */
    const char *files[2] = {"F1.h5", "Conv7.h5"};
    for (int k = 0; k < 2; k++) {
        src = t_pretrained(files[k]);
        size = t_file_size(src);
        for (int i = 1; i < 16; i++) {
            CHECK(t_copy_prefix(src, p, size * i / 16) == 0);
            lp_h5_weights *w = NULL;
            laperm_status s = lp_h5_read_weights(p, &w);
            CHECK_MSG(s == LAPERM_E_FORMAT, "%s cut at %ld/16: status %d", files[k], (long)i, (int)s);
            lp_h5_weights_free(w);
        }
    }
}

static void test_missing_dataset(void)
{
    hsize_t d[2] = {4, 3};
    const char *p = tpath("missing-ds.h5");
    make_one_layer(p, H5T_IEEE_F32LE, 2, d, 1, 1, 0);
    expect_fail(p, LAPERM_E_FORMAT, "layer dense_1: missing dataset dense_1/bias:0", NULL);
}

static void test_float64(void)
{
    hsize_t d[2] = {4, 3};
    const char *p = tpath("f64.h5");
    make_one_layer(p, H5T_IEEE_F64LE, 2, d, 1, 0, 0);
    expect_fail(p, LAPERM_E_FORMAT, "dense_1/kernel:0", "expected float32, found float64");
    p = tpath("i32.h5");
    make_one_layer(p, H5T_STD_I32LE, 2, d, 0, 0, 0);
    expect_fail(p, LAPERM_E_FORMAT, "expected float32, found int32", NULL);
}

static void test_rank5(void)
{
    hsize_t d[5] = {1, 2, 1, 2, 3};
    const char *p = tpath("rank5.h5");
    make_one_layer(p, H5T_IEEE_F32LE, 5, d, 1, 0, 0);
    expect_fail(p, LAPERM_E_FORMAT, "dense_1/kernel:0", "expected rank at most 4, found rank 5");
}

static void test_absurd_sizes(void)
{
    /* 2^40 elements declared, nothing stored. */
    hsize_t d[2] = {(hsize_t)1 << 20, (hsize_t)1 << 20};
    const char *p = tpath("huge.h5");
    make_one_layer(p, H5T_IEEE_F32LE, 2, d, 0, 0, 0);
    expect_fail(p, LAPERM_E_FORMAT, "[1048576,1048576] has more than 2^31 elements", NULL);
    /* A dimension of 2^40. */
    hsize_t d1[1] = {(hsize_t)1 << 40};
    p = tpath("huge1.h5");
    make_one_layer(p, H5T_IEEE_F32LE, 1, d1, 0, 0, 0);
    expect_fail(p, LAPERM_E_FORMAT, "more than 2^31 elements", NULL);
    /* 2^30 elements (4 GiB) within the bound but without storage. */
    hsize_t d2[1] = {(hsize_t)1 << 30};
    p = tpath("unwritten.h5");
    make_one_layer(p, H5T_IEEE_F32LE, 1, d2, 0, 0, 0);
    expect_fail(p, LAPERM_E_FORMAT, "stores 0 bytes, its shape needs 4294967296", NULL);
}

static void test_bad_structure(void)
{
    /* No layer_names anywhere. */
    const char *p = tpath("nolayernames.h5");
    hid_t f = mk_file(p);
    H5Gclose(H5Gcreate2(f, "dense_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "missing attribute layer_names", NULL);

    /* A layer named in layer_names without its group. */
    p = tpath("nogroup.h5");
    f = mk_file(p);
    const char *ln[2] = {"dense_1", "dense_2"};
    put_strs(f, "layer_names", ln, 2, 0);
    hid_t g = H5Gcreate2(f, "dense_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    put_strs(g, "weight_names", ln, 0, 0);
    H5Gclose(g);
    H5Fclose(f);
    /* (weight_names with 0 strings: accepted; dense_2 is missing.) */
    expect_fail(p, LAPERM_E_FORMAT, "layer dense_2: missing group", NULL);

    /* weight_names of integers. */
    p = tpath("intnames.h5");
    f = mk_file(p);
    put_strs(f, "layer_names", ln, 1, 0);
    g = H5Gcreate2(f, "dense_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d[1] = {2};
    hid_t sp = H5Screate_simple(1, d, NULL);
    int iv[2] = {1, 2};
    hid_t a = H5Acreate2(g, "weight_names", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT, iv);
    H5Aclose(a);
    H5Sclose(sp);
    H5Gclose(g);
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "attribute weight_names: expected strings, found int32", NULL);

    /* A group without weight_names. */
    p = tpath("noweightnames.h5");
    f = mk_file(p);
    put_strs(f, "layer_names", ln, 1, 0);
    H5Gclose(H5Gcreate2(f, "dense_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "layer dense_1: missing attribute weight_names", NULL);

    /* A name longer than LP_H5_NAME_MAX - 1. */
    char longname[400];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *lnl[1] = {longname};
    p = tpath("longname.h5");
    f = mk_file(p);
    put_strs(f, "layer_names", lnl, 1, 0);
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "399 bytes, expected at most 255", NULL);
    p = tpath("longname-vl.h5");
    f = mk_file(p);
    put_strs(f, "layer_names", lnl, 1, 1);
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "expected at most 255", NULL);

    /* A 2-D layer_names. */
    p = tpath("names2d.h5");
    f = mk_file(p);
    hsize_t d2[2] = {1, 1};
    sp = H5Screate_simple(2, d2, NULL);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 7);
    a = H5Acreate2(f, "layer_names", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, "dense_1");
    H5Aclose(a);
    H5Tclose(t);
    H5Sclose(sp);
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "expected a 1-D array, found rank 2", NULL);

    /* A dataset with a null dataspace. */
    p = tpath("nullspace.h5");
    f = mk_file(p);
    put_strs(f, "layer_names", ln, 1, 0);
    g = H5Gcreate2(f, "dense_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char *wn1[1] = {"k"};
    put_strs(g, "weight_names", wn1, 1, 0);
    sp = H5Screate(H5S_NULL);
    H5Dclose(H5Dcreate2(g, "k", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(sp);
    H5Gclose(g);
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "null dataspace", NULL);

    /* A weight name that is a group, not a dataset. */
    p = tpath("groupnotds.h5");
    f = mk_file(p);
    put_strs(f, "layer_names", ln, 1, 0);
    g = H5Gcreate2(f, "dense_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    put_strs(g, "weight_names", wn1, 1, 0);
    H5Gclose(H5Gcreate2(g, "k", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Gclose(g);
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "dataset k: cannot open as a dataset", NULL);
}

/* Links and storage that would read other files are refused. */
static void test_hostile_links(void)
{
    /* A layer group that is an external link to a valid weights file. */
    const char *target = t_pretrained("F1.h5");
    const char *p = tpath("elink.h5");
    hid_t f = mk_file(p);
    const char *ln[1] = {"dense_10"};
    put_strs(f, "layer_names", ln, 1, 0);
    H5Lcreate_external(target, "/dense_10", f, "dense_10", H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "layer dense_10", NULL);

    /* model_weights as an external link. */
    p = tpath("elink-mw.h5");
    f = mk_file(p);
    H5Lcreate_external(target, "/", f, "model_weights", H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "model_weights", NULL);

    /* A dataset stored in an external raw-data file. */
    p = tpath("extstore.h5");
    f = mk_file(p);
    put_strs(f, "layer_names", ln, 1, 0);
    hid_t g = H5Gcreate2(f, "dense_10", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char *wn[1] = {"k"};
    put_strs(g, "weight_names", wn, 1, 0);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_external(dcpl, target, 0, 40);
    hsize_t d[1] = {10};
    put_ds(g, "k", H5T_IEEE_F32LE, 1, d, NULL, H5T_NATIVE_FLOAT, dcpl);
    H5Pclose(dcpl);
    H5Gclose(g);
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "external raw-data files are not supported", NULL);

    /* A soft-link loop. */
    p = tpath("loop.h5");
    f = mk_file(p);
    put_strs(f, "layer_names", ln, 1, 0);
    H5Lcreate_soft("/dense_10", f, "dense_10", H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "dense_10", NULL);

    /* A compressed dataset declaring far more than its storage can hold. */
    p = tpath("bomb.h5");
    f = mk_file(p);
    put_strs(f, "layer_names", ln, 1, 0);
    g = H5Gcreate2(f, "dense_10", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    put_strs(g, "weight_names", wn, 1, 0);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[1] = {1 << 20};
    H5Pset_chunk(dcpl, 1, chunk);
    H5Pset_deflate(dcpl, 9);
    hsize_t big[1] = {(hsize_t)1 << 30};
    put_ds(g, "k", H5T_IEEE_F32LE, 1, big, NULL, H5T_NATIVE_FLOAT, dcpl);
    H5Pclose(dcpl);
    H5Gclose(g);
    H5Fclose(f);
    expect_fail(p, LAPERM_E_FORMAT, "compressed bytes", NULL);
}

/* Accepted variants: variable-length strings, big-endian floats, the
 * model.save layout, chunked + compressed datasets, scalar datasets. */
static void test_variants(void)
{
    hsize_t d[2] = {4, 3};
    const char *p = tpath("vlen-be.h5");
    make_one_layer(p, H5T_IEEE_F32BE, 2, d, 1, 0, 1);
    lp_h5_weights *w = NULL;
    CHECK_MSG(lp_h5_read_weights(p, &w) == LAPERM_OK, "%s", laperm_last_error());
    if (w) {
        CHECK(w->nlayers == 1 && !strcmp(w->layers[0].name, "dense_1") && w->layers[0].nweights == 2);
        if (w->layers[0].nweights == 2) {
            CHECK(!strcmp(w->layers[0].weights[0].name, "dense_1/kernel:0"));
            CHECK(!strcmp(w->layers[0].weights[1].name, "dense_1/bias:0"));
            CHECK(shape_is(&w->layers[0].weights[0], 2, 4, 3, 0, 0));
            for (int i = 0; i < 12; i++) CHECK(w->layers[0].weights[0].data[i] == (float)i - 0.5f);
            CHECK(w->layers[0].weights[1].data[2] == 3.0f);
        }
    }
    lp_h5_weights_free(w);

    /* model.save layout with a compressed chunked kernel and a scalar. */
    p = tpath("modelsave.h5");
    hid_t f = mk_file(p);
    hid_t mw = H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char *ln[2] = {"input_1", "dense_1"};
    put_strs(mw, "layer_names", ln, 2, 0);
    hid_t g0 = H5Gcreate2(mw, "input_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t z[1] = {0};
    hid_t sp = H5Screate_simple(1, z, NULL);
    H5Aclose(H5Acreate2(g0, "weight_names", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(sp);
    H5Gclose(g0);
    hid_t g = H5Gcreate2(mw, "dense_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const char *wn[2] = {"dense_1/kernel:0", "dense_1/alpha:0"};
    put_strs(g, "weight_names", wn, 2, 0);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[2] = {8, 8}, kd[2] = {100, 10};
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_deflate(dcpl, 6);
    float *k = calloc(1000, sizeof(float));
    for (int i = 0; i < 1000; i++) k[i] = (float)(i % 7);
    put_ds(g, "dense_1/kernel:0", H5T_IEEE_F32LE, 2, kd, k, H5T_NATIVE_FLOAT, dcpl);
    H5Pclose(dcpl);
    sp = H5Screate(H5S_SCALAR);
    float alpha = 0.25f;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t ds = H5Dcreate2(g, "dense_1/alpha:0", H5T_IEEE_F32LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &alpha);
    H5Dclose(ds);
    H5Pclose(lcpl);
    H5Sclose(sp);
    H5Gclose(g);
    H5Gclose(mw);
    H5Fclose(f);
    w = NULL;
    CHECK_MSG(lp_h5_read_weights(p, &w) == LAPERM_OK, "%s", laperm_last_error());
    if (w) {
        CHECK_EQ_INT(w->model_save_layout, 1);
        CHECK(w->nlayers == 2 && w->layers[0].nweights == 0 && w->layers[1].nweights == 2);
        if (w->nlayers == 2 && w->layers[1].nweights == 2) {
            CHECK(memcmp(w->layers[1].weights[0].data, k, 1000 * sizeof(float)) == 0);
            CHECK(w->layers[1].weights[1].rank == 0 && w->layers[1].weights[1].data[0] == 0.25f);
        }
    }
    free(k);
    lp_h5_weights_free(w);
}

static void test_state_errors(void)
{
    const char *p = tpath("badstate.h5");
    hid_t f = mk_file(p);
    hid_t g = H5Gcreate2(f, "laperm_state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d[1] = {3};
    int v[3] = {1, 2, 3};
    put_ds(g, "counts", H5T_STD_I32LE, 1, d, v, H5T_NATIVE_INT, H5P_DEFAULT);
    H5Gclose(g);
    H5Fclose(f);
    lp_h5_blob *b = (lp_h5_blob *)1;
    int n = -1;
    CHECK_EQ_INT(lp_h5_read_state(p, &b, &n), LAPERM_E_FORMAT);
    CHECK(b == NULL && n == 0);
    CHECK_STR_CONTAINS(laperm_last_error(), "laperm_state/counts");
    CHECK_STR_CONTAINS(laperm_last_error(), "found int32");
    /* Name order when creation order is not tracked. */
    p = tpath("state-names.h5");
    f = mk_file(p);
    g = H5Gcreate2(f, "laperm_state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    uint8_t u[3] = {1, 2, 3};
    put_ds(g, "b", H5T_STD_U8LE, 1, d, u, H5T_NATIVE_UINT8, H5P_DEFAULT);
    put_ds(g, "a", H5T_STD_U8LE, 1, (hsize_t[]){2}, u, H5T_NATIVE_UINT8, H5P_DEFAULT);
    H5Gclose(g);
    H5Fclose(f);
    CHECK_MSG(lp_h5_read_state(p, &b, &n) == LAPERM_OK, "%s", laperm_last_error());
    CHECK_EQ_INT(n, 2);
    if (n == 2) CHECK(!strcmp(b[0].name, "a") && !strcmp(b[1].name, "b") && b[0].count == 2);
    lp_h5_blobs_free(b, n);
}

int main(void)
{
    tmpd = t_tmpdir("h5io");
    LP_RUN(test_conv7);
    LP_RUN(test_f1);
    LP_RUN(test_f2);
    LP_RUN(test_resnet50);
    LP_RUN(test_reconnect_pretrained);
    LP_RUN(test_roundtrip);
    LP_RUN(test_rewrite_pretrained);
    LP_RUN(test_split_attributes);
    LP_RUN(test_atomic);
    LP_RUN(test_not_hdf5);
    LP_RUN(test_truncated);
    LP_RUN(test_missing_dataset);
    LP_RUN(test_float64);
    LP_RUN(test_rank5);
    LP_RUN(test_absurd_sizes);
    LP_RUN(test_bad_structure);
    LP_RUN(test_hostile_links);
    LP_RUN(test_variants);
    LP_RUN(test_state_errors);
    return lp_test_done();
}
