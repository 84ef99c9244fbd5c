/* laperm eval: test-set loss and accuracy of a weight file. */
#define _POSIX_C_SOURCE 200809L
#include "tools/laperm/cli.h"
#include "tools/laperm/datasets.h"
#include "runtime/dispatch.h"
#include "runtime/pipeline.h"
#include "runtime/weights.h"

#include <stdlib.h>
#include <time.h>

static int run(int argc, char **argv)
{
    const char *model = NULL, *weights = NULL, *data_flag = NULL, *backend = NULL;
    int json = 0, threads = 0, batch = 500, standardize = 0;
    cli_opt opts[] = {
        {"--model", OPT_STRING, &model, "NAME", "conv7, conv2, conv4, conv13, resnet50, f1 or f2", 0, -1, 0},
        {"--weights", OPT_STRING, &weights, "FILE.h5", "Keras weight file (save_weights or model.save) or a laperm checkpoint", 0, -1, 0},
        {"--data-dir", OPT_STRING, &data_flag, "DIR", "data directory (default $LAPERM_DATA, else ./data)", 0, -1, 0},
        {"--batch", OPT_INT, &batch, "B", "images per forward pass (default 500)", 1, 100000, 0},
        {"--standardize", OPT_FLAG, &standardize, NULL, "CIFAR conv2/4/13: standardise inputs (off: the seed's raw 0..255)", 0, 0, 0},
        {"--threads", OPT_INT, &threads, "N", "threads (default: OMP_NUM_THREADS, else all cores)", 1, 4096, 0},
        {"--backend", OPT_STRING, &backend, "NAME", "native or dnnl", 0, -1, 0},
        {"--json", OPT_FLAG, &json, NULL, "print one JSON object", 0, 0, 0},
        CLI_END};
    int rc = cli_parse(&cmd_eval, opts, argc, argv, NULL, 0, 0);
    if (rc >= 0) return rc;
    if (!model) return cli_usage_error("eval: --model is required (one of %s)", lp_model_names());
    if (!weights) return cli_usage_error("eval: --weights FILE.h5 is required");
    const lp_preset *p = lp_preset_find(model);
    if (!p) return cli_usage_error("--model: unknown model '%s' (expected one of %s)", model, lp_model_names());
    cli_set_threads(threads);
    if ((rc = cli_init_kernels(backend)) >= 0) return rc;

    lp_model *m = NULL;
    laperm_dataset *train = NULL, *test = NULL;
    lp_pipeline pipe = {0};
    float *x = NULL;
    uint8_t *labels = NULL;
    laperm_status s = lp_model_build(model, &m);
    if (!s) s = lp_model_prepare(m, batch);
    if (!s) s = lp_weights_load(m, weights);
    lp_preprocess pre = p->preprocess;
    if (standardize && pre == LP_PRE_RAW) pre = LP_PRE_STANDARDIZE;
    int need_train = pre == LP_PRE_MEAN_IMAGE || pre == LP_PRE_STANDARDIZE;
    if (!s) s = cli_load_data(p, cli_data_dir(data_flag), need_train ? &train : NULL, &test);
    if (!s) s = lp_pipeline_init(&pipe, pre, train);
    if (!s) {
        x = malloc((size_t)batch * m->in_h * m->in_w * m->in_c * sizeof(float));
        labels = malloc((size_t)batch);
        if (!x || !labels) s = LAPERM_E_NOMEM;
    }
    if (s) {
        rc = cli_fail(s);
        goto out;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double loss, acc;
    lp_evaluate(m, lp_kernels_get(), &pipe, test, NULL, test->n, x, labels, &loss, &acc);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    const char *dataset = p->dataset == LP_DATA_MNIST ? "mnist" : "cifar10";
    if (json) {
        printf("{\"model\": ");
        json_str(stdout, model);
        printf(", \"weights\": ");
        json_str(stdout, weights);
        printf(", \"dataset\": \"%s\", \"n\": %zu, \"accuracy\": %.4f, \"loss\": %.6f, \"seconds\": %.3f}\n",
               dataset, test->n, acc, loss, secs);
    } else {
        printf("%s on %s test (%zu images): accuracy %.4f, loss %.4f (%.2f s)\n", weights, dataset,
               test->n, acc, loss, secs);
    }
    rc = EXIT_OK;
out:
    free(x);
    free(labels);
    lp_pipeline_free(&pipe);
    laperm_dataset_free(train);
    laperm_dataset_free(test);
    lp_model_free(m);
    return rc;
}

const cli_cmd cmd_eval = {"eval", "--model NAME --weights FILE.h5 [--data-dir DIR] [--json]",
                          "test-set loss and accuracy of a weight file", run};
