// Random op calls: a consistent set of small arguments for one op, then zero to two mutations
// (absurd or overflowing shapes, wrong dtypes, disposed tensors, tensors on another device,
// non-tensors, absurd options, non-finite values). Through the public ops, or straight into the
// native binding, which must check everything again.
import { native } from '../../../lib/binding.js';
import { Tensor, ops, synchronize, type DeviceName } from '../../../lib/index.js';
import type { Rng } from '../prng.js';
import type { CaseContext, Category } from '../types.js';

type DType = 'float32' | 'int32' | 'uint8' | 'float16';
type Fill = 'normal' | 'labels' | 'crop' | 'mask' | 'pixels';

interface TensorSpec {
  shape: unknown[];
  dtype: DType;
  device: DeviceName;
  fill: Fill;
  /** For labels: the class count; for crop params: [H, W, outH, outW]. */
  range?: number[];
  disposed?: boolean;
  /** Stands in for the tensor: null, a number, a plain array … */
  replacement?: { value: unknown };
  special?: 'nan' | 'inf' | 'huge' | 'bad-labels' | 'bad-crops';
}

interface OpCall {
  name: string;
  tensors: Record<string, TensorSpec>;
  options: Record<string, unknown>;
  /** The public call. */
  call(t: Record<string, unknown>, o: Record<string, unknown>): unknown;
  /** The same call on the native binding (options as its options object). */
  raw(t: Record<string, unknown>, o: Record<string, unknown>): unknown;
}

const f32 = (shape: number[], fill: Fill = 'normal'): TensorSpec => ({ shape, dtype: 'float32', device: 'cpu', fill });
const pairOf = (v: unknown): [unknown, unknown] => (Array.isArray(v) ? [v[0], v[1]] : [v, v]);
const outSize = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

/** The public ops' options as the native binding's options objects. */
function rawConv(o: Record<string, unknown>): Record<string, number> {
  const [strideH, strideW] = pairOf(o.stride) as [number, number];
  const [padH, padW] = pairOf(o.padding) as [number, number];
  return { strideH, strideW, padH, padW, groups: o.groups as number };
}
function rawPool(o: Record<string, unknown>): Record<string, number> {
  const [kernelH, kernelW] = pairOf(o.kernel) as [number, number];
  const [strideH, strideW] = pairOf(o.stride) as [number, number];
  return { kernelH, kernelW, strideH, strideW };
}

function convCall(rng: Rng, backward: boolean): OpCall {
  const groups = rng.pick([1, 1, 2]);
  const n = rng.int(1, 2), cin = groups * rng.int(1, 3), cout = groups * rng.int(1, 3);
  const k = rng.int(1, 3), stride = rng.int(1, 3), pad = rng.int(0, 2);
  const h = rng.int(Math.max(1, k - 2 * pad), 8), w = rng.int(Math.max(1, k - 2 * pad), 8);
  const tensors: Record<string, TensorSpec> = { x: f32([n, cin, h, w]), w: f32([cout, cin / groups, k, k]) };
  if (backward) tensors.dy = f32([n, cout, outSize(h, k, stride, pad), outSize(w, k, stride, pad)]);
  else if (rng.chance(0.7)) tensors.b = f32([cout]);
  const options: Record<string, unknown> = { stride, padding: pad, groups };
  if (backward) Object.assign(options, { inputGrad: rng.chance(0.7), bias: rng.chance(0.7) });
  return backward
    ? {
      name: 'conv2dBackward', tensors, options,
      call: (t, o) => ops.conv2dBackward(t.dy as Tensor, t.x as Tensor, t.w as Tensor, o),
      raw: (t, o) => native.conv2dBackward(t.dy as never, t.x as never, t.w as never,
        { ...rawConv(o), wantDx: o.inputGrad as boolean, wantDb: o.bias as boolean }),
    }
    : {
      name: 'conv2d', tensors, options,
      call: (t, o) => ops.conv2d(t.x as Tensor, t.w as Tensor, (t.b ?? null) as Tensor | null, o),
      raw: (t, o) => native.conv2d(t.x as never, t.w as never, (t.b ?? null) as never, rawConv(o)),
    };
}

