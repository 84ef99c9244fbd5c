/* laperm init: a model's initial weights (the preset's initialisation, a
 * weight-agnostic or pruned set-up) as a Keras weight file, e.g. the random
 * values of the paper's reconnect experiment. */
#include "tools/laperm/cli.h"
#include "models/models.h"
#include "runtime/init.h"
#include "runtime/weights.h"

static int run(int argc, char **argv)
{
    const char *model = NULL, *out = NULL;
    long seed = 0;
    double prune = -1, agnostic = -1;
    int json = 0;
    cli_opt opts[] = {
        {"--model", OPT_STRING, &model, "NAME", "conv7, conv2, conv4, conv13, resnet50, f1 or f2", 0, -1, 0},
        {"--out", OPT_STRING, &out, "FILE.h5", "where to write the weights", 0, -1, 0},
        {"--seed", OPT_LONG, &seed, "S", "seed (default 0; the same draws as laperm train --seed S)", 0, 9.2e18, 0},
        {"--prune", OPT_DOUBLE, &prune, "RATE", "random_prune: share of weights pruned, 0..1", 0, 1, 0},
        {"--agnostic", OPT_DOUBLE, &agnostic, "VALUE", "weight-agnostic: every weight VALUE, masked as the preset (0: off)", -100, 100, 0},
        {"--json", OPT_FLAG, &json, NULL, "print one JSON object", 0, 0, 0},
        CLI_END};
    int rc = cli_parse(&cmd_init, opts, argc, argv, NULL, 0, 0);
    if (rc >= 0) return rc;
    if (!model) return cli_usage_error("init: --model is required (one of %s)", lp_model_names());
    if (!out) return cli_usage_error("init: --out FILE.h5 is required");
    const lp_preset *p = lp_preset_find(model);
    if (!p) return cli_usage_error("--model: unknown model '%s' (expected one of %s)", model, lp_model_names());
    if (prune >= 0 && agnostic > 0) return cli_usage_error("--prune and --agnostic contradict each other");
    lp_model *m = NULL;
    lp_h5_weights *w = NULL;
    laperm_status s = lp_model_build(model, &m);
    if (!s) s = lp_init_model(m, p, (uint64_t)seed, agnostic, prune);
    if (!s) s = lp_weights_export(m, &w);
    if (!s) s = lp_h5_write_weights(out, w, NULL, 0);
    size_t params = m ? lp_model_total_params(m) : 0;
    lp_h5_weights_free(w);
    lp_model_free(m);
    if (s) return cli_fail(s);
    if (json) {
        printf("{\"model\": ");
        json_str(stdout, model);
        printf(", \"seed\": %ld, \"params\": %zu, \"out\": ", seed, params);
        json_str(stdout, out);
        printf("}\n");
    } else {
        printf("%s: initial weights of %s (%zu params, seed %ld)\n", out, model, params, seed);
    }
    return EXIT_OK;
}

const cli_cmd cmd_init = {"init", "--model NAME --out FILE.h5 [--seed S] [--prune RATE] [--agnostic VALUE] [--json]",
                          "write a model's initial weights (he_uniform, agnostic or pruned) as a Keras .h5 file", run};
