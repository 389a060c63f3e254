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
import { OlmoError } from '@olmo/tensor-cuda';
import type { ChatMessage } from '@olmo/tokenizer';

export const CHAT_USAGE = `usage: olmo chat --model DIR [--tokenizer PATH] [--system "..."] [--prompt "..."]
                 [--max-new-tokens N] [--temperature T] [--top-k K] [--seed S]
  DIR: an HF model folder (config.json + *.safetensors); the tokenizer is DIR (tokenizer.json,
  tokenizer_config.json) unless --tokenizer names a tokenizer.json or a folder.
  Interactive: Ctrl-C stops the current answer, /reset clears the history, /exit or Ctrl-D quits.
  --prompt "...": answer one message and exit.`;

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

export function parseChatArgs(argv: string[]): ChatArgs {
  const a: ChatArgs = { maxNewTokens: 256, temperature: 0, seed: 0, help: false };
  const num = (flag: string, v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new OlmoError('INVALID_ARGUMENT', `${flag} needs a number, got ${JSON.stringify(v)}`, CHAT_USAGE);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i]!;
    let val: string | undefined;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) { val = flag.slice(eq + 1); flag = flag.slice(0, eq); }
    const next = () => {
      if (val !== undefined) return val;
      const v = argv[++i];
      if (v === undefined) throw new OlmoError('INVALID_ARGUMENT', `${flag} needs a value`, CHAT_USAGE);
      return v;
    };
    switch (flag) {
      case '--model': a.model = next(); break;
      case '--tokenizer': a.tokenizer = next(); break;
      case '--system': a.system = next(); break;
      case '--prompt': a.prompt = next(); break;
      case '--max-new-tokens': a.maxNewTokens = num(flag, next()); break;
      case '--temperature': a.temperature = num(flag, next()); break;
      case '--top-k': a.topK = num(flag, next()); break;
      case '--seed': a.seed = num(flag, next()); break;
      case '-h': case '--help': a.help = true; break;
      default: throw new OlmoError('INVALID_ARGUMENT', `unknown argument '${flag}'`, CHAT_USAGE);
    }
  }
  if (!Number.isInteger(a.maxNewTokens) || a.maxNewTokens < 1) throw new OlmoError('INVALID_ARGUMENT', `--max-new-tokens must be a positive integer, got ${a.maxNewTokens}`, CHAT_USAGE);
  return a;
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
