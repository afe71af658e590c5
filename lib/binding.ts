// The raw native module and its private type. Only lib/ talks to it; users see Tensor and ops.
import { createRequire } from 'node:module';
import type { AlexNetErrorCode } from './errors.js';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: 'float32' | 'int32' | 'uint8' | 'bfloat16' | 'float16';
  readonly device: string;
  readonly disposed: boolean;
  reshape(shape: number[]): NativeTensor;
  to(device: string): NativeTensor;
  /** bfloat16 and float16 widened to a Float32Array, or with raw = true their bits in a Uint16Array. */
  toArray(raw?: boolean): Promise<Float32Array | Int32Array | Uint8Array | Uint16Array>;
  dispose(): void;
}

type T = NativeTensor;
interface CacheStats { systemAllocations: number; bytesInUse: number; bytesCached: number }
type Opt = NativeTensor | null;
export interface Grads { dx: Opt; dw: T; db: Opt }

/**
 * Mirrors of the op table (native/include/alexnet/op_table.hpp), from which the binding types
 * below follow; the addon exports the table's own lists (`unaryOps`, `opOptionFields`) and
 * test/19.ops.table.test.ts holds these to them.
 */
export const UNARY_OPS = ['relu', 'tanh'] as const;
export type UnaryOp = typeof UNARY_OPS[number];
export const OPTION_FIELDS = {
  conv2d: ['strideH', 'strideW', 'padH', 'padW', 'groups'],
  grads: ['wantDx', 'wantDb'],
  localResponseNorm: ['size', 'alpha', 'beta', 'k'],
  maxPool2d: ['kernelH', 'kernelW', 'strideH', 'strideW'],
  dropout: ['p', 'seed', 'offset', 'rowStride'],
  sgdStep: ['lr', 'momentum', 'weightDecay'],
  topkCorrect: ['k'],
  fill: ['value'],
  scale: ['alpha'],
  normal: ['mean', 'std', 'seed', 'offset'],
  cropImages: ['outH', 'outW', 'scale'],
  channels: ['start', 'count'],
} as const;
/** The options object of a table's op by its jsName: a missing field takes the table's default. */
export type NativeOptions<K extends keyof typeof OPTION_FIELDS> =
  { [F in (typeof OPTION_FIELDS)[K][number]]?: K extends 'grads' ? boolean : number };
type UnaryBindings = { [K in UnaryOp]: (x: NativeTensor) => NativeTensor } &
  { [K in `${UnaryOp}Backward`]: (dy: NativeTensor, y: NativeTensor) => NativeTensor };

export interface NativeGroupInfo {
  rank: number;
  size: number;
  localRank: number;
  timeoutSeconds: number;
  cpuTransport: string;
  cudaTransport: string;
}
/** A collective in flight (an opaque handle). */
export type NativeCollective = { readonly __collective: unique symbol };

