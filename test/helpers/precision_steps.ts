// A few SGD steps of a model in one precision on fixed batches, and the check that a 16-bit
// precision follows float32: the bf16, fp16 and fp32 tests of the one-device model (52) and of the
// models placed over several devices or ranks (57) run the same steps and hold them to the same
// rule, scaled by the 16-bit type's unit roundoff.
import { expect } from 'chai';
import { LossScaler, SGD, Tensor, nn, ops, tidy, type DeviceName } from '../../lib/index.js';

export interface StepRecord {
  losses: number[];
  /** The dtypes of the parameters and their gradients after the last step. */
  dtypes: string[];
  /** Steps whose (loss-scaled) gradients held Inf or NaN and were skipped. */
  skipped: number;
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
  for (let s = 0; s < steps; s++) {
    const x = Tensor.normal([16, 1, 64, 64], { seed: nn.deriveSeed(7, s), device });
    const labels = Tensor.fromArray(Int32Array.from({ length: 16 }, (_, i) => (i * 7 + s) % 10), [16], device);
    model.reseed(s);
    const loss = tidy(() => {
      const logits = model.forward(x);
      expect(logits.dtype).to.equal('float32');  // the loss always sees float32
      const r = ops.softmaxCrossEntropy(logits, labels);
      model.backward(scaler ? scaler.scaleGradient(r.dlogits) : r.dlogits);
      if (!scaler) sgd.step();
      return { loss: r.loss, flags: scaler ? scaler.unscale(model.parameters()) : [] };
    });
    if (scaler) {
      const clean = (await Promise.all(loss.flags.map((f) => f.toArray()))).every((f) => f[0] === 0);
      if (scaler.update(clean)) sgd.step();
      for (const f of loss.flags) f.dispose();
    }
    losses.push(await loss.loss);
    x.dispose();
    labels.dispose();
  }
  const dtypes = [...new Set(model.parameters().flatMap((p) => [p.value.dtype, p.grad?.dtype ?? 'none']))];
  model.dispose();
  sgd.dispose();
  return { losses, dtypes, skipped: scaler?.skippedSteps ?? 0 };
}

/**
 * A 16-bit precision against float32 from the same weights: float32 master weights and gradients,
 * no skipped step, losses that differ (the 16-bit type really computed) but by less than
 * `multiple` * u relative at every step, u the type's unit roundoff. bfloat16 (u = 2^-8): 12.8 u,
 * i.e. 5%, where the quick network's six steps measure up to about 9.8 u on the CPU (the
 * trajectories' divergence is first-order in the rounding, so it scales with u). float16
 * (u = 2^-11): the callers pass 25.6 u (1.25%), twice bfloat16's multiple, because the GPU rounds at
 * points the CPU's bfloat16 does not (cuDNN's weight gradient in float16) and no run here could
 * measure it; still a quarter of bfloat16's bound.
 */
export function expectFollowsFloat32(half: StepRecord, fp32: StepRecord, u = 2 ** -8, multiple = 12.8): void {
  expect(half.dtypes).to.deep.equal(['float32']);
  expect(half.skipped, 'steps skipped for an overflow').to.equal(0);
  expect(half.losses, 'really computed in 16 bits').to.not.deep.equal(fp32.losses);
  for (let s = 0; s < fp32.losses.length; s++)
    expect(Math.abs(half.losses[s]! - fp32.losses[s]!) / fp32.losses[s]!, `step ${s}: 16-bit ${half.losses[s]} fp32 ${fp32.losses[s]}`).to.be.below(multiple * u);
  expect(half.losses.every(Number.isFinite)).to.equal(true);
}
