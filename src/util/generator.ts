// The default random generator, as torch.manual_seed sets PyTorch's: weight init,
// dropout masks and shuffling draw from it unless given their own Rng.
import { Rng } from './rng.js';

let generator = new Rng(0);

export function manualSeed(seed: number): Rng {
  generator = new Rng(seed);
  return generator;
}

export function defaultGenerator(): Rng {
  return generator;
}
