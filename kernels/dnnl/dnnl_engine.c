/* oneDNN backend plumbing: the CPU engine and stream (process-wide
 * singletons), the lock, status strings, version-portable memory
 * descriptors, primitives bound to argument memory objects, and the LRU
 * cache of primitives keyed by geometry. */
#define _POSIX_C_SOURCE 200809L
#include "kernels/dnnl/dnnl_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
static int g_setup; /* 0 not tried, 1 ready, -1 failed */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_error[160];

int lp_dnnl_reject_all;
int lp_dnnl_weights_any = 1;
lp_dnnl_stats lp_dnnl_counters;
lp_dnnl_native lp_dnnl_prev;

/* ---- errors ------------------------------------------------------------------ */

const char *lp_dnnl_status_str(dnnl_status_t s)
{
    switch (s) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented (no implementation for this shape)";
    case dnnl_iterator_ends: return "no more implementations";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    default: return "unknown oneDNN status";
    }
}

void lp_dnnl_set_error(const char *what, dnnl_status_t s)
{
    snprintf(g_error, sizeof g_error, "%s: %s", what, lp_dnnl_status_str(s));
}

const char *lp_dnnl_last_error(void) { return g_error; }

/* ---- engine, stream, lock ------------------------------------------------------ */

int lp_dnnl_setup(void)
{
    lp_dnnl_lock();
    if (g_setup == 0) {
        dnnl_status_t s = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
        if (s == dnnl_success) {
            s = dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags);
            if (s != dnnl_success) {
                dnnl_engine_destroy(g_engine);
                g_engine = NULL;
                lp_dnnl_set_error("dnnl_stream_create", s);
            }
        } else {
            lp_dnnl_set_error("dnnl_engine_create", s);
        }
        g_setup = s == dnnl_success ? 1 : -1;
    }
    int r = g_setup == 1 ? 0 : -1;
    lp_dnnl_unlock();
    return r;
}

dnnl_engine_t lp_dnnl_engine(void) { return g_engine; }
void lp_dnnl_lock(void) { pthread_mutex_lock(&g_lock); }
void lp_dnnl_unlock(void) { pthread_mutex_unlock(&g_lock); }

void lp_dnnl_test_reject(int on)
{
    lp_dnnl_lock();
    lp_dnnl_reject_all = on;
    lp_dnnl_unlock();
}

/* ---- scratch buffers --------------------------------------------------------------- */

static float *g_buf[2];
static size_t g_buf_n[2];

float *lp_dnnl_buffer(int slot, size_t floats)
{
    if (floats == 0) floats = 1;
    if (g_buf_n[slot] < floats) {
        float *p = realloc(g_buf[slot], floats * sizeof(float));
        if (!p) return NULL;
        g_buf[slot] = p;
        g_buf_n[slot] = floats;
    }
    return g_buf[slot];
}

/* ---- memory descriptors ----------------------------------------------------------- */

dnnl_status_t lp_md_init(lp_md *m, int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag)
{
#if DNNL_VERSION_MAJOR >= 3
    m->h = NULL;
    return dnnl_memory_desc_create_with_tag(&m->h, ndims, dims, dnnl_f32, tag);
#else
    memset(&m->s, 0, sizeof m->s);
    return dnnl_memory_desc_init_by_tag(&m->s, ndims, dims, dnnl_f32, tag);
#endif
}

void lp_md_fini(lp_md *m)
{
#if DNNL_VERSION_MAJOR >= 3
    if (m->h) dnnl_memory_desc_destroy(m->h);
    m->h = NULL;
#else
    (void)m;
#endif
}

int lp_md_ndims(lp_cmd md)
{
    if (!md) return 0;
#if DNNL_VERSION_MAJOR >= 3
    int nd = 0;
    if (dnnl_memory_desc_query(md, dnnl_query_ndims_s32, &nd) != dnnl_success) return 0;
    return nd;
#else
    return md->ndims;
#endif
}

/* ---- primitives with bound arguments -------------------------------------------------- */

dnnl_status_t lp_dnnl_exec_create(lp_dnnl_exec *x, const_dnnl_primitive_desc_t pd)
{
    memset(x, 0, sizeof *x);
    return dnnl_primitive_create(&x->prim, pd);
}

static const_dnnl_primitive_desc_t exec_pd(const lp_dnnl_exec *x)
{
    const_dnnl_primitive_desc_t pd = NULL;
    if (!x->prim || dnnl_primitive_get_primitive_desc(x->prim, &pd) != dnnl_success) return NULL;
    return pd;
}

lp_cmd lp_dnnl_exec_query(const lp_dnnl_exec *x, int arg)
{
    const_dnnl_primitive_desc_t pd = exec_pd(x);
    return pd ? dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg) : NULL;
}

const char *lp_dnnl_exec_impl(const lp_dnnl_exec *x)
{
    const_dnnl_primitive_desc_t pd = exec_pd(x);
    const char *s = NULL;
    if (!pd || dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success ||
        !s)
        return "?";
    return s;
}

