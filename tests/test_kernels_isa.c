/* Every ISA kernel table this machine runs (avx2, avx512 on x86; neon on
 * aarch64) against the scalar table, the oracle.
 *
 * Tolerances:
 *  - gemm: |c - c_scalar| <= 1e-5 * sqrt(k) * S + 1e-30, where
 *    S = |alpha| * sum_p |op(A)[i,p] op(B)[p,j]| + |beta c| (the magnitude the
 *    rounding errors scale with); beta == 0 must overwrite NaN; columns past
 *    n (ldc > n) must stay untouched.
 *  - sync, argsort: bit-exact (a permutation of fixed values; ties in
 *    position order, -0.0 == +0.0), the same first NaN vector.
 *  - element-wise kernels, which the ISAs compute with the same IEEE
 *    operations in the same order as the scalar code (relu, dropout, axpy,
 *    adam, sumsq, bias add/grad, batch norm fwd/bwd with and without the
 *    fused ReLU; im2col where an ISA overrides it): bit-exact, NaN and -0.0
 *    included.
 *  - convolutions (fwd, bwd-data, bwd-weights): against a double-precision
 *    reference, with the gemm's tolerance over the k terms of each output.
 *  - gemm, sync and convolutions: bitwise identical with 1 and 2 threads. */
#include "lp_test.h"
#include "kernels/kernels.h"
#include "kernels/scalar/scalar.h"
#include "runtime/dispatch.h"
#include "runtime/rng.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static lp_kernels g_ref;
static lp_kernels g_isa[LP_ISA_COUNT];
static int g_have[LP_ISA_COUNT];
static lp_rng g_rng;

static float urand(void) { return 2.0f * lp_rng_uniform(&g_rng) - 1.0f; }
static float nrand(void)
{
    float u = lp_rng_uniform(&g_rng), v = lp_rng_uniform(&g_rng);
    return (float)(sqrt(-2.0 * log(u + 1e-12)) * cos(6.283185307179586 * v));
}
static int irand(int n) { return (int)lp_rng_below(&g_rng, (uint64_t)n); }

static float *fbuf(size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    if (!p) abort();
    return p;
}

#define FOR_ISA(i)                                                         \
    for (int i = 1; i < LP_ISA_COUNT; i++)                                 \
        if (g_have[i])

/* ---- gemm ------------------------------------------------------------------ */

/* Compare one ISA gemm against the scalar one; returns failures. */
static int gemm_case(const lp_kernels *t, const char *name, int ta, int tb, int m, int n, int k,
                     float alpha, float beta)
{
    int lda = (ta ? m : k) + irand(3), ldb = (tb ? k : n) + irand(3), ldc = n + irand(3);
    size_t asz = (size_t)(ta ? k : m) * lda, bsz = (size_t)(tb ? n : k) * ldb,
           csz = (size_t)m * ldc;
    float *a = fbuf(asz), *b = fbuf(bsz), *c0 = fbuf(csz), *c1 = fbuf(csz), *c2 = fbuf(csz);
    for (size_t i = 0; i < asz; i++) a[i] = urand();
    for (size_t i = 0; i < bsz; i++) b[i] = urand();
    for (size_t i = 0; i < csz; i++) {
        c0[i] = beta == 0.0f ? NAN : urand();
        c1[i] = c0[i];
        c2[i] = c0[i];
    }
    g_ref.gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
    t->gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c1, ldc);
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < m && bad < 5; i++) {
        for (int j = 0; j < ldc; j++) {
            size_t o = (size_t)i * ldc + j;
            if (j >= n) { /* padding untouched */
                if (memcmp(&c1[o], &c2[o], sizeof(float)) != 0) bad++;
                continue;
            }
            double s = fabs(beta) * (beta == 0.0f ? 0.0 : fabs(c2[o]));
            for (int p = 0; p < k; p++) {
                double x = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                double y = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                s += fabs(alpha) * fabs(x * y);
            }
            double tol = 1e-5 * sqrt((double)(k > 1 ? k : 1)) * s + 1e-30;
            double e = fabs((double)c1[o] - (double)c0[o]);
            if (!(e <= tol)) {
                if (bad < 3)
                    fprintf(stderr, "  %s gemm ta=%d tb=%d m=%d n=%d k=%d alpha=%g beta=%g: "
                                    "c[%d,%d] = %.9g vs scalar %.9g (tol %.3g)\n",
                            name, ta, tb, m, n, k, alpha, beta, i, j, c1[o], c0[o], tol);
                bad++;
            }
            if (s > 0 && e / s > worst) worst = e / s;
        }
    }
    free(a);
    free(b);
    free(c0);
    free(c1);
    free(c2);
    return bad;
}

static void test_gemm_vs_scalar(void)
{
    static const int sz[] = {1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 33, 47, 64, 97};
    const int nsz = (int)(sizeof sz / sizeof sz[0]);
    FOR_ISA(i)
    {
        int fails = 0, cases = 0;
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int r = 0; r < 40; r++) {
                    int m = sz[irand(nsz)], n = sz[irand(nsz)], k = sz[irand(nsz)];
                    int sel = irand(4);
                    float beta = sel == 0 ? 0.0f : sel == 1 ? 1.0f : sel == 2 ? -0.5f : 0.25f;
                    float alpha = irand(2) ? 1.0f : -1.75f;
                    fails += gemm_case(&g_isa[i], lp_isa_name((lp_isa)i), ta, tb, m, n, k, alpha,
                                       beta) != 0;
                    cases++;
                }
        /* blocking edges: k around the k-block sizes, tall/skinny conv shapes */
        static const int big[][6] = {
            /* ta tb m n k beta0 */
            {0, 0, 150, 130, 257, 1}, {0, 0, 300, 40, 600, 0}, {0, 1, 301, 129, 70, 0},
            {1, 0, 27, 64, 2000, 1},  {1, 0, 290, 33, 513, 0}, {1, 1, 150, 290, 300, 0},
            {0, 0, 2000, 64, 27, 1},  {0, 0, 700, 17, 1153, 0}, {0, 1, 1000, 200, 64, 1},
            {0, 0, 1, 1, 3000, 0},    {0, 0, 3, 1100, 5, 0},   {1, 1, 97, 1030, 31, 1}};
        for (size_t s = 0; s < sizeof big / sizeof big[0]; s++) {
            fails += gemm_case(&g_isa[i], lp_isa_name((lp_isa)i), big[s][0], big[s][1],
                               big[s][2], big[s][3], big[s][4], 1.0f,
                               big[s][5] ? 0.0f : 0.5f) != 0;
            cases++;
        }
        CHECK_MSG(fails == 0, "%s: %d of %d gemm cases off", lp_isa_name((lp_isa)i), fails, cases);
    }
}

