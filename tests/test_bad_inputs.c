/* The bad-input matrix (issue 8), through the CLI: every case must end with
 * exit 1 (runtime) or 2 (usage), exactly one stderr line beginning
 * "laperm: error: " that names the file, flag or layer at fault, no signal,
 * and nothing left under the requested output name (nor a temporary beside
 * it).
 *
 *   test_bad_inputs [mnist|cifar|h5|names|flags|outputs|fulldisk|all]
 *
 * Data sets with one file broken are built in $LAPERM_TEST_TMP/bad/ from
 * $LAPERM_DATA (the unchanged files as symlinks); weight files from the
 * paper's F1.h5 ($LAPERM_SHARED/pretrained, else $LAPERM_DATA/pretrained). */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "cli_run.h"
#include "runtime/h5io.h"

#include <hdf5.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>

static char T[1024];        /* scratch root */
static char DATA[1024];     /* the real data directory */
static char F1[1200];       /* the paper's F1.h5, "" if not found */
static char CONV7[1200];    /* Conv7.h5, "" if not found */

static const char *P(const char *fmt, ...)
{
    static char buf[8][1400];
    static int at;
    at = (at + 1) % 8;
    int n = snprintf(buf[at], sizeof buf[at], "%s/", T);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf[at] + n, sizeof buf[at] - (size_t)n, fmt, ap);
    va_end(ap);
    return buf[at];
}

