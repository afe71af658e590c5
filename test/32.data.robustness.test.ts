// Hostile input files and resource limits in the input pipeline and the checkpoint reader: each
// must end in a typed error naming the file (or parameter), never a signal, a hang, an allocation
// the file's size does not justify, a leak, or a silently different data set. Cases that used to
// crash or hang run in a child process (test/helpers/child.ts).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync, gzipSync } from 'node:zlib';

import { AlexNetError } from '../lib/errors.js';
import {
  arrayDataset, cacheDataset, computeStats, createLoader, encodeImage, fashionMnist, imageFiles, openCache,
} from '../lib/data/index.js';
import { decodeSafetensors, encodeSafetensors } from '../lib/io/index.js';
import { describeOutcome, runChild, type ChildOutcome } from './helpers/child.js';
import { rejection } from './helpers/rejection.js';


/** The child ended normally and reported an error of `code` whose message names `file`. */
function expectChildError(o: ChildOutcome, code: string, file: string): { message: string; call?: string } {
  expect(o.signal, describeOutcome(o)).to.equal(null);
  expect(o.status, describeOutcome(o)).to.equal(0);
  expect(o.result?.error, describeOutcome(o)).to.be.an('object');
  expect(o.result.error.name).to.equal('AlexNetError');
  expect(o.result.error.code).to.equal(code);
  expect(o.result.error.message).to.contain(file);
  return o.result.error;
}

function idxHeader(magic: number, dims: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * dims.length);
  b.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  return b;
}

// A PNG of a header and a token data chunk: enough for the decoder to read its dimensions and
// refuse them.
function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);  // 8-bit RGB, deflate, no filter, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]);
}

/** Reads Fashion-MNIST from `dir` in a child process: the error it gives and the child's own peak memory. */
function readFashionMnistInChild(dir: string): ChildOutcome {
  return runChild(`
    // VmHWM: this process's own peak (getrusage's maxRSS also counts the parent's RSS at fork).
    const peakRssMiB = () => Number(/VmHWM:\\s*(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
    let error;
    try { await data.fashionMnist({ dir: args[0] }); } catch (e) { error = { name: e.name, code: e.code, message: e.message }; }
    report({ error, maxRssMiB: peakRssMiB() });
  `, { args: [dir] });
}

/**
 * Runs `read` (an expression of `file`) in a child process on a FIFO and on /dev/zero: each must
 * give BAD_FILE naming it, at once (a read of either would block or never end).
 */
function expectSpecialFilesRefused(fifo: string, read: string): void {
  const o = runChild(`
    const errors = [];
    for (const file of args) {
      try { await ${read}; errors.push(null); }
      catch (e) { errors.push({ name: e.name, code: e.code, message: e.message }); }
    }
    report({ error: errors[0], device: errors[1] });
  `, { args: [fifo, '/dev/zero'], timeoutMs: 20000 });
  expect(o.timedOut, describeOutcome(o)).to.equal(false);
  expectChildError(o, 'BAD_FILE', fifo);
  expect(o.result.device?.code).to.equal('BAD_FILE');
  expect(o.result.device.message).to.contain('/dev/zero');
}

