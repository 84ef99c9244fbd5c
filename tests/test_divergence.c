/* Divergence (issue 8): NaN or Inf in the loss or in the weights stops
 * training with exit 1 and one error line naming the step (and, for the
 * weights, the variable), and the last good checkpoint under --out stays
 * bitwise as it was.
 *
 *   loss:     --init-from a file of huge weights: the first forward pass
 *             overflows, "training diverged at step 1: loss is nan; first
 *             non-finite output: dense (Dense)" (the first layer, in forward
 *             order, whose output is NaN or Inf; never "-nan"); and
 *             lp_model_first_nonfinite_output on a small model, layer by
 *             layer;
 *   weights:  --resume from a checkpoint whose Adam second moment holds NaN:
 *             the first update makes a kernel NaN, caught by the validation
 *             of that step ("NaN or Inf in dense/kernel:0"), by the next
 *             sync, or, without validation, before anything is written. */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "cli_run.h"
#include "runtime/dispatch.h"
#include "runtime/h5io.h"
#include "runtime/model.h"

#include <hdf5.h>

#include <stdarg.h>

static char T[1024];

static const char *P(const char *name)
{
    static char buf[8][1200];
    static int at;
    at = (at + 1) % 8;
    snprintf(buf[at], sizeof buf[at], "%s/%s", T, name);
    return buf[at];
}

static int copy_file(const char *from, const char *to)
{
    size_t n;
    uint8_t *b = lp_test_read_file(from, &n);
    FILE *f = b ? fopen(to, "wb") : NULL;
    int ok = f && fwrite(b, 1, n, f) == n;
    if (f) ok &= fclose(f) == 0;
    free(b);
    return ok;
}

