// Per-layer forward and backward time of a preset's network (default fashion-mnist-quick) at
// batch 128, with the device synchronised around each layer. Finds the layer that dominates.
// --json FILE also writes the times as bench/scaling.js --times reads them.
//   node dist/bench/quick_preset_layers.js [--preset NAME] [--batch N] [--steps N] [--device DEV] [--no-lrn] [--precision fp32|bf16] [--json FILE]
import { writeFileSync } from 'node:fs';
import { Tensor, ops, synchronize, deviceName } from '../lib/index.js';
import { alexnet, preset } from '../lib/models/index.js';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  preset: { type: 'string', default: 'fashion-mnist-quick' }, batch: { type: 'string', default: '128' },
  steps: { type: 'string', default: '10' }, device: { type: 'string', default: 'cpu' }, 'no-lrn': { type: 'boolean' },
  json: { type: 'string' }, precision: { type: 'string', default: 'fp32' },
});
const p = preset(values.preset!);
const batch = Number(values.batch);
const steps = Number(values.steps);
const device = deviceName(values.device!, '--device');
const net = alexnet({ ...p.model, device, ...(values['no-lrn'] ? { lrn: false } : {}) });
net.inputGrad = false;
if (values.precision !== 'fp32' && values.precision !== 'bf16') throw new RangeError(`--precision must be fp32 or bf16, got ${values.precision}`);
net.setPrecision(values.precision);
const [c, h, w] = net.inputShape;
const x = Tensor.normal([batch, c, h, w], { seed: 1, device });
const labels = Tensor.fromArray(Int32Array.from({ length: batch }, (_, i) => i % net.config.numClasses), [batch], device);
const fwd = new Map<string, number>();
const bwd = new Map<string, number>();
const layers = net.children();

for (let step = 0; step < steps + 2; step++) {
  const warm = step >= 2;
  let hidden = x;
  for (const [name, layer] of layers) {
    await synchronize(device);
    const t0 = performance.now();
    const y = layer.forward(hidden);
    await synchronize(device);
    if (warm) fwd.set(name, (fwd.get(name) ?? 0) + performance.now() - t0);
    if (hidden !== x) hidden.dispose();
    hidden = y;
  }
  const logits = hidden.dtype === 'float32' ? hidden : hidden.to('float32');
  const { loss, dlogits } = ops.softmaxCrossEntropy(logits, labels);
  if (logits !== hidden) logits.dispose();
  await loss;
  hidden.dispose();
  let g: Tensor | null = dlogits;
  for (const [name, layer] of [...layers].reverse()) {
    await synchronize(device);
    const t0 = performance.now();
    const next: Tensor | null = layer.backward(g!);
    await synchronize(device);
    if (warm) bwd.set(name, (bwd.get(name) ?? 0) + performance.now() - t0);
    g!.dispose();
    g = next;
  }
}

let total = 0;
const rows = layers.map(([name]) => {
  const f = fwd.get(name)! / steps;
  const b = bwd.get(name)! / steps;
  total += f + b;
  return [name, f, b] as const;
});
console.log(`${values.preset} on ${device} in ${values.precision}, batch ${batch}, mean of ${steps} steps (ms)`);
for (const [name, f, b] of rows)
  console.log(`${name.padEnd(8)} fwd ${f.toFixed(2).padStart(8)}  bwd ${b.toFixed(2).padStart(8)}  ${(100 * (f + b) / total).toFixed(1).padStart(5)}%`);
console.log(`total ${total.toFixed(1)} ms/step = ${Math.round((batch * 1000) / total)} img/s (synchronised per layer)`);
if (values.json !== undefined) {
  const times = Object.fromEntries(rows.map(([name, fwdMs, bwdMs]) => [name, { fwdMs, bwdMs }]));
  writeFileSync(values.json, `${JSON.stringify({ preset: values.preset, device, batch, steps, layers: times }, null, 1)}\n`);
}
await synchronize(device);
