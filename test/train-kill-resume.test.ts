/**
 * `olmo train` as a real process: kill -9 after step 13 → resume from the step-10 checkpoint →
 * the metrics.jsonl loss trace equals an uninterrupted 20-step run; kill -9 in the middle of
 * writing the step-10 checkpoint → `latest` still names step 5, which loads, and the resumed run
 * again reproduces the trace. Uses the built CLI (packages/trainer/dist/bin.js), rebuilt first when a
 * source is newer than its dist (test/support/fresh-dist.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import YAML from 'yaml';
import { readMetrics, tinyRunConfig, writeTokenFile } from '../packages/trainer/test/resume-helpers.js';
import { ensureFreshDist } from './support/fresh-dist.js';

const repo = resolve(import.meta.dirname, '..');
const bin = join(repo, 'packages/trainer/dist/bin.js');
const root = mkdtempSync(join(tmpdir(), 'olmo-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function olmo(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000 });
}
const losses = (save: string) => readMetrics(save).map((m) => [m.step, m['train/CrossEntropyLoss'], m['optim/total_grad_norm']]);

describe('olmo train: kill -9 and resume', () => {
  beforeAll(() => { ensureFreshDist(['trainer']); }, 300_000);
  const data = writeTokenFile(join(root, 'data'));
  const cfgFile = join(root, 'run.yaml');
  writeFileSync(cfgFile, YAML.stringify(tinyRunConfig(data, join(root, 'unused'))));
  const straight = join(root, 'straight');

  it('uninterrupted 20 steps', () => {
    const r = olmo(['train', cfgFile, `--save_folder=${straight}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('resolved config:');
    expect(readMetrics(straight)).toHaveLength(20);
  });

  it('kill -9 after step 13, resume from step 10 → identical losses', () => {
    const s = join(root, 'killed');
    const r1 = olmo(['train', cfgFile, `--save_folder=${s}`], { OLMO_TEST_KILL_AFTER_STEP: '13' });
    expect(r1.signal).toBe('SIGKILL');
    expect(readMetrics(s)).toHaveLength(13);
    const r2 = olmo(['train', cfgFile, `--save_folder=${s}`, '--try_load_latest_save=true']);
    expect(r2.status, r2.stderr).toBe(0);
    expect(r2.stdout).toContain('resumed from');
    expect(losses(s)).toEqual(losses(straight));
  });

  it('kill -9 while writing a checkpoint → the previous checkpoint loads', () => {
    const s = join(root, 'crash-ckpt');
    const r1 = olmo(['train', cfgFile, `--save_folder=${s}`], { OLMO_TEST_CRASH_IN_CHECKPOINT: '10' });
    expect(r1.signal).toBe('SIGKILL');
    expect(readlinkSync(join(s, 'latest'))).toBe('step5-unsharded');
    expect(readdirSync(s).some((e) => e.startsWith('.tmp-step10'))).toBe(true);
    const r2 = olmo(['train', cfgFile, `--save_folder=${s}`, '--try_load_latest_save=true']);
    expect(r2.status, r2.stderr).toBe(0);
    expect(r2.stdout).toContain('step5-unsharded');
    expect(readdirSync(s).some((e) => e.startsWith('.tmp-'))).toBe(false);
    expect(losses(s)).toEqual(losses(straight));
  });

  it('bad config → CONFIG_INVALID with the key path, exit 1', () => {
    const r = olmo(['train', cfgFile, '--optimizer.learning_rate=-0.1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/CONFIG_INVALID.*optimizer\.learning_rate/);
    const r2 = olmo(['train', cfgFile, '--optimizer.lr=0.1']);
    expect(r2.stderr).toMatch(/CONFIG_INVALID.*optimizer\.lr.*valid keys.*optimizer\.learning_rate/);
  });
});
