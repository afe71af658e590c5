// Class probabilities for every image a loader gives, averaged over crops and over an ensemble.
import type { BatchLoader } from '../data/types.js';
import type { Module } from '../nn/module.js';
import { evaluate } from './evaluate.js';

export interface Prediction {
  /** The image's index in the data set. */
  index: number;
  /** Averaged softmax probabilities, one per class. */
  probabilities: Float32Array;
  /** Classes by decreasing probability (the first `top`). */
  top: { class: number; name: string; probability: number }[];
}

export async function predict(models: Module | Module[], loader: BatchLoader, options: { top?: number } = {}): Promise<Prediction[]> {
  const classes = loader.numClasses;
  const top = Math.max(1, Math.min(options.top ?? 5, classes));
  const out: Prediction[] = [];
  await evaluate(models, loader, {
    onProbabilities: (probs, batch) => {
      batch.indices.forEach((index, row) => {
        const p = probs.slice(row * classes, (row + 1) * classes);
        const order = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]!).slice(0, top);
        out.push({ index, probabilities: p, top: order.map((k) => ({ class: k, name: loader.classNames[k] ?? String(k), probability: p[k]! })) });
      });
    },
  });
  return out;
}
