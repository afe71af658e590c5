// Weights without the optimiser's state: what evaluation, prediction and other frameworks need,
// about half a training checkpoint (which also holds a velocity for every weight).
import { writeFileAtomic } from '../io/atomic.js';
import { CHECKPOINT_FORMAT, type WeightsFile } from '../io/checkpoint.js';
import { encodeSafetensors } from '../io/safetensors.js';

/**
 * Writes `source`'s weights (float32, under our names) to `out` atomically, with what eval and
 * predict read besides them: a checkpoint's training state (its model and how its images were
 * prepared) and data statistics (`data.*`). Training cannot resume from the result. A plain state
 * dict gives a plain state dict, renamed to our names and converted to float32. Returns the bytes written.
 */
export async function exportWeightsOnly(source: WeightsFile, out: string): Promise<number> {
  const metadata: Record<string, string> = source.state
    ? { format: CHECKPOINT_FORMAT, 'alexnet.state': JSON.stringify(source.state), 'alexnet.contents': 'weights' }
    : {};
  const bytes = encodeSafetensors({ ...source.weights, ...source.extra }, metadata);
  await writeFileAtomic(out, bytes);
  return bytes.length;
}
