// Layer-by-layer summary of a network: output shapes, parameters and multiply-accumulates
// for one image (32x32 by default), all counted from the built modules (a forward pass of one
// image traced by forward hooks), never stored. MACs count convolutions and the linear layer, as the seed does.
import { noGrad } from '../autograd/engine.js';
import { Conv2d, Linear } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { Tensor, tidy } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import { GoogLeNet, Inception, NaiveInception } from './googlenet.js';

export interface LayerRow {
  name: string;
  kind: string;
  output: number[];
  params: number;
  macs: number;
}

export interface ModuleRow {
  name: string;
  kind: 'Inception' | 'NaiveInception';
  input: number[];
  output: number[];
  params: number;
  macs: number;
  /** MACs of the naive module with the same setting and input (no bottlenecks). */
  naiveMacs: number;
}

export interface Summary {
  model: string;
  classes: number;
  /** The traced input, [1, 3, size, size]. */
  input: number[];
  params: number;
  macs: number;
  layers: LayerRow[];
  modules: ModuleRow[];
}

function ownParams(m: Module): number {
  return m.namedParameters().reduce((s, [n, p]) => s + (n.includes('.') ? 0 : p.numel), 0);
}

/** MACs of a layer for one image, from its output shape [1, C, H, W] or [1, F]. */
export function layerMacs(m: Module, output: readonly number[]): number {
  if (m instanceof Conv2d) {
    const [o, i, kh, kw] = m.weight.shape;
    return output[2] * output[3] * o * i * kh * kw;
  }
  if (m instanceof Linear) return m.inFeatures * m.outFeatures;
  return 0;
}

function convMacsAt(m: Module, h: number, w: number): number {
  // every conv of an Inception module keeps the spatial size (stride 1, same padding)
  return m.namedModules().reduce((s, [, c]) => s + (c instanceof Conv2d ? layerMacs(c, [1, c.outChannels, h, w]) : 0), 0);
}

/** Traces one forward pass of a 1x3xHxW image, recording every leaf layer and Inception module. */
export function summarize(model: GoogLeNet, name: string, size = 32): Summary {
  const layers: LayerRow[] = [];
  const modules: ModuleRow[] = [];
  const removers: (() => void)[] = [];
  for (const [path, m] of model.namedModules()) {
    if (m === model) continue;
    if (m.namedChildren().length === 0) {
      // hooks run when a module's forward returns, so leaves are recorded in execution order
      removers.push(m.registerForwardHook((_module, _input, y) => {
        const output = [...y.shape];
        layers.push({ name: path, kind: m.constructor.name, output, params: ownParams(m), macs: layerMacs(m, output) });
      }));
    } else if (m instanceof Inception || m instanceof NaiveInception) {
      removers.push(m.registerForwardHook((_module, x, y) => {
        // built only to be counted: its own generator, so the default one is not advanced
        const naive = new NaiveInception(x.shape[1], m.setting, { rng: new Rng(0) });
        modules.push({
          name: path, kind: m.constructor.name as ModuleRow['kind'], input: [...x.shape], output: [...y.shape], params: m.parameterCount(),
          macs: convMacsAt(m, x.shape[2], x.shape[3]), naiveMacs: convMacsAt(naive, x.shape[2], x.shape[3]),
        });
        naive.dispose();
      }));
    }
  }
  const wasTraining = model.training;
  const input = [1, 3, size, size];
  try {
    model.eval();
    tidy(() => noGrad(() => model.call(Tensor.zeros(input))));
  } finally {
    removers.forEach((remove) => remove());
    model.train(wasTraining);
  }
  return {
    model: name,
    classes: model.numClasses,
    input,
    params: model.parameterCount(),
    macs: layers.reduce((s, l) => s + l.macs, 0),
    layers,
    modules,
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');

function table(headers: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The human-readable summary printed by `googlenet summary`. */
export function formatSummary(s: Summary, note?: string): string {
  const out: string[] = [`${s.model}, ${s.classes} classes, input ${s.input.join('x')}`];
  out.push(table(['layer', 'kind', 'output', 'params', 'MACs'],
    s.layers.map((l) => [l.name, l.kind, l.output.slice(1).join('x'), fmt(l.params), fmt(l.macs)]),
    [false, false, false, true, true]));
  out.push(`\nTotal parameters: ${fmt(s.params)}${note ? `  (${note})` : ''}`);
  out.push(`Total MACs (conv + linear, one image): ${fmt(s.macs)}`);
  out.push('\nPer Inception module, beside the naive module of the same setting and input (no 1x1 bottlenecks):');
  out.push(table(['module', 'input', 'output', 'params', 'MACs', 'naive MACs', 'naive/ours'],
    s.modules.map((m) => [m.name, m.input.slice(1).join('x'), m.output.slice(1).join('x'), fmt(m.params), fmt(m.macs), fmt(m.naiveMacs),
      `${(m.naiveMacs / m.macs).toFixed(2)}x`]),
    [false, false, false, true, true, true, true]));
  return out.join('\n');
}
