/**
 * HF pre-tokenizers: Split (regex or string, all five behaviours, invert), ByteLevel (GPT-2 regex,
 * add_prefix_space), Digits, WhitespaceSplit and Sequence. A pre-tokenizer turns a text segment into
 * pieces; BPE then runs on each piece independently (which is what makes the piece cache work).
 *
 * Pieces are emitted into two parallel arrays (strings, start offsets in the segment) instead of
 * objects, to keep the hot path allocation-light.
 */
import { TokenizerError, unsupported } from './errors.js';
import { compilePattern, WS_RANGES } from './regex.js';
import { makeScanner, SCANNABLE } from './scanner.js';

/** The GPT-2 pattern the ByteLevel pre-tokenizer applies when `use_regex` is true. */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
/** Splits s; pushes pieces and their start offsets (relative to s; -1 marks a synthetic prefix). */
type Step = (s: string, out: string[], offs: number[], base: number) => void;

export interface PreTokenizer {
  /** Pushes the pieces of `s` into `out` and their start offsets (in s) into `offs`. */
  split(s: string, out: string[], offs: number[]): void;
  /** True when pieces must be mapped to the byte-level alphabet before BPE. */
  byteLevel: boolean;
  /** The ByteLevel step's add_prefix_space (decoder/offsets need it). */
  addPrefixSpace: boolean;
}

export function regexStep(re: RegExp, behavior: Behavior, invert: boolean): Step {
  // Fast path (GPT-2/cl100k style): the matches themselves are the pieces.
  if ((behavior === 'Isolated' && !invert) || (behavior === 'Removed' && invert)) {
    const isolated = behavior === 'Isolated';
    return (s, out, offs, base) => {
      re.lastIndex = 0;
      let prev = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(s)) !== null) {
        const a = m.index;
        const t = m[0];
        if (t.length === 0) { re.lastIndex++; continue; }
        if (isolated && a > prev) { out.push(s.slice(prev, a)); offs.push(base + prev); }
        out.push(t);
        offs.push(base + a);
        prev = a + t.length;
      }
      if (isolated && prev < s.length) { out.push(s.slice(prev)); offs.push(base + prev); }
    };
  }
  return (s, out, offs, base) => {
    // Generic path: (start, end, isMatch) list as in HF's Pattern::find_matches, then the behaviour.
    const spans: [number, number, boolean][] = [];
    re.lastIndex = 0;
    let prev = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(s)) !== null) {
      const a = m.index;
      const b = a + m[0].length;
      if (b === a) re.lastIndex++;
      if (prev !== a) spans.push([prev, a, invert]);
      spans.push([a, b, !invert]);
      prev = b;
    }
    if (prev !== s.length) spans.push([prev, s.length, invert]);
    let res: [number, number][] = [];
    if (behavior === 'Removed') res = spans.filter((x) => !x[2]).map((x) => [x[0], x[1]]);
    else if (behavior === 'Isolated') res = spans.map((x) => [x[0], x[1]]);
    else if (behavior === 'MergedWithPrevious' || behavior === 'Contiguous') {
      let prevMatch = false;
      for (const [a, b, isM] of spans) {
        const merge = behavior === 'Contiguous' ? isM === prevMatch : isM && !prevMatch;
        if (merge && res.length) res[res.length - 1]![1] = b;
        else res.push([a, b]);
        prevMatch = isM;
      }
    } else if (behavior === 'MergedWithNext') {
      let prevMatch = false;
      for (let k = spans.length - 1; k >= 0; k--) {
        const [a, b, isM] = spans[k]!;
        if (isM && !prevMatch && res.length) res[res.length - 1]![0] = a;
        else res.push([a, b]);
        prevMatch = isM;
      }
      res.reverse();
    } else throw unsupported(`Split behavior ${String(behavior)}`);
    for (const [a, b] of res) {
      if (b > a) { out.push(s.slice(a, b)); offs.push(base + a); }
    }
  };
}

const BEHAVIORS = new Set(['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous']);

interface Built { steps: Step[]; byteLevel: boolean; addPrefixSpace: boolean }

