/* Plots (runtime/plot/, runtime/history_csv.c) and their subcommands
 * (laperm plot-history, profile, trace): every picture is rendered from real
 * inputs and decoded again with libpng (size, not blank, arrow colours where
 * arrows must be); SVG output is checked for its XML start; errors name the
 * file and line; no output appears under the requested name on failure.
 *
 * Conv7.h5 from $LAPERM_SHARED/pretrained and a permuted copy (written with
 * lp_h5_write_weights) are used when HDF5 is compiled in and the file is
 * there; otherwise those parts are skipped (failed with LAPERM_REQUIRE_DATA=1). */
#define _POSIX_C_SOURCE 200809L

#include "lp_test.h"
#include "h5_util.h"
#include "runtime/plot.h"
#include "runtime/plot/plot_axes.h"

#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[1024];

static const char *tpath(const char *name)
{
    static char buf[8][1200];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static int read_prefix(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
    fclose(f);
    return (int)got;
}

/* ---- PNG checks -------------------------------------------------------------- */

typedef struct {
    int ok;
    int w, h;
    double nonwhite;  /* share of pixels that are not white */
    long colours;     /* distinct RGB colours */
    long orange;      /* pixels in the arrows' dark orange (blended onto light) */
    long turquoise;   /* pixels in the arrows' turquoise */
} pic_info;

static pic_info png_read(const char *path)
{
    pic_info r = {0};
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) {
        fprintf(stderr, "%s: %s\n", path, img.message);
        return r;
    }
    img.format = PNG_FORMAT_RGB;
    size_t size = PNG_IMAGE_SIZE(img);
    unsigned char *px = malloc(size);
    uint8_t *seen = calloc((size_t)1 << 21, 1);
    if (!px || !seen || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
        fprintf(stderr, "%s: cannot decode: %s\n", path, img.message);
        png_image_free(&img);
        free(px);
        free(seen);
        return r;
    }
    r.ok = 1;
    r.w = (int)img.width;
    r.h = (int)img.height;
    long nonwhite = 0;
    for (size_t i = 0; i < (size_t)r.w * (size_t)r.h; i++) {
        unsigned R = px[3 * i], G = px[3 * i + 1], B = px[3 * i + 2];
        uint32_t c = R << 16 | G << 8 | B;
        if (!(seen[c >> 3] & (1u << (c & 7)))) {
            seen[c >> 3] |= (uint8_t)(1u << (c & 7));
            r.colours++;
        }
        if (R < 250 || G < 250 || B < 250) nonwhite++;
        if (R > 200 && G > 110 && G < 185 && B < 90) r.orange++;
        if (R < 150 && G > 190 && B > 170 && G - R > 60) r.turquoise++;
    }
    r.nonwhite = (double)nonwhite / ((double)r.w * r.h);
    free(px);
    free(seen);
    return r;
}

#define CHECK_PNG(path, W, H, min_colours)                                                           \
    do {                                                                                             \
        pic_info pi_ = png_read(path);                                                               \
        CHECK_MSG(pi_.ok, "%s does not decode as PNG", path);                                        \
        CHECK_EQ_INT(pi_.w, W);                                                                      \
        CHECK_EQ_INT(pi_.h, H);                                                                      \
        CHECK_MSG(pi_.nonwhite > 0.02, "%s: only %.4f of pixels drawn", path, pi_.nonwhite);          \
        CHECK_MSG(pi_.colours >= (min_colours), "%s: %ld colours", path, pi_.colours);               \
    } while (0)

static int is_svg(const char *path)
{
    char head[64];
    if (read_prefix(path, head, sizeof head) < 5) return 0;
    return strncmp(head, "<?xml", 5) == 0 || strncmp(head, "<svg", 4) == 0;
}

