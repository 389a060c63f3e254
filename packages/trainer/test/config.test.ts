/** Config: OLMo key names, YAML overrides, CONFIG_INVALID with the key path. */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, maxStepsOf, parseOverrides, resolveConfig, requireData } from '../src/index.js';

const configsDir = resolve(import.meta.dirname, '../../../configs');
function invalid(fn: () => unknown, keyPath: string, re?: RegExp) {
  try { fn(); } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe('CONFIG_INVALID');
    expect((e as ConfigError).keyPath).toBe(keyPath);
    if (re) expect((e as Error).message).toMatch(re);
    return;
  }
  throw new Error(`expected CONFIG_INVALID at ${keyPath}`);
}

describe('config', () => {
  it('overrides parse values as YAML', () => {
    expect(parseOverrides(['--optimizer.learning_rate=3e-4', '--optimizer.betas=[0.9,0.95]', '--load_path=null', 'run_name=x'])).toEqual({ optimizer: { learning_rate: 3e-4, betas: [0.9, 0.95] }, load_path: null, run_name: 'x' });
    const c = resolveConfig({ run_name: 'r', save_folder: 'runs/${run_name}' }, parseOverrides(['--seed=7', '--scheduler.name=linear_with_warmup']));
    expect(c.seed).toBe(7); expect(c.scheduler.name).toBe('linear_with_warmup'); expect(c.save_folder).toBe('runs/r');
  });
  it('bad values → CONFIG_INVALID with the key path', () => {
    invalid(() => resolveConfig(parseOverrides(['--optimizer.learning_rate=-1'])), 'optimizer.learning_rate', />/);
    invalid(() => resolveConfig({ global_train_batch_size: 8, device_train_microbatch_size: 3 }), 'device_train_microbatch_size', /divide/);
    invalid(() => resolveConfig(parseOverrides(['--scheduler.name=cosine'])), 'scheduler.name', /valid: constant/);
    invalid(() => requireData(resolveConfig({})), 'data.paths');
    invalid(() => resolveConfig({ global_train_batch_size: 8, device_train_microbatch_size: 16 }), 'device_train_microbatch_size');
    invalid(() => resolveConfig(parseOverrides(['--model.n_layer=2'])), 'model.n_layer', /valid keys.*model\.n_layers/);
    invalid(() => resolveConfig(parseOverrides(['--lr=2'])), 'lr', /valid keys/);
    invalid(() => resolveConfig(parseOverrides(['--seed=abc'])), 'seed', /expected int/);
    invalid(() => resolveConfig(parseOverrides(['--model.weight_tying=3'])), 'model.weight_tying', /expected bool/);
    invalid(() => resolveConfig(parseOverrides(['--optimizer.betas=[0.9]'])), 'optimizer.betas');
    invalid(() => resolveConfig(parseOverrides(['--max_duration=soon'])), 'max_duration');
  });
  it('max_duration: steps, tokens, epochs', () => {
    const c = resolveConfig({ global_train_batch_size: 4, device_train_microbatch_size: 4, model: { max_sequence_length: 256 } });
    expect(maxStepsOf({ ...c, max_duration: 100 }, 10)).toBe(100);
    expect(maxStepsOf({ ...c, max_duration: '1e6T' }, 10)).toBe(Math.ceil(1e6 / 1024));
    expect(maxStepsOf({ ...c, max_duration: '2ep' }, 10)).toBe(5);
  });
  it('every preset in configs/ loads and validates', () => {
    let n = 0;
    for (const f of readdirSync(configsDir).filter((x) => x.endsWith('.yaml'))) { loadConfig(join(configsDir, f)); n++; }
    expect(n).toBeGreaterThan(0);
  });
});
