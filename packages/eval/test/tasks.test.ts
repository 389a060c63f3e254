/**
 * For each task: requests built from real records of ../shared/eval, checked against prompt strings
 * derived by hand from OLMo's doc_to_text / doc_to_continuations, and the continuation token spans.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '@olmo/tokenizer';
import { buildRequests, hellaswagPreprocess, loadTask, type Request, type Task } from '../src/index.js';
import { evalData, hasShared, tokenizerFile } from './helpers.js';

let tok: Tokenizer;
beforeAll(async () => {
  if (hasShared) tok = await Tokenizer.fromFile(tokenizerFile);
});

function reqs(task: Task, limit: number, contextLength = 2048): Request[] {
  return buildRequests(task.instances.slice(0, limit), tok, { contextLength });
}

/** The invariants every request must satisfy (OLMo's prep_examples). */
function checkSpans(r: Request, contextLength = 2048) {
  expect(r.ctx).toEqual(tok.encode(r.ctxText, { addSpecialTokens: false }));
  expect(r.continuation).toEqual(tok.encode(r.contText, { addSpecialTokens: false }));
  expect(r.ctx.includes(tok.eosTokenId)).toBe(false); // no special tokens added
  expect(tok.decode(r.continuation)).toBe(r.contText);
  expect(r.contText.startsWith(' ')).toBe(true);
  // query = ctx + continuation[:-1]; continuation tokens are predicted at positions ctxLen-1 .. ctxLen+contLen-2
  const full = r.ctx.concat(r.continuation.slice(0, -1));
  expect(r.query).toEqual(full.slice(-contextLength));
  expect(r.ctxLen).toBe(r.query.length - r.continuation.length + 1);
  expect(r.query.slice(r.ctxLen)).toEqual(r.continuation.slice(0, -1));
  expect(r.contLen).toBe(r.continuation.length);
  expect(r.contStrLen).toBe(Array.from(r.contText).length - 1);
  expect(r.contByteLen).toBe(Buffer.byteLength(r.contText.slice(1)));
  expect(r.dcQuery).toEqual(r.dc.concat(r.continuation.slice(0, -1)));
}

