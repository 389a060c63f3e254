#!/usr/bin/env node
/**
 * Byte-identity check of `olmo data tag` output between two builds.
 *   node bench/data/check-attributes.mjs A B
 *       compares two attribute trees: the same relative file names, and the same bytes in each file
 *       (.gz files compared after gunzip, so a different compression level is not a difference)
 *   node bench/data/check-attributes.mjs --bench-corpus [--reference /work/main] [--processes 2] [--keep DIR]
 *       writes bench/data/curation.mjs's corpus (moby-dick + sotu in 8 .jsonl.gz files) twice, tags one
 *       copy with the reference checkout's CLI and the other with this checkout's, all four taggers
 *       (gopher_v1, c4_v1, pii_regex_v2, ft_lang_id_en_doc_v2), the same experiment name, then compares.
 * Exit status 0 when identical, 1 on any difference (each one listed). Needs both checkouts built.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, d) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : d; };

function listFiles(root) {
  const out = [];
  const walk = (d) => { for (const e of readdirSync(d)) { const p = join(d, e); if (statSync(p).isDirectory()) walk(p); else out.push(relative(root, p)); } };
  walk(root);
  return out.sort();
}

/** The differences between two attribute trees (empty when identical). */
function compareTrees(a, b) {
  const fa = listFiles(a), fb = listFiles(b);
  const diffs = [];
  for (const f of fa) if (!fb.includes(f)) diffs.push(`only in ${a}: ${f}`);
  for (const f of fb) if (!fa.includes(f)) diffs.push(`only in ${b}: ${f}`);
  let lines = 0;
  for (const f of fa.filter((x) => fb.includes(x))) {
    const read = (p) => { const raw = readFileSync(p); return f.endsWith('.gz') ? gunzipSync(raw) : raw; };
    const x = read(join(a, f)), y = read(join(b, f));
    lines += x.toString('utf8').split('\n').length - 1;
    if (!x.equals(y)) {
      const lx = x.toString('utf8').split('\n'), ly = y.toString('utf8').split('\n');
      const i = lx.findIndex((l, k) => l !== ly[k]);
      diffs.push(`${f}: differs (${x.length} vs ${y.length} bytes), first at line ${i + 1}:\n  ${lx[i]?.slice(0, 300)}\n  ${ly[i]?.slice(0, 300)}`);
    }
  }
  return { diffs, files: fa.length, lines };
}

function report(a, b) {
  const { diffs, files, lines } = compareTrees(a, b);
  if (diffs.length === 0) { console.log(`identical: ${files} attribute files, ${lines} lines (${a} = ${b})`); return 0; }
  for (const d of diffs) console.log(d);
  console.log(`DIFFERENT: ${diffs.length} difference(s) in ${files} files`);
  return 1;
}

if (!process.argv.includes('--bench-corpus')) {
  const [a, b] = process.argv.slice(2).filter((x) => !x.startsWith('--'));
  if (!a || !b) { console.error('usage: check-attributes.mjs A B | --bench-corpus [--reference DIR] [--processes N] [--keep DIR]'); process.exit(2); }
  process.exit(report(a, b));
}

const reference = arg('reference', '/work/main');
const processes = arg('processes', '1');
const keep = arg('keep', undefined);
const root = keep ?? mkdtempSync(join(tmpdir(), 'olmo-check-attrs-'));
const { resolveSources, readDocs } = await import(join(repo, 'packages/data/dist/index.js'));
const docs = [];
for (const u of resolveSources(['moby-dick', 'sotu'])) for await (const d of readDocs(u)) docs.push({ id: `${u.name}-${d.id}-0`, text: d.text, source: u.name });
const FILES = 8;
const taggers = 'gopher_v1,c4_v1,pii_regex_v2,ft_lang_id_en_doc_v2';
for (const [name, checkout] of [['reference', reference], ['this', repo]]) {
  const cli = join(checkout, 'packages/data/dist/bin.js');
  if (!existsSync(cli)) { console.error(`${cli} not found: build that checkout first`); process.exit(2); }
  for (let f = 0; f < FILES; f++) {
    const p = join(root, name, 'documents', `part-${f}.jsonl.gz`);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, gzipSync(docs.filter((_, i) => i % FILES === f).map((d) => JSON.stringify(d)).join('\n') + '\n'));
  }
  execFileSync(process.execPath, [cli, 'tag', '--documents', join(root, name, 'documents'), '--experiment', 'check', '--taggers', taggers, '--processes', processes, '--no-resume', '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`tagged with ${checkout}`);
}
const rc = report(join(root, 'reference', 'attributes'), join(root, 'this', 'attributes'));
if (!keep) rmSync(root, { recursive: true, force: true });
process.exit(rc);
