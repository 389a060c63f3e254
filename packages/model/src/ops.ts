/**
 * The tensor-cuda ops this package uses, typed with the op API contract. Resolved by name at call
 * time, so this package type-checks while op families are still landing in @olmo/tensor-cuda;
 * a missing op gives a typed error naming it.
 */
import * as tc from '@olmo/tensor-cuda';
import { OlmoError, type Tensor } from '@olmo/tensor-cuda';

function op<F>(name: string): F {
  return ((...args: unknown[]) => {
    const f = (tc as unknown as Record<string, unknown>)[name];
    if (typeof f !== 'function') {
      throw new OlmoError('NATIVE_UNAVAILABLE', `@olmo/tensor-cuda has no op '${name}'`, 'update @olmo/tensor-cuda to a version implementing the op API contract');
    }
    return (f as (...a: unknown[]) => unknown)(...args);
  }) as F;
}

export const embedding = op<(ids: Tensor, weight: Tensor) => Tensor>('embedding');
export const layerNorm = op<(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps?: number) => Tensor>('layerNorm');
export const rmsNorm = op<(x: Tensor, weight: Tensor | null, eps?: number) => Tensor>('rmsNorm');
export const rope = op<(x: Tensor, opts: { theta: number; positionOffset?: number }) => Tensor>('rope');
export const attention = op<(q: Tensor, k: Tensor, v: Tensor, opts?: { causal?: boolean; scale?: number }) => Tensor>('attention');
export const swiglu = op<(gate: Tensor, up: Tensor) => Tensor>('swiglu');
export const clamp = op<(x: Tensor, min: number, max: number) => Tensor>('clamp');
export const crossEntropy = op<(logits: Tensor, targets: Tensor, opts?: { ignoreIndex?: number; reduction?: 'mean' | 'sum' | 'none'; zLossMultiplier?: number }) => { loss: Tensor; zLoss: Tensor | null }>('crossEntropy');