function poolCall(rng: Rng, backward: boolean): OpCall {
  const k = rng.int(1, 3), s = rng.int(1, 3);
  const shape = [rng.int(1, 2), rng.int(1, 4), rng.int(k, 9), rng.int(k, 9)];
  const out = [shape[0]!, shape[1]!, outSize(shape[2]!, k, s, 0), outSize(shape[3]!, k, s, 0)];
  const tensors: Record<string, TensorSpec> = { x: f32(shape) };
  if (backward) Object.assign(tensors, { y: f32(out), dy: f32(out) });
  return windowOpCall('maxPool2d', backward, tensors, { kernel: k, stride: s }, rawPool);
}

/**
 * An op of x alone whose backward takes (dy, x, y): max pooling and LRN, through the checked API
 * (`call`) and straight into the binding (`raw`, its options converted by `rawOptions`).
 */
function windowOpCall(name: 'maxPool2d' | 'localResponseNorm', backward: boolean, tensors: Record<string, TensorSpec>,
  options: Record<string, unknown>, rawOptions: (o: Record<string, unknown>) => Record<string, number>): OpCall {
  const checked = ops as unknown as Record<string, (...args: unknown[]) => Tensor>;
  const bound = native as unknown as Record<string, (...args: unknown[]) => unknown>;
  return backward
    ? {
      name: `${name}Backward`, tensors, options,
      call: (t, o) => checked[`${name}Backward`]!(t.dy, t.x, t.y, o),
      raw: (t, o) => bound[`${name}Backward`]!(t.dy, t.x, t.y, rawOptions(o)),
    }
    : {
      name, tensors, options,
      call: (t, o) => checked[name]!(t.x, o),
      raw: (t, o) => bound[name]!(t.x, rawOptions(o)),
    };
}

function lrnCall(rng: Rng, backward: boolean): OpCall {
  const shape = [rng.int(1, 2), rng.pick([1, 3, 9, 16, 17]), rng.int(1, 5), rng.int(1, 5)];
  const tensors: Record<string, TensorSpec> = { x: f32(shape) };
  if (backward) Object.assign(tensors, { y: f32(shape), dy: f32(shape) });
  const options = { size: rng.pick([1, 3, 5, 7]), alpha: 1e-4, beta: 0.75, k: 2 };
  const rawOptions = (o: Record<string, unknown>) => ({ size: o.size, alpha: o.alpha, beta: o.beta, k: o.k }) as Record<string, number>;
  return windowOpCall('localResponseNorm', backward, tensors, options, rawOptions);
}

function linearCall(rng: Rng, backward: boolean): OpCall {
  const n = rng.int(1, 3), i = rng.int(1, 6), o = rng.int(1, 6);
  const tensors: Record<string, TensorSpec> = { x: f32([n, i]), w: f32([o, i]) };
  if (backward) tensors.dy = f32([n, o]);
  else if (rng.chance(0.7)) tensors.b = f32([o]);
  const options = backward ? { inputGrad: rng.chance(0.7), bias: rng.chance(0.7) } : {};
  return backward
    ? {
      name: 'linearBackward', tensors, options,
      call: (t, op) => ops.linearBackward(t.dy as Tensor, t.x as Tensor, t.w as Tensor, op),
      raw: (t, op) => native.linearBackward(t.dy as never, t.x as never, t.w as never, { wantDx: op.inputGrad as boolean, wantDb: op.bias as boolean }),
    }
    : {
      name: 'linear', tensors, options,
      call: (t) => ops.linear(t.x as Tensor, t.w as Tensor, (t.b ?? null) as Tensor | null),
      raw: (t) => native.linear(t.x as never, t.w as never, (t.b ?? null) as never),
    };
}

function anyShape(rng: Rng): number[] {
  return Array.from({ length: rng.int(1, 4) }, () => rng.int(1, 5));
}

