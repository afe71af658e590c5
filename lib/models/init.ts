// Weight initialisation, drawn with the counter-based ops.normal: element i of a layer's weight is
// mean + std·counterNormal(seed, i) for the layer's seed, so the same seed gives the same network
// on every device, and a column holding rows [r, r + n) of a layer draws exactly those elements.
import type { DeviceName } from '../device_name.js';
import * as ops from '../ops/index.js';
import { Conv2d } from '../nn/conv2d.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { deriveSeed } from '../nn/seed.js';
import { Tensor } from '../tensor.js';

export type InitScheme = 'paper' | 'he';

/** Layers whose biases the paper sets to 1 (§5): "the second, fourth, and fifth convolutional layers, as well as in the fully-connected hidden layers". */
const PAPER_BIAS_ONE = new Set(['conv2', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']);

/** How one weighted layer starts: weights N(0, std²) from the counter stream `seed`, every bias `bias`. */
export interface LayerInit {
  seed: number;
  std: number;
  bias: number;
}

/**
 * The start of every weighted layer, given in the network's order by name and weight shape
 * ([out, ...the dimensions of the fan-in]) as the one-device network holds it.
 * 'paper': weights from N(0, 0.01²), biases 1 in conv2, conv4, conv5 and the fully connected
 * layers, 0 elsewhere. (The paper says "the fully-connected hidden layers"; Caffe's reference
 * model and most reproductions also set fc8's bias to 1, and with softmax a constant bias on every
 * logit changes nothing. We follow them.)
 * 'he': weights from N(0, 2/fan_in), biases 0 — what small networks need to train at all. The
 * classifier (the last weighted layer) gets N(0, 1/fan_in): the factor 2 of He et al. makes up for
 * the ReLU that follows a layer, and none follows the logits.
 * Seeds count the weighted layers only, so switching LRN or dropout off keeps the same weights.
 */
export function layerInits(weighted: { name: string; weightShape: readonly number[] }[], scheme: InitScheme, seed: number): LayerInit[] {
  return weighted.map(({ name, weightShape }, index) => {
    const fanIn = weightShape.slice(1).reduce((a, b) => a * b, 1);
    const gain = index === weighted.length - 1 ? 1 : 2;
    const std = scheme === 'paper' ? 0.01 : Math.sqrt(gain / fanIn);
    const bias = scheme === 'paper' && PAPER_BIAS_ONE.has(name) ? 1 : 0;
    return { seed: deriveSeed(seed, index), std, bias };
  });
}

/**
 * Draws `layer`'s parameters as rows [firstRow, firstRow + its rows) of the layer `init`
 * describes: the one-device layer with firstRow 0, the second column's half with firstRow = the
 * first column's row count.
 */
export function drawLayer(layer: Conv2d | Linear, init: LayerInit, firstRow = 0): void {
  const weight = layer.weight;
  if (firstRow === 0) ops.normal(weight.value, { mean: 0, std: init.std, seed: init.seed });
  else weight.setValue(normalRows(weight.shape, firstRow, init, weight.device));
  if (layer.bias) ops.fill(layer.bias.value, init.bias);
}

/**
 * Rows [firstRow, firstRow + shape[0]) of the weight the stream `init.seed` fills, drawn directly
 * from the stream's element firstRow * (elements per row) on.
 */
function normalRows(shape: readonly number[], firstRow: number, init: LayerInit, device: DeviceName): Tensor {
  const rowSize = shape.slice(1).reduce((a, b) => a * b, 1);
  const rows = Tensor.zeros(shape, device);
  ops.normal(rows, { mean: 0, std: init.std, seed: init.seed, offset: firstRow * rowSize });
  return rows;
}

/** Initialises the weighted layers (Conv2d, Linear) of a layer list, as `layerInits` says. */
export function initialize(layers: [string, Module][], scheme: InitScheme, seed: number): void {
  const weighted = layers.filter((entry): entry is [string, Conv2d | Linear] => entry[1] instanceof Conv2d || entry[1] instanceof Linear);
  const inits = layerInits(weighted.map(([name, l]) => ({ name, weightShape: l.weight.shape })), scheme, seed);
  weighted.forEach(([, layer], i) => drawLayer(layer, inits[i]!));
}
