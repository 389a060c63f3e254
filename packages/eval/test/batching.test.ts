/** The batched, context-sharing path gives exactly the scores of scoring one request at a time. */
import { describe, expect, it } from 'vitest';
import { buildRequests, createByteTokenizer, createFakeModel, evaluateTask, loadTask, planRows, scoreSpans, type Span, type Task } from '../src/index.js';
import { evalData, hasShared } from './helpers.js';

const tok = createByteTokenizer();

/** Reference: every span in its own forward pass of exactly its length, log-softmax by hand in float64. */
function naive(model: ReturnType<typeof createFakeModel>, spans: Span[]): number[] {
  return spans.map((s) => {
    let sum = 0;
    for (let k = 0; k < s.targets.length; k++) {
      const row = model.logitsAt(s.input.slice(0, s.start + k + 1));
      let mx = -Infinity;
      for (const x of row) mx = Math.max(mx, x);
      let z = 0;
      for (const x of row) z += Math.exp(x - mx);
      sum += row[s.targets[k]!]! - mx - Math.log(z);
    }
    return sum;
  });
}

describe('scoreSpans', () => {
  it('shares rows between a span and any span that is its prefix, and dedupes identical rows', () => {
    const spans: Span[] = [
      { input: [1, 2, 3, 4], start: 2, targets: [9, 9, 9], group: 0 },
      { input: [1, 2, 3], start: 2, targets: [5, 6], group: 0 },   // prefix of the first row
      { input: [1, 2, 3], start: 2, targets: [7, 8], group: 0 },   // identical input
      { input: [1, 2, 7], start: 2, targets: [5], group: 0 },      // diverges
      { input: [1, 2, 3], start: 2, targets: [5], group: 1 },      // other group, exact duplicate → shared via the hash
    ];
    expect(planRows(spans).length).toBe(2);
    expect(planRows(spans, false).length).toBe(5);
  });

  it('batched + shared == one at a time, for any batch size', async () => {
    const model = createFakeModel({ vocabSize: 50, contextLength: 64, seed: 3 });
    const rnd = (n: number, s: number) => Array.from({ length: n }, (_, i) => (s * 31 + i * 17) % 50);
    const spans: Span[] = [];
    for (let d = 0; d < 12; d++) {
      const ctx = rnd(5 + (d % 7), d);
      for (let c = 0; c < 3; c++) {
        const cont = rnd(1 + ((d + c) % 4), d * 10 + c);
        const input = ctx.concat(cont.slice(0, -1));
        spans.push({ input, start: ctx.length - 1, targets: cont, group: d });
      }
    }
    const ref = naive(model, spans);
    for (const batchSize of [1, 3, 16]) {
      for (const shareContexts of [true, false]) {
        const { scores } = await scoreSpans(model, spans, { batchSize, shareContexts });
        scores.forEach((s, i) => expect(s.sum).toBeCloseTo(ref[i]!, 4));
      }
    }
  });
});

describe.skipIf(!hasShared)('evaluateTask: batched path == one request at a time (real records, fake model)', () => {
  const model = createFakeModel({ vocabSize: 257, contextLength: 512, seed: 11 });
  for (const name of ['piqa', 'hellaswag', 'winogrande', 'boolq', 'copa', 'lambada']) {
    it(name, async () => {
      const task: Task = loadTask(name, { path: evalData, limit: 6 });
      const metric = name === 'lambada' ? 'acc' : 'pmi_dc';
      const a = await evaluateTask(model, tok, task, { batchSize: 32, metric, progress: false });
      const b = await evaluateTask(model, tok, task, { batchSize: 1, shareContexts: false, metric, progress: false });
      expect(a.n).toBe(6);
      expect(a.perExample.map((e) => e.pred)).toEqual(b.perExample.map((e) => e.pred));
      a.perExample.forEach((e, i) => e.ll.forEach((x, j) => expect(x).toBeCloseTo(b.perExample[i]!.ll[j]!, 4)));
      for (const k of Object.keys(b.metrics)) expect(a.metrics[k]).toBeCloseTo(b.metrics[k]!, 6);
      // … and equal to the hand reference for the first document
      const reqs = buildRequests(task.instances.slice(0, 1), tok, { contextLength: 512 });
      const ref = naive(model, reqs.map((r) => ({ input: r.query, start: r.ctxLen - 1, targets: r.continuation })));
      a.perExample[0]!.ll.forEach((x, j) => expect(x).toBeCloseTo(ref[j]!, 4));
      expect(a.stats.forwardCalls).toBeLessThan(b.stats.forwardCalls);
      // the KV-cache (prefix) path gives the same scores
      const cached = createFakeModel({ vocabSize: 257, contextLength: 512, seed: 11, prefixCache: true });
      const c = await evaluateTask(cached, tok, task, { batchSize: 32, metric, progress: false, prefixMinTokens: 1 });
      c.perExample.forEach((e, i) => e.ll.forEach((x, j) => expect(x).toBeCloseTo(b.perExample[i]!.ll[j]!, 4)));
      expect(c.perExample.map((e) => e.greedy)).toEqual(b.perExample.map((e) => e.greedy));
      for (const k of Object.keys(b.metrics)) expect(c.metrics[k]).toBeCloseTo(b.metrics[k]!, 6);
    });
  }
});
