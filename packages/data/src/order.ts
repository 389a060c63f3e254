/**
 * OLMo's global data order (olmo/data/iterable_dataset.py), bit-identical to numpy:
 *   indices = arange(N, uint32); Generator(PCG64(seed + epoch)).shuffle(indices)
 *   pad to total_size by repeating the head (or truncate when dropLast)
 *   rank r reads indices[start:][r::world]; global batch k = indices[k*B:(k+1)*B]
 * The unpadded permutation can be cached as a real .npy keyed by (seed, epoch, N).
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { badArg, corrupt } from './errors.js';
import { readNpyHeader, writeNpy } from './npy.js';
import { toSeedBigInt, type Seed } from './pcg64.js';
import { globalOrder, globalOrderAsync } from './shuffle.js';

export interface GlobalIndicesOptions {
  numInstances: number;
  seed: Seed;
  epoch?: number;
  worldSize?: number;
  dropLast?: boolean;
  /** Directory of cached orders (`global-order-seed{S}-epoch{E}-n{N}.npy`); read if present, else written. */
  cacheDir?: string;
}

/** OLMo's total_size: world * ceil(N / world), or world * ceil((N - world) / world) with drop_last when N % world != 0. */
export function totalSize(numInstances: number, worldSize = 1, dropLast = false): number {
  checkCount(numInstances, 'numInstances');
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw badArg(`worldSize must be a positive integer, got ${worldSize}`);
  const numSamples = dropLast && numInstances % worldSize !== 0
    ? Math.ceil((numInstances - worldSize) / worldSize)
    : Math.ceil(numInstances / worldSize);
  return Math.max(0, numSamples) * worldSize;
}

function checkCount(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw badArg(`${name} must be a non-negative integer, got ${n}`);
  if (n > 2 ** 32) throw badArg(`${name} = ${n} exceeds 2^32 (OLMo's indices are uint32)`);
}

export function orderCachePath(cacheDir: string, seed: Seed, epoch: number, numInstances: number): string {
  return path.join(cacheDir, `global-order-seed${toSeedBigInt(seed)}-epoch${epoch}-n${numInstances}.npy`);
}

/** Reads a cached order into `into` (length N) if the file exists and matches; returns success. */
function readCachedOrder(file: string, into: Uint32Array): boolean {
  if (!existsSync(file)) return false;
  const fd = openSync(file, 'r');
  try {
    const h = readNpyHeader(file, fd);
    if (h.descr !== '<u4' || h.shape.length !== 1 || h.shape[0] !== into.length) {
      throw corrupt(file, `cached order has dtype ${h.descr} shape (${h.shape}) but (${into.length},) uint32 was expected`, 'delete the cache file');
    }
    if (statSync(file).size !== h.dataOffset + into.byteLength) throw corrupt(file, 'cached order is truncated', 'delete the cache file');
    const view = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
    for (let off = 0; off < view.length;) {
      const r = readSync(fd, view, off, Math.min(1 << 30, view.length - off), h.dataOffset + off);
      if (r <= 0) throw corrupt(file, 'short read', 'delete the cache file');
      off += r;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * OLMo's global index array for one epoch (padded or truncated to total_size). The shuffle runs in
 * native code in place; padding reuses the same buffer (no second copy of the order).
 */
export function globalIndices(opts: GlobalIndicesOptions): Uint32Array {
  const p = plan(opts);
  if (!p.cached) {
    globalOrder(p.n, p.seed, p.order);
    p.save();
  }
  return p.finish();
}

/** globalIndices with the shuffle on a worker thread (keeps the event loop responsive for huge N). */
export async function globalIndicesAsync(opts: GlobalIndicesOptions): Promise<Uint32Array> {
  const p = plan(opts);
  if (!p.cached) {
    await globalOrderAsync(p.n, p.seed, p.order);
    p.save();
  }
  return p.finish();
}

function plan(opts: GlobalIndicesOptions) {
  const { numInstances: n, seed, epoch = 0, worldSize = 1, dropLast = false } = opts;
  checkCount(n, 'numInstances');
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw badArg(`epoch must be a non-negative integer, got ${epoch}`);
  const total = totalSize(n, worldSize, dropLast);
  const buf = new Uint32Array(Math.max(total, n));
  const order = buf.subarray(0, n);
  const cacheFile = opts.cacheDir ? orderCachePath(opts.cacheDir, seed, epoch, n) : undefined;
  const cached = !!cacheFile && readCachedOrder(cacheFile, order);
  return {
    n,
    seed: toSeedBigInt(seed) + BigInt(epoch),
    order,
    cached,
    save() {
      if (!cacheFile) return;
      mkdirSync(opts.cacheDir!, { recursive: true });
      writeNpy(cacheFile, order);
    },
    finish(): Uint32Array {
      if (total <= n) return buf.subarray(0, total);
      // Pad by repeating the head (np.concatenate with indices[:pad] / np.tile for pad > N).
      for (let filled = n; filled < total;) {
        const k = Math.min(n, total - filled);
        buf.copyWithin(filled, 0, k);
        filled += k;
      }
      return buf;
    },
  };
}

/** The indices rank `rank` reads: indices[startIndex:][rank::worldSize] (OLMo's IterableDataset). */
export function rankIndices(indices: Uint32Array, rank: number, worldSize: number, startIndex = 0): Uint32Array {
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw badArg(`worldSize must be a positive integer, got ${worldSize}`);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= worldSize) throw badArg(`rank ${rank} out of range for world size ${worldSize}`);
  if (!Number.isSafeInteger(startIndex) || startIndex < 0) throw badArg(`startIndex must be a non-negative integer, got ${startIndex}`);
  const len = Math.max(0, indices.length - startIndex);
  const out = new Uint32Array(Math.max(0, Math.ceil((len - rank) / worldSize)));
  for (let k = 0, i = startIndex + rank; i < indices.length; i += worldSize, k++) out[k] = indices[i]!;
  return out;
}

/** The global batch consumed at (0-based) step `step`: indices[step*B : (step+1)*B] (a view). */
export function globalBatch(indices: Uint32Array, step: number, globalBatchSize: number): Uint32Array {
  if (!Number.isSafeInteger(globalBatchSize) || globalBatchSize < 1) throw badArg(`globalBatchSize must be a positive integer, got ${globalBatchSize}`);
  if (!Number.isSafeInteger(step) || step < 0) throw badArg(`step must be a non-negative integer, got ${step}`);
  return indices.subarray(Math.min(indices.length, step * globalBatchSize), Math.min(indices.length, (step + 1) * globalBatchSize));
}

/** Steps in one epoch: floor(total_size / B) (OLMo drops the last partial global batch). */
export function stepsPerEpoch(indices: Uint32Array | number, globalBatchSize: number): number {
  const n = typeof indices === 'number' ? indices : indices.length;
  return Math.floor(n / globalBatchSize);
}

/**
 * Where rank `rank` resumes after `step` completed steps of this epoch: OLMo restarts at
 * global_train_examples_seen_this_epoch = step * B and re-slices by rank. A different world size on
 * resume is handled the same way (regenerate `indices` with the new worldSize first).
 */
export function resumeRankIndices(indices: Uint32Array, opts: { step: number; globalBatchSize: number; rank: number; worldSize: number }): Uint32Array {
  return rankIndices(indices, opts.rank, opts.worldSize, opts.step * opts.globalBatchSize);
}
