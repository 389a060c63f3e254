/**
 * The demo's loss chart (Vega-Lite → static SVG through @olmo/eval's renderChartSVG):
 * cross-entropy in nats/token against the step (bottom axis) and the training tokens seen (top
 * axis, the same positions: tokens = step × tokens per step); the per-step training loss, the
 * in-loop held-out evaluations, the final held-out number and the unigram baseline, told apart by
 * colour, dash and symbol in one legend below the plot (no labels inside the plot to collide).
 */
import { renderChartSVG, type ChartSpec } from '@olmo/eval';
import type { DemoReportData } from './demo-report.js';

export const SERIES = {
  train: 'training batch (per step)',
  inLoop: 'held-out, in-loop',
  final: 'held-out, final',
  unigram: 'unigram baseline (held-out)',
} as const;

export function lossChartSpec(d: DemoReportData): ChartSpec {
  const first = d.history[0]?.step ?? d.training.firstStep, last = d.history.at(-1)?.step ?? d.training.lastStep;
  const inLoop = `${SERIES.inLoop} (${d.inLoop.instances} inst.)`, final = `${SERIES.final} (${d.final.instances} inst.)`;
  const rows: Array<{ step: number; ce: number; series: string }> = [];
  for (const r of d.history) rows.push({ step: r.step, ce: r.trainCE, series: SERIES.train });
  for (const r of d.history) if (r.heldOutCE !== undefined) rows.push({ step: r.step, ce: r.heldOutCE, series: inLoop });
  rows.push({ step: last, ce: d.final.crossEntropy, series: final });
  rows.push({ step: first, ce: d.unigram.heldOutCE, series: SERIES.unigram }, { step: last, ce: d.unigram.heldOutCE, series: SERIES.unigram });

  const domain = [SERIES.train, inLoop, final, SERIES.unigram];
  const legend = { title: null, orient: 'bottom' as const, direction: 'horizontal' as const, symbolType: 'stroke', columns: 2, labelLimit: 320, columnPadding: 24 };
  const color = { field: 'series', type: 'nominal' as const, scale: { domain, range: ['#4c78a8', '#e45756', '#222222', '#8c8c8c'] }, legend };
  const dash = { field: 'series', type: 'nominal' as const, scale: { domain, range: [[1, 0], [1, 0], [1, 0], [6, 4]] }, legend };
  const shape = { field: 'series', type: 'nominal' as const, scale: { domain, range: ['stroke', 'circle', 'diamond', 'stroke'] }, legend };
  const x = {
    field: 'step', type: 'quantitative' as const, title: 'training step',
    scale: { domain: [first, last], nice: false, zero: false }, axis: { format: ',d', tickMinStep: 1, labelFlush: true, labelOverlap: true },
  };
  const noAxis = { ...x, axis: null };
  const tps = d.training.tokensPerStep;
  const y = {
    field: 'ce', type: 'quantitative' as const, title: 'cross-entropy (nats/token)',
    scale: { zero: false, nice: true }, axis: { format: '.1f', labelOverlap: true },
  };
  const spec: ChartSpec = {
    width: 820, height: 340,
    layer: [
      {
        data: { values: rows.filter((r) => r.series !== inLoop && r.series !== final) },
        mark: { type: 'line', strokeWidth: 1.4, clip: true },
        encoding: { x, y, color, strokeDash: dash },
      },
      {
        data: { values: rows.filter((r) => r.series === inLoop) },
        mark: { type: 'line', point: { size: 36, filled: true }, strokeWidth: 1.6 },
        encoding: { x: noAxis, y, color, strokeDash: dash, shape },
      },
      {
        data: { values: rows.filter((r) => r.series === final) },
        mark: { type: 'point', filled: true, size: 110 },
        encoding: { x: noAxis, y, color, shape },
      },
      // the top axis: training tokens seen at round token counts, placed on the same step scale
      {
        data: { values: [{ step: first, ce: d.unigram.heldOutCE }] },
        mark: { type: 'point', opacity: 0 },
        encoding: {
          x: {
            ...x, title: 'training tokens seen',
            axis: { orient: 'top', values: tokenTicks(first, last, tps).map((t) => t / tps), labelExpr: `format(datum.value * ${tps}, '.3~s')`, labelFlush: true, labelOverlap: true, grid: false },
          },
          y,
        },
      },
    ],
    // one axis per layer: the step axis comes from the first layer, the tokens axis from the last
    resolve: { axis: { x: 'independent' } },
  };
  return spec;
}

/** Round token counts (1, 2 or 5 × 10^k apart, four to eight of them) between the first and last step. */
export function tokenTicks(firstStep: number, lastStep: number, tokensPerStep: number): number[] {
  const lo = firstStep * tokensPerStep, hi = lastStep * tokensPerStep;
  const raw = (hi - lo) / 8, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) out.push(t);
  return out;
}

export async function lossChartSVG(d: DemoReportData): Promise<string> {
  return (await renderChartSVG(lossChartSpec(d))).replace('<svg ', '<svg id="loss-chart" role="img" aria-label="cross-entropy per training step" ');
}
