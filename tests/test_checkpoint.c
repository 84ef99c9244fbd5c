/* Checkpoints and resume through the CLI: a run killed (SIGKILL after its
 * first checkpoint, or SIGINT, which saves and exits) and resumed with
 * --resume ends with weights and history bitwise equal to an uninterrupted
 * run with the same seed. Also: the checkpoint is a Keras save_weights file
 * (layer_names, weight_names, datasets) that the weight reader takes, and
 * --init-from starts from given weights. */
#define _POSIX_C_SOURCE 200809L
#include "lp_test.h"
#include "cli_run.h"
#include "runtime/h5io.h"

#include <signal.h>
#include <time.h>

static char tmpdir[1024];

static const char *path(const char *name)
{
    static char buf[4][1200];
    static int at;
    at = (at + 1) % 4;
    snprintf(buf[at], sizeof buf[at], "%s/%s", tmpdir, name);
    return buf[at];
}

/* Bitwise equality of every weight array of two files. */
static int same_weights(const char *a, const char *b)
{
    lp_h5_weights *x = NULL, *y = NULL;
    if (lp_h5_read_weights(a, &x) || lp_h5_read_weights(b, &y)) {
        fprintf(stderr, "read: %s\n", laperm_last_error());
        lp_h5_weights_free(x);
        return 0;
    }
    int same = x->nlayers == y->nlayers;
    for (int l = 0; same && l < x->nlayers; l++) {
        same &= x->layers[l].nweights == y->layers[l].nweights;
        for (int w = 0; same && w < x->layers[l].nweights; w++) {
            const lp_h5_array *p = &x->layers[l].weights[w], *q = &y->layers[l].weights[w];
            size_t n = 1;
            for (int d = 0; d < p->rank; d++) n *= (size_t)p->shape[d];
            same &= p->rank == q->rank && memcmp(p->shape, q->shape, sizeof p->shape) == 0 &&
                    memcmp(p->data, q->data, n * sizeof(float)) == 0;
        }
    }
    lp_h5_weights_free(x);
    lp_h5_weights_free(y);
    return same;
}

