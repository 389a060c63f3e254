/**
 * The I/O a command handler gets: results go to stdout, progress and errors to stderr. Tests and
 * embedders pass sinks (streams or plain functions) to capture output; the default is the process.
 */
import { createStyle, type Env, type Style } from './style.js';

/** A stream-like object or a function receiving raw text (no newline is added). */
export type Sink = { write(s: string): unknown; isTTY?: boolean } | ((s: string) => void);

export interface CliIO {
  stdout?: Sink;
  stderr?: Sink;
  env?: Env;
  /** Aborted when the user interrupts (bins wire SIGINT to it); long commands should stop cleanly. */
  signal?: AbortSignal;
}

/** CliIO with defaults applied and helpers: `print` / `error` add the newline; styles per stream. */
export interface Terminal {
  write(s: string): void;
  print(line: string): void;
  writeErr(s: string): void;
  error(line: string): void;
  readonly style: Style;
  readonly errStyle: Style;
  readonly env: Env;
  readonly signal: AbortSignal | undefined;
  /** The original io (to pass on to a nested handler). */
  readonly io: CliIO;
}

function writerOf(s: Sink): (t: string) => void {
  return typeof s === 'function' ? s : (t) => void s.write(t);
}

export function terminal(io: CliIO = {}): Terminal {
  const out = io.stdout ?? process.stdout, err = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const w = writerOf(out), e = writerOf(err);
  return {
    write: w, print: (l) => w(`${l}\n`), writeErr: e, error: (l) => e(`${l}\n`),
    style: createStyle(typeof out === 'function' ? undefined : out, env),
    errStyle: createStyle(typeof err === 'function' ? undefined : err, env),
    env, signal: io.signal, io,
  };
}
