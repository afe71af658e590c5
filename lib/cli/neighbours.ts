// `alexnet neighbours`: the paper's Figure 4 (right). For a few test images, the training images
// whose activations at the last hidden layer (fc7 after its ReLU) are nearest in Euclidean
// distance, drawn as one grid: the query in the first column, its neighbours beside it, nearest
// first. The paper's point: images close in that space look alike to a person even where their
// pixels are far apart.
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { checkDevice, defaultDevice, synchronize } from '../device.js';
import { arrayDataset, type Dataset } from '../data/index.js';
import { batchToDevice } from '../data/device_input.js';
import { checkpointPath, readWeightsFile } from '../io/checkpoint.js';
import type { AlexNet, AlexNetOptions } from '../models/alexnet.js';
import type { Tensor } from '../tensor.js';
import { loadModel } from '../train/load_model.js';
import { choiceFlag, deviceFlag, intFlag, parse, usage } from './args.js';
import { Canvas, type Colour } from './canvas.js';
import { DATASETS, defaultDataDir, evalLoader, openDataset, statsFromTensors, type Preprocessing } from './data.js';
import { textWidth } from './font.js';

export const neighboursHelp = `Usage: alexnet neighbours CHECKPOINT [options]

For the first few test images, the training images nearest to them in the space of the network's
last hidden layer (fc7, after its ReLU: 4096 values in the paper's network), by Euclidean
distance, as one PNG grid: each row a test image (first column) and its nearest training images,
nearest first, framed green where their class is the test image's and red where it is not (the
paper's Figure 4, right). CHECKPOINT is a checkpoint written by alexnet train, or its run directory.

  --dataset NAME     ${DATASETS.join(', ')} (default: the one the checkpoint was trained on)
  --data-dir DIR     where the data set is
  --layer NAME       fc7 (default) or fc6: whose activations are compared
  --queries N        test images (default 8): the first test image of each class in turn, then
                     the next of each, so that the rows show different classes
  --neighbours K     training images per test image (default 7)
  --limit N          search the first N training images (default 10000)
  --batch-size N     default 128
  --device DEV       default: the best available
  --out FILE         the PNG (default neighbours.png)
  --json             print the neighbours (indices, labels, distances) as JSON
  -h, --help`;

/** The activations after `layer`'s ReLU: the network run up to and including it. */
function hiddenActivations(model: AlexNet, x: Tensor, layer: 'fc6' | 'fc7'): Tensor {
  const stop = layer === 'fc6' ? 'relu6' : 'relu7';
  let h = x;
  for (const [name, module] of model.children()) {
    const y = module.forward(h);
    if (h !== x) h.dispose();
    h = y;
    if (name === stop) return h;
  }
  throw new RangeError(`the network has no layer ${stop}`);
}

/** Every image's activations, [images, width], in the data set's order (centre crops, as evaluated). */
async function features(model: AlexNet, ds: Dataset, data: Preprocessing, stats: ReturnType<typeof statsFromTensors>,
  batchSize: number, workers: number, layer: 'fc6' | 'fc7'): Promise<{ values: Float32Array; width: number }> {
  const loader = await evalLoader(ds, data, stats, { batchSize, seed: 0, workers });
  const device = model.device ?? 'cpu';
  const parts: Float32Array[] = [];
  let width = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      const x = batchToDevice(batch, device);
      const h = hiddenActivations(model, x, layer);
      x.dispose();
      width = h.shape[1]!;
      parts.push((await h.toArray()) as Float32Array);
      h.dispose();
    }
  } finally {
    await loader.close();
  }
  const values = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    values.set(p, offset);
    offset += p.length;
  }
  return { values, width };
}

export interface Neighbour { index: number; label: number; distance: number }

/** The `k` rows of `base` nearest to row `q` of `queries` in Euclidean distance, nearest first. */
export function nearest(queries: Float32Array, q: number, base: Float32Array, width: number, k: number): Omit<Neighbour, 'label'>[] {
  const rows = base.length / width;
  const best: { index: number; d2: number }[] = [];
  for (let r = 0; r < rows; r++) {
    let d2 = 0;
    for (let j = 0; j < width; j++) {
      const d = queries[q * width + j]! - base[r * width + j]!;
      d2 += d * d;
    }
    if (best.length < k || d2 < best.at(-1)!.d2) {
      best.push({ index: r, d2 });
      best.sort((a, b) => a.d2 - b.d2 || a.index - b.index);
      if (best.length > k) best.pop();
    }
  }
  return best.map(({ index, d2 }) => ({ index, distance: Math.sqrt(d2) }));
}