static int same_file_text(const char *a, const char *b)
{
    char *x = slurp_file(a), *y = slurp_file(b);
    int same = strlen(x) > 0 && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

/* Start the CLI in the background, SIGKILL it once file exists. */
static int run_and_kill_after(const char *args, const char *file)
{
    const char *cli = getenv("LAPERM_CLI");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s %s >/dev/null 2>&1", cli, args);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    struct timespec ts = {0, 2000000};
    for (int i = 0; i < 100000; i++) {
        if (access(file, F_OK) == 0) break;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return -1; /* finished before a checkpoint */
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

static const char *F2 = "train --model f2 --epochs 2 --batch 64 --val-every 150 --tsize 500 --seed 5 --quiet";

static void test_sigkill_then_resume_is_bitwise_equal(void)
{
    char a[2048];
    snprintf(a, sizeof a, "%s --out %s --history %s", F2, path("full.h5"), path("full.csv"));
    cli_result r = cli_run(a);
    CHECK_MSG(r.status == 0, "uninterrupted: %s", r.err);
    cli_free(&r);

    unlink(path("part.h5"));
    snprintf(a, sizeof a, "%s --out %s --checkpoint-every 400", F2, path("part.h5"));
    int killed = run_and_kill_after(a, path("part.h5"));
    CHECK_MSG(killed == 1, "the run was not killed mid-way (%d)", killed);
    /* the killed run's checkpoint is complete (atomic rename) and resumable */
    snprintf(a, sizeof a, "train --model f2 --epochs 2 --resume %s --out %s --history %s --quiet --json",
             path("part.h5"), path("part.h5"), path("part.csv"));
    r = cli_run(a);
    CHECK_MSG(r.status == 0, "resume: %s", r.err);
    CHECK(json_num(last_line(r.out), "steps") == 2 * 938);
    cli_free(&r);
    CHECK(same_weights(path("full.h5"), path("part.h5")));
    CHECK(same_file_text(path("full.csv"), path("part.csv")));
}

static void test_sigint_saves_and_resume_is_bitwise_equal(void)
{
    /* conv7: dropout and augmentation draws must resume exactly too */
    const char *base = "train --model conv7 --max-steps 30 --batch 16 --k 7 --val-every 0 --seed 2 --quiet";
    char a[2048];
    snprintf(a, sizeof a, "%s --out %s", base, path("c7full.h5"));
    cli_result r = cli_run(a);
    CHECK_MSG(r.status == 0, "uninterrupted: %s", r.err);
    cli_free(&r);
    /* SIGINT after the first checkpoint: the handler finishes the step, saves,
     * exits 1 with "interrupted" */
    unlink(path("c7part.h5"));
    const char *cli = getenv("LAPERM_CLI");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s %s --out %s --checkpoint-every 5 2>%s", cli, base,
             path("c7part.h5"), path("c7part.err"));
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    struct timespec ts = {0, 2000000};
    int st = 0, done = 0;
    for (int i = 0; i < 100000 && access(path("c7part.h5"), F_OK) != 0; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) { done = 1; break; }
        nanosleep(&ts, NULL);
    }
    if (!done) {
        kill(pid, SIGINT);
        waitpid(pid, &st, 0);
    }
    CHECK_MSG(!done, "finished before it could be interrupted");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    char *err = slurp_file(path("c7part.err"));
    CHECK_STR_CONTAINS(err, "interrupted at step");
    free(err);
    snprintf(a, sizeof a, "train --model conv7 --max-steps 30 --resume %s --out %s --quiet", path("c7part.h5"),
             path("c7part.h5"));
    r = cli_run(a);
    CHECK_MSG(r.status == 0, "resume: %s", r.err);
    cli_free(&r);
    CHECK(same_weights(path("c7full.h5"), path("c7part.h5")));
}

static void test_checkpoint_is_keras_layout_and_init_from(void)
{
    lp_h5_weights *w = NULL;
    CHECK(lp_h5_read_weights(path("full.h5"), &w) == LAPERM_OK);
    if (w) {
        /* flatten, dense, dense_1, dense_2 */
        CHECK_EQ_INT(w->nlayers, 4);
        CHECK(strcmp(w->layers[1].name, "dense") == 0);
        CHECK_EQ_INT(w->layers[1].nweights, 1);
        CHECK(strcmp(w->layers[1].weights[0].name, "dense/kernel:0") == 0);
        CHECK_EQ_INT(w->layers[1].weights[0].shape[0], 784);
        CHECK_EQ_INT(w->layers[1].weights[0].shape[1], 128);
    }
    lp_h5_weights_free(w);
    lp_h5_blob *b = NULL;
    int n = 0;
    CHECK(lp_h5_read_state(path("full.h5"), &b, &n) == LAPERM_OK);
    CHECK(n > 5);
    lp_h5_blobs_free(b, n);
    /* --init-from: evaluating, then training from the paper's F2.h5 keeps
     * starting accuracy (the first history row is the pre-training eval) */
    const char *shared = getenv("LAPERM_SHARED");
    char a[2048];
    snprintf(a, sizeof a,
             "train --model f2 --max-steps 1 --val-every 1 --tsize 0 --init-from %s/pretrained/F2.h5 --history %s --quiet",
             shared ? shared : "../shared", path("init.csv"));
    cli_result r = cli_run(a);
    CHECK_MSG(r.status == 0, "%s", r.err);
    cli_free(&r);
    char *csv = slurp_file(path("init.csv"));
    CHECK_STR_CONTAINS(csv, "step,epoch,val_loss,val_acc,train_loss,train_acc\n0,0,");
    CHECK_STR_CONTAINS(csv, ",0.706800,"); /* F2.h5's accuracy before the first step */
    free(csv);
}

static void test_resume_errors(void)
{
    char a[2048];
    const char *shared = getenv("LAPERM_SHARED");
    snprintf(a, sizeof a, "train --model f2 --resume %s/pretrained/F2.h5", shared ? shared : "../shared");
    cli_result r = cli_run(a);
    CHECK_EQ_INT(r.status, 1);
    CHECK_STR_CONTAINS(r.err, "not a laperm checkpoint");
    cli_free(&r);
    snprintf(a, sizeof a, "train --model f1 --resume %s", path("full.h5"));
    r = cli_run(a);
    CHECK_EQ_INT(r.status, 1);
    CHECK_STR_CONTAINS(r.err, "checkpoint of model 'f2', not f1");
    cli_free(&r);
    /* an unwritable output directory fails before training starts? it fails
     * at the first write, and leaves nothing under the name */
    snprintf(a, sizeof a, "train --model f2 --max-steps 2 --val-every 0 --out /nonexistent-dir/x.h5 --quiet");
    r = cli_run(a);
    CHECK_EQ_INT(r.status, 1);
    CHECK_STR_CONTAINS(r.err, "/nonexistent-dir/x.h5");
    cli_free(&r);
}

int main(void)
{
    lp_test_data_dir("mnist");
    const char *t = getenv("LAPERM_TEST_TMP");
    snprintf(tmpdir, sizeof tmpdir, "%s/ckpt", t ? t : "/tmp");
    mkdir(tmpdir, 0755);
    LP_RUN(test_sigkill_then_resume_is_bitwise_equal);
    LP_RUN(test_sigint_saves_and_resume_is_bitwise_equal);
    LP_RUN(test_checkpoint_is_keras_layout_and_init_from);
    LP_RUN(test_resume_errors);
    return lp_test_done();
}
