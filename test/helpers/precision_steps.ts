// A few SGD steps of a model in one precision on fixed batches, and the check that bf16 follows
// float32: the bf16 and fp32 tests of the one-device model (52) and of the models placed over
// several devices or ranks (57) run the same steps and hold them to the same rule.
import { expect } from 'chai';
import { SGD, Tensor, nn, ops, tidy, type DeviceName } from '../../lib/index.js';

export interface StepRecord {
  losses: number[];
  /** The dtypes of the parameters and their gradients after the last step. */
  dtypes: string[];
}

/**
 * Trains `model` (a 64x64 grey-image network with 10 classes, already in its precision) for `steps`
 * steps of 16 images drawn from seeds that depend only on the step; the input on `device`.
 */
export async function trainSteps(model: nn.Module, steps: number, device: DeviceName = 'cpu'): Promise<StepRecord> {
  const sgd = new SGD(model, { lr: 0.01 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const x = Tensor.normal([16, 1, 64, 64], { seed: nn.deriveSeed(7, s), device });
    const labels = Tensor.fromArray(Int32Array.from({ length: 16 }, (_, i) => (i * 7 + s) % 10), [16], device);
    model.reseed(s);
    const loss = tidy(() => {
      const logits = model.forward(x);
      expect(logits.dtype).to.equal('float32');  // the loss always sees float32
      const r = ops.softmaxCrossEntropy(logits, labels);
      model.backward(r.dlogits);
      sgd.step();
      return { loss: r.loss };
    });
    losses.push(await loss.loss);
    x.dispose();
    labels.dispose();
  }
  const dtypes = [...new Set(model.parameters().flatMap((p) => [p.value.dtype, p.grad?.dtype ?? 'none']))];
  model.dispose();
  sgd.dispose();
  return { losses, dtypes };
}

/**
 * bf16 against float32 from the same weights: float32 master weights and gradients, losses that
 * differ (bfloat16 really computed) but by less than 5% at every step.
 */
export function expectFollowsFloat32(bf16: StepRecord, fp32: StepRecord): void {
  expect(bf16.dtypes).to.deep.equal(['float32']);
  expect(bf16.losses, 'bf16 really computed in bfloat16').to.not.deep.equal(fp32.losses);
  for (let s = 0; s < fp32.losses.length; s++)
    expect(Math.abs(bf16.losses[s]! - fp32.losses[s]!) / fp32.losses[s]!, `step ${s}: bf16 ${bf16.losses[s]} fp32 ${fp32.losses[s]}`).to.be.below(0.05);
  expect(bf16.losses.every(Number.isFinite)).to.equal(true);
}