function lossCall(rng: Rng): OpCall {
  const n = rng.int(1, 4), k = rng.int(1, 6);
  const which = rng.pick(['softmaxCrossEntropy', 'softmax', 'topkCorrect'] as const);
  const tensors: Record<string, TensorSpec> = { logits: f32([n, k]) };
  if (which !== 'softmax') tensors.labels = { shape: [n], dtype: 'int32', device: 'cpu', fill: 'labels', range: [k] };
  const options = { k: rng.int(1, k) };
  if (which === 'softmaxCrossEntropy')
    return { name: which, tensors, options, call: (t) => ops.softmaxCrossEntropy(t.logits as Tensor, t.labels as Tensor), raw: (t) => native.softmaxCrossEntropy(t.logits as never, t.labels as never) };
  if (which === 'softmax')
    return { name: which, tensors, options, call: (t) => ops.softmax(t.logits as Tensor), raw: (t) => native.softmax(t.logits as never) };
  return { name: which, tensors, options, call: (t, o) => ops.topkCorrect(t.logits as Tensor, t.labels as Tensor, o.k as number), raw: (t, o) => native.topkCorrect(t.logits as never, t.labels as never, { k: o.k as number }) };
}

function elementwiseCall(rng: Rng): OpCall {
  const shape = anyShape(rng);
  const which = rng.pick(['relu', 'reluBackward', 'dropout', 'dropoutBackward', 'sgdStep', 'fill', 'normal', 'axpy', 'scale', 'add', 'clone', 'unscaleGradients'] as const);
  const one = { x: f32(shape) };
  const two = { x: f32(shape), y: f32(shape) };
  switch (which) {
    case 'relu': return { name: which, tensors: one, options: {}, call: (t) => ops.relu(t.x as Tensor), raw: (t) => native.relu(t.x as never) };
    case 'reluBackward': return { name: which, tensors: two, options: {}, call: (t) => ops.reluBackward(t.x as Tensor, t.y as Tensor), raw: (t) => native.reluBackward(t.x as never, t.y as never) };
    case 'dropout': return { name: which, tensors: one, options: { p: rng.pick([0, 0.5, 0.9]), seed: rng.int(0, 1000) }, call: (t, o) => ops.dropout(t.x as Tensor, o as never), raw: (t, o) => native.dropout(t.x as never, o as never) };
    case 'dropoutBackward': return { name: which, tensors: { x: f32(shape), y: f32(shape, 'mask') }, options: {}, call: (t) => ops.dropoutBackward(t.x as Tensor, t.y as Tensor), raw: (t) => native.dropoutBackward(t.x as never, t.y as never) };
    case 'sgdStep': return { name: which, tensors: { p: f32(shape), v: f32(shape), g: f32(shape) }, options: { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 },
      call: (t, o) => ops.sgdStep(t.p as Tensor, t.v as Tensor, t.g as Tensor, o as never), raw: (t, o) => native.sgdStep(t.p as never, t.v as never, t.g as never, o as never) };
    case 'fill': return { name: which, tensors: one, options: { value: 1.5 }, call: (t, o) => ops.fill(t.x as Tensor, o.value as number), raw: (t, o) => native.fill(t.x as never, o as never) };
    case 'normal': return { name: which, tensors: one, options: { mean: 0, std: 1, seed: 3 }, call: (t, o) => ops.normal(t.x as Tensor, o as never), raw: (t, o) => native.normal(t.x as never, o as never) };
    case 'axpy': return { name: which, tensors: two, options: { alpha: 2 }, call: (t, o) => ops.axpy(o.alpha as number, t.x as Tensor, t.y as Tensor), raw: (t, o) => native.axpy(t.x as never, t.y as never, o as never) };
    case 'scale': return { name: which, tensors: one, options: { alpha: 2 }, call: (t, o) => ops.scale(t.x as Tensor, o.alpha as number), raw: (t, o) => native.scale(t.x as never, o as never) };
    case 'add': return { name: which, tensors: two, options: {}, call: (t) => ops.add(t.x as Tensor, t.y as Tensor), raw: (t) => native.add(t.x as never, t.y as never) };
    case 'clone': return { name: which, tensors: one, options: {}, call: (t) => ops.clone(t.x as Tensor), raw: (t) => native.clone(t.x as never) };
    case 'unscaleGradients': return { name: which, tensors: two, options: { scale: rng.pick([65536, 0.5, 2 ** 126]) },
      call: (t, o) => ops.unscaleGradients([t.x as Tensor, t.y as Tensor], o.scale as number),
      raw: (t, o) => native.unscaleGradients([t.x as never, t.y as never], { alpha: 1 / (o.scale as number) }) };
  }
}

