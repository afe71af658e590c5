// Step time of data-parallel training: one process against `mpirun -n N` processes on the same
// global batch (each rank computes its 1/N of it, then the gradients are averaged in buckets during
// the backward pass), and the cost of the gradient all-reduce alone. The hybrid runs too
// (`--parallel hybrid`: the convolutional layers as above, the fully connected layers split over
// the ranks, their inputs all-gathered and input gradients reduce-scattered, only the
// convolutional gradients all-reduced). On a shared CPU machine the ranks compete for the same
// cores, so this measures the communication overhead, not a speed-up.
//   node dist/bench/data_parallel.js --preset fashion-mnist-quick --ranks 2 --steps 10
// (It launches itself: once alone, once under mpirun per mode; `--worker` is the inner run.)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GradientReducer, initDistributed, ops, synchronize, Tensor, deviceName } from '../lib/index.js';
import { alexnet, hybridAlexNet, presets, type PresetName } from '../lib/models/index.js';
import { SGD } from '../lib/optim/index.js';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  preset: { type: 'string', default: 'fashion-mnist-quick' },
  device: { type: 'string', default: 'cpu' },
  batch: { type: 'string' },
  steps: { type: 'string', default: '10' },
  ranks: { type: 'string', default: '2' },
  worker: { type: 'boolean', default: false },
  parallel: { type: 'string', default: 'data' },
});

interface Result { ranks: number; parallel: string; msPerStep: number; imagesPerSecond: number; allReduceMs: number; gradientMiB: number }

async function worker(): Promise<void> {
  const group = await initDistributed();
  const preset = presets[values.preset as PresetName];
  if (!preset) throw new RangeError(`--preset must be one of ${Object.keys(presets).join(', ')}`);
  const device = deviceName(values.device!, '--device');
  const global = Number(values.batch ?? preset.training.batchSize);
  if (global % group.size !== 0) throw new RangeError(`--batch ${global} must be a multiple of the ${group.size} ranks`);
  const rows = global / group.size;
  const steps = Number(values.steps);
  const hybrid = values.parallel === 'hybrid' && group.size > 1;
  if (values.parallel !== 'data' && values.parallel !== 'hybrid') throw new RangeError(`--parallel must be data or hybrid, got ${values.parallel}`);
  const options = { ...preset.model, device, seed: 1 };
  const split = hybrid ? hybridAlexNet(options, group) : null;
  const model = split ?? alexnet(options);
  model.inputGrad = false;
  const sgd = new SGD(model, { lr: 0.001 });
  // The hybrid's fully connected slices are not all-reduced; its convolutional gradients are parts of one sum.
  const replicated = split ? split.replicatedParameters() : model.namedParameters();
  const reducer = group.size > 1 ? new GradientReducer(group, replicated, { op: hybrid ? 'sum' : 'mean' }) : null;
  const [c, h, w] = [options.inChannels ?? 3, options.inputSize ?? 224, options.inputSize ?? 224];
  const classes = options.numClasses ?? 1000;
  const x = Tensor.normal([rows, c, h, w], { seed: 2 + group.rank, device });
  const labels = Tensor.fromArray(Int32Array.from({ length: rows }, (_, i) => i % classes), [rows], device);
  model.setRowOffset(group.rank * rows);
  const step = (i: number): Promise<number> => {
    model.reseed(1000 + i);
    const logits = model.forward(x);
    const { loss, dlogits: own } = ops.softmaxCrossEntropy(logits, labels);
    const dlogits = hybrid ? ops.scale(own, 1 / group.size) : own;
    if (dlogits !== own) own.dispose();
    reducer?.beginStep();
    model.backward(dlogits)?.dispose();
    reducer?.finish();
    sgd.step();
    logits.dispose();
    dlogits.dispose();
    return loss;
  };
  for (let i = 0; i < 3; i++) await step(i);
  await group.barrier();
  let t0 = performance.now();
  const pending: Promise<number>[] = [];
  for (let i = 0; i < steps; i++) {
    pending.push(step(3 + i));
    while (pending.length > 2) await pending.shift();
  }
  await Promise.all(pending);
  await synchronize(device);
  const msPerStep = (performance.now() - t0) / steps;
  // The gradients' all-reduce alone, as the buckets move it.
  const grads = replicated.map(([, p]) => p.grad!);
  await group.barrier();
  t0 = performance.now();
  for (let i = 0; i < steps; i++) group.allReduce(grads, { op: 'mean' }).wait();
  await synchronize(device);
  const allReduceMs = group.size > 1 ? (performance.now() - t0) / steps : 0;
  const gradientMiB = grads.reduce((a, g) => a + g.size * 4, 0) / 2 ** 20;
  if (group.rank === 0) {
    const result: Result = { ranks: group.size, parallel: hybrid ? 'hybrid' : 'data', msPerStep, imagesPerSecond: (global / msPerStep) * 1000, allReduceMs, gradientMiB };
    console.log(JSON.stringify(result));
  }
  reducer?.dispose();
}

function launch(): void {
  const self = fileURLToPath(import.meta.url);
  const args = [self, '--worker', '--preset', values.preset!, '--device', values.device!, '--steps', values.steps!, ...(values.batch ? ['--batch', values.batch] : [])];
  const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
  const mpi = (parallel: string): string[] => ['-n', values.ranks!, '--oversubscribe', process.execPath, ...args, '--parallel', parallel];
  const runs: [string, string, string[]][] = [['1 process', process.execPath, args],
    [`mpirun -n ${values.ranks}`, 'mpirun', mpi('data')], [`mpirun -n ${values.ranks} (hybrid)`, 'mpirun', mpi('hybrid')]];
  const results: Result[] = [];
  for (const [name, cmd, argv] of runs) {
    const r = spawnSync(cmd, argv, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${name} failed (status ${r.status}):\n${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Result);
  }
  console.log(`${values.preset} on ${values.device}, global batch ${values.batch ?? presets[values.preset as PresetName]?.training.batchSize}, ${values.steps} steps`);
  console.log('ranks  mode    ms/step  images/s  gradient all-reduce alone');
  for (const r of results)
    console.log(`${String(r.ranks).padStart(5)}  ${(r.ranks > 1 ? r.parallel : '-').padEnd(6)}  ${r.msPerStep.toFixed(1).padStart(7)}  ${r.imagesPerSecond.toFixed(0).padStart(8)}  ` +
      (r.ranks > 1 ? `${r.allReduceMs.toFixed(1)} ms for ${r.gradientMiB.toFixed(1)} MiB` : '-'));
}

if (values.worker || (process.env.OMPI_COMM_WORLD_SIZE ?? '1') !== '1') await worker();
else launch();
