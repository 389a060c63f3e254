/**
 * The Tokenizer: loads an HF tokenizer.json (or a config built from tiktoken ranks / training),
 * encodes with HF `tokenizers` semantics and OLMo's special-token convention, decodes, saves.
 *
 * Encode pipeline (HF order): non-normalized added tokens are cut out of the raw text → the rest is
 * normalized → normalized added tokens are cut out → pre-tokenizer splits the remaining text into
 * pieces → BPE per piece (cached) → truncation → special tokens.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AddedVocabulary, parseAddedTokens, type AddedToken } from './added-tokens.js';
import { BPE } from './bpe.js';
import { byteLevelToBytes } from './bytelevel.js';
import { buildDecoder, type Decoder } from './decoders.js';
import { OlmoError, TokenizerArgumentError, TokenizerError, unsupported } from './errors.js';
import { tokenIdOrThrow } from './token-id.js';
import { buildNormalizer, normalizeAligned, type Normalizer } from './normalizers.js';
import { buildPostProcessor, type PostProcessor } from './post-processors.js';
import { buildPreTokenizer, type PreTokenizer } from './pretokenizers.js';
import { WorkerPool, type BatchAsyncOptions } from './pool.js';
import { tiktokenConfig, type TiktokenOptions } from './tiktoken.js';
import { trainConfig, type TrainOptions } from './train.js';
import { wellFormed } from './unicode.js';
import { ChatTemplateError, OLMO2_CHAT_TEMPLATE, renderChatTemplate, type ChatMessage } from './chat-template.js';
import { readPretrained, type ChatConfig } from './pretrained.js';

/** The minimal surface other packages (model, data, eval) depend on. */
export interface TokenizerLike {
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  readonly eosTokenId: number;
}

export interface EncodeOptions {
  /**
   * OLMo semantics: when true, append eos (unless the ids already end with it). If the tokenizer
   * has a TemplateProcessing/Bert/Roberta post-processor, its template is applied instead. Default false.
   */
  addSpecialTokens?: boolean;
  /** Truncate to at most this many ids (special tokens included). */
  maxLength?: number;
  /** Which end to cut when truncating; default 'right' (keep the beginning). */
  truncationSide?: 'left' | 'right';
}

export interface DecodeOptions {
  /** Drop special added tokens (eos, pad, …) from the output. Default false. */
  skipSpecialTokens?: boolean;
}

export interface TokenizerOptions {
  /** Override the eos token (by content); default `<|endoftext|>` etc., see README. */
  eosToken?: string;
  /** Override the padding token (by content); default `<|padding|>`/`<|pad|>`/`<pad>`, else eos. */
  padToken?: string;
  /** Default truncation length applied by encode when the call gives none. */
  maxLength?: number;
  /** Max entries in the pre-token → ids cache (cleared when full). Default 200k. */
  cacheCapacity?: number;
}

export interface ApplyChatTemplateOptions {
  /** Append the assistant header for the model's answer (HF add_generation_prompt). Default false. */
  addGenerationPrompt?: boolean;
  /** Return ids (default, as HF) or the rendered string (false). */
  tokenize?: boolean;
  /** A Jinja template overriding the tokenizer's own. */
  chatTemplate?: string;
  /** Extra template variables (HF's **kwargs). */
  variables?: Record<string, unknown>;
}

export interface EncodingWithOffsets {
  ids: number[];
  /** [start, end) UTF-16 indices into the input string, one pair per id. */
  offsets: [number, number][];
}

const EOS_CANDIDATES = ['<|endoftext|>', '<|end_of_text|>', '</s>', '<eos>', '<|eos|>', '[SEP]'];
const PAD_CANDIDATES = ['<|padding|>', '<|pad|>', '<pad>', '[PAD]'];

/** JSON.stringify with sorted object keys, so equal configs hash equally. */
export function canonicalJSON(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJSON(o[k])}`).join(',')}}`;
}


