#!/usr/bin/env python3
"""The Markdown table of scripts/vs_pytorch.sh from its JSON lines (laperm
bench --json and bench/torch_baseline.py, tagged "tool"): medians over the
rounds and, per model and thread count, laperm native against PyTorch.

    scripts/vs_pytorch_table.py RAW.jsonl
"""
import collections
import json
import statistics
import sys


def table(rows):
    runs = collections.defaultdict(list)  # (model, threads, implementation, what) -> values
    for r in rows:
        key = (r["model"], r["threads"])
        if r["tool"] == "laperm":
            impl = "laperm " + r["backend"]
            runs[key + (impl, "train")].append(r["train_img_per_s"])
            runs[key + (impl, "infer")].append(r["infer_img_per_s"])
            runs[key + (impl, "sync")].append(r["sync_ns_per_weight"])
        elif r["what"] == "sync":
            runs[key + ("torch", "sync")].append(r["ns_per_weight"])
        else:
            runs[key + ("torch " + r["format"], r["what"])].append(r["img_per_s"])
    m = {k: statistics.median(v) for k, v in runs.items()}
    version = next((r["torch"] for r in rows if r["tool"] == "torch"), "?")
    out = [f"PyTorch {version}; medians of up to {max(len(v) for v in runs.values())} rounds. "
           "The last row of each group: laperm native against the faster PyTorch memory format "
           "(images/s ratios; sync: PyTorch's time over laperm's).", "",
           "| model | threads | implementation | train img/s | infer img/s | sync ns/weight |",
           "|---|---|---|---|---|---|"]
    fmt = lambda v, d: "" if v is None else f"{v:.{d}f}"
    for key in sorted({k[:2] for k in m}):
        impls = sorted({k[2] for k in m if k[:2] == key} - {"torch"})
        first_torch = next((i for i in impls if i.startswith("torch ")), None)
        for i in impls:
            # PyTorch's sync does not depend on the memory format: on its first row only
            sync = m.get(key + (i, "sync")) if i.startswith("laperm") else \
                m.get(key + ("torch", "sync")) if i == first_torch else None
            out.append(f"| {key[0]} | {key[1]} | {i} | {fmt(m.get(key + (i, 'train')), 0)} | "
                       f"{fmt(m.get(key + (i, 'infer')), 0)} | {fmt(sync, 2)} |")

        def ratio(what):
            ours = m.get(key + ("laperm native", what))
            if what == "sync":
                theirs = m.get(key + ("torch", "sync"))
                return f"{theirs / ours:.1f}x" if ours and theirs else ""
            theirs = max((v for k, v in m.items()
                          if k[:2] == key and k[2].startswith("torch ") and k[3] == what), default=None)
            return f"{ours / theirs:.2f}x" if ours and theirs else ""

        out.append(f"| {key[0]} | {key[1]} | laperm native / PyTorch | {ratio('train')} | "
                   f"{ratio('infer')} | {ratio('sync')} |")
    return "\n".join(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip())
    with open(sys.argv[1]) as f:
        print(table([json.loads(l) for l in f if l.strip()]))
