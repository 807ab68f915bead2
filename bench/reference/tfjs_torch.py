"""A tfjs LayersModel (model.json + weights.bin, as Model.save writes it) rebuilt from torch
functional ops: the topology read into layers, weights converted from tfjs layouts (NHWC
kernels to NCHW), and TorchModel's forward pass on logits (a final softmax stripped). Used by
torch_hvp.py (the benchmark's PyTorch reference) and bench/race/pyhessian_loop.py.
"""
import json
import math
import os
import re

import numpy as np
import torch
import torch.nn.functional as F

# where tensors live: 'cpu' (bench/backends) or 'cuda' (bench/gpu); torch_hvp.main() sets it
DEVICE = 'cpu'


# ------------------------------------------------------------------------------------------
# topology
# ------------------------------------------------------------------------------------------

def layers_of(topology):
    """(layers as [{name, class_name, config, inbound: [names]}], output layer name)."""
    top = topology.get('model_config', topology)
    cls = top['class_name']
    cfg = top['config']
    if cls == 'Sequential':
        raw = cfg['layers'] if isinstance(cfg, dict) else cfg
        out, prev = [], None
        for l in raw:
            name = l['config']['name']
            if l['class_name'] == 'InputLayer':
                prev = name
                continue
            out.append({'name': name, 'class_name': l['class_name'], 'config': l['config'], 'inbound': [prev] if prev else ['__input__']})
            prev = name
        return out, prev
    if cls in ('Model', 'Functional'):
        out = []
        for l in cfg['layers']:
            inbound = []

            def visit(v):
                if isinstance(v, list):
                    if len(v) >= 3 and isinstance(v[0], str) and isinstance(v[1], int) and isinstance(v[2], int):
                        inbound.append(v[0])
                        return
                    for e in v:
                        visit(e)
                elif isinstance(v, dict):
                    if 'args' in v:
                        visit(v['args'])
                    elif 'config' in v and isinstance(v['config'], dict) and 'keras_history' in v['config']:
                        inbound.append(v['config']['keras_history'][0])
            visit(l.get('inbound_nodes', []))
            out.append({'name': l['config'].get('name', l.get('name')), 'class_name': l['class_name'], 'config': l['config'], 'inbound': inbound})
        outs = cfg['output_layers']
        output = outs[0][0] if isinstance(outs[0], list) else outs[0]
        return out, output
    raise SystemExit(f'unsupported model class {cls}')


def pair(v, default=None):
    if v is None:
        return default
    if isinstance(v, (int, float)):
        return (int(v), int(v))
    return (int(v[0]), int(v[1]))


def act_name(cfg, key='activation'):
    a = cfg.get(key)
    if a is None:
        return 'linear'
    if isinstance(a, str):
        return a
    return a.get('config', {}).get('name') or a.get('class_name')


ACTS = {
    'linear': lambda x: x,
    'relu': F.relu,
    'relu6': lambda x: F.hardtanh(x, 0.0, 6.0),
    'sigmoid': torch.sigmoid,
    'tanh': torch.tanh,
    'elu': F.elu,
    'softplus': F.softplus,
    'softmax': lambda x: F.softmax(x, dim=1),
}


