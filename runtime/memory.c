/* 64-byte aligned buffers: runtime/memory.h. */
#include "runtime/memory.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *lp_buffer_alloc(size_t n)
{
    if (n == 0 || n > SIZE_MAX - LP_BUFFER_ALIGN) return NULL;
    /* C11 asks for a size that is a multiple of the alignment */
    size_t rounded = (n + LP_BUFFER_ALIGN - 1) & ~(size_t)(LP_BUFFER_ALIGN - 1);
    return aligned_alloc(LP_BUFFER_ALIGN, rounded);
}

void *lp_buffer_calloc(size_t count, size_t size)
{
    if (count == 0 || size == 0 || count > SIZE_MAX / size) return NULL;
    void *p = lp_buffer_alloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}
