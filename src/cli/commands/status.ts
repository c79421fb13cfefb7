// `googlenet status`: every run of a store, as a table or as JSON.
import { Command } from 'commander';
import { openStore } from '../../store/open.js';
import { display } from '../../util/display.js';
import { storeOption, storeUrl } from '../args.js';
import { formatStatus, statusJson, storeStatus } from '../status-view.js';

export const status = new Command('status')
  .description('every run in a store: state, worker, epoch/batch, images/s, ETA, attempts and last error')
  .addOption(storeOption())
  .option('--json', 'make the last stdout line {runs: [{id, model, dataset, seed, val, status, epochs_done, epochs_planned, worker, attempts: [...]}]}')
  .action(async (o: { store?: string; json?: boolean }) => {
    const store = await openStore(storeUrl(o), { existing: true });
    try {
      const runs = await storeStatus(store);
      display.out(o.json ? JSON.stringify({ runs: runs.map(statusJson) }) : formatStatus(store.url, runs));
    } finally {
      await store.close();
    }
  });
