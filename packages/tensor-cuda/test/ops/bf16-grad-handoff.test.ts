/**
 * amp_bf16 gradient hand-off (autograd.ts BackwardInfo.bf16GradWanted): on CPU the matmul backward
 * reads its output gradient only rounded to bf16, so the backward that produces that gradient may
 * round it itself when nothing else is added to it — the cross-entropy on the LM head's logits does,
 * row by row in cache, instead of a separate pass over [tokens, vocab] (avx2 path: bf16 values in
 * float32, marked) or half of the packing's reads (vdpbf16ps path: a bfloat16 gradient).
 * Checked: when the engine says so (one consumer on every node of the way, reshapes passed through),
 * crossEntropy's gradient is exactly the rounded one in the asked form; the linear + CE gradients
 * are bit-identical to the rounding-in-matmul computation on both GEMM paths; with a second
 * consumer (or the z-loss node beside the CE node) nothing is rounded early.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Generator, Tensor, add, crossEntropy, gemmBf16Isa, gemmInto, holdsBf16Values, linear, linearCrossEntropy, noGrad, record,
  roundBf16Into, roundedBf16F32, scale, storeBf16, sum, tensor, widenF32, withAutocast,
} from '../../src/index.js';
import { expectClose, randomTensor } from '../helpers.js';

afterEach(() => { delete process.env.OLMO_CPU_GEMM_BF16; });
const hasBf16Isa = (() => { delete process.env.OLMO_CPU_GEMM_BF16; return gemmBf16Isa() === 'avx512bf16'; })();

/** A node standing for a matmul taking a pre-rounded gradient in `form`; records what reached it. */
function roundsNode(x: Tensor, seen: { marked?: boolean; dtype?: string; values?: Float32Array }, form: 'float32' | 'bfloat16' = 'float32'): Tensor {
  const y = noGrad(() => scale(x, 1));
  record(y, 'test-rounds', [x], [], (g) => {
    seen.marked = holdsBf16Values(g); seen.dtype = g.dtype; seen.values = g.toFloat32Array();
    return [g.dtype === 'float32' ? g.share() : noGrad(() => widenF32(g))];
  }, { gradBf16: form });
  return y;
}
/** A node that records in which form the engine wants its input gradient. */
function producer(y: Tensor, seen: { wanted?: string | null }): Tensor {
  const z = noGrad(() => scale(y, 1));
  record(z, 'test-producer', [y], [], (g, _s, info) => { seen.wanted = info.bf16GradWanted(0); return [g.share()]; });
  return z;
}
const bf16Values = (a: Float32Array) => { const t = tensor(a, { shape: [a.length] }); roundBf16Into(t, t); const r = t.toFloat32Array(); t.dispose(); return r; };

describe('BackwardInfo.bf16GradWanted', () => {
  it('the consumer\'s form only through reshapes, with one consumer on every node of the way; else null', () => {
    const x = randomTensor([4, 6], new Generator(1));
    const cases: Array<[string, (y: Tensor, s: { wanted?: string | null }) => Tensor, boolean]> = [
      ['direct', (y, s) => producer(y, s), true],
      ['two reshapes', (y, s) => producer(y.reshape([2, 12]).reshape([24]), s), true],
      ['through scale (not a pass-through)', (y, s) => producer(scale(y, 2), s), false],
      ['a second consumer of the rounding node', (y, s) => add(producer(y, s), y), false],
      ['a second consumer of the reshape', (y, s) => { const r = y.reshape([24]); return add(producer(r, s), r); }, false],
    ];
    for (const form of ['float32', 'bfloat16'] as const) {
      for (const [what, build, want] of cases) {
        const seen: { wanted?: string | null } = {}, got: { marked?: boolean } = {};
        sum(build(roundsNode(x, got, form), seen)).backward();
        expect(seen.wanted, `${form}: ${what}`).toBe(want ? form : null);
        expect(got.marked, what).toBe(false);  // the test producer never marks
      }
    }
    const leafSeen: { wanted?: string | null } = {};
    sum(producer(x, leafSeen)).backward();
    expect(leafSeen.wanted, 'a leaf').toBe(null);
  });
});

