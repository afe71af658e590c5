// The paper's two-GPU network (§3.2, Figure 2): each column holds half of every layer's kernels on
// its own device; the columns read each other's outputs only at conv3 and at the fully connected
// layers. Exchanges are device-to-device copies queued on the streams, so the columns compute
// concurrently. With the same weights it is the same function as the one-device grouped AlexNet;
// its parameters are named `conv1.weight#0` / `conv1.weight#1` (column halves) and `fc8.*` (on
// the first device); its state (exportState, stateDict) uses the one-device names, so a checkpoint
// loads into either layout.
import { checkDevice } from '../device.js';
import { Conv2d } from '../nn/conv2d.js';
import { Dropout } from '../nn/dropout.js';
import { Flatten } from '../nn/flatten.js';
import { Linear } from '../nn/linear.js';
import { LocalResponseNorm } from '../nn/local_response_norm.js';
import { MaxPool2d } from '../nn/max_pool2d.js';
import { Module, type StateDict } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { ReLU } from '../nn/relu.js';
import { deriveSeed } from '../nn/seed.js';
import { Sequential } from '../nn/sequential.js';
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { describe, shapeString } from '../validate.js';
import { alexnet, type AlexNetConfig, type AlexNetOptions } from './alexnet.js';

export interface TwoColumnOptions extends Omit<AlexNetOptions, 'device'> {
  /**
   * The devices of column 0 and column 1. The same device twice puts both columns on it, each on
   * a stream of its own (`['cuda:0', 'cuda:0']` runs column 1 on "cuda:0/1"), as the paper's
   * split would run on one GPU.
   */
  devices: [string, string];
}

/** `name` with the next stream of its device: "cuda:0" -> "cuda:0/1", "cuda:0/1" -> "cuda:0/2". */
function nextLane(name: string): string {
  const [base, lane = '0'] = name.split('/');
  return `${base}/${Number(lane) + 1}`;
}

const COLUMN_SUFFIX = /#([01])$/;

/** Rows [start, start + count) of a tensor, along its first dimension. */
function rows(t: Tensor, start: number, count: number): Tensor {
  const [o, ...rest] = t.shape;
  const flat = t.reshape([1, o!, rest.reduce((a, b) => a * b, 1)]);
  const part = ops.sliceChannels(flat, start, count);
  flat.dispose();
  const out = part.reshape([count, ...rest]);
  part.dispose();
  return out;
}

/** Concatenation along the first dimension, on the first tensor's device. */
function stackRows(parts: Tensor[]): Tensor {
  const device = parts[0]!.device;
  const views = parts.map((p) => {
    const [o, ...rest] = p.shape;
    const moved = p.device === device ? p : p.to(device);
    const v = moved.reshape([1, o!, rest.reduce((a, b) => a * b, 1)]);
    if (moved !== p) moved.dispose();
    return v;
  });
  const joined = ops.concatChannels(views);
  views.forEach((v) => v.dispose());
  const [, ...rest] = parts[0]!.shape;
  const out = joined.reshape([parts.reduce((s, p) => s + p.shape[0]!, 0), ...rest]);
  joined.dispose();
  return out;
}

/** The one-device layer names, in order: dropout seeds derive from a layer's index (Module.reseed). */
function oneDeviceLayerNames(c: AlexNetConfig): string[] {
  const lrn = (n: string) => (c.lrn ? [n] : []);
  const drop = (n: string) => (c.dropout > 0 ? [n] : []);
  return ['conv1', 'relu1', ...lrn('lrn1'), 'pool1', 'conv2', 'relu2', ...lrn('lrn2'), 'pool2', 'conv3', 'relu3',
    'conv4', 'relu4', 'conv5', 'relu5', 'pool5', 'flatten', 'fc6', 'relu6', ...drop('drop6'), 'fc7', 'relu7',
    ...drop('drop7'), 'fc8'];
}

class Column {
  readonly front: Sequential; // conv1 … pool2 on its own half
  readonly middle: Sequential; // conv3 (both halves in) … pool5, flatten
  readonly fc6: Linear;
  readonly relu6 = new ReLU();
  readonly drop6: Dropout | null;
  readonly fc7: Linear;
  readonly relu7 = new ReLU();

