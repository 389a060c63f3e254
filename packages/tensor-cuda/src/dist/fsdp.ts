/**
 * FSDP-style sharding (ZeRO-3 semantics) over a ProcessGroup.
 *
 * Each unit (OLMo's wrapping: by block, by block group, whole model) flattens its parameters into
 * one flat buffer padded to a multiple of the world size W; rank r owns elements
 * [r * S, (r+1) * S) with S = padded / W — of the parameters, their gradients and (through the
 * optimizer, which only sees the shards) the optimizer state. So per-rank memory for those is ~1/W.
 *
 * run(unit, inputs, fn) executes one unit:
 *   forward:  all-gather the unit's parameters, compute fn without recording a graph, free them;
 *   backward: all-gather again, recompute fn with the graph, backpropagate the output gradient,
 *             reduce-scatter the full gradient (fp32) into this rank's shard gradient (accumulating,
 *             so gradient accumulation over microbatches works), free everything.
 * Only unit inputs are kept between forward and backward (activation checkpointing per unit), so
 * no unit's full parameters outlive its own computation.
 *
 * Overlap (opts.overlap, default on; OLMO_FSDP_OVERLAP=0 turns it off): the collectives are always
 * issued non-blocking (MPI_Iallgather / MPI_Ireduce_scatter_block; on NCCL a side stream ordered by
 * events), and with overlap they are awaited late:
 *   forward:  right after a unit's parameters arrive, the all-gather of the unit that followed it in
 *             the previous forward pass is started, so it transfers while this unit computes;
 *   backward: likewise for the unit that preceded it in the forward pass, and a unit's gradient
 *             reduce-scatter is left in flight while the next (earlier) unit recomputes and
 *             backpropagates; it is completed (avg scaling, add into the shard gradient) after that
 *             unit's compute, or by sync() (the trainer's clipGradNorm calls it before reading gradients; zeroGrad,
 *             pieces, fullParam and memoryReport call it too).
 * Memory bound: one prefetch slot and one pending reduce-scatter. A prefetch is issued only when the
 * slot is empty and only for a unit not currently gathered; a gather that does not match the slot
 * completes and frees it first. So at most the running units plus ONE next unit hold full parameters
 * (overlapStats().peakGatheredUnits; 2 with per-block wrapping) and at most one unit's full gradient
 * is in flight besides the one being computed. Results are bit-identical to overlap off: the same
 * collectives on the same buffers, only completed later.
 */
import { enableGrad, isGradEnabled, needsGrad, noGrad, record } from '../autograd.js';
import { zeros } from '../creation.js';
import { deviceName } from '../device.js';
import { ArgumentError } from '../errors.js';
import { addInPlace, copyInto, fillInPlace } from '../ops/elementwise.js';
import { tidy, untracked } from '../scope.js';
import { Tensor, shapeSize } from '../tensor.js';
import type { ProcessGroup, Work } from './process-group.js';

/** What the overlap did (see the file comment): prefetches used vs wasted, and the memory high-water marks. */
export interface FsdpOverlapStats {
  prefetchHits: number;
  prefetchMisses: number;
  /** Most units holding gathered full parameters at one time (running + prefetched). */
  peakGatheredUnits: number;
  /** Most reduce-scatters in flight at one time (bounded by 1). */
  peakPendingReduces: number;
}

interface Gathered { unit: FsdpUnit; buffer: Tensor; work: Work; released: boolean }
interface PendingReduce { unit: FsdpUnit; part: Tensor; gradBuf: Tensor; work: Work }

export interface FsdpParamEntry {
  name: string;
  shape: readonly number[];
  /** Element offset inside the unit's (unpadded) flat buffer. */
  offset: number;
  size: number;
}

export interface FsdpUnitSpec {
  name: string;
  params: ReadonlyArray<{ name: string; shape: readonly number[] }>;
}

/** The part of one parameter that lives in this rank's shard. */
export interface ShardPiece {
  name: string;
  unit: string;
  /** Element range of the parameter (flattened) held by this rank: [start, end). */
  start: number;
  end: number;
  /** View into the shard (1-D, end - start elements); `.grad` is the matching shard-gradient view. */
  param: Tensor;
}