describe('crossEntropy hands its gradient over rounded', () => {
  const N = 9, V = 37;
  const targets = () => tensor(Int32Array.from({ length: N }, (_, i) => (i === 4 ? -100 : (i * 7) % V)), { shape: [N], dtype: 'int32' });
  /** dlogits of CE (sum, or with z-loss) on a plain leaf: the unrounded reference. */
  function plainGrad(l: Float32Array, z: number): Float32Array {
    const leaf = tensor(l, { shape: [N, V] }).requiresGrad_(true);
    const r = crossEntropy(leaf, targets(), { reduction: 'sum', zLossMultiplier: z });
    scale(r.zLoss ? add(r.loss, r.zLoss) : r.loss, 0.25).backward();
    return leaf.grad!.toFloat32Array();
  }
  for (const form of ['float32', 'bfloat16'] as const) {
    it(`to a consumer taking ${form}: the bf16 values of the plain gradient, bit for bit${form === 'float32' ? ', marked' : ''}; reshapes keep form and mark`, () => {
      const x = randomTensor([N * V], new Generator(2), 3);
      const seen: { marked?: boolean; dtype?: string; values?: Float32Array } = {};
      const r = crossEntropy(roundsNode(x, seen, form).reshape([N, V]), targets(), { reduction: 'sum' });
      scale(r.loss, 0.25).backward();
      const plain = plainGrad(x.toFloat32Array(), 0);
      expect(seen.dtype).toBe(form);
      expect(seen.marked).toBe(form === 'float32');
      expect(seen.values).toEqual(bf16Values(plain));
      expect(seen.values).not.toEqual(plain);  // the rounding did something
    });
  }
  it('with the z-loss node as a second consumer: the plain float32 gradient, unmarked', () => {
    const x = randomTensor([N * V], new Generator(3), 3);
    const seen: { marked?: boolean; values?: Float32Array } = {};
    const r = crossEntropy(roundsNode(x, seen).reshape([N, V]), targets(), { reduction: 'sum', zLossMultiplier: 1e-2 });
    scale(add(r.loss, r.zLoss!), 0.25).backward();
    expect(seen.marked).toBe(false);
    expect(seen.dtype).toBe('float32');
    expect(seen.values).toEqual(plainGrad(x.toFloat32Array(), 1e-2));
  });
});

const isas = hasBf16Isa ? ['avx512bf16', 'avx2'] as const : ['avx2'] as const;
if (!hasBf16Isa) console.log('[bf16-grad-handoff] this CPU has no AVX512-BF16: only the avx2 path is tested');

describe.each(isas)('amp_bf16 linear → crossEntropy on CPU (%s GEMMs)', (isa) => {
  const B = 3, T = 11, C = 40, V = 300;
  const tg = Int32Array.from({ length: B * T }, (_, i) => (i % 10 === 9 ? -100 : (i * 31) % V));
  /**
   * dX, dW as the matmul backward computed them before the hand-off: the CE gradient (plus `extra`
   * for a second consumer) rounded, then the same two GEMMs as ops/matmul.ts (the vdpbf16ps path
   * rounds while packing: a no-op on these values).
   */
  function reference(x: Tensor, w: Tensor, extra: number) {
    return withAutocast('bfloat16', () => {
      const x2 = x.detach().reshape([B * T, C]), wd = w.detach();
      const leaf = linear(x2, wd).requiresGrad_(true);  // no graph behind it: CE's gradient is not handed off
      crossEntropy(leaf, tensor(tg, { shape: [B * T], dtype: 'int32' }), { reduction: 'sum' }).loss.backward();
      let g = leaf.grad!;
      expect(holdsBf16Values(g)).toBe(false);
      if (extra) g = add(g, tensor(new Float32Array(g.size).fill(extra), { shape: g.shape }));
      const gr = roundedBf16F32(g);
      const dx = Tensor.allocate([B * T, C], 'float32', -1, false), dw = Tensor.allocate([V, C], 'float32', -1, false);
      gemmInto(dx, gr, wd, { precision: 'bf16', aRounded: true });
      const xs = storeBf16(x2);  // the matmul saves its activation operand as bf16
      gemmInto(dw, gr, xs, { transA: true, precision: 'bf16', aRounded: true });
      return { dx: dx.toFloat32Array(), dw: dw.toFloat32Array() };
    });
  }
  function run(extra: number) {
    if (isa === 'avx2') process.env.OLMO_CPU_GEMM_BF16 = 'avx2';
    expect(gemmBf16Isa()).toBe(isa);
    const gen = new Generator(5);
    const x = randomTensor([B, T, C], gen), w = randomTensor([V, C], gen, 0.2);
    withAutocast('bfloat16', () => {
      const h = scale(x, 1);  // an activation (not a leaf), as in the model
      const logits = linear(h, w);
      expect(logits.gradFn!.gradBf16).toBe('passes');
      expect(logits.gradFn!.inputs[0]!.node!.gradBf16).toBe(isa === 'avx2' ? 'float32' : 'bfloat16');
      const flat = logits.reshape([B * T, V]);
      let loss = crossEntropy(flat, tensor(tg, { shape: [B * T], dtype: 'int32' }), { reduction: 'sum' }).loss;
      if (extra) loss = add(loss, scale(sum(flat), extra));
      loss.backward();
    });
    return { x, w, dx: x.grad!.toFloat32Array(), dw: w.grad!.toFloat32Array() };
  }
  it('sole consumer: dX and dW bit-identical to rounding the gradient in the matmul', () => {
    const got = run(0);
    const ref = reference(got.x, got.w, 0);
    expect(got.dx).toEqual(ref.dx);
    expect(got.dw).toEqual(ref.dw);
  });
  it('a second consumer of the logits: the summed gradient is rounded once, bit-identical', () => {
    const got = run(0.125);
    const ref = reference(got.x, got.w, 0.125);
    expect(got.dx).toEqual(ref.dx);
    expect(got.dw).toEqual(ref.dw);
  });
});