static int write_all(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static void rm_rf(const char *path)
{
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", path);
}

static void mkdirs(const char *path)
{
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "cannot create %s\n", path);
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

/* An exact CLI.md error: the exit code, one line, the prefix, the needles. */
static void expect_error(cli_result *r, int code, const char *what, const char *needle1,
                         const char *needle2)
{
    CHECK_MSG(r->status == code, "%s: exit %d, expected %d; stderr: %s", what, r->status, code, r->err);
    size_t len = strlen(r->err);
    const char *nl = strchr(r->err, '\n');
    CHECK_MSG(len > 0 && nl == r->err + len - 1, "%s: stderr is not exactly one line: [%s]", what, r->err);
    CHECK_MSG(strncmp(r->err, "laperm: error: ", 15) == 0, "%s: stderr lacks the prefix: [%s]", what,
              r->err);
    if (needle1) CHECK_MSG(strstr(r->err, needle1), "%s: [%s] lacks \"%s\"", what, r->err, needle1);
    if (needle2) CHECK_MSG(strstr(r->err, needle2), "%s: [%s] lacks \"%s\"", what, r->err, needle2);
    cli_free(r);
}

/* Number of entries of dir other than . and .. (-1: no directory). */
static int dir_entries(const char *dir, char *first, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    if (first && cap) first[0] = '\0';
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            if (!n && first) snprintf(first, cap, "%s", e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

/* A fresh, empty output directory for one case. */
static const char *outdir(const char *name)
{
    const char *d = P("out-%s", name);
    rm_rf(d);
    mkdirs(d);
    return d;
}

static void expect_empty(const char *dir, const char *what)
{
    char first[512];
    int n = dir_entries(dir, first, sizeof first);
    CHECK_MSG(n == 0, "%s: %d file(s) left in %s (%s)", what, n, dir, first);
}

/* ---- MNIST ------------------------------------------------------------------- */

static const char *MNIST_FILES[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* A data directory named name whose mnist/<file> holds data[0..n) (a
 * directory when data is NULL and n is 1); the other files link to the
 * real ones. Returns the data directory. */
static const char *mnist_case(const char *name, const char *file, const uint8_t *data, size_t n)
{
    const char *root = P("bad/%s", name);
    char dir[1500], p[1700], real[1700];
    rm_rf(root);
    snprintf(dir, sizeof dir, "%s/mnist", root);
    mkdirs(dir);
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, MNIST_FILES[i]);
        if (strcmp(MNIST_FILES[i], file) == 0) {
            if (!data && n == 1) mkdirs(p);
            else CHECK(write_all(p, data, n));
        } else {
            snprintf(real, sizeof real, "%s/mnist/%s", DATA, MNIST_FILES[i]);
            CHECK(symlink(real, p) == 0);
        }
    }
    static char out[8][1500];
    static int at;
    at = (at + 1) % 8;
    snprintf(out[at], sizeof out[at], "%s", root);
    return out[at];
}

static uint8_t *mnist_file(const char *file, size_t *n)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/mnist/%s", DATA, file);
    uint8_t *b = lp_test_read_file(p, n);
    CHECK_MSG(b != NULL, "cannot read %s", p);
    return b;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* train f2 on data dir d with --out and --history into a fresh directory:
 * must fail naming needle1/needle2, leave nothing. */
static void mnist_expect(const char *name, const char *d, const char *needle1, const char *needle2)
{
    const char *o = outdir(name);
    cli_result r = runf("train --model f2 --max-steps 1 --val-every 0 --quiet --data-dir %s --out %s/w.h5 "
                        "--history %s/h.csv",
                        d, o, o);
    expect_error(&r, 1, name, needle1, needle2);
    expect_empty(o, name);
}

static void test_mnist_files(void)
{
    lp_test_data_dir("mnist");
    size_t ni, nl, ti, tl;
    uint8_t *img = mnist_file("train-images-idx3-ubyte", &ni);
    uint8_t *lab = mnist_file("train-labels-idx1-ubyte", &nl);
    uint8_t *timg = mnist_file("t10k-images-idx3-ubyte", &ti);
    uint8_t *tlab = mnist_file("t10k-labels-idx1-ubyte", &tl);
    if (!img || !lab || !timg || !tlab) goto out;

    /* truncated: the last image short by 100 bytes */
    mnist_expect("mnist-truncated", mnist_case("mnist-truncated", "train-images-idx3-ubyte", img, ni - 100),
                 "train-images-idx3-ubyte: truncated: expected 47040016 bytes", "found 47039916");
    /* oversized: 5 bytes of trailing garbage */
    uint8_t *big = malloc(ni + 5);
    memcpy(big, img, ni);
    memset(big + ni, 0xab, 5);
    mnist_expect("mnist-oversized", mnist_case("mnist-oversized", "train-images-idx3-ubyte", big, ni + 5),
                 "train-images-idx3-ubyte: trailing garbage", "found 47040021");
    free(big);
    /* wrong magic: a labels file with the images' magic */
    uint8_t *m = malloc(tl);
    memcpy(m, tlab, tl);
    put_be32(m, 0x803);
    mnist_expect("mnist-magic", mnist_case("mnist-magic", "t10k-labels-idx1-ubyte", m, tl),
                 "t10k-labels-idx1-ubyte: bad magic: expected 0x00000801", "found 0x00000803");
    /* a label out of range */
    memcpy(m, tlab, tl);
    m[8 + 17] = 10;
    mnist_expect("mnist-label", mnist_case("mnist-label", "t10k-labels-idx1-ubyte", m, tl),
                 "t10k-labels-idx1-ubyte: label 10 of image 17: expected 0..9", NULL);
    memcpy(m, tlab, tl);
    m[8 + 9999] = 255;
    mnist_expect("mnist-label-last", mnist_case("mnist-label-last", "t10k-labels-idx1-ubyte", m, tl),
                 "label 255 of image 9999", NULL);
    free(m);
    /* counts that disagree: 59999 labels (a consistent file) for 60000 images */
    m = malloc(nl);
    memcpy(m, lab, nl);
    put_be32(m + 4, 59999);
    mnist_expect("mnist-count", mnist_case("mnist-count", "train-labels-idx1-ubyte", m, nl - 1),
                 "train-labels-idx1-ubyte: count mismatch: expected 60000 labels", "found 59999");
    /* a header claiming 4 billion images in a small file */
    memcpy(m, timg, 16);
    put_be32(m + 4, 0xffffffffu);
    mnist_expect("mnist-huge-count", mnist_case("mnist-huge-count", "t10k-images-idx3-ubyte", m, 16 + 784),
                 "t10k-images-idx3-ubyte: truncated: expected", NULL);
    /* wrong geometry */
    memcpy(m, timg, 16);
    put_be32(m + 8, 32);
    mnist_expect("mnist-geometry", mnist_case("mnist-geometry", "t10k-images-idx3-ubyte", m, 16),
                 "t10k-images-idx3-ubyte: expected 28x28 images, found 32x28", NULL);
    free(m);
    /* a truncated header, an empty file */
    mnist_expect("mnist-header", mnist_case("mnist-header", "t10k-images-idx3-ubyte", timg, 10),
                 "t10k-images-idx3-ubyte: truncated header: expected at least 16 bytes", "found 10");
    mnist_expect("mnist-empty", mnist_case("mnist-empty", "train-labels-idx1-ubyte", lab, 0),
                 "train-labels-idx1-ubyte: truncated header", "found 0");
    /* a directory where a file should be; a missing file */
    mnist_expect("mnist-dir", mnist_case("mnist-dir", "train-images-idx3-ubyte", NULL, 1),
                 "train-images-idx3-ubyte: not a regular file", NULL);
    const char *d = mnist_case("mnist-missing", "t10k-labels-idx1-ubyte", tlab, tl);
    char p[1700];
    snprintf(p, sizeof p, "%s/mnist/t10k-labels-idx1-ubyte", d);
    unlink(p);
    mnist_expect("mnist-missing", d, "t10k-labels-idx1-ubyte: cannot open: No such file or directory",
                 "laperm fetch mnist");
    /* no data directory at all */
    mnist_expect("mnist-no-dir", P("no-such-data-dir"), "no-such-data-dir/mnist/train-images-idx3-ubyte",
                 "laperm fetch mnist");
    /* eval reads the test files the same way */
    if (F1[0]) {
        cli_result r = runf("eval --model f1 --weights %s --data-dir %s", F1,
                            mnist_case("mnist-eval", "t10k-images-idx3-ubyte", timg, ti - 1));
        expect_error(&r, 1, "eval on a truncated test set", "t10k-images-idx3-ubyte: truncated", NULL);
    }
out:
    free(img);
    free(lab);
    free(timg);
    free(tlab);
}

/* ---- CIFAR-10 ----------------------------------------------------------------- */

#define CIFAR_REC 3073
#define CIFAR_BYTES ((size_t)CIFAR_REC * 10000)

static const char *cifar_case(const char *name, const char *file, const uint8_t *data, size_t n)
{
    static const char *files[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                   "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    const char *root = P("bad/%s", name);
    char dir[1500], p[1700], real[1700];
    rm_rf(root);
    snprintf(dir, sizeof dir, "%s/cifar-10-batches-bin", root);
    mkdirs(dir);
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (strcmp(files[i], file) == 0) {
            CHECK(write_all(p, data, n));
        } else {
            snprintf(real, sizeof real, "%s/cifar-10-batches-bin/%s", DATA, files[i]);
            CHECK(symlink(real, p) == 0);
        }
    }
    static char out[4][1500];
    static int at;
    at = (at + 1) % 4;
    snprintf(out[at], sizeof out[at], "%s", root);
    return out[at];
}

static void cifar_expect(const char *name, const char *d, const char *needle1, const char *needle2)
{
    const char *o = outdir(name);
    cli_result r = runf("train --model conv2 --max-steps 1 --val-every 0 --quiet --data-dir %s --out %s/w.h5",
                        d, o);
    expect_error(&r, 1, name, needle1, needle2);
    expect_empty(o, name);
    rm_rf(d); /* 30 MB each */
}

static void test_cifar_files(void)
{
    lp_test_data_dir("cifar-10-batches-bin");
    char p[1200];
    size_t n;
    snprintf(p, sizeof p, "%s/cifar-10-batches-bin/data_batch_2.bin", DATA);
    uint8_t *b2 = lp_test_read_file(p, &n);
    CHECK_MSG(b2 && n == CIFAR_BYTES, "cannot read %s", p);
    if (!b2 || n != CIFAR_BYTES) {
        free(b2);
        return;
    }
    uint8_t *m = malloc(CIFAR_BYTES + CIFAR_REC);
    memcpy(m, b2, CIFAR_BYTES);
    cifar_expect("cifar-truncated", cifar_case("cifar-truncated", "data_batch_3.bin", m, CIFAR_BYTES - 1),
                 "data_batch_3.bin: size 30729999 is not a multiple of 3073", "expected 30730000 bytes");
    cifar_expect("cifar-short-record", cifar_case("cifar-short-record", "data_batch_1.bin", m, CIFAR_BYTES - CIFAR_REC),
                 "data_batch_1.bin: expected 30730000 bytes (10000 records), found 30726927 (9999 records)", NULL);
    memcpy(m + CIFAR_BYTES, m, CIFAR_REC);
    cifar_expect("cifar-oversized", cifar_case("cifar-oversized", "test_batch.bin", m, CIFAR_BYTES + CIFAR_REC),
                 "test_batch.bin: expected 30730000 bytes (10000 records), found 30733073 (10001 records)", NULL);
    m[(size_t)123 * CIFAR_REC] = 10;
    cifar_expect("cifar-label", cifar_case("cifar-label", "data_batch_2.bin", m, CIFAR_BYTES),
                 "data_batch_2.bin: record 123 (byte offset 377979): label 10, expected 0..9", NULL);
    cifar_expect("cifar-empty", cifar_case("cifar-empty", "data_batch_5.bin", m, 0),
                 "data_batch_5.bin: expected 30730000 bytes (10000 records), found 0", NULL);
    cifar_expect("cifar-no-dir", P("no-such-cifar-dir"), "no-such-cifar-dir/cifar-10-batches-bin/data_batch_1.bin",
                 "laperm fetch cifar10");
    free(m);
    free(b2);
}

/* ---- weight files ---------------------------------------------------------------- */

/* F1.h5 rewritten by our writer after edit(w) (NULL: unchanged). */
static const char *f1_variant(const char *name, void (*edit)(lp_h5_weights *))
{
    lp_h5_weights *w = NULL;
    const char *out = P("%s.h5", name);
    if (lp_h5_read_weights(F1, &w)) {
        CHECK_MSG(0, "%s: %s", F1, laperm_last_error());
        return out;
    }
    if (edit) edit(w);
    CHECK_MSG(lp_h5_write_weights(out, w, NULL, 0) == LAPERM_OK, "%s", laperm_last_error());
    lp_h5_weights_free(w);
    return out;
}

static lp_h5_array *f1_kernel(lp_h5_weights *w)
{
    for (int i = 0; i < w->nlayers; i++)
        if (w->layers[i].nweights > 0) return &w->layers[i].weights[0];
    return NULL;
}

static void edit_nan(lp_h5_weights *w) { f1_kernel(w)->data[7] = NAN; }
static void edit_inf(lp_h5_weights *w) { f1_kernel(w)->data[3] = -INFINITY; }
static void edit_shape(lp_h5_weights *w) { f1_kernel(w)->shape[1] = 5; }
static void edit_rank(lp_h5_weights *w)
{
    lp_h5_array *a = f1_kernel(w);
    a->rank = 3;
    a->shape[0] = 28;
    a->shape[1] = 28;
    a->shape[2] = 10;
}

/* Names are bytes from the file: a layer name with a line break (and a
 * forged second error line) and a wrong shape, so that the error names it. */
static void edit_newline_layer(lp_h5_weights *w)
{
    for (int i = 0; i < w->nlayers; i++)
        if (w->layers[i].nweights > 0)
            snprintf(w->layers[i].name, LP_H5_NAME_MAX, "dense_10\nlaperm: error: forged\r");
    f1_kernel(w)->shape[1] = 5;
}

/* Through libhdf5 itself: delete the kernel, or store it as float64. */
static const char *f1_h5edit(const char *name, int as_f64)
{
    const char *out = f1_variant(name, NULL);
    hid_t f = H5Fopen(out, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(f >= 0);
    if (f < 0) return out;
    const char *ds = "/dense_10/dense_10/kernel:0";
    CHECK(H5Ldelete(f, ds, H5P_DEFAULT) >= 0);
    if (as_f64) {
        hsize_t dims[2] = {784, 10};
        double *v = calloc(784 * 10, sizeof(double));
        hid_t sp = H5Screate_simple(2, dims, NULL);
        hid_t d = H5Dcreate2(f, ds, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        CHECK(d >= 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
        H5Dclose(d);
        H5Sclose(sp);
        free(v);
    }
    CHECK(H5Fclose(f) >= 0);
    return out;
}

static void eval_expect(const char *what, const char *model, const char *weights, const char *needle1,
                        const char *needle2)
{
    cli_result r = runf("eval --model %s --weights %s", model, weights);
    expect_error(&r, 1, what, needle1, needle2);
}

static void test_weight_files(void)
{
    if (!F1[0]) lp_test_data_dir("pretrained/F1.h5"); /* skips (77), or fails in CI */
    /* not HDF5 at all; empty; a directory; missing */
    const char *txt = P("notes.h5");
    CHECK(write_all(txt, "these are not weights\n", 22));
    eval_expect("not HDF5", "f1", txt, txt, "not an HDF5 file");
    const char *empty = P("empty.h5");
    CHECK(write_all(empty, "", 0));
    eval_expect("empty file", "f1", empty, empty, "not an HDF5 file");
    mkdirs(P("adir.h5"));
    eval_expect("a directory", "f1", P("adir.h5"), "adir.h5: is a directory", NULL);
    eval_expect("missing file", "f1", P("missing.h5"), "missing.h5: cannot open: No such file", NULL);
    /* HDF5 but truncated in the middle */
    size_t n;
    uint8_t *b = lp_test_read_file(F1, &n);
    CHECK(b && write_all(P("cut.h5"), b, n / 2));
    free(b);
    eval_expect("truncated HDF5", "f1", P("cut.h5"), P("cut.h5"), NULL);
    /* structure: a missing dataset, float64 instead of float32 */
    eval_expect("missing dataset", "f1", f1_h5edit("nodataset", 0), "layer dense_10: missing dataset dense_10/kernel:0",
                NULL);
    eval_expect("float64 dataset", "f1", f1_h5edit("float64", 1),
                "layer dense_10: dataset dense_10/kernel:0: expected float32, found float64", NULL);
    /* shapes */
    eval_expect("wrong shape", "f1", f1_variant("shape", edit_shape),
                "layer dense_10: dense_10/kernel:0 has shape [784, 5], model f1 expects [784, 10]", NULL);
    eval_expect("wrong rank", "f1", f1_variant("rank", edit_rank),
                "dense_10/kernel:0 has shape [28, 28, 10], model f1 expects [784, 10]", NULL);
    /* values */
    eval_expect("NaN", "f1", f1_variant("nan", edit_nan), "layer dense_10: dense_10/kernel:0 holds NaN or Inf at element 7",
                NULL);
    eval_expect("Inf", "f1", f1_variant("inf", edit_inf), "dense_10/kernel:0 holds NaN or Inf at element 3", NULL);
    /* another model's file, both ways round */
    eval_expect("f1 file for f2", "f2", F1, F1, "1 layers with weights, model f2 has 3");
    if (CONV7[0]) eval_expect("conv7 file for f1", "f1", CONV7, CONV7, "model f1 has 1");
    /* the same checks guard train --init-from, before anything is written */
    const char *o = outdir("init-nan");
    cli_result r = runf("train --model f1 --max-steps 1 --val-every 0 --quiet --init-from %s --out %s/w.h5",
                        P("nan.h5"), o);
    expect_error(&r, 1, "--init-from NaN", "nan.h5: layer dense_10: dense_10/kernel:0 holds NaN or Inf", NULL);
    expect_empty(o, "--init-from NaN");
    /* a weights file is not a checkpoint */
    o = outdir("resume-weights");
    r = runf("train --model f1 --resume %s --out %s/w.h5 --quiet", F1, o);
    expect_error(&r, 1, "--resume from a weights file", F1, "not a laperm checkpoint");
    expect_empty(o, "--resume from a weights file");
}

/* Control characters in names from a file must not break the one-line
 * error (found by fuzz_h5: a weight_names entry holding "\r\n" bytes). */
static void test_names_with_control_characters(void)
{
    if (!F1[0]) lp_test_data_dir("pretrained/F1.h5");
    eval_expect("layer name with a line break", "f1", f1_variant("newline", edit_newline_layer), P("newline.h5"),
                "has shape [784, 5]");
    /* a weight name with a line break, its dataset missing */
    lp_h5_weights *w = NULL;
    if (lp_h5_read_weights(F1, &w) == LAPERM_OK) {
        lp_h5_array *k = f1_kernel(w);
        snprintf(k->name, LP_H5_NAME_MAX, "dense_10/ker\nnel:0");
        CHECK(lp_h5_write_weights(P("newline2.h5"), w, NULL, 0) == LAPERM_OK);
        lp_h5_weights_free(w);
        hid_t f = H5Fopen(P("newline2.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
        CHECK(f >= 0 && H5Ldelete(f, "/dense_10/dense_10/ker\nnel:0", H5P_DEFAULT) >= 0);
        if (f >= 0) H5Fclose(f);
        eval_expect("weight name with a line break", "f1", P("newline2.h5"), P("newline2.h5"), "missing dataset");
        /* the library's own message is one line too (laperm.h's promise),
         * the line break written as an escape */
        lp_h5_weights *w2 = NULL;
        CHECK(lp_h5_read_weights(P("newline2.h5"), &w2) == LAPERM_E_FORMAT && !w2);
        const char *e = laperm_last_error();
        CHECK_MSG(!strchr(e, '\n') && strstr(e, "missing dataset dense_10/ker\\nnel:0"), "message: %s", e);
    }
}

/* ---- flags ----------------------------------------------------------------------- */

static void test_flags(void)
{
    struct { const char *args, *msg1, *msg2; } cases[] = {
        {"train --model nope", "--model: unknown model 'nope'", "conv7"},
        {"eval --model resnet --weights x.h5", "--model: unknown model 'resnet'", NULL},
        {"train", "--model is required", NULL},
        {"train --model f2 --batch 0", "--batch: 0 out of range", NULL},
        {"train --model f2 --batch -5", "--batch: -5 out of range", NULL},
        {"train --model f2 --epochs 1e3", "--epochs: expected an integer, got '1e3'", NULL},
        {"train --model f2 --epochs 99999999999", "--epochs: expected an integer", NULL},
        {"train --model f2 --lr -1", "--lr: -1 out of range", NULL},
        {"train --model f2 --lr nan", "--lr", "nan"},
        {"train --model f2 --lr 0.1x", "--lr: expected a number, got '0.1x'", NULL},
        {"train --model f2 --k 0", "--k: 0 out of range", NULL},
        {"train --model f2 --threads 0", "--threads: 0 out of range", NULL},
        {"train --model f2 --prune 1.5", "--prune: 1.5 out of range", NULL},
        {"train --model f2 --seed -1", "--seed: -1 out of range", NULL},
        {"train --model f2 --val-every -1", "--val-every: -1 out of range", NULL},
        {"train --model f2 --max-steps 0", "--max-steps: 0 out of range", NULL},
        {"train --model f2 --out", "--out: missing value", NULL},
        {"train --model f2 --frobnicate", "unknown option '--frobnicate'", NULL},
        {"train --model f2 --quiet=1", "--quiet takes no value", NULL},
        {"train --model f2 --sync-bias --skip-bias", "--sync-bias and --skip-bias contradict each other", NULL},
        {"train --model f2 --resume a.h5 --init-from b.h5", "--resume and --init-from contradict each other", NULL},
        {"train --model f2 --prune 0.3 --agnostic 0.5", "--prune and --agnostic contradict each other", NULL},
        {"train --model f2 --checkpoint-every 5", "--checkpoint-every needs --out", NULL},
        {"train --model f2 --backend tpu", "--backend", "tpu"},
        {"eval --model f1", "--weights FILE.h5 is required", NULL},
        {"eval --model f1 --weights x.h5 --batch 0", "--batch: 0 out of range", NULL},
        {"frobnicate", "unknown command 'frobnicate'", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* --data-dir right after the subcommand: a usage error must come
         * before any data is read (an empty directory would be a runtime
         * error) */
        const char *o = outdir("flags");
        const char *sp = strchr(cases[i].args, ' ');
        int cmdlen = sp ? (int)(sp - cases[i].args) : (int)strlen(cases[i].args);
        cli_result r = runf("%.*s --data-dir %s%s", cmdlen, cases[i].args, o, sp ? sp : "");
        expect_error(&r, 2, cases[i].args, cases[i].msg1, cases[i].msg2);
        expect_empty(o, cases[i].args);
    }
    /* an instruction set the machine lacks is a runtime error (CLI.md) */
    setenv("LAPERM_ISA", "sparc", 1);
    cli_result r = cli_run("train --model f2 --max-steps 1");
    unsetenv("LAPERM_ISA");
    expect_error(&r, 1, "LAPERM_ISA=sparc", "sparc", NULL);
}

/* ---- outputs ----------------------------------------------------------------------- */

static void test_outputs(void)
{
    lp_test_data_dir("mnist");
    const char *base = "train --model f2 --max-steps 2 --val-every 0 --quiet";
    /* a parent that is a file, a parent that does not exist, a directory name */
    const char *afile = P("afile");
    CHECK(write_all(afile, "x", 1));
    cli_result r = runf("%s --out %s/w.h5", base, afile);
    expect_error(&r, 1, "--out under a file", "afile/w.h5", "Not a directory");
    r = runf("%s --out %s/w.h5", base, P("no/such/dir"));
    expect_error(&r, 1, "--out in a missing directory", "no/such/dir/w.h5", "No such file or directory");
    const char *o = outdir("outdir");
    r = runf("%s --out %s/", base, o);
    expect_error(&r, 1, "--out a directory name", o, "directory");
    expect_empty(o, "--out a directory name");
    /* --history that cannot be written: no CSV and no temporary left */
    o = outdir("history");
    r = runf("%s --history %s/missing/h.csv", base, o);
    expect_error(&r, 1, "--history in a missing directory", "missing/h.csv", NULL);
    expect_empty(o, "--history in a missing directory");
    /* --checkpoint-every into an unwritable place fails at the first checkpoint */
    r = runf("%s --out %s/w.h5 --checkpoint-every 1", base, afile);
    expect_error(&r, 1, "--checkpoint-every under a file", "afile/w.h5", NULL);
}

/* A full disk while writing a checkpoint: ulimit -f makes write() fail with
 * EFBIG (the CLI ignores SIGXFSZ). The error names the file, the old
 * checkpoint stays bitwise as it was, no temporary is left. */
static void test_full_disk(void)
{
    lp_test_data_dir("mnist");
    const char *o = outdir("fulldisk");
    char ck[1500];
    snprintf(ck, sizeof ck, "%s/ck.h5", o);
    cli_result r = runf("train --model f2 --max-steps 2 --val-every 0 --seed 3 --quiet --out %s", ck);
    CHECK_MSG(r.status == 0, "first checkpoint: %s", r.err);
    cli_free(&r);
    size_t n0 = 0;
    uint8_t *before = lp_test_read_file(ck, &n0);
    CHECK(before && n0 > 100000);
    /* 256 blocks (128 to 256 KiB): the f2 checkpoint (about 1.7 MB) does not fit */
    const char *cli = getenv("LAPERM_CLI");
    char args[4096];
    snprintf(args, sizeof args,
             "-c 'ulimit -f 256 && exec %s train --model f2 --max-steps 4 --val-every 0 --seed 4 --quiet "
             "--out %s --checkpoint-every 2'",
             cli ? cli : "./laperm", ck);
    char *saved = cli ? strdup(cli) : NULL;
    setenv("LAPERM_CLI", "/bin/sh", 1);
    r = cli_run(args);
    if (saved) setenv("LAPERM_CLI", saved, 1);
    free(saved);
    expect_error(&r, 1, "full disk", "ck.h5", "File too large");
    size_t n1 = 0;
    uint8_t *after = lp_test_read_file(ck, &n1);
    CHECK_MSG(after && n1 == n0 && memcmp(before, after, n0) == 0, "the old checkpoint changed (%zu -> %zu bytes)",
              n0, n1);
    char first[512];
    int left = dir_entries(o, first, sizeof first);
    CHECK_MSG(left == 1, "%d files in %s (a temporary left? %s)", left, o, first);
    /* and the checkpoint still resumes */
    r = runf("train --model f2 --resume %s --max-steps 3 --quiet --out %s/resumed.h5", ck, o);
    CHECK_MSG(r.status == 0, "resume after a failed write: %s", r.err);
    cli_free(&r);
    free(before);
    free(after);
}

int main(int argc, char **argv)
{
    (void)json_num;
    (void)last_line;
    const char *which = argc > 1 ? argv[1] : "all";
    const char *t = getenv("LAPERM_TEST_TMP");
    snprintf(T, sizeof T, "%s/bad-inputs-%s", t ? t : "/tmp", which);
    mkdirs(T);
    const char *d = getenv("LAPERM_DATA");
    snprintf(DATA, sizeof DATA, "%s", d && *d ? d : "data");
    const char *shared = getenv("LAPERM_SHARED");
    const char *dirs[2] = {shared, DATA};
    for (int i = 0; i < 2 && !F1[0]; i++) {
        if (!dirs[i]) continue;
        snprintf(F1, sizeof F1, "%s/pretrained/F1.h5", dirs[i]);
        snprintf(CONV7, sizeof CONV7, "%s/pretrained/Conv7.h5", dirs[i]);
        if (access(F1, R_OK) != 0) F1[0] = '\0';
        if (access(CONV7, R_OK) != 0) CONV7[0] = '\0';
    }
    int all = strcmp(which, "all") == 0;
    if (all || !strcmp(which, "flags")) LP_RUN(test_flags);
    if (all || !strcmp(which, "h5")) LP_RUN(test_weight_files);
    if (all || !strcmp(which, "names")) LP_RUN(test_names_with_control_characters);
    if (all || !strcmp(which, "mnist")) LP_RUN(test_mnist_files);
    if (all || !strcmp(which, "outputs")) LP_RUN(test_outputs);
    if (all || !strcmp(which, "fulldisk")) LP_RUN(test_full_disk);
    if (all || !strcmp(which, "cifar")) LP_RUN(test_cifar_files);
    return lp_test_done();
}
