/** NaN/Inf detection stops training with NON_FINITE naming the step; typed errors for bad checkpoints. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { copyInto, memoryStats, tensor } from '@olmo/tensor-cuda';
import { NaNDetector, NonFiniteError, resolveConfig, resolveCheckpoint, readTrainerState, Trainer, type TrainerView } from '../src/index.js';
import { tinyRunConfig, writeTokenFile } from './resume-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'olmo-nan-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('memory', () => {
  it('training steps do not leak native buffers', async () => {
    const data = writeTokenFile(join(root, 'm'));
    const t = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, join(root, 'mrun'), { save_interval: null })), { log: () => {} });
    t.trainStep(); t.trainStep();
    const before = memoryStats().cpuBuffers;
    for (let i = 0; i < 5; i++) t.trainStep();
    expect(memoryStats().cpuBuffers).toBe(before);
  });
});

describe('non-finite detection', () => {
  it('a NaN weight stops training at the step where it appears', async () => {
    const data = writeTokenFile(join(root, 'd'));
    const t = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, join(root, 'run'), { save_interval: null })), { log: () => {} });
    t.trainStep(); t.trainStep();
    const p = t.params[0]!.param;
    const bad = new Float32Array(p.size).fill(Number.NaN);
    const src = tensor(bad, { shape: p.shape });
    copyInto(p, src); src.dispose();
    let err: unknown;
    try { t.trainStep(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as NonFiniteError).code).toBe('NON_FINITE');
    expect((err as NonFiniteError).step).toBe(3);
    expect((err as Error).message).toMatch(/step 3/);
  });
  it('NaNDetector checks logged metrics', () => {
    const view = { step: 7 } as TrainerView;
    expect(() => new NaNDetector().onStepEnd(view, { 'train/CrossEntropyLoss': Number.POSITIVE_INFINITY })).toThrow(/step 7/);
    expect(() => new NaNDetector().onStepEnd(view, { 'train/CrossEntropyLoss': 1, 'optim/total_grad_norm': 2 })).not.toThrow();
  });
  it('a missing checkpoint is NOT_FOUND naming the path; an empty folder or a corrupt one is CHECKPOINT_CORRUPT', () => {
    expect(() => resolveCheckpoint(join(root, 'nope'))).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: expect.stringContaining(join(root, 'nope')) }));
    const empty = join(root, 'empty'); mkdirSync(empty);
    expect(() => resolveCheckpoint(empty)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_CORRUPT' }));
    const d = join(root, 'bad'); mkdirSync(d);
    writeFileSync(join(d, 'trainer.msgpack'), Buffer.from([0xc1, 0x00, 0xff]));
    expect(() => readTrainerState(d)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_CORRUPT' }));
  });
});
