/**
 * A .gz file inflated chunk by chunk into the caller's buffer (native/cpu/gzip_reader.cc; CPU only).
 * Reading into one reused buffer avoids the fresh pages Node's gunzip stream touches for every output
 * chunk. Same results and the same failures as Node's zlib Gunzip: concatenated members, zero padding
 * after a member ignored, "unexpected end of file" for a truncated (or empty) stream, zlib's own message
 * for corrupt data (see olmo/ops/gzip_reader.h). Files up to 16 MiB are inflated whole by libdeflate when
 * the system has libdeflate.so.0 (about 2x zlib; OLMO_GUNZIP_LIBDEFLATE=0 turns it off), with zlib
 * taking over on any libdeflate failure so results and errors stay the same.
 */
import { OlmoError } from '../errors.js';
import { call, native } from '../native.js';

/** True when the loaded addon has the reader and was built with zlib. */
export function gzipReaderAvailable(): boolean {
  try {
    const n = native();
    return typeof n.gzipReaderOpen === 'function' && n.gzipReaderAvailable() === true;
  } catch {
    return false;
  }
}

export class GzipFileReader {
  private handle: unknown;

  private constructor(handle: unknown) {
    this.handle = handle;
  }

  /** Opens a gzip file (NOT_FOUND when it cannot be opened). */
  static open(path: string): GzipFileReader {
    return new GzipFileReader(call((n) => n.gzipReaderOpen(path)));
  }

  /**
   * Inflates into buf[offset..]: the number of bytes written, 0 at the end of the stream. A corrupt,
   * truncated or unreadable stream raises DATA_CORRUPT whose message is zlib's (or Node's "unexpected end of
   * file"), after the bytes decoded before the fault were returned by earlier calls.
   */
  read(buf: Uint8Array, offset = 0): number {
    if (this.handle === undefined) throw new OlmoError('INVALID_ARGUMENT', 'the gzip reader was closed', 'open the file again');
    const r = call((n) => n.gzipReaderRead(this.handle, buf, offset)) as number;
    if (r < 0) throw new OlmoError('DATA_CORRUPT', call((n) => n.gzipReaderError(this.handle)) as string);
    return r;
  }

  /** Which decoder serves this file: 'libdeflate' or 'zlib' ('undecided' before the first read). */
  get backend(): string {
    if (this.handle === undefined) throw new OlmoError('INVALID_ARGUMENT', 'the gzip reader was closed', 'open the file again');
    return call((n) => n.gzipReaderBackend(this.handle)) as string;
  }

  /** Closes the file (also done when the reader is garbage-collected). */
  close(): void {
    if (this.handle === undefined) return;
    call((n) => n.gzipReaderClose(this.handle));
    this.handle = undefined;
  }
}
