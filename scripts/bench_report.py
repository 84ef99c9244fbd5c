#!/usr/bin/env python3
"""Markdown tables from a bench/results/<date>-<cpu>.json written by
scripts/bench.sh: every benchmark's median over the repetitions, with the
ratios of our kernels against each baseline as time ratios (our time /
baseline time: below 1 means we are faster).

    scripts/bench_report.py RESULTS.json [--full] > RESULTS.md
    scripts/bench_report.py RESULTS.json --readme bench/README.md [--marker NAME]

--readme replaces the part of the README between the markers
<!-- NAME:begin --> and <!-- NAME:end --> (NAME: results unless --marker)
with the summary tables (the full per-layer tables stay in the results' .md)."""
import json
import math
import re
import sys
from collections import OrderedDict, defaultdict

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def load(path):
    with open(path) as f:
        return json.load(f)


def medians(gb):
    """{case: {impl: entry}} from one Google Benchmark JSON output; the
    median aggregate when there are repetitions, else the single run."""
    rows = gb.get("benchmarks", [])
    # A benchmark with repetitions has a median aggregate; one registered
    # with a single repetition (a slow case) has only its run.
    has_median = {r.get("run_name") for r in rows if r.get("aggregate_name") == "median"}
    out = defaultdict(OrderedDict)
    for r in rows:
        if r.get("run_type") == "aggregate" and r.get("aggregate_name") != "median":
            continue
        if r.get("run_type") != "aggregate" and r.get("run_name") in has_median:
            continue
        if "error_occurred" in r and r["error_occurred"]:
            continue
        name = r.get("run_name", r["name"])
        # options libbenchmark appends to a name
        name = re.sub(r"(/(iterations|repeats|min_time|threads):[0-9.]+|/real_time|/manual_time)+$", "", name)
        if "/impl:" not in name:
            continue
        case, impl = name.rsplit("/impl:", 1)
        r = dict(r)
        r["ns"] = r["real_time"] * UNIT_NS[r.get("time_unit", "ns")]
        out[case][impl] = r
    return out


def fmt(x, digits=3):
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "-"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    d = max(0, digits - 1 - mag)
    return f"{x:.{d}f}"


def fmt_time(ns):
    if ns is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{fmt(ns / scale)} {unit}"
    return f"{fmt(ns)} ns"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def geomean(xs):
    xs = [x for x in xs if x]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out) + "\n"


