// Gradient all-reduce in buckets that start during the backward pass, as PyTorch's
// DistributedDataParallel does: the parameters are grouped, in reverse order (the order the
// backward pass produces their gradients), into buckets of about `bucketBytes`; when the last
// gradient of a bucket has been queued, the bucket's mean over the ranks is started at once, so the
// transfer of the later layers' gradients runs while the device still computes the earlier layers'.
// finish() queues the waits before the optimiser reads the gradients.
import type { Parameter } from '../nn/parameter.js';
import type { Tensor } from '../tensor.js';
import { describe, integer } from '../validate.js';
import type { Collective, ProcessGroup, ReduceOp } from './group.js';

export interface ReducerOptions {
  /** Bytes of gradients per bucket (default 4 MiB; a parameter larger than that is a bucket of its own). */
  bucketBytes?: number;
  /**
   * 'mean' (default): each rank's gradients are of its own loss and the mean over the ranks is the
   * update. 'sum': they are parts of one gradient (the hybrid's, of the global batch's loss).
   */
  op?: ReduceOp;
}

interface Bucket {
  params: Parameter[];
  ready: Set<Parameter>;
  collective: Collective | null;
}

export class GradientReducer {
  readonly buckets: readonly (readonly string[])[];
  private readonly group: ProcessGroup;
  private readonly list: Bucket[] = [];
  private readonly bucketOf = new Map<Parameter, Bucket>();
  private readonly names = new Map<Parameter, string>();
  private active = false;
  private readonly op: ReduceOp;

  constructor(group: ProcessGroup, params: readonly [string, Parameter][], options: ReducerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
    const cap = integer(options.bucketBytes ?? 4 << 20, 'options.bucketBytes', 1);
    const op = options.op ?? 'mean';
    if (op !== 'sum' && op !== 'mean') throw new TypeError(`options.op must be "sum" or "mean", got ${describe(op)}`);
    this.op = op;
    this.group = group;
    // A bucket holds parameters of one device only (a collective covers one device).
    const open = new Map<string, Bucket & { bytes: number }>();
    const names: string[][] = [];
    for (const [name, p] of [...params].reverse()) {
      this.names.set(p, name);
      const bytes = p.shape.reduce((a, b) => a * b, 1) * 4;
      let bucket = open.get(p.device);
      if (!bucket || (bucket.bytes > 0 && bucket.bytes + bytes > cap)) {
        bucket = { params: [], ready: new Set(), collective: null, bytes: 0 };
        open.set(p.device, bucket);
        this.list.push(bucket);
        names.push([]);
      }
      bucket.params.push(p);
      bucket.bytes += bytes;
      names[this.list.indexOf(bucket)]!.push(name);
      this.bucketOf.set(p, bucket);
      p.onGrad = (param) => this.gradReady(param);
    }
    this.buckets = names;
  }

  /** Called before the backward pass of a step: buckets start as their gradients are queued. */
  beginStep(): void {
    for (const b of this.list) {
      b.ready.clear();
      b.collective = null;
    }
    this.active = true;
  }

  /**
   * After the backward pass: queues the wait of every bucket (later work, the optimiser step, sees
   * the mean gradients). Every parameter must have received a gradient in this step, or the ranks
   * would fall out of step.
   */
  finish(): void {
    this.active = false;
    const missing = this.list.filter((b) => b.collective === null).flatMap((b) => b.params.filter((p) => !b.ready.has(p)));
    if (missing.length > 0)
      throw new Error(`no gradient for ${missing.map((p) => this.names.get(p)).join(', ')} in this step: every rank must reduce every parameter's gradient`);
    for (const b of this.list) b.collective!.wait();
  }

  /** Unhooks the parameters. */
  dispose(): void {
    for (const p of this.bucketOf.keys()) p.onGrad = null;
  }

  private gradReady(p: Parameter): void {
    if (!this.active) return;
    const b = this.bucketOf.get(p)!;
    b.ready.add(p);
    if (b.ready.size === b.params.length && b.collective === null) b.collective = this.group.allReduce(b.params.map((q) => q.grad as Tensor), { op: this.op });
  }
}
