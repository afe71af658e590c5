// Cross-channel local response normalisation (paper §3.3), with α as the paper writes it: not
// divided by the window size the way cuDNN, oneDNN and Caffe take it (Caffe's α = 1e-4 with n = 5
// is α = 2e-5 here). Defaults are the paper's k = 2, n = 5, α = 1e-4, β = 0.75.
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { positiveInteger, shapeString } from '../validate.js';
import { Module } from './module.js';
import { SavedTensors } from './saved.js';

/**
 * `groups` splits the channels into independent groups whose windows stop at the group's edges:
 * the paper's two GPUs each normalised only their own kernel maps, so AlexNet's LRN layers use
 * groups = 2, which makes the one-device network the same function as the two-column one.
 */
export interface LocalResponseNormOptions extends ops.LrnOptions {
  groups?: number;
}

export class LocalResponseNorm extends Module {
  readonly size: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;
  readonly groups: number;
  /** Input and output of the last training-mode forward, for backward. */
  private readonly saved = new SavedTensors<{ x: Tensor; y: Tensor }>();

  constructor(options: LocalResponseNormOptions = {}) {
    super();
    this.size = options.size ?? 5;
    this.alpha = options.alpha ?? 1e-4;
    this.beta = options.beta ?? 0.75;
    this.k = options.k ?? 2;
    this.groups = positiveInteger(options.groups ?? 1, 'groups');
  }

  private get opts(): ops.LrnOptions {
    return { size: this.size, alpha: this.alpha, beta: this.beta, k: this.k };
  }

  override outputShape(shape: readonly number[]): number[] {
    if (shape.length !== 4) throw new RangeError(`LocalResponseNorm expects [N, C, H, W], got ${shapeString(shape)}`);
    if (shape[1]! % this.groups !== 0) throw new RangeError(`LocalResponseNorm groups (${this.groups}) must divide the channels of ${shapeString(shape)}`);
    return [...shape];
  }

  /** [N, C, H, W] as [N·groups, C/groups, H, W]: a view, since each group's channels are contiguous. */
  private grouped(t: Tensor): Tensor {
    const [n, c, h, w] = t.shape as [number, number, number, number];
    return t.reshape([n * this.groups, c / this.groups, h, w]);
  }

  forward(x: Tensor): Tensor {
    this.outputShape(x.shape);
    if (this.groups === 1) return this.forwardGroups(x);
    const xg = this.grouped(x);
    const yg = this.forwardGroups(xg);
    xg.dispose();
    const y = yg.reshape(x.shape);
    yg.dispose();
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    if (this.groups === 1) return this.backwardGroups(dy);
    const dyg = this.grouped(dy);
    const dxg = this.backwardGroups(dyg);
    dyg.dispose();
    if (!dxg) return null;
    const dx = dxg.reshape(dy.shape);
    dxg.dispose();
    return dx;
  }

  private forwardGroups(x: Tensor): Tensor {
    this.releaseOwn();
    const y = ops.localResponseNorm(x, this.opts);
    this.saved.hold(this.training, { x, y });
    return y;
  }

  private backwardGroups(dy: Tensor): Tensor | null {
    const s = this.saved.get() ?? this.noForward();
    return this.inputGradient(dy, s.x, (dyIn) => ops.localResponseNormBackward(dyIn, s.x, s.y, this.opts));
  }

  protected override releaseOwn(): void {
    this.saved.release();
  }
}
