/**
 * The `olmo` program as a user meets it, through the built binaries (real processes):
 * `--help` on every command and subcommand, `--version`, one error format and exit codes for
 * every binary, `olmo config`, `olmo checkpoint`, and that `npx olmo` resolves to this repo.
 * Needs the build (bash scripts/setup.sh); skipped with a printed reason without it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { CliCommand, CommandTable } from '@olmo/tensor-cuda';
import { OLMO_COMMANDS, runCli } from '../packages/trainer/src/index.js';

const repo = resolve(import.meta.dirname, '..');
const bins = { olmo: join(repo, 'packages/trainer/dist/bin.js'), 'olmo-data': join(repo, 'packages/data/dist/bin.js'), 'olmo-generate': join(repo, 'packages/model/dist/bin.js') };
const built = Object.values(bins).every(existsSync);
if (!built) console.warn(`[cli] skipped: the binaries are not built (${Object.values(bins).join(', ')}); run bash scripts/setup.sh`);
const root = mkdtempSync(join(tmpdir(), 'olmo-cli-e2e-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(bin: keyof typeof bins, args: string[], cwd = root, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bins[bin], ...args], { cwd, env: { ...process.env, NO_COLOR: '', ...env }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Every command path of the `olmo` tree: ['train'], ['data', 'prepare'], ... (groups included). */
function commandPaths(table: CommandTable, prefix: string[] = []): Array<{ path: string[]; cmd: CliCommand }> {
  const out: Array<{ path: string[]; cmd: CliCommand }> = [];
  for (const [name, cmd] of Object.entries(table)) {
    out.push({ path: [...prefix, name], cmd });
    if (cmd.commands) out.push(...commandPaths(cmd.commands, [...prefix, name]));
  }
  return out;
}

async function inProcess(argv: string[]) {
  let out = '', err = '';
  const code = await runCli(argv, { stdout: (x) => { out += x; }, stderr: (x) => { err += x; }, env: {} });
  return { code, out, err };
}

const ERROR_RE = /^olmo: error ([A-Z_]+): (.+)\nhint: (.+)\n$/;

