/**
 * Typed errors shared by every olmo-ts package.
 *
 * `@olmo/tensor-cuda` and `@olmo/tokenizer` may not import each other, so both define an
 * `OlmoError` with the same global brand (`Symbol.for('olmo.error')`); `instanceof OlmoError`
 * therefore works across packages and across duplicated installs of the same package.
 */
const BRAND = Symbol.for('olmo.error');

export type OlmoErrorCode =
  | 'SHAPE_MISMATCH'
  | 'DTYPE_UNSUPPORTED'
  | 'DEVICE_MISMATCH'
  | 'OUT_OF_MEMORY'
  | 'CUDA_UNAVAILABLE'
  | 'CUDA_ERROR'
  | 'TENSOR_DISPOSED'
  | 'INVALID_ARGUMENT'
  | 'NON_FINITE'
  | 'NATIVE_UNAVAILABLE'
  | 'CHECKPOINT_CORRUPT'
  | 'TOKENIZER_INVALID'
  | 'DATA_CORRUPT'
  | 'CONFIG_INVALID'
  | 'NOT_FOUND'
  | 'DISTRIBUTED_ERROR'
  | 'MODEL_UNSUPPORTED'
  | 'INTERNAL'
  | (string & {});

export class OlmoError extends Error {
  readonly code: OlmoErrorCode;
  readonly hint: string;

  constructor(code: OlmoErrorCode, message: string, hint = '', options?: { cause?: unknown }) {
    super(hint ? `${message} (hint: ${hint})` : message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== OlmoError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

export class ShapeError extends OlmoError {
  constructor(message: string, hint = 'check the tensor shapes passed to this op') {
    super('SHAPE_MISMATCH', message, hint);
  }
}
export class DTypeError extends OlmoError {
  constructor(message: string, hint = 'convert the tensor with .to(dtype) first') {
    super('DTYPE_UNSUPPORTED', message, hint);
  }
}
export class DeviceError extends OlmoError {
  constructor(code: 'DEVICE_MISMATCH' | 'CUDA_UNAVAILABLE' | 'CUDA_ERROR', message: string, hint: string) {
    super(code, message, hint);
  }
}
export class OutOfMemoryError extends OlmoError {
  constructor(message: string, hint = 'reduce the batch size or sequence length, or free tensors with dispose()') {
    super('OUT_OF_MEMORY', message, hint);
  }
}
export class DisposedError extends OlmoError {
  constructor(message: string, hint = 'the tensor was disposed (explicitly or by a scope); keep() it to retain it') {
    super('TENSOR_DISPOSED', message, hint);
  }
}
export class ArgumentError extends OlmoError {
  constructor(message: string, hint = 'see the function documentation for valid values') {
    super('INVALID_ARGUMENT', message, hint);
  }
}

/** Maps a native error code (thrown by OLMO_CHECK in C++) to the matching subclass. */
export function fromNative(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as Error & { code?: string }).code;
  const hint = (err as Error & { hint?: string }).hint ?? '';
  if (!code || !code.startsWith('OLMO_')) return err;
  const c = code.slice(5);
  const msg = err.message;
  switch (c) {
    case 'SHAPE_MISMATCH': return new ShapeError(msg, hint || undefined);
    case 'DTYPE_UNSUPPORTED': return new DTypeError(msg, hint || undefined);
    case 'OUT_OF_MEMORY': return new OutOfMemoryError(msg, hint || undefined);
    case 'INVALID_ARGUMENT': return new ArgumentError(msg, hint || undefined);
    case 'CUDA_UNAVAILABLE':
    case 'CUDA_ERROR':
    case 'DEVICE_MISMATCH':
      return new DeviceError(c, msg, hint);
    default: return new OlmoError(c, msg, hint);
  }
}
