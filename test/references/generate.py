#!/usr/bin/env python3
"""Float64 PyTorch references for the test suite (format "alexnet-references-v1").

    npm run references        # = python3 test/references/generate.py  (needs torch and numpy)

Writes test/references/data/manifest.json and one .bin per case. Every case draws its inputs from
its own generator, seeded from a hash of its name, so the output does not depend on the order or
number of cases and regenerating on any machine gives the same bytes (checked: sha256 per case).

Inputs are drawn in float32 and stored as float32 (role input/param/cotangent/state): an
implementation in float32 sees exactly the values the float64 reference saw. Every output and
gradient is computed in float64 and stored as float64. The LRN is written out from the paper's
formula (torch's LocalResponseNorm divides alpha by n); everything else is torch's own float64 op,
with gradients from autograd. Before writing, each differentiable case is checked with central
finite differences, and every case records how far torch itself in float32 lands from the float64
result (a realistic scale for tolerances).

Layout of the files: manifest.json indexes, per case, its attributes and tensors; a tensor is a
little-endian row-major run of `nbytes` at `offset` in the case's .bin, dtype f64, f32 or i32.
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

FORMAT = "alexnet-references-v1"
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
MASTER_SEED = "alexnet-cudnn-references"
PAPER_LRN = {"k": 2.0, "n": 5, "alpha": 1e-4, "beta": 0.75}

torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))


# ---------------------------------------------------------------------------------------------
# Drawing inputs

class Draws:
    """Float32 draws from a generator of the case's own, seeded by its name (and an attempt)."""

    def __init__(self, name, attempt=0):
        digest = hashlib.sha256(f"{MASTER_SEED}/{name}/{attempt}".encode()).digest()
        self.gen = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1))

    def normal(self, shape, std=1.0):
        return (torch.randn(shape, generator=self.gen, dtype=torch.float32) * std).double()

    def integers(self, low, high, shape):
        return torch.randint(low, high, shape, generator=self.gen, dtype=torch.int64)

    def distinct(self, shape, scale):
        """A permutation of evenly spaced float32-exact values: no two elements are equal, so a
        max-pool window has one winner in any precision."""
        n = int(np.prod(shape))
        perm = torch.randperm(n, generator=self.gen).double()
        return ((perm - n / 2) * (scale / n)).float().double().reshape(shape)


# ---------------------------------------------------------------------------------------------
# The ops in float64

def lrn(a, k, n, alpha, beta):
    """b[c] = a[c] / (k + alpha * sum_{j=max(0,c-n//2)}^{min(C-1,c+n//2)} a[j]^2)^beta."""
    sq = a * a
    half = n // 2
    window = torch.zeros_like(a)
    channels = a.shape[1]
    for d in range(-half, half + 1):
        lo, hi = max(0, -d), min(channels, channels - d)
        window[:, lo:hi] += sq[:, lo + d:hi + d]
    return a / (k + alpha * window) ** beta


def max_pool(x):
    return F.max_pool2d(x, kernel_size=3, stride=2)


def relative(got, want):
    got, want = [v.detach() if isinstance(v, torch.Tensor) else v for v in (got, want)]
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    scale = np.abs(want).max() if want.size else 0.0
    err = np.abs(got - want).max() if want.size else 0.0
    return float(err / scale) if scale > 0 else float(err)


# ---------------------------------------------------------------------------------------------
# Checks

