export { encodeSafetensors, decodeSafetensors, type HostTensor, type SafetensorsContents } from './safetensors.js';
export { writeFileAtomic } from './atomic.js';
export {
  saveCheckpoint, loadCheckpoint, toDevice, checkpointPath, CHECKPOINT_FORMAT, EXTRA_PREFIX,
  type TrainingState, type CheckpointContents,
} from './checkpoint.js';
