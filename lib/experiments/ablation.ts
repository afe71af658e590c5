// The ablations of the paper's §3–4: one of its choices (two columns, LRN, overlapping pooling,
// PCA colour noise, dropout, ten-crop evaluation) against the network without it. Every variant
// trains with the same seeds (the same initial weights where the layers allow it, the same data
// order and augmentation draws), so the comparison is paired seed by seed. Each run records its
// training-error curve on the batches (as Figure 1), its test error after every epoch, and at the
// end its test error and its error on training images seen the same way (no augmentation, no
// dropout): the difference is the overfitting.
import type { DeviceName } from '../device_name.js';
import { createLoader, type Dataset, type DatasetStats } from '../data/index.js';
import { alexnet, type AlexNetOptions } from '../models/alexnet.js';
import type { Module } from '../nn/module.js';
import { evaluate } from '../train/evaluate.js';
import { summarise, type Summary } from './stats.js';
import { iterationsToReach, trainingCurve } from './training_curve.js';

/** How test images are presented: the centre crop, or the average over ten crops (§4.1). */
export type Evaluation = 'centre' | 'ten-crop';

export interface AblationVariant {
  key: string;
  /** For legends and tables. */
  label: string;
  /** Options of the one AlexNet spec that this variant changes. */
  model?: Pick<AlexNetOptions, 'lrn' | 'overlappingPool' | 'dropout' | 'singleColumn'>;
  /** Placed in the paper's two columns on `devices` (else on one device). */
  twoColumn?: boolean;
  /** PCA colour augmentation in training. */
  pca?: boolean;
}

export interface AblationDefinition {
  /** What the paper says, with its number. */
  paper: string;
  /** The paper's choice first; the others are compared with it. */
  variants: AblationVariant[];
  /** How test error is measured; the first is the one the curves show. Default ['centre']. */
  evaluations?: Evaluation[];
}

const NO_PCA = { pca: false };

/** The experiments: each is the paper's network as trained here, with one choice changed. */
export const ABLATIONS = {
  'two-columns': {
    paper: '§3.2: two columns (half of the kernels on each GPU, conv3 and the FC layers reading both) against one column with half of the kernels in conv1-conv4: -1.7% top-1, -1.2% top-5 error',
    variants: [
      { key: 'two-columns', label: 'two columns', twoColumn: true, ...NO_PCA },
      { key: 'one-column', label: 'one column', model: { singleColumn: true }, ...NO_PCA },
    ],
  },
  lrn: {
    paper: '§3.3: local response normalisation after ReLU 1 and 2: -1.4% top-1, -1.2% top-5 error; on CIFAR-10 a 4-layer CNN from 13% to 11% test error',
    variants: [
      { key: 'lrn', label: 'LRN', ...NO_PCA },
      { key: 'no-lrn', label: 'no LRN', model: { lrn: false }, ...NO_PCA },
    ],
  },
  'overlapping-pool': {
    paper: '§3.4: overlapping max pooling (window 3, stride 2) against 2/2: -0.4% top-1, -0.3% top-5 error, and slightly harder to overfit',
    variants: [
      { key: 'pool-3-2', label: 'pool 3/2', ...NO_PCA },
      { key: 'pool-2-2', label: 'pool 2/2', model: { overlappingPool: false }, ...NO_PCA },
    ],
  },
  'pca-colour': {
    paper: '§4.1: PCA colour augmentation (alpha ~ N(0, 0.1) per image along the RGB principal components): -1% top-1 error',
    variants: [
      { key: 'pca', label: 'PCA noise', pca: true },
      { key: 'no-pca', label: 'no PCA noise', pca: false },
    ],
  },
  dropout: {
    paper: '§4.2: dropout (p 0.5 on fc6 and fc7) substantially reduces overfitting and roughly doubles the iterations needed to converge',
    variants: [
      { key: 'dropout', label: 'dropout 0.5', ...NO_PCA },
      { key: 'no-dropout', label: 'no dropout', model: { dropout: false }, ...NO_PCA },
    ],
  },
  'ten-crop': {
    paper: '§4.1: at test time, the average of the softmax over ten patches (four corners, centre, and their flips); the paper reports all its numbers this way',
    variants: [{ key: 'trained', label: 'random crops + flips', ...NO_PCA }],
    evaluations: ['ten-crop', 'centre'],
  },
} satisfies Record<string, AblationDefinition>;
export type AblationName = keyof typeof ABLATIONS;

export interface AblationData {
  train: Dataset;
  test: Dataset;
  /** Training images evaluated as test images are (the overfitting measure). */
  trainEval: Dataset;
  /** Of the training images, at `size`: the mean image and the colour covariance. */
  stats: DatasetStats;
}

