// Times every op (forward + backward) at the paper's layer shapes and, when PyTorch is installed,
// runs the same shapes in PyTorch in the same run (bench/ops_torch.py) and prints ours/PyTorch.
//   npm run bench                  (cpu, batch 32)
//   npm run bench:gpu              (cuda)
//   node dist/bench/ops.js --device cpu --batch 32 --iters 5
//   npm run bench -- --precision bf16   (bf16 beside our fp32 and PyTorch's autocast bf16, one run)
//
// --precision bf16 times every op twice, in float32 and in bfloat16 as mixed-precision training
// runs it (activations already bfloat16, a bfloat16 copy of the float32 weights made in every step,
// float32 weight gradients), and PyTorch under torch.autocast(dtype=torch.bfloat16) with bfloat16
// activations and float32 parameters (autocast casts the weights in every step likewise).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, bf16Support, checkDevice, cudaInfo, ops, setPrecision, synchronize, type Precision, deviceName } from '../lib/index.js';
import { alexnetCases, work, type BenchCase } from './layers.js';
import { benchArgs } from './args.js';

const { values } = benchArgs(import.meta.url, {
  device: { type: 'string', default: 'cpu' },
  batch: { type: 'string', default: '32' },
  iters: { type: 'string', default: '5' },
  torch: { type: 'boolean', default: true },
  'no-torch': { type: 'boolean', default: false },
  precision: { type: 'string', default: 'fp32' },
});
const device = checkDevice(deviceName(values.device!, '--device'));
const batch = Number(values.batch);
const iters = Number(values.iters);
const precision = values.precision as Precision | 'bf16';
if (!['fp32', 'tf32', 'bf16'].includes(precision)) throw new RangeError(`--precision must be fp32, tf32 or bf16, got ${precision}`);
const bf16 = precision === 'bf16';
if (bf16 && !bf16Support(device).supported) throw new Error(`--precision bf16: ${device} cannot compute in bfloat16 (${bf16Support(device).reason})`);
setPrecision(device, bf16 ? 'fp32' : precision);

type Mode = 'fp32' | 'bf16';
function setup(c: BenchCase, mode: Mode): () => Tensor[] {
  // Activations in the mode's dtype (bfloat16 ones arrive so from the layer before); parameters
  // float32, copied to bfloat16 in every step as the training step does.
  const rand = (shape: number[], std = 1) => Tensor.normal(shape, { seed: 1, std, device });
  const act = (shape: number[]) => {
    const t = rand(shape);
    if (mode === 'fp32') return t;
    const h = t.to('bfloat16');
    t.dispose();
    return h;
  };
  const weights = (w: Tensor) => (mode === 'bf16' ? w.to('bfloat16') : w.reshape(w.shape));
  switch (c.kind) {
    case 'conv': {
      const x = act([c.n, c.c, c.h, c.h]);
      const w = rand([c.o, c.c / c.groups, c.k, c.k], 0.01);
      const b = rand([c.o]);
      const opts = { stride: c.stride, padding: c.pad, groups: c.groups };
      return () => {
        const wc = weights(w);
        const y = ops.conv2d(x, wc, b, opts);
        const g = ops.conv2dBackward(y, x, wc, { ...opts, inputGrad: c.name !== 'conv1' });
        return [wc, y, g.dw, g.db!, ...(g.dx ? [g.dx] : [])];
      };
    }
    case 'lrn': {
      const x = act([c.n, c.c, c.h, c.h]);
      return () => {
        const y = ops.localResponseNorm(x);
        return [y, ops.localResponseNormBackward(y, x, y)];
      };
    }
    case 'pool': {
      const x = act([c.n, c.c, c.h, c.h]);
      return () => {
        const y = ops.maxPool2d(x);
        return [y, ops.maxPool2dBackward(y, x, y)];
      };
    }
    case 'linear': {
      const x = act([c.n, c.in]);
      const w = rand([c.out, c.in], 0.01);
      const b = rand([c.out]);
      return () => {
        const wc = weights(w);
        const y = ops.linear(x, wc, b);
        const g = ops.linearBackward(y, x, wc);
        return [wc, y, g.dx!, g.dw, g.db!];
      };
    }
  }
}

interface Row { name: string; ms: number; rate: number; unit: string; torchMs?: number; bf16Ms?: number }

async function timeCase(c: BenchCase, mode: Mode = 'fp32'): Promise<Row> {
  const step = setup(c, mode);
  // Warm-up as deep as the timed loop: the stream lags behind this thread, so `iters` queued steps
  // hold `iters` sets of outputs, and fresh blocks would be timed with their first-touch page
  // faults (64 MB for fc7's weight gradient) instead of the steady state.
  for (let i = 0; i < Math.max(2, iters); i++) step().forEach((t) => t.dispose());
  await synchronize(device);
  const started = performance.now();
  for (let i = 0; i < iters; i++) step().forEach((t) => t.dispose());
  await synchronize(device);
  const ms = (performance.now() - started) / iters;
  const w = work(c);
  return w.flops
    ? { name: c.name, ms, rate: w.flops / ms / 1e6, unit: 'GFLOP/s' }
    : { name: c.name, ms, rate: w.bytes! / ms / 1e6, unit: 'GB/s' };
}

