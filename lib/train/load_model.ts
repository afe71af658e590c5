// Rebuilds models from checkpoints (for eval, predict and ensembles).
import type { DeviceName } from '../device_name.js';
import { AlexNetError } from '../errors.js';
import { checkpointPath, readWeightsFile, toDevice } from '../io/checkpoint.js';
import type { HostTensor } from '../io/safetensors.js';
import { alexnet, alexnetParameterShapes, type AlexNet, type AlexNetOptions } from '../models/alexnet.js';
import { disposeAll } from '../tensor.js';

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/**
 * Checks that the model a checkpoint's metadata describes is the one its tensors hold — every
 * parameter present with its shape, nothing else — before that model is built: metadata that says
 * `inputSize: 2000` over the weights of a 64-pixel network would otherwise build gigabytes of
 * model only to reject them. AlexNetError BAD_FILE naming the file and the first mismatch.
 */
export function checkCheckpointModel(file: string, config: AlexNetOptions, weights: Record<string, HostTensor>,
  describedBy = 'its metadata'): void {
  const bad = (why: string): never => {
    throw new AlexNetError(`${file}: its weights do not fit the model ${describedBy} describes: ${why}`, 'BAD_FILE');
  };
  let expected: [string, readonly number[]][];
  try {
    expected = alexnetParameterShapes(config);
  } catch (e) {
    return bad((e as Error).message);
  }
  const implied = expected.reduce((s, [, shape]) => s + count(shape), 0);
  const held = Object.values(weights).reduce((s, t) => s + count(t.shape), 0);
  const settings = ['numClasses', 'inChannels', 'inputSize', 'width', 'conv1Stride']
    .filter((k) => (config as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${k} ${(config as Record<string, unknown>)[k]}`).join(', ');
  const sizes = `the model (${settings}) has ${implied} parameters, the file holds ${held}`;
  for (const [name, shape] of expected) {
    const t = weights[name];
    if (!t) bad(`it has no tensor '${name}' (${sizes})`);
    if (shapeText(t.shape) !== shapeText(shape)) bad(`'${name}' is ${shapeText(t.shape)} in the file but ${shapeText(shape)} in the model (${sizes})`);
  }
  const known = new Set(expected.map(([n]) => n));
  const unexpected = Object.keys(weights).filter((n) => !known.has(n));
  if (unexpected.length > 0) bad(`it has tensors the model does not: ${unexpected.join(', ')}`);
}

/** How to read weights that do not describe their model. */
export interface LoadModelOptions {
  /**
   * The architecture of a plain state dict (a safetensors file of weights without our metadata,
   * e.g. from PyTorch), e.g. `preset('fashion-mnist-quick').model`; checked against its tensors
   * before it is built. One of our checkpoints records its own model and ignores this.
   */
  model?: AlexNetOptions;
}

/**
 * The AlexNet saved in `path` (a checkpoint file or a run directory: its best checkpoint), in eval
 * mode. A plain state dict needs `options.model`.
 */
export async function loadModel(path: string, device: DeviceName = 'cpu', options: LoadModelOptions = {}): Promise<AlexNet> {
  if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${String(options)}`);
  const file = checkpointPath(path, 'best');
  const ckpt = await readWeightsFile(file);
  let config: AlexNetOptions;
  if (ckpt.state) {
    config = ckpt.state.model as AlexNetOptions;
    if (!config || typeof config !== 'object' || typeof config.numClasses !== 'number')
      throw new AlexNetError(`${file} does not record the model configuration it was trained with`, 'BAD_FILE');
    checkCheckpointModel(file, config, ckpt.weights);
  } else {
    if (options.model === undefined)
      throw new AlexNetError(`${file} is a plain state dict: it holds weights but not the model they belong to; ` +
        'give the architecture (options.model, or --preset and the model flags of the command)', 'BAD_FILE');
    if (typeof options.model !== 'object' || options.model === null) throw new TypeError(`options.model must be an object of AlexNet options, got ${String(options.model)}`);
    config = { ...options.model };
    delete config.device;
    checkCheckpointModel(file, config, ckpt.weights, 'the given architecture');
  }
  let model: AlexNet;
  try {
    model = alexnet({ ...config, device });
  } catch (e) {
    throw new AlexNetError(`${file}: cannot rebuild its model: ${(e as Error).message}`, 'BAD_FILE');
  }
  const weights = toDevice(ckpt.weights, device);
  try {
    model.loadStateDict(weights);
  } catch (e) {
    model.dispose();
    throw new AlexNetError(`${file}: its weights do not fit the model it describes: ${(e as Error).message}`, 'BAD_FILE');
  } finally {
    disposeAll(weights);
  }
  return model.eval();
}

/** Several models (an ensemble); they must agree on classes and input shape. */
export async function loadModels(paths: string[], device: DeviceName = 'cpu', options: LoadModelOptions = {}): Promise<AlexNet[]> {
  const models: AlexNet[] = [];
  try {
    for (const p of paths) models.push(await loadModel(p, device, options));
  } catch (e) {
    models.forEach((m) => m.dispose());
    throw e;
  }
  const first = models[0];
  for (const [i, m] of models.entries())
    if (first && (m.config.numClasses !== first.config.numClasses || m.inputShape.join() !== first.inputShape.join()))
      throw new RangeError(`checkpoint ${paths[i]} (${m.config.numClasses} classes, input [${m.inputShape.join(', ')}]) does not match ${paths[0]} (${first.config.numClasses} classes, input [${first.inputShape.join(', ')}])`);
  return models;
}
