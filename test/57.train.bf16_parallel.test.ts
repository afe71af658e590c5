// Mixed precision (bf16) in the models placed over several devices or ranks: the paper's two
// columns, the hybrid of data and model parallelism, and both together, each beside its own float32
// run from the same weights on the same batches, a few SGD steps (as 52.train.bf16 does for the
// one-device model). What crosses between columns or ranks travels in float32 (widened exactly), so
// the two runs differ only by bfloat16's rounding inside the layers, held to the rule of
// precision_steps.ts. A bfloat16 tensor reaching an exchange (a concatenation, an all-gather) fails the step.
import { initDistributed, type ProcessGroup } from '../lib/distributed/index.js';
import { bf16Support, hybridAlexNet, hybridTwoColumnAlexNet, nn, TwoColumnAlexNet } from '../lib/index.js';
import { expectFollowsFloat32, trainSteps } from './helpers/precision_steps.js';

const supported = bf16Support('cpu').supported;
const QUICK = { numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, init: 'he', seed: 3 } as const;
const DEVICES: ['cpu:0', 'cpu:1'] = ['cpu:0', 'cpu:1'];

type Build = (group: ProcessGroup) => nn.Module;
const models: [string, Build][] = [
  ['two columns on cpu:0 + cpu:1', () => new TwoColumnAlexNet({ ...QUICK, devices: DEVICES })],
  ['the hybrid (a group of one)', (group) => hybridAlexNet({ ...QUICK, device: 'cpu' }, group)],
  ['the hybrid with two columns (a group of one)', (group) => hybridTwoColumnAlexNet({ ...QUICK, devices: DEVICES }, group)],
];

describe('bf16 mixed precision in the two columns and the hybrid (CPU)', function () {
  this.timeout(120_000);
  before(function () {
    if (!supported) this.skip();
  });

  for (const [name, build] of models) {
    it(`${name}: follows float32 step for step, with float32 master weights and gradients`, async () => {
      const steps = 4;
      const fp32 = await trainSteps(build(await initDistributed()).setPrecision('fp32'), steps);
      const bf16 = await trainSteps(build(await initDistributed()).setPrecision('bf16'), steps);
      expectFollowsFloat32(bf16, fp32);
    });
  }
});
