/**
 * The `olmo` command: one table of subcommands on the shared CLI layer (@olmo/tensor-cuda's
 * cli/, documented in docs/cli.md). `data`, `eval` and `generate` are the commands their packages
 * export; a new command plugs in as one entry of OLMO_COMMANDS.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataCommand } from '@olmo/data';
import { evalCommand } from '@olmo/eval';
import { exportCommand, generateCommand } from '@olmo/model';
import { defineCommand, defineGroup, EXIT, formatHelp, OlmoError, parseCommandArgs, runMain, terminal, wantsHelp, type CliCommand, type CliIO, type CommandSpec, type CommandTable, type Terminal } from '@olmo/tensor-cuda';
import { configToYAML, loadConfig } from './config.js';
import { buildModel } from './model.js';
import { EvaluatorCallback } from './callbacks.js';
import { configEvaluator } from './evaluate.js';
import { Trainer } from './trainer.js';
import { DEMO_SPEC, runDemo } from './demo.js';
import { CHAT_SPEC } from './chat.js';
import { ADAPT_SPEC } from './adapt-cli.js';
import { setRankThreads } from './fsdp.js';
import { latestCheckpoint, readTrainerState, resolveCheckpoint } from './checkpoint.js';

type Out = (s: string) => void;

const OVERRIDES = 'set any config key (parsed as YAML: --optimizer.learning_rate=1e-3, --data.paths=[a.npy,b.npy]); the Config section of packages/trainer/README.md lists the keys';

const TRAIN_SPEC: CommandSpec = {
  name: 'olmo train',
  summary: 'train a model from an OLMo-style YAML config (prints the resolved config first)',
  details: 'Ctrl-C (SIGINT) or SIGTERM finishes the current step, saves a checkpoint and prints the resume\ncommand (exit 130 / 143); a second Ctrl-C exits at once (checkpoints are written atomically).\nUnder mpirun with several ranks, training is FSDP (ZeRO-3).',
  positionals: [{ name: 'CONFIG.yaml', description: 'OLMo-style run config (e.g. configs/tiny.yaml); without it, the defaults + overrides' }],
  overrides: OVERRIDES,
  examples: ['olmo train configs/tiny.yaml --optimizer.learning_rate=1e-3 --save_folder=runs/lr1e-3', 'mpirun -np 2 olmo train configs/tiny.yaml --save_folder=runs/fsdp'],
};

const CONFIG_SPEC: CommandSpec = {
  name: 'olmo config',
  summary: 'print the resolved config (defaults + file + overrides, validated) and exit',
  positionals: [{ name: 'CONFIG.yaml', description: 'OLMo-style run config; without it, the defaults + overrides' }],
  overrides: OVERRIDES,
  examples: ['olmo config configs/tiny.yaml --max_duration=100'],
};

/** The config file argument; none at all (no file, no overrides) is a usage error rather than a run of the defaults. */
function configArg(p: { positionals: string[]; overrides: string[] }, cmd: string): string | null {
  if (!p.positionals.length && !p.overrides.length) throw new OlmoError('INVALID_ARGUMENT', `${cmd} needs a CONFIG.yaml (or --key.path=value overrides)`, `e.g. ${cmd} configs/tiny.yaml; \`${cmd} --help\` for more`);
  return p.positionals[0] ?? null;
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** `olmo train` (also usable programmatically): returns the trainer after fit. */
export async function runTrain(args: string[], out: Out = (s) => process.stdout.write(s + '\n'), opts: { signal?: AbortSignal } = {}): Promise<Trainer> {
  const parsed = parseCommandArgs(TRAIN_SPEC, args);
  // under mpirun only rank 0 prints
  if (Number(process.env.OMPI_COMM_WORLD_RANK ?? process.env.PMI_RANK ?? 0) !== 0) out = () => {};
  setRankThreads();
  const cfg = loadConfig(configArg(parsed, 'olmo train'), parsed.overrides);
  out('resolved config:\n' + configToYAML(cfg).replace(/^/gm, '  '));
  const model = await buildModel(cfg);
  const evalFn = await configEvaluator(cfg, model);
  const extra = evalFn ? [new EvaluatorCallback(cfg.eval_interval, evalFn)] : [];
  const t = await Trainer.fromConfig(cfg, { model, extraCallbacks: extra, log: out });
  const stop = () => t.requestStop(String(opts.signal?.reason ?? 'SIGINT'));
  if (opts.signal?.aborted) stop();
  opts.signal?.addEventListener('abort', stop, { once: true });
  const r = await t.fit();
  if (t.dist) { t.dist.barrier(); t.dist.pg.destroy(); }
  if (r.interrupted) {
    const ckpt = latestCheckpoint(cfg.save_folder);
    const resumeArgs = args.filter((a) => !a.startsWith('--try_load_latest_save='));
    out(`[olmo] stopped by ${r.interrupted} after step ${r.step} of ${t.maxSteps}; checkpoint ${ckpt ?? '(none: no step finished)'}`);
    out(`[olmo] resume with: olmo train ${[...resumeArgs, '--try_load_latest_save=true'].map(shellQuote).join(' ')}`);
  } else {
    out(`[olmo] done: ${r.step} steps, ${r.tokens} tokens${r.metrics ? `, final train/CrossEntropyLoss ${r.metrics['train/CrossEntropyLoss']!.toFixed(4)}` : ''}`);
  }
  return t;
}

/** SIGINT/SIGTERM while training: the first asks the trainer to stop after this step; a second exits at once. */
function trainingInterrupts(t: Terminal): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) { t.error(`\n[olmo] ${sig} again: exiting now (the last complete checkpoint and 'latest' are intact)`); process.exit(sig === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT); }
    t.error(`\n[olmo] ${sig}: finishing the current step, then saving a checkpoint (Ctrl-C again to exit at once)`);
    ac.abort(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return { signal: ac.signal, dispose: () => { process.off('SIGINT', handler); process.off('SIGTERM', handler); } };
}

