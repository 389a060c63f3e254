/**
 * The Trainer: model + optimizer + scheduler + data (OLMo global order) + callbacks.
 *
 * One optimizer step k (1-based, OLMo's global_step):
 *   tokens += B·T; current = k (units steps) or tokens (units tokens)
 *   lr = scheduler.getLr(lr0, current, max); max_grad_norm = scheduler.getMaxGradNorm(...)
 *   for each microbatch of the global batch `indices[(k-1)·B : k·B]` (device_train_microbatch_size
 *   instances): loss = CE_sum(mb)/N_batch (+ z-loss), backward (gradients accumulate)
 *   total_grad_norm = ‖g‖₂ (pre-clip); clip if max_grad_norm; optimizer step; callbacks.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { add, copyInto, tensor, tidy, withAutocast, type AutocastDtype, type Tensor } from '@olmo/tensor-cuda';
import { checkPrecision, configToYAML, maxStepsOf, requireData, seqLenOf, type TrainConfig } from './config.js';
import { CheckpointError, ConfigError, NonFiniteError } from './errors.js';
import { microbatchLoss } from './loss.js';
import { AdamW, LionW, type NamedParam, type Optimizer } from './optim.js';
import { Scheduler } from './scheduler.js';
import { clipGradNorm, sumSquares } from '@olmo/tensor-cuda';
import { buildTrainData, type TrainData } from './data.js';
import { buildModel, flopsPerToken, namedParameters, type TrainableModel } from './model.js';
import { Checkpointer, ConsoleLogger, MetricsJSONL, NaNDetector, ProgressBar, SpeedMonitor, type Callback, type Metrics, type TrainerView } from './callbacks.js';
import { CODE_VERSION, cleanTmp, readTrainerState, resolveCheckpoint, latestCheckpoint, writeCheckpoint, type TrainerState } from './checkpoint.js';
import { readSafetensorsF32, writeSafetensorsF32 } from './safetensors.js';
import { maybeDistributed, type DistContext, type ShardableModel } from './fsdp.js';
import { CheckpointSources, loadIntoTargets, writeShardedCheckpoint } from './sharded-checkpoint.js';
import type { ProcessGroup } from '@olmo/tensor-cuda';
import { copyTokenizerInto } from './tokenizer-files.js';
import type { FinetuneData } from './finetune-data.js';
import { dpoMicrobatch, dpoReference, type DpoReferenceState } from './finetune-dpo.js';

export interface TrainerOptions {
  config: TrainConfig;
  model: TrainableModel;
  data: TrainData;
  optimizer?: Optimizer;
  scheduler?: Scheduler;
  /** Replaces the default callbacks (see defaultCallbacks). */
  callbacks?: Callback[];
  /** Extra callbacks appended to the defaults. */
  extraCallbacks?: Callback[];
  log?: (line: string) => void;
  tokenizerHash?: string | null;
  /** Distributed runs: the group (default: ProcessGroup.init() from the launcher's environment). */
  processGroup?: ProcessGroup;
}

/** Callbacks that only rank 0 runs (logging, metrics files). */
const RANK0_ONLY = new Set(['metrics_jsonl', 'console_logger', 'progress']);

export interface FitResult {
  step: number; tokens: number; metrics: Metrics | null; history: Metrics[];
  /** The signal that stopped training early ('SIGINT' / 'SIGTERM'), or null when it ran to the end. */
  interrupted: string | null;
}

export function buildOptimizer(c: TrainConfig, params: NamedParam[]): Optimizer {
  const o = { lr: c.optimizer.learning_rate, betas: c.optimizer.betas, eps: c.optimizer.eps, weightDecay: c.optimizer.weight_decay, decayNormAndBias: c.optimizer.decay_norm_and_bias, decayEmbeddings: c.optimizer.decay_embeddings };
  return c.optimizer.name === 'lionw' ? new LionW(params, o) : new AdamW(params, o);
}

