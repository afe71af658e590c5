// The paper's two-GPU network (§3.2, Figure 2): the layer list of ./alexnet_spec.ts placed across two
// devices. Each column holds half of every split layer's kernels on its own device; the columns read
// each other's outputs only where a layer reads both columns (conv3, the fully connected layers,
// dropout, whose mask covers the whole tensor). Exchanges are device-to-device copies queued on the
// streams, so the columns compute concurrently. With the same weights it is the same function as the
// one-device grouped AlexNet. Its parameters are named `conv1.weight#0` / `conv1.weight#1` (column
// halves) and `fc8.*` (on the first device); its state (exportState, stateDict) uses the one-device
// names, so a checkpoint loads into either layout.
import { deviceName, type DeviceName } from '../device_name.js';
import { checkDevice } from '../device.js';
import type { Conv2d } from '../nn/conv2d.js';
import type { ProcessGroup } from '../distributed/group.js';
import { HybridParallel } from '../distributed/hybrid.js';
import { Linear } from '../nn/linear.js';
import { Module, type StateDict } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { deriveSeed } from '../nn/seed.js';
import { Sequential } from '../nn/sequential.js';
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { tidy } from '../tidy.js';
import { describe, shapeString } from '../validate.js';
import { alexnetSpec, isWeighted, placeLayer, resolveAlexNetOptions, weightShape, type AlexNetConfig, type AlexNetOptions, type LayerSpec } from './alexnet_spec.js';
import { drawLayer, layerInits } from './init.js';

export interface TwoColumnOptions extends Omit<AlexNetOptions, 'device'> {
  /**
   * The devices of column 0 and column 1. The same device twice puts both columns on it, each on
   * a stream of its own (`['cuda:0', 'cuda:0']` runs column 1 on "cuda:0/1"), as the paper's
   * split would run on one GPU.
   */
  devices: [DeviceName, DeviceName];
}

/** `name` with the next stream of its device: "cuda:0" -> "cuda:0/1", "cuda:0/1" -> "cuda:0/2". */
function nextLane(name: DeviceName): DeviceName {
  const [base, lane = '0'] = name.split('/');
  return deviceName(`${base}/${Number(lane) + 1}`);
}

const COLUMN_SUFFIX = /#([01])$/;

/**
 * A run of layers between two exchanges. A split stage runs in both columns (`parts` = [column 0,
 * column 1], each on its column's half) and ends with each column holding its half of the output;
 * the stage after the last split layer runs once, whole, on the first device (`parts` = [it]).
 * Every stage but the first reads the whole output of the one before.
 */
interface Stage {
  readonly parts: Sequential[];
  readonly split: boolean;
}

/**
 * Cuts the layer list where a layer needs both columns' channels while each column holds only its
 * half: before a weighted layer that reads both columns, a dropout layer (its mask covers the
 * whole tensor), or the layer that runs whole.
 */
function stagesOf(layers: LayerSpec[]): { layers: LayerSpec[]; split: boolean }[] {
  const stages: { layers: LayerSpec[]; split: boolean }[] = [];
  let halves = false; // whether each column holds only its half of the current activations
  for (const layer of layers) {
    const readsWhole = (isWeighted(layer) && layer.columns !== 'own') || layer.kind === 'dropout';
    const single = isWeighted(layer) && layer.columns === 'single';
    if (stages.length === 0 || (readsWhole && halves)) {
      if (stages.at(-1)?.split === false) throw new Error(`the two-column layout cannot split ${layer.name} after the layers that run whole`);
      stages.push({ layers: [], split: true });
      halves = false;
    }
    const stage = stages.at(-1)!;
    if ((layer.kind === 'lrn' || (isWeighted(layer) && layer.columns === 'own')) && !halves)
      throw new Error(`${layer.name} works within a column but its input is not split into columns`);
    if (single) {
      if (stage.layers.some((l) => isWeighted(l) && l.columns !== 'single')) throw new Error(`${layer.name} runs whole but shares a stage with split layers`);
      stage.split = false;
    }
    stage.layers.push(layer);
    if (isWeighted(layer)) halves = !single;
  }
  return stages;
}