static void test_gemm_k0_alpha0(void)
{
    FOR_ISA(i)
    {
        float c[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, a[1] = {1}, b[1] = {1};
        g_isa[i].gemm(0, 0, 2, 3, 0, 1.0f, a, 1, b, 3, 0.0f, c, 3);
        int ok = 1;
        for (int j = 0; j < 6; j++) ok &= c[j] == 0.0f;
        CHECK_MSG(ok, "%s: k = 0, beta = 0 must zero C", lp_isa_name((lp_isa)i));
        float d[4] = {1, 2, 3, 4};
        g_isa[i].gemm(0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 2.0f, d, 2);
        CHECK(d[0] == 2 && d[1] == 4 && d[2] == 6 && d[3] == 8);
    }
}

static void gemm_threads_case(const lp_kernels *t, const char *name, int ta, int tb, int m, int n,
                              int k)
{
    int lda = ta ? m : k, ldb = tb ? k : n;
    size_t asz = (size_t)m * k, bsz = (size_t)k * n, csz = (size_t)m * n;
    float *a = fbuf(asz), *b = fbuf(bsz), *c1 = fbuf(csz), *c2 = fbuf(csz);
    for (size_t i = 0; i < asz; i++) a[i] = urand();
    for (size_t i = 0; i < bsz; i++) b[i] = urand();
    for (size_t i = 0; i < csz; i++) c1[i] = c2[i] = urand();
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    t->gemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.5f, c1, n);
    omp_set_num_threads(2);
    t->gemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.5f, c2, n);
    omp_set_num_threads(saved);
    CHECK_MSG(memcmp(c1, c2, sizeof(float) * csz) == 0,
              "%s gemm ta=%d tb=%d %dx%dx%d differs between 1 and 2 threads", name, ta, tb, m, n,
              k);
    free(a);
    free(b);
    free(c1);
    free(c2);
}

static void test_gemm_thread_independent(void)
{
    FOR_ISA(i)
    {
        const char *nm = lp_isa_name((lp_isa)i);
        gemm_threads_case(&g_isa[i], nm, 0, 0, 193, 157, 300);
        gemm_threads_case(&g_isa[i], nm, 0, 1, 1201, 64, 75);
        gemm_threads_case(&g_isa[i], nm, 1, 0, 75, 40, 3001);
        gemm_threads_case(&g_isa[i], nm, 1, 1, 31, 300, 129);
        gemm_threads_case(&g_isa[i], nm, 0, 0, 2500, 32, 600);
        /* few rows: the threads split the column panels instead */
        gemm_threads_case(&g_isa[i], nm, 0, 0, 5, 300, 200);
        gemm_threads_case(&g_isa[i], nm, 1, 0, 27, 64, 5000);
        gemm_threads_case(&g_isa[i], nm, 0, 1, 12, 600, 150);
    }
}

/* ---- argsort and sync ------------------------------------------------------- */

enum {
    V_NORMAL, V_TIES, V_ZEROS, V_CONST, V_NARROW, V_OUTLIER, V_FEW, V_CLUSTER, V_TINY, V_INF,
    V_WIDE, V_KINDS
};

/* Fill n values of one kind: plain normals; heavy ties with -0.0/+0.0 and
 * repeats; mostly zeros; all equal; one exponent (constant high digits);
 * normals with a few huge outliers; three distinct values; half the values
 * in a cluster a few ulps wide (large value buckets); denormals only;
 * normals with infinities; a range wider than FLT_MAX. */
static void fill_values(float *v, size_t n, int kind)
{
    float pool[5];
    for (int q = 0; q < 5; q++) pool[q] = 0.01f * nrand();
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case V_NORMAL: v[i] = 0.05f * nrand(); break;
        case V_TIES: {
            int s = irand(4);
            v[i] = s == 0 ? 0.0f : s == 1 ? -0.0f : s == 2 ? pool[irand(5)] : 0.05f * nrand();
            break;
        }
        case V_ZEROS: v[i] = irand(10) ? (irand(2) ? 0.0f : -0.0f) : 0.05f * nrand(); break;
        case V_CONST: v[i] = -0.375f; break;
        case V_NARROW: v[i] = 1.0f + (float)irand(64) * 0x1p-23f; break;
        case V_OUTLIER: v[i] = irand(500) ? 0.05f * nrand() : (irand(2) ? 1e30f : -3e29f); break;
        case V_FEW: v[i] = pool[irand(3)]; break;
        case V_CLUSTER: v[i] = irand(2) ? 0.5f + (float)irand(200) * 0x1p-24f : urand(); break;
        case V_TINY: v[i] = (float)(irand(2000) - 1000) * 0x1p-149f; break;
        case V_INF: v[i] = irand(50) ? 0.05f * nrand() : (irand(2) ? INFINITY : -INFINITY); break;
        default: v[i] = irand(3) ? 3e38f * urand() : 0.05f * nrand(); break;
        }
    }
}

static void test_argsort_vs_scalar(void)
{
    static const size_t ns[] = {1, 2, 3, 17, 39, 40, 41, 100, 255, 256, 257, 577,
                                2048, 2049, 4096, 4097, 5000, 8192, 8193, 12000};
    FOR_ISA(i)
    {
        int bad = 0, cases = 0;
        for (size_t s = 0; s < sizeof ns / sizeof ns[0]; s++) {
            size_t n = ns[s];
            float *v = fbuf(n);
            uint32_t *i0 = malloc(sizeof(uint32_t) * n), *i1 = malloc(sizeof(uint32_t) * n);
            void *w0 = malloc(g_ref.argsort_workspace(n) + 1), *w1 = malloc(g_isa[i].argsort_workspace(n) + 1);
            for (int kind = 0; kind < V_KINDS; kind++) {
                fill_values(v, n, kind);
                int r0 = g_ref.argsort(n, v, i0, w0), r1 = g_isa[i].argsort(n, v, i1, w1);
                cases++;
                if (r0 != 0 || r1 != 0 || memcmp(i0, i1, sizeof(uint32_t) * n) != 0) {
                    if (bad < 3)
                        fprintf(stderr, "  %s argsort n=%zu kind=%d differs\n",
                                lp_isa_name((lp_isa)i), n, kind);
                    bad++;
                }
                /* a NaN anywhere: -1 */
                float keep = v[n / 2];
                v[n / 2] = NAN;
                cases++;
                if (g_isa[i].argsort(n, v, i1, w1) != -1) bad++;
                v[n / 2] = keep;
            }
            free(w0);
            free(w1);
            free(v);
            free(i0);
            free(i1);
        }
        CHECK_MSG(bad == 0, "%s: %d of %d argsort cases off", lp_isa_name((lp_isa)i), bad, cases);
    }
}

