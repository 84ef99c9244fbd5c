// The LaPerm sync: every weight vector argsorted and given its initial sorted
// values in that rank order (kernels.h, lp_kernels.sync).
//
//   sync_model/<model>/impl:<i>        all the variables a model's preset
//                                      synchronises, one after the other (as
//                                      lp_opt_sync), weights as initialised
//                                      for training
//   sync_grid/len:L/nvec:V/impl:<i>    one [len, nvec] variable of uniform
//                                      random weights
//   sort_keys/n:N/impl:<i>             a plain sort of N random floats
//
// impl: scalar|avx2|avx512 (ours, the ISA's table), std_sort (a std::sort of
// (key, index) pairs, -0.0 == +0.0, ties by index, then the scatter),
// vqsort (Highway's vqsort of key bits << 32 | index, then the scatter).
// The baselines run over the vectors in parallel with as many OpenMP threads
// as our kernels use. sort_keys: argsort_<isa> (our argsort), sync1_<isa>
// (our sync of one vector of N), vqsort / std_sort (keys only, floats),
// vqsort_argsort / std_sort_argsort (argsort through (key, index) pairs);
// all single-threaded.
//
// Each sync benchmark starts from the same weights and checks its result
// against the scalar kernel's after timing (SkipWithError on a mismatch).
#include "bench/bench_common.h"

#include <algorithm>
#include <functional>
#include <memory>

#ifdef LPB_HAVE_HWY
#include <hwy/contrib/sort/vqsort.h>
#endif

