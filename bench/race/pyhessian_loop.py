#!/usr/bin/python3
"""The PyHessian side of the race (bench/race/run.mjs): PyHessian's documented algorithms,
written here on the model and batch the race exported, one scope at a time.

    /usr/bin/python3 bench/race/pyhessian_loop.py --dir DIR [--threads 1] [--target 0.02]

DIR holds model.json, weights.bin, x.bin, labels.bin, meta.json (as bench/backends exports
them; the model is rebuilt by bench/reference/torch_hvp.py's TorchModel). For the full network
and for every layer (a layer block = gradients with respect to that layer's tensors only, the
others with requires_grad off, as PyHessian users do), it runs:
  - top-1 eigenvalue: PyHessian's power iteration (maxIter 100, tol 1e-3 on the relative change);
  - trace: Hutchinson with Rademacher probes until the relative standard error of the mean is
    at most --target (at least 10 probes, at most --max-probes);
  - ESD: one SLQ run of 100 Lanczos steps with full reorthogonalization (PyHessian's density).
Each HVP is PyHessian's: grad(loss, params, create_graph=True), then grad(g . v, params).
Prints one line 'RESULT {json}': per scope the wall time of each quantity, the HVPs, the
estimates; plus the last layer's block HVP and the full network's HVP, in ms.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'reference'))
from torch_hvp import TorchModel  # noqa: E402


def dot(a, b):
    return sum((x * y).sum() for x, y in zip(a, b))


def normalize(v):
    n = math.sqrt(float(dot(v, v)))
    return [x / (n + 1e-6) for x in v]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', required=True)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--target', type=float, default=0.02)
    ap.add_argument('--max-probes', type=int, default=1000)
    ap.add_argument('--slq-steps', type=int, default=100)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(a.seed)
    d = a.dir
    meta = json.load(open(os.path.join(d, 'meta.json')))
    model = TorchModel(d, meta)
    xs = meta['x']['shape']
    x = torch.from_numpy(np.fromfile(os.path.join(d, 'x.bin'), dtype='<f4').reshape(xs))
    if x.dim() == 4:
        x = x.permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(np.fromfile(os.path.join(d, 'labels.bin'), dtype='<i4').astype(np.int64))

    layers = []
    for (layer, _role, _shape), t in zip(model.order, model.trainable):
        if layer not in layers:
            layers.append(layer)
    scopes = [('full', list(model.trainable))] + [
        (l, [t for (layer, _r, _s), t in zip(model.order, model.trainable) if layer == l]) for l in layers]

    def make_hvp(params):
        others = [t for t in model.trainable if all(t is not p for p in params)]
        count = [0]

        def hvp(v):
            for t in others:
                t.requires_grad_(False)
            try:
                loss = F.cross_entropy(model.forward(x), y)
                g = torch.autograd.grad(loss, params, create_graph=True)
                r = torch.autograd.grad(dot(g, v), params)
            finally:
                for t in others:
                    t.requires_grad_(True)
            count[0] += 1
            return [t.detach() for t in r]
        return hvp, count

    def power(params, hvp):
        v = normalize([torch.randn_like(p) for p in params])
        eig = None
        for _ in range(100):
            hv = hvp(v)
            tmp = float(dot(hv, v))
            v = normalize(hv)
            if eig is not None and abs(eig - tmp) / (abs(eig) + 1e-6) < 1e-3:
                eig = tmp
                break
            eig = tmp
        return eig

    def hutchinson(params, hvp):
        s = []
        while True:
            v = [torch.randint_like(p, high=2) * 2 - 1 for p in params]
            s.append(float(dot(hvp(v), v)))
            if len(s) >= 10:
                m = float(np.mean(s))
                se = float(np.std(s, ddof=1)) / math.sqrt(len(s))
                if se <= a.target * abs(m) or len(s) >= a.max_probes:
                    return m, se, len(s)

    def slq(params, hvp):
        v = normalize([torch.randint_like(p, high=2) * 2 - 1 for p in params])
        basis = [v]
        alphas, betas = [], []
        w = None
        for i in range(a.slq_steps):
            if i == 0:
                w = hvp(v)
                al = float(dot(w, v))
                w = [wi - al * vi for wi, vi in zip(w, v)]
            else:
                b = math.sqrt(float(dot(w, w)))
                betas.append(b)
                if b < 1e-10:
                    break
                v = [wi / b for wi in w]
                for u in basis:  # full reorthogonalization, as PyHessian's density
                    c = float(dot(v, u))
                    v = [vi - c * ui for vi, ui in zip(v, u)]
                v = normalize(v)
                basis.append(v)
                w = hvp(v)
                al = float(dot(w, v))
                w = [wi - al * vi - b * ui for wi, vi, ui in zip(w, v, basis[-2])]
            alphas.append(al)
        t = np.diag(alphas) + np.diag(betas[:len(alphas) - 1], 1) + np.diag(betas[:len(alphas) - 1], -1)
        ev, evec = np.linalg.eigh(t)
        return ev.tolist(), (evec[0, :] ** 2).tolist()

    out = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'target': a.target, 'scopes': []}
    t_all = time.perf_counter()
    for name, params in scopes:
        hvp, count = make_hvp(params)
        row = {'name': name, 'params': int(sum(p.numel() for p in params))}
        t0 = time.perf_counter()
        row['top1'] = power(params, hvp)
        t1 = time.perf_counter()
        row['topHvps'] = count[0]
        row['trace'], row['traceStderr'], row['traceProbes'] = hutchinson(params, hvp)
        t2 = time.perf_counter()
        row['traceHvps'] = count[0] - row['topHvps']
        nodes, weights = slq(params, hvp)
        t3 = time.perf_counter()
        row['slqHvps'] = count[0] - row['topHvps'] - row['traceHvps']
        row['slqNodesMinMax'] = [min(nodes), max(nodes)]
        row['seconds'] = {'top1': t1 - t0, 'trace': t2 - t1, 'density': t3 - t2, 'total': t3 - t0}
        row['hvps'] = count[0]
        out['scopes'].append(row)
        print(f"torch {name}: {row['seconds']['total']:.2f} s, {row['hvps']} HVPs, top1 {row['top1']:.6g}, "
              f"trace {row['trace']:.6g} +- {row['traceStderr']:.2g} ({row['traceProbes']} probes)", file=sys.stderr, flush=True)
    out['seconds'] = time.perf_counter() - t_all
    # one HVP of the last layer's block and of the full network (median of 10)
    for key, params in (('lastBlockHvpMs', scopes[-1][1]), ('fullHvpMs', scopes[0][1])):
        hvp, _ = make_hvp(params)
        v = [torch.randn_like(p) for p in params]
        hvp(v)
        ts = []
        for _ in range(10):
            t0 = time.perf_counter()
            hvp(v)
            ts.append((time.perf_counter() - t0) * 1000)
        out[key] = float(np.median(ts))
    print('RESULT ' + json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
