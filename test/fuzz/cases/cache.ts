// Mutated packed image caches (native/data/include/alexnet/data/packed.hpp: a 4096-byte header,
// labels, flags, then the images from a 4096-aligned offset), opened and read through mmap.
import { openSync, closeSync, ftruncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCache } from '../../../lib/index.js';
import { baseInputs } from '../base.js';
import { consume, specialFile } from '../files.js';
import { mutateBlindly } from '../mutate.js';
import type { Rng } from '../prng.js';
import type { CaseContext, Category } from '../types.js';

// Header fields: [name, offset, bytes].
const FIELDS = [['version', 8, 4], ['count', 16, 8], ['size', 24, 4], ['channels', 28, 4], ['labelsOffset', 40, 8],
  ['flagsOffset', 48, 8], ['pixelsOffset', 56, 8]] as const;

function absurd64(rng: Rng, fileLength: number): bigint {
  return BigInt(rng.pick([0, 1, -1, 5, 6, 7, 4095, 4096, 4097, fileLength - 1, fileLength, fileLength + 1, 2 ** 31, 2 ** 32,
    2 ** 53, -(2 ** 53)])) * (rng.chance(0.1) ? 1n << 10n : 1n);
}
const ABSURD_32 = [0, -1, 1, 2, 3, 4, 8, 9, 255, 4096, 65536, 2 ** 31 - 1, -(2 ** 31)];

function setField(b: Buffer, offset: number, bytes: number, v: bigint): void {
  if (bytes === 8) b.writeBigInt64LE(BigInt.asIntN(64, v), offset);
  else b.writeInt32LE(Number(BigInt.asIntN(32, v)), offset);
}

async function run(kind: string, ctx: CaseContext): Promise<void> {
  const { rng, note } = ctx;
  const base = await baseInputs();
  let bytes: Buffer = Buffer.from(base.cache);
  switch (kind) {
    case 'cache/header-field': {
      const n = rng.weighted([[3, 1], [1, 2]] as const);
      for (let i = 0; i < n; i++) {
        const [name, offset, width] = rng.pick(FIELDS);
        const v = width === 8 ? absurd64(rng, bytes.length) : BigInt(rng.pick(ABSURD_32));
        setField(bytes, offset, width, v);
        note(`${name} = ${v}`);
      }
      break;
    }
    case 'cache/size-overflow': {
      // count · size² · channels chosen to wrap a 64-bit product or to exceed the file by far.
      const count = rng.pick([2n ** 31n, 2n ** 32n + 1n, 2n ** 40n, 2n ** 62n, 6148914691236517889n, 3n]);
      const size = rng.pick([8, 65536, 2 ** 31 - 1, 46341, 1 << 20]);
      const channels = rng.pick([1, 3, 4, 2 ** 30]);
      setField(bytes, 16, 8, count);
      setField(bytes, 24, 4, BigInt(size));
      setField(bytes, 28, 4, BigInt(channels));
      note(`count ${count} size ${size} channels ${channels}`);
      if (rng.chance(0.5)) {
        // A header that claims a large label table as well (the 12 KiB header of a crafted file).
        bytes = Buffer.concat([bytes.subarray(0, 4096), Buffer.alloc(8192, 0), bytes.subarray(4096)]);
        setField(bytes, 56, 8, BigInt(12288));
        note('12 KiB header');
      }
      break;
    }
    case 'cache/labels-flags':
    case 'cache/huge-label': {
      const labelsAt = Number(bytes.readBigInt64LE(40));
      const flagsAt = Number(bytes.readBigInt64LE(48));
      const count = Number(bytes.readBigInt64LE(16));
      const i = rng.int(0, count - 1);
      if (kind === 'cache/huge-label' || rng.chance(0.6)) {
        const v = rng.pick(kind === 'cache/huge-label' ? [2 ** 31 - 1, 2 ** 30, -(2 ** 31)] : [-1, 3, 1000, 1e5]);
        bytes.writeInt32LE(v, labelsAt + 4 * i);
        note(`label ${i} = ${v}`);
      } else {
        bytes[flagsAt + i] = rng.pick([1, 2, 255]);
        note(`flag ${i} = ${bytes[flagsAt + i]}`);
      }
      break;
    }
    case 'cache/truncate': {
      const at = rng.weighted([[1, rng.int(0, 64)], [1, rng.int(64, 4096)], [2, rng.int(4096, bytes.length - 1)]] as const);
      note(`truncated to ${at} of ${bytes.length}`);
      bytes = bytes.subarray(0, at);
      break;
    }
    case 'cache/truncate-after-open': break;  // below: the file shrinks while it is mapped
    case 'cache/special-file': case 'cache/endless': case 'cache/fifo': break;  // made below
    case 'cache/grow': bytes = Buffer.concat([bytes, Buffer.alloc(rng.int(1, 20000), rng.int(0, 255))]); note('extended'); break;
    case 'cache/blind': {
      // Mostly inside the header and the tables, where the structure is.
      const head = rng.chance(0.7);
      const m = mutateBlindly(rng, head ? bytes.subarray(0, 4096 + 64) : bytes);
      bytes = head ? Buffer.concat([m.bytes, bytes.subarray(4096 + 64)]) : m.bytes;
      note(`byte mutations${head ? ' (header)' : ''}: ${m.steps.join(', ')}`);
      break;
    }
    default: throw new Error(`unknown kind ${kind}`);
  }
  const file = join(ctx.dir, 'images.cache');
  if (kind === 'cache/special-file' || kind === 'cache/fifo' || kind === 'cache/endless') note(specialFile(rng, file, kind));
  else writeFileSync(file, bytes);
  const dataset = await openCache(file);
  if (kind === 'cache/truncate-after-open') {
    const at = rng.weighted([[1, 0], [1, 4096], [2, rng.int(4096, bytes.length - 1)]] as const);
    note(`truncated to ${at} of ${bytes.length} after opening`);
    const fd = openSync(file, 'r+');
    ftruncateSync(fd, at);
    closeSync(fd);
  }
  await consume(rng, dataset, ctx.dir, note);
}

export const cache: Category = {
  name: 'cache',
  kinds: [[4, 'cache/header-field'], [2, 'cache/size-overflow'], [2, 'cache/labels-flags'], [1, 'cache/huge-label'], [2, 'cache/truncate'],
    [1, 'cache/truncate-after-open'], [1, 'cache/grow'], [3, 'cache/blind'], [1, 'cache/special-file'], [1, 'cache/endless'], [1, 'cache/fifo']],
  run,
};
