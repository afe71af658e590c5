// Images/s of whole AlexNet training steps (forward, loss, backward, the paper's SGD update), and
// the same network in PyTorch in the same run (bench/train_step_torch.py) when torch is installed.
//   node dist/bench/train_step.js --preset paper --device cuda --batch 128 --steps 10
//   node dist/bench/train_step.js --preset fashion-mnist-quick --device cpu --batch 128
//   node dist/bench/train_step.js --preset paper --batch 32 --precision bf16
// --precision bf16 times our float32 step, then the same model's mixed-precision bf16 step, and
// PyTorch's step under torch.autocast(dtype=torch.bfloat16), in one run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, bf16Support, checkDevice, cudaInfo, ops, setPrecision, synchronize, type Precision, deviceName, type DeviceName } from '../lib/index.js';
import { alexnet, presets, type PresetName } from '../lib/models/index.js';
import { SGD } from '../lib/optim/index.js';
import { TwoColumnAlexNet } from '../lib/models/two_column.js';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  preset: { type: 'string', default: 'paper' },
  device: { type: 'string', default: 'cpu' },
  devices: { type: 'string' },
  batch: { type: 'string' },
  steps: { type: 'string', default: '5' },
  'no-torch': { type: 'boolean', default: false },
  precision: { type: 'string', default: 'fp32' },
});
const device = checkDevice(values.devices ? deviceName(values.devices.split(',')[0]!.trim(), '--devices') : deviceName(values.device!, '--device'));
const presetName = values.preset as PresetName;
const preset = presets[presetName];
if (!preset) throw new RangeError(`--preset must be one of ${Object.keys(presets).join(', ')}, got ${values.preset}`);
const batch = Number(values.batch ?? preset.training.batchSize);
const steps = Number(values.steps);
const precision = values.precision as Precision | 'bf16';
if (!['fp32', 'tf32', 'bf16'].includes(precision)) throw new RangeError(`--precision must be fp32, tf32 or bf16, got ${precision}`);
const bf16 = precision === 'bf16';
if (bf16 && values.devices) throw new RangeError('--precision bf16 is for the one-device model; leave out --devices');
if (bf16 && !bf16Support(device).supported) throw new Error(`--precision bf16: ${device} cannot compute in bfloat16 (${bf16Support(device).reason})`);

// --devices D0,D1: the paper's two columns (one per device, or two streams of one device).
const columns = values.devices?.split(',').map((d) => checkDevice(deviceName(d.trim(), '--devices'))) as [DeviceName, DeviceName] | undefined;
const model = columns
  ? new TwoColumnAlexNet({ ...preset.model, seed: 1, devices: columns })
  : alexnet({ ...preset.model, device, seed: 1 });
model.inputGrad = false; // nobody needs dL/d(image)
// The devices in use: the same device twice becomes two streams of it ("cuda:0" and "cuda:0/1").
const streams = model instanceof TwoColumnAlexNet ? model.devices : [device];
for (const d of streams) setPrecision(d, bf16 ? 'fp32' : precision);
const [c, h, w] = model.inputShape;
const sgd = new SGD(model, { lr: 0.001 });
const x = Tensor.normal([batch, c, h, w], { seed: 2, device });
const labels = Tensor.fromArray(Int32Array.from({ length: batch }, (_, i) => i % model.config.numClasses), [batch], device);

function step(i: number): Promise<number> {
  model.reseed(1000 + i);
  const logits = model.forward(x);
  const { loss, dlogits } = ops.softmaxCrossEntropy(logits, labels);
  model.backward(dlogits)?.dispose();
  sgd.step();
  logits.dispose();
  dlogits.dispose();
  return loss;
}

// As the Trainer runs: at most IN_FLIGHT steps queued ahead of the oldest loss read back. Queuing
// every step at once would keep all their activations alive and time fresh blocks' page faults.
const IN_FLIGHT = 2;
async function run(first: number, count: number): Promise<void> {
  const pending: Promise<number>[] = [];
  for (let i = first; i < first + count; i++) {
    if (pending.length >= IN_FLIGHT) await pending.shift();
    pending.push(step(i));
  }
  await Promise.all(pending);
}

async function measure(): Promise<number> {
  await run(0, 3); // warm-up: primitive and algorithm selection, caches at the timed depth
  for (const d of streams) await synchronize(d);
  const started = performance.now();
  await run(3, steps);
  for (const d of streams) await synchronize(d);
  return (performance.now() - started) / 1000;
}
const seconds = await measure();
const ours = (steps * batch) / seconds;
// The same model and weights' mixed-precision step (float32 master weights, bfloat16 compute).
let bf16Seconds: number | undefined;
if (bf16) {
  model.setPrecision('bf16');
  bf16Seconds = await measure();
}

let torch: { imagesPerSecond: number; torch: string } | undefined;
if (!values['no-torch'] && !columns) {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'train_step_torch.py');
  const r = spawnSync('python3', [script], {
    input: JSON.stringify({ model: model.config, batch, steps, precision, device: device.startsWith('cuda') ? device : 'cpu' }),
    encoding: 'utf8',
  });
  if (r.status === 0) torch = JSON.parse(r.stdout);
  else console.log(`(PyTorch comparison skipped: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`);
}

const where = (columns ? `two columns on ${streams.join(' + ')}: ` : '') + (device.startsWith('cuda') ? cudaInfo().devices.join('; ') : `${device}`);
const mathName = bf16 ? 'strict FP32 and mixed-precision BF16' : precision === 'tf32' ? 'TF32 tensor cores' : 'strict FP32';
console.log(`training step, preset ${presetName}, batch ${batch}, ${mathName}, ${steps} steps on ${where}`);
console.log(`  ours${bf16 ? ' fp32' : ''}:    ${ours.toFixed(1)} images/s (${((seconds / steps) * 1000).toFixed(1)} ms/step)`);
const oursBf16 = bf16Seconds === undefined ? undefined : (steps * batch) / bf16Seconds;
if (oursBf16 !== undefined)
  console.log(`  ours bf16:    ${oursBf16.toFixed(1)} images/s (${((bf16Seconds! / steps) * 1000).toFixed(1)} ms/step)  -> bf16/fp32 ${(oursBf16 / ours).toFixed(2)}x`);
const compared = oursBf16 ?? ours;
if (torch) console.log(`  PyTorch ${torch.torch}${bf16 ? ' autocast bf16' : ''}: ${torch.imagesPerSecond.toFixed(1)} images/s  -> ours${bf16 ? ' bf16' : ''}/PyTorch ${(compared / torch.imagesPerSecond).toFixed(2)}x`);

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const tag = columns ? streams.join('+').replaceAll(/[:/]/g, '') : device.replace(':', '');
writeFileSync(join(resultsDir, `train-step-${presetName}-${tag}${bf16 ? `-bf16-b${batch}` : ''}.json`), JSON.stringify({
  date: new Date().toISOString(), preset: presetName, device, columns, batch, steps, precision, imagesPerSecond: ours, bf16ImagesPerSecond: oursBf16,
  torchImagesPerSecond: torch?.imagesPerSecond,
}, null, 2));