def tf_same_pads(size, k, s, d):
    """TensorFlow 'same' padding of one spatial dimension: (before, after); the extra one goes after."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def weight_key(name):
    """'conv1/kernel', 'model/conv1/kernel_1' -> ('conv1', 'kernel')."""
    parts = name.split('/')
    return parts[-2], re.sub(r'_\d+$', '', parts[-1])


# ------------------------------------------------------------------------------------------
# model
# ------------------------------------------------------------------------------------------

class TorchModel:
    """The network in torch layouts; trainable tensors are leaves with requires_grad."""

    def __init__(self, d, meta):
        mj = json.load(open(os.path.join(d, 'model.json')))
        self.layers, self.output = layers_of(mj['modelTopology'])
        # weights.bin in manifest order (tfjs layouts)
        specs = [w for group in mj['weightsManifest'] for w in group['weights']]
        paths = [p for group in mj['weightsManifest'] for p in group['paths']]
        buf = b''.join(open(os.path.join(d, p), 'rb').read() for p in paths)
        raw, off = {}, 0
        for s in specs:
            assert s.get('dtype', 'float32') == 'float32', s
            n = int(np.prod(s['shape'])) if s['shape'] else 1
            raw[weight_key(s['name'])] = np.frombuffer(buf, dtype='<f4', count=n, offset=off).reshape(s['shape']).copy()
            off += 4 * n
        assert off == len(buf), 'weights.bin size does not match the manifest'
        self.classes = {l['name']: l['class_name'] for l in self.layers}
        # convert to torch layouts
        self.w = {}
        for (layer, role), a in raw.items():
            cls = self.classes.get(layer)
            t = torch.from_numpy(a).to(DEVICE)
            if role == 'kernel' and cls in ('Conv2D', 'Convolution2D'):
                t = t.permute(3, 2, 0, 1).contiguous()  # [kh, kw, in, out] -> [out, in, kh, kw]
            elif role == 'kernel' and cls == 'Dense':
                t = t.t().contiguous()  # [in, out] -> [out, in] (F.linear)
            self.w[(layer, role)] = t
        # the engine's flat parameter order
        if meta and meta.get('params'):
            self.order = [(p['layer'], p['role'], p['shape']) for p in meta['params']]
        else:
            self.order = [(weight_key(s['name'])[0], weight_key(s['name'])[1], s['shape']) for s in specs
                          if weight_key(s['name'])[1] not in ('moving_mean', 'moving_variance')]
        self.trainable = []
        for layer, role, _ in self.order:
            t = self.w[(layer, role)]
            t.requires_grad_(True)
            self.trainable.append(t)
        self.notes = []

    def to_torch_layout(self, flat):
        """engine flat vector (tfjs layouts) -> list of tensors in torch layouts."""
        out, o = [], 0
        for (layer, role, shape), t in zip(self.order, self.trainable):
            n = int(np.prod(shape))
            a = torch.from_numpy(np.ascontiguousarray(flat[o:o + n])).reshape(shape).to(DEVICE)
            o += n
            if role == 'kernel' and self.classes[layer] in ('Conv2D', 'Convolution2D'):
                a = a.permute(3, 2, 0, 1)
            elif role == 'kernel' and self.classes[layer] == 'Dense':
                a = a.t()
            out.append(a.contiguous())
            assert out[-1].shape == t.shape, (layer, role, out[-1].shape, t.shape)
        assert o == len(flat), f'vector has {len(flat)} entries, parameters {o}'
        return out

    def to_flat(self, tensors):
        """list of torch-layout tensors -> engine flat vector (tfjs layouts, row-major)."""
        parts = []
        for (layer, role, shape), a in zip(self.order, tensors):
            a = a.detach()
            if role == 'kernel' and self.classes[layer] in ('Conv2D', 'Convolution2D'):
                a = a.permute(2, 3, 1, 0)  # [out, in, kh, kw] -> [kh, kw, in, out]
            elif role == 'kernel' and self.classes[layer] == 'Dense':
                a = a.t()
            assert list(a.shape) == list(shape), (layer, role, a.shape, shape)
            parts.append(a.contiguous().reshape(-1))
        return torch.cat(parts).cpu().numpy().astype(np.float64)

    def forward(self, x):
        """x: NCHW float32 (or [N, D]); returns logits [N, classes]."""
        vals = {'__input__': x}
        for l in self.layers:
            if l['class_name'] == 'InputLayer':
                vals[l['name']] = x
                continue
            ins = [vals[n] for n in l['inbound']]
            vals[l['name']] = self.apply(l, ins, l['name'] == self.output)
        y = vals[self.output]
        return y.reshape(y.shape[0], -1)

    def apply(self, l, ins, is_output):
        cls, cfg, name = l['class_name'], l['config'], l['name']
        w = lambda role: self.w.get((name, role))
        x = ins[0]

        def activation(y, key='activation'):
            a = act_name(cfg, key).lower()
            if a == 'softmax' and is_output:
                self.notes.append(f"final softmax of '{name}' stripped")
                return y
            return ACTS[a](y)

        if cls in ('Dropout', 'SpatialDropout2D', 'GaussianDropout', 'GaussianNoise', 'AlphaDropout'):
            return x
        if cls == 'Flatten':
            if x.dim() == 4:
                x = x.permute(0, 2, 3, 1)  # tfjs flattens NHWC
            return x.reshape(x.shape[0], -1)
        if cls == 'Dense':
            if x.dim() == 4:  # Dense on the channel axis of an image
                y = F.linear(x.permute(0, 2, 3, 1), w('kernel'), w('bias')).permute(0, 3, 1, 2)
            else:
                y = F.linear(x, w('kernel'), w('bias'))
            return activation(y)
        if cls in ('Conv2D', 'Convolution2D'):
            assert cfg.get('data_format', 'channels_last') in (None, 'channels_last')
            k = pair(cfg['kernel_size'])
            s = pair(cfg.get('strides'), (1, 1))
            dil = pair(cfg.get('dilation_rate'), (1, 1))
            assert cfg.get('groups', 1) in (1, None), 'grouped conv'
            pad = (0, 0)
            if cfg.get('padding', 'valid') == 'same':
                ph = tf_same_pads(x.shape[2], k[0], s[0], dil[0])
                pw = tf_same_pads(x.shape[3], k[1], s[1], dil[1])
                if ph[0] == ph[1] and pw[0] == pw[1]:
                    pad = (ph[0], pw[0])
                else:  # TF puts the odd pixel after: pad explicitly
                    x = F.pad(x, (pw[0], pw[1], ph[0], ph[1]))
            y = F.conv2d(x, w('kernel'), w('bias'), stride=s, padding=pad, dilation=dil)
            return activation(y)
        if cls in ('MaxPooling2D', 'MaxPool2D', 'AveragePooling2D', 'AvgPool2D', 'AveragePool2D'):
            k = pair(cfg.get('pool_size'), (2, 2))
            s = pair(cfg.get('strides'), k)
            is_max = cls.startswith('Max')
            if cfg.get('padding', 'valid') == 'same':
                ph = tf_same_pads(x.shape[2], k[0], s[0], 1)
                pw = tf_same_pads(x.shape[3], k[1], s[1], 1)
                p = (pw[0], pw[1], ph[0], ph[1])
                if is_max:
                    return F.max_pool2d(F.pad(x, p, value=float('-inf')), k, s)
                # Keras divides by the number of valid (unpadded) pixels
                num = F.avg_pool2d(F.pad(x, p), k, s)
                ones = torch.ones((1, 1, x.shape[2], x.shape[3]), dtype=x.dtype, device=x.device)
                den = F.avg_pool2d(F.pad(ones, p), k, s)
                return num / den
            return F.max_pool2d(x, k, s) if is_max else F.avg_pool2d(x, k, s)
        if cls in ('GlobalAveragePooling2D', 'GlobalAvgPool2D', 'GlobalAveragePool2D'):
            return x.mean(dim=(2, 3), keepdim=bool(cfg.get('keepdims', False)))
        if cls == 'BatchNormalization':
            axis = cfg.get('axis', -1)
            if isinstance(axis, list):
                axis = axis[0]
            assert axis in (-1, x.dim() - 1), f'BatchNormalization axis {axis}'
            eps = float(cfg.get('epsilon', 1e-3))
            shape = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
            inv = torch.rsqrt(w('moving_variance') + eps)
            gamma = w('gamma')
            mult = gamma * inv if gamma is not None else inv
            y = (x - w('moving_mean').reshape(shape)) * mult.reshape(shape)
            if w('beta') is not None:
                y = y + w('beta').reshape(shape)
            return y
        if cls == 'Activation':
            return activation(x)
        if cls == 'Softmax':
            return x if is_output else F.softmax(x, dim=1)
        if cls == 'ReLU':
            slope = cfg.get('negative_slope') or 0.0
            y = F.leaky_relu(x, slope) if slope else F.relu(x)
            if cfg.get('max_value') is not None:
                y = torch.clamp(y, max=float(cfg['max_value']))
            return y
        if cls == 'Add':
            y = ins[0]
            for t in ins[1:]:
                y = y + t
            return y
        raise SystemExit(f'layer {name}: unsupported class {cls}')
