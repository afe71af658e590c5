// The network of Krizhevsky, Sutskever & Hinton (2012) on one device: the layer list of
// ./alexnet_spec.ts in one Sequential, where the paper's two columns are channel groups (groups = 2
// in conv2, conv4, conv5, and in LRN), which is the same function. `alexnet({ columns: 2, devices })`
// places the same list across two devices instead (./two_column.ts).
import { checkDevice } from '../device.js';
import type { ProcessGroup } from '../distributed/group.js';
import { HybridParallel } from '../distributed/hybrid.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { Sequential } from '../nn/sequential.js';
import { describe } from '../validate.js';
import { alexnetSpec, isWeighted, placeLayer, resolveAlexNetOptions, weightShape, type AlexNetConfig, type AlexNetOptions } from './alexnet_spec.js';
import { drawLayer, initialize, layerInits } from './init.js';
import { TwoColumnAlexNet, type TwoColumnOptions } from './two_column.js';

export { alexnetParameterShapes, resolveAlexNetOptions, type AlexNetConfig, type AlexNetOptions } from './alexnet_spec.js';

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

  /** Logits in float32 whatever the precision: with 'bf16' the loss still sees float32, as under autocast. */
  override forward(x: Tensor): Tensor {
    const y = super.forward(x);
    if (y.dtype === 'float32') return y;
    const f = y.to('float32');
    y.dispose();
    return f;
  }

  /** [C, H, W] of the input the network takes. */
  get inputShape(): [number, number, number] {
    return [this.config.inChannels, this.config.inputSize, this.config.inputSize];
  }
}

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

/** The spec's layers in one Sequential on `config.device`, initialised from `config.seed`. */
function oneDeviceAlexNet(options: AlexNetOptions): AlexNet {
  const config = resolveAlexNetOptions(options);
  checkDevice(config.device);
  const spec = alexnetSpec(config);
  const layers: [string, Module][] = spec.layers.map((l) => [l.name, placeLayer(l, 'whole', config.device)]);
  initialize(layers, config.init, config.seed);
  return new AlexNet(config, layers, spec.shapes);
}

/**
 * This rank's part of the network in the hybrid of data and model parallelism (HybridParallel):
 * the convolutional layers whole, and of fc6, fc7 and fc8 the rank's slice of the output features
 * (group.split() of each width), drawn directly as those rows of the one-device network's weights
 * for the same seed — nothing is allocated for the other ranks' slices. The N ranks' slices
 * together are the one-device network; a group of one gives the whole network in the hybrid's
 * wrapper.
 */
export function hybridAlexNet(options: AlexNetOptions, group: ProcessGroup): HybridParallel {
  const config = resolveAlexNetOptions(options);
  checkDevice(config.device);
  const spec = alexnetSpec(config);
  const widths: Record<string, number> = {};
  const starts = new Map<string, number>();
  const layers = spec.layers.map((l): [string, Module] => {
    if (l.kind !== 'linear') return [l.name, placeLayer(l, 'whole', config.device)];
    if (l.outFeatures < group.size)
      throw new RangeError(`${l.name} has ${l.outFeatures} output features, fewer than the ${group.size} ranks that would each hold some of them`);
    const { counts, start } = group.split(l.outFeatures);
    widths[l.name] = l.outFeatures;
    starts.set(l.name, start);
    return [l.name, new Linear(l.inFeatures, counts[group.rank]!, { device: config.device })];
  });
  const weighted = spec.layers.filter(isWeighted);
  const inits = layerInits(weighted.map((l) => ({ name: l.name, weightShape: weightShape(l) })), config.init, config.seed);
  const byName = new Map(layers);
  weighted.forEach((l, i) => drawLayer(byName.get(l.name) as Parameters<typeof drawLayer>[0], inits[i]!, starts.get(l.name) ?? 0));
  return new HybridParallel(layers, group, widths);
}
