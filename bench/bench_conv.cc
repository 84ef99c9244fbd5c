// Convolutions (lp_kernels.conv_fwd / conv_bwd_data / conv_bwd_weights) on
// every conv layer shape of conv7, conv2, conv13 and resnet50, taken from the
// built models' nodes (a shape shared by several layers is run once; the
// "layers" counter says how many share it):
//
//   conv/<model>/<layer>/b:<n>/<op>/<H>x<W>x<C>-<OC>k<K>s<S>/impl:<i>
//
// op: fwd (batch 50, and batch 1 for inference), bwd_data and bwd_weights
// (batch 50; bwd_data is left out for a layer reading the input image:
// training never computes it). impl: native (the best ISA's table, whatever
// its conv entries are) or dnnl (that table with lp_kernels_init_dnnl).
// Counters: GFLOPs = 2 n oh ow oc kh kw c per call; exec_GFLOPs counts
// only the taps inside the input (padding skipped), the rate to set
// against the FMA peak.
//
//   im2col/<model>/<layer>/<geom>/impl:<isa>, col2im/...   batch 50, per ISA;
// counter GB/s = bytes of col written (im2col) or read (col2im) plus the
// image.
#include "bench/bench_common.h"

namespace {

using lpb::Buf;

enum class Op { Fwd, BwdData, BwdWeights };
const char *op_name(Op o) { return o == Op::Fwd ? "fwd" : o == Op::BwdData ? "bwd_data" : "bwd_weights"; }

void run_conv(benchmark::State &st, lp_conv_geom g, Op op, const lp_kernels *k)
{
    size_t xs = (size_t)g.n * g.h * g.w * g.c, ys = (size_t)g.n * g.oh * g.ow * g.oc,
           ws_n = (size_t)g.kh * g.kw * g.c * g.oc;
    Buf<float> x = lpb::random_floats(xs, -1, 1, 1), y = lpb::random_floats(ys, -1, 1, 2),
               w = lpb::random_floats(ws_n, -0.1f, 0.1f, 3);
    Buf<float> ws(k->conv_workspace(&g));
    auto once = [&] {
        switch (op) {
        case Op::Fwd: k->conv_fwd(k, &g, x.data(), w.data(), y.data(), ws.data()); break;
        case Op::BwdData: k->conv_bwd_data(k, &g, y.data(), w.data(), x.data(), ws.data()); break;
        case Op::BwdWeights: k->conv_bwd_weights(k, &g, x.data(), y.data(), w.data(), ws.data()); break;
        }
    };
    once(); // warm-up (oneDNN creates its primitive here)
    for (auto _ : st) {
        once();
        benchmark::ClobberMemory();
    }
    st.counters["GFLOPs"] = lpb::gflops(lpb::conv_flops(g));
    st.counters["exec_GFLOPs"] = lpb::gflops(lpb::conv_exec_flops(g));
}

void run_im2col(benchmark::State &st, lp_conv_geom g, bool back, const lp_kernels *k)
{
    size_t xs = (size_t)g.n * g.h * g.w * g.c, cs = (size_t)g.n * g.oh * g.ow * g.kh * g.kw * g.c;
    Buf<float> x = lpb::random_floats(xs, -1, 1, 1), col = lpb::random_floats(cs, -1, 1, 2);
    auto once = [&] {
        if (back) k->col2im(&g, col.data(), x.data());
        else k->im2col(&g, x.data(), col.data());
    };
    once();
    for (auto _ : st) {
        once();
        benchmark::ClobberMemory();
    }
    st.counters["GBs"] = lpb::gbytes(4.0 * (double)(xs + cs));
}

void register_all()
{
    const lp_kernels *native = &lpb::best_isa().k;
    const lp_kernels *dnnl = lpb::dnnl_table();
    for (const char *model : {"conv7", "conv2", "conv13", "resnet50"})
        for (const lpb::ConvCase &c : lpb::conv_cases(model)) {
            struct Run {
                int n;
                Op op;
            };
            std::vector<Run> runs = {{50, Op::Fwd}, {50, Op::BwdData}, {50, Op::BwdWeights}, {1, Op::Fwd}};
            for (const Run &r : runs) {
                if (r.op == Op::BwdData && c.on_input) continue;
                lp_conv_geom g = c.g;
                g.n = r.n;
                std::string prefix = "conv/" + c.model + "/" + c.layer + "/b:" + std::to_string(r.n) + "/" +
                                     op_name(r.op) + "/" + lpb::geom_str(c.g) + "/impl:";
                auto unit = lpb::conv_flops(g) > 2e8 ? benchmark::kMillisecond : benchmark::kMicrosecond;
                int layers = c.count;
                Op op = r.op;
                benchmark::RegisterBenchmark((prefix + "native").c_str(),
                                             [g, op, native, layers](benchmark::State &st) {
                                                 run_conv(st, g, op, native);
                                                 st.counters["layers"] = lpb::value(layers);
                                             })
                    ->UseRealTime()
                    ->Unit(unit);
                if (dnnl)
                    benchmark::RegisterBenchmark((prefix + "dnnl").c_str(),
                                                 [g, op, dnnl, layers](benchmark::State &st) {
                                                     run_conv(st, g, op, dnnl);
                                                     st.counters["layers"] = lpb::value(layers);
                                                 })
                        ->UseRealTime()
                        ->Unit(unit);
            }
        }
    // im2col / col2im per ISA on conv7's and conv13's layers (kh > 1).
    for (const char *model : {"conv7", "conv13"})
        for (const lpb::ConvCase &c : lpb::conv_cases(model)) {
            lp_conv_geom g = c.g;
            g.n = 50;
            for (int back = 0; back < 2; back++) {
                if (back && c.on_input) continue;
                for (auto &isa : lpb::isas()) {
                    const lp_kernels *k = &isa.k;
                    std::string name = std::string(back ? "col2im/" : "im2col/") + c.model + "/" + c.layer + "/" +
                                       lpb::geom_str(c.g) + "/impl:" + isa.name;
                    bool b = back;
                    benchmark::RegisterBenchmark(name.c_str(),
                                                 [g, b, k](benchmark::State &st) { run_im2col(st, g, b, k); })
                        ->UseRealTime()
                        ->Unit(benchmark::kMicrosecond);
                }
            }
        }
}

} // namespace

LPB_MAIN(register_all)
