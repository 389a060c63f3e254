/** A tiny byte-level tokenizer (ids 0..255 = UTF-8 bytes, 256 = eos) for tests that need no tokenizer.json. */
export class ByteTokenizer {
  readonly eosTokenId = 256;
  readonly vocabSize = 257;
  encode(text: string): number[] {
    return Array.from(Buffer.from(text, 'utf8'));
  }
  encodeBatch(texts: readonly string[]): number[][] {
    return texts.map((t) => this.encode(t));
  }
  decode(ids: ArrayLike<number>): string {
    return Buffer.from(Array.from(ids).filter((x) => x < 256)).toString('utf8');
  }
  hash(): string {
    return 'byte-tokenizer-v1';
  }
}
