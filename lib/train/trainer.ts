// The training loop: epochs over a BatchLoader, the paper's SGD, evaluation every epoch,
// checkpoints (last and best), metrics as JSON lines, progress. Every random draw derives from
// (seed, epoch, batch) — dropout masks here, the data order in the loader — so a run resumed from
// a checkpoint continues exactly as the uninterrupted run would have.
//
// Data parallelism (a ProcessGroup of several ranks): the loaders are sharded (each rank gets its
// share of every global batch, with the draws of the global positions), dropout masks are drawn at
// the rank's rows of the global batch, the weights are broadcast from rank 0 at the start and on
// resume, gradients are averaged in buckets that start during the backward pass, the loss is the
// mean over the ranks, and evaluation counts are summed: every rank computes the update one
// process would (up to the order of the sums). Rank 0 alone writes checkpoints, metrics and
// progress. A stop request (stop(), a signal) travels with the next step's loss, so that every rank
// stops after the same step.
//
// The hybrid (parallel: 'hybrid', distributed/hybrid.ts) keeps all of that for the convolutional
// layers, while each rank holds a slice of every fully connected layer and computes it for the
// whole global batch: each rank's logit gradients are divided by the group's size (its rows' share
// of the gradient of the global batch's mean loss), the convolutional gradients are summed over the
// ranks, and the slices' gradients need no communication. Checkpoints gather the slices (every rank
// takes part; rank 0 writes), so they hold the one-process layout and resume in either mode.
import type { DeviceName } from '../device_name.js';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { batchToDevice } from '../data/device_input.js';
import type { Batch, BatchLoader } from '../data/types.js';
import { AlexNetError } from '../errors.js';
import { MOMENTUM_PREFIX } from '../optim/sgd.js';
import { loadResumeCheckpoint, repairStateCopies, saveCheckpoint, toDevice, CHECKPOINT_FORMAT, type TrainingState } from '../io/checkpoint.js';
import type { HostTensor } from '../io/safetensors.js';
import { disposeDerived, type Module } from '../nn/module.js';
import { deriveSeed } from '../nn/seed.js';
import { SGD } from '../optim/sgd.js';
import { makeSchedule, type LrSchedule, type ScheduleConfig } from '../optim/schedule.js';
import { makeLossScaler, type LossScaleConfig, type LossScaler } from '../optim/loss_scaler.js';
import * as ops from '../ops/index.js';
import { bf16Support, disposeAll, fp16Support, Tensor } from '../tensor.js';
import { precision as devicePrecision, setPrecision as setDevicePrecision, synchronize } from '../device.js';
import { describe, finite, integer, positiveInteger, seed as seedArg } from '../validate.js';
import type { ProcessGroup } from '../distributed/group.js';
import { GradientReducer } from '../distributed/reducer.js';
import { HybridParallel } from '../distributed/hybrid.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { MetricsLog } from './metrics.js';
import { Progress, RecentRate, type ProgressMode } from './progress.js';
import { prepareRunDirectory } from './run_dir.js';

/**
 * How training computes. 'fp32': float32 throughout (the default). 'bf16': mixed precision as
 * PyTorch's autocast does it (the model's layers on bfloat16 activations and per-step bfloat16 copies
 * of the weights, float32 master weights, gradients, update, loss and checkpoints; see
 * nn.Precision); needs a device that computes in bfloat16 (bf16Support), else an AlexNetError
 * BF16_UNSUPPORTED. 'tf32': the CUDA backend's TF32 tensor-core mode for convolutions and GEMMs; on
 * a CPU it is float32 (said once through onWarning). 'fp16': mixed precision as 'bf16' with float16
 * activations and weight copies, on a device that computes in float16 (fp16Support: CUDA, compute
 * capability 7.0 or newer), else an AlexNetError FLOAT16_UNSUPPORTED before anything is written (the
 * CPU); float16 ends at 65504, so dynamic loss scaling is on by default (lossScale).
 */
export type TrainingPrecision = 'fp32' | 'tf32' | 'bf16' | 'fp16';
export const TRAINING_PRECISIONS: readonly TrainingPrecision[] = ['fp32', 'tf32', 'bf16', 'fp16'];

