/**
 * Data mixes: sources (each a list of token files / prepared directories) with either a weight
 * (target fraction of tokens) or a repetition factor, realised deterministically (seeded) into an
 * instance list over one MemMapDataset. Mixes are plain objects (build/modify them in research
 * code) and YAML (named mixes live in configs/mixes/<name>.yaml).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { configInvalid, notFound } from './errors.js';
import type { TokenDtype, TokenizerIdentity } from './manifest.js';
import { MemMapDataset, type Instance } from './memmap.js';
import { globalOrder } from './shuffle.js';

export interface MixSource {
  name: string;
  /** Token files, prepared directories / manifest.json, or globs (`*` in the file name). */
  paths: string[];
  /** Target fraction of the mix's tokens (weights are normalised). */
  weight?: number;
  /** Repetition factor (1 = every instance once, 2.5 = twice plus a seeded half). */
  repeat?: number;
}

export interface DataMixSpec {
  name?: string;
  seed?: number;
  seqLen?: number;
  dtype?: TokenDtype;
  /** Weighted mixes: total instances. Default: the largest total that repeats no source. */
  totalInstances?: number;
  sources: MixSource[];
}

export interface MixRow {
  name: string;
  files: number;
  instancesBefore: number;
  tokensBefore: number;
  fractionBefore: number;
  instancesAfter: number;
  tokensAfter: number;
  fractionAfter: number;
  /** instancesAfter / instancesBefore. */
  factor: number;
}

export interface RealiseOptions {
  seqLen?: number;
  dtype?: TokenDtype;
  /** Seed for the subset selection when the mix itself sets none (the trainer passes the run's data seed). */
  seed?: number;
  /** Relative paths resolve against this directory (default: process.cwd()). */
  baseDir?: string;
  vocabSize?: number;
  tokenizer?: TokenizerIdentity;
}