describe.skipIf(!built)('olmo CLI (built binaries)', () => {
  const paths = commandPaths(OLMO_COMMANDS);

  it('the tree has every command the README documents', () => {
    const names = paths.map((p) => p.path.join(' '));
    for (const n of ['train', 'config', 'checkpoint', 'checkpoint show', 'checkpoint unshard', 'demo', 'data', 'data prepare', 'data inspect', 'data order', 'eval', 'generate']) expect(names).toContain(n);
  });

  it('--help and -h on every command and subcommand: usage on stdout, exit 0, nothing written, every option with its default', async () => {
    for (const { path, cmd } of [{ path: [] as string[], cmd: undefined as CliCommand | undefined }, ...paths]) {
      for (const flag of ['--help', '-h']) {
        const cwd = mkdtempSync(join(root, 'help-'));
        // --help through the built binary in an empty folder; -h in-process (same code, a tenth of the time)
        const r = flag === '--help' ? run('olmo', [...path, flag], cwd) : await inProcess([...path, flag]);
        const what = `olmo ${[...path, flag].join(' ')}`;
        expect(r.code, `${what}: ${r.err}`).toBe(0);
        expect(r.err, what).toBe('');
        expect(r.out, what).toMatch(new RegExp(`^usage: olmo${path.map((p) => ` ${p}`).join('')} `));
        expect(r.out, what).not.toContain('\x1b'); // not a TTY: no escape codes
        expect(readdirSync(cwd), `${what} wrote files`).toEqual([]);
        const optionLines = /\noptions:\n([\s\S]*?)(\n\n|$)/.exec(r.out)?.[1]?.split('\n') ?? [];
        if (cmd?.spec) expect(optionLines.some((l) => l.trimStart().startsWith('-h, --help')), `${what} lists -h, --help`).toBe(true);
        for (const o of cmd?.spec?.options ?? []) {
          const i = optionLines.findIndex((l) => new RegExp(`^\\s+(-\\w, )?--${o.name}( |$)`).test(l));
          // a long flag puts its description on the next (indented) line
          const next = optionLines[i + 1];
          const line = i < 0 ? undefined : optionLines[i] + (next && /^\s{6,}[^-\s]/.test(next) ? next : '');
          expect(line, `${what} lists --${o.name}`).toBeDefined();
          expect(line!, `${what}: --${o.name} shows its default`).toMatch(/\((default: .+|required)\)$/);
        }
        if (cmd?.commands) for (const sub of Object.keys(cmd.commands)) expect(r.out, `${what} lists ${sub}`).toMatch(new RegExp(`^  ${sub} `, 'm'));
      }
    }
  });

  it('the package bins print help too (olmo-data, olmo-generate)', () => {
    expect(run('olmo-data', ['prepare', '--help']).out).toMatch(/^usage: olmo data prepare /);
    expect(run('olmo-generate', ['--help']).out).toMatch(/^usage: olmo generate /);
  });

  it('--version prints the version of every olmo package', () => {
    const r = run('olmo', ['--version']);
    expect(r.code).toBe(0);
    for (const p of ['trainer', 'eval', 'data', 'model', 'tokenizer', 'tensor-cuda']) {
      const v = (JSON.parse(readFileSync(join(repo, 'packages', p, 'package.json'), 'utf8')) as { version: string }).version;
      expect(r.out).toContain(`@olmo/${p} ${v}\n`);
    }
  });

  it('one error format, exit codes and NOT_FOUND naming the path, whichever package raised it and whichever bin ran', () => {
    const missing = join(root, 'does-not-exist');
    const cases: Array<{ bin: keyof typeof bins; args: string[]; code: string; exit: number; mentions?: string }> = [
      { bin: 'olmo', args: ['train', `${missing}.yaml`], code: 'NOT_FOUND', exit: 1, mentions: `${missing}.yaml` },
      { bin: 'olmo', args: ['config', `${missing}.yaml`], code: 'NOT_FOUND', exit: 1, mentions: `${missing}.yaml` },
      { bin: 'olmo', args: ['checkpoint', missing], code: 'NOT_FOUND', exit: 1, mentions: missing },
      { bin: 'olmo', args: ['checkpoint', 'unshard', missing, '--out', join(root, 'x')], code: 'NOT_FOUND', exit: 1, mentions: missing },
      { bin: 'olmo', args: ['generate', '--model', missing, '--prompt', 'hi'], code: 'NOT_FOUND', exit: 1, mentions: missing },
      { bin: 'olmo-generate', args: ['--model', missing, '--prompt-ids', '1'], code: 'NOT_FOUND', exit: 1, mentions: missing },
      { bin: 'olmo', args: ['eval', '--model', missing, '--tasks', 'piqa', '--tokenizer', `${missing}.json`], code: 'NOT_FOUND', exit: 1, mentions: `${missing}.json` }, // raised by @olmo/tokenizer
      { bin: 'olmo', args: ['data', 'prepare', '--tokenizer', `${missing}.json`, '--out', join(root, 'prep'), 'moby-dick'], code: 'NOT_FOUND', exit: 1, mentions: `${missing}.json` },
      { bin: 'olmo-data', args: ['inspect', '--config', `${missing}.yaml`, '--step', '1'], code: 'NOT_FOUND', exit: 1, mentions: `${missing}.yaml` },
      { bin: 'olmo', args: ['config', join(repo, 'configs/tiny.yaml'), '--scheduler.name=cosine'], code: 'CONFIG_INVALID', exit: 1, mentions: 'scheduler.name' },
      { bin: 'olmo', args: ['train', '--bogus'], code: 'INVALID_ARGUMENT', exit: 2, mentions: '--bogus' },
      { bin: 'olmo', args: ['train'], code: 'INVALID_ARGUMENT', exit: 2, mentions: 'CONFIG.yaml' },
      { bin: 'olmo', args: ['data', 'inspect', '--config', 'x.yaml', '--step', '0'], code: 'INVALID_ARGUMENT', exit: 2, mentions: '--step must be >= 1' },
      { bin: 'olmo', args: ['data', 'inspect', '--bogus'], code: 'INVALID_ARGUMENT', exit: 2, mentions: '--bogus' },
      { bin: 'olmo', args: ['nope'], code: 'INVALID_ARGUMENT', exit: 2, mentions: 'nope' },
      { bin: 'olmo', args: ['data', 'nope'], code: 'INVALID_ARGUMENT', exit: 2, mentions: 'nope' },
      { bin: 'olmo', args: ['generate', '--model', 'm', '--max-new-tokens', 'x'], code: 'INVALID_ARGUMENT', exit: 2, mentions: '--max-new-tokens' },
    ];
    for (const c of cases) {
      const r = run(c.bin, c.args);
      const what = `${c.bin} ${c.args.join(' ')}`;
      expect(r.err, what).toMatch(ERROR_RE);
      const [, code, message] = ERROR_RE.exec(r.err)!;
      expect(code, `${what}: ${r.err}`).toBe(c.code);
      if (c.mentions) expect(message, what).toContain(c.mentions);
      expect(r.code, what).toBe(c.exit);
      expect(r.out, what).toBe('');
    }
    expect(existsSync(join(root, 'prep')), 'a failed prepare leaves no output folder').toBe(false);
  });

  it('olmo config prints the resolved config (file + overrides) as YAML', () => {
    const r = run('olmo', ['config', join(repo, 'configs/tiny.yaml'), '--max_duration=7', '--optimizer.learning_rate=0.003']);
    expect(r.code, r.err).toBe(0);
    const cfg = YAML.parse(r.out) as { max_duration: number; optimizer: { learning_rate: number }; model: { d_model: number } };
    const file = YAML.parse(readFileSync(join(repo, 'configs/tiny.yaml'), 'utf8')) as { model: { d_model: number } };
    expect(cfg.max_duration).toBe(7);
    expect(cfg.optimizer.learning_rate).toBe(0.003);
    expect(cfg.model.d_model).toBe(file.model.d_model);
  });

  it('dist/bin.js of every package with a bin is executable, and `npx olmo` runs this repo (after scripts/setup.sh)', () => {
    for (const f of Object.values(bins)) expect(statSync(f).mode & 0o111, `${f} is executable`).not.toBe(0);
    const link = join(repo, 'node_modules/.bin/olmo');
    if (!existsSync(link)) { console.warn('[cli] node_modules/.bin/olmo missing: scripts/setup.sh links it after the build; skipping the npx check'); return; }
    const r = spawnSync('npx', ['--no-install', 'olmo', '--version'], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^olmo \d+\.\d+\.\d+\n {2}@olmo\/trainer /);
  });
});

