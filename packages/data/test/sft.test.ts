/**
 * SFT / DPO data: label masks (Open Instruct's prefix-length algorithm), truncation, skips with
 * counts, packing and padding. A character-level tokenizer over the real OLMo-2 chat template
 * makes every expected label derivable by hand: the labelled characters must be exactly each
 * assistant reply followed by its end-of-turn token.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OLMO2_CHAT_TEMPLATE, renderChatTemplate, type ChatMessage } from '@olmo/tokenizer';
import {
  IGNORE_INDEX, OlmoError, encodeDpoPairs, encodeSftDataset, encodeSftExample, packSft, padSft, readDpoJsonl, readSftJsonl,
  type ChatTokenizer, type SftExample,
} from '../src/index.js';

const EOT = '<|endoftext|>';
const charTok: ChatTokenizer = {
  applyChatTemplate: (m, o) => [...renderChatTemplate(OLMO2_CHAT_TEMPLATE, m, { addGenerationPrompt: o?.addGenerationPrompt, specialTokens: { bos_token: EOT, eos_token: EOT } })].map((c) => c.codePointAt(0)!),
  padTokenId: 0,
};
const text = (ids: number[]) => String.fromCodePoint(...ids);
const labelled = (ex: SftExample) => text(ex.labels.filter((l) => l !== IGNORE_INDEX));
const sys = (content: string): ChatMessage => ({ role: 'system', content });
const user = (content: string): ChatMessage => ({ role: 'user', content });
const asst = (content: string): ChatMessage => ({ role: 'assistant', content });
const conv = [sys('Be brief.'), user('Hi'), asst('Hello!'), user('Capital of France?'), asst('Paris.')];

describe('encodeSftExample', () => {
  it('labels exactly the assistant replies and their end-of-turn token', () => {
    const r = encodeSftExample(charTok, conv, { maxLength: 1000 });
    if ('skip' in r) throw new Error('skipped');
    expect(text(r.example.inputIds)).toBe(`${EOT}<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\nHello!${EOT}\n<|user|>\nCapital of France?\n<|assistant|>\nParis.${EOT}`);
    expect(labelled(r.example)).toBe(`Hello!${EOT}Paris.${EOT}`);
    // labels equal the ids wherever they are set
    r.example.labels.forEach((l, i) => { if (l !== IGNORE_INDEX) expect(l).toBe(r.example.inputIds[i]); });
    expect(r.truncated).toBe(false);
  });

  it('truncates at maxLength (keeping the labels of what is left) or skips when asked', () => {
    const full = charTok.applyChatTemplate(conv).length;
    const cut = full - `aris.${EOT}`.length; // cuts inside the second reply
    const r = encodeSftExample(charTok, conv, { maxLength: cut });
    if ('skip' in r) throw new Error('skipped');
    expect(r.truncated).toBe(true);
    expect(r.example.inputIds.length).toBe(cut);
    expect(labelled(r.example)).toBe(`Hello!${EOT}P`);
    expect(encodeSftExample(charTok, conv, { maxLength: cut, overLength: 'skip' })).toEqual({ skip: 'overLength' });
    // cut before any reply: nothing left to learn
    expect(encodeSftExample(charTok, conv, { maxLength: 20 })).toEqual({ skip: 'noLabels' });
  });

  it('skips empty assistant turns and conversations without one; unknown roles throw', () => {
    const { examples, stats } = encodeSftDataset(charTok, [conv, [user('q'), asst('  ')], [user('q')], conv], { maxLength: 1000 });
    expect(examples.length).toBe(2);
    expect(stats).toMatchObject({ read: 4, kept: 2, truncated: 0, skipped: { emptyAssistant: 1, noAssistant: 1, overLength: 0, noLabels: 0 } });
    expect(() => encodeSftExample(charTok, [{ role: 'robot', content: 'x' } as unknown as ChatMessage, asst('y')], { maxLength: 100 })).toThrow(OlmoError);
  });
});

describe('packSft / padSft', () => {
  const exs = [[user('a'), asst('b')], [user('cc'), asst('dd')], [user('e'), asst('f')]].map((c) => {
    const r = encodeSftExample(charTok, c, { maxLength: 100 });
    if ('skip' in r) throw new Error('skip');
    return r.example;
  });
  const len = exs.map((e) => e.inputIds.length);

  it('packs in order, one document id per example, padding as document -1 with label -100', () => {
    const seq = len[0]! + len[1]! + 3; // the third example does not fit in the first row
    const rows = packSft(exs, seq, 0);
    expect(rows.examplesPerRow).toEqual([2, 1]);
    expect(rows.inputIds[0]).toEqual([...exs[0]!.inputIds, ...exs[1]!.inputIds, 0, 0, 0]);
    expect(rows.documentIds[0]).toEqual([...Array(len[0]).fill(0), ...Array(len[1]).fill(1), -1, -1, -1]);
    expect(rows.labels[0]).toEqual([...exs[0]!.labels, ...exs[1]!.labels, -100, -100, -100]);
    expect(rows.labels[0]![len[0]!]).toBe(IGNORE_INDEX); // first label of a packed example
    expect(rows.inputIds[1]!.length).toBe(seq);
    expect(() => packSft(exs, 5, 0)).toThrow(OlmoError);
  });

  it('pads one example per row', () => {
    const rows = padSft(exs, 7);
    const T = Math.max(...len);
    expect(rows.inputIds.map((r) => r.length)).toEqual([T, T, T]);
    expect(rows.inputIds[0]!.slice(len[0])).toEqual(Array(T - len[0]!).fill(7));
    expect(rows.labels[0]!.slice(len[0])).toEqual(Array(T - len[0]!).fill(-100));
  });
});

describe('DPO pairs', () => {
  it('string and message-list forms; only the response is labelled; identical pairs skipped and counted', () => {
    const { pairs, stats } = encodeDpoPairs(charTok, [
      { prompt: 'Who won?', chosen: 'Lincoln.', rejected: 'Polk.' },
      { prompt: [user('Who won?')], chosen: [user('Who won?'), asst('Lincoln.')], rejected: [asst('Polk.')] },
      { prompt: 'Same?', chosen: 'Yes.', rejected: 'Yes.' },
    ], { maxLength: 200 });
    expect(stats).toMatchObject({ read: 3, kept: 2, skipped: { identicalPair: 1 } });
    expect(pairs[0]).toEqual(pairs[1]);
    expect(labelled(pairs[0]!.chosen)).toBe(`Lincoln.${EOT}`);
    expect(labelled(pairs[0]!.rejected)).toBe(`Polk.${EOT}`);
  });

  it('multi-turn prompts: earlier assistant turns are not scored', () => {
    const { pairs } = encodeDpoPairs(charTok, [{ prompt: [user('a'), asst('b'), user('c')], chosen: 'good', rejected: 'bad' }], { maxLength: 200 });
    expect(labelled(pairs[0]!.chosen)).toBe(`good${EOT}`);
  });
});

describe('jsonl readers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'olmo-sft-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('reads messages / preference lines; malformed lines and unknown roles name the line', async () => {
    const f = join(dir, 'sft.jsonl');
    writeFileSync(f, [JSON.stringify({ messages: conv }), '', JSON.stringify({ messages: [user('x'), asst('')] })].join('\n'));
    const { examples, stats } = await readSftJsonl(f, charTok, { maxLength: 1000 });
    expect(examples.length).toBe(1);
    expect(stats.skipped.emptyAssistant).toBe(1);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify({ messages: conv })}\n${JSON.stringify({ messages: [{ role: 'narrator', content: 'x' }] })}\n`);
    await expect(readSftJsonl(bad, charTok, { maxLength: 1000 })).rejects.toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('line 2') });
    writeFileSync(bad, '{"messages": [\n');
    await expect(readSftJsonl(bad, charTok, { maxLength: 1000 })).rejects.toMatchObject({ code: 'DATA_CORRUPT' });
    const d = join(dir, 'dpo.jsonl');
    writeFileSync(d, `${JSON.stringify({ prompt: 'q', chosen: 'a', rejected: 'b' })}\n${JSON.stringify({ prompt: 'q', chosen: 3, rejected: 'b' })}\n`);
    await expect(readDpoJsonl(d, charTok, { maxLength: 100 })).rejects.toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('line 2') });
  });
});

describe('a chat template that fails to render', () => {
  // a strict template (as Llama-2's): raise_exception unless roles alternate user/assistant
  const STRICT = "{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant') }}{% endif %}{{ m['role'] + ': ' + m['content'] + eos_token }}{% endfor %}";
  const strictTok: ChatTokenizer = {
    applyChatTemplate: (m, o) => [...renderChatTemplate(STRICT, m, { addGenerationPrompt: o?.addGenerationPrompt, specialTokens: { eos_token: EOT } })].map((c) => c.codePointAt(0)!),
    padTokenId: 0,
  };
  const dir = mkdtempSync(join(tmpdir(), 'olmo-sft-tpl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('SFT and DPO jsonl: CHAT_TEMPLATE_ERROR naming the file and line, nothing returned', async () => {
    const f = join(dir, 'sft.jsonl');
    writeFileSync(f, `${JSON.stringify({ messages: [user('q'), asst('a')] })}\n\n${JSON.stringify({ messages: [user('q'), user('again'), asst('a')] })}\n`);
    await expect(readSftJsonl(f, strictTok, { maxLength: 1000 })).rejects.toMatchObject({ code: 'CHAT_TEMPLATE_ERROR', message: expect.stringMatching(/sft\.jsonl line 3: .*roles must alternate/) });
    const d = join(dir, 'dpo.jsonl');
    writeFileSync(d, `${JSON.stringify({ prompt: 'q', chosen: 'a', rejected: 'b' })}\n${JSON.stringify({ prompt: [user('q'), user('q2')], chosen: 'a', rejected: 'b' })}\n`);
    await expect(readDpoJsonl(d, strictTok, { maxLength: 1000 })).rejects.toMatchObject({ code: 'CHAT_TEMPLATE_ERROR', message: expect.stringContaining('dpo.jsonl line 2') });
  });
});
