import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OlmoError } from '@olmo/tensor-cuda';
import { createByteTokenizer, createEvaluators, createFakeModel, evaluatePerplexity, evaluateTask, loadTask, scoreSpans } from '../src/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'olmo-eval-err-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OlmoError);
    return (e as OlmoError).code;
  }
  throw new Error('did not throw');
}
async function codeAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OlmoError);
    return (e as OlmoError).code;
  }
  throw new Error('did not throw');
}

describe('bad input → typed errors', () => {
  it('unknown task → CONFIG_INVALID', () => {
    expect(code(() => loadTask('mmlu_everything', { path: dir }))).toBe('CONFIG_INVALID');
    expect(code(() => createEvaluators([{ label: 'nope', type: 'downstream' }], { tokenizer: createByteTokenizer() }))).toBe('CONFIG_INVALID');
    expect(code(() => createEvaluators([{ label: 'x', type: 'lm' }], { tokenizer: createByteTokenizer() }))).toBe('CONFIG_INVALID');
  });
  it('missing data → NOT_FOUND / CONFIG_INVALID', () => {
    expect(code(() => loadTask('piqa', { path: path.join(dir, 'nope') }))).toBe('NOT_FOUND');
    expect(code(() => loadTask('piqa', { path: dir }))).toBe('NOT_FOUND');
  });
  it('malformed records → DATA_CORRUPT', () => {
    expect(code(() => loadTask('piqa', { path: file('bad.jsonl', '{"goal": "g", "sol1": "a"\n') }))).toBe('DATA_CORRUPT');
    expect(code(() => loadTask('piqa', { path: file('bad2.jsonl', '{"goal": "g", "sol1": "a", "sol2": 3, "label": 0}\n') }))).toBe('DATA_CORRUPT');
    expect(code(() => loadTask('piqa', { path: file('bad3.jsonl', '{"goal": "g", "sol1": "a", "sol2": "b", "label": 5}\n') }))).toBe('DATA_CORRUPT');
    expect(code(() => loadTask('copa', { path: file('bad4.jsonl', '{"text": "hello"}\n') }))).toBe('DATA_CORRUPT');
    expect(code(() => loadTask('winogrande', { path: file('bad5.jsonl', '{"sentence": "no blank", "option1": "a", "option2": "b", "answer": "1"}\n') }))).toBe('DATA_CORRUPT');
    expect(code(() => loadTask('hellaswag', { path: file('hs.txt', 'a: b\n3\nx\ny\n') }))).toBe('DATA_CORRUPT');
    expect(code(() => loadTask('arc_easy', { path: file('x.arrow', 'not arrow at all') }))).toBe('DATA_CORRUPT');
    expect(code(() => loadTask('boolq', { path: file('empty.jsonl', '\n') }))).toBe('DATA_CORRUPT');
  });
  it('tokenizer / model vocabulary mismatch → CONFIG_INVALID', async () => {
    const small = createFakeModel({ vocabSize: 100, contextLength: 64 });
    const task = loadTask('piqa', { path: file('ok.jsonl', '{"goal": "g", "sol1": "a", "sol2": "b", "label": 0}\n') });
    expect(await codeAsync(() => evaluateTask(small, createByteTokenizer(), task))).toBe('CONFIG_INVALID');
    expect(await codeAsync(() => evaluatePerplexity(small, createByteTokenizer(), ['hello world'], { seqLen: 8 }))).toBe('CONFIG_INVALID');
    // a token id outside the logits (tokenizer reports no vocab size)
    const tok = { ...createByteTokenizer(), vocabSize: undefined, eosTokenId: 0 };
    expect(await codeAsync(() => evaluateTask(small, tok, task))).toBe('CONFIG_INVALID');
  });
  it('model returning the wrong logits shape → CONFIG_INVALID; bad spans → INVALID_ARGUMENT', async () => {
    const bad = { vocabSize: 10, contextLength: 8, forward: (ids: number[][]) => ({ logits: { shape: [ids.length, 1, 10], toFloat32Array: () => new Float32Array(10 * ids.length), dispose() {} } }) };
    expect(await codeAsync(() => scoreSpans(bad, [{ input: [1, 2], start: 1, targets: [3] }]))).toBe('CONFIG_INVALID');
    const m = createFakeModel({ vocabSize: 10, contextLength: 4 });
    expect(await codeAsync(() => scoreSpans(m, [{ input: [1, 2, 3, 4, 5], start: 1, targets: [3] }]))).toBe('INVALID_ARGUMENT');
    expect(await codeAsync(() => scoreSpans(m, [{ input: [1, 2], start: 1, targets: [] }]))).toBe('INVALID_ARGUMENT');
    expect(await codeAsync(() => evaluatePerplexity(m, createByteTokenizer(), ['x'], { seqLen: 1 }))).toBe('INVALID_ARGUMENT');
  });
  it('a model object without forward → CONFIG_INVALID', async () => {
    const task = loadTask('piqa', { path: path.join(dir, 'ok.jsonl') });
    expect(await codeAsync(() => evaluateTask({ config: {} }, createByteTokenizer(), task))).toBe('CONFIG_INVALID');
  });
});

describe('continuations longer than the context', () => {
  it('buildRequests throws DATA_CORRUPT by default; evaluateTask skips the document and reports it', async () => {
    const { buildRequests } = await import('../src/index.js');
    const tok = createByteTokenizer();
    const long = 'x'.repeat(40);
    const task = loadTask('piqa', { path: file('long.jsonl', `{"goal": "g", "sol1": "${long}", "sol2": "b", "label": 0}\n{"goal": "g", "sol1": "a", "sol2": "b", "label": 1}\n`) });
    expect(code(() => buildRequests(task.instances, tok, { contextLength: 16 }))).toBe('DATA_CORRUPT');
    const r = await evaluateTask(createFakeModel({ vocabSize: 257, contextLength: 16 }), tok, task, { progress: false });
    expect(r.skipped).toEqual([0]);
    expect(r.n).toBe(1);
  });
});
