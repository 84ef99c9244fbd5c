#!/usr/bin/env python3
"""How close the native convolutions and oneDNN's come to the FMA peak.

    scripts/conv_efficiency.py [BUILD_DIR] [--filter REGEX] [--reps N]
                               [--min-time S] [--json OUT]

Measures the FMA peak once (bench_gemm's fma_peak for the best x86 ISA:
12 chains of vector FMAs per thread, nothing else), then runs bench_conv
for every case whose name matches --filter (default: batch 50, native),
native and dnnl in one process, N repetitions each, and prints a Markdown
table per case:

    case | native exec GFLOP/s | dnnl exec GFLOP/s | native % of peak |
    dnnl % of peak | speed vs oneDNN (dnnl time / native time)

'exec' counts only the taps inside the input (bench_conv's exec_GFLOPs):
the work an implementation that skips the padding has to do. Times are the
fastest repetition (the machine is shared: the fastest is the least
disturbed). The thread count is OMP_NUM_THREADS (one thread gives the
steadiest figures on a shared machine). Needs a build with oneDNN and
Google Benchmark (bench/bench_conv, bench/bench_gemm).
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys


def run_json(binary, flt, reps, min_time):
    cmd = [binary, "--benchmark_filter=" + flt, "--benchmark_format=json",
           "--benchmark_repetitions=%d" % reps, "--benchmark_min_time=%g" % min_time]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("conv_efficiency: %s failed:\n%s" % (" ".join(cmd), out.stderr[-2000:]))
    return json.loads(out.stdout)["benchmarks"]


def fma_peak(build, reps, min_time):
    rows = run_json(os.path.join(build, "bench", "bench_gemm"), "^fma_peak/", reps, min_time)
    best = {}
    for r in rows:
        if r.get("run_type", "iteration") != "iteration":
            continue
        impl = r["name"].split("impl:")[1].split("/")[0]
        best[impl] = max(best.get(impl, 0.0), r["GFLOPs"])
    for impl in ("avx512", "avx2"):
        if impl in best:
            return impl, best[impl]
    sys.exit("conv_efficiency: no fma_peak benchmark (x86 with AVX2 or AVX-512 only)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--filter", default="b:50/.*impl:native",
                    help="regex over bench_conv's native case names")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.05)
    ap.add_argument("--json", help="also write the rows here")
    a = ap.parse_args()

    conv = os.path.join(a.build, "bench", "bench_conv")
    for b in (conv, os.path.join(a.build, "bench", "bench_gemm")):
        if not os.access(b, os.X_OK):
            sys.exit("conv_efficiency: %s not built (configure with Google Benchmark)" % b)
    listed = subprocess.run([conv, "--benchmark_list_tests"], capture_output=True, text=True).stdout
    cases = [n for n in listed.split() if "impl:native" in n and re.search(a.filter, n)]
    if not cases:
        sys.exit("conv_efficiency: no bench_conv case matches %r" % a.filter)

    isa, peak = fma_peak(a.build, a.reps, a.min_time)
    threads = os.environ.get("OMP_NUM_THREADS", "all")
    print("FMA peak (%s, %s threads): %.1f GFLOP/s; %d cases, fastest of %d repetitions\n"
          % (isa, threads, peak, len(cases), a.reps), file=sys.stderr)

    rows = []
    print("| case | native exec GFLOP/s | dnnl exec GFLOP/s | native % of peak | dnnl % of peak | speed vs oneDNN |")
    print("|---|---|---|---|---|---|")
    for i, name in enumerate(cases):
        base = name.split("/impl:")[0]
        # (libbenchmark's regex: escape the specials only, not ':' or '/')
        flt = "^" + re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", base) + "/impl:(native|dnnl)/"
        best = {}
        for r in run_json(conv, flt, a.reps, a.min_time):
            if r.get("run_type", "iteration") != "iteration":
                continue
            impl = r["name"].split("impl:")[1].split("/")[0]
            if impl not in best or r["real_time"] < best[impl]["real_time"]:
                best[impl] = r
        if "native" not in best or "dnnl" not in best:
            print("conv_efficiency: %s: no dnnl run (build without oneDNN?)" % base, file=sys.stderr)
            continue
        n, d = best["native"], best["dnnl"]
        row = {"case": base.replace("conv/", "", 1),
               "native_exec_gflops": n["exec_GFLOPs"], "dnnl_exec_gflops": d["exec_GFLOPs"],
               "native_peak": n["exec_GFLOPs"] / peak, "dnnl_peak": d["exec_GFLOPs"] / peak,
               "speed": d["real_time"] / n["real_time"]}
        rows.append(row)
        print("| %s | %.1f | %.1f | %.0f%% | %.0f%% | %.2f |" % (
            row["case"], row["native_exec_gflops"], row["dnnl_exec_gflops"],
            100 * row["native_peak"], 100 * row["dnnl_peak"], row["speed"]), flush=True)
        print("  %d/%d %s" % (i + 1, len(cases), row["case"]), file=sys.stderr)

    if rows:
        g = math.exp(sum(math.log(r["speed"]) for r in rows) / len(rows))
        print("\n%d cases: native faster on %d, geomean speed %.3f; FMA peak %.1f GFLOP/s (%s, %s threads)"
              % (len(rows), sum(r["speed"] > 1 for r in rows), g, peak, isa, threads))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"fma_peak_gflops": peak, "isa": isa, "threads": threads, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
