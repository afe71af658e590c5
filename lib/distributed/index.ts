// Data parallelism over processes: the process group, its collectives and the gradient reducer.
export { Collective, ProcessGroup, currentGroup, initDistributed, requireNccl, transportInfo } from './group.js';
export type { DistributedOptions, ReduceOp, TransportInfo } from './group.js';
export { GradientReducer } from './reducer.js';
export type { ReducerOptions } from './reducer.js';
