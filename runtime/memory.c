/* Buffers the kernels stream through: runtime/memory.h. */
#define _DEFAULT_SOURCE
#include "runtime/memory.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define HUGE_PAGE ((size_t)2 << 20)
#define SMALL_PAGE ((size_t)4096)

/* LAPERM_HUGEPAGES=0 turns the transparent huge pages off (read once). */
static int huge_pages_wanted(void)
{
    static int wanted = -1;
    if (wanted < 0) {
        const char *e = getenv("LAPERM_HUGEPAGES");
        wanted = !(e && strcmp(e, "0") == 0);
    }
    return wanted;
}

void *lp_buffer_alloc(size_t n)
{
    if (n == 0 || n > SIZE_MAX - HUGE_PAGE) return NULL;
    /* C11 asks for a size that is a multiple of the alignment */
    size_t rounded = (n + LP_BUFFER_ALIGN - 1) & ~(size_t)(LP_BUFFER_ALIGN - 1);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (n >= HUGE_PAGE && huge_pages_wanted()) {
        /* Starting on a 2 MB boundary, every whole 2 MB of the buffer can be
         * one huge page (the tail stays on 4 KB pages: no memory is added).
         * The advice only matters where THP is in 'madvise' mode (Debian's
         * default); a failure leaves 4 KB pages, which is no error. */
        void *p = NULL;
        /* posix_memalign: aligned_alloc wants the size a multiple of the
         * alignment (ASan enforces it), and rounding to 2 MB is not needed */
        if (posix_memalign(&p, HUGE_PAGE, rounded) != 0) return NULL;
        (void)madvise(p, (n + SMALL_PAGE - 1) & ~(SMALL_PAGE - 1), MADV_HUGEPAGE);
        return p;
    }
#endif
    return aligned_alloc(LP_BUFFER_ALIGN, rounded);
}

void *lp_buffer_calloc(size_t count, size_t size)
{
    if (count == 0 || size == 0 || count > SIZE_MAX / size) return NULL;
    void *p = lp_buffer_alloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}
