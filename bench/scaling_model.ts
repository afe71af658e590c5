// A model of how AlexNet training scales over many GPUs: a projection, not a measurement.
//
// Each layer's compute time comes from a timer (its FLOPs and bytes at an assumed sustained rate,
// or times measured by bench/quick_preset_layers.js); collectives are rings whose speed is the
// slowest link they cross (NVLink within a node, the network between nodes). Two ways to split a
// step over N GPUs are compared:
//  - data parallel: every GPU holds the whole network and a batch of its own; gradients are
//    all-reduced in buckets that start as soon as backward has produced them (as DDP does);
//  - hybrid (Krizhevsky 2014, "One weird trick for parallelizing convolutional neural networks"):
//    the convolutional layers are data parallel as above; fc6 onwards is model parallel, each GPU
//    holding 1/N of every fully connected layer's output features and computing them for all N
//    batches: each fully connected layer's input is all-gathered forward and its gradient
//    reduce-scattered backward; the weights are never communicated.
// Times are in seconds, sizes in bytes, rates in per-second units.
import { isWeighted, weightShape, type AlexNetSpec, type LayerSpec } from '../lib/models/alexnet_spec.js';

export interface LayerProfile {
  name: string;
  kind: LayerSpec['kind'];
  /** Weights and biases; 0 for layers without parameters. */
  params: number;
  /** Values in the layer's input and output for one image. */
  inValues: number;
  outValues: number;
  /** Floating-point operations (2 per multiply-add) for one image. */
  fwdFlops: number;
  bwdFlops: number;
  /** Whether backward computes the input gradient (not for the first layer: nobody needs dL/d(image)). */
  inputGrad: boolean;
  /** Part of the hybrid's model-parallel section (the first fully connected layer onwards). */
  modelParallel: boolean;
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Every layer of `spec` with its parameters, activation sizes and FLOPs, from the spec alone. */
export function layerProfiles(spec: AlexNetSpec): LayerProfile[] {
  const output = new Map(spec.shapes);
  const c = spec.config;
  let input = [1, c.inChannels, c.inputSize, c.inputSize];
  let seenWeighted = false;
  let modelParallel = false;
  return spec.layers.map((layer) => {
    const out = output.get(layer.name)!;
    const inValues = product(input);
    const outValues = product(out);
    input = out;
    let params = 0;
    let fwdFlops = 0;
    let inputGrad = true;
    if (isWeighted(layer)) {
      const w = weightShape(layer);
      params = product(w) + w[0]!;
      // Each output value is a dot product over one weight row ([in/groups, k, k] or [in]).
      fwdFlops = 2 * outValues * product(w.slice(1));
      inputGrad = seenWeighted;
      seenWeighted = true;
      if (layer.kind === 'linear') modelParallel = true;
    }
    // Backward: the weight gradient costs a forward's FLOPs, and so does the input gradient.
    const bwdFlops = fwdFlops * (inputGrad ? 2 : 1);
    return { name: layer.name, kind: layer.kind, params, inValues, outValues, fwdFlops, bwdFlops, inputGrad, modelParallel };
  });
}

export interface LayerTime { fwd: number; bwd: number }

/** Compute time on one GPU: a layer over `rows` images holding `shard` of its output features, and the SGD update. */
export interface Timer {
  layer(layer: LayerProfile, rows: number, shard: number): LayerTime;
  update(params: number): number;
}

export interface ComputeRates {
  /** Sustained FLOP/s (peak × efficiency). */
  flops: number;
  /** Sustained memory bytes/s (peak × efficiency). */
  memoryBandwidth: number;
  /** Bytes of one activation, gradient or weight value (4 for FP32). */
  bytesPerValue: number;
}

/**
 * A roofline: a layer takes the longer of its FLOPs at the sustained rate and its memory traffic at
 * the sustained bandwidth. Forward reads the input (and weights) and writes the output; backward
 * reads the input, the output gradient (and weights) and writes the input gradient (and weight
 * gradient). The update (SGD with momentum and weight decay) reads weight, gradient and momentum
 * and writes weight and momentum: 5 values per parameter. Flatten is a view and costs nothing.
 */
export function rooflineTimer(rates: ComputeRates): Timer {
  const time = (flops: number, values: number): number =>
    Math.max(flops / rates.flops, (values * rates.bytesPerValue) / rates.memoryBandwidth);
  return {
    layer(l, rows, shard) {
      if (l.kind === 'flatten') return { fwd: 0, bwd: 0 };
      if (l.params === 0) // elementwise, LRN, pooling: sharded in the hybrid like their input
        return { fwd: time(0, rows * shard * (l.inValues + l.outValues)), bwd: time(0, rows * shard * (2 * l.inValues + l.outValues)) };
      const inGrad = l.inputGrad ? 1 : 0;
      return {
        fwd: time(rows * shard * l.fwdFlops, rows * (l.inValues + shard * l.outValues) + shard * l.params),
        bwd: time(rows * shard * l.bwdFlops, rows * ((1 + inGrad) * l.inValues + shard * l.outValues) + 2 * shard * l.params),
      };
    },
    update: (params) => time(0, 5 * params),
  };
}

/** Per-layer times measured at `batch` images (milliseconds), scaled linearly in images and shard. */
export interface MeasuredTimes {
  batch: number;
  layers: Record<string, { fwdMs: number; bwdMs: number }>;
  /** The whole network's SGD update; the update counts as free when absent. */
  updateMs?: number;
}

export function measuredTimer(measured: MeasuredTimes, profiles: LayerProfile[], source: string): Timer {
  const time = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (typeof measured !== 'object' || measured === null || typeof measured.layers !== 'object' || measured.layers === null)
    throw new RangeError(`${source}: expected an object with 'batch' and 'layers' (as quick_preset_layers.js --json writes)`);
  if (typeof measured.batch !== 'number' || !(measured.batch > 0) || !Number.isFinite(measured.batch))
    throw new RangeError(`${source}: batch must be a positive number, got ${JSON.stringify(measured.batch)}`);
  if (measured.updateMs !== undefined && !time(measured.updateMs))
    throw new RangeError(`${source}: updateMs must be a finite number >= 0, got ${JSON.stringify(measured.updateMs)}`);
  for (const l of profiles) {
    const t = measured.layers[l.name];
    if (typeof t !== 'object' || t === null || !time(t.fwdMs) || !time(t.bwdMs))
      throw new RangeError(`${source}: no measured fwdMs and bwdMs (finite, >= 0) for layer '${l.name}'`);
  }
  const total = profiles.reduce((s, l) => s + l.params, 0);
  return {
    layer(l, rows, shard) {
      const t = measured.layers[l.name]!;
      const scale = (rows * shard) / measured.batch / 1000;
      return { fwd: t.fwdMs * scale, bwd: t.bwdMs * scale };
    },
    update: (params) => ((measured.updateMs ?? 0) * params) / total / 1000,
  };
}

// ---- Collectives ----

export interface Link {
  /** Sustained bytes/s each GPU sends (and receives) at once. */
  bandwidth: number;
  /** Seconds per message (per step of a ring). */
  latency: number;
}

export interface Fabric {
  gpusPerNode: number;
  /** Within a node. */
  nvlink: Link;
  /** Between nodes, per GPU (the node's network bandwidth divided among its GPUs). */
  network: Link;
}

/** A ring over `gpus` GPUs moves at the pace of its slowest link: NVLink within one node, else the network. */
export function ringLink(gpus: number, fabric: Fabric): Link {
  if (gpus <= fabric.gpusPerNode) return fabric.nvlink;
  return { bandwidth: Math.min(fabric.nvlink.bandwidth, fabric.network.bandwidth), latency: Math.max(fabric.nvlink.latency, fabric.network.latency) };
}

/** Bytes each GPU sends in a ring all-reduce of `bytes`: a reduce-scatter then an all-gather, (N−1)/N each. */
export const ringAllReduceBytes = (bytes: number, gpus: number): number => (2 * (gpus - 1) / gpus) * bytes;

/** Bytes each GPU sends in a ring all-gather (or reduce-scatter) of a tensor of `totalBytes` split N ways. */
export const ringAllGatherBytes = (totalBytes: number, gpus: number): number => ((gpus - 1) / gpus) * totalBytes;

/** Bytes each GPU sends when a tensor of `totalBytes`, split N ways, is redistributed N ways (all-to-all). */
export const allToAllBytes = (totalBytes: number, gpus: number): number => ((gpus - 1) / gpus) * (totalBytes / gpus);

export function allReduceTime(bytes: number, gpus: number, link: Link): number {
  return gpus <= 1 ? 0 : 2 * (gpus - 1) * link.latency + ringAllReduceBytes(bytes, gpus) / link.bandwidth;
}

export function allGatherTime(totalBytes: number, gpus: number, link: Link): number {
  return gpus <= 1 ? 0 : (gpus - 1) * link.latency + ringAllGatherBytes(totalBytes, gpus) / link.bandwidth;
}

/** A reduce-scatter moves what the all-gather of the same tensor moves, in reverse. */
export const reduceScatterTime = allGatherTime;

export function allToAllTime(totalBytes: number, gpus: number, link: Link): number {
  return gpus <= 1 ? 0 : (gpus - 1) * link.latency + allToAllBytes(totalBytes, gpus) / link.bandwidth;
}

// ---- Overlapping gradients with backward ----

/** A layer's gradient: when backward has produced it (seconds after backward starts) and its size. */
export interface Gradient { ready: number; bytes: number }
export interface Bucket { bytes: number; ready: number; start: number; end: number }

/**
 * Gradients, in the order backward produces them, packed into buckets of at least `capBytes` (a
 * layer is never split, so a large layer is a bucket of its own); each bucket is all-reduced once
 * its last gradient is ready and the previous bucket's all-reduce has finished (one channel).
 */
export function bucketedAllReduce(gradients: readonly Gradient[], capBytes: number, allReduce: (bytes: number) => number): Bucket[] {
  const buckets: Bucket[] = [];
  let bytes = 0;
  let channelFree = 0;
  gradients.forEach((g, i) => {
    bytes += g.bytes;
    if (bytes < capBytes && i < gradients.length - 1) return;
    const start = Math.max(g.ready, channelFree);
    channelFree = start + allReduce(bytes);
    buckets.push({ bytes, ready: g.ready, start, end: channelFree });
    bytes = 0;
  });
  return buckets;
}

// ---- Steps ----

export interface StepOptions {
  gpus: number;
  /** Images each GPU takes per step (may be fractional in a strong-scaling projection). */
  batch: number;
  timer: Timer;
  link: Link;
  bucketBytes: number;
  bytesPerValue: number;
}

export interface Step {
  /** Wall time of one step. */
  seconds: number;
  /** The part of it spent computing (forward, backward, update), with no communication. */
  compute: number;
  /** Bytes each GPU sends per step. */
  bytesSent: number;
}

/** Backward over `layers` (in forward order) with their gradients all-reduced in overlapped buckets. */
function backwardWithBuckets(layers: readonly LayerProfile[], o: StepOptions, shard: number): { seconds: number; compute: number; bytes: number } {
  let t = 0;
  const gradients: Gradient[] = [];
  for (const l of [...layers].reverse()) {
    t += o.timer.layer(l, o.batch, shard).bwd;
    if (l.params > 0) gradients.push({ ready: t, bytes: l.params * o.bytesPerValue });
  }
  const buckets = o.gpus > 1 ? bucketedAllReduce(gradients, o.bucketBytes, (b) => allReduceTime(b, o.gpus, o.link)) : [];
  const bytes = buckets.reduce((s, b) => s + ringAllReduceBytes(b.bytes, o.gpus), 0);
  return { seconds: Math.max(t, buckets.at(-1)?.end ?? 0), compute: t, bytes };
}

export function dataParallelStep(layers: readonly LayerProfile[], o: StepOptions): Step {
  const fwd = layers.reduce((s, l) => s + o.timer.layer(l, o.batch, 1).fwd, 0);
  const bwd = backwardWithBuckets(layers, o, 1);
  const update = o.timer.update(layers.reduce((s, l) => s + l.params, 0));
  return { seconds: fwd + bwd.seconds + update, compute: fwd + bwd.compute + update, bytesSent: bwd.bytes };
}

export function hybridStep(layers: readonly LayerProfile[], o: StepOptions): Step {
  const { gpus: n, batch, timer, link, bytesPerValue: bpv } = o;
  const conv = layers.filter((l) => !l.modelParallel);
  const fc = layers.filter((l) => l.modelParallel);
  const rows = batch * n; // the model-parallel layers compute every GPU's images
  let compute = 0;
  let comm = 0;
  let bytes = 0;
  const exchange = (time: number, sent: number): void => { comm += time; bytes += sent; };
  for (const l of conv) compute += timer.layer(l, batch, 1).fwd;
  for (const l of fc) {
    if (l.kind === 'linear') exchange(allGatherTime(rows * l.inValues * bpv, n, link), ringAllGatherBytes(rows * l.inValues * bpv, n));
    compute += timer.layer(l, rows, 1 / n).fwd;
  }
  // The logits go back to the GPU that owns each image (the loss is computed there), and their gradients return.
  const logits = rows * fc.at(-1)!.outValues * bpv;
  if (n > 1) exchange(2 * allToAllTime(logits, n, link), 2 * allToAllBytes(logits, n));
  for (const l of [...fc].reverse()) {
    compute += timer.layer(l, rows, 1 / n).bwd;
    if (l.kind === 'linear' && l.inputGrad) exchange(reduceScatterTime(rows * l.inValues * bpv, n, link), ringAllGatherBytes(rows * l.inValues * bpv, n));
  }
  const bwd = backwardWithBuckets(conv, o, 1);
  const params = (ls: LayerProfile[]): number => ls.reduce((s, l) => s + l.params, 0);
  const update = timer.update(params(conv) + params(fc) / n);
  compute += bwd.compute + update;
  // The activation exchanges sit between layers that need them: nothing overlaps them.
  return { seconds: compute - bwd.compute + bwd.seconds + comm, compute, bytesSent: bytes + bwd.bytes };
}

export interface Projected extends Step { imagesPerSecond: number; efficiency: number }

export interface ProjectionRow { gpus: number; batchPerGpu: number; dataParallel: Projected; hybrid: Projected }

/**
 * Both modes at each GPU count. Weak scaling (`batchPerGpu`): each GPU keeps its batch, and
 * efficiency = T(1) / T(N). Strong scaling (`globalBatch`): the batch is split N ways, and
 * efficiency = throughput(N) / (N × throughput(1)).
 */
export function project(layers: readonly LayerProfile[], o: Omit<StepOptions, 'gpus' | 'batch' | 'link'> & {
  gpuCounts: readonly number[]; fabric: Fabric; batchPerGpu?: number; globalBatch?: number;
}): ProjectionRow[] {
  if ((o.batchPerGpu === undefined) === (o.globalBatch === undefined)) throw new TypeError('give exactly one of batchPerGpu and globalBatch');
  const batchAt = (n: number): number => o.batchPerGpu ?? o.globalBatch! / n;
  const step = (n: number, mode: typeof dataParallelStep): Step => mode(layers, { ...o, gpus: n, batch: batchAt(n), link: ringLink(n, o.fabric) });
  const single = step(1, dataParallelStep); // one GPU: the two modes are the same network
  const baseline = batchAt(1) / single.seconds;
  const projected = (n: number, mode: typeof dataParallelStep): Projected => {
    const s = step(n, mode);
    const imagesPerSecond = (n * batchAt(n)) / s.seconds;
    return { ...s, imagesPerSecond, efficiency: imagesPerSecond / (n * baseline) };
  };
  return o.gpuCounts.map((n) => ({ gpus: n, batchPerGpu: batchAt(n), dataParallel: projected(n, dataParallelStep), hybrid: projected(n, hybridStep) }));
}

/**
 * The GPU count above which the hybrid sends more bytes per GPU than data parallelism, at `batch`
 * images per GPU: the fully connected layers' weight gradients (data parallel) against their
 * gathered inputs and the logits (hybrid). Both scale by 2(N−1)/N, so it is where P_fc = B·N·Σin + B·classes.
 */
export function hybridByteCrossover(layers: readonly LayerProfile[], batch: number): number {
  const fc = layers.filter((l) => l.modelParallel);
  const fcParams = fc.reduce((s, l) => s + l.params, 0);
  const gathered = fc.filter((l) => l.kind === 'linear').reduce((s, l) => s + l.inValues, 0);
  return (fcParams - batch * fc.at(-1)!.outValues) / (batch * gathered);
}
