/**
 * OLMo.forward's inputs as device tensors: token ids (validated against the vocabulary),
 * next-token targets from HF-style labels, and the packed-document layout.
 */
import { Tensor, noGrad, tensor, type Device } from '@olmo/tensor-cuda';
import { OlmoError } from './errors.js';
import type { ForwardOptions } from './forward-options.js';
import { documentLayout } from './ops.js';

/** Device tensors of a packed-document layout (attention mask starts and RoPE positions). */
export interface Docs {
  docStart: Tensor;
  positions: Tensor;
}

/** inputIds as an int32 [B, T] tensor on `device`; every id must lie in [0, embeddingSize). */
export function idsTensor(inputIds: number[][] | Tensor, embeddingSize: number, device: Device): Tensor {
  if (inputIds instanceof Tensor) {
    if (inputIds.ndim !== 2) throw new OlmoError('SHAPE_MISMATCH', `inputIds must be [B, T], got [${inputIds.shape.join(', ')}]`);
    return inputIds.dtype === 'int32' ? inputIds.share() : inputIds.to('int32');
  }
  if (!Array.isArray(inputIds) || inputIds.length === 0 || !Array.isArray(inputIds[0])) {
    throw new OlmoError('INVALID_ARGUMENT', 'inputIds must be a non-empty number[][] ([B][T]) or an int32 Tensor', 'wrap a single sequence as [ids]');
  }
  const B = inputIds.length, T = inputIds[0]!.length;
  if (T === 0) throw new OlmoError('INVALID_ARGUMENT', 'inputIds rows are empty');
  const data = new Int32Array(B * T);
  const V = embeddingSize;
  for (let b = 0; b < B; b++) {
    const row = inputIds[b]!;
    if (row.length !== T) throw new OlmoError('SHAPE_MISMATCH', `inputIds row ${b} has length ${row.length}, row 0 has ${T}`, 'pad rows to the same length');
    for (let t = 0; t < T; t++) {
      const id = row[t]!;
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new OlmoError('INVALID_ARGUMENT', `token id ${id} at [${b}, ${t}] is outside [0, ${V})`);
      data[b * T + t] = id;
    }
  }
  return tensor(data, { shape: [B, T], dtype: 'int32', device });
}

/** Next-token targets: targets[b, t] = labels[b, t+1], last position ignored. */
export function targetsTensor(labels: number[][] | Tensor, B: number, T: number, ignore: number, device: Device): Tensor {
  let flatLabels: ArrayLike<number>;
  if (labels instanceof Tensor) {
    if (labels.ndim !== 2 || labels.shape[0] !== B || labels.shape[1] !== T) throw new OlmoError('SHAPE_MISMATCH', `labels [${labels.shape.join(', ')}] must be [${B}, ${T}]`);
    flatLabels = noGrad(() => labels.toTypedArray());
  } else {
    if (labels.length !== B || labels.some((r) => r.length !== T)) throw new OlmoError('SHAPE_MISMATCH', `labels must be [${B}][${T}]`);
    flatLabels = labels.flat();
  }
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T - 1; t++) out[b * T + t] = flatLabels[b * T + t + 1]!;
    out[b * T + T - 1] = ignore;
  }
  return tensor(out, { shape: [B * T], dtype: 'int32', device });
}

/** docStart / positions tensors [B, T] for ForwardOptions.documentIds (null without). */
export function docsTensors(documentIds: ForwardOptions['documentIds'], B: number, T: number, device: Device): Docs | null {
  if (documentIds === undefined) return null;
  const flat = Array.isArray(documentIds) && Array.isArray(documentIds[0]) ? (documentIds as number[][]).flat() : (documentIds as ArrayLike<number>);
  const { docStart, positions } = documentLayout(flat, B, T);
  return {
    docStart: tensor(docStart, { shape: [B, T], dtype: 'int32', device }),
    positions: tensor(positions, { shape: [B, T], dtype: 'int32', device }),
  };
}
