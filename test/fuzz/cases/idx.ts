// Mutated IDX files (the MNIST format: a big-endian magic, dimension sizes, then bytes), raw and
// gzip-compressed, read as a Fashion-MNIST-style data set.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fashionMnist } from '../../../lib/index.js';
import { baseInputs } from '../base.js';
import { consume, specialFile } from '../files.js';
import { INTERESTING_U32, mutateBlindly } from '../mutate.js';
import type { CaseContext, Category } from '../types.js';

// Counts that disagree with the other file or with the bytes present; then counts no file of this
// size can hold (checked before anything is allocated, or not).
const COUNTS = [0, 1, 4, 5, 6, 60000];
const HUGE_COUNTS = [0x00ffffff, 0x7fffffff, 0x80000000, 0xffffffff];
const DIMS = [0, 1, 3, 4, 5, 28];
const HUGE_DIMS = [0xffff, 0x10000, 0x7fffffff, 0xffffffff];

async function run(kind: string, ctx: CaseContext): Promise<void> {
  const { rng, note } = ctx;
  const base = await baseInputs();
  let images: Buffer = Buffer.from(base.idxImages);
  let labels: Buffer = Buffer.from(base.idxLabels);
  const gzip = rng.chance(0.5);
  note(gzip ? 'gzip' : 'raw');
  switch (kind) {
    case 'idx/header-count':
    case 'idx/huge-count': {
      const target = rng.pick(['images', 'labels', 'both'] as const);
      const v = rng.pick(kind === 'idx/huge-count' ? HUGE_COUNTS : COUNTS);
      if (target !== 'labels') images.writeUInt32BE(v, 4);
      if (target !== 'images') labels.writeUInt32BE(v, 4);
      note(`${target} count ${v}`);
      break;
    }
    case 'idx/header-dims':
    case 'idx/huge-dims': {
      const huge = kind === 'idx/huge-dims';
      const rows = rng.pick(huge && rng.chance(0.7) ? HUGE_DIMS : DIMS);
      const cols = rng.pick(huge ? HUGE_DIMS : DIMS);
      images.writeUInt32BE(rows, 8);
      images.writeUInt32BE(cols, 12);
      if (rng.chance(0.3)) images.writeUInt32BE(rng.pick(huge ? [...COUNTS, ...HUGE_COUNTS] : COUNTS), 4);
      note(`images ${images.readUInt32BE(4)} x ${rows} x ${cols}`);
      break;
    }
    case 'idx/magic': {
      const target = rng.chance(0.5) ? images : labels;
      // Type byte (0x08 unsigned byte, 0x0D float …) and dimension count byte.
      target.writeUInt32BE(rng.pick([0, 0x801, 0x802, 0x803, 0x804, 0x80f, 0xd03, 0x0b03, 0x0803ff, ...INTERESTING_U32]), 0);
      note(`${target === images ? 'images' : 'labels'} magic 0x${target.readUInt32BE(0).toString(16)}`);
      break;
    }
    case 'idx/labels': {
      // Label bytes beyond the classes, as the only change.
      const at = 8 + rng.int(0, 4);
      labels[at] = rng.pick([10, 11, 128, 200, 255]);
      note(`label byte ${at - 8} = ${labels[at]}`);
      break;
    }
    case 'idx/truncate': {
      const target = rng.chance(0.5) ? 'images' : 'labels';
      const b = target === 'images' ? images : labels;
      const at = rng.int(0, b.length - 1);
      note(`${target} truncated to ${at} of ${b.length}`);
      if (target === 'images') images = b.subarray(0, at);
      else labels = b.subarray(0, at);
      break;
    }
    case 'idx/blind': {
      const target = rng.chance(0.6) ? 'images' : 'labels';
      const m = mutateBlindly(rng, target === 'images' ? images : labels);
      note(`${target} byte mutations: ${m.steps.join(', ')}`);
      if (target === 'images') images = m.bytes;
      else labels = m.bytes;
      break;
    }
    case 'idx/gzip-stream': break;  // the compressed bytes are mutated below
    case 'idx/special-file': case 'idx/endless': case 'idx/fifo': break;  // the images file is replaced below
    default: throw new Error(`unknown kind ${kind}`);
  }
  let imageFile: Buffer = gzip || kind === 'idx/gzip-stream' ? gzipSync(images) : images;
  const labelFile = gzip ? gzipSync(labels) : labels;
  if (kind === 'idx/gzip-stream') {
    const how = rng.pick(['blind', 'truncate', 'two-members', 'empty', 'not-gzip'] as const);
    note(`images gzip stream: ${how}`);
    if (how === 'blind') imageFile = mutateBlindly(rng, imageFile).bytes;
    else if (how === 'truncate') imageFile = imageFile.subarray(0, rng.int(0, imageFile.length - 1));
    else if (how === 'two-members') imageFile = Buffer.concat([imageFile, gzipSync(images)]);
    else if (how === 'empty') imageFile = gzipSync(Buffer.alloc(0));
    else imageFile = images;
  }
  const dir = join(ctx.dir, 'idx');
  mkdirSync(dir);
  const compressed = gzip || kind === 'idx/gzip-stream';
  const imagePath = join(dir, `train-images-idx3-ubyte${compressed ? '.gz' : ''}`);
  if (kind === 'idx/special-file' || kind === 'idx/fifo' || kind === 'idx/endless') note(`images: ${specialFile(rng, imagePath, kind)}`);
  else writeFileSync(imagePath, imageFile);
  writeFileSync(join(dir, `train-labels-idx1-ubyte${gzip ? '.gz' : ''}`), labelFile);
  const dataset = await fashionMnist({ dir, channels: rng.pick([1, 3] as const) });
  await consume(rng, dataset, ctx.dir, note);
}

export const idx: Category = {
  name: 'idx',
  kinds: [[3, 'idx/header-count'], [1, 'idx/huge-count'], [2, 'idx/header-dims'], [1, 'idx/huge-dims'], [2, 'idx/magic'], [1, 'idx/labels'], [2, 'idx/truncate'],
    [3, 'idx/blind'], [2, 'idx/gzip-stream'], [1, 'idx/special-file'], [1, 'idx/endless'], [1, 'idx/fifo']],
  run,
};
