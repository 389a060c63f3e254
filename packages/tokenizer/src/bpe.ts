/**
 * The BPE model, bit-compatible with HF `tokenizers` (models/bpe): merges are applied lowest rank
 * first, leftmost on ties; `ignore_merges`, `byte_fallback`, `unk_token`/`fuse_unk`,
 * `continuing_subword_prefix` and `end_of_word_suffix` follow HF's `merge_word`.
 *
 * Hot path (byte-level, no prefix/suffix): UTF-8 bytes → byte ids → merges over a reusable
 * Int32Array with a custom open-addressing pair table (no per-pair allocation, no number-keyed Map
 * with non-Smi keys), and a pre-token → ids cache in front.
 */
import { BYTE_TO_CHAR, utf8Into } from './bytelevel.js';
import { TokenizerError } from './errors.js';

/** Open-addressing hash table (left id, right id) → (rank, new id). */
export class PairTable {
  private mask: number;
  private ka: Int32Array;
  private kb: Int32Array;
  private rank: Int32Array;
  private nid: Int32Array;
  size = 0;
  constructor(expected: number) {
    let cap = 16;
    while (cap < expected * 2) cap <<= 1;
    this.mask = cap - 1;
    this.ka = new Int32Array(cap).fill(-1);
    this.kb = new Int32Array(cap);
    this.rank = new Int32Array(cap);
    this.nid = new Int32Array(cap);
  }
  private slot(a: number, b: number): number {
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0;
    h ^= h >>> 15;
    let i = h & this.mask;
    while (this.ka[i] !== -1 && (this.ka[i] !== a || this.kb[i] !== b)) i = (i + 1) & this.mask;
    return i;
  }
  /** Inserts unless present (HF keeps the first occurrence of a duplicated merge). */
  set(a: number, b: number, rank: number, nid: number): void {
    const i = this.slot(a, b);
    if (this.ka[i] !== -1) return;
    this.ka[i] = a;
    this.kb[i] = b;
    this.rank[i] = rank;
    this.nid[i] = nid;
    this.size++;
  }
  /** Rank of the pair or -1; the new id is left in `lastId`. */
  lastId = -1;
  get(a: number, b: number): number {
    const i = this.slot(a, b);
    if (this.ka[i] === -1) return -1;
    this.lastId = this.nid[i]!;
    return this.rank[i]!;
  }
}

export interface BpeOptions {
  unkToken: string | null;
  fuseUnk: boolean;
  byteFallback: boolean;
  ignoreMerges: boolean;
  prefix: string | null;
  suffix: string | null;
}

const INF = 0x7fffffff;

export class BPE {
  readonly vocab: Map<string, number>;
  readonly merges: PairTable;
  readonly opts: BpeOptions;
  /** id of the byte-level char for each byte, or -1. */
  private byteIds = new Int32Array(256).fill(-1);
  private fast: boolean;
  private cache = new Map<string, number | number[]>();
  private cacheCapacity: number;
  private buf = new Int32Array(1024);
  private ranks = new Int32Array(1024);
  private nids = new Int32Array(1024);

  constructor(vocab: Map<string, number>, merges: [string, string][], opts: BpeOptions, cacheCapacity = 200_000) {
    this.vocab = vocab;
    this.opts = opts;
    this.cacheCapacity = cacheCapacity;
    this.merges = new PairTable(merges.length);
    const prefixLen = opts.prefix ? opts.prefix.length : 0;
    for (let r = 0; r < merges.length; r++) {
      const [a, b] = merges[r]!;
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      if (ia === undefined || ib === undefined) {
        throw new TokenizerError(`merge ${r} (${JSON.stringify(a)} ${JSON.stringify(b)}) uses a token missing from the vocab`);
      }
      // HF: new token = a + b with b's continuing_subword_prefix removed
      const merged = a + (prefixLen && b.startsWith(opts.prefix!) ? b.slice(prefixLen) : b);
      const nid = vocab.get(merged);
      if (nid === undefined) throw new TokenizerError(`merge ${r} produces ${JSON.stringify(merged)}, which is not in the vocab`);
      this.merges.set(ia, ib, r, nid);
    }
    for (let b = 0; b < 256; b++) this.byteIds[b] = vocab.get(BYTE_TO_CHAR[b]!) ?? -1;
    this.fast = !opts.prefix && !opts.suffix && this.byteIds.every((x) => x >= 0);
  }