function channelsCall(rng: Rng): OpCall {
  const n = rng.int(1, 2), c = rng.int(1, 5), h = rng.int(1, 4), w = rng.int(1, 4);
  const which = rng.pick(['sliceChannels', 'concatChannels', 'copyIntoChannels'] as const);
  if (which === 'sliceChannels') {
    const start = rng.int(0, c - 1);
    return { name: which, tensors: { x: f32([n, c, h, w]) }, options: { start, count: rng.int(1, c - start) },
      call: (t, o) => ops.sliceChannels(t.x as Tensor, o.start as number, o.count as number), raw: (t, o) => native.sliceChannels(t.x as never, { start: o.start as number, count: o.count as number }) };
  }
  if (which === 'concatChannels')
    return { name: which, tensors: { a: f32([n, c, h, w]), b: f32([n, rng.int(1, 3), h, w]) }, options: {},
      call: (t) => ops.concatChannels([t.a as Tensor, t.b as Tensor]), raw: (t) => native.concatChannels([t.a as never, t.b as never]) };
  const part = rng.int(1, c);
  return { name: which, tensors: { dst: f32([n, c, h, w]), src: f32([n, part, h, w]) }, options: { start: rng.int(0, c - part) },
    // Not a public op (the two-column model uses it): the "public" call unwraps what it can.
    call: (t, o) => native.copyIntoChannels(handleOf(t.dst, 'dst'), handleOf(t.src, 'src'), { start: o.start as number }),
    raw: (t, o) => native.copyIntoChannels(t.dst as never, t.src as never, { start: o.start as number }) };
}

function cropCall(rng: Rng): OpCall {
  const n = rng.int(1, 2), h = rng.int(1, 8), w = rng.int(1, 8), c = rng.pick([1, 3, 4]), crops = rng.int(1, 2);
  const outH = rng.int(1, h), outW = rng.int(1, w);
  const tensors: Record<string, TensorSpec> = {
    images: { shape: [n, h, w, c], dtype: 'uint8', device: 'cpu', fill: 'pixels' },
    params: { shape: [n * crops, 3 + c], dtype: 'float32', device: 'cpu', fill: 'crop', range: [h, w, outH, outW] },
  };
  if (rng.chance(0.5)) tensors.mean = f32(rng.chance(0.5) ? [c] : [c, h, w]);
  return { name: 'cropImages', tensors, options: { crop: [outH, outW], scale: rng.pick([1, 1 / 255]) },
    call: (t, o) => ops.cropImages(t.images as Tensor, t.params as Tensor, { ...o, mean: (t.mean ?? null) as Tensor | null } as never),
    raw: (t, o) => native.cropImages(t.images as never, t.params as never, (t.mean ?? null) as never, { outH: pairOf(o.crop)[0] as number, outW: pairOf(o.crop)[1] as number, scale: o.scale as number }) };
}

function handleOf(v: unknown, name: string): never {
  return (v instanceof Tensor ? v.live(name) : v) as never;
}

const MAKERS: ((rng: Rng) => OpCall)[] = [
  (r) => convCall(r, false), (r) => convCall(r, true), (r) => poolCall(r, false), (r) => poolCall(r, true),
  (r) => lrnCall(r, false), (r) => lrnCall(r, true), (r) => linearCall(r, false), (r) => linearCall(r, true),
  lossCall, elementwiseCall, elementwiseCall, channelsCall, cropCall,
];

// ---- mutations -------------------------------------------------------------------------------

const ABSURD_DIMS: unknown[] = [0, -1, -65536, NaN, Infinity, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 63, 6148914691236517888, '2', null];
const ABSURD_OPTIONS: unknown[] = [0, -1, NaN, Infinity, -Infinity, 1.5, 1.5e9, 2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 53, 1e300, -1e300,
  '3', null, true, [], [1], [1, NaN], [0, 0], [2 ** 31, 1], {}];
