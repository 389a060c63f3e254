/** Reference-counted native storage shared by a tensor and its views. */
import { native, type NativeBuffer } from './native.js';
import { fromNative } from './errors.js';

export class Storage {
  readonly buffer: NativeBuffer;
  readonly device: number;
  readonly nbytes: number;
  private refs = 1;

  constructor(nbytes: number, device: number, zero: boolean) {
    const n = native();
    try {
      this.buffer = new n.NativeBuffer(nbytes, device, zero);
    } catch (e) {
      throw fromNative(e);
    }
    this.device = device;
    this.nbytes = nbytes;
  }

  get alive(): boolean {
    return this.refs > 0;
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
