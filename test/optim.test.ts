// Optimizers against PyTorch 1.13: three steps of each configuration on a 5-element
// parameter with fixed gradients. Expected values were computed with torch 1.13
// (Debian's python3-torch) when this test was written; the test itself needs no Python.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adadelta, Adam, AdamW, SGD, type Optimizer } from '../src/optim/optimizer.js';
import { StepLR } from '../src/optim/lr_scheduler.js';
import { Tensor } from '../src/tensor/tensor.js';

const p0 = [0.5, -1.25, 2.0, 0.0, -0.3];
const grads = [[0.1, -0.2, 0.3, -0.4, 0.05], [-0.3, 0.1, 0.2, 0.0, 0.6], [0.25, 0.25, -0.5, 0.1, -0.05]];

const torchReference: Record<string, number[][]> = {
  adadelta: [[0.496839314699173, -1.246838092803955, 1.996837854385376, 0.003162178909406066, -0.3031559884548187], [0.5011020302772522, -1.2489228248596191, 1.9942667484283447, 0.003162178909406066, -0.3076097071170807], [0.497188001871109, -1.2526699304580688, 1.998490333557129, 0.001995605416595936, -0.3070663511753082]],
  adadelta_wd: [[0.4964683949947357, -1.2464653253555298, 1.9964648485183716, 0.0035349817480891943, -0.3033333420753479], [0.5008716583251953, -1.246043086051941, 1.993133544921875, 0.0035300427116453648, -0.3081896901130676], [0.49593406915664673, -1.2481049299240112, 1.9959673881530762, 0.0021110661327838898, -0.30713972449302673]],
  sgd: [[0.49000000953674316, -1.2300000190734863, 1.9700000286102295, 0.04000000283122063, -0.3050000071525574], [0.5200000405311584, -1.2400000095367432, 1.9500000476837158, 0.04000000283122063, -0.36500000953674316], [0.49500003457069397, -1.2649999856948853, 2.0, 0.030000003054738045, -0.36000001430511475]],
  sgd_momentum: [[0.4894999861717224, -1.2287499904632568, 1.968000054359436, 0.04000000283122063, -0.30470001697540283], [0.5066094398498535, -1.2175191640853882, 1.919428825378418, 0.07596400380134583, -0.36265578866004944], [0.4990519881248474, -1.2288155555725098, 1.9189872741699219, 0.09926323592662811, -0.409989595413208]],
  sgd_nesterov: [[0.4800499975681305, -1.209625005722046, 1.9392000436782837, 0.07599999755620956, -0.30893000960350037], [0.5276328921318054, -1.2091141939163208, 1.8715955018997192, 0.10825559496879578, -0.42615005373954773], [0.4953870475292206, -1.2459458112716675, 1.9219406843185425, 0.11814834922552109, -0.4676164388656616]],
  adam: [[0.49000000953674316, -1.2400000095367432, 1.9900000095367432, 0.009999999776482582, -0.3100000023841858], [0.49494192004203796, -1.2373366355895996, 1.9802964925765991, 0.016700582578778267, -0.3179718554019928], [0.4939749240875244, -1.2407281398773193, 1.9810947179794312, 0.02017439715564251, -0.32358402013778687]],
  adam_wd_amsgrad: [[0.49000006914138794, -1.2400000095367432, 1.9900000095367432, 0.009999975562095642, -0.3099995255470276], [0.4935157597064972, -1.2331516742706299, 1.980181097984314, 0.016250021755695343, -0.3180520236492157], [0.49022185802459717, -1.2311034202575684, 1.9767917394638062, 0.018903210759162903, -0.32281768321990967]],
  adamw: [[0.4899500012397766, -1.2398749589920044, 1.989799976348877, 0.009999999776482582, -0.3099699914455414], [0.49484291672706604, -1.237087607383728, 1.9798974990844727, 0.01669958233833313, -0.3179108500480652], [0.49382641911506653, -1.240355372428894, 1.9804977178573608, 0.020171726122498512, -0.3234912157058716]],
  adamw_wd: [[0.48750001192092896, -1.2337499856948853, 1.9800000190734863, 0.009999999776482582, -0.3084999918937683], [0.49000442028045654, -1.2249178886413574, 1.9603965282440186, 0.01665058359503746, -0.314929336309433], [0.48658740520477295, -1.2221847772598267, 1.9513927698135376, 0.020041145384311676, -0.3189668655395508]],
};

