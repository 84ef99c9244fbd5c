/* Run the laperm CLI ($LAPERM_CLI) from a test and look at what it said. */
#ifndef LAPERM_TESTS_CLI_RUN_H
#define LAPERM_TESTS_CLI_RUN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct cli_result {
    int status;      /* exit code, or 128 + signal */
    char *out, *err; /* whole stdout / stderr */
} cli_result;

static char *slurp_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = 0;
    fclose(f);
    return b;
}

/* args: the part after "laperm", passed through sh -c. */
static cli_result cli_run(const char *args)
{
    const char *cli = getenv("LAPERM_CLI");
    const char *tmp = getenv("LAPERM_TEST_TMP");
    if (!cli) cli = "./laperm";
    if (!tmp) tmp = "/tmp";
    char out[512], err[512], cmd[8192];
    snprintf(out, sizeof out, "%s/cli-%d.out", tmp, (int)getpid());
    snprintf(err, sizeof err, "%s/cli-%d.err", tmp, (int)getpid());
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s </dev/null", cli, args, out, err);
    int st = system(cmd);
    cli_result r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    r.out = slurp_file(out);
    r.err = slurp_file(err);
    unlink(out);
    unlink(err);
    return r;
}

static void cli_free(cli_result *r)
{
    free(r->out);
    free(r->err);
}

/* The last line of s (the JSON object of --json). */
static const char *last_line(const char *s)
{
    const char *end = s + strlen(s);
    while (end > s && (end[-1] == '\n' || end[-1] == '\r')) end--;
    const char *p = end;
    while (p > s && p[-1] != '\n') p--;
    return p;
}

/* Numeric value of "key": in a JSON line (NAN if absent). */
static double json_num(const char *json, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p) return 0.0 / 0.0;
    return strtod(p + strlen(pat), NULL);
}

#endif
