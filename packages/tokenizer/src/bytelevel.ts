/**
 * GPT-2 byte ↔ unicode-char table (`bytes_to_unicode`): printable bytes map to themselves, the rest
 * to U+0100.. so every byte sequence becomes a printable string. Shared by the ByteLevel
 * pre-tokenizer, decoder, tiktoken import and trainer.
 */
export const BYTE_TO_CHAR: string[] = new Array(256);
/** char code → byte, or -1 when the char is not in the byte-level alphabet. */
export const CHAR_TO_BYTE = new Int16Array(0x200).fill(-1);

{
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const cp = printable(b) ? b : 256 + n++;
    BYTE_TO_CHAR[b] = String.fromCharCode(cp);
    CHAR_TO_BYTE[cp] = b;
  }
}

/** Byte-level string of raw bytes. */
export function bytesToByteLevel(bytes: ArrayLike<number>, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += BYTE_TO_CHAR[bytes[i]!];
  return s;
}

/** Bytes of a byte-level string, or null when a char is outside the alphabet. */
export function byteLevelToBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const b = c < 0x200 ? CHAR_TO_BYTE[c]! : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}

const encoder = new TextEncoder();
/** UTF-8 bytes of `s` (lone surrogates become U+FFFD, as when Rust receives a JS string). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * Writes the UTF-8 bytes of s[start, end) into `out` (which must hold 3 bytes per UTF-16 unit) and
 * returns the byte count. Hand-rolled because TextEncoder's per-call overhead dominates for the
 * short pieces a pre-tokenizer produces. Input must be well-formed (see Tokenizer.encode).
 */
export function utf8Into(s: string, start: number, end: number, out: Uint8Array | Int32Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < end) {
      const d = s.charCodeAt(i + 1);
      c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      i++;
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 63);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    } else {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}
