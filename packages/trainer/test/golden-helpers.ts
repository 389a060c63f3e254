import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TrainData } from '../src/index.js';

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

export interface GoldenOptimizer {
  name: string; betas: [number, number]; eps: number; weight_decay: number; no_decay: string[]; max_grad_norm: number;
  /** OLMo's param-group options; absent in older fixtures, which use OLMo's defaults (false). */
  decay_norm_and_bias?: boolean; decay_embeddings?: boolean;
}
export interface GoldenTrain {
  optimizer: GoldenOptimizer;
  lr: number[]; batches: number[][][]; loss: number[]; grad_norm: number[];
}
export const readTrain = (d: string): GoldenTrain => JSON.parse(readFileSync(join(d, 'train.json'), 'utf8'));

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i]! - b[i]!) ** 2; den += b[i]! ** 2; }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Keys of a fixture's `optimizer` record that describe rules in words, or are read directly by the harness. */
const DESCRIPTIVE = new Set(['name', 'betas', 'eps', 'weight_decay', 'no_decay', 'max_grad_norm', 'clip_rule', 'decay_rule', 'groups_rule']);
/** OLMo `optimizer.*` config keys that change the param groups, as the fixture names them. */
const GROUP_OPTIONS = ['decay_norm_and_bias', 'decay_embeddings'] as const;

/**
 * The fixture's optimizer record as the OLMo `optimizer` config section the trainer reads (group
 * options included, OLMo's defaults where the fixture is silent). A key the harness does not know
 * throws, so a fixture that records a new setting cannot be silently trained with a default.
 */
export function fixtureOptimizerConfig(o: GoldenOptimizer) {
  const unknown = Object.keys(o).filter((k) => !DESCRIPTIVE.has(k) && !(GROUP_OPTIONS as readonly string[]).includes(k));
  if (unknown.length) throw new Error(`train.json optimizer names ${unknown.join(', ')}, which the golden harness does not honour yet`);
  if (o.name !== 'adamw') throw new Error(`train.json optimizer ${o.name}: the golden harness only replays adamw`);
  return {
    name: 'adamw' as const, betas: o.betas, eps: o.eps, weight_decay: o.weight_decay,
    decay_norm_and_bias: o.decay_norm_and_bias ?? false, decay_embeddings: o.decay_embeddings ?? false,
  };
}

/** The fixture's batches as trainer data: step k trains on batches[k] (B instances, in order). */
export function goldenTrainData(g: GoldenTrain, B: number, T: number): TrainData {
  return {
    numInstances: g.batches.length * B, seqLen: T, orderHash: 'golden',
    batchIndices: (k) => Uint32Array.from({ length: B }, (_, i) => k * B + i),
    get: (i) => ({ inputIds: Int32Array.from(g.batches[Math.floor(i / B)]![i % B]!), index: i }),
  };
}
