// Optimizers with PyTorch 1.13 semantics (torch.optim's default single-tensor code paths).
// The per-element updates run in the backend on the plain parameter buffers; TypeScript
// keeps the groups, hyper-parameters and state, which checkpoints save and restore.
import { backend, Tensor } from '../tensor/tensor.js';
import { toFloat32, type HostTensor } from '../tensor/host.js';

export interface ParamGroup {
  params: Tensor[];
  lr: number;
  initialLr?: number;
  weightDecay: number;
}

type ParamState = { step: number; buffers: Map<string, Tensor> };

/** What a checkpoint stores: the state buffers by name, plus JSON for groups and step counts. */
export interface OptimizerState {
  tensors: Map<string, HostTensor>;
  meta: { kind: string; groups: Record<string, unknown>[]; steps: number[] };
}

export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  readonly paramGroups: G[];
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(params: Tensor[] | Partial<G>[], defaults: Omit<G, 'params'>) {
    const groups: Partial<G>[] = params.length && params[0] instanceof Tensor ? [{ params } as unknown as Partial<G>] : (params as Partial<G>[]);
    this.paramGroups = groups.map((g) => ({ ...defaults, ...g }) as G);
    for (const g of this.paramGroups) {
      if (!(g.lr >= 0)) throw new Error(`${this.constructor.name}: invalid learning rate ${g.lr}`);
      if (!(g.weightDecay >= 0)) throw new Error(`${this.constructor.name}: invalid weight_decay ${g.weightDecay}`);
      this.validate(g);
    }
  }

  protected validate(_g: G): void {}

  /** Updates one parameter in place from its gradient. */
  protected abstract update(p: Tensor, grad: Tensor, group: G, state: ParamState): void;

  /** The state buffers one parameter needs, all zero-initialised like PyTorch's. */
  protected abstract stateNames(group: G): string[];

  step(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (!p.grad) continue;
        let st = this.state.get(p);
        if (!st) {
          st = { step: 0, buffers: new Map(this.stateNames(group).map((n) => [n, Tensor.zeros(p.shape).keep()])) };
          this.state.set(p, st);
        }
        st.step += 1;
        this.update(p, p.grad, group, st);
      }
    }
  }

  zeroGrad(): void {
    for (const g of this.paramGroups)
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
  }

  private indexed(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** The bytes stateDict()'s tensors take once every parameter has stepped (before the first step it holds none). */
  stateBytes(): number {
    return this.paramGroups.reduce((s, g) => s + g.params.reduce((n, p) => n + p.numel, 0) * this.stateNames(g).length * 4, 0);
  }

  /** State under PyTorch-like keys: `<param index>.<buffer>` (index over all groups in order). */
  stateDict(): OptimizerState {
    const tensors = new Map<string, HostTensor>();
    const steps: number[] = [];
    this.indexed().forEach((p, i) => {
      const st = this.state.get(p);
      steps.push(st?.step ?? 0);
      for (const [name, t] of st?.buffers ?? []) tensors.set(`${i}.${name}`, { dtype: 'F32', shape: [...t.shape], data: t.toArray() });
    });
    const groups = this.paramGroups.map(({ params, ...rest }) => ({ ...rest, params: params.length }));
    return { tensors, meta: { kind: this.constructor.name, groups, steps } };
  }

  loadStateDict(s: OptimizerState): void {
    if (s.meta.kind !== this.constructor.name)
      throw new Error(`optimizer state is for ${s.meta.kind}, not ${this.constructor.name}`);
    if (s.meta.groups.length !== this.paramGroups.length || s.meta.groups.some((g, i) => g.params !== this.paramGroups[i].params.length))
      throw new Error('optimizer state does not match the parameter groups');
    s.meta.groups.forEach((g, i) => {
      const { params: _n, ...hyper } = g;
      Object.assign(this.paramGroups[i], hyper);
    });
    this.disposeState();
    this.indexed().forEach((p, i) => {
      const step = s.meta.steps[i] ?? 0;
      if (step === 0) return;
      const buffers = new Map<string, Tensor>();
      for (const [key, host] of s.tensors) {
        const dot = key.indexOf('.');
        if (Number(key.slice(0, dot)) !== i) continue;
        if (host.shape.join() !== p.shape.join()) throw new Error(`optimizer state ${key} has shape [${host.shape}], parameter has [${p.shape}]`);
        buffers.set(key.slice(dot + 1), Tensor.fromArray(toFloat32(host), p.shape).keep());
      }
      this.state.set(p, { step, buffers });
    });
  }

  private disposeState(): void {
    for (const st of this.state.values()) for (const t of st.buffers.values()) t.dispose();
    this.state.clear();
  }

  dispose(): void {
    this.disposeState();
  }
}

