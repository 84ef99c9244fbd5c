/* laperm train: LaPerm training with a model's preset (SPEC section 5). */
#define _POSIX_C_SOURCE 200809L
#include "tools/laperm/cli.h"
#include "tools/laperm/datasets.h"
#include "runtime/checkpoint.h"
#include "runtime/dispatch.h"
#include "runtime/error.h"
#include "runtime/init.h"
#include "runtime/plot.h"
#include "runtime/train.h"
#include "runtime/weights.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

typedef struct ui {
    int quiet, bar; /* bar: an in-place progress line on a terminal */
} ui;

static void fmt_time(char *b, size_t n, double s)
{
    if (s < 0 || s > 1e7) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(b, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(b, n, "%ld:%02ld", t / 60, t % 60);
}

static void progress(void *ctx, const lp_progress *p)
{
    ui *u = ctx;
    if (u->quiet) return;
    if (p->val) {
        if (u->bar) fputs("\r\033[K", stderr);
        printf("step %ld epoch %d: val_loss %.4f val_acc %.4f train_loss %.4f train_acc %.4f best %.4f\n",
               p->val->step, p->val->epoch + 1, p->val->val_loss, p->val->val_acc, p->val->train_loss,
               p->val->train_acc, p->best_val_acc);
        fflush(stdout);
    }
    if (!u->bar) return;
    int width = 24;
    int filled = (int)((double)p->batch_in_epoch / p->batches * width);
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = 0;
    char eta[32];
    double left = p->img_per_s > 0 ? (double)(p->steps_total - p->step) * p->batch / p->img_per_s : 0;
    fmt_time(eta, sizeof eta, left);
    fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %d/%d ETA %s %.0f img/s loss %.4f acc %.4f best val %.4f",
            p->epoch + 1, p->epochs, bar, p->batch_in_epoch, p->batches, eta, p->img_per_s, p->loss, p->acc,
            p->best_val_acc);
    fflush(stderr);
}

static laperm_status write_history(const char *path, const lp_session *s)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return lp_fail(LAPERM_E_IO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "step,epoch,val_loss,val_acc,train_loss,train_acc\n");
    for (int i = 0; i < s->nhistory; i++) {
        const lp_history_row *r = &s->history[i];
        fprintf(f, "%ld,%d,%.6f,%.6f,%.6f,%.6f\n", r->step, r->epoch, r->val_loss, r->val_acc,
                r->train_loss, r->train_acc);
    }
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return lp_fail(LAPERM_E_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    return LAPERM_OK;
}

