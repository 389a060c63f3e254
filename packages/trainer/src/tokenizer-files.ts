/**
 * Model folders we write (checkpoints' model/, `olmo checkpoint unshard`, the demo's model/) carry
 * the run's tokenizer, so `olmo generate --model DIR` and `fromPretrained(dir)` +
 * `dir/tokenizer.json` work on them without hunting for the file the run was trained with.
 */
import { copyFileSync, existsSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The tokenizer.json a config's `tokenizer.identifier` names (a file, or a folder holding one), or null (e.g. a hub name). */
export function tokenizerFileOf(identifier: string | null | undefined): string | null {
  if (!identifier || !existsSync(identifier)) return null;
  if (statSync(identifier).isFile()) return identifier;
  const inDir = join(identifier, 'tokenizer.json');
  return existsSync(inDir) ? inDir : null;
}

/** Copies the tokenizer (atomically) into `modelDir/tokenizer.json`; returns the written path or null when there is none. */
export function copyTokenizerInto(modelDir: string, ...candidates: Array<string | null | undefined>): string | null {
  for (const c of candidates) {
    const src = tokenizerFileOf(c);
    if (!src) continue;
    const dst = join(modelDir, 'tokenizer.json');
    const tmp = `${dst}.tmp-${process.pid}`;
    copyFileSync(src, tmp);
    renameSync(tmp, dst);
    return dst;
  }
  return null;
}
