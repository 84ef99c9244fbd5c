/* runtime/h5io.h without libhdf5 (LAPERM_WITH_HDF5=OFF): every call fails
 * with LAPERM_E_UNSUPPORTED; the free functions still free. With HDF5 the
 * real implementation is runtime/hdf5/h5io.c and this file is empty. */
#include "runtime/h5io.h"

#ifndef LP_WITH_HDF5

#include "runtime/error.h"

#include <stdlib.h>

#define LP_H5_UNSUPPORTED \
    lp_fail(LAPERM_E_UNSUPPORTED, "HDF5 support not compiled in (LAPERM_WITH_HDF5=OFF)")

laperm_status lp_h5_read_weights(const char *path, lp_h5_weights **out)
{
    (void)path;
    if (out) *out = NULL;
    return LP_H5_UNSUPPORTED;
}

void lp_h5_weights_free(lp_h5_weights *w)
{
    if (!w) return;
    for (int i = 0; i < w->nlayers && w->layers; i++) {
        for (int j = 0; j < w->layers[i].nweights && w->layers[i].weights; j++)
            free(w->layers[i].weights[j].data);
        free(w->layers[i].weights);
    }
    free(w->layers);
    free(w);
}

laperm_status lp_h5_write_weights(const char *path, const lp_h5_weights *w,
                                  const lp_h5_blob *state, int nstate)
{
    (void)path, (void)w, (void)state, (void)nstate;
    return LP_H5_UNSUPPORTED;
}

laperm_status lp_h5_read_state(const char *path, lp_h5_blob **out, int *n)
{
    (void)path;
    if (out) *out = NULL;
    if (n) *n = 0;
    return LP_H5_UNSUPPORTED;
}

void lp_h5_blobs_free(lp_h5_blob *b, int n)
{
    if (!b) return;
    for (int i = 0; i < n; i++) free(b[i].data);
    free(b);
}

laperm_status lp_h5_weights_clone(const lp_h5_weights *src, lp_h5_weights **out)
{
    (void)src;
    if (out) *out = NULL;
    return LP_H5_UNSUPPORTED;
}

#else

/* ISO C forbids an empty translation unit. */
typedef int lp_h5io_unavailable_unused;

#endif