/* A variable w[len, nvec] after some training: values near the initial ones
 * (or of the given kind), and sorted[nvec, len] the sorted initial columns. */
static void make_sync_case(size_t len, size_t nvec, int kind, float *w, float *sorted)
{
    float *col = fbuf(len);
    uint32_t *idx = malloc(sizeof(uint32_t) * len);
    void *ws = malloc(g_ref.argsort_workspace(len) + 1);
    for (size_t j = 0; j < nvec; j++) {
        fill_values(col, len, kind == V_CONST ? V_NORMAL : kind);
        if (g_ref.argsort(len, col, idx, ws) != 0) abort();
        for (size_t r = 0; r < len; r++) sorted[j * len + r] = col[idx[r]];
        int ckind = kind == V_NORMAL ? V_NORMAL : (int)((j + (size_t)kind) % V_KINDS);
        fill_values(col, len, ckind);
        for (size_t r = 0; r < len; r++) w[r * nvec + j] = col[r];
    }
    free(ws);
    free(col);
    free(idx);
}

static int sync_case(const lp_kernels *t, const char *name, size_t len, size_t nvec, int kind)
{
    size_t sz = len * nvec;
    float *w0 = fbuf(sz), *sorted = fbuf(sz), *wr = fbuf(sz), *wi = fbuf(sz);
    make_sync_case(len, nvec, kind, w0, sorted);
    memcpy(wr, w0, sizeof(float) * sz);
    memcpy(wi, w0, sizeof(float) * sz);
    void *wsr = malloc(g_ref.sync_workspace(len, nvec) + 1);
    void *wsi = malloc(t->sync_workspace(len, nvec) + 1);
    long rr = g_ref.sync(len, nvec, wr, sorted, wsr);
    long ri = t->sync(len, nvec, wi, sorted, wsi);
    int bad = 0;
    if (rr != -1 || ri != -1 || memcmp(wr, wi, sizeof(float) * sz) != 0) {
        fprintf(stderr, "  %s sync len=%zu nvec=%zu kind=%d differs (ret %ld / %ld)\n", name, len,
                nvec, kind, ri, rr);
        bad = 1;
    }
    /* NaN: the index of the first vector holding one, scalar and ISA alike */
    if (!bad && nvec > 0) {
        size_t j1 = (size_t)irand((int)nvec), j2 = (size_t)irand((int)nvec);
        memcpy(wi, w0, sizeof(float) * sz);
        memcpy(wr, w0, sizeof(float) * sz);
        wi[(size_t)irand((int)len) * nvec + j1] = NAN;
        wi[(size_t)irand((int)len) * nvec + j2] = -NAN;
        memcpy(wr, wi, sizeof(float) * sz);
        long want = (long)(j1 < j2 ? j1 : j2);
        ri = t->sync(len, nvec, wi, sorted, wsi);
        rr = g_ref.sync(len, nvec, wr, sorted, wsr);
        if (ri != want || rr != want) {
            fprintf(stderr, "  %s sync NaN len=%zu nvec=%zu: %ld (scalar %ld), want %ld\n", name,
                    len, nvec, ri, rr, want);
            bad = 1;
        }
    }
    free(w0);
    free(sorted);
    free(wr);
    free(wi);
    free(wsr);
    free(wsi);
    return bad;
}

static void test_sync_vs_scalar(void)
{
    static const size_t shapes[][2] = {
        {1, 1},     {1, 20},   {2, 3},     {3, 17},   {27, 64},  {39, 16},  {40, 15},
        {41, 33},   {64, 1},   {255, 16},  {256, 3},  {257, 31}, {576, 18}, {1000, 1},
        {2048, 17}, {2049, 16}, {2304, 5}, {4608, 33}, {8192, 2}, {8193, 3}, {20000, 1},
        {32767, 2}, {65535, 1}, {65536, 1}, {70001, 1}};
    FOR_ISA(i)
    {
        int bad = 0, cases = 0;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int kind = 0; kind < V_KINDS; kind++) {
                bad += sync_case(&g_isa[i], lp_isa_name((lp_isa)i), shapes[s][0], shapes[s][1],
                                 kind);
                cases++;
            }
        CHECK_MSG(bad == 0, "%s: %d of %d sync cases off", lp_isa_name((lp_isa)i), bad, cases);
    }
}

static void test_sync_thread_independent(void)
{
    static const size_t shapes[][2] = {{576, 64}, {2304, 40}, {27, 100}, {5000, 20}, {70001, 2}};
    FOR_ISA(i)
    {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            size_t len = shapes[s][0], nvec = shapes[s][1], sz = len * nvec;
            float *w0 = fbuf(sz), *sorted = fbuf(sz), *w1 = fbuf(sz), *w2 = fbuf(sz);
            make_sync_case(len, nvec, V_TIES, w0, sorted);
            memcpy(w1, w0, sizeof(float) * sz);
            memcpy(w2, w0, sizeof(float) * sz);
            int saved = omp_get_max_threads();
            omp_set_num_threads(1);
            void *ws1 = malloc(g_isa[i].sync_workspace(len, nvec) + 1);
            long r1 = g_isa[i].sync(len, nvec, w1, sorted, ws1);
            omp_set_num_threads(2);
            void *ws2 = malloc(g_isa[i].sync_workspace(len, nvec) + 1);
            long r2 = g_isa[i].sync(len, nvec, w2, sorted, ws2);
            omp_set_num_threads(saved);
            CHECK(r1 == -1 && r2 == -1);
            CHECK_MSG(memcmp(w1, w2, sizeof(float) * sz) == 0,
                      "%s sync %zux%zu differs between 1 and 2 threads", lp_isa_name((lp_isa)i),
                      len, nvec);
            free(w0);
            free(sorted);
            free(w1);
            free(w2);
            free(ws1);
            free(ws2);
        }
    }
}

/* ---- element-wise kernels, batch norm, im2col: bit-exact ----------------- */

static int same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

/* Values with the awkward cases mixed in: -0.0, +0.0, NaN (when nan), and
 * magnitudes over many binades. */
