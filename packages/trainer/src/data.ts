/**
 * The trainer's view of the data: OLMo's global order over a memmap token dataset.
 * The global batch at (0-based) step k of an epoch is `indices[k*B : (k+1)*B]` where
 * `indices = globalIndices({numInstances, seed: data.seed ?? seed, epoch})` — from @olmo/data
 * (numpy-exact PCG64 shuffle). Instances are `seqLen`-token chunks of the token files.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Generator } from '@olmo/tensor-cuda';
import type { TrainConfig } from './config.js';
import { ConfigError } from './errors.js';

export interface Instance {
  inputIds: Int32Array; index: number; labelMask?: Uint8Array | null;
  /** Packed fine-tuning rows: per-token document ids (−1 = padding); attention stays within a document. */
  documentIds?: Int32Array | null;
}

/** What the trainer needs from a dataset; research code can pass its own. */
export interface TrainData {
  readonly numInstances: number;
  readonly seqLen: number;
  /** Hash identifying the data and its order (saved in checkpoints; resume refuses a change). */
  readonly orderHash: string;
  /** Global instance indices of the batch at 0-based step k (global batch size B). */
  batchIndices(step: number, B: number): Uint32Array;
  get(index: number): Instance;
  close?(): void;
}

interface DataModule {
  MemMapDataset?: { open(paths: string[], o: { seqLen: number; dtype?: 'uint16' | 'uint32'; vocabSize?: number }): Promise<{ length: number; get(i: number): { inputIds: Int32Array; index: number; labelMask?: Uint8Array | null } ; close?(): void }> };
  DataMix?: {
    load(nameOrPath: string, mixesDir?: string): MixLike; fromObject(o: unknown, origin?: string): MixLike;
  };
  globalIndices?: (o: { numInstances: number; seed: number; epoch?: number; worldSize?: number; dropLast?: boolean }) => Uint32Array;
}

interface MixLike {
  toObject(): unknown;
  realise(o: { seqLen?: number; dtype?: 'uint16' | 'uint32'; seed?: number; vocabSize?: number; baseDir?: string }): { length: number; get(i: number): { inputIds: Int32Array; index: number }; formatTable(): string; close?(): void };
}

export async function loadDataModule(): Promise<DataModule> {
  try { return (await import('@olmo/data')) as unknown as DataModule; } catch { return {}; }
}

/** Simple positioned-read token dataset (used when @olmo/data's MemMapDataset is unavailable). */
class TokenFiles {
  private fds: number[] = [];
  private starts: number[] = [];
  readonly length: number;
  constructor(readonly paths: string[], readonly seqLen: number, readonly bytes: 2 | 4) {
    let n = 0;
    for (const p of paths) {
      if (!existsSync(p)) throw new ConfigError('data.paths', `token file not found: ${p}`, 'run `olmo data prepare` first');
      const size = statSync(p).size;
      this.fds.push(openSync(p, 'r'));
      this.starts.push(n);
      n += Math.floor(size / bytes / seqLen);
    }
    this.length = n;
  }
  get(i: number): { inputIds: Int32Array; index: number; labelMask?: Uint8Array | null } {
    let f = this.starts.length - 1;
    while (this.starts[f]! > i) f--;
    const local = i - this.starts[f]!;
    const buf = Buffer.alloc(this.seqLen * this.bytes);
    readSync(this.fds[f]!, buf, 0, buf.length, local * this.seqLen * this.bytes);
    const ids = new Int32Array(this.seqLen);
    for (let t = 0; t < this.seqLen; t++) ids[t] = this.bytes === 2 ? buf.readUInt16LE(2 * t) : buf.readUInt32LE(4 * t);
    return { inputIds: ids, index: i };
  }
  close(): void { for (const fd of this.fds) closeSync(fd); this.fds = []; }
}

function fallbackOrder(n: number, seed: number, epoch: number): Uint32Array {
  const g = new Generator(seed + epoch);
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(g.random() * (i + 1)); const t = a[i]!; a[i] = a[j]!; a[j] = t; }
  return a;
}

