// The network of Krizhevsky, Sutskever & Hinton (2012), written once: its options, its layer list
// with every width and shape, and how each layer splits into the paper's two columns (§3.2,
// Figure 2). The one-device model (./alexnet.ts) and the two-column model (./two_column.ts) both
// place this list; neither knows the layers by name.
import type { DeviceName } from '../device_name.js';
import { Conv2d, conv2dOutputShape } from '../nn/conv2d.js';
import { Dropout } from '../nn/dropout.js';
import { Flatten } from '../nn/flatten.js';
import { Linear, linearOutputShape } from '../nn/linear.js';
import { LocalResponseNorm } from '../nn/local_response_norm.js';
import { MaxPool2d } from '../nn/max_pool2d.js';
import type { Module } from '../nn/module.js';
import { ReLU } from '../nn/relu.js';
import { shapesThrough, type ShapeRule } from '../nn/sequential.js';
import { describe, finite, integer, positiveInteger, seed as seedArg } from '../validate.js';
import type { InitScheme } from './init.js';

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
  /**
   * The one-column network the paper compares its two columns with (§3.2): half of the kernels in
   * conv1–conv4, every convolution reading all channels of the one before (no grouping; LRN over
   * all channels), conv5 and the fully connected layers at full width, so that it has about as
   * many parameters. It has one column, so it runs on one device only. Default false.
   */
  singleColumn?: boolean;
  /** 'paper': N(0, 0.01²) with biases 1 in conv2/4/5 and FC; 'he': N(0, 2/fan_in), biases 0. */
  init?: InitScheme;
  seed?: number;
  device?: DeviceName;
}

/** The options with every default filled in: enough to rebuild the same network (checkpoints store it). */
export type AlexNetConfig = Required<Omit<AlexNetOptions, 'dropout'>> & { dropout: number };

const KEYS = new Set(['numClasses', 'inChannels', 'inputSize', 'width', 'conv1Stride', 'lrn', 'overlappingPool', 'singleColumn', 'dropout', 'init', 'seed', 'device']);

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
    singleColumn: bool(options.singleColumn, 'singleColumn', false),
    dropout,
    init,
    seed: seedArg(options.seed ?? 0),
    device,
  };
}

/**
 * How the two-column layout splits a weighted layer. 'own': each column holds half of the kernels
 * and reads only its own column's half of the input (on one device: groups = 2). 'both': each
 * column holds half of the kernels and reads both columns. 'single': not split; the whole layer
 * runs once, on the first column's device.
 */
export type ColumnSplit = 'own' | 'both' | 'single';

export type LayerSpec =
  | { kind: 'conv'; name: string; inChannels: number; outChannels: number; kernel: number; stride: number; padding: number; columns: 'own' | 'both' | 'single' }
  | { kind: 'linear'; name: string; inFeatures: number; outFeatures: number; columns: 'both' | 'single' }
  | { kind: 'relu'; name: string }
  /**
   * 'own': normalises within each column's channels (the paper's GPUs each normalised their own
   * maps); 'single': over all channels (the one-column network).
   */
  | { kind: 'lrn'; name: string; size: number; alpha: number; beta: number; k: number; columns: 'own' | 'single' }
  | { kind: 'maxpool'; name: string; window: number; stride: number }
  | { kind: 'flatten'; name: string }
  | { kind: 'dropout'; name: string; p: number };

export type WeightedLayerSpec = Extract<LayerSpec, { kind: 'conv' | 'linear' }>;

export interface AlexNetSpec {
  config: AlexNetConfig;
  /** In the order the one-device network applies them; dropout seeds derive from a layer's position. */
  layers: LayerSpec[];
  /** The output shape of every layer for a batch of one. */
  shapes: [string, number[]][];
}

export function isWeighted(layer: LayerSpec): layer is WeightedLayerSpec {
  return layer.kind === 'conv' || layer.kind === 'linear';
}

/** The weight's shape in the one-device network: [out, in / groups, k, k] or [out, in]. */
export function weightShape(layer: WeightedLayerSpec): number[] {
  if (layer.kind === 'linear') return [layer.outFeatures, layer.inFeatures];
  const groups = layer.columns === 'own' ? 2 : 1;
  return [layer.outChannels, layer.inChannels / groups, layer.kernel, layer.kernel];
}

/** Channels scaled by `width`, kept even so that the two columns (groups = 2) split evenly. */
function channels(base: number, width: number): number {
  return Math.max(2, 2 * Math.round((base * width) / 2));
}

/**
 * The layer list of the network `config` describes, with its shapes, computed without allocating
 * anything. A RangeError names the layer when the input size does not fit.
 */
