/**
 * linearCrossEntropy (fused LM head + CE + z-loss, chunked over rows) against the unfused path
 * (linear → crossEntropy sum + z-loss) in fp32 and under amp_bf16 autocast, and against finite
 * differences of a float64 reference of the loss.
 */
import { describe, expect, it } from 'vitest';
import { Generator, add, crossEntropy, linear, linearCrossEntropy, memoryStats, resetPeakMemory, scale, tensor, tidy, withAutocast } from '../../src/index.js';
import { expectClose, finiteDiffGrad, randomTensor, relErr, toF64 } from '../helpers.js';

const N = 37, C = 24, V = 101;
function targetsArr(gen: Generator): Int32Array {
  return Int32Array.from({ length: N }, (_, i) => (i % 9 === 4 ? -100 : gen.nextU32() % V));
}

function unfused(h: ReturnType<typeof randomTensor>, w: ReturnType<typeof randomTensor>, t: Int32Array, z: number) {
  const logits = linear(h, w);
  const r = crossEntropy(logits, tensor(t, { shape: [N], dtype: 'int32' }), { reduction: 'sum', zLossMultiplier: z });
  return r.zLoss ? add(r.loss, r.zLoss) : r.loss;
}

describe('linearCrossEntropy', () => {
  for (const amp of [false, true]) {
    for (const chunkRows of [1, 7, 1024]) {
      it(`matches the unfused path${amp ? ' under amp_bf16' : ''} (chunkRows ${chunkRows}, z-loss, ignored rows)`, () => {
        const gen = new Generator(4);
        const t = targetsArr(gen);
        const h1 = randomTensor([N, C], gen), w1 = randomTensor([V, C], gen, 0.3);
        const h2 = tensor(h1.toFloat32Array(), { shape: [N, C] }).requiresGrad_(true), w2 = tensor(w1.toFloat32Array(), { shape: [V, C] }).requiresGrad_(true);
        withAutocast(amp ? 'bfloat16' : null, () => {
          const ref = unfused(h1, w1, t, 1e-3);
          const refLoss = ref.item();
          scale(ref, 0.5).backward();
          const out = linearCrossEntropy(h2, w2, tensor(t, { shape: [N], dtype: 'int32' }), { zLossMultiplier: 1e-3, chunkRows });
          expect(Math.abs(out.loss.item() - refLoss) / refLoss).toBeLessThan(1e-6);
          expect(Math.abs(out.ceSum + out.zSum - refLoss) / refLoss).toBeLessThan(1e-6);
          scale(out.loss, 0.5).backward();
        });
        expectClose(h2.grad!.toFloat32Array(), h1.grad!.toFloat32Array(), 1e-5, 'dh');
        expectClose(w2.grad!.toFloat32Array(), w1.grad!.toFloat32Array(), 1e-5, 'dw');
      });
    }
  }

  it('gradients match finite differences of a float64 reference', () => {
    const gen = new Generator(8);
    const n = 5, c = 4, v = 7, z = 1e-2;
    const t = Int32Array.from([3, -100, 0, 6, 2]);
    const h = randomTensor([n, c], gen), w = randomTensor([v, c], gen);
    const out = linearCrossEntropy(h, w, tensor(t, { shape: [n], dtype: 'int32' }), { zLossMultiplier: z, chunkRows: 2 });
    out.loss.backward();
    const f = ([H, W]: Float64Array[]) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        if (t[i] === -100) continue;
        const l = Array.from({ length: v }, (_, j) => { let d = 0; for (let k = 0; k < c; k++) d += H![i * c + k]! * W![j * c + k]!; return d; });
        const m = Math.max(...l), lse = m + Math.log(l.reduce((a, x) => a + Math.exp(x - m), 0));
        s += lse - l[t[i]!]! + z * lse * lse;
      }
      return s;
    };
    const [gh, gw] = finiteDiffGrad(f, [toF64(h), toF64(w)]);
    expectClose(h.grad!.toFloat32Array(), gh!, 1e-5, 'dh vs finite differences');
    expectClose(w.grad!.toFloat32Array(), gw!, 1e-5, 'dw vs finite differences');
    expect(relErr([out.loss.item()], [f([toF64(h), toF64(w)])])).toBeLessThan(1e-6);
  });

  it('peak memory stays below the [N, V] logits the unfused path materialises', () => {
    const gen = new Generator(2);
    const n = 2048, c = 32, v = 4096;
    const t = Int32Array.from({ length: n }, () => gen.nextU32() % v);
    const h = randomTensor([n, c], gen), w = randomTensor([v, c], gen, 0.1);
    const tt = tensor(t, { shape: [n], dtype: 'int32' });
    const peakOf = (fn: () => void) => { const b = memoryStats().cpuBytes; resetPeakMemory(); tidy(fn); return memoryStats().cpuPeakBytes - b; };
    const fused = peakOf(() => { linearCrossEntropy(h, w, tt, { chunkRows: 256 }).loss.backward(); });
    const plain = peakOf(() => { crossEntropy(linear(h, w), tt, { reduction: 'sum' }).loss.backward(); });
    const logitsBytes = n * v * 4;
    console.log(`[linearCrossEntropy] peak bytes: fused ${fused}, unfused ${plain}, one [N,V] logits ${logitsBytes}`);
    expect(fused).toBeLessThan(logitsBytes);
    expect(plain).toBeGreaterThan(logitsBytes);
  });
});
