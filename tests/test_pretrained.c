/* The paper's own weight files on the real test sets (SPEC section 7): the
 * strongest check that every layer, the weight mapping and the ResNet
 * preprocessing are right. Accuracies to 4 decimals. */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "cli_run.h"

static void eval(const char *model, const char *file, const char *data, double want)
{
    lp_test_data_dir(data);
    const char *shared = getenv("LAPERM_SHARED");
    char path[1024], args[2048];
    snprintf(path, sizeof path, "%s/pretrained/%s", shared ? shared : "../shared", file);
    if (access(path, R_OK) != 0) {
        snprintf(path, sizeof path, "%s/pretrained/%s", getenv("LAPERM_DATA"), file);
        lp_test_data_dir("pretrained");
    }
    snprintf(args, sizeof args, "eval --model %s --weights %s --json", model, path);
    cli_result r = cli_run(args);
    CHECK_MSG(r.status == 0, "%s: exit %d: %s", file, r.status, r.err);
    const char *j = last_line(r.out);
    printf("%s: %s\n", file, j);
    double acc = json_num(j, "accuracy");
    CHECK_MSG(fabs(acc - want) < 5e-5, "%s: accuracy %.4f, SPEC measured %.4f", file, acc, want);
    CHECK(json_num(j, "n") == 10000);
    cli_free(&r);
}

static void test_conv7(void) { eval("conv7", "Conv7.h5", "mnist", 0.9972); }
static void test_f1(void) { eval("f1", "F1.h5", "mnist", 0.8546); }
static void test_f2(void) { eval("f2", "F2.h5", "mnist", 0.7068); }
static void test_resnet50(void) { eval("resnet50", "resnet50.h5", "cifar-10-batches-bin", 0.9253); }

static void test_wrong_model(void)
{
    lp_test_data_dir("mnist");
    const char *shared = getenv("LAPERM_SHARED");
    char args[2048];
    snprintf(args, sizeof args, "eval --model f2 --weights %s/pretrained/Conv7.h5", shared ? shared : "../shared");
    cli_result r = cli_run(args);
    CHECK_EQ_INT(r.status, 1);
    CHECK_STR_CONTAINS(r.err, "laperm: error: ");
    CHECK_STR_CONTAINS(r.err, "Conv7.h5");
    cli_free(&r);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    if (!strcmp(which, "conv7") || !strcmp(which, "all")) LP_RUN(test_conv7);
    if (!strcmp(which, "f1") || !strcmp(which, "all")) LP_RUN(test_f1);
    if (!strcmp(which, "f2") || !strcmp(which, "all")) LP_RUN(test_f2);
    if (!strcmp(which, "resnet50") || !strcmp(which, "all")) LP_RUN(test_resnet50);
    if (!strcmp(which, "errors") || !strcmp(which, "all")) LP_RUN(test_wrong_model);
    return lp_test_done();
}
