// Sharding over ranks: tag/mix by files, dedupe by key hash (rank 0 merges). Same outputs as one process,
// in-process (ranks run concurrently here) and under a real `mpirun -np 2/3` when it is available.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runDedupe } from '../../src/curation/dedupe.js';
import { runMix } from '../../src/curation/mix.js';
import { runTag } from '../../src/curation/tag.js';
import { readText, tmp, writeDocs } from './helpers.js';

function corpus(root: string): void {
  for (let k = 0; k < 5; k++) {
    writeDocs(root, `p${k}.jsonl.gz`, Array.from({ length: 40 }, (_, i) => ({
      id: `${k}-${i}`,
      text: `Shared line ${i % 9}.\nUnique line ${k}-${i} here.\n\nAnother shared ${(i * 7) % 5}\nmail a${i % 4}@example.com now`,
    })));
  }
}
const out = (root: string, rel: string) => readText(path.join(root, rel));
const dd = (root: string, share?: { rank: number; worldSize: number }) => runDedupe({
  documents: [path.join(root, 'documents')], name: 'pd', paragraphs: { attributeName: 'bff_duplicate_paragraph_spans' },
  bloom: { file: path.join(root, 'pd.bloom'), expectedItems: 100_000, falsePositiveRate: 1e-9 }, quiet: true, share,
});
const ddDocs = (root: string, share?: { rank: number; worldSize: number }) => runDedupe({
  documents: [path.join(root, 'documents')], name: 'dk', documentKey: { attributeName: 'dup', key: '$.text' },
  bloom: { file: path.join(root, 'dk.bloom'), expectedItems: 100_000, falsePositiveRate: 1e-9 }, quiet: true, share,
});

describe('ranks (in-process)', () => {
  for (const W of [2, 3]) {
    it(`dedupe (paragraphs and documents) with ${W} partitions = one process`, async () => {
      const one = tmp(); const many = tmp();
      corpus(one); corpus(many);
      await dd(one); await ddDocs(one);
      await Promise.all(Array.from({ length: W }, (_, rank) => dd(many, { rank, worldSize: W })));
      await Promise.all(Array.from({ length: W }, (_, rank) => ddDocs(many, { rank, worldSize: W })));
      for (let k = 0; k < 5; k++) {
        expect(out(many, `attributes/pd/p${k}.jsonl.gz`)).toBe(out(one, `attributes/pd/p${k}.jsonl.gz`));
        expect(out(many, `attributes/dk/p${k}.jsonl.gz`)).toBe(out(one, `attributes/dk/p${k}.jsonl.gz`));
      }
      expect(existsSync(path.join(many, 'attributes/pd/.partitions'))).toBe(false);
      expect(out(one, 'attributes/pd/p1.jsonl.gz')).toContain('[0,15,1]'); // "Shared line 0.\n" repeats: the corpus does have duplicates
    });
    it(`tag and mix split by files/shards over ${W} ranks = one process`, async () => {
      const one = tmp(); const many = tmp();
      corpus(one); corpus(many);
      const tag = (root: string, share?: { rank: number; worldSize: number }) => runTag({ documents: [path.join(root, 'documents')], experiment: 'e', taggers: ['pii_regex_v2', 'c4_v1'], quiet: true, share });
      await tag(one);
      for (let rank = 0; rank < W; rank++) await tag(many, { rank, worldSize: W });
      const stream = (root: string) => [{ name: 's', documents: [path.join(root, 'documents')], attributes: ['e'], spanReplacement: [{ span: '$.attributes.e__pii_regex_v2__EMAIL_ADDRESS', replacement: '|||EMAIL_ADDRESS|||' }], output: { path: path.join(root, 'out'), maxSizeInBytes: 1 } }];
      await runMix(stream(one), { quiet: true });
      for (let rank = 0; rank < W; rank++) await runMix(stream(many), { quiet: true, share: { rank, worldSize: W } });
      for (let k = 0; k < 5; k++) {
        expect(out(many, `attributes/e/p${k}.jsonl.gz`)).toBe(out(one, `attributes/e/p${k}.jsonl.gz`));
        expect(out(many, `out/s-000${k}.jsonl.gz`)).toBe(out(one, `out/s-000${k}.jsonl.gz`));
      }
    });
  }
});

const bin = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !hasMpirun ? 'mpirun not found' : !existsSync(bin) ? 'packages/data/dist not built (npx tsc -p packages/data/tsconfig.json)' : '';
if (skip) console.warn(`[curation] mpirun test SKIPPED: ${skip}`);
describe.skipIf(!!skip)('under mpirun', () => {
  it('mpirun -np 3 olmo-data dedupe / tag = one process', () => {
    const one = tmp(); const many = tmp();
    corpus(one); corpus(many);
    const args = (root: string) => ['dedupe', '--documents', path.join(root, 'documents'), '--name', 'pd', '--paragraphs', '--bloom-file', path.join(root, 'pd.bloom'), '--expected-items', '100000', '--false-positive-rate', '1e-9', '--quiet'];
    const tagArgs = (root: string) => ['tag', '--documents', path.join(root, 'documents'), '--experiment', 'e', '--taggers', 'pii_regex_v2,c4_v1', '--quiet'];
    for (const a of [args(one), tagArgs(one)]) expect(spawnSync(process.execPath, [bin, ...a], { encoding: 'utf8' }).status).toBe(0);
    for (const a of [args(many), tagArgs(many)]) {
      const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', '3', process.execPath, bin, ...a], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
    }
    for (let k = 0; k < 5; k++) {
      expect(out(many, `attributes/pd/p${k}.jsonl.gz`)).toBe(out(one, `attributes/pd/p${k}.jsonl.gz`));
      expect(readFileSync(path.join(many, `attributes/e/p${k}.jsonl.gz`)).length).toBeGreaterThan(0);
      expect(out(many, `attributes/e/p${k}.jsonl.gz`)).toBe(out(one, `attributes/e/p${k}.jsonl.gz`));
    }
  });
});
