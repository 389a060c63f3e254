/**
 * An HF tokenizer folder: tokenizer.json (required) + tokenizer_config.json + special_tokens_map.json
 * (both optional). Reads the chat template and the special tokens by name the way transformers'
 * `from_pretrained` does: special_tokens_map.json entries override tokenizer_config.json ones; a
 * token may be a string or an AddedToken object `{ "content": ... }`; `chat_template` may be a
 * string or a list of `{ name, template }` (the one named "default" is used).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenizerError } from './errors.js';

/** Names transformers passes to the chat template (SpecialTokensMixin.SPECIAL_TOKENS_ATTRIBUTES). */
export const SPECIAL_TOKEN_NAMES = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token', 'additional_special_tokens'] as const;

export interface ChatConfig {
  /** Jinja chat template; undefined = the default for OLMo tokenizers (see Tokenizer.applyChatTemplate). */
  template?: string;
  /** Special tokens by name, as strings (only the ones that are set). */
  specialTokens: Record<string, string | string[]>;
}

export interface PretrainedFiles {
  tokenizerJson: string;
  chat: ChatConfig;
}

async function readJsonObject(path: string, required: boolean): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new TokenizerError(`cannot read ${path}: ${(e as Error).message}`, 'an HF tokenizer folder holds tokenizer.json (+ tokenizer_config.json, special_tokens_map.json)', 'TOKENIZER_INVALID', { cause: e });
  }
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) {
    throw new TokenizerError(`${path} does not parse: ${(e as Error).message}`, 'the file is truncated or not JSON', 'TOKENIZER_INVALID', { cause: e });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new TokenizerError(`${path} must hold a JSON object`);
  return v as Record<string, unknown>;
}

function tokenString(v: unknown, what: string): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as Record<string, unknown>).content === 'string') return (v as Record<string, string>).content;
  throw new TokenizerError(`${what} must be a string or {"content": string}, got ${JSON.stringify(v)}`);
}

function chatTemplateOf(v: unknown, path: string): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.find((t) => t && typeof t === 'object' && (t as Record<string, unknown>).name === 'default');
    const tpl = (named as Record<string, unknown> | undefined)?.template;
    if (typeof tpl === 'string') return tpl;
  }
  throw new TokenizerError(`${path}: chat_template must be a string or a list of {name, template} with a "default" entry`);
}

/** Reads the three files of an HF tokenizer folder. */
export async function readPretrained(dir: string): Promise<PretrainedFiles> {
  let tokenizerJson: string;
  const tjPath = join(dir, 'tokenizer.json');
  try {
    tokenizerJson = await readFile(tjPath, 'utf8');
  } catch (e) {
    throw new TokenizerError(`cannot read ${tjPath}: ${(e as Error).message}`, 'Tokenizer.fromPretrained needs a folder with a tokenizer.json', 'TOKENIZER_INVALID', { cause: e });
  }
  const cfgPath = join(dir, 'tokenizer_config.json'), mapPath = join(dir, 'special_tokens_map.json');
  const cfg = (await readJsonObject(cfgPath, false)) ?? {};
  const map = (await readJsonObject(mapPath, false)) ?? {};
  const specialTokens: Record<string, string | string[]> = {};
  for (const src of [cfg, map]) {
    for (const name of SPECIAL_TOKEN_NAMES) {
      if (!(name in src)) continue;
      if (name === 'additional_special_tokens') {
        const list = src[name];
        if (!Array.isArray(list)) throw new TokenizerError(`additional_special_tokens must be a list`);
        specialTokens[name] = list.map((t, i) => tokenString(t, `additional_special_tokens[${i}]`) ?? '');
      } else {
        const s = tokenString(src[name], name);
        if (s === undefined) delete specialTokens[name];
        else specialTokens[name] = s;
      }
    }
  }
  return { tokenizerJson, chat: { template: chatTemplateOf(cfg.chat_template, cfgPath), specialTokens } };
}
