/** The shared CLI layer: spec → parser and help, groups, the error format and exit codes. */
import { describe, expect, it } from 'vitest';
import { defineCommand, defineGroup, EXIT, formatCliError, formatHelp, OlmoError, parseCommandArgs, plainMessage, runMain, type CommandSpec } from '../src/index.js';

const spec: CommandSpec = {
  name: 'olmo thing',
  summary: 'does a thing',
  positionals: [{ name: 'FILES', description: 'inputs', required: true, variadic: true }],
  options: [
    { name: 'out', type: 'string', value: 'DIR', required: true, description: 'output' },
    { name: 'threads', short: 'j', type: 'integer', min: 1, default: 2, description: 'threads' },
    { name: 'lr', type: 'number', default: 0.5, description: 'rate' },
    { name: 'mode', type: 'string', choices: ['a', 'b'], default: 'a', description: 'mode' },
    { name: 'tag', type: 'list', default: [], description: 'tags' },
    { name: 'files', type: 'list', variadic: true, defaultText: 'none', description: 'more files' },
    { name: 'dry-run', type: 'boolean', description: 'no writes' },
  ],
  overrides: 'config keys',
};

function err(fn: () => unknown): OlmoError {
  try { fn(); } catch (e) { return e as OlmoError; }
  throw new Error('expected an error');
}

describe('parseCommandArgs', () => {
  it('parses every form and applies defaults', () => {
    const p = parseCommandArgs(spec, ['a.txt', '--out=o', '-j', '3', '--lr', '-1e-3', '--tag', 'x', '--tag=y', '--files', 'f1', 'f2', '--dry-run', '--a.b=1', 'c.d=[1,2]', '--', '--literal']);
    expect(p.values).toEqual({ out: 'o', threads: 3, lr: -1e-3, mode: 'a', tag: ['x', 'y'], files: ['f1', 'f2'], 'dry-run': true });
    expect(p.positionals).toEqual(['a.txt', '--literal']);
    expect(p.overrides).toEqual(['--a.b=1', 'c.d=[1,2]']);
    expect(p.help).toBe(false);
    expect(parseCommandArgs(spec, ['x', '--out', 'o']).values).toMatchObject({ threads: 2, lr: 0.5, tag: [], 'dry-run': false });
  });

  it('help wins over missing required arguments', () => {
    expect(parseCommandArgs(spec, ['--help']).help).toBe(true);
    expect(parseCommandArgs(spec, ['-h', '--bogus=1']).help).toBe(true);
  });

  it('bad input is INVALID_ARGUMENT naming the option, with a hint to --help', () => {
    const cases: Array<[string[], RegExp]> = [
      [['x'], /--out is required/],
      [['--out', 'o'], /missing FILES/],
      [['x', '--out', 'o', '--threads', '0'], /--threads must be >= 1/],
      [['x', '--out', 'o', '--threads', '1.5'], /--threads needs an integer/],
      [['x', '--out', 'o', '--lr', 'fast'], /--lr needs a number/],
      [['x', '--out', 'o', '--mode', 'c'], /--mode must be one of a, b/],
      [['x', '--out'], /--out needs a value/],
      [['x', '--out', 'o', '--bogus'], /unknown option --bogus/],
      [['x', '--out', 'o', '-z'], /unknown option -z/],
    ];
    for (const [argv, re] of cases) {
      const e = err(() => parseCommandArgs(spec, argv));
      expect(e.code, argv.join(' ')).toBe('INVALID_ARGUMENT');
      expect(plainMessage(e), argv.join(' ')).toMatch(re);
      expect(e.hint).toBe('`olmo thing --help` lists the options');
    }
    const noOverrides = { ...spec, overrides: undefined };
    expect(plainMessage(err(() => parseCommandArgs(noOverrides, ['x', '--out', 'o', '--a.b=1'])))).toBe('unknown option --a.b');
    expect(plainMessage(err(() => parseCommandArgs({ ...spec, positionals: [] }, ['--out', 'o', 'extra'])))).toBe("unexpected argument 'extra'");
  });
});

describe('formatHelp', () => {
  it('lists usage, every option with its default or (required), and the overrides', () => {
    const h = formatHelp(spec);
    expect(h.split('\n')[0]).toBe('usage: olmo thing --out DIR [options] FILES... [--key.path=value ...]');
    for (const [flag, note] of [['--out DIR', 'required'], ['-j, --threads N', 'default: 2'], ['--lr N', 'default: 0.5'], ['--mode a|b', 'default: a'], ['--tag VALUE', 'default: none'], ['--files VALUE...', 'default: none'], ['--dry-run', 'default: off'], ['-h, --help', '']]) {
      const line = h.split('\n').find((l) => l.trimStart().startsWith(flag));
      expect(line, flag).toBeDefined();
      if (note) expect(line!.endsWith(`(${note})`), line).toBe(true);
    }
    expect(h).toContain('--key.path=value  config keys');
  });
});

describe('commands, groups and runMain', () => {
  const cmd = defineCommand({ name: 'olmo x', summary: 'x', options: [{ name: 'n', type: 'integer', default: 1, description: 'n' }] }, async ({ values }, t) => {
    if (values.n === 7) throw new OlmoError('NOT_FOUND', 'file /a/b does not exist', 'check the path');
    if (values.n === 8) throw new Error('boom');
    t.print(`n=${values.n as number}`);
    return 0;
  });
  const group = defineGroup('olmo', 'top', { x: cmd });
  const run = async (argv: string[]) => {
    let out = '', errs = '';
    const code = await runMain(group, argv, { stdout: (s) => { out += s; }, stderr: (s) => { errs += s; }, env: {} });
    return { code, out, err: errs };
  };

  it('dispatches, prints help, and formats errors with exit codes', async () => {
    expect(await run(['x', '--n', '3'])).toEqual({ code: 0, out: 'n=3\n', err: '' });
    expect((await run(['x', '--help'])).out).toMatch(/^usage: olmo x \[options\]/);
    expect((await run(['--help'])).out).toMatch(/^usage: olmo <command>[\s\S]*\n {2}x {2}x\n/);
    expect(await run([])).toMatchObject({ code: EXIT.USAGE, out: '' });
    expect(await run(['x', '--n', '7'])).toEqual({ code: EXIT.ERROR, out: '', err: 'olmo: error NOT_FOUND: file /a/b does not exist\nhint: check the path\n' });
    expect(await run(['y'])).toMatchObject({ code: EXIT.USAGE, err: expect.stringMatching(/^olmo: error INVALID_ARGUMENT: unknown command 'olmo y'\nhint: /) });
    const bug = await run(['x', '--n', '8']);
    expect(bug.code).toBe(EXIT.INTERNAL);
    expect(bug.err).toMatch(/^olmo: error INTERNAL: Error: boom\n/);
  });

  it('formats errors from a copy of OlmoError with the same brand (as @olmo/tokenizer defines) and Node ENOENT', () => {
    const brand = Symbol.for('olmo.error');
    const foreign = Object.assign(new Error('bad merges (hint: check the file)'), { code: 'TOKENIZER_INVALID', hint: 'check the file', [brand]: true });
    expect(formatCliError(foreign)).toBe('olmo: error TOKENIZER_INVALID: bad merges\nhint: check the file\n');
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT', path: '/x' });
    expect(formatCliError(enoent)).toMatch(/^olmo: error NOT_FOUND: \/x does not exist/);
    expect(formatCliError(new OlmoError('CONFIG_INVALID', 'm', 'h'), '[rank 1] ')).toBe('[rank 1] olmo: error CONFIG_INVALID: m\nhint: h\n');
  });
});
