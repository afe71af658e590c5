// Rebuilds models from checkpoints (for eval, predict and ensembles).
import { AlexNetError } from '../errors.js';
import { checkpointPath, loadCheckpoint, toDevice } from '../io/checkpoint.js';
import { alexnet, type AlexNet, type AlexNetOptions } from '../models/alexnet.js';
import { disposeAll } from '../tensor.js';

/** The AlexNet saved in `path` (a checkpoint file or a run directory: its best checkpoint), in eval mode. */
export async function loadModel(path: string, device = 'cpu'): Promise<AlexNet> {
  const file = checkpointPath(path, 'best');
  const ckpt = await loadCheckpoint(file);
  const config = ckpt.state.model as AlexNetOptions;
  if (!config || typeof config.numClasses !== 'number')
    throw new AlexNetError(`${file} does not record the model configuration it was trained with`, 'BAD_FILE');
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
export async function loadModels(paths: string[], device = 'cpu'): Promise<AlexNet[]> {
  const models: AlexNet[] = [];
  try {
    for (const p of paths) models.push(await loadModel(p, device));
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