// Shapes whose element count wraps a 64-bit product, or exceeds any memory.
const OVERFLOW_SHAPES = [[65536, 65536, 65536, 65536], [3, 6148914691236517888], [2 ** 32, 2 ** 32], [65536, 65536],
  [2 ** 62, 4], [1, 1, 2 ** 31, 2 ** 31]];

function mutate(rng: Rng, call: OpCall, kind: string, note: (s: string) => void): void {
  const names = Object.keys(call.tensors);
  const name = rng.pick(names);
  const spec = call.tensors[name]!;
  switch (kind) {
    case 'ops/shape': {
      const how = rng.pick(['dim', 'rank-up', 'rank-down', 'swap'] as const);
      if (how === 'dim' && spec.shape.length > 0) spec.shape[rng.int(0, spec.shape.length - 1)] = rng.pick(ABSURD_DIMS);
      else if (how === 'rank-up') spec.shape.push(rng.int(1, 3));
      else if (how === 'rank-down') spec.shape.pop();
      else spec.shape.reverse();
      note(`${name} shape ${how}: ${JSON.stringify(spec.shape)}`);
      break;
    }
    case 'ops/overflow':
      spec.shape = [...rng.pick(OVERFLOW_SHAPES)];
      note(`${name} shape ${JSON.stringify(spec.shape)}`);
      break;
    case 'ops/dtype':
      spec.dtype = rng.pick((['float32', 'int32', 'uint8', 'float16'] as const).filter((d) => d !== spec.dtype));
      note(`${name} dtype ${spec.dtype}`);
      break;
    case 'ops/disposed': spec.disposed = true; note(`${name} disposed`); break;
    case 'ops/device':
      // Malformed names too, as an untyped caller could pass them: the runtime check is what is fuzzed.
      spec.device = rng.pick(['cpu:1', 'cpu:0/1', 'cuda', 'cuda:9', 'cpu:99999', 'gpu', '']) as DeviceName;
      note(`${name} on ${spec.device}`);
      break;
    case 'ops/not-tensor':
      spec.replacement = { value: rng.pick([null, undefined, 0, 'x', {}, [1, 2], new Float32Array(4), { shape: spec.shape }]) };
      note(`${name} replaced by ${String(spec.replacement.value)}`);
      break;
    case 'ops/option': {
      const keys = Object.keys(call.options);
      if (keys.length === 0) return mutate(rng, call, 'ops/shape', note);
      const key = rng.pick(keys);
      call.options[key] = rng.chance(0.8) ? rng.pick(ABSURD_OPTIONS) : undefined;
      note(`option ${key} = ${JSON.stringify(call.options[key]) ?? 'undefined'} (${String(call.options[key])})`);
      break;
    }
    case 'ops/values': {
      spec.special = spec.fill === 'labels' ? 'bad-labels' : spec.fill === 'crop' ? 'bad-crops' : rng.pick(['nan', 'inf', 'huge'] as const);
      note(`${name} values ${spec.special}`);
      break;
    }
  }
}

// ---- materialising arguments -------------------------------------------------------------------

