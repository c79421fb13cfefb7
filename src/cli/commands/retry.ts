// `googlenet retry`: a failed run queued again, its crash count reset.
import { Command } from 'commander';
import { openStore } from '../../store/open.js';
import { DATASET_NAMES } from '../../train/config.js';
import { display } from '../../util/display.js';
import { listChoices, modelHelp, storeOption, storeUrl } from '../args.js';
import { queueOf } from '../runs.js';

export const retry = new Command('retry')
  .description('queue a failed run again (its crash count reset); workers then take it')
  .addOption(storeOption())
  .argument('<model>', modelHelp)
  .argument('<dataset>', listChoices(DATASET_NAMES))
  .action(async (model: string, dataset: string, o: { store?: string }) => {
    const store = await openStore(storeUrl(o), { existing: true });
    try {
      const run = await store.run(model, dataset);
      if (!run) throw new Error(`${store.url} has no run ${model} on ${dataset}; \`googlenet status --store URL\` lists its runs`);
      await store.retry(run.id);
      // workers take runs from a PostgreSQL store's queue: the failed run has no job left there
      const queue = await queueOf(store);
      await queue?.enqueue(run).finally(() => queue.close());
      display.info(`${model} on ${dataset} is queued again in ${store.url}`);
    } finally {
      await store.close();
    }
  });