export interface TrainerOptions {
  model: Module;
  train: BatchLoader;
  /** Evaluated after every epoch (top-1/top-5 error); without it the plateau rule watches the training loss. */
  val?: BatchLoader;
  epochs: number;
  /** ε (0.01), momentum (0.9), weight decay (5e-4): the paper's values. */
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  /** Default: divide by 10 when the validation error has not improved for 3 epochs, at most 3 times. */
  schedule?: ScheduleConfig | LrSchedule;
  seed?: number;
  /** Checkpoints (last.*, best.*) and metrics.jsonl go here; nothing is written without it. */
  outDir?: string;
  /** true: continue from <outDir>/last.safetensors; a path: from that checkpoint. */
  resume?: boolean | string;
  /** Steps queued on the device ahead of the oldest loss read back (default 2). */
  maxInFlight?: number;
  progress?: ProgressMode;
  progressStream?: Writable;
  /** A metrics line with the mean loss every this many steps (default 50). */
  logEvery?: number;
  /** Saved in checkpoints so a model can be rebuilt from them (e.g. the AlexNet config). */
  modelConfig?: Record<string, unknown>;
  trainingConfig?: Record<string, unknown>;
  /** Tensors saved with every checkpoint (names `data.*`), e.g. the mean image predict needs. */
  extraTensors?: Record<string, HostTensor>;
  /** 'fp32', 'tf32', 'bf16' or 'fp16' (see TrainingPrecision). Default: as the model and device are set. */
  precision?: TrainingPrecision;
  /**
   * Loss scaling (optim/loss_scaler.ts): 'dynamic' (initial scale 2^16, doubled after 2000 clean
   * steps, halved on a step with an infinite or NaN gradient, which is skipped: weights and
   * momentum untouched), a number (a fixed scale; such steps are still skipped), options of a
   * dynamic scaler, or 'none'. Default: 'dynamic' for fp16, else 'none'. Its state is saved in
   * checkpoints and restored on resume; each step then reads one flag back from the device before
   * its update. One process only (not with a group of several ranks).
   */
  lossScale?: LossScaleConfig;
  /** Stop after this many optimiser steps in total (for tests and time-boxed runs); saves like stop(). */
  maxSteps?: number;
  /**
   * Data parallelism: the process group (initDistributed()). With more than one rank, `train` (and
   * `val`) must be sharded for it (createLoader({ shard: group })), the batch size of `train` (the
   * global batch) must be a multiple of the group's size, and `outDir` must be a directory every
   * rank can read (rank 0 writes it; all resume from it). A group of one changes nothing.
   */
  group?: ProcessGroup;
  /** Bytes of gradients per all-reduce bucket (default 4 MiB). */
  bucketBytes?: number;
  /**
   * With a group of several ranks: 'data' (default) replicates the whole model on every rank;
   * 'hybrid' keeps the layers before the first fully connected one data parallel and splits the
   * fully connected layers over the ranks by output features (Krizhevsky 2014). A whole model
   * (a Sequential such as AlexNet) is split by HybridParallel.fromModel — `trainer.model` is then
   * the split model and the one passed in must not be used — or pass one built in that layout
   * (hybridAlexNet). Default: 'hybrid' for a HybridParallel model, else 'data'.
   */
  parallel?: 'data' | 'hybrid';
  /**
   * Told what the run worked around: a last checkpoint that could not be resumed from (the best
   * one was used), temporaries of a killed run deleted. Default: a line on stderr.
   */
  onWarning?: (message: string) => void;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  lr: number;
  nextLr: number;
  seconds: number;
  imagesPerSecond: number;
  waitSeconds: number;
  val?: EvalResult;
}

export interface FitResult {
  epochs: EpochRecord[];
  /** Stopped by stop()/maxSteps before the last epoch ended. */
  interrupted: boolean;
  state: TrainingState;
  /** The checkpoint written last, if any. */
  checkpoint?: string;
}

interface PendingLoss { loss: Promise<number>; epoch: number; batch: number; step: number }

export class Trainer {
  readonly model: Module;
  readonly optimizer: SGD;
  readonly schedule: LrSchedule;
  readonly options: TrainerOptions;
  private readonly seed: number;
  private readonly device: DeviceName;
  private readonly progress: Progress;
  private readonly metrics?: MetricsLog;
  private readonly maxInFlight: number;
  private readonly logEvery: number;
  private stopRequested = false;
  /** Data parallelism: a stop asked for on this rank, not yet agreed by all (see step()). */
  private localStop = false;
  private readonly group: ProcessGroup | null;
  private readonly reducer: GradientReducer | null;
  /** The hybrid's model (the same object as `model`), or null for data parallelism and one process. */
  private readonly hybrid: HybridParallel | null;
  /** Whether this process writes checkpoints, metrics and progress (rank 0, or a single process). */
  private readonly writes: boolean;
  private stepStops: Promise<boolean>[] = [];
  private state: TrainingState;
  private latestLoss = NaN;
  private windowLoss = { sum: 0, count: 0 };
  private readonly warn: (message: string) => void;
  /** What the training step computes in ('tf32' only where the device has it). */
  readonly precision: TrainingPrecision;
  /** Loss scaling, or null (TrainerOptions.lossScale). */
  readonly lossScaler: LossScaler | null;
  /** The device-side found-inf flags of the step whose update waits for them. */
  private foundInf: Tensor[] | null = null;

