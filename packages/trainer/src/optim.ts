/**
 * Optimizers with OLMo's parameter groups.
 *
 * Groups (olmo/optim.py get_param_groups): weights of linear layers are decayed; biases and norm
 * weights only when `decay_norm_and_bias`; embeddings only when `decay_embeddings`. With HF
 * parameter names: `*embed_tokens*` / `wte` are embeddings, names containing `norm` are norms,
 * `*.bias` are biases. Group 0 = decay, group 1 = no decay (OLMo's order; names sorted).
 *
 * AdamW: decoupled weight decay then Adam with bias correction (PyTorch AdamW), one fused
 * multi-tensor native step. Moments live in FlatBuffers (the layout FSDP shards).
 * LionW: OLMo's LionW (sign of the interpolated momentum, decoupled weight decay).
 */
import { FlatBuffer, type Tensor, tensor, copyInto } from '@olmo/tensor-cuda';
import { adamwStep } from '@olmo/tensor-cuda';
import { readSafetensorsF32, writeSafetensorsF32 } from './safetensors.js';
import { CheckpointError, ConfigError } from './errors.js';

export interface NamedParam { name: string; param: Tensor }
export interface ParamGroup { names: string[]; params: Tensor[]; weightDecay: number; lr: number }

export function isEmbeddingName(n: string): boolean { return /(^|\.)(embed_tokens|wte|wpe|embedding)(\.|$)/.test(n); }
export function isNormOrBias(n: string): boolean { return n.endsWith('bias') || /norm/i.test(n.split('.').slice(-2).join('.')); }

export function paramGroups(params: NamedParam[], o: { weightDecay: number; decayNormAndBias?: boolean; decayEmbeddings?: boolean; lr: number }): ParamGroup[] {
  const decay: NamedParam[] = [], noDecay: NamedParam[] = [];
  for (const p of params) {
    let d = true;
    if (isNormOrBias(p.name)) d = !!o.decayNormAndBias;
    else if (isEmbeddingName(p.name)) d = !!o.decayEmbeddings;
    (d ? decay : noDecay).push(p);
  }
  const by = (a: NamedParam, b: NamedParam) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  decay.sort(by); noDecay.sort(by);
  const groups: ParamGroup[] = [{ names: decay.map((p) => p.name), params: decay.map((p) => p.param), weightDecay: o.weightDecay, lr: o.lr }];
  if (noDecay.length) groups.push({ names: noDecay.map((p) => p.name), params: noDecay.map((p) => p.param), weightDecay: 0, lr: o.lr });
  return groups;
}

export interface OptimizerOptions {
  lr: number; betas?: [number, number] | number[]; eps?: number; weightDecay?: number;
  decayNormAndBias?: boolean; decayEmbeddings?: boolean;
}

export abstract class Optimizer {
  readonly groups: ParamGroup[];
  step_ = 0;
  protected readonly names: string[];
  protected readonly byName = new Map<string, Tensor>();
  constructor(params: NamedParam[], readonly opts: OptimizerOptions) {
    if (!(opts.lr > 0)) throw new ConfigError('optimizer.learning_rate', `must be > 0, got ${opts.lr}`);
    this.groups = paramGroups(params, { weightDecay: opts.weightDecay ?? 0, decayNormAndBias: opts.decayNormAndBias, decayEmbeddings: opts.decayEmbeddings, lr: opts.lr });
    this.names = this.groups.flatMap((g) => g.names);
    for (const p of params) this.byName.set(p.name, p.param);
  }
  /** Sets every group's learning rate (OLMo sets all groups from the scheduler). */
  setLr(lr: number): void { for (const g of this.groups) g.lr = lr; }
  get allParams(): Tensor[] { return this.groups.flatMap((g) => g.params); }
  abstract step(): void;
  zeroGrad(): void { for (const p of this.allParams) p.zeroGrad(); }
  abstract stateTensors(): Array<{ name: string; buf: FlatBuffer }>;

