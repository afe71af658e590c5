// Mutated PNG and JPEG files, decoded through every path that reads image files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageFiles } from '../../../lib/index.js';
import { baseInputs } from '../base.js';
import { consume, crc32, specialFile } from '../files.js';
import { INTERESTING_U32, mutateBlindly } from '../mutate.js';
import type { Rng } from '../prng.js';
import type { CaseContext, Category } from '../types.js';

interface Chunk { type: string; data: Buffer; fixCrc: boolean; crc?: number; length?: number }

function pngChunks(png: Buffer): Chunk[] {
  const chunks: Chunk[] = [];
  for (let at = 8; at + 12 <= png.length;) {
    const length = png.readUInt32BE(at);
    chunks.push({ type: png.toString('latin1', at + 4, at + 8), data: Buffer.from(png.subarray(at + 8, at + 8 + length)), fixCrc: true });
    at += 12 + length;
  }
  return chunks;
}

function pngBytes(chunks: Chunk[]): Buffer {
  const parts: Buffer[] = [png8];
  for (const c of chunks) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(c.length ?? c.data.length, 0);
    head.write(c.type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(c.fixCrc ? crc32(Buffer.concat([head.subarray(4), c.data])) : (c.crc ?? 0));
    parts.push(head, c.data, crc);
  }
  return Buffer.concat(parts);
}
const png8 = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function mutatePng(rng: Rng, png: Buffer, note: (s: string) => void): Buffer {
  const chunks = pngChunks(png);
  const ihdr = chunks.find((c) => c.type === 'IHDR')!;
  const what = rng.pick(['dimensions', 'format', 'chunk-length', 'idat', 'chunk-order'] as const);
  switch (what) {
    case 'dimensions': {
      const w = rng.pick([0, 1, 13, 16384, 65535, 65536, 1000000, 0x7fffffff, 0x80000000, 0xffffffff]);
      const h = rng.pick([0, 1, 9, 16384, 65535, 65536, 1000000, 0x7fffffff, 0x80000000, 0xffffffff]);
      if (rng.chance(0.7)) ihdr.data.writeUInt32BE(w, 0);
      if (rng.chance(0.7)) ihdr.data.writeUInt32BE(h, 4);
      note(`IHDR ${ihdr.data.readUInt32BE(0)}x${ihdr.data.readUInt32BE(4)}`);
      break;
    }
    case 'format':
      ihdr.data[rng.int(8, 12)] = rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 255]);
      note(`IHDR depth/colour/compression/filter/interlace ${[...ihdr.data.subarray(8, 13)].join(',')}`);
      break;
    case 'chunk-length': {
      const c = rng.pick(chunks);
      c.length = rng.pick(INTERESTING_U32);
      c.fixCrc = rng.chance(0.5);
      note(`${c.type} length field ${c.length}`);
      break;
    }
    case 'idat': {
      const c = chunks.find((x) => x.type === 'IDAT')!;
      const m = mutateBlindly(rng, c.data);
      c.data = m.bytes;
      note(`IDAT (CRC fixed): ${m.steps.join(', ')}`);
      break;
    }
    case 'chunk-order': {
      const how = rng.pick(['drop-ihdr', 'drop-iend', 'drop-idat', 'double-ihdr', 'unknown-critical', 'shuffle'] as const);
      note(`chunks: ${how}`);
      if (how === 'drop-ihdr') chunks.splice(chunks.indexOf(ihdr), 1);
      else if (how === 'drop-iend') chunks.pop();
      else if (how === 'drop-idat') chunks.splice(chunks.findIndex((c) => c.type === 'IDAT'), 1);
      else if (how === 'double-ihdr') chunks.splice(1, 0, { ...ihdr, data: Buffer.from(ihdr.data) });
      else if (how === 'unknown-critical') chunks.splice(1, 0, { type: 'ZZZZ', data: Buffer.alloc(rng.int(0, 64)), fixCrc: true });
      else chunks.reverse();
      break;
    }
  }
  return pngBytes(chunks);
}

interface Segment { marker: number; body: Buffer; length?: number }

// JPEG as segments up to SOS, then the entropy-coded rest (scan data and EOI) as one blob.
function jpegSegments(jpeg: Buffer): { segments: Segment[]; scan: Buffer } {
  const segments: Segment[] = [];
  let at = 2;
  while (at + 4 <= jpeg.length) {
    const marker = jpeg[at + 1]!;
    const length = jpeg.readUInt16BE(at + 2);
    segments.push({ marker, body: Buffer.from(jpeg.subarray(at + 4, at + 2 + length)) });
    at += 2 + length;
    if (marker === 0xda) break;
  }
  return { segments, scan: Buffer.from(jpeg.subarray(at)) };
}

function jpegBytes(segments: Segment[], scan: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 0xd8])];
  for (const s of segments) {
    const head = Buffer.from([0xff, s.marker, 0, 0]);
    head.writeUInt16BE((s.length ?? s.body.length + 2) & 0xffff, 2);
    parts.push(head, s.body);
  }
  parts.push(scan);
  return Buffer.concat(parts);
}