export class Tokenizer implements TokenizerLike {
  private readonly config: Record<string, unknown>;
  private readonly model: BPE;
  private readonly normalizer: Normalizer | null;
  private readonly preTokenizer: PreTokenizer;
  private readonly added: AddedVocabulary;
  private readonly decoder: { decode: Decoder; byteLevelOnly: boolean } | null;
  private readonly post: PostProcessor;
  private readonly idToTok: (string | undefined)[];
  private readonly addedByContent = new Map<string, number>();
  private readonly opts: TokenizerOptions;
  private idBytes: (Uint8Array | undefined)[] | null = null;
  private hashCache: string | null = null;
  private pool: WorkerPool | null = null;
  readonly vocabSize: number;
  /** Chat template + special tokens by name (tokenizer_config.json via fromPretrained, or set by the user). */
  chat: ChatConfig = { specialTokens: {} };

  private constructor(config: Record<string, unknown>, opts: TokenizerOptions) {
    this.config = config;
    this.opts = opts;
    const m = config.model as Record<string, unknown> | undefined;
    if (!m || typeof m !== 'object') throw new TokenizerError('tokenizer.json has no "model" object');
    const type = m.type ?? (m.merges !== undefined ? 'BPE' : undefined);
    if (type === 'WordPiece' || type === 'Unigram' || type === 'WordLevel') throw unsupported(`model ${type}`);
    if (type !== 'BPE') throw new TokenizerError(`unknown model type ${JSON.stringify(m.type)}`, 'only BPE models are supported');
    if (m.dropout !== null && m.dropout !== undefined && m.dropout !== 0) throw unsupported('BPE dropout', 'dropout makes encoding random');
    if (!m.vocab || typeof m.vocab !== 'object' || Array.isArray(m.vocab)) throw new TokenizerError('BPE model has no vocab object');
    if (!Array.isArray(m.merges)) throw new TokenizerError('BPE model has no merges list', 'a BPE tokenizer.json needs model.merges');
    const vocab = new Map<string, number>();
    let maxId = -1;
    for (const [k, v] of Object.entries(m.vocab as Record<string, unknown>)) {
      const id = tokenIdOrThrow(v, `model.vocab entry ${JSON.stringify(k)}`);
      vocab.set(k, id);
      if (id > maxId) maxId = id;
    }
    const merges: [string, string][] = (m.merges as unknown[]).map((x, i) => {
      if (typeof x === 'string') {
        const parts = x.split(' ');
        if (parts.length !== 2) throw new TokenizerError(`merge ${i} ${JSON.stringify(x)} is not "a b"`);
        return parts as [string, string];
      }
      if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string') return x as [string, string];
      throw new TokenizerError(`merge ${i} is neither "a b" nor ["a", "b"]`);
    });
    const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : null);
    this.model = new BPE(vocab, merges, {
      unkToken: str(m.unk_token),
      fuseUnk: m.fuse_unk === true,
      byteFallback: m.byte_fallback === true,
      ignoreMerges: m.ignore_merges === true,
      prefix: str(m.continuing_subword_prefix),
      suffix: str(m.end_of_word_suffix),
    }, opts.cacheCapacity);
    this.normalizer = buildNormalizer(config.normalizer);
    this.preTokenizer = buildPreTokenizer(config.pre_tokenizer);
    this.decoder = buildDecoder(config.decoder);
    this.post = buildPostProcessor(config.post_processor);
    const addedTokens = parseAddedTokens(config.added_tokens);
    // HF re-assigns added-token ids on load (AddedVocabulary::add_tokens): the vocab id when the
    // content is in the model vocab, else the next id after the model vocab / the last added id.
    // The JSON ids are ignored, as in HF; for well-formed files they agree.
    const modelSize = vocab.size;
    let maxAdded = -1;
    for (const t of addedTokens) {
      let id = this.addedByContent.get(t.content) ?? vocab.get(t.content);
      if (id === undefined) id = maxAdded < 0 ? modelSize : maxAdded >= modelSize || modelSize === 0 ? maxAdded + 1 : modelSize;
      t.id = id;
      if (id > maxAdded) maxAdded = id;
      if (id > maxId) maxId = id;
      this.addedByContent.set(t.content, id);
    }
    this.added = new AddedVocabulary(addedTokens, this.normalizer);
    this.vocabSize = maxId + 1;
    this.idToTok = new Array(this.vocabSize);
    for (const [k, v] of vocab) this.idToTok[v] = k;
    // HF's id → token map holds the *normalized* content of normalized added tokens (decode shows it)
    for (const t of addedTokens) this.idToTok[t.id] = t.normalized && this.normalizer ? this.normalizer(t.content) : t.content;
    const tr = config.truncation as Record<string, unknown> | null | undefined;
    if (opts.maxLength === undefined && tr && typeof tr.max_length === 'number') this.opts = { ...opts, maxLength: tr.max_length };
  }

  // ---------------------------------------------------------------- construction

  /** Builds a tokenizer from a parsed tokenizer.json object or its JSON text. */
  static fromJSON(json: string | object, opts: TokenizerOptions = {}): Tokenizer {
    let cfg: unknown;
    if (typeof json === 'string') {
      try { cfg = JSON.parse(json); } catch (e) {
        throw new TokenizerError(`tokenizer JSON does not parse: ${(e as Error).message}`, 'the file is truncated or not JSON', 'TOKENIZER_INVALID', { cause: e });
      }
    } else cfg = structuredClone(json);
    if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) throw new TokenizerError('tokenizer JSON must be an object');
    return new Tokenizer(cfg as Record<string, unknown>, opts);
  }

  /**
   * Reads an HF tokenizer folder: tokenizer.json + tokenizer_config.json + special_tokens_map.json
   * (chat template, eos/pad/bos by name). eos/pad named there become this tokenizer's eos/pad
   * unless `opts` overrides them.
   */
  static async fromPretrained(dir: string, opts: TokenizerOptions = {}): Promise<Tokenizer> {
    const { tokenizerJson, chat } = await readPretrained(dir);
    const eos = chat.specialTokens.eos_token, pad = chat.specialTokens.pad_token;
    const tok = Tokenizer.fromJSON(tokenizerJson, {
      ...opts,
      eosToken: opts.eosToken ?? (typeof eos === 'string' ? eos : undefined),
      padToken: opts.padToken ?? (typeof pad === 'string' ? pad : undefined),
    });
    tok.chat = chat;
    return tok;
  }

  /**
   * Renders `messages` with the chat template exactly as HF transformers' apply_chat_template
   * (see chat-template.ts); `tokenize` (default true, as HF) encodes the result without adding
   * special tokens. Template: `opts.chatTemplate`, else this tokenizer's `chat.template`, else —
   * for OLMo tokenizers (eos `<|endoftext|>`) — OLMo-2 Instruct's template, with bos_token and
   * eos_token defaulting to the eos token as OLMo-2 sets them.
   */
  applyChatTemplate(messages: readonly ChatMessage[], opts: ApplyChatTemplateOptions & { tokenize: false }): string;
  applyChatTemplate(messages: readonly ChatMessage[], opts?: ApplyChatTemplateOptions & { tokenize?: true }): number[];
  applyChatTemplate(messages: readonly ChatMessage[], opts: ApplyChatTemplateOptions = {}): string | number[] {
    let template = opts.chatTemplate ?? this.chat.template;
    const specialTokens = { ...this.chat.specialTokens };
    if (template === undefined) {
      const eos = this.idToToken(this.eosTokenId);
      if (eos !== '<|endoftext|>') throw new ChatTemplateError('this tokenizer has no chat_template', 'pass { chatTemplate } or load a folder whose tokenizer_config.json has one');
      template = OLMO2_CHAT_TEMPLATE;
      specialTokens.eos_token ??= eos;
      specialTokens.bos_token ??= eos;
    }
    const text = renderChatTemplate(template, messages, { addGenerationPrompt: opts.addGenerationPrompt, specialTokens, variables: opts.variables });
    return opts.tokenize === false ? text : this.encode(text);
  }

  /** Reads an HF tokenizer.json. */
  static async fromFile(path: string, opts: TokenizerOptions = {}): Promise<Tokenizer> {
    let text: string;
    try { text = await readFile(path, 'utf8'); } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') throw new OlmoError('NOT_FOUND', `tokenizer file ${path} does not exist`, 'pass the path of an HF tokenizer.json', { cause: e });
      throw new TokenizerError(`cannot read tokenizer file ${path}: ${(e as Error).message}`, 'check the path', 'TOKENIZER_INVALID', { cause: e });
    }
    return Tokenizer.fromJSON(text, opts);
  }

  /**
   * Builds a byte-level BPE tokenizer from tiktoken ranks shipped in `js-tiktoken`
   * ('cl100k_base', 'o200k_base', 'r50k_base', 'p50k_base', 'gpt2'), plus `specialTokens`
   * (content → id). OLMo-2's tokenizer is `dolma2SpecialTokens()` on cl100k_base.
   */
  static async fromTiktoken(name: string, opts: TiktokenOptions & TokenizerOptions = {}): Promise<Tokenizer> {
    return new Tokenizer(await tiktokenConfig(name, opts), opts);
  }

  /** Trains a byte-level BPE (see train.ts) and returns it as a Tokenizer. */
  static train(texts: Iterable<string>, opts: TrainOptions): Tokenizer {
    return new Tokenizer(trainConfig(texts, opts), { eosToken: opts.eosToken });
  }

  // ---------------------------------------------------------------- vocabulary

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token) ?? this.model.vocab.get(token);
  }
  idToToken(id: number): string | undefined {
    return this.idToTok[id];
  }
  /** Added tokens (special and not) as in tokenizer.json. */
  get addedTokens(): readonly AddedToken[] {
    return this.added.tokens;
  }
  isSpecial(id: number): boolean {
    return this.added.specialIds.has(id);
  }

  get eosTokenId(): number {
    const id = this.resolve(this.opts.eosToken, EOS_CANDIDATES);
    if (id === undefined) throw new TokenizerArgumentError('this tokenizer has no eos token', 'pass { eosToken } when loading it');
    return id;
  }
  get padTokenId(): number {
    return this.resolve(this.opts.padToken, PAD_CANDIDATES) ?? this.eosTokenId;
  }
  private resolve(explicit: string | undefined, candidates: string[]): number | undefined {
    if (explicit !== undefined) {
      const id = this.tokenToId(explicit);
      if (id === undefined) throw new TokenizerArgumentError(`token ${JSON.stringify(explicit)} is not in the vocabulary`);
      return id;
    }
    for (const c of candidates) {
      const id = this.tokenToId(c);
      if (id !== undefined) return id;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- encode

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TokenizerArgumentError(`encode expects a string, got ${typeof text}`);
    const ids: number[] = [];
    this.encodeInto(wellFormed(text), ids, null);
    return this.finish(ids, null, opts).ids;
  }

  encodeBatch(texts: readonly string[], opts: EncodeOptions = {}): number[][] {
    return texts.map((t) => this.encode(t, opts));
  }

  /** Batch encode on worker threads (default 2); order is preserved. Call close() when done. */
  async encodeBatchAsync(texts: readonly string[], opts: BatchAsyncOptions & EncodeOptions = {}): Promise<number[][]> {
    const threads = opts.threads ?? 2;
    if (threads <= 1 || texts.length < 2) return this.encodeBatch(texts, opts);
    if (!this.pool || this.pool.size !== threads) {
      await this.pool?.close();
      this.pool = new WorkerPool(threads, this.config, this.opts);
    }
    return this.pool.encode(texts, { addSpecialTokens: opts.addSpecialTokens, maxLength: opts.maxLength, truncationSide: opts.truncationSide });
  }

  /** Stops the batch worker threads (they are unref'd, so forgetting this does not hang exit). */
  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }

  /** Ids plus the [start, end) UTF-16 span of the input each id came from. */
  encodeWithOffsets(text: string, opts: EncodeOptions = {}): EncodingWithOffsets {
    const t = wellFormed(String(text));
    const ids: number[] = [];
    const offs: number[] = [];
    this.encodeInto(t, ids, offs);
    const r = this.finish(ids, offs, opts);
    const offsets: [number, number][] = [];
    for (let i = 0; i < r.ids.length; i++) offsets.push([r.offs![2 * i]!, r.offs![2 * i + 1]!]);
    return { ids: r.ids, offsets };
  }

  /** Truncation + special tokens, keeping offsets (special tokens get [0, 0]) in step. */
  private finish(ids: number[], offs: number[] | null, opts: EncodeOptions): { ids: number[]; offs: number[] | null } {
    const maxLength = opts.maxLength ?? this.opts.maxLength;
    const tpl = this.post.template;
    let before: number[] = [];
    let after: number[] = [];
    if (opts.addSpecialTokens) {
      if (tpl) { before = tpl.before; after = tpl.after; }
      else if (ids.length === 0 || ids[ids.length - 1] !== this.eosTokenId) after = [this.eosTokenId];
    }
    if (maxLength !== undefined) {
      if (!Number.isInteger(maxLength) || maxLength < 0) throw new TokenizerArgumentError(`maxLength must be a non-negative integer, got ${maxLength}`);
      const room = Math.max(0, maxLength - before.length - after.length);
      if (ids.length > room) {
        const left = opts.truncationSide === 'left';
        ids = left ? ids.slice(ids.length - room) : ids.slice(0, room);
        if (offs) offs = left ? offs.slice(offs.length - 2 * room) : offs.slice(0, 2 * room);
      }
    }
    if (before.length || after.length) {
      ids = [...before, ...ids, ...after];
      if (offs) offs = [...before.flatMap(() => [0, 0]), ...offs, ...after.flatMap(() => [0, 0])];
    }
    return { ids, offs };
  }

  private encodeInto(text: string, ids: number[], offs: number[] | null): void {
    const segs: number[] = [];
    this.added.splitRaw(text, segs);
    for (let s = 0; s < segs.length; s += 3) {
      const a = segs[s]!;
      const b = segs[s + 1]!;
      const tok = segs[s + 2]!;
      if (tok >= 0) {
        ids.push(tok);
        if (offs) this.pushAddedOffsets(tok, a, b, ids.length - 1, offs);
        continue;
      }
      const raw = text.slice(a, b);
      let norm = raw;
      let align: { start: Int32Array; end: Int32Array } | null = null;
      if (this.normalizer) {
        if (offs) { const r = normalizeAligned(this.normalizer, raw); norm = r.text; align = r; }
        else norm = this.normalizer(raw);
      }
      const segs2: number[] = [];
      this.added.splitNormalized(norm, segs2);
      for (let k = 0; k < segs2.length; k += 3) {
        const na = segs2[k]!;
        const nb = segs2[k + 1]!;
        const ntok = segs2[k + 2]!;
        const map = (i: number, isEnd: boolean): number => {
          if (!align) return a + i;
          if (isEnd) return a + (i <= 0 ? align.start[0] ?? 0 : align.end[Math.min(i, norm.length) - 1]!);
          return a + (i >= norm.length ? align.end[norm.length - 1] ?? raw.length : align.start[Math.max(0, i)]!);
        };
        if (ntok >= 0) {
          ids.push(ntok);
          if (offs) this.pushAddedOffsets(ntok, map(na, false), map(nb, true), ids.length - 1, offs);
          continue;
        }
        this.encodeText(norm.slice(na, nb), ids, offs ? (i, e) => map(na + i, e) : null, offs);
      }
    }
  }

  private pushAddedOffsets(id: number, a: number, b: number, _index: number, offs: number[]): void {
    if (this.post.trimOffsets) {
      const t = this.idToTok[id] ?? '';
      let lead = 0;
      while (lead < t.length && /\s|\u0120/u.test(t[lead]!)) lead++;
      let trail = 0;
      while (trail < t.length && /\s|\u0120/u.test(t[t.length - 1 - trail]!)) trail++;
      if (lead) a = Math.min(a + lead, b);
      if (trail && b >= trail) b = Math.max(b - trail, a);
    }
    offs.push(a, b);
  }

  /** Pre-tokenizes and BPE-encodes text that contains no added tokens. */
  private encodeText(s: string, ids: number[], map: ((i: number, isEnd: boolean) => number) | null, offs: number[] | null): void {
    const pieces: string[] = [];
    const pOffs: number[] = [];
    this.preTokenizer.split(s, pieces, pOffs);
    const bl = this.preTokenizer.byteLevel;
    const model = this.model;
    if (!offs) {
      for (let i = 0; i < pieces.length; i++) model.encodePiece(pieces[i]!, bl, ids);
      return;
    }
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      const first = ids.length;
      model.encodePiece(piece, bl, ids);
      this.pieceOffsets(piece, pOffs[i]!, ids, first, map!, offs);
    }
  }

  /** Offsets of the ids of one piece: token byte lengths → UTF-16 spans of the containing chars. */
  private pieceOffsets(piece: string, pOff: number, ids: number[], first: number, map: (i: number, e: boolean) => number, offs: number[]): void {
    // byte index → UTF-16 index (start of the char containing that byte)
    const byteToUnit: number[] = [];
    const unitEnd: number[] = [];
    for (let u = 0; u < piece.length; u++) {
      const c = piece.codePointAt(u)!;
      const nb = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      const w = c >= 0x10000 ? 2 : 1;
      for (let k = 0; k < nb; k++) { byteToUnit.push(u); unitEnd.push(u + w); }
      u += w - 1;
    }
    const { prefix, suffix } = this.model.opts;
    let pos = 0;
    for (let j = first; j < ids.length; j++) {
      const t = this.idToTok[ids[j]!] ?? '';
      let len: number;
      if (this.preTokenizer.byteLevel) len = t.length;
      else if (/^<0x[0-9A-F]{2}>$/.test(t) && this.model.opts.byteFallback) len = 1;
      else {
        let tt = t;
        if (prefix && j > first && tt.startsWith(prefix)) tt = tt.slice(prefix.length);
        if (suffix && tt.endsWith(suffix)) tt = tt.slice(0, -suffix.length);
        len = Buffer.byteLength(tt);
      }
      const bs = Math.min(pos, byteToUnit.length - 1);
      const be = Math.min(pos + len, byteToUnit.length);
      pos += len;
      let us = byteToUnit[bs] ?? 0;
      let ue = be > 0 ? unitEnd[be - 1]! : 0;
      if (this.post.trimOffsets && this.preTokenizer.byteLevel) {
        let lead = 0;
        while (lead < t.length && t.charCodeAt(lead) === 0x120) lead++;
        let trail = 0;
        while (trail < t.length - lead && t.charCodeAt(t.length - 1 - trail) === 0x120) trail++;
        // HF (byte_level.rs process_offsets): with add_prefix_space, the first token keeps a single
        // leading space in its offsets (it may be the one the pre-tokenizer added); more are trimmed.
        const isFirst = j === 0 || map(Math.max(0, pOff + us), false) === 0;
        if (isFirst && this.post.addPrefixSpace && lead === 1) lead = 0;
        if (lead) us = Math.min(us + lead, ue);
        if (trail && ue >= trail) ue = Math.max(ue - trail, us);
      }
      // pOff − 1 (synthetic prefix space) clamps to the piece start
      offs.push(map(Math.max(0, pOff + us), false), map(Math.max(0, pOff + ue), true));
    }
  }

  // ---------------------------------------------------------------- decode

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens === true;
    const n = ids.length;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.idToTok[id] === undefined) {
        throw new TokenizerArgumentError(`decode: id ${id} at position ${i} is out of range [0, ${this.vocabSize})`, 'ids must come from this tokenizer');
      }
    }
    if (this.decoder?.byteLevelOnly) {
      const table = this.byteTable();
      let total = 0;
      for (let i = 0; i < n; i++) if (!(skip && this.added.specialIds.has(ids[i]!))) total += table[ids[i]!]!.length;
      const buf = new Uint8Array(total);
      let o = 0;
      for (let i = 0; i < n; i++) {
        const id = ids[i]!;
        if (skip && this.added.specialIds.has(id)) continue;
        const b = table[id]!;
        buf.set(b, o);
        o += b.length;
      }
      return LOSSY.decode(buf);
    }
    const toks: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (skip && this.added.specialIds.has(id)) continue;
      toks.push(this.idToTok[id]!);
    }
    return this.decoder ? this.decoder.decode(toks).join('') : toks.join(' ');
  }

  private byteTable(): Uint8Array[] {
    if (!this.idBytes) {
      const enc = new TextEncoder();
      this.idBytes = this.idToTok.map((t) => (t === undefined ? undefined : byteLevelToBytes(t) ?? enc.encode(t)));
    }
    return this.idBytes as Uint8Array[];
  }

  // ---------------------------------------------------------------- persistence

  /** The HF tokenizer.json object this tokenizer was built from (a copy). */
  toJSON(): Record<string, unknown> {
    return structuredClone(this.config);
  }

  /** sha256 (hex) of the canonical (key-sorted) tokenizer JSON: stable across save/load. */
  hash(): string {
    this.hashCache ??= createHash('sha256').update(canonicalJSON(this.config)).digest('hex');
    return this.hashCache;
  }

  /** Writes tokenizer.json atomically (temp file in the same directory, then rename). */
  async save(path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      await writeFile(tmp, JSON.stringify(this.config));
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}

const LOSSY = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
