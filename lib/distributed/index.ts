// Data parallelism over processes: the process group, its collectives, the gradient reducer, and
// the hybrid of data-parallel convolutional and model-parallel fully connected layers.
export { Collective, ProcessGroup, currentGroup, initDistributed, requireNccl, transportInfo } from './group.js';
export type { DistributedOptions, ReduceOp, TransportInfo } from './group.js';
export { GradientReducer } from './reducer.js';
export { HybridParallel } from './hybrid.js';
export type { HybridOptions } from './hybrid.js';
export type { ReducerOptions } from './reducer.js';
