"""PyTorch baseline for `npm run bench`: the seed's GoogLeNet, timed like ours.

The model is a port of the GoogleNet module printed in the seed document ("An Introduction to GoogLeNet and a
Small Experiment", which takes it from the pytorch-cifar100 project), kept as written, including
`nn.BatchNorm2d(n5x5, n5x5)`. Needs only torch (Debian's python3-torch).

Usage: pytorch_googlenet.py --mode nchw|channels_last|bf16 --batch-size 64 --steps 4 --threads 2 --classes 100
Prints one JSON line: {mode, batch_size, threads, train_img_per_s, eval_img_per_s, train_ms: [...], eval_ms: [...], peak_rss_mb}
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Inception(nn.Module):
    def __init__(self, input_channels, n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj):
        super().__init__()
        self.b1 = nn.Sequential(nn.Conv2d(input_channels, n1x1, kernel_size=1), nn.BatchNorm2d(n1x1), nn.ReLU(inplace=True))
        self.b2 = nn.Sequential(
            nn.Conv2d(input_channels, n3x3_reduce, kernel_size=1), nn.BatchNorm2d(n3x3_reduce), nn.ReLU(inplace=True),
            nn.Conv2d(n3x3_reduce, n3x3, kernel_size=3, padding=1), nn.BatchNorm2d(n3x3), nn.ReLU(inplace=True))
        self.b3 = nn.Sequential(
            nn.Conv2d(input_channels, n5x5_reduce, kernel_size=1), nn.BatchNorm2d(n5x5_reduce), nn.ReLU(inplace=True),
            nn.Conv2d(n5x5_reduce, n5x5, kernel_size=3, padding=1), nn.BatchNorm2d(n5x5, n5x5), nn.ReLU(inplace=True),
            nn.Conv2d(n5x5, n5x5, kernel_size=3, padding=1), nn.BatchNorm2d(n5x5), nn.ReLU(inplace=True))
        self.b4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(input_channels, pool_proj, kernel_size=1),
            nn.BatchNorm2d(pool_proj), nn.ReLU(inplace=True))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


class GoogleNet(nn.Module):
    def __init__(self, num_class=100):
        super().__init__()
        self.prelayer = nn.Sequential(nn.Conv2d(3, 192, kernel_size=3, padding=1), nn.BatchNorm2d(192), nn.ReLU(inplace=True))
        self.a3 = Inception(192, 64, 96, 128, 16, 32, 32)
        self.b3 = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.a4 = Inception(480, 192, 96, 208, 16, 48, 64)
        self.b4 = Inception(512, 160, 112, 224, 24, 64, 64)
        self.c4 = Inception(512, 128, 128, 256, 24, 64, 64)
        self.d4 = Inception(512, 112, 144, 288, 32, 64, 64)
        self.e4 = Inception(528, 256, 160, 320, 32, 128, 128)
        self.a5 = Inception(832, 256, 160, 320, 32, 128, 128)
        self.b5 = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout2d(p=0.4)
        self.linear = nn.Linear(1024, num_class)

    def forward(self, x):
        output = self.prelayer(x)
        output = self.a3(output)
        output = self.b3(output)
        output = self.maxpool(output)
        output = self.a4(output)
        output = self.b4(output)
        output = self.c4(output)
        output = self.d4(output)
        output = self.e4(output)
        output = self.maxpool(output)
        output = self.a5(output)
        output = self.b5(output)
        output = self.avgpool(output)
        output = self.dropout(output)
        output = output.view(output.size()[0], -1)
        return self.linear(output)


def peak_rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    return None


def setup(mode, batch_size, threads, classes):
    """The seeded model, a random batch (channels_last unless mode is nchw) and Adadelta, at `threads` threads."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GoogleNet(classes)
    x = torch.randn(batch_size, 3, 32, 32)
    t = torch.randint(0, classes, (batch_size,))
    if mode != 'nchw':
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return model, x, t, torch.optim.Adadelta(model.parameters(), lr=1.0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--mode', choices=['nchw', 'channels_last', 'bf16'], default='nchw')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--steps', type=int, default=4)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--classes', type=int, default=100)
    a = p.parse_args()
    model, x, t, opt = setup(a.mode, a.batch_size, a.threads, a.classes)
    autocast = a.mode == 'bf16'

    def train_step():
        opt.zero_grad()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            loss = F.cross_entropy(model(x), t)
        loss.backward()
        opt.step()

    def eval_step():
        with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            model(x)

    model.train()
    for _ in range(2):
        train_step()
    train_ms = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        train_step()
        train_ms.append((time.perf_counter() - t0) * 1000)
    model.eval()
    eval_step()
    eval_ms = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        eval_step()
        eval_ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        'mode': a.mode, 'batch_size': a.batch_size, 'threads': a.threads, 'torch': torch.__version__,
        'train_img_per_s': a.batch_size * 1000 / statistics.median(train_ms),
        'eval_img_per_s': a.batch_size * 1000 / statistics.median(eval_ms),
        'train_ms': train_ms, 'eval_ms': eval_ms, 'peak_rss_mb': peak_rss_mb(),
    }))


if __name__ == '__main__':
    main()
