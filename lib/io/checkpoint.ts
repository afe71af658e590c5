// Checkpoints: weights and momentum in one safetensors file (`conv1.weight`,
// `momentum.conv1.weight`), the training state as JSON both inside it (metadata "alexnet.state",
// so weights and state are replaced together in one atomic rename) and beside it (<tag>.json, for
// people and tools). The state inside the safetensors file is the record: everything that resumes
// or evaluates reads it from there, and the JSON copy is rewritten from it when it lags (see
// repairStateCopies).
import type { LossScalerState } from '../optim/loss_scaler.js';
import type { DeviceName } from '../device_name.js';
import { open, readFile, stat } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AlexNetError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { writeFileAtomic } from './atomic.js';
import { decodeSafetensors, encodeSafetensors, type HostTensor } from './safetensors.js';
import { renameStateDict, weightAsFloat32 } from './state_dict.js';

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
  /** Loss scaling's state (optim/loss_scaler.ts), when the run scales its loss. */
  lossScale?: LossScalerState;
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

/**
 * The largest safetensors header a checkpoint may state. Ours are a few KB (tensor names, shapes,
 * the training state); the bound is checked before the header is read, so a file that claims a
 * huge one is refused instead of read.
 */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/**
 * The bytes of a checkpoint file, read only once they are known to be bounded: a regular file
 * (a device such as /dev/zero or a FIFO is refused before it is opened for reading, so it can
 * neither fill memory nor block), whose stated header fits MAX_HEADER_BYTES and the file.
 */
async function readCheckpointBytes(file: string): Promise<Buffer> {
  const io = (e: unknown): never => {
    throw new AlexNetError(`cannot read checkpoint ${file}: ${(e as Error).message}`, 'IO_ERROR', 'read');
  };
  const bad = (why: string): never => {
    throw new AlexNetError(`${file} is not a valid safetensors file: ${why}`, 'BAD_FILE', '',
      'the file may be truncated or corrupt; use another checkpoint (e.g. best instead of last)');
  };
  const info = await stat(file).catch(io);
  if (!info.isFile()) throw new AlexNetError(`checkpoint ${file} is not a regular file (a checkpoint is a .safetensors file)`, 'BAD_FILE');
  const size = info.size;
  if (size < 8) bad(`it has ${size} bytes, fewer than the 8-byte header length`);
  const handle = await open(file, 'r').catch(io);
  try {
    const head = Buffer.alloc(8);
    await handle.read(head, 0, 8, 0).catch(io);
    const headerLength = head.readBigUInt64LE(0);
    if (headerLength > BigInt(MAX_HEADER_BYTES)) bad(`its header length ${headerLength} exceeds the maximum of ${MAX_HEADER_BYTES} bytes`);
    if (Number(headerLength) > size - 8) bad(`its header length ${headerLength} exceeds the file size ${size}`);
    let bytes: Buffer;
    try {
      bytes = Buffer.allocUnsafe(size);
    } catch (e) {
      return io(e);
    }
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(bytes, at, size - at, at).catch(io);
      if (bytesRead === 0) bad(`it ended after ${at} of its ${size} bytes while being read`);
      at += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The first tensor with a NaN or an infinity, and how many such values it holds. */
function firstNonFinite(tensors: Record<string, HostTensor>): { name: string; count: number } | null {
  for (const [name, t] of Object.entries(tensors)) {
    let count = 0;
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i]!)) count++;
    if (count > 0) return { name, count };
  }
  return null;
}

/**
 * Reads a checkpoint file; every failure names the file (AlexNetError BAD_FILE / IO_ERROR). A
 * tensor holding NaN or infinity is refused, naming it: such weights give outputs that are not
 * numbers, and a run resumed from them has nothing to continue from. Weights and momentum are
 * float32 whatever their dtype in the file (see weightAsFloat32). A plain state dict, without our
 * metadata, is refused here: readWeightsFile reads those.
 */
export async function loadCheckpoint(file: string): Promise<CheckpointContents> {
  const { tensors, metadata } = decodeSafetensors(await readCheckpointBytes(file), file);
  if (!isOurs(metadata))
    throw new AlexNetError(`${file} is not an alexnet checkpoint: its metadata format is ${JSON.stringify(metadata.format)}, not "${CHECKPOINT_FORMAT}"; ` +
      'as a plain state dict of weights it can be evaluated, with the architecture given: alexnet eval/predict/export --preset NAME ' +
      '(and the model flags), or loadModel(file, device, { model })', 'BAD_FILE');
  return checkpointFromContents(file, tensors, metadata);
}

