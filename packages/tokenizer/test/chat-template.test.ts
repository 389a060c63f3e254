/**
 * Chat templates. Every expected string below was derived by hand from the Jinja semantics that
 * HF transformers uses (trim_blocks + lstrip_blocks: the newline after a block tag `%}` is dropped,
 * the one after an expression `}}` is kept), not by running our renderer.
 */
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ChatMessageError, ChatTemplateError, OLMO2_CHAT_TEMPLATE, OLMO_CHAT_TEMPLATE, TULU_CHAT_TEMPLATE, OlmoError,
  renderChatTemplate, Tokenizer, type ChatMessage,
} from '../src/index.js';
import { hasShared, hf, tokenizersDir } from './helpers.js';

// HF docs' ChatML template ("chat_templating" guide).
const CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
// meta-llama/Llama-2-7b-chat-hf tokenizer_config.json chat_template (escapes as in the JSON-decoded source).
const LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

const EOT = '<|endoftext|>';
const sys = (content: string): ChatMessage => ({ role: 'system', content });
const user = (content: string): ChatMessage => ({ role: 'user', content });
const asst = (content: string): ChatMessage => ({ role: 'assistant', content });
const convo = [sys('You are terse.'), user('Hi'), asst('Hello!'), user('Capital of France?')];

describe('renderChatTemplate matches HF transformers', () => {
  it('OLMo-2 Instruct template (bos = eos = <|endoftext|>), generation prompt', () => {
    const got = renderChatTemplate(OLMO2_CHAT_TEMPLATE, convo, { addGenerationPrompt: true, specialTokens: { bos_token: EOT, eos_token: EOT } });
    expect(got).toBe(`${EOT}<|system|>\nYou are terse.\n<|user|>\nHi\n<|assistant|>\nHello!${EOT}\n<|user|>\nCapital of France?\n<|assistant|>\n`);
  });

  it('OLMo-2 template: final assistant turn gets eos and no trailing newline', () => {
    const got = renderChatTemplate(OLMO2_CHAT_TEMPLATE, convo.slice(0, 3), { specialTokens: { bos_token: EOT, eos_token: EOT } });
    expect(got).toBe(`${EOT}<|system|>\nYou are terse.\n<|user|>\nHi\n<|assistant|>\nHello!${EOT}`);
  });

  it('OLMo-7B-Instruct template (newlines between block tags trimmed; system dropped)', () => {
    const got = renderChatTemplate(OLMO_CHAT_TEMPLATE, convo, { addGenerationPrompt: true, specialTokens: { eos_token: EOT } });
    expect(got).toBe(`${EOT}<|user|>\nHi\n<|assistant|>\nHello!${EOT}\n<|user|>\nCapital of France?\n<|assistant|>\n`);
  });

  it('Tulu template, two full turns, no generation prompt', () => {
    const got = renderChatTemplate(TULU_CHAT_TEMPLATE, [user('a'), asst('b'), user('c'), asst('d')], { specialTokens: { eos_token: '</s>' } });
    expect(got).toBe('<|user|>\na\n<|assistant|>\nb</s>\n<|user|>\nc\n<|assistant|>\nd</s>');
  });

  it('ChatML', () => {
    expect(renderChatTemplate(CHATML, convo, { addGenerationPrompt: true })).toBe(
      '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n' +
      '<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\n');
    // Without the generation prompt the trailing header is absent.
    expect(renderChatTemplate(CHATML, [user('x')])).toBe('<|im_start|>user\nx<|im_end|>\n');
  });

  it('Llama-2 chat: system folded into the first user turn, strip(), bos/eos per turn', () => {
    const got = renderChatTemplate(LLAMA2, [sys('You are terse.'), user('  Hi  '), asst('  Hello!\n'), user('Capital of France?')], { specialTokens: { bos_token: '<s>', eos_token: '</s>' } });
    // strip() trims only the ends of the folded content: the first user turn's inner leading spaces stay.
    expect(got).toBe('<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\n  Hi [/INST] Hello! </s><s>[INST] Capital of France? [/INST]');
  });

  it('unset special tokens render as empty (HF passes only the ones that are set)', () => {
    expect(renderChatTemplate(OLMO2_CHAT_TEMPLATE, [user('q')], { addGenerationPrompt: true, specialTokens: { eos_token: EOT } })).toBe('<|user|>\nq\n<|assistant|>\n');
  });
});