export function defaultCallbacks(c: TrainConfig, log: (s: string) => void): Callback[] {
  const cbs: Callback[] = [new SpeedMonitor(c.speed_monitor.window_size, c.mfu_peak_flops), new NaNDetector(), new MetricsJSONL(1)];
  const bar = new ProgressBar();
  const useBar = c.progress ?? bar.enabled;
  if (useBar && bar.enabled) cbs.push(bar);
  cbs.push(new ConsoleLogger(useBar && bar.enabled ? Math.max(c.console_log_interval, 10) : c.console_log_interval, useBar && bar.enabled ? (s) => process.stderr.write(`\r\x1b[2K${s}\n`) : log));
  cbs.push(new Checkpointer(c.save_interval));
  return cbs;
}

/** Config keys whose change breaks reproducibility of the loss trace on resume. */
const REPRO_KEYS = ['finetune', 'loss_normalization', 'seed', 'global_train_batch_size', 'model.max_sequence_length', 'data.paths', 'data.datasets', 'data.mix', 'data.seed', 'epoch', 'optimizer.name', 'model'];

function getPath(o: unknown, p: string): unknown {
  return p.split('.').reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), o);
}

export class Trainer implements TrainerView {
  readonly config: TrainConfig;
  readonly model: TrainableModel;
  readonly data: TrainData;
  readonly optimizer: Optimizer;
  readonly scheduler: Scheduler;
  readonly params: NamedParam[];
  callbacks: Callback[];
  readonly maxSteps: number;
  readonly scheduleSteps: number;
  readonly tokensPerStep: number;
  readonly flopsPerToken: number;
  step = 0;
  tokens = 0;
  startStep = 0;
  /** Set by requestStop(): fit() finishes the current step, saves a checkpoint and returns. */
  interrupted: string | null = null;
  private tokenizerHash: string | null;
  readonly log: (line: string) => void;
  /** FSDP state when the run is distributed (mpirun with W > 1, or a config `fsdp:` section); see fsdp.ts. */
  readonly dist: DistContext | null;
  /** Matmul precision of forward + backward (config `precision`): 'bfloat16' for amp_bf16, null for fp32. */
  readonly autocast: AutocastDtype | null;

  constructor(o: TrainerOptions) {
    checkPrecision(o.config.precision);  // configs built in code skip loadConfig's validation
    this.config = o.config;
    this.model = o.model;
    this.data = o.data;
    this.dist = maybeDistributed(o.config, o.model, o.processGroup);
    const log = o.log ?? ((s: string) => process.stdout.write(s + '\n'));
    this.log = this.dist && this.dist.rank !== 0 ? () => {} : log;
    this.params = this.dist ? this.dist.namedParams() : namedParameters(o.model);
    if (!this.params.length) throw new ConfigError('model', 'the model has no parameters');
    if (!this.dist) {
      for (const p of this.params) p.param.requiresGrad_(true);
      // gradients accumulate in one flat buffer when the model offers it (fused clip/AdamW, FSDP)
      const fm = o.model as unknown as { flatGrads?: () => unknown };
      if (typeof fm.flatGrads === 'function') fm.flatGrads();
    }
    this.optimizer = o.optimizer ?? buildOptimizer(o.config, this.params);
    this.scheduler = o.scheduler ?? Scheduler.fromConfig(o.config);
    const c = o.config;
    if (o.data.seqLen !== seqLenOf(c)) throw new ConfigError('model.max_sequence_length', `dataset instances have ${o.data.seqLen} tokens, config says ${seqLenOf(c)}`);
    // the schedule runs to max_duration; stop_at only ends training early (OLMo semantics)
    this.scheduleSteps = maxStepsOf(c, o.data.numInstances);
    this.maxSteps = c.stop_at !== null ? Math.min(this.scheduleSteps, c.stop_at) : this.scheduleSteps;
    this.tokensPerStep = c.global_train_batch_size * seqLenOf(c);
    this.flopsPerToken = flopsPerToken(o.model, this.params, seqLenOf(c), c.model);
    if (o.callbacks) this.callbacks = o.callbacks;
    else {
      // extra callbacks (e.g. evaluators) run after the speed monitor / NaN check and before the loggers
      const d = defaultCallbacks(c, this.log);
      d.splice(2, 0, ...(o.extraCallbacks ?? []));
      this.callbacks = d;
    }
    // under FSDP every rank runs every callback (evaluators gather parameters collectively) except the loggers
    if (this.dist && this.dist.rank !== 0) this.callbacks = this.callbacks.filter((cb) => !RANK0_ONLY.has(cb.name));
    const names = new Set<string>();
    for (const cb of this.callbacks) { if (names.has(cb.name)) throw new ConfigError('callbacks', `duplicate callback name '${cb.name}'`); names.add(cb.name); }
    this.tokenizerHash = o.tokenizerHash ?? null;
    // amp_bf16: GEMM operands rounded to bf16 with float32 accumulation (forward and backward, on
    // CPU and CUDA alike); master weights, gradients, AdamW state and everything else float32.
    this.autocast = c.precision === 'amp_bf16' ? 'bfloat16' : null;
    // bf16 copies of the parameters for the GEMMs (single process; FSDP gathers per unit)
    const cm = o.model as unknown as { enableComputeCopies?: () => void };
    if (this.autocast && !this.dist && typeof cm.enableComputeCopies === 'function') cm.enableComputeCopies();
  }

