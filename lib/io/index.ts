export { encodeSafetensors, decodeSafetensors, type HostTensor, type SafetensorsContents } from './safetensors.js';
export { writeFileAtomic, removeStaleTemporaries } from './atomic.js';
export {
  saveCheckpoint, loadCheckpoint, toDevice, checkpointPath, CHECKPOINT_FORMAT, EXTRA_PREFIX, MAX_HEADER_BYTES,
  checkResumeState, loadResumeCheckpoint, readCheckpointState, repairStateCopies,
  type TrainingState, type CheckpointContents,
} from './checkpoint.js';
