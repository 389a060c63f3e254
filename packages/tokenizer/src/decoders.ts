/**
 * HF decoders: ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace and Sequence, as
 * `decode_chain` over token strings. A decoder of exactly ByteLevel (every OLMo tokenizer) takes
 * the fast path in Tokenizer.decode: per-id byte arrays concatenated and decoded once.
 */
import { byteLevelToBytes } from './bytelevel.js';
import { TokenizerError, unsupported } from './errors.js';

export type Decoder = (tokens: string[]) => string[];

const lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const enc = new TextEncoder();

/** ByteLevel decode: chars → bytes (raw UTF-8 for tokens outside the alphabet), lossy UTF-8. */
export function byteLevelDecode(tokens: string[]): string {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const t of tokens) {
    const b = byteLevelToBytes(t) ?? enc.encode(t);
    parts.push(b);
    total += b.length;
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return lossy.decode(all);
}

export function buildDecoder(cfg: unknown): { decode: Decoder; byteLevelOnly: boolean } | null {
  if (cfg === null || cfg === undefined) return null;
  if (typeof cfg !== 'object') throw new TokenizerError('decoder must be an object');
  const c = cfg as Record<string, unknown>;
  switch (c.type) {
    case 'ByteLevel': return { decode: (t) => [byteLevelDecode(t)], byteLevelOnly: true };
    case 'ByteFallback':
      return {
        byteLevelOnly: false,
        decode: (tokens) => {
          // consecutive <0xXX> tokens become bytes, decoded lossily as one group
          const out: string[] = [];
          let bytes: number[] = [];
          const flush = () => {
            if (bytes.length) {
              const ok = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
              try { out.push(ok.decode(new Uint8Array(bytes))); } catch { for (let i = 0; i < bytes.length; i++) out.push('\uFFFD'); }
              bytes = [];
            }
          };
          for (const t of tokens) {
            const m = /^<0x([0-9A-F]{2})>$/.exec(t);
            if (m) bytes.push(parseInt(m[1]!, 16));
            else { flush(); out.push(t); }
          }
          flush();
          return out;
        },
      };
    case 'Fuse': return { decode: (t) => [t.join('')], byteLevelOnly: false };
    case 'Strip': {
      const content = String(c.content ?? ' ');
      const start = Number(c.start ?? 0);
      const stop = Number(c.stop ?? 0);
      return {
        byteLevelOnly: false,
        decode: (tokens) => tokens.map((t) => {
          const cs = Array.from(t);
          let a = 0;
          let b = cs.length;
          for (let k = 0; k < start && a < b && cs[a] === content; k++) a++;
          for (let k = 0; k < stop && b > a && cs[b - 1] === content; k++) b--;
          return cs.slice(a, b).join('');
        }),
      };
    }
    case 'Replace': {
      const pat = c.pattern as Record<string, string> | undefined;
      if (!pat || pat.String === undefined) throw unsupported('decoder Replace', 'only String patterns');
      const from = pat.String;
      const to = String(c.content ?? '');
      return { byteLevelOnly: false, decode: (tokens) => tokens.map((t) => t.split(from).join(to)) };
    }
    case 'Metaspace': {
      const rep = String(c.replacement ?? '▁');
      const prepend = c.prepend_scheme !== 'never' && c.add_prefix_space !== false;
      return {
        byteLevelOnly: false,
        decode: (tokens) => tokens.map((t, i) => {
          const s = t.split(rep).join(' ');
          return i === 0 && prepend && s.startsWith(' ') ? s.slice(1) : s;
        }),
      };
    }
    case 'Sequence': {
      const list = c.decoders;
      if (!Array.isArray(list)) throw new TokenizerError('Sequence decoder without a decoders list');
      const ds = list.map(buildDecoder).filter((d): d is NonNullable<typeof d> => d !== null);
      return {
        byteLevelOnly: ds.length === 1 && ds[0]!.byteLevelOnly,
        decode: (tokens) => {
          for (const d of ds) tokens = d.decode(tokens);
          return tokens;
        },
      };
    }
    default:
      throw unsupported(`decoder ${String(c.type)}`);
  }
}
