import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../../..');
export const sharedDir = resolve(repoRoot, '../shared');

/** Fixture folders with a train.json: ../shared/golden/* plus OLMO_GOLDEN_DIRS (colon-separated). */
export function goldenTrainDirs(): string[] {
  const dirs: string[] = [];
  const g = join(sharedDir, 'golden');
  if (existsSync(g)) for (const e of readdirSync(g).sort()) if (existsSync(join(g, e, 'train.json'))) dirs.push(join(g, e));
  for (const d of (process.env.OLMO_GOLDEN_DIRS ?? '').split(':').filter(Boolean)) if (existsSync(join(d, 'train.json'))) dirs.push(resolve(d));
  return dirs;
}

export interface GoldenTrain {
  optimizer: { name: string; betas: [number, number]; eps: number; weight_decay: number; no_decay: string[]; max_grad_norm: number };
  lr: number[]; batches: number[][][]; loss: number[]; grad_norm: number[];
}
export const readTrain = (d: string): GoldenTrain => JSON.parse(readFileSync(join(d, 'train.json'), 'utf8'));

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i]! - b[i]!) ** 2; den += b[i]! ** 2; }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}
