// Shared pieces of the Google Benchmark binaries in bench/: the kernel table
// of every ISA this CPU and build run (a benchmark picks one by its "impl:"
// name component at run time; nothing is rebuilt), the oneDNN table, the
// models' shapes, aligned buffers, random fills and the user counters.
//
// Benchmark names are "<what>/<case...>/impl:<implementation>"; the report
// (scripts/bench_report.py) pairs the implementations of one case by the
// part before "/impl:". Every benchmark measures wall time (UseRealTime):
// the kernels are OpenMP-parallel.
#ifndef LAPERM_BENCH_BENCH_COMMON_H
#define LAPERM_BENCH_BENCH_COMMON_H

#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kernels/kernels.h"
extern "C" {
#include "laperm/laperm.h"
#include "models/models.h"
#include "runtime/dispatch.h"
#include "runtime/init.h"
#include "runtime/memory.h"
#include "runtime/model.h"
#include "runtime/rng.h"
}

namespace lpb {

[[noreturn]] inline void die(const char *what)
{
    std::fprintf(stderr, "bench: %s: %s\n", what, laperm_last_error());
    std::exit(1);
}

// ---- Kernel tables -----------------------------------------------------------

struct Isa {
    lp_isa id;
    std::string name;
    lp_kernels k;
};

// Every ISA lp_isa_supported() accepts, ascending (scalar first, best last).
inline const std::vector<Isa> &isas()
{
    static const std::vector<Isa> v = [] {
        std::vector<Isa> out;
        for (int i = 0; i < LP_ISA_COUNT; i++) {
            lp_isa isa = static_cast<lp_isa>(i);
            if (!lp_isa_supported(isa)) continue;
            Isa e{isa, lp_isa_name(isa), {}};
            if (lp_kernels_for_isa(isa, &e.k) != LAPERM_OK) die("lp_kernels_for_isa");
            out.push_back(e);
        }
        return out;
    }();
    return v;
}

inline const Isa &best_isa() { return isas().back(); }

// The oneDNN table: a copy of the best native table with conv and BN
// replaced (kernels/dnnl). nullptr in a build without oneDNN or when oneDNN
// fails to start.
inline const lp_kernels *dnnl_table()
{
#ifdef LP_WITH_DNNL
    static lp_kernels t;
    static const bool ok = [] {
        t = best_isa().k;
        return lp_kernels_init_dnnl(&t) == 0;
    }();
    return ok ? &t : nullptr;
#else
    return nullptr;
#endif
}

// ---- Buffers -------------------------------------------------------------------

// Bytes past a 64-byte boundary at which every Buf starts: LPB_MISALIGN
// (0 to 63, default 0). 16 is where malloc leaves large blocks; on the
// Xeon of bench/results/2026-11-27-device-intel-xeon-alignment.md that
// made conv13's 4x4 and 2x2 layers 1.3-2.2x slower (split vector loads).
inline size_t buf_misalign()
{
    static const size_t m = [] {
        const char *e = std::getenv("LPB_MISALIGN");
        long v = e ? std::strtol(e, nullptr, 10) : 0;
        return (size_t)(v > 0 && v < 64 ? v : 0);
    }();
    return m;
}

template <class T> class Buf {
  public:
    Buf() = default;
    explicit Buf(size_t n) : n_(n)
    {
        // allocated as the library allocates the model's buffers (64-byte
        // aligned, 2 MB pages from 2 MB on: runtime/memory.h)
        const size_t mis = buf_misalign();
        size_t bytes = n > 0 ? n * sizeof(T) : 1;
        base_ = lp_buffer_alloc(bytes + mis);
        if (!base_) {
            std::fprintf(stderr, "bench: out of memory (%zu bytes)\n", bytes);
            std::exit(1);
        }
        p_ = reinterpret_cast<T *>(static_cast<char *>(base_) + mis);
        std::memset(static_cast<void *>(p_), 0, bytes); // fault the pages in now
    }
    ~Buf() { std::free(base_); }
    Buf(const Buf &) = delete;
    Buf &operator=(const Buf &) = delete;
    Buf(Buf &&o) noexcept : base_(o.base_), p_(o.p_), n_(o.n_) { o.base_ = nullptr, o.p_ = nullptr, o.n_ = 0; }
    Buf &operator=(Buf &&o) noexcept
    {
        std::swap(base_, o.base_);
        std::swap(p_, o.p_);
        std::swap(n_, o.n_);
        return *this;
    }
    T *data() { return p_; }
    const T *data() const { return p_; }
    T &operator[](size_t i) { return p_[i]; }
    const T &operator[](size_t i) const { return p_[i]; }
    size_t size() const { return n_; }

  private:
    void *base_ = nullptr;
    T *p_ = nullptr;
    size_t n_ = 0;
};

// Uniform floats in [lo, hi) from laperm's generator (reproducible).
inline void fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed)
{
    lp_rng r;
    lp_rng_seed(&r, seed, LP_STREAM_TEST, 0);
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * lp_rng_uniform(&r);
}

inline Buf<float> random_floats(size_t n, float lo, float hi, uint64_t seed)
{
    Buf<float> b(n);
    fill_uniform(b.data(), n, lo, hi, seed);
    return b;
}

// ---- Counters --------------------------------------------------------------------
// Rates are per wall second (UseRealTime) and per iteration of the loop.

