/** Scheduler values against OLMo's formulas (olmo/optim.py) at warmup start, mid-warmup, end and final step. */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/index.js';

const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));

describe('schedulers (OLMo formulas)', () => {
  it('cosine_with_warmup — OLMo-1B: lr 4e-4, 2000 warmup, alpha_f 0.1', () => {
    const s = new Scheduler({ name: 'cosine_with_warmup', tWarmup: 2000, alphaF: 0.1 });
    const max = 739_328;
    close(s.getLr(4e-4, 0, max), 4e-5); // warmup starts at 10% of the peak
    close(s.getLr(4e-4, 1000, max), 4e-5 + 3.6e-4 * 0.5);
    close(s.getLr(4e-4, 1999, max), 4e-5 + (3.6e-4 * 1999) / 2000);
    close(s.getLr(4e-4, 2000, max), 4e-4); // end of warmup = peak
    close(s.getLr(4e-4, 2000 + (max - 2000) / 2, max), (4e-4 + 4e-5) / 2);
    close(s.getLr(4e-4, max, max), 4e-5); // final step = alpha_f * peak
    close(s.getLr(4e-4, max + 10, max), 4e-5);
  });
  it('linear_with_warmup — OLMo-7B: lr 3e-4, 5000 warmup, clip warmup 1000 x 10', () => {
    const s = new Scheduler({ name: 'linear_with_warmup', tWarmup: 5000, alphaF: 0.1, gradClipWarmupSteps: 1000, gradClipWarmupFactor: 10 });
    const max = 476_837;
    close(s.getLr(3e-4, 0, max), 3e-5);
    close(s.getLr(3e-4, 2500, max), 3e-5 + 2.7e-4 / 2);
    close(s.getLr(3e-4, 5000, max), 3e-4);
    close(s.getLr(3e-4, 5000 + (max - 5000) / 4, max), 3e-4 - 2.7e-4 / 4);
    close(s.getLr(3e-4, max, max), 3e-5);
    expect(s.getMaxGradNorm(1, 1)).toBe(10);
    expect(s.getMaxGradNorm(1, 1000)).toBe(10);
    expect(s.getMaxGradNorm(1, 1001)).toBe(1);
    expect(s.getMaxGradNorm(null, 1)).toBeNull();
  });
  it('inverse_sqrt_with_warmup, constant, warmup_min_lr, t_max', () => {
    const s = new Scheduler({ name: 'inverse_sqrt_with_warmup', tWarmup: 100 });
    close(s.getLr(1, 50, 1000), 0.1 + 0.9 * 0.5);
    close(s.getLr(1, 100, 1000), 1);
    close(s.getLr(1, 400, 1000), 0.5);
    close(new Scheduler({ name: 'constant', tWarmup: 100 }).getLr(2, 0, 10), 2);
    const z = new Scheduler({ name: 'cosine_with_warmup', tWarmup: 10, warmupMinLr: 0, tMax: 20, alphaF: 0 });
    close(z.getLr(1, 0, 1000), 0);
    close(z.getLr(1, 5, 1000), 0.5);
    close(z.getLr(1, 15, 1000), 0.5);
    close(z.getLr(1, 20, 1000), 0);
  });
  it('tokens units: same formula on token counts (OLMo-7B-0424 style)', () => {
    const s = new Scheduler({ name: 'cosine_with_warmup', tWarmup: 10_485_760_000, tMax: 3e12, alphaF: 0.1, gradClipWarmupSteps: 2_097_152_000, gradClipWarmupFactor: 5 });
    close(s.getLr(3e-4, 4 * 2 ** 20, 3e12), 3e-5 + (2.7e-4 * 4 * 2 ** 20) / 10_485_760_000);
    close(s.getLr(3e-4, 3e12, 3e12), 3e-5);
    expect(s.getMaxGradNorm(1, 2_097_152_000)).toBe(5);
  });
  it('rejects an unknown scheduler with CONFIG_INVALID', () => {
    expect(() => new Scheduler({ name: 'cosine' as never })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
