/** A small progress bar on stderr, drawn only when stderr is a TTY (or when forced). */
export interface Progress {
  update(done: number, total: number): void;
  finish(): void;
}

export function createProgress(label: string, enabled: boolean = !!process.stderr.isTTY): Progress {
  if (!enabled) return { update() {}, finish() {} };
  const t0 = Date.now();
  let last = 0;
  let drawn = false;
  const draw = (done: number, total: number) => {
    const width = 30;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const fill = Math.round(frac * width);
    const secs = (Date.now() - t0) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 ? (total - done) / rate : 0;
    process.stderr.write(`\r${label.padEnd(14)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(Math.round(frac * 100)).padStart(3)}% ${done}/${total} ${rate.toFixed(1)}/s eta ${eta.toFixed(0)}s `);
    drawn = true;
  };
  return {
    update(done, total) {
      const now = Date.now();
      if (done < total && now - last < 100) return;
      last = now;
      draw(done, total);
    },
    finish() {
      if (drawn) process.stderr.write('\n');
    },
  };
}
