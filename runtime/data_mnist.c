/* MNIST from the four original IDX files, and the dataset accessors shared
 * with the CIFAR-10 reader (data_cifar.c).
 *
 * IDX (yann.lecun.com/exdb/mnist): big-endian 32-bit words.
 *   images: magic 0x00000803, count, rows, cols, then count*rows*cols bytes
 *   labels: magic 0x00000801, count, then count bytes (0..9)
 * Every deviation (magic, size short or long, counts that disagree between
 * the two files, a label >= 10) is a LAPERM_E_FORMAT naming the file and the
 * expected vs found value; a file that cannot be opened is LAPERM_E_IO. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/data.h"
#include "runtime/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MNIST_MAGIC_IMAGES = 0x00000803, MNIST_MAGIC_LABELS = 0x00000801, MNIST_SIDE = 28 };

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Open path and find its size. */
static laperm_status open_sized(const char *path, FILE **f, long long *size)
{
    *f = fopen(path, "rb");
    if (!*f) return lp_fail(LAPERM_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(*f), &st) != 0) {
        int e = errno;
        fclose(*f);
        *f = NULL;
        return lp_fail(LAPERM_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(*f);
        *f = NULL;
        return lp_fail(LAPERM_E_IO, "%s: not a regular file", path);
    }
    *size = (long long)st.st_size;
    return LAPERM_OK;
}

static laperm_status read_exact(FILE *f, const char *path, void *buf, size_t n)
{
    if (fread(buf, 1, n, f) != n) {
        if (ferror(f)) return lp_fail(LAPERM_E_IO, "%s: read error: %s", path, strerror(errno));
        return lp_fail(LAPERM_E_FORMAT, "%s: truncated while reading", path);
    }
    return LAPERM_OK;
}

/* Read an IDX header of nwords big-endian words (magic first) after checking
 * the file holds at least that much. */
static laperm_status read_header(FILE *f, const char *path, long long size, uint32_t *words,
                                 int nwords, uint32_t magic, const char *what)
{
    uint8_t hdr[16];
    long long need = 4LL * nwords;
    if (size < need)
        return lp_fail(LAPERM_E_FORMAT,
                       "%s: truncated header: expected at least %lld bytes (IDX %s header), found %lld",
                       path, need, what, size);
    laperm_status s = read_exact(f, path, hdr, (size_t)need);
    if (s) return s;
    for (int i = 0; i < nwords; i++) words[i] = be32(hdr + 4 * i);
    if (words[0] != magic)
        return lp_fail(LAPERM_E_FORMAT, "%s: bad magic: expected 0x%08x (IDX %s), found 0x%08x",
                       path, (unsigned)magic, what, (unsigned)words[0]);
    return LAPERM_OK;
}

static laperm_status check_size(const char *path, long long size, long long expect,
                                const char *layout)
{
    if (size < expect)
        return lp_fail(LAPERM_E_FORMAT, "%s: truncated: expected %lld bytes (%s), found %lld",
                       path, expect, layout, size);
    if (size > expect)
        return lp_fail(LAPERM_E_FORMAT,
                       "%s: trailing garbage: expected %lld bytes (%s), found %lld", path,
                       expect, layout, size);
    return LAPERM_OK;
}

laperm_status laperm_mnist_load(const char *dir, int train, laperm_dataset **out)
{
    if (!out) return lp_fail(LAPERM_E_ARG, "laperm_mnist_load: out is NULL");
    *out = NULL;
    if (!dir) return lp_fail(LAPERM_E_ARG, "laperm_mnist_load: dir is NULL");
    const char *prefix = train ? "train" : "t10k";
    char ipath[4096], lpath[4096];
    snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte", dir, prefix);
    snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte", dir, prefix);

    laperm_status s;
    FILE *fi = NULL, *fl = NULL;
    laperm_dataset *d = NULL;
    long long isize, lsize;
    uint32_t ih[4] = {0}, lh[2] = {0};

    if ((s = open_sized(ipath, &fi, &isize))) goto done;
    if ((s = open_sized(lpath, &fl, &lsize))) goto done;
    if ((s = read_header(fi, ipath, isize, ih, 4, MNIST_MAGIC_IMAGES, "images"))) goto done;
    if ((s = read_header(fl, lpath, lsize, lh, 2, MNIST_MAGIC_LABELS, "labels"))) goto done;
    if (ih[2] != MNIST_SIDE || ih[3] != MNIST_SIDE) {
        s = lp_fail(LAPERM_E_FORMAT, "%s: expected %dx%d images, found %ux%u", ipath, MNIST_SIDE,
                    MNIST_SIDE, (unsigned)ih[2], (unsigned)ih[3]);
        goto done;
    }
    const size_t n = ih[1];
    const size_t per = (size_t)MNIST_SIDE * MNIST_SIDE;
    char layout[128];
    snprintf(layout, sizeof layout, "16-byte header + %zu images of 28x28", n);
    if ((s = check_size(ipath, isize, 16 + (long long)(n * per), layout))) goto done;
    if (lh[1] != ih[1]) {
        s = lp_fail(LAPERM_E_FORMAT, "%s: count mismatch: expected %u labels (as %s has images), found %u",
                    lpath, (unsigned)ih[1], ipath, (unsigned)lh[1]);
        goto done;
    }
    snprintf(layout, sizeof layout, "8-byte header + %zu labels", n);
    if ((s = check_size(lpath, lsize, 8 + (long long)n, layout))) goto done;

    d = calloc(1, sizeof *d);
    if (!d) {
        s = lp_fail(LAPERM_E_NOMEM, "%s: out of memory", ipath);
        goto done;
    }
    d->n = n;
    d->h = d->w = MNIST_SIDE;
    d->c = 1;
    d->classes = 10;
    d->pixels = malloc(n ? n * per : 1);
    d->labels = malloc(n ? n : 1);
    if (!d->pixels || !d->labels) {
        s = lp_fail(LAPERM_E_NOMEM, "%s: out of memory for %zu images", ipath, n);
        goto done;
    }
    if ((s = read_exact(fi, ipath, d->pixels, n * per))) goto done;
    if ((s = read_exact(fl, lpath, d->labels, n))) goto done;
    for (size_t i = 0; i < n; i++)
        if (d->labels[i] >= 10) {
            s = lp_fail(LAPERM_E_FORMAT, "%s: label %u of image %zu: expected 0..9", lpath,
                        (unsigned)d->labels[i], i);
            goto done;
        }
    s = LAPERM_OK;

done:
    if (fi) fclose(fi);
    if (fl) fclose(fl);
    if (s) {
        laperm_dataset_free(d);
        return s;
    }
    *out = d;
    return LAPERM_OK;
}

/* ---- Accessors (both datasets) --------------------------------------------- */

size_t laperm_dataset_size(const laperm_dataset *d) { return d ? d->n : 0; }

void laperm_dataset_shape(const laperm_dataset *d, int *h, int *w, int *c)
{
    if (h) *h = d ? d->h : 0;
    if (w) *w = d ? d->w : 0;
    if (c) *c = d ? d->c : 0;
}

int laperm_dataset_label(const laperm_dataset *d, size_t i)
{
    if (!d || i >= d->n) return -1;
    return d->labels[i];
}

const uint8_t *laperm_dataset_pixels(const laperm_dataset *d, size_t i)
{
    if (!d || i >= d->n) return NULL;
    return d->pixels + i * (size_t)d->h * (size_t)d->w * (size_t)d->c;
}

void laperm_dataset_free(laperm_dataset *d)
{
    if (!d) return;
    free(d->pixels);
    free(d->labels);
    free(d);
}
