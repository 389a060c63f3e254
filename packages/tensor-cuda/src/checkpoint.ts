/**
 * Activation checkpointing: `checkpoint(fn, inputs)` runs fn without recording a graph and keeps
 * only its inputs; backward re-runs fn with a graph (under the autocast mode of the forward) and
 * backpropagates through it. Parameters fn reads (leaves outside `inputs`) receive their
 * gradients from that inner backward directly. Memory: fn's intermediates live only during its
 * own recomputation instead of from the forward to the backward. fn must be deterministic (no
 * dropout here) so the recomputation reproduces the forward exactly.
 */
import { enableGrad, isGradEnabled, noGrad, record } from './autograd.js';
import { autocastDtype, withAutocast } from './autocast.js';
import { tidy } from './scope.js';
import type { Tensor } from './tensor.js';

export function checkpoint(fn: (inputs: Tensor[]) => Tensor, inputs: Tensor[]): Tensor {
  if (!isGradEnabled()) return fn(inputs);
  const mode = autocastDtype();
  // fn's intermediates are freed as soon as it returns (its own scope), not at the caller's scope end
  const out = tidy(() => noGrad(() => fn(inputs)));
  record(out, 'checkpoint', inputs, inputs, (g, saved) => tidy(() => {
    const xs = saved.map((s, i) => {
      const x = s.detach();
      if (inputs[i]!.requiresGrad) x.requiresGrad_(true);
      return x;
    });
    const y = withAutocast(mode, () => enableGrad(() => fn(xs)));
    if (y.requiresGrad) y.backward(g);
    y.dispose();
    const grads = xs.map((x) => x.grad ?? null);
    for (const x of xs) { x.grad = null; x.dispose(); }
    return grads;
  }));
  return out;
}
