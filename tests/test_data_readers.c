/* MNIST and CIFAR-10 readers on the real files (label data), and malformed
 * copies made in $LAPERM_TEST_TMP rejected with a message naming the file
 * and the expected vs found value. Spot values were computed independently
 * from the raw files (python: sum(bytes), od -t u1). The CIFAR-10 reader
 * also runs with a small records-per-file count (lp_cifar10_load_records, as
 * the fuzzer does) on synthetic files: chunked reads, message counts, and
 * every size checked before any file is read. */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "laperm/laperm.h"
#include "runtime/data_cifar_internal.h"

#include <stdint.h>
#include <time.h>
#include <unistd.h>

/* snprintf into an array, checking that nothing was cut. */
#define FMT(buf, ...) CHECK(snprintf((buf), sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

static char tmproot[1024];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long image_sum(const laperm_dataset *d, size_t i)
{
    int h, w, c;
    laperm_dataset_shape(d, &h, &w, &c);
    const uint8_t *p = laperm_dataset_pixels(d, i);
    long s = 0;
    for (int k = 0; k < h * w * c; k++) s += p[k];
    return s;
}

/* ---- real files ---------------------------------------------------------- */

static void test_mnist_real(void)
{
    const char *dir = lp_test_data_dir("mnist");
    laperm_dataset *tr = NULL, *te = NULL;
    double t0 = now();
    laperm_status s = laperm_mnist_load(dir, 1, &tr);
    double t1 = now();
    CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
    if (s) return;
    printf("   MNIST train load: %.3f s\n", t1 - t0);
    CHECK_EQ_INT(laperm_dataset_size(tr), 60000);
    int h, w, c;
    laperm_dataset_shape(tr, &h, &w, &c);
    CHECK(h == 28 && w == 28 && c == 1);
    const int first[5] = {5, 0, 4, 1, 9};
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(laperm_dataset_label(tr, (size_t)i), first[i]);
    CHECK_EQ_INT(image_sum(tr, 0), 27525);
    CHECK_EQ_INT(laperm_dataset_pixels(tr, 0)[14 * 28 + 14], 240);
    CHECK_EQ_INT(laperm_dataset_label(tr, 60000), -1);
    CHECK(laperm_dataset_pixels(tr, 60000) == NULL);

    CHECK_EQ_INT(laperm_mnist_load(dir, 0, &te), LAPERM_OK);
    CHECK_EQ_INT(laperm_dataset_size(te), 10000);
    const int tfirst[5] = {7, 2, 1, 0, 4};
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(laperm_dataset_label(te, (size_t)i), tfirst[i]);
    CHECK_EQ_INT(image_sum(te, 0), 18454);
    /* class counts of the test set (the well-known MNIST figures) */
    int counts[10] = {0};
    for (size_t i = 0; i < 10000; i++) counts[laperm_dataset_label(te, i)]++;
    const int want[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
    for (int k = 0; k < 10; k++) CHECK_EQ_INT(counts[k], want[k]);
    laperm_dataset_free(tr);
    laperm_dataset_free(te);
}

static void test_cifar_real(void)
{
    const char *dir = lp_test_data_dir("cifar-10-batches-bin");
    laperm_dataset *tr = NULL, *te = NULL;
    double t0 = now();
    laperm_status s = laperm_cifar10_load(dir, 1, &tr);
    double t1 = now();
    CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
    if (s) return;
    printf("   CIFAR-10 train load: %.3f s\n", t1 - t0);
    CHECK_EQ_INT(laperm_dataset_size(tr), 50000);
    int h, w, c;
    laperm_dataset_shape(tr, &h, &w, &c);
    CHECK(h == 32 && w == 32 && c == 3);
    const int first[10] = {6, 9, 9, 4, 1, 1, 2, 7, 8, 3};
    for (int i = 0; i < 10; i++) CHECK_EQ_INT(laperm_dataset_label(tr, (size_t)i), first[i]);
    CHECK_EQ_INT(laperm_dataset_label(tr, 49999), 1);
    CHECK_EQ_INT(image_sum(tr, 49999), 405136);
    int counts[10] = {0};
    for (size_t i = 0; i < 50000; i++) counts[laperm_dataset_label(tr, i)]++;
    for (int k = 0; k < 10; k++) CHECK_EQ_INT(counts[k], 5000);

    CHECK_EQ_INT(laperm_cifar10_load(dir, 0, &te), LAPERM_OK);
    CHECK_EQ_INT(laperm_dataset_size(te), 10000);
    const int tfirst[10] = {3, 8, 8, 0, 6, 6, 1, 6, 3, 1};
    for (int i = 0; i < 10; i++) CHECK_EQ_INT(laperm_dataset_label(te, (size_t)i), tfirst[i]);
    CHECK_EQ_INT(image_sum(te, 0), 332962);
    /* HWC: the planes interleaved. Raw record: R(0,0)=158 G=112 B=49; (5,7): 167 115 41 */
    const uint8_t *p = laperm_dataset_pixels(te, 0);
    CHECK(p[0] == 158 && p[1] == 112 && p[2] == 49);
    const uint8_t *q = p + (5 * 32 + 7) * 3;
    CHECK(q[0] == 167 && q[1] == 115 && q[2] == 41);
    int tc[10] = {0};
    for (size_t i = 0; i < 10000; i++) tc[laperm_dataset_label(te, i)]++;
    for (int k = 0; k < 10; k++) CHECK_EQ_INT(tc[k], 1000);
    laperm_dataset_free(tr);
    laperm_dataset_free(te);
}

/* ---- malformed copies -------------------------------------------------------- */

static void spit(const char *dir, const char *name, const uint8_t *buf, size_t n)
{
    char p[4200];
    FMT(p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK_EQ_INT(fwrite(buf, 1, n, f), n);
    fclose(f);
}

static const char *subdir(const char *name)
{
    static char p[4200];
    FMT(p, "%s/%s", tmproot, name);
    mkdir(p, 0777);
    return p;
}

/* Load MNIST test from dir and expect failure s with all the needles. */
static void expect_mnist(const char *dir, laperm_status want, const char *n1, const char *n2)
{
    laperm_dataset *d = (laperm_dataset *)1;
    laperm_status s = laperm_mnist_load(dir, 0, &d);
    CHECK_EQ_INT(s, want);
    CHECK(d == NULL);
    if (n1) CHECK_STR_CONTAINS(laperm_last_error(), n1);
    if (n2) CHECK_STR_CONTAINS(laperm_last_error(), n2);
}

static void test_mnist_malformed(void)
{
    const char *src = lp_test_data_dir("mnist");
    char p[4200];
    size_t ni, nl;
    FMT(p, "%s/t10k-images-idx3-ubyte", src);
    uint8_t *img = lp_test_read_file(p, &ni);
    FMT(p, "%s/t10k-labels-idx1-ubyte", src);
    uint8_t *lab = lp_test_read_file(p, &nl);
    CHECK(img && lab && ni == 7840016 && nl == 10008);
    if (!img || !lab) { free(img); free(lab); return; }

    /* wrong magic in the images */
    const char *d = subdir("mnist-magic");
    img[3] = 0x01;
    spit(d, "t10k-images-idx3-ubyte", img, ni);
    spit(d, "t10k-labels-idx1-ubyte", lab, nl);
    img[3] = 0x03;
    expect_mnist(d, LAPERM_E_FORMAT, "mnist-magic/t10k-images-idx3-ubyte: bad magic",
                 "expected 0x00000803 (IDX images), found 0x00000801");
    /* wrong magic in the labels (the images' magic) */
    d = subdir("mnist-lmagic");
    spit(d, "t10k-images-idx3-ubyte", img, ni);
    spit(d, "t10k-labels-idx1-ubyte", img, 5000);
    expect_mnist(d, LAPERM_E_FORMAT, "mnist-lmagic/t10k-labels-idx1-ubyte: bad magic",
                 "expected 0x00000801");
    /* truncated images */
    d = subdir("mnist-trunc");
    spit(d, "t10k-images-idx3-ubyte", img, ni - 100);
    spit(d, "t10k-labels-idx1-ubyte", lab, nl);
    expect_mnist(d, LAPERM_E_FORMAT, "mnist-trunc/t10k-images-idx3-ubyte: truncated",
                 "expected 7840016 bytes (16-byte header + 10000 images of 28x28), found 7839916");
    /* truncated header */
    d = subdir("mnist-hdr");
    spit(d, "t10k-images-idx3-ubyte", img, 10);
    spit(d, "t10k-labels-idx1-ubyte", lab, nl);
    expect_mnist(d, LAPERM_E_FORMAT, "mnist-hdr/t10k-images-idx3-ubyte: truncated header",
                 "found 10");
    /* trailing garbage after the labels */
    d = subdir("mnist-trail");
    spit(d, "t10k-images-idx3-ubyte", img, ni);
    spit(d, "t10k-labels-idx1-ubyte", lab, nl + 3);
    expect_mnist(d, LAPERM_E_FORMAT, "mnist-trail/t10k-labels-idx1-ubyte: trailing garbage",
                 "expected 10008 bytes (8-byte header + 10000 labels), found 10011");
    /* counts disagree: 9999 labels */
    d = subdir("mnist-count");
    spit(d, "t10k-images-idx3-ubyte", img, ni);
    uint8_t hdr8[8];
    memcpy(hdr8, lab, 8);
    lab[6] = 0x27;
    lab[7] = 0x0f; /* 9999 */
    spit(d, "t10k-labels-idx1-ubyte", lab, nl - 1);
    memcpy(lab, hdr8, 8);
    expect_mnist(d, LAPERM_E_FORMAT, "mnist-count/t10k-labels-idx1-ubyte: count mismatch",
                 "expected 10000 labels");
    /* a label out of range */
    d = subdir("mnist-label");
    spit(d, "t10k-images-idx3-ubyte", img, ni);
    uint8_t keep = lab[8 + 17];
    lab[8 + 17] = 10;
    spit(d, "t10k-labels-idx1-ubyte", lab, nl);
    lab[8 + 17] = keep;
    expect_mnist(d, LAPERM_E_FORMAT, "mnist-label/t10k-labels-idx1-ubyte: label 10 of image 17",
                 "expected 0..9");
    /* wrong geometry */
    d = subdir("mnist-geom");
    img[11] = 27;
    spit(d, "t10k-images-idx3-ubyte", img, ni);
    img[11] = 28;
    spit(d, "t10k-labels-idx1-ubyte", lab, nl);
    expect_mnist(d, LAPERM_E_FORMAT, "mnist-geom/t10k-images-idx3-ubyte: expected 28x28 images, found 27x28",
                 NULL);
    /* a missing file */
    d = subdir("mnist-missing");
    spit(d, "t10k-images-idx3-ubyte", img, ni);
    expect_mnist(d, LAPERM_E_IO, "mnist-missing/t10k-labels-idx1-ubyte: cannot open: No such file or directory",
                 NULL);
    /* the intact copy loads */
    d = subdir("mnist-ok");
    spit(d, "t10k-images-idx3-ubyte", img, ni);
    spit(d, "t10k-labels-idx1-ubyte", lab, nl);
    laperm_dataset *ok = NULL;
    CHECK_EQ_INT(laperm_mnist_load(d, 0, &ok), LAPERM_OK);
    CHECK_EQ_INT(laperm_dataset_size(ok), 10000);
    laperm_dataset_free(ok);
    free(img);
    free(lab);
}

static void expect_cifar(const char *dir, laperm_status want, const char *n1, const char *n2)
{
    laperm_dataset *d = (laperm_dataset *)1;
    laperm_status s = laperm_cifar10_load(dir, 0, &d);
    CHECK_EQ_INT(s, want);
    CHECK(d == NULL);
    if (n1) CHECK_STR_CONTAINS(laperm_last_error(), n1);
    if (n2) CHECK_STR_CONTAINS(laperm_last_error(), n2);
}

static void test_cifar_malformed(void)
{
    const char *src = lp_test_data_dir("cifar-10-batches-bin");
    char p[4200];
    size_t n;
    FMT(p, "%s/test_batch.bin", src);
    uint8_t *buf = lp_test_read_file(p, &n);
    CHECK(buf && n == 30730000);
    if (!buf) return;
    const char *d = subdir("cifar-partial");
    spit(d, "test_batch.bin", buf, n - 1);
    expect_cifar(d, LAPERM_E_FORMAT, "cifar-partial/test_batch.bin: size 30729999 is not a multiple of 3073",
                 "expected 30730000 bytes");
    d = subdir("cifar-short");
    spit(d, "test_batch.bin", buf, n - 3073);
    expect_cifar(d, LAPERM_E_FORMAT, "cifar-short/test_batch.bin: expected 30730000 bytes (10000 records)",
                 "found 30726927 (9999 records)");
    d = subdir("cifar-long");
    spit(d, "test_batch.bin", buf, n);
    {
        char q[4200];
        FMT(q, "%s/test_batch.bin", d);
        FILE *f = fopen(q, "ab");
        CHECK(f != NULL);
        if (f) {
            fwrite(buf, 1, 3073, f);
            fclose(f);
        }
    }
    expect_cifar(d, LAPERM_E_FORMAT, "cifar-long/test_batch.bin: expected 30730000 bytes", "found 30733073");
    d = subdir("cifar-label");
    buf[3 * 3073] = 10;
    spit(d, "test_batch.bin", buf, n);
    buf[3 * 3073] = 0;
    expect_cifar(d, LAPERM_E_FORMAT, "cifar-label/test_batch.bin: record 3", "label 10, expected 0..9");
    d = subdir("cifar-missing");
    expect_cifar(d, LAPERM_E_IO, "cifar-missing/test_batch.bin: cannot open: No such file or directory", NULL);
    /* training set: the first missing batch is named */
    laperm_dataset *ds = NULL;
    CHECK_EQ_INT(laperm_cifar10_load(d, 1, &ds), LAPERM_E_IO);
    CHECK_STR_CONTAINS(laperm_last_error(), "cifar-missing/data_batch_1.bin: cannot open");
    free(buf);
}

/* ---- the reader with a small records-per-file count ------------------------- */

/* Synthetic record r of file k: label (k + r) % 10, pixel bytes a function
 * of (k, r, offset) so that a wrong interleave, record or file shows. */
static uint8_t syn(int k, size_t r, size_t off)
{
    return off == 0 ? (uint8_t)((k + r) % 10) : (uint8_t)(off * 7 + r * 13 + (size_t)k * 101);
}

static void syn_file(const char *dir, const char *name, int k, size_t nrec)
{
    size_t n = nrec * 3073;
    uint8_t *b = malloc(n ? n : 1);
    for (size_t r = 0; r < nrec; r++)
        for (size_t o = 0; o < 3073; o++) b[r * 3073 + o] = syn(k, r, o);
    spit(dir, name, b, n);
    free(b);
}

static void expect_records(const char *dir, int train, size_t per_file, laperm_status want,
                           const char *n1, const char *n2)
{
    laperm_dataset *d = (laperm_dataset *)1;
    CHECK_EQ_INT(lp_cifar10_load_records(dir, train, per_file, &d), want);
    CHECK(d == NULL);
    if (n1) CHECK_STR_CONTAINS(laperm_last_error(), n1);
    if (n2) CHECK_STR_CONTAINS(laperm_last_error(), n2);
}

static void test_cifar_records(void)
{
    char dir[4200], p[4200];
    FMT(dir, "%s", subdir("cifar-small"));
    /* 600 records per file: three read chunks (256 + 256 + 88), every label
     * and pixel checked across the chunk and file boundaries */
    const size_t per = 600;
    for (int k = 0; k < 5; k++) {
        FMT(p, "data_batch_%d.bin", k + 1);
        syn_file(dir, p, k, per);
    }
    syn_file(dir, "test_batch.bin", 7, per);
    laperm_dataset *tr = NULL, *te = NULL;
    CHECK_EQ_INT(lp_cifar10_load_records(dir, 1, per, &tr), LAPERM_OK);
    CHECK_EQ_INT(lp_cifar10_load_records(dir, 0, per, &te), LAPERM_OK);
    if (!tr || !te) return;
    CHECK_EQ_INT(laperm_dataset_size(tr), 5 * per);
    CHECK_EQ_INT(laperm_dataset_size(te), per);
    long bad = 0;
    for (int k = 0; k < 6; k++)
        for (size_t r = 0; r < per; r++) {
            const laperm_dataset *d = k < 5 ? tr : te;
            int fk = k < 5 ? k : 7;
            size_t i = k < 5 ? (size_t)k * per + r : r;
            bad += laperm_dataset_label(d, i) != syn(fk, r, 0);
            const uint8_t *px = laperm_dataset_pixels(d, i);
            for (int ch = 0; ch < 3; ch++)
                for (size_t q = 0; q < 1024; q++) bad += px[3 * q + ch] != syn(fk, r, 1 + ch * 1024 + q);
        }
    CHECK_EQ_INT(bad, 0);
    laperm_dataset_free(tr);
    laperm_dataset_free(te);

    /* the messages carry the count asked for */
    expect_records(dir, 0, 601, LAPERM_E_FORMAT, "cifar-small/test_batch.bin: expected 1846873 bytes (601 records)",
                   "found 1843800 (600 records)");
    expect_records(dir, 0, 0, LAPERM_E_ARG, "0 records per file, expected 1..10000", NULL);
    expect_records(dir, 0, 10001, LAPERM_E_ARG, "10001 records per file", NULL);

    /* a bad label in the last chunk: record and byte offset within its file */
    {
        size_t n = per * 3073;
        uint8_t *b = malloc(n);
        for (size_t r = 0; r < per; r++)
            for (size_t o = 0; o < 3073; o++) b[r * 3073 + o] = syn(1, r, o);
        b[(size_t)515 * 3073] = 200;
        spit(dir, "data_batch_2.bin", b, n);
        free(b);
    }
    expect_records(dir, 1, per, LAPERM_E_FORMAT, "cifar-small/data_batch_2.bin: record 515 (byte offset 1582595)",
                   "label 200, expected 0..9");
    /* every size is checked before any file is read: a short data_batch_4
     * is the error, not the bad label in data_batch_2 */
    syn_file(dir, "data_batch_4.bin", 3, per - 1);
    expect_records(dir, 1, per, LAPERM_E_FORMAT, "cifar-small/data_batch_4.bin: expected 1843800 bytes (600 records)",
                   "found 1840727 (599 records)");
    /* a directory in a file's place */
    FMT(p, "%s/data_batch_1.bin", dir);
    CHECK(remove(p) == 0);
    CHECK(mkdir(p, 0777) == 0);
    expect_records(dir, 1, per, LAPERM_E_IO, "cifar-small/data_batch_1.bin: not a regular file", NULL);
    CHECK(rmdir(p) == 0);
    expect_records(NULL, 0, per, LAPERM_E_ARG, "dir is NULL", NULL);
    CHECK_EQ_INT(lp_cifar10_load_records(dir, 0, per, NULL), LAPERM_E_ARG);
}

int main(void)
{
    /* Skip (77) at once when the data is absent. */
    lp_test_data_dir("mnist");
    lp_test_data_dir("cifar-10-batches-bin");
    const char *t = getenv("LAPERM_TEST_TMP");
    FMT(tmproot, "%s/readers-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmproot)) {
        perror(tmproot);
        return 1;
    }
    LP_RUN(test_mnist_real);
    LP_RUN(test_cifar_real);
    LP_RUN(test_mnist_malformed);
    LP_RUN(test_cifar_malformed);
    LP_RUN(test_cifar_records);
    int rc = lp_test_done();
    char cmd[4200];
    FMT(cmd, "rm -rf '%s'", tmproot);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmproot);
    return rc;
}
