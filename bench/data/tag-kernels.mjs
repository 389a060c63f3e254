#!/usr/bin/env node
/**
 * The native part of `tag` alone: textTagBatch (JSON scan, taggers, attribute lines) over the
 * decompressed documents of bench/data/tag-cold.mjs's corpus (8 files, 12 MB), already in memory — no
 * gunzip, no file writes, no JavaScript per document. CPU ms per pass over the corpus: the first pass
 * and the warm ones (the thread's fastText model, and its token cache, is shared by the sets: only the
 * first set with ft_lang_id_en_doc_v2 pays the cache's first pass). Per tagger set, to A/B a kernel change
 * between two checkouts, alternated:
 *   for i in 1 2 3; do for r in /path/to/base $PWD; do node bench/data/tag-kernels.mjs $r; done; done
 * ROOT (default: this checkout) needs packages/data/dist and the built addon. Sets: --sets all,gopher_v1,...
 * ("all" = gopher_v1 + c4_v1 + pii_regex_v2 + ft_lang_id_en_doc_v2); --passes N (default 5).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const arg = (name, d) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : d; };
const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !(i > 0 && all[i - 1].startsWith('--')));
const root = resolve(positional[0] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
const passes = Number(arg('passes', '5'));
const ALL = ['gopher_v1', 'c4_v1', 'pii_regex_v2', 'ft_lang_id_en_doc_v2'];
const sets = arg('sets', 'all,gopher_v1,c4_v1,pii_regex_v2,ft_lang_id_en_doc_v2').split(',').map((s) => (s === 'all' ? ALL : s.split('+')));

const { batchTagging } = await import(join(root, 'packages/data/dist/curation/tag-file-batch.js'));
const { textTagBatch } = await import(join(root, 'packages/tensor-cuda/dist/index.js'));
const dir = join(tmpdir(), 'olmo-tag-cold-corpus', 'documents');
if (!existsSync(join(dir, 'part-7.jsonl.gz'))) { // the corpus of tag-cold.mjs (same files)
  const { resolveSources, readDocs } = await import(join(root, 'packages/data/dist/index.js'));
  const docs = [];
  for (const u of resolveSources(['moby-dick', 'sotu'])) for await (const d of readDocs(u)) docs.push({ id: `${u.name}-${d.id}-0`, text: d.text, source: u.name });
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < 8; f++) {
    const lines = docs.filter((_, i) => i % 8 === f).map((d) => JSON.stringify(d)).join('\n') + '\n';
    const tmp = join(dir, `part-${f}.jsonl.gz.tmp-${process.pid}`);
    writeFileSync(tmp, gzipSync(lines));
    renameSync(tmp, join(dir, `part-${f}.jsonl.gz`));
  }
}
const bufs = readdirSync(dir).filter((f) => f.endsWith('.jsonl.gz')).sort().map((f) => gunzipSync(readFileSync(join(dir, f))));
const out = [];
for (const names of sets) {
  const b = batchTagging('k', names);
  if (!b) { out.push(`${names.join('+')}: no native batch path`); continue; }
  const ms = [];
  for (let p = 0; p < passes; p++) {
    const c0 = process.cpuUsage();
    for (const buf of bufs) if (textTagBatch(b.plan, b.lexicon, b.ft, buf, true).stopped) throw new Error('a line left the batch path');
    const c = process.cpuUsage(c0);
    ms.push((c.user + c.system) / 1000);
  }
  const warm = ms.slice(1).sort((x, y) => x - y);
  out.push(`${names.length === 4 ? 'all' : names.join('+')} first ${ms[0].toFixed(0)} warm median ${warm.length ? warm[warm.length >> 1].toFixed(0) : '-'} (${warm.map((x) => x.toFixed(0)).join('/')})`);
}
console.log(`${root}: ${out.join(' | ')} ms CPU | load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
