// Plain state dicts: safetensors files of weights alone, without our checkpoint metadata, as
// PyTorch's `safetensors.torch.save_file(model.state_dict(), ...)` writes them. Their tensors are
// named either as ours (`conv1.weight` … `fc8.bias`) or as an nn.Sequential's (`features.0.weight`,
// `classifier.1.bias`, or `0.weight` for a flat one); the latter are renamed here. Weights become
// float32 whatever their dtype in the file.
import { AlexNetError } from '../errors.js';
import type { HostTensor } from './safetensors.js';

/** The parameterised layers of AlexNet in order: five convolutions, then three fully connected. */
export const ALEXNET_LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8'] as const;
const CONVOLUTIONS = 5;
const FULLY_CONNECTED = 3;

/** The tensor names of our checkpoints: `conv1.weight`, `conv1.bias`, … `fc8.bias`. */
export const ALEXNET_TENSOR_NAMES: readonly string[] = ALEXNET_LAYERS.flatMap((l) => [`${l}.weight`, `${l}.bias`]);

/** What the names of a state dict may be, for error messages. */
export const EXPECTED_NAMES = `either ours (${ALEXNET_TENSOR_NAMES.join(', ')}) or an nn.Sequential's ` +
  `(e.g. features.0.weight … classifier.6.bias, or 0.weight …: ${CONVOLUTIONS} Conv2d layers with 4-D weights and ` +
  `${FULLY_CONNECTED} Linear layers with 2-D weights, each with a bias, taken in the order of their indices)`;

export interface RenamedStateDict {
  /** The tensors under our names. */
  weights: Record<string, HostTensor>;
  /** 'alexnet' when the file used our names, else 'sequential'. */
  naming: 'alexnet' | 'sequential';
  /** For a renamed file, each of its layers and the layer it became (`features.0` → `conv1`). */
  renamed: [string, string][];
}

/** Compares module paths with their numeric parts as numbers (`features.10` after `features.8`). */
function comparePaths(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const [x, y] = [pa[i]!, pb[i]!];
    if (x === y) continue;
    const [nx, ny] = [Number(x), Number(y)];
    if (/^\d+$/.test(x) && /^\d+$/.test(y)) return nx - ny;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/**
 * The tensors of a plain state dict under our names. Our own names are taken as they are (the
 * model check then reports what is missing); otherwise the layers are identified by the rank of
 * their weights (4-D: convolution, 2-D: fully connected) and ordered by their module paths, which
 * is unambiguous for AlexNet's five convolutions followed by three fully connected layers.
 * AlexNetError BAD_FILE naming the file and what does not fit.
 */
export function renameStateDict(file: string, tensors: Record<string, HostTensor>): RenamedStateDict {
  const names = Object.keys(tensors);
  const ours = new Set(ALEXNET_TENSOR_NAMES);
  if (names.length > 0 && names.every((n) => ours.has(n))) return { weights: { ...tensors }, naming: 'alexnet', renamed: [] };
  const bad = (why: string): never => {
    throw new AlexNetError(`${file}: cannot tell which of its tensors are which AlexNet layer: ${why}; the names must be ${EXPECTED_NAMES}`, 'BAD_FILE');
  };
  if (names.length === 0) bad('it holds no tensors');
  const layers = new Map<string, { weight?: HostTensor; bias?: HostTensor }>();
  for (const name of names) {
    const m = /^(.+)\.(weight|bias)$/.exec(name);
    if (!m) bad(`'${name}' is neither a weight nor a bias`);
    const [, path, kind] = m as unknown as [string, string, 'weight' | 'bias'];
    const entry = layers.get(path) ?? {};
    entry[kind] = tensors[name]!;
    layers.set(path, entry);
  }
  const convs: string[] = [];
  const fcs: string[] = [];
  for (const [path, { weight, bias }] of layers) {
    if (!weight) return bad(`'${path}' has a bias but no weight`);
    if (!bias) bad(`'${path}' has no bias`);
    if (weight.shape.length === 4) convs.push(path);
    else if (weight.shape.length === 2) fcs.push(path);
    else bad(`'${path}.weight' is [${weight.shape.join(', ')}], neither a convolution's 4-D nor a fully connected layer's 2-D weight`);
  }
  if (convs.length !== CONVOLUTIONS || fcs.length !== FULLY_CONNECTED)
    bad(`it has ${convs.length} layers with 4-D weights (${convs.join(', ') || 'none'}) and ${fcs.length} with 2-D weights (${fcs.join(', ') || 'none'}), ` +
      `not ${CONVOLUTIONS} and ${FULLY_CONNECTED}`);
  const order = [...convs.sort(comparePaths), ...fcs.sort(comparePaths)];
  const weights: Record<string, HostTensor> = {};
  const renamed: [string, string][] = [];
  order.forEach((path, i) => {
    const layer = ALEXNET_LAYERS[i]!;
    const { weight, bias } = layers.get(path)!;
    weights[`${layer}.weight`] = weight!;
    weights[`${layer}.bias`] = bias!;
    renamed.push([path, layer]);
  });
  return { weights, naming: 'sequential', renamed };
}

/**
 * A tensor as float32 for a model: float32 as it is, float64 narrowed (a finite value beyond
 * float32's range is refused rather than made infinite), an integer tensor refused (integers in a
 * weight's place mean the file holds something else). AlexNetError BAD_FILE naming the tensor.
 */
export function weightAsFloat32(file: string, name: string, t: HostTensor): HostTensor {
  if (t.dtype === 'I64')
    throw new AlexNetError(`${file}: tensor '${name}' holds integers (I64); model weights must be floating point (F32, F64, F16 or BF16)`, 'BAD_FILE');
  if (t.data instanceof Float32Array) return t;
  const data = Float32Array.from(t.data);
  for (let i = 0; i < data.length; i++)
    if (!Number.isFinite(data[i]!) && Number.isFinite(t.data[i]!))
      throw new AlexNetError(`${file}: tensor '${name}' holds ${t.data[i]} at index ${i}, beyond float32's range`, 'BAD_FILE');
  return { data, shape: t.shape, dtype: t.dtype };
}