const CELL = 84;
const GAP = 6;
const LABEL = 16;
const GREEN: Colour = [40, 160, 60];
const RED: Colour = [210, 50, 40];
const INK: Colour = [40, 40, 40];

/** Draws image `index` of `ds` scaled (nearest pixel) into a CELL × CELL square at (x, y). */
async function drawImage(canvas: Canvas, ds: Dataset, index: number, x: number, y: number): Promise<void> {
  const img = await ds.image(index, { size: 0 });
  const { width: w, height: h, channels: c, pixels } = img;
  for (let j = 0; j < CELL; j++)
    for (let i = 0; i < CELL; i++) {
      const p = (Math.floor((j * h) / CELL) * w + Math.floor((i * w) / CELL)) * c;
      const v = pixels[p]!;
      canvas.set(x + i, y + j, c >= 3 ? [v, pixels[p + 1]!, pixels[p + 2]!] : [v, v, v]);
    }
}

function frame(canvas: Canvas, x: number, y: number, colour: Colour): void {
  canvas.fillRect(x - 3, y - 3, CELL + 6, 3, colour);
  canvas.fillRect(x - 3, y + CELL, CELL + 6, 3, colour);
  canvas.fillRect(x - 3, y, 3, CELL, colour);
  canvas.fillRect(x + CELL, y, 3, CELL, colour);
}

export async function neighboursCommand(argv: string[]): Promise<number> {
  const c = 'neighbours';
  const { values: v, positionals } = parse(c, argv, {
    dataset: { type: 'string' }, 'data-dir': { type: 'string' }, layer: { type: 'string' }, queries: { type: 'string' },
    neighbours: { type: 'string' }, limit: { type: 'string' }, 'batch-size': { type: 'string' }, device: { type: 'string' },
    out: { type: 'string', short: 'o' }, json: { type: 'boolean' },
  }, true);
  if (v.help) {
    console.log(neighboursHelp);
    return 0;
  }
  if (positionals.length !== 1) usage(c, 'give one checkpoint (a .safetensors file or a run directory)');
  const layer = choiceFlag(c, 'layer', v.layer, ['fc7', 'fc6'] as const) ?? 'fc7';
  const queries = intFlag(c, 'queries', v.queries, 1, 50) ?? 8;
  const k = intFlag(c, 'neighbours', v.neighbours, 1, 20) ?? 7;
  const limit = intFlag(c, 'limit', v.limit, 1) ?? 10000;
  const batchSize = intFlag(c, 'batch-size', v['batch-size'], 1, 4096) ?? 128;
  const device = deviceFlag(c, 'device', v.device) ?? defaultDevice();
  checkDevice(device);
  const out = typeof v.out === 'string' ? v.out : 'neighbours.png';
  const file = checkpointPath(positionals[0]!, 'best');
  const ckpt = await readWeightsFile(file);
  const data = (ckpt.state?.training as { data?: Preprocessing } | undefined)?.data;
  if (!ckpt.state || !data)
    usage(c, `${file} does not record its model and how its images were prepared (it was not written by alexnet train)`);
  const dataset = choiceFlag(c, 'dataset', v.dataset, DATASETS) ?? data.dataset;
  const dataDir = typeof v['data-dir'] === 'string' ? v['data-dir'] : defaultDataDir(dataset);
  const workers = Math.max(1, Math.floor(availableParallelism() / 4));
  const model = await loadModel(file, device, { model: ckpt.state.model as AlexNetOptions });
  try {
    const train = await openDataset(dataset, 'train', dataDir, data.channels, limit);
    const test = await queryImages(await openDataset(dataset, 'test', dataDir, data.channels), queries);
    if (train.numClasses !== model.config.numClasses)
      usage(c, `${dataset} has ${train.numClasses} classes but the checkpoint's model has ${model.config.numClasses}`);
    const stats = statsFromTensors(ckpt.extra);
    const prep = { ...data, dataset };
    const base = await features(model, train, prep, stats, batchSize, workers, layer);
    const query = await features(model, test, prep, stats, batchSize, workers, layer);
    const rows = Array.from({ length: test.size }, (_, q) => ({
      index: q, testIndex: test.indices[q]!, label: test.labels[q]!,
      neighbours: nearest(query.values, q, base.values, base.width, Math.min(k, train.size)).map((n) => ({ ...n, label: train.labels[n.index]! })),
    }));
    writeFileSync(out, await renderGrid(rows, test, train, layer, base.width));
    await synchronize(device);
    const agree = rows.reduce((n, r) => n + r.neighbours.filter((x) => x.label === r.label).length, 0);
    const total = rows.reduce((n, r) => n + r.neighbours.length, 0);
    if (v.json) console.log(JSON.stringify({ checkpoint: file, dataset, layer, width: base.width, searched: train.size, queries: rows, sameClass: agree / total }));
    else console.log(`${out}: ${rows.length} test images, their ${k} nearest of ${train.size} training images in ${layer} space (${base.width} values); ` +
      `${agree} of ${total} neighbours share the test image's class`);
    return 0;
  } finally {
    await synchronize(device).catch(() => undefined);
    model.dispose();
  }
}

