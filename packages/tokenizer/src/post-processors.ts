/**
 * HF post-processors: TemplateProcessing (single sequence), Bert/Roberta (special tokens around the
 * sequence), ByteLevel (offset trimming only) and Sequence. They run only when the caller asks for
 * special tokens, except ByteLevel offset trimming which HF applies on every encode.
 */
import { TokenizerError, unsupported } from './errors.js';
import { tokenIdOrThrow } from './token-id.js';

export interface PostProcessor {
  /** Ids placed before / after the sequence when special tokens are requested; null = no template. */
  template: { before: number[]; after: number[] } | null;
  /** ByteLevel trim_offsets: drop leading/trailing spaces from offsets. */
  trimOffsets: boolean;
  addPrefixSpace: boolean;
}

function tokenId(v: unknown, name: string): number {
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string') throw new TokenizerError(`post_processor ${name} token must be [string, id]`);
  return tokenIdOrThrow(v[1], `post_processor ${name}`);
}

function build(c: Record<string, unknown>, acc: PostProcessor): void {
  switch (c.type) {
    case 'ByteLevel':
      acc.trimOffsets = c.trim_offsets !== false;
      acc.addPrefixSpace = c.add_prefix_space === true;
      return;
    case 'TemplateProcessing': {
      const single = c.single;
      const specials = (c.special_tokens ?? {}) as Record<string, { ids?: number[] }>;
      if (!Array.isArray(single)) throw new TokenizerError('TemplateProcessing without a single template');
      const before: number[] = [];
      const after: number[] = [];
      let seen = false;
      for (const piece of single as Record<string, Record<string, unknown>>[]) {
        if (piece.Sequence) {
          if (seen) throw unsupported('TemplateProcessing', 'sequence used twice in single template');
          seen = true;
        } else if (piece.SpecialToken) {
          const id = String(piece.SpecialToken.id);
          const ids = specials[id]?.ids;
          if (!Array.isArray(ids)) throw new TokenizerError(`TemplateProcessing special token ${id} has no ids`);
          (seen ? after : before).push(...ids.map((x, j) => tokenIdOrThrow(x, `TemplateProcessing special token ${id} ids[${j}]`)));
        } else throw new TokenizerError('TemplateProcessing piece is neither Sequence nor SpecialToken');
      }
      acc.template = { before, after };
      return;
    }
    case 'BertProcessing':
      acc.template = { before: [tokenId(c.cls, 'cls')], after: [tokenId(c.sep, 'sep')] };
      return;
    case 'RobertaProcessing':
      acc.template = { before: [tokenId(c.cls, 'cls')], after: [tokenId(c.sep, 'sep')] };
      acc.trimOffsets = c.trim_offsets !== false;
      acc.addPrefixSpace = c.add_prefix_space !== false;
      return;
    case 'Sequence': {
      const list = c.processors;
      if (!Array.isArray(list)) throw new TokenizerError('Sequence post_processor without processors');
      for (const p of list) build(p as Record<string, unknown>, acc);
      return;
    }
    default:
      throw unsupported(`post_processor ${String(c.type)}`);
  }
}

export function buildPostProcessor(cfg: unknown): PostProcessor {
  const acc: PostProcessor = { template: null, trimOffsets: false, addPrefixSpace: false };
  if (cfg !== null && cfg !== undefined) {
    if (typeof cfg !== 'object') throw new TokenizerError('post_processor must be an object');
    build(cfg as Record<string, unknown>, acc);
  }
  return acc;
}