const trainCommand = defineCommand(TRAIN_SPEC, async (parsed, t) => {
  const argv = [...parsed.positionals, ...parsed.overrides];
  const interrupts = trainingInterrupts(t);
  try {
    const tr = await runTrain(argv, (s) => t.print(s), { signal: interrupts.signal });
    return tr.interrupted === 'SIGTERM' ? EXIT.SIGTERM : tr.interrupted ? EXIT.SIGINT : EXIT.OK;
  } finally { interrupts.dispose(); }
});

const configCommand = defineCommand(CONFIG_SPEC, async ({ positionals, overrides }, t) => {
  t.write(configToYAML(loadConfig(configArg({ positionals, overrides }, 'olmo config'), overrides)));
  return 0;
});

const showCheckpoint = defineCommand({
  name: 'olmo checkpoint show',
  summary: "print a checkpoint's trainer state as JSON (`olmo checkpoint DIR` is the same)",
  positionals: [{ name: 'DIR', description: 'a checkpoint folder, or a save folder (→ its latest checkpoint)', required: true }],
}, async ({ positionals }, t) => {
  const dir = resolveCheckpoint(positionals[0]!);
  const s = readTrainerState(dir);
  t.print(JSON.stringify({ dir, ...s, config: undefined, config_yaml: undefined }, null, 2));
  return 0;
});

const unshardCheckpoint = defineCommand({
  name: 'olmo checkpoint unshard',
  summary: 'write an HF-format model folder (with the tokenizer) from any checkpoint, sharded or not',
  positionals: [{ name: 'DIR', description: 'a checkpoint folder, or a save folder (→ its latest checkpoint)', required: true }],
  options: [{ name: 'out', type: 'string', value: 'HF_DIR', required: true, description: 'output model folder' }],
  examples: ['olmo checkpoint unshard runs/fsdp/latest --out hf-model/'],
}, async ({ positionals, values }, t) => {
  const { unshardCheckpoint: unshard } = await import('./sharded-checkpoint.js');
  const dir = resolveCheckpoint(positionals[0]!);
  const outDir = values.out as string;
  const files = await unshard(dir, outDir);
  t.print(`unsharded ${dir} → ${outDir} (${files.length ? files.join(', ') : 'model.safetensors'})`);
  return 0;
});

