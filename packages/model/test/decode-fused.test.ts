// The fused batch-1 decode path (one decodeLayer call per block, src/decode.ts) against the
// op-by-op path: identical greedy tokens and logits for OLMo-1 (clip_qkv, tied head) and OLMo-2
// (GQA) configs with float32, bfloat16 and q8_0 weights, on the best and the AVX2 kernel paths.
import { afterAll, describe, expect, it } from 'vitest';
import { native, setLowpIsa } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig } from '../src/index.js';

const LOAD = { float32: { requiresGrad: false }, bfloat16: { dtype: 'bfloat16' }, q8_0: { quantize: 'q8_0' } } as const;

/** Counts native decodeLayer calls while fn runs (the addon's functions are plain properties). */
async function countingDecodeLayer<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const addon = native();
  const orig = addon.decodeLayer;
  let n = 0;
  addon.decodeLayer = (...a: unknown[]) => { n++; return orig(...a); };
  try {
    return [await fn(), n];
  } finally {
    addon.decodeLayer = orig;
  }
}

async function greedy(m: OLMo, fusedDecode: boolean): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const tokens: number[] = [], logits: Float32Array[] = [];
  for await (const t of m.generate([3, 1, 4, 1, 5, 9], { maxNewTokens: 12, stopTokenIds: [], fusedDecode, onLogits: (l) => logits.push(l) })) tokens.push(t);
  return { tokens, logits };
}

afterAll(() => { setLowpIsa('native'); });

describe('fused batch-1 decode', () => {
  const configs = {
    olmo1: OLMoConfig.from({ architecture: 'olmo1', vocab_size: 200, embedding_size: 256, hidden_size: 64, intermediate_size: 160, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 4, tie_word_embeddings: true, clip_qkv: 0.6 }),
    olmo2: OLMoConfig.from({ architecture: 'olmo2', vocab_size: 256, embedding_size: 256, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: false }),
  };
  for (const [arch, cfg] of Object.entries(configs)) {
    for (const prec of ['float32', 'bfloat16', 'q8_0'] as const) {
      for (const isa of ['native', 'avx2'] as const) {
        it(`${arch}, ${prec}, ${isa}: same greedy tokens and logits as the op-by-op path`, async () => {
          setLowpIsa(isa);
          const m = OLMo.init(cfg, { seed: 11, ...LOAD[prec] });
          try {
            const [fused, calls] = await countingDecodeLayer(() => greedy(m, true));
            const [ops, opCalls] = await countingDecodeLayer(() => greedy(m, false));
            // 11 decode steps after the prefill, one call per block each; none on the op path
            expect(calls).toBe(11 * cfg.num_hidden_layers);
            expect(opCalls).toBe(0);
            expect(fused.tokens).toEqual(ops.tokens);
            expect(fused.logits.length).toBe(ops.logits.length);
            // Same kernels in the same order: equal to the last bit, not just within rounding.
            for (let s = 0; s < ops.logits.length; s++) expect(Array.from(fused.logits[s]!)).toEqual(Array.from(ops.logits[s]!));
          } finally {
            m.dispose();
          }
        });
      }
    }
  }

  it('batch 2 decodes op by op; a training-initialised float32 model (requiresGrad) decodes fused under the noGrad of generate', async () => {
    const m = OLMo.init(configs.olmo2, { seed: 2 });  // requiresGrad true (training init)
    try {
      const [rows, calls] = await countingDecodeLayer(() => m.generateBatch([[1, 2, 3], [4, 5, 6]], { maxNewTokens: 4, stopTokenIds: [] }));
      expect(calls).toBe(0);  // batch 2: op by op
      const [one, calls1] = await countingDecodeLayer(async () => { const t: number[] = []; for await (const x of m.generate([1, 2, 3], { maxNewTokens: 4, stopTokenIds: [] })) t.push(x); return t; });
      expect(calls1).toBe(3 * 3);  // forward with a cache runs under noGrad, so the fused path applies
      expect(one).toEqual(rows[0]);
    } finally {
      m.dispose();
    }
  });
});
