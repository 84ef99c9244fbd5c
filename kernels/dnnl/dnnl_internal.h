/* Shared pieces of the oneDNN backend (private to kernels/dnnl/).
 *
 * Written against oneDNN 2.6's C API (operation descriptors, memory
 * descriptors as plain structs). The few places that differ in 3.x are
 * behind `#if DNNL_VERSION_MAJOR >= 3`:
 *  - memory descriptors are opaque handles (dnnl_memory_desc_create_with_tag /
 *    dnnl_memory_desc_destroy, ndims via dnnl_memory_desc_query) instead of
 *    structs filled by dnnl_memory_desc_init_by_tag: hidden in lp_md below;
 *  - operation descriptors are gone: dnnl_*_desc_init + dnnl_primitive_desc_create
 *    become one dnnl_*_primitive_desc_create call (engine and attr in it,
 *    dilations explicit, batch norm takes separate src and dst descriptors):
 *    see conv_pd() in dnnl_conv.c and bn_pd() in dnnl_bn.c;
 *  - dnnl_use_scaleshift (one packed [2, c] tensor) is removed; this backend
 *    uses dnnl_use_scale | dnnl_use_shift (2.3+) in both versions.
 * The 3.x branches follow the 3.x headers but are not built here (Debian 12
 * ships 2.6). */
#ifndef LAPERM_KERNELS_DNNL_INTERNAL_H
#define LAPERM_KERNELS_DNNL_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>

#include <stddef.h>
#include <stdint.h>

#include "kernels/dnnl/lp_dnnl.h"
#include "kernels/kernels.h"

#if DNNL_VERSION_MAJOR < 2 || (DNNL_VERSION_MAJOR == 2 && DNNL_VERSION_MINOR < 3)
#error "laperm's oneDNN backend needs oneDNN 2.3 or newer (separate BN scale/shift)"
#endif

/* ---- memory descriptors, version-portable ---------------------------------- */
#if DNNL_VERSION_MAJOR >= 3
typedef const_dnnl_memory_desc_t lp_cmd; /* what queries return and calls take */
typedef struct lp_md { dnnl_memory_desc_t h; } lp_md;
#define LP_MD(m) ((lp_cmd)(m)->h)
#else
typedef const dnnl_memory_desc_t *lp_cmd;
typedef struct lp_md { dnnl_memory_desc_t s; } lp_md;
#define LP_MD(m) ((lp_cmd) & (m)->s)
#endif

/* f32 descriptor of the given logical dims (oneDNN order: N C H W, or
 * O I H W for weights) and physical tag (dnnl_nhwc, dnnl_hwio, ...). */
dnnl_status_t lp_md_init(lp_md *m, int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag);
void lp_md_fini(lp_md *m);
int lp_md_ndims(lp_cmd md); /* 0 for a NULL or zero descriptor */

/* ---- engine, stream, lock, errors ---------------------------------------- */
int lp_dnnl_setup(void); /* 0 once the engine and stream exist */
dnnl_engine_t lp_dnnl_engine(void);
void lp_dnnl_lock(void);
void lp_dnnl_unlock(void);
const char *lp_dnnl_status_str(dnnl_status_t s);
void lp_dnnl_set_error(const char *what, dnnl_status_t s);
extern int lp_dnnl_reject_all;      /* lp_dnnl_test_reject */
extern int lp_dnnl_weights_any;     /* LAPERM_DNNL_CONV_WEIGHTS */
extern lp_dnnl_stats lp_dnnl_counters;

/* ---- the native kernels the backend replaced (the fallback) ---------------- */
typedef struct lp_dnnl_native {
    size_t (*conv_workspace)(const lp_conv_geom *g);
    void (*conv_fwd)(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                     const float *w, float *y, float *ws);
    void (*conv_bwd_data)(const lp_kernels *self, const lp_conv_geom *g, const float *dy,
                          const float *w, float *dx, float *ws);
    void (*conv_bwd_weights)(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                             const float *dy, float *dw, float *ws);
    void (*bn_fwd_train)(size_t rows, int c, const float *x, const float *gamma,
                         const float *beta, float eps, float *y, float *mean, float *var,
                         int relu);
    void (*bn_fwd_infer)(size_t rows, int c, const float *x, const float *gamma,
                         const float *beta, const float *mean, const float *var, float eps,
                         float *y, int relu);
    void (*bn_bwd)(size_t rows, int c, const float *x, const float *y, const float *dy,
                   const float *gamma, const float *mean, const float *var, float eps,
                   float *dx, float *dgamma, float *dbeta, int relu);
} lp_dnnl_native;
extern lp_dnnl_native lp_dnnl_prev;

