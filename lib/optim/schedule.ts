// Learning-rate schedules, stepped once per epoch with that epoch's validation error.
import { describe, finite, integer, positiveInteger } from '../validate.js';

export interface LrSchedule {
  /** The learning rate to use now. */
  readonly lr: number;
  /** Called after each epoch's evaluation; returns the learning rate for the next epoch. */
  update(epoch: number, validationError: number): number;
  /** JSON-serialisable state, for checkpoints. */
  state(): ScheduleState;
  load(state: ScheduleState): void;
}

export interface PlateauOptions {
  /** Epochs without improvement before dividing (default 3). */
  patience?: number;
  /** How often the rate may be divided (the paper: 3 times). */
  maxReductions?: number;
  /** The divisor's inverse (0.1: divide by 10). */
  factor?: number;
  /** An error counts as better only below best − threshold (absolute, default 0). */
  threshold?: number;
}
export interface StepOptions {
  /** Divide every `every` epochs. */
  every: number;
  /** Multiply by this each time (0.1). */
  gamma?: number;
}

export type ScheduleConfig = ({ type: 'plateau' } & PlateauOptions) | ({ type: 'step' } & StepOptions);
export type ScheduleState = Record<string, number | string>;

/** The paper's rule: divide by 10 when the validation error stops improving, at most `maxReductions` times. */
export class ReduceOnPlateau implements LrSchedule {
  readonly initialLr: number;
  readonly patience: number;
  readonly maxReductions: number;
  readonly factor: number;
  readonly threshold: number;
  private best = Infinity;
  private badEpochs = 0;
  private reductions = 0;

  constructor(initialLr: number, options: PlateauOptions = {}) {
    this.initialLr = finite(initialLr, 'lr', 0);
    this.patience = positiveInteger(options.patience ?? 3, 'patience');
    this.maxReductions = integer(options.maxReductions ?? 3, 'maxReductions', 0);
    this.factor = finite(options.factor ?? 0.1, 'factor', 0, 1);
    this.threshold = finite(options.threshold ?? 0, 'threshold', 0);
  }

  get lr(): number {
    // Computed from the count, not multiplied in place, so the value never drifts.
    return this.initialLr * this.factor ** this.reductions;
  }

  update(_epoch: number, validationError: number): number {
    if (validationError < this.best - this.threshold) {
      this.best = validationError;
      this.badEpochs = 0;
    } else if (++this.badEpochs >= this.patience && this.reductions < this.maxReductions) {
      this.reductions++;
      this.badEpochs = 0;
    }
    return this.lr;
  }

  state(): ScheduleState {
    return { type: 'plateau', best: Number.isFinite(this.best) ? this.best : 'Infinity', badEpochs: this.badEpochs, reductions: this.reductions };
  }

  load(state: ScheduleState): void {
    if (state.type !== 'plateau') throw new TypeError(`schedule state is '${String(state.type)}', not 'plateau'`);
    this.best = state.best === 'Infinity' ? Infinity : Number(state.best);
    this.badEpochs = Number(state.badEpochs);
    this.reductions = Number(state.reductions);
  }
}

/** A fixed alternative: multiply by `gamma` every `every` epochs. */
export class StepSchedule implements LrSchedule {
  readonly initialLr: number;
  readonly every: number;
  readonly gamma: number;
  private epochsDone = 0;

  constructor(initialLr: number, options: StepOptions) {
    this.initialLr = finite(initialLr, 'lr', 0);
    this.every = positiveInteger(options?.every, 'every');
    this.gamma = finite(options.gamma ?? 0.1, 'gamma', 0, 1);
  }

  get lr(): number {
    return this.initialLr * this.gamma ** Math.floor(this.epochsDone / this.every);
  }

  update(epoch: number): number {
    this.epochsDone = epoch + 1;
    return this.lr;
  }

  state(): ScheduleState {
    return { type: 'step', epochsDone: this.epochsDone };
  }

  load(state: ScheduleState): void {
    if (state.type !== 'step') throw new TypeError(`schedule state is '${String(state.type)}', not 'step'`);
    this.epochsDone = Number(state.epochsDone);
  }
}

export function makeSchedule(lr: number, config: ScheduleConfig = { type: 'plateau' }): LrSchedule {
  if (config?.type === 'plateau') return new ReduceOnPlateau(lr, config);
  if (config?.type === 'step') return new StepSchedule(lr, config);
  throw new TypeError(`schedule must be { type: 'plateau', … } or { type: 'step', every, … }, got ${describe(config)}`);
}
