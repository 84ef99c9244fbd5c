#include "tools/laperm/cli.h"
#include "runtime/dispatch.h"
#include "runtime/error.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void print_help(const cli_cmd *cmd, const cli_opt *opts)
{
    printf("usage: laperm %s %s\n\n%s\n", cmd->name, cmd->synopsis, cmd->summary);
    if (opts && opts[0].name) printf("\noptions:\n");
    for (const cli_opt *o = opts; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        printf("  %-26s %s\n", left, o->help ? o->help : "");
    }
    printf("  %-26s %s\n", "--help", "show this help");
}

static int parse_number(const cli_opt *o, const char *v)
{
    char *end;
    errno = 0;
    double d;
    if (o->type == OPT_DOUBLE) {
        d = strtod(v, &end);
    } else {
        long long x = strtoll(v, &end, 10);
        d = (double)x;
        if (o->type == OPT_INT && (x < -2147483647LL || x > 2147483647LL)) errno = ERANGE;
    }
    if (end == v || *end || errno)
        return cli_usage_error("%s: expected %s, got '%s'", o->name,
                               o->type == OPT_DOUBLE ? "a number" : "an integer", v);
    if (!isfinite(d)) /* NaN passes every range check */
        return cli_usage_error("%s: expected a finite number, got '%s'", o->name, v);
    if (o->min <= o->max && (d < o->min || d > o->max))
        return cli_usage_error("%s: %s out of range [%g, %g]", o->name, v, o->min, o->max);
    if (o->type == OPT_DOUBLE) *(double *)o->ptr = d;
    else if (o->type == OPT_INT) *(int *)o->ptr = (int)d;
    else *(long *)o->ptr = (long)d;
    return -1;
}

int cli_parse(const cli_cmd *cmd, cli_opt *opts, int argc, char **argv,
              const char **pos, int min_pos, int max_pos)
{
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(cmd, opts);
            return EXIT_OK;
        }
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            cli_opt *o = NULL;
            for (cli_opt *p = opts; p && p->name; p++)
                if (strlen(p->name) == len && strncmp(p->name, a, len) == 0) o = p;
            if (!o)
                return cli_usage_error("%s: unknown option '%.*s' (see laperm %s --help)",
                                       cmd->name, (int)len, a, cmd->name);
            o->seen = 1;
            if (o->type == OPT_FLAG) {
                if (eq) return cli_usage_error("%s takes no value", o->name);
                *(int *)o->ptr = 1;
                continue;
            }
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) return cli_usage_error("%s: missing value %s", o->name, o->metavar ? o->metavar : "");
            if (o->type == OPT_STRING) {
                *(const char **)o->ptr = v;
            } else {
                int rc = parse_number(o, v);
                if (rc >= 0) return rc;
            }
            continue;
        }
        if (npos >= max_pos)
            return cli_usage_error("%s: unexpected argument '%s' (see laperm %s --help)",
                                   cmd->name, a, cmd->name);
        pos[npos++] = a;
    }
    if (npos < min_pos)
        return cli_usage_error("%s: missing argument (usage: laperm %s %s)", cmd->name,
                               cmd->name, cmd->synopsis);
    return -1;
}

static int vreport(int code, const char *fmt, va_list ap)
{
    /* One line whatever the message holds: names from files are bytes. */
    char msg[2048], line[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    lp_one_line(line, sizeof line, msg);
    fflush(stdout);
    fprintf(stderr, "laperm: error: %s\n", line);
    return code;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vreport(EXIT_USAGE, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_runtime_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vreport(EXIT_RUNTIME, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_fail(laperm_status s)
{
    const char *msg = laperm_last_error();
    if (!msg || !*msg) msg = laperm_status_name(s);
    if (s == LAPERM_E_ARG) return cli_usage_error("%s", msg);
    return cli_runtime_error("%s", msg);
}

void cli_set_threads(int threads)
{
    if (threads > 0) omp_set_num_threads(threads);
    /* Otherwise OpenMP already honours OMP_NUM_THREADS, else all cores. */
}

int cli_init_kernels(const char *backend)
{
    laperm_status s = lp_dispatch_init(NULL, backend);
    if (s == LAPERM_E_ARG && backend) return cli_usage_error("--backend: %s", laperm_last_error());
    if (s) return cli_runtime_error("%s", laperm_last_error());
    return -1;
}

const char *cli_data_dir(const char *flag)
{
    if (flag && *flag) return flag;
    const char *env = getenv("LAPERM_DATA");
    if (env && *env) return env;
    return "data";
}

void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch == '\n') fputs("\\n", f);
        else if (ch == '\t') fputs("\\t", f);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}
