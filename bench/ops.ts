// Times every op (forward + backward) at the paper's layer shapes and, when PyTorch is installed,
// runs the same shapes in PyTorch in the same run (bench/ops_torch.py) and prints ours/PyTorch.
//   npm run bench                  (cpu, batch 32)
//   npm run bench:gpu              (cuda)
//   node dist/bench/ops.js --device cpu --batch 32 --iters 5
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Tensor, checkDevice, cudaInfo, ops, setPrecision, synchronize, type Precision, deviceName } from '../lib/index.js';
import { alexnetCases, work, type BenchCase } from './layers.js';

const { values } = parseArgs({
  options: {
    device: { type: 'string', default: 'cpu' },
    batch: { type: 'string', default: '32' },
    iters: { type: 'string', default: '5' },
    torch: { type: 'boolean', default: true },
    'no-torch': { type: 'boolean', default: false },
    precision: { type: 'string', default: 'fp32' },
  },
});
const device = checkDevice(deviceName(values.device!, '--device'));
const batch = Number(values.batch);
const iters = Number(values.iters);
const precision = values.precision as Precision;
setPrecision(device, precision);

function setup(c: BenchCase): () => Tensor[] {
  const rand = (shape: number[], std = 1) => Tensor.normal(shape, { seed: 1, std, device });
  switch (c.kind) {
    case 'conv': {
      const x = rand([c.n, c.c, c.h, c.h]);
      const w = rand([c.o, c.c / c.groups, c.k, c.k], 0.01);
      const b = rand([c.o]);
      const opts = { stride: c.stride, padding: c.pad, groups: c.groups };
      return () => {
        const y = ops.conv2d(x, w, b, opts);
        const g = ops.conv2dBackward(y, x, w, { ...opts, inputGrad: c.name !== 'conv1' });
        return [y, g.dw, g.db!, ...(g.dx ? [g.dx] : [])];
      };
    }
    case 'lrn': {
      const x = rand([c.n, c.c, c.h, c.h]);
      return () => {
        const y = ops.localResponseNorm(x);
        return [y, ops.localResponseNormBackward(y, x, y)];
      };
    }
    case 'pool': {
      const x = rand([c.n, c.c, c.h, c.h]);
      return () => {
        const y = ops.maxPool2d(x);
        return [y, ops.maxPool2dBackward(y, x, y)];
      };
    }
    case 'linear': {
      const x = rand([c.n, c.in]);
      const w = rand([c.out, c.in], 0.01);
      const b = rand([c.out]);
      return () => {
        const y = ops.linear(x, w, b);
        const g = ops.linearBackward(y, x, w);
        return [y, g.dx!, g.dw, g.db!];
      };
    }
  }
}

interface Row { name: string; ms: number; rate: number; unit: string; torchMs?: number }

async function timeCase(c: BenchCase): Promise<Row> {
  const step = setup(c);
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
console.log(`AlexNet ops, forward + backward, batch ${batch}, ${precision === 'tf32' ? 'TF32 tensor cores' : 'strict FP32'}, device ${device}${device.startsWith('cuda') ? ` (${cudaInfo().devices.join('; ')})` : ''}`);
const rows: Row[] = [];
for (const c of cases) rows.push(await timeCase(c));
const torch = runTorch(cases);
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

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, `ops-${device.replace(':', '')}.json`),
  JSON.stringify({ date: new Date().toISOString(), device, batch, iters, rows }, null, 2));
