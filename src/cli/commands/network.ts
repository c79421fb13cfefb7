// `googlenet network`: network files — check one (its layers, shapes, parameters and MACs, or the
// one-line reason it is refused), show a network as a file to copy and edit, print the format's schema.
import fs from 'node:fs';
import { Command } from 'commander';
import { createModel, resolveNetwork, reconstructionNoteFor, variantOf } from '../../models/googlenet.js';
import { describeLayers, formatNetworkFile, networkHash, NETWORK_CHECK_CLASSES, readNetworkFile } from '../../models/network.js';
import { formatSummary, summarize } from '../../models/summary.js';
import { display } from '../../util/display.js';
import { examples, modelHelp, positiveInt } from '../args.js';

/** The schema as the package ships it (src/models/network.schema.json, for editors). */
const SCHEMA_FILE = new URL('../../../../src/models/network.schema.json', import.meta.url);

const check = new Command('check')
  .description("read and validate a network file, then print its summary: every layer's output shape, parameters and MACs for one 32x32 image, with its one-line form and SHA-256; or the one line that says what is wrong")
  .argument('<file>', 'a network file (JSON, "format": "googlenet-network/1")')
  .option('--classes <n>', 'number of classes', positiveInt('--classes'), NETWORK_CHECK_CLASSES)
  .option('--json', 'print one JSON object {name, sha256, layers, params, macs, summary}')
  .action((file: string, o: { classes: number; json?: boolean }) => {
    const net = readNetworkFile(file);
    const model = createModel(net, o.classes);
    const s = summarize(model, net.name);
    model.dispose();
    const hash = networkHash(net);
    if (o.json) return display.out(JSON.stringify({ name: net.name, sha256: hash, layers: describeLayers(net), params: s.params, macs: s.macs, summary: s }));
    display.out(`${file}: ${net.name}, ${net.module} modules, stem ${net.stem.join(' ') || '—'}, body ${describeLayers(net)}, head dropout ${net.dropout}\nsha256 ${hash}\n`);
    display.out(formatSummary(s));
  });

const show = new Command('show')
  .description("print a network as a network file, every key written out: a built-in one to copy and edit (without its name: a copy is named after its file), or a file as it is read (defaults filled)")
  .argument('<network>', modelHelp)
  .action((arg: string) => {
    const net = resolveNetwork(arg);
    const builtin = variantOf(arg);
    const text = formatNetworkFile(net);
    display.out((builtin ? text.replace(/^  "name": .*\n/m, '') : text).trimEnd());
    const note = builtin && reconstructionNoteFor(builtin, NETWORK_CHECK_CLASSES);
    if (note) display.info(`googlenet: ${arg} is our ${note}`);
  });

const schema = new Command('schema')
  .description('print the JSON Schema of network files (also shipped as googlenet/network.schema.json), for editors: "$schema" in a file may point to it')
  .action(() => display.out(fs.readFileSync(SCHEMA_FILE, 'utf8').trimEnd()));

export const network = new Command('network')
  .description('network files: check one, show a network as a file to copy and edit, print the schema')
  .addHelpText('after', examples(
    '# a built-in network as a file, edited, checked, then trained like the seven',
    'googlenet network show googlenet-short2 > my-net.json',
    'googlenet network check my-net.json',
    'googlenet train --model ./my-net.json --dataset cifar10',
  ))
  .addCommand(check)
  .addCommand(show)
  .addCommand(schema);
