// The data pipeline's part of the native module (native/addon/data_binding.cpp), typed. Only
// lib/data talks to it.
import { availableParallelism } from 'node:os';

import { native } from '../binding.js';
import { AlexNetError } from '../errors.js';

native.setErrorClass(AlexNetError);

/** The most threads a loader, statistics pass or cache build may use (kMaxWorkers natively). */
export const MAX_WORKERS = 256;

/** The default thread count: one per core, within MAX_WORKERS. */
export function defaultWorkers(): number {
  return Math.min(availableParallelism(), MAX_WORKERS);
}

/** An opaque handle to images held or listed natively. */
export type NativeSource = { readonly __nativeSource: unique symbol };

export interface NativeSourceInfo {
  source: NativeSource;
  count: number;
  labels: Int32Array;
  height: number;
  width: number;
  channels: number;
}

export interface NativePackedInfo {
  source: NativeSource;
  count: number;
  labels: Int32Array;
  size: number;
  channels: number;
  fingerprint: bigint;
  unreadable: number;
}

export interface NativeStats {
  images: number;
  skipped: number;
  pixels: number;
  meanImage: Float64Array;
  channelMean: Float64Array;
  covariance: Float64Array;
}

export interface NativeBatch {
  index: number;
  /** Float output. */
  images?: Float32Array;
  /** Raw output: the prepared images [count, size, size, C] and the crop rows [count · crops, 3 + C]. */
  pixels?: Uint8Array;
  params?: Float32Array;
  labels: Int32Array;
  indices: Int32Array;
  count: number;
  crops: number;
  skipped: number;
}

export interface NativePipelineConfig {
  batchSize: number;
  workers: number;
  prefetch: number;
  size: number;
  channels: number;
  cropHeight: number;
  cropWidth: number;
  crop: 'random' | 'centre' | 'ten';
  randomFlip: boolean;
  shuffle: boolean;
  dropLast: boolean;
  skipBad: boolean;
  scale: number;
  mean: 'none' | 'channel' | 'pixel';
  meanData: Float32Array | null;
  pcaStd: number;
  eigvec: Float64Array | null;
  eigval: Float64Array | null;
  seed: number;
  /** float: cropped and normalised network input; raw: prepared images and crop parameters. */
  output: 'float' | 'raw';
  /** This process's share of every batch: rows [n·index/count, n·(index+1)/count) of a batch of n. */
  shardIndex: number;
  shardCount: number;
}

export interface NativeDraws {
  cropY: number;
  cropX: number;
  flip: boolean;
  alpha: number[];
}

export interface NativePipeline {
  readonly batchesPerEpoch: number;
  readonly imagesPerEpoch: number;
  start(epoch: number, startBatch: number): number;
  next(generation: number): Promise<NativeBatch | null | 'stale'>;
  stats(): { images: number; batches: number; skipped: number; busySeconds: number };
  close(): Promise<void>;
  draws(epoch: number, position: number): NativeDraws;
  order(epoch: number): Int32Array;
}

export interface DataBinding {
  /** Labels >= numClasses are a BAD_FILE naming the label file and the image. */
  dataReadIdx(imagesPath: string, labelsPath: string, numClasses: number): Promise<NativeSourceInfo>;
  dataReadCifar10(files: string[]): Promise<NativeSourceInfo>;
  dataArraySource(pixels: Uint8Array, count: number, height: number, width: number, channels: number,
    labels: Int32Array, name: string): NativeSourceInfo;
  dataFileSource(paths: string[], labels: Int32Array): NativeSource;
  dataSubsetSource(source: NativeSource, indices: Int32Array): NativeSource;
  dataOpenPacked(path: string): Promise<NativePackedInfo>;
  dataWritePacked(source: NativeSource, path: string, size: number, channels: number, fingerprint: bigint,
    workers: number, skipBad: boolean): Promise<{ images: number; unreadable: number }>;
  dataComputeStats(source: NativeSource, size: number, channels: number, workers: number,
    indices: Int32Array | null, skipBad: boolean): Promise<NativeStats>;
  dataPrepareImage(source: NativeSource, index: number, size: number, channels: number):
    Promise<{ pixels: Uint8Array; height: number; width: number; channels: number }>;
  dataEncodeImage(pixels: Uint8Array, width: number, height: number, channels: number, format: 'jpeg' | 'png',
    quality: number): Buffer;
  DataPipeline: new (source: NativeSource, config: NativePipelineConfig) => NativePipeline;
}

let checked: DataBinding | undefined;

/** The data bindings; an AlexNetError DATA_UNAVAILABLE if the addon was built without native/data. */
export function dataBinding(): DataBinding {
  if (checked) return checked;
  if (typeof native.dataReadIdx !== 'function' || typeof native.DataPipeline !== 'function')
    throw new AlexNetError('the native addon was built without the data pipeline (native/data)', 'DATA_UNAVAILABLE', '',
      'install libturbojpeg0-dev, libpng-dev and zlib1g-dev, then rebuild with `npm run build:native`');
  checked = native as unknown as DataBinding;
  return checked;
}
