/**
 * Chat templates: renders a tokenizer_config.json `chat_template` (Jinja) the way HF transformers'
 * `apply_chat_template` does, with `@huggingface/jinja` (which, like transformers' sandboxed
 * environment, uses trim_blocks + lstrip_blocks).
 *
 * Template variables, as transformers passes them: `messages`, `add_generation_prompt`, every
 * special token of the tokenizer as a string (`bos_token`, `eos_token`, `unk_token`, `sep_token`,
 * `pad_token`, `cls_token`, `mask_token`, `additional_special_tokens`; only those that are set —
 * an unset one is undefined and renders as ''), the caller's extra variables, and the
 * `raise_exception(msg)` global (the renderer's own). Rendering errors (Jinja syntax, a `raise_exception` call, a
 * runtime error) become `ChatTemplateError` (code CHAT_TEMPLATE_ERROR).
 */
import { Template } from '@huggingface/jinja';
import { OlmoError } from './errors.js';

export type ChatRole = 'system' | 'user' | 'assistant';
export const CHAT_ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/**
 * OLMo-2 Instruct's template (the Tulu 3 template with a leading bos_token; OLMo-2 sets
 * bos_token = `<|endoftext|>`). Source: open-instruct `open_instruct/dataset_transformation.py`,
 * CHAT_TEMPLATES["tulu"], and allenai/OLMo-2-1124-*-Instruct tokenizer_config.json. The default
 * for OLMo tokenizers (see `Tokenizer.applyChatTemplate`).
 */
export const OLMO2_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}{{ '<|system|>\n' + message['content'] + '\n' }}" +
  "{% elif message['role'] == 'user' %}{{ '<|user|>\n' + message['content'] + '\n' }}" +
  "{% elif message['role'] == 'assistant' %}{% if not loop.last %}{{ '<|assistant|>\n'  + message['content'] + eos_token + '\n' }}" +
  "{% else %}{{ '<|assistant|>\n'  + message['content'] + eos_token }}{% endif %}{% endif %}" +
  "{% if loop.last and add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}{% endfor %}";

/**
 * OLMo-7B-Instruct's template (Feb 2024; Tulu 2 format, system messages are dropped). Source:
 * allenai/OLMo-7B-Instruct tokenizer_config.json, reproduced as CHAT_TEMPLATES["olmo"] in
 * open-instruct `open_instruct/dataset_transformation.py`.
 */
export const OLMO_CHAT_TEMPLATE =
  "{{ eos_token }}{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] }}\n" +
  "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n" +
  "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

/** Tulu 2/3 template (open-instruct CHAT_TEMPLATES["tulu"]): OLMO2_CHAT_TEMPLATE without bos. */
export const TULU_CHAT_TEMPLATE = OLMO2_CHAT_TEMPLATE.slice('{{ bos_token }}'.length);

/** A chat template that cannot be rendered (syntax error, `raise_exception`, runtime error). */
export class ChatTemplateError extends OlmoError {
  constructor(message: string, hint = 'check the chat_template Jinja source and the messages passed to it', options?: { cause?: unknown }) {
    super('CHAT_TEMPLATE_ERROR', message, hint, options);
  }
}

/** Messages that are not a list of {role: system|user|assistant, content: string}. */
export class ChatMessageError extends OlmoError {
  constructor(message: string, hint = `messages are [{ "role": ${CHAT_ROLES.map((r) => `"${r}"`).join('|')}, "content": string }, ...]`) {
    super('CHAT_MESSAGE_INVALID', message, hint);
  }
}

/** Checks the shape of a message list; returns it typed. */
export function validateMessages(messages: unknown, where = 'messages'): ChatMessage[] {
  if (!Array.isArray(messages)) throw new ChatMessageError(`${where} must be an array, got ${messages === null ? 'null' : typeof messages}`);
  if (messages.length === 0) throw new ChatMessageError(`${where} is empty`);
  messages.forEach((m, i) => {
    if (!m || typeof m !== 'object') throw new ChatMessageError(`${where}[${i}] must be an object`);
    const { role, content } = m as Record<string, unknown>;
    if (!CHAT_ROLES.includes(role as ChatRole)) throw new ChatMessageError(`${where}[${i}] has unknown role ${JSON.stringify(role)}`);
    if (typeof content !== 'string') throw new ChatMessageError(`${where}[${i}] (${String(role)}) content must be a string, got ${content === null ? 'null' : typeof content}`);
  });
  return messages as ChatMessage[];
}

export interface RenderChatOptions {
  /** Append the assistant header so the model's answer follows (HF `add_generation_prompt`). Default false. */
  addGenerationPrompt?: boolean;
  /** Special tokens by name (`bos_token`, `eos_token`, …) as strings; unset ones are left undefined. */
  specialTokens?: Record<string, string | string[]>;
  /** Extra template variables (HF `**kwargs` of apply_chat_template). */
  variables?: Record<string, unknown>;
}

const templateCache = new Map<string, Template>();

function compile(source: string): Template {
  let t = templateCache.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new ChatTemplateError(`chat template does not parse: ${(e as Error).message}`, 'the chat_template is not valid Jinja', { cause: e });
    }
    if (templateCache.size > 64) templateCache.clear();
    templateCache.set(source, t);
  }
  return t;
}

/** Renders `template` for `messages` (validated first) with HF transformers' variables. */
export function renderChatTemplate(template: string, messages: readonly ChatMessage[], opts: RenderChatOptions = {}): string {
  if (typeof template !== 'string' || template.length === 0) throw new ChatTemplateError('chat template must be a non-empty string');
  const msgs = validateMessages(messages);
  const tpl = compile(template);
  const vars: Record<string, unknown> = {
    ...opts.specialTokens,
    ...opts.variables,
    // Plain copies: the renderer must not see (or mutate) the caller's objects.
    messages: msgs.map((m) => ({ ...m })),
    add_generation_prompt: opts.addGenerationPrompt ?? false,
    // raise_exception(msg) is a renderer global (it throws Error(msg)), as in transformers.
  };
  try {
    return tpl.render(vars);
  } catch (e) {
    throw new ChatTemplateError(`chat template failed to render: ${(e as Error).message}`, undefined, { cause: e });
  }
}
