/* Internal to kernels/scalar: the argsort with caller scratch, shared by
 * lp_scalar_argsort and lp_scalar_sync (and usable by ISA folders). */
#ifndef LAPERM_KERNELS_SCALAR_SORT_H
#define LAPERM_KERNELS_SCALAR_SORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Below this many keys a stable insertion sort is used (no scratch). */
#define LP_ARGSORT_SMALL 64

/* Total order of non-NaN floats as unsigned integers, with -0.0 mapped to
 * +0.0 first so that the two compare equal. */
static inline uint32_t lp_float_order_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if (u == 0x80000000u) u = 0;
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline int lp_float_is_nan(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x7fffffffu) > 0x7f800000u;
}

/* uint32 words of scratch lp_scalar_argsort_ws needs for n keys. */
static inline size_t lp_argsort_scratch_words(size_t n) { return 3 * n; }

/* Stable ascending argsort (LSD radix, 8-bit digits, constant digits
 * skipped; insertion sort below LP_ARGSORT_SMALL). scratch holds
 * lp_argsort_scratch_words(n) uint32. Returns 0, or -1 on a NaN key. */
int lp_scalar_argsort_ws(size_t n, const float *keys, uint32_t *idx, uint32_t *scratch);

#endif