export class FsdpUnit {
  readonly entries: FsdpParamEntry[] = [];
  readonly size: number;
  readonly paddedSize: number;
  readonly shardSize: number;
  /** This rank's parameter shard and gradient shard (1-D, shardSize). */
  readonly shard: Tensor;
  readonly shardGrad: Tensor;

  constructor(readonly name: string, params: FsdpUnitSpec['params'], readonly rank: number, readonly world: number, device: number) {
    let off = 0;
    for (const p of params) {
      const size = shapeSize(p.shape);
      this.entries.push({ name: p.name, shape: [...p.shape], offset: off, size });
      off += size;
    }
    this.size = off;
    this.paddedSize = Math.ceil(off / world) * world;
    this.shardSize = this.paddedSize / world;
    const dev = deviceName(device);
    this.shard = untracked(() => zeros([this.shardSize], { device: dev }));
    this.shardGrad = untracked(() => zeros([this.shardSize], { device: dev }));
  }

  get shardStart(): number {
    return this.rank * this.shardSize;
  }

  /** Pieces of each parameter inside this rank's shard, as views (with .grad views). */
  pieces(): ShardPiece[] {
    const lo = this.shardStart, hi = lo + this.shardSize;
    const out: ShardPiece[] = [];
    for (const e of this.entries) {
      const s = Math.max(lo, e.offset), t = Math.min(hi, e.offset + e.size);
      if (s >= t) continue;
      const param = this.shard._view([t - s], this.shard.offset + (s - lo));
      param.name = e.name;
      param.requiresGrad = true;
      param.grad = this.shardGrad._view([t - s], this.shardGrad.offset + (s - lo));
      out.push({ name: e.name, unit: this.name, start: s - e.offset, end: t - e.offset, param });
    }
    return out;
  }
}

export interface FsdpMemoryReport {
  worldSize: number;
  rank: number;
  paramBytes: number;
  gradBytes: number;
  /** Largest transient buffer (one gathered unit: parameters + gradients), in bytes. */
  peakGatherBytes: number;
  unshardedParamBytes: number;
}

export class FSDP {
  readonly units = new Map<string, FsdpUnit>();
  private readonly unitOf = new Map<string, FsdpUnit>();
  /** Name -> view of the currently gathered full parameter (only while a unit runs). */
  private active = new Map<string, Tensor>();

  /**
   * gradReduce: 'avg' (PyTorch FSDP / OLMo: each rank's loss is its own device-batch mean, the
   * gradient is the mean over ranks) or 'sum' (each rank's loss is already normalised globally).
   */
  readonly gradReduce: 'avg' | 'sum';
  /**
   * Precision of the gradient reduce-scatter: 'float32' (OLMo's fsdp.precision `mixed`) or
   * 'bfloat16' (`pure`): each rank's full gradient is rounded to bf16 before the collective and
   * the reduced shard again after it — the values a bf16 reduce-scatter transports. The sum itself
   * runs in float32 (MPI has no bf16 reduction), so this models pure's transport rounding, not the
   * rounding of every partial sum of a bf16 ring.
   */
  readonly reduceDtype: 'float32' | 'bfloat16';
  readonly device: number;
  /** Prefetch the next unit's all-gather and overlap reduce-scatters with backward (file comment). */
  readonly overlap: boolean;
  private prefetched: Gathered | null = null;
  private pending: PendingReduce | null = null;
  private gatheredUnits = 0;
  /** Forward order of the previous pass: run key -> the units run right after / right before it. */
  private readonly nextAfter = new Map<string, FsdpUnit[]>();
  private readonly prevBefore = new Map<string, FsdpUnit[]>();
  private lastForwardKey: string | null = null;
  private lastForwardUnits: FsdpUnit[] = [];
  private readonly seen = new Map<string, number>();
  readonly overlapStats: FsdpOverlapStats = { prefetchHits: 0, prefetchMisses: 0, peakGatheredUnits: 0, peakPendingReduces: 0 };