def finite_difference_check(fn, inputs, coords_per_tensor=300, seed=0):
    """Central differences of the scalar fn on up to coords_per_tensor coordinates of each input
    that requires a gradient; returns the worst |fd - analytic| / max|analytic| over them."""
    leaves = [t.detach().clone().requires_grad_(t.requires_grad) for t in inputs]
    fn(*leaves).backward()
    rng = np.random.default_rng(seed)
    worst = 0.0
    checked = 0
    with torch.no_grad():
        for i, t in enumerate(leaves):
            if not t.requires_grad:
                continue
            grad = t.grad.reshape(-1)
            scale = max(float(grad.abs().max()), 1e-12)
            flat = t.reshape(-1)
            picks = rng.choice(flat.numel(), size=min(coords_per_tensor, flat.numel()), replace=False)
            for j in picks:
                j = int(j)
                h = 1e-6 * max(1.0, abs(float(flat[j])))
                keep = float(flat[j])
                flat[j] = keep + h
                up = float(fn(*leaves))
                flat[j] = keep - h
                down = float(fn(*leaves))
                flat[j] = keep
                fd = (up - down) / (2 * h)
                worst = max(worst, abs(fd - float(grad[j])) / scale)
                checked += 1
    if worst > 1e-5:
        raise AssertionError(f"finite differences disagree with autograd: {worst:.3e}")
    return {"fd_worst_err_rel_to_max_grad": worst, "fd_coords_checked": checked}


def float32_distance(fn64, inputs, names):
    """How far the same computation in float32 torch lands from the float64 one, per output."""
    out64 = fn64(*inputs)
    out32 = fn64(*[t.float() for t in inputs])
    return {n: relative(o32.detach(), o64) for n, o32, o64 in zip(names, out32, out64)}


# ---------------------------------------------------------------------------------------------
# Writing

class Case:
    def __init__(self, name, description, attrs):
        self.name, self.description, self.attrs = name, description, attrs
        self.tensors, self.checks = [], {}

    def add(self, name, role, value, dtype=None, f32_distance=None):
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        value = np.asarray(value)
        if dtype is None:
            dtype = {"input": "f32", "param": "f32", "cotangent": "f32", "state": "f32", "label": "i32"}.get(role, "f64")
        np_type = {"f64": "<f8", "f32": "<f4", "i32": "<i4"}[dtype]
        stored = value.astype(np_type)
        if dtype == "f32" and not np.array_equal(stored.astype(np.float64), value.astype(np.float64)):
            raise AssertionError(f"{self.name}.{name} is stored as f32 but is not float32-exact")
        entry = {"role": role, "dtype": dtype, "shape": list(value.shape),
                 "max_abs": float(np.abs(value).max()) if value.size else 0.0}
        if f32_distance is not None:
            entry["torch_f32_err_rel_to_max_abs"] = f32_distance
        self.tensors.append((name, entry, stored))
        return self


