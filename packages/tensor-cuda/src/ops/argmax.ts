/**
 * argmax family (kernel: native/cpu/argmax.cc; header native/include/olmo/ops/argmax.h).
 *   argmaxRows(x, count?) -> number[]: for each row of x (float32, viewed as [rows, V] over its
 *     last dimension), the index of the FIRST largest of its first `count` values (default V),
 *     compared as a JS `if (v > best)` loop from best = -Infinity, index 0, does: NaN never wins,
 *     -0 and +0 tie, a row with nothing above -Infinity gives 0. Greedy decoding uses it so a
 *     decode step's logits ([V] floats, 200 KB for a 50k vocabulary) never travel to JS.
 * CPU only (a CUDA tensor is a DEVICE_MISMATCH: read it to the host). No autograd (indices).
 */
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { ArgumentError, DeviceError } from '../errors.js';
import { contig } from './views.js';
import { expectDtype } from './util.js';

export function argmaxRows(x: Tensor, count?: number): number[] {
  expectDtype('argmaxRows', x, 'float32');
  if (x.deviceIndex !== -1) throw new DeviceError('DEVICE_MISMATCH', `argmaxRows: x is on ${x.device}`, 'argmaxRows runs on the cpu: read the values to the host (toFloat32Array) instead');
  if (x.ndim === 0) throw new ArgumentError('argmaxRows: x needs at least one dimension');
  const V = x.shape[x.ndim - 1]!, rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const n = count ?? V;
  if (!Number.isInteger(n) || n < 0 || n > V) throw new ArgumentError(`argmaxRows: count must be an integer in [0, ${V}], got ${count}`);
  if (rows === 0) return [];
  if (n === 0) return new Array<number>(rows).fill(0);
  const xc = contig(x);
  try {
    return call((nat) => nat.argmaxRows(xc.buf, xc.byteOffset, rows, n, V)) as number[];
  } finally {
    if (xc !== x) xc.dispose();
  }
}
