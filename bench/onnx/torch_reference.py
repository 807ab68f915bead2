#!/usr/bin/python3
"""PyTorch reference for ONNX import (bench/onnx/README.md). Never run in CI.

Builds three PyTorch models (LeNet-5 with a final softmax, a small ResNet with batch norm,
a MobileNet-style depthwise-separable block with a GELU head), seeded; exports each with
torch.onnx.export to packages/engine/test/fixtures/onnx/NAME.onnx; and computes, in float64
from the same float32 weights and the same Fashion-MNIST images (pixels / 255, as the engine
loads them), the mean cross-entropy loss, a Hessian-vector product, the top Hessian eigenvalue
(Lanczos with full reorthogonalization) and the Hessian trace, for the full network and every
parameter block (layer): exact (sum of the diagonal, one HVP per parameter) up to --exact-max
parameters, else Hutchinson with integer-hashed Rademacher probes that the engine test replays. Writes NAME.json
beside the .onnx file.

    /usr/bin/python3 bench/onnx/torch_reference.py [--models lenet,resnet,mobile] [--n 32] [--exact-max 1000] [--exact-layer-max 0] [--probes 100] [--out DIR]
"""
import argparse
import gzip
import json
import math
import os
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = '/usr/share/datasets/fashion-mnist'


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)  # torch.onnx emits Shape/Gather/Unsqueeze/Concat/Reshape
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNetMini(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.layer1 = Block(8, 8, 1)
        self.layer2 = Block(8, 16, 2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.stem(x))), 3, 2, 1)  # explicit pads 1: 28 -> 14
        x = self.layer2(self.layer1(x))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


class MobileBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, 2, 1)
        self.bn0 = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, 1, 1, groups=8, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.pw = nn.Conv2d(8, 16, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.head = nn.Linear(16, 16)
        self.out = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn0(self.stem(x)))
        x = F.relu(self.bn1(self.dw(x)))
        x = F.leaky_relu(self.bn2(self.pw(x)), 0.1)
        x = F.avg_pool2d(x, 2)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.out(F.gelu(self.head(x)))  # exported as the Div/Erf/Add/Mul/Mul pattern


class WithSoftmax(nn.Module):
    """What a user exports for deployment: probabilities. The engine strips the softmax."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return F.softmax(self.inner(x), dim=1)


def make(name, seed):
    torch.manual_seed(seed)
    model = {'lenet': LeNet5, 'resnet': ResNetMini, 'mobile': MobileBlock}[name]()
    g = torch.Generator().manual_seed(seed + 1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):  # non-trivial inference statistics and affine
            m.running_mean.copy_(0.2 * torch.randn(m.num_features, generator=g))
            m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
            m.weight.data.copy_(1 + 0.2 * torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(m.num_features, generator=g))
    return model.eval()


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def direction(n):
    """The HVP direction, in PyTorch's parameter order; the engine test builds the same."""
    return torch.tensor([math.sin(0.37 * i + 0.1) for i in range(n)], dtype=torch.float64)


class Hess:
    def __init__(self, model, x, y):
        self.model, self.x, self.y = model, x, y
        self.names = [n for n, _ in model.named_parameters()]
        self.params = [p for _, p in model.named_parameters()]
        self.sizes = [p.numel() for p in self.params]
        self.offsets = [sum(self.sizes[:i]) for i in range(len(self.sizes))]
        self.dim = sum(self.sizes)
        self.count = 0
        loss = F.cross_entropy(model(x), y)
        self.loss = loss.item()
        self.grads = torch.autograd.grad(loss, self.params, create_graph=True)

    def hvp(self, v):
        self.count += 1
        parts = [v[o:o + s].view_as(p) for o, s, p in zip(self.offsets, self.sizes, self.params)]
        dot = sum((g * u).sum() for g, u in zip(self.grads, parts))
        hv = torch.autograd.grad(dot, self.params, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv])

    def block(self, idx):
        """The operator of the diagonal block over parameter tensors idx."""
        sel = torch.cat([torch.arange(self.offsets[i], self.offsets[i] + self.sizes[i]) for i in idx])

        def op(u):
            v = torch.zeros(self.dim, dtype=torch.float64)
            v[sel] = u
            return self.hvp(v)[sel]

        return op, len(sel), sel


