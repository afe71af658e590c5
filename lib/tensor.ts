// Tensors: handles to device storage. Work on them is queued on their device's stream; reading
// values back (`toArray`) is the one place to await.
import { native, type NativeTensor } from './binding.js';
import { AlexNetError } from './errors.js';
import type { DeviceName } from './device_name.js';
import { track } from './tidy.js';
import { MAX_DIMENSION, MAX_ELEMENTS, describe, float32, shapeString, validShape } from './validate.js';

export { MAX_DIMENSION, MAX_ELEMENTS };

native.setErrorClass(AlexNetError);

export type DType = 'float32' | 'int32' | 'uint8' | 'bfloat16' | 'float16';
/** The floating-point dtypes a tensor converts between with `to(dtype)`. */
export type FloatDType = 'float32' | 'bfloat16' | 'float16';
const FLOAT_DTYPES: readonly string[] = ['float32', 'bfloat16', 'float16'];
/** The 16-bit dtypes: uploaded from a Float32Array (rounded) or a Uint16Array of raw bits. */
const HALF_DTYPES: readonly string[] = ['bfloat16', 'float16'];
export type { DeviceName } from './device_name.js';

const WRAP = Symbol('wrap');

/**
 * A dense row-major float32 (or int32, uint8 for raw images, bfloat16 or float16 for mixed
 * precision) tensor on one device.
 *
 * bfloat16 keeps float32's 8 exponent bits and 8 significant bits (unit roundoff 2^-8); float16
 * (IEEE binary16) has 5 exponent bits and 11 significant bits (unit roundoff 2^-11, largest finite
 * 65504, subnormals down to 2^-24). Uploads from a Float32Array round to nearest even (a float16
 * beyond 65504 becomes ±Infinity); `toArray()` gives the exact values as a Float32Array and
 * `toBits()` the raw bits as a Uint16Array (which `fromArray(bits, shape, device, dtype)` takes
 * back). The convolution, LRN, pooling, linear and ReLU ops compute in float16 on devices that
 * support it (`fp16Support`: CUDA); any other op, and those ops elsewhere (the CPU), given a
 * float16 tensor throw an AlexNetError FLOAT16_UNSUPPORTED naming the op; convert with
 * `to('float32')`.
 *
 * Sizes: every dimension is in [1, MAX_DIMENSION] (2^31 - 1) and a tensor has at most
 * MAX_ELEMENTS (2^40) elements; shapes beyond either are a RangeError naming the shape.
 *
 * Errors of queued work: ops return at once and run later on the device's stream. When one fails
 * (a label out of range, a crop window outside its image), its outputs are poisoned: `toArray()` on
 * them, or on any tensor computed from them, rejects with that op's AlexNetError. Unrelated tensors
 * and `synchronize()` are unaffected. Overwriting a whole tensor (`ops.fill`, `ops.normal`) makes it
 * valid again.
 *
 * Back-pressure: each device's stream holds at most 256 MiB of pending outputs (and 1024 ops); a
 * call beyond that waits until the device has caught up, so a loop that never awaits cannot outrun
 * memory.
 */
export class Tensor {
  /** @internal */
  readonly native: NativeTensor;

  /** @internal Use Tensor.fromArray / Tensor.zeros / ops. */
  constructor(token: typeof WRAP, handle: NativeTensor) {
    if (token !== WRAP) throw new TypeError('Tensor cannot be constructed directly; use Tensor.fromArray');
    this.native = handle;
    track(this);
  }

  /** @internal */
  static wrap(handle: NativeTensor): Tensor {
    return new Tensor(WRAP, handle);
  }

