// The pre-processed image cache: every image resized and centre-cropped once, stored in one packed
// file (native/data/include/alexnet/data/packed.hpp), so later epochs skip JPEG decoding.
import { existsSync } from 'node:fs';

import { AlexNetError } from '../errors.js';
import { describe, integer } from '../validate.js';
import { Dataset, fingerprintOf } from './dataset.js';
import { dataBinding, defaultWorkers, MAX_WORKERS } from './native.js';

export interface CacheOptions {
  /** Prepared square side; default dataset.defaultSize (256 for image folders). */
  size?: number;
  channels?: 1 | 3;
  workers?: number;
  /** 'skip': undecodable images are flagged in the cache (and skipped by loaders that skip). */
  onBadImage?: 'error' | 'skip';
}

/**
 * `dataset` through the cache file `path`: opened if it holds this data set at this size and
 * channel count, else built (one decoding pass with `workers` threads) and then opened.
 */
export async function cacheDataset(dataset: Dataset, path: string, options: CacheOptions = {}): Promise<Dataset> {
  if (!(dataset instanceof Dataset)) throw new TypeError(`dataset must be a Dataset, got ${describe(dataset)}`);
  if (typeof path !== 'string') throw new TypeError(`path must be a file path, got ${describe(path)}`);
  const size = integer(options.size ?? dataset.defaultSize, 'options.size', 1, 65536);
  const channels = options.channels ?? dataset.channels;
  if (channels !== 1 && channels !== 3) throw new RangeError(`options.channels must be 1 or 3, got ${describe(channels)}`);
  const workers = integer(options.workers ?? defaultWorkers(), 'options.workers', 1, MAX_WORKERS);
  const onBadImage = options.onBadImage ?? 'error';
  if (onBadImage !== 'error' && onBadImage !== 'skip')
    throw new TypeError(`options.onBadImage must be "error" or "skip", got ${describe(onBadImage)}`);
  const key = fingerprintOf('packed', dataset.fingerprint.toString(), size, channels);
  if (existsSync(path)) {
    const info = await dataBinding().dataOpenPacked(path).catch(() => null);
    if (info && info.fingerprint === key && info.size === size && info.channels === channels)
      return packedDataset(path, info, dataset.classNames, key);
  }
  await dataBinding().dataWritePacked(dataset.source, path, size, channels, key, workers, onBadImage === 'skip');
  return packedDataset(path, await dataBinding().dataOpenPacked(path), dataset.classNames, key);
}

/** Opens an existing cache file; class names default to the label numbers. */
export async function openCache(path: string, options: { classNames?: readonly string[] } = {}): Promise<Dataset> {
  if (typeof path !== 'string') throw new TypeError(`path must be a file path, got ${describe(path)}`);
  if (options.classNames !== undefined && !Array.isArray(options.classNames))
    throw new TypeError(`options.classNames must be an array of strings, got ${describe(options.classNames)}`);
  const info = await dataBinding().dataOpenPacked(path);
  let max = -1;
  for (const l of info.labels) max = Math.max(max, l);
  // Labels are class indices (the native reader refuses negative ones); a corrupt one must not
  // become thousands of made-up classes.
  const classes = options.classNames?.length ?? MAX_CLASSES;
  if (max >= classes) {
    const index = info.labels.indexOf(max);
    throw new AlexNetError(`${path}: image ${index} has label ${max}, outside the ${classes} classes` +
      (options.classNames ? ' of options.classNames' : ' a cache may hold'), 'BAD_FILE');
  }
  const names = options.classNames ?? Array.from({ length: max + 1 }, (_, i) => String(i));
  return packedDataset(path, info, names, info.fingerprint);
}

/** The most classes a cache opened without class names may have. */
const MAX_CLASSES = 1 << 16;

function packedDataset(path: string, info: Awaited<ReturnType<ReturnType<typeof dataBinding>['dataOpenPacked']>>,
  classNames: readonly string[], fingerprint: bigint): Dataset {
  return new Dataset({
    name: path, kind: 'packed', source: info.source, labels: info.labels, classNames,
    channels: info.channels as 1 | 3, imageSize: [info.size, info.size], defaultSize: info.size, fingerprint,
  });
}