  /** Builds model, data and trainer from a resolved config (resuming when load_path / try_load_latest_save say so). */
  static async fromConfig(c: TrainConfig, o: Partial<TrainerOptions> = {}): Promise<Trainer> {
    requireData(c);
    const data = o.data ?? (await buildTrainData(c));
    const model = o.model ?? (await buildModel(c));
    let tokHash = o.tokenizerHash ?? null;
    if (!tokHash && c.tokenizer.identifier && existsSync(c.tokenizer.identifier)) tokHash = createHash('sha256').update(readFileSync(c.tokenizer.identifier)).digest('hex').slice(0, 16);
    const t = new Trainer({ ...o, config: c, model, data, tokenizerHash: tokHash });
    let load = c.load_path;
    if (!load && c.try_load_latest_save) load = latestCheckpoint(c.save_folder);
    if (load) await t.restoreCheckpoint(load);
    return t;
  }

  get saveFolder(): string { return this.config.save_folder; }
  get worldSize(): number { return this.dist?.worldSize ?? 1; }
  private get schedCurrent(): number { return this.config.scheduler.units === 'tokens' ? this.tokens : this.step; }
  private get schedMax(): number { return this.config.scheduler.units === 'tokens' ? this.scheduleSteps * this.tokensPerStep : this.scheduleSteps; }

  /** Instances of the global batch at (1-based) step k, as one Int32Array [B·T]. */
  batchAt(step: number): { ids: Int32Array; indices: Uint32Array; labelMask: Uint8Array | null; documentIds: Int32Array | null } {
    const T = this.data.seqLen;
    const all = this.data.batchIndices(step - 1, this.config.global_train_batch_size);
    // distributed: rank r reads indices[r::W] of the global batch (OLMo's rank slicing)
    const indices = this.dist ? this.dist.deviceIndices(all) : all;
    const B = indices.length;
    const ids = new Int32Array(B * T);
    let mask: Uint8Array | null = null, docs: Int32Array | null = null;
    indices.forEach((gi, r) => {
      const inst = this.data.get(gi);
      ids.set(inst.inputIds.subarray(0, T), r * T);
      if (inst.labelMask) { mask ??= new Uint8Array(B * T).fill(1); mask.set(inst.labelMask.subarray(0, T), r * T); }
      if (inst.documentIds) { docs ??= new Int32Array(B * T); docs.set(inst.documentIds.subarray(0, T), r * T); }
    });
    return { ids, indices, labelMask: mask, documentIds: docs };
  }

