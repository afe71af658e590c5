// The process group of data parallelism: one process per rank, launched by MPI (`mpirun -n 4 …`),
// formed from Open MPI's environment with no flags. Collectives run on the tensors' streams like
// ops: start one, queue its wait, and later work on that stream sees the result; the event loop
// never blocks. Transports: MPI for CPU tensors, NCCL for CUDA tensors (or MPI through host memory
// where NCCL is absent). A single process is a group of one, whose collectives change nothing.
import { native, type NativeCollective, type NativeGroupInfo } from '../binding.js';
import { availableParallelism } from 'node:os';
import { setNumThreads, threadCountChosen } from '../device.js';
import type { DeviceName } from '../device_name.js';
import { floatArg } from '../ops/check.js';
import { Tensor } from '../tensor.js';
import { describe, finite, integer } from '../validate.js';

export interface DistributedOptions {
  /**
   * Seconds a collective waits for the slowest rank before the group declares the missing ranks
   * lost (AlexNetError RANK_LOST naming them) and the job is ended. Default: ALEXNET_DIST_TIMEOUT
   * from the environment, else 30.
   */
  timeoutSeconds?: number;
}

/** A collective in flight. */
export class Collective {
  private waited = false;

  /** @internal */
  constructor(private readonly handle: NativeCollective) {}

  /**
   * Queues the wait for the result on the tensors' stream: work queued after it sees the reduced
   * (or broadcast) values. Once per collective. If the collective fails (RANK_LOST), the tensors
   * are poisoned with the error: reading them, or anything computed from them, rejects with it.
   */
  wait(): void {
    if (this.waited) throw new Error('wait() was already called for this collective');
    this.waited = true;
    native.collectiveWait(this.handle);
  }

  /** Resolves when the transfer has finished (rejects with its error). */
  done(): Promise<void> {
    return native.collectiveDone(this.handle);
  }
}

export type ReduceOp = 'sum' | 'mean';

export class ProcessGroup {
  readonly rank: number;
  readonly size: number;
  /** The rank among the processes on this machine: the GPU it should use (cuda:<localRank>). */
  readonly localRank: number;
  readonly timeoutSeconds: number;
  /** What moves tensors of each device kind: "none" (a group of one), "mpi", "nccl", or "mpi (staged through host memory)". */
  readonly transports: { readonly cpu: string; readonly cuda: string };

  /** @internal Use initDistributed(). */
  constructor(info: NativeGroupInfo) {
    this.rank = info.rank;
    this.size = info.size;
    this.localRank = info.localRank;
    this.timeoutSeconds = info.timeoutSeconds;
    this.transports = { cpu: info.cpuTransport, cuda: info.cudaTransport };
  }

  /**
   * Starts the sum or mean over the ranks of each tensor, in place (float32 tensors of one device;
   * several tensors travel as one message: a bucket). Returns at once; call wait() on the result.
   * Every rank must start the same collectives in the same order.
   */
  allReduce(tensors: readonly Tensor[], options: { op?: ReduceOp } = {}): Collective {
    const op = options.op ?? 'sum';
    if (op !== 'sum' && op !== 'mean') throw new TypeError(`options.op must be "sum" or "mean", got ${describe(op)}`);
    return new Collective(native.allReduceStart(tensorList(tensors), op === 'mean'));
  }

  /** Starts sending root's values of the tensors to every rank, in place. */
  broadcast(tensors: readonly Tensor[], options: { root?: number } = {}): Collective {
    const root = integer(options.root ?? 0, 'options.root', 0, this.size - 1);
    return new Collective(native.broadcastStart(tensorList(tensors), root));
  }

