/* Real LaPerm training on real MNIST through the CLI, with the seed's
 * cadence: the preset validates every k steps, right after each sync, so the
 * accuracies are those of networks holding exactly their initial values.
 *
 * Thresholds come from measured runs (issue note): f1 over 10 epochs, seeds
 * 1-8: best 0.783-0.835 (seed 1: 0.8226; the paper's F1.h5 scores 0.8546);
 * f2 over 25 epochs, seeds 1-3: 0.523-0.559 with the scalar kernels, seed 1
 * 0.5070 with the AVX-512 ones (other rounding, another trajectory; the
 * paper's F2.h5: 0.7068). Threshold 0.45 leaves room for that spread.
 * An independent numpy implementation of SPEC section 1 gives the same
 * picture for f2 (0.27, 0.32, 0.33 after the first three syncs; ours 0.39,
 * 0.48, 0.52). Between syncs the Adam-trained weights reach 0.89 (f1) and
 * 0.887 (f2) within one epoch. A sync that reverses the rank order scores
 * 0.0034 (f1) and 0.0147 (f2) after two epochs, far below the thresholds.
 * conv7: one epoch >= 0.985 (the target). */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "cli_run.h"

static void run(const char *what, const char *args, double want)
{
    lp_test_data_dir("mnist");
    cli_result r = cli_run(args);
    const char *j = last_line(r.out);
    CHECK_MSG(r.status == 0, "%s: exit %d: %s", what, r.status, r.err);
    double best = json_num(j, "best_val_acc");
    printf("%s: %s\n", what, j);
    CHECK_MSG(best >= want, "%s: best_val_acc %.4f < %.4f", what, best, want);
    cli_free(&r);
}

static void test_f1(void) { run("f1", "train --model f1 --epochs 10 --tsize 0 --seed 1 --quiet --json", 0.80); }
static void test_f2(void) { run("f2", "train --model f2 --epochs 25 --tsize 0 --seed 1 --quiet --json", 0.45); }
static void test_conv7(void)
{
    run("conv7", "train --model conv7 --epochs 1 --val-every 300 --tsize 0 --seed 1 --quiet --json", 0.985);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    if (!strcmp(which, "f1") || !strcmp(which, "all")) LP_RUN(test_f1);
    if (!strcmp(which, "f2") || !strcmp(which, "all")) LP_RUN(test_f2);
    if (!strcmp(which, "conv7") || !strcmp(which, "all")) LP_RUN(test_conv7);
    return lp_test_done();
}
