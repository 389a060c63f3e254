#!/usr/bin/env node
// olmo-data: the data commands on their own (`olmo data ...` in @olmo/trainer dispatches to the same code).
import { runDataCli } from './cli.js';

process.exitCode = await runDataCli(process.argv.slice(2));
