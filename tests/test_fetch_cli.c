/* `laperm fetch` through the binary ($LAPERM_CLI): exit codes 0/1/2, the
 * "laperm: error: FILE: sha256 mismatch: expected X, got Y" line, progress on
 * stderr, the summary on stdout, and the cache on a second run. */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"

#include <stdlib.h>
#include <sys/wait.h>

/* snprintf into an array, checking that nothing was cut. */
#define FMT(buf, ...) CHECK(snprintf((buf), sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

static char tmproot[1024];
static const char *cli, *shared;
static char out_txt[4200], err_txt[4200];

/* Run `laperm ARGS` with stdout and stderr into files; the exit code. */
static int run_cli(const char *args)
{
    char cmd[16384];
    FMT(cmd, "'%s' %s > '%s' 2> '%s' < /dev/null", cli, args, out_txt, err_txt);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_usage(void)
{
    CHECK_EQ_INT(run_cli("fetch --help"), 0);
    CHECK_STR_CONTAINS(slurp(out_txt), "usage: laperm fetch mnist|cifar10|pretrained");
    CHECK_EQ_INT(run_cli("fetch svhn"), 2);
    char *e = slurp(err_txt);
    CHECK(strncmp(e, "laperm: error: ", 15) == 0);
    CHECK_STR_CONTAINS(e, "unknown dataset 'svhn'");
    CHECK_EQ_INT(run_cli("fetch"), 2);
    CHECK_EQ_INT(run_cli("fetch mnist --bogus"), 2);
    CHECK_EQ_INT(run_cli("fetch mnist --url http://example.invalid/x"), 2);
}

static void test_pretrained_and_mismatch(void)
{
    char args[12000];
    FMT(args, "fetch pretrained --from '%s/pretrained' --data-dir '%s/data'", shared, tmproot);
    CHECK_EQ_INT(run_cli(args), 0);
    char want[8192];
    FMT(want, "pretrained: ok in %s/data/pretrained\n", tmproot);
    CHECK_MSG(!strcmp(slurp(out_txt), want), "stdout: %s", slurp(out_txt));
    CHECK_STR_CONTAINS(slurp(err_txt), "F1.h5: ok (sha256 verified)");
    CHECK_EQ_INT(run_cli(args), 0);
    CHECK_STR_CONTAINS(slurp(err_txt), "resnet50.h5: ok (cached)");

    /* A damaged F2.h5 (others intact) into a fresh data dir. */
    char bad[4200], cmd[16384];
    FMT(bad, "%s/bad-pre", tmproot);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && cp '%s/pretrained/Conv7.h5' '%s/pretrained/F1.h5' '%s/pretrained/resnet50.h5' '%s/' && "
             "printf 'junk' | cat '%s/pretrained/F2.h5' - > '%s/F2.h5'",
             bad, shared, shared, shared, bad, shared, bad);
    CHECK_EQ_INT(system(cmd), 0);
    FMT(args, "fetch pretrained --from '%s' --data-dir '%s/data-bad'", bad, tmproot);
    CHECK_EQ_INT(run_cli(args), 1);
    char *e = slurp(err_txt);
    char line[8192];
    snprintf(line, sizeof line,
             "laperm: error: %s/F2.h5: sha256 mismatch: expected "
             "f475ef74edd24b3e2e23ff95873fb8e1b5e1fb4a9e3d381748bfe5bf0c2f11a1, got ",
             bad);
    CHECK_STR_CONTAINS(e, line);
    /* the error is the last line of stderr */
    const char *last = strstr(e, "laperm: error: ");
    CHECK(last && count_lines(last) == 1);
    CHECK_EQ_INT(strlen(slurp(out_txt)), 0);
    char p[4200];
    struct stat st;
    FMT(p, "%s/data-bad/pretrained/F2.h5", tmproot);
    CHECK(stat(p, &st) != 0);
    FMT(p, "%s/data-bad/pretrained/F1.h5", tmproot);
    CHECK(stat(p, &st) == 0);
    /* --quiet: nothing on stderr on success */
    FMT(args, "fetch pretrained --quiet --from '%s/pretrained' --data-dir '%s/data-bad'", shared,
             tmproot);
    CHECK_EQ_INT(run_cli(args), 0);
    CHECK_EQ_INT(strlen(slurp(err_txt)), 0);
}

static void test_download_failure(void)
{
    char args[12000];
    FMT(args, "fetch cifar10 --url 'file://%s/none.tar.gz' --data-dir '%s/data-dl'", tmproot,
             tmproot);
    CHECK_EQ_INT(run_cli(args), 1);
    CHECK_STR_CONTAINS(slurp(err_txt), "laperm: error: file://");
    CHECK_STR_CONTAINS(slurp(err_txt), "none.tar.gz: download failed");
    /* $LAPERM_DATA is the default data directory */
    char cmd[16384];
    FMT(cmd, "LAPERM_DATA='%s/data-env' '%s' fetch pretrained --quiet --from '%s/pretrained' > /dev/null 2>&1",
             tmproot, cli, shared);
    CHECK_EQ_INT(system(cmd), 0);
    char p[4200];
    struct stat st;
    FMT(p, "%s/data-env/pretrained/Conv7.h5", tmproot);
    CHECK(stat(p, &st) == 0);
}

int main(void)
{
    cli = getenv("LAPERM_CLI");
    shared = getenv("LAPERM_SHARED");
    if (!shared || !*shared) shared = "../shared";
    char probe[4200];
    FMT(probe, "%s/pretrained/F2.h5", shared);
    struct stat st;
    if (!cli || stat(cli, &st) != 0 || stat(probe, &st) != 0) {
        printf("skipped: needs $LAPERM_CLI and %s\n", probe);
        return 77;
    }
    const char *t = getenv("LAPERM_TEST_TMP");
    FMT(tmproot, "%s/fetch-cli-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmproot)) {
        perror(tmproot);
        return 1;
    }
    FMT(out_txt, "%s/stdout.txt", tmproot);
    FMT(err_txt, "%s/stderr.txt", tmproot);
    LP_RUN(test_usage);
    LP_RUN(test_pretrained_and_mismatch);
    LP_RUN(test_download_failure);
    int rc = lp_test_done();
    if (rc == 0) {
        char cmd[4200];
        FMT(cmd, "rm -rf '%s'", tmproot);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmproot);
    }
    return rc;
}
