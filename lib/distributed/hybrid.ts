// The hybrid of Krizhevsky's "One weird trick for parallelizing convolutional neural networks"
// (2014): data parallelism in the convolutional layers and model parallelism in the fully connected
// ones. A network given as a flat list of layers is cut before its first fully connected (Linear)
// layer. The layers before it (the head) run data parallel: each rank its rows of the global batch,
// its parameters replicated and their gradients all-reduced like plain data parallelism. From the
// first Linear on (the tail: Linear layers with pointwise layers between them) every rank holds
// the slice [start, start + count) of each Linear's output features (rows of its weight, split as
// ProcessGroup.split() splits), and computes it for the rows of every rank:
//
//   forward   head(own rows) --all-gather rows--> X [all rows, in]
//             per Linear: Y = X·W_sliceᵀ + b_slice, then its pointwise layers on the slice (dropout
//             drawing that slice of the whole layer's mask) --all-gather features--> the next X;
//             the last one's gathered logits give this rank its own rows.
//   backward  the own rows' logit gradients --all-gather rows--> this rank's features of them;
//             per Linear, backwards: its slice's gradients (complete: it saw every row), and its
//             partial input gradient --reduce-scatter--> this rank's features of the layer before
//             (or, for the first Linear, this rank's rows of the head's output).
//
// The fully connected weights are never communicated; their gradients need no all-reduce. With the
// same weights the N ranks compute what one process computes on the global batch: the tail's
// slices are the one-process layers' rows, its dropout masks the one-process masks.
//
// The head may also be a model of its own that stands for the layers before the first Linear (the
// paper's two columns on two devices, TwoColumnAlexNet's convolutional part): its parameters keep
// its names and its checkpoint layout, and the tail runs on the device where it leaves the features.
//
// In mixed precision (bf16) what the collectives move is float32: the bfloat16 activations and
// input gradients widen exactly before they are sent, and the next layer rounds them back.
import type { DeviceName } from '../device_name.js';
import { Dropout } from '../nn/dropout.js';
import { Linear } from '../nn/linear.js';
import { Module, type StateDict } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { ReLU } from '../nn/relu.js';
import { deriveSeed } from '../nn/seed.js';
import { Sequential } from '../nn/sequential.js';
import { Tanh } from '../nn/tanh.js';
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { describe, integer, shapeString } from '../validate.js';
import type { ProcessGroup } from './group.js';

/** One model-parallel Linear layer (this rank's slice) and the pointwise layers after it. */
interface Segment {
  name: string;
  linear: Linear;
  pointwise: Module[];
  /** The whole layer's output features, and how they are split over the ranks. */
  width: number;
  counts: number[];
  start: number;
}

/** Layers that act on each element alone: they run on a rank's slice of the features. */
function isPointwise(m: Module): boolean {
  return m instanceof ReLU || m instanceof Tanh || m instanceof Dropout;
}

/** Rows [start, start + count) of a 2-D tensor. */
function sliceRows(t: Tensor, start: number, count: number): Tensor {
  const [rows, cols] = t.shape as [number, number];
  return tidy(() => ops.sliceChannels(t.reshape([1, rows, cols]), start, count).reshape([count, cols]));
}

/** Columns [start, start + count) of a 2-D tensor. */
function sliceColumns(t: Tensor, start: number, count: number): Tensor {
  const [rows, cols] = t.shape as [number, number];
  return tidy(() => ops.sliceChannels(t.reshape([rows, cols, 1]), start, count).reshape([rows, count]));
}

/** `t` in float32: itself, or a widened copy (exact) with `t` disposed. */
function float32(t: Tensor): Tensor {
  if (t.dtype === 'float32') return t;
  const wide = t.to('float32');
  t.dispose();
  return wide;
}

/** Rows [start, start + count) of a tensor along its first dimension (a weight's output features). */
function sliceFirst(t: Tensor, start: number, count: number): Tensor {
  const [n, ...rest] = t.shape;
  const size = rest.reduce((a, b) => a * b, 1);
  return tidy(() => ops.sliceChannels(t.reshape([1, n!, size]), start, count).reshape([count, ...rest]));
}

export interface HybridOptions {
  /**
   * The layers before the first fully connected one as one model (e.g. TwoColumnAlexNet's
   * convolutional part): `layers` are then only the fully connected part. It gives the features
   * as [rows, features] on the device of the tail's layers.
   */
  head?: Module;
  /** With `head`: how many layers of the network it stands for (the position of the first Linear). */
  headLayers?: number;
}

