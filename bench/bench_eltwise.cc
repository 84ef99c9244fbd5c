// The memory-bound kernels, per ISA (impl:scalar|avx2|avx512; batch norm
// also impl:dnnl), on shapes the models run at batch 50:
//
//   bn_fwd_train, bn_fwd_infer, bn_bwd   rows x c (51200x64 conv13 block 1,
//                                        51200x16 resnet50 stack 1 with the
//                                        fused ReLU, 800x512 conv13 block 4)
//   relu_fwd, relu_bwd, dropout_apply    50x32x32x64 activations
//   bias_add, bias_grad                  51200 x 64
//   maxpool_fwd/bwd (2x2 of 50x32x32x64), avgpool_fwd/bwd (8x8 of 50x8x8x64)
//   softmax_xent                         50x10, 128x10, 4096x1000 logits
//   sumsq, axpy, adam                    conv13's 14.7M kernel weights, f2's 109k
//   augment/<model>                      lp_augment_batch with the model's
//                                        preset (runtime code, impl:runtime)
//
// Counter GB/s: bytes of every array the kernel reads or writes, each counted
// once per call (so a kernel that reads x twice gets no credit for it);
// augment also reports images/s.
#include "bench/bench_common.h"

#include <functional>
#include <memory>

extern "C" {
#include "runtime/data.h"
}

