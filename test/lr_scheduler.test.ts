import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LRScheduler, StepLR, MultiStepLR, CosineAnnealingLR, LinearLR, SequentialLR, type HasParamGroups,
} from '../src/optim/lr_scheduler.js';

// Two param groups, lr 1.0 and 0.1 (like torch.optim.SGD([{lr: 1.0}, {lr: 0.1}])).
const makeOpt = (): HasParamGroups => ({ paramGroups: [{ lr: 1.0 }, { lr: 0.1 }] });

function assertClose(actual: number, expected: number, what: string) {
  const tol = 1e-12 * Math.max(Math.abs(expected), Number.MIN_VALUE);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, PyTorch ${expected}`);
}

interface Case {
  name: string;
  make: (o: HasParamGroups) => LRScheduler;
  lrs: number[][]; // per group: getLastLr() after construction, then after each of 12 step() calls
}

// Expected values computed with PyTorch 1.13 (torch.optim.lr_scheduler, same arguments, SGD with param groups
// lr=1.0 and lr=0.1; optimizer.step() then scheduler.step(), recording get_last_lr()), printed with repr().
const cases: Case[] = [
  {
    name: 'StepLR(3,0.1)',
    make: o => new StepLR(o, 3, 0.1),
    lrs: [
      [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.00010000000000000003],
      [0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003, 0.00010000000000000003, 1.0000000000000004e-05],
    ],
  },
  {
    name: 'StepLR(2,0.5)',
    make: o => new StepLR(o, 2, 0.5),
    lrs: [
      [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625, 0.0625, 0.03125, 0.03125, 0.015625],
      [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.00625, 0.00625, 0.003125, 0.003125, 0.0015625],
    ],
  },
  {
    name: 'MultiStepLR([2,5,5,9],0.1)',
    make: o => new MultiStepLR(o, [2, 5, 5, 9], 0.1),
    lrs: [
      [1.0, 1.0, 0.1, 0.1, 0.1, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003, 0.00010000000000000003, 0.00010000000000000003],
      [0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.00010000000000000005, 0.00010000000000000005, 0.00010000000000000005, 0.00010000000000000005, 1.0000000000000006e-05, 1.0000000000000006e-05, 1.0000000000000006e-05, 1.0000000000000006e-05],
    ],
  },
  {
    name: 'CosineAnnealingLR(10)',
    make: o => new CosineAnnealingLR(o, 10),
    lrs: [
      [1.0, 0.9755282581475768, 0.9045084971874737, 0.7938926261462366, 0.6545084971874737, 0.5, 0.34549150281252633, 0.2061073738537635, 0.09549150281252633, 0.024471741852423234, 0.0, 0.024471741852423234, 0.09549150281252665],
      [0.1, 0.09755282581475769, 0.09045084971874738, 0.07938926261462367, 0.06545084971874739, 0.05000000000000001, 0.03454915028125264, 0.020610737385376353, 0.009549150281252635, 0.002447174185242324, 0.0, 0.0024471741852423235, 0.009549150281252666],
    ],
  },
  {
    name: 'CosineAnnealingLR(5,0.01)',
    make: o => new CosineAnnealingLR(o, 5, 0.01),
    lrs: [
      [1.0, 0.905463412215599, 0.657963412215599, 0.352036587784401, 0.10453658778440104, 0.01, 0.104536587784401, 0.35203658778440117, 0.6579634122155993, 0.9054634122155996, 1.0000000000000004, 0.9054634122155997, 0.6579634122155994],
      [0.1, 0.09140576474687263, 0.06890576474687263, 0.04109423525312736, 0.018594235253127367, 0.01, 0.018594235253127367, 0.04109423525312739, 0.06890576474687267, 0.09140576474687269, 0.10000000000000006, 0.09140576474687272, 0.06890576474687268],
    ],
  },
  {
    name: 'LinearLR()',
    make: o => new LinearLR(o),
    lrs: [
      [0.3333333333333333, 0.4666666666666667, 0.6000000000000001, 0.7333333333333335, 0.8666666666666669, 1.0000000000000002, 1.0000000000000002, 1.0000000000000002, 1.0000000000000002, 1.0000000000000002, 1.0000000000000002, 1.0000000000000002, 1.0000000000000002],
      [0.03333333333333333, 0.04666666666666667, 0.060000000000000005, 0.07333333333333335, 0.08666666666666668, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
    ],
  },
  {
    name: 'LinearLR(0.1,1.0,3)',
    make: o => new LinearLR(o, 0.1, 1.0, 3),
    lrs: [
      [0.1, 0.39999999999999997, 0.7, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
      [0.010000000000000002, 0.04, 0.07, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
    ],
  },
  {
    name: 'LinearLR(1.0,0.2,4)',
    make: o => new LinearLR(o, 1.0, 0.2, 4),
    lrs: [
      [1.0, 0.8, 0.6000000000000001, 0.4, 0.19999999999999996, 0.19999999999999996, 0.19999999999999996, 0.19999999999999996, 0.19999999999999996, 0.19999999999999996, 0.19999999999999996, 0.19999999999999996, 0.19999999999999996],
      [0.1, 0.08000000000000002, 0.06000000000000001, 0.04000000000000001, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02],
    ],
  },
  {
    name: 'Seq(LinearLR(0.1,1,3),Cosine(10))@3',
    make: o => new SequentialLR(o, [new LinearLR(o, 0.1, 1.0, 3), new CosineAnnealingLR(o, 10)], [3]),
    lrs: [
      [0.1, 0.39999999999999997, 0.7, 1.0, 0.9755282581475768, 0.9045084971874737, 0.7938926261462366, 0.6545084971874737, 0.5, 0.34549150281252633, 0.2061073738537635, 0.09549150281252633, 0.024471741852423234],
      [0.010000000000000002, 0.04, 0.07, 0.1, 0.09755282581475769, 0.09045084971874738, 0.07938926261462367, 0.06545084971874739, 0.05000000000000001, 0.03454915028125264, 0.020610737385376353, 0.009549150281252635, 0.002447174185242324],
    ],
  },
  {
    name: 'Seq(LinearLR(0.25,1,2),MultiStep([4,6],0.5),Step(2,0.1))@[2,8]',
    make: o => new SequentialLR(o, [new LinearLR(o, 0.25, 1.0, 2), new MultiStepLR(o, [4, 6], 0.5), new StepLR(o, 2, 0.1)], [2, 8]),
    lrs: [
      [0.25, 0.625, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 0.1, 0.1, 0.010000000000000002],
      [0.025, 0.0625, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002],
    ],
  },
];

for (const c of cases) {
  test(`${c.name} matches PyTorch 1.13`, () => {
    const opt = makeOpt();
    const s = c.make(opt);
    const steps = c.lrs[0].length;
    for (let e = 0; e < steps; e++) {
      if (e > 0) s.step();
      const last = s.getLastLr();
      for (let g = 0; g < 2; g++) {
        assertClose(last[g], c.lrs[g][e], `group ${g} epoch ${e}`);
        assert.equal(opt.paramGroups[g].lr, last[g], 'the group lr is what getLastLr() reports');
      }
    }
    assert.deepEqual(opt.paramGroups.map((g) => g.initialLr), [1.0, 0.1]);
  });
}

test('stateDict is plain JSON and resumes exactly, for every scheduler', () => {
  for (const c of cases) {
    for (const at of [0, 2, 3, 5]) {
      const ref = c.make(makeOpt());
      const opt = makeOpt();
      const s = c.make(opt);
      for (let i = 0; i < at; i++) {
        ref.step();
        s.step();
      }
      const saved = JSON.parse(JSON.stringify(s.stateDict())) as Record<string, unknown>;
      // Resume into a fresh optimizer (whose lrs were not restored) and fresh schedulers.
      const opt2 = makeOpt();
      const s2 = c.make(opt2);
      s2.loadStateDict(saved);
      assert.deepEqual(s2.getLastLr(), ref.getLastLr(), `${c.name} at ${at}`);
      for (let i = at; i < 12; i++) {
        ref.step();
        s2.step();
        assert.deepEqual(s2.getLastLr(), ref.getLastLr(), `${c.name} resumed at ${at}, epoch ${i + 1}`);
        assert.deepEqual(opt2.paramGroups.map((g) => g.lr), ref.getLastLr());
      }
      assert.equal(s2.lastEpoch, 12);
    }
  }
});

test('state dict contents and mismatches', () => {
  const s = new StepLR(makeOpt(), 3, 0.5);
  s.step();
  assert.deepEqual(s.stateDict(), { type: 'StepLR', lastEpoch: 1, baseLrs: [1, 0.1], stepCount: 2, lastLr: [1, 0.1], stepSize: 3, gamma: 0.5 });
  assert.throws(() => new MultiStepLR(makeOpt(), [2]).loadStateDict(s.stateDict()), /state is for StepLR, not MultiStepLR/);
  const one: HasParamGroups = { paramGroups: [{ lr: 1 }] };
  assert.throws(() => new StepLR(one, 3).loadStateDict(s.stateDict()), /2 param groups, the optimizer 1/);
});

test('construction sets initialLr once and applies the initial lr', () => {
  const opt: HasParamGroups = { paramGroups: [{ lr: 0.5 }, { lr: 0.2, initialLr: 0.4 }] };
  const s = new LinearLR(opt, 0.5, 1, 2);
  assert.equal(s.lastEpoch, 0);
  assert.deepEqual(s.baseLrs, [0.5, 0.4]);
  assert.deepEqual(opt.paramGroups, [{ lr: 0.25, initialLr: 0.5 }, { lr: 0.1, initialLr: 0.4 }]);
});

test('invalid arguments are rejected', () => {
  const o = makeOpt();
  assert.throws(() => new StepLR(o, 0), /stepSize must be a positive integer/);
  assert.throws(() => new CosineAnnealingLR(o, 0), /tMax must be positive/);
  assert.throws(() => new LinearLR(o, 0), /startFactor must be in \(0, 1\]/);
  assert.throws(() => new LinearLR(o, 0.5, 1.5), /endFactor must be in \[0, 1\]/);
  assert.throws(() => new MultiStepLR(o, [1.5]), /milestones must be integers/);
  const a = new LinearLR(o), b = new StepLR(o, 2);
  assert.throws(() => new SequentialLR(o, [a, b], []), /one milestone fewer than schedulers/);
  assert.throws(() => new SequentialLR(o, [a, b, b], [3, 3]), /increasing/);
  assert.throws(() => new SequentialLR(makeOpt(), [a, b], [3]), /different optimizer/);
});