/** `t` on `device` (itself if it is there already). */
function onDevice(t: Tensor, device: DeviceName): Tensor {
  return t.device === device ? t : t.to(device);
}

/** Half `k` of a tensor's channels (dimension 1). */
function half(t: Tensor, k: 0 | 1): Tensor {
  const width = t.shape[1]! / 2;
  return ops.sliceChannels(t, k * width, width);
}

/** Both columns' halves as one tensor [N, C0 + C1, ...] on `device`. */
function gather(halves: Tensor[], device: DeviceName): Tensor {
  return tidy(() => ops.concatChannels(halves.map((h) => onDevice(h, device))));
}

/**
 * What flows between stages: forward, the whole tensor (the image; the output of the stage that
 * runs whole) or each column's half; backward, the gradient of what the next stage read.
 */
type Flow = { whole: Tensor } | { halves: Tensor[] };
type Gradient = { whole: Tensor } | { partials: Tensor[] } | null;

/** `t` in float32: itself, or (a bfloat16 activation of mixed precision) a widened copy, which is exact. */
function float32(t: Tensor): Tensor {
  return t.dtype === 'float32' ? t : t.to('float32');
}

export class TwoColumnAlexNet extends Module {
  readonly config: AlexNetConfig;
  readonly devices: [DeviceName, DeviceName];
  /**
   * How many layers of the one-device network this model implements: all of them, or (the
   * convolutional part that the hybrid of data and model parallelism runs in two columns) those
   * before the first fully connected layer.
   */
  readonly layerCount: number;
  private readonly stages: Stage[];
  /** Each layer's position in the one-device network: its dropout seed derives from it (Module.reseed). */
  private readonly position: Map<string, number>;
  private readonly outputShapeCache: number[];

  /**
   * `part` 'convolutional' builds only the layers before the first fully connected one (ending
   * with the flattened features, whole on the first device), with the weights the whole network
   * draws for them: the head of hybridTwoColumnAlexNet.
   */
  constructor(options: TwoColumnOptions, part: 'network' | 'convolutional' = 'network') {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
    const { devices, ...rest } = options;
    if (!Array.isArray(devices) || devices.length !== 2 || devices.some((d) => typeof d !== 'string'))
      throw new TypeError(`devices must be two device names like ['cuda:0', 'cuda:1'], got ${describe(devices)}`);
    const first = checkDevice(devices[0]);
    const second = checkDevice(devices[1]);
    this.devices = [first, second === first ? checkDevice(nextLane(first)) : second];
    this.config = resolveAlexNetOptions({ ...rest, device: this.devices[0] });
    if (this.config.singleColumn) throw new RangeError('singleColumn is the one-column network: it has no second column to place on devices[1]; build it with one device');
    const spec = alexnetSpec(this.config);
    const firstLinear = spec.layers.findIndex((l) => l.kind === 'linear');
    this.layerCount = part === 'convolutional' ? firstLinear : spec.layers.length;
    const layers = spec.layers.slice(0, this.layerCount);
    for (const layer of layers.filter(isWeighted)) {
      const width = weightShape(layer)[0]!;
      if (layer.columns !== 'single' && width % 2 !== 0)
        throw new RangeError(`the ${layer.kind === 'linear' ? 'fully connected' : `${layer.name}`} width (${width}) must be even to split into two columns`);
    }
    this.outputShapeCache = spec.shapes[this.layerCount - 1]![1];
    this.position = new Map(spec.layers.map((l, i) => [l.name, i]));
    this.stages = stagesOf(layers).map(({ layers, split }) => {
      const place = (device: DeviceName) => new Sequential(layers.map((l) => [l.name, placeLayer(l, split ? 'column' : 'whole', device)]));
      return { parts: split ? this.devices.map(place) : [place(this.devices[0])], split };
    });
    for (const part of this.stages[0]!.parts) part.inputGrad = false; // nobody needs dL/d(image)
    this.initialize(spec.layers);
    this.reseed(this.config.seed);
  }