// ---- Adadelta ---------------------------------------------------------------------------

export interface AdadeltaGroup extends ParamGroup {
  rho: number;
  eps: number;
}

/** torch.optim.Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0): the seed's optimizer. */
export class Adadelta extends Optimizer<AdadeltaGroup> {
  constructor(params: Tensor[] | Partial<AdadeltaGroup>[], opts: Partial<Omit<AdadeltaGroup, 'params'>> = {}) {
    super(params, { lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0, ...opts });
  }

  protected override validate(g: AdadeltaGroup): void {
    if (!(g.rho >= 0 && g.rho <= 1)) throw new Error(`Adadelta: invalid rho ${g.rho}`);
    if (!(g.eps >= 0)) throw new Error(`Adadelta: invalid eps ${g.eps}`);
  }

  protected stateNames(): string[] {
    return ['square_avg', 'acc_delta'];
  }

  protected update(p: Tensor, grad: Tensor, g: AdadeltaGroup, st: ParamState): void {
    backend().adadeltaStep(p.handle, grad.handle, st.buffers.get('square_avg')!.handle, st.buffers.get('acc_delta')!.handle,
      { lr: g.lr, rho: g.rho, eps: g.eps, weightDecay: g.weightDecay });
  }
}

// ---- SGD ---------------------------------------------------------------------------------

export interface SgdGroup extends ParamGroup {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

/** torch.optim.SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False). */
export class SGD extends Optimizer<SgdGroup> {
  constructor(params: Tensor[] | Partial<SgdGroup>[], opts: Partial<Omit<SgdGroup, 'params'>> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...opts });
  }

  protected override validate(g: SgdGroup): void {
    if (!(g.momentum >= 0)) throw new Error(`SGD: invalid momentum ${g.momentum}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new Error('SGD: nesterov momentum requires a momentum and zero dampening');
  }

  protected stateNames(g: SgdGroup): string[] {
    return g.momentum !== 0 ? ['momentum_buffer'] : [];
  }

  protected update(p: Tensor, grad: Tensor, g: SgdGroup, st: ParamState): void {
    const buf = st.buffers.get('momentum_buffer') ?? null;
    backend().sgdStep(p.handle, grad.handle, buf?.handle ?? null,
      { lr: g.lr, momentum: g.momentum, dampening: g.dampening, nesterov: g.nesterov, weightDecay: g.weightDecay, firstStep: st.step === 1 });
  }
}

// ---- Adam / AdamW -----------------------------------------------------------------------------

export interface AdamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  amsgrad: boolean;
}

/** torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False). */
export class Adam extends Optimizer<AdamGroup> {
  protected readonly decoupled: boolean = false;

  constructor(params: Tensor[] | Partial<AdamGroup>[], opts: Partial<Omit<AdamGroup, 'params'>> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, ...opts });
  }

  protected override validate(g: AdamGroup): void {
    for (const b of g.betas) if (!(b >= 0 && b < 1)) throw new Error(`${this.constructor.name}: invalid beta ${b}`);
    if (!(g.eps >= 0)) throw new Error(`${this.constructor.name}: invalid eps ${g.eps}`);
  }

  protected stateNames(g: AdamGroup): string[] {
    return g.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }

  protected update(p: Tensor, grad: Tensor, g: AdamGroup, st: ParamState): void {
    const b = st.buffers;
    backend().adamStep(p.handle, grad.handle, b.get('exp_avg')!.handle, b.get('exp_avg_sq')!.handle, b.get('max_exp_avg_sq')?.handle ?? null,
      { lr: g.lr, beta1: g.betas[0], beta2: g.betas[1], eps: g.eps, weightDecay: g.weightDecay, decoupled: this.decoupled, step: st.step });
  }
}

/** torch.optim.AdamW's default weight decay. */
export const ADAMW_WEIGHT_DECAY = 1e-2;

/** torch.optim.AdamW: Adam with decoupled weight decay (default ADAMW_WEIGHT_DECAY). */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: Tensor[] | Partial<AdamGroup>[], opts: Partial<Omit<AdamGroup, 'params'>> = {}) {
    super(params, { weightDecay: ADAMW_WEIGHT_DECAY, ...opts });
  }
}
