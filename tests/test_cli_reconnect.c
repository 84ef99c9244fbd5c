/* `laperm reconnect` end to end ($LAPERM_CLI): exit codes, error lines, JSON,
 * and the output file against lp_reconnect. */
#define _XOPEN_SOURCE 700

#include "lp_test.h"
#include "h5_util.h"
#include "runtime/h5io.h"
#include "runtime/reconnect.h"

#include <sys/wait.h>

static const char *cli, *tmpd;
static char out_buf[65536], err_buf[65536];

static const char *tpath(const char *name)
{
    static char p[8][1200];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpd, name);
    return p[k];
}

static void slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Run `laperm reconnect <args>`; stdout/stderr into out_buf/err_buf. */
static int run(const char *args)
{
    char cmd[4096];
    char o[1200], e[1200];
    snprintf(o, sizeof o, "%s", tpath("stdout.txt"));
    snprintf(e, sizeof e, "%s", tpath("stderr.txt"));
    snprintf(cmd, sizeof cmd, "'%s' reconnect %s >'%s' 2>'%s'", cli, args, o, e);
    int rc = system(cmd);
    slurp(o, out_buf, sizeof out_buf);
    slurp(e, err_buf, sizeof err_buf);
    if (rc == -1 || !WIFEXITED(rc)) return -1;
    return WEXITSTATUS(rc);
}

static lp_h5_weights *small_set(t_rng *r, const char *pfx, int extra)
{
    lp_h5_weights *w = t_new_weights(4);
    char n[4][32], k[64];
    for (int i = 0; i < 4; i++) snprintf(n[i], sizeof n[i], "%s_%d", pfx, i);
    t_layer(w, 0, n[0], 2);
    snprintf(k, sizeof k, "%s/kernel:0", n[0]);
    t_weight(w, 0, 0, k, 4, (int64_t[]){3, 3, 2, 4});
    snprintf(k, sizeof k, "%s/bias:0", n[0]);
    t_weight(w, 0, 1, k, 1, (int64_t[]){4});
    t_layer(w, 1, n[1], 0);
    t_layer(w, 2, n[2], 2);
    snprintf(k, sizeof k, "%s/kernel:0", n[2]);
    t_weight(w, 2, 0, k, 2, (int64_t[]){72, 10 + extra});
    snprintf(k, sizeof k, "%s/bias:0", n[2]);
    t_weight(w, 2, 1, k, 1, (int64_t[]){10 + extra});
    t_layer(w, 3, n[3], 0);
    for (int i = 0; i < w->nlayers; i++)
        for (int j = 0; j < w->layers[i].nweights; j++) {
            lp_h5_array *a = &w->layers[i].weights[j];
            for (int64_t e = 0; e < t_count(a); e++)
                a->data[e] = t_below(r, 4) ? t_unif(r) - 0.5f : 0.0f;
        }
    return w;
}

static char A[1200], B[1200], Bbad[1200];
static lp_h5_weights *wa, *wb;

static void test_reconnect_ok(void)
{
    const char *C = tpath("C.h5");
    char args[4096];
    snprintf(args, sizeof args, "--ranks '%s' --values '%s' --out '%s' --json", A, B, C);
    int rc = run(args);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, err_buf);
    lp_h5_weights *want = NULL, *got = NULL;
    lp_reconnect_stats st;
    CHECK(lp_reconnect_ex(wa, wb, 0, 0, &want, &st) == LAPERM_OK);
    CHECK_MSG(lp_h5_read_weights(C, &got) == LAPERM_OK, "%s", laperm_last_error());
    if (want && got) {
        char why[512];
        CHECK_MSG(t_weights_equal(want, got, why, sizeof why), "%s", why);
    }
    /* JSON on the last line. */
    char *last = out_buf + strlen(out_buf);
    while (last > out_buf && last[-1] == '\n') *--last = '\0';
    char *nl = strrchr(out_buf, '\n');
    last = nl ? nl + 1 : out_buf;
    char exp[256];
    snprintf(exp, sizeof exp, "\"vectors\": %lld, \"weights\": %lld", (long long)st.vectors,
             (long long)st.weights);
    CHECK_STR_CONTAINS(last, exp);
    CHECK_STR_CONTAINS(last, "\"ranks\": \"");
    CHECK_STR_CONTAINS(last, "\"out\": \"");
    CHECK(last[0] == '{' && last[strlen(last) - 1] == '}');
    CHECK_EQ_INT(st.vectors, 4 + 1 + 10 + 1); /* conv filters, bias, dense columns, bias */
    printf("     %s\n", last);
    lp_h5_weights_free(want);
    lp_h5_weights_free(got);

    /* --skip-bias and --model. */
    snprintf(args, sizeof args, "--ranks '%s' --values '%s' --out '%s' --skip-bias --model conv7", A,
             B, C);
    rc = run(args);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, err_buf);
    CHECK_STR_CONTAINS(out_buf, "reconnected");
    got = NULL;
    CHECK(lp_h5_read_weights(C, &got) == LAPERM_OK);
    if (got) {
        CHECK(memcmp(got->layers[0].weights[1].data, wa->layers[0].weights[1].data, 4 * 4) == 0);
        CHECK(memcmp(got->layers[2].weights[1].data, wa->layers[2].weights[1].data, 10 * 4) == 0);
    }
    lp_h5_weights_free(got);
    CHECK_EQ_INT(run("--help"), 0);
    CHECK_STR_CONTAINS(out_buf, "--ranks");
}