  constructor(options: TrainerOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
    const { train } = options;
    let model = options.model;
    if (!model || typeof model.forward !== 'function') throw new TypeError(`model must be a Module, got ${describe(model)}`);
    if (!train || typeof train.epoch !== 'function') throw new TypeError(`train must be a BatchLoader, got ${describe(train)}`);
    if (options.val !== undefined && typeof options.val?.epoch !== 'function') throw new TypeError(`val must be a BatchLoader, got ${describe(options.val)}`);
    positiveInteger(options.epochs, 'epochs');
    this.options = options;
    const parallel = options.parallel ?? (model instanceof HybridParallel ? 'hybrid' : 'data');
    if (parallel !== 'data' && parallel !== 'hybrid') throw new TypeError(`parallel must be 'data' or 'hybrid', got ${describe(parallel)}`);
    if (parallel === 'data' && model instanceof HybridParallel) throw new TypeError("the model is split for the hybrid (a HybridParallel): pass parallel: 'hybrid'");
    const group = options.group && options.group.size > 1 ? options.group : null;
    if (parallel === 'hybrid' && group) {
      if (model instanceof HybridParallel && (model.group.rank !== group.rank || model.group.size !== group.size))
        throw new TypeError(`the model is split for rank ${model.group.rank} of ${model.group.size}, but the group is rank ${group.rank} of ${group.size}`);
      if (!(model instanceof HybridParallel)) model = HybridParallel.fromModel(model, group);
    }
    this.hybrid = group && model instanceof HybridParallel ? model : null;
    this.model = model;
    this.seed = seedArg(options.seed ?? 0);
    this.device = model.device ?? 'cpu';
    const lr = finite(options.lr ?? 0.01, 'lr', 0);
    this.optimizer = new SGD(model, { lr, momentum: options.momentum ?? 0.9, weightDecay: options.weightDecay ?? 5e-4 });
    this.schedule = isSchedule(options.schedule) ? options.schedule : makeSchedule(lr, options.schedule);
    this.optimizer.lr = this.schedule.lr;
    this.maxInFlight = positiveInteger(options.maxInFlight ?? 2, 'maxInFlight');
    this.logEvery = positiveInteger(options.logEvery ?? 50, 'logEvery');
    if (options.maxSteps !== undefined) integer(options.maxSteps, 'maxSteps', 0);
    this.group = group;
    this.writes = !this.group || this.group.rank === 0;
    if (this.group) checkSharded(this.group, train, options.val, this.hybrid !== null);
    // The hybrid's fully connected slices saw every rank's rows: only the replicated layers' gradients are reduced.
    this.reducer = this.group
      ? new GradientReducer(this.group, this.hybrid ? this.hybrid.replicatedParameters() : model.namedParameters(),
        { bucketBytes: options.bucketBytes, op: this.hybrid ? 'sum' : 'mean' })
      : null;
    this.progress = new Progress(this.writes ? options.progress ?? 'auto' : 'none', options.progressStream);
    if (options.onWarning !== undefined && typeof options.onWarning !== 'function')
      throw new TypeError(`onWarning must be a function, got ${describe(options.onWarning)}`);
    this.warn = options.onWarning ?? ((message) => { process.stderr.write(`warning: ${message}\n`); });
    // Before anything is written: a precision the device lacks fails here.
    this.precision = applyPrecision(model, this.device, options.precision, this.warn);
    this.lossScaler = makeLossScaler(options.lossScale ?? (this.precision === 'fp16' ? 'dynamic' : 'none'));
    if (options.outDir && this.writes) {
      const removed = prepareRunDirectory(options.outDir);
      if (removed.length > 0) this.warn(`deleted ${removed.length} temporary file${removed.length === 1 ? '' : 's'} left in ${options.outDir} by a run that was killed while saving`);
      this.metrics = new MetricsLog(join(options.outDir, 'metrics.jsonl'));
    }
    // The model's first layer sees the image: its input gradient is never needed.
    model.inputGrad = false;
    this.state = {
      format: CHECKPOINT_FORMAT, epoch: 0, batch: 0, step: 0, lr: this.schedule.lr, schedule: this.schedule.state(),
      seed: this.seed, rng: 'dropout: deriveSeed(seed, epoch, batch); data order: the loader, from (seed, epoch)',
      bestError: null, bestEpoch: null, epochLoss: { sum: 0, count: 0 },
      model: options.modelConfig ?? {}, training: options.trainingConfig ?? {}, savedAt: '',
    };
  }

