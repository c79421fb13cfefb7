#!/usr/bin/python3
"""Builds a network file (format googlenet-network/1, docs/network-files.md) as a PyTorch nn.Module with the
state-dict names and shapes our TypeScript network has, so weights move both ways. Needs only torch
(Debian's python3-torch: run it with /usr/bin/python3).

  torch_network.py FILE [FILE...] --classes N [--fix-bn-eps]
      prints one JSON line per file: {"file", "name", "params", "state_dict": [[name, shape], ...]}
  ... --out DIR [--seed S] [--random-bn] [--batch B]
      also writes DIR/K.pt (torch.save of the K-th file's state dict, K from 0) and DIR/results.json: the
      input (B seeded images, [B, 3, 32, 32]) and each network's eval-mode logits for it. --random-bn draws
      every BatchNorm's weight, bias and running statistics, so eval mode is no identity.

As a module:  from torch_network import load_network, build_network
              model = build_network(load_network('my.json'), classes=10)

The file is checked only as far as building needs; `googlenet` (src/models/network.ts) is the validator.
The module is the seed's (pytorch-cifar100's GoogleNet): the stem is one flat nn.Sequential `prelayer` of
Conv2d(3x3, padding 1) + BatchNorm2d + ReLU units; each setting of the body is an Inception module named after
it (a repeat: a5_2, a5_3, ...); a pool or dropout is a module of its own per distinct parameters (maxpool,
maxpool_2, ...; dropout_2, ... as the head's is `dropout`), reused where it repeats; then avgpool, dropout,
linear. The BatchNorm after the first 3x3 conv of the "5x5" branch has eps = n5x5 as the seed's
nn.BatchNorm2d(n5x5, n5x5) (--fix-bn-eps: 1e-5).
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn

FORMAT = 'googlenet-network/1'
SETTINGS = {
    'a3': (64, 96, 128, 16, 32, 32), 'b3': (128, 128, 192, 32, 96, 64), 'a4': (192, 96, 208, 16, 48, 64),
    'b4': (160, 112, 224, 24, 64, 64), 'c4': (128, 128, 256, 24, 64, 64), 'd4': (112, 144, 288, 32, 64, 64),
    'e4': (256, 160, 320, 32, 128, 128), 'a5': (256, 160, 320, 32, 128, 128), 'b5': (384, 192, 384, 48, 128, 128),
}
KEYS = {'$schema', 'format', 'name', 'description', 'origin', 'module', 'stem', 'layers', 'settings', 'width', 'dropout'}
SEED_POOL = {'kernel': 3, 'stride': 2, 'padding': 1}


def load_network(path):
    """The network file at `path`, as a dict with every default filled and pools as {'maxpool': {...}}."""
    with open(path, encoding='utf-8-sig') as f:
        net = json.load(f)
    if not isinstance(net, dict) or net.get('format') != FORMAT:
        raise ValueError(f'{path}: format: not a {FORMAT} file')
    unknown = set(net) - KEYS
    if unknown:
        raise ValueError(f'{path}: {sorted(unknown)[0]}: unknown key')
    settings = dict(SETTINGS, **net.get('settings', {}))
    layers = []
    for i, layer in enumerate(net['layers']):
        if layer == 'maxpool':
            layer = {'maxpool': dict(SEED_POOL)}
        elif isinstance(layer, dict) and 'maxpool' in layer:
            p = layer['maxpool']
            layer = {'maxpool': {'kernel': p['kernel'], 'stride': p.get('stride', p['kernel']), 'padding': p.get('padding', 0)}}
        elif isinstance(layer, str) and layer not in settings:
            raise ValueError(f"{path}: layers[{i}]: unknown Inception setting '{layer}'")
        layers.append(layer)
    return {
        'name': net.get('name', os.path.splitext(os.path.basename(path))[0]),
        'module': net.get('module', 'bottleneck'), 'stem': list(net.get('stem', [192])), 'layers': layers,
        'settings': {k: tuple(v) for k, v in settings.items()}, 'width': net.get('width', 1), 'dropout': net.get('dropout', 0.4),
    }


def scale(c, width):
    """A channel count at `width`: as written at 1, else max(8, 8*floor(c*width/8 + 1/2))."""
    return c if width == 1 else max(8, 8 * math.floor(c * width / 8 + 0.5))


def unit(i, o, k, eps=1e-5):
    return [nn.Conv2d(i, o, kernel_size=k, padding=(k - 1) // 2), nn.BatchNorm2d(o, eps), nn.ReLU(inplace=True)]


class Inception(nn.Module):
    """The seed's Inception module (two stacked 3x3 convs for the 5x5), BatchNorm eps quirk included."""

    def __init__(self, in_channels, n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj, fix_bn_eps=False):
        super().__init__()
        self.b1 = nn.Sequential(*unit(in_channels, n1x1, 1))
        self.b2 = nn.Sequential(*unit(in_channels, n3x3_reduce, 1), *unit(n3x3_reduce, n3x3, 3))
        self.b3 = nn.Sequential(*unit(in_channels, n5x5_reduce, 1), *unit(n5x5_reduce, n5x5, 3, 1e-5 if fix_bn_eps else n5x5),
                                *unit(n5x5, n5x5, 3))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), *unit(in_channels, pool_proj, 1))
        self.out_channels = n1x1 + n3x3 + n5x5 + pool_proj

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


