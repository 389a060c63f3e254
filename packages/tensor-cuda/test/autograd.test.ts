import { describe, expect, it } from 'vitest';
import { Generator, add, memoryStats, mul, scale, tensor, tidy } from '../src/index.js';
import { randomTensor } from './helpers.js';

describe('autograd graph lifetime', () => {
  it('frees the saved tensors of a graph whose outputs are disposed without backward', () => {
    const gen = new Generator(5);
    const a = randomTensor([64, 64], gen);
    const before = memoryStats().cpuBytes;
    for (let i = 0; i < 50; i++) {
      tidy(() => {
        const y = mul(a, a);
        const z = add(scale(y, 2), y);
        void z;
      });
    }
    expect(memoryStats().cpuBytes).toBe(before);
    a.dispose();
  });

  it('keeps the graph alive through disposed intermediates until backward, then frees it', () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const before = memoryStats().cpuBytes;
    const loss = tidy(() => {
      const y = mul(a, a); // saves a twice
      return mul(y, tensor([1, 1, 1]));
    });
    const seed = tensor([1, 1, 1]);
    loss.backward(seed);
    seed.dispose();
    expect(Array.from(a.grad!.toFloat32Array())).toEqual([2, 4, 6]);
    loss.dispose();
    a.grad!.dispose();
    a.grad = null;
    expect(memoryStats().cpuBytes).toBe(before);
    a.dispose();
  });
});