  /** Where training stands (a copy). */
  get trainingState(): TrainingState {
    return structuredClone(this.state);
  }

  /** Asks the loop to stop after the current step; fit() then saves `last` and resolves with interrupted. */
  stop(): void {
    // Several ranks must stop after the same step: the request travels with the next step's loss.
    if (this.group) this.localStop = true;
    else this.stopRequested = true;
  }

  /**
   * Loads weights, momentum and training state from a checkpoint file or run directory (its last
   * checkpoint, or its best one, with a warning, when the last cannot be resumed from).
   */
  async restore(path: string): Promise<void> {
    const ckpt = await loadResumeCheckpoint(path, this.warn);
    if (ckpt.state.seed !== this.seed)
      throw new RangeError(`seed ${this.seed} differs from the checkpoint's ${ckpt.state.seed}; resume with the same seed to continue exactly`);
    const weights = toDevice(ckpt.weights, this.device);
    const momentum = toDevice(ckpt.momentum, this.device);
    try {
      this.model.loadStateDict(weights);
      // The checkpoint's names are the model's export names; the optimiser keys by parameter name.
      const velocities = this.model.importState(momentum, MOMENTUM_PREFIX);
      try {
        this.optimizer.loadStateDict(velocities);
      } finally {
        disposeDerived(velocities, momentum);
      }
    } catch (e) {
      throw new AlexNetError(`checkpoint ${ckpt.file} does not fit this model: ${(e as Error).message}`, 'BAD_FILE');
    } finally {
      disposeAll(weights, momentum);
    }
    try {
      this.schedule.load(ckpt.state.schedule);
    } catch (e) {
      throw new AlexNetError(`checkpoint ${ckpt.file} holds a learning-rate schedule state this run cannot continue: ${(e as Error).message}`, 'BAD_FILE');
    }
    if (this.lossScaler && ckpt.state.lossScale) {
      try {
        this.lossScaler.load(ckpt.state.lossScale);
      } catch (e) {
        throw new AlexNetError(`checkpoint ${ckpt.file} holds a loss-scale state this run cannot continue: ${(e as Error).message}`, 'BAD_FILE');
      }
    }
    this.state = { ...ckpt.state, model: this.state.model, training: this.state.training };
    // A run continued without loss scaling does not carry the old scale in its checkpoints.
    if (!this.lossScaler) delete this.state.lossScale;
    this.optimizer.lr = this.state.lr;
  }

  async fit(): Promise<FitResult> {
    try {
      return await this.fitLoop();
    } finally {
      this.reducer?.dispose();
    }
  }

  private async fitLoop(): Promise<FitResult> {
    const o = this.options;
    if (o.outDir && this.writes) {
      const repaired = await repairStateCopies(o.outDir);
      if (repaired.length > 0) this.warn(`rewrote ${repaired.join(', ')} from the state inside the checkpoint (the run was stopped between the two writes)`);
    }
    if (o.resume) await this.restore(typeof o.resume === 'string' ? o.resume : this.requireOutDir());
    // Every rank starts from rank 0's weights and momentum (the same init or checkpoint anyway, but
    // one source makes sure).
    if (this.group) this.broadcastState();
    const records: EpochRecord[] = [];
    let checkpoint: string | undefined;
    this.metrics?.write('start', { epoch: this.state.epoch, batch: this.state.batch, step: this.state.step, epochs: o.epochs, seed: this.seed, resumed: Boolean(o.resume), precision: this.precision,
      ...(this.lossScaler ? { lossScale: this.lossScaler.scale, lossScaleDynamic: this.lossScaler.dynamic } : {}) });
    try {
      while (this.state.epoch < o.epochs) {
        const finished = await this.trainEpoch();
        if (!finished) {
          checkpoint = await this.save(['last']);
          // No rank leaves (and ends the job) before rank 0 has written the checkpoint.
          await this.group?.barrier();
          this.progress.line(`stopped at epoch ${this.state.epoch + 1} batch ${this.state.batch}` + (checkpoint ? `; saved ${checkpoint}` : ''));
          this.metrics?.write('interrupted', { epoch: this.state.epoch, batch: this.state.batch, step: this.state.step });
          return { epochs: records, interrupted: true, state: this.trainingState, checkpoint };
        }
        const record = await this.endEpoch();
        records.push(record);
        const improved = this.state.bestEpoch === record.epoch;
        checkpoint = await this.save(improved ? ['last', 'best'] : ['last']);
        if (this.stopRequested && this.state.epoch < o.epochs) {
          await this.group?.barrier();
          this.metrics?.write('interrupted', { epoch: this.state.epoch, batch: 0, step: this.state.step });
          return { epochs: records, interrupted: true, state: this.trainingState, checkpoint };
        }
      }
    } finally {
      this.progress.end();
      this.model.release();
      // The last step's update may still be queued: when fit() settles, the weights are final.
      await synchronize(this.device).catch(() => undefined);
    }
    await this.group?.barrier();
    this.metrics?.write('end', { step: this.state.step, bestError: this.state.bestError, bestEpoch: this.state.bestEpoch });
    return { epochs: records, interrupted: false, state: this.trainingState, checkpoint };
  }

