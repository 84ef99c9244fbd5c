// GEMM (lp_kernels.gemm): C = A B with A, B, C row-major, per ISA, against
// oneDNN's dnnl_sgemm (C API, row-major, 'N'/'T') as the baseline.
//
//   gemm/512x512x512/NN/impl:<i>
//   gemm_conv/<model>.<layer>.<op>/MxNxK/<TT>/impl:<i>
//
// The conv-shaped GEMMs are the three products of an im2col convolution at
// batch 50, as the native conv kernels issue them (kernels/scalar/conv.c):
//   fwd          y[P, oc]   = col[P, K] W[K, oc]           (N N)
//   bwd_data     dcol[P, K] = dy[P, oc] W[K, oc]^T          (N T)
//   bwd_weights  dW[K, oc]  = col[P, K]^T dy[P, oc]         (T N)
// with P = n*oh*ow and K = kh*kw*c, for every distinct conv layer of conv7,
// conv13 and resnet50 (a shape shared by several layers is listed once).
// impl: scalar|avx2|avx512 (the ISA's table), dnnl (dnnl_sgemm).
// Counter: GFLOP/s = 2 M N K per call.
//
//   fma_peak/impl:avx2|avx512   (x86)
// The FMA peak the GEMMs and convolutions are measured against: every
// thread runs 12 independent chains of vector FMAs (ymm or zmm) from
// registers, nothing else; GFLOP/s over all threads.
#include "bench/bench_common.h"

#include <memory>
#include <set>
#include <tuple>

#ifdef LP_WITH_DNNL
#include <dnnl.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

using lpb::Buf;

struct GemmCase {
    std::string name; // part before /impl:
    int ta, tb, m, n, k;
};

struct Operands {
    Buf<float> a, b, c;
};

Operands &operands(const GemmCase &g)
{
    static std::map<std::tuple<int, int, int, int, int>, std::unique_ptr<Operands>> cache;
    auto &p = cache[{g.ta, g.tb, g.m, g.n, g.k}];
    if (!p) {
        p.reset(new Operands{lpb::random_floats((size_t)g.m * g.k, -1, 1, 1),
                             lpb::random_floats((size_t)g.k * g.n, -1, 1, 2), Buf<float>((size_t)g.m * g.n)});
    }
    return *p;
}

void run(benchmark::State &st, const GemmCase &g, const lp_kernels *k)
{
    Operands &o = operands(g);
    // Leading dimensions of the row-major operands as stored.
    int lda = g.ta ? g.m : g.k, ldb = g.tb ? g.k : g.n, ldc = g.n;
    auto once = [&] {
        if (k) {
            k->gemm(g.ta, g.tb, g.m, g.n, g.k, 1.0f, o.a.data(), lda, o.b.data(), ldb, 0.0f, o.c.data(), ldc);
        } else {
#ifdef LP_WITH_DNNL
            dnnl_status_t s = dnnl_sgemm(g.ta ? 'T' : 'N', g.tb ? 'T' : 'N', g.m, g.n, g.k, 1.0f, o.a.data(),
                                         lda, o.b.data(), ldb, 0.0f, o.c.data(), ldc);
            if (s != dnnl_success) st.SkipWithError("dnnl_sgemm failed");
#endif
        }
    };
    once();
    for (auto _ : st) {
        once();
        benchmark::ClobberMemory();
    }
    st.counters["GFLOPs"] = lpb::gflops(2.0 * g.m * (double)g.n * g.k);
}

void add(const GemmCase &g)
{
    auto unit = 2.0 * g.m * (double)g.n * g.k > 1e8 ? benchmark::kMillisecond : benchmark::kMicrosecond;
    for (auto &isa : lpb::isas()) {
        const lp_kernels *k = &isa.k;
        benchmark::RegisterBenchmark((g.name + "/impl:" + isa.name).c_str(),
                                     [g, k](benchmark::State &st) { run(st, g, k); })
            ->UseRealTime()
            ->Unit(unit);
    }
#ifdef LP_WITH_DNNL
    benchmark::RegisterBenchmark((g.name + "/impl:dnnl").c_str(),
                                 [g](benchmark::State &st) { run(st, g, nullptr); })
        ->UseRealTime()
        ->Unit(unit);
#endif
}

// ---- FMA peak -------------------------------------------------------------------------

