// Weight initialisation, drawn with the counter-based ops.normal so that the same seed gives the
// same network on every device.
import * as ops from '../ops/index.js';
import { Conv2d } from '../nn/conv2d.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { deriveSeed } from '../nn/seed.js';

export type InitScheme = 'paper' | 'he';

/** Layers whose biases the paper sets to 1 (§5): "the second, fourth, and fifth convolutional layers, as well as in the fully-connected hidden layers". */
const PAPER_BIAS_ONE = new Set(['conv2', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']);

function fanIn(layer: Conv2d | Linear): number {
  return layer instanceof Conv2d
    ? (layer.inChannels / layer.groups) * layer.kernel[0] * layer.kernel[1]
    : layer.inFeatures;
}

/**
 * 'paper': weights from N(0, 0.01²), biases 1 in conv2, conv4, conv5 and the fully connected
 * layers, 0 elsewhere. (The paper says "the fully-connected hidden layers"; Caffe's reference
 * model and most reproductions also set fc8's bias to 1, and with softmax a constant bias on every
 * logit changes nothing. We follow them.)
 * 'he': weights from N(0, 2/fan_in), biases 0 — what small networks need to train at all. The
 * classifier (the last weighted layer) gets N(0, 1/fan_in): the factor 2 of He et al. makes up for
 * the ReLU that follows a layer, and none follows the logits.
 */
export function initialize(layers: [string, Module][], scheme: InitScheme, seed: number): void {
  // Seeds count the weighted layers only, so switching LRN or dropout off keeps the same weights.
  let index = 0;
  const weighted = layers.filter(([, l]) => l instanceof Conv2d || l instanceof Linear);
  const classifier = weighted.at(-1)?.[1];
  for (const [name, layer] of layers) {
    if (!(layer instanceof Conv2d) && !(layer instanceof Linear)) continue;
    const gain = layer === classifier ? 1 : 2;
    const std = scheme === 'paper' ? 0.01 : Math.sqrt(gain / fanIn(layer));
    ops.normal(layer.weight.value, { mean: 0, std, seed: deriveSeed(seed, index++) });
    if (layer.bias) ops.fill(layer.bias.value, scheme === 'paper' && PAPER_BIAS_ONE.has(name) ? 1 : 0);
  }
}
