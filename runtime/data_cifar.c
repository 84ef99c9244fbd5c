/* CIFAR-10 from the binary version (cifar-10-binary.tar.gz): data_batch_1..5.bin
 * (training, 50,000 images) and test_batch.bin (10,000). Each file is exactly
 * 10,000 records of 3073 bytes: one label byte (0..9), then the R, G and B
 * planes, each 32x32 row-major. Pixels are stored HWC, so the planes are
 * interleaved: pixel (y, x, ch) = record[1 + ch * 1024 + y * 32 + x].
 *
 * A size that is not a multiple of 3073, or not 30,730,000, or a label >= 10
 * is LAPERM_E_FORMAT naming the file and the expected vs found value; a file
 * that cannot be opened is LAPERM_E_IO.
 *
 * All files are opened and their sizes checked first, so a bad file costs no
 * allocation; then each is read in chunks of records (no 30 MB staging
 * buffer) and converted. The records-per-file count is a parameter
 * (data_cifar_internal.h) so that the fuzzer runs this code on small files. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/data.h"
#include "runtime/data_cifar_internal.h"
#include "runtime/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    CIFAR_SIDE = 32,
    CIFAR_PLANE = CIFAR_SIDE * CIFAR_SIDE, /* 1024 */
    CIFAR_IMAGE = 3 * CIFAR_PLANE,         /* 3072 */
    CIFAR_RECORD = LP_CIFAR_RECORD,        /* 3073 */
    CIFAR_MAX_FILES = 5,
    CIFAR_CHUNK = 256                      /* records per read: 787 KB */
};

/* Open path and check that it is a regular file of exactly per_file records. */
static laperm_status open_batch(const char *path, size_t per_file, FILE **out)
{
    const long long want = (long long)CIFAR_RECORD * (long long)per_file;
    *out = NULL;
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
                       path, size, CIFAR_RECORD, want);
    }
    if (size != want) {
        fclose(f);
        return lp_fail(LAPERM_E_FORMAT, "%s: expected %lld bytes (%zu records), found %lld (%lld records)",
                       path, want, per_file, size, size / CIFAR_RECORD);
    }
    *out = f;
    return LAPERM_OK;
}

/* Validate labels and interleave the planes of nrec records, the first of
 * which is record first of its file. */
static laperm_status convert_records(const char *path, const uint8_t *buf, size_t first, size_t nrec,
                                     uint8_t *pixels, uint8_t *labels)
{
    for (size_t i = 0; i < nrec; i++) {
        const uint8_t *rec = buf + i * CIFAR_RECORD;
        size_t r = first + i;
        if (rec[0] >= 10)
            return lp_fail(LAPERM_E_FORMAT, "%s: record %zu (byte offset %zu): label %u, expected 0..9",
                           path, r, r * (size_t)CIFAR_RECORD, (unsigned)rec[0]);
        labels[i] = rec[0];
        const uint8_t *R = rec + 1, *G = R + CIFAR_PLANE, *B = G + CIFAR_PLANE;
        uint8_t *px = pixels + i * (size_t)CIFAR_IMAGE;
        for (int p = 0; p < CIFAR_PLANE; p++) {
            px[3 * p] = R[p];
            px[3 * p + 1] = G[p];
            px[3 * p + 2] = B[p];
        }
    }
    return LAPERM_OK;
}

/* Read the per_file records of an opened, size-checked file in chunks into
 * pixels / labels (that file's slice of the dataset). */
static laperm_status read_batch(FILE *f, const char *path, size_t per_file, uint8_t *buf,
                                uint8_t *pixels, uint8_t *labels)
{
    const long long want = (long long)CIFAR_RECORD * (long long)per_file;
    size_t done = 0, bytes = 0;
    while (done < per_file) {
        size_t nrec = per_file - done < CIFAR_CHUNK ? per_file - done : CIFAR_CHUNK;
        size_t n = nrec * CIFAR_RECORD;
        size_t got = fread(buf, 1, n, f);
        bytes += got;
        if (got != n) {
            /* The file shrank or failed after its size was checked. */
            if (ferror(f)) return lp_fail(LAPERM_E_IO, "%s: read error: %s", path, strerror(errno));
            return lp_fail(LAPERM_E_FORMAT, "%s: truncated while reading: expected %lld bytes, read %zu",
                           path, want, bytes);
        }
        laperm_status s = convert_records(path, buf, done, nrec, pixels + done * (size_t)CIFAR_IMAGE,
                                          labels + done);
        if (s) return s;
        done += nrec;
    }
    return LAPERM_OK;
}

laperm_status lp_cifar10_load_records(const char *dir, int train, size_t per_file, laperm_dataset **out)
{
    if (!out) return lp_fail(LAPERM_E_ARG, "laperm_cifar10_load: out is NULL");
    *out = NULL;
    if (!dir) return lp_fail(LAPERM_E_ARG, "laperm_cifar10_load: dir is NULL");
    if (per_file < 1 || per_file > LP_CIFAR_PER_FILE)
        return lp_fail(LAPERM_E_ARG, "laperm_cifar10_load: %zu records per file, expected 1..%d", per_file,
                       LP_CIFAR_PER_FILE);
    const int nfiles = train ? CIFAR_MAX_FILES : 1;
    char paths[CIFAR_MAX_FILES][4096];
    FILE *files[CIFAR_MAX_FILES] = {NULL};
    laperm_status s = LAPERM_OK;
    /* 1. Every file opened and its size checked before any allocation. */
    for (int k = 0; k < nfiles && !s; k++) {
        if (train) snprintf(paths[k], sizeof paths[k], "%s/data_batch_%d.bin", dir, k + 1);
        else snprintf(paths[k], sizeof paths[k], "%s/test_batch.bin", dir);
        s = open_batch(paths[k], per_file, &files[k]);
    }
    /* 2. The dataset and one chunk buffer. */
    laperm_dataset *d = NULL;
    uint8_t *buf = NULL;
    if (!s) {
        size_t chunk = per_file < CIFAR_CHUNK ? per_file : CIFAR_CHUNK;
        d = calloc(1, sizeof *d);
        buf = malloc(chunk * CIFAR_RECORD);
        if (d) {
            d->n = (size_t)nfiles * per_file;
            d->h = d->w = CIFAR_SIDE;
            d->c = 3;
            d->classes = 10;
            d->pixels = malloc(d->n * CIFAR_IMAGE);
            d->labels = malloc(d->n);
        }
        if (!d || !buf || !d->pixels || !d->labels)
            s = lp_fail(LAPERM_E_NOMEM, "%s: out of memory for %zu images", dir, (size_t)nfiles * per_file);
    }
    /* 3. Read and convert, file by file. */
    for (int k = 0; k < nfiles && !s; k++)
        s = read_batch(files[k], paths[k], per_file, buf, d->pixels + (size_t)k * per_file * CIFAR_IMAGE,
                       d->labels + (size_t)k * per_file);
    for (int k = 0; k < nfiles; k++)
        if (files[k]) fclose(files[k]);
    free(buf);
    if (s) {
        laperm_dataset_free(d);
        return s;
    }
    *out = d;
    return LAPERM_OK;
}

laperm_status laperm_cifar10_load(const char *dir, int train, laperm_dataset **out)
{
    return lp_cifar10_load_records(dir, train, LP_CIFAR_PER_FILE, out);
}