class Report:
    def __init__(self, res):
        self.res = res
        self.b = {k: medians(v) for k, v in res.get("benchmarks", {}).items()}
        ctx = {}
        for v in res.get("benchmarks", {}).values():
            ctx.update(v.get("context", {}))
        self.ctx = ctx
        self.isas = [i for i in ctx.get("laperm_isas", "scalar").split(",") if i]
        self.best = ctx.get("laperm_best_isa", self.isas[-1] if self.isas else "scalar")

    def cases(self, binary, prefix):
        return [(c, impls) for c, impls in self.b.get(binary, {}).items() if c.startswith(prefix)]

    # ---- header --------------------------------------------------------------
    def header(self):
        r = self.res
        lines = [
            f"- machine: {r.get('cpu', '?')} ({r.get('cores', '?')} cores), {r.get('kernel', '')}",
            f"- compiler: {r.get('compiler', self.ctx.get('compiler', '?'))}; build type {r.get('build_type', '?')}",
            f"- threads: {self.ctx.get('laperm_threads', '?')} (OpenMP); ISAs: {', '.join(self.isas)} "
            f"(native = {self.best}); oneDNN: {self.ctx.get('laperm_dnnl', '?')}",
            f"- date: {r.get('date', '?')}; repetitions: {r.get('repetitions', '?')} "
            f"(median reported), min time {r.get('min_time', '?')} s per repetition",
            f"- load average before / after: {r.get('load_before', '?')} / {r.get('load_after', '?')}; "
            + r.get("note", "a shared machine: other processes ran alongside, so two-thread timings "
                    "can be several times too slow; compare implementations within one run only"),
        ]
        return "\n".join(lines) + "\n"

    # ---- targets -------------------------------------------------------------
    def targets(self):
        rows = []
        c = self.b.get("bench_sync", {}).get("sync_model/conv13", {})
        ours = c.get(self.best)
        vq = c.get("vqsort")
        if ours:
            nsw = ours.get("ns_per_weight")
            rows.append(["conv13 sync (all synced weights), ns/weight", "<= 1.5", fmt(nsw),
                         "yes" if nsw is not None and nsw <= 1.5 else "no"])
        if ours and vq:
            sp = vq["ns"] / ours["ns"]
            rows.append(["conv13 sync, speed-up over the vqsort-based sync", ">= 2x", fmt(sp) + "x",
                         "yes" if sp >= 2 else "no"])
        g = self.b.get("bench_gemm", {}).get("gemm/512x512x512/NN", {})
        if g.get(self.best):
            gf = g[self.best].get("GFLOPs")
            rows.append([f"GEMM 512^3 ({self.best}), GFLOP/s", ">= 184 (80% of 230)", fmt(gf),
                         "yes" if gf and gf >= 184 else "no"])
        gm = self.conv_geomean()
        if gm is not None:
            rows.append(["conv fwd+bwd, geomean speed vs oneDNN (dnnl time / native time)", ">= 0.9x",
                         fmt(gm) + "x", "yes" if gm >= 0.9 else "no"])
        if not rows:
            return ""
        return "### Targets\n\n" + table(["target", "goal", "measured", "met"], rows)

    # ---- sync ----------------------------------------------------------------
    def sync_tables(self):
        out = []
        impls = self.isas + ["std_sort", "vqsort"]
        rows = []
        for case, c in self.cases("bench_sync", "sync_model/"):
            model = case.split("/")[1]
            w = next((e.get("weights") for e in c.values() if e.get("weights")), None)
            best = c.get(self.best)
            rows.append([model, fmt(w / 1e6, 3) + "M" if w else "-"] +
                        [fmt(c[i]["ns_per_weight"]) if i in c else "-" for i in impls] +
                        [fmt_time(best["ns"]) if best else "-"] +
                        [fmt(ratio(best and best["ns"], c.get(b, {}).get("ns"))) for b in ("std_sort", "vqsort")])
        if rows:
            out.append("### LaPerm sync of each model's synchronised weights (ns/weight)\n\n" + table(
                ["model", "weights"] + impls + [f"{self.best} time", f"{self.best}/std_sort", f"{self.best}/vqsort"],
                rows))
        rows = []
        for case, c in self.cases("bench_sync", "sync_grid/"):
            m = re.match(r"sync_grid/len:(\d+)/nvec:(\d+)", case)
            best = c.get(self.best)
            rows.append([m.group(1), m.group(2)] +
                        [fmt(c[i]["ns_per_weight"]) if i in c else "-" for i in impls] +
                        [fmt(ratio(best and best["ns"], c.get(b, {}).get("ns"))) for b in ("std_sort", "vqsort")])
        if rows:
            out.append("### Sync grid: one [len, nvec] variable of random weights (ns/weight)\n\n" + table(
                ["len", "nvec"] + impls + [f"{self.best}/std_sort", f"{self.best}/vqsort"], rows))
        rows = []
        for case, c in self.cases("bench_sync", "sort_keys/"):
            n = int(case.split("n:")[1])
            names = [f"argsort_{i}" for i in self.isas] + [f"sync1_{self.best}", "vqsort", "std_sort",
                                                            "vqsort_argsort", "std_sort_argsort"]
            ours = c.get(f"argsort_{self.best}")
            rows.append([f"{n / 2**20:g}M"] + [fmt_time(c[i]["ns"]) if i in c else "-" for i in names] +
                        [fmt(ratio(ours and ours["ns"], c.get(b, {}).get("ns")))
                         for b in ("vqsort", "std_sort", "vqsort_argsort")])
        if rows:
            out.append("### Plain sort of N random floats (one thread each)\n\n"
                       "argsort_*: our argsort (the table's entry), sync1: our sync of one vector of N; "
                       "vqsort / std_sort sort the keys only; *_argsort sort (key, index) pairs.\n\n" + table(
                           ["N"] + [f"argsort_{i}" for i in self.isas] +
                           [f"sync1_{self.best}", "vqsort", "std_sort", "vqsort_argsort", "std_sort_argsort",
                            f"argsort_{self.best}/vqsort", f"argsort_{self.best}/std_sort",
                            f"argsort_{self.best}/vqsort_argsort"], rows))
        return "\n".join(out)

    # ---- gemm ----------------------------------------------------------------
    def gemm_table(self, full):
        rows = []
        ratios = []
        for case, c in self.b.get("bench_gemm", {}).items():
            best = c.get(self.best)
            r = ratio(best and best["ns"], c.get("dnnl", {}).get("ns"))
            if case.startswith("gemm_conv/"):
                ratios.append(r)
                if not full:
                    continue
            label = case.replace("gemm_conv/", "").replace("gemm/", "")
            rows.append([label] + [fmt(c[i]["GFLOPs"]) if i in c else "-" for i in self.isas + ["dnnl"]] +
                        [fmt(r)])
        gm = geomean(ratios)
        if gm:
            rows.append([f"conv-shaped GEMMs: geomean of {len(ratios)}"] + [""] * (len(self.isas) + 1) + [fmt(gm)])
        if not rows:
            return ""
        return ("### GEMM (GFLOP/s; ratio = time of " + self.best + " / time of dnnl_sgemm)\n\n" +
                table(["shape M x N x K, op", *self.isas, "dnnl", f"{self.best}/dnnl"], rows))

    # ---- conv ----------------------------------------------------------------
    def conv_rows(self):
        for case, c in self.b.get("bench_conv", {}).items():
            if not case.startswith("conv/"):
                continue
            _, model, layer, batch, op, geom = case.split("/")
            yield model, layer, int(batch[2:]), op, geom, c

    def conv_geomean(self, model=None, op=None, batch=50):
        rs = []
        for m, _, b, o, _, c in self.conv_rows():
            if (model and m != model) or (op and o != op) or b != batch:
                continue
            if "native" in c and "dnnl" in c:
                rs.append(c["dnnl"]["ns"] / c["native"]["ns"])
        return geomean(rs)

    def conv_tables(self, full):
        out = []
        models = list(OrderedDict.fromkeys(m for m, *_ in self.conv_rows()))
        if not models:
            return ""
        rows = []
        for m in models:
            rows.append([m] + [fmt(self.conv_geomean(m, op)) for op in ("fwd", "bwd_data", "bwd_weights")] +
                        [fmt(self.conv_geomean(m)), fmt(self.conv_geomean(m, "fwd", 1))])
        rows.append(["all"] + [fmt(self.conv_geomean(None, op)) for op in ("fwd", "bwd_data", "bwd_weights")] +
                    [fmt(self.conv_geomean()), fmt(self.conv_geomean(None, "fwd", 1))])
        out.append(f"### Convolutions: native ({self.best} table) vs oneDNN\n\n"
                   "Geomean over the distinct layer shapes of the speed ratio dnnl time / native time "
                   "(above 1: native faster).\n\n" +
                   table(["model", "fwd b50", "bwd_data b50", "bwd_weights b50", "fwd+bwd b50", "fwd b1"], rows))
        if full:
            rows = []
            for m, layer, b, op, geom, c in self.conv_rows():
                n, d = c.get("native"), c.get("dnnl")
                rows.append([m, layer, geom, b, op, fmt(n and n.get("GFLOPs")), fmt(d and d.get("GFLOPs")),
                             fmt(ratio(n and n["ns"], d and d["ns"])),
                             int(next(iter(c.values())).get("layers", 1))])
            out.append("#### Per layer (GFLOP/s; ratio = native time / dnnl time)\n\n" + table(
                ["model", "layer", "HxWxC-OCkKsS", "batch", "op", "native", "dnnl", "native/dnnl", "layers"], rows))
            rows = []
            for case, c in self.b.get("bench_conv", {}).items():
                if case.startswith(("im2col/", "col2im/")):
                    rows.append([case] + [fmt(c[i]["GBs"]) if i in c else "-" for i in self.isas])
            if rows:
                out.append("#### im2col / col2im (GB/s)\n\n" + table(["case"] + self.isas, rows))
        return "\n".join(out)

    # ---- eltwise -------------------------------------------------------------
    def eltwise_table(self):
        rows = []
        for case, c in self.b.get("bench_eltwise", {}).items():
            if "runtime" in c:
                e = c["runtime"]
                rows.append([case, f"{fmt(e.get('GBs'))} ({fmt(e.get('img_per_s'), 4)} img/s)"] +
                            [""] * (len(self.isas)) + ["", ""])
                continue
            best = c.get(self.best)
            rows.append([case] + [fmt(c[i]["GBs"]) if i in c else "-" for i in self.isas + ["dnnl"]] +
                        [fmt(ratio(best and best["ns"], c.get("scalar", {}).get("ns"))),
                         fmt(ratio(best and best["ns"], c.get("dnnl", {}).get("ns")))])
        if not rows:
            return ""
        return ("### Element-wise and memory-bound kernels (GB/s; ratios are time ratios)\n\n" +
                table(["case", *self.isas, "dnnl", f"{self.best}/scalar", f"{self.best}/dnnl"], rows))

    # ---- laperm bench ----------------------------------------------------------
    def cli_table(self):
        rows = []
        for j in self.res.get("cli", []):
            bd = j.get("breakdown", {})
            rows.append([j.get("model"), j.get("backend"), j.get("isa"), j.get("batch"), j.get("threads"),
                         fmt(j.get("train_img_per_s"), 4), fmt(j.get("infer_img_per_s"), 4),
                         fmt(j.get("sync_ms")), f"{j.get('weights', 0) / 1e6:.3f}M",
                         fmt(j.get("sync_ns_per_weight")),
                         " / ".join(f"{100 * bd.get(p, 0):.1f}" for p in
                                    ("data", "forward", "backward", "optimizer", "sync"))])
        if not rows:
            return ""
        return ("### `laperm bench` (synthetic inputs)\n\n"
                "breakdown: shares of a training step in % as data / forward / backward / optimizer / "
                "sync (one sync amortised over the preset's k).\n\n" +
                table(["model", "backend", "isa", "batch", "threads", "train img/s", "infer img/s", "sync ms",
                       "weights", "sync ns/weight", "breakdown %"], rows))

    def render(self, full):
        parts = [self.header(), self.targets(), self.sync_tables(), self.gemm_table(full),
                 self.conv_tables(full), self.eltwise_table(), self.cli_table()]
        return "\n".join(p for p in parts if p)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    rep = Report(load(argv[1]))
    if "--readme" in argv:
        path = argv[argv.index("--readme") + 1]
        with open(path) as f:
            text = f.read()
        marker = argv[argv.index("--marker") + 1] if "--marker" in argv else "results"
        begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
        if begin not in text or end not in text:
            sys.stderr.write(f"{path}: no {begin} ... {end} markers\n")
            return 1
        # the README nests the tables under its own headings: one level down
        body = "\n".join("#" + l if l.startswith("###") else l for l in rep.render(False).split("\n"))
        text = text[: text.index(begin) + len(begin)] + "\n" + body + "\n" + text[text.index(end):]
        with open(path, "w") as f:
            f.write(text)
        return 0
    sys.stdout.write(rep.render("--full" in argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
