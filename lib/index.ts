// alexnet-cudnn: the original AlexNet on cuDNN (and oneDNN on CPU), from TypeScript.
export { MAX_DIMENSION, MAX_ELEMENTS, Tensor, bf16Support, disposeAll, fp16Support } from './tensor.js';
export type { DType, FloatDType } from './tensor.js';
export { deviceName } from './device_name.js';
export type { DeviceKind, DeviceName } from './device_name.js';
export { AlexNetError, ERROR_CODES } from './errors.js';
export type { AlexNetErrorCode } from './errors.js';
export * from './device.js';
export * as ops from './ops/index.js';
export * as nn from './nn/index.js';
export { tidy, keep } from './tidy.js';
export * from './models/index.js';
export * from './optim/index.js';
export * from './train/index.js';
export * from './io/index.js';
export * from './export/index.js';
export * from './data/index.js';
export * from './distributed/index.js';
