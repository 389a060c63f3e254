/**
 * Supervised fine-tuning data: chat examples → token ids + labels, then rows of a batch (packed or
 * padded).
 *
 * Labels follow Open Instruct's Tulu recipe (`sft_tulu_tokenize_and_truncate_v1`, the
 * apply_chat_template successor of `encode_with_messages_format`): the whole conversation is
 * rendered with the chat template and tokenized; then, for every non-assistant message i, the
 * ids from len(render(messages[:i])) to len(render(messages[:i+1], add_generation_prompt = next is
 * assistant)) are set to −100. What stays labelled is each assistant turn's content and its
 * end-of-turn token (eos in the OLMo/Tulu templates); the assistant header is masked with the
 * message before it. HF/Open Instruct truncation: everything is cut at maxLength from the right.
 *
 * Labels are aligned with the ids (HF convention): the model shifts them, position t predicts
 * labels[t + 1].
 */
import { readFile } from 'node:fs/promises';
import type { ChatMessage } from '@olmo/tokenizer';
import { validateMessages } from '@olmo/tokenizer';
import { DataError, OlmoError, badArg } from './errors.js';

export const IGNORE_INDEX = -100;

/** What SFT encoding needs from a tokenizer (`Tokenizer` from @olmo/tokenizer satisfies it). */
export interface ChatTokenizer {
  applyChatTemplate(messages: readonly ChatMessage[], opts?: { addGenerationPrompt?: boolean; tokenize?: true }): number[];
  readonly padTokenId: number;
}

export interface SftExample {
  inputIds: number[];
  /** Same length as inputIds; IGNORE_INDEX (−100) where no loss is taken. */
  labels: number[];
}

export type OverLength = 'truncate' | 'skip';

export interface SftEncodeOptions {
  /** Maximum ids per example. */
  maxLength: number;
  /** Over-long examples: cut at maxLength (default, as Open Instruct) or skip them. */
  overLength?: OverLength;
}

/** Why an example was not used (counted by readSftJsonl / encodeSftDataset). */
export type SftSkipReason = 'emptyAssistant' | 'overLength' | 'noLabels' | 'noAssistant';

export type SftEncodeResult = { example: SftExample; truncated: boolean } | { skip: SftSkipReason };

/** Encodes one conversation (messages are validated: unknown roles → ChatMessageError). */
export function encodeSftExample(tok: ChatTokenizer, messages: readonly ChatMessage[], opts: SftEncodeOptions): SftEncodeResult {
  const msgs = validateMessages(messages);
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 2) throw badArg(`maxLength must be an integer >= 2, got ${opts.maxLength}`);
  if (!msgs.some((m) => m.role === 'assistant')) return { skip: 'noAssistant' };
  if (msgs.some((m) => m.role === 'assistant' && m.content.trim() === '')) return { skip: 'emptyAssistant' };
  const full = tok.applyChatTemplate(msgs);
  const max = opts.maxLength;
  const truncated = full.length > max;
  if (truncated && opts.overLength === 'skip') return { skip: 'overLength' };
  const inputIds = full.slice(0, max);
  const labels = inputIds.slice();
  for (let i = 0; i < msgs.length; i++) {
    if (msgs[i]!.role === 'assistant') continue;
    const start = i === 0 ? 0 : Math.min(max, tok.applyChatTemplate(msgs.slice(0, i)).length);
    const nextIsAssistant = i + 1 < msgs.length && msgs[i + 1]!.role === 'assistant';
    const end = Math.min(max, tok.applyChatTemplate(msgs.slice(0, i + 1), { addGenerationPrompt: nextIsAssistant }).length);
    for (let t = start; t < end; t++) labels[t] = IGNORE_INDEX;
    if (end >= max) break;
  }
  // Position 0's label is never a target (nothing precedes it); keeping it −100 also makes packing
  // invisible (the previous document's last token would otherwise predict it).
  labels[0] = IGNORE_INDEX;
  if (!labels.some((l) => l !== IGNORE_INDEX)) return { skip: 'noLabels' };
  return { example: { inputIds, labels }, truncated };
}

export interface SftStats {
  read: number;
  kept: number;
  truncated: number;
  skipped: Record<SftSkipReason, number>;
}

export function emptySftStats(): SftStats {
  return { read: 0, kept: 0, truncated: 0, skipped: { emptyAssistant: 0, overLength: 0, noLabels: 0, noAssistant: 0 } };
}

/**
 * A typed error raised while encoding line `line` of `path` (e.g. CHAT_TEMPLATE_ERROR from a
 * template that fails to render): the same code, the message naming the file and line.
 */
export function atLine(e: unknown, path: string, line: number): unknown {
  if (!(e instanceof OlmoError)) return e;
  return new OlmoError(e.code, `${path} line ${line}: ${e.message}`, e.hint, { cause: e });
}

/** Encodes conversations, counting truncations and skips (`where(i)` names conversation i in errors). */
export function encodeSftDataset(tok: ChatTokenizer, conversations: Iterable<readonly ChatMessage[]>, opts: SftEncodeOptions, where?: { path: string; lines: readonly number[] }): { examples: SftExample[]; stats: SftStats } {
  const stats = emptySftStats();
  const examples: SftExample[] = [];
  for (const c of conversations) {
    stats.read++;
    let r: SftEncodeResult;
    try { r = encodeSftExample(tok, c, opts); } catch (e) { throw where ? atLine(e, where.path, where.lines[stats.read - 1]!) : e; }
    if ('skip' in r) stats.skipped[r.skip]++;
    else {
      examples.push(r.example);
      stats.kept++;
      if (r.truncated) stats.truncated++;
    }
  }
  return { examples, stats };
}