def lanczos_top(op, n, steps, seed):
    steps = min(steps, n)
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, generator=g, dtype=torch.float64)
    q /= q.norm()
    Q, alpha, beta = [q], [], []
    for k in range(steps):
        w = op(Q[-1])
        a = torch.dot(w, Q[-1])
        alpha.append(a.item())
        for _ in range(2):  # full reorthogonalization, twice
            for qq in Q:
                w -= torch.dot(w, qq) * qq
        b = w.norm().item()
        if k == steps - 1 or b < 1e-12:
            break
        beta.append(b)
        Q.append(w / b)
    m = len(alpha)
    T = torch.zeros(m, m, dtype=torch.float64)
    for i in range(m):
        T[i, i] = alpha[i]
        if i + 1 < m:
            T[i, i + 1] = T[i + 1, i] = beta[i]
    evals, evecs = torch.linalg.eigh(T)
    s = evecs[:, -1]
    ritz = sum(s[i] * Q[i] for i in range(m))
    residual = (op(ritz) - evals[-1] * ritz).norm().item()
    return evals[-1].item(), residual, m


def probe(k, n):
    """Rademacher probe k: an integer hash of (i, k), so the engine test draws the same signs."""
    out = torch.empty(n, dtype=torch.float64)
    for i in range(n):
        x = (i * 0x9E3779B1 + (k + 1) * 0x85EBCA77) & 0xFFFFFFFF
        x ^= x >> 15
        x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
        x ^= x >> 12
        out[i] = 1.0 if x & 1 else -1.0
    return out


def exact_diag(h, sel=None):
    idx = range(h.dim) if sel is None else sel.tolist()
    d = torch.zeros(h.dim, dtype=torch.float64)
    e = torch.zeros(h.dim, dtype=torch.float64)
    for i in idx:
        e[i] = 1
        d[i] = h.hvp(e)[i]
        e[i] = 0
    return d


