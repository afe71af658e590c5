// One training run recorded the way the paper's Figure 1 plots it: the training error rate as
// training goes, measured on the mini-batches the network is trained on (before each update), so
// it costs no extra pass over the data. The batches come from images in memory or from any
// BatchLoader (the data pipeline, with its crops, flips and colour noise).
import { batchToDevice } from '../data/device_input.js';
import type { BatchLoader } from '../data/types.js';
import { ArrayLoader } from '../train/array_loader.js';
import type { Module } from '../nn/module.js';
import { deriveSeed } from '../nn/seed.js';
import { SGD } from '../optim/sgd.js';
import * as ops from '../ops/index.js';
import { disposeAll, Tensor } from '../tensor.js';
import type { DeviceName } from '../device_name.js';

/** Images in memory, preprocessed: [N, C, H, W] float32. */
export interface ImageSet {
  images: Float32Array;
  labels: Int32Array;
  shape: [number, number, number];
  classes: number;
  name: string;
}

export interface CurveOptions {
  lr: number;
  momentum: number;
  epochs: number;
  batchSize: number;
  /** Iterations per point of the curve (the mean error over them). */
  window: number;
  seed: number;
  device: DeviceName;
  /** Default 0: Figure 1's networks have no regularisation. */
  weightDecay?: number;
  /** Called after every epoch with the iterations done so far (to evaluate on held-out images). */
  afterEpoch?: (epoch: number, iterations: number) => Promise<void>;
}

export interface Curve {
  /** [iterations done, mean training error over the last `window` iterations]. */
  points: [number, number][];
  iterations: number;
  /** The loss became NaN or infinite: the rate is too high; the curve stops there. */
  diverged: boolean;
  seconds: number;
}

/** The first iteration count at which the curve is at or below `threshold`, or null. */
export function iterationsToReach(curve: Curve, threshold: number): number | null {
  return curve.points.find(([, e]) => e <= threshold)?.[0] ?? null;
}

/** Index of the largest value of each row of [rows, cols] values. */
function argmaxRows(values: Float32Array, cols: number): Int32Array {
  const out = new Int32Array(values.length / cols);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (values[r * cols + c]! > values[r * cols + best]!) best = c;
    out[r] = best;
  }
  return out;
}

function isLoader(data: ImageSet | BatchLoader): data is BatchLoader {
  return typeof (data as BatchLoader).epoch === 'function';
}

/**
 * Trains `model` with SGD (no weight decay unless asked). Dropout masks derive from (seed, epoch,
 * batch), as in the Trainer. A loader's own batch size and order are used; `batchSize` and `seed`
 * shape the batches only of images in memory.
 */
export async function trainingCurve(model: Module, data: ImageSet | BatchLoader, o: CurveOptions): Promise<Curve> {
  const loader = isLoader(data) ? data
    : new ArrayLoader({ images: data.images, labels: data.labels, imageShape: data.shape, batchSize: o.batchSize, numClasses: data.classes, seed: o.seed, dropLast: true });
  const classes = loader.numClasses;
  const sgd = new SGD(model, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay ?? 0 });
  model.train();
  model.inputGrad = false;
  const started = performance.now();
  const points: [number, number][] = [];
  let iterations = 0;
  let wrong = 0;
  let seen = 0;
  let diverged = false;
  try {
    outer: for (let epoch = 0; epoch < o.epochs; epoch++) {
      let batchIndex = 0;
      for await (const batch of loader.epoch(epoch)) {
        const x = batchToDevice(batch, o.device);
        const y = Tensor.fromArray(batch.labels, [batch.labels.length], o.device);
        model.reseed(deriveSeed(o.seed, epoch, batchIndex++));
        const logits = model.forward(x);
        const { loss, dlogits } = ops.softmaxCrossEntropy(logits, y);
        const predicted = argmaxRows((await logits.toArray()) as Float32Array, classes);
        model.backward(dlogits)?.dispose();
        sgd.step();
        disposeAll(x, y, logits, dlogits);
        if (!Number.isFinite(await loss)) {
          diverged = true;
          break outer;
        }
        predicted.forEach((p, i) => { if (p !== batch.labels[i]) wrong++; });
        seen += batch.labels.length;
        iterations++;
        if (iterations % o.window === 0) {
          points.push([iterations, wrong / seen]);
          wrong = 0;
          seen = 0;
        }
      }
      if (o.afterEpoch) {
        await o.afterEpoch(epoch, iterations);
        model.train();
      }
    }
  } finally {
    sgd.dispose();
  }
  return { points, iterations, diverged, seconds: (performance.now() - started) / 1000 };
}
