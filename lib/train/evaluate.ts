// Evaluation: top-1 and top-5 error and the mean cross-entropy of the averaged prediction. With
// ten-crop batches (crops = 10) the softmax of each image's ten rows is averaged (paper §4.1), and
// with several models (an ensemble, §6) their softmax outputs are averaged too.
import { batchToDevice } from '../data/device_input.js';
import type { Batch, BatchLoader } from '../data/types.js';
import type { ProcessGroup } from '../distributed/group.js';
import { HybridParallel } from '../distributed/hybrid.js';
import { AlexNetError } from '../errors.js';
import type { Module } from '../nn/module.js';
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { describe, positiveInteger } from '../validate.js';

export interface EvalResult {
  images: number;
  /** Mean −log p(label) of the averaged probabilities. */
  loss: number;
  top1Error: number;
  top5Error: number;
  /** Crops per image the loader gave (1 or 10). */
  crops: number;
  models: number;
  seconds: number;
  /**
   * Logits that were NaN or infinite, over all models and crops. Any makes the other numbers
   * meaningless (the softmax of such a row is not a distribution); callers should refuse them.
   */
  nonFiniteLogits: number;
}

export interface EvaluateOptions {
  /** Which epoch's data the loader should give (evaluation loaders usually ignore it). */
  epoch?: number;
  /** Batches queued on the device before the first is read back (default 2). */
  maxInFlight?: number;
  /** Called with each image's averaged probabilities (for predictions). */
  onProbabilities?: (probs: Float32Array, batch: Batch) => void;
  /**
   * Data parallelism: the loader gives this rank its share of the data (createLoader({ shard:
   * group })), and the counts and sums are added over the ranks, so every rank returns the result
   * for the whole data set.
   */
  group?: ProcessGroup;
}

/** Averages the rows of each image over crops and models: probs[m] is [images·crops, K]. */
export function averageProbabilities(probs: Float32Array[], crops: number, classes: number): Float32Array {
  const images = probs[0]!.length / (crops * classes);
  const out = new Float32Array(images * classes);
  const scale = 1 / (probs.length * crops);
  for (const p of probs)
    for (let i = 0; i < images; i++)
      for (let c = 0; c < crops; c++) {
        const row = (i * crops + c) * classes;
        for (let k = 0; k < classes; k++) out[i * classes + k]! += p[row + k]! * scale;
      }
  return out;
}

/**
 * Rank of the label: how many other classes are not scored strictly lower (0 = top-1 correct).
 * A tie is not a correct answer, and neither is NaN (it compares as not lower): a network whose
 * outputs are all equal, or not numbers, is right about nothing.
 */
function labelRank(probs: Float32Array, row: number, classes: number, label: number): number {
  const p = probs[row * classes + label]!;
  if (Number.isNaN(p)) return classes;
  let rank = 0;
  for (let k = 0; k < classes; k++) if (k !== label && !(probs[row * classes + k]! < p)) rank++;
  return rank;
}

function countNonFinite(values: Float32Array): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) n++;
  return n;
}

