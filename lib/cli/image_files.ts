// A data set over arbitrary image files (for predict). lib/data lists folders; this lists files.
// TODO(lib/data): an `imageFiles(paths)` there would make this file unnecessary.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { AlexNetError } from '../errors.js';
import { Dataset, type DatasetKind } from '../data/dataset.js';
import { dataBinding } from '../data/native.js';

export function imageFiles(paths: string[], channels: 1 | 3, classNames: readonly string[]): Dataset {
  const files = paths.map((p) => resolve(p));
  for (const [i, f] of files.entries())
    if (!existsSync(f)) throw new AlexNetError(`${paths[i]}: no such file`, 'IO_ERROR', 'open');
  const labels = new Int32Array(files.length); // unknown: predictions only
  return new Dataset({
    name: 'images', kind: 'files' as DatasetKind, source: dataBinding().dataFileSource(files, labels), labels, classNames,
    channels, imageSize: null, defaultSize: 256, fingerprint: 0n, paths: files,
  });
}