namespace {

using lpb::Buf;

// A case: run(k) does one call on buffers set up by make(k).
using Call = std::function<void()>;
using Make = std::function<Call(const lp_kernels *)>;

void run(benchmark::State &st, const Make &make, const lp_kernels *k, double bytes)
{
    Call call = make(k);
    call();
    for (auto _ : st) {
        call();
        benchmark::ClobberMemory();
    }
    st.counters["GBs"] = lpb::gbytes(bytes);
}

void add(const std::string &prefix, double bytes, Make make, bool with_dnnl = false)
{
    auto unit = bytes > 1e8 ? benchmark::kMillisecond : benchmark::kMicrosecond;
    for (auto &isa : lpb::isas()) {
        const lp_kernels *k = &isa.k;
        benchmark::RegisterBenchmark((prefix + "/impl:" + isa.name).c_str(),
                                     [make, k, bytes](benchmark::State &st) { run(st, make, k, bytes); })
            ->UseRealTime()
            ->Unit(unit);
    }
    if (with_dnnl && lpb::dnnl_table()) {
        const lp_kernels *k = lpb::dnnl_table();
        benchmark::RegisterBenchmark((prefix + "/impl:dnnl").c_str(),
                                     [make, k, bytes](benchmark::State &st) { run(st, make, k, bytes); })
            ->UseRealTime()
            ->Unit(unit);
    }
}

// Shared buffers: allocated once per size and kept (the calls own nothing).
std::shared_ptr<Buf<float>> floats(size_t n, float lo, float hi, uint64_t seed)
{
    return std::make_shared<Buf<float>>(lpb::random_floats(n, lo, hi, seed));
}

void register_bn()
{
    struct Shape {
        const char *what;
        size_t rows;
        int c, relu;
    } shapes[] = {{"conv13", 51200, 64, 0}, {"resnet50", 51200, 16, 1}, {"conv13", 800, 512, 0}};
    const float eps = 1e-3f;
    for (const Shape &s : shapes) {
        size_t rows = s.rows;
        int c = s.c, relu = s.relu;
        double elts = (double)rows * c;
        char prefix[64];
        std::snprintf(prefix, sizeof prefix, "/%s/%zux%d%s", s.what, rows, c, relu ? "/relu" : "");
        auto common = [rows, c](const lp_kernels *) {
            struct B {
                std::shared_ptr<Buf<float>> x, y, dy, dx, gamma, beta, mean, var, dg, db;
            } b{floats(rows * c, -2, 2, 1), floats(rows * c, -1, 1, 2), floats(rows * c, -1, 1, 3),
                floats(rows * c, -1, 1, 4),  floats(c, 0.5f, 1.5f, 5),   floats(c, -0.5f, 0.5f, 6),
                floats(c, -0.1f, 0.1f, 7),   floats(c, 0.5f, 2, 8),      floats(c, 0, 1, 9),
                floats(c, 0, 1, 10)};
            return b;
        };
        add(std::string("bn_fwd_train") + prefix, 4 * 2 * elts, [=](const lp_kernels *k) -> Call {
            auto b = common(k);
            return [=] {
                k->bn_fwd_train(rows, c, b.x->data(), b.gamma->data(), b.beta->data(), eps, b.y->data(),
                                b.mean->data(), b.var->data(), relu);
            };
        }, true);
        add(std::string("bn_fwd_infer") + prefix, 4 * 2 * elts, [=](const lp_kernels *k) -> Call {
            auto b = common(k);
            return [=] {
                k->bn_fwd_infer(rows, c, b.x->data(), b.gamma->data(), b.beta->data(), b.mean->data(),
                                b.var->data(), eps, b.y->data(), relu);
            };
        }, true);
        add(std::string("bn_bwd") + prefix, 4 * (3 + relu) * elts, [=](const lp_kernels *k) -> Call {
            auto b = common(k);
            // statistics and y from a real forward pass
            k->bn_fwd_train(rows, c, b.x->data(), b.gamma->data(), b.beta->data(), eps, b.y->data(),
                            b.mean->data(), b.var->data(), relu);
            return [=] {
                k->bn_bwd(rows, c, b.x->data(), b.y->data(), b.dy->data(), b.gamma->data(), b.mean->data(),
                          b.var->data(), eps, b.dx->data(), b.dg->data(), b.db->data(), relu);
            };
        }, true);
    }
}

void register_act()
{
    const size_t n = (size_t)50 * 32 * 32 * 64;
    const std::string sz = "/n:" + std::to_string(n);
    add("relu_fwd" + sz, 8.0 * n, [n](const lp_kernels *k) -> Call {
        auto x = floats(n, -1, 1, 1), y = floats(n, 0, 1, 2);
        return [=] { k->relu_fwd(n, x->data(), y->data()); };
    });
    add("relu_bwd" + sz, 12.0 * n, [n](const lp_kernels *k) -> Call {
        auto y = floats(n, -1, 1, 1), dy = floats(n, -1, 1, 2), dx = floats(n, 0, 1, 3);
        k->relu_fwd(n, y->data(), y->data());
        return [=] { k->relu_bwd(n, y->data(), dy->data(), dx->data()); };
    });
    add("dropout_apply" + sz, 9.0 * n, [n](const lp_kernels *k) -> Call {
        auto x = floats(n, -1, 1, 1), y = floats(n, 0, 1, 2);
        auto mask = std::make_shared<Buf<uint8_t>>(n);
        for (size_t i = 0; i < n; i++) (*mask)[i] = (uint8_t)((*x)[i] > -0.2f);
        return [=] { k->dropout_apply(n, x->data(), mask->data(), 1.0f / 0.6f, y->data()); };
    });
    const size_t rows = 51200;
    const int cols = 64;
    add("bias_add/51200x64", 8.0 * rows * cols, [=](const lp_kernels *k) -> Call {
        auto y = floats(rows * cols, -1, 1, 1), b = floats(cols, -1, 1, 2);
        return [=] { k->bias_add(rows, cols, b->data(), y->data()); };
    });
    add("bias_grad/51200x64", 4.0 * rows * cols, [=](const lp_kernels *k) -> Call {
        auto dy = floats(rows * cols, -1, 1, 1), db = floats(cols, -1, 1, 2);
        return [=] { k->bias_grad(rows, cols, dy->data(), db->data()); };
    });
}

lp_conv_geom pool_geom(int n, int h, int c, int p)
{
    lp_conv_geom g{};
    g.n = n, g.h = h, g.w = h, g.c = c, g.kh = g.kw = p, g.sh = g.sw = p;
    g.oh = g.ow = h / p, g.oc = c;
    return g;
}

void register_pool()
{
    lp_conv_geom mg = pool_geom(50, 32, 64, 2), ag = pool_geom(50, 8, 64, 8);
    auto sizes = [](const lp_conv_geom &g) {
        return std::make_pair((size_t)g.n * g.h * g.w * g.c, (size_t)g.n * g.oh * g.ow * g.oc);
    };
    auto [mx, my] = sizes(mg);
    auto [ax, ay] = sizes(ag);
    add("maxpool_fwd/50x32x32x64/p2", 4.0 * (mx + my), [mg, mx = mx, my = my](const lp_kernels *k) -> Call {
        auto x = floats(mx, -1, 1, 1), y = floats(my, -1, 1, 2);
        return [=] { k->maxpool_fwd(&mg, x->data(), y->data()); };
    });
    add("maxpool_bwd/50x32x32x64/p2", 4.0 * (2 * mx + 2 * my), [mg, mx = mx, my = my](const lp_kernels *k) -> Call {
        auto x = floats(mx, -1, 1, 1), y = floats(my, -1, 1, 2), dy = floats(my, -1, 1, 3),
             dx = floats(mx, -1, 1, 4);
        k->maxpool_fwd(&mg, x->data(), y->data());
        return [=] { k->maxpool_bwd(&mg, x->data(), y->data(), dy->data(), dx->data()); };
    });
    add("avgpool_fwd/50x8x8x64/p8", 4.0 * (ax + ay), [ag, ax = ax, ay = ay](const lp_kernels *k) -> Call {
        auto x = floats(ax, -1, 1, 1), y = floats(ay, -1, 1, 2);
        return [=] { k->avgpool_fwd(&ag, x->data(), y->data()); };
    });
    add("avgpool_bwd/50x8x8x64/p8", 4.0 * (ax + ay), [ag, ax = ax, ay = ay](const lp_kernels *k) -> Call {
        auto dy = floats(ay, -1, 1, 1), dx = floats(ax, -1, 1, 2);
        return [=] { k->avgpool_bwd(&ag, dy->data(), dx->data()); };
    });
}

void register_softmax()
{
    struct {
        size_t rows;
        int classes;
    } shapes[] = {{50, 10}, {128, 10}, {4096, 1000}};
    for (auto s : shapes) {
        size_t rows = s.rows;
        int classes = s.classes;
        double elts = (double)rows * classes;
        add("softmax_xent/" + std::to_string(rows) + "x" + std::to_string(classes), 8.0 * elts + 4.0 * rows,
            [=](const lp_kernels *k) -> Call {
                auto logits = floats(rows * classes, -5, 5, 1), dl = floats(rows * classes, 0, 1, 2);
                auto labels = std::make_shared<Buf<int32_t>>(rows);
                for (size_t i = 0; i < rows; i++) (*labels)[i] = (int32_t)(i % (size_t)classes);
                return [=] {
                    size_t correct = 0;
                    double loss = k->softmax_xent(rows, classes, logits->data(), labels->data(), 1.0f / rows,
                                                  dl->data(), nullptr, &correct);
                    benchmark::DoNotOptimize(loss);
                };
            });
    }
}

void register_opt()
{
    for (const char *model : {"conv13", "f2"}) {
        size_t n = 0;
        for (const lp_var *v : lpb::synced_vars(lpb::model(model))) n += v->size;
        std::string sz = "/n:" + std::to_string(n);
        add("adam" + sz, 28.0 * n, [n](const lp_kernels *k) -> Call {
            auto w = floats(n, -0.1f, 0.1f, 1), g = floats(n, -1e-2f, 1e-2f, 2), m = floats(n, -1e-3f, 1e-3f, 3),
                 v = floats(n, 0, 1e-5f, 4);
            return [=] { k->adam_update(n, w->data(), g->data(), m->data(), v->data(), 1e-3f, 0.9f, 0.999f, 1e-7f); };
        });
        add("sumsq" + sz, 4.0 * n, [n](const lp_kernels *k) -> Call {
            auto x = floats(n, -1, 1, 1);
            return [=] { benchmark::DoNotOptimize(k->sumsq(n, x->data())); };
        });
        add("axpy" + sz, 12.0 * n, [n](const lp_kernels *k) -> Call {
            auto x = floats(n, -1, 1, 1), y = floats(n, -1, 1, 2);
            return [=] { k->axpy(n, 1e-4f, x->data(), y->data()); };
        });
    }
}

void register_augment()
{
    for (const char *model : {"conv7", "conv13", "resnet50"}) {
        const lp_preset *p = lp_preset_find(model);
        const lp_model *m = lpb::model(model);
        int n = 50, h = m->in_h, w = m->in_w, c = m->in_c;
        size_t px = (size_t)n * h * w * c;
        lp_augment aug = p->augment;
        benchmark::RegisterBenchmark(
            (std::string("augment/") + model + "/b:50/" + std::to_string(h) + "x" + std::to_string(w) + "x" +
             std::to_string(c) + "/impl:runtime")
                .c_str(),
            [=](benchmark::State &st) {
                Buf<float> img = lpb::random_floats(px, 0, 255, 1), tmp(px);
                uint64_t counter = 0;
                lp_augment_batch(&aug, n, h, w, c, img.data(), tmp.data(), 1, counter);
                for (auto _ : st) {
                    lp_augment_batch(&aug, n, h, w, c, img.data(), tmp.data(), 1, counter += (uint64_t)n);
                    benchmark::ClobberMemory();
                }
                st.counters["GBs"] = lpb::gbytes(8.0 * (double)px);
                st.counters["img_per_s"] = lpb::per_s(n);
            })
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
    }
}

void register_all()
{
    register_bn();
    register_act();
    register_pool();
    register_softmax();
    register_opt();
    register_augment();
}

} // namespace

LPB_MAIN(register_all)
