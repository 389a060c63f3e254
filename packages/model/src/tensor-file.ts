/**
 * What every checkpoint file reader shares (safetensors.ts, gguf/reader.ts): an open handle that is
 * read with positioned reads, a tensor table, chunked float32 streaming, and an idempotent close.
 * The formats differ only in how a tensor's bytes are located and decoded (`info`, `readChunks`).
 */
import type { FileHandle } from 'node:fs/promises';
import { CheckpointError } from './errors.js';

export abstract class TensorFile {
  protected constructor(
    readonly path: string,
    private fh: FileHandle | null,
  ) {}

  /** The tensor's table entry; a missing name is CHECKPOINT_CORRUPT. */
  abstract info(name: string): { readonly numel: number };

  /** Streams tensor `name` as float32 in bounded chunks: `sink(values, elementOffset)` (the array is reused). */
  abstract readChunks(name: string, sink: (values: Float32Array, elementOffset: number) => void, chunkBytes?: number, multipleOf?: number): Promise<void>;

  /** A whole tensor as float32 (for small tensors and tests). */
  async readFloat32(name: string): Promise<Float32Array> {
    const out = new Float32Array(this.info(name).numel);
    await this.readChunks(name, (v, off) => out.set(v, off));
    return out;
  }

  /** The open handle; reading a closed file is a typed error, not a crash. */
  protected handle(): FileHandle {
    if (!this.fh) throw new CheckpointError(`${this.path} was closed`, 'open it again');
    return this.fh;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }
}

/** Fills buf from `position`, looping over short reads; a file that ends first is CHECKPOINT_CORRUPT. */
export async function readExact(fh: FileHandle, buf: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new CheckpointError(`${file}: unexpected end of file at byte ${position + done}`, 'the file is truncated');
    done += bytesRead;
  }
}
