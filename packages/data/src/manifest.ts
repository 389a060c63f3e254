/** The manifest `olmo data prepare` writes next to its token files, and checks against a run's tokenizer. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configInvalid, corrupt, notFound } from './errors.js';

export type TokenDtype = 'uint16' | 'uint32';

export interface ManifestFile {
  /** Token file, relative to the manifest's directory (raw little-endian, no header, `*.npy`). */
  path: string;
  /** Document-boundary sidecar (real .npy, uint64 [D, 3]: start, end (exclusive, eos included), docId). */
  docs: string;
  tokens: number;
  documents: number;
  /** First global document id in this file. */
  firstDocId: number;
  source: ManifestSource;
}

export interface ManifestSource {
  /** What the user passed (path or npm package name). */
  spec: string;
  kind: 'jsonl' | 'text' | 'npm';
  /** Resolved input files (absolute) with size and mtime, for resume checks. */
  inputs: { path: string; size: number; mtimeMs: number }[];
  bytes: number;
}

export interface Manifest {
  format: 'olmo-ts-data/1';
  tokenizer: { hash: string; vocabSize: number; eosTokenId: number; file?: string };
  dtype: TokenDtype;
  totalTokens: number;
  totalDocuments: number;
  files: ManifestFile[];
  createdAt: string;
}

export const MANIFEST_NAME = 'manifest.json';

export function readManifest(file: string): Manifest {
  if (!existsSync(file)) throw notFound(file, 'manifest not found', 'run `olmo data prepare` first');
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch (e) {
    throw corrupt(file, `manifest is not valid JSON: ${(e as Error).message}`);
  }
  if (m.format !== 'olmo-ts-data/1' || !Array.isArray(m.files) || !m.tokenizer) throw corrupt(file, 'not an olmo-ts data manifest');
  return m;
}

/** The manifest governing a token file (same directory), if any. */
export function manifestFor(tokenFile: string): { file: string; manifest: Manifest } | undefined {
  const file = path.join(path.dirname(tokenFile), MANIFEST_NAME);
  if (!existsSync(file)) return undefined;
  return { file, manifest: readManifest(file) };
}

export interface TokenizerIdentity { hash?: string; vocabSize?: number; eosTokenId?: number }

/** Throws CONFIG_INVALID (naming the manifest) when the data was tokenized with a different tokenizer. */
export function checkManifestTokenizer(file: string, m: Manifest, tok: TokenizerIdentity): void {
  const t = m.tokenizer;
  const diff: string[] = [];
  if (tok.hash !== undefined && t.hash !== tok.hash) diff.push(`hash ${t.hash.slice(0, 12)} != ${tok.hash.slice(0, 12)}`);
  if (tok.vocabSize !== undefined && t.vocabSize !== tok.vocabSize) diff.push(`vocab size ${t.vocabSize} != ${tok.vocabSize}`);
  if (tok.eosTokenId !== undefined && t.eosTokenId !== tok.eosTokenId) diff.push(`eos id ${t.eosTokenId} != ${tok.eosTokenId}`);
  if (diff.length) {
    throw configInvalid(`data was tokenized with a different tokenizer than the run's (${diff.join(', ')})`,
      're-run `olmo data prepare` with the run\'s tokenizer, or point the run at the tokenizer the data was prepared with', file);
  }
}
