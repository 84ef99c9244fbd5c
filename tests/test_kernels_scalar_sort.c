/* Scalar reference kernels, part 3: argsort, the LaPerm sync, and bitwise
 * identical results for 1 and 2 (and 3) OpenMP threads. */
#include "lp_test.h"
#include "scalar_ref.h"

#include <omp.h>

#include "kernels/scalar/scalar.h"
#include "kernels/scalar/sort.h"

static lp_kernels K;

/* Keys with many ties: a small pool of values incl. -0.0/+0.0, infinities
 * and denormals, mixed with some random values. */
static void tie_keys(sr_rng *r, size_t n, float *k)
{
    static const float pool[] = {-2.0f, -1.0f, -0.0f, 0.0f, 0.5f, 1.0f, 3.5f, 1e-40f, -1e-40f,
                                 INFINITY, -INFINITY, 0.0f, -0.0f};
    const int np = (int)(sizeof pool / sizeof pool[0]);
    for (size_t i = 0; i < n; i++)
        k[i] = sr_below(r, 4) == 0 ? sr_unif(r, -3, 3) : pool[sr_below(r, np)];
}

/* Brute force stable rank: #smaller + #equal earlier (-0.0 == 0.0 in C). */
static size_t brute_rank(size_t n, const float *k, size_t i)
{
    size_t rank = 0;
    for (size_t j = 0; j < n; j++) rank += k[j] < k[i] || (k[j] == k[i] && j < i);
    return rank;
}

/* idx is a permutation and consecutive entries are in (key, position) order:
 * exactly the stable ascending order. */
static int check_sorted_stable(size_t n, const float *k, const uint32_t *idx)
{
    unsigned char *seen = calloc(n ? n : 1, 1);
    int ok = 1;
    for (size_t r = 0; r < n && ok; r++) {
        if (idx[r] >= n || seen[idx[r]]) ok = 0;
        else seen[idx[r]] = 1;
    }
    for (size_t r = 1; r < n && ok; r++) {
        float a = k[idx[r - 1]], b = k[idx[r]];
        ok = a < b || (a == b && idx[r - 1] < idx[r]);
    }
    free(seen);
    return ok;
}

static void test_argsort(void)
{
    sr_rng r = {101};
    static const size_t sizes[] = {0, 1, 2, 3, 63, 64, 65, 1000, 2048, 2049, 5000, 100003};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        float *k = malloc(sizeof(float) * (n ? n : 1));
        uint32_t *idx = malloc(sizeof(uint32_t) * (n ? n : 1));
        uint32_t *idx2 = malloc(sizeof(uint32_t) * (n ? n : 1));
        uint32_t *scr = malloc(sizeof(uint32_t) * (lp_argsort_scratch_words(n) + 1));
        void *kws = malloc(K.argsort_workspace(n) + 1);
        for (int variant = 0; variant < 3; variant++) {
            if (variant == 0) tie_keys(&r, n, k);
            else if (variant == 1) /* all equal up to the sign of zero */
                for (size_t i = 0; i < n; i++) k[i] = (i * 31 % 7) < 3 ? -0.0f : 0.0f;
            else /* distinct in the low byte only (one radix pass) */
                for (size_t i = 0; i < n; i++) k[i] = 1.0f + (float)((i * 37) % 200) * 0x1p-23f;
            /* without a workspace (the heapsort above the stack size) */
            CHECK_EQ_INT(K.argsort(n, k, idx, NULL), 0);
            CHECK_MSG(check_sorted_stable(n, k, idx), "argsort n=%zu variant %d", n, variant);
            CHECK_EQ_INT(lp_scalar_argsort_ws(n, k, idx2, scr), 0);
            CHECK(n == 0 || memcmp(idx, idx2, sizeof(uint32_t) * n) == 0);
            /* with the table's workspace (the radix sort) */
            CHECK_EQ_INT(K.argsort(n, k, idx2, kws), 0);
            CHECK(n == 0 || memcmp(idx, idx2, sizeof(uint32_t) * n) == 0);
            if (n <= 2049) { /* O(n^2) brute force where affordable */
                int ok = 1;
                for (size_t i = 0; i < n; i++) ok &= idx[brute_rank(n, k, i)] == i;
                CHECK_MSG(ok, "argsort vs brute force n=%zu variant %d", n, variant);
            }
        }
        if (n > 0) {
            /* NaN anywhere (first, middle, last) is an error. */
            size_t at[3] = {0, n / 2, n - 1};
            for (int a = 0; a < 3; a++) {
                tie_keys(&r, n, k);
                k[at[a]] = a == 1 ? -NAN : NAN;
                CHECK_EQ_INT(K.argsort(n, k, idx, NULL), -1);
                CHECK_EQ_INT(K.argsort(n, k, idx, kws), -1);
                CHECK_EQ_INT(lp_scalar_argsort_ws(n, k, idx2, scr), -1);
            }
        }
        free(k); free(idx); free(idx2); free(scr); free(kws);
    }
    /* exact tie semantics on a hand example */
    float k[6] = {0.0f, -0.0f, -1.0f, 0.0f, -0.0f, -1.0f};
    uint32_t idx[6];
    CHECK_EQ_INT(K.argsort(6, k, idx, NULL), 0);
    CHECK(idx[0] == 2 && idx[1] == 5 && idx[2] == 0 && idx[3] == 1 && idx[4] == 3 && idx[5] == 4);
}

