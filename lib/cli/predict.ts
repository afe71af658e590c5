// `alexnet predict`: the top-5 classes of image files, from one checkpoint or an ensemble.
import { checkDevice, defaultDevice, synchronize } from '../device.js';
import { checkpointPath, readWeightsFile } from '../io/checkpoint.js';
import { predict } from '../train/predict.js';
import { loadModels } from '../train/load_model.js';
import type { AlexNetOptions } from '../models/alexnet.js';
import { applyThreadsFlag, choiceFlag, deviceFlag, intFlag, parse, threadsHelp, THREADS_OPTION, usage } from './args.js';
import { AUGMENT_ON_HELP, augmentOnFlag, DATASETS, defaultDataDir, evalLoader, openDataset, statsFromTensors, type Preprocessing } from './data.js';
import { describePlain, MODEL_FLAG_OPTIONS, MODEL_FLAGS_HELP, plainModel, plainStats, refuseModelFlags } from './model_flags.js';
import { imageFiles, type DataLoader, type Dataset } from '../data/index.js';
import type { Prediction } from '../train/predict.js';
import { statSync } from 'node:fs';

/** Why `file` cannot be read as an image without opening it, or null when it is a regular file. */
function notARegularFile(file: string): string | null {
  try {
    return statSync(file).isFile() ? null : 'not a regular file';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
  }
}

/** The decoder's own words about an image the loader skipped. */
async function whyNotDecoded(ds: Dataset, index: number): Promise<string> {
  try {
    await ds.image(index);
    return 'it could not be prepared';
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

export const predictHelp = `Usage: alexnet predict --checkpoint PATH [--checkpoint PATH ...] IMAGE... [options]

Prints the most probable classes of each image (JPEG or PNG), prepared as in training (resized,
centre crop, minus the training set's mean image). With several checkpoints their softmax outputs
are averaged. An image that cannot be read is reported (on stderr; with --json also as
{"file", "error"}) and the others are still predicted; the exit status is then 1.

  --checkpoint PATH  a .safetensors checkpoint or a run directory (its best checkpoint); repeatable
  --top N            classes per image (default 5)
  --ten-crop         average over ten crops per image
  --device DEV       default: the best available
${threadsHelp(19)}
${AUGMENT_ON_HELP}
  --json             one JSON object per image
  -h, --help

${MODEL_FLAGS_HELP}
  --dataset NAME     ${DATASETS.join(', ')}: whose training split gives the mean and whose class
                     names are printed (default: the preset's)
  --data-dir DIR     where it is`;

export async function predictCommand(argv: string[]): Promise<number> {
  const c = 'predict';
  const { values: v, positionals } = parse(c, argv, {
    checkpoint: { type: 'string', multiple: true, short: 'c' }, top: { type: 'string' }, 'ten-crop': { type: 'boolean' },
    device: { type: 'string' }, json: { type: 'boolean' }, 'augment-on': { type: 'string' }, ...THREADS_OPTION,
    dataset: { type: 'string' }, 'data-dir': { type: 'string' }, ...MODEL_FLAG_OPTIONS,
  }, true);
  if (v.help) {
    console.log(predictHelp);
    return 0;
  }
  const checkpoints = (v.checkpoint as string[] | undefined) ?? [];
  if (checkpoints.length === 0) usage(c, '--checkpoint PATH is required');
  if (positionals.length === 0) usage(c, 'give at least one image file');
  const wantedTop = intFlag(c, 'top', v.top, 1) ?? 5;
  const device = deviceFlag(c, 'device', v.device) ?? defaultDevice();
  checkDevice(device);
  applyThreadsFlag(c, v.threads);
  const augmentOn = augmentOnFlag(c, v['augment-on'], device);
  const first = await readWeightsFile(checkpointPath(checkpoints[0]!, 'best'));
  let data: Preprocessing;
  let classNames: string[] | null;
  let stats;
  let plain: ReturnType<typeof plainModel> | undefined;
  if (first.state) {
    refuseModelFlags(c, v, first.file);
    for (const flag of ['dataset', 'data-dir'] as const)
      if (v[flag] !== undefined) usage(c, `--${flag} is for plain state dicts; ${first.file} is an alexnet checkpoint and records its class names and mean`);
    const recorded = (first.state.training as { data?: Preprocessing }).data;
    if (!recorded) usage(c, `${first.file} does not record how its images were prepared (it was not written by alexnet train)`);
    data = recorded;
    classNames = ((first.state.training as { classNames?: string[] }).classNames) ?? null;
    stats = statsFromTensors(first.extra);
  } else {
    // A plain state dict: the preset's preparation, the mean and class names from the data set's training split.
    plain = plainModel(c, v, choiceFlag(c, 'dataset', v.dataset, DATASETS));
    data = plain.data;
    process.stderr.write(`${describePlain(first)}; architecture and image preparation from --preset ${v.preset ?? 'fashion-mnist-quick'} and the flags\n`);
    const dir = typeof v['data-dir'] === 'string' ? v['data-dir'] : defaultDataDir(data.dataset);
    let train: Awaited<ReturnType<typeof openDataset>> | undefined;
    const openTrain = async () => (train ??= await openDataset(data.dataset, 'train', dir, data.channels));
    stats = await plainStats(data, openTrain);
    classNames = data.mean === 'none' && v.dataset === undefined ? null : [...(await openTrain()).classNames];
  }
  const models = await loadModels(checkpoints, device, { model: plain?.model ?? (first.state?.model as AlexNetOptions) });
  const classes = models[0]!.config.numClasses;
  const top = Math.min(wantedTop, classes);
  const names = classNames ?? Array.from({ length: classes }, (_, i) => String(i));
  if (names.length !== classes) usage(c, `${first.file} names ${names.length} classes but its model has ${classes}`);
  // One bad file must not cost the others their predictions: files that are not regular files
  // (a FIFO would block the reader, a directory is no image) are set aside, images that do not
  // decode are skipped by the loader; each is reported, and the exit status says some failed.
  const problems = new Map<number, string>();
  positionals.forEach((file, i) => {
    const why = notARegularFile(file);
    if (why) problems.set(i, why);
  });
  const readable = positionals.map((_, i) => i).filter((i) => !problems.has(i));
  let loader: DataLoader | undefined;
  try {
    const predicted = new Map<number, Prediction>();
    if (readable.length > 0) {
      const ds = await imageFiles(readable.map((i) => positionals[i]!), { channels: data.channels, classNames: names });
      loader = await evalLoader(ds, data, stats, { batchSize: 32, seed: 0, tenCrop: Boolean(v['ten-crop']), augmentOn, onBadImage: 'skip' });
      for (const p of await predict(models, loader, { top })) predicted.set(readable[p.index]!, p);
      for (const [k, i] of readable.entries()) if (!predicted.has(i)) problems.set(i, await whyNotDecoded(ds, k));
    }
    positionals.forEach((file, i) => {
      const p = predicted.get(i);
      if (p) {
        if (v.json) console.log(JSON.stringify({ file, top: p.top }));
        else console.log(`${file}\n${p.top.map((t) => `  ${(100 * t.probability).toFixed(2).padStart(6)}%  ${t.name} (${t.class})`).join('\n')}`);
      } else {
        const error = problems.get(i) ?? 'no prediction';
        if (v.json) console.log(JSON.stringify({ file, error }));
        process.stderr.write(`alexnet predict: ${file}: ${error}\n`);
      }
    });
    return problems.size > 0 ? 1 : 0;
  } finally {
    await loader?.close();
    await synchronize(device).catch(() => undefined);
    models.forEach((m) => m.dispose());
  }
}
