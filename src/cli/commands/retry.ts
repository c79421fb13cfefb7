// `googlenet retry`: a failed run queued again, its crash count reset.
import { Command } from 'commander';
import { openStore } from '../../store/open.js';
import { DATASET_NAMES } from '../../train/config.js';
import { display } from '../../util/display.js';
import { listChoices, modelHelp, storeOption, storeUrl } from '../args.js';
import { queueOf } from '../runs.js';
import { runLabel, selectorOptions, selectRun, type RunSelector } from '../select.js';

export const retry = new Command('retry')
  .description('queue a failed run again (its crash count reset); workers then take it')
  .addOption(storeOption())
  .argument('[model]', modelHelp)
  .argument('[dataset]', listChoices(DATASET_NAMES))
  .addOption(selectorOptions()[0]!).addOption(selectorOptions()[1]!).addOption(selectorOptions()[2]!)
  .action(async (model: string | undefined, dataset: string | undefined, o: { store?: string } & Omit<RunSelector, 'model' | 'dataset'>) => {
    const store = await openStore(storeUrl(o), { existing: true });
    try {
      const run = await selectRun(store, { ...o, model, dataset });
      await store.retry(run.id);
      // workers take runs from a PostgreSQL store's queue: the failed run has no job left there
      const queue = await queueOf(store);
      await queue?.enqueue(run).finally(() => queue.close());
      display.info(`${runLabel(run, await store.runs())} is queued again in ${store.url}`);
    } finally {
      await store.close();
    }
  });