/* ---- sync ------------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Random w [len, nvec] and sorted [nvec, len] (each row sorted random
 * initial values with ties and both zeros). */
static void sync_data(sr_rng *r, size_t len, size_t nvec, float *w, float *sorted)
{
    tie_keys(r, len * nvec, w);
    for (size_t j = 0; j < nvec; j++) {
        float *s = sorted + j * len;
        for (size_t q = 0; q < len; q++) s[q] = sr_below(r, 3) ? sr_unif(r, -1, 1) : (sr_below(r, 2) ? 0.0f : -0.0f);
        qsort(s, len, sizeof(float), cmp_float);
    }
}

static void sync_case(sr_rng *r, size_t len, size_t nvec)
{
    float *w = malloc(sizeof(float) * len * nvec), *w0 = malloc(sizeof(float) * len * nvec);
    float *sorted = malloc(sizeof(float) * len * nvec), *col = malloc(sizeof(float) * len);
    uint32_t *ba = malloc(sizeof(uint32_t) * len), *bb = malloc(sizeof(uint32_t) * len);
    void *ws = malloc(K.sync_workspace(len, nvec));
    sync_data(r, len, nvec, w, sorted);
    memcpy(w0, w, sizeof(float) * len * nvec);
    CHECK_EQ_INT(K.sync(len, nvec, w, sorted, ws), -1);
    int perm_ok = 1, rank_ok = 1;
    for (size_t j = 0; j < nvec; j++) {
        /* the column is bitwise a permutation of sorted[j] */
        for (size_t q = 0; q < len; q++) {
            ba[q] = sr_bits(w[q * nvec + j]);
            bb[q] = sr_bits(sorted[j * len + q]);
        }
        qsort(ba, len, sizeof(uint32_t), cmp_u32);
        qsort(bb, len, sizeof(uint32_t), cmp_u32);
        perm_ok &= memcmp(ba, bb, sizeof(uint32_t) * len) == 0;
        /* and each entry got the value of its stable rank */
        for (size_t q = 0; q < len; q++) col[q] = w0[q * nvec + j];
        for (size_t q = 0; q < len; q++)
            rank_ok &= sr_bits(w[q * nvec + j]) == sr_bits(sorted[j * len + brute_rank(len, col, q)]);
    }
    CHECK_MSG(perm_ok, "sync len=%zu nvec=%zu: not a permutation", len, nvec);
    CHECK_MSG(rank_ok, "sync len=%zu nvec=%zu: wrong ranks", len, nvec);
    /* A second sync changes no value (equal values, e.g. -0.0 and +0.0, may
     * trade places, so compare with ==, not bits). */
    memcpy(w0, w, sizeof(float) * len * nvec);
    CHECK_EQ_INT(K.sync(len, nvec, w, sorted, ws), -1);
    int same_vals = 1;
    for (size_t i = 0; i < len * nvec; i++) same_vals &= w0[i] == w[i];
    CHECK(same_vals);
    free(w); free(w0); free(sorted); free(col); free(ba); free(bb); free(ws);
}

static void test_sync(void)
{
    sr_rng r = {55};
    static const size_t shapes[][2] = {{1, 1}, {5, 1}, {27, 64}, {63, 3}, {64, 7},
                                       {300, 10}, {784, 16}, {2500, 3}, {10, 500}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        sync_case(&r, shapes[s][0], shapes[s][1]);
}

static void test_sync_nan(void)
{
    sr_rng r = {56};
    const size_t len = 100, nvec = 12;
    float *w = malloc(sizeof(float) * len * nvec), *sorted = malloc(sizeof(float) * len * nvec);
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        void *ws = malloc(K.sync_workspace(len, nvec));
        /* (nan vectors) -> expected; with 2 threads vectors 0-5 and 6-11
         * belong to different threads, so the lowest must win across them. */
        static const int cases[][3] = {{3, 8, 3}, {8, -1, 8}, {7, 2, 2}, {11, -1, 11}, {0, 11, 0}};
        for (int c = 0; c < 5; c++) {
            sync_data(&r, len, nvec, w, sorted);
            w[(size_t)17 * nvec + cases[c][0]] = NAN;
            if (cases[c][1] >= 0) w[(size_t)93 * nvec + cases[c][1]] = -NAN;
            CHECK_EQ_INT(K.sync(len, nvec, w, sorted, ws), cases[c][2]);
        }
        /* vectors without NaN are still synced */
        sync_data(&r, len, nvec, w, sorted);
        w[(size_t)5 * nvec + 4] = NAN;
        CHECK_EQ_INT(K.sync(len, nvec, w, sorted, ws), 4);
        int ok = 1;
        for (size_t j = 0; j < nvec; j++) {
            if (j == 4) continue;
            for (size_t q = 0; q < len; q++) {
                float v = w[q * nvec + j];
                const float *s = sorted + j * len;
                ok &= bsearch(&v, s, len, sizeof(float), cmp_float) != NULL;
            }
        }
        CHECK(ok);
        free(ws);
    }
    omp_set_num_threads(2);
    free(w); free(sorted);
}