describe('styling follows the terminal', () => {
  it('colour only on a TTY, never with NO_COLOR or TERM=dumb', async () => {
    const { createStyle } = await import('@olmo/tensor-cuda');
    expect(createStyle({ isTTY: true }, {}).bold('x')).toBe('\x1b[1mx\x1b[22m');
    expect(createStyle({ isTTY: false }, {}).bold('x')).toBe('x');
    expect(createStyle({ isTTY: true }, { NO_COLOR: '1' }).bold('x')).toBe('x');
    expect(createStyle({ isTTY: true }, { TERM: 'dumb' }).bold('x')).toBe('x');
  });

  it("scripts/setup.sh's say: plain when piped or under NO_COLOR", () => {
    const setup = readFileSync(join(repo, 'scripts/setup.sh'), 'utf8');
    const block = /# bold only on a terminal[\s\S]*?\nfi\n/.exec(setup)?.[0];
    expect(block).toBeDefined();
    const piped = spawnSync('bash', ['-c', `${block}\nsay hello`], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '' } });
    expect(piped.stdout).toBe('[setup] hello\n');
    if (existsSync('/usr/bin/script')) {
      // under a pseudo-terminal: bold, unless NO_COLOR
      const tty = (env: string) => spawnSync('script', ['-qec', `bash -c '${env} ; ${block.replace(/'/g, `'\\''`)}\nsay hello'`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, TERM: 'xterm' } }).stdout;
      expect(tty('unset NO_COLOR')).toContain('\x1b[1m[setup]');
      expect(tty('export NO_COLOR=1')).not.toContain('\x1b[');
    }
  });
});

describe.skipIf(!built)('olmo checkpoint / generate / eval on our own outputs', () => {
  const dir = join(root, 'own');
  const tokFile = join(dir, 'tok.json');
  const save = join(dir, 'run');
  const hf = join(dir, 'hf');

  it('olmo train writes checkpoints whose model/ carries the tokenizer', async () => {
    const { Tokenizer } = await import('@olmo/tokenizer');
    const { tinyRunConfig, writeTokenFile } = await import('../packages/trainer/test/resume-helpers.js');
    const tok = Tokenizer.train(['the cat sat on the mat; the dog sat on the log. '.repeat(40)], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    await tok.save(tokFile);
    const cfg = tinyRunConfig(writeTokenFile(join(dir, 'data')), save, { max_duration: 4, save_interval: 2, tokenizer: { identifier: tokFile } });
    (cfg.model as Record<string, unknown>).vocab_size = 300;
    (cfg.model as Record<string, unknown>).embedding_size = 320;
    writeFileSync(join(dir, 'run.yaml'), YAML.stringify(cfg));
    const r = run('olmo', ['train', join(dir, 'run.yaml')]);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(join(save, 'step4-unsharded/model/tokenizer.json'), 'utf8')).toBe(readFileSync(tokFile, 'utf8'));
  });

  it('olmo checkpoint DIR / checkpoint show DIR print the trainer state', () => {
    const latest = run('olmo', ['checkpoint', save]);
    expect(latest.code, latest.err).toBe(0);
    const s = JSON.parse(latest.out) as { dir: string; step: number; tokens: number; format: { kind: string } };
    expect([s.dir, s.step, s.format.kind]).toEqual([join(save, 'step4-unsharded'), 4, 'unsharded']);
    expect(s.tokens).toBe(4 * 4 * 32); // steps × batch × seq
    const two = JSON.parse(run('olmo', ['checkpoint', 'show', join(save, 'step2-unsharded')]).out) as { step: number };
    expect(two.step).toBe(2);
  });

  it('olmo checkpoint unshard writes an HF folder with the tokenizer; generate and fromPretrained + dir/tokenizer.json work on it', async () => {
    const u = run('olmo', ['checkpoint', 'unshard', save, '--out', hf]);
    expect(u.code, u.err).toBe(0);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(join(hf, f)), f).toBe(true);
    const g = run('olmo', ['generate', '--model', hf, '--prompt', 'the cat', '--max-new-tokens', '6']);
    expect(g.code, g.err).toBe(0);
    expect(g.err).toBe('');
    // the same text in-process, from the folder alone
    const { OLMo, generateText } = await import('@olmo/model');
    const { Tokenizer } = await import('@olmo/tokenizer');
    const model = await OLMo.fromPretrained(hf);
    const tok = await Tokenizer.fromFile(join(hf, 'tokenizer.json'));
    let text = '';
    for await (const piece of generateText(model, tok, 'the cat', { maxNewTokens: 6 })) text += piece;
    model.dispose();
    expect(g.out).toBe(`${text}\n`);
  });

  it('olmo eval through the dispatcher (tokenizer from the model folder)', () => {
    const txt = join(dir, 'held.txt');
    writeFileSync(txt, 'the cat sat on the mat. the dog sat on the log. '.repeat(20));
    const json = join(dir, 'eval.json');
    const r = run('olmo', ['eval', '--model', hf, '--perplexity', txt, '--seq-len', '16', '--out', json, '--no-progress']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/held\.txt/);
    const res = JSON.parse(readFileSync(json, 'utf8')) as { tokenizer: string; perplexity: Array<{ perplexity: number }> };
    expect(res.tokenizer).toBe(join(hf, 'tokenizer.json'));
    expect(res.perplexity[0]!.perplexity).toBeGreaterThan(1);
  });
});
