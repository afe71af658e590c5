// Throughput of the input pipeline alone (no network): an ImageNet-style folder of ~500x375
// JPEGs decoded, resized to 256, randomly cropped to 224, flipped, PCA-jittered and
// mean-subtracted into [128, 3, 224, 224] batches; then the same from the packed cache. Each also
// in raw mode (augmentOn: 'device': the threads stop after the resize, the device crops), alone
// and with the crop run by the CPU backend (batchToDevice on 'cpu').
//   npm run bench:data
//   node dist/bench/data.js --images 2000 --workers 2 --dir /tmp/alexnet-bench-images
// The folder is synthesised once (and reused): crops of real photographs when some are found on
// this machine (--photos <folder> to choose), jittered in colour and re-encoded with libjpeg-turbo;
// smooth random pictures with noise otherwise.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  batchToDevice, cacheDataset, computeStats, createLoader, encodeImage, imageFolder, type Batch, type DataLoader, type LoaderOptions,
} from '../lib/data/index.js';
import { synchronize } from '../lib/device.js';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  images: { type: 'string', default: '2000' },
  classes: { type: 'string', default: '10' },
  workers: { type: 'string', default: String(availableParallelism()) },
  batch: { type: 'string', default: '128' },
  epochs: { type: 'string', default: '2' },
  dir: { type: 'string', default: join(tmpdir(), 'alexnet-bench-images') },
  photos: { type: 'string' },
});
const count = Number(values.images), classes = Number(values.classes), workers = Number(values.workers);
const batchSize = Number(values.batch), epochs = Number(values.epochs);
const W = 500, H = 375;

// Photographs that ship with common software when --photos is not given: the board photos of the
// Rust embedded book in a rustup toolchain's documentation.
function knownPhotos(): string[] {
  const toolchains = join(homedir(), '.rustup', 'toolchains');
  if (!existsSync(toolchains)) return [];
  return readdirSync(toolchains).flatMap((t) => {
    const assets = join(toolchains, t, 'share', 'doc', 'rust', 'html', 'embedded-book', 'assets');
    return ['f3.jpg', 'verify.jpeg'].map((f) => join(assets, f)).filter((p) => existsSync(p));
  }).slice(0, 2);
}

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function seedPictures(): Promise<{ pictures: { pixels: Uint8Array; size: number }[]; source: string }> {
  const files = values.photos
    ? readdirSync(values.photos).filter((f) => /\.(jpe?g|png)$/i.test(f)).map((f) => join(values.photos!, f))
    : knownPhotos();
  if (files.length === 0) return { pictures: [], source: 'synthetic pictures (no photographs found)' };
  const staging = join(tmpdir(), `alexnet-bench-photos-${process.pid}`);
  mkdirSync(join(staging, 'p'), { recursive: true });
  files.forEach((f, i) => copyFileSync(f, join(staging, 'p', `${i}${f.slice(f.lastIndexOf('.'))}`)));
  const ds = await imageFolder(staging);
  // A 512x512 centre square of each photograph; 500x375 windows are cut from it.
  const pictures = await Promise.all(Array.from({ length: ds.size }, async (_, i) => ({ pixels: (await ds.image(i, { size: 512 })).pixels, size: 512 })));
  rmSync(staging, { recursive: true, force: true });
  return { pictures, source: `crops of ${files.join(', ')}` };
}

function synthetic(r: () => number): Uint8Array {
  const px = new Uint8Array(W * H * 3);
  const f = [r() * 0.05, r() * 0.05, r() * 0.05], p = [r() * 6, r() * 6, r() * 6];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < 3; c++)
        px[(y * W + x) * 3 + c] = 128 + 90 * Math.sin(x * f[c] + p[c]) * Math.cos(y * f[(c + 1) % 3]) + (r() - 0.5) * 30;
  return px;
}

