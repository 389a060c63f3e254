/**
 * DPO preference data: `{"prompt", "chosen", "rejected"}` → two SFT-encoded sequences per pair.
 *
 * Accepted shapes (as Open Instruct / HF UltraFeedback-style data):
 *   prompt:   a string (one user turn) or a message list;
 *   chosen / rejected: a string (the assistant reply to the prompt), a message list that starts
 *     with the prompt messages (the full conversation, Tulu 3 format), or a message list of the
 *     response turns only (appended to the prompt).
 * Each side is encoded like SFT (labels only on assistant turns; the prompt's are masked when the
 * prompt holds assistant turns too — only the response turns are scored), so a sequence's
 * log-probability is the sum over its labelled tokens. Pairs whose chosen and rejected responses
 * are identical are skipped (they carry no preference) and counted.
 */
import type { ChatMessage } from '@olmo/tokenizer';
import { validateMessages } from '@olmo/tokenizer';
import { DataError, badArg } from './errors.js';
import { atLine, encodeSftExample, IGNORE_INDEX, readJsonl, type ChatTokenizer, type SftEncodeOptions, type SftExample, type SftSkipReason } from './sft.js';

export interface DpoPairInput {
  prompt: string | ChatMessage[];
  chosen: string | ChatMessage[];
  rejected: string | ChatMessage[];
}

export interface DpoPair {
  chosen: SftExample;
  rejected: SftExample;
}

export interface DpoStats {
  read: number;
  kept: number;
  truncated: number;
  skipped: Record<SftSkipReason | 'identicalPair', number>;
}

function asConversation(prompt: ChatMessage[], side: string | ChatMessage[], what: string): ChatMessage[] {
  if (typeof side === 'string') return [...prompt, { role: 'assistant', content: side }];
  const msgs = validateMessages(side, what);
  const startsWithPrompt = prompt.length <= msgs.length && prompt.every((m, i) => msgs[i]!.role === m.role && msgs[i]!.content === m.content);
  return startsWithPrompt ? msgs : [...prompt, ...msgs];
}

/** Normalises one pair to two full conversations (validated). */
export function dpoConversations(pair: DpoPairInput, where = 'pair'): { prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[] } {
  if (!pair || typeof pair !== 'object') throw badArg(`${where} must be an object with prompt, chosen, rejected`);
  const prompt = typeof pair.prompt === 'string' ? [{ role: 'user' as const, content: pair.prompt }] : validateMessages(pair.prompt, `${where}.prompt`);
  for (const k of ['chosen', 'rejected'] as const) {
    if (typeof pair[k] !== 'string' && !Array.isArray(pair[k])) throw badArg(`${where}.${k} must be a string or a message list`);
  }
  return { prompt, chosen: asConversation(prompt, pair.chosen, `${where}.chosen`), rejected: asConversation(prompt, pair.rejected, `${where}.rejected`) };
}

/** Masks the labels of the prompt part (first nPrompt ids) so only the response is scored. */
function maskPrompt(ex: SftExample, nPrompt: number): SftExample {
  const labels = ex.labels.slice();
  for (let t = 0; t < Math.min(nPrompt, labels.length); t++) labels[t] = IGNORE_INDEX;
  return { inputIds: ex.inputIds, labels };
}

/** Encodes pairs, counting skips (`source` names the file and line of pair i in errors, e.g. a template that fails to render). */
export function encodeDpoPairs(tok: ChatTokenizer, pairs: Iterable<DpoPairInput>, opts: SftEncodeOptions, source?: { path: string; lines: readonly number[] }): { pairs: DpoPair[]; stats: DpoStats } {
  const stats: DpoStats = { read: 0, kept: 0, truncated: 0, skipped: { emptyAssistant: 0, overLength: 0, noLabels: 0, noAssistant: 0, identicalPair: 0 } };
  const out: DpoPair[] = [];
  for (const p of pairs) {
    const where = `pair ${stats.read}`;
    stats.read++;
    let conv: ReturnType<typeof dpoConversations>, promptLen: number, c: ReturnType<typeof encodeSftExample>, r: ReturnType<typeof encodeSftExample>;
    try {
      conv = dpoConversations(p, where);
      const respC = conv.chosen.slice(conv.prompt.length), respR = conv.rejected.slice(conv.prompt.length);
      if (JSON.stringify(respC) === JSON.stringify(respR)) { stats.skipped.identicalPair++; continue; }
      promptLen = Math.min(opts.maxLength, tok.applyChatTemplate(conv.prompt, { addGenerationPrompt: true }).length);
      c = encodeSftExample(tok, conv.chosen, opts); r = encodeSftExample(tok, conv.rejected, opts);
    } catch (e) {
      throw source ? atLine(e, source.path, source.lines[stats.read - 1]!) : e;
    }
    if ('skip' in c) { stats.skipped[c.skip]++; continue; }
    if ('skip' in r) { stats.skipped[r.skip]++; continue; }
    const chosen = maskPrompt(c.example, promptLen), rejected = maskPrompt(r.example, promptLen);
    if (!chosen.labels.some((l) => l !== IGNORE_INDEX) || !rejected.labels.some((l) => l !== IGNORE_INDEX)) { stats.skipped.noLabels++; continue; }
    if (c.truncated || r.truncated) stats.truncated++;
    out.push({ chosen, rejected });
    stats.kept++;
  }
  return { pairs: out, stats };
}

/** Reads a jsonl of {"prompt", "chosen", "rejected"} and encodes it (malformed lines → DATA_CORRUPT naming the line). */
export async function readDpoJsonl(path: string, tok: ChatTokenizer, opts: SftEncodeOptions): Promise<{ pairs: DpoPair[]; stats: DpoStats }> {
  const rows = await readJsonl(path);
  const inputs = rows.map(({ line, value }) => {
    try {
      dpoConversations(value as unknown as DpoPairInput, `line ${line}`);
    } catch (e) {
      throw new DataError('DATA_CORRUPT', (e as Error).message, 'each line needs "prompt", "chosen", "rejected" (strings or message lists)', path, { cause: e });
    }
    return value as unknown as DpoPairInput;
  });
  return encodeDpoPairs(tok, inputs, opts, { path, lines: rows.map((r) => r.line) });
}
