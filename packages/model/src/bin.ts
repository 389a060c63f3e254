#!/usr/bin/env node
// Entry point of the `olmo-generate` command.
import { runGenerateCli } from './cli.js';

const ac = new AbortController();
process.once('SIGINT', () => ac.abort());
process.exitCode = await runGenerateCli(process.argv.slice(2), { signal: ac.signal });
