"""How far 16-bit mixed-precision training follows float32: the study behind the bounds of
test/helpers/precision_steps.ts (expectFollowsFloat32).

The network is the tests' quick AlexNet (width 0.25, 64x64 grey images, 10 classes, He init, LRN,
overlapping pooling, dropout 0.5), trained 6 SGD steps (lr 0.01, batch 16) on normal noise from
many seeds. 16-bit storage is emulated around float32 arithmetic, as oneDNN and cuDNN compute:
every activation and every gradient between layers is rounded to the type, the layers read rounded
copies of float32 master weights, the update is float32. Variants: the weight gradient kept in
float32 (oneDNN on the CPU) or rounded to the type (cuDNN's 16-bit weight gradient); fp16 with a
loss scale of 2^8 as the test uses. `--bits K` rounds to K significand bits with float32's range
instead (8 is bfloat16's precision, 11 float16's), to separate precision from range; `--smooth`
replaces ReLU by a softplus and max pooling by average pooling, to show where the non-linear part
of the error comes from.

    python3 bench/half_precision_drift.py [--seeds 100] [--bits K] [--smooth]

Prints, per variant, over the seeds: step 0's loss drift (a forward pass from identical weights)
in units of u, the largest per-parameter gradient error of step 0 (relative, in norm), and the
largest relative loss drift over steps 1-5; the maximum and the median of each.
"""
import argparse

import torch
import torch.nn.functional as F

torch.set_num_threads(1)

SHAPES = {'conv1': (24, 1, 11, 11), 'conv2': (64, 12, 5, 5), 'conv3': (96, 64, 3, 3), 'conv4': (96, 48, 3, 3),
          'conv5': (64, 48, 3, 3), 'fc6': (1024, 64), 'fc7': (1024, 1024), 'fc8': (10, 1024)}


def round_bits(t, k):
    """float32 rounded to nearest even at k significand bits, float32's exponent range."""
    i = t.contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    sign, mag = i & 0x80000000, i & 0x7FFFFFFF
    drop = 24 - k
    mag = ((mag + (1 << (drop - 1)) - 1 + ((mag >> drop) & 1)) >> drop) << drop
    out = sign | mag
    return torch.where(out >= 1 << 31, out - (1 << 32), out).to(torch.int32).view(torch.float32)


def rounder(kind, round_gradient):
    """Rounds in the forward pass; in the backward pass rounds the gradient too, or passes it on."""
    cast = (lambda t: round_bits(t, kind)) if isinstance(kind, int) else (lambda t: t.to(kind).to(torch.float32))

    class Round(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return cast(t)

        @staticmethod
        def backward(ctx, g):
            return cast(g) if round_gradient else g
    return Round.apply


def init(seed):
    g = torch.Generator().manual_seed(seed)
    params = {}
    for name, shape in SHAPES.items():
        fan_in = 1
        for d in shape[1:]:
            fan_in *= d
        params[name + '.w'] = (torch.randn(shape, generator=g, dtype=torch.float64) * (2 / fan_in) ** 0.5).float().requires_grad_()
        params[name + '.b'] = torch.zeros(shape[0], requires_grad=True)
    return params


def forward(p, x, masks, kind, round_dw, smooth):
    identity = lambda t: t
    act = identity if kind is None else rounder(kind, True)
    weight = identity if kind is None else rounder(kind, round_dw)
    relu = (lambda t: F.softplus(t, beta=4)) if smooth else F.relu
    pool = (lambda t: F.avg_pool2d(t, 3, 2)) if smooth else (lambda t: F.max_pool2d(t, 3, 2))
    lrn = lambda t: act(torch.cat([F.local_response_norm(c, 5, alpha=1e-4, beta=0.75, k=2.0) for c in t.chunk(2, 1)], 1))

    def conv(h, name, stride, pad, groups):
        return relu(act(F.conv2d(act(h), weight(p[name + '.w']), p[name + '.b'], stride, pad, groups=groups)))

    def linear(h, name):
        return act(F.linear(h, weight(p[name + '.w']), p[name + '.b']))
    h = pool(lrn(conv(x, 'conv1', 4, 2, 1)))
    h = pool(lrn(conv(h, 'conv2', 1, 2, 2)))
    h = pool(conv(conv(conv(h, 'conv3', 1, 1, 1), 'conv4', 1, 1, 2), 'conv5', 1, 1, 2)).flatten(1)
    h = relu(linear(h, 'fc6')) * masks[0]
    h = relu(linear(h, 'fc7')) * masks[1]
    return linear(h, 'fc8')


def train(seed, kind, round_dw, scale, smooth, steps=6, lr=0.01):
    """The losses of `steps` SGD steps and the first step's gradients."""
    p = init(seed)
    losses, first = [], None
    for s in range(steps):
        g = torch.Generator().manual_seed(1000 * seed + s)
        x = torch.randn(16, 1, 64, 64, generator=g)
        y = torch.tensor([(i * 7 + s) % 10 for i in range(16)])
        masks = [(torch.rand(16, 1024, generator=g) >= 0.5).float() * 2 for _ in range(2)]
        loss = F.cross_entropy(forward(p, x, masks, kind, round_dw, smooth), y)
        (loss * scale).backward()
        if first is None:
            first = {k: t.grad / scale for k, t in p.items()}
        with torch.no_grad():
            for t in p.values():
                t -= lr * (t.grad / scale)
                t.grad = None
        losses.append(loss.item())
    return losses, first


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--seeds', type=int, default=100)
    ap.add_argument('--bits', type=int, help='round to this many significand bits (float32 range) instead of the 16-bit types')
    ap.add_argument('--smooth', action='store_true', help='softplus for ReLU, average for max pooling')
    args = ap.parse_args()
    if args.bits:
        variants = [(f'{args.bits} bits, dw rounded', args.bits, 2.0 ** -args.bits, True, 1.0)]
    else:
        variants = [('bf16, dw float32 (oneDNN)', torch.bfloat16, 2 ** -8, False, 1.0),
                    ('bf16, dw rounded (cuDNN)', torch.bfloat16, 2 ** -8, True, 1.0),
                    ('fp16, dw rounded, scale 2^8', torch.float16, 2 ** -11, True, 256.0)]
    summary = lambda v: f'max {max(v):.3f} median {sorted(v)[len(v) // 2]:.3f}'
    for name, kind, u, round_dw, scale in variants:
        step0, grads, later = [], [], []
        for seed in range(args.seeds):
            ref_losses, ref_grads = train(seed, None, False, 1.0, args.smooth)
            losses, first = train(seed, kind, round_dw, scale, args.smooth)
            drift = [abs(a - b) / a for a, b in zip(ref_losses, losses)]
            step0.append(drift[0] / u)
            grads.append(max(((first[k] - ref_grads[k]).norm() / ref_grads[k].norm()).item() for k in ref_grads))
            later.append(max(drift[1:]))
        print(f'{name:30s} step 0 loss, in u: {summary(step0)} | step 0 gradient, relative: {summary(grads)} | '
              f'steps 1-5 loss, relative: {summary(later)}', flush=True)


if __name__ == '__main__':
    main()
