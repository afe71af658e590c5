// The network of Krizhevsky, Sutskever & Hinton (2012) on one device: the layer list of
// ./alexnet_spec.ts in one Sequential, where the paper's two columns are channel groups (groups = 2
// in conv2, conv4, conv5, and in LRN), which is the same function. `alexnet({ columns: 2, devices })`
// places the same list across two devices instead (./two_column.ts).
import { checkDevice } from '../device.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { Sequential } from '../nn/sequential.js';
import { describe } from '../validate.js';
import { alexnetSpec, placeLayer, resolveAlexNetOptions, type AlexNetConfig, type AlexNetOptions } from './alexnet_spec.js';
import { initialize } from './init.js';
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