static void fill_special(float *v, size_t n, int nan)
{
    for (size_t i = 0; i < n; i++) {
        int s = irand(16);
        v[i] = s == 0 ? -0.0f : s == 1 ? 0.0f : (nan && s == 2) ? NAN : nrand() * ldexpf(1.0f, irand(12) - 6);
    }
}

static void test_eltwise_vs_scalar(void)
{
    static const size_t ns[] = {0, 1, 7, 8, 9, 31, 1000, 8191, 8193, 70001, 300007};
    FOR_ISA(i)
    {
        const lp_kernels *t = &g_isa[i];
        const char *nm = lp_isa_name((lp_isa)i);
        for (size_t s = 0; s < sizeof ns / sizeof ns[0]; s++) {
            size_t n = ns[s];
            float *x = fbuf(n), *y0 = fbuf(n), *y1 = fbuf(n), *d = fbuf(n);
            float *w0 = fbuf(n), *w1 = fbuf(n), *m0 = fbuf(n), *m1 = fbuf(n), *v0 = fbuf(n),
                  *v1 = fbuf(n);
            uint8_t *mask = malloc(n + 1);
            fill_special(x, n, 1);
            fill_special(d, n, 1);
            g_ref.relu_fwd(n, x, y0);
            t->relu_fwd(n, x, y1);
            CHECK_MSG(same_bits(y0, y1, n * 4), "%s relu_fwd n=%zu", nm, n);
            memcpy(y1, x, n * 4); /* in place */
            t->relu_fwd(n, y1, y1);
            CHECK_MSG(same_bits(y0, y1, n * 4), "%s relu_fwd in place n=%zu", nm, n);
            g_ref.relu_bwd(n, x, d, y0);
            t->relu_bwd(n, x, d, y1);
            CHECK_MSG(same_bits(y0, y1, n * 4), "%s relu_bwd n=%zu", nm, n);
            for (size_t q = 0; q < n; q++) mask[q] = (uint8_t)(irand(3) != 0);
            g_ref.dropout_apply(n, x, mask, 1.25f, y0);
            t->dropout_apply(n, x, mask, 1.25f, y1);
            CHECK_MSG(same_bits(y0, y1, n * 4), "%s dropout n=%zu", nm, n);
            fill_special(x, n, 0);
            fill_special(y0, n, 0);
            memcpy(y1, y0, n * 4);
            g_ref.axpy(n, -0.37f, x, y0);
            t->axpy(n, -0.37f, x, y1);
            CHECK_MSG(same_bits(y0, y1, n * 4), "%s axpy n=%zu", nm, n);
            /* add: the bits of copy + axpy(1.0) (the residual add's old
             * form), in place on either operand too; no NaNs (which NaN
             * an addition of two returns is not fixed) */
            fill_special(d, n, 0);
            memcpy(y1, d, n * 4);
            g_ref.axpy(n, 1.0f, x, y1);
            t->add(n, d, x, y0);
            CHECK_MSG(same_bits(y0, y1, n * 4), "%s add n=%zu", nm, n);
            memcpy(y0, x, n * 4);
            t->add(n, d, y0, y0);
            CHECK_MSG(same_bits(y0, y1, n * 4), "%s add in place n=%zu", nm, n);
            memset(y0, 0, n * 4);
            t->copy(n, x, y0);
            CHECK_MSG(same_bits(y0, x, n * 4), "%s copy n=%zu", nm, n);
            double s0 = g_ref.sumsq(n, x), s1 = t->sumsq(n, x);
            CHECK_MSG(same_bits(&s0, &s1, sizeof s0), "%s sumsq n=%zu: %.17g vs %.17g", nm, n, s1, s0);
            for (size_t q = 0; q < n; q++) {
                w0[q] = w1[q] = nrand();
                m0[q] = m1[q] = 0.1f * nrand();
                v0[q] = v1[q] = 0.01f * fabsf(nrand());
            }
            fill_special(d, n, 0);
            g_ref.adam_update(n, w0, d, m0, v0, 1e-3f, 0.9f, 0.999f, 1e-7f);
            t->adam_update(n, w1, d, m1, v1, 1e-3f, 0.9f, 0.999f, 1e-7f);
            CHECK_MSG(same_bits(w0, w1, n * 4) && same_bits(m0, m1, n * 4) && same_bits(v0, v1, n * 4),
                      "%s adam n=%zu", nm, n);
            free(x); free(y0); free(y1); free(d); free(w0); free(w1);
            free(m0); free(m1); free(v0); free(v1); free(mask);
        }
    }
}

/* Max pooling, forward and backward, bit for bit against the scalar
 * kernels: windows that tile the image (the AVX2 path), leftover rows and
 * columns, channel tails, overlapping windows and no window at all (the
 * scalar fallback); values from a small set so that windows hold ties
 * (the first maximum takes the gradient), with NaN and -0.0 among them and
 * in dy; dx starts as garbage to show every element is written. */
static void test_pool_vs_scalar(void)
{
    static const int gs[][7] = { /* n, h, w, c, kh, kw, stride (sh = kh, sw = kw unless overlapping) */
        {3, 8, 8, 64, 2, 2, 0}, {2, 5, 7, 13, 2, 2, 0}, {1, 2, 2, 1, 2, 2, 0}, {2, 6, 6, 3, 2, 2, 0},
        {4, 32, 32, 16, 2, 2, 0}, {2, 9, 10, 9, 3, 3, 0}, {2, 4, 9, 24, 1, 2, 0}, {2, 9, 9, 8, 3, 3, 2},
        {1, 1, 1, 8, 2, 2, 0},
    };
    static const float vals[] = {-1.0f, 0.0f, 1.0f, 2.0f, -0.0f, NAN};
    FOR_ISA(i)
    {
        const lp_kernels *t = &g_isa[i];
        const char *nm = lp_isa_name((lp_isa)i);
        for (size_t q = 0; q < sizeof gs / sizeof gs[0]; q++) {
            lp_conv_geom g = {0};
            g.n = gs[q][0], g.h = gs[q][1], g.w = gs[q][2], g.c = g.oc = gs[q][3];
            g.kh = gs[q][4], g.kw = gs[q][5];
            g.sh = gs[q][6] ? gs[q][6] : g.kh, g.sw = gs[q][6] ? gs[q][6] : g.kw;
            g.oh = g.h >= g.kh ? (g.h - g.kh) / g.sh + 1 : 0;
            g.ow = g.w >= g.kw ? (g.w - g.kw) / g.sw + 1 : 0;
            const size_t nx = (size_t)g.n * g.h * g.w * g.c, ny = (size_t)g.n * g.oh * g.ow * g.c;
            float *x = fbuf(nx), *y0 = fbuf(ny), *y1 = fbuf(ny), *d = fbuf(ny), *dx0 = fbuf(nx), *dx1 = fbuf(nx);
            for (size_t k = 0; k < nx; k++) x[k] = vals[irand(q % 2 ? 6 : 5)];
            fill_special(d, ny, 1);
            g_ref.maxpool_fwd(&g, x, y0);
            t->maxpool_fwd(&g, x, y1);
            CHECK_MSG(same_bits(y0, y1, ny * 4), "%s maxpool_fwd case %zu", nm, q);
            for (size_t k = 0; k < nx; k++) dx0[k] = dx1[k] = 12345.0f;
            g_ref.maxpool_bwd(&g, x, y0, d, dx0);
            t->maxpool_bwd(&g, x, y0, d, dx1);
            CHECK_MSG(same_bits(dx0, dx1, nx * 4), "%s maxpool_bwd case %zu (%dx%d/%d, %dx%dx%d)", nm, q,
                      g.kh, g.kw, g.sh, g.h, g.w, g.c);
            free(x); free(y0); free(y1); free(d); free(dx0); free(dx1);
        }
    }
}