  /**
   * What both step paths share before the forward passes: advance the counters, set the lr, fetch
   * this process's rows of the global batch and the loss normaliser (its token count).
   */
  private beginStep() {
    const c = this.config;
    this.step++;
    this.tokens += this.tokensPerStep;
    const lr = this.scheduler.getLr(c.optimizer.learning_rate, this.schedCurrent, this.schedMax);
    this.optimizer.setLr(lr);
    const maxNorm = this.scheduler.getMaxGradNorm(c.max_grad_norm, this.schedCurrent);
    const { ids, labelMask, documentIds } = this.batchAt(this.step);
    const T = this.data.seqLen, B = ids.length / T, mb = c.device_train_microbatch_size;
    const countTargets = (mask: Uint8Array | null, rows: number) => {
      let n = 0;
      for (let b = 0; b < rows; b++) for (let t = 1; t < T; t++) if (!mask || mask[b * T + t]) n++;
      return n;
    };
    const targets = countTargets(labelMask, B);
    let normalizer = B * T;
    if (c.loss_normalization === 'target_tokens') normalizer = Math.max(1, targets);
    if (c.loss_normalization === 'sum') normalizer = 1;
    if (this.dist && c.finetune.mode === 'sft') {
      // fine-tuning under FSDP: ranks hold different numbers of labelled targets, so each divides by
      // 1/W of the global batch's normaliser (gradients are averaged over ranks): the same
      // gradient as one process on the whole batch, not OLMo's per-device mean
      const all = this.data.batchIndices(this.step - 1, c.global_train_batch_size);
      let g = 0;
      if (c.loss_normalization === 'sum') g = 1;
      else for (const i of all) g += countTargets(this.data.get(i).labelMask ?? null, 1);
      normalizer = Math.max(1, g) / this.dist.worldSize;
    }
    const zMult = c.softmax_auxiliary_loss ? c.auxiliary_loss_multiplier : 0;
    return { lr, maxNorm, ids, labelMask, documentIds, B, T, mb, normalizer, targets, zMult };
  }

  /** OLMo's per-step metric names from the step's reduced values. */
  private stepMetrics(ce: number, norm: number, lr: number, zLoss: number | null): Metrics {
    const m: Metrics = { 'train/CrossEntropyLoss': ce, 'train/Perplexity': Math.exp(ce), 'optim/total_grad_norm': norm, 'optim/learning_rate_group0': lr };
    if (this.optimizer.groups.length > 1) m['optim/learning_rate_group1'] = this.optimizer.groups[1]!.lr;
    if (zLoss !== null) m['train/ZLoss'] = zLoss;
    return m;
  }

  /** One optimizer step on the next global batch. Returns its metrics (OLMo names). */
  trainStep(): Metrics {
    if (this.dist) return this.trainStepSharded(this.dist);
    // amp_bf16: refresh the bf16 compute copies from the master weights (after the last optimizer
    // step, a checkpoint restore, or any other update)
    if (this.autocast) (this.model as unknown as { refreshComputeCopies?: () => void }).refreshComputeCopies?.();
    if (this.config.finetune.mode === 'dpo') return this.dpoTrainStep(null);
    const { lr, maxNorm, ids, labelMask, documentIds, B, T, mb, normalizer, targets, zMult } = this.beginStep();
    const zm = this.model as unknown as { zeroGrad?: () => void };
    if (typeof zm.zeroGrad === 'function') zm.zeroGrad();
    else for (const p of this.params) p.param.zeroGrad();
    let ceSum = 0, zSum = 0;
    for (let s = 0; s < B; s += mb) {
      const n = Math.min(mb, B - s);
      withAutocast(this.autocast, () => tidy(() => {
        const out = microbatchLoss(this.model, ids.subarray(s * T, (s + n) * T), n, T, { normalizer, zLossMultiplier: zMult, labelMask: labelMask ? labelMask.subarray(s * T, (s + n) * T) : null, documentIds: documentIds ? documentIds.subarray(s * T, (s + n) * T) : null, activationCheckpointing: this.config.activation_checkpointing, fused: this.config.fused_loss === true });
        ceSum += out.ceSum; zSum += out.zSum;
        const total: Tensor = out.zLoss ? add(out.ceLoss, out.zLoss) : out.ceLoss;
        total.backward();
      }));
    }
    // 'sum' reports the loss (the plain sum) and the per-token mean as CrossEntropyLoss
    const perToken = this.config.loss_normalization === 'sum' ? Math.max(1, targets) : normalizer;
    const ce = ceSum / perToken;
    if (!Number.isFinite(ce)) throw new NonFiniteError(this.step, 'train/CrossEntropyLoss');
    let norm: number;
    const ps = this.params.map((p) => p.param);
    if (maxNorm !== null) norm = clipGradNorm(ps, maxNorm).totalNorm;
    else norm = Math.sqrt(sumSquares(ps.map((p) => p.grad).filter((g): g is Tensor => !!g)));
    if (!Number.isFinite(norm)) throw new NonFiniteError(this.step, 'optim/total_grad_norm');
    this.optimizer.step();
    const m = this.stepMetrics(ce, norm, lr, zMult > 0 ? zSum / perToken : null);
    if (this.config.loss_normalization === 'sum') m['train/LossSum'] = ceSum;
    return m;
  }