/**
 * Whether a file's metadata claims to be one of our checkpoints (then it must be a whole one);
 * anything else, e.g. PyTorch's `{"format": "pt"}` or no metadata, is a plain state dict.
 */
function isOurs(metadata: Record<string, string>): boolean {
  return metadata.format === CHECKPOINT_FORMAT || metadata['alexnet.state'] !== undefined;
}

function checkpointFromContents(file: string, tensors: Record<string, HostTensor>, metadata: Record<string, string>): CheckpointContents {
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
  const nonFinite = firstNonFinite(tensors);
  if (nonFinite) bad(`tensor '${nonFinite.name}' holds ${nonFinite.count} non-finite value${nonFinite.count === 1 ? '' : 's'} (NaN or infinity)`);
  const weights: Record<string, HostTensor> = {};
  const momentum: Record<string, HostTensor> = {};
  const extra: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith(EXTRA_PREFIX)) extra[name] = t;
    else (name.startsWith(MOMENTUM) ? momentum : weights)[name] = weightAsFloat32(file, name, t);
  }
  return { file, state, weights, momentum, extra };
}

/** The weights of a checkpoint or of a plain state dict (readWeightsFile). */
export interface WeightsFile extends Omit<CheckpointContents, 'state'> {
  /** The training state of one of our checkpoints; null for a plain state dict. */
  state: TrainingState | null;
  /** How the tensors were named in the file: ours, or an nn.Sequential's (renamed to ours). */
  naming: 'alexnet' | 'sequential';
  /** For a renamed file, each of its layers and the layer it became (`features.0` → `conv1`). */
  renamed: [string, string][];
}

/**
 * Reads one of our checkpoints (as loadCheckpoint) or a plain state dict: a safetensors file of
 * weights alone, e.g. written by PyTorch, whose tensors are named as ours or as an nn.Sequential's
 * (see renameStateDict). A plain state dict says nothing about the model: the caller supplies it.
 * Every tensor is checked for NaN and infinity; weights become float32.
 */
export async function readWeightsFile(file: string): Promise<WeightsFile> {
  const { tensors, metadata } = decodeSafetensors(await readCheckpointBytes(file), file);
  if (isOurs(metadata))
    return { ...checkpointFromContents(file, tensors, metadata), naming: 'alexnet', renamed: [] };
  const nonFinite = firstNonFinite(tensors);
  if (nonFinite)
    throw new AlexNetError(`${file}: tensor '${nonFinite.name}' holds ${nonFinite.count} non-finite value${nonFinite.count === 1 ? '' : 's'} (NaN or infinity)`, 'BAD_FILE');
  const { weights, naming, renamed } = renameStateDict(file, tensors);
  for (const [name, t] of Object.entries(weights)) weights[name] = weightAsFloat32(file, name, t);
  return { file, state: null, weights, momentum: {}, extra: {}, naming, renamed };
}

