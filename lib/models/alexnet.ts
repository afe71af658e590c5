// The network of Krizhevsky, Sutskever & Hinton (2012), on one device: the paper's two columns are
// channel groups (groups = 2 in conv2, conv4, conv5), which is the same function. `alexnet({ columns:
// 2, devices })` builds the split across two devices instead (./two_column.ts).
import { checkDevice } from '../device.js';
import { Conv2d } from '../nn/conv2d.js';
import { Dropout } from '../nn/dropout.js';
import { Flatten } from '../nn/flatten.js';
import { Linear } from '../nn/linear.js';
import { LocalResponseNorm } from '../nn/local_response_norm.js';
import { MaxPool2d } from '../nn/max_pool2d.js';
import type { Module } from '../nn/module.js';
import { ReLU } from '../nn/relu.js';
import { Sequential } from '../nn/sequential.js';
import { describe, finite, integer, positiveInteger, seed as seedArg } from '../validate.js';
import { initialize, type InitScheme } from './init.js';
// A cycle (two_column.ts builds on this file), used only when the functions run.
import { TwoColumnAlexNet, type TwoColumnOptions } from './two_column.js';

export interface AlexNetOptions {
  /** Output classes (1000 for ImageNet). */
  numClasses?: number;
  /** Input channels (3; 1 for grey images). */
  inChannels?: number;
  /** Input height = width (224). Sizes that do not fit the layer stack are rejected. */
  inputSize?: number;
  /** Multiplies every layer's width (96-256-384-384-256 convolutions, 4096-4096 FC); 1 is the paper. */
  width?: number;
  /** conv1's stride (4 in the paper); smaller keeps more resolution for small inputs. */
  conv1Stride?: number;
  /** Local response normalisation after ReLU 1 and 2 (paper §3.3). */
  lrn?: boolean;
  /** Pooling window 3 stride 2 (true, §3.4) or 2 stride 2 (false). */
  overlappingPool?: boolean;
  /** Dropout on fc6 and fc7: true = p 0.5 (§4.2), false = none, or a probability. */
  dropout?: boolean | number;
  /** 'paper': N(0, 0.01²) with biases 1 in conv2/4/5 and FC; 'he': N(0, 2/fan_in), biases 0. */
  init?: InitScheme;
  seed?: number;
  device?: string;
}

/** The options with every default filled in: enough to rebuild the same network (checkpoints store it). */
export type AlexNetConfig = Required<Omit<AlexNetOptions, 'dropout'>> & { dropout: number };

const KEYS = new Set(['numClasses', 'inChannels', 'inputSize', 'width', 'conv1Stride', 'lrn', 'overlappingPool', 'dropout', 'init', 'seed', 'device']);