  /** Evaluates the model on `loader` (the validation loader by default). */
  evaluate(loader: BatchLoader | undefined = this.options.val): Promise<EvalResult> {
    if (!loader) throw new TypeError('evaluate needs a loader (no val loader was given)');
    return evaluate(this.model, loader, { epoch: this.state.epoch, group: this.group ?? undefined });
  }

  /** Rank 0's parameters and velocities to every rank (one collective per device). */
  private broadcastState(): void {
    // The hybrid's slices differ from rank to rank: only the replicated parameters are rank 0's.
    const params = this.hybrid ? this.hybrid.replicatedParameters() : this.model.namedParameters();
    const velocities = this.optimizer.stateDict();
    const tensors = [...params.map(([, p]) => p.value), ...params.map(([n]) => velocities[MOMENTUM_PREFIX + n]).filter((v): v is Tensor => v !== undefined)];
    const byDevice = new Map<string, Tensor[]>();
    for (const t of tensors) byDevice.set(t.device, [...(byDevice.get(t.device) ?? []), t]);
    for (const list of byDevice.values()) this.group!.broadcast(list, { root: 0 }).wait();
  }

  private requireOutDir(): string {
    if (!this.options.outDir) throw new TypeError('resume: true needs outDir (or pass the checkpoint path as resume)');
    return this.options.outDir;
  }

  /** Runs the rest of the current epoch; false when stopped before its end. */
  private async trainEpoch(): Promise<boolean> {
    const { train, epochs } = this.options;
    const epoch = this.state.epoch;
    const pending: PendingLoss[] = [];
    const started = performance.now();
    const recent = new RecentRate();
    recent.start(started);
    let images = 0;
    let waitMs = 0;
    this.model.train();
    this.optimizer.lr = this.schedule.lr;
    this.latestLoss = NaN;
    this.stepStops = [];
    const iterator = train.epoch(epoch, { startBatch: this.state.batch })[Symbol.asyncIterator]();
    try {
      for (;;) {
        if (this.stopRequested || (this.options.maxSteps !== undefined && this.state.step >= this.options.maxSteps)) {
          await this.drain(pending);
          return false;
        }
        const t0 = performance.now();
        const next = await iterator.next();
        waitMs += performance.now() - t0;
        if (next.done) {
          this.checkEpochComplete(train, epoch);
          break;
        }
        const batch = next.value;
        if (batch.crops !== 1) throw new RangeError(`training batches must have crops = 1, got ${batch.crops}`);
        pending.push({ loss: this.step(batch), epoch, batch: this.state.batch, step: this.state.step });
        if (this.foundInf) await this.finishScaledStep();
        this.state.batch++;
        this.state.step++;
        images += batch.labels.length * (this.group?.size ?? 1);
        // Read losses back a few steps behind: the device stays busy and memory stays bounded.
        while (pending.length > this.maxInFlight) await this.settle(pending.shift()!);
        const now = performance.now();
        const seconds = (now - started) / 1000;
        recent.add(now, images);
        const stepsLeft = train.batchesPerEpoch - this.state.batch + (epochs - epoch - 1) * train.batchesPerEpoch;
        this.progress.update({
          epoch, epochs, batch: this.state.batch, batches: train.batchesPerEpoch, imagesPerSecond: recent.imagesPerSecond(),
          loss: this.latestLoss, lr: this.optimizer.lr, etaSeconds: recent.secondsPerStep() * stepsLeft, waitFraction: waitMs / 1000 / seconds,
          ...(this.lossScaler ? { skippedSteps: this.lossScaler.skippedSteps, lossScale: this.lossScaler.scale } : {}),
        });
      }
      await this.drain(pending);
    } finally {
      await Promise.allSettled(pending.map((p) => p.loss));
      await iterator.return?.();
    }
    this.lastEpochTiming = { seconds: (performance.now() - started) / 1000, images, waitSeconds: waitMs / 1000 };
    return true;
  }

