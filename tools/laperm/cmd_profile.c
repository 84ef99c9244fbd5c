/* laperm profile: the seed's Profiler. One panel per weight matrix of a
 * weight file, every weight vector's values sorted as a curve (LaPerm keeps
 * these curves fixed: it only moves values within a vector). */
#include "tools/laperm/cli.h"
#include "models/models.h"
#include "runtime/plot.h"
#include "runtime/weights.h"

#include <string.h>

static int run(int argc, char **argv)
{
    const char *weights = NULL, *out = NULL, *model = NULL, *title = NULL;
    cli_opt opts[] = {
        {"--weights", OPT_STRING, &weights, "A.h5", "Keras weight file (save_weights or model.save) or a laperm checkpoint", 0, -1, 0},
        {"--out", OPT_STRING, &out, "FILE.png", "the picture: PNG, or SVG when the name ends in .svg", 0, -1, 0},
        {"--model", OPT_STRING, &model, "NAME", "check that the weights fit this model and name the plot after it", 0, -1, 0},
        {"--title", OPT_STRING, &title, "TEXT", "title (default: the model, else the file name)", 0, -1, 0},
        CLI_END};
    int rc = cli_parse(&cmd_profile, opts, argc, argv, NULL, 0, 0);
    if (rc >= 0) return rc;
    if (!weights || !*weights) return cli_usage_error("profile: --weights A.h5 is required");
    if (!out || !*out) return cli_usage_error("profile: --out FILE.png is required");
    if (model && !lp_preset_find(model))
        return cli_usage_error("--model: unknown model '%s' (expected one of %s)", model, lp_model_names());

    lp_h5_weights *w = NULL;
    laperm_status s = lp_h5_read_weights_isolated(weights, &w);
    if (s) return cli_fail(s);
    if (model) {
        lp_model *m = NULL;
        s = lp_model_build(model, &m);
        if (!s) s = lp_weights_apply(m, w, weights);
        lp_model_free(m);
        if (s) {
            lp_h5_weights_free(w);
            return cli_runtime_error("%s: does not fit --model %s: %s", weights, model, laperm_last_error());
        }
    }
    if (!title) {
        const char *slash = strrchr(weights, '/');
        title = model ? model : slash ? slash + 1 : weights;
    }
    s = lp_plot_profile(out, w, title);
    lp_h5_weights_free(w);
    if (s) return cli_fail(s);
    printf("wrote %s\n", out);
    return EXIT_OK;
}

const cli_cmd cmd_profile = {"profile", "--weights A.h5 --out FILE.png|FILE.svg [--model NAME] [--title TEXT]",
                             "weight profiles: each weight vector's sorted values, one panel per matrix", run};
