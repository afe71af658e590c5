// `alexnet experiment <name>`: re-measures one of the paper's claims and writes results.json and a
// figure. Every setting has a default for the data set; --quick is a seconds-long form for tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPERIMENTS, loadImageSet, reluVsTanh, renderReluVsTanh, type ExperimentName, type ReluVsTanhResult } from '../experiments/index.js';
import { choiceFlag, intFlag, numberFlag, parse, usage } from './args.js';
import { defaultDataDir, openDataset } from './data.js';
import { deviceName } from '../device_name.js';

const DATASETS = ['fashion-mnist', 'cifar10'] as const;
type Dataset = (typeof DATASETS)[number];

/** Per data set: what the paper used (CIFAR-10) and what fits this kind of machine (Fashion-MNIST). */
const DEFAULTS: Record<Dataset, { limit?: number; epochs: number; threshold: number }> = {
  // The paper's figure runs to about 35 epochs of the full set; its threshold is 25%.
  cifar10: { epochs: 40, threshold: 25 },
  // 25% is passed within the first tenth of an epoch here; see docs/EXPERIMENTS.md for the choice.
  'fashion-mnist': { limit: 6000, epochs: 3, threshold: 15 },
};
const QUICK = { limit: 256, epochs: 1, seeds: 1, rates: [0.01, 0.03], batchSize: 32 };

export const experimentHelp = `Usage: alexnet experiment NAME [options]

Re-measures one of the paper's claims: trains the variants side by side over several seeds and
writes OUT/results.json and OUT/figure.png.

Experiments:
${Object.entries(EXPERIMENTS).map(([n, s]) => `  ${n.padEnd(14)}${s}`).join('\n')}

Options:
  --dataset NAME     fashion-mnist (default) or cifar10
  --data-dir DIR     the data set's folder (default: the Fashion-MNIST package's, or
                     data/cifar-10-batches-bin for CIFAR-10's binary batches)
  --limit N          train on the first N images (default 6000 for Fashion-MNIST, all of CIFAR-10)
  --epochs N         epochs per run (default 3 for Fashion-MNIST, 40 for CIFAR-10)
  --seeds N          seeds per variant at its chosen learning rate (default 3)
  --rates LIST       the learning-rate sweep, comma-separated (default 0.01,0.03,0.1)
  --threshold PCT    training error to reach, in percent (default 25 for CIFAR-10, 15 for
                     Fashion-MNIST)
  --batch-size N     images per iteration (default 64)
  --device DEV       cpu (default) or cuda[:N]
  --out DIR          where results.json and figure.png go (default runs/experiments/NAME)
  --json             print the results as JSON instead of a summary
  --quick            a seconds-long run for tests (256 images, 1 epoch, 1 seed, 2 rates)`;

function ratesFlag(value: unknown): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = String(value).split(',');
  const rates = parts.map((p) => Number(p.trim()));
  if (parts.some((p) => p.trim() === '') || rates.some((r) => !Number.isFinite(r) || r <= 0) || rates.length > 10)
    usage('experiment', `--rates must be 1 to 10 positive numbers separated by commas, got ${JSON.stringify(value)}`);
  return rates;
}