static void test_bias_vs_scalar(void)
{
    /* rows past LP_BG_ROWS (2048) and LP_BG_ROWS * LP_BG_MAXCH exercise the
     * row chunks of bias_grad */
    static const int shapes[][2] = {{1, 1},      {7, 3},     {33, 10},   {5, 64},   {1000, 64},
                                    {3000, 37},  {100, 129}, {2, 513},   {4097, 32}, {9000, 16},
                                    {140000, 3}, {5000, 128}, {4500, 300}, {2100, 33}};
    FOR_ISA(i)
    {
        const lp_kernels *t = &g_isa[i];
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            size_t rows = (size_t)shapes[s][0];
            int cols = shapes[s][1];
            size_t n = rows * (size_t)cols;
            float *y0 = fbuf(n), *y1 = fbuf(n), *b = fbuf((size_t)cols), *g0 = fbuf((size_t)cols),
                  *g1 = fbuf((size_t)cols);
            fill_special(y0, n, 0);
            memcpy(y1, y0, n * 4);
            fill_special(b, (size_t)cols, 0);
            g_ref.bias_add(rows, cols, b, y0);
            t->bias_add(rows, cols, b, y1);
            CHECK_MSG(same_bits(y0, y1, n * 4), "%s bias_add %zux%d", lp_isa_name((lp_isa)i), rows, cols);
            g_ref.bias_grad(rows, cols, y0, g0);
            t->bias_grad(rows, cols, y0, g1);
            CHECK_MSG(same_bits(g0, g1, (size_t)cols * 4), "%s bias_grad %zux%d", lp_isa_name((lp_isa)i), rows, cols);
            if (t->relu_bias_grad) {
                /* fused: bitwise relu_bwd then bias_grad (y0 as the ReLU output) */
                float *d0 = fbuf(n), *d1 = fbuf(n);
                fill_special(d0, n, 0);
                memcpy(d1, d0, n * 4);
                t->relu_bwd(n, y0, d0, d0);
                t->bias_grad(rows, cols, d0, g0);
                t->relu_bias_grad(rows, cols, y0, d1, g1);
                CHECK_MSG(same_bits(d0, d1, n * 4) && same_bits(g0, g1, (size_t)cols * 4),
                          "%s relu_bias_grad %zux%d", lp_isa_name((lp_isa)i), rows, cols);
                free(d0); free(d1);
            }
            free(y0); free(y1); free(b); free(g0); free(g1);
        }
    }
}

static void test_bn_vs_scalar(void)
{
    /* rows below and above the 16 row groups; channels in 1-4 vectors (the
     * register sweeps), with tails, up to the vector kernels' 512 and past
     * it (the scalar fallback); one thread (under 32768 elements) and the
     * team */
    static const int shapes[][2] = {{1, 1},     {5, 3},     {300, 8},   {300, 16},  {77, 17},
                                    {2000, 64}, {50, 33},   {4, 200},   {100, 600}, {3, 4100},
                                    {1200, 16}, {3000, 48}, {5000, 8},  {700, 100}, {90, 509},
                                    {20, 512},  {40, 24},   {9, 32},    {4200, 64}, {6000, 100},
                                    {2500, 16}};
    FOR_ISA(i)
    {
        const lp_kernels *t = &g_isa[i];
        const char *nm = lp_isa_name((lp_isa)i);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int mode = 0; mode < 3; mode++) {
                /* mode 2: every fifth channel +1e17 in row 0 and -1e17 in
                 * row rows/16 (the first of row group 1) among values of
                 * 1-5.4, which a double sum beside 1e17 rounds to multiples
                 * of 16: row order, the grouping and the order the groups
                 * are added in each give another mean */
                const int relu = mode == 1, spread = mode == 2;
                size_t rows = (size_t)shapes[s][0];
                int c = shapes[s][1];
                size_t n = rows * (size_t)c, cs = (size_t)c;
                float *x = fbuf(n), *y0 = fbuf(n), *y1 = fbuf(n), *dy = fbuf(n), *dx0 = fbuf(n),
                      *dx1 = fbuf(n);
                float *gam = fbuf(cs), *bet = fbuf(cs), *mu0 = fbuf(cs), *mu1 = fbuf(cs),
                      *va0 = fbuf(cs), *va1 = fbuf(cs), *dg0 = fbuf(cs), *dg1 = fbuf(cs),
                      *db0 = fbuf(cs), *db1 = fbuf(cs);
                for (size_t q = 0; q < n; q++) {
                    x[q] = 2.0f * nrand() + 0.5f;
                    dy[q] = nrand();
                    const size_t r = q / cs;
                    if (spread && q % cs % 5 == 0) {
                        const float big = r == 0 ? 1e17f : r == rows / 16 && rows >= 32 ? -1e17f : 0.0f;
                        x[q] = big != 0.0f ? big : 1.0f + 0.37f * (float)(r % 13);
                        dy[q] = big != 0.0f ? big : 1.0f + 0.29f * (float)(r % 11);
                    }
                }
                for (size_t q = 0; q < cs; q++) {
                    gam[q] = 1.0f + 0.3f * nrand();
                    bet[q] = 0.2f * nrand();
                }
                g_ref.bn_fwd_train(rows, c, x, gam, bet, 1e-3f, y0, mu0, va0, relu);
                t->bn_fwd_train(rows, c, x, gam, bet, 1e-3f, y1, mu1, va1, relu);
                CHECK_MSG(same_bits(y0, y1, n * 4) && same_bits(mu0, mu1, cs * 4) &&
                              same_bits(va0, va1, cs * 4),
                          "%s bn_fwd_train %zux%d mode=%d", nm, rows, c, mode);
                g_ref.bn_fwd_infer(rows, c, x, gam, bet, mu0, va0, 1e-3f, y0, relu);
                t->bn_fwd_infer(rows, c, x, gam, bet, mu0, va0, 1e-3f, y1, relu);
                CHECK_MSG(same_bits(y0, y1, n * 4), "%s bn_fwd_infer %zux%d mode=%d", nm, rows, c, mode);
                g_ref.bn_bwd(rows, c, x, y0, dy, gam, mu0, va0, 1e-3f, dx0, dg0, db0, relu);
                t->bn_bwd(rows, c, x, y0, dy, gam, mu0, va0, 1e-3f, dx1, dg1, db1, relu);
                CHECK_MSG(same_bits(dx0, dx1, n * 4) && same_bits(dg0, dg1, cs * 4) &&
                              same_bits(db0, db1, cs * 4),
                          "%s bn_bwd %zux%d mode=%d", nm, rows, c, mode);
                free(x); free(y0); free(y1); free(dy); free(dx0); free(dx1); free(gam); free(bet);
                free(mu0); free(mu1); free(va0); free(va1); free(dg0); free(dg1); free(db0); free(db1);
            }
    }
}

