/* Shared pieces of the laperm command line: option parsing with --help,
 * error reporting in CLI.md's format, exit codes and small JSON helpers. */
#ifndef LAPERM_TOOLS_CLI_H
#define LAPERM_TOOLS_CLI_H

#include <stdio.h>
#include "laperm/laperm.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

typedef enum { OPT_FLAG, OPT_INT, OPT_LONG, OPT_DOUBLE, OPT_STRING } cli_opt_type;

typedef struct cli_opt {
    const char *name;     /* "--epochs" */
    cli_opt_type type;
    void *ptr;            /* int*, long*, double*, const char** ; OPT_FLAG: int* set to 1 */
    const char *metavar;  /* "N" */
    const char *help;
    double min, max;      /* accepted range for numbers (min > max: no check) */
    int seen;             /* set by the parser */
} cli_opt;

#define CLI_END {0}

typedef struct cli_cmd {
    const char *name;
    const char *synopsis;   /* e.g. "--model NAME [--json]" */
    const char *summary;    /* one line */
    int (*run)(int argc, char **argv);
} cli_cmd;

/* Parse argv (argv[0] is the subcommand). Positional arguments go to pos
 * (at most max_pos, exactly min_pos required). Returns -1 when the caller
 * should go on, or an exit code: EXIT_OK after --help, EXIT_USAGE after a
 * reported usage error. */
int cli_parse(const cli_cmd *cmd, cli_opt *opts, int argc, char **argv,
              const char **pos, int min_pos, int max_pos);

/* "laperm: error: ..." on stderr; returns EXIT_USAGE / EXIT_RUNTIME. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_runtime_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report the library's last error; EXIT_USAGE for LAPERM_E_ARG, else EXIT_RUNTIME. */
int cli_fail(laperm_status s);

/* Apply --threads (0: OMP_NUM_THREADS, else all cores). */
void cli_set_threads(int threads);
/* Kernel selection from LAPERM_ISA / LAPERM_BACKEND or --backend; exit code or -1. */
int cli_init_kernels(const char *backend);
/* --data-dir, else $LAPERM_DATA, else ./data */
const char *cli_data_dir(const char *flag);

/* JSON: a string literal with escapes. */
void json_str(FILE *f, const char *s);

/* The subcommands. */
extern const cli_cmd cmd_info, cmd_init, cmd_summary, cmd_fetch, cmd_train, cmd_eval,
    cmd_reconnect, cmd_profile, cmd_trace, cmd_plot_history, cmd_bench;

#endif
