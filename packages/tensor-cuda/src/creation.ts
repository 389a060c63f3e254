/** Tensor creation from JS data and constant fills. */
import { assertDeviceUsable, type Device } from './device.js';
import { DTYPES, f32ToBf16Bits, typedArrayCtor, type AnyTypedArray, type DType } from './dtype.js';
import { ArgumentError, ShapeError } from './errors.js';
import { fillInPlace } from './ops/elementwise.js';
import { Tensor, shapeSize, validateShape } from './tensor.js';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

type Nested = number | readonly Nested[];

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as readonly Nested[])[0] as Nested;
    if (cur === undefined) break;
  }
  return shape;
}

function flatten(data: Nested, shape: number[], out: number[], depth = 0): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new ShapeError('ragged nested array', 'every row must have the same length');
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) throw new ShapeError('ragged nested array', 'every row must have the same length');
  for (const x of data as readonly Nested[]) flatten(x, shape, out, depth + 1);
}

function checkOptions(opts: TensorOptions): { dtype: DType; dev: number } {
  const dtype = opts.dtype ?? 'float32';
  if (!DTYPES.includes(dtype)) throw new ArgumentError(`unknown dtype '${dtype}'`, `use one of ${DTYPES.join(', ')}`);
  return { dtype, dev: assertDeviceUsable(opts.device ?? 'cpu') };
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/**
 * Creates a tensor from (nested) numbers or a typed array. `shape` is required for flat data of
 * rank != 1. bfloat16 tensors accept float values (rounded to nearest even).
 */
export function tensor(data: Nested | AnyTypedArray | readonly number[], opts: TensorOptions & { shape?: readonly number[] } = {}): Tensor {
  const { dtype, dev } = checkOptions(opts);
  let flat: ArrayLike<number>;
  let shape: readonly number[];
  if (ArrayBuffer.isView(data)) {
    flat = data as AnyTypedArray;
    shape = opts.shape ?? [flat.length];
  } else if (typeof data === 'number') {
    flat = [data];
    shape = opts.shape ?? [];
  } else {
    const inferred = inferShape(data as Nested);
    const values: number[] = [];
    flatten(data as Nested, inferred, values);
    flat = values;
    shape = opts.shape ?? inferred;
  }
  validateShape(shape);
  if (shapeSize(shape) !== flat.length) throw new ShapeError(`tensor: ${flat.length} values do not fill shape [${shape.join(', ')}]`);
  const t = Tensor.allocate(shape, dtype, dev, false);
  let payload: AnyTypedArray;
  const Ctor = typedArrayCtor(dtype);
  if (dtype === 'bfloat16' && !(data instanceof Uint16Array)) {
    payload = new Uint16Array(flat.length);
    for (let i = 0; i < flat.length; i++) payload[i] = f32ToBf16Bits(flat[i]!);
  } else if (flat instanceof Ctor) {
    payload = flat as AnyTypedArray;
  } else {
    payload = Ctor.from(flat as ArrayLike<number>);
  }
  if (payload.length) t.buf.write(0, payload);
  return finish(t, opts);
}

/** Uninitialised memory: only for outputs that are fully overwritten. */
export function empty(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  const { dtype, dev } = checkOptions(opts);
  return finish(Tensor.allocate(shape, dtype, dev, false), opts);
}

export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  const { dtype, dev } = checkOptions(opts);
  return finish(Tensor.allocate(shape, dtype, dev, true), opts);
}

export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  const { dtype, dev } = checkOptions(opts);
  const t = Tensor.allocate(shape, dtype, dev, false);
  if (dtype === 'float32') fillInPlace(t, value);
  else {
    const Ctor = typedArrayCtor(dtype);
    const arr = new Ctor(t.size);
    arr.fill(dtype === 'bfloat16' ? f32ToBf16Bits(value) : value);
    if (arr.length) t.buf.write(0, arr);
  }
  return finish(t, opts);
}

export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}

export function arange(n: number, opts: TensorOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'int32';
  const Ctor = typedArrayCtor(dtype);
  const arr = new Ctor(n);
  for (let i = 0; i < n; i++) arr[i] = i;
  return tensor(arr, { ...opts, dtype });
}