static int run(int argc, char **argv)
{
    const char *model = NULL, *data_flag = NULL, *backend = NULL, *init_from = NULL, *out = NULL,
               *resume = NULL, *history = NULL, *plot = NULL;
    int epochs = 0, batch = 0, k = 0, threads = 0, val_every = -1, tsize = -1, no_augment = 0, json = 0,
        quiet = 0, sync_bias = 0, skip_bias_flag = 0, sync_bn = 0, standardize = 0;
    long seed = 0, checkpoint_every = 0, max_steps = 0;
    double lr = 0, prune = -1, agnostic = -1;
    cli_opt opts[] = {
        {"--model", OPT_STRING, &model, "NAME", "conv7, conv2, conv4, conv13, resnet50, f1 or f2", 0, -1, 0},
        {"--epochs", OPT_INT, &epochs, "N", "total epochs (default: the preset's)", 1, 100000, 0},
        {"--batch", OPT_INT, &batch, "B", "batch size (default: the preset's)", 1, 65536, 0},
        {"--lr", OPT_DOUBLE, &lr, "X", "base learning rate of the preset's schedule (default 1e-3)", 1e-12, 10, 0},
        {"--k", OPT_INT, &k, "K", "sync period in steps (default: the preset's)", 1, 1000000000, 0},
        {"--seed", OPT_LONG, &seed, "S", "seed of every random draw (default 0)", 0, 9.2e18, 0},
        {"--threads", OPT_INT, &threads, "N", "threads (default: OMP_NUM_THREADS, else all cores)", 1, 4096, 0},
        {"--prune", OPT_DOUBLE, &prune, "RATE", "random_prune: share of weights pruned, 0..1 (e.g. 0.3)", 0, 1, 0},
        {"--agnostic", OPT_DOUBLE, &agnostic, "VALUE", "weight-agnostic start: every weight VALUE, masked as the preset (0: off)", -100, 100, 0},
        {"--val-every", OPT_INT, &val_every, "N", "validate every N steps (default: the preset's; 0: never)", 0, 1000000000, 0},
        {"--tsize", OPT_INT, &tsize, "N", "training images evaluated per validation (default 30000)", 0, 1000000, 0},
        {"--no-augment", OPT_FLAG, &no_augment, NULL, "train without augmentation", 0, 0, 0},
        {"--sync-bias", OPT_FLAG, &sync_bias, NULL, "synchronise biases too (skip_bias=False)", 0, 0, 0},
        {"--skip-bias", OPT_FLAG, &skip_bias_flag, NULL, "never synchronise biases (skip_bias=True)", 0, 0, 0},
        {"--sync-bn", OPT_FLAG, &sync_bn, NULL, "synchronise BatchNormalization gamma/beta (skip_bn=False)", 0, 0, 0},
        {"--standardize", OPT_FLAG, &standardize, NULL, "CIFAR conv2/4/13: standardise inputs (off: the seed's raw 0..255)", 0, 0, 0},
        {"--max-steps", OPT_LONG, &max_steps, "N", "stop after N steps in total (quick runs)", 1, 1e15, 0},
        {"--init-from", OPT_STRING, &init_from, "FILE.h5", "start from these weights", 0, -1, 0},
        {"--out", OPT_STRING, &out, "FILE.h5", "write the final weights (Keras save_weights layout + run state)", 0, -1, 0},
        {"--checkpoint-every", OPT_LONG, &checkpoint_every, "N", "write --out every N steps", 1, 1e15, 0},
        {"--resume", OPT_STRING, &resume, "FILE.h5", "continue a run from its checkpoint", 0, -1, 0},
        {"--history", OPT_STRING, &history, "FILE.csv", "write the validation history", 0, -1, 0},
        {"--plot", OPT_STRING, &plot, "FILE.png", "plot the training curves", 0, -1, 0},
        {"--data-dir", OPT_STRING, &data_flag, "DIR", "data directory (default $LAPERM_DATA, else ./data)", 0, -1, 0},
        {"--backend", OPT_STRING, &backend, "NAME", "native or dnnl", 0, -1, 0},
        {"--quiet", OPT_FLAG, &quiet, NULL, "no progress output", 0, 0, 0},
        {"--json", OPT_FLAG, &json, NULL, "print the result as one JSON object on the last line", 0, 0, 0},
        CLI_END};
    int rc = cli_parse(&cmd_train, opts, argc, argv, NULL, 0, 0);
    if (rc >= 0) return rc;
    if (!model) return cli_usage_error("train: --model is required (one of %s)", lp_model_names());
    const lp_preset *p = lp_preset_find(model);
    if (!p) return cli_usage_error("--model: unknown model '%s' (expected one of %s)", model, lp_model_names());
    if (sync_bias && skip_bias_flag) return cli_usage_error("--sync-bias and --skip-bias contradict each other");
    if (checkpoint_every && !out) return cli_usage_error("--checkpoint-every needs --out FILE.h5");
    if (resume && init_from) return cli_usage_error("--resume and --init-from contradict each other");
    if (prune >= 0 && agnostic >= 0 && agnostic != 0)
        return cli_usage_error("--prune and --agnostic contradict each other");
    cli_set_threads(threads);
    if ((rc = cli_init_kernels(backend)) >= 0) return rc;

    lp_preset preset = *p;
    if (standardize && preset.preprocess == LP_PRE_RAW) preset.preprocess = LP_PRE_STANDARDIZE;
    lp_train_config cfg = {
        .preset = &preset,
        .epochs = epochs ? epochs : p->epochs,
        .batch = batch ? batch : p->batch,
        .lr = lr > 0 ? lr : p->lr,
        .k = k ? k : p->k,
        .seed = (uint64_t)seed,
        .val_every = val_every >= 0 ? val_every : p->val_every,
        .tsize = tsize >= 0 ? tsize : p->tsize,
        .augment = !no_augment,
        .skip_bias = sync_bias ? 0 : skip_bias_flag ? 1 : p->skip_bias,
        .skip_bn = !sync_bn,
        .max_steps = max_steps,
    };

    lp_model *m = NULL;
    laperm_dataset *train = NULL, *test = NULL;
    lp_session sess;
    int have_session = 0;
    memset(&sess, 0, sizeof sess);
    ui u = {.quiet = quiet, .bar = !quiet && isatty(2)};

    laperm_status s = lp_model_build(model, &m);
    if (!s) s = lp_model_prepare(m, cfg.batch);
    if (!s) s = cli_load_data(&preset, cli_data_dir(data_flag), &train, &test);
    if (s) goto fail;

    if (resume) {
        s = lp_checkpoint_resume(resume, m, &cfg, train, test, &sess);
        if (s) goto fail;
        have_session = 1;
    } else {
        if ((s = lp_init_model(m, p, cfg.seed, agnostic, prune))) goto fail;
        if (init_from && (s = lp_weights_load(m, init_from))) goto fail;
        s = lp_session_init(&sess, &cfg, m, train, test);
        if (s) goto fail;
        have_session = 1;
    }
    sess.on_progress = progress;
    sess.progress_ctx = &u;
    sess.stop = &g_stop;
    if (out) {
        sess.on_checkpoint = lp_checkpoint_hook;
        sess.checkpoint_ctx = (void *)out;
        sess.checkpoint_every = checkpoint_every;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (!quiet)
        fprintf(stderr, "laperm: training %s: %d epochs x %ld steps, batch %d, k %d, seed %ld, isa %s, backend %s\n",
                model, cfg.epochs, lp_session_batches(&sess), cfg.batch, cfg.k, seed,
                lp_isa_name(lp_isa_selected()), lp_backend_selected());
    s = lp_session_run(&sess);
    if (u.bar) fputs("\r\033[K", stderr);
    laperm_status run_status = s;
    if (out && (s == LAPERM_OK || s == LAPERM_E_INTERRUPTED)) {
        laperm_status ws = lp_checkpoint_write(out, &sess);
        if (ws) {
            s = ws;
            goto fail;
        }
    }
    if (history && (s == LAPERM_OK || s == LAPERM_E_INTERRUPTED)) {
        laperm_status hs = write_history(history, &sess);
        if (hs) {
            s = hs;
            goto fail;
        }
    }
    if (plot && (s == LAPERM_OK || s == LAPERM_E_INTERRUPTED)) {
        laperm_status ps = lp_plot_history_rows(plot, sess.history, sess.nhistory, model);
        if (ps) {
            s = ps;
            goto fail;
        }
    }
    if (run_status == LAPERM_E_INTERRUPTED) {
        fprintf(stderr, "laperm: interrupted at step %ld%s%s\n", sess.step, out ? "; state saved to " : "",
                out ? out : "");
        rc = EXIT_RUNTIME;
        goto done;
    }
    if (s) goto fail;
    double ips = sess.train_seconds > 0 ? sess.images_trained / sess.train_seconds : 0;
    if (json) {
        printf("{\"model\": ");
        json_str(stdout, model);
        printf(", \"epochs\": %d, \"steps\": %ld, \"best_val_acc\": %.4f, \"final_val_acc\": %.4f, "
               "\"train_seconds\": %.3f, \"img_per_s\": %.1f, \"seed\": %ld, \"out\": ",
               cfg.epochs, sess.step, sess.best_val_acc, sess.final_val_acc, sess.train_seconds, ips, seed);
        if (out) json_str(stdout, out);
        else printf("null");
        printf("}\n");
    } else if (!quiet) {
        printf("done: %ld steps in %.1f s (%.0f img/s), best val_acc %.4f, final val_acc %.4f\n", sess.step,
               sess.train_seconds, ips, sess.best_val_acc, sess.final_val_acc);
    }
    rc = EXIT_OK;
    goto done;
fail:
    if (u.bar) fputs("\r\033[K", stderr);
    rc = cli_fail(s);
done:
    if (have_session) lp_session_free(&sess);
    laperm_dataset_free(train);
    laperm_dataset_free(test);
    lp_model_free(m);
    return rc;
}

const cli_cmd cmd_train = {
    "train",
    "--model NAME [--epochs N] [--batch B] [--lr X] [--k K] [--seed S] [--threads T] [--prune RATE] "
    "[--agnostic VALUE] [--val-every N] [--tsize N] [--no-augment] [--init-from FILE.h5] [--out FILE.h5] "
    "[--checkpoint-every N] [--resume FILE.h5] [--history FILE.csv] [--plot FILE.png] [--json]",
    "LaPerm training with the model's preset (SPEC section 5) unless a flag overrides it", run};
