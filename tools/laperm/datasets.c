#include "tools/laperm/datasets.h"
#include "runtime/error.h"

#include <stdio.h>
#include <string.h>

laperm_status cli_load_data(const lp_preset *p, const char *data_dir, laperm_dataset **train_out,
                            laperm_dataset **test_out)
{
    int mnist = p->dataset == LP_DATA_MNIST;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", data_dir, mnist ? "mnist" : "cifar-10-batches-bin");
    laperm_status s = LAPERM_OK;
    if (train_out) {
        *train_out = NULL;
        s = mnist ? laperm_mnist_load(dir, 1, train_out) : laperm_cifar10_load(dir, 1, train_out);
    }
    if (!s) s = mnist ? laperm_mnist_load(dir, 0, test_out) : laperm_cifar10_load(dir, 0, test_out);
    if (s == LAPERM_E_IO) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", laperm_last_error());
        lp_fail(s, "%s (run: laperm fetch %s --data-dir %s)", msg, mnist ? "mnist" : "cifar10", data_dir);
    }
    if (s && train_out && *train_out) {
        laperm_dataset_free(*train_out);
        *train_out = NULL;
    }
    return s;
}
