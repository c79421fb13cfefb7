// Learning-rate schedulers with PyTorch 1.13 semantics (torch/optim/lr_scheduler.py), stepped once per epoch.
// Like PyTorch, step() uses the recursive ("chainable") formulas of get_lr(), which update each group's
// current lr, and SequentialLR jumps a scheduler to epoch 0 with the closed form; the float64 operations are
// written in PyTorch's order so the values agree with it to the last bit or so.

export interface HasParamGroups {
  paramGroups: { lr: number; initialLr?: number }[];
}

export type SchedulerState = Record<string, unknown>;

export abstract class LRScheduler {
  /** Epochs stepped so far (0 right after construction, like PyTorch's last_epoch after its initial step). */
  lastEpoch = -1;
  /** Each group's initialLr, the lr the schedule is relative to. */
  baseLrs: number[];
  protected stepCount = 0;
  protected lastLr: number[] = [];

  constructor(readonly optimizer: HasParamGroups) {
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    // Subclasses call initialStep() at the end of their constructors, once their own fields are set
    // (PyTorch does it in the base constructor, which JS class fields would not allow).
  }

  /** PyTorch's _initial_step(): restart the step count and take step 0. Used by subclasses and SequentialLR. */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** Advances one epoch and sets every group's lr. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    this.apply(this.getLr());
  }

  /** PyTorch's deprecated step(epoch): jumps to `epoch` with the closed-form lr (SequentialLR uses it at milestones). */
  stepTo(epoch: number): void {
    this.stepCount++;
    this.lastEpoch = epoch;
    this.apply(this.closedFormLr());
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** Plain-JSON state: every field but the optimizer (as PyTorch saves __dict__), plus the class name. */
  stateDict(): SchedulerState {
    const out: SchedulerState = { type: this.constructor.name };
    for (const [k, v] of Object.entries(this)) if (!this.notState().includes(k)) out[k] = structuredClone(v);
    return out;
  }

  /**
   * Restores stateDict() output. Also writes lastLr and baseLrs back into the param groups, so resuming does
   * not depend on the optimizer's checkpoint carrying lr and initialLr (with PyTorch's, it changes nothing).
   */
  loadStateDict(state: SchedulerState): void {
    const name = this.constructor.name;
    if (state?.type !== name) throw new Error(`${name}.loadStateDict: the state is for ${String(state?.type)}, not ${name}`);
    const self = this as unknown as SchedulerState;
    for (const k of Object.keys(this)) if (!this.notState().includes(k) && k in state) self[k] = structuredClone(state[k]);
    const groups = this.optimizer.paramGroups;
    if (this.lastLr.length !== groups.length || this.baseLrs.length !== groups.length)
      throw new Error(`${name}.loadStateDict: the state has ${this.lastLr.length} param groups, the optimizer ${groups.length}`);
    groups.forEach((g, i) => {
      g.initialLr = this.baseLrs[i];
      g.lr = this.lastLr[i];
    });
  }

  /** PyTorch's get_lr(): the recursive formula, from the groups' current lrs. */
  protected abstract getLr(): number[];
  /** PyTorch's _get_closed_form_lr(): the lr at lastEpoch from baseLrs alone. */
  protected abstract closedFormLr(): number[];

  protected notState(): string[] {
    return ['optimizer'];
  }

  protected currentLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  private apply(lrs: number[]): void {
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLr = this.currentLrs();
  }
}

function check(ok: boolean, msg: string): void {
  if (!ok) throw new RangeError(msg);
}

/** Multiplies the lr by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  constructor(optimizer: HasParamGroups, public stepSize: number, public gamma = 0.1) {
    check(Number.isInteger(stepSize) && stepSize > 0, `StepLR: stepSize must be a positive integer, got ${stepSize}`);
    super(optimizer);
    this.initialStep();
  }

  protected override getLr(): number[] {
    const lrs = this.currentLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Multiplies the lr by gamma at each milestone epoch (a milestone listed k times multiplies by gamma^k). */
export class MultiStepLR extends LRScheduler {
  milestones: number[];

  constructor(optimizer: HasParamGroups, milestones: number[], public gamma = 0.1) {
    check(milestones.every(Number.isInteger), `MultiStepLR: milestones must be integers, got [${milestones}]`);
    super(optimizer);
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.initialStep();
  }

  protected override getLr(): number[] {
    const lrs = this.currentLrs();
    const k = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (k === 0) return lrs;
    return lrs.map((lr) => lr * this.gamma ** k);
  }

  protected override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length; // bisect_right
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}