namespace {

using lpb::Buf;

inline uint32_t order_bits(float f)
{
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if (u == 0x80000000u) u = 0;
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// ---- Baselines ------------------------------------------------------------------------

struct KeyIdx {
    float key;
    uint32_t idx;
};

inline bool key_idx_less(const KeyIdx &a, const KeyIdx &b)
{
    if (a.key < b.key) return true;
    if (b.key < a.key) return false;
    return a.idx < b.idx; // equal keys (-0.0 == +0.0 too): position order
}

void sync_std_sort(size_t len, size_t nvec, float *w, const float *sorted)
{
#pragma omp parallel if (nvec > 1)
    {
        thread_local std::vector<KeyIdx> v;
        v.resize(len);
#pragma omp for schedule(dynamic, 4)
        for (long j = 0; j < (long)nvec; j++) {
            for (size_t r = 0; r < len; r++) v[r] = KeyIdx{w[r * nvec + (size_t)j], (uint32_t)r};
            std::sort(v.begin(), v.end(), key_idx_less);
            const float *s = sorted + (size_t)j * len;
            for (size_t r = 0; r < len; r++) w[(size_t)v[r].idx * nvec + (size_t)j] = s[r];
        }
    }
}

#ifdef LPB_HAVE_HWY
void sync_vqsort(size_t len, size_t nvec, float *w, const float *sorted)
{
#pragma omp parallel if (nvec > 1)
    {
        thread_local hwy::Sorter sorter;
        thread_local std::vector<uint64_t> v;
        v.resize(len);
#pragma omp for schedule(dynamic, 4)
        for (long j = 0; j < (long)nvec; j++) {
            for (size_t r = 0; r < len; r++)
                v[r] = (uint64_t)order_bits(w[r * nvec + (size_t)j]) << 32 | (uint64_t)r;
            sorter(v.data(), len, hwy::SortAscending());
            const float *s = sorted + (size_t)j * len;
            for (size_t r = 0; r < len; r++) w[(size_t)(uint32_t)v[r] * nvec + (size_t)j] = s[r];
        }
    }
}
#endif

// ---- One variable set: weights, their sorted initial values, the reference ----

struct SyncVar {
    size_t len, nvec;
    Buf<float> orig, w, sorted, ref;
};

struct SyncSet {
    std::vector<SyncVar> vars;
    size_t weights = 0;
    bool have_ref = false;
};

void add_var(SyncSet &s, size_t len, size_t nvec, const float *w0)
{
    SyncVar v{len, nvec, Buf<float>(len * nvec), Buf<float>(len * nvec), Buf<float>(len * nvec), Buf<float>()};
    std::memcpy(v.orig.data(), w0, len * nvec * sizeof(float));
    std::vector<float> col(len);
    for (size_t j = 0; j < nvec; j++) {
        for (size_t r = 0; r < len; r++) col[r] = w0[r * nvec + j];
        std::sort(col.begin(), col.end());
        std::memcpy(v.sorted.data() + j * len, col.data(), len * sizeof(float));
    }
    s.weights += len * nvec;
    s.vars.push_back(std::move(v));
}

void restore(SyncSet &s)
{
    for (auto &v : s.vars) std::memcpy(v.w.data(), v.orig.data(), v.len * v.nvec * sizeof(float));
}

// The result of one scalar sync of the original weights.
void make_ref(SyncSet &s)
{
    if (s.have_ref) return;
    const lp_kernels &k = lpb::isas().front().k;
    for (auto &v : s.vars) {
        v.ref = Buf<float>(v.len * v.nvec);
        std::memcpy(v.ref.data(), v.orig.data(), v.len * v.nvec * sizeof(float));
        Buf<char> ws(k.sync_workspace(v.len, v.nvec));
        if (k.sync(v.len, v.nvec, v.ref.data(), v.sorted.data(), ws.data()) >= 0)
            lpb::die("scalar sync found a NaN");
    }
    s.have_ref = true;
}

bool matches_ref(SyncSet &s)
{
    make_ref(s);
    for (auto &v : s.vars)
        for (size_t i = 0; i < v.len * v.nvec; i++)
            if (!(v.w[i] == v.ref[i])) return false;
    return true;
}

SyncSet &model_set(const std::string &name)
{
    static std::map<std::string, std::unique_ptr<SyncSet>> cache;
    auto &p = cache[name];
    if (!p) {
        p.reset(new SyncSet);
        lp_model *m = lpb::model(name);
        lpb::init_like_training(m, 1);
        for (const lp_var *v : lpb::synced_vars(m)) add_var(*p, v->len, v->nvec, v->w);
    }
    return *p;
}

SyncSet &grid_set(size_t len, size_t nvec)
{
    static std::map<std::pair<size_t, size_t>, std::unique_ptr<SyncSet>> cache;
    auto &p = cache[{len, nvec}];
    if (!p) {
        p.reset(new SyncSet);
        Buf<float> w0 = lpb::random_floats(len * nvec, -1.0f, 1.0f, len * 131 + nvec);
        add_var(*p, len, nvec, w0.data());
    }
    return *p;
}

// ---- The benchmark body --------------------------------------------------------------

enum class Impl { Ours, StdSort, Vqsort };

void run_sync(benchmark::State &st, SyncSet &s, Impl impl, const lp_kernels *k)
{
    restore(s);
    size_t ws_bytes = 0;
    if (impl == Impl::Ours)
        for (auto &v : s.vars) ws_bytes = std::max(ws_bytes, k->sync_workspace(v.len, v.nvec));
    Buf<char> ws(ws_bytes);
    auto once = [&] {
        for (auto &v : s.vars) {
            switch (impl) {
            case Impl::Ours:
                if (k->sync(v.len, v.nvec, v.w.data(), v.sorted.data(), ws.data()) >= 0)
                    st.SkipWithError("NaN");
                break;
            case Impl::StdSort: sync_std_sort(v.len, v.nvec, v.w.data(), v.sorted.data()); break;
            case Impl::Vqsort:
#ifdef LPB_HAVE_HWY
                sync_vqsort(v.len, v.nvec, v.w.data(), v.sorted.data());
#endif
                break;
            }
        }
    };
    once(); // warm-up: pages, thread pool
    for (auto _ : st) {
        once();
        benchmark::ClobberMemory();
    }
    if (!matches_ref(s)) st.SkipWithError("result differs from the scalar sync");
    st.counters["ns_per_weight"] = lpb::ns_per((double)s.weights);
    st.counters["weights"] = lpb::value((double)s.weights);
    st.counters["vectors"] = lpb::value([&] {
        double n = 0;
        for (auto &v : s.vars) n += (double)v.nvec;
        return n;
    }());
}

void register_sync(const std::string &prefix, std::function<SyncSet &()> get, benchmark::TimeUnit unit)
{
    for (auto &isa : lpb::isas()) {
        const lp_kernels *k = &isa.k;
        benchmark::RegisterBenchmark((prefix + "/impl:" + isa.name).c_str(),
                                     [get, k](benchmark::State &st) { run_sync(st, get(), Impl::Ours, k); })
            ->UseRealTime()
            ->Unit(unit);
    }
    benchmark::RegisterBenchmark((prefix + "/impl:std_sort").c_str(),
                                 [get](benchmark::State &st) { run_sync(st, get(), Impl::StdSort, nullptr); })
        ->UseRealTime()
        ->Unit(unit);
#ifdef LPB_HAVE_HWY
    benchmark::RegisterBenchmark((prefix + "/impl:vqsort").c_str(),
                                 [get](benchmark::State &st) { run_sync(st, get(), Impl::Vqsort, nullptr); })
        ->UseRealTime()
        ->Unit(unit);
#endif
}

// ---- Plain sorts ----------------------------------------------------------------------

const Buf<float> &sort_input(size_t n)
{
    static std::map<size_t, std::unique_ptr<Buf<float>>> cache;
    auto &p = cache[n];
    if (!p) p.reset(new Buf<float>(lpb::random_floats(n, -1.0f, 1.0f, 77 + n)));
    return *p;
}

void sort_counters(benchmark::State &st, size_t n)
{
    st.counters["ns_per_key"] = lpb::ns_per((double)n);
}

void register_sort(size_t n)
{
    std::string prefix = "sort_keys/n:" + std::to_string(n) + "/impl:";
    for (auto &isa : lpb::isas()) {
        const lp_kernels *k = &isa.k;
        benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
            (prefix + "argsort_" + isa.name).c_str(), [n, k](benchmark::State &st) {
            const Buf<float> &in = sort_input(n);
            Buf<uint32_t> idx(n);
            Buf<char> ws(k->argsort_workspace(n) + 1);
            k->argsort(n, in.data(), idx.data(), ws.data());
            for (auto _ : st) {
                k->argsort(n, in.data(), idx.data(), ws.data());
                benchmark::ClobberMemory();
            }
            for (size_t r = 1; r < n; r++)
                if (in[idx[r - 1]] > in[idx[r]]) {
                    st.SkipWithError("argsort: not sorted");
                    break;
                }
            sort_counters(st, n);
        })->UseRealTime()->Unit(benchmark::kMillisecond);
        // 16M keys: the scalar radix argsort, ~0.2 s per call: one
        // repetition there.
        if (n > ((size_t)1 << 22)) b->Repetitions(1);
        benchmark::RegisterBenchmark((prefix + "sync1_" + isa.name).c_str(), [n, k](benchmark::State &st) {
            const Buf<float> &in = sort_input(n);
            Buf<float> w(n), sorted(n);
            std::memcpy(w.data(), in.data(), n * sizeof(float));
            std::memcpy(sorted.data(), in.data(), n * sizeof(float));
            std::sort(sorted.data(), sorted.data() + n);
            Buf<char> ws(k->sync_workspace(n, 1));
            k->sync(n, 1, w.data(), sorted.data(), ws.data());
            for (auto _ : st) {
                k->sync(n, 1, w.data(), sorted.data(), ws.data());
                benchmark::ClobberMemory();
            }
            sort_counters(st, n);
        })->UseRealTime()->Unit(benchmark::kMillisecond);
    }
#ifdef LPB_HAVE_HWY
    benchmark::RegisterBenchmark((prefix + "vqsort").c_str(), [n](benchmark::State &st) {
        const Buf<float> &in = sort_input(n);
        Buf<float> a(n);
        hwy::Sorter sorter;
        for (auto _ : st) {
            st.PauseTiming();
            std::memcpy(a.data(), in.data(), n * sizeof(float));
            st.ResumeTiming();
            sorter(a.data(), n, hwy::SortAscending());
            benchmark::ClobberMemory();
        }
        if (!std::is_sorted(a.data(), a.data() + n)) st.SkipWithError("vqsort: not sorted");
        sort_counters(st, n);
    })->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((prefix + "vqsort_argsort").c_str(), [n](benchmark::State &st) {
        const Buf<float> &in = sort_input(n);
        Buf<uint64_t> a(n);
        Buf<uint32_t> idx(n);
        hwy::Sorter sorter;
        for (auto _ : st) {
            for (size_t i = 0; i < n; i++) a[i] = (uint64_t)order_bits(in[i]) << 32 | (uint64_t)i;
            sorter(a.data(), n, hwy::SortAscending());
            for (size_t r = 0; r < n; r++) idx[r] = (uint32_t)a[r];
            benchmark::ClobberMemory();
        }
        sort_counters(st, n);
    })->UseRealTime()->Unit(benchmark::kMillisecond);
#endif
    benchmark::RegisterBenchmark((prefix + "std_sort").c_str(), [n](benchmark::State &st) {
        const Buf<float> &in = sort_input(n);
        Buf<float> a(n);
        for (auto _ : st) {
            st.PauseTiming();
            std::memcpy(a.data(), in.data(), n * sizeof(float));
            st.ResumeTiming();
            std::sort(a.data(), a.data() + n);
            benchmark::ClobberMemory();
        }
        sort_counters(st, n);
    })->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((prefix + "std_sort_argsort").c_str(), [n](benchmark::State &st) {
        const Buf<float> &in = sort_input(n);
        std::vector<KeyIdx> a(n);
        Buf<uint32_t> idx(n);
        for (auto _ : st) {
            for (size_t i = 0; i < n; i++) a[i] = KeyIdx{in[i], (uint32_t)i};
            std::sort(a.begin(), a.end(), key_idx_less);
            for (size_t r = 0; r < n; r++) idx[r] = a[r].idx;
            benchmark::ClobberMemory();
        }
        sort_counters(st, n);
    })->UseRealTime()->Unit(benchmark::kMillisecond);
}

void register_all()
{
    for (const char *m : {"conv7", "conv13", "resnet50", "f2"})
        register_sync(std::string("sync_model/") + m, [m]() -> SyncSet & { return model_set(m); },
                      benchmark::kMillisecond);
    static const size_t lens[] = {9, 25, 144, 576, 2304, 16384, 65536};
    static const size_t nvecs[] = {1, 16, 256, 4096};
    for (size_t len : lens)
        for (size_t nvec : nvecs) {
            if (len * nvec > (size_t)1 << 24) continue; // at most 16M weights (64 MiB)
            std::string prefix = "sync_grid/len:" + std::to_string(len) + "/nvec:" + std::to_string(nvec);
            register_sync(prefix, [len, nvec]() -> SyncSet & { return grid_set(len, nvec); },
                          len * nvec >= ((size_t)1 << 18) ? benchmark::kMillisecond : benchmark::kMicrosecond);
        }
    register_sort((size_t)1 << 20);
    register_sort((size_t)1 << 24);
}

} // namespace

LPB_MAIN(register_all)