/* Grown-on-demand float buffers owned by the backend (under the lock):
 * slot 0 the native convolution workspace, slot 1 a masked gradient. */
float *lp_dnnl_buffer(int slot, size_t floats);

/* ---- a primitive with its argument memory objects --------------------------- */
#define LP_DNNL_MAX_ARGS 12
typedef struct lp_dnnl_exec {
    dnnl_primitive_t prim;
    int n;
    dnnl_exec_arg_t a[LP_DNNL_MAX_ARGS];
    unsigned char own[LP_DNNL_MAX_ARGS];
} lp_dnnl_exec;

dnnl_status_t lp_dnnl_exec_create(lp_dnnl_exec *x, const_dnnl_primitive_desc_t pd);
/* Adds argument `arg` described by md: alloc != 0 gives it a buffer of its
 * own (oneDNN-allocated), else the caller binds a pointer before each run. */
dnnl_status_t lp_dnnl_exec_add(lp_dnnl_exec *x, int arg, lp_cmd md, int alloc);
/* Adds `arg` with the descriptor the primitive wants, if it wants it at all
 * (*present says which). */
dnnl_status_t lp_dnnl_exec_add_queried(lp_dnnl_exec *x, int arg, int alloc, int *present);
/* Adds `arg` as a memory object owned elsewhere (shared with another exec). */
dnnl_status_t lp_dnnl_exec_share(lp_dnnl_exec *x, int arg, dnnl_memory_t m);
dnnl_memory_t lp_dnnl_exec_mem(const lp_dnnl_exec *x, int arg);
lp_cmd lp_dnnl_exec_query(const lp_dnnl_exec *x, int arg); /* what the primitive wants */
dnnl_status_t lp_dnnl_exec_bind(lp_dnnl_exec *x, int arg, const void *p);
dnnl_status_t lp_dnnl_exec_run(lp_dnnl_exec *x);
const char *lp_dnnl_exec_impl(const lp_dnnl_exec *x);
void lp_dnnl_exec_destroy(lp_dnnl_exec *x);

/* ---- the primitive cache ---------------------------------------------------- */
#define LP_DNNL_KEY_N 16
typedef struct lp_dnnl_key { int64_t v[LP_DNNL_KEY_N]; } lp_dnnl_key;

typedef struct lp_dnnl_entry {
    lp_dnnl_key key;
    int used;
    int ok;            /* 0: oneDNN rejected the geometry: use the native kernel */
    uint64_t stamp;    /* last use, for LRU eviction */
    int nex;
    lp_dnnl_exec ex[2];
    int reorder;       /* conv: 0 none, 1 weights reorder ex[1] before ex[0], 2 after */
} lp_dnnl_entry;

/* Builds e->ex[] (and nex, reorder) for e->key; returns 0 on success. On
 * failure it leaves whatever it created in e->ex[0..nex) for the cache to free. */
typedef int (*lp_dnnl_build_fn)(lp_dnnl_entry *e, const void *ctx);

/* The entry for key, built on a miss (a failed build is cached as ok = 0).
 * NULL when the test hook rejects everything. Call under the lock. */
lp_dnnl_entry *lp_dnnl_cache_get(const lp_dnnl_key *key, lp_dnnl_build_fn build,
                                 const void *ctx);

/* Kind tags in key.v[0]. */
enum { LP_DNNL_KEY_CONV = 1, LP_DNNL_KEY_BN = 2 };

/* The kernels (dnnl_conv.c, dnnl_bn.c), installed by table.c. */
size_t lp_dnnl_conv_workspace(const lp_conv_geom *g);
void lp_dnnl_conv_fwd(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                      const float *w, float *y, float *ws);
void lp_dnnl_conv_bwd_data(const lp_kernels *self, const lp_conv_geom *g, const float *dy,
                           const float *w, float *dx, float *ws);
void lp_dnnl_conv_bwd_weights(const lp_kernels *self, const lp_conv_geom *g, const float *x,
                              const float *dy, float *dw, float *ws);
void lp_dnnl_bn_fwd_train(size_t rows, int c, const float *x, const float *gamma,
                          const float *beta, float eps, float *y, float *mean, float *var,
                          int relu);
void lp_dnnl_bn_fwd_infer(size_t rows, int c, const float *x, const float *gamma,
                          const float *beta, const float *mean, const float *var, float eps,
                          float *y, int relu);
void lp_dnnl_bn_bwd(size_t rows, int c, const float *x, const float *y, const float *dy,
                    const float *gamma, const float *mean, const float *var, float eps,
                    float *dx, float *dgamma, float *dbeta, int relu);

#endif