inline benchmark::Counter ns_per(double units)
{
    return benchmark::Counter(units * 1e-9, benchmark::Counter::kIsIterationInvariantRate |
                                                benchmark::Counter::kInvert);
}
inline benchmark::Counter gflops(double flops)
{
    return benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
inline benchmark::Counter gbytes(double bytes)
{
    return benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
inline benchmark::Counter per_s(double units)
{
    return benchmark::Counter(units, benchmark::Counter::kIsIterationInvariantRate);
}
inline benchmark::Counter value(double v) { return benchmark::Counter(v); }

// ---- Models ------------------------------------------------------------------------

// A built model (variables allocated, not prepared), kept for the process.
inline lp_model *model(const std::string &name)
{
    static std::map<std::string, lp_model *> cache;
    auto it = cache.find(name);
    if (it != cache.end()) return it->second;
    lp_model *m = nullptr;
    if (lp_model_build(name.c_str(), &m) != LAPERM_OK) die(name.c_str());
    cache[name] = m;
    return m;
}

// A model's initial weights as in training: he_uniform, plus the preset's
// weight-agnostic set-up (f1, f2).
inline void init_like_training(lp_model *m, uint64_t seed)
{
    const lp_preset *p = lp_preset_find(m->name);
    lp_init_he_uniform(m, seed, p ? p->bias_he_uniform : 0);
    if (p && p->agnostic != 0) {
        static const int default_a[1] = {1}, default_b[1] = {4}; // cmd_train's default ratio
        int n = p->n_agnostic ? p->n_agnostic : 1;
        if (lp_init_agnostic(m, seed, p->agnostic, n, p->n_agnostic ? p->agn_a : default_a,
                             p->n_agnostic ? p->agn_b : default_b) != LAPERM_OK)
            die("lp_init_agnostic");
    }
}

// The variables the model's preset synchronises (as lp_opt_init picks them):
// trainable kernels, biases unless skip_bias, BN gamma/beta unless skip_bn.
inline std::vector<const lp_var *> synced_vars(const lp_model *m)
{
    const lp_preset *p = lp_preset_find(m->name);
    int skip_bias = p ? p->skip_bias : 1, skip_bn = p ? p->skip_bn : 1;
    std::vector<const lp_var *> out;
    for (int i = 0; i < m->nvars; i++) {
        const lp_var *v = &m->vars[i];
        if (!v->trainable) continue;
        int bn = v->kind == LP_VAR_GAMMA || v->kind == LP_VAR_BETA;
        if ((bn && skip_bn) || (v->kind == LP_VAR_BIAS && skip_bias)) continue;
        out.push_back(v);
    }
    return out;
}

// One distinct convolution of a model: its geometry (n unset), the first
// layer with it, how many layers share it, and whether its input is the
// image (training then never needs its backward-data).
struct ConvCase {
    std::string model, layer;
    lp_conv_geom g;
    int count;
    bool on_input;
};

inline std::vector<ConvCase> conv_cases(const std::string &name)
{
    const lp_model *m = model(name);
    std::vector<ConvCase> out;
    for (int i = 0; i < m->nnodes; i++) {
        const lp_node *n = &m->nodes[i];
        if (n->type != LP_CONV2D) continue;
        lp_conv_geom g = n->geom;
        g.n = 0;
        bool on_input = m->nodes[n->in[0]].type == LP_INPUT;
        bool dup = false;
        for (auto &c : out)
            if (std::memcmp(&c.g, &g, sizeof g) == 0 && c.on_input == on_input) {
                c.count++;
                dup = true;
                break;
            }
        if (!dup) out.push_back(ConvCase{name, n->name, g, 1, on_input});
    }
    return out;
}

// "32x32x3-64k3s1" style description of a conv geometry.
inline std::string geom_str(const lp_conv_geom &g)
{
    char b[96];
    std::snprintf(b, sizeof b, "%dx%dx%d-%dk%ds%d", g.h, g.w, g.c, g.oc, g.kh, g.sh);
    return b;
}

inline double conv_flops(const lp_conv_geom &g)
{
    return 2.0 * g.n * g.oh * g.ow * (double)g.oc * g.kh * g.kw * g.c;
}

// The FLOPs of the taps that land inside the input: what an implementation
// that computes nothing on the padding must do ('same' layers of small
// images: conv7's 8x8 5x5 stride-2 layer does 72% of conv_flops).
inline double conv_exec_flops(const lp_conv_geom &g)
{
    auto inside = [](int out, int s, int pad, int k, int in) {
        long t = 0;
        for (int o = 0; o < out; o++)
            for (int i = 0; i < k; i++) {
                const int x = o * s - pad + i;
                t += x >= 0 && x < in;
            }
        return (double)t;
    };
    return 2.0 * g.n * (double)g.oc * g.c * inside(g.oh, g.sh, g.pad_top, g.kh, g.h) *
           inside(g.ow, g.sw, g.pad_left, g.kw, g.w);
}

// Context recorded in every JSON output (scripts/bench_report.py reads it).
inline void add_context()
{
    std::string s;
    for (auto &i : isas()) s += (s.empty() ? "" : ",") + i.name;
    benchmark::AddCustomContext("laperm_isas", s);
    benchmark::AddCustomContext("laperm_best_isa", best_isa().name);
    benchmark::AddCustomContext("laperm_threads", std::to_string(omp_get_max_threads()));
    benchmark::AddCustomContext("laperm_dnnl", dnnl_table() ? "yes" : "no");
#if defined(__VERSION__)
    benchmark::AddCustomContext("compiler", __VERSION__);
#endif
}

// main() of every binary: register (after the tables exist), then run.
#define LPB_MAIN(register_fn)                                                                   \
    int main(int argc, char **argv)                                                             \
    {                                                                                           \
        benchmark::Initialize(&argc, argv);                                                     \
        if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;                       \
        lpb::add_context();                                                                     \
        register_fn();                                                                          \
        benchmark::RunSpecifiedBenchmarks();                                                    \
        benchmark::Shutdown();                                                                  \
        return 0;                                                                               \
    }

} // namespace lpb

#endif
