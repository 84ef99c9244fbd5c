/* laperm trace: the seed's PermutationTracer. A layer's kernel before and
 * after as heat maps and an arrow from each moved weight's old place to its
 * new one (values matched within each weight vector by stable rank). */
#include "tools/laperm/cli.h"
#include "runtime/plot.h"

#include <stdio.h>
#include <string.h>

static const lp_h5_array *kernel_of(const lp_h5_layer *L)
{
    const lp_h5_array *first = NULL;
    for (int k = 0; k < L->nweights; k++) {
        if (L->weights[k].rank < 2) continue;
        if (strstr(L->weights[k].name, "kernel")) return &L->weights[k];
        if (!first) first = &L->weights[k];
    }
    return first;
}

/* The layer's kernel, or a usage error naming the file and listing the
 * layers that have one. */
static int find_layer(const lp_h5_weights *w, const char *path, const char *flag, const char *layer,
                      const lp_h5_array **k)
{
    int exists = 0;
    for (int l = 0; l < w->nlayers; l++) {
        if (strcmp(w->layers[l].name, layer) != 0) continue;
        exists = 1;
        if ((*k = kernel_of(&w->layers[l]))) return -1;
    }
    char list[800];
    size_t n = 0;
    int count = 0;
    list[0] = '\0';
    for (int l = 0; l < w->nlayers; l++) {
        if (!kernel_of(&w->layers[l])) continue;
        const char *nm = w->layers[l].name;
        if (n + strlen(nm) + 8 >= sizeof list) {
            snprintf(list + n, sizeof list - n, ", ...");
            break;
        }
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", count++ ? ", " : "", nm);
    }
    return cli_usage_error("--layer: %s layer '%s' in %s %s (layers with a kernel: %s)",
                           exists ? "no kernel in" : "no", layer, flag, path, count ? list : "none");
}

static int run(int argc, char **argv)
{
    const char *before = NULL, *after = NULL, *layer = NULL, *out = NULL;
    int vector = 0, all = 0;
    cli_opt opts[] = {
        {"--before", OPT_STRING, &before, "A.h5", "weights before training", 0, -1, 0},
        {"--after", OPT_STRING, &after, "B.h5", "weights after training (a permutation of A's vectors)", 0, -1, 0},
        {"--layer", OPT_STRING, &layer, "NAME", "the layer whose kernel is traced (as in the file's layer_names)", 0, -1, 0},
        {"--out", OPT_STRING, &out, "FILE.png", "the picture: PNG, or SVG when the name ends in .svg", 0, -1, 0},
        {"--vector", OPT_INT, &vector, "J", "draw the arrows of weight vector J only (default 0)", 0, 2147483647, 0},
        {"--all", OPT_FLAG, &all, NULL, "draw the arrows of all vectors (at most 3000, evenly chosen)", 0, 0, 0},
        CLI_END};
    int rc = cli_parse(&cmd_trace, opts, argc, argv, NULL, 0, 0);
    if (rc >= 0) return rc;
    if (!before || !*before) return cli_usage_error("trace: --before A.h5 is required");
    if (!after || !*after) return cli_usage_error("trace: --after B.h5 is required");
    if (!layer || !*layer) return cli_usage_error("trace: --layer NAME is required");
    if (!out || !*out) return cli_usage_error("trace: --out FILE.png is required");
    if (all && opts[4].seen) return cli_usage_error("trace: --vector and --all exclude each other");

    lp_h5_weights *wb = NULL, *wa = NULL;
    const lp_h5_array *kb = NULL, *ka = NULL;
    laperm_status s = lp_h5_read_weights_isolated(before, &wb);
    if (s) return cli_fail(s);
    s = lp_h5_read_weights_isolated(after, &wa);
    if (s) {
        lp_h5_weights_free(wb);
        return cli_fail(s);
    }
    if ((rc = find_layer(wb, before, "--before", layer, &kb)) >= 0 ||
        (rc = find_layer(wa, after, "--after", layer, &ka)) >= 0)
        goto out;
    int same = kb->rank == ka->rank;
    for (int d = 0; same && d < kb->rank; d++) same = kb->shape[d] == ka->shape[d];
    if (!same) {
        rc = cli_runtime_error("%s and %s: layer '%s' has kernels of different shapes", before, after, layer);
        goto out;
    }
    long long nvec = kb->shape[kb->rank - 1];
    if (!all && vector >= nvec) {
        rc = cli_usage_error("--vector: %d out of range, layer '%s' has %lld vectors (0..%lld)", vector, layer, nvec,
                             nvec - 1);
        goto out;
    }
    s = lp_plot_trace(out, wb, wa, layer, all ? -1 : vector);
    if (s) {
        rc = cli_fail(s);
        goto out;
    }
    printf("wrote %s\n", out);
    rc = EXIT_OK;
out:
    lp_h5_weights_free(wb);
    lp_h5_weights_free(wa);
    return rc;
}

const cli_cmd cmd_trace = {"trace", "--before A.h5 --after B.h5 --layer NAME --out FILE.png [--vector J] [--all]",
                           "permutation trace: a layer's kernel before and after, arrows from old to new places", run};
