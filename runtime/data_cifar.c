/* CIFAR-10 from the binary version (cifar-10-binary.tar.gz): data_batch_1..5.bin
 * (training, 50,000 images) and test_batch.bin (10,000). Each file is exactly
 * 10,000 records of 3073 bytes: one label byte (0..9), then the R, G and B
 * planes, each 32x32 row-major. Pixels are stored HWC, so the planes are
 * interleaved: pixel (y, x, ch) = record[1 + ch * 1024 + y * 32 + x].
 *
 * A size that is not a multiple of 3073, or not 30,730,000, or a label >= 10
 * is LAPERM_E_FORMAT naming the file and the expected vs found value; a file
 * that cannot be opened is LAPERM_E_IO. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/data.h"
#include "runtime/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    CIFAR_SIDE = 32,
    CIFAR_PLANE = CIFAR_SIDE * CIFAR_SIDE,  /* 1024 */
    CIFAR_IMAGE = 3 * CIFAR_PLANE,          /* 3072 */
    CIFAR_RECORD = 1 + CIFAR_IMAGE,         /* 3073 */
    CIFAR_PER_FILE = 10000
};
#define CIFAR_FILE_BYTES ((long long)CIFAR_RECORD * CIFAR_PER_FILE) /* 30,730,000 */

/* Read one batch file into buf (CIFAR_FILE_BYTES) after validating its size. */
static laperm_status read_batch(const char *path, uint8_t *buf)
{
    FILE *f = fopen(path, "rb");
    if (!f) return lp_fail(LAPERM_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return lp_fail(LAPERM_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return lp_fail(LAPERM_E_IO, "%s: not a regular file", path);
    }
    long long size = (long long)st.st_size;
    if (size % CIFAR_RECORD != 0) {
        fclose(f);
        return lp_fail(LAPERM_E_FORMAT,
                       "%s: size %lld is not a multiple of %d (1 label byte + 3072 pixel bytes per "
                       "record): expected %lld bytes",
                       path, size, CIFAR_RECORD, CIFAR_FILE_BYTES);
    }
    if (size != CIFAR_FILE_BYTES) {
        fclose(f);
        return lp_fail(LAPERM_E_FORMAT, "%s: expected %lld bytes (%d records), found %lld (%lld records)",
                       path, CIFAR_FILE_BYTES, CIFAR_PER_FILE, size, size / CIFAR_RECORD);
    }
    size_t got = fread(buf, 1, (size_t)CIFAR_FILE_BYTES, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) return lp_fail(LAPERM_E_IO, "%s: read error: %s", path, strerror(err));
    if (got != (size_t)CIFAR_FILE_BYTES)
        return lp_fail(LAPERM_E_FORMAT, "%s: truncated while reading: expected %lld bytes, read %zu",
                       path, CIFAR_FILE_BYTES, got);
    return LAPERM_OK;
}

/* Validate labels and interleave the planes of one file's records. */
static laperm_status convert_batch(const char *path, const uint8_t *buf, uint8_t *pixels,
                                   uint8_t *labels)
{
    for (size_t r = 0; r < CIFAR_PER_FILE; r++) {
        const uint8_t *rec = buf + r * CIFAR_RECORD;
        if (rec[0] >= 10)
            return lp_fail(LAPERM_E_FORMAT, "%s: record %zu (byte offset %zu): label %u, expected 0..9",
                           path, r, r * (size_t)CIFAR_RECORD, (unsigned)rec[0]);
        labels[r] = rec[0];
        const uint8_t *R = rec + 1, *G = R + CIFAR_PLANE, *B = G + CIFAR_PLANE;
        uint8_t *px = pixels + r * (size_t)CIFAR_IMAGE;
        for (int p = 0; p < CIFAR_PLANE; p++) {
            px[3 * p] = R[p];
            px[3 * p + 1] = G[p];
            px[3 * p + 2] = B[p];
        }
    }
    return LAPERM_OK;
}

laperm_status laperm_cifar10_load(const char *dir, int train, laperm_dataset **out)
{
    if (!out) return lp_fail(LAPERM_E_ARG, "laperm_cifar10_load: out is NULL");
    *out = NULL;
    if (!dir) return lp_fail(LAPERM_E_ARG, "laperm_cifar10_load: dir is NULL");
    const int nfiles = train ? 5 : 1;
    laperm_dataset *d = calloc(1, sizeof *d);
    uint8_t *buf = malloc((size_t)CIFAR_FILE_BYTES);
    if (!d || !buf) {
        free(d);
        free(buf);
        return lp_fail(LAPERM_E_NOMEM, "%s: out of memory", dir);
    }
    d->n = (size_t)nfiles * CIFAR_PER_FILE;
    d->h = d->w = CIFAR_SIDE;
    d->c = 3;
    d->classes = 10;
    d->pixels = malloc(d->n * CIFAR_IMAGE);
    d->labels = malloc(d->n);
    laperm_status s = LAPERM_OK;
    if (!d->pixels || !d->labels) s = lp_fail(LAPERM_E_NOMEM, "%s: out of memory for %zu images", dir, d->n);
    for (int k = 0; k < nfiles && !s; k++) {
        char path[4096];
        if (train) snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, k + 1);
        else snprintf(path, sizeof path, "%s/test_batch.bin", dir);
        s = read_batch(path, buf);
        if (!s)
            s = convert_batch(path, buf, d->pixels + (size_t)k * CIFAR_PER_FILE * CIFAR_IMAGE,
                              d->labels + (size_t)k * CIFAR_PER_FILE);
    }
    free(buf);
    if (s) {
        laperm_dataset_free(d);
        return s;
    }
    *out = d;
    return LAPERM_OK;
}