  /**
   * Starts gathering every rank's `input` into `output` along `options.dim` (default 0), in rank
   * order: rank q's input has `counts[q]` slices along that dimension (default: the even split of
   * output's, see split()), output the sum; every other dimension is the same. For model
   * parallelism: the rows of every rank (dim 0), or the features each rank computed (dim 1).
   * Every rank passes the same counts. A group of one copies input to output.
   */
  allGather(input: Tensor, output: Tensor, options: { dim?: number; counts?: readonly number[] } = {}): Collective {
    const { dim, counts } = this.exchangeArgs(output, options, 'output');
    return new Collective(native.allGatherStart(floatArg(input, 'input'), floatArg(output, 'output'), dim, counts));
  }

  /**
   * The inverse of allGather: starts writing into `output` (this rank's `counts[rank]` slices
   * along `options.dim`) the sum (or mean) over the ranks of their `input`'s slices at this rank's
   * place along that dimension (input holds the sum of counts). For model parallelism: each rank's
   * share of gradients every rank computed a part of.
   */
  reduceScatter(input: Tensor, output: Tensor, options: { dim?: number; counts?: readonly number[]; op?: ReduceOp } = {}): Collective {
    const { dim, counts } = this.exchangeArgs(input, options, 'input');
    const op = options.op ?? 'sum';
    if (op !== 'sum' && op !== 'mean') throw new TypeError(`options.op must be "sum" or "mean", got ${describe(op)}`);
    return new Collective(native.reduceScatterStart(floatArg(input, 'input'), floatArg(output, 'output'), dim, counts, op === 'mean'));
  }

  /**
   * `n` split over the ranks as evenly as the rows of a sharded loader are: rank q gets
   * [⌊n·q/size⌋, ⌊n·(q+1)/size⌋). The counts, and this rank's start.
   */
  split(n: number): { counts: number[]; start: number } {
    integer(n, 'n', 0, Number.MAX_SAFE_INTEGER);
    const edge = (q: number): number => Math.floor((n * q) / this.size);
    return { counts: Array.from({ length: this.size }, (_, q) => edge(q + 1) - edge(q)), start: edge(this.rank) };
  }

  /** One number from every rank, in rank order (waits for `device` to get there). */
  async gatherNumber(value: number, device: DeviceName = 'cpu'): Promise<number[]> {
    const slots = Array.from({ length: this.size }, (_, q) => (q === this.rank ? value : 0));
    return this.sumNumbers(slots, device);
  }

  private exchangeArgs(whole: Tensor, options: { dim?: number; counts?: readonly number[] }, wholeName: string): { dim: number; counts: number[] } {
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
    if (!(whole instanceof Tensor)) throw new TypeError(`${wholeName} must be a Tensor, got ${describe(whole)}`);
    const dim = integer(options.dim ?? 0, 'options.dim', 0, Math.max(whole.shape.length - 1, 0));
    if (options.counts === undefined) return { dim, counts: this.split(whole.shape[dim] ?? 0).counts };
    if (!Array.isArray(options.counts) || options.counts.length !== this.size)
      throw new TypeError(`options.counts must be an array of ${this.size} integers (one per rank), got ${describe(options.counts)}`);
    return { dim, counts: options.counts.map((c, q) => integer(c, `options.counts[${q}]`, 0, Number.MAX_SAFE_INTEGER)) };
  }

  /** Resolves when every rank has reached the barrier. */
  barrier(): Promise<void> {
    return native.barrier();
  }

  /**
   * A roll call: resolves with the ranks that did not answer within `seconds` (default:
   * min(timeoutSeconds, 10)). Every rank that wants to know calls it (it is queued after the
   * collectives started before it, like one); a rank that does not call it is named. The group's
   * watchdog holds one by itself when a transfer stalls, to name the rank that stopped during it.
   */
  rollCall(seconds: number = Math.min(this.timeoutSeconds, 10)): Promise<number[]> {
    return native.rollCall(finite(seconds, 'seconds', 0, 1e7));
  }

