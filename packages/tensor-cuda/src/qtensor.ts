/**
 * QTensor: a 2-D weight [rows, cols] in llama.cpp's Q8_0 block format (inference only).
 * Each row is cols/32 blocks of 34 bytes: an f16 scale d and 32 int8 values q; value = d·q.
 * It is not a `Tensor` (its elements are not individually addressable); ops that take it:
 * `lowpLinear` / `linear` (fused dequantizing GEMV/GEMM) and `dequantize`. Lifetime is explicit
 * (`dispose()`); QTensors are not tracked by `tidy` scopes.
 */
import { deviceName, type Device } from './device.js';
import { DisposedError, ShapeError } from './errors.js';
import { Storage } from './storage.js';
import type { NativeBuffer } from './native.js';

export type QFormat = 'q8_0';

/** Bytes per 32-value block of each format. */
export const QBLOCK_BYTES: Record<QFormat, number> = { q8_0: 34 };

export class QTensor {
  readonly format: QFormat = 'q8_0';
  readonly shape: readonly [number, number];
  /** Byte offset of the first block in the storage. */
  readonly byteOffset: number;
  name?: string;
  /** @internal */ readonly _storage: Storage;
  private _disposed = false;

  /** @internal use quantize() or QTensor.fromStorage(). */
  constructor(storage: Storage, shape: readonly [number, number], byteOffset = 0) {
    const [rows, cols] = shape;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || cols % 32 !== 0) {
      throw new ShapeError(`QTensor: q8_0 needs [rows, cols] with cols a multiple of 32, got [${shape.join(', ')}]`, 'keep this weight in bfloat16 or float32');
    }
    if (byteOffset < 0 || byteOffset + QTensor.nbytes(shape) > storage.nbytes) {
      throw new ShapeError(`QTensor: [${shape.join(', ')}] q8_0 at byte ${byteOffset} exceeds the storage (${storage.nbytes} bytes)`);
    }
    this._storage = storage;
    this.shape = [rows, cols];
    this.byteOffset = byteOffset;
  }

  /** Bytes of a q8_0 weight of this shape. */
  static nbytes(shape: readonly number[]): number {
    return (shape[0]! * shape[1]! / 32) * QBLOCK_BYTES.q8_0;
  }

  /** Allocates (uninitialised) q8_0 storage for [rows, cols] on `device` (native index, -1 = cpu). */
  static allocate(shape: readonly [number, number], device = -1): QTensor {
    return new QTensor(new Storage(QTensor.nbytes(shape), device, false), shape, 0);
  }

  /** A view over existing storage (e.g. a file mapping); holds its own reference. */
  static fromStorage(storage: Storage, shape: readonly [number, number], byteOffset: number): QTensor {
    if (!storage.alive) throw new DisposedError('QTensor.fromStorage: the storage was released');
    return new QTensor(storage.retain(), shape, byteOffset);
  }

  get nbytes(): number { return QTensor.nbytes(this.shape); }
  get device(): Device { return deviceName(this._storage.device); }
  /** @internal */ get deviceIndex(): number { return this._storage.device; }
  /** @internal */ get buf(): NativeBuffer { return this._storage.buffer; }
  get disposed(): boolean { return this._disposed || !this._storage.alive; }

  assertAlive(what = 'QTensor'): void {
    if (this.disposed) throw new DisposedError(`${what}${this.name ? ` '${this.name}'` : ''} [${this.shape.join(', ')}] q8_0 was disposed`);
  }

  /** The raw blocks (a copy), e.g. for writing a file. */
  toBytes(): Uint8Array {
    this.assertAlive();
    return new Uint8Array(this._storage.buffer.read(this.byteOffset, this.nbytes));
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._storage.release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `QTensor(shape=[${this.shape.join(', ')}], format=q8_0, device=${this.device}${this.disposed ? ', disposed' : ''})`;
  }
}
