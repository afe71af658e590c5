// CIFAR-10 (Krizhevsky 2009), binary version: data_batch_1.bin .. data_batch_5.bin (50,000
// training images) and test_batch.bin (10,000), 32x32 RGB, 10 classes.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { describe } from '../validate.js';
import { Dataset, fingerprintOf } from './dataset.js';
import { dataBinding } from './native.js';

export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);

export interface Cifar10Options {
  /** The folder with the .bin files (or the folder containing cifar-10-batches-bin/). */
  dir: string;
  split?: 'train' | 'test';
  /** 3 (default) or 1 (BT.601 luma). */
  channels?: 1 | 3;
}

export async function cifar10(options: Cifar10Options): Promise<Dataset> {
  if (!options || typeof options.dir !== 'string')
    throw new TypeError(`options.dir must be the folder of the CIFAR-10 binary batches, got ${describe(options?.dir)}`);
  const { split = 'train', channels = 3 } = options;
  if (split !== 'train' && split !== 'test')
    throw new TypeError(`options.split must be "train" or "test", got ${describe(split)}`);
  if (channels !== 1 && channels !== 3) throw new RangeError(`options.channels must be 1 or 3, got ${describe(channels)}`);
  const nested = join(options.dir, 'cifar-10-batches-bin');
  const dir = !existsSync(join(options.dir, 'test_batch.bin')) && existsSync(nested) ? nested : options.dir;
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const files = names.map((n) => join(dir, n));
  const info = await dataBinding().dataReadCifar10(files);
  return new Dataset({
    name: `cifar-10/${split}`, kind: 'memory', source: info.source, labels: info.labels,
    classNames: classNames(dir), channels, imageSize: [32, 32], defaultSize: 32,
    fingerprint: fingerprintOf('cifar10', files.map((f) => `${f}:${statSync(f).size}:${statSync(f).mtimeMs}`)),
  });
}

// batches.meta.txt lists the class names, one a line, when present.
function classNames(dir: string): readonly string[] {
  const meta = join(dir, 'batches.meta.txt');
  if (!existsSync(meta)) return CIFAR10_CLASSES;
  const names = readFileSync(meta, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  return names.length === 10 ? Object.freeze(names) : CIFAR10_CLASSES;
}
