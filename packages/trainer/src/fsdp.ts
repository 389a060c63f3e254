/**
 * The trainer's distributed side: FSDP (ZeRO-3) over a ProcessGroup from @olmo/tensor-cuda.
 *
 * Launch: `mpirun -np W node packages/trainer/dist/bin.js train CONFIG.yaml`. The ProcessGroup comes
 * from the launcher's environment; with W > 1 (or a config `fsdp:` section) every rank initialises
 * the same model (same seed), FSDP shards it into units (OLMo's `fsdp.wrapping_strategy`: by_block,
 * by_block_group with `fsdp.block_group_size`, or null/whole_model) and the full parameter storage
 * is released. The optimizer then steps this rank's shard pieces (HF names → same param groups).
 *
 * Semantics (identical math to one process):
 *   - global batch k = indices[k·B:(k+1)·B] of the OLMo global order; rank r reads its [r::W] slice
 *     (OLMo's rank slicing) → device batch B/W instances, split into microbatches;
 *   - loss = CE_sum(microbatch) / N(device batch) (OLMo's normalisation per device batch), gradients
 *     reduce-scattered with 'avg' over ranks → the mean over the global batch;
 *   - grad norm = sqrt(allReduce_sum(Σ piece grad²)); clipping scales the shard grads;
 *   - metrics are reduced over ranks; stopping (time limit) is agreed with pg.any.
 */
import { add as addOp, crossEntropy, memoryStats, sumSquares, FSDP, fsdpUnits, ProcessGroup, scale as scaleOp, scaleInPlace, tensor, type FsdpUnitSpec, type ShardPiece, type Tensor } from '@olmo/tensor-cuda';
import { availableParallelism } from 'node:os';
import type { TrainConfig } from './config.js';
import { ConfigError } from './errors.js';
import { IGNORE_INDEX, nextTokenTargets } from './loss.js';
import type { TrainableModel } from './model.js';
import type { NamedParam, Optimizer } from './optim.js';

/** What FSDP needs from the model (satisfied by @olmo/model's OLMo). */
export interface ShardableModel extends TrainableModel {
  readonly specs: ReadonlyArray<{ name: string; shape: readonly number[] }>;
  parameter(name: string): Tensor;
  releaseStorage(): void;
  forward(ids: number[][] | Tensor, opts?: Record<string, unknown>): { logits: Tensor; loss?: Tensor | null };
}

export type WrappingStrategy = 'by_block' | 'by_block_group' | 'whole_model';

/**
 * precision (OLMo's fsdp.precision): 'mixed' (default) reduces gradients in float32; 'pure' in
 * bfloat16 (see FSDP.reduceDtype). Compute precision comes from the top-level `precision` key
 * (amp_bf16: bf16 GEMM operands in both cases).
 */
export interface FsdpSettings { wrappingStrategy: WrappingStrategy; blockGroupSize: number; precision: 'mixed' | 'pure' }

/** OLMo's `fsdp:` section → settings (null when absent). */
export function fsdpSettings(c: TrainConfig): FsdpSettings | null {
  const f = c.fsdp as Record<string, unknown> | null | undefined;
  if (f === null || f === undefined) return null;
  if (typeof f !== 'object') throw new ConfigError('fsdp', 'must be a mapping (e.g. fsdp: {wrapping_strategy: by_block})');
  const ws = f.wrapping_strategy ?? 'by_block';
  const known = ['by_block', 'by_block_group', 'whole_model', 'null', null];
  if (!known.includes(ws as string | null)) throw new ConfigError('fsdp.wrapping_strategy', `unknown strategy '${String(ws)}'`, 'one of by_block, by_block_group, whole_model (null = whole model)');
  const g = Number(f.block_group_size ?? (c.model as unknown as Record<string, unknown>).block_group_size ?? 1);
  if (!Number.isInteger(g) || g < 1) throw new ConfigError('fsdp.block_group_size', `must be a positive integer, got ${String(f.block_group_size)}`);
  const precision = f.precision ?? 'mixed';
  if (precision !== 'mixed' && precision !== 'pure') throw new ConfigError('fsdp.precision', `unknown precision '${String(f.precision)}'`, 'mixed (gradients reduced in float32) or pure (bfloat16)');
  return { wrappingStrategy: ws === null || ws === 'null' ? 'whole_model' : (ws as WrappingStrategy), blockGroupSize: g, precision };
}

export interface MemoryReport {
  rank: number;
  world_size: number;
  /** Bytes this rank holds for parameter shards, gradient shards and optimizer state. */
  params: number;
  grads: number;
  optimizer: number;
  /** Peak native bytes above the steady state during the first steps (activations, recomputation). */
  activations: number;
  /** Largest transient all-gather / reduce-scatter buffers (one unit's full params + grads). */
  comm_buffers: number;
  /** Single-process reference: full params (and the same for grads). */
  unsharded_params: number;
  total_native_peak: number;
}

