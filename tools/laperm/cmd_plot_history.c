/* laperm plot-history: training curves from a history CSV (laperm train
 * --history): accuracy and loss, train and validation, against step. */
#include "tools/laperm/cli.h"
#include "runtime/plot.h"

#include <stdlib.h>
#include <string.h>

static int run(int argc, char **argv)
{
    const char *out = NULL, *title = NULL;
    cli_opt opts[] = {
        {"--out", OPT_STRING, &out, "FILE.png", "the picture: PNG, or SVG when the name ends in .svg", 0, -1, 0},
        {"--title", OPT_STRING, &title, "TEXT", "title (default: the CSV's file name)", 0, -1, 0},
        CLI_END};
    const char *pos[1] = {NULL};
    int rc = cli_parse(&cmd_plot_history, opts, argc, argv, pos, 1, 1);
    if (rc >= 0) return rc;
    if (!out || !*out) return cli_usage_error("plot-history: --out FILE.png is required");
    const char *csv = pos[0];
    if (!title) {
        const char *slash = strrchr(csv, '/');
        title = slash ? slash + 1 : csv;
    }
    lp_history_row *rows = NULL;
    int n = 0;
    laperm_status s = lp_history_read_csv(csv, &rows, &n);
    if (s) return cli_fail(s);
    if (n == 0) {
        free(rows);
        return cli_runtime_error("%s: no data rows after the header, nothing to plot", csv);
    }
    s = lp_plot_history_rows(out, rows, n, title);
    free(rows);
    if (s) return cli_fail(s);
    printf("wrote %s (%d points from %s)\n", out, n, csv);
    return EXIT_OK;
}

const cli_cmd cmd_plot_history = {"plot-history", "FILE.csv --out FILE.png [--title TEXT]",
                                  "training curves (accuracy and loss, train and validation, vs step)", run};