export interface AblationOptions {
  seeds: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  /** Iterations per point of the training-error curve. */
  window: number;
  /** The network every variant starts from. */
  model: Pick<AlexNetOptions, 'numClasses' | 'inChannels' | 'inputSize' | 'width' | 'conv1Stride' | 'init'>;
  /** Images resized to size × size; random crop × crop windows and flips in training, the centre (or ten) in evaluation. */
  size: number;
  crop: number;
  flip: boolean;
  /** Network input = pixelScale · pixel − the mean image. */
  pixelScale: number;
  device: DeviceName;
  /** The two devices of a two-column variant. */
  devices: [DeviceName, DeviceName];
  /** Native data threads. */
  workers: number;
  log?: (line: string) => void;
}

export interface FinalErrors {
  /** Top-1 test error, per evaluation. */
  test: Partial<Record<Evaluation, number>>;
  testTop5: Partial<Record<Evaluation, number>>;
  /** Top-1 error on `trainEval`, centre crops, eval mode. */
  train: number;
}

export interface AblationRun {
  seed: number;
  diverged: boolean;
  seconds: number;
  iterations: number;
  /** [iterations, training error on the batches over the last window]. */
  curve: [number, number][];
  /** [iterations, top-1 test error] after every epoch (the first evaluation). */
  test: [number, number][];
  final: FinalErrors;
  /** Iterations until the training-error curve reaches the common threshold (null: never). */
  iterationsToThreshold: number | null;
}

/** One row of the comparison: a variant measured one way. */
export interface AblationRow {
  variant: string;
  label: string;
  evaluation: Evaluation;
  testError: Summary | null;
  testTop5Error: Summary | null;
  trainError: Summary | null;
  /** Test error minus training error: the overfitting. */
  gap: Summary | null;
  iterationsToThreshold: Summary | null;
  /**
   * Seed by seed, this row's test error minus the first row's (positive: the first row, the
   * paper's choice, is better).
   */
  differenceFromFirst: Summary | null;
  /** Seed by seed, the first row's iterations to the threshold over this row's. */
  iterationRatioOfFirst: Summary | null;
}

export interface AblationResult {
  experiment: AblationName;
  paper: string;
  data: { train: string; trainImages: number; test: string; testImages: number; trainEvalImages: number; classes: number };
  network: string;
  settings: Omit<AblationOptions, 'log'> & { iterationsPerEpoch: number; evaluations: Evaluation[] };
  variants: { key: string; label: string; parameters: number; runs: AblationRun[] }[];
  /** The training error every run's curve is tested against: the highest final error of any run. */
  threshold: number | null;
  rows: AblationRow[];
}

function buildModel(v: AblationVariant, o: AblationOptions, seed: number): Module {
  const options = { ...o.model, ...v.model, seed };
  return v.twoColumn ? alexnet({ ...options, columns: 2, devices: o.devices }) : alexnet({ ...options, device: o.device });
}

