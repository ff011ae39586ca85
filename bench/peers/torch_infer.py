#!/usr/bin/python3
# PyTorch twin of `leancnn bench` for bench/infer_vs_peers.sh: the zoo's architectures in PyTorch 1.13, timed the same way.
"""Times inference of ResNet-18 / MobileNetV2 (torchvision's definitions, which leancnn's zoo
follows layer for layer) or ResNet-20 / LeNet-5 (as bench/pytorch_train.py defines them) on a
random input, in eval mode under torch.inference_mode, and prints one JSON line:
{"latency_ms": median, "p90_ms", "images_per_s", "batch", "threads", "iters", "torch", "params"}.

Each timed iteration is one forward call (steady clock around it), after --warmup untimed ones,
as `leancnn bench` and bench/peers/ort_run.js do.

--layers prints instead the model's Conv2d and Linear layers in execution order as JSON
(op, output_shape for batch 1, params), for the harness to compare with `leancnn info --json`.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pytorch_train import ResNetCifar, lenet5, small_cnn  # noqa: E402  (bench/pytorch_train.py)

MODELS = ("resnet18", "mobilenet_v2", "resnet20", "small_cnn", "lenet5")


def build(name, chw, classes):
    in_channels = chw[0]
    if name == "resnet18":
        import torchvision
        m = torchvision.models.resnet18(weights=None, num_classes=classes)
        if in_channels != 3:
            m.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        return m
    if name == "mobilenet_v2":
        import torchvision
        m = torchvision.models.mobilenet_v2(weights=None, num_classes=classes)
        if in_channels != 3:
            m.features[0][0] = nn.Conv2d(in_channels, 32, 3, 2, 1, bias=False)
        return m
    if name == "resnet20":
        return ResNetCifar(20, in_channels, classes)
    if name in ("lenet5", "small_cnn"):
        if chw[1:] != (28, 28):
            raise SystemExit(f"torch_infer.py: {name} is defined for 28x28 inputs (as in bench/pytorch_train.py)")
        return (lenet5 if name == "lenet5" else small_cnn)(in_channels, classes)
    raise SystemExit(f"torch_infer.py: unknown model '{name}' ({', '.join(MODELS)})")


def layers(model, chw):
    """Conv2d and Linear layers in the order the forward pass runs them."""
    rows = []

    def hook(module, _inputs, output):
        op = "Conv" if isinstance(module, nn.Conv2d) else "Gemm"
        rows.append({"op": op, "output_shape": list(output.shape),
                     "params": sum(p.numel() for p in module.parameters())})

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.inference_mode():
        model(torch.zeros(1, *chw))
    for h in handles:
        h.remove()
    return rows


def quantile(values, q):
    """Linear interpolation between closest ranks (numpy's default), as leancnn bench and ort_run.js."""
    v = sorted(values)
    pos = (len(v) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--input", default="3x224x224", help="CxHxW")
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layers", action="store_true", help="print the Conv2d/Linear layers instead of timing")
    a = p.parse_args()
    chw = tuple(int(d) for d in a.input.split("x"))
    if len(chw) != 3 or a.batch < 1 or a.iters < 1:
        raise SystemExit("torch_infer.py: --input must be CxHxW, --batch and --iters >= 1")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = build(a.model, chw, a.classes).eval()
    if a.layers:
        print(json.dumps(layers(model, chw)))
        return
    x = torch.rand(a.batch, *chw) * 2 - 1
    times = []
    with torch.inference_mode():
        for _ in range(a.warmup):
            model(x)
        for _ in range(a.iters):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    median = statistics.median(times)
    print(json.dumps({
        "latency_ms": median, "p90_ms": quantile(times, 0.9), "images_per_s": a.batch / (median / 1e3),
        "batch": a.batch, "threads": torch.get_num_threads(), "iters": a.iters, "torch": torch.__version__,
        "params": sum(p.numel() for p in model.parameters()), "mkldnn": torch.backends.mkldnn.is_available()}))


if __name__ == "__main__":
    main()