#if defined(__x86_64__)
// 12 chains of `iters` FMAs each, the loop over them unrolled so that the
// chains live in registers; the distinct starting values keep the compiler
// from merging chains, the returned sum from dropping them.
#define LPB_FMA_CHAINS(V, SET1, FMA, ADD, REDUCE)                                                   \
    V a[12];                                                                                     \
    for (int i = 0; i < 12; i++) a[i] = SET1(0.001f * (float)(i + 1));                           \
    const V b = SET1(0.9999f), c = SET1(1e-6f);                                                  \
    for (long k = 0; k < iters; k++) {                                                           \
        _Pragma("GCC unroll 12") for (int i = 0; i < 12; i++) a[i] = FMA(a[i], b, c);           \
    }                                                                                            \
    V s = a[0];                                                                                  \
    for (int i = 1; i < 12; i++) s = ADD(s, a[i]);                                               \
    return REDUCE(s)

__attribute__((target("avx2,fma"))) float hsum256(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_add_ss(x, _mm_shuffle_ps(x, x, 1)));
}

// (through memory: GCC 12 warns inside _mm512_reduce_add_ps and the
// 256-bit extracts, -Werror=uninitialized)
__attribute__((target("avx512f,avx2,fma"))) float hsum512(__m512 v)
{
    alignas(64) float t[16];
    _mm512_store_ps(t, v);
    float s = 0.0f;
    for (float x : t) s += x;
    return s;
}

__attribute__((target("avx512f,avx2,fma"))) float fma_chains_avx512(long iters)
{
    LPB_FMA_CHAINS(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, hsum512);
}

__attribute__((target("avx2,fma"))) float fma_chains_avx2(long iters)
{
    LPB_FMA_CHAINS(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, hsum256);
}
#undef LPB_FMA_CHAINS

void run_fma_peak(benchmark::State &st, bool avx512)
{
    const long iters = 1 << 20;
    volatile float sink = 0.0f;
    int threads = 1;
    for (auto _ : st) {
#pragma omp parallel
        {
#pragma omp master
            threads = omp_get_num_threads();
            float r = avx512 ? fma_chains_avx512(iters) : fma_chains_avx2(iters);
#pragma omp atomic
            sink += r;
        }
    }
    const double lanes = avx512 ? 16.0 : 8.0;
    st.counters["GFLOPs"] = lpb::gflops(2.0 * lanes * 12.0 * (double)iters * threads);
    st.counters["threads"] = threads;
}

void register_fma_peak()
{
    for (auto &isa : lpb::isas()) {
        const bool avx512 = isa.id == LP_ISA_AVX512;
        if (!avx512 && isa.id != LP_ISA_AVX2) continue;
        benchmark::RegisterBenchmark(("fma_peak/impl:" + isa.name).c_str(),
                                     [avx512](benchmark::State &st) { run_fma_peak(st, avx512); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
}
#else
void register_fma_peak() {}
#endif

std::string shape_name(const char *prefix, int ta, int tb, int m, int n, int k)
{
    char b[160];
    std::snprintf(b, sizeof b, "%s/%dx%dx%d/%c%c", prefix, m, n, k, ta ? 'T' : 'N', tb ? 'T' : 'N');
    return b;
}

void register_all()
{
    register_fma_peak();
    add(GemmCase{shape_name("gemm", 0, 0, 512, 512, 512), 0, 0, 512, 512, 512});
    const int batch = 50;
    std::set<std::tuple<int, int, int, int, int>> seen;
    for (const char *model : {"conv7", "conv13", "resnet50"})
        for (const lpb::ConvCase &c : lpb::conv_cases(model)) {
            int p = batch * c.g.oh * c.g.ow, kk = c.g.kh * c.g.kw * c.g.c, oc = c.g.oc;
            struct {
                const char *op;
                int ta, tb, m, n, k;
            } ops[] = {{"fwd", 0, 0, p, oc, kk}, {"bwd_data", 0, 1, p, kk, oc}, {"bwd_weights", 1, 0, kk, oc, p}};
            for (auto &o : ops) {
                if (c.on_input && std::strcmp(o.op, "bwd_data") == 0) continue; // never run in training
                if (!seen.insert({o.ta, o.tb, o.m, o.n, o.k}).second) continue;
                std::string prefix = "gemm_conv/" + c.model + "." + c.layer + "." + o.op;
                add(GemmCase{shape_name(prefix.c_str(), o.ta, o.tb, o.m, o.n, o.k), o.ta, o.tb, o.m, o.n, o.k});
            }
        }
}

} // namespace

LPB_MAIN(register_all)
