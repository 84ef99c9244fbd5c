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
#include "bench/bench_common.h"

#include <memory>
#include <set>
#include <tuple>

#ifdef LP_WITH_DNNL
#include <dnnl.h>
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

std::string shape_name(const char *prefix, int ta, int tb, int m, int n, int k)
{
    char b[160];
    std::snprintf(b, sizeof b, "%s/%dx%dx%d/%c%c", prefix, m, n, k, ta ? 'T' : 'N', tb ? 'T' : 'N');
    return b;
}

void register_all()
{
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
