#!/usr/bin/env node
// olmo-generate: the same command as `olmo generate ...` (for installs of @olmo/model without @olmo/trainer).
import { interruptSignal } from '@olmo/tensor-cuda';
import { runGenerateCli } from './cli.js';

process.exitCode = await runGenerateCli(process.argv.slice(2), { signal: interruptSignal() });
