// One forward pass of a model on host values, read back (the input and output are freed).
import { Tensor } from '../../lib/index.js';

export async function forwardValues(model: { inputShape: readonly number[]; forward(x: Tensor): Tensor }, x: Float32Array, n: number): Promise<Float32Array> {
  const input = Tensor.fromArray(x, [n, ...model.inputShape]);
  const y = model.forward(input);
  const out = (await y.toArray()) as Float32Array;
  input.dispose();
  y.dispose();
  return out;
}
