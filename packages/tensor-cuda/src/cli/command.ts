/**
 * Commands and command tables. A command is one table entry: a `summary` and a handler
 * `run(argv, io?) => Promise<exit code>` that handles `--help` itself and throws OlmoError on bad
 * input. `defineCommand` builds one from a CommandSpec (parser + generated help); `defineGroup`
 * builds `olmo data`-style groups from a table; `runMain` is what a bin calls: it runs a command
 * and turns a thrown error into the standard message and exit code.
 */
import { OlmoError } from '../errors.js';
import { formatHelp, parseCommandArgs, wantsHelp, type CommandSpec, type ParsedArgs } from './args.js';
import { exitCodeFor, formatCliError, rankPrefix } from './errors.js';
import { terminal, type CliIO, type Terminal } from './io.js';

export type CliHandler = (argv: string[], io?: CliIO) => Promise<number>;

export interface CliCommand {
  /** One line for the parent's command list. */
  summary: string;
  run: CliHandler;
  /** The spec, when the command was built by defineCommand (lets tests check the help). */
  spec?: CommandSpec;
  /** Subcommands, when the command is a group (lets `--help` list them and tests walk the tree). */
  commands?: CommandTable;
}

export type CommandTable = Record<string, CliCommand>;

/** A command from its spec and an action receiving the parsed arguments. */
export function defineCommand(spec: CommandSpec, action: (args: ParsedArgs, t: Terminal) => Promise<number | void>): CliCommand {
  return {
    summary: spec.summary,
    spec,
    async run(argv, io) {
      const t = terminal(io);
      const args = parseCommandArgs(spec, argv);
      if (args.help) { t.write(formatHelp(spec)); return 0; }
      return (await action(args, t)) ?? 0;
    },
  };
}

export interface GroupOptions {
  /** Usage details printed under the command list. */
  details?: string;
  /** Subcommand used when the first argument is not a subcommand name (`olmo checkpoint DIR` = `show`). */
  fallback?: string;
  /** Extra top-level flags (`--version`) handled before dispatch; return an exit code or undefined. */
  flags?: (argv: string[], t: Terminal) => Promise<number | undefined>;
}

export function formatGroupHelp(name: string, summary: string, table: CommandTable, details?: string): string {
  const names = Object.keys(table);
  const w = Math.max(...names.map((n) => n.length));
  return [`usage: ${name} <command> [options]`, '', summary, '', 'commands:',
    ...names.map((n) => `  ${n.padEnd(w)}  ${table[n]!.summary}`),
    ...(details ? ['', details.trimEnd()] : []),
    '', `\`${name} <command> --help\` prints a command's options and defaults.`].join('\n') + '\n';
}

export function defineGroup(name: string, summary: string, table: CommandTable, o: GroupOptions = {}): CliCommand {
  return {
    summary,
    commands: table,
    async run(argv, io) {
      const t = terminal(io);
      const flagged = await o.flags?.(argv, t);
      if (flagged !== undefined) return flagged;
      const [first, ...rest] = argv;
      const help = formatGroupHelp(name, summary, table, o.details);
      if (first === undefined) { t.writeErr(help); return 2; }
      if (first === '-h' || first === '--help' || first === 'help') {
        // `olmo help data` = `olmo data --help`
        if (first === 'help' && rest[0] && Object.hasOwn(table, rest[0])) return table[rest[0]]!.run(['--help'], io);
        t.write(help);
        return 0;
      }
      if (Object.hasOwn(table, first)) return table[first]!.run(rest, io);
      if (o.fallback && !first.startsWith('-')) return table[o.fallback]!.run(argv, io);
      if (o.fallback && wantsHelp(argv)) { t.write(help); return 0; }
      throw new OlmoError('INVALID_ARGUMENT', `unknown command '${name} ${first}'`, `\`${name} --help\` lists the commands: ${Object.keys(table).join(', ')}`);
    },
  };
}

/** Runs a command as a program: a thrown error is printed in the standard format; returns the exit code. */
export async function runMain(cmd: CliCommand, argv: string[], io: CliIO = {}): Promise<number> {
  try {
    return await cmd.run(argv, io);
  } catch (e) {
    const t = terminal(io);
    t.writeErr(formatCliError(e, rankPrefix(t.env)));
    return exitCodeFor(e);
  }
}

/** Installs SIGINT/SIGTERM → AbortController for a bin; a second signal exits at once (128 + signal). */
export function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    ac.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}
