// A few SGD steps of a model in one precision on fixed batches, and the check that a 16-bit
// precision follows float32: the bf16, fp16 and fp32 tests of the one-device model (52) and of the
// models placed over several devices or ranks (57) run the same steps and hold them to the same
// rule (expectFollowsFloat32, which says where its bounds come from).
import { expect } from 'chai';
import { LossScaler, SGD, Tensor, nn, ops, tidy, type DeviceName } from '../../lib/index.js';

export interface StepRecord {
  losses: number[];
  /** The dtypes of the parameters and their gradients after the last step. */
  dtypes: string[];
  /** Steps whose (loss-scaled) gradients held Inf or NaN and were skipped. */
  skipped: number;
  /** Every parameter's gradient at the first step (unscaled), by name: both runs start from the same weights. */
  firstGradients: Map<string, Float32Array>;
}

/**
 * Trains `model` (a 64x64 grey-image network with 10 classes, already in its precision) for `steps`
 * steps of 16 images drawn from seeds that depend only on the step; the input on `device`. With
 * `lossScale` (a power of two, so scaling is exact), the loss gradient is scaled before the
 * backward pass and the gradients unscaled before the update, as the Trainer's loss scaler does
 * (a fixed scale: a step with an overflow is skipped and counted).
 */
export async function trainSteps(model: nn.Module, steps: number, device: DeviceName = 'cpu', lossScale?: number): Promise<StepRecord> {
  const sgd = new SGD(model, { lr: 0.01 });
  const scaler = lossScale === undefined ? null : new LossScaler({ initScale: lossScale, dynamic: false });
  const losses: number[] = [];
  let firstGradients = new Map<string, Float32Array>();
  for (let s = 0; s < steps; s++) {
    const x = Tensor.normal([16, 1, 64, 64], { seed: nn.deriveSeed(7, s), device });
    const labels = Tensor.fromArray(Int32Array.from({ length: 16 }, (_, i) => (i * 7 + s) % 10), [16], device);
    model.reseed(s);
    const loss = tidy(() => {
      const logits = model.forward(x);
      expect(logits.dtype).to.equal('float32');  // the loss always sees float32
      const r = ops.softmaxCrossEntropy(logits, labels);
      model.backward(scaler ? scaler.scaleGradient(r.dlogits) : r.dlogits);
      return { loss: r.loss, flags: scaler ? scaler.unscale(model.parameters()) : [] };
    });
    if (s === 0) {
      const named = model.namedParameters();
      const values = await Promise.all(named.map(([, p]) => p.grad!.toArray() as Promise<Float32Array>));
      firstGradients = new Map(named.map(([name], i) => [name, values[i]!]));
    }
    if (scaler) {
      const clean = (await Promise.all(loss.flags.map((f) => f.toArray()))).every((f) => f[0] === 0);
      if (scaler.update(clean)) sgd.step();
      for (const f of loss.flags) f.dispose();
    } else sgd.step();
    losses.push(await loss.loss);
    x.dispose();
    labels.dispose();
  }
  const dtypes = [...new Set(model.parameters().flatMap((p) => [p.value.dtype, p.grad?.dtype ?? 'none']))];
  model.dispose();
  sgd.dispose();
  return { losses, dtypes, skipped: scaler?.skippedSteps ?? 0, firstGradients };
}

/**
 * A 16-bit precision against float32 from the same weights on the same batches. Where the bounds
 * come from (a float64/float32 emulation of 16-bit storage around float32 arithmetic, for this
 * network over 100 seeds; bench/RESULTS.md, "How far 16-bit training follows float32"):
 * - Step 0's loss is a forward pass from identical weights. The forward pass is continuous in its
 *   inputs (ReLU and max are continuous), so its error is first-order in the unit roundoff u:
 *   at most 0.8 u (bf16 and fp16 alike). Bound: 2 u.
 * - Step 0's gradients are not: a value that rounding moves across ReLU's zero, or past its rival
 *   in a pooling window, sends its gradient elsewhere, and these switches add up like random
 *   errors, so the gradients' error shrinks much more slowly than u (bf16 up to 26% in norm,
 *   fp16 up to 19%; with ReLU and max pooling made smooth, both are about 2 u). Bound: 50% of the
 *   float32 gradient's norm, per parameter: a lost or doubled gradient, an unscaled loss scale or a
 *   layer computed wrong is 70% or more.
 * - The later losses follow trajectories that drift apart by those switches whatever the precision
 *   (even float32 rounded to 18 bits drifts by 0.3% within 6 steps): up to 13% (bf16) and 9%
 *   (fp16). Bound: 25%.
 * Master weights and gradients stay float32, no step is skipped, and the losses differ (the
 * 16-bit type really computed).
 */
export function expectFollowsFloat32(half: StepRecord, fp32: StepRecord, u = 2 ** -8): void {
  expect(half.dtypes).to.deep.equal(['float32']);
  expect(half.skipped, 'steps skipped for an overflow').to.equal(0);
  expect(half.losses, 'really computed in 16 bits').to.not.deep.equal(fp32.losses);
  expect(half.losses.every(Number.isFinite)).to.equal(true);
  const drift = (s: number): number => Math.abs(half.losses[s]! - fp32.losses[s]!) / fp32.losses[s]!;
  expect(drift(0), `step 0 (the forward pass): 16-bit ${half.losses[0]} fp32 ${fp32.losses[0]}`).to.be.below(2 * u);
  for (const [name, g] of fp32.firstGradients) {
    const h = half.firstGradients.get(name)!;
    expect(h, name).to.have.length(g.length);
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < g.length; i++) {
      diff += (h[i]! - g[i]!) ** 2;
      norm += g[i]! ** 2;
    }
    expect(Math.sqrt(diff / norm), `step 0's gradient of ${name}: relative error in norm`).to.be.below(0.5);
  }
  for (let s = 1; s < fp32.losses.length; s++)
    expect(drift(s), `step ${s}: 16-bit ${half.losses[s]} fp32 ${fp32.losses[s]}`).to.be.below(0.25);
}