/** Cosine from the base lr down to etaMin over tMax epochs (then back up, as PyTorch's does past tMax). */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: HasParamGroups, public tMax: number, public etaMin = 0) {
    check(tMax > 0, `CosineAnnealingLR: tMax must be positive, got ${tMax}`);
    super(optimizer);
    this.initialStep();
  }

  protected override getLr(): number[] {
    const e = this.lastEpoch, T = this.tMax, eta = this.etaMin;
    const lrs = this.currentLrs();
    if (e === 0) return lrs;
    if (this.stepCount === 1 && e > 0) return this.baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    // At the bottom of each cycle the ratio formula below would divide by zero: step up instead.
    if ((e - 1 - T) % (2 * T) === 0) return lrs.map((lr, i) => lr + ((this.baseLrs[i] - eta) * (1 - Math.cos(Math.PI / T))) / 2);
    return lrs.map((lr) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - eta) + eta);
  }

  protected override closedFormLr(): number[] {
    const e = this.lastEpoch, T = this.tMax, eta = this.etaMin;
    return this.baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((Math.PI * e) / T))) / 2);
  }
}

/** Scales the lr by a factor going linearly from startFactor to endFactor over totalIters epochs. */
export class LinearLR extends LRScheduler {
  constructor(optimizer: HasParamGroups, public startFactor = 1 / 3, public endFactor = 1.0, public totalIters = 5) {
    // PyTorch 1.13 accepts startFactor 0, then produces NaN at epoch 1; refuse it.
    check(startFactor > 0 && startFactor <= 1, `LinearLR: startFactor must be in (0, 1], got ${startFactor}`);
    check(endFactor >= 0 && endFactor <= 1, `LinearLR: endFactor must be in [0, 1], got ${endFactor}`);
    check(Number.isInteger(totalIters) && totalIters > 0, `LinearLR: totalIters must be a positive integer, got ${totalIters}`);
    super(optimizer);
    this.initialStep();
  }

  protected override getLr(): number[] {
    const e = this.lastEpoch, sf = this.startFactor, ef = this.endFactor;
    const lrs = this.currentLrs();
    if (e === 0) return lrs.map((lr) => lr * sf);
    if (e > this.totalIters) return lrs;
    return lrs.map((lr) => lr * (1 + (ef - sf) / (this.totalIters * sf + (e - 1) * (ef - sf))));
  }

  protected override closedFormLr(): number[] {
    const sf = this.startFactor, ef = this.endFactor;
    return this.baseLrs.map((b) => b * (sf + ((ef - sf) * Math.min(this.totalIters, this.lastEpoch)) / this.totalIters));
  }
}

/**
 * Runs schedulers one after another: schedulers[i] from epoch milestones[i-1] on, restarted at its epoch 0
 * there (e.g. a LinearLR warm-up, then CosineAnnealingLR). Construct the schedulers first, on the same optimizer.
 */
export class SequentialLR extends LRScheduler {
  milestones: number[];

  constructor(optimizer: HasParamGroups, readonly schedulers: LRScheduler[], milestones: number[]) {
    check(schedulers.length > 0, 'SequentialLR: needs at least one scheduler');
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new Error(`SequentialLR: scheduler ${i} belongs to a different optimizer`);
    });
    check(milestones.length === schedulers.length - 1,
      `SequentialLR: needs one milestone fewer than schedulers, got ${schedulers.length} schedulers and ${milestones.length} milestones`);
    check(milestones.every((m, i) => Number.isInteger(m) && (i === 0 || m > milestones[i - 1])), `SequentialLR: milestones must be increasing integers, got [${milestones}]`);
    super(optimizer);
    this.milestones = [...milestones];
    this.lastEpoch = 0;
    // Undo what constructing the schedulers did, then take the first one's initial step (as PyTorch does).
    for (const g of optimizer.paramGroups) g.lr = g.initialLr!;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0].initialStep();
    this.lastLr = schedulers[0].getLastLr();
  }

  override step(): void {
    this.lastEpoch++;
    const idx = this.milestones.filter((m) => m <= this.lastEpoch).length; // bisect_right
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.stepTo(0);
    else s.step();
    this.lastLr = s.getLastLr();
  }

  override stepTo(): void {
    throw new Error('SequentialLR: stepTo(epoch) is not supported (nor is step(epoch) in PyTorch); call step()');
  }

  override stateDict(): SchedulerState {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(state: SchedulerState): void {
    const subs = state?.schedulers;
    if (!Array.isArray(subs) || subs.length !== this.schedulers.length)
      throw new Error(`SequentialLR.loadStateDict: the state needs ${this.schedulers.length} scheduler states`);
    this.schedulers.forEach((s, i) => s.loadStateDict(subs[i] as SchedulerState));
    super.loadStateDict(state); // last, so the groups end with this scheduler's lastLr
  }

  protected override notState(): string[] {
    return ['optimizer', 'schedulers'];
  }

  // Never called: step() delegates to the current scheduler.
  protected override getLr(): number[] {
    return this.getLastLr();
  }

  protected override closedFormLr(): number[] {
    return this.getLastLr();
  }
}
