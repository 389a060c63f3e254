/**
 * Runs a per-file job over files with N worker threads (1 = in this thread). Workers need compiled JS:
 * from TS sources (tests) the dist/ build is used, as @olmo/tokenizer's pool does.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DataError, OlmoError } from '../errors.js';

export function workerScript(name: string): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const u = new URL(`../../dist/curation/${name}.js`, here);
    if (!existsSync(fileURLToPath(u))) {
      throw new DataError('NOT_FOUND', `worker script dist/curation/${name}.js not found`, 'build @olmo/data first: npx tsc -p packages/data/tsconfig.json');
    }
    return u;
  }
  return new URL(`./${name}.js`, here);
}

interface WorkerError { message: string; code?: string; hint?: string; path?: string }

/** This process's execArgv without the `olmo-source` export condition (workers run compiled JS). */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    if ((a[i] === '--conditions' || a[i] === '-C') && a[i + 1] === 'olmo-source') { i++; continue; }
    if (a[i] === '--conditions=olmo-source') continue;
    out.push(a[i]!);
  }
  return out;
}

export async function runInWorkers<R>(script: string, workerData: unknown, files: readonly string[], processes: number, onResult: (r: R) => void): Promise<void> {
  const url = workerScript(script);
  const n = Math.max(1, Math.min(processes, files.length));
  let next = 0;
  let failure: Error | undefined;
  await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => {
    const w = new Worker(url, { workerData, execArgv: workerExecArgv() });
    const feed = (): void => {
      if (failure || next >= files.length) { void w.terminate().then(() => resolve()); return; }
      w.postMessage({ file: files[next++] });
    };
    w.on('message', (m: { ok?: R; error?: WorkerError }) => {
      if (m.error) {
        // re-create the worker's typed error here (message already carries the hint)
        failure ??= Object.assign(new OlmoError(m.error.code ?? 'INTERNAL', m.error.message), { hint: m.error.hint ?? '', path: m.error.path });
        void w.terminate().then(() => resolve());
        return;
      }
      onResult(m.ok as R);
      feed();
    });
    w.on('error', (e) => { failure ??= e; resolve(); });
    feed();
  })));
  if (failure) throw failure;
}
