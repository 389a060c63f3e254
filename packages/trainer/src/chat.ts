/**
 * `olmo chat --model DIR [--tokenizer PATH] [--system "..."] [--prompt "..."] [--max-new-tokens N]
 *  [--temperature T] [--top-k K] [--seed S]` — an interactive terminal chat.
 *
 * Every turn renders the whole history with the tokenizer's chat template (tokenizer_config.json
 * via Tokenizer.fromPretrained, else OLMo's default for OLMo tokenizers) with the generation
 * prompt, and streams the answer token by token (decoded incrementally, never splitting a
 * multi-byte character). The answer joins the history. Ctrl-C during an answer stops that answer
 * (what was generated so far is kept); Ctrl-C at the prompt only prints how to quit; `/exit`,
 * `/quit` or Ctrl-D (end of input) ends the chat, `/reset` clears the history. `--prompt` answers
 * one message and exits.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { formatHelp, OlmoError, parseCommandArgs, type CommandSpec } from '@olmo/tensor-cuda';
import type { ChatMessage } from '@olmo/tokenizer';

export const CHAT_SPEC: CommandSpec = {
  name: 'olmo chat',
  summary: 'interactive chat with a model through its chat template (streams tokens, keeps the history)',
  details: 'DIR: an HF model folder (config.json + *.safetensors); the tokenizer is DIR (tokenizer.json,\ntokenizer_config.json) unless --tokenizer names a tokenizer.json or a folder.\nInteractive: Ctrl-C stops the current answer, /reset clears the history, /exit or Ctrl-D quits.\n--prompt "...": answer one message and exit.',
  options: [
    { name: 'model', type: 'string', value: 'DIR', required: true, description: 'HF model folder' },
    { name: 'tokenizer', type: 'string', value: 'PATH', defaultText: 'DIR', description: 'tokenizer.json or a folder with tokenizer_config.json' },
    { name: 'system', type: 'string', value: 'TEXT', defaultText: 'none', description: 'system prompt' },
    { name: 'prompt', type: 'string', value: 'TEXT', defaultText: 'interactive', description: 'answer this one message and exit' },
    { name: 'max-new-tokens', type: 'integer', value: 'N', min: 1, default: 256, description: 'longest answer in tokens' },
    { name: 'temperature', type: 'number', value: 'T', min: 0, default: 0, description: 'sampling temperature (0 = greedy)' },
    { name: 'top-k', type: 'integer', value: 'K', default: 0, description: 'sample from the K most likely tokens (0 = all)' },
    { name: 'seed', type: 'integer', value: 'S', default: 0, description: 'sampling seed' },
  ],
  examples: ['olmo chat --model runs/demo-adapt/dpo --system "Answer briefly."', 'olmo chat --model runs/demo-adapt/dpo --prompt "Who gave the State of the Union address of 1862?"'],
};

/** The generated help of CHAT_SPEC (what `olmo chat --help` prints). */
export const CHAT_USAGE = formatHelp(CHAT_SPEC).trimEnd();

export interface ChatIO {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Treat input as a terminal (line editing, Ctrl-C as a key). Default: input.isTTY. */
  terminal?: boolean;
}

interface ChatArgs {
  model?: string;
  tokenizer?: string;
  system?: string;
  prompt?: string;
  maxNewTokens: number;
  temperature: number;
  topK?: number;
  seed: number;
  help: boolean;
}

/** Parses `olmo chat` arguments (CHAT_SPEC); throws INVALID_ARGUMENT. */
export function parseChatArgs(argv: string[]): ChatArgs {
  const { values: v, help } = parseCommandArgs({ ...CHAT_SPEC, options: CHAT_SPEC.options!.map((o) => ({ ...o, required: false })) }, argv);
  return {
    model: v.model as string | undefined, tokenizer: v.tokenizer as string | undefined, system: v.system as string | undefined, prompt: v.prompt as string | undefined,
    maxNewTokens: v['max-new-tokens'] as number, temperature: v.temperature as number, topK: (v['top-k'] as number) || undefined, seed: v.seed as number, help,
  };
}

/** Streams the text of growing id lists: emits only what is new and never half a character. */
export class IncrementalDecoder {
  private ids: number[] = [];
  private shown = '';
  constructor(private readonly decode: (ids: number[]) => string) {}
  push(id: number): string {
    this.ids.push(id);
    let text = this.decode(this.ids);
    if (text.endsWith('\uFFFD')) return ''; // a multi-byte character is not complete yet
    const out = text.startsWith(this.shown) ? text.slice(this.shown.length) : '';
    if (out) this.shown = text;
    return out;
  }
  get text(): string { return this.shown; }
}

