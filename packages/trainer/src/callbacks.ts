/**
 * Named, stateful, resumable callbacks. Each has a unique `name`; `stateDict()` / `loadStateDict()`
 * are saved in and restored from every checkpoint (trainer.msgpack → callbacks[name]).
 * Order matters: the speed monitor and evaluator add metrics before loggers write them.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { matmul, tidy, zeros, Generator, randn } from '@olmo/tensor-cuda';
import { NonFiniteError } from './errors.js';

export type Metrics = Record<string, number>;

/** What callbacks can see of the trainer. */
export interface TrainerView {
  readonly step: number;
  readonly maxSteps: number;
  readonly tokens: number;
  readonly tokensPerStep: number;
  /** Ranks sharing the global batch (FSDP); device throughput is per rank. */
  readonly worldSize?: number;
  readonly saveFolder: string;
  readonly flopsPerToken: number;
  readonly startStep: number;
  /** Set when training was stopped by a signal ('SIGINT' / 'SIGTERM'): onTrainEnd saves, skips the final evaluation. */
  readonly interrupted?: string | null;
  saveCheckpoint(): Promise<string>;
  log(line: string): void;
}

export interface Callback {
  readonly name: string;
  onTrainStart?(t: TrainerView): void | Promise<void>;
  /** Called before the optimizer step's metrics are logged; may add metrics. */
  onStepEnd?(t: TrainerView, metrics: Metrics): void | Promise<void>;
  onTrainEnd?(t: TrainerView, metrics: Metrics | null): void | Promise<void>;
  stateDict?(): unknown;
  loadStateDict?(s: unknown): void;
}

/** Stops with NON_FINITE naming the step if the loss or grad norm is NaN/Inf. */
export class NaNDetector implements Callback {
  readonly name = 'nan_detector';
  onStepEnd(t: TrainerView, m: Metrics): void {
    for (const k of ['train/CrossEntropyLoss', 'optim/total_grad_norm', 'train/ZLoss']) {
      const v = m[k];
      if (v !== undefined && !Number.isFinite(v)) throw new NonFiniteError(t.step, k);
    }
  }
}

let measuredPeak: number | null = null;
/** Measured sgemm rate of this machine (FLOP/s) — the default MFU denominator on CPU. */
export function measureCpuPeakFlops(): number {
  if (measuredPeak !== null) return measuredPeak;
  measuredPeak = tidy(() => {
    const n = 512, g = new Generator(0);
    const a = randn([n, n], g), b = randn([n, n], g);
    matmul(a, b).dispose();
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t0 = process.hrtime.bigint();
      matmul(a, b).dispose();
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    zeros([1]).dispose();
    return (2 * n * n * n) / best;
  });
  return measuredPeak;
}

/** tokens/s (device and windowed), total tokens, model FLOPs/s and MFU. */
export class SpeedMonitor implements Callback {
  readonly name = 'speed_monitor';
  private times: number[] = [];
  private last = 0;
  private peak = 0;
  constructor(private windowSize = 20, private peakFlops: number | null = null) {}
  onTrainStart(): void {
    this.peak = this.peakFlops ?? measureCpuPeakFlops();
    this.last = performance.now();
  }
  onStepEnd(t: TrainerView, m: Metrics): void {
    const now = performance.now();
    const dt = (now - this.last) / 1000;
    this.last = now;
    this.times.push(dt);
    if (this.times.length > this.windowSize) this.times.shift();
    const avg = this.times.reduce((a, b) => a + b, 0) / this.times.length;
    const tps = t.tokensPerStep / (t.worldSize ?? 1) / avg; // per device (OLMo): this rank's share of the global batch
    if ((t.worldSize ?? 1) > 1) m['throughput/total/tokens_per_second'] = t.tokensPerStep / avg;
    m['throughput/total_tokens'] = t.tokens;
    m['throughput/device/tokens_per_second'] = tps;
    m['throughput/device/batches_per_second'] = 1 / avg;
    m['throughput/device/model_flops_per_second'] = tps * t.flopsPerToken;
    m['throughput/device/mfu'] = (tps * t.flopsPerToken) / this.peak;
  }
  stateDict(): unknown { return { peak: this.peak }; }
  loadStateDict(): void { /* timing restarts on resume */ }
}

/** Appends one JSON object per logged step to SAVE_FOLDER/metrics.jsonl (OLMo metric names). */
export class MetricsJSONL implements Callback {
  readonly name = 'metrics_jsonl';
  private path = '';
  constructor(private interval = 1) {}
  onTrainStart(t: TrainerView): void {
    this.path = join(t.saveFolder, 'metrics.jsonl');
    mkdirSync(dirname(this.path), { recursive: true });
    // On resume drop lines logged after the checkpoint (they will be recomputed identically).
    if (existsSync(this.path)) {
      const keep = readFileSync(this.path, 'utf8').split('\n').filter((l) => {
        if (!l.trim()) return false;
        try { return (JSON.parse(l) as { step: number }).step <= t.startStep; } catch { return false; }
      });
      writeFileSync(this.path, keep.length ? keep.join('\n') + '\n' : '');
    }
  }
  onStepEnd(t: TrainerView, m: Metrics): void {
    if (t.step % this.interval !== 0 && t.step !== t.maxSteps) return;
    appendFileSync(this.path, JSON.stringify({ step: t.step, ...m }) + '\n');
  }
}