export function alexnetSpec(config: AlexNetConfig): AlexNetSpec {
  const c = config;
  // The one-column network halves conv1–conv4 and keeps conv5 (§3.2: most parameters are in fc6, which reads conv5).
  const halved = c.singleColumn ? 0.5 : 1;
  const [c1, c2, c3, c4] = [96, 256, 384, 384].map((n) => channels(n * halved, c.width)) as [number, number, number, number];
  const c5 = channels(256, c.width);
  const own = c.singleColumn ? 'single' : 'own';
  const both = c.singleColumn ? 'single' : 'both';
  const fc = Math.max(1, Math.round(4096 * c.width));
  const pool = (name: string): LayerSpec => ({ kind: 'maxpool', name, ...(c.overlappingPool ? { window: 3, stride: 2 } : { window: 2, stride: 2 }) });
  const lrn = (name: string): LayerSpec[] => (c.lrn ? [{ kind: 'lrn', name, size: 5, alpha: 1e-4, beta: 0.75, k: 2, columns: own }] : []);
  const drop = (name: string): LayerSpec[] => (c.dropout > 0 ? [{ kind: 'dropout', name, p: c.dropout }] : []);
  const relu = (name: string): LayerSpec => ({ kind: 'relu', name });
  const conv = (name: string, inChannels: number, outChannels: number, kernel: number, stride: number, padding: number, columns: 'own' | 'both' | 'single'): LayerSpec =>
    ({ kind: 'conv', name, inChannels, outChannels, kernel, stride, padding, columns });
  const features: LayerSpec[] = [
    conv('conv1', c.inChannels, c1, 11, c.conv1Stride, 2, both), relu('relu1'), ...lrn('lrn1'), pool('pool1'),
    conv('conv2', c1, c2, 5, 1, 2, own), relu('relu2'), ...lrn('lrn2'), pool('pool2'),
    conv('conv3', c2, c3, 3, 1, 1, both), relu('relu3'),
    conv('conv4', c3, c4, 3, 1, 1, own), relu('relu4'),
    conv('conv5', c4, c5, 3, 1, 1, own), relu('relu5'), pool('pool5'),
    { kind: 'flatten', name: 'flatten' },
  ];
  const input = [1, c.inChannels, c.inputSize, c.inputSize];
  let featureShapes: [string, number[]][];
  try {
    featureShapes = shapesThrough(features.map((l) => [l.name, shapeRule(l)]), input);
  } catch (e) {
    throw new RangeError(`inputSize ${c.inputSize} does not fit AlexNet (conv1 stride ${c.conv1Stride}, ` +
      `${c.overlappingPool ? 'overlapping' : 'non-overlapping'} pooling): ${(e as Error).message}`);
  }
  const flat = featureShapes.at(-1)![1];
  const classifier: LayerSpec[] = [
    { kind: 'linear', name: 'fc6', inFeatures: flat[1]!, outFeatures: fc, columns: both }, relu('relu6'), ...drop('drop6'),
    { kind: 'linear', name: 'fc7', inFeatures: fc, outFeatures: fc, columns: both }, relu('relu7'), ...drop('drop7'),
    { kind: 'linear', name: 'fc8', inFeatures: fc, outFeatures: c.numClasses, columns: 'single' },
  ];
  const shapes = [...featureShapes, ...shapesThrough(classifier.map((l) => [l.name, shapeRule(l)]), flat)];
  return { config, layers: [...features, ...classifier], shapes };
}

/** How a layer changes shapes in the one-device network, without allocating its parameters. */
function shapeRule(layer: LayerSpec): ShapeRule {
  switch (layer.kind) {
    case 'conv': {
      const pair = (n: number): [number, number] => [n, n];
      const g = { ...layer, kernel: pair(layer.kernel), stride: pair(layer.stride), padding: pair(layer.padding) };
      return { outputShape: (s) => conv2dOutputShape(s, g) };
    }
    case 'linear':
      return { outputShape: (s) => linearOutputShape(s, layer) };
    default:
      return placeLayer(layer, 'whole', 'cpu'); // no parameters: nothing is allocated
  }
}

/**
 * The module for `layer`: as the one-device network holds it ('whole'), or as one of the two
 * columns holds its half ('column'; 'single' layers are not split and are placed whole).
 */
export function placeLayer(layer: LayerSpec, part: 'whole' | 'column', device: DeviceName): Module {
  const column = part === 'column';
  switch (layer.kind) {
    case 'conv': {
      const inChannels = column && layer.columns === 'own' ? layer.inChannels / 2 : layer.inChannels;
      const outChannels = column ? layer.outChannels / 2 : layer.outChannels;
      const groups = !column && layer.columns === 'own' ? 2 : 1;
      return new Conv2d(inChannels, outChannels, layer.kernel, { stride: layer.stride, padding: layer.padding, groups, device });
    }
    case 'linear':
      return new Linear(layer.inFeatures, column && layer.columns !== 'single' ? layer.outFeatures / 2 : layer.outFeatures, { device });
    case 'lrn': {
      const { size, alpha, beta, k } = layer;
      return new LocalResponseNorm({ size, alpha, beta, k, groups: column || layer.columns === 'single' ? 1 : 2 });
    }
    case 'relu':
      return new ReLU();
    case 'maxpool':
      return new MaxPool2d(layer.window, layer.stride);
    case 'flatten':
      return new Flatten();
    case 'dropout':
      return new Dropout(layer.p);
  }
}

/**
 * The name and shape of every parameter of the network `options` describe, computed without
 * building it (no tensor is allocated): a checkpoint's tensors can be checked against the model
 * its metadata describes before that model, possibly of many gigabytes, is built. A RangeError
 * says when the input size does not fit the layers. Tests check it against the built network.
 */
export function alexnetParameterShapes(options: AlexNetOptions = {}): [string, readonly number[]][] {
  const { layers } = alexnetSpec(resolveAlexNetOptions(options));
  return layers.filter(isWeighted).flatMap((l): [string, readonly number[]][] => {
    const weight = weightShape(l);
    return [[`${l.name}.weight`, weight], [`${l.name}.bias`, [weight[0]!]]];
  });
}