export function dataPaths(c: TrainConfig): string[] {
  if (c.data.mix) return [];
  if (c.data.paths?.length) return c.data.paths;
  if (c.data.datasets) return Object.values(c.data.datasets).flat();
  throw new ConfigError('data.paths', 'no training data: set data.paths to prepared token files', 'run `olmo data prepare` first');
}

/** Builds the run's dataset + OLMo global order from the config. */
export async function buildTrainData(c: TrainConfig): Promise<TrainData> {
  if (c.finetune.mode) return (await import('./finetune-data.js')).buildFinetuneData(c);
  const paths = dataPaths(c);
  const seqLen = c.model.max_sequence_length;
  const dtype = c.data.memmap_dtype ?? ((c.model.embedding_size ?? c.model.vocab_size) <= 65536 ? 'uint16' : 'uint32');
  const mod = await loadDataModule();
  let mixSpec: unknown = null;
  let ds: { length: number; get(i: number): { inputIds: Int32Array; index: number; labelMask?: Uint8Array | null }; close?(): void };
  if (c.data.mix) {
    if (!mod.DataMix) throw new ConfigError('data.mix', '@olmo/data does not provide DataMix');
    const mix = typeof c.data.mix === 'string'
      ? mod.DataMix.load(existsSync(c.data.mix) ? c.data.mix : c.data.mix, join(process.cwd(), 'configs', 'mixes'))
      : mod.DataMix.fromObject(c.data.mix, 'data.mix');
    mixSpec = mix.toObject();
    const realised = mix.realise({ seqLen, dtype, seed: c.data.seed ?? c.seed, vocabSize: c.model.embedding_size ?? c.model.vocab_size });
    console.log(`[olmo] data mix:\n${realised.formatTable()}`);
    ds = realised;
  } else ds = mod.MemMapDataset ? await mod.MemMapDataset.open(paths, { seqLen, dtype, vocabSize: c.model.embedding_size ?? c.model.vocab_size }) : new TokenFiles(paths, seqLen, dtype === 'uint16' ? 2 : 4);
  const n = ds.length;
  if (n === 0) throw new ConfigError('data.paths', `the token files hold fewer than ${seqLen} tokens (one instance)`);
  const seed = c.data.seed ?? c.seed;
  const orderFn = mod.globalIndices
    ? (epoch: number) => mod.globalIndices!({ numInstances: n, seed, epoch, worldSize: 1, dropLast: c.data.drop_last })
    : (epoch: number) => fallbackOrder(n, seed, epoch);
  if (!mod.globalIndices) console.warn('[olmo] @olmo/data globalIndices unavailable: using a seeded fallback order (not OLMo-identical)');
  const h = createHash('sha256');
  h.update(JSON.stringify({ seed, n, seqLen, dtype, exact: !!mod.globalIndices, mix: mixSpec }));
  for (const p of paths) h.update(`${p}:${existsSync(p) ? statSync(p).size : 0}`);
  const orderHash = h.digest('hex').slice(0, 16);
  const cache = new Map<number, Uint32Array>();
  const order = (epoch: number) => { let o = cache.get(epoch); if (!o) { cache.clear(); o = orderFn(epoch + (c.epoch ?? 0)); cache.set(epoch, o); } return o; };
  return {
    numInstances: n, seqLen, orderHash,
    batchIndices(step: number, B: number): Uint32Array {
      const per = Math.floor(order(0).length / B);
      if (per < 1) throw new ConfigError('global_train_batch_size', `${B} exceeds the ${n} instances in the dataset`);
      const epoch = Math.floor(step / per), k = step % per;
      return order(epoch).subarray(k * B, (k + 1) * B);
    },
    get: (i: number) => { const r = ds.get(i); return { inputIds: Int32Array.from(r.inputIds), index: i, labelMask: r.labelMask ?? null }; },
    close: () => ds.close?.(),
  };
}
