/**
 * bf16 activation storage (amp_bf16) on a whole model: after an autocast forward, the graph holds
 * the activations saved for backward in bf16 where the recipe stores them (linear inputs; attention
 * q / k / v; swiglu gate / up), so memoryStats() shows fewer live bytes than the float32 forward —
 * by exactly the bytes the storage plan predicts (savedBytesPerToken below, also used for the
 * OLMo-1B numbers in docs/cuda.md). Backward still runs and frees everything.
 */
import { describe, expect, it } from 'vitest';
import { memoryStats, withAutocast } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig } from '../src/index.js';

/**
 * Bytes one token saves for backward in one OLMo-1 block (no clip_qkv; layer-norm statistics and
 * the attention logsumexp, a few floats per token, left out), float32 vs bf16 storage:
 *   float32: x (attn-norm input), a (q/k/v input), q, k, v, att (attention output = o_proj input),
 *            h (ff-norm input), m (gate/up input), gate, up, swiglu output (down input): all 4 bytes.
 *   bf16:    a, q, k, v, m, gate, up, swiglu output in 2 bytes; x, h, att (kept by attention) in 4,
 *            plus o_proj's own bf16 copy of att (2 bytes).
 */
export function savedBytesPerToken(C: number, Ckv: number, I: number, bf16: boolean): number {
  if (!bf16) return 4 * (C + C + C + 2 * Ckv + C + C + C + 3 * I);
  return 2 * (C + C + 2 * Ckv + C + 3 * I) + 4 * (3 * C) + 2 * C;
}

describe('bf16 activation storage: memory of a tiny OLMo-1 forward', () => {
  it('held bytes after forward drop by the predicted amount under autocast; backward frees them', () => {
    const cfg = OLMoConfig.from({
      architecture: 'olmo1', vocab_size: 256, embedding_size: 256, hidden_size: 64, intermediate_size: 128,
      num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, clip_qkv: null, tie_word_embeddings: false,
    });
    const m = OLMo.init(cfg, { seed: 3 });
    m.enableComputeCopies();
    const B = 2, T = 16, ids = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 31 + t * 7) % 256));
    const held = (amp: boolean) => {
      const base = memoryStats().cpuBytes;
      const run = () => m.forward(ids, { labels: ids });
      const { logits, loss } = amp ? withAutocast('bfloat16', run) : run();
      const bytes = memoryStats().cpuBytes - base;
      loss!.backward();
      logits.dispose(); loss!.dispose(); m.zeroGrad();
      expect(memoryStats().cpuBytes).toBe(base);
      return bytes;
    };
    held(true); held(false); // first calls allocate gradients
    const fp32 = held(false), amp = held(true);
    const C = 64, Ckv = 32, I = 128, tokens = B * T;
    // per block as in savedBytesPerToken; plus the LM head's input (final-norm output) 4 -> 2 bytes
    const predicted = tokens * (2 * (savedBytesPerToken(C, Ckv, I, false) - savedBytesPerToken(C, Ckv, I, true)) + 2 * C);
    console.log(`[bf16-activations] tiny OLMo-1 forward holds ${fp32} B (float32) vs ${amp} B (amp_bf16): ${fp32 - amp} B saved, predicted ${predicted}`);
    expect(fp32 - amp).toBe(predicted);
    m.dispose();
  });

  it('the storage plan at the OLMo-1B config, sequence 4096 (printed for docs/cuda.md)', () => {
    const C = 2048, I = 8192, T = 4096;
    const f = savedBytesPerToken(C, C, I, false) * T, b = savedBytesPerToken(C, C, I, true) * T;
    console.log(`[bf16-activations] OLMo-1B, seq 4096, per layer and sequence: float32 ${(f / 2 ** 20).toFixed(0)} MiB, bf16 storage ${(b / 2 ** 20).toFixed(0)} MiB (-${(100 * (1 - b / f)).toFixed(1)}%)`);
    expect(b / f).toBeCloseTo(0.6, 2);
  });
});
