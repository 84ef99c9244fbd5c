/* libFuzzer target: the CIFAR-10 binary reader, through
 * lp_cifar10_load_records (the code of laperm_cifar10_load) with
 * FZ_PER_FILE records per file instead of 10,000, so each run reads a few
 * KB instead of 30 MB and the label and conversion paths run on fuzzed
 * records at full speed.
 *
 * An input is, by its first bytes:
 *   "PAD" + bytes  test split: test_batch.bin is bytes cut or zero-padded to
 *                  exactly FZ_PER_FILE records (sizes always right);
 *   "TRN" + bytes  training split: data_batch_k.bin (k = 1..5) is the k-th
 *                  slice of FZ_PER_FILE records of bytes, cut or zero-padded;
 *   anything else  test split, test_batch.bin is the input as it is (size
 *                  checks: short, long, not a multiple of 3073).
 * The oracle predicts the outcome from the input: success exactly when every
 * size is right and every label < 10; then every label and pixel is checked
 * (HWC interleave of the R, G, B planes); a failure must be LAPERM_E_FORMAT
 * with a one-line message naming the file, and return no dataset. */
#include "fuzz_util.h"
#include "laperm/laperm.h"
#include "runtime/data_cifar_internal.h"

#define FZ_PER_FILE 2
#define FZ_REC LP_CIFAR_RECORD
#define FZ_FILE ((size_t)FZ_REC * FZ_PER_FILE)

/* Byte i of a file made of src[0..n) then zeros. */
static uint8_t at(const uint8_t *src, size_t n, size_t i) { return i < n ? src[i] : 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char p[512];
    int pad = size >= 3 && memcmp(data, "PAD", 3) == 0;
    int trn = size >= 3 && memcmp(data, "TRN", 3) == 0;
    const uint8_t *body = pad || trn ? data + 3 : data;
    size_t blen = pad || trn ? size - 3 : size;
    int nfiles = trn ? 5 : 1;
    /* file k holds src[k] [0..len[k]) then zeros up to its size */
    const uint8_t *src[5];
    size_t len[5];
    for (int k = 0; k < nfiles; k++) {
        size_t off = (size_t)k * FZ_FILE;
        src[k] = body + (off < blen ? off : blen);
        len[k] = off < blen ? blen - off : 0;
        if (pad || trn) {
            if (len[k] > FZ_FILE) len[k] = FZ_FILE;
            char name[32];
            if (trn) snprintf(name, sizeof name, "data_batch_%d.bin", k + 1);
            else snprintf(name, sizeof name, "test_batch.bin");
            fz_write(p, sizeof p, name, src[k], len[k], FZ_FILE);
        } else {
            fz_write(p, sizeof p, "test_batch.bin", data, size, 0);
        }
    }
    /* The expected outcome. */
    int want_ok = pad || trn || size == FZ_FILE;
    for (int k = 0; k < nfiles && want_ok; k++)
        for (size_t r = 0; r < FZ_PER_FILE; r++)
            if (at(src[k], len[k], r * FZ_REC) >= 10) want_ok = 0;

    laperm_dataset *d = NULL;
    laperm_status st = lp_cifar10_load_records(fz_scratch(), trn, FZ_PER_FILE, &d);
    if (st) {
        const char *e = laperm_last_error();
        if (want_ok || st != LAPERM_E_FORMAT || d || !e || !*e || strchr(e, '\n')) abort();
        if (!strstr(e, trn ? "/data_batch_" : "/test_batch.bin: ")) abort();
        return 0;
    }
    if (!want_ok || !d) abort();
    int h, w, c;
    laperm_dataset_shape(d, &h, &w, &c);
    if (h != 32 || w != 32 || c != 3 || laperm_dataset_size(d) != (size_t)nfiles * FZ_PER_FILE) abort();
    for (int k = 0; k < nfiles; k++)
        for (size_t r = 0; r < FZ_PER_FILE; r++) {
            size_t i = (size_t)k * FZ_PER_FILE + r, base = r * FZ_REC;
            if (laperm_dataset_label(d, i) != at(src[k], len[k], base)) abort();
            const uint8_t *px = laperm_dataset_pixels(d, i);
            for (int ch = 0; ch < 3; ch++)
                for (int q = 0; q < 1024; q++)
                    if (px[3 * q + ch] != at(src[k], len[k], base + 1 + (size_t)ch * 1024 + (size_t)q))
                        abort();
        }
    if (laperm_dataset_pixels(d, (size_t)nfiles * FZ_PER_FILE) != NULL) abort();
    laperm_dataset_free(d);
    return 0;
}
