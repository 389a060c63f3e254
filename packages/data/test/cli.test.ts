import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { globalBatch, globalIndices, loadRunConfig, MemMapDataset, parseRunConfig, readNpy, runDataCli } from '../src/index.js';

const repoRoot = path.resolve(__dirname, '../../..');
const tokFile = path.resolve(repoRoot, '../shared/tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json');
const haveTok = existsSync(tokFile);
if (!haveTok) console.warn(`[data] ${tokFile} not found: skipping the CLI prepare/inspect test`);

const root = mkdtempSync(path.join(tmpdir(), 'olmo-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDataCli(argv, { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) });
  return { code, out: out.join(''), err: err.join('') };
}

describe('olmo data CLI', () => {
  it('order writes a real .npy equal to globalIndices', async () => {
    const file = path.join(root, 'order', 'global_indices.npy');
    const r = await run(['order', '--num-instances', '1001', '--seed', '42', '--world-size', '4', '--out', file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('56bea7330d373d2deb9687f33ed83df8ed3787f835035aa081bebf4e3691a12e');
    const { data } = readNpy(file);
    expect(data).toEqual(globalIndices({ numInstances: 1001, seed: 42, worldSize: 4 }));
  });

  it('usage errors return 2, data errors return 1 with the code', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['bogus'])).code).toBe(2);
    expect((await run(['order', '--seed', '1', '--out', path.join(root, 'x.npy')])).code).toBe(2);
    const r = await run(['inspect', '--config', path.join(root, 'nope.yaml'), '--step', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^olmo: error NOT_FOUND: .*nope\.yaml.*\nhint: /);
    // steps are 1-based, as the training log numbers them: there is no step 0
    const z = await run(['inspect', '--config', path.join(root, 'nope.yaml'), '--step', '0']);
    expect(z.code).toBe(2);
    expect(z.err).toMatch(/olmo: error INVALID_ARGUMENT: --step must be >= 1/);
  });

  it.skipIf(!haveTok)('prepare → inspect prints exactly the instances the loader yields at that step', async () => {
    const out = path.join(root, 'data');
    const p = await run(['prepare', '--tokenizer', tokFile, '--out', out, '--quiet', '--threads', '1', 'moby-dick']);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(/documents 1\d\d/);
    const cfgFile = path.join(root, 'run.yaml');
    writeFileSync(cfgFile, [
      'seed: 6198', 'global_train_batch_size: 8', 'model:', '  max_sequence_length: 256',
      'tokenizer:', `  identifier: ${tokFile}`, 'data:', '  drop_last: true', '  paths:', `    - ${out}`, '',
    ].join('\n'));
    const r = await run(['inspect', '--config', cfgFile, '--step', '4', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { step: number; batchIndex: number; globalIndicesRange: number[]; instances: { globalIndex: number; source: string; docIds: number[]; text: string }[] };
    expect([j.step, j.batchIndex, j.globalIndicesRange]).toEqual([4, 3, [24, 32]]);
    // Independently: config → dataset → order → batch 3 (= training step 4, 1-based).
    const cfg = loadRunConfig(cfgFile);
    const ds = MemMapDataset.openSync(cfg.paths, { seqLen: 256, dtype: 'uint16' });
    const batch = globalBatch(globalIndices({ numInstances: ds.length, seed: 6198, dropLast: true }), 3, 8);
    expect(j.instances.map((x) => x.globalIndex)).toEqual(Array.from(batch));
    const { Tokenizer } = await import('@olmo/tokenizer');
    const tok = await Tokenizer.fromFile(tokFile);
    for (let k = 0; k < 8; k++) {
      const inst = ds.get(batch[k]!);
      expect(j.instances[k]!.source).toBe(inst.source);
      expect(j.instances[k]!.docIds).toEqual(inst.docIds);
      expect(j.instances[k]!.text).toBe(tok.decode(inst.inputIds));
    }
    // Rank view: rank 1 of 2 gets positions 1, 3, 5, 7.
    const cfgNoTok = path.join(root, 'run-notok.yaml');
    writeFileSync(cfgNoTok, ['seed: 6198', 'global_train_batch_size: 8', 'model:', '  max_sequence_length: 256', 'data:', '  drop_last: true', '  paths:', `    - ${out}`, ''].join('\n'));
    const r1 = await run(['inspect', '--config', cfgNoTok, '--step', '4', '--rank', '1', '--world-size', '2', '--json']);
    const j1 = JSON.parse(r1.out) as { instances: { position: number }[] };
    expect(j1.instances.map((x) => x.position)).toEqual([1, 3, 5, 7]);
    // Past the end of an epoch, steps continue in the next epoch (seed + 1), as in the trainer.
    const per = Math.floor(globalIndices({ numInstances: ds.length, seed: 6198, dropLast: true }).length / 8);
    const re = await run(['inspect', '--config', cfgNoTok, '--step', String(per + 2), '--json']); // batch per + 1
    const je = JSON.parse(re.out) as { epoch: number; instances: { globalIndex: number }[] };
    expect(je.epoch).toBe(1);
    expect(je.instances.map((x) => x.globalIndex)).toEqual(Array.from(globalBatch(globalIndices({ numInstances: ds.length, seed: 6198, epoch: 1, dropLast: true }), 1, 8)));
    // Human-readable output.
    const h = await run(['inspect', '--config', cfgFile, '--step', '1', '--max-chars', '60']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^step 1 \(global batch 0\): global indices\[0:8\]/);
    expect(h.out).toMatch(/global index \d+/);
    expect(h.out).toMatch(/docs \d+/);
    expect(h.out).toMatch(/text "/);
  });
});

describe('run configs written by the trainer', () => {
  it('treats `data.mix: null` (as in a resolved trainer config) as "no mix"', () => {
    const cfg = parseRunConfig('seed: 3\nglobal_train_batch_size: 4\nmodel: {max_sequence_length: 8}\ndata: {paths: [a.npy], mix: null, memmap_dtype: uint16}\n');
    expect(cfg.mix).toBeUndefined();
    expect(cfg.paths.map((p) => path.basename(p))).toEqual(['a.npy']);
  });
});