const makers: Record<string, (p: Tensor[]) => Optimizer> = {
  adadelta: (p) => new Adadelta(p, { lr: 1.0 }),
  adadelta_wd: (p) => new Adadelta(p, { lr: 0.5, rho: 0.8, eps: 1e-5, weightDecay: 0.1 }),
  sgd: (p) => new SGD(p, { lr: 0.1 }),
  sgd_momentum: (p) => new SGD(p, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }),
  sgd_nesterov: (p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
  adam: (p) => new Adam(p, { lr: 0.01 }),
  adam_wd_amsgrad: (p) => new Adam(p, { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1, amsgrad: true }),
  adamw: (p) => new AdamW(p, { lr: 0.01 }),
  adamw_wd: (p) => new AdamW(p, { lr: 0.01, weightDecay: 0.5 }),
};

function param(): Tensor {
  const p = Tensor.fromArray(p0, [5]).keep();
  p.requiresGrad = true;
  return p;
}

function setGrad(p: Tensor, g: number[]): void {
  p.grad?.dispose();
  p.grad = Tensor.fromArray(g, [5]).keep();
}

for (const [name, make] of Object.entries(makers)) {
  test(`${name} matches torch.optim over three steps`, () => {
    const p = param();
    const opt = make([p]);
    grads.forEach((g, step) => {
      setGrad(p, g);
      opt.step();
      const got = p.toArray();
      torchReference[name][step].forEach((want, i) =>
        assert.ok(Math.abs(got[i] - want) <= 2e-7 * Math.max(1, Math.abs(want)), `${name} step ${step + 1} [${i}]: ${got[i]} vs torch ${want}`));
    });
    opt.dispose();
    p.grad?.dispose();
    p.dispose();
  });
}

test('optimizer state dict restores an interrupted run exactly', () => {
  for (const name of ['adadelta', 'sgd_momentum', 'adam_wd_amsgrad']) {
    const a = param();
    const optA = makers[name]([a]);
    setGrad(a, grads[0]);
    optA.step();
    const saved = optA.stateDict();
    const b = Tensor.fromArray(a.toArray(), [5]).keep();
    b.requiresGrad = true;
    const optB = makers[name]([b]);
    // meta goes through JSON, as it does in a checkpoint
    optB.loadStateDict({ tensors: saved.tensors, meta: JSON.parse(JSON.stringify(saved.meta)) });
    for (const g of grads.slice(1)) {
      setGrad(a, g);
      setGrad(b, g);
      optA.step();
      optB.step();
    }
    assert.deepEqual(b.toArray(), a.toArray(), `${name}: resumed run differs`);
    for (const t of [a, b]) {
      t.grad?.dispose();
      t.dispose();
    }
    optA.dispose();
    optB.dispose();
  }
});

test('optimizers reject bad hyper-parameters and mismatched state', () => {
  const p = param();
  assert.throws(() => new SGD([p], { lr: -1 }), /invalid learning rate -1/);
  assert.throws(() => new Adam([p], { betas: [1.5, 0.9] }), /invalid beta 1.5/);
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /nesterov/);
  const s = new Adam([p]).stateDict();
  assert.throws(() => new SGD([p], { lr: 0.1 }).loadStateDict(s), /state is for Adam, not SGD/);
  p.dispose();
});

test('StepLR drives the optimizer learning rate as in the seed (gamma 0.7 per epoch)', () => {
  const p = param();
  const opt = new Adadelta([p], { lr: 1.0 });
  const sched = new StepLR(opt, 1, 0.7);
  const lrs = [opt.paramGroups[0].lr];
  for (let e = 0; e < 3; e++) {
    sched.step();
    lrs.push(opt.paramGroups[0].lr);
  }
  assert.deepEqual(lrs.map((v) => +v.toFixed(12)), [1, 0.7, 0.49, 0.343]);
  p.dispose();
});
