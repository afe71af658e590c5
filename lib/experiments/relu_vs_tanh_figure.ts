// Figure 1 redrawn from an experiment's results: training error against epochs, one bold line
// per activation (the mean over seeds), each seed's own curve thin and light around it, and the
// threshold as a horizontal line.
import { Canvas, type Colour } from '../cli/canvas.js';
import { drawPanel, type Series } from '../cli/chart.js';
import type { ReluVsTanhResult } from './relu_vs_tanh.js';

const COLOURS: Record<'relu' | 'tanh', { main: Colour; light: Colour }> = {
  relu: { main: [20, 60, 170], light: [170, 190, 235] },
  tanh: { main: [200, 50, 30], light: [240, 185, 170] },
};

/** The mean of the seeds' curves at each point all of them reached (a diverged run stops early). */
function meanCurve(curves: [number, number][][]): [number, number][] {
  const length = Math.min(...curves.map((c) => c.length));
  return Array.from({ length }, (_, i) => [curves[0]![i]![0], curves.reduce((a, c) => a + c[i]![1], 0) / curves.length]);
}

export function renderReluVsTanh(result: ReluVsTanhResult, width = 900, height = 560): Buffer {
  const perEpoch = result.settings.iterationsPerEpoch;
  const toEpochs = (points: [number, number][]): [number, number][] => points.map(([it, e]) => [it / perEpoch, e]);
  const series: Series[] = [];
  for (const activation of ['relu', 'tanh'] as const) {
    const a = result.activations[activation];
    for (const run of a.runs) series.push({ label: '', colour: COLOURS[activation].light, points: toEpochs(run.curve), thickness: 1, legend: false });
  }
  for (const activation of ['relu', 'tanh'] as const) {
    const a = result.activations[activation];
    series.push({ label: `${activation} lr ${a.bestLr}`, colour: COLOURS[activation].main, points: toEpochs(meanCurve(a.runs.map((r) => r.curve))), thickness: 3 });
  }
  const lastEpoch = result.settings.epochs;
  series.push({ label: `threshold ${+(result.settings.threshold * 100).toFixed(2)}%`, colour: [90, 90, 90], points: [[0, result.settings.threshold], [lastEpoch, result.settings.threshold]], thickness: 1 });
  const canvas = new Canvas(width, height);
  drawPanel(canvas, { x: 0, y: 0, w: width, h: height }, {
    title: `training error: relu vs tanh (mean over ${result.settings.seeds} seeds)`,
    xLabel: 'epochs',
    percent: true,
    fromZero: true,
    series,
  });
  return canvas.toPng();
}