function runTorch(cases: BenchCase[]): Record<string, number> | undefined {
  if (values['no-torch']) return undefined;
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'ops_torch.py');
  const torchDevice = device.startsWith('cuda') ? device : 'cpu';
  const r = spawnSync('python3', [script, '--device', torchDevice, '--iters', String(iters), '--precision', precision], {
    input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 20,
  });
  if (r.status !== 0) {
    console.log(`(PyTorch comparison skipped: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`);
    return undefined;
  }
  return JSON.parse(r.stdout) as Record<string, number>;
}

const cases = alexnetCases(batch);
const mathName = bf16 ? 'strict FP32 beside mixed-precision BF16 (and PyTorch autocast BF16)' : precision === 'tf32' ? 'TF32 tensor cores' : 'strict FP32';
console.log(`AlexNet ops, forward + backward, batch ${batch}, ${mathName}, device ${device}${device.startsWith('cuda') ? ` (${cudaInfo().devices.join('; ')})` : ''}`);
const rows: Row[] = [];
for (const c of cases) {
  const row = await timeCase(c);
  if (bf16) row.bf16Ms = (await timeCase(c, 'bf16')).ms;
  rows.push(row);
}
const torch = runTorch(cases);
if (bf16) {
  // Ours fp32, ours bf16, the bf16 speedup, PyTorch autocast bf16, and ours bf16 against it.
  console.log(`${'op'.padEnd(7)} ${'fp32 ms'.padStart(9)} ${'bf16 ms'.padStart(9)} ${'bf16/fp32'.padStart(9)}` +
    (torch ? ` ${'torch bf16'.padStart(10)} ${'ours/torch'.padStart(10)}` : ''));
  for (const r of rows) {
    r.torchMs = torch?.[r.name];
    console.log(`${r.name.padEnd(7)} ${r.ms.toFixed(2).padStart(9)} ${r.bf16Ms!.toFixed(2).padStart(9)} ${((r.ms / r.bf16Ms!).toFixed(2) + 'x').padStart(9)}` +
      (torch ? ` ${(r.torchMs?.toFixed(2) ?? '-').padStart(10)} ${(r.torchMs ? (r.torchMs / r.bf16Ms!).toFixed(2) + 'x' : '').padStart(10)}` : ''));
  }
  const sum = (f: (r: Row) => number) => rows.reduce((s, r) => s + f(r), 0);
  const t32 = sum((r) => r.ms), t16 = sum((r) => r.bf16Ms!), tt = sum((r) => r.torchMs ?? 0);
  console.log(`total   ${t32.toFixed(2).padStart(9)} ${t16.toFixed(2).padStart(9)} ${((t32 / t16).toFixed(2) + 'x').padStart(9)}` +
    (torch ? ` ${tt.toFixed(2).padStart(10)} ${((tt / t16).toFixed(2) + 'x').padStart(10)}` : ''));
  writeResults();
  process.exit(0);
}
const header = `${'op'.padEnd(7)} ${'ms'.padStart(9)} ${'rate'.padStart(16)}` + (torch ? ` ${'torch ms'.padStart(9)} ${'ours/torch'.padStart(10)}` : '');
console.log(header);
for (const r of rows) {
  r.torchMs = torch?.[r.name];
  const ratio = r.torchMs ? (r.torchMs / r.ms).toFixed(2) + 'x' : '';
  console.log(`${r.name.padEnd(7)} ${r.ms.toFixed(2).padStart(9)} ${(r.rate.toFixed(1) + ' ' + r.unit).padStart(16)}` +
    (torch ? ` ${(r.torchMs?.toFixed(2) ?? '-').padStart(9)} ${ratio.padStart(10)}` : ''));
}
const totalOurs = rows.reduce((s, r) => s + r.ms, 0);
const totalTorch = torch ? rows.reduce((s, r) => s + (r.torchMs ?? 0), 0) : 0;
console.log(`total   ${totalOurs.toFixed(2).padStart(9)}` + (torch ? `${''.padStart(17)} ${totalTorch.toFixed(2).padStart(9)} ${(totalTorch / totalOurs).toFixed(2).padStart(9)}x` : ''));

writeResults();

function writeResults(): void {
  const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `ops-${device.replace(':', '')}${bf16 ? '-bf16' : ''}.json`),
    JSON.stringify({ date: new Date().toISOString(), device, batch, iters, precision, rows }, null, 2));
}
