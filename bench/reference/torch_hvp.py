#!/usr/bin/python3
"""PyTorch reference for the backend benchmark (bench/backends/run.mjs).

Reads a directory written by the benchmark: model.json + weights.bin (tfjs LayersModel, as
Model.save writes it), x.bin (float32, NHWC), labels.bin (int32), v.bin (float32, the engine's
flat parameter order), meta.json (shapes, the engine's parameter list) and the engine's results
grad-<backend>.bin / hvp-<backend>.bin. Builds the model's forward pass from torch functional
ops (NCHW inside, weights converted from tfjs layouts), the mean softmax cross-entropy of the
logits, and the Hessian-vector product by double backprop. Times forward, gradient and HVP
(each recomputing forward and gradient, as the engine does) on --threads threads and prints one
line 'RESULT {json}' with the timings and the relative differences between the engine's
results and torch's.

    /usr/bin/python3 bench/reference/torch_hvp.py --dir DIR [--threads 1] [--reps 20] [--budget-ms 8000] [--device cpu|cuda]

With --device cuda (bench/gpu) the tensors live on the GPU and every timed call ends with
torch.cuda.synchronize(), so a time is the whole product, not its launch.

The model is rebuilt by tfjs_torch.py. Supported layers: InputLayer, Dense, Conv2D (same/valid padding, strides, dilation),
MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dropout (identity),
BatchNormalization (inference mode), Activation, ReLU, Softmax, Add. A final softmax is
stripped (the engine works on logits).
"""
import argparse
import glob
import json
import os
import resource
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import tfjs_torch
from tfjs_torch import TorchModel  # noqa: F401 (bench/race/pyhessian_loop.py imports it from here)
# where tensors live: 'cpu' (bench/backends) or 'cuda' (bench/gpu); set by main(), also in tfjs_torch
DEVICE = 'cpu'




# ------------------------------------------------------------------------------------------
# timing
# ------------------------------------------------------------------------------------------

def time_it(fn, reps, budget_ms, min_reps):
    t0 = time.perf_counter()
    fn()
    warm = (time.perf_counter() - t0) * 1e3
    if warm < 200:
        fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < reps and (len(samples) < min_reps or (time.perf_counter() - start) * 1e3 + statistics.median([warm] + samples) < budget_ms):
        s = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - s) * 1e3)
    return {'ms': statistics.median(samples), 'reps': len(samples), 'min': min(samples)}


def rel(ours, ref):
    return float(np.linalg.norm(ours - ref) / max(np.linalg.norm(ref), 1e-300))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dir', required=True)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--reps', type=int, default=20)
    ap.add_argument('--budget-ms', type=float, default=8000)
    ap.add_argument('--min-reps', type=int, default=3)
    ap.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    ap.add_argument('--tf32', default='default', choices=['default', 'off'],
                    help='off: no TF32 in cuDNN convolutions or cuBLAS (float32 accuracy; slower)')
    a = ap.parse_args()
    global DEVICE
    DEVICE = a.device
    tfjs_torch.DEVICE = DEVICE
    if a.tf32 == 'off':
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    sync = torch.cuda.synchronize if DEVICE == 'cuda' else (lambda: None)
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.set_grad_enabled(True)
    d = a.dir
    meta = json.load(open(os.path.join(d, 'meta.json')))
    model = TorchModel(d, meta)

    xs = meta['x']['shape']
    x = torch.from_numpy(np.fromfile(os.path.join(d, meta['x']['file']), dtype='<f4').reshape(xs))
    if x.dim() == 4:
        x = x.permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    x = x.to(DEVICE)
    y = torch.from_numpy(np.fromfile(os.path.join(d, meta['labels']['file']), dtype='<i4').astype(np.int64)).to(DEVICE)
    v_flat = np.fromfile(os.path.join(d, meta['v']['file']), dtype='<f4')
    v = model.to_torch_layout(v_flat)
    params = model.trainable

    def loss_fn():
        return F.cross_entropy(model.forward(x), y)  # mean over the batch

    def forward():
        with torch.no_grad():
            r = model.forward(x)
        sync()
        return r

    def gradient():
        r = torch.autograd.grad(loss_fn(), params)
        sync()
        return r

    def hvp():
        g = torch.autograd.grad(loss_fn(), params, create_graph=True)
        dot = sum((gi * vi).sum() for gi, vi in zip(g, v))
        r = torch.autograd.grad(dot, params)
        sync()
        return r

    # results (float32, as the engine)
    loss = float(loss_fn().detach())
    grad = model.to_flat(gradient())
    hv = model.to_flat(hvp())
    # each backend's gradient and HVP against torch's
    compare = {}
    for f in sorted(glob.glob(os.path.join(d, 'hvp-*.bin'))):
        be = os.path.basename(f)[4:-4]
        ours = np.fromfile(f, dtype='<f4').astype(np.float64)
        c = {'hvpRelDiff': rel(ours, hv)}
        gf = os.path.join(d, f'grad-{be}.bin')
        if os.path.exists(gf):
            c['gradRelDiff'] = rel(np.fromfile(gf, dtype='<f4').astype(np.float64), grad)
        compare[be] = c

    timing = dict(reps=a.reps, budget_ms=a.budget_ms, min_reps=a.min_reps)
    tf_ = time_it(forward, **timing)
    tg = time_it(gradient, **timing)
    th = time_it(hvp, **timing)

    # float64 run of the same computation (after timing, so it does not disturb the caches)
    exact = {}
    try:
        p64 = [p.detach().double().requires_grad_(True) for p in params]
        saved = {k: t for k, t in model.w.items()}
        for k in list(model.w):
            model.w[k] = model.w[k].detach().double()
        for (layer, role, _), p in zip(model.order, p64):
            model.w[(layer, role)] = p
        x64 = x.double()
        g = torch.autograd.grad(F.cross_entropy(model.forward(x64), y), p64, create_graph=True)
        dot = sum((gi * vi.double()).sum() for gi, vi in zip(g, v))
        hv64 = model.to_flat(torch.autograd.grad(dot, p64))
        exact['torchFloat32VsFloat64'] = rel(hv, hv64)
        for f in sorted(glob.glob(os.path.join(d, 'hvp-*.bin'))):
            be = os.path.basename(f)[4:-4]
            compare[be]['hvpRelDiffVsFloat64'] = rel(np.fromfile(f, dtype='<f4').astype(np.float64), hv64)
        model.w = saved
    except Exception as e:  # noqa: BLE001 - diagnostics only
        exact['error'] = str(e)

    out = {
        'torch': torch.__version__,
        'device': DEVICE if DEVICE == 'cpu' else torch.cuda.get_device_name(0),
        'tf32': {'cudnn': torch.backends.cudnn.allow_tf32, 'matmul': torch.backends.cuda.matmul.allow_tf32} if DEVICE == 'cuda' else None,
        'threads': torch.get_num_threads(),
        'forwardMs': tf_['ms'],
        'gradientMs': tg['ms'],
        'hvpMs': th['ms'],
        'hvpMinMs': th['min'],
        'reps': {'forward': tf_['reps'], 'gradient': tg['reps'], 'hvp': th['reps']},
        'peakRssMiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'loss': loss,
        'hvpNorm': float(np.linalg.norm(hv)),
        'compare': compare,
        'float64': exact,
        'notes': sorted(set(model.notes)),
    }
    print('RESULT ' + json.dumps(out))


if __name__ == '__main__':
    main()
