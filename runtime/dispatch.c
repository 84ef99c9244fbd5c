#include "runtime/dispatch.h"
#include "runtime/error.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

static const char *const isa_names[LP_ISA_COUNT] = {"scalar", "avx2", "avx512", "neon"};

const char *const lp_kernel_family_names[LP_KF_COUNT] = {
    "gemm", "im2col", "conv", "batchnorm", "pool", "eltwise", "softmax", "adam", "sync"};

const char *lp_isa_name(lp_isa isa) { return isa < LP_ISA_COUNT ? isa_names[isa] : "?"; }

#if defined(__x86_64__) || defined(_M_X64)
static unsigned long long xgetbv0(void)
{
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

/* CPUID says what the core has; XGETBV says whether the OS saves the wider
 * register state (YMM for AVX, ZMM and opmasks for AVX-512). Both needed. */
static int cpu_has(lp_isa isa)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return 0;
    unsigned long long xcr0 = xgetbv0();
    int ymm_os = (xcr0 & 0x6) == 0x6;
    int zmm_os = (xcr0 & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int avx2 = (b >> 5) & 1;
    int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1,
        avx512vl = (b >> 31) & 1;
    switch (isa) {
    case LP_ISA_AVX2: return ymm_os && avx2 && fma;
    case LP_ISA_AVX512:
        return ymm_os && zmm_os && avx2 && fma && avx512f && avx512dq && avx512bw && avx512vl;
    default: return 0;
    }
}
#elif defined(__aarch64__)
static int cpu_has(lp_isa isa)
{
#if defined(__linux__) && defined(HWCAP_ASIMD)
    if (isa == LP_ISA_NEON) return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
#else
    if (isa == LP_ISA_NEON) return 1; /* Advanced SIMD is mandatory in ARMv8-A */
#endif
    return 0;
}
#else
static int cpu_has(lp_isa isa) { (void)isa; return 0; }
#endif

static int isa_compiled(lp_isa isa)
{
    switch (isa) {
    case LP_ISA_SCALAR: return 1;
#ifdef LP_HAVE_AVX2
    case LP_ISA_AVX2: return 1;
#endif
#ifdef LP_HAVE_AVX512
    case LP_ISA_AVX512: return 1;
#endif
#ifdef LP_HAVE_NEON
    case LP_ISA_NEON: return 1;
#endif
    default: return 0;
    }
}

int lp_isa_supported(lp_isa isa)
{
    if (isa == LP_ISA_SCALAR) return 1;
    return isa < LP_ISA_COUNT && isa_compiled(isa) && cpu_has(isa);
}

laperm_status lp_kernels_for_isa(lp_isa isa, lp_kernels *out)
{
    if (!lp_isa_supported(isa))
        return lp_fail(LAPERM_E_UNSUPPORTED,
                       "instruction set '%s' is not supported by this CPU or build",
                       lp_isa_name(isa));
    lp_kernels_init_scalar(out);
    /* Each ISA layers over the ones below it: avx512 keeps avx2's kernels
     * for what it does not replace. */
    switch (isa) {
#ifdef LP_HAVE_AVX2
    case LP_ISA_AVX2: lp_kernels_init_avx2(out); break;
#endif
#ifdef LP_HAVE_AVX512
    case LP_ISA_AVX512:
#ifdef LP_HAVE_AVX2
        lp_kernels_init_avx2(out);
#endif
        lp_kernels_init_avx512(out);
        break;
#endif
#ifdef LP_HAVE_NEON
    case LP_ISA_NEON: lp_kernels_init_neon(out); break;
#endif
    default: break;
    }
    return LAPERM_OK;
}

static lp_kernels g_table;
static lp_isa g_isa = LP_ISA_SCALAR;
static const char *g_backend = "native";
static int g_ready;

laperm_status lp_dispatch_init(const char *isa, const char *backend)
{
    if (!isa) isa = getenv("LAPERM_ISA");
    if (!backend) backend = getenv("LAPERM_BACKEND");
    lp_isa chosen = LP_ISA_SCALAR;
    if (isa && *isa) {
        int found = 0;
        for (int i = 0; i < LP_ISA_COUNT; i++)
            if (strcmp(isa, isa_names[i]) == 0) { chosen = (lp_isa)i; found = 1; }
        if (!found)
            return lp_fail(LAPERM_E_ARG,
                           "LAPERM_ISA: unknown instruction set '%s' (expected scalar, avx2, avx512 or neon)",
                           isa);
        if (!lp_isa_supported(chosen))
            return lp_fail(LAPERM_E_UNSUPPORTED,
                           "LAPERM_ISA=%s: not supported by this CPU or build (supported: %s%s%s)",
                           isa, "scalar", lp_isa_supported(LP_ISA_AVX2) ? ", avx2" : "",
                           lp_isa_supported(LP_ISA_AVX512) ? ", avx512"
                           : lp_isa_supported(LP_ISA_NEON) ? ", neon" : "");
    } else {
        for (int i = LP_ISA_COUNT - 1; i > 0; i--)
            if (lp_isa_supported((lp_isa)i)) { chosen = (lp_isa)i; break; }
    }
    int dnnl = 0;
    if (backend && *backend) {
        if (strcmp(backend, "dnnl") == 0 || strcmp(backend, "onednn") == 0) dnnl = 1;
        else if (strcmp(backend, "native") != 0)
            return lp_fail(LAPERM_E_ARG, "backend: unknown '%s' (expected native or dnnl)", backend);
    }
    lp_kernels t;
    laperm_status s = lp_kernels_for_isa(chosen, &t);
    if (s) return s;
    if (dnnl) {
#ifdef LP_WITH_DNNL
        if (lp_kernels_init_dnnl(&t) != 0)
            return lp_fail(LAPERM_E_UNSUPPORTED, "backend dnnl: oneDNN failed to initialise");
#else
        return lp_fail(LAPERM_E_UNSUPPORTED, "backend dnnl: this build has no oneDNN (LAPERM_WITH_DNNL=OFF)");
#endif
    }
    g_table = t;
    g_isa = chosen;
    g_backend = dnnl ? "dnnl" : "native";
    g_ready = 1;
    return LAPERM_OK;
}

const lp_kernels *lp_kernels_get(void)
{
    if (!g_ready && lp_dispatch_init(NULL, NULL) != LAPERM_OK) {
        /* The environment asked for something impossible; callers that care
         * call lp_dispatch_init first and report the error. Fall back safely. */
        lp_kernels_init_scalar(&g_table);
        g_isa = LP_ISA_SCALAR;
        g_ready = 1;
    }
    return &g_table;
}

lp_isa lp_isa_selected(void) { lp_kernels_get(); return g_isa; }
const char *lp_backend_selected(void) { lp_kernels_get(); return g_backend; }