/* The geometry of a row {n, h, w, c, kh, kw, stride, same} with oc output
 * channels: 'same' (TF's asymmetric padding) or 'valid'. */
static lp_conv_geom geom_of(const int *row, int oc)
{
    lp_conv_geom g = {0};
    g.n = row[0]; g.h = row[1]; g.w = row[2]; g.c = row[3];
    g.kh = row[4]; g.kw = row[5]; g.sh = g.sw = row[6]; g.oc = oc;
    if (row[7]) {
        g.oh = lp_same_out(g.h, g.sh);
        g.ow = lp_same_out(g.w, g.sw);
        g.pad_top = lp_same_pad_before(g.h, g.kh, g.sh);
        g.pad_left = lp_same_pad_before(g.w, g.kw, g.sw);
    } else {
        g.oh = (g.h - g.kh) / g.sh + 1;
        g.ow = (g.w - g.kw) / g.sw + 1;
    }
    return g;
}

static void test_im2col_vs_scalar(void)
{
    /* n h w c kh kw s same */
    static const int geo[][8] = {
        {2, 7, 5, 3, 3, 3, 1, 1}, {1, 8, 8, 1, 3, 3, 2, 1}, {2, 9, 7, 3, 3, 3, 2, 1},
        {1, 6, 6, 16, 3, 3, 1, 0}, {1, 5, 7, 64, 1, 1, 1, 1}, {1, 11, 10, 5, 5, 5, 2, 1},
        {3, 4, 4, 2, 3, 3, 1, 1},  {1, 13, 13, 7, 2, 2, 2, 0}, {1, 3, 3, 10, 5, 5, 1, 1}};
    FOR_ISA(i)
    {
        for (size_t s = 0; s < sizeof geo / sizeof geo[0]; s++) {
            lp_conv_geom g = geom_of(geo[s], 4);
            size_t xs = (size_t)g.n * g.h * g.w * g.c, cs = (size_t)g.n * g.oh * g.ow * g.kh * g.kw * g.c;
            float *x = fbuf(xs), *c0 = fbuf(cs), *c1 = fbuf(cs);
            fill_special(x, xs, 1);
            for (size_t q = 0; q < cs; q++) c0[q] = c1[q] = NAN;
            g_ref.im2col(&g, x, c0);
            g_isa[i].im2col(&g, x, c1);
            CHECK_MSG(same_bits(c0, c1, cs * 4), "%s im2col case %zu", lp_isa_name((lp_isa)i), s);
            free(x); free(c0); free(c1);
        }
    }
}

/* The three convolutions in double precision with, per output, the sum of
 * the terms' magnitudes (the scale of its rounding error). */
static void conv_ref(const lp_conv_geom *g, const float *x, const float *w, const float *dy,
                     double *y, double *ys, double *dx, double *dxs, double *dw, double *dws)
{
    size_t xs = (size_t)g->n * g->h * g->w * g->c, ysz = (size_t)g->n * g->oh * g->ow * g->oc,
           wsz = (size_t)g->kh * g->kw * g->c * g->oc;
    memset(y, 0, ysz * sizeof *y); memset(ys, 0, ysz * sizeof *ys);
    memset(dx, 0, xs * sizeof *dx); memset(dxs, 0, xs * sizeof *dxs);
    memset(dw, 0, wsz * sizeof *dw); memset(dws, 0, wsz * sizeof *dws);
    for (int n = 0; n < g->n; n++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int i = 0; i < g->kh; i++)
                    for (int j = 0; j < g->kw; j++) {
                        int iy = oy * g->sh + i - g->pad_top, ix = ox * g->sw + j - g->pad_left;
                        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                        size_t xo = (((size_t)n * g->h + iy) * g->w + ix) * g->c;
                        size_t yo = (((size_t)n * g->oh + oy) * g->ow + ox) * g->oc;
                        for (int ci = 0; ci < g->c; ci++)
                            for (int o = 0; o < g->oc; o++) {
                                size_t wo = (((size_t)i * g->kw + j) * g->c + ci) * g->oc + o;
                                double xv = x[xo + ci], wv = w[wo], dv = dy[yo + o];
                                y[yo + o] += xv * wv; ys[yo + o] += fabs(xv * wv);
                                dx[xo + ci] += dv * wv; dxs[xo + ci] += fabs(dv * wv);
                                dw[wo] += xv * dv; dws[wo] += fabs(xv * dv);
                            }
                    }
}

/* got within 1e-5 * sqrt(terms) * scale of the reference everywhere. */
static int conv_close(const char *what, const float *got, const double *ref, const double *scale,
                      size_t n, int terms)
{
    double f = 1e-5 * sqrt((double)(terms > 1 ? terms : 1));
    for (size_t q = 0; q < n; q++) {
        double e = fabs((double)got[q] - ref[q]);
        if (!(e <= f * scale[q] + 1e-30)) {
            fprintf(stderr, "  %s[%zu] = %.9g vs reference %.9g (tol %.3g)\n", what, q, got[q], ref[q],
                    f * scale[q]);
            return 0;
        }
    }
    return 1;
}

