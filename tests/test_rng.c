#include "lp_test.h"
#include "runtime/rng.h"

static void test_streams_differ_and_repeat(void)
{
    lp_rng a, b, c;
    lp_rng_seed(&a, 42, LP_STREAM_INIT, 0);
    lp_rng_seed(&b, 42, LP_STREAM_INIT, 0);
    lp_rng_seed(&c, 42, LP_STREAM_INIT, 1);
    int same_ab = 1, same_ac = 1;
    for (int i = 0; i < 100; i++) {
        uint64_t x = lp_rng_next(&a), y = lp_rng_next(&b), z = lp_rng_next(&c);
        same_ab &= x == y;
        same_ac &= x == z;
    }
    CHECK(same_ab);
    CHECK(!same_ac);
}

static void test_uniform_moments(void)
{
    lp_rng r;
    lp_rng_seed(&r, 7, LP_STREAM_TEST, 0);
    double sum = 0, sum2 = 0;
    int n = 200000;
    float lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        float u = lp_rng_uniform(&r);
        sum += u;
        sum2 += (double)u * u;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
    }
    CHECK(lo >= 0.0f && hi < 1.0f);
    CHECK_NEAR(sum / n, 0.5, 0.005);
    CHECK_NEAR(sum2 / n - (sum / n) * (sum / n), 1.0 / 12, 0.002);
}

static void test_below_is_unbiased(void)
{
    lp_rng r;
    lp_rng_seed(&r, 1, LP_STREAM_TEST, 0);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) counts[lp_rng_below(&r, 7)]++;
    for (int i = 0; i < 7; i++) CHECK_NEAR(counts[i], 10000, 400);
}

int main(void)
{
    LP_RUN(test_streams_differ_and_repeat);
    LP_RUN(test_uniform_moments);
    LP_RUN(test_below_is_unbiased);
    return lp_test_done();
}