// One 500x375 image: a random window of a photograph, maybe mirrored, with colour gains and noise.
function variant(pic: { pixels: Uint8Array; size: number }, r: () => number): Uint8Array {
  const px = new Uint8Array(W * H * 3);
  const y0 = Math.floor(r() * (pic.size - H)), x0 = Math.floor(r() * (pic.size - W)), flip = r() < 0.5;
  const gain = [0.8 + 0.4 * r(), 0.8 + 0.4 * r(), 0.8 + 0.4 * r()];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const sx = flip ? x0 + W - 1 - x : x0 + x;
      for (let c = 0; c < 3; c++)
        px[(y * W + x) * 3 + c] = pic.pixels[((y0 + y) * pic.size + sx) * 3 + c] * gain[c] + (r() - 0.5) * 8;
    }
  return px;
}

async function ensureFolder(dir: string): Promise<void> {
  if (existsSync(join(dir, `.complete-${count}-${classes}`))) return;
  rmSync(dir, { recursive: true, force: true });
  const { pictures, source } = await seedPictures();
  const r = random(2012);
  for (let i = 0; i < count; i++) {
    const cls = join(dir, `class${String(i % classes).padStart(3, '0')}`);
    if (i < classes) mkdirSync(cls, { recursive: true });
    const px = pictures.length ? variant(pictures[i % pictures.length], r) : synthetic(r);
    writeFileSync(join(cls, `img${String(i).padStart(6, '0')}.jpg`), encodeImage(px, W, H, 3, { quality: 85 + Math.floor(r() * 11) }));
  }
  writeFileSync(join(dir, '.source'), source);
  writeFileSync(join(dir, `.complete-${count}-${classes}`), '');
}

interface Rate { perSecond: number; cpuMsPerImage: number }

// Wall-clock rate, and the process's CPU time per image (robust when other work shares the
// machine: idle cores would give about cores * 1000 / cpuMsPerImage images/s).
async function timed(work: () => Promise<number>): Promise<Rate> {
  const t0 = performance.now(), c0 = process.cpuUsage();
  const images = await work();
  const cpu = process.cpuUsage(c0);
  return { perSecond: images / ((performance.now() - t0) / 1000), cpuMsPerImage: (cpu.user + cpu.system) / 1000 / images };
}

// `consume` (awaited) sees every batch, e.g. to crop raw batches on a device.
function epochRate(loader: DataLoader, epoch: number, consume?: (b: Batch) => Promise<void>): Promise<Rate> {
  return timed(async () => {
    let images = 0;
    for await (const b of loader.epoch(epoch)) {
      await consume?.(b);
      images += b.labels.length;
    }
    return images;
  });
}

// The crop of a raw batch on the CPU backend, waited for: the work a CPU device would queue before
// the network (reading the floats back would time a 77 MB download instead).
async function cropOnCpu(b: Batch): Promise<void> {
  const x = batchToDevice(b, 'cpu');
  await synchronize('cpu');
  x.dispose();
}

const show = (r: Rate) => `${r.perSecond.toFixed(0)} images/s, ${r.cpuMsPerImage.toFixed(2)} CPU-ms/image`;
const best = (rates: Rate[]) => rates.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));

