/* The kernels' OpenMP regions run on one thread or on every thread of the
 * pool, never a team in between (kernels/common/omp_team.h): in libgomp a
 * region with fewer threads than the last one lets the surplus pool
 * threads exit, and the next larger region creates them again, which on
 * 16 threads cost most of a conv7 training step.
 *
 * Every pool thread carries a pthread key whose destructor counts the
 * thread's exit. Each kernel table (scalar, each ISA this machine runs)
 * then runs on 4 threads over shapes whose work used to size teams of 2
 * or 3 (the sync of 2 and 3 column blocks or columns,
 * GEMMs of 4-8 MFLOP, convolutions of 8-16 MFLOP on every driver path), the
 * pool re-marked after each call; no pool thread may exit. A probe region
 * of 2 threads first shows that such an exit is seen. */
#include "lp_test.h"
#include "kernels/kernels.h"
#include "runtime/dispatch.h"
#include "runtime/rng.h"
#include "scalar_ref.h"

#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 4

static pthread_key_t g_key;
static int g_exits; /* updated atomically from exiting threads */
static lp_rng g_rng;

static void on_exit_thread(void *p)
{
    (void)p;
    __atomic_add_fetch(&g_exits, 1, __ATOMIC_SEQ_CST);
}

/* Mark every thread of a full team (new ones included). */
static void mark_pool(void)
{
#pragma omp parallel num_threads(THREADS)
    {
        if (omp_get_thread_num() != 0 && !pthread_getspecific(g_key)) pthread_setspecific(g_key, &g_key);
    }
}

static int exits(void) { return __atomic_load_n(&g_exits, __ATOMIC_SEQ_CST); }

static float *frand(size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    if (!p) abort();
    for (size_t i = 0; i < n; i++) p[i] = 2.0f * lp_rng_uniform(&g_rng) - 1.0f;
    return p;
}

/* The probe: a team of 2 after a team of 4 makes 2 threads exit (libgomp;
 * a runtime that keeps them, as LLVM's libomp does, shows none, and then
 * there is nothing to watch: main skips). */
static int g_probe;

