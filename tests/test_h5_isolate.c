/* Crash isolation of the .h5 readers (lp_h5_read_weights_isolated,
 * lp_h5_read_state_isolated; runtime/h5io_isolate.c):
 *   - every result (weights of every rank, empty layers, state blobs of
 *     every type, every error and its message) is exactly the direct call's;
 *   - a reader that dies in libhdf5 (a stand-in: H5Fopen interposed, see
 *     h5_crash_shim.c) is LAPERM_E_FORMAT "FILE: the HDF5 library crashed
 *     reading it (corrupt file; ...)", in the API and through the CLI (exit
 *     1, one line, no signal), and leaves no zombie;
 *   - the real libhdf5 1.10.8 crash reproducers of tests/fuzz/crashers end in
 *     exit 1 naming the file, never a signal: *.h5 (found by fuzz_h5; they
 *     make libhdf5 overflow its heap in H5Aexists, which segfaults the
 *     release CLI without the isolation) and *.patch (byte patches of the
 *     paper's F2.h5 / Conv7.h5; heap overflows that a sanitizer build turns
 *     into a crash). */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "cli_run.h"
#include "h5_util.h"

#include "h5_crash_shim.c"

#include <dirent.h>
#include <errno.h>
#include <sys/types.h>
#include <sys/wait.h>

static char T[1024];
static char PRETRAINED[1024]; /* a directory holding F1.h5 ..., "" if none */

static const char *P(const char *name)
{
    static char buf[4][1200];
    static int at;
    at = (at + 1) % 4;
    snprintf(buf[at], sizeof buf[at], "%s/%s", T, name);
    return buf[at];
}

static int no_children(void)
{
    int st;
    return waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD;
}

/* Both readers on path: the same status, message and contents. */
static void same_both_ways(const char *path)
{
    lp_h5_weights *a = NULL, *b = NULL;
    laperm_status sa = lp_h5_read_weights(path, &a);
    char ma[1024];
    snprintf(ma, sizeof ma, "%s", laperm_last_error());
    laperm_status sb = lp_h5_read_weights_isolated(path, &b);
    CHECK_MSG(sa == sb, "%s: status %d direct, %d isolated (%s)", path, sa, sb, laperm_last_error());
    if (sa) CHECK_MSG(strcmp(ma, laperm_last_error()) == 0, "%s: [%s] vs [%s]", path, ma, laperm_last_error());
    if (!sa && !sb) {
        char why[512] = "";
        CHECK_MSG(t_weights_equal(a, b, why, sizeof why), "%s: %s", path, why);
        CHECK(a->model_save_layout == b->model_save_layout);
    }
    CHECK(sb == LAPERM_OK || b == NULL);
    lp_h5_weights_free(a);
    lp_h5_weights_free(b);

    lp_h5_blob *x = NULL, *y = NULL;
    int nx = 0, ny = 0;
    sa = lp_h5_read_state(path, &x, &nx);
    snprintf(ma, sizeof ma, "%s", laperm_last_error());
    sb = lp_h5_read_state_isolated(path, &y, &ny);
    CHECK_MSG(sa == sb, "%s: state status %d direct, %d isolated", path, sa, sb);
    if (sa) CHECK_MSG(strcmp(ma, laperm_last_error()) == 0, "%s: [%s] vs [%s]", path, ma, laperm_last_error());
    if (!sa && !sb) {
        CHECK_EQ_INT(nx, ny);
        for (int i = 0; i < nx && i < ny; i++) {
            CHECK(strcmp(x[i].name, y[i].name) == 0 && x[i].type == y[i].type && x[i].count == y[i].count);
            size_t es = x[i].type == LP_H5_U8 ? 1 : x[i].type == LP_H5_F32 ? 4 : 8;
            CHECK(x[i].count == y[i].count && memcmp(x[i].data, y[i].data, (size_t)x[i].count * es) == 0);
        }
    }
    lp_h5_blobs_free(x, nx);
    lp_h5_blobs_free(y, ny);
    CHECK_MSG(no_children(), "%s: a child was left behind", path);
}