const fmtNum = (x: number | undefined, d = 4) => (x === undefined ? '-' : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : x.toFixed(d));

/** OLMo-style console lines: `[step=12/100] train/CrossEntropyLoss=... ...`. */
export class ConsoleLogger implements Callback {
  readonly name = 'console_logger';
  constructor(private interval = 1, private out: (s: string) => void = (s) => process.stdout.write(s + '\n')) {}
  onStepEnd(t: TrainerView, m: Metrics): void {
    if (t.step % this.interval !== 0 && t.step !== t.maxSteps && t.step !== t.startStep + 1) return;
    const keys = ['train/CrossEntropyLoss', 'train/Perplexity', 'train/ZLoss', 'train/LossSum', 'train/DPOLoss', 'rewards/accuracies', 'rewards/margins', 'optim/total_grad_norm', 'optim/learning_rate_group0', 'throughput/device/tokens_per_second', 'throughput/device/mfu'];
    const parts = keys.filter((k) => m[k] !== undefined).map((k) => `${k}=${fmtNum(m[k], k.includes('tokens_per') ? 0 : 4)}`);
    for (const [k, v] of Object.entries(m)) if (k.startsWith('eval/')) parts.push(`${k}=${fmtNum(v)}`);
    this.out(`[step=${t.step}/${t.maxSteps}] ${parts.join(' ')}`);
  }
}

/** A one-line TTY progress bar with ETA and tokens/s (stderr; disabled when not a TTY). */
export class ProgressBar implements Callback {
  readonly name = 'progress';
  private t0 = 0; private s0 = 0;
  constructor(private stream: NodeJS.WriteStream = process.stderr) {}
  get enabled(): boolean { return !!this.stream.isTTY; }
  onTrainStart(t: TrainerView): void { this.t0 = performance.now(); this.s0 = t.step; }
  onStepEnd(t: TrainerView, m: Metrics): void {
    if (!this.enabled) return;
    const width = 30, frac = t.step / t.maxSteps;
    const el = (performance.now() - this.t0) / 1000, done = t.step - this.s0;
    const eta = done > 0 ? (el / done) * (t.maxSteps - t.step) : 0;
    const fill = Math.round(frac * width);
    const bar = '█'.repeat(fill) + '░'.repeat(width - fill);
    const tps = m['throughput/device/tokens_per_second'];
    this.stream.write(`\r\x1b[2K${bar} ${t.step}/${t.maxSteps} loss ${fmtNum(m['train/CrossEntropyLoss'], 3)} ${tps ? `${Math.round(tps)} tok/s` : ''} ETA ${fmtTime(eta)}`);
  }
  onTrainEnd(): void { if (this.enabled) this.stream.write('\n'); }
}

export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60), r = Math.round(s % 60);
  return m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** Saves a checkpoint every `interval` steps and at the end of training. */
export class Checkpointer implements Callback {
  readonly name = 'checkpointer';
  private lastSaved = -1;
  constructor(private interval: number | null) {}
  async onStepEnd(t: TrainerView): Promise<void> {
    if (this.interval && t.step % this.interval === 0) { await t.saveCheckpoint(); this.lastSaved = t.step; }
  }
  async onTrainEnd(t: TrainerView): Promise<void> {
    // an interrupted run always saves, so it can resume where it stopped
    if ((this.interval !== null || t.interrupted) && this.lastSaved !== t.step && t.step > t.startStep) { await t.saveCheckpoint(); this.lastSaved = t.step; }
  }
  stateDict(): unknown { return { lastSaved: this.lastSaved }; }
  loadStateDict(s: unknown): void { this.lastSaved = (s as { lastSaved?: number })?.lastSaved ?? -1; }
}

/** Runs `evaluate()` every `interval` steps (and at the end); merges its metrics (eval/...). */
export class EvaluatorCallback implements Callback {
  readonly name = 'evaluator';
  last: Metrics = {};
  constructor(private interval: number | null, private evaluate: (step: number) => Promise<Metrics>, private atEnd = true) {}
  async onStepEnd(t: TrainerView, m: Metrics): Promise<void> {
    if (!this.interval || t.step % this.interval !== 0) return;
    this.last = await this.evaluate(t.step);
    Object.assign(m, this.last);
  }
  async onTrainEnd(t: TrainerView, m: Metrics | null): Promise<void> {
    if (!this.atEnd || t.interrupted || (this.interval && t.step % this.interval === 0) || t.step === t.startStep) return;
    this.last = await this.evaluate(t.step);
    if (m) Object.assign(m, this.last);
  }
  stateDict(): unknown { return { last: this.last }; }
  loadStateDict(s: unknown): void { this.last = (s as { last?: Metrics })?.last ?? {}; }
}
