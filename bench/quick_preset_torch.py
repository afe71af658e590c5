"""The fashion-mnist-quick preset in PyTorch (CPU), side by side with `alexnet train`.

Same network (AlexNet at 64x64, width 1/4, conv1 stride 4, LRN k=2 n=5 alpha=1e-4 beta=0.75 with
torch's alpha = n * alpha, overlapping pooling, dropout 0.5), He init (classifier gain 1), the
paper's SGD rule (v <- 0.9 v - 5e-4 lr w - lr g; w <- w + v), batch 128, lr 0.01, pixels / 255
minus the training mean image, bilinear 28 -> 64, no augmentation.

    python3 bench/quick_preset_torch.py [--epochs 8] [--threads 2] [--no-lrn] [--profile]
"""
import argparse
import gzip
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DIR = '/usr/share/datasets/fashion-mnist'


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split, size):
    prefix = 'train' if split == 'train' else 't10k'
    x = torch.from_numpy(read_idx(f'{DIR}/{prefix}-images-idx3-ubyte.gz').copy()).float().unsqueeze(1) / 255
    y = torch.from_numpy(read_idx(f'{DIR}/{prefix}-labels-idx1-ubyte.gz').astype(np.int64))
    x = F.interpolate(x, size=(size, size), mode='bilinear', align_corners=False)
    return x, y


def channels(base, width):
    return max(2, 2 * round(base * width / 2))


def network(width=0.25, size=64, stride=4, lrn=True, classes=10):
    c1, c2, c3, c4, c5 = [channels(n, width) for n in (96, 256, 384, 384, 256)]
    fc = round(4096 * width)
    norm = (lambda: nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)) if lrn else (lambda: nn.Identity())
    features = nn.Sequential(
        nn.Conv2d(1, c1, 11, stride, 2), nn.ReLU(), norm(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c1, c2, 5, 1, 2, groups=2), nn.ReLU(), norm(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c2, c3, 3, 1, 1), nn.ReLU(),
        nn.Conv2d(c3, c4, 3, 1, 1, groups=2), nn.ReLU(),
        nn.Conv2d(c4, c5, 3, 1, 1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten())
    with torch.no_grad():
        flat = features(torch.zeros(1, 1, size, size)).shape[1]
    net = nn.Sequential(features, nn.Linear(flat, fc), nn.ReLU(), nn.Dropout(0.5),
                        nn.Linear(fc, fc), nn.ReLU(), nn.Dropout(0.5), nn.Linear(fc, classes))
    weighted = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for m in weighted:
        fan_in = m.weight[0].numel()
        gain = 1 if m is weighted[-1] else 2
        nn.init.normal_(m.weight, 0, math.sqrt(gain / fan_in))
        nn.init.zeros_(m.bias)
    return net


def paper_sgd(params, velocity, lr, momentum=0.9, wd=5e-4):
    with torch.no_grad():
        for p, v in zip(params, velocity):
            v.mul_(momentum).add_(p, alpha=-wd * lr).add_(p.grad, alpha=-lr)
            p.add_(v)


def evaluate(net, x, y, batch=500):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            correct += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    net.train()
    return correct / len(y)


def profile(net, batch=128, size=64, steps=10):
    x = torch.randn(batch, 1, size, size)
    layers = list(net[0]) + list(net[1:])
    times = {}
    for step in range(steps + 2):
        h = x
        outs = []
        for i, layer in enumerate(layers):
            h = h.detach().requires_grad_(True)
            t0 = time.perf_counter()
            out = layer(h)
            if step >= 2:
                times.setdefault(i, [0.0, 0.0])[0] += time.perf_counter() - t0
            outs.append((h, out))
            h = out
        g = torch.randn_like(h)
        for i in reversed(range(len(layers))):
            inp, out = outs[i]
            t0 = time.perf_counter()
            out.backward(g)
            if step >= 2:
                times[i][1] += time.perf_counter() - t0
            g = inp.grad
    total = 0
    for i, layer in enumerate(layers):
        f, b = (t / steps * 1000 for t in times[i])
        total += f + b
        print(f'{i:2d} {type(layer).__name__:18s} fwd {f:7.2f} ms  bwd {b:7.2f} ms')
    print(f'total {total:.1f} ms/step = {batch * 1000 / total:.0f} img/s')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=8)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--width', type=float, default=0.25)
    ap.add_argument('--stride', type=int, default=4)
    ap.add_argument('--no-lrn', action='store_true')
    ap.add_argument('--profile', action='store_true')
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net = network(a.width, a.size, a.stride, not a.no_lrn)
    if a.profile:
        profile(net, size=a.size)
        return
    xtr, ytr = load('train', a.size)
    xte, yte = load('test', a.size)
    mean = xtr.mean(0, keepdim=True)
    xtr -= mean
    xte -= mean
    params = list(net.parameters())
    velocity = [torch.zeros_like(p) for p in params]
    start = time.perf_counter()
    for epoch in range(a.epochs):
        order = torch.randperm(len(ytr))
        t0 = time.perf_counter()
        total = 0.0
        steps = len(ytr) // 128
        for s in range(steps):
            idx = order[s * 128:(s + 1) * 128]
            loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
            for p in params:
                p.grad = None
            loss.backward()
            paper_sgd(params, velocity, 0.01)
            total += loss.item()
        seconds = time.perf_counter() - t0
        acc = evaluate(net, xte, yte)
        print(f'epoch {epoch + 1}: train loss {total / steps:.4f}  test accuracy {100 * acc:.2f}%  '
              f'{steps * 128 / seconds:.0f} img/s  {seconds:.1f} s  (total {time.perf_counter() - start:.0f} s)', flush=True)


if __name__ == '__main__':
    main()
