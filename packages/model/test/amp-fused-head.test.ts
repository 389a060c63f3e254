/**
 * amp_bf16 with the fused LM head (OLMo.fusedLoss → linearCrossEntropy): the head's GEMMs read the
 * head's compute copy (enableComputeCopies / refreshComputeCopies), as the other projections do,
 * instead of rounding the float32 master on every call. The copy holds the master's bf16 values, so
 * the loss and every gradient are bit-identical to a model without copies, on both CPU GEMM paths
 * (the config is small enough that no GEMM splits its K dimension, so even the avx2 path's sgemm
 * calls sum in the same order); and the copy is what is read: a master changed without a refresh
 * leaves the loss unchanged until refreshComputeCopies().
 */
import { afterEach, describe, expect, it } from 'vitest';
import { gemmBf16Isa, noGrad, scaleInPlace, tensor, withAutocast } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig } from '../src/index.js';

afterEach(() => { delete process.env.OLMO_CPU_GEMM_BF16; });
const hasBf16Isa = (() => { delete process.env.OLMO_CPU_GEMM_BF16; return gemmBf16Isa() === 'avx512bf16'; })();
if (!hasBf16Isa) console.log('[amp-fused-head] this CPU has no AVX512-BF16: only the avx2 path is tested');

const cfg = OLMoConfig.from({
  architecture: 'olmo1', vocab_size: 256, embedding_size: 256, hidden_size: 64, intermediate_size: 128,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, clip_qkv: null, tie_word_embeddings: false,
});
const B = 2, T = 16;
const idsArr = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % 256);
const tgArr = Int32Array.from({ length: B * T }, (_, i) => (i % T === T - 1 ? -100 : idsArr[i + 1]!));
const ids = () => tensor(idsArr, { shape: [B, T], dtype: 'int32' });
const targets = () => tensor(tgArr, { shape: [B * T], dtype: 'int32' });

function lossAndGrads(m: OLMo): { loss: number; grads: Map<string, Float32Array> } {
  m.zeroGrad();
  const loss = withAutocast('bfloat16', () => {
    const r = m.fusedLoss(ids(), targets(), { chunkRows: 8 });
    r.loss.backward();
    return r.loss.item();
  });
  return { loss, grads: new Map(m.namedParameters().map(([n, p]) => [n, p.grad!.toFloat32Array()] as const)) };
}
const forwardLoss = (m: OLMo) => withAutocast('bfloat16', () => noGrad(() => m.fusedLoss(ids(), targets(), { chunkRows: 8 }).loss.item()));
const headWeight = (m: OLMo) => m.namedParameters().find(([n]) => n === 'lm_head.weight')![1];

describe.each(hasBf16Isa ? ['avx512bf16', 'avx2'] : ['avx2'])('amp_bf16 fused LM head reads the compute copy (%s GEMMs)', (isa) => {
  it('loss and every gradient bit-identical to rounding the master per call', () => {
    if (isa === 'avx2') process.env.OLMO_CPU_GEMM_BF16 = 'avx2';
    expect(gemmBf16Isa()).toBe(isa);
    const withCopies = OLMo.init(cfg, { seed: 3 }), plain = OLMo.init(cfg, { seed: 3 });
    withCopies.enableComputeCopies();  // avx2: float32 copies holding bf16 values; else bfloat16
    const a = lossAndGrads(withCopies), b = lossAndGrads(plain);
    expect(a.loss).toBe(b.loss);
    expect(a.grads.size).toBe(b.grads.size);
    for (const [n, g] of b.grads) expect(a.grads.get(n), n).toEqual(g);
    withCopies.dispose(); plain.dispose();
  });

  it('a master changed without refreshComputeCopies does not change the head GEMMs; a refresh does', () => {
    if (isa === 'avx2') process.env.OLMO_CPU_GEMM_BF16 = 'avx2';
    const m = OLMo.init(cfg, { seed: 4 }), plain = OLMo.init(cfg, { seed: 4 });
    m.enableComputeCopies();
    const before = forwardLoss(m);
    expect(forwardLoss(plain)).toBe(before);
    noGrad(() => { scaleInPlace(headWeight(m), 2); scaleInPlace(headWeight(plain), 2); });
    expect(forwardLoss(m)).toBe(before);                 // the copy still holds the old head
    const changed = forwardLoss(plain);
    expect(Math.abs(changed - before) / before).toBeGreaterThan(1e-3);
    m.refreshComputeCopies();
    expect(forwardLoss(m)).toBe(changed);
    m.dispose(); plain.dispose();
  });
});
