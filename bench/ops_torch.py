"""Times the same AlexNet op shapes in PyTorch (forward + backward), for bench/ops.ts.

Reads the cases as JSON on stdin, prints {name: milliseconds} as JSON. PyTorch has no LRN with the
paper's alpha, but nn.LocalResponseNorm(size, alpha * size, beta, k) is the same computation.
With --precision bf16 the activations are bfloat16 and the parameters float32, and every op runs
under torch.autocast(dtype=torch.bfloat16), which casts the weights in every step (as our
mixed-precision step copies them); LRN and pooling run on the bfloat16 activations directly.
"""
import contextlib
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F


def step_for(case, device, bf16=False):
    def rand(*shape, std=1.0):
        return (torch.randn(*shape, device=device) * std).requires_grad_()

    def act(*shape):
        t = torch.randn(*shape, device=device)
        return (t.to(torch.bfloat16) if bf16 else t).requires_grad_()

    n = case["n"]
    if case["kind"] == "conv":
        x = act(n, case["c"], case["h"], case["h"])
        if case["name"] == "conv1":
            x.requires_grad_(False)
        w = rand(case["o"], case["c"] // case["groups"], case["k"], case["k"], std=0.01)
        b = rand(case["o"])
        return lambda: F.conv2d(x, w, b, case["stride"], case["pad"], 1, case["groups"])
    if case["kind"] == "lrn":
        x = act(n, case["c"], case["h"], case["h"])
        return lambda: F.local_response_norm(x, 5, alpha=5 * 1e-4, beta=0.75, k=2.0)
    if case["kind"] == "pool":
        x = act(n, case["c"], case["h"], case["h"])
        return lambda: F.max_pool2d(x, 3, 2)
    x = act(n, case["in"])
    w = rand(case["out"], case["in"], std=0.01)
    b = rand(case["out"])
    return lambda: F.linear(x, w, b)


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"])
    args = parser.parse_args()
    if args.device.startswith("cuda"):
        # The same math as ours: strict FP32 by default, TF32 tensor cores when asked for.
        tf32 = args.precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = True
    bf16 = args.precision == "bf16"
    device_type = "cuda" if args.device.startswith("cuda") else "cpu"
    results = {}
    for case in json.load(sys.stdin):
        forward = step_for(case, args.device, bf16)

        def step():
            with torch.autocast(device_type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
                y = forward()
            y.backward(y.detach())

        for _ in range(2):
            step()
        sync(args.device)
        start = time.perf_counter()
        for _ in range(args.iters):
            step()
        sync(args.device)
        results[case["name"]] = (time.perf_counter() - start) / args.iters * 1000
    print(json.dumps(results))


if __name__ == "__main__":
    main()
