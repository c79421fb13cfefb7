// `googlenet download`: the official CIFAR archive fetched, verified and extracted, and what the folder holds.
import path from 'node:path';
import { Command, Option } from 'commander';
import { DATASETS, FORMATS, readCifar, type DataFormat, type DatasetName } from '../../data/cifar.js';
import { ensureDataset, presentFolder } from '../../data/download.js';
import { display } from '../../util/display.js';
import { choice, datasetOption, DEFAULTS, listChoices } from '../args.js';

export const download = new Command('download')
  .description('download, verify (size and md5) and extract the official CIFAR archive, binary or (--format python) torchvision\'s; an existing dataset folder is used as is')
  .addOption(datasetOption())
  .addOption(new Option('--format <form>', `which archive to fetch: ${listChoices(FORMATS)} (torchvision's pickles, read without Python); `
    + 'given, only that form\'s folder counts; without it, either form\'s folder is used and binary is fetched when neither is there, as train, test, experiment and worker do').argParser(choice('--format', FORMATS)))
  .option('--data-dir <dir>', 'where to put the dataset folder', DEFAULTS.run.dataDir)
  .option('--mirror <url>', 'base URL (or archive URL, or local archive) to fetch from instead of the dataset authors\' site')
  .addOption(new Option('--expect-md5 <hex>', 'test only: the md5 to verify instead of the official one (size is then not checked)').hideHelp())
  .action(async (o: { dataset: DatasetName; format?: DataFormat; dataDir: string; mirror?: string; expectMd5?: string }) => {
    const present = presentFolder(o.dataset, o.dataDir, o.format);
    if (present) display.info(`${present} is already there; nothing to download`);
    const folder = await ensureDataset(o.dataset, o.dataDir, { mirror: o.mirror, format: o.format, ...(o.expectMd5 ? { expectMd5: o.expectMd5, expectBytes: null } : {}) });
    for (const split of ['train', 'test'] as const) {
      const data = readCifar(o.dataDir, o.dataset, split, o.format ? { format: o.format } : {});
      const official = DATASETS[o.dataset].records[split];
      const files = data.files.map((f) => `${path.basename(f.file)} ${f.records}`).join(', ');
      display.out(`${o.dataset} ${split}: ${data.count} images (${files})${data.count < official ? `; the official set has ${official}, this folder holds a subset` : ''}`);
    }
    display.out(`ready: ${folder}`);
  });