export interface NativeBinding extends UnaryBindings {
  NativeTensor: abstract new (...args: never[]) => NativeTensor;
  /** With dtype 'bfloat16' or 'float16': a Float32Array rounded to nearest even, or a Uint16Array of raw bits. */
  fromArray(data: Float32Array | Int32Array | Uint8Array | Uint16Array, shape: number[], device: string, dtype?: string): T;
  /** Between float32, bfloat16 and float16 (a copy when the dtype is the same). */
  toDType(x: T, dtype: string): T;
  bf16Support(device: string): { supported: boolean; reason: string };
  fp16Support(device: string): { supported: boolean; reason: string };
  empty(shape: number[], dtype: string, device: string): T;
  // The op table's ops: tensors, then one options object. The shape queries run the core's
  // meta functions (checks and output shape) and throw a RangeError when the shapes and options do
  // not fit together.
  conv2d(x: T, w: T, b: Opt, options: NativeOptions<'conv2d'>): T;
  conv2dBackward(dy: T, x: T, w: T, options: NativeOptions<'conv2d'> & NativeOptions<'grads'>): Grads;
  conv2dShape(xShape: readonly number[], wShape: readonly number[], options: NativeOptions<'conv2d'>): number[];
  localResponseNorm(x: T, options: NativeOptions<'localResponseNorm'>): T;
  localResponseNormBackward(dy: T, x: T, y: T, options: NativeOptions<'localResponseNorm'>): T;
  localResponseNormShape(xShape: readonly number[], options: NativeOptions<'localResponseNorm'>): number[];
  maxPool2d(x: T, options: NativeOptions<'maxPool2d'>): T;
  maxPool2dBackward(dy: T, x: T, y: T, options: NativeOptions<'maxPool2d'>): T;
  maxPool2dShape(xShape: readonly number[], options: NativeOptions<'maxPool2d'>): number[];
  linear(x: T, w: T, b: Opt): T;
  linearBackward(dy: T, x: T, w: T, options: NativeOptions<'grads'>): Grads;
  linearShape(xShape: readonly number[], wShape: readonly number[]): number[];
  dropout(x: T, options: NativeOptions<'dropout'>): { y: T; mask: T };
  sgdStep(param: T, velocity: T, grad: T, options: NativeOptions<'sgdStep'>): void;
  softmaxCrossEntropy(logits: T, labels: T): { loss: T; dlogits: T };
  softmax(logits: T): T;
  topkCorrect(logits: T, labels: T, options: NativeOptions<'topkCorrect'>): T;
  fill(t: T, options: NativeOptions<'fill'>): void;
  axpy(x: T, y: T, options: NativeOptions<'scale'>): void;
  scale(x: T, options: NativeOptions<'scale'>): T;
  /** Multiplies each gradient by options.alpha (1 / scale) in place; returns the found-inf flag [1] (1 or 0). */
  unscaleGradients(grads: T[], options: NativeOptions<'scale'>): T;
  normal(t: T, options: NativeOptions<'normal'>): void;
  unaryOps: string[];
  opOptionFields: Record<string, string[]>;
  // Not yet in the op table: positional arguments.
  dropoutBackward(dy: T, mask: T): T;
  add(a: T, b: T): T;
  clone(x: T): T;
  sliceChannels(x: T, options: NativeOptions<'channels'>): T;
  concatChannels(parts: T[]): T;
  copyIntoChannels(dst: T, src: T, options: NativeOptions<'channels'>): void;
  cropImages(images: T, params: T, mean: Opt, options: NativeOptions<'cropImages'>): T;
  synchronize(device: string): Promise<void>;
  setErrorClass(cls: new (message: string, code: AlexNetErrorCode, call: string, hint: string) => Error): void;
  cudaInfo(): { status: string; count: number; devices: string[] };
  allocatorStats(device: string): CacheStats & { staging: CacheStats };
  emptyCache(device: string): void;
  checkDevice(device: string): string;
  setTensorFloat32(device: string, enable: boolean): void;
  tensorFloat32(device: string): boolean;
  setDeterministic(device: string, enable: boolean): void;
  deterministic(device: string): boolean;
  // The process group (native/include/alexnet/distributed.hpp).
  initDistributed(timeoutSeconds: number): Promise<NativeGroupInfo>;
  distributedGroup(): NativeGroupInfo | null;
  allReduceStart(tensors: T[], mean: boolean): NativeCollective;
  broadcastStart(tensors: T[], root: number): NativeCollective;
  allGatherStart(input: T, output: T, dim: number, counts: number[]): NativeCollective;
  reduceScatterStart(input: T, output: T, dim: number, counts: number[], mean: boolean): NativeCollective;
  collectiveWait(handle: NativeCollective): void;
  collectiveDone(handle: NativeCollective): Promise<void>;
  barrier(): Promise<void>;
  rollCall(seconds: number): Promise<number[]>;
  abortAtShutdown(): void;
  transportInfo(): { mpi: string; nccl: string };
  requireNccl(): void;
  setNumThreads(threads: number): void;
  numThreads(): number;
  // The data pipeline's native side (native/data), when built.
  [key: string]: unknown;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: dist/lib/.. /.. when compiled. */
export const packageRoot = resolve(here, '..', '..');

/** The file the addon was loaded from: a build from source, or the package's prebuilt binaries. */
export let addonPath = '';

/**
 * How the CPU backend's OpenMP threads wait for work, as `alexnet info` prints it: the user's
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT when either is set, else a short spin (GOMP_SPINCOUNT=1000,
 * about 25 us here) before sleeping. Measured on 2 cores at the quick preset's training step:
 * - sleeping at once (PASSIVE) pays a wake-up of some 40 us at each of the ~140 parallel regions
 *   of a step: 29.3 ms/step (fp32), 24.3 (bf16);
 * - spinning 1000 times: 25.7 and 20.7 ms/step (real training: +13% fp32, +31% bf16);
 * - libgomp's default (300,000 spins, ~7.5 ms) or ACTIVE: 24.3 and 18.7 ms/step, but two
 *   trainings sharing the 2 cores then run 18x slower (855 ms/step) as spinning threads take the
 *   cores from the ones with work; with 1000 spins that costs 12% (53 against 47 ms/step).
 */
export let ompWaitPolicy = '';

/** The spin count the addon loads libgomp with when the user chose no wait policy. */
export const DEFAULT_GOMP_SPINCOUNT = '1000';

function load(): NativeBinding {
  // libgomp reads its environment once, when it is loaded with the addon: the default is set only
  // for that moment, so the user's environment (and their child processes') stays as it was.
  const userPolicy = process.env.OMP_WAIT_POLICY, userSpin = process.env.GOMP_SPINCOUNT;
  if (userPolicy === undefined && userSpin === undefined) {
    ompWaitPolicy = `GOMP_SPINCOUNT=${DEFAULT_GOMP_SPINCOUNT}`;
    process.env.GOMP_SPINCOUNT = DEFAULT_GOMP_SPINCOUNT;
  } else {
    ompWaitPolicy = [userPolicy !== undefined ? `OMP_WAIT_POLICY=${userPolicy}` : '', userSpin !== undefined ? `GOMP_SPINCOUNT=${userSpin}` : '']
      .filter(Boolean).join(' ');
  }
  try {
    return loadAddon();
  } finally {
    if (userPolicy === undefined && userSpin === undefined) delete process.env.GOMP_SPINCOUNT;
  }
}

function loadAddon(): NativeBinding {
  const require = createRequire(import.meta.url);
  // An explicit ALEXNET_ADDON is the only candidate: falling back would hide a broken build.
  // Otherwise a build from source wins over the prebuilt binaries the package may carry (which
  // scripts/install.mjs found unfit when it built from source).
  const candidates = process.env.ALEXNET_ADDON
    ? [process.env.ALEXNET_ADDON]
    : [join(packageRoot, 'build', 'Release', 'alexnet.node'), join(packageRoot, 'build', 'Debug', 'alexnet.node'),
        join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'alexnet.node')];
  const failures: string[] = [];
  for (const path of candidates) {
    if (!existsSync(path)) {
      failures.push(`${path}: not found`);
      continue;
    }
    try {
      const binding = require(path) as NativeBinding;
      addonPath = path;
      return binding;
    } catch (e) {
      failures.push(`${path}: ${(e as Error).message}`);
    }
  }
  throw new Error(
    'Could not load the alexnet native addon. Tried:\n  ' + failures.join('\n  ') +
    '\nReinstall to use the prebuilt binaries where they fit (npm rebuild alexnet-cudnn), build it with ' +
    '`npm run build` (needs cmake, a C++17 compiler and oneDNN: bash scripts/install-deps.sh), ' +
    'or set ALEXNET_ADDON to the .node file.');
}

export const native: NativeBinding = load();