  constructor(c: AlexNetConfig, widths: number[], features: number, fc: number, readonly device: string) {
    const [c1, c2, c3, c4, c5] = widths as [number, number, number, number, number];
    const dev = { device };
    const pool = () => (c.overlappingPool ? new MaxPool2d(3, 2) : new MaxPool2d(2, 2));
    const lrn = (n: string): [string, Module][] => (c.lrn ? [[n, new LocalResponseNorm({ size: 5, alpha: 1e-4, beta: 0.75, k: 2 })]] : []);
    this.front = new Sequential([
      ['conv1', new Conv2d(c.inChannels, c1 / 2, 11, { stride: c.conv1Stride, padding: 2, ...dev })],
      ['relu1', new ReLU()], ...lrn('lrn1'), ['pool1', pool()],
      ['conv2', new Conv2d(c1 / 2, c2 / 2, 5, { padding: 2, ...dev })],
      ['relu2', new ReLU()], ...lrn('lrn2'), ['pool2', pool()],
    ]);
    this.front.inputGrad = false; // nobody needs dL/d(image)
    this.middle = new Sequential([
      ['conv3', new Conv2d(c2, c3 / 2, 3, { padding: 1, ...dev })], ['relu3', new ReLU()],
      ['conv4', new Conv2d(c3 / 2, c4 / 2, 3, { padding: 1, ...dev })], ['relu4', new ReLU()],
      ['conv5', new Conv2d(c4 / 2, c5 / 2, 3, { padding: 1, ...dev })], ['relu5', new ReLU()],
      ['pool5', pool()], ['flatten', new Flatten()],
    ]);
    this.fc6 = new Linear(features, fc / 2, dev);
    this.drop6 = c.dropout > 0 ? new Dropout(c.dropout) : null;
    this.fc7 = new Linear(fc, fc / 2, dev);
  }

  modules(): [string, Module][] {
    return [['front', this.front], ['middle', this.middle], ['fc6', this.fc6], ['relu6', this.relu6],
      ...(this.drop6 ? [['drop6', this.drop6] as [string, Module]] : []), ['fc7', this.fc7], ['relu7', this.relu7]];
  }
}

/** Both columns' halves of a tensor, as [N, C0 + C1, ...] on `device` (own half first if it is there). */
function gather(halves: [Tensor, Tensor], device: string): Tensor {
  const moved = halves.map((h) => (h.device === device ? h : h.to(device)));
  const full = ops.concatChannels(moved);
  moved.forEach((m, i) => { if (m !== halves[i]) m.dispose(); });
  return full;
}

/** The gradient of column `owner`'s half: the sum over both columns of their slices of it. */
function reduceToOwner(partials: [Tensor, Tensor], owner: 0 | 1, halfWidth: number, device: string): Tensor {
  const [mine, theirs] = owner === 0 ? [partials[0], partials[1]] : [partials[1], partials[0]];
  const own = ops.sliceChannels(mine, owner * halfWidth, halfWidth);
  const otherSlice = ops.sliceChannels(theirs, owner * halfWidth, halfWidth);
  const other = otherSlice.device === device ? otherSlice : otherSlice.to(device);
  if (other !== otherSlice) otherSlice.dispose();
  ops.axpy(1, other, own);
  other.dispose();
  return own;
}

export class TwoColumnAlexNet extends Module {
  readonly config: AlexNetConfig;
  readonly devices: [string, string];
  private readonly columns: [Column, Column];
  private readonly drop7: Dropout | null;
  private readonly fc8: Linear;
  private readonly widths: number[];
  private readonly fcWidth: number;
  private readonly dropIndex: { drop6: number; drop7: number };
  private outputShapeCache: number[];

  constructor(options: TwoColumnOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
    const { devices, ...rest } = options;
    if (!Array.isArray(devices) || devices.length !== 2 || devices.some((d) => typeof d !== 'string'))
      throw new TypeError(`devices must be two device names like ['cuda:0', 'cuda:1'], got ${describe(devices)}`);
    const first = checkDevice(devices[0]);
    const second = checkDevice(devices[1]);
    this.devices = [first, second === first ? checkDevice(nextLane(first)) : second];
    // The one-device network with the same options gives the layer widths, shapes and initial
    // weights; the columns take its halves, so a seed means the same network in both layouts.
    const reference = alexnet({ ...rest, device: this.devices[0] });
    this.config = { ...reference.config };
    const convs = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'].map((n) => (reference.get(n) as Conv2d).outChannels);
    this.widths = convs;
    this.fcWidth = (reference.get('fc6') as Linear).outFeatures;
    if (this.fcWidth % 2 !== 0) throw new RangeError(`the fully connected width (${this.fcWidth}) must be even to split into two columns`);
    const features = (reference.get('fc6') as Linear).inFeatures;
    this.outputShapeCache = reference.layerShapes.at(-1)![1];
    this.columns = [0, 1].map((k) => new Column(this.config, convs, features, this.fcWidth, this.devices[k]!)) as [Column, Column];
    this.drop7 = this.config.dropout > 0 ? new Dropout(this.config.dropout) : null;
    this.fc8 = new Linear(this.fcWidth, this.config.numClasses, { device: this.devices[0] });
    const names = oneDeviceLayerNames(this.config);
    this.dropIndex = { drop6: names.indexOf('drop6'), drop7: names.indexOf('drop7') };
    this.loadStateDict(reference.stateDict());
    reference.dispose();
    this.reseed(this.config.seed);
  }

