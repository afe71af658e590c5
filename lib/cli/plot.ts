// `alexnet plot`: a run's loss and error curves (from metrics.jsonl) as a PNG.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AlexNetError } from '../errors.js';
import { readMetrics, type MetricsRecord } from '../train/metrics.js';
import { intFlag, parse, usage } from './args.js';
import { Canvas } from './canvas.js';
import { drawPanel } from './chart.js';

export const plotHelp = `Usage: alexnet plot RUN [--out FILE.png] [--width N] [--height N]

Draws the training loss (every logged step and per epoch), the test loss and the top-1 and
top-5 error per epoch of a run. RUN is a run directory or its metrics.jsonl.
The picture goes to --out (default RUN/curves.png).`;

export async function plotCommand(argv: string[]): Promise<number> {
  const c = 'plot';
  const { values: v, positionals } = parse(c, argv, { out: { type: 'string', short: 'o' }, width: { type: 'string' }, height: { type: 'string' } }, true);
  if (v.help) {
    console.log(plotHelp);
    return 0;
  }
  if (positionals.length !== 1) usage(c, 'give one run directory or metrics.jsonl');
  const width = intFlag(c, 'width', v.width, 400, MAX_SIDE) ?? 1200;
  const height = intFlag(c, 'height', v.height, 200, MAX_SIDE) ?? 500;
  const run = positionals[0]!;
  const file = existsSync(run) && statSync(run).isDirectory() ? join(run, 'metrics.jsonl') : run;
  if (!existsSync(file)) throw new AlexNetError(`${file}: no such file`, 'IO_ERROR', 'open');
  const out = typeof v.out === 'string' ? v.out : join(dirname(file), 'curves.png');
  writeFileSync(out, renderCurves(file, width, height));
  console.log(out);
  return 0;
}

/** The largest picture side: a bigger one is no plot but a memory request. */
const MAX_SIDE = 10_000;
/** Axis values a run can have written: far beyond any real run, far below where float steps fail. */
const MAX_EPOCH = 1e6;
const MAX_STEP = 1e12;

/**
 * Rejects records whose epoch or step no run could have written (1e17, -3, 2.5): they would set
 * the x axis, and a wrong axis is worse than a clear error naming the file.
 */
function checkAxes(file: string, records: MetricsRecord[]): void {
  records.forEach((r, i) => {
    for (const [key, max] of [['epoch', MAX_EPOCH], ['step', MAX_STEP]] as const) {
      const value = r[key];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
        throw new AlexNetError(`${file}: record ${i + 1} (${JSON.stringify(r.type)}) has ${key} ${JSON.stringify(value)}; ` +
          `a metrics file's ${key}s are integers from 0 to ${max}`, 'BAD_FILE');
    }
  });
}

/** The PNG bytes of the curves in a metrics file. */
export function renderCurves(file: string, width: number, height: number): Buffer {
  const records = readMetrics(file);
  checkAxes(file, records);
  const epochs = records.filter((r) => r.type === 'epoch');
  const steps = records.filter((r) => r.type === 'step');
  // Steps per epoch, to put step records on the epoch axis (epoch e ends at e + 1).
  const perEpoch = epochs.length > 0 ? Number(epochs[0]!.step) / (Number(epochs[0]!.epoch) + 1) : NaN;
  const stepX = (s: number) => (Number.isFinite(perEpoch) && perEpoch > 0 ? s / perEpoch : s);
  const num = (r: Record<string, unknown>, k: string) => (typeof r[k] === 'number' ? (r[k] as number) : NaN);
  const canvas = new Canvas(width, height);
  const half = Math.floor(width / 2);
  drawPanel(canvas, { x: 0, y: 0, w: half, h: height }, {
    title: 'loss',
    xLabel: Number.isFinite(perEpoch) ? 'epoch' : 'step',
    fromZero: true,
    series: [
      { label: 'train', colour: [70, 130, 220], points: steps.map((r) => [stepX(num(r, 'step')), num(r, 'loss')]) },
      { label: 'train (epoch)', colour: [20, 60, 160], markers: true, points: epochs.map((r) => [num(r, 'epoch') + 1, num(r, 'trainLoss')]) },
      { label: 'test', colour: [220, 90, 40], markers: true, points: epochs.map((r) => [num(r, 'epoch') + 1, num(r, 'valLoss')]) },
    ],
  });
  drawPanel(canvas, { x: half, y: 0, w: width - half, h: height }, {
    title: 'test error',
    xLabel: 'epoch',
    percent: true,
    fromZero: true,
    series: [
      { label: 'top-1', colour: [200, 40, 40], markers: true, points: epochs.map((r) => [num(r, 'epoch') + 1, num(r, 'top1Error')]) },
      { label: 'top-5', colour: [40, 150, 70], markers: true, points: epochs.map((r) => [num(r, 'epoch') + 1, num(r, 'top5Error')]) },
    ],
  });
  return canvas.toPng();
}
