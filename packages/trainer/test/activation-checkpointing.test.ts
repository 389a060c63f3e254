/**
 * activation_checkpointing (OLMo's strategies) in the single-process trainer path: the loss and
 * every gradient are bit-identical to no checkpointing (the recomputation runs the same kernels on
 * the same inputs), for OLMo-1 and OLMo-2 blocks, in fp32 and under amp_bf16 autocast; and the
 * peak live native bytes of a forward+backward step drop (memoryStats after resetPeakMemory).
 */
import { describe, expect, it } from 'vitest';
import { OLMo, OLMoConfig, type ActivationCheckpointing } from '@olmo/model';
import { memoryStats, resetPeakMemory, tidy, withAutocast } from '@olmo/tensor-cuda';
import { microbatchLoss, resolveConfig } from '../src/index.js';

const STRATEGIES: Array<ActivationCheckpointing | null> = [null, 'whole_layer', 'one_in_two', 'one_in_three', 'one_in_four', 'fine_grained'];

function step(model: OLMo, ids: Int32Array, B: number, T: number, ac: ActivationCheckpointing | null, amp: boolean) {
  model.zeroGrad();
  const before = memoryStats().cpuBytes;
  resetPeakMemory();
  let loss = 0;
  withAutocast(amp ? 'bfloat16' : null, () => tidy(() => {
    const out = microbatchLoss(model, ids, B, T, { normalizer: B * (T - 1), activationCheckpointing: ac });
    loss = out.ceSum;
    out.ceLoss.backward();
  }));
  const peak = memoryStats().cpuPeakBytes - before;
  const grads = model.namedParameters().map(([n, p]) => [n, p.grad!.toFloat32Array()] as const);
  return { loss, grads, peak };
}

describe('activation checkpointing', () => {
  for (const arch of ['olmo1', 'olmo2'] as const) {
    for (const amp of [false, true]) {
      it(`${arch}${amp ? ' (amp_bf16)' : ''}: every strategy gives identical loss and gradients, and a lower peak`, () => {
        const cfg = OLMoConfig.from({ architecture: arch, vocab_size: 96, embedding_size: 128, hidden_size: 64, intermediate_size: 160, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256 });
        const model = OLMo.init(cfg, { seed: 3 });
        const B = 4, T = 64;
        const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % 96);
        const base = step(model, ids, B, T, null, amp);
        const peaks: Record<string, number> = {};
        for (const ac of STRATEGIES.slice(1)) {
          const r = step(model, ids, B, T, ac, amp);
          expect(r.loss, `${ac} loss`).toBe(base.loss);
          r.grads.forEach(([n, g], i) => {
            const ref = base.grads[i]![1];
            let same = g.length === ref.length;
            for (let k = 0; same && k < g.length; k++) same = g[k] === ref[k];
            expect(same, `${ac}: gradient of ${n} identical`).toBe(true);
          });
          peaks[ac!] = r.peak;
        }
        console.log(`[activation-checkpointing] ${arch}${amp ? ' amp' : ''} peak bytes: none ${base.peak}, ${Object.entries(peaks).map(([k, v]) => `${k} ${v}`).join(', ')}`);
        expect(peaks.whole_layer!).toBeLessThan(0.6 * base.peak);
        expect(peaks.whole_layer!).toBeLessThanOrEqual(peaks.one_in_two!);
        expect(peaks.one_in_two!).toBeLessThan(base.peak);
        expect(peaks.one_in_four!).toBeLessThan(base.peak);
        expect(peaks.fine_grained!).toBeLessThan(base.peak);
        model.dispose();
      }, 120_000);
    }
  }

  it('the config key accepts OLMo\'s strategies and rejects others', () => {
    expect(resolveConfig({ activation_checkpointing: 'one_in_three' }).activation_checkpointing).toBe('one_in_three');
    expect(resolveConfig({}).activation_checkpointing).toBeNull();
    expect(() => resolveConfig({ activation_checkpointing: 'every_layer' })).toThrow(/activation_checkpointing/);
  });
});