async function main(): Promise<void> {
  const dir = values.dir!;
  const t0 = performance.now();
  await ensureFolder(dir);
  const source = readFileSync(join(dir, '.source'), 'utf8');
  const ds = await imageFolder(dir);
  const bytes = ds.paths!.reduce((s, p) => s + statSync(p).size, 0);
  console.log(`images: ${ds.size} JPEGs of ${W}x${H} in ${ds.numClasses} classes, mean ${(bytes / ds.size / 1024).toFixed(0)} KiB ` +
    `(${source}); ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`machine: ${cpus()[0]?.model ?? '?'} x ${availableParallelism()}, node ${process.version}, workers ${workers}`);

  const results: Record<string, Rate> = {};
  let stats: Awaited<ReturnType<typeof computeStats>> | undefined;
  results.statsPass = await timed(async () => { stats = await computeStats(ds, { size: 256, workers }); return ds.size; });
  console.log(`decode + resize to 256 (statistics pass):          ${show(results.statsPass)}`);

  const train: LoaderOptions = { batchSize, workers, size: 256, crop: 224, seed: 1, stats, prefetch: 3 };
  const loader = await createLoader(ds, train);
  const rates: Rate[] = [];
  for (let e = 0; e < epochs; e++) rates.push(await epochRate(loader, e));
  results.train = best(rates);
  const s = loader.stats();
  console.log(`train batches from JPEGs (224 crops, flip, PCA, mean): ${show(results.train)} ` +
    `(producer ${s.imagesPerSecond.toFixed(0)}/s busy, consumer waited ${s.waitMs.toFixed(0)} ms over ${s.batches} batches)`);
  await loader.close();
  const rawLoader = await createLoader(ds, { ...train, augmentOn: 'device' });
  const rawRates: Rate[] = [];
  for (let e = 0; e < epochs; e++) rawRates.push(await epochRate(rawLoader, e));
  results.trainRaw = best(rawRates);
  console.log(`  the same, raw (8-bit 256x256 + crop rows):        ${show(results.trainRaw)}`);
  await rawLoader.close();

  const cacheFile = join(dirname(dir), `${dir.split('/').pop()}.cache`);
  rmSync(cacheFile, { force: true });
  let cached: Awaited<ReturnType<typeof cacheDataset>> | undefined;
  results.cacheBuild = await timed(async () => { cached = await cacheDataset(ds, cacheFile, { size: 256, workers }); return ds.size; });
  console.log(`cache build (decode + resize + write):              ${show(results.cacheBuild)}`);
  const fromCache = await createLoader(cached!, train);
  const cacheRates: Rate[] = [];
  for (let e = 0; e < epochs; e++) cacheRates.push(await epochRate(fromCache, e));
  results.trainFromCache = best(cacheRates);
  console.log(`train batches from the cache:                       ${show(results.trainFromCache)}`);
  await fromCache.close();
  const rawCache = await createLoader(cached!, { ...train, augmentOn: 'device' });
  const rawCacheRates: Rate[] = [];
  for (let e = 0; e < epochs; e++) rawCacheRates.push(await epochRate(rawCache, e));
  results.trainRawFromCache = best(rawCacheRates);
  console.log(`  the same, raw (8-bit 256x256 + crop rows):        ${show(results.trainRawFromCache)}`);
  const croppedRates: Rate[] = [];
  for (let e = 0; e < epochs; e++) croppedRates.push(await epochRate(rawCache, e, cropOnCpu));
  results.trainRawFromCacheCpuCrop = best(croppedRates);
  console.log(`  raw, then cropImages on the CPU backend:          ${show(results.trainRawFromCacheCpuCrop)}`);
  await rawCache.close();

  const tenCrop = await createLoader(cached!, { batchSize: 50, workers, train: false, tenCrop: true, stats });
  results.tenCropFromCache = await epochRate(tenCrop, 0);
  console.log(`ten-crop evaluation from the cache (x10 crops):     ${show(results.tenCropFromCache)}`);
  await tenCrop.close();
  const rawTenCrop = await createLoader(cached!, { batchSize: 50, workers, train: false, tenCrop: true, stats, augmentOn: 'device' });
  results.tenCropRawFromCache = await epochRate(rawTenCrop, 0);
  console.log(`  the same, raw (one 8-bit image + 10 crop rows):   ${show(results.tenCropRawFromCache)}`);
  await rawTenCrop.close();
  rmSync(cacheFile, { force: true });
  const load = loadavg()[0];
  console.log(`load average during the run: ${load.toFixed(1)} on ${availableParallelism()} cores` +
    (load > availableParallelism() * 0.75 ? ' (the machine was shared: compare CPU-ms/image)' : ''));

  const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'data.json'), JSON.stringify({
    date: new Date().toISOString(), machine: `${cpus()[0]?.model} x ${availableParallelism()}`, node: process.version,
    images: ds.size, size: `${W}x${H}`, meanKiB: bytes / ds.size / 1024, source, workers, batchSize,
    loadAverage: loadavg()[0], results,
  }, null, 2));
}

await main();
