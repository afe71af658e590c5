// A training set in memory for the experiments: pixels scaled to [0, 1] with the per-channel mean
// of the set subtracted, [N, C, H, W]. The experiments train small networks on a few thousand
// images, where holding them all is cheaper than a loader's threads on a shared machine.
import type { Dataset } from '../data/index.js';
import type { ImageSet } from './training_curve.js';

export async function loadImageSet(ds: Dataset, limit?: number): Promise<ImageSet> {
  const n = Math.min(limit ?? ds.size, ds.size);
  if (n === 0) throw new RangeError(`${ds.name} has no images`);
  const first = await ds.image(0, { size: 0 });
  const { height: h, width: w, channels: c } = first;
  const images = new Float32Array(n * c * h * w);
  const sums = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    const img = i === 0 ? first : await ds.image(i, { size: 0 });
    if (img.height !== h || img.width !== w || img.channels !== c)
      throw new RangeError(`${ds.name}: image ${i} is ${img.width}×${img.height}×${img.channels}, the first is ${w}×${h}×${c}; the experiments need equal sizes`);
    // HWC bytes to CHW floats.
    for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) {
      const v = img.pixels[p * c + k]! / 255;
      images[((i * c + k) * h * w) + p] = v;
      sums[k] += v;
    }
  }
  for (let k = 0; k < c; k++) {
    const mean = sums[k]! / (n * h * w);
    for (let i = 0; i < n; i++) {
      const base = (i * c + k) * h * w;
      for (let p = 0; p < h * w; p++) images[base + p] = images[base + p]! - mean;
    }
  }
  return { images, labels: ds.labels.slice(0, n), shape: [c, h, w], classes: ds.classNames.length, name: n < ds.size ? `${ds.name}[:${n}]` : ds.name };
}