/* No temporary files left beside the outputs. */
static int leftover_temporaries(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) {
            fprintf(stderr, "left over: %s\n", e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

/* ---- History CSV --------------------------------------------------------------- */

static const char *write_history_csv(void)
{
    const char *p = tpath("history.csv");
    FILE *f = fopen(p, "w");
    if (!f) return p;
    fprintf(f, "step,epoch,val_loss,val_acc,train_loss,train_acc\n");
    for (int i = 0; i <= 20; i++) {
        double t = i / 20.0;
        fprintf(f, "%d,%d,%.6f,%.6f,%.6f,%.6f%s\n", i * 250, i / 4, 2.3 * exp(-3 * t) + 0.05, 0.1 + 0.88 * (1 - exp(-4 * t)),
                2.3 * exp(-3.5 * t) + 0.02, 0.1 + 0.895 * (1 - exp(-4.5 * t)), i == 7 ? "\r" : "");
    }
    fprintf(f, "\n");
    fclose(f);
    return p;
}

static laperm_status read_text_csv(const char *text, lp_history_row **rows, int *n)
{
    const char *p = tpath("bad.csv");
    write_text(p, text);
    return lp_history_read_csv(p, rows, n);
}

static void test_history_csv(void)
{
    lp_history_row *rows = NULL;
    int n = -1;
    const char *p = write_history_csv();
    CHECK_EQ_INT(lp_history_read_csv(p, &rows, &n), LAPERM_OK);
    CHECK_EQ_INT(n, 21);
    if (rows && n == 21) {
        CHECK_EQ_INT(rows[0].step, 0);
        CHECK_EQ_INT(rows[20].step, 5000);
        CHECK_EQ_INT(rows[20].epoch, 5);
        CHECK_NEAR(rows[0].val_acc, 0.1, 1e-9);
        CHECK_NEAR(rows[0].val_loss, 2.35, 1e-9);
        CHECK_NEAR(rows[7].train_acc, 0.1 + 0.895 * (1 - exp(-4.5 * 0.35)), 1e-6);
    }
    free(rows);

    /* Columns in another order, an extra one, quoted header names. */
    rows = NULL;
    CHECK_EQ_INT(read_text_csv("\"epoch\",step,lr,train_acc,train_loss,val_acc,val_loss\n0,10,0.001,0.5,1.5,0.25,2.5\n",
                               &rows, &n),
                 LAPERM_OK);
    CHECK_EQ_INT(n, 1);
    if (rows && n == 1) {
        CHECK_EQ_INT(rows[0].step, 10);
        CHECK_NEAR(rows[0].val_loss, 2.5, 0);
        CHECK_NEAR(rows[0].train_acc, 0.5, 0);
    }
    free(rows);

    /* A header and no rows is not an error (plot-history reports it). */
    rows = NULL;
    CHECK_EQ_INT(read_text_csv("step,epoch,val_loss,val_acc,train_loss,train_acc\n", &rows, &n), LAPERM_OK);
    CHECK_EQ_INT(n, 0);
    free(rows);

    struct {
        const char *text, *want1, *want2;
    } bad[] = {
        {"0,0,1,1,1,1\n", ":1:", "header"},
        {"step,epoch,val_loss,train_loss,train_acc\n0,0,1,1,1\n", ":1:", "val_acc"},
        {"step,epoch,val_loss,val_acc,train_loss,train_acc\n0,0,1,1,1,1\n\n5,0,1,1\n", ":4:", "fields"},
        {"step,epoch,val_loss,val_acc,train_loss,train_acc\n0,0,1,1,1,1\n5,0,abc,1,1,1\n", ":3:", "val_loss"},
        {"step,epoch,val_loss,val_acc,train_loss,train_acc\n1.5,0,1,1,1,1\n", ":2:", "step"},
        {"", "empty", "header"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rows = NULL;
        laperm_status s = read_text_csv(bad[i].text, &rows, &n);
        CHECK_MSG(s == LAPERM_E_FORMAT, "case %zu: status %d", i, (int)s);
        CHECK_STR_CONTAINS(laperm_last_error(), "bad.csv");
        CHECK_STR_CONTAINS(laperm_last_error(), bad[i].want1);
        CHECK_STR_CONTAINS(laperm_last_error(), bad[i].want2);
        CHECK(rows == NULL);
    }
    CHECK_EQ_INT(lp_history_read_csv(tpath("no-such.csv"), &rows, &n), LAPERM_E_IO);
    CHECK_STR_CONTAINS(laperm_last_error(), "no-such.csv");
}

static void test_history_plot(void)
{
    lp_history_row *rows = NULL;
    int n = 0;
    CHECK_EQ_INT(lp_history_read_csv(write_history_csv(), &rows, &n), LAPERM_OK);
    const char *png = tpath("history.png");
    CHECK_EQ_INT(lp_plot_history_rows(png, rows, n, "conv7"), LAPERM_OK);
    CHECK_PNG(png, LP_PLOT_HISTORY_W, LP_PLOT_HISTORY_H, 40);
    pic_info pi = png_read(png);
    /* the train line is tab:blue, the validation line tab:orange */
    CHECK_MSG(pi.orange > 300, "%ld orange pixels", pi.orange);
    const char *svg = tpath("history.svg");
    CHECK_EQ_INT(lp_plot_history_rows(svg, rows, n, NULL), LAPERM_OK);
    CHECK(is_svg(svg));

    /* Without train measurements (--tsize 0 writes zeros), one point only. */
    for (int i = 0; i < n; i++) rows[i].train_loss = rows[i].train_acc = 0;
    CHECK_EQ_INT(lp_plot_history_rows(tpath("history-val.png"), rows, n, "no train"), LAPERM_OK);
    CHECK_PNG(tpath("history-val.png"), LP_PLOT_HISTORY_W, LP_PLOT_HISTORY_H, 20);
    CHECK_EQ_INT(lp_plot_history_rows(tpath("history-one.png"), rows, 1, NULL), LAPERM_OK);
    CHECK_PNG(tpath("history-one.png"), LP_PLOT_HISTORY_W, LP_PLOT_HISTORY_H, 20);
    free(rows);
    CHECK_EQ_INT(leftover_temporaries(), 0);
}

/* ---- Output errors ----------------------------------------------------------------- */

static void test_output_errors(void)
{
    lp_history_row row = {.step = 1, .epoch = 0, .val_loss = 1, .val_acc = 0.5, .train_loss = 1, .train_acc = 0.5};
    const char *missing = "/nonexistent-laperm-dir/sub/h.png";
    CHECK_EQ_INT(lp_plot_history_rows(missing, &row, 1, NULL), LAPERM_E_IO);
    CHECK_STR_CONTAINS(laperm_last_error(), missing);
    CHECK_STR_CONTAINS(laperm_last_error(), "No such file");

    /* A directory that is not writable (unless we are root, who may write anyway). */
    const char *ro = tpath("readonly");
    mkdir(ro, 0777);
    chmod(ro, 0555);
    char inro[1300];
    snprintf(inro, sizeof inro, "%s/h.png", ro);
    if (access(ro, W_OK) != 0) {
        CHECK_EQ_INT(lp_plot_history_rows(inro, &row, 1, NULL), LAPERM_E_IO);
        CHECK_STR_CONTAINS(laperm_last_error(), inro);
        CHECK(access(inro, F_OK) != 0);
    }
    chmod(ro, 0777);

    /* A failing plot leaves an existing file as it was. */
    const char *keep = tpath("keep.png");
    write_text(keep, "old contents");
    CHECK_EQ_INT(lp_plot_history_rows(keep, &row, 0, NULL), LAPERM_E_ARG);
    lp_h5_weights *w = t_new_weights(1);
    t_layer(w, 0, "flatten", 0);
    CHECK_EQ_INT(lp_plot_profile(keep, w, NULL), LAPERM_E_FORMAT);
    CHECK_STR_CONTAINS(laperm_last_error(), "no weight matrices");
    lp_h5_weights_free(w);
    char buf[64];
    read_prefix(keep, buf, sizeof buf);
    CHECK(strcmp(buf, "old contents") == 0);
    /* A directory name as output. */
    char dirname[1300];
    snprintf(dirname, sizeof dirname, "%s/", tmpdir);
    CHECK_EQ_INT(lp_plot_history_rows(dirname, &row, 1, NULL), LAPERM_E_IO);
    CHECK_EQ_INT(leftover_temporaries(), 0);
}

/* ---- Matching by stable rank --------------------------------------------------------- */

static void test_trace_match(void)
{
    /* vector of 6 with ties and a signed zero, stored with stride 2 */
    const float before[12] = {3, 9, 1, 9, 2, 9, 1, 9, -0.0f, 9, 0.0f, 9};
    /* after = before permuted: 1, 0.0, 3, -0.0, 1, 2 */
    const float after[12] = {1, 9, 0.0f, 9, 3, 9, -0.0f, 9, 1, 9, 2, 9};
    int dest[6];
    CHECK_EQ_INT(lp_trace_match(before, after, 6, 2, dest), 1);
    /* ranks in before: -0(4) 0(5) 1(1) 1(3) 2(2) 3(0); in after: 0(1) -0(3) 1(0) 1(4) 2(5) 3(2) */
    const int want[6] = {2, 0, 5, 4, 1, 3};
    for (int i = 0; i < 6; i++) CHECK_EQ_INT(dest[i], want[i]);
    /* identity */
    CHECK_EQ_INT(lp_trace_match(before, before, 6, 2, dest), 1);
    for (int i = 0; i < 6; i++) CHECK_EQ_INT(dest[i], i);
    /* not a permutation: matched by rank, reported */
    const float other[12] = {5, 0, 4, 0, 3, 0, 2, 0, 1, 0, 0, 0};
    CHECK_EQ_INT(lp_trace_match(before, other, 6, 2, dest), 0);
    CHECK_EQ_INT(dest[0], 0); /* largest before (3) -> largest other (5, at 0) */
}

/* ---- Synthetic weights (no HDF5 needed) ----------------------------------------------- */

static lp_h5_weights *synthetic(uint64_t seed)
{
    t_rng r = {seed};
    lp_h5_weights *w = t_new_weights(4);
    t_layer(w, 0, "conv_b", 2);
    int64_t ck[4] = {3, 3, 2, 8}, cb[1] = {8};
    lp_h5_array *k = t_weight(w, 0, 0, "conv_b/kernel:0", 4, ck);
    for (int64_t i = 0; i < t_count(k); i++) k->data[i] = t_unif(&r) * 2 - 1;
    k->data[5] = k->data[13]; /* ties */
    t_weight(w, 0, 1, "conv_b/bias:0", 1, cb);
    t_layer(w, 1, "flatten", 0);
    t_layer(w, 2, "dense_a", 2);
    int64_t dk[2] = {72, 10}, db[1] = {10};
    k = t_weight(w, 2, 0, "dense_a/kernel:0", 2, dk);
    for (int64_t i = 0; i < t_count(k); i++) k->data[i] = (t_unif(&r) - 0.5f) * (float)(1 + i % 10);
    t_weight(w, 2, 1, "dense_a/bias:0", 1, db);
    t_layer(w, 3, "bn", 1);
    t_weight(w, 3, 0, "bn/gamma:0", 1, db);
    return w;
}

/* Shuffle every vector (last axis) of every matrix in place. */
static void permute_vectors(lp_h5_weights *w, uint64_t seed)
{
    t_rng r = {seed};
    for (int l = 0; l < w->nlayers; l++)
        for (int k = 0; k < w->layers[l].nweights; k++) {
            lp_h5_array *a = &w->layers[l].weights[k];
            if (a->rank < 2) continue;
            int64_t nvec = a->shape[a->rank - 1], len = t_count(a) / nvec;
            for (int64_t j = 0; j < nvec; j++)
                for (int64_t i = len - 1; i > 0; i--) {
                    int64_t p = t_below(&r, (int)(i + 1));
                    float t = a->data[i * nvec + j];
                    a->data[i * nvec + j] = a->data[p * nvec + j];
                    a->data[p * nvec + j] = t;
                }
        }
}

static void test_profile_synthetic(void)
{
    lp_h5_weights *w = synthetic(1);
    const char *png = tpath("profile-synth.png");
    CHECK_EQ_INT(lp_plot_profile(png, w, "synthetic"), LAPERM_OK);
    /* 2 matrices: 2 columns, 1 row */
    CHECK_PNG(png, 2 * LP_PLOT_PROFILE_PANEL_W, LP_PLOT_PROFILE_TITLE_H + LP_PLOT_PROFILE_PANEL_H, 40);
    const char *svg = tpath("profile-synth.SVG");
    CHECK_EQ_INT(lp_plot_profile(svg, w, NULL), LAPERM_OK);
    CHECK(is_svg(svg));
    lp_h5_weights_free(w);
}

static void test_trace_synthetic(void)
{
    lp_h5_weights *b = synthetic(2), *a = synthetic(2);
    permute_vectors(a, 99);
    const char *png = tpath("trace-synth.png");
    CHECK_EQ_INT(lp_plot_trace(png, b, a, "conv_b", 3), LAPERM_OK);
    CHECK_PNG(png, LP_PLOT_TRACE_W, LP_PLOT_TRACE_H, 40);
    pic_info pi = png_read(png);
    CHECK_MSG(pi.orange + pi.turquoise > 200, "arrows: %ld orange, %ld turquoise pixels", pi.orange, pi.turquoise);
    CHECK_EQ_INT(lp_plot_trace(tpath("trace-synth-all.png"), b, a, "dense_a", -1), LAPERM_OK);
    CHECK_PNG(tpath("trace-synth-all.png"), LP_PLOT_TRACE_W, LP_PLOT_TRACE_H, 40);
    CHECK_EQ_INT(lp_plot_trace(tpath("trace-synth.svg"), b, a, "dense_a", 0), LAPERM_OK);
    CHECK(is_svg(tpath("trace-synth.svg")));

    /* Nothing moved: no arrows. */
    CHECK_EQ_INT(lp_plot_trace(tpath("trace-same.png"), b, b, "conv_b", -1), LAPERM_OK);
    pi = png_read(tpath("trace-same.png"));
    CHECK(pi.ok);
    CHECK_MSG(pi.orange + pi.turquoise < 20, "arrows without moves: %ld orange, %ld turquoise", pi.orange,
              pi.turquoise);

    /* Errors: unknown layer (listing the layers with a kernel), a layer
     * without one, a vector out of range, shapes that differ. */
    CHECK_EQ_INT(lp_plot_trace(tpath("t.png"), b, a, "nope", 0), LAPERM_E_ARG);
    CHECK_STR_CONTAINS(laperm_last_error(), "'nope' not found");
    CHECK_STR_CONTAINS(laperm_last_error(), "conv_b, dense_a");
    CHECK_EQ_INT(lp_plot_trace(tpath("t.png"), b, a, "bn", 0), LAPERM_E_ARG);
    CHECK_STR_CONTAINS(laperm_last_error(), "has no kernel");
    CHECK_EQ_INT(lp_plot_trace(tpath("t.png"), b, a, "conv_b", 8), LAPERM_E_ARG);
    CHECK_STR_CONTAINS(laperm_last_error(), "0..7");
    a->layers[2].weights[0].shape[0] = 36;
    a->layers[2].weights[0].shape[1] = 20;
    CHECK_EQ_INT(lp_plot_trace(tpath("t.png"), b, a, "dense_a", 0), LAPERM_E_SHAPE);
    CHECK(access(tpath("t.png"), F_OK) != 0);
    lp_h5_weights_free(a);
    lp_h5_weights_free(b);
    CHECK_EQ_INT(leftover_temporaries(), 0);
}

/* ---- Conv7.h5 and a permuted copy ------------------------------------------------------ */

static int require_data(void)
{
    const char *r = getenv("LAPERM_REQUIRE_DATA");
    return r && strcmp(r, "1") == 0;
}

/* Conv7.h5 and its permuted copy (path in *perm); NULL when unavailable. */
static lp_h5_weights *conv7(const char **perm_path, lp_h5_weights **perm)
{
    const char *path = t_pretrained("Conv7.h5");
    lp_h5_weights *w = NULL;
    laperm_status s = lp_h5_read_weights(path, &w);
    if (s == LAPERM_E_UNSUPPORTED) {
        printf("skipped: HDF5 not compiled in (Conv7.h5 parts)\n");
        return NULL;
    }
    if (s && access(path, F_OK) != 0 && !require_data()) {
        printf("skipped: no %s\n", path);
        return NULL;
    }
    CHECK_MSG(s == LAPERM_OK, "%s", laperm_last_error());
    if (s) return NULL;
    lp_h5_weights *c = NULL;
    CHECK_EQ_INT(lp_h5_weights_clone(w, &c), LAPERM_OK);
    if (!c) return w;
    permute_vectors(c, 7);
    static char pp[1300];
    snprintf(pp, sizeof pp, "%s", tpath("conv7-permuted.h5"));
    *perm_path = pp;
    CHECK_EQ_INT(lp_h5_write_weights(*perm_path, c, NULL, 0), LAPERM_OK);
    lp_h5_weights_free(c);
    CHECK_EQ_INT(lp_h5_read_weights(*perm_path, perm), LAPERM_OK);
    return w;
}

static const char *conv7_perm_path;

static void test_conv7(void)
{
    lp_h5_weights *perm = NULL;
    lp_h5_weights *w = conv7(&conv7_perm_path, &perm);
    if (!w) return;
    /* Conv7: 7 conv kernels and one dense kernel: 3 x 3 panels */
    const char *png = tpath("profile-conv7.png");
    CHECK_EQ_INT(lp_plot_profile(png, w, "Conv7.h5"), LAPERM_OK);
    CHECK_PNG(png, 3 * LP_PLOT_PROFILE_PANEL_W, LP_PLOT_PROFILE_TITLE_H + 3 * LP_PLOT_PROFILE_PANEL_H, 100);
    if (perm) {
        /* The profile of the permuted copy is the same picture. */
        const char *png2 = tpath("profile-conv7-perm.png");
        CHECK_EQ_INT(lp_plot_profile(png2, perm, "Conv7.h5"), LAPERM_OK);
        CHECK_MSG(t_file_equal(png, png2), "profiles of %s and its permutation differ", png);

        CHECK_EQ_INT(lp_plot_trace(tpath("trace-conv7-v5.png"), w, perm, "conv2d_20", 5), LAPERM_OK);
        CHECK_PNG(tpath("trace-conv7-v5.png"), LP_PLOT_TRACE_W, LP_PLOT_TRACE_H, 100);
        pic_info pi = png_read(tpath("trace-conv7-v5.png"));
        CHECK_MSG(pi.orange + pi.turquoise > 500, "arrows: %ld orange, %ld turquoise", pi.orange, pi.turquoise);
        CHECK_EQ_INT(lp_plot_trace(tpath("trace-conv7-all.png"), w, perm, "conv2d_20", -1), LAPERM_OK);
        CHECK_PNG(tpath("trace-conv7-all.png"), LP_PLOT_TRACE_W, LP_PLOT_TRACE_H, 100);
        CHECK_EQ_INT(lp_plot_trace(tpath("trace-conv7-dense.png"), w, perm, "dense_2", 3), LAPERM_OK);
        CHECK_PNG(tpath("trace-conv7-dense.png"), LP_PLOT_TRACE_W, LP_PLOT_TRACE_H, 60);
        CHECK_EQ_INT(lp_plot_trace(tpath("t.png"), w, perm, "dropout_6", 0), LAPERM_E_ARG);
        CHECK_STR_CONTAINS(laperm_last_error(), "conv2d_14, conv2d_15");
        CHECK_STR_CONTAINS(laperm_last_error(), "dense_2");
    }
    lp_h5_weights_free(perm);
    lp_h5_weights_free(w);
    CHECK_EQ_INT(leftover_temporaries(), 0);
}

/* ---- The subcommands ---------------------------------------------------------------------- */

static int run_cli(char *err, size_t errn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run_cli(char *err, size_t errn, const char *fmt, ...)
{
    const char *cli = getenv("LAPERM_CLI");
    char args[3000], cmd[4000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    const char *ef = tpath("cli-stderr.txt");
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", cli, args, tpath("cli-stdout.txt"), ef);
    int st = system(cmd);
    err[0] = '\0';
    read_prefix(ef, err, errn);
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

static void test_cli(void)
{
    const char *cli = getenv("LAPERM_CLI");
    if (!cli || access(cli, X_OK) != 0) {
        printf("skipped: no laperm binary ($LAPERM_CLI)\n");
        return;
    }
    char err[2048], csv[1300];
    snprintf(csv, sizeof csv, "%s", write_history_csv());
    CHECK_EQ_INT(run_cli(err, sizeof err, "plot-history '%s' --out '%s'", csv, tpath("cli-history.png")), 0);
    CHECK_PNG(tpath("cli-history.png"), LP_PLOT_HISTORY_W, LP_PLOT_HISTORY_H, 40);
    CHECK_EQ_INT(run_cli(err, sizeof err, "plot-history --help"), 0);
    CHECK_EQ_INT(run_cli(err, sizeof err, "plot-history '%s'", csv), 2);
    CHECK(strncmp(err, "laperm: error: ", 15) == 0);
    CHECK_STR_CONTAINS(err, "--out");
    CHECK_EQ_INT(run_cli(err, sizeof err, "plot-history '%s' --out x.png --bogus", csv), 2);
    CHECK_EQ_INT(run_cli(err, sizeof err, "plot-history '%s' --out x.png", tpath("missing.csv")), 1);
    CHECK(strncmp(err, "laperm: error: ", 15) == 0);
    CHECK_STR_CONTAINS(err, "missing.csv");
    write_text(tpath("cli-bad.csv"), "step,epoch,val_loss,val_acc,train_loss,train_acc\n0,0,x,1,1,1\n");
    CHECK_EQ_INT(run_cli(err, sizeof err, "plot-history '%s' --out '%s'", tpath("cli-bad.csv"), tpath("b.png")), 1);
    CHECK_STR_CONTAINS(err, "cli-bad.csv:2:");
    CHECK(access(tpath("b.png"), F_OK) != 0);
    CHECK_EQ_INT(run_cli(err, sizeof err, "plot-history '%s' --out /nonexistent-laperm-dir/h.png", csv), 1);
    CHECK_STR_CONTAINS(err, "/nonexistent-laperm-dir/h.png");

    CHECK_EQ_INT(run_cli(err, sizeof err, "profile --help"), 0);
    CHECK_EQ_INT(run_cli(err, sizeof err, "trace --help"), 0);
    CHECK_EQ_INT(run_cli(err, sizeof err, "profile --out x.png"), 2);
    CHECK_STR_CONTAINS(err, "--weights");
    CHECK_EQ_INT(run_cli(err, sizeof err, "profile --weights '%s' --out x.png", tpath("missing.h5")), 1);
    CHECK_STR_CONTAINS(err, "missing.h5");
    CHECK_EQ_INT(run_cli(err, sizeof err, "trace --before a.h5 --after b.h5 --out x.png"), 2);
    CHECK_STR_CONTAINS(err, "--layer");

    if (!conv7_perm_path) return; /* no HDF5 or no Conv7.h5 */
    const char *c7 = t_pretrained("Conv7.h5");
    CHECK_EQ_INT(run_cli(err, sizeof err, "profile --weights '%s' --out '%s' --model conv7", c7, tpath("cli-profile.png")), 0);
    CHECK_PNG(tpath("cli-profile.png"), 3 * LP_PLOT_PROFILE_PANEL_W, LP_PLOT_PROFILE_TITLE_H + 3 * LP_PLOT_PROFILE_PANEL_H,
              100);
    CHECK_EQ_INT(run_cli(err, sizeof err, "profile --weights '%s' --out '%s'", c7, tpath("cli-profile.svg")), 0);
    CHECK(is_svg(tpath("cli-profile.svg")));
    CHECK_EQ_INT(run_cli(err, sizeof err, "profile --weights '%s' --out x.png --model nope", c7), 2);
    CHECK_STR_CONTAINS(err, "--model");
    CHECK_EQ_INT(run_cli(err, sizeof err, "profile --weights '%s' --out '%s' --model f1", c7, tpath("p.png")), 1);
    CHECK_STR_CONTAINS(err, "Conv7.h5");
    CHECK(access(tpath("p.png"), F_OK) != 0);

    CHECK_EQ_INT(run_cli(err, sizeof err, "trace --before '%s' --after '%s' --layer conv2d_15 --out '%s'", c7,
                         conv7_perm_path, tpath("cli-trace.png")),
                 0);
    CHECK_PNG(tpath("cli-trace.png"), LP_PLOT_TRACE_W, LP_PLOT_TRACE_H, 100);
    CHECK_EQ_INT(run_cli(err, sizeof err, "trace --before '%s' --after '%s' --layer conv2d_15 --all --out '%s'", c7,
                         conv7_perm_path, tpath("cli-trace-all.png")),
                 0);
    CHECK_PNG(tpath("cli-trace-all.png"), LP_PLOT_TRACE_W, LP_PLOT_TRACE_H, 100);
    CHECK_EQ_INT(run_cli(err, sizeof err, "trace --before '%s' --after '%s' --layer nope --out x.png", c7,
                         conv7_perm_path),
                 2);
    CHECK(strncmp(err, "laperm: error: ", 15) == 0);
    CHECK_STR_CONTAINS(err, "--layer");
    CHECK_STR_CONTAINS(err, "conv2d_14");
    CHECK_STR_CONTAINS(err, "dense_2");
    CHECK_EQ_INT(run_cli(err, sizeof err, "trace --before '%s' --after '%s' --layer dense_2 --vector 10 --out x.png",
                         c7, conv7_perm_path),
                 2);
    CHECK_STR_CONTAINS(err, "--vector");
    CHECK_EQ_INT(run_cli(err, sizeof err, "trace --before '%s' --after '%s' --layer dense_2 --vector 1 --all --out x.png",
                         c7, conv7_perm_path),
                 2);
    CHECK_EQ_INT(run_cli(err, sizeof err, "trace --before '%s' --after '%s' --layer dense_2 --out x.png", c7,
                         tpath("missing.h5")),
                 1);
    CHECK_STR_CONTAINS(err, "missing.h5");
    CHECK_EQ_INT(run_cli(err, sizeof err, "trace --before '%s' --after '%s' --layer dense_2 --out /nonexistent-laperm-dir/t.png",
                         c7, conv7_perm_path),
                 1);
    CHECK_STR_CONTAINS(err, "/nonexistent-laperm-dir/t.png");
    CHECK_EQ_INT(leftover_temporaries(), 0);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s", t_tmpdir("plot"));
    LP_RUN(test_history_csv);
    LP_RUN(test_history_plot);
    LP_RUN(test_output_errors);
    LP_RUN(test_trace_match);
    LP_RUN(test_profile_synthetic);
    LP_RUN(test_trace_synthetic);
    LP_RUN(test_conv7);
    LP_RUN(test_cli);
    printf("pictures in %s\n", tmpdir);
    return lp_test_done();
}