  /** trainStep under FSDP: device batch = this rank's slice, loss per device batch, grads averaged over ranks. */
  private trainStepSharded(dist: DistContext): Metrics {
    if (this.config.finetune.mode === 'dpo') return this.dpoTrainStep(dist);
    const { lr, maxNorm, ids, labelMask, documentIds, B, T, mb, normalizer, targets, zMult } = this.beginStep();
    const comm0 = dist.commTotals();
    dist.zeroGrad();
    let ceSum = 0, zSum = 0;
    for (let s = 0; s < B; s += mb) {
      const n = Math.min(mb, B - s);
      // backward inside the autocast too: FSDP recomputes each unit's forward during backward
      withAutocast(this.autocast, () => tidy(() => {
        const out = dist.microbatch(this.model as ShardableModel, ids.subarray(s * T, (s + n) * T), n, T, { normalizer, zLossMultiplier: zMult, labelMask: labelMask ? labelMask.subarray(s * T, (s + n) * T) : null, documentIds: documentIds ? documentIds.subarray(s * T, (s + n) * T) : null });
        ceSum += out.ceSum; zSum += out.zSum;
        out.loss.backward();
      }));
    }
    const sumLoss = this.config.loss_normalization === 'sum';
    const [gCe, gZ, gN] = dist.allReduceF64([ceSum, zSum, sumLoss ? targets : normalizer]);
    const ce = gCe! / Math.max(1, gN!);
    if (!Number.isFinite(ce)) throw new NonFiniteError(this.step, 'train/CrossEntropyLoss');
    const norm = dist.clipGradNorm(maxNorm);
    if (!Number.isFinite(norm)) throw new NonFiniteError(this.step, 'optim/total_grad_norm');
    this.optimizer.step();
    if (process.env.OLMO_TEST_KILL_RANK === String(dist.rank) && process.env.OLMO_TEST_KILL_AT_STEP === String(this.step)) process.kill(process.pid, 'SIGKILL'); // test hook: one rank dies
    const m = this.stepMetrics(ce, norm, lr, zMult > 0 ? gZ! / gN! : null);
    if (sumLoss) m['train/LossSum'] = gCe!;
    const comm1 = dist.commTotals();
    m['dist/comm_seconds'] = comm1.seconds - comm0.seconds;
    m['dist/comm_bytes'] = comm1.bytes - comm0.bytes;
    return m;
  }

  /** DPO reference log-probs (finetune.mode dpo): computed from the initial model before step 1, restored from checkpoints. */
  dpoReference: DpoReferenceState | null = null;

  private ensureDpoReference(): DpoReferenceState {
    if (!this.dpoReference) {
      const d = this.data as FinetuneData;
      this.log(`[olmo] dpo: reference log-probs of ${d.numInstances} pairs (once; kept in checkpoints)`);
      this.dpoReference = dpoReference(this.model as never, d.pairs!, d.seqLen, d.padId, this.config.device_train_microbatch_size);
    }
    return this.dpoReference;
  }