static void test_probe_sees_exits(void)
{
    mark_pool();
    const int before = exits();
    int sink = 0;
#pragma omp parallel num_threads(2)
    {
#pragma omp atomic
        sink++;
    }
    /* the surplus threads exit after the region; give them a moment */
    for (int i = 0; i < 1000 && exits() - before < 2; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    g_probe = exits() - before;
    CHECK_MSG(g_probe == 0 || g_probe == 2, "a team of 2 after 4 should end 2 pool threads, saw %d (sink %d)",
              g_probe, sink);
    mark_pool(); /* back to a full, marked pool */
}

/* No pool thread ended since `before`; names the call that ended one.
 * Surplus threads leave when the smaller team starts, but their exit (and
 * the key's destructor) runs on their own time: wait up to 2 ms. */
static int still_whole(int before, const char *impl, const char *what)
{
    mark_pool();
    for (int i = 0; i < 20 && exits() == before; i++) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    CHECK_MSG(exits() == before, "%s %s: %d pool threads ended (a team between 1 and %d)", impl, what,
              exits() - before, THREADS);
    return exits();
}

static void run_table(const lp_kernels *t, const char *impl)
{
    int seen = exits();
    /* GEMMs from 0.5 to 17 MFLOP (teams of 2 and 3 used to start at 4) */
    static const int mnk[][3] = {{64, 64, 64}, {128, 128, 128}, {96, 160, 192}, {256, 128, 192}, {64, 64, 3000}};
    for (size_t i = 0; i < sizeof mnk / sizeof mnk[0]; i++) {
        const int m = mnk[i][0], n = mnk[i][1], k = mnk[i][2];
        float *a = frand((size_t)m * k), *b = frand((size_t)k * n), *c = frand((size_t)m * n);
        t->gemm(0, 0, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        t->gemm(1, 0, m, n, k, 1.0f, a, m, b, n, 0.0f, c, n);
        free(a);
        free(b);
        free(c);
        seen = still_whole(seen, impl, "gemm");
    }
    /* syncs of 2 and 3 blocks of 16 columns, and of 3 long columns */
    static const size_t var[][2] = {{576, 32}, {576, 48}, {2304, 3}, {288, 40}};
    for (size_t i = 0; i < sizeof var / sizeof var[0]; i++) {
        const size_t len = var[i][0], nvec = var[i][1];
        float *w = frand(len * nvec), *sorted = frand(len * nvec);
        for (size_t j = 0; j < nvec; j++) /* each column's values ascending */
            for (size_t r = 1; r < len; r++)
                if (sorted[j * len + r] < sorted[j * len + r - 1]) sorted[j * len + r] = sorted[j * len + r - 1];
        void *ws = malloc(t->sync_workspace(len, nvec) + 1);
        CHECK(t->sync(len, nvec, w, sorted, ws) == -1);
        free(ws);
        free(w);
        free(sorted);
        seen = still_whole(seen, impl, "sync");
    }
    /* convolutions, 8-16 MFLOP forward, rows {n, h, w, c, k, same, stride,
     * oc}: 'same' stride 1, 'valid', stride 2 'same', a 1x1 stride-2
     * shortcut, an input layer, a 4x4 image (each with its backward) */
    static const int geo[][8] = {{2, 16, 16, 32, 3, 1, 1, 32}, {3, 12, 12, 32, 3, 0, 1, 32},
                                 {4, 16, 16, 32, 3, 2, 1, 32}, {8, 16, 16, 32, 1, 2, 1, 64},
                                 {12, 24, 24, 3, 3, 1, 1, 16}, {16, 4, 4, 64, 3, 1, 1, 64}};
    for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++) {
        const int *r = geo[i];
        lp_conv_geom g = sr_geom(r[0], r[1], r[2], r[3], r[4], r[4], r[6], r[6], r[7], r[5]);
        const size_t xs = (size_t)g.n * g.h * g.w * g.c, ys = (size_t)g.n * g.oh * g.ow * g.oc,
                     wsz = (size_t)g.kh * g.kw * g.c * g.oc;
        float *x = frand(xs), *w = frand(wsz), *y = frand(ys), *dy = frand(ys), *dx = frand(xs),
              *dw = frand(wsz), *ws = frand(t->conv_workspace(&g) + 1);
        t->conv_fwd(t, &g, x, w, y, ws);
        seen = still_whole(seen, impl, "conv_fwd");
        t->conv_bwd_data(t, &g, dy, w, dx, ws);
        seen = still_whole(seen, impl, "conv_bwd_data");
        t->conv_bwd_weights(t, &g, x, dy, dw, ws);
        seen = still_whole(seen, impl, "conv_bwd_weights");
        free(x);
        free(w);
        free(y);
        free(dy);
        free(dx);
        free(dw);
        free(ws);
    }
}

static void test_kernels_keep_the_pool(void)
{
    lp_kernels t;
    lp_kernels_init_scalar(&t);
    run_table(&t, "scalar");
    for (int i = 1; i < LP_ISA_COUNT; i++)
        if (lp_isa_supported((lp_isa)i) && lp_kernels_for_isa((lp_isa)i, &t) == LAPERM_OK)
            run_table(&t, lp_isa_name((lp_isa)i));
}

int main(void)
{
    lp_rng_seed(&g_rng, 20261126, LP_STREAM_TEST, 0);
    CHECK(pthread_key_create(&g_key, on_exit_thread) == 0);
    omp_set_num_threads(THREADS);
    mark_pool();
    LP_RUN(test_probe_sees_exits);
    if (g_probe == 0) {
        printf("skip: this OpenMP runtime keeps the threads a smaller team leaves out: nothing to watch\n");
        return 77;
    }
    LP_RUN(test_kernels_keep_the_pool);
    return lp_test_done();
}
