/* laperm bench (CLI.md): exit codes and the --json keys. No timing checks. */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "cli_run.h"

static void test_bench_json(void)
{
    cli_result r = cli_run("bench --model f2 --steps 3 --json");
    CHECK_EQ_INT(r.status, 0);
    const char *j = last_line(r.out);
    CHECK(j[0] == '{');
    const char *keys[] = {"\"model\": \"f2\"", "\"batch\": 128", "\"threads\"", "\"isa\"", "\"backend\"",
                          "\"train_img_per_s\"", "\"infer_img_per_s\"", "\"sync_ms\"", "\"weights\": 109184",
                          "\"sync_ns_per_weight\"", "\"breakdown\": {", "\"data\"", "\"forward\"",
                          "\"backward\"", "\"optimizer\"", "\"sync\""};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) CHECK_STR_CONTAINS(j, keys[i]);
    CHECK(json_num(j, "train_img_per_s") > 0);
    CHECK(json_num(j, "infer_img_per_s") > 0);
    CHECK(json_num(j, "sync_ms") > 0);
    /* the shares of the step add up to 1 */
    double sum = json_num(j, "data") + json_num(j, "forward") + json_num(j, "backward") +
                 json_num(j, "optimizer") + json_num(j, "sync");
    CHECK_NEAR(sum, 1.0, 0.01);
    cli_free(&r);
}

static void test_bench_errors(void)
{
    cli_result r = cli_run("bench");
    CHECK_EQ_INT(r.status, 2);
    CHECK_STR_CONTAINS(r.err, "laperm: error: bench: --model is required");
    cli_free(&r);
    r = cli_run("bench --model vgg99");
    CHECK_EQ_INT(r.status, 2);
    CHECK_STR_CONTAINS(r.err, "laperm: error: --model");
    cli_free(&r);
    r = cli_run("bench --model f2 --steps 0");
    CHECK_EQ_INT(r.status, 2);
    cli_free(&r);
    r = cli_run("bench --help");
    CHECK_EQ_INT(r.status, 0);
    CHECK_STR_CONTAINS(r.out, "usage: laperm bench");
    cli_free(&r);
}

static void test_bench_text(void)
{
    cli_result r = cli_run("bench --model f1 --batch 16 --steps 2 --threads 1");
    CHECK_EQ_INT(r.status, 0);
    CHECK_STR_CONTAINS(r.out, "f1: batch 16, 1 thread");
    CHECK_STR_CONTAINS(r.out, "ns/weight");
    cli_free(&r);
}

int main(void)
{
    LP_RUN(test_bench_json);
    LP_RUN(test_bench_errors);
    LP_RUN(test_bench_text);
    return lp_test_done();
}
