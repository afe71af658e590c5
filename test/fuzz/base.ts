// The valid inputs the file fuzzers mutate: a small checkpoint, PNG and JPEG images, IDX files and
// a packed cache. Built once per child process (deterministically: they do not depend on the seed).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHECKPOINT_FORMAT, alexnet, arrayDataset, cacheDataset, encodeImage, saveCheckpoint, type TrainingState,
} from '../../lib/index.js';
import { Rng } from './prng.js';

export interface BaseInputs {
  checkpoint: Buffer;
  /** The model configuration recorded in the checkpoint. */
  modelConfig: Record<string, unknown>;
  png: Buffer;
  pngGrey: Buffer;
  jpeg: Buffer;
  jpegGrey: Buffer;
  idxImages: Buffer;  // raw IDX (magic 0x803), 5 images 4x4
  idxLabels: Buffer;  // raw IDX (magic 0x801), 5 labels
  cache: Buffer;      // a packed cache of 6 grey 8x8 images
}

/** The smallest AlexNet the layer stack accepts, on grey 24x24 input. */
export const TINY_MODEL = { numClasses: 3, inChannels: 1, inputSize: 24, width: 1 / 48, conv1Stride: 1, seed: 1 } as const;

let cached: Promise<BaseInputs> | undefined;
let baseDir = '';

/** Where this process builds its base inputs (a folder of its own: several children run at once). */
export function configureBase(dir: string): void {
  baseDir = dir;
}

export function baseInputs(): Promise<BaseInputs> {
  if (!baseDir) throw new Error('configureBase() was not called');
  cached ??= build(baseDir);
  return cached;
}

function pixels(rng: Rng, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.int(0, 255));
}

function idx(magic: number, dims: number[], body: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}

async function build(dir: string): Promise<BaseInputs> {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(20120101);

  const model = alexnet(TINY_MODEL);
  const state: TrainingState = {
    format: CHECKPOINT_FORMAT, epoch: 1, batch: 0, step: 10, lr: 0.01, schedule: { type: 'constant' }, seed: 1,
    rng: 'philox', bestError: 0.5, bestEpoch: 0, epochLoss: { sum: 0, count: 0 },
    model: { ...model.config }, training: { batchSize: 2 }, savedAt: new Date(0).toISOString(),
  };
  const [file] = await saveCheckpoint(dir, ['base'], model.stateDict(), {}, state);
  model.dispose();

  const rgb = pixels(rng, 13 * 9 * 3);
  const grey = pixels(rng, 13 * 9);
  const labels = Int32Array.from({ length: 6 }, (_, i) => i % 3);
  const cacheFile = join(dir, 'base.cache');
  await cacheDataset(arrayDataset(pixels(rng, 6 * 8 * 8), labels, [6, 8, 8, 1]), cacheFile, { size: 8, channels: 1, workers: 1 });
  const idxImages = idx(0x803, [5, 4, 4], pixels(rng, 5 * 16));
  const idxLabels = idx(0x801, [5], Uint8Array.from([0, 1, 2, 3, 9]));
  const out: BaseInputs = {
    checkpoint: readFileSync(file!), modelConfig: { ...state.model },
    png: encodeImage(rgb, 13, 9, 3, { format: 'png' }), pngGrey: encodeImage(grey, 13, 9, 1, { format: 'png' }),
    jpeg: encodeImage(rgb, 13, 9, 3, { format: 'jpeg', quality: 80 }), jpegGrey: encodeImage(grey, 13, 9, 1, { format: 'jpeg' }),
    idxImages, idxLabels, cache: readFileSync(cacheFile),
  };
  writeFileSync(join(dir, 'README'), 'Valid inputs the fuzz cases mutate (test/fuzz/base.ts).\n');
  return out;
}
