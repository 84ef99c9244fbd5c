/* The oneDNN backend's own interface, beyond lp_kernels_init_dnnl() in
 * kernels/kernels.h: counters, introspection and test hooks. It names no
 * oneDNN type, so tests and benchmarks include it without the oneDNN headers.
 * Only meaningful in a build with LAPERM_WITH_DNNL (LP_WITH_DNNL defined).
 *
 * What the backend does (kernels/dnnl/):
 *  - conv_fwd / conv_bwd_data / conv_bwd_weights through oneDNN convolution
 *    primitives (direct algorithm, no bias), activations NHWC, the caller's
 *    HWIO weights reordered into the primitive's preferred layout per call
 *    (or used as is when the primitive takes HWIO);
 *  - bn_fwd_train / bn_fwd_infer / bn_bwd through oneDNN batch
 *    normalization with separate scale (gamma) and shift (beta);
 *  - conv_workspace returns 0: oneDNN keeps its own scratchpad;
 *  - primitives are cached by full geometry (LRU, LP_DNNL_CACHE_SIZE
 *    entries); a geometry oneDNN rejects is remembered and runs the native
 *    kernel that was in the table before lp_kernels_init_dnnl().
 *
 * Threading: the kernels take an internal lock, so concurrent calls are safe
 * but serialised; oneDNN parallelises inside each call (OpenMP).
 *
 * Environment (read once, at lp_kernels_init_dnnl):
 *   LAPERM_DNNL_CONV_WEIGHTS=any (default) | hwio
 *     any: let oneDNN pick the weights layout of each convolution (a blocked
 *     one, so the fastest jit kernels) and reorder the HWIO weights per call;
 *     hwio: force the primitives to take HWIO directly (no reorder; usually
 *     lands on oneDNN's im2col+GEMM implementation). For benchmarking. */
#ifndef LAPERM_KERNELS_DNNL_LP_DNNL_H
#define LAPERM_KERNELS_DNNL_LP_DNNL_H

#include "kernels/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP_DNNL_CACHE_SIZE 128

/* Which convolution a query is about. */
enum lp_dnnl_conv_op { LP_DNNL_CONV_FWD, LP_DNNL_CONV_BWD_DATA, LP_DNNL_CONV_BWD_WEIGHTS };
/* Which batch norm a query is about. */
enum lp_dnnl_bn_op { LP_DNNL_BN_TRAIN, LP_DNNL_BN_INFER, LP_DNNL_BN_BWD };

/* Calls served by oneDNN and by the native fallback, since start-up or the
 * last lp_dnnl_reset(); primitives created and geometries rejected. */
typedef struct lp_dnnl_stats {
    unsigned long conv_dnnl, conv_native;
    unsigned long bn_dnnl, bn_native;
    unsigned long created, rejected, evicted;
} lp_dnnl_stats;

void lp_dnnl_get_stats(lp_dnnl_stats *out);

/* Drop every cached primitive and zero the counters. */
void lp_dnnl_reset(void);

/* oneDNN's implementation name (e.g. "brg:avx512_core", "gemm:jit") for a
 * geometry, creating the primitive if needed; "native" when oneDNN rejects
 * it. The string stays valid until the entry is evicted or reset. */
const char *lp_dnnl_conv_impl(const lp_conv_geom *g, int op);
const char *lp_dnnl_bn_impl(size_t rows, int c, float eps, int op, int relu);

/* The last oneDNN error, as "what: status" (empty if none). */
const char *lp_dnnl_last_error(void);

/* Test hook: while on, every kernel behaves as if oneDNN had rejected the
 * shape (nothing is cached), so the native fallback path can be tested. */
void lp_dnnl_test_reject(int on);

#ifdef __cplusplus
}
#endif
#endif