  override children(): [string, Module][] {
    return [
      ...this.columns.flatMap((col, k) => col.modules().map(([n, m]) => [`column${k}.${n}`, m] as [string, Module])),
      ...(this.drop7 ? [['drop7', this.drop7] as [string, Module]] : []),
      ['fc8', this.fc8],
    ];
  }

  /** Parameters named like the one-device model's with `#0`/`#1` for the column halves. */
  override namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    this.columns.forEach((col, k) => {
      for (const [name, p] of col.front.namedParameters()) out.push([`${prefix}${name}#${k}`, p]);
      for (const [name, p] of col.middle.namedParameters()) out.push([`${prefix}${name}#${k}`, p]);
      for (const [name, p] of col.fc6.namedParameters('fc6.')) out.push([`${prefix}${name}#${k}`, p]);
      for (const [name, p] of col.fc7.namedParameters('fc7.')) out.push([`${prefix}${name}#${k}`, p]);
    });
    out.push(...this.fc8.namedParameters(`${prefix}fc8.`));
    return out;
  }

  override outputShape(shape: readonly number[]): number[] {
    const want = [this.config.inChannels, this.config.inputSize, this.config.inputSize];
    if (shape.length !== 4 || shape.slice(1).some((d, i) => d !== want[i]))
      throw new RangeError(`TwoColumnAlexNet expects [N, ${want.join(', ')}], got ${shapeString(shape)}`);
    return [shape[0]!, this.outputShapeCache[1]!];
  }

  /** Dropout seeds as the one-device model would set them from `seed` (same masks, same function). */
  override reseed(seed: number): void {
    for (const col of this.columns) col.drop6?.reseed(deriveSeed(seed, this.dropIndex.drop6));
    this.drop7?.reseed(deriveSeed(seed, this.dropIndex.drop7));
  }

  /** [C, H, W] of the input. */
  get inputShape(): [number, number, number] {
    return [this.config.inChannels, this.config.inputSize, this.config.inputSize];
  }

  forward(x: Tensor): Tensor {
    const [d0, d1] = this.devices;
    const inputs = [x.device === d0 ? x : x.to(d0), x.device === d1 ? x : x.to(d1)] as [Tensor, Tensor];
    const fronts = this.columns.map((col, k) => col.front.forward(inputs[k]!)) as [Tensor, Tensor];
    inputs.forEach((t) => { if (t !== x) t.dispose(); });
    // conv3 sees both columns.
    const flats = this.columns.map((col, k) => {
      const both = gather(fronts, this.devices[k]!);
      const out = col.middle.forward(both);
      both.dispose();
      return out;
    }) as [Tensor, Tensor];
    fronts.forEach((t) => t.dispose());
    // fc6 and fc7 see both columns' full inputs; dropout on the full tensor with the same seed on
    // both devices draws the same mask as the one-device model.
    const h6 = this.columns.map((col, k) => {
      const both = gather(flats, this.devices[k]!);
      const z = col.fc6.forward(both);
      both.dispose();
      const a = col.relu6.forward(z);
      z.dispose();
      return a;
    }) as [Tensor, Tensor];
    flats.forEach((t) => t.dispose());
    const h7 = this.columns.map((col, k) => {
      const both = gather(h6, this.devices[k]!);
      const dropped = col.drop6 ? col.drop6.forward(both) : both;
      if (dropped !== both) both.dispose();
      const z = col.fc7.forward(dropped);
      dropped.dispose();
      const a = col.relu7.forward(z);
      z.dispose();
      return a;
    }) as [Tensor, Tensor];
    h6.forEach((t) => t.dispose());
    const both = gather(h7, d0);
    h7.forEach((t) => t.dispose());
    const dropped = this.drop7 ? this.drop7.forward(both) : both;
    if (dropped !== both) both.dispose();
    const logits = this.fc8.forward(dropped);
    dropped.dispose();
    return logits;
  }

  backward(dy: Tensor): Tensor | null {
    const half = this.fcWidth / 2;
    const g8 = this.fc8.backward(dy)!;
    const d7full = this.drop7 ? this.drop7.backward(g8)! : g8;
    if (d7full !== g8) g8.dispose();
    // Each column's fc7 output half gets its slice of the gradient.
    const d7 = ([0, 1] as const).map((k) => {
      const slice = ops.sliceChannels(d7full, k * half, half);
      const here = slice.device === this.devices[k] ? slice : slice.to(this.devices[k]);
      if (here !== slice) slice.dispose();
      return here;
    });
    d7full.dispose();
    const d6partial = this.columns.map((col, k) => {
      const a = col.relu7.backward(d7[k]!)!;
      d7[k]!.dispose();
      const g = col.fc7.backward(a)!;
      a.dispose();
      const d = col.drop6 ? col.drop6.backward(g)! : g;
      if (d !== g) g.dispose();
      return d;
    }) as [Tensor, Tensor];
    const dflat = this.columns.map((col, k) => {
      const own = reduceToOwner(d6partial, k as 0 | 1, half, this.devices[k]!);
      const a = col.relu6.backward(own)!;
      own.dispose();
      const g = col.fc6.backward(a)!;
      a.dispose();
      return g;
    }) as [Tensor, Tensor];
    d6partial.forEach((t) => t.dispose());
    const flatHalf = dflat[0].shape[1]! / 2;
    const dpool2 = this.columns.map((col, k) => {
      const own = reduceToOwner(dflat, k as 0 | 1, flatHalf, this.devices[k]!);
      const g = col.middle.backward(own)!; // dL/d(both columns' pool2) as seen by this column
      own.dispose();
      return g;
    }) as [Tensor, Tensor];
    dflat.forEach((t) => t.dispose());
    const c2half = this.widths[1]! / 2;
    this.columns.forEach((col, k) => {
      const own = reduceToOwner(dpool2, k as 0 | 1, c2half, this.devices[k]!);
      col.front.backward(own);
      own.dispose();
    });
    dpool2.forEach((t) => t.dispose());
    return null; // the image's gradient is never needed
  }

  /** Column halves (`x#0`, `x#1`) as the one-device tensor `x`; see groupedLayout. */
  override exportState(tensors: StateDict, _prefix = ''): StateDict {
    return groupedLayout(tensors);
  }

  /** One-device tensors (`<prefix>x`) split into this model's column halves (`<prefix>x#k`); see columnLayout. */
  override importState(saved: StateDict, prefix = ''): StateDict {
    return columnLayout(saved, this.namedParameters().map(([n, p]) => [prefix + n, p.shape]));
  }
}

