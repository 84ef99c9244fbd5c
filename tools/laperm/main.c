/* laperm: the command line. Each subcommand lives in its own cmd_*.c. */
#define _POSIX_C_SOURCE 200809L
#include "tools/laperm/cli.h"

#include <signal.h>
#include <string.h>

/* Subcommands present in this build; CLI.md lists the full contract. */
static const cli_cmd *const commands[] = {
    &cmd_info,
    &cmd_summary,
    &cmd_init,
    &cmd_fetch,
    &cmd_train,
    &cmd_eval,
    &cmd_reconnect,
    &cmd_profile,
    &cmd_trace,
    &cmd_plot_history,
    &cmd_bench,
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: laperm <command> [options]\n\n"
            "LaPerm (lookahead permutation) training: train neural networks by\n"
            "reconnecting their weights (Qiu and Suda, NeurIPS 2020).\n\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\n'laperm <command> --help' describes a command's options.\n"
               "Environment: LAPERM_DATA (data directory), LAPERM_ISA (scalar|avx2|avx512|neon),\n"
               "LAPERM_BACKEND (native|dnnl), OMP_NUM_THREADS.\n");
}

int main(int argc, char **argv)
{
    /* Over a file-size limit (ulimit -f) write() must fail with EFBIG and be
     * reported, not kill the process half-way through a file. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("laperm %s\n", laperm_version());
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(commands[i]->name, name) == 0) return commands[i]->run(argc - 1, argv + 1);
    cli_usage_error("unknown command '%s' (see laperm --help)", name);
    return EXIT_USAGE;
}