/** Parses jsonl lines into objects; a line that is not a JSON object → DATA_CORRUPT with its line number. */
export async function readJsonl(path: string): Promise<Array<{ line: number; value: Record<string, unknown> }>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new DataError('NOT_FOUND', `cannot read ${path}: ${(e as Error).message}`, 'check the data path', path, { cause: e });
  }
  const out: Array<{ line: number; value: Record<string, unknown> }> = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let v: unknown;
    try { v = JSON.parse(raw); } catch (e) {
      throw new DataError('DATA_CORRUPT', `line ${i + 1} is not JSON: ${(e as Error).message}`, 'one JSON object per line', path, { cause: e });
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new DataError('DATA_CORRUPT', `line ${i + 1} is not a JSON object`, 'one JSON object per line', path);
    out.push({ line: i + 1, value: v as Record<string, unknown> });
  });
  return out;
}

/**
 * Reads a jsonl of `{"messages": [{"role", "content"}, ...]}` and encodes it. Malformed lines and
 * unknown roles are errors naming the line; empty assistant turns, conversations without an
 * assistant turn, over-long examples (overLength 'skip') and examples left without labels are
 * skipped and counted in `stats`.
 */
export async function readSftJsonl(path: string, tok: ChatTokenizer, opts: SftEncodeOptions): Promise<{ examples: SftExample[]; stats: SftStats }> {
  const rows = await readJsonl(path);
  const convs = rows.map(({ line, value }) => {
    try {
      return validateMessages(value.messages, `line ${line}: messages`);
    } catch (e) {
      throw new DataError('DATA_CORRUPT', (e as Error).message, 'each line needs "messages": [{"role": "system"|"user"|"assistant", "content": string}, ...]', path, { cause: e });
    }
  });
  return encodeSftDataset(tok, convs, opts, { path, lines: rows.map((r) => r.line) });
}

/** Rows of one batch: ids, labels and per-token document ids, all [rows][seqLen]. */
export interface SftRows {
  inputIds: number[][];
  labels: number[][];
  /** Document id per token (−1 for padding, which is its own document); pass to the model as documentIds. */
  documentIds: number[][];
  /** Number of examples per row. */
  examplesPerRow: number[];
}

/**
 * Packs examples, in order, into rows of seqLen tokens (first fit in sequence: a row is closed
 * when the next example does not fit), padding the rest of each row. Attention must use the
 * document ids so that examples do not see each other (the model's `documentIds` option).
 */
export function packSft(examples: readonly SftExample[], seqLen: number, padId: number): SftRows {
  if (!Number.isInteger(seqLen) || seqLen < 2) throw badArg(`seqLen must be an integer >= 2, got ${seqLen}`);
  const rows: SftRows = { inputIds: [], labels: [], documentIds: [], examplesPerRow: [] };
  let ids: number[] = [], labels: number[] = [], docs: number[] = [], n = 0;
  const close = () => {
    if (n === 0) return;
    const pad = seqLen - ids.length;
    rows.inputIds.push([...ids, ...Array<number>(pad).fill(padId)]);
    rows.labels.push([...labels, ...Array<number>(pad).fill(IGNORE_INDEX)]);
    rows.documentIds.push([...docs, ...Array<number>(pad).fill(-1)]);
    rows.examplesPerRow.push(n);
    ids = []; labels = []; docs = []; n = 0;
  };
  for (const ex of examples) {
    if (ex.inputIds.length > seqLen) throw badArg(`an example of ${ex.inputIds.length} ids does not fit in seqLen ${seqLen}`, 'encode with maxLength <= seqLen');
    if (ids.length + ex.inputIds.length > seqLen) close();
    ids.push(...ex.inputIds);
    labels.push(IGNORE_INDEX, ...ex.labels.slice(1));
    docs.push(...Array<number>(ex.inputIds.length).fill(n));
    n++;
  }
  close();
  return rows;
}

/** One example per row, right-padded to seqLen (default: the longest example). */
export function padSft(examples: readonly SftExample[], padId: number, seqLen?: number): SftRows {
  const len = seqLen ?? Math.max(2, ...examples.map((e) => e.inputIds.length));
  const rows: SftRows = { inputIds: [], labels: [], documentIds: [], examplesPerRow: [] };
  for (const ex of examples) {
    if (ex.inputIds.length > len) throw badArg(`an example of ${ex.inputIds.length} ids does not fit in seqLen ${len}`, 'encode with maxLength <= seqLen');
    const pad = len - ex.inputIds.length;
    rows.inputIds.push([...ex.inputIds, ...Array<number>(pad).fill(padId)]);
    rows.labels.push([...ex.labels, ...Array<number>(pad).fill(IGNORE_INDEX)]);
    rows.documentIds.push([...Array<number>(ex.inputIds.length).fill(0), ...Array<number>(pad).fill(-1)]);
    rows.examplesPerRow.push(1);
  }
  return rows;
}
