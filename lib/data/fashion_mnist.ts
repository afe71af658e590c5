// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 training and 10,000 test images, 28x28 grey,
// 10 classes, as gzip IDX files (Debian's dataset-fashion-mnist installs them).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { AlexNetError } from '../errors.js';
import { describe } from '../validate.js';
import { Dataset, fingerprintOf } from './dataset.js';
import { dataBinding } from './native.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);

export interface FashionMnistOptions {
  split?: 'train' | 'test';
  /** Folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; default the Debian one. */
  dir?: string;
  /** 1 (grey, default) or 3 (grey repeated into R, G and B). */
  channels?: 1 | 3;
}

/**
 * Reads one split of Fashion-MNIST (or any 10-class IDX data set laid out the same way, e.g.
 * MNIST). A label outside 0..9 is an AlexNetError BAD_FILE naming the label file and the image.
 */
export async function fashionMnist(options: FashionMnistOptions = {}): Promise<Dataset> {
  const { split = 'train', dir = FASHION_MNIST_DIR, channels = 1 } = options;
  if (split !== 'train' && split !== 'test')
    throw new TypeError(`options.split must be "train" or "test", got ${describe(split)}`);
  if (typeof dir !== 'string') throw new TypeError(`options.dir must be a string, got ${describe(dir)}`);
  if (channels !== 1 && channels !== 3) throw new RangeError(`options.channels must be 1 or 3, got ${describe(channels)}`);
  const prefix = split === 'train' ? 'train' : 't10k';
  const images = idxFile(dir, `${prefix}-images-idx3-ubyte`);
  const labels = idxFile(dir, `${prefix}-labels-idx1-ubyte`);
  // Ten classes, as MNIST: a label byte of 10 or more is a corrupt file, never an extra class.
  const classNames = FASHION_MNIST_CLASSES;
  const info = await dataBinding().dataReadIdx(images, labels, classNames.length);
  const stamp = (p: string) => { const s = statSync(p); return `${p}:${s.size}:${s.mtimeMs}`; };
  return new Dataset({
    name: `fashion-mnist/${split}`, kind: 'memory', source: info.source, labels: info.labels, classNames,
    channels, imageSize: [info.height, info.width], defaultSize: Math.min(info.height, info.width),
    fingerprint: fingerprintOf('idx', stamp(images), stamp(labels)),
  });
}

/** `name.gz` if present, else `name`; an IO_ERROR naming both when neither exists. */
function idxFile(dir: string, name: string): string {
  for (const candidate of [join(dir, `${name}.gz`), join(dir, name)]) if (existsSync(candidate)) return candidate;
  throw new AlexNetError(`${join(dir, name)}.gz: no such file (nor ${name} uncompressed)`, 'IO_ERROR', 'open',
    dir === FASHION_MNIST_DIR ? 'install it with `apt-get install dataset-fashion-mnist`, or pass options.dir' : '');
}