static void test_usage_errors(void)
{
    char args[4096];
    snprintf(args, sizeof args, "--ranks '%s' --values '%s'", A, B);
    CHECK_EQ_INT(run(args), 2);
    CHECK_STR_CONTAINS(err_buf, "laperm: error: ");
    CHECK_STR_CONTAINS(err_buf, "--out");
    snprintf(args, sizeof args, "--ranks '%s' --out '%s'", A, tpath("x.h5"));
    CHECK_EQ_INT(run(args), 2);
    CHECK_STR_CONTAINS(err_buf, "--values");
    snprintf(args, sizeof args, "--ranks '%s' --values '%s' --out '%s' --model vgg", A, B, tpath("x.h5"));
    CHECK_EQ_INT(run(args), 2);
    CHECK_STR_CONTAINS(err_buf, "laperm: error: --model");
    snprintf(args, sizeof args, "--ranks '%s' --values '%s' --out '%s' --bogus", A, B, tpath("x.h5"));
    CHECK_EQ_INT(run(args), 2);
    CHECK(t_file_size(tpath("x.h5")) < 0);
}

static void test_runtime_errors(void)
{
    char args[4096];
    const char *C = tpath("never.h5");
    const char *missing = tpath("missing.h5");
    snprintf(args, sizeof args, "--ranks '%s' --values '%s' --out '%s'", missing, B, C);
    CHECK_EQ_INT(run(args), 1);
    CHECK(strncmp(err_buf, "laperm: error: ", 15) == 0);
    CHECK_STR_CONTAINS(err_buf, missing);
    CHECK(strchr(err_buf, '\n') == err_buf + strlen(err_buf) - 1); /* one line */
    CHECK(t_file_size(C) < 0);

    /* Shapes differ. */
    snprintf(args, sizeof args, "--ranks '%s' --values '%s' --out '%s'", A, Bbad, C);
    CHECK_EQ_INT(run(args), 1);
    CHECK_STR_CONTAINS(err_buf, "laperm: error: reconnect: layer a_2");
    CHECK_STR_CONTAINS(err_buf, "[72,10] (ranks) vs [72,11]");
    CHECK(t_file_size(C) < 0);

    /* Not HDF5. */
    const char *txt = tpath("text.h5");
    FILE *f = fopen(txt, "w");
    fputs("hello\n", f);
    fclose(f);
    snprintf(args, sizeof args, "--ranks '%s' --values '%s' --out '%s'", A, txt, C);
    CHECK_EQ_INT(run(args), 1);
    CHECK_STR_CONTAINS(err_buf, "not an HDF5 file");

    /* Unwritable destination: no file, exit 1. */
    snprintf(args, sizeof args, "--ranks '%s' --values '%s' --out '%s/no/dir/C.h5'", A, B, tmpd);
    CHECK_EQ_INT(run(args), 1);
    CHECK_STR_CONTAINS(err_buf, "cannot create a temporary file");
}

int main(void)
{
    cli = getenv("LAPERM_CLI");
    if (!cli || !*cli || access(cli, X_OK) != 0) {
        printf("skipped: LAPERM_CLI (%s) is not an executable\n", cli ? cli : "unset");
        return 77;
    }
    tmpd = t_tmpdir("cli-reconnect");
    t_rng r = {31337};
    wa = small_set(&r, "a", 0);
    wb = small_set(&r, "b", 0);
    lp_h5_weights *bad = small_set(&r, "b", 1);
    snprintf(A, sizeof A, "%s", tpath("A.h5"));
    snprintf(B, sizeof B, "%s", tpath("B.h5"));
    snprintf(Bbad, sizeof Bbad, "%s", tpath("Bbad.h5"));
    if (lp_h5_write_weights(A, wa, NULL, 0) || lp_h5_write_weights(B, wb, NULL, 0) ||
        lp_h5_write_weights(Bbad, bad, NULL, 0)) {
        fprintf(stderr, "cannot write inputs: %s\n", laperm_last_error());
        return 1;
    }
    LP_RUN(test_reconnect_ok);
    LP_RUN(test_usage_errors);
    LP_RUN(test_runtime_errors);
    lp_h5_weights_free(wa);
    lp_h5_weights_free(wb);
    lp_h5_weights_free(bad);
    return lp_test_done();
}