export class HybridParallel extends Module {
  readonly group: ProcessGroup;
  /** Every layer in the order of the network it implements (the tail's Linear layers as this rank's slices). */
  private readonly layers: [string, Module][];
  private readonly head: Module | null;
  /** The head given as a model of its own (HybridOptions.head), whose names and layout its parameters keep. */
  private readonly ownHead: Module | null;
  /** The position in the whole network of the first layer of `layers` (dropout seeds derive from it). */
  private readonly firstPosition: number;
  private readonly segments: Segment[];
  /** Parameter name -> its Linear's split, for the tail's parameters. */
  private readonly slices = new Map<string, { counts: number[]; start: number; width: number }>();
  private nextRows: number[] | null = null;
  /** What the last training forward saw: the rows of every rank. */
  private lastRows: number[] | null = null;

  /**
   * `layers` in the order of the network (named like its Sequential), with every Linear from the
   * first one on already this rank's slice of the whole layer whose output width `widths` gives
   * by name. Use HybridParallel.fromModel to split a whole model, or a model builder that draws the
   * slices directly (alexnet's hybridAlexNet, hybridTwoColumnAlexNet).
   */
  constructor(layers: [string, Module][], group: ProcessGroup, widths: Record<string, number>, options: HybridOptions = {}) {
    super();
    if (!Array.isArray(layers) || layers.length === 0) throw new TypeError(`layers must be a non-empty array of [name, Module], got ${describe(layers)}`);
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
    this.group = group;
    this.layers = layers.map(([n, m]) => [n, m]);
    const first = layers.findIndex(([, m]) => m instanceof Linear);
    if (first < 0) throw new RangeError('the hybrid needs a fully connected (Linear) layer to make model parallel; the model has none');
    if (options.head !== undefined) {
      if (!(options.head instanceof Module)) throw new TypeError(`options.head must be a Module, got ${describe(options.head)}`);
      if (first !== 0) throw new RangeError(`with options.head, layers are the fully connected part and start with a Linear layer; '${layers[0]![0]}' is not one`);
      this.firstPosition = integer(options.headLayers, 'options.headLayers', 0, Number.MAX_SAFE_INTEGER);
    } else {
      this.firstPosition = 0;
    }
    this.ownHead = options.head ?? null;
    this.head = this.ownHead ?? (first > 0 ? new Sequential(layers.slice(0, first)) : null);
    this.segments = [];
    for (const [name, m] of layers.slice(first)) {
      if (m instanceof Linear) {
        const width = widths[name];
        if (width === undefined) throw new RangeError(`no whole width given for ${name}`);
        if (width < group.size)
          throw new RangeError(`${name} has ${width} output features, fewer than the ${group.size} ranks that would each hold some of them`);
        const { counts, start } = group.split(width);
        if (m.outFeatures !== counts[group.rank])
          throw new RangeError(`${name} has ${m.outFeatures} output features but rank ${group.rank}'s slice of its ${width} is ${counts[group.rank]}`);
        this.segments.push({ name, linear: m, pointwise: [], width, counts, start });
        for (const [p] of m.ownParameters()) this.slices.set(`${name}.${p}`, { counts, start, width });
      } else if (isPointwise(m)) {
        const segment = this.segments.at(-1)!;
        segment.pointwise.push(m);
        if (m instanceof Dropout) m.setColumns({ start: segment.start, width: segment.width });
      } else {
        throw new RangeError(`layer '${name}' (${m.constructor.name}) follows the first fully connected layer: the model-parallel part may hold only Linear, ReLU, Tanh and Dropout layers`);
      }
    }
  }

