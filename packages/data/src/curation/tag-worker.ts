/** worker_threads entry of `olmo data tag --processes N`: tags the files the main thread sends. */
import { parentPort, workerData } from 'node:worker_threads';
import { importTaggerModules } from './registry.js';
import { tagFile } from './tag-file.js';

interface Init { experiment: string; taggers: string[]; modules: string[]; resume: boolean }
const init = workerData as Init;
const ready = importTaggerModules(init.modules);

parentPort!.on('message', async (msg: { file: string } | { exit: true }) => {
  if ('exit' in msg) { process.exit(0); }
  try {
    await ready;
    const r = await tagFile(msg.file, init.experiment, init.taggers, init.resume);
    parentPort!.postMessage({ ok: r });
  } catch (e) {
    const err = e as Error & { code?: string; hint?: string; path?: string };
    parentPort!.postMessage({ error: { message: err.message, code: err.code, hint: err.hint, path: err.path } });
  }
});
