"""The same AlexNet training step in PyTorch, for bench/train_step.ts.

Reads {"model": AlexNetConfig, "batch", "steps", "device"} as JSON on stdin and prints
{"imagesPerSecond", "torch"}. The network mirrors lib/models/alexnet.ts layer for layer (grouped
conv2/4/5, LRN with alpha * size since torch divides by size, overlapping pooling, dropout), and the
update is SGD with momentum 0.9 and weight decay 5e-4. Strict FP32 on GPUs (no TF32), as ours;
with "precision": "bf16" the forward and the loss run under torch.autocast(dtype=torch.bfloat16)
(float32 parameters and update), the mixed precision ours runs.
"""
import contextlib
import json
import math
import sys
import time

import torch
from torch import nn


def channels(base, width):
    return max(2, 2 * math.floor(base * width / 2 + 0.5))


def build(cfg):
    w = cfg["width"]
    c1, c2, c3, c4, c5 = (channels(n, w) for n in (96, 256, 384, 384, 256))
    fc = max(1, math.floor(4096 * w + 0.5))
    pool = (lambda: nn.MaxPool2d(3, 2)) if cfg["overlappingPool"] else (lambda: nn.MaxPool2d(2, 2))
    lrn = (lambda: [nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)]) if cfg["lrn"] else (lambda: [])
    drop = (lambda: [nn.Dropout(cfg["dropout"])]) if cfg["dropout"] > 0 else (lambda: [])
    features = nn.Sequential(
        nn.Conv2d(cfg["inChannels"], c1, 11, stride=cfg["conv1Stride"], padding=2), nn.ReLU(), *lrn(), pool(),
        nn.Conv2d(c1, c2, 5, padding=2, groups=2), nn.ReLU(), *lrn(), pool(),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(c4, c5, 3, padding=1, groups=2), nn.ReLU(), pool(),
        nn.Flatten())
    with torch.no_grad():
        flat = features(torch.zeros(1, cfg["inChannels"], cfg["inputSize"], cfg["inputSize"])).shape[1]
    return nn.Sequential(features,
                         nn.Linear(flat, fc), nn.ReLU(), *drop(),
                         nn.Linear(fc, fc), nn.ReLU(), *drop(),
                         nn.Linear(fc, cfg["numClasses"]))


def main():
    spec = json.load(sys.stdin)
    cfg, batch, steps, device = spec["model"], spec["batch"], spec["steps"], spec["device"]
    if device.startswith("cuda"):
        tf32 = spec.get("precision") == "tf32"  # the same math as ours
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = True
    model = build(cfg).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, cfg["inChannels"], cfg["inputSize"], cfg["inputSize"], device=device)
    y = torch.arange(batch, device=device) % cfg["numClasses"]
    loss_fn = nn.CrossEntropyLoss()
    bf16 = spec.get("precision") == "bf16"
    device_type = "cuda" if device.startswith("cuda") else "cpu"

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(2):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    loss.item()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    print(json.dumps({"imagesPerSecond": steps * batch / seconds, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