  /**
   * One DPO optimizer step (finetune.mode dpo; see finetune-dpo.ts): the device batch of pairs in
   * microbatches, the surrogate loss backward, gradient norm / clipping / optimizer as pretraining.
   * Metrics: train/DPOLoss, rewards/*, logps/* (means over the global batch's pairs) and
   * train/CrossEntropyLoss = the policy's mean per-token NLL of the chosen responses.
   */
  private dpoTrainStep(dist: DistContext | null): Metrics {
    const c = this.config, d = this.data as FinetuneData;
    const ref = this.ensureDpoReference();
    this.step++;
    this.tokens += this.tokensPerStep;
    const lr = this.scheduler.getLr(c.optimizer.learning_rate, this.schedCurrent, this.schedMax);
    this.optimizer.setLr(lr);
    const maxNorm = this.scheduler.getMaxGradNorm(c.max_grad_norm, this.schedCurrent);
    const all = this.data.batchIndices(this.step - 1, c.global_train_batch_size);
    const idx = dist ? dist.deviceIndices(all) : all;
    if (dist) dist.zeroGrad();
    else {
      const zm = this.model as unknown as { zeroGrad?: () => void };
      if (typeof zm.zeroGrad === 'function') zm.zeroGrad(); else for (const p of this.params) p.param.zeroGrad();
    }
    const keys = ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected', 'chosen_nll', 'chosen_tokens'] as const;
    const acc = new Array<number>(keys.length).fill(0);
    const mb = c.device_train_microbatch_size;
    for (let s = 0; s < idx.length; s += mb) {
      const part = Array.from(idx.subarray(s, s + mb));
      withAutocast(this.autocast, () => tidy(() => {
        const out = dpoMicrobatch(this.model as never, part.map((i) => d.pairs![i]!), { chosen: part.map((i) => ref.chosen[i]!), rejected: part.map((i) => ref.rejected[i]!) },
          { T: d.seqLen, padId: d.padId, beta: c.finetune.beta, lossType: c.finetune.dpo_loss_type, share: part.length / idx.length, fsdp: dist !== null });
        out.loss.backward();
        keys.forEach((k, j) => { acc[j]! += out.sums[k]; });
      }));
    }
    const tot = dist ? dist.allReduceF64(acc) : acc;
    const B = all.length;
    const m: Metrics = {};
    const loss = tot[0]! / B;
    if (!Number.isFinite(loss)) throw new NonFiniteError(this.step, 'train/DPOLoss');
    const ps = this.params.map((p) => p.param);
    const norm = dist ? dist.clipGradNorm(maxNorm) : maxNorm !== null ? clipGradNorm(ps, maxNorm).totalNorm : Math.sqrt(sumSquares(ps.map((p) => p.grad).filter((g): g is Tensor => !!g)));
    if (!Number.isFinite(norm)) throw new NonFiniteError(this.step, 'optim/total_grad_norm');
    this.optimizer.step();
    Object.assign(m, this.stepMetrics(tot[7]! / Math.max(1, tot[8]!), norm, lr, null));
    m['train/DPOLoss'] = loss;
    keys.slice(1, 7).forEach((k, j) => { m[k] = tot[j + 1]! / B; });
    return m;
  }

  /**
   * Asks fit() to stop after the step in progress (e.g. on Ctrl-C): it then saves a checkpoint
   * (even without save_interval), skips the final evaluation and returns `interrupted: reason`.
   */
  requestStop(reason = 'SIGINT'): void { this.interrupted ??= reason; }

