/* laperm bench: end-to-end speed of a model on synthetic inputs (training
 * step and inference images/s, one full LaPerm sync, the step's breakdown by
 * phase and by layer kind); the measuring is runtime/bench_step.c. */
#define _POSIX_C_SOURCE 200809L
#include "tools/laperm/cli.h"
#include "models/models.h"
#include "runtime/bench_step.h"
#include "runtime/dispatch.h"

#include <omp.h>
#include <stdio.h>

/* "HxWxC-OCkKsS" ("26x26x32-32k3s1"; kernel and stride as KHxKW, SHxSW
 * when they differ), as bench_conv names its layers. */
static void geom_text(const lp_conv_geom *g, char *buf, size_t n)
{
    if (g->kh == g->kw && g->sh == g->sw)
        snprintf(buf, n, "%dx%dx%d-%dk%ds%d", g->h, g->w, g->c, g->oc, g->kh, g->sh);
    else
        snprintf(buf, n, "%dx%dx%d-%dk%dx%ds%dx%d", g->h, g->w, g->c, g->oc, g->kh, g->kw, g->sh, g->sw);
}

static int run(int argc, char **argv)
{
    const char *model = NULL, *backend = NULL;
    int json = 0, threads = 0, batch = 0, steps = 10, warmup = 1, sync_reps = 5, layers = 0;
    cli_opt opts[] = {
        {"--model", OPT_STRING, &model, "NAME", "conv7, conv2, conv4, conv13, resnet50, f1 or f2", 0, -1, 0},
        {"--batch", OPT_INT, &batch, "B", "images per step (default: the model's preset)", 1, 100000, 0},
        {"--steps", OPT_INT, &steps, "N", "timed training steps and inference passes (default 10)", 1, 1000000, 0},
        {"--warmup", OPT_INT, &warmup, "N", "untimed steps and passes first (default 1)", 0, 1000000, 0},
        {"--sync-reps", OPT_INT, &sync_reps, "N", "full syncs timed, median reported (default 5)", 1, 10000, 0},
        {"--threads", OPT_INT, &threads, "T", "threads (default: OMP_NUM_THREADS, else all cores)", 1, 4096, 0},
        {"--backend", OPT_STRING, &backend, "NAME", "native or dnnl", 0, -1, 0},
        {"--layers", OPT_FLAG, &layers, NULL, "also time each convolution layer (forward, backward-data, backward-weights)", 0, 0, 0},
        {"--json", OPT_FLAG, &json, NULL, "print one JSON object", 0, 0, 0},
        CLI_END};
    int rc = cli_parse(&cmd_bench, opts, argc, argv, NULL, 0, 0);
    if (rc >= 0) return rc;
    if (!model) return cli_usage_error("bench: --model is required (one of %s)", lp_model_names());
    const lp_preset *p = lp_preset_find(model);
    if (!p) return cli_usage_error("--model: unknown model '%s' (expected one of %s)", model, lp_model_names());
    cli_set_threads(threads);
    if ((rc = cli_init_kernels(backend)) >= 0) return rc;

    lp_bench_opts o = {.model = model, .batch = batch, .steps = steps, .warmup = warmup,
                       .sync_reps = sync_reps, .kinds = 1, .layers = layers, .seed = 1};
    static lp_bench_result r; /* its layers[] table is large for a stack */
    laperm_status s = lp_bench_model(&o, lp_kernels_get(), &r);
    if (s) return cli_fail(s);

    int nthreads = omp_get_max_threads();
    const char *isa = lp_isa_name(lp_isa_selected()), *be = lp_backend_selected();
    if (json) {
        printf("{\"model\": ");
        json_str(stdout, model);
        printf(", \"batch\": %d, \"threads\": %d, \"isa\": ", r.batch, nthreads);
        json_str(stdout, isa);
        printf(", \"backend\": ");
        json_str(stdout, be);
        printf(", \"train_img_per_s\": %.2f, \"infer_img_per_s\": %.2f, \"sync_ms\": %.4f, \"weights\": %zu, "
               "\"sync_ns_per_weight\": %.4f, \"breakdown\": {",
               r.train_img_per_s, r.infer_img_per_s, r.sync_s * 1e3, r.weights, r.sync_ns_per_weight);
        for (int i = 0; i < LP_BENCH_PARTS; i++)
            printf("%s\"%s\": %.4f", i ? ", " : "", lp_bench_part_names[i],
                   r.step_s > 0 ? r.part_s[i] / r.step_s : 0.0);
        printf("}, \"step_ms\": %.4f, \"kinds\": {", r.step_s * 1e3);
        for (int i = 0; i < LP_BENCH_KINDS; i++)
            printf("%s\"%s\": %.4f", i ? ", " : "", lp_bench_kind_name(i), r.kind_s[i] * 1e3);
        printf("}");
        if (layers) {
            printf(", \"layers\": [");
            for (int i = 0; i < r.nlayers; i++) {
                const lp_bench_layer *l = &r.layers[i];
                char geo[64];
                geom_text(&l->geom, geo, sizeof geo);
                printf("%s{\"name\": ", i ? ", " : "");
                json_str(stdout, l->name);
                printf(", \"geometry\": ");
                json_str(stdout, geo);
                printf(", \"fwd_ms\": %.4f, \"bwd_data_ms\": %.4f, \"bwd_weights_ms\": %.4f}", l->fwd_s * 1e3,
                       l->bwd_data_s * 1e3, l->bwd_weights_s * 1e3);
            }
            printf("]");
        }
        printf("}\n");
    } else {
        printf("%s: batch %d, %d thread%s, isa %s, backend %s, %d timed steps\n", model, r.batch, nthreads,
               nthreads == 1 ? "" : "s", isa, be, r.steps);
        printf("training:   %10.1f img/s  (%.2f ms per step, sync amortised)\n", r.train_img_per_s,
               r.step_s * 1e3);
        printf("inference:  %10.1f img/s\n", r.infer_img_per_s);
        printf("sync:       %10.3f ms for %zu weights (%.3f ns/weight), every %d steps\n", r.sync_s * 1e3,
               r.weights, r.sync_ns_per_weight, r.k);
        printf("step breakdown:\n");
        for (int i = 0; i < LP_BENCH_PARTS; i++)
            printf("  %-10s %6.1f%%  %9.3f ms\n", lp_bench_part_names[i],
                   r.step_s > 0 ? 100.0 * r.part_s[i] / r.step_s : 0.0, r.part_s[i] * 1e3);
        printf("by kind (kinds under 1 us omitted):\n");
        for (int i = 0; i < LP_BENCH_KINDS; i++) {
            if (r.kind_s[i] < 1e-6) continue;
            printf("  %-16s %6.1f%%  %9.3f ms\n", lp_bench_kind_name(i),
                   r.step_s > 0 ? 100.0 * r.kind_s[i] / r.step_s : 0.0, r.kind_s[i] * 1e3);
        }
        if (layers) {
            printf("by convolution layer (ms per step; geometry HxWxC-OCkKsS):\n");
            printf("  %-16s %-20s %9s %9s %9s\n", "layer", "geometry", "forward", "bwd-data", "bwd-weights");
            for (int i = 0; i < r.nlayers; i++) {
                const lp_bench_layer *l = &r.layers[i];
                char geo[64];
                geom_text(&l->geom, geo, sizeof geo);
                printf("  %-16s %-20s %9.3f %9.3f %9.3f\n", l->name, geo, l->fwd_s * 1e3, l->bwd_data_s * 1e3,
                       l->bwd_weights_s * 1e3);
            }
        }
    }
    return EXIT_OK;
}

const cli_cmd cmd_bench = {"bench", "--model NAME [--batch B] [--steps N] [--threads T] [--layers] [--json]",
                           "training and inference speed, sync cost and step breakdown on synthetic inputs",
                           run};
