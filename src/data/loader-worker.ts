// A data-loader worker thread: holds the shared images and builds the batches it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { buildBatch, type BatchJob } from './loader.js';

const images = workerData.images as Uint8Array;
parentPort!.on('message', (job: BatchJob) => {
  const input = buildBatch(images, job);
  parentPort!.postMessage({ id: job.id, input }, [input.buffer as ArrayBuffer]);
});