function valuesFor(rng: Rng, spec: TensorSpec, count: number): Float32Array | Int32Array | Uint8Array {
  if (spec.dtype === 'uint8') return Uint8Array.from({ length: count }, () => rng.int(0, 255));
  if (spec.dtype === 'int32') {
    const k = spec.range?.[0] ?? 10;
    return Int32Array.from({ length: count }, () =>
      spec.special === 'bad-labels' && rng.chance(0.5) ? rng.pick([-1, k, k + 1, 2 ** 31 - 1, -(2 ** 31)]) : rng.int(0, k - 1));
  }
  const out = new Float32Array(count);
  const cols = Number(spec.shape[1]);
  for (let i = 0; i < count; i++) {
    if (spec.fill === 'crop' && spec.range) {
      const [h, w, oh, ow] = spec.range as [number, number, number, number];
      const col = i % cols;
      out[i] = col === 0 ? rng.int(0, h - oh) : col === 1 ? rng.int(0, w - ow) : col === 2 ? rng.int(0, 1) : rng.float() * 10 - 5;
      if (spec.special === 'bad-crops' && rng.chance(0.3)) out[i] = rng.pick([-1, -1e9, 1e9, NaN, Infinity, 0.5, h, 2 ** 31]);
    } else if (spec.fill === 'mask') {
      out[i] = rng.chance(0.5) ? 0 : 2;
    } else {
      out[i] = rng.float() * 4 - 2;
    }
    if (spec.special && spec.special !== 'bad-crops' && rng.chance(0.3))
      out[i] = spec.special === 'nan' ? NaN : spec.special === 'inf' ? rng.pick([Infinity, -Infinity]) : rng.pick([3e38, -3e38, 1e30]);
  }
  return out;
}

/** Builds the tensor for `spec` (or its stand-in); may throw, which is an outcome like any other. */
function materialise(rng: Rng, spec: TensorSpec, made: Tensor[], rawDispose: { dispose(): void }[], raw: boolean): unknown {
  if (spec.replacement) return spec.replacement.value;
  const shape = spec.shape as number[];
  const count = shape.reduce((a, b) => a * (typeof b === 'number' ? b : NaN), 1);
  const small = Number.isSafeInteger(count) && count >= 0 && count <= 1 << 16 && shape.every((d) => Number.isInteger(d) && d >= 0);
  let t: Tensor;
  if (small) {
    t = Tensor.fromArray(valuesFor(rng, spec, count), shape, spec.device, spec.dtype === 'float16' ? 'float16' : undefined);
  } else if (raw) {
    // Straight to the native allocator: its checks, not the TypeScript ones.
    const handle = native.empty(shape, spec.dtype, spec.device);
    rawDispose.push(handle);
    if (spec.disposed) handle.dispose();
    return handle;
  } else {
    t = spec.dtype === 'float32' ? rng.pick([() => Tensor.zeros(shape, spec.device), () => Tensor.full(shape, 1, spec.device),
      () => Tensor.normal(shape, { device: spec.device, seed: 1 })])()
      : spec.dtype === 'float16' ? Tensor.fromArray(new Uint16Array(0), shape, spec.device, 'float16')
        : Tensor.fromArray(spec.dtype === 'int32' ? new Int32Array(0) : new Uint8Array(0), shape, spec.device);
  }
  made.push(t);
  if (raw) {
    const handle = t.live('tensor');
    if (spec.disposed) t.dispose();
    return handle;
  }
  if (spec.disposed) t.dispose();
  return t;
}

/** Every tensor and promise in a result, however nested. */
function collect(value: unknown, tensors: unknown[], promises: Promise<unknown>[], depth = 0): void {
  if (depth > 3 || value === null || value === undefined) return;
  if (value instanceof Promise) promises.push(value);
  else if (value instanceof Tensor || (typeof value === 'object' && typeof (value as { toArray?: unknown }).toArray === 'function')) tensors.push(value);
  else if (typeof value === 'object') for (const v of Object.values(value as object)) collect(v, tensors, promises, depth + 1);
}