  /** Writes moments as safetensors `<state>.<param name>` + step/lr metadata. */
  save(path: string): void {
    const out: Array<{ name: string; shape: readonly number[]; data: Float32Array }> = [];
    for (const { name, buf } of this.stateTensors()) for (const n of this.names) { const v = buf.view(n); out.push({ name: `${name}.${n}`, shape: v.shape, data: v.toFloat32Array() }); }
    writeSafetensorsF32(path, out, { step: String(this.step_), kind: this.constructor.name, lrs: JSON.stringify(this.groups.map((g) => g.lr)) });
  }
  load(path: string): void {
    const { tensors, metadata } = readSafetensorsF32(path);
    if (metadata.kind && metadata.kind !== this.constructor.name) throw new CheckpointError(`${path}: optimizer state is ${metadata.kind}, run uses ${this.constructor.name}`);
    for (const { name, buf } of this.stateTensors()) for (const n of this.names) {
      const t = tensors.get(`${name}.${n}`);
      if (!t) throw new CheckpointError(`${path}: missing optimizer state ${name}.${n}`);
      const v = buf.view(n);
      if (t.data.length !== v.size) throw new CheckpointError(`${path}: ${name}.${n} has ${t.data.length} values, parameter has ${v.size}`);
      const src = tensor(t.data, { shape: v.shape });
      try { copyInto(v, src); } finally { src.dispose(); }
    }
    this.step_ = Number(metadata.step ?? 0);
    if (metadata.lrs) { const lrs = JSON.parse(metadata.lrs) as number[]; this.groups.forEach((g, i) => { if (lrs[i] !== undefined) g.lr = lrs[i]!; }); }
  }
  dispose(): void { for (const { buf } of this.stateTensors()) buf.dispose(); }
}

export class AdamW extends Optimizer {
  readonly expAvg: FlatBuffer;
  readonly expAvgSq: FlatBuffer;
  readonly beta1: number; readonly beta2: number; readonly eps: number;
  constructor(params: NamedParam[], opts: OptimizerOptions) {
    super(params, opts);
    [this.beta1, this.beta2] = (opts.betas ?? [0.9, 0.999]) as [number, number];
    this.eps = opts.eps ?? 1e-8;
    const specs = this.names.map((n) => ({ name: n, shape: this.byName.get(n)!.shape }));
    const device = params[0]?.param.device ?? 'cpu';
    this.expAvg = new FlatBuffer(specs, { device });
    this.expAvgSq = new FlatBuffer(specs, { device });
  }
  step(): void {
    this.step_++;
    const params: Tensor[] = [], grads: Tensor[] = [], m: Tensor[] = [], v: Tensor[] = [], lr: number[] = [], wd: number[] = [];
    for (const g of this.groups) g.params.forEach((p, i) => {
      if (!p.grad) return;
      params.push(p); grads.push(p.grad); m.push(this.expAvg.view(g.names[i]!)); v.push(this.expAvgSq.view(g.names[i]!));
      lr.push(g.lr); wd.push(g.weightDecay);
    });
    adamwStep({ params, grads, expAvg: m, expAvgSq: v, lr, weightDecay: wd, beta1: this.beta1, beta2: this.beta2, eps: this.eps, step: this.step_ });
  }
  stateTensors() { return [{ name: 'exp_avg', buf: this.expAvg }, { name: 'exp_avg_sq', buf: this.expAvgSq }]; }
}

export class LionW extends Optimizer {
  readonly expAvg: FlatBuffer;
  readonly beta1: number; readonly beta2: number;
  constructor(params: NamedParam[], opts: OptimizerOptions) {
    super(params, opts);
    [this.beta1, this.beta2] = (opts.betas ?? [0.9, 0.99]) as [number, number];
    this.expAvg = new FlatBuffer(this.names.map((n) => ({ name: n, shape: this.byName.get(n)!.shape })), { device: params[0]?.param.device ?? 'cpu' });
  }
  step(): void {
    this.step_++;
    for (const g of this.groups) g.params.forEach((pt, i) => {
      if (!pt.grad) return;
      const mt = this.expAvg.view(g.names[i]!);
      const p = pt.toFloat32Array(), gr = pt.grad.toFloat32Array(), m = mt.toFloat32Array();
      const decay = 1 - g.lr * g.weightDecay;
      for (let j = 0; j < p.length; j++) {
        const u = m[j]! * this.beta1 + gr[j]! * (1 - this.beta1);
        p[j] = p[j]! * decay - g.lr * Math.sign(u);
        m[j] = m[j]! * this.beta2 + gr[j]! * (1 - this.beta2);
      }
      const tp = tensor(p, { shape: pt.shape }), tm = tensor(m, { shape: mt.shape });
      try { copyInto(pt, tp); copyInto(mt, tm); } finally { tp.dispose(); tm.dispose(); }
    });
  }
  stateTensors() { return [{ name: 'exp_avg', buf: this.expAvg }]; }
}