function build(cfg: Record<string, unknown>, acc: Built): void {
  const afterByteLevel = (name: string) => {
    if (acc.byteLevel) throw unsupported(`pre_tokenizer ${name} after ByteLevel`, 'it would split byte-level text');
  };
  switch (cfg.type) {
    case 'Sequence': {
      const list = cfg.pretokenizers;
      if (!Array.isArray(list)) throw new TokenizerError('Sequence pre_tokenizer without a pretokenizers list');
      for (const p of list) build(p as Record<string, unknown>, acc);
      return;
    }
    case 'Split': {
      afterByteLevel('Split');
      const pat = cfg.pattern as Record<string, string> | undefined;
      if (!pat || (pat.String === undefined && pat.Regex === undefined)) throw new TokenizerError('Split pre_tokenizer without pattern');
      const behavior = String(cfg.behavior ?? 'Isolated') as Behavior;
      if (!BEHAVIORS.has(behavior)) throw unsupported(`Split behavior ${behavior}`);
      const invert = cfg.invert === true;
      const known = pat.Regex !== undefined ? SCANNABLE[pat.Regex] : undefined;
      // the known patterns match every char, so Isolated and Removed+invert both yield the matches
      if (known && ((behavior === 'Isolated' && !invert) || (behavior === 'Removed' && invert))) {
        acc.steps.push(makeScanner(known[0], known[1]));
        return;
      }
      const re = pat.String !== undefined ? compilePattern(pat.String, true) : compilePattern(pat.Regex!);
      acc.steps.push(regexStep(re, behavior, invert));
      return;
    }
    case 'Digits': {
      afterByteLevel('Digits');
      acc.steps.push(regexStep(new RegExp(cfg.individual_digits ? '\\p{N}' : '\\p{N}+', 'gu'), 'Isolated', false));
      return;
    }
    case 'WhitespaceSplit': {
      afterByteLevel('WhitespaceSplit');
      acc.steps.push(regexStep(new RegExp(`[${WS_RANGES}]+`, 'gu'), 'Removed', false));
      return;
    }
    case 'ByteLevel': {
      if (acc.byteLevel && (cfg.use_regex !== false || cfg.add_prefix_space === true)) throw unsupported('pre_tokenizer ByteLevel twice');
      if (cfg.add_prefix_space === true) {
        acc.addPrefixSpace = true;
        // HF prepends a space to every piece that does not already start with one.
        acc.steps.push((s, out, offs, base) => {
          if (s.startsWith(' ')) { out.push(s); offs.push(base); } else { out.push(' ' + s); offs.push(base - 1); }
        });
      }
      if (cfg.use_regex !== false) acc.steps.push(makeScanner('gpt2', false));
      acc.byteLevel = true;
      return;
    }
    default:
      throw unsupported(`pre_tokenizer ${String(cfg.type)}`);
  }
}

export function buildPreTokenizer(cfg: unknown): PreTokenizer {
  const acc: Built = { steps: [], byteLevel: false, addPrefixSpace: false };
  if (cfg !== null && cfg !== undefined) {
    if (typeof cfg !== 'object') throw new TokenizerError('pre_tokenizer must be an object');
    build(cfg as Record<string, unknown>, acc);
  }
  const steps = acc.steps;
  let split: PreTokenizer['split'];
  if (steps.length === 0) split = (s, out, offs) => { if (s.length) { out.push(s); offs.push(0); } };
  else if (steps.length === 1) { const st = steps[0]!; split = (s, out, offs) => st(s, out, offs, 0); }
  else {
    split = (s, out, offs) => {
      let cur = [s];
      let curOff = [0];
      for (const st of steps) {
        const nOut: string[] = [];
        const nOff: number[] = [];
        for (let k = 0; k < cur.length; k++) {
          // a synthetic prefix space shifts local offsets by one
          const p = cur[k]!;
          st(p, nOut, nOff, curOff[k]!);
        }
        cur = nOut;
        curOff = nOff;
      }
      for (let k = 0; k < cur.length; k++) { out.push(cur[k]!); offs.push(curOff[k]!); }
    };
  }
  return { split, byteLevel: acc.byteLevel, addPrefixSpace: acc.addPrefixSpace };
}
