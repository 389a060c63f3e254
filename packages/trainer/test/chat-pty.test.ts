/**
 * `olmo chat` driven in a real pseudo-terminal (tmux): a two-turn conversation, Ctrl-C during an
 * answer (the answer stops, the program does not), Ctrl-C at the prompt, /exit. Runs the built CLI
 * (packages/trainer/dist/bin.js, like the other process-level tests); skipped with a reason when
 * tmux or the build is missing.
 *
 * The model is random, so its eos id is placed outside the sampled vocabulary (config vocab_size
 * excludes it): answers end only at --max-new-tokens or Ctrl-C, which keeps the test deterministic.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OLMo, OLMoConfig } from '@olmo/model';
import { Tokenizer } from '@olmo/tokenizer';

const bin = resolve(__dirname, '../dist/bin.js');
const hasTmux = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
const built = existsSync(resolve(__dirname, '../dist/chat.js'));
const reason = !hasTmux ? 'tmux not installed (apt-get install tmux)' : !built ? 'packages/trainer/dist not built (npx turbo run build)' : '';
if (reason) console.warn(`[chat-pty] skipped: ${reason}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!!reason)('olmo chat in a pseudo-terminal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'olmo-chat-pty-'));
  const session = `olmochat${process.pid}`;
  const pane = () => execFileSync('tmux', ['capture-pane', '-p', '-J', '-t', session, '-S', '-500'], { encoding: 'utf8' });
  const keys = (...k: string[]) => execFileSync('tmux', ['send-keys', '-t', session, ...k]);
  const count = (s: string, sub: string) => s.split(sub).length - 1;
  async function waitFor(what: string, pred: (s: string) => boolean, ms = 60_000): Promise<string> {
    const t0 = Date.now();
    for (;;) {
      const s = pane();
      if (pred(s)) return s;
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; pane:\n${s}`);
      await sleep(100);
    }
  }

  beforeAll(async () => {
    // Tokenizer: a small BPE whose <|endoftext|> is the last id (added after training).
    const t = Tokenizer.train(['Four score and seven years ago our fathers brought forth on this continent a new nation. '.repeat(30)], { vocabSize: 300, specialTokens: ['<|padding|>'] });
    await t.save(join(dir, 'base.json'));
    const j = JSON.parse(readFileSync(join(dir, 'base.json'), 'utf8')) as { added_tokens: Array<Record<string, unknown>> };
    const eosId = t.vocabSize;
    j.added_tokens.push({ id: eosId, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(j));
    const tok = await Tokenizer.fromPretrained(dir);
    expect(tok.eosTokenId).toBe(eosId);
    const m = OLMo.init(OLMoConfig.from({
      architecture: 'olmo2', vocab_size: eosId, embedding_size: eosId + 8, hidden_size: 128, intermediate_size: 256,
      num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 4, eos_token_id: eosId, pad_token_id: 0, max_position_embeddings: 8192,
    }), { seed: 1 });
    await m.savePretrained(dir);
    m.dispose();
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '200', '-y', '50',
      `node ${bin} chat --model ${dir} --system 'You are terse.' --max-new-tokens 1500; echo EXITED=$?; sleep 60`]);
  }, 120_000);

  afterAll(() => {
    spawnSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });

  it('two turns, Ctrl-C stops an answer (not the program), Ctrl-C at the prompt, /exit', async () => {
    await waitFor('the first prompt', (s) => count(s, 'you> ') >= 1);
    keys('hello there', 'Enter');
    let s = await waitFor('answer 1 to finish', (x) => count(x, 'you> ') >= 2, 120_000);
    expect(s).toMatch(/olmo> \S/);
    keys('and a second question', 'Enter');
    s = await waitFor('answer 2 to finish', (x) => count(x, 'you> ') >= 3, 120_000);
    expect(count(s, '[stopped]')).toBe(0);
    keys('third, to be interrupted', 'Enter');
    await waitFor('answer 3 to start', (x) => count(x, 'olmo> ') >= 3);
    await sleep(200);
    keys('C-c');
    s = await waitFor('the stop marker and the next prompt', (x) => x.includes('[stopped]') && count(x, 'you> ') >= 4, 30_000);
    expect(s).not.toContain('EXITED');
    keys('C-c');
    s = await waitFor('the quit hint', (x) => x.includes('type /exit or press Ctrl-D to quit'));
    keys('/exit', 'Enter');
    s = await waitFor('exit', (x) => x.includes('EXITED='));
    expect(s).toContain('bye');
    expect(s).toContain('EXITED=0');
  }, 300_000);
});
