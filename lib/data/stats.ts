// Training-set statistics for mean subtraction and PCA colour augmentation, computed natively in
// one pass over the prepared images and optionally cached in a file.
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';

import { AlexNetError } from '../errors.js';
import { readRegularFile } from '../io/regular_file.js';
import { describe, integer } from '../validate.js';
import { Dataset } from './dataset.js';
import { dataBinding, defaultWorkers, MAX_WORKERS } from './native.js';

/** Statistics of a data set's images prepared at `size` x `size` with `channels` channels. */
export interface DatasetStats {
  size: number;
  channels: number;
  /** Images that contributed (undecodable ones skipped with onBadImage: 'skip' do not). */
  images: number;
  /** M, the pixel count the covariance is over (images * size * size). */
  pixels: number;
  /** The mean image, [channels, size, size], in 8-bit pixel units (0..255). */
  meanImage: Float64Array;
  /** The per-channel mean, 8-bit units. */
  channelMean: Float64Array;
  /** [channels, channels] covariance of the pixels in 8-bit units, divided by (M - 1). */
  covariance: Float64Array;
  /** The data set's fingerprint, as a decimal string (to check a cached file still applies). */
  fingerprint: string;
}

export interface StatsOptions {
  /** Prepared square side; default dataset.defaultSize. */
  size?: number;
  channels?: 1 | 3;
  workers?: number;
  /** Use only this many images, evenly spaced over the data set (all by default). */
  maxImages?: number;
  /** A JSON file: read if it holds the statistics for the same data set and settings, else written. */
  file?: string;
  onBadImage?: 'error' | 'skip';
}

const FORMAT = 'alexnet-data-stats-v1';

export async function computeStats(dataset: Dataset, options: StatsOptions = {}): Promise<DatasetStats> {
  if (!(dataset instanceof Dataset)) throw new TypeError(`dataset must be a Dataset, got ${describe(dataset)}`);
  const size = integer(options.size ?? dataset.defaultSize, 'options.size', 1, 65536);
  const channels = options.channels ?? dataset.channels;
  if (channels !== 1 && channels !== 3) throw new RangeError(`options.channels must be 1 or 3, got ${describe(channels)}`);
  const workers = integer(options.workers ?? defaultWorkers(), 'options.workers', 1, MAX_WORKERS);
  const maxImages = options.maxImages === undefined ? dataset.size : integer(options.maxImages, 'options.maxImages', 1);
  const onBadImage = options.onBadImage ?? 'error';
  if (onBadImage !== 'error' && onBadImage !== 'skip')
    throw new TypeError(`options.onBadImage must be "error" or "skip", got ${describe(onBadImage)}`);
  if (options.file !== undefined && typeof options.file !== 'string')
    throw new TypeError(`options.file must be a path, got ${describe(options.file)}`);
  const fingerprint = `${dataset.fingerprint}/${Math.min(maxImages, dataset.size)}`;
  if (options.file !== undefined && existsSync(options.file)) {
    // A cache: one that is corrupt or for other data is recomputed and replaced.
    const cached = await loadStats(options.file).catch((e: AlexNetError) => { if (e.code === 'BAD_FILE') return null; throw e; });
    if (cached && cached.size === size && cached.channels === channels && cached.fingerprint === fingerprint) return cached;
  }
  let indices: Int32Array | null = null;
  if (maxImages < dataset.size)
    indices = Int32Array.from({ length: maxImages }, (_, k) => Math.floor((k * dataset.size) / maxImages));
  const s = await dataBinding().dataComputeStats(dataset.source, size, channels, workers, indices, onBadImage === 'skip');
  const stats: DatasetStats = {
    size, channels, images: s.images, pixels: s.pixels, meanImage: s.meanImage, channelMean: s.channelMean,
    covariance: s.covariance, fingerprint,
  };
  if (options.file !== undefined) await saveStats(stats, options.file);
  return stats;
}

/** Writes statistics as JSON (the mean image as base64 float64), atomically. */
export async function saveStats(stats: DatasetStats, file: string): Promise<void> {
  const json = {
    format: FORMAT, size: stats.size, channels: stats.channels, images: stats.images, pixels: stats.pixels,
    fingerprint: stats.fingerprint, channelMean: Array.from(stats.channelMean), covariance: Array.from(stats.covariance),
    meanImage: Buffer.from(stats.meanImage.buffer, stats.meanImage.byteOffset, stats.meanImage.byteLength).toString('base64'),
  };
  const temp = `${file}.partial-${process.pid}`;
  try {
    await writeFile(temp, JSON.stringify(json));
    await rename(temp, file);
  } catch (e) {
    throw new AlexNetError(`${file}: ${(e as Error).message}`, 'IO_ERROR', 'writeFile');
  }
}

export async function loadStats(file: string): Promise<DatasetStats> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse((await readRegularFile(file, 'statistics file')).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof AlexNetError) throw e;
    const code = (e as NodeJS.ErrnoException).code ? 'IO_ERROR' : 'BAD_FILE';
    throw new AlexNetError(`${file}: ${(e as Error).message}`, code, 'readFile');
  }
  if (json.format !== FORMAT) throw new AlexNetError(`${file}: not a statistics file (format ${describe(json.format)})`, 'BAD_FILE');
  const bytes = Buffer.from(String(json.meanImage), 'base64');
  const size = Number(json.size), channels = Number(json.channels);
  if (bytes.length !== size * size * channels * 8) throw new AlexNetError(`${file}: mean image has the wrong length`, 'BAD_FILE');
  const meanImage = new Float64Array(size * size * channels);
  new Uint8Array(meanImage.buffer).set(bytes);
  return {
    size, channels, images: Number(json.images), pixels: Number(json.pixels), fingerprint: String(json.fingerprint),
    meanImage, channelMean: Float64Array.from(json.channelMean as number[]),
    covariance: Float64Array.from(json.covariance as number[]),
  };
}