describe('bad input', () => {
  it('raise_exception in the template -> ChatTemplateError with its message', () => {
    let err: unknown;
    try { renderChatTemplate(LLAMA2, [user('a'), user('b')], { specialTokens: { bos_token: '<s>', eos_token: '</s>' } }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ChatTemplateError);
    expect((err as OlmoError).code).toBe('CHAT_TEMPLATE_ERROR');
    expect((err as Error).message).toContain('Conversation roles must alternate');
  });

  it('a template that does not parse / fails at run time -> ChatTemplateError', () => {
    expect(() => renderChatTemplate('{% for m in messages %}{{ m.content }', [user('a')])).toThrow(ChatTemplateError);
    expect(() => renderChatTemplate('{{ messages[0].content.nosuchmethod() }}', [user('a')])).toThrow(ChatTemplateError);
    expect(() => renderChatTemplate('', [user('a')])).toThrow(ChatTemplateError);
  });

  it('unknown roles, non-string content, empty lists -> ChatMessageError', () => {
    for (const bad of [[{ role: 'narrator', content: 'x' }], [{ role: 'user', content: 3 }], [], 'hi', [null]]) {
      let err: unknown;
      try { renderChatTemplate(CHATML, bad as ChatMessage[]); } catch (e) { err = e; }
      expect(err, JSON.stringify(bad)).toBeInstanceOf(ChatMessageError);
      expect((err as OlmoError).code).toBe('CHAT_MESSAGE_INVALID');
    }
  });
});

describe.skipIf(!hasShared)('Tokenizer.applyChatTemplate / fromPretrained (OLMo tokenizer)', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
  const file = 'allenai_gpt-neox-olmo-dolma-v1_5.json';

  it('defaults to the OLMo-2 template; tokenize = the HF tokenizers ids of the rendered text', async () => {
    const tok = await Tokenizer.fromFile(join(tokenizersDir, file));
    const text = tok.applyChatTemplate(convo, { addGenerationPrompt: true, tokenize: false });
    expect(text).toBe(`${EOT}<|system|>\nYou are terse.\n<|user|>\nHi\n<|assistant|>\nHello!${EOT}\n<|user|>\nCapital of France?\n<|assistant|>\n`);
    const theirs = hf.Tokenizer.fromFile(join(tokenizersDir, file));
    const want = (await theirs.encode(text, undefined, { addSpecialTokens: false })).getIds();
    expect(tok.applyChatTemplate(convo, { addGenerationPrompt: true })).toEqual(want);
    expect(want[0]).toBe(tok.eosTokenId); // the leading <|endoftext|> is one special token
  });

  it('fromPretrained reads chat_template (named list), AddedToken eos, and special_tokens_map overrides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'olmo-chat-'));
    dirs.push(dir);
    copyFileSync(join(tokenizersDir, file), join(dir, 'tokenizer.json'));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({
      eos_token: { content: EOT, lstrip: false }, bos_token: 'ignored-by-map', pad_token: EOT,
      chat_template: [{ name: 'tool_use', template: 'nope' }, { name: 'default', template: CHATML.replace("'<|im_end|>'", 'eos_token + bos_token') }],
    }));
    writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify({ bos_token: '<|padding|>' }));
    const tok = await Tokenizer.fromPretrained(dir);
    expect(tok.chat.specialTokens).toMatchObject({ eos_token: EOT, bos_token: '<|padding|>', pad_token: EOT });
    expect(tok.padTokenId).toBe(tok.eosTokenId);
    expect(tok.applyChatTemplate([user('x')], { tokenize: false })).toBe(`<|im_start|>user\nx${EOT}<|padding|>\n`);
  });

  it('a tokenizer without a template and a non-OLMo eos -> ChatTemplateError; missing folder -> TOKENIZER_INVALID', async () => {
    const tok = await Tokenizer.fromFile(join(tokenizersDir, file), { eosToken: '<|padding|>' });
    expect(() => tok.applyChatTemplate([user('x')])).toThrow(ChatTemplateError);
    await expect(Tokenizer.fromPretrained(join(tmpdir(), 'no-such-olmo-dir'))).rejects.toMatchObject({ code: 'TOKENIZER_INVALID' });
  });
});