  private lastEpochTiming = { seconds: 0, images: 0, waitSeconds: 0 };

  /**
   * An epoch whose batches ended before batchesPerEpoch was cut short (the loader was closed): it
   * must not be counted, evaluated and saved as a finished epoch. A loader that skips bad images
   * may give fewer batches, but only with at least one skipped image per batch missing.
   */
  private checkEpochComplete(train: BatchLoader, epoch: number): void {
    const missing = train.batchesPerEpoch - this.state.batch;
    if (missing <= 0 || train.stats().skipped >= missing) return;
    throw new AlexNetError(`the training loader ended epoch ${epoch + 1} after ${this.state.batch} of its ${train.batchesPerEpoch} batches ` +
      '(was it closed?); the epoch is not counted as finished', 'LOADER_CLOSED', '',
      'the last checkpoint is kept; resume the run to finish the epoch');
  }

  /** One SGD step; returns the loss as it resolves (the device may still be working). */
  private step(batch: Batch): Promise<number> {
    if (this.group) return this.stepDistributed(batch, this.group, this.reducer!);
    const x = batchToDevice(batch, this.device);
    const y = Tensor.fromArray(batch.labels, [batch.labels.length], this.device);
    this.model.reseed(deriveSeed(this.seed, this.state.epoch, this.state.batch));
    const logits = this.model.forward(x);
    const { loss, dlogits } = ops.softmaxCrossEntropy(logits, y);
    // With loss scaling the backward pass starts from the scaled gradient, and the update waits
    // for the unscaled gradients' found-inf flag (finishScaledStep).
    const seed = this.lossScaler ? this.lossScaler.scaleGradient(dlogits) : dlogits;
    this.model.backward(seed)?.dispose();
    if (this.lossScaler) this.foundInf = this.lossScaler.unscale(this.model.parameters());
    else this.optimizer.step();
    disposeAll(x, y, logits, dlogits, seed);
    return loss;
  }

  /** The step's one read of the device: its update, or a skip and a smaller scale. */
  private async finishScaledStep(): Promise<void> {
    const flags = this.foundInf!;
    this.foundInf = null;
    let finiteGradients: boolean;
    try {
      finiteGradients = (await Promise.all(flags.map((f) => f.toArray()))).every((f) => f[0] === 0);
    } finally {
      disposeAll(flags);
    }
    if (this.lossScaler!.update(finiteGradients)) this.optimizer.step();
  }

  /**
   * One step on this rank's share of the global batch: dropout drawn at its rows of the global
   * batch; the loss and this rank's stop request averaged over the ranks; the gradients averaged
   * in buckets that start while the backward pass is still being computed.
   */
  private stepDistributed(batch: Batch, group: ProcessGroup, reducer: GradientReducer): Promise<number> {
    const x = batchToDevice(batch, this.device);
    const y = Tensor.fromArray(batch.labels, [batch.labels.length], this.device);
    this.model.reseed(deriveSeed(this.seed, this.state.epoch, this.state.batch));
    this.model.setRowOffset((group.rank * this.options.train.batchSize) / group.size);
    const logits = this.model.forward(x);
    const { loss, dlogits: ownGradient } = ops.softmaxCrossEntropyTensor(logits, y);
    // The hybrid's backward works on the gradient of the global batch's mean loss: each rank's
    // rows' share of it is the gradient of its own mean over the ranks' count.
    const dlogits = this.hybrid ? ops.scale(ownGradient, 1 / group.size) : ownGradient;
    if (dlogits !== ownGradient) ownGradient.dispose();
    const stop = Tensor.fromArray(Float32Array.of(this.localStop ? 1 : 0), [1], this.device);
    const shared = group.allReduce([loss, stop], { op: 'mean' });
    const seed = this.lossScaler ? this.lossScaler.scaleGradient(dlogits) : dlogits;
    reducer.beginStep();
    this.model.backward(seed)?.dispose();
    reducer.finish();
    shared.wait();
    if (this.lossScaler) {
      // Every rank must skip or apply the same steps: the found-inf flags are summed over the
      // ranks (in the hybrid each rank unscales a different slice of fc6-fc8; in data
      // parallelism the averaged gradients agree anyway), so all read the same verdict.
      const flags = this.lossScaler.unscale(this.model.parameters());
      for (const flag of flags) group.allReduce([flag], { op: 'sum' }).wait();
      this.foundInf = flags;
    } else this.optimizer.step();
    disposeAll(x, y, logits, dlogits, seed);
    const read = Promise.all([loss.toArray(), stop.toArray()]).finally(() => disposeAll(loss, stop));
    this.stepStops.push(read.then(([, s]) => s[0]! > 0, () => false));
    return read.then(([l]) => l[0]!);
  }

