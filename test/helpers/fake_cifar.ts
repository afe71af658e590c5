// A CIFAR-10 folder of random images in the binary format (per image: a label byte, then 3072
// pixel bytes), for commands that need a data set on disk but whose outcome is not under test.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BATCHES = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'];

/** Writes `imagesPerBatch` images to each batch file (labels cycle 0..9) and returns the folder. */
export function fakeCifar(imagesPerBatch: number, seed = 12345): string {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-fake-cifar-'));
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) >>> 0) >>> 24;
  for (const name of BATCHES) {
    const bytes = Buffer.alloc(imagesPerBatch * 3073);
    for (let i = 0; i < imagesPerBatch; i++) {
      bytes[i * 3073] = i % 10;
      for (let p = 1; p < 3073; p++) bytes[i * 3073 + p] = next();
    }
    writeFileSync(join(dir, `${name}.bin`), bytes);
  }
  return dir;
}
