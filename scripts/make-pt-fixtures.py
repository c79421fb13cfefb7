#!/usr/bin/python3
"""torch.save fixtures for test/torch-io.test.ts, made with Debian's python3-torch (/usr/bin/python3).

  make-pt-fixtures.py models OUT_DIR MODEL...   for each MODEL (googlenet, googlenet-short4), 10 classes:
      MODEL-plain.pt         model.state_dict()
      MODEL-checkpoint.pt    {'epoch', 'model_state_dict', 'optimizer_state_dict' (Adadelta after one step),
                              'loss', 'name', 'history'}
      MODEL-dataparallel.pt  nn.DataParallel(model).state_dict() ('module.' names)
      MODEL-shared.pt        every float tensor a view into one storage at its own offset, linear.weight a
                             transposed (non-contiguous) view
      MODEL.safetensors      the same weights, float32/int64, written by hand (no safetensors package needed)
      MODEL-io.safetensors   `input` (4 images) and `logits`: PyTorch's eval-mode output for them
  make-pt-fixtures.py tiny OUT_FILE.pt          a few tensors of every dtype read (f32, f16, bf16, f64, i64),
      sharing storages at offsets, one transposed; the expected float32/int64 values beside it in OUT_FILE.json
      and beside it OUT_FILE-legacy.pt (the pre-1.6 format), OUT_FILE-module.pt (a whole pickled nn.Linear) and
      OUT_FILE-proto4.pt (the same values in pickle protocol 4, one of them an nn.Parameter)
  make-pt-fixtures.py evil OUT_FILE.pt MARKER   a torch.save file whose pickle calls os.system('touch MARKER')
      when loaded without weights_only (made at test time only, never committed)
  make-pt-fixtures.py check WEIGHTS.pt MODEL IO.safetensors OUT.safetensors
      torch.load(WEIGHTS, weights_only=True) into MODEL with load_state_dict(strict=True), writes its eval
      logits for IO's `input` as `logits` (the test compares them with ours)

The models are the seed's GoogleNet (bench/pytorch_googlenet.py) and, for the variants, the same Inception
modules arranged by stage as src/models/googlenet.ts's VARIANTS (see ../shared/variants/README.md).
"""
import collections
import json
import os
import struct
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bench'))
from pytorch_googlenet import GoogleNet, Inception  # noqa: E402

SETTINGS = {
    'a3': (64, 96, 128, 16, 32, 32), 'b3': (128, 128, 192, 32, 96, 64), 'a4': (192, 96, 208, 16, 48, 64),
    'b4': (160, 112, 224, 24, 64, 64), 'c4': (128, 128, 256, 24, 64, 64), 'd4': (112, 144, 288, 32, 64, 64),
    'e4': (256, 160, 320, 32, 128, 128), 'a5': (256, 160, 320, 32, 128, 128), 'b5': (384, 192, 384, 48, 128, 128),
}
STAGES = {'googlenet-short4': [[], ['a4'], ['b5']]}
CLASSES = 10


class Variant(nn.Module):
    """A network of the family from its stages, registered in the order src/models/googlenet.ts registers them."""

    def __init__(self, stages, num_class):
        super().__init__()
        self.prelayer = nn.Sequential(nn.Conv2d(3, 192, kernel_size=3, padding=1), nn.BatchNorm2d(192), nn.ReLU(inplace=True))
        channels, self.stages = 192, []
        for i, names in enumerate(stages):
            if i == 1:
                self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            mods = []
            for name in names:
                s = SETTINGS[name]
                m = Inception(channels, *s)
                self.add_module(name, m)
                mods.append(m)
                channels = s[0] + s[2] + s[4] + s[5]
            self.stages.append(mods)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout2d(p=0.4)
        self.linear = nn.Linear(channels, num_class)

    def forward(self, x):
        h = self.prelayer(x)
        for i, mods in enumerate(self.stages):
            if i > 0:
                h = self.maxpool(h)
            for m in mods:
                h = m(h)
        return self.linear(torch.flatten(self.dropout(self.avgpool(h)), 1))


def make_model(name):
    return GoogleNet(CLASSES) if name == 'googlenet' else Variant(STAGES[name], CLASSES)


ST_DTYPES = {torch.float32: 'F32', torch.int64: 'I64'}