  private async settle(p: PendingLoss): Promise<void> {
    const value = await p.loss;
    // Every rank settles the same steps in the same order, so all see the same agreed stop.
    if (this.group && (await this.stepStops.shift())) this.stopRequested = true;
    if (!Number.isFinite(value))
      throw new AlexNetError(`the training loss became ${value} at epoch ${p.epoch + 1}, batch ${p.batch} (step ${p.step})`,
        'NON_FINITE_LOSS', '', 'training stopped; the last good checkpoint is kept. Try a lower learning rate, or check the input data for NaN/Inf');
    this.latestLoss = value;
    this.state.epochLoss.sum += value;
    this.state.epochLoss.count++;
    this.windowLoss.sum += value;
    this.windowLoss.count++;
    if ((p.step + 1) % this.logEvery === 0) {
      this.metrics?.write('step', {
        epoch: p.epoch, batch: p.batch, step: p.step + 1, loss: this.windowLoss.sum / this.windowLoss.count, lr: this.optimizer.lr,
        ...(this.lossScaler ? { skippedSteps: this.lossScaler.skippedSteps, lossScale: this.lossScaler.scale } : {}),
      });
      this.windowLoss = { sum: 0, count: 0 };
    }
  }

  private async drain(pending: PendingLoss[]): Promise<void> {
    while (pending.length > 0) await this.settle(pending.shift()!);
  }

  private async endEpoch(): Promise<EpochRecord> {
    const epoch = this.state.epoch;
    const { seconds, images, waitSeconds } = this.lastEpochTiming;
    const trainLoss = this.state.epochLoss.sum / Math.max(this.state.epochLoss.count, 1);
    const val = this.options.val ? await evaluate(this.model, this.options.val, { epoch, group: this.group ?? undefined }) : undefined;
    const error = val ? val.top1Error : trainLoss;
    const lr = this.optimizer.lr;
    const nextLr = this.schedule.update(epoch, error);
    if (this.state.bestError === null || error < this.state.bestError) {
      this.state.bestError = error;
      this.state.bestEpoch = epoch;
    }
    const record: EpochRecord = { epoch, trainLoss, lr, nextLr, seconds, imagesPerSecond: images / Math.max(seconds, 1e-9), waitSeconds, val };
    this.state = { ...this.state, epoch: epoch + 1, batch: 0, lr: nextLr, schedule: this.schedule.state(), epochLoss: { sum: 0, count: 0 } };
    this.state.metrics = { epoch, trainLoss, ...(val ? { valLoss: val.loss, top1Error: val.top1Error, top5Error: val.top5Error } : {}) };
    this.optimizer.lr = nextLr;
    this.metrics?.write('epoch', {
      epoch, step: this.state.step, trainLoss, lr, nextLr, seconds, imagesPerSecond: record.imagesPerSecond, waitSeconds,
      ...(this.lossScaler ? { skippedSteps: this.lossScaler.skippedSteps, lossScale: this.lossScaler.scale } : {}),
      ...(val ? { valLoss: val.loss, top1Error: val.top1Error, top5Error: val.top5Error, crops: val.crops, evalSeconds: val.seconds } : {}),
    });
    const valText = val ? `  val loss ${val.loss.toFixed(4)}  top-1 error ${(100 * val.top1Error).toFixed(2)}%  top-5 error ${(100 * val.top5Error).toFixed(2)}%` : '';
    this.progress.line(`epoch ${epoch + 1}/${this.options.epochs}  train loss ${trainLoss.toFixed(4)}${valText}  ` +
      `${Math.round(record.imagesPerSecond)} img/s  ${seconds.toFixed(1)} s${nextLr !== lr ? `  lr → ${nextLr}` : ''}`);
    return record;
  }