/**
 * `count` test images that show different classes: the first image of each class in turn, then the
 * second of each, and so on. `indices` are their positions in the test split.
 */
async function queryImages(ds: Dataset, count: number): Promise<Dataset & { indices: number[] }> {
  if (!ds.imageSize) throw new RangeError(`${ds.name} has images of different sizes; neighbours needs equal sizes`);
  const byClass = new Map<number, number[]>();
  ds.labels.forEach((label, i) => {
    if (!byClass.has(label)) byClass.set(label, []);
    byClass.get(label)!.push(i);
  });
  const lists = [...byClass.entries()].sort((a, b) => a[0] - b[0]).map(([, list]) => list);
  const indices: number[] = [];
  for (let round = 0; indices.length < Math.min(count, ds.size); round++)
    for (const list of lists) if (round < list.length && indices.length < count) indices.push(list[round]!);
  const [h, w] = ds.imageSize;
  const c = ds.channels;
  const pixels = new Uint8Array(indices.length * h * w * c);
  for (const [k, i] of indices.entries()) pixels.set((await ds.image(i, { size: 0 })).pixels, k * h * w * c);
  const subset = arrayDataset(pixels, Int32Array.from(indices, (i) => ds.labels[i]!), [indices.length, h, w, c],
    { classNames: [...ds.classNames], name: `${ds.name} (${indices.length} images)` });
  return Object.assign(subset, { indices });
}

async function renderGrid(rows: { index: number; label: number; neighbours: Neighbour[] }[], test: Dataset, train: Dataset,
  layer: string, width: number): Promise<Buffer> {
  const k = Math.max(...rows.map((r) => r.neighbours.length));
  const top = 40;
  const left = 12;
  const rowHeight = CELL + LABEL + 2 * GAP;
  const columnWidth = CELL + 2 * GAP;
  const canvasWidth = left * 2 + columnWidth * (k + 1) + 3 * GAP;
  const canvas = new Canvas(canvasWidth, top + rowHeight * rows.length + 10);
  const title = `nearest training images in ${layer} space (${width} values, Euclidean)`;
  canvas.text(Math.max(4, (canvasWidth - textWidth(title, 2)) / 2), 8, title, INK, 2);
  const short = (name: string) => (textWidth(name, 1) > CELL ? name.slice(0, Math.floor(CELL / 6)) : name);
  for (const [r, row] of rows.entries()) {
    const y = top + r * rowHeight + GAP;
    await drawImage(canvas, test, row.index, left + GAP, y);
    frame(canvas, left + GAP, y, INK);
    const name = short(test.classNames[row.label] ?? String(row.label));
    canvas.text(left + GAP + (CELL - textWidth(name, 1)) / 2, y + CELL + 6, name, INK, 1);
    for (const [j, n] of row.neighbours.entries()) {
      const x = left + columnWidth * (j + 1) + 3 * GAP + GAP;
      await drawImage(canvas, train, n.index, x, y);
      frame(canvas, x, y, n.label === row.label ? GREEN : RED);
      const label = short(train.classNames[n.label] ?? String(n.label));
      canvas.text(x + (CELL - textWidth(label, 1)) / 2, y + CELL + 6, label, n.label === row.label ? INK : RED, 1);
    }
  }
  return canvas.toPng();
}
