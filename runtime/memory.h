/* Buffers the kernels stream through: 64-byte aligned, so that a 64-byte
 * vector load at a multiple of 16 floats never spans two cache lines.
 * malloc's blocks are only 16-byte aligned (large ones sit 16 bytes past a
 * page), and then every zmm load of a weight row or an activation row
 * splits: on an Intel Xeon conv13's 4x4 and 2x2 layers ran 1.3-2.2x slower
 * (bench/results/2026-11-27-device-intel-xeon-alignment.md).
 *
 * Buffers of 2 MB or more also start on a 2 MB boundary and are advised
 * for transparent huge pages (Linux; LAPERM_HUGEPAGES=0 turns that off): a
 * training step walks every layer's activations, far more memory than
 * 4 KB pages' TLB reach, where bench_conv repeats one layer (conv13 on
 * Zen 4: 112.4 -> 115.6 img/s on 2 threads, 57.5 -> 59.3 on one).
 * Free with free(). */
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