export async function experimentCommand(argv: string[]): Promise<number> {
  const c = 'experiment';
  const { values: v, positionals } = parse(c, argv, {
    dataset: { type: 'string' }, 'data-dir': { type: 'string' }, limit: { type: 'string' }, epochs: { type: 'string' },
    seeds: { type: 'string' }, rates: { type: 'string' }, threshold: { type: 'string' }, 'batch-size': { type: 'string' },
    device: { type: 'string' }, out: { type: 'string', short: 'o' }, json: { type: 'boolean' }, quick: { type: 'boolean' },
  }, true);
  if (v.help) {
    console.log(experimentHelp);
    return 0;
  }
  if (positionals.length !== 1) usage(c, `give one experiment name (${Object.keys(EXPERIMENTS).join(', ')})`);
  const name = positionals[0]!;
  if (!Object.hasOwn(EXPERIMENTS, name)) usage(c, `unknown experiment ${JSON.stringify(name)} (experiments: ${Object.keys(EXPERIMENTS).join(', ')})`);
  const dataset = choiceFlag(c, 'dataset', v.dataset, DATASETS) ?? 'fashion-mnist';
  const quick = v.quick === true;
  const d = DEFAULTS[dataset];
  const limit = intFlag(c, 'limit', v.limit, 1) ?? (quick ? QUICK.limit : d.limit);
  const epochs = intFlag(c, 'epochs', v.epochs, 1, 1000) ?? (quick ? QUICK.epochs : d.epochs);
  const seeds = intFlag(c, 'seeds', v.seeds, 1, 100) ?? (quick ? QUICK.seeds : 3);
  const rates = ratesFlag(v.rates) ?? (quick ? QUICK.rates : [0.01, 0.03, 0.1]);
  const threshold = numberFlag(c, 'threshold', v.threshold, 0) ?? d.threshold;
  if (threshold <= 0 || threshold >= 100) usage(c, `--threshold must be a percentage between 0 and 100 (exclusive), got ${JSON.stringify(v.threshold)}`);
  const batchSize = intFlag(c, 'batch-size', v['batch-size'], 1, 4096) ?? (quick ? QUICK.batchSize : 64);
  const device = typeof v.device === 'string' ? v.device : 'cpu';
  if (!/^(cpu|cuda(:\d+)?)$/.test(device)) usage(c, `--device must be cpu or cuda[:N], got ${JSON.stringify(device)}`);
  const deviceChecked = deviceName(device, '--device');
  const out = typeof v.out === 'string' ? v.out : join('runs', 'experiments', name);
  const dataDir = typeof v['data-dir'] === 'string' ? v['data-dir'] : defaultDataDir(dataset);

  const ds = await openDataset(dataset, 'train', dataDir, dataset === 'cifar10' ? 3 : 1);
  const data = await loadImageSet(ds, limit);
  const iterationsPerEpoch = Math.floor(data.labels.length / batchSize);
  const window = Math.max(1, Math.round(iterationsPerEpoch / 10));
  mkdirSync(out, { recursive: true });
  const log = (line: string) => { process.stderr.write(`${line}\n`); };
  log(`${name}: ${data.name}, ${data.labels.length} images, ${epochs} epoch(s) of ${iterationsPerEpoch} iterations, rates ${rates.join(', ')}, ${seeds} seed(s)`);
  const result: ReluVsTanhResult = await reluVsTanh(data, { seeds, rates, epochs, batchSize, momentum: 0.9, threshold: threshold / 100, window, device: deviceChecked, log });
  const resultsFile = join(out, 'results.json');
  const figureFile = join(out, 'figure.png');
  writeFileSync(resultsFile, `${JSON.stringify({ ...result, dataset, dataDir, command: `alexnet experiment ${argv.join(' ')}` }, null, 1)}\n`);
  writeFileSync(figureFile, renderReluVsTanh(result));
  if (v.json) console.log(JSON.stringify(result));
  else console.log(summary(name as ExperimentName, result, resultsFile, figureFile));
  return 0;
}

function summary(name: ExperimentName, r: ReluVsTanhResult, resultsFile: string, figureFile: string): string {
  const pct = (x: number) => `${+(x * 100).toFixed(2)}%`;
  const lines = [`${name} on ${r.data.name} (threshold ${pct(r.settings.threshold)}):`];
  for (const a of ['relu', 'tanh'] as const) {
    const x = r.activations[a];
    const it = x.iterations;
    lines.push(`  ${a}: best lr ${x.bestLr}; iterations to the threshold ${it ? `${it.mean} ± ${it.sd} (min ${it.min}, max ${it.max})` : 'never reached'}` +
      `, reached by ${x.reachedBy} of ${x.runs.length} seed(s)`);
  }
  const s = r.ratio.summary;
  lines.push(`  tanh / relu: ${s ? `${s.mean} ± ${s.sd} (min ${s.min}, max ${s.max})${r.ratio.lowerBound ? ', a lower bound: tanh did not always reach the threshold' : ''}` : 'undefined (relu never reached the threshold)'}`);
  lines.push(`  ${resultsFile}`, `  ${figureFile}`);
  return lines.join('\n');
}
