// Mixed precision (bf16) in the models placed over several devices or ranks: the paper's two
// columns, the hybrid of data and model parallelism, and both together, each beside its own float32
// run from the same weights on the same batches, a few SGD steps (as 52.train.bf16 does for the
// one-device model). What crosses between columns or ranks travels in float32 (widened exactly), so
// the two runs differ only by bfloat16's rounding inside the layers: the losses agree to a few
// percent. A bfloat16 tensor reaching an exchange (a concatenation, an all-gather) fails the step.
import { expect } from 'chai';
import { initDistributed, type ProcessGroup } from '../lib/distributed/index.js';
import { SGD, Tensor, bf16Support, hybridAlexNet, hybridTwoColumnAlexNet, nn, ops, tidy, TwoColumnAlexNet } from '../lib/index.js';

const supported = bf16Support('cpu').supported;
const QUICK = { numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, init: 'he', seed: 3 } as const;
const DEVICES: ['cpu:0', 'cpu:1'] = ['cpu:0', 'cpu:1'];

type Build = (group: ProcessGroup) => nn.Module;
const models: [string, Build][] = [
  ['two columns on cpu:0 + cpu:1', () => new TwoColumnAlexNet({ ...QUICK, devices: DEVICES })],
  ['the hybrid (a group of one)', (group) => hybridAlexNet({ ...QUICK, device: 'cpu' }, group)],
  ['the hybrid with two columns (a group of one)', (group) => hybridTwoColumnAlexNet({ ...QUICK, devices: DEVICES }, group)],
];

async function trainSteps(build: Build, precision: nn.Precision, steps: number): Promise<{ losses: number[]; dtypes: string[] }> {
  const model = build(await initDistributed()).setPrecision(precision);
  const sgd = new SGD(model, { lr: 0.01 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const x = Tensor.normal([16, 1, 64, 64], { seed: nn.deriveSeed(7, s) });
    const labels = Tensor.fromArray(Int32Array.from({ length: 16 }, (_, i) => (i * 7 + s) % 10), [16]);
    model.reseed(s);
    const loss = tidy(() => {
      const logits = model.forward(x);
      expect(logits.dtype).to.equal('float32');
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

describe('bf16 mixed precision in the two columns and the hybrid (CPU)', function () {
  this.timeout(120_000);
  before(function () {
    if (!supported) this.skip();
  });

  for (const [name, build] of models) {
    it(`${name}: follows float32 step for step, with float32 master weights and gradients`, async () => {
      const steps = 4;
      const fp32 = await trainSteps(build, 'fp32', steps);
      const bf16 = await trainSteps(build, 'bf16', steps);
      expect(bf16.dtypes).to.deep.equal(['float32']);
      expect(bf16.losses, 'bf16 really computed in bfloat16').to.not.deep.equal(fp32.losses);
      for (let s = 0; s < steps; s++)
        expect(Math.abs(bf16.losses[s]! - fp32.losses[s]!) / fp32.losses[s]!, `step ${s}: bf16 ${bf16.losses[s]} fp32 ${fp32.losses[s]}`).to.be.below(0.05);
    });
  }
});
