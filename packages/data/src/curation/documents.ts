/**
 * Dolma document files: streaming line reading (plain or gzip), strict UTF-8, parse errors that
 * name the file and line, atomic line writers (temp file + rename, gzip when the name ends in .gz),
 * and glob expansion for `documents/**\/*.jsonl.gz`-style patterns.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { createGunzip, createGzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import { DataError } from '../errors.js';
import type { DolmaDocument } from './types.js';

export interface RawLine {
  /** 1-based line number */
  lineNo: number;
  /** the line's text, without the trailing "\n" */
  text: string;
  /** UTF-8 bytes of the line (without "\n") */
  bytes: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function isGzip(file: string): boolean {
  return file.endsWith('.gz');
}

/** One line's bytes (without "\n") as a RawLine; invalid UTF-8 is a DATA_CORRUPT error naming file and line. */
export function decodeLine(buf: Uint8Array, lineNo: number, file: string): RawLine {
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    throw new DataError('DATA_CORRUPT', `line ${lineNo}: invalid UTF-8`, 'documents must be UTF-8 encoded', `${file}:${lineNo}`);
  }
  return { lineNo, text, bytes: buf.length };
}

/** The decompressed bytes of a documents file as a stream (256 KiB chunks for .gz). */
export function openDocumentStream(file: string): AsyncIterable<Buffer> {
  if (!existsSync(file)) throw new DataError('NOT_FOUND', 'file not found', 'check the path / glob', file);
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  // 256 KiB gunzip chunks (the default 16 KiB costs a stream round trip per 16 KiB)
  const stream = isGzip(file) ? input.pipe(createGunzip({ chunkSize: 1 << 18 })) : input;
  if (isGzip(file)) input.on('error', (e) => stream.destroy(e));
  return stream as AsyncIterable<Buffer>;
}

/** The error of a stream that failed after `linesRead` complete lines (truncated gzip, I/O). */
export function readError(file: string, linesRead: number, e: unknown): DataError {
  const msg = (e as Error).message;
  return new DataError('DATA_CORRUPT', `cannot read after line ${linesRead}: ${msg}${/unexpected end/i.test(msg) ? ' (truncated gzip?)' : ''}`,
    're-create or re-download the file', `${file}:${linesRead + 1}`, { cause: e });
}

/** Streams the lines of a (gzipped) text file. Errors (truncated gzip, bad UTF-8) name file and line. */
export async function* readLines(file: string): AsyncGenerator<RawLine> {
  const stream = openDocumentStream(file);
  // the pieces of the line being read: a long line spanning many chunks is joined once, not
  // re-copied with every chunk
  let parts: Buffer[] = [];
  let lineNo = 0;
  const decode = (buf: Buffer): RawLine => decodeLine(buf, ++lineNo, file);
  try {
    for await (const chunk of stream) {
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl);
        if (parts.length > 0) { parts.push(piece); yield decode(Buffer.concat(parts)); parts = []; } else yield decode(piece);
        start = nl + 1;
      }
      if (start < chunk.length) parts.push(chunk.subarray(start));
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw readError(file, lineNo, e);
  }
  const carry = parts.length > 0 ? Buffer.concat(parts) : null;
  if (carry && carry.length > 0) yield decode(carry);
}

/** Parses one documents line and checks Dolma's required fields. */
export function parseDocument(line: RawLine, file: string): DolmaDocument {
  let d: unknown;
  try {
    d = JSON.parse(line.text);
  } catch (e) {
    throw new DataError('DATA_CORRUPT', `line ${line.lineNo}: malformed JSON (${(e as Error).message})`, 'each line must be one JSON object', `${file}:${line.lineNo}`);
  }
  if (typeof d !== 'object' || d === null || Array.isArray(d)) {
    throw new DataError('DATA_CORRUPT', `line ${line.lineNo}: not a JSON object`, 'each line must be one JSON object', `${file}:${line.lineNo}`);
  }
  const doc = d as Record<string, unknown>;
  if (typeof doc.text !== 'string') {
    throw new DataError('DATA_CORRUPT', `line ${line.lineNo}: missing or non-string "text"`, 'Dolma documents need "id" and "text"', `${file}:${line.lineNo}`);
  }
  if (typeof doc.id !== 'string' && typeof doc.id !== 'number') {
    throw new DataError('DATA_CORRUPT', `line ${line.lineNo}: missing "id"`, 'Dolma documents need "id" and "text"', `${file}:${line.lineNo}`);
  }
  return doc as DolmaDocument;
}

