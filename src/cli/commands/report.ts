// `googlenet report`: results.md, results.json and the plots from any store.
import { Command } from 'commander';
import { writeReport } from '../../experiment/report.js';
import { openStore } from '../../store/open.js';
import { display } from '../../util/display.js';
import { storeOption, storeUrl } from '../args.js';

export const report = new Command('report')
  .description('write results.md, results.json and plots/ from a store, as experiment does when it ends')
  .addOption(storeOption())
  .requiredOption('--out <dir>', 'folder for results.md, results.json and plots/')
  .action(async (o: { store?: string; out: string }) => {
    const store = await openStore(storeUrl(o), { existing: true });
    try {
      const r = await writeReport(store, o.out);
      display.info(`wrote ${r.markdown}, ${r.json} and ${r.plots.length} plots from ${store.url}`);
    } finally {
      await store.close();
    }
  });