  /**
   * Copies `data` to a new tensor of `shape` on `device` ("cpu", "cpu:1", "cuda:0"...). `data` may
   * be a view of an ArrayBuffer or of a SharedArrayBuffer; its values are read once, during the call.
   */
  static fromArray(data: Float32Array | Int32Array | Uint8Array | Uint16Array, shape: readonly number[],
    device: DeviceName = 'cpu', dtype?: DType): Tensor {
    const half = dtype !== undefined && HALF_DTYPES.includes(dtype);
    if (dtype !== undefined && !half && dtype !== dtypeOfArray(data))
      throw new TypeError(`dtype must be "bfloat16", "float16" or left out (the array's own dtype), got ${describe(dtype)}`);
    if (half) {
      if (!(data instanceof Float32Array) && !(data instanceof Uint16Array))
        throw new TypeError(`${dtype} data must be a Float32Array (rounded to nearest even) or a Uint16Array of raw bits, got ${describe(data)}`);
    } else if (!(data instanceof Float32Array) && !(data instanceof Int32Array) && !(data instanceof Uint8Array))
      throw new TypeError(`data must be a Float32Array, an Int32Array or a Uint8Array (over an ArrayBuffer or a SharedArrayBuffer), got ${describe(data)}`);
    const dims = validShape([...shape]);
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length)
      throw new RangeError(`data has ${data.length} elements but shape ${shapeString(dims)} needs ${count}`);
    if (typeof device !== 'string') throw new TypeError(`device must be a string, got ${describe(device)}`);
    return Tensor.wrap(native.fromArray(data, dims, device, half ? dtype : undefined));
  }

  /** A tensor of zeros. */
  static zeros(shape: readonly number[], device: DeviceName = 'cpu'): Tensor {
    return Tensor.full(shape, 0, device);
  }

  /**
   * A float32 tensor filled with `value`. NaN and ±Infinity are stored as they are; a finite value
   * beyond float32's range (1e300) is a RangeError.
   */
  static full(shape: readonly number[], value: number, device: DeviceName = 'cpu'): Tensor {
    const v = float32(value, 'value');
    const t = Tensor.wrap(native.empty(validShape([...shape]), 'float32', device));
    native.fill(t.native, { value: v });
    return t;
  }

  /** Samples from N(mean, std²) with a counter-based generator: the same values on every device. */
  static normal(shape: readonly number[], options: { mean?: number; std?: number; seed?: number; device?: DeviceName } = {}): Tensor {
    const { mean = 0, std = 1, seed = 0, device = 'cpu' } = options;
    const t = Tensor.wrap(native.empty(validShape([...shape]), 'float32', device));
    native.normal(t.native, { mean, std, seed });
    return t;
  }

  get shape(): readonly number[] { return this.live('tensor').shape; }
  get dtype(): DType { return this.live('tensor').dtype; }
  // The native core reports its canonical name ("cpu:0", "cuda:1/2"), which is always a DeviceName.
  get device(): DeviceName { return this.live('tensor').device as DeviceName; }
  get size(): number { return this.shape.reduce((a, b) => a * b, 1); }
  get disposed(): boolean { return this.native.disposed; }

  /** A view of the same storage with another shape of the same size. */
  reshape(shape: readonly number[]): Tensor {
    const dims = validShape([...shape]);
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== this.size)
      throw new RangeError(`cannot reshape ${shapeString(this.shape)} (${this.size} elements) to ${shapeString(dims)} (${count} elements)`);
    return Tensor.wrap(this.native.reshape(dims));
  }

  /**
   * A copy on another device (ordered after pending work on both devices), or, given a dtype
   * ('float32', 'bfloat16' or 'float16'), a copy in that dtype on the same device: to bfloat16 or
   * float16 rounds to nearest even, to float32 is exact (between the two 16-bit types the value
   * goes through float32). Converting works on every device; computing in bfloat16 or float16 needs
   * a device that supports it (see `bf16Support`, `fp16Support`).
   */
  to(target: DeviceName | FloatDType): Tensor {
    this.live('tensor');
    if (typeof target === 'string' && FLOAT_DTYPES.includes(target)) {
      if (!FLOAT_DTYPES.includes(this.dtype))
        throw new TypeError(`to(${target}) converts float32, bfloat16 and float16 tensors, not ${this.dtype}`);
      return Tensor.wrap(native.toDType(this.native, target));
    }
    return Tensor.wrap(this.native.to(target));
  }

  /**
   * The values, once all work queued before this call on the tensor's device has finished. Rejects
   * with the AlexNetError of the op that failed to compute this tensor, or one it derives from.
   */
  toArray(): Promise<Float32Array | Int32Array | Uint8Array> {
    this.live('tensor');
    return this.native.toArray() as Promise<Float32Array | Int32Array | Uint8Array>;
  }

  /** The raw bits of a bfloat16 or float16 tensor, once queued work is done (a TypeError for other dtypes). */
  toBits(): Promise<Uint16Array> {
    const t = this.live('tensor');
    if (!HALF_DTYPES.includes(t.dtype)) throw new TypeError(`toBits() reads bfloat16 and float16 tensors, got ${t.dtype}`);
    return t.toArray(true) as Promise<Uint16Array>;
  }

  /** Releases the storage now (it returns to the device cache once queued work is done). */
  dispose(): void {
    this.native.dispose();
  }

  /** @internal Throws a TypeError naming `param` if disposed. */
  live(param: string): NativeTensor {
    if (this.native.disposed) throw new TypeError(`${param} has been disposed`);
    return this.native;
  }

  toString(): string {
    return this.disposed ? 'Tensor(disposed)' : `Tensor(${shapeString(this.shape)}, ${this.dtype}, ${this.device})`;
  }
}

function dtypeOfArray(data: unknown): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  return undefined;
}

/**
 * Whether `device` computes in bfloat16 here, and why (not): on CPUs that needs AVX512_BF16
 * (oneDNN's avx512_core_bf16 kernels); elsewhere bfloat16 ops throw an AlexNetError with code
 * BF16_UNSUPPORTED rather than emulate it slower than float32.
 */
export function bf16Support(device: DeviceName = 'cpu'): { supported: boolean; reason: string } {
  if (typeof device !== 'string') throw new TypeError(`device must be a string, got ${describe(device)}`);
  return native.bf16Support(device);
}

/**
 * Whether `device` computes in float16 here, and why (not): CUDA devices of compute capability 7.0
 * or newer (cuDNN and cuBLAS float16 tensor cores); never the CPU backend (oneDNN computes in
 * float16 only on AVX512_FP16 / AMX-FP16 CPUs, and this backend has no float16 kernels). Elsewhere
 * the float16 ops throw an AlexNetError with code FLOAT16_UNSUPPORTED naming the op.
 */
export function fp16Support(device: DeviceName = 'cpu'): { supported: boolean; reason: string } {
  if (typeof device !== 'string') throw new TypeError(`device must be a string, got ${describe(device)}`);
  return native.fp16Support(device);
}

/** Disposes every tensor in a (possibly nested) structure of tensors; ignores everything else. */
export function disposeAll(...values: unknown[]): void {
  for (const v of values) {
    if (v instanceof Tensor) v.dispose();
    else if (Array.isArray(v)) disposeAll(...v);
    else if (v && typeof v === 'object' && !(ArrayBuffer.isView(v))) disposeAll(...Object.values(v));
  }
}
