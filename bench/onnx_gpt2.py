#!/usr/bin/env python3
"""A GPT-2-small-shaped model (12 layers, d_model 768, 12 heads, vocabulary
50257, context 1024; 124M parameters, random weights) exported from PyTorch
to ONNX with its weights as external data, for a forward pass of batch 1 and
128 tokens; and that file run by ONNX Runtime.

Bench only (bench/onnx_gpt2.sh runs it with bench/torch_env.sh's python):

    onnx_gpt2.py export DIR      # DIR/model.onnx + model.onnx.data, input_0.npy, output_0.npy
    onnx_gpt2.py ort DIR RUNS    # ONNX Runtime: load time, median ms per run, max |error|
    onnx_gpt2.py compare A B     # max |a - b| of two .npy files
"""
import os
import statistics
import sys
import time

import numpy as np

VOCAB, D, HEADS, LAYERS, CONTEXT, TOKENS = 50257, 768, 12, 12, 1024, 128


def export(folder):
    import onnx
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
    from export_onnx_models import Gpt  # the importer's tested GPT, at GPT-2 small's size

    torch.manual_seed(0)
    model = Gpt(vocab=VOCAB, d=D, heads=HEADS, layers=LAYERS, context=CONTEXT).eval()
    ids = torch.randint(0, VOCAB, (1, TOKENS))
    os.makedirs(folder, exist_ok=True)
    with torch.no_grad():
        out = model(ids)
    path = os.path.join(folder, "model.onnx")
    torch.onnx.export(model, (ids,), path, opset_version=17, input_names=["input_0"],
                      output_names=["output_0"], dynamo=False)
    # The weights beside the model, as exports of models over 2 GB must.
    proto = onnx.load(path)
    onnx.save_model(proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=1024)
    np.save(os.path.join(folder, "input_0.npy"), ids.numpy())
    np.save(os.path.join(folder, "output_0.npy"), out.numpy())
    params = sum(p.numel() for p in model.parameters())
    print(f"exported {params / 1e6:.1f}M parameters: {os.path.getsize(path + '.data') / 2**20:.0f} MiB of weights")


def ort(folder, runs):
    import onnxruntime as rt
    opts = rt.SessionOptions()
    opts.intra_op_num_threads = int(os.environ.get("KILN_NUM_THREADS", "0"))
    start = time.perf_counter()
    session = rt.InferenceSession(os.path.join(folder, "model.onnx"), opts, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - start
    ids = np.load(os.path.join(folder, "input_0.npy"))
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        (out,) = session.run(None, {"input_0": ids})
        times.append(time.perf_counter() - t)
    err = np.abs(out - np.load(os.path.join(folder, "output_0.npy"))).max()
    print(f"onnxruntime {rt.__version__}: session {load:.2f} s, run median {1000 * statistics.median(times):.1f} ms "
          f"({runs} runs), max |error| vs PyTorch {err:.2e}")


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2])
    elif sys.argv[1] == "ort":
        ort(sys.argv[2], int(sys.argv[3]))
    else:
        a, b = np.load(sys.argv[2]), np.load(sys.argv[3])
        print(f"{np.abs(a - b).max():.2e}")
