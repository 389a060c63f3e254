/** Reference-counted native storage shared by a tensor and its views. */
import { native, type NativeBuffer } from './native.js';
import { fromNative } from './errors.js';

export class Storage {
  readonly buffer: NativeBuffer;
  readonly device: number;
  readonly nbytes: number;
  private refs = 1;

  /** True for a read-only file mapping (see `Storage.mapFile`). */
  readonly mapped: boolean;

  constructor(nbytes: number, device: number, zero: boolean);
  /** @internal a file mapping; use Storage.mapFile. */
  constructor(path: string);
  constructor(nbytesOrPath: number | string, device = -1, zero = true) {
    const n = native();
    try {
      this.buffer = typeof nbytesOrPath === 'string' ? new n.NativeBuffer(nbytesOrPath) : new n.NativeBuffer(nbytesOrPath, device, zero);
    } catch (e) {
      throw fromNative(e);
    }
    this.mapped = typeof nbytesOrPath === 'string';
    this.device = this.mapped ? -1 : device;
    this.nbytes = this.buffer.nbytes;
  }

  /**
   * Maps a whole file into CPU memory without copying it (mmap, private copy-on-write pages: the
   * file is never modified). Pages are read from disk on first use and count as file-backed
   * resident memory. Tensors made over it with `Tensor.fromStorage` keep it mapped until the last
   * one (and this handle) is released.
   */
  static mapFile(path: string): Storage {
    return new Storage(path);
  }

  get alive(): boolean {
    return this.refs > 0;
  }

  /** True when exactly one tensor handle refers to this storage (no view or share of it is alive). */
  get exclusive(): boolean {
    return this.refs === 1;
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) this.buffer.free();
  }
}