function parameterCount(model: Module): number {
  return model.namedParameters().reduce((n, [, p]) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

async function testError(model: Module, ds: Dataset, o: AblationOptions, stats: DatasetStats, evaluation: Evaluation): Promise<{ top1: number; top5: number }> {
  const loader = await createLoader(ds, {
    batchSize: o.batchSize, train: false, workers: o.workers, size: o.size, crop: o.crop, channels: stats.channels as 1 | 3,
    mean: 'pixel', pixelScale: o.pixelScale, stats, tenCrop: evaluation === 'ten-crop',
  });
  try {
    const r = await evaluate(model, loader);
    return { top1: r.nonFiniteLogits > 0 ? 1 : r.top1Error, top5: r.nonFiniteLogits > 0 ? 1 : r.top5Error };
  } finally {
    await loader.close();
  }
}

async function trainOne(v: AblationVariant, seed: number, data: AblationData, o: AblationOptions, evaluations: Evaluation[]): Promise<{ run: Omit<AblationRun, 'iterationsToThreshold'>; parameters: number }> {
  const model = buildModel(v, o, seed);
  const loader = await createLoader(data.train, {
    batchSize: o.batchSize, train: true, seed, workers: o.workers, size: o.size, crop: o.crop, channels: data.stats.channels as 1 | 3,
    flip: o.flip, mean: 'pixel', pixelScale: o.pixelScale, stats: data.stats, pca: v.pca ? {} : false,
  });
  const test: [number, number][] = [];
  let last: { top1: number; top5: number } | null = null;
  try {
    const curve = await trainingCurve(model, loader, {
      lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, epochs: o.epochs, batchSize: o.batchSize, window: o.window, seed,
      device: model.device ?? o.device,
      afterEpoch: async (_epoch, iterations) => {
        last = await testError(model, data.test, o, data.stats, evaluations[0]!);
        test.push([iterations, last.top1]);
      },
    });
    const final: FinalErrors = { test: {}, testTop5: {}, train: 1 };
    if (!curve.diverged) {
      for (const e of evaluations) {
        // The first evaluation was just made after the last epoch.
        const r = e === evaluations[0] && last !== null ? last : await testError(model, data.test, o, data.stats, e);
        final.test[e] = r.top1;
        final.testTop5[e] = r.top5;
      }
      final.train = (await testError(model, data.trainEval, o, data.stats, 'centre')).top1;
    }
    return {
      run: { seed, diverged: curve.diverged, seconds: +curve.seconds.toFixed(2), iterations: curve.iterations, curve: curve.points, test, final },
      parameters: parameterCount(model),
    };
  } finally {
    await loader.close();
    model.dispose();
  }
}

const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);

export async function runAblation(name: AblationName, data: AblationData, o: AblationOptions): Promise<AblationResult> {
  const def: AblationDefinition = ABLATIONS[name];
  const evaluations = def.evaluations ?? ['centre'];
  const iterationsPerEpoch = Math.floor(data.train.size / o.batchSize);
  if (iterationsPerEpoch < 1) throw new RangeError(`${data.train.name} has ${data.train.size} images, fewer than one batch of ${o.batchSize}`);
  const variants: AblationResult['variants'] = [];
  // Seeds outside, variants inside: a run stopped early still has every variant of its first seeds.
  const runs = new Map<string, Omit<AblationRun, 'iterationsToThreshold'>[]>(def.variants.map((v) => [v.key, []]));
  const parameters = new Map<string, number>();
  for (let seed = 0; seed < o.seeds; seed++) {
    for (const v of def.variants) {
      const { run, parameters: n } = await trainOne(v, seed, data, o, evaluations);
      runs.get(v.key)!.push(run);
      parameters.set(v.key, n);
      o.log?.(`${name} ${v.label} seed ${seed}: ${run.diverged ? 'diverged' : evaluations.map((e) => `test ${pct(run.final.test[e])} (${e})`).join(', ') + `, train ${pct(run.final.train)}`} (${run.seconds} s)`);
    }
  }
  const finals = [...runs.values()].flat().filter((r) => !r.diverged && r.curve.length > 0).map((r) => r.curve.at(-1)![1]);
  const threshold = finals.length > 0 ? Math.max(...finals) : null;
  for (const v of def.variants) {
    variants.push({
      key: v.key, label: v.label, parameters: parameters.get(v.key)!,
      runs: runs.get(v.key)!.map((r) => ({ ...r, iterationsToThreshold: threshold === null ? null : iterationsToReach({ ...r, points: r.curve }, threshold) })),
    });
  }
  const rows = compare(variants, evaluations);
  const { log: _log, ...settings } = o;
  return {
    experiment: name,
    paper: def.paper,
    data: {
      train: data.train.name, trainImages: data.train.size, test: data.test.name, testImages: data.test.size,
      trainEvalImages: data.trainEval.size, classes: data.train.numClasses,
    },
    network: describeNetwork(o),
    settings: { ...settings, iterationsPerEpoch, evaluations },
    variants,
    threshold,
    rows,
  };
}

function describeNetwork(o: AblationOptions): string {
  const m = o.model;
  return `AlexNet at width ${m.width ?? 1} (conv1 stride ${m.conv1Stride ?? 4}, ${m.init ?? 'paper'} init), input ${m.inChannels ?? 3}x${o.crop}x${o.crop} ` +
    `cropped from ${o.size}x${o.size}${o.flip ? ' with random flips' : ''}; the paper's choices (two columns as grouped convolutions, LRN, pooling 3/2, dropout 0.5) unless the variant changes one`;
}

/** The rows of the comparison: every variant under every evaluation, each against the first row seed by seed. */
function compare(variants: AblationResult['variants'], evaluations: Evaluation[]): AblationRow[] {
  const cells = variants.flatMap((v) => evaluations.map((e) => ({ v, e })));
  const ok = (r: AblationRun): boolean => !r.diverged;
  const first = cells[0]!;
  return cells.map(({ v, e }) => {
    const good = v.runs.filter(ok);
    const test = good.map((r) => r.final.test[e]!);
    const paired = v.runs.flatMap((r, i) => {
      const base = first.v.runs[i];
      return base && ok(base) && ok(r) ? [[r, base] as const] : [];
    });
    const ratios = paired.flatMap(([r, base]) => (r.iterationsToThreshold && base.iterationsToThreshold ? [base.iterationsToThreshold / r.iterationsToThreshold] : []));
    const reached = good.map((r) => r.iterationsToThreshold).filter((n): n is number => n !== null);
    return {
      variant: v.key, label: variants.length === 1 ? e : evaluations.length > 1 ? `${v.label}, ${e}` : v.label, evaluation: e,
      testError: summarise(test),
      testTop5Error: summarise(good.map((r) => r.final.testTop5[e]!)),
      trainError: summarise(good.map((r) => r.final.train)),
      gap: summarise(good.map((r) => r.final.test[e]! - r.final.train)),
      iterationsToThreshold: summarise(reached),
      differenceFromFirst: summarise(paired.map(([r, base]) => r.final.test[e]! - base.final.test[first.e]!)),
      iterationRatioOfFirst: summarise(ratios),
    };
  });
}
