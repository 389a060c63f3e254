import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataMix, OlmoError } from '../src/index.js';

const root = mkdtempSync(path.join(tmpdir(), 'olmo-mix-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const seqLen = 16;

function tokenFile(name: string, instances: number, fill: number): string {
  const a = new Uint16Array(instances * seqLen + 5).fill(fill); // +5: a remainder that must be dropped
  for (let i = 0; i < instances; i++) a[i * seqLen] = i % 60000;
  const p = path.join(root, name);
  writeFileSync(p, a);
  return p;
}
const a1 = tokenFile('a-0.npy', 600, 1);
const a2 = tokenFile('a-1.npy', 400, 1);
const b1 = tokenFile('b-0.npy', 800, 2);

describe('DataMix', () => {
  const spec = { name: 'ab', seed: 17, sources: [{ name: 'a', paths: [path.join(root, 'a-*.npy')], weight: 0.7 }, { name: 'b', paths: [b1], weight: 0.3 }] };

  it('realises weights 0.7/0.3 within 1% and identically across runs', () => {
    const m = DataMix.fromObject(spec).realise({ seqLen });
    const [ra, rb] = m.table;
    expect(ra!.instancesBefore).toBe(1000);
    expect(rb!.instancesBefore).toBe(800);
    expect(Math.abs(ra!.fractionAfter - 0.7)).toBeLessThan(0.01);
    expect(Math.abs(rb!.fractionAfter - 0.3)).toBeLessThan(0.01);
    // Measured on the instances themselves: label of every instance.
    let na = 0;
    for (let i = 0; i < m.length; i++) if (m.get(i).sourceName === 'a') na++;
    expect(Math.abs(na / m.length - 0.7)).toBeLessThan(0.01);
    expect(m.get(0).inputIds.length).toBe(seqLen);
    const again = DataMix.fromYAML(DataMix.fromObject(spec).toYAML()).realise({ seqLen });
    expect(again.instances).toEqual(m.instances);
    expect(m.formatTable()).toMatch(/a\s+2\s+16,000\s+55\.56%\s+16,000\s+70\.03%/);
    m.close();
    again.close();
  });

  it('upsamples with totalInstances and repeat factors, seeded subsets', () => {
    const m = DataMix.fromObject({ ...spec, totalInstances: 5000 }).realise({ seqLen });
    expect(m.table.map((r) => r.instancesAfter)).toEqual([3500, 1500]);
    expect(m.table[0]!.factor).toBeCloseTo(3.5);
    const r = DataMix.fromObject({ seed: 3, sources: [{ name: 'a', paths: [a1, a2], repeat: 2.5 }, { name: 'b', paths: [b1], repeat: 0.5 }] }).realise({ seqLen });
    expect(r.table.map((x) => x.instancesAfter)).toEqual([2500, 400]);
    const other = DataMix.fromObject({ seed: 4, sources: [{ name: 'a', paths: [a1, a2], repeat: 2.5 }, { name: 'b', paths: [b1], repeat: 0.5 }] }).realise({ seqLen });
    expect(other.instances).not.toEqual(r.instances); // different seed → different subsets
    const picked = r.instances.subarray(2500);
    expect(new Set(picked).size).toBe(400); // a subset: no repeats below factor 1
  });

  it('rejects invalid mixes with CONFIG_INVALID', () => {
    const bad = [
      { sources: [] },
      { sources: [{ name: 'a', paths: [a1] }] },
      { sources: [{ name: 'a', paths: [a1], weight: 1, repeat: 1 }] },
      { sources: [{ name: 'a', paths: [a1], weight: -1 }] },
      { sources: [{ name: 'a', paths: [a1], weight: 1 }, { name: 'a', paths: [b1], weight: 1 }] },
      { sources: [{ name: 'a', paths: [a1], weight: 1 }, { name: 'b', paths: [b1], repeat: 1 }] },
    ];
    for (const b of bad) {
      try {
        DataMix.fromObject(b);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(OlmoError);
        expect((e as OlmoError).code).toBe('CONFIG_INVALID');
      }
    }
    expect(() => DataMix.fromYAML('sources: [: bad')).toThrow(/invalid YAML/);
    expect(() => DataMix.load('no-such-mix', root)).toThrow(/not found/);
  });

  it('named mixes in configs/mixes/ parse', () => {
    const dir = path.resolve(__dirname, '../../../configs/mixes');
    const names = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(DataMix.load(n, dir).spec.sources.length).toBeGreaterThan(0);
  });
});
