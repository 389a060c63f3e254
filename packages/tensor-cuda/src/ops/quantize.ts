/**
 * quantize family (kernels: native/cpu/quantize.cc; CPU only, weights are quantized at load time).
 *   quantize(w, 'q8_0'): a float32 or bfloat16 Tensor [N, K] (K % 32 == 0) -> QTensor (llama.cpp's
 *     Q8_0: per 32 values d = max|v|/127 as f16, q = round(v/d), half away from zero).
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
