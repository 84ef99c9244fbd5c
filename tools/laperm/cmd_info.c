/* laperm info: version, CPU features, kernels chosen, optional parts. */
#include "tools/laperm/cli.h"
#include "runtime/dispatch.h"

#include <omp.h>

static int with(const char *part)
{
    (void)part;
#define IS(name, macro) if (__builtin_strcmp(part, name) == 0) return macro;
#ifdef LP_WITH_HDF5
    IS("hdf5", 1)
#endif
#ifdef LP_WITH_DNNL
    IS("dnnl", 1)
#endif
#ifdef LP_WITH_BENCHMARK
    IS("benchmark", 1)
#endif
#ifdef LP_WITH_PLOT
    IS("plot", 1)
#endif
#undef IS
    return 0;
}

static int run(int argc, char **argv)
{
    int json = 0, threads = 0;
    const char *backend = NULL;
    cli_opt opts[] = {
        {"--json", OPT_FLAG, &json, NULL, "print one JSON object", 0, 0, 0},
        {"--threads", OPT_INT, &threads, "N", "threads (default: OMP_NUM_THREADS, else all cores)", 1, 4096, 0},
        {"--backend", OPT_STRING, &backend, "NAME", "native or dnnl", 0, -1, 0},
        CLI_END};
    int rc = cli_parse(&cmd_info, opts, argc, argv, NULL, 0, 0);
    if (rc >= 0) return rc;
    cli_set_threads(threads);
    if ((rc = cli_init_kernels(backend)) >= 0) return rc;

    const lp_kernels *k = lp_kernels_get();
    const char *parts[] = {"hdf5", "dnnl", "benchmark", "plot"};
    if (json) {
        printf("{\"version\": ");
        json_str(stdout, laperm_version());
        printf(", \"isa\": ");
        json_str(stdout, lp_isa_name(lp_isa_selected()));
        printf(", \"isas_supported\": [");
        int first = 1;
        for (int i = 0; i < LP_ISA_COUNT; i++)
            if (lp_isa_supported((lp_isa)i)) {
                printf("%s", first ? "" : ", ");
                json_str(stdout, lp_isa_name((lp_isa)i));
                first = 0;
            }
        printf("], \"backend\": ");
        json_str(stdout, lp_backend_selected());
        printf(", \"threads\": %d, \"kernels\": {", omp_get_max_threads());
        for (int f = 0; f < LP_KF_COUNT; f++) {
            printf("%s", f ? ", " : "");
            json_str(stdout, lp_kernel_family_names[f]);
            printf(": ");
            json_str(stdout, k->impl[f]);
        }
        printf("}, \"with\": {");
        for (int i = 0; i < 4; i++) printf("%s\"%s\": %s", i ? ", " : "", parts[i], with(parts[i]) ? "true" : "false");
        printf("}}\n");
        return EXIT_OK;
    }
    printf("laperm %s\n", laperm_version());
    printf("isa:       %s (supported:", lp_isa_name(lp_isa_selected()));
    for (int i = 0; i < LP_ISA_COUNT; i++)
        if (lp_isa_supported((lp_isa)i)) printf(" %s", lp_isa_name((lp_isa)i));
    printf(")\nbackend:   %s\nthreads:   %d\nkernels:\n", lp_backend_selected(), omp_get_max_threads());
    for (int f = 0; f < LP_KF_COUNT; f++) printf("  %-10s %s\n", lp_kernel_family_names[f], k->impl[f]);
    printf("with:     ");
    for (int i = 0; i < 4; i++) printf(" %s=%s", parts[i], with(parts[i]) ? "yes" : "no");
    printf("\n");
    return EXIT_OK;
}

const cli_cmd cmd_info = {"info", "[--json] [--threads N] [--backend NAME]",
                          "version, CPU features, kernels chosen, optional parts", run};
