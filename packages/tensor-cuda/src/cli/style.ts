/**
 * Terminal styling that respects the user: ANSI colour/bold only when the stream is a TTY, and
 * never when NO_COLOR is set (https://no-color.org: any non-empty value) or TERM=dumb.
 */
export interface StyleTarget { isTTY?: boolean }
export type Env = Record<string, string | undefined>;

export interface Style {
  readonly enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
}

export function colorEnabled(stream: StyleTarget | undefined, env: Env = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream?.isTTY === true;
}

export function createStyle(stream: StyleTarget | undefined, env: Env = process.env): Style {
  const on = colorEnabled(stream, env);
  const wrap = (open: number, close: number) => (s: string) => (on ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { enabled: on, bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39) };
}