def write_safetensors(path, tensors):
    header, blobs, offset = {'__metadata__': {'format': 'pt'}}, [], 0
    for k, t in tensors.items():
        t = t.detach().contiguous()
        b = t.numpy().tobytes()
        header[k] = {'dtype': ST_DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        b, e = v['data_offsets']
        dtype = {'F32': torch.float32, 'I64': torch.int64}[v['dtype']]
        out[k] = torch.frombuffer(bytearray(data[8 + n + b:8 + n + e]), dtype=dtype).reshape(v['shape'])
    return out


def shared_storage_dict(sd):
    """The same values, every float tensor a view into one storage (gaps between them), linear.weight transposed."""
    floats = [(k, v) for k, v in sd.items() if v.is_floating_point()]
    total = sum(v.numel() + 3 for _, v in floats)
    storage = torch.full((total,), float('nan'))
    out, offset = collections.OrderedDict(), 0
    for k, v in sd.items():
        if not v.is_floating_point():
            out[k] = v.clone()
            continue
        offset += 3  # a gap, so offsets are not simply back to back
        n = v.numel()
        if k == 'linear.weight':
            storage[offset:offset + n] = v.t().contiguous().reshape(-1)
            out[k] = storage[offset:offset + n].view(v.shape[1], v.shape[0]).t()
            assert not out[k].is_contiguous()
        else:
            storage[offset:offset + n] = v.reshape(-1)
            out[k] = storage[offset:offset + n].view(v.shape)
        offset += n
    return out


def models(out_dir, names):
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        torch.manual_seed(0)
        model = make_model(name)
        # BatchNorm statistics that differ from their defaults, so reading them wrong changes the logits.
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.2, 0.2)
                    m.running_var.uniform_(0.5, 1.5)
                    m.num_batches_tracked.fill_(7)
        sd = model.state_dict()
        base = os.path.join(out_dir, name)
        torch.save(sd, base + '-plain.pt')
        # The training step below changes the BatchNorm statistics and weights; every file keeps these.
        saved = {k: v.clone() for k, v in sd.items()}
        opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
        x = torch.randn(4, 3, 32, 32)
        model.train()
        nn.functional.cross_entropy(model(x), torch.arange(4)).backward()
        # The optimizer's state after one step, with the model's weights as they were before it.
        opt.step()
        model.load_state_dict(saved)
        torch.save({'epoch': 3, 'model_state_dict': model.state_dict(), 'optimizer_state_dict': opt.state_dict(),
                    'loss': 1.25, 'name': name, 'history': [2.5, 1.75, 1.25]}, base + '-checkpoint.pt')
        torch.save(nn.DataParallel(model).state_dict(), base + '-dataparallel.pt')
        torch.save(shared_storage_dict(model.state_dict()), base + '-shared.pt')
        write_safetensors(base + '.safetensors', model.state_dict())
        model.eval()
        torch.manual_seed(1)
        x = torch.randn(4, 3, 32, 32)
        with torch.no_grad():
            write_safetensors(base + '-io.safetensors', {'input': x, 'logits': model(x)})


def tiny(out_file):
    base = torch.arange(24, dtype=torch.float32) * 0.375 - 3
    sd = collections.OrderedDict()
    sd['f32.slice'] = base[5:11].view(2, 3)                  # offset 5 into a shared storage
    sd['f32.transposed'] = base[:12].view(3, 4).t()          # non-contiguous, same storage, offset 0
    sd['f32.strided'] = base[1::4]                           # stride 4
    sd['f16'] = torch.tensor([[0.5, -1.25], [65504.0, 6.1e-5]], dtype=torch.float16)
    sd['bf16'] = torch.tensor([1.5, -2.0, 3.140625], dtype=torch.bfloat16)
    sd['f64'] = torch.tensor([0.1, -1e-3, 12345.678], dtype=torch.float64)
    sd['i64'] = torch.tensor(7, dtype=torch.int64)
    sd['i64.big'] = torch.tensor([2 ** 40, -3], dtype=torch.int64)
    torch.save(sd, out_file)
    expected = {k: {'dtype': str(v.dtype), 'shape': list(v.shape),
                    'values': (v.reshape(-1).tolist() if not v.is_floating_point() else v.float().reshape(-1).tolist())}
                for k, v in sd.items()}
    stem = os.path.splitext(out_file)[0]
    with open(stem + '.json', 'w') as f:
        json.dump(expected, f, indent=1)
    torch.save(collections.OrderedDict(w=torch.ones(2)), stem + '-legacy.pt', _use_new_zipfile_serialization=False)
    # The same values through protocol 4's opcodes (STACK_GLOBAL, MEMOIZE, FRAME), one as an nn.Parameter.
    sd4 = collections.OrderedDict(sd)
    sd4['f32.slice'] = nn.Parameter(sd['f32.slice'])
    torch.save(sd4, stem + '-proto4.pt', pickle_protocol=4)
    torch.manual_seed(0)
    torch.save(nn.Linear(2, 2), stem + '-module.pt')


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def evil(out_file, marker):
    torch.save(collections.OrderedDict(w=torch.ones(2), x=Evil(marker)), out_file)


def check(weights, name, io_file, out_file):
    model = make_model(name)
    model.load_state_dict(torch.load(weights, weights_only=True), strict=True)
    model.eval()
    with torch.no_grad():
        write_safetensors(out_file, {'logits': model(read_safetensors(io_file)['input'])})


if __name__ == '__main__':
    torch.set_num_threads(1)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'models':
        models(args[0], args[1:])
    elif cmd == 'tiny':
        tiny(args[0])
    elif cmd == 'evil':
        evil(*args)
    elif cmd == 'check':
        check(*args)
    else:
        sys.exit(f'make-pt-fixtures.py: unknown command {cmd!r} (models, tiny, evil, check)')
