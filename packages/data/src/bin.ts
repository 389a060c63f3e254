#!/usr/bin/env node
// olmo-data: the same commands as `olmo data ...` (for installs of @olmo/data without @olmo/trainer).
import { runDataCli } from './cli.js';

process.exitCode = await runDataCli(process.argv.slice(2));
