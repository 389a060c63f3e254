// Greedy decoding picks the next token natively (tensor-cuda argmaxRows on the logits tensor)
// unless a logits hook needs them in JS: the same tokens as the JS path (sampleNext over the
// read-back logits), and no logits row is copied to JS per step on the native path.
import { afterAll, describe, expect, it } from 'vitest';
import { Generator, Tensor, argmaxRows, native, setLowpIsa, tensor } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig, sampleNext } from '../src/index.js';

const LOAD = { float32: { requiresGrad: false }, bfloat16: { dtype: 'bfloat16' }, q8_0: { quantize: 'q8_0' } } as const;

/** Runs fn while counting tensor read-backs of at least `minBytes` (logits) and argmaxRows calls. */
async function counting<T>(minBytes: number, fn: () => Promise<T>): Promise<[T, number, number]> {
  const addon = native();
  // Every read-back of tensor data goes through toTypedArray (NativeBuffer.read is read-only).
  const proto = Tensor.prototype;
  const read = proto.toTypedArray, argmax = addon.argmaxRows;
  let reads = 0, argmaxCalls = 0;
  proto.toTypedArray = function (this: Tensor) { if (this.size * 4 >= minBytes) reads++; return read.call(this); };
  addon.argmaxRows = (...a: unknown[]) => { argmaxCalls++; return argmax(...a); };
  try {
    return [await fn(), reads, argmaxCalls];
  } finally {
    proto.toTypedArray = read;
    addon.argmaxRows = argmax;
  }
}

async function tokens(m: OLMo, prompt: number[], opts: Parameters<OLMo['generate']>[1]): Promise<number[]> {
  const out: number[] = [];
  for await (const t of m.generate(prompt, opts)) out.push(t);
  return out;
}

afterAll(() => { setLowpIsa('native'); });

describe('greedy decoding in place (argmaxRows)', () => {
  it('sampleNext (temperature 0) and argmaxRows agree on ties, NaN, ±0, ±inf and vocabulary padding', () => {
    const gen = new Generator(3);
    for (const V of [1, 5, 16, 33, 260, 50304]) {
      for (let rep = 0; rep < 20; rep++) {
        const v = new Float32Array(V);
        const kind = rep % 4;
        for (let i = 0; i < V; i++) {
          const u = gen.uniform();
          v[i] = kind === 0 ? gen.normal() : kind === 1 ? Math.floor(u * 3) : kind === 2 ? (u < 0.4 ? NaN : u < 0.5 ? -0 : u < 0.6 ? 0 : -Infinity) : (u < 0.1 ? Infinity : u < 0.5 ? NaN : gen.normal());
        }
        const valid = Math.max(0, V - (rep % 3));
        expect(argmaxRows(tensor(v, { shape: [1, 1, V] }), valid)[0], `V=${V} rep=${rep}`).toBe(sampleNext(v, valid, {}, gen));
      }
    }
  });

  const cfg = OLMoConfig.from({ architecture: 'olmo2', vocab_size: 250, embedding_size: 256, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: false });
  const logitsBytes = cfg.embedding_size * 4;
  for (const prec of ['float32', 'bfloat16', 'q8_0'] as const) {
    for (const isa of ['native', 'avx2'] as const) {
      it(`${prec}, ${isa}: the same tokens as the JS path, fused and op by op, and no logits read back`, async () => {
        setLowpIsa(isa);
        const m = OLMo.init(cfg, { seed: 5, ...LOAD[prec] });
        try {
          const prompt = [7, 3, 9, 200, 1];
          for (const fusedDecode of [true, false]) {
            const seen: number[] = [];
            const [viaJs, jsReads, jsArgmax] = await counting(logitsBytes, () => tokens(m, prompt, { maxNewTokens: 16, stopTokenIds: [], fusedDecode, onLogits: (l) => seen.push(l.length) }));
            const [inPlace, reads, argmaxCalls] = await counting(logitsBytes, () => tokens(m, prompt, { maxNewTokens: 16, stopTokenIds: [], fusedDecode }));
            expect(inPlace).toEqual(viaJs);
            expect(new Set(inPlace).size, 'a degenerate model repeating one token would prove little').toBeGreaterThan(1);
            expect(seen).toEqual(new Array(16).fill(cfg.embedding_size));
            expect([jsReads, jsArgmax]).toEqual([16, 0]);
            expect([reads, argmaxCalls]).toEqual([0, 16]);
          }
          // generateBatch: greedy rows in place vs the JS path (a logits hook, which generateBatch
          // never calls, keeps the read-back), and against single-sequence decoding.
          const prompts = [[1, 2, 3], [40, 50, 60], [7, 8]];
          const [batch, , batchArgmax] = await counting(logitsBytes, () => m.generateBatch(prompts, { maxNewTokens: 8, stopTokenIds: [] }));
          const viaJs = await m.generateBatch(prompts, { maxNewTokens: 8, stopTokenIds: [], onLogits: () => {} });
          expect(batch).toEqual(viaJs);
          expect(batchArgmax).toBe(2 * 8);  // two length groups, 8 steps each
          expect(batch[2]).toEqual(await tokens(m, prompts[2]!, { maxNewTokens: 8, stopTokenIds: [] }));
        } finally {
          m.dispose();
        }
      });
    }
  }

  it('temperature sampling still reads the logits (sampleNext with the seeded generator)', async () => {
    const m = OLMo.init(cfg, { seed: 6, requiresGrad: false });
    try {
      const [a, reads, argmaxCalls] = await counting(logitsBytes, () => tokens(m, [1, 2], { maxNewTokens: 6, stopTokenIds: [], temperature: 0.8, seed: 9 }));
      expect([reads, argmaxCalls]).toEqual([6, 0]);
      expect(await tokens(m, [1, 2], { maxNewTokens: 6, stopTokenIds: [], temperature: 0.8, seed: 9 })).toEqual(a);
    } finally {
      m.dispose();
    }
  });
});
