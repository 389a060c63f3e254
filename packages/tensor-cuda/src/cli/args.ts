/**
 * Declarative command-line arguments: one spec per command gives both the parser and the help
 * text, so the help cannot drift from what is accepted. Supports `--name value`, `--name=value`,
 * `-x value`, repeatable (`list`) and variadic options, positionals, `--` and — for commands that
 * take OLMo config overrides — `--a.b=value` / `a.b=value` tokens collected verbatim.
 */
import { OlmoError } from '../errors.js';

export type OptionType = 'string' | 'number' | 'integer' | 'boolean' | 'list';

export interface OptionSpec {
  /** Long name without dashes, e.g. `max-new-tokens`; parsed values are keyed by it. */
  name: string;
  short?: string;
  type: OptionType;
  description: string;
  /** Applied when the option is absent, and shown in the help. */
  default?: string | number | boolean | readonly string[];
  /** Help text for a default that is computed at run time (e.g. `DIR/tokenizer.json`). */
  defaultText?: string;
  required?: boolean;
  /** Value placeholder in the help (FILE, N, ...). */
  value?: string;
  choices?: readonly string[];
  /** integer / number: smallest accepted value (integers default to 0). */
  min?: number;
  /** list: also take the following non-option tokens (`--perplexity a.txt b.txt`). */
  variadic?: boolean;
}

export interface PositionalSpec { name: string; description: string; required?: boolean; variadic?: boolean }

export interface CommandSpec {
  /** Full command line prefix, e.g. `olmo data prepare`. */
  name: string;
  summary: string;
  /** Extra help paragraphs (formats, notes). */
  details?: string;
  options?: readonly OptionSpec[];
  positionals?: readonly PositionalSpec[];
  /** When set, `--a.b=value` / `a.b=value` tokens that are not options are collected as config overrides; the text explains them. */
  overrides?: string;
  examples?: readonly string[];
}

export interface ParsedArgs {
  values: Record<string, unknown>;
  positionals: string[];
  overrides: string[];
  help: boolean;
}

const HELP_FLAGS = new Set(['-h', '--help']);