describe.each(isas)('linearCrossEntropy with the head\'s compute copy (%s)', (isa) => {
  it('= rounding the float32 master on every call (loss and gradients); a bad copy is a ShapeError', () => {
    const N = 45, C = 32, V = 211;
    const gen = new Generator(6);
    const t = tensor(Int32Array.from({ length: N }, (_, i) => (i % 8 === 3 ? -100 : (i * 13) % V)), { shape: [N], dtype: 'int32' });
    const h1 = randomTensor([N, C], gen), w1 = randomTensor([V, C], gen, 0.3);
    const h2 = tensor(h1.toFloat32Array(), { shape: [N, C] }).requiresGrad_(true), w2 = tensor(w1.toFloat32Array(), { shape: [V, C] }).requiresGrad_(true);
    if (isa === 'avx2') process.env.OLMO_CPU_GEMM_BF16 = 'avx2';
    // the model's copy: bf16, or on the avx2 path float32 holding the bf16 values (model.enableComputeCopies)
    const copy = isa === 'avx2' ? roundedBf16F32(w2) : storeBf16(w2);
    withAutocast('bfloat16', () => {
      const a = linearCrossEntropy(h1, w1, t, { zLossMultiplier: 1e-3, chunkRows: 16 });
      const b = linearCrossEntropy(h2, w2, t, { zLossMultiplier: 1e-3, chunkRows: 16, wCompute: copy });
      // avx512bf16: the same kernel on the same bf16 values; avx2: sgemm over other blocks (one call
      // instead of slabs of K), so the float32 sums may differ in order — the linearCrossEntropy
      // tests' bounds for a reordered float32 summation
      expect(Math.abs(b.loss.item() - a.loss.item()) / a.loss.item()).toBeLessThan(1e-6);
      a.loss.backward(); b.loss.backward();
      expect(() => linearCrossEntropy(h2, w2, t, { wCompute: storeBf16(h2) })).toThrow(/wCompute/);
    });
    expectClose(h2.grad!.toFloat32Array(), h1.grad!.toFloat32Array(), isa === 'avx2' ? 1e-5 : 0, 'dh');
    expectClose(w2.grad!.toFloat32Array(), w1.grad!.toFloat32Array(), isa === 'avx2' ? 1e-5 : 0, 'dw');
    // and the copy is what is read: a copy of other values changes the loss
    const other = isa === 'avx2' ? roundedBf16F32(scale(w2, 2)) : storeBf16(noGrad(() => scale(w2, 2)));
    withAutocast('bfloat16', () => noGrad(() => {
      const a = linearCrossEntropy(h1, w1, t).loss.item(), c = linearCrossEntropy(h1, w1, t, { wCompute: other }).loss.item();
      expect(Math.abs(c - a) / a).toBeGreaterThan(1e-2);
    }));
  });
});
