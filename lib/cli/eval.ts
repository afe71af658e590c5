// `alexnet eval`: top-1/top-5 error of one checkpoint or an ensemble (softmax averaged) on a data set.
import { availableParallelism } from 'node:os';
import type { DataLoader } from '../data/index.js';
import { checkDevice, defaultDevice, synchronize } from '../device.js';
import { AlexNetError } from '../errors.js';
import { checkpointPath, readWeightsFile } from '../io/checkpoint.js';
import { evaluate } from '../train/evaluate.js';
import { loadModels } from '../train/load_model.js';
import type { AlexNetOptions } from '../models/alexnet.js';
import { applyThreadsFlag, choiceFlag, deviceFlag, intFlag, parse, threadsHelp, THREADS_OPTION, usage } from './args.js';
import { AUGMENT_ON_HELP, augmentOnFlag, DATASETS, defaultDataDir, evalLoader, openDataset, statsFromTensors, type Preprocessing } from './data.js';
import { describePlain, MODEL_FLAG_OPTIONS, MODEL_FLAGS_HELP, plainModel, plainStats, refuseModelFlags } from './model_flags.js';

export const evalHelp = `Usage: alexnet eval CHECKPOINT... [options]

Evaluates checkpoints (files, or run directories: their best checkpoint) on a data set's test
split; with several, their softmax outputs are averaged (an ensemble, as in the paper's §6).
A tie for the top class counts as wrong. Logits that are NaN or infinite are counted and
reported, and make the command fail (exit status 1).

  --dataset NAME     ${DATASETS.join(', ')} (default: the one the first checkpoint was trained on)
  --data-dir DIR     where the data set is
  --split SPLIT      test (default) or train
  --limit N          the first N images only
  --ten-crop         average the softmax of ten crops per image (corners, centre, and their flips)
  --batch-size N     default 128
  --device DEV       default: the best available
  --workers N        data pipeline threads
${threadsHelp(19)}
${AUGMENT_ON_HELP}
  --json             print the result as JSON
  -h, --help

${MODEL_FLAGS_HELP}`;

export async function evalCommand(argv: string[]): Promise<number> {
  const c = 'eval';
  const { values: v, positionals } = parse(c, argv, {
    dataset: { type: 'string' }, 'data-dir': { type: 'string' }, split: { type: 'string' }, limit: { type: 'string' },
    'ten-crop': { type: 'boolean' }, 'batch-size': { type: 'string' }, device: { type: 'string' }, json: { type: 'boolean' },
    workers: { type: 'string' }, 'augment-on': { type: 'string' }, ...THREADS_OPTION, ...MODEL_FLAG_OPTIONS,
  }, true);
  if (v.help) {
    console.log(evalHelp);
    return 0;
  }
  if (positionals.length === 0) usage(c, 'give at least one checkpoint (a .safetensors file or a run directory)');
  const device = deviceFlag(c, 'device', v.device) ?? defaultDevice();
  checkDevice(device);
  applyThreadsFlag(c, v.threads);
  const split = choiceFlag(c, 'split', v.split, ['test', 'train'] as const) ?? 'test';
  const batchSize = intFlag(c, 'batch-size', v['batch-size'], 1) ?? 128;
  const limit = intFlag(c, 'limit', v.limit, 1);
  const workers = intFlag(c, 'workers', v.workers, 1) ?? (device.startsWith('cpu') ? Math.max(1, Math.floor(availableParallelism() / 4)) : undefined);
  const augmentOn = augmentOnFlag(c, v['augment-on'], device);
  // Preprocessing and statistics come from the first checkpoint: images must be prepared as in
  // training. A plain state dict records neither: they come from --preset and the model flags.
  const first = await readWeightsFile(checkpointPath(positionals[0]!, 'best'));
  const chosen = choiceFlag(c, 'dataset', v.dataset, DATASETS);
  let data: Preprocessing;
  let plain: ReturnType<typeof plainModel> | undefined;
  if (first.state) {
    refuseModelFlags(c, v, first.file);
    const training = first.state.training as { data?: Preprocessing; dataset?: string };
    if (!training.data) usage(c, `${first.file} does not record how its images were prepared (it was not written by alexnet train)`);
    data = training.data;
  } else {
    plain = plainModel(c, v, chosen);
    data = plain.data;
    process.stderr.write(`${describePlain(first)}; architecture and image preparation from --preset ${v.preset ?? 'fashion-mnist-quick'} and the flags\n`);
  }
  const dataset = chosen ?? data.dataset;
  const dataDir = typeof v['data-dir'] === 'string' ? v['data-dir'] : defaultDataDir(dataset);
  const models = await loadModels(positionals, device, { model: plain?.model ?? (first.state?.model as AlexNetOptions) });
  let loader: DataLoader | undefined;
  try {
    const ds = await openDataset(dataset, split, dataDir, data.channels, limit);
    const stats = plain ? await plainStats({ ...data, dataset }, () => openDataset(dataset, 'train', dataDir, data.channels), workers) : statsFromTensors(first.extra);
    if (ds.numClasses !== models[0]!.config.numClasses)
      usage(c, `${dataset} has ${ds.numClasses} classes but the checkpoint's model has ${models[0]!.config.numClasses}`);
    loader = await evalLoader(ds, { ...data, dataset }, stats, { batchSize, seed: 0, workers, tenCrop: Boolean(v['ten-crop']), augmentOn });
    const r = await evaluate(models, loader);
    await synchronize(device);
    if (v.json) console.log(JSON.stringify({ checkpoints: positionals, dataset, split, augmentOn: loader.augmentOn, ...(plain ? { stateDict: { ...plain, naming: first.naming } } : {}), ...r }));
    else console.log(`${dataset} ${split}: top-1 error ${(100 * r.top1Error).toFixed(2)}% (accuracy ${(100 * (1 - r.top1Error)).toFixed(2)}%), ` +
      `top-5 error ${(100 * r.top5Error).toFixed(2)}%, loss ${r.loss.toFixed(4)} on ${r.images} images` +
      `${r.crops === 10 ? ', ten crops' : ''}${r.models > 1 ? `, ensemble of ${r.models}` : ''}, ` +
      `${r.nonFiniteLogits} non-finite logits (${r.seconds.toFixed(1)} s)`);
    // Outputs that are not numbers make every figure above meaningless: say so, and fail.
    if (r.nonFiniteLogits > 0)
      throw new AlexNetError(`the network's outputs were not finite: ${r.nonFiniteLogits} NaN or infinite logits on ${r.images} images; ` +
        'the error rates above are not valid', 'NON_FINITE_OUTPUT');
    return 0;
  } finally {
    await loader?.close();
    await synchronize(device).catch(() => undefined);
    models.forEach((m) => m.dispose());
  }
}
