/* libFuzzer target: the Keras .h5 weight reader (lp_h5_read_weights) and the
 * checkpoint state reader (lp_h5_read_state), on mutations of real weight
 * files. The input is written to a file (libhdf5 reads paths); whatever it
 * holds, the readers must return an error with a one-line message or a
 * structure whose every array is readable.
 *
 * libhdf5 itself is not instrumented: coverage guides only our side, and
 * ASan sees libhdf5's bad accesses only through the libc calls it intercepts
 * (memcpy, strlen, ...) or as a SEGV. Faults whose stack is inside libhdf5
 * are libhdf5's bugs (1.10.8); scripts/fuzz.sh counts them apart from ours.
 * Leaks inside libhdf5 are suppressed (tests/fuzz/lsan-h5.supp). */
#include "fuzz_util.h"
#include "runtime/h5io.h"

static void check_weights(const lp_h5_weights *w)
{
    if (w->nlayers < 0 || (w->nlayers > 0 && !w->layers)) abort();
    volatile float sink = 0;
    for (int i = 0; i < w->nlayers; i++) {
        const lp_h5_layer *L = &w->layers[i];
        if (!memchr(L->name, 0, sizeof L->name) || L->nweights < 0) abort();
        for (int j = 0; j < L->nweights; j++) {
            const lp_h5_array *a = &L->weights[j];
            if (a->rank < 0 || a->rank > LP_H5_MAX_RANK || !a->data) abort();
            size_t n = 1;
            for (int k = 0; k < a->rank; k++) {
                if (a->shape[k] < 0) abort();
                n *= (size_t)a->shape[k];
            }
            if (n) sink += a->data[0] + a->data[n - 1];
        }
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char p[512];
    fz_write(p, sizeof p, "w.h5", data, size, 0);
    lp_h5_weights *w = NULL;
    laperm_status st = lp_h5_read_weights(p, &w);
    if (st) {
        const char *e = laperm_last_error();
        if (w || !e || !*e || strchr(e, '\n')) abort();
    } else {
        check_weights(w);
        lp_h5_weights_free(w);
    }
    lp_h5_blob *b = NULL;
    int nb = 0;
    st = lp_h5_read_state(p, &b, &nb);
    if (st) {
        if (b || nb) abort();
    } else {
        for (int i = 0; i < nb; i++)
            if (b[i].count < 0 || (b[i].count > 0 && !b[i].data)) abort();
        lp_h5_blobs_free(b, nb);
    }
    return 0;
}
