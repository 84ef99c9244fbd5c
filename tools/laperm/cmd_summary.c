/* laperm summary: layers, output shapes and parameter counts. */
#include "tools/laperm/cli.h"
#include "models/models.h"

static int run(int argc, char **argv)
{
    const char *model = NULL;
    int json = 0;
    cli_opt opts[] = {{"--model", OPT_STRING, &model, "NAME", "conv7, conv2, conv4, conv13, resnet50, f1 or f2", 0, -1, 0},
                      {"--json", OPT_FLAG, &json, NULL, "print one JSON object", 0, 0, 0},
                      CLI_END};
    int rc = cli_parse(&cmd_summary, opts, argc, argv, NULL, 0, 0);
    if (rc >= 0) return rc;
    if (!model) return cli_usage_error("summary: --model is required (one of %s)", lp_model_names());
    lp_model *m;
    laperm_status s = lp_model_build(model, &m);
    if (s) return cli_fail(s);
    size_t total = lp_model_total_params(m), trainable = lp_model_trainable_params(m);
    if (json) {
        printf("{\"model\": ");
        json_str(stdout, m->name);
        printf(", \"layers\": [");
        for (int i = 0; i < m->nnodes; i++) {
            const lp_node *n = &m->nodes[i];
            printf("%s{\"name\": ", i ? ", " : "");
            json_str(stdout, n->name);
            printf(", \"type\": ");
            json_str(stdout, lp_layer_type_name(n->type));
            if (n->type == LP_FLATTEN || n->type == LP_DENSE)
                printf(", \"output_shape\": [null, %d]", n->c);
            else
                printf(", \"output_shape\": [null, %d, %d, %d]", n->h, n->w, n->c);
            printf(", \"params\": %zu}", lp_node_params(m, i));
        }
        printf("], \"total_params\": %zu, \"trainable_params\": %zu}\n", total, trainable);
    } else {
        printf("Model: %s\n", m->name);
        printf("%-28s %-22s %-20s %10s\n", "Layer (type)", "", "Output Shape", "Param #");
        printf("==========================================================================================\n");
        for (int i = 0; i < m->nnodes; i++) {
            const lp_node *n = &m->nodes[i];
            char shape[64];
            if (n->type == LP_FLATTEN || n->type == LP_DENSE) snprintf(shape, sizeof shape, "(None, %d)", n->c);
            else snprintf(shape, sizeof shape, "(None, %d, %d, %d)", n->h, n->w, n->c);
            char name[96];
            snprintf(name, sizeof name, "%s (%s)", n->name, lp_layer_type_name(n->type));
            printf("%-51s %-20s %10zu\n", name, shape, lp_node_params(m, i));
        }
        printf("==========================================================================================\n");
        printf("Total params: %zu\nTrainable params: %zu\nNon-trainable params: %zu\n", total, trainable,
               total - trainable);
    }
    lp_model_free(m);
    return EXIT_OK;
}

const cli_cmd cmd_summary = {"summary", "--model NAME [--json]",
                             "layers, output shapes and parameter counts (like Keras' model.summary)", run};