  /** Encodes one pre-token (raw text, mapped to byte-level chars first when `byteLevel`). */
  encodePiece(piece: string, byteLevel: boolean, out: number[]): void {
    const hit = this.cache.get(piece);
    if (hit !== undefined) {
      if (typeof hit === 'number') out.push(hit);
      else for (let i = 0; i < hit.length; i++) out.push(hit[i]!);
      return;
    }
    const ids = byteLevel && this.fast ? this.encodeBytes(piece) : this.mergeWord(byteLevel ? toByteLevel(piece) : piece);
    if (this.cache.size >= this.cacheCapacity) this.cache.clear();
    this.cache.set(piece, ids.length === 1 ? ids[0]! : ids);
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  clearCache(): void {
    this.cache.clear();
  }

  private ensure(n: number): void {
    if (this.buf.length >= n) return;
    let cap = this.buf.length;
    while (cap < n) cap *= 2;
    this.buf = new Int32Array(cap);
    this.ranks = new Int32Array(cap);
    this.nids = new Int32Array(cap);
  }

  private encodeBytes(piece: string): number[] {
    if (this.opts.ignoreMerges) {
      const id = this.vocab.get(toByteLevel(piece));
      if (id !== undefined) return [id];
    }
    this.ensure(piece.length * 3 + 1);
    const sym = this.buf;
    const n = utf8Into(piece, 0, piece.length, sym);
    for (let i = 0; i < n; i++) sym[i] = this.byteIds[sym[i]!]!;
    const m = n <= 96 ? this.mergeLinear(sym, n) : mergeHeap(sym, n, this.merges);
    return Array.from(sym.subarray(0, m));
  }

  /** O(n²) lowest-rank-leftmost merging over a dense array; fastest for short pieces. */
  private mergeLinear(sym: Int32Array, n: number): number {
    const ranks = this.ranks;
    const nids = this.nids;
    const mt = this.merges;
    for (let i = 0; i + 1 < n; i++) {
      const r = mt.get(sym[i]!, sym[i + 1]!);
      ranks[i] = r < 0 ? INF : r;
      nids[i] = mt.lastId;
    }
    while (n > 1) {
      let best = -1;
      let br = INF;
      for (let i = 0; i + 1 < n; i++) if (ranks[i]! < br) { br = ranks[i]!; best = i; }
      if (best < 0) break;
      sym[best] = nids[best]!;
      for (let j = best + 1; j + 1 < n; j++) { sym[j] = sym[j + 1]!; ranks[j] = ranks[j + 1]!; nids[j] = nids[j + 1]!; }
      n--;
      if (best > 0) {
        const r = mt.get(sym[best - 1]!, sym[best]!);
        ranks[best - 1] = r < 0 ? INF : r;
        nids[best - 1] = mt.lastId;
      }
      if (best + 1 < n) {
        const r = mt.get(sym[best]!, sym[best + 1]!);
        ranks[best] = r < 0 ? INF : r;
        nids[best] = mt.lastId;
      }
    }
    return n;
  }

  /** HF `merge_word`: chars → ids (prefix/suffix, byte fallback, unk), then merge. */
  mergeWord(w: string): number[] {
    const { prefix, suffix, byteFallback, unkToken, fuseUnk } = this.opts;
    if (this.opts.ignoreMerges) {
      const id = this.vocab.get(w);
      if (id !== undefined) return [id];
    }
    const chars = Array.from(w);
    const ids: number[] = [];
    let unk = -1;
    let unkOpen = false;
    const unkId = unkToken !== null ? this.vocab.get(unkToken) : undefined;
    for (let k = 0; k < chars.length; k++) {
      let s = chars[k]!;
      if (k > 0 && prefix) s = prefix + s;
      if (k === chars.length - 1 && suffix) s = s + suffix;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        if (unkOpen) { ids.push(unk); unkOpen = false; }
        ids.push(id);
        continue;
      }
      if (byteFallback) {
        const bytes = new TextEncoder().encode(s);
        const fb: number[] = [];
        for (const b of bytes) {
          const t = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
          if (t === undefined) break;
          fb.push(t);
        }
        if (fb.length === bytes.length) {
          // HF pushes byte-fallback tokens without flushing a pending unk first
          ids.push(...fb);
          continue;
        }
      }
      if (unkToken !== null) {
        if (unkId === undefined) throw new TokenizerError(`unk_token ${JSON.stringify(unkToken)} is not in the vocab`);
        if (unkOpen && fuseUnk) continue;
        if (unkOpen) ids.push(unk);
        unk = unkId;
        unkOpen = true;
      }
    }
    if (unkOpen) ids.push(unk);
    this.ensure(ids.length + 1);
    const sym = this.buf;
    for (let i = 0; i < ids.length; i++) sym[i] = ids[i]!;
    const m = ids.length <= 96 ? this.mergeLinear(sym, ids.length) : mergeHeap(sym, ids.length, this.merges);
    return Array.from(sym.subarray(0, m));
  }
}

