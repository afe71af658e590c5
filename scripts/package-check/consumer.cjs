// A CommonJS consumer of the installed package (Node >= 20.19 loads ES modules from require()).
const { Tensor, ops } = require('alexnet-cudnn');

const x = Tensor.normal([1, 3, 67, 67], { std: 1, seed: 1 });
const w = Tensor.normal([4, 3, 11, 11], { std: 0.01, seed: 2 });
const y = ops.relu(ops.conv2d(x, w, null, { stride: 4, padding: 2 }));
y.toArray().then((values) => {
  if (y.shape.join('x') !== '1x4x16x16' || !values.every(Number.isFinite)) throw new Error(`unexpected output ${y.shape}`);
  console.log(`cjs: conv-relu -> [${y.shape}]`);
});
