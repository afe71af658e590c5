export { SGD, MOMENTUM_PREFIX, type SgdOptions } from './sgd.js';
export {
  ReduceOnPlateau, StepSchedule, makeSchedule,
  type LrSchedule, type PlateauOptions, type StepOptions, type ScheduleConfig, type ScheduleState,
} from './schedule.js';