/* One geometry on one ISA table: forward, backward-data and
 * backward-weights against the double reference, bitwise equal on 1 and 2
 * threads, the fused epilogue bitwise equal to the separate kernels. */
static void conv_case(const lp_kernels *t, const char *nm, lp_conv_geom g, const char *label)
{
    size_t xs = (size_t)g.n * g.h * g.w * g.c, ys = (size_t)g.n * g.oh * g.ow * g.oc,
           wsz = (size_t)g.kh * g.kw * g.c * g.oc, wn = t->conv_workspace(&g);
    float *x = fbuf(xs), *w = fbuf(wsz), *dy = fbuf(ys), *ws = fbuf(wn + 1);
    float *y[2] = {fbuf(ys), fbuf(ys)}, *dw[2] = {fbuf(wsz), fbuf(wsz)},
          *dx[2] = {fbuf(xs), fbuf(xs)};
    double *ry = malloc(ys * 8), *rys = malloc(ys * 8), *rdx = malloc(xs * 8),
           *rdxs = malloc(xs * 8), *rdw = malloc(wsz * 8), *rdws = malloc(wsz * 8);
    for (size_t q = 0; q < xs; q++) x[q] = urand();
    for (size_t q = 0; q < wsz; q++) w[q] = urand();
    for (size_t q = 0; q < ys; q++) dy[q] = urand();
    conv_ref(&g, x, w, dy, ry, rys, rdx, rdxs, rdw, rdws);
    for (int nt = 1; nt <= 2; nt++) {
        omp_set_num_threads(nt);
        float *y1 = y[nt - 1], *dw1 = dw[nt - 1], *dx1 = dx[nt - 1];
        for (size_t q = 0; q < ys; q++) y1[q] = NAN;
        for (size_t q = 0; q < wsz; q++) dw1[q] = NAN;
        for (size_t q = 0; q < xs; q++) dx1[q] = NAN;
        for (size_t q = 0; q <= wn; q++) ws[q] = NAN;
        t->conv_fwd(t, &g, x, w, y1, ws);
        t->conv_bwd_weights(t, &g, x, dy, dw1, ws);
        t->conv_bwd_data(t, &g, dy, w, dx1, ws);
    }
    int kk = g.kh * g.kw * g.c, pix = g.n * g.oh * g.ow;
    CHECK_MSG(conv_close("y", y[0], ry, rys, ys, kk), "%s conv_fwd %s", nm, label);
    CHECK_MSG(conv_close("dx", dx[0], rdx, rdxs, xs, g.kh * g.kw * g.oc),
              "%s conv_bwd_data %s", nm, label);
    CHECK_MSG(conv_close("dw", dw[0], rdw, rdws, wsz, pix), "%s conv_bwd_weights %s", nm, label);
    CHECK_MSG(same_bits(y[0], y[1], ys * 4), "%s conv_fwd %s: 1 vs 2 threads", nm, label);
    if (t->conv_fwd_ep) {
        /* the fused epilogue: bitwise conv_fwd + bias_add + relu_fwd */
        float *b = fbuf((size_t)g.oc), *ye = fbuf(ys);
        for (int o = 0; o < g.oc; o++) b[o] = urand();
        size_t rows = (size_t)g.n * g.oh * g.ow;
        t->bias_add(rows, g.oc, b, y[0]);
        t->relu_fwd(ys, y[0], y[0]);
        t->conv_fwd_ep(t, &g, x, w, b, 1, ye, ws);
        CHECK_MSG(same_bits(y[0], ye, ys * 4), "%s conv_fwd_ep (bias, relu) %s", nm, label);
        t->conv_fwd(t, &g, x, w, y[0], ws);
        t->conv_fwd_ep(t, &g, x, w, NULL, 0, ye, ws);
        CHECK_MSG(same_bits(y[0], ye, ys * 4), "%s conv_fwd_ep (none) %s", nm, label);
        free(b);
        free(ye);
    }
    CHECK_MSG(same_bits(dx[0], dx[1], xs * 4), "%s conv_bwd_data %s: 1 vs 2 threads", nm, label);
    CHECK_MSG(same_bits(dw[0], dw[1], wsz * 4), "%s conv_bwd_weights %s: 1 vs 2 threads",
              nm, label);
    omp_set_num_threads(2);
    free(x); free(w); free(dy); free(ws); free(y[0]); free(y[1]); free(dw[0]); free(dw[1]);
    free(dx[0]); free(dx[1]); free(ry); free(rys); free(rdx); free(rdxs); free(rdw); free(rdws);
}

/* conv_fwd / conv_bwd_data / conv_bwd_weights of each ISA against a double
 * reference (rounding tolerance), and bitwise equal with 1 and 2 threads.
 * The shapes cover the paths: c % 8 == 0 or not (fused packing or im2col),
 * k-split weight gradients (>= 2048 output pixels), stride 2 'same', odd
 * channel and filter counts. */
