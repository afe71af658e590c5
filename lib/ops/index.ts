// The typed functional ops. Each returns at once; the work runs on the tensors' device stream.
export * from './conv.js';
export * from './lrn.js';
export * from './pool.js';
export * from './linear.js';
export * from './activation.js';
export * from './loss.js';
export * from './update.js';
export * from './tensor_ops.js';
export * from './crop.js';
