// Weights files of either format, told apart by their content, never their name: a torch.save
// zip starts with a zip header (`PK\x03\x04`), the legacy torch.save format with a pickled magic
// number, and anything else is read as safetensors (whose first 8 bytes are a header length).
import type { HostTensor } from '../tensor/host.js';
import { readFileBytes } from './disk.js';
import { parseSafetensors, writeSafetensors } from './safetensors.js';
import { isLegacyTorch, isZip, parseTorch, writeTorch } from './torch.js';

export type WeightsFormat = 'safetensors' | 'pt';
export const WEIGHTS_FORMATS: readonly WeightsFormat[] = ['safetensors', 'pt'];

/** The format of a weights file's bytes. */
export function sniffWeights(bytes: Uint8Array): WeightsFormat {
  return isZip(bytes) || isLegacyTorch(bytes) ? 'pt' : 'safetensors';
}

/** A file's bytes (typed as Uint8Array so the package's typings need no @types/node); errors name the file. */
/**
 * The tensors of a weights file's bytes: a safetensors file, or a torch.save state dict (or a
 * checkpoint dict holding one); `info` hears what was done to get them (a stripped prefix, …).
 */
export function parseWeights(bytes: Uint8Array, name: string, info: (line: string) => void = () => {}): Map<string, HostTensor> {
  if (sniffWeights(bytes) === 'safetensors') return parseSafetensors(bytes, name);
  const r = parseTorch(bytes, name);
  for (const n of r.notes) info(n);
  return r.tensors;
}

export function readWeightsFile(file: string, info?: (line: string) => void): Map<string, HostTensor> {
  return parseWeights(readFileBytes(file), file, info);
}

/** The format a file name asks for: .pt/.pth are torch.save, .safetensors safetensors; null otherwise. */
export function formatOfName(file: string): WeightsFormat | null {
  if (/\.(pt|pth)$/i.test(file)) return 'pt';
  if (/\.safetensors$/i.test(file)) return 'safetensors';
  return null;
}

/** What `export` writes: a state dict in either weights format, or an ONNX model (src/io/onnx.ts). */
export type ExportFormat = WeightsFormat | 'onnx';
export const EXPORT_FORMATS: readonly ExportFormat[] = [...WEIGHTS_FORMATS, 'onnx'];

/** The format `export` writes when none is asked for: .onnx is ONNX, else as formatOfName, else safetensors. */
export function exportFormatOfName(file: string): ExportFormat {
  return /\.onnx$/i.test(file) ? 'onnx' : formatOfName(file) ?? 'safetensors';
}

/** Writes a state dict in `format`, atomically. */
export function writeWeightsFile(file: string, tensors: Map<string, HostTensor>, format: WeightsFormat, metadata: Record<string, string> = { format: 'pt' }): void {
  if (format === 'pt') writeTorch(file, tensors);
  else writeSafetensors(file, tensors, metadata);
}
