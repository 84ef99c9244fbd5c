/* libFuzzer target: the MNIST IDX reader (laperm_mnist_load).
 *
 * One input holds both files: a 4-byte little-endian split s, then the
 * images file (the first s % (rest + 1) bytes of the rest) and the labels
 * file (what follows). A successful load must describe exactly what it
 * holds: 28x28x1 images, labels 0..9, every pixel readable. */
#include "fuzz_util.h"
#include "laperm/laperm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    uint32_t s = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                 (uint32_t)data[3] << 24;
    const uint8_t *rest = data + 4;
    size_t n = size - 4;
    size_t ni = (size_t)s % (n + 1);
    char ip[512], lp[512];
    fz_write(ip, sizeof ip, "train-images-idx3-ubyte", rest, ni, 0);
    fz_write(lp, sizeof lp, "train-labels-idx1-ubyte", rest + ni, n - ni, 0);

    laperm_dataset *d = NULL;
    laperm_status st = laperm_mnist_load(fz_scratch(), 1, &d);
    if (st) {
        const char *e = laperm_last_error();
        if (d || !e || !*e || strchr(e, '\n')) abort(); /* one-line message, nothing returned */
        return 0;
    }
    int h, w, c;
    laperm_dataset_shape(d, &h, &w, &c);
    if (h != 28 || w != 28 || c != 1) abort();
    size_t count = laperm_dataset_size(d);
    if (16 + count * 784 != ni || 8 + count != n - ni) abort();
    volatile unsigned sum = 0;
    for (size_t i = 0; i < count; i++) {
        int l = laperm_dataset_label(d, i);
        if (l < 0 || l > 9) abort();
        const uint8_t *px = laperm_dataset_pixels(d, i);
        for (int k = 0; k < 784; k++) sum += px[k];
    }
    if (laperm_dataset_label(d, count) != -1 || laperm_dataset_pixels(d, count)) abort();
    laperm_dataset_free(d);
    (void)sum;
    return 0;
}
