/* The command line contract (CLI.md): exit codes, error format, --help,
 * --json keys, summary counts. */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "cli_run.h"

static void test_help_and_unknown(void)
{
    cli_result r = cli_run("--help");
    CHECK_EQ_INT(r.status, 0);
    CHECK_STR_CONTAINS(r.out, "train");
    CHECK_STR_CONTAINS(r.out, "summary");
    cli_free(&r);
    r = cli_run("frobnicate");
    CHECK_EQ_INT(r.status, 2);
    CHECK_STR_CONTAINS(r.err, "laperm: error: unknown command 'frobnicate'");
    cli_free(&r);
    r = cli_run("");
    CHECK_EQ_INT(r.status, 2);
    cli_free(&r);
    const char *cmds[] = {"info", "summary", "train", "eval"};
    for (int i = 0; i < 4; i++) {
        char a[64];
        snprintf(a, sizeof a, "%s --help", cmds[i]);
        r = cli_run(a);
        CHECK_EQ_INT(r.status, 0);
        CHECK_STR_CONTAINS(r.out, "usage: laperm");
        cli_free(&r);
    }
}

static void test_info_json(void)
{
    cli_result r = cli_run("info --json");
    CHECK_EQ_INT(r.status, 0);
    const char *j = last_line(r.out);
    const char *keys[] = {"\"version\"", "\"isa\"", "\"isas_supported\"", "\"backend\"", "\"threads\"",
                          "\"kernels\"", "\"with\"", "\"hdf5\"", "\"dnnl\"", "\"benchmark\"", "\"plot\"",
                          "\"sync\"", "\"gemm\""};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) CHECK_STR_CONTAINS(j, keys[i]);
    CHECK(j[0] == '{');
    cli_free(&r);
    r = cli_run("info --threads 0");
    CHECK_EQ_INT(r.status, 2);
    CHECK_STR_CONTAINS(r.err, "laperm: error: --threads");
    cli_free(&r);
}

static void test_isa_override(void)
{
    cli_result r = cli_run("info --json");
    CHECK_EQ_INT(r.status, 0);
    cli_free(&r);
    /* an ISA that does not exist */
    r = cli_run("info");
    cli_free(&r);
    setenv("LAPERM_ISA", "mmx", 1);
    r = cli_run("info");
    unsetenv("LAPERM_ISA");
    CHECK_EQ_INT(r.status, 1);
    CHECK_STR_CONTAINS(r.err, "laperm: error: LAPERM_ISA");
    cli_free(&r);
    setenv("LAPERM_ISA", "scalar", 1);
    r = cli_run("info --json");
    unsetenv("LAPERM_ISA");
    CHECK_EQ_INT(r.status, 0);
    CHECK_STR_CONTAINS(r.out, "\"isa\": \"scalar\"");
    cli_free(&r);
#if defined(__x86_64__)
    setenv("LAPERM_ISA", "neon", 1);
#else
    setenv("LAPERM_ISA", "avx512", 1);
#endif
    r = cli_run("info");
    unsetenv("LAPERM_ISA");
    CHECK_EQ_INT(r.status, 1);
    CHECK_STR_CONTAINS(r.err, "not supported");
    cli_free(&r);
}

static void test_summary_counts(void)
{
    const char *names[] = {"conv7", "conv2", "conv4", "conv13", "resnet50", "f1", "f2"};
    const double want[] = {325578, 4304202, 2429514, 15001418, 763882, 7840, 109184};
    for (int i = 0; i < 7; i++) {
        char a[64];
        snprintf(a, sizeof a, "summary --model %s --json", names[i]);
        cli_result r = cli_run(a);
        CHECK_EQ_INT(r.status, 0);
        const char *j = last_line(r.out);
        CHECK_MSG(json_num(j, "total_params") == want[i], "%s: %s", names[i], j);
        CHECK_STR_CONTAINS(j, "\"layers\": [");
        CHECK_STR_CONTAINS(j, "\"output_shape\"");
        cli_free(&r);
    }
    cli_result r = cli_run("summary --model conv7");
    CHECK_EQ_INT(r.status, 0);
    CHECK_STR_CONTAINS(r.out, "Total params: 325578");
    CHECK_STR_CONTAINS(r.out, "(None, 1, 1, 128)");
    cli_free(&r);
}

static void test_usage_errors(void)
{
    struct { const char *args, *msg; } cases[] = {
        {"summary", "--model is required"},
        {"summary --model vgg", "unknown model 'vgg'"},
        {"summary --model conv7 --bogus", "unknown option '--bogus'"},
        {"train --model conv7 --epochs x", "--epochs: expected an integer, got 'x'"},
        {"train --model conv7 --epochs 0", "--epochs: 0 out of range"},
        {"train --model conv7 --lr", "--lr: missing value"},
        {"train --model conv7 --sync-bias --skip-bias", "contradict"},
        {"train --model conv7 --checkpoint-every 10", "--checkpoint-every needs --out"},
        {"train --model conv7 --prune 1.5", "--prune: 1.5 out of range"},
        {"eval --model conv7", "--weights FILE.h5 is required"},
        {"info --backend tpu", "unknown 'tpu'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cli_result r = cli_run(cases[i].args);
        CHECK_MSG(r.status == 2, "%s: exit %d", cases[i].args, r.status);
        CHECK_STR_CONTAINS(r.err, "laperm: error: ");
        CHECK_STR_CONTAINS(r.err, cases[i].msg);
        /* one line */
        CHECK(strchr(r.err, '\n') == r.err + strlen(r.err) - 1);
        cli_free(&r);
    }
}

static void test_runtime_errors(void)
{
    cli_result r = cli_run("train --model conv7 --data-dir /nonexistent/dir --max-steps 1");
    CHECK_EQ_INT(r.status, 1);
    CHECK_STR_CONTAINS(r.err, "laperm: error: ");
    CHECK_STR_CONTAINS(r.err, "/nonexistent/dir/mnist");
    CHECK_STR_CONTAINS(r.err, "laperm fetch mnist");
    cli_free(&r);
}

int main(void)
{
    LP_RUN(test_help_and_unknown);
    LP_RUN(test_info_json);
    LP_RUN(test_isa_override);
    LP_RUN(test_summary_counts);
    LP_RUN(test_usage_errors);
    LP_RUN(test_runtime_errors);
    return lp_test_done();
}