  /**
   * Splits a whole model (a Sequential of layers, as AlexNet is; the same weights on every rank,
   * e.g. built from the same seed) into this rank's hybrid: rank 0's weights of the fully connected
   * layers are broadcast first, then each rank keeps its slice and the whole layers are disposed.
   * The model passed in must not be used afterwards.
   */
  static fromModel(model: Module, group: ProcessGroup): HybridParallel {
    if (!(model instanceof Module)) throw new TypeError(`model must be a Module, got ${describe(model)}`);
    const layers = model.children();
    if (layers.some(([, m]) => m.children().length > 0))
      throw new TypeError('the hybrid splits a model given as a flat list of layers (a Sequential such as AlexNet); this one nests modules');
    const first = layers.findIndex(([, m]) => m instanceof Linear);
    const widths: Record<string, number> = {};
    const split = layers.map(([name, m], i): [string, Module] => {
      if (i < first || !(m instanceof Linear)) return [name, m];
      widths[name] = m.outFeatures;
      if (m.outFeatures < group.size)
        throw new RangeError(`${name} has ${m.outFeatures} output features, fewer than the ${group.size} ranks that would each hold some of them`);
      const whole = m.parameters().map((p) => p.value);
      group.broadcast(whole, { root: 0 }).wait();
      const { counts, start } = group.split(m.outFeatures);
      const slice = new Linear(m.inFeatures, counts[group.rank]!, { bias: m.bias !== null, device: m.weight.device });
      slice.weight.setValue(sliceFirst(m.weight.value, start, slice.outFeatures));
      if (m.bias && slice.bias) slice.bias.setValue(sliceFirst(m.bias.value, start, slice.outFeatures));
      m.dispose();
      return [name, slice];
    });
    if (first < 0) throw new RangeError('the hybrid needs a fully connected (Linear) layer to make model parallel; the model has none');
    const hybrid = new HybridParallel(split, group, widths);
    hybrid.inputGrad = model.inputGrad;
    return hybrid;
  }

  override children(): [string, Module][] {
    return this.ownHead ? [['head', this.ownHead], ...this.layers] : [...this.layers];
  }

  /** As the network's: the head's under its own names (`conv1.weight#0` for two columns), then `fc6.weight` …. */
  override namedParameters(prefix = ''): [string, Parameter][] {
    if (!this.ownHead) return super.namedParameters(prefix);
    return [...this.ownHead.namedParameters(prefix), ...this.layers.flatMap(([name, m]) => m.namedParameters(`${prefix}${name}.`))];
  }

  /** Every layer seeded at its position in the whole network, as the one-process model seeds it. */
  override reseed(seed: number): void {
    if (!this.ownHead) return super.reseed(seed);
    this.ownHead.reseed(seed);
    this.layers.forEach(([, m], i) => m.reseed(deriveSeed(seed, this.firstPosition + i)));
  }

  /** The parameters every rank holds whole (the head's): their gradients are all-reduced. */
  replicatedParameters(): [string, Parameter][] {
    return this.namedParameters().filter(([n]) => !this.slices.has(n));
  }

  /** Whether `name` (a parameter name) is a slice of a model-parallel layer. */
  isSliced(name: string): boolean {
    return this.slices.has(name);
  }

  override outputShape(shape: readonly number[]): number[] {
    const flat = this.head ? this.head.outputShape(shape) : [...shape];
    return [shape[0]!, this.segments.reduce((s, seg) => { seg.linear.outputShape(s); return [s[0]!, seg.width]; }, flat)[1]!];
  }

  /** Only the head sees this rank's rows of the batch; the tail computes every rank's rows. */
  override setRowOffset(row: number): void {
    super.setRowOffset(row);
    for (const seg of this.segments) for (const m of [seg.linear, ...seg.pointwise]) m.rowOffset = 0;
  }

  /**
   * The rows every rank's input has in the next forward, in rank order (one call per forward).
   * Without it every rank is taken to have as many rows as this one (training batches do).
   */
  setNextRows(rows: readonly number[]): void {
    if (!Array.isArray(rows) || rows.length !== this.group.size || rows.some((r) => !Number.isSafeInteger(r) || r < 0))
      throw new TypeError(`rows must be ${this.group.size} non-negative integers, one per rank, got ${describe(rows)}`);
    this.nextRows = [...rows];
  }

  forward(x: Tensor): Tensor {
    const rows = this.nextRows ?? new Array<number>(this.group.size).fill(x.shape[0]!);
    this.nextRows = null;
    if (rows[this.group.rank] !== x.shape[0])
      throw new RangeError(`the input has ${x.shape[0]} rows but rank ${this.group.rank}'s share of the batch is ${rows[this.group.rank]}`);
    const total = rows.reduce((a, b) => a + b, 0);
    const own = rows.slice(0, this.group.rank).reduce((a, b) => a + b, 0);
    this.lastRows = this.training ? rows : null;
    const features = this.head ? float32(this.head.forward(x)) : x.reshape(x.shape);
    if (features.shape.length !== 2) {
      features.dispose();
      throw new RangeError(`the first fully connected layer needs [rows, features]; the layers before it give ${shapeString(features.shape)}`);
    }
    let input = this.gather(features, [total, features.shape[1]!], 0, rows);
    features.dispose();
    for (const seg of this.segments) {
      let h = seg.linear.forward(input);
      input.dispose();
      for (const m of seg.pointwise) {
        const next = m.forward(h);
        h.dispose();
        h = next;
      }
      h = float32(h);
      input = this.gather(h, [total, seg.width], 1, seg.counts);
      h.dispose();
    }
    const logits = sliceRows(input, own, x.shape[0]!);
    input.dispose();
    return logits;
  }