  constructor(readonly pg: ProcessGroup, specs: readonly FsdpUnitSpec[], opts: { device?: number; gradReduce?: 'avg' | 'sum'; reduceDtype?: 'float32' | 'bfloat16'; overlap?: boolean } = {}) {
    this.overlap = opts.overlap ?? process.env.OLMO_FSDP_OVERLAP !== '0';
    this.device = opts.device ?? -1;
    this.gradReduce = opts.gradReduce ?? 'avg';
    this.reduceDtype = opts.reduceDtype ?? 'float32';
    const device = this.device;
    for (const s of specs) {
      if (this.units.has(s.name)) throw new ArgumentError(`FSDP: duplicate unit '${s.name}'`);
      const u = new FsdpUnit(s.name, s.params, pg.rank, pg.worldSize, device);
      this.units.set(s.name, u);
      for (const e of u.entries) {
        if (this.unitOf.has(e.name)) throw new ArgumentError(`FSDP: parameter '${e.name}' is in two units`);
        this.unitOf.set(e.name, u);
      }
    }
  }

  unit(name: string): FsdpUnit {
    const u = this.units.get(name);
    if (!u) throw new ArgumentError(`FSDP: no unit '${name}'`, `units: ${[...this.units.keys()].join(', ')}`);
    return u;
  }

  /** The unit holding parameter `paramName`. */
  unitName(paramName: string): string {
    const u = this.unitOf.get(paramName);
    if (!u) throw new ArgumentError(`FSDP: unknown parameter '${paramName}'`);
    return u.name;
  }

  /** Copies this rank's shard out of full parameter values (e.g. a freshly initialised model). */
  loadFull(get: (name: string) => Tensor): void {
    noGrad(() => {
      for (const u of this.units.values()) {
        for (const p of u.pieces()) {
          const full = get(p.name).reshape([-1]);
          const src = full.slice(0, p.start, p.end);
          copyInto(p.param, src);
          for (const t of [src, full, p.param, p.param.grad!]) t.dispose();
        }
      }
    });
  }

  /** Starts the all-gather of one unit into a fresh full buffer (non-blocking when overlapping). */
  private startGather(u: FsdpUnit): Gathered {
    return untracked(() => {
      const buffer = zeros([u.paddedSize], { device: u.shard.device });
      this.gatheredUnits++;
      this.overlapStats.peakGatheredUnits = Math.max(this.overlapStats.peakGatheredUnits, this.gatheredUnits);
      // Always issued non-blocking (overlap only decides when it is awaited): Open MPI's blocking
      // and non-blocking reduce-scatters sum in different orders at W >= 3, and overlap must not
      // change a single bit of the result.
      const work = this.pg.allGather(buffer, u.shard, { async: true });
      return { unit: u, buffer, work, released: false };
    });
  }

  private release(g: Gathered): void {
    if (g.released) return;
    g.released = true;
    g.work.wait();  // never free a buffer a collective may still write
    g.buffer.dispose();
    this.gatheredUnits--;
  }

  /** All-gathers one unit (or takes the prefetched one); returns it and name -> view. */
  gather(u: FsdpUnit): { buffer: Tensor; views: Map<string, Tensor>; handle: Gathered } {
    let g: Gathered;
    if (this.prefetched && this.prefetched.unit === u) {
      g = this.prefetched;
      this.prefetched = null;
      this.overlapStats.prefetchHits++;
    } else {
      if (this.prefetched) { this.release(this.prefetched); this.prefetched = null; this.overlapStats.prefetchMisses++; }
      g = this.startGather(u);
    }
    g.work.wait();
    const buffer = g.buffer;
    const views = untracked(() => {
      const m = new Map<string, Tensor>();
      for (const e of u.entries) {
        const v = buffer._view(e.shape, buffer.offset + e.offset);
        v.name = e.name;
        m.set(e.name, v);
      }
      return m;
    });
    return { buffer, views, handle: g };
  }

  /** Starts gathering `next` (a single unit not running now) while the current units compute. */
  private prefetch(next: FsdpUnit[] | undefined, running: FsdpUnit[]): void {
    if (!this.overlap || !next || next.length !== 1 || this.prefetched) return;
    const u = next[0]!;
    if (running.includes(u)) return;
    this.prefetched = this.startGather(u);
  }