/**
 * Writes lines to `<file>.tmp-<pid>` (gzip when `file` ends in .gz) and renames it to `file` on
 * commit(), so readers never see a half-written file and a killed run leaves only temp files.
 */
export class AtomicLineWriter {
  readonly tmp: string;
  private out: Writable;
  private fileStream: Writable;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  bytes = 0;
  lines = 0;

  /** `gzipLevel`: zlib level when `file` ends in .gz (default 6). */
  constructor(readonly file: string, gzipLevel = 6) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.fileStream = createWriteStream(this.tmp);
    if (isGzip(file)) {
      const gz = createGzip({ level: gzipLevel });
      gz.pipe(this.fileStream);
      this.out = gz;
    } else this.out = this.fileStream;
  }

  async write(line: string): Promise<void> {
    await this.writeBytes(Buffer.from(`${line}\n`, 'utf8'), 1);
  }

  /** Appends `lines` complete lines already encoded (each ending in "\n"). */
  async writeBytes(b: Buffer, lines: number): Promise<void> {
    this.bytes += b.length;
    this.lines += lines;
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const b = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.out.write(b)) await once(this.out, 'drain');
  }

  async commit(): Promise<void> {
    await this.flush();
    const done = once(this.fileStream, 'close');
    this.out.end();
    await done;
    renameSync(this.tmp, this.file);
  }

  abort(): void {
    // stop the gzip → file pipe first, and ignore late errors of the torn-down streams
    const ignore = (): void => {};
    this.out.on('error', ignore);
    this.fileStream.on('error', ignore);
    if (this.out !== this.fileStream) (this.out as unknown as NodeJS.ReadableStream).unpipe(this.fileStream);
    this.out.destroy();
    this.fileStream.destroy();
    rmSync(this.tmp, { force: true });
  }
}

const DOC_EXT = /\.(jsonl|json)(\.gz)?$/;

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') { i++; re += '(?:.*/)?'; } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const close = glob.indexOf('}', i);
      if (close < 0) { re += '\\{'; continue; }
      re += `(?:${glob.slice(i + 1, close).split(',').map((p) => p.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')).join('|')})`;
      i = close;
    } else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && !e.name.includes('.tmp-')) out.push(p);
  }
}

/**
 * Expands document globs (`*`, `**`, `?`, `{a,b}`) and folders (all .jsonl/.json(.gz) files below).
 * Returns absolute, sorted, de-duplicated paths; a pattern matching nothing is an error.
 */
export function expandGlobs(patterns: readonly string[]): string[] {
  const out = new Set<string>();
  for (const pat of patterns) {
    const abs = path.resolve(pat).split(path.sep).join('/');
    const firstGlob = abs.search(/[*?{]/);
    if (firstGlob < 0) {
      if (!existsSync(abs)) throw new DataError('NOT_FOUND', `no such file or folder: ${pat}`, 'check the documents path', pat);
      if (statSync(abs).isDirectory()) {
        const files: string[] = [];
        walk(abs, files);
        for (const f of files) if (DOC_EXT.test(f)) out.add(f);
      } else out.add(abs);
      continue;
    }
    const base = abs.slice(0, abs.lastIndexOf('/', firstGlob));
    if (!existsSync(base)) throw new DataError('NOT_FOUND', `glob base folder does not exist: ${base}`, 'check the documents glob', pat);
    const re = globToRegExp(abs);
    const files: string[] = [];
    walk(base, files);
    let n = 0;
    for (const f of files) if (re.test(f.split(path.sep).join('/'))) { out.add(f); n++; }
    if (n === 0) throw new DataError('NOT_FOUND', `glob matched no files: ${pat}`, 'check the documents glob', pat);
  }
  return [...out].sort();
}
