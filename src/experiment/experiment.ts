// The seed's experiment with one command: every chosen network on every chosen dataset, one
// after another, each run recorded epoch by epoch in DIR/experiment.sqlite (the single
// source of results.md, results.json and the plots). Complete runs are skipped; an
// interrupted one resumes from its last complete epoch.
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetName } from '../data/cifar.js';
import { loadData } from '../data/load.js';
import { recipeDifference, configFromFlat, type Recipe, type TrainConfig } from '../train/config.js';
import { train, type TrainResult } from '../train/trainer.js';
import { ExperimentDb } from './db.js';
import { writeReport } from './report.js';

export const DB_FILE = 'experiment.sqlite';

export interface ExperimentOptions {
  out: string;
  datasets: DatasetName[];
  models: string[];
  /** The recipe and run options shared by every run; model, dataset and out are set per run. */
  base: TrainConfig;
  mirror?: string | null;
  info?: (line: string) => void;
  log?: (line: string) => void;
}

export interface ExperimentResult {
  runs: { model: string; dataset: DatasetName; status: 'complete' | 'skipped' | 'failed'; result?: TrainResult; error?: string }[];
  report: { markdown: string; json: string; plots: string[] } | null;
}

/** The recipe a runs row was trained with (rows written before the recipe/run split hold one flat config). */
function storedRecipe(config: Record<string, unknown>): Recipe {
  return 'recipe' in config ? (config.recipe as Recipe) : configFromFlat(config).recipe;
}

export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  const info = o.info ?? ((l: string) => console.error(l));
  const dry = o.base.run.dryRun;
  fs.mkdirSync(o.out, { recursive: true });
  const db = dry ? null : ExperimentDb.open(path.join(o.out, DB_FILE));
  const runs: ExperimentResult['runs'] = [];
  const total = o.datasets.length * o.models.length;
  try {
    for (const dataset of o.datasets) {
      // read the data once per dataset, shared by its runs
      const { train: trainSplit, test: testSplit } = await loadData({ ...o.base.recipe, dataset, dataDir: o.base.run.dataDir, mirror: o.mirror });
      const data = { train: trainSplit!, test: testSplit! };
      for (const model of o.models) {
        const n = runs.length + 1;
        const config: TrainConfig = { recipe: { ...o.base.recipe, model, dataset }, run: { ...o.base.run, out: path.join(o.out, `${model}-${dataset}`) } };
        const done = db?.run(model, dataset);
        if (done?.status === 'complete' && !recipeDifference(storedRecipe(done.config), config.recipe)) {
          info(`[${n}/${total}] ${model} on ${dataset}: complete in ${o.out}, skipped`);
          runs.push({ model, dataset, status: 'skipped' });
          continue;
        }
        info(`[${n}/${total}] ${model} on ${dataset}`);
        let runId = -1;
        try {
          const result = await train(config, { resume: true, data }, {
            log: o.log,
            info,
            onStart: (s) => {
              runId = db?.beginRun({ model, dataset, classes: s.classes, params: s.params, macs: s.macs, epochsPlanned: config.recipe.epochs, config: { ...config }, threads: s.threads }, s.resumedFrom) ?? -1;
            },
            onEpoch: (r) => db?.recordEpoch(runId, r),
          });
          if (db && runId >= 0) db.completeRun(runId);
          runs.push({ model, dataset, status: 'complete', result });
        } catch (e) {
          const msg = (e as Error).message;
          if (db && runId >= 0) db.failRun(runId, msg);
          info(`[${n}/${total}] ${model} on ${dataset} failed: ${msg}`);
          runs.push({ model, dataset, status: 'failed', error: msg });
        }
        if (db) await writeReport(db, o.out, DB_FILE);
      }
    }
    const report = db ? await writeReport(db, o.out, DB_FILE) : null;
    return { runs, report };
  } finally {
    db?.close();
  }
}