  /** Completes the in-flight gradient reduce-scatter, if any (adds it into the shard gradient). */
  sync(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    p.work.wait();
    if (this.reduceDtype === 'bfloat16') roundToBf16InPlace(p.part);
    addInPlace(p.unit.shardGrad, p.part);
    p.part.dispose();
    p.gradBuf.dispose();
  }

  /** Reduce-scatters a unit's full gradient into its shard gradient: left in flight when overlapping. */
  private reduceGrad(u: FsdpUnit, gradBuf: Tensor): void {
    const part = untracked(() => zeros([u.shardSize], { device: u.shard.device }));
    if (this.reduceDtype === 'bfloat16') roundToBf16InPlace(gradBuf);
    const work = this.pg.reduceScatter(part, gradBuf, this.gradReduce, { async: true });  // see startGather
    this.sync();  // the previous unit's reduce-scatter ran during this unit's compute
    this.pending = { unit: u, part, gradBuf, work };
    this.overlapStats.peakPendingReduces = Math.max(this.overlapStats.peakPendingReduces, 1);
    if (!this.overlap) this.sync();
  }

  /** The gathered full parameter `name` while its unit runs (what the model reads). */
  param(name: string): Tensor {
    const v = this.active.get(name);
    if (!v) throw new ArgumentError(`FSDP: parameter '${name}' read outside its unit`, 'wrap the code that uses it in fsdp.run(unit, ...)');
    return v;
  }

  private withGathered<T>(units: FsdpUnit[], fn: (views: Map<string, Tensor>) => T, next?: FsdpUnit[]): T {
    const gathered = units.map((u) => this.gather(u));
    this.prefetch(next, units);
    const prev = this.active;
    this.active = new Map(prev);
    for (const g of gathered) for (const [n, v] of g.views) this.active.set(n, v);
    try {
      return fn(this.active);
    } finally {
      this.active = prev;
      for (const g of gathered) {
        for (const v of g.views.values()) v.dispose();
        this.release(g.handle);
      }
    }
  }

  /**
   * Runs fn with the parameters of `unitNames` gathered. outputs[0] is differentiable (its
   * backward recomputes fn and reduce-scatters the parameter gradients); further outputs are
   * returned detached (e.g. logits next to the loss).
   */
  run(unitNames: string | readonly string[], inputs: readonly Tensor[], fn: (inputs: Tensor[]) => Tensor[]): Tensor[] {
    const units = (typeof unitNames === 'string' ? [unitNames] : unitNames).map((n) => this.unit(n));
    const train = isGradEnabled() && (needsGrad(...inputs) || units.length > 0);
    // Learn the forward order (for the prefetches of the next pass); prefetch what followed last time.
    // The key tells repeated runs of one unit apart (the tied embedding unit runs first and last).
    if (this.lastForwardKey === null) this.seen.clear();
    const name = units.map((u) => u.name).join('+');
    const nth = (this.seen.get(name) ?? 0) + 1;
    this.seen.set(name, nth);
    const key = `${name}#${nth}`;
    if (this.lastForwardKey !== null) {
      this.nextAfter.set(this.lastForwardKey, units);
      this.prevBefore.set(key, this.lastForwardUnits);
    }
    this.lastForwardKey = key;
    this.lastForwardUnits = units;
    const outs = this.withGathered(units, () => noGrad(() => fn([...inputs])), this.nextAfter.get(key));
    if (!train) return outs;
    // Every input is saved (integer ones such as token ids and targets are needed by the
    // recomputation too); only float32 inputs receive gradients.
    const isDiff = inputs.map((t) => t.dtype === 'float32');
    const diffInputs = inputs.filter((_, i) => isDiff[i]);
    record(outs[0]!, `fsdp:${units.map((u) => u.name).join('+')}`, diffInputs, inputs, (g, saved) => {
      // backward() runs closures untracked: the tidy disposes the recomputation's intermediates
      // (otherwise every unit leaked its activations once per backward).
      this.lastForwardKey = null;  // the next forward starts a new pass
      const grads = this.withGathered(units, (views) => tidy(() => {
        // Full-size gradient buffers for the recomputation; parameters become leaves of it (untracked:
        // an in-flight reduce-scatter outlives this scope).
        const gradBufs = units.map((u) => untracked(() => zeros([u.paddedSize], { device: u.shard.device })));
        units.forEach((u, i) => {
          for (const e of u.entries) {
            const v = views.get(e.name)!;
            v.requiresGrad = true;
            v.grad = gradBufs[i]!._view(e.shape, gradBufs[i]!.offset + e.offset);
          }
        });
        const xs = saved.filter((_, i) => isDiff[i]).map((s) => s.detach().requiresGrad_(true));
        let k = 0;
        const args = saved.map((s, i) => (isDiff[i] ? xs[k++]! : s));
        const ys = enableGrad(() => fn(args));
        ys[0]!.backward(g);
        for (const y of ys) y.dispose();
        units.forEach((u, i) => {
          for (const e of u.entries) {
            const v = views.get(e.name)!;
            v.grad?.dispose();
            v.grad = null;
          }
          // fp32 reduce-scatter of the full gradient, accumulated into this rank's shard.
          this.reduceGrad(u, gradBufs[i]!);
        });
        const out = xs.map((x) => x.grad);
        for (const x of xs) { x.grad = null; x.dispose(); }
        return out;
      }), this.prevBefore.get(key));
      return grads;
    });
    for (let i = 1; i < outs.length; i++) outs[i]!.requiresGrad = false;
    return outs;
  }