async function runOp(ctx: CaseContext, kind: string): Promise<void> {
  const { rng, note } = ctx;
  const raw = kind === 'ops/binding' || kind === 'ops/binding-overflow';
  const call = rng.pick(MAKERS)(rng);
  note(`${call.name}${raw ? ' (native binding)' : ''}: ${Object.entries(call.tensors).map(([n, s]) => `${n} ${s.dtype}[${s.shape.join(',')}]`).join(' ')} ${JSON.stringify(call.options)}`);
  const mutations = kind === 'ops/valid' ? 0 : raw ? rng.int(1, 2) : 1;
  for (let i = 0; i < mutations; i++) {
    const what = kind === 'ops/binding-overflow' && i === 0 ? 'ops/overflow'
      : raw ? rng.pick(['ops/shape', 'ops/dtype', 'ops/disposed', 'ops/device', 'ops/not-tensor', 'ops/option', 'ops/values']) : kind;
    mutate(rng, call, what, note);
  }
  const made: Tensor[] = [];
  const handles: { dispose(): void }[] = [];
  const outputs: unknown[] = [];
  try {
    const args: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(call.tensors)) args[name] = materialise(rng, spec, made, handles, raw);
    const result = raw ? call.raw(args, call.options) : call.call(args, call.options);
    const promises: Promise<unknown>[] = [];
    collect(result, outputs, promises);
    // Every output is read back, so that a failure inside the queued work surfaces here.
    const reads = outputs.map((t) => (t as { toArray(): Promise<unknown> }).toArray());
    const settled = await Promise.allSettled([...promises, ...reads]);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } finally {
    for (const t of [...made, ...outputs, ...handles]) (t as { dispose(): void }).dispose?.();
    // Errors of queued work must not leak into the next case.
    for (const device of new Set<DeviceName>(['cpu', ...Object.values(call.tensors).map((s) => s.device)]))
      await synchronize(device).catch(() => undefined);
  }
}

// Tensor creation and methods with absurd arguments.
async function runTensor(ctx: CaseContext): Promise<void> {
  const { rng, note } = ctx;
  const shape: unknown[] = rng.chance(0.4) ? [...rng.pick(OVERFLOW_SHAPES)] : Array.from({ length: rng.int(0, 5) }, () => (rng.chance(0.3) ? rng.pick(ABSURD_DIMS) : rng.int(0, 4)));
  const how = rng.pick(['zeros', 'full', 'normal', 'fromArray', 'reshape', 'to', 'empty'] as const);
  note(`${how} ${JSON.stringify(shape)}`);
  const made: { dispose(): void }[] = [];
  try {
    let t: Tensor | undefined;
    switch (how) {
      case 'zeros': t = Tensor.zeros(shape as number[]); break;
      case 'full': t = Tensor.full(shape as number[], rng.pick([1, NaN, 1e300, -0])); break;
      case 'normal': t = Tensor.normal(shape as number[], { seed: 1, std: rng.pick([1, 0, -1, NaN]) }); break;
      case 'fromArray': {
        const n = rng.pick([0, 1, 4, 16]);
        const data = rng.pick([() => new Float32Array(n), () => new Int32Array(n), () => new Uint8Array(n),
          () => new Float64Array(n), () => new Float32Array(new ArrayBuffer(4 * n + 8), 8, n)])();
        t = Tensor.fromArray(data as Float32Array, shape as number[]);
        break;
      }
      case 'reshape': { const base = Tensor.zeros([2, 8]); made.push(base); t = base.reshape(shape as number[]); break; }
      case 'to': { const base = Tensor.zeros([2, 3]); made.push(base); t = base.to(rng.pick(['cpu:1', 'cuda', 'cpu:0/7', 'nope', 'cpu:-1']) as DeviceName) /* malformed too: the runtime check is fuzzed */; break; }
      case 'empty': made.push(native.empty(shape as number[], rng.pick(['float32', 'int32', 'uint8', 'float64']), 'cpu')); break;
    }
    if (t) {
      made.push(t);
      await t.toArray();
      if (rng.chance(0.5)) await ops.relu(t.dtype === 'float32' ? t : Tensor.zeros([1])).toArray();
    }
  } finally {
    made.forEach((m) => m.dispose());
    await synchronize('cpu').catch(() => undefined);
  }
}

