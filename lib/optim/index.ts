export { SGD, MOMENTUM_PREFIX, type SgdOptions } from './sgd.js';
export {
  ReduceOnPlateau, StepSchedule, makeSchedule,
  type LrSchedule, type PlateauOptions, type StepOptions, type ScheduleConfig, type ScheduleState,
} from './schedule.js';
export { LossScaler, makeLossScaler, type LossScalerOptions, type LossScalerState, type LossScaleConfig } from './loss_scaler.js';