  private async save(tags: string[]): Promise<string | undefined> {
    // The hybrid's slices are gathered by every rank together (exportState is a collective).
    if (!this.options.outDir || (!this.writes && !this.hybrid)) return undefined;
    this.state.savedAt = new Date().toISOString();
    this.state.lr = this.optimizer.lr;
    this.state.schedule = this.schedule.state();
    if (this.lossScaler) this.state.lossScale = this.lossScaler.state();
    // The model's export names (one-device names for every layout): a checkpoint loads into any layout.
    const parameters = Object.fromEntries(this.model.namedParameters().map(([n, p]) => [n, p.value]));
    const velocities = this.optimizer.stateDict();
    const weights = this.model.exportState(parameters);
    const momentum = this.model.exportState(velocities, MOMENTUM_PREFIX);
    if (!this.writes) {
      disposeDerived(weights, parameters);
      disposeDerived(momentum, velocities);
      return undefined;
    }
    try {
      const [path] = await saveCheckpoint(this.options.outDir, tags, weights, momentum, this.state, this.options.extraTensors);
      return path;
    } finally {
      disposeDerived(weights, parameters);
      disposeDerived(momentum, velocities);
    }
  }
}

/** Data parallelism needs loaders that give each rank its share of every global batch. */
function checkSharded(group: ProcessGroup, train: BatchLoader, val: BatchLoader | undefined, hybrid: boolean): void {
  for (const [name, loader] of [['train', train], ['val', val]] as const) {
    if (!loader) continue;
    const shard = loader.shard ?? { index: 0, count: 1 };
    if (shard.count !== group.size || shard.index !== group.rank)
      throw new TypeError(`${name} must be sharded for rank ${group.rank} of ${group.size} (createLoader({ shard: group })), ` +
        `but it gives share ${shard.index} of ${shard.count}`);
  }
  // A rank's share of a last batch smaller than the group is empty and not given to it; in the hybrid
  // every rank must take part in every batch's forward.
  const last = val ? val.imagesPerEpoch % val.batchSize : 0;
  if (hybrid && val && last > 0 && last < group.size)
    throw new RangeError(`the hybrid needs every rank in every batch, but the last validation batch has ${last} images for ${group.size} ranks; ` +
      'choose a batch size that leaves none, or at least one per rank');
  if (train.batchSize % group.size !== 0)
    throw new RangeError(`the batch size ${train.batchSize} (the global batch) must be a multiple of the ${group.size} ranks, ` +
      'so that every rank computes the same number of rows');
}

function isSchedule(s: unknown): s is LrSchedule {
  return typeof s === 'object' && s !== null && typeof (s as LrSchedule).update === 'function';
}

/** Sets the model and device up for `precision` and says what they compute in. */
function applyPrecision(model: Module, device: DeviceName, precision: TrainingPrecision | undefined,
  warn: (message: string) => void): TrainingPrecision {
  if (precision === undefined)
    return model.precision !== 'fp32' ? model.precision : devicePrecision(device) === 'tf32' ? 'tf32' : 'fp32';
  if (!TRAINING_PRECISIONS.includes(precision))
    throw new RangeError(`precision must be one of ${TRAINING_PRECISIONS.join(', ')}, got ${describe(precision)}`);
  if (precision === 'fp16') {
    if (!fp16Support(device).supported) throw fp16Unavailable(device);
    model.setPrecision('fp16');
    return 'fp16';
  }
  if (precision === 'bf16') {
    const support = bf16Support(device);
    if (!support.supported)
      throw new AlexNetError(`precision bf16 is not available on ${device}: ${support.reason}`, 'BF16_UNSUPPORTED', '',
        'train with precision fp32 on this device');
    model.setPrecision('bf16');
    return 'bf16';
  }
  model.setPrecision('fp32');
  if (precision === 'tf32' && !device.startsWith('cuda')) {
    warn(`precision tf32 exists only on CUDA devices: ${device} trains in fp32`);
    return 'fp32';
  }
  setDevicePrecision(device, precision);
  return precision;
}

/** Why precision fp16 cannot run on `device` (fp16Support's reason: the CPU has no float16 kernels). */
export function fp16Unavailable(device: DeviceName): AlexNetError {
  return new AlexNetError(`precision fp16 is not available on ${device}: ${fp16Support(device).reason}`,
    'FLOAT16_UNSUPPORTED', '', 'train with precision bf16 where supported, or fp32');
}
