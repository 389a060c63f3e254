/**
 * Learning-rate schedules exactly as OLMo's olmo/optim.py defines them. `step` is OLMo's
 * `scheduler_current` (the 1-based global step after increment, or tokens seen including the
 * current batch when units = tokens); `maxSteps` is `scheduler_max`.
 *
 *  warmup:   lr = warmup_min_lr + (lr0 - warmup_min_lr) * min(step, t_warmup) / t_warmup
 *            (warmup_min_lr defaults to 10% of lr0) for step < t_warmup
 *  cosine:   eta_min + (lr0 - eta_min) * (1 + cos(pi * (step - t_warmup) / (t_max - t_warmup))) / 2
 *  linear:   lr0 - (lr0 - eta_min) * (step - t_warmup) / (t_max - t_warmup)
 *  inv_sqrt: lr0 * sqrt(t_warmup / max(t_warmup, step))
 *  eta_min = lr0 * alpha_f; step >= t_max → eta_min.
 *  grad clip warmup: max_grad_norm * grad_clip_warmup_factor while step <= grad_clip_warmup_steps.
 */
import type { SchedulerSection, TrainConfig } from './config.js';
import { ConfigError } from './errors.js';

export interface SchedulerOptions {
  name: SchedulerSection['name'];
  tWarmup?: number;
  tMax?: number | null;
  alphaF?: number;
  warmupMinLr?: number | null;
  gradClipWarmupSteps?: number | null;
  gradClipWarmupFactor?: number | null;
}

export class Scheduler {
  readonly name: SchedulerSection['name'];
  readonly tWarmup: number;
  readonly tMax: number | null;
  readonly alphaF: number;
  readonly warmupMinLr: number | null;
  readonly gradClipWarmupSteps: number | null;
  readonly gradClipWarmupFactor: number | null;

  constructor(o: SchedulerOptions) {
    this.name = o.name;
    this.tWarmup = o.tWarmup ?? 0;
    this.tMax = o.tMax ?? null;
    this.alphaF = o.alphaF ?? 0.1;
    this.warmupMinLr = o.warmupMinLr ?? null;
    this.gradClipWarmupSteps = o.gradClipWarmupSteps ?? null;
    this.gradClipWarmupFactor = o.gradClipWarmupFactor ?? null;
    if (!['constant', 'linear_with_warmup', 'cosine_with_warmup', 'inverse_sqrt_with_warmup'].includes(this.name))
      throw new ConfigError('scheduler.name', `unknown scheduler '${String(this.name)}'; valid: constant, linear_with_warmup, cosine_with_warmup, inverse_sqrt_with_warmup`);
  }

  static fromConfig(c: TrainConfig): Scheduler {
    const s = c.scheduler;
    return new Scheduler({
      name: s.name, tWarmup: s.t_warmup, tMax: s.t_max, alphaF: s.alpha_f, warmupMinLr: s.warmup_min_lr,
      gradClipWarmupSteps: s.grad_clip_warmup_steps, gradClipWarmupFactor: s.grad_clip_warmup_factor,
    });
  }

  private linearWarmup(lr0: number, step: number): number {
    const minLr = this.warmupMinLr ?? lr0 * 0.1;
    return minLr + ((lr0 - minLr) * Math.min(step, this.tWarmup)) / this.tWarmup;
  }

  getLr(lr0: number, step: number, maxSteps: number): number {
    if (this.name === 'constant') return lr0;
    if (step < this.tWarmup) return this.linearWarmup(lr0, step);
    if (this.name === 'inverse_sqrt_with_warmup') return lr0 * Math.sqrt(this.tWarmup / Math.max(this.tWarmup, step));
    const max = this.tMax ?? maxSteps;
    const etaMin = lr0 * this.alphaF;
    if (step >= max) return etaMin;
    const s = step - this.tWarmup, m = max - this.tWarmup;
    if (this.name === 'cosine_with_warmup') return etaMin + ((lr0 - etaMin) * (1 + Math.cos((Math.PI * s) / m))) / 2;
    return lr0 - ((lr0 - etaMin) * s) / m; // linear_with_warmup
  }

  /** OLMo's `get_max_grad_norm`: the clip threshold at this step (null = no clipping). */
  getMaxGradNorm(maxGradNorm: number | null, step: number): number | null {
    if (maxGradNorm === null) return null;
    if (this.gradClipWarmupSteps === null || this.gradClipWarmupFactor === null || step > this.gradClipWarmupSteps) return maxGradNorm;
    return this.gradClipWarmupFactor * maxGradNorm;
  }

  stateDict(): SchedulerOptions {
    return { name: this.name, tWarmup: this.tWarmup, tMax: this.tMax, alphaF: this.alphaF, warmupMinLr: this.warmupMinLr, gradClipWarmupSteps: this.gradClipWarmupSteps, gradClipWarmupFactor: this.gradClipWarmupFactor };
  }
}
