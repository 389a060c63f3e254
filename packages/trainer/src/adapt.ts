/**
 * AdaptTrainer: the fine-tuning loop (SFT or DPO) built from the loop pieces in sft.ts / dpo.ts.
 *
 * One optimizer step k (1-based):
 *   lr = linear warmup over warmupSteps, then constant or linear decay to 0 at maxSteps
 *     (Open Instruct's default `lr_scheduler_type: linear`);
 *   batch = order[(k−1)·B : k·B], where order concatenates per-epoch permutations of the examples
 *     (Generator(seed + epoch)), so the batch of any step is known without replaying the run;
 *   microbatches of microBatchSize examples/pairs — gradients accumulate; SFT 'token' divides by
 *     the labelled targets of the whole batch, DPO scales each microbatch by its share of pairs, so
 *     the accumulated gradient is the full batch's whatever the split;
 *   clip to maxGradNorm, AdamW step, evaluators, checkpoint.
 * Checkpoints (saveFolder/stepN, written to a temp dir then renamed): model/ (HF folder),
 * optim.safetensors, state.json (step, mode, seed, and for DPO the cached reference log-probs —
 * after resuming the model is no longer the reference, so they cannot be recomputed).
 * Resuming from stepN continues bit-for-bit as if the run had not stopped.
 * FSDP is not wired here (single process); see docs/architecture.md.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, OlmoError, clipGradNorm, copyInto, sumSquares, tensor, tidy, type Tensor } from '@olmo/tensor-cuda';
import type { DpoPair, SftExample } from '@olmo/data';
import { IGNORE_INDEX } from '@olmo/data';
import { CheckpointError, NonFiniteError } from './errors.js';
import { AdamW, type NamedParam } from './optim.js';
import { readSafetensorsF32 } from './safetensors.js';
import { sftBatch, sftLoss, type AdaptModel, type SftNormalization } from './sft.js';
import { dpoStep, referenceLogps, type DpoLossType, type ReferenceLogps } from './dpo.js';

export type AdaptMode = 'sft' | 'dpo';

/** The model surface the loop needs (an @olmo/model OLMo satisfies it). */
export interface AdaptTrainable extends AdaptModel {
  namedParameters(): Array<[string, Tensor]>;
  zeroGrad(): void;
  savePretrained(dir: string, opts?: { dtype?: 'float32' | 'bfloat16' }): Promise<unknown>;
}

export type AdaptMetrics = Record<string, number>;

export interface AdaptEvaluator {
  label: string;
  /** Runs every `interval` steps (and at the end); returns metrics (prefixed eval/<label>/). */
  interval: number;
  run(model: AdaptTrainable): AdaptMetrics | Promise<AdaptMetrics>;
}

export interface AdaptOptions {
  mode: AdaptMode;
  model: AdaptTrainable;
  sft?: readonly SftExample[];
  dpo?: readonly DpoPair[];
  padId: number;
  /** Row length (packing) / maximum example length. */
  seqLen: number;
  packing?: boolean;
  /** Examples (SFT) or pairs (DPO) per optimizer step. */
  batchSize: number;
  microBatchSize?: number;
  maxSteps: number;
  lr: number;
  weightDecay?: number;
  betas?: [number, number];
  eps?: number;
  warmupSteps?: number;
  schedule?: 'linear' | 'constant';
  maxGradNorm?: number | null;
  normalization?: SftNormalization;
  beta?: number;
  lossType?: DpoLossType;
  seed?: number;
  saveFolder?: string;
  /** Save every N steps (and at the end when saveFolder is set). */
  saveInterval?: number | null;
  evaluators?: AdaptEvaluator[];
  log?: (line: string) => void;
}

export interface AdaptResult { step: number; history: AdaptMetrics[] }

const bad = (m: string, hint = 'see the @olmo/trainer README, "Fine-tuning"') => new OlmoError('INVALID_ARGUMENT', m, hint);

export class AdaptTrainer {
  readonly o: Required<Pick<AdaptOptions, 'packing' | 'microBatchSize' | 'weightDecay' | 'eps' | 'warmupSteps' | 'schedule' | 'normalization' | 'beta' | 'lossType' | 'seed'>> & AdaptOptions;
  readonly params: NamedParam[];
  readonly optimizer: AdamW;
  step = 0;
  /** DPO: reference log-probs of every pair (computed on the first fit, or restored). */
  reference: ReferenceLogps | null = null;
  private readonly n: number;
  private readonly log: (s: string) => void;

