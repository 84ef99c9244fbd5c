#!/usr/bin/env python3
"""PyTorch CPU baseline for `laperm bench`: the same networks, batch and
synthetic inputs, trained by plain Adam (what people use today), plus the
LaPerm sync written the idiomatic PyTorch way (stable argsort, then a
scatter of the sorted initial values).

    python3 bench/torch_baseline.py --model conv7 --threads 2 [--steps 30]

Prints one JSON object per line: {"what": "train"|"infer"|"sync", ...}.
Driven by scripts/vs_pytorch.sh, which runs it alternately with `laperm
bench` and prints the ratios. Needs PyTorch (not a dependency of laperm:
this script only measures the baseline).

Faithful to SPEC section 6 where it costs time: 'same' padding with stride 2
is TensorFlow's asymmetric padding (one extra row and column at the bottom
and right), ReLU after every convolution, BN after the ReLU in conv13, the
dropout rates, and conv13's L2 of 1e-4 on every kernel but the last Dense
(Adam's weight_decay = 2e-4, the gradient of 1e-4 * sum(w^2)). The
parameter counts are checked against SPEC's.
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("torch_baseline.py: PyTorch is not installed (python3 -c 'import torch' fails)")


class PadSame(nn.Module):
    """TensorFlow 'same' padding for kernel k and stride s on an n x n input."""

    def __init__(self, n, k, s):
        super().__init__()
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        self.pad = (total // 2, total - total // 2, total // 2, total - total // 2)

    def forward(self, x):
        return F.pad(x, self.pad)


def conv7():
    r = nn.ReLU
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), r(),
        nn.Conv2d(32, 32, 3), r(),
        PadSame(24, 5, 2), nn.Conv2d(32, 32, 5, stride=2), r(), nn.Dropout(0.4),
        nn.Conv2d(32, 64, 3), r(),
        nn.Conv2d(64, 64, 3), r(),
        PadSame(8, 5, 2), nn.Conv2d(64, 64, 5, stride=2), r(), nn.Dropout(0.4),
        nn.Conv2d(64, 128, 4), r(),
        nn.Flatten(), nn.Dropout(0.4), nn.Linear(128, 10))


def conv13():
    layers, c = [], 3
    # (filters, dropout after the block's BN or None, pool after)
    plan = [(64, 0.3, 0), (64, None, 1), (128, 0.4, 0), (128, None, 1),
            (256, 0.4, 0), (256, 0.4, 0), (256, None, 1),
            (512, 0.4, 0), (512, 0.4, 0), (512, None, 1),
            (512, 0.4, 0), (512, 0.4, 0), (512, None, 1)]
    for f, d, pool in plan:
        layers += [nn.Conv2d(c, f, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(f, eps=1e-3, momentum=0.01)]
        if d:
            layers.append(nn.Dropout(d))
        if pool:
            layers.append(nn.MaxPool2d(2))
        c = f
    layers += [nn.Dropout(0.5), nn.Flatten(), nn.Linear(512, 512), nn.ReLU(),
               nn.BatchNorm1d(512, eps=1e-3, momentum=0.01), nn.Dropout(0.5), nn.Linear(512, 10)]
    return nn.Sequential(*layers)


MODELS = {
    # builder, input (C, H, W), batch, Keras "Total params", L2 as weight decay,
    # skip_bias (SPEC section 5)
    "conv7": (conv7, (1, 28, 28), 50, 325578, 0.0, False),
    "conv13": (conv13, (3, 32, 32), 50, 15001418, 2e-4, True),
}


def keras_param_count(model):
    n = sum(p.numel() for p in model.parameters())
    n += sum(b.numel() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var")))
    return n


def synced_weights(model, skip_bias):
    """The variables LaPerm synchronises: kernels of Conv2d and Linear, one
    vector per output unit (length kh*kw*cin or fan_in), and unless
    skip_bias their biases, one vector each; never BN's."""
    out = []
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            out.append(m.weight)
            if not skip_bias and m.bias is not None:
                out.append(m.bias)
    return out


def rows_of(w):
    """[nvec, len]: a kernel's rows, a bias as one row."""
    return w.view(w.shape[0], -1) if w.dim() > 1 else w.view(1, -1)


def sync_torch(weights, sorted_rows):
    with torch.no_grad():
        for w, s in zip(weights, sorted_rows):
            rows = rows_of(w)
            idx = torch.argsort(rows, dim=1, stable=True)
            rows.scatter_(1, idx, s)


def timed(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="conv7")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=30, help="timed training steps and inference passes")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--sync-reps", type=int, default=5)
    ap.add_argument("--formats", default="channels_last,contiguous",
                    help="memory formats to time, comma-separated")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    build, chw, batch, params, l2, skip_bias = MODELS[a.model]
    base = build()
    got = keras_param_count(base)
    if got != params:
        sys.exit(f"torch_baseline.py: {a.model} has {got} parameters, SPEC says {params}")
    x = torch.rand(batch, *chw)
    y = torch.randint(0, 10, (batch,))
    common = {"model": a.model, "threads": a.threads, "batch": batch,
              "torch": torch.__version__, "mkldnn": torch.backends.mkldnn.is_available()}

    for fmt in a.formats.split(","):
        mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
        model = build()
        model.load_state_dict(base.state_dict())
        model = model.to(memory_format=mf)
        xf = x.contiguous(memory_format=mf)
        kernels = [p for n, p in model.named_parameters() if n.endswith("weight") and p.dim() > 1]
        last = kernels[-1]
        groups = [{"params": [p for p in model.parameters() if not any(p is k for k in kernels[:-1])],
                   "weight_decay": 0.0},
                  {"params": kernels[:-1], "weight_decay": l2}]
        opt = torch.optim.Adam(groups, lr=1e-3, eps=1e-7)  # Keras' epsilon
        assert any(p is last for p in groups[0]["params"])

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xf), y)
            loss.backward()
            opt.step()

        model.train()
        for _ in range(a.warmup):
            step()
        t = timed(step, a.steps)
        print(json.dumps({"what": "train", "format": fmt, **common,
                          "step_ms_median": 1e3 * statistics.median(t),
                          "img_per_s": batch / statistics.median(t)}), flush=True)

        model.eval()
        with torch.inference_mode():
            for _ in range(a.warmup):
                model(xf)
            t = timed(lambda: model(xf), a.steps)
        print(json.dumps({"what": "infer", "format": fmt, **common,
                          "img_per_s": batch / statistics.median(t)}), flush=True)

    weights = synced_weights(base, skip_bias)
    with torch.no_grad():
        sorted_rows = [torch.sort(rows_of(w), dim=1).values.clone() for w in weights]
    nweights = sum(w.numel() for w in weights)
    sync_torch(weights, sorted_rows)  # warm-up
    t = timed(lambda: sync_torch(weights, sorted_rows), a.sync_reps)
    for w, s in zip(weights, sorted_rows):  # still a permutation of the initial values
        assert torch.equal(torch.sort(rows_of(w), dim=1).values, s)
    print(json.dumps({"what": "sync", **common, "weights": nweights,
                      "ms_median": 1e3 * statistics.median(t),
                      "ns_per_weight": 1e9 * statistics.median(t) / nweights}), flush=True)


if __name__ == "__main__":
    main()
