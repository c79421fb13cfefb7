// A network of the family as an ONNX inference graph: one emitter per module type, walking the
// module tree as each module's eval-mode forward does. Every initializer is a state-dict tensor
// under its PyTorch name (num_batches_tracked, which inference does not use, is left out), and
// BatchNorm stays a BatchNormalization node with its layer's own epsilon. Dropout is the identity
// in eval mode, so it emits no node.
import type { OnnxModel, OnnxNode } from '../io/onnx.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { GoogLeNet, Inception, NaiveInception } from './googlenet.js';

export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'logits';
/** The symbolic batch dimension of the input and output. */
export const ONNX_BATCH = 'batch';

class Emitter {
  readonly nodes: OnnxNode[] = [];
  private readonly used = new Set<string>();

  /** A value name not used yet: the module's name, then name:2, name:3, … (a shared module runs twice). */
  fresh(name: string): string {
    let out = name;
    for (let k = 2; this.used.has(out); k++) out = `${name}:${k}`;
    this.used.add(out);
    return out;
  }

  node(opType: string, name: string, inputs: string[], attributes?: OnnxNode['attributes']): string {
    const out = this.fresh(name);
    this.nodes.push({ opType, name: out, inputs, outputs: [out], attributes });
    return out;
  }

  /** Emits module `m` (named `name` in the tree) applied to value `x`; returns its output value. */
  emit(m: Module, name: string, x: string): string {
    const child = (n: string) => (name ? `${name}.${n}` : n);
    if (m instanceof Sequential) return m.namedChildren().reduce((h, [n, c]) => this.emit(c, child(n), h), x);
    if (m instanceof Conv2d) {
      const [, , kh, kw] = m.weight.shape;
      const [ph, pw] = m.padding;
      const inputs = [x, child('weight'), ...(m.bias ? [child('bias')] : [])];
      return this.node('Conv', name, inputs, { kernel_shape: { ints: [kh, kw] }, strides: { ints: m.stride }, pads: { ints: [ph, pw, ph, pw] } });
    }
    if (m instanceof BatchNorm2d) {
      const inputs = [x, ...['weight', 'bias', 'running_mean', 'running_var'].map(child)];
      return this.node('BatchNormalization', name, inputs, { epsilon: { float: m.eps } });
    }
    if (m instanceof ReLU) return this.node('Relu', name, [x]);
    if (m instanceof MaxPool2d) {
      const [ph, pw] = m.padding;
      return this.node('MaxPool', name, [x], { kernel_shape: { ints: m.kernel }, strides: { ints: m.stride }, pads: { ints: [ph, pw, ph, pw] } });
    }
    if (m instanceof AdaptiveAvgPool2d) return this.node('GlobalAveragePool', name, [x]);
    if (m instanceof Dropout) return x;
    if (m instanceof Flatten) return this.node('Flatten', name, [x], { axis: { int: 1 } });
    if (m instanceof Linear) return this.node('Gemm', name, [x, child('weight'), child('bias')], { transB: { int: 1 } });
    if (m instanceof Inception || m instanceof NaiveInception) {
      const branches = [m.b1, m.b2, m.b3, m.b4].map((b, i) => this.emit(b, child(`b${i + 1}`), x));
      return this.node('Concat', `${name}.cat`, branches, { axis: { int: 1 } });
    }
    if (m instanceof GoogLeNet) {
      const names = new Map(m.namedChildren().map(([n, c]) => [c, n]));
      // flatten is no registered child (it holds nothing; the seed's view(N, -1)): named here
      const at = (c: Module) => child(names.get(c) ?? (c === m.flatten ? 'flatten' : `(unregistered ${c.constructor.name})`));
      // the body in order: a shared pool or dropout is emitted at each of its places (maxpool, maxpool:2)
      let h = this.emit(m.prelayer, at(m.prelayer), x);
      for (const c of [...m.body, m.avgpool, m.dropout, m.flatten, m.linear]) h = this.emit(c, at(c), h);
      return h;
    }
    throw new Error(`ONNX export: no emitter for module '${name || '(root)'}' (${m.constructor.name})`);
  }
}

export interface OnnxExportInfo {
  /** The network's name (createModel's), kept in the file's metadata. */
  model: string;
  producerVersion: string;
  /** More metadata_props, e.g. the dataset. */
  metadata?: Record<string, string>;
}

/** The eval-mode graph of `model` with its current weights: input [batch, 3, 32, 32], output [batch, classes]. */
export function toOnnx(model: GoogLeNet, info: OnnxExportInfo): OnnxModel {
  const e = new Emitter();
  e.fresh(ONNX_INPUT);
  const out = e.emit(model, '', ONNX_INPUT);
  // the last node (the classifier) writes the graph's output under the output's name
  const last = e.nodes.at(-1);
  if (last?.outputs[0] !== out) throw new Error('ONNX export: the network ends in no node');
  last.outputs = [ONNX_OUTPUT];
  const initializers = new Map([...model.stateDict()].filter(([, t]) => t.dtype !== 'I64'));
  const referenced = new Set(e.nodes.flatMap((n) => n.inputs));
  const unused = [...initializers.keys()].filter((k) => !referenced.has(k));
  if (unused.length) throw new Error(`ONNX export: tensors no node uses: ${unused.slice(0, 5).join(', ')}`);
  return {
    graphName: info.model,
    producer: { name: 'googlenet', version: info.producerVersion },
    docString: `${info.model} (eval mode): input [batch, 3, 32, 32] normalised images, output [batch, ${model.numClasses}] logits`,
    inputs: [{ name: ONNX_INPUT, shape: [ONNX_BATCH, 3, 32, 32] }],
    outputs: [{ name: ONNX_OUTPUT, shape: [ONNX_BATCH, model.numClasses] }],
    nodes: e.nodes,
    initializers,
    metadata: { model: info.model, classes: String(model.numClasses), ...info.metadata },
  };
}
