/* laperm bench (CLI.md): exit codes and the --json keys. No timing checks,
 * beyond which layer kinds take time at all and that the kinds add up. */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "cli_run.h"

#include <stdio.h>
#include <string.h>

static const char *const kinds[] = {"conv_fwd", "conv_bwd_data", "conv_bwd_weights", "dense_fwd",
                                    "dense_bwd", "bn_fwd", "bn_bwd", "act", "pool", "dropout",
                                    "softmax_loss", "add", "bias", "l2", "data", "optimizer",
                                    "sync", "other"};
#define NKINDS (sizeof kinds / sizeof *kinds)

/* A value of the "kinds" object (NAN if absent): "data" and "sync" are also
 * keys of "breakdown", which comes first. */
static double kind_ms(const char *json, const char *key)
{
    const char *k = strstr(json, "\"kinds\": {");
    return k ? json_num(k, key) : 0.0 / 0.0;
}

/* Every kind present and >= 0, and all of them sum to step_ms (within 1%). */
static void check_kinds(const char *j)
{
    CHECK(json_num(j, "step_ms") > 0);
    double sum = 0;
    for (size_t i = 0; i < NKINDS; i++) {
        double v = kind_ms(j, kinds[i]);
        if (!(v >= 0)) printf("  kind %s: %g\n", kinds[i], v);
        CHECK(v >= 0); /* false for NAN (absent) too */
        sum += v;
    }
    CHECK_NEAR(sum / json_num(j, "step_ms"), 1.0, 0.01);
}

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
    check_kinds(j);
    /* f2 is Dense layers only */
    CHECK(kind_ms(j, "dense_fwd") > 0);
    CHECK(kind_ms(j, "dense_bwd") > 0);
    CHECK(kind_ms(j, "conv_fwd") == 0);
    CHECK(kind_ms(j, "bn_fwd") == 0);
    cli_free(&r);
}

/* conv7: convolutions, no BatchNormalization; conv2: both. */
static void test_bench_kinds(void)
{
    cli_result r = cli_run("bench --model conv7 --batch 8 --steps 2 --sync-reps 1 --json");
    CHECK_EQ_INT(r.status, 0);
    const char *j = last_line(r.out);
    check_kinds(j);
    CHECK(kind_ms(j, "conv_fwd") > 0);
    CHECK(kind_ms(j, "conv_bwd_data") > 0);
    CHECK(kind_ms(j, "conv_bwd_weights") > 0);
    CHECK(kind_ms(j, "bias") > 0);
    CHECK(kind_ms(j, "dropout") > 0);
    CHECK(kind_ms(j, "bn_fwd") == 0);
    CHECK(kind_ms(j, "bn_bwd") == 0);
    CHECK(kind_ms(j, "pool") == 0);
    CHECK(kind_ms(j, "add") == 0);
    cli_free(&r);

    r = cli_run("bench --model conv2 --batch 4 --steps 1 --sync-reps 1 --json");
    CHECK_EQ_INT(r.status, 0);
    j = last_line(r.out);
    check_kinds(j);
    CHECK(kind_ms(j, "conv_fwd") > 0);
    CHECK(kind_ms(j, "bn_fwd") > 0);
    CHECK(kind_ms(j, "bn_bwd") > 0);
    CHECK(kind_ms(j, "pool") > 0);
    CHECK(kind_ms(j, "l2") > 0);
    cli_free(&r);
}

/* --layers: one entry per convolution of conv7 in model order, with its
 * geometry at the benchmark's batch; the input layer needs no dx; the
 * layers' times add up to the three convolution kinds (the same laps). */
static void test_bench_layers(void)
{
    cli_result r = cli_run("bench --model conv7 --batch 8 --steps 2 --sync-reps 1 --layers --json");
    CHECK_EQ_INT(r.status, 0);
    const char *j = last_line(r.out);
    static const char *const names[] = {"conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4", "conv2d_5", "conv2d_6"};
    static const char *const geos[] = {"28x28x1-32k3s1", "26x26x32-32k3s1", "24x24x32-32k5s2", "12x12x32-64k3s1",
                                       "10x10x64-64k3s1", "8x8x64-64k5s2", "4x4x64-128k4s1"};
    const char *at = strstr(j, "\"layers\": [");
    CHECK(at != NULL);
    double sum[3] = {0, 0, 0};
    for (size_t i = 0; at && i < sizeof names / sizeof *names; i++) {
        char want[96];
        snprintf(want, sizeof want, "{\"name\": \"%s\", \"geometry\": \"%s\"", names[i], geos[i]);
        const char *e = strstr(at, want);
        CHECK_MSG(e != NULL, "layer %s (%s) missing or out of order", names[i], geos[i]);
        if (!e) break;
        at = e + 1;
        const double f = json_num(e, "fwd_ms"), d = json_num(e, "bwd_data_ms"), w = json_num(e, "bwd_weights_ms");
        CHECK(f > 0 && w > 0);
        CHECK(i == 0 ? d == 0 : d > 0);
        sum[0] += f;
        sum[1] += d;
        sum[2] += w;
    }
    CHECK(at == NULL || strstr(at, "{\"name\"") == NULL); /* seven, no more */
    CHECK_NEAR(sum[0], kind_ms(j, "conv_fwd"), 1e-3 + 1e-3 * sum[0]);
    CHECK_NEAR(sum[1], kind_ms(j, "conv_bwd_data"), 1e-3 + 1e-3 * sum[1]);
    CHECK_NEAR(sum[2], kind_ms(j, "conv_bwd_weights"), 1e-3 + 1e-3 * sum[2]);
    cli_free(&r);

    /* the table, and no layers without --layers */
    r = cli_run("bench --model conv7 --batch 4 --steps 1 --sync-reps 1 --layers");
    CHECK_EQ_INT(r.status, 0);
    CHECK_STR_CONTAINS(r.out, "by convolution layer");
    CHECK_STR_CONTAINS(r.out, "conv2d_5         8x8x64-64k5s2");
    cli_free(&r);
    r = cli_run("bench --model conv7 --batch 4 --steps 1 --sync-reps 1 --json");
    CHECK_EQ_INT(r.status, 0);
    CHECK(strstr(r.out, "\"layers\"") == NULL);
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
    CHECK_STR_CONTAINS(r.out, "by kind");
    CHECK_STR_CONTAINS(r.out, "dense_fwd");
    CHECK(strstr(r.out, "conv_fwd") == NULL); /* no time, so not listed */
    cli_free(&r);
}

int main(void)
{
    LP_RUN(test_bench_json);
    LP_RUN(test_bench_kinds);
    LP_RUN(test_bench_layers);
    LP_RUN(test_bench_errors);
    LP_RUN(test_bench_text);
    return lp_test_done();
}
