// `alexnet train`: a preset (or a data set with options) trained on the best device, with
// checkpoints, metrics and a final test accuracy.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { DataLoader } from '../data/index.js';
import { checkDevice, cudaInfo, defaultDevice, setDeterministic, synchronize } from '../device.js';
import type { DeviceName } from '../device_name.js';
import { initDistributed, type ProcessGroup } from '../distributed/index.js';
import { loadResumeCheckpoint } from '../io/checkpoint.js';
import { AlexNetError } from '../errors.js';
import { fp16Support } from '../tensor.js';
import { hybridTwoColumnAlexNet, TwoColumnAlexNet } from '../models/two_column.js';
import { alexnet, hybridAlexNet, resolveAlexNetOptions, preset as getPreset, presets, type AlexNetOptions, type Preset, type TrainingConfig } from '../models/index.js';
import type { ScheduleConfig } from '../optim/schedule.js';
import { fp16Unavailable, Trainer, TRAINING_PRECISIONS } from '../train/trainer.js';
import type { LossScaleConfig } from '../optim/loss_scaler.js';
import { checkCheckpointModel } from '../train/load_model.js';
import { prepareRunDirectory } from '../train/run_dir.js';
import { formatDuration } from '../train/progress.js';
import { applyThreadsFlag, choiceFlag, deviceFlag, intFlag, numberFlag, parse, threadsHelp, THREADS_OPTION, usage, type Options } from './args.js';
import { readConfig } from './config.js';
import {
  augmentOnFlag, DATASETS, defaultDataDir, evalLoader, openDataset, statsTensors, trainLoader, type DatasetName, type Preprocessing,
} from './data.js';

