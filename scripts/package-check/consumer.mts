// Type-checked as a strict ES-module TypeScript consumer (tsc --strict, module nodenext).
import { AlexNetError, Tensor, alexnet, ops, type DeviceName } from 'alexnet-cudnn';

const device: DeviceName = 'cpu';
const model = alexnet({ numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, init: 'he', device });
const x: Tensor = Tensor.zeros([2, 1, 64, 64], device);
const logits: Tensor = model.forward(x);
const probabilities: Float32Array | Int32Array | Uint8Array = await ops.softmax(logits).toArray();
const failure: AlexNetError | undefined = undefined;
console.log(logits.shape, probabilities.length, failure);
