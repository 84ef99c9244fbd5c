/* The CIFAR-10 reader with the records-per-file count as a parameter.
 *
 * laperm_cifar10_load is lp_cifar10_load_records(dir, train,
 * LP_CIFAR_PER_FILE, out). A smaller count runs the same size checks, label
 * validation and plane interleave on small files: the fuzz target
 * (tests/fuzz/fuzz_cifar.c) and the reader tests use it, so a run does not
 * allocate and fill 60 MB per input. Not part of the public API. */
#ifndef LAPERM_RUNTIME_DATA_CIFAR_INTERNAL_H
#define LAPERM_RUNTIME_DATA_CIFAR_INTERNAL_H

#include <stddef.h>

#include "laperm/laperm.h"

enum {
    LP_CIFAR_RECORD = 3073,   /* 1 label byte + 3 planes of 32x32 */
    LP_CIFAR_PER_FILE = 10000 /* records in each file of the real dataset */
};

/* Load dir/test_batch.bin (train = 0) or dir/data_batch_1..5.bin, each
 * expected to hold exactly per_file records (1 <= per_file <= 10000).
 * Every file's size is checked (fstat) before anything is allocated; the
 * first bad file, in reading order, is the error. */
laperm_status lp_cifar10_load_records(const char *dir, int train, size_t per_file,
                                      laperm_dataset **out);

#endif
