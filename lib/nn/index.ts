// Layers with forward and backward passes, parameters with gradients, train/eval mode, state dicts.
export { Module, retain, disposeDerived, inDType, computeDType, PRECISIONS, type Precision, type StateDict } from './module.js';
export { Parameter } from './parameter.js';
export { Conv2d, type Conv2dOptions } from './conv2d.js';
export { LocalResponseNorm, type LocalResponseNormOptions } from './local_response_norm.js';
export { MaxPool2d } from './max_pool2d.js';
export { Linear } from './linear.js';
export { ReLU } from './relu.js';
export { Tanh } from './tanh.js';
export { Dropout } from './dropout.js';
export { Flatten } from './flatten.js';
export { Sequential } from './sequential.js';
export { deriveSeed } from './seed.js';
