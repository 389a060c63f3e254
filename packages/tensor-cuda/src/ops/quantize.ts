/**
 * quantize family (kernels: native/cpu/quantize.cc; CPU only, weights are quantized at load time).
 *   quantize(w, 'q8_0'): a float32 or bfloat16 Tensor [N, K] (K % 32 == 0) -> QTensor (llama.cpp's
 *     Q8_0: per 32 values d = max|v|/127 as f16, q = round(v/d), half away from zero).
 *   quantizeInto(dst, row, src): quantizes src (float32/bfloat16, [R, K] or R·K values) into rows
 *     [row, row + R) of an existing QTensor (loading a weight chunk by chunk).
 *   dequantize(q): QTensor -> float32 Tensor [N, K] (d·q).
 */
import { call } from '../native.js';
import { Tensor } from '../tensor.js';
import { QTensor, type QFormat } from '../qtensor.js';
import { ArgumentError, DeviceError, ShapeError } from '../errors.js';
import { contig } from './views.js';
import { expectDtype, fmt } from './util.js';

export function quantize(w: Tensor, format: QFormat = 'q8_0'): QTensor {
  if (format !== 'q8_0') throw new ArgumentError(`quantize: unknown format '${String(format)}'`, "the supported format is 'q8_0'");
  expectDtype('quantize', w, 'float32', 'bfloat16');
  if (w.ndim !== 2) throw new ShapeError(`quantize: weight must be 2-D [out, in], got ${fmt(w.shape)}`);
  if (w.shape[1]! % 32 !== 0) throw new ShapeError(`quantize: q8_0 needs in-features divisible by 32, got ${fmt(w.shape)}`, 'keep this weight in bfloat16 or float32');
  if (w.deviceIndex !== -1) throw new DeviceError('DEVICE_MISMATCH', 'quantize runs on cpu tensors', 'quantize before moving the weights to cuda');
  const q = QTensor.allocate([w.shape[0]!, w.shape[1]!], -1);
  const wc = contig(w);
  try {
    call((n) => n.quantizeQ8(q.buf, q.byteOffset, wc.buf, wc.byteOffset, w.dtype === 'bfloat16', w.size));
    return q;
  } catch (e) {
    q.dispose();
    throw e;
  } finally {
    if (wc !== w) wc.dispose();
  }
}

export function quantizeInto(dst: QTensor, row: number, src: Tensor): void {
  dst.assertAlive('quantizeInto destination');
  expectDtype('quantizeInto', src, 'float32', 'bfloat16');
  const K = dst.shape[1];
  if (src.size % K !== 0 || !Number.isInteger(row) || row < 0 || row + src.size / K > dst.shape[0]) {
    throw new ShapeError(`quantizeInto: ${src.size} values at row ${row} do not fit rows of ${K} in ${fmt(dst.shape)}`);
  }
  if (src.deviceIndex !== -1 || dst.deviceIndex !== -1) throw new DeviceError('DEVICE_MISMATCH', 'quantizeInto runs on cpu tensors', 'quantize before moving to cuda');
  const sc = contig(src);
  try {
    call((n) => n.quantizeQ8(dst.buf, dst.byteOffset + row * (K / 32) * 34, sc.buf, sc.byteOffset, src.dtype === 'bfloat16', src.size));
  } finally {
    if (sc !== src) sc.dispose();
  }
}

export function dequantize(q: QTensor): Tensor {
  q.assertAlive('dequantize input');
  if (q.deviceIndex !== -1) throw new DeviceError('DEVICE_MISMATCH', 'dequantize runs on cpu tensors', 'move the QTensor to cpu first');
  const out = Tensor.allocate([...q.shape], 'float32', -1, false);
  try {
    call((n) => n.dequantizeQ8(out.buf, out.byteOffset, q.buf, q.byteOffset, out.size));
    return out;
  } catch (e) {
    out.dispose();
    throw e;
  }
}
