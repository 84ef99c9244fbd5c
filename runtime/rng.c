#include "runtime/rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void lp_rng_seed(lp_rng *r, uint64_t seed, uint64_t stream, uint64_t counter)
{
    /* Mix the three words so nearby (stream, counter) pairs give unrelated
     * states. */
    uint64_t x = seed;
    uint64_t a = splitmix64(&x);
    x ^= stream * 0xD1B54A32D192ED03ull;
    uint64_t b = splitmix64(&x);
    x ^= counter * 0x8CB92BA72F3D8DD7ull + a;
    uint64_t c = splitmix64(&x);
    x ^= b;
    r->s[0] = splitmix64(&x) ^ c;
    r->s[1] = splitmix64(&x);
    r->s[2] = splitmix64(&x);
    r->s[3] = splitmix64(&x);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
}

uint64_t lp_rng_next(lp_rng *r) { return lp_rng_next_inline(r); }

float lp_rng_uniform(lp_rng *r) { return lp_rng_uniform_inline(r); }

double lp_rng_uniform_double(lp_rng *r) { return (double)(lp_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t lp_rng_below(lp_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = lp_rng_next(r); while (x >= limit);
    return x % n;
}