export const trainHelp = `Usage: alexnet train [options]

Trains AlexNet and prints the test accuracy. Checkpoints (last, best: safetensors + JSON) and
metrics.jsonl go to --out. Ctrl-C (SIGINT) saves a checkpoint and exits with status 130, SIGTERM
likewise with 143; --resume continues exactly where the run stopped (from the best checkpoint, with
a warning, when the last one cannot be read).

  --preset NAME        ${Object.keys(presets).join(', ')} (default fashion-mnist-quick)
  --dataset NAME       ${DATASETS.join(', ')} (default: the preset's)
  --data-dir DIR       where the data set is (default: ${defaultDataDir('fashion-mnist')} for fashion-mnist)
  --limit N            train on the first N training images only
  --device DEV         cpu, cpu:N, cuda:N (default: the best available)
  --devices D0,D1      the paper's two columns on two devices (e.g. cuda:0,cuda:1 or cpu:0,cpu:1;
                       cuda:0,cuda:0 runs them on two streams of one GPU); checkpoints keep the
                       one-device names, so they load either way
  --epochs N           default: the preset's
  --batch-size N       default 128
  --lr X               initial learning rate (default 0.01)
  --momentum X         default 0.9
  --weight-decay X     default 0.0005
  --schedule KIND      plateau (divide by 10 when the test error stops improving) or step
  --patience N         plateau: epochs without improvement before dividing
  --max-reductions N   plateau: how often at most (default 3)
  --step-every N       step: divide by 10 every N epochs
  --seed N             every random draw derives from it (default 0)
  --out DIR            default runs/<preset>-<date>
  --resume             continue the run in --out (default: the newest runs/<preset>-*)
  --config FILE        JSON object of these settings (flags win)
  --input-size N --width X --conv1-stride N --init paper|he
  --no-lrn --no-dropout --no-overlap     ablations of the paper's choices
  --ten-crop           evaluate with the ten-crop average
${threadsHelp(21)}
  --workers N          data pipeline threads (default: a quarter of the cores on CPU, all on CUDA)
  --augment-on WHERE   host or device: where crops, flips, the mean and colour noise are applied
                       (default: device on CUDA, host on CPU); the numbers are the same either way
  --precision P        fp32 (default), bf16, fp16 or tf32. bf16: mixed precision as PyTorch's autocast
                       (convolutions, LRN, pooling and the fully connected layers on bfloat16,
                       float32 master weights, update, loss and checkpoints; any model and mode,
                       on a CPU with AVX512_BF16, see alexnet info). tf32: CUDA's TF32 tensor cores; on a
                       CPU it trains in fp32 and says so. fp16: as bf16 in float16, on CUDA (compute
                       capability 7.0 or newer) with dynamic loss scaling; on a CPU a
                       FLOAT16_UNSUPPORTED error before anything is written
  --loss-scale S       dynamic, a number (a fixed scale) or none (default: dynamic for fp16, else
                       none). dynamic: the loss gradient is multiplied by a scale (2^16 at first,
                       doubled after 2000 clean steps, halved on an overflow); a step whose
                       gradients hold Inf or NaN is skipped (counted in metrics.jsonl and the
                       progress line). Not saved with the run's settings: pass it again on --resume,
                       which then restores the scale from the checkpoint
  --deterministic      only convolution algorithms that give the same bits on every run (CUDA: as
                       torch.use_deterministic_algorithms; slower. The CPU always does)
  --progress MODE      auto, bar, plain, none (default auto: a bar on a terminal)
  --max-steps N        stop (and checkpoint) after N steps in total
  --parallel MODE      under mpirun: data (default: every rank holds the whole model) or hybrid
                       (convolutional layers data parallel, fc6-fc8 split over the ranks by
                       output features); checkpoints are the same either way. With --devices,
                       each rank runs the convolutional layers in the two columns on its two
                       devices and its slice of fc6-fc8 on the first
  -h, --help

Data parallelism: launched by Open MPI (mpirun -n 4 alexnet train …, or mpirun -H a,b … across
machines), each process is a rank with its share of every global batch (--batch-size stays the
global batch and must be a multiple of the ranks); one rank per GPU (cuda:<local rank>) or per CPU
device. The update equals one process's (up to the order of the sums). Rank 0 writes --out, which
every rank must be able to read to --resume. Every rank stops after the same step. Ctrl-C on
mpirun reaches the ranks as SIGTERM after odls_base_sigkill_timeout seconds (1 by default) and is
followed by SIGKILL as long after: pass --mca odls_base_sigkill_timeout 10 so that they can save,
or send SIGUSR1 to mpirun, which forwards it at once (saves and exits with status 138).
A rank that dies or hangs ends the job, naming it, within ALEXNET_DIST_TIMEOUT seconds (default
30), and up to 10 s more for the roll call that names a rank stopped during a transfer.

Presets:
${Object.entries(presets).map(([n, p]) => `  ${n.padEnd(20)} ${p.description}`).join('\n')}

The Fashion-MNIST presets use He initialisation: measured in PyTorch on a 2-core CPU, the paper's
N(0, 0.01^2) init leaves such small networks at 10% accuracy for a whole epoch, while He init
reaches ~84% after one epoch of the quick configuration and ~90% after 8 epochs (no augmentation).
Here the quick preset reaches 88.6% after 8 epochs (as PyTorch does with the same recipe) and
90.65% after 13 epochs at lr 0.01 and 5 at 0.001 (8 m 45 s on 2 cores).`;

