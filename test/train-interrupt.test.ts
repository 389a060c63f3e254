/**
 * Ctrl-C during `olmo train` (a real child process, real signals): SIGINT / SIGTERM finish the
 * step in progress, save a checkpoint, print where training stopped and the exact resume command,
 * and exit 130 / 143; the printed command resumes and reproduces the uninterrupted loss trace. A
 * second Ctrl-C exits at once and leaves `latest` pointing at a complete checkpoint.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { readTrainerState } from '../packages/trainer/src/index.js';
import { readMetrics, tinyRunConfig, writeTokenFile } from '../packages/trainer/test/resume-helpers.js';

const repo = resolve(import.meta.dirname, '..');
const bin = join(repo, 'packages/trainer/dist/bin.js');
const built = existsSync(bin);
if (!built) console.warn(`[train-interrupt] skipped: ${bin} is not built (run bash scripts/setup.sh)`);
const root = mkdtempSync(join(tmpdir(), 'olmo-int-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * Starts `olmo train`, sends `signal` once [step=after] has been logged (and `again`, if given, as
 * soon as the first was acknowledged on stderr); resolves with the exit and output.
 */
function trainAndSignal(args: string[], after: number, signal: NodeJS.Signals, again?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [bin, 'train', ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let out = '', err = '', sent = false, sentAgain = false;
    const timer = setTimeout(() => { p.kill('SIGKILL'); fail(new Error(`timed out; stdout:\n${out}\nstderr:\n${err}`)); }, 240_000);
    p.stdout.on('data', (d: Buffer) => {
      out += d;
      if (!sent && new RegExp(`\\[step=${after}/`).test(out)) {
        sent = true;
        p.kill(signal);
      }
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d;
      if (again && !sentAgain && err.includes('finishing the current step')) { sentAgain = true; p.kill(again); }
    });
    p.on('exit', (code, signal) => { clearTimeout(timer); done({ code, signal, out, err }); });
  });
}

describe.skipIf(!built)('olmo train: Ctrl-C / SIGTERM', () => {
  const data = writeTokenFile(join(root, 'data'));
  const cfgFile = join(root, 'run.yaml');
  // save_interval null: the checkpoint comes from the interrupt alone; console_log_interval 1 so the test sees each step
  writeFileSync(cfgFile, YAML.stringify(tinyRunConfig(data, join(root, 'unused'), { max_duration: 400, save_interval: null, console_log_interval: 1 })));

  it('SIGINT: finishes the step, saves, prints the resume command, exits 130; the command resumes exactly', async () => {
    const save = join(root, 'sigint');
    const r = await trainAndSignal([cfgFile, `--save_folder=${save}`], 3, 'SIGINT');
    expect(r.code, r.err).toBe(130);
    const m = /stopped by SIGINT after step (\d+) of 400; checkpoint (\S+)/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    const step = Number(m![1]);
    expect(step).toBeGreaterThanOrEqual(3);
    expect(m![2]).toBe(join(save, `step${step}-unsharded`));
    expect(readlinkSync(join(save, 'latest'))).toBe(`step${step}-unsharded`);
    expect(readTrainerState(join(save, 'latest')).step).toBe(step);
    expect(readMetrics(save)).toHaveLength(step); // the step in progress was finished and logged
    expect(r.err).toContain('SIGINT: finishing the current step');
    const resume = /resume with: olmo train (.+)\n/.exec(r.out)![1]!.split(' ');
    expect(resume).toEqual([cfgFile, `--save_folder=${save}`, '--try_load_latest_save=true']);

    // the printed command (with a shorter max_duration appended) continues from that step ...
    const r2 = spawnSync(process.execPath, [bin, 'train', ...resume, `--max_duration=${step + 3}`], { encoding: 'utf8', timeout: 240_000 });
    expect(r2.status, r2.stderr).toBe(0);
    expect(r2.stdout).toContain(`resumed from ${join(save, `step${step}-unsharded`)} at step ${step}`);
    // ... and reproduces the trace of a run that was never interrupted
    const straight = join(root, 'straight');
    const r3 = spawnSync(process.execPath, [bin, 'train', cfgFile, `--save_folder=${straight}`, `--max_duration=${step + 3}`], { encoding: 'utf8', timeout: 240_000 });
    expect(r3.status, r3.stderr).toBe(0);
    const trace = (s: string) => readMetrics(s).map((x) => [x.step, x['train/CrossEntropyLoss']]);
    expect(trace(save).slice(0, step)).toEqual(trace(straight).slice(0, step));
  });

  it('SIGTERM: same, exit 143', async () => {
    const save = join(root, 'sigterm');
    const r = await trainAndSignal([cfgFile, `--save_folder=${save}`], 2, 'SIGTERM');
    expect(r.code, r.err).toBe(143);
    expect(r.out).toMatch(/stopped by SIGTERM after step \d+ of 400; checkpoint /);
    expect(readTrainerState(join(save, 'latest')).step).toBeGreaterThanOrEqual(2);
  });

  it('a second Ctrl-C exits at once; latest (if any) names a complete checkpoint', async () => {
    const save = join(root, 'double');
    const r = await trainAndSignal([cfgFile, `--save_folder=${save}`, '--save_interval=1'], 2, 'SIGINT', 'SIGINT');
    expect(r.code, r.err).toBe(130);
    expect(r.err).toContain('SIGINT again: exiting now');
    expect(r.out).not.toContain('resume with:'); // it did not wait for the orderly stop
    // save_interval 1: step 1 was saved before [step=2] was logged; whatever was being written when
    // the second signal came, latest names a complete, loadable checkpoint
    const s = readTrainerState(join(save, 'latest'));
    expect(s.step).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(save, 'latest', 'model', 'model.safetensors'))).toBe(true);
  });
});
