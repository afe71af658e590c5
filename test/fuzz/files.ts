// Helpers the file fuzzers share: CRC-32 (PNG chunks), and reading a data set the ways the library
// does (one image, a loader epoch, a cache build).
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDataset, createLoader, type Dataset } from '../../lib/index.js';
import type { Rng } from './prng.js';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Puts something that is not a regular file at `path`, by the case kind: a FIFO nobody writes to
 * (`<category>/fifo`), an endless device (`<category>/endless`), or else an empty device, a folder
 * or a link to nowhere. Returns what it made.
 */
export function specialFile(rng: Rng, path: string, kind: string): string {
  const what = kind.endsWith('/fifo') ? 'fifo' : kind.endsWith('/endless') ? 'dev-zero'
    : rng.pick(['dev-null', 'directory', 'dangling-link'] as const);
  if (what === 'fifo') {
    const r = spawnSync('mkfifo', [path]);
    if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
  } else if (what === 'dev-zero') symlinkSync('/dev/zero', path);
  else if (what === 'dev-null') symlinkSync('/dev/null', path);
  else if (what === 'directory') mkdirSync(path);
  else symlinkSync(join(path, '..', 'nothing-here'), path);
  return what;
}

/**
 * Reads `dataset` one of three ways: single images (Dataset.image), one epoch of a loader (the
 * native pipeline's threads), or a cache build; notes which before it starts.
 */
export async function consume(rng: Rng, dataset: Dataset, dir: string, note: (s: string) => void): Promise<void> {
  const how = rng.weighted([[5, 'image'], [3, 'loader'], [1, 'cache']] as const);
  const size = rng.pick([1, 2, 7, 16, 32]);
  const channels = rng.pick([1, 3] as const);
  const onBadImage = rng.pick(['error', 'skip'] as const);
  if (how === 'image') {
    const count = Math.min(dataset.size, 3);
    note(`image() x${count} size ${size} channels ${channels}`);
    for (let i = 0; i < count; i++) await dataset.image(rng.int(0, dataset.size - 1), { size, channels });
    return;
  }
  if (how === 'cache') {
    note(`cacheDataset size ${size} channels ${channels} ${onBadImage}`);
    await cacheDataset(dataset, join(dir, 'built.cache'), { size, channels, workers: rng.int(1, 2), onBadImage });
    return;
  }
  const train = rng.chance(0.5);
  const augmentOn = rng.pick(['host', 'device'] as const);
  note(`loader epoch: train ${train} size ${size} channels ${channels} ${onBadImage} ${augmentOn}`);
  const loader = await createLoader(dataset, {
    batchSize: rng.int(1, 3), train, size, crop: rng.int(1, size), channels, workers: rng.int(1, 2), onBadImage,
    mean: rng.pick(['none', 'channel', 'pixel'] as const), augmentOn, seed: rng.int(0, 100), dropLast: false,
  });
  try {
    for await (const batch of loader.epoch(0)) void batch;
  } finally {
    await loader.close();
  }
}
