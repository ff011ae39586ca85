#!/usr/bin/python3
# Real exported models through leancnn's ONNX import and export: torchvision classifiers out of torch.onnx.export, run by `leancnn infer`, re-exported and run by ONNX Runtime.
"""For each torchvision classifier (random weights, seeded; BatchNorm statistics randomized too so
that folding them is exercised) and each opset (13 and 11), this script:

1. exports the model with torch.onnx.export (dynamic batch axis; the dummy input has batch 1);
2. writes a batch-2 input and PyTorch's output as ONNX TensorProto files (input_0.pb, output_0.pb);
3. runs `leancnn infer MODEL.onnx --input input_0.pb --output leancnn_0.pb --save-model re.onnx`
   (leancnn's compiled plan) and compares with PyTorch: max |a - b| <= 1e-4 * max |b|;
4. checks the re-exported re.onnx with onnx.checker (full_check) and runs it with ONNX Runtime
   (bench/peers/ort_run.js, installed by bench/peers/install.sh), compared with PyTorch the same way;
5. runs `leancnn info MODEL.onnx --json` (params, MACs).

Prints one table and writes summary.json in --out. Exit status 1 when any comparison fails.
Needs /usr/bin/python3 with python3-torch, python3-torchvision and python3-onnx (Debian), node
with bench/peers/node_modules for the ONNX Runtime column (skipped with a note when absent).

Usage: scripts/torchvision_roundtrip.py [--leancnn build/leancnn] [--out DIR] [--models a,b] [--opsets 13,11]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ["resnet18", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2_x0_5", "mnasnet0_5",
          "mobilenet_v3_small", "efficientnet_b0", "regnet_x_400mf"]
TOLERANCE = 1e-4  # max |a - b| relative to max |b|


def build(name, seed):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    return model.eval()


def write_pb(path, array, name):
    tensor = onnx.numpy_helper.from_array(np.ascontiguousarray(array), name)
    with open(path, "wb") as f:
        f.write(tensor.SerializeToString())


def read_pb(path):
    return onnx.numpy_helper.to_array(onnx.load_tensor(path))


def rel_diff(a, b):
    """max |a - b| / max |b|: the largest difference relative to the output's scale."""
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a.astype(np.float64) - b)) / max(np.max(np.abs(b)), 1e-30))


def run(cmd, **kw):
    return subprocess.run(cmd, check=False, capture_output=True, text=True, **kw)


def ort_available():
    return os.path.isdir(os.path.join(ROOT, "bench", "peers", "node_modules", "onnxruntime-node"))


def one(leancnn, name, opset, out_dir, seed):
    d = os.path.join(out_dir, f"{name}_op{opset}")
    os.makedirs(d, exist_ok=True)
    row = {"model": name, "opset": opset}
    model = build(name, seed)
    dummy = torch.randn(1, 3, 224, 224)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(seed + 2))
    with torch.no_grad():
        y = model(x).numpy()
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(model, dummy, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True)
    write_pb(os.path.join(d, "input_0.pb"), x.numpy(), "input")
    write_pb(os.path.join(d, "output_0.pb"), y, "logits")
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    row["onnx_ops"] = ops

    re_path = os.path.join(d, "re.onnx")
    t0 = time.time()
    r = run([leancnn, "infer", path, "--input", os.path.join(d, "input_0.pb"), "--output",
             os.path.join(d, "leancnn_0.pb"), "--save-model", re_path, "--threads", "2"])
    row["infer_s"] = round(time.time() - t0, 2)
    if r.returncode != 0:
        row["error"] = "leancnn infer: " + r.stderr.strip()
        return row
    row["leancnn_rel"] = rel_diff(read_pb(os.path.join(d, "leancnn_0.pb")), y)
    row["leancnn_abs"] = float(np.max(np.abs(read_pb(os.path.join(d, "leancnn_0.pb")) - y)))

    info = run([leancnn, "info", path, "--json"])
    if info.returncode != 0:
        row["error"] = "leancnn info: " + info.stderr.strip()
        return row
    j = json.loads(info.stdout)
    row["params"], row["macs"], row["nodes"] = j["params"], j["macs"], len(j["nodes"])
    row["torch_params"] = sum(p.numel() for p in model.parameters())

    try:
        onnx.checker.check_model(onnx.load(re_path), full_check=True)
        row["checker"] = "ok"
    except Exception as e:  # noqa: BLE001 (the checker raises several types)
        row["checker"] = str(e).splitlines()[0]
    if ort_available():
        x.numpy().astype("<f4").tofile(os.path.join(d, "input.bin"))
        o = run(["node", os.path.join(ROOT, "bench", "peers", "ort_run.js"), re_path, "--shape", "2x3x224x224",
                 "--threads", "2", "--run", os.path.join(d, "input.bin"), os.path.join(d, "ort.bin")])
        if o.returncode != 0:
            row["error"] = "ONNX Runtime on the re-export: " + o.stderr.strip()
            return row
        ort = np.fromfile(os.path.join(d, "ort.bin"), dtype="<f4").reshape(y.shape)
        row["ort_rel"] = rel_diff(ort, y)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--leancnn", default=os.path.join(ROOT, "build", "leancnn"))
    ap.add_argument("--out", default="/tmp/leancnn_torchvision")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--opsets", default="13,11")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if not os.access(a.leancnn, os.X_OK):
        sys.exit(f"torchvision_roundtrip.py: no leancnn executable at {a.leancnn} (build first or pass --leancnn)")
    torch.set_num_threads(2)
    os.makedirs(a.out, exist_ok=True)
    rows = []
    for name in a.models.split(","):
        for opset in (int(s) for s in a.opsets.split(",")):
            row = one(a.leancnn, name, opset, a.out, a.seed)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    failed = 0
    print(f"{'model':<20} {'opset':>5} {'params':>10} {'MACs':>14} {'leancnn rel':>12} {'ORT(re) rel':>12} {'checker':>8}")
    for r in rows:
        ok = ("error" not in r and r.get("leancnn_rel", 1) <= TOLERANCE and r.get("checker") == "ok"
              and r.get("ort_rel", 0) <= TOLERANCE)
        failed += not ok
        if "error" in r:
            print(f"{r['model']:<20} {r['opset']:>5}  FAILED: {r['error']}")
            continue
        ort = f"{r['ort_rel']:.2e}" if "ort_rel" in r else "n/a"
        print(f"{r['model']:<20} {r['opset']:>5} {r['params']:>10} {r['macs']:>14} {r['leancnn_rel']:>12.2e} "
              f"{ort:>12} {r['checker']:>8}{'' if ok else '  FAILED'}")
    if not ort_available():
        print("ONNX Runtime column skipped: run bench/peers/install.sh")
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(rows, f, indent=2)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