/** True if argv asks for help before any `--` (used by dispatchers that do not parse). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) { if (a === '--') return false; if (HELP_FLAGS.has(a)) return true; }
  return false;
}

function usageError(spec: CommandSpec, message: string): OlmoError {
  return new OlmoError('INVALID_ARGUMENT', message, `\`${spec.name} --help\` lists the options`);
}

function convert(spec: CommandSpec, o: OptionSpec, raw: string): unknown {
  const flag = `--${o.name}`;
  if (o.choices && !o.choices.includes(raw)) throw usageError(spec, `${flag} must be one of ${o.choices.join(', ')}, got '${raw}'`);
  if (o.type === 'number' || o.type === 'integer') {
    const n = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isFinite(n) || (o.type === 'integer' && !Number.isSafeInteger(n))) throw usageError(spec, `${flag} needs ${o.type === 'integer' ? 'an integer' : 'a number'}, got '${raw}'`);
    const min = o.min ?? (o.type === 'integer' ? 0 : undefined);
    if (min !== undefined && n < min) throw usageError(spec, `${flag} must be >= ${min}, got ${n}`);
    return n;
  }
  return raw;
}

const OVERRIDE_RE = /^(--)?[A-Za-z_][\w.-]*=/;

export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const opts = spec.options ?? [];
  const byLong = new Map(opts.map((o) => [o.name, o]));
  const byShort = new Map(opts.filter((o) => o.short).map((o) => [o.short!, o]));
  const values: Record<string, unknown> = {};
  const positionals: string[] = [], overrides: string[] = [];
  let help = false;
  const set = (o: OptionSpec, raw: string | true) => {
    if (o.type === 'boolean') { values[o.name] = raw === true ? true : raw !== 'false' && raw !== '0'; return; }
    const v = convert(spec, o, raw as string);
    if (o.type === 'list') values[o.name] = [...((values[o.name] as unknown[] | undefined) ?? []), v];
    else values[o.name] = v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (HELP_FLAGS.has(a)) { help = true; continue; }
    let o: OptionSpec | undefined, inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      o = byLong.get(name);
      if (eq > 0) inline = a.slice(eq + 1);
      if (!o) {
        if (spec.overrides && eq > 0) { overrides.push(a); continue; }
        throw usageError(spec, `unknown option --${name}${spec.overrides && eq < 0 ? ` (config overrides are written --${name}=VALUE)` : ''}`);
      }
    } else if (/^-[A-Za-z]$/.test(a)) {
      o = byShort.get(a[1]!);
      if (!o) throw usageError(spec, `unknown option ${a}`);
    } else if (spec.overrides && OVERRIDE_RE.test(a)) { overrides.push(a); continue; } else { positionals.push(a); continue; }
    if (o.type === 'boolean') { set(o, inline ?? true); continue; }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next.length > 1 && !/^-\d/.test(next))) throw usageError(spec, `--${o.name} needs a value${o.value ? ` (${o.value})` : ''}`);
      inline = next; i++;
    }
    set(o, inline);
    if (o.variadic) while (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) set(o, argv[++i]!);
  }
  if (help) return { values, positionals, overrides, help };
  for (const o of opts) {
    if (values[o.name] !== undefined) continue;
    if (o.required) throw usageError(spec, `--${o.name} is required`);
    if (o.default !== undefined) values[o.name] = Array.isArray(o.default) ? [...o.default] : o.default;
    else if (o.type === 'boolean') values[o.name] = false;
  }
  const pos = spec.positionals ?? [];
  const need = pos.filter((p) => p.required).length;
  if (positionals.length < need) throw usageError(spec, `missing ${pos.filter((p) => p.required).slice(positionals.length).map((p) => p.name).join(', ')}`);
  if (!pos.some((p) => p.variadic) && positionals.length > pos.length) throw usageError(spec, `unexpected argument '${positionals[pos.length]}'`);
  return { values, positionals, overrides, help };
}

function defaultText(o: OptionSpec): string {
  if (o.required) return 'required';
  if (o.defaultText !== undefined) return `default: ${o.defaultText}`;
  if (o.type === 'boolean') return `default: ${o.default === true ? 'on' : 'off'}`;
  if (o.default === undefined) return 'default: none';
  if (Array.isArray(o.default)) return `default: ${o.default.length ? o.default.join(',') : 'none'}`;
  return `default: ${String(o.default)}`;
}

/** The flag column of one option, e.g. `-n, --steps N`. */
export function optionFlag(o: OptionSpec): string {
  const val = o.type === 'boolean' ? '' : ` ${o.value ?? (o.choices ? o.choices.join('|') : o.type === 'integer' || o.type === 'number' ? 'N' : 'VALUE')}${o.variadic ? '...' : ''}`;
  return `${o.short ? `-${o.short}, ` : ''}--${o.name}${val}`;
}

function usageLine(spec: CommandSpec): string {
  const parts = [spec.name];
  for (const o of spec.options ?? []) if (o.required) parts.push(optionFlag(o));
  if ((spec.options ?? []).some((o) => !o.required)) parts.push('[options]');
  for (const p of spec.positionals ?? []) parts.push(p.required ? `${p.name}${p.variadic ? '...' : ''}` : `[${p.name}${p.variadic ? '...' : ''}]`);
  if (spec.overrides) parts.push('[--key.path=value ...]');
  return `usage: ${parts.join(' ')}`;
}

function table(rows: Array<[string, string]>): string[] {
  const w = Math.min(30, Math.max(...rows.map((r) => r[0].length)));
  return rows.map(([a, b]) => (a.length > w ? `  ${a}\n  ${' '.repeat(w)}  ${b}` : `  ${a.padEnd(w)}  ${b}`));
}

/** The help text: usage, summary, arguments, every option with its default, overrides, examples. */
export function formatHelp(spec: CommandSpec): string {
  const lines = [usageLine(spec), '', spec.summary];
  if (spec.details) lines.push('', spec.details.trimEnd());
  const pos = spec.positionals ?? [];
  if (pos.length) lines.push('', 'arguments:', ...table(pos.map((p) => [`${p.name}${p.variadic ? '...' : ''}`, `${p.description}${p.required ? '' : ' (optional)'}`])));
  const rows: Array<[string, string]> = (spec.options ?? []).map((o) => [optionFlag(o), `${o.description} (${defaultText(o)})`]);
  rows.push(['-h, --help', 'print this help and exit']);
  lines.push('', 'options:', ...table(rows));
  if (spec.overrides) lines.push('', 'config overrides:', `  --key.path=value  ${spec.overrides}`);
  if (spec.examples?.length) lines.push('', 'examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}
