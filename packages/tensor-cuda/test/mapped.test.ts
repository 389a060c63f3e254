/** Storage.mapFile + Tensor.fromStorage: zero-copy views of a file, kept mapped by reference counts. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OlmoError, QTensor, Storage, Tensor, dequantize, fillInPlace, memoryStats, quantize, tensor } from '../src/index.js';

function code(fn: () => unknown): string | undefined {
  try { fn(); } catch (e) { expect(e).toBeInstanceOf(OlmoError); return (e as OlmoError).code; }
  return undefined;
}

describe('mapped storage', () => {
  it('views read the file in place; the mapping lives until the last view; writes never reach the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'olmo-map-'));
    const file = path.join(dir, 'w.bin');
    const vals = Float32Array.from({ length: 64 }, (_, i) => i * 0.5 - 3);
    const bytes = new Uint8Array(6 + vals.byteLength);
    bytes.set(new Uint8Array(vals.buffer), 6);   // a 6-byte header: float32 data at an unaligned offset
    writeFileSync(file, bytes);
    const before = memoryStats();
    const s = Storage.mapFile(file);
    expect(s.mapped).toBe(true);
    expect(s.nbytes).toBe(bytes.length);
    expect(memoryStats().mappedBuffers).toBe(before.mappedBuffers + 1);
    expect(memoryStats().cpuBytes).toBe(before.cpuBytes);   // nothing allocated
    expect(code(() => Tensor.fromStorage(s, [64], 'float32', 6))).toBe('INVALID_ARGUMENT');
    expect(code(() => Tensor.fromStorage(s, [64], 'float32', 8))).toBe('SHAPE_MISMATCH');   // past the end
    const bf = Tensor.fromStorage(s, [32], 'bfloat16', 6);  // 2-byte aligned: fine
    expect(bf.size).toBe(32);
    const t = Tensor.fromStorage(s, [60], 'float32', 8);    // any 4-byte-aligned offset: the bytes there, reinterpreted
    s.release();                                            // the views keep it mapped
    expect(memoryStats().mappedBuffers).toBe(before.mappedBuffers + 1);
    const whole = new Float32Array(bytes.buffer.slice(8, 8 + 240));
    expect(t.toFloat32Array()).toEqual(whole);
    fillInPlace(t, 7);                                      // copy-on-write: private pages only
    expect(t.toFloat32Array()[0]).toBe(7);
    expect(new Uint8Array(readFileSync(file))).toEqual(bytes);
    t.dispose();
    bf.dispose();
    expect(memoryStats().mappedBuffers).toBe(before.mappedBuffers);
    expect(memoryStats().mappedBytes).toBe(before.mappedBytes);
    expect(code(() => Storage.mapFile(path.join(dir, 'missing.bin')))).toBe('NOT_FOUND');
  });

  it('q8_0 QTensors can view mapped blocks too', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'olmo-map-q-'));
    const q = quantize(tensor(Float32Array.from({ length: 4 * 64 }, (_, i) => Math.sin(i)), { shape: [4, 64] }));
    const file = path.join(dir, 'q.bin');
    const blob = new Uint8Array(3 + q.nbytes);
    blob.set(q.toBytes(), 3);                               // blocks are byte-addressed: any offset works
    writeFileSync(file, blob);
    const s = Storage.mapFile(file);
    const v = QTensor.fromStorage(s, [4, 64], 3);
    s.release();
    expect(dequantize(v).toFloat32Array()).toEqual(dequantize(q).toFloat32Array());
    v.dispose();
    q.dispose();
  });
});
