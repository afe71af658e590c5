// Data sets and loaders for the commands, and the preprocessing a checkpoint records so that
// eval and predict prepare images exactly as training did.
import type { DeviceName } from '../device_name.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AlexNetError } from '../errors.js';
import {
  arrayDataset, cifar10, createLoader, fashionMnist, imageFolder, FASHION_MNIST_DIR,
  type Dataset, type DatasetStats, type DataLoader,
} from '../data/index.js';
import type { HostTensor } from '../io/safetensors.js';
import { choiceFlag } from './args.js';

export const DATASETS = ['fashion-mnist', 'cifar10', 'imagenet'] as const;
export type DatasetName = (typeof DATASETS)[number];

/** How images become network inputs; saved in checkpoints (state.training.data). */
export interface Preprocessing {
  dataset: DatasetName;
  /** Shorter side resized to this, centre-cropped square. */
  size: number;
  /** Network input (random crops in training, centre or ten crops in evaluation). */
  crop: number;
  channels: 1 | 3;
  /** Output = pixelScale · pixel − mean. */
  pixelScale: number;
  mean: 'pixel' | 'channel' | 'none';
  /** Random horizontal flips in training. */
  flip: boolean;
  /** PCA colour augmentation in training (3 channels). */
  pca: boolean;
}

export function defaultDataDir(dataset: DatasetName): string {
  return dataset === 'fashion-mnist' ? FASHION_MNIST_DIR : dataset === 'cifar10' ? 'data/cifar-10-batches-bin' : 'data/imagenet';
}

/** One split of a data set; the first `limit` images when given. */
export async function openDataset(dataset: DatasetName, split: 'train' | 'test', dir: string, channels: 1 | 3, limit?: number): Promise<Dataset> {
  let ds: Dataset;
  if (dataset === 'fashion-mnist') ds = await fashionMnist({ split, dir, channels });
  else if (dataset === 'cifar10') ds = await cifar10({ split, dir, channels });
  else {
    const folder = join(dir, split === 'train' ? 'train' : 'val');
    if (!existsSync(folder))
      throw new AlexNetError(`${folder}: no such folder`, 'IO_ERROR', '', 'an ImageNet-style data directory holds train/<class>/*.jpg and val/<class>/*.jpg');
    ds = await imageFolder(folder, { channels });
  }
  return limit !== undefined && limit < ds.size ? firstImages(ds, limit) : ds;
}

/** The first `count` images of a data set, as an in-memory data set at their stored size. */
async function firstImages(ds: Dataset, count: number): Promise<Dataset> {
  if (!ds.imageSize) throw new RangeError(`--limit needs a data set of equal-sized images; ${ds.name} has none`);
  const [h, w] = ds.imageSize;
  const c = ds.channels;
  const pixels = new Uint8Array(count * h * w * c);
  for (let i = 0; i < count; i++) pixels.set((await ds.image(i, { size: 0 })).pixels, i * h * w * c);
  return arrayDataset(pixels, ds.labels.slice(0, count), [count, h, w, c], { classNames: [...ds.classNames], name: `${ds.name}[:${count}]` });
}

export interface LoaderSettings {
  batchSize: number;
  seed: number;
  workers?: number;
  tenCrop?: boolean;
  /** Where crops, flips, the mean and colour noise are applied (the same numbers either way). */
  augmentOn?: 'host' | 'device';
  /** A bad image fails its batch (default) or is left out, so the others still get through. */
  onBadImage?: 'error' | 'skip';
  /** Data parallelism: this rank's share of every batch. */
  shard?: { index: number; count: number };
}

/**
 * --augment-on: where the loaders crop, flip, scale, subtract the mean and add colour noise. On
 * CUDA the GPU does it: the host threads only decode and resize, and a quarter of the bytes cross
 * the bus. On a CPU device the host threads do it, where it overlaps with the computation instead
 * of queuing on the device's own stream ahead of the network. Both give the same numbers.
 */
/** The --augment-on line of the eval and predict help. */
export const AUGMENT_ON_HELP = `  --augment-on WHERE host or device: where the crops and the mean are applied (default: device on
                     CUDA, host on CPU); the numbers are the same either way`;

export function augmentOnFlag(command: string, value: unknown, device: DeviceName): 'host' | 'device' {
  return choiceFlag(command, 'augment-on', value, ['host', 'device'] as const) ?? (device.startsWith('cuda') ? 'device' : 'host');
}

export async function trainLoader(ds: Dataset, p: Preprocessing, s: LoaderSettings): Promise<DataLoader> {
  return createLoader(ds, {
    batchSize: s.batchSize, train: true, seed: s.seed, workers: s.workers, size: p.size, crop: p.crop, channels: p.channels,
    flip: p.flip, mean: p.mean, pixelScale: p.pixelScale, pca: p.pca && p.channels === 3 ? {} : false, augmentOn: s.augmentOn,
    shard: s.shard,
  });
}

export async function evalLoader(ds: Dataset, p: Preprocessing, stats: DatasetStats | null, s: LoaderSettings): Promise<DataLoader> {
  return createLoader(ds, {
    batchSize: s.batchSize, train: false, seed: s.seed, workers: s.workers, size: p.size, crop: p.crop, channels: p.channels,
    mean: stats ? p.mean : 'none', pixelScale: p.pixelScale, stats: stats ?? undefined, tenCrop: s.tenCrop ?? false,
    augmentOn: s.augmentOn, onBadImage: s.onBadImage, shard: s.shard,
  });
}

/** The statistics as checkpoint tensors (`data.mean_image` …), so eval and predict need no data set. */
export function statsTensors(stats: DatasetStats | null): Record<string, HostTensor> {
  if (!stats) return {};
  const { channels: c, size } = stats;
  return {
    // float64, as computed: eval and predict then subtract exactly what training subtracted.
    'data.mean_image': { data: Float64Array.from(stats.meanImage), shape: [c, size, size] },
    'data.channel_mean': { data: Float64Array.from(stats.channelMean), shape: [c] },
    'data.covariance': { data: Float64Array.from(stats.covariance), shape: [c, c] },
  };
}

/** The statistics back from checkpoint tensors, or null when the checkpoint has none. */
export function statsFromTensors(extra: Record<string, HostTensor>): DatasetStats | null {
  const mean = extra['data.mean_image'];
  const channelMean = extra['data.channel_mean'];
  const covariance = extra['data.covariance'];
  if (!mean || !channelMean || !covariance) return null;
  const [channels, size] = mean.shape as [number, number, number];
  return {
    size, channels, images: 0, pixels: 0, fingerprint: 'checkpoint',
    meanImage: Float64Array.from(mean.data), channelMean: Float64Array.from(channelMean.data), covariance: Float64Array.from(covariance.data),
  };
}
