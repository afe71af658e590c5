// A small learnable data set in memory: each class is a fixed random pattern plus noise.
import { ArrayLoader } from '../../lib/train/index.js';
import { randn, rng } from './random.js';

export interface ToyData { images: Float32Array; labels: Int32Array; shape: [number, number, number] }

/** The class patterns are the same for every `seed`; the noise differs (a training and a test split). */
export function toyData(count: number, classes: number, size: number, seed = 1): ToyData {
  const per = size * size;
  const fixed = rng(1234);
  const patterns = Array.from({ length: classes }, () => randn(per, fixed));
  const r = rng(seed);
  const images = new Float32Array(count * per);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % classes;
    labels[i] = label;
    const noise = randn(per, r, 0.5);
    for (let j = 0; j < per; j++) images[i * per + j] = patterns[label]![j]! + noise[j]!;
  }
  return { images, labels, shape: [1, size, size] };
}

export function toyLoader(data: ToyData, batchSize: number, options: { shuffle?: boolean; seed?: number } = {}): ArrayLoader {
  return new ArrayLoader({ images: data.images, labels: data.labels, imageShape: data.shape, batchSize, ...options });
}
