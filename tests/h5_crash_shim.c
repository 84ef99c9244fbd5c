/* A stand-in for a libhdf5 crash, for the crash-isolation tests: H5Fopen
 * interposed (LD_PRELOAD=liblp_h5_crash_shim.so for the CLI; compiled into
 * test_h5_isolate itself for the API) that dies when the file name contains
 * $LP_SHIM_CRASH_ON: SIGSEGV by default, abort() with LP_SHIM_HOW=abort, a
 * sanitizer-like _exit(1) with LP_SHIM_HOW=exit. Every other call goes to
 * the real H5Fopen. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <hdf5.h>

#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef hid_t (*lp_h5fopen_fn)(const char *, unsigned, hid_t);

hid_t H5Fopen(const char *name, unsigned flags, hid_t fapl)
{
    const char *pat = getenv("LP_SHIM_CRASH_ON");
    if (pat && *pat && name && strstr(name, pat)) {
        const char *how = getenv("LP_SHIM_HOW");
        if (how && strcmp(how, "abort") == 0) abort();
        if (how && strcmp(how, "exit") == 0) _exit(1);
        raise(SIGSEGV);
    }
    lp_h5fopen_fn real;
    void *sym = dlsym(RTLD_NEXT, "H5Fopen");
    memcpy(&real, &sym, sizeof real);
    return real ? real(name, flags, fapl) : -1;
}
