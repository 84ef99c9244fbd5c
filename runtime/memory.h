/* Buffers the kernels stream through: 64-byte aligned, so that a 64-byte
 * vector load at a multiple of 16 floats never spans two cache lines.
 * malloc's blocks are only 16-byte aligned (large ones sit 16 bytes past a
 * page), and then every zmm load of a weight row or an activation row
 * splits: conv13's native forward convolutions ran 16% slower inside a
 * training step than in bench_conv (whose buffers are aligned), oneDNN's
 * (which reorders into its own buffers) did not. Free with free(). */
#ifndef LAPERM_RUNTIME_MEMORY_H
#define LAPERM_RUNTIME_MEMORY_H

#include <stddef.h>

#define LP_BUFFER_ALIGN 64

/* n bytes, 64-byte aligned, uninitialised; NULL if out of memory or n == 0. */
void *lp_buffer_alloc(size_t n);

/* count elements of size bytes each, 64-byte aligned, zeroed; NULL if out of
 * memory, on overflow, or if the product is 0. */
void *lp_buffer_calloc(size_t count, size_t size);

#endif