  /**
   * Numbers summed over the ranks, in double precision (each is sent as two float32 parts). Waits
   * for `device` to get there; for counts and sums at the end of an evaluation.
   */
  async sumNumbers(values: readonly number[], device: DeviceName = 'cpu'): Promise<number[]> {
    if (this.size === 1) return [...values];
    const parts = new Float32Array(values.length * 2);
    values.forEach((v, i) => {
      const hi = Math.fround(v);
      parts[2 * i] = hi;
      parts[2 * i + 1] = Math.fround(v - hi);
    });
    const t = Tensor.fromArray(parts, [parts.length], device);
    try {
      this.allReduce([t]).wait();
      const sums = (await t.toArray()) as Float32Array;
      return values.map((_, i) => sums[2 * i]! + sums[2 * i + 1]!);
    } finally {
      t.dispose();
    }
  }

  /**
   * This rank is failing: when the process exits, end the whole job through the launcher
   * (MPI_Abort) rather than leave the other ranks waiting for this one until their timeout.
   */
  abortOnExit(): void {
    native.abortAtShutdown();
  }
}

function tensorList(tensors: readonly Tensor[]): ReturnType<typeof floatArg>[] {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new TypeError(`tensors must be a non-empty array of tensors, got ${describe(tensors)}`);
  return tensors.map((t, i) => floatArg(t, `tensors[${i}]`));
}

function defaultTimeout(): number {
  const env = process.env.ALEXNET_DIST_TIMEOUT;
  if (env === undefined || env === '') return 30;
  const n = Number(env);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`ALEXNET_DIST_TIMEOUT must be a positive number of seconds, got ${JSON.stringify(env)}`);
  return n;
}

/**
 * The process group this process belongs to. Under `mpirun` (Open MPI's OMPI_COMM_WORLD_SIZE > 1)
 * it initialises MPI (AlexNetError MPI_UNAVAILABLE, with the install hint, where the MPI module or
 * libmpi is missing); otherwise it is a group of one. Forming it waits for every rank to start.
 * Later calls return the same group.
 */
export async function initDistributed(options: DistributedOptions = {}): Promise<ProcessGroup> {
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
  const timeout = finite(options.timeoutSeconds ?? defaultTimeout(), 'options.timeoutSeconds', Number.MIN_VALUE, 1e7);
  const group = new ProcessGroup(await native.initDistributed(timeout));
  shareCores(group);
  return group;
}

/**
 * Ranks started on one machine share its cores: unless the user chose a count (OMP_NUM_THREADS or
 * setNumThreads), each rank computes with its share of them, as torchrun does, instead of every rank
 * starting a thread per core (measured on 2 cores, the paper network at global batch 32 in the hybrid
 * mode: 846 ms a step with one thread per rank against 1004 ms with two; see bench/RESULTS.md).
 */
function shareCores(group: ProcessGroup): void {
  const local = Number(process.env.OMPI_COMM_WORLD_LOCAL_SIZE ?? '1');
  if (group.size < 2 || !Number.isInteger(local) || local < 2) return;
  if (process.env.OMP_NUM_THREADS !== undefined || threadCountChosen()) return;
  setNumThreads(Math.max(1, Math.floor(availableParallelism() / local)));
}

/** The group formed by initDistributed(), or null before. */
export function currentGroup(): ProcessGroup | null {
  const info = native.distributedGroup();
  return info ? new ProcessGroup(info) : null;
}

export interface TransportInfo {
  /** "available: Open MPI v4.1.4" or "unavailable: <why>". */
  mpi: string;
  /** "available: NCCL 2.x, N CUDA device(s)" or "unavailable: <why>". */
  nccl: string;
}

/** Whether each transport module can be loaded here (loading it if not done yet). */
export function transportInfo(): TransportInfo {
  return native.transportInfo();
}

/** Throws AlexNetError NCCL_UNAVAILABLE (what was looked for, how to install it) unless NCCL can be used here. */
export function requireNccl(): void {
  native.requireNccl();
}
