// torchvision's CIFAR transforms on raw CHW bytes: RandomCrop(32, padding) with zero
// padding, RandomHorizontalFlip(p), then ToTensor + Normalize(mean, std). The random
// choices are drawn separately (drawAugmentation) so a loader can fix them per sample from
// its seed, whichever thread applies them.
import type { Rng } from '../util/rng.js';

export interface Normalization {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** The seed's Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)) and the usual per-dataset statistics. */
export const NORMALIZATIONS: Record<'half' | 'cifar10' | 'cifar100', Normalization> = {
  half: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  cifar100: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
};

export interface Augmentation {
  /** RandomHorizontalFlip probability (0: off). The seed uses 0.5. */
  flip: number;
  /** RandomCrop(32, padding) padding (0: off). The usual CIFAR recipe uses 4. */
  cropPadding: number;
}

export const NO_AUGMENTATION: Augmentation = { flip: 0, cropPadding: 0 };

/** Per-sample choices: flip (0/1) and the crop's top-left corner in the padded image. */
export interface AugmentDraws {
  flip: Uint8Array;
  top: Uint8Array;
  left: Uint8Array;
}

/** Draws in torchvision's order per sample: RandomCrop's (i, j), then the flip's coin. */
export function drawAugmentation(n: number, aug: Augmentation, rng: Rng): AugmentDraws {
  const d: AugmentDraws = { flip: new Uint8Array(n), top: new Uint8Array(n), left: new Uint8Array(n) };
  for (let k = 0; k < n; k++) {
    if (aug.cropPadding > 0) {
      d.top[k] = rng.int(2 * aug.cropPadding + 1);
      d.left[k] = rng.int(2 * aug.cropPadding + 1);
    } else {
      d.top[k] = d.left[k] = 0;
    }
    d.flip[k] = aug.flip > 0 && rng.random() < aug.flip ? 1 : 0;
  }
  return d;
}

/**
 * Writes one normalised 3x32x32 image into out[at..]: pixel (y, x) of the output is
 * pixel (y + top − pad, x' + left − pad) of the source, x' = 31 − x when flipped, and 0
 * (black, as torchvision's fill) outside the source.
 */
export function transformImage(src: Uint8Array, srcAt: number, out: Float32Array, at: number, flip: boolean, top: number, left: number, pad: number, norm: Normalization): void {
  for (let c = 0; c < 3; c++) {
    const mean = norm.mean[c], std = norm.std[c];
    const zero = (0 - mean) / std;
    const plane = srcAt + c * 1024;
    const o = at + c * 1024;
    for (let y = 0; y < 32; y++) {
      const sy = y + top - pad;
      const row = o + y * 32;
      if (sy < 0 || sy >= 32) {
        out.fill(zero, row, row + 32);
        continue;
      }
      for (let x = 0; x < 32; x++) {
        const sx = (flip ? 31 - x : x) + left - pad;
        out[row + x] = sx < 0 || sx >= 32 ? zero : (src[plane + sy * 32 + sx] / 255 - mean) / std;
      }
    }
  }
}