/** Host tensors → device tensors (the caller disposes them). */
export function toDevice(tensors: Record<string, HostTensor>, device: DeviceName): Record<string, Tensor> {
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


/**
 * Checks the fields a resumed run continues from (a checkpoint evaluates without them, but a run
 * cannot continue without them); AlexNetError BAD_FILE naming the file and the field.
 */
export function checkResumeState(state: TrainingState, file: string): void {
  const bad = (field: string, why: string): never => {
    throw new AlexNetError(`${file} cannot be resumed from: its training state's ${field} ${why}`, 'BAD_FILE');
  };
  const count = (field: 'epoch' | 'batch' | 'step'): void => {
    const v = state[field];
    if (!Number.isSafeInteger(v) || v < 0) bad(field, `is ${JSON.stringify(v)}, not an integer >= 0`);
  };
  count('epoch');
  count('batch');
  count('step');
  if (typeof state.lr !== 'number' || !Number.isFinite(state.lr) || state.lr < 0) bad('lr', `is ${JSON.stringify(state.lr)}, not a number >= 0`);
  const schedule = state.schedule as unknown;
  if (typeof schedule !== 'object' || schedule === null || Array.isArray(schedule) || typeof (schedule as { type?: unknown }).type !== 'string')
    bad('schedule', `is ${schedule === undefined ? 'missing' : JSON.stringify(schedule)}, not an object with a type`);
  if (!Number.isSafeInteger(state.seed)) bad('seed', `is ${JSON.stringify(state.seed)}, not an integer`);
  const loss = state.epochLoss as unknown as { sum?: unknown; count?: unknown } | undefined;
  if (typeof loss?.sum !== 'number' || !Number.isFinite(loss.sum) || !Number.isSafeInteger(loss.count) || (loss.count as number) < 0)
    bad('epochLoss', `is ${JSON.stringify(loss)}, not { sum, count }`);
  if (state.bestError !== null && typeof state.bestError !== 'number') bad('bestError', `is ${JSON.stringify(state.bestError)}, not a number or null`);
  if (state.bestEpoch !== null && !Number.isSafeInteger(state.bestEpoch)) bad('bestEpoch', `is ${JSON.stringify(state.bestEpoch)}, not an integer or null`);
}

/**
 * The checkpoint a run continues from: `path` itself when it is a file; for a run directory its
 * last checkpoint, or, when that cannot be read or resumed from (a disk that filled up, a copy cut
 * short), its best one, after `warn` has been told what was wrong with the last.
 */
export async function loadResumeCheckpoint(path: string, warn: (message: string) => void): Promise<CheckpointContents> {
  const load = async (file: string): Promise<CheckpointContents> => {
    const ckpt = await loadCheckpoint(file);
    checkResumeState(ckpt.state, file);
    // Weights alone (alexnet export --weights-only) evaluate, but training needs the velocities too.
    if (Object.keys(ckpt.momentum).length === 0)
      throw new AlexNetError(`${file} cannot be resumed from: it holds weights only, no momentum (as alexnet export --weights-only writes); ` +
        'evaluate it, or resume from the checkpoint it was exported from', 'BAD_FILE');
    return ckpt;
  };
  const file = checkpointPath(path, 'last');
  const best = join(path, 'best.safetensors');
  if (file === path || file === best) return load(file);
  try {
    return await load(file);
  } catch (e) {
    if (!(e instanceof AlexNetError) || !existsSync(best)) throw e;
    warn(`cannot resume from ${file}: ${e.message.split('\n')[0]}; resuming from ${best} instead (the epochs after it run again)`);
    return load(best);
  }
}

/**
 * The training state stored in a checkpoint's header, read without its tensors (the header only,
 * bounded by MAX_HEADER_BYTES), or null when the file holds none that can be read.
 */
export async function readCheckpointState(file: string): Promise<TrainingState | null> {
  let handle;
  try {
    const info = await stat(file);
    if (!info.isFile() || info.size < 8) return null;
    handle = await open(file, 'r');
    const head = Buffer.alloc(8);
    await handle.read(head, 0, 8, 0);
    const length = head.readBigUInt64LE(0);
    if (length > BigInt(Math.min(MAX_HEADER_BYTES, info.size - 8))) return null;
    const header = Buffer.alloc(Number(length));
    const { bytesRead } = await handle.read(header, 0, header.length, 8);
    if (bytesRead !== header.length) return null;
    const state = JSON.parse(JSON.parse(header.toString('utf8'))?.__metadata__?.['alexnet.state'] ?? 'null');
    return state?.format === CHECKPOINT_FORMAT ? state : null;
  } catch {
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Makes every `<tag>.json` of a run directory show the state inside `<tag>.safetensors`. The
 * state inside the checkpoint is the one record of where a run stands (weights and state are
 * replaced in one rename); the JSON beside it is a copy for people and tools, written just after,
 * so a run killed between the two renames leaves a copy one save behind. This rewrites such a copy.
 * Returns the JSON files rewritten.
 */
export async function repairStateCopies(dir: string, tags = ['last', 'best']): Promise<string[]> {
  const repaired: string[] = [];
  for (const tag of tags) {
    const state = await readCheckpointState(join(dir, `${tag}.safetensors`));
    if (!state) continue;
    const jsonFile = join(dir, `${tag}.json`);
    const json = JSON.stringify(state, null, 2) + '\n';
    let current = '';
    try {
      current = await readFile(jsonFile, 'utf8');
    } catch {
      // missing: written below
    }
    if (current === json) continue;
    await writeFileAtomic(jsonFile, json);
    repaired.push(jsonFile);
  }
  return repaired;
}