export async function evaluate(models: Module | Module[], loader: BatchLoader, options: EvaluateOptions = {}): Promise<EvalResult> {
  const list = Array.isArray(models) ? models : [models];
  if (list.length === 0) throw new TypeError(`models must be a Module or a non-empty array of them, got ${describe(models)}`);
  const maxInFlight = positiveInteger(options.maxInFlight ?? 2, 'maxInFlight');
  const wasTraining = list.map((m) => m.training);
  list.forEach((m) => m.eval());
  const started = performance.now();
  const totals = { images: 0, loss: 0, top1: 0, top5: 0, crops: 1, nonFinite: 0, batches: 0 };
  const classes = loader.numClasses;
  const topk = Math.min(5, classes);

  const account = (probs: Float32Array[], batch: Batch): void => {
    const avg = averageProbabilities(probs, batch.crops, classes);
    batch.labels.forEach((label, i) => {
      const rank = labelRank(avg, i, classes, label);
      totals.top1 += rank === 0 ? 1 : 0;
      totals.top5 += rank < topk ? 1 : 0;
      totals.loss -= Math.log(Math.max(avg[i * classes + label]!, 1e-30));
    });
    totals.images += batch.labels.length;
    totals.crops = batch.crops;
    options.onProbabilities?.(avg, batch);
  };

  // Batches are accounted in the order the loader gave them, whatever order their reads finish in:
  // the double-precision loss sum, and the order onProbabilities sees, are then the same every run.
  const pending: { probs: Promise<Float32Array[]>; batch: Batch }[] = [];
  const accountNext = async (): Promise<void> => {
    const { probs, batch } = pending.shift()!;
    account(await probs, batch);
  };
  try {
    for await (const batch of loader.epoch(options.epoch ?? 0)) {
      if ((!batch.raw && batch.images.length !== batch.shape.reduce((a, b) => a * b, 1)) || batch.labels.length * batch.crops !== batch.shape[0])
        throw new RangeError(`the loader gave a batch of shape [${batch.shape.join(', ')}] with ${batch.labels.length} labels and ${batch.crops} crops`);
      // The hybrid computes every rank's rows together: it is told how many each rank has.
      const hybrids = list.filter((m): m is HybridParallel => m instanceof HybridParallel && m.group.size > 1);
      if (hybrids.length > 0) {
        const rows = await hybrids[0]!.group.gatherNumber(batch.shape[0]);
        hybrids.forEach((m) => m.setNextRows(rows));
      }
      const inputs = new Map<string, Tensor>();
      const reads = list.map((m) => {
        const device = m.device ?? 'cpu';
        if (!inputs.has(device)) inputs.set(device, batchToDevice(batch, device));
        const logits = m.forward(inputs.get(device)!);
        const probs = ops.softmax(logits);
        // The logits come back too, to count the non-finite ones: the softmax hides some (-inf gives 0).
        const read = Promise.all([probs.toArray(), logits.toArray()]).finally(() => {
          probs.dispose();
          logits.dispose();
        }) as Promise<[Float32Array, Float32Array]>;
        return read.then(([p, l]) => {
          totals.nonFinite += countNonFinite(l);
          return p;
        });
      });
      for (const x of inputs.values()) x.dispose();
      totals.batches++;
      pending.push({ probs: Promise.all(reads), batch });
      // Keep at most maxInFlight batches queued: the device stays busy and memory stays bounded.
      while (pending.length > maxInFlight) await accountNext();
    }
    while (pending.length > 0) await accountNext();
    // A rank's share of a last batch smaller than the group is empty, and such a batch is not given.
    const emptyShares = (loader.shard?.count ?? 1) > 1 ? 1 : 0;
    const missing = loader.batchesPerEpoch - totals.batches - emptyShares;
    if (missing > 0 && loader.stats().skipped < missing)
      throw new AlexNetError(`the evaluation loader ended after ${totals.batches} of its ${loader.batchesPerEpoch} batches (was it closed?); ` +
        'an evaluation of part of the data is not reported as one of all of it', 'LOADER_CLOSED');
  } finally {
    // Let queued reads finish before leaving, so nothing touches disposed tensors later.
    await Promise.allSettled(pending.map((p) => p.probs));
    list.forEach((m, i) => m.train(wasTraining[i]));
  }
  const group = options.group && options.group.size > 1 ? options.group : null;
  if (group) {
    const device = list[0]!.device ?? 'cpu';
    [totals.images, totals.loss, totals.top1, totals.top5, totals.nonFinite] =
      await group.sumNumbers([totals.images, totals.loss, totals.top1, totals.top5, totals.nonFinite], device);
  }
  const n = Math.max(totals.images, 1);
  return {
    images: totals.images,
    loss: totals.loss / n,
    top1Error: 1 - totals.top1 / n,
    top5Error: 1 - totals.top5 / n,
    crops: totals.crops,
    models: list.length,
    seconds: (performance.now() - started) / 1000,
    nonFiniteLogits: totals.nonFinite,
  };
}
