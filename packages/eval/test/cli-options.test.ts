/**
 * `olmo eval` options through runEvalCli (fake model injected): `--tasks all`, `--pmi-dc` and
 * `--data task=PATH`. Assertions are on exit codes and the JSON report, not on message wording.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createByteTokenizer, createFakeModel, runEvalCli, type TaskResult } from '../src/index.js';
import { evalData, hasShared } from './helpers.js';

const model = createFakeModel({ vocabSize: 257, contextLength: 256, seed: 2 });
const tok = createByteTokenizer();
const io = (err: string[]) => ({
  stdout: () => {},
  stderr: (s: string) => void err.push(s),
  loadModel: async () => model,
  loadTokenizer: async () => tok,
});

async function evalJson(args: string[]): Promise<{ code: number; err: string; tasks: TaskResult[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'olmo-eval-opts-'));
  const json = path.join(dir, 'results.json');
  const err: string[] = [];
  const code = await runEvalCli(['eval', '--model', 'ckpt', '--no-progress', '--out', json, ...args], io(err));
  const tasks = code === 0 ? (JSON.parse(readFileSync(json, 'utf8')) as { tasks: TaskResult[] }).tasks : [];
  return { code, err: err.join(''), tasks };
}

/** The index of the first maximum (torch.argmax, as OLMo's ICLMetric picks a prediction). */
const argmax = (xs: number[]) => xs.reduce((best, x, i) => (x > xs[best]! ? i : best), 0);

describe.skipIf(!hasShared)('olmo eval options on the real evaluation sets', () => {
  it('--tasks all runs every downstream task OLMo evaluates, each on its own data', async () => {
    const r = await evalJson(['--tasks', 'all', '--data', evalData, '--limit', '2']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // The ten sets in ../shared/eval (one folder each); openbookqa's task name is openbook_qa.
    expect(r.tasks.map((t) => t.task).sort()).toEqual(
      ['arc_challenge', 'arc_easy', 'boolq', 'copa', 'hellaswag', 'lambada', 'openbook_qa', 'piqa', 'sciq', 'winogrande'].sort());
    for (const t of r.tasks) {
      expect(t.n, t.task).toBe(2);
      expect(t.source!.path, t.task).toContain(path.join(evalData, t.task === 'openbook_qa' ? 'openbookqa' : t.task) + path.sep);
      expect(Number.isFinite(t.score), t.task).toBe(true);
    }
  }, 300_000);

  it('--pmi-dc adds the pmi_dc metric: per choice ll / dc-ll, prediction = argmax, score = accuracy of those predictions', async () => {
    const plain = await evalJson(['--tasks', 'piqa,arc_easy', '--data', evalData, '--limit', '12']);
    const dc = await evalJson(['--tasks', 'piqa,arc_easy', '--data', evalData, '--limit', '12', '--pmi-dc']);
    expect(plain.code).toBe(0);
    expect(dc.code).toBe(0);
    for (const [i, t] of dc.tasks.entries()) {
      const p = plain.tasks[i]!;
      expect(p.metrics.pmi_dc, `${t.task} without --pmi-dc`).toBeUndefined();
      expect(p.perExample[0]!.pmiDc).toBeUndefined();
      // The other metrics come from the same forward passes and do not change.
      expect(t.metrics.acc).toBe(p.metrics.acc);
      expect(t.metrics.len_norm).toBe(p.metrics.len_norm);
      expect(t.perExample.map((e) => e.ll)).toEqual(p.perExample.map((e) => e.ll));
      // pmi_dc recomputed from the per-example records.
      let correct = 0;
      for (const e of t.perExample) {
        expect(e.pmiDc, `${t.task} doc ${e.docId}`).toHaveLength(e.ll.length);
        // OLMo's pmi_dc value is ll / ll_dc with both log-likelihoods negative → a positive ratio.
        for (const v of e.pmiDc!) expect(v).toBeGreaterThan(0);
        if (argmax(e.pmiDc!) === e.gold) correct++;
      }
      expect(t.metrics.pmi_dc, t.task).toBeCloseTo(correct / t.perExample.length, 12);
      // The dc prompt changes the ranking somewhere (otherwise the test could not tell pmi_dc from acc).
      expect(t.perExample.some((e) => argmax(e.pmiDc!) !== argmax(e.ll)), t.task).toBe(true);
    }
  });

  it('--data task=PATH pins one task\'s file; the other tasks use the folder', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'olmo-eval-pin-'));
    const custom = path.join(dir, 'my-piqa.jsonl');
    // Three PIQA records in llm-foundry's format, written here (golds 1, 0, 1).
    const recs = [
      { query: 'Question: How do you open a jar?\n', choices: ['Hit it with a feather.', 'Twist the lid counter-clockwise.'], gold: 1 },
      { query: 'Question: How do you dry wet hands?\n', choices: ['Rub them with a towel.', 'Dip them in a lake.'], gold: 0 },
      { query: 'Question: How do you cool hot soup?\n', choices: ['Put it in the oven.', 'Let it stand for a few minutes.'], gold: 1 },
    ];
    writeFileSync(custom, recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = await evalJson(['--tasks', 'piqa,copa', '--data', `piqa=${custom}`, '--data', evalData, '--limit', '5']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const [piqa, copa] = r.tasks;
    expect(piqa!.source?.path).toBe(custom);
    expect(piqa!.n).toBe(3);
    expect(piqa!.perExample.map((e) => e.gold)).toEqual([1, 0, 1]);
    expect(copa!.source?.path.startsWith(evalData)).toBe(true);
    expect(copa!.n).toBe(5);
    // A pinned path that does not exist fails before any compute (exit code 1: NOT_FOUND).
    const bad = await evalJson(['--tasks', 'piqa', '--data', `piqa=${path.join(dir, 'missing.jsonl')}`, '--data', evalData]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('NOT_FOUND');
  });
});