function expandGlob(p: string): string[] {
  if (!p.includes('*')) return [p];
  const dir = path.dirname(p);
  const re = new RegExp(`^${path.basename(p).split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  if (!existsSync(dir)) throw notFound(dir, 'glob directory not found');
  const names = readdirSync(dir).filter((n) => re.test(n) && !n.endsWith('.docs.npy')).sort();
  if (names.length === 0) throw notFound(p, 'glob matches no files');
  return names.map((n) => path.join(dir, n));
}

export class DataMix {
  readonly spec: DataMixSpec;

  constructor(spec: DataMixSpec, origin?: string) {
    DataMix.validate(spec, origin);
    this.spec = structuredClone(spec);
  }

  static validate(spec: DataMixSpec, origin?: string): void {
    const bad = (m: string) => configInvalid(`data mix${spec?.name ? ` '${spec.name}'` : ''}: ${m}`, 'see configs/mixes/*.yaml for the format', origin);
    if (!spec || !Array.isArray(spec.sources) || spec.sources.length === 0) throw bad('needs a non-empty `sources` list');
    const names = new Set<string>();
    let w = 0, r = 0;
    for (const s of spec.sources) {
      if (!s || typeof s.name !== 'string' || !s.name) throw bad('every source needs a `name`');
      if (names.has(s.name)) throw bad(`duplicate source name '${s.name}'`);
      names.add(s.name);
      if (!Array.isArray(s.paths) || s.paths.length === 0 || s.paths.some((p) => typeof p !== 'string')) throw bad(`source '${s.name}' needs a non-empty \`paths\` list`);
      if ((s.weight === undefined) === (s.repeat === undefined)) throw bad(`source '${s.name}' needs exactly one of \`weight\` or \`repeat\``);
      if (s.weight !== undefined) {
        if (!(typeof s.weight === 'number' && s.weight > 0 && Number.isFinite(s.weight))) throw bad(`source '${s.name}': weight must be a positive number`);
        w++;
      }
      if (s.repeat !== undefined) {
        if (!(typeof s.repeat === 'number' && s.repeat >= 0 && Number.isFinite(s.repeat))) throw bad(`source '${s.name}': repeat must be a non-negative number`);
        r++;
      }
    }
    if (w && r) throw bad('use either weights or repetition factors for all sources, not both');
    if (spec.totalInstances !== undefined && !(Number.isSafeInteger(spec.totalInstances) && spec.totalInstances > 0)) throw bad('totalInstances must be a positive integer');
    if (spec.seed !== undefined && !(Number.isSafeInteger(spec.seed) && spec.seed >= 0)) throw bad('seed must be a non-negative integer');
  }

  static fromObject(o: unknown, origin?: string): DataMix {
    return new DataMix(o as DataMixSpec, origin);
  }

  static fromYAML(text: string, origin?: string): DataMix {
    let o: unknown;
    try {
      o = parseYaml(text);
    } catch (e) {
      throw configInvalid(`invalid YAML: ${(e as Error).message}`, 'fix the YAML syntax', origin);
    }
    return DataMix.fromObject(o, origin);
  }

  /** Loads a mix from a YAML file, or by name from `mixesDir` (default: configs/mixes under cwd). */
  static load(nameOrPath: string, mixesDir = path.resolve('configs', 'mixes')): DataMix {
    const file = existsSync(nameOrPath) ? nameOrPath : path.join(mixesDir, `${nameOrPath.replace(/\.ya?ml$/, '')}.yaml`);
    if (!existsSync(file)) throw notFound(file, `data mix '${nameOrPath}' not found`, `named mixes live in ${mixesDir}`);
    return DataMix.fromYAML(readFileSync(file, 'utf8'), file);
  }

  toObject(): DataMixSpec {
    return structuredClone(this.spec);
  }

  toYAML(): string {
    return toYaml(this.spec);
  }

  /** Opens the sources and realises the instance list (deterministic for a given seed). */
  realise(opts: RealiseOptions = {}): MixedDataset {
    const seqLen = opts.seqLen ?? this.spec.seqLen;
    const dtype = opts.dtype ?? this.spec.dtype ?? 'uint16';
    const seed = this.spec.seed ?? opts.seed ?? 0; // the mix's own seed wins; opts.seed is the run's default
    if (!seqLen) throw configInvalid('data mix: seqLen is required (mix.seqLen or the run\'s max_sequence_length)');
    const base = opts.baseDir ?? process.cwd();
    const datasets = this.spec.sources.map((s) => {
      const files = s.paths.flatMap((p) => expandGlob(path.resolve(base, p)));
      return MemMapDataset.openSync(files, { seqLen, dtype, metadata: { label: s.name }, vocabSize: opts.vocabSize, tokenizer: opts.tokenizer });
    });
    const n = datasets.map((d) => d.length);
    const S = n.length;
    const target = new Array<number>(S).fill(0);
    if (this.spec.sources[0]!.weight !== undefined) {
      const wsum = this.spec.sources.reduce((a, s) => a + s.weight!, 0);
      const w = this.spec.sources.map((s) => s.weight! / wsum);
      const T = this.spec.totalInstances ?? Math.floor(Math.min(...n.map((c, i) => c / w[i]!)));
      // Largest-remainder rounding so the targets sum to T exactly.
      const raw = w.map((x) => x * T);
      const fl = raw.map(Math.floor);
      let left = T - fl.reduce((a, b) => a + b, 0);
      const order = raw.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      for (const [, i] of order) { if (left <= 0) break; fl[i]!++; left--; }
      for (let i = 0; i < S; i++) target[i] = fl[i]!;
    } else {
      for (let i = 0; i < S; i++) target[i] = Math.round(this.spec.sources[i]!.repeat! * n[i]!);
    }
    const total = target.reduce((a, b) => a + b, 0);
    if (total === 0) throw configInvalid('data mix realises to zero instances', 'raise weights/repeat factors or add data');
    if (total > 2 ** 32) throw configInvalid(`data mix realises to ${total} instances (> 2^32)`);
    const instances = new Uint32Array(total);
    const sourceStart: number[] = [];
    let k = 0;
    for (let si = 0; si < S; si++) {
      sourceStart.push(k);
      const ns = n[si]!, ts = target[si]!;
      if (ns === 0 && ts > 0) throw configInvalid(`source '${this.spec.sources[si]!.name}' has no instances`);
      const full = Math.floor(ts / ns);
      for (let r = 0; r < full; r++) for (let q = 0; q < ns; q++) instances[k++] = q;
      const rem = ts - full * ns;
      if (rem > 0) {
        // A seeded subset: numpy-PCG64 shuffle of the source's instances, first `rem`, kept in file order.
        const perm = globalOrder(ns, (BigInt(seed) << 32n) | BigInt(si));
        const pick = perm.subarray(0, rem).slice().sort();
        instances.set(pick, k);
        k += rem;
      }
    }
    const tokensBefore = n.map((c) => c * seqLen);
    const sumBefore = tokensBefore.reduce((a, b) => a + b, 0);
    const rows: MixRow[] = this.spec.sources.map((s, i) => ({
      name: s.name,
      files: datasets[i]!.files.length,
      instancesBefore: n[i]!,
      tokensBefore: tokensBefore[i]!,
      fractionBefore: tokensBefore[i]! / sumBefore,
      instancesAfter: target[i]!,
      tokensAfter: target[i]! * seqLen,
      fractionAfter: target[i]! / total,
      factor: n[i]! ? target[i]! / n[i]! : 0,
    }));
    return new MixedDataset(this.spec.name ?? 'mix', datasets, instances, sourceStart, rows, seqLen);
  }
}

