/* laperm reconnect: C = B's values in A's order, per weight vector. */
#include "tools/laperm/cli.h"
#include "runtime/h5io.h"
#include "runtime/reconnect.h"

#include <string.h>

static const char *const model_names[] = {"conv7", "conv2", "conv4", "conv13",
                                          "resnet50", "f1", "f2"};

static int run(int argc, char **argv)
{
    const char *ranks = NULL, *values = NULL, *outp = NULL, *model = NULL;
    int skip_bias = 0, include_bn = 0, json = 0;
    cli_opt opts[] = {
        {"--ranks", OPT_STRING, &ranks, "A.h5", "weights whose order (ranks) C takes", 0, -1, 0},
        {"--values", OPT_STRING, &values, "B.h5", "weights whose values C takes", 0, -1, 0},
        {"--out", OPT_STRING, &outp, "C.h5", "output file (save_weights layout, A's names)", 0, -1, 0},
        {"--model", OPT_STRING, &model, "NAME",
         "conv7, conv2, conv4, conv13, resnet50, f1 or f2", 0, -1, 0},
        {"--skip-bias", OPT_FLAG, &skip_bias, NULL, "copy biases from A instead", 0, 0, 0},
        {"--include-bn", OPT_FLAG, &include_bn, NULL,
         "also reconnect BatchNormalization gamma and beta", 0, 0, 0},
        {"--json", OPT_FLAG, &json, NULL, "print one JSON object", 0, 0, 0},
        CLI_END};
    int rc = cli_parse(&cmd_reconnect, opts, argc, argv, NULL, 0, 0);
    if (rc >= 0) return rc;
    if (!ranks || !*ranks) return cli_usage_error("reconnect: --ranks A.h5 is required");
    if (!values || !*values) return cli_usage_error("reconnect: --values B.h5 is required");
    if (!outp || !*outp) return cli_usage_error("reconnect: --out C.h5 is required");
    if (model) {
        int ok = 0;
        for (size_t i = 0; i < sizeof model_names / sizeof *model_names; i++)
            ok |= strcmp(model, model_names[i]) == 0;
        if (!ok)
            return cli_usage_error("--model: unknown model '%s' (expected conv7, conv2, conv4, "
                                   "conv13, resnet50, f1 or f2)",
                                   model);
    }

    lp_h5_weights *a = NULL, *b = NULL, *c = NULL;
    lp_reconnect_stats st = {0, 0, 0};
    laperm_status s = lp_h5_read_weights_isolated(ranks, &a);
    if (!s) s = lp_h5_read_weights_isolated(values, &b);
    if (!s) s = lp_reconnect_ex(a, b, skip_bias, include_bn, &c, &st);
    if (!s) s = lp_h5_write_weights(outp, c, NULL, 0);
    lp_h5_weights_free(a);
    lp_h5_weights_free(b);
    lp_h5_weights_free(c);
    if (s) {
        /* Library messages name the file (reads, writes) or the layer
         * (reconnect); add which files a reconnect error is about. */
        const char *msg = laperm_last_error();
        if (strncmp(msg, "reconnect:", 10) == 0)
            return cli_runtime_error("%s (--ranks %s, --values %s)", msg, ranks, values);
        return cli_fail(s);
    }
    if (json) {
        printf("{\"ranks\": ");
        json_str(stdout, ranks);
        printf(", \"values\": ");
        json_str(stdout, values);
        printf(", \"out\": ");
        json_str(stdout, outp);
        printf(", \"vectors\": %lld, \"weights\": %lld, \"tensors\": %lld}\n", (long long)st.vectors,
               (long long)st.weights, (long long)st.tensors);
    } else {
        printf("reconnected %lld weights in %lld vectors of %lld tensors: values of %s in the order of %s\n"
               "wrote %s\n",
               (long long)st.weights, (long long)st.vectors, (long long)st.tensors, values, ranks,
               outp);
    }
    return EXIT_OK;
}

const cli_cmd cmd_reconnect = {
    "reconnect",
    "--ranks A.h5 --values B.h5 --out C.h5 [--model NAME] [--skip-bias] [--include-bn] [--json]",
    "C = B's values arranged in A's order, per weight vector", run};