export class DistContext {
  readonly fsdp: FSDP;
  readonly pieces: ShardPiece[];
  private baseline = 0;
  report: MemoryReport | null = null;

  constructor(readonly pg: ProcessGroup, model: ShardableModel, readonly settings: FsdpSettings) {
    for (const k of ['specs', 'parameter', 'releaseStorage'] as const) {
      if (!(k in model)) throw new ConfigError('fsdp', `the model does not support sharded execution (no ${k})`);
    }
    const specs: FsdpUnitSpec[] = fsdpUnits(model.specs, settings.wrappingStrategy, settings.blockGroupSize);
    this.fsdp = new FSDP(pg, specs, { gradReduce: 'avg', reduceDtype: settings.precision === 'pure' ? 'bfloat16' : 'float32' });
    this.fsdp.loadFull((n) => model.parameter(n));
    model.releaseStorage();
    this.pieces = this.fsdp.pieces();
    // Evaluation code (in-loop evaluators) calls model.forward(ids[, {labels}]) as usual: route it
    // through the units. Every rank runs the same evaluation, so the gathers match up.
    const forward = model.forward.bind(model);
    (model as { forward: ShardableModel['forward'] }).forward = (ids, opts = {}) => forward(ids, opts.units ? opts : { ...opts, units: this.fsdp });
  }

  get rank(): number { return this.pg.rank; }
  get worldSize(): number { return this.pg.worldSize; }

  namedParams(): NamedParam[] { return this.pieces.map((p) => ({ name: p.name, param: p.param })); }

  /** Rank slicing of one global batch (OLMo: rank r reads indices[r::W]). */
  deviceIndices(global: Uint32Array): Uint32Array {
    const W = this.worldSize;
    if (global.length % W !== 0) throw new ConfigError('global_train_batch_size', `${global.length} is not divisible by the world size ${W}`);
    if (W === 1) return global;
    return global.filter((_, i) => i % W === this.rank);
  }

  /**
   * Forward (through the FSDP units) of one microbatch; the loss (CE_sum / normalizer + z-loss) is
   * computed inside the head unit. Returns the differentiable total loss and the plain sums.
   * Call backward() on `loss` inside the same tidy scope (the targets must outlive backward).
   */
  microbatch(model: ShardableModel, ids: Int32Array, B: number, T: number, o: { normalizer: number; zLossMultiplier: number; labelMask: Uint8Array | null; documentIds?: Int32Array | null }): { loss: Tensor; ceSum: number; zSum: number } {
    const targets = nextTokenTargets(ids, B, T, o.labelMask);
    const tg = new Int32Array(B * T).fill(IGNORE_INDEX);
    for (let b = 0; b < B; b++) tg.set(targets.subarray(b * (T - 1), (b + 1) * (T - 1)), b * T);
    const tgt = tensor(tg, { shape: [B * T], dtype: 'int32' });
    const idsT = tensor(ids, { shape: [B, T], dtype: 'int32' });
    let ceSum = NaN, zSum = 0, first = true;
    const lossFn = (logits: Tensor): Tensor => {
      const V = logits.shape[logits.shape.length - 1]!;
      const flat = logits.reshape([B * T, V]);
      const { loss, zLoss } = crossEntropy(flat, tgt, { ignoreIndex: IGNORE_INDEX, reduction: 'sum', zLossMultiplier: o.zLossMultiplier });
      if (first) { ceSum = loss.item(); zSum = zLoss ? zLoss.item() : 0; first = false; }
      // (CE_sum + z_sum) / N: the same total as microbatchLoss's ceLoss + zLoss
      const total = zLoss ? tensorAdd(loss, zLoss) : loss;
      return scaleT(total, 1 / o.normalizer);
    };
    const out = model.forward(idsT, o.documentIds ? { units: this.fsdp, lossFn, documentIds: o.documentIds } : { units: this.fsdp, lossFn });
    out.logits.dispose();
    return { loss: out.loss!, ceSum, zSum };
  }

  zeroGrad(): void { this.fsdp.zeroGrad(); }

  /** Global L2 norm over all shards (pre-clip) and, when maxNorm is set, clipping. */
  clipGradNorm(maxNorm: number | null): number {
    // the first reader of the shard gradients after backward: complete the reduce-scatter FSDP's
    // overlap may have left in flight, so no training loop has to remember to
    this.fsdp.sync();
    const grads = this.pieces.map((p) => p.param.grad!).filter(Boolean);
    const local = grads.length ? sumSquares(grads) : 0;
    const [sq] = this.allReduceF64([local]);
    const norm = Math.sqrt(sq!);
    if (maxNorm !== null) {
      const coef = maxNorm / (norm + 1e-6);
      if (coef < 1) for (const g of grads) scaleInPlace(g, coef);
    }
    return norm;
  }

