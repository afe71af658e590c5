// Cross-channel local response normalisation (paper §3.3), with α as the paper writes it: not
// divided by the window size the way cuDNN, oneDNN and Caffe take it (Caffe's α = 1e-4 with n = 5
// is α = 2e-5 here). Defaults are the paper's k = 2, n = 5, α = 1e-4, β = 0.75.
import * as ops from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { positiveInteger, shapeString } from '../validate.js';
import { Module, retain } from './module.js';

/**
 * On CPU, oneDNN 2.6 has fast LRN kernels only for channel counts that fill 16-channel blocks;
 * otherwise its backward is a reference loop (measured: 43 ms instead of 4 ms at [128, 24, 15, 15]).
 * Appending zero channels up to a multiple of 16 gives exactly the same result — a zero channel
 * adds nothing to any window's sum of squares, which is what clipping the window at the edge
 * means — so the layer pads there. Remove once the CPU backend pads by itself.
 */
const CPU_CHANNEL_BLOCK = 16;

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
  /** Input and output, channel-padded when `padded` is above the input's channel count. */
  private saved: { x: Tensor; y: Tensor; channels: number } | null = null;

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
    const channels = x.shape[1]!;
    const extra = x.device.startsWith('cpu') && x.shape.length === 4 ? (CPU_CHANNEL_BLOCK - (channels % CPU_CHANNEL_BLOCK)) % CPU_CHANNEL_BLOCK : 0;
    if (extra === 0) {
      const y = ops.localResponseNorm(x, this.opts);
      if (this.training) this.saved = { x: retain(x), y: retain(y), channels };
      return y;
    }
    const xp = padChannels(x, extra);
    const yp = ops.localResponseNorm(xp, this.opts);
    const y = ops.sliceChannels(yp, 0, channels);
    if (this.training) this.saved = { x: xp, y: yp, channels };
    else xp.dispose(), yp.dispose();
    return y;
  }

  private backwardGroups(dy: Tensor): Tensor | null {
    const s = this.saved ?? this.noForward();
    let dx: Tensor | null = null;
    if (this.inputGrad) {
      const extra = s.x.shape[1]! - s.channels;
      if (extra === 0) dx = ops.localResponseNormBackward(dy, s.x, s.y, this.opts);
      else {
        const dyp = padChannels(dy, extra);
        const dxp = ops.localResponseNormBackward(dyp, s.x, s.y, this.opts);
        dx = ops.sliceChannels(dxp, 0, s.channels);
        dyp.dispose();
        dxp.dispose();
      }
    }
    this.releaseOwn();
    return dx;
  }

  protected override releaseOwn(): void {
    this.saved?.x.dispose();
    this.saved?.y.dispose();
    this.saved = null;
  }
}

function padChannels(t: Tensor, extra: number): Tensor {
  const [n, , h, w] = t.shape as [number, number, number, number];
  const zeros = Tensor.zeros([n, extra, h, w], t.device);
  const out = ops.concatChannels([t, zeros]);
  zeros.dispose();
  return out;
}