static void test_same_results(void)
{
    /* every rank from 0 to 4, a layer without weights, an empty array */
    t_rng rng = {7};
    lp_h5_weights *w = t_new_weights(4);
    t_layer(w, 0, "input_flatten", 0);
    t_layer(w, 1, "odd", 5);
    int64_t d0[1] = {0}, d1[1] = {3}, d2[2] = {5, 4}, d3[3] = {2, 3, 4}, d4[4] = {3, 3, 2, 6};
    lp_h5_array *arrs[5] = {t_weight(w, 1, 0, "odd/scalar:0", 0, d0), t_weight(w, 1, 1, "odd/vec:0", 1, d1),
                            t_weight(w, 1, 2, "odd/mat:0", 2, d2), t_weight(w, 1, 3, "odd/cube:0", 3, d3),
                            t_weight(w, 1, 4, "odd/kernel:0", 4, d4)};
    for (int k = 0; k < 5; k++)
        for (int64_t e = 0; e < t_count(arrs[k]); e++) arrs[k]->data[e] = t_unif(&rng) - 0.5f;
    t_layer(w, 2, "empty", 1);
    t_weight(w, 2, 0, "empty/none:0", 1, d0);
    t_layer(w, 3, "dense", 2);
    int64_t big[2] = {300, 200}; /* 240 KB: more than a pipe holds */
    lp_h5_array *k = t_weight(w, 3, 0, "dense/kernel:0", 2, big);
    for (int64_t e = 0; e < t_count(k); e++) k->data[e] = (float)e * 1e-3f;
    t_weight(w, 3, 1, "dense/bias:0", 1, d1);
    double f64[3] = {1.5, -2, 1e300};
    int64_t i64[2] = {-5, 1LL << 60};
    uint64_t u64[1] = {~0ULL};
    uint8_t u8[3] = {'f', '2', 0};
    float f32[2] = {0.5f, -1};
    lp_h5_blob b[6] = {{"scalars", LP_H5_F64, 3, f64}, {"steps", LP_H5_I64, 2, i64}, {"seed", LP_H5_U64, 1, u64},
                       {"model", LP_H5_U8, 3, u8},     {"adam_m_0", LP_H5_F32, 2, f32}, {"empty", LP_H5_F32, 0, f32}};
    CHECK(lp_h5_write_weights(P("mixed.h5"), w, b, 6) == LAPERM_OK);
    CHECK(lp_h5_write_weights(P("nostate.h5"), w, NULL, 0) == LAPERM_OK);
    lp_h5_weights_free(w);
    same_both_ways(P("mixed.h5"));
    same_both_ways(P("nostate.h5"));

    /* errors: missing, a directory, not HDF5, empty, truncated */
    same_both_ways(P("missing.h5"));
    same_both_ways(T);
    FILE *f = fopen(P("text.h5"), "w");
    fputs("not hdf5\n", f);
    fclose(f);
    same_both_ways(P("text.h5"));
    f = fopen(P("empty.h5"), "w");
    fclose(f);
    same_both_ways(P("empty.h5"));
    FILE *in = fopen(P("mixed.h5"), "rb");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    f = fopen(P("cut.h5"), "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    same_both_ways(P("cut.h5"));

    /* the paper's files */
    const char *names[4] = {"F1.h5", "F2.h5", "Conv7.h5", "resnet50.h5"};
    for (int i = 0; i < 4 && PRETRAINED[0]; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", PRETRAINED, names[i]);
        if (access(p, R_OK) == 0) same_both_ways(p);
    }

    /* LAPERM_H5_NO_ISOLATE=1: in-process, same answer */
    setenv("LAPERM_H5_NO_ISOLATE", "1", 1);
    same_both_ways(P("mixed.h5"));
    unsetenv("LAPERM_H5_NO_ISOLATE");
}

/* The stand-in crash in the API: the process survives, the error is one
 * line naming the file, no child is left. */
static void test_crash_api(void)
{
    lp_h5_weights *w = t_new_weights(1);
    t_layer(w, 0, "flatten", 0);
    CHECK(lp_h5_write_weights(P("crashme.h5"), w, NULL, 0) == LAPERM_OK);
    lp_h5_weights_free(w);
    const char *hows[3] = {"segv", "abort", "exit"};
    for (int i = 0; i < 3; i++) {
        setenv("LP_SHIM_CRASH_ON", "crashme", 1);
        setenv("LP_SHIM_HOW", hows[i], 1);
        lp_h5_weights *x = NULL;
        laperm_status s = lp_h5_read_weights_isolated(P("crashme.h5"), &x);
        const char *e = laperm_last_error();
        CHECK_MSG(s == LAPERM_E_FORMAT, "%s: status %d: %s", hows[i], s, e);
        CHECK(x == NULL);
        CHECK_STR_CONTAINS(e, P("crashme.h5"));
        CHECK_STR_CONTAINS(e, "the HDF5 library crashed reading it (corrupt file");
        CHECK(strchr(e, '\n') == NULL);
        lp_h5_blob *b = NULL;
        int nb = 0;
        s = lp_h5_read_state_isolated(P("crashme.h5"), &b, &nb);
        CHECK_MSG(s == LAPERM_E_FORMAT, "state %s: status %d", hows[i], s);
        CHECK(b == NULL && nb == 0);
        CHECK_STR_CONTAINS(laperm_last_error(), "the HDF5 library crashed reading it (corrupt file");
        CHECK_MSG(no_children(), "%s: a child was left behind", hows[i]);
        unsetenv("LP_SHIM_CRASH_ON");
        unsetenv("LP_SHIM_HOW");
    }
    /* the file itself is fine */
    lp_h5_weights *x = NULL;
    CHECK(lp_h5_read_weights_isolated(P("crashme.h5"), &x) == LAPERM_OK);
    lp_h5_weights_free(x);
}

/* stderr's last line, and whether a sanitizer spoke before it (the child's
 * report in a sanitizer build). */
static const char *err_last_line(const char *err, int *sanitizer)
{
    *sanitizer = strstr(err, "Sanitizer") != NULL;
    return last_line(err);
}

static void expect_crash_reported(cli_result *r, const char *file, int must_say_crashed, const char *what)
{
    int san = 0;
    const char *last = err_last_line(r->err, &san);
    CHECK_MSG(r->status == 1, "%s: exit %d (a signal is 128 + N): %s", what, r->status, r->err);
    CHECK_MSG(strncmp(last, "laperm: error: ", 15) == 0, "%s: last line [%s]", what, last);
    CHECK_MSG(strstr(last, file) != NULL, "%s: [%s] does not name %s", what, last, file);
    if (!san) CHECK_MSG(strchr(r->err, '\n') == r->err + strlen(r->err) - 1, "%s: not one line: [%s]", what, r->err);
    if (must_say_crashed)
        CHECK_MSG(strstr(last, "the HDF5 library crashed reading it (corrupt file") != NULL, "%s: [%s]", what, last);
}

/* The stand-in crash through the CLI (LD_PRELOAD of the shim). */
static void test_crash_cli(void)
{
    lp_h5_weights *w = t_new_weights(1);
    t_layer(w, 0, "flatten", 0);
    CHECK(lp_h5_write_weights(P("crashme-cli.h5"), w, NULL, 0) == LAPERM_OK);
    lp_h5_weights_free(w);
    setenv("LD_PRELOAD", LP_CRASH_SHIM, 1);
    setenv("LP_SHIM_CRASH_ON", "crashme", 1);
    /* a sanitizer runtime must come first; the shim is not instrumented */
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[1024];
    snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0", asan ? asan : "", asan && *asan ? ":" : "");
    char *saved_asan = asan ? strdup(asan) : NULL;
    setenv("ASAN_OPTIONS", opts, 1);
    char a[2048];
    snprintf(a, sizeof a, "eval --model f1 --weights %s", P("crashme-cli.h5"));
    cli_result r = cli_run(a);
    expect_crash_reported(&r, P("crashme-cli.h5"), 1, "eval");
    cli_free(&r);
    unsetenv("LD_PRELOAD");
    unsetenv("LP_SHIM_CRASH_ON");
    if (saved_asan) setenv("ASAN_OPTIONS", saved_asan, 1);
    else unsetenv("ASAN_OPTIONS");
    free(saved_asan);
}

/* A crash reproducer from its patch (tests/fuzz/crashers): "base FILE SIZE
 * MODEL", then "offset old new" lines. */
static int build_crasher(const char *patch, char *out, size_t cap, char *model, size_t mcap)
{
    FILE *f = fopen(patch, "r");
    if (!f) return 0;
    char line[512], base[256] = "";
    long size = 0;
    uint8_t *b = NULL;
    long n = 0;
    int ok = 1;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        if (strncmp(line, "base ", 5) == 0) {
            if (sscanf(line, "base %255s %ld %63s", base, &size, model) != 3) ok = 0;
            (void)mcap;
            char p[1400];
            snprintf(p, sizeof p, "%s/%s", PRETRAINED, base);
            FILE *in = PRETRAINED[0] ? fopen(p, "rb") : NULL;
            if (!in) {
                fclose(f);
                return -1; /* base file not available: skip */
            }
            b = malloc((size_t)size);
            n = (long)fread(b, 1, (size_t)size, in);
            fclose(in);
            if (n != size) ok = 0;
            continue;
        }
        long off;
        unsigned o, v;
        if (!b || sscanf(line, "%ld %x %x", &off, &o, &v) != 3 || off < 0 || off >= n || b[off] != o) {
            ok = 0;
            break;
        }
        b[off] = (uint8_t)v;
    }
    fclose(f);
    if (ok && b) {
        const char *name = strrchr(patch, '/');
        snprintf(out, cap, "%s/%.*s.h5", T, (int)(strlen(name + 1) - 6), name + 1);
        FILE *o = fopen(out, "wb");
        ok = o && fwrite(b, 1, (size_t)n, o) == (size_t)n;
        if (o) fclose(o);
    }
    int had = b != NULL;
    free(b);
    return ok && had ? 1 : 0;
}