const options: Options = {
  preset: { type: 'string' }, dataset: { type: 'string' }, 'data-dir': { type: 'string' }, limit: { type: 'string' },
  device: { type: 'string' }, devices: { type: 'string' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' },
  momentum: { type: 'string' }, 'weight-decay': { type: 'string' }, schedule: { type: 'string' }, patience: { type: 'string' },
  'max-reductions': { type: 'string' }, 'step-every': { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' },
  resume: { type: 'boolean' }, config: { type: 'string' }, 'input-size': { type: 'string' }, width: { type: 'string' },
  'conv1-stride': { type: 'string' }, init: { type: 'string' }, 'no-lrn': { type: 'boolean' }, 'no-dropout': { type: 'boolean' },
  'no-overlap': { type: 'boolean' }, 'ten-crop': { type: 'boolean' }, workers: { type: 'string' }, progress: { type: 'string' },
  'max-steps': { type: 'string' }, 'augment-on': { type: 'string' }, precision: { type: 'string' }, 'loss-scale': { type: 'string' }, parallel: { type: 'string' }, deterministic: { type: 'boolean' }, ...THREADS_OPTION,
};

/** Settings a resumed run takes from its checkpoint; giving them again would change the run. */
const FIXED_ON_RESUME = ['preset', 'dataset', 'limit', 'batch-size', 'lr', 'momentum', 'weight-decay', 'schedule', 'patience',
  'max-reductions', 'step-every', 'seed', 'input-size', 'width', 'conv1-stride', 'init', 'no-lrn', 'no-dropout', 'no-overlap'];

interface RunConfig extends TrainingConfig {
  preset: string;
  dataset: DatasetName;
  limit?: number;
  seed: number;
  model: AlexNetOptions;
  data: Preprocessing;
  tenCrop: boolean;
  /** The data set's class names, for predict. */
  classNames?: string[];
}

function newestRun(presetName: string): string | undefined {
  if (!existsSync('runs')) return undefined;
  return readdirSync('runs')
    .filter((d) => d.startsWith(`${presetName}-`) && existsSync(join('runs', d, 'last.safetensors')))
    .map((d) => join('runs', d))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/** The settings a checkpoint's run was started with, checked enough to continue it; BAD_FILE naming the file. */
function savedRunConfig(file: string, training: unknown): RunConfig {
  const bad = (why: string): never => {
    throw new AlexNetError(`${file} cannot be resumed by alexnet train: its training settings ${why} (was it written by alexnet train?)`, 'BAD_FILE');
  };
  if (typeof training !== 'object' || training === null) bad('are missing');
  const t = training as Record<string, unknown>;
  for (const key of ['preset', 'dataset'] as const) if (typeof t[key] !== 'string') bad(`have no ${key}`);
  if (!(DATASETS as readonly unknown[]).includes(t.dataset)) bad(`name the data set ${JSON.stringify(t.dataset)}`);
  for (const key of ['batchSize', 'epochs', 'seed'] as const)
    if (!Number.isSafeInteger(t[key]) || (t[key] as number) < (key === 'seed' ? 0 : 1)) bad(`have ${key} ${JSON.stringify(t[key])}`);
  for (const key of ['lr', 'momentum', 'weightDecay'] as const)
    if (typeof t[key] !== 'number' || !Number.isFinite(t[key]) || (t[key] as number) < 0) bad(`have ${key} ${JSON.stringify(t[key])}`);
  for (const key of ['model', 'data', 'schedule'] as const)
    if (typeof t[key] !== 'object' || t[key] === null || Array.isArray(t[key])) bad(`have no ${key}`);
  if (t.limit !== undefined && (!Number.isSafeInteger(t.limit) || (t.limit as number) < 1)) bad(`have limit ${JSON.stringify(t.limit)}`);
  return t as unknown as RunConfig;
}

function stamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function runConfig(v: Record<string, unknown>): RunConfig {
  const c = 'train';
  const presetName = (v.preset as string | undefined) ?? 'fashion-mnist-quick';
  if (!Object.hasOwn(presets, presetName)) usage(c, `--preset must be one of ${Object.keys(presets).join(', ')}, got ${JSON.stringify(presetName)}`);
  const p: Preset = getPreset(presetName);
  const dataset = choiceFlag(c, 'dataset', v.dataset, DATASETS) ?? p.dataset;
  const model: AlexNetOptions = { ...p.model };
  const inputSize = intFlag(c, 'input-size', v['input-size'], 1);
  if (inputSize !== undefined) model.inputSize = inputSize;
  const width = numberFlag(c, 'width', v.width, 0);
  if (width !== undefined) model.width = width;
  const stride = intFlag(c, 'conv1-stride', v['conv1-stride'], 1);
  if (stride !== undefined) model.conv1Stride = stride;
  model.init = choiceFlag(c, 'init', v.init, ['paper', 'he'] as const) ?? model.init;
  if (v['no-lrn']) model.lrn = false;
  if (v['no-dropout']) model.dropout = false;
  if (v['no-overlap']) model.overlappingPool = false;
  // A data set other than the preset's: its classes; grey data sets in colour presets get one channel copied to three.
  const crop = model.inputSize ?? 224;
  const size = p.data.size === p.data.crop ? crop : Math.round((crop * p.data.size) / p.data.crop);
  const data: Preprocessing = { dataset, ...p.data, size, crop, channels: (model.inChannels ?? 3) === 1 ? 1 : 3 };
  const kind = choiceFlag(c, 'schedule', v.schedule, ['plateau', 'step'] as const) ?? p.training.schedule.type;
  const base = p.training.schedule;
  let schedule: ScheduleConfig;
  if (kind === 'step') {
    const every = intFlag(c, 'step-every', v['step-every'], 1) ?? (base.type === 'step' ? base.every : undefined);
    schedule = { type: 'step', every: every ?? usage(c, '--schedule step needs --step-every N'), gamma: base.type === 'step' ? base.gamma ?? 0.1 : 0.1 };
  } else {
    schedule = { ...(base.type === 'plateau' ? base : { type: 'plateau' as const }) };
    const patience = intFlag(c, 'patience', v.patience, 1);
    const maxReductions = intFlag(c, 'max-reductions', v['max-reductions'], 0);
    if (patience !== undefined) schedule.patience = patience;
    if (maxReductions !== undefined) schedule.maxReductions = maxReductions;
  }
  return {
    preset: presetName, dataset, limit: intFlag(c, 'limit', v.limit, 1),
    batchSize: intFlag(c, 'batch-size', v['batch-size'], 1) ?? p.training.batchSize,
    lr: numberFlag(c, 'lr', v.lr, 0) ?? p.training.lr,
    momentum: numberFlag(c, 'momentum', v.momentum, 0) ?? p.training.momentum,
    weightDecay: numberFlag(c, 'weight-decay', v['weight-decay'], 0) ?? p.training.weightDecay,
    epochs: intFlag(c, 'epochs', v.epochs, 1) ?? p.training.epochs,
    schedule, seed: intFlag(c, 'seed', v.seed, 0) ?? 0, model, data, tenCrop: Boolean(v['ten-crop']),
  };
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values: flags } = parse('train', argv, options);
  if (flags.help) {
    console.log(trainHelp);
    return 0;
  }
  // Under mpirun, the ranks of the job; otherwise a group of one.
  const group = await initDistributed();
  try {
    return await train(flags, group);
  } catch (e) {
    // The other ranks would wait for this one until their timeout: end the job at exit instead.
    if (group.size > 1) group.abortOnExit();
    throw e;
  }
}

async function train(flags: Record<string, unknown>, group: ProcessGroup): Promise<number> {
  const c = 'train';
  const distributed = group.size > 1;
  const rank0 = group.rank === 0;
  const say = (text: string): void => { if (rank0) process.stderr.write(text); };
  const fromFile = typeof flags.config === 'string' ? readConfig(c, flags.config, options) : {};
  const v: Record<string, unknown> = { ...fromFile, ...flags };
  const columns = typeof v.devices === 'string' ? v.devices.split(',').map((d) => deviceFlag(c, 'devices', d.trim())!) : undefined;
  if (columns && columns.length !== 2) usage(c, `--devices takes two devices separated by a comma (e.g. cuda:0,cuda:1), got ${JSON.stringify(v.devices)}`);
  if (columns && typeof v.device === 'string') usage(c, '--device and --devices cannot both be given');
  const parallel = choiceFlag(c, 'parallel', v.parallel, ['data', 'hybrid'] as const) ?? 'data';
  const hybrid = parallel === 'hybrid' && distributed;
  // One rank per GPU of its machine, or the CPU.
  const rankDevice = distributed && cudaInfo().count > 0 ? `cuda:${group.localRank % cudaInfo().count}` as const : undefined;
  const device = columns ? columns[0]! : deviceFlag(c, 'device', v.device) ?? rankDevice ?? defaultDevice();
  checkDevice(device);
  columns?.forEach((d) => checkDevice(d));
  if (v.deterministic) for (const d of [device, ...(columns ?? [])]) setDeterministic(d, true);
  applyThreadsFlag(c, v.threads);
  const progress = choiceFlag(c, 'progress', v.progress, ['auto', 'bar', 'plain', 'none'] as const) ?? 'auto';
  // On a CPU device the data threads compete with the convolutions for the same cores: measured on
  // 2 cores, 1 worker trains the quick preset at ~2100 img/s and 2 workers at ~1300 img/s.
  const workers = intFlag(c, 'workers', v.workers, 1) ?? (device.startsWith('cpu') ? Math.max(1, Math.floor(availableParallelism() / 4)) : undefined);
  const maxSteps = intFlag(c, 'max-steps', v['max-steps'], 0);
  const augmentOn = augmentOnFlag(c, v['augment-on'], device);
  const precision = choiceFlag(c, 'precision', v.precision, TRAINING_PRECISIONS) ?? 'fp32';
  // Before the run directory: a run that cannot compute should not leave one behind.
  if (precision === 'fp16')
    for (const d of [device, ...(columns ?? [])]) if (!fp16Support(d).supported) throw fp16Unavailable(d);
  const lossScale = lossScaleFlag(c, v['loss-scale']);

  let config = runConfig(v);
  let out = typeof v.out === 'string' ? v.out : undefined;
  // The checkpoint a resumed run continues from (chosen once: its last, or its best when the last is unreadable).
  let resumeFrom: string | undefined;
  if (v.resume) {
    const given = FIXED_ON_RESUME.filter((k) => flags[k] !== undefined && k !== 'preset');
    if (given.length > 0) usage(c, `--${given[0]} cannot change when resuming: the run continues with its checkpoint's settings`);
    out ??= newestRun(config.preset) ?? usage(c, `--resume: no runs/${config.preset}-* with a checkpoint; pass --out DIR`);
    const ckpt = await loadResumeCheckpoint(out, (message) => process.stderr.write(`warning: ${message}\n`));
    const saved = savedRunConfig(ckpt.file, ckpt.state.training);
    // The model the checkpoint describes must be the one its tensors hold before anything is built.
    checkCheckpointModel(ckpt.file, saved.model, ckpt.weights);
    resumeFrom = ckpt.file;
    config = { ...saved, epochs: intFlag(c, 'epochs', v.epochs, 1) ?? saved.epochs, tenCrop: config.tenCrop };
  }
  // Every rank names the run after rank 0's clock.
  out ??= join('runs', `${config.preset}-${stamp(distributed ? (await group.sumNumbers([rank0 ? Date.now() : 0]))[0]! : Date.now())}`);
  // Before the data is read: a run that cannot save should not start.
  if (rank0) prepareRunDirectory(out);

  const dataDir = typeof v['data-dir'] === 'string' ? v['data-dir'] : defaultDataDir(config.dataset);
  const trainSet = await openDataset(config.dataset, 'train', dataDir, config.data.channels, config.limit);
  const testSet = await openDataset(config.dataset, 'test', dataDir, config.data.channels);
  config.model.numClasses = trainSet.numClasses;
  config.classNames = [...trainSet.classNames];
  const loaders: DataLoader[] = [];
  // SIGINT (Ctrl-C), SIGTERM (kill, a job scheduler's time limit) and SIGUSR1 (forwarded by mpirun) save the step in
  // progress; the exit status is the shell's for the first signal (130, 143, 138); a second quits at once.
  let interrupts = 0;
  let signalStatus = 0;
  let trainer: Trainer | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const status = signal === 'SIGTERM' ? 143 : signal === 'SIGUSR1' ? 138 : 130;
    if (++interrupts > 1 || !trainer) {
      // Quitting at once leaves the other ranks nothing to wait for: end the whole job.
      if (distributed) group.abortOnExit();
      process.exit(signalStatus || status);
    }
    signalStatus = status;
    say(`\ninterrupted${signal === 'SIGINT' ? '' : ` (${signal})`}: saving a checkpoint after this step (Ctrl-C again to quit at once)\n`);
    trainer.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGUSR1', onSignal);
  // The devices in use: the same device twice becomes two streams of it (cuda:0 and cuda:0/1).
  let streams = columns ?? [device];
  try {
    if (config.batchSize % group.size !== 0)
      usage(c, `--batch-size ${config.batchSize} (the global batch) must be a multiple of the ${group.size} ranks`);
    const shard = { index: group.rank, count: group.size };
    const train = await trainLoader(trainSet, config.data, { batchSize: config.batchSize, seed: config.seed, workers, augmentOn, shard });
    loaders.push(train);
    const test = await evalLoader(testSet, config.data, train.datasetStats, { batchSize: config.batchSize, seed: config.seed, workers, tenCrop: config.tenCrop, augmentOn, shard });
    loaders.push(test);
    // The hybrid with two columns: each rank's convolutional layers in the two columns on its two
    // devices, its slice of the fully connected layers on the first (see hybridTwoColumnAlexNet).
    const twoColumns = columns ? { ...config.model, seed: config.seed, devices: [columns[0]!, columns[1]!] as [DeviceName, DeviceName] } : undefined;
    const model = twoColumns
      ? hybrid ? hybridTwoColumnAlexNet(twoColumns, group) : new TwoColumnAlexNet(twoColumns)
      : hybrid ? hybridAlexNet({ ...config.model, seed: config.seed, device }, group) : alexnet({ ...config.model, seed: config.seed, device });
    const placed = model.modules().find((m): m is TwoColumnAlexNet => m instanceof TwoColumnAlexNet);
    if (placed) streams = placed.devices;
    const { device: _ignored, ...modelConfig } = resolveAlexNetOptions({ ...config.model, seed: config.seed, device });
    const ranks = distributed ? `, ${group.size} ranks over ${device.startsWith('cuda') ? group.transports.cuda : group.transports.cpu}` +
      (hybrid ? ', fully connected layers split over them (hybrid)' : '') : '';
    trainer = new Trainer({
      model, train, val: test, epochs: config.epochs, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay,
      schedule: config.schedule, seed: config.seed, outDir: out, resume: resumeFrom, progress, maxSteps, precision, lossScale,
      modelConfig, trainingConfig: config as unknown as Record<string, unknown>, extraTensors: statsTensors(train.datasetStats),
      group, parallel: hybrid ? 'hybrid' : 'data',
    });
    say(`training ${config.preset} on ${trainSet.size} ${config.dataset} images (${columns ? `two columns on ${streams.join(' + ')}` : device}${ranks}), ` +
      `${config.epochs} epochs of ${train.batchesPerEpoch} batches of ${config.batchSize}, precision ${trainer.precision}` +
      `${trainer.lossScaler ? `, loss scale ${trainer.lossScaler.dynamic ? 'dynamic from' : 'fixed at'} ${trainer.lossScaler.scale}` : ''}; output in ${out}\n`);
    const started = performance.now();
    const result = await trainer.fit();
    if (result.interrupted) {
      say(`stopped; continue with: ${distributed ? `mpirun -n ${group.size} ` : ''}alexnet train --resume --out ${out}\n`);
      return signalStatus;
    }
    const last = result.epochs.at(-1)?.val;
    if (last && rank0) {
      console.log(`test accuracy ${(100 * (1 - last.top1Error)).toFixed(2)}% (top-1 error ${(100 * last.top1Error).toFixed(2)}%, ` +
        `top-5 error ${(100 * last.top5Error).toFixed(2)}%) on ${last.images} ${config.dataset} test images` +
        `${last.crops === 10 ? ' (ten crops)' : ''}, after ${result.state.epoch} epochs in ${formatDuration((performance.now() - started) / 1000)}`);
    }
    model.dispose();
    trainer.optimizer.dispose();
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGUSR1', onSignal);
    for (const l of loaders) await l.close();
    // Let queued device work finish before the process exits (also after an error).
    for (const d of streams) await synchronize(d).catch(() => undefined);
  }
}

/** --loss-scale: dynamic, none, or a positive number (a fixed scale). */
function lossScaleFlag(command: string, value: unknown): LossScaleConfig | undefined {
  if (value === undefined) return undefined;
  if (value === 'dynamic' || value === 'none') return value;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < 2 ** -126 || n > 2 ** 126)
    usage(command, `--loss-scale must be dynamic, none or a number from 2^-126 to 2^126, got ${JSON.stringify(value)}`);
  return n;
}