def run(name, n, out, steps, exact_max, probes, exact_layer_max):
    prefix = 'inner.' if name == 'lenet' else ''  # the exported module wraps the model
    t0 = time.time()
    model = make(name, {'lenet': 1, 'resnet': 2, 'mobile': 3}[name])
    export = WithSoftmax(model) if name == 'lenet' else model
    path = os.path.join(out, f'{name}.onnx')
    dummy = torch.zeros(2, 1, 28, 28)
    # PRESERVE keeps BatchNormalization as its own node (EVAL would fold it into the conv,
    # which changes the parameters the Hessian is taken over).
    torch.onnx.export(export, dummy, path, input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}},
                      training=torch.onnx.TrainingMode.PRESERVE, opset_version=13)
    images = read_idx(os.path.join(DATA, 't10k-images-idx3-ubyte.gz'))[:n]
    labels = read_idx(os.path.join(DATA, 't10k-labels-idx1-ubyte.gz'))[:n].long()
    x = (images.float() / 255).reshape(n, 1, 28, 28).double()
    m64 = model.double()
    h = Hess(m64, x, labels)
    v = direction(h.dim)
    hv = h.hvp(v)
    k = max(1, h.dim // 400)
    sample = list(range(0, h.dim, k))
    full_top, full_res, full_steps = lanczos_top(h.hvp, h.dim, steps, 7)
    groups = {}  # layers: parameter tensors grouped by module (conv1.weight + conv1.bias)
    for i, pname in enumerate(h.names):
        groups.setdefault(pname.rsplit('.', 1)[0], []).append(i)
    blocks = {mod: h.block(idx) for mod, idx in groups.items()}
    exact = h.dim <= exact_max
    if exact:
        diag = exact_diag(h)
        traces = {mod: diag[sel].sum().item() for mod, (_, _, sel) in blocks.items()}
        full_trace = {'trace': diag.sum().item(), 'method': 'exact (sum of the diagonal, one HVP per parameter)'}
    else:
        # Hutchinson with hashed Rademacher probes (the engine test replays the first ones);
        # every layer's trace from the same products (v_l . (H v)_l).
        samples, per_layer, first = [], {mod: [] for mod in blocks}, []
        for k in range(probes):
            z = probe(k, h.dim)
            hz = h.hvp(z)
            samples.append(torch.dot(z, hz).item())
            for mod, (_, _, sel) in blocks.items():
                per_layer[mod].append(torch.dot(z[sel], hz[sel]).item())
            if k < 4:
                first.append(samples[-1])
        se = lambda xs: (torch.tensor(xs).std().item() / math.sqrt(len(xs)))
        traces = {mod: (sum(xs) / len(xs), se(xs)) for mod, xs in per_layer.items()}
        # small layers: the exact trace of the block (one HVP per parameter), far tighter than
        # the per-layer share of full-network probes
        for mod, (_, size, sel) in blocks.items():
            if size <= exact_layer_max:
                traces[mod] = exact_diag(h, sel)[sel].sum().item()
        full_trace = {'trace': sum(samples) / len(samples), 'traceSE': se(samples), 'probes': probes, 'firstProbes': first,
                      'method': 'Hutchinson, float64, hashed Rademacher probes (see probe())'}
    layers = []
    for mod, idx in groups.items():
        op, size, sel = blocks[mod]
        top, res, st = lanczos_top(op, size, steps, 11)
        entry = {'module': mod, 'params': [prefix + h.names[i] for i in idx], 'size': size, 'top': top, 'residual': res, 'steps': st}
        if isinstance(traces[mod], float):
            entry['trace'] = traces[mod]
        else:
            entry['trace'], entry['traceSE'] = traces[mod]
        layers.append(entry)
    result = {
        'model': name, 'onnx': f'{name}.onnx', 'torch': torch.__version__, 'opset': 13,
        'data': f'fashion-mnist:test[0:{n}]', 'n': n, 'dtype': 'float64',
        'direction': 'v[i] = sin(0.37 i + 0.1) over the parameters in PyTorch order (state_dict layouts)',
        'params': [{'name': prefix + nm, 'shape': list(p.shape), 'size': p.numel()} for nm, p in zip(h.names, h.params)],
        'dim': h.dim, 'loss': h.loss,
        'hvp': {'norm': hv.norm().item(), 'vHv': torch.dot(v, hv).item(), 'indices': sample, 'values': [hv[i].item() for i in sample]},
        'full': {'top': full_top, 'residual': full_res, 'steps': full_steps, **full_trace},
        'layers': layers, 'hvps': h.count, 'seconds': round(time.time() - t0, 1),
    }
    with open(os.path.join(out, f'{name}.json'), 'w') as f:
        json.dump(result, f, indent=1)
    print(f'{name}: dim {h.dim} loss {h.loss:.6f} top {full_top:.6g} (res {full_res:.2e}) trace {full_trace["trace"]:.6g} ({h.count} HVPs, {result["seconds"]} s)', flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--models', default='lenet,resnet,mobile')
    ap.add_argument('--n', type=int, default=32)
    ap.add_argument('--exact-max', type=int, default=1000, help='exact traces up to this many parameters, else Hutchinson')
    ap.add_argument('--probes', type=int, default=100)
    ap.add_argument('--exact-layer-max', type=int, default=0, help='exact traces of layers up to this many parameters when the network is estimated')
    ap.add_argument('--steps', type=int, default=80)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--out', default=os.path.join(ROOT, 'packages/engine/test/fixtures/onnx'))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    for name in a.models.split(','):
        run(name, a.n, a.out, a.steps, a.exact_max, a.probes, a.exact_layer_max)


if __name__ == '__main__':
    main()