export interface MixedInstance extends Instance {
  /** Index in the realised mix (what the global order shuffles). */
  mixIndex: number;
  sourceName: string;
}

/** The realised mix: `length` instances; get(i) reads instance `instances[i]` of its source. */
export class MixedDataset {
  readonly length: number;
  constructor(
    readonly name: string,
    readonly datasets: MemMapDataset[],
    /** Per mix index: instance index inside its source's dataset. */
    readonly instances: Uint32Array,
    /** First mix index of each source. */
    readonly sourceStart: number[],
    readonly table: MixRow[],
    readonly seqLen: number,
  ) {
    this.length = instances.length;
  }

  sourceOf(i: number): number {
    let s = 0;
    while (s + 1 < this.sourceStart.length && this.sourceStart[s + 1]! <= i) s++;
    return s;
  }

  get(i: number): MixedInstance {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.length) throw configInvalid(`mix index ${i} out of range [0, ${this.length})`);
    const s = this.sourceOf(i);
    const inst = this.datasets[s]!.get(this.instances[i]!);
    return { ...inst, index: i, mixIndex: i, sourceName: this.table[s]!.name };
  }

  /** Tokens per source before/after mixing, as a printable table. */
  formatTable(): string {
    return formatMixTable(this.table);
  }

  close(): void {
    for (const d of this.datasets) d.close();
  }
}

export function formatMixTable(rows: MixRow[]): string {
  const fmt = (x: number) => x.toLocaleString('en-US');
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const head = ['source', 'files', 'tokens before', 'frac before', 'tokens after', 'frac after', 'factor'];
  const body = rows.map((r) => [r.name, String(r.files), fmt(r.tokensBefore), pct(r.fractionBefore), fmt(r.tokensAfter), pct(r.fractionAfter), `${r.factor.toFixed(3)}x`]);
  const tot = ['total', String(rows.reduce((a, r) => a + r.files, 0)), fmt(rows.reduce((a, r) => a + r.tokensBefore, 0)), '100.00%', fmt(rows.reduce((a, r) => a + r.tokensAfter, 0)), '100.00%', ''];
  const all = [head, ...body, tot];
  const w = head.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join('  ');
  return [line(head), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line), w.map((x) => '-'.repeat(x)).join('  '), line(tot)].join('\n');
}
