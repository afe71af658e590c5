// The layer contract. Ownership: forward(x) and backward(dy) never take ownership of their argument
// and return a new tensor the caller owns. A layer that needs its input or output for backward keeps
// its own reference (a view sharing the storage, see `retain`) and disposes it in backward, or as
// soon as a new forward or `release()` makes it stale, so a training step leaks nothing. What a
// layer keeps is exempt from tidy() scopes, so forward and backward may run inside one.
import type { DeviceName } from '../device_name.js';
import { Tensor, type FloatDType } from '../tensor.js';
import { keep } from '../tidy.js';
import { describe, shapeString } from '../validate.js';
import type { Parameter } from './parameter.js';
import { deriveSeed } from './seed.js';

/**
 * A second handle on the same storage, for a layer to keep past the call: the storage lives until
 * both handles are disposed, and no tidy() scope disposes this one (the layer does).
 */
export function retain(t: Tensor): Tensor {
  return keep(t.reshape(t.shape));
}

export type StateDict = Record<string, Tensor>;

/**
 * How a module computes. 'fp32': everything in float32. 'bf16': mixed precision as PyTorch's
 * autocast does it: convolutions, LRN, pooling, ReLU and the fully connected layers compute on
 * bfloat16 activations with bfloat16 copies of the weights made at each forward (float32
 * accumulation inside the ops), while the parameters, their gradients and the update stay float32
 * (the master weights); a model returns float32 logits, so the loss and softmax run in float32.
 * 'fp16': the same with float16 activations and weight copies (CUDA only, see fp16Support);
 * float16's range ends at 65504, so training in it wants loss scaling (the Trainer's lossScale).
 */
export type Precision = 'fp32' | 'bf16' | 'fp16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16', 'fp16'];

/** The dtype a module of `precision` computes its activations in. */
export function computeDType(precision: Precision): FloatDType {
  return precision === 'bf16' ? 'bfloat16' : precision === 'fp16' ? 'float16' : 'float32';
}

/**
 * A new handle on `t` in `dtype`, which the caller disposes: a view when `t` has that dtype already,
 * else a converted copy (rounded to nearest even into bfloat16 or float16, exact into float32).
 */
export function inDType(t: Tensor, dtype: FloatDType): Tensor {
  return t.dtype === dtype ? t.reshape(t.shape) : t.to(dtype);
}

/** Disposes the tensors of `derived` that are not tensors of `source`: those exportState or importState made. */
export function disposeDerived(derived: StateDict, source: StateDict): void {
  const kept = new Set(Object.values(source));
  for (const t of Object.values(derived)) if (!kept.has(t)) t.dispose();
}

export abstract class Module {
  /** Training mode keeps activations for backward and turns dropout on. */
  training = true;
  /** How this module computes (set with setPrecision for a whole tree). */
  precision: Precision = 'fp32';
  private inputGradFlag = true;

  /**
   * Whether backward computes dL/dx. The network's first layer turns it off: nobody needs the
   * gradient of the image, and it saves a whole backward convolution. A container passes it on to
   * its first child, the one that sees the container's input.
   */
  get inputGrad(): boolean {
    return this.inputGradFlag;
  }
  set inputGrad(value: boolean) {
    this.inputGradFlag = value;
    const first = this.children()[0];
    if (first) first[1].inputGrad = value;
  }

  /** y = f(x). In training mode the layer keeps what its backward pass needs. */
  abstract forward(x: Tensor): Tensor;

  /**
   * dL/dx from dL/dy, for the last training-mode forward; sets the gradients of the parameters.
   * Returns null when `inputGrad` is off.
   */
  abstract backward(dy: Tensor): Tensor | null;

  /** The shape forward returns for an input of `shape`; RangeError when it does not fit. */
  abstract outputShape(shape: readonly number[]): number[];

  /** Direct sub-modules, with their names. */
  children(): [string, Module][] { return []; }

  /** Parameters of this module itself (not of its children), with their names. */
  ownParameters(): [string, Parameter][] { return []; }

