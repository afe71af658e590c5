// Checkpoints: weights and momentum in one safetensors file (`conv1.weight`,
// `momentum.conv1.weight`), the training state as JSON both inside it (metadata "alexnet.state",
// so weights and state are replaced together in one atomic rename) and beside it (<tag>.json, for
// people and tools).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AlexNetError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { writeFileAtomic } from './atomic.js';
import { readRegularFile } from './regular_file.js';
import { decodeSafetensors, encodeSafetensors, type HostTensor } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'alexnet-checkpoint-v1';

/** Where a run stands, enough to continue it exactly (all randomness derives from `seed`). */
export interface TrainingState {
  format: typeof CHECKPOINT_FORMAT;
  /** The epoch in progress (or the next to start when `batch` is 0). */
  epoch: number;
  /** The next batch of that epoch. */
  batch: number;
  /** Optimiser steps taken in total. */
  step: number;
  lr: number;
  schedule: Record<string, number | string>;
  seed: number;
  /** How the random streams derive from the seed (dropout masks, data order). */
  rng: string;
  bestError: number | null;
  bestEpoch: number | null;
  /** Training-loss sums of the epoch in progress, so a resumed epoch reports the same mean. */
  epochLoss: { sum: number; count: number };
  /** The model's configuration (AlexNetConfig), to rebuild it. */
  model: Record<string, unknown>;
  /** The training options the run was started with. */
  training: Record<string, unknown>;
  /** The last evaluation, if any. */
  metrics?: Record<string, unknown>;
  savedAt: string;
}

export interface CheckpointContents {
  file: string;
  state: TrainingState;
  /** The model's parameters (`conv1.weight` …). */
  weights: Record<string, HostTensor>;
  /** SGD velocities (`momentum.conv1.weight` …). */
  momentum: Record<string, HostTensor>;
  /** Other tensors a run keeps with its weights, e.g. the training set's mean image (`data.mean_image`). */
  extra: Record<string, HostTensor>;
}

const MOMENTUM = 'momentum.';
/** Prefix of the extra tensors: they are neither weights nor momentum. */
export const EXTRA_PREFIX = 'data.';

async function download(tensors: Record<string, Tensor>): Promise<Record<string, HostTensor>> {
  const entries = await Promise.all(Object.entries(tensors).map(async ([n, t]) => {
    const data = await t.toArray();
    if (!(data instanceof Float32Array)) throw new TypeError(`tensor '${n}' must be float32 to be saved`);
    return [n, { data, shape: t.shape } as HostTensor] as const;
  }));
  return Object.fromEntries(entries);
}

/**
 * Writes `<dir>/<tag>.safetensors` and `<dir>/<tag>.json` for every tag (e.g. ['last', 'best']),
 * each atomically. Waits for the device to compute the tensors first.
 */
export async function saveCheckpoint(dir: string, tags: string[], weights: Record<string, Tensor>,
  momentum: Record<string, Tensor>, state: TrainingState, extra: Record<string, HostTensor> = {}): Promise<string[]> {
  for (const name of Object.keys(momentum))
    if (!name.startsWith(MOMENTUM)) throw new RangeError(`momentum entries must be named ${MOMENTUM}<parameter>, got '${name}'`);
  for (const name of Object.keys(extra))
    if (!name.startsWith(EXTRA_PREFIX)) throw new RangeError(`extra entries must be named ${EXTRA_PREFIX}<name>, got '${name}'`);
  const host = { ...(await download({ ...weights, ...momentum })), ...extra };
  const bytes = encodeSafetensors(host, {
    format: CHECKPOINT_FORMAT,
    'alexnet.state': JSON.stringify(state),
  });
  const json = JSON.stringify(state, null, 2) + '\n';
  const written: string[] = [];
  for (const tag of tags) {
    const path = join(dir, `${tag}.safetensors`);
    await writeFileAtomic(path, bytes);
    await writeFileAtomic(join(dir, `${tag}.json`), json);
    written.push(path);
  }
  return written;
}

/** Reads a checkpoint file; every failure names the file (AlexNetError BAD_FILE / IO_ERROR). */
export async function loadCheckpoint(file: string): Promise<CheckpointContents> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, 'checkpoint');
  } catch (e) {
    if (e instanceof AlexNetError) throw e;
    throw new AlexNetError(`cannot read checkpoint ${file}: ${(e as Error).message}`, 'IO_ERROR', 'readFile');
  }
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  const bad = (why: string): never => {
    throw new AlexNetError(`${file} is not an alexnet checkpoint: ${why}`, 'BAD_FILE');
  };
  if (metadata.format !== CHECKPOINT_FORMAT) bad(`its metadata format is ${JSON.stringify(metadata.format)}, expected "${CHECKPOINT_FORMAT}"`);
  let state: TrainingState;
  try {
    state = JSON.parse(metadata['alexnet.state'] ?? '');
  } catch {
    return bad('its "alexnet.state" metadata is missing or not JSON');
  }
  if (state?.format !== CHECKPOINT_FORMAT || typeof state.epoch !== 'number') bad('its training state is incomplete');
  const weights: Record<string, HostTensor> = {};
  const momentum: Record<string, HostTensor> = {};
  const extra: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(tensors))
    (name.startsWith(MOMENTUM) ? momentum : name.startsWith(EXTRA_PREFIX) ? extra : weights)[name] = t;
  return { file, state, weights, momentum, extra };
}

/** Host tensors → device tensors (the caller disposes them). */
export function toDevice(tensors: Record<string, HostTensor>, device: string): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(tensors).map(([n, t]) => {
    if (!(t.data instanceof Float32Array)) throw new AlexNetError(`tensor '${n}' is float64; model tensors must be float32`, 'BAD_FILE');
    return [n, Tensor.fromArray(t.data, t.shape, device)];
  }));
}

/**
 * A checkpoint file from a path: the file itself, or for a run directory its best checkpoint
 * (`prefer: 'best'`) or its last one.
 */
export function checkpointPath(path: string, prefer: 'best' | 'last' = 'best'): string {
  if (!existsSync(path)) throw new AlexNetError(`checkpoint ${path} does not exist`, 'IO_ERROR');
  if (!statSync(path).isDirectory()) return path;
  const order = prefer === 'best' ? ['best', 'last'] : ['last', 'best'];
  for (const tag of order) {
    const file = join(path, `${tag}.safetensors`);
    if (existsSync(file)) return file;
  }
  throw new AlexNetError(`${path} holds no checkpoint (looked for best.safetensors and last.safetensors)`, 'IO_ERROR');
}

