// `googlenet convert`: a state dict between safetensors and torch.save.
import { Command } from 'commander';
import { formatOfName, writeWeightsFile } from '../../io/weights.js';
import { readWeights } from '../../train/checkpoint.js';
import { display } from '../../util/display.js';

export const convert = new Command('convert')
  .description('converts weights between safetensors and torch.save (.pt/.pth), the format of OUT by its extension; IN (told apart by content) may be a training checkpoint, ours or PyTorch\'s, whose model is written')
  .argument('<in>', 'a state dict or training checkpoint (safetensors or .pt/.pth)')
  .argument('<out>', 'the file to write: .safetensors, .pt or .pth')
  .action((input: string, out: string) => {
    const format = formatOfName(out);
    if (!format) throw new Error(`${out}: cannot tell the format to write from the name; end it in .safetensors, .pt or .pth`);
    const sd = readWeights(input, (l) => display.info(l));
    writeWeightsFile(out, sd, format);
    display.info(`wrote ${out}: ${sd.size} tensors (${format})`);
  });