static int same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    uint8_t *x = lp_test_read_file(a, &na), *y = lp_test_read_file(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static cli_result runf(const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return cli_run(args);
}

static void expect_diverged(cli_result *r, const char *what, const char *needle1, const char *needle2)
{
    CHECK_MSG(r->status == 1, "%s: exit %d, expected 1; stderr: %s", what, r->status, r->err);
    size_t len = strlen(r->err);
    CHECK_MSG(len > 0 && strchr(r->err, '\n') == r->err + len - 1, "%s: not one line: [%s]", what, r->err);
    CHECK_MSG(strncmp(r->err, "laperm: error: training diverged at step ", 41) == 0, "%s: [%s]", what, r->err);
    if (needle1) CHECK_MSG(strstr(r->err, needle1), "%s: [%s] lacks \"%s\"", what, r->err, needle1);
    if (needle2) CHECK_MSG(strstr(r->err, needle2), "%s: [%s] lacks \"%s\"", what, r->err, needle2);
    printf("  %s: %s%s", what, r->err, len && r->err[len - 1] == '\n' ? "" : "\n");
}

/* Overwrite every element of dataset name in file with v. */
static void poison_dataset(const char *file, const char *name, float v)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    hid_t sp = d >= 0 ? H5Dget_space(d) : -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    CHECK_MSG(n > 0, "%s: no dataset %s", file, name);
    if (n > 0) {
        float *buf = malloc((size_t)n * sizeof(float));
        for (hssize_t i = 0; i < n; i++) buf[i] = v;
        CHECK(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
        free(buf);
    }
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
}

/* A good f2 checkpoint at step 3 (saved as good.h5 and kept as the
 * reference copy ref.h5). */
static int make_checkpoint(const char *good, const char *extra)
{
    cli_result r = runf("train --model f2 --max-steps 3 --tsize 0 --seed 11 --quiet %s --out %s", extra, good);
    int ok = r.status == 0;
    CHECK_MSG(ok, "good run: %s", r.err);
    cli_free(&r);
    return ok;
}

static void test_loss_diverges(void)
{
    if (!make_checkpoint(P("loss-good.h5"), "--val-every 0")) return;
    CHECK(copy_file(P("loss-good.h5"), P("loss-ref.h5")));
    /* huge (finite) kernels: the file passes the reader's checks, the
     * forward pass overflows */
    lp_h5_weights *w = NULL;
    CHECK(lp_h5_read_weights(P("loss-good.h5"), &w) == LAPERM_OK);
    if (!w) return;
    for (int i = 0; i < w->nlayers; i++)
        for (int j = 0; j < w->layers[i].nweights; j++) {
            lp_h5_array *a = &w->layers[i].weights[j];
            size_t n = 1;
            for (int k = 0; k < a->rank; k++) n *= (size_t)a->shape[k];
            if (a->rank == 2)
                for (size_t e = 0; e < n; e++) a->data[e] = a->data[e] >= 0 ? 3e37f : -3e37f;
        }
    CHECK(lp_h5_write_weights(P("huge.h5"), w, NULL, 0) == LAPERM_OK);
    lp_h5_weights_free(w);
    cli_result r = runf("train --model f2 --max-steps 5 --val-every 0 --quiet --init-from %s --out %s "
                        "--checkpoint-every 1 --history %s",
                        P("huge.h5"), P("loss-good.h5"), P("loss.csv"));
    /* f2 = flatten, dense, dense_1, dense_2: dense's 784-term sums of
     * +-3e37 overflow to Inf (and Inf - Inf makes the NaN loss) */
    expect_diverged(&r, "huge weights", "training diverged at step 1: loss is nan; first non-finite output: dense (Dense)\n",
                    NULL);
    CHECK_MSG(!strstr(r.err, "-nan"), "[%s]", r.err);
    cli_free(&r);
    CHECK_MSG(same_bytes(P("loss-good.h5"), P("loss-ref.h5")), "the last good checkpoint changed");
    CHECK(access(P("loss.csv"), F_OK) != 0);
}

/* lp_model_first_nonfinite_output: input 2x2x1 -> flatten -> dense (4) ->
 * dense_1 (3), batches of 2 images; NaN or Inf planted in one place at a
 * time is found in the first layer whose output it reaches, and only in the
 * images of the last forward pass. */
static void test_first_nonfinite_output(void)
{
    lp_model *m = NULL;
    CHECK(lp_model_new("t", 2, 2, 1, 3, &m) == LAPERM_OK);
    if (!m) return;
    int fl = lp_add_flatten(m, -1), d0 = lp_add_dense(m, -1, 4, 0, LP_ACT_NONE, 0),
        d1 = lp_add_dense(m, -1, 3, 0, LP_ACT_SOFTMAX, 0);
    CHECK(fl == 1 && d0 == 2 && d1 == 3);
    CHECK(lp_model_prepare(m, 2) == LAPERM_OK);
    CHECK(strcmp(m->nodes[d0].name, "dense") == 0 && strcmp(m->nodes[d1].name, "dense_1") == 0);
    const lp_kernels *k = lp_kernels_get();
    lp_var *w0 = &m->vars[m->nodes[d0].var0], *w1 = &m->vars[m->nodes[d1].var0];
    for (size_t i = 0; i < w0->size; i++) w0->w[i] = 0.25f * (float)(i % 5) - 0.5f;
    for (size_t i = 0; i < w1->size; i++) w1->w[i] = 0.125f * (float)(i % 7) - 0.375f;
    float x[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
    lp_model_forward(m, k, x, 2, 0, 1, 1);
    CHECK_EQ_INT(lp_model_first_nonfinite_output(m, 2), -1);
    /* Inf in a kernel of dense_1 */
    w1->w[5] = INFINITY;
    lp_model_forward(m, k, x, 2, 0, 1, 1);
    CHECK_EQ_INT(lp_model_first_nonfinite_output(m, 2), d1);
    /* NaN in dense's kernel as well: dense comes first */
    w0->w[3] = NAN;
    lp_model_forward(m, k, x, 2, 0, 1, 1);
    CHECK_EQ_INT(lp_model_first_nonfinite_output(m, 2), d0);
    w0->w[3] = 0.0f;
    w1->w[5] = 0.0f;
    /* NaN in a pixel of the second image: the input layer, but only when the
     * search covers that image (the flatten view is skipped: input_1 first) */
    x[6] = NAN;
    lp_model_forward(m, k, x, 2, 0, 1, 1);
    CHECK_EQ_INT(lp_model_first_nonfinite_output(m, 2), 0);
    lp_model_forward(m, k, x, 1, 0, 1, 1);
    CHECK_EQ_INT(lp_model_first_nonfinite_output(m, 1), -1);
    lp_model_free(m);
}

/* The Adam second moment of variable 0 (the first kernel) set to NaN in a
 * copy of a checkpoint; resuming must stop at the first step. */
static void resume_poisoned(const char *tag, const char *extra_first, const char *extra_resume,
                            const char *needle1, const char *needle2)
{
    char good[64], bad[64], ref[64], out[64];
    snprintf(good, sizeof good, "%s-good.h5", tag);
    snprintf(bad, sizeof bad, "%s-bad.h5", tag);
    snprintf(ref, sizeof ref, "%s-ref.h5", tag);
    snprintf(out, sizeof out, "%s-out.h5", tag);
    if (!make_checkpoint(P(good), extra_first)) return;
    CHECK(copy_file(P(good), P(bad)));
    poison_dataset(P(bad), "laperm_state/adam_v_0", NAN);
    /* --out: a good checkpoint already there must survive */
    CHECK(copy_file(P(good), P(out)));
    CHECK(copy_file(P(good), P(ref)));
    cli_result r = runf("train --model f2 --resume %s --out %s --quiet %s", P(bad), P(out), extra_resume);
    expect_diverged(&r, tag, needle1, needle2);
    cli_free(&r);
    CHECK_MSG(same_bytes(P(out), P(ref)), "%s: the last good checkpoint under --out changed", tag);
}

static void test_weights_nan_caught_by_validation(void)
{
    /* the resumed run validates every step (the checkpoint's own setting) */
    resume_poisoned("val", "--val-every 1", "--max-steps 10 --checkpoint-every 1", "at step 4: ",
                    "NaN or Inf in dense/kernel:0");
}

static void test_weights_nan_caught_by_sync(void)
{
    /* no validation; the step that makes the kernel NaN is a sync step */
    resume_poisoned("sync", "--val-every 0 --k 4", "--max-steps 10", "at step 4: ", "dense/kernel:0");
}

static void test_weights_nan_before_checkpoint(void)
{
    /* no validation, no sync at step 4, a checkpoint every step: the NaN
     * kernel must not be written over the good checkpoint */
    resume_poisoned("ckpt", "--val-every 0", "--max-steps 10 --checkpoint-every 1", "at step 4", "dense/kernel:0");
}

static void test_weights_nan_at_the_end(void)
{
    /* the last step makes the kernel NaN: no exit 0 with a NaN file */
    resume_poisoned("end", "--val-every 0", "--max-steps 4", "at step 4", "dense/kernel:0");
}

int main(int argc, char **argv)
{
    (void)json_num;
    (void)last_line;
    lp_test_data_dir("mnist");
    const char *t = getenv("LAPERM_TEST_TMP");
    snprintf(T, sizeof T, "%s/divergence", t ? t : "/tmp");
    mkdir(T, 0755);
    const char *which = argc > 1 ? argv[1] : "all";
    int all = !strcmp(which, "all");
    if (all || !strcmp(which, "loss")) LP_RUN(test_first_nonfinite_output);
    if (all || !strcmp(which, "loss")) LP_RUN(test_loss_diverges);
    if (all || !strcmp(which, "validation")) LP_RUN(test_weights_nan_caught_by_validation);
    if (all || !strcmp(which, "sync")) LP_RUN(test_weights_nan_caught_by_sync);
    if (all || !strcmp(which, "checkpoint")) LP_RUN(test_weights_nan_before_checkpoint);
    if (all || !strcmp(which, "end")) LP_RUN(test_weights_nan_at_the_end);
    return lp_test_done();
}
