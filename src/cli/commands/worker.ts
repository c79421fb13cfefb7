// `googlenet worker`: takes runs from a PostgreSQL store's queue, one at a time, on this machine.
import { Command } from 'commander';
import { runWorker } from '../../experiment/worker.js';
import { convProblem } from '../../nn/conv-algorithm.js';
import { openStore } from '../../store/open.js';
import { workerName } from '../../store/store.js';
import { configFromFlat, type RunOptions } from '../../train/config.js';
import { DEFAULTS, examples, globalConv, globalThreads, heartbeatOption, nonNegativeInt, nonNegativeNumber, positiveInt, storeOption, storeUrl } from '../args.js';
import { queueOf, reportInterrupted, resumeCommand, stopOnSignals } from '../runs.js';
import { GROUP } from '../train-options.js';

type WorkerFlags = { store?: string; dataDir: string; mirror?: string; untilEmpty?: boolean; heartbeat: number } & Partial<RunOptions>;

export const worker = new Command('worker')
  .description('train runs from a PostgreSQL store\'s queue, one at a time, on this machine: take one, claim it, train it (downloading its dataset when missing), record it, take the next')
  .optionsGroup(GROUP.data)
  .option('--data-dir <dir>', 'where the CIFAR folders are (downloaded there if missing)', DEFAULTS.run.dataDir)
  .option('--mirror <url>', 'download the archives from this base URL (or archive URL / local archive) instead')
  .option('--workers <n>', 'data loader threads', nonNegativeInt('--workers'), DEFAULTS.run.workers)
  .optionsGroup(GROUP.run)
  .addOption(storeOption())
  .option('--until-empty', 'exit 0 once every run in the store is complete or failed (default: wait for more work)')
  .addOption(heartbeatOption())
  .option('--checkpoint-every <minutes>', 'minutes of training between checkpoints within an epoch (0: only at each epoch\'s end)', nonNegativeNumber('--checkpoint-every'), DEFAULTS.run.checkpointEvery)
  .option('--test-batch-size <n>', 'input batch size for testing', positiveInt('--test-batch-size'), DEFAULTS.run.testBatchSize)
  .optionsGroup(GROUP.output)
  .option('--log-interval <n>', 'batches between training log lines', positiveInt('--log-interval'), DEFAULTS.run.logInterval)
  .addHelpText('after', examples(
    '# on every machine: take runs from the queue until none is left (the password from ~/.pgpass)',
    'googlenet --threads 16 worker --store postgres://gn@dbhost:5432/runs --data-dir ./data --until-empty',
  ))
  .action(async (o: WorkerFlags, cmd: Command) => {
    // up front, before a run is taken (a bf16 run taken with --conv winograd is refused when it starts)
    const refused = convProblem(globalConv(cmd), false);
    if (refused) throw new Error(refused);
    const store = await openStore(storeUrl(o));
    const queue = await queueOf(store);
    if (!queue) {
      await store.close();
      throw new Error(`${store.url}: a worker takes runs from a PostgreSQL store's queue; on one machine use \`googlenet experiment --store ${store.url}\``);
    }
    const stop = stopOnSignals();
    try {
      const { run } = configFromFlat({ ...o, threads: globalThreads(cmd), conv: globalConv(cmd) });
      const r = await runWorker({ store, queue, worker: { name: workerName(), heartbeat: o.heartbeat }, run, untilEmpty: !!o.untilEmpty, stop, mirror: o.mirror });
      if (r.interrupted) reportInterrupted(r.interrupted, resumeCommand());
    } finally {
      stop.remove();
      await queue.close();
      await store.close();
    }
  });
