// An ablation's figure, three panels side by side: the training error on the batches and the test
// error after every epoch (a bold line per variant for the mean over seeds, each seed thin and
// light), and the final test and training error of every seed per variant (dots, the mean a bar).
import { Canvas, type Colour } from '../cli/canvas.js';
import { drawPanel, drawStrips, type Series } from '../cli/chart.js';
import type { AblationResult } from './ablation.js';

const PALETTE: { main: Colour; light: Colour }[] = [
  { main: [20, 60, 170], light: [170, 190, 235] },
  { main: [200, 50, 30], light: [240, 185, 170] },
  { main: [30, 140, 60], light: [175, 220, 185] },
];
const TRAIN_GREY: Colour = [150, 150, 150];

/** The mean of the seeds' curves at each point all of them reached (a diverged run stops early). */
function meanCurve(curves: [number, number][][]): [number, number][] {
  const present = curves.filter((c) => c.length > 0);
  if (present.length === 0) return [];
  const length = Math.min(...present.map((c) => c.length));
  return Array.from({ length }, (_, i) => [present[0]![i]![0], present.reduce((a, c) => a + c[i]![1], 0) / present.length]);
}

function curveSeries(result: AblationResult, pick: (run: AblationResult['variants'][number]['runs'][number]) => [number, number][], markers: boolean): Series[] {
  const perEpoch = result.settings.iterationsPerEpoch;
  const toEpochs = (points: [number, number][]): [number, number][] => points.map(([it, e]) => [it / perEpoch, e]);
  const thin: Series[] = [];
  const bold: Series[] = [];
  result.variants.forEach((v, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    for (const run of v.runs) thin.push({ label: '', colour: colour.light, points: toEpochs(pick(run)), thickness: 1, legend: false });
    bold.push({ label: v.label, colour: colour.main, points: toEpochs(meanCurve(v.runs.map(pick))), thickness: 3, markers });
  });
  return [...thin, ...bold];
}

export function renderAblation(result: AblationResult, width = 1500, height = 540): Buffer {
  const canvas = new Canvas(width, height);
  const panel = Math.floor(width / 3);
  const seeds = result.settings.seeds;
  const training = curveSeries(result, (r) => r.curve, false);
  if (result.threshold !== null && result.variants.length > 1)
    training.push({ label: `threshold ${(result.threshold * 100).toFixed(1)}%`, colour: [90, 90, 90], points: [[0, result.threshold], [result.settings.epochs, result.threshold]], thickness: 1 });
  drawPanel(canvas, { x: 0, y: 0, w: panel, h: height }, {
    title: `training error on the batches (${seeds} seed${seeds === 1 ? '' : 's'})`, xLabel: 'epochs', percent: true, fromZero: true, series: training,
  });
  const first = result.settings.evaluations[0]!;
  drawPanel(canvas, { x: panel, y: 0, w: panel, h: height }, {
    title: `test error (${first}) after each epoch`, xLabel: 'epochs', percent: true, series: curveSeries(result, (r) => r.test, true),
  });
  const strips = result.rows.map((row, i) => {
    const variant = result.variants.find((v) => v.key === row.variant)!;
    const colour = PALETTE[(result.variants.length > 1 ? result.variants.indexOf(variant) : i) % PALETTE.length]!.main;
    const good = variant.runs.filter((r) => !r.diverged);
    return {
      label: row.label,
      groups: [
        { name: 'test', colour, values: good.map((r) => r.final.test[row.evaluation]!) },
        { name: 'train (eval mode)', colour: TRAIN_GREY, values: good.map((r) => r.final.train) },
      ],
    };
  });
  drawStrips(canvas, { x: 2 * panel, y: 0, w: width - 2 * panel, h: height }, { title: 'final error per seed (bar: mean)', strips, percent: true });
  return canvas.toPng();
}
