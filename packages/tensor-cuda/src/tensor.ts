/**
 * Tensor: a view (element offset, shape, strides) into reference-counted native storage.
 * Data leaves only by explicit copy (toFloat32Array / toTypedArray / toArray / item).
 * Lifetime is explicit: dispose(), `using`, or a tidy() scope.
 */
import { DTYPE_BYTES, DTYPE_CODE, bf16BitsToF32, typedArrayCtor, type AnyTypedArray, type DType } from './dtype.js';
import { deviceName, type Device } from './device.js';
import { ArgumentError, DisposedError, ShapeError } from './errors.js';
import { call } from './native.js';
import { Storage } from './storage.js';
import { track, untrack } from './scope.js';
import type { GradNode } from './autograd.js';
import * as views from './ops/views.js';
import { backward as runBackward, dropNodeRef } from './autograd.js';

export type Shape = readonly number[];

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function validateShape(shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape [${shape.join(', ')}]`, 'dimensions must be non-negative integers');
  }
}

export class Tensor {
  /** Brand used by scopes to recognise tensors without importing this class. */
  readonly __isTensor = true;
  readonly shape: Shape;
  readonly strides: Shape;
  readonly dtype: DType;
  /** Offset into the storage, in elements. */
  readonly offset: number;
  /** @internal */ _storage: Storage;
  requiresGrad = false;
  /** Accumulated gradient (same shape); may be a view into a flat gradient buffer. */
  grad: Tensor | null = null;
  /** @internal the autograd node that produced this tensor (null for leaves). */
  gradFn: GradNode | null = null;
  /** Optional name (parameter name), used in error messages and reports. */
  name?: string;
  private _disposed = false;

  /** @internal use the creation functions (tensor, zeros, empty, ...) instead. */
  constructor(storage: Storage, shape: Shape, dtype: DType, offset = 0, strides?: Shape) {
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.offset = offset;
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    track(this);
  }

  /** Allocates fresh storage for `shape` on `device` (zeroed unless zero=false). */
  static allocate(shape: Shape, dtype: DType, device: number, zero = true): Tensor {
    validateShape(shape);
    const nbytes = shapeSize(shape) * DTYPE_BYTES[dtype];
    return new Tensor(new Storage(nbytes, device, zero), shape, dtype);
  }

  /**
   * A contiguous tensor over existing storage (e.g. a file mapping from `Storage.mapFile`) at
   * `byteOffset`, which must be a multiple of the dtype size. The tensor holds its own reference.
   */
  static fromStorage(storage: Storage, shape: Shape, dtype: DType, byteOffset: number): Tensor {
    validateShape(shape);
    const bytes = DTYPE_BYTES[dtype];
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % bytes !== 0) {
      throw new ArgumentError(`fromStorage: byte offset ${byteOffset} is not a multiple of ${bytes} (${dtype})`, 'copy the data instead of viewing it');
    }
    if (byteOffset + shapeSize(shape) * bytes > storage.nbytes) {
      throw new ShapeError(`fromStorage: [${shape.join(', ')}] ${dtype} at byte ${byteOffset} exceeds the storage (${storage.nbytes} bytes)`);
    }
    if (!storage.alive) throw new DisposedError('fromStorage: the storage was released');
    return new Tensor(storage.retain(), shape, dtype, byteOffset / bytes);
  }

  get device(): Device { return deviceName(this._storage.device); }
  /** @internal native device index (-1 = cpu). */
  get deviceIndex(): number { return this._storage.device; }
  get ndim(): number { return this.shape.length; }
  get size(): number { return shapeSize(this.shape); }
  get byteOffset(): number { return this.offset * DTYPE_BYTES[this.dtype]; }
  get disposed(): boolean { return this._disposed || !this._storage.alive; }
  get dtypeCode(): number { return DTYPE_CODE[this.dtype]; }

  get isContiguous(): boolean {
    let expect = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== expect) return false;
      expect *= this.shape[i]!;
    }
    return true;
  }

  /** Throws TENSOR_DISPOSED if this tensor (or its storage) was freed. */
  assertAlive(what = 'tensor'): this {
    if (this.disposed) throw new DisposedError(`${what}${this.name ? ` '${this.name}'` : ''} [${this.shape.join(', ')}] was disposed`);
    return this;
  }

  /** @internal native (buffer, byteOffset) pair for op bindings. */
  get buf() { this.assertAlive(); return this._storage.buffer; }

  /** A new handle on the same storage and view (refcount +1). Dispose it independently. */
  share(): Tensor {
    this.assertAlive();
    return new Tensor(this._storage.retain(), this.shape, this.dtype, this.offset, this.strides);
  }

  /** @internal a view handle with a different shape/offset/strides on the same storage. */
  _view(shape: Shape, offset: number, strides?: Shape): Tensor {
    this.assertAlive();
    return new Tensor(this._storage.retain(), shape, this.dtype, offset, strides);
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    untrack(this);
    this._storage.release();
    if (this.gradFn) {
      const node = this.gradFn;
      this.gradFn = null;
      dropNodeRef(node);
    }
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Excludes this tensor from the enclosing tidy() scopes. */
  keep(): this {
    untrack(this);
    return this;
  }

  // ---------------------------------------------------------------- data out (always a copy)

  /** Raw elements in row-major order, in the tensor's own dtype (bfloat16 as uint16 bits). */
  toTypedArray(): AnyTypedArray {
    this.assertAlive();
    const src = this.isContiguous ? this : views.contiguousCopy(this);
    try {
      const bytes = src._storage.buffer.read(src.byteOffset, src.size * DTYPE_BYTES[src.dtype]);
      const Ctor = typedArrayCtor(src.dtype);
      return new Ctor(bytes);
    } finally {
      if (src !== this) src.dispose();
    }
  }

  /** Elements as float32 (bfloat16 and integer dtypes are converted), row-major. */
  toFloat32Array(): Float32Array {
    const raw = this.toTypedArray();
    if (raw instanceof Float32Array) return raw;
    const out = new Float32Array(raw.length);
    if (this.dtype === 'bfloat16') for (let i = 0; i < raw.length; i++) out[i] = bf16BitsToF32(raw[i]!);
    else for (let i = 0; i < raw.length; i++) out[i] = raw[i]!;
    return out;
  }

  /** Nested JS arrays of numbers (a number for a 0-d tensor). */
  toArray(): number | unknown[] {
    const flat = this.dtype === 'bfloat16' ? this.toFloat32Array() : this.toTypedArray();
    if (this.ndim === 0) return flat[0]!;
    const build = (dim: number, off: number): unknown[] => {
      const n = this.shape[dim]!;
      const out = new Array<unknown>(n);
      if (dim === this.ndim - 1) for (let i = 0; i < n; i++) out[i] = flat[off + i];
      else {
        const stride = shapeSize(this.shape.slice(dim + 1));
        for (let i = 0; i < n; i++) out[i] = build(dim + 1, off + i * stride);
      }
      return out;
    };
    return build(0, 0);
  }

  /** The single element of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item() needs exactly one element, tensor has shape [${this.shape.join(', ')}]`);
    return this.toFloat32Array()[0]!;
  }

  // ---------------------------------------------------------------- views (autograd-aware)

  reshape(shape: readonly number[]): Tensor { return views.reshape(this, shape); }
  view(shape: readonly number[]): Tensor { return views.reshape(this, shape); }
  flatten(): Tensor { return views.reshape(this, [this.size]); }
  transpose(dim0: number, dim1: number): Tensor { return views.transpose(this, dim0, dim1); }
  permute(dims: readonly number[]): Tensor { return views.permute(this, dims); }
  slice(dim: number, start: number, end: number): Tensor { return views.slice(this, dim, start, end); }
  unsqueeze(dim: number): Tensor { return views.unsqueeze(this, dim); }
  squeeze(dim: number): Tensor { return views.squeeze(this, dim); }
  /** A contiguous tensor with the same values (a new handle even when already contiguous). */
  contiguous(): Tensor { return views.contiguous(this); }
  clone(): Tensor { return views.clone(this); }
  /** A new handle that shares storage but is cut from the autograd graph. */
  detach(): Tensor {
    const t = this.share();
    t.requiresGrad = false;
    return t;
  }
  /** Copies to another device and/or converts dtype. Always returns a new tensor. */
  to(target: Device | DType | { device?: Device; dtype?: DType }): Tensor { return views.to(this, target); }

  /** Marks this tensor as a leaf that accumulates gradients. */
  requiresGrad_(flag = true): this {
    if (flag && this.dtype !== 'float32') throw new ArgumentError(`requiresGrad needs float32, tensor is ${this.dtype}`);
    this.requiresGrad = flag;
    return this;
  }

  /** Reverse-mode autodiff from this tensor (a scalar unless `grad` is given). */
  backward(grad?: Tensor, opts?: { retainGraph?: boolean }): void {
    runBackward(this, grad, opts);
  }

  /** Sets the gradient to zero in place (keeps flat-buffer views), or drops it. */
  zeroGrad(setToNull = false): void {
    if (!this.grad) return;
    if (setToNull) {
      this.grad.dispose();
      this.grad = null;
    } else {
      const g = this.grad;
      call((n) => n.zeroBytes(g.buf, g.byteOffset, g.size * DTYPE_BYTES[g.dtype]));
    }
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''}${this.disposed ? ', disposed' : ''})`;
  }
}
