/** The shared command-line layer of every olmo binary (docs/cli.md). */
export * from './args.js';
export * from './command.js';
export * from './errors.js';
export * from './io.js';
export * from './style.js';