class NaiveInception(nn.Module):
    """No 1x1 bottlenecks and no pool projection: n1x1, n3x3 and n5x5 (one 3x3 conv) beside the pooled input."""

    def __init__(self, in_channels, n1x1, _r3, n3x3, _r5, n5x5, _pp, fix_bn_eps=False):
        super().__init__()
        self.b1 = nn.Sequential(*unit(in_channels, n1x1, 1))
        self.b2 = nn.Sequential(*unit(in_channels, n3x3, 3))
        self.b3 = nn.Sequential(*unit(in_channels, n5x5, 3, 1e-5 if fix_bn_eps else n5x5))
        self.b4 = nn.MaxPool2d(3, stride=1, padding=1)
        self.out_channels = n1x1 + n3x3 + n5x5 + in_channels

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


class Network(nn.Module):
    """A network of the family from load_network's dict, registered in the order our network registers its modules."""

    def __init__(self, net, num_class, fix_bn_eps=False):
        super().__init__()
        width = net['width']
        stem = [scale(c, width) for c in net['stem']]
        self.prelayer = nn.Sequential(*[m for i, o in enumerate(stem) for m in unit(stem[i - 1] if i else 3, o, 3)])
        channels = stem[-1] if stem else 3
        used, shared, self.body = {}, {}, []

        def unique(base, first):
            n = used.get(base, first - 1) + 1
            used[base] = n
            return base if n == 1 else f'{base}_{n}'

        def parameter_free(key, make, base, first):
            if key not in shared:
                shared[key] = make()
                self.add_module(unique(base, first), shared[key])
            return shared[key]

        for layer in net['layers']:
            if isinstance(layer, str):
                s = [scale(c, width) for c in net['settings'][layer]]
                kind = NaiveInception if net['module'] == 'naive' else Inception
                m = kind(channels, *s, fix_bn_eps=fix_bn_eps)
                self.add_module(unique(layer, 1), m)
                channels = m.out_channels
            elif 'maxpool' in layer:
                p = layer['maxpool']
                m = parameter_free(('maxpool', p['kernel'], p['stride'], p['padding']),
                                   lambda: nn.MaxPool2d(p['kernel'], stride=p['stride'], padding=p['padding']), 'maxpool', 1)
            else:
                m = parameter_free(('dropout', layer['dropout']), lambda: nn.Dropout2d(layer['dropout']), 'dropout', 2)
            self.body.append(m)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout2d(p=net['dropout'])
        self.linear = nn.Linear(channels, num_class)

    def forward(self, x):
        h = self.prelayer(x)
        for m in self.body:
            h = m(h)
        return self.linear(torch.flatten(self.dropout(self.avgpool(h)), 1))


def build_network(net, classes, fix_bn_eps=False):
    return Network(net, classes, fix_bn_eps)


def randomize_batchnorm(model, generator):
    """Draws every BatchNorm's weight, bias, running mean and variance, so eval mode is no identity."""
    ranges = {'weight': (0.5, 1.5), 'bias': (-0.2, 0.2), 'running_mean': (-0.3, 0.3), 'running_var': (0.5, 2.0)}
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                for k, (lo, hi) in ranges.items():
                    t = getattr(m, k)
                    t.copy_(torch.rand(t.shape, generator=generator) * (hi - lo) + lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('files', nargs='+', metavar='FILE')
    ap.add_argument('--classes', type=int, required=True)
    ap.add_argument('--fix-bn-eps', action='store_true')
    ap.add_argument('--out', help='write K.pt and results.json (input, eval logits) here')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--random-bn', action='store_true')
    ap.add_argument('--batch', type=int, default=2)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    x = torch.randn(a.batch, 3, 32, 32, generator=g)
    results = {'input': x.flatten().tolist(), 'input_shape': list(x.shape), 'networks': []}
    for k, f in enumerate(a.files):
        net = load_network(f)
        model = build_network(net, a.classes, a.fix_bn_eps)
        info = {'file': f, 'name': net['name'], 'params': sum(p.numel() for p in model.parameters()),
                'state_dict': [[n, list(t.shape)] for n, t in model.state_dict().items()]}
        print(json.dumps(info))
        if a.out:
            if a.random_bn:
                randomize_batchnorm(model, g)
            model.eval()
            torch.save(model.state_dict(), os.path.join(a.out, f'{k}.pt'))
            with torch.no_grad():
                results['networks'].append({'file': f, 'logits': model(x).flatten().tolist()})
    if a.out:
        with open(os.path.join(a.out, 'results.json'), 'w') as out:
            json.dump(results, out)


if __name__ == '__main__':
    sys.exit(main())
