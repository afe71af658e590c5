export { encodeSafetensors, decodeSafetensors, type HostTensor, type SafetensorsContents, type SafetensorsDtype } from './safetensors.js';
export { renameStateDict, weightAsFloat32, ALEXNET_LAYERS, ALEXNET_TENSOR_NAMES, type RenamedStateDict } from './state_dict.js';
export { writeFileAtomic, removeStaleTemporaries } from './atomic.js';
export {
  saveCheckpoint, loadCheckpoint, toDevice, checkpointPath, CHECKPOINT_FORMAT, EXTRA_PREFIX, MAX_HEADER_BYTES,
  checkResumeState, loadResumeCheckpoint, readCheckpointState, repairStateCopies, readWeightsFile,
  type TrainingState, type CheckpointContents, type WeightsFile,
} from './checkpoint.js';
