// A data set: labelled images whose pixels live on the native side (in memory, in files, or in a
// packed cache). Loaders and statistics take one.
import { createHash } from 'node:crypto';

import { describe, integer } from '../validate.js';
import { dataBinding, type NativeSource } from './native.js';

export type DatasetKind = 'memory' | 'files' | 'packed';

export interface DatasetInit {
  name: string;
  kind: DatasetKind;
  source: NativeSource;
  labels: Int32Array;
  classNames: readonly string[];
  channels: 1 | 3;
  imageSize: [number, number] | null;
  defaultSize: number;
  fingerprint: bigint;
  paths?: readonly string[];
}

export class Dataset {
  /** For messages: a file name or the data set's usual name. */
  readonly name: string;
  readonly kind: DatasetKind;
  /** One label per image, in 0 .. numClasses - 1. */
  readonly labels: Int32Array;
  readonly classNames: readonly string[];
  /** Channels the images are delivered with unless a loader asks otherwise (grey: 1, colour: 3). */
  readonly channels: 1 | 3;
  /** [height, width] when every image has it (IDX, CIFAR, a cache); null for image folders. */
  readonly imageSize: [number, number] | null;
  /** The prepared square a loader uses by default: the stored size, or 256 for photographs. */
  readonly defaultSize: number;
  /** Identifies the content listing (files and labels, or the source files); keys caches. */
  readonly fingerprint: bigint;
  /** The image files, for folder data sets. */
  readonly paths: readonly string[] | null;
  /** @internal */
  readonly source: NativeSource;

  /** @internal Use fashionMnist(), cifar10(), imageFolder(), arrayDataset() or openCache(). */
  constructor(init: DatasetInit) {
    this.name = init.name;
    this.kind = init.kind;
    this.source = init.source;
    this.labels = init.labels;
    this.classNames = init.classNames;
    this.channels = init.channels;
    this.imageSize = init.imageSize;
    this.defaultSize = init.defaultSize;
    this.fingerprint = init.fingerprint;
    this.paths = init.paths ?? null;
  }

  get size(): number { return this.labels.length; }
  get numClasses(): number { return this.classNames.length; }

  /**
   * Image `index` as a loader prepares it before augmentation ([height, width, channels] bytes,
   * shorter side resized to `size` and centre-cropped), or as decoded when `size` is 0.
   */
  async image(index: number, options: { size?: number; channels?: 1 | 3 } = {}):
  Promise<{ pixels: Uint8Array; height: number; width: number; channels: number }> {
    integer(index, 'index', 0, this.size - 1);
    const size = integer(options.size ?? this.defaultSize, 'options.size', 0);
    const channels = options.channels ?? this.channels;
    if (channels !== 1 && channels !== 3) throw new RangeError(`options.channels must be 1 or 3, got ${describe(channels)}`);
    return dataBinding().dataPrepareImage(this.source, index, size, channels);
  }

  /** The images `indices` (in that order) as a data set of their own, sharing this one's storage. */
  subset(indices: ArrayLike<number>): Dataset {
    if (indices === null || typeof indices !== 'object' || typeof indices.length !== 'number')
      throw new TypeError(`indices must be an array of image indices, got ${describe(indices)}`);
    const picked = Int32Array.from({ length: indices.length }, (_, k) => integer(indices[k], `indices[${k}]`, 0, this.size - 1));
    return new Dataset({
      name: `${this.name}[subset of ${picked.length}]`, kind: this.kind,
      source: dataBinding().dataSubsetSource(this.source, picked),
      labels: Int32Array.from(picked, (i) => this.labels[i]), classNames: this.classNames, channels: this.channels,
      imageSize: this.imageSize, defaultSize: this.defaultSize,
      fingerprint: fingerprintOf('subset', this.fingerprint.toString(), picked),
      paths: this.paths ? Array.from(picked, (i) => this.paths![i]) : undefined,
    });
  }

  toString(): string {
    return `Dataset(${this.name}, ${this.size} images, ${this.numClasses} classes)`;
  }
}

/** A 64-bit digest of strings, numbers, string lists (file lists) and typed arrays, for cache keys. */
export function fingerprintOf(...parts: (string | number | ArrayBufferView | readonly string[])[]): bigint {
  const hash = createHash('sha256');
  for (const p of parts) {
    if (ArrayBuffer.isView(p)) hash.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    else if (Array.isArray(p)) for (const item of p) hash.update(`${item}\0`);
    else hash.update(String(p));
    hash.update('\0');
  }
  return hash.digest().readBigUInt64LE(0);
}

export interface ArrayDatasetOptions {
  classNames?: readonly string[];
  name?: string;
}

/**
 * A data set from pixels in memory: `pixels` is [count, height, width, channels] bytes (channels 1
 * or 3, RGB order), `labels` one per image. The pixels are copied.
 */
export function arrayDataset(pixels: Uint8Array, labels: Int32Array,
  shape: readonly [number, number, number, number], options: ArrayDatasetOptions = {}): Dataset {
  if (!(pixels instanceof Uint8Array)) throw new TypeError(`pixels must be a Uint8Array, got ${describe(pixels)}`);
  if (!(labels instanceof Int32Array)) throw new TypeError(`labels must be an Int32Array, got ${describe(labels)}`);
  if (!Array.isArray(shape) || shape.length !== 4)
    throw new TypeError(`shape must be [count, height, width, channels], got ${describe(shape)}`);
  const [count, height, width, channels] = [integer(shape[0], 'shape[0]', 1), integer(shape[1], 'shape[1]', 1),
    integer(shape[2], 'shape[2]', 1), integer(shape[3], 'shape[3]', 1, 3)];
  if (channels === 2) throw new RangeError('shape[3] (channels) must be 1 or 3, got 2');
  if (pixels.length !== count * height * width * channels)
    throw new RangeError(`pixels has ${pixels.length} bytes, shape [${shape.join(', ')}] needs ${count * height * width * channels}`);
  if (labels.length !== count) throw new RangeError(`labels has ${labels.length} entries, expected ${count} (one per image)`);
  const classes = options.classNames ?? defaultClassNames(labels);
  for (let i = 0; i < labels.length; i++)
    if (labels[i] < 0 || labels[i] >= classes.length)
      throw new RangeError(`labels[${i}] is ${labels[i]}, expected 0 .. ${classes.length - 1}`);
  const name = options.name ?? 'array';
  const info = dataBinding().dataArraySource(pixels, count, height, width, channels, labels, name);
  return new Dataset({
    name, kind: 'memory', source: info.source, labels: info.labels, classNames: classes,
    channels: channels as 1 | 3, imageSize: [height, width], defaultSize: Math.min(height, width),
    fingerprint: fingerprintOf('array', pixels, labels, height, width, channels),
  });
}

function defaultClassNames(labels: Int32Array): string[] {
  let max = -1;
  for (const l of labels) max = Math.max(max, l);
  return Array.from({ length: max + 1 }, (_, i) => String(i));
}
