/* Team sizes of the kernels' OpenMP parallel regions: one thread or all of
 * them, never a number in between. Header-only (kernels/scalar and the
 * ISA folders include it).
 *
 * Why: in libgomp (GCC's OpenMP runtime, team.c), when a non-nested
 * region starts with fewer threads than the last one, the pool threads
 * beyond the new team exit, and the next larger team creates them again
 * with pthread_create. Kernels that sized their teams by their own work
 * (2..T-1 of T threads) therefore recreated threads on almost every call
 * once T was large. On 16 threads of a 16-core Xeon VM (the lent device
 * machine, one run, both builds) a conv7 training step took 34.7 ms
 * (1442 img/s; 8-9 ms each in dropout and Adam, whose full teams had to
 * recreate the threads) and takes 7.0 ms with one-or-all teams (7109
 * img/s; oneDNN's backend, whose regions always take every thread, 7686).
 * A region that wants k threads now runs on all of them and gives work to
 * k, or spreads its items over all; on two threads nothing changes (the
 * teams were 1 or 2 already). tests/test_omp_team.c watches for exits. */
#ifndef LAPERM_KERNELS_COMMON_OMP_TEAM_H
#define LAPERM_KERNELS_COMMON_OMP_TEAM_H

#include <omp.h>

/* The team for work that would use `want` threads: 1 when want <= 1 or
 * inside a parallel region, else omp_get_max_threads(). */
static inline int lp_omp_team(int want)
{
    if (want <= 1 || omp_in_parallel()) return 1;
    const int t = omp_get_max_threads();
    return t > 1 ? t : 1;
}

#endif