static void test_real_crashers(void)
{
    DIR *d = opendir(LP_CRASHERS_DIR);
    CHECK(d != NULL);
    if (!d) return;
    struct dirent *e;
    int tried = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 3 && strcmp(e->d_name + len - 3, ".h5") == 0) {
            /* found by fuzz_h5: libhdf5 runs off its heap in H5Aexists;
             * whether that segfaults depends on the heap's layout (the
             * release CLI does, this test program need not) */
            char file[1400];
            snprintf(file, sizeof file, "%s/%s", LP_CRASHERS_DIR, e->d_name);
            tried++;
            lp_h5_weights *w = NULL;
            laperm_status s = lp_h5_read_weights_isolated(file, &w);
            CHECK_MSG(s == LAPERM_E_FORMAT, "%s: status %d", e->d_name, s);
            lp_h5_weights_free(w);
            printf("  %s: %s\n", e->d_name, laperm_last_error());
            CHECK(no_children());
            char a[2048];
            snprintf(a, sizeof a, "eval --model f1 --weights %s", file);
            cli_result r = cli_run(a);
            expect_crash_reported(&r, file, 0, e->d_name);
            printf("  %s (CLI): %s", e->d_name, last_line(r.err));
            cli_free(&r);
            continue;
        }
        if (len < 7 || strcmp(e->d_name + len - 6, ".patch") != 0) continue;
        char patch[1400], file[1400], model[64] = "f2";
        snprintf(patch, sizeof patch, "%s/%s", LP_CRASHERS_DIR, e->d_name);
        int got = build_crasher(patch, file, sizeof file, model, sizeof model);
        if (got < 0) {
            printf("skipped %s: its base file is not in LAPERM_SHARED/pretrained or LAPERM_DATA/pretrained\n",
                   e->d_name);
            continue;
        }
        CHECK_MSG(got == 1, "%s: does not apply to its base file", e->d_name);
        if (got != 1) continue;
        tried++;
        /* in the API: an error, never a crash of this process */
        lp_h5_weights *w = NULL;
        laperm_status s = lp_h5_read_weights_isolated(file, &w);
        CHECK_MSG(s != LAPERM_OK, "%s: read without error", e->d_name);
        lp_h5_weights_free(w);
        printf("  %s: %s\n", e->d_name, laperm_last_error());
        CHECK(no_children());
        /* through the CLI */
        char a[2048];
        snprintf(a, sizeof a, "eval --model %s --weights %s", model, file);
        cli_result r = cli_run(a);
        expect_crash_reported(&r, file, 0, e->d_name);
        cli_free(&r);
    }
    closedir(d);
    printf("  %d crash reproducers tried\n", tried);
}

int main(void)
{
    (void)json_num;
    const char *t = getenv("LAPERM_TEST_TMP");
    snprintf(T, sizeof T, "%s/h5-isolate", t ? t : "/tmp");
    mkdir(T, 0755);
    const char *dirs[2] = {getenv("LAPERM_SHARED"), getenv("LAPERM_DATA")};
    for (int i = 0; i < 2 && !PRETRAINED[0]; i++) {
        if (!dirs[i]) continue;
        char p[1100];
        snprintf(p, sizeof p, "%s/pretrained/F2.h5", dirs[i]);
        if (access(p, R_OK) == 0) snprintf(PRETRAINED, sizeof PRETRAINED, "%s/pretrained", dirs[i]);
    }
    LP_RUN(test_same_results);
    LP_RUN(test_crash_api);
    LP_RUN(test_crash_cli);
    LP_RUN(test_real_crashers);
    return lp_test_done();
}
