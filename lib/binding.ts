// The raw native module and its private type. Only lib/ talks to it; users see Tensor and ops.
import { createRequire } from 'node:module';
import type { AlexNetErrorCode } from './errors.js';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: 'float32' | 'int32' | 'uint8' | 'bfloat16';
  readonly device: string;
  readonly disposed: boolean;
  reshape(shape: number[]): NativeTensor;
  to(device: string): NativeTensor;
  /** bfloat16 widened to a Float32Array, or with raw = true its bits in a Uint16Array. */
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
  dropout: ['p', 'seed'],
  sgdStep: ['lr', 'momentum', 'weightDecay'],
  topkCorrect: ['k'],
  fill: ['value'],
  scale: ['alpha'],
  normal: ['mean', 'std', 'seed', 'offset'],
} as const;
type Fields<K extends keyof typeof OPTION_FIELDS, V> = { [F in (typeof OPTION_FIELDS)[K][number]]?: V };
/** The options objects of the table's ops: a missing field takes the table's default. */
export type NativeConv2dOptions = Fields<'conv2d', number>;
export type NativeGradOptions = Fields<'grads', boolean>;
export type NativeLrnOptions = Fields<'localResponseNorm', number>;
export type NativePoolOptions = Fields<'maxPool2d', number>;
export type NativeDropoutOptions = Fields<'dropout', number>;
export type NativeSgdOptions = Fields<'sgdStep', number>;
export type NativeTopkOptions = Fields<'topkCorrect', number>;
export type NativeFillOptions = Fields<'fill', number>;
export type NativeScaleOptions = Fields<'scale', number>;
export type NativeNormalOptions = Fields<'normal', number>;
type UnaryBindings = { [K in UnaryOp]: (x: NativeTensor) => NativeTensor } &
  { [K in `${UnaryOp}Backward`]: (dy: NativeTensor, y: NativeTensor) => NativeTensor };

export interface NativeBinding extends UnaryBindings {
  NativeTensor: abstract new (...args: never[]) => NativeTensor;
  /** With dtype 'bfloat16': a Float32Array rounded to nearest even, or a Uint16Array of raw bits. */
  fromArray(data: Float32Array | Int32Array | Uint8Array | Uint16Array, shape: number[], device: string, dtype?: string): T;
  /** float32 <-> bfloat16 (a copy when the dtype is the same). */
  toDType(x: T, dtype: string): T;
  bf16Support(device: string): { supported: boolean; reason: string };
  empty(shape: number[], dtype: string, device: string): T;
  // The op table's ops: tensors, then one options object. The shape queries run the core's
  // meta functions (checks and output shape) and throw a RangeError when the shapes and options do
  // not fit together.
  conv2d(x: T, w: T, b: Opt, options: NativeConv2dOptions): T;
  conv2dBackward(dy: T, x: T, w: T, options: NativeConv2dOptions & NativeGradOptions): Grads;
  conv2dShape(xShape: readonly number[], wShape: readonly number[], options: NativeConv2dOptions): number[];
  localResponseNorm(x: T, options: NativeLrnOptions): T;
  localResponseNormBackward(dy: T, x: T, y: T, options: NativeLrnOptions): T;
  localResponseNormShape(xShape: readonly number[], options: NativeLrnOptions): number[];
  maxPool2d(x: T, options: NativePoolOptions): T;
  maxPool2dBackward(dy: T, x: T, y: T, options: NativePoolOptions): T;
  maxPool2dShape(xShape: readonly number[], options: NativePoolOptions): number[];
  linear(x: T, w: T, b: Opt): T;
  linearBackward(dy: T, x: T, w: T, options: NativeGradOptions): Grads;
  linearShape(xShape: readonly number[], wShape: readonly number[]): number[];
  dropout(x: T, options: NativeDropoutOptions): { y: T; mask: T };
  sgdStep(param: T, velocity: T, grad: T, options: NativeSgdOptions): void;
  softmaxCrossEntropy(logits: T, labels: T): { loss: T; dlogits: T };
  softmax(logits: T): T;
  topkCorrect(logits: T, labels: T, options: NativeTopkOptions): T;
  fill(t: T, options: NativeFillOptions): void;
  axpy(x: T, y: T, options: NativeScaleOptions): void;
  scale(x: T, options: NativeScaleOptions): T;
  normal(t: T, options: NativeNormalOptions): void;
  unaryOps: string[];
  opOptionFields: Record<string, string[]>;
  // Not yet in the op table: positional arguments.
  dropoutBackward(dy: T, mask: T): T;
  add(a: T, b: T): T;
  clone(x: T): T;
  sliceChannels(x: T, start: number, count: number): T;
  concatChannels(parts: T[]): T;
  copyIntoChannels(dst: T, src: T, start: number): void;
  cropImages(images: T, params: T, mean: Opt, outH: number, outW: number, scale: number): T;
  synchronize(device: string): Promise<void>;
  setErrorClass(cls: new (message: string, code: AlexNetErrorCode, call: string, hint: string) => Error): void;
  cudaInfo(): { status: string; count: number; devices: string[] };
  allocatorStats(device: string): CacheStats & { staging: CacheStats };
  emptyCache(device: string): void;
  checkDevice(device: string): string;
  setTensorFloat32(device: string, enable: boolean): void;
  tensorFloat32(device: string): boolean;
  // The data pipeline's native side (native/data), when built.
  [key: string]: unknown;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: dist/lib/.. /.. when compiled. */
export const packageRoot = resolve(here, '..', '..');

/** The file the addon was loaded from: a build from source, or the package's prebuilt binaries. */
export let addonPath = '';

/**
 * The OpenMP wait policy the CPU backend runs with: the user's OMP_WAIT_POLICY when set, else
 * PASSIVE. OpenMP threads that spin while waiting for work (libgomp's default, ACTIVE) collapse
 * throughput by up to 10x when anything else runs on the cores (measured on 2 cores: a ReLU took
 * 10-15 ms), and passive waiting cost nothing measurable on an idle machine.
 */
export let ompWaitPolicy = '';

function load(): NativeBinding {
  // libgomp reads OMP_WAIT_POLICY once, when it is loaded with the addon: the default is set only
  // for that moment, so the user's environment (and their child processes') stays as it was.
  const userPolicy = process.env.OMP_WAIT_POLICY;
  ompWaitPolicy = userPolicy ?? 'PASSIVE';
  process.env.OMP_WAIT_POLICY = ompWaitPolicy;
  try {
    return loadAddon();
  } finally {
    if (userPolicy === undefined) delete process.env.OMP_WAIT_POLICY;
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