  /**
   * Draws the weights the one-device network has for the same seed: column k's half of a split
   * layer is rows [k·n, (k+1)·n) of the one-device weight, drawn from the same counter stream.
   */
  private initialize(layers: LayerSpec[]): void {
    const weighted = layers.filter(isWeighted);
    const inits = layerInits(weighted.map((l) => ({ name: l.name, weightShape: weightShape(l) })), this.config.init, this.config.seed);
    const initOf = new Map(weighted.map((l, i) => [l.name, inits[i]!]));
    for (const { parts } of this.stages) {
      parts.forEach((part, k) => {
        for (const [name, layer] of part.children()) {
          const init = initOf.get(name);
          if (init) drawLayer(layer as Conv2d | Linear, init, k * (layer as Conv2d | Linear).weight.shape[0]!);
        }
      });
    }
  }

  override children(): [string, Module][] {
    const name = (part: Sequential): string => {
      const layers = part.children();
      return layers.length === 1 ? layers[0]![0] : `${layers[0]![0]}-${layers.at(-1)![0]}`;
    };
    const split = this.stages.filter((s) => s.split);
    return [
      ...[0, 1].flatMap((k) => split.map((s): [string, Module] => [`column${k}.${name(s.parts[k]!)}`, s.parts[k]!])),
      ...this.stages.filter((s) => !s.split).map((s): [string, Module] => [name(s.parts[0]!), s.parts[0]!]),
    ];
  }

  /** Parameters named like the one-device model's with `#0`/`#1` for the column halves. */
  override namedParameters(prefix = ''): [string, Parameter][] {
    const split = this.stages.filter((s) => s.split);
    return [
      ...[0, 1].flatMap((k) => split.flatMap((s) => s.parts[k]!.namedParameters(prefix).map(([n, p]): [string, Parameter] => [`${n}#${k}`, p]))),
      ...this.stages.filter((s) => !s.split).flatMap((s) => s.parts[0]!.namedParameters(prefix)),
    ];
  }

  override outputShape(shape: readonly number[]): number[] {
    const want = [this.config.inChannels, this.config.inputSize, this.config.inputSize];
    if (shape.length !== 4 || shape.slice(1).some((d, i) => d !== want[i]))
      throw new RangeError(`TwoColumnAlexNet expects [N, ${want.join(', ')}], got ${shapeString(shape)}`);
    return [shape[0]!, this.outputShapeCache[1]!];
  }

  /** Seeds every layer as the one-device model would from `seed` (the same dropout masks: the same function). */
  override reseed(seed: number): void {
    for (const { parts } of this.stages)
      for (const part of parts)
        for (const [name, layer] of part.children()) layer.reseed(deriveSeed(seed, this.position.get(name)!));
  }

  /** [C, H, W] of the input. */
  get inputShape(): [number, number, number] {
    return [this.config.inChannels, this.config.inputSize, this.config.inputSize];
  }

  forward(x: Tensor): Tensor {
    let flow: Flow = { whole: x };
    for (const stage of this.stages) {
      const input: Flow = flow;
      flow = tidy(() => this.forwardStage(stage, input));
      if (!('whole' in input && input.whole === x)) disposeFlow(input); // what the stage read is no longer needed
    }
    return 'whole' in flow ? flow.whole : tidy(() => gather(flow.halves, this.devices[0]));
  }

  /**
   * One stage forward: each column reads the whole input on its device. What crosses to the next
   * stage is float32 (in mixed precision the bfloat16 activations widen, exactly, and the next
   * layer rounds them back to the same values): the exchanges copy and concatenate float32.
   */
  private forwardStage(stage: Stage, input: Flow): Flow {
    const outputs = stage.parts.map((part, k) => float32(part.forward(this.whole(input, this.devices[k]!))));
    return stage.split ? { halves: outputs } : { whole: outputs[0]! };
  }

