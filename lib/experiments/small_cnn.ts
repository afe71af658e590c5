// The four-layer network of the paper's Figure 1 (ReLU against tanh on CIFAR-10). The paper says
// only "a four-layer convolutional neural network"; the shape used here is the classic small
// CIFAR-10 network of that time: three 5×5 convolutions (32, 32, 64 kernels, padding 2), each
// followed by the non-linearity and 3×3 max pooling with stride 2, then one fully connected layer
// to the classes. No normalisation and no dropout: the figure compares the non-linearities alone.
import * as ops from '../ops/index.js';
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, Tanh, deriveSeed, type Module } from '../nn/index.js';
import type { DeviceName } from '../device_name.js';

export const ACTIVATIONS = ['relu', 'tanh'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** The spatial side after a 3×3, stride-2 max pooling (no padding). */
function pooled(side: number): number {
  return Math.floor((side - 3) / 2) + 1;
}

/** A one-line description of the network, for results and documents. */
export function describeSmallCnn(channels: number, side: number, classes: number): string {
  const s3 = pooled(pooled(pooled(side)));
  return `conv5x5(${channels}→32,pad 2)-act-maxpool3/2 → conv5x5(32→32,pad 2)-act-maxpool3/2 → ` +
    `conv5x5(32→64,pad 2)-act-maxpool3/2 → fc(64·${s3}·${s3}→${classes})`;
}

/**
 * The network with `activation` after every convolution. Weights start from N(0, 1/fan_in) (the
 * same for both activations, so neither starts with an advantage of scale), biases at zero; the
 * weights depend only on `seed`, so the ReLU and tanh networks of one seed start identical.
 */
export function smallCnn(activation: Activation, channels: number, side: number, classes: number, seed: number, device: DeviceName = 'cpu'): Module {
  const act = (): Module => (activation === 'relu' ? new ReLU() : new Tanh());
  const s3 = pooled(pooled(pooled(side)));
  if (s3 < 1) throw new RangeError(`images of side ${side} are too small for three 3×3 poolings with stride 2`);
  const conv1 = new Conv2d(channels, 32, 5, { padding: 2, device });
  const conv2 = new Conv2d(32, 32, 5, { padding: 2, device });
  const conv3 = new Conv2d(32, 64, 5, { padding: 2, device });
  const fc = new Linear(64 * s3 * s3, classes, { device });
  [conv1, conv2, conv3, fc].forEach((layer, i) => {
    const fanIn = layer.weight.shape.slice(1).reduce((a, b) => a * b, 1);
    ops.normal(layer.weight.value, { mean: 0, std: Math.sqrt(1 / fanIn), seed: deriveSeed(seed, i) });
    if (layer.bias) ops.fill(layer.bias.value, 0);
  });
  return new Sequential([
    ['conv1', conv1], ['act1', act()], ['pool1', new MaxPool2d(3, 2)],
    ['conv2', conv2], ['act2', act()], ['pool2', new MaxPool2d(3, 2)],
    ['conv3', conv3], ['act3', act()], ['pool3', new MaxPool2d(3, 2)],
    ['flatten', new Flatten()], ['fc', fc],
  ]);
}
