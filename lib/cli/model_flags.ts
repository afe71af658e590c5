// The architecture and image preparation of a plain state dict (a safetensors file of weights
// without our metadata, e.g. written by PyTorch) for eval, predict and export: from --preset and the
// model flags, since the file records neither. Our checkpoints record both and refuse these flags.
import { computeStats, type Dataset, type DatasetStats } from '../data/index.js';
import type { WeightsFile } from '../io/checkpoint.js';
import { preset as getPreset, presets, type AlexNetOptions } from '../models/index.js';
import { choiceFlag, intFlag, numberFlag, usage, type Options } from './args.js';
import type { DatasetName, Preprocessing } from './data.js';

export const MODEL_FLAG_OPTIONS: Options = {
  preset: { type: 'string' }, 'input-size': { type: 'string' }, width: { type: 'string' }, 'conv1-stride': { type: 'string' },
  'num-classes': { type: 'string' }, 'in-channels': { type: 'string' }, 'no-lrn': { type: 'boolean' }, 'no-overlap': { type: 'boolean' },
  'pixel-scale': { type: 'string' }, mean: { type: 'string' },
};

export const MODEL_FLAGS_HELP = `For a plain state dict (a .safetensors file of weights alone, e.g. from PyTorch's
safetensors.torch.save_file(model.state_dict(), ...)), which records neither the model nor how its
images were prepared. Its tensors are named as ours (conv1.weight ... fc8.bias) or as an
nn.Sequential's (features.0.weight ... classifier.6.bias, or 0.weight ...: five Conv2d and then three
Linear layers with biases, in the order of their indices); F32, F64, F16 and BF16 are read.
In an ensemble led by one of our checkpoints, plain state dicts take its architecture.
  --preset NAME        ${Object.keys(presets).join(', ')}: the architecture and image
                       preparation (default fashion-mnist-quick), changed by:
  --input-size N --width X --conv1-stride N --num-classes N --in-channels N --no-lrn --no-overlap
  --pixel-scale X      network input = X * pixel - mean (default: the preset's)
  --mean KIND          pixel (the training split's mean image), channel, or none (default: the
                       preset's); the mean is computed from the data set's training split`;

/** The model flags given on the command line, as --names. */
export function modelFlagsGiven(values: Record<string, unknown>): string[] {
  return Object.keys(MODEL_FLAG_OPTIONS).filter((k) => values[k] !== undefined).map((k) => `--${k}`);
}

export interface PlainModel {
  model: AlexNetOptions;
  /** How images are prepared, and which data set the preset is for. */
  data: Preprocessing;
}

/** The architecture and preparation the flags describe (for a plain state dict). */
export function plainModel(command: string, v: Record<string, unknown>, dataset?: DatasetName): PlainModel {
  const name = (v.preset as string | undefined) ?? 'fashion-mnist-quick';
  if (!Object.hasOwn(presets, name)) usage(command, `--preset must be one of ${Object.keys(presets).join(', ')}, got ${JSON.stringify(name)}`);
  const p = getPreset(name);
  const model: AlexNetOptions = { ...p.model };
  const set = <K extends keyof AlexNetOptions>(key: K, value: AlexNetOptions[K] | undefined): void => {
    if (value !== undefined) model[key] = value;
  };
  set('inputSize', intFlag(command, 'input-size', v['input-size'], 1));
  set('width', numberFlag(command, 'width', v.width, 0));
  set('conv1Stride', intFlag(command, 'conv1-stride', v['conv1-stride'], 1));
  set('numClasses', intFlag(command, 'num-classes', v['num-classes'], 2));
  set('inChannels', intFlag(command, 'in-channels', v['in-channels'], 1));
  if (model.inChannels !== 1 && model.inChannels !== 3) usage(command, `--in-channels must be 1 or 3 (grey or colour images), got ${model.inChannels}`);
  if (v['no-lrn']) model.lrn = false;
  if (v['no-overlap']) model.overlappingPool = false;
  // Images as `alexnet train` prepares them for this preset and input size.
  const crop = model.inputSize ?? 224;
  const size = p.data.size === p.data.crop ? crop : Math.round((crop * p.data.size) / p.data.crop);
  const data: Preprocessing = {
    dataset: dataset ?? p.dataset, ...p.data, size, crop, channels: model.inChannels === 1 ? 1 : 3,
    pixelScale: numberFlag(command, 'pixel-scale', v['pixel-scale'], 0) ?? p.data.pixelScale,
    mean: choiceFlag(command, 'mean', v.mean, ['pixel', 'channel', 'none'] as const) ?? p.data.mean,
  };
  return { model, data };
}

/** Model flags are for plain state dicts: refused with one of our checkpoints, which records its own. */
export function refuseModelFlags(command: string, v: Record<string, unknown>, file: string): void {
  const given = modelFlagsGiven(v);
  if (given.length > 0)
    usage(command, `${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} for plain state dicts; ${file} is an alexnet checkpoint and records its model and image preparation`);
}

/** One line saying how a plain state dict was read, for stderr. */
export function describePlain(file: WeightsFile): string {
  const how = file.naming === 'sequential'
    ? `its layers ${file.renamed.map(([from, to]) => `${from} as ${to}`).join(', ')}`
    : 'its tensors under our names';
  const dtypes = [...new Set(Object.values(file.weights).map((t) => t.dtype ?? 'F32'))].join('/');
  return `${file.file}: a plain state dict (${dtypes}); reading ${how}`;
}

/** The training split's statistics for the mean a plain state dict's images need (null for --mean none). */
export async function plainStats(data: Preprocessing, openTrainSplit: () => Promise<Dataset>, workers?: number): Promise<DatasetStats | null> {
  if (data.mean === 'none') return null;
  process.stderr.write(`computing the ${data.mean === 'pixel' ? 'mean image' : 'channel mean'} of ${data.dataset}'s training split ` +
    '(the state dict records none; --mean none skips it)\n');
  return computeStats(await openTrainSplit(), { size: data.size, channels: data.channels, workers });
}