export function resolveAlexNetOptions(options: AlexNetOptions = {}): AlexNetConfig {
  if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options))
    if (!KEYS.has(key)) throw new TypeError(`unknown option '${key}' (known: ${[...KEYS].join(', ')})`);
  const bool = (v: unknown, name: string, dflt: boolean): boolean => {
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(v)}`);
    return v;
  };
  const init = options.init ?? 'paper';
  if (init !== 'paper' && init !== 'he') throw new TypeError(`init must be 'paper' or 'he', got ${describe(init)}`);
  const d = options.dropout ?? true;
  const dropout = d === true ? 0.5 : d === false ? 0 : finite(d, 'dropout', 0, 0.99);
  const device = options.device ?? 'cpu';
  if (typeof device !== 'string') throw new TypeError(`device must be a string, got ${describe(device)}`);
  return {
    numClasses: integer(options.numClasses ?? 1000, 'numClasses', 2),
    inChannels: positiveInteger(options.inChannels ?? 3, 'inChannels'),
    inputSize: positiveInteger(options.inputSize ?? 224, 'inputSize'),
    width: finite(options.width ?? 1, 'width', 1 / 96, 16),
    conv1Stride: positiveInteger(options.conv1Stride ?? 4, 'conv1Stride'),
    lrn: bool(options.lrn, 'lrn', true),
    overlappingPool: bool(options.overlappingPool, 'overlappingPool', true),
    dropout,
    init,
    seed: seedArg(options.seed ?? 0),
    device,
  };
}

/** Channels scaled by `width`, kept even so that the two columns (groups = 2) split evenly. */
function channels(base: number, width: number): number {
  return Math.max(2, 2 * Math.round((base * width) / 2));
}

function layerList(c: AlexNetConfig): [string, Module][] {
  const dev = { device: c.device };
  const [c1, c2, c3, c4, c5] = [96, 256, 384, 384, 256].map((n) => channels(n, c.width)) as [number, number, number, number, number];
  const fc = Math.max(1, Math.round(4096 * c.width));
  const pool = (): MaxPool2d => (c.overlappingPool ? new MaxPool2d(3, 2) : new MaxPool2d(2, 2));
  const lrn = (name: string): [string, Module][] => (c.lrn ? [[name, new LocalResponseNorm({ size: 5, alpha: 1e-4, beta: 0.75, k: 2, groups: 2 })]] : []);
  const drop = (name: string): [string, Module][] => (c.dropout > 0 ? [[name, new Dropout(c.dropout)]] : []);
  return [
    ['conv1', new Conv2d(c.inChannels, c1, 11, { stride: c.conv1Stride, padding: 2, ...dev })],
    ['relu1', new ReLU()], ...lrn('lrn1'), ['pool1', pool()],
    ['conv2', new Conv2d(c1, c2, 5, { padding: 2, groups: 2, ...dev })],
    ['relu2', new ReLU()], ...lrn('lrn2'), ['pool2', pool()],
    ['conv3', new Conv2d(c2, c3, 3, { padding: 1, ...dev })], ['relu3', new ReLU()],
    ['conv4', new Conv2d(c3, c4, 3, { padding: 1, groups: 2, ...dev })], ['relu4', new ReLU()],
    ['conv5', new Conv2d(c4, c5, 3, { padding: 1, groups: 2, ...dev })], ['relu5', new ReLU()], ['pool5', pool()],
    ['flatten', new Flatten()],
    // fc6's input size depends on the input size; a placeholder is replaced once shapes are known.
    ['fc6', new Linear(1, fc, dev)], ['relu6', new ReLU()], ...drop('drop6'),
    ['fc7', new Linear(fc, fc, dev)], ['relu7', new ReLU()], ...drop('drop7'),
    ['fc8', new Linear(fc, c.numClasses, dev)],
  ];
}

/**
 * The name and shape of every parameter of the network `options` describe, computed without
 * building it (no tensor is allocated): a checkpoint's tensors can be checked against the model
 * its metadata describes before that model, possibly of many gigabytes, is built. A RangeError
 * says when the input size does not fit the layers. Tests check it against the built network.
 */
export function alexnetParameterShapes(options: AlexNetOptions = {}): [string, number[]][] {
  const c = resolveAlexNetOptions(options);
  const [c1, c2, c3, c4, c5] = [96, 256, 384, 384, 256].map((n) => channels(n, c.width)) as [number, number, number, number, number];
  const fc = Math.max(1, Math.round(4096 * c.width));
  const [poolK, poolS] = c.overlappingPool ? [3, 2] : [2, 2];
  const conv = (n: number, k: number, stride: number, pad: number, layer: string): number => {
    const out = Math.floor((n + 2 * pad - k) / stride) + 1;
    if (out < 1) throw new RangeError(`inputSize ${c.inputSize} does not fit AlexNet: ${layer}'s ${k}x${k} kernel does not fit its ${n}x${n} input`);
    return out;
  };
  const pool = (n: number, layer: string): number => {
    if (n < poolK) throw new RangeError(`inputSize ${c.inputSize} does not fit AlexNet: ${layer}'s ${poolK}x${poolK} window is larger than its ${n}x${n} input`);
    return Math.floor((n - poolK) / poolS) + 1;
  };
  let n = pool(conv(c.inputSize, 11, c.conv1Stride, 2, 'conv1'), 'pool1');
  n = pool(conv(n, 5, 1, 2, 'conv2'), 'pool2');
  n = pool(conv(conv(conv(n, 3, 1, 1, 'conv3'), 3, 1, 1, 'conv4'), 3, 1, 1, 'conv5'), 'pool5');
  const layer = (name: string, weight: number[]): [string, number[]][] => [[`${name}.weight`, weight], [`${name}.bias`, [weight[0]!]]];
  return [
    ...layer('conv1', [c1, c.inChannels, 11, 11]),
    ...layer('conv2', [c2, c1 / 2, 5, 5]),
    ...layer('conv3', [c3, c2, 3, 3]),
    ...layer('conv4', [c4, c3 / 2, 3, 3]),
    ...layer('conv5', [c5, c4 / 2, 3, 3]),
    ...layer('fc6', [fc, c5 * n * n]),
    ...layer('fc7', [fc, fc]),
    ...layer('fc8', [c.numClasses, fc]),
  ];
}

