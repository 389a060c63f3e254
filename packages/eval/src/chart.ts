/**
 * Static charts for the HTML reports: a Vega-Lite spec → an SVG string, rendered in Node by Vega's
 * headless scenegraph (no browser, no canvas, nothing fetched). Vega-Lite supplies what
 * hand-drawn SVG got wrong: nice tick values with labels on every axis, axis titles, legends, and
 * label-overlap removal. The SVG is self-contained (white background, inline styles), so the
 * report stays one file that opens anywhere.
 */
import type { TopLevelSpec } from 'vega-lite';

export type ChartSpec = TopLevelSpec;

/** Shared look: readable fonts, light grid, no plot border. */
const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6', domainColor: '#888', tickColor: '#888', labelColor: '#333', titleColor: '#222' },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', direction: 'horizontal', symbolStrokeWidth: 2 },
  title: { fontSize: 14, fontWeight: 'normal', anchor: 'start' },
} as const;

/** Renders a Vega-Lite spec (data inline in `data.values`) to a standalone SVG string. */
export async function renderChartSVG(spec: ChartSpec): Promise<string> {
  // loaded on first use: importing @olmo/eval (every `olmo` command does) should not pay for Vega
  const [{ View, parse }, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const full = { ...spec, config: { ...CONFIG, ...(spec as { config?: object }).config }, background: 'white' } as TopLevelSpec;
  const view = new View(parse(compile(full).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