const checkpointCommand = defineGroup('olmo checkpoint', 'inspect a checkpoint or convert it to an HF model folder', {
  show: showCheckpoint,
  unshard: unshardCheckpoint,
}, { fallback: 'show', details: '`olmo checkpoint DIR` = `olmo checkpoint show DIR`.' });

const demoCommand: CliCommand = {
  summary: DEMO_SPEC.summary,
  spec: DEMO_SPEC,
  async run(argv, io) {
    if (wantsHelp(argv)) { terminal(io).write(formatHelp(DEMO_SPEC)); return 0; }
    await runDemo(argv);
    return Number(process.exitCode ?? 0);
  },
};

/** Every `olmo` subcommand. Add a command here: `name: { summary, run(argv, io) }` (docs/cli.md). */
export const OLMO_COMMANDS: CommandTable = {
  train: trainCommand,
  config: configCommand,
  checkpoint: checkpointCommand,
  demo: demoCommand,
  data: dataCommand,
  eval: evalCommand,
  generate: generateCommand,
  export: exportCommand,
  // interactive: readline needs the real stdout stream; an embedder's / test's sink gets the text
  chat: { summary: CHAT_SPEC.summary, spec: CHAT_SPEC, run: async (argv, io) => {
    const { runChatCli } = await import('./chat.js');
    if (!io?.stdout) return runChatCli(argv);
    const t = terminal(io);
    return runChatCli(argv, { output: { write: (s: string) => { t.write(s); return true; } } as unknown as NodeJS.WritableStream });
  } },
  adapt: { summary: ADAPT_SPEC.summary, spec: ADAPT_SPEC, run: async (argv, io) => (await import('./adapt-cli.js')).runAdaptCli(argv, io) },
};

/** `@olmo/<pkg> <version>` for every olmo package this binary runs, plus Node. */
export function versions(): string {
  const lines: string[] = [];
  const here = dirname(fileURLToPath(import.meta.url));
  const own = JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8')) as { version: string };
  lines.push(`olmo ${own.version}`);
  for (const pkg of ['@olmo/trainer', '@olmo/eval', '@olmo/data', '@olmo/model', '@olmo/tokenizer', '@olmo/tensor-cuda']) {
    let v = 'not installed';
    try {
      // walk up from the package's entry point to its package.json (exports do not expose it)
      let d = dirname(fileURLToPath(import.meta.resolve(pkg)));
      for (let i = 0; i < 4; i++, d = dirname(d)) {
        try { const j = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: string; version?: string }; if (j.name === pkg) { v = j.version ?? '?'; break; } } catch { /* keep walking */ }
      }
    } catch { /* not resolvable */ }
    lines.push(`  ${pkg} ${v}`);
  }
  lines.push(`  node ${process.versions.node}`);
  return lines.join('\n') + '\n';
}

export const olmoCommand: CliCommand = defineGroup('olmo', 'OLMo in TypeScript: data, training, evaluation and generation', OLMO_COMMANDS, {
  details: 'options:\n  -h, --help     print this help (or a command\'s, after it) and exit\n  -V, --version  print the versions of the olmo packages and exit\n\nexit codes: 0 ok, 1 error, 2 usage error, 3 training diverged (NON_FINITE), 130/143 stopped by SIGINT/SIGTERM (docs/cli.md)',
  flags: async (argv, t) => {
    if (argv[0] === '--version' || argv[0] === '-V') { t.write(versions()); return 0; }
    return undefined;
  },
});

/** Runs the `olmo` CLI; returns the exit code (errors print `olmo: error CODE: message` + `hint:`). */
export async function runCli(argv: string[], io: CliIO = {}): Promise<number> {
  return runMain(olmoCommand, argv, io);
}
