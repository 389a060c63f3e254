#!/usr/bin/env node
/**
 * A/B of the cold `tag` row (bench/data/curation.mjs's goal row: 4 taggers, in-thread, fresh process)
 * against zcat on the same files, alternated round by round so that the load of a shared machine hits
 * every variant alike. Each round: zcat, then each variant in a fresh `node bench/data/tag-cold.mjs`
 * process (order reversed on odd rounds). Reports per variant the median, range and per-round % of
 * zcat's CPU rate, and per round the ratio of each variant's CPU time to the first variant's.
 *   node bench/data/tag-ab.mjs [--rounds 5] --variant 'base:OLMO_GUNZIP_LIBDEFLATE=0' --variant 'ours:'
 *   --variant 'main@/work/main:'   (NAME[@CHECKOUT]:ENV=V,ENV=V — the checkout defaults to this one)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const argv = process.argv.slice(2);
const rounds = Number(argv[argv.indexOf('--rounds') + 1] || 5) || 5;
const variants = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] !== '--variant') continue;
  const spec = argv[i + 1];
  const colon = spec.indexOf(':');
  const [name, root] = spec.slice(0, colon).split('@');
  const env = Object.fromEntries(spec.slice(colon + 1).split(',').filter(Boolean).map((kv) => kv.split('=')));
  variants.push({ name, root: root ?? repo, env, cpu: [], pct: [] });
}
if (variants.length === 0) { console.error('give at least one --variant NAME[@CHECKOUT]:ENV=V,...'); process.exit(2); }
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const coldOf = (v) => {
  const out = execFileSync(process.execPath, [join(here, 'tag-cold.mjs'), v.root], { env: { ...process.env, ...v.env }, encoding: 'utf8' });
  const m = /cold (\d+) ms CPU/.exec(out);
  if (!m) throw new Error(`unexpected tag-cold output: ${out}`);
  return Number(m[1]) / 1000;
};
// the corpus tag-cold.mjs writes on its first run
coldOf(variants[0]);
const dir = join(tmpdir(), 'olmo-tag-cold-corpus', 'documents');
const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl.gz')).map((f) => join(dir, f));
if (!existsSync(files[0])) throw new Error('no corpus');
const zcat = () => {
  const out = execFileSync('bash', ['-c', 'zcat "$@" > /dev/null; times', 'bash', ...files], { encoding: 'utf8' });
  const [, child] = out.trim().split('\n');
  return child.split(/\s+/).map((t) => { const m = /(\d+)m([\d.]+)s/.exec(t); return m ? Number(m[1]) * 60 + Number(m[2]) : 0; }).reduce((a, b) => a + b, 0);
};
console.log(`load before: ${load()}; ${rounds} rounds; variants: ${variants.map((v) => `${v.name} (${v.root}${Object.keys(v.env).length ? ' ' + JSON.stringify(v.env) : ''})`).join(', ')}`);
const zs = [];
for (let r = 0; r < rounds; r++) {
  const z = zcat();
  zs.push(z);
  const order = r % 2 ? [...variants].reverse() : variants;
  for (const v of order) { const c = coldOf(v); v.cpu.push(c); v.pct.push((z / c) * 100); }
  console.log(`round ${r + 1}: zcat ${(z * 1000).toFixed(0)} ms | ${variants.map((v) => `${v.name} ${(v.cpu[r] * 1000).toFixed(0)} ms = ${v.pct[r].toFixed(1)}%`).join(' | ')} | ratio ${variants.slice(1).map((v) => `${v.name}/${variants[0].name} ${(v.cpu[r] / variants[0].cpu[r]).toFixed(3)}`).join(' ')} | load ${load()}`);
}
console.log(`zcat: median ${(median(zs) * 1000).toFixed(0)} ms [${(Math.min(...zs) * 1000).toFixed(0)}, ${(Math.max(...zs) * 1000).toFixed(0)}]`);
for (const v of variants) {
  console.log(`${v.name.padEnd(10)} cold CPU median ${(median(v.cpu) * 1000).toFixed(0)} ms [${(Math.min(...v.cpu) * 1000).toFixed(0)}, ${(Math.max(...v.cpu) * 1000).toFixed(0)}]; % of zcat median ${median(v.pct).toFixed(1)}% [${Math.min(...v.pct).toFixed(1)}, ${Math.max(...v.pct).toFixed(1)}]`);
}
for (const v of variants.slice(1)) {
  const ratios = v.cpu.map((c, i) => c / variants[0].cpu[i]);
  console.log(`${v.name}/${variants[0].name} CPU ratio per round: ${ratios.map((x) => x.toFixed(3)).join(' ')} → median ${median(ratios).toFixed(3)}`);
}
console.log(`load after: ${load()}`);