  /** Trains until max_duration / stop_at (or requestStop()). */
  async fit(): Promise<FitResult> {
    const lead = !this.dist || this.dist.rank === 0;
    if (lead) {
      cleanTmp(this.saveFolder);
      mkdirSync(this.saveFolder, { recursive: true });
      writeFileSync(join(this.saveFolder, 'config.yaml'), configToYAML(this.config));
    }
    this.dist?.barrier();
    this.dist?.startMemory();
    for (const cb of this.callbacks) await cb.onTrainStart?.(this);
    const history: Metrics[] = [];
    let last: Metrics | null = null;
    const t0 = Date.now();
    while (this.step < this.maxSteps) {
      const m = this.trainStep();
      if (this.dist && !this.dist.report) this.memoryReport();
      for (const cb of this.callbacks) await cb.onStepEnd?.(this, m);
      history.push(m);
      last = m;
      // let signal handlers (Ctrl-C → requestStop) run: a step is synchronous compute, and awaiting
      // resolved promises alone never returns to the event loop
      await new Promise<void>((r) => setImmediate(r));
      if (process.env.OLMO_TEST_KILL_AFTER_STEP === String(this.step)) process.kill(process.pid, 'SIGKILL'); // test hook: kill -9
      const timeUp = this.config.time_limit !== null && (Date.now() - t0) / 1000 > this.config.time_limit;
      // ranks must stop at the same step: under FSDP one collective says whether any rank timed out / was interrupted
      let [anyTimeUp, anyStop] = [timeUp, this.interrupted !== null];
      if (this.dist) { const [a, b] = this.dist.allReduceF64([+timeUp, +anyStop]); [anyTimeUp, anyStop] = [a! > 0, b! > 0]; }
      if (anyStop) { this.interrupted ??= 'SIGINT'; break; } // (a peer rank was interrupted)
      if (anyTimeUp) { this.log(`[olmo] time_limit reached at step ${this.step}`); break; }
    }
    for (const cb of this.callbacks) await cb.onTrainEnd?.(this, last);
    return { step: this.step, tokens: this.tokens, metrics: last, history, interrupted: this.interrupted };
  }

  /** Per-rank memory (params, grads, optimizer state, activations, comm buffers): logged, written to memory.json. */
  private memoryReport(): void {
    const dist = this.dist!;
    dist.measureMemory(this.optimizer);
    const all = dist.gatherReports();
    if (dist.rank !== 0) return;
    const mib = (b: number) => (b / 2 ** 20).toFixed(3);
    this.log(`[olmo] FSDP memory per rank (MiB; W=${dist.worldSize}, wrapping ${dist.settings.wrappingStrategy}; single-process params ${mib(all[0]!.unsharded_params)}):`);
    for (const r of all) this.log(`  rank ${r.rank}: params ${mib(r.params)} grads ${mib(r.grads)} optimizer ${mib(r.optimizer)} activations ${mib(r.activations)} comm_buffers ${mib(r.comm_buffers)}`);
    mkdirSync(this.saveFolder, { recursive: true });
    writeFileSync(join(this.saveFolder, 'memory.json'), JSON.stringify({ world_size: dist.worldSize, wrapping_strategy: dist.settings.wrappingStrategy, ranks: all }, null, 1) + '\n');
  }

  private state(): TrainerState {
    const callbacks: Record<string, unknown> = {};
    for (const cb of this.callbacks) if (cb.stateDict) callbacks[cb.name] = cb.stateDict();
    const seed = this.config.data.seed ?? this.config.seed;
    return {
      format: { kind: 'unsharded', world_size: 1, version: 1 },
      step: this.step, tokens: this.tokens, rng: { init_seed: this.config.seed }, scheduler: this.scheduler.stateDict(),
      data: { step: this.step, seed, epoch: this.config.epoch ?? 0, order_hash: this.data.orderHash, num_instances: this.data.numInstances },
      callbacks, config: JSON.parse(JSON.stringify(this.config)), config_yaml: configToYAML(this.config),
      tokenizer_hash: this.tokenizerHash, data_order_hash: this.data.orderHash, code_version: CODE_VERSION, time: new Date().toISOString(),
      ...(this.dpoReference ? { dpo_reference: this.dpoReference } : {}),
    };
  }

  async saveCheckpoint(): Promise<string> {
    if (this.dist) {
      const dir = await writeShardedCheckpoint(this.saveFolder, this.step, this.state(), this.dist, this.optimizer, this.config.save_num_checkpoints_to_keep);
      this.log(`[olmo] saved sharded checkpoint ${dir} (${this.dist.worldSize} ranks)`);
      return dir;
    }
    const dir = await writeCheckpoint(this.saveFolder, this.step, this.state(), async (tmp) => {
      const mdir = join(tmp, 'model');
      mkdirSync(mdir, { recursive: true });
      if (typeof this.model.savePretrained === 'function') await this.model.savePretrained(mdir, { dtype: 'float32' });
      else writeSafetensorsF32(join(mdir, 'model.safetensors'), this.params.map((p) => ({ name: p.name, shape: p.param.shape, data: p.param.toFloat32Array() })));
      copyTokenizerInto(mdir, this.config.tokenizer.identifier); // model/ is a complete HF folder: weights + config + tokenizer
      this.optimizer.save(join(tmp, 'optim.safetensors'));
    }, this.config.save_num_checkpoints_to_keep);
    this.log(`[olmo] saved checkpoint ${dir}`);
    return dir;
  }