describe.skipIf(!hasShared)('task prompts from real records', () => {
  it('piqa (OLMo HF Arrow): "Question: GOAL\\nAnswer:" + " SOL"', () => {
    const t = loadTask('piqa', { path: evalData });
    expect(t.source.format).toBe('olmo-hf-arrow');
    expect(t.metric).toBe('len_norm');
    const r = reqs(t, 1);
    expect(r).toHaveLength(2);
    expect(r[0]!.ctxText).toBe("Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:");
    expect(r[0]!.contText).toBe(' Provide the guinea pig with a cage full of a few inches of bedding made of ripped paper strips, you will also need to supply it with a water bottle and a food dish.');
    expect(r[1]!.contText).toBe(' Provide the guinea pig with a cage full of a few inches of bedding made of ripped jeans material, you will also need to supply it with a water bottle and a food dish.');
    expect(r[0]!.label).toBe(0);
    expect(r[0]!.dcText).toBe('Answer:');
    expect(r[0]!.contStrLen).toBe(r[0]!.contText.length - 1);
    // the continuation's first token carries the leading space (GPT-NeoX BPE: " Prov" + "ide")
    expect(tok.decode(r[0]!.continuation.slice(0, 2))).toBe(' Provide');
    expect(tok.decode([r[0]!.continuation[0]!])).toBe(' Prov');
    for (const x of r) checkSpans(x);
  });

  it('piqa: originals and llm-foundry render the same prompts as OLMo\'s Arrow file', () => {
    const a = loadTask('piqa', { path: evalData, limit: 20 });
    const o = loadTask('piqa', { path: path.join(evalData, 'piqa/ybisk-piqa/valid.jsonl'), limit: 20 });
    const f = loadTask('piqa', { path: path.join(evalData, 'piqa/llm-foundry/piqa.jsonl'), limit: 20 });
    expect(o.source.format).toBe('piqa-original');
    expect(o.instances).toEqual(a.instances);
    // llm-foundry strips trailing spaces that OLMo's HF file keeps (e.g. " replace drawer with bobby pin "):
    // one reason to prefer OLMo's files. Otherwise identical.
    const trimEnd = (t: Task) => t.instances.map((i) => ({ ...i, continuations: i.continuations.map((c) => c.trimEnd()) }));
    expect(trimEnd(f)).toEqual(trimEnd(a));
    expect(f.instances[1]!.continuations[0]).toBe(' replace drawer with bobby pin');
    expect(a.instances[1]!.continuations[0]).toBe(' replace drawer with bobby pin ');
  });

  it('hellaswag (6-line text): OLMo preprocessing and ctx_b.capitalize()', () => {
    const t = loadTask('hellaswag', { path: evalData });
    expect(t.source.format).toBe('hellaswag-text');
    const r = reqs(t, 2);
    // OLMo's docstring example: activity "Roof shingle removal", ctx_a "A man is sitting on a roof.", ctx_b "he"
    expect(r[0]!.ctxText).toBe('Roof shingle removal: A man is sitting on a roof. He');
    expect(r.slice(0, 4).map((x) => x.contText)).toEqual([
      ' is using wrap to wrap a pair of skis.', ' is ripping level tiles off.', " is holding a rubik's cube.", ' starts pulling up roofing on a roof.',
    ]);
    expect(r[0]!.label).toBe(3);
    expect(r[0]!.dcText).toBe('He');
    expect(r[4]!.ctxText).toBe('Clean and jerk: A lady walks to a barbell. She bends down and grabs the pole. The lady');
    expect(r[4]!.contText).toBe(' swings and lands in her arms.');
    for (const x of r) checkSpans(x);
  });

  it('hellaswag preprocess and the HF record layout', () => {
    expect(hellaswagPreprocess(' [header] How to cook [title] Get a pan.  [step] Heat it. ')).toBe(' How to cook. Get a pan.  Heat it.'); // Python: strip first, one replace('  ', ' ') pass
    const t = loadTask('hellaswag', { path: path.join(evalData, 'hellaswag/klosax-hellaswag_text_data/hellaswag_val_full.txt'), limit: 1 });
    const inst = t.spec.render({ activity_label: 'Roof shingle removal', ctx_a: 'A man is sitting on a roof.', ctx_b: 'he', endings: ['a [title] b', 'c', 'd', 'e'], label: '3' }, 0);
    expect(inst.contexts).toEqual(t.instances[0]!.contexts);
    expect(inst.continuations[0]).toBe(' a. b');
    // empty ctx_b → the domain conditional is the last word of ctx_a
    expect(t.spec.render({ activity_label: 'X', ctx_a: 'Go to the shop.', ctx_b: '', endings: ['a', 'b'], label: 0 }, 0).domainConditionals).toEqual(['shop.']);
  });

  it('winogrande: partial scoring (one context per option, shared continuation)', () => {
    const t = loadTask('winogrande', { path: evalData });
    expect(t.source.format).toBe('olmo-hf-arrow');
    const r = reqs(t, 1);
    expect(r.map((x) => x.ctxText)).toEqual(['Sarah was a much better surgeon than Maria so Sarah', 'Sarah was a much better surgeon than Maria so Maria']);
    expect(r.map((x) => x.contText)).toEqual([' always got the easier cases.', ' always got the easier cases.']);
    expect(r.map((x) => x.dcText)).toEqual(['Sarah', 'Maria']);
    expect(r[0]!.label).toBe(1); // answer "2"
    expect(r[0]!.continuation).toEqual(r[1]!.continuation);
    for (const x of r) checkSpans(x);
    const f = loadTask('winogrande', { path: path.join(evalData, 'winogrande/llm-foundry/winogrande.jsonl'), limit: 5 });
    expect(f.instances.map((i) => [i.contexts, i.continuations, i.label])).toEqual(t.instances.slice(0, 5).map((i) => [i.contexts, i.continuations, i.label]));
  });

  it('openbook_qa: the question stem alone, dc = its last word', () => {
    const t = loadTask('openbook_qa', { path: evalData });
    expect(t.metric).toBe('len_norm');
    const r = reqs(t, 1);
    expect(r[0]!.ctxText).toBe('Frilled sharks and angler fish live far beneath the surface of the ocean, which is why they are known as');
    expect(r.map((x) => x.contText)).toEqual([' Deep sea animals', ' fish', ' Long Sea Fish', ' Far Sea Animals']);
    expect(r[0]!.dcText).toBe('as');
    expect(r[0]!.label).toBe(0);
    for (const x of r) checkSpans(x);
  });

  it('boolq: "PASSAGE\\nQuestion: Q?\\nAnswer:" → " yes" / " no"; llm-foundry agrees', () => {
    const t = loadTask('boolq', { path: evalData });
    const r = reqs(t, 1);
    expect(r[0]!.ctxText.startsWith('All biomass goes through at least some of these steps')).toBe(true);
    expect(r[0]!.ctxText.endsWith('producing gasoline.\nQuestion: does ethanol take more energy make that produces?\nAnswer:')).toBe(true);
    expect(r.map((x) => x.contText)).toEqual([' yes', ' no']);
    expect(r[0]!.label).toBe(1); // answer false → " no"
    expect(r[0]!.contLen).toBe(1);
    expect(r[0]!.query).toEqual(r[1]!.query); // single-token continuations: identical queries
    for (const x of r) checkSpans(x);
    const f = loadTask('boolq', { path: path.join(evalData, 'boolq/llm-foundry/boolq.jsonl'), limit: 30 });
    expect(f.instances).toEqual(t.instances.slice(0, 30));
  });

  it('sciq: "SUPPORT.strip()\\nQuestion: Q\\nAnswer:", the correct answer is choice 3', () => {
    const t = loadTask('sciq', { path: evalData });
    const r = reqs(t, 1);
    expect(r[0]!.ctxText).toBe('\nQuestion: Who proposed the theory of evolution by natural selection?\nAnswer:');
    expect(r.map((x) => x.contText)).toEqual([' Linnaeus', ' shaw', ' Scopes', ' darwin']);
    expect(r[0]!.label).toBe(3);
    for (const x of r) checkSpans(x);
  });

  it('arc_easy / arc_challenge: "Question: Q\\nAnswer:" and numeric answer keys', () => {
    const e = loadTask('arc_easy', { path: evalData });
    expect(e.metric).toBe('acc');
    const r = reqs(e, 1);
    expect(r[0]!.ctxText).toBe('Question: Which technology was developed most recently?\nAnswer:');
    expect(r.map((x) => x.contText)).toEqual([' cellular telephone', ' television', ' refrigerator', ' airplane']);
    expect(r[0]!.label).toBe(0);
    for (const x of r) checkSpans(x);
    const c = loadTask('arc_challenge', { path: evalData });
    expect(c.metric).toBe('len_norm');
    const rc = reqs(c, 1);
    expect(rc[0]!.ctxText).toBe('Question: Juan and LaKeisha roll a few objects down a ramp. They want to see which object rolls the farthest. What should they do so they can repeat their investigation?\nAnswer:');
    expect(rc[0]!.contText).toBe(' Put the objects in groups.');
    for (const x of rc) checkSpans(x);
    // answerKey "1".."4" maps to A..D
    expect(e.spec.render({ question: 'q', choices: { text: ['a', 'b', 'c'], label: ['1', '2', '3'] }, answerKey: '3' }, 0).label).toBe(2);
    // llm-foundry (test split) converts to the same prompt format
    const f = loadTask('arc_easy', { path: path.join(evalData, 'arc_easy/llm-foundry/arc_easy.jsonl'), limit: 1 });
    expect(f.instances[0]!.contexts[0]).toBe('Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:');
    expect(f.instances[0]!.continuations[0]).toBe(' Sunlight is the source of energy for nearly all ecosystems.');
  });

  it('copa: premise without its period + because/therefore; choices lower-cased first letter', () => {
    const t = loadTask('copa', { path: evalData });
    const r = reqs(t, 1);
    expect(r[0]!.ctxText).toBe('The man turned on the faucet therefore');
    expect(r.map((x) => x.contText)).toEqual([' the toilet filled with water.', ' water flowed from the spout.']);
    expect(r[0]!.dcText).toBe('therefore');
    expect(r[0]!.label).toBe(1);
    for (const x of r) checkSpans(x);
    const cause = t.instances.find((i) => i.domainConditionals[0] === 'because')!;
    expect(cause.contexts[0]!.endsWith(' because')).toBe(true);
    const f = loadTask('copa', { path: path.join(evalData, 'copa/llm-foundry/copa.jsonl') });
    expect(f.instances.map((i) => [i.contexts, i.continuations, i.label])).toEqual(t.instances.map((i) => [i.contexts, i.continuations, i.label]));
  });

  it('lambada: context → " WORD"', () => {
    const t = loadTask('lambada', { path: evalData });
    const r = reqs(t, 1);
    expect(r[0]!.ctxText.endsWith("his mouth curved in a confident grin, I don't care about")).toBe(true);
    expect(r[0]!.contText).toBe(' signs');
    for (const x of r) checkSpans(x);
  });

  it('left-truncates the context to the model length (ctx_len is the truncated length)', () => {
    const t = loadTask('boolq', { path: evalData, limit: 1 });
    const r = buildRequests(t.instances, tok, { contextLength: 16 });
    expect(r[0]!.query).toHaveLength(16);
    expect(r[0]!.ctxLen).toBe(16);
    expect(r[0]!.query).toEqual(r[0]!.ctx.slice(-16));
    checkSpans(r[0]!, 16);
  });
});
