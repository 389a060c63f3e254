#!/usr/bin/env node
/**
 * The cold and warm `tag` rows of bench/data/curation.mjs (gopher_v1 + c4_v1 + pii_regex_v2 +
 * ft_lang_id_en_doc_v2, in-thread) in this fresh process, with their CPU time, system time and minor
 * page faults — to A/B a change of the one-time costs (addon and model load, first touches) between two
 * checkouts, alternated, one fresh process per run:
 *   for i in 1 2 3 4 5; do for r in /path/to/base $PWD; do node bench/data/tag-cold.mjs $r; done; done
 * ROOT (default: this checkout) needs packages/data/dist and the built addon. The corpus (the same 8
 * .jsonl.gz files as curation.mjs) is written once to $TMPDIR/olmo-tag-cold-corpus and reused.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
const { curation, resolveSources, readDocs } = await import(join(root, 'packages/data/dist/index.js'));
const dir = join(tmpdir(), 'olmo-tag-cold-corpus', 'documents');
if (!existsSync(join(dir, 'part-7.jsonl.gz'))) {
  const docs = [];
  for (const u of resolveSources(['moby-dick', 'sotu'])) for await (const d of readDocs(u)) docs.push({ id: `${u.name}-${d.id}-0`, text: d.text, source: u.name });
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < 8; f++) {
    const lines = docs.filter((_, i) => i % 8 === f).map((d) => JSON.stringify(d)).join('\n') + '\n';
    const tmp = join(dir, `part-${f}.jsonl.gz.tmp-${process.pid}`);
    writeFileSync(tmp, gzipSync(lines));
    renameSync(tmp, join(dir, `part-${f}.jsonl.gz`)); // complete files only, also when two runs start at once
  }
}
const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl.gz')).map((f) => join(dir, f));
const taggers = ['gopher_v1', 'c4_v1', 'pii_regex_v2', 'ft_lang_id_en_doc_v2'];
const rows = [];
for (const which of ['cold', 'warm']) {
  const experiment = `${which}_${process.pid}`;
  const c0 = process.cpuUsage();
  const f0 = process.resourceUsage().minorPageFault;
  await curation.runTag({ documents: files, experiment, taggers, quiet: true });
  const c = process.cpuUsage(c0);
  rows.push(`${which} ${((c.user + c.system) / 1000).toFixed(0)} ms CPU (sys ${(c.system / 1000).toFixed(0)}, ${process.resourceUsage().minorPageFault - f0} page faults)`);
  rmSync(join(dir, '..', 'attributes', experiment), { recursive: true, force: true });
}
console.log(`${root}: ${rows.join(' | ')} | load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