dnnl_status_t lp_dnnl_exec_add(lp_dnnl_exec *x, int arg, lp_cmd md, int alloc)
{
    if (x->n >= LP_DNNL_MAX_ARGS) return dnnl_runtime_error;
    dnnl_memory_t m = NULL;
    dnnl_status_t s =
        dnnl_memory_create(&m, md, g_engine, alloc ? DNNL_MEMORY_ALLOCATE : DNNL_MEMORY_NONE);
    if (s != dnnl_success) return s;
    x->a[x->n].arg = arg;
    x->a[x->n].memory = m;
    x->own[x->n] = 1;
    x->n++;
    return dnnl_success;
}

dnnl_status_t lp_dnnl_exec_add_queried(lp_dnnl_exec *x, int arg, int alloc, int *present)
{
    lp_cmd md = lp_dnnl_exec_query(x, arg);
    *present = lp_md_ndims(md) > 0;
    if (!*present) return dnnl_success;
    return lp_dnnl_exec_add(x, arg, md, alloc);
}

dnnl_status_t lp_dnnl_exec_share(lp_dnnl_exec *x, int arg, dnnl_memory_t m)
{
    if (x->n >= LP_DNNL_MAX_ARGS) return dnnl_runtime_error;
    x->a[x->n].arg = arg;
    x->a[x->n].memory = m;
    x->own[x->n] = 0;
    x->n++;
    return dnnl_success;
}

dnnl_memory_t lp_dnnl_exec_mem(const lp_dnnl_exec *x, int arg)
{
    for (int i = 0; i < x->n; i++)
        if (x->a[i].arg == arg) return x->a[i].memory;
    return NULL;
}

dnnl_status_t lp_dnnl_exec_bind(lp_dnnl_exec *x, int arg, const void *p)
{
    dnnl_memory_t m = lp_dnnl_exec_mem(x, arg);
    if (!m) return dnnl_invalid_arguments;
    /* oneDNN only reads input arguments; its API is not const-qualified. */
    return dnnl_memory_set_data_handle(m, (void *)(uintptr_t)p);
}

dnnl_status_t lp_dnnl_exec_run(lp_dnnl_exec *x)
{
    dnnl_status_t s = dnnl_primitive_execute(x->prim, g_stream, x->n, x->a);
    if (s == dnnl_success) s = dnnl_stream_wait(g_stream);
    return s;
}

void lp_dnnl_exec_destroy(lp_dnnl_exec *x)
{
    for (int i = 0; i < x->n; i++)
        if (x->own[i] && x->a[i].memory) dnnl_memory_destroy(x->a[i].memory);
    if (x->prim) dnnl_primitive_destroy(x->prim);
    memset(x, 0, sizeof *x);
}

/* ---- the cache --------------------------------------------------------------------------- */

static lp_dnnl_entry g_cache[LP_DNNL_CACHE_SIZE];
static uint64_t g_clock;

static void entry_free(lp_dnnl_entry *e)
{
    /* Later execs may share memory objects owned by earlier ones. */
    for (int i = e->nex - 1; i >= 0; i--) lp_dnnl_exec_destroy(&e->ex[i]);
    memset(e, 0, sizeof *e);
}

lp_dnnl_entry *lp_dnnl_cache_get(const lp_dnnl_key *key, lp_dnnl_build_fn build, const void *ctx)
{
    if (lp_dnnl_reject_all || g_setup != 1) return NULL;
    lp_dnnl_entry *victim = NULL;
    for (int i = 0; i < LP_DNNL_CACHE_SIZE; i++) {
        lp_dnnl_entry *e = &g_cache[i];
        if (e->used && memcmp(&e->key, key, sizeof *key) == 0) {
            e->stamp = ++g_clock;
            return e;
        }
        if (!victim || (!e->used && victim->used) ||
            (e->used == victim->used && e->stamp < victim->stamp))
            victim = e;
    }
    if (victim->used) {
        entry_free(victim);
        lp_dnnl_counters.evicted++;
    }
    victim->key = *key;
    victim->used = 1;
    victim->stamp = ++g_clock;
    victim->ok = build(victim, ctx) == 0;
    if (victim->ok) {
        lp_dnnl_counters.created++;
    } else {
        for (int i = victim->nex - 1; i >= 0; i--) lp_dnnl_exec_destroy(&victim->ex[i]);
        victim->nex = 0;
        victim->reorder = 0;
        lp_dnnl_counters.rejected++;
    }
    return victim;
}

void lp_dnnl_get_stats(lp_dnnl_stats *out)
{
    lp_dnnl_lock();
    *out = lp_dnnl_counters;
    lp_dnnl_unlock();
}

void lp_dnnl_reset(void)
{
    lp_dnnl_lock();
    for (int i = 0; i < LP_DNNL_CACHE_SIZE; i++)
        if (g_cache[i].used) entry_free(&g_cache[i]);
    memset(&lp_dnnl_counters, 0, sizeof lp_dnnl_counters);
    g_error[0] = '\0';
    lp_dnnl_unlock();
}
