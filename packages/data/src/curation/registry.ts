/**
 * Tagger registry: Dolma's names → factories. Register your own TypeScript tagger with
 * `registerTagger('my_tagger_v1', () => new MyTagger())` in a module and pass that module to
 * `olmo data tag --taggers-modules ./my-taggers.js` (every worker imports it, like Dolma's
 * `--tagger_modules`), or call registerTagger before runTag when using the API in one process.
 */
import { DataError } from '../errors.js';
import { C4V1 } from './taggers/c4.js';
import { CharLengthV1 } from './taggers/char-length.js';
import { GopherV1 } from './taggers/gopher.js';
import { FtLangIdEnDocV2, loadEnglishScorer } from './taggers/language.js';
import { PiiRegexV2 } from './taggers/pii.js';
import { RandomNumberV1 } from './taggers/random-number.js';
import { WhitespaceTokenizerV1 } from './taggers/whitespace-tokenizer.js';
import type { Tagger, TaggerFactory } from './types.js';

const builtin = new Map<string, TaggerFactory>([
  ['gopher_v1', () => new GopherV1()],
  ['c4_v1', () => new C4V1()],
  ['pii_regex_v2', () => new PiiRegexV2()],
  ['ft_lang_id_en_doc_v2', async () => new FtLangIdEnDocV2(await loadEnglishScorer())],
  ['char_length_v1', () => new CharLengthV1()],
  ['whitespace_tokenizer_v1', () => new WhitespaceTokenizerV1()],
  ['random_number_v1', () => new RandomNumberV1()],
]);
const registry = new Map<string, TaggerFactory>(builtin);

/** True when `name` is the built-in tagger of that name (not replaced by registerTagger). */
export function isBuiltinTagger(name: string): boolean {
  return builtin.has(name) && registry.get(name) === builtin.get(name);
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Adds (or replaces) a tagger under `name` (a variable-like name: it becomes part of attribute keys). */
export function registerTagger(name: string, factory: TaggerFactory): void {
  if (!NAME.test(name)) throw new DataError('INVALID_ARGUMENT', `tagger name '${name}' must match ${NAME}`, 'use letters, digits and _');
  registry.set(name, factory);
}

export function taggerNames(): string[] {
  return [...registry.keys()];
}

export async function createTagger(name: string): Promise<Tagger> {
  const f = registry.get(name);
  if (!f) throw new DataError('INVALID_ARGUMENT', `unknown tagger '${name}'`, `known taggers: ${taggerNames().join(', ')}; register your own with registerTagger()`);
  return f();
}

/** Imports user modules that call registerTagger (paths resolved against the working directory). */
export async function importTaggerModules(modules: readonly string[]): Promise<void> {
  const { pathToFileURL } = await import('node:url');
  const path = await import('node:path');
  for (const m of modules) {
    const spec = m.startsWith('.') || m.startsWith('/') ? pathToFileURL(path.resolve(m)).href : m;
    try {
      await import(spec);
    } catch (e) {
      throw new DataError('NOT_FOUND', `cannot import tagger module ${m}: ${(e as Error).message}`, 'pass a compiled .js/.mjs module that calls registerTagger', m, { cause: e });
    }
  }
}
