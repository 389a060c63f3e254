/**
 * Test helper: open an HTML report in headless Chromium (Debian's /usr/bin/chromium, or another
 * found on PATH), take a screenshot, and measure the rendered page with a probe script. The probe
 * reports every visible SVG text element with its bounding box (and the pairs that overlap), each
 * SVG's size, the table header cells, and whatever extra expression the caller adds; it writes its
 * JSON into the DOM, which `--dump-dom` returns. Nothing is fetched: the reports are self-contained.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function findChromium(): string | undefined {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    const r = spawnSync('which', [c], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

export interface TextBox { text: string; role: string; x: number; y: number; w: number; h: number }
export interface PageProbe {
  texts: TextBox[];
  overlaps: Array<[string, string]>;
  svgs: Array<{ id: string; w: number; h: number }>;
  tables: Array<{ id: string; headers: string[]; rows: number; cellsPerRow: number[] }>;
  extra: unknown;
}

/** Where screenshots go (kept after the test so a person can look at them). */
export const screenshotDir = process.env.OLMO_SCREENSHOT_DIR ?? join(tmpdir(), 'olmo-report-screenshots');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage', '--hide-scrollbars'];

// Runs in the page. Text boxes are in page coordinates; a label Vega hid to avoid overlap has opacity 0.
const PROBE = (extra: string) => `<script>window.addEventListener('load', () => {
  const visible = (el) => { for (let e = el; e && e.nodeType === 1; e = e.parentNode) { const s = getComputedStyle(e); if (s.display === 'none' || s.visibility === 'hidden' || Number(s.opacity) === 0 || e.getAttribute('opacity') === '0') return false; } return true; };
  const texts = [...document.querySelectorAll('svg text')].filter((t) => t.textContent.trim() && visible(t)).map((t) => {
    const b = t.getBoundingClientRect(); const g = t.closest('g[class]');
    return { text: t.textContent, role: g ? g.getAttribute('class') : '', x: b.left + scrollX, y: b.top + scrollY, w: b.width, h: b.height };
  });
  const overlaps = [];
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
    const a = texts[i], b = texts[j];
    const ix = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x), iy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
    if (ix > 1 && iy > 1) overlaps.push([a.text, b.text]);
  }
  const svgs = [...document.querySelectorAll('svg')].filter((s) => !s.parentNode.closest('svg')).map((s) => { const b = s.getBoundingClientRect(); return { id: s.id, w: b.width, h: b.height }; });
  const tables = [...document.querySelectorAll('table')].map((t) => ({ id: t.id, headers: [...t.querySelectorAll('thead th')].map((th) => th.textContent), rows: t.querySelectorAll('tbody tr').length, cellsPerRow: [...t.querySelectorAll('tbody tr')].map((r) => r.cells.length) }));
  const extra = (() => { ${extra} })();
  const pre = document.createElement('pre'); pre.id = '__probe'; pre.textContent = JSON.stringify({ texts, overlaps, svgs, tables, extra }); document.body.appendChild(pre);
});</script>`;

function run(chromium: string, args: string[]): string {
  const profile = mkdtempSync(join(tmpdir(), 'olmo-chromium-'));
  try {
    return execFileSync(chromium, [...FLAGS, `--user-data-dir=${profile}`, ...args], { encoding: 'utf8', timeout: 90_000, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * Screenshots `html` (as `<name>.png` in screenshotDir, window `width`×`height`) and returns the
 * probe's measurements. `extra` is a function body evaluated in the page whose return value comes
 * back as `probe.extra`.
 */
export function renderInChromium(chromium: string, html: string, name: string, opts: { width?: number; height?: number; extra?: string } = {}): { probe: PageProbe; screenshot: string } {
  const dir = mkdtempSync(join(tmpdir(), 'olmo-report-'));
  try {
    const page = join(dir, 'report.html');
    writeFileSync(page, html);
    mkdirSync(screenshotDir, { recursive: true });
    const screenshot = join(screenshotDir, `${name}.png`);
    run(chromium, [`--window-size=${opts.width ?? 1000},${opts.height ?? 1400}`, `--screenshot=${screenshot}`, `file://${page}`]);
    writeFileSync(page, html.replace('</body>', `${PROBE(opts.extra ?? 'return null;')}</body>`));
    const dom = run(chromium, [`--window-size=${opts.width ?? 1000},${opts.height ?? 1400}`, '--virtual-time-budget=5000', '--dump-dom', `file://${page}`]);
    const m = /<pre id="__probe">([\s\S]*?)<\/pre>/.exec(dom);
    if (!m) throw new Error(`the probe did not run in Chromium; DOM starts: ${dom.slice(0, 300)}`);
    const json = m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&nbsp;/g, '\u00a0').replace(/&amp;/g, '&');
    return { probe: JSON.parse(json) as PageProbe, screenshot };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
