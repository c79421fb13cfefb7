"""PyTorch's side of `npm run bench`'s step profile (bench/profile.ts): torch.profiler around training steps
of the seed's GoogLeNet (bench/pytorch_googlenet.py's port), after warm-up, its ops grouped into the families
our profiler uses (src/util/profile.ts).

Each profiler event is given to the outermost classified op it sits in: aten::conv2d and ConvolutionBackward0
by the weight's kernel size (record_shapes), aten::batch_norm and NativeBatchNormBackward0, and so on; what no
family claims (autograd's evaluate_function wrappers, Python, the dispatcher) is left to "framework overhead",
the step's wall time minus the families.

With --eval [--train-first N], the same around the eval forward instead (after N training steps) (bench/profile.ts --eval): model.eval(), torch.no_grad(),
what `npm run bench` times as eval (bench/pytorch_googlenet.py's eval_step); step_ms is then one forward's.

Usage: pytorch_profile.py --mode channels_last|nchw --batch-size 64 --steps 2 --warmup 1 --threads 2 --classes 100 [--eval]
Prints one JSON line: {mode, batch_size, threads, torch, steps, eval, step_ms, families: {name: {ms, calls}}}, per step.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_googlenet import setup  # noqa: E402

CONV_FORWARD = {'aten::conv2d': 1, 'aten::convolution': 1, 'aten::_convolution': 1, 'aten::mkldnn_convolution': 1}
CONV_BACKWARD = {'aten::convolution_backward': 2, 'aten::mkldnn_convolution_backward': 2}
FAMILIES = {
    'aten::batch_norm': 'batchnorm', 'NativeBatchNormBackward0': 'batchnorm',
    'aten::relu_': 'relu', 'aten::relu': 'relu', 'ReluBackward0': 'relu',
    'aten::max_pool2d': 'max pool', 'MaxPool2DWithIndicesBackward0': 'max pool',
    'aten::adaptive_avg_pool2d': 'avg pool', 'MeanBackward1': 'avg pool', 'AdaptiveAvgPool2DBackward0': 'avg pool',
    'aten::cat': 'concat', 'CatBackward0': 'concat',
    'aten::feature_dropout': 'dropout', 'aten::dropout': 'dropout', 'aten::dropout2d': 'dropout', 'MulBackward0': 'dropout',
    'aten::linear': 'linear', 'AddmmBackward0': 'linear', 'TBackward0': 'linear',
    'aten::view': 'other ops', 'ViewBackward0': 'other ops',
    'aten::cross_entropy_loss': 'loss', 'NllLossBackward0': 'loss', 'LogSoftmaxBackward0': 'loss',
    'torch::autograd::AccumulateGrad': 'grad accumulation',
}


def kernel_family(evt):
    """`conv KxK` from the first convolution event at or under evt that recorded its weight's shape."""
    stack = [evt]
    while stack:
        e = stack.pop()
        index = CONV_FORWARD.get(e.name, CONV_BACKWARD.get(e.name))
        shapes = e.input_shapes or []
        if index is not None and len(shapes) > index and len(shapes[index]) == 4:
            return f'conv {shapes[index][2]}x{shapes[index][3]}'
        stack.extend(e.cpu_children)
    return 'conv ?'


def classify(evt):
    name = evt.name
    if name.startswith('autograd::engine::evaluate_function'):
        return None
    if name in CONV_FORWARD or name in CONV_BACKWARD or name == 'ConvolutionBackward0':
        return kernel_family(evt)
    if name.startswith('Optimizer.step'):
        return 'optimizer'
    if name.startswith('Optimizer.zero_grad'):
        return 'zero_grad'
    return FAMILIES.get(name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--mode', choices=['nchw', 'channels_last'], default='channels_last')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--steps', type=int, default=2)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--classes', type=int, default=100)
    p.add_argument('--eval', action='store_true', help='profile the eval forward (model.eval(), torch.no_grad()) instead of a step')
    p.add_argument('--train-first', type=int, default=0,
                   help='with --eval: training steps before the eval warm-up, as `npm run bench` evaluates after training in '
                        'the same process (glibc\'s heap then serves the activations without page faults)')
    a = p.parse_args()
    model, x, t, opt = setup(a.mode, a.batch_size, a.threads, a.classes)

    def train_step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), t)
        loss.backward()
        opt.step()

    def eval_step():
        with torch.no_grad():
            model(x)

    step = eval_step if a.eval else train_step
    if a.eval:
        model.train()
        for _ in range(a.train_first):
            train_step()
        model.eval()
    else:
        model.train()
    for _ in range(a.warmup):
        step()
    families = {}
    step_ms = 0.0
    for _ in range(a.steps):
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            t0 = time.perf_counter()
            step()
            step_ms += (time.perf_counter() - t0) * 1000
        events = prof.events()
        # an event the profiler left without its parent (any thread), inside an op already claimed, is not counted twice
        claimed = []
        stack = sorted((e for e in events if e.cpu_parent is None), key=lambda e: -e.time_range.start)
        while stack:
            e = stack.pop()
            r = e.time_range
            if e.cpu_parent is None and any(s <= r.start and r.end <= end for s, end in claimed):
                continue
            fam = classify(e)
            if fam is None:
                stack.extend(reversed(e.cpu_children))
                continue
            claimed.append((r.start, r.end))
            f = families.setdefault(fam, {'ms': 0.0, 'calls': 0})
            f['ms'] += e.cpu_time_total / 1000
            f['calls'] += 1
    for f in families.values():
        f['ms'] /= a.steps
        f['calls'] /= a.steps
    print(json.dumps({'mode': a.mode, 'batch_size': a.batch_size, 'threads': a.threads, 'torch': torch.__version__,
                      'steps': a.steps, 'eval': a.eval, 'step_ms': step_ms / a.steps, 'families': families}))


if __name__ == '__main__':
    main()