  /** The whole of `flow` on `device`. */
  private whole(flow: Flow, device: DeviceName): Tensor {
    return 'whole' in flow ? onDevice(flow.whole, device) : gather(flow.halves, device);
  }

  backward(dy: Tensor): Tensor | null {
    let grad: Gradient = { whole: dy };
    for (const stage of [...this.stages].reverse()) {
      if (grad === null) throw new Error('a stage of the two-column model needs a gradient but the stage after it computed none (inputGrad off)');
      const output: NonNullable<Gradient> = grad;
      grad = tidy(() => this.backwardStage(stage, output));
      if (!('whole' in output && output.whole === dy)) disposeGradient(output);
    }
    disposeGradient(grad);
    return null; // the image's gradient is never needed (the first stage has inputGrad off)
  }

  /** One stage backward, from the gradient of what the next stage read (the whole of this stage's output). */
  private backwardStage(stage: Stage, output: NonNullable<Gradient>): Gradient {
    const grads = stage.parts.map((part, k) => part.backward(stage.split ? this.halfGradient(output, k as 0 | 1) : this.wholeGradient(output)));
    if (grads.some((g) => g === null)) return null;
    for (let k = 0; k < grads.length; k++) grads[k] = float32(grads[k]!); // summed and copied in float32, as forward
    return stage.split ? { partials: grads as Tensor[] } : { whole: grads[0]! };
  }

  /**
   * The gradient of column k's half of a stage output: its slice of the gradient each reader of the
   * whole output computed, summed on column k's device (its own reader's first).
   */
  private halfGradient(grad: NonNullable<Gradient>, k: 0 | 1): Tensor {
    const device = this.devices[k];
    if ('whole' in grad) return onDevice(half(grad.whole, k), device);
    const own = half(grad.partials[k]!, k);
    ops.axpy(1, onDevice(half(grad.partials[1 - k]!, k), device), own);
    return own;
  }

  /** The gradient of the whole output of the stage before the one that runs whole. */
  private wholeGradient(grad: NonNullable<Gradient>): Tensor {
    if ('whole' in grad) return grad.whole;
    throw new Error('the stage that runs whole is read by split stages'); // stagesOf rules this out
  }

  /** Column halves (`x#0`, `x#1`) as the one-device tensor `x`; see groupedLayout. */
  override exportState(tensors: StateDict, _prefix = ''): StateDict {
    return groupedLayout(tensors);
  }

  /** One-device tensors (`<prefix>x`) split into this model's column halves (`<prefix>x#k`); see columnLayout. */
  override importState(saved: StateDict, prefix = ''): StateDict {
    return columnLayout(saved, this.namedParameters().map(([n, p]) => [prefix + n, p.shape]));
  }
}

/**
 * This rank's part of the network in the hybrid of data and model parallelism with the paper's two
 * columns: the convolutional layers in two columns on `devices` (TwoColumnAlexNet's convolutional
 * part, replicated over the ranks and data parallel), and of fc6, fc7 and fc8 the rank's slice of
 * the output features (group.split() of each width), whole on the first device, drawn as those rows
 * of the one-device network's weights for the same seed.
 *
 * The fully connected layers are split over the ranks, not again over each rank's two columns: with
 * N ranks a rank holds 1/N of them, already no more than what each of the paper's two GPUs held for
 * N >= 2, and a second split would add an exchange between the columns in every fully connected
 * layer, forward and backward, on top of the all-gather and reduce-scatter between the ranks, for
 * layers that are a few percent of the network's arithmetic.
 */