// A tensor whose element count wraps 64 bits (or needs more memory than exists), created through
// the public API, then given to an op that takes any shape of its rank.
const WRAPPING: Record<number, number[][]> = {
  2: [[3, 6148914691236517888], [6148914691236517888, 3], [2 ** 32, 2 ** 32], [2 ** 62, 4]],
  4: [[65536, 65536, 65536, 65536], [1, 3, 6148914691236517888, 1], [4, 2 ** 31, 2 ** 31, 1], [1, 1, 2 ** 32, 2 ** 32]],
};
const ANY_SHAPE_OPS: [number, string, (x: Tensor) => unknown][] = [
  [2, 'relu', (x) => ops.relu(x)], [4, 'relu', (x) => ops.relu(x)], [2, 'softmax', (x) => ops.softmax(x)],
  [4, 'maxPool2d 1/1', (x) => ops.maxPool2d(x, { kernel: 1, stride: 1 })], [4, 'localResponseNorm', (x) => ops.localResponseNorm(x)],
  [2, 'scale', (x) => ops.scale(x, 2)], [4, 'clone', (x) => ops.clone(x)], [2, 'add', (x) => ops.add(x, x)],
  [2, 'fill', (x) => ops.fill(x, 1)], [4, 'normal', (x) => ops.normal(x, { seed: 1 })], [2, 'dropout', (x) => ops.dropout(x, { p: 0.5, seed: 1 })],
  [4, 'sliceChannels', (x) => ops.sliceChannels(x, 0, 1)], [2, 'toArray', (x) => x.toArray()],
];

async function runOverflow(ctx: CaseContext): Promise<void> {
  const { rng, note } = ctx;
  const [rank, name, op] = rng.pick(ANY_SHAPE_OPS);
  const shape = rng.pick(WRAPPING[rank]!);
  const create = rng.pick(['zeros', 'full', 'normal'] as const);
  note(`${create} ${JSON.stringify(shape)} then ${name}`);
  const made: unknown[] = [];
  let silentlyAccepted = '';
  try {
    const x = create === 'zeros' ? Tensor.zeros(shape) : create === 'full' ? Tensor.full(shape, 1) : Tensor.normal(shape, { seed: 1 });
    made.push(x);
    // No such tensor can exist: accepting it means its element count wrapped (or was never checked).
    silentlyAccepted = `accepted a tensor of shape [${shape.join(', ')}], ${shape.reduce((a, b) => a * b, 1)} elements`;
    const result = op(x);
    const outputs: unknown[] = [];
    const promises: Promise<unknown>[] = [];
    collect(result, outputs, promises);
    made.push(...outputs);
    await Promise.all([...promises, ...outputs.map((t) => (t as Tensor).toArray())]);
  } finally {
    for (const t of made) (t as Tensor).dispose();
    await synchronize('cpu').catch(() => undefined);
  }
  // Reached only when the op succeeded too: a silently wrong result (an untyped failure).
  if (silentlyAccepted) throw new Error(`${silentlyAccepted}, and ${name} succeeded on it`);
}

// Typed arrays over memory the library may not own: shared, detached, resizable.
async function runForeignBuffer(ctx: CaseContext): Promise<void> {
  const { rng, note } = ctx;
  const n = rng.pick([1, 4, 6]);
  const how = rng.pick(['shared', 'detached', 'offset'] as const);
  note(`fromArray over a ${how} buffer, ${n} elements`);
  let data: Float32Array;
  if (how === 'shared') data = new Float32Array(new SharedArrayBuffer(4 * n));
  else if (how === 'offset') data = new Float32Array(new ArrayBuffer(4 * n + 12), 12, n);
  else {
    data = new Float32Array(n);
    structuredClone(data.buffer, { transfer: [data.buffer] });  // detaches it
  }
  const t = Tensor.fromArray(data, [n]);
  try {
    await t.toArray();
  } finally {
    t.dispose();
  }
}

async function run(kind: string, ctx: CaseContext): Promise<void> {
  if (kind === 'ops/tensor') return runTensor(ctx);
  if (kind === 'ops/foreign-buffer') return runForeignBuffer(ctx);
  if (kind === 'ops/overflow') return runOverflow(ctx);
  return runOp(ctx, kind);
}

export const opsCategory: Category = {
  name: 'ops',
  kinds: [[2, 'ops/valid'], [3, 'ops/shape'], [1, 'ops/overflow'], [1, 'ops/dtype'], [1, 'ops/disposed'], [1, 'ops/device'],
    [1, 'ops/not-tensor'], [3, 'ops/option'], [2, 'ops/values'], [4, 'ops/binding'], [1, 'ops/binding-overflow'], [2, 'ops/tensor'],
    [1, 'ops/foreign-buffer']],
  run,
};
