/**
 * Worker-thread pool for batch encoding. Each worker builds its own Tokenizer from the config; texts
 * go out in ~1 MB chunks to whichever worker is free, ids come back as transferred Int32Arrays.
 * Workers are ref'd only while a batch is in flight, so an idle pool never keeps the process alive.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { OlmoError } from './errors.js';

export interface BatchAsyncOptions {
  /** Worker threads to use (default 2). 1 encodes on the calling thread. */
  threads?: number;
}

interface Job { id: number; texts: readonly string[]; opts: unknown }
interface Reply { id: number; lens: Int32Array; flat: Int32Array; error?: string }

function workerUrl(): URL {
  const here = import.meta.url;
  // Running from TS sources (tests): workers need compiled JS, which `npm run build` produces.
  if (here.endsWith('.ts')) {
    const u = new URL('../dist/worker.js', here);
    if (!existsSync(fileURLToPath(u))) {
      throw new OlmoError('NOT_FOUND', 'worker script dist/worker.js not found', 'build @olmo/tokenizer first: npx tsc -p packages/tokenizer/tsconfig.json');
    }
    return u;
  }
  return new URL('./worker.js', here);
}

export class WorkerPool {
  readonly size: number;
  private workers: Worker[] = [];
  private nextId = 0;
  private pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  constructor(size: number, config: unknown, options: unknown) {
    this.size = size;
    const url = workerUrl();
    for (let i = 0; i < size; i++) {
      const w = new Worker(url, { workerData: { config, options } });
      w.unref();
      w.on('message', (r: Reply) => {
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        if (r.error) p.reject(new OlmoError('INTERNAL', `tokenizer worker failed: ${r.error}`));
        else p.resolve(r);
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(w);
    }
  }

  private run(w: Worker, texts: readonly string[], opts: unknown): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, texts, opts } satisfies Job);
    });
  }

  async encode(texts: readonly string[], opts: unknown): Promise<number[][]> {
    // chunk by characters so one huge document does not serialize the whole batch
    const chunks: [number, number][] = [];
    let start = 0;
    let chars = 0;
    for (let i = 0; i < texts.length; i++) {
      chars += texts[i]!.length;
      if (chars >= 1 << 20) { chunks.push([start, i + 1]); start = i + 1; chars = 0; }
    }
    if (start < texts.length) chunks.push([start, texts.length]);
    const out: number[][] = new Array(texts.length);
    let next = 0;
    for (const w of this.workers) w.ref();
    try {
      await Promise.all(this.workers.map(async (w) => {
        while (next < chunks.length) {
          const [a, b] = chunks[next++]!;
          const r = await this.run(w, texts.slice(a, b), opts);
          let o = 0;
          for (let k = 0; k < r.lens.length; k++) {
            out[a + k] = Array.from(r.flat.subarray(o, o + r.lens[k]!));
            o += r.lens[k]!;
          }
        }
      }));
    } finally {
      for (const w of this.workers) w.unref();
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