  constructor(opts: AdaptOptions) {
    this.o = {
      packing: true, microBatchSize: opts.batchSize, weightDecay: 0, eps: 1e-8, warmupSteps: 0, schedule: 'linear',
      normalization: 'token', beta: 0.1, lossType: 'dpo', seed: 0, ...opts,
    };
    const o = this.o;
    if (o.mode !== 'sft' && o.mode !== 'dpo') throw bad(`unknown mode '${String(o.mode)}'`, "use 'sft' or 'dpo'");
    this.n = o.mode === 'sft' ? (o.sft?.length ?? 0) : (o.dpo?.length ?? 0);
    if (this.n === 0) throw bad(`no ${o.mode === 'sft' ? 'SFT examples' : 'DPO pairs'} to train on`, 'check the data file and the skip counts');
    for (const [k, v] of [['batchSize', o.batchSize], ['microBatchSize', o.microBatchSize], ['maxSteps', o.maxSteps], ['seqLen', o.seqLen]] as const) {
      if (!Number.isInteger(v) || v < 1) throw bad(`${k} must be a positive integer, got ${v}`);
    }
    if (!(o.lr > 0)) throw bad(`lr must be > 0, got ${o.lr}`);
    this.log = o.log ?? ((s) => process.stdout.write(s + '\n'));
    this.params = o.model.namedParameters().map(([name, param]) => ({ name, param }));
    for (const p of this.params) p.param.requiresGrad_(true);
    this.optimizer = new AdamW(this.params, { lr: o.lr, betas: o.betas ?? [0.9, 0.999], eps: o.eps, weightDecay: o.weightDecay });
  }

  /** Example indices of the batch at 1-based step k. */
  batchIndices(k: number): number[] {
    const out: number[] = [];
    for (let i = (k - 1) * this.o.batchSize; i < k * this.o.batchSize; i++) {
      const epoch = Math.floor(i / this.n);
      out.push(this.permutation(epoch)[i % this.n]!);
    }
    return out;
  }

  private perms = new Map<number, Uint32Array>();
  private permutation(epoch: number): Uint32Array {
    let p = this.perms.get(epoch);
    if (!p) {
      const g = new Generator(this.o.seed * 1000003 + epoch);
      p = Uint32Array.from({ length: this.n }, (_, i) => i);
      for (let i = this.n - 1; i > 0; i--) { const j = Math.floor(g.uniform() * (i + 1)); const t = p[i]!; p[i] = p[j]!; p[j] = t; }
      this.perms.set(epoch, p);
    }
    return p;
  }

  lrAt(k: number): number {
    const { lr, warmupSteps: w, maxSteps: T, schedule } = this.o;
    if (k <= w) return (lr * k) / Math.max(1, w);
    return schedule === 'constant' ? lr : lr * Math.max(0, (T - k) / Math.max(1, T - w));
  }

  private ensureReference(): ReferenceLogps {
    if (!this.reference) {
      this.log(`[adapt] DPO: computing reference log-probs of ${this.n} pairs (once, cached)`);
      this.reference = referenceLogps(this.o.model, this.o.dpo!, { padId: this.o.padId, batchSize: this.o.microBatchSize });
    }
    return this.reference;
  }

  /** One optimizer step; returns its metrics. */
  trainStep(): AdaptMetrics {
    const o = this.o;
    const k = ++this.step;
    const lr = this.lrAt(k);
    this.optimizer.setLr(lr);
    o.model.zeroGrad();
    const idx = this.batchIndices(k);
    const m: AdaptMetrics = {};
    if (o.mode === 'sft') {
      const exs = idx.map((i) => o.sft![i]!);
      let normalizer = 0;
      for (const e of exs) for (let t = 1; t < e.labels.length; t++) if (e.labels[t] !== IGNORE_INDEX) normalizer++;
      let ceSum = 0;
      for (let s = 0; s < exs.length; s += o.microBatchSize) {
        tidy(() => {
          const rows = sftBatch(exs.slice(s, s + o.microBatchSize), { padId: o.padId, packing: o.packing, seqLen: o.seqLen });
          const out = sftLoss(o.model, rows, { normalization: o.normalization, normalizer: Math.max(1, normalizer) });
          ceSum += out.ceSum;
          out.loss.backward();
        });
      }
      m['train/CrossEntropyLoss'] = ceSum / Math.max(1, normalizer);
      if (o.normalization === 'sum') m['train/LossSum'] = ceSum;
    } else {
      const ref = this.ensureReference();
      const acc: AdaptMetrics = {};
      let loss = 0;
      for (let s = 0; s < idx.length; s += o.microBatchSize) {
        const part = idx.slice(s, s + o.microBatchSize);
        const share = part.length / idx.length;
        tidy(() => {
          const out = dpoStep(o.model, part.map((i) => o.dpo![i]!), { chosen: part.map((i) => ref.chosen[i]!), rejected: part.map((i) => ref.rejected[i]!) } as unknown as ReferenceLogps,
            { padId: o.padId, beta: o.beta, lossType: o.lossType, gradScale: share });
          loss += out.loss * share;
          for (const [key, v] of Object.entries(out.metrics)) acc[key] = (acc[key] ?? 0) + v * share;
        });
      }
      m['train/DPOLoss'] = loss;
      Object.assign(m, acc);
    }
    const lossVal = m['train/CrossEntropyLoss'] ?? m['train/DPOLoss']!;
    if (!Number.isFinite(lossVal)) throw new NonFiniteError(k, o.mode === 'sft' ? 'train/CrossEntropyLoss' : 'train/DPOLoss');
    const ps = this.params.map((p) => p.param);
    const norm = o.maxGradNorm ? clipGradNorm(ps, o.maxGradNorm).totalNorm : Math.sqrt(sumSquares(ps.map((p) => p.grad).filter((g): g is Tensor => !!g)));
    if (!Number.isFinite(norm)) throw new NonFiniteError(k, 'optim/total_grad_norm');
    this.optimizer.step();
    m['optim/total_grad_norm'] = norm;
    m['optim/learning_rate_group0'] = lr;
    return m;
  }

