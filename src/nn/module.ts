// Module: PyTorch's nn.Module in miniature. Parameters, buffers and child modules are
// registered in order, so `stateDict()` yields PyTorch's own names in PyTorch's own
// order (a module's parameters, then its buffers, then each child's, depth first).
import { Tensor } from '../tensor/tensor.js';
import { toFloat32, type HostTensor } from '../tensor/host.js';

/** An int64 scalar buffer (BatchNorm's num_batches_tracked). */
export class CounterBuffer {
  constructor(public value: bigint = 0n) {}
}

export type Buffer = Tensor | CounterBuffer;
export type StateDict = Map<string, HostTensor>;

/** Called after a module's forward with its input and output (PyTorch's forward hook, without replacing the output). */
export type ForwardHook = (module: Module, input: Tensor, output: Tensor) => void;

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Buffer>();
  private readonly children = new Map<string, Module>();
  // null while there are none, so call() costs one check; replaced, never mutated, so a hook may remove itself
  private forwardHooks: readonly ForwardHook[] | null = null;

  abstract forward(x: Tensor): Tensor;

  /** Runs forward, then the forward hooks (PyTorch's module(x)); containers call their children through it. */
  call(x: Tensor): Tensor {
    const y = this.forward(x);
    const hooks = this.forwardHooks;
    if (hooks) for (const hook of hooks) hook(this, x, y);
    return y;
  }

  /** Registers a hook run after each call(); returns its remover (PyTorch's handle.remove()). */
  registerForwardHook(hook: ForwardHook): () => void {
    this.forwardHooks = [...(this.forwardHooks ?? []), hook];
    let registered = true;
    return () => {
      if (!registered) return;
      registered = false;
      // one registration each: a hook registered twice runs once after one removal
      const rest = [...(this.forwardHooks ?? [])];
      rest.splice(rest.indexOf(hook), 1);
      this.forwardHooks = rest.length ? rest : null;
    };
  }

  /** Whether any forward hook is registered (a container that would skip this module's call must not then). */
  hasForwardHooks(): boolean {
    return this.forwardHooks !== null;
  }

  /** A short description of the layer, as PyTorch's extra_repr. */
  describe(): string {
    return '';
  }

  protected registerParameter(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.params.set(name, t.keep());
    return t;
  }

  protected registerBuffer<B extends Buffer>(name: string, b: B): B {
    if (b instanceof Tensor) b.keep();
    this.buffers.set(name, b);
    return b;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    if (name.includes('.') || name === '') throw new Error(`invalid module name '${name}'`);
    if (this.children.has(name)) throw new Error(`module name '${name}' is already used`);
    this.children.set(name, m);
    return m;
  }

  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** Every module below and including this one, with its dotted name ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.children) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules())
      for (const [name, p] of m.params) out.push([prefix ? `${prefix}.${name}` : name, p]);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(): [string, Buffer][] {
    const out: [string, Buffer][] = [];
    for (const [prefix, m] of this.namedModules())
      for (const [name, b] of m.buffers) out.push([prefix ? `${prefix}.${name}` : name, b]);
    return out;
  }

  /** Number of parameter elements (the seed's count of trainable parameters). */
  parameterCount(): number {
    return this.parameters().reduce((s, p) => s + p.numel, 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The bytes of stateDict()'s tensors, without copying them (f32 tensors; a counter is one int64). */
  stateBytes(): number {
    return this.parameters().reduce((s, p) => s + p.numel * 4, 0) + this.namedBuffers().reduce((s, [, b]) => s + (b instanceof Tensor ? b.numel * 4 : 8), 0);
  }

  /** Copies parameters and buffers to host memory under PyTorch's state_dict names. */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [prefix, m] of this.namedModules()) {
      const full = (n: string) => (prefix ? `${prefix}.${n}` : n);
      for (const [name, p] of m.params) out.set(full(name), p.toHost());
      for (const [name, b] of m.buffers) {
        if (b instanceof Tensor) out.set(full(name), b.toHost());
        else out.set(full(name), { dtype: 'I64', shape: [], data: BigInt64Array.of(b.value) });
      }
    }
    return out;
  }

  /**
   * Loads a state dict. Strict (as PyTorch's default): every name must be present with the
   * right shape, and no extra names are allowed; nothing is changed unless all entries fit.
   */
  loadStateDict(sd: StateDict, source = 'state dict'): void {
    const targets = new Map<string, Buffer>([...this.namedParameters(), ...this.namedBuffers()]);
    const missing = [...targets.keys()].filter((k) => !sd.has(k));
    const extra = [...sd.keys()].filter((k) => !targets.has(k));
    const problems: string[] = [];
    if (missing.length) problems.push(`missing ${listNames(missing)}`);
    if (extra.length) problems.push(`unexpected ${listNames(extra)}`);
    const misfits: string[] = [];
    for (const [name, target] of targets) {
      const src = sd.get(name);
      if (!src) continue;
      const want = target instanceof Tensor ? target.shape : [];
      const got = src.shape.length === 1 && src.shape[0] === 1 && want.length === 0 ? [] : src.shape;
      if (got.length !== want.length || got.some((d, i) => d !== want[i]))
        misfits.push(`${name} has shape [${src.shape.join(', ')}], expected [${want.join(', ')}]`);
      else if (target instanceof Tensor && src.dtype === 'I64')
        misfits.push(`${name} is I64, expected a float tensor`);
    }
    problems.push(...misfits.slice(0, 3));
    if (misfits.length > 3) problems.push(`and ${misfits.length - 3} more misshaped`);
    if (problems.length)
      throw new Error(`${source} does not fit ${this.constructor.name}: ${problems.join('; ')}`);
    for (const [name, target] of targets) {
      const src = sd.get(name)!;
      if (target instanceof Tensor) target.assign(toFloat32(src));
      else target.value = src.dtype === 'I64' ? (src.data as BigInt64Array)[0] : BigInt(Math.round(toFloat32(src)[0]));
    }
  }

  /** Frees every parameter, buffer and gradient of this module tree. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.dispose();
    }
    for (const [, b] of this.namedBuffers()) if (b instanceof Tensor) b.dispose();
  }

  /** A PyTorch-like printout of the module tree. */
  toString(indent = ''): string {
    const head = `${this.constructor.name}(${this.describe()}`;
    if (this.children.size === 0) return `${head})`;
    const inner = [...this.children].map(([n, c]) => `${indent}  (${n}): ${c.toString(indent + '  ')}`);
    return `${head}\n${inner.join('\n')}\n${indent})`;
  }
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}
