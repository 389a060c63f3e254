/** Progress on stderr: a live line on a TTY (documents/s, MB/s, ETA), one line per file otherwise. */
export class Progress {
  private t0 = performance.now();
  private docs = 0;
  private bytes = 0;
  private files = 0;
  private last = 0;
  constructor(private readonly label: string, private readonly totalFiles: number, private readonly err: (s: string) => void, private readonly quiet = false) {}

  add(r: { documents: number; bytes: number; file: string; skipped?: boolean }): void {
    this.files++;
    this.docs += r.documents;
    this.bytes += r.bytes;
    if (this.quiet) return;
    const s = (performance.now() - this.t0) / 1000;
    const rate = this.files / Math.max(s, 1e-9);
    const eta = (this.totalFiles - this.files) / Math.max(rate, 1e-9);
    const msg = `${this.label}: ${this.files}/${this.totalFiles} files  ${this.docs.toLocaleString('en-US')} docs  `
      + `${(this.docs / Math.max(s, 1e-9)).toFixed(0)} docs/s  ${(this.bytes / 1e6 / Math.max(s, 1e-9)).toFixed(2)} MB/s  ETA ${eta.toFixed(0)} s`;
    if (process.stderr.isTTY && this.err === defaultErr) {
      const now = performance.now();
      if (now - this.last > 200 || this.files === this.totalFiles) { process.stderr.write(`\r${msg}\x1b[K${this.files === this.totalFiles ? '\n' : ''}`); this.last = now; }
    } else this.err(`${msg}${r.skipped ? `  (skipped finished ${r.file})` : ''}`);
  }
}

export const defaultErr = (s: string): void => { process.stderr.write(`${s}\n`); };