/**
 * Merges column halves (`x#0`, `x#1`, including `momentum.x#k`) into the one-device name `x` by
 * concatenating along the first dimension; other entries pass through. The merged tensors are new
 * (on column 0's tensor's device); the pass-through ones are the same objects.
 */
export function groupedLayout(record: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(record)) {
    const m = COLUMN_SUFFIX.exec(name);
    if (!m) {
      out[name] = t;
      continue;
    }
    if (m[1] === '1') continue;
    const base = name.slice(0, -2);
    const other = record[`${base}#1`];
    if (!other) throw new RangeError(`${name} has no second column ${base}#1`);
    out[base] = stackRows([t, other]);
  }
  return out;
}

/**
 * Splits one-device entries into the column halves that `params` (name, shape) ask for: `x#k` takes
 * rows [k·n, (k+1)·n) of `x`. Entries already named like a parameter are used as they are.
 */
export function columnLayout(record: Record<string, Tensor>, params: [string, number[]][]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, shape] of params) {
    if (record[name]) {
      out[name] = record[name]!;
      continue;
    }
    const m = COLUMN_SUFFIX.exec(name);
    const full = m ? record[name.slice(0, -2)] : undefined;
    if (!m || !full) continue; // reported as missing by loadStateDict
    const k = Number(m[1]);
    if (full.shape[0] !== 2 * shape[0]!)
      throw new RangeError(`${name.slice(0, -2)} has shape ${shapeString(full.shape)}; a column needs half of its ${full.shape[0]} rows to be ${shape[0]}`);
    out[name] = rows(full, k * shape[0]!, shape[0]!);
  }
  for (const [name, t] of Object.entries(record)) if (!(name in out) && !params.some(([p]) => p.startsWith(`${name}#`))) out[name] = t;
  return out;
}

/** The paper's two-column network on `options.devices`, initialised like `alexnet(options)`. */
export function twoColumnAlexNet(options: TwoColumnOptions): TwoColumnAlexNet {
  return new TwoColumnAlexNet(options);
}