/* ---- thread-count independence ------------------------------------------------------ */

typedef struct {
    float *gemm[4], *conv_y, *conv_dx, *conv_dw, *bn_y, *bn_mean, *bn_var, *bn_dx, *bn_dg,
        *bn_db, *sync_w, *pool_dx, *pool_dx2, *bias_db, *sx_dz;
    double sx_loss, sumsq;
    size_t sx_correct;
} det_out;

enum { DM = 150, DN = 140, DK = 300 };
static const size_t BN_ROWS = 2000, SYNC_LEN = 600, SYNC_NVEC = 40, SX_ROWS = 1000, SQ_N = 200000;

static void det_run(int threads, det_out *o)
{
    omp_set_num_threads(threads);
    sr_rng r = {999};
    /* GEMM, all four transposes, shape spanning several tiles and k blocks */
    float *a = sr_rand_vec(&r, (size_t)DM * DK, -1, 1), *b = sr_rand_vec(&r, (size_t)DK * DN, -1, 1);
    for (int t = 0; t < 4; t++) {
        o->gemm[t] = malloc(sizeof(float) * DM * DN);
        int ta = t & 1, tb = t >> 1;
        K.gemm(ta, tb, DM, DN, DK, 0.75f, a, ta ? DM : DK, b, tb ? DK : DN, 0.0f, o->gemm[t], DN);
    }
    free(a); free(b);
    /* conv */
    lp_conv_geom g = sr_geom(3, 16, 16, 8, 3, 3, 1, 1, 16, 1);
    float *x = sr_rand_vec(&r, sr_xsize(&g), -1, 1), *w = sr_rand_vec(&r, sr_wsize(&g), -1, 1);
    float *dy = sr_rand_vec(&r, sr_ysize(&g), -1, 1);
    float *ws = malloc(sizeof(float) * K.conv_workspace(&g));
    o->conv_y = malloc(sizeof(float) * sr_ysize(&g));
    o->conv_dx = malloc(sizeof(float) * sr_xsize(&g));
    o->conv_dw = malloc(sizeof(float) * sr_wsize(&g));
    K.conv_fwd(&K, &g, x, w, o->conv_y, ws);
    K.conv_bwd_data(&K, &g, dy, w, o->conv_dx, ws);
    K.conv_bwd_weights(&K, &g, x, dy, o->conv_dw, ws);
    /* pooling backward with overlapping windows */
    lp_conv_geom pg = sr_geom(3, 16, 16, 8, 3, 3, 2, 2, 8, 0);
    float *py = malloc(sizeof(float) * sr_ysize(&pg));
    o->pool_dx = malloc(sizeof(float) * sr_xsize(&pg));
    o->pool_dx2 = malloc(sizeof(float) * sr_xsize(&pg));
    K.maxpool_fwd(&pg, x, py);
    K.maxpool_bwd(&pg, x, py, dy, o->pool_dx); /* dy: any data of the size */
    K.avgpool_bwd(&pg, dy, o->pool_dx2);
    free(py); free(x); free(w); free(dy); free(ws);
    /* BN, 40 channels (3 blocks) */
    const int c = 40;
    float *bx = sr_rand_vec(&r, BN_ROWS * c, -2, 2), *gm = sr_rand_vec(&r, c, 0.5f, 1.5f);
    float *bt = sr_rand_vec(&r, c, -1, 1), *bdy = sr_rand_vec(&r, BN_ROWS * c, -1, 1);
    o->bn_y = malloc(sizeof(float) * BN_ROWS * c);
    o->bn_dx = malloc(sizeof(float) * BN_ROWS * c);
    o->bn_mean = malloc(sizeof(float) * c);
    o->bn_var = malloc(sizeof(float) * c);
    o->bn_dg = malloc(sizeof(float) * c);
    o->bn_db = malloc(sizeof(float) * c);
    o->bias_db = malloc(sizeof(float) * c);
    K.bn_fwd_train(BN_ROWS, c, bx, gm, bt, 1e-3f, o->bn_y, o->bn_mean, o->bn_var, 1);
    K.bn_bwd(BN_ROWS, c, bx, o->bn_y, bdy, gm, o->bn_mean, o->bn_var, 1e-3f, o->bn_dx, o->bn_dg,
             o->bn_db, 1);
    K.bias_grad(BN_ROWS, c, bdy, o->bias_db);
    o->sumsq = K.sumsq(BN_ROWS * c, bx);
    free(bx); free(gm); free(bt); free(bdy);
    /* softmax */
    float *z = sr_rand_vec(&r, SX_ROWS * 10, -3, 3);
    int32_t *lab = malloc(sizeof(int32_t) * SX_ROWS);
    for (size_t q = 0; q < SX_ROWS; q++) lab[q] = sr_below(&r, 10);
    o->sx_dz = malloc(sizeof(float) * SX_ROWS * 10);
    o->sx_loss = K.softmax_xent(SX_ROWS, 10, z, lab, 1.0f / SX_ROWS, o->sx_dz, NULL, &o->sx_correct);
    free(z); free(lab);
    /* sumsq of a long vector (many chunks) */
    float *v = sr_rand_vec(&r, SQ_N, -1, 1);
    o->sumsq += K.sumsq(SQ_N, v);
    free(v);
    /* sync */
    o->sync_w = malloc(sizeof(float) * SYNC_LEN * SYNC_NVEC);
    float *sorted = malloc(sizeof(float) * SYNC_LEN * SYNC_NVEC);
    sync_data(&r, SYNC_LEN, SYNC_NVEC, o->sync_w, sorted);
    void *sws = malloc(K.sync_workspace(SYNC_LEN, SYNC_NVEC));
    CHECK_EQ_INT(K.sync(SYNC_LEN, SYNC_NVEC, o->sync_w, sorted, sws), -1);
    free(sorted); free(sws);
}

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, sizeof(float) * n) == 0; }