export function hybridTwoColumnAlexNet(options: TwoColumnOptions, group: ProcessGroup): HybridParallel {
  const head = new TwoColumnAlexNet(options, 'convolutional');
  const device = head.devices[0];
  const spec = alexnetSpec(head.config);
  const widths: Record<string, number> = {};
  const starts = new Map<string, number>();
  const tail = spec.layers.slice(head.layerCount).map((l): [string, Module] => {
    if (l.kind !== 'linear') return [l.name, placeLayer(l, 'whole', device)];
    if (l.outFeatures < group.size)
      throw new RangeError(`${l.name} has ${l.outFeatures} output features, fewer than the ${group.size} ranks that would each hold some of them`);
    const { counts, start } = group.split(l.outFeatures);
    widths[l.name] = l.outFeatures;
    starts.set(l.name, start);
    return [l.name, new Linear(l.inFeatures, counts[group.rank]!, { device })];
  });
  const weighted = spec.layers.filter(isWeighted);
  const inits = layerInits(weighted.map((l) => ({ name: l.name, weightShape: weightShape(l) })), head.config.init, head.config.seed);
  const byName = new Map(tail);
  weighted.forEach((l, i) => {
    if (starts.has(l.name)) drawLayer(byName.get(l.name) as Linear, inits[i]!, starts.get(l.name)!);
  });
  return new HybridParallel(tail, group, widths, { head, headLayers: head.layerCount });
}

function disposeFlow(flow: Flow): void {
  if ('whole' in flow) flow.whole.dispose();
  else flow.halves.forEach((t) => t.dispose());
}

function disposeGradient(grad: Gradient): void {
  if (grad === null) return;
  if ('whole' in grad) grad.whole.dispose();
  else grad.partials.forEach((t) => t.dispose());
}

/** Rows [start, start + count) of a tensor, along its first dimension. */
function rows(t: Tensor, start: number, count: number): Tensor {
  const [o, ...rest] = t.shape;
  return tidy(() => ops.sliceChannels(t.reshape([1, o!, rest.reduce((a, b) => a * b, 1)]), start, count).reshape([count, ...rest]));
}

/** Concatenation along the first dimension, on the first tensor's device. */
function stackRows(parts: Tensor[]): Tensor {
  const device = parts[0]!.device;
  const [, ...rest] = parts[0]!.shape;
  const size = rest.reduce((a, b) => a * b, 1);
  return tidy(() => ops.concatChannels(parts.map((p) => onDevice(p, device).reshape([1, p.shape[0]!, size])))
    .reshape([parts.reduce((s, p) => s + p.shape[0]!, 0), ...rest]));
}

/**
 * Merges column halves (`x#0`, `x#1`, including `momentum.x#k`) into the one-device name `x` by
 * concatenating along the first dimension; other entries pass through. The merged tensors are new
 * (on column 0's tensor's device); the pass-through ones are the same objects.
 */
export function groupedLayout(record: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(record)) {
    const m = COLUMN_SUFFIX.exec(name);
    if (!m) {
      out[name] = t;
      continue;
    }
    if (m[1] === '1') continue;
    const base = name.slice(0, -2);
    const other = record[`${base}#1`];
    if (!other) throw new RangeError(`${name} has no second column ${base}#1`);
    out[base] = stackRows([t, other]);
  }
  return out;
}

/**
 * Splits one-device entries into the column halves that `params` (name, shape) ask for: `x#k` takes
 * rows [k·n, (k+1)·n) of `x`. Entries already named like a parameter are used as they are.
 */
export function columnLayout(record: Record<string, Tensor>, params: [string, readonly number[]][]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, shape] of params) {
    if (record[name]) {
      out[name] = record[name]!;
      continue;
    }
    const m = COLUMN_SUFFIX.exec(name);
    const full = m ? record[name.slice(0, -2)] : undefined;
    if (!m || !full) continue; // reported as missing by loadStateDict
    const k = Number(m[1]);
    if (full.shape[0] !== 2 * shape[0]!)
      throw new RangeError(`${name.slice(0, -2)} has shape ${shapeString(full.shape)}; a column needs half of its ${full.shape[0]} rows to be ${shape[0]}`);
    out[name] = rows(full, k * shape[0]!, shape[0]!);
  }
  for (const [name, t] of Object.entries(record)) if (!(name in out) && !params.some(([p]) => p.startsWith(`${name}#`))) out[name] = t;
  return out;
}