export function toByteLevel(piece: string): string {
  const bytes = new TextEncoder().encode(piece);
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]!];
  return s;
}

/**
 * HF `Word::merge_all` for long pieces: binary heap of (rank, pos) over a linked list, stale
 * entries skipped by re-checking the pair's new id. O(n log n).
 */
export function mergeHeap(sym: Int32Array, n: number, mt: PairTable): number {
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
  // heap arrays
  let hr = new Int32Array(n);
  let hp = new Int32Array(n);
  let hn = new Int32Array(n);
  let size = 0;
  const less = (i: number, j: number) => hr[i]! < hr[j]! || (hr[i] === hr[j] && hp[i]! < hp[j]!);
  const swap = (i: number, j: number) => {
    let t = hr[i]!; hr[i] = hr[j]!; hr[j] = t;
    t = hp[i]!; hp[i] = hp[j]!; hp[j] = t;
    t = hn[i]!; hn[i] = hn[j]!; hn[j] = t;
  };
  const push = (r: number, p: number, id: number) => {
    if (size === hr.length) {
      const g = (a: Int32Array) => { const b = new Int32Array(a.length * 2); b.set(a); return b; };
      hr = g(hr); hp = g(hp); hn = g(hn);
    }
    let i = size++;
    hr[i] = r; hp[i] = p; hn[i] = id;
    while (i > 0) {
      const par = (i - 1) >> 1;
      if (!less(i, par)) break;
      swap(i, par);
      i = par;
    }
  };
  const pop = () => {
    size--;
    swap(0, size);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && less(l, m)) m = l;
      if (r < size && less(r, m)) m = r;
      if (m === i) break;
      swap(i, m);
      i = m;
    }
  };
  for (let i = 0; i + 1 < n; i++) {
    const r = mt.get(sym[i]!, sym[i + 1]!);
    if (r >= 0) push(r, i, mt.lastId);
  }
  while (size > 0) {
    const pos = hp[0]!;
    const nid = hn[0]!;
    pop();
    if (!alive[pos]) continue;
    const nx = next[pos]!;
    if (nx < 0) continue;
    if (mt.get(sym[pos]!, sym[nx]!) < 0 || mt.lastId !== nid) continue;
    sym[pos] = nid;
    alive[nx] = 0;
    const nn = next[nx]!;
    next[pos] = nn;
    if (nn >= 0) prev[nn] = pos;
    const pv = prev[pos]!;
    if (pv >= 0) {
      const r = mt.get(sym[pv]!, sym[pos]!);
      if (r >= 0) push(r, pv, mt.lastId);
    }
    if (nn >= 0) {
      const r = mt.get(sym[pos]!, sym[nn]!);
      if (r >= 0) push(r, pos, mt.lastId);
    }
  }
  let m = 0;
  for (let i = 0; i < n; i++) if (alive[i]) sym[m++] = sym[i]!;
  return m;
}