static void test_conv_vs_reference(void)
{
    /* n h w c kh kw s same oc */
    static const int geo[][9] = {
        {2, 9, 9, 8, 3, 3, 1, 0, 32},   {3, 12, 12, 32, 5, 5, 2, 1, 32},
        {2, 10, 10, 64, 3, 3, 1, 0, 64}, {2, 4, 4, 64, 4, 4, 1, 0, 128},
        {1, 7, 5, 16, 3, 3, 1, 1, 20},  {2, 6, 7, 24, 3, 3, 2, 1, 7},
        {2, 8, 8, 3, 3, 3, 1, 1, 16},   {1, 11, 10, 40, 5, 5, 2, 1, 45},
        {5, 16, 16, 8, 3, 3, 1, 1, 16}, {13, 10, 10, 16, 3, 3, 1, 0, 8},
        {9, 12, 12, 8, 5, 5, 2, 1, 24}, {6, 28, 28, 1, 3, 3, 1, 0, 32},
        {5, 22, 22, 32, 3, 3, 1, 0, 32}, {9, 16, 16, 16, 1, 1, 2, 1, 32},
        {4, 20, 20, 3, 3, 3, 1, 1, 16}, {3, 30, 30, 16, 3, 3, 1, 1, 48},
        /* input layers: two column groups, odd oc, 'same' with 1 channel,
         * a batch of 1 split into bands over the threads */
        {3, 32, 32, 3, 3, 3, 1, 1, 64}, {2, 12, 9, 1, 3, 3, 1, 1, 13},
        {3, 9, 7, 3, 3, 3, 1, 0, 40},   {1, 64, 64, 3, 3, 3, 1, 1, 64},
        /* ... and each tile of conv_input_3x3.c: 4x64 with 1 channel (a row's
         * last tile hanging over its end), 16x16 along rows, 13x32 + 13x16
         * with 3 and 1 channels, 12x32 + 12x16 with 1 channel */
        {2, 26, 26, 1, 3, 3, 1, 1, 64}, {2, 34, 34, 3, 3, 3, 1, 0, 16},
        {2, 15, 15, 3, 3, 3, 1, 0, 48}, {2, 28, 28, 1, 3, 3, 1, 0, 48},
        {2, 14, 14, 1, 3, 3, 1, 1, 40},
        /* stride-2 'same' classes on wide and on narrow images (rows of 20
         * and of 4 outputs, two column groups) */
        {2, 40, 40, 8, 3, 3, 2, 1, 20}, {3, 40, 8, 8, 3, 3, 2, 1, 40},
        /* an input layer whose padded frame exceeds the stack's 16K floats
         * (forward: gathered windows; weight gradient: border windows
         * gathered instead of the frame) */
        {1, 80, 80, 3, 3, 3, 1, 1, 16},
        /* backward-data's tap classes with an asymmetric 'same' padding: a
         * 4x4 window pads 1 before and 2 after */
        {2, 9, 10, 16, 4, 4, 1, 1, 24},
        /* backward-data's tap classes in stride-2 phases ('same' and
         * 'valid'; 32x32 'valid' leaves dx's last row and column unreached) */
        {2, 16, 32, 16, 3, 3, 2, 1, 24}, {2, 32, 32, 8, 5, 5, 2, 0, 16},
        {2, 32, 32, 8, 3, 3, 2, 0, 16},
        /* 1x1 windows: stride 2 over odd sizes, stride 1; resnet50's
         * shortcut sizes, whose full tiles take the fixed-k kernels
         * (forward 16 -> 32 channels, backward-data 32 -> 16 and 64 -> 32),
         * with images that end inside a tile */
        {4, 7, 9, 8, 1, 1, 2, 1, 24},   {3, 6, 5, 12, 1, 1, 1, 0, 20},
        {3, 10, 12, 16, 1, 1, 2, 0, 32}, {5, 9, 7, 32, 1, 1, 2, 1, 64},
        /* 1x1 weight gradients of 2250 pixels and at most 64 channels: the
         * k-split's 8 chunks of 288 rows (kernels/common/gemm_driver.h),
         * direct (c % 4 == 0) and not */
        {10, 30, 30, 24, 1, 1, 2, 1, 40}, {10, 30, 30, 6, 1, 1, 2, 1, 40},
        /* other channel counts below 8 (gathered windows, whole or by 12) */
        {3, 9, 9, 2, 3, 3, 1, 1, 20},   {2, 10, 8, 5, 3, 3, 2, 1, 36},
        {2, 9, 9, 1, 5, 5, 1, 0, 17}};
    FOR_ISA(i)
    for (size_t s = 0; s < sizeof geo / sizeof geo[0]; s++) {
        char label[32];
        snprintf(label, sizeof label, "case %zu", s);
        conv_case(&g_isa[i], lp_isa_name((lp_isa)i), geom_of(geo[s], geo[s][8]), label);
    }
}

/* Random geometries (windows 1-5 high and wide, strides 1-3, images 1-14,
 * 'same' or 'valid', odd channel counts, batches 1-3): every class the
 * class passes can form (windows larger than the image with 'same',
 * rows and columns no tap reaches, phases with no tap). */
static void test_conv_random_geometries(void)
{
    FOR_ISA(i)
    for (int s = 0; s < 60; s++) {
        int row[9];
        row[0] = 1 + irand(3);
        row[4] = 1 + irand(5); /* kh */
        row[5] = 1 + irand(5); /* kw */
        row[6] = 1 + irand(3); /* stride */
        row[7] = irand(2);     /* same */
        row[1] = (row[7] ? 1 : row[4]) + irand(12);
        row[2] = (row[7] ? 1 : row[5]) + irand(12);
        row[3] = 8 + irand(33);
        row[8] = 1 + irand(40);
        lp_conv_geom g = geom_of(row, row[8]);
        g.sw = 1 + irand(3); /* strides may differ */
        if (row[7]) {
            g.ow = lp_same_out(g.w, g.sw);
            g.pad_left = lp_same_pad_before(g.w, g.kw, g.sw);
        } else {
            g.ow = (g.w - g.kw) / g.sw + 1;
        }
        char label[96];
        snprintf(label, sizeof label, "random %d: n%d %dx%dx%d-%d k%dx%d s%dx%d %s", s, g.n, g.h, g.w, g.c,
                 g.oc, g.kh, g.kw, g.sh, g.sw, row[7] ? "same" : "valid");
        conv_case(&g_isa[i], lp_isa_name((lp_isa)i), g, label);
    }
}

/* ---- main ------------------------------------------------------------------- */

int main(void)
{
    lp_rng_seed(&g_rng, 20240611, LP_STREAM_TEST, 0);
    lp_kernels_init_scalar(&g_ref);
    int any = 0;
    for (int i = 1; i < LP_ISA_COUNT; i++) {
        g_have[i] = lp_isa_supported((lp_isa)i) && lp_kernels_for_isa((lp_isa)i, &g_isa[i]) == LAPERM_OK;
        if (g_have[i]) {
            any = 1;
            printf("testing %s:", lp_isa_name((lp_isa)i));
            for (int f = 0; f < LP_KF_COUNT; f++)
                printf(" %s=%s", lp_kernel_family_names[f], g_isa[i].impl[f]);
            printf("\n");
        }
    }
    if (!any) printf("no ISA kernels on this machine/build: nothing to compare\n");
    LP_RUN(test_gemm_vs_scalar);
    LP_RUN(test_gemm_k0_alpha0);
    LP_RUN(test_gemm_thread_independent);
    LP_RUN(test_argsort_vs_scalar);
    LP_RUN(test_sync_vs_scalar);
    LP_RUN(test_sync_thread_independent);
    LP_RUN(test_eltwise_vs_scalar);
    LP_RUN(test_pool_vs_scalar);
    LP_RUN(test_bias_vs_scalar);
    LP_RUN(test_bn_vs_scalar);
    LP_RUN(test_im2col_vs_scalar);
    LP_RUN(test_conv_vs_reference);
    LP_RUN(test_conv_random_geometries);
    return lp_test_done();
}
