// An ES-module consumer of the installed package: one forward pass of the paper's first block.
import { Tensor, ops } from 'alexnet-cudnn';

const x = Tensor.normal([2, 3, 67, 67], { std: 1, seed: 1 });
const w = Tensor.normal([8, 3, 11, 11], { std: 0.01, seed: 2 });
const y = ops.maxPool2d(ops.localResponseNorm(ops.relu(ops.conv2d(x, w, null, { stride: 4, padding: 2 }))));
const values = await y.toArray();
if (y.shape.join('x') !== '2x8x7x7' || !values.every(Number.isFinite)) throw new Error(`unexpected output ${y.shape}`);
console.log(`esm: conv-relu-lrn-pool -> [${y.shape}]`);
