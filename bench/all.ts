// `npm run bench`: the op benchmark and the training step, with the same flags passed to each.
//   npm run bench                        ops at batch 32 and the quick preset's step (fp32)
//   npm run bench -- --precision bf16    the same plus the paper preset's step at batch 32 and 128,
//                                        each in fp32, bf16 and PyTorch autocast bf16
// Flags after `--` go to every part (e.g. --device, --no-torch); --iters and --steps to the part
// that takes them.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageOf } from './args.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`${usageOf(import.meta.url)}\n`);
  process.exit(0);
}
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const pick = (names: string[]) => args.flatMap((a, i) =>
  names.includes(a) ? [a, args[i + 1]!] : a.startsWith('--no-') ? [a] : []);
const bf16 = flag('--precision') === 'bf16';
const common = pick(['--device', '--precision']);

const runs: string[][] = [
  ['ops.js', ...common, ...pick(['--iters', '--batch'])],
  ...(bf16 ? [
    ['train_step.js', '--preset', 'paper', '--batch', '32', ...common, ...pick(['--steps'])],
    ['train_step.js', '--preset', 'paper', '--batch', '128', ...common, ...pick(['--steps'])],
  ] : []),
  // The quick preset's step is ~20 ms: 100 steps (2-3 s a measurement), since over 20 the ratio of
  // two measurements moved by +-15% from run to run on a shared 2-core machine.
  ['train_step.js', '--preset', 'fashion-mnist-quick', '--steps', flag('--steps') ?? '100', ...common],
];
let status = 0;
for (const [script, ...rest] of runs) {
  const r = spawnSync(process.execPath, [join(here, script!), ...rest], { stdio: 'inherit' });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