/** AlexNet: a Sequential with the paper's layer names (state dict keys `conv1.weight` … `fc8.bias`). */
export class AlexNet extends Sequential {
  readonly config: AlexNetConfig;
  /** Output shape of every layer for a batch of one. */
  readonly layerShapes: [string, number[]][];

  constructor(config: AlexNetConfig, layers: [string, Module][], shapes: [string, number[]][]) {
    super(layers);
    this.config = config;
    this.layerShapes = shapes;
  }

  /** [C, H, W] of the input the network takes. */
  get inputShape(): [number, number, number] {
    return [this.config.inChannels, this.config.inputSize, this.config.inputSize];
  }
}

/** Builds the paper's network (or a variant for ablations), initialised from `seed`. */
/** The paper's two-device split: `alexnet({ ...options, columns: 2, devices: ['cuda:0', 'cuda:1'] })`. */
export interface TwoColumnRequest extends TwoColumnOptions {
  columns: 2;
}

/**
 * The network on one device (`columns` 1, the default: conv2/4/5 as grouped convolutions), or in
 * the paper's two columns on `devices` (`columns: 2`; the same device twice runs the columns on two
 * streams of it). With the same options and seed both are the same function with the same weights.
 */
// (The one-device signature last: it is the one ReturnType<typeof alexnet> sees.)
export function alexnet(options: TwoColumnRequest): TwoColumnAlexNet;
export function alexnet(options?: AlexNetOptions & { columns?: 1 }): AlexNet;
export function alexnet(options: (AlexNetOptions & { columns?: 1 }) | TwoColumnRequest = {}): AlexNet | TwoColumnAlexNet {
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
  const columns = (options as { columns?: unknown }).columns;
  if (columns === 2) {
    const { columns: _two, ...rest } = options as TwoColumnRequest;
    return new TwoColumnAlexNet(rest);
  }
  if (columns !== undefined && columns !== 1) throw new RangeError(`options.columns must be 1 or 2, got ${describe(columns)}`);
  const { columns: _one, ...oneDevice } = options as AlexNetOptions & { columns?: 1 };
  return oneDeviceAlexNet(oneDevice);
}

function oneDeviceAlexNet(options: AlexNetOptions): AlexNet {
  const config = resolveAlexNetOptions(options);
  checkDevice(config.device);
  let layers = layerList(config);
  const input = [1, config.inChannels, config.inputSize, config.inputSize];
  // Shapes up to flatten decide fc6's width; reject inputs that do not fit with the shapes computed.
  const flattenAt = layers.findIndex(([n]) => n === 'flatten');
  let shapes: [string, number[]][];
  try {
    shapes = new Sequential(layers.slice(0, flattenAt + 1)).shapes(input);
  } catch (e) {
    layers.forEach(([, m]) => m.dispose());
    throw new RangeError(`inputSize ${config.inputSize} does not fit AlexNet (conv1 stride ${config.conv1Stride}, ` +
      `${config.overlappingPool ? 'overlapping' : 'non-overlapping'} pooling): ${(e as Error).message}`);
  }
  const features = shapes.at(-1)![1][1]!;
  const fc6 = layers.findIndex(([n]) => n === 'fc6');
  const old = layers[fc6]![1] as Linear;
  layers = layers.map((entry, i) => (i === fc6 ? ['fc6', new Linear(features, old.outFeatures, { device: config.device })] : entry));
  old.dispose();
  const net = new Sequential(layers);
  const allShapes = net.shapes(input);
  initialize(layers, config.init, config.seed);
  return new AlexNet(config, layers, allShapes);
}