  /** Restores model, optimizer, scheduler position, data position and callback states. */
  async restoreCheckpoint(path: string): Promise<void> {
    const dir = resolveCheckpoint(path);
    const s = readTrainerState(dir);
    if (!this.config.force_resume) {
      for (const k of REPRO_KEYS) {
        const a = JSON.stringify(getPath(s.config, k) ?? null), b = JSON.stringify(getPath(this.config, k) ?? null);
        if (a !== b) throw new ConfigError(k, `differs from the checkpoint (${a} → ${b}); resuming would not reproduce the run`, 'pass --force_resume=true to resume anyway');
      }
      if (s.data_order_hash !== this.data.orderHash) throw new ConfigError('data', `data order differs from the checkpoint (${s.data_order_hash} → ${this.data.orderHash})`, 'pass --force_resume=true to resume anyway');
      if (s.tokenizer_hash && this.tokenizerHash && s.tokenizer_hash !== this.tokenizerHash) throw new ConfigError('tokenizer.identifier', 'tokenizer differs from the checkpoint', 'pass --force_resume=true to resume anyway');
    }
    if (this.dist || s.format.kind === 'sharded') {
      // range-based: pieces of any world size, or whole parameters in one process (resharding)
      const src = new CheckpointSources(dir);
      try {
        const targets = this.dist
          ? this.dist.pieces.map((p) => ({ name: p.name, start: p.start, end: p.end, param: p.param }))
          : this.params.map((p) => ({ name: p.name, start: 0, end: p.param.size, param: p.param }));
        loadIntoTargets(src, targets, this.optimizer, this.config.reset_optimizer_state);
      } finally { src.close(); }
    } else this.restoreUnshardedWeights(dir);
    // DPO: the reference is the initial model, gone once trained: restore its cached log-probs
    if (this.config.finetune.mode === 'dpo' && s.dpo_reference) this.dpoReference = s.dpo_reference;
    if (!this.config.reset_trainer_state) {
      this.step = s.step;
      this.tokens = s.tokens;
      this.startStep = s.step;
      for (const cb of this.callbacks) if (cb.loadStateDict && s.callbacks[cb.name] !== undefined) cb.loadStateDict(s.callbacks[cb.name]);
    }
    this.log(`[olmo] resumed from ${dir} at step ${s.step}${s.format.kind === 'sharded' ? ` (sharded checkpoint of ${s.format.world_size} ranks → ${this.dist?.worldSize ?? 1})` : ''}`);
  }

  private restoreUnshardedWeights(dir: string): void {
    // model weights
    const mfile = join(dir, 'model', 'model.safetensors');
    const files: string[] = [];
    if (existsSync(mfile)) files.push(mfile);
    else {
      const idx = join(dir, 'model', 'model.safetensors.index.json');
      if (!existsSync(idx)) throw new CheckpointError(`${dir}/model has no model.safetensors`);
      const map = (JSON.parse(readFileSync(idx, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
      for (const f of new Set(Object.values(map))) files.push(join(dir, 'model', f));
    }
    const loaded = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const f of files) for (const [k, v] of readSafetensorsF32(f).tensors) loaded.set(k, v);
    for (const p of this.params) {
      const t = loaded.get(p.name);
      if (!t) throw new CheckpointError(`${dir}: no weights for parameter ${p.name}`);
      if (t.data.length !== p.param.size) throw new CheckpointError(`${dir}: ${p.name} has ${t.data.length} values, model has ${p.param.size}`);
      const src = tensor(t.data, { shape: p.param.shape });
      try { copyInto(p.param, src); } finally { src.dispose(); }
    }
    if (!this.config.reset_optimizer_state) this.optimizer.load(join(dir, 'optim.safetensors'));
  }
}
