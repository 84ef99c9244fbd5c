/* libFuzzer target: the CIFAR-10 binary reader (laperm_cifar10_load, test
 * split: test_batch.bin).
 *
 * The reader takes exactly 10,000 records of 3073 bytes (30,730,000 bytes):
 * an input is the file itself (size checks: short, long, not a multiple of
 * 3073), except that an input starting with "PAD" is the prefix of a
 * full-size file whose remaining bytes are zero (a sparse tail), so that the
 * label and conversion paths run on fuzzed records too. */
#include "fuzz_util.h"
#include "laperm/laperm.h"

#define CIFAR_RECORD 3073
#define CIFAR_FILE ((size_t)CIFAR_RECORD * 10000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char p[512];
    int pad = size >= 3 && memcmp(data, "PAD", 3) == 0;
    if (pad) {
        size_t n = size - 3 > CIFAR_FILE ? CIFAR_FILE : size - 3;
        fz_write(p, sizeof p, "test_batch.bin", data + 3, n, CIFAR_FILE);
    } else {
        fz_write(p, sizeof p, "test_batch.bin", data, size, 0);
    }
    laperm_dataset *d = NULL;
    laperm_status st = laperm_cifar10_load(fz_scratch(), 0, &d);
    if (st) {
        const char *e = laperm_last_error();
        if (d || !e || !*e || strchr(e, '\n')) abort();
        return 0;
    }
    if (!pad && size != CIFAR_FILE) abort();
    int h, w, c;
    laperm_dataset_shape(d, &h, &w, &c);
    if (h != 32 || w != 32 || c != 3 || laperm_dataset_size(d) != 10000) abort();
    /* Spot-check the records the input reached: label and plane interleave. */
    size_t nrec = pad ? (size - 3 + CIFAR_RECORD - 1) / CIFAR_RECORD : 10000;
    if (nrec > 10000) nrec = 10000;
    const uint8_t *src = pad ? data + 3 : data;
    size_t srcn = pad ? size - 3 : size;
    for (size_t r = 0; r < nrec; r++) {
        const uint8_t *rec = src + r * CIFAR_RECORD;
        size_t avail = srcn - r * CIFAR_RECORD;
        int want = rec[0];
        if (laperm_dataset_label(d, r) != want) abort();
        const uint8_t *px = laperm_dataset_pixels(d, r);
        for (int ch = 0; ch < 3; ch++)
            for (int q = 0; q < 1024; q += 97) {
                size_t off = 1 + (size_t)ch * 1024 + (size_t)q;
                uint8_t v = off < avail ? rec[off] : 0;
                if (px[3 * q + ch] != v) abort();
            }
    }
    laperm_dataset_free(d);
    return 0;
}
