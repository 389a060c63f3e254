import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

export function tmp(prefix = 'olmo-cur-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Writes documents (objects or raw lines) to root/documents/<rel>, gzipped when rel ends in .gz. */
export function writeDocs(root: string, rel: string, docs: (object | string)[]): string {
  const file = path.join(root, 'documents', rel);
  mkdirSync(path.dirname(file), { recursive: true });
  const body = docs.map((d) => (typeof d === 'string' ? d : JSON.stringify(d))).join('\n') + '\n';
  writeFileSync(file, rel.endsWith('.gz') ? gzipSync(body) : body);
  return file;
}

export function readText(file: string): string {
  const b = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(b) : b).toString('utf8');
}

export function readJsonl<T = Record<string, unknown>>(file: string): T[] {
  return readText(file).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
}

export async function expectOlmoError(p: Promise<unknown> | (() => unknown), code: string, ...contains: string[]): Promise<Error & { code: string }> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  if (!err) throw new Error(`expected an OlmoError ${code}, nothing was thrown`);
  const e = err as Error & { code: string };
  if (e.code !== code) throw new Error(`expected code ${code}, got ${e.code}: ${e.message}`);
  for (const c of contains) if (!e.message.includes(c)) throw new Error(`error message lacks ${JSON.stringify(c)}: ${e.message}`);
  return e;
}
