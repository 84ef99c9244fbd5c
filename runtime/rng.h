/* Random numbers. One user seed drives every draw; each purpose gets its own
 * stream, and parallel work (augmentation, dropout) derives a generator per
 * item from (seed, stream, counter), so results never depend on the thread
 * count or on scheduling. Generator: xoshiro256** seeded through splitmix64. */
#ifndef LAPERM_RUNTIME_RNG_H
#define LAPERM_RUNTIME_RNG_H

#include <stdint.h>

typedef struct lp_rng { uint64_t s[4]; } lp_rng;

/* Streams: one per purpose. */
enum {
    LP_STREAM_INIT = 1,     /* weight initialisation */
    LP_STREAM_MASK = 2,     /* agnosticize / random_prune masks */
    LP_STREAM_SHUFFLE = 3,  /* epoch shuffles */
    LP_STREAM_AUGMENT = 4,  /* per-image augmentation */
    LP_STREAM_DROPOUT = 5,  /* dropout masks */
    LP_STREAM_TSIZE = 6,    /* the random training subset of each validation */
    LP_STREAM_TEST = 100    /* tests */
};

void lp_rng_seed(lp_rng *r, uint64_t seed, uint64_t stream, uint64_t counter);
uint64_t lp_rng_next(lp_rng *r);

/* lp_rng_next and lp_rng_uniform inline, for per-element loops (dropout
 * masks): the same numbers. */
static inline uint64_t lp_rng_next_inline(lp_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t x = s[1] * 5;
    const uint64_t result = ((x << 7) | (x >> 57)) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}
static inline float lp_rng_uniform_inline(lp_rng *r)
{
    return (float)(lp_rng_next_inline(r) >> 40) * 0x1.0p-24f;
}
/* Uniform in [0, 1) with 24 random bits (exactly representable floats). */
float lp_rng_uniform(lp_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double lp_rng_uniform_double(lp_rng *r);
/* Uniform integer in [0, n), unbiased. */
uint64_t lp_rng_below(lp_rng *r, uint64_t n);

#endif