  backward(dy: Tensor): Tensor | null {
    const rows = this.lastRows ?? this.noForward();
    const total = rows.reduce((a, b) => a + b, 0);
    const all = this.gather(dy, [total, dy.shape[1]!], 0, rows);
    let grad = sliceColumns(all, this.segments.at(-1)!.start, this.segments.at(-1)!.linear.outFeatures);
    all.dispose();
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const seg = this.segments[i]!;
      for (const m of [...seg.pointwise].reverse()) {
        const next = m.backward(grad);
        grad.dispose();
        if (next === null) throw new Error(`${seg.name}: a pointwise layer computed no input gradient`);
        grad = next;
      }
      const computed = seg.linear.backward(grad);
      grad.dispose();
      if (computed === null) { // inputGrad off, and no head: nothing more to compute
        this.lastRows = null;
        return null;
      }
      const dx = float32(computed);
      const before = this.segments[i - 1];
      // Every rank computed a part of this layer's input gradient (from its features): the sum of
      // the parts goes to whoever owns each piece of the input.
      grad = before
        ? this.scatter(dx, [total, before.linear.outFeatures], 1, before.counts)
        : this.scatter(dx, [rows[this.group.rank]!, dx.shape[1]!], 0, rows);
      dx.dispose();
    }
    this.lastRows = null;
    if (!this.head) return grad;
    const dx = this.head.backward(grad);
    grad.dispose();
    return dx;
  }

  /** The slices of the tail's parameters (`<prefix><name>`) gathered into the whole layers' tensors; see Module.exportState. A collective: every rank calls it. */
  override exportState(tensors: StateDict, prefix = ''): StateDict {
    const out: StateDict = {};
    for (const [name, t] of Object.entries(tensors)) {
      const slice = name.startsWith(prefix) ? this.slices.get(name.slice(prefix.length)) : undefined;
      out[name] = slice ? this.gather(t, [slice.width, ...t.shape.slice(1)], 0, slice.counts) : t;
    }
    if (!this.ownHead) return out;
    const laidOut = this.ownHead.exportState(out, prefix);
    // The gathered tensors the head's layout passed over are disposed by the caller with the rest;
    // those it replaced are not in its result: dispose them here.
    const kept = new Set(Object.values(laidOut));
    for (const [name, t] of Object.entries(out)) if (t !== tensors[name] && !kept.has(t)) t.dispose();
    return laidOut;
  }

  /** The whole layers' tensors cut to this rank's slices; see Module.importState. */
  override importState(saved: StateDict, prefix = ''): StateDict {
    const out: StateDict = {};
    for (const [name, t] of Object.entries(saved)) {
      const slice = name.startsWith(prefix) ? this.slices.get(name.slice(prefix.length)) : undefined;
      out[name] = slice && t instanceof Tensor && t.shape[0] === slice.width && slice.width !== slice.counts[this.group.rank]
        ? sliceFirst(t, slice.start, slice.counts[this.group.rank]!)
        : t;
    }
    if (!this.ownHead) return out;
    const laidOut = this.ownHead.importState(out, prefix);
    const kept = new Set(Object.values(laidOut));
    for (const [name, t] of Object.entries(out)) if (t !== saved[name] && !kept.has(t)) t.dispose();
    return laidOut;
  }

  /** A new tensor of `shape` holding every rank's `part` along `dim`. */
  private gather(part: Tensor, shape: number[], dim: number, counts: number[]): Tensor {
    const whole = Tensor.zeros(shape, part.device as DeviceName);
    this.group.allGather(part, whole, { dim, counts }).wait();
    return whole;
  }

  /** A new tensor of `shape` (this rank's share along `dim`) holding the sum over the ranks of their `whole`'s share. */
  private scatter(whole: Tensor, shape: number[], dim: number, counts: number[]): Tensor {
    const part = Tensor.zeros(shape, whole.device as DeviceName);
    this.group.reduceScatter(whole, part, { dim, counts }).wait();
    return part;
  }

  protected override releaseOwn(): void {
    this.lastRows = null;
  }
}
