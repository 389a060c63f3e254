/**
 * The downstream-task chart of `olmo eval --html`: one bar per accuracy-type task on a fixed 0–1
 * score axis (ticks 0.0 … 1.0), the random baseline as a black marker across each bar, the score
 * printed above both; blue above random, red at or below.
 */
import { renderChartSVG, type ChartSpec } from './chart.js';
import type { TaskResult } from './evaluate.js';

/** Metrics that are not 0–1 scores (losses) stay out of the score chart. */
export const isScoreMetric = (t: TaskResult) => t.metric !== 'ce_loss' && t.metric !== 'bpb';

export function scoreChartSpec(tasks: TaskResult[]): ChartSpec {
  const values = tasks.filter(isScoreMetric).map((t) => {
    const score = Number.isFinite(t.score) ? t.score : 0;
    return { task: t.task, top: Math.max(score, t.randomBaseline), label: `${t.task}\n${t.metric}`, score, random: t.randomBaseline, above: score > t.randomBaseline ? 'above random' : 'at or below random', desc: `${t.task} ${t.metric} ${score.toFixed(4)}`, baseDesc: `random baseline for ${t.task}: ${t.randomBaseline.toFixed(2)}` };
  });
  const x = { field: 'label', type: 'nominal' as const, sort: null, title: null, axis: { labelAngle: 0, labelExpr: "split(datum.label, '\\n')", labelPadding: 6 } };
  const y = { type: 'quantitative' as const, scale: { domain: [0, 1], nice: false }, title: 'score (0–1)', axis: { values: [0, 0.2, 0.4, 0.6, 0.8, 1], format: '.1f' } };
  const spec: ChartSpec = {
    width: { step: 84 }, height: 260, data: { values },
    layer: [
      {
        mark: { type: 'bar', width: { band: 0.6 } },
        encoding: {
          x, y: { ...y, field: 'score' }, description: { field: 'desc' },
          color: { field: 'above', type: 'nominal' as const, scale: { domain: ['above random', 'at or below random'], range: ['#2b7bb9', '#c0504d'] }, legend: null },
        },
      },
      { mark: { type: 'tick', color: '#222', thickness: 2 }, encoding: { x, y: { ...y, field: 'random' }, description: { field: 'baseDesc' } } },
      // the value sits above the bar or the baseline marker, whichever is higher, so it never crosses the marker
      { mark: { type: 'text', dy: -5, fontSize: 11, baseline: 'bottom' }, encoding: { x, y: { ...y, field: 'top' }, text: { field: 'score', format: '.3f' } } },
    ],
  };
  return spec;
}

/** The chart as standalone SVG, with `id="chart"`. */
export async function scoreChartSVG(tasks: TaskResult[]): Promise<string> {
  return (await renderChartSVG(scoreChartSpec(tasks))).replace('<svg ', '<svg id="chart" role="img" aria-label="task scores (0–1) vs random baseline" ');
}