function mutateJpeg(rng: Rng, jpeg: Buffer, note: (s: string) => void): Buffer {
  const { segments, scan } = jpegSegments(jpeg);
  const sof = segments.find((s) => s.marker === 0xc0 || s.marker === 0xc2) ?? segments[0]!;
  const what = rng.pick(['dimensions', 'components', 'segment-length', 'scan', 'markers'] as const);
  let tail = scan;
  switch (what) {
    case 'dimensions':
      if (rng.chance(0.7)) sof.body.writeUInt16BE(rng.pick([0, 1, 9, 0x7fff, 0x8000, 0xffff]), 1);
      if (rng.chance(0.7)) sof.body.writeUInt16BE(rng.pick([0, 1, 13, 0x7fff, 0x8000, 0xffff]), 3);
      note(`SOF ${sof.body.readUInt16BE(3)}x${sof.body.readUInt16BE(1)}`);
      break;
    case 'components': {
      const field = rng.pick([0, 5, 6 + 1, 6 + 2] as const);  // precision, count, sampling, table
      sof.body[Math.min(field, sof.body.length - 1)] = rng.pick([0, 1, 2, 4, 8, 12, 16, 0x11, 0x22, 0x44, 0xff]);
      note(`SOF byte ${field} = ${sof.body[Math.min(field, sof.body.length - 1)]}`);
      break;
    }
    case 'segment-length': {
      const s = rng.pick(segments);
      s.length = rng.pick([0, 1, 2, 3, s.body.length + 1, s.body.length + 3, 0x7fff, 0xffff]);
      note(`segment 0x${s.marker.toString(16)} length field ${s.length}`);
      break;
    }
    case 'scan': {
      const m = mutateBlindly(rng, scan);
      tail = m.bytes;
      note(`scan data: ${m.steps.join(', ')}`);
      break;
    }
    case 'markers': {
      const how = rng.pick(['drop-eoi', 'drop-dqt', 'drop-dht', 'drop-sof', 'double-sof', 'progressive'] as const);
      note(`markers: ${how}`);
      const drop = (m: number) => { const i = segments.findIndex((s) => s.marker === m); if (i >= 0) segments.splice(i, 1); };
      if (how === 'drop-eoi') tail = scan.subarray(0, Math.max(0, scan.length - 2));
      else if (how === 'drop-dqt') drop(0xdb);
      else if (how === 'drop-dht') drop(0xc4);
      else if (how === 'drop-sof') drop(sof.marker);
      else if (how === 'double-sof') segments.splice(segments.indexOf(sof), 0, { marker: sof.marker, body: Buffer.from(sof.body) });
      else sof.marker = 0xc2;
      break;
    }
  }
  return jpegBytes(segments, tail);
}

async function run(kind: string, ctx: CaseContext): Promise<void> {
  const { rng, note } = ctx;
  const base = await baseInputs();
  if (kind === 'image/special-file' || kind === 'image/fifo' || kind === 'image/endless') {
    const file = join(ctx.dir, 'image.jpg');
    note(specialFile(rng, file, kind));
    return consume(rng, await imageFiles([file]), ctx.dir, note);
  }
  const isPng = kind.startsWith('image/png');
  const grey = rng.chance(0.3);
  const input = isPng ? (grey ? base.pngGrey : base.png) : (grey ? base.jpegGrey : base.jpeg);
  note(`${isPng ? 'PNG' : 'JPEG'}${grey ? ' grey' : ''}`);
  let bytes: Buffer;
  if (kind.endsWith('-blind')) {
    const m = mutateBlindly(rng, input);
    note(`byte mutations: ${m.steps.join(', ')}`);
    bytes = m.bytes;
  } else if (kind.endsWith('-truncate')) {
    const at = rng.int(0, input.length - 1);
    note(`truncated to ${at} of ${input.length} bytes`);
    bytes = input.subarray(0, at);
  } else {
    bytes = isPng ? mutatePng(rng, input, note) : mutateJpeg(rng, input, note);
  }
  // The extension does not decide the decoder; a wrong one is part of the test.
  const file = join(ctx.dir, rng.chance(0.9) ? (isPng ? 'image.png' : 'image.jpg') : (isPng ? 'image.jpg' : 'image.png'));
  writeFileSync(file, bytes);
  const dataset = await imageFiles([file, ...(rng.chance(0.3) ? [file] : [])]);
  await consume(rng, dataset, ctx.dir, note);
}

export const image: Category = {
  name: 'image',
  kinds: [[3, 'image/png-structure'], [2, 'image/png-blind'], [1, 'image/png-truncate'],
    [3, 'image/jpeg-structure'], [2, 'image/jpeg-blind'], [1, 'image/jpeg-truncate'], [1, 'image/special-file'], [1, 'image/endless'], [1, 'image/fifo']],
  run,
};