static void det_free(det_out *o)
{
    for (int t = 0; t < 4; t++) free(o->gemm[t]);
    free(o->conv_y); free(o->conv_dx); free(o->conv_dw); free(o->bn_y); free(o->bn_mean);
    free(o->bn_var); free(o->bn_dx); free(o->bn_dg); free(o->bn_db); free(o->sync_w);
    free(o->pool_dx); free(o->pool_dx2); free(o->bias_db); free(o->sx_dz);
}

static void test_thread_count_independence(void)
{
    det_out one, more;
    det_run(1, &one);
    lp_conv_geom g = sr_geom(3, 16, 16, 8, 3, 3, 1, 1, 16, 1);
    lp_conv_geom pg = sr_geom(3, 16, 16, 8, 3, 3, 2, 2, 8, 0);
    for (int threads = 2; threads <= 3; threads++) {
        det_run(threads, &more);
        for (int t = 0; t < 4; t++) CHECK_MSG(same(one.gemm[t], more.gemm[t], DM * DN), "gemm %d, %d threads", t, threads);
        CHECK(same(one.conv_y, more.conv_y, sr_ysize(&g)));
        CHECK(same(one.conv_dx, more.conv_dx, sr_xsize(&g)));
        CHECK(same(one.conv_dw, more.conv_dw, sr_wsize(&g)));
        CHECK(same(one.pool_dx, more.pool_dx, sr_xsize(&pg)));
        CHECK(same(one.pool_dx2, more.pool_dx2, sr_xsize(&pg)));
        CHECK(same(one.bn_y, more.bn_y, BN_ROWS * 40));
        CHECK(same(one.bn_mean, more.bn_mean, 40) && same(one.bn_var, more.bn_var, 40));
        CHECK(same(one.bn_dx, more.bn_dx, BN_ROWS * 40));
        CHECK(same(one.bn_dg, more.bn_dg, 40) && same(one.bn_db, more.bn_db, 40));
        CHECK(same(one.bias_db, more.bias_db, 40));
        CHECK(same(one.sx_dz, more.sx_dz, SX_ROWS * 10));
        CHECK(memcmp(&one.sx_loss, &more.sx_loss, sizeof(double)) == 0);
        CHECK(one.sx_correct == more.sx_correct);
        CHECK(memcmp(&one.sumsq, &more.sumsq, sizeof(double)) == 0);
        CHECK(same(one.sync_w, more.sync_w, SYNC_LEN * SYNC_NVEC));
        det_free(&more);
    }
    det_free(&one);
    omp_set_num_threads(2);
}

int main(void)
{
    lp_kernels_init_scalar(&K);
    LP_RUN(test_argsort);
    LP_RUN(test_sync);
    LP_RUN(test_sync_nan);
    LP_RUN(test_thread_count_independence);
    return lp_test_done();
}
