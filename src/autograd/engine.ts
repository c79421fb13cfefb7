// Reverse-mode autograd: each op records a node holding its inputs and a closure that
// maps the output's gradient to the inputs' gradients. backward() walks the graph once
// in reverse topological order, accumulating gradients where a tensor feeds several ops,
// frees each intermediate gradient as soon as it is consumed, and drops the graph
// afterwards, as PyTorch does.
//
// Accumulation is in place (addInPlace), as PyTorch's engine does where it can: into the first
// gradient that arrived for a tensor, which the engine owns (every backward closure returns new
// tensors, which only the engine holds until it consumes and frees them), and into a leaf's
// .grad, which keeps its identity across backward() calls as PyTorch's does. Never into the
// caller's `grad` argument. The additions happen in the same order as before, and a + b in place
// is bit for bit a + b into a new tensor.
import { backend, Tensor } from '../tensor/tensor.js';
import { timed } from '../util/profile.js';

export interface Node {
  readonly name: string;
  readonly inputs: readonly (Tensor | null)[];
  /** Gradients for each input (null where the input needs none); null once used. */
  backward: ((gradOutput: Tensor) => (Tensor | null)[]) | null;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording a graph (PyTorch's torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an op on these inputs must record a node. */
export function needsGrad(inputs: readonly (Tensor | null)[]): boolean {
  return gradEnabled && inputs.some((t) => t?.requiresGrad);
}

/** Attaches a backward closure to `out` when any input requires grad. */
export function record(
  out: Tensor,
  name: string,
  inputs: readonly (Tensor | null)[],
  backward: (gradOutput: Tensor) => (Tensor | null)[],
): Tensor {
  if (needsGrad(inputs)) {
    out.requiresGrad = true;
    out.gradFn = { name, inputs, backward };
  }
  return out;
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const inputs = top[0].gradFn?.inputs ?? [];
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++];
      if (next && next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }
  return order.reverse();
}

/** Accumulates d(root)/d(leaf) into every leaf's .grad (root must be a scalar unless grad is given). */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) throw new Error('backward(): tensor does not require grad and has no grad_fn');
  if (!grad && root.numel !== 1)
    throw new Error(`backward(): grad can be implicitly created only for scalar outputs, got shape [${root.shape.join(', ')}]`);
  const b = backend();
  const grads = new Map<Tensor, Tensor>();
  grads.set(root, grad ?? Tensor.full(root.shape, 1));
  for (const t of topologicalOrder(root)) {
    const g = grads.get(t);
    if (!g) continue;
    grads.delete(t);
    const node = t.gradFn;
    if (!node) {
      // a leaf: PyTorch accumulates into .grad across backward() calls
      if (t.grad) {
        const into = t.grad;
        timed('grad accumulation', 'backward', 0, () => b.addInPlace(into.handle, g.handle));
        if (g !== grad) g.dispose();
      } else {
        t.grad = g === grad ? g.clone().keep() : g.keep();
      }
      continue;
    }
    if (!node.backward) throw new Error(`backward(): the graph through ${node.name} was already freed; call backward once per forward`);
    const inputGrads = node.backward(g);
    node.backward = null;
    if (g !== grad) g.dispose();
    node.inputs.forEach((input, i) => {
      const ig = inputGrads[i];
      if (!ig) return;
      if (!input || !input.requiresGrad) {
        ig.dispose();
        return;
      }
      const prev = grads.get(input);
      if (!prev) grads.set(input, ig);
      else if (prev !== grad) {
        timed('grad accumulation', 'backward', 0, () => b.addInPlace(prev.handle, ig.handle));
        ig.dispose();
      } else {
        // a backward handed on the caller's grad unchanged: it is theirs, so sum into a new tensor
        grads.set(input, new Tensor(timed('grad accumulation', 'backward', 0, () => b.add(prev.handle, ig.handle)), input.shape));
        ig.dispose();
      }
    });
  }
}
