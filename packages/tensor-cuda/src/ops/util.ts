/** Shared validation helpers for op wrappers (validate in TS, execute in C++). */
import { DTypeError, DeviceError, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function expectDtype(op: string, t: Tensor, ...allowed: Tensor['dtype'][]): void {
  t.assertAlive(`${op} input`);
  if (!allowed.includes(t.dtype)) throw new DTypeError(`${op}: expected ${allowed.join(' or ')}, got ${t.dtype}`);
}

export function expectSameShape(op: string, a: Tensor, b: Tensor): void {
  if (!sameShape(a.shape, b.shape)) throw new ShapeError(`${op}: shapes ${fmt(a.shape)} and ${fmt(b.shape)} differ`);
}

export function expectRank(op: string, t: Tensor, rank: number, what = 'input'): void {
  if (t.ndim !== rank) throw new ShapeError(`${op}: ${what} must be ${rank}-D, got ${fmt(t.shape)}`);
}

export function sameDevice(op: string, ...ts: Tensor[]): number {
  const d = ts[0]!.deviceIndex;
  for (const t of ts) {
    if (t.deviceIndex !== d) throw new DeviceError('DEVICE_MISMATCH', `${op}: tensors on ${ts[0]!.device} and ${t.device}`, 'move them to one device with .to(device)');
  }
  return d;
}

/** Returns t if contiguous, else a contiguous copy; release with `done(t, c)`. */
export function normalizeDim(dim: number, ndim: number, op: string): number {
  const d = dim < 0 ? dim + ndim : dim;
  if (!Number.isInteger(d) || d < 0 || d >= ndim) throw new ShapeError(`${op}: dim ${dim} out of range for ${ndim}-D tensor`);
  return d;
}