describe('data: hostile files and resource limits', function () {
  let root: string;
  before(() => { root = mkdtempSync(join(tmpdir(), 'alexnet-robust-')); });
  after(() => rmSync(root, { recursive: true, force: true }));

  describe('packed image cache', () => {
    it('a cache truncated after it was opened gives BAD_FILE naming it, not SIGBUS', () => {
      const file = join(root, 'shrinks.alxpack');
      const o = runChild(`
        const pixels = new Uint8Array(8 * 16 * 16 * 3).map((_, i) => i % 251);
        const ds = data.arrayDataset(pixels, Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]), [8, 16, 16, 3]);
        const cached = await data.cacheDataset(ds, args[0], { size: 16, workers: 1 });
        fs.truncateSync(args[0], 4096 + 64);  // the header and the labels stay, the pixels go
        const errors = [];
        for (const read of [
          () => cached.image(7, { size: 16 }),
          async () => {
            const loader = await data.createLoader(cached, { batchSize: 4, train: false, mean: 'none', workers: 1 });
            try { for await (const _ of loader.epoch(0)); } finally { await loader.close(); }
          },
        ]) {
          try { await read(); errors.push(null); } catch (e) { errors.push({ name: e.name, code: e.code, message: e.message }); }
        }
        report({ error: errors[0], loader: errors[1] });
      `, { args: [file] });
      expectChildError(o, 'BAD_FILE', file);
      expect(o.result.loader?.code, describeOutcome(o)).to.equal('BAD_FILE');
      expect(o.result.loader.message).to.contain(file);
    });

    it('a header whose sizes overflow gives BAD_FILE naming the file, not an abort', () => {
      // count 2^62 images of 1x1x3: 4 * count and the pixel bytes wrap around 2^64 so that the
      // expected total comes out at 4096, this file's size.
      const file = join(root, 'overflow.alxpack');
      const h = Buffer.alloc(4096);
      h.write('ALXPACK1', 0, 'latin1');
      h.writeUInt32LE(1, 8);
      const count = 1n << 62n;
      h.writeBigInt64LE(count, 16);
      h.writeInt32LE(1, 24);
      h.writeInt32LE(3, 28);
      const wrap = (v: bigint) => BigInt.asIntN(64, v);
      const flags = wrap(4096n + count * 4n);
      const pixels = wrap(((flags + count + 4095n) / 4096n) * 4096n);
      h.writeBigInt64LE(4096n, 40);
      h.writeBigInt64LE(flags, 48);
      h.writeBigInt64LE(pixels, 56);
      expect(wrap(pixels + count * 3n)).to.equal(4096n);
      writeFileSync(file, h);
      expectChildError(runChild('await data.openCache(args[0]);', { args: [file] }), 'BAD_FILE', file);
    });

    it('a cache with a label that is no class index gives BAD_FILE naming the file', async () => {
      const file = join(root, 'labels.alxpack');
      const ds = arrayDataset(new Uint8Array(2 * 4 * 4), Int32Array.from([0, 1]), [2, 4, 4, 1]);
      await cacheDataset(ds, file, { size: 4, workers: 1 });
      const bytes = readFileSync(file);
      bytes.writeInt32LE(-5, 4096 + 4);
      writeFileSync(file, bytes);
      const e = await rejection(openCache(file));
      expect(e.code).to.equal('BAD_FILE');
      expect(e.message).to.contain(file).and.contain('label');
      // A label beyond the class names given (or absurdly large without them) names the image.
      bytes.writeInt32LE(70000, 4096 + 4);
      writeFileSync(file, bytes);
      const huge = await rejection(openCache(file));
      expect(huge.code).to.equal('BAD_FILE');
      expect(huge.message).to.contain(file).and.contain('image 1').and.contain('70000');
      bytes.writeInt32LE(2, 4096 + 4);
      writeFileSync(file, bytes);
      const named = await rejection(openCache(file, { classNames: ['a', 'b'] }));
      expect(named.message).to.contain('image 1').and.contain('options.classNames');
      expect((await openCache(file, { classNames: ['a', 'b', 'c'] })).numClasses).to.equal(3);
    });
  });

  describe('loader threads', () => {
    it('bounds workers (1 to 256) with a RangeError naming the option', async () => {
      const ds = arrayDataset(new Uint8Array(4 * 4 * 4), Int32Array.from([0, 1, 0, 1]), [4, 4, 4, 1]);
      for (const workers of [0, 257, 100000, 1.5]) {
        let caught: unknown;
        try { await createLoader(ds, { batchSize: 2, train: false, mean: 'none', workers }); } catch (e) { caught = e; }
        expect(caught, `workers ${workers}`).to.be.instanceOf(workers === 1.5 ? TypeError : RangeError);
        expect((caught as Error).message).to.contain('options.workers');
      }
      let caught: unknown;
      try { await computeStats(ds, { workers: 100000 }); } catch (e) { caught = e; }
      expect(caught).to.be.instanceOf(RangeError);
      expect((caught as Error).message).to.contain('options.workers');
    });

    it('threads that cannot be started give a typed error, not an abort', function () {
      if (spawnSync('prlimit', ['--version']).status !== 0) this.skip();
      // Root ignores RLIMIT_NPROC, so the thread stacks are starved of address space instead: the
      // limit is set on the running child, once Node's own threads exist.
      const o = runChild(`
        await fs.promises.readFile(args[0]);  // starts libuv's thread pool before the limit
        const ds = data.arrayDataset(new Uint8Array(64 * 8 * 8), new Int32Array(64), [64, 8, 8, 1]);
        const status = fs.readFileSync('/proc/self/status', 'utf8');
        const vmKiB = Number(/VmSize:\\s*(\\d+)/.exec(status)[1]);
        const { spawnSync } = await import('node:child_process');
        const limit = String((vmKiB + 160 * 1024) * 1024);
        const r = spawnSync('prlimit', ['--pid', String(process.pid), '--as=' + limit]);
        if (r.status !== 0) return report({ skipped: String(r.stderr) });
        const outcome = {};
        for (const [name, run] of [
          ['loader', () => data.createLoader(ds, { batchSize: 8, train: false, mean: 'none', workers: 200 })],
          ['stats', () => data.computeStats(ds, { workers: 200 })],
        ]) {
          try { await run(); outcome[name] = 'started'; } catch (e) { outcome[name] = { name: e.name, code: e.code, message: e.message }; }
        }
        report(outcome);
      `, { args: [process.execPath] });
      expect(o.signal, describeOutcome(o)).to.equal(null);
      expect(o.status, describeOutcome(o)).to.equal(0);
      if (o.result?.skipped !== undefined) this.skip();
      for (const name of ['loader', 'stats']) {
        const r = o.result?.[name];
        // 200 threads of 8 MiB stacks cannot fit in 160 MiB: the error must be typed and say why.
        expect(r, `${name}: ${describeOutcome(o)}`).to.be.an('object');
        expect(r.name).to.equal('AlexNetError');
        expect(r.code).to.equal('RESOURCE_EXHAUSTED');
        expect(r.message).to.contain('thread');
      }
    });
  });

  describe('IDX files', () => {
    it('a header claiming 4,294,967,295 images is refused without allocating for them', () => {
      const dir = join(root, 'idx-huge');
      mkdirSync(dir);
      writeFileSync(join(dir, 'train-images-idx3-ubyte'), Buffer.concat([idxHeader(0x803, [4294967295, 1, 1]), Buffer.alloc(12)]));
      writeFileSync(join(dir, 'train-labels-idx1-ubyte'), Buffer.concat([idxHeader(0x801, [4294967295]), Buffer.alloc(12)]));
      const o = readFashionMnistInChild(dir);
      const e = expectChildError(o, 'BAD_FILE', join(dir, 'train-images-idx3-ubyte'));
      expect(e.message).to.contain('truncated');
      expect(o.result.maxRssMiB, 'peak memory in MiB').to.be.below(1024);
    });

    it('a gzip IDX file claiming more images than it holds is refused without allocating for them', () => {
      const dir = join(root, 'idx-huge-gz');
      mkdirSync(dir);
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([idxHeader(0x803, [3000000000, 1, 1]), Buffer.alloc(100)])));
      writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(Buffer.concat([idxHeader(0x801, [3000000000]), Buffer.alloc(100)])));
      const o = readFashionMnistInChild(dir);
      const e = expectChildError(o, 'BAD_FILE', join(dir, 'train-images-idx3-ubyte.gz'));
      expect(e.message).to.contain('truncated');
      expect(o.result.maxRssMiB, 'peak memory in MiB').to.be.below(1024);
    });

    it('a label outside the 10 classes gives BAD_FILE naming the file and the image', async () => {
      const dir = join(root, 'idx-label');
      mkdirSync(dir);
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([idxHeader(0x803, [3, 2, 2]), Buffer.alloc(12, 7)])));
      const labels = join(dir, 'train-labels-idx1-ubyte.gz');
      writeFileSync(labels, gzipSync(Buffer.concat([idxHeader(0x801, [3]), Buffer.from([1, 200, 3])])));
      const e = await rejection(fashionMnist({ dir }));
      expect(e.code).to.equal('BAD_FILE');
      expect(e.message).to.contain(labels).and.contain('200').and.match(/image 1\b/);
      // The same file with the byte repaired reads as a 10-class data set.
      writeFileSync(labels, gzipSync(Buffer.concat([idxHeader(0x801, [3]), Buffer.from([1, 9, 3])])));
      const ds = await fashionMnist({ dir });
      expect(ds.numClasses).to.equal(10);
      expect(Array.from(ds.labels)).to.deep.equal([1, 9, 3]);
    });
  });

  describe('images', () => {
    it('rejecting oversized PNGs frees the decoder each time (memory stays bounded)', function () {
      this.timeout(60000);
      const file = join(root, 'huge.png');
      writeFileSync(file, pngHeaderOnly(30000, 30000));
      // 40,000 rejections: about 70 MB if each leaked the decoder's ~1.7 KB.
      const o = runChild(`
        const one = await data.imageFiles([args[0]]);
        const many = (n) => one.subset(new Int32Array(n));
        const reject = async (n) => {
          try { await data.computeStats(many(n), { size: 8, workers: 2, onBadImage: 'skip' }); } catch (e) { return e; }
        };
        const first = await reject(2000);
        const before = process.memoryUsage().rss;
        await reject(40000);
        const grown = (process.memoryUsage().rss - before) / 2 ** 20;
        let error;
        try { await one.image(0); } catch (e) { error = { name: e.name, code: e.code, message: e.message }; }
        report({ error, grownMiB: grown, first: String(first?.message) });
      `, { args: [file], timeoutMs: 60000 });
      const e = expectChildError(o, 'BAD_FILE', file);
      expect(e.message).to.contain('too large');
      expect(o.result.grownMiB, 'RSS growth over 40,000 rejections, MiB').to.be.below(24);
    });

    it('JPEG errors name the failing step and libjpeg\'s own message', async () => {
      const good = encodeImage(new Uint8Array(64 * 48 * 3).map((_, i) => (i * 7) % 256), 64, 48, 3, { format: 'jpeg', quality: 90 });
      const truncated = join(root, 'truncated.jpg');
      writeFileSync(truncated, good.subarray(0, Math.floor(good.length * 0.6)));
      const garbage = join(root, 'garbage.jpg');
      writeFileSync(garbage, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(200, 0x55)]));
      const ds = await imageFiles([truncated, garbage]);
      const t = await rejection(ds.image(0, { size: 0 }));
      expect(t.code).to.equal('BAD_FILE');
      expect(t.call).to.equal('jpeg_read_scanlines');
      expect(t.message).to.contain(truncated).and.contain('jpeg_read_scanlines').and.match(/Premature end of JPEG file/i);
      const g = await rejection(ds.image(1, { size: 0 }));
      expect(g.code).to.equal('BAD_FILE');
      expect(g.call).to.equal('jpeg_read_header');
      expect(g.message).to.contain(garbage).and.contain('jpeg_read_header').and.not.contain('jpeg_create_decompress');
    });

    it('a FIFO or a device given as an image gives BAD_FILE naming it, not a hang', function () {
      const fifo = join(root, 'pipe.jpg');
      if (spawnSync('mkfifo', [fifo]).status !== 0) this.skip();
      expectSpecialFilesRefused(fifo, '(await data.imageFiles([file])).image(0)');
    });

    it('a FIFO given as an IDX file gives BAD_FILE naming it, not a hang', function () {
      const dir = join(root, 'idx-fifo');
      const o = runChild(`
        fs.mkdirSync(args[0], { recursive: true });
        const { spawnSync } = await import('node:child_process');
        if (spawnSync('mkfifo', [path.join(args[0], 'train-images-idx3-ubyte')]).status !== 0) return report({ skipped: true });
        fs.writeFileSync(path.join(args[0], 'train-labels-idx1-ubyte'), Buffer.alloc(8));
        await data.fashionMnist({ dir: args[0] });
      `, { args: [dir], timeoutMs: 20000 });
      if (o.result?.skipped) this.skip();
      expect(o.timedOut, describeOutcome(o)).to.equal(false);
      expectChildError(o, 'BAD_FILE', join(dir, 'train-images-idx3-ubyte'));
    });
  });

  describe('checkpoints', () => {
    const tensor = (n: number) => ({ data: new Float32Array(n).fill(1), shape: [n] });

    // Rewrites the header of an encoded file (keeping its data section) with other offsets.
    function withOffsets(offsets: Record<string, [number, number]>, dataBytes: number): Buffer {
      const header: Record<string, unknown> = {};
      for (const [name, [b, e]] of Object.entries(offsets)) header[name] = { dtype: 'F32', shape: [(e - b) / 4], data_offsets: [b, e] };
      const json = Buffer.from(JSON.stringify(header), 'utf8');
      const out = Buffer.alloc(8 + json.length + dataBytes);
      out.writeBigUInt64LE(BigInt(json.length), 0);
      json.copy(out, 8);
      return out;
    }

    it('overlapping tensor byte ranges are rejected naming the tensors', () => {
      // a and b share bytes [8, 16); the three ranges add up to the 40 data bytes, so only the
      // overlap is wrong.
      const bytes = withOffsets({ a: [0, 16], b: [8, 24], c: [24, 32] }, 40);
      let caught: unknown;
      try { decodeSafetensors(bytes, 'overlap.safetensors'); } catch (e) { caught = e; }
      expect(caught).to.be.instanceOf(AlexNetError);
      expect((caught as AlexNetError).code).to.equal('BAD_FILE');
      expect((caught as Error).message).to.contain('overlap.safetensors').and.contain("'b'").and.contain("'a'");
      // Identical ranges too.
      caught = undefined;
      try { decodeSafetensors(withOffsets({ a: [0, 8], b: [0, 8], c: [8, 16], d: [16, 16] }, 24), 'same.safetensors'); } catch (e) { caught = e; }
      expect(caught).to.be.instanceOf(AlexNetError);
      expect((caught as Error).message).to.contain('same.safetensors');
      // A range past the data section names its tensor.
      caught = undefined;
      try { decodeSafetensors(withOffsets({ a: [0, 8], far: [8, 4096] }, 8), 'far.safetensors'); } catch (e) { caught = e; }
      expect(caught).to.be.instanceOf(AlexNetError);
      expect((caught as Error).message).to.contain("'far'");
      // A well-formed file still reads.
      const ok = decodeSafetensors(encodeSafetensors({ a: tensor(2), b: tensor(3) }), 'ok.safetensors');
      expect(Object.keys(ok.tensors)).to.deep.equal(['a', 'b']);
    });

    it('a FIFO or a device given as a checkpoint gives BAD_FILE naming it, not a hang', function () {
      const fifo = join(root, 'pipe.safetensors');
      if (spawnSync('mkfifo', [fifo]).status !== 0) this.skip();
      expectSpecialFilesRefused(fifo, 'io.loadCheckpoint(file)');
    });
  });
});