export async function runChatCli(argv: string[], io: ChatIO = {}): Promise<number> {
  if (argv[0] === 'chat') argv = argv.slice(1);
  const out = io.output ?? process.stdout;
  const a = parseChatArgs(argv);
  if (a.help) { out.write(CHAT_USAGE + '\n'); return 0; }
  if (!a.model) throw new OlmoError('INVALID_ARGUMENT', 'olmo chat needs --model DIR', CHAT_USAGE);
  if (!existsSync(join(a.model, 'config.json'))) throw new OlmoError('NOT_FOUND', `${a.model} is not a model folder (no config.json)`, 'pass the folder written by savePretrained / olmo demo (e.g. runs/demo/model)');
  const { OLMo } = await import('@olmo/model');
  const { Tokenizer } = await import('@olmo/tokenizer');
  const tokPath = a.tokenizer ?? a.model;
  const tok = existsSync(tokPath) && statSync(tokPath).isDirectory() ? await Tokenizer.fromPretrained(tokPath) : await Tokenizer.fromFile(tokPath);
  const model = await OLMo.fromPretrained(a.model);
  const history: ChatMessage[] = a.system !== undefined ? [{ role: 'system', content: a.system }] : [];
  let controller: AbortController | null = null;

  /** Generates one answer for the current history and streams it to `out`; returns its text. */
  const answer = async (): Promise<{ text: string; stopped: boolean }> => {
    const promptIds = tok.applyChatTemplate(history, { addGenerationPrompt: true });
    const dec = new IncrementalDecoder((ids) => tok.decode(ids, { skipSpecialTokens: true }));
    controller = new AbortController();
    let stopped = false;
    try {
      for await (const id of model.generate(promptIds, { maxNewTokens: a.maxNewTokens, temperature: a.temperature, topK: a.topK, seed: a.seed, stopTokenIds: [tok.eosTokenId], signal: controller.signal })) {
        if (id === tok.eosTokenId) break;
        out.write(dec.push(id));
      }
    } catch (e) {
      if ((e as Error).name !== 'AbortError' && !controller.signal.aborted) throw e;
      stopped = true;
    } finally {
      controller = null;
    }
    out.write(stopped ? ' [stopped]\n' : '\n');
    return { text: dec.text.trim(), stopped };
  };

  try {
    if (a.prompt !== undefined) {
      history.push({ role: 'user', content: a.prompt });
      await answer();
      return 0;
    }
    const input = io.input ?? process.stdin;
    const terminal = io.terminal ?? Boolean((input as NodeJS.ReadStream).isTTY);
    const rl = createInterface({ input, output: out, terminal, prompt: 'you> ' });
    const lines: string[] = [];
    let closed = false;
    let wake: (() => void) | null = null;
    rl.on('line', (l) => { lines.push(l); wake?.(); });
    rl.on('close', () => { closed = true; wake?.(); });
    rl.on('SIGINT', () => {
      if (controller) controller.abort();
      else { out.write('\n(Ctrl-C stops an answer; type /exit or press Ctrl-D to quit)\n'); rl.prompt(); }
    });
    const next = async (): Promise<string | null> => {
      while (!lines.length && !closed) await new Promise<void>((r) => { wake = r; });
      wake = null;
      return lines.length ? lines.shift()! : null;
    };
    out.write(`olmo chat — ${a.model} (Ctrl-C stops an answer, /reset clears the history, /exit quits)\n`);
    rl.prompt();
    for (;;) {
      const line = await next();
      if (line === null) break;
      const msg = line.trim();
      if (msg === '/exit' || msg === '/quit') break;
      if (msg === '/reset') { history.splice(a.system !== undefined ? 1 : 0); out.write('(history cleared)\n'); rl.prompt(); continue; }
      if (msg === '') { rl.prompt(); continue; }
      history.push({ role: 'user', content: msg });
      out.write('olmo> ');
      const r = await answer();
      // An interrupted answer stays in the history as far as it got (an empty one is dropped, with its question).
      if (r.text) history.push({ role: 'assistant', content: r.text });
      else history.pop();
      rl.prompt();
    }
    rl.close();
    out.write('bye\n');
    return 0;
  } finally {
    model.dispose();
  }
}