  /** Every parameter, named as in the state dict (`conv1.weight`). */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = this.ownParameters().map(([n, p]) => [prefix + n, p]);
    for (const [name, child] of this.children()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every module below and including this one, depth first. */
  modules(): Module[] {
    return [this, ...this.children().flatMap(([, c]) => c.modules())];
  }

  train(mode = true): this {
    for (const m of this.modules()) {
      m.training = mode;
      if (!mode) m.releaseOwn();
    }
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Sets how this module and every module below compute: 'fp32', 'bf16' or 'fp16' (see Precision). */
  setPrecision(precision: Precision): this {
    if (!PRECISIONS.includes(precision)) throw new RangeError(`precision must be one of ${PRECISIONS.join(', ')}, got ${describe(precision)}`);
    for (const m of this.modules()) {
      m.releaseOwn();
      m.precision = precision;
    }
    return this;
  }

  /** The device of the parameters (the first one's), or undefined for a module without any. */
  get device(): DeviceName | undefined {
    return this.parameters()[0]?.device;
  }

  /**
   * The row of the whole batch that this module's input starts at (default 0). A data-parallel
   * rank that computes rows [r, r + n) of a global batch sets r, so that its random layers draw
   * what those rows get in one process (dropout: the same mask elements).
   */
  rowOffset = 0;

  /** Sets `rowOffset` here and on every module below. */
  setRowOffset(row: number): void {
    if (!Number.isSafeInteger(row) || row < 0) throw new RangeError(`row must be a non-negative integer, got ${describe(row)}`);
    for (const m of this.modules()) m.rowOffset = row;
  }

  /** Sets the seeds of every random layer below from one seed (dropout masks of one step). */
  reseed(seed: number): void {
    this.children().forEach(([, c], i) => c.reseed(deriveSeed(seed, i)));
  }

  /**
   * The parameters under the names a checkpoint stores (exportState of the live parameters). For a
   * module whose export names are its parameter names, the tensors are the live parameters, not
   * copies; other tensors in it are new (the caller disposes them, see `disposeDerived`).
   */
  stateDict(): StateDict {
    return this.exportState(Object.fromEntries(this.namedParameters().map(([n, p]) => [n, p.value])));
  }

  /**
   * Tensors kept per parameter, named `<prefix><parameter name>` (the parameters themselves with
   * prefix '', an optimiser's velocities with 'momentum.'), under the names a checkpoint stores.
   * A model whose parameters are laid out unlike the network they implement (the two-column split)
   * maps them to that network's names here, so that whoever saves a model need not know its layout.
   * The default keeps the names. Tensors in the result that are not in `tensors` are new: the
   * caller disposes them (`disposeDerived(result, tensors)`).
   */
  exportState(tensors: StateDict, _prefix = ''): StateDict {
    return { ...tensors };
  }

  /**
   * The inverse of exportState: tensors under checkpoint names to `<prefix><parameter name>`s of
   * this module (entries it does not know pass through). Tensors in the result that are not in
   * `saved` are new: the caller disposes them.
   */
  importState(saved: StateDict, _prefix = ''): StateDict {
    return { ...saved };
  }

  /**
   * Copies the tensors of `state` (checkpoint names, as stateDict gives them; see importState)
   * into the parameters (onto each parameter's device). Every parameter must be present with its
   * shape; unknown names are an error unless `strict` is false. `state` stays the caller's.
   */
  loadStateDict(state: StateDict, options: { strict?: boolean } = {}): void {
    if (typeof state !== 'object' || state === null) throw new TypeError(`state must be an object of tensors, got ${describe(state)}`);
    const own = this.importState(state);
    try {
      this.loadOwnState(own, options);
    } finally {
      disposeDerived(own, state);
    }
  }

  /** loadStateDict for a state under this module's own parameter names. */
  private loadOwnState(state: StateDict, options: { strict?: boolean }): void {
    const params = this.namedParameters();
    const known = new Set(params.map(([n]) => n));
    const missing = params.filter(([n]) => !(n in state)).map(([n]) => n);
    const unexpected = Object.keys(state).filter((n) => !known.has(n));
    if (missing.length > 0) throw new RangeError(`state is missing ${missing.join(', ')}`);
    if (unexpected.length > 0 && options.strict !== false)
      throw new RangeError(`state has unexpected entries ${unexpected.join(', ')} (pass { strict: false } to ignore them)`);
    for (const [name, p] of params) {
      const t = state[name];
      if (!(t instanceof Tensor)) throw new TypeError(`state['${name}'] must be a Tensor, got ${describe(t)}`);
      if (shapeString(t.shape) !== shapeString(p.shape))
        throw new RangeError(`state['${name}'] has shape ${shapeString(t.shape)} but the parameter has ${shapeString(p.shape)}`);
    }
    // Checked everything first so a failed load leaves the module unchanged.
    for (const [name, p] of params) p.setValue(state[name]!.to(p.device));
  }

  /** Disposes the activations kept for backward, here and below. */
  release(): void {
    for (const m of this.modules()) m.releaseOwn();
  }

  /** Disposes activations, parameters and gradients. The module is unusable afterwards. */
  dispose(): void {
    this.release();
    for (const p of this.parameters()) p.dispose();
  }

  /** @internal Disposes what this module itself keeps for backward. */
  protected releaseOwn(): void {}

  /** @internal For backward without a matching forward. */
  /**
   * The input gradient `grad` computes from dy (in the dtype of `x`, the input kept from forward:
   * mixed precision), or null when none is wanted; the layer's kept tensors are released either way.
   */
  protected inputGradient(dy: Tensor, x: Tensor, grad: (dy: Tensor) => Tensor): Tensor | null {
    if (!this.inputGrad) {
      this.releaseOwn();
      return null;
    }
    const dyIn = inDType(dy, x.dtype as FloatDType);
    try {
      return grad(dyIn);
    } finally {
      dyIn.dispose();
      this.releaseOwn();
    }
  }

  protected noForward(): never {
    throw new Error(`${this.constructor.name}.backward called without a training-mode forward before it`);
  }
}
