// `alexnet predict`: the top-5 classes of image files, from one checkpoint or an ensemble.
import { checkDevice, defaultDevice, synchronize } from '../device.js';
import { checkpointPath, loadCheckpoint } from '../io/checkpoint.js';
import { predict } from '../train/predict.js';
import { loadModels } from '../train/load_model.js';
import { intFlag, parse, usage } from './args.js';
import { AUGMENT_ON_HELP, augmentOnFlag, evalLoader, statsFromTensors, type Preprocessing } from './data.js';
import { imageFiles } from '../data/index.js';

export const predictHelp = `Usage: alexnet predict --checkpoint PATH [--checkpoint PATH ...] IMAGE... [options]

Prints the most probable classes of each image (JPEG or PNG), prepared as in training (resized,
centre crop, minus the training set's mean image). With several checkpoints their softmax outputs
are averaged.

  --checkpoint PATH  a .safetensors checkpoint or a run directory (its best checkpoint); repeatable
  --top N            classes per image (default 5)
  --ten-crop         average over ten crops per image
  --device DEV       default: the best available
${AUGMENT_ON_HELP}
  --json             one JSON object per image
  -h, --help`;

export async function predictCommand(argv: string[]): Promise<number> {
  const c = 'predict';
  const { values: v, positionals } = parse(c, argv, {
    checkpoint: { type: 'string', multiple: true, short: 'c' }, top: { type: 'string' }, 'ten-crop': { type: 'boolean' },
    device: { type: 'string' }, json: { type: 'boolean' }, 'augment-on': { type: 'string' },
  }, true);
  if (v.help) {
    console.log(predictHelp);
    return 0;
  }
  const checkpoints = (v.checkpoint as string[] | undefined) ?? [];
  if (checkpoints.length === 0) usage(c, '--checkpoint PATH is required');
  if (positionals.length === 0) usage(c, 'give at least one image file');
  const wantedTop = intFlag(c, 'top', v.top, 1) ?? 5;
  const device = typeof v.device === 'string' ? v.device : defaultDevice();
  checkDevice(device);
  const augmentOn = augmentOnFlag(c, v['augment-on'], device);
  const first = await loadCheckpoint(checkpointPath(checkpoints[0]!, 'best'));
  const data = (first.state.training as { data?: Preprocessing }).data;
  if (!data) usage(c, `${first.file} does not record how its images were prepared (it was not written by alexnet train)`);
  const classNames = ((first.state.training as { classNames?: string[] }).classNames) ?? null;
  const models = await loadModels(checkpoints, device);
  const classes = models[0]!.config.numClasses;
  const top = Math.min(wantedTop, classes);
  const names = classNames ?? Array.from({ length: classes }, (_, i) => String(i));
  if (names.length !== classes) usage(c, `${first.file} names ${names.length} classes but its model has ${classes}`);
  const ds = await imageFiles(positionals, { channels: data.channels, classNames: names });
  const loader = await evalLoader(ds, data, statsFromTensors(first.extra), { batchSize: 32, seed: 0, tenCrop: Boolean(v['ten-crop']), augmentOn });
  try {
    for (const p of await predict(models, loader, { top })) {
      const file = positionals[p.index];
      if (v.json) console.log(JSON.stringify({ file, top: p.top }));
      else console.log(`${file}\n${p.top.map((t) => `  ${(100 * t.probability).toFixed(2).padStart(6)}%  ${t.name} (${t.class})`).join('\n')}`);
    }
    return 0;
  } finally {
    await loader.close();
    await synchronize(device).catch(() => undefined);
    models.forEach((m) => m.dispose());
  }
}
