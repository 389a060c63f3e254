/**
 * One error format and one set of exit codes for every olmo binary:
 *
 *   olmo: error CODE: message
 *   hint: what to do
 *
 * `CODE` is the OlmoError code (docs/errors.md). Errors from any package work, including
 * @olmo/tokenizer's own OlmoError copy (same global brand, so `instanceof` matches).
 */
import { OlmoError } from '../errors.js';

/** Process exit codes (docs/cli.md). */
export const EXIT = {
  OK: 0,
  /** an OlmoError: bad file, config, data, checkpoint, ... */
  ERROR: 1,
  /** bad command line (INVALID_ARGUMENT): unknown option, missing value, unknown command */
  USAGE: 2,
  /** training diverged (NON_FINITE) */
  NON_FINITE: 3,
  /** `olmo demo` finished but the model is not better than the unigram baseline */
  NOT_BETTER: 4,
  /** an unexpected exception: a bug in olmo-ts */
  INTERNAL: 70,
  /** stopped by SIGINT (Ctrl-C) / SIGTERM, after saving a checkpoint (128 + signal number) */
  SIGINT: 130,
  SIGTERM: 143,
} as const;

/** The message without the ` (hint: ...)` suffix OlmoError appends (the hint gets its own line). */
export function plainMessage(e: { message: string; hint?: string }): string {
  const suffix = e.hint ? ` (hint: ${e.hint})` : '';
  return suffix && e.message.endsWith(suffix) ? e.message.slice(0, -suffix.length) : e.message;
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof OlmoError) return e.code === 'INVALID_ARGUMENT' ? EXIT.USAGE : e.code === 'NON_FINITE' ? EXIT.NON_FINITE : EXIT.ERROR;
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' ? EXIT.ERROR : EXIT.INTERNAL;
}

/**
 * Formats any thrown value for the terminal. Node's ENOENT becomes NOT_FOUND (naming the path);
 * anything else that is not an OlmoError is reported as INTERNAL with its stack.
 */
export function formatCliError(e: unknown, prefix = ''): string {
  const head = `${prefix}olmo: error`;
  if (e instanceof OlmoError) {
    return `${head} ${e.code}: ${plainMessage(e)}\n${e.hint ? `hint: ${e.hint}\n` : ''}`;
  }
  const err = e as (Error & { code?: string; path?: string }) | undefined;
  if (err?.code === 'ENOENT') return `${head} NOT_FOUND: ${err.path ?? ''} does not exist (${err.message})\nhint: check the path\n`;
  const msg = err instanceof Error ? err.stack ?? err.message : String(e);
  return `${head} INTERNAL: ${msg}\nhint: this is a bug in olmo-ts; please report it with the output above\n`;
}

/** `[rank r] ` under a multi-rank mpirun, so interleaved errors say which rank raised them. */
export function rankPrefix(env: Record<string, string | undefined> = process.env): string {
  return env.OMPI_COMM_WORLD_SIZE && Number(env.OMPI_COMM_WORLD_SIZE) > 1 ? `[rank ${env.OMPI_COMM_WORLD_RANK}] ` : '';
}