def write(cases):
    os.makedirs(OUT_DIR, exist_ok=True)
    for stale in os.listdir(OUT_DIR):
        if stale.endswith(".bin"):
            os.remove(os.path.join(OUT_DIR, stale))
    manifest = {"format": FORMAT, "byte_order": "little", "generator": "test/references/generate.py",
                "torch": torch.__version__, "cases": {}}
    total = 0
    for case in cases:
        blob = bytearray()
        tensors = {}
        for name, entry, stored in case.tensors:
            blob += b"\0" * (-len(blob) % 8)
            raw = stored.tobytes(order="C")
            tensors[name] = {**entry, "offset": len(blob), "nbytes": len(raw)}
            blob += raw
        file = f"{case.name}.bin"
        with open(os.path.join(OUT_DIR, file), "wb") as f:
            f.write(blob)
        total += len(blob)
        manifest["cases"][case.name] = {
            "description": case.description, "file": file, "file_bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(), "attrs": case.attrs, "checks": case.checks,
            "tensors": tensors}
    manifest["total_bytes"] = total
    with open(os.path.join(OUT_DIR, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=False)
        f.write("\n")
    return total


# ---------------------------------------------------------------------------------------------
# Cases: single ops (the loss is L = sum(out * g) with a stored cotangent g)

def single_op_case(name, description, attrs, op, inputs, input_roles, check_fd=True):
    """inputs: dict name -> float64 tensor (float32-exact). The op's output gets cotangent g."""
    names = list(inputs)
    leaves = [inputs[n].clone().requires_grad_(input_roles[n] != "label") for n in names]
    out = op(*leaves)
    draws = Draws(name, attempt=1000)
    g = draws.normal(out.shape)
    loss = (out * g).sum()
    loss.backward()
    case = Case(name, description, attrs)
    for n in names:
        case.add(n, input_roles[n], inputs[n])
    case.add("g", "cotangent", g)

    def out_and_grads(*xs):
        xs = [x.detach().requires_grad_(True) for x in xs]
        y = op(*xs)
        grads = torch.autograd.grad((y * g.to(y.dtype)).sum(), xs)
        return (y, *grads)

    distance = float32_distance(out_and_grads, [inputs[n] for n in names], ["out", *names])
    case.add("out", "output", out, f32_distance=distance["out"])
    case.add("loss", "output", loss)
    for n, leaf in zip(names, leaves):
        case.add(f"grad_{n}", "grad", leaf.grad, f32_distance=distance[n])
    if check_fd:
        case.checks.update(finite_difference_check(lambda *xs: (op(*xs) * g).sum(),
                                                   [inputs[n].clone().requires_grad_(True) for n in names]))
    return case


def conv_case(name, description, batch, cin, size, cout, k, stride, pad, groups, check_fd=True):
    d = Draws(name)
    h, w = size
    x = d.normal((batch, cin, h, w))
    fan_in = cin // groups * k * k
    weight = d.normal((cout, cin // groups, k, k), std=(2.0 / fan_in) ** 0.5)
    bias = d.normal((cout,), std=0.1)
    attrs = {"op": "conv2d", "layout": "NCHW, weight OIHW (I = C/groups)", "stride": stride, "pad": pad,
             "groups": groups, "kernel": k}
    case = single_op_case(name, description, attrs,
                          lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad, groups=groups),
                          {"x": x, "weight": weight, "bias": bias},
                          {"x": "input", "weight": "param", "bias": "param"}, check_fd)
    case.attrs["out_shape"] = next(e["shape"] for n, e, _ in case.tensors if n == "out")
    return case


def lrn_case(name, description, shape, params, magnitude, absolute=False, check_fd=True):
    x = Draws(name).normal(shape, std=magnitude)
    if absolute:
        x = x.abs()
    attrs = {"op": "lrn_across_channels", **params,
             "formula": "b[c] = a[c] / (k + alpha * sum_{j=max(0,c-n//2)}^{min(C-1,c+n//2)} a[j]^2)^beta"}
    case = single_op_case(name, description, attrs, lambda a: lrn(a, **params), {"x": x}, {"x": "input"}, check_fd)
    case.checks["torch_lrn_with_alpha_times_n"] = relative(
        torch.nn.LocalResponseNorm(params["n"], params["alpha"] * params["n"], params["beta"], params["k"])(x),
        lrn(x, **params))
    return case


def pool_case(name, description, shape, check_fd=True):
    x = Draws(name).distinct(shape, scale=20.0)
    attrs = {"op": "maxpool2d", "kernel": 3, "stride": 2, "pad": 0,
             "note": "every input value is distinct, so each window has one winner in any precision; an input "
                     "that wins several overlapping windows receives the sum of their gradients"}
    case = single_op_case(name, description, attrs, max_pool, {"x": x}, {"x": "input"}, check_fd)
    case.attrs["out_shape"] = next(e["shape"] for n, e, _ in case.tensors if n == "out")
    return case


def linear_case(name):
    d = Draws(name)
    x, weight, bias = d.normal((4, 50)), d.normal((30, 50), std=0.2), d.normal((30,), std=0.5)
    return single_op_case(name, "linear: N=4, 50 -> 30", {"op": "linear", "layout": "x [N,in], weight [out,in], bias [out]"},
                          F.linear, {"x": x, "weight": weight, "bias": bias},
                          {"x": "input", "weight": "param", "bias": "param"})


def cross_entropy_case(name, description, std):
    d = Draws(name)
    logits = d.normal((5, 10), std=std)
    labels = d.integers(0, 10, (5,))
    leaf = logits.clone().requires_grad_(True)
    loss = F.cross_entropy(leaf, labels)
    loss.backward()
    case = Case(name, description, {"op": "softmax_cross_entropy_mean", "num_classes": 10,
                                    "formula": "loss = (1/N) sum_i [logsumexp(z_i) - z_i[y_i]]; dloss/dz = (softmax(z) - onehot(y)) / N"})
    probs = torch.softmax(logits, dim=1)
    closed_form = (probs - F.one_hot(labels, 10).double()) / 5
    case.checks["grad_vs_closed_form"] = relative(leaf.grad, closed_form)
    case.checks.update(finite_difference_check(lambda z: F.cross_entropy(z, labels), [logits.clone().requires_grad_(True)]))
    case.add("logits", "input", logits).add("labels", "label", labels.int())
    case.add("loss", "output", loss).add("probs", "output", probs).add("grad_logits", "grad", leaf.grad)
    return case


# ---------------------------------------------------------------------------------------------
# SGD with the paper's rule: v <- 0.9 v - 0.0005 lr w - lr grad; w <- w + v

MOMENTUM, WEIGHT_DECAY, LRS = 0.9, 0.0005, [0.01, 0.001]
SGD_ATTRS = {"momentum": MOMENTUM, "weight_decay": WEIGHT_DECAY, "lrs": LRS}


def paper_sgd(w, v, grad, lr):
    v = MOMENTUM * v - WEIGHT_DECAY * lr * w - lr * grad
    return w + v, v


def sgd_rule_case(name):
    d = Draws(name)
    w, v = d.normal((6, 5)), d.normal((6, 5), std=0.01)
    grads = [d.normal((6, 5)), d.normal((6, 5))]
    case = Case(name, "the paper's SGD rule: two steps on given gradients (lr 0.01 then 0.001)",
                {"op": "sgd_paper", **SGD_ATTRS, "formula": "v <- 0.9 v - 0.0005*lr*w - lr*grad; w <- w + v (new v)"})
    case.add("w0", "param", w).add("v0", "state", v).add("grad1", "input", grads[0]).add("grad2", "input", grads[1])
    for step, (grad, lr) in enumerate(zip(grads, LRS), start=1):
        w, v = paper_sgd(w, v, grad, lr)
        case.add(f"w{step}", "output", w).add(f"v{step}", "state", v, dtype="f64")
    return case


def sgd_training_case(name):
    d = Draws(name)
    X, labels = d.normal((8, 20)), d.integers(0, 10, (8,))
    W, b = d.normal((10, 20), std=0.3), d.normal((10,), std=0.3)
    vW, vb = d.normal((10, 20), std=0.01), d.normal((10,), std=0.01)
    case = Case(name, "two paper-SGD steps of a linear softmax classifier, each gradient at the current weights "
                      "(weight decay on the bias too)",
                {"op": "sgd_paper_train", **SGD_ATTRS, "formula": "v <- 0.9 v - 0.0005*lr*w - lr*dL/dw(w); w <- w + v"})
    case.add("X", "input", X).add("labels", "label", labels.int())
    case.add("W0", "param", W).add("b0", "param", b).add("vW0", "state", vW).add("vb0", "state", vb)
    for step, lr in enumerate(LRS, start=1):
        Wl, bl = W.clone().requires_grad_(True), b.clone().requires_grad_(True)
        loss = F.cross_entropy(F.linear(X, Wl, bl), labels)
        loss.backward()
        W, vW = paper_sgd(W, vW, Wl.grad, lr)
        b, vb = paper_sgd(b, vb, bl.grad, lr)
        case.add(f"loss{step}", "output", loss).add(f"gradW{step}", "grad", Wl.grad).add(f"gradb{step}", "grad", bl.grad)
        case.add(f"W{step}", "output", W).add(f"b{step}", "output", b)
        case.add(f"vW{step}", "state", vW, dtype="f64").add(f"vb{step}", "state", vb, dtype="f64")
    case.add("loss_after", "output", F.cross_entropy(F.linear(X, W, b), labels))
    return case


# ---------------------------------------------------------------------------------------------
# PCA colour augmentation (paper section 4.1)

def pca_cases():
    d = Draws("h_pca_color")
    # Colour-correlated integer images: a shared grey level plus smaller per-channel variation.
    grey = d.integers(30, 200, (4, 1, 8, 8)).double()
    tint = d.integers(-40, 41, (4, 3, 8, 8)).double()
    images255 = (grey + tint).clamp(0, 255)
    alphas = d.normal((4, 3), std=0.1)
    cases = []
    for name, images, note in [("h1_pca_color_0_255", images255, "integer pixels in [0, 255]"),
                               ("h2_pca_color_0_1", (images255 / 255).float().double(), "the same images / 255 (float32), pixels in [0, 1]")]:
        pixels = images.permute(0, 2, 3, 1).reshape(-1, 3).numpy()
        mean = pixels.mean(axis=0)
        centred = pixels - mean
        cov = centred.T @ centred / (len(pixels) - 1)
        eigvals, eigvecs = np.linalg.eigh(cov)
        order = np.argsort(eigvals)[::-1]
        eigvals, eigvecs = eigvals[order], eigvecs[:, order]
        for i in range(3):
            if eigvecs[np.argmax(np.abs(eigvecs[:, i])), i] < 0:
                eigvecs[:, i] = -eigvecs[:, i]
        a = alphas.numpy()
        offset = (eigvecs @ (a * eigvals).T).T
        offset_sqrt = (eigvecs @ (a * np.sqrt(eigvals)).T).T
        case = Case(name, f"PCA colour augmentation of 4 RGB images 3x8x8, {note}",
                    {"op": "pca_color_augmentation", "layout": "images NCHW, channels R,G,B; eigvecs [3,3], eigenvector i in column i",
                     "covariance": "over all N*H*W pixels, mean-subtracted, divided by (M-1)",
                     "eig_order": "descending", "sign_convention": "each eigenvector's largest-|.| component is positive",
                     "formula": "offset_n = P [a_n1 l_1, a_n2 l_2, a_n3 l_3]^T (lambda, not sqrt(lambda)); out = img + offset_n per pixel, no clamping"})
        case.checks["cov_vs_numpy_cov"] = relative(cov, np.cov(pixels.T))
        case.checks["eigen_residual"] = relative(cov @ eigvecs, eigvecs * eigvals)
        case.checks["orthonormal"] = relative(eigvecs.T @ eigvecs, np.eye(3))
        case.add("images", "input", images).add("alphas", "input", alphas)
        case.add("mean_rgb", "output", mean).add("cov", "output", cov).add("eigvals", "output", eigvals).add("eigvecs", "output", eigvecs)
        case.add("offset", "output", offset).add("out", "output", images.numpy() + offset[:, :, None, None])
        case.add("offset_sqrt_lambda_variant", "output", offset_sqrt)
        case.add("out_sqrt_lambda_variant", "output", images.numpy() + offset_sqrt[:, :, None, None])
        cases.append(case)
    return cases


# ---------------------------------------------------------------------------------------------
# A small AlexNet-shaped network: every activation, the loss and every gradient

NETWORK_LAYERS = [
    ["conv1", "conv", {"cin": 3, "cout": 8, "k": 11, "s": 4, "p": 2, "groups": 1}], ["relu1", "relu", {}], ["lrn1", "lrn", {}], ["pool1", "pool", {}],
    ["conv2", "conv", {"cin": 8, "cout": 16, "k": 5, "s": 1, "p": 2, "groups": 2}], ["relu2", "relu", {}], ["lrn2", "lrn", {}], ["pool2", "pool", {}],
    ["conv3", "conv", {"cin": 16, "cout": 24, "k": 3, "s": 1, "p": 1, "groups": 1}], ["relu3", "relu", {}],
    ["conv4", "conv", {"cin": 24, "cout": 24, "k": 3, "s": 1, "p": 1, "groups": 2}], ["relu4", "relu", {}],
    ["conv5", "conv", {"cin": 24, "cout": 16, "k": 3, "s": 1, "p": 1, "groups": 2}], ["relu5", "relu", {}], ["pool5", "pool", {}],
    ["flatten", "flatten", {}],
    ["fc6", "fc", {"cout": 32}], ["relu6", "relu", {}], ["fc7", "fc", {"cout": 32}], ["relu7", "relu", {}], ["fc8", "fc", {"cout": 10}],
]
WEIGHT_STD = {"conv1": 0.1, "conv2": 0.05, "conv3": 0.05, "conv4": 0.05, "conv5": 0.05, "fc6": 0.1, "fc7": 0.2, "fc8": 0.2}
MARGIN = 2e-5  # relative to the layer's max |value|: float32 rounding (~1e-6) cannot flip a ReLU or a max


def run_network(x, params):
    acts = {}
    h = x
    for name, kind, o in NETWORK_LAYERS:
        if kind == "conv":
            h = F.conv2d(h, params[f"{name}_weight"], params[f"{name}_bias"], stride=o["s"], padding=o["p"], groups=o["groups"])
        elif kind == "relu":
            h = torch.relu(h)
        elif kind == "lrn":
            h = lrn(h, **PAPER_LRN)
        elif kind == "pool":
            h = max_pool(h)
        elif kind == "flatten":
            h = h.reshape(h.shape[0], -1)
        else:
            h = F.linear(h, params[f"{name}_weight"], params[f"{name}_bias"])
        acts[name] = h
    return acts


def margins(acts):
    """The smallest |ReLU input| and the smallest top-1/top-2 gap of a pooling window, each
    relative to its layer's max |value| (windows that are all zero are ignored)."""
    relu_margin, pool_margin = np.inf, np.inf
    previous = None
    for name, kind, _ in NETWORK_LAYERS:
        if kind == "relu":
            z = previous.detach()
            relu_margin = min(relu_margin, float(z.abs().min() / z.abs().max()))
        if kind == "pool":
            z = previous.detach()
            windows = z.unfold(2, 3, 2).unfold(3, 3, 2).reshape(*z.shape[:2], -1, 9)
            top2 = windows.topk(2, dim=-1).values
            live = top2[..., 0] > 0
            gaps = (top2[..., 0] - top2[..., 1])[live]
            if gaps.numel():
                pool_margin = min(pool_margin, float(gaps.min() / z.abs().max()))
        previous = acts[name]
    return relu_margin, pool_margin


def pooled(width):
    return (width - 3) // 2 + 1


def network_case(name, size):
    for attempt in range(200):
        d = Draws(name, attempt)
        x = d.normal((2, 3, size, size), std=50.0)
        labels = d.integers(0, 10, (2,))
        params = {}
        width = pooled(pooled(pooled((size + 2 * 2 - 11) // 4 + 1)))
        fan_in = 16 * width * width  # conv5's channels times pool5's area, flattened
        for layer, kind, o in NETWORK_LAYERS:
            if kind == "conv":
                params[f"{layer}_weight"] = d.normal((o["cout"], o["cin"] // o["groups"], o["k"], o["k"]), std=WEIGHT_STD[layer])
                params[f"{layer}_bias"] = d.normal((o["cout"],), std=0.5)
            elif kind == "fc":
                params[f"{layer}_weight"] = d.normal((o["cout"], fan_in), std=WEIGHT_STD[layer])
                params[f"{layer}_bias"] = d.normal((o["cout"],), std=0.5)
                fan_in = o["cout"]
        with torch.no_grad():
            acts = run_network(x, params)
        relu_margin, pool_margin = margins(acts)
        if relu_margin > MARGIN and pool_margin > MARGIN:
            break
    else:
        raise RuntimeError(f"{name}: no draw met the margins")

    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    xl = x.clone().requires_grad_(True)
    acts = run_network(xl, leaves)
    loss = F.cross_entropy(acts["fc8"], labels)
    loss.backward()

    names = list(params)
    def loss_fn(x_, *ps):
        return F.cross_entropy(run_network(x_, dict(zip(names, ps)))["fc8"], labels)
    def everything(x_, *ps):
        x_ = x_.detach().requires_grad_(True)
        ps = [p.detach().requires_grad_(True) for p in ps]
        a = run_network(x_, dict(zip(names, ps)))
        grads = torch.autograd.grad(F.cross_entropy(a["fc8"], labels), [x_, *ps])
        return (*[a[n] for n, _, _ in NETWORK_LAYERS], *grads)
    outputs = [f"act_{n}" for n, _, _ in NETWORK_LAYERS] + ["grad_x"] + [f"grad_{n}" for n in names]
    distance = float32_distance(everything, [x, *params.values()], outputs)

    attrs = {"op": "network", "layers": NETWORK_LAYERS,
             "activation_shapes": {n: list(acts[n].shape) for n, _, _ in NETWORK_LAYERS},
             "lrn": PAPER_LRN, "draw_attempt": attempt,
             "init": {"x": "N(0, 50^2)", "weights_std": WEIGHT_STD, "bias": "N(0, 0.5^2)"},
             "dropout": "none (identity)", "loss": "softmax cross-entropy, mean over the batch",
             "order": "conv -> ReLU -> LRN -> max pool as in the paper; flatten is the (c, h, w) order of NCHW"}
    case = Case(name, f"small AlexNet-shaped network, input 2x3x{size}x{size}: activations, loss, every gradient", attrs)
    case.checks = {"min_relu_input_rel_to_layer_max": relu_margin, "min_pool_gap_rel_to_layer_max": pool_margin}
    case.checks.update(finite_difference_check(loss_fn, [x.clone().requires_grad_(True), *[p.clone().requires_grad_(True) for p in params.values()]],
                                               coords_per_tensor=60))
    case.add("x", "input", x).add("labels", "label", labels.int())
    for k, v in params.items():
        case.add(k, "param", v)
    for n, _, _ in NETWORK_LAYERS:
        case.add(f"act_{n}", "activation", acts[n], f32_distance=distance[f"act_{n}"])
    case.add("loss", "output", loss)
    case.add("grad_x", "grad", xl.grad, f32_distance=distance["grad_x"])
    for k in names:
        case.add(f"grad_{k}", "grad", leaves[k].grad, f32_distance=distance[f"grad_{k}"])
    return case


# ---------------------------------------------------------------------------------------------

def all_cases():
    lrn_params = PAPER_LRN
    return [
        conv_case("a1_conv_k11_s4_p2", "conv1 geometry: 2x3x67x67, 8 filters 11x11, stride 4, pad 2", 2, 3, (67, 67), 8, 11, 4, 2, 1),
        conv_case("a2_conv_grouped_k5_p2", "groups 2: 2x8x11x11, 12 filters 5x5, pad 2", 2, 8, (11, 11), 12, 5, 1, 2, 2),
        conv_case("a3_conv_k3_p1", "2x6x13x13, 10 filters 3x3, pad 1", 2, 6, (13, 13), 10, 3, 1, 1, 1),
        conv_case("a4_conv_rect_floor", "non-square input, floor division: 1x3x25x30, 4 filters 11x11, stride 4, pad 2", 1, 3, (25, 30), 4, 11, 4, 2, 1),
        conv_case("a5_conv_grouped_k3_p1", "groups 2: 2x12x6x7, 10 filters 3x3, pad 1", 2, 12, (6, 7), 10, 3, 1, 1, 2),
        conv_case("a6_conv_grey_k11_s4_p2", "one grey channel, stride 4 (the quick preset's conv1, which bfloat16 packs to 16 channels by space to depth): 2x1x64x64, 8 filters 11x11, stride 4, pad 2", 2, 1, (64, 64), 8, 11, 4, 2, 1),
        conv_case("a7_conv_k5_s2_rect", "4 channels, stride 2 (16 channels by space to depth), non-square: 2x4x17x22, 6 filters 5x5, stride 2, pad 1", 2, 4, (17, 22), 6, 5, 2, 1, 1),
        conv_case("a8_conv_grouped_3x3_map", "groups 2 on a 3x3 map (the quick preset's conv4, whose bfloat16 weight gradient is one GEMM): 4x16x3x3, 12 filters 3x3, pad 1, groups 2", 4, 16, (3, 3), 12, 3, 1, 1, 2),
        conv_case("a9_conv_4x4_map", "a 4x4 map, 16 output pixels, 6 channels: 3x6x4x4, 8 filters 3x3, pad 1", 3, 6, (4, 4), 8, 3, 1, 1, 1),
        conv_case("p1_conv1_paper", "the paper's conv1: 1x3x224x224, 96 filters 11x11, stride 4, pad 2 -> 55x55", 1, 3, (224, 224), 96, 11, 4, 2, 1, check_fd=False),
        conv_case("p2_conv2_paper", "the paper's conv2 on one device: 1x96x27x27, 256 filters 5x5, pad 2, groups 2", 1, 96, (27, 27), 256, 5, 1, 2, 2, check_fd=False),
        lrn_case("b1_lrn_paper", "the paper's LRN (k 2, n 5, alpha 1e-4, beta 0.75) on signed values, 2x7x5x6", (2, 7, 5, 6), lrn_params, 3.0),
        lrn_case("b2_lrn_paper_large", "the paper's LRN where normalisation matters: |N(0, 50^2)|, 2x16x4x4", (2, 16, 4, 4), lrn_params, 50.0, absolute=True),
        lrn_case("b3_lrn_n3_k1_a05_b05", "LRN n 3, k 1, alpha 0.5, beta 0.5, 2x6x3x5", (2, 6, 3, 5), {"k": 1.0, "n": 3, "alpha": 0.5, "beta": 0.5}, 1.0),
        lrn_case("b4_lrn_paper_fewchannels", "the paper's LRN with 3 channels < n (both edges clipped), values ~50", (2, 3, 4, 4), lrn_params, 50.0),
        lrn_case("p3_lrn2_paper", "the paper's LRN at lrn2's shape: 1x256x27x27, values ~30", (1, 256, 27, 27), lrn_params, 30.0, absolute=True, check_fd=False),
        pool_case("c1_maxpool_13", "max pool 3/2: 2x4x13x13 -> 6x6", (2, 4, 13, 13)),
        pool_case("c2_maxpool_27", "max pool 3/2: 2x3x27x27 -> 13x13", (2, 3, 27, 27)),
        pool_case("c3_maxpool_55", "max pool 3/2: 2x3x55x55 -> 27x27", (2, 3, 55, 55)),
        pool_case("c4_maxpool_rect_even", "max pool 3/2: 1x2x16x13 -> 7x6 (the last row is in no window)", (1, 2, 16, 13)),
        pool_case("p4_pool1_paper", "the paper's pool1: 1x96x55x55 -> 27x27", (1, 96, 55, 55), check_fd=False),
        linear_case("d1_linear"),
        cross_entropy_case("e1_softmax_ce", "softmax cross-entropy, N 5, 10 classes, logits N(0, 2^2)", 2.0),
        cross_entropy_case("e2_softmax_ce_large_logits", "softmax cross-entropy with logits N(0, 60^2): a naive float32 exp overflows", 60.0),
        network_case("f1_alexnet_small_67", 67),
        network_case("f2_alexnet_small_99", 99),
        sgd_rule_case("g1_sgd_rule"),
        sgd_training_case("g2_sgd_linear_softmax"),
        *pca_cases(),
    ]


def main():
    cases = all_cases()
    total = write(cases)
    print(f"wrote {len(cases)} cases, {total / 1e6:.1f} MB, to {os.path.relpath(OUT_DIR)}")


if __name__ == "__main__":
    sys.exit(main())
