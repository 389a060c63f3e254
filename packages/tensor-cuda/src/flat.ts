/**
 * Flat buffers: many parameters (or gradients, or optimizer moments) packed in one contiguous
 * allocation, each exposed as a tensor view. This is the layout fused multi-tensor kernels
 * (AdamW, grad-norm) and FSDP sharding work on: one buffer, one offset table.
 */
import { zeros } from './creation.js';
import type { Device } from './device.js';
import { ArgumentError } from './errors.js';
import { Tensor, shapeSize } from './tensor.js';

export interface FlatEntry {
  name: string;
  shape: readonly number[];
  /** Element offset inside the flat buffer. */
  offset: number;
  size: number;
}

export class FlatBuffer {
  readonly buffer: Tensor;
  readonly entries: readonly FlatEntry[];
  readonly views: Map<string, Tensor>;

  /** Packs `specs` in order; each entry starts at a multiple of `align` elements (16 = 64 bytes). */
  constructor(specs: ReadonlyArray<{ name: string; shape: readonly number[] }>, opts: { device?: Device; align?: number; padTo?: number } = {}) {
    const align = opts.align ?? 16;
    const entries: FlatEntry[] = [];
    let off = 0;
    const names = new Set<string>();
    for (const s of specs) {
      if (names.has(s.name)) throw new ArgumentError(`FlatBuffer: duplicate entry '${s.name}'`);
      names.add(s.name);
      off = Math.ceil(off / align) * align;
      const size = shapeSize(s.shape);
      entries.push({ name: s.name, shape: [...s.shape], offset: off, size });
      off += size;
    }
    const total = opts.padTo ? Math.ceil(off / opts.padTo) * opts.padTo : off;
    this.buffer = zeros([total], { device: opts.device ?? 'cpu' }).keep();
    this.entries = entries;
    this.views = new Map();
    for (const e of entries) {
      const v = this.buffer._view(e.shape, e.offset).keep();
      v.name = e.name;
      this.views.set(e.name, v);
    }
  }

  get numel(): number {
    return this.buffer.size;
  }

  view(name: string): Tensor {
    const v = this.views.get(name);
    if (!v) throw new ArgumentError(`FlatBuffer: no entry '${name}'`);
    return v;
  }

  dispose(): void {
    for (const v of this.views.values()) v.dispose();
    this.buffer.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