  async fit(): Promise<AdaptResult> {
    const o = this.o;
    if (o.mode === 'dpo') this.ensureReference();
    const history: AdaptMetrics[] = [];
    while (this.step < o.maxSteps) {
      const m = this.trainStep();
      for (const ev of o.evaluators ?? []) {
        if (this.step % ev.interval === 0 || this.step === o.maxSteps) {
          for (const [key, v] of Object.entries(await ev.run(o.model))) m[`eval/${ev.label}/${key}`] = v;
        }
      }
      history.push(m);
      const main = m['train/CrossEntropyLoss'] ?? m['train/DPOLoss']!;
      this.log(`[adapt] step ${this.step}/${o.maxSteps} ${o.mode === 'sft' ? 'CE' : 'DPO loss'} ${main.toFixed(4)}${m['rewards/accuracies'] !== undefined ? ` rewards/accuracies ${m['rewards/accuracies'].toFixed(3)}` : ''} lr ${m['optim/learning_rate_group0']!.toExponential(2)}`);
      if (o.saveFolder && ((o.saveInterval && this.step % o.saveInterval === 0) || this.step === o.maxSteps)) await this.save();
    }
    return { step: this.step, history };
  }

  /** Writes saveFolder/step{N} atomically; returns its path. */
  async save(): Promise<string> {
    const folder = this.o.saveFolder;
    if (!folder) throw bad('save: no saveFolder');
    mkdirSync(folder, { recursive: true });
    const dir = join(folder, `step${this.step}`);
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    try {
      mkdirSync(tmp, { recursive: true });
      await this.o.model.savePretrained(join(tmp, 'model'), { dtype: 'float32' });
      this.optimizer.save(join(tmp, 'optim.safetensors'));
      const ref = this.reference && { chosen: [...this.reference.chosen], rejected: [...this.reference.rejected], chosenCounts: this.reference.chosenCounts, rejectedCounts: this.reference.rejectedCounts };
      writeFileSync(join(tmp, 'state.json'), JSON.stringify({ format: 'olmo-adapt/1', step: this.step, mode: this.o.mode, seed: this.o.seed, n: this.n, reference: ref }));
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    return dir;
  }

  /** Restores model weights, optimizer state, step and (DPO) the reference log-probs from a step folder. */
  restore(dir: string): void {
    const statePath = join(dir, 'state.json');
    if (!existsSync(statePath)) throw new CheckpointError(`${dir} has no state.json`, 'point at a saveFolder/stepN folder written by the adaptation trainer');
    const s = JSON.parse(readFileSync(statePath, 'utf8')) as { step: number; mode: string; seed: number; n: number; reference: { chosen: number[]; rejected: number[]; chosenCounts: number[]; rejectedCounts: number[] } | null };
    if (s.mode !== this.o.mode || s.seed !== this.o.seed || s.n !== this.n) {
      throw new CheckpointError(`${dir} was written by a ${s.mode} run (seed ${s.seed}, ${s.n} examples); this run is ${this.o.mode} (seed ${this.o.seed}, ${this.n} examples)`, 'resume with the same mode, seed and data');
    }
    const files = readdirSync(join(dir, 'model')).filter((f) => f.endsWith('.safetensors')).map((f) => join(dir, 'model', f));
    const loaded = new Map<string, { data: Float32Array }>();
    for (const f of files) for (const [k, v] of readSafetensorsF32(f).tensors) loaded.set(k, v);
    for (const p of this.params) {
      const t = loaded.get(p.name);
      if (!t || t.data.length !== p.param.size) throw new CheckpointError(`${dir}: missing or mis-sized weights for ${p.name}`);
      const src = tensor(t.data, { shape: p.param.shape });
      try { copyInto(p.param, src); } finally { src.dispose(); }
    }
    this.optimizer.load(join(dir, 'optim.safetensors'));
    this.step = s.step;
    if (s.reference) this.reference = { chosen: Float64Array.from(s.reference.chosen), rejected: Float64Array.from(s.reference.rejected), chosenCounts: s.reference.chosenCounts, rejectedCounts: s.reference.rejectedCounts };
  }
}
