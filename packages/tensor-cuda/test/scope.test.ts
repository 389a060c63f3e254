/** Scopes (src/scope.ts): what tidy / tidyAsync dispose and keep, including on errors. */
import { describe, expect, it } from 'vitest';
import { OlmoError, keep, tidy, tidyAsync, zeros, type Tensor } from '../src/index.js';

describe('scopes', () => {
  it('tidy disposes what it created, keeps the returned tensors and keep()-ed ones', () => {
    let inner!: Tensor, kept!: Tensor;
    const out = tidy(() => {
      inner = zeros([4]);
      kept = keep(zeros([2]));
      return { a: [zeros([3])] };
    });
    expect(inner.disposed).toBe(true);
    expect(kept.disposed).toBe(false);
    expect(out.a[0]!.disposed).toBe(false);
    kept.dispose();
    out.a[0]!.dispose();
  });

  it('a returned tensor moves to the parent scope', () => {
    let child!: Tensor;
    tidy(() => {
      child = tidy(() => zeros([2]));
      expect(child.disposed).toBe(false);
    });
    expect(child.disposed).toBe(true);
  });

  it('tidy disposes on a throw and rethrows the error', () => {
    let inner!: Tensor;
    expect(() => tidy(() => {
      inner = zeros([4]);
      throw new Error('boom');
    })).toThrow('boom');
    expect(inner.disposed).toBe(true);
  });

  it('tidy given an async function is a typed error and leaks nothing', () => {
    let inner!: Tensor;
    let err: unknown;
    try {
      tidy(async () => {
        inner = zeros([4]);
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OlmoError);
    expect((err as OlmoError).code).toBe('INVALID_ARGUMENT');
    expect(inner.disposed).toBe(true);
  });

  it('tidyAsync keeps the resolved value and disposes the rest, also on a rejection', async () => {
    let a!: Tensor, b!: Tensor;
    const out = await tidyAsync(async () => {
      a = zeros([4]);
      await new Promise((r) => setTimeout(r, 1));
      return zeros([2]);
    });
    expect(a.disposed).toBe(true);
    expect(out.disposed).toBe(false);
    out.dispose();
    await expect(tidyAsync(async () => {
      b = zeros([4]);
      await new Promise((r) => setTimeout(r, 1));
      throw new Error('late boom');
    })).rejects.toThrow('late boom');
    expect(b.disposed).toBe(true);
  });
});