  /**
   * Sum over ranks of numbers, kept exact enough for metrics: each value is split into a float32
   * high part and the float32 residual (the group reduces float32).
   */
  allReduceF64(values: number[]): number[] {
    if (this.worldSize === 1) return [...values];
    const hi = values.map((v) => Math.fround(v));
    const lo = values.map((v, i) => v - hi[i]!);
    const r = this.pg.allReduceNumbers([...hi, ...lo], 'sum');
    return values.map((_, i) => r[i]! + r[i + values.length]!);
  }

  /** Communication so far on this rank (all collectives, from pg.stats). */
  commTotals(): { seconds: number; bytes: number; calls: number } {
    let seconds = 0, bytes = 0, calls = 0;
    for (const st of Object.values(this.pg.stats)) { seconds += st.seconds; bytes += st.bytes; calls += st.calls; }
    return { seconds, bytes, calls };
  }

  any(flag: boolean): boolean { return this.worldSize > 1 ? this.pg.any(flag) : flag; }
  barrier(): void { this.pg.barrier(); }

  /** Call right before training starts (after the optimizer exists). */
  startMemory(): void { this.baseline = memoryStats().cpuBytes; }

  /** Measures the memory report (after the first step). */
  measureMemory(optimizer: Optimizer): MemoryReport {
    const m = this.fsdp.memoryReport();
    const stats = memoryStats();
    let optBytes = 0;
    const sizes = new Map(this.pieces.map((p) => [p.name, p.param.size]));
    for (const { buf } of optimizer.stateTensors()) for (const n of sizes.keys()) { try { optBytes += buf.view(n).size * 4; } catch { /* not stepped */ } }
    this.report = {
      rank: this.rank, world_size: this.worldSize, params: m.paramBytes, grads: m.gradBytes, optimizer: optBytes,
      activations: Math.max(0, stats.cpuPeakBytes - this.baseline), comm_buffers: m.peakGatherBytes,
      unsharded_params: m.unshardedParamBytes, total_native_peak: stats.cpuPeakBytes,
    };
    return this.report;
  }

  /** The reports of every rank (collective), rank order. */
  gatherReports(): MemoryReport[] {
    const r = this.report!;
    const keys = ['params', 'grads', 'optimizer', 'activations', 'comm_buffers', 'unsharded_params', 'total_native_peak'] as const;
    const W = this.worldSize;
    const vals = new Array<number>(W * keys.length).fill(0);
    keys.forEach((k, i) => { vals[this.rank * keys.length + i] = r[k]; });
    const all = this.allReduceF64(vals);
    return Array.from({ length: W }, (_, rank) => {
      const o: MemoryReport = { rank, world_size: W } as MemoryReport;
      keys.forEach((k, i) => { o[k] = Math.round(all[rank * keys.length + i]!); });
      return o;
    });
  }
}

function tensorAdd(a: Tensor, b: Tensor): Tensor { return addOp(a, b); }
function scaleT(a: Tensor, s: number): Tensor { return scaleOp(a, s); }

/** A DistContext when the run is distributed (W > 1) or the config has an `fsdp:` section. */
export function maybeDistributed(c: TrainConfig, model: TrainableModel, pg?: ProcessGroup): DistContext | null {
  const settings = fsdpSettings(c);
  const group = pg ?? ProcessGroup.init();
  if (group.worldSize === 1 && !settings) return null;
  if (c.global_train_batch_size % group.worldSize !== 0) throw new ConfigError('global_train_batch_size', `${c.global_train_batch_size} is not divisible by the world size ${group.worldSize} (each rank trains on global/W instances)`, `use a multiple of ${group.worldSize}`);
  return new DistContext(group, model as ShardableModel, settings ?? { wrappingStrategy: 'by_block', blockGroupSize: 1, precision: 'mixed' });
}

/**
 * Several ranks on one machine: unless OMP_NUM_THREADS is set, give each rank cores / local ranks
 * OpenMP threads (oversubscribed spinning threads slow a 3-rank job on 2 cores ~6×). Must run
 * before the native addon loads (it reads the variable once).
 */
export function setRankThreads(env = process.env): number | null {
  const local = Number(env.OMPI_COMM_WORLD_LOCAL_SIZE ?? env.MPI_LOCALNRANKS ?? 1);
  if (!(local > 1) || env.OMP_NUM_THREADS) return null;
  const n = Math.max(1, Math.floor(availableParallelism() / local));
  env.OMP_NUM_THREADS = String(n);
  return n;
}
