// Devices: "cpu" (= "cpu:0"), "cpu:N" (independent CPU devices, each with its own stream) and
// "cuda:N". Work on a device runs in submission order on its stream. A suffix "/L" names another
// stream of the same device: "cuda:0/1" shares GPU 0 with "cuda:0" but runs concurrently with it
// (its own stream, cuDNN and cuBLAS handles, and block cache); tensors move between the two with
// `to()`, an on-GPU copy ordered by events.
import { native } from './binding.js';
import type { DeviceName } from './device_name.js';
import { integer } from './validate.js';

/**
 * Waits until all work queued on `device` so far has finished. It rejects with a failure of the
 * device's own (not an op's: a failed op poisons its outputs, and reading them, or anything computed
 * from them, rejects with its error; see Tensor.toArray).
 */
export function synchronize(device: DeviceName = 'cpu'): Promise<void> {
  return native.synchronize(device);
}

/** Throws (AlexNetError CUDA_UNAVAILABLE for cuda without a usable GPU) unless `device` can be used. */
export function checkDevice(device: DeviceName): DeviceName {
  return native.checkDevice(device) as DeviceName;
}

export interface CudaInfo {
  /** "available: N device(s)" or "unavailable: <why>". */
  status: string;
  count: number;
  /** One description per GPU (name, compute capability, memory, cuDNN version). */
  devices: string[];
}

export function cudaInfo(): CudaInfo {
  return native.cudaInfo();
}

/** The devices usable here, best first: cuda:N when present, then cpu. */
export function availableDevices(): DeviceName[] {
  const cuda = native.cudaInfo();
  return [...Array.from({ length: cuda.count }, (_, i): DeviceName => `cuda:${i}`), 'cpu'];
}

/** The best available device: cuda:0 when a GPU is usable, else cpu. */
export function defaultDevice(): DeviceName {
  return availableDevices()[0]!;
}

export interface BlockCacheStats {
  /** How often the cache asked the system (malloc / cudaMalloc / cudaHostAlloc) for memory. */
  systemAllocations: number;
  bytesInUse: number;
  bytesCached: number;
}

export interface AllocatorStats extends BlockCacheStats {
  /**
   * The page-locked host blocks that uploads and downloads of a CUDA device are staged through
   * (always zero on CPU devices, whose memory is host memory).
   */
  staging: BlockCacheStats;
}

export function allocatorStats(device: DeviceName = 'cpu'): AllocatorStats {
  return native.allocatorStats(device);
}

/** Returns cached blocks to the system (waits for the device first). */
export function emptyCache(device: DeviceName = 'cpu'): void {
  native.emptyCache(device);
}

export type Precision = 'fp32' | 'tf32';

/**
 * Strict FP32 (the default: cuDNN FMA math, default cuBLAS math, the same results as the CPU) or
 * TF32 tensor cores for convolutions and GEMMs on a CUDA device (faster, ~1e-3 relative error).
 * Work queued after the call uses the new mode. CPUs have only FP32.
 */
export function setPrecision(device: DeviceName, precision: Precision): void {
  if (precision !== 'fp32' && precision !== 'tf32')
    throw new TypeError(`precision must be 'fp32' or 'tf32', got ${JSON.stringify(precision)}`);
  const name = native.checkDevice(device);
  if (precision === 'tf32' && !name.startsWith('cuda'))
    throw new RangeError(`precision 'tf32' exists only on CUDA devices; ${name} always computes in FP32`);
  native.setTensorFloat32(device, precision === 'tf32');
}

export function precision(device: DeviceName): Precision {
  return native.tensorFloat32(device) ? 'tf32' : 'fp32';
}

/**
 * Deterministic algorithms only (like `torch.use_deterministic_algorithms(True)`): on a CUDA device,
 * cuDNN convolutions then use only algorithms that give the same bits on every run, at some cost in
 * speed; by default the fastest are used, and some of those (the backward passes' atomic
 * accumulations) add in a different order from run to run, which moves results by rounding. The
 * CPU backend is deterministic either way. Work queued after the call uses the new choice.
 */
export function setDeterministic(device: DeviceName, enable: boolean): void {
  native.setDeterministic(device, enable);
}

export function deterministic(device: DeviceName): boolean {
  return native.deterministic(device);
}

/** The most host threads `setNumThreads` accepts (the native core's bound). */
export const MAX_THREADS = 1024;

/**
 * Sets how many host threads the CPU backend computes with (OpenMP loops and oneDNN), on every CPU
 * device, those that exist and those made later, like `torch.set_num_threads`. Work queued after the
 * call uses the new count; work already queued keeps the old one. The process environment is left as
 * it is (OMP_NUM_THREADS only sets the default). CUDA devices are unaffected.
 */
export function setNumThreads(threads: number): void {
  native.setNumThreads(integer(threads, 'threads', 1, MAX_THREADS));
  threadsChosen = true;
}

let threadsChosen = false;

/** @internal Whether setNumThreads was called (then a process group leaves the count alone). */
export function threadCountChosen(): boolean {
  return threadsChosen;
}

/** The CPU backend's thread count: the one set, else OMP_NUM_THREADS, else the cores OpenMP sees. */
export function numThreads(): number {
  return native.numThreads();
}
