/**
 * adamw family (kernel: native/cpu/adamw.cc; header native/include/olmo/ops/adamw.h).
 *   adamwStep({ params, grads, expAvg, expAvgSq, lr, weightDecay, beta1, beta2, eps, step }):
 *   one fused multi-tensor AdamW step, in place, per-tensor lr and weight decay:
 *     p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
 *     p -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps).
 *   Throws NON_FINITE (typed, nothing modified) if any gradient element is NaN or Inf.
 * Not recorded by autograd.
 */
import { call } from '../native.js';
import type { Tensor } from '../tensor.js';
import { ArgumentError } from '../errors.js';
import { contig } from './views.js';
import { expectDtype, expectSameShape, sameDevice } from './util.js';

export interface AdamwStepArgs {
  params: Tensor[];
  grads: Tensor[];
  expAvg: Tensor[];
  expAvgSq: Tensor[];
  /** Learning rate per tensor. */
  lr: number[];
  /** Weight decay per tensor (0 for tensors excluded from decay). */
  weightDecay: number[];
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count (after this update), used for bias correction. */
  step: number;
}

export function adamwStep(a: AdamwStepArgs): void {
  const n = a.params.length;
  for (const [name, arr] of [['grads', a.grads], ['expAvg', a.expAvg], ['expAvgSq', a.expAvgSq], ['lr', a.lr], ['weightDecay', a.weightDecay]] as const) {
    if (!Array.isArray(arr) || arr.length !== n) throw new ArgumentError(`adamwStep: ${name} has ${Array.isArray(arr) ? arr.length : 'no'} entries, expected ${n} (one per param)`);
  }
  for (const [name, x] of [['beta1', a.beta1], ['beta2', a.beta2], ['eps', a.eps]] as const) {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new ArgumentError(`adamwStep: ${name} must be a finite number, got ${x}`);
  }
  if (a.beta1 < 0 || a.beta1 >= 1 || a.beta2 < 0 || a.beta2 >= 1) throw new ArgumentError(`adamwStep: betas must be in [0, 1), got (${a.beta1}, ${a.beta2})`);
  if (!Number.isInteger(a.step) || a.step < 1) throw new ArgumentError(`adamwStep: step must be an integer >= 1, got ${a.step}`);
  if (n === 0) return;
  const copies: Tensor[] = [];
  try {
    const grads: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const p = a.params[i]!, g = a.grads[i]!, m = a.expAvg[i]!, v = a.expAvgSq[i]!;
      for (const t of [p, g, m, v]) expectDtype('adamwStep', t, 'float32');
      expectSameShape('adamwStep', p, g);
      expectSameShape('adamwStep', p, m);
      expectSameShape('adamwStep', p, v);
      sameDevice('adamwStep', a.params[0]!, p, g, m, v);
      for (const [what, t] of [['param', p], ['expAvg', m], ['expAvgSq', v]] as const) {
        if (!t.isContiguous) throw new ArgumentError(`adamwStep: ${what} ${i}${t.name ? ` '${t.name}'` : ''} must be contiguous (it is updated in place)`);
      }
      if (!Number.isFinite(a.lr[i]) || !Number.isFinite(a.weightDecay[i])) throw new ArgumentError(`adamwStep: lr/weightDecay of tensor ${i} must be finite`);
      const gc = contig(g);
      if (gc !== g) copies.push(gc);
      grads.push(gc);
    }
    call((nat) => nat.adamwStep(
      a.params.map((t) => t.buf), a.params.map((t) => t.byteOffset),
      grads.map((t) => t.buf), grads.map((t) => t.byteOffset),
      a.expAvg.map((t) => t.buf), a.expAvg.map((t) => t.byteOffset),
      a.expAvgSq.map((t) => t.buf), a.expAvgSq.map((t) => t.byteOffset),
      a.params.map((t) => t.size), a.lr, a.weightDecay, a.beta1, a.beta2, a.eps, a.step));
  } finally {
    for (const c of copies) c.dispose();
  }
}