  /** Every parameter piece this rank owns (what the optimizer steps), with gradient views. */
  pieces(): ShardPiece[] {
    this.sync();
    return [...this.units.values()].flatMap((u) => u.pieces());
  }

  zeroGrad(): void {
    this.sync();
    for (const u of this.units.values()) fillInPlace(u.shardGrad, 0);
  }

  /** Reassembles one full parameter on every rank (checkpoint unsharding, evaluation). */
  fullParam(name: string): Tensor {
    const u = this.unitOf.get(name);
    if (!u) throw new ArgumentError(`FSDP: unknown parameter '${name}'`);
    this.sync();
    return this.withGathered([u], (views) => noGrad(() => views.get(name)!.clone()));
  }

  memoryReport(): FsdpMemoryReport {
    this.sync();
    let shard = 0, full = 0, peak = 0;
    for (const u of this.units.values()) {
      shard += u.shardSize * 4;
      full += u.size * 4;
      peak = Math.max(peak, u.paddedSize * 4 * 2);
    }
    return { worldSize: this.pg.worldSize, rank: this.pg.rank, paramBytes: shard, gradBytes: shard, peakGatherBytes: peak, unshardedParamBytes: full };
  }

  dispose(): void {
    this.sync();
    if (this.prefetched) { this.release(this.prefetched); this.prefetched = null; }
    for (const u of this.units.values()) {
      u.shard.dispose();
      u.shardGrad.dispose();
    }
    this.units.clear();
  }
}

/** OLMo's FSDP wrapping strategies over an ordered parameter list with `model.layers.N.` names. */
export function fsdpUnits(params: ReadonlyArray<{ name: string; shape: readonly number[] }>, strategy: 'by_block' | 'by_block_group' | 'whole_model' = 'by_block', groupSize = 1): FsdpUnitSpec[] {
  if (strategy === 'whole_model') return [{ name: 'model', params }];
  const units = new Map<string, FsdpUnitSpec>();
  const unitFor = (name: string) => {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (!m) return 'root';
    const l = Number(m[1]);
    return strategy === 'by_block' ? `block.${l}` : `block_group.${Math.floor(l / Math.max(1, groupSize))}`;
  };
  for (const p of params) {
    const u = unitFor(p.name);
    if (!units.has(u)) units.set(u, { name: u, params: [] });
    (units.get(u)!.params as Array<{ name: string; shape: readonly number[] }>).push(p);
  }
  return [...units.values()];
}

/** t = float32(bfloat16(t)) in place (round to nearest even). */
function roundToBf16InPlace(t: Tensor): void {
  const b = t.to('bfloat16');
  const f = b.to('float32');
  copyInto(t, f);
  b.dispose();
  f.dispose();
}
